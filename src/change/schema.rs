//! The JSON Schema of the Change file, generated from the model. Draft 7, because that
//! is what editors' YAML language servers understand best.

use schemars::generate::SchemaSettings;

use super::model::Change;

/// Where the committed schema is published, so editors can fetch it by URL.
pub const SCHEMA_ID: &str = "https://raw.githubusercontent.com/manno/bca/main/schema/change.schema.json";

pub fn json_schema() -> String {
    let mut schema = SchemaSettings::draft07().into_generator().into_root_schema_for::<Change>();
    schema.insert("$id".to_string(), SCHEMA_ID.into());
    // Serialising a JSON value cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::model::FIELDS;

    /// The properties of the object schema at `path`, following `$ref`s and the
    /// `anyOf: [.., null]` of optional fields.
    fn properties(schema: &serde_json::Value, path: &str) -> Vec<String> {
        let mut node = schema;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            node = &node["properties"][part];
            loop {
                let reference =
                    node["$ref"].as_str().or(node["allOf"][0]["$ref"].as_str()).or(node["anyOf"][0]["$ref"].as_str());
                match reference {
                    Some(r) => node = &schema["definitions"][r.rsplit('/').next().unwrap()],
                    None => break,
                }
            }
        }
        let mut names: Vec<String> = node["properties"].as_object().expect(path).keys().cloned().collect();
        names.sort();
        names
    }

    #[test]
    fn decoder_field_lists_match_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        for (path, fields) in FIELDS {
            let mut want: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(properties(&schema, path), want, "the fields of {path:?}");
        }
    }

    /// A field the reference of the Change file (docs/change-file.md) does not mention
    /// is a field users cannot find.
    #[test]
    fn the_change_file_reference_names_every_field() {
        let section = include_str!("../../docs/change-file.md");
        for (path, fields) in FIELDS {
            for field in fields.iter() {
                let named = [format!("`{field}`"), format!("{field}:"), format!(".{field}`"), format!(" {field},")]
                    .iter()
                    .any(|form| section.contains(form.as_str()));
                assert!(named, "docs/change-file.md does not name {path}.{field}");
            }
        }
    }
}

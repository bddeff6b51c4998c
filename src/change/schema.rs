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
    use crate::change::model::{CHANGE_FIELDS, SPEC_FIELDS};

    fn properties(value: &serde_json::Value) -> Vec<String> {
        value["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn decoder_field_lists_match_the_schema() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let mut top = properties(&schema);
        let mut spec = properties(&schema["properties"]["spec"]);
        if spec.is_empty() {
            let name = schema["properties"]["spec"]["allOf"][0]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            spec = properties(&schema["definitions"][name]);
        }
        top.sort();
        spec.sort();
        let mut want_top: Vec<String> = CHANGE_FIELDS.iter().map(|s| s.to_string()).collect();
        let mut want_spec: Vec<String> = SPEC_FIELDS.iter().map(|s| s.to_string()).collect();
        want_top.sort();
        want_spec.sort();
        assert_eq!(top, want_top);
        assert_eq!(spec, want_spec);
    }
}

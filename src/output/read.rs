//! Reads back what an output directory holds: the YAML bca (or kubectl) wrote, as JSON
//! values to deserialise into the typed objects. The writer is `render::yaml`.

use serde_json::Value;

/// Reads YAML written by `to_yaml` (or kubectl) back into JSON values, one per document.
/// Numbers that are not integers and other YAML types do not occur in Kubernetes objects
/// bca writes; they come back as strings.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    fn to_json(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::Boolean(b) => Value::Bool(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().map_or_else(|| format!("{k:?}"), str::to_string), to_json(v)))
                    .collect(),
            ),
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
        }
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    Ok(docs.iter().filter(|d| !d.is_null()).map(to_json).collect())
}

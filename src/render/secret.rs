//! The credentials the Jobs read: a Secret with values from the environment (only
//! when asked), or an ExternalSecret that fills it from a secret store.

use std::collections::BTreeMap;

use bca_runner::pod::SECRET_KEY_GITHUB_TOKEN;
use bca_runner::Agent;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde::Serialize;

use super::labels;
use super::options::StoreKind;
use super::RenderError;

/// The environment variable `--secret-from-env` reads the GitHub token from.
pub const GITHUB_TOKEN_ENV: &str = "GITHUB_TOKEN";

/// The environment variables the given agents' tokens come from.
pub fn token_vars(agents: &[Agent]) -> Vec<&'static str> {
    keys(agents).into_iter().map(|(_, var)| var).collect()
}

/// The Secret keys the given agents' Jobs read, with the variable each comes from.
fn keys(agents: &[Agent]) -> Vec<(&'static str, &'static str)> {
    let mut keys = vec![(SECRET_KEY_GITHUB_TOKEN, GITHUB_TOKEN_ENV)];
    for agent in agents {
        let key = (agent.secret_key(), agent.token_source_var());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// A Secret from environment variables. Every missing variable is named at once.
pub fn secret_from_env(
    name: &str,
    namespace: &str,
    agents: &[Agent],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, RenderError> {
    let mut data = BTreeMap::new();
    let mut missing = Vec::new();
    for (key, var) in keys(agents) {
        match env(var).filter(|v| !v.is_empty()) {
            Some(value) => {
                data.insert(key.to_string(), ByteString(value.into_bytes()));
            }
            None => missing.push(var),
        }
    }
    if !missing.is_empty() {
        return Err(RenderError::MissingTokens { missing: missing.iter().map(|s| s.to_string()).collect() });
    }
    // The agent's key goes where the agent runs; the GitHub token must never be it.
    let github = data.get(SECRET_KEY_GITHUB_TOKEN).cloned();
    for (key, var) in keys(agents) {
        if key != SECRET_KEY_GITHUB_TOKEN && data.get(key) == github.as_ref() {
            return Err(RenderError::AgentHasThePushToken { var: var.to_string() });
        }
    }
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels::common()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// external-secrets.io/v1 ExternalSecret: not a core type, so it is typed here, with
/// only the fields bca writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecret {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: ExternalSecretSpec,
}

super::custom_resource::custom_resource!(ExternalSecret, group: "external-secrets.io", version: "v1", kind: "ExternalSecret", plural: "externalsecrets");

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecretSpec {
    refresh_interval: &'static str,
    secret_store_ref: StoreRef,
    target: Target,
    data: Vec<ExternalSecretData>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct StoreRef {
    kind: StoreKind,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    name: String,
    creation_policy: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalSecretData {
    secret_key: String,
    remote_ref: RemoteRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct RemoteRef {
    key: String,
    property: String,
}

/// Reads each key from the property of the same name of the remote secret named like
/// the Kubernetes Secret (e.g. `bca-credentials` with properties `github-token`, ...).
pub fn external_secret(
    name: &str,
    namespace: &str,
    store: &str,
    store_kind: StoreKind,
    agents: &[Agent],
) -> ExternalSecret {
    use k8s_openapi::Resource as _;
    ExternalSecret {
        api_version: ExternalSecret::API_VERSION,
        kind: ExternalSecret::KIND,
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels::common()),
            ..Default::default()
        },
        spec: ExternalSecretSpec {
            refresh_interval: "1h",
            secret_store_ref: StoreRef { kind: store_kind, name: store.into() },
            target: Target { name: name.into(), creation_policy: "Owner" },
            data: keys(agents)
                .into_iter()
                .map(|(key, _)| ExternalSecretData {
                    secret_key: key.into(),
                    remote_ref: RemoteRef { key: name.into(), property: key.into() },
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_missing_variable() {
        let env = |var: &str| (var == "GITHUB_TOKEN").then(|| "x".to_string());
        let err = secret_from_env("s", "ns", &[Agent::CopilotCli, Agent::GeminiCli], &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the credentials Secret needs COPILOT_TOKEN, GEMINI_API_KEY in the environment (they are empty or unset)"
        );
    }

    #[test]
    fn holds_only_the_keys_the_agents_need() {
        let env = |var: &str| Some(format!("value-of-{var}"));
        let secret = secret_from_env("s", "ns", &[Agent::GeminiCli], &env).unwrap();
        let keys: Vec<_> = secret.data.unwrap().into_keys().collect();
        assert_eq!(keys, ["gemini-api-key", "github-token"]);
    }
}

//! What the cluster knows about a Change's runs, from `kubectl get pods -o json`: which
//! repository each pod ran (from its run contract, and its completion index for an
//! Indexed Job) and how it ended (its result line, or the failed step's message).

use std::collections::BTreeMap;

use bca_runner::pod::CONTRACT_ANNOTATION;
use bca_runner::RunContract;
use serde_json::Value;

const INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";

/// Repository URL, lowercase (GitHub ignores case, and a Change may have respelt it since
/// the pods ran) → what its newest pod says.
pub fn job_states(pods: &Value) -> Result<BTreeMap<String, String>, String> {
    let items =
        pods["items"].as_array().ok_or("expected the JSON of `kubectl get pods -o json` (a List with items)")?;
    // Repository → (creation time, state); the newest pod of a repository wins.
    let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for pod in items {
        let annotations = &pod["metadata"]["annotations"];
        let Some(contract) = annotations[CONTRACT_ANNOTATION].as_str() else { continue };
        let Ok(contract) = RunContract::from_json(contract) else { continue };
        let index = annotations[INDEX_ANNOTATION].as_str();
        let Ok(contract) = contract.for_index(index) else { continue };
        let created = pod["metadata"]["creationTimestamp"].as_str().unwrap_or("").to_string();
        let state = pod_state(pod);
        let entry =
            newest.entry(contract.repository.to_ascii_lowercase()).or_insert_with(|| (created.clone(), state.clone()));
        if created >= entry.0 {
            *entry = (created, state);
        }
    }
    Ok(newest.into_iter().map(|(repo, (_, state))| (repo, state)).collect())
}

fn pod_state(pod: &Value) -> String {
    let status = &pod["status"];
    let statuses = status["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(status["containerStatuses"].as_array().into_iter().flatten());
    for container in statuses {
        let terminated = &container["state"]["terminated"];
        let code = terminated["exitCode"].as_i64().unwrap_or(0);
        let message = terminated["message"].as_str().unwrap_or("").trim();
        if code != 0 {
            let step = container["name"].as_str().unwrap_or("?");
            let why = if message.is_empty() { format!("{step} exited {code}") } else { message.to_string() };
            return format!("failed: {why}");
        }
        if container["name"] == "publish" && !message.is_empty() {
            if let Ok(result) = serde_json::from_str::<Value>(message) {
                let outcome = result["status"].as_str().unwrap_or("done");
                let state = match result["reason"].as_str() {
                    Some(reason) if outcome != "updated" => format!("{outcome}: {reason}"),
                    _ => outcome.to_string(),
                };
                return match result["verification"].as_str() {
                    Some(verification) => format!("{state} (verification {verification})"),
                    None => state,
                };
            }
        }
    }
    match status["phase"].as_str() {
        Some("Pending" | "Running") => "running".into(),
        Some(phase) => phase.to_ascii_lowercase(),
        None => "unknown".into(),
    }
}

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
        let state = shown(&pod_state(pod, &contract.repository));
        let entry =
            newest.entry(contract.repository.to_ascii_lowercase()).or_insert_with(|| (created.clone(), state.clone()));
        if created >= entry.0 {
            *entry = (created, state);
        }
    }
    Ok(newest.into_iter().map(|(repo, (_, state))| (repo, state)).collect())
}

/// Text from outside (a pod's message, written by whatever ran in it; a server's error):
/// shown on one line, without control characters (a terminal escape must not reach the
/// reader's terminal), at most 300 characters.
pub fn shown(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let words = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &words[..cut]),
        None => words,
    }
}

fn pod_state(pod: &Value, repository: &str) -> String {
    let status = &pod["status"];
    let statuses = status["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(status["containerStatuses"].as_array().into_iter().flatten());
    for container in statuses {
        let terminated = &container["state"]["terminated"];
        let code = terminated["exitCode"].as_i64().unwrap_or(0);
        let message = shown(terminated["message"].as_str().unwrap_or(""));
        let message = message.as_str();
        if code != 0 {
            let step = shown(container["name"].as_str().unwrap_or("?"));
            // The runner writes `STEP: REPOSITORY: why`; the row names the repository.
            let why = message
                .strip_prefix(&format!("{step}: "))
                .map(|rest| rest.strip_prefix(&format!("{repository}: ")).unwrap_or(rest));
            return match why {
                Some(why) => format!("failed: {step}: {why}"),
                None if message.is_empty() => format!("failed: {step} exited {code}"),
                None => format!("failed: {step}: {message}"),
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(step: &str, code: i64, message: &str) -> Value {
        serde_json::json!({ "status": { "phase": "Failed", "initContainerStatuses": [
            { "name": step, "state": { "terminated": { "exitCode": code, "message": message } } }
        ] } })
    }

    #[test]
    fn the_failed_step_is_named_once_and_the_repository_not_repeated() {
        let repo = "https://github.com/acme/api";
        let message = format!("clone: {repo}: the base branch main does not exist");
        assert_eq!(pod_state(&pod("clone", 3, &message), repo), "failed: clone: the base branch main does not exist");
        assert_eq!(pod_state(&pod("agent", 1, ""), repo), "failed: agent exited 1");
        assert_eq!(pod_state(&pod("agent", 137, "OOMKilled"), repo), "failed: agent: OOMKilled");
    }

    #[test]
    fn what_a_pod_wrote_cannot_reach_the_terminal_as_escapes_or_lines() {
        let state = shown(&pod_state(&pod("agent", 1, "agent: x: \u{1b}]52;c;aGk=\u{7}bad\n\rFAKE ROW"), "x"));
        assert_eq!(state, "failed: agent: ]52;c;aGk= bad FAKE ROW");
        assert!(!state.chars().any(char::is_control));
    }
}

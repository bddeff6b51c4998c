//! What the cluster knows about a Change's runs, from `kubectl get pods -o json`: which
//! repository each pod ran (from its run contract, and its completion index for an
//! Indexed Job) and how it ended (its result line, or the failed step's message). Read
//! as Kubernetes' own types, and the result line as the runner's.

use std::collections::BTreeMap;

use bca_runner::outcome::{RunOutcome, RunStatus};
use bca_runner::pod::CONTRACT_ANNOTATION;
use bca_runner::{RunContract, Step};
use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;

const INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";

/// What `kubectl get pods -o json` prints: a List of pods.
#[derive(Deserialize)]
struct PodList {
    items: Vec<Pod>,
}

/// How a repository's newest pod stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    /// A step failed: which (when the container is one of bca's steps) and why.
    Failed {
        step: Option<Step>,
        container: String,
        why: String,
    },
    /// The run ended with its result line.
    Done(Box<RunOutcome>),
    /// Any other pod phase (`succeeded` without a result line, `unknown`).
    Other(String),
}

impl JobState {
    pub fn no_changes(&self) -> bool {
        matches!(self, JobState::Done(r) if r.status == RunStatus::NoChanges)
    }

    pub fn failed(&self) -> bool {
        matches!(self, JobState::Failed { .. })
            || matches!(
                self,
                JobState::Done(r)
                    if matches!(r.status, RunStatus::Refused | RunStatus::AgentBlocked | RunStatus::ForeignPullRequest)
            )
    }
}

/// As the table shows it: `running`, `failed: STEP: why`, `no-changes`, `refused: why`, ...
impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobState::Running => f.write_str("running"),
            JobState::Failed { container, why, .. } if why.is_empty() => write!(f, "failed: {container}"),
            JobState::Failed { container, why, .. } => write!(f, "failed: {container}: {why}"),
            JobState::Done(result) => {
                let word = result.status.word();
                match &result.reason {
                    Some(reason) if result.status != RunStatus::Updated => write!(f, "{word}: {}", shown(reason))?,
                    _ => f.write_str(word)?,
                }
                match &result.verification {
                    Some(verification) => write!(f, " (verification {})", shown(verification)),
                    None => Ok(()),
                }
            }
            JobState::Other(phase) => f.write_str(phase),
        }
    }
}

impl serde::Serialize for JobState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Repository URL, lowercase (GitHub ignores case, and a Change may have respelt it since
/// the pods ran) → what its newest pod says.
pub fn job_states(pods: &str) -> Result<BTreeMap<String, JobState>, String> {
    let list: PodList = serde_json::from_str(pods)
        .map_err(|e| format!("expected the JSON of `kubectl get pods -o json` (a List with items): {e}"))?;
    // Repository → (creation time, state); the newest pod of a repository wins.
    let mut newest: BTreeMap<String, (String, JobState)> = BTreeMap::new();
    for pod in &list.items {
        let annotations = pod.metadata.annotations.clone().unwrap_or_default();
        let Some(contract) = annotations.get(CONTRACT_ANNOTATION) else { continue };
        let Ok(contract) = RunContract::from_json(contract) else { continue };
        let Ok(contract) = contract.for_index(annotations.get(INDEX_ANNOTATION).map(String::as_str)) else {
            continue;
        };
        let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
        let state = pod_state(pod, &contract.repository);
        let key = contract.repository.to_ascii_lowercase();
        match newest.get(&key) {
            Some((when, _)) if *when > created => {}
            _ => {
                newest.insert(key, (created, state));
            }
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

fn pod_state(pod: &Pod, repository: &str) -> JobState {
    let status = pod.status.clone().unwrap_or_default();
    let statuses = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
    for container in statuses {
        let Some(terminated) = container.state.as_ref().and_then(|s| s.terminated.as_ref()) else { continue };
        let message = shown(terminated.message.as_deref().unwrap_or(""));
        let name = shown(&container.name);
        if terminated.exit_code != 0 {
            let step = Step::of_container(&name);
            // The runner writes `STEP: REPOSITORY: why`; the row names the repository.
            let prefix = match step {
                Some(step) => format!("{}: ", step.name()),
                None => format!("{name}: "),
            };
            let why = match message.strip_prefix(&prefix) {
                Some(rest) => rest.strip_prefix(&format!("{repository}: ")).unwrap_or(rest).to_string(),
                None if message.is_empty() => format!("exited {}", terminated.exit_code),
                None => message.clone(),
            };
            return JobState::Failed { step, container: name, why };
        }
        if container.name == Step::Publish.name() {
            if let Ok(result) = serde_json::from_str::<RunOutcome>(&message) {
                return JobState::Done(Box::new(result));
            }
        }
    }
    match status.phase.as_deref() {
        Some("Pending" | "Running") => JobState::Running,
        Some(phase) => JobState::Other(shown(&phase.to_ascii_lowercase())),
        None => JobState::Other("unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(step: &str, code: i32, message: &str) -> Pod {
        serde_json::from_value(serde_json::json!({ "status": { "phase": "Failed", "initContainerStatuses": [
            { "name": step, "image": "i", "imageID": "", "ready": false, "restartCount": 0,
              "state": { "terminated": { "exitCode": code, "message": message } } }
        ] } }))
        .unwrap()
    }

    #[test]
    fn the_failed_step_is_named_once_and_the_repository_not_repeated() {
        let repo = "https://github.com/acme/api";
        let message = format!("clone: {repo}: the base branch main does not exist");
        let state = pod_state(&pod("clone", 3, &message), repo);
        assert_eq!(state.to_string(), "failed: clone: the base branch main does not exist");
        assert!(matches!(state, JobState::Failed { step: Some(Step::Clone), .. }));
        assert_eq!(pod_state(&pod("agent", 1, ""), repo).to_string(), "failed: agent: exited 1");
        assert_eq!(pod_state(&pod("agent", 137, "OOMKilled"), repo).to_string(), "failed: agent: OOMKilled");
        let result = r#"{"status":"refused","repository":"x","reason":"a .git directory"}"#;
        let done = pod_state(&pod("publish", 0, result), repo);
        assert!(done.failed() && !done.no_changes());
        assert_eq!(done.to_string(), "refused: a .git directory");
    }

    #[test]
    fn what_a_pod_wrote_cannot_reach_the_terminal_as_escapes_or_lines() {
        let state = pod_state(&pod("agent", 1, "agent: x: \u{1b}]52;c;aGk=\u{7}bad\n\rFAKE ROW"), "x").to_string();
        assert_eq!(state, "failed: agent: ]52;c;aGk= bad FAKE ROW");
        assert!(!state.chars().any(char::is_control));
    }
}

//! The run contract: everything a step needs to know about its run, written by
//! `bca render` into the Job and read by every step the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::Agent;

/// Bumped whenever a field changes meaning or a required field is added, so a runner
/// image never silently misreads a Job rendered by another bca version.
pub const CONTRACT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunContract {
    pub version: u32,
    /// Identifies the change being made (the Change's intent, not its repository list).
    pub change_id: String,
    /// The Change's `metadata.name`: its stable identity across edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_name: Option<String>,
    /// What shapes the agent's work. A run whose open pull request already holds work of
    /// this fingerprint ends as `unchanged` without running the agent.
    pub work: Work,
    /// The upstream repository, `https://HOST/OWNER/NAME`.
    pub repository: String,
    /// The GitHub Enterprise host the GitHub token belongs to (`bca render --github-host`);
    /// github.com when absent. The runner sends the token to this host only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_host: Option<String>,
    /// The branch the pull request targets.
    pub base_branch: String,
    /// The branch pushed to the fork, the same for every repository of a Change.
    pub head_branch: String,
    pub agent: Agent,
    pub prompt: String,
    /// The pull request's title and body and the commit message, made by `bca render`
    /// from its templates.
    pub pull_request_title: String,
    pub pull_request_body: String,
    pub commit_message: String,
    /// The organisation to fork into; the token's own account when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agentsmd: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Model endpoint settings for the agent (names from `Agent::endpoint_settings`),
    /// for clusters that run the agent against their own model endpoint.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_settings: BTreeMap<String, String>,
}

/// The fingerprint of the agent's work and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Work {
    pub fingerprint: String,
    /// `prompt`, `agent`, `context`, `model`, `baseBranch`: hashes or values, so a re-run
    /// can say what changed.
    pub parts: BTreeMap<String, String>,
}

impl RunContract {
    /// How the pull request knows its Change: the name, or the change id without one.
    pub fn identity(&self) -> &str {
        self.change_name.as_deref().unwrap_or(&self.change_id)
    }

    /// Pretty JSON: it is read by people reviewing rendered Jobs, so one field a line.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings cannot fail.
        serde_json::to_string_pretty(self).expect("run contract serialises")
    }

    /// Parses the contract and refuses one written for another contract version.
    pub fn from_json(json: &str) -> Result<RunContract, String> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let versioned: Versioned = serde_json::from_str(json)
            .map_err(|e| format!("the run contract is not valid JSON with a version: {e}"))?;
        if versioned.version != CONTRACT_VERSION {
            return Err(format!(
                "the run contract has version {}, this runner reads version {CONTRACT_VERSION}: \
                 render the Job with the bca release that matches the runner image",
                versioned.version
            ));
        }
        serde_json::from_str(json).map_err(|e| format!("the run contract is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunContract {
        RunContract {
            version: CONTRACT_VERSION,
            change_id: "0123456789".into(),
            change_name: None,
            work: Work { fingerprint: "f".into(), parts: BTreeMap::new() },
            repository: "https://github.com/acme/api".into(),
            github_host: None,
            base_branch: "main".into(),
            head_branch: "bca/0123456789".into(),
            agent: Agent::GeminiCli,
            prompt: "say \"hi\" $(x) `y`\n✓".into(),
            pull_request_title: "say hi".into(),
            pull_request_body: "body".into(),
            commit_message: "say hi\n".into(),
            fork_owner: None,
            agentsmd: None,
            resources: vec![],
            agent_settings: BTreeMap::new(),
        }
    }

    #[test]
    fn round_trips_through_json() {
        let c = sample();
        assert_eq!(RunContract::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn refuses_another_version() {
        let json = sample().to_json().replace("\"version\": 2", "\"version\": 3");
        let err = RunContract::from_json(&json).unwrap_err();
        assert!(err.contains("version 3, this runner reads version 2"), "{err}");
    }

    #[test]
    fn refuses_unknown_fields() {
        let json = sample().to_json().replacen('{', "{\"extra\": 1,", 1);
        let err = RunContract::from_json(&json).unwrap_err();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }
}

//! The result of a run: one JSON line on standard output and in the termination log,
//! which `kubectl get pod` shows and `bca status --pods` reads back into this type.

use serde::{Deserialize, Serialize};

use crate::{exit, RunContract};

/// How a run ended, in the result line's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// A pull request was opened.
    Opened,
    /// The open pull request got the new work.
    Updated,
    /// The open pull request already holds this work: the agent did not run.
    Unchanged,
    /// The agent changed nothing.
    NoChanges,
    /// Every tool call the agent made failed.
    AgentBlocked,
    /// The agent left something bca does not publish; `reason` says what.
    Refused,
    /// The Change's checks failed and `onFailure: skip` publishes nothing.
    VerifyFailed,
    /// The branch holds commits bca did not make: left alone.
    KeptHumanCommits,
    /// The open pull request from the Change's branch is not the Change's (no marker, or
    /// another Change's): left alone.
    ForeignPullRequest,
}

impl RunStatus {
    /// The result line's word.
    pub fn word(self) -> &'static str {
        match self {
            RunStatus::Opened => "opened",
            RunStatus::Updated => "updated",
            RunStatus::Unchanged => "unchanged",
            RunStatus::NoChanges => "no-changes",
            RunStatus::AgentBlocked => "agent-blocked",
            RunStatus::Refused => "refused",
            RunStatus::VerifyFailed => "verify-failed",
            RunStatus::KeptHumanCommits => "kept-human-commits",
            RunStatus::ForeignPullRequest => "foreign-pull-request",
        }
    }
}

/// The result of a run, one JSON line on standard output and in the termination log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub status: RunStatus,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Why nothing was published (`refused`, `kept-human-commits`), or what changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How `spec.verify` went: `passed after 2 attempts`, or what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// What `spec.merge` came to: `merged`, `queued`, `auto-merge on`, or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<String>,
    /// What did not work out but did not stop the run (a reviewer GitHub refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunOutcome {
    pub fn new(status: RunStatus, contract: &RunContract) -> RunOutcome {
        RunOutcome {
            status,
            repository: contract.repository.clone(),
            pull_request: None,
            branch: None,
            commit: None,
            reason: None,
            verification: None,
            merge: None,
            warnings: Vec::new(),
        }
    }

    /// A refused run failed for good: the agent left something bca does not publish; a
    /// blocked agent could not act (its tools were denied), which a retry does not change.
    pub fn exit_code(&self) -> u8 {
        if matches!(self.status, RunStatus::Refused | RunStatus::AgentBlocked | RunStatus::ForeignPullRequest) {
            exit::PERMANENT
        } else {
            0
        }
    }
}

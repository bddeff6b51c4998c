//! The result of a run: one JSON line on standard output and in the termination log,
//! which `kubectl get pod` and `bca status --pods` read.

use serde::{Deserialize, Serialize};

use super::log;
use super::paths::Paths;
use crate::{exit, RunContract};

/// The result of a run, one JSON line on standard output and in the termination log.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub status: String,
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
    /// What did not work out but did not stop the run (a reviewer GitHub refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunOutcome {
    pub fn new(status: &str, contract: &RunContract) -> RunOutcome {
        RunOutcome {
            status: status.into(),
            repository: contract.repository.clone(),
            pull_request: None,
            branch: None,
            commit: None,
            reason: None,
            verification: None,
            warnings: Vec::new(),
        }
    }

    pub fn refused(contract: &RunContract, reason: String) -> RunOutcome {
        log::info("publish", &format!("refused: {reason}"));
        RunOutcome { reason: Some(reason), ..RunOutcome::new("refused", contract) }
    }

    /// A refused run failed for good: the agent left something bca does not publish; a
    /// blocked agent could not act (its tools were denied), which a retry does not change.
    pub fn exit_code(&self) -> u8 {
        if self.status == "refused" || self.status == "agent-blocked" {
            exit::PERMANENT
        } else {
            0
        }
    }
}

/// Writes the outcome as one JSON line to standard output and the termination log.
pub fn report(paths: &Paths, outcome: &RunOutcome) {
    let line = serde_json::to_string(outcome).expect("outcome serialises");
    println!("{line}");
    if let Err(e) = std::fs::write(&paths.termination_log, format!("{line}\n")) {
        log::info("publish", &format!("cannot write {}: {e}", paths.termination_log.display()));
    }
}

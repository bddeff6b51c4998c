//! The result of a run: one JSON line on standard output and in the termination log,
//! which `kubectl get pod` and `bca status --pods` read.

use super::log;
use super::paths::Paths;
pub use crate::outcome::{RunOutcome, RunStatus};
use crate::RunContract;

/// Writes the outcome as one JSON line to standard output and the termination log.
pub fn report(paths: &Paths, outcome: &RunOutcome) {
    let line = serde_json::to_string(outcome).expect("outcome serialises");
    println!("{line}");
    if let Err(e) = std::fs::write(&paths.termination_log, format!("{line}\n")) {
        log::info("publish", &format!("cannot write {}: {e}", paths.termination_log.display()));
    }
}

/// A run that refused what the agent left, said in the log too.
pub fn refused(contract: &RunContract, reason: String) -> RunOutcome {
    log::info("publish", &format!("refused: {reason}"));
    RunOutcome { reason: Some(reason), ..RunOutcome::new(RunStatus::Refused, contract) }
}

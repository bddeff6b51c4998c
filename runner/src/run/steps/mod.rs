//! The five steps of a run. Each starts from the run contract and what earlier steps
//! left in the state and handoff directories, so each can run in its own container.
//! Which step may reach what is `crate::Step`'s table; this module keeps to it. What a
//! step does in depth lives beside it: `collect`, `import` (publish's side of the
//! handoff), `body` (the pull request's text), `verify`, `agents`.

mod agent;
mod clone;
mod fork;
mod publish;

pub use agent::agent;
pub use clone::clone;
pub use fork::fork;
use fork::unchanged;
pub use publish::{publish, VERIFY_FAILED_LABEL};

use super::collect;
use super::endpoint::Endpoint;
pub use super::outcome::{report, RunOutcome};
use super::paths::Paths;
use super::secrets::{self, Secret};
use super::{log, RunError};
use crate::pod::SECRET_KEY_GITHUB_TOKEN;
use crate::{Repository, RunContract};

pub fn load_contract(paths: &Paths) -> Result<RunContract, RunError> {
    let json = std::fs::read_to_string(&paths.contract).map_err(|e| {
        RunError::usage(format!(
            "cannot read the run contract at {}: {e} (render the Job with bca, or pass --contract FILE)",
            paths.contract.display()
        ))
    })?;
    let contract = RunContract::from_json(&json).map_err(RunError::usage)?;
    let index = std::env::var(crate::contract::COMPLETION_INDEX_ENV).ok();
    contract.for_index(index.as_deref()).map_err(RunError::usage)
}

/// The contract's repository, split up.
fn upstream(contract: &RunContract) -> Result<Upstream, RunError> {
    let repository = Repository::parse(&contract.repository)
        .map_err(|e| RunError::usage(format!("the run contract's repository: {e}")))?;
    Ok(Upstream { full_name: repository.full_name(), repository })
}

struct Upstream {
    repository: Repository,
    /// `OWNER/NAME`, as the API paths take it.
    full_name: String,
}

/// The one place the token may go, for this run.
fn endpoint(contract: &RunContract) -> Result<Endpoint, RunError> {
    super::endpoint::for_run(contract, std::env::var("GITHUB_API_URL").ok())
}

fn github_token(paths: &Paths) -> Result<Secret, RunError> {
    Ok(secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)?)
}

/// Turns the agent's work tree into a verdict and a bundle, holding no token.
pub fn collect(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    if unchanged(paths, contract)?.is_some() {
        log::info("collect", "the agent did not run: nothing to collect");
        return Ok(());
    }
    collect::collect(paths, contract.verify.as_ref()).map(|_| ())
}

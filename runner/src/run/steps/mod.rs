//! The steps of a run. Each starts from the run contract and what earlier steps
//! left in the state and handoff directories, so each can run in its own container.
//! Which step may reach what is `crate::Step`'s table; this module keeps to it. What a
//! step does in depth lives beside it: `collect`, `import` (publish's side of the
//! handoff), `body` (the pull request's text), `verify`, `agents`.

mod agent;
mod clone;
mod fork;
mod merge;
mod publish;
mod verify;

pub use crate::contract::VERIFY_FAILED_LABEL;
pub use agent::agent;
pub use clone::clone;
pub use fork::fork;
use fork::unchanged;
pub use publish::publish;
pub use verify::verify;

use super::collect;
use super::endpoint::Endpoint;
pub use super::outcome::{report, RunOutcome};
use super::paths::Paths;
use super::secrets::{self, Secret};
use super::{log, RunError};
use crate::pod::SECRET_KEY_GITHUB_TOKEN;
use crate::{Repository, RunContract};
use bca_codehost::repository::valid_owner;

/// The run contract, parsed once at the runner's edge: the steps read typed fields and
/// never parse the contract's strings again.
pub struct Run {
    pub contract: RunContract,
    /// The repository the pull request goes to.
    pub upstream: Upstream,
    /// The one place the GitHub token may go, for this run.
    pub endpoint: Endpoint,
}

/// Reads the contract (for an Indexed Job, its index's repository) and checks what
/// steers requests: the repository, its host against the token's, the fork owner.
pub fn load(paths: &Paths) -> Result<Run, RunError> {
    let contract = load_contract(paths)?;
    let repository = Repository::parse(&contract.repository)
        .map_err(|e| RunError::usage(format!("the run contract's repository: {e}")))?;
    // The owner goes into API paths: a contract edited by hand must not steer them.
    if let Some(org) = contract.fork_owner.as_deref().filter(|o| !valid_owner(o)) {
        return Err(RunError::usage(format!("the run contract's fork owner \"{org}\" is not a GitHub name")));
    }
    let endpoint = super::endpoint::for_run(&contract, std::env::var("GITHUB_API_URL").ok())?;
    Ok(Run { upstream: Upstream { full_name: repository.full_name(), repository }, endpoint, contract })
}

fn load_contract(paths: &Paths) -> Result<RunContract, RunError> {
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
pub struct Upstream {
    pub repository: Repository,
    /// `OWNER/NAME`, as the API paths take it.
    pub full_name: String,
}

fn github_token(paths: &Paths) -> Result<Secret, RunError> {
    Ok(secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)?)
}

/// Turns the agent's work tree into a verdict and a bundle, holding no token.
pub fn collect(paths: &Paths, run: &Run) -> Result<(), RunError> {
    let contract = &run.contract;
    if unchanged(paths, contract)?.is_some() {
        log::info("collect", "the agent did not run: nothing to collect");
        return Ok(());
    }
    // In the repository itself, the files its CI runs are the agent's only where the
    // Change's author named them in allowedPaths.
    let in_repository = super::state::read_fork(paths)?.is_upstream(&run.upstream.full_name);
    collect::collect(paths, contract.verify.as_ref(), in_repository).map(|_| ())
}

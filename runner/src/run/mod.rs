//! The steps themselves (feature `client`): git, the agents, and what they hand the
//! code host. One module each. The code host itself (its client, secrets and their
//! redaction) is `bca_codehost`'s.

pub mod agents;
pub mod askpass;
pub mod body;
pub mod clock;
pub mod collect;
pub mod context;
pub mod endpoint;
pub mod error;
pub mod files;
pub mod followup;
pub mod git;
pub mod import;
pub mod log;
pub mod outcome;
pub mod paths;
pub mod quarantine;
pub mod state;
pub mod steps;
pub mod transcript;
pub mod unicode;
pub mod verify;
pub mod worktree;

pub use bca_codehost::secret as secrets;
pub use error::RunError;
pub use paths::Paths;

/// What every subprocess (git, the agent) gets from the runner's environment, and
/// nothing else unless named: the runner's own environment may hold more than a
/// subprocess should see.
pub const BASE_ENV: [&str; 7] = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Copies the named variables that are set from this process's environment.
pub fn copy_env(cmd: &mut std::process::Command, vars: &[&str]) {
    for var in vars {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
}

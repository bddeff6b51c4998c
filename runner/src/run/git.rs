//! Running git for the steps: credentials only through askpass, and no configuration
//! the runner did not choose (no system or user config, no hooks, no fsmonitor), because
//! the agent has had its hands on the repository before publish runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::askpass::TOKEN_FILE_ENV;
use super::secrets::{redact, Secret};
use super::{copy_env, RunError, BASE_ENV};

pub struct Git {
    askpass: PathBuf,
    token_file: Option<PathBuf>,
}

/// Settings that must hold whatever a repository's own config says.
const SAFE_CONFIG: [&str; 10] = [
    "credential.helper=",
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.askPass=",
    "core.sshCommand=",
    "core.pager=cat",
    "commit.gpgSign=false",
    "user.name=bca-runner",
    "user.email=bca-runner@users.noreply.github.com",
    "init.defaultBranch=main",
];

impl Git {
    /// `token`: the GitHub token git may present over https, if any.
    pub fn new(token: Option<&Secret>) -> Result<Git, RunError> {
        let askpass = std::env::current_exe()
            .map_err(|e| RunError::usage(format!("cannot find the bca-runner binary for git's askpass: {e}")))?;
        Ok(Git { askpass, token_file: token.map(|t| t.path.clone()) })
    }

    fn command(&self, dir: Option<&Path>, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear();
        copy_env(&mut cmd, &BASE_ENV);
        cmd.env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", &self.askpass);
        if let Some(file) = &self.token_file {
            cmd.env(TOKEN_FILE_ENV, file);
        }
        for setting in SAFE_CONFIG {
            cmd.args(["-c", setting]);
        }
        if let Some(dir) = dir {
            cmd.arg("-C").arg(dir);
        }
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs git and returns its standard output; a failure carries git's (redacted)
    /// standard error.
    pub fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<String, RunError> {
        let output = self
            .command(dir, args)
            .output()
            .map_err(|e| RunError::usage(format!("cannot run git: {e}; is git installed and on PATH?")))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(RunError::retryable(format!(
                "git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                redact(String::from_utf8_lossy(&output.stderr).trim())
            )))
        }
    }
}

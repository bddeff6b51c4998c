//! Running git for the steps. Every git the runner starts is addressed at an explicit
//! git directory (never discovered from a working directory the agent could have
//! planted a `.git` in), reads no configuration but what the runner sets (no system or
//! user config, no hooks, filters, fsmonitor, submodules or attributes files), speaks
//! only the protocols the step needs, and gets credentials only through askpass, for
//! one origin. Output is parsed in the C locale.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::askpass::{ORIGIN_ENV, TOKEN_FILE_ENV};
use super::secrets::{redact, Secret};
use super::{copy_env, RunError};
use bca_codehost::endpoint::Origin;

/// The identity bca's commits carry, whoever made the change in the work tree.
pub const USER_NAME: &str = "bca-runner";
pub const USER_EMAIL: &str = "bca-runner@users.noreply.github.com";

/// Settings that must hold whatever else is configured. The git directories the
/// runner uses are its own, so this is a second fence, not the only one.
const SAFE_CONFIG: [&str; 27] = [
    "credential.helper=",
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.askPass=",
    "core.sshCommand=",
    "core.gitProxy=",
    "http.proxy=",
    "http.sslVerify=true",
    "core.pager=cat",
    "core.editor=false",
    "core.attributesFile=/dev/null",
    "core.excludesFile=/dev/null",
    "core.untrackedCache=false",
    "diff.external=",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "push.recurseSubmodules=no",
    "gc.auto=0",
    "maintenance.auto=false",
    "transfer.fsckObjects=true",
    // A tree entry named .git would become a nested repository in a checkout.
    "fetch.fsck.hasDotgit=error",
    "receive.fsck.hasDotgit=error",
    "protocol.allow=never",
    "init.defaultBranch=main",
    "advice.detachedHead=false",
];

/// A git command line builder for one repository.
#[derive(Clone)]
pub struct Git {
    askpass: PathBuf,
    token: Option<(PathBuf, Origin)>,
    git_dir: Option<PathBuf>,
    work_tree: Option<PathBuf>,
    index: Option<PathBuf>,
    /// Protocols beyond none: https (or http) for the token's origin, file for a local
    /// repository or bundle.
    protocols: Vec<&'static str>,
}

impl Git {
    /// git that may present `token` to `origin` (and to nothing else).
    pub fn with_token(token: &Secret, origin: &Origin) -> Result<Git, RunError> {
        let askpass = std::env::current_exe()
            .map_err(|e| RunError::usage(format!("cannot find the bca-runner binary for git's askpass: {e}")))?;
        let protocol = if origin.is_https() { "https" } else { "http" };
        Ok(Git {
            askpass,
            token: Some((token.path.clone(), origin.clone())),
            git_dir: None,
            work_tree: None,
            index: None,
            protocols: vec![protocol],
        })
    }

    /// git with no credentials and no network: for local repositories only.
    pub fn local() -> Git {
        Git {
            askpass: PathBuf::from("/bin/false"),
            token: None,
            git_dir: None,
            work_tree: None,
            index: None,
            protocols: Vec::new(),
        }
    }

    pub fn git_dir(mut self, dir: &Path) -> Git {
        self.git_dir = Some(dir.to_path_buf());
        self
    }

    pub fn work_tree(mut self, dir: &Path) -> Git {
        self.work_tree = Some(dir.to_path_buf());
        self
    }

    pub fn index(mut self, file: &Path) -> Git {
        self.index = Some(file.to_path_buf());
        self
    }

    /// Also allow local paths and bundles as repositories (`protocol.file.allow`).
    pub fn allow_files(mut self) -> Git {
        self.protocols.push("file");
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.env_clear();
        copy_env(&mut cmd, &["PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"]);
        // git's messages are classified by their text: keep them in English.
        cmd.env("LC_ALL", "C")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_ATTR_NOSYSTEM", "1")
            .env("GIT_NO_REPLACE_OBJECTS", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", &self.askpass);
        if let Some((file, origin)) = &self.token {
            cmd.env(TOKEN_FILE_ENV, file).env(ORIGIN_ENV, origin.to_string());
        }
        // Discovery never walks up into a directory above the one named.
        cmd.env("GIT_CEILING_DIRECTORIES", "/");
        if let Some(dir) = &self.git_dir {
            cmd.env("GIT_DIR", dir);
        }
        if let Some(dir) = &self.work_tree {
            cmd.env("GIT_WORK_TREE", dir).current_dir(dir);
        }
        if let Some(file) = &self.index {
            cmd.env("GIT_INDEX_FILE", file);
        }
        for setting in SAFE_CONFIG {
            cmd.args(["-c", setting]);
        }
        for protocol in &self.protocols {
            cmd.arg("-c").arg(format!("protocol.{protocol}.allow=always"));
        }
        cmd.args(["-c", &format!("user.name={USER_NAME}"), "-c", &format!("user.email={USER_EMAIL}")]);
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs git and returns its standard output; a failure carries git's (redacted)
    /// standard error.
    pub fn run(&self, args: &[&str]) -> Result<String, RunError> {
        self.run_with_input(args, None)
    }

    /// Runs git with `input` on its standard input.
    pub fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, RunError> {
        self.run_bytes(args, input.map(<[u8]>::to_vec)).map(|out| String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs git with `input` on its standard input (written beside the reading, so a git
    /// that answers as it reads never blocks on a full pipe) and returns its output as is.
    pub fn run_bytes(&self, args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, RunError> {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child =
            cmd.spawn().map_err(|e| RunError::usage(format!("cannot run git: {e}; is git installed and on PATH?")))?;
        let writer = match (input, child.stdin.take()) {
            // A git that exits early closes the pipe; its exit status says why.
            (Some(bytes), Some(mut stdin)) => Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            })),
            _ => None,
        };
        let output = child.wait_with_output().map_err(|e| RunError::retryable(format!("waiting for git: {e}")))?;
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(RunError::retryable(format!(
                "git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                redact(String::from_utf8_lossy(&output.stderr).trim())
            )))
        }
    }

    /// Runs git and returns whether it exited 0 and its standard output, for commands
    /// whose failure is an answer (`merge-tree` exits 1 on conflicts, with its tree).
    pub fn run_answer(&self, args: &[&str]) -> Result<(bool, String), RunError> {
        let output = self
            .command(args)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| RunError::usage(format!("cannot run git: {e}; is git installed and on PATH?")))?;
        Ok((output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Whether git exits 0 (for questions such as `merge-base --is-ancestor`).
    pub fn succeeds(&self, args: &[&str]) -> Result<bool, RunError> {
        let status = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| RunError::usage(format!("cannot run git: {e}; is git installed and on PATH?")))?;
        Ok(status.success())
    }
}

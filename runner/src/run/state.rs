//! What the steps hand on to each other in the state directory, which the agent's
//! container never mounts: the fork and the base commit. Read without following links.

use serde::{Deserialize, Serialize};

use super::files::{read_text, ReadError};
use super::paths::Paths;
use super::RunError;
use crate::marker::Marker;
use crate::RunContract;

/// State files are small; anything larger is damage.
const MAX_STATE_BYTES: u64 = 64 * 1024;

/// What the fork step hands to clone and publish.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkState {
    /// The account the branch is pushed to; the upstream's owner when no fork is needed.
    pub owner: String,
    pub full_name: String,
    pub clone_url: String,
    pub upstream_clone_url: String,
}

impl ForkState {
    /// Whether the branch goes to the repository itself (`upstream`, `OWNER/NAME`).
    pub fn is_upstream(&self, upstream: &str) -> bool {
        self.full_name.eq_ignore_ascii_case(upstream)
    }
}

fn write(paths: &Paths, path: &std::path::Path, text: &str) -> Result<(), RunError> {
    std::fs::create_dir_all(&paths.state)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", path.display())))
}

fn read(path: &std::path::Path, earlier_step: &str) -> Result<String, RunError> {
    read_text(path, MAX_STATE_BYTES).map_err(|e| match e {
        ReadError::Missing => RunError::usage(format!(
            "cannot read {}: it does not exist; run the {earlier_step} step first",
            path.display()
        )),
        other => RunError::usage(format!("cannot read {}: {other}", path.display())),
    })
}

pub fn write_fork(paths: &Paths, state: &ForkState) -> Result<(), RunError> {
    write(paths, &paths.fork_file(), &serde_json::to_string_pretty(state).expect("a struct of strings serialises"))
}

pub fn read_fork(paths: &Paths) -> Result<ForkState, RunError> {
    let text = read(&paths.fork_file(), "fork")?;
    serde_json::from_str(&text).map_err(|e| RunError::usage(format!("{} is damaged: {e}", paths.fork_file().display())))
}

/// The Change's open pull request as the fork step found it, before the agent ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPull {
    pub number: u64,
    pub html_url: String,
    pub title: String,
    pub body: String,
    /// Who opened it, and whether that is the token's account: anyone can open a pull
    /// request from a public fork's branch, and copy bca's marker into it.
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub opened_by_token: bool,
}

impl OpenPull {
    pub fn marker(&self) -> Option<Marker> {
        Marker::find(&self.body)
    }

    /// Whether the pull request already holds this Change's work: then the agent need
    /// not run.
    pub fn holds(&self, contract: &RunContract) -> bool {
        self.marker().is_some_and(|m| m.change == contract.identity() && m.fingerprint == contract.work.fingerprint)
    }

    /// Why the open pull request from the Change's branch is not the Change's to update:
    /// no bca marker (someone opened it by hand), or a marker naming another Change (two
    /// Changes with one name). `None` when it is the Change's.
    pub fn not_ours(&self, contract: &RunContract) -> Option<String> {
        if !self.opened_by_token {
            return Some(format!(
                "{} comes from the Change's branch but {} opened it, not the token's account: not bca's",
                self.html_url, self.author
            ));
        }
        match self.marker() {
            None => Some(format!("{} comes from the Change's branch but has no bca marker: not bca's", self.html_url)),
            Some(m) if m.change != contract.identity() => Some(format!(
                "{} belongs to Change {}, not {}: two Changes share the branch {}; rename one (metadata.name)",
                self.html_url,
                m.change,
                contract.identity(),
                contract.head_branch
            )),
            Some(_) => None,
        }
    }
}

pub fn write_open_pull(paths: &Paths, pull: Option<&OpenPull>) -> Result<(), RunError> {
    write(paths, &paths.open_pull_file(), &serde_json::to_string_pretty(&pull).expect("a struct of strings serialises"))
}

pub fn read_open_pull(paths: &Paths) -> Result<Option<OpenPull>, RunError> {
    let path = paths.open_pull_file();
    // The body is GitHub's, bounded by GitHub (65536 characters).
    let text = read_text(&path, 1 << 20).map_err(|e| match e {
        ReadError::Missing => RunError::usage(format!("cannot read {}: run the fork step first", path.display())),
        other => RunError::usage(format!("cannot read {}: {other}", path.display())),
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::usage(format!("{} is damaged: {e}", path.display())))
}

/// What the fork step decided about a follow-up round: run it, or why not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RoundState {
    Run(crate::run::followup::Round),
    Skip(String),
}

pub fn write_round(paths: &Paths, round: &RoundState) -> Result<(), RunError> {
    write(paths, &paths.round_file(), &serde_json::to_string_pretty(round).expect("a round serialises"))
}

pub fn read_round(paths: &Paths) -> Result<RoundState, RunError> {
    let path = paths.round_file();
    let text = read(&path, "fork")?;
    serde_json::from_str(&text).map_err(|e| RunError::usage(format!("{} is damaged: {e}", path.display())))
}

pub fn write_merge_parent(paths: &Paths, commit: &str) -> Result<(), RunError> {
    write(paths, &paths.merge_parent(), commit)
}

/// The base branch's commit a conflict round merged in, if it did.
pub fn read_merge_parent(paths: &Paths) -> Result<Option<String>, RunError> {
    if std::fs::symlink_metadata(paths.merge_parent()).is_err() {
        return Ok(None);
    }
    let text = read(&paths.merge_parent(), "clone")?;
    let commit = text.trim();
    if !is_object_id(commit) {
        return Err(RunError::usage(format!("{} is damaged: not a commit id", paths.merge_parent().display())));
    }
    Ok(Some(commit.to_string()))
}

pub fn write_base(paths: &Paths, commit: &str) -> Result<(), RunError> {
    write(paths, &paths.base_commit(), commit)
}

/// The upstream commit the clone started from, checked to be a commit id.
pub fn read_base(paths: &Paths) -> Result<String, RunError> {
    let text = read(&paths.base_commit(), "clone")?;
    let commit = text.trim();
    if !is_object_id(commit) {
        return Err(RunError::usage(format!("{} is damaged: not a commit id", paths.base_commit().display())));
    }
    Ok(commit.to_string())
}

/// A full hexadecimal object id (SHA-1 or SHA-256).
pub fn is_object_id(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

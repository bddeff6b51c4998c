//! The lockfile: the repositories `spec.select` chose, as GitHub answered `bca resolve`,
//! written beside the Change and committed with it. Every other command reads the
//! lockfile, never GitHub, so the same Change file renders the same bytes tomorrow; a
//! lockfile resolved from another `spec.select` is refused, never half-used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::change::model::{Change, Select};
use crate::change::values::RepoUrl;
use crate::render::yaml;

pub const KIND: &str = crate::change::LOCK_KIND;
pub const API_VERSION: &str = "v1";

const HEADER: &str = "# Written by `bca resolve`: the repositories spec.select chose, as GitHub answered.\n\
# Commit it with the Change; to change it, edit spec.select and run bca resolve again.\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    pub kind: String,
    pub api_version: String,
    /// The digest of the `spec.select` it was resolved from (`sha256:…`).
    pub select: String,
    /// The host the repositories are on.
    pub host: String,
    /// Sorted by URL.
    pub repositories: Vec<Locked>,
    /// Repositories the owners or search gave that bca left out on purpose, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Excluded>,
}

/// A selected repository, as it was when resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Locked {
    pub url: String,
    pub default_branch: String,
    /// The default branch's head commit when resolved.
    pub commit: String,
    /// Which selectors it matched (`owner acme`, `topic backend`, `has go.mod`).
    pub matched: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Excluded {
    pub url: String,
    pub why: String,
}

/// What keeps a Change's lockfile from being used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("no lockfile at {path}")]
    Missing { path: String },
    #[error("{path} was resolved from another spec.select")]
    Stale { path: String },
    #[error("{path} is damaged ({reason})")]
    Damaged { path: String, reason: String },
    #[error("a Change read from standard input has no file for its lockfile to sit beside")]
    FromStdin,
    #[error("{path} is a symbolic link, or lies outside the Change's directory")]
    Outside { path: String },
}

impl LockError {
    /// How to fix it, in the user's words.
    pub fn help(&self, change_file: &str) -> String {
        match self {
            LockError::FromStdin => "give its path in spec.select.lockfile".to_string(),
            LockError::Outside { .. } => {
                "keep the lockfile a plain file in the Change's directory or below it".to_string()
            }
            LockError::Stale { .. } => {
                format!("run bca resolve {change_file} again, and commit the lockfile with the Change")
            }
            _ => format!("run bca resolve {change_file} to write it, and commit it with the Change"),
        }
    }
}

impl Lock {
    pub fn to_text(&self) -> String {
        format!("{HEADER}{}", yaml::to_yaml(&serde_json::to_value(self).expect("a lockfile serialises")))
    }

    /// Reads a lockfile and checks what it holds as `spec.repos` and `spec.branch` are
    /// checked: hand edits pass the digest (anyone can recompute it), not these. What a
    /// file that is not a lockfile holds is never repeated in the error.
    fn parse(text: &str, path: &str) -> Result<Lock, LockError> {
        let damaged = |reason: String| LockError::Damaged { path: path.to_string(), reason };
        let not_ours = || damaged("it is not a lockfile bca resolve wrote".into());
        let doc = crate::output::read::parse_documents(text).map_err(|_| not_ours())?.into_iter().next();
        let lock: Lock = doc.and_then(|d| serde_json::from_value(d).ok()).ok_or_else(not_ours)?;
        if lock.kind != KIND || lock.api_version != API_VERSION {
            return Err(not_ours());
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &lock.repositories {
            let repo = RepoUrl::parse(&r.url).map_err(|e| damaged(format!("{}: {}", r.url, e.message)))?;
            if !repo.host().eq_ignore_ascii_case(&lock.host) {
                return Err(damaged(format!("{} is not on {}", r.url, lock.host)));
            }
            crate::change::values::BranchName::parse(&r.default_branch)
                .map_err(|e| damaged(format!("{}: {}", r.url, e.message)))?;
            let hex = r.commit.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !(hex && matches!(r.commit.len(), 40 | 64)) {
                return Err(damaged(format!("{}: {:?} is not a commit id", r.url, r.commit)));
            }
            if !seen.insert(repo.identity()) {
                return Err(damaged(format!("{} is listed twice", r.url)));
            }
        }
        if let Some(both) = lock.excluded.iter().find(|e| lock.repositories.iter().any(|r| r.url == e.url)) {
            return Err(damaged(format!("{} is both selected and excluded", both.url)));
        }
        Ok(lock)
    }
}

/// The digest a lockfile records of the `spec.select` it came from. Where the lockfile
/// is kept is not part of what it resolves.
pub fn digest(select: &Select) -> String {
    let what = Select { lockfile: None, ..select.clone() };
    let json = serde_json::to_vec(&what).expect("a select serialises");
    format!("sha256:{:x}", sha2::Sha256::digest(&json))
}

/// Where the lockfile of the Change in `change_file` is: `spec.select.lockfile` relative
/// to the Change file, else `NAME.lock.yaml` beside it.
pub fn path_of(change_file: &Path, select: &Select) -> Result<PathBuf, LockError> {
    let is_stdin = change_file.as_os_str() == "-";
    let dir = change_file.parent().unwrap_or(Path::new(""));
    match (&select.lockfile, is_stdin) {
        (Some(path), true) => Ok(PathBuf::from(path)),
        (Some(path), false) => Ok(dir.join(path)),
        (None, true) => Err(LockError::FromStdin),
        (None, false) => {
            let stem = change_file.file_stem().map_or_else(|| "change".into(), |s| s.to_string_lossy().into_owned());
            Ok(dir.join(format!("{stem}.lock.yaml")))
        }
    }
}

/// The lockfile at `path` as it is, resolved from whichever `spec.select`; none when
/// there is no file.
pub fn read_any(path: &Path) -> Result<Option<Lock>, LockError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Lock::parse(&text, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LockError::Damaged { path: path.display().to_string(), reason: e.to_string() }),
    }
}

/// Whether two lockfiles select the same: the same repositories on the same default
/// branches, the same exclusions, from the same `spec.select`. Head commits move every
/// day; they are recorded, not compared.
pub fn same_selection(a: &Lock, b: &Lock) -> bool {
    fn shape(l: &Lock) -> (&str, &str, Vec<(&str, &str)>, &[Excluded]) {
        let repos = l.repositories.iter().map(|r| (r.url.as_str(), r.default_branch.as_str())).collect();
        (&l.select, &l.host, repos, &l.excluded)
    }
    shape(a) == shape(b)
}

/// `path` if it is a plain file (or none yet) within the Change's directory: a
/// lockfile path in a Change, or a link in a pull request, must not make bca read or
/// write elsewhere.
pub fn contained(change_file: &Path, path: &Path) -> Result<(), LockError> {
    let outside = || LockError::Outside { path: path.display().to_string() };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(outside());
    }
    let dir = |p: &Path| p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).canonicalize();
    match (dir(change_file), dir(path)) {
        (Ok(home), Ok(there)) if there.starts_with(&home) => Ok(()),
        (Ok(_), Ok(_)) => Err(outside()),
        // A directory that does not exist yet holds nothing to read; writing there fails.
        _ => Ok(()),
    }
}

/// Reads the lockfile of a Change with `spec.select`, refusing a missing or stale one.
pub fn read(change_file: &Path, select: &Select) -> Result<(PathBuf, Lock), LockError> {
    let path = path_of(change_file, select)?;
    if change_file.as_os_str() != "-" {
        contained(change_file, &path)?;
    }
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LockError::Missing { path: shown }),
        Err(e) => return Err(LockError::Damaged { path: shown, reason: e.to_string() }),
    };
    let lock = Lock::parse(&text, &shown)?;
    if lock.select != digest(select) {
        return Err(LockError::Stale { path: shown });
    }
    Ok((path, lock))
}

/// Adds the locked repositories to the Change's (once each) and records their default
/// branches.
pub fn apply(change: &mut Change, lock: &Lock) -> Result<(), LockError> {
    for locked in &lock.repositories {
        let repo = RepoUrl::parse(&locked.url).map_err(|e| LockError::Damaged {
            path: "the lockfile".into(),
            reason: format!("{}: {}", locked.url, e.message),
        })?;
        change.spec.default_branches.insert(repo.canonical(), locked.default_branch.clone());
        if !change.spec.repos.iter().any(|r| r.identity() == repo.identity()) {
            change.spec.repos.push(repo);
        }
    }
    Ok(())
}

/// What changed from `old` to `new`, one line each: added repositories with what they
/// matched, removed ones with why they are gone.
pub fn changes(old: &Lock, new: &Lock) -> Vec<String> {
    let mut lines = Vec::new();
    for r in &new.repositories {
        if !old.repositories.iter().any(|o| o.url == r.url) {
            lines.push(format!("added {} ({})", r.url, r.matched.join(", ")));
        }
    }
    for r in &old.repositories {
        if new.repositories.iter().any(|n| n.url == r.url) {
            continue;
        }
        let why = new
            .excluded
            .iter()
            .find(|e| e.url == r.url)
            .map_or_else(|| "GitHub no longer lists it among what spec.select matches".to_string(), |e| e.why.clone());
        lines.push(format!("removed {} ({why})", r.url));
    }
    for r in &new.repositories {
        if let Some(o) = old.repositories.iter().find(|o| o.url == r.url) {
            if o.default_branch != r.default_branch {
                lines.push(format!("{}: default branch {} → {}", r.url, o.default_branch, r.default_branch));
            }
        }
    }
    lines
}

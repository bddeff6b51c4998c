//! The collect step: holds no token, runs the runner's own code, and turns what the
//! agent left in its work tree into data for publish: a verdict and a git bundle of the
//! agent's commits plus its uncommitted files. It never runs git over the agent's git
//! metadata: its git directory is its own, borrowing only the agent's objects, so no
//! config, hook, filter or `commondir` the agent wrote has any effect. Publish checks
//! the bundle again; collect's verdict only ever makes a run stop earlier.

use serde::{Deserialize, Serialize};

use super::context::{MAX_SUMMARY_CHARS, SUMMARY_FILE};
use super::files::{read_text, read_text_prefix, ReadError};
use super::git::Git;
use super::paths::{Paths, AGENT_REF, WORKTREE_REF};
use super::secrets::redact;
use super::state::read_base;
use super::transcript::Transcript;
use super::unicode::invisible;
use super::verify::{self, Verification};
use super::worktree::{self, Snapshot};
use super::{log, RunError};
use crate::contract::Verify;

/// The most a bundle of the agent's work may hold: source changes, not build output.
pub const MAX_BUNDLE_BYTES: u64 = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The bundle holds the agent's work.
    Changes,
    NoChanges,
    /// The work tree is not something bca publishes; `reason` says why.
    Refused,
}

impl Status {
    /// In a log line's words.
    pub fn word(self) -> &'static str {
        match self {
            Status::Changes => "changes",
            Status::NoChanges => "no changes",
            Status::Refused => "refused",
        }
    }
}

/// What collect hands to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Commits the agent made itself on top of the base.
    #[serde(default)]
    pub agent_commits: u32,
    /// How `spec.verify` went, when the Change has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The agent's summary of its change: untrusted text, bounded and defused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What the agent's transcript said about its tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Transcript>,
}

impl Verdict {
    fn new(status: Status) -> Verdict {
        Verdict { status, reason: None, agent_commits: 0, verification: None, summary: None, transcript: None }
    }

    fn refused(reason: impl Into<String>) -> Verdict {
        Verdict { reason: Some(reason.into()), ..Verdict::new(Status::Refused) }
    }
}

/// The files a repository's CI runs (workflows, build and test entry points): a branch
/// in the repository itself may change them only where allowedPaths names them.
pub const CI_ENTRY_POINTS: [&str; 24] = [
    ".github/**",
    ".gitlab-ci.yml",
    ".circleci/**",
    ".buildkite/**",
    "Jenkinsfile",
    "azure-pipelines.yml",
    ".travis.yml",
    "Makefile",
    "**/Makefile",
    "*.mk",
    "**/*.mk",
    "package.json",
    "**/package.json",
    "Taskfile.yml",
    "justfile",
    "tox.ini",
    "noxfile.py",
    "setup.py",
    "conftest.py",
    "**/conftest.py",
    "build.rs",
    "**/build.rs",
    ".pre-commit-config.yaml",
    "Dockerfile",
];

/// Collects the agent's work. `in_repository`: the branch goes to the repository itself,
/// so the CI entry points are guarded too.
pub fn collect(paths: &Paths, verify: Option<&Verify>, in_repository: bool) -> Result<Verdict, RunError> {
    let base = read_base(paths)?;
    let repo = paths.repo();
    let verdict = match worktree::inspect(&repo) {
        Err(reason) => (Verdict::refused(reason), None),
        Ok(()) => snapshot(paths, &base)?,
    };
    let (mut verdict, tree) = verdict;
    // A conflict round that left git's markers is not a resolution.
    if verdict.status == Status::Changes && super::state::read_merge_parent(paths)?.is_some() {
        let left = conflict_markers(paths, &base)?;
        if !left.is_empty() {
            let shown: Vec<String> = left.iter().take(20).map(|p| defuse_line(p)).collect();
            verdict = Verdict::refused(format!("the agent left conflict markers in {}", shown.join(", ")));
        }
    }
    if in_repository && verdict.status == Status::Changes {
        let allowed = verify.map(|v| v.allowed_paths.as_slice()).unwrap_or_default();
        let touched = touched(paths, &base)?;
        let guarded: Vec<&String> = touched
            .iter()
            .filter(|p| CI_ENTRY_POINTS.iter().any(|g| verify::glob_matches(g, p)))
            .filter(|p| !allowed.iter().any(|g| explicitly_names(g, p)))
            .collect();
        if !guarded.is_empty() {
            let shown: Vec<String> = guarded.iter().take(20).map(|p| defuse_line(p)).collect();
            verdict = Verdict::refused(format!(
                "the branch goes to the repository itself, and the change touches files its CI runs: {} (name them \
                 in spec.verify.allowedPaths to allow it)",
                shown.join(", ")
            ));
        }
    }
    if let (Some(verify), Status::Changes) = (verify, verdict.status) {
        // A path outside allowedPaths is refused, in every mode: nothing of it is pushed,
        // not even as a draft (a push alone runs the repository's CI on it). What is
        // published is one commit of the agent's final tree, so its diff is all there is.
        let outside = paths_outside(paths, &base, &verify.allowed_paths)?;
        if !outside.is_empty() {
            // The names are the agent's: one line each, nothing that renders as markup of theirs.
            let shown: Vec<String> = outside.iter().take(20).map(|p| defuse_line(p)).collect();
            let more = if outside.len() > 20 { format!(" and {} more", outside.len() - 20) } else { String::new() };
            verdict =
                Verdict::refused(format!("the change touches paths outside allowedPaths: {}{more}", shown.join(", ")));
        } else {
            verdict.verification = Some(defused(read_verification(paths, tree.as_deref())));
        }
    }
    if verdict.status == Status::Changes {
        verdict.summary = read_summary(paths);
    }
    // Bounded and parsed as data; it only ever turns no-changes into agent-blocked.
    verdict.transcript =
        read_text(&paths.transcript(), 64 * 1024).ok().and_then(|text| serde_json::from_str(&text).ok());
    let json = serde_json::to_string(&verdict).expect("a verdict serialises");
    std::fs::create_dir_all(&paths.handoff)
        .and_then(|()| std::fs::write(paths.verdict(), json))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.verdict().display())))?;
    match &verdict.reason {
        Some(reason) => log::info("collect", &format!("refused: {reason}")),
        None => log::info(
            "collect",
            &format!("{}, {} commit(s) by the agent", verdict.status.word(), verdict.agent_commits),
        ),
    }
    Ok(verdict)
}

/// Commits the agent's uncommitted files on top of its HEAD, in collect's own git
/// directory, and bundles everything since the base.
/// Returns the verdict and the tree the bundle publishes.
fn snapshot(paths: &Paths, base: &str) -> Result<(Verdict, Option<String>), RunError> {
    let scratch = paths.scratch();
    let (git, Snapshot { head, tree }) = match worktree::snapshot(&paths.repo(), &scratch, Some(&paths.git_dir()))? {
        Ok(taken) => taken,
        Err(reason) => return Ok((Verdict::refused(reason), None)),
    };
    let head = head.as_str();
    let head_tree = git.run(&["rev-parse", &format!("{head}^{{tree}}")])?.trim().to_string();
    let worktree = if tree == head_tree {
        head.to_string()
    } else {
        let message = b"The agent's uncommitted changes\n";
        git.run_with_input(&["commit-tree", &tree, "-p", head, "-F", "-"], Some(message))?.trim().to_string()
    };
    if head == base && worktree == base {
        return Ok((Verdict::new(Status::NoChanges), Some(tree)));
    }
    let agent_commits: u32 =
        git.run(&["rev-list", "--count", head, &format!("^{base}")])?.trim().parse().unwrap_or(u32::MAX);
    let mut refs = vec![WORKTREE_REF];
    git.run(&["update-ref", WORKTREE_REF, &worktree])?;
    if head != base {
        git.run(&["update-ref", AGENT_REF, head])?;
        refs.push(AGENT_REF);
    }
    let bundle = paths.bundle();
    let bundle_arg = bundle.display().to_string();
    let exclude = format!("^{base}");
    let mut args = vec!["bundle", "create", "--quiet", bundle_arg.as_str()];
    args.extend(refs);
    args.push(&exclude);
    git.run(&args)?;
    let size = std::fs::metadata(&bundle).map(|m| m.len()).unwrap_or(u64::MAX);
    if size > MAX_BUNDLE_BYTES {
        let _ = std::fs::remove_file(&bundle);
        return Ok((
            Verdict::refused(format!(
                "the agent's changes are {} MiB as a git bundle, more than the {} MiB bca publishes",
                size >> 20,
                MAX_BUNDLE_BYTES >> 20
            )),
            None,
        ));
    }
    Ok((Verdict { agent_commits, ..Verdict::new(Status::Changes) }, Some(tree)))
}

/// The summary the agent was asked to leave: read as data (no link, at most 64 KiB),
/// cut to `MAX_SUMMARY_CHARS`, without control characters, HTML comments (which could
/// pose as bca's markers) or @-mentions (which would notify people), and redacted.
pub fn read_summary(paths: &Paths) -> Option<String> {
    // The workspace is the mount; `context` below it is the agent's to replace by a link.
    let context = paths.context();
    if !std::fs::symlink_metadata(&context).is_ok_and(|m| m.file_type().is_dir()) {
        return None;
    }
    // A long summary is cut, not dropped.
    let (text, more) = read_text_prefix(&context.join(SUMMARY_FILE), 64 * 1024).ok()?;
    let mut clean: String = text.chars().take(MAX_SUMMARY_CHARS).collect();
    if more || text.chars().count() > MAX_SUMMARY_CHARS {
        clean.push_str(" [cut by bca]");
    }
    let clean = redact(defuse_markdown(clean.trim()).trim());
    (!clean.is_empty()).then_some(clean)
}

/// Text the agent could have written, made safe to put in a pull request body: no
/// control characters (newlines and tabs stay), no bidi or invisible characters (which
/// show a reviewer, or an AI reviewer, other text than is there), no HTML comments
/// (which could pose as bca's markers, or hide text), no @-mentions (which would notify
/// people and teams), and no issue references a closing keyword could act on
/// (`Fixes #12` closes issue 12 when merged).
pub fn defuse(text: &str) -> String {
    let clean: String =
        text.chars().filter(|c| (*c == '\n' || *c == '\t' || !c.is_control()) && !invisible(*c)).collect();
    let clean = clean.replace("<!--", "&lt;!--").replace('@', "@\u{200b}");
    let mut out = String::with_capacity(clean.len());
    let mut chars = clean.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '#' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('\u{200b}');
        }
    }
    out
}

/// The same, for Markdown that is not in a code block: no raw HTML at all (an `<img>`
/// would load a remote URL when read, `<details>` would hide text).
pub fn defuse_markdown(text: &str) -> String {
    defuse(text).replace('<', "&lt;")
}

/// The same, on one line: a newline could start Markdown of the agent's own.
pub(crate) fn defuse_line(text: &str) -> String {
    defuse(&text.replace(['\n', '\t'], " "))
}

/// The verification verdict made safe for the pull request body. It is the agent's
/// step's file, which the agent (or something it left running) could have rewritten.
fn defused(mut v: Verification) -> Verification {
    for check in &mut v.checks {
        check.command = defuse_line(&check.command);
        check.tail = defuse(&check.tail);
    }
    v.reason = v.reason.as_deref().map(defuse_line);
    v
}

/// The verify step's verdict, as data (bounded, not through a link), and good only for
/// the tree it names: `published` is the tree the bundle holds.
fn read_verification(paths: &Paths, published: Option<&str>) -> Verification {
    let unread = |reason: String| Verification::failed(0, reason);
    let verification = match read_text(&paths.verdict_of_checks(), 256 * 1024) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|e| unread(format!("the verification verdict is damaged: {e}")))
        }
        Err(ReadError::Missing) => unread("the checks did not run".into()),
        Err(e) => unread(format!("cannot read the verification verdict: {e}")),
    };
    if verification.passed && (verification.tree.is_none() || verification.tree.as_deref() != published) {
        return Verification::failed(
            verification.attempts,
            "the checks passed on another tree than the one bca would publish: the work tree changed after them"
                .to_string(),
        );
    }
    verification
}

/// Whether an allowedPaths glob names a CI entry point itself, not only by a catch-all
/// (`**` allows any file, but does not say the Change's author thought of the CI).
fn explicitly_names(glob: &str, path: &str) -> bool {
    !matches!(glob, "**" | "**/*" | "*") && verify::glob_matches(glob, path)
}

/// The paths the change touches that no glob of `allowed` matches (none when no
/// globs are given).
fn paths_outside(paths: &Paths, base: &str, allowed: &[String]) -> Result<Vec<String>, RunError> {
    if allowed.is_empty() {
        return Ok(Vec::new());
    }
    Ok(touched(paths, base)?.into_iter().filter(|p| !allowed.iter().any(|g| verify::glob_matches(g, p))).collect())
}

/// Every path the agent's work tree changes against the base. After a conflict round,
/// against git's own merge of the base branch into the head (its conflicted files with
/// their markers): what the merge brought in is not the agent's doing, and a change the
/// merge would have made that the agent undid is.
fn touched(paths: &Paths, base: &str) -> Result<Vec<String>, RunError> {
    let git = Git::local().git_dir(&paths.scratch().join("git"));
    let from = match super::state::read_merge_parent(paths)? {
        Some(parent) => {
            let (_, out) = git.run_answer(&[
                "-c",
                "attr.tree=4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "merge-tree",
                "--write-tree",
                base,
                &parent,
            ])?;
            let tree = out.lines().next().unwrap_or_default().trim().to_string();
            if !super::state::is_object_id(&tree) {
                return Err(RunError::retryable(format!("git could not merge {parent} into {base} again")));
            }
            tree
        }
        None => base.to_string(),
    };
    let out = git.run(&["diff", "--name-only", "-z", "--no-renames", &from, WORKTREE_REF])?;
    Ok(out.split('\0').filter(|p| !p.is_empty()).map(str::to_string).collect())
}

/// A line git writes around a conflict: seven or more `<` or `>` (the repository's
/// `conflict-marker-size` may ask for more), then a space or nothing.
fn is_conflict_marker(line: &str) -> bool {
    ['<', '>'].iter().any(|c| {
        let run = line.chars().take_while(|x| x == c).count();
        run >= 7 && line[run..].chars().next().is_none_or(|n| n == ' ')
    })
}

/// Paths that still hold git's conflict markers after a conflict round.
fn conflict_markers(paths: &Paths, base: &str) -> Result<Vec<String>, RunError> {
    let git = Git::local().git_dir(&paths.scratch().join("git"));
    let changed = git.run(&["diff", "--name-only", "-z", "--no-renames", base, WORKTREE_REF])?;
    let mut found = Vec::new();
    for path in changed.split('\0').filter(|p| !p.is_empty()).map(str::to_string) {
        let Ok(text) = git.run(&["cat-file", "blob", &format!("{WORKTREE_REF}:{path}")]) else { continue };
        if text.lines().any(is_conflict_marker) {
            found.push(path);
        }
    }
    Ok(found)
}

/// Reads collect's verdict (publish's side).
pub fn read_verdict(paths: &Paths) -> Result<Verdict, RunError> {
    let path = paths.verdict();
    let text = read_text(&path, 64 * 1024).map_err(|e| match e {
        ReadError::Missing => RunError::usage(format!("cannot read {}: run the collect step first", path.display())),
        other => RunError::usage(format!("cannot read {}: {other}", path.display())),
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::usage(format!("{} is damaged: {e}", path.display())))
}

//! The collect step: holds no token, runs the runner's own code, and turns what the
//! agent left in its work tree into data for publish: a verdict and a git bundle of the
//! agent's commits plus its uncommitted files. It never runs git over the agent's git
//! metadata: its git directory is its own, borrowing only the agent's objects, so no
//! config, hook, filter or `commondir` the agent wrote has any effect. Publish checks
//! the bundle again; collect's verdict only ever makes a run stop earlier.

use std::fs::FileType;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::context::{MAX_SUMMARY_CHARS, SUMMARY_FILE};
use super::files::{read_text, read_text_prefix, ReadError};
use super::git::Git;
use super::paths::{Paths, AGENT_REF, WORKTREE_REF};
use super::secrets::redact;
use super::state::{is_object_id, read_base};
use super::transcript::Transcript;
use super::verify::{self, Verification};
use super::{log, RunError};
use crate::contract::Verify;

/// The most a bundle of the agent's work may hold: source changes, not build output.
pub const MAX_BUNDLE_BYTES: u64 = 512 << 20;
/// A work tree with more entries than this is not one a person could review.
const MAX_ENTRIES: usize = 2_000_000;

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
    let mut verdict = match inspect(&repo) {
        Err(reason) => Verdict::refused(reason),
        Ok(()) => match agent_head(&repo.join(".git")) {
            Err(reason) => Verdict::refused(reason),
            Ok(head) => snapshot(paths, &base, &head)?,
        },
    };
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
            verdict.verification = Some(defused(read_verification(paths)));
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

/// The work tree must be a directory with a real `.git` directory at its top and no
/// other git repository inside: a nested `.git` would be published as a gitlink, and a
/// `.git` file, link or `commondir` points git at metadata elsewhere.
fn inspect(repo: &Path) -> Result<(), String> {
    let kind = |path: &Path| std::fs::symlink_metadata(path).map(|m| m.file_type());
    match kind(repo) {
        Ok(t) if t.is_dir() => {}
        _ => return Err(format!("the agent removed or replaced the repository directory {}", repo.display())),
    }
    let dot_git = repo.join(".git");
    match kind(&dot_git) {
        Ok(t) if t.is_dir() => {}
        Ok(t) if t.is_symlink() => return Err("the repository's .git is a symbolic link".into()),
        Ok(_) => return Err("the repository's .git is not a directory (a file pointing git elsewhere)".into()),
        Err(_) => return Err("the agent removed the repository's .git".into()),
    }
    if kind(&dot_git.join("commondir")).is_ok() {
        return Err("the repository's .git/commondir points git at another directory".into());
    }
    match kind(&dot_git.join("objects")) {
        Ok(t) if t.is_dir() => {}
        _ => return Err("the repository's .git/objects is not a directory".into()),
    }
    let mut stack: Vec<PathBuf> = vec![repo.to_path_buf()];
    let mut entries = 0usize;
    while let Some(dir) = stack.pop() {
        let listing = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in listing {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(format!("the work tree holds more than {MAX_ENTRIES} files"));
            }
            let path = entry.path();
            let is_top = dir == repo;
            if super::files::is_dot_git(&entry.file_name().to_string_lossy()) {
                if is_top {
                    continue;
                }
                let rel = path.strip_prefix(repo).unwrap_or(&path);
                return Err(format!(
                    "{} is a nested git repository or submodule; bca publishes files, not repositories",
                    rel.display()
                ));
            }
            let file_type: FileType = entry.file_type().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if file_type.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(())
}

/// Reads `rel` below `root` as text, refusing a symbolic link at any component.
fn read_below(root: &Path, rel: &str) -> Result<Option<String>, String> {
    let mut path = root.to_path_buf();
    let components: Vec<&str> = rel.split('/').collect();
    for (i, part) in components.iter().enumerate() {
        if part.is_empty() || *part == "." || *part == ".." {
            return Err(format!("the ref name {rel} is not valid"));
        }
        path.push(part);
        if i + 1 < components.len() {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => return Err(format!(".git/{rel} passes through something that is not a directory")),
                Err(_) => return Ok(None),
            }
        }
    }
    match read_text(&path, 64 * 1024) {
        Ok(text) => Ok(Some(text)),
        Err(ReadError::Missing) => Ok(None),
        Err(e) => Err(format!("cannot read .git/{rel}: {e}")),
    }
}

/// The commit the agent's HEAD names, resolved by reading `HEAD`, loose refs and
/// `packed-refs` as data.
fn agent_head(dot_git: &Path) -> Result<String, String> {
    let mut name = "HEAD".to_string();
    for _ in 0..5 {
        let value = match read_below(dot_git, &name)? {
            Some(text) => Some(text.trim().to_string()),
            None => packed_ref(dot_git, &name)?,
        };
        let Some(value) = value else {
            return Err(format!("the agent's repository has no commit at {name}"));
        };
        if let Some(target) = value.strip_prefix("ref: ") {
            if !target.starts_with("refs/") {
                return Err(format!("the agent's HEAD points at {target}, which is not a ref"));
            }
            name = target.to_string();
            continue;
        }
        if is_object_id(&value) {
            return Ok(value);
        }
        return Err(format!("the agent's {name} does not name a commit"));
    }
    Err("the agent's HEAD is a chain of symbolic refs".into())
}

fn packed_ref(dot_git: &Path, name: &str) -> Result<Option<String>, String> {
    let Some(text) = read_below(dot_git, "packed-refs")? else {
        return Ok(None);
    };
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
        .filter_map(|l| l.split_once(' '))
        .find(|(_, r)| *r == name)
        .map(|(id, _)| id.to_string()))
}

/// Commits the agent's uncommitted files on top of its HEAD, in collect's own git
/// directory, and bundles everything since the base.
fn snapshot(paths: &Paths, base: &str, head: &str) -> Result<Verdict, RunError> {
    let scratch = paths.scratch();
    let io = |what: &str, e: std::io::Error| RunError::usage(format!("cannot {what} {}: {e}", scratch.display()));
    if std::fs::symlink_metadata(&scratch).is_ok() {
        std::fs::remove_dir_all(&scratch).map_err(|e| io("clear", e))?;
    }
    std::fs::create_dir_all(&scratch).map_err(|e| io("create", e))?;
    let git_dir = scratch.join("git");
    Git::local().run(&["init", "--quiet", "--bare", &git_dir.display().to_string()])?;
    // The agent's objects are borrowed as a plain directory: a link, or alternates of
    // its own, would make git read wherever the agent pointed.
    let agent_objects = paths.repo().join(".git/objects");
    if !std::fs::symlink_metadata(&agent_objects).is_ok_and(|m| m.file_type().is_dir()) {
        return Ok(Verdict::refused("the agent's .git/objects is not a directory".to_string()));
    }
    for borrowed in ["info/alternates", "info/http-alternates"] {
        if std::fs::symlink_metadata(agent_objects.join(borrowed)).is_ok() {
            return Ok(Verdict::refused(format!(
                "the agent's .git/objects/{borrowed} borrows objects from elsewhere; bca publishes only the agent's own"
            )));
        }
    }
    let alternates = format!("{}\n{}\n", paths.git_dir().join("objects").display(), agent_objects.display());
    std::fs::write(git_dir.join("objects/info/alternates"), alternates).map_err(|e| io("write to", e))?;
    let git = Git::local().git_dir(&git_dir).work_tree(&paths.repo()).index(&scratch.join("index"));
    git.run(&["config", "core.bare", "false"])?;
    if !git.succeeds(&["cat-file", "-e", &format!("{head}^{{commit}}")])? {
        return Ok(Verdict::refused(format!("the agent's HEAD names {head}, which is not a commit in its repository")));
    }
    // git refusing what the agent left (a path it will not check out, a damaged object)
    // is a verdict on the agent's work, not a failure a retry could fix.
    let mut tree = String::new();
    for args in [&["read-tree", head][..], &["add", "--all"], &["write-tree"]] {
        match git.run(args) {
            Ok(out) => tree = out.trim().to_string(),
            Err(e) => return Ok(Verdict::refused(format!("git cannot read the agent's work: {}", e.message))),
        }
    }
    let head_tree = git.run(&["rev-parse", &format!("{head}^{{tree}}")])?.trim().to_string();
    let worktree = if tree == head_tree {
        head.to_string()
    } else {
        let message = b"The agent's uncommitted changes\n";
        git.run_with_input(&["commit-tree", &tree, "-p", head, "-F", "-"], Some(message))?.trim().to_string()
    };
    if head == base && worktree == base {
        return Ok(Verdict::new(Status::NoChanges));
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
        return Ok(Verdict::refused(format!(
            "the agent's changes are {} MiB as a git bundle, more than the {} MiB bca publishes",
            size >> 20,
            MAX_BUNDLE_BYTES >> 20
        )));
    }
    Ok(Verdict { agent_commits, ..Verdict::new(Status::Changes) })
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

/// Characters that change what a reader sees without showing: bidi controls, zero-width
/// characters, the soft hyphen, tag characters.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// The same, on one line: a newline could start Markdown of the agent's own.
fn defuse_line(text: &str) -> String {
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

/// The agent step's verification verdict, as data: bounded, not through a link.
fn read_verification(paths: &Paths) -> Verification {
    let unread = |reason: String| Verification { passed: false, attempts: 0, checks: Vec::new(), reason: Some(reason) };
    match read_text(&paths.verification(), 256 * 1024) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|e| unread(format!("the verification verdict is damaged: {e}")))
        }
        Err(ReadError::Missing) => unread("the checks did not run".into()),
        Err(e) => unread(format!("cannot read the verification verdict: {e}")),
    }
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

/// Every path the agent's work tree changes against the base.
fn touched(paths: &Paths, base: &str) -> Result<Vec<String>, RunError> {
    let git = Git::local().git_dir(&paths.scratch().join("git"));
    let changed = git.run(&["diff", "--name-only", "-z", "--no-renames", base, WORKTREE_REF])?;
    Ok(changed.split('\0').filter(|p| !p.is_empty()).map(str::to_string).collect())
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

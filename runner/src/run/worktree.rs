//! The agent's work tree, read as data by steps that run the runner's own code: whether
//! it is one bca publishes, the commit its HEAD names, and the tree git would commit from
//! it. Collect takes that tree to publish it; each verify step takes it before and after
//! the checks, so collect can tell the tree it publishes is the tree that was checked.
//! Git runs over a git directory of the step's own, borrowing only the agent's objects,
//! so no config, hook, filter or `commondir` the agent wrote has any effect.

use std::fs::FileType;
use std::path::{Path, PathBuf};

use super::files::{read_text, ReadError};
use super::git::Git;
use super::state::is_object_id;
use super::RunError;

/// Writes `tree` out into `dest` (made anew) exactly as git stores it: each blob's bytes,
/// no attribute, filter or line-ending conversion, executable bits and links as the tree
/// says, nothing else (no ignored files, no `.git`). The checks run there, on exactly
/// what would be published. The inner error is a verdict on the tree (a path that would
/// leave `dest`, a submodule).
pub fn materialize(git: &Git, tree: &str, dest: &Path) -> Result<Result<(), String>, RunError> {
    let io =
        |what: &str, path: &Path, e: std::io::Error| RunError::usage(format!("cannot {what} {}: {e}", path.display()));
    if std::fs::symlink_metadata(dest).is_ok() {
        std::fs::remove_dir_all(dest).map_err(|e| io("clear", dest, e))?;
    }
    std::fs::create_dir_all(dest).map_err(|e| io("create", dest, e))?;
    let listing = git.run(&["ls-tree", "-r", "-z", "--full-tree", tree])?;
    let mut entries = Vec::new();
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else { continue };
        let mut meta = meta.split(' ');
        let (mode, _, id) = (meta.next().unwrap_or(""), meta.next(), meta.next().unwrap_or(""));
        if mode == "160000" {
            return Ok(Err(format!("{path} is a submodule; bca publishes files, not repositories")));
        }
        let safe = path.split('/').all(|p| !p.is_empty() && p != "." && p != ".." && !super::files::is_dot_git(p));
        if !safe {
            return Ok(Err(format!("the tree holds a path git would not check out: {path:?}")));
        }
        entries.push((mode.to_string(), id.to_string(), path.to_string()));
    }
    let ids: String = entries.iter().map(|(_, id, _)| format!("{id}\n")).collect();
    let blobs = git.run_bytes(&["cat-file", "--batch"], Some(ids.into_bytes()))?;
    let mut rest = blobs.as_slice();
    let mut links: Vec<&str> = Vec::new();
    for (mode, _, path) in &entries {
        // "<id> blob <size>\n<content>\n"
        let header_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..header_end]).into_owned();
        let size: usize = header.rsplit(' ').next().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
        let start = header_end + 1;
        let Some(content) = rest.get(start..start.saturating_add(size)) else {
            return Ok(Err(format!("git cannot read {path}: {header}")));
        };
        rest = &rest[(start + size + 1).min(rest.len())..];
        // A path below a link would be written wherever the link points.
        if links.iter().any(|l| path.starts_with(&format!("{l}/"))) {
            return Ok(Err(format!("{path} lies below a symbolic link the tree also holds")));
        }
        let target = dest.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        if mode == "120000" {
            let to = String::from_utf8_lossy(content).into_owned();
            std::os::unix::fs::symlink(&to, &target).map_err(|e| io("link", &target, e))?;
            links.push(path);
            continue;
        }
        std::fs::write(&target, content).map_err(|e| io("write", &target, e))?;
        if mode == "100755" {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io("make executable", &target, e))?;
        }
    }
    Ok(Ok(()))
}

/// A work tree with more entries than this is not one a person could review.
const MAX_ENTRIES: usize = 2_000_000;

/// The agent's HEAD and the tree of its work tree, as `git add --all` on top of that
/// HEAD would commit it (ignored files left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub head: String,
    pub tree: String,
}

/// Takes the snapshot in a git directory made anew under `scratch` (whatever was there
/// is removed), whose objects borrow the agent's and `more_objects`' (the state's). The
/// inner error is a verdict on the agent's work (refused, with why); the outer one a
/// failure of this step. Returns the git directory's handle for more work with it.
pub fn snapshot(
    repo: &Path,
    scratch: &Path,
    more_objects: Option<&Path>,
) -> Result<Result<(Git, Snapshot), String>, RunError> {
    let io = |what: &str, e: std::io::Error| RunError::usage(format!("cannot {what} {}: {e}", scratch.display()));
    let head = match agent_head(&repo.join(".git")) {
        Ok(head) => head,
        Err(reason) => return Ok(Err(reason)),
    };
    if std::fs::symlink_metadata(scratch).is_ok() {
        std::fs::remove_dir_all(scratch).map_err(|e| io("clear", e))?;
    }
    std::fs::create_dir_all(scratch).map_err(|e| io("create", e))?;
    let git_dir = scratch.join("git");
    Git::local().run(&["init", "--quiet", "--bare", &git_dir.display().to_string()])?;
    // The agent's objects are borrowed as a plain directory: a link, or alternates of
    // its own, would make git read wherever the agent pointed.
    let agent_objects = repo.join(".git/objects");
    if !std::fs::symlink_metadata(&agent_objects).is_ok_and(|m| m.file_type().is_dir()) {
        return Ok(Err("the agent's .git/objects is not a directory".to_string()));
    }
    for borrowed in ["info/alternates", "info/http-alternates"] {
        if std::fs::symlink_metadata(agent_objects.join(borrowed)).is_ok() {
            return Ok(Err(format!(
                "the agent's .git/objects/{borrowed} borrows objects from elsewhere; bca publishes only the agent's own"
            )));
        }
    }
    let mut alternates = String::new();
    for objects in more_objects.map(|dir| dir.join("objects")).iter().chain([&agent_objects]) {
        alternates.push_str(&format!("{}\n", objects.display()));
    }
    std::fs::write(git_dir.join("objects/info/alternates"), alternates).map_err(|e| io("write to", e))?;
    let git = Git::local().git_dir(&git_dir).work_tree(repo).index(&scratch.join("index"));
    git.run(&["config", "core.bare", "false"])?;
    if !git.succeeds(&["cat-file", "-e", &format!("{head}^{{commit}}")])? {
        return Ok(Err(format!("the agent's HEAD names {head}, which is not a commit in its repository")));
    }
    // git refusing what the agent left (a path it will not check out, a damaged object)
    // is a verdict on the agent's work, not a failure a retry could fix.
    let mut tree = String::new();
    for args in [&["read-tree", head.as_str()][..], &["add", "--all"], &["write-tree"]] {
        match git.run(args) {
            Ok(out) => tree = out.trim().to_string(),
            Err(e) => return Ok(Err(format!("git cannot read the agent's work: {}", e.message))),
        }
    }
    Ok(Ok((git, Snapshot { head, tree })))
}

/// The work tree must be a directory with a real `.git` directory at its top and no
/// other git repository inside: a nested `.git` would be published as a gitlink, and a
/// `.git` file, link or `commondir` points git at metadata elsewhere.
pub fn inspect(repo: &Path) -> Result<(), String> {
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

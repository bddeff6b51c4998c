//! Publish's side of the handoff: fetch collect's bundle into the runner's own git
//! directory and turn it into the one commit bca pushes. The bundle was made from what
//! the agent left, so everything in it is checked: the agent's history must descend from
//! the base along first parents, and no step of it may add a gitlink or a `.git` path.
//! The agent's history itself is never pushed: bca writes one commit of the agent's
//! final tree on the base, with bca's author, committer and message. So the agent's
//! intermediate commits (which could add and later remove anything), its `skip-checks:`
//! trailers and its closing keywords (`Fixes #12`) never reach the repository.

use super::files::{is_dot_git, open_regular};
use super::git::Git;
use super::paths::Paths;
use super::paths::{AGENT_REF, WORKTREE_REF};
use super::RunError;

/// More commits than this from one agent run is not a reviewable pull request.
pub const MAX_AGENT_COMMITS: usize = 200;

const IMPORTED_AGENT: &str = "refs/bca/imported/agent";
const IMPORTED_WORKTREE: &str = "refs/bca/imported/worktree";

/// What the agent's work became.
pub enum Imported {
    /// The commit to push, and how many of the agent's own commits it carries.
    Commit { tip: String, agent_commits: usize },
    /// The agent's changes add up to nothing.
    NoChanges,
    /// The bundle is not something bca publishes.
    Refused(String),
}

pub fn import(git: &Git, paths: &Paths, base: &str, commit_message: &str) -> Result<Imported, RunError> {
    let bundle = paths.bundle();
    open_regular(&bundle)
        .map_err(|e| RunError::usage(format!("cannot read the agent's bundle {}: {e}", bundle.display())))?;
    let bundle_arg = bundle.display().to_string();
    let refspecs = [format!("+{AGENT_REF}:{IMPORTED_AGENT}"), format!("+{WORKTREE_REF}:{IMPORTED_WORKTREE}")];
    let heads = git.run(&["bundle", "list-heads", &bundle_arg])?;
    let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", bundle_arg.as_str()];
    for (spec, r) in refspecs.iter().zip([AGENT_REF, WORKTREE_REF]) {
        if heads.lines().any(|l| l.split_whitespace().nth(1) == Some(r)) {
            args.push(spec);
        }
    }
    if let Err(e) = git.run(&args) {
        // fsck refusing an object (a .git entry, a malformed tree) is the agent's doing.
        return Ok(Imported::Refused(format!("the agent's commits do not pass git's checks: {}", e.message)));
    }
    let resolve = |r: &str| -> Result<Option<String>, RunError> {
        if git.succeeds(&["rev-parse", "--verify", "--quiet", &format!("{r}^{{commit}}")])? {
            Ok(Some(git.run(&["rev-parse", &format!("{r}^{{commit}}")])?.trim().to_string()))
        } else {
            Ok(None)
        }
    };
    let Some(worktree) = resolve(IMPORTED_WORKTREE)? else {
        return Ok(Imported::Refused("the agent's bundle holds no work tree commit".into()));
    };
    let agent = resolve(IMPORTED_AGENT)?.unwrap_or_else(|| base.to_string());

    let chain = match first_parent_chain(git, base, &agent)? {
        Ok(chain) => chain,
        Err(reason) => return Ok(Imported::Refused(reason)),
    };
    let worktree_parents = git.run(&["rev-list", "--parents", "-n", "1", &worktree])?;
    let worktree_parents: Vec<&str> = worktree_parents.split_whitespace().skip(1).collect();
    let uncommitted = worktree != agent;
    if uncommitted && worktree_parents != [agent.as_str()] {
        return Ok(Imported::Refused("the work tree commit does not sit on the agent's HEAD".into()));
    }

    let mut steps: Vec<String> = chain.clone();
    if uncommitted {
        steps.push(worktree.clone());
    }
    // git's own path checks, whatever git version fetched the bundle (fsck of bundles
    // came only in git 2.46): every tree must load into an index with them on. Each step
    // of the agent's history is checked, though only the last tree is published.
    let checker = git.clone().index(&paths.state.join("verify-index"));
    let tree_of = |c: &str| git.run(&["rev-parse", &format!("{c}^{{tree}}")]).map(|t| t.trim().to_string());
    let mut previous = base.to_string();
    let mut tree = tree_of(base)?;
    for commit in &steps {
        tree = tree_of(commit)?;
        if let Some(reason) = forbidden_change(git, &previous, &tree)? {
            return Ok(Imported::Refused(reason));
        }
        if let Err(e) = checker.run(&["-c", "core.protectNTFS=true", "-c", "core.protectHFS=true", "read-tree", &tree])
        {
            return Ok(Imported::Refused(format!("commit {commit} holds a path git refuses: {}", e.message)));
        }
        previous = commit.clone();
    }
    if tree == tree_of(base)? {
        return Ok(Imported::NoChanges);
    }
    let tip = git
        .run_with_input(&["commit-tree", &tree, "-p", base, "-F", "-"], Some(commit_message.as_bytes()))?
        .trim()
        .to_string();
    Ok(Imported::Commit { tip, agent_commits: chain.len() })
}

/// The agent's commits from the base's child to its HEAD, oldest first, following
/// first parents; refused unless that chain starts at the base.
fn first_parent_chain(git: &Git, base: &str, agent: &str) -> Result<Result<Vec<String>, String>, RunError> {
    if agent == base {
        return Ok(Ok(Vec::new()));
    }
    let not_descended = || {
        format!("the agent's history does not descend from the base commit {base}; bca publishes only work on the base")
    };
    if !git.succeeds(&["merge-base", "--is-ancestor", base, agent])? {
        return Ok(Err(not_descended()));
    }
    let limit = format!("--max-count={}", MAX_AGENT_COMMITS + 1);
    let list = git.run(&["rev-list", "--first-parent", "--reverse", &limit, agent, &format!("^{base}")])?;
    let chain: Vec<String> = list.lines().map(str::to_string).collect();
    if chain.len() > MAX_AGENT_COMMITS {
        return Ok(Err(format!("the agent made more than {MAX_AGENT_COMMITS} commits")));
    }
    let first = chain.first().map(String::as_str).unwrap_or(agent);
    let parents = git.run(&["rev-list", "--parents", "-n", "1", first])?;
    if parents.split_whitespace().nth(1) != Some(base) {
        return Ok(Err(not_descended()));
    }
    Ok(Ok(chain))
}

/// Why a change from `parent` to `tree` is not published, if it is not: it adds or
/// changes a gitlink (a submodule commit), or a path with a `.git` component.
fn forbidden_change(git: &Git, parent: &str, tree: &str) -> Result<Option<String>, RunError> {
    let diff = git.run(&["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, tree])?;
    let mut fields = diff.split('\0');
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let path = fields.next().unwrap_or("");
        let new_mode = meta.trim_start_matches(':').split(' ').nth(1).unwrap_or("");
        if new_mode == "160000" {
            return Ok(Some(format!(
                "{path} is a gitlink (a submodule commit); bca publishes files, not repositories"
            )));
        }
        if path.split('/').any(is_dot_git) {
            return Ok(Some(format!("{path} is inside a .git directory")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_dot_git_is_caught() {
        for part in [".git", ".GIT", ".Git. ", ".git...", "GIT~1", "git~1"] {
            assert!(is_dot_git(part), "{part}");
        }
        for part in [".gitignore", ".github", "git", ".git2", "GIT~2"] {
            assert!(!is_dot_git(part), "{part}");
        }
    }
}

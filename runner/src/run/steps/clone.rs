//! The clone step: the runner's own git directory, and the agent's copy of it.

use super::fork::unchanged;
use super::{github_token, Run};
use crate::run::git::Git;
use crate::run::paths::Paths;
use crate::run::state;
use crate::run::{log, RunError};

/// Clones the upstream base branch at its current head (shallow) into the runner's own
/// git directory, with the fork as the push remote, then gives the agent a work tree
/// with a `.git` of its own, copied from it. Nothing the agent does to its copy
/// reaches the runner's.
pub fn clone(paths: &Paths, run: &Run) -> Result<(), RunError> {
    let contract = &run.contract;
    let token = github_token(paths)?;
    let fork = state::read_fork(paths)?;
    crate::run::clock::hand_on(paths)?;
    // A reused workspace (`bca-runner run` twice) must not keep an earlier run's verdict,
    // round prompt or merge.
    for leftover in [paths.skip_agent(), paths.round_prompt(), paths.merge_parent()] {
        if std::fs::symlink_metadata(&leftover).is_ok() {
            std::fs::remove_file(&leftover)
                .map_err(|e| RunError::usage(format!("cannot clear {}: {e}", leftover.display())))?;
        }
    }
    if let Some(why) = unchanged(paths, contract)? {
        log::info("clone", &format!("nothing to clone: {why}"));
        return std::fs::create_dir_all(&paths.workspace)
            .and_then(|()| std::fs::write(paths.skip_agent(), format!("{why}\n")))
            .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.skip_agent().display())));
    }
    let endpoint = &run.endpoint;
    // Checked again: the state is the fork step's, but the URLs came from GitHub.
    endpoint.check_git_url(&fork.upstream_clone_url)?;
    endpoint.check_git_url(&fork.clone_url)?;
    let git_dir = paths.git_dir();
    let repo = paths.repo();
    for dir in [&git_dir, &repo] {
        // A retried step on a laptop reuses its directories: start from a clean clone.
        if std::fs::symlink_metadata(dir).is_ok() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| RunError::usage(format!("cannot clear {}: {e}", dir.display())))?;
        }
    }
    let git = Git::with_token(&token, &endpoint.git)?;
    let git_dir_arg = git_dir.display().to_string();
    let cloned = git.run(&[
        "clone",
        "--quiet",
        "--bare",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--branch",
        &contract.base_branch,
        "--",
        &fork.upstream_clone_url,
        &git_dir_arg,
    ]);
    if let Err(e) = cloned {
        if e.message.contains("not found in upstream") || e.message.contains("Remote branch") {
            return Err(RunError::permanent(format!(
                "the base branch {} does not exist in {}: fix spec.branch in the Change",
                contract.base_branch, contract.repository
            )));
        }
        return Err(e);
    }
    let runner_git = Git::with_token(&token, &endpoint.git)?.git_dir(&git_dir);
    runner_git.run(&["remote", "add", "fork", "--", &fork.clone_url])?;
    let mut head = runner_git.run(&["rev-parse", "HEAD"])?.trim().to_string();
    // A follow-up round builds on the pull request as it is, people's commits included.
    let mut branch = contract.base_branch.clone();
    let round = follow_up_round(paths, contract)?;
    if let Some(round) = &round {
        let refspec = format!("+refs/heads/{0}:refs/heads/{0}", contract.head_branch);
        if round.merges_base() {
            // A merge needs the history both sides share.
            runner_git.run(&["fetch", "--quiet", "--no-tags", "--unshallow", "origin"])?;
            runner_git.run(&["fetch", "--quiet", "--no-tags", "fork", &refspec])?;
        } else {
            runner_git.run(&["fetch", "--quiet", "--no-tags", "--depth", "1", "fork", &refspec])?;
        }
        head = runner_git.run(&["rev-parse", &format!("refs/heads/{}", contract.head_branch)])?.trim().to_string();
        if head != round.head {
            return Err(RunError::retryable(format!(
                "{} moved to {head} since the round began at {}: the next round looks again",
                contract.head_branch, round.head
            )));
        }
        branch = contract.head_branch.clone();
    }
    state::write_base(paths, &head)?;

    // The agent's copy: a local clone of the runner's git directory (no token, no
    // network), then its remote removed so it names nothing of the runner's.
    let repo_arg = repo.display().to_string();
    Git::local().allow_files().run(&[
        "clone",
        "--quiet",
        "--no-local",
        "--branch",
        &branch,
        "--",
        &git_dir_arg,
        &repo_arg,
    ])?;
    if let Some(round) = &round {
        let mut prompt = round.prompt(&contract.prompt);
        if round.merges_base() {
            // Before the agent runs: the agent's repository is still only the runner's clone.
            let tip =
                runner_git.run(&["rev-parse", &format!("refs/heads/{}", contract.base_branch)])?.trim().to_string();
            let agent_git = Git::local().git_dir(&repo.join(".git")).work_tree(&repo);
            // Without the tree's own attributes (`merge=union` would hide a conflict).
            let merged = agent_git.run(&[
                "-c",
                "attr.tree=4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "merge",
                "--quiet",
                "--no-ff",
                "--no-commit",
                &format!("origin/{}", contract.base_branch),
            ]);
            let conflicted = agent_git.run(&["diff", "--name-only", "--diff-filter=U"])?;
            let conflicted: Vec<&str> = conflicted.lines().filter(|l| !l.is_empty()).collect();
            if merged.is_err() && conflicted.is_empty() {
                return Err(RunError::retryable(format!(
                    "git could not merge {} into {}",
                    contract.base_branch, contract.head_branch
                )));
            }
            state::write_merge_parent(paths, &tip)?;
            prompt.push_str(&format!(
                "\nThe files with conflict markers: {}.\n",
                if conflicted.is_empty() { "none (the merge went through)".to_string() } else { conflicted.join(", ") }
            ));
            log::info(
                "clone",
                &format!("merged {} ({tip}) in: {} file(s) in conflict", contract.base_branch, conflicted.len()),
            );
        }
        std::fs::write(paths.round_prompt(), prompt)
            .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.round_prompt().display())))?;
    }
    Git::local().git_dir(&repo.join(".git")).run(&["remote", "remove", "origin"])?;
    log::info("clone", &format!("cloned {} at {branch} ({head})", contract.repository));
    Ok(())
}

/// The follow-up round to run, in a follow-up run.
fn follow_up_round(
    paths: &Paths,
    contract: &crate::RunContract,
) -> Result<Option<crate::run::followup::Round>, RunError> {
    if contract.follow_up.is_none() {
        return Ok(None);
    }
    Ok(match state::read_round(paths)? {
        state::RoundState::Run(round) => Some(round),
        state::RoundState::Skip(_) => None,
    })
}

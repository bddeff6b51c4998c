//! The verify step: `spec.verify`'s checks, in a container of their own after the
//! agent's has exited, so no agent process is alive beside them or after them. It runs
//! no agent and holds no token. The checks run on a copy of exactly the tree that would
//! be published (its bytes as git stores them, no ignored files); they run code the
//! agent wrote, so this step ends every process they started before it writes the
//! verdict, in a directory only it can write. The verdict names the tree the checks ran
//! on, and collect takes a verdict as passed only for the tree it publishes.

use super::Run;
use crate::run::paths::Paths;
use crate::run::verify::{self, Verification};
use crate::run::worktree::{self, Snapshot};
use crate::run::{clock, log, RunError};

/// Runs the checks on the agent's work tree and leaves the verdict.
pub fn verify(paths: &Paths, run: &Run, attempt: u32) -> Result<(), RunError> {
    let contract = &run.contract;
    let Some(spec) = &contract.verify else {
        log::info("verify", "the Change has no spec.verify: nothing to check");
        return Ok(());
    };
    if std::fs::symlink_metadata(paths.skip_agent()).is_ok() {
        log::info("verify", "the agent did not run: nothing to check");
        return Ok(());
    }
    let attempts = verify::attempts(contract, attempt)?;
    if attempt > 1 {
        if let Err(why) = verify::next_attempt(paths, attempt) {
            log::info("verify", &format!("attempt {attempt} did not run: {why}"));
            return Ok(());
        }
    }
    let repo = paths.repo();
    let budget = clock::agent_budget(paths, contract.pod_deadline)?;
    // The runner's own scratch, made anew in this container's TMPDIR; each check gets a
    // fresh directory of its own beside it.
    let scratch = verify::fresh_dir()?;
    let verification = match worktree::snapshot(&repo, &scratch.0.join("before"), None)? {
        Err(reason) => Verification::failed(attempt, format!("the work tree cannot be checked: {reason}")),
        Ok((git, before)) => match worktree::materialize(&git, &before.tree, &paths.checked())? {
            Err(reason) => Verification::failed(attempt, format!("the work tree cannot be checked: {reason}")),
            Ok(()) => {
                // On exactly what would be published: the tree's bytes, without the
                // agent's ignored files (a stale build, a patched node_modules).
                let checks = verify::run_checks(spec, &paths.checked(), budget.as_ref())?;
                // Nothing the checks started may run on, or be running while the verdict
                // is written: in the pod this step is PID 1 of its container.
                match crate::process::end_every_other_process() {
                    Ok(true) => log::info("verify", "ended every process the checks left running"),
                    Ok(false) => {}
                    Err(n) => {
                        return Err(RunError::permanent(format!(
                            "{n} process(es) the checks started could not be ended: no verdict is written"
                        )))
                    }
                }
                let failed = checks.iter().any(|c| !c.passed);
                let mut reason = changed_by_checks(&repo, &scratch.0, &before)?;
                // Another attempt with next to no time left would be stopped at once, and
                // the work of this one lost with it.
                let left = budget.as_ref().map(clock::Budget::remaining).filter(|r| *r < clock::ENOUGH_FOR_AN_ATTEMPT);
                if let (None, Some(left), true) = (&reason, left, failed && attempt < attempts) {
                    reason = Some(format!(
                        "no time for attempt {} of {attempts}: {}s of the agent's share of the pod's deadline were \
                         left",
                        attempt + 1,
                        left.as_secs()
                    ));
                }
                let passed = !failed && reason.is_none();
                Verification { passed, attempts: attempt, checks, reason, tree: Some(before.tree) }
            }
        },
    };
    // What the checks wrote goes before the verdict is written, which is the step's last act.
    let _ = std::fs::remove_dir_all(paths.checked());
    drop(scratch);
    let json = serde_json::to_string(&verification).expect("a verification serialises");
    write_new(&paths.verdict_of_checks(), &json)?;
    log::info(
        "verify",
        &match (&verification.reason, verification.passed) {
            (_, true) => format!("passed on attempt {attempt}"),
            (Some(reason), false) => format!("failed on attempt {attempt}: {reason}"),
            (None, false) => format!("failed on attempt {attempt}"),
        },
    );
    Ok(())
}

/// Why the agent's work tree changed while the checks ran, if it did: they run on a
/// copy, so a change there is a check reaching out of it, and what would be published is
/// no longer what was checked.
fn changed_by_checks(
    repo: &std::path::Path,
    scratch: &std::path::Path,
    before: &Snapshot,
) -> Result<Option<String>, RunError> {
    let before_git = scratch.join("before").join("git");
    let (git, after) = match worktree::snapshot(repo, &scratch.join("after"), Some(&before_git))? {
        Ok(taken) => taken,
        Err(reason) => return Ok(Some(format!("after the checks, {reason}"))),
    };
    if after.tree == before.tree {
        return Ok(None);
    }
    let changed =
        git.run(&["diff", "--name-only", "-z", "--no-renames", &before.tree, &after.tree]).unwrap_or_default();
    let changed: Vec<&str> = changed.split('\0').filter(|p| !p.is_empty()).collect();
    let shown: Vec<String> = changed.iter().take(20).map(|p| crate::run::collect::defuse_line(p)).collect();
    let more = if changed.len() > 20 { format!(" and {} more", changed.len() - 20) } else { String::new() };
    Ok(Some(format!(
        "the checks changed the work tree bca publishes, outside the copy they ran on: {}{more}",
        shown.join(", ")
    )))
}

/// Writes `path` anew: what was there (a file, a FIFO, a link the checks left) is
/// removed, and the new file is created, never opened through a link.
fn write_new(path: &std::path::Path, text: &str) -> Result<(), RunError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| RunError::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", path.display())))
}

//! The agent step: the context, the agent, and the verification loop.

use super::Run;
use crate::run::paths::Paths;
use crate::run::secrets;
use crate::run::verify::{self, Verification};
use crate::run::{agents, clock, context, log, RunError};

/// Fetches the context and runs the agent on the prompt in its work tree.
pub fn agent(paths: &Paths, run: &Run) -> Result<(), RunError> {
    let contract = &run.contract;
    if std::fs::symlink_metadata(paths.skip_agent()).is_ok() {
        log::info("agent", "the pull request already holds this work: not running the agent");
        return Ok(());
    }
    let token = secrets::read(&paths.secrets, contract.agent.secret_key())?;
    let repo = paths.repo();
    if !std::fs::symlink_metadata(repo.join(".git")).is_ok_and(|m| m.is_dir()) {
        return Err(RunError::usage(format!("no clone at {}: run the clone step first", repo.display())));
    }
    // Read before any agent process exists: nothing the agent does can move it.
    let budget = clock::agent_budget(paths, contract.pod_deadline)?;
    if let Some(budget) = &budget {
        log::info(
            "agent",
            &format!(
                "the agent and its checks may run {}s of the pod's {}s",
                budget.share.as_secs(),
                budget.deadline.as_secs()
            ),
        );
    }
    let mut prompt = contract.prompt.clone();
    // The context directory always exists: the agent leaves its summary there.
    let context = context::fetch(&paths.context(), contract.agentsmd.as_deref(), &contract.resources)?;
    prompt.push_str(&context.prompt_note());
    let context_dir = Some(context.dir.clone());
    let attempts = contract.verify.as_ref().map_or(1, |v| v.attempts.max(1));
    let mut this_prompt = prompt.clone();
    for attempt in 1..=attempts {
        log::info(
            "agent",
            &format!("running {} in {} (attempt {attempt} of {attempts})", contract.agent, repo.display()),
        );
        let transcript = agents::run(
            contract.agent,
            &agents::Invocation {
                prompt: &this_prompt,
                repo: &repo,
                context_dir: context_dir.as_deref(),
                quarantine: &paths.quarantine(),
                token: &token,
                settings: &contract.agent_settings,
                deadline: budget.as_ref().map(clock::Budget::remaining),
            },
        )?;
        log::info("agent", &format!("{} finished", contract.agent));
        // Nothing the agent started may run beside the checks or outlive them: in the
        // pod this step is PID 1 of its container and ends every other process.
        if crate::process::end_every_other_process() {
            log::info("agent", "ended every process the agent left running");
        }
        let _ =
            std::fs::write(paths.transcript(), serde_json::to_string(&transcript).expect("a transcript serialises"));
        let Some(verify) = &contract.verify else { break };
        let checks = verify::run_checks(verify, &repo, budget.as_ref())?;
        let failed = checks.iter().find(|c| !c.passed).cloned();
        // Another attempt with next to no time left would be stopped at once, and the
        // work of this one lost with it.
        let out_of_time = budget.as_ref().map(clock::Budget::remaining).filter(|r| *r < clock::ENOUGH_FOR_AN_ATTEMPT);
        let reason = match out_of_time {
            Some(left) if failed.is_some() && attempt < attempts => Some(format!(
                "no time for attempt {} of {attempts}: {}s of the agent's share of the pod's deadline were left",
                attempt + 1,
                left.as_secs()
            )),
            _ => None,
        };
        let done = failed.is_none() || attempt == attempts || reason.is_some();
        if done {
            let verification = Verification { passed: failed.is_none(), attempts: attempt, checks, reason };
            let json = serde_json::to_string(&verification).expect("a verification serialises");
            // Whatever the checks started is ended before the verdict exists, and the
            // verdict replaces whatever is at its path (a FIFO, a link) instead of
            // writing through it.
            crate::process::end_every_other_process();
            write_new(&paths.verification(), &json)?;
            log::info(
                "verify",
                &format!("{} after {attempt} attempt(s)", if verification.passed { "passed" } else { "failed" }),
            );
            break;
        }
        let failed = failed.expect("not done, so a check failed");
        log::info("verify", &format!("{} {}: giving the agent another try", failed.command, failed.failure()));
        this_prompt = verify::follow_up(&prompt, &failed);
    }
    // Only this step knows the agent's key: the summary is redacted of it here (collect
    // bounds and defuses it again, as data).
    // A long one is cut here already: whatever of it collect reads must be redacted.
    if let Ok((summary, _)) = crate::run::files::read_text_prefix(&context.summary(), 64 * 1024) {
        let _ = std::fs::remove_file(context.summary());
        let _ = std::fs::write(context.summary(), secrets::redact(&summary));
    }
    Ok(())
}

/// Writes `path` anew: what was there (a file, a FIFO, a link the agent left) is removed,
/// and the new file is created, never opened through a link.
fn write_new(path: &std::path::Path, text: &str) -> Result<(), RunError> {
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", path.display())))
}

//! The agent step: the context, and one run of the agent. With `spec.verify`, the pod
//! runs it once per attempt, each followed by the verify step; a later attempt runs
//! only when the checks of the one before failed, and is told what failed.

use super::Run;
use crate::run::paths::Paths;
use crate::run::secrets;
use crate::run::verify;
use crate::run::{agents, clock, context, log, RunError};

/// Fetches the context and runs the agent on the prompt in its work tree.
pub fn agent(paths: &Paths, run: &Run, attempt: u32) -> Result<(), RunError> {
    let contract = &run.contract;
    if std::fs::symlink_metadata(paths.skip_agent()).is_ok() {
        log::info("agent", "the pull request already holds this work: not running the agent");
        return Ok(());
    }
    let attempts = verify::attempts(contract, attempt)?;
    let failed = match attempt {
        1 => None,
        _ => match verify::next_attempt(paths, attempt) {
            Ok(failed) => Some(failed),
            Err(why) => {
                log::info("agent", &format!("not running attempt {attempt}: {why}"));
                return Ok(());
            }
        },
    };
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
    // A follow-up round's prompt: the task and what was said since, as clone wrote it.
    let mut prompt = match contract.follow_up {
        Some(_) => crate::run::files::read_text(&paths.round_prompt(), 256 * 1024)
            .map_err(|e| RunError::usage(format!("cannot read {}: {e}", paths.round_prompt().display())))?,
        None => contract.prompt.clone(),
    };
    // The context directory always exists: the agent leaves its summary there.
    let context = context::fetch(&paths.context(), contract.agentsmd.as_deref(), &contract.resources)?;
    prompt.push_str(&context.prompt_note());
    if let Some(failed) = &failed {
        log::info("agent", &format!("{} {}: giving the agent another try", failed.command, failed.failure()));
        prompt = verify::follow_up(&prompt, failed);
    }
    log::info("agent", &format!("running {} in {} (attempt {attempt} of {attempts})", contract.agent, repo.display()));
    let transcript = agents::run(
        contract.agent,
        &agents::Invocation {
            prompt: &prompt,
            repo: &repo,
            context_dir: Some(&context.dir),
            quarantine: &paths.quarantine(),
            token: &token,
            settings: &contract.agent_settings,
            deadline: budget.as_ref().map(clock::Budget::remaining),
        },
    )?;
    log::info("agent", &format!("{} finished", contract.agent));
    // In the pod this step is PID 1 of its container, which ends every process the
    // agent left when it exits; ending them here also keeps them from the files below.
    match crate::process::end_every_other_process() {
        Ok(true) => log::info("agent", "ended every process the agent left running"),
        Ok(false) => {}
        // The container's end takes them with it; nothing below is trusted by anyone.
        Err(n) => log::info("agent", &format!("{n} process(es) the agent left survived being ended")),
    }
    let _ = std::fs::write(paths.transcript(), serde_json::to_string(&transcript).expect("a transcript serialises"));
    // Only this step knows the agent's key: the summary is redacted of it here (collect
    // bounds and defuses it again, as data).
    // A long one is cut here already: whatever of it collect reads must be redacted.
    if let Ok((summary, _)) = crate::run::files::read_text_prefix(&context.summary(), 64 * 1024) {
        let _ = std::fs::remove_file(context.summary());
        let _ = std::fs::write(context.summary(), secrets::redact(&summary));
    }
    Ok(())
}

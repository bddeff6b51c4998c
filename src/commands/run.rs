//! `bca run --local`: a Change's Jobs, run on this machine one repository after another
//! through the same rendered manifests a cluster would get.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use bca_runner::{Agent, Repository};

use super::{check_repo_filters, render_files, Outcome, Style, EXIT_INVALID};
use crate::local::{find_program, hide_tokens, run_job};
use crate::render::{secret, ChangeJob, Manifest, RenderError, RenderOptions, Scope, SecretSource};

pub struct RunRequest {
    pub files: Vec<PathBuf>,
    pub options: RenderOptions,
    /// Run only these repositories (`owner/name`, `host/owner/name` or the URL); all
    /// when empty.
    pub only: Vec<String>,
    /// Run without a PID namespace per step where none can be had.
    pub unisolated: bool,
    /// Run one follow-up round (the Change's CronJob's Job) instead of the first run.
    pub follow_up: bool,
}

/// The agent CLI versions bca is tested with, for the install hint.
const AGENT_CLIS: &str = include_str!("../../tools/agent-clis/package.json");

fn install_hint(agent: Agent) -> String {
    let package = agent.npm_package();
    let version = serde_json::from_str::<serde_json::Value>(AGENT_CLIS)
        .ok()
        .and_then(|v| v["dependencies"][package].as_str().map(str::to_string))
        .unwrap_or_else(|| "latest".into());
    format!("{} ({agent}): npm install -g {package}@{version}", agent.program())
}

/// Runs the Jobs, writing progress to `progress` as it goes (a run takes minutes); the
/// outcome holds each repository's result line.
pub fn run_local(
    request: &RunRequest,
    env: &dyn Fn(&str) -> Option<String>,
    style: Style,
    progress: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let options = RenderOptions { secret: SecretSource::Existing, scope: Scope::Change, ..request.options.clone() };
    let started = Instant::now();
    let (changes, rendered) = render_files(&request.files, &options, env, style)?;
    let render_time = started.elapsed();
    let jobs: Vec<&ChangeJob> = if request.follow_up {
        let rounds: Vec<&ChangeJob> = rendered.manifests.iter().filter_map(Manifest::follow_up_round).collect();
        if rounds.is_empty() {
            bail!("--follow-up runs a Change's follow-up round, and none of these Changes has spec.followUp");
        }
        rounds
    } else {
        rendered.manifests.iter().filter_map(Manifest::job).collect()
    };
    // Each run: a Job, and for an Indexed Job the completion index (one per repository).
    let mut runs: Vec<(&ChangeJob, Option<usize>, &Repository)> = Vec::new();
    for job in &jobs {
        for (i, repository) in job.repositories.iter().enumerate() {
            runs.push((job, job.indexed.then_some(i), repository));
        }
    }
    check_repo_filters(&request.only, runs.iter().map(|(_, _, repo)| *repo))?;
    if !request.only.is_empty() {
        runs.retain(|(_, _, repo)| request.only.iter().any(|f| repo.is_named_by(f)));
    }
    let mut agents: Vec<Agent> = changes.iter().map(|(_, c)| c.spec.agent).collect();
    agents.sort();
    agents.dedup();

    // Everything missing is named at once.
    let path = env("PATH");
    let here = std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from));
    let runner = find_program("bca-runner", here.as_deref(), path.as_deref());
    let mut missing = Vec::new();
    if runner.is_none() {
        missing.push("bca-runner (built with bca: cargo install --path runner, or put it beside bca)".to_string());
    }
    if find_program("git", None, path.as_deref()).is_none() {
        missing.push("git".to_string());
    }
    for agent in &agents {
        if find_program(agent.program(), None, path.as_deref()).is_none() {
            missing.push(install_hint(*agent));
        }
    }
    if !missing.is_empty() {
        bail!("bca run --local needs these on PATH:\n  {}", missing.join("\n  "));
    }
    let isolate = crate::local::isolation(path.as_deref());
    if isolate.is_none() && !request.unisolated {
        bail!(
            "bca run --local runs each step in a PID namespace of its own (unshare, util-linux), so nothing the \
             agent starts outlives its step and reads the GitHub token; this machine cannot (no unshare, or no \
             unprivileged user namespaces). Run it in a VM or container, or pass \
             --allow-agent-processes-to-outlive-steps to accept that risk"
        );
    }
    let runner = runner.expect("checked above");
    let credentials = match secret::secret_from_env("local", "local", &agents, env) {
        Ok(secret) => secret,
        Err(RenderError::MissingTokens { missing }) => {
            bail!("bca run --local needs {} in the environment (they are empty or unset)", missing.join(", "))
        }
        Err(e) => return Err(e.into()),
    };
    let secret_data = credentials.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    hide_tokens(&secret::token_vars(&agents));

    for warning in &rendered.warnings {
        write!(progress, "{}", style.warning(warning))?;
    }
    if !bca_runner::process::HARDENED {
        let warning = "on this system bca cannot make itself unreadable to the agent's processes (that needs Linux): \
                       the agent, which runs as you, could read the tokens from bca's memory";
        write!(progress, "{}", style.warning(warning))?;
    }
    writeln!(progress, "bca: rendered {} Job(s) in {render_time:.2?}", jobs.len())?;
    if isolate.is_none() {
        let warning = "each step runs without a PID namespace of its own: a process the agent leaves running may \
                       outlive its step (--allow-agent-processes-to-outlive-steps)";
        write!(progress, "{}", style.warning(warning))?;
    }
    // Ctrl-C ends the steps; bca itself goes on to remove the key files and directories.
    bca_runner::process::survive_interrupts();
    let mut outcome = Outcome::default();
    let mut failed = 0;
    for (job, index, repository) in runs {
        if bca_runner::process::interrupted() {
            outcome.stderr.push_str("bca: interrupted: the remaining repositories did not run\n");
            outcome.code = EXIT_INVALID;
            break;
        }
        let name = job.job.metadata.name.as_deref().unwrap_or_default();
        match index {
            Some(i) => writeln!(progress, "bca: running Job {name} index {i} for {repository}")?,
            None => writeln!(progress, "bca: running Job {name} for {repository}")?,
        }
        let run = run_job(&job.job, index, &runner, isolate.as_deref(), &secret_data, env)?;
        let times: Vec<String> = run.containers.iter().map(|s| format!("{} {:.2?}", s.name, s.duration)).collect();
        writeln!(progress, "bca: {repository}: {}", times.join(", "))?;
        if run.succeeded {
            outcome.stdout.push_str(&run.message);
            outcome.stdout.push('\n');
        } else {
            failed += 1;
            let (step, code) = run.containers.last().map(|s| (s.name.as_str(), s.exit_code)).unwrap_or_default();
            let code = code.map_or("signal".to_string(), |c| c.to_string());
            writeln!(progress, "bca: {repository}: step {step} failed (exit {code}): {}", run.message)?;
        }
    }
    if failed > 0 {
        outcome.code = EXIT_INVALID;
        outcome.stderr.push_str(&format!("bca: {failed} Job(s) failed\n"));
    }
    Ok(outcome)
}

//! How each agent CLI is run headless: its command line, and the environment it gets
//! (its own token and nothing that can push). Flags checked against the real CLIs:
//! `@github/copilot` 1.0.102 and `@google/gemini-cli` 0.61.0 (see tests/agent_clis.rs).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use super::quarantine;
use super::secrets::Secret;
use super::{copy_env, log, RunError, BASE_ENV};
use crate::Agent;

/// The variable the agent CLI reads its token from.
pub fn token_var(agent: Agent) -> &'static str {
    match agent {
        // Copilot CLI reads COPILOT_GITHUB_TOKEN first, then GH_TOKEN, then GITHUB_TOKEN;
        // only the first is ever set, to the Copilot token.
        Agent::CopilotCli => "COPILOT_GITHUB_TOKEN",
        Agent::GeminiCli => "GEMINI_API_KEY",
    }
}

/// The program and its arguments. The prompt is one argument, never shell text.
pub fn command_line(agent: Agent, prompt: &str, context_dir: Option<&Path>) -> (String, Vec<String>) {
    let mut args: Vec<String>;
    match agent {
        Agent::CopilotCli => {
            args = vec!["-p".into(), prompt.into(), "--allow-all-tools".into(), "--no-auto-update".into()];
            if let Some(dir) = context_dir {
                args.extend(["--add-dir".into(), dir.display().to_string()]);
            }
            (agent.program().into(), args)
        }
        Agent::GeminiCli => {
            // A fresh clone is never a trusted folder: without --skip-trust, headless
            // mode drops --yolo and exits 55.
            args = vec!["-p".into(), prompt.into(), "--yolo".into(), "--skip-trust".into()];
            if let Some(dir) = context_dir {
                args.extend(["--include-directories".into(), dir.display().to_string()]);
            }
            (agent.program().into(), args)
        }
    }
}

/// Gemini CLI picks a "gateway" auth type when GOOGLE_GEMINI_BASE_URL is set and then
/// refuses to start ("Invalid auth method selected") unless its settings select the API
/// key. HOME is the pod's fresh emptyDir; an existing settings file (a laptop) is left
/// alone.
fn prepare(agent: Agent, custom_endpoint: bool) -> Result<(), RunError> {
    if agent != Agent::GeminiCli || !custom_endpoint {
        return Ok(());
    }
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(());
    };
    let settings = Path::new(&home).join(".gemini/settings.json");
    if settings.exists() {
        log::info("agent", &format!("GOOGLE_GEMINI_BASE_URL is set; keeping the existing {}", settings.display()));
        return Ok(());
    }
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(settings.parent().expect("has a parent"))?;
        std::fs::write(&settings, "{\"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}}}\n")
    };
    write().map_err(|e| RunError::usage(format!("cannot write {}: {e}", settings.display())))
}

/// What one agent run needs besides the agent.
pub struct Invocation<'a> {
    pub prompt: &'a str,
    pub repo: &'a Path,
    pub context_dir: Option<&'a Path>,
    /// Where repository files that would run code at the agent's startup are kept meanwhile.
    pub quarantine: &'a Path,
    pub token: &'a Secret,
    pub settings: &'a BTreeMap<String, String>,
}

/// Runs the agent in the work tree, with the repository's startup configuration kept
/// away from it, and streams its output to the log.
pub fn run(agent: Agent, run: &Invocation) -> Result<(), RunError> {
    let kept = quarantine::isolate(run.repo, agent.startup_config_files(), run.quarantine)?;
    let result = run_cli(agent, run);
    kept.restore()?;
    result
}

fn run_cli(agent: Agent, run: &Invocation) -> Result<(), RunError> {
    let Invocation { prompt, repo, context_dir, token, settings, .. } = *run;
    if let Some(name) = settings.keys().find(|k| !agent.endpoint_settings().contains(&k.as_str())) {
        return Err(RunError::usage(format!(
            "the run contract sets {name} for {agent}, which takes only {}",
            agent.endpoint_settings().join(", ")
        )));
    }
    let setting = |name: &str| settings.get(name).cloned().or_else(|| std::env::var(name).ok());
    prepare(agent, setting("GOOGLE_GEMINI_BASE_URL").is_some())?;
    let (program, args) = command_line(agent, prompt, context_dir);
    let mut cmd = Command::new(&program);
    cmd.args(&args).current_dir(repo).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    copy_env(&mut cmd, &BASE_ENV);
    copy_env(&mut cmd, &["TERM", "NODE_EXTRA_CA_CERTS"]);
    copy_env(&mut cmd, &agent.passthrough_vars());
    cmd.envs(settings);
    cmd.env(token_var(agent), token.expose());
    // Against a self-hosted endpoint, the agent's secret key holds that endpoint's API key.
    if let Some(key_var) = agent.endpoint_key_var() {
        if setting("COPILOT_PROVIDER_BASE_URL").is_some() && std::env::var_os(key_var).is_none() {
            cmd.env(key_var, token.expose());
        }
    }
    if agent == Agent::GeminiCli {
        cmd.env("GEMINI_CLI_TRUST_WORKSPACE", "true");
    }
    // Its own process group, so whatever it leaves running is stopped with it (and
    // cannot hold the log pipes open forever).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| RunError::usage(format!("cannot start {program} ({agent}): {e}; is it installed and on PATH?")))?;
    let out = log::stream(program.clone(), child.stdout.take().expect("piped"));
    let err = log::stream(program.clone(), child.stderr.take().expect("piped"));
    let status = child.wait().map_err(|e| RunError::retryable(format!("waiting for {program}: {e}")))?;
    if let Ok(group) = i32::try_from(child.id()) {
        // SAFETY: a plain signal to the process group this runner made for the agent.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
    let _ = out.join();
    let _ = err.join();
    if status.success() {
        Ok(())
    } else {
        Err(RunError::retryable(format!(
            "{program} ({agent}) failed ({status}); its output is above. Nothing was committed or pushed"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_is_one_argument() {
        let prompt = "a \"b\" $(c) `d`\n'e'";
        for agent in Agent::ALL {
            let (_, args) = command_line(agent, prompt, None);
            assert_eq!(args[0], "-p");
            assert_eq!(args[1], prompt);
        }
    }
}

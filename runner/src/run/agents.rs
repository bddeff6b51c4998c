//! How each agent CLI is run headless: its command line, and the environment it gets
//! (its own token and nothing that can push). Flags checked against the real CLIs:
//! `@github/copilot` 1.0.102, `@google/gemini-cli` 0.61.0, `@anthropic-ai/claude-code`
//! 2.1.332 and `@openai/codex` 0.171.0 (see tests/agent_clis.rs and tests/e2e.rs).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use super::quarantine;
use super::secrets::Secret;
use super::transcript::Transcript;
use super::{copy_env, log, RunError, BASE_ENV};
use crate::Agent;

/// The variable the agent CLI reads its token from.
pub fn cli_token_var(agent: Agent) -> &'static str {
    match agent {
        // Copilot CLI reads COPILOT_GITHUB_TOKEN first, then GH_TOKEN, then GITHUB_TOKEN;
        // only the first is ever set, to the Copilot token.
        Agent::CopilotCli => "COPILOT_GITHUB_TOKEN",
        Agent::GeminiCli => "GEMINI_API_KEY",
        Agent::ClaudeCode => "ANTHROPIC_API_KEY",
        // The custom model provider's env_key names it too.
        Agent::CodexCli => "OPENAI_API_KEY",
    }
}

/// Gemini's API, set explicitly so a repository's `.gemini/.env` cannot set another
/// (a variable already in the environment is not overridden).
pub const GEMINI_DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// The model provider the runner defines for Codex CLI from OPENAI_BASE_URL.
const CODEX_PROVIDER: &str = "bca";

/// A TOML string, for Codex CLI's `-c key=value`.
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The program and its arguments. The prompt is one argument, never shell text.
/// `setting` gives the agent's model endpoint settings.
pub fn command_line(
    agent: Agent,
    prompt: &str,
    context_dir: Option<&Path>,
    setting: &dyn Fn(&str) -> Option<String>,
) -> (String, Vec<String>) {
    let mut args: Vec<String>;
    match agent {
        Agent::ClaudeCode => {
            // --setting-sources user: no repository settings (hooks, apiKeyHelper, env,
            // MCP servers); acceptEdits with Bash allowed edits without a person to ask.
            args = ["-p", prompt, "--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
                .into_iter()
                .chain(["--setting-sources", "user", "--strict-mcp-config", "--no-session-persistence"])
                // A transcript to tell a blocked agent from one with nothing to do.
                .chain(["--output-format", "stream-json", "--verbose"])
                .map(str::to_string)
                .collect();
            if let Some(model) = setting("ANTHROPIC_MODEL") {
                args.extend(["--model".into(), model]);
            }
            if let Some(dir) = context_dir {
                args.extend(["--add-dir".into(), dir.display().to_string()]);
            }
            (agent.program().into(), args)
        }
        Agent::CodexCli => {
            // The pod is the sandbox: Codex's own needs user namespaces, and without
            // one it runs read-only and exits 0 having done nothing. Never --trust.
            args = ["exec", "--dangerously-bypass-approvals-and-sandbox", "--ephemeral", "--disable", "plugins"]
                .into_iter()
                .chain(["-c", "analytics.enabled=false", "--json"])
                .map(str::to_string)
                .collect();
            if let Some(base_url) = setting("OPENAI_BASE_URL") {
                for (key, value) in [
                    ("model_provider", toml_string(CODEX_PROVIDER)),
                    (&format!("model_providers.{CODEX_PROVIDER}.name"), toml_string(CODEX_PROVIDER)),
                    (&format!("model_providers.{CODEX_PROVIDER}.base_url"), toml_string(&base_url)),
                    (&format!("model_providers.{CODEX_PROVIDER}.env_key"), toml_string(cli_token_var(agent))),
                    (&format!("model_providers.{CODEX_PROVIDER}.wire_api"), toml_string("responses")),
                ] {
                    args.extend(["-c".into(), format!("{key}={value}")]);
                }
            }
            if let Some(model) = setting("OPENAI_MODEL") {
                args.extend(["-m".into(), model]);
            }
            if let Some(dir) = context_dir {
                args.extend(["--add-dir".into(), dir.display().to_string()]);
            }
            // After `--`, a prompt that starts with `-` is still the prompt.
            args.extend(["--".into(), prompt.into()]);
            (agent.program().into(), args)
        }
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

/// A directory that is removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir(what: &str) -> Result<TempDir, RunError> {
    let base = std::env::var_os("TMPDIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
    for n in 0..1000u32 {
        let dir = base.join(format!("bca-{what}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(TempDir(dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(RunError::usage(format!("cannot create {}: {e}", dir.display()))),
        }
    }
    Err(RunError::usage(format!("cannot create a {what} directory in {}", base.display())))
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
    /// How long the agent may run (what is left of its share of the pod's deadline), if
    /// bounded.
    pub deadline: Option<std::time::Duration>,
}

/// Runs the agent in the work tree, with the repository's startup configuration kept
/// away from it, and streams its output to the log.
pub fn run(agent: Agent, run: &Invocation) -> Result<Transcript, RunError> {
    let kept = quarantine::isolate(run.repo, agent.startup_config_files(), run.quarantine)?;
    let result = run_cli(agent, run);
    kept.restore()?;
    result
}

fn run_cli(agent: Agent, run: &Invocation) -> Result<Transcript, RunError> {
    let Invocation { prompt, repo, context_dir, token, settings, .. } = *run;
    if let Some(name) = settings.keys().find(|k| !agent.endpoint_settings().contains(&k.as_str())) {
        return Err(RunError::usage(format!(
            "the run contract sets {name} for {agent}, which takes only {}",
            agent.endpoint_settings().join(", ")
        )));
    }
    let setting = |name: &str| settings.get(name).cloned().or_else(|| std::env::var(name).ok());
    // Gemini CLI always gets its endpoint explicitly (so a repository's .gemini/.env
    // cannot set it), and with it the settings that select the API key.
    prepare(agent, agent == Agent::GeminiCli)?;
    let (program, args) = command_line(agent, prompt, context_dir, &setting);
    let mut cmd = Command::new(&program);
    cmd.args(&args).current_dir(repo).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    copy_env(&mut cmd, &BASE_ENV);
    copy_env(&mut cmd, &["TERM", "NODE_EXTRA_CA_CERTS"]);
    copy_env(&mut cmd, &agent.passthrough_vars());
    cmd.envs(settings);
    cmd.env(cli_token_var(agent), token.expose());
    // Against a self-hosted endpoint, the agent's secret key holds that endpoint's API key.
    if let Some(key_var) = agent.endpoint_key_var() {
        if setting("COPILOT_PROVIDER_BASE_URL").is_some() && std::env::var_os(key_var).is_none() {
            cmd.env(key_var, token.expose());
        }
    }
    let _codex_home = match agent {
        Agent::GeminiCli => {
            if setting("GOOGLE_GEMINI_BASE_URL").is_none() {
                cmd.env("GOOGLE_GEMINI_BASE_URL", GEMINI_DEFAULT_BASE_URL);
            }
            None
        }
        Agent::ClaudeCode => {
            // No calls beyond the model's API; errors retried a bounded number of times.
            cmd.env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1").env("CLAUDE_CODE_MAX_RETRIES", "2");
            None
        }
        Agent::CodexCli => {
            // A fresh, existing CODEX_HOME per run: no state or trust carried over.
            let home = tempfile_dir("codex-home")?;
            cmd.env("CODEX_HOME", &home.0);
            Some(home)
        }
        Agent::CopilotCli => None,
    };
    // Its own process group, so whatever it leaves running is stopped with it (and
    // cannot hold the log pipes open forever).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| RunError::usage(format!("cannot start {program} ({agent}): {e}; is it installed and on PATH?")))?;
    let transcript = std::sync::Arc::new(std::sync::Mutex::new(Transcript::default()));
    let seen = transcript.clone();
    let out = log::observe(program.clone(), child.stdout.take().expect("piped"), move |line| {
        seen.lock().unwrap_or_else(|e| e.into_inner()).observe(agent, line);
    });
    let err = log::stream(program.clone(), child.stderr.take().expect("piped"));
    // A CLI can wait forever (Codex retries a refused connection without end): the
    // agent gets its share of the pod's deadline, then its whole process group is
    // stopped, early enough for collect and publish to report it.
    let status = crate::process::wait_group(&mut child, run.deadline)
        .map_err(|e| RunError::retryable(format!("waiting for {program}: {e}")))?;
    let Some(status) = status else {
        let _ = (out.join(), err.join());
        // A retry would get the same share and most likely use it again.
        return Err(RunError::permanent(format!(
            "{program} ({agent}) was stopped after {}s, its share of the pod's deadline; nothing was committed or \
             pushed (raise spec.job.deadline or --deadline if it needs longer)",
            run.deadline.map_or(0, |d| d.as_secs())
        )));
    };
    let _ = out.join();
    let _ = err.join();
    if status.success() {
        let transcript = transcript.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(transcript)
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
            let (_, args) = command_line(agent, prompt, None, &|_| None);
            match agent {
                Agent::CodexCli => assert_eq!(args[args.len() - 2..], ["--", prompt]),
                _ => assert_eq!(args[..2], ["-p", prompt]),
            }
        }
    }
}

//! The agent CLIs bca knows how to run, and what each needs.

use serde::{Deserialize, Serialize};

/// The coding agent CLI that makes the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Agent {
    /// GitHub Copilot CLI (`@github/copilot`).
    #[serde(rename = "copilot-cli")]
    CopilotCli,
    /// Google Gemini CLI (`@google/gemini-cli`).
    #[serde(rename = "gemini-cli")]
    GeminiCli,
    /// Anthropic Claude Code (`@anthropic-ai/claude-code`).
    #[serde(rename = "claude-code")]
    ClaudeCode,
    /// OpenAI Codex CLI (`@openai/codex`).
    #[serde(rename = "codex-cli")]
    CodexCli,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Agent::CopilotCli, Agent::GeminiCli, Agent::ClaudeCode, Agent::CodexCli];

    /// The name used in Change files and the run contract.
    pub fn name(self) -> &'static str {
        match self {
            Agent::CopilotCli => "copilot-cli",
            Agent::GeminiCli => "gemini-cli",
            Agent::ClaudeCode => "claude-code",
            Agent::CodexCli => "codex-cli",
        }
    }

    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The agent CLI's executable.
    pub fn program(self) -> &'static str {
        match self {
            Agent::CopilotCli => "copilot",
            Agent::GeminiCli => "gemini",
            Agent::ClaudeCode => "claude",
            Agent::CodexCli => "codex",
        }
    }

    /// The npm package that provides the CLI (versions pinned in tools/agent-clis).
    pub fn npm_package(self) -> &'static str {
        match self {
            Agent::CopilotCli => "@github/copilot",
            Agent::GeminiCli => "@google/gemini-cli",
            Agent::ClaudeCode => "@anthropic-ai/claude-code",
            Agent::CodexCli => "@openai/codex",
        }
    }

    /// The key in the credentials Secret that holds this agent's token.
    pub fn secret_key(self) -> &'static str {
        match self {
            Agent::CopilotCli => crate::pod::SECRET_KEY_COPILOT_TOKEN,
            Agent::GeminiCli => crate::pod::SECRET_KEY_GEMINI_API_KEY,
            Agent::ClaudeCode => crate::pod::SECRET_KEY_ANTHROPIC_API_KEY,
            Agent::CodexCli => crate::pod::SECRET_KEY_OPENAI_API_KEY,
        }
    }

    /// The environment variable `bca render --secret-from-env` reads the agent's token from.
    pub fn token_source_var(self) -> &'static str {
        match self {
            Agent::CopilotCli => "COPILOT_TOKEN",
            Agent::GeminiCli => "GEMINI_API_KEY",
            Agent::ClaudeCode => "ANTHROPIC_API_KEY",
            Agent::CodexCli => "OPENAI_API_KEY",
        }
    }
}

impl Agent {
    /// Model endpoint settings the agent CLI reads that are not secret: they may come
    /// from the run contract (`bca render --agent-setting`) or the runner's environment.
    pub fn endpoint_settings(self) -> &'static [&'static str] {
        match self {
            Agent::CopilotCli => &[
                "COPILOT_MODEL",
                "COPILOT_OFFLINE",
                "COPILOT_PROVIDER_BASE_URL",
                "COPILOT_PROVIDER_TYPE",
                "COPILOT_PROVIDER_WIRE_API",
            ],
            Agent::GeminiCli => &["GEMINI_MODEL", "GOOGLE_GEMINI_BASE_URL"],
            Agent::ClaudeCode => &["ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL"],
            // Codex CLI ignores OPENAI_BASE_URL itself: the runner makes these a model provider.
            Agent::CodexCli => &["OPENAI_BASE_URL", "OPENAI_MODEL"],
        }
    }

    /// The variable holding the API key of a self-hosted model endpoint, when it is not
    /// the agent's token variable itself. Secret: never in the contract.
    pub fn endpoint_key_var(self) -> Option<&'static str> {
        match self {
            Agent::CopilotCli => Some("COPILOT_PROVIDER_API_KEY"),
            // Gemini CLI sends GEMINI_API_KEY to GOOGLE_GEMINI_BASE_URL, Claude Code its
            // key to ANTHROPIC_BASE_URL, Codex CLI its key to its provider: the agent's key.
            Agent::GeminiCli | Agent::ClaudeCode | Agent::CodexCli => None,
        }
    }

    /// Everything passed from the runner's environment to the agent when set, so the
    /// same path works against a real or a local endpoint.
    pub fn passthrough_vars(self) -> Vec<&'static str> {
        self.endpoint_settings().iter().copied().chain(self.endpoint_key_var()).collect()
    }
}

impl Agent {
    /// Gemini CLI's system settings, verified to win over a workspace's settings: no
    /// MCP servers, hooks or tool discovery. The runner image writes them to
    /// [`Agent::GEMINI_SYSTEM_SETTINGS_PATH`] (root-owned, as Gemini CLI requires).
    pub const GEMINI_SYSTEM_SETTINGS: &'static str = r#"{"mcp": {"allowed": ["__no_such_server__"], "serverCommand": ""}, "hooksConfig": {"enabled": false}, "tools": {"discoveryCommand": "", "callCommand": ""}}"#;
    pub const GEMINI_SYSTEM_SETTINGS_PATH: &'static str = "/etc/gemini-cli/settings.json";

    /// Repository files the agent CLI would act on at startup in headless mode (run MCP
    /// servers or hooks, or load variables that send its key to another server). The
    /// runner keeps them out of the work tree while the agent runs.
    pub fn startup_config_files(self) -> &'static [&'static str] {
        match self {
            // Copilot CLI 1.0.102 with -p --allow-all-tools runs none of these (verified),
            // unless the folder is trusted; they are kept away in case a version changes that.
            Agent::CopilotCli => &[".github/hooks", ".github/copilot/settings.json", ".mcp.json", ".github/mcp.json"],
            // Gemini CLI 0.61.0 loads a trusted workspace's settings (MCP servers, hooks,
            // tool discovery commands) and, trusted or not, the first .env it finds from
            // the working directory up (GOOGLE_GEMINI_BASE_URL there redirects the key).
            Agent::GeminiCli => &[".gemini/settings.json", ".gemini/.env", ".env"],
            // Claude Code with --setting-sources user reads none of these (verified); they
            // run hooks, an apiKeyHelper and MCP servers, and set env, in other modes.
            Agent::ClaudeCode => &[".claude/settings.json", ".claude/settings.local.json", ".mcp.json"],
            // Codex CLI ignores an untrusted project's .codex (verified); never trusted here.
            Agent::CodexCli => &[".codex/config.toml", ".codex/hooks.json"],
        }
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for agent in Agent::ALL {
            let json = serde_json::to_string(&agent).unwrap();
            assert_eq!(json, format!("\"{}\"", agent.name()));
            assert_eq!(Agent::from_name(agent.name()), Some(agent));
        }
        assert_eq!(Agent::from_name("copilot"), None);
    }
}

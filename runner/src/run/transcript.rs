//! What an agent's transcript says about its tool calls, for agents that can print one
//! as JSON lines (Claude Code `--output-format stream-json`, Codex CLI `--json`). Every
//! agent exits 0 when it could not act (a denied tool, a read-only sandbox): a run that
//! changed nothing and whose every tool call failed is `agent-blocked`, not `no-changes`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Agent;

/// The longest error kept from a transcript.
const MAX_ERROR_CHARS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    pub tool_calls: u32,
    pub failed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Transcript {
    /// Whether the agent tried and every try failed.
    pub fn blocked(&self) -> bool {
        self.tool_calls > 0 && self.failed == self.tool_calls
    }

    /// Takes one line of the agent's standard output into account.
    pub fn observe(&mut self, agent: Agent, line: &str) {
        // Only these two print a transcript; the others' output is not parsed at all.
        if !matches!(agent, Agent::ClaudeCode | Agent::CodexCli) {
            return;
        }
        let Ok(event) = serde_json::from_str::<Value>(line) else { return };
        match agent {
            Agent::ClaudeCode if event["type"] == "user" => {
                for part in event["message"]["content"].as_array().into_iter().flatten() {
                    if part["type"] == "tool_result" {
                        let error = part["is_error"] == true;
                        self.count(error, || text_of(&part["content"]));
                    }
                }
            }
            Agent::CodexCli if event["type"] == "item.completed" && event["item"]["type"] == "command_execution" => {
                let item = &event["item"];
                let error = item["status"] == "failed" || item["exit_code"].as_i64().is_some_and(|c| c != 0);
                self.count(error, || text_of(&item["aggregated_output"]));
            }
            _ => {}
        }
    }

    fn count(&mut self, error: bool, text: impl FnOnce() -> String) {
        self.tool_calls += 1;
        if error {
            self.failed += 1;
            if self.first_error.is_none() {
                self.first_error = Some(text().chars().take(MAX_ERROR_CHARS).collect::<String>().trim().to_string());
            }
        }
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_denials_and_codex_failures_count() {
        let mut t = Transcript::default();
        t.observe(Agent::ClaudeCode, r#"{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":"Claude requested permissions to use Bash, but you haven't granted it yet."}]}}"#);
        assert!(t.blocked());
        assert_eq!(
            t.first_error.as_deref(),
            Some("Claude requested permissions to use Bash, but you haven't granted it yet.")
        );
        t.observe(
            Agent::ClaudeCode,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","content":"ok"}]}}"#,
        );
        assert!(!t.blocked());
        let mut c = Transcript::default();
        c.observe(Agent::CodexCli, r#"{"type":"item.completed","item":{"type":"command_execution","exit_code":1,"status":"failed","aggregated_output":"Read-only file system"}}"#);
        assert!(c.blocked());
        let mut none = Transcript::default();
        none.observe(Agent::CodexCli, "not json");
        assert!(!none.blocked(), "no tool calls is not blocked");
    }
}

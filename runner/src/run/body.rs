//! The pull request body bca writes: the agent's summary (above the prompt), the body
//! rendered from the Change's template, bca's sections (verification, what made the
//! agent run again) and the hidden marker a re-run reads back. Markers between the
//! parts let a later run keep what it cannot recompute.

use super::verify::{self, Verification};
use crate::marker::{self, Marker};
use crate::RunContract;

/// One line for the result: `passed after 2 attempts`, or what failed.
pub fn summary(v: &Verification) -> String {
    let attempts = format!("{} attempt{}", v.attempts, if v.attempts == 1 { "" } else { "s" });
    if v.passed {
        return format!("passed after {attempts}");
    }
    match (v.checks.iter().find(|c| !c.passed), &v.reason) {
        (_, Some(reason)) => format!("failed: {reason}"),
        (Some(check), None) => format!("failed after {attempts}: {} {}", check.command, check.failure()),
        (None, None) => format!("failed after {attempts}"),
    }
}

/// Where bca's own sections of a pull request body start (after the rendered template).
const SECTIONS: &str = "<!-- bca:sections -->";

/// bca's sections of the body: what verification found, what made the agent run again.
pub fn sections(verification: Option<&Verification>, changed: &[String]) -> String {
    let mut out = String::new();
    if let Some(v) = verification {
        out.push_str("## Verification\n\n");
        for check in &v.checks {
            let verdict = if check.passed { "passed".to_string() } else { check.failure() };
            out.push_str(&format!("- `{}`: {verdict}\n", check.command.replace('`', "'")));
        }
        if let Some(reason) = &v.reason {
            out.push_str(&format!("- {reason}\n"));
        }
        out.push_str(&format!("\n{} after {} agent run(s).\n", if v.passed { "Passed" } else { "Failed" }, v.attempts));
        if let Some(check) = v.checks.iter().find(|c| !c.passed) {
            let fence = verify::fence_for(&check.tail);
            out.push_str(&format!("\nThe end of its output:\n\n{fence}text\n{}\n{fence}\n", check.tail.trim_end()));
        }
    }
    if !changed.is_empty() {
        out.push_str(&format!("\n_bca ran the agent again: {}._\n", changed.join("; ")));
    }
    out
}

/// Where the agent's summary ends and the rendered template starts.
const TEMPLATE: &str = "<!-- bca:template -->";

/// The agent's summary (above the prompt), the rendered body, bca's sections, and the marker.
pub fn compose(contract: &RunContract, summary: Option<&str>, sections: &str, commit: &str) -> String {
    let mut body = contract.pull_request_body.trim_end().to_string();
    if let Some(summary) = summary {
        body = format!("## Summary from the agent\n\n{summary}\n\n{TEMPLATE}\n{body}");
    }
    if !sections.trim().is_empty() {
        body = format!("{body}\n\n{SECTIONS}\n{}", sections.trim());
    }
    let marker = Marker {
        change: contract.identity().to_string(),
        fingerprint: contract.work.fingerprint.clone(),
        parts: contract.work.parts.clone(),
        commit: commit.to_string(),
    };
    marker::with_marker(&body, &marker)
}

/// The summary and sections of a body bca wrote earlier, to keep them when only the
/// template changed.
pub fn parts_of(body: &str) -> (Option<String>, String) {
    let summary = body
        .strip_prefix("## Summary from the agent\n\n")
        .and_then(|rest| rest.split_once(&format!("\n\n{TEMPLATE}\n")))
        .map(|(summary, _)| summary.to_string());
    let sections = match body.rfind(SECTIONS) {
        Some(start) => {
            let rest = &body[start + SECTIONS.len()..];
            let end = rest.rfind("<!-- bca: ").unwrap_or(rest.len());
            rest[..end].trim().to_string()
        }
        None => String::new(),
    };
    (summary, sections)
}

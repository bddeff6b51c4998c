//! The pull request body bca writes, all of it between `<!-- bca:begin -->` and
//! `<!-- bca:end -->`: first bca's own words (the body rendered from the Change's
//! template, verification, what made the agent run again), then the agent's summary,
//! quoted under a heading that says whose words they are and defused, then the hidden
//! marker a re-run reads back. What a reviewer writes outside that region stays: bca
//! replaces only its own part, and only when it changed.

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

/// Where bca's part of a body starts and ends.
const BEGIN: &str = "<!-- bca:begin -->";
const END: &str = "<!-- bca:end -->";
/// The heading of the agent's words, below bca's.
const AGENT_HEADING: &str = "## Summary from the agent";
const AGENT_NOTE: &str = "_The agent's own words, quoted as it wrote them (defused); bca checked none of it._";

/// bca's part of the body: its own words, the agent's summary block (from
/// [`summary_block`], or kept from an earlier body) and the marker.
pub fn compose(
    contract: &RunContract,
    summary_block: Option<&str>,
    sections: &str,
    commit: &str,
    rounds: Option<&crate::marker::Rounds>,
) -> String {
    let mut body = format!("{BEGIN}\n{}", contract.pull_request_body.trim_end());
    if !sections.trim().is_empty() {
        body = format!("{body}\n\n{SECTIONS}\n{}", sections.trim());
    }
    if let Some(block) = summary_block.filter(|b| !b.trim().is_empty()) {
        body = format!("{body}\n\n{AGENT_HEADING}\n\n{AGENT_NOTE}\n\n{}", block.trim_end());
    }
    let marker = Marker {
        change: contract.identity().to_string(),
        fingerprint: contract.work.fingerprint.clone(),
        parts: contract.work.parts.clone(),
        commit: commit.to_string(),
        follow_up: rounds.cloned(),
    };
    format!("{}\n{END}\n", marker::with_marker(&body, &marker).trim_end())
}

/// The agent's summary as bca shows it: every line quoted, no heading of its own (a
/// "## Verification: passed" would pose as bca's), no link reference definitions (which
/// hide text), no image (which would load a remote URL when read).
pub fn summary_block(summary: &str) -> String {
    summary
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let line = if trimmed.starts_with('#') || (trimmed.starts_with('[') && trimmed.contains("]:")) {
                format!("\\{trimmed}")
            } else {
                line.to_string()
            };
            format!("> {}", line.replace("![", "!\u{200b}[")).trim_end().to_string() + "\n"
        })
        .collect()
}

/// The body with bca's part replaced by `part`, keeping what anyone wrote around it. A
/// body without bca's region (written before bca marked it) is bca's whole.
pub fn replace_part(body: &str, part: &str) -> String {
    match (body.find(BEGIN), body.rfind(END)) {
        (Some(start), Some(end)) if start < end => {
            let after = &body[end + END.len()..];
            format!("{}{}{}", &body[..start], part.trim_end_matches('\n'), after)
        }
        _ => part.to_string(),
    }
}

/// bca's part of a body (the whole body when it has no region).
pub fn part_of(body: &str) -> &str {
    match (body.find(BEGIN), body.rfind(END)) {
        (Some(start), Some(end)) if start < end => &body[start..end + END.len()],
        _ => body,
    }
}

/// The summary block and sections of a body bca wrote earlier, to keep them when only
/// the template changed.
pub fn parts_of(body: &str) -> (Option<String>, String) {
    let part = part_of(body);
    let before_marker = &part[..part.rfind("<!-- bca: ").unwrap_or(part.len())];
    let (rest, summary) = match before_marker.split_once(&format!("\n\n{AGENT_HEADING}\n\n{AGENT_NOTE}\n\n")) {
        Some((rest, block)) => (rest, Some(block.trim_end().to_string() + "\n")),
        None => (before_marker, None),
    };
    let sections = match rest.rfind(SECTIONS) {
        Some(start) => rest[start + SECTIONS.len()..].trim().to_string(),
        None => String::new(),
    };
    (summary, sections)
}

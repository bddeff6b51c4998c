//! `bca status` output: a table for a terminal, JSON (one object per repository,
//! documented field names), and Markdown for a tracking issue, each ending with the
//! burndown line.

use bca_codehost::{Checks, Cost, Review};

use super::{MergeView, RepoStatus, RowState};

/// `400 repositories: 212 merged, 120 open (12 ready to merge, 31 failing checks, 40 without reviewer), 50 no
/// changes, 18 failed`.
pub fn burndown(rows: &[RepoStatus]) -> String {
    let count = |f: &dyn Fn(&RepoStatus) -> bool| rows.iter().filter(|r| f(r)).count();
    let open = |r: &RepoStatus| matches!(r.state, RowState::Open | RowState::Draft);
    let state = |s: RowState| move |r: &RepoStatus| r.state == s;
    let mut parts = vec![format!("{} merged", count(&state(RowState::Merged)))];
    let open_detail = format!(
        "{} ready to merge, {} failing checks, {} without reviewer",
        count(&RepoStatus::ready_to_merge),
        count(&|r| open(r) && r.checks == Checks::Failure),
        count(&|r| open(r) && r.review == Review::NoReviewer)
    );
    parts.push(format!("{} open ({open_detail})", count(&open)));
    for (n, what) in [
        (count(&state(RowState::Closed)), "closed"),
        (count(&state(RowState::Orphaned)), "orphaned (no longer in the Change: bca close --orphaned)"),
        (count(&RepoStatus::no_changes), "no changes"),
        (count(&RepoStatus::failed), "failed"),
        (count(&|r| r.state == RowState::None && !r.no_changes() && !r.failed()), "without a pull request"),
        (count(&state(RowState::Missing)), "missing"),
        (count(&state(RowState::Renamed)), "renamed"),
        (count(&state(RowState::Archived)), "archived"),
        (count(&state(RowState::Unreadable)), "unreadable"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let listed = rows.iter().filter(|r| r.state != RowState::Orphaned).count();
    format!("{listed} repositor{}: {}", if listed == 1 { "y" } else { "ies" }, parts.join(", "))
}

/// What reading the fleet cost, for the line under the burndown.
pub fn cost_line(cost: &Cost) -> String {
    format!("read with {} request(s) to GitHub, {} GraphQL point(s)", cost.requests, cost.graphql_points)
}

/// A row's cells; with `rounds` (some pull request had follow-up rounds) a ROUNDS
/// column after REVIEW.
fn cells(r: &RepoStatus, rounds: bool) -> Vec<String> {
    let job = match (&r.job, &r.note) {
        (Some(job), _) => job.to_string(),
        (None, Some(note)) => note.clone(),
        (None, None) => "-".into(),
    };
    let mut cells = vec![
        r.repository.trim_start_matches("https://").to_string(),
        r.state.word().to_string(),
        r.pull_request.map_or("-".to_string(), |n| format!("#{n}")),
        r.checks.word().to_string(),
        r.review.word().to_string(),
    ];
    if rounds {
        cells.push(match (r.follow_up_rounds, &r.follow_up_last) {
            (Some(n), Some(last)) => format!("{n} (last: {last})"),
            (Some(n), None) => n.to_string(),
            (None, _) => "-".to_string(),
        });
    }
    cells.push(r.merge.as_ref().map_or("-", MergeView::word).to_string());
    cells.push(job);
    cells
}

fn header(rounds: bool) -> Vec<String> {
    let mut header: Vec<String> = ["REPOSITORY", "STATE", "PR", "CHECKS", "REVIEW"].map(String::from).into();
    if rounds {
        header.push("ROUNDS".into());
    }
    header.extend(["MERGE", "JOB"].map(String::from));
    header
}

fn any_rounds(rows: &[RepoStatus]) -> bool {
    rows.iter().any(|r| r.follow_up_rounds.is_some())
}

pub fn table(rows: &[RepoStatus], cost: &Cost) -> String {
    let rounds = any_rounds(rows);
    let cells: Vec<Vec<String>> = rows.iter().map(|r| cells(r, rounds)).collect();
    let header = header(rounds);
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut out = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for row in &cells {
        out.push_str(&line(row));
    }
    out.push('\n');
    out.push_str(&burndown(rows));
    out.push('\n');
    out.push_str(&cost_line(cost));
    out.push('\n');
    out
}

pub fn markdown(rows: &[RepoStatus], cost: &Cost) -> String {
    let rounds = any_rounds(rows);
    let header = header(rounds);
    let mut out = format!(
        "| {} |\n|{}\n",
        header
            .iter()
            .map(|h| if h == "PR" { "pull request".to_string() } else { h.to_lowercase() })
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        let mut cells = cells(r, rounds);
        cells[2] = match (&r.url, r.pull_request) {
            (Some(url), Some(n)) => format!("[#{n}]({url})"),
            _ => "-".into(),
        };
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out.push_str(&format!("\n{}\n\n{}\n", burndown(rows), cost_line(cost)));
    out
}

/// One JSON object per repository, one per line, then one `{"summary": ...}` line with
/// the burndown's counts and what the read cost.
pub fn json_lines(rows: &[RepoStatus], cost: &Cost) -> String {
    let mut out: String = rows.iter().map(|r| serde_json::to_string(r).expect("a row serialises") + "\n").collect();
    let mut states = std::collections::BTreeMap::new();
    for r in rows {
        *states.entry(r.state.word()).or_insert(0usize) += 1;
    }
    let summary = serde_json::json!({ "summary": {
        "repositories": rows.iter().filter(|r| r.state != RowState::Orphaned).count(),
        "states": states,
        "readyToMerge": rows.iter().filter(|r| r.ready_to_merge()).count(),
        "requests": cost.requests,
        "graphqlPoints": cost.graphql_points,
    }});
    out.push_str(&summary.to_string());
    out.push('\n');
    out
}

//! `bca status` output: a table for a terminal, JSON (one object per repository,
//! documented field names), and Markdown for a tracking issue, each ending with the
//! burndown line.

use super::RepoStatus;

/// `400 repositories: 212 merged, 120 open (31 failing checks, 40 without reviewer), 50 no changes, 18 failed`.
pub fn burndown(rows: &[RepoStatus]) -> String {
    let count = |f: &dyn Fn(&RepoStatus) -> bool| rows.iter().filter(|r| f(r)).count();
    let failed = |r: &RepoStatus| r.job.as_deref().is_some_and(|j| j.starts_with("failed") || j.starts_with("refused"));
    let no_changes = |r: &RepoStatus| r.job.as_deref() == Some("no-changes");
    let open = |r: &RepoStatus| matches!(r.state.as_str(), "open" | "draft");
    let mut parts = vec![format!("{} merged", count(&|r| r.state == "merged"))];
    let open_detail = format!(
        "{} failing checks, {} without reviewer",
        count(&|r| open(r) && r.checks == "failure"),
        count(&|r| open(r) && r.review == "no-reviewer")
    );
    parts.push(format!("{} open ({open_detail})", count(&open)));
    for (n, what) in [
        (count(&|r| r.state == "closed"), "closed"),
        (count(&|r| r.state == "orphaned"), "orphaned (no longer in the Change: bca close --orphaned)"),
        (count(&no_changes), "no changes"),
        (count(&failed), "failed"),
        (count(&|r| r.state == "none" && !no_changes(r) && !failed(r)), "without a pull request"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let listed = rows.iter().filter(|r| r.state != "orphaned").count();
    format!("{listed} repositor{}: {}", if listed == 1 { "y" } else { "ies" }, parts.join(", "))
}

fn cells(r: &RepoStatus) -> [String; 6] {
    [
        r.repository.trim_start_matches("https://").to_string(),
        r.state.clone(),
        r.pull_request.map_or("-".to_string(), |n| format!("#{n}")),
        r.checks.clone(),
        r.review.clone(),
        r.job.clone().unwrap_or_else(|| "-".into()),
    ]
}

const HEADER: [&str; 6] = ["REPOSITORY", "STATE", "PR", "CHECKS", "REVIEW", "JOB"];

pub fn table(rows: &[RepoStatus]) -> String {
    let cells: Vec<[String; 6]> = rows.iter().map(cells).collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut out = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&HEADER.map(String::from));
    for row in &cells {
        out.push_str(&line(row));
    }
    out.push('\n');
    out.push_str(&burndown(rows));
    out.push('\n');
    out
}

pub fn markdown(rows: &[RepoStatus]) -> String {
    let mut out =
        String::from("| repository | state | pull request | checks | review | job |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let [repo, state, _, checks, review, job] = cells(r);
        let pr = match (&r.url, r.pull_request) {
            (Some(url), Some(n)) => format!("[#{n}]({url})"),
            _ => "-".into(),
        };
        let job = job.replace('|', "\\|");
        out.push_str(&format!("| {repo} | {state} | {pr} | {checks} | {review} | {job} |\n"));
    }
    out.push_str(&format!("\n{}\n", burndown(rows)));
    out
}

/// One JSON object per repository, one per line.
pub fn json_lines(rows: &[RepoStatus]) -> String {
    rows.iter().map(|r| serde_json::to_string(r).expect("a row serialises") + "\n").collect()
}

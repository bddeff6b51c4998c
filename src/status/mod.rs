//! Where a Change stands across its fleet: each repository's pull request, its checks
//! and reviews, read from GitHub, and what only the cluster knows (a Job still running,
//! a step that failed and why) read from `kubectl get pods -o json`. Never talks to the
//! cluster itself.

pub mod pods;
pub mod report;

use std::collections::BTreeMap;

use bca_runner::run::github::{GitHub, PullState};
use bca_runner::run::RunError;
use bca_runner::Repository;
use serde::Serialize;

/// How many repositories are read from GitHub at once.
pub const IN_FLIGHT: usize = 8;

/// One repository's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoStatus {
    pub repository: String,
    /// `open`, `draft`, `merged`, `closed` or `none`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `success`, `failure`, `pending` or `none`.
    pub checks: String,
    /// `approved`, `changes-requested`, `review-required` (someone is asked) or
    /// `no-reviewer`; `none` without an open pull request.
    pub review: String,
    /// What the cluster says, from `--pods`: `running`, `failed: STEP: why`,
    /// `no-changes`, `refused: why`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// Where to look for a repository's pull request.
pub struct Target {
    pub repository: Repository,
    /// `owner:branch`.
    pub head: String,
}

/// Reads every target's pull request, checks and reviews, at most `IN_FLIGHT` at once,
/// in the targets' order.
pub fn read(gh: &GitHub, targets: &[Target]) -> Result<Vec<RepoStatus>, RunError> {
    let mut results: Vec<Option<Result<RepoStatus, RunError>>> = (0..targets.len()).map(|_| None).collect();
    for (chunk_index, chunk) in targets.chunks(IN_FLIGHT).enumerate() {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunk.iter().map(|t| scope.spawn(move || read_one(gh, t))).collect();
            for (i, handle) in handles.into_iter().enumerate() {
                let result = handle.join().unwrap_or_else(|_| Err(RunError::retryable("a reader thread panicked")));
                results[chunk_index * IN_FLIGHT + i] = Some(result);
            }
        });
    }
    results.into_iter().map(|r| r.expect("every target was read")).collect()
}

fn read_one(gh: &GitHub, target: &Target) -> Result<RepoStatus, RunError> {
    let full_name = target.repository.full_name();
    let pulls = gh.pulls_from(&full_name, &target.head)?;
    // The open one if there is one, else the newest.
    let Some(pull) = pulls.iter().find(|p| p.state == "open").or(pulls.first()) else {
        return Ok(RepoStatus {
            repository: target.repository.to_string(),
            state: "none".into(),
            pull_request: None,
            url: None,
            checks: "none".into(),
            review: "none".into(),
            job: None,
        });
    };
    let state = pull_state(pull);
    let (checks, review) = if pull.state == "open" {
        (checks(gh, &full_name, &pull.head.sha)?, review(gh, &full_name, pull)?)
    } else {
        ("none".to_string(), "none".to_string())
    };
    Ok(RepoStatus {
        repository: target.repository.to_string(),
        state,
        pull_request: Some(pull.number),
        url: Some(pull.html_url.clone()),
        checks,
        review,
        job: None,
    })
}

fn pull_state(pull: &PullState) -> String {
    match (pull.state.as_str(), pull.merged_at.is_some(), pull.draft) {
        (_, true, _) => "merged",
        ("open", _, true) => "draft",
        ("open", _, false) => "open",
        _ => "closed",
    }
    .to_string()
}

/// Check runs and commit statuses together: any failure fails, anything still running
/// is pending, and a commit with no statuses (`pending` with `total_count: 0`) counts
/// for nothing.
fn checks(gh: &GitHub, full_name: &str, sha: &str) -> Result<String, RunError> {
    let runs = gh.check_runs(full_name, sha)?;
    let combined = gh.combined_status(full_name, sha)?;
    let mut verdicts: Vec<&str> = runs
        .iter()
        .map(|r| match (r.status.as_str(), r.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => "success",
            ("completed", _) => "failure",
            _ => "pending",
        })
        .collect();
    if combined.total_count > 0 {
        verdicts.push(match combined.state.as_str() {
            "success" => "success",
            "pending" => "pending",
            _ => "failure",
        });
    }
    let verdict = ["failure", "pending", "success"].into_iter().find(|v| verdicts.contains(v)).unwrap_or("none");
    Ok(verdict.to_string())
}

/// The latest review of each reviewer decides; without reviews, whether anyone is asked.
fn review(gh: &GitHub, full_name: &str, pull: &PullState) -> Result<String, RunError> {
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    for r in gh.reviews(full_name, pull.number)? {
        if matches!(r.state.as_str(), "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED") {
            latest.insert(r.user.map(|u| u.login).unwrap_or_default(), r.state);
        }
    }
    let decision = if latest.values().any(|s| s == "CHANGES_REQUESTED") {
        "changes-requested"
    } else if latest.values().any(|s| s == "APPROVED") {
        "approved"
    } else if !pull.requested_reviewers.is_empty() || !pull.requested_teams.is_empty() {
        "review-required"
    } else {
        "no-reviewer"
    };
    Ok(decision.to_string())
}

/// Whether the Change is done everywhere: merged, or nothing to change. Orphaned pull
/// requests are not the Change's any more.
pub fn done(rows: &[RepoStatus]) -> bool {
    rows.iter().filter(|r| r.state != "orphaned").all(|r| r.state == "merged" || r.job.as_deref() == Some("no-changes"))
}

/// An open pull request of a named Change in a repository the Change no longer lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// `owner/name`.
    pub full_name: String,
    pub number: u64,
    pub url: String,
}

/// The open pull requests from `branch` in the repositories of `owners` that are not in
/// `listed` (`owner/name`, compared case-insensitively).
pub fn orphans(gh: &GitHub, owners: &[String], branch: &str, listed: &[String]) -> Result<Vec<Orphan>, RunError> {
    let listed: Vec<String> = listed.iter().map(|r| r.to_ascii_lowercase()).collect();
    let mut found = Vec::new();
    for owner in owners {
        for (full_name, number, url) in gh.search_open_pulls(owner, branch)? {
            if !listed.contains(&full_name.to_ascii_lowercase()) {
                found.push(Orphan { full_name, number, url });
            }
        }
    }
    found.sort_by(|a, b| (&a.full_name, a.number).cmp(&(&b.full_name, b.number)));
    found.dedup();
    Ok(found)
}

impl Orphan {
    pub fn row(&self, host: &str) -> RepoStatus {
        RepoStatus {
            repository: format!("https://{host}/{}", self.full_name),
            state: "orphaned".into(),
            pull_request: Some(self.number),
            url: Some(self.url.clone()),
            checks: "none".into(),
            review: "none".into(),
            job: None,
        }
    }
}

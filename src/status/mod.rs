//! Where a Change stands across its fleet: each repository's pull request, its checks
//! and reviews, read from the code host in batches, and what only the cluster knows (a
//! Job still running, a step that failed and why) read from `kubectl get pods -o json`.
//! Never talks to the cluster itself.

pub mod pods;
pub mod report;
mod targets;

pub use targets::{branch, changes_orphans, own_orphans, targets, ChangeOrphan, PushOwner};

use bca_codehost::{Checks, CodeHost, Head, HostError, PullQuery, PullState, PullSummary, RepoRead, Review};
use bca_runner::contract::Merge;
use bca_runner::merge::Action;
use bca_runner::Repository;
use serde::Serialize;

/// Where a repository stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowState {
    Open,
    Draft,
    Merged,
    /// Closed without merging, by a person.
    Closed,
    /// No pull request from the Change's branch.
    None,
    /// An open pull request of the Change in a repository it no longer lists.
    Orphaned,
    /// The host does not know the repository, or the token may not read it.
    Missing,
    /// The repository was renamed or moved: the Change names it by its old name.
    Renamed,
    /// Archived: read-only, so nothing can be pushed or merged.
    Archived,
    /// GitHub could not answer for it, even asked alone.
    Unreadable,
}

impl RowState {
    pub fn word(self) -> &'static str {
        match self {
            RowState::Open => "open",
            RowState::Draft => "draft",
            RowState::Merged => "merged",
            RowState::Closed => "closed",
            RowState::None => "none",
            RowState::Orphaned => "orphaned",
            RowState::Missing => "missing",
            RowState::Renamed => "renamed",
            RowState::Archived => "archived",
            RowState::Unreadable => "unreadable",
        }
    }

    fn of(state: PullState) -> RowState {
        match state {
            PullState::Open => RowState::Open,
            PullState::Draft => RowState::Draft,
            PullState::Merged => RowState::Merged,
            PullState::Closed => RowState::Closed,
        }
    }
}

/// One repository's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoStatus {
    pub repository: String,
    pub state: RowState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub checks: Checks,
    pub review: Review,
    /// The follow-up rounds its pull request had (`spec.followUp`), and what the last one
    /// answered (`2 review comments, 1 check`), from bca's own reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_rounds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up_last: Option<String>,
    /// Whether an open pull request is ready to merge under the Change's rule, in
    /// GitHub's hands (auto-merge, merge queue), or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeView>,
    /// What the cluster says, from `--pods`: `running`, `failed: STEP: why`,
    /// `no-changes`, `refused: why`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<pods::JobState>,
    /// Why the repository could not be read as listed (missing, renamed, archived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RepoStatus {
    /// An open pull request the Change's merge rule allows merging now.
    pub fn ready_to_merge(&self) -> bool {
        self.merge == Some(MergeView::Ready)
    }

    fn new(repository: &Repository, state: RowState) -> RepoStatus {
        RepoStatus {
            repository: repository.to_string(),
            state,
            pull_request: None,
            url: None,
            checks: Checks::None,
            review: Review::None,
            follow_up_rounds: None,
            follow_up_last: None,
            merge: None,
            job: None,
            note: None,
        }
    }

    /// Whether the pods said the agent had nothing to change.
    pub fn no_changes(&self) -> bool {
        self.job.as_ref().is_some_and(pods::JobState::no_changes)
    }

    /// Whether the pods said the run failed or was refused.
    pub fn failed(&self) -> bool {
        self.job.as_ref().is_some_and(pods::JobState::failed)
    }
}

/// Where to look for a repository's pull request.
pub struct Target {
    pub repository: Repository,
    pub head: Head,
    /// What the Change's marker in its pull requests names: its name, or its change id.
    pub change: String,
    /// When and how its pull requests are merged (`spec.merge`, or bca's defaults).
    pub merge: Merge,
}

/// Reads every target's pull request, checks and reviews through the host's batched
/// read, in the targets' order; `progress` hears how many are read so far.
pub fn read(
    host: &dyn CodeHost,
    targets: &[Target],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<RepoStatus>, HostError> {
    let queries: Vec<PullQuery> =
        targets.iter().map(|t| PullQuery { repository: t.repository.clone(), head: t.head.clone() }).collect();
    let reads = host.read_change_requests(&queries, progress)?;
    Ok(targets.iter().zip(reads).map(|(t, read)| row(t, read)).collect())
}

fn row(target: &Target, read: RepoRead) -> RepoStatus {
    let repository = &target.repository;
    match read {
        RepoRead::Missing => RepoStatus {
            note: Some("not found, or the token cannot read it".into()),
            ..RepoStatus::new(repository, RowState::Missing)
        },
        RepoRead::Unreadable { why } => RepoStatus {
            note: Some(format!("GitHub could not answer for it: {}", pods::shown(&why))),
            ..RepoStatus::new(repository, RowState::Unreadable)
        },
        RepoRead::Renamed { to } => RepoStatus {
            note: Some(format!("now {}: put its new URL in spec.repos", pods::shown(&to))),
            ..RepoStatus::new(repository, RowState::Renamed)
        },
        RepoRead::Found { archived, pull } => {
            let mut status = match pull {
                None => RepoStatus::new(repository, RowState::None),
                Some(pull) => RepoStatus {
                    merge: MergeView::of(&target.merge, &pull),
                    follow_up_rounds: bca_runner::contract::follow_up_rounds(&pull.labels),
                    follow_up_last: pull.own_last_comment.as_deref().and_then(bca_runner::contract::answered_in),
                    pull_request: Some(pull.number),
                    url: Some(pull.url),
                    checks: pull.checks,
                    review: pull.review,
                    ..RepoStatus::new(repository, RowState::of(pull.state))
                },
            };
            // Archived ends what is still open; a merged or closed pull request stays so.
            if archived && !matches!(status.state, RowState::Merged | RowState::Closed) {
                status.state = RowState::Archived;
                status.merge = None;
                status.note = Some("archived: read-only, nothing can be pushed or merged".into());
            }
            status
        }
    }
}

/// Where an open pull request stands on merging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum MergeView {
    /// The Change's rule holds: `bca merge` merges it.
    Ready,
    /// GitHub merges it by itself once the base branch's rules hold.
    AutoMerge,
    /// In its base branch's merge queue.
    Queued,
    /// Not yet, and why.
    Waiting { why: String },
}

impl MergeView {
    /// For an open pull request (a draft's view is that it is a draft).
    fn of(policy: &Merge, pull: &PullSummary) -> Option<MergeView> {
        if matches!(pull.state, PullState::Merged | PullState::Closed) {
            return None;
        }
        if pull.auto_merge {
            return Some(MergeView::AutoMerge);
        }
        Some(match bca_runner::merge::now(policy, pull) {
            Action::Handed(_) => MergeView::Queued,
            Action::Merge | Action::Enqueue => MergeView::Ready,
            Action::AutoMerge => MergeView::AutoMerge,
            Action::Leave(why) => MergeView::Waiting { why },
        })
    }

    /// In a table cell's words.
    pub fn word(&self) -> &str {
        match self {
            MergeView::Ready => "ready to merge",
            MergeView::AutoMerge => "auto-merge on",
            MergeView::Queued => "queued",
            MergeView::Waiting { why } => why,
        }
    }
}

/// How strict the exit code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gate {
    /// Done when every repository reached an end state: merged, closed by a person, or
    /// nothing to change.
    #[default]
    Settled,
    /// Done only when every repository's pull request is merged (or it had nothing to
    /// change).
    Merged,
}

/// Whether the Change is done everywhere. Orphaned pull requests are not the Change's
/// any more; a repository that is missing, renamed or archived needs attention.
pub fn done(rows: &[RepoStatus], gate: Gate) -> bool {
    rows.iter().filter(|r| r.state != RowState::Orphaned).all(|r| {
        r.state == RowState::Merged
            // Only the pods can say so, and only where GitHub shows no pull request.
            || (r.state == RowState::None && r.no_changes())
            || (gate == Gate::Settled && r.state == RowState::Closed)
    })
}

/// An open pull request of a named Change in a repository the Change no longer lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// `owner/name`.
    pub full_name: String,
    pub number: u64,
    pub url: String,
}

/// What searching for orphans found, and the owners GitHub would not search.
#[derive(Debug, Default)]
pub struct Orphans {
    pub found: Vec<Orphan>,
    pub warnings: Vec<String>,
}

/// The open pull requests from `branch` in the repositories of `owners` that are not in
/// `listed` (`owner/name`, compared case-insensitively). An owner GitHub will not search
/// (deleted, renamed, hidden by SSO: it answers 422) is a warning, not the end.
pub fn orphans(host: &dyn CodeHost, owners: &[String], branch: &str, listed: &[String]) -> Result<Orphans, HostError> {
    let listed: Vec<String> = listed.iter().map(|r| r.to_ascii_lowercase()).collect();
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for owner in owners {
        let pulls = match host.find_open_change_requests(owner, branch) {
            Ok(pulls) => pulls,
            Err(e) if e.status == Some(422) => {
                warnings.push(format!("could not search {owner}'s repositories for orphaned pull requests: {e}"));
                continue;
            }
            Err(e) => return Err(e),
        };
        for pull in pulls {
            if !listed.contains(&pull.full_name.to_ascii_lowercase()) {
                found.push(Orphan { full_name: pull.full_name, number: pull.number, url: pull.url });
            }
        }
    }
    found.sort_by(|a, b| (&a.full_name, a.number).cmp(&(&b.full_name, b.number)));
    found.dedup();
    Ok(Orphans { found, warnings })
}

impl Orphan {
    pub fn row(&self, host: &str) -> RepoStatus {
        RepoStatus {
            repository: format!("https://{host}/{}", self.full_name),
            state: RowState::Orphaned,
            pull_request: Some(self.number),
            url: Some(self.url.clone()),
            checks: Checks::None,
            review: Review::None,
            follow_up_rounds: None,
            follow_up_last: None,
            merge: None,
            job: None,
            note: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: RowState, job: Option<&str>) -> RepoStatus {
        let repo = Repository::parse("https://github.com/acme/api").unwrap();
        let job = job.map(|word| {
            let line = format!(r#"{{"status":"{word}","repository":"{repo}"}}"#);
            pods::JobState::Done(Box::new(serde_json::from_str(&line).unwrap()))
        });
        RepoStatus { job, ..RepoStatus::new(&repo, state) }
    }

    #[test]
    fn settled_means_merged_closed_or_nothing_to_change_where_no_pull_request_is() {
        let merged = row(RowState::Merged, None);
        let closed = row(RowState::Closed, None);
        let nothing = row(RowState::None, Some("no-changes"));
        assert!(done(&[merged.clone(), closed.clone(), nothing.clone()], Gate::Settled));
        assert!(!done(&[merged.clone(), closed], Gate::Merged));
        assert!(done(&[merged, nothing], Gate::Merged));
        // An old pod's no-changes does not settle an open pull request or a missing one.
        for state in [RowState::Open, RowState::Missing, RowState::Archived, RowState::Unreadable] {
            assert!(!done(&[row(state, Some("no-changes"))], Gate::Settled), "{state:?}");
        }
        assert!(done(&[row(RowState::Orphaned, None)], Gate::Merged), "orphans are not the Change's");
    }
}

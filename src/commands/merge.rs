//! `bca merge`: merge a Change's pull requests that its rule (`spec.merge.when`) allows,
//! each pinned to the head commit bca read, or add them to their base branch's merge
//! queue. Reads the fleet in batches, proves each pull request to merge is bca's own
//! (`crate::ownership`), names each one it leaves and why, and writes nothing without
//! `--yes`. GitHub counts merges as content-creating requests (about 80 a minute, 500 an
//! hour), so the writes go one at a time, at least a second apart, and a
//! secondary-limit answer is waited out (the client does that).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bca_codehost::{PullQuery, PullState, PullSummary, RepoRead};
use bca_runner::merge::{self, Action};

use super::access::github_access;
use super::status::Progress;
use super::{check_repo_filters, valid_changes, Outcome, Style};
use crate::render::names::{GitHubHost, GitHubOwner};
use crate::status::Target;

pub struct MergeRequest {
    pub files: Vec<PathBuf>,
    /// Only these repositories (`owner/name` or the URL).
    pub only: Vec<String>,
    pub yes: bool,
    pub fork_org: Option<GitHubOwner>,
    pub github_host: Option<GitHubHost>,
    pub progress: bool,
}

/// The least time between two merges.
pub const SPACING: Duration = Duration::from_secs(1);

/// One pull request to merge or queue.
struct Planned<'a> {
    target: &'a Target,
    pull: PullSummary,
    queue: bool,
}

pub fn merge(request: &MergeRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let files = valid_changes(&request.files, style)?;
    let (token, endpoint, _) = github_access("merge", &files, request.github_host.as_ref(), env)?;
    let changes: Vec<_> = files.into_iter().map(|(_, change)| change).collect();
    let host = bca_codehost::connect(&endpoint, &token);
    let gh = host.as_ref();
    let targets = crate::status::targets(gh, &changes, request.fork_org.as_deref())
        .context("asking GitHub whose token GITHUB_TOKEN is")?;
    check_repo_filters(&request.only, targets.iter().map(|t| &t.repository))?;
    let mut chosen: Vec<Target> = targets
        .into_iter()
        .filter(|t| request.only.is_empty() || request.only.iter().any(|f| t.repository.is_named_by(f)))
        .collect();
    // One pull request, once: the same Change given twice, or two files of one name.
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|t| seen.insert((t.repository.identity(), t.head.to_string())));
    let queries: Vec<PullQuery> =
        chosen.iter().map(|t| PullQuery { repository: t.repository.clone(), head: t.head.clone() }).collect();
    let mut progress = Progress::new(chosen.len(), request.progress);
    let reads = gh.read_change_requests(&queries, &mut |n| progress.read(n)).context("reading the pull requests")?;
    progress.done();

    let mut stdout = String::new();
    let mut merged_already = 0;
    let mut planned = Vec::new();
    let mut left = 0;
    // Open pull requests not merged by this run, and repositories bca could not read as
    // listed: each keeps the exit code at 1.
    let mut open_left = 0;
    let mut account = None;
    for (target, read) in chosen.iter().zip(reads) {
        let repo = target.repository.full_name();
        let pull = match read {
            RepoRead::Found { archived: true, .. } => {
                stdout.push_str(&format!("skipped {repo}: archived, nothing can be merged\n"));
                (left, open_left) = (left + 1, open_left + 1);
                continue;
            }
            RepoRead::Found { pull: Some(pull), .. } => pull,
            RepoRead::Found { pull: None, .. } => {
                stdout.push_str(&format!("skipped {repo}: no pull request from {}\n", target.head));
                left += 1;
                continue;
            }
            RepoRead::Missing => {
                stdout.push_str(&format!("skipped {repo}: not found, or the token cannot read it\n"));
                (left, open_left) = (left + 1, open_left + 1);
                continue;
            }
            RepoRead::Renamed { to } => {
                stdout.push_str(&format!("skipped {repo}: now {to}: put its new URL in spec.repos\n"));
                (left, open_left) = (left + 1, open_left + 1);
                continue;
            }
            RepoRead::Unreadable { why } => {
                stdout.push_str(&format!("skipped {repo}: GitHub could not answer for it: {why}\n"));
                (left, open_left) = (left + 1, open_left + 1);
                continue;
            }
        };
        let what = format!("{repo}#{}", pull.number);
        match pull.state {
            PullState::Merged => {
                merged_already += 1;
                continue;
            }
            PullState::Closed => {
                stdout.push_str(&format!("skipped {what}: closed\n"));
                left += 1;
                continue;
            }
            PullState::Open | PullState::Draft => open_left += 1,
        }
        let queue = match merge::now(&target.merge, &pull) {
            Action::Merge => false,
            Action::Enqueue => true,
            Action::Handed(said) => {
                stdout.push_str(&format!("skipped {what}: {said}\n"));
                left += 1;
                continue;
            }
            Action::Leave(why) => {
                stdout.push_str(&format!("skipped {what}: {why}\n"));
                left += 1;
                continue;
            }
            Action::AutoMerge => {
                stdout.push_str(&format!("skipped {what}: {}\n", merge::AUTO_MERGE_ON));
                left += 1;
                continue;
            }
        };
        // Only bca's own: exactly the Change's branch, from the push owner, opened by
        // the token's account, with the Change's marker, at the head bca read.
        let account = match &account {
            Some(account) => account,
            None => account.insert(gh.account().context("asking GitHub whose token GITHUB_TOKEN is")?),
        };
        let detail = gh.change_request(&repo, pull.number).with_context(|| what.clone())?;
        let Some(detail) = detail else {
            stdout.push_str(&format!("skipped {what}: GitHub no longer knows it\n"));
            left += 1;
            continue;
        };
        if let Err(why) = crate::ownership::check(&detail, &target.head, account, &target.change) {
            stdout.push_str(&format!("skipped {what}: not the Change's, left alone: {why}\n"));
            left += 1;
            continue;
        }
        if detail.head_sha != pull.head_sha {
            stdout.push_str(&format!("skipped {what}: head moved while bca read it; run bca merge again\n"));
            left += 1;
            continue;
        }
        open_left -= 1;
        planned.push(Planned { target, pull, queue });
    }
    for p in &planned {
        let verb = match (request.yes, p.queue) {
            (false, false) => "would merge",
            (false, true) => "would queue",
            (true, false) => "merging",
            (true, true) => "queueing",
        };
        stdout.push_str(&format!(
            "{verb} {}#{} ({}) by {} at {}\n",
            p.target.repository.full_name(),
            p.pull.number,
            p.pull.url,
            p.target.merge.method.word(),
            &p.pull.head_sha[..p.pull.head_sha.len().min(12)]
        ));
    }
    let summary = |merged: usize, queued: usize, failed: usize, ready: usize| {
        let mut parts = vec![format!("{} merged", merged + merged_already)];
        for (n, what) in [(queued, "queued"), (failed, "failed"), (ready, "ready")] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        parts.push(format!("{left} left"));
        format!("{} pull request(s): {}\n", chosen.len(), parts.join(", "))
    };
    if !request.yes {
        if planned.is_empty() {
            stdout.push_str("nothing is ready to merge\n");
        } else {
            let took = SPACING.as_secs() * planned.len() as u64;
            stdout.push_str(&format!(
                "{} pull request(s) ready; run again with --yes to merge them (about {took}s: one at a time, a \
                 second apart)\n",
                planned.len()
            ));
        }
        stdout.push_str(&summary(0, 0, 0, planned.len()));
        let code = if planned.is_empty() && open_left == 0 { 0 } else { super::EXIT_INVALID };
        return Ok(Outcome { stdout, code, ..Outcome::default() });
    }
    let (mut merged, mut queued, mut failed) = (0, 0, 0);
    let mut last: Option<Instant> = None;
    for p in &planned {
        if let Some(wait) = last.map(|t| SPACING.saturating_sub(t.elapsed())) {
            std::thread::sleep(wait);
        }
        last = Some(Instant::now());
        let what = format!("{}#{}", p.target.repository.full_name(), p.pull.number);
        let result = if p.queue {
            gh.enqueue_change_request(&p.pull.id, &p.pull.head_sha)
        } else {
            let repo = p.target.repository.full_name();
            gh.merge_change_request(&repo, p.pull.number, &p.pull.head_sha, p.target.merge.method.word())
        };
        match result {
            Ok(()) if p.queue => queued += 1,
            Ok(()) => merged += 1,
            Err(e) => {
                failed += 1;
                stdout.push_str(&format!("failed {what}: {}\n", e.message));
                // Every further merge would meet the same limit.
                if e.message.contains("rate limit") {
                    stdout.push_str("stopped: GitHub's rate limit; run bca merge --yes again once it resets\n");
                    break;
                }
            }
        }
    }
    stdout.push_str(&summary(merged, queued, failed, 0));
    // Done when no pull request is left open: a repository without one had nothing to merge.
    let done = failed == 0 && queued == 0 && open_left == 0;
    Ok(Outcome { stdout, code: if done { 0 } else { super::EXIT_INVALID }, ..Outcome::default() })
}

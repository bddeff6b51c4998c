//! After publishing, with `spec.merge`: the pull request bca just published (or found
//! holding this work) is read again as `bca status` reads it, and merged, queued or
//! handed to GitHub's auto-merge as `crate::merge` allows. Nothing here fails the run:
//! the pull request is published either way, and the result says what became of it.

use bca_codehost::{CodeHost, Head, HostError, PullQuery, PullSummary, RepoRead};

use super::Run;
use crate::contract::Merge;
use crate::merge::{self, Action};

/// What became of the pull request, in the result line's words.
pub fn after_publish(gh: &dyn CodeHost, run: &Run, policy: &Merge, push_owner: &str) -> String {
    let read = || read(gh, run, push_owner);
    let pull = match read() {
        Ok(pull) => pull,
        Err(why) => return format!("not merged: {why}"),
    };
    match merge::after_publish(policy, &pull) {
        Action::Leave(why) => format!("not merged: {why}"),
        Action::Handed(said) => said.to_string(),
        Action::Merge | Action::Enqueue => apply(gh, run, policy, &pull),
        Action::AutoMerge => match gh.enable_auto_merge(&pull.id, &pull.head_sha, policy.method.word()) {
            Ok(()) => merge::AUTO_MERGE_ON.into(),
            // The checks turned green since the read: GitHub would merge at once, so
            // auto-merge is refused. bca's own rule decides, on a fresh read.
            Err(e) if e.message.contains("clean status") => match read() {
                Ok(fresh) => match merge::now(policy, &fresh) {
                    Action::Leave(why) => format!("not merged: {why}"),
                    Action::Handed(said) => said.to_string(),
                    _ => apply(gh, run, policy, &fresh),
                },
                Err(why) => format!("not merged: {why}"),
            },
            Err(e) => format!("not merged: {}", e.message),
        },
    }
}

/// Turns off GitHub's auto-merge of the Change's pull request, if it is on.
pub fn turn_off_auto_merge(gh: &dyn CodeHost, run: &Run, push_owner: &str) -> Result<(), crate::run::RunError> {
    let pull = read(gh, run, push_owner).map_err(crate::run::RunError::retryable)?;
    if pull.auto_merge {
        gh.disable_auto_merge(&pull.id)?;
        crate::run::log::info("publish", &format!("{}: auto-merge turned off before pushing new work", pull.url));
    }
    Ok(())
}

/// Merges or queues a pull request bca's rule allows, pinned to the head it checked.
fn apply(gh: &dyn CodeHost, run: &Run, policy: &Merge, pull: &PullSummary) -> String {
    let result = if pull.merge_queue {
        gh.enqueue_change_request(&pull.id, &pull.head_sha).map(|()| merge::QUEUED)
    } else {
        gh.merge_change_request(&run.upstream.full_name, pull.number, &pull.head_sha, policy.method.word())
            .map(|()| "merged")
    };
    match result {
        Ok(done) => done.to_string(),
        Err(HostError { message, .. }) => format!("not merged: {message}"),
    }
}

/// The Change's pull request, exactly its branch from exactly the push owner.
pub(super) fn read(gh: &dyn CodeHost, run: &Run, push_owner: &str) -> Result<PullSummary, String> {
    let query = PullQuery {
        repository: run.upstream.repository.clone(),
        head: Head::new(push_owner, &run.contract.head_branch),
    };
    match gh.read_change_requests(&[query], &mut |_| {}) {
        Ok(rows) => match rows.into_iter().next() {
            Some(RepoRead::Found { pull: Some(pull), .. }) => Ok(pull),
            Some(RepoRead::Unreadable { why }) => Err(format!("GitHub could not say how it stands: {why}")),
            _ => Err("GitHub did not show the pull request".into()),
        },
        Err(e) => Err(format!("GitHub could not say how it stands: {}", e.message)),
    }
}

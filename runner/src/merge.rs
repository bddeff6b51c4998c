//! bca's rule for merging an agent's pull request (`spec.merge.when`), and what to do
//! about one: merge it, queue it, have GitHub merge it later, or leave it and say why.
//! The rule is the floor: a repository without branch protection would let anything
//! merge at once, so bca merges only what its own rule allows, pinned to the head commit
//! it checked, and turns on GitHub's auto-merge only where the base branch's protection
//! requires at least what the rule does.

use bca_codehost::{Checks, MergeState, Mergeable, PullState, PullSummary, Review};

use crate::contract::{Merge, MergeWhen, VERIFY_FAILED_LABEL};

/// Why a pull request is not ready to merge under bca's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Blocker {
    Merged,
    Closed,
    Draft,
    Conflict,
    /// GitHub has not worked out whether it can be merged yet.
    Computing,
    ChecksFailing,
    ChecksPending,
    NoChecks,
    ChangesRequested,
    NotApproved,
    /// Approved, but an earlier commit: what was pushed since is nobody's approval.
    ApprovedEarlier,
    /// bca's own checks (`spec.verify`) failed on it.
    VerifyFailed,
    /// Behind its base, which the base branch's rules do not allow.
    Behind,
    /// The base branch's own rules are not met.
    BlockedByRules,
}

impl Blocker {
    pub fn reason(self) -> &'static str {
        match self {
            Blocker::Merged => "already merged",
            Blocker::Closed => "closed",
            Blocker::Draft => "draft",
            Blocker::Conflict => "conflicts with its base",
            Blocker::Computing => "GitHub is still computing whether it can be merged",
            Blocker::ChecksFailing => "checks failing",
            Blocker::ChecksPending => "checks pending",
            Blocker::NoChecks => "no checks ran",
            Blocker::ChangesRequested => "changes requested",
            Blocker::NotApproved => "not approved",
            Blocker::ApprovedEarlier => "approved, but not at its head commit",
            Blocker::VerifyFailed => "bca's checks failed on it (bca:verify-failed)",
            Blocker::Behind => "behind its base branch",
            Blocker::BlockedByRules => "the base branch's rules are not met",
        }
    }

    /// What only a person (or a new run) can change, so waiting for GitHub is no use.
    fn needs_a_person(self) -> bool {
        matches!(
            self,
            Blocker::Merged
                | Blocker::Closed
                | Blocker::Draft
                | Blocker::Conflict
                | Blocker::ChecksFailing
                | Blocker::ChangesRequested
                | Blocker::VerifyFailed
                | Blocker::Behind
        )
    }
}

/// Everything that keeps `pull` from being merged under `when`; none means ready.
pub fn blockers(when: MergeWhen, pull: &PullSummary) -> Vec<Blocker> {
    let mut found = Vec::new();
    match pull.state {
        PullState::Merged => return vec![Blocker::Merged],
        PullState::Closed => return vec![Blocker::Closed],
        PullState::Draft => found.push(Blocker::Draft),
        PullState::Open => {}
    }
    match (pull.mergeable, pull.merge_state) {
        (Mergeable::Conflicting, _) | (_, MergeState::Dirty) => found.push(Blocker::Conflict),
        (Mergeable::Unknown, _) | (_, MergeState::Unknown) => found.push(Blocker::Computing),
        _ => {}
    }
    if pull.labels.iter().any(|l| l == VERIFY_FAILED_LABEL) {
        found.push(Blocker::VerifyFailed);
    }
    match pull.checks {
        Checks::Success => {}
        Checks::Failure => found.push(Blocker::ChecksFailing),
        Checks::Pending => found.push(Blocker::ChecksPending),
        Checks::None => found.push(Blocker::NoChecks),
    }
    if when == MergeWhen::ApprovedAndGreen {
        match pull.review {
            Review::Approved if pull.approved_at_head => {}
            Review::Approved => found.push(Blocker::ApprovedEarlier),
            Review::ChangesRequested => found.push(Blocker::ChangesRequested),
            _ => found.push(Blocker::NotApproved),
        }
    }
    match pull.merge_state {
        MergeState::Behind => found.push(Blocker::Behind),
        // bca's own findings say more than GitHub's "blocked" when there are any.
        MergeState::Blocked if found.is_empty() => found.push(Blocker::BlockedByRules),
        _ => {}
    }
    found
}

/// The reasons, in words.
pub fn reasons(blockers: &[Blocker]) -> String {
    blockers.iter().map(|b| b.reason()).collect::<Vec<_>>().join(", ")
}

/// What to do about a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Merge it now, pinned to its head commit.
    Merge,
    /// Add it to its base branch's merge queue, pinned to its head commit.
    Enqueue,
    /// Have GitHub merge it once the base branch's rules hold (which include bca's).
    AutoMerge,
    /// Nothing now, for this reason.
    Leave(String),
    /// Nothing: GitHub merges it by itself (auto-merge is on, or it is queued).
    Handed(&'static str),
}

/// What the result line says of a pull request GitHub's auto-merge will merge.
pub const AUTO_MERGE_ON: &str = "auto-merge on: GitHub merges it once the base branch's rules hold";
/// ... and of one in its base branch's merge queue.
pub const QUEUED: &str = "queued: in the base branch's merge queue";

/// What `bca merge` does: merge (or queue) what is ready, leave the rest.
pub fn now(policy: &Merge, pull: &PullSummary) -> Action {
    if pull.queued {
        return Action::Handed(QUEUED);
    }
    let blockers = blockers(policy.when, pull);
    match (blockers.is_empty(), pull.merge_queue) {
        (true, true) => Action::Enqueue,
        (true, false) => Action::Merge,
        (false, _) => Action::Leave(reasons(&blockers)),
    }
}

/// What the runner does after publishing: what `bca merge` would, and with
/// `spec.merge.auto`, GitHub's auto-merge for a pull request that only has to wait.
pub fn after_publish(policy: &Merge, pull: &PullSummary) -> Action {
    if pull.auto_merge {
        return Action::Handed(AUTO_MERGE_ON);
    }
    let action = now(policy, pull);
    let Action::Leave(why) = &action else { return action };
    if !policy.auto || pull.queued {
        return action;
    }
    let blockers = blockers(policy.when, pull);
    if blockers.iter().any(|b| b.needs_a_person()) {
        return action;
    }
    if !pull.auto_merge_allowed {
        return Action::Leave(format!("{why}; the repository does not allow auto-merge"));
    }
    if let Some(missing) = uncovered(policy.when, pull) {
        return Action::Leave(format!(
            "{why}; auto-merge left off: the base branch's protection does not require {missing}, so GitHub could \
             merge it before bca's rule ({}) holds",
            policy.when.word()
        ));
    }
    Action::AutoMerge
}

/// What bca's rule requires that the base branch's protection does not, if anything:
/// status checks, and for `approved-and-green` an approval that a push dismisses (else
/// an approval of an earlier commit would let GitHub merge what was pushed since).
fn uncovered(when: MergeWhen, pull: &PullSummary) -> Option<&'static str> {
    let p = pull.protection;
    let approvals = when == MergeWhen::ApprovedAndGreen && (p.approvals == 0 || !p.dismisses_stale_reviews);
    match (p.checks, approvals) {
        (true, false) => None,
        (false, false) => Some("status checks"),
        (true, true) => Some("an approving review that a new push dismisses"),
        (false, true) => Some("status checks or an approving review that a new push dismisses"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bca_codehost::Protection;

    fn ready() -> PullSummary {
        PullSummary {
            id: "PR_1".into(),
            number: 1,
            url: "https://github.com/acme/a/pull/1".into(),
            state: PullState::Open,
            head_sha: "a".repeat(40),
            checks: Checks::Success,
            review: Review::Approved,
            approved_at_head: true,
            labels: Vec::new(),
            own_last_comment: None,
            mergeable: Mergeable::Mergeable,
            merge_state: MergeState::Clean,
            auto_merge: false,
            merge_queue: false,
            queued: false,
            protection: Protection { approvals: 1, checks: true, dismisses_stale_reviews: true },
            auto_merge_allowed: true,
        }
    }

    fn policy(when: MergeWhen, auto: bool) -> Merge {
        Merge { when, auto, ..Merge::default() }
    }

    #[test]
    fn the_rule_is_the_floor() {
        let strict = policy(MergeWhen::ApprovedAndGreen, false);
        assert_eq!(now(&strict, &ready()), Action::Merge);
        // No branch protection: GitHub would merge at once; bca does not.
        let unprotected = PullSummary { protection: Protection::default(), review: Review::NoReviewer, ..ready() };
        assert_eq!(now(&strict, &unprotected), Action::Leave("not approved".into()));
        assert_eq!(now(&policy(MergeWhen::Green, false), &unprotected), Action::Merge);
        let pending = PullSummary { checks: Checks::Pending, ..ready() };
        assert_eq!(now(&strict, &pending), Action::Leave("checks pending".into()));
        let none = PullSummary { checks: Checks::None, ..ready() };
        assert_eq!(now(&strict, &none), Action::Leave("no checks ran".into()));
        let draft = PullSummary { state: PullState::Draft, merge_state: MergeState::Draft, ..ready() };
        assert_eq!(now(&strict, &draft), Action::Leave("draft".into()));
        let computing = PullSummary { mergeable: Mergeable::Unknown, merge_state: MergeState::Unknown, ..ready() };
        assert_eq!(
            now(&strict, &computing),
            Action::Leave("GitHub is still computing whether it can be merged".into())
        );
        let both = PullSummary { checks: Checks::Failure, review: Review::ChangesRequested, ..ready() };
        assert_eq!(now(&strict, &both), Action::Leave("checks failing, changes requested".into()));
        let earlier = PullSummary { approved_at_head: false, ..ready() };
        assert_eq!(now(&strict, &earlier), Action::Leave("approved, but not at its head commit".into()));
        let failed = PullSummary { labels: vec![VERIFY_FAILED_LABEL.into()], ..ready() };
        assert_eq!(now(&strict, &failed), Action::Leave("bca's checks failed on it (bca:verify-failed)".into()));
        let queue = PullSummary { merge_queue: true, ..ready() };
        assert_eq!(now(&strict, &queue), Action::Enqueue);
    }

    #[test]
    fn auto_merge_only_where_protection_covers_the_rule() {
        let waiting = PullSummary { checks: Checks::Pending, review: Review::ReviewRequired, ..ready() };
        let auto = policy(MergeWhen::ApprovedAndGreen, true);
        assert_eq!(after_publish(&auto, &waiting), Action::AutoMerge);
        assert_eq!(
            after_publish(&policy(MergeWhen::ApprovedAndGreen, false), &waiting),
            Action::Leave("checks pending, not approved".into())
        );
        let no_reviews = PullSummary {
            protection: Protection { approvals: 0, checks: true, dismisses_stale_reviews: false },
            ..waiting.clone()
        };
        let Action::Leave(why) = after_publish(&auto, &no_reviews) else { panic!() };
        assert!(why.ends_with("does not require an approving review that a new push dismisses, so GitHub could merge it before bca's rule (approved-and-green) holds"), "{why}");
        let stale = PullSummary {
            protection: Protection { approvals: 1, checks: true, dismisses_stale_reviews: false },
            ..waiting.clone()
        };
        assert!(matches!(after_publish(&auto, &stale), Action::Leave(_)));
        assert_eq!(after_publish(&policy(MergeWhen::Green, true), &no_reviews), Action::AutoMerge);
        let not_allowed = PullSummary { auto_merge_allowed: false, ..waiting.clone() };
        assert_eq!(
            after_publish(&auto, &not_allowed),
            Action::Leave("checks pending, not approved; the repository does not allow auto-merge".into())
        );
        let failing = PullSummary { checks: Checks::Failure, ..waiting.clone() };
        assert_eq!(after_publish(&auto, &failing), Action::Leave("checks failing, not approved".into()));
        let on = PullSummary { auto_merge: true, ..waiting };
        assert_eq!(after_publish(&auto, &on), Action::Handed(AUTO_MERGE_ON));
    }
}

//! `spec.merge` in the runner: after publishing, the pull request is merged, queued, or
//! handed to GitHub's auto-merge as bca's rule allows, against the GitHub stand-in's
//! branch protection, merge states, auto-merge mutation and merge endpoint.

mod support;

use bca_runner::contract::{Merge, MergeMethod, MergeWhen};
use bca_runner::Agent;
use support::github::GitHub;
use support::*;

const REPO: &str = "acme/api";
const BRANCH: &str = "bca/c0ffee1234";

fn stand_in() -> GitHub {
    let gh = GitHub::start(GITHUB_TOKEN, LOGIN);
    gh.add_repo(REPO, &[("README.md", "# api\n")], &[]);
    gh
}

fn merging(when: MergeWhen, auto: bool) -> bca_runner::RunContract {
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, "Add a line to the README");
    c.merge = Some(Merge { method: MergeMethod::Squash, when, auto });
    c
}

fn run(gh: &GitHub, c: &bca_runner::RunContract) -> serde_json::Value {
    let out = Pod::new(c.clone()).run_steps(gh);
    assert!(out.status.success(), "{}", shown(&out));
    result_line(&out)
}

/// The head bca pushed turns green and is approved by a person who can push.
fn green_and_approved(gh: &GitHub) {
    let head = gh.head("bot/api", BRANCH).expect("bca pushed its branch");
    gh.add_check_run(REPO, &head, "completed", Some("success"));
    gh.add_review(REPO, 1, "alice", "APPROVED");
}

#[test]
fn auto_merge_is_turned_on_where_protection_requires_what_bcas_rule_does() {
    let gh = stand_in();
    gh.set_merging(REPO, true, Some((1, true)), false);
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(r["status"], "opened");
    assert_eq!(r["merge"], "auto-merge on: GitHub merges it once the base branch's rules hold");
    assert_eq!(gh.pulls()[0].auto_merge.as_deref(), Some("SQUASH"));
    // A re-run finds it in GitHub's hands and asks nothing more of it.
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(
        (r["status"].as_str(), r["merge"].as_str()),
        (Some("unchanged"), Some(bca_runner::merge::AUTO_MERGE_ON))
    );
    let mutations = gh.graphql_queries().iter().filter(|q| q.contains("mutation")).count();
    assert_eq!(mutations, 1);
    // What the runner sent is what GitHub's published schema accepts.
    support::tools::assert_valid_github_graphql(&gh.graphql_queries());
}

/// GitHub refuses auto-merge for a pull request it would merge at once ("clean
/// status", when the checks turned green between bca's read and its write): bca reads
/// it again and its own rule decides. Any other refusal is said in GitHub's words; the
/// run still publishes.
#[test]
fn a_refused_auto_merge_is_said_and_the_pull_request_stays() {
    let gh = stand_in();
    gh.set_merging(REPO, true, Some((1, true)), false);
    gh.refuse_next("enablePullRequestAutoMerge", "Pull request Pull request is in clean status");
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(
        (r["status"].as_str(), r["merge"].as_str()),
        (Some("opened"), Some("not merged: no checks ran, not approved"))
    );
    let reads = gh.graphql_queries().iter().filter(|q| q.contains("BcaChangeRequests")).count();
    assert_eq!(reads, 2, "bca did not read the pull request again");

    let gh = stand_in();
    gh.set_merging(REPO, true, Some((1, true)), false);
    gh.refuse_next("enablePullRequestAutoMerge", "Pull request User does not have permission to enable auto-merge");
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(
        (r["status"].as_str(), r["merge"].as_str()),
        (Some("opened"), Some("not merged: GitHub would not turn on auto-merge: Pull request User does not have permission to enable auto-merge"))
    );
    assert_eq!(gh.pulls()[0].auto_merge, None);
}

/// A push after bca's read moves the head: the merge pinned to the head bca checked
/// is refused, and nothing unchecked is merged.
#[test]
fn a_push_after_the_check_makes_the_merge_fail_safely() {
    let gh = stand_in();
    let strict = merging(MergeWhen::ApprovedAndGreen, false);
    run(&gh, &strict);
    green_and_approved(&gh);
    gh.fail(
        "PUT",
        "/repos/acme/api/pulls/1/merge",
        409,
        &[],
        r#"{"message":"Head branch was modified. Review and try the merge again."}"#,
        1,
    );
    let r = run(&gh, &strict);
    assert_eq!(
        r["merge"],
        "not merged: its head moved after bca checked it (GitHub: Head branch was modified. Review and try the merge \
         again.); nothing was merged"
    );
    assert!(!gh.pulls()[0].merged);
}

#[test]
fn auto_merge_is_left_off_where_github_could_merge_before_bcas_rule_holds() {
    let gh = stand_in();
    // Checks required, reviews not: GitHub would merge an unapproved pull request.
    gh.set_merging(REPO, true, Some((0, true)), false);
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(
        r["merge"],
        "not merged: no checks ran, not approved; auto-merge left off: the base branch's protection does not \
         require an approving review that a new push dismisses, so GitHub could merge it before bca's rule \
         (approved-and-green) holds"
    );
    assert_eq!(gh.pulls()[0].auto_merge, None);

    let gh = stand_in();
    gh.set_merging(REPO, false, Some((1, true)), false);
    let r = run(&gh, &merging(MergeWhen::ApprovedAndGreen, true));
    assert_eq!(r["merge"], "not merged: no checks ran, not approved; the repository does not allow auto-merge");
    assert_eq!(gh.pulls()[0].auto_merge, None);
}

/// Without protection GitHub would merge a green, unapproved pull request at once
/// (`CLEAN`); bca's rule is the floor.
#[test]
fn a_clean_pull_request_is_merged_only_when_bcas_rule_holds() {
    let gh = stand_in();
    let strict = merging(MergeWhen::ApprovedAndGreen, false);
    assert_eq!(run(&gh, &strict)["merge"], "not merged: no checks ran, not approved");
    let head = gh.head("bot/api", BRANCH).unwrap();
    gh.add_check_run(REPO, &head, "completed", Some("success"));
    // A re-run finds the work there (unchanged) and reads it again.
    let r = run(&gh, &strict);
    assert_eq!((r["status"].as_str(), r["merge"].as_str()), (Some("unchanged"), Some("not merged: not approved")));
    assert!(!gh.pulls()[0].merged);
    gh.add_review(REPO, 1, "alice", "APPROVED");
    let r = run(&gh, &strict);
    assert_eq!(r["merge"], "merged");
    let pull = gh.pulls()[0].clone();
    assert_eq!(pull.merged_with, Some(("squash".to_string(), head)));
}

#[test]
fn an_approval_from_someone_who_cannot_push_does_not_count() {
    let gh = stand_in();
    let strict = merging(MergeWhen::ApprovedAndGreen, false);
    run(&gh, &strict);
    gh.add_outsider("mallory");
    let head = gh.head("bot/api", BRANCH).unwrap();
    gh.add_check_run(REPO, &head, "completed", Some("success"));
    gh.add_review(REPO, 1, "mallory", "APPROVED");
    assert_eq!(run(&gh, &strict)["merge"], "not merged: not approved");
    assert!(!gh.pulls()[0].merged);
}

#[test]
fn green_is_enough_for_when_green_and_pending_is_not() {
    let gh = stand_in();
    let green = merging(MergeWhen::Green, false);
    run(&gh, &green);
    let head = gh.head("bot/api", BRANCH).unwrap();
    gh.add_check_run(REPO, &head, "in_progress", None);
    assert_eq!(run(&gh, &green)["merge"], "not merged: checks pending");
    gh.add_check_run(REPO, &head, "completed", Some("failure"));
    assert_eq!(run(&gh, &green)["merge"], "not merged: checks failing");
    assert!(!gh.pulls()[0].merged);
}

#[test]
fn a_base_branch_with_a_merge_queue_gets_it_queued() {
    let gh = stand_in();
    gh.set_merging(REPO, true, Some((1, true)), true);
    let strict = merging(MergeWhen::ApprovedAndGreen, false);
    run(&gh, &strict);
    green_and_approved(&gh);
    let r = run(&gh, &strict);
    assert_eq!(r["merge"], "queued: in the base branch's merge queue");
    assert!(gh.pulls()[0].queued && !gh.pulls()[0].merged);
}

#[test]
fn mergeability_github_is_still_computing_is_left_for_later() {
    let gh = stand_in();
    let strict = merging(MergeWhen::ApprovedAndGreen, false);
    run(&gh, &strict);
    green_and_approved(&gh);
    gh.set_mergeable(REPO, 1, "UNKNOWN");
    assert_eq!(run(&gh, &strict)["merge"], "not merged: GitHub is still computing whether it can be merged");
    gh.set_mergeable(REPO, 1, "CONFLICTING");
    assert_eq!(run(&gh, &strict)["merge"], "not merged: conflicts with its base");
    assert!(!gh.pulls()[0].merged);
}

/// New work pushed to a pull request GitHub would auto-merge: auto-merge goes off before
/// the push (else an approval of the old commit could merge the new one), and bca's rule
/// decides afresh after it. An approval of the old commit does not merge the new.
#[test]
fn new_work_never_merges_under_an_old_approval_or_auto_merge() {
    let gh = stand_in();
    gh.set_merging(REPO, true, Some((1, true)), false);
    gh.set_dismisses_stale_reviews(REPO, false);
    let first = merging(MergeWhen::ApprovedAndGreen, false);
    run(&gh, &first);
    green_and_approved(&gh);
    // Someone turned auto-merge on by hand; the prompt changes and new work is pushed.
    let mut second = merging(MergeWhen::ApprovedAndGreen, false);
    second.prompt = "Add two lines to the README".into();
    second.work = work(&second.prompt);
    set_auto_merge(&gh);
    let pod = Pod::new(second);
    pod.agent_does("echo 'a new line' >> README.md");
    let out = pod.run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "updated", "{r}");
    assert_eq!(gh.pulls()[0].auto_merge, None, "auto-merge stayed on over new work");
    let log = gh.log();
    let off = log.iter().position(|l| l.contains("BcaNoAutoMerge")).expect("auto-merge was turned off");
    let push = log.iter().position(|l| l.starts_with("PATCH /repos/acme/api/pulls/1")).unwrap();
    assert!(off < push, "auto-merge went off after the pull request was updated: {log:?}");
    // The approval was of the first commit; the new head is nobody's.
    assert!(r["merge"].as_str().unwrap().contains("approved, but not at its head commit"), "{r}");
    assert!(!gh.pulls()[0].merged);
}

/// Turns auto-merge on for the stand-in's first pull request, as a person would.
fn set_auto_merge(gh: &GitHub) {
    gh.force_auto_merge(REPO, 1);
}

/// Without `spec.merge`, nothing is read or written about merging.
#[test]
fn without_spec_merge_nothing_is_merged_or_read() {
    let gh = stand_in();
    let c = contract("https://github.com/acme/api", Agent::CopilotCli, "Add a line to the README");
    let r = run(&gh, &c);
    assert!(r.get("merge").is_none(), "{r}");
    assert!(!gh.log().iter().any(|l| l.contains("graphql") || l.contains("/merge")), "{:?}", gh.log());
}

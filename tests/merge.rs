//! `bca merge` and the merge column of `bca status`, against the GitHub stand-in: a
//! fleet of pull requests ready, pending, unapproved, drafted, conflicting, merged,
//! queued and not bca's, each merged or left with its reason.

mod support;

#[path = "../runner/tests/support/github.rs"]
mod github;

use github::GitHub;
use insta::assert_snapshot;
use support::{bca, shown};

const TOKEN: &str = "ghp_merge_write_token_0123456789";
const BRANCH: &str = "bca/bump-logging";
const REPOS: [&str; 9] = [
    "acme/ready",
    "acme/pending",
    "acme/unapproved",
    "acme/drafted",
    "acme/conflict",
    "acme/done",
    "acme/queue",
    "acme/colleague",
    "acme/unmarked",
];

fn change(merge: &str) -> String {
    let repos: Vec<String> = REPOS.iter().map(|r| format!("https://github.com/{r}")).collect();
    format!(
        "kind: Change\napiVersion: v1\nmetadata:\n  name: bump-logging\nspec:\n  prompt: Bump logging\n  agent: copilot-cli\n  repos: [{}]\n{merge}",
        repos.join(", ")
    )
}

/// A pull request of bca's, green and approved by a person who can push.
fn green(gh: &GitHub, repo: &str) -> u64 {
    let (n, sha) = gh.add_pull(repo, "bca-bot", BRANCH, false);
    gh.add_check_run(repo, &sha, "completed", Some("success"));
    gh.add_review(repo, n, "carol", "APPROVED");
    n
}

fn fleet() -> (GitHub, tempfile::TempDir) {
    let gh = GitHub::start(TOKEN, "bca-bot");
    for repo in REPOS {
        gh.add_repo(repo, &[("README.md", "# x\n")], &[]);
    }
    green(&gh, "acme/ready");
    let (_, sha) = gh.add_pull("acme/pending", "bca-bot", BRANCH, false);
    gh.add_check_run("acme/pending", &sha, "in_progress", None);
    let (_, sha) = gh.add_pull("acme/unapproved", "bca-bot", BRANCH, false);
    gh.add_check_run("acme/unapproved", &sha, "completed", Some("success"));
    let (n, sha) = gh.add_pull("acme/drafted", "bca-bot", BRANCH, true);
    gh.add_check_run("acme/drafted", &sha, "completed", Some("success"));
    gh.add_review("acme/drafted", n, "carol", "APPROVED");
    let n = green(&gh, "acme/conflict");
    gh.set_mergeable("acme/conflict", n, "CONFLICTING");
    let n = green(&gh, "acme/done");
    gh.finish("acme/done", n, true);
    gh.set_merging("acme/queue", true, Some((1, true)), true);
    green(&gh, "acme/queue");
    // Not bca's: a colleague's pull request from the same branch name, and one of the
    // token's account without bca's marker.
    let (n, sha) = gh.add_pull("acme/colleague", "colleague", BRANCH, false);
    gh.add_check_run("acme/colleague", &sha, "completed", Some("success"));
    gh.add_review("acme/colleague", n, "carol", "APPROVED");
    let n = green(&gh, "acme/unmarked");
    gh.set_body("acme/unmarked", n, "A pull request someone wrote by hand.");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change("")).unwrap();
    (gh, dir)
}

fn bca_in(gh: &GitHub, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    bca().current_dir(dir).args(args).env("GITHUB_TOKEN", TOKEN).env("GITHUB_API_URL", &gh.url).output().unwrap()
}

fn stdout(gh: &GitHub, out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).replace(&gh.url, "http://github.test")
}

fn shas(text: &str) -> String {
    // Head commits differ run to run (commit times): show their length only.
    let mut out = String::new();
    for line in text.lines() {
        match line.rsplit_once(" at ") {
            Some((start, sha)) if sha.len() == 12 => out.push_str(&format!("{start} at <sha>\n")),
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

#[test]
fn merge_prints_its_plan_and_writes_nothing_without_yes() {
    let (gh, dir) = fleet();
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_snapshot!(shas(&stdout(&gh, &out)), @r"
    skipped acme/pending#2: checks pending, not approved
    skipped acme/unapproved#3: not approved
    skipped acme/drafted#4: draft
    skipped acme/conflict#5: conflicts with its base
    skipped acme/colleague: no pull request from bca-bot:bca/bump-logging
    skipped acme/unmarked#9: not the Change's, left alone: its description has no bca marker
    would merge acme/ready#1 (http://github.test/acme/ready/pull/1) by squash at <sha>
    would queue acme/queue#7 (http://github.test/acme/queue/pull/7) by squash at <sha>
    2 pull request(s) ready; run again with --yes to merge them (about 2s: one at a time, a second apart)
    9 pull request(s): 1 merged, 2 ready, 6 left
    ");
    assert!(!gh.log().iter().any(|l| l.starts_with("PUT")), "{:?}", gh.log());
    assert!(!gh.graphql_queries().iter().any(|q| q.contains("mutation")));
}

#[test]
fn merge_with_yes_merges_exactly_the_ready_ones_a_second_apart() {
    let (gh, dir) = fleet();
    let started = std::time::Instant::now();
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--yes"]);
    // Two writes (one merge, one enqueue), at least a second apart.
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(1), "not everything is merged: {}", shown(&out));
    let text = stdout(&gh, &out);
    assert!(text.ends_with("9 pull request(s): 2 merged, 1 queued, 6 left\n"), "{text}");
    let merged: Vec<String> = gh.pulls().iter().filter(|p| p.merged_with.is_some()).map(|p| p.repo.clone()).collect();
    assert_eq!(merged, ["acme/ready"]);
    let ready = gh.pulls().into_iter().find(|p| p.repo == "acme/ready").unwrap();
    assert_eq!(ready.merged_with.unwrap(), ("squash".to_string(), gh.head("bca-bot/ready", BRANCH).unwrap()));
    assert!(gh.pulls().iter().any(|p| p.repo == "acme/queue" && p.queued && !p.merged));
    support::tools::assert_valid_github_graphql(&gh.graphql_queries());

    // What status says now: the table's merge column, and the burndown. (Status reads
    // the fleet in batches and does not prove ownership: the unmarked pull request reads
    // as ready there, and bca merge leaves it.)
    let out = bca_in(&gh, dir.path(), &["status", "change.yaml"]);
    assert_snapshot!(stdout(&gh, &out), @r"
    REPOSITORY                  STATE   PR  CHECKS   REVIEW       MERGE                         JOB
    github.com/acme/ready       merged  #1  success  approved     -                             -
    github.com/acme/pending     open    #2  pending  no-reviewer  checks pending, not approved  -
    github.com/acme/unapproved  open    #3  success  no-reviewer  not approved                  -
    github.com/acme/drafted     draft   #4  success  approved     draft                         -
    github.com/acme/conflict    open    #5  success  approved     conflicts with its base       -
    github.com/acme/done        merged  #6  success  approved     -                             -
    github.com/acme/queue       open    #7  success  approved     queued                        -
    github.com/acme/colleague   none    -   none     none         -                             -
    github.com/acme/unmarked    open    #9  success  approved     ready to merge                -

    9 repositories: 2 merged, 6 open (1 ready to merge, 0 failing checks, 2 without reviewer), 1 without a pull request
    read with 3 request(s) to GitHub, 2 GraphQL point(s)
    ");
}

#[test]
fn status_shows_what_is_ready_and_why_the_rest_is_not() {
    let (gh, dir) = fleet();
    std::fs::write(dir.path().join("change.yaml"), change("  merge:\n    when: green\n")).unwrap();
    let out = bca_in(&gh, dir.path(), &["status", "change.yaml", "--json"]);
    let rows: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let merge_of = |repo: &str| {
        rows.iter().find(|r| r["repository"] == format!("https://github.com/{repo}")).unwrap()["merge"].clone()
    };
    assert_eq!(merge_of("acme/ready"), serde_json::json!({"state": "ready"}));
    // Green is enough for `when: green`.
    assert_eq!(merge_of("acme/unapproved"), serde_json::json!({"state": "ready"}));
    assert_eq!(merge_of("acme/pending"), serde_json::json!({"state": "waiting", "why": "checks pending"}));
    assert_eq!(merge_of("acme/drafted"), serde_json::json!({"state": "waiting", "why": "draft"}));
    assert_eq!(merge_of("acme/done"), serde_json::Value::Null);
    assert_eq!(rows.last().unwrap()["summary"]["readyToMerge"], 4, "{rows:?}");
}

#[test]
fn merge_exits_0_once_everything_asked_for_is_merged() {
    let (gh, dir) = fleet();
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--repo", "acme/ready", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert!(stdout(&gh, &out).ends_with("1 pull request(s): 1 merged, 0 left\n"));
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--repo", "acme/ready"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(stdout(&gh, &out), "nothing is ready to merge\n1 pull request(s): 1 merged, 0 left\n");
}

/// The same Change given twice (or two files of one name) merges each pull request once.
#[test]
fn a_pull_request_named_twice_is_merged_once() {
    let (gh, dir) = fleet();
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "change.yaml", "--repo", "acme/ready", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(gh.log().iter().filter(|l| l.starts_with("PUT")).count(), 1);
}

#[test]
fn a_secondary_rate_limit_is_waited_out() {
    let (gh, dir) = fleet();
    gh.fail(
        "PUT",
        "/repos/acme/ready/pulls/1/merge",
        403,
        &[("retry-after", "1")],
        r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        1,
    );
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--repo", "acme/ready", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let puts = gh.log().iter().filter(|l| l.starts_with("PUT /repos/acme/ready/pulls/1/merge")).count();
    assert_eq!(puts, 2);
}

#[test]
fn a_head_that_moved_since_the_read_is_not_merged() {
    let (gh, dir) = fleet();
    gh.fail(
        "PUT",
        "/repos/acme/ready/pulls/1/merge",
        409,
        &[],
        r#"{"message":"Head branch was modified. Review and try the merge again."}"#,
        1,
    );
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--repo", "acme/ready", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(stdout(&gh, &out).contains(
        "failed acme/ready#1: its head moved after bca checked it (GitHub: Head branch was modified. Review and try \
         the merge again.); nothing was merged"
    ));
    assert!(!gh.pulls()[0].merged);
}

/// GitHub refuses a merge its own rules do not allow (405): said in its words, and the
/// rest go on.
#[test]
fn a_merge_github_refuses_is_named_in_its_words() {
    let (gh, dir) = fleet();
    gh.fail(
        "PUT",
        "/repos/acme/ready/pulls/1/merge",
        405,
        &[],
        r#"{"message":"Repository rule violations found: 2 of 2 required status checks are expected."}"#,
        1,
    );
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let text = stdout(&gh, &out);
    assert!(
        text.contains(
            "failed acme/ready#1: GitHub will not merge it: Repository rule violations found: 2 of 2 required status \
             checks are expected."
        ),
        "{text}"
    );
    assert!(text.ends_with("9 pull request(s): 1 merged, 1 queued, 1 failed, 6 left\n"), "{text}");
}

#[test]
fn merge_names_a_repository_that_is_not_in_the_change() {
    let (gh, dir) = fleet();
    let out = bca_in(&gh, dir.path(), &["merge", "change.yaml", "--repo", "acme/redy"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--repo acme/redy is not one of the Change's repositories"), "{stderr}");
}

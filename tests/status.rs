//! `bca status` against the GitHub stand-in: a fleet mixing merged, open with failing
//! checks, draft, approved, no pull request, and a pod that failed, in each output.

mod support;

#[path = "../runner/tests/support/github.rs"]
mod github;

use github::GitHub;
use insta::assert_snapshot;
use support::{bca, shown};

const TOKEN: &str = "ghp_status_read_token_0123456789";
const BRANCH: &str = "bca/bump-logging";

fn change(repos: &[&str]) -> String {
    let repos: Vec<String> = repos.iter().map(|r| format!("https://github.com/{r}")).collect();
    format!(
        "kind: Change\napiVersion: v1\nmetadata:\n  name: bump-logging\nspec:\n  prompt: Bump logging\n  agent: copilot-cli\n  repos: [{}]\n",
        repos.join(", ")
    )
}

/// A fleet in every state: merged, open with failing checks, draft, approved, closed by
/// a person, none (with a colleague's pull request from the same branch name), archived,
/// renamed, missing, and one since removed from the Change.
fn fleet() -> GitHub {
    let gh = GitHub::start(TOKEN, "bca-bot");
    for repo in [
        "acme/merged",
        "acme/failing",
        "acme/drafted",
        "acme/approved",
        "acme/nothing",
        "acme/removed",
        "acme/closed",
        "acme/frozen",
        "acme/old-name",
    ] {
        gh.add_repo(repo, &[("README.md", "# x\n")], &[]);
    }
    let (n, _) = gh.add_pull("acme/merged", "bca-bot", BRANCH, false);
    gh.finish("acme/merged", n, true);
    let (n, sha) = gh.add_pull("acme/failing", "bca-bot", BRANCH, false);
    gh.add_check_run("acme/failing", &sha, "completed", Some("success"));
    gh.add_check_run("acme/failing", &sha, "completed", Some("failure"));
    let _ = n;
    let (_, sha) = gh.add_pull("acme/drafted", "bca-bot", BRANCH, true);
    gh.add_check_run("acme/drafted", &sha, "in_progress", None);
    let (n, sha) = gh.add_pull("acme/approved", "bca-bot", BRANCH, false);
    // A commit with no statuses is "pending" with total_count 0: that is not pending.
    gh.add_check_run("acme/approved", &sha, "completed", Some("success"));
    gh.add_review("acme/approved", n, "carol", "APPROVED");
    // A repository since removed from the Change, its pull request still open.
    gh.add_pull("acme/removed", "bca-bot", BRANCH, false);
    let (n, _) = gh.add_pull("acme/closed", "bca-bot", BRANCH, false);
    gh.finish("acme/closed", n, false);
    gh.add_pull("acme/frozen", "bca-bot", BRANCH, false);
    gh.archive("acme/frozen");
    gh.rename("acme/old-name", "acme/new-name");
    // Not bca's: the same branch name, pushed by someone else.
    gh.add_pull("acme/nothing", "colleague", BRANCH, false);
    gh
}

fn status(gh: &GitHub, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    bca()
        .current_dir(dir)
        .args(["status", "change.yaml"])
        .args(args)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap()
}

/// What `kubectl get pods -o json` shows for the repository whose clone failed.
fn pods_json() -> String {
    let contract = serde_json::json!({
        "version": bca_runner::CONTRACT_VERSION, "changeId": "x", "changeName": "bump-logging",
        "work": {"fingerprint": "f", "parts": {}}, "repository": "https://github.com/acme/nothing",
        "baseBranch": "main", "headBranch": BRANCH, "agent": "copilot-cli", "prompt": "Bump logging",
        "pullRequestTitle": "t", "pullRequestBody": "b", "commitMessage": "m",
    });
    serde_json::json!({
        "apiVersion": "v1", "kind": "List",
        "items": [{
            "metadata": { "name": "p", "creationTimestamp": "2026-12-01T10:00:00Z",
                          "annotations": { "bca.dev/run-contract": contract.to_string() } },
            "status": { "phase": "Failed", "initContainerStatuses": [
                { "name": "fork", "state": { "terminated": { "exitCode": 0 } } },
                { "name": "clone", "state": { "terminated": { "exitCode": 3,
                  "message": "clone: https://github.com/acme/nothing: the base branch main does not exist in https://github.com/acme/nothing: fix spec.branch in the Change" } } }
            ] }
        }]
    })
    .to_string()
}

fn setup() -> (GitHub, tempfile::TempDir) {
    let gh = fleet();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("change.yaml"),
        change(&[
            "acme/merged",
            "acme/failing",
            "acme/drafted",
            "acme/approved",
            "acme/nothing",
            "acme/closed",
            "acme/frozen",
            "acme/old-name",
            "acme/ghost",
        ]),
    )
    .unwrap();
    std::fs::write(dir.path().join("pods.json"), pods_json()).unwrap();
    (gh, dir)
}

fn filtered(gh: &GitHub, text: String) -> String {
    text.replace(&gh.url, "http://github.test")
}

#[test]
fn the_table_shows_every_repository_and_the_burndown() {
    let (gh, dir) = setup();
    let out = status(&gh, dir.path(), &["--pods", "pods.json"]);
    assert_snapshot!(filtered(&gh, shown(&out)));
}

#[test]
fn json_has_one_object_per_repository() {
    let (gh, dir) = setup();
    let out = status(&gh, dir.path(), &["--json"]);
    assert_snapshot!(filtered(&gh, shown(&out)));
}

#[test]
fn markdown_for_a_tracking_issue() {
    let (gh, dir) = setup();
    let out = status(&gh, dir.path(), &["--markdown", "--pods", "pods.json"]);
    assert_snapshot!(filtered(&gh, shown(&out)));
}

#[test]
fn a_fleet_that_is_all_merged_exits_0() {
    let gh = fleet();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change(&["acme/merged"])).unwrap();
    let out = status(&gh, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

#[test]
fn errors_a_user_can_meet_are_named() {
    let (gh, dir) = setup();
    let no_token = bca().current_dir(dir.path()).args(["status", "change.yaml"]).output().unwrap();
    assert_eq!(no_token.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_token.stderr).contains("bca status reads GitHub with the token in GITHUB_TOKEN")
    );
    let rejected = bca()
        .current_dir(dir.path())
        .args(["status", "change.yaml"])
        .env("GITHUB_TOKEN", "ghp_wrong_token_00000")
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap();
    assert_eq!(rejected.status.code(), Some(2), "{}", shown(&rejected));
    assert!(
        String::from_utf8_lossy(&rejected.stderr)
            .contains("GitHub refused the token in GITHUB_TOKEN (401 Bad credentials)"),
        "{}",
        shown(&rejected)
    );
    // A repository GitHub does not know is a row, not the end of the command.
    std::fs::write(dir.path().join("change.yaml"), change(&["acme/gone", "acme/merged"])).unwrap();
    let missing = status(&gh, dir.path(), &[]);
    assert_eq!(missing.status.code(), Some(1), "{}", shown(&missing));
    let stdout = String::from_utf8_lossy(&missing.stdout);
    let gone: Vec<&str> =
        stdout.lines().find(|l| l.starts_with("github.com/acme/gone")).unwrap().split_whitespace().collect();
    assert_eq!(gone[..5], ["github.com/acme/gone", "missing", "-", "none", "none"], "{stdout}");
    assert!(stdout.contains("not found, or the token cannot read it"), "{stdout}");
    assert!(stdout.contains("2 repositories: 1 merged, 0 open") && stdout.contains(", 1 missing\n"), "{stdout}");
    // --pods is read before GitHub is asked.
    let bad_pods = status(&gh, dir.path(), &["--pods", "no-such-file.json"]);
    assert_eq!(bad_pods.status.code(), Some(2), "{}", shown(&bad_pods));
    assert!(
        String::from_utf8_lossy(&bad_pods.stderr).contains("reading --pods no-such-file.json"),
        "{}",
        shown(&bad_pods)
    );
}

#[test]
fn close_orphaned_says_what_it_would_do_then_closes_exactly_those() {
    let (gh, dir) = setup();
    let close = |extra: &[&str]| {
        bca()
            .current_dir(dir.path())
            .args(["close", "change.yaml", "--orphaned"])
            .args(extra)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &gh.url)
            .output()
            .unwrap()
    };
    let dry = close(&[]);
    assert_snapshot!(filtered(&gh, shown(&dry)), @r"
    exit: 1
    ----- stdout -----
    would close acme/removed#5 (http://github.test/acme/removed/pull/5) and delete bca-bot/removed:bca/bump-logging
    1 pull request(s); run again with --yes to close them
    ----- stderr -----
    ");
    // acme/closed was closed by a person before.
    let closed = |gh: &GitHub| gh.pulls().iter().filter(|p| p.state == "closed" && !p.merged).count();
    assert_eq!(closed(&gh), 1, "the dry run closed something");
    let writes: Vec<String> = gh
        .log()
        .into_iter()
        .filter(|r| !r.starts_with("GET ") && r != "POST /graphql" && !r.starts_with("GRAPHQL "))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "the dry run wrote to GitHub");
    assert!(gh.head("bca-bot/removed", BRANCH).is_some(), "the dry run deleted the branch");
    let done = close(&["--yes"]);
    assert_eq!(done.status.code(), Some(0), "{}", shown(&done));
    let pulls = gh.pulls();
    let closed: Vec<&str> =
        pulls.iter().filter(|p| p.state == "closed" && !p.merged).map(|p| p.repo.as_str()).collect();
    assert_eq!(closed, ["acme/removed", "acme/closed"]);
    let removed = pulls.iter().find(|p| p.repo == "acme/removed").unwrap();
    assert_eq!(
        removed.comments,
        ["Closed by bca: its repository is no longer in the Change. The branch it came from is deleted."]
    );
    assert_eq!(gh.head("bca-bot/removed", BRANCH), None, "the branch is still there");
    // Nothing is left to close.
    assert!(String::from_utf8_lossy(&close(&["--yes"]).stdout).contains("no open pull requests to close"));
}

#[test]
fn close_repo_closes_that_repositorys_pull_request_only() {
    let (gh, dir) = setup();
    let out = bca()
        .current_dir(dir.path())
        .args(["close", "change.yaml", "--repo", "acme/failing", "--yes"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let closed: Vec<String> =
        gh.pulls().iter().filter(|p| p.state == "closed" && !p.merged).map(|p| p.repo.clone()).collect();
    // acme/closed was closed by a person before.
    assert_eq!(closed, ["acme/failing", "acme/closed"]);
    assert_eq!(gh.head("bca-bot/failing", BRANCH), None);
}

#[test]
fn close_names_a_repository_that_is_not_in_the_change() {
    let (gh, dir) = setup();
    let out = bca()
        .current_dir(dir.path())
        .args(["close", "change.yaml", "--repo", "acme/elsewhere"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--repo acme/elsewhere is not one of the Change's repositories")
    );
}

/// The token goes to github.com, or to the one Enterprise host `--github-host` names:
/// a Change file naming another host gets nothing, from status or from close.
#[test]
fn a_repository_on_another_host_gets_no_token() {
    let gh = fleet();
    let dir = tempfile::tempdir().unwrap();
    let change = change(&["acme/merged"]).replace("https://github.com/acme/merged", "https://evil.example/acme/merged");
    std::fs::write(dir.path().join("change.yaml"), change).unwrap();
    let out = status(&gh, dir.path(), &[]);
    assert_snapshot!(shown(&out), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: change.yaml: https://evil.example/acme/merged is on evil.example, and the GitHub token is sent only to github.com: if evil.example is your GitHub Enterprise host, pass --github-host evil.example
    ");
    let out = status(&gh, dir.path(), &["--github-host", "ghe.example.com"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("but --github-host is ghe.example.com"), "{}", shown(&out));
    let close = bca()
        .current_dir(dir.path())
        .args(["close", "change.yaml", "--yes"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap();
    assert_eq!(close.status.code(), Some(2), "{}", shown(&close));
    assert!(String::from_utf8_lossy(&close.stderr).contains("the GitHub token is sent only to github.com"));
    assert_eq!(gh.log(), Vec::<String>::new(), "a request reached GitHub");
}

/// `--pods` that is not what `kubectl get pods -o json` prints is named as such.
#[test]
fn pods_that_are_not_kubectls_json_are_named() {
    let (gh, dir) = setup();
    std::fs::write(dir.path().join("pods.json"), "not json").unwrap();
    let out = status(&gh, dir.path(), &["--pods", "pods.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--pods pods.json: expected the JSON of `kubectl get pods -o json`"), "{stderr}");
    std::fs::write(dir.path().join("pods.json"), r#"{"kind": "Pod"}"#).unwrap();
    let out = status(&gh, dir.path(), &["--pods", "pods.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--pods pods.json: expected the JSON of `kubectl get pods -o json` (a List with items)"),
        "{stderr}"
    );
    let out = status(&gh, dir.path(), &["--pods", "missing.json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading --pods missing.json"), "{}", shown(&out));
}

/// Runs `bca status` on `repos` API-only repositories with a pull request each.
fn fleet_of(gh: &GitHub, repos: usize) -> tempfile::TempDir {
    let mut names = Vec::new();
    for i in 0..repos {
        let name = format!("fleet/svc-{i:05}");
        gh.add_api_repo(&name);
        gh.add_api_pull(&name, "bca-bot", BRANCH, &format!("{i:040x}"));
        names.push(name);
    }
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    std::fs::write(dir.path().join("change.yaml"), change(&names)).unwrap();
    dir
}

fn summary(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(last).unwrap_or_else(|e| panic!("{e}: {}", shown(out)))["summary"].clone()
}

#[test]
fn two_thousand_repositories_take_one_request_per_fifty() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    let dir = fleet_of(&gh, 2000);
    let out = status(&gh, dir.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let summary = summary(&out);
    assert_eq!(summary["states"]["open"], 2000, "{summary}");
    let log = gh.log();
    let graphql = log.iter().filter(|l| *l == "POST /graphql").count();
    assert_eq!(graphql, 40, "2,000 repositories at 50 a query");
    // The rest: whose token it is, and the orphan search (one owner).
    let rest: Vec<&String> = log.iter().filter(|l| *l != "POST /graphql" && !l.starts_with("GRAPHQL ")).collect();
    assert_eq!(rest, ["GET /user", "GET /search/issues"]);
    assert_eq!(summary["requests"], 42);
    // 13 points a query: within 2,600 of the 5,000 an hour at 10,000 repositories.
    assert!(summary["graphqlPoints"].as_u64().unwrap() <= 40 * 13, "{summary}");
}

#[test]
fn a_query_github_refuses_as_too_big_or_times_out_is_asked_again_in_halves() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    let dir = fleet_of(&gh, 100);
    gh.limit_graphql_repositories(20);
    // And the first query times out, as GitHub's 10-second limit answers.
    gh.fail("POST", "/graphql", 502, &[], r#"{"message":"Server Error"}"#, 1);
    let out = status(&gh, dir.path(), &["--json"]);
    assert_eq!(summary(&out)["states"]["open"], 100, "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("asking again for 25 repositories at a time"), "{stderr}");
    assert!(
        stderr.contains("GitHub left out 25 of 25 repositories (Resource limits for this query exceeded.)"),
        "{stderr}"
    );
    // Every query that reached GitHub's parser asked about at most what it allows, in the end.
    let sizes: Vec<usize> = gh.graphql_queries().iter().map(|q| q.matches(": repository(").count()).collect();
    assert!(sizes.iter().filter(|n| **n <= 20).sum::<usize>() >= 100, "{sizes:?}");
}

#[test]
fn a_repository_github_cannot_answer_even_alone_is_a_row() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    let dir = fleet_of(&gh, 3);
    gh.limit_graphql_repositories(0);
    let out = status(&gh, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("unreadable") && stdout.contains("GitHub could not answer for it: Resource limits"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "3 repositories: 0 merged, 0 open (0 ready to merge, 0 failing checks, 0 without reviewer), 3 unreadable"
        ),
        "{stdout}"
    );
}

#[test]
fn every_query_bca_sends_is_valid_against_githubs_published_schema() {
    let (gh, dir) = setup();
    assert!(status(&gh, dir.path(), &[]).status.code().is_some());
    let queries = gh.graphql_queries();
    assert!(!queries.is_empty(), "bca sent no GraphQL query");
    support::tools::assert_valid_github_graphql(&queries);
    // The check can fail: a field GitHub does not have is named.
    let bad = queries[0].replace("isArchived", "isArchivd");
    let problems = support::tools::github_graphql_problems(&[bad]);
    assert!(problems.contains("Cannot query field \"isArchivd\" on type \"Repository\""), "{problems}");
}

#[test]
fn close_skips_a_missing_renamed_or_archived_repository_and_says_why() {
    let (gh, dir) = setup();
    let out = bca()
        .current_dir(dir.path())
        .args(["close", "change.yaml"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &gh.url)
        .output()
        .unwrap();
    assert_snapshot!(filtered(&gh, shown(&out)), @r"
    exit: 1
    ----- stdout -----
    skipped acme/frozen: archived: read-only, nothing can be pushed or merged
    skipped acme/old-name: now acme/new-name: put its new URL in spec.repos
    skipped acme/ghost: not found, or the token cannot read it
    would close acme/failing#2 (http://github.test/acme/failing/pull/2) and delete bca-bot/failing:bca/bump-logging
    would close acme/drafted#3 (http://github.test/acme/drafted/pull/3) and delete bca-bot/drafted:bca/bump-logging
    would close acme/approved#4 (http://github.test/acme/approved/pull/4) and delete bca-bot/approved:bca/bump-logging
    3 pull request(s); run again with --yes to close them
    ----- stderr -----
    ");
}

#[test]
fn a_rate_limited_query_is_waited_out() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    let dir = fleet_of(&gh, 3);
    gh.fail(
        "POST",
        "/graphql",
        403,
        &[("retry-after", "1")],
        r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        1,
    );
    let out = status(&gh, dir.path(), &["--json"]);
    assert_eq!(summary(&out)["states"]["open"], 3, "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("POST /graphql: 403, retrying in 1s"), "{}", shown(&out));
}

#[test]
fn what_github_cannot_answer_is_said_never_read_as_a_fact() {
    // A query GitHub refuses whole for another reason than its size ends the read with
    // GitHub's words (a smaller one would be refused the same way).
    let gh = GitHub::start(TOKEN, "bca-bot");
    let dir = fleet_of(&gh, 2);
    let refusal = r#"{"errors":[{"message":"Field 'autoMergeRequest' doesn't exist on type 'PullRequest'","extensions":{"code":"undefinedField"}}]}"#;
    gh.fail("POST", "/graphql", 200, &[], refusal, 1);
    let out = status(&gh, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "GitHub refused bca's query for pull requests: Field 'autoMergeRequest' doesn't exist on type 'PullRequest'"
        ),
        "{}",
        shown(&out)
    );
    assert_eq!(gh.log().iter().filter(|l| *l == "POST /graphql").count(), 1, "asked again for a refusal");
    // A part GitHub would not give (a token that may not read pull requests) makes the
    // row unreadable, not "none".
    let partial = r#"{"data":{"r0":{"nameWithOwner":"fleet/svc-00000","isArchived":false,"pullRequests":null},"r1":{"nameWithOwner":"fleet/svc-00001","isArchived":false,"pullRequests":{"pageInfo":{"hasNextPage":false},"nodes":[]}},"rateLimit":{"cost":1}},"errors":[{"type":"FORBIDDEN","path":["r0","pullRequests"],"message":"Resource not accessible by integration"}]}"#;
    // A 503 first, asked again as it was.
    gh.fail("POST", "/graphql", 503, &[], r#"{"message":"Service Unavailable"}"#, 1);
    gh.fail("POST", "/graphql", 200, &[], partial, 1);
    // A search GitHub refuses for an owner is a warning.
    gh.fail("GET", "/search/issues", 422, &[], r#"{"message":"Validation Failed","errors":[{"message":"The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them."}]}"#, 1);
    let out = status(&gh, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| stdout.lines().find(|l| l.contains(name)).unwrap_or_default().to_string();
    assert!(
        row("svc-00000").contains("unreadable") && row("svc-00000").contains("Resource not accessible by integration"),
        "{stdout}"
    );
    assert!(row("svc-00001").split_whitespace().nth(1) == Some("none"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("POST /graphql: 503, retrying in 1s"), "{stderr}");
    assert!(
        stderr.contains("warning: could not search fleet's repositories for orphaned pull requests: GitHub refused"),
        "{stderr}"
    );
}

/// What is not bca's is left alone and named: a colleague's pull request from a branch of
/// the same name, one another account opened on bca's branch, one from a branch GitHub's
/// prefix search also matches; and a branch with a reviewer's commit on it is kept.
#[test]
fn close_acts_only_on_the_changes_own_pull_requests() {
    let (gh, dir) = setup();
    for repo in ["acme/colleague", "acme/outsider", "acme/v2", "acme/reviewed"] {
        gh.add_repo(repo, &[("README.md", "# x\n")], &[]);
    }
    let (colleague, _) = gh.add_pull("acme/colleague", "colleague", BRANCH, false);
    let (outsider, _) = gh.add_pull("acme/outsider", "bca-bot", BRANCH, false);
    gh.set_author("acme/outsider", outsider, "outsider");
    gh.add_pull("acme/v2", "bca-bot", "bca/bump-logging-v2", false);
    let (reviewed, _) = gh.add_pull("acme/reviewed", "bca-bot", BRANCH, false);
    gh.commit("bca-bot/reviewed", BRANCH, "REVIEW.md", "a reviewer's fix\n");
    let close = |extra: &[&str]| {
        bca()
            .current_dir(dir.path())
            .args(["close", "change.yaml", "--orphaned"])
            .args(extra)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &gh.url)
            .output()
            .unwrap()
    };
    let out = close(&["--yes"]);
    let stdout = filtered(&gh, String::from_utf8_lossy(&out.stdout).into_owned());
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    for line in [
        format!("skipped acme/colleague#{colleague}: not the Change's, left alone: it comes from colleague's repository, not bca-bot's"),
        format!("skipped acme/outsider#{outsider}: not the Change's, left alone: outsider opened it, not bca-bot (GITHUB_TOKEN's account)"),
        "not the Change's, left alone: it comes from branch bca/bump-logging-v2, not the Change's bca/bump-logging".to_string(),
        format!("closing acme/reviewed#{reviewed} (http://github.test/acme/reviewed/pull/{reviewed}) and keep bca-bot/reviewed:bca/bump-logging (its tip is a commit bca did not make)"),
        "closing acme/removed#5 (http://github.test/acme/removed/pull/5) and delete bca-bot/removed:bca/bump-logging".to_string(),
    ] {
        assert!(stdout.contains(&line), "{line}\n---\n{stdout}");
    }
    let open: Vec<String> = gh.pulls().iter().filter(|p| p.state == "open").map(|p| p.repo.clone()).collect();
    for repo in ["acme/colleague", "acme/outsider", "acme/v2"] {
        assert!(open.contains(&repo.to_string()), "{repo} was closed");
    }
    assert!(gh.head("bca-bot/reviewed", BRANCH).is_some(), "the reviewer's commit was deleted");
    assert!(gh.head("colleague/colleague", BRANCH).is_some(), "the colleague's branch was deleted");
    assert_eq!(gh.head("bca-bot/removed", BRANCH), None);
}

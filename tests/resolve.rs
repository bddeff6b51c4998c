//! `spec.select` and `bca resolve` against the GitHub stand-in (organisation and user
//! listings with `Link` pagination, repository search with its 1,000-result cap, topics,
//! languages, archived and fork flags, file lookups), and the lockfile every other
//! command reads instead of GitHub.

mod support;

#[path = "../runner/tests/support/github.rs"]
mod github;

use github::GitHub;
use insta::assert_snapshot;
use support::{bca, shown};

const TOKEN: &str = "ghp_resolve_read_token_0123456789";

const SELECT: &str = "  select:\n    owners: [acme, alice]\n    hasFiles: [go.mod]\n    exclude: [\"acme/legacy-*\"]\n";

fn change(select: &str) -> String {
    format!(
        "kind: Change\napiVersion: v1\nmetadata:\n  name: bump-logging\nspec:\n  prompt: Bump logging\n  agent: copilot-cli\n{select}"
    )
}

/// An organisation and a user: Go repositories with go.mod (one on another default
/// branch), a TypeScript one, an archived one, a fork, one whose owners opted out, one
/// an exclude glob names, and more than a page of others.
fn fleet() -> GitHub {
    let gh = GitHub::start(TOKEN, "bca-bot");
    gh.add_org("acme");
    let repo = |name: &str, language: &str, topics: &[&str], files: &[&str]| {
        gh.add_api_repo(name);
        gh.describe(name, topics, Some(language));
        gh.set_files(name, "main", files);
    };
    repo("acme/api", "Go", &["backend"], &["go.mod", "main.go"]);
    repo("acme/web", "TypeScript", &["frontend"], &["package.json"]);
    repo("acme/billing", "Go", &["backend", "payments"], &["go.mod"]);
    gh.set_files("acme/billing", "trunk", &["go.mod"]);
    repo("acme/old", "Go", &[], &["go.mod"]);
    gh.archive("acme/old");
    repo("acme/fork-of-x", "Go", &[], &["go.mod"]);
    gh.mark_fork("acme/fork-of-x");
    repo("acme/private-opt", "Go", &[], &["go.mod", ".bca/ignore"]);
    repo("acme/legacy-auth", "Go", &[], &["go.mod"]);
    // More than a page of 100: the listing follows GitHub's Link header.
    for i in 0..120 {
        repo(&format!("acme/docs-{i:03}"), "Markdown", &[], &["README.md"]);
    }
    repo("alice/tool", "Go", &[], &["go.mod"]);
    gh
}

fn bca_in(gh: Option<&GitHub>, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = bca();
    cmd.current_dir(dir).args(args).env_remove("GITHUB_TOKEN").env_remove("GITHUB_API_URL");
    if let Some(gh) = gh {
        cmd.env("GITHUB_TOKEN", TOKEN).env("GITHUB_API_URL", &gh.url);
    }
    cmd.output().unwrap()
}

fn setup(select: &str) -> (GitHub, tempfile::TempDir) {
    let gh = fleet();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change(select)).unwrap();
    (gh, dir)
}

fn lockfile(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("change.lock.yaml")).unwrap()
}

#[test]
fn resolve_selects_by_owner_and_file_and_writes_a_lockfile() {
    let (gh, dir) = setup(SELECT);
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_snapshot!(String::from_utf8_lossy(&out.stdout), @r"
    change.yaml: 3 repositories selected, 4 excluded (read with 8 request(s) to GitHub, 3 GraphQL point(s))
      change.lock.yaml is new
    wrote change.lock.yaml
    ");
    assert_snapshot!(lockfile(&dir), @r#"
    # Written by `bca resolve`: the repositories spec.select chose, as GitHub answered.
    # Commit it with the Change; to change it, edit spec.select and run bca resolve again.
    apiVersion: v1
    kind: ChangeLock
    excluded:
    - url: https://github.com/acme/fork-of-x
      why: fork
    - url: https://github.com/acme/legacy-auth
      why: "excluded by acme/legacy-*"
    - url: https://github.com/acme/old
      why: archived
    - url: https://github.com/acme/private-opt
      why: "opted out with .bca/ignore"
    host: github.com
    repositories:
    - commit: "000000000000000000000000000007f09ee04ccc"
      defaultBranch: main
      matched:
      - "owner acme"
      - "has go.mod"
      url: https://github.com/acme/api
    - commit: "0000000000000000000000006fe34eca92664c2d"
      defaultBranch: trunk
      matched:
      - "owner acme"
      - "has go.mod"
      url: https://github.com/acme/billing
    - commit: "000000000000000000000000001dd525ee7e170e"
      defaultBranch: main
      matched:
      - "owner alice"
      - "has go.mod"
      url: https://github.com/alice/tool
    select: "sha256:bfe09baa69e217f50a8d128a1108f4a7a4c78ae3c45dc01cdc6d1bfa53345dcf"
    "#);
    // The organisation's listing took two pages, the user's one.
    let lists: Vec<String> = gh
        .log()
        .into_iter()
        .filter(|l| l.contains("/repos") && l.starts_with("GET /orgs") || l.starts_with("GET /users"))
        .collect();
    assert_eq!(lists.len(), 4, "{lists:?}");
    // Resolving again changes nothing.
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("change.lock.yaml is up to date\n"), "{}", shown(&out));
}

#[test]
fn every_query_resolve_sends_is_valid_against_githubs_published_schema() {
    let (gh, dir) = setup(SELECT);
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let queries = gh.graphql_queries();
    assert!(!queries.is_empty());
    support::tools::assert_valid_github_graphql(&queries);
}

#[test]
fn topics_languages_and_search_narrow_it_down() {
    let (gh, dir) = setup("  select:\n    owners: [acme]\n    topics: [backend]\n    languages: [go]\n");
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let text = lockfile(&dir);
    assert!(text.contains("url: https://github.com/acme/api") && text.contains("url: https://github.com/acme/billing"));
    assert!(!text.contains("acme/web") && !text.contains("alice/tool"), "{text}");
    assert!(text.contains("- \"topics backend\"\n") && text.contains("- \"language Go\"\n"), "{text}");

    let (gh, dir) = setup("  select:\n    search: \"language:typescript\"\n");
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let text = lockfile(&dir);
    assert!(text.contains("url: https://github.com/acme/web") && !text.contains("acme/api"), "{text}");
    assert!(gh.log().iter().any(|l| l.starts_with("GET /search/repositories")));
}

#[test]
fn render_reads_the_lockfile_never_github_and_gives_each_repository_its_default_branch() {
    let (gh, dir) = setup(SELECT);
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    drop(gh); // No stand-in from here on: render, validate and diff cannot ask GitHub.
    let first = bca_in(None, dir.path(), &["render", "change.yaml"]);
    assert_eq!(first.status.code(), Some(0), "{}", shown(&first));
    let second = bca_in(None, dir.path(), &["render", "change.yaml"]);
    assert_eq!(first.stdout, second.stdout, "render is not deterministic");
    // A glob gives the lockfile too (`bca render *.yaml`): it is the Change's, not a Change.
    let globbed = bca_in(None, dir.path(), &["render", "change.lock.yaml", "change.yaml"]);
    assert_eq!(first.stdout, globbed.stdout, "{}", shown(&globbed));
    let docs = support::k8s::documents(&String::from_utf8_lossy(&first.stdout));
    let contracts: Vec<serde_json::Value> = docs
        .iter()
        .filter(|d| d["kind"] == "Job")
        .map(|d| {
            let text = d["spec"]["template"]["metadata"]["annotations"]["bca.dev/run-contract"].as_str().unwrap();
            serde_json::from_str(text).unwrap()
        })
        .collect();
    let bases: Vec<(String, String)> = contracts
        .iter()
        .map(|c| (c["repository"].as_str().unwrap().to_string(), c["baseBranch"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        bases,
        [
            ("https://github.com/acme/api".to_string(), "main".to_string()),
            ("https://github.com/acme/billing".to_string(), "trunk".to_string()),
            ("https://github.com/alice/tool".to_string(), "main".to_string()),
        ]
    );
    let out = bca_in(None, dir.path(), &["validate", "change.yaml"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("copilot-cli on 3 repositories"), "{}", shown(&out));
}

#[test]
fn an_indexed_job_carries_each_repositorys_base_branch() {
    let (gh, dir) = setup(&format!("{SELECT}  rollout:\n    parallelism: 1\n"));
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let out = bca_in(None, dir.path(), &["render", "change.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job = support::k8s::documents(&stdout).into_iter().find(|d| d["kind"] == "Job").unwrap();
    let text = job["spec"]["template"]["metadata"]["annotations"]["bca.dev/run-contract"].as_str().unwrap();
    let contract = bca_runner::RunContract::from_json(text).unwrap();
    let billing = contract.clone().for_index(Some("1")).unwrap();
    assert_eq!(
        (billing.repository.as_str(), billing.base_branch.as_str()),
        ("https://github.com/acme/billing", "trunk")
    );
    assert_eq!(contract.for_index(Some("2")).unwrap().base_branch, "main");
}

#[test]
fn a_re_resolve_says_exactly_what_changed_and_check_writes_nothing() {
    let (gh, dir) = setup(SELECT);
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let before = lockfile(&dir);
    gh.archive("acme/api");
    gh.add_api_repo("acme/new");
    gh.set_files("acme/new", "main", &["go.mod"]);
    gh.set_files("alice/tool", "main", &["go.mod", ".bca/ignore"]);
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_snapshot!(String::from_utf8_lossy(&out.stdout).split_once(")\n").unwrap().1, @r"
      added https://github.com/acme/new (owner acme, has go.mod)
      removed https://github.com/acme/api (archived)
      removed https://github.com/alice/tool (opted out with .bca/ignore)
    change.lock.yaml is not up to date: run bca resolve change.yaml and commit it
    ");
    assert_eq!(lockfile(&dir), before, "--check wrote the lockfile");
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

#[test]
fn a_missing_or_stale_lockfile_is_refused_where_spec_select_is() {
    let (gh, dir) = setup(SELECT);
    let out = bca_in(None, dir.path(), &["render", "change.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_snapshot!(String::from_utf8_lossy(&out.stderr), @r"
    change.yaml:8:3: error: spec.select: no lockfile at change.lock.yaml
      |
    8 |   select:
      |   ^^^^^^
      = help: run bca resolve change.yaml to write it, and commit it with the Change
    ");
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    std::fs::write(dir.path().join("change.yaml"), change(&SELECT.replace("[go.mod]", "[go.mod, Makefile]"))).unwrap();
    let out = bca_in(None, dir.path(), &["validate", "change.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_snapshot!(String::from_utf8_lossy(&out.stderr), @r"
    change.yaml:8:3: error: spec.select: change.lock.yaml was resolved from another spec.select
      |
    8 |   select:
      |   ^^^^^^
      = help: run bca resolve change.yaml again, and commit the lockfile with the Change
    ");
}

#[test]
fn a_search_past_githubs_1000_results_is_refused_with_how_to_split_it() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    for i in 0..1001 {
        let name = format!("big/svc-{i:04}");
        gh.add_api_repo(&name);
        gh.describe(&name, &[], Some("Go"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change("  select:\n    search: \"language:go\"\n")).unwrap();
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert_snapshot!(String::from_utf8_lossy(&out.stderr), @r#"
    bca: error: change.yaml: resolving spec.select: GitHub's repository search for "language:go" matched 1001 repositories, more than the 1000 it answers for one query: split it: list the organisations in spec.select.owners (listed without a limit), or narrow the search by topic or language, or use several Changes
    "#);
    assert!(!dir.path().join("change.lock.yaml").exists());

    gh.make_searches_incomplete();
    std::fs::write(dir.path().join("change.yaml"), change("  select:\n    search: \"svc-000\"\n")).unwrap();
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out before finding every match"), "{}", shown(&out));
}

#[test]
fn an_owner_github_does_not_know_is_named() {
    let (gh, dir) = setup("  select:\n    owners: [nobody-here]\n");
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("GitHub knows no organisation or user nobody-here"),
        "{}",
        shown(&out)
    );
}

#[test]
fn resolve_of_a_change_without_select_says_so() {
    let (gh, dir) = setup("  repos: [https://github.com/acme/api]\n");
    let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("change.yaml has no spec.select: its repositories are listed in spec.repos, nothing to resolve"),
        "{}",
        shown(&out)
    );
}

/// GitHub's `Link` header names the next page; one on another host (a lookalike name, or
/// user info before the real host) gets no token and ends the listing.
#[test]
fn a_next_page_on_another_host_gets_no_token() {
    let (gh, dir) = setup("  select:\n    owners: [acme]\n");
    for bad in
        [format!("<{}.evil.example/x>; rel=\"next\"", gh.url), format!("<{}@evil.example/x>; rel=\"next\"", gh.url)]
    {
        gh.fail("GET", "/orgs/acme/repos", 200, &[("Link", bad.as_str())], "[]", 1);
        let out = bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]);
        assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("is on another host"), "{}", shown(&out));
    }
}

/// A lockfile path that is a link (a pull request can add one), or leads outside the
/// Change's directory, is neither read nor written, and what the file holds is never
/// repeated in an error.
#[test]
fn a_lockfile_that_is_a_link_or_elsewhere_is_refused() {
    let (gh, dir) = setup(SELECT);
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "https://x-access-token:ghs_SECRETVALUE@github.com\n").unwrap();
    std::os::unix::fs::symlink(&secret, dir.path().join("change.lock.yaml")).unwrap();
    for args in [&["validate", "change.yaml"][..], &["resolve", "change.yaml"]] {
        let out = bca_in(Some(&gh), dir.path(), args);
        assert_ne!(out.status.code(), Some(0), "{}", shown(&out));
        let text = shown(&out);
        assert!(text.contains("change.lock.yaml is a symbolic link, or lies outside the Change's directory"), "{text}");
        assert!(!text.contains("SECRETVALUE"), "{text}");
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "https://x-access-token:ghs_SECRETVALUE@github.com\n");
    // Not a lockfile at all: said without repeating it.
    std::fs::remove_file(dir.path().join("change.lock.yaml")).unwrap();
    std::fs::copy(&secret, dir.path().join("change.lock.yaml")).unwrap();
    let out = bca_in(None, dir.path(), &["validate", "change.yaml"]);
    let text = shown(&out);
    assert!(text.contains("change.lock.yaml is damaged (it is not a lockfile bca resolve wrote)"), "{text}");
    assert!(!text.contains("SECRETVALUE"), "{text}");
}

/// What a lockfile holds is checked as spec.repos and spec.branch are: a hand edit that
/// keeps the digest does not smuggle in a branch git would not accept.
#[test]
fn a_hand_edited_lockfile_is_checked_like_the_change() {
    let (gh, dir) = setup(SELECT);
    assert!(bca_in(Some(&gh), dir.path(), &["resolve", "change.yaml"]).status.success());
    let text = lockfile(&dir).replacen("defaultBranch: trunk", "defaultBranch: \"main:refs/heads/evil\"", 1);
    std::fs::write(dir.path().join("change.lock.yaml"), text).unwrap();
    let out = bca_in(None, dir.path(), &["render", "change.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("change.lock.yaml is damaged (https://github.com/acme/billing: \"main:refs/heads/evil\" is not a valid git branch name"),
        "{}",
        shown(&out)
    );
}

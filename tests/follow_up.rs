//! `spec.followUp` through `bca run --local --follow-up`: the rendered CronJob's Job,
//! run on this machine against the GitHub stand-in, answers a trusted review comment on
//! the pull request the first run opened.

mod support;

#[path = "../runner/tests/support/github.rs"]
mod github;

use github::{GitHub, Remark};
use support::{run_local_with_args, run_local_with_stand_in, shown};

const TOKEN: &str = "ghp_follow_up_push_token_0123456789";
const CHANGE: &str = "kind: Change\napiVersion: v1\nmetadata:\n  name: thanks\nspec:\n  prompt: Add a line to the README\n  repos: [https://github.com/acme/api]\n  agent: copilot-cli\n  followUp:\n    rounds: 2\n";

#[test]
fn a_local_follow_up_round_answers_a_trusted_review_comment() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    gh.add_repo("acme/api", &[("README.md", "# api\n")], &[]);
    let agent = "echo edited >> README.md\n";
    let out = run_local_with_stand_in(CHANGE, agent, TOKEN, &gh.url);
    assert!(out.status.success(), "{}", shown(&out));
    gh.add_remark(
        "acme/api",
        1,
        Remark {
            id: 0,
            kind: "review-comment".into(),
            user: "alice".into(),
            association: "MEMBER".into(),
            body: "Please add a thank-you line too.".into(),
            created_at: "2026-01-01T10:00:00Z".into(),
            edited_at: None,
            path: Some("README.md".into()),
            line: Some(1),
            resolved: false,
        },
    );
    let out = run_local_with_args(CHANGE, "echo 'thank you' >> README.md\n", TOKEN, &gh.url, &["--follow-up"]);
    assert!(out.status.success(), "{}", shown(&out));
    let result: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(result["status"], "updated", "{}", shown(&out));
    assert_eq!(result["reason"], "follow-up round 1 of 2: answered 1");
    let pull = gh.pulls()[0].clone();
    assert!(pull.comments.iter().any(|c| c.contains("review comment by alice")), "{:?}", pull.comments);
    assert!(gh.show("bca-bot/api", "bca/thanks:README.md").contains("thank you"));
    // `bca status` says how many rounds each pull request had.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let status = |args: &[&str]| {
        support::bca()
            .current_dir(dir.path())
            .args(["status", "change.yaml"])
            .args(args)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &gh.url)
            .output()
            .unwrap()
    };
    let json = String::from_utf8_lossy(&status(&["--json"]).stdout).into_owned();
    let row: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(row["followUpRounds"], 1, "{json}");
    assert_eq!(row["followUpLast"], "1 review comment", "{json}");
    let table = String::from_utf8_lossy(&status(&[]).stdout).into_owned();
    assert!(table.contains("  1 (last: 1 review comment)  "), "{table}");
}

#[test]
fn follow_up_without_spec_follow_up_is_named() {
    let gh = GitHub::start(TOKEN, "bca-bot");
    let change = CHANGE.replace("  followUp:\n    rounds: 2\n", "");
    let out = run_local_with_args(&change, "true\n", TOKEN, &gh.url, &["--follow-up"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--follow-up runs a Change's follow-up round, and none of these Changes has spec.followUp"),
        "{}",
        shown(&out)
    );
}

//! Replacing a Job is cheap and harmless: a re-run whose pull request already holds its
//! work ends `unchanged` without starting the agent, a branch with someone else's
//! commits is never overwritten, and a named Change's edits update its pull requests.

mod support;

use bca_runner::Agent;
use support::github::{git, GitHub};
use support::*;

const PROMPT: &str = "Migrate logging to slog";

fn stand_in() -> GitHub {
    let gh = GitHub::start(GITHUB_TOKEN, LOGIN);
    gh.add_repo("acme/api", &[("README.md", "# api\n")], &[]);
    gh
}

/// A named Change's contract, with the prompt given.
fn named(prompt: &str) -> bca_runner::RunContract {
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, prompt);
    c.change_name = Some("migrate-logging".into());
    c.head_branch = "bca/migrate-logging".into();
    c
}

/// A pod whose agent appends a line and counts its runs in `counter`.
fn counting_pod(contract: bca_runner::RunContract, counter: &std::path::Path) -> Pod {
    let pod = Pod::new(contract);
    pod.agent_does(&format!("echo run >> '{}'\necho \"edit $(date +%s%N)\" >> README.md", counter.display()));
    pod
}

fn runs(counter: &std::path::Path) -> usize {
    std::fs::read_to_string(counter).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn a_replaced_job_with_the_same_work_ends_unchanged_without_the_agent() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    let first = counting_pod(named(PROMPT), counter.path());
    assert_eq!(result_line(&first.run_steps(&gh))["status"], "opened");
    let tip = gh.head("bot/api", "bca/migrate-logging").unwrap();
    // The Job is replaced (a new deadline, a new image: nothing of the agent's work).
    for _ in 0..2 {
        let again = counting_pod(named(PROMPT), counter.path());
        let out = again.run_steps(&gh);
        assert!(out.status.success(), "{}", shown(&out));
        let r = result_line(&out);
        assert_eq!(r["status"], "unchanged", "{}", shown(&out));
        assert_eq!(r["pullRequest"], format!("{}/acme/api/pull/1", gh.url));
        assert_eq!(r["commit"], tip.as_str());
    }
    assert_eq!(runs(counter.path()), 1, "the agent ran again");
    assert_eq!(gh.head("bot/api", "bca/migrate-logging").unwrap(), tip);
    assert_eq!(gh.pulls().len(), 1);
    assert!(!gh.log().iter().any(|l| l.starts_with("PATCH")), "nothing to update: {:?}", gh.log());
}

#[test]
fn an_unchanged_run_brings_the_title_and_body_up_to_date() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(result_line(&counting_pod(named(PROMPT), counter.path()).run_steps(&gh))["status"], "opened");
    let mut edited = named(PROMPT);
    edited.pull_request_title = "Logging: slog".into();
    edited.pull_request_body = "A new template.\n".into();
    let out = counting_pod(edited, counter.path()).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "unchanged", "{}", shown(&out));
    let pull = &gh.pulls()[0];
    assert_eq!(pull.title, "Logging: slog");
    assert!(pull.body.starts_with("<!-- bca:begin -->\nA new template.\n\n<!-- bca: "), "{}", pull.body);
    assert_eq!(runs(counter.path()), 1);
}

#[test]
fn editing_a_named_changes_prompt_updates_the_same_pull_request() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(result_line(&counting_pod(named(PROMPT), counter.path()).run_steps(&gh))["status"], "opened");
    let edited = named("Migrate logging to slog, and keep the request IDs");
    let out = counting_pod(edited, counter.path()).run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "updated", "{}", shown(&out));
    assert_eq!(r["reason"], "the prompt changed");
    assert_eq!(r["pullRequest"], format!("{}/acme/api/pull/1", gh.url));
    assert_eq!(runs(counter.path()), 2);
    let pulls = gh.pulls();
    assert_eq!(pulls.len(), 1, "a second pull request for the same Change and repository");
    assert!(pulls[0].body.contains("_bca ran the agent again: the prompt changed._"), "{}", pulls[0].body);
    // The branch starts again from the base: one commit on top, not a pile.
    let log = git(&gh.bare("bot/api"), &["rev-list", "--count", "main..bca/migrate-logging"]);
    assert_eq!(log.trim(), "1");
}

#[test]
fn a_human_commit_on_the_branch_is_never_overwritten() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    assert_eq!(result_line(&counting_pod(named(PROMPT), counter.path()).run_steps(&gh))["status"], "opened");
    // A reviewer pushes a fix onto the pull request's branch.
    gh.commit("bot/api", "bca/migrate-logging", "FIX.md", "reviewer's fix\n");
    let human = gh.head("bot/api", "bca/migrate-logging").unwrap();
    let out = counting_pod(named("Migrate logging to slog, take two"), counter.path()).run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let r = result_line(&out);
    assert_eq!(r["status"], "kept-human-commits", "{}", shown(&out));
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.starts_with(&format!("Test <test@example.com> pushed {}", &human[..12])), "{reason}");
    assert!(reason.contains("bca does not overwrite commits it did not make"), "{reason}");
    assert_eq!(gh.head("bot/api", "bca/migrate-logging").unwrap(), human, "the reviewer's commit is gone");
    assert_eq!(gh.pulls().len(), 1);
}

#[test]
fn a_branch_bca_pushed_without_a_pull_request_is_taken_over() {
    // A run that pushed but could not open its pull request (GitHub refused, the pod
    // died): the next run may replace its own commit.
    let gh = stand_in();
    gh.fail("POST", "/repos/acme/api/pulls", 502, &[], r#"{"message":"Server Error"}"#, 4);
    let first = Pod::new(named(PROMPT));
    assert_eq!(first.run_steps(&gh).status.code(), Some(1));
    assert!(gh.head("bot/api", "bca/migrate-logging").is_some());
    let out = Pod::new(named(PROMPT)).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
}

#[test]
fn an_agent_whose_every_tool_call_was_denied_is_blocked_not_done() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::ClaudeCode, PROMPT));
    // Claude Code's transcript when it was not allowed to run anything: exit 0, no change.
    pod.agent_does(
        r#"echo '{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"sed -i s/x/y/ README.md"}}]}}'
echo '{"type":"user","message":{"content":[{"type":"tool_result","is_error":true,"content":"Claude requested permissions to use Bash, but you have not granted it yet."}]}}'
echo '{"type":"result","subtype":"success","is_error":false}'"#,
    );
    let out = pod.run_steps(&gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    let r = result_line(&out);
    assert_eq!(r["status"], "agent-blocked");
    assert_eq!(
        r["reason"],
        "all 1 of the agent's tool calls failed; the first: Claude requested permissions to use Bash, but you have not granted it yet."
    );
    // An agent that looked and had nothing to do is still no-changes.
    let idle = Pod::new(contract("https://github.com/acme/api", Agent::ClaudeCode, PROMPT));
    idle.agent_does(r#"echo '{"type":"result","subtype":"success","is_error":false}'"#);
    assert_eq!(result_line(&idle.run_steps(&gh))["status"], "no-changes");
}

#[test]
fn a_skip_left_in_a_reused_workspace_does_not_skip_the_agent() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    let pod = counting_pod(named(PROMPT), counter.path());
    // What an earlier, unchanged run in the same workspace left behind.
    std::fs::write(pod.path("workspace/skip-agent"), "stale\n").unwrap();
    assert_eq!(result_line(&pod.run_steps(&gh))["status"], "opened");
    assert_eq!(runs(counter.path()), 1, "the agent did not run");
}

/// Two teams, one Change name: the second Change finds the first's pull request on the
/// shared branch and leaves it alone, whatever its prompt; so does a Change that finds a
/// pull request someone opened by hand from its branch.
#[test]
fn a_pull_request_that_is_not_the_changes_is_never_adopted_or_pushed_over() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    // Team A's Change opens the pull request.
    let mut team_a = named(PROMPT);
    team_a.change_name = Some("migrate-logging".into());
    assert_eq!(result_line(&counting_pod(team_a, counter.path()).run_steps(&gh))["status"], "opened");
    let tip = gh.head("bot/api", "bca/migrate-logging").unwrap();
    let body = gh.pulls()[0].body.clone();
    // Team B's Change has the same name on its branch, but another identity in its marker.
    let mut team_b = named("Something else entirely");
    team_b.change_name = Some("migrate-logging-b".into());
    team_b.head_branch = "bca/migrate-logging".into();
    let out = counting_pod(team_b, counter.path()).run_steps(&gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    let r = result_line(&out);
    assert_eq!(r["status"], "foreign-pull-request", "{}", shown(&out));
    assert!(
        r["reason"].as_str().unwrap().ends_with(
            "/acme/api/pull/1 belongs to Change migrate-logging, not migrate-logging-b: two Changes share the branch \
             bca/migrate-logging; rename one (metadata.name)"
        ),
        "{r}"
    );
    assert_eq!(runs(counter.path()), 1, "the agent ran for a pull request that is not the Change's");
    assert_eq!(gh.head("bot/api", "bca/migrate-logging").unwrap(), tip, "pushed over team A's work");
    assert_eq!(gh.pulls()[0].body, body, "rewrote team A's description");
    // A pull request from the branch without any marker: someone's, not bca's.
    gh.set_body("acme/api", 1, "Opened by hand");
    let out = counting_pod(named(PROMPT), counter.path()).run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "foreign-pull-request", "{}", shown(&out));
    assert!(r["reason"].as_str().unwrap().ends_with("comes from the Change's branch but has no bca marker: not bca's"));
    assert_eq!(gh.head("bot/api", "bca/migrate-logging").unwrap(), tip);
    // Anyone can open a pull request from a public fork's branch and copy bca's marker
    // into it: one the token's account did not open is not bca's either.
    gh.set_body("acme/api", 1, &body);
    gh.set_author("acme/api", 1, "mallory");
    let out = counting_pod(named(PROMPT), counter.path()).run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "foreign-pull-request", "{}", shown(&out));
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .ends_with("comes from the Change's branch but mallory opened it, not the token's account: not bca's"),
        "{r}"
    );
    assert_eq!(gh.pulls()[0].body, body, "rewrote mallory's description");
}

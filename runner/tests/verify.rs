//! `spec.verify`: the Change's checks run after the agent, in a step of their own, with
//! the failure fed back for another try; what they find decides a draft or nothing, never what is
//! pushed. Stand-in agents against the GitHub stand-in.

mod support;

use bca_runner::contract::{OnFailure, Verify};
use bca_runner::Agent;
use support::github::GitHub;
use support::*;

const PROMPT: &str = "Make the check pass";

fn stand_in() -> GitHub {
    let gh = GitHub::start(GITHUB_TOKEN, LOGIN);
    gh.add_repo("acme/api", &[("README.md", "# api\n"), ("src/lib.rs", "bad\n")], &[]);
    gh
}

fn verified(commands: &[&str], on_failure: OnFailure) -> bca_runner::RunContract {
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.verify = Some(Verify {
        commands: commands.iter().map(|s| s.to_string()).collect(),
        attempts: 2,
        timeout: 30,
        allowed_paths: vec![],
        on_failure,
    });
    c
}

/// An agent that writes `good` only once it has been shown the check's failure.
const LEARNS: &str =
    "if grep -q 'fails with exit code' \"$rec/arg.1\"; then echo good > src/lib.rs; else echo worse > src/lib.rs; fi\n\
     cp \"$rec/arg.1\" \"$rec/prompt.$(ls \"$rec\" | grep -c '^prompt')\"";

#[test]
fn an_agent_that_fixes_the_check_on_its_second_try_opens_a_ready_pull_request() {
    let gh = stand_in();
    let pod = Pod::new(verified(
        &["grep -q good src/lib.rs || { echo 'lib.rs is not good' >&2; exit 1; }"],
        OnFailure::Draft,
    ));
    pod.agent_does(LEARNS);
    let out = pod.run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "opened", "{}", shown(&out));
    assert_eq!(r["verification"], "passed after 2 attempts");
    let pull = &gh.pulls()[0];
    assert!(!pull.draft && pull.labels.is_empty(), "{pull:?}");
    assert!(pull.body.contains("## Verification\n\n- `grep -q good src/lib.rs || { echo 'lib.rs is not good' >&2; exit 1; }`: passed\n\nPassed after 2 agent run(s)."), "{}", pull.body);
    // The follow-up prompt held the task, the command, its exit code and its output.
    let second = std::fs::read_to_string(pod.path("agent-record/prompt.1")).unwrap();
    assert!(second.starts_with(PROMPT), "{second}");
    assert!(second.contains("fails with exit code 1") && second.contains("lib.rs is not good"), "{second}");
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:src/lib.rs"), "good\n");
}

#[test]
fn an_agent_that_never_fixes_it_gets_a_labelled_draft_with_the_failure() {
    let gh = stand_in();
    let pod = Pod::new(verified(&["true", "echo \"nope: $(cat src/lib.rs)\"; exit 4"], OnFailure::Draft));
    pod.agent_does("echo worse > src/lib.rs");
    let out = pod.run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "opened", "{}", shown(&out));
    assert_eq!(
        r["verification"],
        "failed after 2 attempts: echo \"nope: $(cat src/lib.rs)\"; exit 4 fails with exit code 4"
    );
    let pull = &gh.pulls()[0];
    assert!(pull.draft, "not a draft");
    assert_eq!(pull.labels, ["bca:verify-failed"]);
    assert!(
        pull.body.contains("- `true`: passed\n- `echo \"nope: $(cat src/lib.rs)\"; exit 4`: fails with exit code 4"),
        "{}",
        pull.body
    );
    assert!(pull.body.contains("```text\nnope: worse\n```"), "{}", pull.body);
}

#[test]
fn on_failure_skip_publishes_nothing() {
    let gh = stand_in();
    let pod = Pod::new(verified(&["false"], OnFailure::Skip));
    pod.agent_does("echo worse > src/lib.rs");
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let r = result_line(&out);
    assert_eq!(r["status"], "verify-failed");
    assert_eq!(r["verification"], "failed after 2 attempts: false fails with exit code 1");
    assert!(gh.pulls().is_empty());
    assert_eq!(gh.head("bot/api", "bca/c0ffee1234"), None, "pushed though verification failed");
}

#[test]
fn a_change_outside_allowed_paths_is_refused_naming_them_and_nothing_is_pushed() {
    let gh = stand_in();
    // Draft, the mode that publishes what fails: a path outside allowedPaths is not a
    // failed check but a refusal.
    let mut c = verified(&["true"], OnFailure::Draft);
    c.verify.as_mut().unwrap().allowed_paths = vec!["src/**".into()];
    let pod = Pod::new(c);
    pod.agent_does("echo good > src/lib.rs && mkdir -p .github/workflows && echo 'on: push' > .github/workflows/x.yml && echo x >> README.md");
    let out = pod.run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "refused", "{}", shown(&out));
    assert_eq!(r["reason"], "the change touches paths outside allowedPaths: .github/workflows/x.yml, README.md");
    assert_eq!(gh.head("bot/api", "bca/c0ffee1234"), None, "a refused change was pushed");
    assert!(gh.pulls().is_empty());
}

#[test]
fn a_hanging_check_is_stopped_and_said_so() {
    let gh = stand_in();
    let mut c = verified(&["sleep 60"], OnFailure::Skip);
    c.verify.as_mut().unwrap().timeout = 1;
    c.verify.as_mut().unwrap().attempts = 1;
    let pod = Pod::new(c);
    let started = std::time::Instant::now();
    let out = pod.run_steps(&gh);
    assert!(started.elapsed() < std::time::Duration::from_secs(40));
    assert_eq!(
        result_line(&out)["verification"],
        "failed after 1 attempt: sleep 60 was stopped at its timeout",
        "{}",
        shown(&out)
    );
}

/// The checks run on a copy of the tree that would be published: what they build there
/// stays there, and a check that reaches out into the agent's work tree fails
/// verification, naming what it changed.
#[test]
fn a_check_that_changes_what_would_be_published_fails_naming_the_files() {
    let run = |check: &str| {
        let gh = stand_in();
        let mut c = verified(&[check], OnFailure::Draft);
        c.verify.as_mut().unwrap().attempts = 1;
        let pod = Pod::new(c);
        pod.agent_does("echo good > src/lib.rs");
        result_line(&pod.run_steps(&gh))["verification"].as_str().unwrap().to_string()
    };
    assert_eq!(run("mkdir -p target && echo x > target/out && echo built > app.bin"), "passed after 1 attempt");
    assert_eq!(
        run("echo built > app.bin && echo x >> ../repo/README.md"),
        "failed: the checks changed the work tree bca publishes, outside the copy they ran on: README.md"
    );
}

/// The checks see exactly the bytes that would be published: not the agent's ignored
/// files (a stale build that makes them pass), and not a file as `.gitattributes` would
/// have git store it differently from how it reads in the work tree. Each with its
/// control, the same file published as it is.
#[test]
fn the_checks_run_on_exactly_the_tree_that_is_published() {
    let run = |agent: &str, check: &str| {
        let gh = stand_in();
        let mut c = verified(&[check], OnFailure::Draft);
        c.verify.as_mut().unwrap().attempts = 1;
        let pod = Pod::new(c);
        pod.agent_does(agent);
        result_line(&pod.run_steps(&gh))["verification"].as_str().unwrap().to_string()
    };
    let stale = "mkdir -p cache && echo ok > cache/ok && echo good > src/lib.rs";
    assert_eq!(
        run(&format!("{stale} && echo cache/ > .gitignore"), "test -f cache/ok"),
        "failed after 1 attempt: test -f cache/ok fails with exit code 1"
    );
    assert_eq!(run(stale, "test -f cache/ok"), "passed after 1 attempt");
    // git stores `$Id$` for `$Id: anything $` under the `ident` attribute.
    let ident = "printf 'x = \"$Id: forged $\"\\n' > src/a.py && echo good > src/lib.rs";
    assert_eq!(
        run(&format!("{ident} && echo '*.py ident' > .gitattributes"), "grep -q forged src/a.py"),
        "failed after 1 attempt: grep -q forged src/a.py fails with exit code 1"
    );
    assert_eq!(run(ident, "grep -q forged src/a.py"), "passed after 1 attempt");
}

/// The verdict is good for the tree the checks ran on only: a work tree changed after
/// them (nothing in a pod runs between verify and collect; this is the guard should
/// anything ever) is published as failed. The control publishes the same run untouched.
#[test]
fn a_verdict_on_another_tree_is_not_taken() {
    let run = |touch: bool| {
        let gh = stand_in();
        let mut c = verified(&["true"], OnFailure::Draft);
        c.verify.as_mut().unwrap().attempts = 1;
        let pod = Pod::new(c);
        pod.agent_does("echo good > src/lib.rs");
        for step in ["fork", "clone", "agent", "verify"] {
            assert!(pod.runner(step, &gh).status.success(), "{step}");
        }
        if touch {
            std::fs::write(pod.path("workspace/repo/src/lib.rs"), "unchecked\n").unwrap();
        }
        assert!(pod.runner("collect", &gh).status.success());
        result_line(&pod.runner("publish", &gh))["verification"].as_str().unwrap().to_string()
    };
    assert_eq!(
        run(true),
        "failed: the checks passed on another tree than the one bca would publish: the work tree changed after them"
    );
    assert_eq!(run(false), "passed after 1 attempt");
}

/// Each attempt's checks run in a step of their own; an attempt after the checks
/// passed runs nothing, and says so.
#[test]
fn attempts_after_a_pass_run_nothing() {
    let gh = stand_in();
    let counter = tempfile::NamedTempFile::new().unwrap();
    let pod = Pod::new(verified(&["grep -q good src/lib.rs"], OnFailure::Draft));
    pod.agent_does(&format!("echo run >> {} && echo good > src/lib.rs", counter.path().display()));
    for step in ["fork", "clone", "agent", "verify"] {
        assert!(pod.runner(step, &gh).status.success(), "{step}");
    }
    for step in ["agent --attempt 2", "verify --attempt 2"] {
        let out = pod.runner(step, &gh);
        assert!(out.status.success(), "{step}");
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("the checks passed on attempt 1"), "{step}: {log}");
    }
    assert_eq!(std::fs::read_to_string(counter.path()).unwrap(), "run\n");
    let out = pod.runner("agent --attempt 3", &gh);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("attempt 3 of a run contract with 2 attempt(s): render the Job again with bca"),
        "{}",
        shown(&out)
    );
}

/// A replaced Job with the same verification settings confirms the pull request. That
/// other settings give another fingerprint is bca's part, tested where it renders
/// (`verification_settings_are_in_the_contract_and_the_fingerprint`).
#[test]
fn a_replaced_job_with_the_same_verification_confirms_the_pull_request() {
    let gh = stand_in();
    let pod = Pod::new(verified(&["true"], OnFailure::Draft));
    assert_eq!(result_line(&pod.run_steps(&gh))["status"], "opened");
    let again = Pod::new(verified(&["true"], OnFailure::Draft));
    assert_eq!(result_line(&again.run_steps(&gh))["status"], "unchanged");
}

#[test]
fn no_second_attempt_starts_without_time_for_it_and_the_first_is_kept() {
    let gh = stand_in();
    let mut c = verified(&["grep -q good src/lib.rs || exit 1"], OnFailure::Draft);
    // 30 s of pod: less than a minute is left after the first attempt.
    c.pod_deadline = Some(30);
    let pod = Pod::new(c);
    pod.agent_does(LEARNS);
    let out = pod.run_steps(&gh);
    let r = result_line(&out);
    assert_eq!(r["status"], "opened", "{}", shown(&out));
    let verification = r["verification"].as_str().unwrap();
    assert!(
        verification.starts_with("failed: no time for attempt 2 of 2: ")
            && verification.ends_with("s of the agent's share of the pod's deadline were left"),
        "{verification}"
    );
    // The first attempt's work is what the draft holds.
    assert!(gh.pulls()[0].draft);
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:src/lib.rs"), "worse\n");
    assert!(!pod.path("agent-record/prompt.1").exists(), "a second attempt ran");
}

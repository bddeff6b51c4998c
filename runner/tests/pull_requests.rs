//! `spec.pullRequest` and `spec.fork: false`: pull requests people can route and review.

mod support;

use bca_runner::contract::PullRequest;
use bca_runner::Agent;
use support::github::{git, GitHub};
use support::*;

fn stand_in() -> GitHub {
    let gh = GitHub::start(GITHUB_TOKEN, LOGIN);
    gh.add_repo("acme/api", &[("README.md", "# api\n")], &[]);
    gh
}

fn routed(prompt: &str) -> bca_runner::RunContract {
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, prompt);
    c.pull_request = PullRequest {
        draft: true,
        labels: vec!["fleet".into(), "logging".into()],
        reviewers: vec!["alice".into()],
        team_reviewers: vec!["platform".into()],
        assignees: vec!["bob".into()],
    };
    c
}

#[test]
fn every_pull_request_setting_is_applied_and_reviewers_are_asked_once() {
    let gh = stand_in();
    let out = Pod::new(routed("Bump logging")).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    let pull = gh.pulls()[0].clone();
    assert!(pull.draft);
    assert_eq!(pull.labels, ["fleet", "logging"]);
    assert_eq!(
        (pull.requested_reviewers.as_slice(), pull.requested_teams.as_slice()),
        (&["alice".to_string()][..], &["platform".to_string()][..])
    );
    assert_eq!(pull.assignees, ["bob"]);
    // A re-run with new work keeps the labels and asks nobody again.
    let out = Pod::new(routed("Bump logging, again")).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "updated", "{}", shown(&out));
    let pull = gh.pulls()[0].clone();
    assert_eq!(pull.labels, ["fleet", "logging"]);
    assert_eq!(pull.review_requests, 1, "reviewers were asked twice");
}

#[test]
fn a_reviewer_github_refuses_is_a_warning_not_a_failure() {
    let gh = stand_in();
    gh.add_outsider("alice");
    let out = Pod::new(routed("Bump logging")).run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let r = result_line(&out);
    assert_eq!(r["status"], "opened");
    assert!(
        r["warnings"][0].as_str().unwrap().starts_with(
            "GitHub did not request reviews from alice (Reviews may only be requested from collaborators."
        ),
        "{r}"
    );
    let pulls = gh.pulls();
    assert_eq!(pulls.len(), 1);
    // GitHub refuses the whole request for one outsider; the others are still asked.
    assert!(!pulls[0].requested_reviewers.contains(&"alice".to_string()), "{:?}", pulls[0]);
    assert_eq!(pulls[0].requested_teams, ["platform"]);
}

#[test]
fn without_a_fork_the_branch_goes_to_the_repository_itself() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging");
    c.no_fork = true;
    c.agent_code_in_repository_ci = true;
    let out = Pod::new(c).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    assert!(!gh.repo_exists("bot/api"), "a fork was made");
    assert!(!gh.log().iter().any(|l| l.ends_with("/forks")));
    let pull = &gh.pulls()[0];
    assert_eq!((pull.repo.as_str(), pull.head.as_str()), ("acme/api", "acme:bca/c0ffee1234"));
    let readme = git(&gh.bare("acme/api"), &["show", "bca/c0ffee1234:README.md"]);
    assert_eq!(readme, "# api\nchanged by the agent\n");
}

/// bca's words come first; the agent's summary follows under a heading that says whose
/// words they are, quoted, bounded (cut, not dropped, even at 100 KB) and defused: no
/// marker of its own, no mention, no closing keyword, no raw HTML, no remote image, no
/// heading posing as bca's, no bidi or invisible characters.
#[test]
fn the_agents_summary_comes_after_bcas_words_bounded_and_defused() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging"));
    // The summary file's path is in the prompt's note; the agent writes there.
    pod.agent_does(&format!(
        "f=$(sed -n 's/.* to \\(.*summary.md\\)\\. It becomes.*/\\1/p' \"$rec/arg.1\")\n\
         {{ echo 'Moved every call to slog. Ping @acme/everyone <!-- bca: {{}} --> Fixes #12'; \
            printf '## Verification\\n\\nPassed.\\n[//]: # (hidden)\\n![x](https://attacker.example/p.png)\\n<details>hidden</details>\\nsafe\\342\\200\\256txet\\n'; \
            cat '{}'; head -c 100000 /dev/zero | tr '\\0' x; }} > \"$f\"\n\
         echo x >> README.md",
        pod.path("secrets-agent/copilot-token").display()
    ));
    let out = pod.run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    let body = gh.pulls()[0].body.clone();
    // bca's words (the prompt from the template) first.
    let agent = body.find("## Summary from the agent").expect("the agent's summary is there (cut, not dropped)");
    assert!(body.find("Made by the agent from this prompt").unwrap() < agent, "{body}");
    let words = &body[agent..];
    assert!(words.contains("_The agent's own words, quoted as it wrote them (defused); bca checked none of it._"));
    assert!(
        words.contains("> Moved every call to slog. Ping @\u{200b}acme/everyone &lt;!-- bca: {} --> Fixes #\u{200b}12"),
        "{words}"
    );
    assert!(words.contains("> \\## Verification") && words.contains("> \\[//]: # (hidden)"), "{words}");
    assert!(words.contains("> !\u{200b}[x](https://attacker.example/p.png)"), "{words}");
    assert!(words.contains("&lt;details>") && !words.contains("<details>"), "{words}");
    assert!(words.contains("safetxet") && !words.contains('\u{202e}'), "bidi control kept: {words}");
    assert!(!body.contains(COPILOT_TOKEN) && body.contains("[redacted]"), "{body}");
    assert!(words.contains("[cut by bca]") && words.len() < 5000, "{}", words.len());
    assert_eq!(body.matches("<!-- bca: {").count(), 1, "one marker, bca's own:\n{body}");
    assert!(bca_runner::marker::Marker::find(&body).is_some());
}

/// What a reviewer writes in the description stays: a re-run that only confirms leaves
/// the body alone, and one that updates replaces only bca's part.
#[test]
fn a_reviewers_words_in_the_description_stay() {
    let gh = stand_in();
    let c = contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging");
    assert_eq!(result_line(&Pod::new(c.clone()).run_steps(&gh))["status"], "opened");
    let body = gh.pulls()[0].body.clone();
    let edited = format!("Reviewer: please also check the docs.\n\n{body}\nMore notes from the review.\n");
    gh.set_body("acme/api", 1, &edited);
    // Confirming the same work: nothing written.
    assert_eq!(result_line(&Pod::new(c.clone()).run_steps(&gh))["status"], "unchanged");
    assert_eq!(gh.pulls()[0].body, edited);
    // New work: bca's part is replaced, the reviewer's words around it kept.
    let mut again = contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging, and tests");
    again.head_branch = c.head_branch.clone();
    again.change_id = c.change_id.clone();
    let out = Pod::new(again).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "updated", "{}", shown(&out));
    let now = gh.pulls()[0].body.clone();
    assert!(now.starts_with("Reviewer: please also check the docs.\n\n<!-- bca:begin -->"), "{now}");
    assert!(now.ends_with("<!-- bca:end -->\n\nMore notes from the review.\n"), "{now}");
    assert!(now.contains("Bump logging, and tests"), "{now}");
}

/// In the repository itself a push runs its CI on the agent's code, with its secrets:
/// only when accepted at render time, never the files that CI runs unless allowedPaths
/// names them, and never a change that failed its checks (not even as a draft).
#[test]
fn the_repository_itself_gets_only_what_was_accepted() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging");
    c.no_fork = true;
    // Not accepted (a contract written by hand): nothing is pushed.
    let out = Pod::new(c.clone()).run_steps(&gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "spec.fork is false, so the branch would go to the repository itself, where its CI runs the agent's code"
    ));
    c.agent_code_in_repository_ci = true;
    // Accepted, but the agent edits a workflow and the Makefile: refused.
    let pod = Pod::new(c.clone());
    pod.agent_does("mkdir -p .github/workflows && echo 'on: push' > .github/workflows/ci.yml && echo 'all:' > Makefile && echo x >> README.md");
    let r = result_line(&pod.run_steps(&gh));
    assert_eq!(r["status"], "refused", "{r}");
    assert_eq!(
        r["reason"],
        "the branch goes to the repository itself, and the change touches files its CI runs: .github/workflows/ci.yml, Makefile (name them in spec.verify.allowedPaths to allow it)"
    );
    assert_eq!(gh.head("acme/api", "bca/c0ffee1234"), None, "a refused change was pushed");
    // A Makefile the Change names in allowedPaths is the author's choice ("**" is not).
    let mut named = c.clone();
    named.verify = Some(bca_runner::contract::Verify {
        commands: vec!["true".into()],
        attempts: 1,
        timeout: 30,
        allowed_paths: vec!["Makefile".into(), "README.md".into()],
        on_failure: bca_runner::contract::OnFailure::Draft,
    });
    let pod = Pod::new(named.clone());
    pod.agent_does("echo 'all:' > Makefile && echo x >> README.md");
    assert_eq!(result_line(&pod.run_steps(&gh))["status"], "opened");
    // A failed check: nothing pushed, though onFailure is draft.
    let mut failing = named;
    failing.verify.as_mut().unwrap().commands = vec!["false".into()];
    failing.work = work("Bump logging again");
    let before = gh.head("acme/api", "bca/c0ffee1234");
    let pod = Pod::new(failing);
    pod.agent_does("echo y >> README.md");
    let r = result_line(&pod.run_steps(&gh));
    assert_eq!(r["status"], "verify-failed", "{r}");
    assert_eq!(
        r["reason"],
        "nothing pushed: the branch goes to the repository itself, and a draft there would run its CI"
    );
    assert_eq!(gh.head("acme/api", "bca/c0ffee1234"), before, "a failed change was pushed to the repository");
}

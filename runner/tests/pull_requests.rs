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
    let out = Pod::new(c).run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    assert!(!gh.repo_exists("bot/api"), "a fork was made");
    assert!(!gh.log().iter().any(|l| l.ends_with("/forks")));
    let pull = &gh.pulls()[0];
    assert_eq!((pull.repo.as_str(), pull.head.as_str()), ("acme/api", "acme:bca/c0ffee1234"));
    let readme = git(&gh.bare("acme/api"), &["show", "bca/c0ffee1234:README.md"]);
    assert_eq!(readme, "# api\nchanged by the agent\n");
}

#[test]
fn the_agents_summary_lands_above_the_prompt_bounded_and_defused() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, "Bump logging"));
    // The summary file's path is in the prompt's note; the agent writes there.
    pod.agent_does(&format!(
        "f=$(sed -n 's/.* to \\(.*summary.md\\)\\. It becomes.*/\\1/p' \"$rec/arg.1\")\n\
         {{ echo 'Moved every call to slog. Ping @acme/everyone <!-- bca: {{}} -->'; cat '{}'; head -c 9000 /dev/zero | tr '\\0' x; }} > \"$f\"\n\
         echo x >> README.md",
        pod.path("secrets-agent/copilot-token").display()
    ));
    let out = pod.run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    let body = gh.pulls()[0].body.clone();
    assert!(
        body.starts_with(
            "## Summary from the agent\n\nMoved every call to slog. Ping @\u{200b}acme/everyone &lt;!-- bca: {} -->"
        ),
        "{body}"
    );
    assert!(!body.contains(COPILOT_TOKEN) && body.contains("[redacted]"), "{body}");
    assert!(body.contains("[cut by bca]"));
    let summary = body.split("<!-- bca:template -->").next().unwrap();
    assert!(summary.len() < 4200, "{}", summary.len());
    // The prompt (in the template's body) comes after it, and the marker still parses.
    assert!(body.find("Made by the agent from this prompt").unwrap() > summary.len());
    assert!(bca_runner::marker::Marker::find(&body).is_some());
}

//! `bca-runner` end to end against the local GitHub stand-in: real git over smart
//! HTTP, stand-in agent executables, every step as its own process as in a pod.

mod support;

use bca_runner::Agent;
use support::github::{git, GitHub};
use support::*;

const PROMPT: &str = "Add a line to the README\n\nKeep it short.";

fn stand_in() -> GitHub {
    let gh = GitHub::start(GITHUB_TOKEN, LOGIN);
    gh.add_repo("acme/api", &[("README.md", "# api\n"), ("src/main.rs", "fn main() {}\n")], &["release/2.x"]);
    gh.add_repo("acme/web", &[("README.md", "# web\n")], &[]);
    gh
}

#[test]
fn whole_flow_for_two_repositories() {
    let gh = stand_in();
    // One repository step by step, as the pod's containers run them...
    let api = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = api.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let result = result_line(&out);
    assert_eq!(result["status"], "opened");
    assert_eq!(result["pullRequest"], format!("{}/acme/api/pull/1", gh.url));
    assert_eq!(api.termination_log().trim(), String::from_utf8_lossy(&out.stdout).trim());
    // ...and one with `run`, all steps in one process.
    let web = Pod::new(contract("https://github.com/acme/web", Agent::CopilotCli, PROMPT));
    let out = web.runner("run", &gh);
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(result_line(&out)["status"], "opened");

    let pulls = gh.pulls();
    assert_eq!(pulls.len(), 2);
    for (pull, repo) in pulls.iter().zip(["acme/api", "acme/web"]) {
        assert_eq!(pull.repo, repo);
        assert_eq!(pull.head, "bot:bca/c0ffee1234");
        assert_eq!(pull.base, "main");
        assert_eq!(pull.title, "Add a line to the README");
        // Title, body and commit message are the contract's, as bca rendered them; the
        // body ends with the marker a re-run reads back.
        assert!(pull.body.starts_with(&format!(
            "<!-- bca:begin -->\nMade by the agent from this prompt:\n\n{PROMPT}\n\n<!-- bca: "
        )));
        assert!(pull.body.ends_with(" -->\n<!-- bca:end -->\n"), "{}", pull.body);
        let marker = bca_runner::marker::Marker::find(&pull.body).unwrap();
        assert_eq!(marker.change, "c0ffee1234");
        assert_eq!(marker.fingerprint, work(PROMPT).fingerprint);
        let fork = format!("bot/{}", repo.split('/').nth(1).unwrap());
        assert_eq!(Some(marker.commit), gh.head(&fork, "bca/c0ffee1234"));
    }
    // The fork's branch holds the agent's edit on top of the upstream head.
    assert!(gh.repo_exists("bot/api"));
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:README.md"), "# api\nchanged by the agent\n");
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234~1").lines().next(), gh.show("acme/api", "main").lines().next());
    let message = git(&gh.bare("bot/api"), &["log", "-1", "--format=%B", "bca/c0ffee1234"]);
    assert_eq!(message, format!("Add a line to the README\n\n{PROMPT}\n\nChange: c0ffee1234\n\n"));
    // The agent ran in the clone, headless, with the prompt as one argument.
    let argv = api.agent_argv();
    assert_prompt_then_note(&argv[1], PROMPT);
    let context = api.path("workspace/context").display().to_string();
    assert_eq!(argv[..1], ["-p"]);
    assert_eq!(argv[2..], ["--allow-all-tools", "--no-auto-update", "--add-dir", context.as_str()]);
}

#[test]
fn second_run_with_other_work_updates_the_same_pull_request() {
    let gh = stand_in();
    let first = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    assert_eq!(result_line(&first.run_steps(&gh))["status"], "opened");
    let second = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, "Say it again"));
    second.agent_does("echo 'changed again' >> README.md");
    let out = second.run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "updated", "{}", shown(&out));
    assert_eq!(gh.pulls().len(), 1);
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:README.md"), "# api\nchanged again\n");
    assert!(gh.log().contains(&"PATCH /repos/acme/api/pulls/1".to_string()));
}

#[test]
fn no_changes_means_no_branch_and_no_pull_request() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    pod.agent_does("true");
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"status":"no-changes","repository":"https://github.com/acme/api"}"#
    );
    assert!(gh.pulls().is_empty());
    assert_eq!(gh.head("bot/api", "bca/c0ffee1234"), None);
}

#[test]
fn stale_fork_is_reused_and_the_branch_starts_at_the_upstream_head() {
    let gh = stand_in();
    gh.add_fork("bot/api", "acme/api");
    gh.commit("acme/api", "main", "NEW.md", "upstream moved on\n");
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    assert!(!gh.log().iter().any(|l| l.ends_with("/forks")), "an existing fork must be reused");
    // The shallow clone could not be pushed to the stale fork as it was.
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the fork lacks the base commit: fetching history and pushing again"));
    let parent = git(&gh.bare("bot/api"), &["rev-parse", "bca/c0ffee1234~1"]);
    assert_eq!(parent.trim(), gh.head("acme/api", "main").unwrap());
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:NEW.md"), "upstream moved on\n");
}

#[test]
fn base_branch_other_than_main() {
    let gh = stand_in();
    gh.commit("acme/api", "release/2.x", "VERSION", "2.9\n");
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.base_branch = "release/2.x".into();
    let pod = Pod::new(c);
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(gh.pulls()[0].base, "release/2.x");
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:VERSION"), "2.9\n");
}

#[test]
fn missing_base_branch_is_a_permanent_error() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.base_branch = "develop".into();
    let pod = Pod::new(c);
    let out = pod.run_steps(&gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "the base branch develop does not exist in https://github.com/acme/api: fix spec.branch in the Change"
    ));
}

#[test]
fn context_reaches_the_agent_and_stays_out_of_the_commit() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.agentsmd = Some(gh.serve_file("agents.md", b"Always run the tests.\n"));
    c.resources = vec![gh.serve_file("docs/style.md", b"Use tabs.\n")];
    let pod = Pod::new(c);
    pod.agent_does(&format!(
        "cp -r ../context '{}/context-copy'\necho x >> README.md",
        pod.path("agent-record").display()
    ));
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let copy = pod.path("agent-record/context-copy");
    assert_eq!(std::fs::read_to_string(copy.join("AGENTS.md")).unwrap(), "Always run the tests.\n");
    assert_eq!(std::fs::read_to_string(copy.join("resources/01-style.md")).unwrap(), "Use tabs.\n");
    let prompt = &pod.agent_argv()[1];
    assert!(prompt.starts_with(PROMPT), "{prompt}");
    assert!(prompt.contains("/context/AGENTS.md: instructions to follow"), "{prompt}");
    assert!(prompt.contains("/context/resources/01-style.md: reference material"), "{prompt}");
    let argv = pod.agent_argv();
    assert_eq!(argv[argv.len() - 2], "--add-dir");
    let tree = git(&gh.bare("bot/api"), &["ls-tree", "-r", "--name-only", "bca/c0ffee1234"]);
    assert_eq!(tree, "README.md\nsrc/main.rs\n");
}

#[test]
fn hostile_prompt_arrives_byte_exact() {
    let gh = stand_in();
    let prompt = "It's \"quoted\" $(rm -rf /) `whoami` ${HOME} \\ \n\ttabs\r\nüñïçødé ✓ 日本語 🦀\n-p --yolo\n";
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::GeminiCli, prompt));
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let argv = pod.agent_argv();
    assert_prompt_then_note(&argv[1], prompt);
    assert_eq!(argv[2..4], ["--yolo", "--skip-trust"]);
}

#[test]
fn gemini_gets_its_key_and_its_endpoint_explicitly() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::GeminiCli, PROMPT));
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let env = pod.agent_env();
    assert!(env.contains(&format!("GEMINI_API_KEY={GEMINI_TOKEN}\n")));
    // Set, so a repository's .gemini/.env cannot set it; and no trusted workspace, whose
    // settings would start MCP servers and hooks.
    assert!(env.contains("GOOGLE_GEMINI_BASE_URL=https://generativelanguage.googleapis.com\n"), "{env}");
    assert!(!env.contains("GEMINI_CLI_TRUST_WORKSPACE"), "{env}");
    assert!(!env.contains(COPILOT_TOKEN));
}

#[test]
fn no_token_in_the_workspace_git_config_argv_agent_environment_or_logs() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    // An agent that tries to print its own token.
    pod.agent_does(
        "echo \"my token is $COPILOT_GITHUB_TOKEN\"
echo x >> README.md",
    );
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let holders: Vec<_> = files_containing(pod.dir.path(), GITHUB_TOKEN)
        .into_iter()
        .map(|p| p.strip_prefix(pod.dir.path()).unwrap().display().to_string())
        .collect();
    // Each step's secrets are gone when it ends; nothing else ever held the token.
    assert_eq!(holders, Vec::<String>::new());
    let config = std::fs::read_to_string(pod.path("workspace/repo/.git/config")).unwrap();
    assert!(!config.contains(GITHUB_TOKEN) && !config.contains("x-access-token"), "{config}");
    let argv = pod.git_argv_log();
    assert!(argv.contains("clone") && argv.contains("push"), "{argv}");
    assert!(!argv.contains(GITHUB_TOKEN));
    let env = pod.agent_env();
    assert!(env.contains(&format!("COPILOT_GITHUB_TOKEN={COPILOT_TOKEN}\n")));
    assert!(!env.contains(GITHUB_TOKEN));
    for var in ["GITHUB_TOKEN=", "GH_TOKEN=", "GITHUB_API_URL=", "BCA_ASKPASS_TOKEN_FILE="] {
        assert!(!env.lines().any(|l| l.starts_with(var)), "{var} reached the agent");
    }
    // A full run logs the agent's output, redacted.
    let run = Pod::new(contract("https://github.com/acme/web", Agent::CopilotCli, PROMPT));
    run.agent_does("echo \"my token is $COPILOT_GITHUB_TOKEN\"\necho x >> README.md");
    let out = run.runner("run", &gh);
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(logs.contains("[copilot] my token is [redacted]"), "{logs}");
    assert!(!logs.contains(GITHUB_TOKEN) && !logs.contains(COPILOT_TOKEN));
}

#[test]
fn hooks_and_config_the_agent_plants_do_not_run_in_publish() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let marker = pod.path("pwned");
    pod.agent_does(&format!(
        "git config core.fsmonitor 'touch {m}.fsmonitor; false'\n\
         git config credential.helper '!touch {m}.helper'\n\
         mkdir -p .git/hooks && printf '#!/bin/sh\\ntouch {m}.hook\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit\n\
         cp .git/hooks/pre-commit .git/hooks/pre-push\necho x >> README.md",
        m = marker.display()
    ));
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    for suffix in ["fsmonitor", "helper", "hook"] {
        assert!(!pod.path(&format!("pwned.{suffix}")).exists(), "the agent's {suffix} ran in publish");
    }
}

#[test]
fn agent_failure_pushes_nothing() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    pod.agent_does("echo 'model unavailable' >&2\nexit 7");
    for step in ["fork", "clone"] {
        assert!(pod.runner(step, &gh).status.success());
    }
    let out = pod.runner("agent", &gh);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[copilot] model unavailable"), "{stderr}");
    assert!(stderr.contains("https://github.com/acme/api: copilot (copilot-cli) failed (exit status: 7); its output is above. Nothing was committed or pushed"), "{stderr}");
    assert!(pod.termination_log().starts_with("agent: https://github.com/acme/api: copilot"));
    assert_eq!(gh.head("bot/api", "bca/c0ffee1234"), None);
    assert!(gh.pulls().is_empty());
}

#[test]
fn missing_agent_cli_is_named() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    std::fs::remove_file(pod.path("bin/copilot")).unwrap();
    // PATH without any real copilot: only the pod's bin (git) and the system's.
    let out = pod
        .runner_command("run", &gh)
        .env("PATH", format!("{}:/usr/bin:/bin", pod.path("bin").display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start copilot (copilot-cli)"), "{}", shown(&out));
}

// --- GitHub's errors ---

#[test]
fn rejected_token_names_the_secret_key() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    pod.set_secret("github-token", "ghp_expired_token_000");
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[bca-runner fork] error: https://github.com/acme/api: GitHub refused the token in secret key github-token (401 Bad credentials): replace it with a valid, unexpired token"), "{stderr}");
    assert!(!stderr.contains("ghp_expired_token_000"));
}

#[test]
fn unknown_repository_is_not_found_or_no_access() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/nope", Agent::CopilotCli, PROMPT));
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("repository acme/nope not found, or the token in secret key github-token has no access to it"));
}

#[test]
fn rate_limits_are_waited_out() {
    let gh = stand_in();
    gh.fail("GET", "/repos/acme/api", 429, &[("Retry-After", "1")], r#"{"message":"API rate limit exceeded"}"#, 1);
    let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1;
    gh.fail(
        "GET",
        "/user",
        403,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset.to_string())],
        r#"{"message":"API rate limit exceeded for user"}"#,
        1,
    );
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.runner("fork", &gh);
    assert!(out.status.success(), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GET /repos/acme/api: 429, retrying in 1s"), "{stderr}");
    assert!(stderr.contains("GET /user: 403, retrying in"), "{stderr}");
}

#[test]
fn rate_limit_that_does_not_lift_is_retryable() {
    let gh = stand_in();
    gh.fail("GET", "/repos/acme/api", 429, &[("Retry-After", "1")], r#"{"message":"API rate limit exceeded"}"#, 10);
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("GitHub kept answering 429 to GET /repos/acme/api (API rate limit exceeded) after 4 attempts"));
}

#[test]
fn refused_pull_request_gives_githubs_reason() {
    let gh = stand_in();
    gh.fail(
        "POST",
        "/repos/acme/api/pulls",
        422,
        &[],
        r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between main and bot:bca/c0ffee1234"}]}"#,
        1,
    );
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.run_steps(&gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GitHub refused to open the pull request from bot:bca/c0ffee1234 into acme/api:main (422): Validation Failed: No commits between main and bot:bca/c0ffee1234"), "{}", shown(&out));
}

#[test]
fn existing_repository_that_is_not_a_fork_is_refused() {
    let gh = stand_in();
    gh.add_repo("bot/api", &[("README.md", "mine\n")], &[]);
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bot/api exists and is not a fork of acme/api"));
}

#[test]
fn a_fork_owner_that_would_steer_the_api_paths_is_refused_before_any_request() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.fork_owner = Some("../../user".into());
    let out = Pod::new(c).runner("fork", &gh);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("the run contract's fork owner \"../../user\" is not a GitHub name"),
        "{}",
        shown(&out)
    );
    assert_eq!(gh.log(), Vec::<String>::new(), "a request reached GitHub");
}

#[test]
fn fork_into_an_organisation() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.fork_owner = Some("bots-org".into());
    let pod = Pod::new(c);
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    assert!(gh.repo_exists("bots-org/api"));
    assert_eq!(gh.pulls()[0].head, "bots-org:bca/c0ffee1234");
}

#[test]
fn missing_contract_is_a_usage_error() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    std::fs::remove_file(pod.path("etc/run-contract.json")).unwrap();
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the run contract at"));
}

#[test]
fn endpoint_settings_from_the_contract_reach_the_agent_with_the_key_from_the_secret() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT);
    c.agent_settings = [("COPILOT_PROVIDER_BASE_URL", "http://models.internal/v1"), ("COPILOT_MODEL", "house-model")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let pod = Pod::new(c);
    let out = pod.run_steps(&gh);
    assert!(out.status.success(), "{}", shown(&out));
    let env = pod.agent_env();
    for line in [
        "COPILOT_PROVIDER_BASE_URL=http://models.internal/v1",
        "COPILOT_MODEL=house-model",
        &format!("COPILOT_PROVIDER_API_KEY={COPILOT_TOKEN}"),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from the agent's environment:\n{env}");
    }
}

#[test]
fn a_setting_for_another_agent_in_the_contract_is_refused() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::GeminiCli, PROMPT);
    c.agent_settings.insert("COPILOT_MODEL".into(), "x".into());
    let pod = Pod::new(c);
    let out = pod.run_steps(&gh);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "the run contract sets COPILOT_MODEL for gemini-cli, which takes only GEMINI_MODEL, GOOGLE_GEMINI_BASE_URL"
    ));
}

#[test]
fn what_the_agent_committed_itself_is_published_in_bcas_commit() {
    let gh = stand_in();
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    pod.agent_does(
        "echo 'committed by the agent' >> README.md\n\
         git add -A && git -c user.name=agent -c user.email=agent@example.com commit -qm 'agent: update README'",
    );
    let out = pod.run_steps(&gh);
    assert_eq!(result_line(&out)["status"], "opened", "{}", shown(&out));
    assert_eq!(gh.show("bot/api", "bca/c0ffee1234:README.md"), "# api\ncommitted by the agent\n");
    let subject = git(&gh.bare("bot/api"), &["log", "-1", "--format=%s", "bca/c0ffee1234"]);
    assert_eq!(subject.trim(), PROMPT.lines().next().unwrap());
}

#[test]
fn an_agent_that_hangs_is_stopped_at_the_deadline_with_all_it_started() {
    let gh = stand_in();
    let mut c = contract("https://github.com/acme/api", Agent::CodexCli, PROMPT);
    c.pod_deadline = Some(4);
    let pod = Pod::new(c);
    // Like Codex retrying a refused connection forever, with a child of its own.
    pod.agent_does(&format!("sleep 300 &\necho $! > '{}'\nsleep 300", pod.path("child.pid").display()));
    for step in ["fork", "clone"] {
        assert!(pod.runner(step, &gh).status.success());
    }
    let started = std::time::Instant::now();
    let out = pod.runner("agent", &gh);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // A retry would get the same share: the index fails for good.
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("codex (codex-cli) was stopped after"), "{stderr}");
    assert!(stderr.contains("s, its share of the pod's deadline; nothing was committed or pushed"), "{stderr}");
    let child = std::fs::read_to_string(pod.path("child.pid")).unwrap();
    let alive = std::path::Path::new(&format!("/proc/{}", child.trim())).exists()
        && !std::fs::read_to_string(format!("/proc/{}/stat", child.trim())).unwrap_or_default().contains(") Z ");
    assert!(!alive, "the agent's child outlived it");
}

#[test]
fn a_host_that_does_not_answer_like_github_is_named() {
    let gh = stand_in();
    gh.fail(
        "GET",
        "/repos/acme/api",
        200,
        &[("content-type", "text/html")],
        "<!DOCTYPE html><title>Sign in · GitLab</title>",
        1,
    );
    let pod = Pod::new(contract("https://github.com/acme/api", Agent::CopilotCli, PROMPT));
    let out = pod.runner("fork", &gh);
    assert_eq!(out.status.code(), Some(3), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/repos/acme/api did not answer GET /repos/acme/api like GitHub's API (not JSON: \"<!DOCTYPE html><title>Sign in · GitLab</title>\"): bca supports GitHub and GitHub Enterprise"),
        "{stderr}"
    );
}

//! Pacing a fleet: Indexed Jobs (`spec.rollout.parallelism`) that spread a Change's
//! repositories over at most N Jobs running one repository at a time, and Kueue's queue
//! label (`spec.rollout.queue`). Checked by the real validators, kustomize, and runs of
//! two indexes through the kubelet-like harness against the GitHub stand-in.

mod support;

#[path = "../runner/tests/support/github.rs"]
mod github;

use std::collections::BTreeSet;

use github::GitHub;
use serde_json::Value;
use support::k8s::{assert_kubernetes_valid, checkov_failures, documents, kustomize};
use support::{run_in, run_local_with_stand_in, shown};

fn change(repos: usize, rollout: &str) -> String {
    let mut text = String::from(
        "kind: Change\napiVersion: v1\nmetadata:\n  name: bump-logging\nspec:\n  prompt: Bump the logging library\n  agent: copilot-cli\n",
    );
    text.push_str(rollout);
    text.push_str("  repos:\n");
    for i in 0..repos {
        text.push_str(&format!("    - https://github.com/org{}/service-{i}\n", i % 7));
    }
    text
}

fn render_text(dir: &std::path::Path, text: &str, args: &[&str]) -> String {
    std::fs::write(dir.join("change.yaml"), text).unwrap();
    let out = run_in(dir, &[&["render", "change.yaml"], args].concat());
    assert!(out.status.success(), "{}", shown(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn render(dir: &std::path::Path, text: &str, args: &[&str]) -> Vec<Value> {
    documents(&render_text(dir, text, args))
}

fn jobs(docs: &[Value]) -> Vec<&Value> {
    docs.iter().filter(|d| d["kind"] == "Job").collect()
}

#[test]
fn indexed_jobs_pass_the_validators_at_1_10_and_2500_repositories() {
    let dir = tempfile::tempdir().unwrap();
    for repos in [1, 10, 2500] {
        let text = render_text(dir.path(), &change(repos, "  rollout:\n    parallelism: 20\n"), &[]);
        let docs = documents(&text);
        let jobs = jobs(&docs);
        let indexes: i64 = jobs.iter().map(|j| j["spec"]["completions"].as_i64().unwrap()).sum();
        assert_eq!(indexes, repos as i64, "every repository is one index");
        for job in &jobs {
            let spec = &job["spec"];
            assert_eq!(spec["completionMode"], "Indexed");
            assert_eq!(spec["backoffLimitPerIndex"], 1);
            assert!(spec.get("backoffLimit").is_none());
            assert_eq!(spec["podFailurePolicy"]["rules"][0]["action"], "FailIndex");
            let contract = job["spec"]["template"]["metadata"]["annotations"]["bca.dev/run-contract"].as_str().unwrap();
            let contract: Value = serde_json::from_str(contract).unwrap();
            assert_eq!(
                contract["repositories"].as_array().unwrap().len() as i64,
                spec["completions"].as_i64().unwrap()
            );
            assert_eq!(contract["repository"], "");
        }
        let file = dir.path().join(format!("render-{repos}.yaml"));
        std::fs::write(&file, &text).unwrap();
        assert_kubernetes_valid(&file);
        assert_eq!(checkov_failures(&file), ["CKV_K8S_43"], "{repos} repositories");
    }
}

#[test]
fn at_most_n_agents_run_at_once_and_one_new_repository_replaces_one_job() {
    let dir = tempfile::tempdir().unwrap();
    let before = render(dir.path(), &change(2500, "  rollout:\n    parallelism: 20\n"), &[]);
    let before_jobs = jobs(&before);
    assert!(before_jobs.len() <= 20);
    let parallelism: i64 = before_jobs.iter().map(|j| j["spec"]["parallelism"].as_i64().unwrap()).sum();
    assert!(parallelism <= 20, "{parallelism} pods could run at once");
    let names = |docs: &[Value]| -> BTreeSet<String> {
        jobs(docs).iter().map(|j| j["metadata"]["name"].as_str().unwrap().to_string()).collect()
    };
    let mut more = change(2500, "  rollout:\n    parallelism: 20\n");
    more.push_str("    - https://github.com/acme/one-more\n");
    let after = render(dir.path(), &more, &[]);
    let (old, new) = (names(&before), names(&after));
    assert_eq!(old.difference(&new).count(), 1, "replaced: {:?}", old.difference(&new).collect::<Vec<_>>());
    assert_eq!(new.difference(&old).count(), 1);
    // The flag gives the same Jobs as the Change's field.
    let flag = render(dir.path(), &change(2500, ""), &["--parallelism", "20"]);
    assert_eq!(names(&flag), old);
}

#[test]
fn the_queue_label_is_on_every_job_and_nothing_suspends_them() {
    let dir = tempfile::tempdir().unwrap();
    for rollout in ["  rollout:\n    queue: bca-agents\n", "  rollout:\n    queue: bca-agents\n    parallelism: 4\n"] {
        let docs = render(dir.path(), &change(30, rollout), &[]);
        assert_eq!(jobs(&docs).len(), if rollout.contains("parallelism") { 4 } else { 30 }, "{rollout}");
        for job in jobs(&docs) {
            assert_eq!(job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "bca-agents");
            assert!(job["spec"].get("suspend").is_none(), "a suspend field would fight Kueue");
            let pod_labels = &job["spec"]["template"]["metadata"]["labels"];
            assert!(pod_labels.get("kueue.x-k8s.io/queue-name").is_none(), "Kueue would manage the pods twice");
        }
    }
    // The platform directory gets the LocalQueue; kustomize builds it.
    std::fs::write(dir.path().join("change.yaml"), change(3, "  rollout:\n    queue: bca-agents\n")).unwrap();
    let out =
        run_in(dir.path(), &["render", "--platform", "change.yaml", "--cluster-queue", "agents", "-o", "platform"]);
    assert!(out.status.success(), "{}", shown(&out));
    let platform = documents(&kustomize(&dir.path().join("platform")));
    let queue = platform.iter().find(|d| d["kind"] == "LocalQueue").expect("a LocalQueue");
    assert_eq!(queue["apiVersion"], "kueue.x-k8s.io/v1beta1");
    assert_eq!(queue["metadata"]["name"], "bca-agents");
    assert_eq!(queue["spec"]["clusterQueue"], "agents");
}

#[test]
fn templates_that_name_the_repository_cannot_be_shared_by_an_indexed_job() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/pull-request-title.j2"), "Bump logging in {{ repository }}").unwrap();
    std::fs::write(dir.path().join("change.yaml"), change(3, "  rollout:\n    parallelism: 2\n")).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "--templates", "templates"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "change.yaml: the pull request templates use {{ repository }}, but an Indexed Job shares one run contract among its repositories: drop it from the templates, or render one Job per repository (Indexed Jobs come from spec.rollout.parallelism or --parallelism)"
    ), "{}", shown(&out));
}

#[test]
fn two_indexes_of_an_indexed_job_each_open_their_own_pull_request() {
    let token = "ghp_rollout_push_token_0123456789";
    let gh = GitHub::start(token, "bca-bot");
    gh.add_repo("acme/api", &[("README.md", "# api\n")], &[]);
    gh.add_repo("acme/web", &[("README.md", "# web\n")], &[]);
    let change = "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/acme/api, https://github.com/acme/web]\n  agent: copilot-cli\n  rollout:\n    parallelism: 1\n";
    let out = run_local_with_stand_in(change, "echo \"edited $(basename \"$PWD\")\" >> README.md\n", token, &gh.url);
    assert!(out.status.success(), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("index 0 for https://github.com/acme/api")
            && stderr.contains("index 1 for https://github.com/acme/web"),
        "{stderr}"
    );
    let pulls = gh.pulls();
    let repos: Vec<&str> = pulls.iter().map(|p| p.repo.as_str()).collect();
    assert_eq!(repos, ["acme/api", "acme/web"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "one result line per repository:\n{stdout}");
    for line in stdout.lines() {
        let result: Value = serde_json::from_str(line).unwrap();
        assert_eq!(result["status"], "opened", "{line}");
    }
}

#[test]
fn every_repository_of_a_10000_repository_fleet_gets_the_whole_deadline_in_its_own_pod() {
    let dir = tempfile::tempdir().unwrap();
    let docs =
        render(dir.path(), &change(10_000, "  rollout:\n    parallelism: 50\n  job:\n    deadline: 3600\n"), &[]);
    let jobs = jobs(&docs);
    assert_eq!(jobs.len(), 50);
    let indexes: i64 = jobs.iter().map(|j| j["spec"]["completions"].as_i64().unwrap()).sum();
    assert_eq!(indexes, 10_000);
    for job in jobs {
        let spec = &job["spec"];
        let completions = spec["completions"].as_i64().unwrap();
        // Kubernetes counts a pod's deadline per pod: each index gets all of it.
        assert_eq!(spec["template"]["spec"]["activeDeadlineSeconds"], 3600);
        // The Job's own clock covers every index and its one retry, one after another.
        assert_eq!(spec["activeDeadlineSeconds"].as_i64().unwrap(), completions * 2 * 3600);
        let contract = spec["template"]["metadata"]["annotations"]["bca.dev/run-contract"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(contract).unwrap()["podDeadline"], 3600);
    }
}

#[test]
fn an_index_that_uses_up_its_deadline_leaves_the_next_index_its_own() {
    let token = "ghp_rollout_push_token_0123456789";
    let gh = GitHub::start(token, "bca-bot");
    gh.add_repo("acme/api", &[("README.md", "# api\n")], &[]);
    gh.add_repo("acme/web", &[("README.md", "# web\n")], &[]);
    // 60 s, the least a Change may set: the agent gets 54 s less what fork and clone used.
    let change = "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/acme/api, https://github.com/acme/web]\n  agent: copilot-cli\n  rollout:\n    parallelism: 1\n  job:\n    deadline: 60\n";
    // The agent hangs on the first repository, with a child of its own.
    let script = "if [ \"$(basename \"$PWD\")\" = repo ] && grep -q api README.md; then sleep 600 & sleep 600; fi\necho edited >> README.md\n";
    let started = std::time::Instant::now();
    let out = run_local_with_stand_in(change, script, token, &gh.url);
    assert!(started.elapsed() < std::time::Duration::from_secs(100), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("https://github.com/acme/api: step agent failed (exit 3): agent: https://github.com/acme/api: copilot (copilot-cli) was stopped after"),
        "{stderr}"
    );
    assert!(stderr.contains("its share of the pod's deadline"), "{stderr}");
    assert!(stderr.contains("bca: 1 Job(s) failed"), "{stderr}");
    // The second index ran in full and opened its pull request.
    let repos: Vec<String> = gh.pulls().iter().map(|p| p.repo.clone()).collect();
    assert_eq!(repos, ["acme/web"]);
    let result: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(result["status"], "opened");
}

#[test]
fn more_than_500_one_repository_jobs_are_refused_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change(501, "")).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(out.stdout.is_empty(), "no partial output");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bca: error: change.yaml: spec.repos lists 501 repositories, rendered as 501 Jobs that start 501 agents at once; GitOps tools read that many Jobs slowly (kubectl kustomize takes 30 s and 0.9 GB for 2,000, and Argo CD gives up after 90 s): set spec.rollout.parallelism (for example 50) to run them as Indexed Jobs, at most that many agents at once (or --parallelism), or pass --allow-many-jobs to render them anyway\n"
    );
    assert_eq!(jobs(&render(dir.path(), &change(501, ""), &["--allow-many-jobs"])).len(), 501);
    assert_eq!(jobs(&render(dir.path(), &change(500, ""), &[])).len(), 500);
    // Paced, the same Change renders without the flag.
    assert_eq!(jobs(&render(dir.path(), &change(501, ""), &["--parallelism", "50"])).len(), 50);
}

#[test]
fn a_deadline_kubernetes_would_refuse_is_refused_here() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change(1, "")).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "--deadline", "2147483648"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2147483648 is not in 60..=2147483647"), "{}", shown(&out));
}

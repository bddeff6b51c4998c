//! `bca render`: golden output of the examples, checked by the real validators
//! (kubernetes-validate, checkov, kubectl kustomize), plus determinism, secrets,
//! naming and the output directory.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use bca_runner::RunContract;
use insta::assert_snapshot;
use serde_json::Value;
use support::k8s::{assert_kubernetes_valid, checkov_failures, documents, kustomize};
use support::{bca, repo_root, run_in, shown};

const CHANGE: &str = "kind: Change\napiVersion: v1\nspec:\n  prompt: Fix it\n  repos:\n    - https://github.com/acme/a\n    - https://github.com/acme/b\n    - https://github.com/acme/c\n  agent: copilot-cli\n";

fn render_text(change: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), change).unwrap();
    let mut all = vec!["render", "change.yaml"];
    all.extend_from_slice(args);
    run_in(dir.path(), &all)
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", shown(out));
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Job names by repository URL.
fn job_names(yaml: &str) -> Vec<(String, String)> {
    documents(yaml)
        .iter()
        .filter(|d| d["kind"] == "Job")
        .map(|d| {
            (
                d["metadata"]["annotations"]["bca.dev/repository-url"].as_str().unwrap().to_string(),
                d["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn contract(job: &Value) -> RunContract {
    let json = job["spec"]["template"]["metadata"]["annotations"]["bca.dev/run-contract"].as_str().unwrap();
    RunContract::from_json(json).unwrap()
}

// --- golden output ---

#[test]
fn golden_copilot_example() {
    assert_snapshot!(shown(&run_in(repo_root(), &["render", "examples/change.yaml"])));
}

#[test]
fn golden_gemini_example_with_external_secret() {
    let out = run_in(
        repo_root(),
        &[
            "render",
            "examples/gemini.yaml",
            "--github-host",
            "ghe.example.com",
            "--external-secret",
            "vault",
            "--ttl",
            "3600",
        ],
    );
    assert_snapshot!(shown(&out));
}

// --- the real validators ---

fn variants() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("examples/change.yaml", vec![]),
        ("examples/gemini.yaml", vec!["--egress-port", "8443", "--ttl", "600"]),
        ("examples/change.yaml", vec!["--secret-from-env", "--no-network-policy", "--namespace", "agents"]),
        ("examples/gemini.yaml", vec!["--secret-from-env", "--image", "registry.example.com/bca-runner:1.2.3"]),
    ]
}

/// The Enterprise host the gemini example's repositories are on.
const GHE: [&str; 2] = ["--github-host", "ghe.example.com"];

fn render_variant(file: &str, args: &[&str]) -> String {
    let host: &[&str] = if file.ends_with("gemini.yaml") { &GHE } else { &[] };
    let out = bca()
        .current_dir(repo_root())
        .args(["render", file])
        .args(host)
        .args(args)
        .env("GITHUB_TOKEN", "ghp_example")
        .env("COPILOT_TOKEN", "copilot_example")
        .env("GEMINI_API_KEY", "gemini_example")
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn output_passes_kubernetes_validate_strict_for_oldest_and_newest_version() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, args)) in variants().into_iter().enumerate() {
        let path = dir.path().join(format!("render-{i}.yaml"));
        std::fs::write(&path, render_variant(file, &args)).unwrap();
        assert_kubernetes_valid(&path);
    }
}

#[test]
fn kubernetes_validate_catches_a_broken_job() {
    // The check above can fail: a misspelt field is refused.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    let text = render_variant("examples/change.yaml", &[]).replace("backoffLimit: 1", "backofLimit: 1");
    std::fs::write(&path, text).unwrap();
    let result = std::panic::catch_unwind(|| assert_kubernetes_valid(&path));
    assert!(result.is_err(), "kubernetes-validate accepted a misspelt field");
}

#[test]
fn output_passes_checkov_except_digest_pinning() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, args)) in variants().into_iter().enumerate() {
        let path = dir.path().join(format!("render-{i}.yaml"));
        std::fs::write(&path, render_variant(file, &args)).unwrap();
        // CKV2_K8S_6 asks for a NetworkPolicy: the one bca renders unless told not to.
        let expected: &[&str] =
            if args.contains(&"--no-network-policy") { &["CKV2_K8S_6", "CKV_K8S_43"] } else { &["CKV_K8S_43"] };
        assert_eq!(checkov_failures(&path), expected, "{file} {args:?}");
    }
}

#[test]
fn the_platform_and_change_directories_build_with_kustomize_to_the_one_shot_objects() {
    let dir = tempfile::tempdir().unwrap();
    let stream = render_variant("examples/gemini.yaml", &["--external-secret", "vault"]);
    let render_into = |out: &Path, extra: &[&str]| {
        let out = bca()
            .current_dir(repo_root())
            .args(["render", "examples/gemini.yaml"])
            .args(GHE)
            .args(extra)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", shown(&out));
    };
    let (platform, deploy) = (dir.path().join("platform"), dir.path().join("deploy"));
    render_into(&platform, &["--platform", "--external-secret", "vault"]);
    render_into(&deploy, &[]);
    let key = |v: &Value| format!("{}/{}", v["kind"], v["metadata"]["name"]);
    let mut from_stdout = documents(&stream);
    let mut from_kustomize = documents(&kustomize(&platform));
    let kinds: Vec<String> = from_kustomize.iter().map(|d| d["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["Namespace", "ExternalSecret", "NetworkPolicy"]);
    from_kustomize.extend(documents(&kustomize(&deploy)));
    from_stdout.sort_by_key(key);
    from_kustomize.sort_by_key(key);
    assert_eq!(from_stdout.len(), 5);
    assert_eq!(from_kustomize, from_stdout);
}

#[test]
fn two_changes_in_two_directories_own_no_object_in_common() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), CHANGE).unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        CHANGE.replace("copilot-cli", "gemini-cli").replace("Fix it", "Fix it too"),
    )
    .unwrap();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in ["a", "b"] {
        let out = run_in(dir.path(), &["render", &format!("{name}.yaml"), "-o", name]);
        assert!(out.status.success(), "{}", shown(&out));
        for doc in documents(&kustomize(&dir.path().join(name))) {
            let id = format!("{}/{}/{}", doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"]);
            assert_eq!(doc["kind"], "Job", "{id} in a Change's directory");
            if let Some(other) = seen.insert(id.clone(), name) {
                panic!("{id} is in both {other} and {name}");
            }
        }
    }
    assert_eq!(seen.len(), 6);
}

#[test]
fn credentials_in_a_changes_directory_point_to_the_platform_one() {
    let out = render_text(CHANGE, &["--external-secret", "vault", "-o", "deploy"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "the credentials are shared by every Change in the namespace, so a Change's directory does not hold them: \
         render them into the platform directory with bca render --platform"
    ));
}

#[test]
fn spec_job_shapes_the_jobs_and_flags_win() {
    let change = CHANGE.replace(
        "  agent:",
        "  job:\n    cpuLimit: \"4\"\n    memoryLimit: 16Gi\n    deadline: 7200\n    ttl: 600\n  agent:",
    );
    let job = |args: &[&str]| {
        documents(&stdout(&render_text(&change, args))).into_iter().find(|d| d["kind"] == "Job").unwrap()
    };
    let from_change = job(&[]);
    let limits = &from_change["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!((limits["cpu"].as_str(), limits["memory"].as_str()), (Some("4"), Some("16Gi")));
    // Per pod; the Job's own clock covers the pod and its one retry.
    assert_eq!(from_change["spec"]["template"]["spec"]["activeDeadlineSeconds"], 7200);
    assert_eq!(from_change["spec"]["activeDeadlineSeconds"], 2 * 7200);
    assert_eq!(from_change["spec"]["ttlSecondsAfterFinished"], 600);
    let from_flags = job(&["--cpu-limit", "8", "--deadline", "3600"]);
    let limits = &from_flags["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!((limits["cpu"].as_str(), limits["memory"].as_str()), (Some("8"), Some("16Gi")));
    assert_eq!(from_flags["spec"]["template"]["spec"]["activeDeadlineSeconds"], 3600);
    assert_eq!(from_flags["spec"]["activeDeadlineSeconds"], 2 * 3600);
    // A flag below the Change's request is what the cluster would refuse: said first.
    let out = render_text(&change, &["--memory-limit", "512Mi"]);
    assert_snapshot!(shown(&out), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: change.yaml: the memory request 1Gi is above the memory limit 512Mi, and Kubernetes refuses such a pod: lower the request or raise the limit (spec.job in the Change, or the render flags)
    ");
}

// --- determinism and secrets ---

#[test]
fn same_bytes_from_any_directory_clock_locale_and_environment() {
    let reference = render_variant("examples/gemini.yaml", &[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = repo_root().join("examples/gemini.yaml");
    let out = bca()
        .current_dir(elsewhere.path())
        .arg("render")
        .arg(&absolute)
        .args(GHE)
        .env("TZ", "Pacific/Kiritimati")
        .env("LANG", "tr_TR.UTF-8")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("SOURCE_DATE_EPOCH", "1")
        .env("HOSTNAME", "elsewhere")
        .env("GITHUB_TOKEN", "ghp_should_not_matter")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), reference);
    let again = render_variant("examples/gemini.yaml", &[]);
    assert_eq!(again, reference);
}

#[test]
fn no_token_from_the_environment_reaches_default_output() {
    // The default (an existing Secret) and the ExternalSecret: neither holds a value.
    for extra in [&[][..], &["--external-secret", "vault"][..]] {
        let out = bca()
            .current_dir(repo_root())
            .args(["render", "examples/change.yaml", "tests/fixtures/valid/original-gemini.yaml"])
            .args(extra)
            .env("GITHUB_TOKEN", "ghp_SECRET_GITHUB")
            .env("COPILOT_TOKEN", "SECRET_COPILOT")
            .env("GEMINI_API_KEY", "SECRET_GEMINI")
            .output()
            .unwrap();
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        for secret in ["ghp_SECRET_GITHUB", "SECRET_COPILOT", "SECRET_GEMINI"] {
            assert!(!text.contains(secret), "{secret} leaked with {extra:?}");
            for encoded in support::base64_forms(secret) {
                assert!(!text.contains(&encoded), "{secret} leaked base64-encoded ({encoded}) with {extra:?}");
            }
        }
    }
}

#[test]
fn secret_from_env_renders_exactly_the_needed_keys() {
    let out = bca()
        .current_dir(repo_root())
        .args(["render", "examples/change.yaml", "--secret-from-env"])
        .env("GITHUB_TOKEN", "gh-value")
        .env("COPILOT_TOKEN", "copilot-value")
        .env("GEMINI_API_KEY", "unused")
        .output()
        .unwrap();
    let docs = documents(&stdout(&out));
    // A one-shot render works on an empty cluster: the Namespace comes first.
    assert_eq!(docs[0]["kind"], "Namespace");
    assert_eq!(docs[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
    let secret = &docs[1];
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(
        secret["data"],
        serde_json::json!({"copilot-token": "Y29waWxvdC12YWx1ZQ==", "github-token": "Z2gtdmFsdWU="})
    );
}

#[test]
fn secret_from_env_names_every_missing_variable() {
    let out =
        bca().current_dir(repo_root()).args(["render", "examples/change.yaml", "--secret-from-env"]).output().unwrap();
    assert_snapshot!(shown(&out));
}

#[test]
fn plaintext_secret_into_output_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = bca()
        .current_dir(repo_root())
        .args(["render", "examples/change.yaml", "--secret-from-env", "-o"])
        .arg(dir.path().join("deploy"))
        .env("GITHUB_TOKEN", "x")
        .env("COPILOT_TOKEN", "y")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to write plaintext tokens from --secret-from-env into"), "{stderr}");
    assert!(stderr.contains("--unsafe-write-plaintext-secret"), "{stderr}");
    assert!(!dir.path().join("deploy").exists());
}

// --- user text is data ---

#[test]
fn hostile_prompt_survives_byte_exact_through_yaml_and_kustomize() {
    let prompt = "Use {{ .Values.x }} and {% raw %} \"quotes\" 'single' `rm -rf /` $(curl evil) ${HOME} \\n\n\
                  # not a comment\n- not a list\nkey: value\n  indented ✓ ünïcode 日本語 🦀\n\ttab\r\ncrlf  \n\n\n";
    let change = format!(
        "kind: Change\napiVersion: v1\nspec:\n  prompt: {}\n  repos: [https://github.com/acme/a]\n  agent: gemini-cli\n",
        serde_json::to_string(prompt).unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), &change).unwrap();
    let stream = stdout(&run_in(dir.path(), &["render", "change.yaml"]));
    let job = documents(&stream).into_iter().find(|d| d["kind"] == "Job").unwrap();
    assert_eq!(contract(&job).prompt, prompt);

    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]);
    assert!(out.status.success(), "{}", shown(&out));
    let built = kustomize(&dir.path().join("deploy"));
    let job = documents(&built).into_iter().find(|d| d["kind"] == "Job").unwrap();
    assert_eq!(contract(&job).prompt, prompt, "kubectl's YAML parser read the prompt differently");
}

// --- names ---

#[test]
fn changing_one_repository_renames_only_its_job() {
    let before = job_names(&stdout(&render_text(CHANGE, &[])));
    let after = job_names(&stdout(&render_text(&CHANGE.replace("acme/c", "acme/zzz"), &[])));
    assert_eq!(before[..2], after[..2]);
    assert_ne!(before[2].1, after[2].1);
}

#[test]
fn adding_a_repository_keeps_the_other_jobs() {
    let before = job_names(&stdout(&render_text(CHANGE, &[])));
    let after =
        job_names(&stdout(&render_text(&CHANGE.replace("  agent:", "    - https://github.com/acme/d\n  agent:"), &[])));
    assert_eq!(before[..], after[..3]);
    assert_eq!(after.len(), 4);
}

#[test]
fn changing_the_prompt_or_image_renames_every_job() {
    let before = job_names(&stdout(&render_text(CHANGE, &[])));
    for after in [
        job_names(&stdout(&render_text(&CHANGE.replace("Fix it", "Fix it well"), &[]))),
        job_names(&stdout(&render_text(CHANGE, &["--image", "ghcr.io/acme/runner:2"]))),
    ] {
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.0, a.0);
            assert_ne!(b.1, a.1);
        }
    }
}

#[test]
fn changing_the_namespace_keeps_job_names() {
    let before = job_names(&stdout(&render_text(CHANGE, &[])));
    let after = job_names(&stdout(&render_text(CHANGE, &["-n", "elsewhere"])));
    assert_eq!(before, after);
}

#[test]
fn long_repository_names_are_cut_never_the_hash() {
    let long = format!("https://github.com/{}/{}", "o".repeat(39), "r".repeat(100));
    let change = CHANGE.replace("https://github.com/acme/a", &long);
    let names = job_names(&stdout(&render_text(&change, &[])));
    let name = &names[0].1;
    assert_eq!(name.len(), 63, "{name}");
    assert!(name.starts_with("bca-ooo"), "{name}");
    let hash = name.rsplit('-').next().unwrap();
    assert_eq!(hash.len(), 10);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// Each container of the example's first Job: its image, and what it mounts (volume,
/// secret key if any, read-only or read-write).
fn mount_table(job: &Value) -> String {
    let pod = &job["spec"]["template"]["spec"];
    let volume = |name: &str| pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone();
    let mut table = String::new();
    for c in pod["initContainers"].as_array().unwrap().iter().chain(pod["containers"].as_array().unwrap()) {
        assert!(c.get("envFrom").is_none());
        table.push_str(&format!("{} ({})\n", c["name"].as_str().unwrap(), c["image"].as_str().unwrap()));
        for m in c["volumeMounts"].as_array().unwrap() {
            let v = volume(m["name"].as_str().unwrap());
            let key = v["secret"]["items"][0]["key"].as_str().map(|k| format!(" key {k}")).unwrap_or_default();
            let mode = if m["readOnly"] == true { "ro" } else { "rw" };
            table.push_str(&format!(
                "  {} {}{key} {mode}\n",
                m["mountPath"].as_str().unwrap(),
                m["name"].as_str().unwrap()
            ));
        }
    }
    table
}

#[test]
fn each_step_mounts_only_what_its_side_of_the_boundary_may() {
    let job = documents(&render_variant("examples/gemini.yaml", &["--image", "mirror.example.com/bca-runner:1.2.3"]))
        .into_iter()
        .find(|d| d["kind"] == "Job")
        .unwrap();
    // The agent's step: spec.image, its own key, the work tree, its HOME and /tmp; no
    // GitHub token, no state, no handoff. The token's steps: the runner image, never
    // the work tree after the agent ran.
    assert_snapshot!(mount_table(&job), @r"
    fork (mirror.example.com/bca-runner:1.2.3)
      /etc/bca run-contract ro
      /var/lib/bca state rw
      /tmp runner-tmp rw
      /var/run/secrets/bca github-token key github-token ro
    clone (mirror.example.com/bca-runner:1.2.3)
      /etc/bca run-contract ro
      /workspace workspace rw
      /var/lib/bca state rw
      /tmp runner-tmp rw
      /var/run/secrets/bca github-token key github-token ro
    agent (registry.example.com:5000/platform/agent-go:1.23)
      /etc/bca run-contract ro
      /workspace workspace rw
      /home/bca home rw
      /tmp tmp rw
      /var/run/secrets/bca agent-token key gemini-api-key ro
    collect (mirror.example.com/bca-runner:1.2.3)
      /etc/bca run-contract ro
      /workspace workspace ro
      /var/lib/bca state ro
      /var/lib/bca-handoff handoff rw
      /tmp collect-tmp rw
    publish (mirror.example.com/bca-runner:1.2.3)
      /etc/bca run-contract ro
      /var/lib/bca state rw
      /var/lib/bca-handoff handoff ro
      /tmp runner-tmp rw
      /var/run/secrets/bca github-token key github-token ro
    ");
}

/// With `spec.verify`, each agent attempt is followed by a verify container: the agent's
/// image (the toolchains), the work tree, a scratch of its own, no key at all, and the
/// only write access to the verdict, which the agent's containers and collect read.
#[test]
fn the_checks_run_in_containers_of_their_own() {
    let change = CHANGE.replace(
        "  agent:",
        "  image: registry.example.com/agent-go:1.23\n  verify:\n    commands: [make test]\n  agent:",
    );
    let job = documents(&stdout(&render_text(&change, &[]))).into_iter().find(|d| d["kind"] == "Job").unwrap();
    let table = mount_table(&job);
    let names: Vec<&str> = table.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        names.iter().map(|l| l.split(' ').next().unwrap()).collect::<Vec<_>>(),
        ["fork", "clone", "agent", "verify", "agent-2", "verify-2", "collect", "publish"]
    );
    // One container's lines: its header and its indented mounts.
    let section = |name: &str| {
        let mut lines = table.lines().skip_while(|l| !l.starts_with(&format!("{name} (")));
        let header = lines.next().unwrap_or_default().to_string();
        lines.take_while(|l| l.starts_with(' ')).fold(header, |all, l| format!("{all}\n{l}"))
    };
    assert_snapshot!(section("verify-2"), @r"
    verify-2 (registry.example.com/agent-go:1.23)
      /etc/bca run-contract ro
      /workspace workspace rw
      /var/lib/bca-verification verification rw
      /tmp verify-tmp rw
    ");
    assert_snapshot!(section("agent-2"), @r"
    agent-2 (registry.example.com/agent-go:1.23)
      /etc/bca run-contract ro
      /workspace workspace rw
      /var/lib/bca-verification verification ro
      /home/bca home rw
      /tmp tmp rw
      /var/run/secrets/bca agent-token key copilot-token ro
    ");
    assert!(section("collect").contains("/var/lib/bca-verification verification ro"));
    for token_step in ["fork", "clone", "publish"] {
        assert!(!section(token_step).contains("verification"), "{token_step}");
    }
    let pod = &job["spec"]["template"]["spec"];
    let command = |i: usize| pod["initContainers"][i]["command"].clone();
    assert_eq!(command(5), serde_json::json!(["bca-runner", "verify", "--attempt", "2"]));
}

/// `spec.followUp` renders a CronJob per Change (per shard when paced), never two
/// rounds at once, whose Job is the Change's own in follow-up mode: the same pod
/// security, containers and mounts, so the same trust boundary. It passes the same
/// validators as the Jobs.
#[test]
fn follow_up_rounds_are_a_cron_job_that_passes_the_validators() {
    let change = CHANGE.replace("  agent:", "  followUp:\n    rounds: 2\n    schedule: \"0 * * * *\"\n  agent:");
    let text = stdout(&render_text(&change, &[]));
    let docs = documents(&text);
    let crons: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "CronJob").collect();
    assert_eq!(crons.len(), 1, "{text}");
    let cron = crons[0];
    assert_eq!(cron["spec"]["schedule"], "0 * * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let job = &cron["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    let round = contract(&serde_json::json!({ "spec": job }));
    assert_eq!(round.follow_up.as_ref().map(|f| f.rounds), Some(2));
    assert_eq!(round.repositories.len(), 3);
    // The first run's Jobs carry no follow-up: they open the pull requests.
    let first = docs.iter().find(|d| d["kind"] == "Job").unwrap();
    assert!(contract(first).follow_up.is_none());
    // The same boundary as the Jobs: the pod spec is the Job's.
    assert_eq!(mount_table(&serde_json::json!({"spec": job})), mount_table(first));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("follow-up.yaml");
    std::fs::write(&path, &text).unwrap();
    assert_kubernetes_valid(&path);
    // The same findings as every render: the image is not pinned by digest.
    assert_eq!(checkov_failures(&path), ["CKV_K8S_43"]);
    // Without followUp, no CronJob and the same bytes as before.
    assert!(!stdout(&render_text(CHANGE, &[])).contains("CronJob"));
}

// --- bad input and flags ---

#[test]
fn invalid_change_gets_the_validate_errors_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE.replace("copilot-cli", "copiolt-cli")).unwrap();
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]);
    assert_snapshot!(shown(&out));
    assert_eq!(std::fs::read_dir(dir.path().join("deploy")).unwrap().count(), 0);
}

#[test]
fn floating_image_gets_a_warning() {
    let out = render_text(&CHANGE.replace("  agent:", "  image: ghcr.io/acme/runner:latest\n  agent:"), &[]);
    assert!(out.status.success());
    assert_snapshot!(String::from_utf8_lossy(&out.stderr), @"warning: change.yaml: image ghcr.io/acme/runner:latest is not pinned (no tag, or :latest): each pod may run a different image; use a version tag or a digest");
}

#[test]
fn spec_image_runs_only_the_agent_step() {
    let change = CHANGE.replace("  agent:", "  image: ghcr.io/acme/toolchain:1\n  agent:");
    for (args, runner) in [
        (&[][..], bca_runner::pod::default_image()),
        (&["--image", "mirror.example.com/bca/runner:1"][..], "mirror.example.com/bca/runner:1".to_string()),
    ] {
        let docs = documents(&stdout(&render_text(&change, args)));
        assert_eq!(docs.iter().filter(|d| d["kind"] == "Job").count(), 3, "{args:?}");
        for job in docs.iter().filter(|d| d["kind"] == "Job") {
            let pod = &job["spec"]["template"]["spec"];
            let containers =
                pod["initContainers"].as_array().unwrap().iter().chain(pod["containers"].as_array().unwrap());
            let images: Vec<String> = containers
                .map(|c| format!("{}={}", c["name"].as_str().unwrap(), c["image"].as_str().unwrap()))
                .collect();
            let want: Vec<String> = ["fork", "clone", "agent", "collect", "publish"]
                .iter()
                .map(|s| format!("{s}={}", if *s == "agent" { "ghcr.io/acme/toolchain:1" } else { runner.as_str() }))
                .collect();
            assert_eq!(images, want, "{args:?}");
        }
    }
}

#[test]
fn a_github_enterprise_repository_needs_its_host_allowed() {
    let change = CHANGE.replace("github.com", "ghe.example.com");
    assert_snapshot!(shown(&render_text(&change, &[])), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: change.yaml: https://ghe.example.com/acme/a is on ghe.example.com, and the GitHub token is sent only to github.com: if ghe.example.com is your GitHub Enterprise host, pass --github-host ghe.example.com
    ");
    assert_snapshot!(shown(&render_text(&change, &["--github-host", "other.example.com"])), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: change.yaml: https://ghe.example.com/acme/a is on ghe.example.com, but --github-host is other.example.com: one credentials Secret serves one GitHub host; render the Changes of each host separately
    ");
    let docs = documents(&stdout(&render_text(&change, &["--github-host", "GHE.example.com"])));
    let hosts: Vec<Option<String>> =
        docs.iter().filter(|d| d["kind"] == "Job").map(|job| contract(job).github_host).collect();
    assert_eq!(hosts, vec![Some("ghe.example.com".to_string()); 3]);
    // github.com repositories carry no host: the token is github.com's.
    let docs = documents(&stdout(&render_text(CHANGE, &[])));
    assert!(docs.iter().filter(|d| d["kind"] == "Job").all(|job| contract(job).github_host.is_none()));
}

#[test]
fn the_push_token_as_the_agents_key_is_refused() {
    let out = bca()
        .current_dir(repo_root())
        .args(["render", "examples/change.yaml", "--secret-from-env"])
        .env("GITHUB_TOKEN", "ghp_same_token_0123")
        .env("COPILOT_TOKEN", "ghp_same_token_0123")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "COPILOT_TOKEN holds the same token as GITHUB_TOKEN: the agent would get the token that can push"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("ghp_same_token_0123") && out.stdout.is_empty());
}

#[test]
fn verification_settings_are_in_the_contract_and_the_fingerprint() {
    let verify = "  verify:\n    commands: [make test]\n    allowedPaths: [\"src/**\"]\n  agent:";
    let fingerprint = |change: &str| {
        let docs = documents(&stdout(&render_text(change, &[])));
        contract(docs.iter().find(|d| d["kind"] == "Job").unwrap())
    };
    let plain = fingerprint(CHANGE);
    let verified = fingerprint(&CHANGE.replace("  agent:", verify));
    let v = verified.verify.as_ref().unwrap();
    assert_eq!((v.commands.as_slice(), v.attempts, v.timeout), (&["make test".to_string()][..], 2, 900));
    assert_ne!(plain.work.fingerprint, verified.work.fingerprint);
    let stricter = fingerprint(&CHANGE.replace("  agent:", &verify.replace("make test", "make test lint")));
    assert_ne!(stricter.work.fingerprint, verified.work.fingerprint);
}

#[test]
fn pull_request_settings_reach_the_contract() {
    let pr = "  pullRequest:\n    title: \"Logging: slog everywhere\"\n    draft: true\n    labels: [fleet]\n    reviewers: [alice]\n  fork: false\n  agent:";
    let change = CHANGE.replace("  agent:", pr);
    let docs = documents(&stdout(&render_text(&change, &["--allow-agent-code-in-repository-ci"])));
    let c = contract(docs.iter().find(|d| d["kind"] == "Job").unwrap());
    assert_eq!(c.pull_request_title, "Logging: slog everywhere");
    assert!(c.pull_request.draft && c.no_fork && c.agent_code_in_repository_ci);
    assert_eq!(
        (c.pull_request.labels, c.pull_request.reviewers),
        (vec!["fleet".to_string()], vec!["alice".to_string()])
    );
}

#[test]
fn egress_opens_only_what_the_flags_name() {
    let args = [
        "--egress-cidr",
        "10.20.0.0/16",
        "--egress-cidr",
        "fd00::/8",
        "--dns-namespace",
        "dns",
        "--dns-selector",
        "app=coredns",
    ];
    let docs = documents(&stdout(&render_text(CHANGE, &args)));
    let policy = docs.iter().find(|d| d["kind"] == "NetworkPolicy").unwrap();
    let rules = &policy["spec"]["egress"];
    assert_eq!(rules[0]["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "dns");
    assert_eq!(rules[0]["to"][0]["podSelector"]["matchLabels"]["app"], "coredns");
    let blocks: Vec<&str> =
        rules[1]["to"].as_array().unwrap().iter().map(|p| p["ipBlock"]["cidr"].as_str().unwrap()).collect();
    assert_eq!(blocks, ["0.0.0.0/0", "::/0", "10.20.0.0/16", "fd00::/8"]);
    assert!(rules[1]["to"][0]["ipBlock"]["except"].as_array().unwrap().iter().any(|c| c == "10.0.0.0/8"));
    // NAT64 would map private IPv4 services into ::/0.
    let v6_except = rules[1]["to"][1]["ipBlock"]["except"].as_array().unwrap();
    for nat64 in ["64:ff9b::/96", "64:ff9b:1::/48"] {
        assert!(v6_except.iter().any(|c| c == nat64), "{nat64} is reachable: {v6_except:?}");
    }
}

#[test]
fn scratch_volumes_and_ephemeral_storage_are_bounded() {
    let docs = documents(&stdout(&render_text(CHANGE, &["--workspace-size", "2Gi", "--scratch-size", "1Gi"])));
    let job = docs.iter().find(|d| d["kind"] == "Job").unwrap();
    let pod = &job["spec"]["template"]["spec"];
    let sizes: Vec<String> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("emptyDir").is_some())
        .map(|v| format!("{}={}", v["name"].as_str().unwrap(), v["emptyDir"]["sizeLimit"].as_str().unwrap_or("none")))
        .collect();
    assert_eq!(
        sizes,
        ["workspace=2Gi", "home=1Gi", "tmp=1Gi", "runner-tmp=1Gi", "collect-tmp=1Gi", "state=2Gi", "handoff=2Gi"]
    );
    for c in pod["initContainers"].as_array().unwrap().iter().chain(pod["containers"].as_array().unwrap()) {
        assert_eq!(c["resources"]["requests"]["ephemeral-storage"], "2Gi");
        // Three repository-sized volumes, four scratch ones, 1Gi for logs.
        assert_eq!(c["resources"]["limits"]["ephemeral-storage"], format!("{}Mi", 3 * 2048 + 4 * 1024 + 1024));
    }
}

#[test]
fn bad_flag_values_are_usage_errors() {
    for (args, expected) in [
        (vec!["--namespace", "Bad_NS"], "is not a valid name"),
        (vec!["--cpu-limit", "2 cores"], "is not a Kubernetes quantity"),
        (vec!["--image", "Not/Valid"], "is not a valid image reference"),
        (vec!["--deadline", "5"], "5 is not in 60.."),
        (vec!["--force"], "--output-dir"),
        (vec!["--secret-from-env", "--external-secret", "vault"], "cannot be used with"),
        (vec!["--egress-cidr", "10.0.0.0/33"], "\"10.0.0.0/33\" is not a CIDR block"),
        (
            vec!["--github-host", "https://ghe.example.com"],
            "is not a host name: expected a name such as ghe.example.com",
        ),
        (vec!["--dns-selector", "kube-dns"], "is not a label: expected KEY=VALUE"),
        (vec!["--scratch-size", "lots"], "is not a Kubernetes quantity"),
    ] {
        let out = render_text(CHANGE, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_same_job_from_two_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), CHANGE).unwrap();
    std::fs::write(dir.path().join("b.yaml"), CHANGE).unwrap();
    assert_snapshot!(shown(&run_in(dir.path(), &["render", "a.yaml", "b.yaml"])));
}

// --- the output directory ---

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn output_dir_replaces_stale_files_of_an_earlier_render() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    assert!(run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]).status.success());
    let first = listing(&dir.path().join("deploy"));
    std::fs::write(dir.path().join("change.yaml"), CHANGE.replace("acme/c", "acme/zzz")).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]);
    let second = listing(&dir.path().join("deploy"));
    assert_eq!(first.len(), second.len());
    let gone: Vec<_> = first.iter().filter(|f| !second.contains(f)).collect();
    assert_eq!(gone.len(), 1);
    assert!(gone[0].starts_with("job-bca-acme-c-"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("wrote 5 files to deploy; removed 1 stale: {}", gone[0])), "{stderr}");
    // Nothing is left beside the directory.
    assert_eq!(listing(dir.path()), ["change.yaml", "deploy"]);
}

#[test]
fn output_dir_with_foreign_files_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::write(dir.path().join("deploy/README.md"), "mine").unwrap();
    std::fs::write(dir.path().join("deploy/extra.yaml"), "kind: ConfigMap\n").unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]);
    assert_snapshot!(shown(&out));
    assert_eq!(listing(&dir.path().join("deploy")), ["README.md", "extra.yaml"]);

    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy", "--force"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force: deleted README.md, which bca did not write"));
    assert!(!listing(&dir.path().join("deploy")).contains(&"README.md".to_string()));
}

#[test]
fn output_dir_that_holds_the_working_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", ".", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it is the current directory or one of its parents"));
    assert_eq!(listing(dir.path()), ["change.yaml"]);
}

// --- templates ---

#[test]
fn custom_templates_shape_the_pull_request() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tpl")).unwrap();
    std::fs::write(dir.path().join("tpl/pull-request-title.j2"), "[{{ change_id }}] {{ prompt_title }}").unwrap();
    std::fs::write(
        dir.path().join("tpl/pull-request-body.md.j2"),
        "Tracked in OPS-1. {{ repository }}@{{ base_branch }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE.replace("Fix it", "Fix it {{ 7 * 7 }}")).unwrap();
    let stream = stdout(&run_in(dir.path(), &["render", "change.yaml", "--templates", "tpl"]));
    let job = documents(&stream).into_iter().find(|d| d["kind"] == "Job").unwrap();
    let c = contract(&job);
    assert_eq!(c.pull_request_title, format!("[{}] Fix it {{{{ 7 * 7 }}}}", c.change_id));
    assert_eq!(c.pull_request_body, "Tracked in OPS-1. https://github.com/acme/a@main\n");
    // Templates not in the directory stay the built-in ones.
    assert!(c.commit_message.ends_with("Made-by: bca\n"), "{}", c.commit_message);
}

#[test]
fn broken_template_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tpl")).unwrap();
    std::fs::write(dir.path().join("tpl/commit-message.j2"), "{{ prompt_title }}\n\n{{ promt }}\n").unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "--templates", "tpl"]);
    assert_snapshot!(shown(&out), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: --templates tpl: tpl/commit-message.j2:3: {{ promt }} is not a template variable: did you mean prompt? templates can use prompt, prompt_title, change_id, agent, repository, base_branch, head_branch, fence
    ");
    std::fs::write(dir.path().join("tpl/pr-title.j2"), "x").unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "--templates", "tpl"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("tpl: unknown template pr-title.j2; a templates directory holds any of: pull-request-title.j2, pull-request-body.md.j2, commit-message.j2"));
}

/// A pod's annotations are at most 256 KiB: a body template that would pass it is
/// refused at render, naming the repository, not by the API server at apply.
#[test]
fn a_run_contract_too_large_for_a_pod_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tpl")).unwrap();
    std::fs::write(dir.path().join("tpl/pull-request-body.md.j2"), "x".repeat(300 * 1024)).unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "--templates", "tpl"]);
    assert_snapshot!(shown(&out), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: change.yaml: the run contract of https://github.com/acme/a's Job is 301 KiB, and Kubernetes refuses a pod whose annotations pass 256 KiB: shorten the prompt or the pull request templates
    ");
}

#[test]
fn external_secret_for_a_namespaced_store() {
    let text = stdout(&render_text(
        CHANGE,
        &["--external-secret", "team-vault", "--external-secret-store-kind", "SecretStore"],
    ));
    let external = documents(&text).into_iter().find(|d| d["kind"] == "ExternalSecret").unwrap();
    assert_eq!(external["spec"]["secretStoreRef"], serde_json::json!({"kind": "SecretStore", "name": "team-vault"}));
    assert_eq!(external["spec"]["target"]["name"], "bca-credentials");
    let keys: Vec<&str> =
        external["spec"]["data"].as_array().unwrap().iter().map(|d| d["secretKey"].as_str().unwrap()).collect();
    assert_eq!(keys, ["github-token", "copilot-token"]);
}

#[test]
fn agent_settings_reach_the_contract_of_their_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("copilot.yaml"), CHANGE).unwrap();
    std::fs::write(
        dir.path().join("gemini.yaml"),
        CHANGE.replace("copilot-cli", "gemini-cli").replace("acme/", "other/"),
    )
    .unwrap();
    let args = [
        "render",
        "copilot.yaml",
        "gemini.yaml",
        "--agent-setting",
        "COPILOT_PROVIDER_BASE_URL=https://models.internal/v1",
        "--agent-setting",
        "GEMINI_MODEL=gemini-pro",
    ];
    let docs = documents(&stdout(&run_in(dir.path(), &args)));
    let settings: Vec<String> = docs
        .iter()
        .filter(|d| d["kind"] == "Job")
        .map(|job| {
            let c = contract(job);
            format!("{}: {:?}", c.agent, c.agent_settings)
        })
        .collect();
    assert_eq!(settings[0], "copilot-cli: {\"COPILOT_PROVIDER_BASE_URL\": \"https://models.internal/v1\"}");
    assert_eq!(settings[5], "gemini-cli: {\"GEMINI_MODEL\": \"gemini-pro\"}");
}

#[test]
fn agent_setting_mistakes_are_named() {
    for (args, expected) in [
        (vec!["--agent-setting", "COPILOT_PROVIDER_API_KEY=sk-123"], "COPILOT_PROVIDER_API_KEY is a secret and does not belong in a Job: put it in the credentials Secret under key copilot-token"),
        (vec!["--agent-setting", "COPILOT_MODLE=x"], "unknown agent setting COPILOT_MODLE; expected one of: COPILOT_MODEL,"),
        (vec!["--agent-setting", "GEMINI_MODEL=x"], "--agent-setting GEMINI_MODEL is for gemini-cli, which none of the Changes use"),
    ] {
        let out = render_text(CHANGE, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("sk-123") && out.stdout.is_empty(), "a refused value was echoed: {stderr}");
    }
}

#[test]
fn the_leak_probe_finds_a_token_rendered_on_purpose() {
    // The check above can fail: a rendered Secret holds exactly these encodings.
    let out = bca()
        .current_dir(repo_root())
        .args(["render", "examples/change.yaml", "--secret-from-env"])
        .env("GITHUB_TOKEN", "ghp_SECRET_GITHUB")
        .env("COPILOT_TOKEN", "prefix-SECRET_COPILOT")
        .output()
        .unwrap();
    let text = stdout(&out);
    for secret in ["ghp_SECRET_GITHUB", "SECRET_COPILOT"] {
        assert!(support::base64_forms(secret).iter().any(|e| text.contains(e)), "{secret} not found encoded");
    }
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_success() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("bca"))
        .current_dir(repo_root())
        .args(["render", "examples/change.yaml"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bca: error: writing standard output: No space left on device")
    );
}

#[test]
fn two_changes_with_one_name_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let named = |prompt: &str, repo: &str| {
        format!("kind: Change\napiVersion: v1\nmetadata:\n  name: migrate\nspec:\n  prompt: {prompt}\n  repos: [https://github.com/acme/{repo}]\n  agent: copilot-cli\n")
    };
    std::fs::write(dir.path().join("team-a.yaml"), named("Do A", "a")).unwrap();
    std::fs::write(dir.path().join("team-b.yaml"), named("Do B", "b")).unwrap();
    let out = run_in(dir.path(), &["render", "team-a.yaml", "team-b.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bca: error: team-a.yaml and team-b.yaml both name their Change migrate: a name is a Change's branch (bca/migrate) and pull requests, so the second would push over the first's work; rename one (metadata.name)\n"
    );
}

#[test]
fn a_directory_holds_one_thing_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let named = |name: &str| {
        format!("kind: Change\napiVersion: v1\nmetadata:\n  name: {name}\nspec:\n  prompt: Fix it\n  repos: [https://github.com/acme/{name}]\n  agent: copilot-cli\n")
    };
    std::fs::write(dir.path().join("a.yaml"), named("a")).unwrap();
    std::fs::write(dir.path().join("b.yaml"), named("b")).unwrap();
    assert!(run_in(dir.path(), &["render", "a.yaml", "-o", "deploy-a"]).status.success());
    assert!(run_in(dir.path(), &["render", "--platform", "a.yaml", "-o", "platform"]).status.success());
    let before = listing(&dir.path().join("deploy-a"));
    // Another Change into A's directory, a Change into the platform's, the platform into a Change's.
    for (args, holds, would) in [
        (vec!["render", "b.yaml", "-o", "deploy-a"], "Change a", "Change b"),
        (vec!["render", "a.yaml", "-o", "platform"], "the platform (the namespace's shared objects)", "Change a"),
        (
            vec!["render", "--platform", "a.yaml", "-o", "deploy-a"],
            "Change a",
            "the platform (the namespace's shared objects)",
        ),
    ] {
        let out = run_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", shown(&out));
        let target = args[args.len() - 1];
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("bca: error: {target} holds {holds} ({target}/bca-render.yaml); rendering {would} there would replace it: choose that one's own directory, or pass --force to replace it\n")
        );
    }
    assert_eq!(listing(&dir.path().join("deploy-a")), before, "a refused render changed the directory");
    assert!(dir.path().join("platform").join("kustomization.yaml").exists());
    // Adding a Change to a directory that holds it is an edit; --force replaces anyway.
    assert!(run_in(dir.path(), &["render", "a.yaml", "b.yaml", "-o", "deploy-a"]).status.success());
    assert!(run_in(dir.path(), &["render", "b.yaml", "-o", "platform", "--force"]).status.success());
}

/// A branch in the repository itself runs its CI on the agent's code before review: bca
/// renders that only when told it is accepted.
#[test]
fn pushing_to_the_repositories_themselves_needs_an_acknowledgement() {
    let refused = render_text(&CHANGE.replace("  agent:", "  fork: false\n  agent:"), &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", shown(&refused));
    assert!(refused.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "bca: error: change.yaml: spec.fork is false, so the agent's branch goes to the repository itself, where its push and pull_request workflows run the agent's code with the repository's secrets before anyone reviews it: fork instead (spec.fork: true, and a --fork-org that does not own the repositories), or accept it with --allow-agent-code-in-repository-ci (and add branches-ignore: ['bca/**'] to push workflows)\n"
    );
    let owned = render_text(CHANGE, &["--fork-org", "acme"]);
    assert_eq!(owned.status.code(), Some(2), "{}", shown(&owned));
    assert!(
        String::from_utf8_lossy(&owned.stderr).contains(
            "change.yaml: the fork owner acme owns acme/a, so the agent's branch goes to the repository itself"
        ),
        "{}",
        shown(&owned)
    );
    assert!(render_text(CHANGE, &["--fork-org", "platform-bots"]).status.success());
}

#[test]
fn an_unnamed_change_does_not_replace_a_named_changes_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("named.yaml"), CHANGE.replace("spec:", "metadata:\n  name: migrate\nspec:"))
        .unwrap();
    std::fs::write(dir.path().join("unnamed.yaml"), CHANGE).unwrap();
    assert!(run_in(dir.path(), &["render", "named.yaml", "-o", "deploy"]).status.success());
    let out = run_in(dir.path(), &["render", "unnamed.yaml", "-o", "deploy"]);
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "deploy holds Change migrate (deploy/bca-render.yaml); rendering unnamed Changes there would replace it"
        ),
        "{}",
        shown(&out)
    );
    // A directory of unnamed Changes cannot say whose it is: a name may be added.
    assert!(run_in(dir.path(), &["render", "unnamed.yaml", "-o", "other"]).status.success());
    assert!(run_in(dir.path(), &["render", "named.yaml", "-o", "other"]).status.success());
}

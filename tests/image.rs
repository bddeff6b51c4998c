//! The runner image's Dockerfile agrees with what `bca render` writes into every Job,
//! installs what the tests run, and passes hadolint and checkov. No registry is
//! reachable here, so the image itself is not built; see docs/agents.md, "Runner image and releases".

mod support;

use std::process::Command;

use bca_runner::{pod, Agent};
use serde_json::Value;
use support::k8s::documents;
use support::{repo_root, run_in, tools};

fn dockerfile() -> String {
    std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap()
}

/// The instructions of the runtime stage (after the last FROM), continuation lines joined.
fn runtime_stage() -> Vec<String> {
    let text = dockerfile().replace("\\\n", " ");
    let stage = text.rsplit_once("\nFROM ").unwrap().1;
    stage.lines().filter(|l| !l.trim_start().starts_with('#')).map(str::to_string).collect()
}

fn rendered_pod() -> serde_json::Value {
    let out = run_in(repo_root(), &["render", "examples/change.yaml"]);
    let job = documents(&String::from_utf8(out.stdout).unwrap()).into_iter().find(|d| d["kind"] == "Job").unwrap();
    job["spec"]["template"]["spec"].clone()
}

#[test]
fn user_home_and_directories_match_the_rendered_job() {
    let pod = rendered_pod();
    let uid = pod["securityContext"]["runAsUser"].as_i64().unwrap();
    let gid = pod["securityContext"]["runAsGroup"].as_i64().unwrap();
    assert_eq!((uid, gid), (pod::RUNNER_UID, pod::RUNNER_GID));
    let stage = runtime_stage().join("\n");
    assert!(stage.contains(&format!("groupadd --gid {gid} ")), "{stage}");
    assert!(stage.contains(&format!("useradd --uid {uid} --gid {gid} --home-dir {} ", pod::HOME_DIR)), "{stage}");
    assert!(stage.lines().any(|l| l.trim() == format!("USER {uid}:{gid}")), "{stage}");
    assert!(stage.lines().any(|l| l.trim() == format!("ENV HOME={}", pod::HOME_DIR)), "{stage}");
    // Every directory a container mounts and the runner writes exists and is the user's.
    let containers: Vec<&Value> =
        pod["initContainers"].as_array().unwrap().iter().chain(pod["containers"].as_array().unwrap()).collect();
    let mounts: Vec<String> = containers
        .iter()
        .flat_map(|c| c["volumeMounts"].as_array().unwrap())
        .map(|m| m["mountPath"].as_str().unwrap().to_string())
        .collect();
    let mkdir = stage.lines().find(|l| l.contains("mkdir -p ")).expect("the image creates the mounted directories");
    let chown = stage.lines().find(|l| l.contains("chown 10001:10001 ")).expect("and gives them to the runner");
    for dir in [pod::WORKSPACE_DIR, pod::STATE_DIR, pod::HANDOFF_DIR] {
        assert!(mounts.contains(&dir.to_string()), "the Job does not mount {dir}");
        let created = |line: &str| line.split_whitespace().any(|w| w == dir);
        assert!(created(mkdir) && created(chown), "the image does not create {dir} for the runner:\n{stage}");
    }
    let agent = containers.iter().find(|c| c["name"] == "agent").unwrap();
    let workdir = agent["workingDir"].as_str().unwrap();
    assert!(stage.lines().any(|l| l.trim() == format!("WORKDIR {workdir}")), "{stage}");
    // The Job runs the binary by name, so the image must have it on PATH.
    let command = pod["containers"][0]["command"][0].as_str().unwrap();
    assert!(stage.contains(&format!("/usr/local/bin/{command}")), "{stage}");
}

#[test]
fn gemini_cli_gets_the_system_settings_that_outrank_a_repository() {
    let stage = runtime_stage().join("\n");
    let line = format!("printf '%s\\n' '{}' > {}", Agent::GEMINI_SYSTEM_SETTINGS, Agent::GEMINI_SYSTEM_SETTINGS_PATH);
    assert!(stage.contains(&line), "the image does not write {line}:\n{stage}");
    let settings: Value = serde_json::from_str(Agent::GEMINI_SYSTEM_SETTINGS).unwrap();
    assert_eq!(settings["hooksConfig"]["enabled"], false);
}

#[test]
fn agent_clis_come_from_the_lockfile_the_tests_install() {
    let stage = runtime_stage().join("\n");
    assert!(stage.contains("COPY tools/agent-clis/package.json tools/agent-clis/package-lock.json /opt/agent-clis/"));
    assert!(stage.contains("npm ci --prefix /opt/agent-clis"));
    let install = std::fs::read_to_string(repo_root().join("scripts/install-tools")).unwrap();
    assert!(install.contains("tools/agent-clis/package-lock.json") && install.contains("npm ci --prefix"));
    for program in Agent::ALL.map(|a| a.program()) {
        assert!(stage.contains(&format!("/opt/agent-clis/node_modules/.bin/{program} /usr/local/bin/{program}")));
    }
}

#[test]
fn base_images_are_pinned_by_digest() {
    let froms: Vec<String> = dockerfile().lines().filter(|l| l.starts_with("FROM ")).map(str::to_string).collect();
    assert_eq!(froms.len(), 2);
    for from in froms {
        let digest = from.split("@sha256:").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or("");
        assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{from}");
    }
}

#[test]
fn oci_labels_are_set() {
    let stage = runtime_stage().join("\n");
    for label in ["source", "version", "revision", "licenses"] {
        assert!(stage.contains(&format!("org.opencontainers.image.{label}=")), "missing {label}");
    }
    let license = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    assert!(license.contains("license = \"Apache-2.0\"") && stage.contains("licenses=\"Apache-2.0\""));
}

#[test]
fn hadolint_passes() {
    let out = tools::installed("hadolint").arg(repo_root().join("Dockerfile")).output().unwrap();
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn checkov_passes_on_the_dockerfile() {
    let out = tools::installed("checkov")
        .args(["--framework", "dockerfile", "--skip-download", "--quiet", "-o", "json", "-f"])
        .arg(repo_root().join("Dockerfile"))
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("checkov prints JSON");
    assert!(report["summary"]["passed"].as_u64().unwrap() > 20, "{report}");
    assert_eq!(report["summary"]["failed"], 0, "{}", report["results"]["failed_checks"]);
}

/// The Debian packages pinned in the Dockerfile exist at those versions, as far as
/// this machine's apt lists know (they are Debian 12's, the base image's release).
#[test]
fn pinned_debian_packages_exist() {
    let stage = runtime_stage().join(" ");
    let install =
        stage.split("--no-install-recommends").nth(1).expect("an apt-get install").split("&&").next().unwrap();
    let pins: Vec<&str> = install.split_whitespace().collect();
    assert!(!pins.is_empty() && pins.iter().all(|p| p.contains('=')), "every package is pinned: {pins:?}");
    let lists = std::fs::read_dir("/var/lib/apt/lists")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().contains("bookworm")))
        .unwrap_or(false);
    assert!(
        lists,
        "this machine has no Debian 12 apt lists to check the pins {pins:?} against: run scripts/install-tools as \
         root on Debian 12 (it runs apt-get update once)"
    );
    for pin in pins {
        let out = Command::new("apt-cache").args(["show", pin]).output().expect("apt-cache runs");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "apt-cache show {pin}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The example agent image builds on the runner image bca renders, ends as the Job's
/// user, and passes hadolint.
#[test]
fn the_agent_image_example_builds_on_the_runner_image() {
    let path = repo_root().join("examples/agent-image/Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap();
    let from = text.lines().find_map(|l| l.strip_prefix("FROM ")).expect("a FROM line");
    assert_eq!(from, bca_runner::pod::default_image());
    let last_user = text.lines().rev().find_map(|l| l.strip_prefix("USER "));
    assert_eq!(last_user, Some("10001:10001"));
    let out = tools::installed("hadolint").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

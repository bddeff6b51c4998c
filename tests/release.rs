//! The release: the workflows pass zizmor, pin actions by commit, and the image the
//! release publishes is the image `bca render` uses by default.

mod support;

use bca_runner::pod;
use support::k8s::documents;
use support::{repo_root, run_in, tools};

fn workflow(name: &str) -> String {
    std::fs::read_to_string(repo_root().join(".github/workflows").join(name)).unwrap()
}

#[test]
fn zizmor_finds_nothing_above_low() {
    let out = tools::installed("zizmor")
        .args(["--offline", "--min-severity", "medium", "--no-progress"])
        .arg(repo_root().join(".github/workflows"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zizmor:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actions_are_pinned_by_commit() {
    for name in ["ci.yml", "release.yml"] {
        for line in workflow(name)
            .lines()
            .filter(|l| l.trim_start().starts_with("- uses:") || l.trim_start().starts_with("uses:"))
        {
            let reference = line.split('@').nth(1).unwrap_or("").split_whitespace().next().unwrap_or("");
            assert!(reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit()), "{name}: {line}");
        }
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(readme.contains("\nscripts/test\n"));
    assert!(workflow("ci.yml").contains("run: scripts/test"));
    assert!(std::fs::read_to_string(repo_root().join(".ci/run")).unwrap().contains("exec scripts/test"));
}

#[test]
fn tag_crate_version_and_default_image_agree() {
    let release = workflow("release.yml");
    let version = env!("CARGO_PKG_VERSION");
    // The release publishes the repository bca renders, tagged with the crate version,
    // and refuses a tag that is not v<crate version>.
    assert!(release.contains(&format!("IMAGE: {}", pod::RUNNER_IMAGE_REPOSITORY)), "{release}");
    assert!(release.contains("tags: [\"v[0-9]+.[0-9]+.[0-9]+\"]"));
    assert!(release.contains("if [ \"v$crate\" != \"$TAG\" ]; then"));
    assert!(release.contains("--tag \"$IMAGE:$VERSION\""));
    assert!(!release.contains(":latest"), "the release must never push latest");
    // What the workflow publishes and what Cargo.toml says, read from the files
    // themselves, against what bca renders: three sources that must agree.
    let image = release.lines().find_map(|l| l.trim().strip_prefix("IMAGE: ")).expect("release.yml sets IMAGE").trim();
    let cargo = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let cargo_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \"").and_then(|v| v.strip_suffix('"')))
        .expect("Cargo.toml has a workspace version");
    assert_eq!(cargo_version, version);
    let out = run_in(repo_root(), &["render", "examples/change.yaml"]);
    let mut checked = 0;
    for doc in documents(&String::from_utf8(out.stdout).unwrap()).iter().filter(|d| d["kind"] == "Job") {
        let pod = &doc["spec"]["template"]["spec"];
        for c in pod["initContainers"].as_array().unwrap().iter().chain(pod["containers"].as_array().unwrap()) {
            assert_eq!(c["image"].as_str().unwrap(), format!("{image}:{cargo_version}"));
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "two Jobs of five containers");
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("ARG VERSION={version}")), "Dockerfile's default VERSION is not {version}");
}

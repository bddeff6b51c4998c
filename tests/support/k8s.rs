//! Reading rendered YAML back, and the external validators for it.

use std::path::Path;

use serde_json::Value;

use super::tools;

/// The oldest and newest Kubernetes versions of k8s-openapi 0.29 (features v1_33 and
/// v1_37); bca builds against the oldest, so its objects must hold for all of them.
pub const KUBERNETES_VERSIONS: [&str; 2] = ["1.33", "1.37"];

/// Every document of a YAML stream, as JSON values.
pub fn documents(text: &str) -> Vec<Value> {
    bca::output::read::parse_documents(text).expect("valid YAML")
}

/// `kubernetes-validate --strict` for every supported Kubernetes version.
pub fn assert_kubernetes_valid(file: &Path) {
    for version in KUBERNETES_VERSIONS {
        let out = tools::installed("kubernetes-validate")
            .args(["--strict", "--quiet", "-k", version])
            .arg(file)
            .output()
            .expect("kubernetes-validate runs");
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {version} {} failed:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The ids of the checkov checks that fail on `file`.
pub fn checkov_failures(file: &Path) -> Vec<String> {
    let out = tools::installed("checkov")
        .args(["--framework", "kubernetes", "--skip-download", "--quiet", "-o", "json", "-f"])
        .arg(file)
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .expect("checkov runs");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("checkov printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let failed = &report["results"]["failed_checks"];
    let mut ids: Vec<String> = failed
        .as_array()
        .map(|a| a.iter().map(|c| c["check_id"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    assert!(
        report["summary"]["passed"].as_u64().unwrap_or(0) > 20,
        "checkov ran almost no checks on {}: {report}",
        file.display()
    );
    ids.sort();
    ids.dedup();
    ids
}

/// `kubectl kustomize DIR`.
pub fn kustomize(dir: &Path) -> String {
    let out = tools::on_path("kubectl", "install kubectl (Debian: apt-get install kubectl)")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "kubectl kustomize failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

//! The JSON Schema of the Change file: the committed copy is current, and an
//! independent validator (check-jsonschema, from PyPI) agrees with bca on a corpus.

mod support;

use std::path::{Path, PathBuf};

use support::{repo_root, run_in, tools};

const SCHEMA: &str = "schema/change.schema.json";

#[test]
fn committed_schema_is_current() {
    let out = run_in(repo_root(), &["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo_root().join(SCHEMA)).unwrap();
    assert!(
        committed == String::from_utf8(out.stdout).unwrap(),
        "{SCHEMA} is stale: run `cargo run -- schema > {SCHEMA}` and commit it"
    );
}

fn bca_accepts(path: &Path) -> bool {
    let out = run_in(repo_root(), &["validate", "-q", path.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(2), "bca failed on {}", path.display());
    out.status.success()
}

fn schema_accepts(path: &Path) -> bool {
    let out = tools::installed("check-jsonschema")
        .arg("--schemafile")
        .arg(repo_root().join(SCHEMA))
        .arg(path)
        .output()
        .expect("check-jsonschema runs");
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("check-jsonschema failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr)),
    }
}

fn valid_corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "tests/fixtures/valid"] {
        for entry in std::fs::read_dir(repo_root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            // A lockfile sits beside the Change that selects repositories; it is no Change.
            if path.is_file() && !path.to_string_lossy().ends_with(".lock.yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn schema_accepts_what_bca_accepts() {
    let files = valid_corpus();
    assert!(files.len() >= 5, "the corpus is missing: {files:?}");
    for path in files {
        assert!(bca_accepts(&path), "bca refuses {}", path.display());
        assert!(schema_accepts(&path), "the schema refuses {}, which bca accepts", path.display());
    }
}

/// Files whose only error is one a JSON Schema can express.
const SCHEMA_EXPRESSIBLE: &[(&str, &str)] = &[
    ("missing-prompt", "kind: Change\napiVersion: v1\nspec:\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("missing-repos", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  agent: copilot-cli\n"),
    ("missing-agent", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n"),
    ("missing-spec", "kind: Change\napiVersion: v1\n"),
    ("prompt-is-a-number", "kind: Change\napiVersion: v1\nspec:\n  prompt: 42\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("repos-is-a-string", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: https://github.com/a/b\n  agent: copilot-cli\n"),
    ("unknown-metadata-field", "kind: Change\napiVersion: v1\nmetadata: {labels: {}}\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("name-not-a-dns-label", "kind: Change\napiVersion: v1\nmetadata: {name: Big_Name}\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("resources-is-a-map", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n  resources: {a: b}\n"),
    ("unknown-spec-field", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n  model: gpt-5\n"),
    ("unknown-top-field", "kind: Change\napiVersion: v1\nlabels: {}\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("unknown-agent", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copiolt-cli\n"),
    ("wrong-kind", "kind: Job\napiVersion: v1\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("wrong-api-version", "kind: Change\napiVersion: v2\nspec:\n  prompt: x\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("empty-repos", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: []\n  agent: copilot-cli\n"),
    ("empty-prompt", "kind: Change\napiVersion: v1\nspec:\n  prompt: \"\"\n  repos: [https://github.com/a/b]\n  agent: copilot-cli\n"),
    ("ssh-repo-url", "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  repos: [\"git@github.com:a/b.git\"]\n  agent: copilot-cli\n"),
];

#[test]
fn schema_rejects_what_it_can_express_and_bca_rejects_it_too() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in SCHEMA_EXPRESSIBLE {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        assert!(!bca_accepts(&path), "bca accepts {name}");
        assert!(!schema_accepts(&path), "the schema accepts {name}, which bca refuses");
    }
}

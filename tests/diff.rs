//! `bca diff`: a render compared with a committed output directory, as a reviewer and
//! a CI job use it. The directory is never modified.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use insta::assert_snapshot;
use support::{bca, repo_root, run_in, shown};

const CHANGE: &str = "kind: Change\napiVersion: v1\nspec:\n  prompt: Fix it\n  repos:\n    - https://github.com/acme/a\n    - https://github.com/acme/b\n    - https://github.com/acme/c\n  agent: copilot-cli\n";

/// A directory rendered from CHANGE, and the Change file beside it.
fn committed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]);
    assert!(out.status.success(), "{}", shown(&out));
    dir
}

fn snapshot_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Runs `bca diff change.yaml deploy` after writing `change` and checks that the
/// directory is byte-identical afterwards.
fn diff_after(dir: &Path, change: &str, extra: &[&str]) -> std::process::Output {
    std::fs::write(dir.join("change.yaml"), change).unwrap();
    let before = snapshot_of(&dir.join("deploy"));
    let mut args = vec!["diff", "change.yaml", "deploy"];
    args.extend_from_slice(extra);
    let out = run_in(dir, &args);
    assert_eq!(snapshot_of(&dir.join("deploy")), before, "bca diff modified the directory");
    out
}

/// The committed Job file of a repository (`acme-a`).
fn committed_job_of(dir: &Path, repository: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("deploy"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("job-bca-{repository}-")))
        .expect("the repository's Job is committed")
}

/// The summary: everything after the blank line that ends the diffs.
fn summary(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (_, summary) = stdout.rsplit_once("\n\n").expect("a summary after the diffs");
    format!("exit: {}\n{summary}", out.status.code().unwrap())
}

#[test]
fn committed_gitops_example_is_current() {
    for dir in ["examples/gitops/platform", "examples/gitops/deploy"] {
        // No flags: the directory records them.
        let out = run_in(repo_root(), &["diff", "examples/gitops/change.yaml", dir]);
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "{dir} is stale; re-render it with the command in examples/gitops/change.yaml:\n{}",
            shown(&out)
        );
    }
}

#[test]
fn current_directory_exits_0_and_prints_nothing() {
    let dir = committed();
    assert_snapshot!(shown(&diff_after(dir.path(), CHANGE, &[])), @r"
    exit: 0
    ----- stdout -----
    ----- stderr -----
    ");
}

#[test]
fn prompt_change_shows_the_new_text_and_replaces_every_job() {
    let dir = committed();
    let out = diff_after(dir.path(), &CHANGE.replace("Fix it", "Fix it properly"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\n-            \"prompt\": \"Fix it\",\n"), "{stdout}");
    assert!(stdout.contains("\n+            \"prompt\": \"Fix it properly\",\n"), "{stdout}");
    assert!(stdout.contains("--- a/job-bca-acme-a-"), "{stdout}");
    // One change in three Jobs: shown once, every file with --full.
    assert!(
        stdout.starts_with(
            "# The same change in 3 Jobs: acme/a, acme/b, acme/c; shown once (bca diff --full shows every file)\n"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("--- a/job-bca-acme-b-"), "{stdout}");
    let full = diff_after(dir.path(), &CHANGE.replace("Fix it", "Fix it properly"), &["--full"]);
    let full = String::from_utf8_lossy(&full.stdout);
    assert!(full.contains("--- a/job-bca-acme-b-") && !full.contains("# The same change"), "{full}");
    assert_snapshot!(summary(&out), @r"
    exit: 1
    3 Jobs replaced: acme/a, acme/b, acme/c (the prompt changed; the agent runs again)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 0 removed, 3 replaced, 0 changed in place
    ");
}

#[test]
fn replaced_repository_names_the_old_and_the_new_job() {
    let dir = committed();
    let out = diff_after(dir.path(), &CHANGE.replace("acme/c", "acme/zzz"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--- a/job-bca-acme-c-") && stdout.contains("+++ /dev/null"), "{stdout}");
    assert!(stdout.contains("--- /dev/null\n+++ b/job-bca-acme-zzz-"), "{stdout}");
    assert_snapshot!(summary(&out), @r"
    exit: 1
    1 Job replaced: acme/c → acme/zzz (a repository was replaced in spec.repos)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 0 removed, 1 replaced, 0 changed in place
    ");
}

#[test]
fn added_and_removed_repositories() {
    let dir = committed();
    let added = diff_after(dir.path(), &CHANGE.replace("  agent:", "    - https://github.com/acme/d\n  agent:"), &[]);
    assert_snapshot!(summary(&added), @r"
    exit: 1
    1 Job added: acme/d (a repository was added)
    other files differ: kustomization.yaml
    summary: Jobs: 1 added, 0 removed, 0 replaced, 0 changed in place
    ");
    let removed = diff_after(dir.path(), &CHANGE.replace("    - https://github.com/acme/b\n", ""), &[]);
    assert_snapshot!(summary(&removed), @r"
    exit: 1
    1 Job removed: acme/b (a repository was removed)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 1 removed, 0 replaced, 0 changed in place
    ");
}

#[test]
fn image_and_namespace_changes_are_explained() {
    let dir = committed();
    let image = diff_after(dir.path(), CHANGE, &["--image", "mirror.example.com/bca-runner:0.1.0"]);
    assert_snapshot!(summary(&image), @r"
    exit: 1
    3 Jobs replaced: acme/a, acme/b, acme/c (image ghcr.io/manno/bca-runner:0.1.0 → mirror.example.com/bca-runner:0.1.0 (fork, clone, agent, collect, publish); the new Job only confirms the pull request)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 0 removed, 3 replaced, 0 changed in place
    ");
    let namespace = diff_after(dir.path(), CHANGE, &["--namespace", "agents"]);
    assert_snapshot!(summary(&namespace), @r"
    exit: 1
    3 Jobs replaced: acme/a, acme/b, acme/c (namespace bca-jobs → agents: every Job is new, and the old ones stay in bca-jobs until deleted; the new Job only confirms the pull request)
    summary: Jobs: 0 added, 0 removed, 3 replaced, 0 changed in place
    ");
}

#[test]
fn stray_file_is_named() {
    let dir = committed();
    std::fs::write(dir.path().join("deploy/notes.md"), "hand-written\n").unwrap();
    let out = diff_after(dir.path(), CHANGE, &[]);
    assert_snapshot!(shown(&out), @r"
    exit: 1
    ----- stdout -----
    --- a/notes.md
    +++ /dev/null
    @@ -1 +0,0 @@
    -hand-written

    1 file not written by bca: notes.md (bca render --force would delete it)
    summary: Jobs: 0 added, 0 removed, 0 replaced, 0 changed in place
    ----- stderr -----
    ");
}

#[test]
fn invalid_change_gets_a_located_error() {
    let dir = committed();
    let out = diff_after(dir.path(), &CHANGE.replace("agent: copilot-cli", "agent: copilot"), &[]);
    assert_snapshot!(shown(&out), @r#"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    change.yaml:9:10: error: spec.agent: unknown agent "copilot": did you mean "copilot-cli"?
      |
    9 |   agent: copilot
      |          ^^^^^^^
    "#);
}

#[test]
fn missing_directory_is_an_error() {
    let dir = committed();
    let out = run_in(dir.path(), &["diff", "change.yaml", "nowhere"]);
    assert_snapshot!(shown(&out), @r"
    exit: 2
    ----- stdout -----
    ----- stderr -----
    bca: error: nowhere is not a directory: expected the output of `bca render --output-dir nowhere`
    ");
}

#[test]
fn secret_from_env_is_refused_so_tokens_are_never_printed() {
    let dir = committed();
    let out = bca()
        .current_dir(dir.path())
        .args(["diff", "change.yaml", "deploy", "--secret-from-env"])
        .env("GITHUB_TOKEN", "ghp_SECRET")
        .env("COPILOT_TOKEN", "SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("bca diff does not take --secret-from-env"), "{all}");
    assert!(!all.contains("SECRET"));
    for secret in ["ghp_SECRET", "SECRET"] {
        for encoded in support::base64_forms(secret) {
            assert!(!all.contains(&encoded), "{secret} leaked base64-encoded");
        }
    }
}

#[test]
fn a_directory_rendered_with_flags_needs_none_to_diff() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("change.yaml"), CHANGE).unwrap();
    let out = run_in(dir.path(), &["render", "change.yaml", "-o", "deploy", "--deadline", "3600", "--cpu-limit", "4"]);
    assert!(out.status.success(), "{}", shown(&out));
    let record = std::fs::read_to_string(dir.path().join("deploy/bca-render.yaml")).unwrap();
    assert!(record.contains("deadline:\n  - \"3600\""), "{record}");
    assert_snapshot!(shown(&diff_after(dir.path(), CHANGE, &[])), @r"
    exit: 0
    ----- stdout -----
    ----- stderr -----
    ");
    // A flag that differs from the record is named, with both values, and wins.
    let out = diff_after(dir.path(), CHANGE, &["--deadline", "7200", "--stat"]);
    assert_snapshot!(shown(&out), @r"
    exit: 1
    ----- stdout -----
    3 Jobs replaced: acme/a, acme/b, acme/c (deadline 3600 → 7200; the new Job only confirms the pull request)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 0 removed, 3 replaced, 0 changed in place
    ----- stderr -----
    note: --deadline differs from what deploy was rendered with: 3600 → 7200
    ");
}

#[test]
fn each_kind_of_change_gets_its_reason() {
    let dir = committed();
    let named = CHANGE.replace("spec:", "metadata:\n  name: fix-it\nspec:");
    for (change, args, expected) in [
        (
            CHANGE.to_string(),
            vec!["--deadline", "3600"],
            "deadline 10800 → 3600; the new Job only confirms the pull request",
        ),
        (CHANGE.replace("Fix it", "Fix it well"), vec![], "the prompt changed; the agent runs again"),
        (
            CHANGE.replace("  agent:", "  branch: develop\n  agent:"),
            vec![],
            "the base branch changed (main → develop); the agent runs again",
        ),
        (named, vec![], "the Change's name none → fix-it: a new branch and pull request; the agent runs again"),
        (CHANGE.replace("  agent:", "  job:\n    memoryLimit: 8Gi\n  agent:"), vec![], "resources ("),
    ] {
        let out = diff_after(dir.path(), &change, &[args.as_slice(), &["--stat"]].concat());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(expected), "{expected}:\n{stdout}");
    }
}

#[test]
fn a_hand_edit_is_reported_for_what_it_is() {
    let dir = committed();
    let job = committed_job_of(dir.path(), "acme-a");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(
        &job,
        text.replacen("backoffLimit: 1", "backoffLimit: 5", 1).replacen(
            "activeDeadlineSeconds: 10800",
            "activeDeadlineSeconds: 60",
            1,
        ),
    )
    .unwrap();
    let b = committed_job_of(dir.path(), "acme-b");
    let text = std::fs::read_to_string(&b).unwrap();
    std::fs::write(&b, text.replacen("app.kubernetes.io/managed-by: bca", "app.kubernetes.io/managed-by: me", 1))
        .unwrap();
    let out = diff_after(dir.path(), CHANGE, &["--stat"]);
    assert_snapshot!(shown(&out), @r"
    exit: 1
    ----- stdout -----
    1 Job replaced: acme/a (the committed Job was edited by hand (spec.backoffLimit, spec.template.spec.activeDeadlineSeconds): rendering restores what the Change says, and since most of a Job's spec cannot change in place, the Job must be replaced)
    1 Job changed in place: acme/b (labels or annotations edited by hand; the Job stays as it is)
    summary: Jobs: 0 added, 0 removed, 1 replaced, 1 changed in place
    ----- stderr -----
    ");
}

#[test]
fn a_deleted_file_and_another_changes_directory_are_named_for_what_they_are() {
    let dir = committed();
    std::fs::remove_file(committed_job_of(dir.path(), "acme-c")).unwrap();
    let out = diff_after(dir.path(), CHANGE, &["--stat"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "1 Job added: acme/c (its committed file is missing, though the kustomization lists it: deleted by hand)"
        ),
        "{stdout}"
    );
    // Another Change rendered against this directory: its Jobs are not replacements.
    let other = CHANGE.replace("Fix it", "Do something else").replace("acme/", "zeta/");
    let out = diff_after(committed().path(), &other, &["--stat"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 Jobs removed: acme/a, acme/b, acme/c (another Change's Job (Change "), "{stdout}");
    assert!(stdout.contains("): this directory holds that Change, not the one rendered)"), "{stdout}");
    assert!(stdout.contains("3 Jobs added: zeta/a, zeta/b, zeta/c (a repository was added)"), "{stdout}");
    assert!(stdout.contains("0 replaced"), "{stdout}");
}

/// A committed Job edited so that it no longer reads as a Job is named, not dropped from
/// the summary as if its repository were new; a repository renamed only in case is the
/// same repository (GitHub ignores case).
#[test]
fn a_job_that_no_longer_reads_and_a_case_change_are_named_for_what_they_are() {
    let dir = committed();
    let job = committed_job_of(dir.path(), "acme-a");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, text.replacen("backoffLimit: 1", "backoffLimit: \"one\"", 1)).unwrap();
    let out = diff_after(dir.path(), &CHANGE.replace("acme/b", "Acme/B"), &["--stat"]);
    let file = job.file_name().unwrap().to_string_lossy().into_owned();
    let shown = shown(&out).replace(&file, "JOB-A.yaml");
    assert_snapshot!(shown, @r#"
    exit: 1
    ----- stdout -----
    1 Job replaced: Acme/B (the repository's URL https://github.com/acme/b → https://github.com/Acme/B; the new Job only confirms the pull request)
    1 Job differs: acme/a (the committed JOB-A.yaml does not read as a Job: invalid type: string "one", expected i32)
    other files differ: kustomization.yaml
    summary: Jobs: 0 added, 0 removed, 1 replaced, 1 changed in place
    ----- stderr -----
    "#);
}

#[test]
fn a_prompt_edit_across_300_repositories_reads_as_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let repos: String = (0..300).map(|i| format!("    - https://github.com/acme/svc-{i:03}\n")).collect();
    let change =
        format!("kind: Change\napiVersion: v1\nspec:\n  prompt: Fix it\n  repos:\n{repos}  agent: copilot-cli\n");
    std::fs::write(dir.path().join("change.yaml"), &change).unwrap();
    assert!(run_in(dir.path(), &["render", "change.yaml", "-o", "deploy"]).status.success());
    std::fs::write(dir.path().join("change.yaml"), change.replace("Fix it", "Fix it properly")).unwrap();
    let out = run_in(dir.path(), &["diff", "change.yaml", "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("# The same change in 300 Jobs: acme/svc-000, acme/svc-001, acme/svc-002, acme/svc-003, acme/svc-004 and 295 more;"), "{stdout}");
    // The hunk once, the kustomization, the summary: not 300 copies.
    assert!(stdout.lines().count() < 150, "{} lines", stdout.lines().count());
}

//! `bca validate`: the real binary on good and bad Change files. One test per mistake a
//! user can make, named for the mistake; snapshots hold exit code, stdout and stderr.

mod support;

use insta::assert_snapshot;
use support::{bca, repo_root, run_in, shown, validate_text};

const VALID: &str = "kind: Change\napiVersion: v1\nspec:\n  prompt: Fix it\n  repos: [https://github.com/acme/api]\n  agent: copilot-cli\n";

/// A valid Change with one line of its spec replaced.
fn with_spec_line(field: &str, line: &str) -> String {
    let mut out = String::new();
    let mut replaced = false;
    for l in VALID.lines() {
        if l.trim_start().starts_with(&format!("{field}:")) {
            out.push_str(line);
            replaced = true;
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    if !replaced {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn examples_and_original_readme_forms_are_valid() {
    let mut files: Vec<String> = Vec::new();
    for dir in ["examples", "tests/fixtures/valid"] {
        let mut names: Vec<_> = std::fs::read_dir(repo_root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            // A lockfile sits beside the Change that selects repositories; it is no Change.
            .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".lock.yaml"))
            .map(|p| p.strip_prefix(repo_root()).unwrap().display().to_string())
            .collect();
        names.sort();
        files.extend(names);
    }
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    assert_snapshot!(shown(&run_in(repo_root(), &args)));
}

#[test]
fn quiet_prints_nothing_for_valid_files() {
    let out = run_in(repo_root(), &["validate", "-q", "examples/change.yaml"]);
    assert_snapshot!(shown(&out), @r"
    exit: 0
    ----- stdout -----
    ----- stderr -----
    ");
}

#[test]
fn dash_reads_standard_input() {
    let out = bca().args(["validate", "-"]).write_stdin(VALID).output().unwrap();
    assert_snapshot!(shown(&out), @r"
    exit: 0
    ----- stdout -----
    <stdin>: valid: change 52e59e0235, copilot-cli on 1 repository into branch main
    ----- stderr -----
    note: Copilot CLI's key (COPILOT_TOKEN, secret key copilot-token) reaches the agent: make it a fine-grained token with only the Copilot Requests permission, which cannot push or open pull requests
    ");
}

#[test]
fn one_invalid_file_among_valid_ones_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yaml"), VALID).unwrap();
    std::fs::write(dir.path().join("bad.yaml"), VALID.replace("copilot-cli", "cursor")).unwrap();
    assert_snapshot!(shown(&run_in(dir.path(), &["validate", "good.yaml", "bad.yaml"])));
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_snapshot!(shown(&run_in(dir.path(), &["validate", "nope.yaml"])));
}

#[test]
fn no_file_is_a_usage_error() {
    let out = run_in(repo_root(), &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("required arguments were not provided"));
}

// --- mistakes in fields ---

#[test]
fn typo_in_agent_suggests_fix() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("agent", "  agent: copiolt-cli")));
}

#[test]
fn unknown_agent_lists_the_known_ones() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("agent", "  agent: cursor-agent")));
}

#[test]
fn short_agent_names_suggest_the_full_ones() {
    for (given, meant) in [("claude", "claude-code"), ("codex", "codex-cli"), ("copilot", "copilot-cli")] {
        let out = validate_text("change.yaml", with_spec_line("agent", &format!("  agent: {given}")));
        assert!(out.contains(&format!("unknown agent \"{given}\": did you mean \"{meant}\"?")), "{out}");
    }
}

#[test]
fn typo_in_field_name_suggests_fix() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("prompt", "  promt: Fix it")));
}

#[test]
fn unknown_top_level_field_is_an_error() {
    assert_snapshot!(validate_text("change.yaml", format!("status:\n  phase: x\n{VALID}")));
}

#[test]
fn missing_required_fields_are_all_reported() {
    assert_snapshot!(validate_text("change.yaml", "kind: Change\napiVersion: v1\nspec:\n  branch: main\n"));
}

#[test]
fn missing_spec_and_kind() {
    assert_snapshot!(validate_text("change.yaml", "apiVersion: v1\n"));
}

#[test]
fn wrong_kind_and_api_version() {
    assert_snapshot!(validate_text("change.yaml", VALID.replace("kind: Change", "kind: Job").replace("v1", "v2")));
}

#[test]
fn empty_prompt_is_an_error() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("prompt", "  prompt: \"   \"")));
}

#[test]
fn number_where_a_string_belongs_suggests_quotes() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("branch", "  branch: 1.10")));
}

#[test]
fn repos_as_a_string_asks_for_a_list() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", "  repos: https://github.com/acme/api")));
}

#[test]
fn empty_repos_is_an_error() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", "  repos: []")));
}

#[test]
fn ssh_repository_url_suggests_https() {
    assert_snapshot!(validate_text(
        "change.yaml",
        with_spec_line("repos", "  repos: [\"git@github.com:acme/api.git\"]")
    ));
}

#[test]
fn repository_url_problems_each_get_a_fix() {
    let repos = "  repos:\n    - http://github.com/acme/a\n    - https://github.com/acme/b/tree/main\n    - https://github.com/acme\n    - https://user:token@github.com/acme/c\n    - https://github.com/acme/d e\n    - github.com/acme/f";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", repos)));
}

#[test]
fn same_repository_twice_after_normalising() {
    let repos = "  repos:\n    - https://github.com/acme/api\n    - https://GitHub.com/Acme/API.git/";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", repos)));
}

#[test]
fn branch_git_would_refuse() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("branch", "  branch: feature..x")));
}

#[test]
fn image_that_is_not_an_oci_reference() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("image", "  image: ghcr.io/Acme/Runner:v1")));
}

#[test]
fn agentsmd_that_is_a_local_path() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("agentsmd", "  agentsmd: ./AGENTS.md")));
}

#[test]
fn resources_that_are_not_http_urls() {
    let line = "  resources: [\"https://example.com/ok.md\", \"ftp://example.com/x.md\", 42]";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("resources", line)));
}

#[test]
fn a_name_that_is_not_a_dns_label_gets_a_fix() {
    let change = VALID.replace("spec:", "metadata:\n  name: Migrate_Logging\nspec:");
    assert_snapshot!(validate_text("change.yaml", change));
}

#[test]
fn a_named_change_shows_its_name_and_change_id() {
    let change = VALID.replace("spec:", "metadata:\n  name: migrate-logging\nspec:");
    assert_snapshot!(validate_text("change.yaml", change), @r"
    exit: 0
    ----- stdout -----
    change.yaml: valid: migrate-logging (change 52e59e0235), copilot-cli on 1 repository into branch main
    ----- stderr -----
    note: Copilot CLI's key (COPILOT_TOKEN, secret key copilot-token) reaches the agent: make it a fine-grained token with only the Copilot Requests permission, which cannot push or open pull requests
    ");
}

#[test]
fn unknown_metadata_field_is_an_error() {
    let change = VALID.replace("spec:", "metadata:\n  nmae: x\nspec:");
    assert_snapshot!(validate_text("change.yaml", change));
}

#[test]
fn a_control_character_in_the_prompt_is_refused() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("prompt", "  prompt: \"Fix it\\u0000 now\"")));
}

#[test]
fn a_prompt_too_large_for_a_pod_annotation_is_refused() {
    let prompt = format!("  prompt: \"{}\"", "x".repeat(70 * 1024));
    let out = validate_text("change.yaml", with_spec_line("prompt", &prompt));
    assert!(out.contains("the prompt is 70 KiB, more than 64 KiB"), "{}", &out[..out.len().min(2000)]);
    assert!(out.contains("help: keep the prompt short and put the details in a file the agent gets"));
}

#[test]
fn a_job_request_above_its_limit_is_refused_where_it_is_written() {
    let job = "  job:\n    memoryRequest: 8Gi\n    memoryLimit: 4Gi\n    deadline: \"1h\"";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("job", job)));
}

#[test]
fn rollout_values_out_of_range_are_named() {
    let rollout = "  rollout:\n    queue: Agents_Queue\n    parallelism: 0";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("rollout", rollout)));
}

#[test]
fn verify_mistakes_are_each_named() {
    let verify = "  verify:\n    commands: [make test, \"\"]\n    attempts: 9\n    onFailure: skipp";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("verify", verify)));
}

#[test]
fn merge_mistakes_are_each_named() {
    let merge = "  merge:\n    method: sqash\n    when: approved\n    auto: \"yes\"\n    strategy: fast";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("merge", merge)));
}

#[test]
fn follow_up_mistakes_are_each_named() {
    let follow_up = "  followUp:\n    on: [reviews, conflict]\n    rounds: 12\n    schedule: every hour\n    trust: [MEMBERS, NONE]";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("followUp", follow_up)));
}

#[test]
fn select_mistakes_are_each_named() {
    let select = "  select:\n    owners: [\"@acme\"]\n    topics: [Backend]\n    hasFiles: [/go.mod]\n    exclude: [legacy]\n    forks: maybe\n    owner: [x]";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("select", select)));
}

#[test]
fn a_lockfile_given_as_a_change_is_named() {
    let out = run_in(repo_root(), &["validate", "tests/fixtures/valid/selected.lock.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_snapshot!(String::from_utf8_lossy(&out.stderr), @r"
    tests/fixtures/valid/selected.lock.yaml:4:7: error: kind: this is a lockfile that bca resolve writes, not a Change
      |
    4 | kind: ChangeLock
      |       ^^^^^^^^^^
      = help: give the Change file beside it; bca reads its lockfile by itself
    ");
}

#[test]
fn select_without_where_to_look_is_named() {
    let select = "  select:\n    topics: [backend]";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("select", select)));
}

#[test]
fn pull_request_mistakes_are_each_named() {
    let pr = "  pullRequest:\n    draft: \"yes\"\n    reviewers: [\"@alice\"]\n    labels: [\"\"]\n  fork: no";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("pullRequest", pr)));
}

#[test]
fn a_missing_file_among_others_does_not_hide_them() {
    let out = run_in(repo_root(), &["validate", "examples/change.yaml", "missing.yaml", "examples/gemini.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("examples/change.yaml: valid") && stdout.contains("examples/gemini.yaml: valid"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bca: error: reading missing.yaml: No such file or directory")
    );
}

#[test]
fn standard_input_twice_is_refused() {
    let out = bca().args(["validate", "-", "-"]).write_stdin(VALID).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("- (standard input) is given more than once"));
}

#[test]
fn plain_http_context_is_refused_with_the_https_fix() {
    let line = "  agentsmd: http://example.com/agents.md";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("agentsmd", line)));
}

#[test]
fn repositories_on_two_hosts_are_refused() {
    let repos = "  repos:\n    - https://github.com/acme/api\n    - https://ghe.example.com/acme/web";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", repos)));
}

#[test]
fn a_github_enterprise_host_is_shown_in_the_summary() {
    let repos = "  repos: [https://ghe.example.com/acme/api]";
    assert_snapshot!(validate_text("change.yaml", with_spec_line("repos", repos)), @r"
    exit: 0
    ----- stdout -----
    change.yaml: valid: change 52e59e0235, copilot-cli on 1 repository on ghe.example.com into branch main
    ----- stderr -----
    note: Copilot CLI's key (COPILOT_TOKEN, secret key copilot-token) reaches the agent: make it a fine-grained token with only the Copilot Requests permission, which cannot push or open pull requests
    ");
}

#[test]
fn every_error_of_a_file_is_reported() {
    let text = "kind: Change\napiVersion: v1\nspec:\n  promt: x\n  repos: [\"https://github.com/a/b\", \"https://github.com/a/b\"]\n  agent: gemni-cli\n  branch: \"-x\"\n  image: \"UPPER\"\n";
    assert_snapshot!(validate_text("change.yaml", text));
}

// --- hostile input: each gets a located error and exit 1, never a panic or a hang ---

#[test]
fn empty_file() {
    assert_snapshot!(validate_text("change.yaml", ""));
}

#[test]
fn only_comments() {
    assert_snapshot!(validate_text("change.yaml", "# nothing here\n"));
}

#[test]
fn binary_garbage() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    assert_snapshot!(validate_text("change.yaml", bytes));
}

#[test]
fn control_characters_in_utf8() {
    assert_snapshot!(validate_text("change.yaml", "kind: Change\u{0}\u{7}\n"));
}

#[test]
fn top_level_list() {
    assert_snapshot!(validate_text("change.yaml", "- kind: Change\n- apiVersion: v1\n"));
}

#[test]
fn top_level_scalar() {
    assert_snapshot!(validate_text("change.yaml", "just some words\n"));
}

#[test]
fn tabs_for_indentation() {
    assert_snapshot!(validate_text("change.yaml", "kind: Change\napiVersion: v1\nspec:\n\tprompt: x\n"));
}

#[test]
fn duplicate_keys_are_errors_not_last_wins() {
    let text = VALID.replace("  agent: copilot-cli\n", "  agent: copilot-cli\n  agent: gemini-cli\n");
    assert_snapshot!(validate_text("change.yaml", text));
}

#[test]
fn billion_laughs() {
    let mut text = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = if i == 0 { "a".to_string() } else { ["b", "c", "d", "e", "f", "g", "h"][i - 1].to_string() };
        text.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{prev}"); 9].join(",")));
    }
    assert_snapshot!(validate_text("change.yaml", text));
}

#[test]
fn nesting_thousands_deep_in_flow_style() {
    let text = format!("kind: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    assert_snapshot!(validate_text("change.yaml", text));
}

#[test]
fn nesting_thousands_deep_in_block_style() {
    let mut text = String::new();
    for depth in 0..1500 {
        text.push_str(&" ".repeat(depth));
        text.push_str("k:\n");
    }
    assert_snapshot!(validate_text("change.yaml", text));
}

#[test]
fn hundred_megabyte_file() {
    let mut text = String::with_capacity(100 << 20);
    text.push_str(VALID);
    text.push_str("# ");
    text.push_str(&"x".repeat((100 << 20) - text.len() - 1));
    text.push('\n');
    assert_snapshot!(validate_text("change.yaml", text));
}

#[test]
fn hundred_megabytes_on_standard_input() {
    let input = vec![b'#'; 100 << 20];
    let out = bca().args(["validate", "-"]).write_stdin(input).output().unwrap();
    assert_snapshot!(shown(&out));
}

#[test]
fn two_documents_in_one_file() {
    assert_snapshot!(validate_text("change.yaml", format!("{VALID}---\n{VALID}")));
}

#[test]
fn unsupported_yaml_tag() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("prompt", "  prompt: !!python/object:os.system x")));
}

#[test]
fn unknown_alias() {
    assert_snapshot!(validate_text("change.yaml", with_spec_line("prompt", "  prompt: *nothing")));
}

#[test]
fn the_original_tools_apply_says_what_to_run_instead() {
    let out = bca().args(["apply", "change.yaml", "--namespace", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "bca: error: bca apply was the original tool's command; this bca never talks to a cluster. Render the Jobs \
         and apply them: bca render change.yaml | kubectl apply -f -\n"
    );
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [("bash", "_bca()"), ("zsh", "#compdef bca"), ("fish", "complete -c bca")] {
        let out = bca().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{}", shown(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker) && script.contains("render"), "{shell}: {script}");
    }
    let out = bca().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'tcsh'"), "{}", shown(&out));
}

#[test]
fn a_repository_on_a_host_bca_cannot_serve_is_refused_where_it_is_written() {
    let text = "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  agent: copilot-cli\n  repos:\n    - https://github.com/acme/api\n    - https://gitlab.com/acme/platform/api\n";
    assert_snapshot!(validate_text("change.yaml", text), @r"
    exit: 1
    ----- stdout -----
    ----- stderr -----
    change.yaml:8:7: error: spec.repos[1]: gitlab.com is GitLab: bca supports GitHub and GitHub Enterprise only
      |
    8 |     - https://gitlab.com/acme/platform/api
      |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      = help: bca opens pull requests through GitHub's API; remove this repository from the Change
    ");
}

#[test]
fn validate_says_what_render_will_ask_of_a_valid_change() {
    let repos: String = (0..501).map(|i| format!("    - https://github.com/acme/svc-{i}\n")).collect();
    let change = format!(
        "kind: Change\napiVersion: v1\nspec:\n  prompt: x\n  agent: gemini-cli\n  fork: false\n  repos:\n{repos}"
    );
    let shown = validate_text("change.yaml", change);
    assert!(shown.starts_with("exit: 0\n"), "{shown}");
    assert!(shown.contains("note: change.yaml: spec.fork is false: the agent's code runs in the repositories' CI before review; render needs --allow-agent-code-in-repository-ci"), "{shown}");
    assert!(shown.contains("note: change.yaml: 501 repositories without spec.rollout.parallelism: render needs it (or --parallelism, or --allow-many-jobs)"), "{shown}");
}

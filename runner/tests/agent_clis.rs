//! The command lines the runner builds, checked against the real agent CLIs that
//! `scripts/install-tools` installs from tools/agent-clis (pinned by its lockfile).

use std::path::{Path, PathBuf};
use std::process::Command;

use bca_runner::run::agents::command_line;
use bca_runner::Agent;

fn cli(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/agent-clis/node_modules/.bin").join(name);
    assert!(path.exists(), "{name} is not installed at {}: run scripts/install-tools", path.display());
    path
}

fn pinned(package: &str) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/agent-clis/package.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    json["dependencies"][package].as_str().unwrap().to_string()
}

fn output(program: &Path, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(program)
        .args(args)
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn check(agent: Agent) {
    let (program, package) = (agent.program(), agent.npm_package());
    let bin = cli(program);
    let version = output(&bin, &["--version"]);
    assert!(
        version.contains(&pinned(package)),
        "{program} --version says {version}, tools/agent-clis pins {}",
        pinned(package)
    );
    // Codex CLI's headless mode is its `exec` subcommand, with flags of its own.
    let help = match agent {
        Agent::CodexCli => output(&bin, &["exec", "--help"]),
        _ => output(&bin, &["--help"]),
    };
    // Every setting given, so the flags they add are checked too.
    let settings = |name: &str| Some(format!("value-of-{name}"));
    let (name, args) = command_line(agent, "prompt", Some(Path::new("/workspace/context")), &settings);
    assert_eq!(name, program);
    for flag in args.iter().filter(|a| a.starts_with('-') && *a != "--") {
        let listed = help.lines().any(|line| line.split([' ', ',', '=']).any(|word| word == flag));
        assert!(listed, "{program} --help does not list {flag}:\n{help}");
    }
}

#[test]
fn copilot_cli_knows_every_flag_the_runner_passes() {
    check(Agent::CopilotCli);
}

#[test]
fn gemini_cli_knows_every_flag_the_runner_passes() {
    check(Agent::GeminiCli);
}

#[test]
fn claude_code_knows_every_flag_the_runner_passes() {
    check(Agent::ClaudeCode);
}

#[test]
fn codex_cli_knows_every_flag_the_runner_passes() {
    check(Agent::CodexCli);
}

//! The external tools the tests run. `scripts/install-tools` installs the pinned ones
//! into target/tools; a missing tool fails the test with the command that installs it.

use std::path::PathBuf;
use std::process::Command;

use super::repo_root;

fn venv_tool(name: &str) -> PathBuf {
    let path = repo_root().join("target/tools/venv/bin").join(name);
    assert!(
        path.is_file(),
        "{name} is not installed at {}: run scripts/install-tools (scripts/test runs it for you)",
        path.display()
    );
    path
}

/// A command for a tool installed by scripts/install-tools (pinned in scripts/tool-versions).
pub fn installed(name: &str) -> Command {
    Command::new(venv_tool(name))
}

/// A command for a tool expected on PATH (git, kubectl).
pub fn on_path(name: &str, install: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is not on PATH: {install}");
    Command::new(name)
}

/// What GitHub's published GraphQL schema (`@octokit/graphql-schema`, pinned in
/// tools/graphql-schema) and graphql-js say of these request bodies: empty when valid.
pub fn github_graphql_problems(requests: &[String]) -> String {
    use std::io::Write as _;
    let dir = repo_root().join("target/tools/graphql-schema");
    assert!(
        dir.join("node_modules/@octokit/graphql-schema/schema.graphql").is_file(),
        "GitHub's GraphQL schema is not installed at {}: run scripts/install-tools (scripts/test runs it for you)",
        dir.display()
    );
    let mut child = on_path("node", "install Node.js 20 or newer")
        .arg(dir.join("validate.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    for request in requests {
        writeln!(stdin, "{request}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        assert!(text.contains("0 problem(s)"), "{text}");
        String::new()
    } else {
        text
    }
}

pub fn assert_valid_github_graphql(requests: &[String]) {
    let problems = github_graphql_problems(requests);
    assert!(problems.is_empty(), "{problems}");
}

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

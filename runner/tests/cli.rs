//! `bca-runner`'s own command line.

use assert_cmd::Command;

fn runner(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("bca-runner").unwrap().args(args).env_remove("BCA_ASKPASS_TOKEN_FILE").output().unwrap()
}

#[test]
fn version_and_help() {
    let version = runner(&["--version"]);
    assert_eq!(String::from_utf8_lossy(&version.stdout), format!("bca-runner {}\n", env!("CARGO_PKG_VERSION")));
    let help = String::from_utf8(runner(&["--help"]).stdout).unwrap();
    for step in ["fork", "clone", "agent", "publish", "run", "--workspace", "--termination-log"] {
        assert!(help.contains(step), "--help does not mention {step}:\n{help}");
    }
}

#[test]
fn no_step_is_a_usage_error() {
    let out = runner(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: bca-runner"));
}

//! Shared test helpers: running the real `bca` binary and shaping its output for
//! snapshots, and finding the external tools `scripts/install-tools` installs.
#![allow(dead_code)] // each test file uses a different part of this module

pub mod k8s;
pub mod model;
pub mod tools;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

/// A `bca` command with a clean, deterministic environment (no colour, no tokens).
pub fn bca() -> Command {
    let mut cmd = Command::cargo_bin("bca").expect("bca binary is built");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // A guard against hangs, not a timing assertion.
        .timeout(Duration::from_secs(60));
    cmd
}

/// Exit code, stdout and stderr together, the way a reviewer reads behaviour.
pub fn shown(output: &std::process::Output) -> String {
    format!(
        "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `bca ARGS` in `dir`, so file names in messages are relative and stable.
pub fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    bca().current_dir(dir).args(args).output().expect("bca runs")
}

/// Writes `content` to `name` in a fresh temporary directory and runs `bca validate name`.
pub fn validate_text(name: &str, content: impl AsRef<[u8]>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(name), content).expect("write change file");
    shown(&run_in(dir.path(), &["validate", name]))
}

/// Runs `bca run --local` on `change` with a stand-in `copilot` (the shell `script`) on
/// PATH, the push token `token`, a Copilot key and the GitHub API at `api`.
pub fn run_local_with_stand_in(change: &str, script: &str, token: &str, api: &str) -> std::process::Output {
    run_local_with_args(change, script, token, api, &[])
}

/// The same, with more arguments to `bca run --local`.
pub fn run_local_with_args(change: &str, script: &str, token: &str, api: &str, args: &[&str]) -> std::process::Output {
    let bin = tempfile::tempdir().expect("tempdir");
    let copilot = bin.path().join("copilot");
    std::fs::write(&copilot, format!("#!/bin/sh\n{script}")).expect("write the stand-in agent");
    std::fs::set_permissions(&copilot, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("change.yaml"), change).expect("write change file");
    bca()
        .current_dir(dir.path())
        .args(["run", "--local", "change.yaml"])
        .args(args)
        .env("PATH", format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default()))
        .env("GITHUB_TOKEN", token)
        .env("COPILOT_TOKEN", "copilot-key")
        .env("GITHUB_API_URL", api)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("bca runs")
}

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every way `secret` can appear base64-encoded inside a longer value (a Secret's data
/// encodes the whole value, so the secret may start at any of three byte alignments):
/// the characters that depend on the secret alone.
pub fn base64_forms(secret: &str) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let encode = |bytes: &[u8]| -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    };
    (0..3)
        .map(|offset| {
            let mut bytes = vec![b'x'; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let text = encode(&bytes);
            // Drop the characters mixed with the prefix, and the last, mixed with what follows.
            let skip = if offset == 0 { 0 } else { (offset * 8).div_ceil(6) };
            text[skip..text.len().saturating_sub(2)].to_string()
        })
        .collect()
}

/// Writes an executable script.
pub fn write_script_at(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write the script");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
}

//! The Change's own checks, run by the verify step after the agent's container exited: each command
//! with `sh -c` in the work tree, its own process group, a deadline, no token in its
//! environment, and its output kept as a bounded, redacted tail. What it finds goes to
//! collect as data (`Verification`); it decides only whether the pull request is a
//! draft, never what publish runs or pushes.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::Budget;
use super::files::{read_text, ReadError};
use super::paths::Paths;
use super::secrets::redact;
use super::{copy_env, log, RunError, BASE_ENV};
use crate::contract::Verify;

/// The most of a failing command's output the agent and the pull request see.
pub const TAIL_BYTES: usize = 4096;
/// The most output read from one command; the rest is drained and dropped.
const READ_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub command: String,
    pub passed: bool,
    /// The exit code; none when it was stopped at its timeout or by a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub timed_out: bool,
    /// The end of its standard output and standard error, interleaved, for a failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tail: String,
}

/// How verification went, over every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub passed: bool,
    /// Agent runs used.
    pub attempts: u32,
    /// The checks of the last attempt, up to the first that failed.
    pub checks: Vec<CheckResult>,
    /// Why verification failed when no check says it (paths outside allowedPaths), and
    /// why no attempt follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The tree the checks ran on (git's id for it), which collect compares with the
    /// tree it publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
}

impl Verification {
    /// Failed for a reason no check gives.
    pub fn failed(attempts: u32, reason: String) -> Verification {
        Verification { passed: false, attempts, checks: Vec::new(), reason: Some(reason), tree: None }
    }
}

/// The Change's agent runs in all, refusing an attempt beyond them.
pub fn attempts(contract: &crate::RunContract, attempt: u32) -> Result<u32, RunError> {
    let attempts = contract.verify.as_ref().map_or(1, |v| v.attempts.max(1));
    if attempt > attempts {
        return Err(RunError::usage(format!(
            "attempt {attempt} of a run contract with {attempts} attempt(s): render the Job again with bca"
        )));
    }
    Ok(attempts)
}

/// What attempt `attempt` (after the first) tells the agent: the check that failed
/// the attempt before. An error says why it does not run: the checks passed, or
/// verification ended for a reason no attempt can fix, or the attempt before did not
/// run. The verdict is the verify step's, in a directory no agent process can write.
pub fn next_attempt(paths: &Paths, attempt: u32) -> Result<CheckResult, String> {
    let text = match read_text(&paths.verdict_of_checks(), 256 * 1024) {
        Ok(text) => text,
        Err(ReadError::Missing) => return Err(format!("attempt {} was not checked", attempt - 1)),
        Err(e) => return Err(format!("cannot read the checks' verdict: {e}")),
    };
    let before: Verification =
        serde_json::from_str(&text).map_err(|e| format!("the checks' verdict is damaged: {e}"))?;
    if before.attempts != attempt - 1 {
        return Err(format!("attempt {} did not run", attempt - 1));
    }
    if before.passed {
        return Err(format!("the checks passed on attempt {}", attempt - 1));
    }
    if let Some(reason) = before.reason {
        return Err(format!("verification ended: {reason}"));
    }
    before.checks.into_iter().find(|c| !c.passed).ok_or_else(|| "no check failed".to_string())
}

impl CheckResult {
    /// What the agent is told about a failure.
    pub fn failure(&self) -> String {
        if self.timed_out {
            "was stopped at its timeout".to_string()
        } else {
            match self.exit_code {
                Some(code) => format!("fails with exit code {code}"),
                None => "was killed by a signal".to_string(),
            }
        }
    }
}

/// Runs the checks in order, stopping at the first that fails. Each gets its
/// `spec.verify` timeout, or what is left of the agent's share of the pod's deadline
/// when that is less.
pub fn run_checks(verify: &Verify, repo: &Path, budget: Option<&Budget>) -> Result<Vec<CheckResult>, RunError> {
    let mut results = Vec::new();
    for command in &verify.commands {
        log::info("verify", &format!("running {command}"));
        let own = Duration::from_secs(verify.timeout);
        let limit = match budget.map(Budget::remaining).filter(|left| *left < own) {
            Some(left) => Limit { time: left, what: "the agent's share of the pod's deadline" },
            None => Limit { time: own, what: "the timeout of spec.verify" },
        };
        let result = run_check(command, repo, limit)?;
        log::info("verify", &format!("{command}: {}", if result.passed { "passed".into() } else { result.failure() }));
        let passed = result.passed;
        results.push(result);
        if !passed {
            break;
        }
    }
    Ok(results)
}

/// How long a check may run, and what sets that.
struct Limit {
    time: Duration,
    what: &'static str,
}

fn run_check(command: &str, repo: &Path, limit: Limit) -> Result<CheckResult, RunError> {
    let (reader, writer) = std::io::pipe().map_err(|e| RunError::usage(format!("cannot make a pipe: {e}")))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(repo).env_clear().stdin(Stdio::null());
    copy_env(&mut cmd, &BASE_ENV);
    // A HOME and TMPDIR of the check's own: what the agent left in its HOME (a
    // ~/.npmrc whose script-shell decides what `npm test` runs, a ~/.gitconfig) has no
    // say in the verdict.
    let scratch = fresh_dir()?;
    cmd.env("HOME", &scratch.0).env("TMPDIR", &scratch.0);
    let stderr = writer.try_clone().map_err(|e| RunError::usage(format!("cannot make a pipe: {e}")))?;
    cmd.stdout(writer).stderr(stderr);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| RunError::usage(format!("cannot run sh for {command}: {e}")))?;
    drop(cmd);
    let collector = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut reader = reader;
        let _ = (&mut reader).take(READ_BYTES as u64).read_to_end(&mut bytes);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
        bytes
    });
    let status = crate::process::wait_group(&mut child, Some(limit.time))
        .map_err(|e| RunError::retryable(format!("waiting for {command}: {e}")))?;
    let timed_out = status.is_none();
    let output = collector.join().unwrap_or_default();
    let passed = !timed_out && status.is_some_and(|s| s.success());
    let mut tail = String::new();
    if !passed {
        let text = String::from_utf8_lossy(&output);
        let mut start = text.len().saturating_sub(TAIL_BYTES);
        while !text.is_char_boundary(start) {
            start += 1;
        }
        tail = redact(&text[start..]);
        if timed_out {
            tail.push_str(&format!("\n[bca: stopped after {}s, {}]\n", limit.time.as_secs(), limit.what));
        }
    }
    Ok(CheckResult { command: command.to_string(), passed, exit_code: status.and_then(|s| s.code()), timed_out, tail })
}

/// A new, empty directory under the system's temporary directory, removed when dropped.
pub struct Scratch(pub std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn fresh_dir() -> Result<Scratch, RunError> {
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("bca-check-{}-{nanos}-{n}", std::process::id()));
        // create_dir fails on anything already there: no path the agent prepared.
        if std::fs::create_dir(&dir).is_ok() {
            return Ok(Scratch(dir));
        }
    }
    Err(RunError::usage(format!("cannot create a scratch directory in {}", base.display())))
}

/// The prompt for another try: the task, and what failed.
pub fn follow_up(prompt: &str, failed: &CheckResult) -> String {
    let fence = fence_for(&failed.tail);
    format!(
        "{prompt}\n\n---\nYou made a change for this task in an earlier run; it is in the working tree. The check \
         `{}` {}. Its output ends with:\n\n{fence}\n{}\n{fence}\n\nFix the change so that the check passes.",
        failed.command,
        failed.failure(),
        failed.tail.trim_end(),
    )
}

/// A Markdown code fence longer than any run of backticks in `text`.
pub fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Whether `path` matches the glob: `*` within a path component, `**` across them.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    fn go(g: &[u8], p: &[u8]) -> bool {
        match g.first() {
            None => p.is_empty(),
            Some(b'*') if g.get(1) == Some(&b'*') => {
                let rest = g[2..].strip_prefix(b"/").unwrap_or(&g[2..]);
                rest.is_empty() || (0..=p.len()).any(|i| (i == 0 || p[i - 1] == b'/') && go(rest, &p[i..]))
            }
            Some(b'*') => (0..=p.len()).take_while(|i| *i == 0 || p[i - 1] != b'/').any(|i| go(&g[1..], &p[i..])),
            Some(b'?') => !p.is_empty() && p[0] != b'/' && go(&g[1..], &p[1..]),
            Some(c) => p.first() == Some(c) && go(&g[1..], &p[1..]),
        }
    }
    go(glob.as_bytes(), path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (glob, path) in [
            ("src/**", "src/a/b.rs"),
            ("src/**/*.rs", "src/main.rs"),
            ("**/*.go", "cmd/x/main.go"),
            ("*.md", "README.md"),
            ("go.mod", "go.mod"),
        ] {
            assert!(glob_matches(glob, path), "{glob} {path}");
        }
        for (glob, path) in [("*.md", "docs/a.md"), ("src/*", "src/a/b.rs"), ("src/**", "srcx/a"), ("go.mod", "go.sum")]
        {
            assert!(!glob_matches(glob, path), "{glob} {path}");
        }
    }

    #[test]
    fn fences_outgrow_the_text() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }

    #[test]
    fn a_hanging_check_is_stopped_at_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let result = run_check(
            "echo started; sleep 30 & sleep 30",
            dir.path(),
            Limit { time: Duration::from_secs(1), what: "the timeout of spec.verify" },
        )
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(result.timed_out && !result.passed);
        assert!(result.tail.contains("started") && result.tail.contains("stopped after 1s"), "{}", result.tail);
    }

    #[test]
    fn output_is_a_bounded_tail() {
        let dir = tempfile::tempdir().unwrap();
        let result = run_check(
            "yes line | head -n 100000; echo last >&2; exit 3",
            dir.path(),
            Limit { time: Duration::from_secs(30), what: "the timeout of spec.verify" },
        )
        .unwrap();
        assert_eq!((result.passed, result.exit_code), (false, Some(3)));
        assert!(result.tail.len() <= TAIL_BYTES + 1 && result.tail.ends_with("last\n"), "{}", result.tail.len());
    }
}

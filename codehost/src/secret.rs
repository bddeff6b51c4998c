//! Reading tokens from the mounted secret files, and keeping them out of everything
//! the runner prints: every value read is registered and redacted from log lines and
//! from what subprocesses print.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::HostError;

static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// What replaces a secret in anything printed.
pub const REDACTED: &str = "[redacted]";

/// A token read from a secret file. Deliberately not `Debug` or `Display`.
pub struct Secret {
    value: String,
    pub path: PathBuf,
    pub key: &'static str,
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl Secret {
    /// Where the token came from, in a user's words.
    pub fn source(&self) -> String {
        if self.path.as_os_str().is_empty() {
            self.key.to_string()
        } else {
            format!("secret key {}", self.key)
        }
    }

    /// A token from an environment variable (`bca status` reads `GITHUB_TOKEN`), registered
    /// for redaction like one read from a file.
    pub fn from_env(value: &str, var: &'static str) -> Secret {
        register(value.trim());
        Secret { value: value.trim().to_string(), path: PathBuf::new(), key: var }
    }
}

/// Reads `dir/key`, trimmed of surrounding whitespace (a trailing newline is common in
/// secrets created with `echo`), and registers it for redaction.
pub fn read(dir: &Path, key: &'static str) -> Result<Secret, HostError> {
    let path = dir.join(key);
    let value = std::fs::read_to_string(&path).map_err(|e| {
        HostError::usage(format!(
            "cannot read secret key {key} at {}: {e}; the credentials Secret needs a key named {key}",
            path.display()
        ))
    })?;
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(HostError::usage(format!("secret key {key} at {} is empty", path.display())));
    }
    register(&value);
    Ok(Secret { value, path, key })
}

pub fn register(value: &str) {
    // Very short values would redact ordinary words; no real token is that short.
    if value.len() >= 4 {
        let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k == value) {
            known.push(value.to_string());
            // Longest first, so a secret containing another is replaced whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }
}

/// A line for the operator about what the client does (a retry, a wait), redacted, on
/// standard error.
pub fn notice(message: &str) {
    use std::io::Write;
    let line = redact(&format!("[bca github] {message}\n"));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn redact(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_trims_and_redacts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("github-token"), "ghp_abcdef123\n").unwrap();
        let secret = read(dir.path(), "github-token").unwrap();
        assert_eq!(secret.expose(), "ghp_abcdef123");
        assert_eq!(redact("push with ghp_abcdef123 failed"), "push with [redacted] failed");
    }

    #[test]
    fn missing_and_empty_keys_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read(dir.path(), "copilot-token").err().unwrap();
        assert!(missing.message.contains("needs a key named copilot-token"), "{missing}");
        std::fs::write(dir.path().join("gemini-api-key"), "\n").unwrap();
        let empty = read(dir.path(), "gemini-api-key").err().unwrap();
        assert!(empty.message.contains("secret key gemini-api-key at"), "{empty}");
    }
}

use super::{string_value, Invalid};

/// A branch name git accepts (`git check-ref-format --branch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchName(String);

string_value!(BranchName, r"^[^\s~^:?*\[\\]+$");

impl Default for BranchName {
    fn default() -> BranchName {
        BranchName("main".to_string())
    }
}

impl BranchName {
    pub fn parse(input: &str) -> Result<BranchName, Invalid> {
        match ref_problem(input) {
            None => Ok(BranchName(input.to_string())),
            Some(problem) => Err(Invalid::new(format!("\"{input}\" is not a valid git branch name: {problem}"))
                .help("use a name such as main or release/1.2")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rules of git-check-ref-format(1), for a name below refs/heads/.
fn ref_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name == "@" {
        return Some("\"@\" alone is not allowed");
    }
    if name.starts_with('-') {
        return Some("it must not start with '-'");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Some("'/' must separate non-empty parts");
    }
    if name.ends_with('.') {
        return Some("it must not end with '.'");
    }
    if name.contains("..") {
        return Some("it must not contain \"..\"");
    }
    if name.contains("@{") {
        return Some("it must not contain \"@{\"");
    }
    if name.chars().any(|c| c.is_ascii_control() || c == ' ' || c == '\u{7f}') {
        return Some("it must not contain spaces or control characters");
    }
    if name.contains(['~', '^', ':', '?', '*', '[', '\\']) {
        return Some("it must not contain ~ ^ : ? * [ or \\");
    }
    if name.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        return Some("no part may start with '.' or end with \".lock\"");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_git_check_ref_format() {
        let names = [
            "main",
            "release/1.2",
            "feature/x-y_z",
            "v1.0",
            "ünïcode",
            "a..b",
            "a b",
            "-x",
            "x/",
            "/x",
            "a//b",
            "x.",
            "x.lock",
            "a/.hidden",
            "a@{b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            "",
        ];
        for name in names {
            // `--branch` would expand "@" and "@{-1}"; the plain form checks the ref a
            // branch becomes. git refuses a leading '-' only in `--branch` mode.
            let git = std::process::Command::new("git")
                .args(["check-ref-format", &format!("refs/heads/{name}")])
                .output()
                .expect("git is installed");
            let git_accepts = git.status.success() && !name.starts_with('-');
            assert_eq!(BranchName::parse(name).is_ok(), git_accepts, "{name:?}");
        }
        // git's ref rules allow "@", but `git branch @` refuses it (it means HEAD).
        assert!(BranchName::parse("@").is_err());
    }
}

//! git asks for credentials through `GIT_ASKPASS`; the runner binary answers, reading
//! the token from its file. So the token is never in argv, a remote URL, `.git/config`
//! or the environment of any process (only the file's path is).

use std::path::Path;

/// Set (to the token file's path) in the environment of the git processes the runner
/// starts; its presence puts `bca-runner` into askpass mode.
pub const TOKEN_FILE_ENV: &str = "BCA_ASKPASS_TOKEN_FILE";

/// The user name GitHub expects with a token as the password.
const USERNAME: &str = "x-access-token";

/// The answer to git's prompt (`Username for 'https://…': ` or `Password for …: `).
pub fn answer(prompt: &str, token_file: &Path) -> Option<String> {
    if prompt.starts_with("Username") {
        Some(USERNAME.to_string())
    } else if prompt.starts_with("Password") {
        std::fs::read_to_string(token_file).ok().map(|t| t.trim().to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_username_and_password_prompts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("github-token");
        std::fs::write(&file, "tok123\n").unwrap();
        assert_eq!(answer("Username for 'https://github.com': ", &file).as_deref(), Some("x-access-token"));
        assert_eq!(answer("Password for 'https://x-access-token@github.com': ", &file).as_deref(), Some("tok123"));
        assert_eq!(answer("Are you sure?", &file), None);
    }
}

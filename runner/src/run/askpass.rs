//! git asks for credentials through `GIT_ASKPASS`; the runner binary answers, reading
//! the token from its file. So the token is never in argv, a remote URL, `.git/config`
//! or the environment of any process (only the file's path is). It answers only for the
//! one origin the run may send the token to: a push redirected to another host gets no
//! password.

use std::path::Path;

use bca_codehost::endpoint::Origin;

/// Set (to the token file's path) in the environment of the git processes the runner
/// starts; its presence puts `bca-runner` into askpass mode.
pub const TOKEN_FILE_ENV: &str = "BCA_ASKPASS_TOKEN_FILE";
/// The origin (`https://github.com`) the askpass helper answers for.
pub const ORIGIN_ENV: &str = "BCA_ASKPASS_ORIGIN";

/// The user name GitHub expects with a token as the password.
const USERNAME: &str = "x-access-token";

/// The answer to git's prompt (`Username for 'https://…': ` or `Password for 'https://…': `),
/// or `None` when the prompt is for another origin or something else.
pub fn answer(prompt: &str, token_file: &Path, allowed: &str) -> Option<String> {
    let url = prompt.split('\'').nth(1)?;
    let origin = Origin::of(url)?;
    if origin.to_string() != allowed {
        return None;
    }
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
    fn answers_only_for_the_allowed_origin() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("github-token");
        std::fs::write(&file, "tok123\n").unwrap();
        let allowed = "https://github.com";
        assert_eq!(answer("Username for 'https://github.com': ", &file, allowed).as_deref(), Some("x-access-token"));
        assert_eq!(
            answer("Password for 'https://x-access-token@github.com': ", &file, allowed).as_deref(),
            Some("tok123")
        );
        for prompt in [
            "Password for 'http://x-access-token@github.com': ",
            "Password for 'https://x-access-token@evil.example': ",
            "Password for 'https://x-access-token@github.com:8443': ",
            "Password for 'https://github.com.evil.example': ",
            "Password for https://github.com: ",
            "Are you sure?",
        ] {
            assert_eq!(answer(prompt, &file, allowed), None, "{prompt}");
        }
    }
}

use bca_codehost::repository::{valid_host, valid_segment};
use bca_runner::Repository;

use super::{string_value, Invalid};

/// A repository on GitHub or GitHub Enterprise: `https://HOST/OWNER/NAME`, with an
/// optional `.git` and trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    original: String,
    repository: Repository,
}

string_value!(RepoUrl, r"^https://[^/@\s]+/[^/\s]+/[^/\s]+/?$");

impl RepoUrl {
    pub fn parse(input: &str) -> Result<RepoUrl, Invalid> {
        let expected = || format!("expected a repository URL like https://github.com/OWNER/NAME, found \"{input}\"");
        if let Some(rest) = input.strip_prefix("git@") {
            let fix = rest.replacen(':', "/", 1);
            return Err(
                Invalid::new(expected()).help(format!("use the https URL: https://{}", fix.trim_end_matches(".git")))
            );
        }
        let Some(rest) = input.strip_prefix("https://") else {
            if let Some(rest) = input.strip_prefix("http://") {
                return Err(Invalid::new(expected()).help(format!("use https: https://{rest}")));
            }
            return Err(Invalid::new(expected()));
        };
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(expected()).help("remove the whitespace"));
        }
        if input.contains(['?', '#']) {
            return Err(Invalid::new(expected()).help("remove the query or fragment"));
        }
        let trimmed = rest.strip_suffix('/').unwrap_or(rest);
        let parts: Vec<&str> = trimmed.split('/').collect();
        if let Some(product) = not_github(parts[0]) {
            return Err(Invalid::new(format!(
                "{} is {product}: bca supports GitHub and GitHub Enterprise only",
                parts[0]
            ))
            .help("bca opens pull requests through GitHub's API; remove this repository from the Change"));
        }
        let [host, owner, name] = parts[..] else {
            let help = if parts.len() > 3 {
                format!(
                    "a GitHub repository is https://HOST/OWNER/NAME (bca supports GitHub and GitHub Enterprise): \
                     drop the path after the repository: https://{}",
                    parts[..3].join("/")
                )
            } else {
                "name the owner and the repository".to_string()
            };
            return Err(Invalid::new(expected()).help(help));
        };
        if host.contains('@') {
            return Err(Invalid::new("credentials do not belong in a repository URL")
                .help("remove the user and token from the URL; tokens go in the credentials Secret"));
        }
        if !valid_host(host) {
            return Err(Invalid::new(format!("\"{host}\" is not a valid host name")));
        }
        let name = name.strip_suffix(".git").unwrap_or(name);
        for (what, part) in [("owner", owner), ("repository name", name)] {
            if !valid_segment(part) {
                return Err(Invalid::new(format!(
                    "\"{part}\" is not a valid {what}: expected letters, digits, '-', '_' or '.'"
                )));
            }
        }
        let repository = Repository::parse(&format!("https://{host}/{owner}/{name}"))
            .expect("the parts were checked by the same rules");
        Ok(RepoUrl { original: input.to_string(), repository })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The canonical URL (`https://host/owner/name`, no `.git`, no trailing slash): what
    /// the runner is given, and what identifies the repository in names and labels.
    pub fn canonical(&self) -> String {
        self.repository.to_string()
    }
}

/// The code hosts people name that are not GitHub, by host: bca cannot open their
/// change requests, and rendering them would give Jobs that can only fail.
fn not_github(host: &str) -> Option<&'static str> {
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    match host {
        "gitlab.com" => Some("GitLab"),
        "bitbucket.org" => Some("Bitbucket"),
        "dev.azure.com" | "ssh.dev.azure.com" => Some("Azure DevOps"),
        "codeberg.org" => Some("Codeberg (Forgejo)"),
        "gitea.com" => Some("Gitea"),
        "sr.ht" | "git.sr.ht" => Some("SourceHut"),
        h if h.ends_with(".visualstudio.com") => Some("Azure DevOps"),
        _ => None,
    }
}

/// A `RepoUrl` is its repository, as the user spelled it.
impl std::ops::Deref for RepoUrl {
    type Target = Repository;
    fn deref(&self) -> &Repository {
        &self.repository
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_original_forms() {
        for url in [
            "https://github.com/org/repo1",
            "https://github.com/org/repo1/",
            "https://github.com/org/repo1.git",
            "https://github.com/org/repo1.git/",
            "https://ghe.example.com:8443/Team/My.Repo_2",
        ] {
            let repo = RepoUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e:?}"));
            assert_eq!(repo.as_str(), url);
        }
        let repo = RepoUrl::parse("https://GitHub.com/Org/Repo.git/").unwrap();
        assert_eq!(repo.canonical(), "https://GitHub.com/Org/Repo");
        assert_eq!(repo.identity(), "https://github.com/org/repo");
    }

    #[test]
    fn refuses_with_a_fix() {
        let cases = [
            ("git@github.com:org/repo.git", "use the https URL: https://github.com/org/repo"),
            ("http://github.com/org/repo", "use https: https://github.com/org/repo"),
            (
                "https://github.com/org/repo/tree/main",
                "a GitHub repository is https://HOST/OWNER/NAME (bca supports GitHub and GitHub Enterprise): drop \
                 the path after the repository: https://github.com/org/repo",
            ),
            ("https://github.com/org", "name the owner and the repository"),
            (
                "https://x:tok@github.com/org/repo",
                "remove the user and token from the URL; tokens go in the credentials Secret",
            ),
        ];
        for (url, help) in cases {
            let err = RepoUrl::parse(url).unwrap_err();
            assert_eq!(err.help.as_deref(), Some(help), "{url}");
        }
        for (url, message) in [
            (
                "https://gitlab.com/group/sub/project",
                "gitlab.com is GitLab: bca supports GitHub and GitHub Enterprise only",
            ),
            (
                "https://bitbucket.org/team/repo",
                "bitbucket.org is Bitbucket: bca supports GitHub and GitHub Enterprise only",
            ),
            (
                "https://dev.azure.com/org/project/_git/repo",
                "dev.azure.com is Azure DevOps: bca supports GitHub and GitHub Enterprise only",
            ),
        ] {
            let err = RepoUrl::parse(url).unwrap_err();
            assert_eq!(err.message, message, "{url}");
        }
        for url in ["https://github.com/org/re po", "https://github.com/org/..", "https://-bad-.com/o/r", "ftp://x/y/z"]
        {
            assert!(RepoUrl::parse(url).is_err(), "{url}");
        }
    }
}

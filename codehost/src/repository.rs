//! A repository on GitHub or GitHub Enterprise, as both sides name it: `bca` writes
//! `https://HOST/OWNER/NAME` into the run contract, and the runner, `bca diff`,
//! `bca status` and `bca run --local --repo` read it back through this one type.

use std::fmt;

/// A repository: its host, its namespace path and its name. On GitHub the namespace is
/// one segment, the owner (`https://HOST/OWNER/NAME`); a host with nested groups (GitLab's
/// `group/subgroup/project`) has a longer path, which [`Repository::new`] takes. Each
/// part keeps the case it was written in; GitHub compares them ignoring case, and so do
/// `==` and [`Repository::identity`].
#[derive(Debug, Clone)]
pub struct Repository {
    host: String,
    namespace: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotARepository(pub String);

impl fmt::Display for NotARepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected a repository URL https://HOST/OWNER/NAME, found \"{}\"", self.0)
    }
}

impl std::error::Error for NotARepository {}

impl PartialEq for Repository {
    fn eq(&self, other: &Repository) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for Repository {}

impl std::hash::Hash for Repository {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl Repository {
    /// Reads `https://HOST/OWNER/NAME` (a `.git` and a trailing `/` are dropped). Checks
    /// every part, since owner and name go into API paths and the host decides where
    /// the token goes; a Change file's own checks, with their hints, come first.
    pub fn parse(url: &str) -> Result<Repository, NotARepository> {
        let refuse = || NotARepository(url.to_string());
        let rest = url.strip_prefix("https://").ok_or_else(refuse)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut parts = rest.split('/');
        let (Some(host), Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse());
        };
        let name = name.strip_suffix(".git").unwrap_or(name);
        if !valid_host(host) || !valid_segment(owner) || !valid_segment(name) {
            return Err(refuse());
        }
        Ok(Repository { host: host.to_string(), namespace: owner.to_string(), name: name.to_string() })
    }

    /// A repository from its parts, with a namespace path of one or more segments
    /// (`acme`, `acme/platform/tools`).
    pub fn new(host: &str, namespace: &str, name: &str) -> Result<Repository, NotARepository> {
        let url = format!("https://{host}/{namespace}/{name}");
        if !valid_host(host) || !namespace.split('/').all(valid_segment) || !valid_segment(name) {
            return Err(NotARepository(url));
        }
        Ok(Repository { host: host.to_string(), namespace: namespace.to_string(), name: name.to_string() })
    }

    pub fn host(&self) -> &str {
        &self.host
    }
    /// The namespace path: GitHub's owner, or a group path on a host that nests groups.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    /// GitHub's name for the namespace: the account or organisation that owns it.
    pub fn owner(&self) -> &str {
        &self.namespace
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `OWNER/NAME` (the namespace path and the name), as GitHub's API paths take it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Two URLs naming the same repository have the same key.
    pub fn identity(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }

    /// As a reviewer names it: `OWNER/NAME` on github.com, else `HOST/OWNER/NAME`.
    pub fn short(&self) -> String {
        if self.host.eq_ignore_ascii_case("github.com") {
            self.full_name()
        } else {
            format!("{}/{}", self.host, self.full_name())
        }
    }

    /// Whether a user's `--repo` names this repository: `OWNER/NAME`, `HOST/OWNER/NAME`
    /// or the URL, ignoring case, `.git` and a trailing `/`.
    pub fn is_named_by(&self, filter: &str) -> bool {
        let key = filter_key(filter);
        self.names().contains(&key)
    }

    /// The ways a user names this repository, normalised as [`filter_key`] normalises
    /// what they typed: `host/owner/name` and `owner/name`, lowercase.
    pub fn names(&self) -> [String; 2] {
        let identity = self.identity();
        let own = identity.trim_start_matches("https://").to_string();
        let owner_name = own.split_once('/').map_or(own.as_str(), |(_, rest)| rest).to_string();
        [own, owner_name]
    }
}

/// The canonical URL, `https://HOST/OWNER/NAME`: what identifies the repository in the
/// run contract, labels and names.
impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}/{}/{}", self.host, self.namespace, self.name)
    }
}

/// What a user typed to name a repository, normalised: `https://github.com/Acme/API.git/`
/// → `github.com/acme/api`, `Acme/API` → `acme/api`.
pub fn filter_key(text: &str) -> String {
    let text = text.trim().trim_start_matches("https://").trim_end_matches('/');
    text.strip_suffix(".git").unwrap_or(text).to_ascii_lowercase()
}

/// A host name with an optional `:port`, as DNS allows it (RFC 1123 labels). Both a
/// repository's and an image registry's host are checked by this one rule.
pub fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A GitHub user or organisation name: letters, digits and single hyphens, at most 39.
pub fn valid_owner(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// An owner or repository name as GitHub allows it.
pub fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_may_be_a_path_of_groups() {
        let r = Repository::new("gitlab.example.com", "acme/platform", "tools").unwrap();
        assert_eq!((r.namespace(), r.name(), r.full_name()), ("acme/platform", "tools", "acme/platform/tools".into()));
        assert_eq!(r.to_string(), "https://gitlab.example.com/acme/platform/tools");
        assert!(r.is_named_by("acme/platform/tools"));
        assert!(Repository::new("x.example", "acme//platform", "tools").is_err());
        assert!(Repository::new("x.example", "acme/..", "tools").is_err());
    }

    #[test]
    fn parses_what_bca_writes_and_what_users_write() {
        let repo = Repository::parse("https://GitHub.com/Acme/API.git/").unwrap();
        assert_eq!(repo.to_string(), "https://GitHub.com/Acme/API");
        assert_eq!(repo.identity(), "https://github.com/acme/api");
        assert_eq!(repo.full_name(), "Acme/API");
        assert_eq!(repo.short(), "Acme/API");
        assert_eq!(repo, Repository::parse("https://github.com/acme/api").unwrap());
        let ghe = Repository::parse("https://ghe.example.com:8443/team/svc").unwrap();
        assert_eq!(ghe.short(), "ghe.example.com:8443/team/svc");
        assert_eq!(ghe.host(), "ghe.example.com:8443");
    }

    #[test]
    fn refuses_what_could_steer_a_path_or_the_token() {
        for url in [
            "",
            "http://github.com/a/b",
            "https://github.com/a",
            "https://github.com/a/b/c",
            "https://github.com/../b",
            "https://github.com/a/b%2f",
            "https://x@github.com/a/b",
            "https://github.com/a/b?x",
            "https://-bad-.com/a/b",
        ] {
            let err = Repository::parse(url).unwrap_err();
            assert_eq!(err.to_string(), format!("expected a repository URL https://HOST/OWNER/NAME, found \"{url}\""));
        }
    }

    #[test]
    fn repositories_are_named_as_users_write_them() {
        let repo = Repository::parse("https://github.com/Acme/API").unwrap();
        for filter in ["acme/api", "Acme/API", "github.com/acme/api", "https://github.com/acme/api.git/"] {
            assert!(repo.is_named_by(filter), "{filter}");
        }
        for filter in ["acme", "api", "acme/ap", "other.host/acme/api"] {
            assert!(!repo.is_named_by(filter), "{filter}");
        }
    }
}

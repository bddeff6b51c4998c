//! Where the GitHub token may go. A run belongs to one GitHub host: the token is sent
//! to its API and its git origin and nowhere else, over https (or exactly the origin of
//! a `GITHUB_API_URL` override, as a local stand-in uses), and git URLs that come back
//! in API answers must point at that same origin.

use crate::HostError;

/// The host whose token the credentials Secret holds when the contract names none.
pub const GITHUB_COM: &str = "github.com";

/// `scheme://host[:port]`, normalised: lowercase, default ports dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// A URL split into its origin and whether it carried a user or password.
struct ParsedUrl {
    origin: Origin,
    userinfo: bool,
}

fn parse_url(url: &str) -> Option<ParsedUrl> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((_, host_port)) => (true, host_port),
        None => (false, authority),
    };
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 literal's colons are inside brackets.
        Some((host, port)) if !port.contains(']') => (host, Some(port.parse::<u16>().ok()?)),
        _ => (host_port, None),
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '\\') {
        return None;
    }
    let default = if scheme == "https" { 443 } else { 80 };
    let port = port.filter(|p| *p != default);
    Some(ParsedUrl { origin: Origin { scheme, host: host.to_ascii_lowercase(), port }, userinfo })
}

impl Origin {
    /// The origin of an http(s) URL, ignoring any user or password in it.
    pub fn of(url: &str) -> Option<Origin> {
        parse_url(url).map(|u| u.origin)
    }

    /// `https://HOST[:PORT]` for a GitHub host as the contract names it.
    fn https(host_port: &str) -> Option<Origin> {
        Origin::of(&format!("https://{host_port}"))
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// The API and git origins of the run's GitHub host.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The REST API base URL, without a trailing slash.
    pub api_base: String,
    /// The origin git may present the token to.
    pub git: Origin,
}

impl Endpoint {
    /// The endpoint of a GitHub host (github.com or an Enterprise host), or of
    /// `api_override` (`GITHUB_API_URL`) when set.
    pub fn for_host(token_host: &str, api_override: Option<String>) -> Result<Endpoint, HostError> {
        if let Some(url) = api_override.filter(|u| !u.is_empty()) {
            let parsed = parse_url(&url).filter(|p| !p.userinfo).ok_or_else(|| {
                HostError::usage(format!("GITHUB_API_URL is {url}: expected an http(s) URL without a user or password"))
            })?;
            return Ok(Endpoint { api_base: url.trim_end_matches('/').to_string(), git: parsed.origin });
        }
        let git = Origin::https(token_host)
            .filter(|_| crate::repository::valid_host(token_host))
            .ok_or_else(|| HostError::usage(format!("the GitHub host {token_host} is not a host name")))?;
        let api_base = if token_host.eq_ignore_ascii_case(GITHUB_COM) {
            "https://api.github.com".to_string()
        } else {
            format!("{git}/api/v3")
        };
        Ok(Endpoint { api_base, git })
    }

    /// GitHub's GraphQL endpoint: `https://api.github.com/graphql`, an Enterprise host's
    /// `/api/graphql` beside its `/api/v3`, or `/graphql` under an overriding API URL.
    pub fn graphql_url(&self) -> String {
        match self.api_base.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.api_base),
        }
    }

    /// A git URL from an API answer (`clone_url`) may be used with the token only when
    /// it points at the run's git origin and carries no credentials of its own.
    pub fn check_git_url(&self, url: &str) -> Result<(), HostError> {
        match parse_url(url) {
            Some(p) if p.origin == self.git && !p.userinfo => Ok(()),
            _ => Err(HostError::permanent(format!(
                "GitHub answered with the git URL {url}, which is not on {}: the token is sent only there, so \
                 the run stops",
                self.git
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_com_and_enterprise_hosts() {
        let e = Endpoint::for_host("github.com", None).unwrap();
        assert_eq!((e.api_base.as_str(), e.git.to_string().as_str()), ("https://api.github.com", "https://github.com"));
        assert_eq!(e.graphql_url(), "https://api.github.com/graphql");
        let e = Endpoint::for_host("ghe.example.com:8443", None).unwrap();
        assert_eq!(e.api_base, "https://ghe.example.com:8443/api/v3");
        assert_eq!(e.graphql_url(), "https://ghe.example.com:8443/api/graphql");
        let e = Endpoint::for_host("github.com", Some("http://127.0.0.1:9/".into())).unwrap();
        assert_eq!((e.api_base.as_str(), e.git.to_string().as_str()), ("http://127.0.0.1:9", "http://127.0.0.1:9"));
        assert_eq!(e.graphql_url(), "http://127.0.0.1:9/graphql");
        let err = Endpoint::for_host("github.com", Some("http://u:p@x".into())).unwrap_err();
        assert!(err.message.contains("without a user or password"), "{err}");
        let err = Endpoint::for_host("not a host", None).unwrap_err();
        assert_eq!(err.message, "the GitHub host not a host is not a host name");
    }

    #[test]
    fn git_urls_must_stay_on_the_origin() {
        let e = Endpoint::for_host("github.com", None).unwrap();
        assert!(e.check_git_url("https://github.com/a/b.git").is_ok());
        assert!(e.check_git_url("https://GITHUB.COM:443/a/b.git").is_ok());
        for bad in [
            "http://github.com/a/b.git",
            "https://github.com:8443/a/b.git",
            "https://evil.example/a/b.git",
            "https://x-access-token:t@github.com/a/b.git",
            "https://github.com@evil.example/a/b.git",
            "ssh://git@github.com/a/b.git",
            "file:///etc",
            "github.com/a/b",
        ] {
            let err = e.check_git_url(bad).unwrap_err();
            assert!(err.message.contains("which is not on https://github.com"), "{bad}: {err}");
        }
    }
}

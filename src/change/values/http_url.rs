use super::{string_value, Invalid};

/// An https URL that the runner downloads (instructions, context files). Plain http
/// only for a server on the same machine (`bca run --local` with a local server): on
/// the way from anywhere else, anyone could change what the agent is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(String);

string_value!(HttpUrl, r"^(https://[^\s/?#]+|http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?)([/?#]\S*)?$");

/// Hosts plain http is accepted for.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl HttpUrl {
    pub fn parse(input: &str) -> Result<HttpUrl, Invalid> {
        let expected = || format!("expected an https URL, found \"{input}\"");
        if let Some(rest) = input.strip_prefix("http://") {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit_once(':').filter(|(_, p)| !p.contains(']')).map_or(authority, |(h, _)| h);
            if !LOOPBACK.contains(&host) {
                return Err(Invalid::new(format!(
                    "expected an https URL, found \"{input}\": the agent's instructions are fetched over https only"
                ))
                .help(format!("use https: https://{rest} (plain http is accepted only for localhost)")));
            }
        }
        let Some(rest) = input.strip_prefix("https://").or_else(|| input.strip_prefix("http://")) else {
            return Err(if input.starts_with('/') || input.starts_with('.') || !input.contains("://") {
                Invalid::new(expected()).help("local files cannot reach the Job; publish the file and give its URL")
            } else {
                Invalid::new(expected())
            });
        };
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Invalid::new(expected()).help("encode spaces as %20"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(Invalid::new(expected()).help("the URL needs a host, as in https://example.com/agents.md"));
        }
        if authority.contains('@') {
            return Err(Invalid::new("credentials do not belong in a URL in a Change file")
                .help("remove the user and password; the Change file is not secret"));
        }
        Ok(HttpUrl(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_http_on_this_machine() {
        for url in [
            "https://example.com/agents.md",
            "http://localhost:8080/x?y=1#z",
            "http://127.0.0.1/a.md",
            "https://example.com",
        ] {
            assert!(HttpUrl::parse(url).is_ok(), "{url}");
        }
        for url in ["http://example.com/a.md", "http://localhost.example.com/a", "http://127.0.0.1@evil.example/a"] {
            let err = HttpUrl::parse(url).unwrap_err();
            assert!(err.message.contains("fetched over https only"), "{url}: {err:?}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_local_paths() {
        let local = HttpUrl::parse("./AGENTS.md").unwrap_err();
        assert!(local.help.unwrap().contains("local files cannot reach the Job"));
        for url in ["ftp://example.com/x", "https://", "https://a b", "https://u:p@example.com/x", "example.com/x"] {
            assert!(HttpUrl::parse(url).is_err(), "{url}");
        }
    }
}

use super::{string_value, Invalid};

/// An http or https URL that the runner downloads (instructions, context files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(String);

string_value!(HttpUrl, r"^https?://[^\s/?#]+([/?#]\S*)?$");

impl HttpUrl {
    pub fn parse(input: &str) -> Result<HttpUrl, Invalid> {
        let expected = || format!("expected an http or https URL, found \"{input}\"");
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
    fn accepts_http_and_https() {
        for url in ["https://example.com/agents.md", "http://localhost:8080/x?y=1#z", "https://example.com"] {
            assert!(HttpUrl::parse(url).is_ok(), "{url}");
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

//! The agent's context: the instructions file (`agentsmd`) and extra resources, fetched
//! over https into a directory beside the repository, so they are read, never committed.
//! Plain http is accepted only for a server on this machine (a local stand-in), and a
//! redirect never leads from https to http.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RunError;

/// The most one context file may hold: instructions and docs, not data sets.
pub const MAX_BYTES: u64 = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

/// What was downloaded, for the note appended to the prompt.
pub struct Context {
    pub dir: PathBuf,
    pub agentsmd: Option<PathBuf>,
    pub resources: Vec<PathBuf>,
}

/// Where the agent is asked to leave its summary, in the context directory.
pub const SUMMARY_FILE: &str = "summary.md";
/// The longest summary that reaches the pull request.
pub const MAX_SUMMARY_CHARS: usize = 4000;

impl Context {
    /// The note after the prompt: where the context is, and where to leave a summary.
    pub fn prompt_note(&self) -> String {
        let mut note = String::from("\n\n---\n");
        if self.agentsmd.is_some() || !self.resources.is_empty() {
            note.push_str(&format!(
                "Context for this task is in {} (outside the repository; do not copy it into the repository):\n",
                self.dir.display()
            ));
            if let Some(path) = &self.agentsmd {
                note.push_str(&format!("- {}: instructions to follow\n", path.display()));
            }
            for path in &self.resources {
                note.push_str(&format!("- {}: reference material\n", path.display()));
            }
            note.push('\n');
        }
        note.push_str(&format!(
            "When you are done, write a short summary of what you changed and why (plain text, at most {MAX_SUMMARY_CHARS} \
             characters) to {}. It becomes part of the pull request's description; do not add it to the repository.\n",
            self.summary().display()
        ));
        note
    }

    pub fn summary(&self) -> PathBuf {
        self.dir.join(SUMMARY_FILE)
    }
}

/// Redirects followed for one context file.
const MAX_REDIRECTS: usize = 5;

pub fn fetch(dir: &Path, agentsmd: Option<&str>, resources: &[String]) -> Result<Context, RunError> {
    let agent = ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        // Followed by hand, so each hop is checked.
        .redirects(0)
        .user_agent(concat!("bca-runner/", env!("CARGO_PKG_VERSION")))
        .build();
    std::fs::create_dir_all(dir.join("resources"))
        .map_err(|e| RunError::usage(format!("cannot create {}: {e}", dir.display())))?;
    let mut context = Context { dir: dir.to_path_buf(), agentsmd: None, resources: Vec::new() };
    if let Some(url) = agentsmd {
        let path = dir.join("AGENTS.md");
        download(&agent, url, &path)?;
        context.agentsmd = Some(path);
    }
    for (i, url) in resources.iter().enumerate() {
        let path = dir.join("resources").join(format!("{:02}-{}", i + 1, file_name(url)));
        download(&agent, url, &path)?;
        context.resources.push(path);
    }
    Ok(context)
}

/// Whether a context URL may be fetched: https, or http to this machine only.
fn allowed(url: &str, after_https: bool) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.rsplit_once(':').filter(|(_, p)| !p.contains(']')).map_or(host, |(h, _)| h);
    !after_https && matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn download(agent: &ureq::Agent, url: &str, path: &Path) -> Result<(), RunError> {
    let mut current = url.to_string();
    let mut was_https = false;
    let mut hops = 0;
    let response = loop {
        if !allowed(&current, was_https) {
            return Err(RunError::permanent(format!(
                "fetching {url}: {current} is not https; context files are fetched over https only"
            )));
        }
        was_https |= current.starts_with("https://");
        let response = agent.get(&current).call().map_err(|e| match e {
            ureq::Error::Status(status, _) if (400..500).contains(&status) => RunError::permanent(format!(
                "fetching {url}: the server answered {status}; check the URL in the Change"
            )),
            other => RunError::retryable(format!("fetching {url}: {other}")),
        })?;
        if !(300..400).contains(&response.status()) {
            break response;
        }
        hops += 1;
        let location = response.header("location").unwrap_or("").to_string();
        if hops > MAX_REDIRECTS || location.is_empty() {
            return Err(RunError::permanent(format!("fetching {url}: too many or empty redirects")));
        }
        current = if location.contains("://") { location } else { join(&current, &location) };
    };
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RunError::retryable(format!("fetching {url}: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(RunError::permanent(format!(
            "fetching {url}: larger than {} KiB; context files are instructions and docs, not data",
            MAX_BYTES / 1024
        )));
    }
    std::fs::write(path, bytes).map_err(|e| RunError::usage(format!("writing {}: {e}", path.display())))
}

/// A relative redirect target resolved against the URL it came from.
fn join(base: &str, location: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split(['?', '#']).next().unwrap_or("");
    if location.starts_with("//") {
        format!("{scheme}:{location}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let dir = if dir.is_empty() { String::new() } else { format!("/{dir}") };
        format!("{scheme}://{authority}{dir}/{location}")
    }
}

/// A safe file name from the last path segment of a URL.
fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let name: String =
        last.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    let name = name.trim_start_matches('.').to_string();
    if name.is_empty() || path.matches('/').count() <= 2 {
        "resource".to_string()
    } else {
        name.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_this_machine() {
        assert!(allowed("https://example.com/a.md", false));
        assert!(allowed("http://127.0.0.1:8080/a.md", false));
        assert!(allowed("http://localhost/a.md", false));
        assert!(!allowed("http://127.0.0.1:8080/a.md", true), "no downgrade after https");
        assert!(!allowed("http://example.com/a.md", false));
        assert!(!allowed("http://localhost.example.com/a.md", false));
        assert!(!allowed("http://127.0.0.1@example.com/a.md", false));
        assert!(!allowed("ftp://example.com/a.md", false));
    }

    #[test]
    fn relative_redirects_resolve() {
        assert_eq!(join("https://a.example/docs/x.md?q", "y.md"), "https://a.example/docs/y.md");
        assert_eq!(join("https://a.example/docs/x.md", "/z.md"), "https://a.example/z.md");
        assert_eq!(join("https://a.example/x.md", "//b.example/z.md"), "https://b.example/z.md");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("https://example.com/docs/guide.md?x=1"), "guide.md");
        assert_eq!(file_name("https://example.com"), "resource");
        assert_eq!(file_name("https://example.com/a/../.bashrc"), "bashrc");
        assert_eq!(file_name("https://example.com/a%20b c"), "a_20b_c");
    }
}

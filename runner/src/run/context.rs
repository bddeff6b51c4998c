//! The agent's context: the instructions file (`agentsmd`) and extra resources, fetched
//! over http(s) into a directory beside the repository, so they are read, never committed.

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

impl Context {
    /// A note for the prompt, telling the agent where its context is. Empty when there
    /// is none, so a prompt without context reaches the agent unchanged.
    pub fn prompt_note(&self) -> String {
        if self.agentsmd.is_none() && self.resources.is_empty() {
            return String::new();
        }
        let mut note = format!(
            "\n\n---\nContext for this task is in {} (outside the repository; do not copy it into the repository):\n",
            self.dir.display()
        );
        if let Some(path) = &self.agentsmd {
            note.push_str(&format!("- {}: instructions to follow\n", path.display()));
        }
        for path in &self.resources {
            note.push_str(&format!("- {}: reference material\n", path.display()));
        }
        note
    }
}

pub fn fetch(dir: &Path, agentsmd: Option<&str>, resources: &[String]) -> Result<Context, RunError> {
    let agent = ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
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

fn download(agent: &ureq::Agent, url: &str, path: &Path) -> Result<(), RunError> {
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(status, _) if (400..500).contains(&status) => {
            RunError::permanent(format!("fetching {url}: the server answered {status}; check the URL in the Change"))
        }
        other => RunError::retryable(format!("fetching {url}: {other}")),
    })?;
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
    fn file_names_are_safe() {
        assert_eq!(file_name("https://example.com/docs/guide.md?x=1"), "guide.md");
        assert_eq!(file_name("https://example.com"), "resource");
        assert_eq!(file_name("https://example.com/a/../.bashrc"), "bashrc");
        assert_eq!(file_name("https://example.com/a%20b c"), "a_20b_c");
    }
}

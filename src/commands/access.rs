//! The GitHub token and endpoint for the commands that read or write GitHub (`status`,
//! `close`).

use anyhow::bail;
use bca_codehost::{Endpoint, Secret};

use super::errors;
use crate::change::Change;
use crate::render::names::GitHubHost;
use crate::render::{self, Input};

/// The GitHub token from GITHUB_TOKEN, and the endpoint of the Changes' host: github.com,
/// or the Enterprise host `--github-host` names. A repository on any other host is
/// refused before the token goes anywhere.
pub fn github_access(
    command: &str,
    changes: &[(String, Change)],
    github_host: Option<&GitHubHost>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Secret, Endpoint, String)> {
    let inputs: Vec<Input> = changes.iter().map(|(file, change)| Input { file, change }).collect();
    let host = render::github_host(&inputs, github_host.map(|h| &**h))
        .map_err(errors::render_error)?
        .unwrap_or_else(|| "github.com".into());
    let Some(token) = env("GITHUB_TOKEN").filter(|t| !t.trim().is_empty()) else {
        bail!(
            "bca {command} reads GitHub with the token in GITHUB_TOKEN{}; it is empty or unset",
            match command {
                "status" | "resolve" => " (read access to the repositories is enough)",
                "merge" => {
                    " (the account the pods push with, with contents and pull requests write on the repositories: \
                     merging writes their base branches)"
                }
                _ => " (it needs pull requests write, and contents write to delete branches)",
            }
        );
    };
    let token = Secret::from_env(&token, "GITHUB_TOKEN");
    let endpoint = Endpoint::for_host(&host, env("GITHUB_API_URL"))?;
    Ok((token, endpoint, host))
}

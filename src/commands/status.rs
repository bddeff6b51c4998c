//! `bca status`: where a Change stands, read from GitHub (and `--pods` for what only the
//! cluster knows). Exits 0 when every repository is merged or needs no change, 1 else.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bca_runner::run::endpoint::Endpoint;
use bca_runner::run::github::GitHub;
use bca_runner::run::secrets::Secret;

use super::{load_files, Loaded, Outcome, EXIT_INVALID};
use crate::status::{self, pods, report, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

pub struct StatusRequest {
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// `kubectl get pods -o json` output (`-` for standard input).
    pub pods: Option<PathBuf>,
    /// The organisation the Changes fork into (`render --fork-org`).
    pub fork_org: Option<String>,
}

pub fn status(request: &StatusRequest, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Outcome> {
    let mut changes = Vec::new();
    let mut invalid = String::new();
    for loaded in load_files(&request.files)? {
        match loaded {
            Loaded::Valid { change, .. } => changes.push(*change),
            Loaded::Invalid(report) => invalid.push_str(&report.render(false)),
        }
    }
    if !invalid.is_empty() {
        return Ok(Outcome { stderr: invalid, code: EXIT_INVALID, ..Outcome::default() });
    }
    let Some(token) = env("GITHUB_TOKEN").filter(|t| !t.trim().is_empty()) else {
        bail!("bca status reads GitHub with the token in GITHUB_TOKEN (read access to the repositories is enough); it is empty or unset");
    };
    let token = Secret::from_env(&token, "GITHUB_TOKEN");
    let host = changes
        .iter()
        .flat_map(|c| c.spec.repos.iter())
        .next()
        .map(|r| r.host().to_ascii_lowercase())
        .unwrap_or_else(|| "github.com".into());
    let endpoint = Endpoint::for_host(&host, env("GITHUB_API_URL")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let gh = GitHub::new(&endpoint, &token);
    let mut login = None;
    let mut targets = Vec::new();
    for change in &changes {
        let branch =
            format!("bca/{}", change.name().map_or_else(|| crate::render::change_id(change), |n| n.to_string()));
        for repo in &change.spec.repos {
            let owner = if change.spec.fork == Some(false) {
                repo.owner().to_string()
            } else if let Some(org) = &request.fork_org {
                org.clone()
            } else {
                if login.is_none() {
                    login = Some(gh.user().map_err(|e| anyhow::anyhow!("{e}"))?);
                }
                login.clone().expect("set above")
            };
            targets.push(Target {
                full_name: format!("{}/{}", repo.owner(), repo.name()),
                repository: repo.canonical(),
                head: format!("{owner}:{branch}"),
            });
        }
    }
    let mut rows = status::read(&gh, &targets).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = &request.pods {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading --pods from standard input")?
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading --pods {}", path.display()))?
        };
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--pods {}: expected the JSON of `kubectl get pods -o json`", path.display()))?;
        let states = pods::job_states(&value).map_err(|e| anyhow::anyhow!("--pods {}: {e}", path.display()))?;
        for row in &mut rows {
            row.job = states.get(&row.repository).cloned();
        }
    }
    let stdout = match request.format {
        Format::Table => report::table(&rows),
        Format::Json => report::json_lines(&rows),
        Format::Markdown => report::markdown(&rows),
    };
    let code = if status::done(&rows) { 0 } else { EXIT_INVALID };
    Ok(Outcome { stdout, stderr: String::new(), code })
}

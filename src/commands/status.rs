//! `bca status`: where a Change stands, read from GitHub (and `--pods` for what only the
//! cluster knows). Exits 0 when every repository is merged or needs no change, 1 else.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use bca_runner::run::endpoint::Endpoint;
use bca_runner::run::github::GitHub;
use bca_runner::run::secrets::Secret;
use bca_runner::Repository;

use super::{errors, valid_changes, Outcome, Style, EXIT_INVALID};
use crate::change::Change;
use crate::render::names::{GitHubHost, GitHubOwner};
use crate::render::{self, Input};
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
    pub fork_org: Option<GitHubOwner>,
    /// The GitHub Enterprise host of the Changes' repositories (`render --github-host`).
    pub github_host: Option<GitHubHost>,
}

/// The GitHub token from GITHUB_TOKEN, and the endpoint of the Changes' host: github.com,
/// or the Enterprise host `--github-host` names. A repository on any other host is
/// refused before the token goes anywhere.
pub(crate) fn github_access(
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
                "status" => " (read access to the repositories is enough)",
                _ => " (it needs pull requests write, and contents write to delete branches)",
            }
        );
    };
    let token = Secret::from_env(&token, "GITHUB_TOKEN");
    let endpoint = Endpoint::for_host(&host, env("GITHUB_API_URL")).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((token, endpoint, host))
}

/// The branch of a Change's pull requests.
pub(crate) fn branch(change: &Change) -> String {
    render::head_branch(change, &render::change_id(change))
}

/// Who a Change's branches are pushed to: the repository's own owner when the Change
/// does not fork, else `--fork-org`, else the token's account (asked of GitHub once).
pub(crate) struct PushOwner<'a> {
    gh: &'a GitHub<'a>,
    fork_org: Option<&'a str>,
    login: Option<String>,
}

impl<'a> PushOwner<'a> {
    pub(crate) fn new(gh: &'a GitHub<'a>, fork_org: Option<&'a str>) -> PushOwner<'a> {
        PushOwner { gh, fork_org, login: None }
    }

    pub(crate) fn of(&mut self, forks: bool, repository_owner: &str) -> anyhow::Result<String> {
        if !forks {
            return Ok(repository_owner.to_string());
        }
        if let Some(org) = self.fork_org {
            return Ok(org.to_string());
        }
        if self.login.is_none() {
            self.login = Some(self.gh.user().map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        Ok(self.login.clone().expect("set above"))
    }
}

/// Where each repository's pull request comes from (`owner:branch`).
pub(crate) fn targets(gh: &GitHub, changes: &[Change], fork_org: Option<&str>) -> anyhow::Result<Vec<Target>> {
    let mut push_owner = PushOwner::new(gh, fork_org);
    let mut targets = Vec::new();
    for change in changes {
        let branch = branch(change);
        for repo in &change.spec.repos {
            let owner = push_owner.of(change.spec.fork != Some(false), repo.owner())?;
            targets.push(Target { repository: Repository::clone(repo), head: format!("{owner}:{branch}") });
        }
    }
    Ok(targets)
}

/// The open pull requests of the named Changes in repositories they no longer list,
/// with their branch and whether the Change pushes to the repositories themselves.
pub(crate) fn orphans(gh: &GitHub, changes: &[Change]) -> anyhow::Result<Vec<(String, bool, status::Orphan)>> {
    let mut found = Vec::new();
    for change in changes.iter().filter(|c| c.name().is_some()) {
        let mut owners: Vec<String> = change.spec.repos.iter().map(|r| r.owner().to_string()).collect();
        owners.sort();
        owners.dedup();
        let listed: Vec<String> = change.spec.repos.iter().map(|r| r.full_name()).collect();
        let branch = branch(change);
        for orphan in status::orphans(gh, &owners, &branch, &listed).map_err(|e| anyhow::anyhow!("{e}"))? {
            found.push((branch.clone(), change.spec.fork == Some(false), orphan));
        }
    }
    Ok(found)
}

pub fn status(request: &StatusRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let files = valid_changes(&request.files, style)?;
    let (token, endpoint, host) = github_access("status", &files, request.github_host.as_ref(), env)?;
    let changes: Vec<Change> = files.into_iter().map(|(_, change)| change).collect();
    let gh = GitHub::new(&endpoint, &token);
    let targets = targets(&gh, &changes, request.fork_org.as_deref())?;
    let mut rows = status::read(&gh, &targets).map_err(|e| anyhow::anyhow!("{e}"))?;
    rows.extend(orphans(&gh, &changes)?.iter().map(|(_, _, o)| o.row(&host)));
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
            row.job = states.get(&row.repository.to_ascii_lowercase()).cloned();
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

//! `bca close`: close a Change's open pull requests (some of them with `--repo`, or
//! those of repositories removed from the Change with `--orphaned`), each with a comment
//! saying why, and delete their branches, which bca made. Says what it will do and
//! writes nothing without `--yes`.

use std::path::PathBuf;

use bca_runner::run::github::GitHub;

use super::status::{github_access, orphans, targets, PushOwner};
use super::{check_repo_filters, valid_changes, Outcome, Style};
use crate::render::names::{GitHubHost, GitHubOwner};

pub struct CloseRequest {
    pub files: Vec<PathBuf>,
    /// Only these repositories (`owner/name` or the URL).
    pub only: Vec<String>,
    /// The pull requests of repositories no longer in the Change, instead.
    pub orphaned: bool,
    pub yes: bool,
    pub fork_org: Option<GitHubOwner>,
    pub github_host: Option<GitHubHost>,
}

/// One pull request to close.
struct Closing {
    full_name: String,
    number: u64,
    url: String,
    /// The repository (`owner/name`) and branch to delete.
    branch_repo: String,
    branch: String,
}

pub fn close(request: &CloseRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let files = valid_changes(&request.files, style)?;
    let (token, endpoint, _) = github_access("close", &files, request.github_host.as_ref(), env)?;
    let changes: Vec<_> = files.into_iter().map(|(_, change)| change).collect();
    let gh = GitHub::new(&endpoint, &token);
    let mut closing = Vec::new();
    if request.orphaned {
        let mut push_owner = PushOwner::new(&gh, request.fork_org.as_deref());
        for (branch, no_fork, o) in orphans(&gh, &changes)? {
            // An orphan's branch is where its pull request came from: the repository
            // itself, the organisation's fork, or the token's account's.
            let (owner, name) = o.full_name.split_once('/').unwrap_or((&o.full_name, ""));
            let branch_repo = format!("{}/{name}", push_owner.of(!no_fork, owner)?);
            closing.push(Closing { full_name: o.full_name, number: o.number, url: o.url, branch_repo, branch });
        }
    } else {
        let targets = targets(&gh, &changes, request.fork_org.as_deref())?;
        check_repo_filters(&request.only, targets.iter().map(|t| &t.repository))?;
        for target in targets
            .iter()
            .filter(|t| request.only.is_empty() || request.only.iter().any(|f| t.repository.is_named_by(f)))
        {
            let full_name = target.repository.full_name();
            let open = gh.pulls_from(&full_name, &target.head).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (owner, branch) = target.head.split_once(':').unwrap_or(("", ""));
            for pull in open.into_iter().filter(|p| p.state == "open") {
                let name = target.repository.name();
                closing.push(Closing {
                    full_name: full_name.clone(),
                    number: pull.number,
                    url: pull.html_url,
                    branch_repo: format!("{owner}/{name}"),
                    branch: branch.to_string(),
                });
            }
        }
    }
    let mut stdout = String::new();
    if closing.is_empty() {
        stdout.push_str("no open pull requests to close\n");
        return Ok(Outcome { stdout, ..Outcome::default() });
    }
    let why =
        if request.orphaned { "its repository is no longer in the Change" } else { "the Change's author closed it" };
    for c in &closing {
        stdout.push_str(&format!(
            "{} {}#{} ({}) and delete {}:{}\n",
            if request.yes { "closing" } else { "would close" },
            c.full_name,
            c.number,
            c.url,
            c.branch_repo,
            c.branch
        ));
    }
    if !request.yes {
        stdout.push_str(&format!("{} pull request(s); run again with --yes to close them\n", closing.len()));
        return Ok(Outcome { stdout, code: super::EXIT_INVALID, ..Outcome::default() });
    }
    let comment = format!("Closed by bca: {why}. The branch it came from is deleted.");
    for c in &closing {
        let fail = |e: bca_runner::run::RunError| anyhow::anyhow!("{}#{}: {e}", c.full_name, c.number);
        gh.comment(&c.full_name, c.number, &comment).map_err(fail)?;
        gh.close_pull(&c.full_name, c.number).map_err(fail)?;
        gh.delete_branch(&c.branch_repo, &c.branch).map_err(fail)?;
    }
    stdout.push_str(&format!("closed {} pull request(s)\n", closing.len()));
    Ok(Outcome { stdout, ..Outcome::default() })
}

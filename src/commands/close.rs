//! `bca close`: close a Change's open pull requests (some of them with `--repo`, or
//! those of repositories removed from the Change with `--orphaned`), each with a comment
//! saying why, and delete their branches, which bca made. Says what it will do and
//! writes nothing without `--yes`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::access::github_access;
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
    let host = bca_codehost::connect(&endpoint, &token);
    let gh = host.as_ref();
    let mut closing = Vec::new();
    let mut skipped = Vec::new();
    let mut stderr = String::new();
    if request.orphaned {
        let mut push_owner = crate::status::PushOwner::new(gh, request.fork_org.as_deref());
        let (orphans, warnings) =
            crate::status::changes_orphans(gh, &changes).context("searching for orphaned pull requests")?;
        stderr.extend(warnings.iter().map(|w| style.warning(w)));
        for crate::status::ChangeOrphan { branch, no_fork, orphan: o } in orphans {
            // An orphan's branch is where its pull request came from: the repository
            // itself, the organisation's fork, or the token's account's.
            let (owner, name) = o.full_name.split_once('/').unwrap_or((&o.full_name, ""));
            let branch_repo = format!(
                "{}/{name}",
                push_owner.of(!no_fork, owner).context("asking GitHub whose token GITHUB_TOKEN is")?
            );
            closing.push(Closing { full_name: o.full_name, number: o.number, url: o.url, branch_repo, branch });
        }
    } else {
        let targets = crate::status::targets(gh, &changes, request.fork_org.as_deref())
            .context("asking GitHub whose token GITHUB_TOKEN is")?;
        check_repo_filters(&request.only, targets.iter().map(|t| &t.repository))?;
        let chosen: Vec<crate::status::Target> = targets
            .into_iter()
            .filter(|t| request.only.is_empty() || request.only.iter().any(|f| t.repository.is_named_by(f)))
            .collect();
        let rows = crate::status::read(gh, &chosen, &mut |_| {}).context("reading the pull requests")?;
        for (target, row) in chosen.iter().zip(rows) {
            let full_name = target.repository.full_name();
            match (row.pull_request, row.url) {
                (Some(number), Some(url))
                    if matches!(row.state, crate::status::RowState::Open | crate::status::RowState::Draft) =>
                {
                    closing.push(Closing {
                        full_name,
                        number,
                        url,
                        branch_repo: format!("{}/{}", target.head.owner, target.repository.name()),
                        branch: target.head.branch.clone(),
                    });
                }
                _ if row.note.is_some() => {
                    skipped.push(format!("{full_name}: {}", row.note.unwrap_or_default()));
                }
                _ => {}
            }
        }
    }
    let mut stdout = String::new();
    for skip in &skipped {
        stdout.push_str(&format!("skipped {skip}\n"));
    }
    if closing.is_empty() {
        stdout.push_str("no open pull requests to close\n");
        return Ok(Outcome { stdout, stderr, ..Outcome::default() });
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
        return Ok(Outcome { stdout, stderr, code: super::EXIT_INVALID });
    }
    let comment = format!("Closed by bca: {why}. The branch it came from is deleted.");
    for c in &closing {
        let what = || format!("{}#{}", c.full_name, c.number);
        gh.comment(&c.full_name, c.number, &comment).with_context(what)?;
        gh.close_change_request(&c.full_name, c.number).with_context(what)?;
        gh.delete_branch(&c.branch_repo, &c.branch).with_context(what)?;
    }
    stdout.push_str(&format!("closed {} pull request(s)\n", closing.len()));
    Ok(Outcome { stdout, stderr, ..Outcome::default() })
}

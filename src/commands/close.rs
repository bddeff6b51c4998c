//! `bca close`: close a Change's open pull requests (some of them with `--repo`, or
//! those of repositories removed from the Change with `--orphaned`), each with a comment
//! saying why, and delete their branches where bca made their tip. Only bca's own pull
//! requests (`crate::ownership`); everything else is left alone and named. Says what it
//! will do and writes nothing without `--yes`.

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

/// A pull request that may be the Change's, before bca checks.
struct Candidate {
    full_name: String,
    number: u64,
    /// Where the Change's own would come from.
    expected: bca_codehost::Head,
    /// What its marker must name.
    change: String,
}

/// One pull request to close.
struct Closing {
    full_name: String,
    number: u64,
    url: String,
    /// The repository (`owner/name`) and branch it comes from.
    branch_repo: String,
    branch: String,
    /// Whether bca made the branch's tip, so it may delete the branch.
    delete_branch: bool,
}

pub fn close(request: &CloseRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let files = valid_changes(&request.files, style)?;
    let (token, endpoint, _) = github_access("close", &files, request.github_host.as_ref(), env)?;
    let changes: Vec<_> = files.into_iter().map(|(_, change)| change).collect();
    let host = bca_codehost::connect(&endpoint, &token);
    let gh = host.as_ref();
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    let mut stderr = String::new();
    if request.orphaned {
        let push_owner = crate::status::PushOwner::new(gh, request.fork_org.as_deref());
        let (orphans, warnings) =
            crate::status::changes_orphans(gh, &changes).context("searching for orphaned pull requests")?;
        stderr.extend(warnings.iter().map(|w| style.warning(w)));
        for crate::status::ChangeOrphan { branch, no_fork, change, orphan: o } in orphans {
            // An orphan's branch is where its pull request came from: the repository
            // itself, the organisation's fork, or the token's account's.
            let owner = o.full_name.split_once('/').map_or(o.full_name.as_str(), |(owner, _)| owner);
            let push_owner = push_owner.of(!no_fork, owner).context("asking GitHub whose token GITHUB_TOKEN is")?;
            let expected = bca_codehost::Head::new(push_owner, branch);
            candidates.push(Candidate { full_name: o.full_name, number: o.number, expected, change });
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
                (Some(number), Some(_))
                    if matches!(row.state, crate::status::RowState::Open | crate::status::RowState::Draft) =>
                {
                    let (expected, change) = (target.head.clone(), target.change.clone());
                    candidates.push(Candidate { full_name, number, expected, change });
                }
                _ if row.note.is_some() => {
                    skipped.push(format!("{full_name}: {}", row.note.unwrap_or_default()));
                }
                _ => {}
            }
        }
    }
    // Only bca's own: exactly the Change's branch, from the push owner, opened by the
    // token's account, with the Change's marker.
    let mut closing = Vec::new();
    if !candidates.is_empty() {
        let account = gh.account().context("asking GitHub whose token GITHUB_TOKEN is")?;
        for c in candidates {
            let what = || format!("{}#{}", c.full_name, c.number);
            let Some(pull) = gh.change_request(&c.full_name, c.number).with_context(what)? else {
                skipped.push(format!("{}: GitHub no longer knows it", what()));
                continue;
            };
            match crate::ownership::check(&pull, &c.expected, &account, &c.change) {
                Ok(ours) => {
                    let name = c.full_name.split_once('/').map_or("", |(_, name)| name);
                    closing.push(Closing {
                        branch_repo: format!("{}/{name}", pull.head.owner),
                        branch: pull.head.branch,
                        full_name: c.full_name,
                        number: c.number,
                        url: pull.url,
                        delete_branch: ours.branch_is_ours,
                    });
                }
                Err(why) => skipped.push(format!("{}: not the Change's, left alone: {why}", what())),
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
        let branch = if c.delete_branch {
            format!("and delete {}:{}", c.branch_repo, c.branch)
        } else {
            format!("and keep {}:{} (its tip is a commit bca did not make)", c.branch_repo, c.branch)
        };
        stdout.push_str(&format!(
            "{} {}#{} ({}) {branch}\n",
            if request.yes { "closing" } else { "would close" },
            c.full_name,
            c.number,
            c.url
        ));
    }
    if !request.yes {
        stdout.push_str(&format!("{} pull request(s); run again with --yes to close them\n", closing.len()));
        return Ok(Outcome { stdout, stderr, code: super::EXIT_INVALID });
    }
    for c in &closing {
        let what = || format!("{}#{}", c.full_name, c.number);
        let comment = if c.delete_branch {
            format!("Closed by bca: {why}. The branch it came from is deleted.")
        } else {
            format!("Closed by bca: {why}. The branch it came from is kept: it holds commits bca did not make.")
        };
        gh.comment(&c.full_name, c.number, &comment).with_context(what)?;
        gh.close_change_request(&c.full_name, c.number).with_context(what)?;
        if c.delete_branch {
            gh.delete_branch(&c.branch_repo, &c.branch).with_context(what)?;
        }
    }
    stdout.push_str(&format!("closed {} pull request(s)\n", closing.len()));
    Ok(Outcome { stdout, stderr, ..Outcome::default() })
}

//! Where a Change's pull requests come from: each repository's head (the push owner
//! and the Change's branch), and the named Changes' pull requests in repositories they
//! no longer list.

use bca_codehost::{CodeHost, Head, HostError};
use bca_runner::Repository;

use super::{orphans, Orphan, Target};
use crate::change::Change;
use crate::render;

/// The branch of a Change's pull requests.
pub fn branch(change: &Change) -> String {
    render::head_branch(change, &render::change_id(change))
}

/// Who a Change's branches are pushed to: the repository's own owner when the Change
/// does not fork, else `--fork-org`, else the token's account (the client asks GitHub
/// once).
pub struct PushOwner<'a> {
    host: &'a dyn CodeHost,
    fork_org: Option<&'a str>,
}

impl<'a> PushOwner<'a> {
    pub fn new(host: &'a dyn CodeHost, fork_org: Option<&'a str>) -> PushOwner<'a> {
        PushOwner { host, fork_org }
    }

    pub fn of(&self, forks: bool, repository_owner: &str) -> Result<String, HostError> {
        match (forks, self.fork_org) {
            (false, _) => Ok(repository_owner.to_string()),
            (true, Some(org)) => Ok(org.to_string()),
            (true, None) => self.host.account(),
        }
    }
}

/// Where each repository's pull request comes from.
pub fn targets(host: &dyn CodeHost, changes: &[Change], fork_org: Option<&str>) -> Result<Vec<Target>, HostError> {
    let push_owner = PushOwner::new(host, fork_org);
    let mut targets = Vec::new();
    for change in changes {
        let branch = branch(change);
        for repo in &change.spec.repos {
            let owner = push_owner.of(change.spec.fork != Some(false), repo.owner())?;
            targets.push(Target {
                repository: Repository::clone(repo),
                head: Head::new(owner, &branch),
                change: render::identity(change),
                merge: change.spec.merge.clone().unwrap_or_default(),
            });
        }
    }
    Ok(targets)
}

/// The open pull requests of the named Changes in repositories they no longer list,
/// with their branch and whether the Change pushes to the repositories themselves.
/// An orphaned pull request of a Change: its branch, whether the Change pushes to the
/// repositories themselves (so the branch is there, not in a fork), and the Change's
/// identity its marker must name.
pub struct ChangeOrphan {
    pub branch: String,
    pub no_fork: bool,
    pub change: String,
    pub orphan: Orphan,
}

pub fn changes_orphans(host: &dyn CodeHost, changes: &[Change]) -> Result<(Vec<ChangeOrphan>, Vec<String>), HostError> {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for change in changes.iter().filter(|c| c.name().is_some()) {
        let owners = owners(change);
        let listed: Vec<String> = change.spec.repos.iter().map(|r| r.full_name()).collect();
        let branch = branch(change);
        let orphans = orphans(host, &owners, &branch, &listed)?;
        warnings.extend(orphans.warnings);
        for orphan in orphans.found {
            found.push(ChangeOrphan {
                branch: branch.clone(),
                no_fork: change.spec.fork == Some(false),
                change: render::identity(change),
                orphan,
            });
        }
    }
    Ok((found, warnings))
}

/// The owners whose repositories a Change lists, once each.
fn owners(change: &Change) -> Vec<String> {
    let mut owners: Vec<String> = change.spec.repos.iter().map(|r| r.owner().to_string()).collect();
    owners.sort();
    owners.dedup();
    owners
}

/// Keeps the orphans that are the Change's own (`crate::ownership`): GitHub's search
/// matches a branch by prefix and finds anyone's pull requests. The others are named.
pub fn own_orphans(
    host: &dyn CodeHost,
    fork_org: Option<&str>,
    orphans: Vec<ChangeOrphan>,
) -> Result<(Vec<ChangeOrphan>, Vec<String>), HostError> {
    if orphans.is_empty() {
        return Ok((orphans, Vec::new()));
    }
    let account = host.account()?;
    let push_owner = PushOwner::new(host, fork_org);
    let (mut own, mut others) = (Vec::new(), Vec::new());
    for o in orphans {
        let owner = o.orphan.full_name.split_once('/').map_or(o.orphan.full_name.as_str(), |(owner, _)| owner);
        let expected = Head::new(push_owner.of(!o.no_fork, owner)?, &o.branch);
        let what = format!("{}#{}", o.orphan.full_name, o.orphan.number);
        match host.change_request(&o.orphan.full_name, o.orphan.number)? {
            None => others.push(format!("{what}: GitHub no longer knows it")),
            Some(pull) => match crate::ownership::check(&pull, &expected, &account, &o.change) {
                Ok(_) => own.push(o),
                Err(why) => others.push(format!("{what} is not the Change's, left alone: {why}")),
            },
        }
    }
    Ok((own, others))
}

//! The fork step: the fork, and whether its pull request already holds this work.

use super::{github_token, Run, Upstream};
use crate::pod::SECRET_KEY_GITHUB_TOKEN;
use bca_codehost::{CodeHost, Head, RepoInfo};

use crate::run::endpoint::Endpoint;
use crate::run::paths::Paths;
use crate::run::state::{self, ForkState, OpenPull};
use crate::run::{log, RunError};
use crate::RunContract;

/// Makes sure a fork exists (reusing one that does) and waits until GitHub has made it,
/// then looks up the Change's open pull request: if it already holds this work, the
/// rest of the run confirms it and the agent does not start.
pub fn fork(paths: &Paths, run: &Run) -> Result<(), RunError> {
    let contract = &run.contract;
    crate::run::clock::start(paths)?;
    let token = github_token(paths)?;
    let endpoint = &run.endpoint;
    let host = bca_codehost::connect(endpoint, &token);
    let gh = host.as_ref();
    let up = &run.upstream;
    let fork = ensure_fork(gh, endpoint, up, contract)?;
    let head = Head::new(&fork.owner, &contract.head_branch);
    let open = match gh.open_change_request(&up.full_name, &head)? {
        Some(p) => Some(OpenPull {
            opened_by_token: p.author.eq_ignore_ascii_case(&gh.account()?),
            number: p.number,
            html_url: p.url,
            title: p.title,
            body: p.body,
            author: p.author,
        }),
        None => None,
    };
    if let Some(why) = open.as_ref().and_then(|p| p.not_ours(contract)) {
        log::info("fork", &format!("the agent will not run: {why}"));
    } else if let Some(pull) = open.as_ref().filter(|p| p.holds(contract)) {
        log::info(
            "fork",
            &format!(
                "{} already holds this work (fingerprint {}): the agent will not run",
                pull.html_url, contract.work.fingerprint
            ),
        );
    }
    state::write_fork(paths, &fork)?;
    state::write_open_pull(paths, open.as_ref())?;
    if let Some(follow_up) = &contract.follow_up {
        let round = round(gh, run, follow_up, &fork.owner, open.as_ref())?;
        match &round {
            state::RoundState::Run(r) => log::info(
                "fork",
                &format!("follow-up round {} of {}: {} item(s) to answer", r.number, r.of, r.items.len()),
            ),
            state::RoundState::Skip(why) => log::info("fork", &format!("no follow-up round: {why}")),
        }
        state::write_round(paths, &round)?;
    }
    Ok(())
}

/// Whether a follow-up round runs on the Change's open pull request, and on what: most
/// pull requests in most rounds end here, without a clone.
fn round(
    gh: &dyn CodeHost,
    run: &Run,
    follow_up: &crate::contract::FollowUp,
    push_owner: &str,
    open: Option<&OpenPull>,
) -> Result<state::RoundState, RunError> {
    use crate::run::followup;
    let skip = |why: String| Ok(state::RoundState::Skip(why));
    let started = followup::rfc3339(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    );
    let Some(pull) = open else { return skip("the Change has no open pull request here".into()) };
    if let Some(why) = pull.not_ours(&run.contract) {
        return skip(why);
    }
    let summary = super::merge::read(gh, run, push_owner).map_err(RunError::retryable)?;
    if summary.state == bca_codehost::PullState::Draft
        && !summary.labels.iter().any(|l| l == crate::contract::VERIFY_FAILED_LABEL)
    {
        return skip(format!("{} is a draft", pull.html_url));
    }
    let rounds = pull.marker().and_then(|m| m.follow_up).unwrap_or_default();
    if rounds.used >= follow_up.rounds {
        return skip(format!("all {} follow-up rounds are used", follow_up.rounds));
    }
    let remarks = if follow_up.on.contains(&crate::contract::FollowUpOn::Reviews) {
        gh.remarks(&run.upstream.full_name, pull.number)?
    } else {
        Vec::new()
    };
    let checks = if follow_up.on.contains(&crate::contract::FollowUpOn::Checks) {
        gh.failed_checks(&run.upstream.full_name, &summary.head_sha, pull.number)?
    } else {
        Vec::new()
    };
    let mut items = followup::gather(follow_up, &remarks, &checks, &rounds.answered, &gh.account()?, &started);
    if follow_up.on.contains(&crate::contract::FollowUpOn::Conflicts)
        && summary.mergeable == bca_codehost::Mergeable::Conflicting
    {
        let base = &run.contract.base_branch;
        items.splice(0..0, followup::conflict(base, &summary.head_sha, &pull.html_url, &rounds.answered));
    }
    if items.is_empty() {
        return skip("nothing new since bca's last round".into());
    }
    Ok(state::RoundState::Run(followup::Round {
        number: rounds.used + 1,
        of: follow_up.rounds,
        head: summary.head_sha,
        items,
        answered: rounds.answered,
    }))
}

/// The upstream repository as GitHub describes it, its git URL checked.
fn upstream_repo(gh: &dyn CodeHost, endpoint: &Endpoint, full_name: &str) -> Result<RepoInfo, RunError> {
    let repo = gh.repository(full_name)?.ok_or_else(|| {
        RunError::permanent(format!(
            "repository {full_name} not found, or the token in secret key {SECRET_KEY_GITHUB_TOKEN} has no access to it"
        ))
    })?;
    endpoint.check_git_url(&repo.clone_url)?;
    Ok(repo)
}

fn ensure_fork(
    gh: &dyn CodeHost,
    endpoint: &Endpoint,
    up: &Upstream,
    contract: &RunContract,
) -> Result<ForkState, RunError> {
    let upstream_repo = upstream_repo(gh, endpoint, &up.full_name)?;
    if contract.no_fork {
        accepted_in_repository_ci(contract, "spec.fork is false")?;
        let repo = upstream_repo;
        log::info("fork", &format!("spec.fork is false: pushing the branch to {} itself", up.full_name));
        return Ok(ForkState {
            owner: repo.owner,
            full_name: repo.full_name,
            clone_url: repo.clone_url.clone(),
            upstream_clone_url: repo.clone_url,
        });
    }
    let owner = match &contract.fork_owner {
        Some(org) => org.clone(),
        None => gh.account()?,
    };
    if owner.eq_ignore_ascii_case(&upstream_repo.owner) {
        accepted_in_repository_ci(contract, &format!("the fork owner {owner} owns {}", up.full_name))?;
        log::info("fork", &format!("{owner} owns {} already: pushing there, no fork needed", up.full_name));
        let clone_url = upstream_repo.clone_url.clone();
        return Ok(ForkState {
            owner,
            full_name: up.full_name.clone(),
            clone_url: clone_url.clone(),
            upstream_clone_url: clone_url,
        });
    }
    let fork_name = format!("{owner}/{}", up.repository.name());
    let fork = match gh.repository(&fork_name)? {
        Some(existing) => {
            let parent = existing.parent.as_deref().unwrap_or("");
            if !existing.fork || !parent.eq_ignore_ascii_case(&upstream_repo.full_name) {
                return Err(RunError::permanent(format!(
                    "{fork_name} exists and is not a fork of {}: rename or delete it, or fork into an organisation \
                     (bca render --fork-org ORG)",
                    upstream_repo.full_name
                )));
            }
            log::info("fork", &format!("reusing fork {fork_name}"));
            existing
        }
        None => {
            log::info("fork", &format!("forking {} into {owner}", up.full_name));
            // GitHub names the fork itself (`name-1` when the name is taken): wait for the
            // repository it announced, not the one asked for.
            let announced = gh.create_fork(&up.full_name, contract.fork_owner.as_deref())?;
            wait_for(gh, &announced.full_name)?
        }
    };
    endpoint.check_git_url(&fork.clone_url)?;
    Ok(ForkState {
        owner,
        full_name: fork.full_name,
        clone_url: fork.clone_url,
        upstream_clone_url: upstream_repo.clone_url,
    })
}

/// A branch in the repository itself runs the repository's CI on the agent's code, with
/// its secrets, before review: only when the Change's author accepted that at render time.
fn accepted_in_repository_ci(contract: &RunContract, why: &str) -> Result<(), RunError> {
    if contract.agent_code_in_repository_ci {
        return Ok(());
    }
    Err(RunError::permanent(format!(
        "{why}, so the branch would go to the repository itself, where its CI runs the agent's code with the \
         repository's secrets before review; nothing was pushed. Fork into an account that does not own it \
         (bca render --fork-org), or accept it with bca render --allow-agent-code-in-repository-ci"
    )))
}

/// Whether the agent need not run: the fork step found the work already done, or an open
/// pull request from the branch that is not the Change's (publish leaves it alone). The
/// agent's step is told through the workspace, the only volume it shares with clone.
/// Why the agent need not run, if it need not: the open pull request holds this work or
/// is not the Change's; in a follow-up round, why no round runs.
pub(super) fn unchanged(paths: &Paths, contract: &RunContract) -> Result<Option<String>, RunError> {
    if contract.follow_up.is_some() {
        return Ok(match state::read_round(paths)? {
            state::RoundState::Skip(why) => Some(why),
            state::RoundState::Run(_) => None,
        });
    }
    Ok(state::read_open_pull(paths)?
        .filter(|p| p.holds(contract) || p.not_ours(contract).is_some())
        .map(|p| format!("the agent need not run ({})", p.html_url)))
}

/// GitHub creates forks in the background: poll with a bounded backoff.
fn wait_for(gh: &dyn CodeHost, fork_name: &str) -> Result<RepoInfo, RunError> {
    let mut delay = std::time::Duration::from_millis(500);
    let mut waited = std::time::Duration::ZERO;
    let limit = std::time::Duration::from_secs(300);
    loop {
        if let Some(repo) = gh.repository(fork_name)? {
            log::info("fork", &format!("fork {fork_name} is ready"));
            return Ok(repo);
        }
        if waited >= limit {
            return Err(RunError::retryable(format!(
                "GitHub has not finished creating the fork {fork_name} after {}s",
                waited.as_secs()
            )));
        }
        std::thread::sleep(delay);
        waited += delay;
        delay = (delay * 2).min(std::time::Duration::from_secs(30));
    }
}

//! The four steps of a run. Each starts from the run contract and the files earlier
//! steps left in the state directory, so each can run in its own container.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::git::Git;
use super::github::{api_base, GitHub};
use super::paths::Paths;
use super::secrets::{self, Secret};
use super::{agents, context, log, RunError};
use crate::pod::SECRET_KEY_GITHUB_TOKEN;
use crate::RunContract;

pub fn load_contract(paths: &Paths) -> Result<RunContract, RunError> {
    let json = std::fs::read_to_string(&paths.contract).map_err(|e| {
        RunError::usage(format!(
            "cannot read the run contract at {}: {e} (render the Job with bca, or pass --contract FILE)",
            paths.contract.display()
        ))
    })?;
    RunContract::from_json(&json).map_err(RunError::usage)
}

/// `https://host/owner/name` split up.
struct Upstream<'a> {
    host: &'a str,
    full_name: String,
    name: &'a str,
}

fn upstream(contract: &RunContract) -> Result<Upstream<'_>, RunError> {
    let rest = contract.repository.strip_prefix("https://").unwrap_or(&contract.repository);
    let mut parts = rest.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(host), Some(owner), Some(name)) if !name.contains('/') => {
            Ok(Upstream { host, full_name: format!("{owner}/{name}"), name })
        }
        _ => Err(RunError::usage(format!(
            "the run contract names no repository https://HOST/OWNER/NAME: {}",
            contract.repository
        ))),
    }
}

fn github<'a>(contract: &RunContract, token: &'a Secret) -> Result<GitHub<'a>, RunError> {
    let up = upstream(contract)?;
    Ok(GitHub::new(api_base(up.host, std::env::var("GITHUB_API_URL").ok()), token))
}

/// What the fork step hands to clone and publish.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForkState {
    /// The account the branch is pushed to; the upstream's owner when no fork is needed.
    owner: String,
    full_name: String,
    clone_url: String,
    upstream_clone_url: String,
}

fn write_state(paths: &Paths, state: &ForkState) -> Result<(), RunError> {
    std::fs::create_dir_all(&paths.state)
        .and_then(|()| std::fs::write(paths.fork_file(), serde_json::to_string_pretty(state).expect("serialises")))
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.fork_file().display())))
}

fn read_state(paths: &Paths) -> Result<ForkState, RunError> {
    let text = std::fs::read_to_string(paths.fork_file()).map_err(|e| {
        RunError::usage(format!("cannot read {}: {e}; run the fork step first", paths.fork_file().display()))
    })?;
    serde_json::from_str(&text).map_err(|e| RunError::usage(format!("{} is damaged: {e}", paths.fork_file().display())))
}

/// Makes sure a fork exists (reusing one that does) and waits until GitHub has made it.
pub fn fork(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    let token = secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)?;
    let gh = github(contract, &token)?;
    let up = upstream(contract)?;
    let upstream_repo = gh.repo(&up.full_name)?.ok_or_else(|| {
        RunError::permanent(format!(
            "repository {} not found, or the token in secret key {SECRET_KEY_GITHUB_TOKEN} has no access to it",
            up.full_name
        ))
    })?;
    let owner = match &contract.fork_owner {
        Some(org) => org.clone(),
        None => gh.user()?,
    };
    if owner.eq_ignore_ascii_case(&upstream_repo.owner.login) {
        log::info("fork", &format!("{owner} owns {} already: pushing there, no fork needed", up.full_name));
        let clone_url = upstream_repo.clone_url.clone();
        return write_state(
            paths,
            &ForkState {
                owner,
                full_name: up.full_name.clone(),
                clone_url: clone_url.clone(),
                upstream_clone_url: clone_url,
            },
        );
    }
    let fork_name = format!("{owner}/{}", up.name);
    let fork = match gh.repo(&fork_name)? {
        Some(existing) => {
            let parent = existing.parent.as_ref().map(|p| p.full_name.as_str()).unwrap_or("");
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
            wait_for(&gh, &announced.full_name)?
        }
    };
    write_state(
        paths,
        &ForkState {
            owner,
            full_name: fork.full_name,
            clone_url: fork.clone_url,
            upstream_clone_url: upstream_repo.clone_url,
        },
    )
}

/// GitHub creates forks in the background: poll with a bounded backoff.
fn wait_for(gh: &GitHub, fork_name: &str) -> Result<super::github::Repo, RunError> {
    let mut delay = std::time::Duration::from_millis(500);
    let mut waited = std::time::Duration::ZERO;
    let limit = std::time::Duration::from_secs(300);
    loop {
        if let Some(repo) = gh.repo(fork_name)? {
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

/// Clones the upstream base branch at its current head (shallow), with the fork as the
/// push remote, and keeps a copy of the git config the agent cannot reach.
pub fn clone(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    let token = secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)?;
    let state = read_state(paths)?;
    let git = Git::new(Some(&token))?;
    let repo = paths.repo();
    if repo.exists() {
        // A retried pod reuses its emptyDir: start from a clean clone.
        std::fs::remove_dir_all(&repo).map_err(|e| RunError::usage(format!("cannot clear {}: {e}", repo.display())))?;
    }
    let repo_arg = repo.display().to_string();
    let cloned = git.run(
        None,
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--single-branch",
            "--no-tags",
            "--branch",
            &contract.base_branch,
            "--",
            &state.upstream_clone_url,
            &repo_arg,
        ],
    );
    if let Err(e) = cloned {
        if e.message.contains("not found in upstream") || e.message.contains("Remote branch") {
            return Err(RunError::permanent(format!(
                "the base branch {} does not exist in {}: fix spec.branch in the Change",
                contract.base_branch, contract.repository
            )));
        }
        return Err(e);
    }
    git.run(Some(&repo), &["remote", "add", "fork", "--", &state.clone_url])?;
    std::fs::copy(repo.join(".git/config"), paths.pristine_git_config())
        .map_err(|e| RunError::usage(format!("cannot save the git config to {}: {e}", paths.state.display())))?;
    let head = git.run(Some(&repo), &["rev-parse", "HEAD"])?;
    std::fs::write(paths.base_commit(), head.trim())
        .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.base_commit().display())))?;
    log::info("clone", &format!("cloned {} at {} ({})", contract.repository, contract.base_branch, head.trim()));
    Ok(())
}

/// Fetches the context and runs the agent on the prompt in the clone.
pub fn agent(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    let token = secrets::read(&paths.secrets, contract.agent.secret_key())?;
    let repo = paths.repo();
    if !repo.join(".git").is_dir() {
        return Err(RunError::usage(format!("no clone at {}: run the clone step first", repo.display())));
    }
    let mut prompt = contract.prompt.clone();
    let context_dir = if contract.agentsmd.is_some() || !contract.resources.is_empty() {
        let context = context::fetch(&paths.context(), contract.agentsmd.as_deref(), &contract.resources)?;
        prompt.push_str(&context.prompt_note());
        Some(context.dir)
    } else {
        None
    };
    log::info("agent", &format!("running {} in {}", contract.agent, repo.display()));
    agents::run(contract.agent, &prompt, &repo, context_dir.as_deref(), &token, &contract.agent_settings)?;
    log::info("agent", &format!("{} finished", contract.agent));
    Ok(())
}

/// The result of a run, one JSON line on standard output and in the termination log.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub status: String,
    pub repository: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Commits what the agent changed, pushes it to the fork and opens or updates the pull
/// request. Changes nothing when the agent changed nothing.
pub fn publish(paths: &Paths, contract: &RunContract) -> Result<Outcome, RunError> {
    let token = secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)?;
    let state = read_state(paths)?;
    let repo = paths.repo();
    distrust_agent_git_changes(paths, &repo)?;
    let git = Git::new(Some(&token))?;
    let base = std::fs::read_to_string(paths.base_commit()).map_err(|e| {
        RunError::usage(format!("cannot read {}: {e}; run the clone step first", paths.base_commit().display()))
    })?;
    let status = git.run(Some(&repo), &["status", "--porcelain", "--untracked-files=all"])?;
    if !status.trim().is_empty() {
        log::info("publish", &format!("committing {} changed paths", status.lines().count()));
        git.run(Some(&repo), &["add", "--all"])?;
        git.run(Some(&repo), &["commit", "--quiet", "--no-verify", "-m", &contract.commit_message])?;
    }
    // The agent may have committed its work itself: what counts is where HEAD is now.
    if git.run(Some(&repo), &["rev-parse", "HEAD"])?.trim() == base.trim() {
        log::info("publish", "the agent changed nothing: no branch, no pull request");
        return Ok(Outcome {
            status: "no-changes".into(),
            repository: contract.repository.clone(),
            pull_request: None,
            branch: None,
            commit: None,
        });
    }
    let commit = git.run(Some(&repo), &["rev-parse", "HEAD"])?.trim().to_string();
    let refspec = format!("HEAD:refs/heads/{}", contract.head_branch);
    if let Err(e) = git.run(Some(&repo), &["push", "--quiet", "--force", "fork", &refspec]) {
        // A shallow clone can only be pushed to a fork that has its base commit; a stale
        // fork does not, so fetch the history and push again.
        if !e.message.contains("shallow") {
            return Err(e);
        }
        log::info("publish", "the fork lacks the base commit: fetching history and pushing again");
        git.run(Some(&repo), &["fetch", "--quiet", "--unshallow", "origin", &contract.base_branch])?;
        git.run(Some(&repo), &["push", "--quiet", "--force", "fork", &refspec])?;
    }
    log::info("publish", &format!("pushed {commit} to {}:{}", state.full_name, contract.head_branch));

    let gh = github(contract, &token)?;
    let up = upstream(contract)?;
    let head = format!("{}:{}", state.owner, contract.head_branch);
    let (title, body) = (&contract.pull_request_title, &contract.pull_request_body);
    let (status, pull) = match gh.open_pull(&up.full_name, &head)? {
        Some(open) => ("updated", gh.update_pull(&up.full_name, open.number, title, body)?),
        None => ("opened", gh.create_pull(&up.full_name, &head, &contract.base_branch, title, body)?),
    };
    log::info("publish", &format!("pull request {status}: {}", pull.html_url));
    Ok(Outcome {
        status: status.into(),
        repository: contract.repository.clone(),
        pull_request: Some(pull.html_url),
        branch: Some(contract.head_branch.clone()),
        commit: Some(commit),
    })
}

/// The agent could have written hooks or config (an fsmonitor command, a credential
/// helper) that git would run while the GitHub token is mounted: restore the config the
/// clone step saved and drop the hooks.
fn distrust_agent_git_changes(paths: &Paths, repo: &Path) -> Result<(), RunError> {
    if !repo.join(".git").is_dir() {
        return Err(RunError::usage(format!("no clone at {}: run the clone step first", repo.display())));
    }
    std::fs::copy(paths.pristine_git_config(), repo.join(".git/config"))
        .map_err(|e| RunError::usage(format!("cannot restore the git config from {}: {e}", paths.state.display())))?;
    let hooks = repo.join(".git/hooks");
    if hooks.exists() {
        std::fs::remove_dir_all(&hooks)
            .map_err(|e| RunError::usage(format!("cannot remove {}: {e}", hooks.display())))?;
    }
    Ok(())
}

/// Writes the outcome as one JSON line to standard output and the termination log.
pub fn report(paths: &Paths, outcome: &Outcome) {
    let line = serde_json::to_string(outcome).expect("outcome serialises");
    println!("{line}");
    if let Err(e) = std::fs::write(&paths.termination_log, format!("{line}\n")) {
        log::info("publish", &format!("cannot write {}: {e}", paths.termination_log.display()));
    }
}

//! The five steps of a run. Each starts from the run contract and what earlier steps
//! left in the state and handoff directories, so each can run in its own container.
//! Which step may reach what is `crate::Step`'s table; this module keeps to it. What a
//! step does in depth lives beside it: `collect`, `import` (publish's side of the
//! handoff), `body` (the pull request's text), `verify`, `agents`.

use super::body::{compose, parts_of, sections, summary};
use super::collect::{self, Status};
use super::endpoint::Endpoint;
use super::git::Git;
use super::github::GitHub;
use super::import::{self, Imported};
pub use super::outcome::{report, Outcome};
use super::paths::Paths;
use super::secrets::{self, Secret};
use super::state::{self, ForkState, OpenPull};
use super::transcript::Transcript;
use super::verify::{self, Verification};
use super::{agents, context, log, RunError};
use crate::contract::OnFailure;
use crate::marker;
use crate::pod::SECRET_KEY_GITHUB_TOKEN;
use crate::{Repository, RunContract};

pub fn load_contract(paths: &Paths) -> Result<RunContract, RunError> {
    let json = std::fs::read_to_string(&paths.contract).map_err(|e| {
        RunError::usage(format!(
            "cannot read the run contract at {}: {e} (render the Job with bca, or pass --contract FILE)",
            paths.contract.display()
        ))
    })?;
    let contract = RunContract::from_json(&json).map_err(RunError::usage)?;
    let index = std::env::var(crate::contract::COMPLETION_INDEX_ENV).ok();
    contract.for_index(index.as_deref()).map_err(RunError::usage)
}

/// The contract's repository, split up.
fn upstream(contract: &RunContract) -> Result<Upstream, RunError> {
    let repository = Repository::parse(&contract.repository)
        .map_err(|e| RunError::usage(format!("the run contract's repository: {e}")))?;
    Ok(Upstream { full_name: repository.full_name(), repository })
}

struct Upstream {
    repository: Repository,
    full_name: String,
}

/// The one place the token may go, for this run.
fn endpoint(contract: &RunContract) -> Result<Endpoint, RunError> {
    Endpoint::for_run(contract, std::env::var("GITHUB_API_URL").ok())
}

fn github_token(paths: &Paths) -> Result<Secret, RunError> {
    secrets::read(&paths.secrets, SECRET_KEY_GITHUB_TOKEN)
}

/// Makes sure a fork exists (reusing one that does) and waits until GitHub has made it,
/// then looks up the Change's open pull request: if it already holds this work, the
/// rest of the run confirms it and the agent does not start.
pub fn fork(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    let token = github_token(paths)?;
    let endpoint = endpoint(contract)?;
    let gh = GitHub::new(&endpoint, &token);
    let fork = ensure_fork(&gh, &endpoint, contract)?;
    let up = upstream(contract)?;
    let head = format!("{}:{}", fork.owner, contract.head_branch);
    let open = gh.open_pull(&up.full_name, &head)?.map(|p| OpenPull {
        number: p.number,
        html_url: p.html_url,
        title: p.title,
        body: p.body,
    });
    if let Some(pull) = open.as_ref().filter(|p| p.holds(&contract.work)) {
        log::info(
            "fork",
            &format!(
                "{} already holds this work (fingerprint {}): the agent will not run",
                pull.html_url, contract.work.fingerprint
            ),
        );
    }
    state::write_fork(paths, &fork)?;
    state::write_open_pull(paths, open.as_ref())
}

/// The upstream repository as GitHub describes it, its git URL checked.
fn upstream_repo(gh: &GitHub, endpoint: &Endpoint, full_name: &str) -> Result<super::github::Repo, RunError> {
    let repo = gh.repo(full_name)?.ok_or_else(|| {
        RunError::permanent(format!(
            "repository {full_name} not found, or the token in secret key {SECRET_KEY_GITHUB_TOKEN} has no access to it"
        ))
    })?;
    endpoint.check_git_url(&repo.clone_url)?;
    Ok(repo)
}

fn ensure_fork(gh: &GitHub, endpoint: &Endpoint, contract: &RunContract) -> Result<ForkState, RunError> {
    let up = upstream(contract)?;
    let upstream_repo = upstream_repo(gh, endpoint, &up.full_name)?;
    if contract.no_fork {
        let repo = upstream_repo;
        log::info("fork", &format!("spec.fork is false: pushing the branch to {} itself", up.full_name));
        return Ok(ForkState {
            owner: repo.owner.login,
            full_name: repo.full_name,
            clone_url: repo.clone_url.clone(),
            upstream_clone_url: repo.clone_url,
        });
    }
    let owner = match &contract.fork_owner {
        Some(org) => org.clone(),
        None => gh.user()?,
    };
    if owner.eq_ignore_ascii_case(&upstream_repo.owner.login) {
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

/// Whether the fork step found the work already done. The agent's step is told through
/// the workspace, the only volume it shares with clone.
fn unchanged(paths: &Paths, contract: &RunContract) -> Result<Option<OpenPull>, RunError> {
    Ok(state::read_open_pull(paths)?.filter(|p| p.holds(&contract.work)))
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

/// Clones the upstream base branch at its current head (shallow) into the runner's own
/// git directory, with the fork as the push remote, then gives the agent a work tree
/// with a `.git` of its own, copied from it. Nothing the agent does to its copy
/// reaches the runner's.
pub fn clone(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    let token = github_token(paths)?;
    let fork = state::read_fork(paths)?;
    // A reused workspace (`bca-runner run` twice) must not keep an earlier run's verdict.
    if std::fs::symlink_metadata(paths.skip_agent()).is_ok() {
        std::fs::remove_file(paths.skip_agent())
            .map_err(|e| RunError::usage(format!("cannot clear {}: {e}", paths.skip_agent().display())))?;
    }
    if let Some(pull) = unchanged(paths, contract)? {
        log::info("clone", "nothing to clone: the pull request holds this work");
        return std::fs::create_dir_all(&paths.workspace)
            .and_then(|()| std::fs::write(paths.skip_agent(), format!("{} holds this work\n", pull.html_url)))
            .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.skip_agent().display())));
    }
    let endpoint = endpoint(contract)?;
    // Checked again: the state is the fork step's, but the URLs came from GitHub.
    endpoint.check_git_url(&fork.upstream_clone_url)?;
    endpoint.check_git_url(&fork.clone_url)?;
    let git_dir = paths.git_dir();
    let repo = paths.repo();
    for dir in [&git_dir, &repo] {
        // A retried step on a laptop reuses its directories: start from a clean clone.
        if std::fs::symlink_metadata(dir).is_ok() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| RunError::usage(format!("cannot clear {}: {e}", dir.display())))?;
        }
    }
    let git = Git::with_token(&token, &endpoint.git)?;
    let git_dir_arg = git_dir.display().to_string();
    let cloned = git.run(&[
        "clone",
        "--quiet",
        "--bare",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
        "--branch",
        &contract.base_branch,
        "--",
        &fork.upstream_clone_url,
        &git_dir_arg,
    ]);
    if let Err(e) = cloned {
        if e.message.contains("not found in upstream") || e.message.contains("Remote branch") {
            return Err(RunError::permanent(format!(
                "the base branch {} does not exist in {}: fix spec.branch in the Change",
                contract.base_branch, contract.repository
            )));
        }
        return Err(e);
    }
    let runner_git = Git::with_token(&token, &endpoint.git)?.git_dir(&git_dir);
    runner_git.run(&["remote", "add", "fork", "--", &fork.clone_url])?;
    let head = runner_git.run(&["rev-parse", "HEAD"])?.trim().to_string();
    state::write_base(paths, &head)?;

    // The agent's copy: a local clone of the runner's git directory (no token, no
    // network), then its remote removed so it names nothing of the runner's.
    let repo_arg = repo.display().to_string();
    Git::local().allow_files().run(&[
        "clone",
        "--quiet",
        "--no-local",
        "--branch",
        &contract.base_branch,
        "--",
        &git_dir_arg,
        &repo_arg,
    ])?;
    Git::local().git_dir(&repo.join(".git")).run(&["remote", "remove", "origin"])?;
    log::info("clone", &format!("cloned {} at {} ({head})", contract.repository, contract.base_branch));
    Ok(())
}

/// Fetches the context and runs the agent on the prompt in its work tree.
pub fn agent(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    if std::fs::symlink_metadata(paths.skip_agent()).is_ok() {
        log::info("agent", "the pull request already holds this work: not running the agent");
        return Ok(());
    }
    let token = secrets::read(&paths.secrets, contract.agent.secret_key())?;
    let repo = paths.repo();
    if !std::fs::symlink_metadata(repo.join(".git")).is_ok_and(|m| m.is_dir()) {
        return Err(RunError::usage(format!("no clone at {}: run the clone step first", repo.display())));
    }
    let mut prompt = contract.prompt.clone();
    // The context directory always exists: the agent leaves its summary there.
    let context = context::fetch(&paths.context(), contract.agentsmd.as_deref(), &contract.resources)?;
    prompt.push_str(&context.prompt_note());
    let context_dir = Some(context.dir.clone());
    let attempts = contract.verify.as_ref().map_or(1, |v| v.attempts.max(1));
    let mut this_prompt = prompt.clone();
    for attempt in 1..=attempts {
        log::info(
            "agent",
            &format!("running {} in {} (attempt {attempt} of {attempts})", contract.agent, repo.display()),
        );
        let transcript = agents::run(
            contract.agent,
            &agents::Invocation {
                prompt: &this_prompt,
                repo: &repo,
                context_dir: context_dir.as_deref(),
                quarantine: &paths.quarantine(),
                token: &token,
                settings: &contract.agent_settings,
                deadline: contract.agent_deadline.map(std::time::Duration::from_secs),
            },
        )?;
        log::info("agent", &format!("{} finished", contract.agent));
        let _ =
            std::fs::write(paths.transcript(), serde_json::to_string(&transcript).expect("a transcript serialises"));
        let Some(verify) = &contract.verify else { break };
        let checks = verify::run_checks(verify, &repo)?;
        let failed = checks.iter().find(|c| !c.passed).cloned();
        let done = failed.is_none() || attempt == attempts;
        if done {
            let verification = Verification { passed: failed.is_none(), attempts: attempt, checks, reason: None };
            let json = serde_json::to_string(&verification).expect("a verification serialises");
            std::fs::write(paths.verification(), json)
                .map_err(|e| RunError::usage(format!("cannot write {}: {e}", paths.verification().display())))?;
            log::info(
                "verify",
                &format!("{} after {attempt} attempt(s)", if verification.passed { "passed" } else { "failed" }),
            );
            break;
        }
        let failed = failed.expect("not done, so a check failed");
        log::info("verify", &format!("{} {}: giving the agent another try", failed.command, failed.failure()));
        this_prompt = verify::follow_up(&prompt, &failed);
    }
    // Only this step knows the agent's key: the summary is redacted of it here (collect
    // bounds and defuses it again, as data).
    if let Ok(summary) = super::files::read_text(&context.summary(), 64 * 1024) {
        let _ = std::fs::write(context.summary(), secrets::redact(&summary));
    }
    Ok(())
}

/// Turns the agent's work tree into a verdict and a bundle, holding no token.
pub fn collect(paths: &Paths, contract: &RunContract) -> Result<(), RunError> {
    if unchanged(paths, contract)?.is_some() {
        log::info("collect", "the agent did not run: nothing to collect");
        return Ok(());
    }
    collect::collect(paths, contract.verify.as_ref()).map(|_| ())
}

/// Turns collect's bundle into bca's commits in the runner's own git directory, pushes
/// them to the fork and opens or updates the pull request. Never reads the work tree.
pub fn publish(paths: &Paths, contract: &RunContract) -> Result<Outcome, RunError> {
    // Everything this step trusts is read first, from the state and handoff.
    let token = github_token(paths)?;
    let fork = state::read_fork(paths)?;
    let open = state::read_open_pull(paths)?;
    let endpoint = endpoint(contract)?;
    endpoint.check_git_url(&fork.clone_url)?;
    let gh = GitHub::new(&endpoint, &token);
    let up = upstream(contract)?;
    if let Some(pull) = open.as_ref().filter(|p| p.holds(&contract.work)) {
        return confirm(&gh, &up.full_name, pull, contract);
    }
    let base = state::read_base(paths)?;
    let verdict = collect::read_verdict(paths)?;
    match verdict.status {
        Status::NoChanges => return Ok(nothing_changed(contract, verdict.transcript.as_ref())),
        Status::Refused => {
            let reason = verdict.reason.unwrap_or_else(|| "collect refused the work tree".into());
            return Ok(Outcome::refused(contract, reason));
        }
        Status::Changes => {}
    }
    let git = Git::with_token(&token, &endpoint.git)?.git_dir(&paths.git_dir()).allow_files();
    let (commit, agent_commits) = match import::import(&git, paths, &base, &contract.commit_message)? {
        Imported::Commit { tip, agent_commits } => (tip, agent_commits),
        Imported::NoChanges => return Ok(nothing_changed(contract, verdict.transcript.as_ref())),
        Imported::Refused(reason) => return Ok(Outcome::refused(contract, reason)),
    };
    log::info("publish", &format!("{commit} on {base}, with {agent_commits} commit(s) the agent made"));
    // The Change's checks, as collect read them: they decide draft or nothing, not
    // what is pushed.
    let verification = if contract.verify.is_some() { verdict.verification.as_ref() } else { None };
    if let (Some(v), Some(verify)) = (verification, &contract.verify) {
        if !v.passed && verify.on_failure == OnFailure::Skip {
            let outcome = Outcome { verification: Some(summary(v)), ..Outcome::new("verify-failed", contract) };
            log::info("publish", &format!("verification {}: nothing published (onFailure: skip)", summary(v)));
            return Ok(outcome);
        }
    }
    let previous = open.as_ref().and_then(OpenPull::marker);
    let remote = remote_head(&git, &contract.head_branch)?;
    if let Some(remote) = &remote {
        if previous.as_ref().map(|m| &m.commit) != Some(remote) {
            if let Some(who) = pushed_by_someone_else(&git, &contract.head_branch, remote)? {
                let reason = format!(
                    "{who} pushed {} to {}; bca does not overwrite commits it did not make: merge or close the \
                     pull request, or delete the branch, and bca will run again",
                    &remote[..remote.len().min(12)],
                    contract.head_branch
                );
                log::info("publish", &reason);
                return Ok(Outcome {
                    pull_request: open.map(|p| p.html_url),
                    branch: Some(contract.head_branch.clone()),
                    reason: Some(reason),
                    ..Outcome::new("kept-human-commits", contract)
                });
            }
        }
    }
    push(&git, &commit, remote.as_deref(), contract)?;
    log::info("publish", &format!("pushed {commit} to {}:{}", fork.full_name, contract.head_branch));

    let head = format!("{}:{}", fork.owner, contract.head_branch);
    let changed = previous.as_ref().map(|m| marker::what_changed(&m.parts, &contract.work.parts)).unwrap_or_default();
    let sections = sections(verification, &changed);
    let body = compose(contract, verdict.summary.as_deref(), &sections, &commit);
    let title = &contract.pull_request_title;
    let failed = verification.is_some_and(|v| !v.passed);
    // Looked up again: someone may have opened or closed it while the agent ran.
    let settings = &contract.pull_request;
    let draft = settings.draft || failed;
    let (status, pull) = match gh.open_pull(&up.full_name, &head)? {
        Some(open) => ("updated", gh.update_pull(&up.full_name, open.number, title, &body)?),
        None => ("opened", gh.create_pull(&up.full_name, &head, &contract.base_branch, title, &body, draft)?),
    };
    let mut labels: Vec<&str> = settings.labels.iter().map(String::as_str).collect();
    if failed {
        labels.push(VERIFY_FAILED_LABEL);
    } else if verification.is_some() && status == "updated" {
        gh.remove_label(&up.full_name, pull.number, VERIFY_FAILED_LABEL)?;
    }
    // Labels are kept on every run; reviewers and assignees are asked once, when the
    // pull request opens, so a re-run does not ping anyone again.
    if !labels.is_empty() {
        gh.add_labels(&up.full_name, pull.number, &labels)?;
    }
    let mut warnings = Vec::new();
    if status == "opened" {
        if !settings.reviewers.is_empty() || !settings.team_reviewers.is_empty() {
            let refused =
                gh.request_reviewers(&up.full_name, pull.number, &settings.reviewers, &settings.team_reviewers)?;
            warnings.extend(refused);
        }
        if !settings.assignees.is_empty() {
            gh.add_assignees(&up.full_name, pull.number, &settings.assignees)?;
        }
    }
    for warning in &warnings {
        log::info("publish", &format!("warning: {warning}"));
    }
    log::info("publish", &format!("pull request {status}: {}", pull.html_url));
    Ok(Outcome {
        pull_request: Some(pull.html_url),
        branch: Some(contract.head_branch.clone()),
        commit: Some(commit),
        reason: (!changed.is_empty()).then(|| changed.join("; ")),
        verification: verification.map(summary),
        warnings,
        ..Outcome::new(status, contract)
    })
}

/// No change: the agent had nothing to do, or (its transcript says) every tool call it
/// made failed, which is not the same thing.
fn nothing_changed(contract: &RunContract, transcript: Option<&Transcript>) -> Outcome {
    match transcript.filter(|t| t.blocked()) {
        Some(t) => {
            let first = t.first_error.clone().unwrap_or_else(|| "no error text".into());
            let reason = format!("all {} of the agent's tool calls failed; the first: {first}", t.tool_calls);
            log::info("publish", &format!("agent blocked: {reason}"));
            Outcome { reason: Some(reason), ..Outcome::new("agent-blocked", contract) }
        }
        None => {
            log::info("publish", "the agent changed nothing: no branch, no pull request");
            Outcome::new("no-changes", contract)
        }
    }
}

/// The label of a draft pull request whose change failed the Change's checks.
pub const VERIFY_FAILED_LABEL: &str = "bca:verify-failed";

/// The pull request already holds this work: keep its commits, bring its title and body
/// up to date (a template may have changed), and say so.
fn confirm(gh: &GitHub, upstream: &str, pull: &OpenPull, contract: &RunContract) -> Result<Outcome, RunError> {
    let marker = pull.marker().expect("an open pull request that holds the work has a marker");
    let (summary, sections) = parts_of(&pull.body);
    let body = compose(contract, summary.as_deref(), &sections, &marker.commit);
    if pull.title != contract.pull_request_title || pull.body != body {
        gh.update_pull(upstream, pull.number, &contract.pull_request_title, &body)?;
        log::info("publish", &format!("{}: title and body brought up to date", pull.html_url));
    }
    log::info("publish", &format!("{} already holds this work: unchanged", pull.html_url));
    Ok(Outcome {
        pull_request: Some(pull.html_url.clone()),
        branch: Some(contract.head_branch.clone()),
        commit: Some(marker.commit),
        ..Outcome::new("unchanged", contract)
    })
}

/// The head branch's commit on the fork, if the branch exists.
fn remote_head(git: &Git, branch: &str) -> Result<Option<String>, RunError> {
    let refname = format!("refs/heads/{branch}");
    let out = git.run(&["ls-remote", "fork", &refname])?;
    Ok(out.lines().filter_map(|l| l.split_once('\t')).find(|(_, r)| *r == refname).map(|(id, _)| id.to_string()))
}

/// Who made the branch's tip, unless it was bca (a run whose marker was not written).
fn pushed_by_someone_else(git: &Git, branch: &str, remote: &str) -> Result<Option<String>, RunError> {
    git.run(&["fetch", "--quiet", "--no-tags", "--depth=1", "fork", &format!("+refs/heads/{branch}:refs/bca/remote")])?;
    let who = git.run(&["log", "-1", "--format=%cn <%ce>%x00%an <%ae>", remote])?;
    let (committer, author) = who.trim().split_once('\0').unwrap_or((who.trim(), ""));
    let bca = format!("{} <{}>", super::git::USER_NAME, super::git::USER_EMAIL);
    if committer == bca {
        return Ok(None);
    }
    Ok(Some(if author == committer { author.to_string() } else { format!("{author} (committed by {committer})") }))
}

/// Pushes `commit` to the head branch, only over the tip it was checked against.
fn push(git: &Git, commit: &str, expected: Option<&str>, contract: &RunContract) -> Result<(), RunError> {
    let refspec = format!("{commit}:refs/heads/{}", contract.head_branch);
    let lease = format!("--force-with-lease=refs/heads/{}:{}", contract.head_branch, expected.unwrap_or(""));
    let Err(e) = git.run(&["push", "--quiet", &lease, "fork", &refspec]) else {
        return Ok(());
    };
    if e.message.contains("stale info") {
        return Err(RunError::retryable(format!(
            "someone pushed to {} while the agent ran; the next run will look again: {}",
            contract.head_branch, e.message
        )));
    }
    // A shallow clone can only be pushed to a fork that has its base commit; a stale
    // fork does not, so fetch the history and push again.
    if !e.message.contains("shallow") {
        return Err(e);
    }
    log::info("publish", "the fork lacks the base commit: fetching history and pushing again");
    git.run(&["fetch", "--quiet", "--unshallow", "origin", &contract.base_branch])?;
    git.run(&["push", "--quiet", &lease, "fork", &refspec])?;
    Ok(())
}

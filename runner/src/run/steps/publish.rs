//! The publish step: bca's commits from collect's bundle, the push, the pull request.

use bca_codehost::{CodeHost, Head, NewChangeRequest};

use super::{github_token, Run};
use crate::contract::{OnFailure, VERIFY_FAILED_LABEL};
use crate::marker;
use crate::run::body::{compose, part_of, parts_of, replace_part, sections, summary, summary_block};
use crate::run::collect::{self, Status};
use crate::run::git::Git;
use crate::run::import::{self, Imported};
use crate::run::outcome::{self, RunOutcome, RunStatus};
use crate::run::paths::Paths;
use crate::run::state::{self, OpenPull};
use crate::run::transcript::Transcript;
use crate::run::{log, RunError};
use crate::RunContract;

/// Turns collect's bundle into bca's commits in the runner's own git directory, pushes
/// them to the fork and opens or updates the pull request, then (with `spec.merge`)
/// merges it or has GitHub merge it, as bca's rule allows. Never reads the work tree.
pub fn publish(paths: &Paths, run: &Run) -> Result<RunOutcome, RunError> {
    // Everything this step trusts is read first, from the state and handoff.
    let token = github_token(paths)?;
    let fork = state::read_fork(paths)?;
    let open = state::read_open_pull(paths)?;
    let endpoint = &run.endpoint;
    endpoint.check_git_url(&fork.clone_url)?;
    let host = bca_codehost::connect(endpoint, &token);
    let mut outcome = publish_work(paths, run, host.as_ref(), &fork, open)?;
    if let Some(policy) = &run.contract.merge {
        if matches!(outcome.status, RunStatus::Opened | RunStatus::Updated | RunStatus::Unchanged) {
            let said = super::merge::after_publish(host.as_ref(), run, policy, &fork.owner);
            log::info("publish", &said);
            outcome.merge = Some(said);
        }
    }
    Ok(outcome)
}

fn publish_work(
    paths: &Paths,
    run: &Run,
    gh: &dyn CodeHost,
    fork: &state::ForkState,
    open: Option<OpenPull>,
) -> Result<RunOutcome, RunError> {
    let contract = &run.contract;
    let token = github_token(paths)?;
    let endpoint = &run.endpoint;
    let up = &run.upstream;
    // Never adopt, push over or rewrite what is not the Change's.
    if let Some(why) = open.as_ref().and_then(|p| p.not_ours(contract)) {
        log::info("publish", &format!("left alone: {why}"));
        return Ok(RunOutcome { reason: Some(why), ..RunOutcome::new(RunStatus::ForeignPullRequest, contract) });
    }
    if contract.follow_up.is_some() {
        return publish_round(paths, run, gh, fork, open.as_ref());
    }
    if let Some(pull) = open.as_ref().filter(|p| p.holds(contract)) {
        return confirm(gh, &up.full_name, pull, contract);
    }
    let base = state::read_base(paths)?;
    let verdict = collect::read_verdict(paths)?;
    match verdict.status {
        Status::NoChanges => return Ok(nothing_changed(contract, verdict.transcript.as_ref())),
        Status::Refused => {
            let reason = verdict.reason.unwrap_or_else(|| "collect refused the work tree".into());
            return Ok(outcome::refused(contract, reason));
        }
        Status::Changes => {}
    }
    let git = Git::with_token(&token, &endpoint.git)?.git_dir(&paths.git_dir()).allow_files();
    let (commit, agent_commits) = match import::import(&git, paths, &base, &contract.commit_message)? {
        Imported::Commit { tip, agent_commits } => (tip, agent_commits),
        Imported::NoChanges => return Ok(nothing_changed(contract, verdict.transcript.as_ref())),
        Imported::Refused(reason) => return Ok(outcome::refused(contract, reason)),
    };
    log::info("publish", &format!("{commit} on {base}, with {agent_commits} commit(s) the agent made"));
    // The Change's checks, as collect read them: they decide draft or nothing, not
    // what is pushed.
    let verification = if contract.verify.is_some() { verdict.verification.as_ref() } else { None };
    // In the repository itself a push alone runs its CI: a failed change goes nowhere.
    let in_repository = fork.is_upstream(&up.full_name);
    if let (Some(v), Some(verify)) = (verification, &contract.verify) {
        if !v.passed && (verify.on_failure == OnFailure::Skip || in_repository) {
            let why = if in_repository { "the branch goes to the repository itself" } else { "onFailure: skip" };
            let outcome = RunOutcome {
                verification: Some(summary(v)),
                reason: in_repository.then(|| format!("nothing pushed: {why}, and a draft there would run its CI")),
                ..RunOutcome::new(RunStatus::VerifyFailed, contract)
            };
            log::info("publish", &format!("verification {}: nothing published ({why})", summary(v)));
            return Ok(outcome);
        }
    }
    let previous = open.as_ref().and_then(OpenPull::marker);
    if previous.as_ref().and_then(|m| m.follow_up.as_ref()).is_some_and(|r| r.on_people) {
        let reason = format!(
            "follow-up rounds built {} on commits people pushed; new work starts again from {} and would drop \
             them: merge or close the pull request, or delete the branch, and bca will run again",
            contract.head_branch, contract.base_branch
        );
        return Ok(kept(open, contract, reason));
    }
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
                return Ok(kept(open, contract, reason));
            }
        }
    }
    if open.is_some() {
        // New work must not merge under an auto-merge turned on for the old: GitHub would
        // merge it once its rules hold, with approvals of the old commit where its
        // protection keeps them. bca's rule turns it on again after, where it may.
        super::merge::turn_off_auto_merge(gh, run, &fork.owner)?;
    }
    push(&git, &commit, remote.as_deref(), contract)?;
    log::info("publish", &format!("pushed {commit} to {}:{}", fork.full_name, contract.head_branch));

    let head = Head::new(&fork.owner, &contract.head_branch);
    let changed = previous.as_ref().map(|m| marker::what_changed(&m.parts, &contract.work.parts)).unwrap_or_default();
    let sections = sections(verification, &changed);
    let block = verdict.summary.as_deref().map(summary_block);
    let rounds = previous.as_ref().and_then(|m| m.follow_up.as_ref());
    let part = compose(contract, block.as_deref(), &sections, &commit, rounds);
    let title = &contract.pull_request_title;
    let failed = verification.is_some_and(|v| !v.passed);
    // Looked up again: someone may have opened or closed it while the agent ran.
    let settings = &contract.pull_request;
    let draft = settings.draft || failed;
    let (status, pull) = match gh.open_change_request(&up.full_name, &head)? {
        Some(open) => {
            // What reviewers wrote around bca's part stays.
            let body = replace_part(&open.body, &part);
            (RunStatus::Updated, gh.update_change_request(&up.full_name, open.number, title, &body)?)
        }
        None => {
            let new = NewChangeRequest { head: &head, base: &contract.base_branch, title, body: &part, draft };
            (RunStatus::Opened, gh.create_change_request(&up.full_name, &new)?)
        }
    };
    let mut labels: Vec<&str> = settings.labels.iter().map(String::as_str).collect();
    if failed {
        labels.push(VERIFY_FAILED_LABEL);
    } else if verification.is_some() && status == RunStatus::Updated {
        gh.remove_label(&up.full_name, pull.number, VERIFY_FAILED_LABEL)?;
    }
    // Labels are kept on every run; reviewers and assignees are asked once, when the
    // pull request opens, so a re-run does not ping anyone again.
    if !labels.is_empty() {
        gh.add_labels(&up.full_name, pull.number, &labels)?;
    }
    let mut warnings = Vec::new();
    if status == RunStatus::Opened {
        if !settings.reviewers.is_empty() || !settings.team_reviewers.is_empty() {
            let refused =
                gh.request_reviews(&up.full_name, pull.number, &settings.reviewers, &settings.team_reviewers)?;
            warnings.extend(refused);
        }
        if !settings.assignees.is_empty() {
            gh.add_assignees(&up.full_name, pull.number, &settings.assignees)?;
        }
    }
    for warning in &warnings {
        log::info("publish", &format!("warning: {warning}"));
    }
    log::info("publish", &format!("pull request {}: {}", status.word(), pull.url));
    Ok(RunOutcome {
        pull_request: Some(pull.url),
        branch: Some(contract.head_branch.clone()),
        commit: Some(commit),
        reason: (!changed.is_empty()).then(|| changed.join("; ")),
        verification: verification.map(summary),
        warnings,
        ..RunOutcome::new(status, contract)
    })
}

/// A follow-up round's end: the agent's answer as one commit on top of the pull
/// request's head, pushed only over that head (a branch that moved is left for the next
/// round, never overwritten), the round recorded in the marker, and one reply saying
/// what it answered. A round that did not run says why and writes nothing.
fn publish_round(
    paths: &Paths,
    run: &Run,
    gh: &dyn CodeHost,
    fork: &state::ForkState,
    open: Option<&OpenPull>,
) -> Result<RunOutcome, RunError> {
    let contract = &run.contract;
    let up = &run.upstream;
    let (round, pull) = match (state::read_round(paths)?, open) {
        (state::RoundState::Run(round), Some(pull)) => (round, pull),
        (state::RoundState::Skip(why), _) => {
            return Ok(RunOutcome { reason: Some(why), ..RunOutcome::new(RunStatus::Unchanged, contract) });
        }
        (state::RoundState::Run(_), None) => return Err(RunError::usage("a round without a pull request")),
    };
    let marker = pull.marker().expect("a pull request that is the Change's has a marker");
    let verdict = collect::read_verdict(paths)?;
    let verification = if contract.verify.is_some() { verdict.verification.as_ref() } else { None };
    let failed = verification.is_some_and(|v| !v.passed);
    let in_repository = fork.is_upstream(&up.full_name);
    let mut note = None;
    let mut refusal = None;
    let commit = match verdict.status {
        Status::Refused => {
            refusal = Some(verdict.reason.clone().unwrap_or_else(|| "collect refused it".into()));
            None
        }
        Status::NoChanges => None,
        Status::Changes
            if failed
                && (in_repository || contract.verify.as_ref().is_some_and(|v| v.on_failure == OnFailure::Skip)) =>
        {
            note = Some("its change failed bca's checks: nothing was pushed".to_string());
            None
        }
        Status::Changes => {
            let token = github_token(paths)?;
            let git = Git::with_token(&token, &run.endpoint.git)?.git_dir(&paths.git_dir()).allow_files();
            let base = state::read_base(paths)?;
            match import::import(&git, paths, &base, &contract.commit_message)? {
                Imported::Commit { tip, .. } => {
                    // A conflict round's answer is a merge: its second parent the base
                    // branch's commit that was merged in.
                    let tip = match state::read_merge_parent(paths)? {
                        Some(parent) => {
                            let tree = git.run(&["rev-parse", &format!("{tip}^{{tree}}")])?.trim().to_string();
                            let message = format!(
                                "{}\n\nMerges {} into {}, resolved by the agent.\n",
                                contract.commit_message.trim_end(),
                                contract.base_branch,
                                contract.head_branch
                            );
                            let args = [
                                "commit-tree",
                                tree.as_str(),
                                "-p",
                                round.head.as_str(),
                                "-p",
                                parent.as_str(),
                                "-F",
                                "-",
                            ];
                            git.run_with_input(&args, Some(message.as_bytes()))?.trim().to_string()
                        }
                        None => tip,
                    };
                    let remote = remote_head(&git, &contract.head_branch)?;
                    if remote.as_deref() != Some(round.head.as_str()) {
                        let reason = format!(
                            "{} moved during follow-up round {} (now {}): nothing was pushed; the next round looks \
                             again",
                            contract.head_branch,
                            round.number,
                            remote.as_deref().unwrap_or("deleted")
                        );
                        log::info("publish", &reason);
                        return Ok(RunOutcome {
                            reason: Some(reason),
                            ..RunOutcome::new(RunStatus::Unchanged, contract)
                        });
                    }
                    super::merge::turn_off_auto_merge(gh, run, &fork.owner)?;
                    push(&git, &tip, Some(&round.head), contract)?;
                    log::info("publish", &format!("pushed {tip} on top of {} to {}", round.head, contract.head_branch));
                    Some(tip)
                }
                Imported::NoChanges => None,
                Imported::Refused(reason) => {
                    refusal = Some(reason);
                    None
                }
            }
        }
    };
    // The round is recorded whatever it did, a refusal too: what it answered is not
    // answered again, and a round the agent made refuse still counts against `rounds`.
    let on_people = marker.follow_up.as_ref().is_some_and(|r| r.on_people) || round.head != marker.commit;
    let rounds = round.rounds_after(on_people);
    if let Some(reason) = &refusal {
        note = Some(format!("bca refused its change: {reason}"));
    }
    let (agent_summary, mut kept_sections) = parts_of(&pull.body);
    if let Some(v) = verification {
        kept_sections = sections(Some(v), &[]);
    }
    let head = commit.clone().unwrap_or(marker.commit);
    let part = compose(contract, agent_summary.as_deref(), &kept_sections, &head, Some(&rounds));
    gh.update_change_request(
        &up.full_name,
        pull.number,
        &contract.pull_request_title,
        &replace_part(&pull.body, &part),
    )?;
    if failed && commit.is_some() {
        gh.add_labels(&up.full_name, pull.number, &[VERIFY_FAILED_LABEL])?;
    }
    // The round count where `bca status` reads it, with the labels.
    let label = format!("{}{}", crate::contract::FOLLOW_UP_LABEL_PREFIX, round.number);
    gh.add_labels(&up.full_name, pull.number, &[&label])?;
    if round.number > 1 {
        let before = format!("{}{}", crate::contract::FOLLOW_UP_LABEL_PREFIX, round.number - 1);
        gh.remove_label(&up.full_name, pull.number, &before)?;
    }
    let mut reply = round.reply(commit.is_some());
    if let Some(note) = &note {
        reply.push_str(&format!("\n{note}.\n"));
    }
    gh.comment(&up.full_name, pull.number, &reply)?;
    if let Some(reason) = refusal {
        return Ok(outcome::refused(contract, reason));
    }
    let answered = round.items.len();
    let reason = format!("follow-up round {} of {}: answered {answered}", round.number, round.of);
    log::info("publish", &format!("{}: {reason}", pull.html_url));
    Ok(RunOutcome {
        pull_request: Some(pull.html_url.clone()),
        branch: Some(contract.head_branch.clone()),
        commit: Some(head),
        reason: Some(note.map_or(reason.clone(), |n| format!("{reason}; {n}"))),
        verification: verification.map(summary),
        ..RunOutcome::new(if commit.is_some() { RunStatus::Updated } else { RunStatus::Unchanged }, contract)
    })
}

/// The branch holds commits people made, which new work would drop: nothing is pushed.
fn kept(open: Option<OpenPull>, contract: &RunContract, reason: String) -> RunOutcome {
    log::info("publish", &reason);
    RunOutcome {
        pull_request: open.map(|p| p.html_url),
        branch: Some(contract.head_branch.clone()),
        reason: Some(reason),
        ..RunOutcome::new(RunStatus::KeptHumanCommits, contract)
    }
}

/// No change: the agent had nothing to do, or (its transcript says) every tool call it
/// made failed, which is not the same thing.
fn nothing_changed(contract: &RunContract, transcript: Option<&Transcript>) -> RunOutcome {
    match transcript.filter(|t| t.blocked()) {
        Some(t) => {
            let first = t.first_error.clone().unwrap_or_else(|| "no error text".into());
            let reason = format!("all {} of the agent's tool calls failed; the first: {first}", t.tool_calls);
            log::info("publish", &format!("agent blocked: {reason}"));
            RunOutcome { reason: Some(reason), ..RunOutcome::new(RunStatus::AgentBlocked, contract) }
        }
        None => {
            log::info("publish", "the agent changed nothing: no branch, no pull request");
            RunOutcome::new(RunStatus::NoChanges, contract)
        }
    }
}

/// The pull request already holds this work: keep its commits, bring bca's part of the
/// body and the title up to date when bca's part changed (a template may have), keeping
/// whatever reviewers wrote around it, and say so.
fn confirm(gh: &dyn CodeHost, upstream: &str, pull: &OpenPull, contract: &RunContract) -> Result<RunOutcome, RunError> {
    let marker = pull.marker().expect("an open pull request that holds the work has a marker");
    let (summary, sections) = parts_of(&pull.body);
    let part = compose(contract, summary.as_deref(), &sections, &marker.commit, marker.follow_up.as_ref());
    if part_of(&pull.body).trim_end() != part.trim_end() {
        let body = replace_part(&pull.body, &part);
        gh.update_change_request(upstream, pull.number, &contract.pull_request_title, &body)?;
        log::info("publish", &format!("{}: bca's part of the body brought up to date", pull.html_url));
    }
    log::info("publish", &format!("{} already holds this work: unchanged", pull.html_url));
    Ok(RunOutcome {
        pull_request: Some(pull.html_url.clone()),
        branch: Some(contract.head_branch.clone()),
        commit: Some(marker.commit),
        ..RunOutcome::new(RunStatus::Unchanged, contract)
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
    let bca = format!("{} <{}>", crate::run::git::USER_NAME, crate::run::git::USER_EMAIL);
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

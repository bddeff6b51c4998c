//! The run contract: everything a step needs to know about its run, written by
//! `bca render` into the Job and read by every step the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::Agent;

/// Bumped whenever a field changes meaning or a required field is added, so a runner
/// image never silently misreads a Job rendered by another bca version.
pub const CONTRACT_VERSION: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunContract {
    pub version: u32,
    /// Identifies the change being made (the Change's intent, not its repository list).
    pub change_id: String,
    /// The Change's `metadata.name`: its stable identity across edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_name: Option<String>,
    /// What shapes the agent's work. A run whose open pull request already holds work of
    /// this fingerprint ends as `unchanged` without running the agent.
    pub work: Work,
    /// The upstream repository, `https://HOST/OWNER/NAME`. Empty in the contract of an
    /// Indexed Job, which names its repositories in `repositories` instead.
    pub repository: String,
    /// An Indexed Job's repositories, by completion index: each pod runs the one at its
    /// `JOB_COMPLETION_INDEX`. The rest of the contract is shared, written once per Job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<String>,
    /// Each of `repositories`' base branch, where they differ (selected repositories'
    /// default branches); `base_branch` otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_branches: Vec<String>,
    /// The GitHub Enterprise host the GitHub token belongs to (`bca render --github-host`);
    /// github.com when absent. The runner sends the token to this host only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_host: Option<String>,
    /// The branch the pull request targets.
    pub base_branch: String,
    /// The branch pushed to the fork, the same for every repository of a Change.
    pub head_branch: String,
    pub agent: Agent,
    pub prompt: String,
    /// The pull request's title and body and the commit message, made by `bca render`
    /// from its templates.
    pub pull_request_title: String,
    pub pull_request_body: String,
    pub commit_message: String,
    /// The organisation to fork into; the token's own account when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agentsmd: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Model endpoint settings for the agent (names from `Agent::endpoint_settings`),
    /// for clusters that run the agent against their own model endpoint.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_settings: BTreeMap<String, String>,
    /// The Change's own checks, run after each agent attempt in a container of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// When and how the Change's pull requests are merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
    /// A follow-up round on the Change's open pull request instead of a first run: what
    /// it answers, how many rounds it may use, whose words reach the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    /// Draft, labels, reviewers and assignees of the pull request.
    #[serde(default, skip_serializing_if = "PullRequest::is_empty")]
    pub pull_request: PullRequest,
    /// Push the branch to the repository itself, not to a fork (`spec.fork: false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_fork: bool,
    /// The Change's author accepted (`bca render --allow-agent-code-in-repository-ci`)
    /// that a branch pushed to the repository itself runs the agent's code in that
    /// repository's CI, with its secrets, before anyone reviews it. Without it the runner
    /// pushes only to a fork.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub agent_code_in_repository_ci: bool,
    /// Seconds each pod of the Job may run (its `activeDeadlineSeconds`, counted from
    /// the pod's start). The agent and its checks get what the steps before them left,
    /// less a reserve for collect and publish, so a hung CLI is stopped while there is
    /// still time to report it, in a pod and on a laptop alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_deadline: Option<u64>,
}

/// `spec.pullRequest`, less its title (which is rendered into `pull_request_title`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PullRequest {
    /// Open it as a draft.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draft: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// GitHub users asked for a review, once, when it opens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<String>,
    /// Teams (the slug after `org/`) asked for a review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_reviewers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<String>,
}

impl PullRequest {
    pub fn is_empty(&self) -> bool {
        *self == PullRequest::default()
    }
}

/// `spec.verify`: the repository's own checks, run after the agent, with the agent
/// given the failure and another try, at most `attempts` agent runs in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Verify {
    /// Shell commands (`sh -c`), run in the repository in order: `make test`, `go vet ./...`.
    /// The Change author's text, never the prompt's or the agent's.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub commands: Vec<String>,
    /// Agent runs in all, the first included (default 2).
    #[serde(default = "default_attempts")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 5)))]
    pub attempts: u32,
    /// Seconds each command may take (default 900).
    #[serde(default = "default_timeout")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 86400)))]
    pub timeout: u64,
    /// Globs of the paths the change may touch (`*` within a directory, `**` across
    /// them); a change elsewhere fails verification, naming the paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_paths: Vec<String>,
    /// What a failed verification publishes.
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// What a follow-up round answers on a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum FollowUpOn {
    /// A conflict with the base branch: the base is merged in, the agent resolves it.
    Conflicts,
    /// Reviews, unresolved review comments and pull request comments of trusted authors.
    Reviews,
    /// Check runs that failed on the pull request's head commit.
    Checks,
}

/// `spec.followUp` as a round needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUp {
    /// What to answer (default both).
    pub on: Vec<FollowUpOn>,
    /// The most rounds per pull request (default 3, at most 10).
    pub rounds: u32,
    /// The author associations whose words reach the agent (default OWNER, MEMBER,
    /// COLLABORATOR).
    pub trust: Vec<String>,
}

/// `spec.merge`: when bca merges the Change's pull requests, and how. bca's own rule
/// (`when`) is the floor: no repository's laxer rules make bca merge sooner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Merge {
    /// How the pull request is merged (default squash).
    #[serde(default)]
    pub method: MergeMethod,
    /// What must hold before bca merges (default approved-and-green).
    #[serde(default)]
    pub when: MergeWhen,
    /// Turn on GitHub's auto-merge after publishing, where the repository allows it and
    /// its base branch's protection requires what `when` does (default false).
    #[serde(default)]
    pub auto: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum MergeMethod {
    /// One commit on the base branch.
    #[default]
    Squash,
    /// A merge commit.
    Merge,
    /// The commits replayed on the base branch.
    Rebase,
}

impl MergeMethod {
    pub fn word(self) -> &'static str {
        match self {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum MergeWhen {
    /// Every check and status on the head commit succeeded (at least one, none
    /// pending), a person with write access approved, and nobody with write access
    /// asks for changes.
    #[default]
    ApprovedAndGreen,
    /// Every check and status on the head commit succeeded (at least one, none pending).
    Green,
}

impl MergeWhen {
    pub fn word(self) -> &'static str {
        match self {
            MergeWhen::ApprovedAndGreen => "approved-and-green",
            MergeWhen::Green => "green",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// A draft pull request labelled `bca:verify-failed`, with the failure in its body.
    #[default]
    Draft,
    /// No pull request; the result is `verify-failed`.
    Skip,
}

/// The label of a pull request whose change failed the Change's checks; bca never
/// merges one that has it.
pub const VERIFY_FAILED_LABEL: &str = "bca:verify-failed";

/// The label that says how many follow-up rounds a pull request had (`bca:follow-up-2`),
/// which `bca status` reads with the rest of its batched read.
pub const FOLLOW_UP_LABEL_PREFIX: &str = "bca:follow-up-";

/// The rounds a pull request's labels say it had.
pub fn follow_up_rounds(labels: &[String]) -> Option<u32> {
    labels.iter().filter_map(|l| l.strip_prefix(FOLLOW_UP_LABEL_PREFIX)?.parse().ok()).max()
}

/// How bca's reply to a follow-up round begins (`... round 2 of 3:`).
pub const REPLY_PREFIX: &str = "bca's agent answered, in follow-up round ";

/// What a round's reply says it answered, in a status line's words (`2 review
/// comments, 1 check`), read back from bca's own reply.
pub fn answered_in(reply: &str) -> Option<String> {
    if !reply.starts_with(REPLY_PREFIX) {
        return None;
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for line in reply.lines() {
        let Some(rest) = line.strip_prefix("- [") else { continue };
        if let Some((kind, _)) = rest.split_once(" by ") {
            *counts.entry(kind).or_default() += 1;
        }
    }
    let parts: Vec<String> =
        counts.iter().map(|(kind, n)| if *n == 1 { format!("1 {kind}") } else { format!("{n} {kind}s") }).collect();
    Some(parts.join(", "))
}

pub const DEFAULT_ATTEMPTS: u32 = 2;
pub const DEFAULT_VERIFY_TIMEOUT: u64 = 15 * 60;

fn default_attempts() -> u32 {
    DEFAULT_ATTEMPTS
}

fn default_timeout() -> u64 {
    DEFAULT_VERIFY_TIMEOUT
}

/// The fingerprint of the agent's work and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Work {
    pub fingerprint: String,
    /// `prompt`, `agent`, `context`, `model`, `baseBranch`: hashes or values, so a re-run
    /// can say what changed.
    pub parts: BTreeMap<String, String>,
}

/// Repository URLs as a reviewer reads them: `OWNER/NAME` on github.com.
fn short_list(urls: &[&String]) -> String {
    urls.iter()
        .map(|u| crate::Repository::parse(u).map_or_else(|_| u.to_string(), |r| r.short()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The variable Kubernetes sets in every container of an Indexed Job's pod.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

impl RunContract {
    /// The contract of one repository: this one, or for an Indexed Job the one at
    /// `index` (`JOB_COMPLETION_INDEX`).
    pub fn for_index(mut self, index: Option<&str>) -> Result<RunContract, String> {
        if self.repositories.is_empty() {
            return Ok(self);
        }
        let Some(index) = index else {
            return Err(format!(
                "the run contract lists {} repositories, one per completion index, but {COMPLETION_INDEX_ENV} is not \
                 set: run it as an Indexed Job (or set {COMPLETION_INDEX_ENV})",
                self.repositories.len()
            ));
        };
        let n: usize =
            index.trim().parse().map_err(|_| format!("{COMPLETION_INDEX_ENV} is \"{index}\", not an index"))?;
        let repository = self.repositories.get(n).cloned().ok_or_else(|| {
            format!(
                "{COMPLETION_INDEX_ENV} is {n}, but the run contract lists {} repositories",
                self.repositories.len()
            )
        })?;
        self.repository = repository;
        if let Some(base) = self.base_branches.get(n) {
            self.base_branch = base.clone();
        }
        self.repositories.clear();
        self.base_branches.clear();
        Ok(self)
    }

    /// How the pull request knows its Change: the name, or the change id without one.
    pub fn identity(&self) -> &str {
        self.change_name.as_deref().unwrap_or(&self.change_id)
    }

    /// Pretty JSON: it is read by people reviewing rendered Jobs, so one field a line.
    pub fn to_json(&self) -> String {
        // Serialising a struct of strings cannot fail.
        serde_json::to_string_pretty(self).expect("run contract serialises")
    }

    /// What differs between this contract and `newer`, one reason a field, in a
    /// reviewer's words. Every field is compared, so a field added to the contract is
    /// never a silent difference. What shapes the agent's work is said through the
    /// fingerprint's parts (the prompt, the agent, the context, the model, the checks);
    /// the fields those parts come from are not named twice.
    pub fn differences(&self, newer: &RunContract) -> Vec<String> {
        let mut reasons = crate::marker::what_changed(&self.work.parts, &newer.work.parts);
        let (old, new) = (self.fields(), newer.fields());
        let show = |v: Option<&serde_json::Value>| match v {
            None | Some(serde_json::Value::Null) => "none".to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        for key in old.keys().chain(new.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (a, b) = (old.get(key), new.get(key));
            if a == b {
                continue;
            }
            let reason = match key.as_str() {
                // Said by the fingerprint's parts above.
                "work" | "prompt" | "agent" | "agentsmd" | "resources" | "agentSettings" | "verify" | "baseBranch" => {
                    continue
                }
                "version" => format!("the run contract's version {} → {} (another bca version)", show(a), show(b)),
                // The id follows what the Change changes (said above), and an unnamed
                // Change's branch follows its id (bca/<id>): consequences, not news.
                "changeId" if self.work != newer.work || self.change_name.is_some() => continue,
                "changeId" => "the Change's id changed".to_string(),
                "headBranch" if self.change_name != newer.change_name || self.change_id != newer.change_id => continue,
                "changeName" => format!("the Change's name {} → {}: a new branch and pull request", show(a), show(b)),
                "headBranch" => format!("the branch {} → {}", show(a), show(b)),
                "repository" => format!("the repository's URL {} → {}", show(a), show(b)),
                "repositories" => {
                    let list = |c: &RunContract| c.repositories.clone();
                    let (before, after) = (list(self), list(newer));
                    let added: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
                    let removed: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
                    let mut parts = Vec::new();
                    if !added.is_empty() {
                        parts.push(format!("{} added", short_list(&added)));
                    }
                    if !removed.is_empty() {
                        parts.push(format!("{} removed", short_list(&removed)));
                    }
                    if parts.is_empty() {
                        "the order of the repositories changed".to_string()
                    } else {
                        parts.join(", ")
                    }
                }
                "githubHost" => format!("the GitHub host {} → {}", show(a), show(b)),
                "forkOwner" => format!("the fork owner {} → {}", show(a), show(b)),
                "noFork" => format!("pushing to the repository itself {} → {}", show(a), show(b)),
                "agentCodeInRepositoryCi" => {
                    format!("the agent's code accepted in the repositories' CI {} → {}", show(a), show(b))
                }
                "podDeadline" => format!("deadline {} → {}", show(a), show(b)),
                "pullRequest" => {
                    "the pull request's settings (draft, labels, reviewers, assignees) changed".to_string()
                }
                "pullRequestTitle" | "pullRequestBody" | "commitMessage" => {
                    // The texts quote the Change: only a change of their own is news.
                    if self.work != newer.work || self.change_name != newer.change_name {
                        continue;
                    }
                    "the pull request or commit texts changed".to_string()
                }
                other => format!("{other} {} → {}", show(a), show(b)),
            };
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        reasons
    }

    fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// Parses the contract and refuses one written for another contract version.
    pub fn from_json(json: &str) -> Result<RunContract, String> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let versioned: Versioned = serde_json::from_str(json)
            .map_err(|e| format!("the run contract is not valid JSON with a version: {e}"))?;
        if versioned.version != CONTRACT_VERSION {
            return Err(format!(
                "the run contract has version {}, this runner reads version {CONTRACT_VERSION}: \
                 render the Job with the bca release that matches the runner image",
                versioned.version
            ));
        }
        serde_json::from_str(json).map_err(|e| format!("the run contract is invalid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunContract {
        RunContract {
            version: CONTRACT_VERSION,
            change_id: "0123456789".into(),
            change_name: None,
            work: Work { fingerprint: "f".into(), parts: BTreeMap::new() },
            repository: "https://github.com/acme/api".into(),
            repositories: vec![],
            base_branches: vec![],
            github_host: None,
            base_branch: "main".into(),
            head_branch: "bca/0123456789".into(),
            agent: Agent::GeminiCli,
            prompt: "say \"hi\" $(x) `y`\n✓".into(),
            pull_request_title: "say hi".into(),
            pull_request_body: "body".into(),
            commit_message: "say hi\n".into(),
            fork_owner: None,
            agentsmd: None,
            resources: vec![],
            agent_settings: BTreeMap::new(),
            verify: None,
            merge: None,
            follow_up: None,
            pull_request: Default::default(),
            no_fork: false,
            agent_code_in_repository_ci: false,
            pod_deadline: None,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let c = sample();
        assert_eq!(RunContract::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn refuses_another_version() {
        let json = sample().to_json().replace("\"version\": 4", "\"version\": 5");
        let err = RunContract::from_json(&json).unwrap_err();
        assert!(err.contains("version 5, this runner reads version 4"), "{err}");
    }

    #[test]
    fn an_indexed_contract_gives_the_repository_of_the_index() {
        let mut c = sample();
        c.repository = String::new();
        c.repositories = vec!["https://github.com/acme/a".into(), "https://github.com/acme/b".into()];
        assert_eq!(c.clone().for_index(Some("1")).unwrap().repository, "https://github.com/acme/b");
        assert!(c.clone().for_index(Some("2")).unwrap_err().contains("is 2, but the run contract lists 2"));
        assert!(c.clone().for_index(None).unwrap_err().contains("JOB_COMPLETION_INDEX is not set"));
        assert_eq!(sample().for_index(None).unwrap(), sample());
    }

    #[test]
    fn every_field_that_differs_has_a_reason() {
        let a = sample();
        assert_eq!(a.differences(&a), Vec::<String>::new());
        let mut b = sample();
        b.fork_owner = Some("platform".into());
        b.pod_deadline = Some(600);
        b.pull_request.draft = true;
        b.work.parts.insert("prompt".into(), "x".into());
        assert_eq!(
            a.differences(&b),
            [
                "the prompt changed",
                "the fork owner none → platform",
                "deadline none → 600",
                "the pull request's settings (draft, labels, reviewers, assignees) changed"
            ]
        );
    }

    #[test]
    fn refuses_unknown_fields() {
        let json = sample().to_json().replacen('{', "{\"extra\": 1,", 1);
        let err = RunContract::from_json(&json).unwrap_err();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }
}

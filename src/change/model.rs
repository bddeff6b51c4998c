//! The Change file as types. `schemars` turns these into `schema/change.schema.json`;
//! the decoder (`decode.rs`) fills them from YAML with located errors.

pub use bca_runner::contract::{FollowUpOn, Merge, MergeMethod, MergeWhen, OnFailure, Verify};
use bca_runner::Agent;
use schemars::JsonSchema;
use serde::Serialize;

use super::values::{BranchName, ChangeName, HttpUrl, ImageRef, Quantity, RepoUrl};

/// A change to make with a coding agent across many repositories, one pull request each.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "bca Change")]
pub struct Change {
    /// Always `Change`.
    pub kind: ChangeKind,
    /// Always `v1`.
    pub api_version: ApiVersion,
    /// The Change's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// What to change, where, and with which agent.
    pub spec: Spec,
}

/// The Change's identity.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The Change's stable name: its pull requests' branch is `bca/<name>`, so editing
    /// the prompt updates the same pull requests instead of opening new ones. Without a
    /// name, the Change is known by a hash of its prompt, agent, branch and context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ChangeName>,
}

impl Spec {
    /// The base branch of `repo`'s pull request: `branch` when the file names it, else
    /// the repository's default branch from the lockfile, else `main`.
    pub fn base_branch_of(&self, repo: &RepoUrl) -> &str {
        if self.branch_given {
            return self.branch.as_str();
        }
        self.default_branches.get(&repo.canonical()).map_or(self.branch.as_str(), String::as_str)
    }
}

impl Change {
    /// The Change's name, if it has one.
    pub fn name(&self) -> Option<&ChangeName> {
        self.metadata.as_ref().and_then(|m| m.name.as_ref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ApiVersion {
    #[serde(rename = "v1")]
    V1,
}

// `const` rather than a one-value enum, so editors offer the value as the completion.
crate::change::values::string_schema!(ChangeKind, { "type": "string", "const": "Change" });
crate::change::values::string_schema!(ApiVersion, { "type": "string", "const": "v1" });

/// What to change, where, and with which agent.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{ "required": ["repos"] }, { "required": ["select"] }]))]
pub struct Spec {
    /// What the agent should do, in plain language; passed to the agent as one argument.
    #[schemars(length(min = 1))]
    pub prompt: String,
    /// Repositories to change, `https://HOST/OWNER/NAME`; each gets a Job and a pull request.
    /// With `select`, the repositories its lockfile holds are added at load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub repos: Vec<RepoUrl>,
    /// Repositories chosen by owner, topic, language, search or file: `bca resolve`
    /// writes them into a lockfile beside the Change, which every other command reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
    /// The coding agent CLI that makes the change.
    pub agent: Agent,
    /// The base branch the pull requests target. Null means the default, as in the
    /// original tool: `main`, or with `select` each repository's default branch.
    #[serde(default)]
    #[schemars(extend("type" = ["string", "null"]))]
    pub branch: BranchName,
    /// Whether the file names `branch`: without it, a selected repository's pull request
    /// targets its default branch (from the lockfile), any other `main`.
    #[serde(skip)]
    #[schemars(skip)]
    pub branch_given: bool,
    /// Each selected repository's default branch, by its canonical URL, from the lockfile.
    #[serde(skip)]
    #[schemars(skip)]
    pub default_branches: std::collections::BTreeMap<String, String>,
    /// URL of an instructions file (such as AGENTS.md) the agent is given.
    #[serde(default)]
    pub agentsmd: Option<HttpUrl>,
    /// URLs of extra context files the agent is given.
    #[serde(default)]
    pub resources: Vec<HttpUrl>,
    /// The agent's image (a toolchain for the agent and the checks; it needs bca-runner
    /// and the agent CLI, as the runner image has). It runs the agent's and the checks'
    /// steps only: the steps that hold the GitHub token always run the runner image
    /// chosen at render time. By default those steps run the runner image too.
    #[serde(default)]
    pub image: Option<ImageRef>,
    /// What this Change needs of its pods. `bca render` flags override these; both
    /// default to what suits an agent editing one repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobSpec>,
    /// How fast the Change rolls out across its repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// The repository's own checks, run after the agent; a failure goes back to the
    /// agent for another try, and what still fails is published as a draft (or not at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// The pull request's title, draft state, labels, reviewers and assignees.
    #[serde(default, rename = "pullRequest", skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestSpec>,
    /// Follow-up rounds: on a schedule, the agent answers trusted review comments and
    /// failing checks on its open pull requests, one commit on top each round.
    #[serde(default, rename = "followUp", skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpSpec>,
    /// When and how bca merges the pull requests: after publishing (when `when` already
    /// holds, or with `auto` by turning on GitHub's auto-merge) and by `bca merge`. bca
    /// merges only when `when` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
    /// Push the branch to a fork (the default) or, with `false`, to the repository itself
    /// (the token then needs write access there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<bool>,
}

/// `spec.followUp`: rendered as a CronJob per Change (per shard when paced).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FollowUpSpec {
    /// What to answer: `conflicts` (with the base branch, merged in for the agent to
    /// resolve), `reviews` (reviews, unresolved review comments and comments of trusted
    /// authors) and `checks` (check runs that failed on the head commit); default all.
    #[schemars(length(min = 1))]
    pub on: Vec<FollowUpOn>,
    /// The most rounds per pull request (default 3, at most 10).
    #[schemars(range(min = 1, max = 10))]
    pub rounds: u32,
    /// When rounds run: a cron expression of five fields (default every 30 minutes).
    pub schedule: String,
    /// Whose words reach the agent: GitHub author associations (default OWNER, MEMBER,
    /// COLLABORATOR).
    #[schemars(length(min = 1))]
    pub trust: Vec<String>,
}

/// The author associations GitHub gives, most trusted first.
pub const ASSOCIATIONS: [&str; 8] =
    ["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"];
pub const DEFAULT_TRUST: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];
pub const DEFAULT_SCHEDULE: &str = "*/30 * * * *";
pub const DEFAULT_ROUNDS: u32 = 3;

/// `spec.select`: which repositories, resolved by `bca resolve` into a lockfile.
/// `owners` or `search` say where to look; the rest narrow it down.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Select {
    /// Organisations or users whose repositories are candidates (all their repositories,
    /// listed without the search API's limit of 1,000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    /// A GitHub repository search query (`language:go topic:backend`); with `owners`,
    /// searched within them. GitHub answers at most 1,000 repositories a query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Topics a repository must all have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// Primary languages, any of, as GitHub names them (`Go`, `TypeScript`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Paths that must all exist on the default branch (`go.mod`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has_files: Vec<String>,
    /// Globs on `OWNER/NAME` to leave out (`acme/legacy-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Include archived repositories (default false).
    #[serde(default)]
    pub archived: bool,
    /// Include forks (default false).
    #[serde(default)]
    pub forks: bool,
    /// Include repositories whose owners opted out with a `.bca/ignore` file on their
    /// default branch (default false): for a campaign that must reach everyone.
    #[serde(default)]
    pub include_opted_out: bool,
    /// The lockfile's path, relative to the Change file (default: the Change file's
    /// name with `.lock.yaml`, beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockfile: Option<String>,
    /// Where `select` is in the file, for errors about its lockfile.
    #[serde(skip)]
    #[schemars(skip)]
    pub at: super::diagnostic::Span,
}

/// `spec.pullRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PullRequestSpec {
    /// The title; by default the prompt's first line, without Markdown heading or list marks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Draft, labels, reviewers and assignees, as the run contract carries them.
    #[serde(flatten)]
    pub settings: bca_runner::contract::PullRequest,
}

/// Pacing: through Kueue, or with Indexed Jobs, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rollout {
    /// The Kueue LocalQueue the Jobs are admitted through (label
    /// `kueue.x-k8s.io/queue-name`): at most as many run at once as its ClusterQueue allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<ChangeName>,
    /// At most this many of the Change's agents run at once, with no controller beyond
    /// Kubernetes: the repositories are spread over this many Indexed Jobs, each running
    /// its repositories one after another. Also what scales a Change to thousands of
    /// repositories (one Job per repository does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = MAX_PARALLELISM))]
    pub parallelism: Option<u32>,
}

/// Resources and lifetimes of the Change's Jobs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    /// CPU request of each container (e.g. 500m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<Quantity>,
    /// CPU limit of each container (e.g. 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<Quantity>,
    /// Memory request of each container (e.g. 1Gi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<Quantity>,
    /// Memory limit of each container (e.g. 4Gi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<Quantity>,
    /// Size limit of the volumes that hold the repository (e.g. 10Gi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_size: Option<Quantity>,
    /// Seconds a Job may run before Kubernetes stops it (activeDeadlineSeconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60))]
    pub deadline: Option<i64>,
    /// Seconds after which a finished Job is deleted (ttlSecondsAfterFinished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub ttl: Option<i32>,
}

/// Every mapping of a Change file with its fields, in the order docs/change-file.md lists them:
/// the one list of field names. The decoder refuses any other key; tests keep each list
/// equal to the schema's properties (which the types above give) and to docs/change-file.md.
pub const FIELDS: [(&str, &[&str]); 10] = [
    ("", &["kind", "apiVersion", "metadata", "spec"]),
    ("metadata", &["name"]),
    (
        "spec",
        &[
            "prompt",
            "repos",
            "select",
            "agent",
            "branch",
            "agentsmd",
            "resources",
            "image",
            "job",
            "rollout",
            "verify",
            "pullRequest",
            "followUp",
            "merge",
            "fork",
        ],
    ),
    ("spec.job", &["cpuRequest", "cpuLimit", "memoryRequest", "memoryLimit", "workspaceSize", "deadline", "ttl"]),
    ("spec.rollout", &["queue", "parallelism"]),
    ("spec.verify", &["commands", "attempts", "timeout", "allowedPaths", "onFailure"]),
    ("spec.pullRequest", &["title", "draft", "labels", "reviewers", "teamReviewers", "assignees"]),
    ("spec.merge", &["method", "when", "auto"]),
    ("spec.followUp", &["on", "rounds", "schedule", "trust"]),
    (
        "spec.select",
        &[
            "owners",
            "search",
            "topics",
            "languages",
            "hasFiles",
            "exclude",
            "archived",
            "forks",
            "includeOptedOut",
            "lockfile",
        ],
    ),
];

/// The fields of the mapping at `path` (`""` for the top level, `spec.job`, ...).
pub fn fields_of(path: &str) -> &'static [&'static str] {
    FIELDS.iter().find(|(p, _)| *p == path).map(|(_, fields)| *fields).expect("every mapping is in FIELDS")
}

/// The most Indexed Jobs one Change renders (`spec.rollout.parallelism`).
pub const MAX_PARALLELISM: u32 = 1000;

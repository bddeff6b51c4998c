//! What bca asks of a code host, behind one trait. The runner's steps and the CLI's
//! `status` and `close` hold a `&dyn CodeHost` and never learn which host answers;
//! GitHub (and GitHub Enterprise) implements it now.
//!
//! Beside the trait live the things every caller of a host needs and must get right the
//! same way: where a token may go ([`endpoint`]), the token itself and its redaction
//! ([`secret`]), and how a repository is named ([`repository`]).

pub mod endpoint;
pub mod error;
pub mod github;
pub mod repository;
pub mod secret;

pub use endpoint::Endpoint;
pub use error::{ErrorKind, HostError};
pub use repository::Repository;
pub use secret::Secret;

use serde::Serialize;

/// Where a change request comes from: a branch in the repository of `owner` (a fork,
/// or the upstream itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub owner: String,
    pub branch: String,
}

impl Head {
    pub fn new(owner: impl Into<String>, branch: impl Into<String>) -> Head {
        Head { owner: owner.into(), branch: branch.into() }
    }

    /// Whether a change request's head is exactly this one (owners compared as the host
    /// does, ignoring case; the branch exactly, never as a prefix).
    pub fn is(&self, owner: &str, branch: &str) -> bool {
        self.owner.eq_ignore_ascii_case(owner) && self.branch == branch
    }
}

/// `owner:branch`, as GitHub's API takes a head.
impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.owner, self.branch)
    }
}

/// A repository as the host describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// `OWNER/NAME`, as the host spells it now (after a rename, the new name).
    pub full_name: String,
    pub owner: String,
    pub clone_url: String,
    pub fork: bool,
    /// The repository this one is a fork of (`OWNER/NAME`).
    pub parent: Option<String>,
}

/// An open change request, as the runner updates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    pub number: u64,
    pub url: String,
    pub title: String,
    pub body: String,
    /// Who opened it.
    pub author: String,
}

/// What opening a change request takes.
#[derive(Debug, Clone)]
pub struct NewChangeRequest<'a> {
    pub head: &'a Head,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub draft: bool,
}

/// A change request as bca checks it before acting on it: where it comes from, who
/// opened it, what its description says (bca's marker), and its head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequestDetail {
    pub number: u64,
    pub url: String,
    pub state: PullState,
    pub head: Head,
    pub head_sha: String,
    /// The account that opened it.
    pub author: String,
    pub body: String,
}

/// An open change request a search found by its branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundChangeRequest {
    /// `OWNER/NAME` of the repository it targets.
    pub full_name: String,
    pub number: u64,
    pub url: String,
}

/// A change request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullState {
    Open,
    Draft,
    Merged,
    Closed,
}

/// The checks and commit statuses of a head commit, together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checks {
    Success,
    Failure,
    Pending,
    None,
}

/// What the reviews say: the latest opinion of each reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Review {
    Approved,
    ChangesRequested,
    /// Nobody approved yet, and someone is asked.
    ReviewRequired,
    /// Nobody approved yet, and nobody is asked.
    NoReviewer,
    None,
}

impl PullState {
    pub fn word(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Draft => "draft",
            PullState::Merged => "merged",
            PullState::Closed => "closed",
        }
    }
}

impl Checks {
    pub fn word(self) -> &'static str {
        match self {
            Checks::Success => "success",
            Checks::Failure => "failure",
            Checks::Pending => "pending",
            Checks::None => "none",
        }
    }
}

impl Review {
    pub fn word(self) -> &'static str {
        match self {
            Review::Approved => "approved",
            Review::ChangesRequested => "changes-requested",
            Review::ReviewRequired => "review-required",
            Review::NoReviewer => "no-reviewer",
            Review::None => "none",
        }
    }
}

/// One change request of a batched read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSummary {
    /// The host's id for it, which its mutations take.
    pub id: String,
    pub number: u64,
    pub url: String,
    pub state: PullState,
    /// The head commit.
    pub head_sha: String,
    pub checks: Checks,
    /// Reported for merged and closed change requests too: who approved what was
    /// merged matters for an audit. Only people who can push to the repository count.
    pub review: Review,
    /// Whether such a person approved the head commit itself (an approval of an
    /// earlier commit does not cover what was pushed since).
    pub approved_at_head: bool,
    /// Its labels.
    pub labels: Vec<String>,
    /// The newest of its last comments the token's own account wrote, if any.
    pub own_last_comment: Option<String>,
    pub mergeable: Mergeable,
    /// What the host says of merging it now (GitHub's `mergeStateStatus`).
    pub merge_state: MergeState,
    /// Whether the host will merge it by itself once its rules are met.
    pub auto_merge: bool,
    /// Whether its base branch merges through a merge queue, and whether it is in it.
    pub merge_queue: bool,
    pub queued: bool,
    /// What the base branch's protection requires, when the host shows it.
    pub protection: Protection,
    /// Whether the repository allows auto-merge at all.
    pub auto_merge_allowed: bool,
}

/// What a base branch's protection requires before the host merges anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    /// Approving reviews (from people who can push), 0 for none.
    pub approvals: u32,
    /// Successful status checks.
    pub checks: bool,
    /// Whether a push dismisses the approvals given before it.
    pub dismisses_stale_reviews: bool,
}

/// What the host says of merging a change request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeState {
    /// Nothing stands in the way.
    Clean,
    /// Mergeable, with checks that did not pass but are not required.
    Unstable,
    /// Mergeable, and the host runs hooks when it is merged.
    HasHooks,
    /// The base branch's rules are not met (reviews, required checks).
    Blocked,
    /// The head is behind the base, which the base branch's rules do not allow.
    Behind,
    /// It conflicts with the base.
    Dirty,
    Draft,
    /// The host is still computing it.
    Unknown,
}

/// Whether a change request can be merged as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mergeable {
    Mergeable,
    Conflicting,
    /// The host is still computing it.
    Unknown,
}

/// What the host says of one repository in a batched read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoRead {
    /// The repository answered: its change request from the head (the open one, else the
    /// newest), if any.
    Found { archived: bool, pull: Option<PullSummary> },
    /// The host does not know the repository, or the token may not read it.
    Missing,
    /// The host answered the repository under another name.
    Renamed { to: String },
    /// The host could not answer for this repository, even alone (the reason is the
    /// host's own words).
    Unreadable { why: String },
}

/// One repository and the head its change request comes from.
#[derive(Debug, Clone)]
pub struct PullQuery {
    pub repository: Repository,
    pub head: Head,
}

/// A repository as an owner's listing or a search shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRepository {
    /// `OWNER/NAME`.
    pub full_name: String,
    pub archived: bool,
    pub fork: bool,
    pub topics: Vec<String>,
    /// The primary language, as the host names it.
    pub language: Option<String>,
}

/// What a repository search answered: at most 1,000 repositories; `total` is how many
/// matched, and `incomplete` says the host gave up before finding them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Searched {
    pub repositories: Vec<ListedRepository>,
    pub total: u64,
    pub incomplete: bool,
}

/// What a repository's default branch holds of the paths asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesRead {
    /// `present` answers the paths in the order asked.
    Found {
        default_branch: String,
        commit: String,
        present: Vec<bool>,
    },
    /// The host does not know the repository, or the token may not read it.
    Missing,
    /// An empty repository: no default branch to look in.
    Empty,
    Unreadable {
        why: String,
    },
}

/// What was said on a change request, as the host shows it: untrusted words, which a
/// follow-up round filters by who wrote them and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remark {
    /// `review:ID`, `review-comment:ID` or `comment:ID`: stable, to answer it once.
    pub id: String,
    pub kind: RemarkKind,
    pub author: String,
    /// The host's word for the author's relation to the repository (`OWNER`, `MEMBER`,
    /// `COLLABORATOR`, `CONTRIBUTOR`, `FIRST_TIME_CONTRIBUTOR`, `NONE`, ...).
    pub association: String,
    pub url: String,
    pub body: String,
    /// When it was written, and last edited (RFC 3339, UTC).
    pub created_at: String,
    pub edited_at: Option<String>,
    /// A review comment's file and line.
    pub path: Option<String>,
    pub line: Option<u64>,
    /// A review comment whose thread is resolved.
    pub resolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemarkKind {
    /// A review's own text.
    Review,
    /// A comment on a line of the change.
    ReviewComment,
    /// A comment on the change request as a whole.
    Comment,
}

/// A check run that failed on a commit: what its output says, written by the
/// repository's CI (which ran the agent's code): untrusted data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCheck {
    /// `check:ID`.
    pub id: String,
    pub name: String,
    pub conclusion: String,
    pub url: String,
    pub title: String,
    pub summary: String,
    pub text: String,
    /// `path:line: message`, at most 50.
    pub annotations: Vec<String>,
}

/// What a client's requests cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// HTTP requests sent, REST and GraphQL.
    pub requests: u64,
    /// GraphQL points the host charged (GitHub's `rateLimit.cost`, 5,000 an hour for a
    /// token, a budget apart from REST's 5,000 requests).
    pub graphql_points: u64,
}

/// What bca asks of a code host, named by what it means to bca.
pub trait CodeHost {
    /// The account the token belongs to.
    fn account(&self) -> Result<String, HostError>;
    /// A repository (`OWNER/NAME`), or `None` when the host does not know it.
    fn repository(&self, full_name: &str) -> Result<Option<RepoInfo>, HostError>;
    /// Asks for a fork of `upstream` into `organization` (the token's account when
    /// `None`); the host may create it in the background.
    fn create_fork(&self, upstream: &str, organization: Option<&str>) -> Result<RepoInfo, HostError>;
    /// The open change request from `head` into `upstream`, if any.
    fn open_change_request(&self, upstream: &str, head: &Head) -> Result<Option<ChangeRequest>, HostError>;
    fn create_change_request(&self, upstream: &str, new: &NewChangeRequest) -> Result<ChangeRequest, HostError>;
    fn update_change_request(
        &self,
        upstream: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<ChangeRequest, HostError>;
    /// Adds labels (the host creates labels that do not exist yet).
    fn add_labels(&self, upstream: &str, number: u64, labels: &[&str]) -> Result<(), HostError>;
    /// Removes a label; one the change request does not have is no error.
    fn remove_label(&self, upstream: &str, number: u64, label: &str) -> Result<(), HostError>;
    /// Asks people and teams for reviews. A refusal the change request can live with
    /// comes back as a warning.
    fn request_reviews(
        &self,
        upstream: &str,
        number: u64,
        people: &[String],
        teams: &[String],
    ) -> Result<Option<String>, HostError>;
    fn add_assignees(&self, upstream: &str, number: u64, assignees: &[String]) -> Result<(), HostError>;
    fn comment(&self, upstream: &str, number: u64, body: &str) -> Result<(), HostError>;
    fn close_change_request(&self, upstream: &str, number: u64) -> Result<(), HostError>;
    /// One change request in full, or `None` when the host does not know it.
    fn change_request(&self, upstream: &str, number: u64) -> Result<Option<ChangeRequestDetail>, HostError>;
    /// Deletes a branch of `repository`; one that is gone already is no error.
    fn delete_branch(&self, repository: &str, branch: &str) -> Result<(), HostError>;
    /// Open change requests from a branch named `branch`, in repositories of `owner`.
    fn find_open_change_requests(&self, owner: &str, branch: &str) -> Result<Vec<FoundChangeRequest>, HostError>;
    /// Reads many repositories' change requests at once, in the queries' order; what
    /// went wrong with one repository is its row, never the end of the read.
    /// Merges the change request, but only while its head is still `head_sha` (a push
    /// after bca's check makes the host refuse). `method`: `merge`, `squash` or `rebase`.
    fn merge_change_request(&self, upstream: &str, number: u64, head_sha: &str, method: &str) -> Result<(), HostError>;
    /// Has the host merge it once its own rules are met, while its head is `head_sha`.
    fn enable_auto_merge(&self, pull_id: &str, head_sha: &str, method: &str) -> Result<(), HostError>;
    /// The reviews, review comments (with their threads' resolved state) and comments on
    /// a change request, the newest 50 of each.
    fn remarks(&self, upstream: &str, number: u64) -> Result<Vec<Remark>, HostError>;
    /// The check runs that failed on `sha` for change request `number` (not those another
    /// change request from the same commit started), with their output and annotations.
    fn failed_checks(&self, upstream: &str, sha: &str, number: u64) -> Result<Vec<FailedCheck>, HostError>;
    /// Stops the host from merging it by itself (before new work is pushed to it).
    fn disable_auto_merge(&self, pull_id: &str) -> Result<(), HostError>;
    /// Adds it to its base branch's merge queue, while its head is `head_sha`.
    fn enqueue_change_request(&self, pull_id: &str, head_sha: &str) -> Result<(), HostError>;
    /// An owner's repositories: an organisation's, else a user's, every page.
    fn list_repositories(&self, owner: &str) -> Result<Vec<ListedRepository>, HostError>;
    /// A repository search (the host's query language), as far as the host answers it.
    fn search_repositories(&self, query: &str) -> Result<Searched, HostError>;
    /// For each repository, its default branch, that branch's head commit, and which of
    /// `paths` it holds; in batches, as `read_change_requests` reads.
    fn read_files(
        &self,
        repositories: &[Repository],
        paths: &[String],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<FilesRead>, HostError>;
    fn read_change_requests(
        &self,
        queries: &[PullQuery],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<RepoRead>, HostError>;
    /// What this client has spent so far.
    fn spent(&self) -> Cost;
}

/// The client for the host `endpoint` names, sending `token` there and nowhere else.
pub fn connect<'a>(endpoint: &Endpoint, token: &'a Secret) -> Box<dyn CodeHost + Send + Sync + 'a> {
    Box::new(github::GitHub::new(endpoint, token))
}

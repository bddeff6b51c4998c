//! GitHub and GitHub Enterprise: the subset of the REST API bca uses (who am I,
//! repositories, forks, pull requests), behind [`CodeHost`]. Errors say what the caller
//! can do about them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::endpoint::Endpoint;
use crate::secret::Secret;
use crate::{
    ChangeRequest, ChangeRequestDetail, CodeHost, Cost, FailedCheck, FilesRead, FoundChangeRequest, Head, HostError,
    ListedRepository, NewChangeRequest, PullQuery, PullState, Remark, RepoInfo, RepoRead, Repository, Searched,
};

/// Attempts for one request when GitHub says "later" (rate limits, 5xx).
const ATTEMPTS: u32 = 4;
/// The longest the runner waits for a rate limit to reset before giving up (the Job
/// can be retried later).
const MAX_WAIT: Duration = Duration::from_secs(300);

mod graphql;

/// What a request retries besides rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    ServerErrors,
    /// Server errors but a bad gateway or a gateway timeout: a GraphQL query that ran
    /// too long is asked again smaller, not as it was.
    ServerErrorsButTimeouts,
}

#[derive(Debug, Clone, Deserialize)]
struct Owner {
    login: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Listed {
    full_name: String,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    language: Option<String>,
}

impl From<Listed> for ListedRepository {
    fn from(r: Listed) -> ListedRepository {
        ListedRepository {
            full_name: r.full_name,
            archived: r.archived,
            fork: r.fork,
            topics: r.topics,
            language: r.language,
        }
    }
}

#[derive(Deserialize)]
struct SearchAnswer {
    total_count: u64,
    #[serde(default)]
    incomplete_results: bool,
    items: Vec<Listed>,
}

#[derive(Debug, Clone, Deserialize)]
struct Repo {
    full_name: String,
    clone_url: String,
    owner: Owner,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    parent: Option<RepoRef>,
}

impl From<Repo> for RepoInfo {
    fn from(r: Repo) -> RepoInfo {
        RepoInfo {
            full_name: r.full_name,
            owner: r.owner.login,
            clone_url: r.clone_url,
            fork: r.fork,
            parent: r.parent.map(|p| p.full_name),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RepoRef {
    full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Pull {
    number: u64,
    html_url: String,
    #[serde(default)]
    title: String,
    /// GitHub sends null for an empty body.
    #[serde(default, deserialize_with = "null_as_empty")]
    body: String,
    #[serde(default)]
    user: Option<Owner>,
}

/// A pull request as `GET /repos/OWNER/NAME/pulls/N` describes it.
#[derive(Debug, Clone, Deserialize)]
struct PullDetail {
    number: u64,
    html_url: String,
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged_at: Option<String>,
    head: HeadDetail,
    user: Option<Owner>,
    #[serde(default, deserialize_with = "null_as_empty")]
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct HeadDetail {
    #[serde(rename = "ref")]
    branch: String,
    sha: String,
    /// Null when the head repository was deleted.
    repo: Option<HeadRepo>,
}

#[derive(Debug, Clone, Deserialize)]
struct HeadRepo {
    owner: Owner,
}

impl From<Pull> for ChangeRequest {
    fn from(p: Pull) -> ChangeRequest {
        let author = p.user.map(|u| u.login).unwrap_or_default();
        ChangeRequest { number: p.number, url: p.html_url, title: p.title, body: p.body, author }
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

pub struct GitHub<'a> {
    base: String,
    graphql_url: String,
    token: &'a Secret,
    agent: ureq::Agent,
    /// Requests sent, for what a read cost.
    requests: std::sync::atomic::AtomicU64,
    /// GraphQL points spent (GitHub's `rateLimit.cost`; REST requests have a budget of
    /// their own, counted in `requests`).
    points: std::sync::atomic::AtomicU64,
    /// The token's account, asked once.
    account: std::sync::OnceLock<String>,
}

/// A response: status, where a redirect points, when the rate limit resets, and body.
struct Reply {
    /// What was asked, for messages.
    url: String,
    status: u16,
    location: Option<String>,
    /// `x-ratelimit-reset`, seconds since the epoch.
    reset: Option<u64>,
    /// The `Link` header's `rel="next"` page.
    next: Option<String>,
    body: String,
}

impl Reply {
    /// GitHub's own words: `message`, and the `errors[].message` of a 422.
    fn reason(&self) -> String {
        let Ok(v) = serde_json::from_str::<Value>(&self.body) else {
            return self.body.chars().take(200).collect();
        };
        let mut reason = v["message"].as_str().unwrap_or("").to_string();
        if let Some(errors) = v["errors"].as_array() {
            let details: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    e["message"].as_str().map(str::to_string).or_else(|| e["code"].as_str().map(str::to_string))
                })
                .collect();
            if !details.is_empty() {
                reason = format!("{reason}: {}", details.join("; "));
            }
        }
        reason
    }

    /// GitHub's JSON. An answer that is not JSON at all is not GitHub's: most likely a
    /// host named as GitHub Enterprise that is something else.
    fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, HostError> {
        serde_json::from_str(&self.body).map_err(|e| {
            if serde_json::from_str::<Value>(&self.body).is_err() {
                let start: String = self.body.chars().take(60).collect();
                HostError::permanent(format!(
                    "{} did not answer {what} like GitHub's API (not JSON: \"{}\"): bca supports GitHub and GitHub \
                     Enterprise; check the host of the Change's repositories and --github-host",
                    self.url,
                    start.escape_debug()
                ))
                .with_status(self.status)
            } else {
                HostError::retryable(format!("GitHub answered {what} with something unexpected: {e}"))
            }
        })
    }
}

impl<'a> GitHub<'a> {
    /// A client that sends the token to `endpoint`'s API and nowhere else: redirects
    /// are not followed (a redirect would carry the Authorization header to wherever it
    /// points).
    pub fn new(endpoint: &Endpoint, token: &'a Secret) -> GitHub<'a> {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .redirects(0)
            .user_agent(concat!("bca/", env!("CARGO_PKG_VERSION")))
            .build();
        GitHub {
            base: endpoint.api_base.clone(),
            graphql_url: endpoint.graphql_url(),
            token,
            agent,
            requests: Default::default(),
            points: Default::default(),
            account: Default::default(),
        }
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, HostError> {
        self.send_to(method, &format!("{}{path}", self.base), path, body, Retry::ServerErrors)
    }

    /// Sends to `url` (`path` names it in messages), retrying what GitHub says to retry:
    /// rate limits, and server errors where `retry` says so.
    fn send_to(
        &self,
        method: &str,
        url: &str,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Reply, HostError> {
        let mut backoff = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = self
                .agent
                .request(method, url)
                .set("Accept", "application/vnd.github+json")
                .set("X-GitHub-Api-Version", "2022-11-28")
                .set("Authorization", &format!("Bearer {}", self.token.expose()));
            let result = match body {
                Some(b) => request.set("Content-Type", "application/json").send_string(&b.to_string()),
                None => request.call(),
            };
            let (status, wait, response) = match result {
                Ok(r) => (r.status(), None, r),
                Err(ureq::Error::Status(status, r)) => (status, rate_limit_wait(status, &r), r),
                Err(ureq::Error::Transport(t)) => {
                    if attempt < ATTEMPTS {
                        std::thread::sleep(backoff);
                        backoff *= 2;
                        continue;
                    }
                    return Err(HostError::retryable(format!("cannot reach GitHub at {url}: {t}")));
                }
            };
            let location = response.header("location").map(str::to_string);
            let reset = response.header("x-ratelimit-reset").and_then(|v| v.trim().parse().ok());
            let next = response.header("link").and_then(next_page);
            let body = response.into_string().unwrap_or_default();
            let reply = Reply { url: url.to_string(), status, location, reset, next, body };
            let again = match wait {
                Some(wait) if wait > MAX_WAIT => {
                    return Err(HostError::retryable(format!(
                        "GitHub rate limit reached ({status}: {}); it resets in {}s, longer than the runner waits",
                        reply.reason(),
                        wait.as_secs()
                    )))
                }
                Some(wait) => Some(wait),
                None if status >= 500 && (retry == Retry::ServerErrors || !matches!(status, 502 | 504)) => {
                    Some(backoff)
                }
                None => None,
            };
            match again {
                Some(wait) if attempt < ATTEMPTS => {
                    crate::secret::notice(&format!("{method} {path}: {status}, retrying in {}s", wait.as_secs()));
                    std::thread::sleep(wait);
                    backoff *= 2;
                }
                Some(_) => {
                    return Err(HostError::retryable(format!(
                        "GitHub kept answering {status} to {method} {path} ({}) after {ATTEMPTS} attempts",
                        reply.reason()
                    )))
                }
                None => {
                    if status == 401 {
                        return Err(HostError::permanent(format!(
                            "GitHub refused the token in {} (401 {}): replace it with a valid, unexpired token",
                            self.token.source(),
                            reply.reason()
                        )));
                    }
                    return Ok(reply);
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HostError> {
        let reply = self.send("GET", path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json(&format!("GET {path}"))
    }
}

impl CodeHost for GitHub<'_> {
    fn account(&self) -> Result<String, HostError> {
        if let Some(login) = self.account.get() {
            return Ok(login.clone());
        }
        let login = self.get_json::<Owner>("/user")?.login;
        Ok(self.account.get_or_init(|| login).clone())
    }

    fn repository(&self, full_name: &str) -> Result<Option<RepoInfo>, HostError> {
        let path = format!("/repos/{full_name}");
        let reply = self.send("GET", &path, None)?;
        if reply.status == 404 {
            return Ok(None);
        }
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json::<Repo>(&format!("GET {path}")).map(|r| Some(r.into()))
    }

    fn create_fork(&self, upstream: &str, organization: Option<&str>) -> Result<RepoInfo, HostError> {
        let path = format!("/repos/{upstream}/forks");
        let body = match organization {
            Some(org) => json!({ "organization": org, "default_branch_only": true }),
            None => json!({ "default_branch_only": true }),
        };
        let reply = self.send("POST", &path, Some(&body))?;
        expect_ok(&reply, &format!("POST {path}"))?;
        reply.json::<Repo>(&format!("POST {path}")).map(Into::into)
    }

    fn open_change_request(&self, upstream: &str, head: &Head) -> Result<Option<ChangeRequest>, HostError> {
        let path = format!("/repos/{upstream}/pulls?state=open&head={}", encode(&head.to_string()));
        Ok(self.get_json::<Vec<Pull>>(&path)?.into_iter().next().map(Into::into))
    }

    fn create_change_request(&self, upstream: &str, new: &NewChangeRequest) -> Result<ChangeRequest, HostError> {
        let path = format!("/repos/{upstream}/pulls");
        let head = new.head.to_string();
        let request = json!({
            "title": new.title, "head": head, "base": new.base, "body": new.body, "maintainer_can_modify": true,
            "draft": new.draft,
        });
        let reply = self.send("POST", &path, Some(&request))?;
        if reply.status == 422 {
            return Err(HostError::permanent(format!(
                "GitHub refused to open the pull request from {head} into {upstream}:{} (422): {}",
                new.base,
                reply.reason()
            ))
            .with_status(422));
        }
        expect_ok(&reply, &format!("POST {path}"))?;
        reply.json::<Pull>(&format!("POST {path}")).map(Into::into)
    }

    fn update_change_request(
        &self,
        upstream: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<ChangeRequest, HostError> {
        let path = format!("/repos/{upstream}/pulls/{number}");
        let reply = self.send("PATCH", &path, Some(&json!({ "title": title, "body": body })))?;
        expect_ok(&reply, &format!("PATCH {path}"))?;
        reply.json::<Pull>(&format!("PATCH {path}")).map(Into::into)
    }

    fn change_request(&self, upstream: &str, number: u64) -> Result<Option<ChangeRequestDetail>, HostError> {
        let path = format!("/repos/{upstream}/pulls/{number}");
        let reply = self.send("GET", &path, None)?;
        if reply.status == 404 {
            return Ok(None);
        }
        expect_ok(&reply, &format!("GET {path}"))?;
        let p: PullDetail = reply.json(&format!("GET {path}"))?;
        let state = match (p.state.as_str(), p.merged_at.is_some(), p.draft) {
            (_, true, _) => PullState::Merged,
            ("open", _, true) => PullState::Draft,
            ("open", _, false) => PullState::Open,
            _ => PullState::Closed,
        };
        let owner = p.head.repo.map(|r| r.owner.login).unwrap_or_default();
        Ok(Some(ChangeRequestDetail {
            number: p.number,
            url: p.html_url,
            state,
            head: Head::new(owner, p.head.branch),
            head_sha: p.head.sha,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            body: p.body,
        }))
    }

    fn add_labels(&self, upstream: &str, number: u64, labels: &[&str]) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/issues/{number}/labels");
        let reply = self.send("POST", &path, Some(&json!({ "labels": labels })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    fn remove_label(&self, upstream: &str, number: u64, label: &str) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/issues/{number}/labels/{}", encode(label));
        let reply = self.send("DELETE", &path, None)?;
        if reply.status == 404 {
            return Ok(());
        }
        expect_ok(&reply, &format!("DELETE {path}"))
    }

    /// GitHub refuses (422) the whole request when one reviewer is not a collaborator:
    /// then each is asked alone, so the others are still requested, and each refusal
    /// comes back as a warning (the pull request itself is fine).
    fn request_reviews(
        &self,
        upstream: &str,
        number: u64,
        people: &[String],
        teams: &[String],
    ) -> Result<Option<String>, HostError> {
        let path = format!("/repos/{upstream}/pulls/{number}/requested_reviewers");
        let ask = |people: &[String], teams: &[String]| -> Result<Option<String>, HostError> {
            let body = json!({ "reviewers": people, "team_reviewers": teams });
            let reply = self.send("POST", &path, Some(&body))?;
            if reply.status == 422 {
                return Ok(Some(reply.reason()));
            }
            expect_ok(&reply, &format!("POST {path}")).map(|()| None)
        };
        if ask(people, teams)?.is_none() {
            return Ok(None);
        }
        let mut refused = Vec::new();
        for person in people {
            if let Some(why) = ask(std::slice::from_ref(person), &[])? {
                refused.push(format!("{person} ({why})"));
            }
        }
        for team in teams {
            if let Some(why) = ask(&[], std::slice::from_ref(team))? {
                refused.push(format!("team {team} ({why})"));
            }
        }
        Ok((!refused.is_empty()).then(|| format!("GitHub did not request reviews from {}", refused.join(", "))))
    }

    /// GitHub silently drops those it cannot assign.
    fn add_assignees(&self, upstream: &str, number: u64, assignees: &[String]) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/issues/{number}/assignees");
        let reply = self.send("POST", &path, Some(&json!({ "assignees": assignees })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    fn comment(&self, upstream: &str, number: u64, body: &str) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/issues/{number}/comments");
        let reply = self.send("POST", &path, Some(&json!({ "body": body })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    fn close_change_request(&self, upstream: &str, number: u64) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/pulls/{number}");
        let reply = self.send("PATCH", &path, Some(&json!({ "state": "closed" })))?;
        expect_ok(&reply, &format!("PATCH {path}"))
    }

    fn delete_branch(&self, repository: &str, branch: &str) -> Result<(), HostError> {
        let path = format!("/repos/{repository}/git/refs/heads/{branch}");
        let reply = self.send("DELETE", &path, None)?;
        if reply.status == 422 || reply.status == 404 {
            return Ok(());
        }
        expect_ok(&reply, &format!("DELETE {path}"))
    }

    /// The search API; at most 100.
    fn find_open_change_requests(&self, owner: &str, branch: &str) -> Result<Vec<FoundChangeRequest>, HostError> {
        let query = format!("is:pr is:open head:{branch} user:{owner}");
        let found: Value = self.get_json(&format!("/search/issues?q={}&per_page=100", encode(&query)))?;
        Ok(found["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                // repository_url: {api}/repos/OWNER/NAME
                let full_name = item["repository_url"].as_str()?.rsplit("/repos/").next()?.to_string();
                Some(FoundChangeRequest {
                    full_name,
                    number: item["number"].as_u64()?,
                    url: item["html_url"].as_str()?.to_string(),
                })
            })
            .collect())
    }

    /// `PUT .../merge` with the head commit bca checked: 409 when the head moved, 405
    /// when GitHub will not merge it.
    fn merge_change_request(&self, upstream: &str, number: u64, head_sha: &str, method: &str) -> Result<(), HostError> {
        let path = format!("/repos/{upstream}/pulls/{number}/merge");
        let reply = self.send("PUT", &path, Some(&json!({ "sha": head_sha, "merge_method": method })))?;
        match reply.status {
            409 => Err(HostError::permanent(format!(
                "its head moved after bca checked it (GitHub: {}); nothing was merged",
                reply.reason()
            ))
            .with_status(409)),
            405 => Err(HostError::permanent(format!("GitHub will not merge it: {}", reply.reason())).with_status(405)),
            _ => expect_ok(&reply, &format!("PUT {path}")),
        }
    }

    fn enable_auto_merge(&self, pull_id: &str, head_sha: &str, method: &str) -> Result<(), HostError> {
        let query = "mutation BcaAutoMerge($id: ID!, $oid: GitObjectID!, $method: PullRequestMergeMethod!) { \
                     enablePullRequestAutoMerge(input: {pullRequestId: $id, expectedHeadOid: $oid, mergeMethod: $method}) \
                     { pullRequest { number } } }";
        let vars = json!({ "id": pull_id, "oid": head_sha, "method": method.to_ascii_uppercase() });
        graphql::mutate(self, query, &vars, "turn on auto-merge")
    }

    fn remarks(&self, upstream: &str, number: u64) -> Result<Vec<Remark>, HostError> {
        graphql::remarks(self, upstream, number)
    }

    /// `GET .../check-runs` (the newest 100) and each failed one's annotations.
    fn failed_checks(&self, upstream: &str, sha: &str, number: u64) -> Result<Vec<FailedCheck>, HostError> {
        let runs: Value = self.get_json(&format!("/repos/{upstream}/commits/{sha}/check-runs?per_page=100"))?;
        let mut failed = Vec::new();
        for run in runs["check_runs"].as_array().into_iter().flatten() {
            let conclusion = run["conclusion"].as_str().unwrap_or_default();
            if !matches!(conclusion, "failure" | "timed_out" | "cancelled" | "action_required" | "startup_failure") {
                continue;
            }
            // Someone else's pull request from the same commit ran checks of its own
            // (their text may quote its title): only ours, or runs for no pull request.
            let prs = run["pull_requests"].as_array().cloned().unwrap_or_default();
            if !prs.is_empty() && !prs.iter().any(|p| p["number"].as_u64() == Some(number)) {
                continue;
            }
            let id = run["id"].as_u64().unwrap_or_default();
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let mut annotations = Vec::new();
            if run["output"]["annotations_count"].as_u64().unwrap_or(0) > 0 {
                let found: Value =
                    self.get_json(&format!("/repos/{upstream}/check-runs/{id}/annotations?per_page=50"))?;
                for a in found.as_array().into_iter().flatten() {
                    annotations.push(format!("{}:{}: {}", text(&a["path"]), a["start_line"], text(&a["message"])));
                }
            }
            failed.push(FailedCheck {
                id: format!("check:{id}"),
                name: text(&run["name"]),
                conclusion: conclusion.to_string(),
                url: text(&run["html_url"]),
                title: text(&run["output"]["title"]),
                summary: text(&run["output"]["summary"]),
                text: text(&run["output"]["text"]),
                annotations,
            });
        }
        Ok(failed)
    }

    fn disable_auto_merge(&self, pull_id: &str) -> Result<(), HostError> {
        let query = "mutation BcaNoAutoMerge($id: ID!) { \
                     disablePullRequestAutoMerge(input: {pullRequestId: $id}) { pullRequest { number } } }";
        graphql::mutate(self, query, &json!({ "id": pull_id }), "turn off auto-merge")
    }

    fn enqueue_change_request(&self, pull_id: &str, head_sha: &str) -> Result<(), HostError> {
        let query = "mutation BcaEnqueue($id: ID!, $oid: GitObjectID!) { \
                     enqueuePullRequest(input: {pullRequestId: $id, expectedHeadOid: $oid}) { mergeQueueEntry { position } } }";
        graphql::mutate(self, query, &json!({ "id": pull_id, "oid": head_sha }), "add it to the merge queue")
    }

    /// The organisation's repositories (all types), or the user's when no organisation
    /// has the name; 100 a page, following `Link` to the end.
    fn list_repositories(&self, owner: &str) -> Result<Vec<ListedRepository>, HostError> {
        let mut path = format!("/orgs/{owner}/repos?per_page=100&type=all");
        let mut first = true;
        let mut found = Vec::new();
        loop {
            let reply = self.send("GET", &path, None)?;
            if reply.status == 404 && first && path.starts_with("/orgs/") {
                // A user: the token's own account lists its private repositories too.
                path = if self.account()?.eq_ignore_ascii_case(owner) {
                    "/user/repos?per_page=100&affiliation=owner".to_string()
                } else {
                    format!("/users/{owner}/repos?per_page=100&type=owner")
                };
                continue;
            }
            if reply.status == 404 {
                return Err(HostError::permanent(format!(
                    "GitHub knows no organisation or user {owner}, or the token cannot see it"
                ))
                .with_status(404));
            }
            expect_ok(&reply, &format!("GET {path}"))?;
            let page: Vec<Listed> = reply.json(&format!("GET {path}"))?;
            found.extend(page.into_iter().map(ListedRepository::from));
            first = false;
            // Only GitHub's own pages: the token goes nowhere else (`base` ends where a
            // path begins, so `https://api.github.com.evil.net` or `…@evil.net` is not one).
            let next = reply.next.as_deref().and_then(|next| next.strip_prefix(self.base.as_str()));
            match next {
                Some(next) if next.starts_with('/') => path = next.to_string(),
                Some(_) => {
                    return Err(HostError::permanent(format!(
                        "GitHub's next page of {owner}'s repositories is on another host ({}); bca sends the token \
                         nowhere else",
                        reply.next.as_deref().unwrap_or_default()
                    )))
                }
                None => return Ok(found),
            }
        }
    }

    /// Up to 10 pages of 100: GitHub answers at most 1,000 results a query. A query
    /// that matches more stops after the first page (its `total` says so).
    fn search_repositories(&self, query: &str) -> Result<Searched, HostError> {
        let mut searched = Searched { repositories: Vec::new(), total: 0, incomplete: false };
        for page in 1..=10 {
            let path = format!("/search/repositories?q={}&per_page=100&page={page}", encode(query));
            let found: SearchAnswer = self.get_json(&path)?;
            searched.total = found.total_count;
            searched.incomplete |= found.incomplete_results;
            let got = found.items.len();
            searched.repositories.extend(found.items.into_iter().map(ListedRepository::from));
            if got < 100 || searched.total > 1000 || searched.repositories.len() as u64 >= searched.total {
                break;
            }
        }
        Ok(searched)
    }

    fn read_files(
        &self,
        repositories: &[Repository],
        paths: &[String],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<FilesRead>, HostError> {
        graphql::read_files(self, repositories, paths, progress)
    }

    /// GraphQL, 50 repositories a query, one query at a time (GitHub's secondary limits
    /// count server time, so parallel queries buy nothing but refusals).
    fn read_change_requests(
        &self,
        queries: &[PullQuery],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<RepoRead>, HostError> {
        graphql::read(self, queries, progress)
    }

    fn spent(&self) -> Cost {
        Cost { requests: self.requests(), graphql_points: self.points.load(std::sync::atomic::Ordering::Relaxed) }
    }
}

fn expect_ok(reply: &Reply, what: &str) -> Result<(), HostError> {
    refusal(reply, what).map_err(|e| e.with_status(reply.status))
}

fn refusal(reply: &Reply, what: &str) -> Result<(), HostError> {
    match reply.status {
        200..=299 => Ok(()),
        300..=399 => Err(HostError::permanent(format!(
            "GitHub answered {what} with a redirect ({}) to {}: the repository was renamed or moved; put its \
             new URL in spec.repos",
            reply.status,
            reply.location.as_deref().unwrap_or("an unnamed location")
        ))),
        403 => Err(HostError::permanent(format!(
            "GitHub refused {what} (403 {}): the token lacks a permission it needs (contents and pull requests: \
             read and write)",
            reply.reason()
        ))),
        404 => Err(HostError::permanent(format!("GitHub answered {what} with 404 ({})", reply.reason()))),
        status @ 400..=499 => Err(HostError::permanent(format!("GitHub refused {what} ({status} {})", reply.reason()))),
        status => Err(HostError::retryable(format!("GitHub answered {what} with {status} ({})", reply.reason()))),
    }
}

/// How long GitHub asks the runner to wait, if this is a rate limit answer: 429, or 403
/// with `x-ratelimit-remaining: 0` or a `retry-after` (secondary limits).
fn rate_limit_wait(status: u16, response: &ureq::Response) -> Option<Duration> {
    if status != 429 && status != 403 {
        return None;
    }
    if let Some(seconds) = response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if response.header("x-ratelimit-remaining") == Some("0") {
        let reset = response.header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok())?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        return Some(Duration::from_secs(reset.saturating_sub(now) + 1));
    }
    (status == 429).then(|| Duration::from_secs(60))
}

/// The `rel="next"` URL of a `Link` header.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("me:bca/123"), "me%3Abca%2F123");
    }
}

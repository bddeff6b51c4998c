//! The subset of the GitHub REST API the runner uses: who am I, repositories, forks,
//! pull requests. Errors say which step can do what about them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::endpoint::Endpoint;
use super::secrets::Secret;
use super::RunError;

/// Attempts for one request when GitHub says "later" (rate limits, 5xx).
const ATTEMPTS: u32 = 4;
/// The longest the runner waits for a rate limit to reset before giving up (the Job
/// can be retried later).
const MAX_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
pub struct Owner {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Repo {
    pub full_name: String,
    pub clone_url: String,
    pub owner: Owner,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub parent: Option<RepoRef>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RepoRef {
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub html_url: String,
    #[serde(default)]
    pub title: String,
    /// GitHub sends null for an empty body.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub body: String,
}

/// A pull request as `bca status` reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct PullState {
    pub number: u64,
    pub html_url: String,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged_at: Option<String>,
    pub head: Head,
    #[serde(default)]
    pub requested_reviewers: Vec<Owner>,
    #[serde(default)]
    pub requested_teams: Vec<Team>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    pub sha: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub slug: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckRun {
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CheckRuns {
    check_runs: Vec<CheckRun>,
}

/// The combined commit status: `success`, `failure`, `error` or `pending`. A commit
/// with no statuses at all is `pending` with `total_count: 0`, which is not pending.
#[derive(Debug, Clone, Deserialize)]
pub struct CombinedStatus {
    pub state: String,
    pub total_count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Review {
    pub user: Option<Owner>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

pub struct GitHub<'a> {
    base: String,
    token: &'a Secret,
    agent: ureq::Agent,
}

/// A response: status, where a redirect points, and body.
struct Reply {
    status: u16,
    location: Option<String>,
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

    fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, RunError> {
        serde_json::from_str(&self.body)
            .map_err(|e| RunError::retryable(format!("GitHub answered {what} with something unexpected: {e}")))
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
            .user_agent(concat!("bca-runner/", env!("CARGO_PKG_VERSION")))
            .build();
        GitHub { base: endpoint.api_base.clone(), token, agent }
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply, RunError> {
        let url = format!("{}{path}", self.base);
        let mut backoff = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            let request = self
                .agent
                .request(method, &url)
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
                    return Err(RunError::retryable(format!("cannot reach GitHub at {url}: {t}")));
                }
            };
            let location = response.header("location").map(str::to_string);
            let body = response.into_string().unwrap_or_default();
            let reply = Reply { status, location, body };
            let again = match wait {
                Some(wait) if wait > MAX_WAIT => {
                    return Err(RunError::retryable(format!(
                        "GitHub rate limit reached ({status}: {}); it resets in {}s, longer than the runner waits",
                        reply.reason(),
                        wait.as_secs()
                    )))
                }
                Some(wait) => Some(wait),
                None if status >= 500 => Some(backoff),
                None => None,
            };
            match again {
                Some(wait) if attempt < ATTEMPTS => {
                    super::log::info("github", &format!("{method} {path}: {status}, retrying in {}s", wait.as_secs()));
                    std::thread::sleep(wait);
                    backoff *= 2;
                }
                Some(_) => {
                    return Err(RunError::retryable(format!(
                        "GitHub kept answering {status} to {method} {path} ({}) after {ATTEMPTS} attempts",
                        reply.reason()
                    )))
                }
                None => {
                    if status == 401 {
                        return Err(RunError::permanent(format!(
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

    /// The token's account.
    pub fn user(&self) -> Result<String, RunError> {
        let reply = self.send("GET", "/user", None)?;
        expect_ok(&reply, "GET /user")?;
        Ok(reply.json::<Owner>("GET /user")?.login)
    }

    /// A repository, or `None` when GitHub says 404.
    pub fn repo(&self, full_name: &str) -> Result<Option<Repo>, RunError> {
        let path = format!("/repos/{full_name}");
        let reply = self.send("GET", &path, None)?;
        if reply.status == 404 {
            return Ok(None);
        }
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json(&format!("GET {path}")).map(Some)
    }

    /// Asks GitHub to fork `upstream` (into `organization`, or the token's account).
    /// GitHub answers at once and creates the fork in the background.
    pub fn create_fork(&self, upstream: &str, organization: Option<&str>) -> Result<Repo, RunError> {
        let path = format!("/repos/{upstream}/forks");
        let body = match organization {
            Some(org) => json!({ "organization": org, "default_branch_only": true }),
            None => json!({ "default_branch_only": true }),
        };
        let reply = self.send("POST", &path, Some(&body))?;
        expect_ok(&reply, &format!("POST {path}"))?;
        reply.json(&format!("POST {path}"))
    }

    /// The open pull request from `head` (`owner:branch`) into `upstream`, if any.
    pub fn open_pull(&self, upstream: &str, head: &str) -> Result<Option<Pull>, RunError> {
        let path = format!("/repos/{upstream}/pulls?state=open&head={}", encode(head));
        let reply = self.send("GET", &path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        Ok(reply.json::<Vec<Pull>>(&format!("GET {path}"))?.into_iter().next())
    }

    /// Every pull request (open or not) from `head` (`owner:branch`) into `upstream`,
    /// newest first.
    pub fn pulls_from(&self, upstream: &str, head: &str) -> Result<Vec<PullState>, RunError> {
        let path = format!("/repos/{upstream}/pulls?state=all&head={}&per_page=10", encode(head));
        let reply = self.send("GET", &path, None)?;
        if reply.status == 404 {
            return Err(RunError::permanent(format!(
                "repository {upstream} not found, or the token has no access to it"
            )));
        }
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json(&format!("GET {path}"))
    }

    pub fn check_runs(&self, upstream: &str, sha: &str) -> Result<Vec<CheckRun>, RunError> {
        let path = format!("/repos/{upstream}/commits/{sha}/check-runs?per_page=100");
        let reply = self.send("GET", &path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        Ok(reply.json::<CheckRuns>(&format!("GET {path}"))?.check_runs)
    }

    pub fn combined_status(&self, upstream: &str, sha: &str) -> Result<CombinedStatus, RunError> {
        let path = format!("/repos/{upstream}/commits/{sha}/status");
        let reply = self.send("GET", &path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json(&format!("GET {path}"))
    }

    pub fn reviews(&self, upstream: &str, number: u64) -> Result<Vec<Review>, RunError> {
        let path = format!("/repos/{upstream}/pulls/{number}/reviews?per_page=100");
        let reply = self.send("GET", &path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        reply.json(&format!("GET {path}"))
    }

    pub fn create_pull(
        &self,
        upstream: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        draft: bool,
    ) -> Result<Pull, RunError> {
        let path = format!("/repos/{upstream}/pulls");
        let request = json!({
            "title": title, "head": head, "base": base, "body": body, "maintainer_can_modify": true, "draft": draft,
        });
        let reply = self.send("POST", &path, Some(&request))?;
        if reply.status == 422 {
            return Err(RunError::permanent(format!(
                "GitHub refused to open the pull request from {head} into {upstream}:{base} (422): {}",
                reply.reason()
            )));
        }
        expect_ok(&reply, &format!("POST {path}"))?;
        reply.json(&format!("POST {path}"))
    }

    /// Adds labels to a pull request (GitHub creates a label that does not exist yet).
    pub fn add_labels(&self, upstream: &str, number: u64, labels: &[&str]) -> Result<(), RunError> {
        let path = format!("/repos/{upstream}/issues/{number}/labels");
        let reply = self.send("POST", &path, Some(&json!({ "labels": labels })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    /// Asks for reviews. GitHub refuses (422) a reviewer who is not a collaborator: the
    /// refusal comes back as a warning, since the pull request itself is fine.
    pub fn request_reviewers(
        &self,
        upstream: &str,
        number: u64,
        reviewers: &[String],
        team_reviewers: &[String],
    ) -> Result<Option<String>, RunError> {
        let path = format!("/repos/{upstream}/pulls/{number}/requested_reviewers");
        let body = json!({ "reviewers": reviewers, "team_reviewers": team_reviewers });
        let reply = self.send("POST", &path, Some(&body))?;
        if reply.status == 422 {
            return Ok(Some(format!("GitHub did not request the reviews ({})", reply.reason())));
        }
        expect_ok(&reply, &format!("POST {path}")).map(|()| None)
    }

    /// Assigns people to a pull request (GitHub silently drops those it cannot assign).
    pub fn add_assignees(&self, upstream: &str, number: u64, assignees: &[String]) -> Result<(), RunError> {
        let path = format!("/repos/{upstream}/issues/{number}/assignees");
        let reply = self.send("POST", &path, Some(&json!({ "assignees": assignees })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    /// Removes a label from a pull request; one it does not have is no error.
    pub fn remove_label(&self, upstream: &str, number: u64, label: &str) -> Result<(), RunError> {
        let path = format!("/repos/{upstream}/issues/{number}/labels/{}", encode(label));
        let reply = self.send("DELETE", &path, None)?;
        if reply.status == 404 {
            return Ok(());
        }
        expect_ok(&reply, &format!("DELETE {path}"))
    }

    /// Open pull requests whose head branch is `branch`, in repositories of `owner`
    /// (the search API; at most 100): `(owner/name, number, url)`.
    pub fn search_open_pulls(&self, owner: &str, branch: &str) -> Result<Vec<(String, u64, String)>, RunError> {
        let query = format!("is:pr is:open head:{branch} user:{owner}");
        let path = format!("/search/issues?q={}&per_page=100", encode(&query));
        let reply = self.send("GET", &path, None)?;
        expect_ok(&reply, &format!("GET {path}"))?;
        let found: Value = reply.json(&format!("GET {path}"))?;
        Ok(found["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                // repository_url: {api}/repos/OWNER/NAME
                let repo = item["repository_url"].as_str()?.rsplit("/repos/").next()?.to_string();
                Some((repo, item["number"].as_u64()?, item["html_url"].as_str()?.to_string()))
            })
            .collect())
    }

    pub fn comment(&self, upstream: &str, number: u64, body: &str) -> Result<(), RunError> {
        let path = format!("/repos/{upstream}/issues/{number}/comments");
        let reply = self.send("POST", &path, Some(&json!({ "body": body })))?;
        expect_ok(&reply, &format!("POST {path}"))
    }

    pub fn close_pull(&self, upstream: &str, number: u64) -> Result<(), RunError> {
        let path = format!("/repos/{upstream}/pulls/{number}");
        let reply = self.send("PATCH", &path, Some(&json!({ "state": "closed" })))?;
        expect_ok(&reply, &format!("PATCH {path}"))
    }

    /// Deletes a branch; one that is gone already is no error.
    pub fn delete_branch(&self, repo: &str, branch: &str) -> Result<(), RunError> {
        let path = format!("/repos/{repo}/git/refs/heads/{branch}");
        let reply = self.send("DELETE", &path, None)?;
        if reply.status == 422 || reply.status == 404 {
            return Ok(());
        }
        expect_ok(&reply, &format!("DELETE {path}"))
    }

    pub fn update_pull(&self, upstream: &str, number: u64, title: &str, body: &str) -> Result<Pull, RunError> {
        let path = format!("/repos/{upstream}/pulls/{number}");
        let reply = self.send("PATCH", &path, Some(&json!({ "title": title, "body": body })))?;
        expect_ok(&reply, &format!("PATCH {path}"))?;
        reply.json(&format!("PATCH {path}"))
    }
}

fn expect_ok(reply: &Reply, what: &str) -> Result<(), RunError> {
    match reply.status {
        200..=299 => Ok(()),
        300..=399 => Err(RunError::permanent(format!(
            "GitHub answered {what} with a redirect ({}) to {}: the repository was renamed or moved; put its \
             new URL in spec.repos",
            reply.status,
            reply.location.as_deref().unwrap_or("an unnamed location")
        ))),
        403 => Err(RunError::permanent(format!(
            "GitHub refused {what} (403 {}): the token lacks a permission it needs (contents and pull requests: \
             read and write)",
            reply.reason()
        ))),
        404 => Err(RunError::permanent(format!("GitHub answered {what} with 404 ({})", reply.reason()))),
        status @ 400..=499 => Err(RunError::permanent(format!("GitHub refused {what} ({status} {})", reply.reason()))),
        status => Err(RunError::retryable(format!("GitHub answered {what} with {status} ({})", reply.reason()))),
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

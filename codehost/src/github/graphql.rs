//! The batched read: one GraphQL query for up to 50 repositories, an alias each, asking
//! for the change requests from the Change's branch and what a fleet view needs of them
//! (state, head commit, checks rollup, latest opinions of reviewers, mergeability,
//! auto-merge), plus the query's `rateLimit` cost.
//!
//! GitHub's limits, handled: queries go one at a time; a query GitHub refuses as too
//! big (`RESOURCE_LIMITS_EXCEEDED`), answers in part, or times out is asked again for
//! the repositories it left out only, at half the batch size, down to one; a
//! repository GitHub does not know (`NOT_FOUND`) or will not show (`FORBIDDEN`) is a
//! row of its own; a rate-limited answer waits until the limit resets, as REST does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::{GitHub, Retry, ATTEMPTS, MAX_WAIT};
use crate::{
    Checks, ErrorKind, FilesRead, HostError, MergeState, Mergeable, Protection, PullQuery, PullState, PullSummary,
    Remark, RemarkKind, RepoRead, Repository, Review,
};

/// Repositories per query: GitHub's node limits and its 10-second query timeout both
/// allow this many with the fields below, and it keeps a fleet of 10,000 at 200 queries.
pub const BATCH: usize = 50;

/// What is asked of each repository. `$h` is the Change's branch; GitHub's
/// `headRefName` matches it exactly, and the head's owner is checked here.
const REPOSITORY_FIELDS: &str = "nameWithOwner isArchived autoMergeAllowed \
pullRequests(headRefName: $h, first: 5, orderBy: {field: CREATED_AT, direction: DESC}) { pageInfo { hasNextPage } nodes { \
id number url state isDraft headRefName headRefOid headRepositoryOwner { login } mergeable mergeStateStatus \
autoMergeRequest { enabledAt } isMergeQueueEnabled isInMergeQueue \
baseRef { branchProtectionRule { requiresApprovingReviews requiredApprovingReviewCount requiresStatusChecks \
dismissesStaleReviews } } \
reviewRequests(first: 1) { totalCount } labels(first: 100) { nodes { name } } \
comments(last: 5) { nodes { viewerDidAuthor body } } \
latestOpinionatedReviews(first: 20, writersOnly: true) { pageInfo { hasNextPage } nodes { state author { login } \
commit { oid } } } \
commits(last: 1) { nodes { commit { oid statusCheckRollup { state } } } } } }";

/// A batched read: one GraphQL query for up to `BATCH` repositories, an alias each
/// (`r0`, `r1`, ...), their owners and names (and anything else) as variables.
pub(super) trait Batched {
    type Row: Clone;
    /// What is read, in an error's words (`pull requests`).
    const WHAT: &'static str;
    /// The query for `n` repositories.
    fn query(&self, n: usize) -> String;
    /// The variables for the repositories at `indexes`, as aliases `r0`.. in order.
    fn variables(&self, indexes: &[usize]) -> Value;
    /// One repository's answer.
    fn row(&self, data: &Value, index: usize) -> Result<Self::Row, HostError>;
    fn missing(&self) -> Self::Row;
    fn unreadable(&self, why: String) -> Self::Row;
}

/// Aliases `r0`.. for `n` repositories: `$o0`/`$n0` name each, `fields` (with `$i` for
/// the alias's index) is what is asked of each; `shared` declares variables all share.
fn aliased(name: &str, n: usize, own: &str, fields: &str, shared: &str) -> String {
    let mut params = Vec::new();
    let mut selections = Vec::new();
    for i in 0..n {
        params.push(format!("$o{i}: String!, $n{i}: String!{}", own.replace("$i", &i.to_string())));
        let asked = fields.replace("$i", &i.to_string());
        selections.push(format!("r{i}: repository(owner: $o{i}, name: $n{i}) {{ {asked} }}"));
    }
    format!(
        "query {name}({}{shared}) {{ {} rateLimit {{ cost remaining resetAt }} }}",
        params.join(", "),
        selections.join(" ")
    )
}

/// The query for `n` repositories' change requests.
pub fn query(n: usize) -> String {
    aliased("BcaChangeRequests", n, ", $h$i: String!", &REPOSITORY_FIELDS.replace("$h", "$h$i"), "")
}

struct ChangeRequests<'a>(&'a [PullQuery]);

impl Batched for ChangeRequests<'_> {
    type Row = RepoRead;
    const WHAT: &'static str = "pull requests";

    fn query(&self, n: usize) -> String {
        query(n)
    }

    fn variables(&self, indexes: &[usize]) -> Value {
        let mut vars = serde_json::Map::new();
        for (i, q) in indexes.iter().map(|i| &self.0[*i]).enumerate() {
            vars.insert(format!("o{i}"), json!(q.repository.owner()));
            vars.insert(format!("n{i}"), json!(q.repository.name()));
            vars.insert(format!("h{i}"), json!(q.head.branch));
        }
        Value::Object(vars)
    }

    fn row(&self, data: &Value, index: usize) -> Result<RepoRead, HostError> {
        repository(data, &self.0[index])
    }

    fn missing(&self) -> RepoRead {
        RepoRead::Missing
    }

    fn unreadable(&self, why: String) -> RepoRead {
        RepoRead::Unreadable { why }
    }
}

pub fn read(gh: &GitHub, queries: &[PullQuery], progress: &mut dyn FnMut(usize)) -> Result<Vec<RepoRead>, HostError> {
    read_all(gh, &ChangeRequests(queries), queries.len(), progress)
}

/// Reads `n` repositories, `BATCH` a query, one query at a time.
pub(super) fn read_all<B: Batched>(
    gh: &GitHub,
    what: &B,
    n: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<B::Row>, HostError> {
    let mut rows: Vec<Option<B::Row>> = vec![None; n];
    let mut done = 0;
    let all: Vec<usize> = (0..n).collect();
    for batch in all.chunks(BATCH) {
        read_batch(gh, what, batch, &mut rows)?;
        done += batch.len();
        progress(done);
    }
    Ok(rows.into_iter().map(|r| r.expect("every repository was read")).collect())
}

/// Reads the repositories at `indexes`; those a query too big for GitHub left out are
/// read again at half the batch size.
fn read_batch<B: Batched>(
    gh: &GitHub,
    what: &B,
    indexes: &[usize],
    rows: &mut [Option<B::Row>],
) -> Result<(), HostError> {
    let answer = match gh.graphql(&what.query(indexes.len()), &what.variables(indexes)) {
        Ok(answer) => answer,
        Err(e) if too_slow(&e) => {
            if indexes.len() == 1 {
                rows[indexes[0]] = Some(what.unreadable(e.message));
                return Ok(());
            }
            crate::secret::notice(&format!(
                "{e}: asking again for {} repositories at a time",
                indexes.len().div_ceil(2)
            ));
            return read_halves(gh, what, indexes, rows);
        }
        Err(e) => return Err(e),
    };
    let errors: Vec<&Value> = answer["errors"].as_array().map(|e| e.iter().collect()).unwrap_or_default();
    let whole: Vec<&&Value> = errors.iter().filter(|e| !e["path"].is_array()).collect();
    // Any other refusal of the whole query (a field this GitHub lacks, a parse error)
    // would be refused again at any size: GitHub's words end the read.
    if let Some(e) = whole.iter().find(|e| !too_big(e)) {
        return Err(HostError::permanent(format!(
            "GitHub refused bca's query for {}: {}",
            B::WHAT,
            e["message"].as_str().unwrap_or("no reason given")
        )));
    }
    let mut left_out = Vec::new();
    let mut why = String::new();
    for (alias, index) in indexes.iter().enumerate() {
        let key = format!("r{alias}");
        let data = &answer["data"][&key];
        let own: Vec<&&Value> = errors.iter().filter(|e| e["path"][0].as_str() == Some(&key)).collect();
        let missing = own.iter().any(|e| {
            e["path"].as_array().is_some_and(|p| p.len() == 1)
                && matches!(e["type"].as_str(), Some("NOT_FOUND" | "FORBIDDEN"))
        });
        rows[*index] = if missing {
            Some(what.missing())
        } else if let Some(e) = own.first() {
            // A part of the answer GitHub could not give (a field the token may not read):
            // what is left would read as a fact it is not.
            Some(what.unreadable(e["message"].as_str().unwrap_or("no reason given").to_string()))
        } else if data.is_object() {
            Some(what.row(data, *index).unwrap_or_else(|e| what.unreadable(e.message)))
        } else {
            why = whole.first().and_then(|e| e["message"].as_str()).unwrap_or("no data").to_string();
            left_out.push(*index);
            None
        };
    }
    if left_out.is_empty() {
        return Ok(());
    }
    if indexes.len() == 1 {
        rows[indexes[0]] = Some(what.unreadable(why));
        return Ok(());
    }
    crate::secret::notice(&format!(
        "GitHub left out {} of {} repositories ({why}): asking again for {} at a time",
        left_out.len(),
        indexes.len(),
        left_out.len().div_ceil(2)
    ));
    read_halves(gh, what, &left_out, rows)
}

/// The files read: each repository's default branch and its head, and for each path an
/// alias `f0`.. whose `object` is null when the default branch does not hold it. The
/// paths are variables (`$p0`..), shared by all repositories, never spliced into the text.
struct Files<'a> {
    repositories: &'a [Repository],
    paths: &'a [String],
}

impl Batched for Files<'_> {
    type Row = FilesRead;
    const WHAT: &'static str = "repository files";

    fn query(&self, n: usize) -> String {
        let objects: String =
            (0..self.paths.len()).map(|p| format!(" f{p}: object(expression: $p{p}) {{ __typename }}")).collect();
        let shared: String = (0..self.paths.len()).map(|p| format!(", $p{p}: String!")).collect();
        let fields = format!("nameWithOwner defaultBranchRef {{ name target {{ oid }} }}{objects}");
        aliased("BcaRepositoryFiles", n, "", &fields, &shared)
    }

    fn variables(&self, indexes: &[usize]) -> Value {
        let mut vars = serde_json::Map::new();
        for (i, r) in indexes.iter().map(|i| &self.repositories[*i]).enumerate() {
            vars.insert(format!("o{i}"), json!(r.owner()));
            vars.insert(format!("n{i}"), json!(r.name()));
        }
        for (p, path) in self.paths.iter().enumerate() {
            vars.insert(format!("p{p}"), json!(format!("HEAD:{path}")));
        }
        Value::Object(vars)
    }

    fn row(&self, data: &Value, _: usize) -> Result<FilesRead, HostError> {
        let branch = &data["defaultBranchRef"];
        let (Some(name), Some(commit)) = (branch["name"].as_str(), branch["target"]["oid"].as_str()) else {
            return Ok(FilesRead::Empty);
        };
        let present = (0..self.paths.len()).map(|p| data[format!("f{p}")].is_object()).collect();
        Ok(FilesRead::Found { default_branch: name.to_string(), commit: commit.to_string(), present })
    }

    fn missing(&self) -> FilesRead {
        FilesRead::Missing
    }

    fn unreadable(&self, why: String) -> FilesRead {
        FilesRead::Unreadable { why }
    }
}

pub fn read_files(
    gh: &GitHub,
    repositories: &[Repository],
    paths: &[String],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<FilesRead>, HostError> {
    read_all(gh, &Files { repositories, paths }, repositories.len(), progress)
}

/// What a follow-up round reads of one change request: reviews, review threads with
/// their comments, and comments, the newest 50 of each, with who wrote them, their
/// relation to the repository, and when.
const REMARKS: &str = "query BcaRemarks($o: String!, $n: String!, $number: Int!) { \
repository(owner: $o, name: $n) { pullRequest(number: $number) { \
reviews(last: 50) { nodes { id url body authorAssociation createdAt lastEditedAt author { login } } } \
reviewThreads(last: 50) { nodes { isResolved comments(last: 20) { nodes { id url body path line \
authorAssociation createdAt lastEditedAt author { login } } } } } \
comments(last: 50) { nodes { id url body authorAssociation createdAt lastEditedAt author { login } } } \
} } rateLimit { cost remaining resetAt } }";

pub fn remarks(gh: &GitHub, upstream: &str, number: u64) -> Result<Vec<Remark>, HostError> {
    let (owner, name) = upstream.split_once('/').unwrap_or((upstream, ""));
    let answer = gh.graphql(REMARKS, &json!({ "o": owner, "n": name, "number": number }))?;
    if let Some(e) = answer["errors"].as_array().and_then(|e| e.first()) {
        return Err(HostError::retryable(format!(
            "GitHub did not say what was said on {upstream}#{number}: {}",
            e["message"].as_str().unwrap_or("no reason given")
        )));
    }
    let pull = &answer["data"]["repository"]["pullRequest"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let remark = |node: &Value, kind: RemarkKind, prefix: &str, resolved: bool| Remark {
        // The node id: comment database ids have outgrown GraphQL's 32-bit Int.
        id: format!("{prefix}:{}", node["id"].as_str().unwrap_or_default()),
        kind,
        author: text(&node["author"]["login"]),
        association: text(&node["authorAssociation"]),
        url: text(&node["url"]),
        body: text(&node["body"]),
        created_at: text(&node["createdAt"]),
        edited_at: node["lastEditedAt"].as_str().map(str::to_string),
        path: node["path"].as_str().map(str::to_string),
        line: node["line"].as_u64(),
        resolved,
    };
    let nodes = |v: &Value| v["nodes"].as_array().cloned().unwrap_or_default();
    let mut found = Vec::new();
    for r in nodes(&pull["reviews"]) {
        found.push(remark(&r, RemarkKind::Review, "review", false));
    }
    for thread in nodes(&pull["reviewThreads"]) {
        let resolved = thread["isResolved"] == true;
        for c in nodes(&thread["comments"]) {
            found.push(remark(&c, RemarkKind::ReviewComment, "review-comment", resolved));
        }
    }
    for c in nodes(&pull["comments"]) {
        found.push(remark(&c, RemarkKind::Comment, "comment", false));
    }
    Ok(found)
}

/// A bad gateway or a gateway timeout: GitHub's answer to a query that ran too long.
fn too_slow(e: &HostError) -> bool {
    e.kind == ErrorKind::Retryable && matches!(e.status, Some(502 | 504))
}

/// An error GitHub gives a query that was too big or too slow, which a smaller one
/// may not get.
fn too_big(e: &Value) -> bool {
    let message = e["message"].as_str().unwrap_or_default().to_ascii_lowercase();
    matches!(e["type"].as_str(), Some("RESOURCE_LIMITS_EXCEEDED" | "MAX_NODE_LIMIT_EXCEEDED"))
        || message.contains("timeout")
        || message.contains("timedout")
}

fn read_halves<B: Batched>(
    gh: &GitHub,
    what: &B,
    indexes: &[usize],
    rows: &mut [Option<B::Row>],
) -> Result<(), HostError> {
    let size = indexes.len().div_ceil(2).max(1);
    for half in indexes.chunks(size) {
        read_batch(gh, what, half, rows)?;
    }
    Ok(())
}

/// One repository's answer.
fn repository(data: &Value, query: &PullQuery) -> Result<RepoRead, HostError> {
    let asked = query.repository.full_name();
    let name =
        data["nameWithOwner"].as_str().ok_or_else(|| HostError::retryable("no nameWithOwner in GitHub's answer"))?;
    if !name.eq_ignore_ascii_case(&asked) {
        return Ok(RepoRead::Renamed { to: name.to_string() });
    }
    let nodes = data["pullRequests"]["nodes"].as_array().cloned().unwrap_or_default();
    // Exactly the Change's branch, from exactly the push owner's repository.
    let ours: Vec<&Value> = nodes
        .iter()
        .filter(|p| {
            let owner = p["headRepositoryOwner"]["login"].as_str().unwrap_or_default();
            query.head.is(owner, p["headRefName"].as_str().unwrap_or_default())
        })
        .collect();
    // The open one if there is one, else the newest.
    let pull = ours.iter().find(|p| p["state"] == "OPEN").or(ours.first());
    let more = data["pullRequests"]["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
    if pull.is_none() && more {
        return Ok(RepoRead::Unreadable {
            why: format!(
                "more than 5 pull requests come from branches named {}, none of them the Change's among the 5 \
                 newest",
                query.head.branch
            ),
        });
    }
    let auto_merge_allowed = data["autoMergeAllowed"].as_bool().unwrap_or(false);
    let pull = pull.map(|p| summary(p, auto_merge_allowed)).transpose()?;
    Ok(RepoRead::Found { archived: data["isArchived"].as_bool().unwrap_or(false), pull })
}

fn summary(p: &Value, auto_merge_allowed: bool) -> Result<PullSummary, HostError> {
    let unexpected = |what: &str| HostError::retryable(format!("GitHub's GraphQL answer has no {what}: {p}"));
    let state = match (p["state"].as_str(), p["isDraft"].as_bool().unwrap_or(false)) {
        (Some("OPEN"), true) => PullState::Draft,
        (Some("OPEN"), false) => PullState::Open,
        (Some("MERGED"), _) => PullState::Merged,
        (Some("CLOSED"), _) => PullState::Closed,
        _ => return Err(unexpected("state")),
    };
    let commit = &p["commits"]["nodes"][0]["commit"];
    let head = p["headRefOid"].as_str().unwrap_or_default();
    let checks = match commit["statusCheckRollup"]["state"].as_str() {
        // The rollup of another commit than the head says nothing about the head.
        _ if commit["oid"].as_str() != Some(head) => Checks::Pending,
        Some("SUCCESS") => Checks::Success,
        Some("PENDING" | "EXPECTED") => Checks::Pending,
        Some(_) => Checks::Failure,
        None => Checks::None,
    };
    let reviews = &p["latestOpinionatedReviews"];
    let nodes: Vec<&Value> = reviews["nodes"].as_array().into_iter().flatten().collect();
    let opinions: Vec<&str> = nodes.iter().filter_map(|r| r["state"].as_str()).collect();
    // More opinions than were read could hide a "changes requested": no approval counts.
    let all_read = reviews["pageInfo"]["hasNextPage"] != true;
    let approved_at_head = all_read
        && !opinions.contains(&"CHANGES_REQUESTED")
        && nodes.iter().any(|r| r["state"] == "APPROVED" && r["commit"]["oid"].as_str() == Some(head));
    let review = if opinions.contains(&"CHANGES_REQUESTED") {
        Review::ChangesRequested
    } else if opinions.contains(&"APPROVED") {
        Review::Approved
    } else if p["reviewRequests"]["totalCount"].as_u64().unwrap_or(0) > 0 {
        Review::ReviewRequired
    } else {
        Review::NoReviewer
    };
    let mergeable = match p["mergeable"].as_str() {
        Some("MERGEABLE") => Mergeable::Mergeable,
        Some("CONFLICTING") => Mergeable::Conflicting,
        _ => Mergeable::Unknown,
    };
    let merge_state = match p["mergeStateStatus"].as_str() {
        Some("CLEAN") => MergeState::Clean,
        Some("UNSTABLE") => MergeState::Unstable,
        Some("HAS_HOOKS") => MergeState::HasHooks,
        Some("BLOCKED") => MergeState::Blocked,
        Some("BEHIND") => MergeState::Behind,
        Some("DIRTY") => MergeState::Dirty,
        Some("DRAFT") => MergeState::Draft,
        _ => MergeState::Unknown,
    };
    // Null when the branch has no rule, or the token may not see it: nothing required.
    let rule = &p["baseRef"]["branchProtectionRule"];
    let protection = Protection {
        approvals: if rule["requiresApprovingReviews"] == true {
            rule["requiredApprovingReviewCount"].as_u64().map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
        } else {
            0
        },
        checks: rule["requiresStatusChecks"] == true,
        dismisses_stale_reviews: rule["dismissesStaleReviews"] == true,
    };
    let own_last_comment = p["comments"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["viewerDidAuthor"] == true)
        .filter_map(|c| c["body"].as_str())
        .next_back()
        .map(str::to_string);
    let labels = p["labels"]["nodes"].as_array().into_iter().flatten();
    let labels: Vec<String> = labels.filter_map(|l| l["name"].as_str().map(str::to_string)).collect();
    Ok(PullSummary {
        id: p["id"].as_str().ok_or_else(|| unexpected("id"))?.to_string(),
        number: p["number"].as_u64().ok_or_else(|| unexpected("number"))?,
        url: p["url"].as_str().ok_or_else(|| unexpected("url"))?.to_string(),
        state,
        head_sha: p["headRefOid"].as_str().unwrap_or_default().to_string(),
        checks,
        review,
        approved_at_head,
        labels,
        own_last_comment,
        mergeable,
        merge_state,
        auto_merge: p["autoMergeRequest"].is_object(),
        merge_queue: p["isMergeQueueEnabled"] == true,
        queued: p["isInMergeQueue"] == true,
        protection,
        auto_merge_allowed,
    })
}

/// Runs a mutation; GitHub's refusal (in `errors`) comes back in its own words.
pub fn mutate(gh: &GitHub, query: &str, variables: &Value, what: &str) -> Result<(), HostError> {
    let answer = gh.graphql(query, variables)?;
    match answer["errors"].as_array().and_then(|e| e.first()) {
        None => Ok(()),
        Some(e) => Err(HostError::permanent(format!(
            "GitHub would not {what}: {}",
            e["message"].as_str().unwrap_or("no reason given")
        ))),
    }
}

impl GitHub<'_> {
    /// Sends one GraphQL query and returns GitHub's answer (`data` and `errors`), after
    /// waiting out a rate-limited one. Adds the query's cost to what was spent.
    pub(super) fn graphql(&self, query: &str, variables: &Value) -> Result<Value, HostError> {
        let body = json!({ "query": query, "variables": variables });
        for attempt in 1..=ATTEMPTS {
            let reply =
                self.send_to("POST", &self.graphql_url, "/graphql", Some(&body), Retry::ServerErrorsButTimeouts)?;
            super::expect_ok(&reply, "POST /graphql")?;
            let answer: Value = reply.json("POST /graphql")?;
            let cost = answer["data"]["rateLimit"]["cost"].as_u64().unwrap_or(1);
            self.points.fetch_add(cost, std::sync::atomic::Ordering::Relaxed);
            let limited = answer["errors"].as_array().into_iter().flatten().any(|e| e["type"] == "RATE_LIMITED");
            if !limited {
                return Ok(answer);
            }
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let wait = Duration::from_secs(reply.reset.map_or(60, |r| r.saturating_sub(now) + 1));
            if wait > MAX_WAIT || attempt == ATTEMPTS {
                return Err(HostError::retryable(format!(
                    "GitHub's GraphQL rate limit is spent; it resets in {}s, try again then",
                    wait.as_secs()
                )));
            }
            crate::secret::notice(&format!("GraphQL rate limit reached, waiting {}s", wait.as_secs()));
            std::thread::sleep(wait);
        }
        unreachable!("the loop returns on its last attempt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_repository_has_its_own_alias_and_variables() {
        let q = query(2);
        assert!(q.starts_with("query BcaChangeRequests($o0: String!, $n0: String!, $h0: String!, $o1: String!"));
        assert!(q.contains("r1: repository(owner: $o1, name: $n1) { nameWithOwner"));
        assert!(q.contains("pullRequests(headRefName: $h1, first: 5"));
        assert!(q.ends_with("rateLimit { cost remaining resetAt } }"));
    }
}

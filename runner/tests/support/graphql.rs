//! The stand-in's GraphQL endpoint: a real GraphQL parser reads the query, and its
//! selections are answered from the same state the REST endpoints use, with GitHub's
//! error shapes: `NOT_FOUND` per alias, `RESOURCE_LIMITS_EXCEEDED` for a query over the
//! size set with `limit_graphql_repositories`, `undefinedField` for a field the stand-in
//! does not know, and a `rateLimit` whose `cost` follows GitHub's published rule (each
//! connection costs the product of the `first`/`last` above it; the sum over 100,
//! at least 1).

use std::collections::BTreeMap;
use std::path::Path;

use graphql_parser::query::{
    parse_query, Definition, Field, OperationDefinition, Selection, SelectionSet, Value as GValue,
};
use serde_json::{json, Value};

use super::{head_sha, Pull, State};

type Doc = graphql_parser::query::Document<'static, String>;

pub(super) fn answer(st: &State, url: &str, root: &Path, body: &Value) -> (u16, Value) {
    let text = body["query"].as_str().unwrap_or_default().to_string();
    let document: Doc = match parse_query::<String>(&text) {
        Ok(d) => d.into_static(),
        Err(e) => return (200, json!({ "errors": [{ "message": format!("Parse error: {e}") }] })),
    };
    let variables = body["variables"].clone();
    let Some(selection) = document.definitions.iter().find_map(|d| match d {
        Definition::Operation(OperationDefinition::Query(q)) => Some(&q.selection_set),
        Definition::Operation(OperationDefinition::SelectionSet(s)) => Some(s),
        _ => None,
    }) else {
        return (200, json!({ "errors": [{ "message": "No query operation in the document" }] }));
    };
    let repositories =
        selection.items.iter().filter(|s| matches!(s, Selection::Field(f) if f.name == "repository")).count();
    if st.graphql_max_repositories.is_some_and(|max| repositories > max) {
        return (
            200,
            json!({ "errors": [{ "type": "RESOURCE_LIMITS_EXCEEDED",
                "message": "Resource limits for this query exceeded." }] }),
        );
    }
    let cost = (connection_calls(selection, 1, &variables) / 100).max(1);
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    for item in &selection.items {
        let Selection::Field(field) = item else {
            errors.push(json!({ "message": "the stand-in answers fields only, not fragments" }));
            continue;
        };
        let key = field.alias.clone().unwrap_or_else(|| field.name.clone());
        let value = match field.name.as_str() {
            "repository" => {
                let owner = argument(field, "owner", &variables).as_str().unwrap_or_default().to_string();
                let name = argument(field, "name", &variables).as_str().unwrap_or_default().to_string();
                let asked = format!("{owner}/{name}");
                match repository_view(st, url, root, &asked) {
                    Some(view) => {
                        project(&view, &field.selection_set, &variables, std::slice::from_ref(&key), &mut errors)
                    }
                    None => {
                        errors.push(json!({ "type": "NOT_FOUND", "path": [key],
                            "message": format!("Could not resolve to a Repository with the name '{asked}'.") }));
                        Value::Null
                    }
                }
            }
            "rateLimit" => {
                let view = json!({ "__typename": "RateLimit", "cost": cost, "remaining": 5000 - cost,
                    "limit": 5000, "used": cost, "resetAt": "2026-12-04T12:00:00Z" });
                project(&view, &field.selection_set, &variables, std::slice::from_ref(&key), &mut errors)
            }
            other => {
                errors.push(undefined("Query", other, std::slice::from_ref(&key)));
                Value::Null
            }
        };
        data.insert(key, value);
    }
    // GitHub checks every field before it runs anything: an unknown one is all you get.
    if errors.iter().any(|e| e["extensions"]["code"] == "undefinedField") {
        return (200, json!({ "errors": errors }));
    }
    let mut answer = json!({ "data": data });
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    (200, answer)
}

fn undefined(type_name: &str, field: &str, path: &[String]) -> Value {
    json!({ "path": path, "extensions": { "code": "undefinedField", "typeName": type_name, "fieldName": field },
            "message": format!("Field '{field}' doesn't exist on type '{type_name}'") })
}

fn argument(field: &Field<'static, String>, name: &str, variables: &Value) -> Value {
    field.arguments.iter().find(|(n, _)| n == name).map(|(_, v)| value(v, variables)).unwrap_or(Value::Null)
}

fn value(v: &GValue<'static, String>, variables: &Value) -> Value {
    match v {
        GValue::Variable(name) => variables[name].clone(),
        GValue::Int(n) => json!(n.as_i64()),
        GValue::Float(f) => json!(f),
        GValue::String(s) | GValue::Enum(s) => json!(s),
        GValue::Boolean(b) => json!(b),
        GValue::Null => Value::Null,
        GValue::List(items) => Value::Array(items.iter().map(|i| value(i, variables)).collect()),
        GValue::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), value(v, variables))).collect()),
    }
}

/// GitHub's rule for a query's cost, before dividing by 100.
fn connection_calls(selection: &SelectionSet<'static, String>, parent: u64, variables: &Value) -> u64 {
    let mut calls = 0;
    for item in &selection.items {
        let Selection::Field(field) = item else { continue };
        let size = ["first", "last"].iter().find_map(|a| argument(field, a, variables).as_u64());
        match size {
            Some(n) => calls += parent + connection_calls(&field.selection_set, parent * n, variables),
            None => calls += connection_calls(&field.selection_set, parent, variables),
        }
    }
    calls
}

/// Picks the selected fields out of a view, applying a connection's arguments.
fn project(
    view: &Value,
    selection: &SelectionSet<'static, String>,
    variables: &Value,
    path: &[String],
    errors: &mut Vec<Value>,
) -> Value {
    if let Value::Array(items) = view {
        return Value::Array(items.iter().map(|i| project(i, selection, variables, path, errors)).collect());
    }
    if selection.items.is_empty() || !view.is_object() {
        return view.clone();
    }
    let type_name = view["__typename"].as_str().unwrap_or("Object").to_string();
    let mut out = serde_json::Map::new();
    for item in &selection.items {
        let Selection::Field(field) = item else { continue };
        let key = field.alias.clone().unwrap_or_else(|| field.name.clone());
        let mut here = path.to_vec();
        here.push(key.clone());
        if field.name == "pullRequest" && type_name == "Repository" {
            let number = argument(field, "number", variables);
            let found = view["pullRequests"]["nodes"].as_array().and_then(|n| n.iter().find(|p| p["number"] == number));
            let value = match found {
                Some(p) => project(p, &field.selection_set, variables, &here, errors),
                None => Value::Null,
            };
            out.insert(key, value);
            continue;
        }
        if field.name == "object" && type_name == "Repository" {
            let expression = argument(field, "expression", variables);
            let path = expression.as_str().and_then(|e| e.strip_prefix("HEAD:")).unwrap_or_default();
            let there = view["__files"].as_array().is_some_and(|f| f.iter().any(|p| p == path));
            let blob = json!({ "__typename": "Blob", "id": format!("B_{path}") });
            let found =
                if there { project(&blob, &field.selection_set, variables, &here, errors) } else { Value::Null };
            out.insert(key, found);
            continue;
        }
        let Some(found) = view.get(&field.name) else {
            errors.push(undefined(&type_name, &field.name, &here));
            continue;
        };
        let found = if found.get("nodes").is_some() { connection(found, field, variables) } else { found.clone() };
        out.insert(key, project(&found, &field.selection_set, variables, &here, errors));
    }
    Value::Object(out)
}

/// A connection's nodes filtered, ordered and cut as its arguments say.
fn connection(view: &Value, field: &Field<'static, String>, variables: &Value) -> Value {
    let mut nodes = view["nodes"].as_array().cloned().unwrap_or_default();
    if let Some(head) = argument(field, "headRefName", variables).as_str() {
        nodes.retain(|n| n["headRefName"] == head);
    }
    if let Value::Array(states) = argument(field, "states", variables) {
        nodes.retain(|n| states.contains(&n["state"]));
    }
    if argument(field, "writersOnly", variables) == true {
        nodes.retain(|n| n["authorCanPushToRepository"] == true);
    }
    if argument(field, "orderBy", variables)["direction"] == "DESC" {
        nodes.reverse();
    }
    let total = nodes.len();
    if let Some(n) = argument(field, "first", variables).as_u64() {
        nodes.truncate(n as usize);
    }
    if let Some(n) = argument(field, "last", variables).as_u64() {
        nodes = nodes.split_off(nodes.len().saturating_sub(n as usize));
    }
    let more = nodes.len() < total;
    json!({ "__typename": view["__typename"], "nodes": nodes, "totalCount": total,
            "pageInfo": { "__typename": "PageInfo", "hasNextPage": more } })
}

/// Everything the stand-in can say about a repository, as GitHub names it.
fn repository_view(st: &State, url: &str, root: &Path, asked: &str) -> Option<Value> {
    let full = st.renamed.get(asked).cloned().unwrap_or_else(|| asked.to_string());
    // Exactly as listed first; GitHub's names are case-insensitive.
    let (key, repo) =
        st.repos.get_key_value(&full).or_else(|| st.repos.iter().find(|(k, _)| k.eq_ignore_ascii_case(&full)))?;
    let (branch, oid, files) = default_branch(root, key, repo);
    // Oldest first: GitHub's default order; orderBy DESC reverses it.
    let pulls: Vec<Value> = st.pulls.iter().filter(|p| p.repo == *key).map(|p| pull_view(st, url, root, p)).collect();
    Some(json!({
        "__typename": "Repository",
        "nameWithOwner": key,
        "isArchived": repo.archived,
        "autoMergeAllowed": repo.auto_merge_allowed,
        "defaultBranchRef": oid.map_or(Value::Null, |oid| json!({ "__typename": "Ref", "name": branch,
            "target": { "__typename": "Commit", "oid": oid } })),
        // What `object(expression: "HEAD:PATH")` finds.
        "__files": files,
        "isFork": repo.fork_of.is_some(),
        "pullRequests": { "__typename": "PullRequestConnection", "nodes": pulls },
    }))
}

fn pull_view(st: &State, url: &str, root: &Path, p: &Pull) -> Value {
    let (owner, branch) = p.head.split_once(':').unwrap_or(("", ""));
    let sha = head_sha(root, p);
    let state = match (p.state.as_str(), p.merged) {
        (_, true) => "MERGED",
        ("open", _) => "OPEN",
        _ => "CLOSED",
    };
    let opinions: Vec<Value> = latest_opinions(p)
        .iter()
        .map(|(u, (s, commit))| {
            json!({ "__typename": "PullRequestReview", "state": s, "author": { "__typename": "User", "login": u },
                    "authorCanPushToRepository": !st.outsiders.contains(&u.to_string()),
                    "commit": { "__typename": "Commit", "oid": commit } })
        })
        .collect();
    let labels: Vec<Value> = p.labels.iter().map(|l| json!({ "__typename": "Label", "name": l })).collect();
    // What people wrote, as GitHub's reviews, review threads and comments show it.
    let remark = |r: &super::Remark| {
        json!({ "__typename": "Remark", "id": format!("R_{}", r.id), "databaseId": r.id, "url": format!("{url}/{}/pull/{}#{}", p.repo, p.number, r.id),
                "body": r.body, "authorAssociation": r.association, "createdAt": r.created_at,
                "lastEditedAt": r.edited_at, "author": { "__typename": "User", "login": r.user },
                "path": r.path, "line": r.line })
    };
    let of_kind = |kind: &'static str| p.remarks.iter().filter(move |r| r.kind == kind);
    let reviews: Vec<Value> = of_kind("review").map(remark).collect();
    let threads: Vec<Value> = of_kind("review-comment")
        .map(|r| {
            json!({ "__typename": "PullRequestReviewThread", "isResolved": r.resolved,
            "comments": { "__typename": "PullRequestReviewCommentConnection", "nodes": [remark(r)] } })
        })
        .collect();
    let mut comments: Vec<Value> = of_kind("comment").map(remark).collect();
    // bca's own replies, by the token's account.
    comments.extend(p.comments.iter().enumerate().map(|(i, c)| {
        json!({ "__typename": "IssueComment", "id": format!("IC_{i}"), "databaseId": 900 + i, "url": format!("{url}/{}/pull/{}#c{i}", p.repo, p.number),
                "body": c, "authorAssociation": "CONTRIBUTOR", "createdAt": "2026-12-04T11:00:00Z",
                "lastEditedAt": null, "author": { "__typename": "User", "login": st.login }, "viewerDidAuthor": true })
    }));
    for c in &mut comments {
        if c.get("viewerDidAuthor").is_none() {
            c["viewerDidAuthor"] = json!(false);
        }
    }
    let requests: Vec<Value> = p
        .requested_reviewers
        .iter()
        .chain(&p.requested_teams)
        .map(|r| json!({ "__typename": "ReviewRequest", "id": r }))
        .collect();
    let rollup =
        rollup(st, p, &sha).map_or(Value::Null, |state| json!({ "__typename": "StatusCheckRollup", "state": state }));
    let repo = &st.repos[&p.repo];
    let (mergeable, merge_state, _) = merge_state(st, root, p);
    let rule = repo.protection.map_or(Value::Null, |(approvals, checks)| {
        json!({ "__typename": "BranchProtectionRule", "requiresApprovingReviews": approvals > 0,
                "requiredApprovingReviewCount": approvals, "requiresStatusChecks": checks,
                "dismissesStaleReviews": repo.dismisses_stale_reviews })
    });
    json!({
        "__typename": "PullRequest",
        "number": p.number,
        "url": format!("{url}/{}/pull/{}", p.repo, p.number),
        "state": state,
        "isDraft": p.draft,
        "merged": p.merged,
        "headRefName": branch,
        "headRefOid": sha,
        "headRepositoryOwner": { "__typename": "User", "login": owner },
        "id": pull_id(p),
        "mergeable": mergeable,
        "mergeStateStatus": merge_state,
        "autoMergeRequest": p.auto_merge.as_ref().map_or(Value::Null, |m| {
            json!({ "__typename": "AutoMergeRequest", "enabledAt": "2026-12-04T12:00:00Z", "mergeMethod": m })
        }),
        "isMergeQueueEnabled": repo.merge_queue,
        "labels": { "__typename": "LabelConnection", "nodes": labels },
        "reviews": { "__typename": "PullRequestReviewConnection", "nodes": reviews },
        "reviewThreads": { "__typename": "PullRequestReviewThreadConnection", "nodes": threads },
        "comments": { "__typename": "IssueCommentConnection", "nodes": comments },
        "isInMergeQueue": p.queued,
        "baseRef": { "__typename": "Ref", "name": p.base, "branchProtectionRule": rule },
        "reviewRequests": { "__typename": "ReviewRequestConnection", "nodes": requests },
        "latestOpinionatedReviews": { "__typename": "PullRequestReviewConnection", "nodes": opinions },
        "commits": { "__typename": "PullRequestCommitConnection", "nodes": [
            { "__typename": "PullRequestCommit", "commit": { "__typename": "Commit", "oid": sha, "statusCheckRollup": rollup } }
        ] },
    })
}

/// The node id GitHub gives a pull request, which its mutations take.
pub(super) fn pull_id(p: &Pull) -> String {
    format!("PR_{}_{}", p.repo.replace('/', "_"), p.number)
}

/// The latest opinion of each reviewer, and the commit it was given on.
fn latest_opinions(p: &Pull) -> BTreeMap<&str, (&str, &str)> {
    let mut latest = BTreeMap::new();
    for (user, review, commit) in &p.reviews {
        if matches!(review.as_str(), "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED") {
            latest.insert(user.as_str(), (review.as_str(), commit.as_str()));
        }
    }
    latest
}

/// GitHub's rollup of the check runs and commit statuses on `sha`, if there are any.
fn rollup(st: &State, p: &Pull, sha: &str) -> Option<&'static str> {
    let key = format!("{}@{sha}", p.repo);
    let runs = st.check_runs.get(&key).cloned().unwrap_or_default();
    let statuses = st.statuses.get(&key).cloned().unwrap_or_default();
    let mut verdicts: Vec<&str> = runs
        .iter()
        .map(|(status, conclusion)| match (status.as_str(), conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => "SUCCESS",
            ("completed", _) => "FAILURE",
            _ => "PENDING",
        })
        .collect();
    verdicts.extend(statuses.iter().map(|s| match s.as_str() {
        "success" => "SUCCESS",
        "pending" => "PENDING",
        _ => "FAILURE",
    }));
    ["FAILURE", "PENDING", "SUCCESS"].into_iter().find(|v| verdicts.contains(v))
}

/// What GitHub says of merging `p` now: its `mergeable`, its `mergeStateStatus`, and
/// why its merge endpoint refuses (405), if it does. The base branch's protection
/// counts approvals from people who can push only.
pub(super) fn merge_state(st: &State, root: &Path, p: &Pull) -> (&'static str, &'static str, Option<String>) {
    let not_mergeable = || Some("Pull Request is not mergeable".to_string());
    if p.state != "open" {
        return ("UNKNOWN", "UNKNOWN", not_mergeable());
    }
    match p.mergeable.as_deref() {
        Some("UNKNOWN") => return ("UNKNOWN", "UNKNOWN", not_mergeable()),
        Some("CONFLICTING") => return ("CONFLICTING", "DIRTY", not_mergeable()),
        _ => {}
    }
    if p.draft {
        return ("MERGEABLE", "DRAFT", Some("Pull Request is still a draft".into()));
    }
    let rollup = rollup(st, p, &head_sha(root, p));
    if let Some((approvals, checks)) = st.repos[&p.repo].protection {
        let opinions = latest_opinions(p);
        let head = head_sha(root, p);
        let dismisses = st.repos[&p.repo].dismisses_stale_reviews;
        let writers = |state: &str| {
            opinions
                .iter()
                .filter(|(u, (s, _))| *s == state && !st.outsiders.contains(&u.to_string()))
                // With stale approvals dismissed, only those of the head count.
                .filter(|(_, (s, commit))| !(dismisses && *s == "APPROVED" && *commit != head))
                .count()
        };
        if approvals > 0 && writers("CHANGES_REQUESTED") > 0 {
            return ("MERGEABLE", "BLOCKED", Some("Changes were requested by reviewers with write access.".into()));
        }
        if writers("APPROVED") < approvals as usize {
            let why = format!("At least {approvals} approving review is required by reviewers with write access.");
            return ("MERGEABLE", "BLOCKED", Some(why));
        }
        if checks && rollup != Some("SUCCESS") {
            return ("MERGEABLE", "BLOCKED", Some("Required status check \"ci\" is expected.".into()));
        }
    }
    match rollup {
        Some("SUCCESS") | None => ("MERGEABLE", "CLEAN", None),
        Some(_) => ("MERGEABLE", "UNSTABLE", None),
    }
}

/// A mutation, if the document holds one: the two bca sends, as GitHub answers them,
/// errors included (`NOT_FOUND` for an unknown id, GitHub's words for a refusal).
pub(super) fn mutation(st: &mut State, root: &Path, body: &Value) -> Option<(u16, Value)> {
    let text = body["query"].as_str().unwrap_or_default().to_string();
    let document: Doc = parse_query::<String>(&text).ok()?.into_static();
    let selection = document.definitions.iter().find_map(|d| match d {
        Definition::Operation(OperationDefinition::Mutation(m)) => Some(m.selection_set.clone()),
        _ => None,
    })?;
    let variables = body["variables"].clone();
    let Some(Selection::Field(field)) = selection.items.first() else {
        return Some((200, json!({ "errors": [{ "message": "A mutation needs a field" }] })));
    };
    let name = field.name.clone();
    let input = argument(field, "input", &variables);
    let refuse = |message: String, kind: &str| {
        Some((
            200,
            json!({ "data": { &name: null },
            "errors": [{ "type": kind, "path": [&name], "message": message }] }),
        ))
    };
    if let Some(message) = st.refusals.remove(&name) {
        return refuse(message, "UNPROCESSABLE");
    }
    let id = input["pullRequestId"].as_str().unwrap_or_default().to_string();
    let Some(index) = st.pulls.iter().position(|p| pull_id(p) == id) else {
        return refuse(format!("Could not resolve to a node with the global id of '{id}'."), "NOT_FOUND");
    };
    let head = head_sha(root, &st.pulls[index]);
    if input["expectedHeadOid"].as_str().is_some_and(|oid| oid != head) {
        return refuse("Pull request Head sha didn't match expected head sha".into(), "UNPROCESSABLE");
    }
    let (_, merge_state, _) = merge_state(st, root, &st.pulls[index]);
    let repo = &st.repos[&st.pulls[index].repo];
    let payload = match name.as_str() {
        "enablePullRequestAutoMerge" => {
            if !repo.auto_merge_allowed {
                return refuse("Pull request Auto merge is not allowed for this repository".into(), "UNPROCESSABLE");
            }
            match merge_state {
                "CLEAN" | "UNSTABLE" | "DRAFT" => {
                    let state = merge_state.to_ascii_lowercase();
                    return refuse(format!("Pull request Pull request is in {state} status"), "UNPROCESSABLE");
                }
                _ => {}
            }
            let method = input["mergeMethod"].as_str().unwrap_or("MERGE").to_string();
            st.pulls[index].auto_merge = Some(method);
            json!({ "__typename": "EnablePullRequestAutoMergePayload",
                    "pullRequest": { "__typename": "PullRequest", "number": st.pulls[index].number } })
        }
        "disablePullRequestAutoMerge" => {
            if st.pulls[index].auto_merge.is_none() {
                return refuse("Pull request Auto merge is not enabled".into(), "UNPROCESSABLE");
            }
            st.pulls[index].auto_merge = None;
            json!({ "__typename": "DisablePullRequestAutoMergePayload",
                    "pullRequest": { "__typename": "PullRequest", "number": st.pulls[index].number } })
        }
        "enqueuePullRequest" => {
            if !repo.merge_queue {
                return refuse("Pull request is not in a merge queue enabled branch".into(), "UNPROCESSABLE");
            }
            st.pulls[index].queued = true;
            json!({ "__typename": "EnqueuePullRequestPayload",
                    "mergeQueueEntry": { "__typename": "MergeQueueEntry", "position": 1 } })
        }
        other => return Some((200, json!({ "errors": [undefined("Mutation", other, &[other.to_string()])] }))),
    };
    let mut errors = Vec::new();
    let data = project(&payload, &field.selection_set, &variables, std::slice::from_ref(&name), &mut errors);
    if !errors.is_empty() {
        return Some((200, json!({ "errors": errors })));
    }
    Some((200, json!({ "data": { name: data } })))
}

/// A repository's default branch: its name, its head commit (none when empty) and its
/// files, from git for a repository on disk, from the stand-in's state for an API-only one.
fn default_branch(root: &Path, full_name: &str, repo: &super::RepoState) -> (String, Option<String>, Vec<String>) {
    let bare = root.join(format!("{full_name}.git"));
    if bare.is_dir() {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("--git-dir")
                .arg(&bare)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        };
        let oid = git(&["rev-parse", "--verify", "-q", "refs/heads/main"]);
        let files = git(&["ls-tree", "-r", "--name-only", "refs/heads/main"]).lines().map(str::to_string).collect();
        return ("main".into(), (!oid.is_empty()).then_some(oid), files);
    }
    let branch = repo.default_branch.clone().unwrap_or_else(|| "main".into());
    let oid = format!("{:040x}", full_name.bytes().fold(7u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b))));
    (branch, Some(oid[..40].to_string()), repo.files.clone())
}

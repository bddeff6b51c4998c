//! What happens to the Jobs, in a reviewer's terms: which repositories' Jobs are
//! added, removed, replaced (renamed, because their pod template changed) or changed in
//! place, and why.

use std::collections::BTreeMap;

use crate::render::labels::{CHANGE, CHANGE_NAME, REPOSITORY_URL, SHARD};
use crate::render::yaml::parse_documents;
use bca_runner::pod::CONTRACT_ANNOTATION;
use bca_runner::RunContract;

/// The facts about one rendered Job that a summary needs, read back from its YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub name: String,
    pub namespace: String,
    pub repository: String,
    pub contract: Option<RunContract>,
    /// Per container: `name=image`.
    pub images: Vec<String>,
    pub deadline: Option<i64>,
    pub ttl: Option<i64>,
    /// The first container's requests and limits, as `cpu 2, memory 4Gi, ...`.
    pub resources: String,
    pub yaml: String,
}

/// Reads a Job's facts from one YAML document; `None` for anything else.
pub fn job_facts(yaml: &str) -> Option<JobFacts> {
    let doc = parse_documents(yaml).ok()?.into_iter().next()?;
    if doc["kind"] != "Job" {
        return None;
    }
    let template = &doc["spec"]["template"];
    let pod = &template["spec"];
    let containers: Vec<&serde_json::Value> = pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(pod["containers"].as_array().into_iter().flatten())
        .collect();
    let images = containers
        .iter()
        .map(|c| format!("{}={}", c["name"].as_str().unwrap_or("?"), c["image"].as_str().unwrap_or("?")))
        .collect();
    let resources = containers.first().map(|c| resources_text(&c["resources"])).unwrap_or_default();
    let labels = &doc["metadata"]["labels"];
    // An Indexed Job is known by its Change and shard, as a per-repository Job by its
    // repository.
    let repository = match doc["metadata"]["annotations"][REPOSITORY_URL].as_str() {
        Some(url) => url.to_string(),
        None => {
            let change = labels[CHANGE_NAME].as_str().or(labels[CHANGE].as_str())?;
            format!("{change} Indexed Job {}", labels[SHARD].as_str()?)
        }
    };
    Some(JobFacts {
        name: doc["metadata"]["name"].as_str()?.to_string(),
        namespace: doc["metadata"]["namespace"].as_str().unwrap_or_default().to_string(),
        repository,
        contract: template["metadata"]["annotations"][CONTRACT_ANNOTATION]
            .as_str()
            .and_then(|json| RunContract::from_json(json).ok()),
        images,
        deadline: doc["spec"]["activeDeadlineSeconds"].as_i64(),
        ttl: doc["spec"]["ttlSecondsAfterFinished"].as_i64(),
        resources,
        yaml: yaml.to_string(),
    })
}

fn resources_text(resources: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    for kind in ["requests", "limits"] {
        if let Some(map) = resources[kind].as_object() {
            for (name, value) in map {
                parts.push(format!("{name} {kind} {}", value.as_str().unwrap_or("?")));
            }
        }
    }
    parts.join(", ")
}

/// A repository as a reviewer names it: `owner/name` on github.com, else `host/owner/name`.
pub fn short_repository(url: &str) -> String {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    rest.strip_prefix("github.com/").unwrap_or(rest).to_string()
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct JobSummary {
    /// One line per group: "2 Jobs replaced: acme/a, acme/b (the prompt changed)".
    pub lines: Vec<String>,
    pub added: usize,
    pub removed: usize,
    pub replaced: usize,
    pub changed: usize,
}

impl JobSummary {
    /// The closing line: "summary: Jobs: 1 added, 0 removed, 2 replaced, 0 changed in place".
    pub fn totals(&self) -> String {
        format!(
            "summary: Jobs: {} added, {} removed, {} replaced, {} changed in place",
            self.added, self.removed, self.replaced, self.changed
        )
    }
}

/// Why a repository's Job differs, setting by setting, and whether its agent runs
/// again: only when the fingerprint of its work changed; otherwise the new Job finds
/// its pull request holding that work and ends `unchanged`.
fn reasons(old: &JobFacts, new: &JobFacts) -> String {
    let mut reasons: Vec<String> = Vec::new();
    let mut reruns = true;
    let mut new_repositories = false;
    match (&old.contract, &new.contract) {
        (Some(a), Some(b)) => {
            reruns = a.work.fingerprint != b.work.fingerprint;
            let mut changed = bca_runner::marker::what_changed(&a.work.parts, &b.work.parts);
            reasons.append(&mut changed);
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
            if a.change_name != b.change_name {
                reasons.push(format!(
                    "the Change's name {} → {}: a new branch and pull request",
                    show(&a.change_name),
                    show(&b.change_name)
                ));
                reruns = true;
            }
            // The texts quote the Change: only a change of their own is news.
            if a.work == b.work
                && a.change_name == b.change_name
                && (&a.pull_request_title, &a.pull_request_body, &a.commit_message)
                    != (&b.pull_request_title, &b.pull_request_body, &b.commit_message)
            {
                reasons.push("the pull request or commit texts changed".into());
            }
            if a.repositories != b.repositories {
                let added: Vec<String> = b
                    .repositories
                    .iter()
                    .filter(|r| !a.repositories.contains(r))
                    .map(|r| short_repository(r))
                    .collect();
                let removed: Vec<String> = a
                    .repositories
                    .iter()
                    .filter(|r| !b.repositories.contains(r))
                    .map(|r| short_repository(r))
                    .collect();
                if !added.is_empty() {
                    reasons.push(format!("{} added", added.join(", ")));
                    new_repositories = true;
                }
                if !removed.is_empty() {
                    reasons.push(format!("{} removed", removed.join(", ")));
                }
            }
            if a.fork_owner != b.fork_owner {
                reasons.push(format!("the fork owner {} → {}", show(&a.fork_owner), show(&b.fork_owner)));
            }
            if a.github_host != b.github_host {
                reasons.push(format!("the GitHub host {} → {}", show(&a.github_host), show(&b.github_host)));
            }
        }
        _ => reasons.push("it was rendered by another bca version".into()),
    }
    let show = |v: Option<i64>| v.map_or("none".to_string(), |v| v.to_string());
    differs(&mut reasons, "deadline", show(old.deadline), show(new.deadline));
    differs(&mut reasons, "ttl", show(old.ttl), show(new.ttl));
    if old.namespace != new.namespace {
        reasons.push(format!(
            "namespace {} → {}: every Job is new, and the old ones stay in {} until deleted",
            old.namespace, new.namespace, old.namespace
        ));
    }
    // One line per image change, naming the containers it is for.
    let mut image_changes: Vec<(String, Vec<&str>)> = Vec::new();
    for (a, b) in old.images.iter().zip(&new.images).filter(|(a, b)| a != b) {
        let (container, old_image) = a.split_once('=').unwrap_or((a, ""));
        let new_image = b.split_once('=').map_or(b.as_str(), |(_, i)| i);
        let change = format!("image {old_image} → {new_image}");
        match image_changes.iter_mut().find(|(c, _)| *c == change) {
            Some((_, containers)) => containers.push(container),
            None => image_changes.push((change, vec![container])),
        }
    }
    for (change, containers) in image_changes {
        reasons.push(format!("{change} ({})", containers.join(", ")));
    }
    if old.images.len() != new.images.len() {
        reasons.push("the pod's steps changed (another bca version)".into());
    }
    if old.resources != new.resources {
        reasons.push(format!("resources ({}) → ({})", old.resources, new.resources));
    }
    if reasons.is_empty() {
        reasons.push("the Job was edited by hand, or another bca version rendered it".into());
    }
    let effect = match (reruns, new_repositories) {
        (true, _) => "the agent runs again",
        (false, true) => "the agent runs for the added repositories; the others only confirm their pull requests",
        (false, false) => "the new Job only confirms the pull request",
    };
    format!("{}; {effect}", reasons.join(", "))
}

fn differs(reasons: &mut Vec<String>, what: &str, a: String, b: String) {
    if a != b {
        reasons.push(format!("{what} {a} → {b}"));
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "Job"
    } else {
        "Jobs"
    }
}

/// Compares the Jobs in the directory (`old`, in their committed order) with the new
/// render (`new`, in render order).
pub fn summarize(old: &[JobFacts], new: &[JobFacts]) -> JobSummary {
    let old_by_repo: BTreeMap<&str, &JobFacts> = old.iter().map(|j| (j.repository.as_str(), j)).collect();
    let new_by_repo: BTreeMap<&str, &JobFacts> = new.iter().map(|j| (j.repository.as_str(), j)).collect();
    let mut summary = JobSummary::default();
    // Reason → repositories, in render order.
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut group = |verb: &str, reason: String, repo: String| match groups
        .iter_mut()
        .find(|(v, r, _)| v == verb && *r == reason)
    {
        Some((_, _, repos)) => repos.push(repo),
        None => groups.push((verb.to_string(), reason, vec![repo])),
    };

    let removed: Vec<&JobFacts> = old.iter().filter(|j| !new_by_repo.contains_key(j.repository.as_str())).collect();
    let added: Vec<&JobFacts> = new.iter().filter(|j| !old_by_repo.contains_key(j.repository.as_str())).collect();
    for job in new {
        let Some(before) = old_by_repo.get(job.repository.as_str()) else {
            continue;
        };
        let repo = short_repository(&job.repository);
        if before.name != job.name || before.namespace != job.namespace {
            summary.replaced += 1;
            group("replaced", reasons(before, job), repo);
        } else if before.yaml != job.yaml {
            summary.changed += 1;
            group("changed in place", "labels or annotations; the Job stays as it is".into(), repo);
        }
    }
    // A repository swapped for another in the list reads best as one replacement.
    let pairs = removed.len().min(added.len());
    for (gone, new_job) in removed.iter().zip(&added).take(pairs) {
        summary.replaced += 1;
        let arrow = format!("{} → {}", short_repository(&gone.repository), short_repository(&new_job.repository));
        group("replaced", "a repository was replaced in spec.repos".into(), arrow);
    }
    for job in &added[pairs..] {
        summary.added += 1;
        group("added", "a repository was added".into(), short_repository(&job.repository));
    }
    for job in &removed[pairs..] {
        summary.removed += 1;
        group("removed", "a repository was removed".into(), short_repository(&job.repository));
    }
    summary.lines = groups
        .into_iter()
        .map(|(verb, reason, repos)| {
            format!("{} {} {verb}: {} ({reason})", repos.len(), plural(repos.len()), repos.join(", "))
        })
        .collect();
    summary
}

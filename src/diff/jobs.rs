//! What happens to the Jobs, in a reviewer's terms: which repositories' Jobs are
//! added, removed, replaced (renamed, because their pod template changed) or changed in
//! place, and why.

use std::collections::BTreeMap;

use bca_runner::pod::CONTRACT_ANNOTATION;
use bca_runner::{Repository, RunContract};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::Resource as _;

use crate::output::read::parse_documents;
use crate::render::labels::{CHANGE, CHANGE_NAME, REPOSITORY_URL, SHARD};

/// The facts about one Job that a summary needs.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub name: String,
    pub namespace: String,
    /// What matches the Job across renders: its repository's identity (GitHub ignores
    /// case), or an Indexed Job's Change and shard.
    pub key: String,
    /// The repository as a reviewer names it (`acme/api`), or for an Indexed Job its
    /// Change and shard.
    pub repository: String,
    pub contract: Option<RunContract>,
    /// Per container: `name=image`.
    pub images: Vec<String>,
    pub deadline: Option<i64>,
    pub ttl: Option<i32>,
    /// The first container's requests and limits, as `cpu requests 2, memory limits 4Gi, ...`.
    pub resources: String,
    pub yaml: String,
}

impl JobFacts {
    /// The facts of a Job, its run contract and the YAML it was written as; `None` for a
    /// Job bca did not render (no repository, nor Change and shard).
    pub fn of(job: &Job, contract: Option<RunContract>, yaml: &str) -> Option<JobFacts> {
        let meta = &job.metadata;
        let spec = job.spec.as_ref();
        let pod = spec.and_then(|s| s.template.spec.as_ref());
        let containers: Vec<_> =
            pod.into_iter().flat_map(|p| p.init_containers.iter().flatten().chain(&p.containers)).collect();
        let images = containers.iter().map(|c| format!("{}={}", c.name, c.image.as_deref().unwrap_or("?"))).collect();
        let resources = containers.first().and_then(|c| c.resources.as_ref()).map(resources_text).unwrap_or_default();
        let label = |key: &str| meta.labels.as_ref().and_then(|l| l.get(key));
        // An Indexed Job is known by its Change and shard, as a per-repository Job by its
        // repository.
        let (key, repository) = match meta.annotations.as_ref().and_then(|a| a.get(REPOSITORY_URL)) {
            Some(url) => match Repository::parse(url) {
                Ok(repo) => (repo.identity(), repo.short()),
                Err(_) => (url.clone(), url.clone()),
            },
            None => {
                let shard = format!("{} Indexed Job {}", label(CHANGE_NAME).or(label(CHANGE))?, label(SHARD)?);
                (shard.clone(), shard)
            }
        };
        Some(JobFacts {
            name: meta.name.clone()?,
            namespace: meta.namespace.clone().unwrap_or_default(),
            key,
            repository,
            contract,
            images,
            // The per-repository deadline is the pod's (a Job rendered before bca set
            // one there has only the Job's).
            deadline: pod.and_then(|p| p.active_deadline_seconds).or(spec.and_then(|s| s.active_deadline_seconds)),
            ttl: spec.and_then(|s| s.ttl_seconds_after_finished),
            resources,
            yaml: yaml.to_string(),
        })
    }

    /// The facts of a committed file: `Ok(None)` when it holds no Job, an error naming
    /// what is wrong when it holds a Job that does not read as one (edited by hand).
    pub fn read(yaml: &str) -> Result<Option<JobFacts>, String> {
        let Some(doc) = parse_documents(yaml)?.into_iter().next() else {
            return Ok(None);
        };
        if doc["kind"] != Job::KIND {
            return Ok(None);
        }
        let job: Job = serde_json::from_value(doc).map_err(|e| e.to_string())?;
        let contract = job
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref()?.annotations.as_ref()?.get(CONTRACT_ANNOTATION))
            .and_then(|json| RunContract::from_json(json).ok());
        Ok(JobFacts::of(&job, contract, yaml))
    }
}

fn resources_text(resources: &ResourceRequirements) -> String {
    let mut parts = Vec::new();
    for (kind, map) in [("requests", &resources.requests), ("limits", &resources.limits)] {
        for (name, value) in map.iter().flatten() {
            parts.push(format!("{name} {kind} {}", value.0));
        }
    }
    parts.join(", ")
}

/// A contract's repository URL as a reviewer names it.
fn short(url: &str) -> String {
    Repository::parse(url).map_or_else(|_| url.to_string(), |r| r.short())
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
                let added: Vec<String> =
                    b.repositories.iter().filter(|r| !a.repositories.contains(r)).map(|r| short(r)).collect();
                let removed: Vec<String> =
                    a.repositories.iter().filter(|r| !b.repositories.contains(r)).map(|r| short(r)).collect();
                if !added.is_empty() {
                    reasons.push(format!("{} added", added.join(", ")));
                    new_repositories = true;
                }
                if !removed.is_empty() {
                    reasons.push(format!("{} removed", removed.join(", ")));
                }
            }
            if a.repository != b.repository && !a.repository.is_empty() {
                reasons.push(format!("the repository's URL {} → {}", a.repository, b.repository));
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
    let (old_ttl, new_ttl) = (old.ttl.map(i64::from), new.ttl.map(i64::from));
    differs(&mut reasons, "deadline", show(old.deadline), show(new.deadline));
    differs(&mut reasons, "ttl", show(old_ttl), show(new_ttl));
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
pub fn summarize(old: &[&JobFacts], new: &[&JobFacts]) -> JobSummary {
    let old_by_repo: BTreeMap<&str, &JobFacts> = old.iter().map(|j| (j.key.as_str(), *j)).collect();
    let new_by_repo: BTreeMap<&str, &JobFacts> = new.iter().map(|j| (j.key.as_str(), *j)).collect();
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

    let removed: Vec<&JobFacts> = old.iter().copied().filter(|j| !new_by_repo.contains_key(j.key.as_str())).collect();
    let added: Vec<&JobFacts> = new.iter().copied().filter(|j| !old_by_repo.contains_key(j.key.as_str())).collect();
    for job in new {
        let Some(before) = old_by_repo.get(job.key.as_str()) else {
            continue;
        };
        let repo = job.repository.clone();
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
        let arrow = format!("{} → {}", gone.repository, new_job.repository);
        group("replaced", "a repository was replaced in spec.repos".into(), arrow);
    }
    for job in &added[pairs..] {
        summary.added += 1;
        group("added", "a repository was added".into(), job.repository.clone());
    }
    for job in &removed[pairs..] {
        summary.removed += 1;
        group("removed", "a repository was removed".into(), job.repository.clone());
    }
    summary.lines = groups
        .into_iter()
        .map(|(verb, reason, repos)| {
            format!("{} {} {verb}: {} ({reason})", repos.len(), plural(repos.len()), repos.join(", "))
        })
        .collect();
    summary
}

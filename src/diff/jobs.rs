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
    /// The Change the Job belongs to: its name, or its id.
    pub change: String,
    /// The Job's spec, to name what a hand edit changed.
    pub spec: serde_json::Value,
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
            change: label(CHANGE_NAME).or(label(CHANGE)).cloned().unwrap_or_default(),
            spec: spec.map(|s| serde_json::to_value(s).unwrap_or_default()).unwrap_or_default(),
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
            reruns = a.work.fingerprint != b.work.fingerprint || a.change_name != b.change_name;
            new_repositories = b.repositories.iter().any(|r| !a.repositories.contains(r));
            reasons = a.differences(b);
        }
        (None, _) => {
            reasons.push("the committed Job's run contract does not read (another bca version, or edited)".into())
        }
        (Some(_), None) => reasons.push("the new Job has no run contract".into()),
    }
    let show = |v: Option<i64>| v.map_or("none".to_string(), |v| v.to_string());
    let (old_ttl, new_ttl) = (old.ttl.map(i64::from), new.ttl.map(i64::from));
    let deadline = format!("deadline {} → {}", show(old.deadline), show(new.deadline));
    if old.deadline != new.deadline && !reasons.contains(&deadline) {
        reasons.push(deadline);
    }
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
        reasons.push(hand_edit(old, new));
    }
    let effect = match (reruns, new_repositories) {
        (true, _) => "the agent runs again",
        (false, true) => "the agent runs for the added repositories; the others only confirm their pull requests",
        (false, false) => "the new Job only confirms the pull request",
    };
    format!("{}; {effect}", reasons.join(", "))
}

/// What a hand edit of a committed Job changed: the spec fields that differ from what the
/// Change renders (a Job's pod template cannot change in place), or its labels and
/// annotations.
fn hand_edit(old: &JobFacts, new: &JobFacts) -> String {
    let mut paths = Vec::new();
    json_paths("spec", &old.spec, &new.spec, &mut paths);
    match paths.len() {
        0 => "labels or annotations edited by hand; the Job stays as it is".to_string(),
        n => {
            let shown: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
            let more = if n > 3 { format!(" and {} more", n - 3) } else { String::new() };
            format!(
                "the committed Job was edited by hand ({}{more}): rendering restores what the Change says, and \
                 since most of a Job's spec cannot change in place, the Job must be replaced",
                shown.join(", ")
            )
        }
    }
}

/// The paths below `at` where two JSON values differ, in order.
fn json_paths(at: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let null = Value::Null;
                json_paths(&format!("{at}.{key}"), x.get(key).unwrap_or(&null), y.get(key).unwrap_or(&null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_paths(&format!("{at}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(at.to_string()),
        _ => {}
    }
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
/// render (`new`, in render order). `missing` names the Jobs whose files the committed
/// kustomization lists but the directory lacks (deleted by hand).
pub fn summarize(old: &[&JobFacts], new: &[&JobFacts], missing: &std::collections::BTreeSet<String>) -> JobSummary {
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
            let why = hand_edit(before, job);
            if before.spec != job.spec {
                summary.replaced += 1;
                group("replaced", why, repo);
            } else {
                summary.changed += 1;
                group("changed in place", why, repo);
            }
        }
    }
    let rendered_changes: std::collections::BTreeSet<&str> = new.iter().map(|j| j.change.as_str()).collect();
    // A repository swapped for another in the same Change's list reads best as one
    // replacement.
    let mut paired: Vec<bool> = vec![false; added.len()];
    let mut unpaired_removed = Vec::new();
    for gone in &removed {
        let partner = added
            .iter()
            .enumerate()
            .find(|(i, a)| !paired[*i] && a.change == gone.change && !missing.contains(&a.name));
        match partner {
            Some((i, new_job)) if rendered_changes.contains(gone.change.as_str()) => {
                paired[i] = true;
                summary.replaced += 1;
                let arrow = format!("{} → {}", gone.repository, new_job.repository);
                group("replaced", "a repository was replaced in spec.repos".into(), arrow);
            }
            _ => unpaired_removed.push(*gone),
        }
    }
    for (_, job) in added.iter().enumerate().filter(|(i, _)| !paired[*i]) {
        summary.added += 1;
        let why = if missing.contains(&job.name) {
            "its committed file is missing, though the kustomization lists it: deleted by hand".to_string()
        } else {
            "a repository was added".to_string()
        };
        group("added", why, job.repository.clone());
    }
    for job in unpaired_removed {
        summary.removed += 1;
        let why = if rendered_changes.contains(job.change.as_str()) || job.change.is_empty() {
            "a repository was removed".to_string()
        } else {
            format!(
                "another Change's Job (Change {}): this directory holds that Change, not the one rendered",
                job.change
            )
        };
        group("removed", why, job.repository.clone());
    }
    summary.lines = groups
        .into_iter()
        .map(|(verb, reason, repos)| {
            format!("{} {} {verb}: {} ({reason})", repos.len(), plural(repos.len()), repos.join(", "))
        })
        .collect();
    summary
}

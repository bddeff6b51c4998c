//! What happens to the Jobs, in a reviewer's terms: which repositories' Jobs are
//! added, removed, replaced (renamed, because their pod template changed) or changed in
//! place, and why.

use std::collections::BTreeMap;

use crate::render::labels::REPOSITORY_URL;
use crate::render::yaml::parse_documents;
use bca_runner::pod::CONTRACT_ANNOTATION;
use bca_runner::RunContract;

/// The facts about one rendered Job that a summary needs, read back from its YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    pub name: String,
    pub repository: String,
    pub contract: Option<RunContract>,
    pub image: Option<String>,
    pub yaml: String,
}

/// Reads a Job's facts from one YAML document; `None` for anything else.
pub fn job_facts(yaml: &str) -> Option<JobFacts> {
    let doc = parse_documents(yaml).ok()?.into_iter().next()?;
    if doc["kind"] != "Job" {
        return None;
    }
    let template = &doc["spec"]["template"];
    Some(JobFacts {
        name: doc["metadata"]["name"].as_str()?.to_string(),
        repository: doc["metadata"]["annotations"][REPOSITORY_URL].as_str()?.to_string(),
        contract: template["metadata"]["annotations"][CONTRACT_ANNOTATION]
            .as_str()
            .and_then(|json| RunContract::from_json(json).ok()),
        image: template["spec"]["containers"][0]["image"].as_str().map(str::to_string),
        yaml: yaml.to_string(),
    })
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

/// Why a repository's Job got a new name, from its old and new contract and image.
fn replacement_reason(old: &JobFacts, new: &JobFacts) -> String {
    let mut reasons = Vec::new();
    if let (Some(a), Some(b)) = (&old.contract, &new.contract) {
        if a.prompt != b.prompt {
            reasons.push("the prompt changed");
        }
        if a.agent != b.agent {
            reasons.push("the agent changed");
        }
        if a.base_branch != b.base_branch {
            reasons.push("the base branch changed");
        }
        if a.agentsmd != b.agentsmd || a.resources != b.resources {
            reasons.push("the agent's context (agentsmd, resources) changed");
        }
    } else {
        reasons.push("it was rendered by another bca version");
    }
    if old.image != new.image {
        reasons.push("the image changed");
    }
    if reasons.is_empty() {
        reasons.push("render flags changed (resources, deadline, secret, ttl)");
    }
    reasons.join(", ")
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
        if before.name != job.name {
            summary.replaced += 1;
            group("replaced", replacement_reason(before, job), repo);
        } else if before.yaml != job.yaml {
            summary.changed += 1;
            group("changed in place", "labels, annotations or namespace".into(), repo);
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

//! What a render returns: each object keeps its type, beside the YAML it was written as
//! once. Kind and name come from the object (`Resource::KIND`, its metadata), so no
//! caller matches on strings or reads its own YAML back.

use bca_runner::{Repository, RunContract};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use serde::Serialize;

use super::queue::LocalQueue;
use super::secret::ExternalSecret;
use super::yaml;

/// One rendered object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    Secret(Secret),
    ExternalSecret(ExternalSecret),
    NetworkPolicy(NetworkPolicy),
    LocalQueue(LocalQueue),
    Job(Box<ChangeJob>),
    /// A Change's follow-up rounds.
    CronJob(Box<FollowUpCronJob>),
}

/// A Change's follow-up CronJob, and the Job each of its rounds runs (what `bca run
/// --local --follow-up` runs).
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpCronJob {
    pub cron_job: CronJob,
    pub round: ChangeJob,
}

/// A Job that makes a Change in one repository, or (Indexed) in a shard of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeJob {
    pub job: Job,
    /// What the Job's pods read from their annotation.
    pub contract: RunContract,
    /// The repositories it changes; an Indexed Job's in index order.
    pub repositories: Vec<Repository>,
    /// An Indexed Job, whose pods each run one of `repositories`.
    pub indexed: bool,
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Namespace(_) => Namespace::KIND,
            Object::Secret(_) => Secret::KIND,
            Object::ExternalSecret(_) => ExternalSecret::KIND,
            Object::NetworkPolicy(_) => NetworkPolicy::KIND,
            Object::LocalQueue(_) => LocalQueue::KIND,
            Object::Job(_) => Job::KIND,
            Object::CronJob(_) => CronJob::KIND,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => o.metadata(),
            Object::Secret(o) => o.metadata(),
            Object::ExternalSecret(o) => o.metadata(),
            Object::NetworkPolicy(o) => o.metadata(),
            Object::LocalQueue(o) => o.metadata(),
            Object::Job(o) => o.job.metadata(),
            Object::CronJob(o) => o.cron_job.metadata(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        fn json(object: &impl Serialize) -> serde_json::Value {
            serde_json::to_value(object).expect("Kubernetes objects serialise")
        }
        match self {
            Object::Namespace(o) => json(o),
            Object::Secret(o) => json(o),
            Object::ExternalSecret(o) => json(o),
            Object::NetworkPolicy(o) => json(o),
            Object::LocalQueue(o) => json(o),
            Object::Job(o) => json(&o.job),
            Object::CronJob(o) => json(&o.cron_job),
        }
    }
}

/// A rendered object and its YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    object: Object,
    yaml: String,
}

impl Manifest {
    /// Writes the object's YAML, once.
    pub fn new(object: Object) -> Manifest {
        let yaml = yaml::to_yaml(&object.to_json());
        Manifest { object, yaml }
    }

    pub fn yaml(&self) -> &str {
        &self.yaml
    }

    pub fn kind(&self) -> &'static str {
        self.object.kind()
    }

    pub fn name(&self) -> &str {
        self.object.metadata().name.as_deref().expect("bca names every object")
    }

    /// The Change's Job this is, if it is one.
    pub fn job(&self) -> Option<&ChangeJob> {
        match &self.object {
            Object::Job(job) => Some(job),
            _ => None,
        }
    }

    /// The Job a follow-up CronJob's rounds run, if this is one.
    pub fn follow_up_round(&self) -> Option<&ChangeJob> {
        match &self.object {
            Object::CronJob(cron) => Some(&cron.round),
            _ => None,
        }
    }

    /// The file the object gets in `--output-dir`.
    pub fn file_name(&self) -> String {
        file_name(self.kind(), self.name())
    }
}

/// `<kind>-<name>.yaml`: `job-bca-acme-api-1f2e3d4c.yaml`.
pub fn file_name(kind: &str, name: &str) -> String {
    format!("{}-{name}.yaml", kind.to_ascii_lowercase())
}

/// The documents of a render as one YAML stream, for `kubectl apply -f -`.
pub fn to_stream(manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n");
        out.push_str(&m.yaml);
    }
    out
}

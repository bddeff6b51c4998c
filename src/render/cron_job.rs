//! A Change's follow-up CronJob: its rounds run the Job the Change's own would, in
//! follow-up mode, on a schedule, never two at once.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Marks the CronJob, its Jobs and their pods as follow-up rounds
/// (`kubectl get pods -l bca.dev/role=follow-up`).
pub const ROLE_LABEL: &str = "bca.dev/role";

/// Wraps a rendered Job (its follow-up contract in its pod template) as a CronJob.
pub fn cron_job(mut job: Job, name: &str, schedule: &str) -> CronJob {
    let mut labels = job.metadata.labels.clone().unwrap_or_default();
    labels.insert(ROLE_LABEL.to_string(), "follow-up".to_string());
    if let Some(pod) = job.spec.as_mut().and_then(|s| s.template.metadata.as_mut()) {
        pod.labels.get_or_insert_with(Default::default).insert(ROLE_LABEL.to_string(), "follow-up".to_string());
    }
    let metadata = ObjectMeta {
        name: Some(name.to_string()),
        namespace: job.metadata.namespace.clone(),
        labels: Some(labels.clone()),
        ..Default::default()
    };
    CronJob {
        metadata,
        spec: Some(CronJobSpec {
            schedule: schedule.to_string(),
            // A round still running when the next is due: the next is skipped, so two
            // rounds never push to one branch at once.
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(1),
            failed_jobs_history_limit: Some(1),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
                spec: job.spec,
            },
            ..Default::default()
        }),
        status: None,
    }
}

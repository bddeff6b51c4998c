//! The labels and annotations that tie rendered objects to bca, their Change and
//! their repository.

use std::collections::BTreeMap;

pub const NAME: &str = "app.kubernetes.io/name";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const CHANGE: &str = "bca.dev/change";
pub const CHANGE_NAME: &str = "bca.dev/change-name";
/// An Indexed Job's place among its Change's Jobs.
pub const SHARD: &str = "bca.dev/shard";
/// Kueue admits a Job labelled with its LocalQueue within that queue's quota.
pub const KUEUE_QUEUE: &str = "kueue.x-k8s.io/queue-name";
pub const REPOSITORY: &str = "bca.dev/repository";
pub const REPOSITORY_URL: &str = "bca.dev/repository-url";

/// Every pod bca renders carries this `app.kubernetes.io/name`; the NetworkPolicy
/// selects on it.
pub const RUNNER_APP: &str = "bca-runner";

/// Labels of objects shared by all Changes (Secret, NetworkPolicy).
pub fn common() -> BTreeMap<String, String> {
    BTreeMap::from([(NAME.to_string(), RUNNER_APP.to_string()), (MANAGED_BY.to_string(), "bca".to_string())])
}

/// Labels of an Indexed Job and its pods.
pub fn indexed_job(change_id: &str, change_name: Option<&str>, shard: u32) -> BTreeMap<String, String> {
    let mut labels = job(change_id, change_name, "");
    labels.remove(REPOSITORY);
    labels.insert(SHARD.to_string(), format!("{shard:03}"));
    labels
}

/// Labels of a Job and its pods. They carry only what shapes the Job, so adding a
/// repository to a Change leaves the other Jobs untouched.
pub fn job(change_id: &str, change_name: Option<&str>, repository: &str) -> BTreeMap<String, String> {
    let mut labels = common();
    labels.insert(CHANGE.to_string(), change_id.to_string());
    if let Some(name) = change_name {
        labels.insert(CHANGE_NAME.to_string(), name.to_string());
    }
    labels.insert(REPOSITORY.to_string(), repository.to_string());
    labels
}

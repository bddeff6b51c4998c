//! Kueue's LocalQueue: the namespace's door to a ClusterQueue, whose quota (say, 20
//! pods) decides how many of the labelled Jobs run at once. Kueue's webhook suspends
//! each labelled Job at creation and admits it when there is room; bca renders no
//! `suspend` itself, which would fight Kueue under a GitOps controller's self-heal.
//! <https://kueue.sigs.k8s.io/docs/concepts/local_queue/>

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::labels;

/// kueue.x-k8s.io/v1beta1 LocalQueue: not a core type, so it is typed here, with only
/// the fields bca writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalQueue {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: LocalQueueSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct LocalQueueSpec {
    cluster_queue: String,
}

super::custom_resource::custom_resource!(LocalQueue, group: "kueue.x-k8s.io", version: "v1beta1", kind: "LocalQueue", plural: "localqueues");

pub fn local_queue(namespace: &str, name: &str, cluster_queue: &str) -> LocalQueue {
    use k8s_openapi::Resource as _;
    LocalQueue {
        api_version: LocalQueue::API_VERSION,
        kind: LocalQueue::KIND,
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels::common()),
            ..Default::default()
        },
        spec: LocalQueueSpec { cluster_queue: cluster_queue.into() },
    }
}

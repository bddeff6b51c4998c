//! Kueue's LocalQueue: the namespace's door to a ClusterQueue, whose quota (say, 20
//! pods) decides how many of the labelled Jobs run at once. Kueue's webhook suspends
//! each labelled Job at creation and admits it when there is room; bca renders no
//! `suspend` itself, which would fight Kueue under a GitOps controller's self-heal.
//! <https://kueue.sigs.k8s.io/docs/concepts/local_queue/>

use serde_json::{json, Value};

use super::labels;

pub const API_VERSION: &str = "kueue.x-k8s.io/v1beta1";

pub fn local_queue(namespace: &str, name: &str, cluster_queue: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": { "name": name, "namespace": namespace, "labels": labels::common() },
        "spec": { "clusterQueue": cluster_queue },
    })
}

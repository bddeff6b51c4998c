//! The namespace the Jobs run in, with the Pod Security labels that make the API
//! server refuse any pod below the "restricted" standard there.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels;

pub fn namespace(name: &str) -> Namespace {
    let mut labels = labels::common();
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), "restricted".into());
    }
    Namespace {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() },
        ..Default::default()
    }
}

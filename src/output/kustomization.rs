//! The kustomization.yaml of an output directory: the object files in render order.

use serde_json::json;

use crate::render::{yaml::to_yaml, Manifest};

pub const FILE_NAME: &str = "kustomization.yaml";

pub fn kustomization(manifests: &[Manifest]) -> String {
    let resources: Vec<String> = manifests.iter().map(Manifest::file_name).collect();
    to_yaml(&json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }))
}

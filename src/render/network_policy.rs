//! The agent runs arbitrary tools on untrusted code: its pods accept no connections,
//! and reach out only to DNS and HTTPS (GitHub, the model API, package registries).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels;

pub const NAME: &str = "bca-runner-egress";

/// Link-local addresses hold cloud metadata services (169.254.169.254), which hand out
/// node credentials; no agent needs them.
const LINK_LOCAL_V4: &str = "169.254.0.0/16";
const LINK_LOCAL_V6: &str = "fe80::/10";

pub fn network_policy(namespace: &str, extra_ports: &[u16]) -> NetworkPolicy {
    let port = |protocol: &str, port: i32| NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(port)),
        end_port: None,
    };
    let mut https_ports = vec![port("TCP", 443)];
    let mut extra: Vec<u16> = extra_ports.iter().copied().filter(|p| *p != 443).collect();
    extra.sort_unstable();
    extra.dedup();
    https_ports.extend(extra.into_iter().map(|p| port("TCP", i32::from(p))));
    let anywhere_but_link_local = vec![
        NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: "0.0.0.0/0".into(), except: Some(vec![LINK_LOCAL_V4.into()]) }),
            ..Default::default()
        },
        NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: "::/0".into(), except: Some(vec![LINK_LOCAL_V6.into()]) }),
            ..Default::default()
        },
    ];
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(namespace.into()),
            labels: Some(labels::common()),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(labels::NAME.to_string(), labels::RUNNER_APP.to_string())])),
                match_expressions: None,
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: None,
            egress: Some(vec![
                NetworkPolicyEgressRule { ports: Some(vec![port("UDP", 53), port("TCP", 53)]), to: None },
                NetworkPolicyEgressRule { ports: Some(https_ports), to: Some(anywhere_but_link_local) },
            ]),
        }),
    }
}

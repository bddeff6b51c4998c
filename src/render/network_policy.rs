//! The agent runs arbitrary tools on untrusted code: its pods accept no connections,
//! ask only the cluster's DNS, and reach out only to HTTPS on public addresses (GitHub,
//! the model API, package registries). Private and cluster ranges are closed unless a
//! flag opens one. A NetworkPolicy cannot name hosts: per-host control needs an
//! FQDN-aware policy (Cilium, Calico) or an egress proxy.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::labels;
use super::options::Egress;

pub const NAME: &str = "bca-runner-egress";

/// Private, shared (carrier-grade NAT), loopback and link-local ranges: the cluster's
/// own services, the node, and cloud metadata endpoints (169.254.169.254, which hand
/// out node credentials).
pub const NON_PUBLIC_V4: [&str; 6] =
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"];
/// NAT64 prefixes (the well-known 64:ff9b::/96, and 64:ff9b:1::/48 for local use) map
/// IPv4 addresses, private ones included, into IPv6: on a cluster with NAT64 they would
/// reach private IPv4 services on 443 through `::/0`.
pub const NON_PUBLIC_V6: [&str; 5] = ["fc00::/7", "fe80::/10", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48"];

pub fn network_policy(namespace: &str, egress: &Egress) -> NetworkPolicy {
    let port = |protocol: &str, port: i32| NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(port)),
        end_port: None,
    };
    let mut https_ports = vec![port("TCP", 443)];
    let mut extra: Vec<u16> = egress.extra_ports.iter().copied().filter(|p| *p != 443).collect();
    extra.sort_unstable();
    extra.dedup();
    https_ports.extend(extra.into_iter().map(|p| port("TCP", i32::from(p))));
    let block = |cidr: &str, except: &[&str]| NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: (!except.is_empty()).then(|| except.iter().map(|c| c.to_string()).collect()),
        }),
        ..Default::default()
    };
    let mut public = vec![block("0.0.0.0/0", &NON_PUBLIC_V4), block("::/0", &NON_PUBLIC_V6)];
    let mut cidrs = egress.extra_cidrs.clone();
    cidrs.sort();
    cidrs.dedup();
    public.extend(cidrs.iter().map(|c| block(c.as_str(), &[])));
    let (dns_key, dns_value) = &egress.dns_selector;
    let cluster_dns = NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                egress.dns_namespace.to_string(),
            )])),
            match_expressions: None,
        }),
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(dns_key.clone(), dns_value.clone())])),
            match_expressions: None,
        }),
        ip_block: None,
    };
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
                NetworkPolicyEgressRule {
                    ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
                    to: Some(vec![cluster_dns]),
                },
                NetworkPolicyEgressRule { ports: Some(https_ports), to: Some(public) },
            ]),
        }),
    }
}

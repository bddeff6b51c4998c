//! Everything about a render that does not come from the Change file: the flags.

use super::names::{DnsLabel, DnsSubdomain, GitHubHost, GitHubOwner};
use crate::change::model::JobSpec;
use crate::change::values::{ImageRef, Quantity};

/// Sensible defaults for an agent editing one repository: it runs builds and tests.
pub const DEFAULT_CPU_REQUEST: &str = "500m";
pub const DEFAULT_CPU_LIMIT: &str = "2";
pub const DEFAULT_MEMORY_REQUEST: &str = "1Gi";
pub const DEFAULT_MEMORY_LIMIT: &str = "4Gi";
pub const DEFAULT_WORKSPACE_SIZE: &str = "10Gi";
/// The agent's HOME and /tmp, and the runner steps' /tmp: caches and build output.
pub const DEFAULT_SCRATCH_SIZE: &str = "4Gi";
pub const DEFAULT_EPHEMERAL_STORAGE_REQUEST: &str = "2Gi";
/// Kubernetes' cluster DNS, which `NetworkPolicy` lets the pods ask (and nothing else on port 53).
pub const DEFAULT_DNS_NAMESPACE: &str = "kube-system";
pub const DEFAULT_DNS_SELECTOR: &str = "k8s-app=kube-dns";
/// Three hours: long enough for an agent on a large repository, short enough that a
/// stuck one does not hold a node for a day.
pub const DEFAULT_DEADLINE_SECONDS: i64 = 3 * 60 * 60;
pub const DEFAULT_NAMESPACE: &str = "bca-jobs";
/// The most one-repository Jobs a Change renders without pacing. Measured on 2 cores:
/// `kubectl kustomize` (what Argo CD and Flux run) reads 1,000 such Jobs in 6.8 s, 2,000
/// in 30 s with 0.9 GB, 5,000 in 137 s with 2.2 GB, past Argo CD's default 90 s; and
/// each Job starts its agent at once, 500 agents being about 250 CPUs.
pub const MAX_JOBS_UNPACED: usize = 500;
pub const DEFAULT_SECRET_NAME: &str = "bca-credentials";

#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub namespace: DnsLabel,
    /// Overrides the image of every Change (a mirror, an air-gapped registry).
    pub image: Option<ImageRef>,
    pub secret_name: DnsSubdomain,
    pub secret: SecretSource,
    /// Resources and lifetime from flags, which win over a Change's `spec.job`.
    pub job: JobSettings,
    pub storage: Storage,
    pub network_policy: NetworkPolicyMode,
    /// The GitHub organisation the runner forks into; the token's account when `None`.
    pub fork_owner: Option<GitHubOwner>,
    /// Pull request and commit texts.
    pub templates: std::sync::Arc<super::templates::Templates>,
    /// Model endpoint settings for the agents (`--agent-setting NAME=VALUE`).
    pub agent_settings: std::collections::BTreeMap<String, String>,
    /// The GitHub Enterprise host the Changes' repositories may be on; github.com only
    /// when `None`. The token is sent to that one host.
    pub github_host: Option<GitHubHost>,
    /// Which objects to render.
    pub scope: Scope,
    /// `--queue`: the Kueue LocalQueue, over `spec.rollout.queue`.
    pub queue: Option<DnsLabel>,
    /// `--parallelism`: Indexed Jobs, over `spec.rollout.parallelism`.
    pub parallelism: Option<u32>,
    /// Render more than [`MAX_JOBS_UNPACED`] one-repository Jobs of a Change.
    pub allow_many_jobs: bool,
    /// Let branches go to the repositories themselves (`spec.fork: false`, or a fork
    /// owner that owns them), where their CI runs the agent's code before review.
    pub agent_code_in_repository_ci: bool,
    /// `--cluster-queue`: what the LocalQueue `--platform` renders points at.
    pub cluster_queue: Option<DnsLabel>,
}

/// The namespace-wide objects (Namespace, NetworkPolicy, credentials) are shared by
/// every Change in the namespace, so one platform directory owns them; a Change's
/// directory owns only its Jobs. A one-shot render to standard output has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Platform,
    Change,
    Both,
}

impl Scope {
    pub fn platform(self) -> bool {
        self != Scope::Change
    }
    pub fn jobs(self) -> bool {
        self != Scope::Platform
    }
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            namespace: DEFAULT_NAMESPACE.parse().expect("the default is a valid name"),
            image: None,
            secret_name: DEFAULT_SECRET_NAME.parse().expect("the default is a valid name"),
            secret: SecretSource::Existing,
            job: JobSettings::default(),
            storage: Storage::default(),
            network_policy: NetworkPolicyMode::Restricted(Egress::default()),
            fork_owner: None,
            templates: Default::default(),
            agent_settings: Default::default(),
            github_host: None,
            scope: Scope::Both,
            queue: None,
            parallelism: None,
            allow_many_jobs: false,
            agent_code_in_repository_ci: false,
            cluster_queue: None,
        }
    }
}

/// The kind of external-secrets.io store an ExternalSecret reads from. Spelt as the
/// Kubernetes kinds, since that is what users copy from their cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum StoreKind {
    #[value(name = "ClusterSecretStore")]
    ClusterSecretStore,
    #[value(name = "SecretStore")]
    SecretStore,
}

/// Where the Jobs' credentials Secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The Secret exists in the cluster; nothing is rendered for it.
    Existing,
    /// Render the Secret with token values read from the environment.
    FromEnv,
    /// Render an external-secrets.io ExternalSecret that fills the Secret from a store.
    External { store: DnsSubdomain, store_kind: StoreKind },
}

/// What the flags say about a Job's resources and lifetime; `None` where no flag was
/// given, so a Change's `spec.job` and then the defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSettings {
    pub cpu_request: Option<Quantity>,
    pub cpu_limit: Option<Quantity>,
    pub memory_request: Option<Quantity>,
    pub memory_limit: Option<Quantity>,
    pub workspace_size: Option<Quantity>,
    pub deadline_seconds: Option<i64>,
    pub ttl_seconds: Option<i32>,
}

/// Scratch space and ephemeral storage, from flags only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub scratch_size: Quantity,
    pub ephemeral_storage_request: Quantity,
    /// `None`: room for every volume at its size limit (see `Resources::ephemeral_storage_limit`).
    pub ephemeral_storage_limit: Option<Quantity>,
}

impl Default for Storage {
    fn default() -> Storage {
        Storage {
            scratch_size: quantity(DEFAULT_SCRATCH_SIZE),
            ephemeral_storage_request: quantity(DEFAULT_EPHEMERAL_STORAGE_REQUEST),
            ephemeral_storage_limit: None,
        }
    }
}

fn quantity(s: &str) -> Quantity {
    Quantity::parse(s).expect("the defaults are quantities")
}

/// One Change's Jobs: flag, else `spec.job`, else the default, for each setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: Quantity,
    pub cpu_limit: Quantity,
    pub memory_request: Quantity,
    pub memory_limit: Quantity,
    pub workspace_size: Quantity,
    pub storage: Storage,
    pub deadline_seconds: i64,
    pub ttl_seconds: Option<i32>,
}

impl Resources {
    pub fn resolve(flags: &JobSettings, change: Option<&JobSpec>, storage: &Storage) -> Resources {
        let change = change.cloned().unwrap_or_default();
        let pick = |flag: &Option<Quantity>, spec: Option<Quantity>, default: &str| {
            flag.clone().or(spec).unwrap_or_else(|| quantity(default))
        };
        Resources {
            cpu_request: pick(&flags.cpu_request, change.cpu_request, DEFAULT_CPU_REQUEST),
            cpu_limit: pick(&flags.cpu_limit, change.cpu_limit, DEFAULT_CPU_LIMIT),
            memory_request: pick(&flags.memory_request, change.memory_request, DEFAULT_MEMORY_REQUEST),
            memory_limit: pick(&flags.memory_limit, change.memory_limit, DEFAULT_MEMORY_LIMIT),
            workspace_size: pick(&flags.workspace_size, change.workspace_size, DEFAULT_WORKSPACE_SIZE),
            storage: storage.clone(),
            deadline_seconds: flags.deadline_seconds.or(change.deadline).unwrap_or(DEFAULT_DEADLINE_SECONDS),
            ttl_seconds: flags.ttl_seconds.or(change.ttl),
        }
    }

    /// A request above its limit, which the API server would refuse: (resource, request, limit).
    pub fn request_above_limit(&self) -> Option<(&'static str, Quantity, Quantity)> {
        [
            ("cpu", self.cpu_request.clone(), self.cpu_limit.clone()),
            ("memory", self.memory_request.clone(), self.memory_limit.clone()),
            ("ephemeral-storage", self.storage.ephemeral_storage_request.clone(), self.ephemeral_storage_limit()),
        ]
        .into_iter()
        .find(|(_, request, limit)| request.value() > limit.value())
    }

    /// The containers' ephemeral-storage limit. The kubelet holds a pod's emptyDirs
    /// against its containers' limits, so the default leaves room for all of them at
    /// their size limits (three the repository's size, four scratch) plus 1 GiB of logs.
    pub fn ephemeral_storage_limit(&self) -> Quantity {
        if let Some(limit) = &self.storage.ephemeral_storage_limit {
            return limit.clone();
        }
        let mib = 3 * self.workspace_size.mebibytes() + 4 * self.storage.scratch_size.mebibytes() + 1024;
        quantity(&format!("{mib}Mi"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkPolicyMode {
    /// No ingress; egress to the cluster DNS and to HTTPS on public addresses.
    Restricted(Egress),
    /// Render no NetworkPolicy (the cluster manages egress some other way).
    None,
}

/// Where the pods may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    /// TCP ports besides 443.
    pub extra_ports: Vec<u16>,
    /// Private ranges to allow as well (a GitHub Enterprise or model endpoint inside).
    pub extra_cidrs: Vec<Cidr>,
    /// The namespace and pod label of the cluster DNS.
    pub dns_namespace: DnsLabel,
    pub dns_selector: (String, String),
}

impl Default for Egress {
    fn default() -> Egress {
        let (key, value) = DEFAULT_DNS_SELECTOR.split_once('=').expect("KEY=VALUE");
        Egress {
            extra_ports: Vec::new(),
            extra_cidrs: Vec::new(),
            dns_namespace: DEFAULT_DNS_NAMESPACE.parse().expect("the default is a valid name"),
            dns_selector: (key.into(), value.into()),
        }
    }
}

/// An IPv4 or IPv6 CIDR block, as `NetworkPolicy` ipBlocks take them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr(String);

impl Cidr {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || {
            format!("\"{s}\" is not a CIDR block: expected an address and a prefix length, such as 10.20.0.0/16 or fd00::/8")
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = match addr.parse::<std::net::IpAddr>().map_err(|_| bad())? {
            std::net::IpAddr::V4(_) => 32,
            std::net::IpAddr::V6(_) => 128,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr(s.to_string()))
    }
}

/// `KEY=VALUE` for a label selector flag.
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() && !v.contains('=') => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("\"{s}\" is not a label: expected KEY=VALUE, such as k8s-app=kube-dns")),
    }
}

/// `NAME=VALUE` for `--agent-setting`: a model endpoint setting some agent reads.
/// Secrets are refused: the contract is in the Job for everyone to read.
pub fn parse_agent_setting(s: &str) -> Result<(String, String), String> {
    use bca_runner::Agent;
    let Some((name, value)) = s.split_once('=') else {
        return Err("expected NAME=VALUE".to_string());
    };
    if let Some(agent) = Agent::ALL.into_iter().find(|a| a.endpoint_key_var() == Some(name)) {
        return Err(format!(
            "{name} is a secret and does not belong in a Job: put it in the credentials Secret under key {}; \
             with a provider base URL set, the runner gives it to {agent} as the endpoint's API key",
            agent.secret_key()
        ));
    }
    if !Agent::ALL.iter().any(|a| a.endpoint_settings().contains(&name)) {
        let known: Vec<&str> = Agent::ALL.iter().flat_map(|a| a.endpoint_settings().iter().copied()).collect();
        return Err(format!("unknown agent setting {name}; expected one of: {}", known.join(", ")));
    }
    Ok((name.to_string(), value.to_string()))
}

pub fn parse_image(s: &str) -> Result<ImageRef, String> {
    ImageRef::parse(s).map_err(|e| match e.help {
        Some(help) => format!("{}; {help}", e.message),
        None => e.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_change_and_the_change_over_defaults() {
        let q = |s: &str| Quantity::parse(s).unwrap();
        let flags = JobSettings { cpu_limit: Some(q("8")), deadline_seconds: Some(600), ..Default::default() };
        let change =
            JobSpec { cpu_limit: Some(q("4")), memory_limit: Some(q("16Gi")), ttl: Some(60), ..Default::default() };
        let r = Resources::resolve(&flags, Some(&change), &Storage::default());
        assert_eq!((r.cpu_limit.as_str(), r.memory_limit.as_str(), r.cpu_request.as_str()), ("8", "16Gi", "500m"));
        assert_eq!((r.deadline_seconds, r.ttl_seconds), (600, Some(60)));
        assert_eq!(r.request_above_limit(), None);
        let defaults = Resources::resolve(&JobSettings::default(), None, &Storage::default());
        assert_eq!(defaults.ephemeral_storage_limit().as_str(), format!("{}Mi", 3 * 10240 + 4 * 4096 + 1024));
        let too_much = JobSettings { memory_request: Some(q("32Gi")), ..Default::default() };
        let r = Resources::resolve(&too_much, Some(&change), &Storage::default());
        assert_eq!(r.request_above_limit(), Some(("memory", q("32Gi"), q("16Gi"))));
    }

    #[test]
    fn cidrs_and_labels() {
        for ok in ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8", "::1/128"] {
            assert!(ok.parse::<Cidr>().is_ok(), "{ok}");
        }
        for bad in ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "host/8", "10.0.0/8"] {
            assert!(bad.parse::<Cidr>().unwrap_err().contains("is not a CIDR block"), "{bad}");
        }
        assert_eq!(parse_label("k8s-app=coredns"), Ok(("k8s-app".into(), "coredns".into())));
        assert!(parse_label("k8s-app").is_err());
    }

    #[test]
    fn agent_settings() {
        assert_eq!(parse_agent_setting("COPILOT_MODEL=gpt-5=x"), Ok(("COPILOT_MODEL".into(), "gpt-5=x".into())));
        assert!(parse_agent_setting("COPILOT_MODEL").unwrap_err().contains("expected NAME=VALUE"));
        assert!(parse_agent_setting("COPILOT_PROVIDER_API_KEY=k").unwrap_err().contains("under key copilot-token"));
        assert!(parse_agent_setting("GEMINI_API_KEY=k").unwrap_err().contains("unknown agent setting GEMINI_API_KEY"));
    }
}

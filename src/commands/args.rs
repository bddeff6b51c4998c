//! The render flags, shared by `render`, `diff` and `run --local`, and which of them a
//! command line gave: `render --output-dir` records those in the directory, and `diff`
//! renders with them again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser};

use crate::change::model::MAX_PARALLELISM;
use crate::change::values::{ImageRef, Quantity};
use crate::output::settings::Flags;
use crate::render::names::{DnsLabel, DnsSubdomain, GitHubHost, GitHubOwner};
use crate::render::options::{
    self as opts, JobSettings, NetworkPolicyMode, RenderOptions, Scope, SecretSource, Storage, StoreKind,
};
use crate::render::templates::Templates;

/// Flags that shape the rendered objects.
#[derive(Args, Debug, Clone)]
pub struct RenderArgs {
    /// Render the namespace-wide objects the Changes share (Namespace, NetworkPolicy,
    /// credentials) instead of their Jobs: what one platform directory owns. Without it,
    /// render --output-dir writes only the Changes' Jobs, and standard output gets both.
    #[arg(long)]
    pub platform: bool,
    /// Admit the Jobs through this Kueue LocalQueue (label kueue.x-k8s.io/queue-name),
    /// over spec.rollout.queue. With --platform, also render the LocalQueue.
    #[arg(long, value_name = "NAME")]
    pub queue: Option<DnsLabel>,
    /// With --platform and --queue: the ClusterQueue the LocalQueue points at [default:
    /// the queue's name].
    #[arg(long, value_name = "NAME")]
    pub cluster_queue: Option<DnsLabel>,
    /// Run at most N agents of a Change at once: its repositories spread over N Indexed
    /// Jobs that run theirs one after another (over spec.rollout.parallelism). Also what
    /// a fleet of thousands of repositories needs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PARALLELISM)))]
    pub parallelism: Option<u32>,
    /// Render a Change of more than 500 repositories as one Job per repository anyway:
    /// every agent starts at once, and GitOps tools may take minutes to read the Jobs.
    #[arg(long)]
    pub allow_many_jobs: bool,
    /// Accept that a branch pushed to a repository itself (spec.fork: false, or a fork
    /// owner that owns the repository) runs the agent's code in that repository's CI,
    /// with its secrets, before anyone reviews it. Without it such Changes are refused.
    #[arg(long)]
    pub allow_agent_code_in_repository_ci: bool,
    /// Namespace of every rendered object.
    #[arg(short, long, default_value = opts::DEFAULT_NAMESPACE)]
    pub namespace: DnsLabel,
    /// The runner image (by default the one of this bca version), for a mirror or an
    /// air-gapped registry. Every step that holds the GitHub token runs it; the agent's
    /// and the checks' steps run spec.image when the Change sets one, and this image
    /// otherwise.
    #[arg(long, value_parser = opts::parse_image)]
    pub image: Option<ImageRef>,
    /// The GitHub Enterprise host the Changes' repositories are on. The GitHub token is
    /// sent to that host only; without this flag, only github.com repositories render.
    #[arg(long, value_name = "HOST")]
    pub github_host: Option<GitHubHost>,
    /// Name of the Secret holding the tokens (keys github-token, and the agent's:
    /// copilot-token, gemini-api-key, anthropic-api-key or openai-api-key).
    #[arg(long, default_value = opts::DEFAULT_SECRET_NAME)]
    pub secret_name: DnsSubdomain,
    /// Also render the Secret, with tokens from GITHUB_TOKEN and the agent's variable
    /// (COPILOT_TOKEN, GEMINI_API_KEY, ANTHROPIC_API_KEY or OPENAI_API_KEY). By default the
    /// Jobs use a Secret that already exists. bca diff refuses it: it would print tokens.
    #[arg(long, conflicts_with = "external_secret")]
    pub secret_from_env: bool,
    /// Also render an external-secrets.io ExternalSecret that fills the Secret from this
    /// secret store (remote key: the Secret's name; properties: its keys).
    #[arg(long, value_name = "STORE")]
    pub external_secret: Option<DnsSubdomain>,
    /// Kind of the secret store named by --external-secret.
    #[arg(long, value_enum, default_value_t = StoreKind::ClusterSecretStore, requires = "external_secret")]
    pub external_secret_store_kind: StoreKind,
    /// CPU request of each container [default: spec.job.cpuRequest, else 500m].
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_request: Option<Quantity>,
    /// CPU limit of each container [default: spec.job.cpuLimit, else 2].
    #[arg(long, value_name = "QUANTITY")]
    pub cpu_limit: Option<Quantity>,
    /// Memory request of each container [default: spec.job.memoryRequest, else 1Gi].
    #[arg(long, value_name = "QUANTITY")]
    pub memory_request: Option<Quantity>,
    /// Memory limit of each container [default: spec.job.memoryLimit, else 4Gi].
    #[arg(long, value_name = "QUANTITY")]
    pub memory_limit: Option<Quantity>,
    /// Size limit of the volumes that hold the repository (the agent's work tree, the
    /// runner's git directory, the agent's changes on their way to publish) [default:
    /// spec.job.workspaceSize, else 10Gi].
    #[arg(long, value_name = "QUANTITY")]
    pub workspace_size: Option<Quantity>,
    /// Size limit of the scratch volumes (the agent's HOME and /tmp, the runner's /tmp).
    #[arg(long, value_name = "QUANTITY", default_value = opts::DEFAULT_SCRATCH_SIZE)]
    pub scratch_size: Quantity,
    /// Ephemeral-storage request of each container.
    #[arg(long, value_name = "QUANTITY", default_value = opts::DEFAULT_EPHEMERAL_STORAGE_REQUEST)]
    pub ephemeral_storage_request: Quantity,
    /// Ephemeral-storage limit of each container [default: room for every volume at its
    /// size limit, plus 1Gi].
    #[arg(long, value_name = "QUANTITY")]
    pub ephemeral_storage_limit: Option<Quantity>,
    /// Seconds each repository's pod may run before Kubernetes stops it (the pod's
    /// activeDeadlineSeconds) [default: spec.job.deadline, else 10800].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i64).range(60..=i64::from(i32::MAX)))]
    pub deadline: Option<i64>,
    /// Delete finished Jobs after SECONDS (ttlSecondsAfterFinished) [default:
    /// spec.job.ttl, else never: a GitOps controller would re-create a deleted Job].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i32).range(0..))]
    pub ttl: Option<i32>,
    /// Render no NetworkPolicy (by default the pods get no ingress, and egress only to
    /// the cluster DNS and to HTTPS on public addresses).
    #[arg(long, conflicts_with_all = ["egress_port", "egress_cidr"])]
    pub no_network_policy: bool,
    /// Use the pull request and commit templates in DIR instead of the built-in ones
    /// (any of pull-request-title.j2, pull-request-body.md.j2, commit-message.j2).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Model endpoint setting for the agents, NAME=VALUE (repeatable): COPILOT_MODEL,
    /// COPILOT_OFFLINE, COPILOT_PROVIDER_BASE_URL, COPILOT_PROVIDER_TYPE,
    /// COPILOT_PROVIDER_WIRE_API, GEMINI_MODEL, GOOGLE_GEMINI_BASE_URL, ANTHROPIC_BASE_URL,
    /// ANTHROPIC_MODEL, OPENAI_BASE_URL, OPENAI_MODEL. The endpoint's API key goes in the
    /// Secret, under the agent's key.
    // Parsed in options(), not by clap: clap would echo a refused value, which may be a
    // secret someone put on the wrong flag.
    #[arg(long, value_name = "NAME=VALUE")]
    pub agent_setting: Vec<String>,
    /// Fork into this GitHub organisation instead of the token's own account.
    #[arg(long, value_name = "ORG")]
    pub fork_org: Option<GitHubOwner>,
    /// Also allow egress to this TCP port (repeatable), e.g. for GitHub Enterprise on 8443.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub egress_port: Vec<u16>,
    /// Also allow egress to this address range (repeatable), e.g. a GitHub Enterprise or
    /// model endpoint on a private network. Private ranges are closed by default.
    #[arg(long, value_name = "CIDR")]
    pub egress_cidr: Vec<opts::Cidr>,
    /// Namespace of the cluster DNS the pods may ask.
    #[arg(long, value_name = "NAMESPACE", default_value = opts::DEFAULT_DNS_NAMESPACE)]
    pub dns_namespace: DnsLabel,
    /// Pod label of the cluster DNS the pods may ask.
    #[arg(long, value_name = "KEY=VALUE", default_value = opts::DEFAULT_DNS_SELECTOR, value_parser = opts::parse_label)]
    pub dns_selector: (String, String),
}

impl RenderArgs {
    pub fn options(&self) -> anyhow::Result<RenderOptions> {
        let secret = match (&self.external_secret, self.secret_from_env) {
            (Some(store), _) => {
                SecretSource::External { store: store.clone(), store_kind: self.external_secret_store_kind }
            }
            (None, true) => SecretSource::FromEnv,
            (None, false) => SecretSource::Existing,
        };
        let templates = match &self.templates {
            Some(dir) => Templates::from_dir(dir).map_err(|e| anyhow::anyhow!("--templates {}: {e}", dir.display()))?,
            None => Templates::default(),
        };
        Ok(RenderOptions {
            namespace: self.namespace.clone(),
            image: self.image.clone(),
            secret_name: self.secret_name.clone(),
            secret,
            job: JobSettings {
                cpu_request: self.cpu_request.clone(),
                cpu_limit: self.cpu_limit.clone(),
                memory_request: self.memory_request.clone(),
                memory_limit: self.memory_limit.clone(),
                workspace_size: self.workspace_size.clone(),
                deadline_seconds: self.deadline,
                ttl_seconds: self.ttl,
            },
            storage: Storage {
                scratch_size: self.scratch_size.clone(),
                ephemeral_storage_request: self.ephemeral_storage_request.clone(),
                ephemeral_storage_limit: self.ephemeral_storage_limit.clone(),
            },
            network_policy: if self.no_network_policy {
                NetworkPolicyMode::None
            } else {
                NetworkPolicyMode::Restricted(opts::Egress {
                    extra_ports: self.egress_port.clone(),
                    extra_cidrs: self.egress_cidr.clone(),
                    dns_namespace: self.dns_namespace.clone(),
                    dns_selector: self.dns_selector.clone(),
                })
            },
            fork_owner: self.fork_org.clone(),
            scope: if self.platform { Scope::Platform } else { Scope::Both },
            queue: self.queue.clone(),
            parallelism: self.parallelism,
            allow_many_jobs: self.allow_many_jobs,
            agent_code_in_repository_ci: self.allow_agent_code_in_repository_ci,
            cluster_queue: self.cluster_queue.clone(),
            github_host: self.github_host.clone(),
            templates: templates.into(),
            agent_settings: self
                .agent_setting
                .iter()
                .map(|s| opts::parse_agent_setting(s).map_err(|e| anyhow::anyhow!("--agent-setting: {e}")))
                .collect::<anyhow::Result<_>>()?,
        })
    }
}

/// The render flags `matches` (of render, diff or run) holds from the command line.
pub fn given_flags(matches: &ArgMatches) -> Flags {
    let mut given = BTreeMap::new();
    for arg in RenderArgs::augment_args(clap::Command::new("render")).get_arguments() {
        let id = arg.get_id().as_str();
        // Subcommands without the render flags have none of these ids.
        if matches.try_contains_id(id).is_err() || matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let long = arg.get_long().unwrap_or(id).to_string();
        let values = if arg.get_action().takes_values() {
            matches.get_raw(id).into_iter().flatten().map(|v| v.to_string_lossy().into_owned()).collect()
        } else {
            Vec::new()
        };
        given.insert(long, values);
    }
    given
}

/// The command-line words for `flags`.
pub fn to_argv(flags: &Flags) -> Vec<String> {
    let mut argv = Vec::new();
    for (long, values) in flags {
        if values.is_empty() {
            argv.push(format!("--{long}"));
        }
        for value in values {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv
}

#[derive(Parser)]
#[command(name = "bca render")]
struct Recorded {
    #[command(flatten)]
    render: RenderArgs,
}

/// Parses flags back (from a directory's record), with clap's own checks and messages.
pub fn parse_flags(flags: &Flags) -> Result<RenderArgs, clap::Error> {
    let argv = std::iter::once("bca render".to_string()).chain(to_argv(flags));
    let matches = Recorded::command().try_get_matches_from(argv)?;
    Ok(Recorded::from_arg_matches(&matches)?.render)
}

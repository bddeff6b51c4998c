//! The `bca` command line: argument parsing, one library call per subcommand, and the
//! exit code the library chose (0 ok, 1 invalid input or differences, 2 usage, I/O or
//! internal error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use bca::change::values::ImageRef;
use bca::commands::{self, diff::DiffRequest, render::RenderRequest, run::RunRequest, Outcome, Style, EXIT_ERROR};
use bca::render::options::{self as opts, NetworkPolicyMode, RenderOptions, Resources, SecretSource};
use bca::render::templates::Templates;

#[derive(Parser)]
#[command(
    name = "bca",
    version,
    about = "Run an AI coding agent across many repositories as Kubernetes Jobs, one pull request each",
    after_help = "Exit codes: 0 success; 1 invalid input (or, for diff, differences); 2 usage, I/O or internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check Change files and print a one-line summary of each.
    Validate {
        /// Change files to check; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print nothing for valid files.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Render the Kubernetes manifests that run Changes: one Job per repository.
    ///
    /// Prints a YAML stream for `kubectl apply -f -`, or writes one file per object and a
    /// kustomization.yaml into --output-dir. Never talks to a cluster.
    Render {
        /// Change files to render; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        render: Box<RenderArgs>,
        /// Write one file per object and a kustomization.yaml into DIR, replacing what an
        /// earlier render wrote there.
        #[arg(short, long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// With --output-dir: replace DIR even if it holds files bca did not write (they
        /// are deleted).
        #[arg(long, requires = "output_dir")]
        force: bool,
        /// With --output-dir and --secret-from-env: write the plaintext tokens into DIR
        /// anyway. A directory is usually committed; prefer --external-secret.
        #[arg(long, requires_all = ["output_dir", "secret_from_env"])]
        unsafe_write_plaintext_secret: bool,
    },
    /// Compare Changes with the manifests committed in DIR (by `render --output-dir`).
    ///
    /// Prints nothing and exits 0 when DIR is current; prints a unified diff per file and
    /// a summary of the Jobs that would be added, removed, replaced or changed, and exits
    /// 1, when it is not. Takes the flags of `render`. Never writes anything.
    Diff {
        /// The Change file(s) the directory was rendered from; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// The directory `bca render --output-dir` wrote.
        #[arg(value_name = "DIR", required = true)]
        dir: PathBuf,
        #[command(flatten)]
        render: Box<RenderArgs>,
    },
    /// Run Changes' Jobs on this machine through the same rendered manifests.
    ///
    /// One repository after another: to try a Change on one repository before rolling it
    /// out to hundreds.
    ///
    /// Needs bca-runner (beside bca or on PATH), git and the agent CLI on PATH, and the
    /// tokens in GITHUB_TOKEN and COPILOT_TOKEN or GEMINI_API_KEY. Prints each
    /// repository's result line; exits 1 if any Job failed.
    ///
    /// A laptop run has no container isolation between the agent and the push token: the
    /// agent runs as you, and your shell holds GITHUB_TOKEN. bca writes each secret only
    /// while the step that reads it runs, makes itself non-dumpable and scrubs the token
    /// variables from its environment; use a token that reaches only the repositories you
    /// try.
    Run {
        /// Run here, not on a cluster (the only mode; for a cluster use `bca render | kubectl apply -f -`).
        #[arg(long, required = true)]
        local: bool,
        /// Change files to run; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// Run only this repository (OWNER/NAME or its URL; repeatable), to try a Change
        /// on one repository first.
        #[arg(long = "repo", value_name = "OWNER/NAME")]
        only: Vec<String>,
        #[command(flatten)]
        render: Box<RenderArgs>,
    },
    /// Print the JSON Schema of the Change file (also at schema/change.schema.json).
    Schema,
}

/// Flags that shape the rendered objects.
#[derive(Args)]
struct RenderArgs {
    /// Namespace of every rendered object.
    #[arg(short, long, default_value = opts::DEFAULT_NAMESPACE, value_parser = opts::parse_dns_label)]
    namespace: String,
    /// The runner image (by default the one of this bca version), for a mirror or an
    /// air-gapped registry. Every step that holds the GitHub token runs it; the agent's
    /// step runs spec.image when the Change sets one, and this image otherwise.
    #[arg(long, value_parser = opts::parse_image)]
    image: Option<ImageRef>,
    /// The GitHub Enterprise host the Changes' repositories are on. The GitHub token is
    /// sent to that host only; without this flag, only github.com repositories render.
    #[arg(long, value_name = "HOST", value_parser = opts::parse_github_host)]
    github_host: Option<String>,
    /// Name of the Secret holding the tokens (keys github-token, copilot-token,
    /// gemini-api-key).
    #[arg(long, default_value = opts::DEFAULT_SECRET_NAME, value_parser = opts::parse_dns_subdomain)]
    secret_name: String,
    /// Also render the Secret, with tokens from GITHUB_TOKEN and COPILOT_TOKEN or
    /// GEMINI_API_KEY. By default the Jobs use a Secret that already exists.
    #[arg(long, conflicts_with = "external_secret")]
    secret_from_env: bool,
    /// Also render an external-secrets.io ExternalSecret that fills the Secret from this
    /// secret store (remote key: the Secret's name; properties: its keys).
    #[arg(long, value_name = "STORE", value_parser = opts::parse_dns_subdomain)]
    external_secret: Option<String>,
    /// Kind of the secret store named by --external-secret.
    #[arg(long, value_enum, default_value_t = StoreKind::ClusterSecretStore, requires = "external_secret")]
    external_secret_store_kind: StoreKind,
    /// CPU request of each container.
    #[arg(long, default_value = opts::DEFAULT_CPU_REQUEST, value_parser = opts::parse_quantity)]
    cpu_request: String,
    /// CPU limit of each container.
    #[arg(long, default_value = opts::DEFAULT_CPU_LIMIT, value_parser = opts::parse_quantity)]
    cpu_limit: String,
    /// Memory request of each container.
    #[arg(long, default_value = opts::DEFAULT_MEMORY_REQUEST, value_parser = opts::parse_quantity)]
    memory_request: String,
    /// Memory limit of each container.
    #[arg(long, default_value = opts::DEFAULT_MEMORY_LIMIT, value_parser = opts::parse_quantity)]
    memory_limit: String,
    /// Size limit of the volumes that hold the repository (the agent's work tree, the
    /// runner's git directory, the agent's changes on their way to publish).
    #[arg(long, default_value = opts::DEFAULT_WORKSPACE_SIZE, value_parser = opts::parse_quantity)]
    workspace_size: String,
    /// Size limit of the scratch volumes (the agent's HOME and /tmp, the runner's /tmp).
    #[arg(long, default_value = opts::DEFAULT_SCRATCH_SIZE, value_parser = opts::parse_quantity)]
    scratch_size: String,
    /// Ephemeral-storage request of each container.
    #[arg(long, default_value = opts::DEFAULT_EPHEMERAL_STORAGE_REQUEST, value_parser = opts::parse_quantity)]
    ephemeral_storage_request: String,
    /// Ephemeral-storage limit of each container [default: room for every volume at its
    /// size limit, plus 1Gi].
    #[arg(long, value_parser = opts::parse_quantity)]
    ephemeral_storage_limit: Option<String>,
    /// Seconds a Job may run before Kubernetes stops it (activeDeadlineSeconds).
    #[arg(long, value_name = "SECONDS", default_value_t = opts::DEFAULT_DEADLINE_SECONDS,
          value_parser = clap::value_parser!(i64).range(60..))]
    deadline: i64,
    /// Delete finished Jobs after SECONDS (ttlSecondsAfterFinished). Off by default: a
    /// GitOps controller would re-create a deleted Job and run the agent again.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(i32).range(0..))]
    ttl: Option<i32>,
    /// Render no NetworkPolicy (by default the pods get no ingress, and egress only to
    /// the cluster DNS and to HTTPS on public addresses).
    #[arg(long, conflicts_with_all = ["egress_port", "egress_cidr"])]
    no_network_policy: bool,
    /// Use the pull request and commit templates in DIR instead of the built-in ones
    /// (any of pull-request-title.j2, pull-request-body.md.j2, commit-message.j2).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Model endpoint setting for the agents, NAME=VALUE (repeatable): COPILOT_MODEL,
    /// COPILOT_OFFLINE, COPILOT_PROVIDER_BASE_URL, COPILOT_PROVIDER_TYPE,
    /// COPILOT_PROVIDER_WIRE_API, GEMINI_MODEL, GOOGLE_GEMINI_BASE_URL. The endpoint's API
    /// key goes in the Secret, under the agent's key.
    // Parsed in options(), not by clap: clap would echo a refused value, which may be a
    // secret someone put on the wrong flag.
    #[arg(long, value_name = "NAME=VALUE")]
    agent_setting: Vec<String>,
    /// Fork into this GitHub organisation instead of the token's own account.
    #[arg(long, value_name = "ORG", value_parser = opts::parse_github_owner)]
    fork_org: Option<String>,
    /// Also allow egress to this TCP port (repeatable), e.g. for GitHub Enterprise on 8443.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    egress_port: Vec<u16>,
    /// Also allow egress to this address range (repeatable), e.g. a GitHub Enterprise or
    /// model endpoint on a private network. Private ranges are closed by default.
    #[arg(long, value_name = "CIDR")]
    egress_cidr: Vec<opts::Cidr>,
    /// Namespace of the cluster DNS the pods may ask.
    #[arg(long, value_name = "NAMESPACE", default_value = opts::DEFAULT_DNS_NAMESPACE, value_parser = opts::parse_dns_label)]
    dns_namespace: String,
    /// Pod label of the cluster DNS the pods may ask.
    #[arg(long, value_name = "KEY=VALUE", default_value = opts::DEFAULT_DNS_SELECTOR, value_parser = opts::parse_label)]
    dns_selector: (String, String),
}

/// Spelt as the Kubernetes kinds, since that is what users copy from their cluster.
#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    #[value(name = "ClusterSecretStore")]
    ClusterSecretStore,
    #[value(name = "SecretStore")]
    SecretStore,
}

impl RenderArgs {
    fn options(&self) -> anyhow::Result<RenderOptions> {
        let secret = match (&self.external_secret, self.secret_from_env) {
            (Some(store), _) => SecretSource::External {
                store: store.clone(),
                store_kind: match self.external_secret_store_kind {
                    StoreKind::ClusterSecretStore => "ClusterSecretStore",
                    StoreKind::SecretStore => "SecretStore",
                }
                .to_string(),
            },
            (None, true) => SecretSource::FromEnv,
            (None, false) => SecretSource::Existing,
        };
        let templates = match &self.templates {
            Some(dir) => Templates::from_dir(dir)?,
            None => Templates::default(),
        };
        Ok(RenderOptions {
            namespace: self.namespace.clone(),
            image: self.image.clone(),
            secret_name: self.secret_name.clone(),
            secret,
            resources: Resources {
                cpu_request: self.cpu_request.clone(),
                cpu_limit: self.cpu_limit.clone(),
                memory_request: self.memory_request.clone(),
                memory_limit: self.memory_limit.clone(),
                workspace_size: self.workspace_size.clone(),
                scratch_size: self.scratch_size.clone(),
                ephemeral_storage_request: self.ephemeral_storage_request.clone(),
                ephemeral_storage_limit: self.ephemeral_storage_limit.clone(),
            },
            deadline_seconds: self.deadline,
            ttl_seconds: self.ttl,
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_ERROR) } else { ExitCode::SUCCESS };
        }
    };
    let style = Style { color: bca::terminal::stderr_color() };
    let env = |name: &str| std::env::var(name).ok();
    let outcome = match cli.command {
        Command::Validate { files, quiet } => commands::validate::validate(&files, quiet, style),
        Command::Render { files, render, output_dir, force, unsafe_write_plaintext_secret } => {
            let request = render.options().map(|options| RenderRequest {
                files,
                options,
                output_dir,
                force,
                allow_plaintext_secret: unsafe_write_plaintext_secret,
            });
            request.and_then(|request| commands::render::render(&request, &env, style))
        }
        Command::Diff { files, dir, render } => {
            let request = render.options().map(|options| DiffRequest { files, options, dir });
            request.and_then(|request| commands::diff::diff(&request, &env, style, bca::terminal::stdout_color()))
        }
        Command::Run { local: _, files, only, render } => {
            let request = render.options().map(|options| RunRequest { files, options, only });
            request.and_then(|request| commands::run::run_local(&request, &env, style))
        }
        Command::Schema => Ok(Outcome { stdout: bca::change::schema::json_schema(), ..Outcome::default() }),
    };
    match outcome {
        Ok(outcome) => {
            let _ = std::io::stdout().lock().write_all(outcome.stdout.as_bytes());
            let _ = std::io::stderr().lock().write_all(outcome.stderr.as_bytes());
            ExitCode::from(outcome.code)
        }
        Err(e) => {
            eprintln!("bca: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

//! Runs rendered Jobs on this machine the way a kubelet would: the same manifests
//! `bca render` prints, their volumes as temporary directories, the Secret's keys as
//! files, and each container's `command` in order. For trying a Change on one
//! repository before rolling it out to hundreds (`bca run --local`).
//!
//! What differs from a real pod, all of it here:
//! - Containers run as processes of the current user on this machine, with its `git`,
//!   agent CLIs and `bca-runner`, not in the runner image; no securityContext,
//!   resources or NetworkPolicy is enforced. The pod's `activeDeadlineSeconds` is: a
//!   container still running at it is stopped with its process group (a kubelet stops
//!   every process of the pod; here a process that left the group outlives it).
//! - Volumes are temporary directories; a mount path reaches the runner through its
//!   path flags (`--workspace`, `--secrets`, `--contract`, `--state`, `--handoff`,
//!   `--verification`, `--termination-log`), and `HOME`/`TMPDIR` point at the mounted directories.
//! - The Secret comes from the environment (as with `render --secret-from-env`), not
//!   from the cluster. A secret volume's keys are written just before the container
//!   that mounts it starts and removed when it ends, so the GitHub token is not on
//!   disk while the agent runs, and each container runs in a PID namespace of its own
//!   ([`isolation`]), so nothing it started outlives it. Still, the agent runs as the
//!   same user as `bca`, whose shell holds the token: a laptop run has no container
//!   between the agent and the push token. `bca` makes itself non-dumpable so the agent
//!   cannot read its memory.
//! - Read-only mounts are not enforced.
//! - Besides the container's own `env`, the processes get `PATH` and the variables in
//!   [`PASSTHROUGH`] and the agents' model endpoint settings from this environment.
//! - A failed container ends the pod at once: no `backoffLimit` retry, no
//!   `podFailurePolicy`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bca_runner::{pod, Agent};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, Volume};

/// Variables copied from the caller's environment into every container, besides each
/// agent's model endpoint settings ([`Agent::passthrough_vars`]).
pub const PASSTHROUGH: [&str; 6] =
    ["GITHUB_API_URL", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "LANG", "NO_COLOR"];

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{action} {path}: {source}")]
    Io { action: &'static str, path: String, source: std::io::Error },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LocalError {
    let path = path.display().to_string();
    move |source| LocalError::Io { action, path, source }
}

/// How one container went.
#[derive(Debug)]
pub struct ContainerRun {
    pub name: String,
    pub duration: Duration,
    pub exit_code: Option<i32>,
}

/// How one Job's pod went.
#[derive(Debug)]
pub struct PodRun {
    pub containers: Vec<ContainerRun>,
    /// The main container's termination message (the runner's result line), or the
    /// failed container's.
    pub message: String,
    pub succeeded: bool,
}

/// How each container's processes are kept apart: `unshare` gives each its own PID
/// namespace (in a user namespace, so no privilege is needed where Linux allows
/// unprivileged user namespaces), with the step as its PID 1. Everything a step started,
/// a `setsid` child included, ends when the step does, before the next step's secrets
/// are written; and the agent's step ends the agent's leftovers itself before the checks.
/// `None` where that is not available.
pub fn isolation(path: Option<&str>) -> Option<PathBuf> {
    let unshare = find_program("unshare", None, path)?;
    let works = Command::new(&unshare)
        .args(UNSHARE_ARGS)
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(unshare)
}

/// A user and PID namespace of its own, /proc to match, and the step killed if unshare
/// itself is (Ctrl-C).
const UNSHARE_ARGS: [&str; 5] = ["--map-current-user", "--pid", "--fork", "--mount-proc", "--kill-child"];

/// Runs one Job. `runner` is the `bca-runner` binary that `bca-runner` in a container
/// command stands for; `secret` holds the credentials Secret's keys; `isolate` is the
/// `unshare` that gives each container a PID namespace of its own ([`isolation`]).
pub fn run_job(
    job: &Job,
    index: Option<usize>,
    runner: &Path,
    isolate: Option<&Path>,
    secret: &BTreeMap<String, Vec<u8>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PodRun, LocalError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let template = job.spec.as_ref().map(|s| &s.template);
    let pod_spec = template
        .and_then(|t| t.spec.as_ref())
        .ok_or_else(|| LocalError::Unsupported(format!("Job {name} has no pod template")))?;
    let annotations =
        template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.annotations.clone()).unwrap_or_default();
    let root = tempfile::Builder::new()
        .prefix(&format!("bca-local-{name}-"))
        .tempdir()
        .map_err(io("creating a directory for", Path::new(&name)))?;
    let mut volumes = BTreeMap::new();
    for volume in pod_spec.volumes.iter().flatten() {
        let dir = root.path().join("volumes").join(&volume.name);
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        if volume.secret.is_none() {
            fill_volume(volume, &dir, &annotations)?;
        }
        volumes.insert(volume.name.clone(), dir);
    }
    let containers: Vec<&Container> =
        pod_spec.init_containers.iter().flatten().chain(pod_spec.containers.iter()).collect();
    let mut run = PodRun { containers: Vec::new(), message: String::new(), succeeded: true };
    let pod_started = Instant::now();
    let deadline = pod_spec.active_deadline_seconds.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs);
    for container in containers {
        let termination = root.path().join(format!("termination-{}", container.name));
        if bca_runner::process::interrupted() {
            run.succeeded = false;
            run.message = "interrupted".into();
            break;
        }
        let mut cmd = command(container, runner, isolate, &volumes, &termination, env)?;
        if let Some(index) = index {
            // What the Job controller sets in every container of an Indexed Job's pod.
            cmd.env(bca_runner::contract::COMPLETION_INDEX_ENV, index.to_string());
        }
        let secrets = mount_secrets(container, pod_spec.volumes.as_deref().unwrap_or_default(), &volumes, secret)?;
        let started = Instant::now();
        // Its own group, so the deadline stops what it started with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let status = cmd.spawn().and_then(|mut child| {
            bca_runner::process::wait_group(&mut child, deadline.map(|d| d.saturating_sub(pod_started.elapsed())))
        });
        secrets.remove();
        let status = status.map_err(io("running", runner))?;
        run.containers.push(ContainerRun {
            name: container.name.clone(),
            duration: started.elapsed(),
            exit_code: status.and_then(|s| s.code()),
        });
        let Some(status) = status else {
            run.succeeded = false;
            run.message = if bca_runner::process::interrupted() {
                format!("interrupted: {} was stopped", container.name)
            } else {
                format!(
                    "DeadlineExceeded: the pod ran past its activeDeadlineSeconds ({}s) and was stopped",
                    deadline.map_or(0, |d| d.as_secs())
                )
            };
            break;
        };
        run.message = std::fs::read_to_string(&termination).unwrap_or_default().trim().to_string();
        if !status.success() {
            run.succeeded = false;
            break;
        }
    }
    Ok(run)
}

/// Secret files written for one container, removed when it ends.
struct MountedSecrets(Vec<PathBuf>);

impl MountedSecrets {
    fn remove(self) {
        for path in self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes the keys of the secret volumes `container` mounts, readable by this user only.
fn mount_secrets(
    container: &Container,
    pod_volumes: &[Volume],
    dirs: &BTreeMap<String, PathBuf>,
    secret: &BTreeMap<String, Vec<u8>>,
) -> Result<MountedSecrets, LocalError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut written = MountedSecrets(Vec::new());
    for mount in container.volume_mounts.iter().flatten() {
        let Some(source) = pod_volumes.iter().find(|v| v.name == mount.name).and_then(|v| v.secret.as_ref()) else {
            continue;
        };
        let dir = &dirs[&mount.name];
        for item in source.items.iter().flatten() {
            let Some(value) = secret.get(&item.key) else {
                written.remove();
                return Err(LocalError::Unsupported(format!("the credentials have no key {}", item.key)));
            };
            let path = dir.join(&item.path);
            let result = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, value));
            written.0.push(path.clone());
            if let Err(e) = result {
                written.remove();
                return Err(io("writing", &path)(e));
            }
        }
    }
    Ok(written)
}

fn fill_volume(volume: &Volume, dir: &Path, annotations: &BTreeMap<String, String>) -> Result<(), LocalError> {
    if volume.empty_dir.is_some() {
        return Ok(());
    }
    if let Some(source) = &volume.downward_api {
        for item in source.items.iter().flatten() {
            let field = item.field_ref.as_ref().map(|f| f.field_path.as_str()).unwrap_or_default();
            let key = crate::render::job::annotation_key(field)
                .ok_or_else(|| LocalError::Unsupported(format!("downward API field {field}")))?;
            let path = dir.join(&item.path);
            std::fs::write(&path, annotations.get(key).map(String::as_str).unwrap_or_default())
                .map_err(io("writing", &path))?;
        }
        return Ok(());
    }
    Err(LocalError::Unsupported(format!("volume {} of a kind the local runner does not know", volume.name)))
}

/// The container's command, with its mounts mapped to the runner's path flags.
fn command(
    container: &Container,
    runner: &Path,
    isolate: Option<&Path>,
    volumes: &BTreeMap<String, PathBuf>,
    termination: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Command, LocalError> {
    let argv = container.command.clone().unwrap_or_default();
    if argv.first().map(String::as_str) != Some(pod::RUNNER_BINARY) {
        return Err(LocalError::Unsupported(format!(
            "container {} runs {}; the local runner only runs {}",
            container.name,
            argv.first().map_or("no command", String::as_str),
            pod::RUNNER_BINARY
        )));
    }
    let mut mounted: BTreeMap<&str, &PathBuf> = BTreeMap::new();
    for m in container.volume_mounts.iter().flatten() {
        let dir = volumes
            .get(&m.name)
            .ok_or_else(|| LocalError::Unsupported(format!("mount of unknown volume {}", m.name)))?;
        mounted.insert(m.mount_path.as_str(), dir);
    }
    let host = |path: &str| mounted.get(path).map(|p| p.to_path_buf());
    let mut cmd = match isolate {
        Some(unshare) => {
            let mut cmd = Command::new(unshare);
            cmd.args(UNSHARE_ARGS).arg(runner);
            cmd
        }
        None => Command::new(runner),
    };
    // The runner's result line is read from its termination log; its output is log.
    cmd.args(&argv[1..]).env_clear().stdin(Stdio::null()).stdout(std::io::stderr());
    for (flag, mount) in [
        ("--workspace", pod::WORKSPACE_DIR),
        ("--secrets", pod::SECRETS_DIR),
        ("--state", pod::STATE_DIR),
        ("--handoff", pod::HANDOFF_DIR),
        ("--verification", pod::VERIFICATION_DIR),
    ] {
        if let Some(dir) = host(mount) {
            cmd.arg(flag).arg(dir);
        }
    }
    if let Some(dir) = host(pod::CONTRACT_DIR) {
        cmd.arg("--contract").arg(dir.join(pod::CONTRACT_FILE));
    }
    cmd.arg("--termination-log").arg(termination);
    for var in container.env.iter().flatten() {
        let value = var.value.clone().unwrap_or_default();
        // A value naming a mount path (HOME, TMPDIR) names the mounted directory here.
        match host(&value) {
            Some(dir) => cmd.env(&var.name, dir),
            None => cmd.env(&var.name, value),
        };
    }
    if let Some(dir) = container.working_dir.as_deref().and_then(host) {
        cmd.current_dir(dir);
    }
    if let Some(path) = env("PATH") {
        cmd.env("PATH", path);
    }
    let agent_vars = Agent::ALL.iter().flat_map(|a| a.passthrough_vars());
    for var in PASSTHROUGH.into_iter().chain(agent_vars) {
        if let Some(value) = env(var) {
            cmd.env(var, value);
        }
    }
    Ok(cmd)
}

/// Once the tokens are read: no other process of this user (the agent) can read this
/// one's memory, the variables are gone from its `/proc/<pid>/environ`, and no child
/// inherits them.
pub fn hide_tokens(vars: &[&str]) {
    bca_runner::process::make_non_dumpable();
    for var in vars {
        // bca has started no thread yet: nothing else reads the environment meanwhile.
        bca_runner::process::scrub_env_var(var);
    }
}

/// Finds a program: beside `near` (the running bca), then on `PATH`.
pub fn find_program(name: &str, near: Option<&Path>, path: Option<&str>) -> Option<PathBuf> {
    near.map(|dir| dir.join(name))
        .filter(|p| p.is_file())
        .or_else(|| path.and_then(|p| std::env::split_paths(p).map(|d| d.join(name)).find(|c| c.is_file())))
}

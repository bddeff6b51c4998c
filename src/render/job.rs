//! One Job per repository: a container per step (fork, clone, agent, collect, publish,
//! and with `spec.verify` a verify container after each agent attempt) that each run
//! `bca-runner STEP`, mount only what `bca_runner::Step` allows them (the trust
//! boundary: the agent's container never sees the GitHub token or the runner's state;
//! the token's containers run the runner image and never see the agent's work tree
//! after it ran; only the verify containers write the checks' verdict), and meet the
//! "restricted" Pod Security Standard.

use std::collections::BTreeMap;

use bca_runner::pod::{
    CONTRACT_ANNOTATION, CONTRACT_DIR, CONTRACT_FILE, HANDOFF_DIR, HOME_DIR, RUNNER_BINARY, RUNNER_GID, RUNNER_UID,
    SECRETS_DIR, STATE_DIR, TERMINATION_MESSAGE_PATH, TMP_DIR, VERIFICATION_DIR, WORKSPACE_DIR,
};
use bca_runner::step::{self, Access};
use bca_runner::{Agent, RunContract, Step};
use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
    PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, DownwardAPIVolumeFile, DownwardAPIVolumeSource, EmptyDirVolumeSource, EnvVar, KeyToPath,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::naming::{job_name, short_hash};
use super::options::{RenderOptions, Resources};
use crate::change::values::Quantity as ChangeQuantity;

/// One repository per Job, or an Indexed Job running its repositories one per index.
pub enum Mode<'a> {
    Repository {
        owner: &'a str,
        repo: &'a str,
    },
    /// `slug` names the Change; `shard` is this Job's place among the Change's Jobs.
    Indexed {
        slug: &'a str,
        shard: u32,
        repositories: usize,
    },
}

/// What one Job needs beyond the flags.
pub struct JobInput<'a> {
    pub contract: &'a RunContract,
    pub mode: Mode<'a>,
    /// The image of the steps that hold the GitHub token, and of collect.
    pub runner_image: &'a str,
    /// The image of the agent's step (`spec.image`, or the runner image).
    pub agent_image: &'a str,
    pub labels: BTreeMap<String, String>,
    /// The Change's resources and lifetime, flags over `spec.job` over defaults.
    pub resources: &'a Resources,
}

const WORKSPACE_VOLUME: &str = "workspace";
/// The agent's HOME and /tmp.
const HOME_VOLUME: &str = "home";
const TMP_VOLUME: &str = "tmp";
/// The HOME and /tmp of the steps that hold the token, which the agent never sees.
const RUNNER_TMP_VOLUME: &str = "runner-tmp";
/// Collect's own: it reads what the agent wrote, so nothing it leaves reaches a step
/// that holds the token.
const COLLECT_TMP_VOLUME: &str = "collect-tmp";
/// The checks' HOME and /tmp: not the agent's, so nothing it left there (a ~/.npmrc)
/// decides what the checks run.
const VERIFY_TMP_VOLUME: &str = "verify-tmp";
/// The checks' verdict, written only by the verify containers.
const VERIFICATION_VOLUME: &str = "verification";
const STATE_VOLUME: &str = "state";
const HANDOFF_VOLUME: &str = "handoff";
const CONTRACT_VOLUME: &str = "run-contract";
const GITHUB_TOKEN_VOLUME: &str = "github-token";
const AGENT_TOKEN_VOLUME: &str = "agent-token";

/// Secret files are readable by the runner's group only (fsGroup makes it their group).
const SECRET_FILE_MODE: i32 = 0o440;

pub fn job(input: &JobInput, options: &RenderOptions) -> Job {
    let contract_json = input.contract.to_json();
    let agent = input.contract.agent;
    let indexed = match input.mode {
        Mode::Indexed { repositories, .. } => Some(i32::try_from(repositories).unwrap_or(i32::MAX)),
        Mode::Repository { .. } => None,
    };
    let spec = JobSpec {
        // One retry for a transient failure (a node going away); the runner's steps are
        // idempotent, so a retry never opens a second pull request. An Indexed Job
        // retries each index once, and gives up on an index (not the Job) for good
        // when its runner says a retry cannot help.
        backoff_limit: indexed.is_none().then_some(RETRIES_PER_INDEX),
        backoff_limit_per_index: indexed.map(|_| RETRIES_PER_INDEX),
        completion_mode: indexed.map(|_| "Indexed".to_string()),
        completions: indexed,
        // The Job's indexes run one after another: the Change's Jobs together run at
        // most as many agents as it has Jobs.
        parallelism: indexed.map(|_| 1),
        active_deadline_seconds: Some(job_deadline(input.resources.deadline_seconds, indexed)),
        pod_failure_policy: Some(pod_failure_policy(if indexed.is_some() { "FailIndex" } else { "FailJob" })),
        ttl_seconds_after_finished: input.resources.ttl_seconds,
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                // Kueue's queue label belongs on the Job: on a pod, Kueue's pod
                // integration would manage the pod a second time.
                labels: Some(
                    input
                        .labels
                        .iter()
                        .filter(|(k, _)| k.as_str() != super::labels::KUEUE_QUEUE)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                annotations: Some(BTreeMap::from([(CONTRACT_ANNOTATION.to_string(), contract_json)])),
                ..Default::default()
            }),
            spec: Some(pod_spec(input, agent, &options.secret_name)),
        },
        ..Default::default()
    };
    // The name hashes the whole spec: exactly the inputs that shape this Job.
    let spec_json = serde_json::to_vec(&spec).expect("a JobSpec serialises");
    let hash = short_hash(&spec_json);
    let (name, annotations) = match input.mode {
        Mode::Repository { owner, repo } => (
            job_name(&format!("{owner}-{repo}"), &hash),
            Some(BTreeMap::from([(super::labels::REPOSITORY_URL.to_string(), input.contract.repository.clone())])),
        ),
        Mode::Indexed { slug, shard, .. } => (job_name(&format!("{slug}-{shard:03}"), &hash), None),
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(options.namespace.to_string()),
            labels: Some(input.labels.clone()),
            annotations,
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Fail the Job (or its index) at once when a step says a retry cannot help (a rejected
/// token, a repository that does not exist), and do not count evictions as failures.
fn pod_failure_policy(on_permanent: &str) -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![
            PodFailurePolicyRule {
                action: on_permanent.into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: None,
                    operator: "In".into(),
                    values: bca_runner::exit::FAIL_JOB.iter().map(|c| i32::from(*c)).collect(),
                }),
                on_pod_conditions: None,
            },
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_exit_codes: None,
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    type_: "DisruptionTarget".into(),
                    status: "True".into(),
                }]),
            },
        ],
    }
}

/// The retries a Job gives each repository (`backoffLimit`, or an Indexed Job's
/// `backoffLimitPerIndex`).
const RETRIES_PER_INDEX: i32 = 1;

/// The Job-wide deadline. Kubernetes counts a Job's `activeDeadlineSeconds` across all
/// its pods (and the time they wait to be scheduled), so it gets the most its pods could
/// need: each repository's pod and its one retry at the per-pod deadline, one after
/// another. The per-repository deadline is the pod's own.
fn job_deadline(per_pod: i64, completions: Option<i32>) -> i64 {
    let pods = i64::from(completions.unwrap_or(1)).saturating_mul(i64::from(RETRIES_PER_INDEX) + 1);
    per_pod.saturating_mul(pods)
}

fn pod_spec(input: &JobInput, agent: Agent, secret_name: &str) -> PodSpec {
    let verify = input.contract.verify.as_ref().map(|v| v.attempts);
    let mut containers: Vec<Container> = step::containers(verify)
        .into_iter()
        .map(|c| {
            let image = if c.step.runs_agent_image() { input.agent_image } else { input.runner_image };
            container(c, image, input.resources, verify.is_some())
        })
        .collect();
    let main = containers.pop().expect("publish is the last step");
    PodSpec {
        init_containers: Some(containers),
        containers: vec![main],
        restart_policy: Some("Never".into()),
        // Per pod, so every repository of an Indexed Job gets the whole deadline, and
        // one that uses it up does not take the time of the indexes after it.
        active_deadline_seconds: Some(input.resources.deadline_seconds),
        // The runner talks to GitHub, never to the Kubernetes API.
        automount_service_account_token: Some(false),
        // Service links put every Service of the namespace into the environment of
        // the agent; it needs none of them.
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUNNER_UID),
            run_as_group: Some(RUNNER_GID),
            fs_group: Some(RUNNER_GID),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
            ..Default::default()
        }),
        volumes: Some(volumes(agent, secret_name, input.resources, verify.is_some())),
        ..Default::default()
    }
}

fn container(c: step::Container, image: &str, resources: &Resources, verify: bool) -> Container {
    let step = c.step;
    // The runner's steps keep HOME in their own scratch volume: nothing the agent wrote
    // to its HOME (a .netrc, a .gitconfig) is there when the token is.
    let home = if step == Step::Agent { HOME_DIR } else { TMP_DIR };
    Container {
        name: c.name(),
        image: Some(image.into()),
        // Tags can be re-pushed; Always makes every pod run what the tag names now.
        image_pull_policy: Some("Always".into()),
        command: Some(std::iter::once(RUNNER_BINARY.to_string()).chain(c.args()).collect()),
        working_dir: Some(if step.workspace() == Access::None { TMP_DIR } else { WORKSPACE_DIR }.into()),
        env: Some(vec![
            EnvVar { name: "HOME".into(), value: Some(home.into()), ..Default::default() },
            EnvVar { name: "TMPDIR".into(), value: Some(TMP_DIR.into()), ..Default::default() },
        ]),
        resources: Some(requirements(resources)),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
            ..Default::default()
        }),
        volume_mounts: Some(mounts(step, verify)),
        termination_message_path: Some(TERMINATION_MESSAGE_PATH.into()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    }
}

/// The volumes a step mounts, as `Step`'s table says (the checks' verdict only where
/// the Change has checks).
fn mounts(step: Step, verify: bool) -> Vec<VolumeMount> {
    let mut mounts = vec![mount(CONTRACT_VOLUME, CONTRACT_DIR, true)];
    let mut add = |access: Access, name: &str, path: &str| match access {
        Access::None => {}
        Access::ReadOnly => mounts.push(mount(name, path, true)),
        Access::ReadWrite => mounts.push(mount(name, path, false)),
    };
    add(step.workspace(), WORKSPACE_VOLUME, WORKSPACE_DIR);
    add(step.state(), STATE_VOLUME, STATE_DIR);
    add(step.handoff(), HANDOFF_VOLUME, HANDOFF_DIR);
    if verify {
        add(step.verification(), VERIFICATION_VOLUME, VERIFICATION_DIR);
    }
    if step == Step::Agent {
        add(Access::ReadWrite, HOME_VOLUME, HOME_DIR);
        add(Access::ReadWrite, TMP_VOLUME, TMP_DIR);
        add(Access::ReadOnly, AGENT_TOKEN_VOLUME, SECRETS_DIR);
    } else if step == Step::Verify {
        add(Access::ReadWrite, VERIFY_TMP_VOLUME, TMP_DIR);
    } else if step.holds_github_token() {
        add(Access::ReadWrite, RUNNER_TMP_VOLUME, TMP_DIR);
        add(Access::ReadOnly, GITHUB_TOKEN_VOLUME, SECRETS_DIR);
    } else {
        add(Access::ReadWrite, COLLECT_TMP_VOLUME, TMP_DIR);
    }
    mounts
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

fn requirements(r: &Resources) -> ResourceRequirements {
    let triple = |cpu: &ChangeQuantity, memory: &ChangeQuantity, storage: &ChangeQuantity| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.as_str().into())),
            ("ephemeral-storage".to_string(), Quantity(storage.as_str().into())),
            ("memory".to_string(), Quantity(memory.as_str().into())),
        ])
    };
    ResourceRequirements {
        requests: Some(triple(&r.cpu_request, &r.memory_request, &r.storage.ephemeral_storage_request)),
        limits: Some(triple(&r.cpu_limit, &r.memory_limit, &r.ephemeral_storage_limit())),
        ..Default::default()
    }
}

fn volumes(agent: Agent, secret_name: &str, r: &Resources, verify: bool) -> Vec<Volume> {
    let empty_dir = |name: &str, size: Option<&str>| Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource { size_limit: size.map(|s| Quantity(s.into())), ..Default::default() }),
        ..Default::default()
    };
    // Each secret volume projects one key, so a step cannot read another step's token.
    let secret_key = |name: &str, key: &str| Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret_name.to_string()),
            items: Some(vec![KeyToPath { key: key.into(), path: key.into(), mode: None }]),
            default_mode: Some(SECRET_FILE_MODE),
            optional: None,
        }),
        ..Default::default()
    };
    let (workspace, scratch) = (r.workspace_size.as_str(), r.storage.scratch_size.as_str());
    let mut volumes = vec![
        empty_dir(WORKSPACE_VOLUME, Some(workspace)),
        empty_dir(HOME_VOLUME, Some(scratch)),
        empty_dir(TMP_VOLUME, Some(scratch)),
        empty_dir(RUNNER_TMP_VOLUME, Some(scratch)),
        empty_dir(COLLECT_TMP_VOLUME, Some(scratch)),
        // The runner's git directory holds the repository once more; the handoff the
        // agent's changes as a bundle.
        empty_dir(STATE_VOLUME, Some(workspace)),
        empty_dir(HANDOFF_VOLUME, Some(workspace)),
        Volume {
            name: CONTRACT_VOLUME.into(),
            downward_api: Some(DownwardAPIVolumeSource {
                items: Some(vec![DownwardAPIVolumeFile {
                    path: CONTRACT_FILE.into(),
                    field_ref: Some(ObjectFieldSelector {
                        field_path: annotation_field_path(CONTRACT_ANNOTATION),
                        api_version: None,
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
        secret_key(GITHUB_TOKEN_VOLUME, bca_runner::pod::SECRET_KEY_GITHUB_TOKEN),
        secret_key(AGENT_TOKEN_VOLUME, agent.secret_key()),
    ];
    // Only a Change with checks has them: every other Change renders as it did.
    if verify {
        volumes.extend([empty_dir(VERIFY_TMP_VOLUME, Some(scratch)), empty_dir(VERIFICATION_VOLUME, Some("1Mi"))]);
    }
    volumes
}

/// The downward API's name for a pod annotation; the local harness reads it back with
/// [`annotation_key`].
pub fn annotation_field_path(key: &str) -> String {
    format!("metadata.annotations['{key}']")
}

/// The annotation a downward API field path names, if it names one.
pub fn annotation_key(field_path: &str) -> Option<&str> {
    field_path.strip_prefix("metadata.annotations['")?.strip_suffix("']")
}

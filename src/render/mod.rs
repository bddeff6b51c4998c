//! Turns validated Changes into Kubernetes objects, serialised once as YAML. Knows
//! nothing about files or terminals: the output module writes what this returns.

mod cron_job;
mod custom_resource;
pub mod job;
pub mod labels;
pub mod manifest;
pub mod names;
pub mod namespace;
pub mod naming;
pub mod network_policy;
pub mod options;
pub mod queue;
pub mod secret;
pub mod templates;
pub mod yaml;

use std::collections::{BTreeMap, HashMap};

use bca_runner::contract::Work;
use bca_runner::{Agent, Repository, RunContract, CONTRACT_VERSION};
use serde::Serialize;

use crate::change::values::RepoUrl;
use crate::change::Change;
pub use manifest::{to_stream, ChangeJob, Manifest, Object};
pub use options::{NetworkPolicyMode, RenderOptions, Resources, Scope, SecretSource};

#[derive(Debug, Default)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// Things a user should know that do not stop the render.
    pub warnings: Vec<String>,
}

/// Why a render failed. The messages speak of the Change and of settings; the command
/// line's own words (the flag that fixes it) are added in `commands`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the credentials Secret needs {} in the environment (they are empty or unset)", missing.join(", "))]
    MissingTokens { missing: Vec<String> },
    #[error(
        "{var} holds the same token as GITHUB_TOKEN: the agent would get the token that can push. Give the agent \
         a token of its own (for Copilot CLI, a fine-grained token with only the Copilot Requests permission)"
    )]
    AgentHasThePushToken { var: String },
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    #[error(
        "{file}: the pull request templates use {{{{ repository }}}}, but an Indexed Job shares one run contract \
         among its repositories: drop it from the templates, or render one Job per repository"
    )]
    TemplatesNamePerRepository { file: String },
    #[error(
        "{file}: the {what} request {request} is above the {what} limit {limit}, and Kubernetes refuses such a pod: \
         lower the request or raise the limit (spec.job in the Change, or the render flags)"
    )]
    RequestAboveLimit { file: String, what: &'static str, request: String, limit: String },
    #[error(
        "{file}: the run contract of {repository}'s Job is {kib} KiB, and Kubernetes refuses a pod whose \
         annotations pass 256 KiB: shorten the prompt or the pull request templates"
    )]
    ContractTooLarge { file: String, repository: String, kib: usize },
    #[error(
        "{file}: spec.repos lists {jobs} repositories, rendered as {jobs} Jobs that start {jobs} agents at once; \
         GitOps tools read that many Jobs slowly (kubectl kustomize takes 30 s and 0.9 GB for 2,000, and Argo CD \
         gives up after 90 s): set spec.rollout.parallelism (for example 50) to run them as Indexed Jobs, at most \
         that many agents at once"
    )]
    TooManyJobs { file: String, jobs: usize },
    #[error(
        "{file}: {why}, so the agent's branch goes to the repository itself, where its push and pull_request \
         workflows run the agent's code with the repository's secrets before anyone reviews it"
    )]
    AgentCodeInRepositoryCi { file: String, why: String },
    #[error("the agent setting {name} is for {agent}, which none of the Changes use")]
    UnusedAgentSetting { name: String, agent: Agent },
    #[error(
        "{first} and {second} both name their Change {name}: a name is a Change's branch (bca/{name}) and pull \
         requests, so the second would push over the first's work; rename one (metadata.name)"
    )]
    DuplicateName { name: String, first: String, second: String },
    #[error(
        "{first} and {second} both render Job {name} (the same repository with the same prompt and settings); \
         remove the repository from one of them"
    )]
    DuplicateJob { name: String, first: String, second: String },
    #[error(
        "{file}: {repository} is on {host}, and the GitHub token is sent only to github.com unless another host \
         is allowed"
    )]
    HostNotAllowed { file: String, repository: String, host: String },
    #[error(
        "{file}: {repository} is on {host}, but the GitHub host is {allowed}: one credentials Secret serves one \
         GitHub host; render the Changes of each host separately"
    )]
    OtherHost { file: String, repository: String, host: String, allowed: String },
}

/// A Change file's name (for messages) and its content.
pub struct Input<'a> {
    pub file: &'a str,
    pub change: &'a Change,
}

/// Renders in a fixed order: the Namespace, the credentials (if any), the NetworkPolicy
/// (if any), which `options.scope` includes for the platform, then the Jobs of each
/// Change in the order of its `spec.repos`.
pub fn render(
    inputs: &[Input],
    options: &RenderOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Rendered, RenderError> {
    let mut rendered = Rendered::default();
    let mut agents: Vec<Agent> = inputs.iter().map(|i| i.change.spec.agent).collect();
    agents.sort();
    agents.dedup();
    for name in options.agent_settings.keys() {
        if !agents.iter().any(|a| a.endpoint_settings().contains(&name.as_str())) {
            let agent = Agent::ALL.into_iter().find(|a| a.endpoint_settings().contains(&name.as_str()));
            return Err(RenderError::UnusedAgentSetting {
                name: name.clone(),
                agent: agent.expect("parsed names are known"),
            });
        }
    }
    let github_host = github_host(inputs, options.github_host.as_deref())?;
    // Name → the file that named it; only looked up, never iterated.
    let mut named_by: HashMap<&str, &str> = HashMap::new();
    for input in inputs {
        if let Some(name) = input.change.name() {
            if let Some(first) = named_by.insert(name.as_str(), input.file) {
                return Err(RenderError::DuplicateName {
                    name: name.to_string(),
                    first: first.to_string(),
                    second: input.file.to_string(),
                });
            }
        }
    }
    if options.scope.platform() {
        rendered.manifests.push(Manifest::new(Object::Namespace(namespace::namespace(&options.namespace))));
    }
    match &options.secret {
        _ if !options.scope.platform() => {}
        SecretSource::Existing => {}
        SecretSource::FromEnv => {
            let secret = secret::secret_from_env(&options.secret_name, &options.namespace, &agents, env)?;
            rendered.manifests.push(Manifest::new(Object::Secret(secret)));
        }
        SecretSource::External { store, store_kind } => {
            let external =
                secret::external_secret(&options.secret_name, &options.namespace, store, *store_kind, &agents);
            rendered.manifests.push(Manifest::new(Object::ExternalSecret(external)));
        }
    }
    if let (true, NetworkPolicyMode::Restricted(egress)) = (options.scope.platform(), &options.network_policy) {
        let policy = network_policy::network_policy(&options.namespace, egress);
        rendered.manifests.push(Manifest::new(Object::NetworkPolicy(policy)));
    }
    if options.scope.platform() {
        // The queues the Jobs name: --queue, or each Change's spec.rollout.queue.
        let mut queues: Vec<String> = match &options.queue {
            Some(q) => vec![q.to_string()],
            None => inputs
                .iter()
                .filter_map(|i| i.change.spec.rollout.as_ref()?.queue.as_ref().map(|q| q.as_str().to_string()))
                .collect(),
        };
        queues.sort();
        queues.dedup();
        for name in &queues {
            let cluster_queue = options.cluster_queue.as_deref().unwrap_or(name);
            let local_queue = queue::local_queue(&options.namespace, name, cluster_queue);
            rendered.manifests.push(Manifest::new(Object::LocalQueue(local_queue)));
        }
    }
    // Job name → the file that rendered it; only looked up, never iterated.
    // Whether the pull request templates print {{ repository }}: asked once, when an
    // Indexed Job first needs to know.
    let mut texts_depend_on_the_repository: Option<bool> = None;
    let mut rendered_by: HashMap<String, &str> = HashMap::new();
    for input in inputs.iter().filter(|_| options.scope.jobs()) {
        let spec = &input.change.spec;
        // The token's steps run the runner image chosen here; spec.image (a toolchain
        // for the agent) runs only the agent's step.
        let runner_image =
            options.image.as_ref().map_or_else(bca_runner::pod::default_image, |i| i.as_str().to_string());
        let agent_image = spec.image.as_ref().map_or_else(|| runner_image.clone(), |i| i.as_str().to_string());
        for image in [options.image.as_ref(), spec.image.as_ref()].into_iter().flatten() {
            if !image.is_floating() {
                continue;
            }
            let warning = format!(
                "{}: image {} is not pinned (no tag, or :latest): each pod may run a different image; \
                 use a version tag or a digest",
                input.file,
                image.as_str()
            );
            if !rendered.warnings.contains(&warning) {
                rendered.warnings.push(warning);
            }
        }
        let change_id = change_id(input.change);
        let head_branch = head_branch(input.change, &change_id);
        // Only the settings of the Change's agent go into its contracts.
        let agent_settings: BTreeMap<String, String> = options
            .agent_settings
            .iter()
            .filter(|(name, _)| spec.agent.endpoint_settings().contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let work = work(input.change, &agent_settings);
        let images = Images { runner: &runner_image, agent: &agent_image };
        let resources = Resources::resolve(&options.job, spec.job.as_ref(), &options.storage);
        if let Some((what, request, limit)) = resources.request_above_limit() {
            return Err(RenderError::RequestAboveLimit {
                file: input.file.to_string(),
                what,
                request: request.as_str().to_string(),
                limit: limit.as_str().to_string(),
            });
        }
        if !options.agent_code_in_repository_ci {
            let why = if spec.fork == Some(false) {
                Some("spec.fork is false".to_string())
            } else {
                options.fork_owner.as_ref().and_then(|org| {
                    let owned = spec.repos.iter().find(|r| r.owner().eq_ignore_ascii_case(org))?;
                    Some(format!("the fork owner {org} owns {}", owned.full_name()))
                })
            };
            if let Some(why) = why {
                return Err(RenderError::AgentCodeInRepositoryCi { file: input.file.to_string(), why });
            }
        }
        let rollout = spec.rollout.clone().unwrap_or_default();
        let queue = options.queue.as_ref().map(ToString::to_string).or(rollout.queue.map(|q| q.as_str().to_string()));
        let groups: Vec<Which> = match options.parallelism.or(rollout.parallelism) {
            None if spec.repos.len() > options::MAX_JOBS_UNPACED && !options.allow_many_jobs => {
                return Err(RenderError::TooManyJobs { file: input.file.to_string(), jobs: spec.repos.len() });
            }
            None => spec.repos.iter().map(Which::One).collect(),
            Some(shards) => {
                let depends = match texts_depend_on_the_repository {
                    Some(depends) => depends,
                    None => {
                        *texts_depend_on_the_repository.insert(templates_depend_on_the_repository(&options.templates)?)
                    }
                };
                if depends {
                    return Err(RenderError::TemplatesNamePerRepository { file: input.file.to_string() });
                }
                let mut by_shard: BTreeMap<u32, Vec<&RepoUrl>> = BTreeMap::new();
                for repo in &spec.repos {
                    by_shard.entry(naming::shard_of(&repo.identity(), shards)).or_default().push(repo);
                }
                by_shard
                    .into_iter()
                    .map(|(shard, mut repos)| {
                        repos.sort_by_cached_key(|r| r.identity());
                        Which::Shard { shard, repos }
                    })
                    .collect()
            }
        };
        // What every Job of the Change shares; `follow_up` for its follow-up CronJob's.
        let target = |which, follow_up| Target {
            which,
            change_id: &change_id,
            head_branch: &head_branch,
            agent_settings: &agent_settings,
            work: &work,
            images: &images,
            github_host: github_host.as_deref(),
            resources: &resources,
            queue: queue.as_deref(),
            follow_up,
        };
        for which in &groups {
            let (job, contract) = change_job(input.change, &target(which, None), options)?;
            let contract_bytes = job
                .spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.annotations.as_ref())
                .map_or(0, |a| a.values().map(String::len).sum::<usize>());
            if contract_bytes > MAX_ANNOTATION_BYTES {
                return Err(RenderError::ContractTooLarge {
                    file: input.file.to_string(),
                    repository: which.describe(),
                    kib: contract_bytes.div_ceil(1024),
                });
            }
            let name = job.metadata.name.clone().expect("jobs are named");
            if let Some(first) = rendered_by.insert(name.clone(), input.file) {
                return Err(RenderError::DuplicateJob {
                    name,
                    first: first.to_string(),
                    second: input.file.to_string(),
                });
            }
            let (repositories, indexed) = match which {
                Which::One(repo) => (vec![Repository::clone(repo)], false),
                Which::Shard { repos, .. } => (repos.iter().map(|r| Repository::clone(r)).collect(), true),
            };
            let job = ChangeJob { job, contract, repositories, indexed };
            rendered.manifests.push(Manifest::new(Object::Job(Box::new(job))));
        }
        // Follow-up rounds: a CronJob per shard (one for an unpaced Change), each run an
        // Indexed Job over the shard's repositories.
        if let Some(spec_follow_up) = &spec.follow_up {
            let follow_up = bca_runner::contract::FollowUp {
                on: spec_follow_up.on.clone(),
                rounds: spec_follow_up.rounds,
                trust: spec_follow_up.trust.clone(),
            };
            let mut all: Vec<&RepoUrl> = spec.repos.iter().collect();
            all.sort_by_cached_key(|r| r.identity());
            let shards: Vec<Which> = match groups.first() {
                Some(Which::Shard { .. }) => groups.clone(),
                _ => vec![Which::Shard { shard: 0, repos: all }],
            };
            for which in &shards {
                let (job, contract) = change_job(input.change, &target(which, Some(&follow_up)), options)?;
                let Which::Shard { shard, repos } = which else { unreachable!("follow-ups run as Indexed Jobs") };
                let name = naming::follow_up_name(&identity(input.change), *shard);
                let cron_job = cron_job::cron_job(job.clone(), &name, &spec_follow_up.schedule);
                let repositories = repos.iter().map(|r| Repository::clone(r)).collect();
                let round = ChangeJob { job, contract, repositories, indexed: true };
                let cron = manifest::FollowUpCronJob { cron_job, round };
                rendered.manifests.push(Manifest::new(Object::CronJob(Box::new(cron))));
            }
        }
    }
    Ok(rendered)
}

/// The one GitHub host of all the Changes' repositories: `None` for github.com, else
/// the Enterprise host `allowed` names. The GitHub token is sent to this host only, so a
/// repository anywhere else is refused, by every command that uses the token.
pub fn github_host(inputs: &[Input], allowed: Option<&str>) -> Result<Option<String>, RenderError> {
    for input in inputs {
        for repo in &input.change.spec.repos {
            let host = repo.host();
            let error = |allowed: &str| {
                let (file, repository, host) = (input.file.to_string(), repo.canonical(), host.to_string());
                match allowed {
                    GITHUB_COM => RenderError::HostNotAllowed { file, repository, host },
                    _ => RenderError::OtherHost { file, repository, host, allowed: allowed.to_string() },
                }
            };
            match allowed {
                Some(allowed) if !host.eq_ignore_ascii_case(allowed) => return Err(error(allowed)),
                None if !host.eq_ignore_ascii_case(GITHUB_COM) => return Err(error(GITHUB_COM)),
                _ => {}
            }
        }
    }
    Ok(allowed.filter(|h| !h.eq_ignore_ascii_case(GITHUB_COM)).map(str::to_ascii_lowercase))
}

const GITHUB_COM: &str = "github.com";

/// What the API server accepts of a pod's annotations (keys and values together), less
/// room for the keys and what controllers add.
const MAX_ANNOTATION_BYTES: usize = 256 * 1024 - 4096;

/// The images of one Change's Jobs.
struct Images<'a> {
    runner: &'a str,
    agent: &'a str,
}

/// The repositories of one Job: one, or an Indexed Job's shard.
#[derive(Clone)]
enum Which<'a> {
    One(&'a RepoUrl),
    Shard { shard: u32, repos: Vec<&'a RepoUrl> },
}

impl Which<'_> {
    /// For messages: the repository, or the shard and its size.
    fn describe(&self) -> String {
        match self {
            Which::One(repo) => repo.canonical(),
            Which::Shard { shard, repos } => format!("Indexed Job {shard} ({} repositories)", repos.len()),
        }
    }
}

/// Where and how one Job runs.
struct Target<'a> {
    which: &'a Which<'a>,
    change_id: &'a str,
    head_branch: &'a str,
    /// The model settings of the Change's agent, and the fingerprint of its work: the
    /// same for every Job of the Change.
    agent_settings: &'a BTreeMap<String, String>,
    work: &'a Work,
    images: &'a Images<'a>,
    github_host: Option<&'a str>,
    resources: &'a Resources,
    /// The Kueue LocalQueue, if the Jobs are admitted through one.
    queue: Option<&'a str>,
    /// For a follow-up CronJob's Job: what a round answers.
    follow_up: Option<&'a bca_runner::contract::FollowUp>,
}

/// An Indexed Job's run contract is shared by its repositories, so its texts must be
/// too: true when the templates print `{{ repository }}`.
fn templates_depend_on_the_repository(templates: &templates::Templates) -> Result<bool, RenderError> {
    let texts = |repository: &str| {
        templates.render(&templates::TemplateContext { repository, ..templates::TemplateContext::new("a prompt") })
    };
    Ok(texts("https://github.com/a/one")? != texts("https://github.com/b/two")?)
}

/// The Job that makes `change` in one repository, or in a shard of them (an Indexed
/// Job), with its run contract.
fn change_job(
    change: &Change,
    target: &Target,
    options: &RenderOptions,
) -> Result<(k8s_openapi::api::batch::v1::Job, RunContract), RenderError> {
    let Target {
        which,
        change_id,
        head_branch,
        agent_settings,
        work,
        images,
        github_host,
        resources,
        queue,
        follow_up,
    } = *target;
    let spec = &change.spec;
    let (repository, repositories) = match which {
        Which::One(repo) => (repo.canonical(), Vec::new()),
        Which::Shard { repos, .. } => (String::new(), repos.iter().map(|r| r.canonical()).collect::<Vec<_>>()),
    };
    // Each repository's base branch: one for the Job, or one per index where they differ.
    let bases: Vec<&str> = match which {
        Which::One(repo) => vec![spec.base_branch_of(repo)],
        Which::Shard { repos, .. } => repos.iter().map(|r| spec.base_branch_of(r)).collect(),
    };
    let base_branch = bases.first().copied().unwrap_or(spec.branch.as_str());
    let base_branches: Vec<String> = if bases.iter().all(|b| *b == base_branch) {
        Vec::new()
    } else {
        bases.iter().map(|b| b.to_string()).collect()
    };
    let name = change.name().map(|n| n.as_str());
    let texts = options.templates.render(&templates::TemplateContext {
        change_id,
        agent: spec.agent.name(),
        repository: repositories.first().unwrap_or(&repository),
        base_branch,
        head_branch,
        ..templates::TemplateContext::new(&spec.prompt)
    })?;
    let contract = RunContract {
        version: CONTRACT_VERSION,
        change_id: change_id.to_string(),
        change_name: name.map(str::to_string),
        work: work.clone(),
        repository,
        repositories,
        github_host: github_host.map(str::to_string),
        base_branch: base_branch.to_string(),
        base_branches,
        head_branch: head_branch.to_string(),
        agent: spec.agent,
        prompt: spec.prompt.clone(),
        pull_request_title: spec.pull_request.as_ref().and_then(|p| p.title.clone()).unwrap_or(texts.title),
        pull_request_body: texts.body,
        commit_message: texts.commit_message,
        fork_owner: options.fork_owner.as_ref().map(ToString::to_string),
        agentsmd: spec.agentsmd.as_ref().map(|u| u.as_str().to_string()),
        resources: spec.resources.iter().map(|u| u.as_str().to_string()).collect(),
        agent_settings: agent_settings.clone(),
        verify: spec.verify.clone(),
        merge: spec.merge.clone(),
        follow_up: follow_up.cloned(),
        pull_request: spec.pull_request.as_ref().map(|p| p.settings.clone()).unwrap_or_default(),
        no_fork: spec.fork == Some(false),
        agent_code_in_repository_ci: options.agent_code_in_repository_ci,
        pod_deadline: u64::try_from(resources.deadline_seconds).ok(),
    };
    let slug = naming::indexed_slug(name.unwrap_or(change_id));
    let (mut labels, mode) = match which {
        Which::One(repo) => (
            labels::job(change_id, name, &naming::repository_label(repo.owner(), repo.name())),
            job::Mode::Repository { owner: repo.owner(), repo: repo.name() },
        ),
        Which::Shard { shard, repos } => (
            labels::indexed_job(change_id, name, *shard),
            job::Mode::Indexed { slug: &slug, shard: *shard, repositories: repos.len() },
        ),
    };
    if let Some(queue) = queue {
        labels.insert(labels::KUEUE_QUEUE.to_string(), queue.to_string());
    }
    let input = job::JobInput {
        contract: &contract,
        mode,
        runner_image: images.runner,
        agent_image: images.agent,
        labels,
        resources,
    };
    let job = job::job(&input, options);
    Ok((job, contract))
}

/// What identifies a Change in its pull requests' markers and its output directory: its
/// name, or its change id without one.
pub fn identity(change: &Change) -> String {
    change.name().map_or_else(|| change_id(change), |n| n.as_str().to_string())
}

/// The branch a Change's pull requests come from: `bca/<name>`, or `bca/<change id>` for
/// a Change without a name. A named Change keeps it, and its pull requests, across edits
/// of the prompt.
pub fn head_branch(change: &Change, change_id: &str) -> String {
    format!("bca/{}", change.name().map_or(change_id, |n| n.as_str()))
}

/// Identifies what a Change does, independent of where: the prompt, the agent, the
/// branch and the context. Adding a repository keeps it (and the other Jobs) as they are;
/// changing the prompt changes it, and with it every Job and the pushed branch.
pub fn change_id(change: &Change) -> String {
    #[derive(Serialize)]
    struct Intent<'a> {
        prompt: &'a str,
        agent: Agent,
        branch: &'a str,
        agentsmd: Option<&'a str>,
        resources: Vec<&'a str>,
    }
    let spec = &change.spec;
    let intent = Intent {
        prompt: &spec.prompt,
        agent: spec.agent,
        branch: spec.branch.as_str(),
        agentsmd: spec.agentsmd.as_ref().map(|u| u.as_str()),
        resources: spec.resources.iter().map(|u| u.as_str()).collect(),
    };
    naming::short_hash(&serde_json::to_vec(&intent).expect("the intent serialises"))
}

/// The fingerprint of what shapes the agent's work: the prompt, the agent, its context,
/// its model settings and the base branch; not resources, deadlines, images or bca's
/// version, so replacing a Job for those does not run the agent again.
pub fn work(change: &Change, agent_settings: &BTreeMap<String, String>) -> Work {
    let spec = &change.spec;
    let context: (Option<&str>, Vec<&str>) =
        (spec.agentsmd.as_ref().map(|u| u.as_str()), spec.resources.iter().map(|u| u.as_str()).collect());
    let parts = BTreeMap::from([
        ("agent".to_string(), spec.agent.name().to_string()),
        ("baseBranch".to_string(), base_branch_part(spec).to_string()),
        ("context".to_string(), json_hash(&context)),
        ("model".to_string(), json_hash(agent_settings)),
        ("prompt".to_string(), json_hash(&spec.prompt)),
    ]);
    let mut parts = parts;
    if let Some(verify) = &spec.verify {
        parts.insert("verify".to_string(), json_hash(verify));
    }
    Work { fingerprint: json_hash(&parts), parts }
}

/// What the fingerprint says of the base branch: the Change's, or for selected
/// repositories without one, their default branches (which the lockfile records).
fn base_branch_part(spec: &crate::change::model::Spec) -> &str {
    if spec.select.is_some() && !spec.branch_given {
        "(each repository's default branch)"
    } else {
        spec.branch.as_str()
    }
}

fn json_hash(value: &impl Serialize) -> String {
    naming::short_hash(&serde_json::to_vec(value).expect("plain data serialises"))
}

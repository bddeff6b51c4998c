//! Running `bca-runner` the way a rendered Job does, against the local GitHub stand-in,
//! with stand-in agent CLIs and a git wrapper that records every git command line.
#![allow(dead_code)] // each test file uses a different part of this module

pub mod github;
/// The pinned external tools, as the workspace's own tests run them.
#[path = "../../../tests/support/tools.rs"]
pub mod tools;

/// The workspace's root, where scripts/install-tools puts the tools.
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use bca_runner::{Agent, RunContract, Step, CONTRACT_VERSION};

pub const GITHUB_TOKEN: &str = "ghp_TESTTOKEN_push_0123456789";
pub const COPILOT_TOKEN: &str = "copilot_TESTTOKEN_agent_0123456789";
pub const GEMINI_TOKEN: &str = "gemini_TESTTOKEN_agent_0123456789";
pub const LOGIN: &str = "bot";

/// One Job's pod, on disk: its volumes and the stand-in tools on PATH. The credentials
/// Secret's values are kept in memory and written for one step at a time, only the keys
/// that step's container mounts, and removed when it ends: as in the pod, the GitHub
/// token is nowhere on disk while the agent runs.
pub struct Pod {
    pub dir: tempfile::TempDir,
    pub contract: RunContract,
    secrets: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

impl Pod {
    pub fn new(contract: RunContract) -> Pod {
        let dir = tempfile::tempdir().unwrap();
        let secrets = [
            ("github-token", format!("{GITHUB_TOKEN}\n")),
            ("copilot-token", COPILOT_TOKEN.to_string()),
            ("gemini-api-key", GEMINI_TOKEN.to_string()),
            ("anthropic-api-key", "anthropic_TESTTOKEN_agent_0123456789".to_string()),
            ("openai-api-key", "openai_TESTTOKEN_agent_0123456789".to_string()),
        ];
        let secrets = secrets.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let pod = Pod { dir, contract, secrets: std::cell::RefCell::new(secrets) };
        for sub in ["workspace", "state", "handoff", "verification", "bin", "agent-record", "etc"] {
            std::fs::create_dir_all(pod.path(sub)).unwrap();
        }
        std::fs::write(pod.path("etc/run-contract.json"), pod.contract.to_json()).unwrap();
        pod.install_git_wrapper();
        pod.agent_does("echo 'changed by the agent' >> README.md");
        pod
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Every git command line the runner ran, one per line.
    pub fn git_argv_log(&self) -> String {
        std::fs::read_to_string(self.path("git-argv.log")).unwrap_or_default()
    }

    fn install_git_wrapper(&self) {
        let real = which("git");
        write_script(
            &self.path("bin/git"),
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                self.path("git-argv.log").display(),
                real.display()
            ),
        );
    }

    /// Installs stand-in `copilot` and `gemini` executables that record their argv (one
    /// file per argument, byte-exact), environment and working directory, then run
    /// `script` (sh) in the repository.
    pub fn agent_does(&self, script: &str) {
        let record = self.path("agent-record");
        let body = format!(
            "#!/bin/sh\nrec='{rec}'\ni=0\nfor a in \"$@\"; do printf '%s' \"$a\" > \"$rec/arg.$i\"; i=$((i+1)); done\n\
             echo $i > \"$rec/argc\"\nenv > \"$rec/env\"\npwd > \"$rec/pwd\"\n{script}\n",
            rec = record.display()
        );
        for agent in Agent::ALL {
            write_script(&self.path(&format!("bin/{}", agent.program())), &body);
        }
    }

    /// The argv the agent got, without the program name.
    pub fn agent_argv(&self) -> Vec<String> {
        let argc: usize = std::fs::read_to_string(self.path("agent-record/argc")).unwrap().trim().parse().unwrap();
        (0..argc).map(|i| std::fs::read_to_string(self.path(&format!("agent-record/arg.{i}"))).unwrap()).collect()
    }

    pub fn agent_env(&self) -> String {
        std::fs::read_to_string(self.path("agent-record/env")).unwrap()
    }

    /// `bca-runner STEP` with the pod's paths and the stand-in GitHub (`step` may carry
    /// the step's own arguments: `agent --attempt 2`).
    pub fn runner(&self, step: &str, github: &github::GitHub) -> std::process::Output {
        let out = self.runner_command(step, github).output().unwrap();
        let _ = std::fs::remove_dir_all(self.path(&format!("secrets-{}", step_name(step))));
        out
    }

    /// Replaces a value of the credentials Secret.
    pub fn set_secret(&self, key: &str, value: &str) {
        self.secrets.borrow_mut().insert(key.into(), value.into());
    }

    /// Writes the secrets a step's container would mount: only its own key (`run`, all
    /// steps in one process, gets them all, as on a laptop).
    fn secrets_for(&self, step: &str) -> PathBuf {
        let step = step_name(step);
        let dir = self.path(&format!("secrets-{step}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let keys: Vec<String> = match Step::ALL.into_iter().find(|s| s.name() == step) {
            Some(step) => step.secret_key(self.contract.agent).into_iter().map(str::to_string).collect(),
            None => self.secrets.borrow().keys().cloned().collect(),
        };
        for key in keys {
            if let Some(value) = self.secrets.borrow().get(&key) {
                std::fs::write(dir.join(&key), value).unwrap();
            }
        }
        dir
    }

    pub fn runner_command(&self, step: &str, github: &github::GitHub) -> Command {
        let mut cmd = Command::cargo_bin("bca-runner").unwrap();
        cmd.env_clear().envs(self.step_env(github)).args(self.step_args(step)).timeout(Duration::from_secs(120));
        cmd
    }

    /// `bca-runner STEP` as its container's first process (PID 1 of a PID namespace of its
    /// own, through `unshare`), as a step runs in a pod.
    pub fn runner_as_pid1(&self, step: &str, github: &github::GitHub) -> std::process::Output {
        let out = std::process::Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(assert_cmd::cargo::cargo_bin("bca-runner"))
            .args(self.step_args(step))
            .env_clear()
            .envs(self.step_env(github))
            .output()
            .expect("unshare runs (util-linux; the suite runs as root)");
        let _ = std::fs::remove_dir_all(self.path(&format!("secrets-{}", step_name(step))));
        out
    }

    /// A step's command line: the step and the pod's paths.
    fn step_args(&self, step: &str) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = step.split_whitespace().map(Into::into).collect();
        for (flag, path) in [
            ("--workspace", self.path("workspace")),
            ("--secrets", self.secrets_for(step)),
            ("--contract", self.path("etc/run-contract.json")),
            ("--state", self.path("state")),
            ("--handoff", self.path("handoff")),
            ("--verification", self.path("verification")),
            ("--termination-log", self.path("termination-log")),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        args
    }

    /// A step's environment: the stand-in tools first on PATH, and the stand-in GitHub.
    fn step_env(&self, github: &github::GitHub) -> Vec<(String, std::ffi::OsString)> {
        let path = format!("{}:{}", self.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        vec![
            ("PATH".into(), path.into()),
            ("HOME".into(), self.path("workspace").into()),
            ("GITHUB_API_URL".into(), github.url.clone().into()),
        ]
    }

    /// The pod's containers before publish, as `bca-runner` arguments.
    pub fn steps_before_publish(&self) -> Vec<String> {
        let mut steps: Vec<String> = bca_runner::step::containers(self.contract.verify.as_ref().map(|v| v.attempts))
            .into_iter()
            .map(|c| c.args().join(" "))
            .collect();
        assert_eq!(steps.pop().as_deref(), Some("publish"));
        steps
    }

    /// Runs the steps as the pod's containers do, each with only its own secret,
    /// stopping at the first failure.
    pub fn run_steps(&self, github: &github::GitHub) -> std::process::Output {
        for step in self.steps_before_publish() {
            let out = self.runner(&step, github);
            if !out.status.success() {
                return out;
            }
        }
        self.runner("publish", github)
    }

    pub fn termination_log(&self) -> String {
        std::fs::read_to_string(self.path("termination-log")).unwrap_or_default()
    }
}

/// The step a `runner` argument names (`agent --attempt 2` is the agent step).
fn step_name(step: &str) -> &str {
    step.split_whitespace().next().unwrap_or(step)
}

pub fn contract(repository: &str, agent: Agent, prompt: &str) -> RunContract {
    RunContract {
        version: CONTRACT_VERSION,
        change_id: "c0ffee1234".into(),
        change_name: None,
        work: work(prompt),
        repository: repository.into(),
        repositories: vec![],
        base_branches: vec![],
        github_host: None,
        base_branch: "main".into(),
        head_branch: "bca/c0ffee1234".into(),
        agent,
        prompt: prompt.into(),
        pull_request_title: prompt.lines().next().unwrap_or_default().into(),
        pull_request_body: format!("Made by the agent from this prompt:\n\n{prompt}\n"),
        commit_message: format!("{}\n\n{prompt}\n\nChange: c0ffee1234\n", prompt.lines().next().unwrap_or_default()),
        fork_owner: None,
        agentsmd: None,
        resources: vec![],
        agent_settings: Default::default(),
        verify: None,
        merge: None,
        follow_up: None,
        pull_request: Default::default(),
        no_fork: false,
        agent_code_in_repository_ci: false,
        pod_deadline: None,
    }
}

/// A second listener that plays the attacker: it records every request that reaches it.
pub struct Attacker {
    pub url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Attacker {
    pub fn start() -> Attacker {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut text = format!("{} {}\n", request.method(), request.url());
                for h in request.headers() {
                    text.push_str(&format!("{}: {}\n", h.field, h.value));
                }
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut text);
                log.lock().unwrap().push(text);
                // Ask for credentials as a git server would, to see whether any are sent.
                let response = tiny_http::Response::from_string("").with_status_code(401).with_header(
                    tiny_http::Header::from_bytes(&b"WWW-Authenticate"[..], &b"Basic realm=\"x\""[..]).unwrap(),
                );
                let _ = request.respond(response);
            }
        });
        Attacker { url, received }
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

/// A fingerprint that follows the prompt, as bca's does.
pub fn work(prompt: &str) -> bca_runner::contract::Work {
    let hash = format!(
        "{:016x}",
        prompt.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
    );
    bca_runner::contract::Work {
        fingerprint: hash.clone(),
        parts: [("prompt".to_string(), hash), ("baseBranch".to_string(), "main".to_string())].into_iter().collect(),
    }
}

/// The agent's prompt argument: the prompt byte-exact, then bca's note (where the
/// context is, where to leave the summary).
pub fn assert_prompt_then_note(arg: &str, prompt: &str) {
    let note = arg.strip_prefix(prompt).unwrap_or_else(|| panic!("the prompt is not intact at the start: {arg:?}"));
    assert!(note.starts_with("\n\n---\n") && note.contains("write a short summary"), "{note:?}");
}

/// The runner's result line: the last line of its standard output.
pub fn result_line(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {}", shown(out)))
}

pub fn write_script(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

pub fn shown(out: &std::process::Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file below `dir` whose content contains `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path);
                }
            }
        }
    }
    found
}

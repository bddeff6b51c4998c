//! Running `bca-runner` the way a rendered Job does, against the local GitHub stand-in,
//! with stand-in agent CLIs and a git wrapper that records every git command line.
#![allow(dead_code)] // each test file uses a different part of this module

pub mod github;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use bca_runner::{Agent, RunContract, CONTRACT_VERSION};

pub const GITHUB_TOKEN: &str = "ghp_TESTTOKEN_push_0123456789";
pub const COPILOT_TOKEN: &str = "copilot_TESTTOKEN_agent_0123456789";
pub const GEMINI_TOKEN: &str = "gemini_TESTTOKEN_agent_0123456789";
pub const LOGIN: &str = "bot";

/// One Job's pod, on disk: its volumes and the stand-in tools on PATH.
pub struct Pod {
    pub dir: tempfile::TempDir,
    pub contract: RunContract,
}

impl Pod {
    pub fn new(contract: RunContract) -> Pod {
        let dir = tempfile::tempdir().unwrap();
        let pod = Pod { dir, contract };
        for sub in ["workspace", "secrets", "state", "handoff", "bin", "agent-record", "etc"] {
            std::fs::create_dir_all(pod.path(sub)).unwrap();
        }
        std::fs::write(pod.path("secrets/github-token"), format!("{GITHUB_TOKEN}\n")).unwrap();
        std::fs::write(pod.path("secrets/copilot-token"), COPILOT_TOKEN).unwrap();
        std::fs::write(pod.path("secrets/gemini-api-key"), GEMINI_TOKEN).unwrap();
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
        write_script(&self.path("bin/copilot"), &body);
        write_script(&self.path("bin/gemini"), &body);
    }

    /// The argv the agent got, without the program name.
    pub fn agent_argv(&self) -> Vec<String> {
        let argc: usize = std::fs::read_to_string(self.path("agent-record/argc")).unwrap().trim().parse().unwrap();
        (0..argc).map(|i| std::fs::read_to_string(self.path(&format!("agent-record/arg.{i}"))).unwrap()).collect()
    }

    pub fn agent_env(&self) -> String {
        std::fs::read_to_string(self.path("agent-record/env")).unwrap()
    }

    /// `bca-runner STEP` with the pod's paths and the stand-in GitHub.
    pub fn runner(&self, step: &str, github: &github::GitHub) -> std::process::Output {
        self.runner_command(step, github).output().unwrap()
    }

    pub fn runner_command(&self, step: &str, github: &github::GitHub) -> Command {
        let path = format!("{}:{}", self.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::cargo_bin("bca-runner").unwrap();
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.path("workspace"))
            .env("GITHUB_API_URL", &github.url)
            .arg(step)
            .arg("--workspace")
            .arg(self.path("workspace"))
            .arg("--secrets")
            .arg(self.path("secrets"))
            .arg("--contract")
            .arg(self.path("etc/run-contract.json"))
            .arg("--state")
            .arg(self.path("state"))
            .arg("--handoff")
            .arg(self.path("handoff"))
            .arg("--termination-log")
            .arg(self.path("termination-log"))
            .timeout(Duration::from_secs(120));
        cmd
    }

    /// Runs the five steps as the pod's containers do, stopping at the first failure.
    pub fn run_steps(&self, github: &github::GitHub) -> std::process::Output {
        for step in ["fork", "clone", "agent", "collect"] {
            let out = self.runner(step, github);
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

pub fn contract(repository: &str, agent: Agent, prompt: &str) -> RunContract {
    RunContract {
        version: CONTRACT_VERSION,
        change_id: "c0ffee1234".into(),
        repository: repository.into(),
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
    }
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

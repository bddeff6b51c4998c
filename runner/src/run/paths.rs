//! Where a step finds and leaves things. Defaults are the rendered pod's mounts; flags
//! override them so the same binary runs on a laptop.

use std::path::PathBuf;

use crate::pod;

/// The refs the bundle carries: the agent's own HEAD, and that plus its uncommitted files.
pub const AGENT_REF: &str = "refs/bca/agent";
pub const WORKTREE_REF: &str = "refs/bca/worktree";

#[derive(Debug, Clone)]
pub struct Paths {
    pub workspace: PathBuf,
    pub secrets: PathBuf,
    pub contract: PathBuf,
    pub state: PathBuf,
    pub handoff: PathBuf,
    /// Where the verify step leaves its verdict.
    pub verification: PathBuf,
    pub termination_log: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            workspace: pod::WORKSPACE_DIR.into(),
            secrets: pod::SECRETS_DIR.into(),
            contract: PathBuf::from(pod::CONTRACT_DIR).join(pod::CONTRACT_FILE),
            state: pod::STATE_DIR.into(),
            handoff: pod::HANDOFF_DIR.into(),
            verification: pod::VERIFICATION_DIR.into(),
            termination_log: pod::TERMINATION_MESSAGE_PATH.into(),
        }
    }
}

impl Paths {
    /// The agent's work tree: the repository at the base commit, with a `.git` of its
    /// own that nothing holding the token ever reads.
    pub fn repo(&self) -> PathBuf {
        self.workspace.join("repo")
    }
    /// Downloaded instructions and resources, beside the repository so they can never
    /// be committed.
    pub fn context(&self) -> PathBuf {
        self.workspace.join("context")
    }
    /// Repository files that would make the agent CLI run code, kept aside while it runs.
    pub fn quarantine(&self) -> PathBuf {
        self.workspace.join("quarantine")
    }
    /// What the fork step learned about the fork.
    pub fn fork_file(&self) -> PathBuf {
        self.state.join("fork.json")
    }
    /// What the fork step decided about a follow-up round.
    pub fn round_file(&self) -> PathBuf {
        self.state.join("round.json")
    }
    /// The base branch's commit a conflict round merged in: the second parent of the
    /// round's commit.
    pub fn merge_parent(&self) -> PathBuf {
        self.state.join("merge-parent")
    }
    /// The follow-up round's prompt, handed on by clone to the agent's step.
    pub fn round_prompt(&self) -> PathBuf {
        self.workspace.join("follow-up.md")
    }
    /// The Change's open pull request, if the fork step found one.
    pub fn open_pull_file(&self) -> PathBuf {
        self.state.join("open-pull.json")
    }
    /// The verification verdict the verify step leaves for the next attempt and collect
    /// (in a directory no agent process can write).
    pub fn verdict_of_checks(&self) -> PathBuf {
        self.verification.join("verification.json")
    }
    /// Where the verify step writes out the tree it checks (made anew each time).
    pub fn checked(&self) -> PathBuf {
        self.workspace.join("checked")
    }
    /// What the agent's transcript said about its tool calls (for agent-blocked).
    pub fn transcript(&self) -> PathBuf {
        self.workspace.join("transcript.json")
    }
    /// Left by clone for the agent's step when the agent need not run: the agent's
    /// container does not see the state.
    pub fn skip_agent(&self) -> PathBuf {
        self.workspace.join("skip-agent")
    }
    /// The authoritative git directory (bare): the upstream base, and later the commits
    /// publish makes. Only steps that never run agent code touch it.
    pub fn git_dir(&self) -> PathBuf {
        self.state.join("git")
    }
    /// When the pod's first step started (see `clock`).
    pub fn pod_started(&self) -> PathBuf {
        self.state.join("pod-started")
    }
    /// The pod's start, handed on by clone to the agent's step.
    pub fn agent_clock(&self) -> PathBuf {
        self.workspace.join("pod-started")
    }
    /// The upstream commit the clone started from.
    pub fn base_commit(&self) -> PathBuf {
        self.state.join("base-commit")
    }
    /// Collect's verdict on the agent's work tree.
    pub fn verdict(&self) -> PathBuf {
        self.handoff.join("collect.json")
    }
    /// The agent's work as a git bundle, made by collect.
    pub fn bundle(&self) -> PathBuf {
        self.handoff.join("agent.bundle")
    }
    /// Collect's own git directory and index (its objects borrow from the state's and
    /// the agent's; its config is its own).
    pub fn scratch(&self) -> PathBuf {
        self.handoff.join("scratch")
    }
}

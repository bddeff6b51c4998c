//! Where a step finds and leaves things. Defaults are the rendered pod's mounts; flags
//! override them so the same binary runs on a laptop.

use std::path::PathBuf;

use crate::pod;

#[derive(Debug, Clone)]
pub struct Paths {
    pub workspace: PathBuf,
    pub secrets: PathBuf,
    pub contract: PathBuf,
    pub state: PathBuf,
    pub termination_log: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            workspace: pod::WORKSPACE_DIR.into(),
            secrets: pod::SECRETS_DIR.into(),
            contract: PathBuf::from(pod::CONTRACT_DIR).join(pod::CONTRACT_FILE),
            state: pod::STATE_DIR.into(),
            termination_log: pod::TERMINATION_MESSAGE_PATH.into(),
        }
    }
}

impl Paths {
    /// The clone of the repository: the agent's working directory.
    pub fn repo(&self) -> PathBuf {
        self.workspace.join("repo")
    }
    /// Downloaded instructions and resources, beside the repository so they can never
    /// be committed.
    pub fn context(&self) -> PathBuf {
        self.workspace.join("context")
    }
    /// What the fork step learned about the fork.
    pub fn fork_file(&self) -> PathBuf {
        self.state.join("fork.json")
    }
    /// The clone's git config as the clone step left it, before the agent ran.
    pub fn pristine_git_config(&self) -> PathBuf {
        self.state.join("git-config")
    }
    /// The upstream commit the clone started from.
    pub fn base_commit(&self) -> PathBuf {
        self.state.join("base-commit")
    }
}

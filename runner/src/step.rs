//! The steps of a run, one container each, in the order the pod runs them, and what
//! each may reach. This table is the trust boundary: the agent's step never sees the
//! GitHub token or the runner's state, and the steps that hold the token never see the
//! agent's work tree or run the agent's image.

use crate::agent::Agent;
use crate::pod::SECRET_KEY_GITHUB_TOKEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fork,
    Clone,
    Agent,
    Collect,
    Publish,
}

/// How a step mounts a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None,
    ReadOnly,
    ReadWrite,
}

impl Step {
    /// Init containers run all but the last; the last is the main container.
    pub const ALL: [Step; 5] = [Step::Fork, Step::Clone, Step::Agent, Step::Collect, Step::Publish];

    /// The subcommand of `bca-runner` and the container name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Fork => "fork",
            Step::Clone => "clone",
            Step::Agent => "agent",
            Step::Collect => "collect",
            Step::Publish => "publish",
        }
    }

    /// The one secret key this step may read, if any. The agent runs arbitrary tools on
    /// the prompt's say-so, so it gets its own token and never the one that can push;
    /// collect reads what the agent left and holds no token at all.
    pub fn secret_key(self, agent: Agent) -> Option<&'static str> {
        match self {
            Step::Fork | Step::Clone | Step::Publish => Some(SECRET_KEY_GITHUB_TOKEN),
            Step::Agent => Some(agent.secret_key()),
            Step::Collect => None,
        }
    }

    /// Whether the step holds the GitHub token.
    pub fn holds_github_token(self) -> bool {
        matches!(self, Step::Fork | Step::Clone | Step::Publish)
    }

    /// Whether the step runs in the agent's image (`spec.image`, which a Change's author
    /// picks for its toolchains). Every other step runs the runner image chosen at render
    /// time, so no image named in a Change ever holds the GitHub token.
    pub fn runs_agent_image(self) -> bool {
        self == Step::Agent
    }

    /// The work tree the agent edits. Clone fills it; collect reads it as data; the
    /// steps holding the token after the agent ran never mount it.
    pub fn workspace(self) -> Access {
        match self {
            Step::Clone | Step::Agent => Access::ReadWrite,
            Step::Collect => Access::ReadOnly,
            Step::Fork | Step::Publish => Access::None,
        }
    }

    /// The runner's state: the fork, the base commit and the authoritative git directory.
    pub fn state(self) -> Access {
        match self {
            Step::Fork | Step::Clone | Step::Publish => Access::ReadWrite,
            // Collect reads the base commit and its objects; nothing there is secret.
            Step::Collect => Access::ReadOnly,
            Step::Agent => Access::None,
        }
    }

    /// Collect's verdict and bundle, read by publish.
    pub fn handoff(self) -> Access {
        match self {
            Step::Collect => Access::ReadWrite,
            Step::Publish => Access::ReadOnly,
            _ => Access::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_agent_step_reads_the_agent_token() {
        for agent in Agent::ALL {
            for step in Step::ALL {
                let key = step.secret_key(agent);
                assert_eq!(key == Some(agent.secret_key()), step == Step::Agent, "{step:?}");
                assert_eq!(key == Some(SECRET_KEY_GITHUB_TOKEN), step.holds_github_token(), "{step:?}");
            }
        }
    }

    #[test]
    fn no_step_holds_the_token_and_sees_what_the_agent_wrote_or_runs_its_image() {
        for step in Step::ALL {
            if step.holds_github_token() {
                assert!(!step.runs_agent_image(), "{step:?}");
            }
            // Clone writes the work tree before the agent runs; nothing after it that
            // holds the token mounts it.
            let after_agent =
                Step::ALL.iter().position(|s| *s == step) > Step::ALL.iter().position(|s| *s == Step::Agent);
            if step.holds_github_token() && after_agent {
                assert_eq!(step.workspace(), Access::None, "{step:?}");
            }
            if step.runs_agent_image() {
                assert_eq!(step.state(), Access::None);
                assert_eq!(step.handoff(), Access::None);
            }
        }
    }
}

//! The steps of a run, one container each, in the order the pod runs them.

use crate::agent::Agent;
use crate::pod::SECRET_KEY_GITHUB_TOKEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fork,
    Clone,
    Agent,
    Publish,
}

impl Step {
    /// Init containers run the first three; the last is the main container.
    pub const ALL: [Step; 4] = [Step::Fork, Step::Clone, Step::Agent, Step::Publish];

    /// The subcommand of `bca-runner` and the container name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Fork => "fork",
            Step::Clone => "clone",
            Step::Agent => "agent",
            Step::Publish => "publish",
        }
    }

    /// The one secret key this step may read. The agent runs arbitrary tools on the
    /// prompt's say-so, so it gets its own token and never the one that can push.
    pub fn secret_key(self, agent: Agent) -> &'static str {
        match self {
            Step::Fork | Step::Clone | Step::Publish => SECRET_KEY_GITHUB_TOKEN,
            Step::Agent => agent.secret_key(),
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
                assert_eq!(key == agent.secret_key(), step == Step::Agent, "{step:?}");
            }
        }
    }
}

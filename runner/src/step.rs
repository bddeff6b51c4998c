//! The steps of a run, one container each, in the order the pod runs them, and what
//! each may reach. This table is the trust boundary: the agent's step never sees the
//! GitHub token or the runner's state, and the steps that hold the token never see the
//! agent's work tree or run the agent's image. The checks of `spec.verify` run in a
//! container of their own after the agent's has exited, so no agent process is alive
//! while they run, and only that container writes the verdict.

use crate::agent::Agent;
use crate::pod::SECRET_KEY_GITHUB_TOKEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fork,
    Clone,
    Agent,
    Verify,
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
    /// Every step, in the order a pod runs them (the agent and verify steps once per
    /// attempt, see [`containers`]).
    pub const ALL: [Step; 6] = [Step::Fork, Step::Clone, Step::Agent, Step::Verify, Step::Collect, Step::Publish];

    /// The subcommand of `bca-runner` and the container name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Fork => "fork",
            Step::Clone => "clone",
            Step::Agent => "agent",
            Step::Verify => "verify",
            Step::Collect => "collect",
            Step::Publish => "publish",
        }
    }

    /// The step a container of bca's pod runs, from the container's name (`agent-2` is
    /// the agent step's second attempt).
    pub fn of_container(name: &str) -> Option<Step> {
        let step = |n: &str| Step::ALL.into_iter().find(|s| s.name() == n);
        match name.rsplit_once('-') {
            Some((n, attempt)) if attempt.parse::<u32>().is_ok_and(|a| a > 1) => step(n),
            _ => step(name),
        }
    }

    /// The one secret key this step may read, if any. The agent runs arbitrary tools on
    /// the prompt's say-so, so it gets its own token and never the one that can push;
    /// the checks run code the agent wrote and get no token at all, nor does collect,
    /// which reads what the agent left.
    pub fn secret_key(self, agent: Agent) -> Option<&'static str> {
        match self {
            Step::Fork | Step::Clone | Step::Publish => Some(SECRET_KEY_GITHUB_TOKEN),
            Step::Agent => Some(agent.secret_key()),
            Step::Verify | Step::Collect => None,
        }
    }

    /// Whether the step holds the GitHub token.
    pub fn holds_github_token(self) -> bool {
        matches!(self, Step::Fork | Step::Clone | Step::Publish)
    }

    /// Whether the step runs in the agent's image (`spec.image`, which a Change's author
    /// picks for its toolchains). Every other step runs the runner image chosen at render
    /// time, so no image named in a Change ever holds the GitHub token. The checks need
    /// the same toolchains as the agent.
    pub fn runs_agent_image(self) -> bool {
        matches!(self, Step::Agent | Step::Verify)
    }

    /// The work tree the agent edits. Clone fills it; collect reads it as data; the
    /// steps holding the token after the agent ran never mount it.
    pub fn workspace(self) -> Access {
        match self {
            // The checks build and test in it; what they change is found by comparing the
            // tree before and after them.
            Step::Clone | Step::Agent | Step::Verify => Access::ReadWrite,
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
            Step::Agent | Step::Verify => Access::None,
        }
    }

    /// The checks' verdict: written by the verify step alone, after every process its
    /// checks started has ended; read by the next attempt's agent (what failed) and by
    /// collect.
    pub fn verification(self) -> Access {
        match self {
            Step::Verify => Access::ReadWrite,
            Step::Agent | Step::Collect => Access::ReadOnly,
            Step::Fork | Step::Clone | Step::Publish => Access::None,
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

/// One container of a pod: a step, and for the agent and verify steps the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container {
    pub step: Step,
    pub attempt: u32,
}

impl Container {
    /// The container's name: the step's, with the attempt after the first
    /// (`agent`, `verify`, `agent-2`, `verify-2`).
    pub fn name(self) -> String {
        match self.attempt {
            0 | 1 => self.step.name().to_string(),
            n => format!("{}-{n}", self.step.name()),
        }
    }

    /// `bca-runner`'s arguments for it.
    pub fn args(self) -> Vec<String> {
        let mut args = vec![self.step.name().to_string()];
        if self.attempt > 1 {
            args.extend(["--attempt".to_string(), self.attempt.to_string()]);
        }
        args
    }
}

/// The containers of a pod, in order. With `spec.verify` (`attempts` agent runs at
/// most), each agent run is followed by a container for its checks; an attempt whose
/// turn comes after the checks passed does nothing.
pub fn containers(verify_attempts: Option<u32>) -> Vec<Container> {
    let one = |step| Container { step, attempt: 1 };
    let mut pod = vec![one(Step::Fork), one(Step::Clone)];
    match verify_attempts {
        None => pod.push(one(Step::Agent)),
        Some(attempts) => {
            for attempt in 1..=attempts.max(1) {
                pod.push(Container { step: Step::Agent, attempt });
                pod.push(Container { step: Step::Verify, attempt });
            }
        }
    }
    pod.extend([one(Step::Collect), one(Step::Publish)]);
    pod
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
            // The agent never writes the verdict; nothing holding the token reads it.
            if step == Step::Agent || step.holds_github_token() {
                assert_ne!(step.verification(), Access::ReadWrite, "{step:?}");
            }
        }
    }

    #[test]
    fn each_agent_run_is_followed_by_its_checks() {
        let names = |pod: Vec<Container>| pod.into_iter().map(Container::name).collect::<Vec<_>>().join(" ");
        assert_eq!(names(containers(None)), "fork clone agent collect publish");
        assert_eq!(names(containers(Some(1))), "fork clone agent verify collect publish");
        assert_eq!(
            names(containers(Some(3))),
            "fork clone agent verify agent-2 verify-2 agent-3 verify-3 collect publish"
        );
        assert_eq!(Container { step: Step::Verify, attempt: 2 }.args(), ["verify", "--attempt", "2"]);
        assert_eq!(Container { step: Step::Agent, attempt: 1 }.args(), ["agent"]);
        for c in containers(Some(3)) {
            assert_eq!(Step::of_container(&c.name()), Some(c.step));
        }
        assert_eq!(Step::of_container("agent-1"), None);
        assert_eq!(Step::of_container("sidecar"), None);
    }
}

//! `bca-runner`: the steps a rendered bca Job runs, one container each, or all of them
//! in one process with `run`. Exit codes: 0 done, 1 retryable, 2 usage, 3 permanent
//! (the Job's podFailurePolicy fails at once on 2 and 3).
//!
//! In a pod, each step is its own container and sees only what `bca_runner::Step`
//! allows; `run` has no such walls (see its help).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bca_runner::run::askpass;
use bca_runner::run::steps::{self, RunOutcome};
use bca_runner::run::{log, Paths, RunError};

#[derive(Parser)]
#[command(
    name = "bca-runner",
    version,
    about = "Runs the steps of a bca Job: fork, clone, agent, verify, collect, publish",
    after_help = "Exit codes: 0 done; 1 failed, a retry may help; 2 usage or configuration error; 3 failed, a retry cannot help."
)]
struct Cli {
    #[command(subcommand)]
    step: StepCommand,
    /// Directory the repository is cloned into (the pod's workspace volume).
    #[arg(long, global = true, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Directory holding the secret keys as files.
    #[arg(long, global = true, value_name = "DIR")]
    secrets: Option<PathBuf>,
    /// The run contract (JSON), as `bca render` wrote it into the Job.
    #[arg(long, global = true, value_name = "FILE")]
    contract: Option<PathBuf>,
    /// Directory for state the steps pass on and the agent must not touch.
    #[arg(long, global = true, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Directory where collect leaves the agent's work for publish.
    #[arg(long, global = true, value_name = "DIR")]
    handoff: Option<PathBuf>,
    /// Directory where verify leaves the checks' verdict.
    #[arg(long, global = true, value_name = "DIR")]
    verification: Option<PathBuf>,
    /// Where the result line goes for `kubectl get pod` to show.
    #[arg(long, global = true, value_name = "FILE")]
    termination_log: Option<PathBuf>,
}

#[derive(Subcommand, Clone, Copy)]
enum StepCommand {
    /// Make sure a fork of the upstream repository exists and is ready.
    Fork,
    /// Clone the upstream base branch into the state directory, and give the agent a
    /// work tree of its own in the workspace.
    Clone,
    /// Run the agent CLI headless on the prompt in its work tree.
    Agent {
        /// Which agent run this is (spec.verify.attempts); a later one runs only when the
        /// checks of the one before failed.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        attempt: u32,
    },
    /// Run the Change's checks (spec.verify) on the agent's work tree, with no agent
    /// process alive, and leave the verdict.
    Verify {
        /// Which agent run's work this checks.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        attempt: u32,
    },
    /// Bundle what the agent left for publish (holds no token).
    Collect,
    /// Check the agent's work, commit it as bca, push it to the fork, open or update the
    /// pull request.
    Publish,
    /// All the steps in one process, to run a Job's work outside Kubernetes.
    ///
    /// There is no isolation between the agent and the GitHub token here: the agent runs
    /// as the same user, next to the secrets directory. In a pod each step is its own
    /// container and the agent's never sees the token.
    Run,
}

impl Cli {
    fn paths(&self) -> Paths {
        let defaults = Paths::default();
        Paths {
            workspace: self.workspace.clone().unwrap_or(defaults.workspace),
            secrets: self.secrets.clone().unwrap_or(defaults.secrets),
            contract: self.contract.clone().unwrap_or(defaults.contract),
            state: self.state.clone().unwrap_or(defaults.state),
            handoff: self.handoff.clone().unwrap_or(defaults.handoff),
            verification: self.verification.clone().unwrap_or(defaults.verification),
            termination_log: self.termination_log.clone().unwrap_or(defaults.termination_log),
        }
    }
}

fn main() -> ExitCode {
    // Another process of this user (an agent on a laptop) must not read this one's
    // memory, where tokens pass through.
    bca_runner::process::make_non_dumpable();
    // git runs this binary as GIT_ASKPASS with its prompt as the only argument.
    if let Some(token_file) = std::env::var_os(askpass::TOKEN_FILE_ENV) {
        let args: Vec<String> = std::env::args().collect();
        let origin = std::env::var(askpass::ORIGIN_ENV).unwrap_or_default();
        if args.len() == 2 {
            return match askpass::answer(&args[1], std::path::Path::new(&token_file), &origin) {
                Some(answer) => {
                    println!("{answer}");
                    ExitCode::SUCCESS
                }
                None => ExitCode::FAILURE,
            };
        }
    }
    let cli = Cli::parse();
    let paths = cli.paths();
    let (name, result) = match cli.step {
        StepCommand::Fork => ("fork", run(&paths, &|p, c| steps::fork(p, c).map(|()| None))),
        StepCommand::Clone => ("clone", run(&paths, &|p, c| steps::clone(p, c).map(|()| None))),
        StepCommand::Agent { attempt } => ("agent", run(&paths, &|p, c| steps::agent(p, c, attempt).map(|()| None))),
        StepCommand::Verify { attempt } => ("verify", run(&paths, &|p, c| steps::verify(p, c, attempt).map(|()| None))),
        StepCommand::Collect => ("collect", run(&paths, &|p, c| steps::collect(p, c).map(|()| None))),
        StepCommand::Publish => ("publish", run(&paths, &|p, c| steps::publish(p, c).map(Some))),
        StepCommand::Run => (
            "run",
            run(&paths, &|p, c| {
                steps::fork(p, c)?;
                steps::clone(p, c)?;
                match c.contract.verify.as_ref().map(|v| v.attempts.max(1)) {
                    None => steps::agent(p, c, 1)?,
                    Some(attempts) => {
                        for attempt in 1..=attempts {
                            steps::agent(p, c, attempt)?;
                            steps::verify(p, c, attempt)?;
                        }
                    }
                }
                steps::collect(p, c)?;
                steps::publish(p, c).map(Some)
            }),
        ),
    };
    match result {
        Ok(Some(outcome)) => {
            steps::report(&paths, &outcome);
            ExitCode::from(outcome.exit_code())
        }
        Ok(None) => ExitCode::SUCCESS,
        Err((repository, e)) => {
            let message = format!("{repository}: {e}");
            log::info(name, &format!("error: {message}"));
            let _ = std::fs::write(
                &paths.termination_log,
                bca_runner::run::secrets::redact(&format!("{name}: {message}\n")),
            );
            ExitCode::from(e.exit_code())
        }
    }
}

type StepFn<'a> = &'a dyn Fn(&Paths, &steps::Run) -> Result<Option<RunOutcome>, RunError>;

/// Loads the contract and runs a step; errors carry the repository for the message.
fn run(paths: &Paths, step: StepFn) -> Result<Option<RunOutcome>, (String, RunError)> {
    let run = steps::load(paths).map_err(|e| ("(no contract)".to_string(), e))?;
    step(paths, &run).map_err(|e| (run.contract.repository.clone(), e))
}

//! `bca-runner`: the steps a rendered bca Job runs, one container each.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bca-runner",
    version,
    about = "Runs one step of a bca Job: fork, clone, agent or publish"
)]
struct Cli {
    #[command(subcommand)]
    step: StepCommand,
}

#[derive(Subcommand)]
enum StepCommand {
    /// Make sure a fork of the upstream repository exists and is ready.
    Fork,
    /// Clone the upstream base branch into the workspace, with the fork as push remote.
    Clone,
    /// Run the agent CLI headless on the prompt in the cloned repository.
    Agent,
    /// Commit what the agent changed, push it to the fork and open or update the pull request.
    Publish,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let step = match cli.step {
        StepCommand::Fork => "fork",
        StepCommand::Clone => "clone",
        StepCommand::Agent => "agent",
        StepCommand::Publish => "publish",
    };
    eprintln!("bca-runner {step}: this step is not implemented in this version of bca-runner");
    std::process::ExitCode::from(2)
}

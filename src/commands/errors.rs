//! The library's errors in the command line's words: where a flag is the fix, or the
//! cause, the message names it. The library itself speaks only of Changes and settings.

use crate::output::DirError;
use crate::render::RenderError;

/// A render error as a user of `bca render`, `diff` or `run --local` reads it.
pub fn render_error(e: RenderError) -> anyhow::Error {
    let message = match &e {
        RenderError::MissingTokens { missing } => {
            format!("--secret-from-env needs {} in the environment (they are empty or unset)", missing.join(", "))
        }
        RenderError::TemplatesNamePerRepository { .. } => {
            format!("{e} (Indexed Jobs come from spec.rollout.parallelism or --parallelism)")
        }
        RenderError::TooManyJobs { .. } => {
            format!("{e} (or --parallelism), or pass --allow-many-jobs to render them anyway")
        }
        RenderError::AgentCodeInRepositoryCi { .. } => format!(
            "{e}: fork instead (spec.fork: true, and a --fork-org that does not own the repositories), or accept it \
             with --allow-agent-code-in-repository-ci (and add branches-ignore: ['bca/**'] to push workflows)"
        ),
        RenderError::UnusedAgentSetting { name, agent } => {
            format!("--agent-setting {name} is for {agent}, which none of the Changes use")
        }
        RenderError::HostNotAllowed { file, repository, host } => format!(
            "{file}: {repository} is on {host}, and the GitHub token is sent only to github.com: if {host} is your \
             GitHub Enterprise host, pass --github-host {host}"
        ),
        RenderError::OtherHost { file, repository, host, allowed } => format!(
            "{file}: {repository} is on {host}, but --github-host is {allowed}: one credentials Secret serves one \
             GitHub host; render the Changes of each host separately"
        ),
        _ => return e.into(),
    };
    anyhow::Error::msg(message)
}

/// An output-directory error as a user of `bca render --output-dir` reads it.
pub fn dir_error(e: DirError) -> anyhow::Error {
    match e {
        DirError::ForeignFiles { dir, files } => anyhow::anyhow!(
            "{dir} holds files bca did not write: {}; refusing to replace it (move them away, choose another \
             directory, or pass --force to delete them)",
            files.join(", ")
        ),
        DirError::HoldsAnother { .. } => anyhow::anyhow!("{e}, or pass --force to replace it"),
        e => e.into(),
    }
}

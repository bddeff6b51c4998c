//! `bca validate`: check Change files and say what each one would do.

use std::path::PathBuf;

use super::{load_file, once_from_stdin, LoadedFile, Outcome, Style, EXIT_ERROR, EXIT_INVALID};
use crate::change::Change;

/// One line a person can read at a glance.
pub fn summary(name: &str, change: &Change) -> String {
    let n = change.spec.repos.len();
    // github.com goes without saying; an Enterprise host needs `render --github-host`.
    let host = change.spec.repos.first().map(|r| r.host()).filter(|h| !h.eq_ignore_ascii_case("github.com"));
    let id = crate::render::change_id(change);
    let identity = match change.name() {
        Some(named) => format!("{named} (change {id})"),
        None => format!("change {id}"),
    };
    let into = if change.spec.select.is_some() && !change.spec.branch_given {
        "each repository's default branch".to_string()
    } else {
        format!("branch {}", change.spec.branch)
    };
    format!(
        "{name}: valid: {identity}, {} on {n} repositor{}{} into {into}",
        change.spec.agent,
        if n == 1 { "y" } else { "ies" },
        host.map(|h| format!(" on {h}")).unwrap_or_default(),
    )
}

pub fn validate(paths: &[PathBuf], quiet: bool, style: Style) -> anyhow::Result<Outcome> {
    once_from_stdin(paths)?;
    let mut outcome = Outcome::default();
    let mut unreadable = false;
    let mut copilot = false;
    // Every file is reported, whatever happened to the others.
    for path in paths {
        let loaded = match load_file(path) {
            Ok(loaded) => loaded,
            Err(e) => {
                outcome.stderr.push_str(&format!("bca: error: {e:#}\n"));
                unreadable = true;
                continue;
            }
        };
        match loaded {
            LoadedFile::Valid { name, change } => {
                copilot |= change.spec.agent == bca_runner::Agent::CopilotCli;
                // Valid, but what `render` asks more of: said here, before render refuses.
                if change.spec.fork == Some(false) {
                    outcome.stderr.push_str(&style.note(&format!(
                        "{name}: spec.fork is false: the agent's code runs in the repositories' CI before review; \
                         render needs --allow-agent-code-in-repository-ci"
                    )));
                }
                let paced = change.spec.rollout.as_ref().is_some_and(|r| r.parallelism.is_some());
                if !paced && change.spec.repos.len() > crate::render::options::MAX_JOBS_UNPACED {
                    outcome.stderr.push_str(&style.note(&format!(
                        "{name}: {} repositories without spec.rollout.parallelism: render needs it (or \
                         --parallelism, or --allow-many-jobs)",
                        change.spec.repos.len()
                    )));
                }
                if change.spec.verify.is_some() && change.spec.image.is_none() {
                    outcome.stderr.push_str(&style.note(&format!(
                        "{name}: spec.verify's checks run in the agent's image, and without spec.image that is the \
                         runner image (git and a shell, no language toolchain): name an image with what the \
                         commands need"
                    )));
                }
                if !quiet {
                    outcome.stdout.push_str(&summary(&name, &change));
                    outcome.stdout.push('\n');
                }
            }
            LoadedFile::Invalid(report) => {
                outcome.code = EXIT_INVALID;
                outcome.stderr.push_str(&report.render(style.color));
            }
        }
    }
    if copilot && !quiet {
        // Copilot CLI's key is itself a GitHub token, and the agent holds it.
        outcome.stderr.push_str(&style.note(
            "Copilot CLI's key (COPILOT_TOKEN, secret key copilot-token) reaches the agent: make it a fine-grained \
             token with only the Copilot Requests permission, which cannot push or open pull requests",
        ));
    }
    if unreadable {
        outcome.code = EXIT_ERROR;
    }
    Ok(outcome)
}

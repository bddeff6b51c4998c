//! `bca run --local`: a Change's Jobs, run on this machine one repository after another
//! through the same rendered manifests a cluster would get.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _};
use bca_runner::Agent;
use k8s_openapi::api::batch::v1::Job;

use super::{render_files, Outcome, Style, EXIT_INVALID};
use crate::local::{find_program, hide_tokens, run_job};
use crate::render::{self, secret, RenderError, RenderOptions, Scope, SecretSource};

pub struct RunRequest {
    pub files: Vec<PathBuf>,
    pub options: RenderOptions,
    /// Run only these repositories (`owner/name`, `host/owner/name` or the URL); all
    /// when empty.
    pub only: Vec<String>,
}

/// `https://github.com/Acme/API.git/` → `github.com/acme/api`.
fn repository_key(text: &str) -> String {
    let text = text.trim().trim_start_matches("https://").trim_end_matches('/');
    text.strip_suffix(".git").unwrap_or(text).to_ascii_lowercase()
}

/// Whether `filter` names the repository `url` (as `owner/name`, `host/owner/name` or a URL).
pub(crate) fn names_repository(filter: &str, url: &str) -> bool {
    let (filter, url) = (repository_key(filter), repository_key(url));
    url == filter || url.split_once('/').is_some_and(|(_, owner_name)| owner_name == filter)
}

/// The agent CLI versions bca is tested with, for the install hint.
const AGENT_CLIS: &str = include_str!("../../tools/agent-clis/package.json");

fn install_hint(agent: Agent) -> String {
    let package = agent.npm_package();
    let version = serde_json::from_str::<serde_json::Value>(AGENT_CLIS)
        .ok()
        .and_then(|v| v["dependencies"][package].as_str().map(str::to_string))
        .unwrap_or_else(|| "latest".into());
    format!("{} ({agent}): npm install -g {package}@{version}", agent.program())
}

pub fn run_local(request: &RunRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let options = RenderOptions { secret: SecretSource::Existing, scope: Scope::Change, ..request.options.clone() };
    let started = Instant::now();
    let (changes, rendered) = match render_files(&request.files, &options, env, style)? {
        Ok(done) => done,
        Err(outcome) => return Ok(outcome),
    };
    let render_time = started.elapsed();
    // Each run: a Job, and for an Indexed Job the completion index (one per repository).
    let mut runs: Vec<(&render::Manifest, Option<usize>, &str)> = Vec::new();
    for manifest in rendered.manifests.iter().filter(|m| m.kind == "Job") {
        let indexed = manifest.indexed;
        for (i, repository) in manifest.repositories.iter().enumerate() {
            runs.push((manifest, indexed.then_some(i), repository));
        }
    }
    if !request.only.is_empty() {
        let repositories: Vec<&str> = runs.iter().map(|(_, _, r)| *r).collect();
        for filter in &request.only {
            if !repositories.iter().any(|url| names_repository(filter, url)) {
                let closest = repositories
                    .iter()
                    .map(|url| (strsim::levenshtein(&repository_key(filter), &repository_key(url)), *url))
                    .min()
                    .map(|(_, url)| format!("; did you mean {}?", url.trim_start_matches("https://")))
                    .unwrap_or_default();
                bail!("--repo {filter} is not one of the Change's repositories{closest}");
            }
        }
        runs.retain(|(_, _, url)| request.only.iter().any(|f| names_repository(f, url)));
    }
    let mut agents: Vec<Agent> = changes.iter().map(|(_, c)| c.spec.agent).collect();
    agents.sort();
    agents.dedup();

    // Everything missing is named at once.
    let path = env("PATH");
    let here = std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from));
    let runner = find_program("bca-runner", here.as_deref(), path.as_deref());
    let mut missing = Vec::new();
    if runner.is_none() {
        missing.push("bca-runner (built with bca: cargo install --path runner, or put it beside bca)".to_string());
    }
    if find_program("git", None, path.as_deref()).is_none() {
        missing.push("git".to_string());
    }
    for agent in &agents {
        if find_program(agent.program(), None, path.as_deref()).is_none() {
            missing.push(install_hint(*agent));
        }
    }
    if !missing.is_empty() {
        bail!("bca run --local needs these on PATH:\n  {}", missing.join("\n  "));
    }
    let runner = runner.expect("checked above");
    let credentials = match secret::secret_from_env("local", "local", &agents, env) {
        Ok(secret) => secret,
        Err(RenderError::MissingTokens { missing }) => {
            bail!("bca run --local needs {} in the environment (they are empty or unset)", missing.join(", "))
        }
        Err(e) => return Err(e.into()),
    };
    let secret_data = credentials.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    hide_tokens(&secret::token_vars(&agents));

    let mut outcome = Outcome::default();
    for warning in &rendered.warnings {
        outcome.stderr.push_str(&style.warning(warning));
    }
    eprint!("{}", std::mem::take(&mut outcome.stderr));
    eprintln!(
        "bca: rendered {} Job(s) in {:.2?}",
        rendered.manifests.iter().filter(|m| m.kind == "Job").count(),
        render_time
    );
    let mut failed = 0;
    for (manifest, index, repository) in runs {
        let value = render::yaml::parse_documents(&manifest.yaml)
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .next()
            .context("a rendered Job is empty")?;
        let job: Job = serde_json::from_value(value).context("reading a rendered Job back")?;
        match index {
            Some(i) => eprintln!("bca: running Job {} index {i} for {repository}", manifest.name),
            None => eprintln!("bca: running Job {} for {repository}", manifest.name),
        }
        let run = run_job(&job, index, &runner, &secret_data, env)?;
        let times: Vec<String> = run.steps.iter().map(|s| format!("{} {:.2?}", s.name, s.duration)).collect();
        eprintln!("bca: {repository}: {}", times.join(", "));
        if run.succeeded {
            outcome.stdout.push_str(&run.message);
            outcome.stdout.push('\n');
        } else {
            failed += 1;
            let step = run.steps.last().map(|s| (s.name.clone(), s.exit_code)).unwrap_or_default();
            eprintln!(
                "bca: {repository}: step {} failed (exit {}): {}",
                step.0,
                step.1.map_or("signal".to_string(), |c| c.to_string()),
                run.message
            );
        }
    }
    if failed > 0 {
        outcome.code = EXIT_INVALID;
        outcome.stderr.push_str(&format!("bca: {failed} Job(s) failed\n"));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::names_repository;

    #[test]
    fn repositories_are_named_as_users_write_them() {
        let url = "https://github.com/Acme/API";
        for filter in ["acme/api", "Acme/API", "github.com/acme/api", "https://github.com/acme/api.git/"] {
            assert!(names_repository(filter, url), "{filter}");
        }
        for filter in ["acme", "api", "acme/ap", "other.host/acme/api"] {
            assert!(!names_repository(filter, url), "{filter}");
        }
    }
}

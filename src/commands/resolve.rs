//! `bca resolve`: asks GitHub which repositories each Change's `spec.select` chooses and
//! writes them into the Change's lockfile, saying what changed since the last one;
//! `--check` says it and exits 1 instead of writing, for CI.

use std::path::PathBuf;

use anyhow::Context as _;

use super::access::github_access;
use super::status::Progress;
use super::{once_from_stdin, Outcome, Style, EXIT_INVALID};
use crate::change::{self, source::Source};
use crate::lock;
use crate::render::names::GitHubHost;

pub struct ResolveRequest {
    pub files: Vec<PathBuf>,
    pub check: bool,
    pub github_host: Option<GitHubHost>,
    pub progress: bool,
}

pub fn resolve(
    request: &ResolveRequest,
    env: &dyn Fn(&str) -> Option<String>,
    style: Style,
) -> anyhow::Result<Outcome> {
    once_from_stdin(&request.files)?;
    let mut out = Outcome::default();
    for path in &request.files {
        let source = Source::read(path).with_context(|| format!("reading {}", path.display()))?;
        let change = match change::parse(&source.name, &source.bytes) {
            Ok(change) => change,
            Err(report) => {
                out.stderr.push_str(&report.render(style.color));
                out.code = EXIT_INVALID;
                continue;
            }
        };
        let Some(select) = change.spec.select.clone() else {
            // The other files are still resolved.
            out.stderr.push_str(&format!(
                "bca: error: {} has no spec.select: its repositories are listed in spec.repos, nothing to resolve\n",
                source.name
            ));
            out.code = super::EXIT_ERROR;
            continue;
        };
        let lock_path = lock::path_of(path, &select)
            .and_then(|p| lock::contained(path, &p).map(|()| p))
            .map_err(|e| anyhow::anyhow!("{}: {e}: {}", source.name, e.help(&source.name)))?;
        let changes = [(source.name.clone(), change)];
        let (token, endpoint, host_name) = github_access("resolve", &changes, request.github_host.as_ref(), env)?;
        let host = bca_codehost::connect(&endpoint, &token);
        let mut shown_progress: Option<Progress> = None;
        let mut progress = |n: usize, total: usize| {
            shown_progress.get_or_insert_with(|| Progress::new(total, request.progress)).read(n)
        };
        let new = crate::resolve::resolve(host.as_ref(), &select, &host_name, &mut progress).map_err(|e| {
            let help = e.help().map(|h| format!(": {h}")).unwrap_or_default();
            anyhow::anyhow!("{}: resolving spec.select: {e}{help}", source.name)
        })?;
        if let Some(p) = &shown_progress {
            p.done();
        }
        let shown = lock_path.display().to_string();
        let old =
            lock::read_any(&lock_path).map_err(|e| anyhow::anyhow!("{e}: delete it and run bca resolve again"))?;
        let cost = host.spent();
        out.stdout.push_str(&format!(
            "{}: {} repositories selected, {} excluded (read with {} request(s) to GitHub, {} GraphQL point(s))\n",
            source.name,
            new.repositories.len(),
            new.excluded.len(),
            cost.requests,
            cost.graphql_points
        ));
        let same = old.as_ref().is_some_and(|old| lock::same_selection(old, &new));
        match &old {
            Some(old) => {
                for line in lock::changes(old, &new) {
                    out.stdout.push_str(&format!("  {line}\n"));
                }
                if old.select != new.select {
                    out.stdout.push_str("  spec.select changed since the lockfile was written\n");
                }
            }
            None => out.stdout.push_str(&format!("  {shown} is new\n")),
        }
        if request.check {
            if same {
                out.stdout.push_str(&format!("{shown} is up to date\n"));
            } else {
                out.stdout
                    .push_str(&format!("{shown} is not up to date: run bca resolve {} and commit it\n", source.name));
                out.code = EXIT_INVALID;
            }
            continue;
        }
        let text = new.to_text();
        if std::fs::read_to_string(&lock_path).ok().as_deref() != Some(text.as_str()) {
            // Never through a link: a new file beside it, renamed over it.
            let partial = lock_path.with_extension("yaml.partial");
            let _ = std::fs::remove_file(&partial);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&partial)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
                .and_then(|()| std::fs::rename(&partial, &lock_path))
                .with_context(|| format!("writing {shown}"))?;
            out.stdout.push_str(&format!("wrote {shown}\n"));
        } else {
            out.stdout.push_str(&format!("{shown} is up to date\n"));
        }
    }
    Ok(out)
}

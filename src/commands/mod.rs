//! One function per subcommand. Each returns what to print and the exit code, so the
//! binary only parses arguments and prints; errors that are not about the input (I/O,
//! usage) come back as `anyhow::Error` and exit 2.

mod access;
pub mod args;
pub mod close;
pub mod diff;
pub mod errors;
pub mod merge;
pub mod render;
pub mod resolve;
pub mod run;
pub mod status;
pub mod validate;

use std::path::PathBuf;

use anyhow::Context as _;
use bca_codehost::repository::filter_key;
use bca_runner::Repository;

use crate::change::{self, Change, Report, Source};
use crate::render::{Input, RenderError, RenderOptions, Rendered};

/// What a command prints and how it exits.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

/// Writes a command's output and returns its exit code. A closed pipe (`bca render | head`)
/// is a clean exit; any other failure to write (a full disk) is an error, exit 2: output
/// that did not arrive must not look like success.
pub fn emit(outcome: &Outcome) -> u8 {
    use std::io::Write;
    let written =
        std::io::stdout().lock().write_all(outcome.stdout.as_bytes()).and_then(|()| std::io::stdout().flush());
    let _ = std::io::stderr().lock().write_all(outcome.stderr.as_bytes());
    match written {
        Ok(()) => outcome.code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => outcome.code,
        Err(e) => {
            eprintln!("bca: error: writing standard output: {e}");
            EXIT_ERROR
        }
    }
}

/// What a directory rendered with `scope` from `changes` holds.
pub(crate) fn holds(
    scope: crate::render::Scope,
    changes: &[(String, crate::change::Change)],
) -> crate::output::settings::Holds {
    use crate::output::settings::Holds;
    if scope == crate::render::Scope::Platform {
        return Holds::Platform;
    }
    // Only a name is stable: an unnamed Change's id follows its prompt.
    let mut ids: Vec<String> = changes.iter().filter_map(|(_, c)| Some(c.name()?.to_string())).collect();
    ids.sort();
    ids.dedup();
    Holds::Changes(ids)
}

/// Invalid input, or (for diff) differences.
pub const EXIT_INVALID: u8 = 1;
/// Usage, I/O or internal error.
pub const EXIT_ERROR: u8 = 2;

/// The input is invalid (located errors, two files rendering the same Job): what to
/// print, exit 1. It travels as an error so that commands can use `?`; [`finish`] turns
/// it back into the outcome.
#[derive(Debug)]
pub struct Invalid(pub Outcome);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.stderr.trim_end())
    }
}

impl std::error::Error for Invalid {}

/// What a command's result prints, and its exit code: an error that is not about the
/// input (I/O, usage) exits 2.
pub fn finish(result: anyhow::Result<Outcome>) -> Outcome {
    match result {
        Ok(outcome) => outcome,
        Err(e) => match e.downcast::<Invalid>() {
            Ok(Invalid(outcome)) => outcome,
            Err(e) => Outcome { stderr: format!("bca: error: {e:#}\n"), code: EXIT_ERROR, ..Outcome::default() },
        },
    }
}

/// How to show messages on standard error.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn warning(&self, text: &str) -> String {
        let label = crate::terminal::paint(self.color, crate::terminal::palette::WARNING, "warning:");
        format!("{label} {text}\n")
    }

    /// Advice that is not a problem with the input.
    pub fn note(&self, text: &str) -> String {
        let label = crate::terminal::paint(self.color, crate::terminal::palette::EMPHASIS, "note:");
        format!("{label} {text}\n")
    }
}

/// The outcome for one input file.
pub enum LoadedFile {
    Valid { name: String, change: Box<Change> },
    Invalid(Report),
}

/// Reads and checks each file. An I/O error (missing file, unreadable stdin) is an
/// error; a file that is read but invalid is a `LoadedFile::Invalid`.
/// A Change's own lockfile among the paths (`bca render changes/*.yaml`) is its, not a
/// Change: it is left out.
pub fn load_files(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedFile>> {
    once_from_stdin(paths)?;
    let loaded: Vec<(&PathBuf, LoadedFile)> =
        paths.iter().map(|path| load_file(path).map(|l| (path, l))).collect::<anyhow::Result<_>>()?;
    let locks: Vec<PathBuf> = loaded
        .iter()
        .filter_map(|(path, l)| match l {
            LoadedFile::Valid { change, .. } => change.spec.select.as_ref().map(|s| (path, s)),
            LoadedFile::Invalid(_) => None,
        })
        .filter_map(|(path, select)| crate::lock::path_of(path, select).ok())
        .map(|p| normalized(&p))
        .collect();
    Ok(loaded
        .into_iter()
        .filter(|(path, l)| matches!(l, LoadedFile::Valid { .. }) || !locks.contains(&normalized(path)))
        .map(|(_, l)| l)
        .collect())
}

/// A path without `.` parts, for comparing two spellings of one file.
fn normalized(path: &std::path::Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

/// Standard input can be read once.
pub fn once_from_stdin(paths: &[PathBuf]) -> anyhow::Result<()> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        anyhow::bail!("- (standard input) is given more than once; it can be read only once");
    }
    Ok(())
}

/// Reads and checks one file, and a Change with `spec.select` its lockfile: a missing or
/// stale one is a located error at `spec.select`.
pub fn load_file(path: &std::path::Path) -> anyhow::Result<LoadedFile> {
    let source = Source::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut change = match change::parse(&source.name, &source.bytes) {
        Ok(change) => change,
        Err(report) => return Ok(LoadedFile::Invalid(report)),
    };
    if let Some(select) = change.spec.select.clone() {
        let applied = crate::lock::read(path, &select).and_then(|(_, lock)| crate::lock::apply(&mut change, &lock));
        if let Err(e) = applied {
            let d = change::diagnostic::Diagnostic::new(select.at, "spec.select", e.to_string())
                .with_help(e.help(&source.name));
            let text = String::from_utf8_lossy(&source.bytes).into_owned();
            return Ok(LoadedFile::Invalid(change::diagnostic::Report {
                file: source.name,
                source: text,
                diagnostics: vec![d],
            }));
        }
    }
    Ok(LoadedFile::Valid { name: source.name, change: Box::new(change) })
}

/// The valid Changes; the errors of the invalid ones are [`Invalid`].
pub fn valid_changes(paths: &[PathBuf], style: Style) -> anyhow::Result<Vec<(String, Change)>> {
    let mut changes = Vec::new();
    let mut errors = String::new();
    for loaded in load_files(paths)? {
        match loaded {
            LoadedFile::Valid { name, change } => changes.push((name, *change)),
            LoadedFile::Invalid(report) => errors.push_str(&report.render(style.color)),
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(Invalid(Outcome { stdout: String::new(), stderr: errors, code: EXIT_INVALID }).into())
    }
}

/// Every `--repo` must name one of `repositories` (however it is written: `owner/name`,
/// `host/owner/name`, the URL); one that names none gets the closest as a suggestion.
pub fn check_repo_filters<'a>(
    filters: &[String],
    repositories: impl Iterator<Item = &'a Repository> + Clone,
) -> anyhow::Result<()> {
    for filter in filters {
        if !repositories.clone().any(|repo| repo.is_named_by(filter)) {
            let key = filter_key(filter);
            let closest = repositories
                .clone()
                .min_by_key(|repo| repo.names().iter().map(|name| strsim::levenshtein(&key, name)).min())
                .map(|repo| format!("; did you mean {}?", repo.short()))
                .unwrap_or_default();
            anyhow::bail!("--repo {filter} is not one of the Change's repositories{closest}");
        }
    }
    Ok(())
}

/// Valid Changes by file name, and what they render to.
pub type LoadedRender = (Vec<(String, Change)>, Rendered);

/// Loads the Change files and renders them.
pub fn render_files(
    paths: &[PathBuf],
    options: &RenderOptions,
    env: &dyn Fn(&str) -> Option<String>,
    style: Style,
) -> anyhow::Result<LoadedRender> {
    let changes = valid_changes(paths, style)?;
    let inputs: Vec<Input> = changes.iter().map(|(file, change)| Input { file, change }).collect();
    let rendered = match crate::render::render(&inputs, options, env) {
        Ok(rendered) => rendered,
        Err(e @ RenderError::DuplicateJob { .. }) => {
            let stderr = format!("bca: error: {e}\n");
            return Err(Invalid(Outcome { stderr, code: EXIT_INVALID, ..Outcome::default() }).into());
        }
        Err(e) => return Err(errors::render_error(e)),
    };
    Ok((changes, rendered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_repository_is_matched_however_it_is_written() {
        let repos: Vec<Repository> = ["https://github.com/acme/api", "https://github.com/acme/web"]
            .iter()
            .map(|u| Repository::parse(u).unwrap())
            .collect();
        assert!(check_repo_filters(&["Acme/API".to_string()], repos.iter()).is_ok());
        for filter in ["acme/wbe", "github.com/acme/wbe", "https://github.com/Acme/WBE.git/"] {
            let err = check_repo_filters(&[filter.to_string()], repos.iter()).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("--repo {filter} is not one of the Change's repositories; did you mean acme/web?")
            );
        }
    }
}

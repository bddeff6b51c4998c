//! `bca status`: where a Change stands, read from the code host (and `--pods` for what
//! only the cluster knows). Exits 0 when every repository has reached an end state
//! (merged, closed by a person, nothing to change; `--require-merged`: merged or nothing
//! to change), 1 else.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{valid_changes, Outcome, Style, EXIT_INVALID};
use crate::change::Change;
use crate::render::names::{GitHubHost, GitHubOwner};
use crate::status::{self, pods, report};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

pub struct StatusRequest {
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// `kubectl get pods -o json` output (`-` for standard input).
    pub pods: Option<PathBuf>,
    /// The organisation the Changes fork into (`render --fork-org`).
    pub fork_org: Option<GitHubOwner>,
    /// The GitHub Enterprise host of the Changes' repositories (`render --github-host`).
    pub github_host: Option<GitHubHost>,
    /// Exit 0 only when every pull request is merged (or had nothing to change).
    pub require_merged: bool,
    /// Progress lines on standard error even when it is not a terminal (CI logs).
    pub progress: bool,
}

pub fn status(request: &StatusRequest, env: &dyn Fn(&str) -> Option<String>, style: Style) -> anyhow::Result<Outcome> {
    let files = valid_changes(&request.files, style)?;
    // Read before GitHub is asked: a mistyped path costs nothing.
    let pod_states = request.pods.as_deref().map(read_pods).transpose()?;
    let (token, endpoint, host_name) =
        super::access::github_access("status", &files, request.github_host.as_ref(), env)?;
    let changes: Vec<Change> = files.into_iter().map(|(_, change)| change).collect();
    let host = bca_codehost::connect(&endpoint, &token);
    let targets = status::targets(host.as_ref(), &changes, request.fork_org.as_deref())
        .context("asking GitHub whose token GITHUB_TOKEN is")?;
    let mut progress = Progress::new(targets.len(), request.progress);
    let mut rows =
        status::read(host.as_ref(), &targets, &mut |n| progress.read(n)).context("reading the pull requests")?;
    progress.done();
    let (orphans, mut search_warnings) =
        status::changes_orphans(host.as_ref(), &changes).context("searching for orphaned pull requests")?;
    let (orphans, others) = status::own_orphans(host.as_ref(), request.fork_org.as_deref(), orphans)
        .context("checking the orphaned pull requests are the Change's")?;
    search_warnings.extend(others);
    let cost = host.spent();
    rows.extend(orphans.iter().map(|o| o.orphan.row(&host_name)));
    let mut stderr: String = search_warnings.iter().map(|w| style.warning(w)).collect();
    if let Some((path, states)) = &pod_states {
        let mut matched = std::collections::BTreeSet::new();
        for row in &mut rows {
            let key = row.repository.to_ascii_lowercase();
            if let Some(state) = states.get(&key) {
                row.job = Some(state.clone());
                matched.insert(key);
            }
        }
        let unmatched: Vec<&str> =
            states.keys().filter(|k| !matched.contains(*k)).map(|k| k.trim_start_matches("https://")).collect();
        if !unmatched.is_empty() {
            stderr.push_str(&style.warning(&format!(
                "--pods {}: {} pod(s) ran repositories these Changes do not list: {}",
                path.display(),
                unmatched.len(),
                unmatched.join(", ")
            )));
        }
    }
    let stdout = match request.format {
        Format::Table => report::table(&rows, &cost),
        Format::Json => report::json_lines(&rows, &cost),
        Format::Markdown => report::markdown(&rows, &cost),
    };
    let gate = if request.require_merged { status::Gate::Merged } else { status::Gate::Settled };
    let code = if status::done(&rows, gate) { 0 } else { EXIT_INVALID };
    Ok(Outcome { stdout, stderr, code })
}

/// `kubectl get pods -o json` from a file or standard input (`-`): repository → state.
fn read_pods(path: &Path) -> anyhow::Result<(PathBuf, std::collections::BTreeMap<String, pods::JobState>)> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading --pods from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading --pods {}", path.display()))?
    };
    let states = pods::job_states(&text).map_err(|e| anyhow::anyhow!("--pods {}: {e}", path.display()))?;
    Ok((path.to_path_buf(), states))
}

/// How far the read is, on standard error: one line rewritten on a terminal, a line
/// every tenth of the way with `--progress` (CI logs), nothing otherwise.
pub(super) struct Progress {
    total: usize,
    terminal: bool,
    lines: bool,
    last_tenth: usize,
}

impl Progress {
    pub(super) fn new(total: usize, lines: bool) -> Progress {
        Progress { total, terminal: !lines && std::io::stderr().is_terminal(), lines, last_tenth: 0 }
    }

    pub(super) fn read(&mut self, n: usize) {
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\rbca: read {n} of {} repositories", self.total);
        } else if self.lines {
            let tenth = n * 10 / self.total.max(1);
            if tenth > self.last_tenth || n == self.total {
                self.last_tenth = tenth;
                let _ = writeln!(err, "bca: read {n} of {} repositories", self.total);
            }
        }
    }

    pub(super) fn done(&self) {
        if self.terminal {
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}

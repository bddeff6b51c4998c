//! `bca diff`: render in memory and compare with a directory written earlier by
//! `bca render --output-dir`. Writes nothing anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::bail;

use super::args::parse_flags;
use super::{render_files, Outcome, Style, EXIT_INVALID};
use crate::diff::jobs::{summarize, JobFacts};
use crate::diff::{colorize, diff_files, group_repeated, FileStatus};
use crate::output::read::parse_documents;
use crate::output::settings::{self, Flags, Settings};
use crate::output::{files, read_dir_files, Found};
use crate::render::manifest::file_name;
use crate::render::{Scope, SecretSource};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::Resource as _;

pub struct DiffRequest {
    pub files: Vec<PathBuf>,
    /// The render flags given to diff; they win over those the directory records.
    pub given: Flags,
    pub dir: PathBuf,
    /// Print only the summary.
    pub stat: bool,
    /// Print every file's diff, not each repeated change once.
    pub full: bool,
}

/// The flags to render with (the directory's record, then the given ones over it), and
/// a note for each given flag that differs from the record.
fn flags_and_notes(recorded: Option<&Settings>, given: &Flags, dir: &str) -> (Flags, Vec<String>) {
    let Some(recorded) = recorded else {
        return (given.clone(), Vec::new());
    };
    let mut notes = Vec::new();
    if recorded.bca != env!("CARGO_PKG_VERSION") {
        notes.push(format!(
            "{dir} was rendered by bca {}, this is bca {}: Jobs on the default runner image change",
            recorded.bca,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let show = |values: Option<&Vec<String>>| match values {
        None => "not given".to_string(),
        Some(v) if v.is_empty() => "given".to_string(),
        Some(v) => v.join(", "),
    };
    for (name, values) in given {
        let before = recorded.flags.get(name);
        if before != Some(values) {
            notes.push(format!(
                "--{name} differs from what {dir} was rendered with: {} → {}",
                show(before),
                show(Some(values))
            ));
        }
    }
    let mut flags = recorded.flags.clone();
    flags.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    (flags, notes)
}

pub fn diff(
    request: &DiffRequest,
    env: &dyn Fn(&str) -> Option<String>,
    style: Style,
    stdout_color: bool,
) -> anyhow::Result<Outcome> {
    if !request.dir.is_dir() {
        bail!(
            "{} is not a directory: expected the output of `bca render --output-dir {}`",
            request.dir.display(),
            request.dir.display()
        );
    }
    let shown_dir = request.dir.display().to_string();
    let recorded = settings::read(&request.dir)?;
    let (flags, notes) = flags_and_notes(recorded.as_ref(), &request.given, &shown_dir);
    let args = parse_flags(&flags)
        .map_err(|e| anyhow::anyhow!("the flags {} records do not parse: {}", settings::FILE_NAME, e.kind()))?;
    let mut options = args.options()?;
    options.scope = if args.platform { Scope::Platform } else { Scope::Change };
    if options.secret == SecretSource::FromEnv {
        bail!(
            "bca diff does not take --secret-from-env: it would print tokens, and a committed directory holds no \
             plaintext Secret (use --external-secret, or leave the Secret out)"
        );
    }
    let (changes, rendered) = render_files(&request.files, &options, env, style)?;
    let mut stderr = String::new();
    for note in &notes {
        stderr.push_str(&format!("note: {note}\n"));
    }
    let new_files = files(&rendered.manifests, &Settings::current(flags, super::holds(options.scope, &changes)));
    let old_files = read_dir_files(&request.dir)?;
    // The new side keeps its types; only the committed side is read back.
    let new_jobs: Vec<(String, JobFacts)> = rendered
        .manifests
        .iter()
        .filter_map(|m| {
            let (file, job) = (m.file_name(), m.job()?);
            Some((file.clone(), JobFacts::of(&job.job, Some(job.contract.clone()), new_files.get(&file)?)?))
        })
        .collect();
    let mut old_jobs: Vec<(String, JobFacts)> = Vec::new();
    // Committed Jobs edited so that they no longer read as Jobs, with why.
    let mut unreadable: BTreeMap<String, String> = BTreeMap::new();
    for file in committed_order(&old_files) {
        let Some(Found::Ours(text)) = old_files.get(&file) else { continue };
        match JobFacts::read(text) {
            Ok(Some(facts)) => old_jobs.push((file, facts)),
            Ok(None) => {}
            Err(e) => {
                unreadable.insert(file, e);
            }
        }
    }
    let job_files: BTreeSet<&str> = old_jobs.iter().chain(&new_jobs).map(|(file, _)| file.as_str()).collect();
    // A new Job's file → its repository, as a reviewer names it.
    let repository_of: BTreeMap<String, String> =
        new_jobs.iter().map(|(file, facts)| (file.clone(), facts.repository.clone())).collect();
    // A new Job whose committed file does not read is neither added nor explained: it
    // differs, for the reason the file gives.
    let (unread, new_jobs): (Vec<_>, Vec<_>) = new_jobs.iter().partition(|(file, _)| unreadable.contains_key(file));
    let new_jobs: Vec<&JobFacts> = new_jobs.iter().map(|(_, facts)| facts).collect();
    let new_by_key: BTreeMap<&str, &JobFacts> = new_jobs.iter().map(|j| (j.key.as_str(), *j)).collect();
    let renames: BTreeMap<String, String> = old_jobs
        .iter()
        .filter_map(|(file, old)| {
            let new = new_by_key.get(old.key.as_str()).filter(|n| n.name != old.name)?;
            Some((file.clone(), file_name(Job::KIND, &new.name)))
        })
        .collect();
    let old_jobs: Vec<&JobFacts> = old_jobs.iter().map(|(_, facts)| facts).collect();
    let diffs = diff_files(&new_files, &old_files, &renames);
    if diffs.is_empty() {
        return Ok(Outcome { stderr, ..Outcome::default() });
    }

    let mut stdout = String::new();
    let paint = |unified: &str| if stdout_color { colorize(unified) } else { unified.to_string() };
    if request.full {
        for d in &diffs {
            stdout.push_str(&paint(&d.unified));
        }
        stdout.push('\n');
    } else if !request.stat {
        for group in group_repeated(&diffs, &renames) {
            if group.files.len() > 1 {
                let named: Vec<&str> =
                    group.files.iter().take(5).map(|f| repository_of.get(*f).map_or(*f, |r| r.as_str())).collect();
                let more = group.files.len().saturating_sub(named.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                stdout.push_str(&format!(
                    "# The same change in {} Jobs: {}{more}; shown once (bca diff --full shows every file)\n",
                    group.files.len(),
                    named.join(", ")
                ));
            }
            if group.diff.name == crate::output::kustomization::FILE_NAME && lists_only_jobs(&group.diff.unified) {
                stdout.push_str(&format!(
                    "# {}: only the file names of the Jobs below change (bca diff --full shows it)\n",
                    group.diff.name
                ));
                continue;
            }
            stdout.push_str(&paint(&group.diff.unified));
        }
        stdout.push('\n');
    }
    // Files the committed kustomization lists that are not there: deleted by hand.
    let missing: BTreeSet<String> = committed_order(&old_files)
        .into_iter()
        .filter(|f| !old_files.contains_key(f))
        .filter_map(|f| f.strip_prefix("job-").and_then(|n| n.strip_suffix(".yaml")).map(str::to_string))
        .collect();
    let mut summary = summarize(&old_jobs, &new_jobs, &missing);
    for (file, facts) in unread {
        summary.changed += 1;
        let why = &unreadable[file];
        summary
            .lines
            .push(format!("1 Job differs: {} (the committed {file} does not read as a Job: {why})", facts.repository));
    }
    for line in &summary.lines {
        stdout.push_str(line);
        stdout.push('\n');
    }
    let stray: Vec<&str> = diffs.iter().filter(|d| d.status == FileStatus::Stray).map(|d| d.name.as_str()).collect();
    if !stray.is_empty() {
        stdout.push_str(&format!(
            "{} not written by bca: {} (bca render --force would delete {})\n",
            if stray.len() == 1 { "1 file" } else { "files" },
            stray.join(", "),
            if stray.len() == 1 { "it" } else { "them" }
        ));
    }
    let others: Vec<&str> = diffs
        .iter()
        .filter(|d| {
            d.status != FileStatus::Stray && !job_files.contains(d.name.as_str()) && d.name != settings::FILE_NAME
        })
        .map(|d| d.name.as_str())
        .collect();
    if !others.is_empty() {
        stdout.push_str(&format!("other files differ: {}\n", others.join(", ")));
    }
    stdout.push_str(&summary.totals());
    stdout.push('\n');
    Ok(Outcome { stdout, stderr, code: EXIT_INVALID })
}

/// Whether a kustomization's diff only adds and removes Job files from its resources
/// (what renaming Jobs does to it).
fn lists_only_jobs(unified: &str) -> bool {
    unified
        .lines()
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---"))
        .all(|l| l[1..].starts_with("- job-") && l.ends_with(".yaml"))
}

/// File names in the order of the committed kustomization.yaml, then any others.
fn committed_order(found: &BTreeMap<String, Found>) -> Vec<String> {
    let mut order: Vec<String> = match found.get(crate::output::kustomization::FILE_NAME) {
        Some(Found::Ours(text)) => parse_documents(text)
            .ok()
            .and_then(|docs| docs.into_iter().next())
            .and_then(|doc| doc["resources"].as_array().cloned())
            .map(|items| items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    order.extend(found.keys().filter(|name| !listed.contains(*name)).cloned());
    order
}

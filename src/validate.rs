//! `bca validate`: check Change files and say what each one would do.

use std::path::PathBuf;

use crate::change::{self, Change, Report, Source};

/// The outcome for one input file.
pub enum Checked {
    Valid { name: String, change: Change },
    Invalid(Report),
}

impl Checked {
    /// One line a person can read at a glance.
    pub fn summary(name: &str, change: &Change) -> String {
        let n = change.spec.repos.len();
        format!(
            "{name}: valid: {} on {n} repositor{} into branch {}",
            change.spec.agent,
            if n == 1 { "y" } else { "ies" },
            change.spec.branch
        )
    }
}

/// Reads and checks each file. An I/O error (missing file, unreadable stdin) is returned
/// as an error; a file that is read but invalid is an `Invalid` result.
pub fn check_files(paths: &[PathBuf]) -> anyhow::Result<Vec<Checked>> {
    use anyhow::Context as _;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let source = Source::read(path).with_context(|| format!("reading {}", path.display()))?;
        out.push(match change::parse(&source.name, &source.bytes) {
            Ok(change) => Checked::Valid {
                name: source.name,
                change,
            },
            Err(report) => Checked::Invalid(report),
        });
    }
    Ok(out)
}

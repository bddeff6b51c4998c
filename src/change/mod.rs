//! The Change file: reading it, decoding it into typed values with located errors,
//! and its JSON Schema. Knows nothing about Kubernetes.
//!
//! A new field touches `model.rs` (its type, and its name in `FIELDS`), `decode.rs`, the
//! committed schema and docs/change-file.md; CONTRIBUTING.md has the checklist, and tests catch a miss.

pub mod decode;
pub mod diagnostic;
pub mod model;
pub mod schema;
pub mod source;
pub mod values;
pub mod yaml;

pub use diagnostic::{Diagnostic, Report, Span};
pub use model::{Change, Spec};
pub use source::Source;

/// Parses and checks one Change file. `file` is the name used in error messages.
/// The `kind` of the lockfile `bca resolve` writes beside a Change (`crate::lock`), which
/// the decoder recognises when it is given as a Change.
pub const LOCK_KIND: &str = "ChangeLock";

pub fn parse(file: &str, bytes: &[u8]) -> Result<Change, Report> {
    let report = |source: String, diagnostics: Vec<Diagnostic>| Report { file: file.to_string(), source, diagnostics };
    if bytes.len() > source::MAX_FILE_BYTES {
        let d = Diagnostic::new(
            Span::START,
            "",
            format!(
                "the file is larger than {} MiB; a Change file is a prompt and a list of repositories",
                source::MAX_FILE_BYTES >> 20
            ),
        )
        .with_help("split the repositories over several Change files");
        return Err(report(String::new(), vec![d]));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let d = Diagnostic::new(
                Span { line, col, len: 1 },
                "",
                format!("the file is not UTF-8 text (invalid byte 0x{:02x})", bytes[e.valid_up_to()]),
            )
            .with_help("a Change file is YAML text; save it as UTF-8");
            return Err(report(valid, vec![d]));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let loaded = yaml::load(text);
    let mut diagnostics = loaded.diagnostics;
    let change = match loaded.root {
        Some(root) => match decode::decode(&root) {
            Ok(change) => Some(change),
            Err(found) => {
                diagnostics.extend(found);
                None
            }
        },
        None if diagnostics.is_empty() => {
            diagnostics.push(
                Diagnostic::new(Span::START, "", "the file is empty: expected a Change")
                    .with_help("start from examples/change.yaml: kind: Change, apiVersion: v1, and a spec with prompt, repos and agent"),
            );
            None
        }
        None => None,
    };
    match change {
        Some(change) if diagnostics.is_empty() => Ok(change),
        _ => {
            diagnostics.sort_by_key(|d| (d.span.line, d.span.col));
            Err(report(text.to_string(), diagnostics))
        }
    }
}

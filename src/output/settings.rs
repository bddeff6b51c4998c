//! The record of how an output directory was rendered: bca's version and the render
//! flags given, so `bca diff` in CI renders the same way with no flags of its own.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::header::HEADER;
use crate::render::yaml;

/// The record's file in an output directory. Not listed in kustomization.yaml: it is
/// not a Kubernetes object.
pub const FILE_NAME: &str = "bca-render.yaml";

/// Render flags by long name, with the values given (none for a switch): what a command
/// line gave, and what a directory records. Sorted by name, so the record is the same
/// whatever the order on the command line.
pub type Flags = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The bca version that rendered the directory.
    pub bca: String,
    pub flags: Flags,
    /// What the directory holds (absent in a directory an older bca wrote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<Holds>,
}

/// What one output directory holds: the namespace's shared objects, or Changes' Jobs
/// (the named ones by name; an unnamed Change has no stable identity to record). Never
/// both, and never another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Holds {
    Platform,
    Changes(Vec<String>),
}

impl std::fmt::Display for Holds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holds::Platform => f.write_str("the platform (the namespace's shared objects)"),
            Holds::Changes(changes) if changes.is_empty() => f.write_str("unnamed Changes"),
            Holds::Changes(changes) if changes.len() == 1 => write!(f, "Change {}", changes[0]),
            Holds::Changes(changes) => write!(f, "Changes {}", changes.join(", ")),
        }
    }
}

impl Holds {
    /// Whether a directory holding `self` may be replaced by one holding `new`: the
    /// same kind, and for named Changes at least one in common (a Change added or
    /// removed from a directory of several is an edit, not another directory).
    pub fn may_become(&self, new: &Holds) -> bool {
        match (self, new) {
            (Holds::Platform, Holds::Platform) => true,
            // An unnamed Change cannot be the named one a directory holds; a directory of
            // unnamed Changes cannot say whose it is.
            (Holds::Changes(old), Holds::Changes(new)) => old.is_empty() || old.iter().any(|c| new.contains(c)),
            _ => false,
        }
    }
}

impl Settings {
    pub fn current(flags: Flags, holds: Holds) -> Settings {
        Settings { bca: env!("CARGO_PKG_VERSION").to_string(), flags, holds: Some(holds) }
    }

    /// The file's text after the header.
    pub fn to_text(&self) -> String {
        let value = serde_json::to_value(self).expect("settings serialise");
        format!(
            "# The flags this directory was rendered with: `bca diff` renders with them again.\n{}",
            yaml::to_yaml(&value)
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path} is damaged ({reason}): render the directory again with bca render --output-dir")]
pub struct SettingsError {
    path: String,
    reason: String,
}

/// The record in `dir`, if there is one.
pub fn read(dir: &Path) -> Result<Option<Settings>, SettingsError> {
    let path = dir.join(FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let damaged = |reason: String| SettingsError { path: path.display().to_string(), reason };
    let body = text.strip_prefix(HEADER).ok_or_else(|| damaged("bca did not write it".into()))?;
    let doc = super::read::parse_documents(body).map_err(damaged)?.into_iter().next().unwrap_or_default();
    serde_json::from_value(doc).map(Some).map_err(|e| damaged(e.to_string()))
}

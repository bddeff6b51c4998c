//! Writing a render into a directory: build the new directory beside the old one, then
//! swap it in, so stale files disappear and a failure leaves the old directory intact.
//! Files bca did not write are never deleted without `--force`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::header::HEADER;
use super::kustomization::{self, kustomization};
use super::settings::{self, Settings};
use crate::render::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error(
        "{dir} holds files bca did not write: {}; refusing to replace it: move them away or choose another \
         directory",
        files.join(", ")
    )]
    ForeignFiles { dir: String, files: Vec<String> },
    #[error("{dir} is not a directory")]
    NotADirectory { dir: String },
    #[error(
        "{dir} holds {holds} ({record}); rendering {would} there would replace it: choose that one's own directory"
    )]
    HoldsAnother { dir: String, record: String, holds: String, would: String },
    #[error("refusing to replace {dir}: it is the current directory or one of its parents")]
    EnclosesWorkingDirectory { dir: String },
    /// The OS error is the source, not part of the message, so a chain printed with
    /// `{:#}` names it once.
    #[error("{action} {path}")]
    Io { action: &'static str, path: String, source: std::io::Error },
    #[error(
        "cannot write {dir}: bca builds the new directory beside it and swaps it in, so {parent} must be writable \
         ({kind}); choose a directory whose parent you can write, or change its permissions"
    )]
    ParentNotWritable { dir: String, parent: String, kind: std::io::ErrorKind },
}

/// The error of creating the staging directory: a parent bca may not write is the
/// user's to fix, and is named as such, not by the staging directory's internal name.
fn staging_error(dir: &Path, parent: &Path, staging: &Path, e: std::io::Error) -> DirError {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    match e.kind() {
        kind @ (PermissionDenied | ReadOnlyFilesystem) => {
            DirError::ParentNotWritable { dir: dir.display().to_string(), parent: parent.display().to_string(), kind }
        }
        _ => io("creating", staging)(e),
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DirError {
    let path = path.display().to_string();
    move |source| DirError::Io { action, path, source }
}

/// What a write did, for the message to the user.
#[derive(Debug, PartialEq, Eq)]
pub struct Written {
    pub files: usize,
    /// Files of an earlier render that are gone now, sorted.
    pub removed: Vec<String>,
    /// Files bca did not write, deleted because of `--force`, sorted.
    pub forced: Vec<String>,
}

/// The files of a render: one per object, the kustomization and the record of the
/// settings, each with the header.
pub fn files(manifests: &[Manifest], settings: &Settings) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for m in manifests {
        files.insert(m.file_name(), format!("{HEADER}{}", m.yaml()));
    }
    files.insert(kustomization::FILE_NAME.to_string(), format!("{HEADER}{}", kustomization(manifests)));
    files.insert(settings::FILE_NAME.to_string(), format!("{HEADER}{}", settings.to_text()));
    files
}

/// A file found in an output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Written by bca: the whole content, header included.
    Ours(String),
    /// Not bca's: its text if it is a readable UTF-8 file, `None` for anything else.
    Foreign(Option<String>),
}

/// Every entry of `dir` by name, sorted.
pub fn read_dir_files(dir: &Path) -> Result<BTreeMap<String, Found>, DirError> {
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io("reading", dir))? {
        let entry = entry.map_err(io("reading", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let text = if entry.file_type().map_err(io("reading", &path))?.is_file() {
            fs::read_to_string(&path).ok()
        } else {
            None
        };
        let kind = match text {
            Some(text) if name.ends_with(".yaml") && text.starts_with(HEADER) => Found::Ours(text),
            other => Found::Foreign(other),
        };
        found.insert(name, kind);
    }
    Ok(found)
}

pub fn write_dir(dir: &Path, manifests: &[Manifest], settings: &Settings, force: bool) -> Result<Written, DirError> {
    let shown = dir.display().to_string();
    if encloses_working_directory(dir) {
        return Err(DirError::EnclosesWorkingDirectory { dir: shown });
    }
    let new_files = files(manifests, settings);
    let mut removed = Vec::new();
    let mut forced = Vec::new();
    let exists = match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => return Err(DirError::NotADirectory { dir: shown }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(DirError::Io { action: "reading", path: shown, source: e }),
    };
    if exists && !force {
        // A record a user cannot read back is `bca diff`'s to report; here it only
        // decides whether the directory is another's.
        if let Ok(Some(Settings { holds: Some(holds), .. })) = settings::read(dir) {
            if let Some(new) = settings.holds.as_ref().filter(|new| !holds.may_become(new)) {
                return Err(DirError::HoldsAnother {
                    dir: shown,
                    record: dir.join(settings::FILE_NAME).display().to_string(),
                    holds: holds.to_string(),
                    would: new.to_string(),
                });
            }
        }
    }
    if exists {
        for (name, found) in read_dir_files(dir)? {
            match found {
                Found::Ours(_) if !new_files.contains_key(&name) => removed.push(name),
                Found::Ours(_) => {}
                Found::Foreign(_) => forced.push(name),
            }
        }
        if !forced.is_empty() && !force {
            return Err(DirError::ForeignFiles { dir: shown, files: forced });
        }
    }

    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{base}.bca-new-{}", std::process::id()));
    let old = parent.join(format!(".{base}.bca-old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| {
        fs::create_dir(&staging).map_err(|e| staging_error(dir, &parent, &staging, e))?;
        for (name, content) in &new_files {
            let path = staging.join(name);
            let mut file = fs::File::create(&path).map_err(io("writing", &path))?;
            file.write_all(content.as_bytes()).map_err(io("writing", &path))?;
            file.sync_all().map_err(io("writing", &path))?;
        }
        if exists {
            fs::rename(dir, &old).map_err(io("replacing", dir))?;
            if let Err(e) = fs::rename(&staging, dir) {
                // Put the old directory back: a failed render must change nothing.
                let _ = fs::rename(&old, dir);
                return Err(DirError::Io { action: "replacing", path: dir.display().to_string(), source: e });
            }
            fs::remove_dir_all(&old).map_err(io("removing", &old))?;
        } else {
            fs::rename(&staging, dir).map_err(io("creating", dir))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result?;
    Ok(Written { files: new_files.len(), removed, forced })
}

fn encloses_working_directory(dir: &Path) -> bool {
    let (Ok(dir), Ok(cwd)) = (fs::canonicalize(dir), std::env::current_dir().and_then(fs::canonicalize)) else {
        return false;
    };
    cwd.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parent_bca_may_not_write_is_named_not_the_staging_directory() {
        let (dir, parent, staging) = (Path::new("out/deploy"), Path::new("out"), Path::new("out/.deploy.bca-new-7"));
        for (kind, reason) in [
            (std::io::ErrorKind::PermissionDenied, "permission denied"),
            (std::io::ErrorKind::ReadOnlyFilesystem, "read-only filesystem or storage medium"),
        ] {
            let message = format!("{:#}", anyhow::Error::from(staging_error(dir, parent, staging, kind.into())));
            assert_eq!(
                message,
                format!(
                    "cannot write out/deploy: bca builds the new directory beside it and swaps it in, so out must be \
                     writable ({reason}); choose a directory whose parent you can write, or change its permissions"
                )
            );
        }
    }

    #[test]
    fn an_os_error_is_said_once() {
        let e = std::io::Error::from_raw_os_error(libc_enospc());
        let message = format!("{:#}", anyhow::Error::from(io("writing", Path::new("d/f.yaml"))(e)));
        assert_eq!(message.matches("No space left on device").count(), 1, "{message}");
        assert!(message.starts_with("writing d/f.yaml: No space left on device"), "{message}");
    }

    /// ENOSPC, the same on every Linux and macOS.
    fn libc_enospc() -> i32 {
        28
    }
}

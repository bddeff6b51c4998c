//! Repository files that make an agent CLI run code or send its key elsewhere at
//! startup (`Agent::startup_config_files`) are moved out of the work tree while the
//! agent runs and put back afterwards, so the pull request does not delete them.

use std::path::{Path, PathBuf};

use super::{log, RunError};

/// Files moved aside, to put back.
pub struct Quarantine {
    moved: Vec<(PathBuf, PathBuf)>,
}

/// Moves each of `files` (relative to `repo`) that exists into `aside`. A symbolic
/// link on the way is moved itself, so nothing outside the work tree is touched.
pub fn isolate(repo: &Path, files: &[&str], aside: &Path) -> Result<Quarantine, RunError> {
    let mut moved = Vec::new();
    for rel in files {
        let mut path = repo.to_path_buf();
        let mut target = None;
        for part in rel.split('/') {
            path.push(part);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    target = Some(path.clone());
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let target = target.or_else(|| std::fs::symlink_metadata(&path).is_ok().then_some(path));
        let Some(target) = target else { continue };
        std::fs::create_dir_all(aside)
            .map_err(|e| RunError::usage(format!("cannot create {}: {e}", aside.display())))?;
        let kept = aside.join(moved.len().to_string());
        std::fs::rename(&target, &kept)
            .map_err(|e| RunError::usage(format!("cannot move {} aside: {e}", target.display())))?;
        let shown = target.strip_prefix(repo).unwrap_or(&target).display().to_string();
        log::info("agent", &format!("{shown} is kept from the agent CLI while it runs (it could run code at startup)"));
        moved.push((target, kept));
    }
    Ok(Quarantine { moved })
}

impl Quarantine {
    /// Puts the files back where they were, unless the agent wrote something there:
    /// then the agent's version is what it changed, and it stays.
    pub fn restore(self) -> Result<(), RunError> {
        for (original, kept) in self.moved.into_iter().rev() {
            if std::fs::symlink_metadata(&original).is_ok() {
                log::info("agent", &format!("the agent wrote {} itself; keeping its version", original.display()));
                continue;
            }
            if let Some(parent) = original.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| RunError::usage(format!("cannot recreate {}: {e}", parent.display())))?;
            }
            std::fs::rename(&kept, &original)
                .map_err(|e| RunError::usage(format!("cannot put {} back: {e}", original.display())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_links_are_moved_aside_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".gemini")).unwrap();
        std::fs::write(repo.join(".gemini/settings.json"), "{}").unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/.env"), "X=1").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), repo.join("linked")).unwrap();
        let aside = dir.path().join("aside");
        let q = isolate(&repo, &[".gemini/settings.json", "linked/.env", "missing/file"], &aside).unwrap();
        assert!(!repo.join(".gemini/settings.json").exists());
        assert!(std::fs::symlink_metadata(repo.join("linked")).is_err(), "the link itself is moved");
        assert!(dir.path().join("outside/.env").exists(), "nothing outside the work tree moves");
        q.restore().unwrap();
        assert_eq!(std::fs::read_to_string(repo.join(".gemini/settings.json")).unwrap(), "{}");
        assert!(std::fs::symlink_metadata(repo.join("linked")).unwrap().file_type().is_symlink());
    }
}

//! Comparing a render with an output directory committed earlier: unified diffs per
//! file, and a summary of what happens to the Jobs, in a reviewer's terms.

pub mod jobs;

use std::collections::BTreeMap;

use similar::TextDiff;

use crate::output::Found;
use crate::terminal::{paint, palette};

/// Lines of context around each change in the unified diffs.
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    Added,
    Removed,
    Changed,
    /// A Job file whose name changed: the old file's content against the new one's.
    Replaced,
    /// In the directory but not written by bca: would be deleted by `render --force`.
    Stray,
}

#[derive(Debug)]
pub struct FileDiff {
    pub name: String,
    pub status: FileStatus,
    /// A unified diff with `--- a/NAME` / `+++ b/NAME` headers.
    pub unified: String,
}

/// Every file that differs between the new render (`new`) and the directory (`old`),
/// in file-name order. `renames` maps an old file to the new file that replaces it (the
/// same repository's Job under a new name): those are shown as one diff, so a reviewer
/// reads only the lines that changed.
pub fn diff_files(
    new: &BTreeMap<String, String>,
    old: &BTreeMap<String, Found>,
    renames: &BTreeMap<String, String>,
) -> Vec<FileDiff> {
    let mut names: Vec<&String> = new.keys().chain(old.keys()).collect();
    names.sort();
    names.dedup();
    // New file → the old file it replaces.
    let replaces: BTreeMap<&String, &String> = renames.iter().map(|(from, to)| (to, from)).collect();
    let mut diffs = Vec::new();
    for name in names {
        if renames.contains_key(name) {
            continue;
        }
        if let Some((from, Found::Ours(before))) = replaces.get(name).and_then(|from| Some((*from, old.get(*from)?))) {
            let after = new.get(name).map_or("", String::as_str);
            let unified = TextDiff::from_lines(before.as_str(), after)
                .unified_diff()
                .context_radius(CONTEXT)
                .header(&format!("a/{from}"), &format!("b/{name}"))
                .to_string();
            diffs.push(FileDiff { name: name.clone(), status: FileStatus::Replaced, unified });
            continue;
        }
        let (status, before, after) = match (old.get(name), new.get(name)) {
            (Some(Found::Ours(before)), Some(after)) if before == after => continue,
            (Some(Found::Ours(before)), Some(after)) => (FileStatus::Changed, before.as_str(), after.as_str()),
            (Some(Found::Foreign(text)), after) => {
                let status = if after.is_some() { FileStatus::Changed } else { FileStatus::Stray };
                (status, text.as_deref().unwrap_or(""), after.map_or("", String::as_str))
            }
            (Some(Found::Ours(before)), None) => (FileStatus::Removed, before.as_str(), ""),
            (None, Some(after)) => (FileStatus::Added, "", after.as_str()),
            (None, None) => continue,
        };
        let a = if status == FileStatus::Added { "/dev/null".to_string() } else { format!("a/{name}") };
        let b = if matches!(status, FileStatus::Removed | FileStatus::Stray) {
            "/dev/null".to_string()
        } else {
            format!("b/{name}")
        };
        let mut unified =
            TextDiff::from_lines(before, after).unified_diff().context_radius(CONTEXT).header(&a, &b).to_string();
        if unified.is_empty() {
            // Not text (a directory, a binary file): name it at least.
            unified = format!("--- {a}\n+++ {b}\n");
        }
        diffs.push(FileDiff { name: name.clone(), status, unified });
    }
    diffs
}

/// Diffs whose changed lines are the same once each file's own Job name is masked: a
/// prompt edit across 300 Jobs is one change, shown once with the Jobs it applies to.
#[derive(Debug)]
pub struct Repeated<'a> {
    /// The first file's diff, shown for all.
    pub diff: &'a FileDiff,
    /// Every file the change applies to, the first included, in diff order.
    pub files: Vec<&'a str>,
}

/// Groups `diffs` by what they change, in the order each change first appears.
/// `renames` is the same map `diff_files` took (old file → new file).
pub fn group_repeated<'a>(diffs: &'a [FileDiff], renames: &BTreeMap<String, String>) -> Vec<Repeated<'a>> {
    let old_of: BTreeMap<&str, &str> = renames.iter().map(|(old, new)| (new.as_str(), old.as_str())).collect();
    let job = |file: &str| file.strip_prefix("job-").and_then(|f| f.strip_suffix(".yaml")).map(str::to_string);
    let mut groups: Vec<(String, Repeated<'a>)> = Vec::new();
    for diff in diffs {
        let key = match job(&diff.name) {
            // Only a change to a Job can repeat; any other file is its own.
            Some(new_name) if matches!(diff.status, FileStatus::Changed | FileStatus::Replaced) => {
                let old_name = old_of.get(diff.name.as_str()).and_then(|f| job(f)).unwrap_or_else(|| new_name.clone());
                let changed: Vec<String> = diff
                    .unified
                    .lines()
                    .filter(|l| {
                        (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+++") && !l.starts_with("---")
                    })
                    .map(|l| l.replace(&old_name, "<job>").replace(&new_name, "<job>"))
                    .collect();
                format!("{:?}\n{}", diff.status, changed.join("\n"))
            }
            _ => format!("file {}", diff.name),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.files.push(&diff.name),
            None => groups.push((key, Repeated { diff, files: vec![&diff.name] })),
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// Colours a unified diff the way git does, for a terminal.
pub fn colorize(unified: &str) -> String {
    let mut out = String::with_capacity(unified.len());
    for line in unified.split_inclusive('\n') {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Some(palette::EMPHASIS)
        } else if line.starts_with('+') {
            Some(palette::ADDED)
        } else if line.starts_with('-') {
            Some(palette::REMOVED)
        } else if line.starts_with("@@") {
            Some(palette::HUNK)
        } else {
            None
        };
        match style {
            None => out.push_str(line),
            Some(style) => {
                let (text, newline) = line.strip_suffix('\n').map_or((line, ""), |t| (t, "\n"));
                out.push_str(&paint(true, style, text));
                out.push_str(newline);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_added_removed_changed_and_stray_files() {
        let new =
            BTreeMap::from([("a.yaml".to_string(), "x\n".to_string()), ("b.yaml".to_string(), "new\n".to_string())]);
        let old = BTreeMap::from([
            ("b.yaml".to_string(), Found::Ours("old\n".to_string())),
            ("c.yaml".to_string(), Found::Ours("gone\n".to_string())),
            ("notes.txt".to_string(), Found::Foreign(Some("mine\n".to_string()))),
        ]);
        let diffs = diff_files(&new, &old, &BTreeMap::new());
        let shown: Vec<_> = diffs.iter().map(|d| (d.name.as_str(), d.status)).collect();
        assert_eq!(
            shown,
            [
                ("a.yaml", FileStatus::Added),
                ("b.yaml", FileStatus::Changed),
                ("c.yaml", FileStatus::Removed),
                ("notes.txt", FileStatus::Stray)
            ]
        );
        assert_eq!(diffs[1].unified, "--- a/b.yaml\n+++ b/b.yaml\n@@ -1 +1 @@\n-old\n+new\n");
        assert!(diffs[0].unified.starts_with("--- /dev/null\n+++ b/a.yaml\n"));
        assert!(diffs[3].unified.starts_with("--- a/notes.txt\n+++ /dev/null\n"));
    }

    #[test]
    fn colours_like_git() {
        let coloured = colorize("--- a/x\n+++ b/x\n@@ -1 +1 @@\n same\n-old\n+new\n");
        assert_eq!(
            coloured,
            "\x1b[1m--- a/x\x1b[0m\n\x1b[1m+++ b/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n same\n\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n"
        );
    }

    #[test]
    fn identical_files_are_not_listed() {
        let new = BTreeMap::from([("a.yaml".to_string(), "x\n".to_string())]);
        let old = BTreeMap::from([("a.yaml".to_string(), Found::Ours("x\n".to_string()))]);
        assert!(diff_files(&new, &old, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn the_same_change_in_many_jobs_is_one_group() {
        let diff = |name: &str, old: &str, line: &str| FileDiff {
            name: name.into(),
            status: FileStatus::Replaced,
            unified: format!(
                "--- a/{old}\n+++ b/{name}\n@@ -1,2 +1,2 @@\n-name: {}\n+name: {}\n-{line}\n+prompt: new\n",
                old.trim_start_matches("job-").trim_end_matches(".yaml"),
                name.trim_start_matches("job-").trim_end_matches(".yaml")
            ),
        };
        let diffs = vec![
            diff("job-a-2.yaml", "job-a-1.yaml", "prompt: old"),
            diff("job-b-2.yaml", "job-b-1.yaml", "prompt: old"),
            diff("job-c-2.yaml", "job-c-1.yaml", "prompt: other"),
        ];
        let renames = BTreeMap::from([
            ("job-a-1.yaml".to_string(), "job-a-2.yaml".to_string()),
            ("job-b-1.yaml".to_string(), "job-b-2.yaml".to_string()),
            ("job-c-1.yaml".to_string(), "job-c-2.yaml".to_string()),
        ]);
        let groups = group_repeated(&diffs, &renames);
        let files: Vec<Vec<&str>> = groups.iter().map(|g| g.files.clone()).collect();
        assert_eq!(files, [vec!["job-a-2.yaml", "job-b-2.yaml"], vec!["job-c-2.yaml"]]);
    }

    #[test]
    fn a_renamed_file_is_one_diff_of_the_lines_that_changed() {
        let new = BTreeMap::from([("job-b.yaml".to_string(), "same\nnew\n".to_string())]);
        let old = BTreeMap::from([("job-a.yaml".to_string(), Found::Ours("same\nold\n".to_string()))]);
        let renames = BTreeMap::from([("job-a.yaml".to_string(), "job-b.yaml".to_string())]);
        let diffs = diff_files(&new, &old, &renames);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].status, FileStatus::Replaced);
        assert_eq!(diffs[0].unified, "--- a/job-a.yaml\n+++ b/job-b.yaml\n@@ -1,2 +1,2 @@\n same\n-old\n+new\n");
    }
}

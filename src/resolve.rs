//! `spec.select` against the code host, into a lockfile. Candidates come from the
//! owners' listings (every page, no search limit) or a repository search (which GitHub
//! answers up to 1,000 results; past that the search is refused, never half-used); what
//! the listing says narrows them (exclude globs, archived, forks, topics, languages);
//! then one batched read per 50 repositories gives each default branch, its head commit,
//! the files `hasFiles` asks for and the owners' opt-out file.

use std::collections::BTreeMap;

use bca_codehost::{CodeHost, FilesRead, HostError, ListedRepository, Repository};

use crate::change::model::Select;
use crate::lock::{self, Excluded, Lock, Locked};

/// The file by which a repository's owners keep bca out of it.
pub const OPT_OUT: &str = ".bca/ignore";
/// The most results GitHub's search API answers for one query.
pub const SEARCH_LIMIT: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "GitHub's repository search for \"{query}\" matched {total} repositories, more than the {SEARCH_LIMIT} it \
         answers for one query"
    )]
    SearchTooBig { query: String, total: u64 },
    #[error("GitHub's repository search for \"{query}\" timed out before finding every match ({total} so far)")]
    SearchIncomplete { query: String, total: u64 },
    #[error("{0}")]
    Host(#[from] HostError),
}

impl ResolveError {
    /// How to fix it, in the Change's words.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            ResolveError::SearchTooBig { .. } | ResolveError::SearchIncomplete { .. } => Some(
                "split it: list the organisations in spec.select.owners (listed without a limit), or narrow the \
                 search by topic or language, or use several Changes",
            ),
            ResolveError::Host(_) => None,
        }
    }
}

/// A candidate and what it matched so far.
struct Candidate {
    listed: ListedRepository,
    matched: Vec<String>,
}

/// Resolves `select` on `host_name` (the host of the repositories' URLs).
pub fn resolve(
    host: &dyn CodeHost,
    select: &Select,
    host_name: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Lock, ResolveError> {
    // By lowercased OWNER/NAME: GitHub's names are case-insensitive.
    let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut add = |listed: ListedRepository, why: String| {
        candidates
            .entry(listed.full_name.to_ascii_lowercase())
            .or_insert_with(|| Candidate { listed, matched: Vec::new() })
            .matched
            .push(why);
    };
    match &select.search {
        Some(search) => {
            // Within the owners, when there are any: GitHub ORs `user:` qualifiers.
            let owners: String = select.owners.iter().map(|o| format!(" user:{o}")).collect();
            let query = format!("{search}{owners}");
            let found = host.search_repositories(&query)?;
            if found.total > SEARCH_LIMIT {
                return Err(ResolveError::SearchTooBig { query, total: found.total });
            }
            if found.incomplete {
                return Err(ResolveError::SearchIncomplete { query, total: found.total });
            }
            // The owners bound the search even when the query names others (`user:x`).
            let within = |listed: &ListedRepository| {
                let owner = listed.full_name.split('/').next().unwrap_or_default();
                select.owners.is_empty() || select.owners.iter().any(|o| o.eq_ignore_ascii_case(owner))
            };
            for listed in found.repositories.into_iter().filter(within) {
                add(listed, format!("search {search}"));
            }
        }
        None => {
            for owner in &select.owners {
                for listed in host.list_repositories(owner)? {
                    add(listed, format!("owner {owner}"));
                }
            }
        }
    }
    let mut excluded = Vec::new();
    let url = |full_name: &str| format!("https://{host_name}/{full_name}");
    let mut kept: Vec<Candidate> = Vec::new();
    for (_, mut c) in candidates {
        let name = &c.listed.full_name;
        if let Some(glob) = select.exclude.iter().find(|g| name_glob(g, name)) {
            excluded.push(Excluded { url: url(name), why: format!("excluded by {glob}") });
            continue;
        }
        if c.listed.archived && !select.archived {
            excluded.push(Excluded { url: url(name), why: "archived".into() });
            continue;
        }
        if c.listed.fork && !select.forks {
            excluded.push(Excluded { url: url(name), why: "fork".into() });
            continue;
        }
        if !select.topics.iter().all(|t| c.listed.topics.contains(t)) {
            continue;
        }
        let language = c.listed.language.clone().unwrap_or_default();
        if !select.languages.is_empty() && !select.languages.iter().any(|l| l.eq_ignore_ascii_case(&language)) {
            continue;
        }
        if !select.topics.is_empty() {
            c.matched.push(format!("topics {}", select.topics.join(", ")));
        }
        if !select.languages.is_empty() {
            c.matched.push(format!("language {language}"));
        }
        kept.push(c);
    }
    let mut paths: Vec<String> = select.has_files.clone();
    paths.push(OPT_OUT.to_string());
    let repositories: Vec<Repository> = kept
        .iter()
        .map(|c| Repository::parse(&url(&c.listed.full_name)))
        .collect::<Result<_, _>>()
        .map_err(|e| HostError::permanent(format!("GitHub listed a repository bca cannot name: {e}")))?;
    let total = repositories.len();
    let reads = host.read_files(&repositories, &paths, &mut |n| progress(n, total))?;
    let mut locked = Vec::new();
    for (c, read) in kept.into_iter().zip(reads) {
        let url = url(&c.listed.full_name);
        match read {
            FilesRead::Found { default_branch, commit, present } => {
                let (wanted, opted_out) = present.split_at(select.has_files.len());
                if !wanted.iter().all(|p| *p) {
                    continue;
                }
                if opted_out.first() == Some(&true) && !select.include_opted_out {
                    excluded.push(Excluded { url, why: format!("opted out with {OPT_OUT}") });
                    continue;
                }
                let mut matched = c.matched;
                matched.extend(select.has_files.iter().map(|f| format!("has {f}")));
                locked.push(Locked { url, default_branch, commit, matched });
            }
            FilesRead::Empty => excluded.push(Excluded { url, why: "empty: no default branch".into() }),
            FilesRead::Missing => {
                excluded.push(Excluded { url, why: "not found, or the token cannot read it".into() });
            }
            FilesRead::Unreadable { why } => {
                excluded.push(Excluded { url, why: format!("GitHub could not answer for it: {why}") })
            }
        }
    }
    locked.sort_by(|a, b| a.url.cmp(&b.url));
    excluded.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(Lock {
        kind: lock::KIND.into(),
        api_version: lock::API_VERSION.into(),
        select: lock::digest(select),
        host: host_name.to_string(),
        repositories: locked,
        excluded,
    })
}

/// Whether an `OWNER/NAME` glob (`*` within a part, `?` one character) matches, ignoring
/// case as GitHub does.
pub fn name_glob(glob: &str, name: &str) -> bool {
    fn go(g: &[u8], n: &[u8]) -> bool {
        match g.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).take_while(|i| *i == 0 || n[i - 1] != b'/').any(|i| go(&g[1..], &n[i..])),
            Some(b'?') => !n.is_empty() && n[0] != b'/' && go(&g[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&g[1..], &n[1..]),
        }
    }
    go(glob.to_ascii_lowercase().as_bytes(), name.to_ascii_lowercase().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_on_owner_and_name() {
        assert!(name_glob("acme/legacy-*", "Acme/legacy-billing"));
        assert!(name_glob("*/sandbox", "acme/sandbox"));
        assert!(!name_glob("acme/legacy-*", "acme/billing"));
        assert!(!name_glob("acme*", "acme/x"), "* stays within a part");
    }
}

//! A local stand-in for GitHub: the REST API subset the runner uses (user, repositories,
//! forks, pull requests) and the GraphQL queries bca sends (`graphql.rs`) over HTTP on
//! 127.0.0.1, and git's smart HTTP protocol served by the real `git http-backend` from
//! bare repositories on disk. It asks for the token the
//! way GitHub does, so credentials are exercised for real. (bca's end-to-end test uses
//! it too, hence the allowance for what one of them does not call.)
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tiny_http::{Header, Request, Response, Server};

#[path = "graphql.rs"]
mod graphql;

#[derive(Clone, Debug)]
pub struct Pull {
    pub number: u64,
    pub repo: String,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    pub assignees: Vec<String>,
    /// How many times reviews were requested.
    pub review_requests: u32,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    /// (user, `APPROVED` / `CHANGES_REQUESTED` / ..., the head commit it reviewed), oldest first.
    pub reviews: Vec<(String, String, String)>,
    pub comments: Vec<String>,
    /// What people wrote on it (reviews with a body, review comments, comments).
    pub remarks: Vec<Remark>,
    /// The head commit of a pull request with no git repository behind it (a fleet made
    /// with `add_api_repo`); read from git otherwise.
    pub sha: Option<String>,
    /// Who opened it: the token's account through the API, the head's owner otherwise.
    pub author: String,
    /// GitHub's `mergeable` when set (`UNKNOWN` while it computes, `CONFLICTING`);
    /// `MERGEABLE` for an open pull request otherwise.
    pub mergeable: Option<String>,
    /// The merge method auto-merge was turned on with.
    pub auto_merge: Option<String>,
    pub queued: bool,
    /// How it was merged (`merge_method`), and at which head.
    pub merged_with: Option<(String, String)>,
}

impl Pull {
    /// A pull request as GitHub opens it: no labels, reviewers or reviews yet.
    fn open(number: u64, repo: String, head: String, base: String, title: String, body: String, draft: bool) -> Pull {
        let author = head.split_once(':').map_or("", |(owner, _)| owner).to_string();
        Pull {
            number,
            repo,
            head,
            base,
            title,
            body,
            draft,
            labels: Vec::new(),
            requested_reviewers: Vec::new(),
            requested_teams: Vec::new(),
            assignees: Vec::new(),
            review_requests: 0,
            state: "open".into(),
            merged: false,
            reviews: Vec::new(),
            comments: Vec::new(),
            remarks: Vec::new(),
            sha: None,
            author,
            mergeable: None,
            auto_merge: None,
            queued: false,
            merged_with: None,
        }
    }
}

/// Something a person wrote on a pull request, as GitHub keeps it.
#[derive(Debug, Clone)]
pub struct Remark {
    pub id: u64,
    /// `review`, `review-comment` or `comment`.
    pub kind: String,
    pub user: String,
    /// GitHub's author association: `OWNER`, `MEMBER`, `COLLABORATOR`, `CONTRIBUTOR`,
    /// `FIRST_TIME_CONTRIBUTOR`, `NONE`.
    pub association: String,
    pub body: String,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub path: Option<String>,
    pub line: Option<u64>,
    /// A review comment's thread is resolved.
    pub resolved: bool,
}

/// A failed check run's output, as GitHub's check runs API answers it.
#[derive(Debug, Clone)]
struct CheckOutput {
    id: u64,
    key: String,
    name: String,
    title: String,
    summary: String,
    text: String,
    annotations: Vec<(String, u64, String)>,
}

/// An answer to give instead of the normal one, `times` times.
struct Fault {
    method: String,
    path: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    times: u32,
}

#[derive(Default)]
struct RepoState {
    fork_of: Option<String>,
    archived: bool,
    /// The repository's "Allow auto-merge" setting.
    auto_merge_allowed: bool,
    /// The default branch's protection: approving reviews required, status checks required.
    protection: Option<(u32, bool)>,
    /// Whether the default branch merges through a merge queue.
    merge_queue: bool,
    dismisses_stale_reviews: bool,
    topics: Vec<String>,
    language: Option<String>,
    /// An API-only repository's default branch: its name (main when unset), its files.
    default_branch: Option<String>,
    files: Vec<String>,
    /// GETs that answer 404 before a new fork "exists", as GitHub's asynchronous forks do.
    pending_polls: u32,
}

struct State {
    token: String,
    login: String,
    repos: BTreeMap<String, RepoState>,
    pulls: Vec<Pull>,
    faults: Vec<Fault>,
    /// Users GitHub refuses to request reviews from (not collaborators).
    outsiders: Vec<String>,
    /// Check runs and commit statuses by "owner/name@sha".
    check_runs: BTreeMap<String, Vec<(String, Option<String>)>>,
    statuses: BTreeMap<String, Vec<String>>,
    files: BTreeMap<String, Vec<u8>>,
    /// "METHOD /path" of every API request, for tests to check what was asked.
    log: Vec<String>,
    /// Old `owner/name` → new, as GitHub follows a renamed repository.
    renamed: BTreeMap<String, String>,
    /// A GraphQL query with more repositories than this is refused as too big
    /// (`RESOURCE_LIMITS_EXCEEDED`), as GitHub refuses one that would take too long.
    graphql_max_repositories: Option<usize>,
    /// Added to the time of every API answer.
    latency: std::time::Duration,
    /// Mutation name → the refusal GitHub gives it next (a race bca cannot set up).
    refusals: BTreeMap<String, String>,
    /// Owners that are organisations (`/orgs/NAME/repos`); any other owner is a user.
    orgs: Vec<String>,
    /// Failed check runs with output, beside `check_runs`.
    check_outputs: Vec<CheckOutput>,
    /// Repository searches time out (`incomplete_results`).
    search_incomplete: bool,
}

pub struct GitHub {
    pub url: String,
    root: PathBuf,
    state: Arc<Mutex<State>>,
    _dir: tempfile::TempDir,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl GitHub {
    pub fn start(token: &str, login: &str) -> GitHub {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("git");
        std::fs::create_dir_all(&root).unwrap();
        let server = Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let state = Arc::new(Mutex::new(State {
            token: token.into(),
            login: login.into(),
            repos: BTreeMap::new(),
            pulls: Vec::new(),
            faults: Vec::new(),
            outsiders: Vec::new(),
            check_runs: BTreeMap::new(),
            statuses: BTreeMap::new(),
            renamed: BTreeMap::new(),
            graphql_max_repositories: None,
            latency: std::time::Duration::ZERO,
            refusals: BTreeMap::new(),
            orgs: Vec::new(),
            check_outputs: Vec::new(),
            search_incomplete: false,
            files: BTreeMap::new(),
            log: Vec::new(),
        }));
        let (thread_state, thread_root, thread_url) = (state.clone(), root.clone(), url.clone());
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                handle(request, &thread_state, &thread_root, &thread_url);
            }
        });
        GitHub { url, root, state, _dir: dir }
    }

    pub fn bare(&self, full_name: &str) -> PathBuf {
        self.root.join(format!("{full_name}.git"))
    }

    /// A repository whose `main` holds `files`; more branches copy main.
    pub fn add_repo(&self, full_name: &str, files: &[(&str, &str)], branches: &[&str]) {
        let work = tempfile::tempdir().unwrap();
        git(work.path(), &["init", "-q"]);
        for (path, content) in files {
            let path = work.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        git(work.path(), &["add", "-A"]);
        git(work.path(), &["commit", "-q", "-m", "initial"]);
        for branch in branches {
            git(work.path(), &["branch", branch]);
        }
        let bare = self.bare(full_name);
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        git(work.path(), &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
        self.state.lock().unwrap().repos.insert(full_name.into(), RepoState::default());
    }

    /// A fork as it is now; commits to the upstream afterwards make it stale.
    pub fn add_fork(&self, full_name: &str, of: &str) {
        fork_on_disk(&self.bare(of), &self.bare(full_name));
        self.state
            .lock()
            .unwrap()
            .repos
            .insert(full_name.into(), RepoState { fork_of: Some(of.into()), ..RepoState::default() });
    }

    /// Commits a file to a branch of a repository, as someone else would.
    pub fn commit(&self, full_name: &str, branch: &str, path: &str, content: &str) {
        let work = tempfile::tempdir().unwrap();
        git(work.path(), &["clone", "-q", "--branch", branch, self.bare(full_name).to_str().unwrap(), "."]);
        std::fs::write(work.path().join(path), content).unwrap();
        git(work.path(), &["add", "-A"]);
        git(work.path(), &["commit", "-q", "-m", &format!("update {path}")]);
        git(work.path(), &["push", "-q", "origin", branch]);
    }

    pub fn head(&self, full_name: &str, branch: &str) -> Option<String> {
        let out = Command::new("git")
            .args(["--git-dir", self.bare(full_name).to_str().unwrap(), "rev-parse", "--verify", "-q", branch])
            .output()
            .unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `git show REV:PATH` in a repository.
    pub fn show(&self, full_name: &str, rev_path: &str) -> String {
        git(&self.bare(full_name), &["show", rev_path])
    }

    /// A pull request from `owner`'s fork branch into `repo`'s main, as an earlier run
    /// would have left it; returns its number and its head commit.
    pub fn add_pull(&self, repo: &str, owner: &str, branch: &str, draft: bool) -> (u64, String) {
        let name = repo.split_once('/').unwrap().1;
        let fork = format!("{owner}/{name}");
        if !self.repo_exists(&fork) {
            self.add_fork(&fork, repo);
        }
        let bare = self.bare(&fork);
        git(&bare, &["branch", "-f", branch, "main"]);
        self.commit(&fork, branch, "CHANGED.md", "by bca\n");
        let sha = self.head(&fork, branch).unwrap();
        let mut st = self.state.lock().unwrap();
        let number = st.pulls.len() as u64 + 1;
        let head = format!("{owner}:{branch}");
        // bca's marker, naming the Change of a `bca/NAME` branch and the commit it pushed.
        let change = branch.strip_prefix("bca/").unwrap_or(branch);
        let marker = json!({ "change": change, "fingerprint": "f", "parts": {}, "commit": sha });
        let body = format!("Made by bca.\n\n<!-- bca: {marker} -->\n");
        st.pulls.push(Pull::open(number, repo.into(), head, "main".into(), "Bump logging".into(), body, draft));
        (number, sha)
    }

    /// Merges (`merged`) or closes a pull request, as someone on GitHub would.
    pub fn finish(&self, repo: &str, number: u64, merged: bool) {
        let mut st = self.state.lock().unwrap();
        let pull = st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a pull request");
        pull.state = "closed".into();
        pull.merged = merged;
    }

    /// Who opened a pull request, as if someone else had.
    pub fn set_author(&self, repo: &str, number: u64, login: &str) {
        let mut st = self.state.lock().unwrap();
        st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a pull request").author =
            login.into();
    }

    /// A pull request's description, as its author or a reviewer would edit it.
    pub fn set_body(&self, repo: &str, number: u64, body: &str) {
        let mut st = self.state.lock().unwrap();
        st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a pull request").body = body.into();
    }

    /// A check run on a commit: `status` (`queued`, `in_progress`, `completed`) and its conclusion.
    pub fn add_check_run(&self, repo: &str, sha: &str, status: &str, conclusion: Option<&str>) {
        let mut st = self.state.lock().unwrap();
        st.check_runs.entry(format!("{repo}@{sha}")).or_default().push((status.into(), conclusion.map(str::to_string)));
    }

    /// A commit status (`success`, `failure`, `error`, `pending`) on a commit.
    pub fn add_status(&self, repo: &str, sha: &str, state: &str) {
        self.state.lock().unwrap().statuses.entry(format!("{repo}@{sha}")).or_default().push(state.into());
    }

    /// A review of a pull request.
    pub fn add_review(&self, repo: &str, number: u64, user: &str, state: &str) {
        let mut st = self.state.lock().unwrap();
        let i = st.pulls.iter().position(|p| p.repo == repo && p.number == number).expect("a pull request");
        // A review is of the head commit when it was given.
        let head = head_sha(&self.root, &st.pulls[i]);
        st.pulls[i].reviews.push((user.into(), state.into(), head));
    }

    /// Something a person wrote on a pull request: `kind` is `review`, `review-comment`
    /// or `comment`; `created_at` as GitHub writes times. Returns its id.
    pub fn add_remark(&self, repo: &str, number: u64, remark: Remark) -> u64 {
        let mut st = self.state.lock().unwrap();
        let id = 5000 + st.pulls.iter().map(|p| p.remarks.len() as u64).sum::<u64>();
        let pull = st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a pull request");
        pull.remarks.push(Remark { id, ..remark });
        id
    }

    /// A check run that failed on `sha`, with its output and annotations (path, line,
    /// message).
    pub fn add_failed_check(
        &self,
        repo: &str,
        sha: &str,
        name: &str,
        title: &str,
        text: &str,
        annotations: &[(&str, u64, &str)],
    ) {
        let mut st = self.state.lock().unwrap();
        let key = format!("{repo}@{sha}");
        st.check_runs.entry(key.clone()).or_default().push(("completed".into(), Some("failure".into())));
        let id = 9000 + st.check_outputs.len() as u64;
        st.check_outputs.push(CheckOutput {
            id,
            key,
            name: name.into(),
            title: title.into(),
            summary: format!("{name} failed"),
            text: text.into(),
            annotations: annotations.iter().map(|(p, l, m)| (p.to_string(), *l, m.to_string())).collect(),
        });
    }

    /// A user who is not a collaborator: GitHub answers 422 to a review request for them.
    /// The repository's merge settings: "Allow auto-merge", the default branch's
    /// protection (approving reviews, status checks; stale approvals dismissed on a push),
    /// and a merge queue.
    pub fn set_merging(&self, repo: &str, auto_merge_allowed: bool, protection: Option<(u32, bool)>, queue: bool) {
        let mut st = self.state.lock().unwrap();
        let r = st.repos.get_mut(repo).expect("a known repository");
        (r.auto_merge_allowed, r.protection, r.merge_queue) = (auto_merge_allowed, protection, queue);
        r.dismisses_stale_reviews = protection.is_some();
    }

    /// Whether the protection dismisses approvals of earlier commits when one is pushed.
    pub fn set_dismisses_stale_reviews(&self, repo: &str, dismisses: bool) {
        self.state.lock().unwrap().repos.get_mut(repo).expect("a known repository").dismisses_stale_reviews = dismisses;
    }

    /// Auto-merge on, as a person turns it on.
    pub fn force_auto_merge(&self, repo: &str, number: u64) {
        let mut st = self.state.lock().unwrap();
        let p = st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a known pull request");
        p.auto_merge = Some("MERGE".into());
    }

    /// GitHub's `mergeable` for a pull request (`UNKNOWN`, `CONFLICTING`).
    pub fn set_mergeable(&self, repo: &str, number: u64, mergeable: &str) {
        let mut st = self.state.lock().unwrap();
        let p = st.pulls.iter_mut().find(|p| p.repo == repo && p.number == number).expect("a known pull request");
        p.mergeable = Some(mergeable.into());
    }

    /// GitHub refuses the next mutation `name` with `message`, as it does when the pull
    /// request changed between bca's read and its write.
    pub fn refuse_next(&self, name: &str, message: &str) {
        self.state.lock().unwrap().refusals.insert(name.into(), message.into());
    }

    pub fn add_outsider(&self, login: &str) {
        self.state.lock().unwrap().outsiders.push(login.into());
    }

    /// Whether any object of any repository (every blob, tree and commit) holds `needle`.
    pub fn any_object_contains(&self, needle: &str) -> bool {
        self.state.lock().unwrap().repos.keys().cloned().collect::<Vec<_>>().iter().any(|name| {
            let out = Command::new("git")
                .args(["--git-dir", self.bare(name).to_str().unwrap(), "cat-file", "--batch-all-objects", "--batch"])
                .output()
                .unwrap();
            out.stdout.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    }

    pub fn repo_exists(&self, full_name: &str) -> bool {
        self.state.lock().unwrap().repos.contains_key(full_name)
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.state.lock().unwrap().pulls.clone()
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn serve_file(&self, path: &str, content: &[u8]) -> String {
        self.state.lock().unwrap().files.insert(path.into(), content.to_vec());
        format!("{}/files/{path}", self.url)
    }

    /// A repository GitHub's API knows with no git repository on disk: enough for a
    /// fleet of thousands that `bca status` reads.
    pub fn add_api_repo(&self, full_name: &str) {
        self.state.lock().unwrap().repos.insert(full_name.into(), RepoState::default());
    }

    /// An organisation: its repositories are listed at `/orgs/NAME/repos`.
    pub fn add_org(&self, name: &str) {
        self.state.lock().unwrap().orgs.push(name.into());
    }

    /// What a listing or search shows of a repository: its topics and primary language.
    pub fn describe(&self, repo: &str, topics: &[&str], language: Option<&str>) {
        let mut st = self.state.lock().unwrap();
        let r = st.repos.get_mut(repo).expect("a known repository");
        r.topics = topics.iter().map(|t| t.to_string()).collect();
        r.language = language.map(str::to_string);
    }

    /// The files on an API-only repository's default branch, and its name.
    pub fn set_files(&self, repo: &str, branch: &str, files: &[&str]) {
        let mut st = self.state.lock().unwrap();
        let r = st.repos.get_mut(repo).expect("a known repository");
        r.default_branch = Some(branch.into());
        r.files = files.iter().map(|f| f.to_string()).collect();
    }

    /// Marks a repository as a fork (of nothing the tests need).
    pub fn mark_fork(&self, repo: &str) {
        self.state.lock().unwrap().repos.get_mut(repo).expect("a known repository").fork_of = Some("x/y".into());
    }

    /// Repository searches time out, as GitHub's do on big queries (`incomplete_results`).
    pub fn make_searches_incomplete(&self) {
        self.state.lock().unwrap().search_incomplete = true;
    }

    /// A pull request from `owner:branch` into an API-only repository, with head `sha`.
    pub fn add_api_pull(&self, repo: &str, owner: &str, branch: &str, sha: &str) -> u64 {
        let mut st = self.state.lock().unwrap();
        let number = st.pulls.len() as u64 + 1;
        let head = format!("{owner}:{branch}");
        let mut pull = Pull::open(number, repo.into(), head, "main".into(), "Bump".into(), String::new(), false);
        pull.sha = Some(sha.into());
        st.pulls.push(pull);
        number
    }

    pub fn archive(&self, full_name: &str) {
        self.state.lock().unwrap().repos.get_mut(full_name).expect("a repository").archived = true;
    }

    /// Renames a repository: GitHub answers its old name with the new one.
    pub fn rename(&self, from: &str, to: &str) {
        let mut st = self.state.lock().unwrap();
        let repo = st.repos.remove(from).expect("a repository");
        st.repos.insert(to.into(), repo);
        st.renamed.insert(from.into(), to.into());
    }

    /// GraphQL queries about more than `n` repositories are refused as too big.
    pub fn limit_graphql_repositories(&self, n: usize) {
        self.state.lock().unwrap().graphql_max_repositories = Some(n);
    }

    /// Every API answer takes this much longer (for figures with a real network's latency).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// The bodies of the GraphQL queries bca sent, in order.
    pub fn graphql_queries(&self) -> Vec<String> {
        self.state.lock().unwrap().log.iter().filter_map(|l| l.strip_prefix("GRAPHQL ").map(str::to_string)).collect()
    }

    /// Answers the next `times` requests `METHOD path` (path without query) with this.
    pub fn fail(&self, method: &str, path: &str, status: u16, headers: &[(&str, &str)], body: &str, times: u32) {
        self.state.lock().unwrap().faults.push(Fault {
            method: method.into(),
            path: path.into(),
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.into(),
            times,
        });
    }
}

fn fork_on_disk(upstream: &Path, fork: &Path) {
    std::fs::create_dir_all(fork.parent().unwrap()).unwrap();
    git(Path::new("/"), &["clone", "-q", "--bare", upstream.to_str().unwrap(), fork.to_str().unwrap()]);
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn reply(request: Request, status: u16, body: &Value) {
    let response = Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"));
    let _ = request.respond(response);
}

fn repo_json(url: &str, full_name: &str, repo: &RepoState) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap();
    let mut v = json!({
        "full_name": full_name,
        "name": name,
        "owner": { "login": owner },
        "clone_url": format!("{url}/git/{full_name}.git"),
        "fork": repo.fork_of.is_some(),
        "default_branch": "main",
    });
    if let Some(parent) = &repo.fork_of {
        v["parent"] = json!({ "full_name": parent });
    }
    v
}

fn handle(mut request: Request, state: &Mutex<State>, root: &Path, url: &str) {
    let method = request.method().to_string();
    let full_url = request.url().to_string();
    let (path, query) = full_url.split_once('?').unwrap_or((&full_url, ""));
    let (path, query) = (path.to_string(), query.to_string());
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();

    if let Some(file) = path.strip_prefix("/files/") {
        let content = state.lock().unwrap().files.get(file).cloned();
        let _ = match content {
            Some(bytes) => request.respond(Response::from_data(bytes)),
            None => request.respond(Response::from_string("not found").with_status_code(404)),
        };
        return;
    }

    let mut st = state.lock().unwrap();
    if let Some(repo_path) = path.strip_prefix("/git/") {
        let expected = format!("Basic {}", base64(format!("x-access-token:{}", st.token).as_bytes()));
        drop(st);
        if auth != expected {
            let response = Response::from_string("authentication required")
                .with_status_code(401)
                .with_header(header("WWW-Authenticate", "Basic realm=\"GitHub\""));
            let _ = request.respond(response);
            return;
        }
        git_http_backend(request, root, &method, repo_path, &query);
        return;
    }

    st.log.push(format!("{method} {path}"));
    let latency = st.latency;
    if !latency.is_zero() {
        drop(st);
        std::thread::sleep(latency);
        st = state.lock().unwrap();
    }
    if let Some(i) = st.faults.iter().position(|f| f.method == method && f.path == path && f.times > 0) {
        st.faults[i].times -= 1;
        let fault = &st.faults[i];
        let mut response = Response::from_string(fault.body.clone())
            .with_status_code(fault.status)
            .with_header(header("Content-Type", "application/json"));
        for (k, v) in &fault.headers {
            response = response.with_header(header(k, v));
        }
        drop(st);
        let _ = request.respond(response);
        return;
    }
    if auth != format!("Bearer {}", st.token) {
        drop(st);
        return reply(request, 401, &json!({ "message": "Bad credentials" }));
    }
    let mut body = String::new();
    let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut link: Option<String> = None;
    let (status, answer) = match (method.as_str(), parts.as_slice()) {
        ("GET", ["user"]) => (200, json!({ "login": st.login })),
        ("POST", ["graphql"]) => {
            st.log.push(format!("GRAPHQL {}", serde_json::to_string(&body).unwrap_or_default()));
            match graphql::mutation(&mut st, root, &body) {
                Some(answer) => answer,
                None => graphql::answer(&st, url, root, &body),
            }
        }
        ("PUT", ["repos", owner, name, "pulls", number, "merge"]) => {
            let repo = format!("{owner}/{name}");
            let number: u64 = number.parse().unwrap_or(0);
            match st.pulls.iter().position(|p| p.repo == repo && p.number == number) {
                None => (404, json!({ "message": "Not Found" })),
                Some(i) => {
                    let head = head_sha(root, &st.pulls[i]);
                    let method = body["merge_method"].as_str().unwrap_or("merge").to_string();
                    let (_, _, refused) = graphql::merge_state(&st, root, &st.pulls[i]);
                    if body["sha"].as_str().is_some_and(|sha| sha != head) {
                        (409, json!({ "message": "Head branch was modified. Review and try the merge again." }))
                    } else if !matches!(method.as_str(), "merge" | "squash" | "rebase") {
                        (
                            422,
                            json!({ "message": "Validation Failed", "errors": [{ "field": "merge_method", "code": "invalid" }] }),
                        )
                    } else if let Some(message) = refused {
                        (405, json!({ "message": message }))
                    } else {
                        let p = &mut st.pulls[i];
                        (p.state, p.merged, p.merged_with) = ("closed".into(), true, Some((method, head.clone())));
                        (200, json!({ "sha": head, "merged": true, "message": "Pull Request successfully merged" }))
                    }
                }
            }
        }
        ("GET", ["repos", owner, name]) => {
            let full = format!("{owner}/{name}");
            match st.repos.get_mut(&full) {
                Some(repo) if repo.pending_polls > 0 => {
                    repo.pending_polls -= 1;
                    (404, json!({ "message": "Not Found" }))
                }
                Some(repo) => (200, repo_json(url, &full, repo)),
                None => not_found(),
            }
        }
        ("POST", ["repos", owner, name, "forks"]) => {
            let upstream = format!("{owner}/{name}");
            if !st.repos.contains_key(&upstream) {
                (404, json!({ "message": "Not Found" }))
            } else {
                let into = body["organization"].as_str().map(str::to_string).unwrap_or_else(|| st.login.clone());
                let full = format!("{into}/{name}");
                if !st.repos.contains_key(&full) {
                    fork_on_disk(&root.join(format!("{upstream}.git")), &root.join(format!("{full}.git")));
                    st.repos.insert(
                        full.clone(),
                        RepoState { fork_of: Some(upstream), pending_polls: 2, ..RepoState::default() },
                    );
                }
                let repo = &st.repos[&full];
                (202, repo_json(url, &full, repo))
            }
        }
        ("GET", ["repos", owner, name, "pulls"]) => {
            let full = format!("{owner}/{name}");
            let head = query.split('&').find_map(|kv| kv.strip_prefix("head=")).map(decode).unwrap_or_default();
            let state = query.split('&').find_map(|kv| kv.strip_prefix("state=")).unwrap_or("open").to_string();
            let mut found: Vec<Value> = st
                .pulls
                .iter()
                .filter(|p| p.repo == full && (head.is_empty() || p.head == head))
                .filter(|p| state == "all" || p.state == state)
                .map(|p| pull_json(url, root, p))
                .collect();
            // Newest first, as GitHub sorts them.
            found.reverse();
            if st.repos.contains_key(&full) {
                (200, Value::Array(found))
            } else {
                (404, json!({ "message": "Not Found" }))
            }
        }
        ("POST", ["repos", owner, name, "pulls"]) => {
            let full = format!("{owner}/{name}");
            let head = body["head"].as_str().unwrap_or_default().to_string();
            let base = body["base"].as_str().unwrap_or_default().to_string();
            let (head_owner, head_branch) = head.split_once(':').unwrap_or(("", ""));
            let head_repo = format!("{head_owner}/{name}");
            let head_exists = Command::new("git")
                .args(["--git-dir", root.join(format!("{head_repo}.git")).to_str().unwrap()])
                .args(["rev-parse", "--verify", "-q", &format!("refs/heads/{head_branch}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if st.pulls.iter().any(|p| p.repo == full && p.head == head) {
                (
                    422,
                    json!({ "message": "Validation Failed", "errors": [{ "message": format!("A pull request already exists for {head}.") }] }),
                )
            } else if !head_exists {
                (422, json!({ "message": "Validation Failed", "errors": [{ "field": "head", "code": "invalid" }] }))
            } else {
                let pull = Pull::open(
                    st.pulls.len() as u64 + 1,
                    full,
                    head,
                    base,
                    body["title"].as_str().unwrap_or_default().into(),
                    body["body"].as_str().unwrap_or_default().into(),
                    body["draft"].as_bool().unwrap_or(false),
                );
                let mut pull = pull;
                pull.author = st.login.clone();
                let answer = pull_json(url, root, &pull);
                st.pulls.push(pull);
                (201, answer)
            }
        }
        ("GET", ["user", "repos"]) => {
            let login = st.login.clone();
            let all: Vec<Value> = st
                .repos
                .iter()
                .filter(|(k, _)| k.split('/').next().is_some_and(|o| o.eq_ignore_ascii_case(&login)))
                .map(|(k, r)| listed_json(url, k, r))
                .collect();
            let (page, next) = paginate(&all, query.as_str(), url, &path);
            link = next;
            (200, Value::Array(page))
        }
        ("GET", ["orgs" | "users", owner, "repos"]) => {
            let is_org = st.orgs.iter().any(|o| o.eq_ignore_ascii_case(owner));
            let is_user =
                !is_org && st.repos.keys().any(|k| k.split('/').next().is_some_and(|o| o.eq_ignore_ascii_case(owner)));
            if parts[0] == "users" && !is_org && !is_user {
                (
                    404,
                    json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#list-repositories-for-a-user" }),
                )
            } else if parts[0] == "orgs" && !is_org {
                (
                    404,
                    json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#list-organization-repositories" }),
                )
            } else if parts[0] == "users" && is_org {
                // An organisation's repositories through /users: the public ones only;
                // the stand-in's organisations are listed through /orgs.
                (200, json!([]))
            } else {
                let all: Vec<Value> = st
                    .repos
                    .iter()
                    .filter(|(k, _)| k.split('/').next().is_some_and(|o| o.eq_ignore_ascii_case(owner)))
                    .map(|(k, r)| listed_json(url, k, r))
                    .collect();
                let (page, next) = paginate(&all, query.as_str(), url, &path);
                link = next;
                (200, Value::Array(page))
            }
        }
        ("GET", ["search", "repositories"]) => {
            let q = query.split('&').find_map(|kv| kv.strip_prefix("q=")).map(decode).unwrap_or_default();
            let q = q.replace('+', " ");
            let page: usize =
                query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|p| p.parse().ok()).unwrap_or(1);
            if page > 10 {
                (422, json!({ "message": "Only the first 1000 search results are available" }))
            } else {
                let found: Vec<Value> = st
                    .repos
                    .iter()
                    .filter(|(k, r)| search_matches(&q, k, r))
                    .map(|(k, r)| listed_json(url, k, r))
                    .collect();
                let total = found.len();
                let items: Vec<Value> = found.into_iter().skip((page - 1) * 100).take(100).collect();
                (200, json!({ "total_count": total, "incomplete_results": st.search_incomplete, "items": items }))
            }
        }
        ("GET", ["search", "issues"]) => {
            // The qualifiers bca uses: is:pr is:open head:BRANCH user:OWNER.
            let q = query.split('&').find_map(|kv| kv.strip_prefix("q=")).map(decode).unwrap_or_default();
            let q = q.replace('+', " ");
            let word = |prefix: &str| q.split(' ').find_map(|w| w.strip_prefix(prefix)).unwrap_or("").to_string();
            let (branch, user) = (word("head:"), word("user:"));
            let items: Vec<Value> = st
                .pulls
                .iter()
                // GitHub documents `head:` as a prefix match.
                .filter(|p| {
                    p.state == "open" && p.head.split_once(':').is_some_and(|(_, b)| b.starts_with(branch.as_str()))
                })
                .filter(|p| p.repo.split('/').next() == Some(user.as_str()))
                .map(|p| {
                    json!({ "number": p.number, "html_url": format!("{url}/{}/pull/{}", p.repo, p.number),
                            "repository_url": format!("{url}/repos/{}", p.repo), "pull_request": {},
                            "user": { "login": p.author }, "body": p.body })
                })
                .collect();
            (200, json!({ "total_count": items.len(), "items": items }))
        }
        ("POST", ["repos", owner, name, "issues", number, "comments"]) => {
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(pull) => {
                    pull.comments.push(body["body"].as_str().unwrap_or_default().to_string());
                    (201, json!({ "body": body["body"] }))
                }
                None => not_found(),
            }
        }
        ("DELETE", ["repos", owner, name, "git", "refs", "heads", rest @ ..]) => {
            let branch = rest.join("/");
            let bare = root.join(format!("{owner}/{name}.git"));
            let deleted = Command::new("git")
                .args(["--git-dir", bare.to_str().unwrap(), "update-ref", "-d", &format!("refs/heads/{branch}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if deleted {
                (204, Value::Null)
            } else {
                (422, json!({ "message": "Reference does not exist" }))
            }
        }
        ("GET", ["repos", owner, name, "pulls", number]) => match pull_of(&mut st.pulls, owner, name, number) {
            Some(pull) => (200, pull_json(url, root, pull)),
            None => not_found(),
        },
        ("PATCH", ["repos", owner, name, "pulls", number]) => match pull_of(&mut st.pulls, owner, name, number) {
            Some(pull) => {
                if let Some(state) = body["state"].as_str() {
                    pull.state = state.to_string();
                }
                pull.title = body["title"].as_str().unwrap_or(&pull.title).into();
                pull.body = body["body"].as_str().unwrap_or(&pull.body).into();
                (200, pull_json(url, root, pull))
            }
            None => not_found(),
        },
        ("POST", ["repos", owner, name, "pulls", number, "requested_reviewers"]) => {
            let full = format!("{owner}/{name}");
            let users: Vec<String> = body["reviewers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect();
            let teams: Vec<String> = body["team_reviewers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect();
            let refused = users.iter().any(|u| st.outsiders.contains(u));
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(_) if refused => (
                    422,
                    json!({ "message": format!("Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the {full} repository.") }),
                ),
                Some(pull) => {
                    pull.review_requests += 1;
                    pull.requested_reviewers.extend(users);
                    pull.requested_teams.extend(teams);
                    (201, pull_json(url, root, pull))
                }
                None => not_found(),
            }
        }
        ("POST", ["repos", owner, name, "issues", number, "assignees"]) => {
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(pull) => {
                    add_new(&mut pull.assignees, &body["assignees"]);
                    (201, pull_json(url, root, pull))
                }
                None => not_found(),
            }
        }
        ("GET", ["repos", owner, name, "commits", sha, "check-runs"]) => {
            let key = format!("{owner}/{name}@{sha}");
            let runs = st.check_runs.get(&key).cloned().unwrap_or_default();
            let mut outputs = st.check_outputs.iter().filter(|o| o.key == key);
            let runs: Vec<Value> = runs
                .iter()
                .enumerate()
                .map(|(i, (s, c))| {
                    let mut run = json!({ "id": i + 1, "name": format!("check-{i}"), "status": s, "conclusion": c,
                        "html_url": format!("{url}/{owner}/{name}/runs/{}", i + 1),
                        "output": { "title": null, "summary": null, "text": null, "annotations_count": 0 } });
                    if c.as_deref() == Some("failure") {
                        if let Some(o) = outputs.next() {
                            run["id"] = json!(o.id);
                            run["name"] = json!(o.name);
                            run["html_url"] = json!(format!("{url}/{owner}/{name}/runs/{}", o.id));
                            run["output"] = json!({ "title": o.title, "summary": o.summary, "text": o.text,
                                "annotations_count": o.annotations.len() });
                        }
                    }
                    run
                })
                .collect();
            (200, json!({ "total_count": runs.len(), "check_runs": runs }))
        }
        ("GET", ["repos", _, _, "check-runs", id, "annotations"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            match st.check_outputs.iter().find(|o| o.id == id) {
                Some(o) => (
                    200,
                    Value::Array(
                        o.annotations
                            .iter()
                            .map(|(p, l, m)| {
                                json!({ "path": p, "start_line": l, "end_line": l,
                                "annotation_level": "failure", "message": m })
                            })
                            .collect(),
                    ),
                ),
                None => not_found(),
            }
        }
        ("GET", ["repos", owner, name, "commits", sha, "status"]) => {
            let statuses = st.statuses.get(&format!("{owner}/{name}@{sha}")).cloned().unwrap_or_default();
            // GitHub's combined state: failure wins, then pending; none at all is pending.
            let state = if statuses.iter().any(|s| s == "failure" || s == "error") {
                "failure"
            } else if statuses.is_empty() || statuses.iter().any(|s| s == "pending") {
                "pending"
            } else {
                "success"
            };
            (200, json!({ "state": state, "total_count": statuses.len() }))
        }
        ("GET", ["repos", owner, name, "pulls", number, "reviews"]) => {
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(pull) => (
                    200,
                    Value::Array(
                        pull.reviews
                            .iter()
                            .map(|(u, s, c)| json!({ "user": { "login": u }, "state": s, "commit_id": c }))
                            .collect(),
                    ),
                ),
                None => not_found(),
            }
        }
        // Pull requests are issues: labels go through the issues API.
        ("POST", ["repos", owner, name, "issues", number, "labels"]) => {
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(pull) => {
                    add_new(&mut pull.labels, &body["labels"]);
                    (200, Value::Array(pull.labels.iter().map(|l| json!({ "name": l })).collect()))
                }
                None => not_found(),
            }
        }
        ("DELETE", ["repos", owner, name, "issues", number, "labels", label]) => {
            let label = decode(label);
            match pull_of(&mut st.pulls, owner, name, number) {
                Some(pull) if pull.labels.contains(&label) => {
                    pull.labels.retain(|l| *l != label);
                    (200, Value::Array(pull.labels.iter().map(|l| json!({ "name": l })).collect()))
                }
                _ => (404, json!({ "message": "Label does not exist" })),
            }
        }
        _ => (404, json!({ "message": "Not Found" })),
    };
    drop(st);
    match link {
        Some(link) => {
            let response = Response::from_string(answer.to_string())
                .with_status_code(status)
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Link", &link));
            let _ = request.respond(response);
        }
        None => reply(request, status, &answer),
    }
}

/// A repository as GitHub's listings and searches show it.
fn listed_json(url: &str, full_name: &str, r: &RepoState) -> Value {
    let mut v = repo_json(url, full_name, r);
    v["archived"] = json!(r.archived);
    v["topics"] = json!(r.topics);
    v["language"] = json!(r.language);
    v["default_branch"] = json!(r.default_branch.as_deref().unwrap_or("main"));
    v
}

/// One page of 100 (`page=N`), and GitHub's `Link` header when there are more.
fn paginate(all: &[Value], query: &str, url: &str, path: &str) -> (Vec<Value>, Option<String>) {
    let page: usize =
        query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|p| p.parse().ok()).unwrap_or(1);
    let per_page: usize =
        query.split('&').find_map(|kv| kv.strip_prefix("per_page=")).and_then(|p| p.parse().ok()).unwrap_or(30);
    let items: Vec<Value> = all.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    let last = all.len().div_ceil(per_page).max(1);
    let other: String = query.split('&').filter(|kv| !kv.starts_with("page=")).collect::<Vec<_>>().join("&");
    let link = (page < last).then(|| {
        format!(
            "<{url}{path}?{other}&page={}>; rel=\"next\", <{url}{path}?{other}&page={last}>; rel=\"last\"",
            page + 1
        )
    });
    (items, link)
}

/// The qualifiers of GitHub's repository search the tests use: `user:`/`org:` (any
/// of them), `topic:`, `language:`, `archived:`, `fork:true`; other words must be in
/// the name.
fn search_matches(q: &str, full_name: &str, r: &RepoState) -> bool {
    let (owner, name) = full_name.split_once('/').unwrap_or(("", full_name));
    let owners: Vec<&str> = q.split(' ').filter_map(|w| w.strip_prefix("user:").or(w.strip_prefix("org:"))).collect();
    if !owners.is_empty() && !owners.iter().any(|o| o.eq_ignore_ascii_case(owner)) {
        return false;
    }
    q.split(' ').filter(|w| !w.is_empty() && !w.starts_with("user:") && !w.starts_with("org:")).all(|w| {
        match w.split_once(':') {
            Some(("topic", t)) => r.topics.iter().any(|x| x == t),
            Some(("language", l)) => r.language.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l)),
            Some(("archived", a)) => r.archived.to_string() == a,
            Some(("fork", f)) => f == "true" || r.fork_of.is_none(),
            _ => name.contains(w),
        }
    })
}

/// A pull request's head commit: its branch in the head repository on disk.
fn head_sha(root: &Path, p: &Pull) -> String {
    if let Some(sha) = &p.sha {
        return sha.clone();
    }
    let (head_owner, branch) = p.head.split_once(':').unwrap_or(("", ""));
    let name = p.repo.split_once('/').map_or("", |(_, n)| n);
    Command::new("git")
        .args(["--git-dir", root.join(format!("{head_owner}/{name}.git")).to_str().unwrap()])
        .args(["rev-parse", "--verify", "-q", &format!("refs/heads/{branch}")])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn pull_json(url: &str, root: &Path, p: &Pull) -> Value {
    let sha = head_sha(root, p);
    json!({
        "number": p.number,
        "html_url": format!("{url}/{}/pull/{}", p.repo, p.number),
        "title": p.title,
        "body": p.body,
        "state": p.state,
        "merged_at": if p.merged { json!("2026-12-01T00:00:00Z") } else { Value::Null },
        "head": { "label": p.head, "sha": sha, "ref": p.head.split_once(':').map_or("", |(_, b)| b),
                  "repo": { "full_name": format!("{}/{}", p.head.split_once(':').map_or("", |(o, _)| o), p.repo.split_once('/').map_or("", |(_, n)| n)),
                            "owner": { "login": p.head.split_once(':').map_or("", |(o, _)| o) } } },
        "user": { "login": p.author },
        "base": { "ref": p.base },
        "draft": p.draft,
        "labels": p.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        "requested_reviewers": p.requested_reviewers.iter().map(|l| json!({ "login": l })).collect::<Vec<_>>(),
        "requested_teams": p.requested_teams.iter().map(|l| json!({ "slug": l })).collect::<Vec<_>>(),
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs `git http-backend` as a CGI program for one request.
fn git_http_backend(mut request: Request, root: &Path, method: &str, repo_path: &str, query: &str) {
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
    let header_value = |name: &'static str| -> String {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.to_string()).unwrap_or_default()
    };
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH_INFO", format!("/{repo_path}"))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", method)
        .env("CONTENT_TYPE", header_value("Content-Type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header_value("Content-Encoding"))
        .env("GIT_PROTOCOL", header_value("Git-Protocol"))
        .env("REMOTE_USER", "x-access-token")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("git http-backend starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output().unwrap();
    let _ = writer.join();
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, sep)) = split else {
        let _ = request.respond(Response::from_string("bad CGI output").with_status_code(500));
        return;
    };
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut status = 200;
    let mut response_headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("Status") {
            status = value.trim().split(' ').next().and_then(|s| s.parse().ok()).unwrap_or(200);
        } else {
            response_headers.push(header(name.trim(), value.trim()));
        }
    }
    let mut response = Response::from_data(out[end + sep..].to_vec()).with_status_code(status);
    for h in response_headers {
        response = response.with_header(h);
    }
    let _ = request.respond(response);
}

/// The pull request `number` of `owner/name`, as the API path names it.
fn pull_of<'a>(pulls: &'a mut [Pull], owner: &str, name: &str, number: &str) -> Option<&'a mut Pull> {
    let full = format!("{owner}/{name}");
    pulls.iter_mut().find(|p| p.repo == full && p.number.to_string() == number)
}

/// GitHub's answer for a repository, pull request or ref that does not exist (or that
/// the token may not see).
fn not_found() -> (u16, Value) {
    (404, json!({ "message": "Not Found" }))
}

/// Adds each string of the JSON list `values` that `list` does not hold yet.
fn add_new(list: &mut Vec<String>, values: &Value) {
    for value in values.as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
        if !list.iter().any(|x| x == value) {
            list.push(value.to_string());
        }
    }
}

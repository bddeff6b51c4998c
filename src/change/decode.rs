//! Turns the located YAML tree into a `Change`, collecting every problem (not just the
//! first) with its position, field path and a likely fix.

use std::collections::HashMap;

use bca_runner::Agent;

use super::diagnostic::{Diagnostic, Span};
use super::model::{
    fields_of, ApiVersion, Change, ChangeKind, FollowUpOn, FollowUpSpec, JobSpec, Merge, MergeMethod, MergeWhen,
    Metadata, OnFailure, PullRequestSpec, Rollout, Select, Spec, Verify, MAX_PARALLELISM,
};
use super::values::{BranchName, ChangeName, HttpUrl, ImageRef, Invalid, Quantity, RepoUrl};
use super::yaml::{Node, NodeKind, ScalarType};

pub fn decode(root: &Node) -> Result<Change, Vec<Diagnostic>> {
    let mut d = Decoder { diagnostics: Vec::new() };
    let change = d.change(root);
    match change {
        Some(change) if d.diagnostics.is_empty() => Ok(change),
        _ => Err(d.diagnostics),
    }
}

/// The longest prompt: it reaches the run contract up to three times (prompt, pull
/// request body, commit message), and all of it must fit one 256 KiB annotation.
pub const MAX_PROMPT_BYTES: usize = 64 * 1024;

struct Decoder {
    diagnostics: Vec<Diagnostic>,
}

/// The entries of a mapping, looked up by key.
struct Fields<'a> {
    entries: &'a [(Node, Node)],
    /// Where to point when a field is missing: the mapping's own key, or its start.
    anchor: Span,
    /// Known fields that an unknown key was reported as a likely typo of; their
    /// "missing field" error would only repeat that report.
    typos: Vec<&'static str>,
}

impl Fields<'_> {
    /// Where errors about the mapping under `name` point: its key, or (for a key
    /// without a position) its value.
    fn key_span(&self, name: &str, value: &Node) -> Span {
        self.entries.iter().find(|(k, _)| key_text(k) == name).map_or(value.span, |(k, _)| k.span)
    }
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| key_text(k) == name).map(|(_, v)| v)
    }
}

fn key_text(node: &Node) -> &str {
    match &node.kind {
        NodeKind::Scalar(s) => &s.value,
        _ => "",
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

impl Decoder {
    fn error(&mut self, span: Span, path: &str, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(span, path, message));
    }

    fn invalid(&mut self, node: &Node, path: &str, invalid: Invalid) {
        let mut d = Diagnostic::new(node.span, path, invalid.message);
        d.help = invalid.help;
        self.diagnostics.push(d);
    }

    fn change(&mut self, root: &Node) -> Option<Change> {
        // A lockfile beside its Change is easily passed too (`bca render *.yaml`).
        if let NodeKind::Map(entries) = &root.kind {
            let lock = entries.iter().find(|(k, v)| {
                key_text(k) == "kind" && matches!(&v.kind, NodeKind::Scalar(s) if s.value == super::LOCK_KIND)
            });
            if let Some((_, kind)) = lock {
                self.diagnostics.push(
                    Diagnostic::new(kind.span, "kind", "this is a lockfile that bca resolve writes, not a Change")
                        .with_help("give the Change file beside it; bca reads its lockfile by itself"),
                );
                return None;
            }
        }
        let fields = self.mapping(root, "", Span::START, "a Change: a mapping with kind, apiVersion and spec")?;
        let kind = self.constant(&fields, "", "kind", "Change").map(|()| ChangeKind::Change);
        let api_version = self.constant(&fields, "", "apiVersion", "v1").map(|()| ApiVersion::V1);
        let metadata = match self.optional(&fields, "metadata") {
            Some(node) => self.metadata(node, fields.key_span("metadata", node)).map(Some),
            None => Some(None),
        };
        let spec = match self.required(&fields, "", "spec") {
            Some(node) => self.spec(node, fields.key_span("spec", node)),
            None => None,
        };
        Some(Change { kind: kind?, api_version: api_version?, metadata: metadata?, spec: spec? })
    }

    fn metadata(&mut self, node: &Node, anchor: Span) -> Option<Metadata> {
        let fields = self.mapping(node, "metadata", anchor, "a mapping with name")?;
        let name = match self.optional(&fields, "name") {
            Some(n) => self.value(n, "metadata.name", ChangeName::parse).map(Some),
            None => Some(None),
        };
        Some(Metadata { name: name? })
    }

    fn spec(&mut self, node: &Node, anchor: Span) -> Option<Spec> {
        let fields = self.mapping(node, "spec", anchor, "a mapping with prompt, repos and agent")?;
        let prompt = self.required(&fields, "spec", "prompt").and_then(|n| self.prompt(n));
        // Repositories are listed, selected, or both.
        let select = match self.optional(&fields, "select") {
            Some(n) => self.select(n, fields.key_span("select", n)).map(Some),
            None => Some(None),
        };
        let repos = match (self.optional(&fields, "repos"), fields.get("select")) {
            (Some(n), _) => self.repos(n),
            (None, Some(_)) => Some(Vec::new()),
            (None, None) => self.required(&fields, "spec", "repos").and_then(|n| self.repos(n)),
        };
        let agent = self.required(&fields, "spec", "agent").and_then(|n| self.agent(n));
        let branch_given = self.optional(&fields, "branch").is_some();
        let branch = match self.optional(&fields, "branch") {
            Some(n) => self.value(n, "spec.branch", BranchName::parse),
            None => Some(BranchName::default()),
        };
        let agentsmd = match self.optional(&fields, "agentsmd") {
            Some(n) => self.value(n, "spec.agentsmd", HttpUrl::parse).map(Some),
            None => Some(None),
        };
        let resources = match self.optional(&fields, "resources") {
            Some(n) => self.list(n, "spec.resources", "a list of http(s) URLs", HttpUrl::parse),
            None => Some(Vec::new()),
        };
        let image = match self.optional(&fields, "image") {
            Some(n) => self.value(n, "spec.image", ImageRef::parse).map(Some),
            None => Some(None),
        };
        let job = match self.optional(&fields, "job") {
            Some(n) => self.job(n, fields.key_span("job", n)).map(Some),
            None => Some(None),
        };
        let rollout = match self.optional(&fields, "rollout") {
            Some(n) => self.rollout(n, fields.key_span("rollout", n)).map(Some),
            None => Some(None),
        };
        let verify = match self.optional(&fields, "verify") {
            Some(n) => self.verify(n, fields.key_span("verify", n)).map(Some),
            None => Some(None),
        };
        let pull_request = match self.optional(&fields, "pullRequest") {
            Some(n) => self.pull_request(n, fields.key_span("pullRequest", n)).map(Some),
            None => Some(None),
        };
        let follow_up = match self.optional(&fields, "followUp") {
            Some(n) => self.follow_up(n, fields.key_span("followUp", n)).map(Some),
            None => Some(None),
        };
        let merge = match self.optional(&fields, "merge") {
            Some(n) => self.merge(n, fields.key_span("merge", n)).map(Some),
            None => Some(None),
        };
        let fork = match self.optional(&fields, "fork") {
            Some(n) => self.boolean(n, "spec.fork").map(Some),
            None => Some(None),
        };
        Some(Spec {
            prompt: prompt?,
            repos: repos?,
            select: select?,
            branch_given,
            default_branches: Default::default(),
            agent: agent?,
            branch: branch?,
            agentsmd: agentsmd?,
            resources: resources?,
            image: image?,
            job: job?,
            rollout: rollout?,
            verify: verify?,
            pull_request: pull_request?,
            merge: merge?,
            follow_up: follow_up?,
            fork: fork?,
        })
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Scalar(s) if s.resolve() == ScalarType::Bool => Some(s.value.eq_ignore_ascii_case("true")),
            _ => {
                let d = Diagnostic::new(node.span, path, format!("expected true or false, found {}", node.describe()));
                self.diagnostics.push(d.with_help("write true or false, without quotes"));
                None
            }
        }
    }

    fn pull_request(&mut self, node: &Node, anchor: Span) -> Option<PullRequestSpec> {
        let fields = self.mapping(node, "spec.pullRequest", anchor, "a mapping with title, draft, labels, ...")?;
        let title = match self.optional(&fields, "title") {
            Some(n) => self
                .value(n, "spec.pullRequest.title", |s: &str| {
                    let t = s.trim();
                    if t.is_empty() || t.contains('\n') || t.chars().count() > 256 {
                        Err(Invalid::new("expected a title of one line, at most 256 characters"))
                    } else {
                        Ok(t.to_string())
                    }
                })
                .map(Some),
            None => Some(None),
        };
        let draft = match self.optional(&fields, "draft") {
            Some(n) => self.boolean(n, "spec.pullRequest.draft"),
            None => Some(false),
        };
        let mut names = |name: &str, what: &str| match self.optional(&fields, name) {
            Some(n) => self.list(n, &format!("spec.pullRequest.{name}"), "a list of names", |s| name_of(what, s)),
            None => Some(Vec::new()),
        };
        let labels = names("labels", "label");
        let reviewers = names("reviewers", "user");
        let team_reviewers = names("teamReviewers", "team slug");
        let assignees = names("assignees", "user");
        Some(PullRequestSpec {
            title: title?,
            settings: bca_runner::contract::PullRequest {
                draft: draft?,
                labels: labels?,
                reviewers: reviewers?,
                team_reviewers: team_reviewers?,
                assignees: assignees?,
            },
        })
    }

    fn verify(&mut self, node: &Node, anchor: Span) -> Option<Verify> {
        let fields = self.mapping(node, "spec.verify", anchor, "a mapping with commands, attempts, timeout, ...")?;
        let command = |s: &str| {
            if s.trim().is_empty() {
                Err(Invalid::new("the command is empty").help("write the shell command to run, e.g. make test"))
            } else {
                Ok(s.to_string())
            }
        };
        let commands = match self.required(&fields, "spec.verify", "commands") {
            Some(n) => match self.list(n, "spec.verify.commands", "a list of shell commands", command) {
                Some(list) if list.is_empty() => {
                    self.diagnostics.push(
                        Diagnostic::new(n.span, "spec.verify.commands", "the list of commands is empty")
                            .with_help("add the checks to run, e.g. - make test"),
                    );
                    None
                }
                other => other,
            },
            None => None,
        };
        let attempts = match self.optional(&fields, "attempts") {
            Some(n) => self.whole_number(n, "spec.verify.attempts", 1, 5, "agent runs").map(|v| v as u32),
            None => Some(bca_runner::contract::DEFAULT_ATTEMPTS),
        };
        let timeout = match self.optional(&fields, "timeout") {
            Some(n) => self.whole_number(n, "spec.verify.timeout", 1, 86_400, "seconds").map(|v| v as u64),
            None => Some(bca_runner::contract::DEFAULT_VERIFY_TIMEOUT),
        };
        let allowed_paths = match self.optional(&fields, "allowedPaths") {
            Some(n) => self.list(n, "spec.verify.allowedPaths", "a list of path globs", |s: &str| Ok(s.to_string())),
            None => Some(Vec::new()),
        };
        let on_failure = match self.optional(&fields, "onFailure") {
            Some(n) => self.choice(n, "spec.verify.onFailure", &["draft", "skip"]).map(|o| match o {
                "skip" => OnFailure::Skip,
                _ => OnFailure::Draft,
            }),
            None => Some(OnFailure::Draft),
        };
        Some(Verify {
            commands: commands?,
            attempts: attempts?,
            timeout: timeout?,
            allowed_paths: allowed_paths?,
            on_failure: on_failure?,
        })
    }

    fn select(&mut self, node: &Node, anchor: Span) -> Option<Select> {
        let fields = self.mapping(node, "spec.select", anchor, "a mapping with owners, search, topics, ...")?;
        let mut names = |name: &str, what: &str, parse: &dyn Fn(&str) -> Result<String, Invalid>| match self
            .optional(&fields, name)
        {
            Some(n) => self.list(n, &format!("spec.select.{name}"), what, parse),
            None => Some(Vec::new()),
        };
        let owners = names("owners", "a list of organisations or users", &|s| name_of("owner", s));
        let topics = names("topics", "a list of topics", &topic);
        let languages = names("languages", "a list of languages", &|s| one_line(s, "language", "Go"));
        let has_files = names("hasFiles", "a list of paths", &relative_path);
        let exclude = names("exclude", "a list of OWNER/NAME globs", &owner_name_glob);
        let search = match self.optional(&fields, "search") {
            Some(n) => {
                self.value(n, "spec.select.search", |s: &str| one_line(s, "search query", "language:go")).map(Some)
            }
            None => Some(None),
        };
        let mut flag = |name: &str| match self.optional(&fields, name) {
            Some(n) => self.boolean(n, &format!("spec.select.{name}")),
            None => Some(false),
        };
        let (archived, forks, include_opted_out) = (flag("archived"), flag("forks"), flag("includeOptedOut"));
        let lockfile = match self.optional(&fields, "lockfile") {
            Some(n) => self.value(n, "spec.select.lockfile", relative_path).map(Some),
            None => Some(None),
        };
        if fields.get("owners").is_none() && fields.get("search").is_none() {
            self.diagnostics.push(
                Diagnostic::new(anchor, "spec.select", "spec.select says what to narrow down but not where to look")
                    .with_help("add owners (organisations or users) or a search query"),
            );
            return None;
        }
        Some(Select {
            owners: owners?,
            search: search?,
            topics: topics?,
            languages: languages?,
            has_files: has_files?,
            exclude: exclude?,
            archived: archived?,
            forks: forks?,
            include_opted_out: include_opted_out?,
            lockfile: lockfile?,
            at: anchor,
        })
    }

    fn follow_up(&mut self, node: &Node, anchor: Span) -> Option<FollowUpSpec> {
        let fields = self.mapping(node, "spec.followUp", anchor, "a mapping with on, rounds, schedule and trust")?;
        let on = match self.optional(&fields, "on") {
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => {
                    let mut on = Vec::new();
                    let mut ok = true;
                    for (i, item) in items.iter().enumerate() {
                        match self.choice(item, &format!("spec.followUp.on[{i}]"), &["conflicts", "reviews", "checks"])
                        {
                            Some("conflicts") => on.push(FollowUpOn::Conflicts),
                            Some("reviews") => on.push(FollowUpOn::Reviews),
                            Some(_) => on.push(FollowUpOn::Checks),
                            None => ok = false,
                        }
                    }
                    if items.is_empty() {
                        self.diagnostics.push(
                            Diagnostic::new(n.span, "spec.followUp.on", "the list is empty")
                                .with_help("name what to answer: conflicts, reviews, checks"),
                        );
                        ok = false;
                    }
                    on.sort();
                    on.dedup();
                    ok.then_some(on)
                }
                _ => {
                    self.error(n.span, "spec.followUp.on", format!("expected a list, found {}", n.describe()));
                    None
                }
            },
            None => Some(vec![FollowUpOn::Conflicts, FollowUpOn::Reviews, FollowUpOn::Checks]),
        };
        let rounds = match self.optional(&fields, "rounds") {
            Some(n) => self.whole_number(n, "spec.followUp.rounds", 1, 10, "rounds").map(|v| v as u32),
            None => Some(super::model::DEFAULT_ROUNDS),
        };
        let schedule = match self.optional(&fields, "schedule") {
            Some(n) => self.value(n, "spec.followUp.schedule", cron),
            None => Some(super::model::DEFAULT_SCHEDULE.to_string()),
        };
        let trust = match self.optional(&fields, "trust") {
            Some(n) => self.list(n, "spec.followUp.trust", "a list of GitHub author associations", |s: &str| {
                let upper = s.to_ascii_uppercase();
                if super::model::ASSOCIATIONS.contains(&upper.as_str()) {
                    Ok(upper)
                } else {
                    let mut e = Invalid::new(format!(
                        "\"{s}\" is not a GitHub author association: expected {}",
                        one_of(&super::model::ASSOCIATIONS)
                    ));
                    if let Some(close) = suggest(&upper, &super::model::ASSOCIATIONS) {
                        e = e.help(format!("did you mean {close}?"));
                    }
                    Err(e)
                }
            }),
            None => Some(super::model::DEFAULT_TRUST.iter().map(|s| s.to_string()).collect()),
        };
        Some(FollowUpSpec { on: on?, rounds: rounds?, schedule: schedule?, trust: trust? })
    }

    fn merge(&mut self, node: &Node, anchor: Span) -> Option<Merge> {
        let fields = self.mapping(node, "spec.merge", anchor, "a mapping with method, when and auto")?;
        let method = match self.optional(&fields, "method") {
            Some(n) => self.choice(n, "spec.merge.method", &["squash", "merge", "rebase"]).map(|m| match m {
                "merge" => MergeMethod::Merge,
                "rebase" => MergeMethod::Rebase,
                _ => MergeMethod::Squash,
            }),
            None => Some(MergeMethod::default()),
        };
        let when = match self.optional(&fields, "when") {
            Some(n) => self.choice(n, "spec.merge.when", &["approved-and-green", "green"]).map(|w| match w {
                "green" => MergeWhen::Green,
                _ => MergeWhen::ApprovedAndGreen,
            }),
            None => Some(MergeWhen::default()),
        };
        let auto = match self.optional(&fields, "auto") {
            Some(n) => self.boolean(n, "spec.merge.auto"),
            None => Some(false),
        };
        Some(Merge { method: method?, when: when?, auto: auto? })
    }

    /// One of `known`, or a located error naming them (with the closest as a suggestion).
    fn choice(&mut self, node: &Node, path: &str, known: &[&'static str]) -> Option<&'static str> {
        let text = self.string(node, path)?;
        if let Some(found) = known.iter().find(|k| **k == text) {
            return Some(found);
        }
        let field = path.rsplit('.').next().unwrap_or(path).split('[').next().unwrap_or(path);
        let mut d = Diagnostic::new(node.span, path, format!("unknown {field} \"{text}\": expected {}", one_of(known)));
        if let Some(s) = suggest(text, known) {
            d = d.with_help(format!("did you mean \"{s}\"?"));
        }
        self.diagnostics.push(d);
        None
    }

    fn rollout(&mut self, node: &Node, anchor: Span) -> Option<Rollout> {
        let fields = self.mapping(node, "spec.rollout", anchor, "a mapping with queue and parallelism")?;
        let queue = match self.optional(&fields, "queue") {
            Some(n) => self
                .value(n, "spec.rollout.queue", |s| {
                    ChangeName::parse(s)
                        .map_err(|e| Invalid { message: e.message.replace("Change name", "queue name"), ..e })
                })
                .map(Some),
            None => Some(None),
        };
        let parallelism = match self.optional(&fields, "parallelism") {
            Some(n) => self
                .whole_number(n, "spec.rollout.parallelism", 1, i64::from(MAX_PARALLELISM), "agents at once")
                .map(|v| Some(v as u32)),
            None => Some(None),
        };
        Some(Rollout { queue: queue?, parallelism: parallelism? })
    }

    fn job(&mut self, node: &Node, anchor: Span) -> Option<JobSpec> {
        let fields = self.mapping(node, "spec.job", anchor, "a mapping with cpuRequest, memoryLimit, deadline, ...")?;
        let quantity = |d: &mut Decoder, name: &str| match d.optional(&fields, name) {
            Some(n) => d.value(n, &format!("spec.job.{name}"), Quantity::parse).map(|q| Some((q, n.span))),
            None => Some(None),
        };
        let cpu_request = quantity(self, "cpuRequest");
        let cpu_limit = quantity(self, "cpuLimit");
        let memory_request = quantity(self, "memoryRequest");
        let memory_limit = quantity(self, "memoryLimit");
        let workspace_size = quantity(self, "workspaceSize");
        let deadline = match self.optional(&fields, "deadline") {
            Some(n) => self.whole_number(n, "spec.job.deadline", 60, i64::from(i32::MAX), "seconds").map(Some),
            None => Some(None),
        };
        let ttl = match self.optional(&fields, "ttl") {
            Some(n) => self.whole_number(n, "spec.job.ttl", 0, i64::from(i32::MAX), "seconds").map(|v| Some(v as i32)),
            None => Some(None),
        };
        for (what, request, limit) in [("cpu", &cpu_request, &cpu_limit), ("memory", &memory_request, &memory_limit)] {
            if let (Some(Some((request, span))), Some(Some((limit, _)))) = (request, limit) {
                if request.value() > limit.value() {
                    let path = format!("spec.job.{what}Request");
                    let message = format!(
                        "the {what} request {request} is above the {what} limit {limit}: Kubernetes refuses such a pod"
                    );
                    self.diagnostics.push(
                        Diagnostic::new(*span, path, message)
                            .with_help(format!("lower {what}Request or raise {what}Limit")),
                    );
                    return None;
                }
            }
        }
        let strip = |q: Option<Option<(Quantity, Span)>>| q.map(|q| q.map(|(q, _)| q));
        Some(JobSpec {
            cpu_request: strip(cpu_request)?,
            cpu_limit: strip(cpu_limit)?,
            memory_request: strip(memory_request)?,
            memory_limit: strip(memory_limit)?,
            workspace_size: strip(workspace_size)?,
            deadline: deadline?,
            ttl: ttl?,
        })
    }

    /// A whole number in `min..=max`, not a string or a fraction.
    fn whole_number(&mut self, node: &Node, path: &str, min: i64, max: i64, unit: &str) -> Option<i64> {
        let parsed = match &node.kind {
            NodeKind::Scalar(s) if s.resolve() == ScalarType::Int => s.value.parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(v) if (min..=max).contains(&v) => Some(v),
            Some(v) => {
                self.error(node.span, path, format!("{v} {unit} is out of range: expected {min} to {max}"));
                None
            }
            None => {
                let d = Diagnostic::new(
                    node.span,
                    path,
                    format!("expected a whole number of {unit}, found {}", node.describe()),
                )
                .with_help("write the number without quotes or units, e.g. 3600");
                self.diagnostics.push(d);
                None
            }
        }
    }

    /// Checks that `node` is a mapping whose keys are all known fields.
    fn mapping<'a>(&mut self, node: &'a Node, path: &str, anchor: Span, expected: &str) -> Option<Fields<'a>> {
        let NodeKind::Map(entries) = &node.kind else {
            let at = if matches!(node.kind, NodeKind::Scalar(_)) { node.span } else { anchor };
            self.error(at, path, format!("expected {expected}, found {}", node.describe()));
            return None;
        };
        let known = fields_of(path);
        let what = if path.is_empty() { "at the top level".to_string() } else { format!("in {path}") };
        let mut typos = Vec::new();
        for (key, _) in entries {
            let name = key_text(key);
            if !known.contains(&name) {
                let mut message = format!("unknown field \"{name}\" {what}");
                match suggest(name, known) {
                    Some(s) => {
                        message.push_str(&format!(": did you mean \"{s}\"?"));
                        typos.push(s);
                    }
                    None => message.push_str(&format!("; expected one of: {}", known.join(", "))),
                }
                self.error(key.span, &join(path, name), message);
            }
        }
        Some(Fields { entries, anchor, typos })
    }

    fn required<'a>(&mut self, fields: &Fields<'a>, path: &str, name: &str) -> Option<&'a Node> {
        let node = fields.get(name);
        if node.is_none() && !fields.typos.contains(&name) {
            let at = join(path, name);
            let message = if path.is_empty() {
                format!("missing field \"{name}\"")
            } else {
                format!("missing field \"{name}\" in {path}")
            };
            self.diagnostics.push(Diagnostic::new(fields.anchor, at, message).with_help(field_hint(name)));
        }
        node
    }

    /// Optional fields may be left out or set to null.
    fn optional<'a>(&mut self, fields: &Fields<'a>, name: &str) -> Option<&'a Node> {
        fields.get(name).filter(|n| !matches!(&n.kind, NodeKind::Scalar(s) if s.resolve() == ScalarType::Null))
    }

    fn constant(&mut self, fields: &Fields, path: &str, name: &str, value: &str) -> Option<()> {
        let node = self.required(fields, path, name)?;
        let found = self.string(node, name)?;
        if found == value {
            return Some(());
        }
        self.diagnostics.push(
            Diagnostic::new(node.span, name, format!("expected {name}: {value}, found \"{found}\""))
                .with_help(format!("write `{name}: {value}`")),
        );
        None
    }

    /// A string, not a number or boolean that YAML read from an unquoted value.
    fn string<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a str> {
        match &node.kind {
            NodeKind::Scalar(s) if s.resolve() == ScalarType::Str => Some(&s.value),
            NodeKind::Scalar(s) if s.resolve() != ScalarType::Null => {
                let d = Diagnostic::new(node.span, path, format!("expected a string, found {}", node.describe()))
                    .with_help(format!("quote it: \"{}\"", s.value));
                self.diagnostics.push(d);
                None
            }
            _ => {
                self.error(node.span, path, format!("expected a string, found {}", node.describe()));
                None
            }
        }
    }

    fn value<T>(&mut self, node: &Node, path: &str, parse: impl Fn(&str) -> Result<T, Invalid>) -> Option<T> {
        let text = self.string(node, path)?;
        match parse(text) {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.invalid(node, path, invalid);
                None
            }
        }
    }

    fn list<T>(
        &mut self,
        node: &Node,
        path: &str,
        expected: &str,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Option<Vec<T>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.diagnostics.push(
                Diagnostic::new(node.span, path, format!("expected {expected}, found {}", node.describe()))
                    .with_help("write each entry on its own line, starting with \"- \""),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.value(item, &format!("{path}[{i}]"), &parse) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn prompt(&mut self, node: &Node) -> Option<String> {
        let text = self.string(node, "spec.prompt")?;
        if text.trim().is_empty() {
            self.diagnostics.push(Diagnostic::new(node.span, "spec.prompt", "the prompt is empty").with_help(
                "say what the agent should change, e.g. prompt: \"Add error handling to all HTTP handlers\"",
            ));
            return None;
        }
        if let Some(c) = text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
            self.diagnostics.push(
                Diagnostic::new(
                    node.span,
                    "spec.prompt",
                    format!("the prompt holds the control character U+{:04X}", c as u32),
                )
                .with_help("remove it: a prompt is text, and the agent CLI gets it as one argument"),
            );
            return None;
        }
        if text.len() > MAX_PROMPT_BYTES {
            self.diagnostics.push(
                Diagnostic::new(
                    node.span,
                    "spec.prompt",
                    format!(
                        "the prompt is {} KiB, more than {} KiB: it is in each Job's run contract, a pod annotation, \
                         and Kubernetes refuses a pod whose annotations pass 256 KiB",
                        text.len().div_ceil(1024),
                        MAX_PROMPT_BYTES / 1024
                    ),
                )
                .with_help("keep the prompt short and put the details in a file the agent gets: spec.agentsmd or spec.resources"),
            );
            return None;
        }
        Some(text.to_string())
    }

    /// Every entry is checked, and duplicates are found among the valid ones even when
    /// others are invalid, so one run shows every problem.
    fn repos(&mut self, node: &Node) -> Option<Vec<RepoUrl>> {
        let NodeKind::Seq(items) = &node.kind else {
            return self.list(node, "spec.repos", "a list of repository URLs", RepoUrl::parse);
        };
        if items.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(node.span, "spec.repos", "the list of repositories is empty")
                    .with_help("add at least one repository, e.g. - https://github.com/org/repo"),
            );
            return None;
        }
        let parsed: Vec<Option<RepoUrl>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.value(item, &format!("spec.repos[{i}]"), RepoUrl::parse))
            .collect();
        // First index of each repository identity; only looked up, never iterated.
        let mut first_seen: HashMap<String, usize> = HashMap::with_capacity(parsed.len());
        for (i, repo) in parsed.iter().enumerate() {
            let Some(repo) = repo else { continue };
            let first = *first_seen.entry(repo.identity()).or_insert(i);
            if first != i {
                self.diagnostics.push(
                    Diagnostic::new(
                        items[i].span,
                        format!("spec.repos[{i}]"),
                        format!(
                            "repository listed twice: \"{repo}\" is the same as spec.repos[{first}] (line {})",
                            items[first].span.line
                        ),
                    )
                    .with_help("remove one of them; each repository gets one Job and one pull request"),
                );
            }
        }
        // One credentials Secret holds one GitHub token, for one host.
        let first_host = parsed.iter().enumerate().find_map(|(i, r)| r.as_ref().map(|r| (i, r.host())));
        if let Some((first, host)) = first_host {
            let other =
                parsed.iter().enumerate().skip(first + 1).find_map(|(i, r)| {
                    r.as_ref().filter(|r| !r.host().eq_ignore_ascii_case(host)).map(|r| (i, r.host()))
                });
            if let Some((i, other)) = other {
                self.diagnostics.push(
                    Diagnostic::new(
                        items[i].span,
                        format!("spec.repos[{i}]"),
                        format!(
                            "the repositories are on more than one host: {other} here, {host} in spec.repos[{first}] \
                             (line {}); one GitHub token serves one host",
                            items[first].span.line
                        ),
                    )
                    .with_help("put the repositories of each host in a Change file of their own"),
                );
            }
        }
        // Any entry that failed already reported why.
        parsed.into_iter().collect()
    }

    fn agent(&mut self, node: &Node) -> Option<Agent> {
        let name = self.string(node, "spec.agent")?;
        if let Some(agent) = Agent::from_name(name) {
            return Some(agent);
        }
        let names: Vec<&str> = Agent::ALL.iter().map(|a| a.name()).collect();
        let message = match suggest(name, &names) {
            Some(s) => format!("unknown agent \"{name}\": did you mean \"{s}\"?"),
            None => format!("unknown agent \"{name}\"; expected one of: {}", names.join(", ")),
        };
        self.error(node.span, "spec.agent", message);
        None
    }
}

/// A label (any text of 1 to 50 characters), or a GitHub user or team slug.
/// A cron schedule of five fields, as a Kubernetes CronJob takes it (minute, hour, day
/// of month, month, day of week), or one of the `@hourly` forms.
fn cron(s: &str) -> Result<String, Invalid> {
    let s = s.trim();
    let macros = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"];
    let fields: Vec<&str> = s.split_whitespace().collect();
    let field_ok =
        |f: &str| f.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-' | b'?'));
    if macros.contains(&s) || (fields.len() == 5 && fields.iter().all(|f| field_ok(f))) {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(format!("\"{s}\" is not a cron schedule of five fields"))
            .help("for example \"*/30 * * * *\" (every 30 minutes) or \"0 9 * * 1-5\" (9:00 on weekdays)"))
    }
}

/// A GitHub topic: lowercase letters, digits and hyphens, at most 50.
fn topic(s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 50
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(format!(
            "\"{s}\" is not a GitHub topic: expected lowercase letters, digits and hyphens, at most 50"
        ))
        .help(format!("write it as GitHub shows it: {}", s.to_ascii_lowercase().replace(' ', "-"))))
    }
}

fn one_line(s: &str, what: &str, example: &str) -> Result<String, Invalid> {
    if s.trim().is_empty() || s.contains('\n') {
        Err(Invalid::new(format!("expected a {what} on one line")).help(format!("for example {example}")))
    } else {
        Ok(s.trim().to_string())
    }
}

/// A path inside a repository: relative, no `..`, no empty part.
fn relative_path(s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty() && !s.starts_with('/') && s.split('/').all(|p| !p.is_empty() && p != "..");
    if ok {
        Ok(s.to_string())
    } else {
        Err(Invalid::new(format!("\"{s}\" is not a relative path"))
            .help("write it from the root, e.g. go.mod or cmd/main.go"))
    }
}

/// A glob on `OWNER/NAME` (`acme/legacy-*`).
fn owner_name_glob(s: &str) -> Result<String, Invalid> {
    match s.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => Ok(s.to_string()),
        _ => Err(Invalid::new(format!("\"{s}\" is not an OWNER/NAME glob")).help("for example acme/legacy-*")),
    }
}

fn name_of(what: &str, s: &str) -> Result<String, Invalid> {
    if what == "label" {
        return if s.trim().is_empty() || s.chars().count() > 50 {
            Err(Invalid::new("expected a label of 1 to 50 characters"))
        } else {
            Ok(s.to_string())
        };
    }
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(s.to_string())
    } else {
        let help = if s.starts_with('@') { "leave out the @" } else { "write the name as GitHub shows it" };
        Err(Invalid::new(format!("\"{s}\" is not a GitHub {what}: expected letters, digits, '-', '_' or '.'"))
            .help(help))
    }
}

fn field_hint(name: &str) -> &'static str {
    match name {
        "kind" => "add `kind: Change`",
        "apiVersion" => "add `apiVersion: v1`",
        "spec" => "add a spec with prompt, repos and agent",
        "prompt" => "add the instruction for the agent, e.g. prompt: \"Add error handling to all HTTP handlers\"",
        "repos" => "add the repositories to change, e.g. repos: [\"https://github.com/org/repo\"]",
        "agent" => "add the agent to run: agent: copilot-cli (or gemini-cli)",
        _ => "add the field",
    }
}

/// The closest known name, if it is close enough to be a typo.
/// `a`, `a or b`, `a, b or c`.
fn one_of(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn suggest(input: &str, known: &[&'static str]) -> Option<&'static str> {
    let lower = input.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1) || (lower.len() >= 3 && k.starts_with(&lower)))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("promt", &["prompt", "repos"]), Some("prompt"));
        assert_eq!(suggest("copiolt-cli", &["copilot-cli", "gemini-cli"]), Some("copilot-cli"));
        assert_eq!(suggest("gemini", &["copilot-cli", "gemini-cli"]), Some("gemini-cli"));
        assert_eq!(suggest("Repos", &["prompt", "repos"]), Some("repos"));
        assert_eq!(suggest("banana", &["prompt", "repos"]), None);
    }
}

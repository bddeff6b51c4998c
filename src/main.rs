//! The `bca` command line: argument parsing, one library call per subcommand, and the
//! exit code the library chose (0 ok, 1 invalid input or differences, 2 usage, I/O or
//! internal error).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use bca::commands::args::{given_flags, RenderArgs};
use bca::commands::{
    self, diff::DiffRequest, render::RenderRequest, run::RunRequest, status, Outcome, Style, EXIT_ERROR,
};
use bca::render::names::{GitHubHost, GitHubOwner};

#[derive(Parser)]
#[command(
    name = "bca",
    version,
    about = "Run an AI coding agent across many repositories as Kubernetes Jobs, one pull request each",
    after_help = "Exit codes: 0 success; 1 invalid input (for diff: differences; for run --local: a Job failed; for status: not every repository has settled; for close and merge: nothing written without --yes; for merge: not every pull request asked for is merged); 2 usage, I/O or internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check Change files and print a one-line summary of each.
    Validate {
        /// Change files to check; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print nothing for valid files.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Render the Kubernetes manifests that run Changes: one Job per repository.
    ///
    /// Prints a YAML stream for `kubectl apply -f -`, or writes one file per object and a
    /// kustomization.yaml into --output-dir. Never talks to a cluster.
    Render {
        /// Change files to render; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        render: Box<RenderArgs>,
        /// Write one file per object and a kustomization.yaml into DIR, replacing what an
        /// earlier render wrote there.
        #[arg(short, long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// With --output-dir: replace DIR even if it holds files bca did not write (they
        /// are deleted), or another Change's Jobs, or the platform's objects.
        #[arg(long, requires = "output_dir")]
        force: bool,
        /// With --output-dir and --secret-from-env: write the plaintext tokens into DIR
        /// anyway. A directory is usually committed; prefer --external-secret.
        #[arg(long, requires_all = ["output_dir", "secret_from_env"])]
        unsafe_write_plaintext_secret: bool,
    },
    /// Compare Changes with the manifests committed in DIR (by `render --output-dir`).
    ///
    /// Prints nothing and exits 0 when DIR is current; prints a unified diff per file and
    /// a summary of the Jobs that would be added, removed, replaced or changed (and
    /// whether their agents run again), and exits 1, when it is not. Renders with the
    /// flags DIR records; flags given here win, with a note where they differ. Never
    /// writes anything.
    Diff {
        /// The Change file(s) the directory was rendered from; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// The directory `bca render --output-dir` wrote.
        #[arg(value_name = "DIR", required = true)]
        dir: PathBuf,
        /// Print only the summary, not the diff of each file.
        #[arg(long, conflicts_with = "full")]
        stat: bool,
        /// Print the diff of every file; by default a change that repeats across Jobs (a
        /// prompt edit, a new image) is printed once with the Jobs it applies to.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        render: Box<RenderArgs>,
    },
    /// Run Changes' Jobs on this machine through the same rendered manifests.
    ///
    /// One repository after another: to try a Change on one repository before rolling it
    /// out to hundreds.
    ///
    /// Needs bca-runner (beside bca or on PATH), git and the agent CLI on PATH, and the
    /// tokens in GITHUB_TOKEN and the agent's variable (COPILOT_TOKEN, GEMINI_API_KEY,
    /// ANTHROPIC_API_KEY or OPENAI_API_KEY). Prints each
    /// repository's result line; exits 1 if any Job failed.
    ///
    /// A laptop run has no container isolation between the agent and the push token: the
    /// agent runs as you, and your shell holds GITHUB_TOKEN. bca writes each secret only
    /// while the step that reads it runs, makes itself non-dumpable, scrubs the token
    /// variables from its environment, and runs each step in a PID namespace of its own
    /// (unshare), so nothing the agent starts outlives its step; Ctrl-C stops every step
    /// and removes the key files. Use a token that reaches only the repositories you try.
    Run {
        /// Run here, not on a cluster (the only mode; for a cluster use `bca render | kubectl apply -f -`).
        #[arg(long, required = true)]
        local: bool,
        /// Change files to run; `-` reads standard input.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// Run only this repository (OWNER/NAME or its URL; repeatable), to try a Change
        /// on one repository first.
        #[arg(long = "repo", value_name = "OWNER/NAME")]
        only: Vec<String>,
        /// Run even where bca cannot give each step a PID namespace of its own (no
        /// unshare, or no unprivileged user namespaces): a process the agent leaves
        /// running may then outlive its step and read the GitHub token publish is given.
        #[arg(long)]
        allow_agent_processes_to_outlive_steps: bool,
        /// Run one follow-up round on the Change's open pull requests (spec.followUp)
        /// instead of the first run: what its CronJob's Job does in the cluster.
        #[arg(long)]
        follow_up: bool,
        #[command(flatten)]
        render: Box<RenderArgs>,
    },
    /// Show where Changes stand: each repository's pull request, checks and review.
    ///
    /// Reads GitHub with the token in GITHUB_TOKEN (read access is enough), never the
    /// cluster: give it `kubectl -n bca-jobs get pods -l bca.dev/change-name=NAME -o json`
    /// (`-l bca.dev/change=ID` for an unnamed Change) with
    /// --pods for what only the cluster knows. Reads 50 repositories a GraphQL query.
    /// Ends with a burndown line and what the read cost. Exits 0 when every repository
    /// has reached an end state (merged, closed by a person, or no change needed), 1
    /// otherwise, a missing, renamed or archived repository included (so CI can wait on
    /// it); --require-merged is the stricter gate.
    Status {
        /// The Change files.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// One JSON object per repository, one per line, then a summary line.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// A Markdown table, to paste into a tracking issue.
        #[arg(long)]
        markdown: bool,
        /// The output of `kubectl get pods -o json` for the Change's pods; `-` reads
        /// standard input.
        #[arg(long, value_name = "FILE")]
        pods: Option<PathBuf>,
        /// The organisation the Change forks into (as given to `render --fork-org`).
        #[arg(long, value_name = "ORG")]
        fork_org: Option<GitHubOwner>,
        /// The GitHub Enterprise host of the Changes' repositories (as given to `render
        /// --github-host`); the token is sent there only.
        #[arg(long, value_name = "HOST")]
        github_host: Option<GitHubHost>,
        /// Exit 0 only when every pull request is merged (or its repository needed no
        /// change): a pull request a person closed keeps the exit code at 1.
        #[arg(long)]
        require_merged: bool,
        /// Print progress lines on standard error even when it is not a terminal (for CI
        /// logs); on a terminal progress is shown anyway.
        #[arg(long)]
        progress: bool,
    },
    /// Ask GitHub which repositories each Change's spec.select chooses, and write them into
    /// the Change's lockfile (CHANGE.lock.yaml beside it), saying what changed.
    ///
    /// Every other command reads the lockfile, never GitHub. With --check, say whether the
    /// lockfile is up to date and exit 1 when not, writing nothing (for CI); head commits
    /// are recorded but not compared.
    Resolve {
        /// The Change files.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// Write nothing; exit 1 when the lockfile would change.
        #[arg(long)]
        check: bool,
        /// The GitHub Enterprise host the owners are on; the token is sent there only.
        #[arg(long, value_name = "HOST")]
        github_host: Option<GitHubHost>,
        /// Print progress lines on standard error even when it is not a terminal.
        #[arg(long)]
        progress: bool,
    },
    /// Merge a Change's pull requests that its merge rule allows (spec.merge.when).
    ///
    /// Each merge is pinned to the head commit bca read (a push since makes GitHub refuse
    /// it); a base branch with a merge queue gets the pull request queued instead. Prints
    /// the plan, and each pull request it leaves with why, and exits 1 unless --yes is
    /// given. Merges go one at a time, at least a second apart. Exit 0 once no pull
    /// request asked for is left open (merged; a repository without one had nothing to
    /// merge), 1 otherwise.
    Merge {
        /// The Change files.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// Only this repository (OWNER/NAME or its URL; repeatable).
        #[arg(long = "repo", value_name = "OWNER/NAME")]
        only: Vec<String>,
        /// Merge them; without it, only say what would be merged.
        #[arg(long)]
        yes: bool,
        /// The organisation the Change forks into (as given to `render --fork-org`).
        #[arg(long, value_name = "ORG")]
        fork_org: Option<GitHubOwner>,
        /// The GitHub Enterprise host of the Changes' repositories (as given to `render
        /// --github-host`); the token is sent there only.
        #[arg(long, value_name = "HOST")]
        github_host: Option<GitHubHost>,
        /// Print progress lines on standard error even when it is not a terminal.
        #[arg(long)]
        progress: bool,
    },
    /// Close a Change's open pull requests, with a comment saying why, and delete their
    /// branches.
    ///
    /// All of them, those of --repo, or with --orphaned those of repositories no longer
    /// in the Change. Prints what it would do and exits 1 unless --yes is given.
    Close {
        /// The Change files.
        #[arg(required = true, value_name = "CHANGE")]
        files: Vec<PathBuf>,
        /// Only this repository (OWNER/NAME or its URL; repeatable).
        #[arg(long = "repo", value_name = "OWNER/NAME", conflicts_with = "orphaned")]
        only: Vec<String>,
        /// The pull requests of repositories removed from the (named) Change.
        #[arg(long)]
        orphaned: bool,
        /// Close them; without it, only say what would be closed.
        #[arg(long)]
        yes: bool,
        /// The organisation the Change forks into (as given to `render --fork-org`).
        #[arg(long, value_name = "ORG")]
        fork_org: Option<GitHubOwner>,
        /// The GitHub Enterprise host of the Changes' repositories (as given to `render
        /// --github-host`); the token is sent there only.
        #[arg(long, value_name = "HOST")]
        github_host: Option<GitHubHost>,
    },
    /// Print the JSON Schema of the Change file (also at schema/change.schema.json).
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    ///
    /// `bca completions bash > /etc/bash_completion.d/bca`, `bca completions zsh >
    /// "${fpath[1]}/_bca"`, `bca completions fish > ~/.config/fish/completions/bca.fish`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// The original tool's command; bca renders instead (`bca render CHANGE | kubectl apply -f -`).
    #[command(hide = true)]
    Apply {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let parsed = Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_ERROR) } else { ExitCode::SUCCESS };
        }
    };
    let given = matches.subcommand().map(|(_, sub)| given_flags(sub)).unwrap_or_default();
    let style = Style { color: bca::terminal::stderr_color() };
    let env = |name: &str| std::env::var(name).ok();
    let outcome = match cli.command {
        Command::Validate { files, quiet } => commands::validate::validate(&files, quiet, style),
        Command::Render { files, render, output_dir, force, unsafe_write_plaintext_secret } => {
            let request = render.options().map(|options| RenderRequest {
                files,
                options,
                flags: given,
                output_dir,
                force,
                allow_plaintext_secret: unsafe_write_plaintext_secret,
            });
            request.and_then(|request| commands::render::render(&request, &env, style))
        }
        Command::Diff { files, dir, stat, full, render: _ } => {
            let request: anyhow::Result<DiffRequest> = Ok(DiffRequest { files, given, dir, stat, full });
            request.and_then(|request| commands::diff::diff(&request, &env, style, bca::terminal::stdout_color()))
        }
        Command::Run { local: _, files, only, allow_agent_processes_to_outlive_steps, follow_up, render } => {
            let request = render.options().map(|options| RunRequest {
                files,
                options,
                only,
                unisolated: allow_agent_processes_to_outlive_steps,
                follow_up,
            });
            request.and_then(|request| commands::run::run_local(&request, &env, style, &mut std::io::stderr()))
        }
        Command::Status { files, json, markdown, pods, fork_org, github_host, require_merged, progress } => {
            let format = match (json, markdown) {
                (true, _) => status::Format::Json,
                (_, true) => status::Format::Markdown,
                _ => status::Format::Table,
            };
            let request =
                status::StatusRequest { files, format, pods, fork_org, github_host, require_merged, progress };
            commands::status::status(&request, &env, style)
        }
        Command::Resolve { files, check, github_host, progress } => {
            let request = commands::resolve::ResolveRequest { files, check, github_host, progress };
            commands::resolve::resolve(&request, &env, style)
        }
        Command::Merge { files, only, yes, fork_org, github_host, progress } => {
            let request = commands::merge::MergeRequest { files, only, yes, fork_org, github_host, progress };
            commands::merge::merge(&request, &env, style)
        }
        Command::Close { files, only, orphaned, yes, fork_org, github_host } => {
            let request = commands::close::CloseRequest { files, only, orphaned, yes, fork_org, github_host };
            commands::close::close(&request, &env, style)
        }
        Command::Schema => Ok(Outcome { stdout: bca::change::schema::json_schema(), ..Outcome::default() }),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "bca", &mut script);
            Ok(Outcome { stdout: String::from_utf8_lossy(&script).into_owned(), ..Outcome::default() })
        }
        Command::Apply { args } => {
            let files =
                args.iter().filter(|a| a.ends_with(".yaml") || a.ends_with(".yml")).cloned().collect::<Vec<_>>();
            let files = if files.is_empty() { "CHANGE".to_string() } else { files.join(" ") };
            Ok(Outcome {
                stderr: format!(
                    "bca: error: bca apply was the original tool's command; this bca never talks to a cluster. \
                     Render the Jobs and apply them: bca render {files} | kubectl apply -f -\n"
                ),
                code: EXIT_ERROR,
                ..Outcome::default()
            })
        }
    };
    ExitCode::from(commands::emit(&commands::finish(outcome)))
}

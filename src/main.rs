//! The `bca` command line: argument parsing, one library call per subcommand, and the
//! mapping from outcomes to exit codes (0 ok, 1 invalid input or differences, 2 usage,
//! I/O or internal error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bca::validate::{check_files, Checked};

#[derive(Parser)]
#[command(
    name = "bca",
    version,
    about = "Run an AI coding agent across many repositories as Kubernetes Jobs, one pull request each",
    after_help = "Exit codes: 0 success; 1 invalid input (or, for diff, differences); 2 usage, I/O or internal error."
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
    /// Print the JSON Schema of the Change file (also at schema/change.schema.json).
    Schema,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bca: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { files, quiet } => {
            let color = bca::terminal::stderr_color();
            let mut invalid = false;
            let mut stdout = std::io::stdout().lock();
            for checked in check_files(&files)? {
                match checked {
                    Checked::Valid { name, change } if !quiet => {
                        writeln!(stdout, "{}", Checked::summary(&name, &change))?
                    }
                    Checked::Valid { .. } => {}
                    Checked::Invalid(report) => {
                        invalid = true;
                        eprint!("{}", report.render(color));
                    }
                }
            }
            Ok(if invalid {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Schema => {
            print!("{}", bca::change::schema::json_schema());
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! What goes to the terminal: whether to colour it, and writing it without losing it.

use std::io::IsTerminal;

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
fn color(stream: impl IsTerminal) -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_terminal()
}

/// For errors and warnings.
pub fn stderr_color() -> bool {
    color(std::io::stderr())
}

/// For diffs.
pub fn stdout_color() -> bool {
    color(std::io::stdout())
}

/// Writes a command's output and returns its exit code. A closed pipe (`bca render | head`)
/// is a clean exit; any other failure to write (a full disk) is an error, exit 2: output
/// that did not arrive must not look like success.
pub fn emit(outcome: &crate::commands::Outcome) -> u8 {
    use std::io::Write;
    let written =
        std::io::stdout().lock().write_all(outcome.stdout.as_bytes()).and_then(|()| std::io::stdout().flush());
    let _ = std::io::stderr().lock().write_all(outcome.stderr.as_bytes());
    match written {
        Ok(()) => outcome.code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => outcome.code,
        Err(e) => {
            eprintln!("bca: error: writing standard output: {e}");
            crate::commands::EXIT_ERROR
        }
    }
}

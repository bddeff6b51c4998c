//! Whether to colour what goes to the terminal.

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

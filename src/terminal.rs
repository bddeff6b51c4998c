//! What goes to the terminal: whether to colour it, and writing it without losing it.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

/// One palette for everything bca colours, the colours cargo and rustc use.
pub mod palette {
    use super::*;
    pub const ERROR: Style = AnsiColor::Red.on_default().bold();
    pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
    /// Line numbers, gutters and help in located errors.
    pub const GUTTER: Style = AnsiColor::Blue.on_default().bold();
    pub const EMPHASIS: Style = Style::new().bold();
    pub const ADDED: Style = AnsiColor::Green.on_default();
    pub const REMOVED: Style = AnsiColor::Red.on_default();
    pub const HUNK: Style = AnsiColor::Cyan.on_default();
}

/// `text` in `style` when `color`, else as it is.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

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

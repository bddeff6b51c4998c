//! Located errors in a Change file, and how they are shown: `file:line:col: error: ...`
//! followed by the offending source line, the way rustc and ruff do it.

use std::fmt::Write as _;

use crate::terminal::{paint, palette};

/// Where in the source a problem is: 1-based line and column (in characters), and how
/// many characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

impl Span {
    pub const START: Span = Span { line: 1, col: 1, len: 1 };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    /// The field path (`spec.repos[1]`), empty for problems of the document as a whole.
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Span, path: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic { span, path: path.into(), message: message.into(), help: None }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// All the problems of one file, with what is needed to show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Renders every diagnostic, in source order. `color` adds ANSI colours; callers pass
    /// true only when writing to a terminal.
    pub fn render(&self, color: bool) -> String {
        let paint = Paint { color };
        let mut out = String::new();
        for d in &self.diagnostics {
            let location = format!("{}:{}:{}:", self.file, d.span.line, d.span.col);
            let path = if d.path.is_empty() { String::new() } else { format!("{}: ", d.path) };
            let _ =
                writeln!(out, "{} {} {}{}", paint.bold(&location), paint.error("error:"), path, paint.bold(&d.message));
            if let Some(line) = self.source.lines().nth(d.span.line.saturating_sub(1)) {
                let number = d.span.line.to_string();
                let gutter = " ".repeat(number.len());
                let (shown, col) = window(&printable(line), d.span.col);
                let width = shown.chars().count();
                let col = col.clamp(1, width + 1);
                let len = d.span.len.clamp(1, (width + 1 - col).max(1));
                let _ = writeln!(out, "{gutter} {}", paint.blue("|"));
                let _ = writeln!(out, "{} {} {shown}", paint.blue(&number), paint.blue("|"));
                let _ = writeln!(
                    out,
                    "{gutter} {} {}{}",
                    paint.blue("|"),
                    " ".repeat(col - 1),
                    paint.error(&"^".repeat(len))
                );
            }
            if let Some(help) = &d.help {
                let gutter = " ".repeat(d.span.line.to_string().len());
                let _ = writeln!(out, "{gutter} {} {help}", paint.blue("= help:"));
            }
        }
        out
    }
}

/// Lines longer than this are cut around the column, so one minified line cannot
/// flood the terminal.
const MAX_SHOWN: usize = 100;

/// The part of `line` to show, and where `col` falls in it.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(MAX_SHOWN / 2).min(chars.len().saturating_sub(MAX_SHOWN));
    let end = (start + MAX_SHOWN).min(chars.len());
    let mut shown = String::new();
    if start > 0 {
        shown.push_str("...");
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    let col = col - start + if start > 0 { 3 } else { 0 };
    (shown, col)
}

/// Control characters would garble the terminal; tabs are kept as one column wide.
fn printable(line: &str) -> String {
    line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

struct Paint {
    color: bool,
}

impl Paint {
    fn bold(&self, text: &str) -> String {
        paint(self.color, palette::EMPHASIS, text)
    }
    fn error(&self, text: &str) -> String {
        paint(self.color, palette::ERROR, text)
    }
    fn blue(&self, text: &str) -> String {
        paint(self.color, palette::GUTTER, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(d: Diagnostic) -> Report {
        Report {
            file: "c.yaml".into(),
            source: "kind: Change\nspec:\n  agent: copiolt-cli\n".into(),
            diagnostics: vec![d],
        }
    }

    #[test]
    fn shows_the_line_and_underlines_the_span() {
        let d =
            Diagnostic::new(Span { line: 3, col: 10, len: 11 }, "spec.agent", "unknown agent").with_help("pick one");
        assert_eq!(
            report(d).render(false),
            "c.yaml:3:10: error: spec.agent: unknown agent\n  |\n3 |   agent: copiolt-cli\n  |          ^^^^^^^^^^^\n  = help: pick one\n"
        );
    }

    #[test]
    fn clamps_spans_that_run_past_the_line() {
        let d = Diagnostic::new(Span { line: 1, col: 40, len: 99 }, "", "x");
        assert!(report(d).render(false).ends_with("  |             ^\n"));
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let source = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let d = Diagnostic::new(Span { line: 1, col: 301, len: 1 }, "", "x");
        let shown = Report { file: "f".into(), source, diagnostics: vec![d] }.render(false);
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[2], format!("1 | ...{}X{}...", "a".repeat(49), "b".repeat(50)));
        assert_eq!(lines[3].find('^'), lines[2].find('X'));
    }

    #[test]
    fn colour_only_when_asked() {
        let d = Diagnostic::new(Span::START, "", "x");
        assert!(!report(d.clone()).render(false).contains('\x1b'));
        assert!(report(d).render(true).contains("\x1b[1m\x1b[31merror:\x1b[0m"));
    }
}

//! The texts the runner publishes (pull request title and body, commit message), made
//! from minijinja templates: the ones in `templates/`, embedded in the binary, or a
//! team's own with `--templates DIR`. User text (the prompt, URLs) reaches a template
//! only as a value, never as template source.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

pub const TITLE: &str = "pull-request-title.j2";
pub const BODY: &str = "pull-request-body.md.j2";
pub const COMMIT: &str = "commit-message.j2";

const BUILTIN: [(&str, &str); 3] = [
    (TITLE, include_str!("../../templates/pull-request-title.j2")),
    (BODY, include_str!("../../templates/pull-request-body.md.j2")),
    (COMMIT, include_str!("../../templates/commit-message.j2")),
];

/// GitHub refuses longer pull request titles.
const MAX_TITLE: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "{dir}: unknown template {name}; a templates directory holds any of: {}",
        BUILTIN.map(|(n, _)| n).join(", ")
    )]
    Unknown { dir: String, name: String },
    #[error("reading {path}: {message}")]
    Read { path: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// What a template sees. Documented in docs/rendering.md ("Templates").
#[derive(Debug, Serialize)]
pub struct TemplateContext<'a> {
    pub prompt: &'a str,
    /// The first non-empty line of the prompt, cut to fit a title.
    pub prompt_title: String,
    pub change_id: &'a str,
    pub agent: &'a str,
    pub repository: &'a str,
    pub base_branch: &'a str,
    pub head_branch: &'a str,
    /// A Markdown code fence longer than any run of backticks in the prompt.
    pub fence: String,
}

impl<'a> TemplateContext<'a> {
    pub fn new(prompt: &'a str) -> TemplateContext<'a> {
        let longest = prompt.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        TemplateContext {
            prompt,
            prompt_title: first_line(prompt, 72),
            change_id: "",
            agent: "",
            repository: "",
            base_branch: "",
            head_branch: "",
            fence: "`".repeat(longest.max(2) + 1),
        }
    }
}

/// The texts for one repository's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub title: String,
    pub body: String,
    pub commit_message: String,
}

/// Each built-in template: its name, the file it comes from, its text.
fn builtin_sources() -> Vec<(&'static str, String, String)> {
    BUILTIN.iter().map(|(name, src)| (*name, format!("templates/{name}"), src.to_string())).collect()
}

/// The three templates, compiled once.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Template name → the file it came from, for error messages.
    files: BTreeMap<&'static str, String>,
}

impl Default for Templates {
    fn default() -> Templates {
        // The built-in templates are tested: they compile.
        Templates::compile(builtin_sources()).expect("the built-in templates compile")
    }
}

impl Templates {
    /// The built-in templates, with those in `dir` in their place. A file `dir` holds
    /// that is not a template bca knows is an error (a misspelt name would otherwise be
    /// ignored silently). Every template is compiled here, so a broken one fails before
    /// anything is rendered.
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let shown = dir.display().to_string();
        let read_error = |e: std::io::Error| TemplateError::Read { path: shown.clone(), message: e.to_string() };
        let mut names: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_error)? {
            names.push(entry.map_err(read_error)?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        let mut sources = builtin_sources();
        for name in names {
            let Some(slot) = sources.iter_mut().find(|(n, _, _)| *n == name) else {
                return Err(TemplateError::Unknown { dir: shown, name });
            };
            let path = dir.join(&name);
            slot.2 = std::fs::read_to_string(&path)
                .map_err(|e| TemplateError::Read { path: path.display().to_string(), message: e.to_string() })?;
            slot.1 = path.display().to_string();
        }
        Templates::compile(sources)
    }

    fn compile(sources: Vec<(&'static str, String, String)>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        // A misspelt variable is an error, not an empty string in a pull request.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let mut files = BTreeMap::new();
        for (name, file, source) in sources {
            env.add_template_owned(name, source.clone()).map_err(|e| invalid(&file, &e))?;
            // A misspelt variable is named now, not as an "undefined value" at render.
            let template = env.get_template(name).map_err(|e| invalid(&file, &e))?;
            if let Some(error) = unknown_variable(&file, &source, &template) {
                return Err(error);
            }
            files.insert(name, file);
        }
        Ok(Templates { env, files })
    }

    pub fn render(&self, context: &TemplateContext) -> Result<Texts, TemplateError> {
        let render = |name: &str| {
            self.env.get_template(name).and_then(|t| t.render(context)).map_err(|e| invalid(&self.files[name], &e))
        };
        let title = render(TITLE)?.split_whitespace().collect::<Vec<_>>().join(" ");
        if title.is_empty() {
            return Err(TemplateError::Invalid {
                file: self.files[TITLE].clone(),
                message: "the pull request title came out empty".into(),
            });
        }
        Ok(Texts {
            title: title.chars().take(MAX_TITLE).collect(),
            body: render(BODY)?,
            commit_message: render(COMMIT)?,
        })
    }
}

/// The variables a template sees: the fields of [`TemplateContext`].
pub const VARIABLES: [&str; 8] =
    ["prompt", "prompt_title", "change_id", "agent", "repository", "base_branch", "head_branch", "fence"];

/// The first variable `template` uses that no template may, with a fix where one is close.
fn unknown_variable(file: &str, source: &str, template: &minijinja::Template) -> Option<TemplateError> {
    let mut unknown: Vec<String> =
        template.undeclared_variables(false).into_iter().filter(|v| !VARIABLES.contains(&v.as_str())).collect();
    unknown.sort();
    let variable = unknown.first()?;
    let close = VARIABLES.iter().min_by_key(|v| strsim::levenshtein(v, variable)).expect("there are variables");
    let hint =
        if strsim::levenshtein(close, variable) <= 2 { format!("did you mean {close}? ") } else { String::new() };
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let line = source.lines().position(|l| {
        l.match_indices(variable.as_str())
            .any(|(i, _)| !is_word(l[..i].chars().last()) && !is_word(l[i + variable.len()..].chars().next()))
    });
    Some(TemplateError::Invalid {
        file: format!("{file}{}", line.map(|l| format!(":{}", l + 1)).unwrap_or_default()),
        message: format!(
            "{{{{ {variable} }}}} is not a template variable: {hint}templates can use {}",
            VARIABLES.join(", ")
        ),
    })
}

fn invalid(file: &str, e: &minijinja::Error) -> TemplateError {
    let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message.push_str(&format!(": {detail}"));
    }
    if e.kind() == minijinja::ErrorKind::UndefinedError {
        message.push_str(&format!(" (templates can use: {})", VARIABLES.join(", ")));
    }
    TemplateError::Invalid { file: format!("{file}{line}"), message }
}

/// The first non-empty line, cut to `max` characters with an ellipsis.
/// The prompt's first line as a title: without the marks Markdown puts before a heading,
/// a list item or a quote.
fn first_line(text: &str, max: usize) -> String {
    let mut line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    loop {
        let unmarked = line.trim_start_matches(['#', '>']);
        let unlisted = match unmarked.strip_prefix(['-', '*', '+']) {
            Some(rest) if rest.starts_with(' ') => rest,
            _ => unmarked,
        };
        let unnumbered = unlisted
            .split_once(['.', ')'])
            .filter(|(n, rest)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with(' '))
            .map_or(unlisted, |(_, rest)| rest);
        let next = unnumbered.trim();
        if next == line || next.is_empty() {
            break;
        }
        line = next;
    }
    if line.chars().count() <= max {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(prompt: &str) -> TemplateContext<'_> {
        TemplateContext { change_id: "abc", agent: "copilot-cli", ..TemplateContext::new(prompt) }
    }

    #[test]
    fn titles_lose_markdown_marks() {
        for (prompt, title) in [
            ("# Migrate logging to slog\n\nDetails", "Migrate logging to slog"),
            ("## - Bump deps", "Bump deps"),
            ("- item one\n- item two", "item one"),
            ("1. First step", "First step"),
            ("> quoted", "quoted"),
            ("#hashtag stays", "hashtag stays"),
            ("-not a list", "-not a list"),
        ] {
            assert_eq!(first_line(prompt, 72), title, "{prompt}");
        }
    }

    #[test]
    fn the_variables_named_in_errors_are_the_context_fields() {
        let value = serde_json::to_value(context("x")).unwrap();
        let mut fields: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        let mut named = VARIABLES.to_vec();
        fields.sort();
        named.sort();
        assert_eq!(fields, named);
    }

    #[test]
    fn builtin_texts() {
        let texts = Templates::default().render(&context("Fix the bug\n\nCarefully.")).unwrap();
        assert_eq!(texts.title, "Fix the bug");
        assert!(texts.body.contains("```text\nFix the bug\n\nCarefully.\n```\n"), "{}", texts.body);
        assert_eq!(
            texts.commit_message,
            "Fix the bug\n\nFix the bug\n\nCarefully.\n\nChange: abc\nAgent: copilot-cli\nMade-by: bca\n"
        );
    }

    #[test]
    fn the_prompt_is_a_value_never_template_source() {
        let texts = Templates::default().render(&context("{{ 7 * 7 }} {% if true %}x{% endif %} ```")).unwrap();
        assert_eq!(texts.title, "{{ 7 * 7 }} {% if true %}x{% endif %} ```");
        assert!(texts.body.contains("````text\n{{ 7 * 7 }}"), "{}", texts.body);
    }

    #[test]
    fn long_first_lines_are_cut() {
        let texts = Templates::default().render(&context(&"x".repeat(100))).unwrap();
        assert_eq!(texts.title.chars().count(), 72);
    }

    #[test]
    fn custom_templates_replace_builtin_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TITLE), "[{{ change_id }}] {{ prompt_title }}").unwrap();
        let texts = Templates::from_dir(dir.path()).unwrap().render(&context("Fix it")).unwrap();
        assert_eq!(texts.title, "[abc] Fix it");
        assert!(texts.body.starts_with("The copilot-cli coding agent"));
    }

    #[test]
    fn broken_and_unknown_templates_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(BODY), "line one\n{{ prompt }\n").unwrap();
        let err = Templates::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("pull-request-body.md.j2:2: syntax error"), "{err}");

        std::fs::write(dir.path().join(BODY), "{{ promt }}").unwrap();
        let err = Templates::from_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("pull-request-body.md.j2:1: {{ promt }} is not a template variable: did you mean prompt?"),
            "{err}"
        );

        std::fs::remove_file(dir.path().join(BODY)).unwrap();
        std::fs::write(dir.path().join("pull-request.j2"), "x").unwrap();
        let err = Templates::from_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("unknown template pull-request.j2; a templates directory holds any of: pull-request-title.j2"),
            "{err}"
        );
    }
}

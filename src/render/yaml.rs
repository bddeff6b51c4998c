//! A small, deterministic YAML writer for Kubernetes objects. Keys come out sorted
//! (serde_json's map is ordered), strings are quoted whenever a YAML 1.1 or 1.2 reader
//! could take them for anything but a string, and multi-line text is written as a
//! literal block so that reviewers read prompts and contracts as they were written.

use serde_json::Value;

/// One YAML document, without a `---` marker.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(4096);
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0, false),
        scalar => {
            push_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

/// Keys people look for first come first; the rest are sorted (serde_json's map is).
const LEADING_KEYS: [&str; 7] = ["apiVersion", "kind", "metadata", "name", "namespace", "initContainers", "containers"];

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// `continued`: the first line already has its indentation (it follows a list's `- `).
fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize, mut continued: bool) {
    let leading = LEADING_KEYS.iter().filter_map(|k| map.get_key_value(*k));
    let rest = map.iter().filter(|(k, _)| !LEADING_KEYS.contains(&k.as_str()));
    for (key, value) in leading.chain(rest) {
        if !std::mem::take(&mut continued) {
            push_indent(out, indent);
        }
        push_string(out, key, None);
        out.push(':');
        write_value_after_key(out, value, indent);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2, false);
        }
        // Kubernetes style: a list's dashes line up with the key that holds it.
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent, false);
        }
        scalar => {
            out.push(' ');
            push_scalar(out, scalar, indent + 2);
            out.push('\n');
        }
    }
}

/// Each item starts with `- ` at `indent`; its content continues at `indent + 2`.
fn write_seq(out: &mut String, items: &[Value], indent: usize, mut continued: bool) {
    for item in items {
        if !std::mem::take(&mut continued) {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2, true),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2, true),
            scalar => {
                push_scalar(out, scalar, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn push_scalar(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_string(out, s, Some(indent)),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn push_string(out: &mut String, s: &str, block_indent: Option<usize>) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        out.push_str(&string_text(s, block_indent));
    }
}

/// `block_indent` is where a literal block's lines would go; `None` for keys.
fn string_text(s: &str, block_indent: Option<usize>) -> String {
    if let Some(indent) = block_indent {
        if let Some(block) = literal_block(s, indent) {
            return block;
        }
    }
    if is_plain_safe(s) {
        s.to_string()
    } else {
        // A JSON string is a valid YAML double-quoted scalar, escapes included.
        serde_json::to_string(s).expect("a string serialises")
    }
}

/// Text a literal block keeps byte-exact: several lines, printable characters and no
/// trailing spaces (editors strip them), not starting with a space (that would need
/// an indentation indicator), ending in at most one newline.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    let body = s.strip_suffix('\n').unwrap_or(s);
    let ok = body.contains('\n')
        && !body.starts_with([' ', '\n'])
        && !body.ends_with('\n')
        && body.chars().all(|c| c == '\n' || !c.is_control())
        && !body.chars().any(|c| matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{85}'))
        && body.split('\n').all(|line| !line.ends_with(' '));
    if !ok {
        return None;
    }
    let mut out = String::from(if s.ends_with('\n') { "|" } else { "|-" });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
    Some(out)
}

/// Plain scalars only for text no YAML reader can take for another type: it starts
/// with a letter or '/', uses a small safe alphabet, and is not a YAML 1.1 boolean or null.
fn is_plain_safe(s: &str) -> bool {
    const RESERVED: [&str; 11] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"];
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    first_ok
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-' | '@'))
        && !s.ends_with(['.', '-'])
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
        || is_plain_url(s)
}

/// `https://host/path` reads better unquoted and is safe: the ':' is never followed by
/// a space, and the rest uses the safe alphabet.
fn is_plain_url(s: &str) -> bool {
    s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-' | ':'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_kubernetes_style_yaml() {
        let value = json!({
            "apiVersion": "batch/v1",
            "spec": {"containers": [{"name": "a", "command": ["bca-runner", "fork"], "env": []}], "empty": {}},
            "num": 1, "b": true,
        });
        assert_eq!(
            to_yaml(&value),
            "apiVersion: batch/v1\nb: true\nnum: 1\nspec:\n  containers:\n  - name: a\n    command:\n    - bca-runner\n    - fork\n    env: []\n  empty: {}\n"
        );
    }

    #[test]
    fn quotes_what_a_reader_could_mistake() {
        for s in [
            "yes",
            "No",
            "on",
            "null",
            "~",
            "",
            "1",
            "0755",
            "1e3",
            "12:30",
            "2026-12-01",
            "500m",
            "a: b",
            "#x",
            "- x",
            " x",
            "x ",
            "-x",
            ".inf",
            "*a",
            "&a",
            "!t",
            "a\tb",
            "x:",
            "{a}",
            "[a]",
            "'q'",
            "\"q\"",
        ] {
            let yaml = string_text(s, None);
            assert!(yaml.starts_with('"'), "{s:?} was written as {yaml}");
        }
        for s in
            ["main", "bca-runner", "ghcr.io/manno/bca-runner", "https://github.com/acme/api", "/workspace", "Always"]
        {
            assert_eq!(string_text(s, None), s);
        }
    }

    #[test]
    fn multi_line_text_becomes_a_literal_block() {
        let value = json!({"k": "line one\n  indented\n\nlast\n", "j": "a\nb"});
        assert_eq!(to_yaml(&value), "j: |-\n  a\n  b\nk: |\n  line one\n    indented\n\n  last\n");
    }

    #[test]
    fn text_a_block_would_change_stays_quoted() {
        for s in ["trailing \nspace", " leading\nspace", "two newlines\n\n", "tab\there\nx", "\nstarts with newline"] {
            assert!(string_text(s, Some(2)).starts_with('"'), "{s:?}");
        }
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use serde_json::json;
    use yaml_rust2::{Yaml, YamlLoader};

    fn to_json(y: &Yaml) -> Value {
        match y {
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Integer(i) => json!(i),
            Yaml::Boolean(b) => json!(b),
            Yaml::Null => Value::Null,
            Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter().map(|(k, v)| (k.as_str().expect("string key").to_string(), to_json(v))).collect(),
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_tricky_string_reads_back_byte_exact() {
        let strings = [
            "plain",
            "yes",
            "1.0",
            "0o17",
            "0x1F",
            "+1",
            "-.5",
            "1_000",
            "~",
            "null",
            "",
            " ",
            "a #b",
            "a: b",
            "key:",
            "- x",
            "? x",
            "| x",
            "> x",
            "%x",
            "@x",
            "`x`",
            "{{ x }}",
            "$(rm -rf /)",
            "'single'",
            "\"double\"",
            "back\\slash",
            "tab\tin",
            "new\nline",
            "trailing\n",
            "crlf\r\n",
            "unicode ✓ ünï 日本",
            "emoji 🦀",
            "nul \u{0}",
            "bell \u{7}",
            "nel \u{85}",
            "ls \u{2028}",
            "bom \u{feff}",
            "multi\nline\n  indented\n\nblank",
            "ends with space \n",
        ];
        for s in strings {
            let value = json!({"k": s, "list": [s, {"m": s}]});
            let text = to_yaml(&value);
            let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{s:?}: {e}\n{text}"));
            assert_eq!(to_json(&docs[0]), value, "{s:?} did not survive:\n{text}");
        }
    }
}

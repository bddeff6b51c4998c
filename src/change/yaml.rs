//! A YAML loader that keeps where every node came from, and refuses hostile input:
//! duplicate keys, alias bombs, absurd nesting. The Change decoder works on its tree.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::{Diagnostic, Span};

/// A Change is three levels deep; anything far deeper is an attack or an accident.
pub const MAX_DEPTH: usize = 64;
/// Nodes after alias expansion. A Change with 100,000 repositories fits; a
/// "billion laughs" document does not.
pub const MAX_NODES: usize = 250_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
    /// This node and all below it, counted once per alias expansion.
    size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub value: String,
    /// Only plain scalars are resolved to null, booleans and numbers (YAML 1.2 core
    /// schema); quoted and block scalars, or those tagged `!!str`, are always strings.
    pub plain: bool,
}

/// What a scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

impl Scalar {
    pub fn resolve(&self) -> ScalarType {
        if !self.plain {
            return ScalarType::Str;
        }
        let v = self.value.as_str();
        match v {
            "" | "~" | "null" | "Null" | "NULL" => return ScalarType::Null,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarType::Bool,
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
            | ".NAN" => return ScalarType::Float,
            _ => {}
        }
        let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
        let is_int = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            || v.strip_prefix("0o").is_some_and(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            || v.strip_prefix("0x").is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if is_int {
            return ScalarType::Int;
        }
        let looks_numeric = digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        if looks_numeric && v.parse::<f64>().is_ok() {
            return ScalarType::Float;
        }
        ScalarType::Str
    }
}

impl Node {
    /// A human name for what this node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Scalar(s) => match s.resolve() {
                ScalarType::Null => "nothing (null)",
                ScalarType::Bool => "a boolean",
                ScalarType::Int => "an integer",
                ScalarType::Float => "a number",
                ScalarType::Str => "a string",
            },
        }
    }
}

/// The parsed document (if parsing got that far) and every problem found on the way.
pub struct Loaded {
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

enum Frame {
    Seq { span: Span, anchor: usize, items: Vec<Node>, size: usize },
    Map { span: Span, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node>, size: usize },
}

/// Parses exactly one YAML document. Syntax errors stop parsing; duplicate keys are
/// collected and parsing goes on, so a user sees all of them at once.
pub fn load(text: &str) -> Loaded {
    if let Some(d) = forbidden_character(text) {
        return Loaded { root: None, diagnostics: vec![d] };
    }
    let mut loader = Loader { diagnostics: Vec::new(), anchors: HashMap::new(), nodes: 0 };
    let root = match loader.run(text) {
        Ok(root) => root,
        Err(fatal) => {
            loader.diagnostics.push(fatal);
            None
        }
    };
    Loaded { root, diagnostics: loader.diagnostics }
}

struct Loader {
    diagnostics: Vec<Diagnostic>,
    // Looked up by id only, never iterated into output.
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

fn span_at(mark: &Marker, len: usize) -> Span {
    Span { line: mark.line(), col: mark.col() + 1, len: len.max(1) }
}

impl Loader {
    fn run(&mut self, text: &str) -> Result<Option<Node>, Diagnostic> {
        let mut parser = Parser::new_from_str(text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<Node> = None;
        let mut documents = 0usize;
        loop {
            let (event, mark) = parser.next_token().map_err(|e| syntax_error(e.marker(), e.info()))?;
            let done = match event {
                Event::StreamEnd => return Ok(root),
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => None,
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(Diagnostic::new(
                            span_at(&mark, 3),
                            "",
                            "found a second YAML document; a Change file holds exactly one Change",
                        )
                        .with_help("put each Change in its own file (bca accepts several files at once)"));
                    }
                    None
                }
                Event::Alias(id) => {
                    let Some(size) = self.anchors.get(&id).map(|n| n.size) else {
                        return Err(Diagnostic::new(span_at(&mark, 1), "", "alias refers to an unknown anchor"));
                    };
                    // Count before cloning: the budget must hold before the memory is spent.
                    self.count(size, &mark)?;
                    let mut node = self.anchors[&id].clone();
                    node.span = span_at(&mark, 1);
                    Some((node, 0))
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let plain = style == TScalarStyle::Plain && !is_str_tag(tag.as_ref());
                    check_tag(tag.as_ref(), &mark)?;
                    self.count(1, &mark)?;
                    let len = value.chars().count()
                        + if matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted) { 2 } else { 0 };
                    let node =
                        Node { kind: NodeKind::Scalar(Scalar { value, plain }), span: span_at(&mark, len), size: 1 };
                    Some((node, anchor))
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) if stack.len() >= MAX_DEPTH => {
                    let _ = (anchor, tag);
                    return Err(Diagnostic::new(
                        span_at(&mark, 1),
                        "",
                        format!("nesting is deeper than {MAX_DEPTH} levels; a Change file is only a few levels deep"),
                    ));
                }
                Event::SequenceStart(anchor, tag) => {
                    check_tag(tag.as_ref(), &mark)?;
                    self.count(1, &mark)?;
                    stack.push(Frame::Seq { span: span_at(&mark, 1), anchor, items: Vec::new(), size: 1 });
                    None
                }
                Event::MappingStart(anchor, tag) => {
                    check_tag(tag.as_ref(), &mark)?;
                    self.count(1, &mark)?;
                    stack.push(Frame::Map { span: span_at(&mark, 1), anchor, entries: Vec::new(), key: None, size: 1 });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                    Some(Frame::Seq { span, anchor, items, size }) => {
                        Some((Node { kind: NodeKind::Seq(items), span, size }, anchor))
                    }
                    Some(Frame::Map { span, anchor, entries, size, .. }) => {
                        Some((Node { kind: NodeKind::Map(entries), span, size }, anchor))
                    }
                    None => None,
                },
            };
            if let Some((node, anchor)) = done {
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                match stack.last_mut() {
                    None => root = Some(node),
                    Some(Frame::Seq { items, size, .. }) => {
                        *size += node.size;
                        items.push(node);
                    }
                    Some(Frame::Map { entries, key, size, .. }) => {
                        *size += node.size;
                        match key.take() {
                            None => {
                                if !matches!(node.kind, NodeKind::Scalar(_)) {
                                    return Err(Diagnostic::new(
                                        node.span,
                                        "",
                                        format!("a mapping key must be a plain name, found {}", node.describe()),
                                    ));
                                }
                                *key = Some(node);
                            }
                            Some(k) => {
                                if let Some(dup) = duplicate_of(entries, &k) {
                                    self.diagnostics.push(
                                        Diagnostic::new(
                                            k.span,
                                            "",
                                            format!(
                                                "duplicate key \"{}\" (first defined on line {})",
                                                scalar_text(&k),
                                                dup.line
                                            ),
                                        )
                                        .with_help("remove one of them; YAML does not say which one wins"),
                                    );
                                } else {
                                    entries.push((k, node));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn count(&mut self, nodes: usize, mark: &Marker) -> Result<(), Diagnostic> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::new(
                span_at(mark, 1),
                "",
                format!("the document expands to more than {MAX_NODES} values (aliases that multiply, a \"billion laughs\" document?)"),
            )
            .with_help("write the values out instead of repeating aliases"));
        }
        Ok(())
    }
}

/// YAML allows no C0 control characters but tab, LF and CR. The parser would stop
/// reading at a NUL and silently ignore the rest, so they are refused up front.
fn forbidden_character(text: &str) -> Option<Diagnostic> {
    let (line_no, col, c) = text.split('\n').enumerate().find_map(|(i, line)| {
        line.chars()
            .enumerate()
            .find(|(_, c)| (c.is_control() && !matches!(c, '\t' | '\r')) || *c == '\u{fffe}' || *c == '\u{ffff}')
            .map(|(col, c)| (i + 1, col + 1, c))
    })?;
    Some(
        Diagnostic::new(
            Span { line: line_no, col, len: 1 },
            "",
            format!("the file contains the control character U+{:04X}, which YAML does not allow", c as u32),
        )
        .with_help("remove it; to put special characters in the prompt, use a double-quoted string with escapes"),
    )
}

fn scalar_text(node: &Node) -> &str {
    match &node.kind {
        NodeKind::Scalar(s) => &s.value,
        _ => "",
    }
}

fn duplicate_of<'a>(entries: &'a [(Node, Node)], key: &Node) -> Option<&'a Span> {
    entries.iter().find(|(k, _)| scalar_text(k) == scalar_text(key)).map(|(k, _)| &k.span)
}

fn is_str_tag(tag: Option<&Tag>) -> bool {
    tag.is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str")
}

/// Only the core schema's own tags are understood; anything else (`!!python/object`,
/// custom tags) is refused rather than silently treated as a string.
fn check_tag(tag: Option<&Tag>, mark: &Marker) -> Result<(), Diagnostic> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "tag:yaml.org,2002:" && matches!(t.suffix.as_str(), "str" | "map" | "seq") => Ok(()),
        Some(t) => {
            Err(Diagnostic::new(span_at(mark, 1), "", format!("unsupported YAML tag \"{}{}\"", t.handle, t.suffix))
                .with_help("remove the tag; Change files use plain strings, lists and mappings"))
        }
    }
}

fn syntax_error(mark: &Marker, info: &str) -> Diagnostic {
    if info.contains("recursion limit") {
        return Diagnostic::new(
            span_at(mark, 1),
            "",
            format!("nesting is deeper than {MAX_DEPTH} levels; a Change file is only a few levels deep"),
        );
    }
    let diagnostic = Diagnostic::new(span_at(mark, 1), "", format!("invalid YAML: {info}"));
    if info.contains("tab") {
        diagnostic.with_help("YAML does not allow tabs for indentation; indent with spaces")
    } else {
        diagnostic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let loaded = load(text);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.root.unwrap()
    }

    #[test]
    fn spans_are_one_based() {
        let node = root("a: 1\nbb:\n  - xyz\n");
        let NodeKind::Map(entries) = node.kind else { panic!() };
        let NodeKind::Seq(items) = &entries[1].1.kind else { panic!() };
        assert_eq!(entries[1].0.span, Span { line: 2, col: 1, len: 2 });
        assert_eq!(items[0].span, Span { line: 3, col: 5, len: 3 });
    }

    #[test]
    fn resolves_plain_scalars_like_yaml_1_2() {
        let cases = [
            ("", ScalarType::Null),
            ("~", ScalarType::Null),
            ("true", ScalarType::Bool),
            ("yes", ScalarType::Str),
            ("12", ScalarType::Int),
            ("-3", ScalarType::Int),
            ("0x1f", ScalarType::Int),
            ("1.5", ScalarType::Float),
            ("1e3", ScalarType::Float),
            (".inf", ScalarType::Float),
            ("main", ScalarType::Str),
            ("1.2.3", ScalarType::Str),
            ("e3", ScalarType::Str),
        ];
        for (value, expected) in cases {
            let s = Scalar { value: value.into(), plain: true };
            assert_eq!(s.resolve(), expected, "{value:?}");
        }
        assert_eq!(Scalar { value: "12".into(), plain: false }.resolve(), ScalarType::Str);
    }

    #[test]
    fn aliases_expand_within_budget() {
        let node = root("a: &x [1, 2]\nb: *x\n");
        let NodeKind::Map(entries) = node.kind else { panic!() };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn duplicate_keys_are_all_reported() {
        let loaded = load("a: 1\na: 2\nb: 1\nb: 2\n");
        let messages: Vec<_> = loaded.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert_eq!(
            messages,
            ["duplicate key \"a\" (first defined on line 1)", "duplicate key \"b\" (first defined on line 3)"]
        );
    }
}

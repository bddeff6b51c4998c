//! The dependency direction CONTRIBUTING.md states, checked: no module imports a sibling
//! that imports it back (directly or round a loop), and nothing below `commands`
//! imports `commands` (the command line's glue sits on top of the library, never under
//! it). Read from the source text of each crate of the workspace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod support;

use support::repo_root;

type Module = Vec<String>;

/// Each module of a crate (its path from the crate root) and the modules its code
/// names through `crate::` and `super::`, tests left out.
fn modules(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            match module.last().map(String::as_str) {
                Some("main") => continue,
                Some("lib" | "mod") => {
                    module.pop();
                }
                _ => {}
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let code: String =
                code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            found.insert(module.clone(), references(&code, &module));
        }
    }
    found
}

fn references(code: &str, module: &Module) -> BTreeSet<Module> {
    let mut out = BTreeSet::new();
    for (start, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        // `bca_runner::run::...` is another crate; `self.crate` is nothing.
        if code[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base: Module = Vec::new();
        let mut rest = &code[start..];
        if let Some(r) = rest.strip_prefix("crate::") {
            rest = r;
        } else {
            // `a/b.rs` is `a::b`, `a/mod.rs` is `a`: either way `super` is one up.
            base = module.clone();
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
        }
        let items: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
            None => vec![rest],
        };
        for item in items {
            let mut target = base.clone();
            for segment in item.trim().split("::") {
                let ident: String = segment.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if ident.is_empty() || ident.starts_with(char::is_uppercase) || ident == "self" {
                    break;
                }
                target.push(ident);
            }
            out.insert(target);
        }
    }
    out
}

/// The edges between siblings: for `a::b` naming `a::c::d`, `b → c` under `a`.
fn sibling_edges(modules: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeMap<Module, BTreeSet<(String, String)>> {
    let mut edges: BTreeMap<Module, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, targets) in modules {
        for target in targets {
            // The longest known module the path names (the rest is an item in it).
            let Some(to) = (0..=target.len()).rev().map(|n| &target[..n]).find(|m| modules.contains_key(*m)) else {
                continue;
            };
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // a module and its own ancestor or descendant
            }
            edges.entry(from[..common].to_vec()).or_default().insert((from[common].clone(), to[common].clone()));
        }
    }
    edges
}

fn cycles(edges: &BTreeMap<Module, BTreeSet<(String, String)>>) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, pairs) in edges {
        let graph: BTreeMap<&str, Vec<&str>> = pairs.iter().fold(BTreeMap::new(), |mut g, (a, b)| {
            g.entry(a.as_str()).or_insert_with(Vec::new).push(b.as_str());
            g
        });
        for start in graph.keys() {
            // Paths from `start` back to itself.
            let mut stack = vec![vec![*start]];
            while let Some(path) = stack.pop() {
                for next in graph.get(path.last().unwrap()).into_iter().flatten() {
                    if *next == *start {
                        let mut shown = path.clone();
                        shown.push(next);
                        let prefix = if parent.is_empty() { String::new() } else { format!("{}::", parent.join("::")) };
                        found.push(format!("{prefix}{{{}}}", shown.join(" → ")));
                    } else if !path.contains(next) && *next > *start {
                        let mut longer = path.clone();
                        longer.push(next);
                        stack.push(longer);
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_sibling_that_imports_it_back() {
    for krate in ["src", "runner/src", "codehost/src"] {
        let modules = modules(&repo_root().join(krate));
        assert!(modules.len() > 5, "{krate}: read {} modules", modules.len());
        let found = cycles(&sibling_edges(&modules));
        assert_eq!(found, Vec::<String>::new(), "{krate}: import cycles");
    }
}

#[test]
fn nothing_below_commands_imports_commands() {
    let modules = modules(&repo_root().join("src"));
    let upward: Vec<String> = modules
        .iter()
        .filter(|(m, _)| m.first().map(String::as_str) != Some("commands"))
        .filter(|(_, targets)| targets.iter().any(|t| t.first().map(String::as_str) == Some("commands")))
        .map(|(m, _)| m.join("::"))
        .collect();
    assert_eq!(upward, Vec::<String>::new(), "modules below commands that import it");
}

#[test]
fn the_checks_can_fail() {
    let module = |s: &str| s.split("::").map(str::to_string).collect::<Module>();
    let mut modules = BTreeMap::new();
    modules.insert(module("a"), BTreeSet::from([module("b::f")]));
    modules.insert(module("b"), BTreeSet::from([module("c")]));
    modules.insert(module("c"), BTreeSet::from([module("a")]));
    modules.insert(module("d::x"), BTreeSet::from([module("d::y")]));
    modules.insert(module("d::y"), BTreeSet::new());
    modules.insert(module("d"), BTreeSet::new());
    assert_eq!(cycles(&sibling_edges(&modules)), ["{a → b → c → a}"]);
    let refs = references("use super::{x::Y, z};\nuse crate::render::job::JobInput;", &module("p::q"));
    assert_eq!(refs, BTreeSet::from([module("p::x"), module("p::z"), module("render::job")]));
}

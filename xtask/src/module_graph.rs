//! The lint that each host crate's modules import one way: no top-level module of a crate
//! reaches (through `crate::` paths, or `super::` in its own file) a module that reaches
//! it back. Cargo keeps the crates acyclic; this keeps the modules inside them so.
//!
//! A hand-written scan rather than a Rust parser: the paths are read from the text, comments
//! dropped, which is all the question needs (a false edge can only make it stricter).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Every host crate's module cycles; an error naming them when there is one.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let host = root.join("host");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&host)
        .with_context(|| format!("reading {}", host.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("src")))
        .filter(|src| src.is_dir())
        .collect();
    crates.sort();
    for src in crates {
        let graph = graph(&src)?;
        for cycle in cycles(&graph) {
            let edges: Vec<String> = cycle
                .iter()
                .map(|module| {
                    let inside: Vec<&str> = graph[module]
                        .iter()
                        .filter(|to| cycle.contains(*to))
                        .map(String::as_str)
                        .collect();
                    format!("{module} -> {}", inside.join(", "))
                })
                .collect();
            found.push(format!("{}: {}", src.display(), edges.join("; ")));
        }
    }
    if found.is_empty() {
        println!("module imports run one way in every host crate");
        Ok(())
    } else {
        bail!("modules import each other:\n  {}", found.join("\n  "))
    }
}

/// The top-level modules of the crate at `src` and the ones each imports.
fn graph(src: &Path) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut files: BTreeMap<String, Vec<(PathBuf, bool)>> = BTreeMap::new();
    for path in rust_files(src)? {
        let relative = path.strip_prefix(src).expect("under src");
        let mut parts = relative.components();
        let first = parts.next().expect("a file").as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        // The module's own file (`x.rs` or `x/mod.rs`), where `super::` names a sibling.
        let own = parts.next().is_none() || relative.ends_with(format!("{module}/mod.rs"));
        files.entry(module).or_default().push((path, own));
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, paths) in &files {
        let mut imports = BTreeSet::new();
        for (path, own) in paths {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let code: String = text
                .lines()
                .map(|line| line.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            let mut named = paths_after(&code, "crate::");
            if *own {
                named.extend(paths_after(&code, "super::"));
            }
            imports.extend(
                named
                    .into_iter()
                    .filter(|name| name != module && modules.contains(name)),
            );
        }
        graph.insert(module.clone(), imports);
    }
    Ok(graph)
}

/// The first segment of every path after `prefix`, groups (`prefix{a, b::c}`) included.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (index, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        names.push(identifier(&group[index..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(identifier(rest));
        }
    }
    names
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    Ok(found)
}

/// The strongly connected components of more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let next = self.index.len();
            self.index.insert(node, next);
            self.low.insert(node, next);
            self.stack.push(node);
            for to in &self.graph[node] {
                let to = to.as_str();
                if !self.index.contains_key(to) {
                    self.visit(to);
                    let low = self.low[node].min(self.low[to]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&to) {
                    let low = self.low[node].min(self.index[to]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    component.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_alone_and_in_groups() {
        let code = "use crate::{a, b::{c, d}, e};\nuse crate::f::g;\nsuper::h();";
        assert_eq!(paths_after(code, "crate::"), ["a", "b", "e", "f"]);
        assert_eq!(paths_after(code, "super::"), ["h"]);
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let edges = |pairs: &[(&str, &str)]| {
            let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (from, to) in pairs {
                graph
                    .entry((*from).into())
                    .or_default()
                    .insert((*to).into());
                graph.entry((*to).into()).or_default();
            }
            graph
        };
        assert!(cycles(&edges(&[("a", "b"), ("b", "c")])).is_empty());
        assert_eq!(
            cycles(&edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
            [["a", "b", "c"]]
        );
    }
}

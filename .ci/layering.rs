//! The layering check (issue 15, item 3): lists each top-level module of runtime/ with the
//! top-level modules it imports (`crate::x` paths), and fails if
//! - a lower layer (task, time, io, remote) imports a module that imports it back, or
//! - an import cycle among top-level modules (a strongly connected component) has more than
//!   three modules.
//! Built and run by .ci/layering with plain `rustc` (no dependencies). Doc comments and
//! `//` comments are skipped, so intra-doc links do not count as imports. A path through one
//! of lib.rs's root re-exports (`crate::Loop`, `crate::{sleep, Task}`) counts as an import of
//! the module the item comes from (`pub use event_loop::Loop` in lib.rs: event_loop).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LOWER: [&str; 4] = ["task", "time", "io", "remote"];
const MAX_CYCLE: usize = 3;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable runtime/ directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under runtime/ belongs to (`None` for lib.rs).
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    if first == "lib.rs" {
        return None;
    }
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The top-level modules `source` names through `crate::`, comments skipped. Paths inside a
/// braced `use crate::{a, b::c}` count too.
fn imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a::x, b}`: the group may span lines; take what this line holds.
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// The items lib.rs re-exports at the root, each with the top-level module it comes from:
/// `pub use event_loop::{Builder, Loop};` gives Builder -> event_loop, Loop -> event_loop
/// (an `as` alias gives the alias).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let code: String = lib
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = BTreeMap::new();
    for statement in code.split(';') {
        let Some(at) = statement.find("pub use ") else { continue };
        let path = statement[at + "pub use ".len()..].trim();
        let Some((module, rest)) = path.split_once("::") else { continue };
        let module = module.trim().to_owned();
        for item in rest.split(|c| c == '{' || c == '}' || c == ',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => item.rsplit("::").next().unwrap_or(item).trim(),
            };
            if !name.is_empty() && name != "self" && name != "*" {
                out.insert(name.to_owned(), module.clone());
            }
        }
    }
    out
}

/// Tarjan's strongly connected components.
fn components(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().expect("v is on the stack");
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            component.sort();
            s.out.push(component);
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "runtime".into()));
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&root, file) else { continue };
        let source = fs::read_to_string(file).expect("readable source file");
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(imports(&source).into_iter().filter(|dep| *dep != module));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    let lib = fs::read_to_string(root.join("lib.rs")).unwrap_or_default();
    let reexports = root_reexports(&lib);
    for (module, deps) in graph.iter_mut() {
        let resolved: BTreeSet<String> = deps
            .iter()
            .filter_map(|dep| {
                if modules.contains(dep) {
                    Some(dep.clone())
                } else {
                    reexports.get(dep).cloned()
                }
            })
            .filter(|dep| dep != module)
            .collect();
        *deps = resolved;
    }

    println!("top-level modules and their crate:: imports:");
    for (module, deps) in &graph {
        let list: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("  {module:<12} -> {}", list.join(" "));
    }

    let mut failed = false;
    for component in components(&graph) {
        if component.len() < 2 {
            continue;
        }
        println!("cycle ({} modules): {}", component.len(), component.join(" "));
        if component.len() > MAX_CYCLE {
            println!("  FAIL: more than {MAX_CYCLE} modules import each other");
            failed = true;
        }
        for lower in LOWER {
            if component.iter().any(|m| m == lower) {
                println!("  FAIL: the lower layer `{lower}` imports a module that imports it back");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
    println!("layering: ok");
}

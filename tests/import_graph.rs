//! The core's modules import each other without a loop: a change to a lower module cannot need
//! one above it. Reads every `crate::…` path in `src-tauri/**/*.rs` (code only: comments and
//! string literals are skipped) and builds the graph between top-level modules. The adapters
//! (`cli`, `http`, `desktop`) and the service layer sit on top and may import anything; a core
//! module may import none of them, nor be part of a cycle. A submodule counts as its top-level
//! module (`targets::api` is `targets`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules above the core: they may import it; it may not import them.
const ABOVE_THE_CORE: [&str; 4] = ["cli", "http", "desktop", "service"];
/// The crate's roots, which declare the modules and re-export from them.
const ROOTS: [&str; 2] = ["lib", "main"];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn the_core_modules_import_each_other_without_a_cycle() {
    let graph = core_graph();
    assert!(
        graph.len() > 10,
        "the graph looks empty (was the source found?): {graph:?}"
    );
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles between core modules:\n{}",
        cycles
            .iter()
            .map(|c| format!("  {}", c.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_core_module_imports_an_adapter_or_the_service_layer() {
    let root = source_root();
    let mut offending = Vec::new();
    for (file, module, target) in imports(&root) {
        if !is_core(&module) {
            continue;
        }
        if ABOVE_THE_CORE.contains(&target.as_str()) {
            offending.push(format!("{file} ({module}) uses crate::{target}"));
        }
    }
    assert!(offending.is_empty(), "{}", offending.join("\n"));
}

#[test]
fn the_cycle_finder_names_a_cycle_in_a_small_graph() {
    let graph = graph_of(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
        ("f", "a"),
    ]);
    let found = cycles(&graph);
    assert_eq!(
        found,
        vec![
            vec!["a".to_string(), "b".into(), "c".into(), "a".into()],
            vec!["d".to_string(), "e".into(), "d".into()],
        ]
    );
    let acyclic = graph_of(&[("a", "b"), ("b", "c"), ("a", "c"), ("d", "a")]);
    assert!(cycles(&acyclic).is_empty());
    // A module importing itself (a submodule using its parent) is no cycle.
    assert!(cycles(&graph_of(&[("a", "a")])).is_empty());
}

#[test]
fn the_path_reader_finds_crate_paths_in_code_only() {
    let src = r##"
        use crate::store::{Store, StoreError};
        use crate::{ids::HandoffId, masking, self};
        use crate::{
            audit::{self, NewAuditEvent},
            fields::FieldType,
        };
        // use crate::commented::Out;
        /// See [`crate::doc_link`].
        /* crate::block_comment */
        let s = "crate::in_a_string";
        let r = r#"crate::in_a_raw_string"#;
        let c = '"'; let l: &'static str = "x";
        fn f<'a>(x: &'a str) -> crate::targets::Delivery { crate::retry::next_step() }
    "##;
    let found: BTreeSet<String> = crate_paths(src).into_iter().collect();
    let expected: BTreeSet<String> = [
        "store", "ids", "masking", "audit", "fields", "targets", "retry",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
}

fn graph_of(edges: &[(&str, &str)]) -> Graph {
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string());
        graph.entry(to.to_string()).or_default();
    }
    graph
}

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri")
}

fn is_core(module: &str) -> bool {
    !ABOVE_THE_CORE.contains(&module) && !ROOTS.contains(&module)
}

/// The graph between core modules (every core module is a node, with or without edges).
fn core_graph() -> Graph {
    let root = source_root();
    let mut graph = Graph::new();
    for (_, module, target) in imports(&root) {
        if !is_core(&module) {
            continue;
        }
        let edges = graph.entry(module.clone()).or_default();
        if is_core(&target) && target != module {
            edges.insert(target);
        }
    }
    graph
}

/// Every `(file, its top-level module, the top-level module it names)` in the crate. Names
/// the crate root re-exports (`crate::App`) count as the module they come from.
fn imports(root: &Path) -> Vec<(String, String, String)> {
    let reexports = root_reexports(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap();
        let first = relative.components().next().unwrap();
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for name in crate_paths(&text) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            out.push((relative.display().to_string(), module.clone(), target));
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// `pub use module::{A, B};` / `pub use module::A;` in lib.rs: `A` → `module`.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                map.insert(name.to_string(), module.to_string());
            }
        }
    }
    map
}

/// The first segment after `crate::` of every path in `src`'s code, groups (`crate::{a, b::c}`)
/// included.
fn crate_paths(src: &str) -> Vec<String> {
    let code = code_only(src);
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(found) = code[at..].find("crate::") {
        let start = at + found;
        at = start + "crate::".len();
        let preceded_by_ident = start > 0 && {
            let c = bytes[start - 1];
            c.is_ascii_alphanumeric() || c == b'_'
        };
        if preceded_by_ident {
            continue;
        }
        let rest = code[at..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = group.len();
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            for item in split_top_level(&group[..end]) {
                out.extend(first_segment(item));
            }
        } else {
            out.extend(first_segment(rest));
        }
    }
    out
}

/// `items` split at the commas outside braces.
fn split_top_level(items: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (i, c) in items.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&items[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&items[from..]);
    parts
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// `src` with comments and the contents of string and character literals blanked out.
fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or else a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every cycle, one per strongly connected component of more than one module, as a path that
/// starts and ends at the component's first module (in name order).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let components = strongly_connected(graph);
    let mut found = Vec::new();
    for component in components.into_iter().filter(|c| c.len() > 1) {
        let start = component.iter().next().unwrap().clone();
        found.push(cycle_through(graph, &component, &start));
    }
    found.sort();
    found
}

/// Tarjan's algorithm, iterating over the graph in name order.
fn strongly_connected(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g Graph,
        next: usize,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
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
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut state = State {
        graph,
        next: 0,
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

/// A shortest path from `start` back to itself inside `component` (breadth first).
fn cycle_through(graph: &Graph, component: &BTreeSet<String>, start: &str) -> Vec<String> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flatten() {
            if !component.contains(w) {
                continue;
            }
            if w == start {
                // Back from `v` to `start`, then in order, then home.
                let mut path = vec![v.to_string()];
                let mut at = v;
                while at != start {
                    at = came_from[at];
                    path.push(at.to_string());
                }
                path.reverse();
                path.push(start.to_string());
                return path;
            }
            if !came_from.contains_key(w.as_str()) && w != start {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each of its modules")
}

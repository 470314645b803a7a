//! The layer test: data flows one way, from the API down to the transport.
//!
//! Every `.rs` file under `src/` belongs to the layer of its top-level
//! module (`src/api/x.rs` -> `api`, `src/model.rs` -> `model`; `main.rs` is
//! above `cli`; `lib.rs` only declares the layers). Its code may name
//! (`use crate::x`, `crate::x::` anywhere, `super::`/`self::` paths that
//! leave the file) only its own layer or a layer below it, in [`LAYERS`].
//! Comments, doc comments, string literals and test code are not looked at:
//! files named `tests.rs` or `*_tests.rs`, files under a `tests/` folder,
//! modules declared `#[cfg(test)] mod x;`, and any `#[cfg(test)]` item
//! (inline `mod tests { ... }`).
//!
//! Within one folder, sibling modules (a file, or a sub-folder taken as a
//! whole) must not use each other in a cycle (`a` uses `b` and `b` uses
//! `a`, through `crate::` or `super::` paths). The folder's own root file
//! (`mod.rs`, or `x.rs` beside `x/`) is not a sibling: it declares them.
//!
//! Failures name the file, the line and both layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom: a module may import only from its own layer
/// or one below it. Written once, here.
const LAYERS: &[&str] = &[
    "main",
    "cli",
    "api",
    "app",
    "auth",
    "policy",
    "validate",
    "peeringdb",
    "outbound",
    "worker",
    "render",
    "driver",
    "platform",
    "transport",
    "irr",
    "store",
    "wire",
    "config",
    "inventory",
    "metrics",
    "model",
];

/// Layers that must not import each other although the order alone would
/// allow it (the first is above the second).
const APART: &[(&str, &str)] = &[("render", "driver")];

fn layer_index(l: &str) -> Option<usize> {
    LAYERS.iter().position(|x| *x == l)
}

/// One source file.
struct File {
    /// Relative to the repository root, e.g. `src/api/admin.rs`.
    rel: String,
    /// Module path, e.g. `["api", "admin"]`; `main.rs` is `["main"]`.
    module: Vec<String>,
    code: String,
}

/// A path named in code, resolved to an absolute module path.
struct Use {
    line: usize,
    path: Vec<String>,
}

#[test]
fn layers_are_respected_and_folders_have_no_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = read_sources(&root.join("src"));
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .flat_map(|f| (1..=f.module.len()).map(|n| f.module[..n].to_vec()))
        .collect();

    let mut problems = Vec::new();
    // (parent module) -> edges between its children
    let mut edges: BTreeMap<Vec<String>, BTreeMap<String, BTreeMap<String, String>>> =
        BTreeMap::new();
    for f in &files {
        let own = f.module[0].as_str();
        let Some(own_i) = layer_index(own) else {
            problems.push(format!(
                "{}: module `{own}` is not in the layer list of tests/it/layers.rs",
                f.rel
            ));
            continue;
        };
        for u in uses(f) {
            let Some(top) = u.path.first() else { continue };
            let Some(top_i) = layer_index(top) else {
                problems.push(format!(
                    "{}:{}: names `crate::{}`, which is not a layer of tests/it/layers.rs",
                    f.rel,
                    u.line,
                    u.path.join("::")
                ));
                continue;
            };
            let upward = top_i < own_i;
            let apart = APART.iter().any(|(a, b)| a == &own && b == top);
            if upward || apart {
                let msg = format!(
                    "{}:{}: layer `{own}` imports from layer `{top}`, which is {}",
                    f.rel,
                    u.line,
                    if upward {
                        "above it"
                    } else {
                        "a layer it must stay apart from"
                    }
                );
                if !problems.contains(&msg) {
                    problems.push(msg);
                }
            }
            // A sibling edge: where the two paths part, both are modules.
            let common = f
                .module
                .iter()
                .zip(&u.path)
                .take_while(|(a, b)| a == b)
                .count();
            if common < f.module.len() && common < u.path.len() {
                let target = u.path[..=common].to_vec();
                if modules.contains(&target) {
                    edges
                        .entry(f.module[..common].to_vec())
                        .or_default()
                        .entry(f.module[common].clone())
                        .or_default()
                        .entry(u.path[common].clone())
                        .or_insert_with(|| format!("{}:{}", f.rel, u.line));
                }
            }
        }
    }
    for (parent, graph) in &edges {
        let parent_name = if parent.is_empty() {
            "crate".to_string()
        } else {
            parent.join("::")
        };
        for cycle in cycles(graph) {
            // every use inside the cycle, with where it is first seen
            let steps: Vec<String> = cycle
                .iter()
                .flat_map(|a| {
                    graph
                        .get(a)
                        .into_iter()
                        .flatten()
                        .filter(|(b, _)| cycle.contains(b))
                        .map(move |(b, at)| format!("{a} -> {b} ({at})"))
                })
                .collect();
            problems.push(format!(
                "a cycle between the modules {cycle:?} of `{parent_name}`: {}",
                steps.join(", ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the layer order is broken ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every source file under `src/` except test code and `lib.rs`.
fn read_sources(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    for p in &paths {
        let rel = p.strip_prefix(src).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let name = parts.last().unwrap().as_str();
        if (name == "lib.rs" && parts.len() == 1)
            || name == "tests.rs"
            || name.ends_with("_tests.rs")
            || parts[..parts.len() - 1].iter().any(|d| d == "tests")
        {
            continue;
        }
        let mut module: Vec<String> = parts.clone();
        let last = module.pop().unwrap();
        if last != "mod.rs" {
            module.push(last.trim_end_matches(".rs").to_string());
        }
        let text = std::fs::read_to_string(p).unwrap();
        files.push(File {
            rel: format!("src/{}", parts.join("/")),
            module,
            code: without_test_items(&clean(&text)),
        });
    }
    // modules declared `#[cfg(test)] mod x;` are test code too
    let test_mods: BTreeSet<Vec<String>> = paths
        .iter()
        .flat_map(|p| {
            let text = clean(&std::fs::read_to_string(p).unwrap());
            let rel = p.strip_prefix(src).unwrap();
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = module.pop().unwrap();
            if last != "mod.rs" && last != "lib.rs" {
                module.push(last.trim_end_matches(".rs").to_string());
            }
            test_modules(&text)
                .into_iter()
                .map(move |m| {
                    let mut v = module.clone();
                    v.push(m);
                    v
                })
                .collect::<Vec<_>>()
        })
        .collect();
    files.retain(|f| !test_mods.iter().any(|t| f.module.starts_with(t)));
    files
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code with comments blanked and string and char literals emptied;
/// line breaks stay where they were.
fn clean(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let n = c.len();
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < n {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '/' && next == Some('/') {
            while i < n && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < n {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            continue;
        }
        let after_ident = i > 0 && ident(c[i - 1]);
        // raw strings: r"..", r#".."#, br".."
        if !after_ident && (ch == 'r' || (ch == 'b' && next == Some('r'))) {
            let mut j = i + if ch == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while j < n && c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if j < n && c[j] == '"' {
                out.push('"');
                j += 1;
                while j < n {
                    if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    out.push(blank(c[j]));
                    j += 1;
                }
                out.push('"');
                i = j;
                continue;
            }
        }
        if ch == '"' {
            out.push('"');
            i += 1;
            while i < n && c[i] != '"' {
                if c[i] == '\\' && i + 1 < n {
                    out.push(' ');
                    out.push(blank(c[i + 1]));
                    i += 2;
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
            continue;
        }
        if ch == '\'' {
            // a char literal ('x', '\n', '\u{..}'); otherwise a lifetime
            let end = if next == Some('\\') {
                (i + 3..n).find(|&j| c[j] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            if let Some(end) = end {
                out.push_str("' '");
                for _ in i + 3..=end {
                    out.push(' ');
                }
                i = end + 1;
                continue;
            }
        }
        out.push(ch);
        i += 1;
    }
    out
}

/// The `#[cfg(test)]` items blanked out (a module, function, `use`, ...).
fn without_test_items(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + pat.len() <= c.len() {
        if c[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + pat.len();
        // the item ends at its `;` or at the brace closing its first `{`
        let mut depth = 0usize;
        while j < c.len() {
            match c[j] {
                ';' if depth == 0 => break,
                '{' => depth += 1,
                '}' if depth <= 1 => break,
                '}' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(c.len());
        for ch in &mut c[start..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = j + 1;
    }
    c.into_iter().collect()
}

/// Names of modules declared `#[cfg(test)] mod x;` (in another file).
fn test_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(k) = rest.find("#[cfg(test)]") {
        rest = &rest[k + "#[cfg(test)]".len()..];
        let item: String = rest
            .chars()
            .take_while(|c| *c != ';' && *c != '{')
            .collect();
        let words: Vec<&str> = item.split_whitespace().collect();
        if rest[item.len()..].starts_with(';') {
            if let Some(p) = words.iter().position(|w| *w == "mod") {
                if let Some(name) = words.get(p + 1) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every `crate::`, `super::` and `self::` path in the file's code (and
/// `peerd::` in `main.rs`), resolved against the file's module.
fn uses(f: &File) -> Vec<Use> {
    let c: Vec<char> = f.code.chars().collect();
    let mut heads = vec!["crate", "super", "self"];
    if f.module == ["main"] {
        heads.push("peerd");
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let Some(head) = heads.iter().find(|h| starts_with(&c, i, h)) else {
            i += 1;
            continue;
        };
        // not the inner part of a path (`super::super`), nor `$crate`
        let before = (0..i).rev().find(|&k| !c[k].is_whitespace());
        let inner = before.is_some_and(|k| k > 0 && c[k] == ':' && c[k - 1] == ':');
        let glued = i > 0 && (is_ident(c[i - 1]) || c[i - 1] == '$');
        let after = skip_ws(&c, i + head.len());
        if glued || inner || !starts_with(&c, after, "::") {
            i += head.len();
            continue;
        }
        let line = c[..i].iter().filter(|ch| **ch == '\n').count() + 1;
        let (paths, end) = parse_tree(&c, i);
        for p in paths {
            if let Some(path) = resolve(&f.module, &p) {
                out.push(Use { line, path });
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// `s` is at `i` (an identifier `s` must end there, too).
fn starts_with(c: &[char], i: usize, s: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let here = c.len() >= i + s.len() && c[i..i + s.len()] == s[..];
    let word = s.iter().all(|ch| is_ident(*ch));
    here && (!word || c.get(i + s.len()).is_none_or(|ch| !is_ident(*ch)))
}

fn skip_ws(c: &[char], mut i: usize) -> usize {
    while i < c.len() && c[i].is_whitespace() {
        i += 1;
    }
    i
}

/// A path or a `use` tree from `i`: `a::b::c`, `a::{b, c::{d, self}}`,
/// `a::*`. Returns each leaf path and where the tree ends.
fn parse_tree(c: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix: Vec<String> = Vec::new();
    loop {
        i = skip_ws(c, i);
        if i < c.len() && c[i] == '{' {
            let mut out = Vec::new();
            i += 1;
            loop {
                i = skip_ws(c, i);
                if i >= c.len() || c[i] == '}' {
                    break;
                }
                let (subs, end) = parse_tree(c, i);
                for s in subs {
                    let mut p = prefix.clone();
                    p.extend(s);
                    out.push(p);
                }
                i = end;
                // skip `as alias` and the like, up to `,` or `}`
                while i < c.len() && c[i] != ',' && c[i] != '}' {
                    i += 1;
                }
                if i < c.len() && c[i] == ',' {
                    i += 1;
                }
            }
            return (out, i + 1);
        }
        let start = i;
        while i < c.len() && is_ident(c[i]) {
            i += 1;
        }
        if start == i {
            return (vec![prefix], i);
        }
        prefix.push(c[start..i].iter().collect());
        let j = skip_ws(c, i);
        if starts_with(c, j, "::") {
            i = j + 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// `crate::a::b`, `super::a`, `self::a` (and `peerd::a` from `main.rs`) as
/// an absolute module path; `None` for anything else.
fn resolve(module: &[String], p: &[String]) -> Option<Vec<String>> {
    let mut p: Vec<String> = p.to_vec();
    while p.len() > 1 && p.last().is_some_and(|s| s == "self") {
        p.pop();
    }
    let head = p.first()?.as_str();
    let (mut base, rest): (Vec<String>, &[String]) = match head {
        "crate" | "peerd" => (vec![], &p[1..]),
        "self" => (module.to_vec(), &p[1..]),
        "super" => {
            let ups = p.iter().take_while(|s| *s == "super").count();
            if ups > module.len() {
                return None;
            }
            (module[..module.len() - ups].to_vec(), &p[ups..])
        }
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The cycles of a directed graph, each as its sorted set of nodes (one
/// per strongly connected component of more than one node, or a node
/// that uses itself).
fn cycles(g: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = g.keys().chain(g.values().flat_map(|m| m.keys())).collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for m in g.get(&n).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for n in &nodes {
        if !reached[n].contains(*n) {
            continue;
        }
        let scc: Vec<String> = nodes
            .iter()
            .filter(|m| reached[n].contains(**m) && reached[*m].contains(*n))
            .map(|m| m.to_string())
            .collect();
        if !out.contains(&scc) {
            out.push(scc);
        }
    }
    out
}

#[test]
fn the_reader_sees_code_only() {
    let code = clean(
        "use crate::a; // crate::b\n/* crate::c */ let s = \"crate::d\"; let c = '\"'; let r = r#\"crate::e\"#;\nfn f<'a>(x: &'a str) { crate::f::g(); }\n",
    );
    let f = File {
        rel: "src/x/y.rs".into(),
        module: vec!["x".into(), "y".into()],
        code: without_test_items(&code),
    };
    let got: Vec<String> = uses(&f).iter().map(|u| u.path.join("::")).collect();
    assert_eq!(got, ["a", "f::g"]);
    let f = File {
        code: without_test_items(&clean(
            "use super::{a::{b, self}, c as d};\nuse super::super::e::*;\n#[cfg(test)]\nmod tests { use crate::z; }\nfn h() { self::k(); }\n",
        )),
        ..f
    };
    let got: Vec<(usize, String)> = uses(&f)
        .iter()
        .map(|u| (u.line, u.path.join("::")))
        .collect();
    assert_eq!(
        got,
        [
            (1, "x::a::b".to_string()),
            (1, "x::a".to_string()),
            (1, "x::c".to_string()),
            (2, "e".to_string()),
            (5, "x::y::k".to_string()),
        ]
    );
    assert_eq!(
        test_modules("#[cfg(test)]\nmod tests;\n#[cfg(test)] mod t { }"),
        ["tests"]
    );
}

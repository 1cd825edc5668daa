//! The code's shape, checked: no source file over 500 lines, and no two modules that import each
//! other, directly or through others (docs/architecture.md says why). A module is a file; a
//! reference is any `crate::…` or `super::…` path in it, resolved to the file that defines it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 500;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let parts: Vec<&str> = match parts.last().map(String::as_str) {
        Some("mod" | "lib" | "main") => parts[..parts.len() - 1]
            .iter()
            .map(String::as_str)
            .collect(),
        _ => parts.iter().map(String::as_str).collect(),
    };
    parts.join("::")
}

/// The code of a file without comments, string literals and `#[cfg(test)]` modules (tests may
/// reach anywhere).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every `crate::a::b…` and `super::…` path in `code`, and in a `mod.rs` every use of a child
/// module it declares (`child::f()`), as absolute module paths (segments).
fn references(module: &str, is_mod_file: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if is_mod_file {
        let children: Vec<&str> = code
            .lines()
            .filter_map(|l| {
                let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
                l.strip_prefix("mod ")?.strip_suffix(';')
            })
            .collect();
        for child in children {
            let needle = format!("{child}::");
            for (at, _) in code.match_indices(&needle) {
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let mut segs: Vec<String> = module
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                segs.push(child.to_string());
                out.push(segs);
            }
        }
    }
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '{';
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let start_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == '_');
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let (prefix_len, base): (usize, Vec<String>) = if start_ok && rest.starts_with("crate::") {
            (7, Vec::new())
        } else if start_ok && rest.starts_with("super::") {
            let mut base: Vec<String> = module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            // `super` of `a::b` (file a/b.rs) is `a`; of `a` in a/mod.rs it is the crate
            if !is_mod_file || !base.is_empty() {
                base.pop();
            }
            (7, base)
        } else {
            i += 1;
            continue;
        };
        let mut j = i + prefix_len;
        let mut path = String::new();
        while j < bytes.len() && ident(bytes[j]) {
            if bytes[j] == '{' {
                break;
            }
            path.push(bytes[j]);
            j += 1;
        }
        let mut segs = base;
        segs.extend(
            path.split("::")
                .filter(|s| !s.is_empty() && *s != "self")
                .map(String::from),
        );
        out.push(segs);
        i = j.max(i + 1);
    }
    out
}

#[test]
fn files_are_small_and_modules_form_no_cycle() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut too_long = Vec::new();
    let mut modules: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let n = text.lines().count();
        if n > MAX_LINES {
            too_long.push(format!(
                "{} ({n} lines)",
                f.strip_prefix(&src).unwrap().display()
            ));
        }
        if f.file_name().is_some_and(|n| n == "main.rs") {
            continue;
        }
        modules.insert(module_of(&src, f), (f.clone(), code(&text)));
    }

    // edges: module → the longest known module prefix of each path it references
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (m, (file, code)) in &modules {
        let is_mod = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        for segs in references(m, is_mod, code) {
            let target = (1..=segs.len())
                .rev()
                .map(|k| segs[..k].join("::"))
                .find(|p| modules.contains_key(p));
            if let Some(t) = target
                && t != *m
                && !t.is_empty()
            {
                let key = modules.get_key_value(&t).unwrap().0.as_str();
                edges.entry(m.as_str()).or_default().insert(key);
            }
        }
    }
    // the same between top-level modules (folders): `report` may use what `execute` made, but
    // then `execute` must not use `report`
    let mut top: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (m, ts) in &edges {
        let a = m.split("::").next().unwrap();
        for t in ts {
            let b = t.split("::").next().unwrap();
            if a != b {
                top.entry(a).or_default().insert(b);
            }
        }
    }
    let shown = |edges: &BTreeMap<&str, BTreeSet<&str>>| -> Vec<String> {
        cycles(edges)
            .iter()
            .map(|c| {
                let detail: Vec<String> = c
                    .iter()
                    .map(|m| {
                        let to: Vec<&str> =
                            edges[m].iter().copied().filter(|t| c.contains(t)).collect();
                        format!("{m} → {}", to.join(", "))
                    })
                    .collect();
                format!("[{}]", detail.join("; "))
            })
            .collect()
    };
    let (files, folders) = (shown(&edges), shown(&top));
    assert!(
        too_long.is_empty() && files.is_empty() && folders.is_empty(),
        "files over {MAX_LINES} lines: {}\nmodules importing each other:\n{}\ntop-level modules importing each other:\n{}",
        too_long.join(", "),
        files.join("\n"),
        folders.join("\n")
    );
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
fn cycles<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        counter: usize,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        s.index.insert(v, s.counter);
        s.low.insert(v, s.counter);
        s.counter += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort_unstable();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        counter: 0,
        out: Vec::new(),
    };
    for &v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

#[test]
fn the_checker_finds_references() {
    let refs = references(
        "execute::run",
        false,
        "use crate::plan::jobs::{Job, Kind};\nuse super::lease::LeaseSettings;\nlet x = crate::report::log::Log::new();",
    );
    assert_eq!(
        refs,
        vec![
            vec!["plan", "jobs"],
            vec!["execute", "lease", "LeaseSettings"],
            vec!["report", "log", "Log", "new"],
        ]
    );
    assert_eq!(module_of(Path::new("/s"), Path::new("/s/a/mod.rs")), "a");
    assert_eq!(module_of(Path::new("/s"), Path::new("/s/a/b.rs")), "a::b");
}

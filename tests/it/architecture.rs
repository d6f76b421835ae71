//! The layering of each crate of the workspace, checked from the source text: every
//! `crate::`, `super::`, `self::` and child-module path a file names is an edge of the
//! module graph. The graph must have no cycle between files, and a folder (or top-level
//! file) may name only those below it in its crate's layers (`LAYERS` for the cptree
//! library, `BINARY_LAYERS` for rcp, `ENGINE_LAYERS` for copychain). Between crates Cargo
//! keeps the direction (rcp → cptree → copychain, never back), and a test here keeps the
//! library's and the engine's dependencies free of anything of a command line or a
//! terminal. A self-test feeds the checker a back-link, so it is known to fail when one is
//! added.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level units from the bottom up. A unit may name only units listed before it;
/// units on one line are peers and may not name each other.
const LAYERS: &[&[&str]] = &[
    &["sys"],
    &["quote"],
    &["error"],
    &["exclude"],
    &["options"],
    &["plan", "select"],
    &["report"],
    &["cp"],
    &["sched"],
    &["walk"],
    &["spread"],
    &["api"],
    &["crate"],
];

/// The rcp binary's modules (`src/`), from the bottom up: the command line and the terminal.
const BINARY_LAYERS: &[&[&str]] = &[
    &["argmatch", "totals", "console", "launcher", "transport"],
    &["cli"],
    &["man", "decide"],
    &["generate", "progress"],
    &["app"],
    &["crate"],
];

/// The engine crate's modules, from the bottom up.
const ENGINE_LAYERS: &[&[&str]] = &[
    &["types", "shared", "fs", "extents"],
    &["support", "chain", "ranges", "share"],
    &["worker"],
    &["filling"],
    &["pieces", "predict"],
    &["crate"],
];

/// One source file: its module path (`crate::cp::file`) and its text.
struct Source {
    module: String,
    text: String,
}

fn rank(layers: &[&[&str]], unit: &str) -> Option<usize> {
    layers.iter().position(|layer| layer.contains(&unit))
}

/// `crate::cp::file` → `cp`; `crate` → `crate`.
fn unit(module: &str) -> &str {
    module.split("::").nth(1).unwrap_or("crate")
}

/// The module a path under `src/` is: `lib.rs` is `crate`, `x/mod.rs` is `crate::x`.
fn module_of(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> =
        rel.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    if stem != "mod" && stem != "lib" && !(stem == "main" && parts.is_empty()) {
        parts.push(stem.to_string());
    }
    Some(std::iter::once("crate".to_string()).chain(parts).collect::<Vec<_>>().join("::"))
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<Source>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if let Some(module) = module_of(path.strip_prefix(root).expect("under src/")) {
            out.push(Source { module, text: std::fs::read_to_string(&path).expect("read") });
        }
    }
}

/// The text without comments, string literals and the `#[cfg(test)]` tail.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut code = String::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                code.push(c);
            }
            prev = c;
        }
        code.push('\n');
    }
    code
}

/// Child modules a file declares (`mod x;`), which it may name bare (`x::f`).
fn children(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path a piece of code names, brace groups expanded (`a::{b, c::d}` → `a::b`,
/// `a::c::d`), from each occurrence of one of `roots` followed by `::`.
fn paths(code: &str, roots: &[String]) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == ':');
        if starts_word && is_ident(bytes[i]) {
            let mut j = i;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            let word: String = bytes[i..j].iter().collect();
            if roots.contains(&word) && bytes.get(j) == Some(&':') && bytes.get(j + 1) == Some(&':')
            {
                let (tails, end) = path_tail(&bytes, j + 2);
                for tail in tails {
                    let mut path = vec![word.clone()];
                    path.extend(tail);
                    found.push(path);
                }
                i = end;
                continue;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    found
}

/// The rest of a path from `at` (after a `::`): its segments, one list per brace branch.
fn path_tail(bytes: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    loop {
        while bytes.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        if bytes.get(at) == Some(&'{') {
            let mut branches = Vec::new();
            at += 1;
            loop {
                while bytes.get(at).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    at += 1;
                }
                match bytes.get(at) {
                    None => return (branches, at),
                    Some('}') => return (branches_with(&segments, branches), at + 1),
                    _ => {}
                }
                let (tails, end) = path_tail(bytes, at);
                branches.extend(tails);
                at = end.max(at + 1);
            }
        }
        let start = at;
        while bytes.get(at).is_some_and(|c| is_ident(*c)) {
            at += 1;
        }
        if at == start {
            return (vec![segments], at);
        }
        segments.push(bytes[start..at].iter().collect());
        if bytes.get(at) == Some(&':') && bytes.get(at + 1) == Some(&':') {
            at += 2;
        } else {
            // `as name`, `;`, `(`...: the path ends here; skip to the next separator.
            while bytes.get(at).is_some_and(|c| !matches!(c, ',' | '}' | ';' | '(' | ')')) {
                at += 1;
            }
            return (vec![segments], at);
        }
    }
}

fn branches_with(prefix: &[String], branches: Vec<Vec<String>>) -> Vec<Vec<String>> {
    branches
        .into_iter()
        .map(|b| prefix.iter().cloned().chain(b.into_iter().filter(|s| s != "self")).collect())
        .collect()
}

/// The module graph: for each module, the modules it names.
fn graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = sources.iter().map(|s| s.module.as_str()).collect();
    let mut edges = BTreeMap::new();
    for source in sources {
        let code = code_of(&source.text);
        let mut roots: Vec<String> = ["crate", "super", "self"].map(String::from).to_vec();
        roots.extend(children(&code));
        let here: Vec<&str> = source.module.split("::").collect();
        let mut named = BTreeSet::new();
        for path in paths(&code, &roots) {
            let mut full: Vec<String> = match path[0].as_str() {
                "crate" => vec!["crate".into()],
                "super" => here[..here.len().saturating_sub(1).max(1)]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                _ => here.iter().map(|s| s.to_string()).collect(),
            };
            let rest = if matches!(path[0].as_str(), "crate" | "super" | "self") {
                &path[1..]
            } else {
                &path[..]
            };
            let mut best = None;
            for segment in rest {
                full.push(segment.clone());
                let candidate = full.join("::");
                if modules.contains(candidate.as_str()) {
                    best = Some(candidate);
                }
            }
            let target = best.unwrap_or_else(|| {
                // `super::Item` or `crate::Item`: the module the path starts from.
                full.truncate(full.len() - rest.len());
                full.join("::")
            });
            if target != source.module {
                named.insert(target);
            }
        }
        edges.insert(source.module.clone(), named);
    }
    edges
}

/// What breaks the layering: a lower unit naming a higher one (or a peer), and cycles.
fn violations(sources: &[Source], layers: &[&[&str]]) -> Vec<String> {
    let graph = graph(sources);
    let mut found = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            let (a, b) = (unit(from), unit(to));
            if a == b {
                continue;
            }
            match (rank(layers, a), rank(layers, b)) {
                (Some(ra), Some(rb)) if rb < ra => {}
                (None, _) => found.push(format!("{a} is in no layer (add it to LAYERS)")),
                (_, None) => found.push(format!("{b} is in no layer (add it to LAYERS)")),
                _ => found
                    .push(format!("{from} names {to}: a lower or equal layer names a higher one")),
            }
        }
    }
    found.extend(cycles(&graph));
    found.sort();
    found.dedup();
    found
}

/// Every cycle between files, found by depth-first search.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit<'g>(
        node: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
        found: &mut Vec<String>,
    ) {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            found.push(format!("import cycle: {} -> {node}", stack[at..].join(" -> ")));
            return;
        }
        if !done.insert(node) {
            return;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done, found);
        }
        stack.pop();
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn src_sources() -> Vec<Source> {
    sources_of("crates/cptree")
}

/// The sources of the crate in `dir` (relative to the workspace's top).
fn sources_of(dir: &str) -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join("src");
    let mut sources = Vec::new();
    read_sources(&root, &root, &mut sources);
    sources.sort_by(|a, b| a.module.cmp(&b.module));
    sources
}

/// Checks the crate in `dir` against `layers`: at least `files` files read, the edge
/// `probe` (from, to) seen (the checker sees what it is meant to police), no violation.
fn check_crate(dir: &str, layers: &[&[&str]], files: usize, (from, to): (&str, &str)) {
    let sources = sources_of(dir);
    assert!(sources.len() >= files, "read {} files under {dir}/src/", sources.len());
    let graph = graph(&sources);
    assert!(graph[from].contains(to), "{from}: {:?}", graph[from]);
    let problems = violations(&sources, layers);
    assert!(problems.is_empty(), "{dir}: layering broken:\n{}", problems.join("\n"));
}

#[test]
fn layers_point_one_way_and_no_file_imports_in_a_circle() {
    check_crate("crates/cptree", LAYERS, 20, ("crate::cp::file", "crate::sys::at"));
}

#[test]
fn the_binary_is_layered_too() {
    check_crate(".", BINARY_LAYERS, 10, ("crate::app", "crate::decide"));
}

#[test]
fn the_engine_crate_is_layered_too() {
    check_crate("crates/copychain", ENGINE_LAYERS, 8, ("crate::predict", "crate::chain"));
}

/// `cargo tree`'s crates for `package`'s normal dependencies (itself included).
fn dependency_tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--locked", "--offline", "-e", "normal", "--prefix", "none", "-p"])
        .arg(package)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

#[test]
fn the_engine_depends_on_the_syscall_layer_only() {
    let crates = dependency_tree("copychain");
    let allowed = ["copychain", "rustix", "bitflags", "linux-raw-sys", "libc", "errno"];
    let extra: Vec<_> = crates.iter().filter(|c| !allowed.contains(&c.as_str())).collect();
    assert!(extra.is_empty(), "the engine pulls in {extra:?}");
    assert!(crates.contains("rustix"), "{crates:?}");
    // And the command line's crates are there to be missed.
    let rcp = dependency_tree("rcp");
    assert!(rcp.contains("clap") && rcp.contains("cptree"), "{rcp:?}");
}

#[test]
fn the_library_has_no_command_line_or_terminal_in_it() {
    let crates = dependency_tree("cptree");
    let cli = ["clap", "clap_complete", "clap_builder", "indicatif", "console", "anstream"];
    let found: Vec<_> = cli.iter().filter(|c| crates.contains(**c)).collect();
    assert!(found.is_empty(), "cptree pulls in {found:?}");
    assert!(crates.contains("copychain"), "{crates:?}");
}

#[test]
fn the_checker_catches_a_back_link_and_a_cycle() {
    let mut sources = src_sources();
    let at = sources.iter().position(|s| s.module == "crate::sys::at").expect("sys/at.rs");
    // Before its `#[cfg(test)]` tail, which the checker leaves out.
    sources[at].text.insert_str(0, "fn back() { crate::report::message(); }\n");
    let problems = violations(&sources, LAYERS);
    assert!(
        problems.iter().any(|p| p.contains("crate::sys::at names crate::report")),
        "{problems:?}"
    );
    let sources = vec![
        Source { module: "crate::sys".into(), text: "use crate::sys::a::X;".into() },
        Source { module: "crate::sys::a".into(), text: "use super::{b::Y, Z};".into() },
        Source { module: "crate::sys::b".into(), text: "pub fn y() { super::a::f() }".into() },
    ];
    let problems = violations(&sources, LAYERS);
    assert!(problems.iter().any(|p| p.starts_with("import cycle")), "{problems:?}");
}

#[test]
fn grouped_crate_imports_are_read_branch_by_branch() {
    let code = "use crate::sys::{ino, at::{At, DirFd}};\nlet x = super::path::f();";
    let roots = ["crate", "super"].map(String::from).to_vec();
    let found = paths(code, &roots);
    assert!(found.contains(&vec!["crate".into(), "sys".into(), "at".into(), "At".into()]));
    assert!(found.contains(&vec!["crate".into(), "sys".into(), "ino".into()]));
    assert!(found.contains(&vec!["super".into(), "path".into(), "f".into()]));
}

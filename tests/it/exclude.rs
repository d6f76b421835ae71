//! `--exclude` and `--exclude-from` through the real binary: gitignore's rules on paths
//! relative to each operand, excluded directories never entered, a `skipped`/`excluded`
//! record for each excluded entry and no `-v` line, operands never excluded.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{have, parse_report, rcp_in, skip};

/// src/{a.o, a.c, keep.log, drop.log, build/x, sub/build/y, sub/a.o, doc/n.txt,
/// sub/doc/m.txt, deep/1/2/cache/z, deep/1/2/other}
fn tree(root: &Path) {
    for file in [
        "a.o",
        "a.c",
        "keep.log",
        "drop.log",
        "build/x",
        "sub/build/y",
        "sub/a.o",
        "sub/build.txt",
        "doc/n.txt",
        "sub/doc/m.txt",
        "deep/1/2/cache/z",
        "deep/1/2/other",
    ] {
        let path = root.join("src").join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, file).unwrap();
    }
}

/// Every file (not directory) under `dir`, relative to it.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn exclude_rules_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    fs::write(root.join("list"), "# build output\n*.o\n\nbuild/\n").unwrap();
    let all = files(&root.join("src"));
    // (options, the files left out)
    let table: &[(&[&str], &[&str])] = &[
        (&["--exclude=*.o"], &["a.o", "sub/a.o"]),
        (&["--exclude=build/"], &["build/x", "sub/build/y"]),
        (&["--exclude=/build"], &["build/x"]),
        (&["--exclude=doc/*.txt"], &["doc/n.txt"]),
        (&["--exclude=**/doc/*.txt"], &["doc/n.txt", "sub/doc/m.txt"]),
        (&["--exclude=**/cache"], &["deep/1/2/cache/z"]),
        (&["--exclude=deep/**/other"], &["deep/1/2/other"]),
        (&["--exclude=build*"], &["build/x", "sub/build/y", "sub/build.txt"]),
        (&["--exclude=?.o"], &["a.o", "sub/a.o"]),
        (&["--exclude=[ab].c"], &["a.c"]),
        (&["--exclude=*.log", "--exclude=!keep.log"], &["drop.log"]),
        (&["--exclude-from=list"], &["a.o", "sub/a.o", "build/x", "sub/build/y"]),
        (&["--exclude-from=list", "--exclude=!sub/a.o"], &["a.o", "build/x", "sub/build/y"]),
    ];
    for (i, &(options, left_out)) in table.iter().enumerate() {
        let dst = format!("dst{i}");
        let mut args: Vec<&str> = vec!["-r"];
        args.extend(options);
        args.extend(["src", &dst]);
        let out = rcp_in(root, &args);
        assert!(out.status.success(), "{options:?}: {}", String::from_utf8_lossy(&out.stderr));
        let want: BTreeSet<String> =
            all.iter().filter(|f| !left_out.contains(&f.as_str())).cloned().collect();
        assert_eq!(files(&root.join(&dst)), want, "{options:?}");
    }
}

/// An excluded directory gets one record and is never opened; `-v` says nothing of it; an
/// operand matching a pattern is still copied.
#[test]
fn excluded_directories_are_not_entered_and_have_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let out = rcp_in(root, &["-rv", "--report-file=r.json", "--exclude=build/", "src", "dst"]);
    assert!(out.status.success());
    let verbose = String::from_utf8_lossy(&out.stdout);
    assert!(!verbose.contains("build'") && !verbose.contains("build/"), "{verbose}");
    let records = parse_report(&fs::read_to_string(root.join("r.json")).unwrap());
    let excluded: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["reason"] == "excluded")
        .map(|r| (r["source"]["text"].as_str().unwrap().into(), r["kind"].as_str().unwrap().into()))
        .collect();
    let want = [("src/build".into(), "dir".into()), ("src/sub/build".into(), "dir".into())];
    assert_eq!(excluded.iter().collect::<BTreeSet<_>>(), want.iter().collect::<BTreeSet<_>>());
    assert!(
        records.iter().all(|r| r["type"] != "entry"
            || r["outcome"] != "skipped"
            || r["reason"] == "excluded")
    );
    // An operand is never excluded, whatever its name.
    let out = rcp_in(root, &["-r", "--exclude=src", "--exclude=*.o", "src", "whole"]);
    assert!(out.status.success());
    assert!(root.join("whole/a.c").exists() && !root.join("whole/a.o").exists());
    if !have("strace") {
        return skip("excluded directories are not entered", "strace is not installed");
    }
    let traced = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,newfstatat,statx", "-o", "trace.log"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-r", "--exclude=build/", "src", "traced"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(traced.success());
    let log = fs::read_to_string(root.join("trace.log")).unwrap();
    let inside: Vec<&str> =
        log.lines().filter(|l| l.contains("\"x\"") || l.contains("\"y\"")).collect();
    assert!(inside.is_empty(), "looked inside an excluded directory: {inside:?}");
}

#[test]
fn bad_patterns_and_unreadable_lists_are_refused_before_copying() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let bad = rcp_in(root, &["-r", "--exclude={a", "src", "dst"]);
    assert_eq!(bad.status.code(), Some(1));
    // rcp names itself as invoked (argv[0]): compare what follows.
    let said = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or(text)
    };
    let message = said(&bad);
    assert!(message.starts_with("invalid exclude pattern '{a': unclosed alternate"), "{message}");
    let missing = rcp_in(root, &["-r", "--exclude-from=nope", "src", "dst"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(said(&missing), "cannot open 'nope' for reading: No such file or directory\n");
    assert!(!root.join("dst").exists(), "nothing is copied");
}

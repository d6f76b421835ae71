//! `--resume` through the real binary: a second `-a` run over an unchanged tree writes no
//! data and opens no destination file for writing (strace); changed, shorter and killed
//! copies are copied afresh, so the tree ends up equal to the source.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{have, parse_report, rcp_in, skip, stderr, write_pattern};
use crate::gnu::snapshot;

/// src: files of several sizes (one sparse), a subdirectory, a symlink, a hard link pair.
fn tree(root: &Path) {
    let src = root.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    for (i, size) in [0usize, 100, 70_000, 1 << 20].iter().enumerate() {
        write_pattern(&src.join(format!("f{i}")), *size, i as u64);
        write_pattern(&src.join(format!("sub/g{i}")), *size / 2, 10 + i as u64);
    }
    let sparse = fs::File::create(src.join("sparse")).unwrap();
    sparse.set_len(8 << 20).unwrap();
    symlink("f1", src.join("link")).unwrap();
    fs::hard_link(src.join("f2"), src.join("f2-again")).unwrap();
}

/// (reason or outcome, source) of each entry record.
fn outcomes(report: &str) -> Vec<(String, String)> {
    parse_report(report)
        .iter()
        .filter(|r| r["type"] == "entry")
        .map(|r| {
            let what = r["reason"].as_str().or(r["outcome"].as_str()).unwrap().to_string();
            (what, r["source"]["text"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn a_second_run_over_an_unchanged_tree_writes_nothing() {
    let test = "resume: unchanged tree";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    assert!(rcp_in(root, &["-a", "src", "dst"]).status.success());
    let before = snapshot(&root.join("dst"));
    let out = rcp_in(root, &["-a", "--resume", "--report=json", "src/.", "dst"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = outcomes(&String::from_utf8_lossy(&out.stdout));
    for file in ["f0", "f1", "f2", "f2-again", "f3", "sparse", "sub/g3"] {
        let source = format!("src/./{file}");
        assert!(seen.contains(&("unchanged".into(), source.clone())), "{source}: {seen:?}");
    }
    assert_eq!(snapshot(&root.join("dst")), before);
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let log = root.join("trace.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .args(["-e", "trace=openat,write,pwrite64,copy_file_range,splice,sendfile,ioctl"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-a", "--resume", "src/.", "dst"])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
    let trace = fs::read_to_string(&log).unwrap();
    let writing: Vec<&str> = trace
        .lines()
        .filter(|l| {
            let open_for_writing = l.contains("openat(")
                && ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"].iter().any(|f| l.contains(f));
            let data = ["write(", "pwrite64(", "copy_file_range(", "splice(", "sendfile("]
                .iter()
                .any(|call| l.contains(call));
            open_for_writing || data || l.contains("FICLONE")
        })
        .collect();
    assert!(writing.is_empty(), "a second --resume run wrote: {writing:#?}");
}

#[test]
fn changed_shorter_and_missing_files_are_copied_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    assert!(rcp_in(root, &["-a", "src", "dst"]).status.success());
    // f1 changed in the source (new time), f3 cut short in the destination, g1 gone.
    fs::write(root.join("src/f1"), "changed").unwrap();
    let f3 = fs::OpenOptions::new().write(true).open(root.join("dst/f3")).unwrap();
    f3.set_len(1000).unwrap();
    drop(f3);
    let times = Command::new("touch").args(["-r", "src/f3", "dst/f3"]).current_dir(root).status();
    assert!(times.unwrap().success(), "same time, different size: copied again");
    fs::remove_file(root.join("dst/sub/g1")).unwrap();
    let out = rcp_in(root, &["-a", "--resume", "--report=json", "src/.", "dst"]);
    assert!(out.status.success());
    let seen = outcomes(&String::from_utf8_lossy(&out.stdout));
    for file in ["f1", "f3", "sub/g1"] {
        assert!(seen.contains(&("copied".into(), format!("src/./{file}"))), "{file}: {seen:?}");
    }
    assert!(seen.contains(&("unchanged".into(), "src/./f0".into())), "{seen:?}");
    assert_eq!(snapshot(&root.join("dst")), snapshot(&root.join("src")));
    // Without -a or -p the times differ: everything is copied again.
    assert!(rcp_in(root, &["-r", "src", "plain"]).status.success());
    // (rcp says so once; only identical symlinks are kept.)
    let out = rcp_in(root, &["-r", "--resume", "--report=json", "src/.", "plain"]);
    let seen = outcomes(&String::from_utf8_lossy(&out.stdout));
    let kept: Vec<_> = seen.iter().filter(|(what, _)| what == "unchanged").collect();
    assert_eq!(kept, [&("unchanged".to_string(), "src/./link".to_string())], "{seen:?}");
    let warning = ": warning: --resume without preserved timestamps (-a, -p, \
                   --preserve=timestamps) skips no file: every one is copied again\n";
    assert!(String::from_utf8_lossy(&out.stderr).ends_with(warning), "{}", stderr(&out));
}

/// `kill -9` in the middle of a tree (every copy_file_range slowed), then `--resume`: the
/// tree ends up equal to the source, and the files finished before the kill are not copied
/// again.
#[test]
fn resume_after_kill_9_mid_tree() {
    let test = "resume after kill -9";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("src")).unwrap();
    for i in 0..12 {
        write_pattern(&root.join(format!("src/f{i:02}")), 256 << 10, i);
    }
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "inject=copy_file_range:delay_exit=200000"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-a", "-j1", "src", "dst"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_dir(root.join("dst")).map_or(0, Iterator::count) < 5 {
        assert!(Instant::now() < deadline, "rcp did not get going");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL to the whole group strace leads: rcp dies mid-file, with no clean-up.
    for pid in crate::common::children(child.id()) {
        let pid = rustix::process::Pid::from_raw(pid).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    let copied_before = fs::read_dir(root.join("dst")).unwrap().count();
    assert!(copied_before < 12, "the kill came after the copy");
    let out = rcp_in(root, &["-a", "--resume", "--report=json", "src/.", "dst"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen = outcomes(&String::from_utf8_lossy(&out.stdout));
    let unchanged = seen.iter().filter(|(what, _)| what == "unchanged").count();
    assert!(unchanged >= 3, "files finished before the kill are kept: {seen:?}");
    assert_eq!(snapshot(&root.join("dst")), snapshot(&root.join("src")));
}

/// A destination cut short (an interrupted copy of a big file) is completed from where it
/// stops — its bytes are checked against the source's first — and only the missing bytes
/// move (strace); one whose kept bytes differ from the source's is copied afresh.
#[test]
fn a_shorter_destination_is_completed_only_if_its_bytes_are_the_sources() {
    let test = "resume a truncated file";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_pattern(&root.join("big"), 8 << 20, 7);
    for (name, damage) in [("cut", false), ("bad", true)] {
        assert!(rcp_in(root, &["-a", "big", name]).status.success());
        let file = fs::OpenOptions::new().write(true).open(root.join(name)).unwrap();
        file.set_len(3 << 20).unwrap();
        if damage {
            use std::os::unix::fs::FileExt;
            file.write_at(b"X", 1 << 20).unwrap();
        }
        drop(file);
        let log = root.join(format!("{name}.log"));
        let status = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=copy_file_range,pwrite64,write,splice,ioctl", "-o"])
            .arg(&log)
            .arg(env!("CARGO_BIN_EXE_rcp"))
            .args(["-a", "--resume", "big", name])
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(fs::read(root.join(name)).unwrap(), fs::read(root.join("big")).unwrap());
        let trace = fs::read_to_string(&log).unwrap();
        let copies: Vec<&str> = trace.lines().filter(|l| l.contains("copy_file_range(")).collect();
        let from_start = copies.iter().any(|l| l.contains("[0]"));
        let from_cut = copies.iter().any(|l| l.contains(&format!("[{}]", 3 << 20)));
        if damage {
            assert!(from_start, "a prefix that differs is copied afresh: {copies:?}");
        } else {
            assert!(from_cut && !from_start, "only the missing bytes move: {copies:?}");
        }
    }
}

//! Progress, seen where a person or a log sees it: the bar in a real terminal (tmux), with
//! totals and an ETA on a tree and nothing left behind; plain status lines with `--progress`
//! into a log; one status line on SIGUSR1.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{have, skip};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bar_moves_in_a_terminal_and_is_cleared_at_the_end() {
    if !have("tmux") {
        return skip("progress bar in tmux", "tmux is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A source that arrives slowly: a fifo fed 1 MiB every 100 ms, copied as data.
    let status = Command::new("mkfifo").arg(d.join("slow")).status().unwrap();
    assert!(status.success());
    let session = format!("rcp-progress-{}", std::process::id());
    let script = format!(
        "cd {dir} && (for i in $(seq 30); do head -c 1048576 /dev/zero; sleep 0.1; done > slow &) \
         && {rcp} slow copy; echo EXIT=$?; sleep 30",
        dir = d.display(),
        rcp = env!("CARGO_BIN_EXE_rcp"),
    );
    tmux(&["new-session", "-d", "-s", &session, "-x", "120", "-y", "10", &script]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen_bar = String::new();
    let mut finished = String::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if screen.contains("MiB") && screen.contains("/s") && seen_bar.is_empty() {
            seen_bar = screen.clone();
        }
        if screen.contains("EXIT=") {
            finished = screen;
            break;
        }
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(!seen_bar.is_empty(), "no progress bar seen while copying");
    assert!(finished.contains("EXIT=0"), "copy did not finish: {finished}");
    assert!(!finished.contains("MiB"), "the bar was left on screen:\n{finished}");
    assert_eq!(std::fs::metadata(d.join("copy")).unwrap().len(), 30 << 20);
}

#[test]
fn no_bar_when_stderr_is_not_a_terminal_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a"), vec![1u8; 1 << 20]).unwrap();
    let quiet =
        Command::new(env!("CARGO_BIN_EXE_rcp")).current_dir(d).args(["a", "b"]).output().unwrap();
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    let asked = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(d)
        .args(["--progress", "a", "c"])
        .output()
        .unwrap();
    assert!(asked.status.success());
    let off = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(d)
        .args(["--progress", "--no-progress", "a", "e"])
        .output()
        .unwrap();
    assert!(off.stderr.is_empty(), "--no-progress wins when last: {off:?}");
}

/// A tree of `n` files of 256 KiB under `root/src`.
fn tree(root: &std::path::Path, n: usize) {
    std::fs::create_dir(root.join("src")).unwrap();
    for f in 0..n {
        crate::common::write_pattern(&root.join(format!("src/f{f}")), 256 << 10, f as u64);
    }
}

/// rcp under strace, each copy_file_range slowed by `delay_ms`, as a shell command line.
fn slowed(delay_ms: u64, args: &str) -> String {
    format!(
        "strace -f -qq -o /dev/null -e inject=copy_file_range:delay_exit={} {} {args}",
        delay_ms * 1000,
        env!("CARGO_BIN_EXE_rcp")
    )
}

/// The bar on a tree, in tmux, with `-v` lines on the same terminal: a total, an ETA and
/// files done of the total while it runs; ASCII only under LANG=C; and once the copy is
/// over, no frame anywhere in the scrollback, between the `-v` lines or after them. Then
/// the same with stdout piped (`| cat`, as `| tee log`): no bar at all by default.
#[test]
fn bar_on_a_tree_has_totals_and_eta_and_leaves_no_litter() {
    let test = "bar on a tree";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, 10);
    let script = format!(
        "cd {} && export LANG=C LC_ALL= LC_CTYPE=; {}; echo EXIT=$?; {} | cat; echo EXIT2=$?; sleep 60",
        root.display(),
        slowed(400, "-j1 -rv src dst"),
        slowed(100, "-j1 -rv src piped"),
    );
    let Some(t) = crate::common::Tmux::start(test, &script) else { return };
    let frame = t.wait_for(30, |s| s.contains("ETA") && s.contains("/10 files"));
    let done = t.wait_for(60, |s| s.contains("EXIT2="));
    let history = t.screen(true);
    let bar_line = frame.lines().find(|l| l.contains("ETA")).unwrap_or_default().to_string();
    assert!(bar_line.contains("/10 files") && bar_line.contains("/2.50 MiB"), "{frame}");
    assert!(bar_line.is_ascii() && bar_line.contains('#'), "LANG=C draws ASCII: {bar_line:?}");
    assert!(done.contains("EXIT=0") && done.contains("EXIT2=0"), "{done}");
    for litter in ["ETA", "files", "MiB"] {
        assert!(!history.contains(litter), "a bar frame was left ({litter}):\n{history}");
    }
    assert_eq!(history.matches("'src/f").count(), 20, "every -v line is there:\n{history}");
    eprintln!("bar seen: {bar_line}");
}

/// `--progress` with stderr not a terminal: a plain status line every 5 seconds and a last
/// one, no control characters.
#[test]
fn progress_into_a_log_is_plain_lines() {
    let test = "progress lines";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, 6);
    let out = Command::new("sh")
        .arg("-c")
        .arg(slowed(1000, "-j1 -r --progress src dst"))
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 2, "a line during the copy and one at the end: {log:?}");
    assert!(!log.chars().any(|c| c.is_control() && c != '\n'), "control characters: {log:?}");
    assert!(lines[0].contains("/6 files, ") && lines[0].contains(" elapsed"), "{log}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("6/6 files, 1.50 MiB/1.50 MiB (100%)"), "{log}");
    eprintln!("status lines:\n{log}");
}

/// SIGUSR1 (`kill -USR1 $(pidof rcp)`) prints one status line and the copy goes on.
#[test]
fn sigusr1_prints_a_status_line_and_the_copy_goes_on() {
    let test = "SIGUSR1";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root, 6);
    let strace = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {}", slowed(500, "-j1 -r src dst")))
        .current_dir(root)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // rcp is strace's child; ask once it has copied a file or two.
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        let pids = crate::common::children(strace.id());
        let dst_files = std::fs::read_dir(root.join("dst")).map_or(0, Iterator::count);
        if let (Some(&pid), true) = (pids.first(), dst_files >= 2) {
            break pid;
        }
        assert!(Instant::now() < deadline, "rcp did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::USR1).unwrap();
    let out = strace.wait_with_output().unwrap();
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "rcp went on after SIGUSR1: {log}");
    assert_eq!(log.lines().count(), 1, "one line: {log:?}");
    assert!(log.contains(" files, ") && log.contains(" elapsed"), "{log}");
    assert_eq!(std::fs::read_dir(root.join("dst")).unwrap().count(), 6);
    eprintln!("SIGUSR1 said: {log}");
}

/// What a finished `--progress` run's last line says: (files done, files in all) and
/// (bytes done, bytes in all), as printed.
fn last_counts(log: &str) -> ((String, String), (String, String)) {
    let last = log.lines().last().unwrap_or_default();
    let mut parts = last.split(", ");
    let halves = |part: Option<&str>, end: &str| {
        let part = part.unwrap_or_default();
        let part = part.split(end).next().unwrap_or_default();
        let (done, all) = part.split_once('/').unwrap_or_default();
        (done.trim().to_string(), all.trim().to_string())
    };
    (halves(parts.next(), " files"), halves(parts.next(), " ("))
}

/// The totals progress shows are of what the copy reads: the count ahead of the copy takes
/// the walk's own rules (`cptree::select`) for `--exclude`, `-x` over a mount, symlinks under
/// `-L`/`-H`/`-P`; so a run that copies every file it meets ends at N/N files and B/B bytes
/// whatever those options. (Entries counted and then not copied — skipped by `-n`/`-u`,
/// made as links, failed — end short of N: the bar counts data copies.)
#[test]
fn progress_totals_count_what_the_copy_copies() {
    let test = "progress totals";
    if !rustix::process::geteuid().is_root() {
        return skip(test, "mounting a tmpfs inside the source needs root");
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::create_dir_all(src.join("skip")).unwrap();
    std::fs::create_dir_all(src.join("mnt")).unwrap();
    std::fs::write(src.join("a"), vec![1; 1000]).unwrap();
    std::fs::write(src.join("b.o"), vec![2; 2000]).unwrap();
    std::fs::write(src.join("sub/c"), vec![3; 3000]).unwrap();
    std::fs::write(src.join("skip/d"), vec![4; 4000]).unwrap();
    std::os::unix::fs::symlink("sub", src.join("to_sub")).unwrap();
    std::os::unix::fs::symlink("a", src.join("to_a")).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(src.join("mnt"))
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return skip(test, "cannot mount a tmpfs");
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(src.join("mnt"));
    std::fs::write(src.join("mnt/m"), vec![5; 5000]).unwrap();
    let cases: [&[&str]; 8] = [
        &["-r"],
        &["-r", "--exclude=*.o", "--exclude=skip"],
        &["-rx"],
        &["-rL"],
        &["-rH"],
        &["-rLx", "--exclude=sub"],
        &["a", "to_a"],
        // A symlink operand to a file under -H (walkdir follows root links to directories
        // only: the attacker found it counted as 0).
        &["to_a", "-H"],
    ];
    let mut totals = Vec::new();
    for (n, args) in cases.iter().enumerate() {
        let dst = dir.path().join(format!("dst{n}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcp"));
        cmd.arg("--progress").args(*args).current_dir(&src);
        if args[0].starts_with('-') {
            cmd.arg(".");
        } else {
            std::fs::create_dir(&dst).unwrap();
        }
        let out = cmd.arg(&dst).output().expect("run rcp");
        assert!(out.status.success(), "{args:?}: {out:?}");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let (files, bytes) = last_counts(&log);
        assert!(!files.1.is_empty(), "{args:?}: no totals in {log:?}");
        assert_eq!(files.0, files.1, "{args:?}: files copied and counted: {log}");
        assert_eq!(bytes.0, bytes.1, "{args:?}: bytes copied and counted: {log}");
        totals.push(files.1);
    }
    // The cases do select differently (else the test would show nothing).
    let expected = ["5", "3", "4", "7", "5", "5", "2", "1"];
    assert_eq!(totals, expected, "files counted per case {cases:?}");
}

/// The count is for the bar only: where it cannot go on (std panics when a directory fails
/// to close, EIO here), the copy goes on without totals, says nothing of it, and its exit
/// status is the copy's (found by the attacker: the panic ended rcp with 101).
#[test]
fn a_count_that_fails_leaves_the_copy_alone() {
    let test = "a failing count";
    if !crate::common::have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("a"), "a").unwrap();
    std::fs::write(src.join("d/b"), "b").unwrap();
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let out = crate::common::under_strace(rcp, "close:error=EIO", Some(&src.join("d")))
        .args(["--progress", "-a"])
        .arg(&src)
        .arg(dir.path().join("dst"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert_eq!(std::fs::read(dir.path().join("dst/d/b")).unwrap(), b"b", "{err}");
}

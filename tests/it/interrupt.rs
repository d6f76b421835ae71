//! SIGINT and SIGTERM in the middle of a tree copy: rcp stops, says so, removes the file it
//! was writing, every file left in the destination is complete, and it dies of the signal
//! (the shell sees 130 or 143), so a script running it stops too.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Fs, assert_same_bytes, dir_on, write_pattern};

const MIB: usize = 1 << 20;

fn source(root: &Path) {
    fs::create_dir(root.join("src")).unwrap();
    for i in 0..40 {
        write_pattern(&root.join(format!("src/f{i:02}")), 16 * MIB, i);
    }
}

/// Starts `rcp -r src dst`, sends `signals` after `delay` (one every 20 ms), and returns the
/// exit status, stderr and how long rcp took after the first signal.
fn interrupted(
    root: &Path,
    dst: &str,
    signals: &[&str],
    delay: Duration,
) -> (Option<i32>, String, Duration) {
    let child = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(root)
        .args(["-r", "src", dst])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let sent = Instant::now();
    for signal in signals {
        let ok =
            Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
        assert!(ok.unwrap().success(), "rcp ended before it was interrupted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let code = crate::common::shell_status(out.status);
    (code, String::from_utf8_lossy(&out.stderr).into_owned(), sent.elapsed())
}

/// Every file in `dst` is a complete copy; some sources were never copied.
fn assert_only_complete_files(root: &Path, dst: &str) {
    let copied: Vec<_> = fs::read_dir(root.join(dst)).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(copied.len() < 40, "the copy finished before the signal: make the source bigger");
    for file in copied {
        let name = file.file_name().unwrap();
        assert_same_bytes(&root.join("src").join(name), &file);
    }
}

#[test]
fn sigint_and_sigterm_stop_cleanly_with_130_and_143() {
    let Some(dir) = dir_on(Fs::Ext4, "interrupt") else { return };
    let root = dir.path();
    source(root);
    for (signal, status) in [("INT", 130), ("TERM", 143)] {
        let dst = format!("dst-{signal}");
        let (code, stderr, took) = interrupted(root, &dst, &[signal], Duration::from_millis(150));
        assert_eq!(code, Some(status), "{signal}: {stderr}");
        assert!(stderr.ends_with(&format!("interrupted by SIG{signal}\n")), "{stderr}");
        assert!(took < Duration::from_secs(2), "{signal}: took {took:?} to stop");
        assert_only_complete_files(root, &dst);
    }
}

/// Ctrl-C in a terminal sends SIGINT to the whole foreground group: the shell running a
/// loop of rcp waits for rcp, and stops the loop only if rcp died of the signal (bash goes
/// on after a child that exits normally, whatever its status). Found by the attacker:
/// rcp used to exit 130.
#[test]
fn ctrl_c_stops_a_script_that_loops_over_rcp() {
    let Some(dir) = dir_on(Fs::Ext4, "interrupt-loop") else { return };
    let root = dir.path();
    source(root);
    let script = format!(
        "for i in 1 2 3; do '{}' -r src \"d$i\"; done; echo the loop went on > marker",
        env!("CARGO_BIN_EXE_rcp")
    );
    // A group of its own, as a terminal's foreground job.
    let child = Command::new("setsid")
        .args(["bash", "-c", &script])
        .current_dir(root)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !root.join("d1/f00").exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "rcp copied nothing");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let group = format!("-{}", child.id());
    assert!(Command::new("kill").args(["-INT", "--", &group]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(!root.join("marker").exists() && !root.join("d2").exists(), "the loop went on: {err}");
    assert_eq!(crate::common::shell_status(out.status), Some(130), "{err}");
}

/// rcp blocked where it does not stop for the flag — writing `-v` lines to a pipe nobody
/// reads (the write is retried, so no line is torn) — notes the first SIGINT; the second
/// ends it at once.
#[test]
fn a_second_sigint_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("src")).unwrap();
    for i in 0..3000 {
        fs::write(root.join(format!("src/file-with-a-long-name-{i:05}")), "x").unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(root)
        .args(["-rv", "src", "dst"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let kill = |pid: u32| {
        let ok = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        assert!(ok.success());
    };
    // Wait until rcp sleeps in write(2): the pipe is full (the kernel says which call each
    // of its threads is blocked in; a worker may be the one printing).
    let tasks = format!("/proc/{}/task", child.id());
    let writing = format!("{} ", libc::SYS_write);
    let in_write = || {
        fs::read_dir(&tasks).into_iter().flatten().flatten().any(|task| {
            let syscall = fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
            syscall.starts_with(&writing)
        })
    };
    let start = Instant::now();
    while !in_write() {
        assert!(start.elapsed() < Duration::from_secs(20), "rcp never filled the pipe");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "still blocked writing after the first SIGINT");
    let sent = Instant::now();
    kill(child.id());
    let status = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(2), "{status:?}");
    assert!(sent.elapsed() < Duration::from_millis(500), "took {:?}", sent.elapsed());
}

/// `timeout SECS rcp ARGS` in `dir`: its status, stderr and how long it took.
fn under_timeout(dir: &Path, secs: &str, args: &[&str]) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let out = Command::new("timeout")
        .arg(secs)
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), start.elapsed())
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// One SIGTERM ends rcp wherever it is blocked: `timeout` (and systemd, CI limits, `kill`)
/// send one and wait. Before, an open of a fifo nobody writes to was restarted after the
/// signal and rcp ran until SIGKILL.
#[test]
fn one_sigterm_ends_a_blocked_copy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("ff"));
    // Blocked opening a fifo with no writer.
    let (code, err, took) = under_timeout(d, "2", &["ff", "out"]);
    assert_eq!(code, Some(124), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?} after a 2 s timeout");
    assert!(err.ends_with("interrupted by SIGTERM\n"), "{err}");
    assert!(!d.join("out").exists(), "nothing is left of a file never started");
    // Blocked reading a pipe whose writer says nothing: the file being written is removed.
    let mut writer =
        Command::new("sh").arg("-c").arg("exec sleep 30 > ff").current_dir(d).spawn().unwrap();
    let (code, err, took) = under_timeout(d, "2", &["ff", "out"]);
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(code, Some(124), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!d.join("out").exists(), "the file rcp created is removed");
    // Blocked writing into a fifo whose reader never reads.
    mkfifo(&d.join("sink"));
    write_pattern(&d.join("ten"), 10 << 20, 1);
    let mut reader =
        Command::new("sh").arg("-c").arg("exec sleep 30 < sink").current_dir(d).spawn().unwrap();
    let (code, err, took) = under_timeout(d, "2", &["ten", "sink"]);
    let _ = reader.kill();
    let _ = reader.wait();
    assert_eq!(code, Some(124), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // A tree with a fifo under --copy-contents, with workers busy on the other files.
    fs::create_dir(d.join("s")).unwrap();
    for i in 0..200 {
        fs::write(d.join(format!("s/f{i}")), "x").unwrap();
    }
    mkfifo(&d.join("s/p"));
    let (code, err, took) = under_timeout(d, "2", &["-r", "--copy-contents", "-j4", "s", "t"]);
    assert_eq!(code, Some(124), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn sighup_stops_with_129() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("ff"));
    let child = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(d)
        .args(["--report=json", "ff", "out"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        Command::new("kill").arg("-HUP").arg(child.id().to_string()).status().unwrap().success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("interrupted by SIGHUP\n"));
    let lines = crate::common::parse_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines[0]["error"], "interrupted by SIGHUP", "{:?}", lines[0]);
    assert_eq!(lines[0]["errno"], serde_json::Value::Null, "rcp's own outcome: {:?}", lines[0]);
    assert_eq!(
        (&lines[1]["interrupted"], &lines[1]["exit_status"]),
        (&"SIGHUP".into(), &129.into())
    );
}

/// Overwriting an existing file without `--atomic` truncates it first: when the copy is cut
/// short, rcp names the file it leaves incomplete (the README says `--atomic` avoids it).
#[test]
fn an_interrupted_or_failed_overwrite_names_the_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mkfifo(&d.join("ff"));
    fs::write(d.join("exist"), "old contents\n").unwrap();
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg("{ printf abc; exec sleep 30; } > ff")
        .current_dir(d)
        .spawn()
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .args(["--copy-contents", "--report-file=r.json", "ff", "exist"])
        .current_dir(d)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once rcp sleeps in read(2) on the fifo (it has written "abc"), stop it as `timeout` would.
    let syscall = format!("/proc/{}/syscall", child.id());
    let reading = format!("{} ", libc::SYS_read);
    let start = Instant::now();
    while !fs::read_to_string(&syscall).unwrap_or_default().starts_with(&reading) {
        assert!(start.elapsed() < Duration::from_secs(20), "rcp never blocked reading");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(Command::new("kill").arg(child.id().to_string()).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let _ = writer.kill();
    let _ = writer.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(crate::common::shell_status(out.status), Some(143), "{err}");
    assert!(err.contains("'exist' is incomplete: interrupted by SIGTERM\n"), "{err}");
    let records = crate::common::parse_report(&fs::read_to_string(d.join("r.json")).unwrap());
    assert_eq!(records[0]["error"], "'exist' is incomplete: interrupted by SIGTERM");
    assert!(fs::read(d.join("exist")).unwrap().len() < 13, "it was truncated");
    // A write error half way: GNU's message, then which file is left incomplete.
    if !crate::common::have("strace") {
        crate::common::skip("an_interrupted_or_failed_overwrite", "strace is not installed");
        return;
    }
    write_pattern(&d.join("src"), 1 << 20, 7);
    let out = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-e", "inject=pwrite64:error=ENOSPC:when=2"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["--sparse=always", "src", "exist"])
        .current_dir(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].ends_with(": error writing 'exist': No space left on device"), "{err}");
    assert!(lines[1].ends_with(": 'exist' is incomplete"), "{err}");
}

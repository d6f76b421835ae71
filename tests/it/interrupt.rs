//! SIGINT and SIGTERM in the middle of a tree copy: rcp stops, exits 130 or 143 with a
//! message, removes the file it was writing, and every file left in the destination is
//! complete.

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
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), sent.elapsed())
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

/// rcp blocked where it cannot look at the flag (opening a fifo nobody writes to): the first
/// SIGINT is noted, the second one ends it at once.
#[test]
fn a_second_sigint_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(Command::new("mkfifo").arg(root.join("fifo")).status().unwrap().success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(root)
        .args(["fifo", "out"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let kill = |pid: u32| {
        let ok = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        assert!(ok.success());
    };
    std::thread::sleep(Duration::from_millis(200));
    kill(child.id());
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "still blocked after the first SIGINT");
    let sent = Instant::now();
    kill(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(sent.elapsed() < Duration::from_millis(500), "took {:?}", sent.elapsed());
}

//! The progress bar, seen in a real terminal (tmux): it shows bytes, rate and files while a
//! copy runs, and is gone when the copy ends; with stderr not a terminal there is none.

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

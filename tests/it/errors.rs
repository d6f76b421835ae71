//! Bad input gets GNU cp's treatment: its message text, exit status 1, and the remaining
//! operands still copied. Each case runs GNU cp and rcp on twin inputs and compares all.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::assert_like_gnu;

fn files(d: &Path) {
    fs::write(d.join("a"), "a\n").unwrap();
    fs::write(d.join("b"), "b\n").unwrap();
    fs::create_dir(d.join("dir")).unwrap();
    fs::create_dir(d.join("d")).unwrap();
    fs::write(d.join("d/f"), "f\n").unwrap();
    symlink("nowhere", d.join("dangling")).unwrap();
}

#[test]
fn missing_source_others_still_copied() {
    assert_like_gnu("missing", files, &["nosuch", "a", "dir"]);
    assert_like_gnu("missing2", files, &["a", "nosuch", "b", "dir"]);
    assert_like_gnu("missing3", files, &["nosuch", "c"]);
}

#[test]
fn directory_without_r_is_omitted() {
    assert_like_gnu("omit", files, &["d", "a", "dir"]);
    assert_like_gnu("omit2", files, &["d", "e"]);
}

#[test]
fn same_file_is_refused() {
    assert_like_gnu("same", files, &["a", "a"]);
    assert_like_gnu("same2", files, &["a", "./a"]);
    assert_like_gnu(
        "same3",
        |d| {
            files(d);
            fs::hard_link(d.join("a"), d.join("hard")).unwrap();
        },
        &["a", "hard"],
    );
}

#[test]
fn several_sources_need_a_directory() {
    assert_like_gnu("notdir", files, &["a", "b", "dangling"]);
    assert_like_gnu("notdir2", files, &["a", "d", "b"]);
    assert_like_gnu("notdir3", files, &["a", "b", "nosuch"]);
}

#[test]
fn usage_errors() {
    assert_like_gnu("none", files, &[]);
    assert_like_gnu("one", files, &["a"]);
    assert_like_gnu("t-T", files, &["-t", "dir", "-T", "a"]);
    assert_like_gnu("T-extra", files, &["-T", "a", "b", "c"]);
    assert_like_gnu("t-missing", files, &["-t", "nosuch", "a"]);
    assert_like_gnu("t-file", files, &["-t", "a", "b"]);
    assert_like_gnu("reflink-sparse", files, &["--reflink=always", "--sparse=never", "a", "c"]);
}

#[test]
fn destination_conflicts() {
    assert_like_gnu("dangling", files, &["a", "dangling"]);
    // GNU copies entries in inode order until it meets the destination inside the source;
    // twin scenarios get different inodes, so these keep nothing beside it to race with.
    let lone_dir = |d: &Path| fs::create_dir(d.join("d")).unwrap();
    assert_like_gnu("into-itself", lone_dir, &["-r", "d", "d/sub"]);
    assert_like_gnu("into-itself-v", lone_dir, &["-rv", "d", "d/sub"]);
    assert_like_gnu("into-itself-dot", |_: &Path| {}, &["-r", ".", "sub"]);
    assert_like_gnu("over-nondir", files, &["-r", "d", "a"]);
    assert_like_gnu(
        "over-dir",
        |d| {
            files(d);
            fs::create_dir(d.join("dir/a")).unwrap();
        },
        &["a", "dir"],
    );
}

/// Found by GNU's tests/misc/close-stdout.sh: output that cannot be written is an error
/// (`write error: ...`, exit 1), whether stdout is full or closed; with nothing to print, a
/// closed stdout is fine.
#[test]
fn unwritable_stdout_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a"), "a\n").unwrap();
    let sh = |script: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_rcp"))
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for (script, code, message) in [
        ("\"$0\" -v a b >/dev/full", Some(1), "write error: No space left on device"),
        ("\"$0\" -v a c >&-", Some(1), "write error: Bad file descriptor"),
        ("\"$0\" --help >/dev/full", Some(1), "write error: No space left on device"),
        ("\"$0\" a d >&-", Some(0), ""),
        ("\"$0\" -v a e >/dev/null", Some(0), ""),
    ] {
        let out = sh(script);
        assert_eq!(out.status.code(), code, "{script}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{script}: {out:?}");
    }
    assert!(dir.path().join("c").exists(), "the copy itself still happened");
}

/// Each line rcp writes to standard error is one `write` (stderr is unbuffered): a line in
/// pieces is cut by whatever else writes there — an MPI launcher's banner between rank 0's
/// program name and its message (seen in CI), `make -j`'s other jobs.
#[test]
fn each_line_on_stderr_is_one_write() {
    let test = "one write a line";
    let dir = tempfile::tempdir().unwrap();
    let (missing, target) = (dir.path().join("nosuch"), dir.path().join("x"));
    let args = [missing.as_os_str(), target.as_os_str(), "--bogus".as_ref()];
    for args in [&args[..2], &args[2..]] {
        let Some((out, trace)) = crate::common::rcp_traced(test, "write", args) else { return };
        let stderr = String::from_utf8_lossy(&out.stderr);
        let writes = trace.lines().filter(|l| l.contains("write(2,")).count();
        assert_eq!(writes, stderr.lines().count(), "{test}: {stderr}\n{trace}");
    }
}

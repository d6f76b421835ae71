//! Deep trees and few open files, through the real binary. The walk keeps no call-stack
//! frame per level (2,000 levels copy as GNU copies them, 10,000 levels copy whole, where
//! GNU stops at PATH_MAX), and it keeps only so many levels' directories open: under
//! `ulimit -n 64` a 300-deep tree copies (GNU's way), and a directory swapped for a symlink
//! while the walk was away from it (its fds closed) is refused when the walk comes back,
//! never followed. Trees are built, compared and removed with fds (`mkdirat`, `openat`),
//! one level at a time, since their paths outgrow PATH_MAX.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::common::{rcp, skip, stderr};

fn open_dir(at: impl AsFd, name: &str) -> OwnedFd {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(at, name, flags, Mode::empty())
        .unwrap_or_else(|e| panic!("open directory {name}: {e}"))
}

fn write_at(at: impl AsFd, name: &str, data: &str) {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(at, name, flags, Mode::from_raw_mode(0o644)).expect("create");
    fs::File::from(fd).write_all(data.as_bytes()).unwrap();
}

/// `root/d/d/.../d/leaf`, `depth` levels of `d`; with `files`, each level also holds a file
/// `f` naming it and an empty directory `e`.
fn build_chain(root: &Path, depth: usize, files: bool) {
    fs::create_dir(root).unwrap();
    let mut fd = open_dir(CWD, root.to_str().unwrap());
    for level in 1..=depth {
        rustix::fs::mkdirat(&fd, "d", Mode::from_raw_mode(0o755)).unwrap();
        if files {
            write_at(&fd, "f", &format!("level {level}\n"));
            rustix::fs::mkdirat(&fd, "e", Mode::from_raw_mode(0o700)).unwrap();
        }
        fd = open_dir(&fd, "d");
    }
    write_at(&fd, "leaf", "the bottom\n");
}

/// The names in a directory, sorted.
fn names(dir: &OwnedFd) -> Vec<String> {
    let mut names: Vec<String> = Dir::read_from(dir)
        .expect("read directory")
        .map(|e| e.expect("entry").file_name().to_str().expect("UTF-8").to_string())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    names
}

/// Compares the trees `a` and `b` entry by entry: names, types, permissions, contents and
/// symlink targets, and with `all` (what `-a` keeps) modification times. Walked with fds
/// and a heap stack (any depth; the fds of directories not yet compared only). Returns
/// the number of entries and the depth reached.
fn compare(a: &Path, b: &Path, all: bool) -> (usize, usize) {
    let root = |p: &Path| open_dir(CWD, p.to_str().unwrap());
    let mut pending = vec![(root(a), root(b), 0)];
    let (mut entries, mut deepest) = (0, 0);
    while let Some((fa, fb, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        let listed = names(&fa);
        assert_eq!(listed, names(&fb), "{a:?} vs {b:?}: the names at depth {depth}");
        for name in listed {
            entries += 1;
            let stat = |fd: &OwnedFd| {
                rustix::fs::statat(fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).unwrap()
            };
            let (sa, sb) = (stat(&fa), stat(&fb));
            let at = format!("{name} at depth {depth}");
            assert_eq!(sa.st_mode, sb.st_mode, "{at}: type and permissions");
            if all {
                let time = |st: &rustix::fs::Stat| (st.st_mtime, st.st_mtime_nsec);
                assert_eq!(time(&sa), time(&sb), "{at}: modification time");
            }
            match FileType::from_raw_mode(sa.st_mode) {
                FileType::Directory => {
                    pending.push((open_dir(&fa, &name), open_dir(&fb, &name), depth + 1))
                }
                FileType::RegularFile => {
                    let read = |fd: &OwnedFd| {
                        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                        let file = rustix::fs::openat(fd, name.as_str(), flags, Mode::empty());
                        let mut data = String::new();
                        fs::File::from(file.unwrap()).read_to_string(&mut data).unwrap();
                        data
                    };
                    assert_eq!(read(&fa), read(&fb), "{at}: contents");
                }
                FileType::Symlink => {
                    let target = |fd: &OwnedFd| {
                        rustix::fs::readlinkat(fd, name.as_str(), Vec::new()).unwrap()
                    };
                    assert_eq!(target(&fa), target(&fb), "{at}: target");
                }
                _ => {}
            }
        }
    }
    (entries, deepest)
}

/// Removes the tree `root` one level at a time, going back up through `..` (no path is
/// ever longer than one name, and no more than two fds are open).
fn remove(root: &Path) {
    let Ok(mut fd) = rustix::fs::open(root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
    else {
        return;
    };
    // The names of the directories from `root` down to `fd`.
    let mut below: Vec<String> = Vec::new();
    loop {
        let mut child = None;
        for name in names(&fd) {
            let st = rustix::fs::statat(&fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).unwrap();
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                child = Some(name);
            } else {
                rustix::fs::unlinkat(&fd, name.as_str(), AtFlags::empty()).unwrap();
            }
        }
        if let Some(name) = child {
            fd = open_dir(&fd, &name);
            below.push(name);
            continue;
        }
        let Some(name) = below.pop() else { break };
        let parent = open_dir(&fd, "..");
        rustix::fs::unlinkat(&parent, name.as_str(), AtFlags::REMOVEDIR).unwrap();
        fd = parent;
    }
    fs::remove_dir(root).unwrap();
}

/// Runs `cmd` with at most `limit` open files (soft and hard).
fn with_open_files(cmd: &mut Command, limit: u64) -> &mut Command {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
    }
}

/// A fresh directory for a deep tree: on tmpfs where there is one (tens of thousands of
/// directories made and removed cost little there), else in the temporary directory.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::Builder::new().prefix("rcp-deep").tempdir_in(shm),
        false => tempfile::tempdir(),
    }
    .expect("a temporary directory")
}

fn assert_clean(out: &Output, what: &str) {
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: {:?}\n{}",
        out.status,
        stderr(out).lines().take(5).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn two_thousand_levels_copy_as_gnu_copies_them() {
    let dir = scratch();
    let root = dir.path();
    build_chain(&root.join("src"), 2000, false);
    let runs: [&[&str]; 5] = [&["-r"], &["-a"], &["-r", "-j1"], &["-r", "-j4"], &["-rL"]];
    for (i, args) in runs.iter().enumerate() {
        let dst = format!("dst{i}");
        let out = rcp().current_dir(root).args(*args).args(["src", &dst]).output().unwrap();
        assert_clean(&out, &format!("rcp {args:?}"));
        let copied = compare(&root.join("src"), &root.join(&dst), args.contains(&"-a"));
        assert_eq!(copied, (2001, 2000), "rcp {args:?}: entries and depth");
        remove(&root.join(dst));
    }

    let out = rcp().current_dir(root).args(["-rv", "--dry-run", "src", "plan"]).output().unwrap();
    assert_clean(&out, "rcp --dry-run");
    assert!(!root.join("plan").exists(), "a dry run made its destination");
    let said = String::from_utf8_lossy(&out.stdout);
    let lines = said.lines().filter(|l| l.starts_with('\'')).count();
    assert_eq!(lines, 2002, "one line an entry");

    // GNU cp names every file by its path, which fits here (4,006 bytes): the same copy.
    if Path::new("/usr/bin/cp").exists() {
        let out = Command::new("/usr/bin/cp").current_dir(root).args(["-r", "src", "gnu"]).output();
        assert_clean(&out.unwrap(), "GNU cp");
        assert_eq!(compare(&root.join("src"), &root.join("gnu"), false), (2001, 2000));
        remove(&root.join("gnu"));
    } else {
        skip("two_thousand_levels_copy_as_gnu_copies_them", "GNU cp is not at /usr/bin/cp");
    }
    remove(&root.join("src"));
}

#[test]
fn ten_thousand_levels_copy_whole() {
    let dir = scratch();
    let root = dir.path();
    build_chain(&root.join("src"), 10_000, false);
    // --progress counts the files too (a log line at the end, stderr not a terminal).
    let out = rcp().current_dir(root).args(["-r", "--progress", "src", "dst"]).output().unwrap();
    assert!(out.status.success(), "rcp -r: {:?}\n{}", out.status, stderr(&out));
    assert_eq!(compare(&root.join("src"), &root.join("dst"), false), (10_001, 10_000));
    remove(&root.join("dst"));

    // (Not a line per entry: their paths would make 400 MB.)
    let out = rcp()
        .current_dir(root)
        .args(["-r", "--dry-run", "--stats", "src", "dst"])
        .output()
        .unwrap();
    let stats = stderr(&out);
    assert!(out.status.success(), "rcp --dry-run: {:?}\n{stats}", out.status);
    assert!(!root.join("dst").exists(), "a dry run made its destination");
    assert!(stats.contains("; 10002 copied, 0 skipped, 0 failed"), "every entry planned: {stats}");
    remove(&root.join("src"));
}

/// A symlink inside the source to the directory the copy is making (`x/a -> x`, `cp -RL x
/// ./x`: `x/a` is then `x/x`; or `src/link -> ../dst`, `cp -RL src dst`) is met again and
/// again, one level deeper each time. GNU goes on until paths outgrow PATH_MAX (2,050
/// directories for the first, 821 for the second) and stops with `File name too long`;
/// rcp, which has no PATH_MAX to stop it, went on until killed (118,000 and 58,000
/// directories in 10 s: a full disk, given time). Now it says it is a copy into itself
/// where it starts to feed on itself: status 1, nothing made below. (Found by the fuzzer,
/// whose cleanup such a tree overflowed: std's `remove_dir_all` recurses once a level.)
#[test]
fn a_copy_feeding_on_itself_through_a_symlink_stops_at_once() {
    let dir = scratch();
    let root = dir.path();
    let into_itself = |what: &str| format!("{}: cannot copy a directory, {what}", rcp_name());
    let stat_link = format!("{}: cannot stat 'src/link': No such file or directory", rcp_name());
    // The link and its target, the operands, the copy's name, the directories below, and
    // what a dry run says (where it makes no `dst`, `src/link` dangles).
    let cases = [
        ("x/a", "x", "x", "./x", "./x/x", ["x/x", "x/x/a", "x/x/a/a"], None),
        (
            "src/link",
            "../dst",
            "src",
            "dst",
            "dst",
            ["dst", "dst/link", "dst/link/link"],
            Some(stat_link),
        ),
    ];
    for (link, target, src, dst, copy, below, dry) in cases {
        let runs = [&["-RL"][..], &["-R", "--link"], &["-rL", "-j4"], &["-RL", "--dry-run"]];
        for args in runs {
            let twin = root.join("twin");
            fs::create_dir_all(twin.join(src)).unwrap();
            std::os::unix::fs::symlink(target, twin.join(link)).unwrap();
            let out = run_for_at_most(rcp().current_dir(&twin).args(args).args([src, dst]), 20);
            let dirs = below.map(|d| twin.join(d).is_dir());
            // Before any assertion: a tree that deep is more than the test's stack can unwind.
            remove(&twin);
            let (text, run) = (stderr(&out), format!("rcp {args:?} {src} {dst}"));
            assert_eq!(out.status.code(), Some(1), "{run}: {:?}\n{text}", out.status);
            let made = !args.contains(&"--dry-run");
            let said = match &dry {
                Some(line) if !made => line.clone(),
                _ => into_itself(&format!("'{src}', into itself, '{copy}'")),
            };
            assert_eq!(text.lines().collect::<Vec<_>>(), [said], "{run}");
            assert_eq!(dirs, [made, false, false], "{run}: the directories left");
        }
    }
    // Two links to the same place, four threads, 16 open files: stopped all the same.
    let twin = root.join("twin");
    fs::create_dir_all(twin.join("x")).unwrap();
    for link in ["x/a", "x/b"] {
        std::os::unix::fs::symlink("x", twin.join(link)).unwrap();
    }
    let mut cmd = rcp();
    cmd.current_dir(&twin).args(["-RL", "-j4", "x", "./x"]);
    let out = run_for_at_most(with_open_files(&mut cmd, 16), 20);
    let deeper = ["x/x/a/a", "x/x/a/b", "x/x/b/a", "x/x/b/b"].map(|d| twin.join(d).is_dir());
    remove(&twin);
    assert_eq!(out.status.code(), Some(1), "two links, ulimit -n 16: {}", stderr(&out));
    assert_eq!(deeper, [false; 4], "two links, ulimit -n 16: nothing made two levels down");
}

/// What the check above must leave as GNU does it (three shapes the fuzzer found a first
/// version of it getting wrong): a directory met again under `-L` that this run did not
/// make is copied again; a cyclic symlink to an ancestor of the source is called cyclic;
/// a source directory given twice is "specified more than once".
#[test]
fn directories_met_again_under_dereference_are_still_treated_as_gnu_treats_them() {
    let test = "directories_met_again_under_dereference_are_still_treated_as_gnu_treats_them";
    let again = |d: &Path| {
        std::os::unix::fs::symlink(".", d.join("tab\tx")).unwrap();
        fs::create_dir(d.join("c")).unwrap();
    };
    crate::common::assert_like_gnu(test, again, &["--dereference", "-R", "./c", "tab\tx", "c"]);
    let cyclic = |d: &Path| {
        fs::create_dir(d.join("dst")).unwrap();
        std::os::unix::fs::symlink("..", d.join("dst/b")).unwrap();
    };
    crate::common::assert_like_gnu(test, cyclic, &["-r", "--link", "dst", "dst/new"]);
    let twice = |d: &Path| fs::create_dir(d.join("dst")).unwrap();
    crate::common::assert_like_gnu(test, twice, &["-r", "--link", "dst", "dst", "dst"]);
}

/// Runs `cmd` (stderr kept), killed after `secs` seconds if it has not ended.
fn run_for_at_most(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[test]
fn deep_trees_copy_under_64_open_files() {
    let dir = scratch();
    let root = dir.path();
    for depth in [100, 300] {
        let src = root.join(format!("src{depth}"));
        build_chain(&src, depth, true);
        for args in [&["-r"][..], &["-a"], &["-r", "-j4"], &["-a", "-j4"]] {
            let dst = root.join(format!("dst{depth}"));
            let mut cmd = rcp();
            cmd.current_dir(root).args(args).arg(&src).arg(&dst);
            let out = with_open_files(&mut cmd, 64).output().unwrap();
            assert_clean(&out, &format!("{depth} levels, rcp {args:?}"));
            let all = args[0] == "-a";
            assert_eq!(compare(&src, &dst, all), (3 * depth + 1, depth), "{depth}: {args:?}");
            remove(&dst);
        }
        remove(&src);
    }
}

#[test]
fn a_failed_open_is_named_as_one() {
    let dir = scratch();
    let root = dir.path();
    build_chain(&root.join("src"), 20, true);
    // Too few files for even two levels: opens fail, and say so.
    let mut cmd = rcp();
    cmd.current_dir(root).args(["-r", "src", "dst"]);
    let out = with_open_files(&mut cmd, 9).output().unwrap();
    let said = stderr(&out);
    assert!(!out.status.success(), "rcp copied with 9 open files: {said}");
    assert!(said.contains("Too many open files"), "{said}");
    for line in said.lines() {
        let named = ["cannot open directory", "cannot access", "cannot open", "cannot create"];
        assert!(named.iter().any(|op| line.contains(op)), "a failed open named otherwise: {line}");
    }
}

/// Waits (up to 10 s) for the fifo `path` to have a reader, and opens it for writing.
fn writer_once_read(path: &Path, child: &mut std::process::Child) -> Option<fs::File> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => return Some(fs::File::from(fd)),
            Err(Errno::NXIO) if child.try_wait().unwrap().is_none() => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn a_directory_swapped_while_closed_is_refused_when_the_walk_comes_back() {
    let dir = scratch();
    let root = dir.path();
    fs::create_dir_all(root.join("src")).unwrap();
    fs::create_dir_all(root.join("evil")).unwrap();
    fs::write(root.join("evil/planted"), "not from the source\n").unwrap();
    // src/X/d/.../d/fifo, 60 levels: under 64 open files the walk has closed X by then.
    build_chain(&root.join("src/X"), 60, false);
    let bottom = format!("src/X{}", "/d".repeat(60));
    fs::remove_file(root.join(&bottom).join("leaf")).unwrap();
    let fifo = root.join(&bottom).join("fifo");
    rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o644), 0).unwrap();
    fs::write(root.join("src/X/z-after"), "after the chain\n").unwrap();

    // --copy-contents reads the fifo: rcp waits there, 61 levels down, for the swap.
    let mut cmd = rcp();
    cmd.current_dir(root).args(["-r", "--copy-contents", "src", "dst"]);
    let mut child = with_open_files(&mut cmd, 64).stderr(Stdio::piped()).spawn().unwrap();
    let writer = writer_once_read(&fifo, &mut child);
    let reached = writer.is_some();
    if let Some(mut writer) = writer {
        fs::rename(root.join("src/X"), root.join("X.moved")).unwrap();
        std::os::unix::fs::symlink("../evil", root.join("src/X")).unwrap();
        writer.write_all(b"through the fifo\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let said = stderr(&out);
    assert!(reached, "rcp never read the fifo: {:?}\n{said}", out.status);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert_eq!(
        said.trim_end(),
        format!("{}: skipping file 'src/X', as it was replaced while being copied", rcp_name()),
        "the one message"
    );
    assert!(!root.join("dst/X/planted").exists(), "rcp followed the symlink swapped in");
    let copied = fs::read_to_string(root.join("dst").join(&bottom[4..]).join("fifo")).unwrap();
    assert_eq!(copied, "through the fifo\n");
    remove(&root.join("dst"));
    remove(&root.join("X.moved"));
}

/// The program name rcp's messages start with.
fn rcp_name() -> String {
    env!("CARGO_BIN_EXE_rcp").to_string()
}

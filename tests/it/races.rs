//! Races and extremes, through the real binary on real filesystems. A directory swapped for a
//! symlink while rcp walks the source is never followed out of the source, nor, in an
//! existing destination, written through (the swap is an atomic RENAME_EXCHANGE, so every
//! name always exists and only what it is changes). A tree deeper than PATH_MAX is copied
//! whole, where GNU cp gives up. A directory of 100,000 entries comes across complete.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, RenameFlags};

use crate::common::{Fs, dir_on, rcp, snapshot, stderr};

/// Files directly in the swapped directory, and in its `deeper/` subdirectory.
const FILES: usize = 200;
const DEEPER: usize = 50;
/// What every decoy file says: a copy that contains it read through a swapped symlink.
const MARKER: &str = "DECOY-SECRET";
/// A name only the decoy has: a copy that contains it listed the decoy.
const DECOY_ONLY: &str = "only-in-decoy";
/// rcp runs per filesystem while the swapper races them: alternately `-j1` and `-j2` into
/// the source test's fresh destinations; rounds of `-j1`/`-j2` × `-r`/`-r -f`/`-a` merging
/// into the destination test's one.
const RUNS: usize = 40;
const ROUNDS: usize = 4;
/// A safety bound on the swapper; it normally stops as soon as the runs are done.
const MAX_SWAPS: u64 = 5_000_000;

/// Fills `dir` with `f000`.. and `deeper/g000`.., each saying `{word} {name}\n`.
fn populate(dir: &Path, word: &str) {
    fs::create_dir_all(dir.join("deeper")).unwrap();
    for i in 0..FILES {
        let name = format!("f{i:03}");
        fs::write(dir.join(&name), format!("{word} {name}\n")).unwrap();
    }
    for i in 0..DEEPER {
        let name = format!("g{i:03}");
        fs::write(dir.join("deeper").join(&name), format!("{word} {name}\n")).unwrap();
    }
}

/// A decoy with the same names as a populated directory (so following a swapped symlink
/// finds something to copy), one name of its own, and `MARKER` in every file.
fn make_decoy(dir: &Path) {
    populate(dir, MARKER);
    fs::write(dir.join(DECOY_ONLY), format!("{MARKER} {DECOY_ONLY}\n")).unwrap();
}

/// `snapshot` of `root`, plus every entry's and root's own mtime and ctime to the
/// nanosecond: anything written, truncated, created, removed, chmod'ed or touched shows.
fn fingerprint(root: &Path) -> BTreeMap<PathBuf, String> {
    let times = |path: &Path| {
        let m = fs::symlink_metadata(path).unwrap();
        format!(
            " mode {:o} mtime {}.{:09} ctime {}.{:09}",
            m.mode(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        )
    };
    let mut map = snapshot(root);
    for (path, what) in map.iter_mut() {
        what.push_str(&times(&root.join(path)));
    }
    map.insert(PathBuf::from("."), times(root));
    map
}

/// Sets its flag when dropped, so a failing test still stops its swapper and the scope
/// that joins it can end.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Atomically exchanges `a` and `b` (both must exist).
fn exchange(a: &Path, b: &Path) {
    rustix::fs::renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .unwrap_or_else(|e| panic!("RENAME_EXCHANGE {a:?} {b:?}: {e}"));
}

/// Exchanges `a` and `b` as fast as it can until `stop` (or `MAX_SWAPS`), then once more
/// if needed so both end where they started. Returns how many exchanges it made.
fn swap_until(a: &Path, b: &Path, stop: &AtomicBool) -> u64 {
    let mut swaps = 0;
    while !stop.load(Ordering::Acquire) && swaps < MAX_SWAPS {
        exchange(a, b);
        swaps += 1;
    }
    if swaps % 2 == 1 {
        exchange(a, b);
        swaps += 1;
    }
    swaps
}

/// Runs `run` while another thread keeps exchanging `a` and `b`; returns what `run` returned
/// and how many exchanges happened meanwhile. `a` and `b` are back in place afterwards.
fn while_swapping<T>(a: &Path, b: &Path, run: impl FnOnce() -> T) -> (T, u64) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let swapper = scope.spawn(|| swap_until(a, b, &stop));
        let result = {
            let _stop = StopOnDrop(&stop);
            run()
        };
        (result, swapper.join().expect("swapper"))
    })
}

/// rcp run in `cwd`; a race may make it fail (exit 1) but never crash.
fn rcp_racing(cwd: &Path, args: &[&str]) -> Output {
    let out = rcp().current_dir(cwd).args(args).env("LC_ALL", "C").output().expect("run rcp");
    let err = stderr(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !err.contains("panicked"),
        "rcp {args:?} under a race: {:?}\n{err}",
        out.status
    );
    out
}

/// The first lines of rcp's stderr, enough to say what went wrong without pages of it.
fn head(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    let clip = |l: &&str| match l.char_indices().nth(300) {
        Some((end, _)) => format!("{}...\n", &l[..end]),
        None => format!("{l}\n"),
    };
    let mut text = lines.iter().take(8).map(clip).collect::<String>();
    if lines.len() > 8 {
        text += &format!("... and {} more lines\n", lines.len() - 8);
    }
    text
}

/// What differs between two fingerprints, a few entries of it.
fn changes(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) -> String {
    let mut keys: Vec<&PathBuf> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("  {k:?}: {:?}\n    now {:?}\n", before.get(k), after.get(k)))
        .collect();
    let more = changed.len().saturating_sub(5);
    changed.into_iter().take(5).collect::<String>() + &format!("  ({more} more)\n")
}

/// Every regular file under `root` with its contents; symlinks are listed, never followed.
fn files_under(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let kind = fs::symlink_metadata(&path).unwrap().file_type();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let data = fs::read(&path).unwrap();
                files.push((path, String::from_utf8_lossy(&data).into_owned()));
            }
        }
    }
    files
}

/// `dst` holds nothing from the decoy: no marker, no decoy-only name, and every file says
/// exactly what its source said.
fn assert_nothing_from_decoy(dst: &Path, what: &str, out: &Output) {
    for (path, data) in files_under(dst) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !data.contains(MARKER) && name != DECOY_ONLY,
            "{what}: {path:?} was read through the swapped symlink: {data:?}\nstderr:\n{}",
            head(out)
        );
        assert_eq!(data, format!("real {name}\n"), "{what}: {path:?}\nstderr:\n{}", head(out));
    }
}

#[test]
fn symlink_swapped_into_source_is_never_followed() {
    for fs_kind in [Fs::Ext4, Fs::Btrfs] {
        let Some(dir) = dir_on(fs_kind, "race-src") else { return };
        let root = dir.path();
        let (src, decoy) = (root.join("src"), root.join("decoy"));
        populate(&src.join("sub"), "real");
        fs::write(src.join("top"), "real top\n").unwrap();
        std::os::unix::fs::symlink(&decoy, src.join("swap")).unwrap();
        make_decoy(&decoy);
        let (src_before, decoy_before) = (snapshot(&src), fingerprint(&decoy));

        let runs = || {
            let mut outs = Vec::new();
            for run in 0..RUNS {
                let jobs = if run % 2 == 0 { "-j1" } else { "-j2" };
                let dst = format!("dst{run}");
                outs.push((dst.clone(), jobs, rcp_racing(root, &[jobs, "-r", "src", &dst])));
            }
            outs
        };
        let (outs, swaps) = while_swapping(&src.join("sub"), &src.join("swap"), runs);
        assert!(swaps > 0, "{fs_kind:?}: the swapper never ran");

        for (dst, jobs, out) in &outs {
            let what = format!("{fs_kind:?} rcp {jobs} -r src {dst} (exit {:?})", out.status);
            assert_nothing_from_decoy(&root.join(dst), &what, out);
        }
        let decoy_after = fingerprint(&decoy);
        let diff = changes(&decoy_before, &decoy_after);
        assert!(decoy_after == decoy_before, "{fs_kind:?}: the decoy changed:\n{diff}");
        assert_eq!(snapshot(&src), src_before, "{fs_kind:?}: the source changed");
    }
}

#[test]
fn symlink_swapped_into_destination_is_never_written_through() {
    for fs_kind in [Fs::Ext4, Fs::Btrfs] {
        let Some(dir) = dir_on(fs_kind, "race-dst") else { return };
        let root = dir.path();
        let (src, dst, decoy) = (root.join("src"), root.join("dst"), root.join("decoy"));
        populate(&src.join("sub"), "new");
        populate(&dst.join("sub"), "old");
        std::os::unix::fs::symlink(&decoy, dst.join("swap")).unwrap();
        make_decoy(&decoy);
        let (src_before, decoy_before) = (snapshot(&src), fingerprint(&decoy));

        let runs = || {
            for round in 0..ROUNDS {
                for jobs in ["-j1", "-j2"] {
                    for mode in [&["-r"][..], &["-r", "-f"], &["-a"]] {
                        let args = [&[jobs][..], mode, &["src/.", "dst/"]].concat();
                        let out = rcp_racing(root, &args);
                        // Checked after every run, so a failure names the run that did it.
                        let now = fingerprint(&decoy);
                        assert!(
                            now == decoy_before,
                            "{fs_kind:?} round {round}: rcp {args:?} wrote through the \
                             swapped symlink into the decoy (exit {:?}):\n{}stderr:\n{}",
                            out.status,
                            changes(&decoy_before, &now),
                            head(&out)
                        );
                    }
                }
            }
        };
        let ((), swaps) = while_swapping(&dst.join("sub"), &dst.join("swap"), runs);
        assert!(swaps > 0, "{fs_kind:?}: the swapper never ran");
        let decoy_after = fingerprint(&decoy);
        let diff = changes(&decoy_before, &decoy_after);
        assert!(decoy_after == decoy_before, "{fs_kind:?}: the decoy changed:\n{diff}");
        assert_eq!(snapshot(&src), src_before, "{fs_kind:?}: the source changed");

        // With nothing racing, the same merge succeeds: the fixture is sound.
        let out = rcp().current_dir(root).args(["-r", "src/.", "dst/"]).output().unwrap();
        assert!(out.status.success(), "{fs_kind:?}: quiet merge: {}", stderr(&out));
        for (path, data) in files_under(&dst.join("sub")) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(data, format!("new {name}\n"), "{fs_kind:?}: {path:?}");
        }
    }
}

/// Levels of the deep tree, and the length of each level's name: 40 × 201 bytes of path,
/// about twice PATH_MAX (4096).
const DEPTH: usize = 40;
const NAME_LEN: usize = 200;

fn level_name(level: usize) -> String {
    format!("{level:02}-{}", "d".repeat(NAME_LEN - 3))
}

fn open_dir(at: impl AsFd, name: impl rustix::path::Arg) -> OwnedFd {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(at, name, flags, Mode::empty()).expect("open directory")
}

fn write_at(at: impl AsFd, name: &str, data: &str) {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(at, name, flags, Mode::from_raw_mode(0o644)).expect("create");
    fs::File::from(fd).write_all(data.as_bytes()).unwrap();
}

/// `DEPTH` nested directories under `root`, made fd-relative (no full path would fit), with
/// a file `f` naming the level at every fifth level and a file `bottom` at the bottom, and
/// two hard links there: `bottom-link` to `bottom`, `f35` to level 35's `f`.
fn build_deep(root: &Path) {
    fs::create_dir(root).unwrap();
    let mut fd = open_dir(CWD, root);
    let mut level_35 = None;
    for level in 1..=DEPTH {
        let name = level_name(level);
        rustix::fs::mkdirat(&fd, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        fd = open_dir(&fd, name.as_str());
        if level % 5 == 0 {
            write_at(&fd, "f", &format!("level {level}\n"));
        }
        if level == 35 {
            level_35 = Some(open_dir(&fd, "."));
        }
    }
    write_at(&fd, "bottom", "the bottom\n");
    let link = |from: &OwnedFd, name: &str, to: &str| {
        rustix::fs::linkat(from, name, &fd, to, AtFlags::empty()).expect("hard link")
    };
    link(&fd, "bottom", "bottom-link");
    link(&level_35.expect("level 35 made"), "f", "f35");
}

/// Every entry under `root` by relative path: type, permissions, size and contents of
/// files, symlink targets, and with `all` (what `-a` keeps) the mtime and link count.
/// Walked fd-relative, so any depth.
fn deep_listing(root: &Path, all: bool) -> BTreeMap<String, String> {
    fn walk(fd: &OwnedFd, prefix: &str, all: bool, out: &mut BTreeMap<String, String>) {
        for entry in Dir::read_from(fd).expect("read directory") {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_str().expect("UTF-8 name").to_string();
            if name == "." || name == ".." {
                continue;
            }
            let st = rustix::fs::statat(fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW).unwrap();
            let path = format!("{prefix}/{name}");
            let mut what = format!("mode {:o}", st.st_mode & 0o7777);
            if all {
                what += &format!(" mtime {}.{:09}", st.st_mtime, st.st_mtime_nsec);
                if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile {
                    what += &format!(" links {}", st.st_nlink);
                }
            }
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => {
                    what.insert_str(0, "dir ");
                    walk(&open_dir(fd, name.as_str()), &path, all, out);
                }
                FileType::RegularFile => {
                    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                    let file = rustix::fs::openat(fd, name.as_str(), flags, Mode::empty());
                    let mut data = String::new();
                    fs::File::from(file.unwrap()).read_to_string(&mut data).unwrap();
                    what = format!("file {what} size {} {data:?}", st.st_size);
                }
                FileType::Symlink => {
                    let target = rustix::fs::readlinkat(fd, name.as_str(), Vec::new()).unwrap();
                    what = format!("symlink {what} -> {target:?}");
                }
                other => what = format!("{other:?} {what}"),
            }
            out.insert(path, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(&open_dir(CWD, root), "", all, &mut out);
    out
}

#[test]
fn tree_deeper_than_path_max_is_copied() {
    let Some(dir) = dir_on(Fs::Ext4, "deep") else { return };
    let root = dir.path();
    build_deep(&root.join("src"));
    let src = deep_listing(&root.join("src"), false);
    let longest = src.keys().map(String::len).max().unwrap();
    assert!(longest > 8000, "the fixture is only {longest} bytes deep");
    assert_eq!(src.len(), DEPTH + DEPTH / 5 + 3, "the fixture: {:?}", src.keys());

    for (args, dst, all) in [(["-r"], "dst", false), (["-a"], "dst2", true)] {
        let out = rcp().current_dir(root).args(args).args(["src", dst]).output().unwrap();
        let ok = out.status.success() && out.stderr.is_empty();
        assert!(ok, "rcp {args:?}: {:?}\n{}", out.status, head(&out));
        assert_eq!(
            deep_listing(&root.join(dst), all),
            deep_listing(&root.join("src"), all),
            "rcp {args:?}: the copy differs (left: copy, right: source)"
        );
    }

    // GNU cp names every file by its full path, so it cannot copy this tree.
    if Path::new("/usr/bin/cp").exists() {
        let out = std::process::Command::new("/usr/bin/cp")
            .current_dir(root)
            .args(["-r", "src", "gnu"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "GNU cp copied a tree deeper than PATH_MAX");
    }
}

/// Entries in the one big directory. On XFS, whose inodes are allocated as needed: the
/// shared ext4 image has 262,144 inodes, and tests running beside this one need theirs.
/// Each copy is removed before the next all the same.
const ENTRIES: usize = 100_000;

#[test]
fn hundred_thousand_entries_in_one_directory() {
    let Some(dir) = dir_on(Fs::Xfs, "wide") else { return };
    let root = dir.path();
    let src = root.join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..ENTRIES {
        fs::write(src.join(i.to_string()), format!("{i}\n")).unwrap();
    }

    for (args, dst) in [(&["-r"][..], "dst"), (&["-r", "-j1"], "dst1")] {
        let out = rcp().current_dir(root).args(args).args(["src", dst]).output().unwrap();
        let ok = out.status.success() && out.stderr.is_empty();
        assert!(ok, "rcp {args:?}: {:?}\n{}", out.status, head(&out));
        let mut seen = vec![false; ENTRIES];
        for entry in fs::read_dir(root.join(dst)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let i: usize = name.parse().unwrap_or_else(|_| panic!("{dst}: stray entry {name}"));
            assert!(i < ENTRIES && !seen[i], "{dst}: entry {name} is stray or repeated");
            seen[i] = true;
            assert!(entry.file_type().unwrap().is_file(), "{dst}/{name} is not a file");
            assert_eq!(fs::read_to_string(entry.path()).unwrap(), format!("{i}\n"), "{dst}/{i}");
        }
        let missing = seen.iter().filter(|s| !**s).count();
        assert_eq!(missing, 0, "rcp {args:?}: {missing} of {ENTRIES} entries are missing");
        fs::remove_dir_all(root.join(dst)).unwrap();
    }
}

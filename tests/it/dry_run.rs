//! `--dry-run` through the binary: it decides what a real run decides (the same `-v` lines,
//! errors, exit status and records, the copy path of each file predicted as the real run
//! then takes it, on ext4, btrfs and XFS and across them), and it writes nothing: the
//! destination's listing (inodes, sizes, mtimes and ctimes) is unchanged, and strace sees
//! no call that creates, changes or removes anything.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{self, Fs, dir_on, have, json_lines, rcp_in, skip, write_pattern};

/// A source tree of every kind of entry, and a destination that already holds part of it:
/// a file to overwrite, a directory to merge into, a file with the source's size and time
/// (`--resume`, `-u` leave it), a file of its own.
fn scenario(root: &Path) {
    let src = root.join("src");
    fs::create_dir_all(src.join("sub/deep")).unwrap();
    write_pattern(&src.join("f"), 100_000, 1);
    fs::write(src.join("empty"), "").unwrap();
    fs::write(src.join("sub/g"), "g data\n").unwrap();
    fs::write(src.join("sub/deep/h"), "h data\n").unwrap();
    symlink("f", src.join("link")).unwrap();
    fs::write(src.join("hard1"), "linked\n").unwrap();
    fs::hard_link(src.join("hard1"), src.join("hard2")).unwrap();
    let fifo = std::ffi::CString::new(src.join("fifo").into_os_string().into_encoded_bytes());
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.unwrap().as_ptr(), 0o644) }, 0);
    let dst = root.join("dst");
    fs::create_dir_all(dst.join("sub")).unwrap();
    fs::write(dst.join("f"), "old contents\n").unwrap();
    fs::write(dst.join("mine"), "not in the source\n").unwrap();
    fs::copy(src.join("sub/g"), dst.join("sub/g")).unwrap();
    let time = fs::metadata(src.join("sub/g")).unwrap().modified().unwrap();
    fs::File::options().write(true).open(dst.join("sub/g")).unwrap().set_modified(time).unwrap();
}

/// Every entry under `root` (the root too): kind, contents, and the inode, mode, link count,
/// size, mtime and ctime, to the nanosecond. Any write changes one of them.
fn listing(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out: BTreeMap<PathBuf, String> = common::snapshot(root);
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let m = fs::symlink_metadata(&path).unwrap();
        if m.is_dir() {
            stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        let stat = format!(
            " ino {} mode {:o} nlink {} size {} mtime {}.{} ctime {}.{}",
            m.ino(),
            m.mode(),
            m.nlink(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        );
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        out.entry(rel).or_default().push_str(&stat);
    }
    out
}

/// A JSON line with what only a real or only a dry run can say taken out: the dry-run
/// flags, whether a fallback was known from an earlier file, and the time taken.
fn comparable(mut record: Value) -> Value {
    let map = record.as_object_mut().expect("a record is an object");
    for key in ["dry_run", "predicted", "elapsed_seconds"] {
        map.remove(key);
    }
    if let Some(Value::Array(fell_back)) = map.get_mut("fell_back") {
        for f in fell_back {
            f.as_object_mut().unwrap().remove("cached");
        }
    }
    record
}

/// Asserts a dry run said what the real run then did: exit status, stderr (the `-v` lines
/// are there, beside a JSON report), and each line of the report.
fn assert_said_alike(case: &str, dry: &Output, real: &Output) {
    let dry_err = common::stderr(dry).replace("dry run: nothing was written\n", "");
    assert_eq!(dry_err, common::stderr(real), "{case}: stderr, dry run (left) vs real (right)");
    assert_eq!(dry.status.code(), real.status.code(), "{case}: exit status");
    let (d, r) = (json_lines(dry), json_lines(real));
    assert_eq!(d.len(), r.len(), "{case}: report lines");
    for (d, r) in d.into_iter().zip(r) {
        let (d, r) = (comparable(d), comparable(r));
        assert_eq!(d, r, "{case}: dry run's record (left) vs the real run's (right)");
    }
}

/// Runs `args` with `--dry-run` on the scenario, then for real: the dry run must leave
/// everything as it was and say what the real run then does.
fn dry_then_real(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let before = listing(dir.path());
    let with = |extra: &[&'static str]| [extra, args].concat();
    let dry = rcp_in(dir.path(), &with(&["--dry-run", "--report=json", "-v"]));
    assert_eq!(listing(dir.path()), before, "rcp --dry-run {args:?} changed something");
    let real = rcp_in(dir.path(), &with(&["--report=json", "-v"]));
    assert_said_alike(&format!("rcp {args:?}"), &dry, &real);
    let lines = json_lines(&dry);
    assert!(!lines.is_empty(), "{args:?}: no report: {}", common::stderr(&dry));
    for line in &lines {
        assert_eq!(line["dry_run"], true, "{args:?}: every record says dry run: {line}");
        if line["kind"] == "file" && line["strategy"].is_string() {
            assert_eq!(line["predicted"], true, "{args:?}: a file's path is predicted: {line}");
        }
    }
}

#[test]
fn dry_run_says_what_the_real_run_then_does() {
    let cases: &[&[&str]] = &[
        &["-r", "src", "new"],
        &["-r", "src/.", "dst"],
        &["-a", "src/.", "dst"],
        &["-a", "--backup=numbered", "src/.", "dst"],
        &["-r", "-b", "--suffix=.b/", "src/.", "dst"],
        &["-r", "--remove-destination", "src/.", "dst"],
        &["-a", "--resume", "src/.", "dst"],
        &["-r", "-u", "src/.", "dst"],
        &["-r", "-n", "src/.", "dst"],
        &["-r", "-l", "src/.", "new"],
        &["-a", "--exclude=deep/", "--exclude=*.o", "src/.", "dst"],
        &["-a", "--attributes-only", "src/.", "dst"],
        &["--parents", "src/sub/g", "src/f", "dst"],
        &["--parents", "src/sub/deep/h", "new"],
        &["-r", "--atomic", "src/.", "dst"],
        &["-r", "--reflink=always", "src/.", "dst"],
        &["-r", "--sparse=always", "src/.", "dst"],
        &["src/f", "missing", "src/sub", "dst/sub"],
        &["-r", "src/sub", "dst/f"],
        &["-r", "-j4", "src", "new"],
    ];
    for args in cases {
        dry_then_real(args);
    }
}

#[test]
fn dry_run_refuses_a_copy_into_itself() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let before = listing(dir.path());
    let out = rcp_in(dir.path(), &["-r", "--dry-run", "src", "src/sub/inside"]);
    assert_eq!(listing(dir.path()), before);
    assert_eq!(out.status.code(), Some(1));
    let expected = "cannot copy a directory, 'src', into itself, 'src/sub/inside'";
    assert!(common::stderr(&out).contains(expected), "{}", common::stderr(&out));
    let real = rcp_in(dir.path(), &["-r", "src", "src/sub/inside"]);
    assert_eq!(real.status.code(), Some(1));
    assert!(common::stderr(&real).contains(expected), "{}", common::stderr(&real));
}

/// The syscalls that create, change or remove something. A dry run makes none of them;
/// `openat` only reads, and `write` goes only to standard output and error.
const CHANGING: &[&str] = &[
    "mkdir",
    "mkdirat",
    "unlink",
    "unlinkat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "mknod",
    "mknodat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "utimensat",
    "utimes",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "truncate",
    "ftruncate",
    "fallocate",
    "copy_file_range",
    "splice",
    "sendfile",
    "creat",
];

#[test]
fn dry_run_makes_no_call_that_writes() {
    const TEST: &str = "dry_run_makes_no_call_that_writes";
    if !have("strace") {
        return skip(TEST, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path());
    let before = listing(dir.path());
    let runs: &[&[&str]] = &[
        &["-av", "--backup=numbered", "src/.", "dst"],
        &["-rv", "--remove-destination", "--atomic", "src/.", "dst"],
        &["-av", "--resume", "--verify", "src/.", "dst"],
        &["-rlv", "src", "new"],
        &["-v", "--parents", "src/sub/deep/h", "new2"],
        &["-rv", "--reflink=always", "src", "new3"],
    ];
    let trace_dir = tempfile::tempdir().unwrap();
    let trace = trace_dir.path().join("trace");
    let mut calls = 0;
    for args in runs {
        let out = Command::new("strace")
            .current_dir(dir.path())
            .args(["-f", "-qq", "-s", "0", "-e", "trace=%file,%desc", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_rcp"))
            .arg("--dry-run")
            .args(*args)
            .output()
            .expect("run strace");
        assert!(!out.stdout.is_empty(), "{args:?} printed its -v lines: {out:?}");
        let text = fs::read_to_string(&trace).unwrap();
        fs::remove_file(&trace).unwrap();
        for line in text.lines() {
            calls += 1;
            let call = line.split_once(' ').map_or(line, |(_, rest)| rest.trim_start());
            let name = call.split('(').next().unwrap_or_default();
            assert!(!CHANGING.contains(&name), "{args:?}: {line}");
            if name == "openat" || name == "open" {
                for flag in ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE"] {
                    assert!(!call.contains(flag), "{args:?} opened for writing: {line}");
                }
            }
            if ["write", "pwrite64", "writev", "pwritev", "pwritev2"].contains(&name) {
                let fd = call[name.len() + 1..].split(',').next().unwrap_or_default();
                assert!(fd == "1" || fd == "2", "{args:?} wrote to fd {fd}: {line}");
            }
            if name == "ioctl" {
                assert!(!call.contains("FICLONE"), "{args:?}: {line}");
            }
        }
    }
    assert!(calls > 100, "strace saw the runs ({calls} calls)");
    assert_eq!(listing(dir.path()), before, "a dry run changed something");
}

/// The files of the prediction check: one of each shape the chain treats apart.
fn shapes(src: &Path) {
    fs::create_dir_all(src).unwrap();
    write_pattern(&src.join("big"), 3 << 20, 7);
    fs::write(src.join("small"), "a few bytes\n").unwrap();
    fs::write(src.join("empty"), "").unwrap();
    let sparse = fs::File::create(src.join("sparse")).unwrap();
    sparse.set_len(8 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    sparse.write_all_at(&[7u8; 65536], 4 << 20).unwrap();
}

#[test]
fn dry_run_predicts_the_path_each_file_takes_on_real_filesystems() {
    const TEST: &str = "dry_run_predicts_the_path_each_file_takes_on_real_filesystems";
    let policies: &[&[&str]] =
        &[&[], &["--reflink=never"], &["--sparse=always"], &["--reflink=always"], &["-j1"]];
    let mut seen = BTreeMap::new();
    for from in Fs::ALL {
        let Some(src_dir) = dir_on(from, TEST) else { return };
        let src = src_dir.path().join("src");
        shapes(&src);
        for to in Fs::ALL {
            let Some(dst_dir) = dir_on(to, TEST) else { return };
            for (n, policy) in policies.iter().enumerate() {
                let dst = dst_dir.path().join(format!("copy{n}"));
                let run = |dry: bool| {
                    let mut cmd = common::rcp();
                    cmd.args(["-r", "--report=json"]).args(*policy).arg(&src).arg(&dst);
                    if dry {
                        cmd.arg("--dry-run");
                    }
                    cmd.output().expect("run rcp")
                };
                let dry = run(true);
                assert!(!dst.exists(), "{from:?} -> {to:?} {policy:?}: the dry run made {dst:?}");
                let real = run(false);
                let case = format!("{from:?} -> {to:?} {policy:?}");
                assert_said_alike(&case, &dry, &real);
                for r in common::records(&real).iter().filter(|r| r["kind"] == "file") {
                    let name = r["source"]["text"].as_str().unwrap_or_default();
                    let file = Path::new(name).file_name().unwrap().to_string_lossy();
                    let key = format!("{from:?}->{to:?} {policy:?} {file}");
                    let took = if r["outcome"] == "failed" {
                        "failed"
                    } else {
                        r["strategy"].as_str().unwrap_or("none")
                    };
                    seen.insert(key, took.to_string());
                }
            }
        }
    }
    // The check covered every strategy, so a prediction that never varies would fail it.
    let strategies: std::collections::BTreeSet<&str> = seen.values().map(String::as_str).collect();
    for s in ["clone", "copy_file_range", "splice", "read_write", "failed"] {
        assert!(strategies.contains(s), "no file took {s}: {seen:#?}");
    }
}

#[test]
fn dry_run_predicts_a_splice_between_two_ext4_filesystems() {
    const TEST: &str = "dry_run_predicts_a_splice_between_two_ext4_filesystems";
    let Some(src_dir) = dir_on(Fs::Ext4, TEST) else { return };
    // A second ext4 of its own: one type, two devices.
    let other = tempfile::tempdir().unwrap();
    let (image, point) = (other.path().join("other.img"), other.path().join("mnt"));
    fs::create_dir(&point).unwrap();
    fs::File::create(&image).unwrap().set_len(64 << 20).unwrap();
    let made = Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status();
    let mounted = made.is_ok_and(|s| s.success())
        && Command::new("mount")
            .arg("-o")
            .arg("loop")
            .arg(&image)
            .arg(&point)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        return skip(TEST, "could not make and mount a second ext4 image");
    }
    let src = src_dir.path().join("src");
    shapes(&src);
    let dst = point.join("copy");
    let run = |extra: &[&str]| {
        common::rcp()
            .args(["-r", "--report=json"])
            .args(extra)
            .arg(&src)
            .arg(&dst)
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    let real = run(&[]);
    let _ = Command::new("umount").arg(&point).status();
    assert_said_alike("ext4 -> another ext4", &dry, &real);
    let big = common::records(&real).into_iter().find(|r| r["bytes"] == 3 << 20).unwrap();
    assert_eq!(big["strategy"], "splice", "{big}");
}

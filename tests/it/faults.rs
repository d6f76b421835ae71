//! Faults on real filesystems: a destination that fills up (every file that fit is intact,
//! the file that hit ENOSPC is removed, GNU's message, the run goes on, exit 1), and errors
//! and short counts injected with strace into each syscall of the copy (retried, fallen back
//! from, or a clean failure of that file; never wrong bytes, never a changed source).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_same_bytes, have, parse_report, skip, under_strace, write_pattern};

const MIB: usize = 1 << 20;

/// A small ext4 filesystem on a loop device, unmounted when dropped.
struct SmallFs {
    point: PathBuf,
}

impl SmallFs {
    fn new(dir: &Path, test: &str) -> Option<SmallFs> {
        if !rustix::process::geteuid().is_root() || !have("mkfs.ext4") {
            skip(test, "a 64 MiB loop filesystem needs root and mkfs.ext4");
            return None;
        }
        let image = dir.join("small.img");
        fs::File::create(&image).unwrap().set_len(64 * MIB as u64).unwrap();
        let point = dir.join("small");
        fs::create_dir(&point).unwrap();
        let mkfs = Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().unwrap();
        assert!(mkfs.success());
        let mount = Command::new("mount").arg("-o").arg("loop").arg(&image).arg(&point).status();
        assert!(mount.unwrap().success(), "mount {image:?}");
        Some(SmallFs { point })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

#[test]
fn disk_full_keeps_what_fit_and_removes_the_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 1..=3 {
        write_pattern(&src.join(format!("big{i}")), 30 * MIB, i);
    }
    fs::write(src.join("small"), "small\n").unwrap();
    let Some(small) = SmallFs::new(dir.path(), "disk-full") else { return };
    for jobs in ["-j1", "-j2"] {
        let dst = small.point.join(format!("dst{jobs}"));
        let report = dir.path().join(format!("report{jobs}.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_rcp"))
            .arg(jobs)
            .arg(format!("--report-file={}", report.display()))
            .arg("-r")
            .arg(&src)
            .arg(&dst)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{jobs}: {stderr}");
        assert!(
            stderr.contains("error writing ") && stderr.contains(": No space left on device\n"),
            "{jobs}: GNU's message: {stderr}"
        );
        // Whatever is there is complete; the rest is absent, not torn.
        for name in ["big1", "big2", "big3", "small"] {
            let copy = dst.join(name);
            if copy.exists() {
                assert_same_bytes(&src.join(name), &copy);
            }
        }
        assert!(dst.join("small").exists(), "{jobs}: the run went on after ENOSPC");
        // Entries go in inode order, which need not be creation order: whichever big file
        // comes first fits, and the later ones cannot all fit.
        let bigs = ["big1", "big2", "big3"].iter().filter(|n| dst.join(n).exists()).count();
        assert!((1..3).contains(&bigs), "{jobs}: {bigs} of the 30 MiB files are there");
        // The report: a failed record (stderr's message) for each file that did not fit.
        let records = parse_report(&fs::read_to_string(&report).unwrap());
        for name in ["big1", "big2", "big3", "small"] {
            let r = records
                .iter()
                .find(|r| r["destination"]["text"] == dst.join(name).to_str().unwrap())
                .unwrap_or_else(|| panic!("{jobs}: no record for {name}"));
            match dst.join(name).exists() {
                true => assert_eq!(r["outcome"], "copied", "{jobs}: {r}"),
                false => {
                    let error = r["error"].as_str().expect("a failed record");
                    assert!(error.ends_with(": No space left on device"), "{jobs}: {r}");
                    assert!(
                        stderr.contains(&format!(": {error}\n")),
                        "{jobs}: {error} not on stderr"
                    );
                }
            }
        }
        assert_eq!(records.last().unwrap()["exit_status"], 1);
        fs::remove_dir_all(&dst).unwrap();
    }
}

/// What a fault must lead to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// The copy completes with the right bytes (the fault is retried or fallen back from).
    Completes,
    /// The file fails: exit 1, a message, and no destination left.
    FailsCleanly,
}

/// Faults injected with strace into the real binary, one at a time, on ext4. Whatever the
/// outcome, the source is untouched and the destination is never torn.
#[test]
fn injected_faults_fail_cleanly_or_complete_correctly() {
    use Expect::*;
    let cases: &[(&str, &[&str], Expect)] = &[
        ("copy_file_range:error=EINTR:when=1", &[], Completes),
        ("copy_file_range:error=EIO:when=2", &["--reflink=never", "--sparse=auto"], Completes),
        ("copy_file_range:error=EIO:when=1", &[], FailsCleanly),
        ("copy_file_range:error=EAGAIN:when=1", &[], FailsCleanly),
        ("copy_file_range:error=ENOSPC:when=1", &[], FailsCleanly),
        // A short count: the kernel's offsets say how far it really got.
        ("copy_file_range:retval=4096:when=1", &[], Completes),
        ("ioctl:error=EINTR:when=1", &[], Completes),
        ("splice:error=EINTR:when=1", &["--reflink=never"], Completes),
        ("splice:error=EIO:when=3", &["--reflink=never"], FailsCleanly),
        // Regular sources are read with pread (read() is for size-0 files and streams).
        ("pread64:error=EINTR:when=1", &["--sparse=always"], Completes),
        ("pread64:error=EIO:when=2", &["--sparse=always"], FailsCleanly),
        ("pwrite64:error=EINTR:when=1", &["--sparse=always"], Completes),
        ("pwrite64:error=EIO:when=1", &["--sparse=always"], FailsCleanly),
        ("fsync:error=EIO", &["--fsync"], FailsCleanly),
        ("close:error=EIO", &[], FailsCleanly),
    ];
    if !have("strace") {
        return skip("injected faults", "strace is not installed");
    }
    let Some(dir) = crate::common::dir_on(crate::common::Fs::Ext4, "faults") else { return };
    let d = dir.path();
    let src = d.join("src");
    write_pattern(&src, 3 * MIB + 123, 9);
    let before = fs::read(&src).unwrap();
    let mut wrong = Vec::new();
    for (i, (inject, flags, expect)) in cases.iter().enumerate() {
        let dst = d.join(format!("dst{i}"));
        // -P: only calls on that file count (the loader reads and closes files too).
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null"]);
        if inject.starts_with("close") || inject.starts_with("fsync") {
            cmd.arg("-P").arg(&dst);
        } else if inject.starts_with("pread") {
            cmd.arg("-P").arg(&src);
        }
        let out = cmd
            .arg("-e")
            .arg(format!("inject={inject}"))
            .arg(env!("CARGO_BIN_EXE_rcp"))
            .arg("-j1")
            .args(*flags)
            .arg(&src)
            .arg(&dst)
            .output()
            .unwrap();
        let got = match (out.status.code(), dst.exists()) {
            (Some(0), true) if fs::read(&dst).unwrap() == before => Completes,
            (Some(1), false) if !out.stderr.is_empty() => FailsCleanly,
            (code, exists) => {
                wrong.push(format!("{inject}: exit {code:?}, destination left: {exists}"));
                continue;
            }
        };
        if got != *expect {
            wrong.push(format!("{inject} {flags:?}: {got:?}, expected {expect:?}"));
        }
        assert_eq!(fs::read(&src).unwrap(), before, "{inject}: the source changed");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A source file that fails to close (EIO: what NFS may report there) fails the entry as
/// GNU's does — its message, exit 1 — and the copy, complete, stays, as GNU's does. rcp
/// used to drop the error and exit 0 (found by the attacker).
#[test]
fn a_source_that_fails_to_close_fails_like_gnus() {
    let test = "source close";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("src")).unwrap();
    fs::write(d.join("src/a"), "a\n").unwrap();
    fs::write(d.join("src/b"), "b\n").unwrap();
    let run = |program: &str, dst: &str| {
        let out = under_strace(program, "close:error=EIO", Some(&d.join("src/a")))
            .args(["-a", "src", dst])
            .current_dir(d)
            .output()
            .expect("run under strace");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let err = err.split_once(": ").map(|(_, rest)| rest.to_string()).unwrap_or(err);
        (
            out.status.code(),
            err,
            fs::read(d.join(dst).join("a")).ok(),
            d.join(dst).join("b").exists(),
        )
    };
    let gnu = run("/usr/bin/cp", "g");
    let ours = run(env!("CARGO_BIN_EXE_rcp"), "r");
    assert_eq!(gnu.0, Some(1), "GNU: {gnu:?}");
    assert_eq!(ours, gnu, "rcp against GNU cp");
    assert_eq!(ours.1, "failed to close 'src/a': Input/output error\n");
}

/// A directory read that answers ENOENT (a directory removed while open) is its end, as
/// glibc's readdir has it and GNU's copy does: what was read is copied, exit 0 (found by the
/// attacker: rcp failed the directory).
#[test]
fn a_directory_read_that_answers_enoent_is_its_end() {
    let test = "getdents ENOENT";
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("src/d")).unwrap();
    fs::write(d.join("src/d/b"), "b").unwrap();
    fs::write(d.join("src/d/c"), "c").unwrap();
    for when in ["1", "2"] {
        let run = |program: &str, dst: &str| {
            let inject = format!("getdents64:error=ENOENT:when={when}");
            let out = under_strace(program, &inject, Some(&d.join("src/d")))
                .args(["-a", "src", dst])
                .current_dir(d)
                .output()
                .expect("run under strace");
            let mut names: Vec<_> = fs::read_dir(d.join(dst).join("d"))
                .map(|r| r.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            names.sort();
            (out.status.code(), out.stderr.is_empty(), names)
        };
        let gnu = run("/usr/bin/cp", &format!("g{when}"));
        let ours = run(env!("CARGO_BIN_EXE_rcp"), &format!("r{when}"));
        assert_eq!(ours, gnu, "when={when}: rcp against GNU cp");
        assert_eq!(ours.0, Some(0), "when={when}");
    }
}

/// A copy whose data is whole but whose attribute GNU requires could not be set (an xattr
/// onto a filesystem without them; an injected fchown failure under `-p`) fails the entry
/// and stays, as GNU's does; rcp used to remove it (found by the attacker).
#[test]
fn a_file_whose_required_attribute_failed_stays_as_gnus() {
    let test = "attribute failure keeps";
    if !rustix::process::geteuid().is_root() || !have("strace") || !have("setfattr") {
        return skip(test, "needs root (a ramfs mount), strace and setfattr");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("src")).unwrap();
    fs::create_dir(d.join("m")).unwrap();
    fs::write(d.join("src/a"), "a\n").unwrap();
    let mut set = Command::new("setfattr");
    set.args(["-n", "user.foo", "-v", "bar"]).arg(d.join("src/a"));
    if !set.status().is_ok_and(|s| s.success()) {
        return skip(test, "cannot set a user xattr");
    }
    if !Command::new("mount")
        .args(["-t", "ramfs", "none"])
        .arg(d.join("m"))
        .status()
        .is_ok_and(|s| s.success())
    {
        return skip(test, "cannot mount a ramfs");
    }
    let run = |program: &str, args: &[&str], dst: &str, inject: Option<&str>| {
        let mut cmd = match inject {
            Some(inject) => under_strace(program, inject, None),
            None => Command::new(program),
        };
        let out = cmd.args(args).arg("src").arg(dst).current_dir(d).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let err: Vec<String> = err
            .lines()
            .map(|l| l.split_once(": ").map_or(l, |(_, m)| m).replace(dst, "DST"))
            .collect();
        (out.status.code(), err, fs::read(d.join(dst).join("a")).ok())
    };
    let cases: [(&[&str], Option<&str>); 2] =
        [(&["--preserve=xattr", "-r"], None), (&["-rp"], Some("fchown,fchownat:error=EIO"))];
    let mut results = Vec::new();
    for (n, &(args, inject)) in cases.iter().enumerate() {
        let on = if n == 0 { "m/" } else { "" };
        let gnu = run("/usr/bin/cp", args, &format!("{on}g{n}"), inject);
        let ours = run(env!("CARGO_BIN_EXE_rcp"), args, &format!("{on}r{n}"), inject);
        results.push((args.to_vec(), gnu, ours));
    }
    let _ = Command::new("umount").arg(d.join("m")).status();
    for (args, gnu, ours) in results {
        assert_eq!(ours, gnu, "{args:?}: rcp against GNU cp");
        assert_eq!(ours.0, Some(1), "{args:?}");
        assert_eq!(ours.2.as_deref(), Some(&b"a\n"[..]), "{args:?}: the copy stays");
    }
}

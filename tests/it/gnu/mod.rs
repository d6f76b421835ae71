//! The differential suite: each scenario builds the same input twice on each of the ext4,
//! btrfs and xfs loop mounts, runs `/usr/bin/cp ARGS` in one and `rcp ARGS` in the other,
//! and compares exit status, stdout, stderr (program name aside) and the whole resulting
//! tree: types, bytes, modes, owners, symlink targets, which paths share an inode, device
//! numbers, user xattrs, and mtimes where they were preserved.
//!
//! Scenarios are rows in `scenarios.rs`; fixtures (the inputs) are small functions there.
//! The runner (`exec`), the snapshot and the difference text are shared with the fuzzer
//! (`tests/it/fuzz/`).

mod scenarios;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Fs, dir_on, skip};

/// Every source file's times are set to this (2017) before a run, so a preserved time is
/// recognisable and a fresh one is not.
pub const T0: i64 = 1_500_000_000;
pub const T0_NSEC: i64 = 123_456_789;

/// What a deliberate difference is checked with instead of GNU's result.
pub type Check = fn(&Run) -> Result<(), String>;

/// One scenario: a fixture, the arguments, and optionally stdin, environment and user.
pub struct Scenario {
    pub name: &'static str,
    pub setup: fn(&Path),
    pub args: Vec<String>,
    pub stdin: &'static str,
    pub env: Vec<(&'static str, &'static str)>,
    /// Run as `nobody` (setpriv), on a tree that user may write.
    pub unprivileged: bool,
    /// Applied after the times are normalised (to make one file newer, say).
    pub tweak: Option<fn(&Path)>,
    /// Where rcp deliberately differs from GNU cp 9.1: the reason (README lists it) and a
    /// check of what rcp does instead.
    pub deliberate: Option<(&'static str, Check)>,
    /// The result depends on the order of entries in a directory (GNU and rcp both copy in
    /// inode order), and twin fixtures need not get the same order. On XFS (new directories
    /// spread over allocation groups) only the exit status and the sorted output lines are
    /// compared; on ext4 and btrfs, which may reuse inode numbers other tests freed (`cp -r d
    /// d/sub` then meets `d/sub/d` before or after `d/sub/g`), a difference is tried again
    /// on fresh twins.
    pub order_dependent: bool,
}

/// What one program did to one copy of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub tree: BTreeMap<String, String>,
}

/// Sets every entry's atime and mtime under `root` to T0 (symlinks themselves included).
pub fn normalize_times(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if fs::symlink_metadata(&path).expect("lstat").is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    // Deepest first, so setting a child's times does not disturb its directory's.
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for path in all {
        set_mtime(&path, T0);
    }
}

/// Sets `path`'s atime and mtime (not following a symlink) to `secs` plus T0's nanoseconds.
pub fn set_mtime(path: &Path, secs: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    let t = libc::timespec { tv_sec: secs, tv_nsec: T0_NSEC };
    let times = [t, t];
    // SAFETY: valid C string and a two-element timespec array.
    let rc = unsafe {
        libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    };
    assert_eq!(rc, 0, "utimensat {path:?}");
}

/// The most entries a snapshot describes: a run that makes more (GNU's `cp -R -l` following
/// a symlink to `..` makes a tree as deep as paths go) is told by that alone, and the
/// descriptions of such a tree (paths thousands of names long, each in a group of
/// thousands of links) would take gigabytes.
const SNAPSHOT_ENTRIES: usize = 10_000;
/// The most of a run's standard output or error kept.
const OUTPUT_BYTES: usize = 1 << 20;
/// The most names a hard-link group is described with, in each entry of it.
const GROUP_NAMES: usize = 8;

/// A description of every entry under `root`, by relative path (up to `SNAPSHOT_ENTRIES`).
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut metas = Vec::new();
    let mut unreadable = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut cut = false;
    while let Some(dir) = stack.pop() {
        if metas.len() + unreadable.len() >= SNAPSHOT_ENTRIES {
            cut = true;
            break;
        }
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("entry").path();
            // Deeper than PATH_MAX (a copy into itself, say): named, not described.
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    stack.push(path.clone());
                    metas.push((path, meta));
                }
                Ok(meta) => metas.push((path, meta)),
                Err(e) => unreadable.push((path, e)),
            }
        }
    }
    let mut by_inode: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let rel = |p: &Path| name_text(p.strip_prefix(root).expect("under root"));
    for (path, meta) in &metas {
        if !meta.is_dir() && meta.nlink() > 1 {
            by_inode.entry(meta.ino()).or_default().push(rel(path));
        }
    }
    let mut out = BTreeMap::new();
    for (path, meta) in &metas {
        let mode = meta.mode() & 0o7777;
        let ft = meta.file_type();
        let mut what = if ft.is_dir() {
            format!("dir {mode:o}")
        } else if ft.is_symlink() {
            match fs::read_link(path) {
                Ok(target) => format!("symlink -> {target:?}"),
                Err(e) => format!("symlink, unreadable: {}", e.kind()),
            }
        } else if ft.is_file() {
            let data = fs::read(path).unwrap_or_default();
            format!("file {mode:o} {}", contents_text(&data))
        } else if ft.is_fifo() {
            format!("fifo {mode:o}")
        } else if ft.is_char_device() {
            format!("char {mode:o} {}", meta.rdev())
        } else if ft.is_block_device() {
            format!("block {mode:o} {}", meta.rdev())
        } else if ft.is_socket() {
            format!("socket {mode:o}")
        } else {
            format!("other {mode:o}")
        };
        what += &format!(" owner {}:{}", meta.uid(), meta.gid());
        // Directory times change whenever an entry is added; only compare them when kept.
        let preserved = meta.mtime() < 1_600_000_000;
        if preserved || !ft.is_dir() {
            let t = if preserved {
                format!("{}.{}", meta.mtime(), meta.mtime_nsec())
            } else {
                "new".into()
            };
            what += &format!(" mtime {t}");
        }
        if let Some(group) = by_inode.get_mut(&meta.ino()).filter(|g| g.len() > 1) {
            group.sort();
            let (shown, more) = (&group[..group.len().min(GROUP_NAMES)], group.len());
            what += &format!(" links {shown:?}");
            if more > GROUP_NAMES {
                what += &format!(" and {} more", more - GROUP_NAMES);
            }
        }
        let xattrs = xattrs(path);
        if !xattrs.is_empty() {
            what += &format!(" xattrs {xattrs:?}");
        }
        out.insert(rel(path), what);
    }
    for (path, e) in unreadable {
        out.insert(rel(&path), format!("lstat failed: {}", e.kind()));
    }
    if cut {
        out.insert("…".into(), format!("more than {SNAPSHOT_ENTRIES} entries"));
    }
    out
}

/// A relative path as text: itself when it is UTF-8, its bytes escaped otherwise (so that two
/// names differing only in invalid bytes stay apart).
fn name_text(rel: &Path) -> String {
    match rel.to_str() {
        Some(text) => text.to_string(),
        None => rel.as_os_str().as_encoded_bytes().escape_ascii().to_string(),
    }
}

/// A file's contents as text: quoted when short; length, a hash and the start otherwise (big
/// sparse files would make unreadable reports).
fn contents_text(data: &[u8]) -> String {
    if data.len() <= 512 {
        return format!("{:?}", String::from_utf8_lossy(data));
    }
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let hash =
        data.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    let nonzero = data.iter().filter(|&&b| b != 0).count();
    format!("{} bytes ({nonzero} non-zero) fnv {hash:016x}", data.len())
}

/// The xattrs a copy may carry (user.*, trusted.*, file capabilities, POSIX ACLs) of a path,
/// not following symlinks, with their values in hex.
fn xattrs(path: &Path) -> Vec<String> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    let mut buf = vec![0u8; 4096];
    // SAFETY: buffer and length match.
    let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let wanted = |n: &&[u8]| {
        [&b"user."[..], b"trusted.", b"security.capability", b"system.posix_acl_"]
            .iter()
            .any(|p| n.starts_with(p))
    };
    for name in buf[..n as usize].split(|&b| b == 0).filter(wanted) {
        let cname = std::ffi::CString::new(name).expect("no NUL");
        let mut value = vec![0u8; 4096];
        // SAFETY: buffer and length match.
        let len = unsafe {
            libc::lgetxattr(c.as_ptr(), cname.as_ptr(), value.as_mut_ptr().cast(), value.len())
        };
        let value = if len >= 0 {
            value[..len as usize].iter().map(|b| format!("{b:02x}")).collect::<String>()
        } else {
            "?".into()
        };
        out.push(format!("{}={value}", String::from_utf8_lossy(name)));
    }
    out.sort();
    out
}

fn run_one(program: &Path, scenario: &Scenario, fs: Fs) -> Option<Run> {
    let dir = dir_on(fs, "gnu")?;
    let root = dir.path();
    (scenario.setup)(root);
    normalize_times(root);
    if let Some(tweak) = scenario.tweak {
        tweak(root);
    }
    if scenario.unprivileged {
        Command::new("chown").args(["-R", "nobody:nogroup"]).arg(root).status().expect("chown");
    }
    let args: Vec<OsString> = scenario.args.iter().map(OsString::from).collect();
    let invocation = Invocation {
        args: &args,
        stdin: scenario.stdin.as_bytes(),
        env: &scenario.env,
        nobody: scenario.unprivileged,
        timeout: None,
    };
    Some(exec(program, root, &invocation))
}

/// How to run a program on a tree: its arguments, what its stdin holds, extra environment,
/// whether as `nobody` (setpriv, no supplementary groups), and a time limit in seconds
/// (through `timeout`, which exits 124 when it is reached).
pub struct Invocation<'a> {
    pub args: &'a [OsString],
    pub stdin: &'a [u8],
    pub env: &'a [(&'a str, &'a str)],
    pub nobody: bool,
    pub timeout: Option<u32>,
}

/// Runs `program` in `root` as `how` says, with `LC_ALL=C` and no backup or POSIX variables
/// but those given, and returns what it did: its status, its output with the program's path
/// replaced by `PROG`, and the snapshot of `root` afterwards.
pub fn exec(program: &Path, root: &Path, how: &Invocation) -> Run {
    let mut cmd = match how.timeout {
        Some(secs) => {
            let mut c = Command::new("timeout");
            c.args(["-k", "2", &secs.to_string()]);
            c
        }
        None if how.nobody => Command::new("setpriv"),
        None => Command::new(program),
    };
    if how.timeout.is_some() && how.nobody {
        cmd.arg("setpriv");
    }
    if how.nobody {
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    }
    if how.timeout.is_some() || how.nobody {
        cmd.arg(program);
    }
    cmd.current_dir(root).args(how.args).env("LC_ALL", "C");
    for var in ["VERSION_CONTROL", "SIMPLE_BACKUP_SUFFIX", "POSIXLY_CORRECT"] {
        cmd.env_remove(var);
    }
    cmd.envs(how.env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A program that never reads its stdin closes the pipe: that is not an error here.
    let _ = stdin.write_all(how.stdin);
    drop(stdin);
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("wait for {program:?}: {e}"));
    let name = program.to_string_lossy();
    // Output beyond a megabyte (a verbose run over a tree as deep as paths go) is cut.
    let clean = |b: &[u8]| {
        let b = &b[..b.len().min(OUTPUT_BYTES)];
        String::from_utf8_lossy(b).replace(name.as_ref(), "PROG")
    };
    Run {
        code: out.status.code(),
        stdout: clean(&out.stdout),
        stderr: clean(&out.stderr),
        tree: snapshot(root),
    }
}

/// Runs every scenario on every filesystem; fails listing each one that differs.
fn run_all(filter: impl Fn(&Scenario) -> bool, test: &str) {
    let gnu = PathBuf::from("/usr/bin/cp");
    if !gnu.exists() {
        skip(test, "GNU cp is not at /usr/bin/cp");
        return;
    }
    // The fixtures use these (packages attr, acl, libcap2-bin, python3).
    for tool in ["setfattr", "setfacl", "setcap", "python3", "mknod", "mkfifo"] {
        if !crate::common::have(tool) {
            skip(test, &format!("{tool} is not installed"));
            return;
        }
    }
    let rcp = PathBuf::from(env!("CARGO_BIN_EXE_rcp"));
    let all = scenarios::all();
    let mut names = std::collections::HashSet::new();
    for s in &all {
        assert!(names.insert(s.name), "duplicate scenario name {}", s.name);
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for fs in Fs::ALL {
        for scenario in all.iter().filter(|s| filter(s)) {
            if let Some((why, check)) = scenario.deliberate {
                let Some(got) = run_one(&rcp, scenario, fs) else { return };
                ran += 1;
                if let Err(e) = check(&got) {
                    failures.push(format!(
                        "--- {} on {fs:?} (deliberate: {why}): {e}\n{got:#?}",
                        scenario.name
                    ));
                }
                continue;
            }
            let (Some(mut want), Some(mut got)) =
                (run_one(&gnu, scenario, fs), run_one(&rcp, scenario, fs))
            else {
                return;
            };
            ran += 1;
            // ext4 and btrfs reuse inode numbers other tests freed on the shared images, so an
            // order-dependent scenario's twin fixtures may meet their entries in different
            // orders: the full comparison is tried again on fresh twins before it counts.
            for _ in 0..3 {
                if want == got || !scenario.order_dependent || fs == Fs::Xfs {
                    break;
                }
                let (Some(w), Some(g)) = (run_one(&gnu, scenario, fs), run_one(&rcp, scenario, fs))
                else {
                    return;
                };
                (want, got) = (w, g);
            }
            let (want, got) = if scenario.order_dependent && fs == Fs::Xfs {
                (order_free(want), order_free(got))
            } else {
                (want, got)
            };
            if want != got {
                failures.push(describe(scenario, fs, &want, &got));
            }
        }
    }
    assert!(ran > 0, "{test}: no scenario ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} runs differ from GNU cp:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A run with its output lines sorted and its tree left out.
pub fn order_free(run: Run) -> Run {
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort();
        lines.join("\n")
    };
    Run {
        code: run.code,
        stdout: sorted(&run.stdout),
        stderr: sorted(&run.stderr),
        tree: BTreeMap::new(),
    }
}

fn describe(s: &Scenario, fs: Fs, want: &Run, got: &Run) -> String {
    format!("--- {} on {fs:?}: cp {}\n{}", s.name, s.args.join(" "), differences(want, got))
}

/// What differs between GNU's run (`want`) and rcp's (`got`), a line or two per item.
pub fn differences(want: &Run, got: &Run) -> String {
    let mut text = String::new();
    if want.code != got.code {
        text += &format!("  exit: GNU {:?}, rcp {:?}\n", want.code, got.code);
    }
    if want.stdout != got.stdout {
        text += &format!("  stdout: GNU {:?}\n          rcp {:?}\n", want.stdout, got.stdout);
    }
    if want.stderr != got.stderr {
        text += &format!("  stderr: GNU {:?}\n          rcp {:?}\n", want.stderr, got.stderr);
    }
    for key in want.tree.keys().chain(got.tree.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (w, g) = (want.tree.get(key), got.tree.get(key));
        if w != g {
            text += &format!("  {key}: GNU {w:?}\n  {:width$}  rcp {g:?}\n", "", width = key.len());
        }
    }
    text
}

#[test]
fn scenarios_as_root_match_gnu_cp() {
    run_all(|s| !s.unprivileged, "scenarios_as_root_match_gnu_cp");
}

#[test]
fn scenarios_as_nobody_match_gnu_cp() {
    if !crate::common::have("setpriv") {
        skip("scenarios_as_nobody_match_gnu_cp", "setpriv is not installed");
        return;
    }
    run_all(|s| s.unprivileged, "scenarios_as_nobody_match_gnu_cp");
}

#[test]
fn suite_has_enough_scenarios() {
    let n = scenarios::all().len();
    assert!(n >= 150, "only {n} scenarios");
}

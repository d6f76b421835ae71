//! The differential suite: each scenario builds the same input twice on each of the ext4,
//! btrfs and xfs loop mounts, runs `/usr/bin/cp ARGS` in one and `rcp ARGS` in the other,
//! and compares exit status, stdout, stderr (program name aside) and the whole resulting
//! tree: types, bytes, modes, owners, symlink targets, which paths share an inode, device
//! numbers, user xattrs, and mtimes where they were preserved.
//!
//! Scenarios are rows in `scenarios.rs`; fixtures (the inputs) are small functions there.

mod scenarios;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Fs, dir_on, skip};

/// Every source file's times are set to this (2017) before a run, so a preserved time is
/// recognisable and a fresh one is not.
pub const T0: i64 = 1_500_000_000;
const T0_NSEC: i64 = 123_456_789;

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
#[derive(Debug, PartialEq, Eq)]
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

/// A description of every entry under `root`, by relative path.
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut metas = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            if meta.is_dir() {
                stack.push(path.clone());
            }
            metas.push((path, meta));
        }
    }
    let mut by_inode: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let rel = |p: &Path| p.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
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
            format!("symlink -> {:?}", fs::read_link(path).expect("readlink"))
        } else if ft.is_file() {
            let data = fs::read(path).unwrap_or_default();
            format!("file {mode:o} {:?}", String::from_utf8_lossy(&data))
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
        if let Some(group) = by_inode.get(&meta.ino()).filter(|g| g.len() > 1) {
            let mut group = group.clone();
            group.sort();
            what += &format!(" links {group:?}");
        }
        let xattrs = xattrs(path);
        if !xattrs.is_empty() {
            what += &format!(" xattrs {xattrs:?}");
        }
        out.insert(rel(path), what);
    }
    out
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
    let mut cmd = if scenario.unprivileged {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]).arg(program);
        Command::new("chown").args(["-R", "nobody:nogroup"]).arg(root).status().expect("chown");
        c
    } else {
        Command::new(program)
    };
    cmd.current_dir(root).args(&scenario.args).env("LC_ALL", "C");
    for var in ["VERSION_CONTROL", "SIMPLE_BACKUP_SUFFIX", "POSIXLY_CORRECT"] {
        cmd.env_remove(var);
    }
    cmd.envs(scenario.env.iter().copied());
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let _ = stdin.write_all(scenario.stdin.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let name = program.to_string_lossy();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(name.as_ref(), "PROG");
    Some(Run {
        code: out.status.code(),
        stdout: clean(&out.stdout),
        stderr: clean(&out.stderr),
        tree: snapshot(root),
    })
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
fn order_free(run: Run) -> Run {
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
    let mut text = format!("--- {} on {fs:?}: cp {}\n", s.name, s.args.join(" "));
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

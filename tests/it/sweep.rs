//! The fault sweep: for each of a set of option combinations, rcp is first traced once
//! (`strace -f`) on a small tree to learn every syscall it makes and how often (per thread,
//! as strace counts for `when=`), then run again and again on a fresh destination with one
//! fault injected — each call, at a spread of occurrences (the first, the second, the last
//! and a few between; every one with `RCP_SWEEP_FULL=1`), with the errnos that call can
//! really return (and honest short counts where rcp can tell them). After every run the
//! project's "nothing lost" rules are checked:
//!
//! 1. the source is unchanged (bytes, modes, owners, times, inodes, link structure);
//! 2. rcp exits 0 or 1 — no signal, no panic, no Rust error text — and with 0 the
//!    destination is what the options promise;
//! 3. with 1, stderr has a line in cp's form, and every regular file in the destination is
//!    its source's bytes, or a pre-existing file untouched (or its `-b` backup), or named in
//!    an error (never under `--atomic`, whose promise is old or new); no `.rcp-*` temporary
//!    is left; nothing missing goes unnamed; `-b` never loses an old file;
//! 4. with `--report-file`, the report is JSON lines (checked against the schema) ending in
//!    a summary whose `exit_status` is the real status — unless rcp said it could not write
//!    the report.
//!
//! A rule broken by a known defect is listed in [`KNOWN`] (call, occurrence, options,
//! fault, what broke), so CI stays green and the defect stays visible; anything else fails
//! the test with a shell reproducer.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::common::{Fs, dir_on, have, parse_report, skip, write_pattern};

/// One run may take this long before it counts as a hang (a run takes ~30 ms).
const RUN_LIMIT: Duration = Duration::from_secs(5);

/// A defect the sweep found, recorded so that CI stays green while it is open. `"*"`
/// matches anything; `when` is `"*"`, `"N"` or `"N..M"`.
struct Known {
    combo: &'static str,
    call: &'static str,
    fault: &'static str,
    when: &'static str,
    broke: &'static str,
    /// Text the run's stderr or its injected call must contain (`"*"`: any).
    says: &'static str,
    /// One line: what goes wrong.
    what: &'static str,
}

/// Findings of the sweep, each one a defect in rcp (see the module doc for the rules).
const KNOWN: &[Known] = &[Known {
    combo: "*",
    call: "*",
    fault: "error=ENOMEM",
    when: "*",
    broke: "*",
    says: "alternative stack",
    what: "Rust's runtime, before main: ENOMEM for the main thread's signal stack (mmap) or \
               its guard page (mprotect) aborts with a panic message; nothing has been touched",
}];

impl Known {
    fn matches(&self, run: &Injection, combo: &str, broke: &str, seen: &str) -> bool {
        let when_ok = match self.when.split_once("..") {
            _ if self.when == "*" => true,
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                (a..=b).contains(&run.when)
            }
            None => self.when.parse() == Ok(run.when),
        };
        let any = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        any(self.combo, combo)
            && any(self.call, &run.call)
            && any(self.fault, &run.fault.to_string())
            && any(self.broke, broke)
            && (self.says == "*" || seen.contains(self.says))
            && when_ok
    }
}

/// What the destination holds before the run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    /// Nothing: `dst` does not exist.
    Nothing,
    /// An empty directory (`--parents` needs one).
    EmptyDir,
    /// Some of the source's files with other contents, and a file of its own (`keep`).
    Files,
    /// Like `Files`, and a regular file where the source has a symlink.
    Tree,
    /// A copy cut short: one file unchanged (same size and time), one a prefix, one with a
    /// changed byte, the rest missing.
    Partial,
}

/// How the operands are given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `src dst`: dst/X is src/X.
    Plain,
    /// `src/. dst` into an existing directory: dst/X is src/X.
    Into,
    /// `--parents src/sub src/big src/link dst`: dst/src/X is src/X.
    Parents,
}

struct Combo {
    name: &'static str,
    fs: Fs,
    args: &'static [&'static str],
    layout: Layout,
    existing: Existing,
    report: bool,
}

impl Combo {
    fn has(&self, arg: &str) -> bool {
        self.args.contains(&arg)
    }
    fn archive(&self) -> bool {
        self.has("-a")
    }
    fn backup(&self) -> bool {
        self.has("-b")
    }
    fn atomic(&self) -> bool {
        self.has("--atomic")
    }

    /// The command line after the program name.
    fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = self.args.iter().map(|s| s.to_string()).collect();
        if self.report {
            argv.push("--report-file=report.json".into());
        }
        let operands: &[&str] = match self.layout {
            Layout::Plain => &["src", "dst"],
            Layout::Into => &["src/.", "dst"],
            Layout::Parents => &["src/sub", "src/big", "src/link", "dst"],
        };
        argv.extend(operands.iter().map(|s| s.to_string()));
        argv
    }

    /// The destination path (relative to `dst`) of a source entry (relative to `src`), for
    /// the entries a successful run must produce.
    fn expected(&self, source: &Tree) -> Vec<(PathBuf, PathBuf)> {
        match self.layout {
            Layout::Plain | Layout::Into => {
                source.keys().map(|rel| (rel.clone(), rel.clone())).collect()
            }
            Layout::Parents => source
                .keys()
                .filter(|rel| {
                    rel.as_os_str().is_empty()
                        || rel.starts_with("sub")
                        || *rel == Path::new("big")
                        || *rel == Path::new("link")
                })
                .map(|rel| (rel.clone(), Path::new("src").join(rel)))
                .collect(),
        }
    }

    /// The source entry (relative to `src`) a destination entry stands for, if any.
    fn source_of(&self, dst_rel: &Path) -> Option<PathBuf> {
        match self.layout {
            Layout::Plain | Layout::Into => Some(dst_rel.to_path_buf()),
            Layout::Parents => dst_rel.strip_prefix("src").ok().map(Path::to_path_buf),
        }
    }
}

const COMBOS: &[Combo] = &[
    Combo {
        name: "r",
        fs: Fs::Ext4,
        args: &["-r"],
        layout: Layout::Plain,
        existing: Existing::Nothing,
        report: false,
    },
    Combo {
        name: "a",
        fs: Fs::Ext4,
        args: &["-a"],
        layout: Layout::Plain,
        existing: Existing::Nothing,
        report: true,
    },
    Combo {
        name: "a-j4",
        fs: Fs::Ext4,
        args: &["-a", "-j4"],
        layout: Layout::Plain,
        existing: Existing::Nothing,
        report: false,
    },
    Combo {
        name: "atomic",
        fs: Fs::Ext4,
        args: &["--atomic", "-r"],
        layout: Layout::Into,
        existing: Existing::Files,
        report: true,
    },
    Combo {
        name: "resume",
        fs: Fs::Ext4,
        args: &["--resume", "-a"],
        layout: Layout::Into,
        existing: Existing::Partial,
        report: true,
    },
    Combo {
        name: "remove-destination",
        fs: Fs::Ext4,
        args: &["-r", "--remove-destination"],
        layout: Layout::Into,
        existing: Existing::Tree,
        report: false,
    },
    Combo {
        name: "backup",
        fs: Fs::Ext4,
        args: &["-b", "-r"],
        layout: Layout::Into,
        existing: Existing::Files,
        report: true,
    },
    Combo {
        name: "reflink-always",
        fs: Fs::Btrfs,
        args: &["--reflink=always", "-r"],
        layout: Layout::Plain,
        existing: Existing::Nothing,
        report: true,
    },
    Combo {
        name: "verify",
        fs: Fs::Ext4,
        args: &["-r", "--verify"],
        layout: Layout::Plain,
        existing: Existing::Nothing,
        report: true,
    },
    Combo {
        name: "parents",
        fs: Fs::Ext4,
        args: &["-r", "--parents"],
        layout: Layout::Parents,
        existing: Existing::EmptyDir,
        report: true,
    },
];

#[test]
fn sweep_r() {
    sweep("r");
}

#[test]
fn sweep_a() {
    sweep("a");
}

#[test]
fn sweep_a_j4() {
    sweep("a-j4");
}

#[test]
fn sweep_atomic() {
    sweep("atomic");
}

#[test]
fn sweep_resume() {
    sweep("resume");
}

#[test]
fn sweep_remove_destination() {
    sweep("remove-destination");
}

#[test]
fn sweep_backup() {
    sweep("backup");
}

#[test]
fn sweep_reflink_always() {
    sweep("reflink-always");
}

#[test]
fn sweep_verify() {
    sweep("verify");
}

#[test]
fn sweep_parents() {
    sweep("parents");
}

// ---------------------------------------------------------------------------------------
// The tree.

/// What one entry is: its kind and contents, and the metadata the rules compare.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    nlink: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    File(Vec<u8>),
    Dir,
    Symlink(PathBuf),
    Other,
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::File(data) => format!("file of {} bytes", data.len()),
            Kind::Dir => "directory".into(),
            Kind::Symlink(to) => format!("symlink to {to:?}"),
            Kind::Other => "special file".into(),
        }
    }
}

/// Entries by path relative to the root ("" is the root itself).
type Tree = BTreeMap<PathBuf, Entry>;

/// Every entry under `root`, the root included; an empty tree if `root` does not exist.
fn scan(root: &Path) -> Tree {
    let mut tree = Tree::new();
    let Ok(meta) = fs::symlink_metadata(root) else { return tree };
    let mut stack = vec![(PathBuf::new(), meta)];
    while let Some((rel, meta)) = stack.pop() {
        let path = root.join(&rel);
        let kind = if meta.is_dir() {
            for entry in fs::read_dir(&path).expect("read_dir") {
                let entry = entry.expect("entry");
                let child = rel.join(entry.file_name());
                stack.push((child, fs::symlink_metadata(entry.path()).expect("lstat")));
            }
            Kind::Dir
        } else if meta.file_type().is_symlink() {
            Kind::Symlink(fs::read_link(&path).expect("readlink"))
        } else if meta.is_file() {
            Kind::File(fs::read(&path).expect("read"))
        } else {
            Kind::Other
        };
        let entry = Entry {
            kind,
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            nlink: meta.nlink(),
        };
        tree.insert(rel, entry);
    }
    tree
}

fn set_mtime(path: &Path, secs: u64) {
    let when = SystemTime::UNIX_EPOCH + Duration::new(secs, 123_456_789);
    let file = fs::File::open(path).expect("open to set times");
    file.set_times(fs::FileTimes::new().set_modified(when).set_accessed(when)).expect("times");
}

/// The source: a 1 MiB file, a sparse one, an empty one, an executable, a hard link pair,
/// a symlink, and a subdirectory two levels deep; fixed modes and times (with nanoseconds).
fn make_source(src: &Path) {
    fs::create_dir_all(src.join("sub/deep")).unwrap();
    write_pattern(&src.join("big"), 1 << 20, 1);
    fs::write(src.join("small"), "hello\n").unwrap();
    fs::hard_link(src.join("small"), src.join("hard")).unwrap();
    symlink("small", src.join("link")).unwrap();
    let sparse = fs::File::create(src.join("sparse")).unwrap();
    sparse.set_len(1 << 20).unwrap();
    sparse.write_all_at(&[0x5a; 4096], 256 << 10).unwrap();
    drop(sparse);
    fs::write(src.join("empty"), "").unwrap();
    write_pattern(&src.join("exec"), 100, 2);
    write_pattern(&src.join("sub/mid"), 70_000, 3);
    fs::write(src.join("sub/deep/tiny"), "tiny\n").unwrap();
    let mode = |p: &str, m: u32| fs::set_permissions(src.join(p), fs::Permissions::from_mode(m));
    mode("small", 0o640).unwrap();
    mode("exec", 0o755).unwrap();
    mode("sub", 0o750).unwrap();
    for (i, file) in
        ["big", "small", "sparse", "empty", "exec", "sub/mid", "sub/deep/tiny"].iter().enumerate()
    {
        set_mtime(&src.join(file), 1_600_000_000 + i as u64 * 1000);
    }
    for dir in ["sub/deep", "sub", ""] {
        set_mtime(&src.join(dir), 1_600_100_000);
    }
}

/// Makes what the destination holds before a run.
fn make_existing(work: &Path, existing: Existing) {
    let dst = work.join("dst");
    let write = |rel: &str, data: &[u8]| fs::write(dst.join(rel), data).unwrap();
    match existing {
        Existing::Nothing => {}
        Existing::EmptyDir => fs::create_dir(&dst).unwrap(),
        Existing::Files | Existing::Tree => {
            fs::create_dir_all(dst.join("sub")).unwrap();
            write("big", b"old big\n");
            write("small", b"old small\n");
            write("sub/mid", b"old mid\n");
            write("keep", b"keep me\n");
            if existing == Existing::Tree {
                write("link", b"a file where the source has a symlink\n");
            }
        }
        Existing::Partial => {
            let src = work.join("src");
            fs::create_dir_all(dst.join("sub")).unwrap();
            // Unchanged: the source's size and time.
            fs::copy(src.join("small"), dst.join("small")).unwrap();
            let small = fs::metadata(src.join("small")).unwrap();
            let file = fs::File::options().write(true).open(dst.join("small")).unwrap();
            file.set_modified(small.modified().unwrap()).unwrap();
            // Cut short: the first 300 KiB.
            let big = fs::read(src.join("big")).unwrap();
            write("big", &big[..300 << 10]);
            // The same size, one byte changed.
            let mut mid = fs::read(src.join("sub/mid")).unwrap();
            mid[1000] ^= 0xff;
            write("sub/mid", &mid);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running rcp.

/// A fault strace injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Error(&'static str),
    Retval(u64),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Fault::Error(e) => write!(f, "error={e}"),
            Fault::Retval(n) => write!(f, "retval={n}"),
        }
    }
}

/// Calls not swept, and why: they cannot fail when given valid arguments (or only the
/// loader makes them), or strace cannot inject the way they really fail.
const NOT_SWEPT: &[(&str, &str)] = &[
    ("execve", "cannot fail"),
    ("exit", "cannot fail"),
    ("exit_group", "cannot fail"),
    ("arch_prctl", "cannot fail"),
    ("set_tid_address", "cannot fail"),
    ("gettid", "cannot fail"),
    ("getpid", "cannot fail"),
    ("getppid", "cannot fail"),
    ("getuid", "cannot fail"),
    ("geteuid", "cannot fail"),
    ("getgid", "cannot fail"),
    ("getegid", "cannot fail"),
    ("umask", "cannot fail"),
    ("rt_sigreturn", "cannot fail"),
    ("rt_sigaction", "cannot fail"),
    ("rt_sigprocmask", "cannot fail"),
    ("sigaltstack", "cannot fail"),
    ("sched_yield", "cannot fail"),
    ("getrusage", "cannot fail"),
    ("uname", "cannot fail"),
    // rcp only reads its limits here (soft = hard): a read cannot fail.
    ("prlimit64", "cannot fail"),
    // brk fails by returning the old break, never an errno.
    ("brk", "fails by returning the old break"),
    // A fault replaces the call: an "failed" FUTEX_WAKE wakes nobody, which the kernel
    // never does, and a lock then hangs.
    ("futex", "an injected fault loses a wake-up"),
];

/// The faults a call can really meet. Short counts are injected only where they are
/// honest (a write that wrote nothing and says 0) or where rcp can see the truth (the
/// offsets `copy_file_range` updates); a read "of N bytes" that filled nothing would be a
/// lie no program can detect.
fn faults(call: &str) -> &'static [Fault] {
    use Fault::{Error as E, Retval as R};
    match call {
        "read" | "readv" | "pread64" | "preadv" | "preadv2" => &[E("EIO"), E("EINTR")],
        "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2" => &[E("EIO"), E("ENOSPC"), R(0)],
        "copy_file_range" => &[E("EIO"), E("ENOSPC"), E("EINTR"), E("EXDEV"), R(0), R(4096)],
        "splice" | "sendfile" | "tee" => &[E("EIO"), E("ENOSPC"), E("EINTR")],
        "openat" | "open" | "openat2" | "creat" => {
            &[E("EACCES"), E("ENOSPC"), E("EMFILE"), E("EINTR"), E("ENOMEM")]
        }
        "newfstatat" | "statx" | "stat" | "lstat" => &[E("EACCES"), E("ENOMEM"), E("EIO")],
        "fstat" | "fstatfs" | "statfs" => &[E("EIO"), E("ENOMEM")],
        "mkdirat" | "mkdir" | "symlinkat" | "symlink" | "mknodat" => &[E("EACCES"), E("ENOSPC")],
        "linkat" | "link" => &[E("EPERM"), E("ENOSPC"), E("EMLINK")],
        "unlinkat" | "unlink" | "rmdir" => &[E("EACCES"), E("EIO"), E("EBUSY")],
        "renameat" | "renameat2" | "rename" => &[E("EACCES"), E("ENOSPC"), E("EIO")],
        "fchmod" | "fchmodat" | "chmod" | "fchown" | "fchownat" | "lchown" | "chown" => {
            &[E("EPERM"), E("EIO")]
        }
        "utimensat" | "futimesat" | "utimes" => &[E("EPERM"), E("EIO")],
        "close" => &[E("EIO"), E("EINTR")],
        "ftruncate" | "truncate" => &[E("EIO"), E("EFBIG")],
        "fallocate" => &[E("EOPNOTSUPP"), E("ENOSPC")],
        "lseek" => &[E("EIO"), E("EINVAL")],
        "getdents64" | "getdents" => &[E("EIO"), E("ENOMEM")],
        "ioctl" => &[E("EOPNOTSUPP"), E("EIO"), E("ENOSPC"), E("EINTR")],
        "fsync" | "fdatasync" | "syncfs" => &[E("EIO"), E("ENOSPC")],
        "flistxattr" | "llistxattr" | "listxattr" => &[E("ERANGE"), E("EIO"), E("EOPNOTSUPP")],
        "fgetxattr" | "lgetxattr" | "getxattr" => &[E("ENODATA"), E("ERANGE"), E("EIO")],
        "fsetxattr" | "lsetxattr" | "setxattr" => &[E("ENOSPC"), E("EPERM"), E("EOPNOTSUPP")],
        "fremovexattr" | "lremovexattr" | "removexattr" => &[E("EPERM"), E("ENODATA")],
        "readlinkat" | "readlink" => &[E("EIO"), E("ENOMEM")],
        "mmap" | "mremap" | "munmap" | "mprotect" | "madvise" | "brk" => &[E("ENOMEM")],
        "clone3" => &[E("ENOSYS"), E("EAGAIN")],
        "clone" | "fork" | "vfork" => &[E("EAGAIN"), E("ENOMEM")],
        "futex" => &[E("EINTR"), E("EAGAIN")],
        "poll" | "ppoll" | "select" | "pselect6" | "epoll_wait" => &[E("EINTR"), E("ENOMEM")],
        "pipe2" | "pipe" => &[E("EMFILE"), E("ENFILE")],
        "fcntl" => &[E("EBUSY"), E("EPERM")],
        "getrandom" => &[E("ENOSYS"), E("EINTR")],
        "rseq" | "set_robust_list" => &[E("ENOSYS")],
        "prlimit64" | "setrlimit" | "getrlimit" => &[E("EPERM")],
        "sched_getaffinity" => &[E("EINVAL")],
        "access" | "faccessat" | "faccessat2" => &[E("EACCES")],
        "getcwd" => &[E("ENOMEM")],
        "fadvise64" => &[E("EINVAL")],
        "nanosleep" | "clock_nanosleep" => &[E("EINTR")],
        _ => &[E("EIO")],
    }
}

/// How often each call is made: the most any one thread makes (strace counts `when=`
/// per thread), and how many of the main thread's come before `main` (the dynamic loader's:
/// injecting there tests ld.so, not rcp).
#[derive(Debug, Default)]
struct Calls {
    most: BTreeMap<String, u32>,
    loader: BTreeMap<String, u32>,
}

/// Parses `strace -f -o` output (`PID call(...`, `PID <... call resumed>`); `loader`: the
/// trace starts at execve (not filtered with `-P`), so the main thread's calls before the
/// Rust runtime's first are the loader's.
fn count_calls(trace: &str, loader: bool) -> Calls {
    let mut per_thread: BTreeMap<(u32, String), u32> = BTreeMap::new();
    let mut calls = Calls::default();
    let mut main = None;
    let mut in_main_code = false;
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let rest = rest.trim_start();
        let Some((name, _)) = rest.split_once('(') else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let main = *main.get_or_insert(pid);
        in_main_code |= !loader;
        // The Rust runtime's first call (checking fds 0-2 are open) ends the loader's part.
        if pid == main
            && !in_main_code
            && (name == "poll" || rest.starts_with("rt_sigaction(SIGPIPE"))
        {
            in_main_code = true;
        }
        if pid == main && !in_main_code {
            *calls.loader.entry(name.to_string()).or_default() += 1;
        }
        *per_thread.entry((pid, name.to_string())).or_default() += 1;
    }
    assert!(in_main_code, "the trace never reaches rcp's own code:\n{trace}");
    for ((_, name), n) in per_thread {
        let most = calls.most.entry(name).or_default();
        *most = (*most).max(n);
    }
    calls
}

/// One injected run.
#[derive(Clone, Debug)]
struct Injection {
    call: String,
    when: u32,
    fault: Fault,
    /// Counted among the calls on the tree only (`strace -P`): no loader call comes first,
    /// so a worker thread's first calls can be reached too.
    tree: bool,
}

impl Injection {
    fn spec(&self) -> String {
        format!("{}:{}:when={}", self.call, self.fault, self.when)
    }
}

/// The runs for one combination: each call at occurrences 1, 2 and the last (every
/// fault) and up to three between (one fault each, in turn); every occurrence and every
/// fault with `RCP_SWEEP_FULL=1`. Occurrences only the loader reaches are left out; for
/// calls the loader makes too, a second pass (`tree`) counts only the calls on the tree.
fn plan(calls: &Calls, tree_calls: &Calls, full: bool) -> (Vec<Injection>, Vec<String>) {
    let mut runs = Vec::new();
    let mut not_swept = Vec::new();
    for (call, &most) in &calls.most {
        let loader = calls.loader.get(call).copied().unwrap_or(0);
        if let Some((_, why)) = NOT_SWEPT.iter().find(|(c, _)| c == call) {
            not_swept.push(format!("{call} ({why})"));
            continue;
        }
        if loader >= most {
            not_swept.push(format!("{call} (loader only)"));
        } else {
            spread(call, loader + 1, most, full, false, &mut runs);
        }
        if let Some(&most) = tree_calls.most.get(call).filter(|_| loader > 0) {
            spread(call, 1, most, full, true, &mut runs);
        }
    }
    (runs, not_swept)
}

fn spread(call: &str, first: u32, most: u32, full: bool, tree: bool, runs: &mut Vec<Injection>) {
    let faults = faults(call);
    let mut points: BTreeSet<u32> = [first, (first + 1).min(most), most].into();
    if full {
        points.extend(first..=most);
    } else {
        for k in 1..=3 {
            points.insert(first + (most - first) * k / 4);
        }
    }
    for (i, &when) in points.iter().enumerate() {
        let edge = full || when == first || when == first + 1 || when == most;
        for (j, &fault) in faults.iter().enumerate() {
            if edge || j == i % faults.len() {
                runs.push(Injection { call: call.to_string(), when, fault, tree });
            }
        }
    }
}

/// The directory holding the rcp binary, put first in PATH so argv[0] is `rcp` and its
/// messages read `rcp: ...` as they do for a user.
fn rcp_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_rcp")).parent().unwrap().to_path_buf()
}

fn path_env() -> String {
    format!("{}:{}", rcp_dir().display(), std::env::var("PATH").unwrap_or_default())
}

/// `strace` with the options every run shares, running rcp in `work`.
fn strace(work: &Path, strace_args: &[String], argv: &[String]) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq"])
        .args(strace_args)
        .arg("rcp")
        .args(argv)
        .current_dir(work)
        .env("PATH", path_env())
        .env("LC_ALL", "C")
        .env_remove("VERSION_CONTROL")
        .env_remove("SIMPLE_BACKUP_SUFFIX")
        .env_remove("POSIXLY_CORRECT")
        // cargo's library path makes the loader search more directories: occurrences
        // would not be those of a shell's run, where the reproducers are meant to work.
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cmd` in its own process group, killing the group after `limit`; the output and
/// whether it had to be killed.
fn run_limited(mut cmd: Command, limit: Duration) -> (Output, bool) {
    cmd.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn strace");
    let pid = child.id() as i32;
    let (done, wait) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: kill(2) on the process group this function started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("wait for strace");
    drop(done);
    let killed = watchdog.join().unwrap();
    (out, killed)
}

// ---------------------------------------------------------------------------------------
// The rules.

/// A rule one run broke.
#[derive(Debug)]
struct Broke {
    /// Which rule: `source`, `hang`, `signal`, `status`, `panic`, `no-message`,
    /// `exit0-differs`, `torn`, `temporary`, `unnamed-missing`, `backup-lost`, `report`,
    /// `failed-without-fault`.
    rule: &'static str,
    detail: String,
}

fn broke(rule: &'static str, detail: impl Into<String>) -> Broke {
    Broke { rule, detail: detail.into() }
}

/// Everything one run is checked against.
struct Context<'a> {
    combo: &'a Combo,
    source: &'a Tree,
    /// The destination before the run.
    before: &'a Tree,
    work: &'a Path,
}

/// Whether stderr names `path` (as cp quotes a plain name).
fn named(stderr: &str, path: &str) -> bool {
    stderr.contains(&format!("'{path}'"))
}

/// `a/b/c`, `a/b`, `a` for `root/a/b/c` (as printed: `root/a/b/c`, ..., `root`).
fn with_ancestors(root: &str, rel: &Path) -> Vec<String> {
    let mut out = vec![root.to_string()];
    let mut acc = PathBuf::from(root);
    for part in rel.iter() {
        acc.push(part);
        out.push(acc.to_string_lossy().into_owned());
    }
    out
}

fn check(ctx: &Context, out: &Output, killed: bool, injected: &[String]) -> Vec<Broke> {
    let combo = ctx.combo;
    let mut found = Vec::new();
    let stderr = String::from_utf8_lossy(&out.stderr).replace("/./", "/").replace("/.'", "'");
    let code = out.status.code();
    if killed {
        found.push(broke("hang", format!("still running after {RUN_LIMIT:?}")));
    } else if let Some(sig) = out.status.signal() {
        found.push(broke("signal", format!("killed by signal {sig}")));
    } else if !matches!(code, Some(0 | 1)) {
        found.push(broke("status", format!("exit status {code:?}")));
    }
    for bad in ["panicked", "RUST_BACKTRACE", "(os error"] {
        if stderr.contains(bad) {
            found.push(broke("panic", format!("stderr contains {bad:?}")));
        }
    }
    let now = scan(&ctx.work.join("src"));
    if now != *ctx.source {
        let diff = ctx
            .source
            .iter()
            .find(|(p, e)| now.get(*p) != Some(e))
            .map(|(p, e)| format!("{p:?}: {e:?} is now {:?}", now.get(p)))
            .unwrap_or_else(|| "an entry was added".into());
        found.push(broke("source", diff));
    }
    if injected.is_empty() && code != Some(0) {
        found.push(broke("failed-without-fault", format!("exit {code:?}: {stderr}")));
    }
    let dst = scan(&ctx.work.join("dst"));
    for rel in dst.keys() {
        if rel.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".rcp-")) {
            found.push(broke("temporary", format!("dst/{} left behind", rel.display())));
        }
    }
    found.extend(check_kept(ctx, &dst));
    match code {
        Some(0) if !killed => found.extend(check_complete(ctx, &dst)),
        Some(1) if !killed => found.extend(check_failed(ctx, &dst, &stderr, injected)),
        _ => {}
    }
    if combo.report && matches!(code, Some(0 | 1)) && !named(&stderr, "report.json") {
        found.extend(check_report(&ctx.work.join("report.json"), code.unwrap()));
    }
    found
}

/// Pre-existing files rcp has no business with stay as they were, and with `-b` every old
/// file is still somewhere: in place or as its backup.
fn check_kept(ctx: &Context, dst: &Tree) -> Vec<Broke> {
    let mut found = Vec::new();
    for (rel, old) in ctx.before {
        let Kind::File(old_data) = &old.kind else { continue };
        let from_source = ctx.combo.source_of(rel).is_some_and(|s| ctx.source.contains_key(&s));
        let same = |r: &Path| matches!(dst.get(r), Some(Entry { kind: Kind::File(d), .. }) if d == old_data);
        if !from_source && !same(rel) {
            found.push(broke(
                "torn",
                format!("dst/{} is not in the source, yet changed", rel.display()),
            ));
        }
        if ctx.combo.backup() && from_source {
            let mut backup = rel.clone().into_os_string();
            backup.push("~");
            if !same(rel) && !same(Path::new(&backup)) {
                found.push(broke(
                    "backup-lost",
                    format!("the old dst/{} is neither in place nor its backup", rel.display()),
                ));
            }
        }
    }
    found
}

/// Exit 0: the destination is the source, as the options promise.
fn check_complete(ctx: &Context, dst: &Tree) -> Vec<Broke> {
    let combo = ctx.combo;
    let mut found = Vec::new();
    let expected = combo.expected(ctx.source);
    let mut links: BTreeMap<u64, u64> = BTreeMap::new();
    for (src_rel, dst_rel) in &expected {
        let s = &ctx.source[src_rel];
        let Some(d) = dst.get(dst_rel) else {
            found.push(broke("exit0-differs", format!("dst/{} is missing", dst_rel.display())));
            continue;
        };
        if s.kind != d.kind {
            found.push(broke(
                "exit0-differs",
                format!(
                    "dst/{} is a {}, not the source's {}",
                    dst_rel.display(),
                    d.kind.describe(),
                    s.kind.describe()
                ),
            ));
            continue;
        }
        let root_of_parents = combo.layout == Layout::Parents && src_rel.as_os_str().is_empty();
        if combo.archive() && !matches!(s.kind, Kind::Symlink(_)) && !root_of_parents {
            if (s.mode, s.uid, s.gid) != (d.mode, d.uid, d.gid) {
                found.push(broke(
                    "exit0-differs",
                    format!(
                        "dst/{}: mode/owner {:o} {}:{}, source {:o} {}:{}",
                        dst_rel.display(),
                        d.mode,
                        d.uid,
                        d.gid,
                        s.mode,
                        s.uid,
                        s.gid
                    ),
                ));
            }
            if s.mtime != d.mtime {
                found.push(broke(
                    "exit0-differs",
                    format!("dst/{}: mtime {:?}, source {:?}", dst_rel.display(), d.mtime, s.mtime),
                ));
            }
        }
        if combo.archive() && matches!(s.kind, Kind::File(_)) && s.nlink > 1 {
            if let Some(&first) = links.get(&s.ino) {
                if first != d.ino {
                    found.push(broke(
                        "exit0-differs",
                        format!("dst/{} is not hard-linked as in the source", dst_rel.display()),
                    ));
                }
            } else {
                links.insert(s.ino, d.ino);
            }
        }
    }
    let wanted: BTreeSet<&PathBuf> = expected.iter().map(|(_, d)| d).collect();
    for rel in dst.keys() {
        let backup = rel.to_string_lossy().strip_suffix('~').map(PathBuf::from);
        let is_backup = combo.backup() && backup.is_some_and(|b| ctx.before.contains_key(&b));
        let parent_dir = combo.layout == Layout::Parents && rel == Path::new("src");
        if !wanted.contains(rel) && !ctx.before.contains_key(rel) && !is_backup && !parent_dir {
            found
                .push(broke("exit0-differs", format!("dst/{} should not be there", rel.display())));
        }
    }
    found
}

/// Exit 1: a message, and every regular file is right, untouched, or named.
fn check_failed(ctx: &Context, dst: &Tree, stderr: &str, injected: &[String]) -> Vec<Broke> {
    let combo = ctx.combo;
    let mut found = Vec::new();
    // A fault in the write of the message itself leaves nothing to see.
    let message_lost = injected.iter().any(|l| l.contains("write(2<") || l.contains("write(1<"));
    if !message_lost && !stderr.lines().any(|l| l.starts_with("rcp: ")) {
        found.push(broke("no-message", format!("exit 1 and stderr is {stderr:?}")));
    }
    for (rel, entry) in dst {
        let Kind::File(data) = &entry.kind else { continue };
        if rel.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".rcp-")) {
            continue;
        }
        let src_rel = combo.source_of(rel);
        let source = src_rel.as_ref().and_then(|s| ctx.source.get(s));
        if matches!(source, Some(Entry { kind: Kind::File(s), .. }) if s == data) {
            continue;
        }
        let old = ctx.before.get(rel);
        if matches!(old, Some(Entry { kind: Kind::File(o), .. }) if o == data) {
            continue;
        }
        if combo.backup() {
            let original = rel.to_string_lossy().strip_suffix('~').map(PathBuf::from);
            let old = original.and_then(|o| ctx.before.get(&o));
            if matches!(old, Some(Entry { kind: Kind::File(o), .. }) if o == data) {
                continue;
            }
        }
        if source.is_none() {
            continue; // a pre-existing file not in the source: check_kept's
        }
        let dst_name = format!("dst/{}", rel.display());
        let src_name = format!("src/{}", src_rel.as_ref().unwrap().display());
        if !combo.atomic() && (named(stderr, &dst_name) || named(stderr, &src_name)) {
            continue;
        }
        let want = match source {
            Some(Entry { kind, .. }) => kind.describe(),
            None => "nothing".into(),
        };
        found.push(broke(
            "torn",
            format!(
                "{dst_name} is a file of {} bytes (source: {want}), and no message names it",
                data.len()
            ),
        ));
    }
    // A run that refused to start (its report file could not be made...) made nothing:
    // its message is about the run, not about each entry.
    let refused = *dst == *ctx.before;
    for (src_rel, dst_rel) in combo.expected(ctx.source) {
        if refused || dst.contains_key(&dst_rel) {
            continue;
        }
        let names =
            with_ancestors("dst", &dst_rel).into_iter().chain(with_ancestors("src", &src_rel));
        if !names.into_iter().any(|n| named(stderr, &n)) {
            found.push(broke(
                "unnamed-missing",
                format!("dst/{} is missing and no message names it", dst_rel.display()),
            ));
        }
    }
    found
}

/// The report: JSON lines (the schema, counts that match) ending in a summary with the
/// real exit status.
fn check_report(path: &Path, code: i32) -> Vec<Broke> {
    let Ok(text) = fs::read_to_string(path) else {
        return vec![broke("report", "no report file, and no message about it")];
    };
    if let Some(bad) = text.lines().find(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
    {
        return vec![broke("report", format!("not JSON: {bad:?}"))];
    }
    let parsed = std::panic::catch_unwind(|| parse_report(&text));
    let Ok(lines) = parsed else {
        return vec![broke(
            "report",
            "the report breaks the schema or its counts (see the panic above)",
        )];
    };
    match lines.last() {
        Some(last) if last["type"] == "summary" && last["exit_status"] == code => vec![],
        Some(last) if last["type"] == "summary" => {
            vec![broke(
                "report",
                format!("summary says exit_status {}, rcp exited {code}", last["exit_status"]),
            )]
        }
        _ => vec![broke("report", "the report does not end in a summary")],
    }
}

// ---------------------------------------------------------------------------------------
// The sweep.

fn sweep(name: &str) {
    let combo = COMBOS.iter().find(|c| c.name == name).expect("a combination");
    let test = format!("sweep {name}");
    if !have("strace") {
        return skip(&test, "strace is not installed");
    }
    let Some(dir) = dir_on(combo.fs, &format!("sweep-{name}-")) else { return };
    let work = dir.path();
    let full = std::env::var_os("RCP_SWEEP_FULL").is_some_and(|v| v == "1");
    make_source(&work.join("src"));
    let mut source = scan(&work.join("src"));
    let reset = |work: &Path| {
        let dst = work.join("dst");
        if dst.symlink_metadata().is_ok() {
            fs::remove_dir_all(&dst).expect("remove dst");
        }
        let _ = fs::remove_file(work.join("report.json"));
        make_existing(work, combo.existing);
        scan(&dst)
    };
    let argv = combo.argv();

    // Learn the calls: one traced run, which must pass every rule.
    let before = reset(work);
    let log = work.join("trace.log");
    let trace_args = vec!["-o".to_string(), log.display().to_string()];
    let (out, killed) = run_limited(strace(work, &trace_args, &argv), RUN_LIMIT);
    let ctx = Context { combo, source: &source, before: &before, work };
    let clean = check(&ctx, &out, killed, &[]);
    assert!(clean.is_empty(), "{test}: the run without faults breaks the rules: {clean:?}");
    let calls = count_calls(&fs::read_to_string(&log).unwrap(), true);
    // The same, counting only the calls on the tree (strace -P: a path, or an fd or a
    // directory fd that is one), for the calls the loader makes too.
    let mut paths: BTreeSet<PathBuf> =
        source.keys().map(|rel| work.join("src").join(rel)).collect();
    paths.extend(combo.expected(&source).iter().map(|(_, d)| work.join("dst").join(d)));
    paths.extend(before.keys().map(|rel| work.join("dst").join(rel)));
    paths.insert(work.join("report.json"));
    let only_tree: Vec<String> =
        paths.iter().flat_map(|p| ["-P".to_string(), p.display().to_string()]).collect();
    reset(work);
    let tree_args = [trace_args, only_tree.clone()].concat();
    let (out, killed) = run_limited(strace(work, &tree_args, &argv), RUN_LIMIT);
    assert!(out.status.success() && !killed, "{test}: the traced run failed");
    let tree_calls = count_calls(&fs::read_to_string(&log).unwrap(), false);
    let (runs, not_swept) = plan(&calls, &tree_calls, full);

    let started = Instant::now();
    let mut unexpected = Vec::new();
    let mut known_seen: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut injected_runs = 0;
    for run in &runs {
        let before = reset(work);
        let mut strace_args = vec![
            "--seccomp-bpf".to_string(),
            "-y".into(),
            "-o".into(),
            log.display().to_string(),
            "-e".into(),
            format!("trace={}", run.call),
            "-e".into(),
            format!("inject={}", run.spec()),
        ];
        if run.tree {
            strace_args.extend(only_tree.iter().cloned());
        }
        let (out, killed) = run_limited(strace(work, &strace_args, &argv), RUN_LIMIT);
        let trace = fs::read_to_string(&log).unwrap_or_default();
        let injected: Vec<String> = trace
            .lines()
            .filter(|l| l.contains("(INJECTED)"))
            .map(|l| l.chars().take(200).collect())
            .collect();
        injected_runs += usize::from(!injected.is_empty());
        let ctx = Context { combo, source: &source, before: &before, work };
        let mut found = check(&ctx, &out, killed, &injected);
        if injected.iter().any(|l| l.contains("close(") && l.contains("<pipe:")) {
            // Linux releases the fd whatever close returns; strace's fault leaves it open,
            // and the pipe's reader (the SIGUSR1 thread) waits for an end that never comes.
            found.retain(|b| b.rule == "source");
        }
        if found.iter().any(|b| b.rule == "source") {
            // Start again from an intact source, so one finding does not hide the rest.
            fs::remove_dir_all(work.join("src")).unwrap();
            make_source(&work.join("src"));
            source = scan(&work.join("src"));
        }
        let mut rules = Vec::new();
        for b in found {
            let seen = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), injected.join("\n"));
            match KNOWN.iter().position(|k| k.matches(run, name, b.rule, &seen)) {
                Some(k) => known_seen.entry(k).or_default().push(run.spec()),
                None => rules.push(format!("{}: {}", b.rule, b.detail)),
            }
        }
        if !rules.is_empty() {
            let mut stderr = String::from_utf8_lossy(&out.stderr).trim_end().replace('\n', " | ");
            if stderr.len() > 400 {
                stderr = format!("{}...", stderr.chars().take(400).collect::<String>());
            }
            unexpected.push(format!(
                "{name}: inject={}{} → {}\n    injected: {}\n    stderr: {stderr}\n    reproduce: cd {} && PATH={}:$PATH strace -f -qq -o /dev/null{} -e inject={} rcp {}",
                run.spec(),
                if run.tree { " (tree calls only)" } else { "" },
                rules.join("; "),
                injected.first().map_or("(nothing)", String::as_str),
                work.display(),
                rcp_dir().display(),
                if run.tree { format!(" {}", only_tree.join(" ")) } else { String::new() },
                run.spec(),
                argv.join(" "),
            ));
        }
    }
    let elapsed = started.elapsed();
    let mut note = format!(
        "sweep {name}: {} runs ({injected_runs} with the fault landing) over {} calls in {:.1} s{}; not swept: {}\n",
        runs.len(),
        calls.most.len() - not_swept.len(),
        elapsed.as_secs_f64(),
        if full { " (RCP_SWEEP_FULL)" } else { "" },
        not_swept.join(", "),
    );
    if std::env::var_os("RCP_SWEEP_VERBOSE").is_some() {
        let counts: Vec<String> = calls
            .most
            .iter()
            .map(|(c, n)| format!("{c}×{n}-{}", calls.loader.get(c).unwrap_or(&0)))
            .collect();
        note += &format!("  calls (most per thread - the loader's): {}\n", counts.join(" "));
    }
    for (k, lines) in &known_seen {
        let known = &KNOWN[*k];
        note += &format!(
            "  KNOWN ({} runs): {} {} {} when={} {}: {}\n",
            lines.len(),
            known.combo,
            known.call,
            known.fault,
            known.when,
            known.broke,
            known.what
        );
    }
    // Uncaptured, as `skip` does: the counts are worth seeing on every run.
    let _ = std::io::stderr().write_all(note.as_bytes());
    assert!(
        unexpected.is_empty(),
        "{test}: {} rule(s) broken:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

/// The rules are not vacuous: a truncated copy, a stray temporary, a changed source, a
/// silent failure and a panic are each caught, and a named failure is let through.
#[test]
fn sweep_rules_catch_what_they_are_for() {
    let combo = COMBOS.iter().find(|c| c.name == "r").unwrap();
    let Some(dir) = dir_on(Fs::Ext4, "sweep-rules-") else { return };
    let work = dir.path();
    make_source(&work.join("src"));
    let source = scan(&work.join("src"));
    let status = crate::common::rcp().current_dir(work).args(["-r", "src", "dst"]).status();
    assert!(status.unwrap().success());
    let before = Tree::new();
    let ctx = Context { combo, source: &source, before: &before, work };
    let output = |code: i32, stderr: &str| Output {
        status: std::process::ExitStatus::from_raw(code << 8),
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
    };
    let fault = vec!["write(3, ...) = -1 EIO (INJECTED)".to_string()];
    let rules = |out: &Output| -> Vec<&'static str> {
        check(&ctx, out, false, &fault).iter().map(|b| b.rule).collect()
    };
    assert_eq!(rules(&output(0, "")), Vec::<&str>::new(), "a good copy passes");
    let big = fs::OpenOptions::new().write(true).open(work.join("dst/big")).unwrap();
    big.set_len(4096).unwrap();
    assert!(rules(&output(0, "")).contains(&"exit0-differs"));
    assert_eq!(rules(&output(1, "rcp: error writing 'dst/big': Input/output error\n")), [""; 0]);
    assert_eq!(rules(&output(1, "rcp: something else\n")), ["torn"]);
    assert_eq!(rules(&output(1, "")), ["no-message", "torn"]);
    fs::remove_file(work.join("dst/big")).unwrap();
    assert_eq!(rules(&output(1, "rcp: something else\n")), ["unnamed-missing"]);
    fs::write(work.join("dst/big"), fs::read(work.join("src/big")).unwrap()).unwrap();
    fs::write(work.join("dst/sub/.rcp-1-0"), "x").unwrap();
    assert!(rules(&output(1, "rcp: x\n")).contains(&"temporary"));
    fs::remove_file(work.join("dst/sub/.rcp-1-0")).unwrap();
    assert!(rules(&output(101, "thread 'main' panicked at x")).contains(&"panic"));
    assert!(rules(&output(101, "")).contains(&"status"));
    fs::set_permissions(work.join("src/exec"), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(rules(&output(0, "")), ["source"]);
}

//! Shared test helpers: the rcp binary, loop-mounted ext4/btrfs/xfs filesystems made once
//! per test run, strace, and checks on the results (FIEMAP shared extents, blocks, records).

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tempfile::TempDir;

/// The filesystems the tests run on. ext4 is a loop image too, so tests never depend on what
/// the machine's root filesystem happens to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fs {
    Ext4,
    Btrfs,
    Xfs,
}

impl Fs {
    pub const ALL: [Fs; 3] = [Fs::Ext4, Fs::Btrfs, Fs::Xfs];

    fn name(self) -> &'static str {
        match self {
            Fs::Ext4 => "ext4",
            Fs::Btrfs => "btrfs",
            Fs::Xfs => "xfs",
        }
    }

    fn mkfs(self, image: &Path) -> Command {
        let mut cmd;
        match self {
            Fs::Ext4 => {
                cmd = Command::new("mkfs.ext4");
                cmd.args(["-q", "-F"]);
            }
            Fs::Btrfs => {
                cmd = Command::new("mkfs.btrfs");
                cmd.args(["-q", "-f"]);
            }
            Fs::Xfs => {
                cmd = Command::new("mkfs.xfs");
                cmd.args(["-q", "-f", "-m", "reflink=1"]);
            }
        }
        cmd.arg(image);
        cmd
    }
}

/// Mounted images, kept for the whole test process and unmounted at exit.
struct Mounts {
    root: PathBuf,
    points: Vec<(Fs, PathBuf)>,
}

static MOUNTS: OnceLock<Result<Mounts, String>> = OnceLock::new();
/// Each image is a sparse file: it only takes the space the tests write.
const IMAGE_SIZE: u64 = 4 << 30;

fn require_fs() -> bool {
    std::env::var_os("RCP_REQUIRE_FS").is_some_and(|v| v == "1")
}

/// Says loudly (uncaptured, straight to stderr) that a test could not run, or fails it
/// when `RCP_REQUIRE_FS=1`.
pub fn skip(test: &str, why: &str) {
    if require_fs() {
        panic!("{test}: cannot run ({why}) and RCP_REQUIRE_FS=1 forbids skipping");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why} (set RCP_REQUIRE_FS=1 to fail)");
}

/// A fresh directory on `fs`, or `None` (after `skip`) if loop mounts are unavailable.
pub fn dir_on(fs: Fs, test: &str) -> Option<TempDir> {
    match MOUNTS.get_or_init(mount_all) {
        Ok(mounts) => {
            let point = &mounts.points.iter().find(|(f, _)| *f == fs)?.1;
            Some(tempfile::Builder::new().prefix(test).tempdir_in(point).expect("tempdir on mount"))
        }
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

fn mount_all() -> Result<Mounts, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("loop mounts need root".into());
    }
    for tool in ["mkfs.ext4", "mkfs.btrfs", "mkfs.xfs", "mount", "umount", "filefrag"] {
        if !have(tool) {
            return Err(format!("{tool} is not installed"));
        }
    }
    clean_stale_mounts();
    let root = std::env::temp_dir().join(format!("rcp-test-fs-{}", std::process::id()));
    fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    let mut mounts = Mounts { root, points: Vec::new() };
    for fs in Fs::ALL {
        let image = mounts.root.join(format!("{}.img", fs.name()));
        let point = mounts.root.join(fs.name());
        fs::File::create(&image)
            .and_then(|f| f.set_len(IMAGE_SIZE))
            .map_err(|e| format!("create {}: {e}", image.display()))?;
        fs::create_dir_all(&point).map_err(|e| e.to_string())?;
        run_ok(&mut fs.mkfs(&image))?;
        run_ok(Command::new("mount").arg("-o").arg("loop").arg(&image).arg(&point))?;
        mounts.points.push((fs, point));
    }
    // SAFETY: registering a plain extern "C" function with no captured state.
    unsafe { libc::atexit(unmount_at_exit) };
    Ok(mounts)
}

extern "C" fn unmount_at_exit() {
    if let Some(Ok(mounts)) = MOUNTS.get() {
        for (_, point) in &mounts.points {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
        let _ = fs::remove_dir_all(&mounts.root);
    }
}

/// Unmounts images left by an earlier test run that was killed before its exit handler ran.
fn clean_stale_mounts() {
    let Ok(table) = fs::read_to_string("/proc/self/mounts") else { return };
    let prefix = std::env::temp_dir().join("rcp-test-fs-");
    let prefix = prefix.to_string_lossy();
    for point in table.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        let Some(rest) = point.strip_prefix(prefix.as_ref()) else { continue };
        let pid = rest.split('/').next().unwrap_or_default();
        if !Path::new("/proc").join(pid).exists() {
            let _ = Command::new("umount").arg("-l").arg(point).status();
            let _ = fs::remove_dir_all(prefix.to_string() + pid);
        }
    }
}

/// Runs `program` with `args` in `dir` as `nobody` (through `setpriv`; needs root).
pub fn as_nobody(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", program])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The rcp binary under test.
pub fn rcp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rcp"))
}

/// Runs rcp with `args` and returns its output.
pub fn run_rcp<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    rcp().args(args).output().expect("run rcp")
}

/// Runs rcp under `strace -f` with `injections` (e.g. `ioctl:error=EOPNOTSUPP`), or `None`
/// (after `skip`) when strace is missing.
pub fn rcp_injected<S: AsRef<OsStr>>(
    test: &str,
    injections: &[&str],
    args: &[S],
) -> Option<Output> {
    if !have("strace") {
        skip(test, "strace is not installed");
        return None;
    }
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null"]);
    for inject in injections {
        cmd.arg("-e").arg(format!("inject={inject}"));
    }
    cmd.arg(env!("CARGO_BIN_EXE_rcp")).args(args);
    Some(cmd.output().expect("run strace"))
}

/// Runs rcp with `args` under `strace -f -e trace=CALLS`; returns its output and the trace,
/// or `None` (after `skip`) when strace is missing.
pub fn rcp_traced<S: AsRef<OsStr>>(
    test: &str,
    calls: &str,
    args: &[S],
) -> Option<(Output, String)> {
    if !have("strace") {
        skip(test, "strace is not installed");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("trace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", &format!("trace={calls}"), "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(args)
        .output()
        .expect("run strace");
    Some((out, fs::read_to_string(&log).expect("the trace")))
}

/// The JSON records rcp printed with `--report=json`.
pub fn records(out: &Output) -> Vec<Value> {
    json_lines(out).into_iter().filter(|r| r["type"] == "entry").collect()
}

/// Every JSON line on stdout: the entry records, then the summary.
pub fn json_lines(out: &Output) -> Vec<Value> {
    parse_report(&String::from_utf8_lossy(&out.stdout))
}

/// A JSON report's lines, each checked against `doc/report.schema.json`, and, when the
/// report is complete, the summary checked against the records: last, once, and its
/// counts equal to the entry records written.
pub fn parse_report(text: &str) -> Vec<Value> {
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect();
    for record in &lines {
        let errors: Vec<String> = schema().iter_errors(record).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "record breaks the schema: {record}\n{}", errors.join("\n"));
    }
    if let Some(last) = lines.last().filter(|l| l["type"] == "summary") {
        assert_eq!(lines.iter().filter(|r| r["type"] == "summary").count(), 1, "one summary");
        for outcome in ["copied", "skipped", "failed"] {
            let written = lines.iter().filter(|r| r["outcome"] == outcome).count();
            assert_eq!(last["outcomes"][outcome], written, "{outcome} records vs the summary");
        }
    }
    lines
}

/// The published schema of the JSON report, compiled once.
fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/report.schema.json");
        let text = fs::read_to_string(&path).expect("doc/report.schema.json");
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema compiles")
    })
}

/// The summary record, which must be the last line of a JSON report.
pub fn summary(out: &Output) -> Value {
    let lines = json_lines(out);
    let last = lines.last().cloned().expect("a JSON report has a summary");
    assert_eq!(last["type"], "summary", "the last record is the summary: {last}");
    last
}

/// The single record of a one-file copy, after checking the run succeeded.
pub fn only_record(out: &Output) -> Value {
    assert!(out.status.success(), "rcp failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut all = records(out);
    assert_eq!(all.len(), 1, "expected one record, got {all:?}");
    all.remove(0)
}

/// Copies `src` to `dst` with `--report=json` and `extra` options; returns the one record.
pub fn copy_record(extra: &[&str], src: &Path, dst: &Path) -> Value {
    let mut cmd = rcp();
    cmd.arg("--report=json").args(extra).arg(src).arg(dst);
    only_record(&cmd.output().expect("run rcp"))
}

/// The strategies named in a record's `fell_back` list, with their errnos.
pub fn fallbacks(record: &Value) -> Vec<(String, String)> {
    record["fell_back"]
        .as_array()
        .expect("fell_back is an array")
        .iter()
        .map(|f| (f["strategy"].as_str().unwrap_or("?").to_string(), f["errno"].to_string()))
        .collect()
}

/// Writes `len` bytes of a deterministic, incompressible pattern (no zero runs).
pub fn write_pattern(path: &Path, len: usize, seed: u64) {
    let mut data = Vec::with_capacity(len);
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    fs::write(path, data).expect("write pattern");
}

/// Asserts two files have identical contents (compared in chunks, not all in memory).
pub fn assert_same_bytes(a: &Path, b: &Path) {
    use std::io::Read;
    let (mut fa, mut fb) = (fs::File::open(a).expect("open a"), fs::File::open(b).expect("open b"));
    assert_eq!(fa.metadata().unwrap().len(), fb.metadata().unwrap().len(), "{a:?} vs {b:?} length");
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0u64;
    loop {
        let n = fa.read(&mut ba).expect("read a");
        if n == 0 {
            break;
        }
        fb.read_exact(&mut bb[..n]).expect("read b");
        assert!(ba[..n] == bb[..n], "{a:?} and {b:?} differ in the MiB at {offset}");
        offset += n as u64;
    }
}

/// Whether every extent of `path` carries FIEMAP's shared flag (as `filefrag -v` shows it).
pub fn all_extents_shared(path: &Path) -> bool {
    let out = Command::new("filefrag").arg("-v").arg(path).output().expect("filefrag");
    let text = String::from_utf8_lossy(&out.stdout);
    let extents: Vec<&str> =
        text.lines().filter(|l| l.trim_start().split(':').next().is_some_and(is_index)).collect();
    !extents.is_empty() && extents.iter().all(|l| l.contains("shared"))
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

pub fn blocks(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").blocks()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A description of every entry under `root` (type, mode, contents or target), by path.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let mode = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            let what = if ft.is_dir() {
                stack.push(path.clone());
                format!("dir {mode:o}")
            } else if ft.is_symlink() {
                format!("symlink -> {:?}", fs::read_link(&path).expect("readlink"))
            } else if ft.is_file() {
                let data = fs::read(&path).expect("read");
                format!("file {mode:o} {} {:?}", data.len(), String::from_utf8_lossy(&data))
            } else if ft.is_fifo() {
                format!("fifo {mode:o}")
            } else if ft.is_char_device() {
                format!("char {mode:o} {}", meta.rdev())
            } else {
                format!("other {mode:o}")
            };
            out.insert(path.strip_prefix(root).expect("under root").to_path_buf(), what);
        }
    }
    out
}

/// What one program did to one copy of a scenario.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<String>,
    pub stderr: String,
    pub tree: std::collections::BTreeMap<PathBuf, String>,
}

/// Builds the scenario twice with `setup`, runs GNU cp and rcp with `args` in each, and
/// returns both runs with program names replaced by `PROG` and stdout lines sorted.
pub fn differential(test: &str, setup: impl Fn(&Path), args: &[&str]) -> Option<(Run, Run)> {
    let gnu = Path::new("/usr/bin/cp");
    if !gnu.exists() {
        skip(test, "GNU cp is not at /usr/bin/cp");
        return None;
    }
    let run = |program: &Path| {
        let dir = tempfile::tempdir().expect("tempdir");
        setup(dir.path());
        let out = Command::new(program)
            .current_dir(dir.path())
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("run");
        let name = program.to_string_lossy();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(name.as_ref(), "PROG");
        let mut stdout: Vec<String> = clean(&out.stdout).lines().map(String::from).collect();
        stdout.sort();
        Run {
            code: out.status.code(),
            stdout,
            stderr: clean(&out.stderr),
            tree: snapshot(dir.path()),
        }
    };
    Some((run(gnu), run(Path::new(env!("CARGO_BIN_EXE_rcp")))))
}

/// Asserts rcp did exactly what GNU cp did.
pub fn assert_like_gnu(test: &str, setup: impl Fn(&Path), args: &[&str]) {
    if let Some((gnu, rcp)) = differential(test, setup, args) {
        assert_eq!(rcp, gnu, "{test}: rcp {args:?} differs from GNU cp (right: GNU)");
    }
}

/// A tmux session running `script` in a 120x40 terminal, killed when dropped.
pub struct Tmux {
    session: String,
}

impl Tmux {
    /// Starts `script` (a shell command line) in a new session; `None` (after `skip`) when
    /// tmux is missing.
    pub fn start(test: &str, script: &str) -> Option<Tmux> {
        if !have("tmux") {
            skip(test, "tmux is not installed");
            return None;
        }
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("rcp-test-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "40", script])
            .status()
            .expect("tmux");
        assert!(status.success(), "tmux new-session failed");
        Some(Tmux { session })
    }

    /// Types `keys` (tmux key names: `Tab`, `Enter`, or literal text).
    pub fn send(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// The visible screen (`history`: with the scrollback).
    pub fn screen(&self, history: bool) -> String {
        let mut cmd = Command::new("tmux");
        cmd.args(["capture-pane", "-p", "-t", &self.session]);
        if history {
            cmd.args(["-S", "-"]);
        }
        String::from_utf8_lossy(&cmd.output().expect("tmux capture-pane").stdout).into_owned()
    }

    /// Waits up to `secs` seconds for the screen to satisfy `done`; returns the last screen
    /// either way.
    pub fn wait_for(&self, secs: u64, done: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let screen = self.screen(false);
            if done(&screen) || std::time::Instant::now() > deadline {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

/// Runs rcp with `args` in `dir`.
pub fn rcp_in(dir: &Path, args: &[&str]) -> Output {
    rcp().current_dir(dir).args(args).output().expect("run rcp")
}

/// The pids of `pid`'s children (rcp under strace is strace's child).
pub fn children(pid: u32) -> Vec<i32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Waits until the rcp under strace `tracer` has `file` open (then its size is taken and
/// its first data call is being held back), and a little more.
pub fn wait_until_open(tracer: u32, file: &Path) {
    let start = std::time::Instant::now();
    loop {
        let open = children(tracer).iter().any(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok)
                    .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l == file))
            })
        });
        if open {
            std::thread::sleep(std::time::Duration::from_millis(50));
            return;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "rcp never opened {file:?}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// rcp started under `strace -f` with one injection (`splice:delay_exit=20000`), counting
/// only calls on `only` when given (`-P`: the loader's own calls never match), in `dir`
/// with `args`; standard output and error piped.
pub fn rcp_slowed<S: AsRef<OsStr>>(
    inject: &str,
    only: Option<&Path>,
    dir: &Path,
    args: &[S],
) -> std::process::Child {
    under_strace(env!("CARGO_BIN_EXE_rcp"), inject, only)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run strace")
}

/// `program` under `strace -f`, its calls failed or slowed as `inject` says (strace's
/// `inject=` expression), only those on `only` when given (`-P`); add its arguments.
pub fn under_strace(program: impl AsRef<OsStr>, inject: &str, only: Option<&Path>) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"]).arg(format!("inject={inject}"));
    if let Some(path) = only {
        cmd.arg("-P").arg(path);
    }
    cmd.arg(program);
    cmd
}

/// The status a shell sees (`$?`): the exit code, or 128 + the signal that ended it.
pub fn shell_status(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|signal| 128 + signal))
}

/// A FUSE filesystem written in Python (fusepy) over `root/back`, mounted at `root/mnt`;
/// unmounted on drop.
pub struct Fuse {
    pub mnt: PathBuf,
    child: std::process::Child,
}

impl Fuse {
    /// Mounts `script BACK MNT ARGS...`, or says why not (`skip`) and gives `None`.
    pub fn mount(test: &str, script: &Path, root: &Path, args: &[&str]) -> Option<Fuse> {
        use std::time::{Duration, Instant};
        let usable = have("python3")
            && Path::new("/dev/fuse").exists()
            && Command::new("python3")
                .args(["-c", "import fuse"])
                .status()
                .is_ok_and(|s| s.success());
        if !usable || !rustix::process::geteuid().is_root() {
            skip(test, "needs root, /dev/fuse, python3 and fusepy (pip install fusepy; libfuse2)");
            return None;
        }
        let (back, mnt) = (root.join("back"), root.join("mnt"));
        fs::create_dir_all(&back).unwrap();
        fs::create_dir_all(&mnt).unwrap();
        let child = Command::new("python3")
            .arg(script)
            .args([&back, &mnt])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let fuse = Fuse { mnt: mnt.clone(), child };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mounted = || {
            fs::read_to_string("/proc/self/mounts")
                .is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(1) == mnt.to_str()))
        };
        while !mounted() {
            assert!(Instant::now() < deadline, "the FUSE filesystem did not mount");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(fuse)
    }
}

impl Drop for Fuse {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

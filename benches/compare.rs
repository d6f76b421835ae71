//! Whole-process comparison with GNU cp (`cargo bench --bench compare`): builds each
//! workload on its own loop-mounted filesystem, runs `/usr/bin/cp` and rcp alternately
//! (A B, then B A, ...) with a warm cache, checks every copy, and prints the median time of
//! each and the rcp/cp ratio, plus syscalls per file (strace -f -c) and rcp's peak RSS on a
//! 200,000-file tree. Needs root (loop mounts); says so and exits 0 otherwise.
//!
//! Above each row a comment gives the noise: every program's spread, and rcp against each
//! other program round by round (see `noise`).
//!
//! RCP_BENCH_RUNS (default 5) sets the runs per program; RCP_BENCH_ONLY=name,name picks
//! workloads (matched against "NAME FS", e.g. `checkout`, `dirs xfs`); RCP_BENCH_ARGS adds
//! options to rcp's command line only (e.g. `-j4`); RCP_BENCH_BIN runs another rcp binary
//! (a static build, say). The peers cpz, xcp and fcp run in the same rotation when they are
//! on PATH (`cargo install cpz xcp fcp`); RCP_BENCH_PEERS replaces that list,
//! `name=command args;...` (empty: none), each run as `command args SRC DST` and checked
//! like rcp (a wrong copy is reported, not timed); the word `{args}` stands for the
//! workload's own options, so an earlier rcp build runs as rcp does
//! (`before=/tmp/rcp-before {args}`). RCP_BENCH_COLD=1 measures a cold cache: the images
//! are attached with direct I/O (no second cache of the image file) and every run starts
//! after `sync` and `echo 3 > /proc/sys/vm/drop_caches`. RCP_BENCH_NO_STRACE=1 skips the
//! syscall counts (slow on big trees); RCP_BENCH_RSS=1 adds each program's peak RSS (GNU
//! time) after the row. The 1,000,000-file workloads (in 10,000 directories, and in one: the
//! hostile case) run only when RCP_BENCH_ONLY names them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const GNU: &str = "/usr/bin/cp";
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

#[derive(Clone, Copy, PartialEq)]
enum Fs {
    Ext4,
    Btrfs,
    Xfs,
}

impl Fs {
    fn name(self) -> &'static str {
        match self {
            Fs::Ext4 => "ext4",
            Fs::Btrfs => "btrfs",
            Fs::Xfs => "xfs",
        }
    }
}

/// A loop-mounted filesystem, unmounted and deleted when dropped.
struct Mount {
    point: PathBuf,
    image: PathBuf,
    /// The loop device losetup attached (cold runs), detached after the umount.
    device: Option<String>,
}

impl Mount {
    /// A fresh filesystem; `many` files (a million) need more inodes than ext4's default.
    fn new(root: &Path, fs: Fs, name: &str, many: bool) -> Mount {
        let image = root.join(format!("{name}.img"));
        let point = root.join(name);
        fs::create_dir_all(&point).unwrap();
        fs::File::create(&image).unwrap().set_len(24 * GIB).unwrap();
        let mut mkfs = match fs {
            // Inodes for two copies of a million files.
            Fs::Ext4 if many => cmd("mkfs.ext4", &["-q", "-F", "-N", "3000000"]),
            Fs::Ext4 => cmd("mkfs.ext4", &["-q", "-F"]),
            Fs::Btrfs => cmd("mkfs.btrfs", &["-q", "-f"]),
            Fs::Xfs => cmd("mkfs.xfs", &["-q", "-f", "-m", "reflink=1"]),
        };
        run_ok(mkfs.arg(&image));
        if cold() {
            // Direct I/O: reads after drop_caches come from the disk, not the host's cache
            // of the image file.
            let out = cmd("losetup", &["-f", "--show", "--direct-io=on"]).arg(&image).output();
            let device = String::from_utf8(out.expect("losetup").stdout).expect("a path");
            let device = device.trim().to_string();
            run_ok(Command::new("mount").arg(&device).arg(&point));
            return Mount { point, image, device: Some(device) };
        }
        run_ok(Command::new("mount").arg("-o").arg("loop").arg(&image).arg(&point));
        Mount { point, image, device: None }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // `mount -o loop` detaches its device at umount; one losetup attached is detached here.
        let _ = Command::new("umount").arg(&self.point).status();
        if let Some(device) = &self.device {
            let _ = Command::new("losetup").arg("-d").arg(device).status();
        }
        let _ = fs::remove_file(&self.image);
    }
}

fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

fn run_ok(c: &mut Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(out.status.success(), "{c:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Deterministic, incompressible bytes.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn big_file(dir: &Path) {
    let mut f = fs::File::create(dir.join("big")).unwrap();
    let chunk = pattern(MIB as usize, 1);
    for _ in 0..1024 {
        f.write_all(&chunk).unwrap();
    }
}

fn sparse_file(dir: &Path) {
    use std::os::unix::fs::FileExt;
    let f = fs::File::create(dir.join("sparse")).unwrap();
    f.set_len(4 * GIB).unwrap();
    let chunk = pattern(4 * MIB as usize, 2);
    for i in 0..16 {
        f.write_all_at(&chunk, i * 256 * MIB).unwrap();
    }
}

fn small_files(dir: &Path, dirs: usize, per_dir: usize) {
    let data = pattern(16 << 10, 3);
    for d in 0..dirs {
        let sub = dir.join(format!("tree/d{d:03}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..per_dir {
            let len = 1024 + (d * per_dir + f) * 7919 % (15 << 10);
            fs::write(sub.join(format!("f{f}")), &data[..len]).unwrap();
        }
    }
}

/// `dirs` directories of `per_dir` files of 16-271 bytes (a million of them fit in 150 MB).
fn tiny_files(dir: &Path, dirs: usize, per_dir: usize) {
    let data = pattern(272, 5);
    for d in 0..dirs {
        let sub = dir.join(format!("tree/d{d:05}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..per_dir {
            fs::write(sub.join(format!("f{f}")), &data[..16 + (d + f * 31) % 256]).unwrap();
        }
    }
}

fn flat(dir: &Path, n: usize) {
    let sub = dir.join("tree");
    fs::create_dir_all(&sub).unwrap();
    for f in 0..n {
        fs::write(sub.join(format!("file{f:06}")), format!("{f}\n")).unwrap();
    }
}

/// Like a source checkout: nested directories, mostly small text files, some larger, a few
/// symlinks.
fn checkout(dir: &Path) {
    let data = pattern(256 << 10, 4);
    let mut n = 0;
    for a in 0..20 {
        for b in 0..10 {
            let sub = dir.join(format!("tree/mod{a}/pkg{b}/src"));
            fs::create_dir_all(&sub).unwrap();
            for f in 0..98 {
                let len = if f % 50 == 0 { 200 << 10 } else { 300 + n * 131 % 12000 };
                fs::write(sub.join(format!("file{f}.rs")), &data[..len]).unwrap();
                n += 1;
            }
            symlink("src/file0.rs", dir.join(format!("tree/mod{a}/pkg{b}/main.rs"))).unwrap();
            symlink("../pkg0", dir.join(format!("tree/mod{a}/pkg{b}/sibling"))).unwrap();
        }
    }
}

struct Workload {
    name: &'static str,
    fs: Fs,
    build: fn(&Path),
    source: &'static str,
    args: &'static [&'static str],
    /// Files in the workload, for syscalls per file.
    files: u64,
    /// Runs only when RCP_BENCH_ONLY names it.
    opt_in: bool,
}

/// A tree workload: `-r`, source `tree`, run by default.
fn tree(name: &'static str, fs: Fs, build: fn(&Path), files: u64) -> Workload {
    Workload { name, fs, build, source: "tree", args: &["-r"], files, opt_in: false }
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "1 GiB file",
            fs: Fs::Ext4,
            build: big_file,
            source: "big",
            args: &[],
            files: 1,
            opt_in: false,
        },
        Workload {
            name: "1 GiB file (reflink)",
            fs: Fs::Btrfs,
            build: big_file,
            source: "big",
            args: &["--reflink=auto"],
            files: 1,
            opt_in: false,
        },
        Workload {
            name: "1 GiB file (reflink)",
            fs: Fs::Xfs,
            build: big_file,
            source: "big",
            args: &["--reflink=auto"],
            files: 1,
            opt_in: false,
        },
        Workload {
            name: "4 GiB sparse, 64 MiB data",
            fs: Fs::Ext4,
            build: sparse_file,
            source: "sparse",
            args: &[],
            files: 1,
            opt_in: false,
        },
        tree(
            "50,000 files of 1-16 KiB in 500 dirs",
            Fs::Ext4,
            |d| small_files(d, 500, 100),
            50_000,
        ),
        tree(
            "50,000 files of 1-16 KiB in 500 dirs",
            Fs::Btrfs,
            |d| small_files(d, 500, 100),
            50_000,
        ),
        tree("50,000 files of 1-16 KiB in 500 dirs", Fs::Xfs, |d| small_files(d, 500, 100), 50_000),
        tree("100,000 files in one directory", Fs::Ext4, |d| flat(d, 100_000), 100_000),
        tree("20,000-file checkout with symlinks", Fs::Ext4, checkout, 20_000),
        tree("20,000-file checkout with symlinks", Fs::Btrfs, checkout, 20_000),
        tree("20,000-file checkout with symlinks", Fs::Xfs, checkout, 20_000),
        Workload {
            name: "1,000,000 files in one directory",
            fs: Fs::Ext4,
            build: |d| flat(d, 1_000_000),
            source: "tree",
            args: &["-r"],
            files: 1_000_000,
            opt_in: true,
        },
        Workload {
            name: "1,000,000 files of 16-271 bytes in 10,000 dirs",
            fs: Fs::Ext4,
            build: |d| tiny_files(d, 10_000, 100),
            source: "tree",
            args: &["-r"],
            files: 1_000_000,
            opt_in: true,
        },
    ]
}

/// A program in the rotation: its label, and the program and arguments put before SRC DST.
#[derive(Clone)]
struct Program {
    name: String,
    program: String,
    args: Vec<String>,
}

impl Program {
    fn new(name: &str, program: &str, args: &[&str]) -> Program {
        let args = args.iter().map(|a| a.to_string()).collect();
        Program { name: name.into(), program: program.into(), args }
    }

    /// This peer for a workload whose own options are `args` (`{args}` in its spec).
    fn for_workload(&self, args: &[&str]) -> Program {
        let mut expanded = Vec::new();
        for a in &self.args {
            match a.as_str() {
                "{args}" => expanded.extend(args.iter().map(|a| a.to_string())),
                _ => expanded.push(a.clone()),
            }
        }
        Program { args: expanded, ..self.clone() }
    }

    fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

/// Whether `name` is set to `1`.
fn env_on(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

/// RCP_BENCH_COLD=1: every run starts with nothing cached.
fn cold() -> bool {
    env_on("RCP_BENCH_COLD")
}

/// The peers that run beside GNU cp and rcp: RCP_BENCH_PEERS, or those of cpz, xcp and fcp
/// that are installed (each copies a tree given SRC DST; xcp needs `-r`).
fn peers() -> Vec<Program> {
    let installed = || {
        let on_path = |name: &str| {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        };
        [("cpz", "cpz"), ("xcp", "xcp -r"), ("fcp", "fcp")]
            .iter()
            .filter(|(name, _)| on_path(name))
            .map(|(name, command)| format!("{name}={command}"))
            .collect::<Vec<_>>()
            .join(";")
    };
    let spec = std::env::var("RCP_BENCH_PEERS").unwrap_or_else(|_| installed());
    spec.split(';')
        .filter_map(|p| {
            let (name, command) = p.split_once('=')?;
            let mut words = command.split_whitespace().map(String::from);
            let program = words.next()?;
            Some(Program { name: name.trim().to_string(), program, args: words.collect() })
        })
        .collect()
}

/// One run of `program args src dst` in `cwd` (after removing `dst` and a sync): how long it
/// took, or what it said when it failed.
fn try_timed(
    program: &str,
    args: &[&str],
    src: &str,
    dst: &str,
    cwd: &Path,
) -> Result<Duration, String> {
    let _ = fs::remove_dir_all(cwd.join(dst)).or_else(|_| fs::remove_file(cwd.join(dst)));
    run_ok(&mut Command::new("sync"));
    if cold() {
        fs::write("/proc/sys/vm/drop_caches", "3").expect("drop_caches (needs root)");
    }
    let start = Instant::now();
    let out = Command::new(program)
        .args(args)
        .arg(src)
        .arg(dst)
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    let took = start.elapsed();
    match out.status.success() {
        true => Ok(took),
        false => Err(format!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

fn timed(program: &str, args: &[&str], src: &str, dst: &str, cwd: &Path) -> Duration {
    try_timed(program, args, src, dst, cwd).unwrap_or_else(|e| panic!("{e}"))
}

/// Compares two trees: the same entries, types, sizes, symlink targets, and the bytes of
/// regular files (read in full).
fn same_tree(a: &Path, b: &Path) -> Result<(), String> {
    let (ma, mb) = (
        fs::symlink_metadata(a).unwrap(),
        fs::symlink_metadata(b).map_err(|e| format!("{b:?}: {e}"))?,
    );
    if ma.file_type() != mb.file_type() || (ma.is_file() && ma.len() != mb.len()) {
        return Err(format!("{a:?} and {b:?} differ in type or size"));
    }
    if ma.is_symlink() {
        return (fs::read_link(a).unwrap() == fs::read_link(b).unwrap())
            .then_some(())
            .ok_or(format!("{b:?}: link"));
    }
    if ma.is_file() {
        use std::io::Read;
        let (mut fa, mut fb) = (fs::File::open(a).unwrap(), fs::File::open(b).unwrap());
        let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
        loop {
            let n = fa.read(&mut ba).unwrap();
            if n == 0 {
                return Ok(());
            }
            fb.read_exact(&mut bb[..n]).map_err(|e| format!("{b:?}: {e}"))?;
            if ba[..n] != bb[..n] {
                return Err(format!("{b:?}: bytes differ"));
            }
        }
    }
    let mut names: Vec<_> = fs::read_dir(a).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    if names.len() != fs::read_dir(b).unwrap().count() {
        return Err(format!("{b:?}: entry count"));
    }
    names.iter().try_for_each(|n| same_tree(&a.join(n), &b.join(n)))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// How far to trust a row (printed as a comment above it): each program's spread (fastest
/// to slowest run, as a share of its median), and rcp against each other program round by
/// round — the rounds alternate, so a round's two runs met the same machine — as the median
/// of rcp's time over the other's and the rounds rcp was the faster in.
fn noise(lineup: &[Program], times: &[Vec<Duration>]) -> String {
    let spread: Vec<String> = lineup
        .iter()
        .zip(times)
        .map(|(p, t)| {
            let (lo, hi) = (t.iter().min().unwrap(), t.iter().max().unwrap());
            let share = (hi.as_secs_f64() - lo.as_secs_f64()) / median(t.clone()).as_secs_f64();
            format!("{} {:.0}%", p.name, share * 100.0)
        })
        .collect();
    // The lineup is GNU cp, rcp, then the peers (a peer may be named anything).
    let rcp = &times[1];
    let against: Vec<String> = lineup
        .iter()
        .zip(times)
        .enumerate()
        .filter_map(|(i, row)| (i != 1).then_some(row))
        .map(|(p, t)| {
            let mut ratios: Vec<f64> =
                rcp.iter().zip(t).map(|(r, o)| r.as_secs_f64() / o.as_secs_f64()).collect();
            ratios.sort_by(f64::total_cmp);
            let ahead = ratios.iter().filter(|&&x| x < 1.0).count();
            let n = ratios.len();
            format!("{} {:.3} (faster in {ahead}/{n})", p.name, ratios[n / 2])
        })
        .collect();
    format!("<!-- spread: {}; rcp over, by round: {} -->", spread.join(", "), against.join(", "))
}

/// Syscalls per file of one run under `strace -f -c` (the total, less a run on an empty
/// directory, over the number of files).
fn syscalls(program: &str, args: &[&str], w: &Workload, cwd: &Path) -> Option<f64> {
    let total = |src: &str, dst: &str| -> Option<u64> {
        let _ = fs::remove_dir_all(cwd.join(dst));
        let out = Command::new("strace")
            .args(["-f", "-c", "-o", "/dev/stdout", program])
            .args(args)
            .args([src, dst])
            .current_dir(cwd)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.trim_end().ends_with("total"))?;
        let _ = fs::remove_dir_all(cwd.join(dst));
        line.split_whitespace().nth(3)?.parse().ok()
    };
    fs::create_dir_all(cwd.join("empty")).ok()?;
    let base = total("empty", "empty-copy")?;
    let all = total(w.source, "strace-copy")?;
    Some((all.saturating_sub(base)) as f64 / w.files as f64)
}

/// rcp's peak RSS (KiB) copying a 200,000-file tree, from GNU time's %M.
/// `program args src out`'s peak RSS in KiB (GNU time's %M).
fn peak_rss_of(program: &str, args: &[&str], src: &str, cwd: &Path) -> Option<u64> {
    let _ = fs::remove_dir_all(cwd.join("out"));
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", program])
        .args(args)
        .args([src, "out"])
        .current_dir(cwd)
        .output()
        .ok()?;
    let _ = fs::remove_dir_all(cwd.join("out"));
    String::from_utf8_lossy(&out.stderr).lines().last()?.trim().parse().ok()
}

fn peak_rss(rcp: &str, root: &Path) -> Option<(u64, u64)> {
    let m = Mount::new(root, Fs::Ext4, "rss", false);
    small_files(&m.point, 2000, 100);
    let rss = |program: &str, dst: &str| -> Option<u64> {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", program, "-r", "tree", dst])
            .current_dir(&m.point)
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stderr).lines().last()?.trim().parse().ok()
    };
    Some((rss(GNU, "gnu")?, rss(rcp, "rcp")?))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from argv.
    if !rustix::process::geteuid().is_root() {
        println!(
            "compare: skipped (needs root for loop mounts; run `sudo cargo bench --bench compare`)"
        );
        return;
    }
    let rcp_bin = std::env::var("RCP_BENCH_BIN").unwrap_or(env!("CARGO_BIN_EXE_rcp").into());
    let rcp = rcp_bin.as_str();
    let peers = peers();
    let runs: usize =
        std::env::var("RCP_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let only = std::env::var("RCP_BENCH_ONLY").unwrap_or_default();
    let extra = std::env::var("RCP_BENCH_ARGS").unwrap_or_default();
    let root = std::env::temp_dir().join(format!("rcp-bench-{}", std::process::id()));
    fs::create_dir_all(&root).unwrap();
    let peer_heads: String = peers.iter().map(|p| format!(" {}/cp |", p.name)).collect();
    let peer_rule = "---|".repeat(peers.len());
    println!("| workload | fs | GNU cp 9.1 | rcp | rcp/cp |{peer_heads} syscalls/file cp | rcp |");
    println!("|---|---|---|---|---|{peer_rule}---|---|");
    for (i, w) in workloads().iter().enumerate() {
        let label = format!("{} {}", w.name, w.fs.name());
        let named = only.split(',').any(|o| !o.is_empty() && label.contains(o));
        if (!only.is_empty() || w.opt_in) && !named {
            continue;
        }
        let rcp_args: Vec<&str> = extra.split_whitespace().chain(w.args.iter().copied()).collect();
        let args_of = |program: &str| if program == rcp { &rcp_args[..] } else { w.args };
        let m = Mount::new(&root, w.fs, &format!("w{i}"), w.opt_in);
        (w.build)(&m.point);
        run_ok(&mut Command::new("sync"));
        // GNU cp, rcp, then the peers; every program runs once per round, and the order
        // rotates each round (A B, then B A), so none always runs on a cache another warmed.
        let mut lineup = vec![Program::new("cp", GNU, w.args), Program::new("rcp", rcp, &rcp_args)];
        for p in &peers {
            lineup.push(p.for_workload(w.args));
        }
        // Warm the cache, and check every copy once in full (a peer that copies wrongly is
        // reported and left out; cp or rcp doing so stops the bench).
        lineup.retain(|p| {
            let dst = format!("check-{}", p.name);
            let checked = try_timed(&p.program, &p.args(), w.source, &dst, &m.point)
                .and_then(|_| same_tree(&m.point.join(w.source), &m.point.join(&dst)));
            if w.source == "sparse"
                && let (Ok(s), Ok(d)) =
                    (fs::metadata(m.point.join("sparse")), fs::metadata(m.point.join(&dst)))
            {
                println!(
                    "<!-- {}: sparse st_blocks {} (source {}) -->",
                    p.name,
                    d.blocks(),
                    s.blocks()
                );
            }
            let _ = fs::remove_dir_all(m.point.join(&dst))
                .or_else(|_| fs::remove_file(m.point.join(&dst)));
            match checked {
                Ok(()) => true,
                Err(e) if p.program != GNU && p.program != rcp => {
                    println!("<!-- {} on {}: left out: {e} -->", p.name, w.name);
                    false
                }
                Err(e) => panic!("{}: {} copied wrongly: {e}", w.name, p.name),
            }
        });
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); lineup.len()];
        for r in 0..runs {
            for k in 0..lineup.len() {
                let i = (k + r) % lineup.len();
                let p = &lineup[i];
                times[i].push(timed(&p.program, &p.args(), w.source, "out", &m.point));
            }
        }
        println!("{}", noise(&lineup, &times));
        let medians: Vec<Duration> = times.into_iter().map(median).collect();
        let (g, o) = (medians[0], medians[1]);
        let peer_cells: String = peers
            .iter()
            .map(|p| match lineup.iter().position(|l| l.name == p.name) {
                Some(i) => format!(" {:.2} |", medians[i].as_secs_f64() / g.as_secs_f64()),
                None => " - |".to_string(),
            })
            .collect();
        let per_file = |p| match env_on("RCP_BENCH_NO_STRACE") {
            true => "-".to_string(),
            false => syscalls(p, args_of(p), w, &m.point).map_or("-".into(), |v| format!("{v:.1}")),
        };
        println!(
            "| {} | {} | {:.3} s | {:.3} s | {:.2} |{peer_cells} {} | {} |",
            w.name,
            w.fs.name(),
            g.as_secs_f64(),
            o.as_secs_f64(),
            o.as_secs_f64() / g.as_secs_f64(),
            per_file(GNU),
            per_file(rcp),
        );
        if env_on("RCP_BENCH_RSS") {
            let rss: Vec<String> = lineup
                .iter()
                .filter_map(|p| {
                    let kib = peak_rss_of(&p.program, &p.args(), w.source, &m.point)?;
                    Some(format!("{} {} MiB", p.name, kib / 1024))
                })
                .collect();
            println!("<!-- {} {}: peak RSS {} -->", w.name, w.fs.name(), rss.join(", "));
        }
    }
    if (only.is_empty() || only.contains("rss"))
        && let Some((g, o)) = peak_rss(rcp, &root)
    {
        println!("\npeak RSS copying 200,000 files: GNU cp {} MiB, rcp {} MiB", g / 1024, o / 1024);
    }
    let _ = fs::remove_dir_all(&root);
}

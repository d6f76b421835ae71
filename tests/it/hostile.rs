//! The hostile-environment suite: what the machine does to a copy rather than what the
//! command line asks. Every pseudo-file it can find under /sys and /proc/sys copied by GNU
//! cp and by rcp and compared; sources that grow, shrink, vanish or are replaced while each
//! strategy copies them; small `ulimit -v` over option sets (a message, never an abort);
//! `--report-file` aimed at everything a copy touches. Depth (10,000 levels), `ulimit -n`
//! and `ulimit -u` have their own tests (`deep`, `trust`); a million entries in one
//! directory is a benchmark (`RCP_BENCH_ONLY="1,000,000 files in one directory"`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Pseudo-files tried per tree (chosen evenly from all that are readable), so the suite
/// stays within seconds.
const PSEUDO_PER_TREE: usize = 400;

/// Runs `program` with `args` in `dir`, killed after 10 s (a pseudo-file may block).
fn run_bounded(program: &Path, args: &[&std::ffi::OsStr], dir: &Path) -> Option<Output> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let start = Instant::now();
    while child.try_wait().ok()?.is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().ok()
}

/// Regular files under `root` that can be opened for reading, without following symlinks
/// (sysfs links everything to everything) or crossing into another filesystem.
fn readable_files(root: &Path, limit: usize) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = fs::metadata(root) else { return Vec::new() };
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.dev() != top.dev() {
                continue;
            }
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() && meta.mode() & 0o444 != 0 {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    let step = found.len().div_ceil(limit).max(1);
    found.into_iter().step_by(step).collect()
}

/// `text` with the program's name (its first word before `: ` on each line) taken out.
fn unnamed(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One program's copy of a pseudo-file: status, message (program name left out), bytes.
type Copy = (Option<i32>, String, Option<Vec<u8>>);

/// GNU's and rcp's copies of `file` into `dir`, and whether the file read the same before,
/// between and after them (`None`: it could not be read, or a copy did not end).
fn both_copies(file: &Path, dir: &Path) -> Option<(Copy, Copy, bool)> {
    let rcp = PathBuf::from(env!("CARGO_BIN_EXE_rcp"));
    let before = fs::read(file).ok()?;
    let mut reads = Vec::new();
    let mut copies = Vec::new();
    for (program, name) in [(Path::new("/usr/bin/cp"), "gnu"), (rcp.as_path(), "rcp")] {
        let out = dir.join(name);
        let _ = fs::remove_file(&out);
        let ran = run_bounded(program, &[file.as_os_str(), out.as_os_str()], dir)?;
        copies.push((ran.status.code(), unnamed(&ran.stderr), fs::read(&out).ok()));
        reads.push(fs::read(file).ok());
    }
    let stable = reads.iter().all(|r| r.as_ref() == Some(&before));
    let rcp = copies.pop()?;
    Some((copies.pop()?, rcp, stable))
}

/// Whether two copies of a pseudo-file say the same: the same bytes, or — a counter that
/// moved between the copies although the reads around them agreed (`inode-state` under a
/// busy test run) — the same length with no NUL in either: what goes wrong with a size
/// that lies is the length, and padding.
fn alike(gnu: &Copy, rcp: &Copy) -> bool {
    match (&gnu.2, &rcp.2) {
        (Some(g), Some(r)) => g == r || (g.len() == r.len() && !g.contains(&0) && !r.contains(&0)),
        (g, r) => g == r,
    }
}

#[test]
fn every_pseudo_file_is_copied_as_gnu_copies_it() {
    if !Path::new("/usr/bin/cp").exists() {
        return skip("pseudo-files", "GNU cp is not at /usr/bin/cp");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut compared, mut same_bytes) = (0, 0);
    let mut differences = Vec::new();
    for root in ["/sys", "/proc/sys"] {
        for file in readable_files(Path::new(root), PSEUDO_PER_TREE) {
            // Only a file that reads the same before, between and after both copies is
            // compared byte for byte (counters, clocks and random pools change); one that
            // differs is tried twice more, so only a difference that stays is reported.
            let mut last = None;
            for _ in 0..3 {
                let Some((gnu, rcp, stable)) = both_copies(&file, d) else { break };
                let differs = gnu.0 != rcp.0 || gnu.1 != rcp.1 || (stable && !alike(&gnu, &rcp));
                last = Some((gnu, rcp, stable, differs));
                if !differs {
                    break;
                }
            }
            let Some((gnu, rcp, stable, differs)) = last else { continue };
            compared += 1;
            same_bytes += usize::from(stable && !differs);
            if differs {
                let len = |c: &Copy| c.2.as_ref().map_or(0, Vec::len);
                differences.push(format!(
                    "{}: GNU {:?} {:?} {} bytes, rcp {:?} {:?} {} bytes",
                    file.display(),
                    gnu.0,
                    gnu.1,
                    len(&gnu),
                    rcp.0,
                    rcp.1,
                    len(&rcp)
                ));
            }
        }
    }
    eprintln!("pseudo-files: {compared} compared with GNU cp, {same_bytes} byte for byte");
    assert!(compared > 100, "only {compared} pseudo-files could be copied");
    assert!(differences.is_empty(), "{} differ:\n{}", differences.len(), differences.join("\n"));
}

/// What happens to the source while rcp waits in its first data call.
#[derive(Clone, Copy, Debug)]
enum Change {
    Grows,
    Shrinks,
    Vanishes,
    Replaced,
}

#[test]
fn sources_that_change_while_copied_give_a_whole_copy_or_an_error() {
    if !have("strace") {
        return skip("changing-sources", "strace is not installed");
    }
    let Some(dir) = dir_on(Fs::Ext4, "changing-sources") else { return };
    let d = dir.path();
    // Each strategy's first data call waits while the source changes.
    let strategies: [(&[&str], &str); 3] = [
        (&[], "copy_file_range"),
        (&["--reflink=never"], "splice"),
        (&["--sparse=always"], "pread64"),
    ];
    let mut runs = 0;
    for (options, call) in strategies {
        for change in [Change::Grows, Change::Shrinks, Change::Vanishes, Change::Replaced] {
            let src = d.join("src");
            let dst = d.join("dst");
            let _ = (fs::remove_file(&src), fs::remove_file(&dst));
            write_pattern(&src, 4 << 20, 11);
            let original = fs::read(&src).unwrap();
            let inject = format!("{call}:delay_enter=400000:when=1");
            // Only calls on the source count (the loader preads its libraries too).
            let mut args: Vec<&std::ffi::OsStr> = options.iter().map(|o| o.as_ref()).collect();
            args.extend([src.as_os_str(), dst.as_os_str()]);
            let child = rcp_slowed(&inject, Some(&src), d, &args);
            wait_until_open(child.id(), &src);
            match change {
                Change::Grows => {
                    use std::io::Write;
                    let mut f = fs::OpenOptions::new().append(true).open(&src).unwrap();
                    f.write_all(&[1u8; 1 << 20]).unwrap();
                }
                Change::Shrinks => {
                    fs::OpenOptions::new()
                        .write(true)
                        .open(&src)
                        .unwrap()
                        .set_len(1 << 20)
                        .unwrap();
                }
                Change::Vanishes => fs::remove_file(&src).unwrap(),
                Change::Replaced => {
                    fs::write(d.join("other"), "another file\n").unwrap();
                    fs::rename(d.join("other"), &src).unwrap();
                }
            }
            let out = child.wait_with_output().unwrap();
            runs += 1;
            let err = stderr(&out);
            let what = format!("{options:?} {change:?}");
            assert!(!err.contains("panicked") && !err.contains("(os error"), "{what}: {err}");
            match change {
                // Copied as it was when opened: its size then, its bytes.
                Change::Grows | Change::Vanishes | Change::Replaced => {
                    assert_eq!(out.status.code(), Some(0), "{what}: {err}");
                    assert!(fs::read(&dst).unwrap() == original, "{what}: not the file as opened");
                }
                Change::Shrinks => {
                    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
                    assert!(err.contains("shrank while it was being copied"), "{what}: {err}");
                    assert!(!dst.exists(), "{what}: a short copy was left");
                }
            }
        }
    }
    eprintln!("changing sources: {runs} runs");
}

#[test]
fn a_small_address_space_gives_a_message_never_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("src")).unwrap();
    for i in 0..40 {
        fs::create_dir(d.join(format!("src/d{i}"))).unwrap();
        for j in 0..50 {
            fs::write(d.join(format!("src/d{i}/f{j}")), format!("{i} {j}\n")).unwrap();
        }
    }
    write_pattern(&d.join("src/big"), 8 << 20, 2);
    let under = |kib: u64, options: &str| {
        let _ = fs::remove_dir_all(d.join("dst"));
        Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -c 0 && ulimit -v {kib} && exec \"$RCP\" {options} src dst"))
            .env("RCP", env!("CARGO_BIN_EXE_rcp"))
            .current_dir(d)
            .output()
            .unwrap()
    };
    // Below what execve needs to map the binary the kernel kills it (SIGSEGV) before rcp
    // runs, and where that is moves a little with the layout: start 1 MiB above the least
    // that copies one small file.
    fs::create_dir(d.join("one")).unwrap();
    let (mut low, mut high) = (1_000u64, 1_000_000u64);
    while high - low > 64 {
        let mid = (low + high) / 2;
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -c 0 && ulimit -v {mid} && exec \"$RCP\" src/d0/f0 one/f"))
            .env("RCP", env!("CARGO_BIN_EXE_rcp"))
            .current_dir(d)
            .output()
            .unwrap();
        if out.status.success() { high = mid } else { low = mid }
    }
    let mut outcomes = (0, 0);
    for options in ["-r", "-a", "-a -j4", "-al", "-r --progress", "-a --atomic --verify"] {
        // From just enough to start up to plenty: every run ends in a copy or in a
        // message, with status 0 or 1.
        for extra in [1_000, 1_500, 2_000, 3_000, 4_000, 8_000, 16_000, 32_000, 64_000] {
            let kib = high + extra;
            let started = Instant::now();
            let out = under(kib, options);
            if started.elapsed() > Duration::from_secs(2) {
                eprintln!("slow: {options} under {kib} KiB: {:?}", started.elapsed());
            }
            let err = stderr(&out);
            let what = format!("{options} under {kib} KiB");
            assert!(matches!(out.status.code(), Some(0 | 1)), "{what}: {:?} {err}", out.status);
            assert!(
                !err.contains("panicked") && !err.contains("memory allocation of"),
                "{what}: {err}"
            );
            if out.status.success() {
                assert_eq!(entries(&d.join("dst")), entries(&d.join("src")), "{what}");
                assert_same_bytes(&d.join("src/big"), &d.join("dst/big"));
                outcomes.0 += 1;
            } else {
                assert!(err.lines().all(|l| l.contains(": ")), "{what}: {err}");
                outcomes.1 += 1;
            }
        }
    }
    eprintln!("ulimit -v: {} runs copied, {} ended in a message", outcomes.0, outcomes.1);
    assert!(outcomes.0 > 0, "no run had room to copy");
}

/// How many entries are below `root` (a cheap check that a copy is whole).
fn entries(root: &Path) -> usize {
    let mut count = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            count += 1;
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    count
}

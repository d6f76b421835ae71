//! rcp built with MPI (`--features mpi`) run as N ranks by the real launcher (`mpirun
//! --allow-run-as-root --oversubscribe -n N`): the ranks copy one tree together, and the
//! result must be what a single rcp process makes of the same tree — contents, modes,
//! owners, times, xattrs and ACLs, symlinks, special files, sparse files, an excluded
//! subtree — on ext4, btrfs and XFS; the report is one stream whose summary adds up, a
//! failure on any rank fails the job, work really goes to the other ranks, and options
//! that cannot be spread are refused before anything is copied.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Fs, dir_on, have, parse_report, rcp_in, skip};

/// `mpirun` running `n` ranks of rcp with `args` in `cwd`; `None` (after `skip`) if there
/// is no mpirun.
fn mpirun(test: &str, n: usize, cwd: &Path, args: &[&str]) -> Option<Output> {
    launch(test, n, cwd, &[&[env!("CARGO_BIN_EXE_rcp")], args].concat())
}

/// `mpirun` running `n` ranks of `argv`.
fn launch(test: &str, n: usize, cwd: &Path, argv: &[&str]) -> Option<Output> {
    if !have("mpirun") {
        skip(test, "mpirun is not installed (Debian: openmpi-bin)");
        return None;
    }
    let out = Command::new("timeout")
        .args(["120", "mpirun", "--allow-run-as-root", "--oversubscribe", "-n"])
        .arg(n.to_string())
        .args(argv)
        .current_dir(cwd)
        .output()
        .expect("run mpirun");
    assert_ne!(
        out.status.code(),
        Some(124),
        "{test}: -n {n} hung: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

/// rcp's own lines of `out`'s stderr (mpirun adds its own banners when a rank exits 1).
fn rcp_lines(out: &Output) -> Vec<String> {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with(rcp) || l.starts_with("rcp:"))
        .map(|l| l.replacen(rcp, "rcp", 1))
        .collect()
}

/// A tree with something of everything, on the filesystem of `root`.
fn make_tree(root: &Path) {
    let run = |cmd: &mut Command| assert!(cmd.status().expect("run").success(), "{cmd:?}");
    fs::create_dir(root).unwrap();
    fs::write(root.join("top"), "top\n").unwrap();
    for d in 0..6 {
        for s in 0..3 {
            let dir = root.join(format!("d{d}/s{s}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..8 {
                let len = (d * 7919 + s * 104_729 + f * 1301) % 70_000;
                let data: Vec<u8> = (0..len).map(|i| (i * 31 + d + f) as u8).collect();
                fs::write(dir.join(format!("f{f}")), data).unwrap();
            }
        }
    }
    // Modes, owners, times.
    run(Command::new("chmod").args(["0750", "d1", "d1/s0"]).current_dir(root));
    run(Command::new("chmod").args(["0600", "d1/s0/f1", "d2/s1/f0"]).current_dir(root));
    run(Command::new("chmod").args(["4755", "d3/s2/f3"]).current_dir(root));
    run(Command::new("chown").args(["1234:5678", "d2/s1/f0", "d4"]).current_dir(root));
    run(Command::new("touch")
        .args(["-d", "2001-02-03 04:05:06.789", "d0/s0/f0", "d5/s2"])
        .current_dir(root));
    // xattrs and an ACL (files and a directory).
    run(Command::new("setfattr")
        .args(["-n", "user.colour", "-v", "blue", "d0/s1/f2", "d3/s0"])
        .current_dir(root));
    run(Command::new("setfacl").args(["-m", "u:1234:r", "d1/s2/f4"]).current_dir(root));
    run(Command::new("setfacl").args(["-m", "d:u:1234:rx", "d5"]).current_dir(root));
    // Links, special files, a sparse file, an excluded subtree.
    symlink("../s1/f1", root.join("d2/s0/rel")).unwrap();
    symlink("/nowhere", root.join("d4/s1/dangling")).unwrap();
    run(Command::new("mkfifo").arg("d3/s1/fifo").current_dir(root));
    let sparse = fs::File::create(root.join("d5/s0/sparse")).unwrap();
    sparse.set_len(8 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&sparse, b"middle", 4 << 20).unwrap();
    fs::create_dir_all(root.join("d0/skip.me/deep")).unwrap();
    fs::write(root.join("d0/skip.me/deep/f"), "excluded").unwrap();
    // Hard links: two names in the operand itself (its own attributes wait for them),
    // three names in three directories, two in one, and one in a directory made read-only
    // with an old time afterwards (its attributes must wait for the link).
    for (from, to) in [
        ("top", "top-link"),
        ("d0/s0/f1", "d3/s2/h1"),
        ("d0/s0/f1", "d5/s1/h2"),
        ("d1/s1/f2", "d1/s1/h3"),
        ("d2/s2/f6", "d4/s0/h4"),
    ] {
        fs::hard_link(root.join(from), root.join(to)).unwrap();
    }
    run(Command::new("chmod").args(["0555", "d4/s0"]).current_dir(root));
    run(Command::new("touch").args(["-d", "2002-03-04 05:06:07", "d4/s0"]).current_dir(root));
    run(Command::new("touch").args(["-d", "2003-04-05 06:07:08.9", "."]).current_dir(root));
}

/// What a tree is, entry by entry: type, mode, owner, size, contents, symlink target,
/// xattrs (ACLs among them), whether sparse, the other names of a file's inode, and —
/// with `times` — the modification time.
fn describe(root: &Path, times: bool) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    // The top directory itself: its mode, owner, time and xattrs are copied too.
    let st = fs::metadata(root).unwrap();
    let mut top = format!("dir mode {:o} owner {}:{}", st.mode(), st.uid(), st.gid());
    if times {
        top += &format!(" mtime {}.{:09}", st.mtime(), st.mtime_nsec());
    }
    out.insert(PathBuf::from("."), top + &format!(" xattrs {:?}", xattrs(root)));
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let st = fs::symlink_metadata(&path).unwrap();
            let ft = st.file_type();
            let mut what = format!("mode {:o} owner {}:{}", st.mode(), st.uid(), st.gid());
            if ft.is_dir() {
                stack.push(path.clone());
            } else if ft.is_symlink() {
                what = format!("symlink -> {:?}", fs::read_link(&path).unwrap());
            } else if ft.is_file() {
                let data = fs::read(&path).unwrap();
                let sum = data.iter().fold(0u64, |h, &b| h.wrapping_mul(1_000_003) ^ u64::from(b));
                let sparse = st.blocks() * 512 < st.size();
                what += &format!(" size {} sum {sum:x} sparse {sparse}", st.size());
                if st.nlink() > 1 {
                    let name = path.strip_prefix(root).unwrap().to_path_buf();
                    inodes.entry(st.ino()).or_default().push(name);
                }
            }
            if times && !ft.is_symlink() {
                what += &format!(" mtime {}.{:09}", st.mtime(), st.mtime_nsec());
            }
            if !ft.is_symlink() {
                what += &format!(" xattrs {:?}", xattrs(&path));
            }
            out.insert(path.strip_prefix(root).unwrap().to_path_buf(), what);
        }
    }
    for mut names in inodes.into_values() {
        names.sort();
        for name in &names {
            *out.get_mut(name).unwrap() += &format!(" links {names:?}");
        }
    }
    out
}

fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let n = rustix::fs::listxattr(path, &mut names).unwrap_or(0);
    let mut out: Vec<(String, Vec<u8>)> = names[..n]
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| {
            let name = String::from_utf8_lossy(name).into_owned();
            let mut value = vec![0u8; 4096];
            let len = rustix::fs::getxattr(path, name.as_str(), &mut value).unwrap_or(0);
            value.truncate(len);
            (name, value)
        })
        .collect();
    out.sort();
    out
}

/// `args` then `src dst`: a single rcp into `one`, then 1, 2 and 4 ranks, each into its
/// own destination; every copy must describe as the single process's.
fn same_as_one_process(test: &str, root: &Path, args: &[&str], times: bool) {
    let one = rcp_in(root, &[args, &["src", "one"]].concat());
    assert!(one.status.success(), "{test}: {}", String::from_utf8_lossy(&one.stderr));
    let expected = describe(&root.join("one"), times);
    assert!(expected.len() > 150, "{test}: the tree is there: {}", expected.len());
    for n in [1, 2, 4] {
        let dst = format!("ranks{n}");
        let Some(out) = mpirun(test, n, root, &[args, &["src", &dst]].concat()) else { return };
        assert!(out.status.success(), "{test} -n {n}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(rcp_lines(&out).is_empty(), "{test} -n {n}: {:?}", rcp_lines(&out));
        let differ = differences(&expected, &describe(&root.join(&dst), times));
        assert!(
            differ.is_empty(),
            "{test} -n {n} differs from one process:\n{}",
            differ.join("\n")
        );
    }
}

/// The entries where `got` is not `expected`: what each is in both, or that it is extra.
fn differences(
    expected: &BTreeMap<PathBuf, String>,
    got: &BTreeMap<PathBuf, String>,
) -> Vec<String> {
    expected
        .iter()
        .filter(|(path, what)| got.get(*path) != Some(what))
        .map(|(path, what)| format!("{}: {what} / {:?}", path.display(), got.get(path)))
        .chain(
            got.keys()
                .filter(|p| !expected.contains_key(*p))
                .map(|p| format!("extra {}", p.display())),
        )
        .collect()
}

/// Removes the copies `same_as_one_process` made.
fn clean(root: &Path) {
    for name in ["one", "ranks1", "ranks2", "ranks4"] {
        fs::remove_dir_all(root.join(name)).unwrap();
    }
}

#[test]
fn ranks_copy_a_tree_as_one_process_does_on_each_filesystem() {
    for fs_kind in Fs::ALL {
        let test = &format!("spread {fs_kind:?}");
        let Some(dir) = dir_on(fs_kind, "spread") else { return };
        make_tree(&dir.path().join("src"));
        same_as_one_process(test, dir.path(), &["-r", "--exclude=skip.*"], false);
        clean(dir.path());
        let preserving = ["-p", "-R", "--preserve=xattr", "--exclude=skip.*"];
        same_as_one_process(test, dir.path(), &preserving, true);
        clean(dir.path());
        // Hard links kept across ranks, and a read-only directory one of them goes into.
        same_as_one_process(test, dir.path(), &["-a", "--exclude=skip.*"], true);
    }
}

/// Each rank's calls, traced: more than one rank made destination files.
#[test]
fn the_work_goes_to_every_rank() {
    let test = "spread work";
    let Some(dir) = dir_on(Fs::Ext4, "spread-work") else { return };
    let root = dir.path();
    make_tree(&root.join("src"));
    if !have("mpirun") {
        return skip(test, "mpirun is not installed");
    }
    let script = format!(
        "exec strace -f -qq -e trace=openat -o {}/trace.$OMPI_COMM_WORLD_RANK {} -r src dst",
        root.display(),
        env!("CARGO_BIN_EXE_rcp")
    );
    let out = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "3", "sh", "-c", &script])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Vec<usize> = (0..3)
        .map(|rank| {
            let trace = fs::read_to_string(root.join(format!("trace.{rank}"))).unwrap();
            trace.lines().filter(|l| l.contains("O_CREAT") && l.contains("\"f")).count()
        })
        .collect();
    // The tree's files, and `d0/skip.me/deep/f`.
    assert_eq!(created.iter().sum::<usize>(), 6 * 3 * 8 + 1, "every file once: {created:?}");
    assert!(created.iter().filter(|&&n| n > 0).count() >= 2, "one rank did it all: {created:?}");
    assert_eq!(describe(&root.join("dst"), false).len(), describe(&root.join("src"), false).len());
}

/// `--report=json` of 3 ranks: one stream, every entry once, valid records, and a summary
/// that adds up; a file failing on whichever rank copies it fails the job (exit 1), its
/// message printed once.
#[test]
fn one_report_adds_up_and_a_failure_anywhere_fails_the_job() {
    let test = "spread report";
    let Some(dir) = dir_on(Fs::Ext4, "spread-report") else { return };
    let root = dir.path();
    make_tree(&root.join("src"));
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    // The file fails wherever it is copied: every rank runs under the same injection.
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let args = [
        "strace",
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "inject=copy_file_range:error=EIO",
        "-e",
        "inject=read:error=EIO",
        "-P",
        "src/d4/s2/f5",
        rcp,
        "-r",
        "--report=json",
        "src",
        "dst",
    ];
    let Some(out) = launch(test, 3, root, &args) else { return };
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = rcp_lines(&out);
    assert_eq!(
        lines,
        ["rcp: error copying 'src/d4/s2/f5' to 'dst/d4/s2/f5': Input/output error"],
        "once, from whichever rank"
    );
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    let (summary, entries) = records.split_last().unwrap();
    let mut sources: Vec<&str> =
        entries.iter().map(|r| r["source"]["text"].as_str().unwrap()).collect();
    let total = sources.len();
    sources.sort_unstable();
    sources.dedup();
    assert_eq!(sources.len(), total, "an entry reported twice");
    // Every entry below the operand, and the operand (`.` in the description).
    let expected = describe(&root.join("src"), false).len();
    assert_eq!(total, expected, "one record per entry");
    let outcomes = &summary["outcomes"];
    assert_eq!(outcomes["failed"], 1);
    assert_eq!(outcomes["copied"].as_u64().unwrap() + 1, total as u64);
    assert_eq!(summary["exit_status"], 1);
    let files = entries.iter().filter(|r| r["kind"] == "file" && r["outcome"] == "copied").count();
    assert_eq!(summary["files"].as_u64().unwrap(), files as u64);
}

/// `-i` cannot be spread; a plan that fails on rank 0 ends every rank.
#[test]
fn what_cannot_be_spread_is_refused_and_a_failed_plan_ends_every_rank() {
    let test = "spread refusals";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("src")).unwrap();
    fs::write(root.join("src/f"), "f").unwrap();
    for option in ["-i", "--interactive", "--link-dest=old", "--compare-dest=old"] {
        let Some(out) = mpirun(test, 2, root, &[option, "-r", "src", "dst"]) else { return };
        assert_ne!(out.status.code(), Some(0));
        let lines = rcp_lines(&out);
        assert_eq!(lines.len(), 1, "{option}: {lines:?}");
        assert!(lines[0].contains("cannot be used across the ranks"), "{lines:?}");
        assert!(!root.join("dst").exists(), "{option}: copied");
    }
    let Some(out) = mpirun(test, 2, root, &["-r", "src", "f2", "no/such/dir"]) else { return };
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(rcp_lines(&out), ["rcp: target 'no/such/dir': No such file or directory"]);
    let Some(out) = mpirun(test, 4, root, &["-r", "src", "new"]) else { return };
    assert!(out.status.success());
    assert_eq!(fs::read(root.join("new/f")).unwrap(), b"f");
}

/// A rank killed mid-copy (`kill -9`, as a failed node) ends the job with a non-zero status
/// and leaves no file looking complete; the same command again with `--resume` completes
/// the tree, copying only what is missing or cut short. SIGINT to `mpirun` stops every rank
/// as it stops one rcp: the files being written are removed.
#[test]
fn a_killed_rank_fails_the_job_and_resume_completes_the_tree() {
    let test = "spread killed rank";
    let Some(dir) = dir_on(Fs::Ext4, "spread-kill") else { return };
    let root = dir.path();
    if !have("mpirun") || !have("strace") {
        return skip(test, "mpirun or strace is not installed");
    }
    fs::create_dir(root.join("src")).unwrap();
    for d in 0..6 {
        fs::create_dir(root.join(format!("src/d{d}"))).unwrap();
        for f in 0..20 {
            let data = vec![(d * 20 + f) as u8; 30_000];
            fs::write(root.join(format!("src/d{d}/f{f}")), data).unwrap();
        }
    }
    fs::hard_link(root.join("src/d0/f0"), root.join("src/d5/link")).unwrap();
    assert!(rcp_in(root, &["-a", "src", "one"]).status.success());
    // Every rank copies slowly (each copy_file_range waits 0.2 s).
    let job = spawn_slowed(root, "", 200_000, &["-a", "src", "dst"]);
    let pid = slow_rank(root, "dst/d0");
    Command::new("kill").arg("-9").arg(pid.to_string()).status().unwrap();
    let out = job.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(0),
        "the job went on: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Whatever was cut short does not look complete: its size or time differs.
    let expected = describe(&root.join("one"), true);
    let left = describe(&root.join("dst"), true);
    assert!(left != expected, "{test}: the killed job finished the copy");
    let Some(again) =
        mpirun(test, 3, root, &["-a", "--resume", "-T", "--report=json", "src", "dst"])
    else {
        return;
    };
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(describe(&root.join("dst"), true), expected, "{test}: resumed copy differs");
    let records = parse_report(&String::from_utf8_lossy(&again.stdout));
    let skipped = records.iter().filter(|r| r["reason"] == "unchanged").count();
    assert!(skipped > 0, "{test}: --resume copied everything again");
}

/// SIGINT to `mpirun` reaches every rank (Open MPI sends SIGCONT, then SIGTERM a second
/// later, then SIGKILL) and each stops as one rcp does: the file being written — here from
/// a fifo (`--copy-contents`) whose writer holds it open — is removed, rank 0 says so once,
/// and the job fails.
#[test]
fn sigint_to_mpirun_stops_every_rank_and_leaves_nothing_cut_short() {
    let Some((dir, out)) = stop_mpirun("spread sigint", "-INT") else { return };
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(rcp_lines(&out), ["rcp: interrupted by SIGTERM"], "spread sigint");
    drop(dir);
}

/// `mpirun` killed outright (`kill -9`: nothing passes a signal on): each rank sees its
/// launcher gone and stops as on SIGTERM — what it was writing removed, no rank left
/// copying on.
#[test]
fn ranks_whose_launcher_dies_stop_and_leave_nothing_cut_short() {
    let Some((dir, _)) = stop_mpirun("spread launcher killed", "-KILL") else { return };
    let dst = dir.path().join("dst");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let running = || {
        fs::read_dir("/proc").unwrap().flatten().any(|p| {
            let cmdline = fs::read(p.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains(env!("CARGO_BIN_EXE_rcp")) && cmdline.contains("--copy-contents")
        })
    };
    while running() {
        assert!(std::time::Instant::now() < deadline, "a rank went on without its launcher");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!dst.join("d2/fifo").exists(), "the file cut short is left");
}

/// Starts 3 ranks copying a tree with a fifo whose writer holds it open, sends `signal` to
/// mpirun once the fifo's first bytes are copied, and checks that every file in the copy is
/// whole or absent once mpirun is gone (and, for a signal mpirun passes on, that the
/// fifo's copy is removed). Returns the directory and mpirun's output.
fn stop_mpirun(test: &str, signal: &str) -> Option<(tempfile::TempDir, Output)> {
    let dir = dir_on(Fs::Ext4, "spread-stop")?;
    let root = dir.path();
    if !have("mpirun") {
        skip(test, "mpirun is not installed");
        return None;
    }
    for d in 0..4 {
        fs::create_dir_all(root.join(format!("src/d{d}"))).unwrap();
        for f in 0..10 {
            fs::write(root.join(format!("src/d{d}/f{f}")), vec![b'x'; 10_000]).unwrap();
        }
    }
    let fifo = root.join("src/d2/fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // The fifo's writer: 1000 bytes, then open until the job is over.
    let writer = std::thread::spawn(move || {
        let mut w = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        std::io::Write::write_all(&mut w, &[b'y'; 1000]).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(8));
    });
    let job = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "3"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-r", "--copy-contents", "src", "dst"])
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let copied = root.join("dst/d2/fifo");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while fs::metadata(&copied).map_or(true, |m| m.len() < 1000) {
        assert!(std::time::Instant::now() < deadline, "{test}: the fifo's data never came");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Command::new("kill").arg(signal).arg(job.id().to_string()).status().unwrap();
    let out = job.wait_with_output().unwrap();
    if signal != "-KILL" {
        assert!(!copied.exists(), "{test}: the file cut short is left");
    }
    writer.join().unwrap();
    for (path, what) in describe(&root.join("dst"), false) {
        let whole = !what.contains(" size ") || what.contains(" size 10000 ");
        assert!(whole || path.ends_with("fifo"), "{test}: {}: {what}", path.display());
    }
    Some((dir, out))
}

/// Writes a shell script (`#!/bin/sh` and `body`) at `path`, executable.
fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Starts three ranks of rcp with `args` in `root`, each run through `wrap` (shell words
/// before the program) and an strace that makes every copy_file_range wait `delay` µs;
/// rank 1's strace writes its PID to `root/tracer` (`slow_rank` finds its rcp there).
fn spawn_slowed(root: &Path, wrap: &str, delay: u32, args: &[&str]) -> std::process::Child {
    let script = root.join("rank.sh");
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let inject = format!("inject=copy_file_range:delay_exit={delay}");
    let slowed = format!("{wrap} strace -f -qq -o /dev/null -e {inject} {rcp}");
    write_script(
        &script,
        &format!(
            "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then\n  {slowed} \"$@\" &\n  \
             echo $! > {root}/tracer\n  wait $!\n  exit $?\nfi\nexec {slowed} \"$@\"\n",
            root = root.display()
        ),
    );
    Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "3"])
        .arg(&script)
        .args(args)
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Rank 1's rcp (the child of the strace whose PID the script wrote to `tracer`), once
/// `started` (below `root`) is there, and a little more.
fn slow_rank(root: &Path, started: &str) -> i32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "rank 1 never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let Ok(tracer) = fs::read_to_string(root.join("tracer")) else { continue };
        let tracer = tracer.trim();
        let children = fs::read_to_string(format!("/proc/{tracer}/task/{tracer}/children"));
        let pid = children.ok().and_then(|c| c.split_whitespace().next()?.parse::<i32>().ok());
        if let (Some(pid), true) = (pid, root.join(started).exists()) {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            return pid;
        }
    }
}

/// `--atomic -a` onto an existing copy, after the source changed: 1, 2 and 4 ranks leave
/// what one process leaves (each file replaced by a rename, none left under a temporary
/// name); a rank never takes another rank's live temporary for a stale one (a temporary
/// names its host, boot, PID namespace and process).
#[test]
fn atomic_onto_an_existing_copy_as_one_process_does() {
    let test = "spread atomic";
    let Some(dir) = dir_on(Fs::Xfs, "spread-atomic") else { return };
    let root = dir.path();
    make_tree(&root.join("src"));
    for name in ["one", "ranks1", "ranks2", "ranks4"] {
        let out = rcp_in(root, &["-a", "src", name]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for (d, s, f) in [(0, 0, 2), (1, 2, 3), (3, 1, 7), (5, 2, 0), (2, 0, 5)] {
        fs::write(root.join(format!("src/d{d}/s{s}/f{f}")), format!("changed {d}{s}{f}")).unwrap();
    }
    let one = rcp_in(root, &["-a", "--atomic", "-T", "--exclude=skip.*", "src", "one"]);
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    let expected = describe(&root.join("one"), true);
    for n in [1, 2, 4] {
        let dst = format!("ranks{n}");
        let args = ["-a", "--atomic", "-T", "--exclude=skip.*", "src", &dst];
        let Some(out) = mpirun(test, n, root, &args) else { return };
        assert!(out.status.success(), "{test} -n {n}: {}", String::from_utf8_lossy(&out.stderr));
        let got = describe(&root.join(&dst), true);
        let temporaries: Vec<_> =
            got.keys().filter(|p| p.to_string_lossy().contains(".rcp-")).collect();
        assert!(temporaries.is_empty(), "{test} -n {n}: left {temporaries:?}");
        assert!(got == expected, "{test} -n {n}: differs from one process");
    }
}

/// `--progress` (stderr not a terminal: a last status line) on rank 0 counts every rank's
/// files and bytes, and no rank walks the tree a second time to count a total (the
/// tree may be tens of millions of files): rank 0 opens no source directory by path below
/// the operand, as the count would.
#[test]
fn progress_adds_every_rank_and_nothing_walks_the_tree_twice() {
    let test = "spread progress";
    let Some(dir) = dir_on(Fs::Ext4, "spread-progress") else { return };
    let root = dir.path();
    make_tree(&root.join("src"));
    if !have("mpirun") || !have("strace") {
        return skip(test, "mpirun or strace is not installed");
    }
    let script = format!(
        "exec strace -f -qq -e trace=openat -o {}/trace.$OMPI_COMM_WORLD_RANK {} -r --progress \
         --exclude=skip.* src dst",
        root.display(),
        env!("CARGO_BIN_EXE_rcp")
    );
    let Some(out) = launch(test, 3, root, &["sh", "-c", &script]) else { return };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().rfind(|l| l.contains(" files, ")).unwrap_or_default();
    let files =
        describe(&root.join("dst"), false).values().filter(|w| w.contains(" size ")).count();
    assert!(last.starts_with(&format!("{files} files, ")), "{test}: {last:?} ({files} files)");
    assert!(!last.contains("counting"), "{last}");
    let trace = fs::read_to_string(root.join("trace.0")).unwrap();
    let by_path = trace.lines().filter(|l| l.contains("AT_FDCWD, \"src/")).count();
    assert_eq!(by_path, 0, "{test}: rank 0 walked the source by path:\n{trace}");
}

/// A file named on the command line that is a hard link of a file inside another operand's
/// tree stays linked to it under ranks, whichever comes first: the command-line copy is
/// told to the rank owning the inode, which links the tree's names to it.
#[test]
fn a_command_line_file_stays_linked_to_its_names_in_trees() {
    let test = "spread command-line link";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("t/d")).unwrap();
    fs::write(root.join("t/d/f"), "x").unwrap();
    fs::hard_link(root.join("t/d/f"), root.join("g")).unwrap();
    fs::hard_link(root.join("t/d/f"), root.join("t/h")).unwrap();
    for (n, operands) in [(2, ["g", "t"]), (3, ["t", "g"])] {
        let dst = format!("dst{n}");
        fs::create_dir(root.join(&dst)).unwrap();
        let args = ["-a", operands[0], operands[1], &dst];
        let Some(out) = mpirun(test, n, root, &args) else { return };
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ino = |p: &str| fs::metadata(root.join(&dst).join(p)).unwrap().ino();
        assert_eq!(ino("g"), ino("t/d/f"), "{test} {operands:?}");
        assert_eq!(ino("g"), ino("t/h"), "{test} {operands:?}");
    }
}

/// Big files cut into pieces (`--chunk-size=1M`) that ranks on several hosts copy: a dense
/// one, a sparse one and one just over a piece, on ext4 (copy_file_range), and on btrfs and
/// XFS both with clones allowed (one FICLONE of the whole file: nothing to cut) and without
/// (`--reflink=never`: pieces by splice). Each copy is the single process's, its one record
/// counts the pieces, and other ranks copied some. Ranks all on one host cut nothing.
#[test]
fn big_files_are_copied_in_pieces_by_several_ranks() {
    for fs_kind in Fs::ALL {
        let test = &format!("spread pieces {fs_kind:?}");
        let Some(dir) = dir_on(fs_kind, "spread-pieces") else { return };
        let root = dir.path();
        fs::create_dir(root.join("src")).unwrap();
        crate::common::write_pattern(&root.join("src/dense"), 24 << 20, 7);
        crate::common::write_pattern(&root.join("src/over"), (1 << 20) + 5, 8);
        let sparse = fs::File::create(root.join("src/sparse")).unwrap();
        sparse.set_len(20 << 20).unwrap();
        for at in [0u64, 3 << 20, (9 << 20) + 4095, (19 << 20) + 77] {
            std::os::unix::fs::FileExt::write_at(&sparse, &[0xa5; 9000], at).unwrap();
        }
        let clones = fs_kind != Fs::Ext4;
        let policies: &[&[&str]] = if clones { &[&[], &["--reflink=never"]] } else { &[&[]] };
        for policy in policies {
            let args = [*policy, &["-a", "--chunk-size=1M", "--report=json"]].concat();
            same_as_one_process_with(test, root, &args, |n, out| {
                let records = parse_report(&String::from_utf8_lossy(&out.stdout));
                let file = |name: &str| {
                    records
                        .iter()
                        .find(|r| r["source"]["text"] == format!("src/{name}"))
                        .unwrap_or_else(|| panic!("{test} -n {n}: no record of {name}"))
                };
                let pieces = |name: &str| file(name).get("pieces").cloned();
                if clones && policy.is_empty() {
                    // A clone is one call for the whole file: nothing is cut.
                    assert_eq!(file("dense")["strategy"], "clone", "{test} -n {n}");
                    assert_eq!(pieces("dense"), None, "{test} -n {n}");
                    return;
                }
                if n == 1 {
                    // One rank is the single process: nothing is cut.
                    assert_eq!(pieces("dense"), None, "{test} -n {n}");
                    return;
                }
                for (name, count) in [("dense", 24), ("over", 2), ("sparse", 20)] {
                    let got = pieces(name).unwrap_or_else(|| panic!("{test} -n {n}: {name}"));
                    assert_eq!(got["count"], count, "{test} -n {n}: {name}");
                }
                assert_eq!(file("sparse")["holes"], true, "{test} -n {n}");
                let elsewhere = pieces("dense").unwrap()["elsewhere"].as_u64().unwrap();
                assert!(elsewhere > 0, "{test} -n {n}: no other rank took a piece");
            });
            clean(root);
        }
        let Some(out) =
            mpirun(test, 2, root, &["-r", "--chunk-size=1M", "--report=json", "src", "d"])
        else {
            return;
        };
        assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
        let records = parse_report(&String::from_utf8_lossy(&out.stdout));
        let cut: Vec<_> = records.iter().filter(|r| r.get("pieces").is_some()).collect();
        assert!(cut.is_empty(), "{test}: cut on one host: {cut:?}");
    }
}

/// The shell words that run what follows as a rank on a host of its own: a UTS namespace
/// named `rankN`, which is all rcp looks at to tell hosts apart (its place is the host
/// name, the boot and the PID namespace). Big files are cut only across hosts.
const OWN_HOST: &str =
    "unshare -u sh -c 'hostname rank$OMPI_COMM_WORLD_RANK && exec \"$0\" \"$@\"'";

/// Shell words that run what follows with each copy_file_range and splice call taking
/// `delay` µs longer (strace, stopping on those calls only): a big file's owner then leaves
/// pieces for the other ranks to take, whatever the machine's speed.
fn slowed(delay: u32) -> String {
    let calls = "copy_file_range,splice";
    format!(
        "strace -f -qq --seccomp-bpf -o /dev/null -e trace={calls} -e inject={calls}:delay_exit={delay}"
    )
}

/// `mpirun` running `n` ranks of rcp with `args`, each on a host of its own (`OWN_HOST`),
/// with copies slowed (`slowed`) by `delay` µs (none for 0).
fn mpirun_hosts(test: &str, (n, delay): (usize, u32), cwd: &Path, args: &[&str]) -> Option<Output> {
    if !have("unshare") || !have("strace") {
        skip(test, "unshare or strace is not installed");
        return None;
    }
    let script = cwd.join("own-host.sh");
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let slow = if delay > 0 { slowed(delay) } else { String::new() };
    write_script(&script, &format!("exec {OWN_HOST} {slow} {rcp} \"$@\"\n"));
    launch(test, n, cwd, &[&[script.to_str().unwrap()], args].concat())
}

/// `same_as_one_process`, each rank on a host of its own, with `check` run on each
/// launch's output too.
fn same_as_one_process_with(
    test: &str,
    root: &Path,
    args: &[&str],
    check: impl Fn(usize, &Output),
) {
    let one = rcp_in(root, &[args, &["src", "one"]].concat());
    assert!(one.status.success(), "{test}: {}", String::from_utf8_lossy(&one.stderr));
    let expected = describe(&root.join("one"), true);
    for n in [1, 2, 4] {
        let dst = format!("ranks{n}");
        let Some(out) = mpirun_hosts(test, (n, 20_000), root, &[args, &["src", &dst]].concat())
        else {
            return;
        };
        assert!(out.status.success(), "{test} -n {n}: {}", String::from_utf8_lossy(&out.stderr));
        let differ = differences(&expected, &describe(&root.join(&dst), true));
        assert!(differ.is_empty(), "{test} -n {n}:\n{}", differ.join("\n"));
        check(n, &out);
    }
}

/// Rank `rank` of `n` runs under `strace` with `inject` (its copy_file_range calls traced
/// into `root/trace`), the others slowed (`slowed`, 50 ms a call), each on a host of its
/// own; returns the launch's output for `args`.
fn with_one_rank_traced(
    test: &str,
    root: &Path,
    (n, rank): (usize, usize),
    inject: &str,
    args: &[&str],
) -> Option<Output> {
    if !have("strace") || !have("unshare") {
        skip(test, "strace or unshare is not installed");
        return None;
    }
    let script = root.join(format!("rank{rank}.sh"));
    let rcp = env!("CARGO_BIN_EXE_rcp");
    write_script(
        &script,
        &format!(
            "if [ \"$OMPI_COMM_WORLD_RANK\" = {rank} ]; then\n  exec {OWN_HOST} strace \
             -f -qq -o {trace} -e trace=copy_file_range -e inject={inject} {rcp} \"$@\"\nfi\n\
             exec {OWN_HOST} {others} {rcp} \"$@\"\n",
            others = slowed(50_000),
            trace = root.join("trace").display()
        ),
    );
    launch(test, n, root, &[&[script.to_str().unwrap()], args].concat())
}

/// A piece another rank could not copy (its copy_file_range fails with EIO) goes back to
/// the file's owner, which copies it: the file is whole, its record says no other rank
/// copied a piece, and the job succeeds.
#[test]
fn a_piece_that_fails_elsewhere_is_copied_by_the_owner() {
    let test = "spread piece fails elsewhere";
    let Some(dir) = dir_on(Fs::Ext4, "spread-piece-elsewhere") else { return };
    let root = dir.path();
    crate::common::write_pattern(&root.join("big"), 16 << 20, 3);
    let args = ["--chunk-size=1M", "--report=json", "big", "copy"];
    let inject = "copy_file_range:error=EIO";
    let Some(out) = with_one_rank_traced(test, root, (2, 1), inject, &args) else { return };
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    crate::common::assert_same_bytes(&root.join("big"), &root.join("copy"));
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    let record = records.iter().find(|r| r["type"] == "entry").unwrap();
    assert_eq!(record["pieces"]["count"], 16, "{test}: {record}");
    assert_eq!(record["pieces"]["elsewhere"], 0, "{test}: {record}");
    let trace = fs::read_to_string(root.join("trace")).unwrap();
    assert!(trace.contains("EIO (Input/output error) (INJECTED)"), "{test}: rank 1 took none");
}

/// A piece the owner cannot copy fails the file as one process's copy fails: cp's
/// message once, exit status 1, and the file it created removed — after the pieces other
/// ranks took are in, so nothing writes into it later.
#[test]
fn a_piece_that_fails_on_the_owner_fails_the_file() {
    let test = "spread piece fails on owner";
    let Some(dir) = dir_on(Fs::Ext4, "spread-piece-owner") else { return };
    let root = dir.path();
    crate::common::write_pattern(&root.join("big"), 16 << 20, 4);
    let args = ["--chunk-size=1M", "big", "copy"];
    let inject = "copy_file_range:error=EIO:when=4+";
    let Some(out) = with_one_rank_traced(test, root, (3, 0), inject, &args) else { return };
    assert_ne!(out.status.code(), Some(0), "{test}");
    assert_eq!(
        rcp_lines(&out),
        ["rcp: error copying 'big' to 'copy': Input/output error"],
        "{test}"
    );
    assert!(!root.join("copy").exists(), "{test}: the torn copy is left");
}

/// A rank killed while a big file is copied in pieces: the job fails, the file under its
/// name is not whole-looking (its last piece goes last), and `--resume` completes it.
#[test]
fn a_rank_killed_during_a_cut_file_leaves_it_short_and_resume_completes_it() {
    let test = "spread pieces killed";
    let Some(dir) = dir_on(Fs::Ext4, "spread-pieces-kill") else { return };
    let root = dir.path();
    if !have("mpirun") || !have("strace") || !have("unshare") {
        return skip(test, "mpirun, strace or unshare is not installed");
    }
    fs::create_dir(root.join("src")).unwrap();
    crate::common::write_pattern(&root.join("src/big"), 32 << 20, 5);
    // Every rank copies slowly (each copy_file_range waits 0.3 s: 32 pieces take three
    // ranks over 3 s), each on a host of its own.
    let job = spawn_slowed(root, OWN_HOST, 300_000, &["-a", "--chunk-size=1M", "src", "dst"]);
    let pid = slow_rank(root, "dst/big");
    // Pieces from the back are in by now, but not the last: the file is short.
    let during = fs::metadata(root.join("dst/big")).unwrap().len();
    assert!(during > 0 && during < 32 << 20, "{test}: {during} bytes while copied");
    Command::new("kill").arg("-9").arg(pid.to_string()).status().unwrap();
    let out = job.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    let left = fs::metadata(root.join("dst/big")).map_or(0, |m| m.len());
    assert!(left < 32 << 20, "{test}: the cut file looks whole");
    let args = ["-a", "--resume", "-T", "--chunk-size=1M", "src", "dst"];
    let Some(again) = mpirun_hosts(test, (3, 0), root, &args) else { return };
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    crate::common::assert_same_bytes(&root.join("src/big"), &root.join("dst/big"));
}

/// Ranks on hosts that number devices differently, as clients of one network filesystem do
/// (NFS, CephFS: the device number is each client's own, the inode numbers the server's):
/// rank 0 sees the tree directly, ranks 1 and 2 each through a FUSE passthrough of their
/// own (`benches/latency_fs.py`, inode numbers passed through) mounted over the same path
/// in a mount namespace, with a host name of their own. Trees sent to them land, hard
/// links stay linked (also to a command-line file), a big file is cut into pieces, and the
/// copy is one process's.
#[test]
fn ranks_whose_hosts_number_devices_differently_copy_as_one_process() {
    let test = "spread devices differ";
    let Some(dir) = dir_on(Fs::Ext4, "spread-devices") else { return };
    let root = dir.path();
    let usable = have("python3")
        && have("unshare")
        && have("strace")
        && Path::new("/dev/fuse").exists()
        && Command::new("python3").args(["-c", "import fuse"]).status().is_ok_and(|s| s.success());
    if !usable || !have("mpirun") {
        return skip(test, "needs mpirun, unshare, strace, /dev/fuse, python3 and fusepy");
    }
    let (back, mnt) = (root.join("back"), root.join("mnt"));
    for d in 0..8 {
        for e in 0..3 {
            let dir = back.join(format!("src/d{d}/e{e}"));
            fs::create_dir_all(&dir).unwrap();
            for f in 0..6 {
                fs::write(dir.join(format!("f{f}")), format!("{d} {e} {f}\n")).unwrap();
            }
        }
    }
    for (from, to) in [("src/d0/e0/f0", "src/d7/e2/h0"), ("src/d1/e1/f1", "src/d6/h1")] {
        fs::hard_link(back.join(from), back.join(to)).unwrap();
    }
    fs::hard_link(back.join("src/d2/e0/f3"), back.join("cmdline")).unwrap();
    crate::common::write_pattern(&back.join("src/d3/big"), 8 << 20, 9);
    fs::create_dir(&mnt).unwrap();
    let bound = Command::new("mount").arg("--bind").arg(&back).arg(&mnt).status().unwrap();
    assert!(bound.success(), "{test}: mount --bind");
    let _unmount = Unmount(mnt.clone());
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let fuse = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/latency_fs.py");
    let (back, mnt, root) = (back.display(), mnt.display(), root.display());
    // Rank 0 owns the big file; slowed, it leaves pieces for the others.
    let slow = slowed(100_000);
    let script = format!(
        "if [ \"$OMPI_COMM_WORLD_RANK\" = 0 ]; then exec {slow} \"$@\"; fi\n\
         exec unshare -m -u --propagation private sh -c '\n\
         hostname rank$OMPI_COMM_WORLD_RANK; here=$PWD; cd /; umount -l {mnt}\n\
         python3 {fuse} {back} {mnt} 0 2>/dev/null & fuse=$!\n\
         while ! grep -q \" {mnt} fuse\" /proc/self/mounts; do sleep 0.05; done\n\
         cd \"$here\"; strace -f -qq -e trace=openat,mkdir -o {root}/trace.$OMPI_COMM_WORLD_RANK \
         \"$@\"; status=$?\n\
         cd /; umount {mnt}; kill $fuse; exit $status' sh \"$@\"\n"
    );
    let script_path = dir.path().join("elsewhere.sh");
    write_script(&script_path, &script);
    let mnt = dir.path().join("mnt");
    for made in ["one", "dst"] {
        fs::create_dir(mnt.join(made)).unwrap();
    }
    assert!(rcp_in(&mnt, &["-a", "src", "cmdline", "one"]).status.success());
    let args = [script_path.to_str().unwrap(), rcp, "-a", "--chunk-size=1M", "--report=json"];
    let Some(out) = launch(test, 3, &mnt, &[&args[..], &["src", "cmdline", "dst"]].concat()) else {
        return;
    };
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(rcp_lines(&out).is_empty(), "{test}: {:?}", rcp_lines(&out));
    // Without times: the passthrough sets them through a float, to a microsecond or so.
    let differ =
        differences(&describe(&mnt.join("one"), false), &describe(&mnt.join("dst"), false));
    assert!(differ.is_empty(), "{test}:\n{}", differ.join("\n"));
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    // Cut; whether other ranks took pieces depends on who owns it: FUSE daemons number
    // their files each their own way, so their handles differ and a piece from one to
    // another goes back to its owner (an NFS server gives every client the same handles).
    let big = records.iter().find(|r| r["source"]["text"] == "src/d3/big").unwrap();
    assert_eq!(big["pieces"]["count"], 8, "{test}: {big}");
    let made_elsewhere = (1..3)
        .map(|rank| fs::read_to_string(dir.path().join(format!("trace.{rank}"))).unwrap())
        .map(|trace| {
            trace.lines().filter(|l| l.contains("O_CREAT") || l.contains("mkdir(")).count()
        })
        .sum::<usize>();
    assert!(made_elsewhere > 0, "{test}: no tree went to another host");
}

/// Unmounts (lazily) when dropped, a test's bind mount even when it fails.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// rcp builds against MPICH too (`MPICC=mpicc.mpich`, into `target/mpich`), and that build,
/// run as three ranks by MPICH's own launcher, copies the tree as one process does (hard
/// links kept) and refuses `-i`.
#[test]
fn built_against_mpich_it_copies_as_one_process() {
    let test = "spread mpich";
    if !have("mpicc.mpich") || !have("mpirun.mpich") {
        return skip(test, "MPICH is not installed (Debian: libmpich-dev mpich)");
    }
    let Some(dir) = dir_on(Fs::Ext4, "spread-mpich") else { return };
    let root = dir.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = repo.join("target/mpich");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--offline", "--locked", "--features", "mpi", "--bin", "rcp"])
        .arg("--target-dir")
        .arg(&target)
        .env("MPICC", "mpicc.mpich")
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(build.status.success(), "{test}: {}", String::from_utf8_lossy(&build.stderr));
    let rcp = target.join("debug/rcp");
    let libraries = Command::new("ldd").arg(&rcp).output().unwrap();
    let libraries = String::from_utf8_lossy(&libraries.stdout);
    assert!(libraries.contains("libmpich"), "{test}: not linked with MPICH:\n{libraries}");
    make_tree(&root.join("src"));
    assert!(rcp_in(root, &["-a", "--exclude=skip.*", "src", "one"]).status.success());
    let run = |args: &[&str]| {
        Command::new("timeout")
            .args(["120", "mpirun.mpich", "-n", "3"])
            .arg(&rcp)
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
    };
    let out = run(&["-a", "--exclude=skip.*", "src", "ranks"]);
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    let differ =
        differences(&describe(&root.join("one"), true), &describe(&root.join("ranks"), true));
    assert!(differ.is_empty(), "{test}:\n{}", differ.join("\n"));
    let out = run(&["-i", "-r", "src", "asked"]);
    assert_ne!(out.status.code(), Some(0), "{test}: -i ran");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used across the ranks"));
    assert!(!root.join("asked").exists(), "{test}: -i copied");
}

/// From another host, a piece's file is checked by its filesystem handle as well as its
/// inode number: a btrfs subvolume renamed into the destination's path, holding a file of
/// the same inode number, gets no piece (each goes back to the owner, which writes through
/// its own open file), so the copy is whole and the other file untouched.
#[test]
fn a_piece_never_lands_in_a_file_of_the_same_number_on_another_device() {
    let test = "spread pieces subvolume";
    let Some(dir) = dir_on(Fs::Btrfs, "spread-subvolume") else { return };
    let root = dir.path();
    if !have("btrfs") || !have("strace") || !have("unshare") {
        return skip(test, "btrfs-progs, strace or unshare is not installed");
    }
    let run = |args: &[&str]| {
        let ok = Command::new(args[0]).args(&args[1..]).current_dir(root).status().unwrap();
        assert!(ok.success(), "{test}: {args:?}");
    };
    run(&["btrfs", "subvolume", "create", "A"]);
    run(&["btrfs", "subvolume", "create", "V"]);
    // The copy's file will be A's third inode; V's third is the other file.
    fs::create_dir(root.join("A/P")).unwrap();
    fs::write(root.join("A/P/probe"), "").unwrap();
    fs::remove_file(root.join("A/P/probe")).unwrap();
    for name in ["pad", "pad2"] {
        fs::write(root.join("V").join(name), "pad").unwrap();
    }
    fs::write(root.join("V/big"), "VICTIM\n").unwrap();
    crate::common::write_pattern(&root.join("src"), 24 << 20, 13);
    let wrap = format!(
        "{OWN_HOST} strace -f -qq -o /dev/null -e inject=copy_file_range:delay_exit=300000"
    );
    let script = root.join("slow.sh");
    let rcp = env!("CARGO_BIN_EXE_rcp");
    write_script(&script, &format!("exec {wrap} {rcp} \"$@\"\n"));
    let job = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "3"])
        .arg(&script)
        .args(["--chunk-size=1M", "--report=json", "src", "A/P/big"])
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !root.join("A/P/big").exists() {
        assert!(std::time::Instant::now() < deadline, "{test}: the copy never began");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
    assert_eq!(ino("A/P/big"), ino("V/big"), "{test}: the numbers do not meet; nothing tested");
    fs::rename(root.join("A/P"), root.join("A/P.old")).unwrap();
    fs::rename(root.join("V"), root.join("A/P")).unwrap();
    let out = job.wait_with_output().unwrap();
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read(root.join("A/P/big")).unwrap(), b"VICTIM\n", "{test}: written into");
    crate::common::assert_same_bytes(&root.join("src"), &root.join("A/P.old/big"));
}

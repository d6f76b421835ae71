//! `-j`: files filled by worker threads while the walk goes on. The output must be what a
//! sequential copy prints, in the same order, and directory attributes must land after the
//! files the workers were still filling.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{Fs, dir_on, parse_report, write_pattern};
use crate::gnu::{normalize_times, snapshot};

/// 20 directories of 50 files (some read-only), and a flat one of 300.
fn build(root: &Path) {
    for d in 0..20 {
        let dir = root.join(format!("src/d{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..50 {
            write_pattern(&dir.join(format!("f{f}")), 100 + (d * 50 + f) * 7, (d * 50 + f) as u64);
        }
    }
    let flat = root.join("src/flat");
    fs::create_dir_all(&flat).unwrap();
    for f in 0..300 {
        fs::write(flat.join(format!("{f}")), format!("{f}\n")).unwrap();
    }
    for d in [3, 11, 17] {
        fs::set_permissions(root.join(format!("src/d{d:02}")), fs::Permissions::from_mode(0o555))
            .unwrap();
    }
    normalize_times(root);
}

fn run(program: &str, root: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out =
        Command::new(program).current_dir(root).args(args).env("LC_ALL", "C").output().unwrap();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(program, "PROG");
    (out.status.code(), clean(&out.stdout), clean(&out.stderr))
}

#[test]
fn parallel_output_and_tree_match_a_sequential_copy_and_gnu() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    for fs_kind in [Fs::Ext4, Fs::Btrfs] {
        let Some(dir) = dir_on(fs_kind, "parallel") else { return };
        let root = dir.path();
        build(root);
        let gnu = run("/usr/bin/cp", root, &["-av", "src", "gnu"]);
        let par = run(rcp, root, &["-j4", "-av", "src", "par"]);
        let seq = run(rcp, root, &["-j1", "-av", "src", "seq"]);
        let rename = |text: &str, name: &str| text.replace(&format!("'{name}"), "'DST");
        assert_eq!(par.0, Some(0), "{}", par.2);
        assert_eq!(rename(&par.1, "par"), rename(&seq.1, "seq"), "-j4 output differs from -j1");
        assert_eq!(rename(&par.1, "par"), rename(&gnu.1, "gnu"), "-j4 output differs from GNU");
        let trees: Vec<_> = ["gnu", "par", "seq"].iter().map(|n| snapshot(&root.join(n))).collect();
        assert_eq!(trees[1], trees[0], "{fs_kind:?}: -j4 tree differs from GNU's");
        assert_eq!(trees[2], trees[0], "{fs_kind:?}: -j1 tree differs from GNU's");
        // The JSON records come out whole and in order too.
        let json = run(rcp, root, &["-j4", "-r", "--report=json", "src", "json"]);
        let lines: Vec<&str> = json.1.lines().collect();
        assert_eq!(lines.len(), 20 * 50 + 300 + 22 + 1, "one record per entry, and the summary");
        let records = parse_report(&json.1);
        let last = records.last().expect("records");
        assert_eq!((&last["type"], &last["outcomes"]["copied"]), (&"summary".into(), &1322.into()));
    }
}

/// `cp -r . dir` copies `./f1` to `dir/f1` and then `./dir` (now holding `dir/f1`) to
/// `dir/dir`: GNU, one file at a time, finds `dir/f1` complete. With `-j`, a worker may still
/// be filling it when `dir/dir`'s files are copied, so the walk waits for the workers before
/// reading a directory that is also a destination. Here a worker is kept busy on the one
/// large file while the walk runs through the small ones and reaches `dir/dir`.
#[test]
fn copying_a_tree_into_itself_reads_only_finished_files() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let Some(dir) = dir_on(Fs::Ext4, "into-itself") else { return };
    let root = dir.path().join("tree");
    fs::create_dir(&root).unwrap();
    // Files first, so their inodes (GNU's and rcp's walk order) come before `dir`'s.
    fs::write(root.join("f0"), "zero\n").unwrap();
    write_pattern(&root.join("f1"), 64 << 20, 1);
    for f in 2..10 {
        fs::write(root.join(format!("f{f}")), format!("file {f}\n")).unwrap();
    }
    fs::create_dir(root.join("dir")).unwrap();
    for round in 0..3 {
        // Like GNU, rcp copies one level and then refuses to go further into itself.
        let out = Command::new(rcp).current_dir(&root).args(["-r", "-j2", ".", "dir"]).output();
        let stderr = String::from_utf8_lossy(&out.unwrap().stderr).into_owned();
        assert!(stderr.contains("into itself"), "{stderr}");
        for f in 0..10 {
            let (outer, inner) = (root.join(format!("f{f}")), root.join(format!("dir/dir/f{f}")));
            assert_eq!(
                fs::metadata(&inner).map(|m| m.len()).ok(),
                Some(fs::metadata(&outer).unwrap().len()),
                "round {round}: dir/dir/f{f} was read before it was complete"
            );
            crate::common::assert_same_bytes(&outer, &inner);
        }
        fs::remove_dir_all(root.join("dir")).unwrap();
        fs::create_dir(root.join("dir")).unwrap();
    }
}

/// Under `-j`, each file's lines come out as it is copied, not when the worker's batch is
/// done: with every copy_file_range slowed to 0.6 s (strace's `delay_exit`), the `-v` line
/// of the third file arrives while most of the tree is still to be copied, and the whole
/// output is still a sequential copy's.
#[test]
fn lines_are_live_under_jobs() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let test = "lines are live under -j";
    if !crate::common::have("strace") {
        return crate::common::skip(test, "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    const FILES: usize = 8;
    fs::create_dir(root.join("src")).unwrap();
    for f in 0..FILES {
        write_pattern(&root.join(format!("src/f{f}")), 64 << 10, f as u64);
    }
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "inject=copy_file_range:delay_exit=600000"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-j2", "-rv", "--no-progress", "src", "par"])
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while seen.iter().filter(|l: &&String| l.contains("/f")).count() < 3 {
        seen.push(lines.next().expect("a third file's line").unwrap());
    }
    let copied = fs::read_dir(root.join("par")).unwrap().count();
    let running = child.try_wait().unwrap().is_none();
    seen.extend(lines.map(Result::unwrap));
    assert!(child.wait().unwrap().success());
    assert!(
        running && copied < FILES,
        "the third file's line came only once {copied} of {FILES} files were there \
         (rcp running: {running}): lines were held back"
    );
    let seq = run(env!("CARGO_BIN_EXE_rcp"), root, &["-j1", "-rv", "src", "seq"]);
    let rename = |text: &str, name: &str| text.replace(&format!("'{name}"), "'DST");
    assert_eq!(rename(&(seen.join("\n") + "\n"), "par"), rename(&seq.1, "seq"));
}

/// 30 directories, each with 3 subdirectories of 8 files (one of them read-only), a
/// symlink and a file of their own: many directories for idle workers to take whole.
fn build_trees(root: &Path) {
    for d in 0..30 {
        let top = root.join(format!("src/top{d:02}"));
        for s in 0..3 {
            let sub = top.join(format!("sub{s}"));
            fs::create_dir_all(&sub).unwrap();
            for f in 0..8 {
                let n = d * 24 + s * 8 + f;
                write_pattern(&sub.join(format!("f{f}")), 50 + n * 13, n as u64);
            }
        }
        fs::write(top.join("own"), format!("{d}\n")).unwrap();
        std::os::unix::fs::symlink("sub0/f0", top.join("link")).unwrap();
        fs::set_permissions(top.join("sub1"), fs::Permissions::from_mode(0o555)).unwrap();
    }
    normalize_times(root);
}

/// The records of `--report-file=NAME.json`, the destination renamed `DST`, without what
/// depends on timing: `elapsed_seconds`, and `cached` (which thread met a refusal first).
fn comparable_records(root: &Path, name: &str) -> Vec<String> {
    let text = fs::read_to_string(root.join(format!("{name}.json"))).unwrap();
    let mut records = parse_report(&text);
    for record in &mut records {
        if let Some(map) = record.as_object_mut() {
            map.remove("elapsed_seconds");
        }
        for fell in record["fell_back"].as_array_mut().into_iter().flatten() {
            if let Some(fell) = fell.as_object_mut() {
                fell.remove("cached");
            }
        }
    }
    let (under, whole) = (format!("\"{name}/"), format!("\"{name}\""));
    let rename =
        |r: &serde_json::Value| r.to_string().replace(&under, "\"DST/").replace(&whole, "\"DST\"");
    records.iter().map(rename).collect()
}

/// Asserts two lists of lines are equal, showing only the first difference.
fn same_lines(a: &[String], b: &[String], what: &str) {
    let differs = a.iter().zip(b).position(|(x, y)| x != y);
    assert!(
        a.len() == b.len() && differs.is_none(),
        "{what}: {} vs {} lines, first difference at {differs:?}: {:?} vs {:?}",
        a.len(),
        b.len(),
        differs.map(|i| &a[i]),
        differs.map(|i| &b[i]),
    );
}

/// A directory rcp makes goes to an idle worker whole (when another follows it), and the
/// worker walks it as the walk would: the trace shows directories made on more than one
/// thread, while the `-v` lines, every record, the errors, the exit status and the tree
/// are a sequential copy's (and the tree is GNU's, directory times included: a parent's
/// attributes land after the workers' subtrees).
#[test]
fn directories_on_workers_copy_and_print_as_a_sequential_copy() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    if !crate::common::have("strace") {
        return crate::common::skip("directories_on_workers", "strace is not installed");
    }
    let lines = |text: &str, name: &str| -> Vec<String> {
        text.lines().map(|l| l.replace(&format!("'{name}"), "'DST")).collect()
    };
    for fs_kind in [Fs::Ext4, Fs::Xfs] {
        let Some(dir) = dir_on(fs_kind, "trees") else { return };
        let root = dir.path();
        build_trees(root);
        let keep = "--preserve=mode,timestamps";
        let gnu = run("/usr/bin/cp", root, &["-rv", keep, "src", "gnu"]);
        // Every mkdir slowed by 30 ms: the workers are through the few files handed to them
        // before the walk reaches the next directory, however loaded the machine is, so
        // directories do go to them (a tree goes over only while few jobs wait).
        let slow = "inject=mkdir,mkdirat:delay_exit=30000";
        let traced =
            ["-f", "-qq", "-e", "trace=mkdir,mkdirat", "-e", slow, "-o", "trace", rcp, "-j4"];
        let par_args = ["-rv", keep, "--report-file=par.json", "src", "par"];
        let par = run("strace", root, &[&traced[..], &par_args[..]].concat());
        let seq = run(rcp, root, &["-j1", "-rv", keep, "--report-file=seq.json", "src", "seq"]);
        assert_eq!(par.0, Some(0), "{}", par.2);
        same_lines(&lines(&par.1, "par"), &lines(&seq.1, "seq"), "-j4 -v lines against -j1's");
        same_lines(&lines(&par.1, "par"), &lines(&gnu.1, "gnu"), "-j4 -v lines against GNU's");
        let records = (comparable_records(root, "par"), comparable_records(root, "seq"));
        same_lines(&records.0, &records.1, "-j4 records against -j1's");
        let trees: Vec<_> = ["gnu", "par", "seq"].iter().map(|n| snapshot(&root.join(n))).collect();
        assert!(trees[1] == trees[0], "{fs_kind:?}: -j4 tree differs from GNU's");
        assert!(trees[2] == trees[0], "{fs_kind:?}: -j1 tree differs from GNU's");
        let trace = fs::read_to_string(root.join("trace")).unwrap();
        let mut threads: Vec<&str> =
            trace.lines().filter_map(|l| l.split_whitespace().next()).collect();
        threads.sort_unstable();
        threads.dedup();
        assert!(threads.len() > 1, "{fs_kind:?}: every directory was made on one thread");
        if fs_kind == Fs::Ext4 {
            // ext4 cannot clone: every file fails, and says so in the same order.
            let par = run(rcp, root, &["-j4", "-r", "--reflink=always", "src", "epar"]);
            let seq = run(rcp, root, &["-j1", "-r", "--reflink=always", "src", "eseq"]);
            assert_eq!((par.0, seq.0), (Some(1), Some(1)));
            same_lines(&lines(&par.2, "epar"), &lines(&seq.2, "eseq"), "-j4 errors against -j1's");
            assert_eq!(par.2.lines().count(), 30 * 25, "one error per file");
        }
    }
}

/// On XFS a new directory goes to the next allocation group and an inode number carries
/// its group, so GNU's inode order gives a directory's subdirectories one group at a time;
/// two threads cloning from one group take turns on its lock. Jobs there may queue deep
/// enough for a thread to take one in another group: with every clone slowed (5 ms), a
/// directory's files are made while one more than 100 places before it in walk order is
/// not started yet (the queue of 64 jobs it had could not reach so far ahead), and still
/// the `-v` lines are a sequential copy's, and the tree is the source's.
#[test]
fn on_xfs_threads_take_jobs_far_ahead_in_other_groups_and_print_in_order() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    if !crate::common::have("strace") {
        return crate::common::skip("xfs_groups_far_ahead", "strace is not installed");
    }
    let Some(dir) = dir_on(Fs::Xfs, "groups") else { return };
    let root = dir.path();
    let dirs = 1000;
    for d in 0..dirs {
        let sub = root.join(format!("src/d{d:04}"));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("d{d:04}_f")), format!("{d}\n")).unwrap();
    }
    let seq = run(rcp, root, &["-j1", "-rv", "src", "seq"]);
    assert_eq!(seq.0, Some(0), "{}", seq.2);
    // The directories in walk order, from the sequential copy's lines.
    let walked: Vec<String> = seq
        .1
        .lines()
        .filter_map(|l| l.strip_prefix("'src/")?.split_once("' -> ").map(|(d, _)| d.to_string()))
        .filter(|d| !d.contains('/'))
        .collect();
    assert_eq!(walked.len(), dirs, "one -v line per directory");
    let script = format!(
        "ulimit -n 65536; exec strace -f -qq -e trace=openat,ioctl -e inject=ioctl:delay_exit=5000 \
         -o trace {rcp} -j2 -rv src par"
    );
    let par = run("sh", root, &["-c", &script]);
    assert_eq!(par.0, Some(0), "{}", par.2);
    let lines = |text: &str, name: &str| -> Vec<String> {
        text.lines().map(|l| l.replace(&format!("'{name}"), "'DST")).collect()
    };
    same_lines(&lines(&par.1, "par"), &lines(&seq.1, "seq"), "-j2 -v lines against -j1's");
    assert!(snapshot(&root.join("par")) == snapshot(&root.join("src")), "-j2 tree");
    // When each directory's file was made, against the walk's order: how far ahead of the
    // first directory not started yet a thread was.
    let trace = fs::read_to_string(root.join("trace")).unwrap();
    let position: std::collections::HashMap<&str, usize> =
        walked.iter().enumerate().map(|(at, d)| (d.as_str(), at)).collect();
    let mut started = vec![false; dirs];
    let (mut first_waiting, mut furthest) = (0, 0);
    for line in trace.lines().filter(|l| l.contains("O_CREAT")) {
        let Some(name) = line.split('"').nth(1).and_then(|n| n.strip_suffix("_f")) else {
            continue;
        };
        let at = position[name];
        started[at] = true;
        furthest = furthest.max(at.saturating_sub(first_waiting));
        while first_waiting < dirs && started[first_waiting] {
            first_waiting += 1;
        }
    }
    assert!(started.iter().all(|&s| s), "every file made");
    assert!(furthest > 100, "a thread was at most {furthest} directories ahead");
}

/// Files the walk has opened (and so made, its `-v` line said) wait for a worker 64 at
/// most, on XFS too, where other jobs may queue 256 deep: interrupted, `-av` (every file
/// opened by the walk) from ext4 onto XFS (data moved, so a stop cancels a file) leaves at
/// most that many `-v` lines naming a file it made and removed again — 254 when they
/// queued as deep as the rest (found by an attack) — no file in the copy differs from its
/// source, and the status is SIGINT's.
#[test]
fn an_interrupted_copy_onto_xfs_said_it_began_few_files_it_removed() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    if !crate::common::have("strace") {
        return crate::common::skip("xfs_interrupted_fills", "strace is not installed");
    }
    let Some(from) = dir_on(Fs::Ext4, "fills") else { return };
    let Some(dir) = dir_on(Fs::Xfs, "fills") else { return };
    let (src, root) = (from.path().join("src"), dir.path());
    for d in 0..600 {
        let sub = src.join(format!("d{d:03}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..3 {
            write_pattern(&sub.join(format!("f{f}")), 4096, (d * 3 + f) as u64);
        }
    }
    // Every splice slowed 2 ms: the 1,800 files take over 3.6 s on two threads; SIGINT at
    // 1.5 s, long after the walk filled the queue.
    let script = format!(
        "ulimit -n 65536; strace -f -qq -e trace=splice -e inject=splice:delay_exit=2000 \
         -o /dev/null {rcp} -j2 -av {} dst > out 2> err & s=$!; sleep 1.5; \
         kill -INT $(cat /proc/$s/task/$s/children); wait $s; echo $? > status",
        src.display()
    );
    let out = run("sh", root, &["-c", &script]);
    assert_eq!(out.0, Some(0), "{}", out.2);
    let status = fs::read_to_string(root.join("status")).unwrap();
    assert_eq!(status.trim(), "130", "{}", fs::read_to_string(root.join("err")).unwrap());
    let said = fs::read_to_string(root.join("out")).unwrap();
    let files: Vec<&str> = said
        .lines()
        .filter_map(|l| l.split_once(" -> '")?.1.strip_suffix('\''))
        .filter(|d| d.contains("/f"))
        .collect();
    assert!(files.len() > 100, "{} files begun before SIGINT", files.len());
    let removed = files.iter().filter(|d| !root.join(d).exists()).count();
    assert!(removed <= 64 + 4, "{removed} -v lines name a file that is not there");
    for d in files.iter().filter(|d| root.join(d).exists()) {
        let original = src.join(d.strip_prefix("dst/").unwrap());
        assert!(fs::read(root.join(d)).unwrap() == fs::read(original).unwrap(), "{d} differs");
    }
}

/// Threads rcp started copying `src` to `to` in `root` (no `-j`), as strace saw them.
fn threads_started(rcp: &str, root: &Path, to: &str) -> usize {
    let args = ["-f", "-qq", "-e", "trace=clone3,clone", "-o", "clones", rcp, "-r", "src", to];
    let out = run("strace", root, &args);
    assert_eq!(out.0, Some(0), "{}", out.2);
    let trace = fs::read_to_string(root.join("clones")).unwrap();
    trace.lines().filter(|l| l.contains("clone") && !l.contains("resumed")).count()
}

/// A tree copy sizes its file-descriptor table (1,024 entries, or the open-file limit if
/// lower) before its first thread starts: a table shared by threads grows only after an
/// RCU grace period, which stalled a 20,000-file copy 5-16 ms each time its open files
/// passed 128, 256 and 512. Under `ulimit -n 40` the table is sized to the limit and the
/// copy still goes through.
#[test]
fn the_fd_table_is_sized_before_threads_start() {
    if !crate::common::have("strace") {
        return crate::common::skip("fd_table_sized", "strace is not installed");
    }
    let Some(dir) = dir_on(Fs::Ext4, "fdtable") else { return };
    let root = dir.path();
    build(root);
    let trace = |limit: u32, to: &str| {
        let script = format!(
            "ulimit -n {limit} && exec strace -f -qq -e trace=fcntl,clone3,clone -o trace.{to} {} -r src {to}",
            env!("CARGO_BIN_EXE_rcp")
        );
        let out = run("sh", root, &["-c", &script]);
        assert_eq!(out.0, Some(0), "{}", out.2);
        let same = run("diff", root, &["-r", "-q", "src", to]);
        assert_eq!(same.0, Some(0), "copied as it is: {}", same.1);
        let trace = fs::read_to_string(root.join(format!("trace.{to}"))).unwrap();
        let first_thread = trace.lines().position(|l| l.contains("clone")).expect("threads");
        let sized = trace.lines().position(|l| l.contains("F_DUPFD_CLOEXEC"));
        (sized.filter(|&at| at < first_thread), trace)
    };
    let (sized, calls) = trace(4096, "big");
    let line = calls.lines().nth(sized.expect("the table sized before a thread")).unwrap();
    assert!(line.contains("1023) ") && line.ends_with("= 1023"), "{line}");
    let (sized, calls) = trace(40, "small");
    let line = calls.lines().nth(sized.expect("the table sized before a thread")).unwrap();
    assert!(line.contains(" 39) ") && line.ends_with("= 39"), "{line}");
}

/// Without `-j`, a copy whose reads come from the device (the page cache dropped: ext4's
/// small files are read one seek at a time, the threads mostly wait) starts more workers
/// than CPUs, so that more reads are in flight; the same copy from a warm cache starts
/// none beyond one per CPU.
#[test]
fn a_cold_copy_starts_more_workers_than_a_warm_one() {
    let rcp = env!("CARGO_BIN_EXE_rcp");
    if !crate::common::have("strace") {
        return crate::common::skip("a_cold_copy_starts_more_workers", "strace is not installed");
    }
    let Some(dir) = dir_on(Fs::Ext4, "cold") else { return };
    let root = dir.path();
    // Many directories of a few files: a job each, handed over all through the copy (the
    // walk is at most a queue ahead), so the threads are looked at again and again; with
    // 80 of 40 the walk could hand over the last before the first look was due, and the
    // copy then ran as it began (seen once under a loaded machine).
    for d in 0..320 {
        let sub = root.join(format!("src/d{d:03}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..10 {
            write_pattern(&sub.join(format!("f{f}")), 16 << 10, (d * 10 + f) as u64);
        }
    }
    assert!(Command::new("sync").status().unwrap().success());
    if fs::write("/proc/sys/vm/drop_caches", "3").is_err() {
        return crate::common::skip("a_cold_copy_starts_more_workers", "cannot drop caches");
    }
    let cold = threads_started(rcp, root, "cold");
    let warm = threads_started(rcp, root, "warm");
    assert!(cold > warm, "{cold} threads started cold, {warm} warm");
    assert_eq!(snapshot(&root.join("cold")), snapshot(&root.join("src")));
}

/// A filesystem whose directory entries carry no type (`d_type` unknown: fusepy's, XFS
/// without ftype): the directories rcp makes still go to workers whole. Before, an unknown
/// entry never counted as a directory to come, so every tree was walked in line: 27.2 s
/// against 15.3 s on `benches/latency_fs.py` with 10 ms per metadata call.
#[test]
fn trees_go_to_workers_where_entries_have_no_type() {
    let test = "trees without d_type";
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/latency_fs.py");
    let Some(fuse) = crate::common::Fuse::mount(test, &script, dir.path(), &["2"]) else {
        return;
    };
    for d in 0..6 {
        let sub = dir.path().join(format!("back/src/d{d}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..6 {
            fs::write(sub.join(format!("f{f}")), "data").unwrap();
        }
    }
    let trace = dir.path().join("trace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(["-r", "-j4", "src", "dst"])
        .current_dir(&fuse.mnt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trace = fs::read_to_string(trace).unwrap();
    let mut threads: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("O_CREAT"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    threads.sort_unstable();
    threads.dedup();
    assert!(threads.len() > 1, "{test}: one thread made every file");
    assert_eq!(fs::read_to_string(dir.path().join("back/dst/d5/f5")).unwrap(), "data");
}

/// As `nobody`, a source directory it may list but not search (mode 644): each file in it
/// fails as GNU's does, `cannot stat` (GNU stats before it opens), whether the walk copies
/// it (-j1) or hands it to a worker in a batch of new files (-j4: a file was copied
/// before, and the directory is the walk's own, being the last); the rest is copied and
/// the run fails.
#[test]
fn a_file_in_an_unsearchable_directory_cannot_be_stat_ed_on_any_thread() {
    let euid_root = rustix::process::geteuid().is_root();
    if !crate::common::have("setpriv") || !euid_root {
        crate::common::skip("unsearchable_directory", "needs root and setpriv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
    // Made in this order, so walked in it (inode order): a file, a directory, and last the
    // one that may not be searched.
    fs::create_dir(d.join("src")).unwrap();
    fs::write(d.join("src/first"), "a\n").unwrap();
    fs::create_dir(d.join("src/open")).unwrap();
    fs::create_dir(d.join("src/closed")).unwrap();
    for f in 0..40 {
        fs::write(d.join(format!("src/open/f{f}")), "y\n").unwrap();
        fs::write(d.join(format!("src/closed/f{f}")), "x\n").unwrap();
    }
    fs::set_permissions(d.join("src/closed"), fs::Permissions::from_mode(0o644)).unwrap();
    let as_nobody = |program: &str, args: &[&str]| {
        let out = crate::common::as_nobody(program, args, d);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut lines: Vec<String> =
            stderr.lines().map(|l| l.split_once(": ").unwrap().1.into()).collect();
        lines.sort();
        (out.status.code(), lines)
    };
    let gnu = as_nobody("/usr/bin/cp", &["-r", "src", "gnu"]);
    assert_eq!(gnu.1.len(), 40, "{gnu:?}");
    assert!(gnu.1[0].starts_with("cannot stat 'src/closed/f"), "{gnu:?}");
    for jobs in ["-j1", "-j4"] {
        let dst = format!("out{jobs}");
        let rcp = as_nobody(env!("CARGO_BIN_EXE_rcp"), &[jobs, "-r", "src", &dst]);
        assert_eq!(rcp, gnu, "{jobs}");
        assert_eq!(fs::read_to_string(d.join(&dst).join("first")).unwrap(), "a\n", "{jobs}");
        assert_eq!(fs::read_dir(d.join(&dst).join("open")).unwrap().count(), 40, "{jobs}");
    }
}

/// Names a batch of new files carries in one buffer and renames its entries through: 255
/// bytes, one byte, not UTF-8, a newline, each a prefix of the next. Whether the walk
/// copies them (-j1) or workers take them in batches (-j4), `-v` says the same (GNU's
/// words, in GNU's order) and the copy is the source.
#[test]
fn odd_names_go_through_batches_as_through_the_walk() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let rcp = env!("CARGO_BIN_EXE_rcp");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = root.join("src/d");
    fs::create_dir_all(&src).unwrap();
    fs::write(root.join("src/first"), "first\n").unwrap();
    let mut names: Vec<Vec<u8>> = vec![vec![b'x'; 255], b"a".to_vec(), b"ab".to_vec()];
    names.extend([b"abc".to_vec(), b"new\nline".to_vec(), vec![0xff, 0xfe], b"q'uote".to_vec()]);
    names.extend((0..300).map(|i| format!("{}{i}", "n".repeat(i % 200)).into_bytes()));
    for (i, name) in names.iter().enumerate() {
        fs::write(src.join(OsStr::from_bytes(name)), format!("{i}\n")).unwrap();
    }
    let gnu = run("/usr/bin/cp", root, &["-rv", "src", "out"]);
    fs::remove_dir_all(root.join("out")).unwrap();
    for jobs in ["-j1", "-j4"] {
        let ours = run(rcp, root, &[jobs, "-rv", "src", "out"]);
        assert_eq!((ours.0, &ours.1, &ours.2), (gnu.0, &gnu.1, &gnu.2), "{jobs}");
        assert_eq!(snapshot(&root.join("out")), snapshot(&root.join("src")), "{jobs}");
        fs::remove_dir_all(root.join("out")).unwrap();
    }
}

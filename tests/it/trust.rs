//! What an outside audit broke (issue 27), each through the real binary so it cannot come
//! back: the report file aliasing what the copy touches, `--resume` after making room,
//! `-j` against a later operand, pseudo-files that lie about their size, failed clones over
//! an existing file, temporaries, interrupted resumable copies, and what rcp says.

use std::fs;
use std::path::Path;

use crate::common::*;

/// Runs rcp in `dir`; returns (status, stderr).
fn rcp_at(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = rcp_in(dir, args);
    (crate::common::shell_status(out.status), stderr(&out))
}

#[test]
fn report_file_may_name_nothing_the_copy_reads_or_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("src/sub")).unwrap();
    fs::write(d.join("src/a"), "a\n").unwrap();
    fs::write(d.join("src/sub/b"), "b\n").unwrap();
    fs::write(d.join("one.txt"), "one\n").unwrap();
    fs::write(d.join("dst.txt"), "old\n").unwrap();
    fs::create_dir_all(d.join("tree/src")).unwrap();
    fs::write(d.join("tree/src/a"), "kept\n").unwrap();
    fs::hard_link(d.join("one.txt"), d.join("link")).unwrap();
    std::os::unix::fs::symlink("one.txt", d.join("sym")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        // A source, a file in a source directory, a source reached by a hard link and
        // by a symlink.
        (&["-r", "--report-file=src/a", "src", "out"], "inside source directory 'src'"),
        (&["--report-file=src/a", "src/a", "out"], "over source 'src/a'"),
        (&["--report-file=link", "one.txt", "out"], "over source 'one.txt'"),
        (&["--report-file=sym", "one.txt", "out"], "over source 'one.txt'"),
        // The destination (existing, and not yet made), and a file inside the
        // destination tree (then overwritten by the copy, or renamed away by --atomic).
        (&["--report-file=dst.txt", "one.txt", "dst.txt"], "over destination 'dst.txt'"),
        (&["--report-file=new.txt", "one.txt", "new.txt"], "over destination 'new.txt'"),
        (&["-r", "--report-file=tree/src/a", "src", "tree"], "inside destination directory"),
        (&["-r", "--atomic", "--report-file=tree/src/a", "src", "tree"], "inside destination"),
        // Refused as a usage error too: nothing is opened.
        (&["--report-file=one.txt", "-T", "one.txt", "b", "c"], "over 'one.txt'"),
    ];
    for (args, why) in cases {
        let before = snapshot(d);
        let (code, err) = rcp_at(d, args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(err.contains("will not write report file") && err.contains(why), "{args:?}: {err}");
        assert_eq!(snapshot(d), before, "{args:?} changed something");
    }
    // Beside the destination tree is fine, and the report is complete.
    let out = rcp_in(d, &["-r", "--report-file=tree/r.json", "src", "tree"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = fs::read_to_string(d.join("tree/r.json")).unwrap();
    assert_eq!(parse_report(&report).last().unwrap()["exit_status"], 0);
    assert_eq!(fs::read(d.join("tree/src/a")).unwrap(), b"a\n");
}

#[test]
fn resume_after_making_room_copies_afresh_and_loses_nothing() {
    for extra in
        [&["-a"][..], &["-a", "--remove-destination"], &["-a", "-b"], &["-a", "--backup=numbered"]]
    {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("s")).unwrap();
        fs::create_dir_all(d.join("d")).unwrap();
        write_pattern(&d.join("s/f"), 3 << 20, 7);
        let prefix = fs::read(d.join("s/f")).unwrap()[..1 << 20].to_vec();
        fs::write(d.join("d/f"), &prefix).unwrap();
        fs::hard_link(d.join("d/f"), d.join("other")).unwrap();
        let mut args = extra.to_vec();
        args.extend(["--resume", "s/.", "d"]);
        let (code, err) = rcp_at(d, &args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_same_bytes(&d.join("s/f"), &d.join("d/f"));
        // The other name of the old destination is left as it was.
        assert_eq!(fs::read(d.join("other")).unwrap(), prefix, "{args:?}");
    }
}

#[test]
fn pseudo_files_are_read_to_their_end_and_never_padded() {
    let files = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/class/net/lo/address",
        "/sys/class/net/lo/mtu",
        "/proc/sys/kernel/ostype",
        "/proc/version",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    for file in files.iter().filter(|f| Path::new(f).exists()) {
        let expected = fs::read(file).unwrap();
        assert!(!expected.is_empty() && expected.len() < 4096, "{file}");
        for opts in [&[][..], &["--reflink=never"], &["--sparse=always"], &["--sparse=never"]] {
            let dst = dir.path().join("copy");
            let _ = fs::remove_file(&dst);
            let out = rcp().args(opts).arg(file).arg(&dst).output().unwrap();
            assert!(out.status.success(), "{file} {opts:?}: {}", stderr(&out));
            assert_eq!(fs::read(&dst).unwrap(), expected, "{file} {opts:?}");
            tried += 1;
        }
        // Under -r, through a directory walk too.
        let tree = dir.path().join("tree");
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir(&tree).unwrap();
        std::os::unix::fs::symlink(file, tree.join("link")).unwrap();
        let out = rcp().arg("-rL").arg(&tree).arg(dir.path().join("out")).output().unwrap();
        assert!(out.status.success(), "{file} -rL: {}", stderr(&out));
        assert_eq!(fs::read(dir.path().join("out/link")).unwrap(), expected, "{file} -rL");
        fs::remove_dir_all(dir.path().join("out")).unwrap();
    }
    assert!(tried > 0, "no pseudo-file to copy on this machine");
}

#[test]
fn a_source_that_shrinks_while_copied_fails_and_leaves_no_short_copy() {
    let Some(dir) = dir_on(Fs::Ext4, "shrinks") else { return };
    let d = dir.path();
    for (name, sparse) in [("dense", false), ("sparse", true)] {
        let src = d.join(name);
        write_pattern(&src, 8 << 20, 3);
        if sparse {
            let f = fs::OpenOptions::new().write(true).open(&src).unwrap();
            f.set_len(64 << 20).unwrap();
        }
        let dst = d.join(format!("{name}.copy"));
        // The first copy call waits half a second; meanwhile the source loses 7 MiB.
        let child = rcp_slowed("copy_file_range:delay_enter=500000:when=1", None, d, &[&src, &dst]);
        wait_until_open(child.id(), &src);
        fs::OpenOptions::new().write(true).open(&src).unwrap().set_len(1 << 20).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(&format!("{}' shrank while it was being copied", src.display())),
            "{err}"
        );
        assert!(!dst.exists(), "{name}: a short copy was left looking complete");
    }
}

#[test]
fn reflink_always_leaves_an_existing_destination_whole_when_no_clone_can_be_made() {
    for fs in Fs::ALL {
        let Some(dir) = dir_on(fs, "reflink-always-over") else { return };
        let d = dir.path();
        write_pattern(&d.join("src"), 300_000, 5);
        write_pattern(&d.join("dst"), 1 << 20, 6);
        let precious = fs::read(d.join("dst")).unwrap();
        let out = rcp_in(d, &["--reflink=always", "--report=json", "src", "dst"]);
        if fs == Fs::Ext4 {
            assert_eq!(out.status.code(), Some(1), "{fs:?}");
            let message = "failed to clone 'dst' from 'src': Operation not supported";
            assert!(stderr(&out).contains(message), "{}", stderr(&out));
            assert_eq!(fs::read(d.join("dst")).unwrap(), precious, "ext4: dst was damaged");
            // Item 12: the record names no strategy that worked.
            let record = records(&out).remove(0);
            assert_eq!(record["strategy"], serde_json::Value::Null, "{record}");
            assert_eq!(fallbacks(&record), [("clone".to_string(), "\"EOPNOTSUPP\"".to_string())]);
        } else {
            // A longer destination becomes the source exactly, sharing its extents.
            assert!(out.status.success(), "{fs:?}: {}", stderr(&out));
            assert_same_bytes(&d.join("src"), &d.join("dst"));
            assert!(all_extents_shared(&d.join("dst")), "{fs:?}: not a reflink");
        }
    }
}

#[test]
fn debug_says_no_clone_happened_when_a_required_clone_failed() {
    let Some(dir) = dir_on(Fs::Ext4, "debug-clone") else { return };
    let d = dir.path();
    fs::write(d.join("src"), "data\n").unwrap();
    let out = rcp_in(d, &["--debug", "--reflink=always", "src", "dst"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("reflink: unsupported"), "{text}");
    assert!(text.contains("strategy: none (clone: EOPNOTSUPP)"), "{text}");
    assert!(!d.join("dst").exists());
}

/// Starts rcp under strace with every splice slowed down, sends it SIGINT once `ready`
/// says so, and returns its exit status and stderr.
fn interrupted_once(d: &Path, args: &[&str], ready: impl Fn() -> bool) -> (Option<i32>, String) {
    let child = rcp_slowed("splice:delay_exit=20000", None, d, args);
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed().as_secs() < 30, "rcp {args:?} wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for pid in children(child.id()) {
        let _ = std::process::Command::new("kill").arg("-INT").arg(pid.to_string()).status();
    }
    let out = child.wait_with_output().unwrap();
    (crate::common::shell_status(out.status), stderr(&out))
}

/// Whether a file in `dir` whose name starts with `prefix` holds 4 MiB or more.
fn holds_4mib(dir: &Path, prefix: &str) -> bool {
    fs::read_dir(dir).unwrap().filter_map(Result::ok).any(|e| {
        e.file_name().to_string_lossy().starts_with(prefix)
            && e.metadata().is_ok_and(|m| m.len() >= 4 << 20)
    })
}

#[test]
fn an_interrupted_copy_is_kept_for_resume_under_a_partial_name_and_completed() {
    if !have("strace") {
        return skip("interrupted-resume", "strace is not installed");
    }
    let Some(dir) = dir_on(Fs::Ext4, "interrupted-resume") else { return };
    let d = dir.path();
    fs::create_dir(d.join("s")).unwrap();
    write_pattern(&d.join("s/big"), 64 << 20, 9);
    let partial = d.join("d/.big.rcp-partial");
    for atomic in [false, true] {
        let _ = fs::remove_dir_all(d.join("d"));
        fs::create_dir(d.join("d")).unwrap();
        if atomic {
            fs::write(d.join("d/big"), "the old version\n").unwrap();
        }
        let mut args = vec!["-a", "--resume", "--reflink=never"];
        if atomic {
            args.push("--atomic");
        }
        args.extend(["s/big", "d/big"]);
        // Interrupted once 4 MiB are written: under the real name, or (--atomic) a temporary.
        let prefix = if atomic { ".rcp-" } else { "big" };
        let (code, err) = interrupted_once(d, &args, || holds_4mib(&d.join("d"), prefix));
        assert_eq!(code, Some(130), "atomic {atomic}: {err}");
        assert!(err.contains("--resume goes on from 'd/.big.rcp-partial'"), "{err}");
        let kept = fs::read(&partial).unwrap();
        let full = fs::read(d.join("s/big")).unwrap();
        assert!(!kept.is_empty() && kept.len() < full.len(), "{} bytes kept", kept.len());
        assert_eq!(kept[..], full[..kept.len()], "the partial data is the source's");
        if atomic {
            assert_eq!(fs::read(d.join("d/big")).unwrap(), b"the old version\n");
        } else {
            assert!(!d.join("d/big").exists(), "nothing looks complete under the real name");
        }
        // The next --resume run goes on from there and moves only the rest.
        let mut again = vec!["-a", "--resume", "--report=json"];
        if atomic {
            again.push("--atomic");
        }
        again.extend(["s/big", "d/big"]);
        let out = rcp_in(d, &again);
        assert!(out.status.success(), "{}", stderr(&out));
        let record = only_record(&out);
        assert_eq!(record["resumed_from"], kept.len() as u64, "{record}");
        assert_eq!(record["bytes"], full.len() as u64);
        assert_same_bytes(&d.join("s/big"), &d.join("d/big"));
        assert!(!partial.exists());
    }
}

#[test]
fn resume_keeps_identical_symlinks_and_says_what_it_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("s")).unwrap();
    fs::write(d.join("s/f"), "x\n").unwrap();
    std::os::unix::fs::symlink("f", d.join("s/l")).unwrap();
    assert!(rcp_in(d, &["-a", "s", "d"]).status.success());
    let before = fs::symlink_metadata(d.join("d/l")).unwrap();
    for extra in [&[][..], &["--dry-run"]] {
        let mut args = vec!["-a", "--resume", "-v"];
        args.extend(extra);
        args.extend(["s/.", "d"]);
        let out = rcp_in(d, &args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("removed"), "{extra:?}: {text}");
    }
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::symlink_metadata(d.join("d/l")).unwrap().ino(), before.ino(), "made again");
    // A cut file: the record says from where it went on.
    write_pattern(&d.join("s/g"), 8 << 20, 4);
    fs::write(d.join("d/g"), &fs::read(d.join("s/g")).unwrap()[..5 << 20]).unwrap();
    let out = rcp_in(d, &["-a", "--resume", "--report=text", "s/g", "d/g"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(8388608 bytes, resumed from 5242880)"), "{text}");
}

#[test]
fn a_later_operand_never_overwrites_a_file_a_worker_still_reads() {
    if !have("setpriv") || !rustix::process::geteuid().is_root() {
        return skip("later-operand", "needs root and setpriv");
    }
    let Some(dir) = dir_on(Fs::Ext4, "later-operand") else { return };
    let d = dir.path();
    // GNU's order: `c` is copied into `c/c` (then "into itself"), and only then does
    // `x/c/a` replace `c/a`: `c/c/a` is the old `c/a`, whole.
    let setup = |root: &Path| {
        fs::create_dir_all(root.join("c")).unwrap();
        fs::create_dir_all(root.join("x/c")).unwrap();
        fs::write(root.join("c/g"), "").unwrap();
        write_pattern(&root.join("c/a"), 4 << 20, 8);
        fs::write(root.join("x/c/a"), "x").unwrap();
        let chown = std::process::Command::new("chown").args(["-R", "nobody"]).arg(root).status();
        assert!(chown.unwrap().success());
    };
    for jobs in ["-j1", "-j4", "-j2"] {
        for round in 0..5 {
            let root = d.join(format!("{jobs}-{round}"));
            fs::create_dir(&root).unwrap();
            setup(&root);
            let original = fs::read(root.join("c/a")).unwrap();
            let out = std::process::Command::new("setpriv")
                .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_rcp"))
                .args([jobs, "-a", "c", "x/c/a", "c"])
                .current_dir(&root)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(1), "{jobs}: {}", stderr(&out));
            assert!(stderr(&out).contains("cannot copy a directory, 'c', into itself, 'c/c'"));
            // Where the walk meets `c/c` before `a` (inode order: ext4 reuses freed inodes)
            // the operand stops before `a`, as GNU's would; where `a` was copied, whole.
            let copied = fs::read(root.join("c/c/a"));
            assert!(copied.is_err() || copied.unwrap() == original, "{jobs} round {round}");
            assert_eq!(fs::read(root.join("c/a")).unwrap(), b"x");
        }
    }
}

#[test]
fn atomic_keeps_an_existing_destinations_setuid_setgid_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !rustix::process::geteuid().is_root() {
        return skip("atomic-setuid", "needs root to give the file away");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("src"), "new\n").unwrap();
    fs::write(d.join("dst"), "old\n").unwrap();
    std::os::unix::fs::chown(d.join("dst"), Some(65534), Some(65534)).unwrap();
    fs::set_permissions(d.join("dst"), fs::Permissions::from_mode(0o6755)).unwrap();
    let (code, err) = rcp_at(d, &["--atomic", "src", "dst"]);
    assert_eq!(code, Some(0), "{err}");
    let meta = fs::metadata(d.join("dst")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o6755);
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(fs::read(d.join("dst")).unwrap(), b"new\n");
}

#[test]
fn progress_reaches_the_whole_of_sparse_and_small_copies_and_stats_count_only_data() {
    let Some(dir) = dir_on(Fs::Ext4, "progress-sparse") else { return };
    let d = dir.path();
    fs::create_dir(d.join("s")).unwrap();
    for i in 0..3 {
        let f = fs::File::create(d.join(format!("s/f{i}"))).unwrap();
        f.set_len(256 << 20).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &[7u8; 1 << 20], 100 << 20).unwrap();
    }
    let out = rcp_in(d, &["-r", "--progress", "--stats", "s", "d"]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.contains("3/3 files, 768.00 MiB/768.00 MiB (100%)"), "{err}");
    // 3 MiB of data moved: the rate is of those, not of 768 MiB of holes.
    // `3 files copied (768.0 MiB) in 0.007 s (413.3 MiB/s); ...`: rate × time is the data.
    let line = err.lines().find(|l| l.contains("files copied")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let seconds: f64 = words[6].parse().unwrap();
    let unit = match words[9].trim_end_matches("/s);") {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        other => panic!("{other} in {line}"),
    };
    let rate: f64 = words[8].trim_start_matches('(').parse().unwrap();
    assert!(rate * unit * seconds < (100 << 20) as f64, "holes counted as throughput: {line}");
    // A small tree copied before its count is done still ends with its totals.
    fs::create_dir(d.join("small")).unwrap();
    fs::write(d.join("small/a"), "a\n").unwrap();
    for _ in 0..10 {
        let _ = fs::remove_dir_all(d.join("small2"));
        let out = rcp_in(d, &["-r", "--progress", "small", "small2"]);
        let err = stderr(&out);
        assert!(err.starts_with("1/1 files, 2 B/2 B (100%)") && !err.contains("counting"), "{err}");
    }
}

/// The README's example of an anchored middle-slash pattern, as printed there.
#[test]
fn a_slash_in_the_middle_of_an_exclude_anchors_it_as_the_readme_shows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("project/src/gen")).unwrap();
    fs::create_dir_all(d.join("project/lib/src/gen")).unwrap();
    fs::write(d.join("project/src/gen/a.c"), "a\n").unwrap();
    fs::write(d.join("project/lib/src/gen/b.c"), "b\n").unwrap();
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for pattern in ["src/gen", "'**/src/gen'"] {
        let command = format!(
            "$ rcp -r --exclude={pattern} --dry-run --report=text project backup | grep excluded\n"
        );
        let at = readme.find(&command).expect("the README shows this command") + command.len();
        let mut shown: Vec<&str> =
            readme[at..].lines().take_while(|l| l.starts_with("dry run:")).collect();
        let exclude = format!("--exclude={}", pattern.trim_matches('\''));
        let out = rcp_in(d, &["-r", &exclude, "--dry-run", "--report=text", "project", "backup"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let mut printed: Vec<&str> = text.lines().filter(|l| l.contains("excluded")).collect();
        // Entries come in inode order, which the README's machine need not share.
        printed.sort();
        shown.sort();
        assert_eq!(printed, shown, "{pattern}");
    }
}

#[test]
fn threads_that_cannot_be_made_are_done_without_and_never_more_than_the_work_needs() {
    if !have("strace") {
        return skip("threads", "strace is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("s")).unwrap();
    for i in 0..300 {
        fs::write(d.join(format!("s/f{i}")), format!("{i}\n")).unwrap();
    }
    // No thread at all (clone3 always EAGAIN, as under `ulimit -u`), then only one.
    for (jobs, when) in [("-j64", "1+"), ("-j64", "2+"), ("-j20000", "1+")] {
        let dst = d.join(format!("d{jobs}{when}"));
        let inject = format!("clone3:error=EAGAIN:when={when}");
        let src = d.join("s");
        let args = [jobs, "-r", src.to_str().unwrap(), dst.to_str().unwrap()];
        let out = rcp_injected("threads", &[&inject], &args).expect("strace");
        assert_eq!(out.status.code(), Some(0), "{jobs} {when}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert_eq!(snapshot(&dst), snapshot(&d.join("s")), "{jobs} {when}");
    }
    // A two-file tree starts one worker, whatever -j says.
    fs::create_dir(d.join("two")).unwrap();
    fs::write(d.join("two/a"), "a").unwrap();
    fs::write(d.join("two/b"), "b").unwrap();
    let dst = d.join("two-copy");
    let (out, trace) = rcp_traced(
        "threads",
        "clone,clone3",
        &["-j8", "-r", d.join("two").to_str().unwrap(), dst.to_str().unwrap()],
    )
    .unwrap();
    assert!(out.status.success());
    let threads = trace.lines().filter(|l| l.contains("clone3(") || l.contains("clone(")).count();
    assert!(threads <= 2, "{threads} threads for two files:\n{trace}");
}

#[test]
fn memory_is_bounded_by_the_input_and_running_out_is_a_message() {
    // GNU's tests/cp/link-heap.sh: `cp -al` of 10,000 files and 10,000 directories in one
    // directory within 4 MiB of virtual memory more than a one-file `cp -al` needs.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "").unwrap();
    let a = d.join("e").join(format!("{:031}", 0));
    fs::create_dir_all(&a).unwrap();
    for i in 1..=10_000 {
        fs::write(a.join(format!("{i:031}")), "").unwrap();
        fs::create_dir(a.join(format!("d{i:030}"))).unwrap();
    }
    assert!(
        rcp_in(
            d,
            &["-al", "e/0000000000000000000000000000000", "e/0000000000000000000000000000001"]
        )
        .status
        .success()
    );
    let under = |kib: u64, args: &str| {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit -c 0 && ulimit -v {kib} && exec \"$RCP\" {args}"))
            .env("RCP", env!("CARGO_BIN_EXE_rcp"))
            .current_dir(d)
            .output()
            .unwrap()
    };
    let (mut low, mut high) = (1_000u64, 1_000_000u64);
    while high - low > 64 {
        let mid = (low + high) / 2;
        let ok = under(mid, "-al f f2").status.success();
        let _ = fs::remove_file(d.join("f2"));
        if ok { high = mid } else { low = mid }
    }
    let out = under(high + 4000, "-al e copy");
    assert!(out.status.success(), "needs more than 4 MiB: {}", stderr(&out));
    // With too little, a message and status 1, never an abort.
    let _ = fs::remove_dir_all(d.join("copy"));
    let out = under(high + 500, "-al e copy");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).ends_with("rcp: memory exhausted\n"), "{}", stderr(&out));
    // A pattern list with no end is refused before it takes the memory.
    let out = rcp_in(d, &["--exclude-from=/dev/zero", "f", "g"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exclude list '/dev/zero' is larger than 16 MiB"));
}

#[test]
fn found_by_the_fuzzer_backup_names_cut_to_fit_and_no_temporary_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // gnulib cuts a chosen backup name (numbered, or simple for want of numbered ones)
    // that would pass 254 bytes: the file's name to 253 bytes, then `~`.
    let long = "L".repeat(255);
    let shorter = "M".repeat(252);
    for name in [&long, &shorter] {
        fs::write(d.join(name), "new\n").unwrap();
        for control in ["numbered", "existing"] {
            let mut names = Vec::new();
            for (program, sub) in
                [(Path::new("/usr/bin/cp"), "gnu"), (Path::new(env!("CARGO_BIN_EXE_rcp")), "rcp")]
            {
                if !program.exists() {
                    return skip("backup-name-too-long", "GNU cp is not at /usr/bin/cp");
                }
                let _ = fs::remove_dir_all(d.join(sub));
                fs::create_dir(d.join(sub)).unwrap();
                fs::write(d.join(sub).join(name), "old\n").unwrap();
                let out = std::process::Command::new(program)
                    .args([format!("--backup={control}"), "-t".into(), sub.into(), name.clone()])
                    .current_dir(d)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{sub} {control}: {}", stderr(&out));
                let mut listed: Vec<String> = fs::read_dir(d.join(sub))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                listed.sort();
                names.push(listed);
            }
            assert_eq!(names[0], names[1], "{control} of a {}-byte name", name.len());
        }
    }
    // A forced link onto another link of the same inode: rename(2) does nothing there, and
    // the temporary must not stay behind.
    let t = d.join("links");
    fs::create_dir_all(t.join("dst")).unwrap();
    std::os::unix::fs::symlink("a", t.join("d")).unwrap();
    fs::write(t.join("dst/d"), "old\n").unwrap();
    let _ = rcp_in(&t, &["-r", "-ud", ".", "d", "dst/"]);
    let left: Vec<_> = fs::read_dir(t.join("dst"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rcp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// GNU's own tests/cp/debug.sh and sparse-2.sh (coreutils 9.4+, whose `--debug` rcp prints):
/// a destination left alone says `skipped`, and a reflink turned off by an option is `no`.
#[test]
fn debug_says_what_gnus_own_tests_expect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("file"), "").unwrap();
    fs::write(d.join("file.cp"), "").unwrap();
    let out = rcp_in(d, &["--debug", "--update=none", "file", "file.cp"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "skipped 'file.cp'\n");
    write_pattern(&d.join("k"), 256 << 10, 1);
    for opts in [&["--sparse=never"][..], &["--reflink=never"]] {
        let mut args = vec!["--debug"];
        args.extend(opts);
        args.extend(["k", "k2"]);
        let out = rcp_in(d, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("copy offload: avoided, reflink: no,"), "{opts:?}: {text}");
        fs::remove_file(d.join("k2")).unwrap();
    }
}

/// Found by the attacker: a source file named like a partial (`.x.rcp-partial`) is copied,
/// never taken for an interrupted copy of `x` made by this very run.
#[test]
fn a_file_named_like_a_partial_is_copied_not_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("src")).unwrap();
    fs::write(d.join("src/.x.rcp-partial"), "real-source-file\n").unwrap();
    fs::write(d.join("src/x"), "xxxxxx\n").unwrap();
    for jobs in ["-j1", "-j4"] {
        let dst = format!("dst{jobs}");
        let (code, err) = rcp_at(d, &[jobs, "-a", "--resume", "src", &dst]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(snapshot(&d.join(&dst)), snapshot(&d.join("src")), "{jobs}");
    }
}

/// Found by the attacker: the report file reached another way than by its name — a hard
/// link to a source or destination file, a symlink (followed, dangling), `-L`, a backup
/// renamed onto it — never truncates or replaces what the copy reads or writes: it is
/// written beside its name and renamed over it at the end, if the name still leads where
/// it did.
#[test]
fn the_report_reached_another_way_damages_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let case = |name: &str, setup: &dyn Fn(&Path), args: &[&str]| {
        let root = d.join(name);
        fs::create_dir(&root).unwrap();
        setup(&root);
        rcp_at(&root, args)
    };
    // A hard link to a file inside the source: the copy is of the file, whole.
    let (code, err) = case(
        "hardlink",
        &|r| {
            fs::create_dir_all(r.join("src/sub")).unwrap();
            fs::write(r.join("src/sub/f"), "SECRET\n").unwrap();
            fs::hard_link(r.join("src/sub/f"), r.join("hl")).unwrap();
        },
        &["-r", "src", "dst", "--report-file=hl"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(fs::read(d.join("hardlink/src/sub/f")).unwrap(), b"SECRET\n");
    assert_eq!(fs::read(d.join("hardlink/dst/sub/f")).unwrap(), b"SECRET\n");
    assert!(fs::read_to_string(d.join("hardlink/hl")).unwrap().contains("\"summary\""));
    // A symlink into the source, and a dangling one into the destination: refused.
    let (code, err) = case(
        "symlink",
        &|r| {
            fs::create_dir_all(r.join("src/sub")).unwrap();
            fs::write(r.join("src/sub/f"), "SECRET\n").unwrap();
            std::os::unix::fs::symlink("src/sub/f", r.join("sl")).unwrap();
        },
        &["-r", "src", "dst", "--report-file=sl"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("inside source directory 'src'"), "{err}");
    assert_eq!(fs::read(d.join("symlink/src/sub/f")).unwrap(), b"SECRET\n");
    let (code, err) = case(
        "dangling",
        &|r| {
            fs::write(r.join("a"), "payload\n").unwrap();
            std::os::unix::fs::symlink("out", r.join("rep")).unwrap();
        },
        &["a", "out", "--report-file=rep"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("over destination 'out'"), "{err}");
    // Under -L, a source file that is the report is copied whole before it is replaced.
    let (code, err) = case(
        "follow",
        &|r| {
            fs::create_dir_all(r.join("src")).unwrap();
            fs::create_dir_all(r.join("other")).unwrap();
            fs::write(r.join("other/data"), "keep\n").unwrap();
            std::os::unix::fs::symlink("../other", r.join("src/link")).unwrap();
        },
        &["-rL", "src", "dst", "--report-file=other/data"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(fs::read(d.join("follow/dst/link/data")).unwrap(), b"keep\n");
    // A backup renamed onto the report's name during the copy: the backup stays, the
    // report is left at its temporary name, and rcp says so.
    let (code, err) = case(
        "backup",
        &|r| {
            fs::write(r.join("a"), "new\n").unwrap();
            fs::write(r.join("b"), "old\n").unwrap();
        },
        &["-b", "a", "b", "--report-file=b~"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("was replaced during the copy"), "{err}");
    assert_eq!(fs::read(d.join("backup/b~")).unwrap(), b"old\n");
}

/// Found by the attacker: the trial clone before an existing file is emptied is made alike
/// in NOCOW (`chattr +C`, which btrfs will not clone across) and in the directory the file
/// really is in; a clone takes the file as it was opened (one that shrank fails).
#[test]
fn reflink_always_trial_clone_is_alike_and_a_clone_is_the_file_as_opened() {
    let nocow = |path: &Path| {
        let set = std::process::Command::new("chattr").arg("+C").arg(path).status();
        assert!(set.unwrap().success(), "chattr +C {path:?}");
    };
    if !have("chattr") {
        return skip("reflink-nocow", "chattr is not installed");
    }
    let Some(dir) = dir_on(Fs::Btrfs, "reflink-nocow") else { return };
    let d = dir.path();
    write_pattern(&d.join("src"), 1 << 20, 3);
    // A NOCOW destination cannot share the source's extents: left whole.
    fs::write(d.join("nocow"), "").unwrap();
    nocow(&d.join("nocow"));
    fs::write(d.join("nocow"), "IMPORTANT\n").unwrap();
    let (code, err) = rcp_at(d, &["--reflink=always", "src", "nocow"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(fs::read(d.join("nocow")).unwrap(), b"IMPORTANT\n", "{err}");
    // A plain file in a NOCOW directory clones (the trial file is made like the file).
    fs::create_dir(d.join("cdir")).unwrap();
    fs::write(d.join("cdir/dst"), "old\n").unwrap();
    nocow(&d.join("cdir"));
    let (code, err) = rcp_at(d, &["--reflink=always", "src", "cdir/dst"]);
    assert_eq!(code, Some(0), "{err}");
    assert_same_bytes(&d.join("src"), &d.join("cdir/dst"));
    // A source cut short between its stat and the clone: the clone fails, no copy left.
    write_pattern(&d.join("g"), 3 << 20, 4);
    let (g, copy) = (d.join("g"), d.join("g.copy"));
    let child = rcp_slowed("ioctl:delay_enter=600000", Some(&copy), d, &[&g, &copy]);
    wait_until_open(child.id(), &d.join("g"));
    fs::OpenOptions::new().write(true).open(d.join("g")).unwrap().set_len(1 << 20).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("shrank while it was being copied"), "{}", stderr(&out));
    assert!(!d.join("g.copy").exists());
}

/// A clone is one call (FICLONERANGE of the size seen at open; no stat of the copy after
/// it), on btrfs and XFS; a source that grew between its stat and the clone is copied as
/// it was opened, whether the kernel shares that range (a size on a block boundary) or
/// refuses it (a size off one: then the whole file is cloned and cut back).
#[test]
fn a_clone_is_one_call_and_a_file_that_grew_is_copied_as_opened() {
    use std::io::Write;
    if !have("strace") {
        return skip("clone-grew", "strace is not installed");
    }
    for fs_kind in [Fs::Btrfs, Fs::Xfs] {
        let Some(dir) = dir_on(fs_kind, "clone-grew") else { return };
        let d = dir.path();
        write_pattern(&d.join("one"), 100_000, 5);
        let trace = d.join("trace");
        let out = std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=ioctl,fstat,statx,newfstatat", "-P"])
            .arg(d.join("one.copy"))
            .arg("-o")
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_rcp"))
            .arg(d.join("one"))
            .arg(d.join("one.copy"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{fs_kind:?}: {}", stderr(&out));
        let calls = fs::read_to_string(&trace).unwrap();
        let calls: Vec<&str> = calls.lines().filter(|l| !l.contains("ENOENT")).collect();
        let clones: Vec<usize> = (0..calls.len()).filter(|&i| calls[i].contains("ioctl")).collect();
        assert_eq!(clones.len(), 1, "{fs_kind:?}: one clone: {calls:?}");
        assert!(calls[clones[0]].contains("FICLONERANGE"), "{fs_kind:?}: {calls:?}");
        assert_eq!(clones[0], calls.len() - 1, "{fs_kind:?}: nothing after the clone: {calls:?}");
        assert_same_bytes(&d.join("one"), &d.join("one.copy"));
        for (name, size) in [("aligned", 1usize << 20), ("unaligned", (1 << 20) + 100)] {
            let (g, copy) = (d.join(name), d.join(format!("{name}.copy")));
            write_pattern(&g, size, 6);
            let before = fs::read(&g).unwrap();
            let child = rcp_slowed("ioctl:delay_enter=600000", Some(&copy), d, &[&g, &copy]);
            wait_until_open(child.id(), &g);
            fs::OpenOptions::new().append(true).open(&g).unwrap().write_all(&[7; 8192]).unwrap();
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{fs_kind:?} {name}: {}", stderr(&out));
            assert!(fs::read(&copy).unwrap() == before, "{fs_kind:?} {name}: not as opened");
        }
    }
}

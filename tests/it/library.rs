//! The library API as a Rust program uses it: the `backup` example (built by `cargo test`)
//! copies a tree on btrfs and ext4 and names each file's kernel path; `cptree::Copier` called in
//! this process streams the same records, in the same order, as `rcp --report=json`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// An example's binary: `cargo test` builds examples beside the test binaries' `deps/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let path = target.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds examples",
        path.display()
    );
    path
}

fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("sub")).unwrap();
    write_pattern(&root.join("a"), 256 << 10, 1);
    write_pattern(&root.join("sub/b"), 12_345, 2);
    std::os::unix::fs::symlink("a", root.join("link")).unwrap();
}

#[test]
fn the_backup_example_copies_a_tree_and_names_each_files_path() {
    for (fs, strategy) in [(Fs::Btrfs, "clone"), (Fs::Ext4, "copy_file_range")] {
        let Some(dir) = dir_on(fs, "library-example") else { return };
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        make_tree(&src);
        let out = Command::new(example("backup")).arg(&src).arg(&dst).output().expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{fs:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let (s, d) = (src.display(), dst.display());
        for line in [
            format!("dir {s} -> {d}"),
            format!("{strategy} {s}/a -> {d}/a"),
            format!("{strategy} {s}/sub/b -> {d}/sub/b"),
            format!("symlink {s}/link -> {d}/link"),
            "5 entries, all copied".to_string(),
        ] {
            assert!(stdout.lines().any(|l| l == line), "{fs:?}: no line {line:?} in\n{stdout}");
        }
        // A directory's record comes once its contents and attributes are done.
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[lines.len() - 2], format!("dir {s} -> {d}"), "{fs:?}");
        assert_same_bytes(&src.join("a"), &dst.join("a"));
        assert_same_bytes(&src.join("sub/b"), &dst.join("sub/b"));
        assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new("a"));
        if fs == Fs::Btrfs {
            assert!(all_extents_shared(&dst.join("a")), "the example's clone shares extents");
        }
    }
}

#[test]
fn copy_in_process_streams_the_records_the_json_report_has() {
    let Some(dir) = dir_on(Fs::Ext4, "library-records") else { return };
    let d = dir.path();
    make_tree(&d.join("src"));
    for i in 0..40 {
        write_pattern(&d.join(format!("src/sub/f{i}")), 1000 + i, i as u64);
    }
    fs::create_dir(d.join("api")).unwrap();
    fs::create_dir(d.join("cmd")).unwrap();
    let (src, missing) = (d.join("src"), d.join("missing"));

    let mut streamed = Vec::new();
    let summary = cptree::Copier::new([&src, &missing], d.join("api"))
        .recursive(true)
        .jobs(2)
        .run_with(|record| streamed.push(record))
        .expect("the copy starts");
    assert!(summary.failed, "a missing source fails the copy");
    assert_eq!(summary.messages, Vec::<String>::new(), "an entry's failure is in its record");
    assert!(summary.records.is_empty(), "run_with hands the records out instead");
    let cannot_stat = format!("cannot stat '{}': No such file or directory", missing.display());
    let last = streamed.last().expect("records");
    assert_eq!((last.source.as_path(), last.kind), (missing.as_path(), None));
    let error = last.error().expect("failed");
    assert_eq!(error.to_string(), cannot_stat);
    assert_eq!(
        (error.op(), error.path(), error.errno()),
        (&cptree::Op::Stat, missing.as_path(), Some(cptree::Errno::NOENT))
    );

    let out = rcp()
        .args(["-r", "-j2", "--report=json"])
        .arg(&src)
        .arg(&missing)
        .arg(d.join("cmd"))
        .output()
        .expect("run rcp");
    assert_eq!(out.status.code(), Some(1));
    let json = records(&out);
    assert_eq!(streamed.len(), json.len(), "one record per entry, as in the report");
    assert_eq!(streamed.len(), 46, "the tree's 45 entries and the missing operand");
    for (record, json) in streamed.iter().zip(&json) {
        assert_eq!(json["source"]["text"], record.source.to_str().unwrap());
        let dst = record.destination.to_str().unwrap().replace("/api/", "/cmd/");
        assert_eq!(json["destination"]["text"], dst);
        assert_eq!(json["kind"].as_str(), record.kind.map(|k| k.name()));
        assert_eq!(json["outcome"], record.outcome.name());
        let error = record.error();
        assert_eq!(json["error"].as_str(), error.map(|e| e.to_string()).as_deref());
        // The one failure here is the missing operand's.
        let errno = error.and_then(|e| e.errno());
        let name = errno.map(|e| if e == cptree::Errno::NOENT { "ENOENT" } else { "unexpected" });
        assert_eq!(json["errno"].as_str(), name, "{}", record.source.display());
        let strategy = record.copied.as_ref().map(|c| c.strategy.name());
        assert_eq!(json["strategy"].as_str(), strategy, "{}", record.source.display());
        assert_eq!(json["bytes"].as_u64(), record.copied.as_ref().map(|c| c.bytes));
    }
    assert_eq!(snapshot(&d.join("api")), snapshot(&d.join("cmd")));
}

#[test]
fn a_dry_run_from_the_library_predicts_and_writes_nothing() {
    let Some(dir) = dir_on(Fs::Btrfs, "library-dry-run") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    make_tree(&src);
    let summary =
        cptree::Copier::new([&src], &dst).recursive(true).dry_run(true).run().expect("runs");
    assert!(!summary.failed, "{:?}", summary.messages);
    assert!(!dst.exists(), "a dry run made {}", dst.display());
    assert_eq!(summary.records.len(), 5, "{:?}", summary.records);
    assert!(summary.records.iter().all(|r| r.dry_run), "{:?}", summary.records);
    let files: Vec<_> = summary.records.iter().filter_map(|r| r.copied.as_ref()).collect();
    assert_eq!(files.len(), 2);
    for copied in files {
        assert!(copied.predicted);
        assert_eq!(copied.strategy, cptree::Strategy::Clone, "one btrfs: a reflink");
    }
}

/// The README's run of the example is what the example prints for that tree on ext4: the
/// same lines, each directory's after everything below it (siblings come in inode order,
/// which a fresh tree need not repeat), the summary last.
#[test]
fn the_readmes_backup_output_is_what_the_example_prints() {
    let readme = include_str!("../../README.md");
    let at = readme
        .find("$ cargo run -q -p cptree --example backup -- photos backup\n")
        .expect("README run");
    let block = &readme[at..];
    let shown: Vec<&str> = block[..block.find("```").expect("block end")].lines().skip(1).collect();
    let Some(dir) = dir_on(Fs::Ext4, "library-readme") else { return };
    let d = dir.path();
    fs::create_dir_all(d.join("photos/2026")).unwrap();
    write_pattern(&d.join("photos/2026/b.jpg"), 100_000, 1);
    write_pattern(&d.join("photos/a.jpg"), 3, 2);
    std::os::unix::fs::symlink("a.jpg", d.join("photos/latest")).unwrap();
    let out = Command::new(example("backup")).args(["photos", "backup"]).current_dir(d).output();
    let out = out.expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed: Vec<&str> = stdout.lines().collect();
    fn sorted<'a>(lines: &[&'a str]) -> Vec<&'a str> {
        let mut lines = lines.to_vec();
        lines.sort_unstable();
        lines
    }
    assert_eq!(
        sorted(&shown),
        sorted(&printed),
        "README:\n{}\nprinted:\n{stdout}",
        shown.join("\n")
    );
    assert_eq!(shown.last(), printed.last(), "the summary is last");
    for (i, line) in shown.iter().enumerate() {
        let Some(dir) = line.strip_prefix("dir ").and_then(|l| l.split(" -> ").next()) else {
            continue;
        };
        let below = format!(" {dir}/");
        let later = shown[i + 1..].iter().find(|l| l.contains(&below));
        assert!(later.is_none(), "README shows {later:?} after its directory's line {line:?}");
    }
}

/// A copy that cannot start says why as a program can read it: a usage error's text, or
/// the target's operation, path and errno — and its `Display` is what rcp prints.
#[test]
fn setup_errors_are_typed_and_read_as_cp_prints_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&a, "a").unwrap();
    fs::write(&b, "b").unwrap();
    let missing = dir.path().join("nosuch");
    let error = cptree::Copier::new([&a, &b], &missing).run().expect_err("no target directory");
    let cptree::SetupError::Target(target) = &error else { panic!("{error:?}") };
    assert_eq!(
        (target.op(), target.path(), target.errno()),
        (&cptree::Op::Target, missing.as_path(), Some(cptree::Errno::NOENT))
    );
    let out = rcp().arg(&a).arg(&b).arg(&missing).output().expect("run rcp");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(said.trim_end().rsplit_once("rcp: ").map(|(_, m)| m), Some(&*error.to_string()));
    let error = cptree::Copier::new([&a], &b).jobs(0).run().expect_err("-j 0");
    assert!(matches!(error, cptree::SetupError::Usage(_)), "{error:?}");
    assert!(!missing.exists() && fs::read(&b).unwrap() == b"b", "nothing was touched");
}

/// `Preserve::ALL` is `cp -a`'s: onto a filesystem that takes no xattrs (ramfs), a source's
/// xattr is no failure and the file stays — as `rcp -a` does (found by the attacker: the
/// builder used to make xattrs required, as `--preserve=xattr` named alone does).
#[test]
fn preserve_all_is_cp_a_onto_a_filesystem_without_xattrs() {
    let test = "library preserve all";
    if !rustix::process::geteuid().is_root() {
        return skip(test, "mounting a ramfs needs root");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (src, mnt) = (dir.path().join("src"), dir.path().join("m"));
    fs::create_dir_all(src.join("d")).unwrap();
    fs::create_dir(&mnt).unwrap();
    fs::write(src.join("a"), "a").unwrap();
    fs::write(src.join("d/b"), "b").unwrap();
    let mut set = Command::new("setfattr");
    set.args(["-n", "user.foo", "-v", "bar"]).arg(src.join("a"));
    if !set.status().is_ok_and(|s| s.success()) {
        return skip(test, "setfattr cannot set a user xattr here");
    }
    let mounted = Command::new("mount").args(["-t", "ramfs", "none"]).arg(&mnt).status();
    if !mounted.is_ok_and(|s| s.success()) {
        return skip(test, "cannot mount a ramfs");
    }
    let summary = cptree::Copier::new([&src], mnt.join("lib"))
        .recursive(true)
        .preserve(cptree::Preserve::ALL)
        .run();
    let out = rcp().arg("-a").arg(&src).arg(mnt.join("cmd")).output().expect("run rcp");
    let kept = (mnt.join("lib/a").exists(), mnt.join("cmd/a").exists());
    let _ = Command::new("umount").arg(&mnt).status();
    let summary = summary.expect("runs");
    assert_eq!(out.status.code(), Some(0), "rcp -a: {out:?}");
    assert!(
        !summary.failed,
        "{:?}",
        summary.records.iter().filter_map(|r| r.error()).collect::<Vec<_>>()
    );
    assert_eq!(kept, (true, true), "the files stay");
}

/// A library caller stops a copy with its own `Stop`, from another thread, without any
/// signal: the file being read gives up (ECANCELED) and is removed, nothing further starts,
/// and the summary says it was stopped. A stop requested before the copy starts copies
/// nothing.
#[test]
fn a_copy_stops_when_its_caller_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    fs::write(d.join("f"), "f").unwrap();
    let early = cptree::Stop::new();
    early.request();
    let summary = cptree::Copier::new([d.join("f")], d.join("g")).stop(early).run().expect("runs");
    assert!(summary.stopped && !summary.failed && summary.records.is_empty(), "{summary:?}");
    assert!(!d.join("g").exists());

    // A fifo fed a byte every 50 ms: the copy reads it until told to stop.
    assert!(Command::new("mkfifo").arg(d.join("p")).status().unwrap().success());
    let mut writer = Command::new("sh")
        .arg("-c")
        // Bounded: a copy that does not stop ends at EOF after 10 s, and the test fails.
        .arg("for i in $(seq 200); do printf x || exit; sleep 0.05; done > p")
        .current_dir(d)
        .spawn()
        .unwrap();
    let stop = cptree::Stop::new();
    let copy = cptree::Copier::new([d.join("p")], d.join("out")).stop(stop.clone());
    let running = std::thread::spawn(move || copy.run());
    let started = std::time::Instant::now();
    while !d.join("out").exists() {
        assert!(started.elapsed().as_secs() < 20, "the copy never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(stop.request(), "the first request");
    let summary = running.join().expect("no panic").expect("runs");
    let _ = writer.kill();
    let _ = writer.wait();
    assert!(summary.stopped && summary.failed, "{summary:?}");
    let error = summary.records[0].error().expect("the file failed");
    assert_eq!(error.errno(), Some(cptree::Errno::CANCELED), "{error}");
    assert!(!d.join("out").exists(), "the file it was writing is removed");
}

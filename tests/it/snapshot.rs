//! Snapshot backups (`--link-dest`, `--copy-dest`, `--compare-dest`, rsync's meanings)
//! through the real binary on real filesystems: night 1 copies a tree, the source changes,
//! night 2 takes every unchanged regular file from night 1 — a hard link, a clone (an
//! independent inode sharing night 1's extents, on btrfs and XFS from a source on ext4), or
//! nothing — and copies the rest from the source. Records, the summary, a dry run,
//! `--exclude`, `--resume`, `-j`, several earlier copies in order, a link count at its
//! limit, a symlink planted in an earlier copy, and a bad directory refused before copying.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{Fs, all_extents_shared, dir_on, json_lines, rcp_in, summary};

/// Night 1's source: files in a few directories, one of them big enough for extents.
fn night_one(src: &Path) {
    for d in ["a", "b/c"] {
        fs::create_dir_all(src.join(d)).unwrap();
    }
    for (name, text) in [
        ("a/same", "unchanged\n"),
        ("a/edited", "first night\n"),
        ("a/touched", "same bytes\n"),
        ("a/moded", "mode changes\n"),
        ("a/owned", "owner changes\n"),
        ("b/c/same", "deep and unchanged\n"),
        ("b/becomes-dir", "a file tonight\n"),
        ("b/becomes-link", "a file tonight\n"),
    ] {
        fs::write(src.join(name), text).unwrap();
    }
    crate::common::write_pattern(&src.join("b/big"), 1 << 20, 11);
}

/// Night 1 in `root`: its source `src`, copied with `-a` to `into`.
fn first_night(root: &Path, into: &str) {
    night_one(&root.join("src"));
    assert!(rcp_in(root, &["-a", "src/.", into]).status.success(), "night 1 into {into}");
}

/// What changes by night 2 (1 is `-a`: mode, owner and time count as changes).
fn day_two(src: &Path) {
    fs::write(src.join("a/edited"), "second night, longer\n").unwrap();
    let run =
        |args: &[&str]| assert!(Command::new(args[0]).args(&args[1..]).status().unwrap().success());
    run(&["touch", "-d", "2020-01-01", src.join("a/touched").to_str().unwrap()]);
    fs::set_permissions(src.join("a/moded"), fs::Permissions::from_mode(0o600)).unwrap();
    run(&["chown", "1234:1234", src.join("a/owned").to_str().unwrap()]);
    fs::remove_file(src.join("b/becomes-dir")).unwrap();
    fs::create_dir(src.join("b/becomes-dir")).unwrap();
    fs::remove_file(src.join("b/becomes-link")).unwrap();
    symlink("c/same", src.join("b/becomes-link")).unwrap();
    fs::write(src.join("a/new"), "new tonight\n").unwrap();
}

/// The entry records of a JSON report, by source path below `src/`.
fn by_source(out: &std::process::Output) -> std::collections::BTreeMap<String, Value> {
    json_lines(out)
        .into_iter()
        .filter(|r| r["type"] == "entry")
        .map(|r| {
            let source = r["source"]["text"].as_str().unwrap();
            (source.rsplit("src/./").next().unwrap_or(source).to_string(), r)
        })
        .collect()
}

/// rcp run with `args` in `root`, which must succeed.
fn copied(test: &str, root: &Path, args: &[&str]) -> std::process::Output {
    let out = rcp_in(root, args);
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn ino(path: &Path) -> u64 {
    fs::symlink_metadata(path).unwrap().ino()
}

/// `--link-dest` with `-a`: unchanged files are hard links to night 1's (same inode), and
/// a changed one — in content, time, mode or owner — a new file, as are new files and
/// files of another type now; records say `link` and where from; the summary counts them.
/// Without `-p`, a change of mode alone is no change.
#[test]
fn link_dest_links_unchanged_files_and_copies_the_rest() {
    let test = "link-dest";
    let Some(dir) = dir_on(Fs::Ext4, "link-dest") else { return };
    let root = dir.path();
    first_night(root, "n1");
    day_two(&root.join("src"));
    let out = copied(test, root, &["-a", "--link-dest=../n1", "--report=json", "src/.", "n2"]);
    let records = by_source(&out);
    for name in ["a/same", "b/c/same", "b/big"] {
        assert_eq!(ino(&root.join("n2").join(name)), ino(&root.join("n1").join(name)), "{name}");
        assert_eq!(records[name]["strategy"], "link", "{test}: {name}");
        assert_eq!(records[name]["from"]["text"], format!("../n1/{name}"), "{test}");
    }
    for name in ["a/edited", "a/touched", "a/moded", "a/owned", "a/new"] {
        let (now, then) = (root.join("n2").join(name), root.join("n1").join(name));
        assert!(!then.exists() || ino(&now) != ino(&then), "{test}: {name} linked");
        assert_eq!(fs::read(&now).unwrap(), fs::read(root.join("src").join(name)).unwrap());
        assert!(records[name].get("from").is_none(), "{test}: {name}");
    }
    assert!(root.join("n2/b/becomes-dir").is_dir());
    assert_eq!(fs::read_link(root.join("n2/b/becomes-link")).unwrap(), Path::new("c/same"));
    let earlier = &summary(&out)["earlier"];
    assert_eq!((earlier["linked"].as_u64(), earlier["left_out"].as_u64()), (Some(3), Some(0)));
    // Without -p: a mode alone is no change.
    copied(test, root, &["-r", "--link-dest=../n1", "src/.", "n3"]);
    assert_eq!(ino(&root.join("n3/a/moded")), ino(&root.join("n1/a/moded")), "{test}");
}

/// `--copy-dest` on btrfs and XFS, backing up a source on ext4: an unchanged file is a new
/// inode (its own attributes, the source's) whose extents are all shared with night 1's
/// copy — a clone, no data moved — while a changed file is copied from the source.
#[test]
fn copy_dest_clones_unchanged_files_from_the_earlier_copy() {
    let Some(source) = dir_on(Fs::Ext4, "copy-dest-src") else { return };
    let src = source.path().join("src");
    night_one(&src);
    for fs_kind in [Fs::Btrfs, Fs::Xfs] {
        let test = &format!("copy-dest {fs_kind:?}");
        let Some(dir) = dir_on(fs_kind, "copy-dest") else { return };
        let root = dir.path();
        let n1 = root.join("n1");
        let n1s = n1.to_str().unwrap();
        assert!(rcp_in(source.path(), &["-a", "src/.", n1s]).status.success());
        let n2 = root.join("n2");
        let args = ["-a", "--copy-dest=../n1", "--report=json", "src/.", n2.to_str().unwrap()];
        let out = rcp_in(source.path(), &args);
        assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
        let records = by_source(&out);
        assert_eq!(records["b/big"]["strategy"], "clone", "{test}: {}", records["b/big"]);
        assert_eq!(records["b/big"]["from"]["text"], "../n1/b/big", "{test}");
        assert_ne!(ino(&n2.join("b/big")), ino(&n1.join("b/big")), "{test}: a link, not a copy");
        assert!(all_extents_shared(&n2.join("b/big")), "{test}: the clone shares no extents");
        crate::common::assert_same_bytes(&src.join("b/big"), &n2.join("b/big"));
        let (a, b) =
            (fs::metadata(src.join("b/big")).unwrap(), fs::metadata(n2.join("b/big")).unwrap());
        assert_eq!((a.mode(), a.mtime(), a.mtime_nsec()), (b.mode(), b.mtime(), b.mtime_nsec()));
        // Every file of night 1 is unchanged.
        assert_eq!(summary(&out)["earlier"]["copied"], 9, "{test}");
        // Changed tonight: from the source.
        fs::write(src.join("b/big"), "changed").unwrap();
        let n3 = root.join("n3");
        let args = ["-a", "--copy-dest=../n1", "--report=json", "src/.", n3.to_str().unwrap()];
        let out = rcp_in(source.path(), &args);
        let records = by_source(&out);
        assert!(records["b/big"].get("from").is_none(), "{test}");
        assert_eq!(fs::read(n3.join("b/big")).unwrap(), b"changed");
        crate::common::write_pattern(&src.join("b/big"), 1 << 20, 11);
        Command::new("touch")
            .arg("-r")
            .arg(n1.join("b/big"))
            .arg(src.join("b/big"))
            .status()
            .unwrap();
    }
}

/// `--compare-dest`: unchanged files are left out (skipped, reason `unchanged`, with where
/// they are); what changed or is new is copied — an incremental.
#[test]
fn compare_dest_leaves_unchanged_files_out() {
    let test = "compare-dest";
    let Some(dir) = dir_on(Fs::Xfs, "compare-dest") else { return };
    let root = dir.path();
    first_night(root, "full");
    day_two(&root.join("src"));
    let out =
        copied(test, root, &["-a", "--compare-dest=../full", "--report=json", "src/.", "incr"]);
    let records = by_source(&out);
    for name in ["a/same", "b/c/same", "b/big"] {
        assert!(!root.join("incr").join(name).exists(), "{test}: {name} copied");
        assert_eq!(records[name]["outcome"], "skipped");
        assert_eq!(records[name]["reason"], "unchanged");
        assert_eq!(records[name]["from"]["text"], format!("../full/{name}"));
    }
    for name in ["a/edited", "a/new", "a/moded"] {
        assert!(root.join("incr").join(name).is_file(), "{test}: {name} left out");
    }
    assert_eq!(summary(&out)["earlier"]["left_out"], 3, "{test}");
}

/// Several earlier copies are tried in order and the first with the file unchanged wins;
/// one where it changed is passed over.
#[test]
fn several_earlier_copies_are_tried_in_order() {
    let test = "link-dest order";
    let Some(dir) = dir_on(Fs::Ext4, "link-dest-order") else { return };
    let root = dir.path();
    night_one(&root.join("src"));
    for night in ["n1", "n2"] {
        assert!(rcp_in(root, &["-a", "src/.", night]).status.success());
    }
    // In n1, a/same differs (another time): n2's copy is the one linked.
    Command::new("touch").args(["-d", "2001-01-01"]).arg(root.join("n1/a/same")).status().unwrap();
    let args = ["-a", "--link-dest=../n1", "--link-dest=../n2", "--report=json", "src/.", "n3"];
    let out = copied(test, root, &args);
    let records = by_source(&out);
    assert_eq!(records["a/same"]["from"]["text"], "../n2/a/same", "{test}");
    assert_eq!(ino(&root.join("n3/a/same")), ino(&root.join("n2/a/same")));
    assert_eq!(records["b/big"]["from"]["text"], "../n1/b/big", "{test}: the first wins");
    assert_eq!(ino(&root.join("n3/b/big")), ino(&root.join("n1/b/big")));
}

/// A file that cannot take another link (EMLINK, injected: ext4 allows 65,000) is copied.
#[test]
fn a_file_at_its_link_limit_is_copied() {
    let test = "link-dest EMLINK";
    let Some(dir) = dir_on(Fs::Ext4, "link-dest-emlink") else { return };
    let root = dir.path();
    first_night(root, "n1");
    let (src, n1, n2) = (root.join("src/."), root.join("n1"), root.join("n2"));
    let args = [
        "-a".as_ref(),
        "--link-dest".as_ref(),
        n1.as_os_str(),
        "--report=json".as_ref(),
        src.as_os_str(),
        n2.as_os_str(),
    ];
    let Some(out) = crate::common::rcp_injected(test, &["linkat:error=EMLINK"], &args) else {
        return;
    };
    assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(ino(&n2.join("a/same")), ino(&n1.join("a/same")), "{test}: linked");
    assert_eq!(fs::read(n2.join("a/same")).unwrap(), b"unchanged\n");
    let records = by_source(&out);
    assert!(records.contains_key("a/same"), "{test}: {:?}", records.keys());
    assert_eq!(records["a/same"]["outcome"], "copied", "{test}");
    assert_ne!(records["a/same"]["strategy"], "link", "{test}");
}

/// A symlink the source held on an earlier night, copied into that night's snapshot, is
/// never followed to find an earlier copy: a file elsewhere with the same size and time is
/// not linked, cloned or left out for.
#[test]
fn a_symlink_in_an_earlier_copy_is_never_followed() {
    let test = "link-dest symlink";
    let Some(dir) = dir_on(Fs::Btrfs, "link-dest-symlink") else { return };
    let root = dir.path();
    fs::create_dir_all(root.join("secret")).unwrap();
    fs::write(root.join("secret/key"), "do not copy me\n").unwrap();
    fs::set_permissions(root.join("secret/key"), fs::Permissions::from_mode(0o600)).unwrap();
    // Night 1: `a` is a symlink to the secret directory; night 2 a directory with a file
    // of the secret's size and time.
    fs::create_dir(root.join("src")).unwrap();
    symlink(root.join("secret"), root.join("src/a")).unwrap();
    assert!(rcp_in(root, &["-r", "src/.", "n1"]).status.success());
    fs::remove_file(root.join("src/a")).unwrap();
    fs::create_dir(root.join("src/a")).unwrap();
    fs::write(root.join("src/a/key"), "attacker's text\n").unwrap();
    let reference = root.join("secret/key");
    Command::new("touch").arg("-r").arg(&reference).arg(root.join("src/a/key")).status().unwrap();
    for option in ["--link-dest=../n1", "--copy-dest=../n1", "--compare-dest=../n1"] {
        let night = format!("n2{}", &option[2..6]);
        let out = rcp_in(root, &["-r", option, "src/.", &night]);
        assert!(out.status.success(), "{test} {option}: {}", String::from_utf8_lossy(&out.stderr));
        let copy = root.join(&night).join("a/key");
        assert_eq!(fs::read(&copy).unwrap(), b"attacker's text\n", "{test} {option}");
        assert_ne!(ino(&copy), ino(&reference), "{test} {option}");
    }
}

/// A dry run says what would be linked, copied from where, or left out, and writes
/// nothing; `--exclude` leaves its files out whatever the earlier copy has; `--resume` over
/// a night cut short keeps what is whole and takes the rest from the earlier copy; `-j 4`
/// workers look their trees up too.
#[test]
fn dry_run_exclude_resume_and_workers_with_earlier_copies() {
    let test = "link-dest options";
    let Some(dir) = dir_on(Fs::Ext4, "link-dest-options") else { return };
    let root = dir.path();
    first_night(root, "n1");
    let args = ["-a", "--link-dest=../n1", "--dry-run", "--report=json", "src/.", "n2"];
    let out = copied(test, root, &args);
    assert!(!root.join("n2").exists(), "{test}: the dry run wrote");
    let records = by_source(&out);
    assert_eq!(records["a/same"]["strategy"], "link", "{test}");
    assert_eq!(records["a/same"]["dry_run"], true, "{test}");
    // --exclude: an excluded file is not linked either.
    let args = ["-a", "--link-dest=../n1", "--exclude=big", "src/.", "n2"];
    assert!(rcp_in(root, &args).status.success());
    assert!(!root.join("n2/b/big").exists(), "{test}: excluded file linked");
    // --resume: night 2 cut short (a file missing, another removed) is completed.
    fs::remove_file(root.join("n2/a/same")).unwrap();
    let args = ["-a", "--resume", "--link-dest=../n1", "--report=json", "src/.", "n2"];
    let out = copied(test, root, &args);
    let records = by_source(&out);
    assert_eq!(records["a/same"]["strategy"], "link", "{test}: {}", records["a/same"]);
    assert_eq!(records["b/c/same"]["reason"], "unchanged", "{test}: resume keeps it");
    assert_eq!(ino(&root.join("n2/a/same")), ino(&root.join("n1/a/same")));
    // -j 4: a tree's files are looked up on its worker too.
    let src = root.join("src");
    for d in 0..8 {
        for f in 0..20 {
            let path = src.join(format!("many/d{d}/f{f}"));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("{d} {f}")).unwrap();
        }
    }
    assert!(rcp_in(root, &["-a", "src/.", "n3"]).status.success());
    assert!(rcp_in(root, &["-a", "-j", "4", "--link-dest=../n3", "src/.", "n4"]).status.success());
    for d in 0..8 {
        let name = format!("many/d{d}/f7");
        assert_eq!(ino(&root.join("n4").join(&name)), ino(&root.join("n3").join(&name)), "{name}");
    }
}

/// A directory that is not there, or not a directory, is refused before anything is
/// copied (exit 1, cp's style), as is mixing the options or giving more than 20.
#[test]
fn a_bad_earlier_copy_is_refused_before_copying() {
    let test = "link-dest refusals";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    night_one(&root.join("src"));
    fs::write(root.join("file"), "x").unwrap();
    for (option, message) in [
        (
            "--link-dest=../nowhere",
            "rcp: cannot use --link-dest directory './nowhere': No such file or directory",
        ),
        ("--copy-dest=../file", "rcp: cannot use --copy-dest directory './file': Not a directory"),
    ] {
        let out = rcp_in(root, &["-a", option, "src/.", "n2"]);
        assert_eq!(out.status.code(), Some(1), "{test} {option}");
        let stderr = String::from_utf8_lossy(&out.stderr).replace(env!("CARGO_BIN_EXE_rcp"), "rcp");
        assert_eq!(stderr.trim(), message, "{test}");
        assert!(!root.join("n2").exists(), "{test} {option}: copied");
    }
    let out = rcp_in(root, &["-a", "--link-dest=x", "--compare-dest=x", "src/.", "n2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mutually exclusive"), "{test}");
    let many: Vec<String> = (0..21).map(|i| format!("--link-dest=d{i}")).collect();
    let args: Vec<&str> = many.iter().map(String::as_str).chain(["src/.", "n2"]).collect();
    let out = rcp_in(root, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 20"), "{test}");
}

/// Each of the three with a dry run (records as a real run's, nothing written), `--exclude`
/// (an excluded file is neither taken from the earlier copy nor left out for it: it is not
/// there), `--resume` over a night cut short (what is whole is kept, a missing file taken from
/// the earlier copy again) and `--verify` (a file copied from the earlier copy is read back
/// against the source).
#[test]
fn each_option_with_dry_run_exclude_resume_and_verify() {
    let test = "earlier copies with options";
    let Some(dir) = dir_on(Fs::Btrfs, "earlier-options") else { return };
    let root = dir.path();
    first_night(root, "n1");
    for (option, strategy) in [
        ("--link-dest=../n1", "link"),
        ("--copy-dest=../n1", "clone"),
        ("--compare-dest=../n1", ""),
    ] {
        let night = format!("n2{}", &option[2..5]);
        let test = &format!("{test} {option}");
        let dry = ["-a", option, "--dry-run", "--report=json", "src/.", &night];
        let out = copied(test, root, &dry);
        assert!(!root.join(&night).exists(), "{test}: the dry run wrote");
        let predicted = by_source(&out);
        let real = ["-a", option, "--verify", "--exclude=big", "--report=json", "src/.", &night];
        let out = copied(test, root, &real);
        let records = by_source(&out);
        assert!(!root.join(&night).join("b/big").exists(), "{test}: excluded, yet there");
        assert_eq!(records["b/big"]["reason"], "excluded", "{test}");
        let same = &records["a/same"];
        assert_eq!(same["from"]["text"], "../n1/a/same", "{test}");
        assert_eq!(predicted["a/same"]["from"], same["from"], "{test}: the dry run said otherwise");
        if strategy.is_empty() {
            assert_eq!(same["reason"], "unchanged", "{test}");
            assert!(!root.join(&night).join("a/same").exists(), "{test}");
            continue;
        }
        assert_eq!(same["strategy"], strategy, "{test}");
        assert_eq!(predicted["a/same"]["strategy"], strategy, "{test}: predicted");
        assert_eq!(same["verified"], strategy == "clone", "{test}");
        // Night 2 cut short: a file gone; --resume keeps the rest and takes it again.
        fs::remove_file(root.join(&night).join("b/c/same")).unwrap();
        let resume = ["-a", option, "--resume", "--report=json", "src/.", &night];
        let out = copied(test, root, &resume);
        let records = by_source(&out);
        assert_eq!(records["b/c/same"]["strategy"], strategy, "{test}: {}", records["b/c/same"]);
        assert_eq!(records["a/same"]["reason"], "unchanged", "{test}: kept");
        let (a, b) = (root.join(&night).join("b/c/same"), root.join("src/b/c/same"));
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap(), "{test}");
    }
}

/// An earlier snapshot is never written into: night 2 run again after the source changed,
/// with `-p -r` (no `--preserve=links`), finds night 2's file a hard link of night 1's and
/// makes it anew rather than rewriting the shared inode; so does `--copy-dest` over a
/// destination that is a hard-linked copy of the earlier one (`cp -al`).
#[test]
fn a_rerun_never_writes_into_the_earlier_snapshot() {
    let test = "earlier snapshot untouched";
    let Some(dir) = dir_on(Fs::Ext4, "earlier-untouched") else { return };
    let root = dir.path();
    first_night(root, "n1");
    let before = fs::metadata(root.join("n1/a/same")).unwrap();
    let run = |args: &[&str]| {
        let out = rcp_in(root, args);
        assert!(out.status.success(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["-p", "-r", "--link-dest=../n1", "src/.", "n2"]);
    assert_eq!(ino(&root.join("n2/a/same")), before.ino(), "{test}: not linked");
    fs::write(root.join("src/a/same"), "changed since\n").unwrap();
    fs::set_permissions(root.join("src/a/same"), fs::Permissions::from_mode(0o600)).unwrap();
    run(&["-p", "-r", "--link-dest=../n1", "src/.", "n2"]);
    run(&["-r", "--copy-dest=../n1", "src/.", "n2"]);
    assert!(
        Command::new("cp").args(["-al", "n1", "n3"]).current_dir(root).status().unwrap().success()
    );
    run(&["-r", "--copy-dest=../n1", "src/.", "n3"]);
    let after = fs::metadata(root.join("n1/a/same")).unwrap();
    assert_eq!(fs::read(root.join("n1/a/same")).unwrap(), b"unchanged\n", "{test}");
    assert_eq!((after.mode(), after.mtime_nsec()), (before.mode(), before.mtime_nsec()), "{test}");
    for night in ["n2", "n3"] {
        assert_eq!(fs::read(root.join(night).join("a/same")).unwrap(), b"changed since\n");
    }
}

/// `--compare-dest` over an old file in the incremental removes it (rsync does too): a file
/// unchanged since the full backup must not come back from the incremental stale. With `-n`
/// it stays, as `-n` says.
#[test]
fn compare_dest_removes_a_stale_file_from_the_incremental() {
    let test = "compare-dest stale";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    first_night(root, "full");
    for incr in ["incr", "kept"] {
        fs::create_dir_all(root.join(incr).join("a")).unwrap();
        fs::write(root.join(incr).join("a/same"), "stale\n").unwrap();
    }
    copied(test, root, &["-a", "--compare-dest=../full", "src/.", "incr"]);
    assert!(!root.join("incr/a/same").exists(), "{test}: the stale file is left");
    copied(test, root, &["-a", "-n", "--compare-dest=../full", "src/.", "kept"]);
    assert_eq!(fs::read(root.join("kept/a/same")).unwrap(), b"stale\n", "{test}: -n");
}

/// `--verify` with `--link-dest`: an earlier copy with the source's size and time but other
/// bytes is not linked (the quick check is fooled; --verify reads both): the file is copied.
/// A dry run predicts no link to another filesystem (EXDEV), and a file copied as a file
/// (`rcp f n`) is looked up beside it, as rsync does.
#[test]
fn verify_dry_run_across_filesystems_and_a_single_file() {
    let test = "link-dest verify";
    let Some(dir) = dir_on(Fs::Ext4, "link-dest-verify") else { return };
    let root = dir.path();
    first_night(root, "n1");
    fs::write(root.join("n1/a/same"), "unchangeD\n").unwrap();
    let t = root.join("src/a/same");
    Command::new("touch").arg("-r").arg(&t).arg(root.join("n1/a/same")).status().unwrap();
    copied(test, root, &["-a", "--verify", "--link-dest=../n1", "src/.", "n2"]);
    assert_ne!(ino(&root.join("n2/a/same")), ino(&root.join("n1/a/same")), "{test}: linked");
    assert_eq!(fs::read(root.join("n2/a/same")).unwrap(), b"unchanged\n", "{test}");
    // Another filesystem: the dry run says what the run does (no link: a copy).
    let Some(other) = dir_on(Fs::Btrfs, "link-dest-exdev") else { return };
    let n1 = root.join("n1").display().to_string();
    let dst = other.path().join("n2").display().to_string();
    let src = root.join("src/.").display().to_string();
    for dry in [true, false] {
        let mut args = vec!["-a", "--report=json", "--link-dest", n1.as_str(), &src, &dst];
        if dry {
            args.insert(0, "--dry-run");
        }
        let out = copied(test, root, &args);
        let record = &by_source(&out)["b/c/same"];
        assert_ne!(record["strategy"], "link", "{test} dry run {dry}: {record}");
    }
    // One file copied as another: its earlier copy is the one beside the destination.
    fs::create_dir(root.join("files")).unwrap();
    assert!(rcp_in(root, &["-a", "src/b/c/same", "files/f"]).status.success());
    copied(test, root, &["-a", "--link-dest=files", "src/b/c/same", "f"]);
    assert_eq!(ino(&root.join("f")), ino(&root.join("files/f")), "{test}: beside it");
    fs::create_dir(root.join("n4")).unwrap();
    copied(test, root, &["-a", "--link-dest=../files", "src/b/c/same", "n4/f"]);
    assert_eq!(ino(&root.join("n4/f")), ino(&root.join("files/f")), "{test}: a single file");
}

//! Which path each kind of copy takes: clone on btrfs/xfs, copy_file_range on ext4, splice
//! across filesystem types, read/write for procfs; and what --reflink=always/never do.

use std::fs;

use crate::common::*;

const MIB: usize = 1 << 20;

#[test]
fn reflink_auto_clones_on_btrfs_and_xfs() {
    for fs in [Fs::Btrfs, Fs::Xfs] {
        let Some(dir) = dir_on(fs, "clone") else { return };
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        write_pattern(&src, 64 * MIB, 1);
        let record = copy_record(&["--reflink=auto"], &src, &dst);
        assert_eq!(record["strategy"], "clone", "{fs:?}: {record}");
        assert_eq!(record["bytes"], 64 * MIB as u64);
        assert!(fallbacks(&record).is_empty(), "{fs:?}: {record}");
        assert!(all_extents_shared(&dst), "{fs:?}: destination extents are not shared");
        assert_same_bytes(&src, &dst);
    }
}

#[test]
fn ext4_copies_with_copy_file_range() {
    let Some(dir) = dir_on(Fs::Ext4, "cfr") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_pattern(&src, 8 * MIB + 123, 2);
    let record = copy_record(&[], &src, &dst);
    assert_eq!(record["strategy"], "copy_file_range", "{record}");
    assert_eq!(record["bytes"], (8 * MIB + 123) as u64);
    assert_eq!(fallbacks(&record), [("clone".to_string(), "\"EOPNOTSUPP\"".to_string())]);
    assert_same_bytes(&src, &dst);
    assert!(!all_extents_shared(&dst), "ext4 cannot share extents");
}

#[test]
fn btrfs_to_xfs_splices() {
    let (Some(from), Some(to)) = (dir_on(Fs::Btrfs, "splice"), dir_on(Fs::Xfs, "splice")) else {
        return;
    };
    let (src, dst) = (from.path().join("src"), to.path().join("dst"));
    write_pattern(&src, 8 * MIB + 7, 3);
    let record = copy_record(&[], &src, &dst);
    assert_eq!(record["strategy"], "splice", "{record}");
    let fell: Vec<String> =
        fallbacks(&record).into_iter().map(|(s, e)| format!("{s}:{e}")).collect();
    assert_eq!(fell, ["clone:\"EXDEV\"", "copy_file_range:\"EXDEV\""]);
    assert_same_bytes(&src, &dst);
}

#[test]
fn procfs_files_are_read_to_eof() {
    let dir = tempfile::tempdir().unwrap();
    for proc_file in ["/proc/version", "/proc/filesystems"] {
        let dst = dir.path().join(proc_file.trim_start_matches("/proc/"));
        let record = copy_record(&[], proc_file.as_ref(), &dst);
        assert_eq!(record["strategy"], "read_write", "{record}");
        let direct = fs::read(proc_file).unwrap();
        assert!(!direct.is_empty());
        assert_eq!(fs::read(&dst).unwrap(), direct, "{proc_file}");
        assert_eq!(record["bytes"], direct.len() as u64);
    }
    // Its content differs per process, but it reports size 0 and has data.
    let dst = dir.path().join("status");
    let record = copy_record(&[], "/proc/self/status".as_ref(), &dst);
    assert_eq!(record["strategy"], "read_write");
    let copied = fs::read_to_string(&dst).unwrap();
    assert!(copied.starts_with("Name:\t"), "{copied}");
    assert_eq!(record["bytes"], copied.len() as u64);
}

#[test]
fn reflink_always_fails_like_gnu_where_clone_is_unsupported() {
    let Some(dir) = dir_on(Fs::Ext4, "always") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_pattern(&src, 4096, 4);
    let out =
        rcp().current_dir(dir.path()).args(["--reflink=always", "src", "dst"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(": failed to clone 'dst' from 'src': Operation not supported\n"),
        "{}",
        stderr(&out)
    );
    assert!(!dst.exists(), "a destination rcp created is removed when the clone fails");
    // A bare --reflink means always.
    let out = rcp().current_dir(dir.path()).args(["--reflink", "src", "dst"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!dst.exists());
}

#[test]
fn reflink_always_clones_on_btrfs() {
    let Some(dir) = dir_on(Fs::Btrfs, "always") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_pattern(&src, MIB, 5);
    assert_eq!(copy_record(&["--reflink"], &src, &dst)["strategy"], "clone");
    assert!(all_extents_shared(&dst));
}

#[test]
fn reflink_never_uses_neither_clone_nor_copy_file_range() {
    for fs in [Fs::Btrfs, Fs::Xfs, Fs::Ext4] {
        let Some(dir) = dir_on(fs, "never") else { return };
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        write_pattern(&src, 2 * MIB, 6);
        let record = copy_record(&["--reflink=never"], &src, &dst);
        assert_eq!(record["strategy"], "splice", "{fs:?}: {record}");
        assert!(fallbacks(&record).is_empty(), "{fs:?}: nothing was tried before splice");
        assert!(!all_extents_shared(&dst), "{fs:?}: --reflink=never must not share extents");
        assert_same_bytes(&src, &dst);
    }
}

#[test]
fn debug_prints_gnus_line_then_the_strategy() {
    let Some(dir) = dir_on(Fs::Ext4, "debug") else { return };
    fs::write(dir.path().join("a"), b"hello\n").unwrap();
    let out = rcp().current_dir(dir.path()).args(["--debug", "a", "b"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "'a' -> 'b'\n\
         copy offload: yes, reflink: unsupported, sparse detection: no\n\
         strategy: copy_file_range (fell back from: clone: EOPNOTSUPP)\n"
    );
}

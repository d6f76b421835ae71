//! `--verify` through the real binary: a copy read back and compared with the source says
//! so in its record; on a FUSE filesystem that returns one wrong byte on read (a real fault,
//! not a switch in rcp), the file fails, is not left in place, and `--atomic` keeps the old
//! one.

use std::fs;
use std::path::Path;

use crate::common::{parse_report, rcp_in, write_pattern};

#[test]
fn verified_copies_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_pattern(&root.join("a"), 3 << 20, 1);
    let sparse = fs::File::create(root.join("holes")).unwrap();
    sparse.set_len(16 << 20).unwrap();
    drop(sparse);
    let out = rcp_in(root, &["--verify", "--report=json", "a", "holes", "-t", "."]);
    assert!(!out.status.success(), "a and holes onto themselves are refused");
    fs::create_dir(root.join("d")).unwrap();
    let out = rcp_in(root, &["--verify", "--report=json", "a", "holes", "d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    let files: Vec<_> = records.iter().filter(|r| r["type"] == "entry").collect();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|r| r["verified"] == true), "{files:?}");
    let plain = rcp_in(root, &["--report=json", "a", "plain"]);
    let records = parse_report(&String::from_utf8_lossy(&plain.stdout));
    assert_eq!(records[0]["verified"], false);
}

/// The FUSE filesystem of `fuse/flip.py` over `root/back`, mounted at `root/mnt`.
fn mount_flip(test: &str, root: &Path) -> Option<crate::common::Fuse> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fuse/flip.py");
    crate::common::Fuse::mount(test, &script, root, &[])
}

#[test]
fn verify_reads_only_the_data_of_a_sparse_file() {
    let test = "verify_reads_only_the_data_of_a_sparse_file";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let sparse = fs::File::create(root.join("big")).unwrap();
    sparse.set_len(256 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&sparse, &[5u8; 1 << 20], 100 << 20).unwrap();
    drop(sparse);
    let args = ["--verify", "--report=json"].map(|a| a.to_string());
    let (src, dst) = (root.join("big"), root.join("copy"));
    let paths = [src.display().to_string(), dst.display().to_string()];
    let traced = crate::common::rcp_traced(test, "pread64", &[&args[..], &paths[..]].concat());
    let Some((out, trace)) = traced else { return };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(records[0]["verified"], true);
    assert_eq!(records[0]["holes"], true);
    // 1 MiB of data, read from both in 256 KiB chunks: 8 reads, not 2,048 for 256 MiB.
    let reads = trace.lines().filter(|l| l.contains("pread64(")).count();
    assert!((8..=12).contains(&reads), "{reads} preads to verify 1 MiB of data");
}

#[test]
fn verify_catches_a_filesystem_that_returns_wrong_bytes() {
    let test = "--verify on a byte-flipping FUSE filesystem";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let Some(_flip) = mount_flip(test, root) else { return };
    write_pattern(&root.join("src.bin"), 20_000, 3);
    // Without --verify the copy "succeeds": what reads back is wrong at byte 4096.
    let blind = rcp_in(root, &["src.bin", "mnt/blind.bin"]);
    assert!(blind.status.success());
    assert_ne!(
        fs::read(root.join("mnt/blind.bin")).unwrap(),
        fs::read(root.join("src.bin")).unwrap()
    );
    // With it: the file fails with cp-style words, status 1, and is not left in place.
    let out = rcp_in(root, &["--verify", "--report=json", "src.bin", "mnt/checked.bin"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.ends_with(": verification failed: 'mnt/checked.bin' differs from 'src.bin'\n"),
        "{stderr}"
    );
    let records = parse_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(records[0]["outcome"], "failed");
    assert_eq!(records[0]["verified"], false);
    assert!(!root.join("back/checked.bin").exists(), "a copy that failed verification stays");
    // A sparse source is compared where either file has data: the wrong byte is caught
    // in the source's data, and in its hole too (where the copy reads back as data).
    for (name, data_at) in [("data.bin", 0u64), ("hole.bin", 65536)] {
        let sparse = fs::File::create(root.join(name)).unwrap();
        sparse.set_len(1 << 20).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&sparse, &[9u8; 65536], data_at).unwrap();
        drop(sparse);
        let dst = format!("mnt/{name}");
        let out = rcp_in(root, &["--verify", name, &dst]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // --atomic: the old file stays whole, and no temporary is left.
    fs::write(root.join("back/old.bin"), "old").unwrap();
    let out = rcp_in(root, &["--verify", "--atomic", "src.bin", "mnt/old.bin"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read(root.join("back/old.bin")).unwrap(), b"old");
    let left: Vec<_> =
        fs::read_dir(root.join("back")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "blind.bin and old.bin only: {left:?}");
}

//! Holes: a 1 GiB file holding 8 MiB of data stays about 8 MiB on disk on every filesystem
//! and by every path; --sparse=never makes it dense; --sparse=always makes zeros holes.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::common::*;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// 1 GiB with 8 MiB of data in 4 extents of 2 MiB (the last one ends the file).
fn make_sparse(path: &Path) {
    let file = OpenOptions::new().create_new(true).write(true).open(path).unwrap();
    file.set_len(GIB).unwrap();
    let mut chunk = vec![0u8; (2 * MIB) as usize];
    for (i, offset) in [0, 256 * MIB, 700 * MIB, GIB - 2 * MIB].into_iter().enumerate() {
        chunk.iter_mut().enumerate().for_each(|(j, b)| *b = (j % 251) as u8 + 1 + i as u8);
        file.write_all_at(&chunk, offset).unwrap();
    }
    file.sync_all().unwrap();
}

fn assert_blocks_close(src: &Path, dst: &Path, what: &str) {
    let (s, d) = (blocks(src), blocks(dst));
    let diff = s.abs_diff(d) as f64 / s as f64;
    assert!(diff <= 0.10, "{what}: st_blocks {d} vs source {s} ({:.1}% apart)", diff * 100.0);
}

#[test]
fn sparse_files_keep_their_holes_on_every_filesystem_and_path() {
    for fs in Fs::ALL {
        let Some(dir) = dir_on(fs, "sparse") else { return };
        let src = dir.path().join("src");
        make_sparse(&src);
        assert!(blocks(&src) * 512 < 9 * MIB, "{fs:?}: source is sparse");
        // Default chain (clone on btrfs/xfs, copy_file_range on ext4), then the in-kernel
        // copy without offload (splice), which must walk the extents itself.
        for (name, extra) in [("auto", None), ("never-reflink", Some("--reflink=never"))] {
            let dst = dir.path().join(name);
            let record = copy_record(extra.as_slice(), &src, &dst);
            assert_eq!(record["bytes"], GIB, "{fs:?} {name}");
            assert_eq!(fs::metadata(&dst).unwrap().len(), GIB);
            assert_blocks_close(&src, &dst, &format!("{fs:?} {name} ({record})"));
            if record["strategy"] != "clone" {
                assert_eq!(record["holes"], true, "{fs:?} {name}: extents walked: {record}");
            }
            assert_same_bytes(&src, &dst);
            fs::remove_file(&dst).unwrap();
        }
    }
}

#[test]
fn sparse_never_makes_a_dense_copy() {
    let Some(dir) = dir_on(Fs::Ext4, "dense") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    make_sparse(&src);
    let record = copy_record(&["--sparse=never"], &src, &dst);
    assert_eq!(record["holes"], false);
    assert!(blocks(&dst) * 512 >= GIB, "dense copy: {} blocks", blocks(&dst));
    assert_same_bytes(&src, &dst);
}

#[test]
fn sparse_always_turns_zero_runs_into_holes() {
    let Some(dir) = dir_on(Fs::Ext4, "always") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let mut data = vec![0u8; (40 * MIB) as usize];
    data[..(4 * MIB) as usize].fill(7);
    data[(36 * MIB) as usize..(38 * MIB) as usize].fill(9); // ends in 2 MiB of zeros
    fs::write(&src, &data).unwrap();
    let out =
        run_rcp(["--sparse=always".as_ref(), "--debug".as_ref(), src.as_os_str(), dst.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sparse detection: zeros"));
    assert_eq!(fs::read(&dst).unwrap(), data);
    assert!(blocks(&dst) * 512 <= 7 * MIB, "only the data is allocated: {} blocks", blocks(&dst));
}

/// Found by GNU's tests/cp/sparse-to-pipe.sh: a sparse source copied onto a fifo has its
/// holes written as zeros (a pipe cannot have holes, nor be truncated).
#[test]
fn sparse_source_into_a_fifo_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (src, pipe, got) =
        (dir.path().join("sparse"), dir.path().join("pipe"), dir.path().join("got"));
    let file = fs::File::create(&src).unwrap();
    file.set_len(MIB).unwrap();
    file.write_all_at(b"end", MIB - 3).unwrap();
    let status = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(status.success());
    let reader = std::process::Command::new("sh")
        .arg("-c")
        .arg("cat \"$0\" > \"$1\"")
        .arg(&pipe)
        .arg(&got)
        .spawn()
        .unwrap();
    let out = run_rcp([&src, &pipe]);
    let mut reader = reader;
    assert!(reader.wait().unwrap().success());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_bytes(&src, &got);
}

/// A sparse source cut short while it is copied fails as one that shrank — not a copy at the
/// old size, zeros after what is left, that looks whole (a walk of a sparse file ends at its
/// last data, so the walk alone cannot tell; the size is looked at again).
#[test]
fn a_sparse_source_cut_short_while_copied_fails_as_shrank() {
    let test = "sparse shrinks";
    let Some(dir) = dir_on(Fs::Ext4, "sparse-shrinks") else { return };
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let root = dir.path();
    let src = root.join("sp");
    let file = OpenOptions::new().create(true).write(true).truncate(true).open(&src).unwrap();
    for mib in (0..40u64).step_by(2) {
        file.write_all_at(&[0x5a; 64 << 10], mib << 20).unwrap();
    }
    file.set_len((40 << 20) + 123).unwrap();
    let child = rcp_slowed("copy_file_range:delay_exit=150000", None, root, &["sp", "copy"]);
    std::thread::sleep(std::time::Duration::from_millis(700));
    file.set_len(5 << 20).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("'sp' shrank while it was being copied"), "{test}: {stderr}");
    assert!(!root.join("copy").exists(), "{test}: the copy is left");
}

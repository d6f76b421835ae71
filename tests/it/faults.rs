//! Faults on real filesystems: a destination that fills up. Every file that fit is intact,
//! the file that hit ENOSPC is removed (rcp created it), the message is GNU's, the run goes
//! on with what still fits, and the exit status is 1.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_same_bytes, have, skip, write_pattern};

const MIB: usize = 1 << 20;

/// A small ext4 filesystem on a loop device, unmounted when dropped.
struct SmallFs {
    point: PathBuf,
}

impl SmallFs {
    fn new(dir: &Path, test: &str) -> Option<SmallFs> {
        if !rustix::process::geteuid().is_root() || !have("mkfs.ext4") {
            skip(test, "a 64 MiB loop filesystem needs root and mkfs.ext4");
            return None;
        }
        let image = dir.join("small.img");
        fs::File::create(&image).unwrap().set_len(64 * MIB as u64).unwrap();
        let point = dir.join("small");
        fs::create_dir(&point).unwrap();
        let mkfs = Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image).status().unwrap();
        assert!(mkfs.success());
        let mount = Command::new("mount").arg("-o").arg("loop").arg(&image).arg(&point).status();
        assert!(mount.unwrap().success(), "mount {image:?}");
        Some(SmallFs { point })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
    }
}

#[test]
fn disk_full_keeps_what_fit_and_removes_the_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 1..=3 {
        write_pattern(&src.join(format!("big{i}")), 30 * MIB, i);
    }
    fs::write(src.join("small"), "small\n").unwrap();
    let Some(small) = SmallFs::new(dir.path(), "disk-full") else { return };
    for jobs in ["-j1", "-j2"] {
        let dst = small.point.join(format!("dst{jobs}"));
        let out = Command::new(env!("CARGO_BIN_EXE_rcp"))
            .arg(jobs)
            .arg("-r")
            .arg(&src)
            .arg(&dst)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{jobs}: {stderr}");
        assert!(
            stderr.contains("error writing ") && stderr.contains(": No space left on device\n"),
            "{jobs}: GNU's message: {stderr}"
        );
        // Whatever is there is complete; the rest is absent, not torn.
        for name in ["big1", "big2", "big3", "small"] {
            let copy = dst.join(name);
            if copy.exists() {
                assert_same_bytes(&src.join(name), &copy);
            }
        }
        assert!(dst.join("small").exists(), "{jobs}: the run went on after ENOSPC");
        // Entries go in inode order, which need not be creation order: whichever big file
        // comes first fits, and the later ones cannot all fit.
        let bigs = ["big1", "big2", "big3"].iter().filter(|n| dst.join(n).exists()).count();
        assert!((1..3).contains(&bigs), "{jobs}: {bigs} of the 30 MiB files are there");
        fs::remove_dir_all(&dst).unwrap();
    }
}

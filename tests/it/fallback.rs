//! Every fallback, and the errors that must not fall back, proven on the real binary by
//! injecting syscall failures with strace.

use std::fs;

use crate::common::*;

const MIB: usize = 1 << 20;

fn chain(record: &serde_json::Value) -> Vec<String> {
    fallbacks(record).into_iter().map(|(s, e)| format!("{s}:{}", e.trim_matches('"'))).collect()
}

/// Copies a fresh `len`-byte file on `fs` under `injections`, checks the bytes arrived
/// intact, and returns the record (or `None` after `skip`).
fn injected_copy(fs: Fs, test: &str, injections: &[&str], len: usize) -> Option<serde_json::Value> {
    let dir = dir_on(fs, test)?;
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_pattern(&src, len, len as u64);
    let args = ["--report=json".as_ref(), src.as_os_str(), dst.as_os_str()];
    let record = only_record(&rcp_injected(test, injections, &args)?);
    assert_same_bytes(&src, &dst);
    Some(record)
}

#[test]
fn failed_ficlone_on_btrfs_falls_back_to_copy_file_range() {
    let injections = ["ioctl:error=EOPNOTSUPP"];
    let Some(record) = injected_copy(Fs::Btrfs, "inject-clone", &injections, 3 * MIB + 1) else {
        return;
    };
    assert_eq!(record["strategy"], "copy_file_range", "{record}");
    assert_eq!(chain(&record), ["clone:EOPNOTSUPP"]);
}

#[test]
fn enosys_copy_file_range_falls_back_to_splice() {
    let injections = ["copy_file_range:error=ENOSYS"];
    let Some(record) = injected_copy(Fs::Ext4, "inject-cfr", &injections, 5 * MIB + 3) else {
        return;
    };
    assert_eq!(record["strategy"], "splice", "{record}");
    assert_eq!(chain(&record), ["clone:EOPNOTSUPP", "copy_file_range:ENOSYS"]);
}

#[test]
fn einval_splice_falls_back_to_read_write() {
    let injections = ["copy_file_range:error=ENOSYS", "splice:error=EINVAL"];
    let Some(record) = injected_copy(Fs::Ext4, "inject-splice", &injections, 5 * MIB + 5) else {
        return;
    };
    assert_eq!(record["strategy"], "read_write", "{record}");
    assert_eq!(chain(&record), ["clone:EOPNOTSUPP", "copy_file_range:ENOSYS", "splice:EINVAL"]);
}

#[test]
fn eio_from_copy_file_range_fails_the_file_and_goes_on() {
    let Some(dir) = dir_on(Fs::Ext4, "inject-eio") else { return };
    let d = dir.path();
    write_pattern(&d.join("bad"), MIB, 13);
    fs::create_dir(d.join("out")).unwrap();
    // EIO on the first copy_file_range only: the second file copies normally. strace counts
    // calls per thread, so the copy stays on one thread (-j1).
    let args = ["-j1", "bad", "fine", "out"];
    write_pattern(&d.join("fine"), MIB, 14);
    let source_before = fs::read(d.join("bad")).unwrap();
    if !have("strace") {
        return skip("inject-eio", "strace is not installed");
    }
    let out = std::process::Command::new("strace")
        .current_dir(d)
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "inject=copy_file_range:error=EIO:when=1"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "EIO is a real error: {}", stderr(&out));
    assert!(
        stderr(&out).ends_with(": error copying 'bad' to 'out/bad': Input/output error\n"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("out/bad").exists(), "the torn destination rcp created is removed");
    assert_same_bytes(&d.join("fine"), &d.join("out/fine"));
    assert_eq!(fs::read(d.join("bad")).unwrap(), source_before, "the source is untouched");
}

#[test]
fn eio_from_ficlone_is_an_error_not_a_fallback() {
    let Some(dir) = dir_on(Fs::Btrfs, "inject-clone-eio") else { return };
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write_pattern(&src, MIB, 15);
    let args = [src.as_os_str(), dst.as_os_str()];
    let Some(out) = rcp_injected("inject-clone-eio", &["ioctl:error=EIO"], &args) else { return };
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("failed to clone"), "{}", stderr(&out));
    assert!(stderr(&out).ends_with(": Input/output error\n"), "{}", stderr(&out));
    assert!(!dst.exists());
}

#[test]
fn ficlone_is_tried_once_per_device_pair_in_a_tree() {
    let Some(dir) = dir_on(Fs::Ext4, "once") else { return };
    let src = dir.path().join("tree");
    for d in 0..20 {
        let sub = src.join(format!("d{d}"));
        fs::create_dir_all(&sub).unwrap();
        for f in 0..100 {
            fs::write(sub.join(format!("f{f}")), format!("{d}/{f}\n")).unwrap();
        }
    }
    if !have("strace") {
        return skip("once", "strace is not installed");
    }
    let trace = dir.path().join("trace");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=ioctl,copy_file_range", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .arg("-r")
        .arg(&src)
        .arg(dir.path().join("copy"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let trace = fs::read_to_string(&trace).unwrap();
    let clones =
        trace.lines().filter(|l| l.contains("FICLONE") || l.contains("BTRFS_IOC_CLONE")).count();
    let cfr = trace.lines().filter(|l| l.contains("copy_file_range(")).count();
    assert_eq!(clones, 1, "2,000 files on one device pair: FICLONE once");
    assert!(cfr >= 2000, "every file still copied: {cfr} copy_file_range calls");
    assert_eq!(
        fs::read_to_string(dir.path().join("copy/d19/f99")).unwrap(),
        "19/99\n",
        "tree copied"
    );
}

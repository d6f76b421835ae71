//! `--atomic`: each regular file is written under a temporary name and renamed into place
//! only when complete, so a failure or a kill leaves the old file or the new one.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Fs, assert_same_bytes, dir_on, have, rcp, rcp_injected, skip, write_pattern};
use crate::gnu::snapshot;

const MIB: usize = 1 << 20;

fn no_temporaries(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with(".rcp-") {
                return false;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    true
}

#[test]
fn atomic_copies_equal_plain_ones_and_leave_no_temporaries() {
    let Some(dir) = dir_on(Fs::Ext4, "atomic") else { return };
    let d = dir.path();
    for i in 0..30 {
        let sub = d.join(format!("src/d{}", i % 3));
        fs::create_dir_all(&sub).unwrap();
        write_pattern(&sub.join(format!("f{i}")), 1000 * i + 1, i as u64);
    }
    let runs: [(&str, &[&str]); 3] =
        [("plain", &[]), ("atomic", &["--atomic"]), ("fsync", &["--atomic", "--fsync"])];
    for (name, flags) in runs {
        let ok = rcp().current_dir(d).arg("-r").args(flags).arg("src").arg(name).status();
        assert!(ok.unwrap().success(), "{name}");
    }
    let plain = snapshot(&d.join("plain"));
    // The same entries, types, bytes and modes (mtimes are the copies' own).
    let without_time = |v: &str| v.split(" mtime").next().unwrap().to_string();
    for name in ["atomic", "fsync"] {
        let other = snapshot(&d.join(name));
        assert_eq!(other.len(), plain.len(), "{name}");
        for (k, v) in &plain {
            assert_eq!(other.get(k).map(|s| without_time(s)), Some(without_time(v)), "{name}: {k}");
        }
        assert!(no_temporaries(&d.join(name)), "{name}: temporary files left");
    }
}

#[test]
fn a_failed_atomic_copy_leaves_the_old_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pattern(&d.join("new"), 4 * MIB, 1);
    fs::write(d.join("old"), "old contents\n").unwrap();
    fs::set_permissions(d.join("old"), fs::Permissions::from_mode(0o600)).unwrap();
    let src = d.join("new");
    let dst = d.join("old");
    let args = ["--atomic".as_ref(), src.as_os_str(), dst.as_os_str()];
    let Some(out) = rcp_injected("atomic-eio", &["copy_file_range:error=EIO"], &args) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(d.join("old")).unwrap(), "old contents\n");
    assert!(no_temporaries(d));
    // Without a fault, the file is replaced and keeps the mode the old one had.
    assert!(rcp().args(args).status().unwrap().success());
    assert_same_bytes(&d.join("new"), &d.join("old"));
    let mode = fs::metadata(d.join("old")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "an existing destination keeps its mode, as without --atomic");
}

/// Starts `rcp --atomic` overwriting `dst` ("previous") with a 512 MiB `big` (pattern
/// `seed`), slowly enough (read/write) to be killed mid-file.
fn start_atomic_overwrite(d: &Path, seed: u64) -> std::process::Child {
    write_pattern(&d.join("big"), 512 * MIB, seed);
    fs::write(d.join("dst"), "previous\n").unwrap();
    rcp()
        .current_dir(d)
        .args(["--atomic", "--reflink=never", "--sparse=always", "big", "dst"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_killed_atomic_copy_leaves_the_old_file_whole() {
    if !have("kill") {
        return skip("atomic-kill", "kill is not installed");
    }
    let Some(dir) = dir_on(Fs::Ext4, "atomic-kill") else { return };
    let d = dir.path();
    let mut child = start_atomic_overwrite(d, 3);
    std::thread::sleep(Duration::from_millis(150));
    let killed = Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(killed.success() && status.code().is_none(), "rcp finished before the kill");
    assert_eq!(fs::read_to_string(d.join("dst")).unwrap(), "previous\n");
}

/// As `nobody`, with a writable file in a directory it may not write: plain rcp writes the
/// file in place; `--atomic` cannot make its temporary there, and says that, naming the
/// directory (not the file, which could have been written).
#[test]
fn atomic_says_it_is_the_temporary_that_cannot_be_created() {
    if !have("setpriv") || !rustix::process::geteuid().is_root() {
        skip("atomic_temporary_message", "needs root and setpriv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
    fs::create_dir(d.join("ro")).unwrap();
    fs::write(d.join("src"), "new\n").unwrap();
    fs::write(d.join("ro/f"), "old\n").unwrap();
    fs::set_permissions(d.join("ro/f"), fs::Permissions::from_mode(0o666)).unwrap();
    fs::set_permissions(d.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    let as_nobody = |args: &[&str]| crate::common::as_nobody(env!("CARGO_BIN_EXE_rcp"), args, d);
    let out = as_nobody(&["--atomic", "src", "ro/f"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.ends_with(": cannot create temporary file in 'ro': Permission denied\n"), "{err}");
    assert_eq!(fs::read_to_string(d.join("ro/f")).unwrap(), "old\n", "untouched");
    let out = as_nobody(&["src", "ro/f"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read_to_string(d.join("ro/f")).unwrap(), "new\n");
}

/// A later `--atomic` run removes the temporaries a `kill -9`ed one left (and says so under
/// `--debug`), and those whose process id now belongs to a later process; never a live
/// rcp's, one made on another host, boot or PID namespace (a container, another machine on
/// NFS: nothing here can tell whether that run is over), another user's, the old
/// `.rcp-PID-N` names, nor anything that is not a regular file.
#[test]
fn stale_temporaries_of_a_killed_run_are_removed_by_the_next() {
    let Some(dir) = dir_on(Fs::Ext4, "atomic-stale") else { return };
    let d = dir.path();
    let mut child = start_atomic_overwrite(d, 4);
    let killed_pid = child.id();
    // `.rcp-PLACE-PID-START-N` of process `pid`: (name, PLACE).
    let named = |pid: u32| {
        fs::read_dir(d).unwrap().find_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let parts: Vec<&str> = name.strip_prefix(".rcp-")?.split('-').collect();
            let place = parts[0].to_string();
            (parts.len() == 4 && parts[1] == pid.to_string()).then_some((name, place))
        })
    };
    let start = std::time::Instant::now();
    let (killed_temp, place) = loop {
        if let Some(found) = named(killed_pid) {
            break found;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no temporary appeared");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        Command::new("kill").args(["-KILL", &killed_pid.to_string()]).status().unwrap().success()
    );
    let _ = child.wait();
    assert!(d.join(&killed_temp).exists(), "kill -9 leaves the temporary");
    // A live rcp (blocked on a fifo) and the same process id started at another time.
    assert!(Command::new("mkfifo").arg(d.join("ff")).status().unwrap().success());
    let mut live = rcp().current_dir(d).args(["ff", "out"]).stderr(Stdio::null()).spawn().unwrap();
    // The live rcp made no temporary: its start time comes from /proc (field 22).
    let stat = fs::read_to_string(format!("/proc/{}/stat", live.id())).unwrap();
    let live_start =
        stat.rsplit_once(')').unwrap().1.split_whitespace().nth(19).unwrap().to_string();
    let live_temp = format!(".rcp-{place}-{}-{live_start}-5", live.id());
    let reused = format!(".rcp-{place}-{}-1-6", live.id());
    let elsewhere = format!(".rcp-0123456789abcdef-{killed_pid}-1-7");
    let old_style = format!(".rcp-{killed_pid}-8");
    let not_mine = format!(".rcp-{place}-{killed_pid}-1-9");
    let a_dir = format!(".rcp-{place}-{killed_pid}-1-10");
    for name in [&live_temp, &reused, &elsewhere, &old_style, &not_mine] {
        fs::write(d.join(name), "").unwrap();
    }
    std::os::unix::fs::chown(d.join(&not_mine), Some(65534), Some(65534)).unwrap();
    fs::create_dir(d.join(&a_dir)).unwrap();
    fs::write(d.join("small"), "new\n").unwrap();
    let out = rcp().current_dir(d).args(["--atomic", "--debug", "small", "dst"]).output().unwrap();
    let _ = (live.kill(), live.wait());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = |name: &str, pid: u32| {
        format!("removed stale temporary './{name}' (process {pid} is over)\n")
    };
    assert!(stdout.contains(&said(&killed_temp, killed_pid)), "{stdout}");
    assert!(stdout.contains(&said(&reused, live.id())), "{stdout}");
    assert!(!d.join(&killed_temp).exists() && !d.join(&reused).exists());
    for kept in [&live_temp, &elsewhere, &old_style, &not_mine, &a_dir] {
        assert!(d.join(kept).exists(), "{kept} was removed: {stdout}");
    }
    assert_eq!(fs::read_to_string(d.join("dst")).unwrap(), "new\n");
}

/// Where /proc hides other users' processes (`hidepid=2`), a live run's temporary is not
/// judged over because its process cannot be seen: only kill(pid, 0)'s ESRCH says gone.
#[test]
fn a_live_runs_temporary_survives_where_proc_hides_it() {
    if !have("unshare") || !have("setpriv") || !rustix::process::geteuid().is_root() {
        return skip("atomic-hidepid", "needs root, unshare and setpriv");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // This host's PLACE, from the temporary a forced symlink goes through.
    fs::write(d.join("old"), "").unwrap();
    fs::write(d.join("new"), "").unwrap();
    let (new, old) = (d.join("new"), d.join("old"));
    let Some((_, trace)) = crate::common::rcp_traced(
        "atomic-hidepid",
        "symlinkat",
        &["-sf", new.to_str().unwrap(), old.to_str().unwrap()],
    ) else {
        return;
    };
    let place = trace.split(".rcp-").nth(1).and_then(|t| t.split('-').next()).unwrap().to_string();
    // A live process of root's, and a temporary named for it that nobody owns.
    let mut live = Command::new("sleep").arg("30").spawn().unwrap();
    let stat = fs::read_to_string(format!("/proc/{}/stat", live.id())).unwrap();
    let start = stat.rsplit_once(')').unwrap().1.split_whitespace().nth(19).unwrap().to_string();
    let work = d.join("w");
    fs::create_dir(&work).unwrap();
    let temp = work.join(format!(".rcp-{place}-{}-{start}-3", live.id()));
    fs::write(&temp, "live data").unwrap();
    fs::write(work.join("x"), "x\n").unwrap();
    let chown = Command::new("chown").args(["-R", "nobody"]).arg(&work).status().unwrap();
    assert!(chown.success());
    let script = "mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=nobody \
                  --regid=nogroup --clear-groups \"$RCP\" --atomic --debug x y";
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("RCP", env!("CARGO_BIN_EXE_rcp"))
        .current_dir(&work)
        .output()
        .unwrap();
    let _ = (live.kill(), live.wait());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        temp.exists(),
        "a live run's temporary was removed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

//! The JSON report scripts read: one record per operand and per entry, whatever happened to
//! it (copied, skipped with a reason, failed with the message stderr shows), a summary last
//! whose counts equal the records, every line checked against `doc/report.schema.json`
//! (in `common::parse_report`). Each scenario runs the real binary.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::*;

/// `rcp ARGS` in `dir` with the JSON report on stdout.
fn report(dir: &Path, args: &[&str]) -> Output {
    rcp().current_dir(dir).arg("--report=json").args(args).output().expect("run rcp")
}

/// `outcome kind destination (reason|error)` for each record, in order.
fn story(out: &Output) -> Vec<String> {
    records(out)
        .iter()
        .map(|r| {
            let why = match r["outcome"].as_str() {
                Some("skipped") => format!(" ({})", r["reason"].as_str().unwrap()),
                Some("failed") => format!(": {}", r["error"].as_str().unwrap()),
                _ => String::new(),
            };
            let kind = r["kind"].as_str().unwrap_or("?");
            format!(
                "{} {kind} {}{why}",
                r["outcome"].as_str().unwrap(),
                r["destination"]["text"].as_str().unwrap()
            )
        })
        .collect()
}

/// Every failed record's error is a line rcp printed on stderr (after `rcp: `).
fn errors_are_the_messages(out: &Output) {
    let err = stderr(out);
    for r in records(out).iter().filter(|r| r["outcome"] == "failed") {
        let line = format!("rcp: {}\n", r["error"].as_str().unwrap());
        let line = line.trim_start_matches("rcp");
        assert!(err.contains(line), "{line:?} is not on stderr:\n{err}");
    }
}

fn tree(d: &Path) {
    fs::create_dir_all(d.join("src/sub")).unwrap();
    fs::write(d.join("src/a"), "a").unwrap();
    fs::write(d.join("src/sub/b"), "b").unwrap();
}

#[test]
fn skipped_entries_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    assert!(rcp().current_dir(d).args(["-r", "src", "dst"]).status().unwrap().success());
    for (args, reason) in [
        (&["-rn"][..], "exists"),
        (&["-r", "--update=none"][..], "exists"),
        (&["-ru"][..], "not_newer"),
    ] {
        let out = report(d, &[args, &["src/.", "dst"]].concat());
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let story = story(&out);
        assert_eq!(story.last().map(String::as_str), Some("copied dir dst/."), "{args:?}");
        let mut story = story;
        story.sort();
        assert_eq!(
            story,
            [
                "copied dir dst/.".to_string(),
                "copied dir dst/./sub".to_string(),
                format!("skipped file dst/./a ({reason})"),
                format!("skipped file dst/./sub/b ({reason})"),
            ],
            "{args:?}"
        );
        assert_eq!(
            summary(&out)["outcomes"],
            serde_json::json!({"copied": 2, "skipped": 2, "failed": 0})
        );
    }
    // A declined -i: the answer is read from stdin.
    let mut child = rcp()
        .current_dir(d)
        .args(["-i", "--report=json", "src/a", "dst/a"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(story(&out), ["skipped file dst/a (declined)"]);
    // -l onto a hard link of the source: nothing to do.
    fs::hard_link(d.join("src/a"), d.join("link")).unwrap();
    let out = report(d, &["-l", "src/a", "link"]);
    assert_eq!(story(&out), ["skipped file link (same_file)"]);
}

#[test]
fn refusals_are_failed_records_with_cps_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    fs::write(d.join("file"), "x").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["-r", "src", "file"],
            "failed dir file: cannot overwrite non-directory 'file' with directory 'src'",
        ),
        (
            &["-r", "src", "src/sub"],
            "failed dir src/sub/src/sub/src: cannot copy a directory, 'src', into itself, 'src/sub/src'",
        ),
        (&["src", "x"], "failed dir x: -r not specified; omitting directory 'src'"),
        (&["nosuch", "x"], "failed ? x: cannot stat 'nosuch': No such file or directory"),
    ];
    for (args, want) in cases {
        let out = report(d, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let story = story(&out);
        assert!(story.contains(&want.to_string()), "{args:?}: {story:?}");
        errors_are_the_messages(&out);
        assert_eq!(summary(&out)["exit_status"], 1);
    }
    // A symlink cycle under -L (in a directory of its own: walking `up` meets only `cyc`,
    // never the destination being made, whatever the inode order).
    fs::create_dir_all(d.join("w/cyc")).unwrap();
    std::os::unix::fs::symlink("..", d.join("w/cyc/up")).unwrap();
    let out = report(d, &["-rL", "w/cyc", "cyc2"]);
    assert_eq!(out.status.code(), Some(1));
    let want = "failed dir cyc2/up/cyc: cannot copy cyclic symbolic link 'w/cyc/up/cyc'";
    assert!(story(&out).contains(&want.to_string()), "{:?}", story(&out));
    errors_are_the_messages(&out);
}

#[test]
fn unreadable_files_and_directories_fail_their_own_records() {
    if !have("setpriv") || !rustix::process::geteuid().is_root() {
        skip("unreadable_files_and_directories_fail_their_own_records", "needs root and setpriv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
    tree(d);
    fs::write(d.join("src/secret"), "s").unwrap();
    Command::new("chown").args(["-R", "nobody:nogroup"]).arg(d.join("src")).status().unwrap();
    fs::set_permissions(d.join("src/secret"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(d.join("src/sub"), fs::Permissions::from_mode(0o000)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_rcp"))
        .current_dir(d)
        .args(["-r", "--report=json", "src", "dst"])
        .output()
        .unwrap();
    fs::set_permissions(d.join("src/sub"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mut story = story(&out);
    story.sort();
    assert_eq!(
        story,
        [
            "copied dir dst",
            "copied file dst/a",
            "failed dir dst/sub: cannot access 'src/sub': Permission denied",
            "failed file dst/secret: cannot open 'src/secret' for reading: Permission denied",
        ]
    );
    errors_are_the_messages(&out);
    assert_eq!(
        summary(&out)["outcomes"],
        serde_json::json!({"copied": 2, "skipped": 0, "failed": 2})
    );
}

#[test]
fn names_always_have_text_and_exact_bytes_when_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
    fs::write(d.join(name), "x").unwrap();
    let out = rcp().current_dir(d).arg("--report=json").arg(name).arg("out").output().unwrap();
    let record = &records(&out)[0];
    assert_eq!(record["source"]["text"], "caf\u{fffd}");
    assert!(record["source"]["bytes"].is_string());
    assert_eq!(
        record["destination"],
        serde_json::json!({"text": "out"}),
        "UTF-8 names have no bytes"
    );
}

#[test]
fn the_json_stream_is_only_json_and_lines_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tree(d);
    let out = report(d, &["-rv", "--debug", "src", "dst"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()), "{text}");
    assert_eq!(json_lines(&out).len(), 5, "four entries and the summary");
    let err = stderr(&out);
    assert!(err.contains("'src/a' -> 'dst/a'\n") && err.contains("strategy: "), "{err}");
    // --report-file alone writes JSON there, and stdout is GNU's -v.
    let out =
        rcp().current_dir(d).args(["-rv", "--report-file=r.json", "src", "dst2"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("'src/a' -> 'dst2/a'"));
    let lines = parse_report(&fs::read_to_string(d.join("r.json")).unwrap());
    assert_eq!(lines.last().unwrap()["outcomes"]["copied"], 4);
}

#[test]
fn a_closed_pipe_or_a_full_disk_is_one_message_in_cps_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("many")).unwrap();
    for i in 0..3000 {
        fs::write(d.join(format!("many/f{i}")), "x").unwrap();
    }
    let mut child = rcp()
        .current_dir(d)
        .args(["-r", "--report=json", "many", "m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(serde_json::from_str::<Value>(&first).is_ok(), "{first}");
    let err = stderr(&out);
    assert!(err.ends_with(": write error: Broken pipe\n") && err.lines().count() == 1, "{err}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_dir(d.join("m")).unwrap().count(), 3000, "the copy went on to the end");
    let out = rcp()
        .current_dir(d)
        .args(["-r", "--report-file=/dev/full", "many", "m2"])
        .output()
        .unwrap();
    let err = stderr(&out);
    let full = ": error writing '/dev/full': No space left on device\n";
    assert!(err.ends_with(full) && err.lines().count() == 1, "{err}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_schema_rejects_a_record_that_breaks_it() {
    let broken = r#"{"type":"entry","outcome":"failed","reason":null,"source":{"text":"a"},"destination":{"text":"b"},"kind":"file","strategy":null,"bytes":null,"fell_back":[],"holes":false,"error":null}"#;
    let result = std::panic::catch_unwind(|| parse_report(broken));
    assert!(result.is_err(), "a failed record without an error must not pass the schema");
}

#[test]
fn an_interrupted_copy_still_ends_with_its_summary() {
    let Some(dir) = dir_on(Fs::Ext4, "report-sigint") else { return };
    let d = dir.path();
    fs::create_dir(d.join("src")).unwrap();
    for i in 0..30 {
        write_pattern(&d.join(format!("src/f{i:02}")), 16 << 20, i);
    }
    if !have("strace") {
        return skip("report-sigint", "strace is not installed");
    }
    // Every data call slowed down (a fast disk copies the whole tree before a signal
    // sent at a fixed time arrives), and SIGINT once the first file is there.
    let args = ["-r", "--report=json", "src", "dst"];
    let child = rcp_slowed("copy_file_range:delay_exit=20000", None, d, &args);
    let started = std::time::Instant::now();
    while !d.join("dst/f00").exists() {
        assert!(started.elapsed().as_secs() < 20, "rcp copied nothing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    for pid in children(child.id()) {
        let kill = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        assert!(kill.success(), "rcp ended before it was interrupted");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(crate::common::shell_status(out.status), Some(130), "{}", stderr(&out));
    let summary = summary(&out);
    assert_eq!((&summary["exit_status"], &summary["interrupted"]), (&130.into(), &"SIGINT".into()));
    for r in records(&out).iter().filter(|r| r["outcome"] == "failed") {
        assert_eq!(r["error"], "interrupted by SIGINT", "{r}");
    }
    let copied =
        records(&out).iter().filter(|r| r["outcome"] == "copied" && r["kind"] == "file").count();
    assert!(copied < 30, "the copy was cut short ({copied} files)");
}

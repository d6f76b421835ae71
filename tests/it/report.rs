//! The per-file records: JSON that round-trips any name, the text form, the report file,
//! and the --stats summary.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;

use base64::Engine as _;

use crate::common::*;

#[test]
fn json_records_round_trip_non_utf8_names() {
    let dir = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"caf\xe9 \n\x01");
    let src = dir.path().join(name);
    fs::write(&src, "data").unwrap();
    let dst = dir.path().join("out");
    let record = copy_record(&[], &src, &dst);
    let encoded = record["source"]["bytes"].as_str().expect("non-UTF-8 name as bytes");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    assert_eq!(decoded, src.as_os_str().as_bytes());
    assert_eq!(record["destination"]["text"], dst.to_str().unwrap());
    assert_eq!(record["kind"], "file");
    assert_eq!(record["bytes"], 4);
    assert_eq!(record["error"], serde_json::Value::Null);
}

#[test]
fn records_cover_every_entry_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("src/sub")).unwrap();
    fs::write(d.join("src/sub/f"), "f").unwrap();
    std::os::unix::fs::symlink("sub/f", d.join("src/l")).unwrap();
    fs::create_dir(d.join("dst")).unwrap();
    let out = rcp()
        .current_dir(d)
        .args(["-r", "--report=json", "src", "nosuch", "dst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mut kinds: Vec<String> = records(&out)
        .iter()
        .map(|r| format!("{} {} {}", r["outcome"], r["kind"], r["destination"]["text"]))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            r#""copied" "dir" "dst/src""#,
            r#""copied" "dir" "dst/src/sub""#,
            r#""copied" "file" "dst/src/sub/f""#,
            r#""copied" "symlink" "dst/src/l""#,
            r#""failed" null "dst/nosuch""#,
        ]
    );
    let message = "cannot stat 'nosuch': No such file or directory";
    assert!(stderr(&out).ends_with(&format!(": {message}\n")));
    let failed = records(&out).into_iter().find(|r| r["outcome"] == "failed").unwrap();
    assert_eq!(failed["error"], message, "the record's error is the message on stderr");
    // A directory's record comes after its contents; the summary adds them up.
    let order: Vec<String> =
        records(&out).iter().map(|r| r["destination"]["text"].to_string()).collect();
    let (sub, f) = (
        order.iter().position(|d| d == r#""dst/src/sub""#),
        order.iter().position(|d| d == r#""dst/src/sub/f""#),
    );
    assert!(f < sub, "{order:?}");
    assert_eq!(order[3], r#""dst/src""#, "{order:?}");
    let summary = summary(&out);
    assert_eq!(summary["outcomes"], serde_json::json!({"copied": 4, "skipped": 0, "failed": 1}));
    assert_eq!((&summary["exit_status"], &summary["schema_version"]), (&1.into(), &1.into()));
    assert_eq!((&summary["files"], &summary["bytes"]), (&1.into(), &1.into()));
}

#[test]
fn text_report_goes_to_the_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a"), "abc").unwrap();
    let out = rcp()
        .current_dir(d)
        .args(["--report", "--report-file=rep.txt", "a", "b"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "records go to the file, not stdout");
    let text = fs::read_to_string(d.join("rep.txt")).unwrap();
    let line = text.lines().next().unwrap();
    assert!(line.contains("'a' -> 'b' (3 bytes"), "{line}");
    let strategy = line.split(' ').next().unwrap();
    assert!(["clone", "copy_file_range", "splice", "read_write"].contains(&strategy), "{line}");
}

#[test]
fn stats_count_files_and_bytes_per_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("src")).unwrap();
    for i in 0..5 {
        fs::write(d.join(format!("src/{i}")), vec![b'x'; 1000]).unwrap();
    }
    let out = rcp().current_dir(d).args(["-r", "--stats", "src", "dst"]).output().unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("5 files copied (4.9 KiB) in "), "{err}");
    assert!(err.contains("; 6 copied, 0 skipped, 0 failed\n"), "{err}");
    let per_strategy: u64 = err
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(per_strategy, 5, "{err}");
}

#[test]
fn stats_say_one_file_and_one_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a"), "x").unwrap();
    let out = rcp().current_dir(d).args(["--stats", "a", "b"]).output().unwrap();
    let err = stderr(&out);
    assert!(err.starts_with("1 file copied (1 byte) in "), "{err}");
    assert!(err.contains("; 1 copied, 0 skipped, 0 failed\n"), "{err}");
}

/// `--report-file=/dev/stdout` (or `/dev/fd/1`) into a pipe is the caller's stream, written
/// directly; rcp used to look for a place beside `pipe:[N]` and refuse to start (found by the
/// attacker).
#[test]
fn a_report_file_naming_stdout_into_a_pipe_is_written_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "f").unwrap();
    for (n, name) in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"].iter().enumerate() {
        let line = format!("'{}' --report-file={name} f g{n} | cat", env!("CARGO_BIN_EXE_rcp"));
        let out = std::process::Command::new("bash")
            .args(["-o", "pipefail", "-c", &line])
            .current_dir(d)
            .output()
            .expect("run rcp");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {err}");
        let records = parse_report(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(records.len(), 2, "{name}: an entry and the summary");
        assert_eq!(records[0]["outcome"], "copied", "{name}");
        assert_eq!(fs::read(d.join(format!("g{n}"))).unwrap(), b"f", "{name}");
    }
    let leftovers: Vec<_> = fs::read_dir(d).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 4, "no temporary left: {leftovers:?}");
}

/// `rcp -v --report-file=/dev/stdout f g > out`: the report goes through rcp's own standard
/// output, so the `-v` line and the records all reach `out` (a second open of the file had
/// its own offset and wrote the records over the `-v` line).
#[test]
fn a_report_file_naming_stdout_into_a_file_shares_it_with_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), "f").unwrap();
    let line = format!("'{}' -v --report-file=/dev/stdout f g > out", env!("CARGO_BIN_EXE_rcp"));
    let status = std::process::Command::new("sh").args(["-c", &line]).current_dir(d).status();
    assert!(status.expect("run rcp").success());
    let out = fs::read_to_string(d.join("out")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"'f' -> 'g'"), "{out}");
    assert_eq!(parse_report(&lines[1..].join("\n")).len(), 2, "{out}");
}

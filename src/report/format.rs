//! How records look: GNU's `--debug` line and rcp's strategy line, `--report=text` and
//! `--report=json` records, and the `--stats` summary.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use base64::Engine as _;
use serde_json::{Value, json};

use std::time::Instant;

use super::record::Record;
use crate::engine::{Copied, Strategy};
use crate::error::errno_name;
use crate::quote::quote;

/// Files and bytes per strategy, and the other entries, for `--stats`.
pub(super) struct Stats {
    pub(super) start: Instant,
    pub(super) files: [(u64, u64); 4],
    pub(super) others: u64,
    pub(super) failed: u64,
}

pub(super) fn strategy_index(strategy: Strategy) -> usize {
    Strategy::ALL.iter().position(|&s| s == strategy).unwrap_or(3)
}

/// GNU 9.2+'s `--debug` line: `copy offload: …, reflink: …, sparse detection: …`.
pub(super) fn debug_line(record: &Copied) -> String {
    let tried = |s: Strategy| record.fell_back.iter().any(|f| f.strategy == s);
    let cloned = record.strategy == Strategy::Clone;
    let reflink = if cloned {
        "yes"
    } else if tried(Strategy::Clone) {
        "unsupported"
    } else {
        "avoided"
    };
    let offload = if cloned {
        "unknown"
    } else if record.strategy == Strategy::CopyFileRange {
        "yes"
    } else if tried(Strategy::CopyFileRange) {
        "unsupported"
    } else {
        "avoided"
    };
    let sparse = match (cloned, record.holes, record.zeros) {
        (true, _, _) => "unknown",
        (false, true, true) => "SEEK_HOLE + zeros",
        (false, true, false) => "SEEK_HOLE",
        (false, false, true) => "zeros",
        (false, false, false) => "no",
    };
    format!("copy offload: {offload}, reflink: {reflink}, sparse detection: {sparse}")
}

/// `copy_file_range (fell back from: clone: EOPNOTSUPP)`.
pub(super) fn strategy_line(record: &Copied) -> String {
    format!("{}{}", record.strategy.name(), fallback_suffix(record))
}

/// ` (fell back from: clone: EXDEV, copy_file_range: EXDEV)`, or nothing.
fn fallback_suffix(record: &Copied) -> String {
    if record.fell_back.is_empty() {
        return String::new();
    }
    let reasons: Vec<String> = record
        .fell_back
        .iter()
        .map(|f| {
            let why = f.errno.map_or_else(|| "no data".to_string(), errno_name);
            let known = if f.cached { " (known for this device pair)" } else { "" };
            format!("{}: {why}{known}", f.strategy.name())
        })
        .collect();
    format!(" (fell back from: {})", reasons.join(", "))
}

/// `--report=text`: `copy_file_range 'a' -> 'b' (12 bytes)`, `dir 'a' -> 'b'`, or
/// `failed 'a' -> 'b': MESSAGE`.
pub(super) fn text_record(record: &Record) -> String {
    let names = format!("{} -> {}", quote(&record.source), quote(&record.destination));
    match (&record.error, &record.copied) {
        (Some(error), _) => format!("failed {names}: {error}"),
        (None, Some(copied)) => {
            let holes = if copied.holes { ", holes kept" } else { "" };
            let strategy = copied.strategy.name();
            format!("{strategy} {names} ({} bytes{holes}){}", copied.bytes, fallback_suffix(copied))
        }
        (None, None) => format!("{} {names}", record.kind.name()),
    }
}

/// `--report=json`: one JSON object per record.
pub(super) fn json_record(record: &Record) -> Value {
    let copied = record.copied.as_ref();
    let fell_back: Vec<Value> = copied
        .map(|c| {
            c.fell_back
                .iter()
                .map(|f| {
                    json!({
                        "strategy": f.strategy.name(),
                        "errno": f.errno.map(errno_name),
                        "cached": f.cached,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "source": path_json(record.source.as_os_str()),
        "destination": path_json(record.destination.as_os_str()),
        "kind": record.kind.name(),
        "strategy": copied.map(|c| c.strategy.name()),
        "bytes": copied.map(|c| c.bytes),
        "fell_back": fell_back,
        "holes": copied.is_some_and(|c| c.holes),
        "error": record.error,
    })
}

/// A path as ripgrep's JSON gives one: `{"text": "..."}`, or `{"bytes": "<base64>"}` when it
/// is not UTF-8, so every name round-trips.
fn path_json(path: &OsStr) -> Value {
    match path.to_str() {
        Some(text) => json!({ "text": text }),
        None => {
            json!({ "bytes": base64::engine::general_purpose::STANDARD.encode(path.as_bytes()) })
        }
    }
}

pub(super) fn stats_summary(stats: &Stats) -> String {
    let elapsed = stats.start.elapsed().as_secs_f64();
    let files: u64 = stats.files.iter().map(|f| f.0).sum();
    let bytes: u64 = stats.files.iter().map(|f| f.1).sum();
    let rate = if elapsed > 0.0 { bytes as f64 / elapsed } else { 0.0 };
    let mut out = format!(
        "{files} files, {} in {elapsed:.3} s ({}/s); {} other entries; {} failed\n",
        human(bytes as f64),
        human(rate),
        stats.others,
        stats.failed
    );
    for (strategy, (n, b)) in Strategy::ALL.iter().zip(stats.files) {
        out.push_str(&format!("  {:<16}{n:>9} files {:>12}\n", strategy.name(), human(b as f64)));
    }
    out
}

fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

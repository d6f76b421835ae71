//! How records look: GNU's `--debug` line and rcp's strategy line, `--report=text` and
//! `--report=json` records, and the `--stats` summary.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use base64::Engine as _;
use serde_json::{Value, json};

use std::time::Instant;

use super::record::{Earlier, Entry, Happened, Outcome, Record};
use crate::error::errno_name;
use crate::options::{BasisHow, ReportFormat};
use crate::quote::quote;
use copychain::{Copied, Strategy};

/// The report's schema version (`doc/report.schema.json`): raised when a field changes
/// meaning or goes away, not when one is added.
pub(super) const SCHEMA_VERSION: u32 = 1;

/// What the records written so far add up to: the summary record and `--stats`.
pub struct Tally {
    pub(super) start: Instant,
    /// Records by outcome: copied, skipped, failed.
    pub(super) outcomes: [u64; 3],
    /// Files copied and their bytes, per strategy (in `Strategy::ALL` order).
    pub(super) strategies: [(u64, u64); 4],
    /// Unchanged files taken from an earlier copy: linked, copied from it, left out (by
    /// `BasisHow`), and their bytes.
    pub(super) earlier: [u64; 3],
    pub(super) earlier_bytes: u64,
}

impl Tally {
    pub(super) fn new() -> Tally {
        Tally {
            start: Instant::now(),
            outcomes: [0; 3],
            strategies: [(0, 0); 4],
            earlier: [0; 3],
            earlier_bytes: 0,
        }
    }

    /// Counts an entry as its record will say (no record is built for it).
    pub(super) fn count(&mut self, entry: &Entry) {
        let slot = match entry.happened {
            Happened::Copied => 0,
            Happened::Skipped(_) => 1,
            Happened::Failed(_) | Happened::Damaged(_) | Happened::Said(_) => 2,
        };
        self.outcomes[slot] += 1;
        if let (Happened::Copied, Some(copied)) = (&entry.happened, entry.record) {
            let s = &mut self.strategies[strategy_index(copied.strategy)];
            s.0 += 1;
            s.1 += copied.bytes;
        }
        if let Some(earlier) = entry.earlier.filter(|_| slot < 2) {
            self.earlier[earlier_index(earlier.how)] += 1;
            self.earlier_bytes += earlier.bytes;
        }
    }

    /// Adds `other`'s counts (a job's) to these.
    pub(super) fn add(&mut self, other: &Tally) {
        for (mine, theirs) in self.outcomes.iter_mut().zip(other.outcomes) {
            *mine += theirs;
        }
        for (mine, theirs) in self.strategies.iter_mut().zip(other.strategies) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        for (mine, theirs) in self.earlier.iter_mut().zip(other.earlier) {
            *mine += theirs;
        }
        self.earlier_bytes += other.earlier_bytes;
    }

    /// The counts as numbers (outcomes, then each strategy's files and bytes), to travel
    /// between ranks.
    pub(super) fn words(&self) -> Vec<u64> {
        let strategies = self.strategies.iter().flat_map(|&(files, bytes)| [files, bytes]);
        let earlier = self.earlier.iter().copied().chain([self.earlier_bytes]);
        self.outcomes.iter().copied().chain(strategies).chain(earlier).collect()
    }

    /// The counts `words` gives (missing numbers count 0).
    pub(super) fn from_words(words: &[u64]) -> Tally {
        let at = |i: usize| words.get(i).copied().unwrap_or(0);
        let mut tally = Tally::new();
        tally.outcomes = [at(0), at(1), at(2)];
        for (i, s) in tally.strategies.iter_mut().enumerate() {
            *s = (at(3 + 2 * i), at(4 + 2 * i));
        }
        tally.earlier = [at(11), at(12), at(13)];
        tally.earlier_bytes = at(14);
        tally
    }

    fn files(&self) -> (u64, u64) {
        self.strategies.iter().fold((0, 0), |(f, b), s| (f + s.0, b + s.1))
    }
}

/// The last JSON record: what the entry records add up to, and how rcp ended.
pub fn json_summary(tally: &Tally, exit_status: i32, dry_run: bool) -> Value {
    let (files, bytes) = tally.files();
    let strategies: serde_json::Map<String, Value> = Strategy::ALL
        .iter()
        .zip(tally.strategies)
        .map(|(s, (files, bytes))| (s.name().to_string(), json!({"files": files, "bytes": bytes})))
        .collect();
    let [copied, skipped, failed] = tally.outcomes;
    let mut summary = json!({
        "type": "summary",
        "schema_version": SCHEMA_VERSION,
        "outcomes": {"copied": copied, "skipped": skipped, "failed": failed},
        "files": files,
        "bytes": bytes,
        "strategies": strategies,
        "elapsed_seconds": tally.start.elapsed().as_secs_f64(),
        "interrupted": crate::sys::interrupt::stopped_by().map(|(name, _)| name),
        "exit_status": exit_status,
        "dry_run": dry_run,
    });
    // Only where files were taken from earlier copies (`--link-dest` and its kin).
    if tally.earlier.iter().any(|&n| n > 0) {
        let [linked, copied_from, left_out] = tally.earlier;
        summary["earlier"] = json!({
            "linked": linked,
            "copied": copied_from,
            "left_out": left_out,
            "bytes": tally.earlier_bytes,
        });
    }
    summary
}

/// `; earlier copies: 3 linked, 0 copied from, 1 left out`, or nothing.
fn earlier_summary(tally: &Tally) -> String {
    let [linked, copied, left_out] = tally.earlier;
    if linked + copied + left_out == 0 {
        return String::new();
    }
    format!("; earlier copies: {linked} linked, {copied} copied from, {left_out} left out")
}

/// Where a file taken from an earlier copy is counted (`BasisHow` order: compare, copy,
/// link → left out, copied, linked).
fn earlier_index(how: BasisHow) -> usize {
    match how {
        BasisHow::Link => 0,
        BasisHow::Copy => 1,
        BasisHow::Compare => 2,
    }
}

/// The last `--report=text` line.
pub fn text_summary(tally: &Tally, exit_status: i32, dry_run: bool) -> String {
    let [copied, skipped, failed] = tally.outcomes;
    let dry = if dry_run { "dry run, nothing written: " } else { "" };
    let earlier = earlier_summary(tally);
    format!(
        "summary: {dry}{copied} copied, {skipped} skipped, {failed} failed{earlier}; exit status \
         {exit_status}"
    )
}

pub(super) fn strategy_index(strategy: Strategy) -> usize {
    Strategy::ALL.iter().position(|&s| s == strategy).unwrap_or(3)
}

/// GNU 9.2+'s `--debug` line: `copy offload: …, reflink: …, sparse detection: …`.
pub(super) fn debug_line(record: &Copied, no_reflink: bool) -> String {
    let tried = |s: Strategy| record.fell_back.iter().any(|f| f.strategy == s);
    let cloned = record.strategy == Strategy::Clone && !tried(Strategy::Clone);
    let reflink = if cloned {
        "yes"
    } else if tried(Strategy::Clone) {
        "unsupported"
    } else if no_reflink {
        // Turned off by an option (GNU 9.4: `--sparse=never` means no reflink too).
        "no"
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

/// `copy_file_range (fell back from: clone: EOPNOTSUPP)`; `predicted clone` in a dry run.
pub(super) fn strategy_line(record: &Copied) -> String {
    let predicted = if record.predicted { "predicted " } else { "" };
    if record.none_worked() {
        return format!("{predicted}none ({})", reasons(record));
    }
    format!("{predicted}{}{}", record.strategy.name(), fallback_suffix(record))
}

/// ` (fell back from: clone: EXDEV, copy_file_range: EXDEV)`, or nothing.
fn fallback_suffix(record: &Copied) -> String {
    if record.fell_back.is_empty() {
        return String::new();
    }
    format!(" (fell back from: {})", reasons(record))
}

/// `clone: EXDEV, copy_file_range: EXDEV`: each strategy that gave up, and why.
fn reasons(record: &Copied) -> String {
    let reasons: Vec<String> = record
        .fell_back
        .iter()
        .map(|f| {
            let why = f.errno.map_or_else(|| "no data".to_string(), errno_name);
            let known = if f.cached { " (known for this device pair)" } else { "" };
            format!("{}: {why}{known}", f.strategy.name())
        })
        .collect();
    reasons.join(", ")
}

/// `--report=text`: `copy_file_range 'a' -> 'b' (12 bytes)`, `dir 'a' -> 'b'`, or
/// `failed 'a' -> 'b': MESSAGE`; after `dry run: ` under `--dry-run`.
pub fn text_record(record: &Record) -> String {
    let names = format!("{} -> {}", quote(&record.source), quote(&record.destination));
    let kind = record.kind.map_or("entry", |k| k.name());
    let dry = if record.dry_run { "dry run: " } else { "" };
    let earlier = record.earlier.as_ref();
    let from = earlier.map(|e| format!(", from {}", quote(&e.path))).unwrap_or_default();
    let line = match (&record.outcome, &record.copied) {
        (Outcome::Failed(error), _) => format!("failed {names}: {error}"),
        (Outcome::Skipped(skip), _) => match earlier {
            Some(e) => format!("skipped {kind} {names} ({}, in {})", skip.name(), quote(&e.path)),
            None => format!("skipped {kind} {names} ({})", skip.name()),
        },
        (Outcome::Copied, None) if let Some(e) = earlier => {
            format!("link {names} (from {})", quote(&e.path))
        }
        (Outcome::Copied, Some(copied)) => {
            let notes: String = [
                (copied.holes, ", holes kept"),
                (copied.verified, ", verified"),
                (copied.predicted, ", predicted"),
            ]
            .iter()
            .filter_map(|&(on, note)| on.then_some(note.to_string()))
            .chain(
                (copied.resumed_from > 0)
                    .then(|| format!(", resumed from {}", copied.resumed_from)),
            )
            .chain((copied.pieces > 0).then(|| {
                format!(", {} pieces, {} by other ranks", copied.pieces, copied.pieces_elsewhere)
            }))
            .collect();
            let strategy = copied.strategy.name();
            let bytes = copied.bytes;
            format!("{strategy} {names} ({bytes} bytes{notes}{from}){}", fallback_suffix(copied))
        }
        (Outcome::Copied, None) => format!("{kind} {names}"),
    };
    format!("{dry}{line}")
}

/// A record as the report writes it, in `format`.
pub fn report_line(record: &Record, format: ReportFormat) -> String {
    match format {
        ReportFormat::Text => text_record(record),
        ReportFormat::Json => json_record(record).to_string(),
    }
}

/// `--report=json`: one JSON object per record.
pub fn json_record(record: &Record) -> Value {
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
    let reason = match record.outcome {
        Outcome::Skipped(skip) => Some(skip.name()),
        _ => None,
    };
    let mut entry = json!({
        "type": "entry",
        "outcome": record.outcome.name(),
        "reason": reason,
        "source": path_json(record.source.as_os_str()),
        "destination": path_json(record.destination.as_os_str()),
        "kind": record.kind.map(|k| k.name()),
        "strategy": match (copied, &record.earlier) {
            (None, Some(Earlier { how: BasisHow::Link, .. })) => Some("link"),
            _ => copied.filter(|c| !c.none_worked()).map(|c| c.strategy.name()),
        },
        "bytes": copied.map(|c| c.bytes),
        "fell_back": fell_back,
        "holes": copied.is_some_and(|c| c.holes),
        "verified": copied.is_some_and(|c| c.verified),
        "predicted": copied.is_some_and(|c| c.predicted),
        "resumed_from": copied.map(|c| c.resumed_from).filter(|&n| n > 0),
        "dry_run": record.dry_run,
        "error": record.error().map(ToString::to_string),
        "errno": record.error().and_then(|e| e.errno()).map(errno_name),
    });
    // Only for a file taken from an earlier copy, or left out for one (`--link-dest`...).
    if let Some(earlier) = &record.earlier {
        entry["from"] = path_json(earlier.path.as_os_str());
    }
    // Only for a file cut into pieces several ranks copied (`--chunk-size`).
    if let Some(c) = copied.filter(|c| c.pieces > 0) {
        entry["pieces"] = json!({ "count": c.pieces, "elsewhere": c.pieces_elsewhere });
    }
    entry
}

/// A path: always `{"text": "..."}` (lossily decoded where it must be), and for a name that
/// is not UTF-8 also `"bytes"` (base64 of the exact name), so scripts can always read
/// `.text` and exact tools can round-trip.
fn path_json(path: &OsStr) -> Value {
    match path.to_str() {
        Some(text) => json!({ "text": text }),
        None => json!({
            "text": path.to_string_lossy(),
            "bytes": base64::engine::general_purpose::STANDARD.encode(path.as_bytes()),
        }),
    }
}

/// `--stats`: the summary's figures for people, on stderr.
pub fn stats_summary(tally: &Tally, moved: u64, dry_run: bool) -> String {
    let elapsed = tally.start.elapsed().as_secs_f64();
    let (files, bytes) = tally.files();
    // Throughput is of the data moved: holes kept and prefixes resumed from moved nothing.
    let rate = if elapsed > 0.0 { moved as f64 / elapsed } else { 0.0 };
    let [copied, skipped, failed] = tally.outcomes;
    let mut out = String::from(if dry_run { "dry run, nothing written:\n" } else { "" });
    out += &format!(
        "{} copied ({}) in {elapsed:.3} s ({}/s); {copied} copied, {skipped} skipped, {failed} failed\n",
        plural(files, "file"),
        human(bytes as f64),
        human(rate),
    );
    for (strategy, (n, b)) in Strategy::ALL.iter().zip(tally.strategies) {
        out.push_str(&format!(
            "  {:<16}{:>12} {:>12}\n",
            strategy.name(),
            plural(n, "file"),
            human(b as f64)
        ));
    }
    let [linked, copied_from, left_out] = tally.earlier;
    if linked + copied_from + left_out > 0 {
        out += &format!(
            "from earlier copies: {linked} linked, {copied_from} copied from, {left_out} left out \
             ({} not read from the sources)\n",
            human((tally.earlier_bytes) as f64)
        );
    }
    out
}

/// `1 file`, `2 files`.
fn plural(n: u64, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

/// A byte count for people: `1 byte`, `512 bytes`, `4.9 KiB`.
fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        plural(value.round() as u64, "byte")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

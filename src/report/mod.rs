//! Everything rcp prints: error messages, `-v` lines, `--debug` lines, the per-file
//! `--report` records (text or JSON) and the `--stats` summary. No other module prints.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use rustix::io::Errno;
use serde_json::{Value, json};

pub(crate) mod progress;

use crate::args::options::{Options, ReportFormat};
use crate::engine::{Copied, Strategy};
use crate::error::{Error, UsageError, errno_name};
use crate::quote::quote;

/// What kind of entry a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    /// A hard link (`-l`, or a source linked to one copied earlier).
    HardLink,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::CharDevice => "char",
            Kind::BlockDevice => "block",
            Kind::Socket => "socket",
            Kind::HardLink => "hardlink",
        }
    }
}

/// One finished entry: what it was, what the engine did (files), and the error if it failed.
pub(crate) struct Entry<'a> {
    pub(crate) src: &'a Path,
    pub(crate) dst: &'a Path,
    pub(crate) kind: Kind,
    pub(crate) record: Option<&'a Copied>,
    pub(crate) error: Option<&'a Error>,
}

impl<'a> Entry<'a> {
    /// A finished entry with no engine record and no error.
    pub(crate) fn plain(src: &'a Path, dst: &'a Path, kind: Kind) -> Self {
        Entry { src, dst, kind, record: None, error: None }
    }
}

/// Files and bytes per strategy, and the other entries, for `--stats`.
struct Stats {
    start: Instant,
    files: [(u64, u64); 4],
    others: u64,
    failed: u64,
}

/// One line of output, kept in order with the others.
enum Line {
    Out(String),
    Err(String),
    Record(String),
}

/// A place in the output order: lines ready to print, or a file still being copied by a
/// worker, whose lines take this place when it completes.
enum Slot {
    Ready(Vec<Line>),
    Pending(u64),
}

/// The only printer. With workers copying files in parallel, every line still comes out in
/// the order a sequential copy would print it: a file in flight holds its place
/// (`pending`), and what follows waits behind it (`complete` releases it).
pub(crate) struct Reporter {
    program: String,
    verbose: bool,
    debug: bool,
    stdout: io::Stdout,
    stdout_error: Cell<Option<Errno>>,
    closed_stdout: bool,
    records: RefCell<Option<(ReportFormat, Box<dyn Write>)>>,
    stats: Option<Stats>,
    queue: RefCell<VecDeque<Slot>>,
    /// The progress bar, hidden while a line is printed.
    bar: Option<indicatif::ProgressBar>,
}

impl Reporter {
    /// A reporter for `opts`; fails only if `--report-file` cannot be created.
    pub(crate) fn new(program: String, opts: &Options) -> Result<Reporter, (String, io::Error)> {
        let records = match (opts.report, &opts.report_file) {
            (None, _) => None,
            (Some(format), None) => Some((format, Box::new(io::stdout()) as Box<dyn Write>)),
            (Some(format), Some(path)) => {
                let file = File::create(path)
                    .map_err(|e| (format!("cannot create report file {}", quote(path)), e))?;
                Some((format, Box::new(BufWriter::new(file)) as Box<dyn Write>))
            }
        };
        let stats = opts.stats.then(|| Stats {
            start: Instant::now(),
            files: [(0, 0); 4],
            others: 0,
            failed: 0,
        });
        Ok(Reporter {
            program,
            verbose: opts.verbose,
            debug: opts.debug,
            stdout: io::stdout(),
            stdout_error: Cell::new(None),
            closed_stdout: false,
            records: RefCell::new(records),
            stats,
            queue: RefCell::new(VecDeque::new()),
            bar: None,
        })
    }

    /// Prints around `bar`, so lines never tear it.
    pub(crate) fn with_bar(mut self, bar: indicatif::ProgressBar) -> Self {
        self.bar = Some(bar);
        self
    }

    /// Standard output was closed when rcp started: every write to it is an error.
    pub(crate) fn stdout_closed(mut self, closed: bool) -> Self {
        self.closed_stdout = closed;
        self
    }

    /// The program name as invoked, for messages.
    pub(crate) fn program(&self) -> &str {
        &self.program
    }

    /// `rcp: MESSAGE` on stderr.
    pub(crate) fn error(&self, error: &Error) {
        self.message(&error.to_string());
    }

    pub(crate) fn message(&self, text: &str) {
        self.push(Line::Err(text.to_string()));
    }

    /// A usage error, with GNU's hint line where GNU prints one.
    pub(crate) fn usage(&self, error: &UsageError) {
        let _ = self.stdout.lock().flush();
        usage(&self.program, error);
    }

    /// The `-v` line, printed as GNU does: before the entry is copied, naming the backup.
    pub(crate) fn starting(&self, src: &Path, dst: &Path, backup: Option<&Path>) {
        if self.verbose {
            let backup = backup.map(|b| format!(" (backup: {})", quote(b))).unwrap_or_default();
            self.push(Line::Out(format!("{} -> {}{backup}", quote(src), quote(dst))));
        }
    }

    /// `-v`: `removed 'x'`, when an existing destination was unlinked.
    pub(crate) fn removed(&self, dst: &Path) {
        if self.verbose {
            self.push(Line::Out(format!("removed {}", quote(dst))));
        }
    }

    /// `-v`: a backup put back after the copy failed.
    pub(crate) fn unbackup(&self, backup: &Path, dst: &Path) {
        if self.verbose {
            self.push(Line::Out(format!("{} -> {} (unbackup)", quote(backup), quote(dst))));
        }
    }

    /// Any other `-v` line (`--parents` directories).
    pub(crate) fn verbose_line(&self, text: &str) {
        if self.verbose {
            self.push(Line::Out(text.to_string()));
        }
    }

    /// Records a finished entry: the error message if it failed, `--debug` lines, a
    /// `--report` record, and `--stats` counts.
    pub(crate) fn finished(&mut self, entry: Entry) {
        for line in self.entry_lines(&entry) {
            self.push(line);
        }
    }

    /// Holds the place of file `seq`, being copied by a worker.
    pub(crate) fn pending(&self, seq: u64) {
        self.queue.borrow_mut().push_back(Slot::Pending(seq));
    }

    /// Job `seq` is done: its files' lines take its place (a file's `-v` line first if the
    /// worker started it), and whatever was waiting is printed.
    pub(crate) fn complete(&mut self, seq: u64, files: Vec<(bool, &[String], Entry)>) {
        let mut lines = Vec::new();
        for (started, messages, entry) in files {
            if started && self.verbose {
                lines.push(Line::Out(format!("{} -> {}", quote(entry.src), quote(entry.dst))));
            }
            lines.extend(messages.iter().map(|m| Line::Err(m.clone())));
            lines.extend(self.entry_lines(&entry));
        }
        let mut queue = self.queue.borrow_mut();
        if let Some(slot) = queue.iter_mut().find(|s| matches!(s, Slot::Pending(n) if *n == seq)) {
            *slot = Slot::Ready(lines);
        }
        drop(queue);
        self.release();
    }

    /// How many places are held or waiting (for back-pressure on the walk).
    pub(crate) fn backlog(&self) -> usize {
        self.queue.borrow().len()
    }

    fn entry_lines(&mut self, entry: &Entry) -> Vec<Line> {
        let mut lines = Vec::new();
        // A file given up because of SIGINT/SIGTERM is told about once, at the end.
        let cancelled =
            |e: &&Error| e.errno == Some(Errno::CANCELED) && crate::sys::interrupt::stopping();
        if let Some(error) =
            entry.error.filter(|e| e.op != crate::error::Op::Reported && !cancelled(e))
        {
            lines.push(Line::Err(error.to_string()));
        }
        if let (true, Some(record)) = (self.debug, entry.record) {
            lines.push(Line::Out(debug_line(record)));
            lines.push(Line::Out(format!("strategy: {}", strategy_line(record))));
        }
        if let Some((format, _)) = &*self.records.borrow() {
            lines.push(Line::Record(match format {
                ReportFormat::Text => text_record(entry),
                ReportFormat::Json => json_record(entry).to_string(),
            }));
        }
        if let Some(stats) = &mut self.stats {
            match (entry.error, entry.record) {
                (Some(_), _) => stats.failed += 1,
                (None, Some(record)) => {
                    let slot = &mut stats.files[strategy_index(record.strategy)];
                    slot.0 += 1;
                    slot.1 += record.bytes;
                }
                (None, None) => stats.others += 1,
            }
        }
        lines
    }

    /// Prints `line` now, or queues it behind files still in flight.
    fn push(&self, line: Line) {
        let mut queue = self.queue.borrow_mut();
        if queue.is_empty() {
            drop(queue);
            return self.write(line);
        }
        match queue.back_mut() {
            Some(Slot::Ready(lines)) => lines.push(line),
            _ => queue.push_back(Slot::Ready(vec![line])),
        }
    }

    /// Prints the front of the queue up to the first file still in flight.
    fn release(&self) {
        loop {
            let mut queue = self.queue.borrow_mut();
            match queue.front() {
                Some(Slot::Ready(_)) => {
                    let Some(Slot::Ready(lines)) = queue.pop_front() else { unreachable!() };
                    drop(queue);
                    lines.into_iter().for_each(|line| self.write(line));
                }
                _ => return,
            }
        }
    }

    fn write(&self, line: Line) {
        match &self.bar {
            Some(bar) => bar.suspend(|| self.write_now(line)),
            None => self.write_now(line),
        }
    }

    fn write_now(&self, line: Line) {
        match line {
            Line::Out(text) => self.line(format_args!("{text}")),
            Line::Err(text) => {
                let _ = self.stdout.lock().flush();
                message(&self.program, &text);
            }
            Line::Record(text) => {
                if let Some((_, out)) = &mut *self.records.borrow_mut() {
                    let _ = writeln!(out, "{text}");
                }
            }
        }
    }

    /// Flushes the outputs and prints the `--stats` summary. Returns false if standard
    /// output or the report could not be written (GNU's `write error`, exit status 1).
    pub(crate) fn finish(&mut self) -> bool {
        self.release();
        let mut ok = true;
        if let Some((_, out)) = &mut *self.records.borrow_mut()
            && let Err(e) = out.flush()
        {
            message(&self.program, &format!("error writing report: {e}"));
            ok = false;
        }
        if let Err(e) = self.stdout.lock().flush() {
            self.note_write_error(&e);
        }
        if let Some(errno) = self.stdout_error.get() {
            message(&self.program, &format!("write error: {}", crate::error::strerror(errno)));
            ok = false;
        }
        if let Some(stats) = &self.stats {
            let _ = io::stderr().lock().write_all(stats_summary(stats).as_bytes());
        }
        ok
    }

    /// One line on standard output; the first write error is kept for `finish`.
    fn line(&self, args: std::fmt::Arguments) {
        if self.closed_stdout {
            return self
                .note_write_error(&io::Error::from_raw_os_error(Errno::BADF.raw_os_error()));
        }
        if let Err(e) = writeln!(self.stdout.lock(), "{args}") {
            self.note_write_error(&e);
        }
    }

    fn note_write_error(&self, e: &io::Error) {
        if self.stdout_error.get().is_none() {
            self.stdout_error.set(Some(Errno::from_io_error(e).unwrap_or(Errno::IO)));
        }
    }
}

/// Prints `text` on standard output (help, version, generated files); 1 and GNU's `write
/// error` message if it cannot be written.
pub(crate) fn print_stdout(program: &str, text: &[u8]) -> i32 {
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            let errno = Errno::from_io_error(&e).unwrap_or(Errno::IO);
            message(program, &format!("write error: {}", crate::error::strerror(errno)));
            1
        }
    }
}

/// `PROGRAM: TEXT` on stderr, for errors before a `Reporter` exists.
pub(crate) fn message(program: &str, text: &str) {
    let _ = writeln!(io::stderr().lock(), "{program}: {text}");
}

/// A usage error on stderr: the message, then `Try 'PROGRAM --help'` when `hint` is set.
pub(crate) fn usage(program: &str, error: &UsageError) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{program}: {}", error.message);
    if error.hint {
        let _ = writeln!(err, "Try '{program} --help' for more information.");
    }
}

fn strategy_index(strategy: Strategy) -> usize {
    Strategy::ALL.iter().position(|&s| s == strategy).unwrap_or(3)
}

/// GNU 9.2+'s `--debug` line: `copy offload: …, reflink: …, sparse detection: …`.
fn debug_line(record: &Copied) -> String {
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
fn strategy_line(record: &Copied) -> String {
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

fn text_record(entry: &Entry) -> String {
    let names = format!("{} -> {}", quote(entry.src), quote(entry.dst));
    match (entry.error, entry.record) {
        (Some(error), _) => format!("failed {names}: {error}"),
        (None, Some(record)) => {
            let holes = if record.holes { ", holes kept" } else { "" };
            let strategy = record.strategy.name();
            format!("{strategy} {names} ({} bytes{holes}){}", record.bytes, fallback_suffix(record))
        }
        (None, None) => format!("{} {names}", entry.kind.name()),
    }
}

fn json_record(entry: &Entry) -> Value {
    let record = entry.record;
    let fell_back: Vec<Value> = record
        .map(|r| {
            r.fell_back
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
        "source": path_json(entry.src.as_os_str()),
        "destination": path_json(entry.dst.as_os_str()),
        "kind": entry.kind.name(),
        "strategy": record.map(|r| r.strategy.name()),
        "bytes": record.map(|r| r.bytes),
        "fell_back": fell_back,
        "holes": record.is_some_and(|r| r.holes),
        "error": entry.error.map(|e| e.to_string()),
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

fn stats_summary(stats: &Stats) -> String {
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

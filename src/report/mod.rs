//! Everything rcp prints: error messages, `-v` lines, `--debug` lines, the per-entry
//! `--report` records (text or JSON) and the `--stats` summary, in the order a sequential
//! copy would print them; or, for the library, the same records and messages sent to the
//! caller. No other module prints.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use rustix::io::Errno;

mod format;
pub(crate) mod progress;
mod record;

pub(crate) use record::{Entry, Happened};
pub use record::{Kind, Outcome, Record, Skip};

use crate::args::options::{Options, ReportFormat};
use crate::error::{Error, UsageError};
use crate::quote::quote;
use format::{
    Tally, debug_line, json_record, json_summary, stats_summary, strategy_line, text_record,
    text_summary,
};

/// One line of output, kept in order with the others.
enum Line {
    Out(String),
    Err(String),
    /// A `--report` line.
    Record(String),
    /// A record for the library's caller.
    Entry(Box<Record>),
}

/// Where finished entries' records go.
enum Records {
    /// `--report`: text or JSON lines on standard output, or on `--report-file` (`file`).
    Stream { format: ReportFormat, out: Box<dyn Write>, file: Option<PathBuf> },
    /// The library: each record, and every message not about one entry, to the caller.
    Library(Sender<Event>),
}

/// What the library's caller is sent, in order.
pub(crate) enum Event {
    Record(Record),
    /// A message rcp would print on stderr (without the program name) that no record
    /// carries: warnings, attribute failures, `cannot handle signals`.
    Message(String),
}

/// A place in the output order: lines ready to print, or an entry not finished yet — a
/// job with the workers (numbered by the scheduler), or a directory whose attributes wait
/// for them (numbered from `HELD`) — whose lines take this place when it is.
enum Slot {
    Ready(Vec<Line>),
    Pending(u64),
}

/// Where the numbers of held directory places start (jobs count up from 1).
const HELD: u64 = 1 << 62;

/// The only printer. With workers copying files in parallel, every line still comes out in
/// the order a sequential copy would print it: a file in flight holds its place
/// (`pending`), and what follows waits behind it (`complete` releases it).
pub(crate) struct Reporter {
    program: String,
    verbose: bool,
    debug: bool,
    stats: bool,
    /// `-v` and `--debug` lines go to stderr: the JSON report has standard output.
    lines_to_stderr: bool,
    stdout: io::Stdout,
    /// The first error writing standard output (`-v` lines or the report).
    stdout_error: Cell<Option<Errno>>,
    closed_stdout: bool,
    records: RefCell<Option<Records>>,
    /// The first error writing `--report-file`.
    report_error: Cell<Option<Errno>>,
    tally: Tally,
    held: Cell<u64>,
    queue: RefCell<VecDeque<Slot>>,
    /// The progress bar, hidden while a line is printed.
    bar: Option<indicatif::ProgressBar>,
}

impl Reporter {
    /// A reporter for `opts`; fails only if `--report-file` cannot be created.
    pub(crate) fn new(program: String, opts: &Options) -> Result<Reporter, (String, io::Error)> {
        let records = match (opts.report, &opts.report_file) {
            (None, _) => None,
            (Some(format), None) => {
                Some(Records::Stream { format, out: Box::new(io::stdout()), file: None })
            }
            (Some(format), Some(path)) => {
                let file = File::create(path)
                    .map_err(|e| (format!("cannot create report file {}", quote(path)), e))?;
                let out = Box::new(BufWriter::new(file));
                Some(Records::Stream { format, out, file: Some(path.clone()) })
            }
        };
        let json_on_stdout = opts.report == Some(ReportFormat::Json) && opts.report_file.is_none();
        let mut reporter = Reporter::quiet(program, records);
        reporter.verbose = opts.verbose;
        reporter.debug = opts.debug;
        reporter.stats = opts.stats;
        reporter.lines_to_stderr = json_on_stdout;
        Ok(reporter)
    }

    /// The library's reporter: nothing is printed; records and messages go to `events`.
    pub(crate) fn library(events: Sender<Event>) -> Reporter {
        Reporter::quiet("rcp".into(), Some(Records::Library(events)))
    }

    /// A reporter that prints no `-v`, `--debug` or `--stats` lines (until told to).
    fn quiet(program: String, records: Option<Records>) -> Reporter {
        Reporter {
            program,
            verbose: false,
            debug: false,
            stats: false,
            lines_to_stderr: false,
            stdout: io::stdout(),
            stdout_error: Cell::new(None),
            closed_stdout: false,
            records: RefCell::new(records),
            report_error: Cell::new(None),
            tally: Tally::new(),
            held: Cell::new(HELD),
            queue: RefCell::new(VecDeque::new()),
            bar: None,
        }
    }

    fn for_library(&self) -> bool {
        matches!(*self.records.borrow(), Some(Records::Library(_)))
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

    /// A `--debug` line about the run (not about one entry's copy).
    pub(crate) fn debug(&self, text: &str) {
        if self.debug {
            self.push(Line::Out(text.to_string()));
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
        self.place(seq, lines);
    }

    /// Puts `lines` in the place held for `id`, and prints what is ready.
    fn place(&self, id: u64, lines: Vec<Line>) {
        let mut queue = self.queue.borrow_mut();
        if let Some(slot) = queue.iter_mut().find(|s| matches!(s, Slot::Pending(n) if *n == id)) {
            *slot = Slot::Ready(lines);
        }
        drop(queue);
        self.release();
    }

    /// Holds a place for an entry finished later (a directory whose attributes wait for
    /// the workers); `fill` gives it its lines.
    pub(crate) fn hold(&self) -> u64 {
        let id = self.held.get();
        self.held.set(id + 1);
        self.pending(id);
        id
    }

    /// The held entry `id` is finished.
    pub(crate) fn fill(&mut self, id: u64, entry: Entry) {
        let lines = self.entry_lines(&entry);
        self.place(id, lines);
    }

    /// How many places are held or waiting (for back-pressure on the walk).
    pub(crate) fn backlog(&self) -> usize {
        self.queue.borrow().len()
    }

    /// An entry's lines: its error (unless said already, or it was given up because rcp
    /// was told to stop: that is told once, at the end), `--debug` lines, its record.
    fn entry_lines(&mut self, entry: &Entry) -> Vec<Line> {
        let mut lines = Vec::new();
        let cancelled =
            |e: &&Error| e.errno == Some(Errno::CANCELED) && crate::sys::interrupt::stopping();
        // The library's caller finds an entry's error in its record.
        if let Some(error) =
            entry.error().filter(|e| e.op != crate::error::Op::Reported && !cancelled(e))
            && !self.for_library()
        {
            lines.push(Line::Err(error.to_string()));
        }
        if matches!(entry.happened, Happened::Damaged(_)) && !self.for_library() {
            lines.push(Line::Err(format!("{} is incomplete", quote(entry.dst))));
        }
        if let (true, Some(record)) = (self.debug, entry.record) {
            lines.push(Line::Out(debug_line(record)));
            lines.push(Line::Out(format!("strategy: {}", strategy_line(record))));
        }
        self.tally.count(entry);
        match &*self.records.borrow() {
            Some(Records::Stream { format: ReportFormat::Text, .. }) => {
                lines.push(Line::Record(text_record(&Record::of(entry))));
            }
            Some(Records::Stream { format: ReportFormat::Json, .. }) => {
                lines.push(Line::Record(json_record(&Record::of(entry)).to_string()));
            }
            Some(Records::Library(_)) => lines.push(Line::Entry(Box::new(Record::of(entry)))),
            None => {}
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
        let mut records = self.records.borrow_mut();
        match (line, &mut *records) {
            // The caller may have stopped listening: the copy goes on regardless.
            (Line::Err(text), Some(Records::Library(events))) => {
                let _ = events.send(Event::Message(text));
            }
            (Line::Entry(record), Some(Records::Library(events))) => {
                let _ = events.send(Event::Record(*record));
            }
            (Line::Out(_) | Line::Record(_), Some(Records::Library(_))) => {}
            (Line::Out(text), _) if self.lines_to_stderr => {
                let _ = writeln!(io::stderr().lock(), "{text}");
            }
            (Line::Out(text), _) => self.line(format_args!("{text}")),
            (Line::Err(text), _) => {
                let _ = self.stdout.lock().flush();
                message(&self.program, &text);
            }
            (Line::Record(text), Some(Records::Stream { out, file, .. })) => {
                let slot = if file.is_some() { &self.report_error } else { &self.stdout_error };
                if slot.get().is_none()
                    && let Err(e) = writeln!(out, "{text}")
                {
                    slot.set(Some(Errno::from_io_error(&e).unwrap_or(Errno::IO)));
                }
            }
            (Line::Record(_) | Line::Entry(_), _) => {}
        }
    }

    /// Writes the summary record, flushes the outputs and prints `--stats`. Returns the
    /// status rcp exits with: `status`, or 1 if standard output or the report could not be
    /// written (GNU's `write error: ...`, said once, at the end).
    pub(crate) fn finish(&mut self, status: i32) -> i32 {
        self.release();
        let failed_writes =
            || self.stdout_error.get().is_some() || self.report_error.get().is_some();
        let mut status = if status == 0 && failed_writes() { 1 } else { status };
        let last = match &*self.records.borrow() {
            Some(Records::Stream { format: ReportFormat::Json, .. }) => {
                Some(json_summary(&self.tally, status).to_string())
            }
            Some(Records::Stream { format: ReportFormat::Text, .. }) => {
                Some(text_summary(&self.tally, status))
            }
            _ => None,
        };
        if let Some(last) = last {
            self.write_now(Line::Record(last));
        }
        if let Some(Records::Stream { out, file, .. }) = &mut *self.records.borrow_mut()
            && let Err(e) = out.flush()
        {
            let slot = if file.is_some() { &self.report_error } else { &self.stdout_error };
            slot.set(slot.get().or(Some(Errno::from_io_error(&e).unwrap_or(Errno::IO))));
        }
        if let Err(e) = self.stdout.lock().flush() {
            self.note_write_error(&e);
        }
        if let Some(errno) = self.stdout_error.get() {
            message(&self.program, &format!("write error: {}", crate::error::strerror(errno)));
        }
        if let (Some(errno), Some(Records::Stream { file: Some(path), .. })) =
            (self.report_error.get(), &*self.records.borrow())
        {
            let text = format!("error writing {}: {}", quote(path), crate::error::strerror(errno));
            message(&self.program, &text);
        }
        if status == 0 && failed_writes() {
            status = 1;
        }
        if self.stats {
            let _ = io::stderr().lock().write_all(stats_summary(&self.tally).as_bytes());
        }
        status
    }

    /// One line on standard output; the first write error is kept for `finish` (and no more
    /// is written after it).
    fn line(&self, args: std::fmt::Arguments) {
        if self.stdout_error.get().is_some() {
            return;
        }
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

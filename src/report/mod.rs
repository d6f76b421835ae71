//! Everything rcp prints: error messages, `-v` lines, `--debug` lines, the per-entry
//! `--report` records (text or JSON) and the `--stats` summary, in the order a sequential
//! copy would print them; or, for the library, the same records and messages sent to the
//! caller. No other module prints.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::Instant;

use rustix::io::Errno;

mod format;
pub(crate) mod progress;
mod record;

pub(crate) use record::Entry;
pub use record::{Kind, Record};

use crate::args::options::{Options, ReportFormat};
use crate::error::{Error, UsageError};
use crate::quote::quote;
use format::{
    Stats, debug_line, json_record, stats_summary, strategy_index, strategy_line, text_record,
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
    /// `--report`: text or JSON lines on a stream.
    Stream(ReportFormat, Box<dyn Write>),
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
    records: RefCell<Option<Records>>,
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
            (Some(format), None) => Some(Records::Stream(format, Box::new(io::stdout()))),
            (Some(format), Some(path)) => {
                let file = File::create(path)
                    .map_err(|e| (format!("cannot create report file {}", quote(path)), e))?;
                Some(Records::Stream(format, Box::new(BufWriter::new(file))))
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

    /// The library's reporter: nothing is printed; records and messages go to `events`.
    pub(crate) fn library(events: Sender<Event>) -> Reporter {
        Reporter {
            program: "rcp".into(),
            verbose: false,
            debug: false,
            stdout: io::stdout(),
            stdout_error: Cell::new(None),
            closed_stdout: false,
            records: RefCell::new(Some(Records::Library(events))),
            stats: None,
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
        // The library's caller finds an entry's error in its record.
        if let Some(error) =
            entry.error.filter(|e| e.op != crate::error::Op::Reported && !cancelled(e))
            && !self.for_library()
        {
            lines.push(Line::Err(error.to_string()));
        }
        if let (true, Some(record)) = (self.debug, entry.record) {
            lines.push(Line::Out(debug_line(record)));
            lines.push(Line::Out(format!("strategy: {}", strategy_line(record))));
        }
        match &*self.records.borrow() {
            Some(Records::Stream(format, _)) => {
                let record = Record::of(entry);
                lines.push(Line::Record(match format {
                    ReportFormat::Text => text_record(&record),
                    ReportFormat::Json => json_record(&record).to_string(),
                }));
            }
            Some(Records::Library(_)) => lines.push(Line::Entry(Box::new(Record::of(entry)))),
            None => {}
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
            (Line::Out(text), _) => self.line(format_args!("{text}")),
            (Line::Err(text), _) => {
                let _ = self.stdout.lock().flush();
                message(&self.program, &text);
            }
            (Line::Record(text), Some(Records::Stream(_, out))) => {
                let _ = writeln!(out, "{text}");
            }
            (Line::Record(_) | Line::Entry(_), _) => {}
        }
    }

    /// Flushes the outputs and prints the `--stats` summary. Returns false if standard
    /// output or the report could not be written (GNU's `write error`, exit status 1).
    pub(crate) fn finish(&mut self) -> bool {
        self.release();
        let mut ok = true;
        if let Some(Records::Stream(_, out)) = &mut *self.records.borrow_mut()
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

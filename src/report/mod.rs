//! Everything rcp prints: error messages, `-v` lines, `--debug` lines, the per-entry
//! `--report` records (text or JSON) and the `--stats` summary, in the order a sequential
//! copy would print them; or, for the library, the same records and messages sent to the
//! caller. No other module prints.
//!
//! The reporter is shared: the walk and every worker print through it, each line as soon
//! as its entry and every entry before it are finished (one lock per line batch).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rustix::io::Errno;

pub(crate) mod clash;
mod format;
mod place;
pub(crate) mod progress;
mod record;
pub(crate) mod totals;

pub(crate) use record::{Entry, Happened};
pub use record::{Kind, Outcome, Record, Skip};

use crate::args::options::{Options, ReportFormat};
use crate::error::{Error, UsageError};
use crate::quote::quote;
use copychain::{Progress, Reflink, Sparse};
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
    Stream {
        format: ReportFormat,
        out: Box<dyn Write + Send>,
        file: Option<PathBuf>,
        /// A report file written under a temporary name, put in place at the end.
        placed: Option<place::Placed>,
    },
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
/// for them (numbered from `HELD`) — whose lines wait in `State::waiting` until the place
/// reaches the front.
enum Slot {
    Ready(Vec<Line>),
    Pending(u64),
}

/// What an entry not first in line has printed so far.
#[derive(Default)]
struct Waiting {
    lines: Vec<Line>,
    done: bool,
}

/// What a finished entry prints besides its error, fixed when the reporter is made (so a
/// worker can make an entry's lines without the lock).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// No record: terminal output only.
    Plain,
    Text,
    Json,
    /// Records and messages go to the library's caller.
    Library,
}

/// What one job's entries add up to, counted by the worker and added to the run's tally
/// once the job is done (one lock per job, not per entry, for entries that print nothing).
pub(crate) struct JobTally(RefCell<Tally>);

/// Lines a job's walk may keep waiting behind the front before it waits itself.
const WAIT_CAP: usize = 4096;

/// Where the numbers of held directory places start (jobs count up from 1).
const HELD: u64 = 1 << 62;

/// The only printer. With workers copying files in parallel, every line still comes out in
/// the order a sequential copy would print it: a job in flight holds its place
/// (`pending`), its files' lines go out as they finish while it is first in line, and
/// what follows waits behind it until it is done.
pub(crate) struct Reporter {
    program: String,
    verbose: bool,
    debug: bool,
    /// `--reflink=never` or `--sparse=never`: `--debug` says `reflink: no`, as GNU does.
    no_reflink: bool,
    /// `--dry-run`: every record says so.
    dry_run: bool,
    shape: Shape,
    state: Mutex<State>,
    /// Signalled when a place is finished while a job's walk waits (`State::blocked`).
    moved: Condvar,
    /// What the run's copies count (the bar, status lines and `--stats` read it).
    progress: Arc<Progress>,
}

/// The printer's state, behind the reporter's lock.
struct State {
    program: String,
    stats: bool,
    /// `--dry-run`: the summary and `--stats` say so.
    dry_run: bool,
    /// `-v` and `--debug` lines go to stderr: the JSON report has standard output.
    lines_to_stderr: bool,
    stdout: io::Stdout,
    /// The first error writing standard output (`-v` lines or the report).
    stdout_error: Option<Errno>,
    closed_stdout: bool,
    records: Option<Records>,
    /// The first error writing `--report-file`.
    report_error: Option<Errno>,
    tally: Tally,
    held: u64,
    queue: VecDeque<Slot>,
    /// The lines of pending places not first in line, by place.
    waiting: HashMap<u64, Waiting>,
    /// Job walks waiting for their place to reach the front.
    blocked: usize,
    /// The progress bar, hidden while a line is printed.
    bar: Option<indicatif::ProgressBar>,
    /// What the run's copies count (`--stats`' rate is of the bytes moved).
    progress: Arc<Progress>,
    /// Errors printed that fail the run without failing an entry's record (an operand's
    /// `--parents` directories, a directory that cannot be read, an attribute GNU does
    /// not require): with the failed records, what makes the exit status 1.
    failures: u64,
}

impl Reporter {
    /// A reporter for `opts`; fails only if `--report-file` cannot be created.
    pub(crate) fn new(program: String, opts: &Options) -> Result<Reporter, (String, io::Error)> {
        let records = match (opts.report, &opts.report_file) {
            (None, _) => None,
            (Some(format), None) => {
                let out = Box::new(io::stdout());
                Some(Records::Stream { format, out, file: None, placed: None })
            }
            (Some(format), Some(path)) => {
                let (file, placed) = place::open(path)
                    .map_err(|e| (format!("cannot create report file {}", quote(path)), e))?;
                let out = Box::new(BufWriter::new(file));
                Some(Records::Stream { format, out, file: Some(path.clone()), placed })
            }
        };
        let json_on_stdout = opts.report == Some(ReportFormat::Json) && opts.report_file.is_none();
        let mut state = State::quiet(program, records);
        state.stats = opts.stats;
        state.dry_run = opts.dry_run;
        state.lines_to_stderr = json_on_stdout;
        let policy = opts.policy;
        let no_reflink = policy.reflink == Reflink::Never || policy.sparse == Sparse::Never;
        Ok(Reporter { no_reflink, ..Reporter::of(state, opts.verbose, opts.debug) })
    }

    /// The library's reporter: nothing is printed; records and messages go to `events`.
    pub(crate) fn library(events: Sender<Event>, opts: &Options) -> Reporter {
        let mut state = State::quiet("rcp".into(), Some(Records::Library(events)));
        state.dry_run = opts.dry_run;
        Reporter::of(state, false, false)
    }

    /// The reporter printing through `state`, with `-v` and `--debug` lines or without.
    fn of(state: State, verbose: bool, debug: bool) -> Reporter {
        let program = state.program.clone();
        let shape = match &state.records {
            None => Shape::Plain,
            Some(Records::Stream { format: ReportFormat::Text, .. }) => Shape::Text,
            Some(Records::Stream { format: ReportFormat::Json, .. }) => Shape::Json,
            Some(Records::Library(_)) => Shape::Library,
        };
        let dry_run = state.dry_run;
        let progress = Arc::clone(&state.progress);
        let state = Mutex::new(state);
        let no_reflink = false;
        Reporter {
            program,
            verbose,
            debug,
            no_reflink,
            dry_run,
            shape,
            state,
            moved: Condvar::new(),
            progress,
        }
    }

    /// The counters the run's copies add to.
    pub(crate) fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// The printer, locked. A thread that panicked while printing leaves it usable: the
    /// copy's other lines still go out.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Prints around `bar`, so lines never tear it (`None`: the bar is gone).
    pub(crate) fn set_bar(&self, bar: Option<indicatif::ProgressBar>) {
        self.state().bar = bar;
    }

    /// Standard output was closed when rcp started: every write to it is an error.
    pub(crate) fn stdout_closed(mut self, closed: bool) -> Self {
        self.state.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).closed_stdout =
            closed;
        self
    }

    /// A usage error, with GNU's hint line where GNU prints one.
    pub(crate) fn usage(&self, error: &UsageError) {
        let state = self.state();
        let _ = state.stdout.lock().flush();
        usage(&state.program, error);
    }

    /// The printer for the walk's own entries, in sequence.
    pub(crate) fn printer(&self) -> Printer<'_> {
        Printer { reporter: self, job: None }
    }

    /// The printer for job `seq` (run by a worker, or by the walk while the queue is
    /// full): its lines go to the job's place, its counts to `tally` until `job_done`.
    pub(crate) fn job_printer<'r>(&'r self, seq: u64, tally: &'r JobTally) -> Printer<'r> {
        Printer { reporter: self, job: Some(JobPlace { seq, tally, wait: false }) }
    }

    /// Holds the place of job `seq`, about to go to a worker.
    pub(crate) fn pending(&self, seq: u64) {
        self.state().queue.push_back(Slot::Pending(seq));
    }

    /// A job starts: its count.
    pub(crate) fn job_tally(&self) -> JobTally {
        JobTally(RefCell::new(Tally::new()))
    }

    /// Job `seq` is done: its count joins the run's, and what was waiting behind it is
    /// printed.
    pub(crate) fn job_done(&self, seq: u64, tally: JobTally) {
        let mut state = self.state();
        state.tally.add(&tally.0.into_inner());
        state.add(seq, Vec::new(), true);
        self.wake(&state);
    }

    /// Wakes the job walks waiting for their place to reach the front (`Printer::put`),
    /// if any: a place was just finished.
    fn wake(&self, state: &State) {
        if state.blocked > 0 {
            self.moved.notify_all();
        }
    }

    /// An entry's lines: its error (unless said already, or it was given up because rcp
    /// was told to stop: that is told once, at the end), `--debug` lines, its record.
    fn entry_lines(&self, entry: &Entry) -> Vec<Line> {
        let mut lines = Vec::new();
        let library = self.shape == Shape::Library;
        let cancelled =
            |e: &&Error| e.errno == Some(Errno::CANCELED) && crate::sys::interrupt::stopping();
        // The library's caller finds an entry's error in its record.
        if let Some(error) =
            entry.error().filter(|e| e.op != crate::error::Op::Reported && !cancelled(e))
            && !library
        {
            lines.push(Line::Err(error.to_string()));
        }
        if matches!(entry.happened, Happened::Damaged(_)) && !library {
            lines.push(Line::Err(format!("{} is incomplete", quote(entry.dst))));
        }
        // GNU 9.4's `--debug`: a destination left alone by -n, -u or --update says so.
        if self.debug
            && !library
            && matches!(entry.happened, Happened::Skipped(Skip::Exists | Skip::NotNewer))
        {
            lines.push(Line::Out(format!("skipped {}", quote(entry.dst))));
        }
        if let (true, Some(record)) = (self.debug, entry.record) {
            lines.push(Line::Out(debug_line(record, self.no_reflink)));
            lines.push(Line::Out(format!("strategy: {}", strategy_line(record))));
        }
        let record = || Record { dry_run: self.dry_run, ..Record::of(entry) };
        match self.shape {
            Shape::Text => lines.push(Line::Record(text_record(&record()))),
            Shape::Json => lines.push(Line::Record(json_record(&record()).to_string())),
            Shape::Library => lines.push(Line::Entry(Box::new(record()))),
            Shape::Plain => {}
        }
        lines
    }

    /// Whether the run has failed so far: an entry's record says failed, or an error was
    /// printed that fails the run.
    pub(crate) fn failed(&self) -> bool {
        let state = self.state();
        state.failures > 0 || state.tally.outcomes[2] > 0
    }

    /// Writes the summary record, flushes the outputs and prints `--stats`. Returns the
    /// status rcp exits with: `status`, or 1 if standard output or the report could not be
    /// written (GNU's `write error: ...`, said once, at the end).
    pub(crate) fn finish(&self, status: i32) -> i32 {
        if self.dry_run && (self.verbose || self.debug) {
            // The `-v` lines above read as a real run's: say once that none of it happened.
            self.state().push(Line::Out("dry run: nothing was written".into()));
        }
        self.state().finish(status)
    }
}

/// Prints the entries of one walk: the run's own (in sequence, behind the jobs in flight),
/// or a directory tree's on a worker (into its job's place).
#[derive(Clone, Copy)]
pub(crate) struct Printer<'r> {
    reporter: &'r Reporter,
    job: Option<JobPlace<'r>>,
}

/// A job's place in the output, and its own count.
#[derive(Clone, Copy)]
struct JobPlace<'r> {
    seq: u64,
    tally: &'r JobTally,
    /// Past `WAIT_CAP` lines not yet printable, the printing thread waits (a tree's walk on
    /// a worker; a file or a batch prints far less, and the walk may be running it).
    wait: bool,
}

impl<'r> Printer<'r> {
    /// The same printer, for a tree's walk on a worker: past `WAIT_CAP` lines waiting
    /// behind the front, it waits for its place to reach the front.
    pub(crate) fn waiting_at_cap(self) -> Printer<'r> {
        let job = self.job.map(|job| JobPlace { wait: true, ..job });
        Printer { job, ..self }
    }

    /// The program name as invoked, for messages.
    pub(crate) fn program(&self) -> &str {
        &self.reporter.program
    }

    /// `rcp: MESSAGE` on stderr: an error, so the run has failed (exit status 1).
    pub(crate) fn error(&self, error: &Error) {
        self.reporter.state().failures += 1;
        self.message(&error.to_string());
    }

    /// What the attribute rules said of an entry, each on stderr; `failed`: one of them
    /// fails the run (the others are GNU's `error (0, ...)` that only inform).
    pub(crate) fn attribute_messages(&self, messages: &[Error], failed: bool) {
        if failed {
            self.reporter.state().failures += 1;
        }
        for error in messages {
            self.message(&error.to_string());
        }
    }

    pub(crate) fn message(&self, text: &str) {
        self.put(vec![Line::Err(text.to_string())], None);
    }

    /// The `-v` line, printed as GNU does: before the entry is copied, naming the backup.
    pub(crate) fn starting(&self, src: &Path, dst: &Path, backup: Option<&Path>) {
        if self.reporter.verbose {
            self.put(vec![copying_line(src, dst, backup)], None);
        }
    }

    /// `-v`: `removed 'x'`, when an existing destination was unlinked.
    pub(crate) fn removed(&self, dst: &Path) {
        self.verbose_line(&format!("removed {}", quote(dst)));
    }

    /// `-v`: a backup put back after the copy failed.
    pub(crate) fn unbackup(&self, backup: &Path, dst: &Path) {
        self.verbose_line(&format!("{} -> {} (unbackup)", quote(backup), quote(dst)));
    }

    /// A `--debug` line about the run (not about one entry's copy).
    pub(crate) fn debug(&self, text: &str) {
        if self.reporter.debug {
            self.put(vec![Line::Out(text.to_string())], None);
        }
    }

    /// Any other `-v` line (`--parents` directories).
    pub(crate) fn verbose_line(&self, text: &str) {
        if self.reporter.verbose {
            self.put(vec![Line::Out(text.to_string())], None);
        }
    }

    /// Records a finished entry: the error message if it failed, `--debug` lines, a
    /// `--report` record, and `--stats` counts.
    pub(crate) fn finished(&self, entry: Entry) {
        self.finished_after(&[], false, entry);
    }

    /// A finished entry after what the attribute rules said about it (`messages`; `failed`:
    /// one of them fails the run, whatever the entry's outcome).
    pub(crate) fn finished_after(&self, messages: &[Error], failed: bool, entry: Entry) {
        if failed {
            self.reporter.state().failures += 1;
        }
        let mut lines: Vec<Line> = messages.iter().map(|m| Line::Err(m.to_string())).collect();
        lines.extend(self.reporter.entry_lines(&entry));
        self.put(lines, Some(&entry));
    }

    /// Holds a place for an entry finished later (a directory whose attributes wait for
    /// the workers); `fill` gives it its lines.
    pub(crate) fn hold(&self) -> u64 {
        let mut state = self.reporter.state();
        let id = state.held;
        state.held += 1;
        state.queue.push_back(Slot::Pending(id));
        id
    }

    /// The held entry `id` is finished.
    pub(crate) fn fill(&self, id: u64, entry: Entry) {
        let lines = self.reporter.entry_lines(&entry);
        let mut state = self.reporter.state();
        state.tally.count(&entry);
        state.add(id, lines, true);
        self.reporter.wake(&state);
    }

    /// How many places are held or waiting (for back-pressure on the walk).
    pub(crate) fn backlog(&self) -> usize {
        self.reporter.state().queue.len()
    }

    /// Prints `lines` (counting `entry`'s record): now, or in order behind what is in
    /// flight. A job's walk whose lines pile up behind the front waits until its place
    /// reaches it, so memory stays bounded however much the tree prints.
    fn put(&self, lines: Vec<Line>, entry: Option<&Entry>) {
        let Some(job) = self.job else {
            let mut state = self.reporter.state();
            if let Some(entry) = entry {
                state.tally.count(entry);
            }
            return lines.into_iter().for_each(|line| state.push(line));
        };
        if let Some(entry) = entry {
            job.tally.0.borrow_mut().count(entry);
        }
        if lines.is_empty() {
            return;
        }
        let seq = job.seq;
        let mut state = self.reporter.state();
        state.add(seq, lines, false);
        while job.wait && state.waiting.get(&seq).is_some_and(|w| w.lines.len() >= WAIT_CAP) {
            state.blocked += 1;
            state =
                self.reporter.moved.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
            state.blocked -= 1;
        }
    }
}

impl State {
    /// A printer that prints no `-v`, `--debug` or `--stats` lines (until told to).
    fn quiet(program: String, records: Option<Records>) -> State {
        State {
            program,
            stats: false,
            dry_run: false,
            lines_to_stderr: false,
            stdout: io::stdout(),
            stdout_error: None,
            closed_stdout: false,
            records,
            report_error: None,
            tally: Tally::new(),
            held: HELD,
            queue: VecDeque::new(),
            waiting: HashMap::new(),
            blocked: 0,
            bar: None,
            progress: Arc::default(),
            failures: 0,
        }
    }

    /// Gives the place held for `id` more `lines` (`done`: its last): printed now if the
    /// place is first in line, kept until it is otherwise.
    fn add(&mut self, id: u64, lines: Vec<Line>, done: bool) {
        if matches!(self.queue.front(), Some(Slot::Pending(first)) if *first == id) {
            lines.into_iter().for_each(|line| self.write(line));
            if done {
                self.queue.pop_front();
                self.release();
            }
            return;
        }
        let waiting = self.waiting.entry(id).or_default();
        waiting.lines.extend(lines);
        waiting.done |= done;
    }

    /// Prints `line` now, or queues it behind files still in flight.
    fn push(&mut self, line: Line) {
        match self.queue.back_mut() {
            None => self.write(line),
            Some(Slot::Ready(lines)) => lines.push(line),
            Some(Slot::Pending { .. }) => self.queue.push_back(Slot::Ready(vec![line])),
        }
    }

    /// Prints the front of the queue up to the first entry still in flight, and the lines
    /// that entry has so far.
    fn release(&mut self) {
        loop {
            match self.queue.front() {
                Some(Slot::Ready(_)) => {
                    let Some(Slot::Ready(lines)) = self.queue.pop_front() else { unreachable!() };
                    lines.into_iter().for_each(|line| self.write(line));
                }
                Some(&Slot::Pending(id)) => {
                    let Some(waiting) = self.waiting.remove(&id) else { return };
                    waiting.lines.into_iter().for_each(|line| self.write(line));
                    if !waiting.done {
                        return;
                    }
                    self.queue.pop_front();
                }
                None => return,
            }
        }
    }

    fn write(&mut self, line: Line) {
        match self.bar.clone() {
            Some(bar) => bar.suspend(|| self.write_now(line)),
            None => self.write_now(line),
        }
    }

    fn write_now(&mut self, line: Line) {
        match (line, &mut self.records) {
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
                let slot =
                    if file.is_some() { &mut self.report_error } else { &mut self.stdout_error };
                if slot.is_none()
                    && let Err(e) = writeln!(out, "{text}")
                {
                    *slot = Some(Errno::from_io_error(&e).unwrap_or(Errno::IO));
                }
            }
            (Line::Record(_) | Line::Entry(_), _) => {}
        }
    }

    fn failed_writes(&self) -> bool {
        self.stdout_error.is_some() || self.report_error.is_some()
    }

    fn finish(&mut self, status: i32) -> i32 {
        self.release();
        let mut status = if status == 0 && self.failed_writes() { 1 } else { status };
        let last = match &self.records {
            Some(Records::Stream { format: ReportFormat::Json, .. }) => {
                Some(json_summary(&self.tally, status, self.dry_run).to_string())
            }
            Some(Records::Stream { format: ReportFormat::Text, .. }) => {
                Some(text_summary(&self.tally, status, self.dry_run))
            }
            _ => None,
        };
        if let Some(last) = last {
            self.write_now(Line::Record(last));
        }
        if let Some(Records::Stream { out, file, .. }) = &mut self.records
            && let Err(e) = out.flush()
        {
            let slot = if file.is_some() { &mut self.report_error } else { &mut self.stdout_error };
            *slot = slot.or(Some(Errno::from_io_error(&e).unwrap_or(Errno::IO)));
        }
        if let Err(e) = self.stdout.lock().flush() {
            self.note_write_error(&e);
        }
        if let Some(errno) = self.stdout_error {
            message(&self.program, &format!("write error: {}", crate::error::strerror(errno)));
        }
        if let (Some(errno), Some(Records::Stream { file: Some(path), .. })) =
            (self.report_error, &self.records)
        {
            let text = format!("error writing {}: {}", quote(path), crate::error::strerror(errno));
            message(&self.program, &text);
        }
        if let Some(Records::Stream { placed: Some(placed), .. }) = &self.records {
            let committed = match self.report_error {
                Some(_) => {
                    placed.discard();
                    Ok(())
                }
                None => placed.commit(),
            };
            if let Err(text) = committed {
                message(&self.program, &text);
                status = status.max(1);
            }
        }
        if status == 0 && self.failed_writes() {
            status = 1;
        }
        if self.stats {
            let summary = stats_summary(&self.tally, self.progress.moved_bytes(), self.dry_run);
            let _ = io::stderr().lock().write_all(summary.as_bytes());
        }
        status
    }

    /// One line on standard output; the first write error is kept for `finish` (and no more
    /// is written after it).
    fn line(&mut self, args: std::fmt::Arguments) {
        if self.stdout_error.is_some() {
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

    fn note_write_error(&mut self, e: &io::Error) {
        if self.stdout_error.is_none() {
            self.stdout_error = Some(Errno::from_io_error(e).unwrap_or(Errno::IO));
        }
    }
}

/// `-v`'s `'SRC' -> 'DST'` line, naming the backup made of the destination if any.
fn copying_line(src: &Path, dst: &Path, backup: Option<&Path>) -> Line {
    let backup = backup.map(|b| format!(" (backup: {})", quote(b))).unwrap_or_default();
    Line::Out(format!("{} -> {}{backup}", quote(src), quote(dst)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};

    /// A tree's walk on a worker printing far behind the front keeps at most `WAIT_CAP`
    /// lines waiting, then waits itself until the job before it is done; and every line
    /// still comes out, in order.
    #[test]
    fn a_job_walk_behind_the_front_waits_at_the_cap() {
        let opts = crate::args::options::for_args(&["-r"]).expect("options");
        let (events, received) = channel();
        let reporter = Reporter::library(events, &opts);
        let (front, behind) = (1, 2);
        reporter.pending(front);
        reporter.pending(behind);
        let total = WAIT_CAP + 500;
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let tally = reporter.job_tally();
                let printer = reporter.job_printer(behind, &tally).waiting_at_cap();
                for n in 0..total {
                    printer.message(&format!("line {n}"));
                }
            });
            let deadline = Instant::now() + Duration::from_secs(30);
            while reporter.state().blocked == 0 {
                assert!(Instant::now() < deadline, "the walk behind the front never waited");
                std::thread::sleep(Duration::from_millis(5));
            }
            let kept = reporter.state().waiting.get(&behind).map_or(0, |w| w.lines.len());
            assert_eq!(kept, WAIT_CAP, "lines kept waiting behind the front");
            assert!(!worker.is_finished());
            let tally = reporter.job_tally();
            reporter.job_printer(front, &tally).message("first");
            reporter.job_done(front, reporter.job_tally());
            worker.join().expect("the worker goes on once its place is first");
        });
        reporter.job_done(behind, reporter.job_tally());
        let said: Vec<String> = received
            .try_iter()
            .map(|e| match e {
                Event::Message(text) => text,
                Event::Record(_) => panic!("no records here"),
            })
            .collect();
        let expected: Vec<String> = std::iter::once("first".to_string())
            .chain((0..total).map(|n| format!("line {n}")))
            .collect();
        let differs = said.iter().zip(&expected).position(|(a, b)| a != b);
        assert!(
            said.len() == expected.len() && differs.is_none(),
            "{} lines, {differs:?}",
            said.len()
        );
    }
}

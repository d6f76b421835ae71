//! Everything rcp prints: error messages, `-v` lines, `--debug` lines, the per-entry
//! `--report` records (text or JSON) and the `--stats` summary, in the order a sequential
//! copy would print them; or, for the library, the same records and messages sent to the
//! caller. No other module prints.
//!
//! The reporter is shared: the walk and every worker print through it, each line as soon
//! as its entry and every entry before it are finished (one lock per line batch).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rustix::io::Errno;

pub mod clash;
pub mod format;
pub mod place;
mod record;
pub mod sink;

pub use record::{Earlier, Kind, Outcome, Record, Skip};
pub(crate) use record::{Entry, Happened};

use crate::error::{Error, UsageError};
use crate::options::Options;
use crate::quote::quote;
use copychain::{Progress, Reflink, Sparse, Stop};
use format::{Tally, debug_line, strategy_line};
pub use sink::{End, Output, Sink};

/// A place in the output order: lines ready to print, or an entry not finished yet — a
/// job with the workers (numbered by the scheduler), or a directory whose attributes wait
/// for them (numbered from `HELD`) — whose lines wait in `State::waiting` until the place
/// reaches the front.
enum Slot {
    Ready(Vec<Output>),
    Pending(u64),
}

/// What an entry not first in line has printed so far.
#[derive(Default)]
struct Waiting {
    lines: Vec<Output>,
    done: bool,
}

/// What a finished entry prints besides its lines, fixed when the reporter is made from
/// what its sink wants (so a worker can make an entry's output without the lock).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Wants {
    records: bool,
    failure_lines: bool,
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
pub struct Reporter {
    program: String,
    verbose: bool,
    debug: bool,
    /// `--reflink=never` or `--sparse=never`: `--debug` says `reflink: no`, as GNU does.
    no_reflink: bool,
    /// `--dry-run`: every record says so.
    dry_run: bool,
    wants: Wants,
    state: Mutex<State>,
    /// Signalled when a place is finished while a job's walk waits (`State::blocked`).
    moved: Condvar,
    /// What the run's copies count (the bar, status lines and `--stats` read it).
    progress: Arc<Progress>,
    /// The request that stops the run: the process's signal handlers', unless the caller
    /// hands in its own (`with_stop`).
    stop: Stop,
}

/// The printer's state, behind the reporter's lock.
struct State {
    sink: Box<dyn Sink>,
    tally: Tally,
    held: u64,
    queue: VecDeque<Slot>,
    /// The lines of pending places not first in line, by place.
    waiting: HashMap<u64, Waiting>,
    /// Job walks waiting for their place to reach the front.
    blocked: usize,
    /// Errors printed that fail the run without failing an entry's record (an operand's
    /// `--parents` directories, a directory that cannot be read, an attribute GNU does
    /// not require): with the failed records, what makes the exit status 1.
    failures: u64,
}

impl Reporter {
    /// A reporter for `opts` whose output goes to `sink`.
    pub fn new(program: String, opts: &Options, sink: Box<dyn Sink>) -> Reporter {
        let wants =
            Wants { records: sink.wants_records(), failure_lines: sink.wants_failure_lines() };
        let lines = sink.wants_lines();
        let policy = opts.policy;
        let state = State {
            sink,
            tally: Tally::new(),
            held: HELD,
            queue: VecDeque::new(),
            waiting: HashMap::new(),
            blocked: 0,
            failures: 0,
        };
        Reporter {
            program,
            verbose: opts.verbose && lines,
            debug: opts.debug && lines,
            no_reflink: policy.reflink == Reflink::Never || policy.sparse == Sparse::Never,
            dry_run: opts.dry_run,
            wants,
            progress: Arc::default(),
            state: Mutex::new(state),
            moved: Condvar::new(),
            stop: crate::sys::interrupt::stop(),
        }
    }

    /// The same reporter for a run stopped by `stop` (requested by the caller, from any
    /// thread) instead of the process's signal handlers.
    pub fn with_stop(mut self, stop: Stop) -> Reporter {
        self.stop = stop;
        self
    }

    /// The request that stops the run.
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The counters the run's copies add to.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// The printer, locked. A thread that panicked while printing leaves it usable: the
    /// copy's other lines still go out.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A usage error, with GNU's hint line where GNU prints one.
    pub fn usage(&self, error: &UsageError) {
        let _ = io::stdout().lock().flush();
        usage(&self.program, error);
    }

    /// The printer for the walk's own entries, in sequence.
    pub fn printer(&self) -> Printer<'_> {
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
    fn entry_lines(&self, entry: &Entry) -> Vec<Output> {
        let mut lines = Vec::new();
        let cancelled = |e: &&Error| e.errno == Some(Errno::CANCELED) && self.stop.requested();
        if let Some(error) =
            entry.error().filter(|e| e.op != crate::error::Op::Reported && !cancelled(e))
            && self.wants.failure_lines
        {
            lines.push(Output::Failed(error.to_string()));
        }
        if matches!(entry.happened, Happened::Damaged(_)) && self.wants.failure_lines {
            lines.push(Output::Failed(format!("{} is incomplete", quote(entry.dst))));
        }
        // GNU 9.4's `--debug`: a destination left alone by -n, -u or --update says so.
        if self.debug && matches!(entry.happened, Happened::Skipped(Skip::Exists | Skip::NotNewer))
        {
            lines.push(Output::Out(format!("skipped {}", quote(entry.dst))));
        }
        if let (true, Some(record)) = (self.debug, entry.record) {
            lines.push(Output::Out(debug_line(record, self.no_reflink)));
            lines.push(Output::Out(format!("strategy: {}", strategy_line(record))));
        }
        if let (true, Some(earlier)) = (self.debug, entry.earlier) {
            let what = match earlier.how {
                crate::options::BasisHow::Link => "linked to",
                crate::options::BasisHow::Copy => "copied from",
                crate::options::BasisHow::Compare => "unchanged in",
            };
            lines.push(Output::Out(format!("earlier copy: {what} {}", quote(&earlier.path))));
        }
        if self.wants.records {
            let record = Record { dry_run: self.dry_run, ..Record::of(entry) };
            lines.push(Output::Record(Box::new(record)));
        }
        lines
    }

    /// Whether the run has failed so far: an entry's record says failed, or an error was
    /// printed that fails the run.
    pub fn failed(&self) -> bool {
        let state = self.state();
        state.failures > 0 || state.tally.outcomes[2] > 0
    }

    /// Output another rank of a spread copy made, said now: across ranks, lines come in
    /// the order they arrive (each rank's own are in its order).
    pub(crate) fn relay(&self, lines: Vec<Output>) {
        let mut state = self.state();
        lines.into_iter().for_each(|line| state.write(line));
    }

    /// What this rank's entries added up to (records by outcome, files and bytes per
    /// strategy) and the errors that failed the run without failing an entry, as numbers
    /// for rank 0 to add to its own (`absorb`).
    pub(crate) fn totals(&self) -> Vec<u64> {
        let state = self.state();
        let mut words = state.tally.words();
        words.push(state.failures);
        words
    }

    /// Adds another rank's `totals`: the summary, `--stats` and the exit status are the
    /// whole job's.
    pub(crate) fn absorb(&self, totals: &[u64]) {
        let mut state = self.state();
        let (tally, failures) = totals.split_at(totals.len().saturating_sub(1));
        state.tally.add(&Tally::from_words(tally));
        state.failures += failures.first().copied().unwrap_or(0);
    }

    /// Writes the summary record, flushes the outputs and prints `--stats`. Returns the
    /// status rcp exits with: `status`, or 1 if standard output or the report could not be
    /// written (GNU's `write error: ...`, said once, at the end).
    pub fn finish(&self, status: i32) -> i32 {
        if self.dry_run && (self.verbose || self.debug) {
            // The `-v` lines above read as a real run's: say once that none of it happened.
            self.state().push(Output::Out("dry run: nothing was written".into()));
        }
        // `--stats`' rate is of the bytes moved; the summary and `--stats` say "dry run".
        let moved = self.progress.moved_bytes();
        self.state().finish(status, moved, self.dry_run)
    }
}

/// Prints the entries of one walk: the run's own (in sequence, behind the jobs in flight),
/// or a directory tree's on a worker (into its job's place).
#[derive(Clone, Copy)]
pub struct Printer<'r> {
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

    /// Whether the run was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.reporter.stop.requested()
    }

    /// The program name as invoked, for messages.
    pub(crate) fn program(&self) -> &str {
        &self.reporter.program
    }

    /// `rcp: MESSAGE` on stderr: an error, so the run has failed (exit status 1).
    pub fn error(&self, error: &Error) {
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

    /// `rcp: TEXT` on stderr: a warning or notice; the run has not failed for it.
    pub fn message(&self, text: &str) {
        self.put(vec![Output::Message(text.to_string())], None);
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
            self.put(vec![Output::Out(text.to_string())], None);
        }
    }

    /// Any other `-v` line (`--parents` directories).
    pub(crate) fn verbose_line(&self, text: &str) {
        if self.reporter.verbose {
            self.put(vec![Output::Out(text.to_string())], None);
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
        let mut lines: Vec<Output> =
            messages.iter().map(|m| Output::Message(m.to_string())).collect();
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
    fn put(&self, lines: Vec<Output>, entry: Option<&Entry>) {
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
    /// Gives the place held for `id` more `lines` (`done`: its last): printed now if the
    /// place is first in line, kept until it is otherwise.
    fn add(&mut self, id: u64, lines: Vec<Output>, done: bool) {
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
    fn push(&mut self, line: Output) {
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

    fn write(&mut self, output: Output) {
        self.sink.put(output);
    }

    fn finish(&mut self, status: i32, moved: u64, dry_run: bool) -> i32 {
        self.release();
        let end = End { tally: &self.tally, moved, status, dry_run };
        self.sink.finish(&end)
    }
}

/// `-v`'s `'SRC' -> 'DST'` line, naming the backup made of the destination if any.
fn copying_line(src: &Path, dst: &Path, backup: Option<&Path>) -> Output {
    let backup = backup.map(|b| format!(" (backup: {})", quote(b))).unwrap_or_default();
    Output::Out(format!("{} -> {}{backup}", quote(src), quote(dst)))
}

/// Prints `text` on standard output (help, version, generated files); 1 and GNU's `write
/// error` message if it cannot be written.
pub fn print_stdout(program: &str, text: &[u8]) -> i32 {
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
pub fn message(program: &str, text: &str) {
    let _ = line_to(&mut io::stderr().lock(), &format!("{program}: {text}"));
}

/// A usage error on stderr: the message, then `Try 'PROGRAM --help'` when `hint` is set.
pub fn usage(program: &str, error: &UsageError) {
    let mut err = io::stderr().lock();
    let _ = line_to(&mut err, &format!("{program}: {}", error.message));
    if error.hint {
        let _ = line_to(&mut err, &format!("Try '{program} --help' for more information."));
    }
}

/// Writes `text` and a newline in one `write` where the stream allows: standard error is
/// unbuffered, and a line written in pieces can be cut by another process's output to the
/// same place (the other ranks of an MPI job, `make -j`, a `-j` worker's line).
pub fn line_to(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    out.write_all(line.as_bytes())
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
        let opts = Options { recursive: true, ..Options::default() };
        let (events, received) = channel();
        let reporter = Reporter::new("rcp".into(), &opts, Box::new(sink::Library(events)));
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
                sink::Event::Message(text) => text,
                sink::Event::Record(_) => panic!("no records here"),
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

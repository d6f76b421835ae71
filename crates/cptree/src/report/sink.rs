//! Where a run's output goes. The reporter decides what is said and in which order (GNU's
//! lines, one record per entry); a `Sink` says it somewhere. Two live here: the console
//! (`console::Console`: standard output and error, and the `--report` stream) and the
//! library's caller (`Library`: records and messages down a channel). Another process — a
//! rank of a copy spread over machines — is a third.

use std::sync::mpsc::Sender;

use super::format::Tally;
use super::record::Record;

/// One piece of output, in the order a sequential copy makes it.
pub enum Output {
    /// A line for standard output: `-v`, `--debug`.
    Out(String),
    /// A message for standard error, without the program name: a warning, or an error
    /// that belongs to no entry's record.
    Message(String),
    /// An entry's failure as printed (its record, if records are built, carries it too).
    Failed(String),
    /// A finished entry's record (only to a sink that `wants_records`).
    Record(Box<Record>),
    /// A record already written out in the report's format, by another rank of a copy
    /// spread over several (only to a sink that `wants_records`).
    Report(String),
}

/// How the run ended, for a sink to close with.
pub struct End<'t> {
    /// What the records added up to.
    pub tally: &'t Tally,
    /// Bytes the copies moved (`--stats`' rate is of these).
    pub moved: u64,
    /// The exit status so far.
    pub status: i32,
    /// `--dry-run`: nothing was written.
    pub dry_run: bool,
}

/// Where output goes. Calls come one at a time, in order, under the reporter's lock.
pub trait Sink: Send {
    /// Whether it reads records: if not, none is built (a plain terminal run pays for no
    /// record per file).
    fn wants_records(&self) -> bool;

    /// Whether an entry's failure is printed as a line (the console) or left to its record
    /// (the library).
    fn wants_failure_lines(&self) -> bool {
        true
    }

    /// Whether it writes `-v` and `--debug` lines anywhere.
    fn wants_lines(&self) -> bool {
        true
    }

    /// Takes the next piece of output.
    fn put(&mut self, output: Output);

    /// Writes what comes last (a summary), flushes, and returns the exit status: `status`,
    /// or 1 where output could not be written.
    fn finish(&mut self, end: &End) -> i32;
}

/// What the library's caller is sent, in order.
pub(crate) enum Event {
    Record(Record),
    /// A message rcp would print on stderr (without the program name) that no record
    /// carries: warnings, attribute failures, `cannot handle signals`.
    Message(String),
}

/// The library's sink: every record, and every message no record carries, to the caller.
pub(crate) struct Library(pub(crate) Sender<Event>);

impl Sink for Library {
    fn wants_records(&self) -> bool {
        true
    }

    fn wants_failure_lines(&self) -> bool {
        false
    }

    fn wants_lines(&self) -> bool {
        false
    }

    fn put(&mut self, output: Output) {
        // The caller may have stopped listening: the copy goes on regardless.
        let _ = match output {
            Output::Record(record) => self.0.send(Event::Record(*record)),
            Output::Message(text) => self.0.send(Event::Message(text)),
            Output::Out(_) | Output::Failed(_) | Output::Report(_) => Ok(()),
        };
    }

    fn finish(&mut self, end: &End) -> i32 {
        end.status
    }
}

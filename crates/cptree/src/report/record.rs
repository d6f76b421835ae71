//! The record of one entry: what it was, where it went, what the engine did with its data,
//! and the error if it failed. `--report` prints these; the library hands them out.

use std::path::{Path, PathBuf};

use crate::error::{Error, Op};
use crate::options::BasisHow;
use copychain::Copied;

/// What kind of entry a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A regular file (or a special file whose contents were copied as one).
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// A hard link (`-l`, or a source linked to one copied earlier).
    HardLink,
}

impl Kind {
    /// The name records use: `file`, `dir`, `symlink`, `fifo`, `char`, `block`,
    /// `socket`, `hardlink`.
    pub fn name(self) -> &'static str {
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

/// Why an entry was skipped (`"reason"` in the report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// `-n`, `--update=none`: the destination exists.
    Exists,
    /// `-u`, `--update=older`: the destination is not older than the source.
    NotNewer,
    /// `-i`: the answer was no.
    Declined,
    /// The destination already is what the copy would make (`-l` onto a hard link of the
    /// source, a symlink onto the same symlink).
    SameFile,
    /// The source was given before (`source file 'a' specified more than once`).
    Repeated,
    /// `--exclude`: a pattern matched it (a directory is not entered).
    Excluded,
    /// `--resume`: the destination has the source's size and modification time.
    Unchanged,
}

impl Skip {
    /// The name records use: `exists`, `not_newer`, `declined`, `same_file`, `repeated`,
    /// `excluded`, `unchanged`.
    pub fn name(self) -> &'static str {
        match self {
            Skip::Exists => "exists",
            Skip::NotNewer => "not_newer",
            Skip::Declined => "declined",
            Skip::SameFile => "same_file",
            Skip::Repeated => "repeated",
            Skip::Excluded => "excluded",
            Skip::Unchanged => "unchanged",
        }
    }
}

/// What happened to an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Its data was copied, or the directory, link or special file was made (or merged
    /// into); a directory whose contents failed is still copied.
    Copied,
    /// Nothing was done, for this reason.
    Skipped(Skip),
    /// It failed: the operation, path and errno; `Display` is the message rcp printed for
    /// it, without the program name.
    Failed(Error),
}

impl Outcome {
    /// The name records use: `copied`, `skipped`, `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Copied => "copied",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// The earlier copy an unchanged file was taken from instead of its source
/// (`--link-dest`, `--copy-dest`) or left out for (`--compare-dest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earlier {
    /// The earlier copy, named by its directory as given (`../2026-12-04/a/b`).
    pub path: PathBuf,
    /// Linked to, copied from, or compared with.
    pub how: BasisHow,
    /// Its size: bytes not read from the source (linked, left out) or read from it instead.
    pub bytes: u64,
}

/// What happened to one entry, as the walk tells the printer.
pub(crate) enum Happened<'a> {
    Copied,
    Skipped(Skip),
    /// Failed with this error, to be printed with the record.
    Failed(&'a Error),
    /// Failed with this error, leaving the existing destination truncated (`'f' is
    /// incomplete` is printed after the error).
    Damaged(&'a Error),
    /// Failed with this error, printed already.
    Said(Error),
}

/// One finished entry: what it was, what the engine did (files), and what happened.
pub(crate) struct Entry<'a> {
    pub(crate) src: &'a Path,
    pub(crate) dst: &'a Path,
    /// `None` when the source could not even be stat'ed.
    pub(crate) kind: Option<Kind>,
    pub(crate) record: Option<&'a Copied>,
    pub(crate) happened: Happened<'a>,
    /// An unchanged file's earlier copy (`--link-dest` and its kin).
    pub(crate) earlier: Option<&'a Earlier>,
}

impl<'a> Entry<'a> {
    /// The error to print with the record, if it failed and was not said already.
    pub(crate) fn error(&self) -> Option<&'a Error> {
        match self.happened {
            Happened::Failed(error) | Happened::Damaged(error) => Some(error),
            _ => None,
        }
    }
}

/// What happened to one entry: one record per operand and per entry below it, whatever
/// happened, in the order a sequential copy finishes them (a directory after its contents,
/// when its attributes are set).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The source, as rcp names it (the operand, then `/`-joined names below it).
    pub source: PathBuf,
    /// The destination it was (or would have been) copied to.
    pub destination: PathBuf,
    /// What the entry is; `None` when its source could not be stat'ed.
    pub kind: Option<Kind>,
    /// What happened to it.
    pub outcome: Outcome,
    /// For a regular file: how its data was copied (none if it failed before the engine ran,
    /// or under `--attributes-only`); under `--dry-run`, how it would be (`predicted`).
    pub copied: Option<Copied>,
    /// `--dry-run`: nothing was written; the outcome is what a real run would have.
    pub dry_run: bool,
    /// `--link-dest`, `--copy-dest`, `--compare-dest`: the earlier copy of an unchanged
    /// file that it was linked to, copied from, or left out for.
    pub earlier: Option<Earlier>,
}

impl Record {
    pub(crate) fn of(entry: &Entry) -> Record {
        let outcome = match &entry.happened {
            Happened::Copied => Outcome::Copied,
            Happened::Skipped(skip) => Outcome::Skipped(*skip),
            Happened::Failed(error) | Happened::Damaged(error) => Outcome::Failed(as_told(error)),
            Happened::Said(error) => Outcome::Failed(as_told(error)),
        };
        Record {
            source: entry.src.to_path_buf(),
            destination: entry.dst.to_path_buf(),
            kind: entry.kind,
            outcome,
            copied: entry.record.cloned(),
            dry_run: false,
            earlier: entry.earlier.cloned(),
        }
    }

    /// The error, if the entry failed (its `Display` is the message rcp printed).
    pub fn error(&self) -> Option<&Error> {
        match &self.outcome {
            Outcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// An error as a record carries it: a file given up because rcp was told to stop says so
/// (its own message is not printed).
fn as_told(error: &Error) -> Error {
    match crate::sys::interrupt::stopped_by() {
        // rcp's own outcome, as a refusal is: no errno (ECANCELED was ours).
        Some((name, _)) if error.errno == Some(rustix::io::Errno::CANCELED) => {
            Error { op: Op::Interrupted(name), errno: None, ..error.clone() }
        }
        _ => error.clone(),
    }
}

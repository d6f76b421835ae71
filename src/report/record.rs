//! The record of one entry: what it was, where it went, what the engine did with its data,
//! and the error if it failed. `--report` prints these; the library hands them out.

use std::path::{Path, PathBuf};

use crate::engine::Copied;
use crate::error::Error;

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

/// What happened to one entry: one record per operand and per entry below it that rcp
/// copied, linked, made, or failed on, in the order a sequential copy meets them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The source, as rcp names it (the operand, then `/`-joined names below it).
    pub source: PathBuf,
    /// The destination it was copied to.
    pub destination: PathBuf,
    /// What the entry is.
    pub kind: Kind,
    /// For a regular file: how its data was copied (none if it failed before the engine ran,
    /// or under `--attributes-only`).
    pub copied: Option<Copied>,
    /// The message rcp prints for its failure, without the program name (`cannot open
    /// 'a' for reading: Permission denied`); `None` if it was copied.
    pub error: Option<String>,
}

impl Record {
    pub(crate) fn of(entry: &Entry) -> Record {
        Record {
            source: entry.src.to_path_buf(),
            destination: entry.dst.to_path_buf(),
            kind: entry.kind,
            copied: entry.record.cloned(),
            error: entry.error.map(Error::to_string),
        }
    }
}

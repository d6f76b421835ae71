//! The engine's vocabulary: what it is given (`Source`, `Dest`, `Policy`) and what it
//! returns (`Copied`, with the `Fallback`s it took, or a `Failure` at a `Stage`).

use std::os::fd::BorrowedFd;

use rustix::io::Errno;

/// The kernel path that moved a file's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    Clone,
    CopyFileRange,
    Splice,
    ReadWrite,
}

impl Strategy {
    pub const ALL: [Strategy; 4] =
        [Strategy::Clone, Strategy::CopyFileRange, Strategy::Splice, Strategy::ReadWrite];

    /// The name records and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Clone => "clone",
            Strategy::CopyFileRange => "copy_file_range",
            Strategy::Splice => "splice",
            Strategy::ReadWrite => "read_write",
        }
    }
}

/// A strategy that gave up on a file before moving a byte, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fallback {
    pub strategy: Strategy,
    /// The errno it failed with; `None` when it found no data where the size promised some.
    pub errno: Option<Errno>,
    /// Not tried: this device pair already failed the same way.
    pub cached: bool,
}

/// The strategies that gave up on one file, in order: at most FICLONE, copy_file_range and
/// splice, kept inline (no allocation per file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fallbacks {
    list: [Fallback; 3],
    len: usize,
}

impl Fallbacks {
    const NONE: Fallback = Fallback { strategy: Strategy::ReadWrite, errno: None, cached: false };

    pub(crate) fn new() -> Fallbacks {
        Fallbacks { list: [Self::NONE; 3], len: 0 }
    }

    pub(crate) fn push(&mut self, fallback: Fallback) {
        debug_assert!(self.len < self.list.len(), "read/write never falls back");
        if let Some(slot) = self.list.get_mut(self.len) {
            *slot = fallback;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for Fallbacks {
    type Target = [Fallback];

    fn deref(&self) -> &[Fallback] {
        &self.list[..self.len]
    }
}

/// What the engine did for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// The strategy that moved the data (the last one tried, on failure).
    pub strategy: Strategy,
    /// The length of the copy (holes included).
    pub bytes: u64,
    pub fell_back: Fallbacks,
    /// Data extents were walked with SEEK_DATA/SEEK_HOLE.
    pub holes: bool,
    /// Runs of zeros were turned into holes (`--sparse=always`).
    pub zeros: bool,
}

/// Why a file's copy failed: where, the errno, and what had been done by then.
#[derive(Clone, Debug)]
pub struct Failure {
    pub stage: Stage,
    pub errno: Errno,
    pub record: Copied,
}

impl Failure {
    pub(crate) fn at(stage: Stage, errno: Errno, record: &Copied) -> Failure {
        Failure { stage, errno, record: record.clone() }
    }
}

/// The step that failed, which decides the message (`error reading`, `failed to clone`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Clone,
    Copy,
    Read,
    Write,
    Seek,
    Extend,
}

/// `--reflink`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reflink {
    Never,
    Auto,
    Always,
}

/// `--sparse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sparse {
    Never,
    Auto,
    Always,
}

/// The user's choices that bound which strategies may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub reflink: Reflink,
    pub sparse: Sparse,
}

impl Policy {
    /// FICLONE and copy_file_range may share extents or keep holes: `never` forbids both.
    pub(crate) fn allows_offload(self) -> bool {
        self.reflink != Reflink::Never && self.sparse != Sparse::Never
    }
}

/// The open source and what its stat said.
pub struct Source<'a> {
    pub fd: BorrowedFd<'a>,
    pub dev: u64,
    pub size: u64,
    pub blocks: u64,
    pub regular: bool,
}

/// The open destination.
pub struct Dest<'a> {
    pub fd: BorrowedFd<'a>,
    pub dev: u64,
    pub regular: bool,
}

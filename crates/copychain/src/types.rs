//! The engine's vocabulary: what it is given (`Source`, `Dest`, `Policy`) and what it
//! returns (`Copied`, with the `Fallback`s it took, or a `Failure` at a `Stage`).

use std::os::fd::BorrowedFd;

use rustix::io::Errno;

/// The kernel path that moved a file's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// `ioctl(FICLONE)`: the destination shares the source's extents (a reflink).
    Clone,
    /// `copy_file_range(2)`: the kernel copies, and may clone or offload the copy.
    CopyFileRange,
    /// `splice(2)` through a pipe: an in-kernel copy between any two files.
    Splice,
    /// `read(2)`/`write(2)` through a buffer: the last resort.
    ReadWrite,
}

impl Strategy {
    /// Every strategy, in the order the chain tries them.
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
    /// The strategy that gave up.
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
    len: u8,
}

impl Fallbacks {
    const NONE: Fallback = Fallback { strategy: Strategy::ReadWrite, errno: None, cached: false };

    pub(crate) fn new() -> Fallbacks {
        Fallbacks { list: [Self::NONE; 3], len: 0 }
    }

    pub(crate) fn push(&mut self, fallback: Fallback) {
        debug_assert!(usize::from(self.len) < self.list.len(), "read/write never falls back");
        if let Some(slot) = self.list.get_mut(usize::from(self.len)) {
            *slot = fallback;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for Fallbacks {
    type Target = [Fallback];

    fn deref(&self) -> &[Fallback] {
        &self.list[..usize::from(self.len)]
    }
}

/// What the engine did for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// The strategy that moved the data (the last one tried, on failure).
    pub strategy: Strategy,
    /// The length of the copy (holes included).
    pub bytes: u64,
    /// The strategies tried before `strategy`, each with why it gave up.
    pub fell_back: Fallbacks,
    /// Data extents were walked with SEEK_DATA/SEEK_HOLE.
    pub holes: bool,
    /// Runs of zeros were turned into holes (`--sparse=always`).
    pub zeros: bool,
    /// The copy was read back and matched the source (`--verify`).
    pub verified: bool,
    /// Nothing was copied: this is what `--dry-run` expects the copy to do, from the
    /// filesystems at both ends and the policy.
    pub predicted: bool,
    /// The copy went on from this byte of an earlier one (`--resume`): the bytes before it
    /// were checked and kept, not moved. 0 for a whole copy.
    pub resumed_from: u64,
    /// The file was cut into this many pieces, copied by several processes at once (a
    /// spread copy's ranks, `Share`); 0 when it was copied whole.
    pub pieces: u32,
    /// How many of those pieces other processes copied.
    pub pieces_elsewhere: u32,
}

impl Copied {
    /// The strategy it names did not work either: the last one tried gave up before
    /// moving a byte (a clone that had to work). Then no strategy copied anything.
    pub fn none_worked(&self) -> bool {
        self.fell_back.last().is_some_and(|f| f.strategy == self.strategy)
    }
}

/// Why a file's copy failed: where, the errno, and what had been done by then.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The step that failed.
    pub stage: Stage,
    /// The kernel's error.
    pub errno: Errno,
    /// What had been done by then (the strategy that failed, the fallbacks before it).
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
    /// FICLONE failed where it had to work (`--reflink=always`) or with a real error.
    Clone,
    /// copy_file_range or splice failed after moving data.
    Copy,
    /// Reading the source failed.
    Read,
    /// Writing the destination failed.
    Write,
    /// Finding the source's data extents (SEEK_DATA/SEEK_HOLE) failed.
    Seek,
    /// Setting the destination's length (ftruncate) failed.
    Extend,
    /// The source ended before the size it had when opened: it shrank while it was copied
    /// (the errno is ENODATA).
    Shrank,
}

/// `--reflink=WHEN`: whether the copy may share the source's data blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reflink {
    /// Never: no FICLONE, and no copy_file_range (which may clone inside the kernel).
    Never,
    /// Clone where the filesystem can, else copy.
    Auto,
    /// Clone or fail.
    Always,
}

/// `--sparse=WHEN`: how holes are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sparse {
    /// Write every byte: no holes (and no clone or copy_file_range, which could keep them).
    Never,
    /// Keep the source's holes (SEEK_DATA/SEEK_HOLE).
    Auto,
    /// Also turn runs of zeros into holes (read/write only).
    Always,
}

/// The user's choices that bound which strategies may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `--reflink`.
    pub reflink: Reflink,
    /// `--sparse`.
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
    /// The source, open for reading.
    pub fd: BorrowedFd<'a>,
    /// Its device (`st_dev`): refusals are remembered per device pair.
    pub dev: u64,
    /// Its size at open; 0 means unknown (procfs): it is read to EOF.
    pub size: u64,
    /// Its 512-byte blocks (`st_blocks`): fewer than the size needs means holes.
    pub blocks: u64,
    /// Whether it is a regular file (else only splice and read/write apply).
    pub regular: bool,
}

/// The open destination.
pub struct Dest<'a> {
    /// The destination, open for writing, empty (just created or truncated).
    pub fd: BorrowedFd<'a>,
    /// Its device (`st_dev`).
    pub dev: u64,
    /// Whether it is a regular file (holes and positional writes need one).
    pub regular: bool,
}

//! Syscalls with no GNU policy: names relative to open directories (`At`) and reading them,
//! path helpers, creating entries under temporary names, attribute calls (times, owner,
//! mode, xattrs, ACLs) and the stop flag the signal handlers set. Nothing here names a
//! module above it.

pub(crate) mod at;
pub(crate) mod attr;
pub(crate) mod create;
pub(crate) mod fs;
pub mod interrupt;
pub(crate) mod path;
pub(crate) mod process;

use rustix::fs::{FileType, Stat};

/// A file's identity: (device, inode).
pub(crate) type Ino = (u64, u64);

/// The identity `st` describes.
pub(crate) fn ino(st: &Stat) -> Ino {
    (st.st_dev, st.st_ino)
}

/// Whether `mode` is of type `ft`.
pub(crate) fn is(mode: u32, ft: FileType) -> bool {
    FileType::from_raw_mode(mode) == ft
}

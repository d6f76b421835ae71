//! Which entries a copy reads, and how: the rules the walk follows, in one place, so that
//! whatever else looks at the sources ahead of the copy — rcp's progress count — selects
//! the same entries. (GNU's: `-L` follows every symlink, `-H` those on the command line;
//! `-x` copies a directory on another filesystem but not its contents; without `-r` a
//! directory is omitted; a special file is read as data without `-r` or with
//! `--copy-contents`; `--exclude` matches paths below the operand.)

use std::path::Path;

use rustix::fs::FileType;

use crate::options::{Deref, Options};

/// Whether the entry's status is its symlink's target: `-L`, or `-H` for an operand.
pub fn follows(deref: Deref, command_line: bool) -> bool {
    deref == Deref::Always || (deref == Deref::CommandLine && command_line)
}

/// The rule for the entries below an operand: `-H` follows operands only.
pub fn below(deref: Deref) -> Deref {
    if deref == Deref::CommandLine { Deref::Never } else { deref }
}

/// Whether a directory's entries are copied: `-r`, and under `-x` only where the directory
/// (on `dev`) is on its parent's filesystem (`parent_dev`; `None`: an operand).
pub fn enters(opts: &Options, parent_dev: Option<u64>, dev: u64) -> bool {
    opts.recursive && !(opts.one_file_system && parent_dev.is_some_and(|p| p != dev))
}

/// Whether an entry of this type (after `follows`) is copied as data: a regular file, or a
/// fifo or device read like one (without `-r`, or with `--copy-contents`).
pub fn as_data(opts: &Options, kind: FileType) -> bool {
    match kind {
        FileType::RegularFile => true,
        FileType::Directory | FileType::Symlink => false,
        _ => opts.copy_as_regular,
    }
}

/// Whether `--exclude` leaves out the entry at `relative` (below its operand) of type
/// `kind` (a symlink's target's under `-L`: a directory is matched as one only by its own
/// type or its target's).
pub fn excluded(opts: &Options, relative: &Path, kind: FileType) -> bool {
    opts.exclude.as_ref().is_some_and(|e| e.excludes(relative, kind == FileType::Directory))
}

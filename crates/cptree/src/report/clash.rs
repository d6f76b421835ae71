//! `--report-file` may name no file the copy reads or writes: checked against every
//! operand and every destination before the report (or anything else) is opened, so a
//! report never truncates a source, and the copy never overwrites or renames its report.

use std::path::Path;

use rustix::fs::{FileType, stat};

use crate::options::Options;
use crate::plan::Pair;
use crate::quote::quote;
use crate::sys::fs::is_within;
use crate::sys::path::{dir_of, last_component};
use crate::sys::{Ino, ino, is};

/// Why the report may not be written at `report`, in cp's words; `None` when it may. With
/// `pairs` (the command line was accepted), the report may be neither a source nor inside
/// a source directory copied recursively, neither a destination nor inside one; without
/// (nothing will be copied), it may only not be one of the operands.
pub fn clash(report: &Path, opts: &Options, pairs: Option<&[Pair]>) -> Option<String> {
    // The file the name leads to (through a symlink, dangling or not) is the one written.
    let resolved = super::place::resolve(report);
    let place = Place::of(&resolved);
    let refuse = |what: &str, path: &Path| {
        Some(format!("will not write report file {} {what} {}", quote(report), quote(path)))
    };
    let Some(pairs) = pairs else {
        let operands = opts.operands.iter().chain(&opts.target_directory);
        for operand in operands {
            if place.is(operand) {
                return refuse("over", operand);
            }
        }
        return None;
    };
    for pair in pairs {
        if place.is(&pair.src) {
            return refuse("over source", &pair.src);
        }
        if opts.recursive && place.inside(&pair.src) {
            return refuse("inside source directory", &pair.src);
        }
        if place.is(&pair.dst) {
            return refuse("over destination", &pair.dst);
        }
        if place.inside(&pair.dst) {
            return refuse("inside destination directory", &pair.dst);
        }
    }
    None
}

/// Where the report would be written: the file there (if any) and the directory entry.
struct Place<'p> {
    /// The file the name leads to now (through symlinks).
    file: Option<Ino>,
    /// Its directory.
    dir: &'p Path,
    /// Its directory's inode and its name there, for a report that does not exist yet.
    entry: Option<(Ino, &'p std::ffi::OsStr)>,
}

impl<'p> Place<'p> {
    fn of(report: &'p Path) -> Place<'p> {
        let dir = dir_of(report);
        Place {
            file: stat(report).ok().map(|st| ino(&st)),
            dir,
            entry: stat(dir).ok().map(|st| (ino(&st), last_component(report))),
        }
    }

    /// Whether `path` names the report's file, or (neither existing yet) its entry.
    fn is(&self, path: &Path) -> bool {
        match stat(path) {
            Ok(st) => self.file == Some(ino(&st)),
            Err(_) => {
                let parent = stat(dir_of(path)).ok().map(|st| ino(&st));
                parent.is_some_and(|p| self.entry == Some((p, last_component(path))))
            }
        }
    }

    /// Whether the report would be inside the directory `path` leads to.
    fn inside(&self, path: &Path) -> bool {
        stat(path)
            .is_ok_and(|st| is(st.st_mode, FileType::Directory) && is_within(self.dir, ino(&st)))
    }
}

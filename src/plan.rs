//! Operands to (source, destination) pairs: `rcp a b`, `rcp a... dir`, `-t dir`, `-T`, with
//! GNU's usage errors and target checks.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, stat};
use rustix::io::Errno;

use crate::error::{Error, Op};
use crate::options::{Options, UsageError};
use crate::quote::quote;

/// One copy to make: the source operand as given and the destination path it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub src: PathBuf,
    pub dst: PathBuf,
}

/// Why no copy can start: a usage error, or a target that is not usable.
#[derive(Debug)]
pub enum PlanError {
    Usage(UsageError),
    Target(Error),
}

pub fn plan(opts: &Options) -> Result<Vec<Pair>, PlanError> {
    let operands = &opts.operands;
    if let Some(dir) = &opts.target_directory {
        check_target_directory(dir)?;
        if operands.is_empty() {
            return Err(usage("missing file operand"));
        }
        return Ok(into_directory(operands, dir));
    }
    match operands.as_slice() {
        [] => Err(usage("missing file operand")),
        [only] => Err(usage(format!("missing destination file operand after {}", quote(only)))),
        [src, dst] if opts.no_target_directory => {
            Ok(vec![Pair { src: src.clone(), dst: dst.clone() }])
        }
        [_, _, extra, ..] if opts.no_target_directory => {
            Err(usage(format!("extra operand {}", quote(extra))))
        }
        [sources @ .., last] => match stat(last) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                Ok(into_directory(sources, last))
            }
            _ if sources.len() == 1 => {
                Ok(vec![Pair { src: sources[0].clone(), dst: last.clone() }])
            }
            Ok(_) => Err(PlanError::Target(Error::new(Op::Target, last, Errno::NOTDIR))),
            Err(e) => Err(PlanError::Target(Error::new(Op::Target, last, e))),
        },
    }
}

fn usage(message: impl Into<String>) -> PlanError {
    PlanError::Usage(UsageError::new(message))
}

fn check_target_directory(dir: &Path) -> Result<(), PlanError> {
    let st = stat(dir).map_err(|e| PlanError::Target(Error::new(Op::TargetDirectory, dir, e)))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(PlanError::Target(Error::new(Op::TargetDirectory, dir, Errno::NOTDIR)));
    }
    Ok(())
}

fn into_directory(sources: &[PathBuf], dir: &Path) -> Vec<Pair> {
    sources
        .iter()
        .map(|src| Pair { src: src.clone(), dst: dir.join(last_component(src)) })
        .collect()
}

/// GNU's `last_component`: the name after the last slash, trailing slashes ignored
/// (`a/b/` → `b`, `a/.` → `.`), unlike `Path::file_name`, which skips `.`.
pub fn last_component(path: &Path) -> &OsStr {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let start = bytes[..end].iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    OsStr::from_bytes(&bytes[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_component_is_gnus() {
        for (path, want) in [("a", "a"), ("a/b", "b"), ("a/b/", "b"), ("a/.", "."), ("/x//", "x")] {
            assert_eq!(last_component(Path::new(path)), OsStr::new(want), "{path}");
        }
    }
}

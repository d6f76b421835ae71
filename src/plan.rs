//! Operands to (source, destination) pairs: `rcp a b`, `rcp a... dir`, `-t dir`, `-T`,
//! `--parents`, `--strip-trailing-slashes`, with GNU's usage errors and target checks.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, stat};
use rustix::io::Errno;

use crate::copy::Nonexistent;
use crate::error::{Error, Op};
use crate::options::{Backup, Options, UsageError};
use crate::quote::quote;

/// One copy to make: the source operand and the destination path it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub nonexistent: Nonexistent,
    /// `--parents`: the target directory the source's leading directories are made under.
    pub parents_under: Option<PathBuf>,
    /// `cp -fb f f`: the copy goes to the backup name, with no further backup.
    pub no_backup: bool,
}

/// All the pairs, and whether command-line sources and destinations are remembered (GNU
/// does so with a target directory and two or more sources).
#[derive(Debug)]
pub struct Plan {
    pub pairs: Vec<Pair>,
    pub track_operands: bool,
}

/// Why no copy can start: a usage error, or a target that is not usable.
#[derive(Debug)]
pub enum PlanError {
    Usage(UsageError),
    Target(Error),
}

pub fn plan(opts: &Options) -> Result<Plan, PlanError> {
    let operands = &opts.operands;
    let needed = if opts.target_directory.is_some() { 1 } else { 2 };
    if operands.len() < needed {
        return Err(match operands.first() {
            None => usage("missing file operand"),
            Some(only) => usage(format!("missing destination file operand after {}", quote(only))),
        });
    }
    if opts.no_target_directory {
        if opts.target_directory.is_some() {
            return Err(PlanError::Usage(UsageError::bare(
                "cannot combine --target-directory (-t) and --no-target-directory (-T)",
            )));
        }
        if let Some(extra) = operands.get(2) {
            return Err(usage(format!("extra operand {}", quote(extra))));
        }
        return two_operands(opts, &operands[0], &operands[1], false);
    }
    if let Some(dir) = &opts.target_directory {
        check_target(dir, Op::TargetDirectory)?;
        return Ok(into_directory(opts, operands, dir));
    }
    let (last, sources) = operands.split_last().expect("two or more operands");
    match stat(last) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            Ok(into_directory(opts, sources, last))
        }
        Ok(_) if sources.len() > 1 => {
            Err(PlanError::Target(Error::new(Op::Target, last, Errno::NOTDIR)))
        }
        Err(e) if sources.len() > 1 => Err(PlanError::Target(Error::new(Op::Target, last, e))),
        Ok(_) => two_operands(opts, &sources[0], last, false),
        Err(e) => two_operands(opts, &sources[0], last, e == Errno::NOENT),
    }
}

fn two_operands(opts: &Options, src: &Path, dst: &Path, missing: bool) -> Result<Plan, PlanError> {
    if opts.parents {
        return Err(usage("with --parents, the destination must be a directory"));
    }
    let nonexistent = if missing { Nonexistent::MaybeDangling } else { Nonexistent::Unknown };
    let mut pair = Pair {
        src: src.into(),
        dst: dst.into(),
        nonexistent,
        parents_under: None,
        no_backup: false,
    };
    // GNU: `cp --force --backup f f` copies f to its backup name.
    if opts.force
        && opts.backup != Backup::None
        && src == dst
        && !missing
        && stat(dst).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
    {
        pair.dst = crate::backup::backup_name(dst, opts.backup, &opts.suffix);
        pair.no_backup = true;
    }
    Ok(Plan { pairs: vec![pair], track_operands: false })
}

fn usage(message: impl Into<String>) -> PlanError {
    PlanError::Usage(UsageError::new(message))
}

fn check_target(dir: &Path, op: Op) -> Result<(), PlanError> {
    let st = stat(dir).map_err(|e| PlanError::Target(Error::new(op.clone(), dir, e)))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(PlanError::Target(Error::new(op, dir, Errno::NOTDIR)));
    }
    Ok(())
}

fn into_directory(opts: &Options, sources: &[PathBuf], dir: &Path) -> Plan {
    let pairs = sources
        .iter()
        .map(|arg| {
            let src = if opts.strip_trailing_slashes { strip_slashes(arg) } else { arg.clone() };
            let (dst, parents_under) = if opts.parents {
                (concat(dir, strip_slashes(&src).as_os_str()), Some(dir.to_path_buf()))
            } else {
                let mut base = last_component(&src);
                if base == ".." {
                    base = OsStr::new(".");
                }
                (concat(dir, base), None)
            };
            Pair { src, dst, nonexistent: Nonexistent::Unknown, parents_under, no_backup: false }
        })
        .collect();
    Plan { pairs, track_operands: sources.len() >= 2 }
}

/// gnulib's `file_name_concat`: one slash between, none added when either side has one.
pub fn concat(dir: &Path, base: &OsStr) -> PathBuf {
    let mut bytes = dir.as_os_str().as_bytes().to_vec();
    let base = base.as_bytes();
    if !bytes.ends_with(b"/") && !base.starts_with(b"/") {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(base);
    PathBuf::from(OsString::from_vec(bytes))
}

/// The path without trailing slashes (`/` stays `/`).
pub fn strip_slashes(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|&b| b != b'/').map_or(bytes.len().min(1), |i| i + 1);
    PathBuf::from(OsStr::from_bytes(&bytes[..end]))
}

/// The directory `path` is in, for `*at` calls and names beside it (`f` → `.`).
pub fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
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

    #[test]
    fn concat_is_gnus() {
        assert_eq!(concat(Path::new("d"), OsStr::new("a/b")), Path::new("d/a/b"));
        assert_eq!(concat(Path::new("d/"), OsStr::new("a")), Path::new("d/a"));
        assert_eq!(concat(Path::new("d"), OsStr::new("/a")).as_os_str(), "d/a");
        assert_eq!(strip_slashes(Path::new("a//")), Path::new("a"));
        assert_eq!(strip_slashes(Path::new("/")).as_os_str(), "/");
    }
}

//! Operands to (source, destination) pairs: `rcp a b`, `rcp a... dir`, `-t dir`, `-T`,
//! `--parents`, `--strip-trailing-slashes`, with GNU's usage errors and target checks.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{FileType, stat};
use rustix::io::Errno;

use crate::error::{Error, Op, UsageError};
use crate::options::{Backup, BasisHow, Options};
use crate::quote::quote;
use crate::sys::path::{concat, last_component, strip_slashes};

/// Whether the destination is known not to exist: `Yes`, `Unknown`, or `MaybeDangling` (it
/// does not exist, except perhaps as a dangling symlink).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonexistent {
    /// It does not exist.
    Yes,
    /// Not known: it is looked at.
    Unknown,
    /// It does not exist, except perhaps as a dangling symlink.
    MaybeDangling,
}

/// One copy to make: the source operand and the destination path it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The source operand.
    pub src: PathBuf,
    /// The path it is copied to.
    pub dst: PathBuf,
    /// What is known of the destination.
    pub nonexistent: Nonexistent,
    /// `--parents`: the target directory the source's leading directories are made under.
    pub parents_under: Option<PathBuf>,
    /// `cp -fb f f`: the copy goes to `dst`'s backup name (named by the caller, which
    /// knows backups: `backup_name`), with no further backup.
    pub onto_own_backup: bool,
}

/// All the pairs, and whether command-line sources and destinations are remembered (GNU
/// does so with a target directory and two or more sources).
#[derive(Debug, Default)]
pub struct Plan {
    /// The copies, in order.
    pub pairs: Vec<Pair>,
    /// Command-line sources and destinations are remembered.
    pub track_operands: bool,
    /// `--link-dest` and its kin: the earlier copies, found from the destination directory.
    pub bases: Option<Arc<Bases>>,
}

/// The earlier copies `Options::basis` names, as this plan's destination directory finds
/// them: an entry's path below the destination directory (the target directory, or the
/// destination itself when one source is copied as it) is looked for below each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bases {
    /// What an unchanged file gets.
    pub how: BasisHow,
    /// The destination directory.
    pub dest_dir: PathBuf,
    /// Each directory: where it is (a relative one joined to the destination directory),
    /// and as it was given (records name files by it).
    pub dirs: Vec<(PathBuf, PathBuf)>,
}

/// Why no copy can start: a usage error, or a target that is not usable.
#[derive(Debug)]
pub enum PlanError {
    /// Missing or extra operands, `-t` with `-T`...: cp's usage message.
    Usage(UsageError),
    /// The target directory cannot be used.
    Target(Error),
}

/// The copies `opts.operands` ask for: `a b`, `a... dir`, `-t dir a...`, `-T a b`,
/// `--parents`.
pub fn plan(opts: &Options) -> Result<Plan, PlanError> {
    let (mut plan, dest_dir) = pairs(opts)?;
    if let Some(basis) = &opts.basis {
        let mut dirs = Vec::new();
        for given in &basis.dirs {
            let at = found_from(&dest_dir, given);
            check_target(&at, Op::BasisDir(basis.how.option()))?;
            dirs.push((at, given.clone()));
        }
        plan.bases = Some(Arc::new(Bases { how: basis.how, dest_dir, dirs }));
    }
    Ok(plan)
}

/// The destination directory of `src` copied as `dst`: `dst` itself for a directory (its
/// entries are made in it), else the directory `dst` is made in (rsync's, for a file).
fn made_in(src: &Path, dst: &Path) -> PathBuf {
    match stat(src) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => dst.to_path_buf(),
        _ => crate::sys::path::dir_of(dst).to_path_buf(),
    }
}

/// Where `dir` (an earlier copy, as given) is from the destination directory `dest_dir`:
/// joined to it, or — where `dest_dir` is yet to be made — a leading `..` taken to its
/// parent (`today` and `../yesterday` give `./yesterday`).
fn found_from(dest_dir: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() || stat(dest_dir).is_ok() {
        return dest_dir.join(dir);
    }
    // `./../x` is `../x`.
    let mut parts = crate::sys::path::without_dots(dir).components();
    match parts.next() {
        Some(Component::ParentDir) => crate::sys::path::dir_of(dest_dir).join(parts.as_path()),
        _ => dest_dir.join(dir),
    }
}

/// The pairs, and the destination directory they are made in.
fn pairs(opts: &Options) -> Result<(Plan, PathBuf), PlanError> {
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
        let dest_dir = made_in(&operands[0], &operands[1]);
        return Ok((two_operands(opts, &operands[0], &operands[1], false)?, dest_dir));
    }
    if let Some(dir) = &opts.target_directory {
        check_target(dir, Op::TargetDirectory)?;
        return Ok((into_directory(opts, operands, dir), dir.clone()));
    }
    let (last, sources) = operands.split_last().expect("two or more operands");
    match stat(last) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            Ok((into_directory(opts, sources, last), last.clone()))
        }
        Ok(_) if sources.len() > 1 => {
            Err(PlanError::Target(Error::new(Op::Target, last, Errno::NOTDIR)))
        }
        Err(e) if sources.len() > 1 => Err(PlanError::Target(Error::new(Op::Target, last, e))),
        Ok(_) => Ok((two_operands(opts, &sources[0], last, false)?, made_in(&sources[0], last))),
        Err(e) => {
            let pair = two_operands(opts, &sources[0], last, e == Errno::NOENT)?;
            Ok((pair, made_in(&sources[0], last)))
        }
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
        onto_own_backup: false,
    };
    // GNU: `cp --force --backup f f` copies f to its backup name.
    if opts.force
        && opts.backup != Backup::None
        && src == dst
        && !missing
        && stat(dst).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
    {
        pair.onto_own_backup = true;
    }
    Ok(Plan { pairs: vec![pair], track_operands: false, bases: None })
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
            Pair {
                src,
                dst,
                nonexistent: Nonexistent::Unknown,
                parents_under,
                onto_own_backup: false,
            }
        })
        .collect();
    Plan { pairs, track_operands: sources.len() >= 2, bases: None }
}

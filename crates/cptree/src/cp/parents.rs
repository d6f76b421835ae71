//! `--parents`: the source's leading directories made under the target directory before
//! the copy (GNU's `make_dir_parents_private`), and their attributes set after it
//! (`re_protect`).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Stat, mkdirat, statat};
use rustix::io::Errno;

use crate::cp::Cp;
use crate::cp::preserve::{Made, Target};
use crate::error::{Error, Op};
use crate::sys::at::At;
use crate::sys::attr::{self, Node};

/// A leading directory of the destination whose attributes are set after the copy.
pub(crate) struct Parent {
    dst: PathBuf,
    /// The source directory it stands for (its ACLs are copied under `-p`, as GNU's
    /// `re_protect` does).
    src: PathBuf,
    src_st: Stat,
    mode: u32,
    restore_mode: bool,
}

fn is_dir(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Directory
}

/// The leading directories `make_parents` saw to.
pub(crate) struct Leading {
    /// Those whose attributes are set after the copy (deepest first).
    pub(crate) dirs: Vec<Parent>,
    /// Whether the last one was missing (GNU's `new_dst`: the destination itself is then
    /// taken not to exist); `None` when the source names no leading directory, and GNU
    /// keeps what the previous operand left.
    pub(crate) new_dst: Option<bool>,
}

/// Makes the missing leading directories of `target/src`. `Err` is why the copy cannot go
/// ahead (the caller reports it as the operand's failure).
pub(crate) fn make_parents(ctx: &mut Cp, target: &Path, src: &Path) -> Result<Leading, Error> {
    let opts = ctx.opts;
    let p = opts.preserve;
    let mut list = Vec::new();
    let mut new_dst = None;
    let rel = src.as_os_str().as_bytes();
    let Some(last_slash) = rel.iter().rposition(|&b| b == b'/') else {
        return Ok(Leading { dirs: list, new_dst });
    };
    let dst_dir = crate::sys::path::concat(target, std::ffi::OsStr::from_bytes(&rel[..last_slash]));
    match look(ctx, &dst_dir) {
        Some(true) => return Ok(Leading { dirs: list, new_dst: Some(false) }),
        Some(false) => return Err(Error::refusal(Op::NotADirectory, &dst_dir)),
        None => {}
    }
    let slashes =
        rel.iter().enumerate().filter(|&(i, &b)| b == b'/' && i > 0 && rel[i - 1] != b'/');
    for (at, _) in slashes {
        let src_prefix = Path::new(std::ffi::OsStr::from_bytes(&rel[..at]));
        let dst_prefix = crate::sys::path::concat(target, src_prefix.as_os_str());
        let existing = look(ctx, &dst_prefix);
        new_dst = Some(existing.is_none());
        let mut entry = None;
        if existing.is_none() || p.ownership || p.mode || p.timestamps {
            let src_st = match statat(CWD, src_prefix, AtFlags::empty()) {
                Ok(st) if is_dir(&st) => st,
                Ok(_) => {
                    return Err(Error::new(Op::GetAttributes, src_prefix, Errno::NOTDIR));
                }
                Err(e) => return Err(Error::new(Op::GetAttributes, src_prefix, e)),
            };
            entry = Some(Parent {
                dst: dst_prefix.clone(),
                src: src_prefix.to_path_buf(),
                src_st,
                mode: src_st.st_mode,
                restore_mode: false,
            });
        }
        match existing {
            None => {
                let parent = entry.as_mut().expect("made for missing directories");
                let src_mode = parent.src_st.st_mode;
                let mut omitted = src_mode
                    & if p.ownership {
                        0o077
                    } else if p.mode {
                        0o022
                    } else {
                        0
                    };
                let base = if p.explicit_no_mode { 0o777 } else { src_mode };
                let mkdir_mode = base & 0o7777 & !omitted;
                if !opts.dry_run
                    && let Err(e) = mkdirat(CWD, &dst_prefix, Mode::from_raw_mode(mkdir_mode))
                {
                    return Err(Error::new(Op::MakeDirectory, &dst_prefix, e));
                }
                // GNU 9.1 prints these two names unquoted.
                ctx.out.verbose_line(&format!(
                    "{} -> {}",
                    src_prefix.display(),
                    dst_prefix.display()
                ));
                if opts.dry_run {
                    // Nothing made: no attributes to set afterwards, but later operands
                    // find it there.
                    ctx.dry.plan_parent(&dst_prefix);
                    continue;
                }
                let made = match statat(CWD, &dst_prefix, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => st,
                    Err(e) => return Err(Error::new(Op::GetAttributes, &dst_prefix, e)),
                };
                if !p.mode {
                    if omitted & !made.st_mode != 0 {
                        omitted &= !ctx.env.umask;
                    }
                    if omitted & !made.st_mode != 0 || made.st_mode & 0o700 != 0o700 {
                        parent.mode = made.st_mode | omitted;
                        parent.restore_mode = true;
                    }
                }
                let accessible = made.st_mode | 0o700;
                if made.st_mode != accessible
                    && let Err(e) = attr::chmod(Node::At(&At::cwd(&dst_prefix)), accessible)
                {
                    return Err(Error::new(Op::SetPermissions, &dst_prefix, e));
                }
            }
            Some(false) => return Err(Error::refusal(Op::NotADirectory, &dst_prefix)),
            Some(true) => {}
        }
        if let Some(entry) = entry {
            list.push(entry);
        }
    }
    list.reverse();
    Ok(Leading { dirs: list, new_dst })
}

/// Whether `path` is there: `Some(true)` for a directory (or one a dry run would have
/// made), `Some(false)` for anything else, `None` if nothing is.
fn look(ctx: &Cp, path: &Path) -> Option<bool> {
    if ctx.dry.parent_planned(path) {
        return Some(true);
    }
    statat(CWD, path, AtFlags::empty()).ok().map(|st| is_dir(&st))
}

/// Sets the leading directories' attributes once the copy is done (`re_protect`).
pub(crate) fn protect(ctx: &mut Cp, parents: &[Parent]) -> bool {
    parents.iter().all(|parent| {
        let at = At::cwd(&parent.dst);
        let src = At::cwd(&parent.src);
        let restore_mode = parent.restore_mode.then_some(parent.mode);
        let target = Target {
            dst: Node::At(&at),
            src: Some(Node::At(&src)),
            src_st: &parent.src_st,
            dst_st: None,
            made: Made::Parent { restore_mode },
        };
        ctx.apply_attributes(&target).is_ok()
    })
}

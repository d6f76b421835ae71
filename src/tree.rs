//! One source operand, recursively: directories (mode set after their contents), regular
//! files (through `file`), symlinks copied as symlinks, fifos and device nodes recreated.

use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Stat, chmodat, lstat, mkdirat, mknodat, stat};
use rustix::fs::{mkfifoat, readlinkat, symlinkat, unlinkat};
use rustix::io::Errno;
use walkdir::WalkDir;

use crate::engine::Worker;
use crate::error::{Error, Op};
use crate::file::{FileError, copy_file};
use crate::options::Options;
use crate::plan::Pair;
use crate::report::{Entry, Kind, Reporter};

/// What the copy of a whole run shares: options, the worker, the reporter, the error flag.
pub struct Ctx<'a> {
    pub opts: &'a Options,
    pub worker: Worker,
    pub out: Reporter,
    pub umask: u32,
    pub failed: bool,
}

/// A directory rcp created whose final mode waits until its contents are copied.
struct PendingDir {
    depth: usize,
    path: PathBuf,
    mode: u32,
}

/// Copies one operand pair; failures are reported and flagged, never returned.
pub fn copy_operand(pair: &Pair, ctx: &mut Ctx) {
    let (src, dst) = (pair.src.as_path(), pair.dst.as_path());
    // GNU: command-line symlinks are followed unless copying recursively.
    let follow = !ctx.opts.recursive;
    let st = match if follow { stat(src) } else { lstat(src) } {
        Ok(st) => st,
        Err(e) => return ctx.fail(&Error::new(Op::Stat, src, e)),
    };
    match kind_of(&st) {
        Kind::Dir if !ctx.opts.recursive => ctx.fail(&Error::refusal(Op::OmitDirectory, src)),
        Kind::Dir => copy_tree(src, dst, ctx),
        kind => copy_entry(src, dst, kind, follow, ctx),
    }
}

fn kind_of_type(file_type: std::fs::FileType) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        Kind::Dir
    } else if file_type.is_symlink() {
        Kind::Symlink
    } else if file_type.is_fifo() {
        Kind::Fifo
    } else if file_type.is_char_device() {
        Kind::CharDevice
    } else if file_type.is_block_device() {
        Kind::BlockDevice
    } else if file_type.is_socket() {
        Kind::Socket
    } else {
        Kind::File
    }
}

fn kind_of(st: &Stat) -> Kind {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Fifo,
        FileType::CharacterDevice => Kind::CharDevice,
        FileType::BlockDevice => Kind::BlockDevice,
        FileType::Socket => Kind::Socket,
        _ => Kind::File,
    }
}

/// Copies a non-directory. Outside `-r`, fifos and devices are read as data, as GNU does.
fn copy_entry(src: &Path, dst: &Path, kind: Kind, follow: bool, ctx: &mut Ctx) {
    ctx.out.starting(src, dst);
    let recreate = ctx.opts.recursive;
    let (kind, result) = match kind {
        Kind::Symlink => (kind, copy_symlink(src, dst).map(|()| None)),
        Kind::Fifo | Kind::CharDevice | Kind::BlockDevice | Kind::Socket if recreate => {
            (kind, make_special(src, dst).map(|()| None))
        }
        _ => {
            let result = copy_file(src, dst, follow, ctx.opts.policy, &mut ctx.worker);
            (Kind::File, result.map(Some))
        }
    };
    let (record, error) = match &result {
        Ok(record) => (record.as_ref(), None),
        Err(FileError { error, record }) => (record.as_ref(), Some(error)),
    };
    ctx.failed |= error.is_some();
    ctx.out.finished(Entry { src, dst, kind, record, error });
}

fn copy_tree(src_root: &Path, dst_root: &Path, ctx: &mut Ctx) {
    // Like GNU, make the destination before reading the source, so that a destination inside
    // the source is among the entries the walk meets.
    let root_mode = match make_dir(src_root, dst_root, ctx) {
        Ok(mode) => mode,
        Err(error) => return ctx.fail(&error),
    };
    let mut pending: Vec<PendingDir> = root_mode
        .map(|mode| PendingDir { depth: 0, path: dst_root.to_path_buf(), mode })
        .into_iter()
        .collect();
    // The destination directory's identity, to stop where the walk would enter it.
    let top = lstat(dst_root).ok().map(|st| (st.st_dev, st.st_ino));
    // Entries in inode order, as GNU's savedir gives them: the same order as cp, and fewer
    // seeks on ext4.
    let mut walk = WalkDir::new(src_root)
        .follow_links(false)
        .min_depth(1)
        .sort_by(|a, b| walkdir::DirEntryExt::ino(a).cmp(&walkdir::DirEntryExt::ino(b)))
        .into_iter();
    while let Some(next) = walk.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(src_root).to_path_buf();
                let errno = err.io_error().and_then(|e| e.raw_os_error());
                let errno = errno.map_or(Errno::IO, Errno::from_raw_os_error);
                ctx.fail(&Error::new(Op::Access, path, errno));
                continue;
            }
        };
        finish_dirs(&mut pending, entry.depth(), ctx);
        let src = entry.path();
        let Ok(rel) = src.strip_prefix(src_root) else { continue };
        let dst = dst_root.join(rel);
        let kind = kind_of_type(entry.file_type());
        if kind != Kind::Dir {
            copy_entry(src, &dst, kind, false, ctx);
            continue;
        }
        if is_destination(&entry, top) {
            // GNU's rule: copy in readdir order until the walk reaches the copy itself.
            ctx.fail(&Error::refusal(Op::IntoItself(dst_root.to_path_buf()), src_root));
            break;
        }
        match make_dir(src, &dst, ctx) {
            Ok(Some(mode)) => pending.push(PendingDir { depth: entry.depth(), path: dst, mode }),
            Ok(None) => {}
            Err(error) => {
                ctx.fail(&error);
                walk.skip_current_dir();
            }
        }
    }
    finish_dirs(&mut pending, 0, ctx);
}

/// Whether this source directory is the operand's destination directory itself.
fn is_destination(entry: &walkdir::DirEntry, top: Option<(u64, u64)>) -> bool {
    use walkdir::DirEntryExt;
    let Some((dev, ino)) = top else { return false };
    entry.ino() == ino && lstat(entry.path()).is_ok_and(|st| st.st_dev == dev)
}

/// Creates `dst` for the directory `src` (or accepts an existing directory there). Returns
/// the mode to set once its contents are in, when the one it was created with differs.
fn make_dir(src: &Path, dst: &Path, ctx: &mut Ctx) -> Result<Option<u32>, Error> {
    let st = lstat(src).map_err(|e| Error::new(Op::Stat, src, e))?;
    let mode = st.st_mode & 0o777 & !ctx.umask;
    // Owner rwx while we fill it; group and other never get more than they end with.
    let working = mode | 0o700;
    match mkdirat(CWD, dst, Mode::from_raw_mode(working)) {
        Ok(()) => {
            ctx.out.starting(src, dst);
            ctx.out.finished(Entry { src, dst, kind: Kind::Dir, record: None, error: None });
            Ok((working != mode).then_some(mode))
        }
        Err(Errno::EXIST) => match lstat(dst) {
            Ok(d) if FileType::from_raw_mode(d.st_mode) == FileType::Directory => Ok(None),
            _ => Err(Error::refusal(Op::OverwriteNonDirectory(src.to_path_buf()), dst)),
        },
        Err(e) => Err(Error::new(Op::CreateDir, dst, e)),
    }
}

/// Sets the final mode of pending directories at `depth` or deeper: their walk is over.
fn finish_dirs(pending: &mut Vec<PendingDir>, depth: usize, ctx: &mut Ctx) {
    while pending.last().is_some_and(|p| p.depth >= depth) {
        let dir = pending.pop().expect("checked by the loop condition");
        if let Err(e) = chmodat(CWD, &dir.path, Mode::from_raw_mode(dir.mode), AtFlags::empty()) {
            ctx.fail(&Error::new(Op::SetPermissions, &dir.path, e));
        }
    }
}

fn copy_symlink(src: &Path, dst: &Path) -> Result<(), FileError> {
    let target = readlinkat(CWD, src, Vec::new()).map_err(|e| Error::new(Op::ReadLink, src, e))?;
    create_replacing(src, dst, Op::CreateSymlink, || symlinkat(target.as_c_str(), CWD, dst))
}

fn make_special(src: &Path, dst: &Path) -> Result<(), FileError> {
    let st = lstat(src).map_err(|e| Error::new(Op::Stat, src, e))?;
    let file_type = FileType::from_raw_mode(st.st_mode);
    let perm = Mode::from_raw_mode(st.st_mode & 0o777);
    if file_type == FileType::Fifo {
        create_replacing(src, dst, Op::CreateFifo, || mkfifoat(CWD, dst, perm))
    } else {
        let dev = st.st_rdev;
        create_replacing(src, dst, Op::CreateSpecial, || mknodat(CWD, dst, file_type, perm, dev))
    }
}

/// Runs `create`; if `dst` exists and is not a directory (nor `src` itself), removes it and
/// tries once more, as GNU cp does for sources that are not regular files.
fn create_replacing(
    src: &Path,
    dst: &Path,
    op: Op,
    create: impl Fn() -> rustix::io::Result<()>,
) -> Result<(), FileError> {
    match create() {
        Ok(()) => return Ok(()),
        Err(Errno::EXIST) => {}
        Err(e) => return Err(Error::new(op, dst, e).into()),
    }
    let (src_st, dst_st) = match (lstat(src), lstat(dst)) {
        (Ok(s), Ok(d)) => (s, d),
        (_, Err(e)) | (Err(e), _) => return Err(Error::new(op, dst, e).into()),
    };
    if (src_st.st_dev, src_st.st_ino) == (dst_st.st_dev, dst_st.st_ino) {
        return Err(Error::refusal(Op::SameFile(dst.to_path_buf()), src).into());
    }
    if FileType::from_raw_mode(dst_st.st_mode) == FileType::Directory {
        return Err(Error::refusal(Op::OverwriteDirectory, dst).into());
    }
    unlinkat(CWD, dst, AtFlags::empty()).map_err(|e| Error::new(Op::Remove, dst, e))?;
    create().map_err(|e| Error::new(op, dst, e).into())
}

impl Ctx<'_> {
    /// Reports an error that has no engine record and marks the run as failed.
    pub fn fail(&mut self, error: &Error) {
        self.failed = true;
        self.out.error(error);
    }
}

//! One regular file: open the source, create (or open and truncate) the destination, run the
//! engine, and remove the destination again if rcp created it and the copy failed.

use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat, fstat, openat, stat, unlinkat};
use rustix::io::Errno;

use crate::engine::{self, Copied, Dest, Failure, Policy, Source, Stage, Worker};
use crate::error::{Error, Op};

/// A failed file copy: the message, and the engine's record when it got that far.
#[derive(Debug)]
pub struct FileError {
    pub error: Error,
    pub record: Option<Copied>,
}

impl From<Error> for FileError {
    fn from(error: Error) -> Self {
        FileError { error, record: None }
    }
}

/// Copies the file at `src` to `dst`. `follow` allows `src` itself to be a symlink.
pub fn copy_file(
    src: &Path,
    dst: &Path,
    follow: bool,
    policy: Policy,
    w: &mut Worker,
) -> Result<Copied, FileError> {
    let nofollow = if follow { OFlags::empty() } else { OFlags::NOFOLLOW };
    let src_fd = openat(CWD, src, OFlags::RDONLY | OFlags::CLOEXEC | nofollow, Mode::empty())
        .map_err(|e| Error::new(Op::OpenRead, src, e))?;
    let src_st = fstat(&src_fd).map_err(|e| Error::new(Op::Fstat, src, e))?;
    let (dst_fd, created) = open_destination(src, dst, &src_st)?;
    let dst_st = fstat(&dst_fd).map_err(|e| Error::new(Op::Fstat, dst, e))?;

    let source = Source {
        fd: src_fd.as_fd(),
        dev: src_st.st_dev,
        size: src_st.st_size as u64,
        blocks: src_st.st_blocks as u64,
        regular: FileType::from_raw_mode(src_st.st_mode) == FileType::RegularFile,
    };
    let dest = Dest {
        fd: dst_fd.as_fd(),
        dev: dst_st.st_dev,
        regular: FileType::from_raw_mode(dst_st.st_mode) == FileType::RegularFile,
    };
    let result = engine::copy(&source, &dest, policy, w);
    drop(src_fd);
    let closed = close(dst_fd).map_err(|e| Error::new(Op::Close, dst, e));
    let outcome = match (result, closed) {
        (Ok(record), Ok(())) => return Ok(record),
        (Ok(record), Err(error)) => FileError { error, record: Some(record) },
        (Err(failure), _) => failure_error(src, dst, failure),
    };
    if created {
        // Never leave a torn file that looks complete; a failed unlink changes nothing more.
        let _ = unlinkat(CWD, dst, AtFlags::empty());
    }
    Err(outcome)
}

/// Creates `dst` exclusively, or — when it exists — checks it is not the source or a
/// directory and opens it for truncation, as GNU cp does. Returns whether it was created.
fn open_destination(src: &Path, dst: &Path, src_st: &Stat) -> Result<(OwnedFd, bool), Error> {
    let mode = Mode::from_raw_mode(src_st.st_mode & 0o777);
    let create = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    match openat(CWD, dst, create, mode) {
        Ok(fd) => return Ok((fd, true)),
        Err(Errno::EXIST) => {}
        Err(e) => return Err(Error::new(Op::CreateRegular, dst, e)),
    }
    let dst_st = match stat(dst) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Err(Error::refusal(Op::DanglingSymlink, dst)),
        Err(e) => return Err(Error::new(Op::Stat, dst, e)),
    };
    if (dst_st.st_dev, dst_st.st_ino) == (src_st.st_dev, src_st.st_ino) {
        return Err(Error::refusal(Op::SameFile(dst.to_path_buf()), src));
    }
    if FileType::from_raw_mode(dst_st.st_mode) == FileType::Directory {
        return Err(Error::refusal(Op::OverwriteDirectory, dst));
    }
    let fd = openat(CWD, dst, OFlags::WRONLY | OFlags::TRUNC | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::new(Op::OpenWrite, dst, e))?;
    Ok((fd, false))
}

/// Closes `fd` and reports the error (NFS reports write-back failures here).
fn close(fd: OwnedFd) -> Result<(), Errno> {
    // SAFETY: the fd is owned and closed exactly once, here.
    unsafe { rustix::io::try_close(fd.into_raw_fd()) }
}

fn failure_error(src: &Path, dst: &Path, failure: Failure) -> FileError {
    let (op, path) = match failure.stage {
        Stage::Clone => (Op::CloneFrom(src.to_path_buf()), dst),
        Stage::Copy => (Op::CopyTo(dst.to_path_buf()), src),
        Stage::Read => (Op::Read, src),
        Stage::Seek => (Op::Seek, src),
        Stage::Write => (Op::Write, dst),
        Stage::Extend => (Op::Extend, dst),
    };
    FileError { error: Error::new(op, path, failure.errno), record: Some(failure.record) }
}

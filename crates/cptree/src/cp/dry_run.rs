//! `--dry-run`: every decision of a real run, with the writes left out. `Cp`'s phases run
//! as they always do and ask here where they would change the destination: a backup or a
//! removal is only named, a link or symlink only checked for what is in its way, a
//! directory that would be made is planned (the walk goes on below it with nothing there),
//! and a regular file's source is opened as a real run opens it while its copy path is
//! predicted from the filesystems at both ends (`engine::predict`).

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::file::{self, FileError};
use crate::error::{Error, Op};
use crate::options::Options;
use crate::sys::at::At;
use crate::sys::create::Made;
use crate::sys::fs::nearest_filesystem;
use crate::sys::is;
use crate::sys::path::dir_of;
use copychain::fs::Filesystem;
use copychain::{self as engine, Copied, Landing, Source};

/// What a dry run keeps in place of what it did not make.
#[derive(Default)]
pub(crate) struct Planned {
    /// The filesystems met so far, by device.
    filesystems: HashMap<u64, Filesystem>,
    /// `--parents`' leading directories that would have been made.
    parents: HashSet<PathBuf>,
}

/// One regular file a dry run predicts the copy of.
pub(crate) struct Forecast<'f> {
    pub(crate) src: &'f At,
    pub(crate) src_st: &'f Stat,
    /// The source may be reached through a final symlink.
    pub(crate) follow: bool,
    /// The source, if the walk opened it already.
    pub(crate) opened: Option<OwnedFd>,
    pub(crate) dst: &'f At,
    /// The destination a real run would write into, if one is there.
    pub(crate) existing: Option<&'f Stat>,
    /// The device of the directory the destination is in, when known.
    pub(crate) dir_dev: Option<u64>,
    /// `--resume`: the length of the existing destination a real run would go on from if
    /// its bytes are the source's.
    pub(crate) resume_from: u64,
}

impl Planned {
    /// `--parents` would have made the directory `path`.
    pub(crate) fn plan_parent(&mut self, path: &Path) {
        self.parents.insert(path.to_path_buf());
    }

    /// Whether `--parents` would have made the directory `path` for an earlier operand.
    pub(crate) fn parent_planned(&self, path: &Path) -> bool {
        !self.parents.is_empty() && self.parents.contains(path)
    }

    /// What copying `f` would do (nothing to say under `--attributes-only`): its source
    /// opened as a real run opens it (an unreadable one fails the same way), and the copy
    /// path predicted. `Err` if the source cannot be opened or the copy would fail
    /// (`--reflink=always` where nothing can clone).
    pub(crate) fn predict(
        &mut self,
        f: Forecast,
        opts: &Options,
    ) -> Result<Option<Copied>, FileError> {
        let regular = is(f.src_st.st_mode, FileType::RegularFile);
        // A pipe or device read as data (`--copy-contents`) is not opened: that can block.
        let fd = match f.opened {
            Some(fd) => Some(fd),
            None if regular => Some(file::open_source(f.src, f.src_st, f.follow)?.0),
            None => None,
        };
        if !opts.data {
            return Ok(None);
        }
        let dev = f.src_st.st_dev;
        let from = match &fd {
            Some(fd) => self.filesystem(dev, || Filesystem::of(fd.as_fd())),
            None => Ok(Landing { dev, fs: Filesystem::unknown() }),
        }
        .map_err(|e| Error::new(Op::Fstat, f.src.path(), e))?;
        let to = self.landing(f.dst.path(), f.existing.map(|d| d.st_dev).or(f.dir_dev))?;
        let source = Source {
            // Predicting needs only the file's shape: a special file has no fd here.
            fd: fd.as_ref().map_or(rustix::fs::CWD, |fd| fd.as_fd()),
            dev,
            size: if regular { f.src_st.st_size as u64 } else { 0 },
            blocks: f.src_st.st_blocks as u64,
            regular,
        };
        let dst_regular = f.existing.is_none_or(|d| is(d.st_mode, FileType::RegularFile));
        let start = match (f.resume_from, &fd) {
            (0, _) | (_, None) => 0,
            (len, Some(fd)) => kept_prefix(fd, f.dst, len),
        };
        engine::predict(&source, (&from, &to), dst_regular, start, opts.policy).map(Some).map_err(
            |failure| {
                // The only failure foreseen is a clone that had to work: a real run leaves
                // an existing destination as it was then (`file::empty_once_clonable`).
                let error = file::failure_error(f.src.path(), f.dst.path(), failure);
                FileError { incomplete: false, ..error }
            },
        )
    }

    /// Where an entry at `dst` would land: the device `dev` (the destination's own, or its
    /// directory's) when known, and its filesystem; else those of the nearest directory
    /// above it that exists.
    pub(crate) fn landing(&mut self, dst: &Path, dev: Option<u64>) -> Result<Landing, Error> {
        if let Some(dev) = dev
            && let Some(fs) = self.filesystems.get(&dev)
        {
            return Ok(Landing { dev, fs: *fs });
        }
        let dir = dir_of(dst);
        let (dir_dev, fs) = nearest_filesystem(dir).map_err(|e| Error::new(Op::Stat, dir, e))?;
        let dev = dev.unwrap_or(dir_dev);
        self.filesystems.insert(dev, fs);
        Ok(Landing { dev, fs })
    }

    /// The filesystem on `dev`, found by `probe` the first time.
    fn filesystem(
        &mut self,
        dev: u64,
        probe: impl FnOnce() -> Result<Filesystem, Errno>,
    ) -> Result<Landing, Errno> {
        let fs = match self.filesystems.get(&dev) {
            Some(fs) => *fs,
            None => *self.filesystems.entry(dev).or_insert(probe()?),
        };
        Ok(Landing { dev, fs })
    }
}

/// What making an entry where something is (`there`) or is not would do: make it new,
/// replace it if it may, or fail as `link`/`symlink` would (EEXIST).
pub(crate) fn would_make(there: bool, replace: bool) -> Result<Made, Errno> {
    match (there, replace) {
        (false, _) => Ok(Made::New),
        (true, true) => Ok(Made::Replaced),
        (true, false) => Err(Errno::EXIST),
    }
}

/// `--resume`: how much of the existing destination a real run would keep: `len` bytes if
/// they are the source's (both read, as the real run reads them), else nothing.
fn kept_prefix(src: &OwnedFd, dst: &At, len: u64) -> u64 {
    let same = dst
        .open(OFlags::RDONLY, Mode::empty())
        .and_then(|d| engine::same_bytes(src.as_fd(), d.as_fd(), len));
    if same == Ok(true) { len } else { 0 }
}

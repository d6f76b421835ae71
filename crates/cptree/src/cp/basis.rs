//! `--link-dest`, `--copy-dest`, `--compare-dest` (rsync's): a regular file's earlier copy
//! at the same path below an earlier snapshot, and whether it is unchanged — the same size
//! and modification time, and with `-p`/`-a` the same mode (and owner, where owners are
//! kept): rsync's quick check. The earlier copy is found one component at a time below the
//! snapshot's directory, never through a symlink: a symlink the source held on an earlier
//! night (and the snapshot copied) must not lead the copy to a file elsewhere.

use std::path::{Path, PathBuf};

use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, statat};

use crate::options::Attributes;
use crate::plan::Bases;
use crate::report::Earlier;
use crate::sys::at::{At, DirFd, open_beneath};
use crate::sys::path::without_dots;
use crate::sys::{ino, is};

/// A regular file's unchanged earlier copy.
pub(crate) struct Found {
    pub(crate) at: At,
    pub(crate) st: Stat,
    pub(crate) earlier: Earlier,
}

/// The directories of the earlier copies opened last, each with the path below it: the
/// walk looks a directory's files up one after another, so one open serves them all.
#[derive(Default)]
pub(crate) struct Looked(Vec<Option<(PathBuf, Option<DirFd>)>>);

impl Looked {
    /// The directory `below` in earlier copy `i` (at `dir`), if it is there.
    fn dir(&mut self, i: usize, dir: &Path, below: &Path) -> Option<DirFd> {
        if self.0.len() <= i {
            self.0.resize_with(i + 1, || None);
        }
        match &self.0[i] {
            Some((path, fd)) if path == below => fd.clone(),
            _ => {
                let fd = open_beneath(dir, below).ok();
                self.0[i] = Some((below.to_path_buf(), fd.clone()));
                fd
            }
        }
    }
}

/// rsync's quick check: `earlier` has `src`'s size and modification time (to the
/// nanosecond), and the mode and owner that the copy would give it.
fn unchanged(src: &Stat, earlier: &Stat, p: Attributes) -> bool {
    src.st_size == earlier.st_size
        && (src.st_mtime, src.st_mtime_nsec) == (earlier.st_mtime, earlier.st_mtime_nsec)
        && (!p.mode || src.st_mode & 0o7777 == earlier.st_mode & 0o7777)
        && (!p.ownership || (src.st_uid, src.st_gid) == (earlier.st_uid, earlier.st_gid))
}

/// The first of `bases`' earlier copies of the regular file `src_st` to be copied to
/// `dst` in which it is unchanged.
pub(crate) fn find(
    bases: &Bases,
    looked: &mut Looked,
    (dst, src_st): (&Path, &Stat),
    preserve: Attributes,
) -> Option<Found> {
    let rel = below(&bases.dest_dir, dst)?;
    let (below, name) = (rel.parent()?, rel.file_name()?);
    for (i, (dir, given)) in bases.dirs.iter().enumerate() {
        let Some(fd) = looked.dir(i, dir, below) else { continue };
        let Ok(st) = statat(&*fd, name, AtFlags::SYMLINK_NOFOLLOW) else { continue };
        if is(st.st_mode, FileType::RegularFile) && unchanged(src_st, &st, preserve) {
            let at = At::child(&fd, &dir.join(below), name);
            let bytes = st.st_size as u64;
            let earlier = Earlier { path: given.join(rel), how: bases.how, bytes };
            return Some(Found { at, st, earlier });
        }
    }
    None
}

/// `dst`'s path below the destination directory `dest_dir` (`.` and `./x` alike).
fn below<'p>(dest_dir: &Path, dst: &'p Path) -> Option<&'p Path> {
    if without_dots(dest_dir).as_os_str().is_empty() {
        return Some(without_dots(dst));
    }
    dst.strip_prefix(dest_dir).ok()
}

/// `--verify`: whether the earlier copy has the source's bytes (both read; a source that
/// cannot be read compares unequal, and is then copied, failing there as it should).
pub(crate) fn same_bytes(src: &At, found: &Found) -> bool {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY;
    let (Ok(a), Ok(b)) = (src.open(flags, Mode::empty()), found.at.open(flags, Mode::empty()))
    else {
        return false;
    };
    let len = found.st.st_size as u64;
    copychain::same_data(a.as_fd(), b.as_fd(), len).unwrap_or(false)
}

/// Whether `dst` is now the file `earlier` describes.
pub(crate) fn linked_to(dst: &At, earlier: &Stat) -> bool {
    dst.lstat().is_ok_and(|st| ino(&st) == ino(earlier))
}

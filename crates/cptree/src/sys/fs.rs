//! Where a path is, for the checks made before anything is opened: whether it is inside a
//! directory (into-itself, a report file inside a source), and the filesystem the nearest
//! existing directory above it is on (`--dry-run`'s prediction). What a filesystem can do is
//! the engine's (`copychain::fs`).

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use copychain::fs::Filesystem;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, fstat, openat, statat};
use rustix::io::Errno;

use super::{Ino, ino};

/// The filesystem an entry at `path` is on, or would be made on: that of its nearest
/// existing ancestor directory (a dry run's directories above it may not exist yet).
/// Returns that directory's device too.
pub(crate) fn nearest_filesystem(path: &Path) -> Result<(u64, Filesystem), Errno> {
    let dir = existing_directory(path)?;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = openat(CWD, &dir, flags, Mode::empty())?;
    Ok((fstat(&fd)?.st_dev, Filesystem::of(fd.as_fd())?))
}

/// Whether `path`, or where it would be made, is inside the directory `dir` (or is it):
/// its nearest existing directory or one above that (through `..`) is `dir`.
pub(crate) fn is_within(path: &Path, dir: Ino) -> bool {
    let Ok(mut at) = existing_directory(path) else { return false };
    let mut last = None;
    while let Ok(st) = statat(CWD, &at, AtFlags::empty()) {
        let id = ino(&st);
        if id == dir {
            return true;
        }
        if last == Some(id) {
            return false;
        }
        last = Some(id);
        at.push("..");
    }
    false
}

/// The nearest directory at or above `path` that exists (`.` for a relative path none of
/// whose leading parts does).
fn existing_directory(path: &Path) -> Result<PathBuf, Errno> {
    for at in path.ancestors() {
        let probe = if at.as_os_str().is_empty() { Path::new(".") } else { at };
        match statat(CWD, probe, AtFlags::empty()) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Ok(probe.to_path_buf());
            }
            Ok(_) | Err(Errno::NOENT | Errno::NOTDIR) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Errno::NOENT)
}

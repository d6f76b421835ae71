//! Where `--report-file` is written: under a temporary name beside the file it names
//! (through symlinks), renamed over that name once the report is complete — and only if
//! the name still leads where it led when rcp started. Nothing a copy reads or writes is
//! truncated while it runs, however the report's name reaches it (a hard link, a symlink
//! followed by `-L`, a backup renamed onto it). Pipes, devices and names of open files
//! (`/dev/stdout`, `/proc/self/fd/N`) are written directly; rcp's own standard output or
//! error through that very stream.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use crate::quote::quote;
use crate::sys::at::At;
use crate::sys::path::dir_of;
use crate::sys::{Ino, ino, is};

/// A report being written to a temporary, for `commit` to put in place.
pub struct Placed {
    temp: At,
    target: At,
    /// What the name led to when the report was opened (`None`: nothing).
    was: Option<Ino>,
}

/// `path`, then each name its last component's symlink leads to, in turn (at most 40).
fn hops(path: &Path) -> impl Iterator<Item = PathBuf> {
    std::iter::successors(Some(path.to_path_buf()), |at| {
        std::fs::read_link(at).ok().map(|target| match target.is_absolute() {
            true => target,
            false => dir_of(at).join(target),
        })
    })
    .take(41)
}

/// The file `path` names once symlinks in its last component are followed (a dangling
/// one names where it points).
pub(crate) fn resolve(path: &Path) -> PathBuf {
    hops(path).last().unwrap_or_else(|| path.to_path_buf())
}

/// Opens the report for `path`: a temporary beside the file it names, or that file itself
/// when it is not a regular file (a pipe, `/dev/stdout`), when it names a file this process
/// already has open (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`: the caller's stream,
/// whatever it leads to), or when nothing can be made beside it.
pub fn open(path: &Path) -> io::Result<(File, Option<Placed>)> {
    let st = rustix::fs::stat(path).ok();
    let id = st.map(|st| ino(&st));
    // Our own standard output or error (`--report-file=/dev/stdout > out`): written through
    // that same open file, so that what else rcp prints there is not overwritten from a
    // second offset.
    let own = [rustix::stdio::stdout(), rustix::stdio::stderr()]
        .into_iter()
        .find(|fd| id.is_some() && rustix::fs::fstat(fd).ok().map(|f| ino(&f)) == id);
    if let Some(fd) = own.filter(|_| names_an_open_file(path)) {
        return Ok((File::from(rustix::io::fcntl_dupfd_cloexec(fd, 3)?), None));
    }
    let streamed = st.is_some_and(|st| !is(st.st_mode, FileType::RegularFile));
    if streamed || names_an_open_file(path) {
        return File::create(path).map(|file| (file, None));
    }
    let target = resolve(path);
    let existing = rustix::fs::lstat(&target).ok();
    let regular = existing.is_none_or(|st| is(st.st_mode, FileType::RegularFile));
    if regular {
        let target_at = At::cwd(&target);
        for _ in 0..100 {
            let temp = crate::sys::create::temp_beside(&target_at);
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
            match temp.open(flags, Mode::from_raw_mode(0o666)) {
                Ok(fd) => {
                    let was = existing.map(|st| ino(&st));
                    return Ok((File::from(fd), Some(Placed { temp, target: target_at, was })));
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(_) => break,
            }
        }
    }
    Ok((File::create(&target)?, None))
}

/// Whether `path` leads through procfs (`/dev/stdout` → `/proc/self/fd/1`, `/dev/fd/N`,
/// `/proc/PID/fd/N`): a link there names a file some process has open, not a place beside
/// which a report could be written (a pipe's says `pipe:[N]`).
fn names_an_open_file(path: &Path) -> bool {
    const PROC: u32 = 0x0000_9fa0;
    hops(path).any(|at| rustix::fs::statfs(dir_of(&at)).is_ok_and(|fs| fs.f_type as u32 == PROC))
}

impl Placed {
    /// Renames the complete report over its name, if that name still leads where it did;
    /// else leaves it at its temporary name and says why (the message, without `rcp: `).
    pub fn commit(&self) -> Result<(), String> {
        let now = self.target.lstat().ok().map(|st| ino(&st));
        if now != self.was {
            let (temp, target) = (quote(self.temp.path()), quote(self.target.path()));
            return Err(format!("the report is in {temp}: {target} was replaced during the copy"));
        }
        self.temp.rename_to(&self.target).map_err(|e| {
            let _ = self.temp.unlink();
            let target = quote(self.target.path());
            format!("cannot create report file {target}: {}", crate::error::strerror(e))
        })
    }

    /// The report is abandoned: its temporary goes.
    pub fn discard(&self) {
        let _ = self.temp.unlink();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_to_a_report_is_followed_to_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::symlink("reports/today.json", d.join("latest")).unwrap();
        assert_eq!(resolve(&d.join("latest")), d.join("reports/today.json"));
        assert_eq!(resolve(&d.join("plain")), d.join("plain"));
    }
}

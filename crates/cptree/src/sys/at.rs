//! Names relative to open directories. The walk opens each directory once (never through a
//! symlink unless asked to dereference) and names its entries relative to that fd, so a
//! syscall resolves a single component: a directory swapped for a symlink mid-run is never
//! followed, and trees deeper than PATH_MAX copy. The full path is kept for messages only.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat, fstat, openat, statat};
use rustix::io::Errno;

use super::path::{concat, dir_of, last_component};

/// A directory entry: `name` under the open directory `dir` (or, for command-line
/// operands, `name` is the whole path, relative to the working directory), and the
/// full `path` it is shown as. The default is no entry at all (an empty name, which no
/// syscall resolves).
#[derive(Clone, Debug, Default)]
pub(crate) struct At {
    dir: Option<Arc<OwnedFd>>,
    /// The full path; the name is its tail from `name_at` (one allocation per entry).
    path: PathBuf,
    name_at: usize,
}

/// An open directory of the walk, shared by its entries (and the workers filling them).
pub(crate) type DirFd = Arc<OwnedFd>;

impl At {
    /// A command-line name, resolved from the working directory as the user gave it.
    pub(crate) fn cwd(path: &Path) -> At {
        At { dir: None, path: path.to_path_buf(), name_at: 0 }
    }

    /// `--dry-run`: the entry `name` of a directory `parent` that a real run would have
    /// made: named by its whole path, where nothing is found.
    pub(crate) fn planned(parent: &Path, name: &OsStr) -> At {
        At { name_at: 0, ..At::in_dir(None, parent, name) }
    }

    /// The entry `name` of the open directory `dir`, shown as `parent/name`.
    pub(crate) fn child(dir: &DirFd, parent: &Path, name: &OsStr) -> At {
        At::in_dir(Some(dir.clone()), parent, name)
    }

    /// `name` under `dir`, shown as `parent/name` (GNU's `file_name_concat`: `d//` and `f`
    /// show as `d/f`).
    fn in_dir(dir: Option<DirFd>, parent: &Path, name: &OsStr) -> At {
        let path = concat(parent, name);
        let name_at = path.as_os_str().len() - name.len();
        At { dir, path, name_at }
    }

    /// The directory fd syscalls resolve `name` from.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_ref().map_or(CWD, |d| d.as_fd())
    }

    /// The name syscalls take (one component under a walked directory).
    pub(crate) fn name(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path.as_os_str().as_bytes()[self.name_at..]))
    }

    /// The path messages show.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Another entry of the same directory.
    pub(crate) fn sibling(&self, base: &OsStr) -> At {
        match &self.dir {
            Some(_) => At::in_dir(self.dir.clone(), dir_of(&self.path), base),
            None => At::cwd(&dir_of(&self.path).join(base)),
        }
    }

    /// Another entry `name` of the same directory, in place of this one (what `At::child`
    /// would make of it, without allocating once the path buffer is big enough).
    pub(crate) fn rename(&mut self, name: &OsStr) {
        if self.dir.is_none() {
            *self = At::planned(dir_of(&self.path), name);
            return;
        }
        let mut bytes = std::mem::take(&mut self.path).into_os_string().into_vec();
        bytes.truncate(self.name_at);
        bytes.extend_from_slice(name.as_bytes());
        self.path = PathBuf::from(OsString::from_vec(bytes));
    }

    /// This name with `suffix` appended (trailing slashes dropped first): `f` → `f~`.
    pub(crate) fn with_suffix(&self, suffix: &[u8]) -> At {
        // The name is the path's tail, so it keeps its start.
        At { dir: self.dir.clone(), path: append(&self.path, suffix), name_at: self.name_at }
    }

    /// The last component of the name (what a backup or temporary name is built from).
    pub(crate) fn base(&self) -> &OsStr {
        last_component(self.name())
    }

    /// A path the `l*xattr` calls (which have no `*at` form) resolve to this entry without
    /// following any symlink but the walk's own pinned directory: `/proc/self/fd/N/name`.
    /// Falls back to the full path where /proc is missing.
    pub(crate) fn xattr_path(&self) -> PathBuf {
        match self.dir.as_ref().and_then(|dir| fd_path(dir.as_fd())) {
            Some(dir) => dir.join(self.name()),
            None => self.path.clone(),
        }
    }

    pub(crate) fn lstat(&self) -> Result<Stat, Errno> {
        statat(self.fd(), self.name(), AtFlags::SYMLINK_NOFOLLOW)
    }

    pub(crate) fn stat(&self) -> Result<Stat, Errno> {
        statat(self.fd(), self.name(), AtFlags::empty())
    }

    /// `stat` when `follow`, else `lstat`.
    pub(crate) fn stat_as(&self, follow: bool) -> Result<Stat, Errno> {
        if follow { self.stat() } else { self.lstat() }
    }

    /// `openat`. An open that blocks (a fifo with no writer) and is interrupted by a signal
    /// telling rcp to stop gives up with ECANCELED; by any other signal, it is retried.
    pub(crate) fn open(&self, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
        loop {
            match openat(self.fd(), self.name(), flags | OFlags::CLOEXEC, mode) {
                Err(Errno::INTR) => super::interrupt::check()?,
                opened => return opened,
            }
        }
    }

    /// Opens this source directory for reading its entries (never through a final symlink
    /// unless `follow`) and checks it is still the one `expected` described: a directory
    /// swapped since it was stat'ed is `Err(None)`.
    pub(crate) fn open_dir(
        &self,
        follow: bool,
        expected: &Stat,
    ) -> Result<(DirFd, Stat), Option<Errno>> {
        let fd = self.open(dir_flags(follow), Mode::empty()).map_err(Some)?;
        checked(fd, expected)
    }

    /// Opens this destination directory to create entries in and set its attributes,
    /// like `open_dir`; one rcp may not read is opened O_PATH (its attributes are then
    /// set through /proc, see `metadata`).
    pub(crate) fn open_dest_dir(
        &self,
        follow: bool,
        expected: &Stat,
    ) -> Result<(DirFd, Stat), Option<Errno>> {
        checked(self.open_dest(follow).map_err(Some)?, expected)
    }

    /// Opens the directory rcp has just made here (a symlink swapped in is refused).
    pub(crate) fn open_new_dir(&self) -> Result<(DirFd, Stat), Errno> {
        let fd = self.open_dest(false)?;
        let st = fstat(&fd)?;
        Ok((Arc::new(fd), st))
    }

    fn open_dest(&self, follow: bool) -> Result<OwnedFd, Errno> {
        match self.open(dir_flags(follow), Mode::empty()) {
            Err(Errno::ACCESS) => self.open(dir_flags(follow) | OFlags::PATH, Mode::empty()),
            opened => opened,
        }
    }

    pub(crate) fn unlink(&self) -> Result<(), Errno> {
        rustix::fs::unlinkat(self.fd(), self.name(), AtFlags::empty())
    }

    pub(crate) fn mkdir(&self, mode: u32) -> Result<(), Errno> {
        rustix::fs::mkdirat(self.fd(), self.name(), Mode::from_raw_mode(mode))
    }

    pub(crate) fn mknod(&self, ft: FileType, mode: u32, rdev: u64) -> Result<(), Errno> {
        rustix::fs::mknodat(self.fd(), self.name(), ft, Mode::from_raw_mode(mode), rdev)
    }

    pub(crate) fn readlink(&self) -> Result<PathBuf, Errno> {
        let target = rustix::fs::readlinkat(self.fd(), self.name(), Vec::new())?;
        Ok(PathBuf::from(OsString::from_vec(target.into_bytes())))
    }

    pub(crate) fn symlink(&self, target: &Path) -> Result<(), Errno> {
        rustix::fs::symlinkat(target, self.fd(), self.name())
    }

    /// `link(from, self)`, following a symlink `from` when `follow`.
    pub(crate) fn link_from(&self, from: &At, follow: bool) -> Result<(), Errno> {
        let flags = if follow { AtFlags::SYMLINK_FOLLOW } else { AtFlags::empty() };
        rustix::fs::linkat(from.fd(), from.name(), self.fd(), self.name(), flags)
    }

    /// Renames this entry to `to`.
    pub(crate) fn rename_to(&self, to: &At) -> Result<(), Errno> {
        rustix::fs::renameat(self.fd(), self.name(), to.fd(), to.name())
    }

    /// The directory holding this entry, opened (for `--fsync` of a rename).
    pub(crate) fn open_parent(&self) -> Result<OwnedFd, Errno> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match &self.dir {
            Some(dir) => openat(dir, ".", flags, Mode::empty()),
            None => openat(CWD, dir_of(&self.path), flags, Mode::empty()),
        }
    }

    /// The names in this entry's directory (for numbered backups).
    pub(crate) fn siblings(&self) -> Vec<OsString> {
        let Ok(dir) = self.open_parent().and_then(rustix::fs::Dir::new) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .map(|e| OsString::from_vec(e.file_name().to_bytes().to_vec()))
            .collect()
    }
}

fn dir_flags(follow: bool) -> OFlags {
    let nofollow = if follow { OFlags::empty() } else { OFlags::NOFOLLOW };
    OFlags::RDONLY | OFlags::DIRECTORY | nofollow
}

/// Opens the directory `rel` below `root`, to look names up in (O_PATH): `root` resolved
/// as the command line's operand was, then one component of `rel` at a time, never through
/// a symlink; a `..` is refused.
pub(crate) fn open_beneath(root: &Path, rel: &Path) -> Result<DirFd, Errno> {
    use std::path::Component;
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut fd = rustix::fs::openat(rustix::fs::CWD, root, flags, Mode::empty())?;
    for part in rel.components() {
        match part {
            Component::Normal(name) => {
                fd = rustix::fs::openat(&fd, name, flags | OFlags::NOFOLLOW, Mode::empty())?;
            }
            Component::CurDir => {}
            _ => return Err(Errno::INVAL),
        }
    }
    Ok(Arc::new(fd))
}

/// The directory an earlier walk showed as `shown` (a path below the operand `root`, or
/// the operand itself), found again: as the entry of its parent opened by `open_beneath`
/// (the operand as the command line names it), with its status, which must be a directory
/// with the identity `id` (`Err(None)` if it is not).
pub(crate) fn find_below(
    root: &Path,
    shown: &Path,
    id: super::Seen,
) -> Result<(At, Stat), Option<Errno>> {
    let rel = shown.strip_prefix(root).map_err(|_| None)?;
    let is_it = |st: &Stat| id.is(st) && FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    if rel.as_os_str().is_empty() {
        // The operand itself: resolved as the command line's was.
        let st = rustix::fs::stat(root).map_err(Some)?;
        return if is_it(&st) { Ok((At::cwd(root), st)) } else { Err(None) };
    }
    let at = entry_below(root, shown)?;
    let st = at.lstat().map_err(Some)?;
    if !is_it(&st) {
        return Err(None);
    }
    Ok((at, st))
}

/// The entry an earlier walk showed as `shown` (a path strictly below the operand `root`),
/// as a name in its parent directory opened by `open_beneath` (`Err(None)`: not below it).
pub(crate) fn entry_below(root: &Path, shown: &Path) -> Result<At, Option<Errno>> {
    let rel = shown.strip_prefix(root).map_err(|_| None)?;
    let (Some(parent_rel), Some(name), Some(parent_shown)) =
        (rel.parent(), rel.file_name(), shown.parent())
    else {
        return Err(None);
    };
    let parent = open_beneath(root, parent_rel).map_err(Some)?;
    Ok(At::child(&parent, parent_shown, name))
}

/// The opened directory, if it is the one `expected` describes (`Err(None)` if not).
fn checked(fd: OwnedFd, expected: &Stat) -> Result<(DirFd, Stat), Option<Errno>> {
    let st = fstat(&fd).map_err(Some)?;
    let same = (st.st_dev, st.st_ino) == (expected.st_dev, expected.st_ino);
    if !same || FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(None);
    }
    Ok((Arc::new(fd), st))
}

/// `/proc/self/fd/N`: the file an fd is open on, by a name the `*xattr`, `chmod` and
/// `utimensat` calls accept where the fd itself (O_PATH) is refused. `None` without /proc.
pub(crate) fn fd_path(fd: BorrowedFd) -> Option<PathBuf> {
    proc_mounted().then(|| PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())))
}

/// Whether /proc is there to name entries under pinned directories (asked once).
fn proc_mounted() -> bool {
    static MOUNTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MOUNTED.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

fn append(path: &Path, suffix: &[u8]) -> PathBuf {
    let mut bytes = path.as_os_str().as_bytes().to_vec();
    while bytes.len() > 1 && bytes.ends_with(b"/") {
        bytes.pop();
    }
    bytes.extend_from_slice(suffix);
    PathBuf::from(OsString::from_vec(bytes))
}

/// Bytes of `getdents64` output read per call: a 100-entry directory in one call.
const DIRENT_BUFFER: usize = 32 << 10;

/// A directory's entries, in inode order: the names in one buffer, not one allocation each.
#[derive(Default)]
pub(crate) struct Entries {
    names: Vec<u8>,
    /// (inode, start of the name in `names`, its length, its d_type): 16 bytes an entry,
    /// so a directory of 20,000 entries holds 320 KiB besides its names.
    list: Vec<(u64, u32, u16, FileType)>,
}

impl Entries {
    /// Each name, and its type as d_type says (no stat; `Unknown` where the filesystem
    /// does not say).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OsStr, FileType)> {
        (0..self.list.len()).map(|i| self.get(i))
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The `i`th name and its type (as `iter` gives them).
    pub(crate) fn get(&self, i: usize) -> (&OsStr, FileType) {
        let (_, at, len, kind) = self.list[i];
        let (at, len) = (at as usize, usize::from(len));
        (OsStr::from_bytes(&self.names[at..at + len]), kind)
    }
}

/// Room for the names of a batch of short-named files, reserved once.
const BATCH_NAMES: usize = 2048;

/// Names under two open directories at once — new files for a directory rcp just made,
/// each read from a name under the source directory into the same name under the
/// destination — kept in one buffer. The `At`s are made a pair at a time by the thread
/// that copies them (and so freed there: paths made on the walk and dropped on a worker
/// miss both threads' allocator caches).
pub(crate) struct Pairs {
    src: (DirFd, PathBuf),
    dst: (DirFd, PathBuf),
    names: Vec<u8>,
    ends: Vec<usize>,
}

impl Pairs {
    /// No names yet, under the source directory `src` and the destination directory `dst`
    /// (each its fd and the path it is shown as).
    pub(crate) fn new(src: (&DirFd, &Path), dst: (&DirFd, &Path)) -> Pairs {
        Pairs {
            src: (src.0.clone(), src.1.to_path_buf()),
            dst: (dst.0.clone(), dst.1.to_path_buf()),
            names: Vec::with_capacity(BATCH_NAMES),
            ends: Vec::with_capacity(BATCH_NAMES / 8),
        }
    }

    pub(crate) fn push(&mut self, name: &OsStr) {
        self.names.extend_from_slice(name.as_bytes());
        self.ends.push(self.names.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Calls `f` with each name as its source and destination entries, while `more` says
    /// so (two paths made in all, renamed from one name to the next).
    pub(crate) fn each(&self, mut more: impl FnMut() -> bool, mut f: impl FnMut(&At, &At)) {
        let mut named: Option<(At, At)> = None;
        let mut start = 0;
        for &end in &self.ends {
            if !more() {
                return;
            }
            let name = OsStr::from_bytes(&self.names[start..end]);
            start = end;
            let (src, dst) = match &mut named {
                Some((src, dst)) => {
                    src.rename(name);
                    dst.rename(name);
                    (&*src, &*dst)
                }
                None => {
                    let src = At::child(&self.src.0, &self.src.1, name);
                    let (src, dst) = named.insert((src, At::child(&self.dst.0, &self.dst.1, name)));
                    (&*src, &*dst)
                }
            };
            f(src, dst);
        }
    }
}

/// A directory's entries in inode order (as GNU's savedir gives them). Reads `dir` itself,
/// so call it once, on a freshly opened fd (no dup, no fcntl, one `getdents64` per 32 KiB).
pub(crate) fn read_entries(dir: &DirFd) -> Result<Entries, Errno> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> =
            std::cell::RefCell::new(Vec::with_capacity(DIRENT_BUFFER));
    }
    const _: () = assert!(std::mem::size_of::<(u64, u32, u16, FileType)>() == 16);
    BUFFER.with_borrow_mut(|buf| {
        let mut raw = rustix::fs::RawDir::new(dir.as_fd(), buf.spare_capacity_mut());
        let mut entries = Entries::default();
        while let Some(entry) = raw.next() {
            let entry = match entry {
                Ok(entry) => entry,
                // glibc's readdir (so GNU's savedir): a directory removed while it was
                // open answers ENOENT, which POSIX says is its end.
                Err(Errno::NOENT) => break,
                Err(e) => return Err(e),
            };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            // Names are at most 255 bytes; 4 GiB of them in one directory is too many.
            let at = u32::try_from(entries.names.len()).map_err(|_| Errno::OVERFLOW)?;
            let len = u16::try_from(name.len()).map_err(|_| Errno::NAMETOOLONG)?;
            entries.list.push((entry.ino(), at, len, entry.file_type()));
            entries.names.extend_from_slice(name);
        }
        entries.list.sort_by_key(|&(ino, ..)| ino);
        Ok(entries)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> DirFd {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Arc::new(openat(CWD, "/", flags, Mode::empty()).expect("/ opens"))
    }

    #[test]
    fn a_renamed_entry_is_what_child_makes_of_the_new_name() {
        let dir = root();
        let mut at = At::child(&dir, Path::new("top//"), OsStr::new("a-long-first-name"));
        at.rename(OsStr::new("b"));
        let made = At::child(&dir, Path::new("top//"), OsStr::new("b"));
        assert_eq!((at.path(), at.name()), (made.path(), made.name()));
        assert_eq!(at.path(), Path::new("top/b"));
        assert_eq!(at.fd().as_raw_fd(), dir.as_raw_fd());
        // One a dry run would make is named by its whole path.
        let mut planned = At::planned(Path::new("out/new"), OsStr::new("x"));
        planned.rename(OsStr::new("y"));
        assert_eq!(
            (planned.path(), planned.name()),
            (Path::new("out/new/y"), Path::new("out/new/y"))
        );
    }

    #[test]
    fn pairs_name_each_file_under_both_directories_until_told_to_stop() {
        let dir = root();
        let mut pairs = Pairs::new((&dir, Path::new("src")), (&dir, Path::new("dst/")));
        for name in ["f1", "a-much-longer-name", "g"] {
            pairs.push(OsStr::new(name));
        }
        assert_eq!(pairs.len(), 3);
        let mut seen = Vec::new();
        pairs.each(|| true, |s, d| seen.push((s.path().to_owned(), d.path().to_owned())));
        let want = [
            ("src/f1", "dst/f1"),
            ("src/a-much-longer-name", "dst/a-much-longer-name"),
            ("src/g", "dst/g"),
        ];
        let want: Vec<_> = want.iter().map(|(s, d)| (PathBuf::from(s), PathBuf::from(d))).collect();
        assert_eq!(seen, want);
        let mut left = 2;
        let mut count = 0;
        pairs.each(
            || {
                left -= 1;
                left >= 0
            },
            |_, _| count += 1,
        );
        assert_eq!(count, 2, "stopped before the third");
    }
}

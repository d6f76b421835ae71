//! The identities a run remembers, as GNU cp's hash tables do: source inodes already copied
//! (hard links, `cp -r d d`, a tree copied into itself), command-line sources seen
//! (`specified more than once`), and destinations just created (`will not overwrite
//! just-created`). Memory grows only with what needs remembering. Also GNU's
//! `same_name` and its forced link/symlink creation (make at a temporary name, rename over).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Stat, statat};
use rustix::io::Errno;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::at::At;
use crate::plan::last_component;

pub type Ino = (u64, u64);

/// The longest path the kernel resolves in one call (with its NUL).
const PATH_MAX: usize = 4096;

pub fn ino(st: &Stat) -> Ino {
    (st.st_dev, st.st_ino)
}

/// GNU's `remember_copied`/`src_to_dest` table, and the two command-line tables.
#[derive(Default)]
pub struct Memory {
    copied: HashMap<Ino, PathBuf>,
    /// Copies whose path is too long to name from the working directory, kept by their
    /// directory fd so a hard link to them can still be made (only these: each holds an fd).
    deep: HashMap<Ino, At>,
    /// Command-line sources (enabled with a target directory and two or more sources).
    sources: Option<HashMap<Ino, Vec<PathBuf>>>,
    /// Destinations created from command-line sources, by (inode, name).
    dests: Option<HashMap<Ino, Vec<PathBuf>>>,
}

impl Memory {
    pub fn new(track_operands: bool) -> Self {
        Memory {
            copied: HashMap::new(),
            deep: HashMap::new(),
            sources: track_operands.then(HashMap::new),
            dests: track_operands.then(HashMap::new),
        }
    }

    /// Records that `src` was copied to `dst`; returns the earlier copy if there was one.
    pub fn remember_copied(&mut self, dst: &At, src: Ino) -> Option<PathBuf> {
        match self.copied.get(&src) {
            Some(earlier) => Some(earlier.clone()),
            None => {
                self.copied.insert(src, dst.path().to_path_buf());
                if dst.path().as_os_str().len() >= PATH_MAX {
                    self.deep.insert(src, dst.clone());
                }
                None
            }
        }
    }

    /// The earlier copy of `src` (named `earlier`), to make a hard link to.
    pub fn link_source(&self, earlier: &Path, src: Ino) -> At {
        self.deep.get(&src).cloned().unwrap_or_else(|| At::cwd(earlier))
    }

    pub fn lookup_copied(&self, src: Ino) -> Option<PathBuf> {
        self.copied.get(&src).cloned()
    }

    pub fn forget_copied(&mut self, src: Ino) {
        self.copied.remove(&src);
        self.deep.remove(&src);
    }

    pub fn tracks_operands(&self) -> bool {
        self.sources.is_some()
    }

    /// Whether this command-line source (same inode, same directory entry) was seen before;
    /// records it either way. Always false when operands are not tracked.
    pub fn source_seen(&mut self, src: &Path, st: &Stat) -> bool {
        let Some(table) = &mut self.sources else { return false };
        let names = table.entry(ino(st)).or_default();
        let seen = names.iter().any(|n| same_name(n, src));
        if !seen {
            names.push(src.to_path_buf());
        }
        seen
    }

    /// Whether `dst` with this identity was created earlier from a command-line source.
    pub fn dest_seen(&self, dst: &Path, st: &Stat) -> bool {
        let Some(table) = &self.dests else { return false };
        table.get(&ino(st)).is_some_and(|names| names.iter().any(|n| n == dst))
    }

    pub fn record_dest(&mut self, dst: &At) {
        let Some(table) = &mut self.dests else { return };
        if let Ok(st) = dst.lstat() {
            table.entry(ino(&st)).or_default().push(dst.path().to_path_buf());
        }
    }
}

/// GNU's `same_name`: the two names are one directory entry (same last component in the
/// same directory).
pub fn same_name(a: &Path, b: &Path) -> bool {
    if last_component(a) != last_component(b) {
        return false;
    }
    let parent = |p: &Path| {
        let bytes = p.as_os_str().as_bytes();
        let end = bytes.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
        match bytes[..end].iter().rposition(|&c| c == b'/') {
            Some(0) => PathBuf::from("/"),
            Some(i) => PathBuf::from(OsString::from_vec(bytes[..i].to_vec())),
            None => PathBuf::from("."),
        }
    };
    match (statat(CWD, parent(a), AtFlags::empty()), statat(CWD, parent(b), AtFlags::empty())) {
        (Ok(x), Ok(y)) => ino(&x) == ino(&y),
        _ => false,
    }
}

/// What forced creation did: made the entry, or replaced an existing one.
pub enum Made {
    New,
    Replaced,
}

/// `link(src, dst)`; with `replace`, an existing `dst` is atomically replaced.
pub fn force_link(src: &At, dst: &At, replace: bool, follow: bool) -> Result<Made, Errno> {
    force_create(dst, replace, |at| at.link_from(src, follow))
}

/// `symlink(target, dst)`; with `replace`, an existing `dst` is atomically replaced.
pub fn force_symlink(target: &Path, dst: &At, replace: bool) -> Result<Made, Errno> {
    force_create(dst, replace, |at| at.symlink(target))
}

/// A fresh temporary name in `dst`'s directory: `.rcp-PID-N`, N counting for the whole
/// process (forced links and `--atomic` files share it, so they never race for a name).
pub fn temp_beside(dst: &At) -> At {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dst.sibling(format!(".rcp-{}-{n}", std::process::id()).as_ref())
}

fn force_create(
    dst: &At,
    replace: bool,
    create: impl Fn(&At) -> rustix::io::Result<()>,
) -> Result<Made, Errno> {
    match create(dst) {
        Ok(()) => return Ok(Made::New),
        Err(Errno::EXIST) if replace => {}
        Err(e) => return Err(e),
    }
    for _ in 0..100u32 {
        let tmp = temp_beside(dst);
        match create(&tmp) {
            Ok(()) => {}
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e),
        }
        return match tmp.rename_to(dst) {
            Ok(()) => Ok(Made::Replaced),
            Err(e) => {
                let _ = tmp.unlink();
                Err(e)
            }
        };
    }
    Err(Errno::EXIST)
}

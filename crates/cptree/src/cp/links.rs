//! The identities a run remembers, as GNU cp's hash tables do: source inodes already copied
//! (hard links, `cp -r d d`, a tree copied into itself), command-line sources seen
//! (`specified more than once`), and destinations just created (`will not overwrite
//! just-created`). Memory grows only with what needs remembering.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rustix::fs::Stat;

use crate::sys::at::At;
use crate::sys::path::same_name;
use crate::sys::{Ino, ino};

/// The longest path the kernel resolves in one call (with its NUL).
const PATH_MAX: usize = 4096;

/// GNU's `remember_copied`/`src_to_dest` table, and the two command-line tables.
#[derive(Default)]
pub(crate) struct Memory {
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
    pub(crate) fn new(track_operands: bool) -> Self {
        Memory {
            copied: HashMap::new(),
            deep: HashMap::new(),
            sources: track_operands.then(HashMap::new),
            dests: track_operands.then(HashMap::new),
        }
    }

    /// Records that `src` was copied to `dst`; returns the earlier copy if there was one.
    pub(crate) fn remember_copied(&mut self, dst: &At, src: Ino) -> Option<PathBuf> {
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
    pub(crate) fn link_source(&self, earlier: &Path, src: Ino) -> At {
        self.deep.get(&src).cloned().unwrap_or_else(|| At::cwd(earlier))
    }

    pub(crate) fn lookup_copied(&self, src: Ino) -> Option<PathBuf> {
        self.copied.get(&src).cloned()
    }

    pub(crate) fn forget_copied(&mut self, src: Ino) {
        self.copied.remove(&src);
        self.deep.remove(&src);
    }

    pub(crate) fn tracks_operands(&self) -> bool {
        self.sources.is_some()
    }

    /// Whether this command-line source (same inode, same directory entry) was seen before;
    /// records it either way. Always false when operands are not tracked.
    pub(crate) fn source_seen(&mut self, src: &Path, st: &Stat) -> bool {
        let Some(table) = &mut self.sources else { return false };
        let names = table.entry(ino(st)).or_default();
        let seen = names.iter().any(|n| same_name(n, src));
        if !seen {
            names.push(src.to_path_buf());
        }
        seen
    }

    /// Whether `dst` with this identity was created earlier from a command-line source.
    pub(crate) fn dest_seen(&self, dst: &Path, st: &Stat) -> bool {
        let Some(table) = &self.dests else { return false };
        table.get(&ino(st)).is_some_and(|names| names.iter().any(|n| n == dst))
    }

    pub(crate) fn record_dest(&mut self, dst: &At) {
        let Some(table) = &mut self.dests else { return };
        if let Ok(st) = dst.lstat() {
            table.entry(ino(&st)).or_default().push(dst.path().to_path_buf());
        }
    }
}

//! What progress is measured against: the regular files and bytes under the operands,
//! counted on a thread of its own while the copy runs (it never delays the first byte).
//! Numbers only, never a list of names, so the count takes the same memory for any tree.
//! A read-only count needs no race-safe walk: `walkdir`, following symlinks as `-L`/`-H`
//! say, staying on one filesystem under `-x`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cptree::exclude::Exclude;
use cptree::options::{Deref, Options};

/// The count so far, shared with the thread making it.
#[derive(Default)]
pub(crate) struct Totals {
    files: AtomicU64,
    bytes: AtomicU64,
    /// The count is complete.
    done: AtomicBool,
    /// The copy is over: stop counting.
    cancelled: AtomicBool,
}

/// What to count: the sources and the options that decide what a copy of them reads.
#[derive(Clone)]
pub(crate) struct Sources {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) recursive: bool,
    pub(crate) deref: Deref,
    pub(crate) one_file_system: bool,
    /// Fifos and devices are read like files (not `-r`, or `--copy-contents`).
    pub(crate) copy_contents: bool,
    /// `--exclude`: what the copy leaves out, the count does too.
    pub(crate) exclude: Option<Exclude>,
}

impl Sources {
    pub(crate) fn new(opts: &Options, paths: Vec<PathBuf>) -> Sources {
        Sources {
            paths,
            recursive: opts.recursive,
            deref: opts.deref,
            one_file_system: opts.one_file_system,
            copy_contents: opts.copy_as_regular,
            exclude: opts.exclude.clone(),
        }
    }
}

impl Totals {
    /// The files and bytes to copy, once the count is complete.
    pub(crate) fn known(&self) -> Option<(u64, u64)> {
        self.done
            .load(Ordering::Acquire)
            .then(|| (self.files.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed)))
    }

    /// Stops a count still running (the copy is over).
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Counts `sources` into `totals` (on the calling thread; call it on one of its own).
    pub(crate) fn count(totals: &Arc<Totals>, sources: &Sources) {
        for path in &sources.paths {
            if !totals.count_operand(path, sources) {
                return;
            }
        }
        totals.done.store(true, Ordering::Release);
    }

    /// Counts one operand; `false` if the count was cancelled.
    fn count_operand(&self, path: &PathBuf, sources: &Sources) -> bool {
        let walk = walkdir::WalkDir::new(path)
            .follow_links(sources.deref == Deref::Always)
            .follow_root_links(sources.deref != Deref::Never)
            .same_file_system(sources.one_file_system)
            .max_depth(if sources.recursive { usize::MAX } else { 0 });
        let kept = |entry: &walkdir::DirEntry| match &sources.exclude {
            Some(exclude) if entry.depth() > 0 => {
                let relative = entry.path().strip_prefix(path).unwrap_or(entry.path());
                !exclude.excludes(relative, entry.file_type().is_dir())
            }
            _ => true,
        };
        // Entries that cannot be read are the copy's to report; the count leaves them out.
        for entry in walk.into_iter().filter_entry(kept).filter_map(Result::ok) {
            if self.cancelled.load(Ordering::Relaxed) {
                return false;
            }
            let kind = entry.file_type();
            let special = !kind.is_dir() && !kind.is_symlink() && !kind.is_file();
            if kind.is_file() || (special && sources.copy_contents) {
                let size = entry.metadata().map_or(0, |m| m.len());
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(size, Ordering::Relaxed);
            }
        }
        true
    }
}

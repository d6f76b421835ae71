//! What progress is measured against: the regular files and bytes under the operands,
//! counted on a thread of its own while the copy runs (it never delays the first byte).
//! Numbers only, never a list of names, so the count takes the same memory for any tree.
//! A read-only count needs no race-safe walk: `walkdir` goes through the tree, and every
//! choice of what the copy reads is `cptree::select`'s, the rules the walk itself follows
//! (which symlinks are followed, `-x`, `--exclude`, what is read as data).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::fs::FileType;

use cptree::options::Options;
use cptree::select;

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
    pub(crate) opts: Options,
    /// Whether to count at all: not in a copy spread over ranks, whose tree may be too big
    /// to walk twice (progress then says what is done, of no total).
    pub(crate) counted: bool,
}

impl Sources {
    pub(crate) fn new(opts: &Options, paths: Vec<PathBuf>) -> Sources {
        Sources { paths, opts: opts.clone(), counted: true }
    }

    /// Sources not counted.
    pub(crate) fn uncounted(opts: &Options) -> Sources {
        Sources { paths: Vec::new(), opts: opts.clone(), counted: false }
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
        let opts = &sources.opts;
        // The operand as the copy sees it (`-H`, `-L`: its symlink's target).
        let follow = select::follows(opts.deref, true);
        let operand =
            if follow { std::fs::metadata(path) } else { std::fs::symlink_metadata(path) };
        let Ok(operand) = operand else { return true };
        if !operand.is_dir() {
            if select::as_data(opts, file_type(operand.file_type())) {
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(operand.len(), Ordering::Relaxed);
            }
            return true;
        }
        let below = select::below(opts.deref);
        let walk = walkdir::WalkDir::new(path)
            .follow_links(select::follows(below, false))
            .follow_root_links(select::follows(opts.deref, true))
            .max_depth(if opts.recursive { usize::MAX } else { 0 });
        // `-x`: a directory on another filesystem than its parent is made, its contents
        // not read; every directory entered is then on the operand's filesystem.
        let root_dev = std::fs::metadata(path).map(|m| m.dev()).ok();
        let kept = |entry: &walkdir::DirEntry| {
            if entry.depth() == 0 {
                return true;
            }
            let kind = file_type(entry.file_type());
            let relative = entry.path().strip_prefix(path).unwrap_or(entry.path());
            let entered = kind != FileType::Directory
                || !opts.one_file_system
                || entry.metadata().is_ok_and(|m| select::enters(opts, root_dev, m.dev()));
            entered && !select::excluded(opts, relative, kind)
        };
        // Entries that cannot be read are the copy's to report; the count leaves them out.
        for entry in walk.into_iter().filter_entry(kept).filter_map(Result::ok) {
            if self.cancelled.load(Ordering::Relaxed) {
                return false;
            }
            if select::as_data(opts, file_type(entry.file_type())) {
                let size = entry.metadata().map_or(0, |m| m.len());
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(size, Ordering::Relaxed);
            }
        }
        true
    }
}

/// walkdir's type of an entry (its target's where a link was followed) as rustix's.
fn file_type(kind: std::fs::FileType) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if kind.is_dir() => FileType::Directory,
        _ if kind.is_file() => FileType::RegularFile,
        _ if kind.is_symlink() => FileType::Symlink,
        _ if kind.is_fifo() => FileType::Fifo,
        _ if kind.is_char_device() => FileType::CharacterDevice,
        _ if kind.is_block_device() => FileType::BlockDevice,
        _ if kind.is_socket() => FileType::Socket,
        _ => FileType::Unknown,
    }
}

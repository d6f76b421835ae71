//! What one copying thread keeps between files (`Scratch`), and what it shares with the
//! threads copying beside it.

use std::sync::Arc;

use rustix::io::Errno;

use super::ranges::Buffers;
use super::share::Share;
use super::shared::{Progress, Stop};
use super::support::{Memo, Support};
use super::types::Strategy;

/// What one copying thread keeps between files: its pipe (splice), its buffer
/// (read/write), and what it shares with its siblings — what was learnt about device
/// pairs (so a tree on a filesystem without reflinks pays for one failed FICLONE, not one
/// per file), the progress counters, the stop request.
#[derive(Default)]
pub struct Scratch {
    pub(crate) buffers: Buffers,
    pub(crate) support: Arc<Support>,
    memo: Memo,
    pub(crate) progress: Arc<Progress>,
    pub(crate) stop: Stop,
    /// Others that copy pieces of big files alongside this process.
    pub(crate) share: Option<Arc<dyn Share>>,
}

impl Scratch {
    /// A first worker that counts into `progress` and gives up a file (ECANCELED) once
    /// `stop` is requested. (`Scratch::default()`: counters of its own, never stopped.)
    pub fn new(progress: Arc<Progress>, stop: Stop) -> Scratch {
        Scratch { progress, stop, ..Scratch::default() }
    }

    /// Another worker (its own pipe and buffer) that shares this one's device knowledge,
    /// counters and stop request.
    pub fn sibling(&self) -> Scratch {
        Scratch {
            buffers: Buffers::default(),
            support: Arc::clone(&self.support),
            memo: Memo::default(),
            progress: Arc::clone(&self.progress),
            stop: self.stop.clone(),
            share: self.share.clone(),
        }
    }

    /// Big files are cut into pieces that `share`'s others copy some of (`Share`); this
    /// worker's siblings made after this share them too.
    pub fn share_with(&mut self, share: Arc<dyn Share>) {
        self.share = Some(share);
    }

    /// The counters this worker adds to.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// The errno with which `strategy` already failed on this device pair, if known.
    pub(crate) fn known(&mut self, pair: (u64, u64), strategy: Strategy) -> Option<Errno> {
        self.support.known(&mut self.memo, pair, strategy)
    }
}

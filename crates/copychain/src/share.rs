//! What the engine asks of whoever helps copy big files in pieces (the ranks of a spread
//! copy): whether a file is cut, and a file's pieces claimed here or taken by others.

use super::shared::Stop;
use super::types::{Dest, Source};

/// Processes that copy pieces of this one's big files alongside it. The engine asks
/// whether a file is worth cutting, offers its pieces, and copies those nobody took;
/// how pieces travel, and who copies them (with `copy_piece`), is the implementer's.
pub trait Share: Send + Sync {
    /// The size of the pieces a file of `size` bytes is cut into; `None`: not cut.
    fn piece_size(&self, size: u64) -> Option<u64>;

    /// Pieces `0..shared` of the copy from `src` into `dst`, each `piece` bytes, may be
    /// taken by others (`None`: nobody can, this process copies them all).
    fn share<'s>(
        &'s self,
        ends: (&Source, &Dest),
        piece: u64,
        shared: u64,
    ) -> Option<Box<dyn Pieces + 's>>;
}

/// The pieces of one file being shared.
pub trait Pieces {
    /// The next piece for this process to copy, from the front; `None` once every piece
    /// is claimed here or taken by others.
    fn claim(&mut self) -> Option<u64>;

    /// Waits until every piece others took is copied or given back (after `stop` is
    /// requested, not at all: every piece still out counts as given back). Returns the
    /// pieces given back, for this process to copy; no more are taken after it.
    fn wait(&mut self, stop: &Stop) -> Vec<u64>;

    /// How many pieces others copied.
    fn copied_elsewhere(&self) -> u64;
}

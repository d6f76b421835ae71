//! A big file copied by several processes at once (the ranks of a spread copy): cut into
//! pieces of one size, which the others take from the back while this process copies them
//! from the front. The last piece is this process's and goes last, once every other piece
//! is in: a copy cut short anywhere is shorter than its source, as one process's would be.

use std::sync::Arc;

use super::extents::Extents;
use super::filling::{Filling, Reached};
use super::share::{Pieces, Share};
use super::shared::Stop;
use super::types::{Copied, Dest, Failure, Source};
use super::worker::Scratch;

/// Pieces nobody else can take: all claimed here in order.
struct Alone {
    next: u64,
    shared: u64,
}

impl Pieces for Alone {
    fn claim(&mut self) -> Option<u64> {
        (self.next < self.shared).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn wait(&mut self, _: &Stop) -> Vec<u64> {
        Vec::new()
    }

    fn copied_elsewhere(&self) -> u64 {
        0
    }
}

/// Whether the copy from `src` into `dst` is cut into pieces others help with: the piece
/// size, and who helps.
pub(crate) fn worth_sharing(
    src: &Source,
    dst: &Dest,
    w: &Scratch,
) -> Option<(u64, Arc<dyn Share>)> {
    let share = w.share.as_ref()?;
    if !(src.regular && dst.regular) || src.size == 0 {
        return None;
    }
    let piece = share.piece_size(src.size).filter(|&piece| piece > 0 && src.size > piece)?;
    Some((piece, Arc::clone(share)))
}

/// Copies a file in pieces, some of them by others: those this process claims, then those
/// given back, then the last. Nothing writes into the file once this returns, failed or
/// not: the pieces others took are in (or given back) first.
pub(crate) fn copy_in_pieces(
    (src, dst): (&Source, &Dest),
    mut filling: Filling,
    (piece, share): (u64, &dyn Share),
    (walk, presized): (bool, bool),
    w: &mut Scratch,
) -> Result<Copied, Failure> {
    let count = src.size.div_ceil(piece);
    let span = |i: u64| (i * piece, ((i + 1) * piece).min(src.size));
    let mut pieces = share
        .share((src, dst), piece, count - 1)
        .unwrap_or_else(|| Box::new(Alone { next: 0, shared: count - 1 }));
    let mut claimed = Ok(());
    while let Some(i) = pieces.claim() {
        claimed = fill_piece((src, dst), &mut filling, walk, span(i), w).map(|_| ());
        if claimed.is_err() {
            break;
        }
    }
    let given_back = pieces.wait(&w.stop);
    claimed?;
    for i in given_back {
        fill_piece((src, dst), &mut filling, walk, span(i), w)?;
    }
    let last = fill_piece((src, dst), &mut filling, walk, span(count - 1), w)?;
    if !presized && last.written_end != src.size {
        filling.extend(dst, src.size)?;
    }
    let mut record = filling.record;
    record.bytes = src.size;
    record.pieces = u32::try_from(count).unwrap_or(u32::MAX);
    record.pieces_elsewhere = u32::try_from(pieces.copied_elsewhere()).unwrap_or(u32::MAX);
    Ok(record)
}

/// Copies bytes `start..end` of the file, its holes kept where `walk` says they are
/// walked, and counts the holes as done.
pub(crate) fn fill_piece(
    (src, dst): (&Source, &Dest),
    filling: &mut Filling,
    walk: bool,
    (start, end): (u64, u64),
    w: &mut Scratch,
) -> Result<Reached, Failure> {
    let mut extents = Extents::new(src.fd, walk, Some(src.size), start).until(end);
    let moved = filling.moved;
    let reached = filling.extents((src, dst), &mut extents, w)?;
    filling.record.holes = extents.walked();
    w.progress.count_passed((end - start).saturating_sub(filling.moved - moved));
    Ok(reached)
}

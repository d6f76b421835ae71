//! Which strategies one file may use, in order, and how its holes are handled: the rules
//! the copy follows and `--dry-run`'s prediction repeats.

use super::types::{Copied, Fallbacks, Policy, Reflink, Source, Sparse, Strategy};

/// A file's record before any strategy has run.
pub(super) fn nothing_yet() -> Copied {
    Copied {
        strategy: Strategy::ReadWrite,
        bytes: 0,
        fell_back: Fallbacks::new(),
        holes: false,
        zeros: false,
        verified: false,
        predicted: false,
        resumed_from: 0,
        pieces: 0,
        pieces_elsewhere: 0,
    }
}

/// Whether FICLONE is tried first.
pub(super) fn wants_clone(src: &Source, policy: Policy) -> bool {
    match policy.reflink {
        Reflink::Always => true,
        Reflink::Auto => policy.allows_offload() && src.regular && src.size > 0,
        Reflink::Never => false,
    }
}

/// The data strategies this file may use, in order; read/write always closes the chain.
pub(super) type Chain = std::iter::Flatten<std::array::IntoIter<Option<Strategy>, 3>>;

/// The chain for `src` into a destination that is (`dst_regular`) or is not a regular file.
pub(super) fn data_chain(src: &Source, dst_regular: bool, policy: Policy) -> Chain {
    // Size 0 means "unknown" (procfs, sysfs): only reading to EOF finds the data.
    let in_kernel = src.regular && dst_regular && src.size > 0;
    // Neither can turn zeros into holes, so neither runs when that is asked for.
    let in_kernel = in_kernel && policy.sparse != Sparse::Always;
    let offload = in_kernel && policy.allows_offload();
    [
        offload.then_some(Strategy::CopyFileRange),
        in_kernel.then_some(Strategy::Splice),
        Some(Strategy::ReadWrite),
    ]
    .into_iter()
    .flatten()
}

/// Whether the source's data extents are walked (SEEK_DATA/SEEK_HOLE) so its holes stay
/// holes: it has fewer blocks than its size needs, and the destination can have holes.
pub(super) fn walks_holes(src: &Source, dst_regular: bool, policy: Policy) -> bool {
    policy.sparse != Sparse::Never && src.regular && dst_regular && src.blocks * 512 < src.size
}

/// Whether runs of zeros are turned into holes (`--sparse=always`, into a regular file).
pub(super) fn makes_holes(dst_regular: bool, policy: Policy) -> bool {
    policy.sparse == Sparse::Always && dst_regular
}

/// The source as the chain must treat it: a file that looks sparse (fewer blocks than
/// its size needs) on a pseudo-filesystem (sysfs says 4096 bytes and no blocks for 23
/// bytes of text) has no size to trust: it is read to EOF, and nothing is added to it.
pub(super) fn as_found<'f>(src: &Source<'f>) -> Source<'f> {
    let lies = src.regular
        && src.size > 0
        && src.blocks.saturating_mul(512) < src.size
        && crate::fs::is_pseudo(src.fd);
    let size = if lies { 0 } else { src.size };
    Source { size, blocks: if lies { 0 } else { src.blocks }, ..*src }
}

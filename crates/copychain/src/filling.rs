//! One file's way through the data strategies (`Filling`): the strategy in use, the ones
//! left to fall back to while nothing has moved, and the record so far, kept across the
//! ranges of the file it copies.

use rustix::io::Errno;

use super::chain::{Chain, data_chain, makes_holes};
use super::extents::Extents;
use super::ranges::{self, Range, RangeError, Watch};
use super::support;
use super::types::{Copied, Dest, Failure, Fallback, Policy, Source, Stage, Strategy};
use super::worker::Scratch;

/// A copy's way through the strategy chain, kept across the ranges it copies: the
/// strategy in use, the ones left to fall back to, and the record so far.
pub(crate) struct Filling {
    chain: Chain,
    current: Strategy,
    pub(crate) record: Copied,
    pair: (u64, u64),
    /// `--sparse=always`: runs of zeros become holes.
    pub(crate) make_holes: bool,
    /// Bytes moved so far: a strategy falls back only while none has.
    pub(crate) moved: u64,
}

/// How far a run of extents got: the offset reading reached, and the end of what was
/// written (less, where the range ended in a hole).
pub(crate) struct Reached {
    pub(crate) end: u64,
    pub(crate) written_end: u64,
}

impl Filling {
    pub(crate) fn start(
        (src, dst): (&Source, &Dest),
        policy: Policy,
        pair: (u64, u64),
        w: &mut Scratch,
        mut record: Copied,
    ) -> Filling {
        let mut chain = data_chain(src, dst.regular, policy);
        let current = next_supported(&mut chain, pair, w, &mut record);
        record.strategy = current;
        let make_holes = makes_holes(dst.regular, policy);
        record.zeros = make_holes;
        Filling { chain, current, record, pair, make_holes, moved: 0 }
    }

    /// Gives the destination its length.
    pub(crate) fn extend(&self, dst: &Dest, length: u64) -> Result<(), Failure> {
        rustix::fs::ftruncate(dst.fd, length)
            .map_err(|e| Failure::at(Stage::Extend, e, &self.record))
    }

    /// Copies the source's data in `extents`, falling back along the chain while nothing
    /// has moved.
    pub(crate) fn extents(
        &mut self,
        (src, dst): (&Source, &Dest),
        extents: &mut Extents,
        w: &mut Scratch,
    ) -> Result<Reached, Failure> {
        let mut reached = Reached { end: 0, written_end: 0 };
        let walked = extents.walked();
        for extent in extents.by_ref() {
            let (start, end) = extent.map_err(|e| Failure::at(Stage::Seek, e, &self.record))?;
            let progress = self.range((src, dst), (start, end), w)?;
            self.moved += progress.end - start;
            reached.end = progress.end;
            reached.written_end = reached.written_end.max(progress.written_end);
            if end.is_some_and(|end| progress.end < end) {
                // EOF before the size seen at open: what was copied is not the file.
                return Err(Failure::at(Stage::Shrank, Errno::NODATA, &self.record));
            }
        }
        // A walk of a sparse file ends at its last data: a file cut shorter than its size at
        // open ends there too, and would be copied at the old size, zeros after what is left.
        if walked && extents.walked() {
            let now =
                rustix::fs::fstat(src.fd).map_err(|e| Failure::at(Stage::Seek, e, &self.record))?;
            if (now.st_size as u64) < src.size {
                return Err(Failure::at(Stage::Shrank, Errno::NODATA, &self.record));
            }
        }
        Ok(reached)
    }

    /// One data range, by the current strategy or the next ones.
    fn range(
        &mut self,
        (src, dst): (&Source, &Dest),
        (start, end): (u64, Option<u64>),
        w: &mut Scratch,
    ) -> Result<ranges::Reached, Failure> {
        loop {
            let expect_data = end.map_or(src.size > start, |e| e > start);
            let range = Range { start, end, expect_data, make_holes: self.make_holes };
            let watch = Watch { progress: &w.progress, stop: &w.stop };
            match ranges::copy_range(self.current, src, dst, range, &mut w.buffers, watch) {
                Ok(p) => return Ok(p),
                Err(e) if self.moved + e.moved == 0 && may_fall_back(self.current, &e) => {
                    if let Some(errno) = e.errno {
                        w.support.remember(self.pair, self.current, errno);
                    }
                    self.record.fell_back.push(Fallback {
                        strategy: self.current,
                        errno: e.errno,
                        cached: false,
                    });
                    self.current = next_supported(&mut self.chain, self.pair, w, &mut self.record);
                    self.record.strategy = self.current;
                }
                // No data where the size at open promised some: the source shrank.
                Err(RangeError { errno: None, .. }) => {
                    return Err(Failure::at(Stage::Shrank, Errno::NODATA, &self.record));
                }
                Err(RangeError { stage, errno: Some(errno), .. }) => {
                    return Err(Failure { stage, errno, record: self.record.clone() });
                }
            }
        }
    }
}

/// The next strategy of the chain this device pair is not known to refuse; cached refusals
/// are recorded as fallbacks so the report still says why.
fn next_supported(
    chain: &mut Chain,
    pair: (u64, u64),
    w: &mut Scratch,
    record: &mut Copied,
) -> Strategy {
    for strategy in chain.by_ref() {
        match w.known(pair, strategy) {
            Some(errno) => {
                record.fell_back.push(Fallback { strategy, errno: Some(errno), cached: true })
            }
            None => return strategy,
        }
    }
    Strategy::ReadWrite
}

fn may_fall_back(current: Strategy, e: &RangeError) -> bool {
    current != Strategy::ReadWrite && e.errno.is_none_or(support::is_unsupported)
}

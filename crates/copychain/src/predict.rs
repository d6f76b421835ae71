//! `--dry-run`'s forecast for one file: the strategy the chain would end on and the
//! fallbacks it would take on the way, each with the errno the kernel gives, worked out
//! from what is known without writing — the devices and filesystems at both ends and the
//! policy. It follows the same chain as the copy (`chain`).

use rustix::io::Errno;

use super::chain::{as_found, data_chain, makes_holes, nothing_yet, walks_holes, wants_clone};
use super::types::{Copied, Failure, Fallback, Policy, Reflink, Source, Stage, Strategy};
use crate::fs::Filesystem;

/// One end of a predicted copy: its device and filesystem.
#[derive(Clone, Copy, Debug)]
pub struct Landing {
    /// The device.
    pub dev: u64,
    /// What its filesystem can do.
    pub fs: Filesystem,
}

/// What copying `src` (on `from`) into a destination on `to` (a regular file or not) would
/// do, from byte `start` on (`--resume`; no clone then). `Err` is the failure the copy
/// would meet (`--reflink=always` where no clone is possible).
pub fn predict(
    src: &Source,
    (from, to): (&Landing, &Landing),
    dst_regular: bool,
    start: u64,
    policy: Policy,
) -> Result<Copied, Failure> {
    let src = &as_found(src);
    let mut record = Copied { predicted: true, ..nothing_yet() };
    if start == 0 && wants_clone(src, policy) {
        let Some(errno) = refusal(Strategy::Clone, from, to) else {
            record.strategy = Strategy::Clone;
            record.bytes = src.size;
            return Ok(record);
        };
        record.fell_back.push(Fallback {
            strategy: Strategy::Clone,
            errno: Some(errno),
            cached: false,
        });
        if policy.reflink == Reflink::Always {
            record.strategy = Strategy::Clone;
            return Err(Failure { stage: Stage::Clone, errno, record });
        }
    }
    for strategy in data_chain(src, dst_regular, policy) {
        record.strategy = strategy;
        match refusal(strategy, from, to) {
            Some(errno) => {
                record.fell_back.push(Fallback { strategy, errno: Some(errno), cached: false });
            }
            None => break,
        }
    }
    record.bytes = src.size;
    record.resumed_from = start;
    record.holes = walks_holes(src, dst_regular, policy);
    record.zeros = makes_holes(dst_regular, policy);
    Ok(record)
}

/// The errno `strategy` would fail with between these two ends, if it would.
fn refusal(strategy: Strategy, from: &Landing, to: &Landing) -> Option<Errno> {
    let same_device = from.dev == to.dev;
    match strategy {
        // FICLONE: one filesystem (one mount, strictly) that shares extents.
        Strategy::Clone if !same_device => Some(Errno::XDEV),
        Strategy::Clone if !to.fs.clones => Some(Errno::OPNOTSUPP),
        // copy_file_range: within one filesystem, or between mounts of the few that
        // implement it themselves.
        Strategy::CopyFileRange if !same_device && !from.fs.copies_across(&to.fs) => {
            Some(Errno::XDEV)
        }
        _ => None,
    }
}

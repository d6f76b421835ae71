//! Which errors mean "this path is unsupported here", and the per (source device,
//! destination device) memory of them, so a tree on ext4 tries FICLONE once, not per file.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;

use super::types::Strategy;

/// Errors after which the next strategy may run (while nothing has moved): the kernel,
/// the filesystem or this pair of files does not do it. Anything else is a real error.
pub(crate) fn is_unsupported(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::OPNOTSUPP
            | Errno::NOTTY
            | Errno::XDEV
            | Errno::INVAL
            | Errno::NOSYS
            | Errno::BADF
            | Errno::PERM
            | Errno::ACCESS
            | Errno::TXTBSY
            | Errno::NOENT // CIFS answers copy_file_range this way
    )
}

/// Whether `errno` from `strategy` speaks for the whole device pair, not just this file.
/// EINVAL from FICLONE can be one file's flags (btrfs nodatacow); from splice it means the
/// filesystem has no splice support.
fn is_device_level(strategy: Strategy, errno: Errno) -> bool {
    match errno {
        Errno::OPNOTSUPP | Errno::NOTTY | Errno::XDEV | Errno::NOSYS => true,
        Errno::INVAL => strategy == Strategy::Splice,
        _ => false,
    }
}

/// Strategies a device pair is known not to support, with the errno that showed it.
/// The errno each of FICLONE, copy_file_range and splice was refused with, if any.
type Refusals = [Option<Errno>; 3];

/// Shared by all workers of a run, so one refusal teaches them all. Workers read it through
/// a `Memo`, so the per-file check touches no shared lock.
#[derive(Default, Debug)]
pub(crate) struct Support {
    refused: RwLock<HashMap<(u64, u64), Refusals>>,
    /// Bumped on every change, so a memo knows when it is stale.
    changes: AtomicU64,
}

/// One worker's copy of the row it last used: valid while `Support::changes` is unchanged.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Memo {
    row: Option<(u64, (u64, u64), Refusals)>,
}

fn slot(strategy: Strategy) -> Option<usize> {
    match strategy {
        Strategy::Clone => Some(0),
        Strategy::CopyFileRange => Some(1),
        Strategy::Splice => Some(2),
        Strategy::ReadWrite => None,
    }
}

impl Support {
    /// The errno with which `strategy` already failed on this pair, if it is device-wide.
    pub(crate) fn known(
        &self,
        memo: &mut Memo,
        pair: (u64, u64),
        strategy: Strategy,
    ) -> Option<Errno> {
        let slot = slot(strategy)?;
        let changes = self.changes.load(Ordering::Acquire);
        match memo.row {
            Some((seen, p, row)) if seen == changes && p == pair => row[slot],
            _ => {
                let refused = self.refused.read().unwrap_or_else(|e| e.into_inner());
                let row = refused.get(&pair).copied().unwrap_or_default();
                memo.row = Some((changes, pair, row));
                row[slot]
            }
        }
    }

    /// Remembers a failure of `strategy` on this pair if it holds for every file there.
    pub(crate) fn remember(&self, pair: (u64, u64), strategy: Strategy, errno: Errno) {
        if let Some(slot) = slot(strategy)
            && is_device_level(strategy, errno)
        {
            let mut refused = self.refused.write().unwrap_or_else(|e| e.into_inner());
            refused.entry(pair).or_default()[slot] = Some(errno);
            self.changes.fetch_add(1, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_device_wide_refusals() {
        let s = Support::default();
        let m = &mut Memo::default();
        s.remember((1, 2), Strategy::Clone, Errno::INVAL);
        assert_eq!(s.known(m, (1, 2), Strategy::Clone), None);
        s.remember((1, 2), Strategy::Clone, Errno::OPNOTSUPP);
        assert_eq!(s.known(m, (1, 2), Strategy::Clone), Some(Errno::OPNOTSUPP));
        assert_eq!(s.known(m, (2, 1), Strategy::Clone), None);
        s.remember((1, 2), Strategy::ReadWrite, Errno::XDEV);
        assert_eq!(s.known(m, (1, 2), Strategy::ReadWrite), None);
    }

    #[test]
    fn a_memo_sees_what_another_worker_learnt() {
        let s = Support::default();
        let (mine, theirs) = (&mut Memo::default(), &mut Memo::default());
        assert_eq!(s.known(mine, (1, 2), Strategy::Clone), None);
        s.remember((1, 2), Strategy::Clone, Errno::XDEV);
        assert_eq!(s.known(theirs, (1, 2), Strategy::Clone), Some(Errno::XDEV));
        assert_eq!(s.known(mine, (1, 2), Strategy::Clone), Some(Errno::XDEV));
    }

    #[test]
    fn real_errors_are_not_unsupported() {
        for errno in [Errno::IO, Errno::NOSPC, Errno::DQUOT, Errno::NOMEM, Errno::FBIG] {
            assert!(!is_unsupported(errno), "{errno:?}");
        }
    }
}

//! Rank 0's bookkeeping of the work: which ranks are busy, the work offered and not yet
//! given out (trees, and pieces of big files), and how much it has asked busy ranks for.
//! All of it passes through rank 0, and a rank offers work before it says the work it
//! came from is done (one sender's messages keep their order), so "every rank idle and
//! nothing waiting" means the copy is over — no list of files is kept anywhere.

use std::collections::VecDeque;

/// What rank 0 tells one rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Order {
    Work(Offered),
    Want,
    /// The walk is over: send the files deferred to their owners, copy those owned.
    Links,
    /// Every owned file is in: finish the directories that waited for them.
    Dirs,
    Finish,
}

/// Work one rank offered for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Offered {
    Tree(Vec<u8>),
    /// A piece of a file of `owner`'s (`pieces::piece_of` names it).
    Piece {
        owner: usize,
        file: u64,
        index: u64,
        bytes: Vec<u8>,
    },
}

impl Offered {
    /// The piece of `owner`'s `file` this is.
    fn piece_of(&self, (owner, file): (usize, u64)) -> Option<u64> {
        match self {
            Offered::Piece { owner: o, file: f, index, .. } if (*o, *f) == (owner, file) => {
                Some(*index)
            }
            _ => None,
        }
    }
}

/// Where the copy is: walking trees, copying deferred files, finishing late directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Trees,
    Links,
    Dirs,
}

/// The state of the work across ranks.
pub(super) struct Coord {
    /// Busy ranks (rank 0 starts busy with the plan).
    busy: Vec<bool>,
    /// Trees each busy rank was asked for and has not offered yet.
    asked: Vec<u32>,
    /// Work offered and not given out.
    queue: VecDeque<Offered>,
    phase: Phase,
    /// `Finish` was sent.
    finished: bool,
}

impl Coord {
    pub(super) fn new(size: usize) -> Coord {
        let mut busy = vec![false; size];
        busy[0] = true;
        Coord {
            busy,
            asked: vec![0; size],
            queue: VecDeque::new(),
            phase: Phase::Trees,
            finished: false,
        }
    }

    /// `rank` offered work.
    pub(super) fn offer(&mut self, rank: usize, work: Offered) {
        self.asked[rank] = self.asked[rank].saturating_sub(1);
        self.queue.push_back(work);
    }

    /// `owner` waits for the pieces of its `file`: those still queued go back to it.
    pub(super) fn reclaim(&mut self, owner: usize, file: u64) -> Vec<u64> {
        let mut back = Vec::new();
        self.queue.retain(|work| match work.piece_of((owner, file)) {
            Some(index) => {
                back.push(index);
                false
            }
            None => true,
        });
        back
    }

    /// `rank` is done with its work.
    pub(super) fn done(&mut self, rank: usize) {
        self.busy[rank] = false;
        self.asked[rank] = 0;
    }

    /// The run was told to stop: trees not given out are not walked, and pieces go back
    /// to their owners (returned: owner, file, pieces).
    pub(super) fn drop_queue(&mut self) -> Vec<(usize, u64, Vec<u64>)> {
        let mut back: Vec<(usize, u64, Vec<u64>)> = Vec::new();
        for work in self.queue.drain(..) {
            let Offered::Piece { owner, file, index, .. } = work else { continue };
            match back.iter_mut().find(|(o, f, _)| (*o, *f) == (owner, file)) {
                Some((_, _, pieces)) => pieces.push(index),
                None => back.push((owner, file, vec![index])),
            }
        }
        back
    }

    /// Whether no rank but 0 has work (rank 0 waits for this between operands).
    pub(super) fn others_idle(&self) -> bool {
        self.queue.is_empty() && !self.busy[1..].iter().any(|&b| b)
    }

    /// Whether the copy is over and `Finish` went out.
    pub(super) fn finished(&self) -> bool {
        self.finished
    }

    /// What to tell whom now: waiting trees to idle ranks, requests for trees to busy ranks
    /// (one per idle rank left without a tree, and a spare per rank); when every rank is idle and no tree waits,
    /// the next phase to all (`Links`, then `Dirs`), then `Finish`.
    pub(super) fn orders(&mut self) -> Vec<(usize, Order)> {
        let mut orders = Vec::new();
        if self.finished {
            return orders;
        }
        for rank in 0..self.busy.len() {
            if self.busy[rank] {
                continue;
            }
            let Some(work) = self.queue.pop_front() else { break };
            self.busy[rank] = true;
            orders.push((rank, Order::Work(work)));
        }
        if self.busy.iter().all(|&b| !b) {
            let order = match self.phase {
                Phase::Trees => Order::Links,
                Phase::Links => Order::Dirs,
                Phase::Dirs => Order::Finish,
            };
            (self.phase, self.finished) = match order {
                Order::Links => (Phase::Links, false),
                Order::Dirs => (Phase::Dirs, false),
                _ => (Phase::Dirs, true),
            };
            self.busy.fill(!self.finished);
            let all = 0..self.busy.len();
            return all.map(|rank| (rank, order.clone())).collect();
        }
        // A tree for every idle rank, and one waiting for each other rank: a rank that
        // finishes gets its next tree without a round trip to a busy one.
        let idle = self.busy.iter().filter(|&&b| !b).count() as u32;
        let spare = self.busy.len() as u32 - 1;
        let short = (idle + spare).saturating_sub(self.queue.len() as u32);
        let mut asked: u32 = self.asked.iter().sum();
        while self.phase == Phase::Trees && asked < short {
            let Some(rank) =
                (0..self.busy.len()).filter(|&r| self.busy[r]).min_by_key(|&r| self.asked[r])
            else {
                break;
            };
            self.asked[rank] += 1;
            asked += 1;
            orders.push((rank, Order::Want));
        }
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_go_to_idle_ranks_and_the_end_comes_when_all_are_idle() {
        let mut coord = Coord::new(3);
        // Rank 0 walks the plan; ranks 1 and 2 are idle: rank 0 is asked for a tree for
        // each, and a spare for each other rank.
        assert_eq!(coord.orders(), vec![(0, Order::Want); 4]);
        coord.offer(0, Offered::Tree(vec![1]));
        assert_eq!(coord.orders(), vec![(1, Order::Work(Offered::Tree(vec![1])))]);
        // Rank 0 is done before offering more: rank 1 is asked.
        coord.done(0);
        assert_eq!(coord.orders(), vec![(1, Order::Want); 4]);
        assert!(!coord.others_idle());
        coord.offer(1, Offered::Tree(vec![2]));
        assert_eq!(coord.orders(), vec![(0, Order::Work(Offered::Tree(vec![2])))]);
        coord.done(1);
        coord.done(0);
        assert!(coord.others_idle());
        // Then the deferred files, the late directories, and the end: each once every
        // rank is done with the one before.
        for phase in [Order::Links, Order::Dirs] {
            let all: Vec<_> = (0..3).map(|r| (r, phase.clone())).collect();
            assert_eq!(coord.orders(), all);
            assert!(!coord.others_idle());
            (0..3).for_each(|r| coord.done(r));
            assert!(!coord.finished());
        }
        let orders = coord.orders();
        assert_eq!(orders, vec![(0, Order::Finish), (1, Order::Finish), (2, Order::Finish)]);
        assert!(coord.finished());
        assert!(coord.orders().is_empty());
    }

    #[test]
    fn pieces_not_given_out_go_back_to_their_owner() {
        let mut coord = Coord::new(2);
        let piece = |index| Offered::Piece { owner: 0, file: 1, index, bytes: vec![] };
        // Rank 1 is busy: pieces offered wait in the queue.
        coord.offer(0, Offered::Tree(vec![9]));
        let _ = coord.orders();
        coord.offer(0, piece(3));
        coord.offer(0, piece(2));
        coord.offer(0, Offered::Piece { owner: 0, file: 2, index: 5, bytes: vec![] });
        assert_eq!(coord.reclaim(0, 1), vec![3, 2]);
        assert_eq!(coord.reclaim(0, 1), Vec::<u64>::new());
        // On a stop, what is left goes back too.
        assert_eq!(coord.drop_queue(), vec![(0, 2, vec![5])]);
        assert!(coord.queue.is_empty());
    }
}

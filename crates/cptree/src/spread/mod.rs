//! A copy spread over several processes — ranks started together by a launcher (`mpirun`,
//! `srun`) on one or many machines — that share the walk and report as one. The transport
//! is the caller's (rcp's MPI, behind a cargo feature): this module sees only a rank
//! number, the number of ranks, and two channels of byte messages (`Ranks`).
//!
//! Rank 0 does what happens once: the plan, and the output (its own lines, and the lines
//! and records every other rank relays to it). Every rank walks: rank 0 the plan, the
//! others trees — a directory this run made, with everything below it — that a busy rank
//! offered when rank 0 told it another was idle (`coord`). A tree travels as names and
//! identities (`ship`) and is opened again where it lands, one component at a time and
//! never through a symlink. Each rank's walk keeps its own `-j` threads. Under
//! `--preserve=links` a file with other links is not copied where it is met: it goes to the
//! rank owning its inode. When every rank is idle and no tree waits, rank 0 moves every rank
//! on, each time all are idle again: `Links` (deferred files to their owners, which copy one
//! name and link the others), `Dirs` (the directories those went into get their attributes,
//! deepest first), `Finish`; each other rank answers with its totals (outcomes, files and
//! bytes per strategy, errors), which rank 0 adds to its own, so the summary, `--stats` and
//! the exit status are the whole job's.

mod coord;
mod pieces;
mod ship;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cp::{Announced, Deferred};
use crate::options::{Options, ReportFormat};
use crate::plan::Plan;
use crate::report::format::report_line;
use crate::report::{End, Output, Reporter, Sink};
use crate::sched::{LateDir, Spill, Tree};
use crate::walk::{Given, Rank, Watch, copy_on_rank};
use coord::{Coord, Offered, Order};
use copychain::{Dest, Pieces, Scratch, Share, Source};
use wire::{Frame, Writer, frames};

/// Output a rank keeps before sending it on to rank 0 (sooner every `TICK`).
const OUTBOX: usize = 64 << 10;
/// How often a rank sends what it has (output, progress) when nothing else happens.
const TICK: Duration = Duration::from_millis(50);

/// One rank's connection to the others: the transport's ends.
pub struct Ranks {
    /// This rank, from 0.
    pub rank: u32,
    /// How many ranks there are.
    pub size: u32,
    /// Messages to send: (to rank, bytes). The transport delivers each rank's messages to
    /// another in the order they were sent, sends a message to this very rank back into
    /// `received`, and stops once every clone of this sender is dropped.
    pub send: Sender<(u32, Vec<u8>)>,
    /// Messages received: (from rank, bytes).
    pub received: Receiver<(u32, Vec<u8>)>,
}

/// A rank of a spread copy, ready to copy.
pub struct Spread {
    post: Arc<Post>,
    /// Taken by `copy`.
    received: Option<Receiver<(u32, Vec<u8>)>>,
    trees: Option<Sender<Work>>,
}

/// What the mailbox hands this rank's walk.
enum Work {
    Tree(Vec<u8>),
    /// The files deferred to this rank by every rank, in the order to copy them, and the
    /// copies command-line files of its inodes made.
    Files(Vec<Vec<u8>>, Vec<Vec<u8>>),
    /// Copy a piece of another rank's big file (`pieces`).
    Piece(Vec<u8>),
    /// Finish the late directories.
    Dirs,
    /// The copy is over.
    Finish,
}

impl Spread {
    /// This rank of the copy `opts` asks for.
    pub fn new(ranks: Ranks, opts: &Options) -> Spread {
        let places = exchange_places(&ranks);
        let here = places.get(ranks.rank as usize).copied();
        // On one host, writers of one file take turns on its lock: a file is cut into
        // pieces only when some rank is elsewhere.
        let chunk = places.iter().any(|&p| Some(p) != here).then_some(opts.chunk_size);
        let (trees, trees_rx) = channel();
        let post = Post {
            rank: ranks.rank,
            size: ranks.size as usize,
            send: ranks.send,
            outbox: Mutex::new(Writer::default()),
            wanted: AtomicU32::new(0),
            trees: Mutex::new(trees_rx),
            deferred: (0..ranks.size).map(|_| Mutex::default()).collect(),
            late: Mutex::default(),
            coord: Mutex::new(Coord::new(ranks.size as usize)),
            settled: Condvar::new(),
            report: opts.report,
            board: pieces::Board::new(ranks.rank, chunk),
        };
        Spread { post: Arc::new(post), received: Some(ranks.received), trees: Some(trees) }
    }

    /// This rank's number.
    pub fn rank(&self) -> u32 {
        self.post.rank
    }

    /// The sink of a rank other than 0: everything it would print goes to rank 0.
    pub fn relay(&self) -> Box<dyn Sink> {
        Box::new(Relay(Arc::clone(&self.post)))
    }

    /// Copies together with the other ranks: rank 0 walks `plan` (none: nothing, its plan
    /// failed; the other ranks still need their `Finish`), and every rank walks the trees
    /// it is given. Returns once the copy is over — on rank 0, with every rank's totals
    /// added to `out`.
    pub fn copy<'a>(
        &'a mut self,
        opts: &'a Options,
        plan: Option<&Plan>,
        out: &'a Reporter,
        watch: Option<&'a mut (dyn Watch + 'a)>,
    ) {
        let (Some(received), Some(trees)) = (self.received.take(), self.trees.take()) else {
            return;
        };
        let post = &*self.post;
        // Copies in chunks of 64 MiB, not 1 GiB: a launcher gives a rank a second between
        // SIGTERM and SIGKILL, and a rank stops between chunks.
        out.progress().watch();
        let empty = Plan::default();
        let plan = (post.rank == 0).then(|| plan.unwrap_or(&empty));
        let scratch = Scratch::new(Arc::clone(out.progress()), out.stop().clone());
        post.board.copy_with(scratch, opts.policy);
        let share: Arc<dyn copychain::Share> = Arc::clone(&self.post) as _;
        std::thread::scope(|scope| {
            let mailbox = scope.spawn(|| {
                crate::sys::interrupt::leave_to_the_walk();
                post.mailbox(received, trees, out)
            });
            copy_on_rank(opts, plan, out, watch, (post, share));
            if post.rank != 0 {
                post.to_zero(&Frame::Progress(counts(out)));
                post.to_zero(&Frame::Totals(out.totals()));
                post.flush();
            }
            let _ = mailbox.join();
        });
    }
}

impl Spread {
    /// Rank 0 stops before copying anything (its plan, or its output, failed): the other
    /// ranks are told the copy is over, and their (empty) totals awaited.
    pub fn abandon(self) {
        for rank in 1..self.post.size {
            self.post.order(rank, Order::Finish);
        }
        let Some(received) = self.received else { return };
        let mut due = self.post.size - 1;
        while due > 0 {
            let Ok((_, message)) = received.recv() else { return };
            due -= frames(&message).iter().filter(|f| matches!(f, Frame::Totals(_))).count();
        }
    }
}

/// Where every rank runs (`Run::place`: host, boot, PID namespace), by rank: each rank
/// tells rank 0, which tells every rank all of them — before anything else is sent.
fn exchange_places(ranks: &Ranks) -> Vec<u64> {
    let here = ship::place();
    let tell = |rank: u32, frame: &Frame| {
        let _ = ranks.send.send((rank, frame.message()));
    };
    let mut places = vec![here; ranks.size as usize];
    if ranks.rank != 0 {
        tell(0, &Frame::Place(here));
        while let Ok((_, message)) = ranks.received.recv() {
            if let Some(Frame::Places(all)) = frames(&message).into_iter().next() {
                return all;
            }
        }
        return places;
    }
    let mut due = ranks.size - 1;
    while due > 0 {
        let Ok((from, message)) = ranks.received.recv() else { break };
        if let (Some(Frame::Place(place)), Some(slot)) =
            (frames(&message).into_iter().next(), places.get_mut(from as usize))
        {
            *slot = place;
            due -= 1;
        }
    }
    for rank in 1..ranks.size {
        tell(rank, &Frame::Places(places.clone()));
    }
    places
}

/// This rank's progress counters.
fn counts(out: &Reporter) -> [u64; 3] {
    let progress = out.progress();
    [progress.files(), progress.moved_bytes(), progress.passed_bytes()]
}

/// What a rank's threads share: the way out, the work coming in, and on rank 0 the state of
/// the whole copy.
struct Post {
    rank: u32,
    size: usize,
    send: Sender<(u32, Vec<u8>)>,
    /// Frames for rank 0 not sent yet.
    outbox: Mutex<Writer>,
    /// Trees rank 0 asked this rank for.
    wanted: AtomicU32,
    /// Work given to this rank, from the mailbox to the walk.
    trees: Mutex<Receiver<Work>>,
    /// Files deferred to each rank, not sent yet.
    deferred: Vec<Mutex<Writer>>,
    /// This rank's directories that wait for deferred files.
    late: Mutex<Vec<LateDir>>,
    /// Rank 0: the work across ranks, and the walk waiting for other ranks to be idle.
    coord: Mutex<Coord>,
    settled: Condvar,
    /// `--report`: a relayed record is written out here, in this format.
    report: Option<ReportFormat>,
    /// Big files' pieces: this rank's, and others' it copies.
    board: pieces::Board,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Post {
    /// Queues `frame` for rank 0, sending the queue once it is big.
    fn to_zero(&self, frame: &Frame) {
        let mut outbox = lock(&self.outbox);
        frame.put(&mut outbox);
        if outbox.0.len() >= OUTBOX {
            let bytes = std::mem::take(&mut outbox.0);
            let _ = self.send.send((0, bytes));
        }
    }

    /// Sends what is queued for rank 0.
    fn flush(&self) {
        let bytes = std::mem::take(&mut lock(&self.outbox).0);
        if !bytes.is_empty() {
            let _ = self.send.send((0, bytes));
        }
    }

    /// Sends `rank` one frame now.
    fn tell(&self, rank: usize, frame: &Frame) {
        let _ = self.send.send((rank as u32, frame.message()));
    }

    /// Rank 0 tells `rank` what to do.
    fn order(&self, rank: usize, order: Order) {
        let frame = match order {
            Order::Work(Offered::Tree(tree)) => Frame::Tree(tree),
            Order::Work(Offered::Piece { bytes, .. }) => Frame::Piece(bytes),
            Order::Want => Frame::Want,
            Order::Links => Frame::Links,
            Order::Dirs => Frame::Dirs,
            Order::Finish => Frame::Finish,
        };
        self.tell(rank, &frame);
    }

    /// Reads what the other ranks send until this rank is done: orders for this rank (trees
    /// to its walk), and on rank 0 the others' output, offers, progress and totals. Sends
    /// this rank's output on at least every `TICK`.
    fn mailbox(&self, received: Receiver<(u32, Vec<u8>)>, trees: Sender<Work>, out: &Reporter) {
        let mut mail = Mailbox {
            post: self,
            trees,
            out,
            totals_due: self.size - 1,
            lines: Vec::new(),
            owned: Vec::new(),
            known: Vec::new(),
            links_ended: 0,
            sent_links: false,
            progress: vec![[0; 3]; self.size],
            sent: [0; 3],
            last_tick: Instant::now(),
        };
        if self.rank == 0 {
            // Rank 0 walks the plan; the others wait: ask it for trees before anything.
            self.give_orders(out);
        }
        loop {
            let (from, message) = match received.recv_timeout(TICK) {
                Ok((from, message)) => (from as usize, message),
                Err(RecvTimeoutError::Timeout) => (0, Vec::new()),
                // The transport is gone: nothing more can come.
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = mail.trees.send(Work::Finish);
                    return;
                }
            };
            let mut over = false;
            for frame in frames(&message) {
                over |= mail.take(from, frame);
            }
            // A message's lines under one lock.
            if !mail.lines.is_empty() {
                out.relay(std::mem::take(&mut mail.lines));
            }
            mail.pass_owned_files();
            let finished = self.rank == 0 && self.give_orders(out) && mail.totals_due == 0;
            if over || finished {
                return;
            }
            mail.tick();
        }
    }
}

/// What a rank's mailbox keeps between messages.
struct Mailbox<'p> {
    post: &'p Post,
    /// To this rank's walk.
    trees: Sender<Work>,
    out: &'p Reporter,
    /// Rank 0: the ranks whose totals have not come.
    totals_due: usize,
    /// Rank 0: the lines of the message being read, relayed together.
    lines: Vec<Output>,
    /// Files deferred to this rank, the ranks that have sent all theirs (`LinksEnd`), and
    /// whether this rank has sent its own (`Links`).
    owned: Vec<Vec<u8>>,
    /// Copies of command-line files of inodes this rank owns.
    known: Vec<Vec<u8>>,
    links_ended: usize,
    sent_links: bool,
    /// Rank 0: each rank's progress counters as last told.
    progress: Vec<[u64; 3]>,
    /// This rank's counters as last sent to rank 0, and when.
    sent: [u64; 3],
    last_tick: Instant,
}

impl Mailbox<'_> {
    /// Does what `frame` from `from` says; returns whether this rank (not 0) is done.
    fn take(&mut self, from: usize, frame: Frame) -> bool {
        let post = self.post;
        match frame {
            Frame::Tree(tree) => {
                let _ = self.trees.send(Work::Tree(tree));
            }
            Frame::Want => {
                post.wanted.fetch_add(1, Ordering::Relaxed);
                post.board.offer(&post.wanted, post);
            }
            Frame::Piece(piece) => {
                let _ = self.trees.send(Work::Piece(piece));
            }
            Frame::OfferPiece(bytes) => {
                if let Some((owner, file, index)) = pieces::piece_of(&bytes) {
                    lock(&post.coord).offer(from, Offered::Piece { owner, file, index, bytes });
                }
            }
            Frame::Reclaim(file) => {
                let pieces = lock(&post.coord).reclaim(from, file);
                post.tell(from, &Frame::Reclaimed { file, pieces });
            }
            Frame::Reclaimed { file, pieces } => {
                for index in pieces {
                    post.board.back(file, index, false);
                }
            }
            Frame::PieceDone { file, index, ok } => post.board.back(file, index, ok),
            // Only before the copy (`exchange_places`).
            Frame::Place(_) | Frame::Places(_) => {}
            Frame::Links => {
                post.send_links();
                self.sent_links = true;
            }
            Frame::Link(file) => self.owned.push(file),
            Frame::LinksEnd => self.links_ended += 1,
            Frame::Known(copy) => self.known.push(copy),
            Frame::Dirs => {
                let _ = self.trees.send(Work::Dirs);
            }
            Frame::Finish => {
                let _ = self.trees.send(Work::Finish);
                return post.rank != 0;
            }
            Frame::Line(line) => self.lines.push(line),
            Frame::Offer(tree) => lock(&post.coord).offer(from, Offered::Tree(tree)),
            Frame::Done => lock(&post.coord).done(from),
            Frame::Progress(now) => {
                let before = std::mem::replace(&mut self.progress[from], now);
                let delta = [0, 1, 2].map(|i| now[i].saturating_sub(before[i]));
                self.out.progress().add(delta[0], delta[1], delta[2]);
            }
            Frame::Totals(words) => {
                self.out.absorb(&words);
                self.totals_due -= 1;
            }
        }
        false
    }

    /// Once this rank has sent its deferred files and every rank has sent its own here, the
    /// walk gets them, by inode and then destination name (the first name of an inode is
    /// copied, the others linked to it).
    fn pass_owned_files(&mut self) {
        if !self.sent_links || self.links_ended < self.post.size {
            return;
        }
        (self.sent_links, self.links_ended) = (false, 0);
        self.owned.sort_by_cached_key(|file| {
            ship::file_id(file).map(|(ino, dst)| (ino, dst.to_path_buf()))
        });
        let files = std::mem::take(&mut self.owned);
        let _ = self.trees.send(Work::Files(files, std::mem::take(&mut self.known)));
    }

    /// Every `TICK`: this rank's progress and output on to rank 0.
    fn tick(&mut self) {
        if self.last_tick.elapsed() < TICK {
            return;
        }
        self.last_tick = Instant::now();
        let now = counts(self.out);
        if self.post.rank != 0 && now != self.sent {
            self.sent = now;
            self.post.to_zero(&Frame::Progress(now));
        }
        self.post.flush();
    }
}

impl Post {
    /// Rank 0 tells the ranks what the state of the work asks for now, and wakes its walk if
    /// it waits for the others to be idle. Returns whether the copy is over.
    fn give_orders(&self, out: &Reporter) -> bool {
        let mut coord = lock(&self.coord);
        if out.stop().requested() {
            for (owner, file, pieces) in coord.drop_queue() {
                self.tell(owner, &Frame::Reclaimed { file, pieces });
            }
        }
        for (rank, order) in coord.orders() {
            self.order(rank, order);
        }
        if coord.others_idle() {
            self.settled.notify_all();
        }
        coord.finished()
    }
}

impl Post {
    /// Sends every rank the files deferred to it, then says so to every rank (itself too).
    fn send_links(&self) {
        for (rank, files) in self.deferred.iter().enumerate() {
            let mut files = lock(files);
            Frame::LinksEnd.put(&mut files);
            let _ = self.send.send((rank as u32, std::mem::take(&mut files.0)));
        }
    }
}

impl pieces::ToZero for Post {
    fn to_zero(&self, frame: &Frame) {
        Post::to_zero(self, frame);
    }

    fn flush(&self) {
        Post::flush(self);
    }
}

impl Share for Post {
    fn piece_size(&self, size: u64) -> Option<u64> {
        self.board.piece_size(size)
    }

    fn share<'s>(
        &'s self,
        ends: (&Source, &Dest),
        piece: u64,
        shared: u64,
    ) -> Option<Box<dyn Pieces + 's>> {
        self.board.share(ends, (piece, shared), (&self.wanted, self))
    }
}

impl Spill for Post {
    fn defer(&self, root: &(PathBuf, PathBuf), file: Deferred) {
        let owner = ship::owner(file.id, self.size);
        let mut files = lock(&self.deferred[owner]);
        Frame::Link(ship::ship_file(root, &file)).put(&mut files);
        if files.0.len() >= OUTBOX {
            let _ = self.send.send((owner as u32, std::mem::take(&mut files.0)));
        }
    }

    fn late(&self, dir: LateDir) {
        lock(&self.late).push(dir);
    }

    fn spill(&self, tree: Box<Tree>) -> Result<(), Box<Tree>> {
        let wanted =
            self.wanted.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if wanted.is_err() {
            return Err(tree);
        }
        let Some(bytes) = ship::ship(&tree) else {
            self.wanted.fetch_add(1, Ordering::Relaxed);
            return Err(tree);
        };
        // Its fds close here: the rank that takes it opens it again.
        drop(tree);
        self.to_zero(&Frame::Offer(bytes));
        self.flush();
        Ok(())
    }
}

impl Rank for Post {
    fn next(&self) -> Option<Given> {
        let mut work = lock(&self.trees).recv().ok()?;
        // Pieces of other ranks' files are copied here, out of the walk's sight.
        while let Work::Piece(piece) = work {
            if let Some((owner, said)) = self.board.copy(&piece) {
                self.tell(owner as usize, &said);
            }
            self.done();
            work = lock(&self.trees).recv().ok()?;
        }
        Some(match work {
            Work::Tree(tree) => Given::Tree(ship::land(&tree).map(Box::new)),
            Work::Files(files, known) => Given::Files {
                known: known.iter().filter_map(|k| ship::known_of(k)).collect(),
                files: files.iter().map(|f| ship::land_file(f)).collect(),
            },
            Work::Dirs => {
                let mut dirs = std::mem::take(&mut *lock(&self.late));
                // Deepest first.
                dirs.sort_by_key(|dir| std::cmp::Reverse(dir.names.1.components().count()));
                Given::Dirs(dirs)
            }
            Work::Piece(_) | Work::Finish => return None,
        })
    }

    fn announce(&self, copied: Announced) {
        let owner = ship::owner(copied.id, self.size);
        let known = ship::ship_known(copied.id, &copied.src, &copied.copy);
        Frame::Known(known).put(&mut lock(&self.deferred[owner]));
    }

    fn done(&self) {
        // Requests made while this work went on were for it.
        self.wanted.store(0, Ordering::Relaxed);
        self.to_zero(&Frame::Done);
        self.flush();
    }

    fn settle(&self) {
        let mut coord = lock(&self.coord);
        while !coord.others_idle() {
            coord = self.settled.wait(coord).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The sink of a rank other than 0: its lines and records go to rank 0, records written
/// out here in the report's format.
struct Relay(Arc<Post>);

impl Sink for Relay {
    fn wants_records(&self) -> bool {
        self.0.report.is_some()
    }

    fn put(&mut self, output: Output) {
        let output = match (output, self.0.report) {
            (Output::Record(record), Some(format)) => Output::Report(report_line(&record, format)),
            (Output::Record(_), None) => return,
            (output, _) => output,
        };
        self.0.to_zero(&Frame::Line(output));
    }

    fn finish(&mut self, end: &End) -> i32 {
        end.status
    }
}

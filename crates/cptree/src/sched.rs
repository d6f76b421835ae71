//! `-j N`: the scheduler — worker threads that fill files the walk has opened, create and
//! fill whole batches of new files, or copy a whole directory tree rcp has just made (a
//! walk of its own, `WalkTree`); what is in flight, and directory attributes that wait for
//! the jobs handed over before them. The reporter prints what comes back in walk order.
//!
//! Threads start only when a second file is handed over, so a single file never pays for
//! them. `-j N` means N threads copy: N-1 workers, and the walk itself, which fills a job
//! in line whenever the queue is full instead of sleeping on it (no more runnable threads
//! than CPUs, and no wake-up per job). A tree is handed over only while fewer jobs wait than
//! there are workers (else the walk copies it itself), and the walk never takes one over:
//! a tree's lines may have to wait for the front, and only a worker may wait for that.
//!
//! On XFS a thread takes the first queued job whose allocation groups no other thread is
//! making files in or cloning from (`Lanes`): two threads in one group take turns on its
//! locks. Such jobs may queue deeper (`LANE_QUEUE`), far enough ahead of the first to
//! reach another group — but for files the walk has opened (made, their `-v` lines
//! said), which wait `QUEUE` deep at most anywhere. Elsewhere jobs go in order.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Scope;
use std::time::{Duration, Instant};

use rustix::fs::Stat;

use crate::cp::file::{DstDir, Ends, copy_new_file, fill_and_close, fill_reported};
use crate::cp::preserve::{Attrs, Env};
use crate::cp::{Cp, Deferred, DirNext, Finish, HeldDir};
use crate::error::Error;
use crate::options::Options;
use crate::plan::Bases;
use crate::report::Reporter;
use crate::sys::at::{At, Pairs};
use crate::sys::process::{Usage, usage};
use crate::sys::{Ino, interrupt};
use copychain::Scratch;
use copychain::fs::allocation_group_shift;

/// Jobs waiting for a worker, at most: memory stays flat however big the tree.
const QUEUE: usize = 64;
/// Jobs with lanes (on XFS) waiting for a worker, at most. GNU's inode order visits a
/// directory's subdirectories one allocation group at a time (XFS inode numbers carry
/// their group), so a thread finds a job in a group no other thread is in only this far
/// ahead of the first: with 64, both threads cloned from one group and slept on its lock
/// 1,200-2,300 times a copy of 50,000 files in 500 directories (4 groups); with 256, 250-300.
const LANE_QUEUE: usize = 256;
/// Jobs handed over between two looks at whether the threads wait on the disk.
const LOOK_EVERY: u64 = 16;
/// The shortest time between two looks (a shorter one says little).
const LOOK_AFTER: Duration = Duration::from_millis(100);
/// Blocks (512 bytes) read from storage since the last look that make the copy cold.
const COLD_BLOCKS: u64 = 256;
/// A cold copy whose threads were on a CPU for less than this share of the time (of the
/// CPUs they could use) waits on the disk: a worker more keeps more reads in flight. Where
/// they are busier (Btrfs and XFS read their trees close together), more threads only
/// contend.
const WAITING_SHARE: f64 = 0.5;
/// Without `-j`: workers a cold copy may add, per CPU.
const SPARE_PER_CPU: usize = 3;
/// Open files kept for what is not a thread's: standard streams, the report file, the
/// signal and progress pipes, the progress count's walkdir (up to 10), a parent opened for
/// `--fsync`.
const RESERVED_FDS: usize = 24;
/// Open files one copying thread may hold: a file's two ends, its splice pipe, a copy read
/// back (`--verify`) or a temporary (`--atomic`).
const THREAD_FDS: usize = 6;
/// Open files a queued job may hold: a file's two ends (`Fill`), or the directory a tree
/// is and the two directories its names are in (`Tree`).
const JOB_FDS: usize = 3;
/// Open files a directory whose attributes wait may hold: its own, and its parent's two.
const HELD_FDS: usize = 3;
/// Directories waiting for their attributes, at most (the walk then waits for the jobs).
const HELD: usize = 1024;

/// How the files a run may have open are shared out, so that it stays under the limit at
/// any depth and any `-j`: each thread's own files, the queue, the directories waiting
/// for their attributes, and the directories each walk keeps open (two fds a level; a
/// walk closes the outermost beyond `levels` and opens them again when it comes back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fds {
    /// Threads that copy, at most (the walk's included).
    threads: usize,
    /// Jobs waiting for a worker, at most.
    queue: usize,
    /// Directories waiting for their attributes, at most (then the walk waits instead).
    pub(crate) held: usize,
    /// Levels of the tree the walk keeps open (at least 2: a directory and the one it is
    /// opened from): half of what the directories may have.
    levels: usize,
    /// Levels a worker's walk of a tree keeps open: the other half, shared by the workers.
    tree_levels: usize,
}

impl Default for Fds {
    fn default() -> Fds {
        Fds::share(usize::MAX, 1)
    }
}

impl Fds {
    /// The shares of `limit` open files for up to `threads` threads (fewer if the limit
    /// cannot hold that many).
    fn share(limit: usize, threads: usize) -> Fds {
        let spare = limit.saturating_sub(RESERVED_FDS);
        // Each thread's files and two levels of a walk, besides one queued job and one
        // waiting directory.
        let most = spare.saturating_sub(JOB_FDS + HELD_FDS) / (THREAD_FDS + 4);
        let threads = threads.min(most).max(1);
        let rest = spare.saturating_sub(threads * THREAD_FDS);
        let queue = (rest / 4 / JOB_FDS).clamp(1, LANE_QUEUE);
        let held = (rest / 4 / HELD_FDS).clamp(1, HELD);
        let walks = rest.saturating_sub(queue * JOB_FDS + held * HELD_FDS);
        // A walk holds one level more than its share for a moment (opening the next).
        let levels = |fds: usize| (fds / 2).saturating_sub(1).max(2);
        // The walk alone has it all; else half, and the workers' trees share the rest.
        let (main, trees) = match (walks / 2).checked_div(threads - 1) {
            Some(trees) => (walks / 2, trees),
            None => (walks, 0),
        };
        Fds { threads, queue, held, levels: levels(main), tree_levels: levels(trees) }
    }
}

/// Work for a worker.
pub(crate) enum Job {
    /// Both ends opened by the walk: fill and close.
    Fill { src: At, dst: At, ends: Box<Ends> },
    /// New files in a directory rcp made, one after the other on one worker (workers
    /// creating in the same directory would contend for its lock): open, create, fill,
    /// close.
    Batch { files: Box<Pairs>, dst_dir: Option<DstDir> },
    /// A directory rcp has just made, with everything below it: walked on the worker.
    Tree(Box<Tree>),
}

/// A directory tree for a worker to copy: the directory (made and opened), its contents
/// to walk, and what its walk needs to know of the operand.
pub(crate) struct Tree {
    pub(crate) dir: DirNext,
    /// The operand's source (source and destination), for `--exclude` and messages.
    pub(crate) root: (PathBuf, PathBuf),
    /// The directories above it (a cycle).
    pub(crate) ancestors: Vec<Ino>,
}

/// Copies a tree with the given per-entry decisions (printing into its job's place) and
/// a scheduler that does everything in line; returns whether anything failed, and the
/// engine state. The walk provides it: the scheduler sits below the walk and cannot name
/// it.
pub(crate) type WalkTree = for<'s, 'e> fn(Tree, Cp<'e>, Sched<'s, 'e>) -> Scratch;

/// What a walk leaves to the other ranks of a copy spread over several processes: trees
/// another rank may walk, files the rank owning their inode copies, and directories whose
/// attributes wait until it has.
pub(crate) trait Spill: Sync {
    /// Takes `tree` if one is wanted elsewhere now; gives it back if not.
    fn spill(&self, tree: Box<Tree>) -> Result<(), Box<Tree>>;

    /// Keeps a file with other hard links (of the operand `root`) for the rank that owns
    /// its inode.
    fn defer(&self, root: &(PathBuf, PathBuf), file: Deferred);

    /// Keeps a directory a deferred file goes into, to finish once every rank has copied
    /// its deferred files.
    fn late(&self, dir: LateDir);
}

/// A directory whose attributes (and record) wait until the files deferred into it are in:
/// its fds closed, found again by name below its operand then.
pub(crate) struct LateDir {
    pub(crate) finish: Finish,
    /// How the walk showed it (source, destination).
    pub(crate) names: (PathBuf, PathBuf),
    /// Its operand (source, destination).
    pub(crate) root: (PathBuf, PathBuf),
    /// Its entries could not all be read: the error printed.
    pub(crate) unread: Option<Error>,
}

/// The XFS locks a job's files take: the space lock (AGF) of the allocation group its
/// source directory's files are in (cloning their extents updates the group's shared-extent
/// counts), and the inode lock (AGI) of the group its destination directory is in (new
/// files are made there); none on other filesystems. Two threads taking one such lock
/// take turns (it is held until each transaction commits), so a thread takes the first
/// queued job whose lanes no other thread is in, when there is one.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Lanes([Option<Lane>; 2]);

/// One lock of one allocation group.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Lane {
    dev: u64,
    group: u64,
    /// The inode lock (else the space lock).
    inodes: bool,
}

impl Lanes {
    fn is_empty(&self) -> bool {
        self.0 == [None, None]
    }

    fn each(&self) -> impl Iterator<Item = Lane> + '_ {
        self.0.iter().flatten().copied()
    }
}

/// A job in the queue (or taken from it): its number, and its lanes (busy while it runs).
struct Taken {
    seq: u64,
    job: Job,
    lanes: Lanes,
}

/// The jobs waiting for a worker, in order, shared by the workers and the walk.
struct Queue {
    /// Jobs that may wait, at most (`Fds::queue`).
    capacity: usize,
    state: Mutex<Queued>,
    /// Signalled when a job is queued (and a worker waits) or the queue is closed.
    more: Condvar,
}

#[derive(Default)]
struct Queued {
    jobs: VecDeque<Taken>,
    /// The lanes of the jobs being run, one entry per job and lane.
    busy: Vec<Lane>,
    /// Workers waiting for a job.
    idle: usize,
    /// Workers started.
    workers: usize,
    closed: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new(capacity: usize) -> Queue {
        Queue { capacity, state: Mutex::default(), more: Condvar::default() }
    }

    /// Queues a job unless `capacity` jobs wait already (`QUEUE` unless it `waits_deep`);
    /// then it comes back.
    fn push(&self, seq: u64, job: Job, lanes: Lanes) -> Result<(), Job> {
        let mut queued = self.lock();
        let capacity =
            if waits_deep(&job, lanes) { self.capacity } else { self.capacity.min(QUEUE) };
        if queued.jobs.len() >= capacity {
            return Err(job);
        }
        queued.push(Taken { seq, job, lanes }, &self.more);
        Ok(())
    }

    /// The next job, for a worker: waits for one; `None` once the queue is closed and
    /// empty.
    fn pop(&self) -> Option<Taken> {
        let mut queued = self.lock();
        loop {
            if let Some(job) = queued.take(|_| true) {
                return Some(job);
            }
            if queued.closed {
                return None;
            }
            queued.idle += 1;
            queued = self.more.wait(queued).unwrap_or_else(std::sync::PoisonError::into_inner);
            queued.idle -= 1;
        }
    }

    /// A queued job that is not a tree, for the walk to fill itself.
    fn take_for_walk(&self) -> Option<Taken> {
        self.lock().take(|job| !matches!(job, Job::Tree(_)))
    }

    /// The queue is full: queues `job` anyway and takes one for the walk to fill itself,
    /// preferring (as any thread does) one in lanes no other thread is in.
    fn swap_for_walk(&self, job: Taken) -> Taken {
        let mut queued = self.lock();
        queued.jobs.push_back(job);
        queued.take(|job| !matches!(job, Job::Tree(_))).expect("the job just queued")
    }

    /// A job taken from the queue is done: its lanes are free again.
    fn release(&self, lanes: Lanes) {
        if !lanes.is_empty() {
            self.lock().release(lanes);
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.more.notify_all();
    }
}

impl Queued {
    fn push(&mut self, job: Taken, more: &Condvar) {
        self.jobs.push_back(job);
        if self.idle > 0 {
            more.notify_one();
        }
    }

    /// The first queued job `allowed` whose lanes no running job is in, else the first
    /// one `allowed`; its lanes are then busy.
    fn take(&mut self, allowed: impl Fn(&Job) -> bool) -> Option<Taken> {
        let free = |job: &Taken| job.lanes.each().all(|lane| !self.busy.contains(&lane));
        let at = (self.jobs.iter().position(|job| allowed(&job.job) && free(job)))
            .or_else(|| self.jobs.iter().position(|job| allowed(&job.job)))?;
        let job = self.jobs.remove(at)?;
        self.busy.extend(job.lanes.each());
        Some(job)
    }

    fn release(&mut self, lanes: Lanes) {
        for lane in lanes.each() {
            if let Some(at) = self.busy.iter().position(|&busy| busy == lane) {
                self.busy.swap_remove(at);
            }
        }
    }

    /// Whether a tree handed over now would soon be taken: fewer jobs wait than there are
    /// workers (the walk keeps the rest to itself).
    fn has_room_for_a_tree(&self) -> bool {
        self.jobs.len() < self.workers
    }
}

/// Whether `job` (in `lanes`) may wait beyond `QUEUE`, and be swapped for a queued one
/// when the queue is full: only a job in lanes (there is something to choose between)
/// that makes its files when it runs. A file the walk has opened (`Fill`) is made already,
/// its `-v` line said: a stop would find that many made and removed again, so it waits as
/// elsewhere and, refused, is filled in line.
fn waits_deep(job: &Job, lanes: Lanes) -> bool {
    !lanes.is_empty() && !matches!(job, Job::Fill { .. })
}

/// A job the worker has finished (its lines are printed already).
struct Done {
    seq: u64,
}

/// What the workers need to fill a file and report it.
#[derive(Clone, Copy)]
struct Rules<'env> {
    opts: &'env Options,
    env: Env,
    out: &'env Reporter,
    walk_tree: WalkTree,
    /// The run's shares of open files (set once the workers start: a tree's walk keeps
    /// `levels` open).
    fds: Fds,
    /// Other ranks that may take a tree.
    spill: Option<&'env dyn Spill>,
    /// `--link-dest` and its kin, for a tree's walk.
    bases: Option<&'env Bases>,
}

/// The scheduler. Jobs are numbered in walk order; each holds its place in the output
/// until it is done.
pub(crate) struct Sched<'scope, 'env> {
    /// Where workers are started (`None`: a tree's own walk, which starts none).
    scope: Option<&'scope Scope<'scope, 'env>>,
    rules: Rules<'env>,
    /// `-j`, if given.
    asked: Option<usize>,
    threads: OnceCell<usize>,
    cpus: OnceCell<usize>,
    fds: OnceCell<Fds>,
    /// The jobs waiting for a worker (once the workers are started).
    queue: Option<Arc<Queue>>,
    /// The walk thread's engine state: for files it fills in line and jobs it takes over.
    scratch: Scratch,
    done_tx: Sender<Done>,
    done: Receiver<Done>,
    /// Jobs handed over and not yet reported, by number.
    in_flight: BTreeSet<u64>,
    /// What each job in flight reads: a file's source, or a batch's source directory.
    reading: Vec<(u64, Ino)>,
    last_seq: u64,
    /// Directories whose attributes wait for the jobs numbered up to `.0`.
    deferred: VecDeque<(u64, HeldDir)>,
    /// Workers that may still be started while the copy reads from storage (none under
    /// `-j`, which says how many threads copy).
    spare: usize,
    /// The process's usage at the last look (`grow_if_waiting`), and when it was.
    looked: (Usage, Instant),
    /// By device: how far to shift an inode number for its allocation group (`Lanes`).
    group_shifts: HashMap<u64, Option<u32>>,
    /// A thread could not be started: no more are tried.
    cannot_grow: bool,
}

impl<'scope, 'env> Sched<'scope, 'env> {
    pub(crate) fn new(
        scope: &'scope Scope<'scope, 'env>,
        (opts, out): (&'env Options, &'env Reporter),
        env: Env,
        (walk_tree, spill): (WalkTree, Option<&'env dyn Spill>),
    ) -> Self {
        // A dry run fills no file: nothing to hand over.
        let asked = if opts.dry_run { Some(1) } else { opts.jobs };
        let rules = Rules { opts, env, out, walk_tree, fds: Fds::default(), spill, bases: None };
        let scratch = Scratch::new(Arc::clone(out.progress()), out.stop().clone());
        Sched::with(Some(scope), asked, rules, scratch)
    }

    /// The scheduler of a tree's walk on a worker: everything in line, with the worker's
    /// engine state (`into_scratch` gives it back).
    fn in_line(rules: Rules<'env>, scratch: Scratch) -> Self {
        let sched = Sched::with(None, Some(1), rules, scratch);
        let _ = sched.fds.set(rules.fds);
        sched
    }

    fn with(
        scope: Option<&'scope Scope<'scope, 'env>>,
        asked: Option<usize>,
        rules: Rules<'env>,
        scratch: Scratch,
    ) -> Self {
        let (done_tx, done) = channel();
        Sched {
            scope,
            rules,
            asked,
            threads: OnceCell::new(),
            cpus: OnceCell::new(),
            fds: OnceCell::new(),
            queue: None,
            scratch,
            done_tx,
            done,
            in_flight: BTreeSet::new(),
            reading: Vec::new(),
            last_seq: 0,
            deferred: VecDeque::new(),
            spare: 0,
            looked: (Usage::default(), Instant::now()),
            group_shifts: HashMap::new(),
            cannot_grow: false,
        }
    }

    /// The walk thread's engine state.
    pub(crate) fn scratch(&mut self) -> &mut Scratch {
        &mut self.scratch
    }

    /// The engine state, back from a tree's walk.
    pub(crate) fn into_scratch(self) -> Scratch {
        self.scratch
    }

    /// `--link-dest` and its kin: the earlier copies trees handed over look files up in.
    pub(crate) fn look_in(&mut self, bases: Option<&'env Bases>) {
        self.rules.bases = bases;
    }

    /// Other ranks that may take a tree, in a copy spread over several processes.
    pub(crate) fn spill(&self) -> Option<&'env dyn Spill> {
        self.rules.spill
    }

    /// Whether files may be handed over at all (`-j 1` copies everything in line).
    pub(crate) fn parallel(&self) -> bool {
        self.threads() > 1
    }

    /// How many threads copy at first: `-j`, or one per CPU (fewer if the open-file limit
    /// cannot hold their files).
    fn threads(&self) -> usize {
        *self
            .threads
            .get_or_init(|| self.asked.unwrap_or_else(|| self.cpus()).min(self.fds().threads))
    }

    /// The run's shares of open files (found once): for as many threads as may copy.
    pub(crate) fn fds(&self) -> Fds {
        *self.fds.get_or_init(|| {
            let most = self.asked.unwrap_or_else(|| self.cpus() * (1 + SPARE_PER_CPU));
            Fds::share(crate::sys::process::open_file_limit(), most)
        })
    }

    /// The CPUs this process may use (cgroup quotas counted; read once).
    fn cpus(&self) -> usize {
        *self.cpus.get_or_init(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The lanes of jobs that read from the source directory `src` and make files in the
    /// destination directory `dst` (each a status, and an fd on it to learn its
    /// filesystem by, if this is the first directory of its device). None if nothing is
    /// handed over.
    pub(crate) fn lanes(
        &mut self,
        src: (&Stat, Option<BorrowedFd>),
        dst: (&Stat, Option<BorrowedFd>),
    ) -> Lanes {
        if !self.parallel() {
            return Lanes::default();
        }
        let mut lane = |(st, fd): (&Stat, Option<BorrowedFd>), inodes| {
            let shift = match (self.group_shifts.get(&st.st_dev), fd) {
                (Some(&shift), _) => shift,
                (None, Some(fd)) => {
                    *self.group_shifts.entry(st.st_dev).or_insert(allocation_group_shift(fd))
                }
                (None, None) => None,
            };
            let group = st.st_ino.checked_shr(shift?).unwrap_or(0);
            Some(Lane { dev: st.st_dev, group, inodes })
        };
        Lanes([lane(src, false), lane(dst, true)])
    }

    /// Hands `job` to a worker, holding its place in the output (its files' lines, `-v`
    /// ones included, are printed there as they finish); starts a worker when none is
    /// free for it, up to `-j`. While the queue is full, the walk fills a job itself: this
    /// one, or on XFS a queued one in lanes no worker is in.
    pub(crate) fn submit(&mut self, job: Job, lanes: Lanes, reads: Ino) {
        let seq = self.next_seq();
        self.reading.push((seq, reads));
        self.grow_if_waiting(seq);
        let queue = self.started();
        match queue.push(seq, job, lanes) {
            Ok(()) => self.grow_if_none_free(&queue),
            Err(job) if !waits_deep(&job, lanes) => {
                let done = run_job(seq, job, &mut self.scratch, self.rules);
                self.done_tx.send(done).expect("the receiver is ours");
            }
            Err(job) => {
                let taken = queue.swap_for_walk(Taken { seq, job, lanes });
                let done = run_taken(taken, &queue, &mut self.scratch, self.rules);
                self.done_tx.send(done).expect("the receiver is ours");
            }
        }
    }

    /// Hands `tree` to the workers if one will soon be free for it (holding its place in
    /// the output, as `submit`); otherwise gives it back, for the walk to copy in line.
    pub(crate) fn submit_tree(&mut self, tree: Box<Tree>, lanes: Lanes) -> Result<(), Box<Tree>> {
        let Some(queue) = self.queue.clone() else { return Err(tree) };
        self.grow_if_none_free(&queue);
        let mut queued = queue.lock();
        if !queued.has_room_for_a_tree() {
            return Err(tree);
        }
        let seq = self.next_seq();
        queued.push(Taken { seq, job: Job::Tree(tree), lanes }, &queue.more);
        drop(queued);
        self.grow_if_waiting(seq);
        Ok(())
    }

    /// Every `LOOK_EVERY` jobs (and `LOOK_AFTER`): if the copy has read `COLD_BLOCKS`
    /// from storage since the last look (the page cache did not have them) and its threads
    /// were mostly off the CPU meanwhile, starts a spare worker, so that more reads wait
    /// on the device at once rather than the CPUs waiting on them. A warm copy reads
    /// nothing from storage and keeps one thread per CPU.
    fn grow_if_waiting(&mut self, seq: u64) {
        if self.spare == 0 || !seq.is_multiple_of(LOOK_EVERY) {
            return;
        }
        let (then, since) = self.looked;
        let elapsed = since.elapsed();
        if elapsed < LOOK_AFTER {
            return;
        }
        let now = usage();
        self.looked = (now, Instant::now());
        let cold = now.blocks_read.saturating_sub(then.blocks_read) >= COLD_BLOCKS;
        let threads = self.queue.as_ref().map_or(1, |q| q.lock().workers + 1);
        let could = elapsed.as_secs_f64() * threads.min(self.cpus()) as f64;
        let busy = now.cpu.saturating_sub(then.cpu).as_secs_f64() / could;
        if let (true, true, Some(queue)) = (cold, busy < WAITING_SHARE, self.queue.clone()) {
            self.spare -= 1;
            self.spawn_worker(&queue);
        }
    }

    /// Numbers the next job and holds its place in the output.
    fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        let seq = self.last_seq;
        self.rules.out.pending(seq);
        self.in_flight.insert(seq);
        seq
    }

    /// The queue, made on first use (workers start as jobs wait for them).
    fn started(&mut self) -> Arc<Queue> {
        if let Some(queue) = &self.queue {
            return Arc::clone(queue);
        }
        let fds = self.fds();
        self.rules.fds = fds;
        let queue = Arc::new(Queue::new(fds.queue));
        if self.asked.is_none() {
            self.spare = (SPARE_PER_CPU * self.threads()).min(fds.threads - self.threads());
            self.looked = (usage(), Instant::now());
        }
        self.queue = Some(Arc::clone(&queue));
        queue
    }

    /// A job was queued: starts another worker if none is free to take it and fewer than
    /// `-j` threads copy (never more than the work can use: a two-file tree starts one).
    fn grow_if_none_free(&mut self, queue: &Arc<Queue>) {
        let (idle, workers) = {
            let queued = queue.lock();
            (queued.idle, queued.workers)
        };
        if idle == 0 && workers + 1 < self.threads() && !self.cannot_grow {
            self.spawn_worker(queue);
        }
    }

    /// Starts a worker taking jobs from `queue` until it is closed. Where no thread can be
    /// made (`ulimit -u`, memory), none is tried again: fewer threads than asked copy, the
    /// walk among them.
    fn spawn_worker(&mut self, queue: &Arc<Queue>) {
        let scope = self.scope.expect("a tree's walk hands nothing over");
        let taker = Arc::clone(queue);
        let done = self.done_tx.clone();
        let mut scratch = self.scratch.sibling();
        let rules = self.rules;
        let worker = std::thread::Builder::new().name("rcp-worker".into());
        let started = worker.spawn_scoped(scope, move || {
            interrupt::leave_to_the_walk();
            while let Some(taken) = taker.pop() {
                if done.send(run_taken(taken, &taker, &mut scratch, rules)).is_err() {
                    break;
                }
            }
        });
        match started {
            Ok(_) => queue.lock().workers += 1,
            Err(_) => {
                self.cannot_grow = true;
                self.spare = 0;
            }
        }
    }

    /// The number of the last job handed over.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether a job numbered `seq` or lower is still with the workers.
    pub(crate) fn waiting_for(&self, seq: u64) -> bool {
        self.in_flight.first().is_some_and(|&first| first <= seq)
    }

    /// Levels of the tree a walk keeps open: the run's walk, or a tree's on a worker.
    pub(crate) fn levels(&self) -> usize {
        let fds = self.fds();
        if self.scope.is_some() { fds.levels } else { fds.tree_levels }
    }

    /// Directories whose attributes wait.
    pub(crate) fn deferred(&self) -> usize {
        self.deferred.len()
    }

    /// Keeps a directory's attributes until the jobs handed over before it are done.
    pub(crate) fn defer(&mut self, dir: HeldDir) {
        self.deferred.push_back((self.last_seq, dir));
    }

    /// The next deferred directory whose files are all done (children come before their
    /// parents in the queue).
    pub(crate) fn ready(&mut self) -> Option<HeldDir> {
        let &(after, _) = self.deferred.front()?;
        if self.waiting_for(after) {
            return None;
        }
        self.deferred.pop_front().map(|(_, dir)| dir)
    }

    /// Takes note of the jobs finished (`wait`: at least one, filling a queued job here
    /// rather than sleeping while one is waiting). Returns whether one was.
    pub(crate) fn collect(&mut self, wait: bool) -> bool {
        let mut any = false;
        while let Some(done) = self.next_done(wait && !any) {
            any = true;
            self.in_flight.remove(&done.seq);
            self.reading.retain(|&(seq, _)| seq != done.seq);
        }
        any
    }

    /// Whether a job in flight reads `file`, or files in the directory `dir`.
    pub(crate) fn reads_from(&self, file: Ino, dir: Option<Ino>) -> bool {
        self.reading.iter().any(|&(_, id)| id == file || Some(id) == dir)
    }

    /// Whether every job handed over has been reported.
    pub(crate) fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    fn next_done(&mut self, wait: bool) -> Option<Done> {
        if self.in_flight.is_empty() {
            return None;
        }
        let got = self.done.try_recv().ok();
        if got.is_some() || !wait {
            return got;
        }
        let queue = self.queue.clone();
        match queue.as_ref().and_then(|queue| Some((queue, queue.take_for_walk()?))) {
            Some((queue, taken)) => Some(run_taken(taken, queue, &mut self.scratch, self.rules)),
            None => self.done.recv().ok(),
        }
    }

    /// Lets the workers exit once the queue is drained.
    pub(crate) fn close(&mut self) {
        if let Some(queue) = self.queue.take() {
            queue.close();
        }
    }
}

/// What `collect` reported.
/// Runs a job taken from the queue, then frees its lanes.
fn run_taken(taken: Taken, queue: &Queue, scratch: &mut Scratch, rules: Rules) -> Done {
    let done = run_job(taken.seq, taken.job, scratch, rules);
    queue.release(taken.lanes);
    done
}

/// Runs a job, printing each file's lines as it finishes.
fn run_job(seq: u64, job: Job, scratch: &mut Scratch, rules: Rules) -> Done {
    let tally = rules.out.job_tally();
    let out = rules.out.job_printer(seq, &tally);
    match job {
        Job::Fill { src, dst, ends } => {
            let earlier = ends.earlier().cloned();
            let attrs = Attrs::new(rules.opts, rules.env);
            fill_reported(&out, attrs, (&src, &dst, earlier.as_ref()), |s, d, a| {
                fill_and_close(s, d, *ends, scratch, a)
            });
        }
        Job::Batch { files, dst_dir } => {
            // After SIGINT/SIGTERM, files not started yet are not created at all.
            files.each(
                || !rules.out.stop().requested(),
                |src, dst| {
                    out.starting(src.path(), dst.path(), None);
                    let attrs = Attrs::new(rules.opts, rules.env);
                    fill_reported(&out, attrs, (src, dst, None), |s, d, a| {
                        copy_new_file(s, d, dst_dir, scratch, a)
                    });
                },
            );
        }
        Job::Tree(tree) => {
            let mut cp = Cp::new(rules.opts, out.waiting_at_cap(), rules.env, false);
            cp.begin_operand(&tree.root.0, &tree.root.1);
            cp.bases = rules.bases;
            let sched = Sched::in_line(rules, std::mem::take(scratch));
            *scratch = (rules.walk_tree)(*tree, cp, sched);
        }
    }
    rules.out.job_done(seq, tally);
    Done { seq }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(src: u64, dst: u64) -> Lanes {
        let lane = |group, inodes| Some(Lane { dev: 7, group, inodes });
        Lanes([lane(src, false), lane(dst, true)])
    }

    fn queued(jobs: &[(u64, u64)]) -> Queued {
        let mut queued = Queued::default();
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
        let root = rustix::fs::open("/", flags, rustix::fs::Mode::empty()).expect("/ opens");
        let root = (&std::sync::Arc::new(root), std::path::Path::new("/"));
        for (seq, &(src, dst)) in (1..).zip(jobs) {
            let job = Job::Batch { files: Box::new(Pairs::new(root, root)), dst_dir: None };
            queued.jobs.push_back(Taken { seq, job, lanes: lanes(src, dst) });
        }
        queued
    }

    fn take(queued: &mut Queued) -> (u64, Lanes) {
        let taken = queued.take(|_| true).expect("a job");
        (taken.seq, taken.lanes)
    }

    #[test]
    fn open_files_are_shared_out_under_the_limit() {
        // (limit, threads wanted) → (threads, queue, held, levels, tree levels)
        let table = [
            (64, 4, (3, 1, 1, 3, 2)),
            (64, 1, (1, 2, 2, 10, 2)),
            (256, 8, (8, 15, 15, 22, 2)),
            (1024, 8, (8, 79, 79, 118, 16)),
            (20_000, 8, (8, 256, 1024, 4021, 573)),
            (1 << 20, 8, (8, 256, 1024, 261_165, 37_308)),
        ];
        for (limit, wanted, (threads, queue, held, levels, tree_levels)) in table {
            let fds = Fds::share(limit, wanted);
            assert_eq!(fds, Fds { threads, queue, held, levels, tree_levels }, "{limit} {wanted}");
            // What they may hold at most stays under the limit.
            let walks = (fds.levels + 1 + (threads - 1) * (fds.tree_levels + 1)) * 2;
            let most = RESERVED_FDS + threads * THREAD_FDS + queue * JOB_FDS + held * HELD_FDS;
            // (Past the reserve's slack only where every walk needs its two levels.)
            assert!(most + walks <= limit + 4, "{limit} {wanted}: {}", most + walks);
        }
        assert_eq!(Fds::share(10, 4).levels, 2);
    }

    #[test]
    fn a_thread_takes_the_first_job_in_lanes_no_other_thread_is_in() {
        // (source group, destination group) of each job, in walk order.
        let mut queued = queued(&[(0, 0), (0, 1), (1, 0), (2, 0), (1, 2), (3, 3)]);
        let (first, one) = take(&mut queued);
        assert_eq!(first, 1);
        // 2 clones from group 0 and 3 and 4 make files in group 0, as job 1 does.
        assert_eq!(take(&mut queued).0, 5);
        let (sixth, six) = take(&mut queued);
        assert_eq!(sixth, 6);
        // Nothing left is free beside 1, 5 and 6: the first job in order.
        assert_eq!(take(&mut queued).0, 2);
        assert_eq!(queued.busy.len(), 8);
        // 1 and 6 done: 2 and 5 hold (0, 1) and (1, 2); 3 clones from 1, 4 is free.
        queued.release(one);
        queued.release(six);
        assert_eq!(queued.busy.len(), 4);
        assert_eq!(take(&mut queued).0, 4);
        assert_eq!(take(&mut queued).0, 3);
        assert!(queued.take(|_| true).is_none());
    }

    #[test]
    fn jobs_in_lanes_may_wait_further_ahead() {
        let queue = Queue::new(LANE_QUEUE);
        let job = || queued(&[(0, 0)]).jobs.pop_front().expect("a job").job;
        let without = Lanes::default();
        for seq in 0..QUEUE as u64 {
            assert!(queue.push(seq, job(), without).is_ok(), "{seq}");
        }
        // Nothing to choose between: the queue is full for a job without lanes...
        assert!(queue.push(99, job(), without).is_err());
        // ... and not for one in lanes, up to LANE_QUEUE.
        for seq in QUEUE..LANE_QUEUE {
            assert!(queue.push(seq as u64, job(), lanes(1, 1)).is_ok(), "{seq}");
        }
        assert!(queue.push(999, job(), lanes(2, 2)).is_err());
        assert_eq!(queue.lock().jobs.len(), LANE_QUEUE);
    }

    #[test]
    fn a_group_s_inode_lock_is_not_its_space_lock() {
        let mut queued = queued(&[(0, 2), (2, 2), (2, 0)]);
        assert_eq!(take(&mut queued).0, 1);
        // Job 3 clones from group 2 and makes files in group 0, beside job 1's cloning
        // from group 0 and making files in group 2.
        assert_eq!(take(&mut queued).0, 3);
    }
}

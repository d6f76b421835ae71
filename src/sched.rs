//! `-j N`: the scheduler — worker threads that fill files the walk has opened (or create
//! and fill whole batches of new files), what is in flight, and directory attributes that
//! wait for the files handed over before them. The walk keeps every namespace decision in
//! GNU's order; the reporter prints what comes back in walk order.
//!
//! Threads start only when a second file is handed over, so a single file never pays for
//! them. `-j N` means N threads copy: N-1 workers, and the walk itself, which fills a job
//! in line whenever the queue is full instead of sleeping on it (no more runnable threads
//! than CPUs, and no wake-up per job).

use std::cell::OnceCell;
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use crate::args::options::Options;
use crate::cp::HeldDir;
use crate::cp::file::{Ends, FileError, copy_new_file, fill_and_close, happened};
use crate::cp::preserve::{Attrs, Env};
use crate::engine::{Copied, Scratch};
use crate::report::{Entry, JobTally, Kind, Reporter};
use crate::sys::at::At;
use crate::sys::interrupt;

/// Files waiting for a worker, at most: memory stays flat however big the tree.
const QUEUE: usize = 64;

/// Work for a worker.
pub(crate) enum Job {
    /// Both ends opened by the walk: fill and close.
    Fill { src: At, dst: At, ends: Box<Ends> },
    /// New files in a directory rcp made, one after the other on one worker (workers
    /// creating in the same directory would contend for its lock): open, create, fill,
    /// close.
    Batch { files: Vec<(At, At)>, dst_dev: Option<u64> },
}

/// The jobs waiting for a worker, numbered, shared by the workers and the walk.
type Queue = Arc<Mutex<Receiver<(u64, Job)>>>;

/// A job the worker has finished (its lines are printed already).
struct Done {
    seq: u64,
    /// Whether any of its files failed.
    failed: bool,
}

/// What the workers need to fill a file and report it.
#[derive(Clone, Copy)]
struct Rules<'env> {
    opts: &'env Options,
    env: Env,
    out: &'env Reporter,
}

/// The scheduler. Jobs are numbered in walk order; each holds its place in the output
/// until it is done.
pub(crate) struct Sched<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    rules: Rules<'env>,
    /// `-j`, if given.
    asked: Option<usize>,
    threads: OnceCell<usize>,
    jobs: Option<SyncSender<(u64, Job)>>,
    /// The workers' end of the queue, for the walk to take jobs from while it waits.
    queue: Option<Queue>,
    /// The walk thread's engine state: for files it fills in line and jobs it takes over.
    scratch: Scratch,
    done_tx: Sender<Done>,
    done: Receiver<Done>,
    /// Jobs handed over and not yet reported, by number.
    in_flight: BTreeSet<u64>,
    last_seq: u64,
    /// Directories whose attributes wait for the jobs numbered up to `.0`.
    deferred: VecDeque<(u64, HeldDir)>,
}

impl<'scope, 'env> Sched<'scope, 'env> {
    pub(crate) fn new(
        scope: &'scope Scope<'scope, 'env>,
        (opts, out): (&'env Options, &'env Reporter),
        env: Env,
    ) -> Self {
        let (done_tx, done) = channel();
        Sched {
            scope,
            rules: Rules { opts, env, out },
            // A dry run fills no file: nothing to hand over.
            asked: if opts.dry_run { Some(1) } else { opts.jobs },
            threads: OnceCell::new(),
            jobs: None,
            queue: None,
            scratch: Scratch::default(),
            done_tx,
            done,
            in_flight: BTreeSet::new(),
            last_seq: 0,
            deferred: VecDeque::new(),
        }
    }

    /// The walk thread's engine state.
    pub(crate) fn scratch(&mut self) -> &mut Scratch {
        &mut self.scratch
    }

    /// Whether files may be handed over at all (`-j 1` copies everything in line).
    pub(crate) fn parallel(&self) -> bool {
        self.threads() > 1
    }

    /// How many threads copy: `-j`, or one per CPU (cgroup quotas counted).
    fn threads(&self) -> usize {
        *self.threads.get_or_init(|| {
            self.asked.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            })
        })
    }

    /// Hands `job` to a worker, holding its place in the output (its files' lines, `-v`
    /// ones included, are printed there as they finish); starts the workers on first use.
    /// While the queue is full, the walk fills the job itself.
    pub(crate) fn submit(&mut self, job: Job) {
        if self.jobs.is_none() {
            self.start();
        }
        self.last_seq += 1;
        let seq = self.last_seq;
        self.rules.out.pending(seq);
        self.in_flight.insert(seq);
        let sender = self.jobs.as_ref().expect("started");
        match sender.try_send((seq, job)) {
            Ok(()) => {}
            Err(TrySendError::Full((seq, job))) => {
                let done = run_job(seq, job, &mut self.scratch, self.rules);
                self.done_tx.send(done).expect("the receiver is ours");
            }
            Err(TrySendError::Disconnected(_)) => panic!("workers live as long as the scheduler"),
        }
    }

    fn start(&mut self) {
        let (tx, rx) = sync_channel::<(u64, Job)>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 1..self.threads() {
            let rx = Arc::clone(&rx);
            let done = self.done_tx.clone();
            let mut scratch = self.scratch.sibling();
            let rules = self.rules;
            self.scope.spawn(move || {
                interrupt::leave_to_the_walk();
                loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, job)) = job else { break };
                    if done.send(run_job(seq, job, &mut scratch, rules)).is_err() {
                        break;
                    }
                }
            });
        }
        self.jobs = Some(tx);
        self.queue = Some(rx);
    }

    /// The number of the last job handed over.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether a job numbered `seq` or lower is still with the workers.
    pub(crate) fn waiting_for(&self, seq: u64) -> bool {
        self.in_flight.first().is_some_and(|&first| first <= seq)
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
    /// rather than sleeping while one is waiting). Returns whether one was, and whether
    /// any of its files failed.
    pub(crate) fn collect(&mut self, wait: bool) -> Collected {
        let mut collected = Collected::default();
        while let Some(done) = self.next_done(wait && !collected.any) {
            collected.any = true;
            collected.failed |= done.failed;
            self.in_flight.remove(&done.seq);
        }
        collected
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
        match self.take_queued() {
            Some((seq, job)) => Some(run_job(seq, job, &mut self.scratch, self.rules)),
            None => self.done.recv().ok(),
        }
    }

    /// A job no worker has taken yet, if the queue is free to look at (a worker waiting for
    /// work holds its lock, and then there is nothing to take).
    fn take_queued(&self) -> Option<(u64, Job)> {
        self.queue.as_ref()?.try_lock().ok()?.try_recv().ok()
    }

    /// Lets the workers exit once the queue is drained (they stop when the sender is gone).
    pub(crate) fn close(&mut self) {
        self.jobs = None;
    }
}

/// What `collect` reported.
#[derive(Default, Clone, Copy)]
pub(crate) struct Collected {
    pub(crate) any: bool,
    pub(crate) failed: bool,
}

/// Runs a job, printing each file's lines as it finishes.
fn run_job(seq: u64, job: Job, scratch: &mut Scratch, rules: Rules) -> Done {
    let mut failed = false;
    let mut tally = rules.out.job_tally();
    match job {
        Job::Fill { src, dst, ends } => {
            failed |= fill_one((seq, &mut tally), (&src, &dst), rules, |s, d, a| {
                fill_and_close(s, d, *ends, scratch, a)
            });
        }
        Job::Batch { files, dst_dev } => {
            // After SIGINT/SIGTERM, files not started yet are not created at all.
            for (src, dst) in files.iter().take_while(|_| !interrupt::stopping()) {
                rules.out.job_file_starting(seq, src.path(), dst.path());
                failed |= fill_one((seq, &mut tally), (src, dst), rules, |s, d, a| {
                    copy_new_file(s, d, dst_dev, scratch, a)
                });
            }
        }
    }
    rules.out.job_done(seq, tally);
    Done { seq, failed }
}

/// Fills one file of job `seq` with `fill` and reports it, with what the attribute rules
/// had to say. Returns whether it failed.
fn fill_one(
    (seq, tally): (u64, &mut JobTally),
    (src, dst): (&At, &At),
    rules: Rules,
    fill: impl FnOnce(&At, &At, &mut Attrs) -> Result<Option<Copied>, FileError>,
) -> bool {
    let mut attrs = Attrs::new(rules.opts, rules.env);
    let result = fill(src, dst, &mut attrs);
    let record = result.as_ref().map_or_else(|e| e.record.as_ref(), Option::as_ref);
    let entry = Entry {
        src: src.path(),
        dst: dst.path(),
        kind: Some(Kind::File),
        record,
        happened: happened(&result, &attrs.messages),
    };
    rules.out.job_file_finished(seq, &attrs.messages, entry, tally);
    result.is_err() || attrs.failed
}

//! `-j N`: worker threads that fill files the walk has opened. The walk (one thread) keeps
//! every namespace decision and change in GNU's order — stat, checks, backups, mkdir,
//! create — and hands each regular file's data and attributes to a bounded queue; the
//! workers send back what happened, and the reporter prints it in walk order.
//! Threads start only when a second file is handed over, so a single file never pays for
//! them. `-j N` means N threads copy: N-1 workers, and the walk itself, which fills a job
//! in line whenever the queue is full instead of sleeping on it (no more runnable threads
//! than CPUs, and no wake-up per job).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use crate::cp::attrs::Attrs;
use crate::engine::{Copied, Scratch};

use crate::sys::at::At;

use crate::args::options::Options;
use crate::cp::file::{FileError, FileJob, copy_new_file, fill_and_close};

/// Files waiting for a worker, at most: memory stays flat however big the tree.
const QUEUE: usize = 64;

/// A file handed to the pool, tagged with its place in the output order.
pub(crate) enum Job {
    /// Both ends opened by the walk: fill and close.
    Fill { seq: u64, file: Box<FileJob> },
    /// New files in a directory rcp made, one after the other on one worker (workers
    /// creating in the same directory would contend for its lock): open, create, fill,
    /// close.
    Batch { seq: u64, files: Vec<(At, At)>, dst_dev: Option<u64> },
}

/// What a worker did with a job: one outcome per file, in order.
pub(crate) struct Done {
    pub(crate) seq: u64,
    pub(crate) files: Vec<Outcome>,
}

/// What happened to one file.
pub(crate) struct Outcome {
    pub(crate) src: At,
    pub(crate) dst: At,
    /// The worker started the file (its `-v` line goes first).
    pub(crate) started: bool,
    pub(crate) result: Result<Option<Copied>, FileError>,
    pub(crate) messages: Vec<String>,
    pub(crate) attrs_failed: bool,
}

/// What the walk needs of a pool (object-safe, so `Ctx` need not carry thread lifetimes).
pub(crate) trait Dispatch {
    fn parallel(&self) -> bool;
    fn next_seq(&mut self) -> u64;
    fn submit(&mut self, job: Job, template: &Scratch);
    fn next_done(&mut self, wait: bool) -> Option<Done>;
    fn in_flight(&self) -> usize;
    fn close(&mut self);
}

pub(crate) struct Pool<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    opts: &'env Options,
    /// `-j`, if given.
    asked: Option<usize>,
    threads: std::cell::OnceCell<usize>,
    umask: u32,
    root: bool,
    jobs: Option<SyncSender<Job>>,
    /// The workers' end of the queue, for the walk to take jobs from while it waits.
    queue: Option<Arc<Mutex<Receiver<Job>>>>,
    /// The walk's own engine state, for the jobs it fills itself.
    helper: Option<Scratch>,
    done_tx: std::sync::mpsc::Sender<Done>,
    done: Receiver<Done>,
    in_flight: usize,
    next_seq: u64,
}

impl<'scope, 'env> Pool<'scope, 'env> {
    pub(crate) fn new(
        scope: &'scope Scope<'scope, 'env>,
        opts: &'env Options,
        asked: Option<usize>,
        umask: u32,
        root: bool,
    ) -> Self {
        let (done_tx, done) = channel();
        Pool {
            scope,
            opts,
            asked,
            threads: std::cell::OnceCell::new(),
            umask,
            root,
            jobs: None,
            queue: None,
            helper: None,
            done_tx,
            done,
            in_flight: 0,
            next_seq: 0,
        }
    }

    fn start(&mut self, template: &Scratch) {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 1..self.threads() {
            let rx = Arc::clone(&rx);
            let done = self.done_tx.clone();
            let mut worker = template.sibling();
            let (opts, umask, root) = (self.opts, self.umask, self.root);
            self.scope.spawn(move || {
                loop {
                    let job = {
                        let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                        rx.recv()
                    };
                    let Ok(job) = job else { break };
                    let done_msg = run_job(job, &mut worker, opts, root, umask);
                    if done.send(done_msg).is_err() {
                        break;
                    }
                }
            });
        }
        self.jobs = Some(tx);
        self.queue = Some(rx);
        self.helper = Some(template.sibling());
    }
}

fn run_job(job: Job, worker: &mut Scratch, opts: &Options, root: bool, umask: u32) -> Done {
    let attrs = || Attrs::new(opts, root, umask);
    match job {
        Job::Fill { seq, file } => {
            let FileJob { src, dst, ends } = *file;
            let one =
                outcome(src, dst, false, attrs(), |s, d, a| fill_and_close(s, d, ends, worker, a));
            Done { seq, files: vec![one] }
        }
        Job::Batch { seq, files, dst_dev } => {
            let files = files
                .into_iter()
                // After SIGINT/SIGTERM, files not started yet are not created at all.
                .take_while(|_| !crate::sys::interrupt::stopping())
                .map(|(src, dst)| {
                    outcome(src, dst, true, attrs(), |s, d, a| {
                        copy_new_file(s, d, dst_dev, worker, a)
                    })
                })
                .collect();
            Done { seq, files }
        }
    }
}

/// Fills one file with `fill`, collecting what the attribute rules had to say.
fn outcome(
    src: At,
    dst: At,
    started: bool,
    mut attrs: Attrs,
    fill: impl FnOnce(&At, &At, &mut Attrs) -> Result<Option<Copied>, FileError>,
) -> Outcome {
    let result = fill(&src, &dst, &mut attrs);
    Outcome { src, dst, started, result, messages: attrs.messages, attrs_failed: attrs.failed }
}

impl Pool<'_, '_> {
    /// How many threads copy: `-j`, or one per CPU (cgroup quotas counted).
    fn threads(&self) -> usize {
        *self.threads.get_or_init(|| {
            self.asked.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            })
        })
    }

    /// Fills `job` on the walk's thread.
    fn run_here(&mut self, job: Job) -> Done {
        let helper = self.helper.as_mut().expect("started");
        run_job(job, helper, self.opts, self.root, self.umask)
    }

    /// A job no worker has taken yet, if the queue is free to look at (a worker waiting for
    /// work holds its lock, and then there is nothing to take).
    fn take_queued(&self) -> Option<Job> {
        self.queue.as_ref()?.try_lock().ok()?.try_recv().ok()
    }
}

impl Dispatch for Pool<'_, '_> {
    /// Whether files may be handed over at all (`-j 1` copies everything in line).
    fn parallel(&self) -> bool {
        self.threads() > 1
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Hands `job` to a worker, starting the workers on first use; while the queue is full,
    /// the walk fills the job itself.
    fn submit(&mut self, job: Job, template: &Scratch) {
        if self.jobs.is_none() {
            self.start(template);
        }
        let sender = self.jobs.as_ref().expect("started");
        self.in_flight += 1;
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                let done = self.run_here(job);
                self.done_tx.send(done).expect("the receiver is ours");
            }
            Err(TrySendError::Disconnected(_)) => panic!("workers live as long as the pool"),
        }
    }

    /// A finished file, if one is ready (`wait`: until one is, filling a queued job here
    /// rather than sleeping while one is waiting).
    fn next_done(&mut self, wait: bool) -> Option<Done> {
        if self.in_flight == 0 {
            return None;
        }
        let mut got = self.done.try_recv().ok();
        if got.is_none() && wait {
            got = match self.take_queued() {
                Some(job) => Some(self.run_here(job)),
                None => self.done.recv().ok(),
            };
        }
        if got.is_some() {
            self.in_flight -= 1;
        }
        got
    }

    /// Stops the workers once the queue is drained (they exit when the sender is gone).
    fn close(&mut self) {
        self.jobs = None;
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }
}

//! What every thread copying for one caller shares, handed in rather than read from
//! process globals: the progress counters (`Progress`) and the request to stop (`Stop`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::io::Errno;

/// Counters the copy adds to as it goes, for a progress bar to read on a timer: one relaxed
/// add per chunk moved, never per small write.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files whose copy has started.
    files: AtomicU64,
    /// Bytes moved or cloned (not holes).
    moved: AtomicU64,
    /// Bytes done without moving them: holes kept as holes, a prefix `copy_from` kept.
    passed: AtomicU64,
    /// A bar is reading: copy_file_range moves smaller chunks, so the bar moves within a file.
    watched: AtomicBool,
}

impl Progress {
    /// Files whose copy has started (the one being copied counts: a single file is file 1
    /// of 1 from its first byte).
    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Bytes moved or cloned so far (not holes, not kept prefixes): what throughput is of.
    pub fn moved_bytes(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// How far through its files the copy is: bytes moved, and bytes done without moving
    /// them (holes, kept prefixes).
    pub fn done_bytes(&self) -> u64 {
        self.moved_bytes() + self.passed.load(Ordering::Relaxed)
    }

    /// Someone shows these counters as they move: copy in chunks small enough to see
    /// (64 MiB instead of 1 GiB per copy_file_range call).
    pub fn watch(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }

    pub(crate) fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    /// Adds what another process's copies counted (`files`, `moved`, `passed`): one rank
    /// of a copy spread over several shows the whole job's.
    pub fn add(&self, files: u64, moved: u64, passed: u64) {
        self.files.fetch_add(files, Ordering::Relaxed);
        self.moved.fetch_add(moved, Ordering::Relaxed);
        self.passed.fetch_add(passed, Ordering::Relaxed);
    }

    /// Bytes done without moving them (holes kept, prefixes kept).
    pub fn passed_bytes(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
    }

    pub(crate) fn count_file(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_moved(&self, n: u64) {
        self.moved.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn count_passed(&self, n: u64) {
        self.passed.fetch_add(n, Ordering::Relaxed);
    }
}

/// A request to stop, shared by whoever asks (a signal handler: `request` only stores an
/// atomic) and the copies that check it between chunks and then give up with ECANCELED.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A request nobody has made yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks every copy holding this to stop; returns whether this was the first request.
    /// Async-signal-safe.
    pub fn request(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(ECANCELED)` once a stop was asked for: how long-running loops give up.
    pub fn check(&self) -> Result<(), Errno> {
        if self.requested() { Err(Errno::CANCELED) } else { Ok(()) }
    }
}

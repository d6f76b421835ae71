//! SIGINT, SIGTERM and SIGHUP: the first asks the copy to stop — a blocking call (opening a
//! fifo, reading a pipe) returns EINTR instead of being restarted, the engine gives up the
//! file it is writing (which is removed if rcp created it), the walk stops, and rcp says so
//! and dies of the signal (the shell sees 130, 143 or 129; `stopped_by` tells the caller
//! which); a second one, at least 100 ms later, ends it at once, also by the signal.
//! Handlers only set atomics (registered through signal-hook); the threads rcp starts block
//! these signals, so the kernel interrupts the walking thread, where every blocking open and
//! every read of a pipe or device happens.
//!
//! SIGUSR1 asks for a status line: its handler writes a byte to a pipe the progress thread
//! waits on, and the copy goes on (its calls are restarted).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, OnceLock};

use copychain::Stop;
use rustix::io::Errno;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};

/// The stop request the handlers make, handed to every copy of this process.
static STOP: LazyLock<Stop> = LazyLock::new(Stop::new);
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// The signals that stop a copy.
const STOPPING: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// When the first stopping signal came (ms on the monotonic clock).
static FIRST_AT: AtomicU64 = AtomicU64::new(0);

/// A signal this long after the first one ends rcp at once. Sooner, it is the same request:
/// `timeout` sends SIGTERM to rcp and to its process group, so rcp gets it twice in the
/// same instant, and must still clean up.
const REPEAT_MS: u64 = 100;

/// The pipe SIGUSR1's handler writes to (its write end, -1 until installed) and reads from.
static STATUS_WRITE: AtomicI32 = AtomicI32::new(-1);
static STATUS_READ: OnceLock<OwnedFd> = OnceLock::new();

/// Installs the handlers (once, before any file is touched).
pub fn install() -> std::io::Result<()> {
    // Made here, not in a handler (which must not allocate).
    LazyLock::force(&STOP);
    for signal in STOPPING {
        // SAFETY: the handler only loads and stores atomics, reads the monotonic clock and
        // calls _exit, all async-signal-safe.
        unsafe { signal_hook::low_level::register(signal, move || on_signal(signal)) }?;
        interrupt_blocking_calls(signal)?;
    }
    install_status_request()
}

/// SIGUSR1: a byte down a non-blocking pipe (a status line per request, however many come
/// before the progress thread reads them).
fn install_status_request() -> std::io::Result<()> {
    use rustix::pipe::{PipeFlags, pipe_with};
    let (read, write) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
    if STATUS_READ.set(read).is_err() {
        return Ok(());
    }
    // The write end lives as long as the process.
    STATUS_WRITE.store(std::os::fd::IntoRawFd::into_raw_fd(write), Ordering::SeqCst);
    // SAFETY: the handler loads an atomic and calls write(2), both async-signal-safe
    // (signal-hook keeps errno for the interrupted code).
    unsafe {
        signal_hook::low_level::register(SIGUSR1, || {
            let fd = STATUS_WRITE.load(Ordering::Relaxed);
            if fd >= 0 {
                libc::write(fd, [1u8].as_ptr().cast(), 1);
            }
        })
    }?;
    Ok(())
}

/// The pipe a byte arrives on for each SIGUSR1, once the handlers are installed.
pub fn status_requests() -> Option<BorrowedFd<'static>> {
    STATUS_READ.get().map(AsFd::as_fd)
}

/// Empties the SIGUSR1 pipe (requests that came together get one status line).
pub fn take_status_requests() {
    if let Some(fd) = STATUS_READ.get() {
        let mut buf = [0u8; 64];
        while rustix::io::read(fd, &mut buf).is_ok_and(|n| n > 0) {}
    }
}

/// The first stopping signal asks the copy to stop; another one, later, exits at once.
fn on_signal(signal: i32) {
    let now = monotonic_ms();
    if STOP.request() {
        SIGNAL.store(signal as usize, Ordering::SeqCst);
        FIRST_AT.store(now, Ordering::SeqCst);
    } else if now.saturating_sub(FIRST_AT.load(Ordering::SeqCst)) >= REPEAT_MS {
        // Die of it (async-signal-safe: the default action restored, the signal raised).
        let _ = signal_hook::low_level::emulate_default_handler(signal);
    }
}

/// Milliseconds on the monotonic clock (clock_gettime is async-signal-safe).
fn monotonic_ms() -> u64 {
    // SAFETY: clock_gettime writes the timespec given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Clears SA_RESTART, which signal-hook sets, from `signal`'s handler: a call blocked when
/// it arrives returns EINTR, and rcp stops there.
fn interrupt_blocking_calls(signal: i32) -> std::io::Result<()> {
    // SAFETY: sigaction reads and writes the structs given; the handler is the one
    // signal-hook installed, put back unchanged but for the flag.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &mut action) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        action.sa_flags &= !libc::SA_RESTART;
        if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Keeps the stopping signals away from the calling thread (workers, the progress bar, a
/// transport and the threads it starts), so the kernel delivers them to the walking thread
/// and interrupts what it is blocked in.
pub fn leave_to_the_walk() {
    mask_stopping(libc::SIG_BLOCK);
}

/// Lets the stopping signals reach the calling thread: the walking thread, when the thread
/// that started it keeps them out (`leave_to_the_walk`).
pub fn walk_here() {
    mask_stopping(libc::SIG_UNBLOCK);
}

fn mask_stopping(how: libc::c_int) {
    // SAFETY: a sigset built with sigemptyset/sigaddset, passed to pthread_sigmask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in STOPPING {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Whether a stop was asked for.
pub fn stopping() -> bool {
    STOP.requested()
}

/// `Err(ECANCELED)` once a stop was asked for: how long-running loops give up.
pub(crate) fn check() -> Result<(), Errno> {
    STOP.check()
}

/// The request the handlers make, for the engine to check between chunks.
pub(crate) fn stop() -> Stop {
    STOP.clone()
}

/// The signal that stopped the run, with its name and the exit status for it.
pub fn stopped_by() -> Option<(&'static str, i32)> {
    match SIGNAL.load(Ordering::Relaxed) as i32 {
        SIGINT => Some(("SIGINT", 128 + SIGINT)),
        SIGTERM => Some(("SIGTERM", 128 + SIGTERM)),
        SIGHUP => Some(("SIGHUP", 128 + SIGHUP)),
        _ => None,
    }
}

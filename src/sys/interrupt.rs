//! SIGINT and SIGTERM: the first asks the copy to stop — the engine gives up the file it is
//! writing (which is removed if rcp created it), the walk stops, and rcp exits 130 or 143 with
//! a message; a second one exits at once. Handlers only set atomics (signal-hook, which does
//! the async-signal-safe registration better than hand-written sigaction code would).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::io::Errno;
use signal_hook::consts::{SIGINT, SIGTERM};

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// Installs the handlers (once, before any file is touched).
pub(crate) fn install() -> std::io::Result<()> {
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, &STOP)?;
        signal_hook::flag::register_usize(signal, &SIGNAL, signal as usize)?;
        signal_hook::flag::register(signal, &STOP)?;
    }
    Ok(())
}

/// Whether a stop was asked for.
pub(crate) fn stopping() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// `Err(ECANCELED)` once a stop was asked for: how long-running loops give up.
pub(crate) fn check() -> Result<(), Errno> {
    if stopping() { Err(Errno::CANCELED) } else { Ok(()) }
}

/// The signal that stopped the run, with its name and the exit status for it.
pub(crate) fn stopped_by() -> Option<(&'static str, i32)> {
    match SIGNAL.load(Ordering::Relaxed) as i32 {
        SIGINT => Some(("SIGINT", 128 + SIGINT)),
        SIGTERM => Some(("SIGTERM", 128 + SIGTERM)),
        _ => None,
    }
}

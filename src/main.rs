//! rcp: a drop-in GNU cp that copies each regular file by the cheapest kernel path that
//! works — a reflink (`FICLONE`), `copy_file_range`, `splice` through a pipe, or
//! `read`/`write` — and reports which one it took, and why it fell back.
//!
//! The binary is the command line and the terminal: argv parsed by getopt's rules into
//! `cptree::options::Options` (`cli`, `argmatch`, `decide`), `--help`, the man page and the
//! completions (`generate`, `man`), the console sink and the progress bar (`console`,
//! `progress`, `totals`); `app` runs it all. GNU's decisions, the walk and the records are
//! `cptree`'s; the data is copied by `copychain`. Out of memory, rcp says so in cp's words
//! and exits 1 (GNU's `xalloc_die`) instead of aborting with a core dump.

mod app;
mod argmatch;
mod cli;
mod console;
mod decide;
mod generate;
mod launcher;
mod man;
mod progress;
mod totals;
#[cfg(feature = "mpi")]
mod transport;

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, with GNU's answer to an allocation that fails.
struct OrExhausted;

// SAFETY: every call is forwarded to the system allocator unchanged; only a null result
// is not returned (the process ends instead).
unsafe impl GlobalAlloc for OrExhausted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        or_exhausted(unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        or_exhausted(unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        or_exhausted(unsafe { System.realloc(ptr, layout, new_size) })
    }
}

/// `ptr`, or, if the allocation failed, `rcp: memory exhausted` on stderr and exit status
/// 1 — written without allocating, and without running anything that might.
fn or_exhausted(ptr: *mut u8) -> *mut u8 {
    if ptr.is_null() {
        let text = b"rcp: memory exhausted\n";
        // SAFETY: a plain write of a static buffer, then _exit: both async-signal-safe.
        unsafe {
            libc::write(2, text.as_ptr().cast(), text.len());
            libc::_exit(1);
        }
    }
    ptr
}

/// A panic of the progress count's thread (std asserts that `closedir` succeeds) abandons
/// the count, not the copy: it prints nothing. Any other panic is reported as Rust does.
fn quiet_count_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(progress::COUNT_THREAD) {
            report(info);
        }
    }));
}

#[global_allocator]
static ALLOCATOR: OrExhausted = OrExhausted;

fn main() {
    quiet_count_panics();
    let status = app::run(std::env::args_os().collect());
    // Stopped by SIGINT, SIGTERM or SIGHUP: once cleaned up, die of it, as GNU cp does. A
    // shell that waited for rcp (a loop in a script, a make recipe) goes on when its child
    // exits normally, even with status 130; it stops when the child died of the signal.
    if let Some((_, code)) = cptree::signals::stopped_by() {
        let _ = signal_hook::low_level::emulate_default_handler(code - 128);
    }
    std::process::exit(status);
}

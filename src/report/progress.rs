//! The progress bar (`--progress`, or by default when stderr is a terminal): bytes and files
//! copied, rate, and an ETA when the total is known (sources that are all regular files).
//! It reads the engine's atomic counters on a timer, so it costs the copy nothing per write;
//! copy_file_range then works in 64 MiB chunks so the bar moves within a big file.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Scope;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine;

/// How often the bar reads the counters.
const TICK: Duration = Duration::from_millis(100);

pub(crate) struct Bar {
    pub(crate) bar: ProgressBar,
    stop: Arc<AtomicBool>,
}

impl Bar {
    /// Starts the bar and its timer thread in `scope`. `total`: bytes to copy, if known.
    pub(crate) fn start<'scope>(scope: &'scope Scope<'scope, '_>, total: Option<u64>) -> Bar {
        engine::show_progress();
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                    )
                    .expect("valid template"),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec} {msg}")
                    .expect("valid template"),
            ),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (ticker, flag) = (bar.clone(), Arc::clone(&stop));
        scope.spawn(move || {
            crate::sys::interrupt::leave_to_the_walk();
            while !flag.load(Ordering::Relaxed) {
                update(&ticker);
                std::thread::sleep(TICK);
            }
        });
        Bar { bar, stop }
    }

    /// Stops the timer and clears the bar.
    pub(crate) fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        update(&self.bar);
        self.bar.finish_and_clear();
    }
}

fn update(bar: &ProgressBar) {
    bar.set_position(engine::moved_bytes());
    let files = engine::copied_files();
    bar.set_message(format!("{files} file{}", if files == 1 { "" } else { "s" }));
    bar.tick();
}

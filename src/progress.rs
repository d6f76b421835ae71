//! How far the copy is, while it runs: a bar on a terminal (`--progress`, or by default when
//! stderr is one), a plain status line every few seconds when stderr is not a terminal
//! (`--progress` into a log), and one status line whenever SIGUSR1 asks. All of it is one
//! thread that reads the engine's atomic counters when it wakes, so it costs the copy nothing
//! per write; the totals come from a count on a thread of its own (`totals`).

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::thread::Scope;
use std::time::{Duration, Instant};

use indicatif::{BinaryBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use crate::console::BarSlot;
use crate::totals::{Sources, Totals};
use cptree::report::Reporter;
use cptree::signals as interrupt;

/// The name of the thread that counts the totals (whose panics `main` keeps quiet).
pub(crate) const COUNT_THREAD: &str = "rcp-count";
/// The stack of the progress and count threads (they draw and count; nothing recurses).
const STACK: usize = 256 << 10;
/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);
/// How often a status line is written when stderr is not a terminal.
const EVERY: Duration = Duration::from_secs(5);
/// The rate is the bytes moved over about this long.
const WINDOW: Duration = Duration::from_secs(5);
/// How long a first SIGUSR1 waits for the count it starts.
const COUNT_WAIT: Duration = Duration::from_millis(200);
/// No rate (and so no ETA) is shown before this much of it is measured.
const FIRST_RATE: Duration = Duration::from_secs(1);

/// What progress shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Show {
    /// A bar on stderr, a terminal.
    Bar,
    /// A status line on stderr every few seconds.
    Lines,
    /// Nothing, unless SIGUSR1 asks.
    OnRequest,
}

impl Show {
    /// A bar where stderr is a terminal, lines where it is not; `progress`: asked for (or
    /// the default on a terminal).
    pub(crate) fn choose(progress: bool) -> Show {
        match (progress, rustix::termios::isatty(std::io::stderr())) {
            (false, _) => Show::OnRequest,
            (true, true) => Show::Bar,
            (true, false) => Show::Lines,
        }
    }
}

/// The progress thread: started with the copy when it shows something, or — when only
/// SIGUSR1 can ask — once the copy is worth asking about (`wake`: a directory, a second
/// file, a big file), so a small copy pays for no thread.
pub(crate) struct Monitor<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    show: Show,
    out: &'env Reporter,
    /// Where the console looks for a bar to print around.
    bar_slot: BarSlot,
    started: Instant,
    /// What to count, until the thread takes it.
    sources: Option<Sources>,
    /// Dropped to stop the thread, once it runs.
    stop: Option<OwnedFd>,
}

impl<'scope, 'env> Monitor<'scope, 'env> {
    /// The progress thread for `show` (started now unless it only answers SIGUSR1), or
    /// nothing when there is nothing to show and no SIGUSR1 to answer.
    pub(crate) fn new(
        scope: &'scope Scope<'scope, 'env>,
        show: Show,
        sources: Sources,
        out: &'env Reporter,
        bar_slot: BarSlot,
    ) -> Option<Monitor<'scope, 'env>> {
        if show == Show::OnRequest && interrupt::status_requests().is_none() {
            return None;
        }
        let started = Instant::now();
        let sources = Some(sources);
        let mut monitor = Monitor { scope, show, out, bar_slot, started, sources, stop: None };
        if show != Show::OnRequest {
            monitor.wake();
        }
        Some(monitor)
    }

    /// Starts the thread, if it is not running yet.
    pub(crate) fn wake(&mut self) {
        let Some(sources) = self.sources.take() else { return };
        let Ok((stopped, stop)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
            return;
        };
        let (show, scope, started) = (self.show, self.scope, self.started);
        let bar = (show == Show::Bar).then(new_bar);
        let counts = Arc::clone(self.out.progress());
        if let Some(bar) = &bar {
            counts.watch();
            self.set_bar(Some(bar.clone()));
        }
        let requests = interrupt::status_requests();
        // A small stack: this thread draws and counts, it never walks.
        let thread = std::thread::Builder::new().name("rcp-progress".into()).stack_size(STACK);
        let started = thread.spawn_scoped(scope, move || {
            interrupt::leave_to_the_walk();
            let totals = Arc::new(Totals::default());
            let meter = Meter::new(started, counts.done_bytes());
            let mut view = View { show, counts, bar, meter, totals, counting: false };
            if show != Show::OnRequest {
                view.count(scope, &sources);
            }
            view.run(scope, &sources, stopped.as_fd(), requests);
            view.end();
            view.totals.cancel();
        });
        match started {
            Ok(_) => self.stop = Some(stop),
            // No thread to be had (ulimit -u, memory): the copy goes on without progress.
            Err(_) => self.set_bar(None),
        }
    }

    /// The bar the console prints around (`None`: no bar).
    fn set_bar(&self, bar: Option<ProgressBar>) {
        *self.bar_slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = bar;
    }

    /// Stops the thread: the bar is cleared, or a last status line written.
    pub(crate) fn finish(self) {
        self.set_bar(None);
        drop(self.stop);
    }
}

/// What the progress thread shows, and what it measures.
struct View {
    show: Show,
    /// What the copies count.
    counts: Arc<copychain::Progress>,
    bar: Option<ProgressBar>,
    meter: Meter,
    totals: Arc<Totals>,
    counting: bool,
}

/// Why the progress thread woke up.
enum Woke {
    Tick,
    Asked,
    Stop,
}

impl View {
    /// Starts counting the totals on a thread of its own.
    fn count<'scope>(&mut self, scope: &'scope Scope<'scope, '_>, sources: &Sources) {
        if !sources.counted || std::mem::replace(&mut self.counting, true) {
            return;
        }
        let totals = Arc::clone(&self.totals);
        let sources = sources.clone();
        let thread = std::thread::Builder::new().name(COUNT_THREAD.into()).stack_size(STACK);
        let started = thread.spawn_scoped(scope, move || {
            interrupt::leave_to_the_walk();
            // The count is only for the bar: std panics where a directory fails to close
            // (EIO), and that must not end the copy. Then there are no totals.
            let count = std::panic::AssertUnwindSafe(|| Totals::count(&totals, &sources));
            if std::panic::catch_unwind(count).is_err() {
                totals.cancel();
            }
        });
        // Without a thread for it there is no count: the lines say what was done so far.
        self.counting = started.is_ok();
    }

    fn run<'scope>(
        &mut self,
        scope: &'scope Scope<'scope, '_>,
        sources: &Sources,
        stop: BorrowedFd,
        requests: Option<BorrowedFd>,
    ) {
        let mut next_line = Instant::now() + EVERY;
        loop {
            let timeout = match self.show {
                Show::Bar => Some(TICK),
                Show::Lines => Some(next_line.saturating_duration_since(Instant::now())),
                Show::OnRequest => None,
            };
            match wait(stop, requests, timeout) {
                Woke::Stop => return,
                Woke::Asked => {
                    // The first request starts the count; a small tree is counted before
                    // the line is written, a big one says "counting" until later lines.
                    if !self.counting {
                        self.count(scope, sources);
                        self.wait_for_count();
                    }
                    let line = self.status_line();
                    self.print(&line);
                }
                Woke::Tick if self.show == Show::Lines => {
                    next_line = Instant::now() + EVERY;
                    let line = self.status_line();
                    self.print(&line);
                }
                Woke::Tick => self.draw(),
            }
        }
    }

    /// The bar is cleared; a log gets a last line, with the totals if they can be counted
    /// in a moment (a small tree copied before its count was done).
    fn end(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.show == Show::Lines {
            self.wait_for_count();
            let line = self.status_line();
            self.print(&line);
        }
    }

    /// Gives a count that is running `COUNT_WAIT` to finish.
    fn wait_for_count(&self) {
        let deadline = Instant::now() + COUNT_WAIT;
        while self.counting && self.totals.known().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A status line on stderr, above the bar if there is one.
    fn print(&self, line: &str) {
        let write = || {
            let _ = cptree::report::line_to(&mut std::io::stderr().lock(), line);
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    fn progress(&mut self) -> Progress {
        let now = Instant::now();
        let bytes = self.counts.done_bytes();
        self.meter.sample(now, bytes);
        Progress {
            files: self.counts.files(),
            bytes,
            totals: self.totals.known(),
            rate: self.meter.rate(),
            elapsed: now - self.meter.start,
        }
    }

    /// `14/150 files, 72.00 MiB/150.00 MiB (48%), 19.66 MiB/s, ETA 0:04, 0:03 elapsed`.
    fn status_line(&mut self) -> String {
        let p = self.progress();
        let mut parts = Vec::new();
        match p.totals {
            Some((files, bytes)) => {
                parts.push(format!("{}/{files} files", p.files));
                let percent = (p.bytes.min(bytes) * 100).checked_div(bytes).unwrap_or(100);
                parts.push(format!("{}/{} ({percent}%)", BinaryBytes(p.bytes), BinaryBytes(bytes)));
            }
            None => {
                parts.push(format!("{} files", p.files));
                parts.push(BinaryBytes(p.bytes).to_string());
            }
        }
        if let Some(rate) = p.rate {
            parts.push(format!("{}/s", BinaryBytes(rate as u64)));
        }
        if let Some(eta) = p.eta() {
            parts.push(format!("ETA {}", clock(eta)));
        }
        parts.push(format!("{} elapsed", clock(p.elapsed)));
        if p.totals.is_none() && self.counting {
            parts.push("counting".into());
        }
        parts.join(", ")
    }

    /// Redraws the bar: a spinner until the totals are known, then files and bytes done of
    /// them, the rate and the ETA.
    fn draw(&mut self) {
        let p = self.progress();
        let Some(bar) = self.bar.clone() else { return };
        let rate = p.rate.map(|r| format!(" {}/s", BinaryBytes(r as u64))).unwrap_or_default();
        match p.totals {
            Some((files, bytes)) => {
                if bar.length().is_none() {
                    bar.set_style(style("{bar:24} {msg}"));
                    bar.set_length(bytes.max(1));
                }
                bar.set_position(p.bytes.min(bytes));
                let eta = p.eta().map(|e| format!(" ETA {}", clock(e))).unwrap_or_default();
                bar.set_message(format!(
                    "{}/{}{rate}{eta} {}/{files} files",
                    BinaryBytes(p.bytes),
                    BinaryBytes(bytes),
                    p.files
                ));
            }
            None => bar.set_message(format!("{}{rate} {} files", BinaryBytes(p.bytes), p.files)),
        }
        bar.tick();
    }
}

/// Sleeps until `timeout` (`None`: for ever), a status request, or the end of the copy.
fn wait(stop: BorrowedFd, requests: Option<BorrowedFd>, timeout: Option<Duration>) -> Woke {
    let mut fds = vec![PollFd::new(&stop, PollFlags::IN)];
    if let Some(requests) = &requests {
        fds.push(PollFd::new(requests, PollFlags::IN));
    }
    let timeout = timeout
        .map(|t| Timespec { tv_sec: t.as_secs() as i64, tv_nsec: i64::from(t.subsec_nanos()) });
    match poll(&mut fds, timeout.as_ref()) {
        Ok(0) | Err(_) => Woke::Tick,
        Ok(_) if !fds[0].revents().is_empty() => Woke::Stop,
        Ok(_) => {
            interrupt::take_status_requests();
            Woke::Asked
        }
    }
}

/// Where the copy is.
struct Progress {
    files: u64,
    bytes: u64,
    totals: Option<(u64, u64)>,
    rate: Option<f64>,
    elapsed: Duration,
}

impl Progress {
    /// The time left at the current rate, once there is a rate and a total.
    fn eta(&self) -> Option<Duration> {
        let (_, total) = self.totals?;
        let rate = self.rate.filter(|r| *r > 0.0)?;
        let left = total.checked_sub(self.bytes).filter(|&left| left > 0)?;
        Some(Duration::from_secs_f64(left as f64 / rate))
    }
}

/// The rate bytes move at, over the last few seconds.
struct Meter {
    start: Instant,
    samples: VecDeque<(Instant, u64)>,
}

impl Meter {
    /// A meter for a copy that started at `start` and is `done` bytes through now (bytes
    /// moved before it measures from now).
    fn new(start: Instant, done: u64) -> Meter {
        Meter { start, samples: VecDeque::from([(Instant::now(), done)]) }
    }

    fn sample(&mut self, now: Instant, bytes: u64) {
        self.samples.push_back((now, bytes));
        while self.samples.len() > 2 && now - self.samples[1].0 >= WINDOW {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window, once it spans a second.
    fn rate(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1 - t0;
        (span >= FIRST_RATE).then(|| b1.saturating_sub(b0) as f64 / span.as_secs_f64())
    }
}

/// `0:04`, `12:34`, `1:02:03`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s / 3600 {
        0 => format!("{}:{:02}", s / 60, s % 60),
        h => format!("{h}:{:02}:{:02}", s / 60 % 60, s % 60),
    }
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(style("{spinner} {msg}"));
    bar
}

/// A bar style in the locale's characters: ASCII unless the locale is UTF-8.
fn style(template: &str) -> ProgressStyle {
    let style = ProgressStyle::with_template(template).expect("valid template");
    if utf8_locale() { style } else { style.progress_chars("#>-").tick_chars("|/-\\ ") }
}

/// Whether the locale's characters are UTF-8 (the first of LC_ALL, LC_CTYPE, LANG set).
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

impl cptree::Watch for Monitor<'_, '_> {
    fn wake(&mut self) {
        Monitor::wake(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_like_a_clock() {
        assert_eq!(clock(Duration::from_secs(4)), "0:04");
        assert_eq!(clock(Duration::from_secs(754)), "12:34");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn no_rate_and_no_eta_before_a_second_is_measured() {
        let start = Instant::now();
        let mut meter = Meter { start, samples: VecDeque::from([(start, 0)]) };
        meter.sample(start + Duration::from_millis(300), 1 << 20);
        assert_eq!(meter.rate(), None);
        meter.sample(start + Duration::from_secs(2), 4 << 20);
        assert_eq!(meter.rate(), Some(2.0 * (1 << 20) as f64));
        let p = Progress {
            files: 1,
            bytes: 4 << 20,
            totals: Some((1, 8 << 20)),
            rate: meter.rate(),
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(p.eta(), Some(Duration::from_secs(2)));
        assert_eq!(Progress { rate: None, ..p }.eta(), None);
    }
}

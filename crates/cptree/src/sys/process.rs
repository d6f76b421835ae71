//! Process-wide facts and limits: the umask, the open-file limit a deep walk needs (and the
//! fd table sized for it before threads start), and which run of rcp this is (`Run`: names
//! left in shared directories say it).

/// The process umask (read by setting it and putting it back, before any file is made).
pub(crate) fn umask() -> u32 {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::empty());
    rustix::process::umask(old);
    old.bits()
}

/// The walk holds two directory fds per level of the tree it is in (up to what the limit
/// allows: see `open_file_limit`): lift the soft limit on open files to the hard one, so a
/// deep tree keeps them all open rather than opening directories again.
///
/// Then sizes the file-descriptor table for what a tree copy holds at once, while the
/// process may still have one thread: a table shared by threads grows only after an RCU
/// grace period (`synchronize_rcu` in the kernel's `expand_fdtable`), 5-16 ms measured here
/// each time a copy's open files passed 128, 256, 512.
pub fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, ..limit });
    }
    size_fd_table(open_file_limit().min(FD_TABLE));
}

/// Entries the file-descriptor table is given before a tree copy (a 50,000-file copy
/// held up to 383 files open: directories waiting for their attributes, queued jobs).
const FD_TABLE: usize = 1024;

/// Grows the file-descriptor table to `entries` by taking the descriptor `entries - 1` for
/// a moment (the kernel never shrinks a table).
fn size_fd_table(entries: usize) {
    use rustix::fs::{Mode, OFlags, open};
    let Some(highest) = entries.checked_sub(1).and_then(|n| i32::try_from(n).ok()) else {
        return;
    };
    if let Ok(fd) = open("/", OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) {
        let _ = rustix::io::fcntl_dupfd_cloexec(&fd, highest);
    }
}

/// When this run began, on the clock the kernel stamps files with (the coarse real-time
/// clock, so nothing this run changes can look older): (seconds, nanoseconds). Asked first
/// when the run starts.
pub fn run_began() -> (i64, i64) {
    static BEGAN: std::sync::OnceLock<(i64, i64)> = std::sync::OnceLock::new();
    *BEGAN.get_or_init(|| {
        // SAFETY: a zeroed timespec is valid; clock_gettime only fills it.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
        (ts.tv_sec, ts.tv_nsec)
    })
}

/// How many files the process may have open (the soft limit; no limit counts as 2^32).
pub(crate) fn open_file_limit() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit.map_or(u32::MAX as usize, |n| n.min(u64::from(u32::MAX)) as usize)
}

/// Which run of rcp this is, as far as names it leaves in shared directories go: where
/// (`place`: a hash of the host name, the boot's random id and the PID namespace, so a
/// process id means the same process only to a run with the same place) and who (the
/// process id and its start time, so a reused process id is told apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) place: u64,
    pub(crate) pid: u32,
    pub(crate) start: u64,
}

impl Run {
    /// This process's run (`None` without /proc: then nothing can be judged).
    pub(crate) fn this() -> Option<Run> {
        static THIS: std::sync::OnceLock<Option<Run>> = std::sync::OnceLock::new();
        *THIS.get_or_init(|| {
            let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let pidns = std::fs::read_link("/proc/self/ns/pid").ok()?;
            let uname = rustix::system::uname();
            let mut place = Fnv::default();
            for part in [uname.nodename().to_bytes(), boot.trim().as_bytes()] {
                place.write(part);
            }
            place.write(pidns.as_os_str().as_encoded_bytes());
            let pid = std::process::id();
            Some(Run { place: place.0, pid, start: start_time(pid)? })
        })
    }

    /// Whether this run is provably over, as seen from `here` (a run in the same place):
    /// its process is gone (kill(pid, 0) says ESRCH: /proc may hide other users' processes,
    /// `hidepid`), or its process id now belongs to a process started at another time.
    pub(crate) fn is_over(&self, here: &Run) -> bool {
        if self.place != here.place {
            return false;
        }
        let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) else { return false };
        match rustix::process::test_kill_process(pid) {
            Err(rustix::io::Errno::SRCH) => true,
            // Alive, or another user's: over only if /proc shows a later start.
            _ => start_time(self.pid).is_some_and(|t| t != self.start),
        }
    }
}

/// FNV-1a, 64 bits: a stable hash (std's is seeded per process), each part ended by a 0.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0]) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// When process `pid` started (clock ticks since boot: field 22 of /proc/PID/stat), or
/// `None` if there is no such process.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count after it.
    let after = stat.iter().rposition(|&b| b == b')')?;
    let fields = std::str::from_utf8(&stat[after + 1..]).ok()?;
    fields.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Whether standard error is a terminal, and standard output is a terminal too, the same
/// one (a line on standard output then lands where the progress bar is drawn).
pub fn terminals() -> (bool, bool) {
    use rustix::termios::isatty;
    let (out, err) = (std::io::stdout(), std::io::stderr());
    if !isatty(&err) {
        return (false, false);
    }
    let same = isatty(&out)
        && match (rustix::fs::fstat(&out), rustix::fs::fstat(&err)) {
            (Ok(a), Ok(b)) => a.st_rdev == b.st_rdev,
            _ => false,
        };
    (true, same)
}

/// What this process (all its threads) has used so far, from `getrusage`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Usage {
    /// Blocks (512 bytes) read from storage: grows only when data or metadata was not in
    /// the page cache.
    pub(crate) blocks_read: u64,
    /// CPU time, user and system.
    pub(crate) cpu: std::time::Duration,
}

/// This process's usage so far (zero if `getrusage` fails).
pub(crate) fn usage() -> Usage {
    // SAFETY: a zeroed rusage is valid; getrusage only fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Usage::default();
    }
    let time = |t: libc::timeval| {
        let micros = u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(t.tv_usec).unwrap_or(0);
        std::time::Duration::from_micros(micros)
    };
    Usage {
        blocks_read: u64::try_from(ru.ru_inblock).unwrap_or(0),
        cpu: time(ru.ru_utime) + time(ru.ru_stime),
    }
}

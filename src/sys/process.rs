//! Process-wide facts and limits: the umask, the open-file limit a deep walk needs, and
//! whether another process runs this same program.

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
pub(crate) fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, ..limit });
    }
}

/// How many files the process may have open (the soft limit; no limit counts as 2^32).
pub(crate) fn open_file_limit() -> usize {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit.map_or(u32::MAX as usize, |n| n.min(u64::from(u32::MAX)) as usize)
}

/// Whether process `pid` runs the same executable as this one: `None` if there is no such
/// process; `Some(true)` too when rcp may not look (another user's process: keep away).
pub(crate) fn is_rcp(pid: u32) -> Option<bool> {
    // Without /proc nothing can be told apart: every process counts as a live rcp.
    let Ok(ours) = std::fs::read_link("/proc/self/exe") else { return Some(true) };
    let theirs = match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(exe) => exe,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No process, or a kernel thread (no exe): look at /proc/PID itself.
            return std::path::Path::new(&format!("/proc/{pid}")).exists().then_some(false);
        }
        Err(_) => return Some(true),
    };
    Some(theirs == ours)
}

/// Whether standard error is a terminal, and standard output is a terminal too, the same
/// one (a line on standard output then lands where the progress bar is drawn).
pub(crate) fn terminals() -> (bool, bool) {
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

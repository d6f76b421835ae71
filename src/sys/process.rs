//! Process-wide facts and limits: the umask, and the open-file limit a deep walk needs.

/// The process umask (read by setting it and putting it back, before any file is made).
pub(crate) fn umask() -> u32 {
    use rustix::fs::Mode;
    let old = rustix::process::umask(Mode::empty());
    rustix::process::umask(old);
    old.bits()
}

/// The walk holds two directory fds per level of the tree: lift the soft limit on open
/// files to the hard one, so a deep tree is not cut short at 500 levels by the default 1024.
pub(crate) fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, ..limit });
    }
}

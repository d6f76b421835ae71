//! GNU's rules for carrying ownership and xattrs over (`set_owner`, `copy_attr`): which
//! failures are errors, which stay silent (chown EPERM as non-root; unsupported xattrs under
//! `-a`). Messages are collected, not printed, so a worker thread can hand them back to be
//! printed in order.

use rustix::fs::Stat;
use rustix::io::Errno;

use crate::args::options::Options;
use crate::error::{Error, Op};
use crate::sys::attr::{self, Node};

const S_IRWXU: u32 = 0o700;
const SPECIAL: u32 = 0o7000;

/// What `set_owner` achieved.
pub(crate) enum Owner {
    Set,
    /// Not set, and that is acceptable: drop setuid/setgid/sticky from the mode.
    Dropped,
    Failed,
}

/// The context attribute rules need, and the messages they produced.
pub(crate) struct Attrs<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) root: bool,
    pub(crate) umask: u32,
    /// Messages to print (without the program name), in order.
    pub(crate) messages: Vec<String>,
    /// Whether any of them makes the run fail.
    pub(crate) failed: bool,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(opts: &'a Options, root: bool, umask: u32) -> Self {
        Attrs { opts, root, umask, messages: Vec::new(), failed: false }
    }

    /// An error message that fails the run.
    pub(crate) fn fail(&mut self, error: &Error) {
        self.messages.push(error.to_string());
        self.failed = true;
    }

    /// chown failures non-root users may ignore (EPERM, EINVAL): GNU's `chown_failure_ok`.
    pub(crate) fn chown_failure_ok(&self, e: Errno) -> bool {
        matches!(e, Errno::PERM | Errno::INVAL) && !self.root
    }

    /// GNU's `set_owner`: chown to the source's owner (first narrowing the mode of an
    /// existing file); on EPERM try the group alone.
    pub(crate) fn set_owner(
        &mut self,
        node: Node,
        src_st: &Stat,
        new_dst: bool,
        dst_st: Option<&Stat>,
    ) -> Owner {
        let p = self.opts.preserve;
        if !new_dst
            && p.mode
            && let Some(d) = dst_st
        {
            let (old, new) = (d.st_mode, src_st.st_mode);
            let temp = old & new & S_IRWXU;
            if old & 0o7777 & (!new | SPECIAL) != 0
                && let Err(e) = attr::chmod(node, temp)
            {
                if !self.chown_failure_ok(e) {
                    self.fail(&Error::new(Op::ClearPermissions, node.path(), e));
                }
                return if p.required { Owner::Failed } else { Owner::Dropped };
            }
        }
        match attr::chown(node, Some(src_st.st_uid), Some(src_st.st_gid)) {
            Ok(()) => return Owner::Set,
            Err(e @ (Errno::PERM | Errno::INVAL)) => {
                let _ = attr::chown(node, None, Some(src_st.st_gid));
                if self.chown_failure_ok(e) {
                    return Owner::Dropped;
                }
                self.fail(&Error::new(Op::PreserveOwnership, node.path(), e));
            }
            Err(e) => self.fail(&Error::new(Op::PreserveOwnership, node.path(), e)),
        }
        if p.required { Owner::Failed } else { Owner::Dropped }
    }

    /// Copies xattrs, reporting failures as GNU does (`-a` stays quiet where unsupported).
    /// Returns whether all were copied.
    pub(crate) fn copy_xattrs(&mut self, src: Node, dst: Node) -> bool {
        let p = self.opts.preserve;
        let errors = attr::copy_xattrs(src, dst);
        let all = !self.opts.data || p.require_xattr;
        let some = !all && !p.reduce_diagnostics;
        for e in &errors {
            if all || (some && e.errno != Errno::OPNOTSUPP) {
                self.messages.push(format!("{}: {}", e.what, crate::error::strerror(e.errno)));
                self.failed |= p.require_xattr;
            }
        }
        errors.is_empty()
    }
}

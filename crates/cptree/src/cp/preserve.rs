//! Attributes of a copy, in GNU's order — times, owner, xattrs, mode — through one `apply`
//! for every caller: a regular file on its fd (`copy_reg`), a directory, symlink or special
//! file (the end of `copy_internal`), a `--parents` directory (`re_protect`). GNU's rules
//! for which failures are errors and which stay silent (chown EPERM as non-root,
//! unsupported xattrs under `-a`) live here too. Messages are collected, not printed, so a
//! worker thread can hand them back to be printed in order.

use std::path::Path;

use rustix::fs::Stat;
use rustix::io::Errno;

use crate::error::{Error, Op};
use crate::options::Options;
use crate::sys::attr::{self, AclNames, Known, Node, XattrError, XattrStep};

const S_IRWXU: u32 = 0o700;
const SPECIAL: u32 = 0o7000;

/// What `set_owner` achieved.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Set,
    /// Not set, and that is acceptable: drop setuid/setgid/sticky from the mode.
    Dropped,
    Failed,
}

/// What the process is, for the attribute rules: its umask (read once, before any file is
/// made) and whether it runs as root.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Env {
    pub(crate) umask: u32,
    pub(crate) root: bool,
}

impl Env {
    /// This process's umask and identity.
    pub(crate) fn current() -> Env {
        Env { umask: crate::sys::process::umask(), root: rustix::process::geteuid().is_root() }
    }
}

/// The context attribute rules need, and the messages they produced.
pub(crate) struct Attrs<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) root: bool,
    pub(crate) umask: u32,
    /// Messages to print (without the program name), in order.
    pub(crate) messages: Vec<Error>,
    /// Whether any of them makes the run fail.
    pub(crate) failed: bool,
}

/// What the destination is: the rules that differ between GNU's three callers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Made {
    /// A regular file rcp wrote, on its fd (`copy_reg`).
    File {
        /// rcp created it (not an existing file it truncated).
        created: bool,
        /// It was created in a directory without a default ACL: it has no ACL.
        bare: bool,
        new_dst: bool,
        /// Permission bits it was planned with (before the umask).
        mode: u32,
        /// Bits withheld at creation, added back now.
        omitted: u32,
        /// u+w added at creation for the xattrs (non-root), taken away now.
        extra: u32,
    },
    /// A directory (after its contents), symlink or special file (`copy_internal`).
    Other {
        new_dst: bool,
        /// Made in a directory without a default ACL: it has no ACLs.
        bare: bool,
        symlink: bool,
        omitted: u32,
        restore_mode: Option<u32>,
    },
    /// A leading directory `--parents` made (`re_protect`): its mode to restore, if any.
    Parent { restore_mode: Option<u32> },
}

/// One entry's attributes to set.
pub(crate) struct Target<'n> {
    pub(crate) dst: Node<'n>,
    /// The source, for xattrs and ACLs (`--parents` directories copy only its ACLs).
    pub(crate) src: Option<Node<'n>>,
    pub(crate) src_st: &'n Stat,
    pub(crate) dst_st: Option<&'n Stat>,
    pub(crate) made: Made,
}

/// `apply` stopped: the entry failed. The error to report for it, or `None` when the
/// messages already say why.
#[derive(Debug)]
pub(crate) struct Stopped(pub(crate) Option<Error>);

/// The mode gnulib's `copy_acl` leaves: the source's permission bits set through the
/// access ACL, which keeps the setuid, setgid and sticky bits the destination has now (a
/// directory's inherited setgid, an existing file's setuid, a sticky bit kept where the
/// owner could not be); where the source has any of them, a chmod to its mode exactly.
fn kept_special(t: &Target, src_mode: u32) -> u32 {
    // Not known (a `--parents` directory, a special file made): ask.
    let had = t.dst_st.map_or(SPECIAL, |st| st.st_mode & SPECIAL);
    if src_mode & SPECIAL != 0 || had == 0 {
        return src_mode;
    }
    // A change of owner since may have cleared some: ask again.
    let now = attr::stat(t.dst).map_or(0, |st| st.st_mode & SPECIAL);
    (src_mode & !SPECIAL) | now
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(opts: &'a Options, env: Env) -> Self {
        Attrs { opts, root: env.root, umask: env.umask, messages: Vec::new(), failed: false }
    }

    /// Sets `t`'s attributes in GNU's order: times, owner, xattrs, mode. A failure GNU
    /// requires to succeed (`-p`, `--preserve`) stops here and fails the entry; others are
    /// messages and the run goes on.
    pub(crate) fn apply(&mut self, t: &Target) -> Result<(), Stopped> {
        self.times(t)?;
        let mut src_mode = t.src_st.st_mode;
        if self.owner(t)? == Owner::Dropped {
            src_mode &= !SPECIAL;
        }
        let listed = self.xattrs(t)?;
        match t.made {
            Made::Other { symlink: true, .. } => Ok(()),
            Made::Other { new_dst, bare, omitted, restore_mode, .. } => {
                let known = Known::of(listed, bare);
                self.other_mode(t, (src_mode, known), new_dst, omitted, restore_mode)
            }
            Made::File { created, bare, mode, omitted, extra, .. } => {
                let extra = if created { extra } else { 0 };
                let planned = mode & !self.umask;
                let known = Known::of(listed, bare);
                self.file_mode(t, (src_mode, known), created, planned, omitted, extra)
            }
            Made::Parent { restore_mode } => self.parent_mode(t, restore_mode),
        }
    }

    /// A failure of `op`: stops the entry when `stop`, else is a message and the run goes
    /// on (GNU: `error (0, ...)` without `return false`).
    fn failure(&mut self, t: &Target, op: Op, e: Errno, stop: bool) -> Result<(), Stopped> {
        let error = Error::new(op, t.dst.path(), e);
        if stop {
            return Err(Stopped(Some(error)));
        }
        self.messages.push(error);
        Ok(())
    }

    fn times(&mut self, t: &Target) -> Result<(), Stopped> {
        let p = self.opts.preserve;
        if !p.timestamps {
            return Ok(());
        }
        match attr::set_times(t.dst, t.src_st) {
            Ok(()) => Ok(()),
            Err(e) if matches!(t.made, Made::Parent { .. }) => {
                self.failure(t, Op::PreserveTimesOf, e, true)
            }
            Err(e) => self.failure(t, Op::PreserveTimes, e, p.required),
        }
    }

    fn owner(&mut self, t: &Target) -> Result<Owner, Stopped> {
        if !self.opts.preserve.ownership {
            return Ok(Owner::Set);
        }
        let src = t.src_st;
        let same_owner = t.dst_st.is_some_and(|d| d.st_uid == src.st_uid && d.st_gid == src.st_gid);
        let owner = match t.made {
            Made::File { created, new_dst, .. } if !same_owner => {
                self.set_owner(t.dst, src, new_dst || created, t.dst_st)
            }
            Made::Other { new_dst, symlink: false, .. } if new_dst || !same_owner => {
                self.set_owner(t.dst, src, new_dst, t.dst_st)
            }
            Made::Parent { .. } => return self.parent_owner(t).map(|()| Owner::Set),
            _ => Owner::Set,
        };
        match owner {
            Owner::Failed => Err(Stopped(None)),
            owner => Ok(owner),
        }
    }

    /// `re_protect`'s owner: a plain chown; where that is refused and may be, the group.
    fn parent_owner(&mut self, t: &Target) -> Result<(), Stopped> {
        let (uid, gid) = (t.src_st.st_uid, t.src_st.st_gid);
        match attr::chown(t.dst, Some(uid), Some(gid)) {
            Ok(()) => Ok(()),
            Err(e) if !self.chown_failure_ok(e) => self.failure(t, Op::PreserveOwnership, e, true),
            Err(_) => {
                let _ = attr::chown(t.dst, None, Some(gid));
                Ok(())
            }
        }
    }

    /// The xattrs, and which ACLs the source's listing named (for the mode's ACL copy).
    fn xattrs(&mut self, t: &Target) -> Result<Option<AclNames>, Stopped> {
        let p = self.opts.preserve;
        match t.src {
            Some(src) if p.xattr && !matches!(t.made, Made::Parent { .. }) => {
                match self.copy_xattrs(src, t.dst) {
                    (false, _) if p.require_xattr => Err(Stopped(None)),
                    (_, listed) => Ok(listed),
                }
            }
            _ => Ok(None),
        }
    }

    /// A regular file's mode: the source's (and its ACLs) under `-p`; 0666 less the umask
    /// under `--no-preserve=mode`; else the planned mode once bits withheld at creation
    /// (or added for the xattrs) are settled.
    fn file_mode(
        &mut self,
        t: &Target,
        (src_mode, known): (u32, Known),
        created: bool,
        planned: u32,
        omitted: u32,
        extra: u32,
    ) -> Result<(), Stopped> {
        let p = self.opts.preserve;
        let result = match t.src {
            Some(src) if p.mode => {
                attr::copy_acl(src, t.dst, (kept_special(t, src_mode), false), known)
            }
            _ if p.explicit_no_mode && created => attr::set_plain_mode(t.dst, 0o666 & !self.umask),
            _ if created && (omitted & !self.umask != 0 || extra != 0) => {
                attr::chmod(t.dst, planned)
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                let stop = p.required || p.explicit_no_mode;
                self.failure(t, Op::PreservePermissions, e, stop)
            }
        }
    }

    /// A directory's or special file's mode: the source's under `-p`; 0777/0666 less the
    /// umask under `--no-preserve=mode` (keeping setuid/setgid/sticky as made); else the
    /// bits withheld while it was filled, or the mode it had before rcp made it u+rwx.
    fn other_mode(
        &mut self,
        t: &Target,
        (src_mode, known): (u32, Known),
        new_dst: bool,
        omitted: u32,
        restore_mode: Option<u32>,
    ) -> Result<(), Stopped> {
        let p = self.opts.preserve;
        let dir = crate::sys::is(src_mode, rustix::fs::FileType::Directory);
        if p.mode {
            let src = t.src.unwrap_or(t.dst);
            return match attr::copy_acl(src, t.dst, (kept_special(t, src_mode), dir), known) {
                Ok(()) => Ok(()),
                Err(e) => self.failure(t, Op::PreservePermissions, e, p.required),
            };
        }
        if p.explicit_no_mode && new_dst {
            // GNU sets these bits through an ACL, which leaves setuid/setgid/sticky as made.
            let socket = crate::sys::is(src_mode, rustix::fs::FileType::Socket);
            let default = if dir || socket { 0o777 } else { 0o666 };
            let special = attr::stat(t.dst).map_or(0, |st| st.st_mode & SPECIAL);
            return match attr::set_plain_mode(t.dst, special | (default & !self.umask)) {
                Ok(()) => Ok(()),
                Err(e) => self.failure(t, Op::PreservePermissions, e, true),
            };
        }
        let mut restore = restore_mode;
        let omitted = omitted & !self.umask;
        if omitted != 0 && restore.is_none() {
            let current = if new_dst { attr::stat(t.dst).ok() } else { t.dst_st.copied() };
            match current {
                Some(st) if omitted & !st.st_mode != 0 => restore = Some(st.st_mode),
                Some(_) => {}
                None => return self.failure(t, Op::Stat, Errno::NOENT, true),
            }
        }
        match restore.map(|mode| attr::chmod(t.dst, mode | omitted)) {
            Some(Err(e)) => self.failure(t, Op::PreservePermissions, e, p.required),
            _ => Ok(()),
        }
    }

    /// `re_protect`'s mode: the source's, with its ACLs, under `-p` (gnulib's `copy_acl`);
    /// else the one the directory was made with before rcp made it u+rwx.
    fn parent_mode(&mut self, t: &Target, restore_mode: Option<u32>) -> Result<(), Stopped> {
        if self.opts.preserve.mode {
            let mode = kept_special(t, t.src_st.st_mode);
            let copied = match t.src {
                Some(src) => attr::copy_acl(src, t.dst, (mode, true), Known::of(None, false)),
                None => attr::chmod(t.dst, mode),
            };
            return match copied {
                Ok(()) => Ok(()),
                Err(e) => self.failure(t, Op::PreservePermissions, e, true),
            };
        }
        match restore_mode.map(|mode| attr::chmod(t.dst, mode)) {
            Some(Err(e)) => self.failure(t, Op::PreservePermissionsOf, e, true),
            _ => Ok(()),
        }
    }

    /// An error message that fails the run.
    pub(crate) fn fail(&mut self, error: Error) {
        self.messages.push(error);
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
                    self.fail(Error::new(Op::ClearPermissions, node.path(), e));
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
                self.fail(Error::new(Op::PreserveOwnership, node.path(), e));
            }
            Err(e) => self.fail(Error::new(Op::PreserveOwnership, node.path(), e)),
        }
        if p.required { Owner::Failed } else { Owner::Dropped }
    }

    /// Copies xattrs, reporting failures as GNU does (`-a` stays quiet where unsupported).
    /// Returns whether all were copied, and which ACLs the source's listing named.
    fn copy_xattrs(&mut self, src: Node, dst: Node) -> (bool, Option<AclNames>) {
        let p = self.opts.preserve;
        let (errors, listed) = attr::copy_xattrs(src, dst);
        let all = !self.opts.data || p.require_xattr;
        let some = !all && !p.reduce_diagnostics;
        for e in &errors {
            if all || (some && e.errno != Errno::OPNOTSUPP) {
                self.messages.push(xattr_message(e, src.path(), dst.path()));
                self.failed |= p.require_xattr;
            }
        }
        (errors.is_empty(), listed)
    }
}

/// libattr's words for a failed xattr copy: `setting attribute 'user.x' for 'f': ...`.
fn xattr_message(e: &XattrError, src: &Path, dst: &Path) -> Error {
    match &e.step {
        XattrStep::List => Error::new(Op::ListAttributes, src, e.errno),
        XattrStep::Get(name) => Error::new(Op::GetAttribute(name.clone()), src, e.errno),
        XattrStep::Set(name) => Error::new(Op::SetAttribute(name.clone()), dst, e.errno),
        XattrStep::SetUnsupported => Error::new(Op::SetAttributes, dst, e.errno),
    }
}

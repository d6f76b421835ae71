//! Attributes of a copy, in GNU's order: timestamps, then ownership (chown clears file
//! capabilities and setuid bits), then xattrs, then ACLs and mode. Each works on an open fd
//! when there is one, else on the path without following a final symlink.

use std::ffi::{CStr, CString};
use std::os::fd::BorrowedFd;
use std::path::Path;

use rustix::fs::Timespec;
use rustix::fs::{AtFlags, CWD, Gid, Mode, Stat, Timestamps, Uid, XattrFlags};
use rustix::fs::{chmodat, chownat, fchmod, fchown, futimens, utimensat};
use rustix::io::Errno;

use crate::sys::at::{At, fd_path};

/// The file's handle: an open fd, or a name (never followed if a symlink).
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    Fd(BorrowedFd<'a>, &'a Path),
    At(&'a At),
}

impl Node<'_> {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Node::Fd(_, p) => p,
            Node::At(at) => at.path(),
        }
    }
}

/// Runs `op` on the fd; an O_PATH fd (a destination directory rcp may not read) refuses
/// it with EBADF, and then `op` runs on `/proc/self/fd/N`, which names the same inode.
fn on_fd<T>(fd: BorrowedFd, mut op: impl FnMut(Via) -> Result<T, Errno>) -> Result<T, Errno> {
    match op(Via::Fd(fd)) {
        Err(Errno::BADF) => match fd_path(fd) {
            Some(path) => op(Via::Proc(&path)),
            None => Err(Errno::BADF),
        },
        result => result,
    }
}

/// How `on_fd` reaches the file: the fd, or its /proc name (followed).
enum Via<'a> {
    Fd(BorrowedFd<'a>),
    Proc(&'a Path),
}

/// The file's own status (a symlink's, not its target's).
pub(crate) fn stat(node: Node) -> Result<Stat, Errno> {
    match node {
        Node::Fd(fd, _) => rustix::fs::fstat(fd),
        Node::At(at) => at.lstat(),
    }
}

pub(crate) fn set_times(node: Node, src: &Stat) -> Result<(), Errno> {
    let times = Timestamps {
        last_access: Timespec { tv_sec: src.st_atime, tv_nsec: src.st_atime_nsec as _ },
        last_modification: Timespec { tv_sec: src.st_mtime, tv_nsec: src.st_mtime_nsec as _ },
    };
    match node {
        Node::Fd(fd, _) => on_fd(fd, |via| match via {
            Via::Fd(fd) => futimens(fd, &times),
            Via::Proc(p) => utimensat(CWD, p, &times, AtFlags::empty()),
        }),
        Node::At(at) => utimensat(at.fd(), at.name(), &times, AtFlags::SYMLINK_NOFOLLOW),
    }
}

pub(crate) fn chown(node: Node, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
    let (uid, gid) = (uid.map(Uid::from_raw), gid.map(Gid::from_raw));
    match node {
        Node::Fd(fd, _) => on_fd(fd, |via| match via {
            Via::Fd(fd) => fchown(fd, uid, gid),
            Via::Proc(p) => chownat(CWD, p, uid, gid, AtFlags::empty()),
        }),
        Node::At(at) => chownat(at.fd(), at.name(), uid, gid, AtFlags::SYMLINK_NOFOLLOW),
    }
}

pub(crate) fn chmod(node: Node, mode: u32) -> Result<(), Errno> {
    let mode = Mode::from_raw_mode(mode & 0o7777);
    match node {
        Node::Fd(fd, _) => on_fd(fd, |via| match via {
            Via::Fd(fd) => fchmod(fd, mode),
            Via::Proc(p) => chmodat(CWD, p, mode, AtFlags::empty()),
        }),
        Node::At(at) => chmodat(at.fd(), at.name(), mode, AtFlags::empty()),
    }
}

const ACL_ACCESS: &CStr = c"system.posix_acl_access";
const ACL_DEFAULT: &CStr = c"system.posix_acl_default";

/// The POSIX ACLs a listing of the source's xattrs named. An ACL is an xattr, listed
/// when present (gnulib's `file_has_acl` relies on this too), so one not named need not
/// be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AclNames {
    access: bool,
    default: bool,
}

impl AclNames {
    fn of(names: &[CString]) -> AclNames {
        let named = |acl: &CStr| names.iter().any(|name| name.as_c_str() == acl);
        AclNames { access: named(ACL_ACCESS), default: named(ACL_DEFAULT) }
    }

    fn names(&self, acl: &CStr) -> bool {
        if acl == ACL_ACCESS { self.access } else { self.default }
    }
}

/// What is already known of the ACLs on either side of an ACL copy (`None`: nothing).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    /// The source's, from its xattr listing.
    src: Option<AclNames>,
    /// The destination's: none, for an entry just made in a directory without a default ACL.
    dst: Option<AclNames>,
}

impl Known {
    /// The source's listing, if any, and whether the destination was just made bare (in a
    /// directory without a default ACL: it has none).
    pub(crate) fn of(src: Option<AclNames>, dst_bare: bool) -> Known {
        Known { src, dst: dst_bare.then_some(AclNames { access: false, default: false }) }
    }
}

/// Whether the directory `fd` has a default ACL (entries made in it inherit one). Any
/// answer but "none" or "not supported" counts as yes: nothing is skipped on a guess.
pub(crate) fn has_default_acl(fd: BorrowedFd) -> bool {
    let asked = on_fd(fd, |via| match via {
        Via::Fd(fd) => rustix::fs::fgetxattr(fd, ACL_DEFAULT, &mut [0u8; 0][..]),
        Via::Proc(p) => rustix::fs::getxattr(p, ACL_DEFAULT, &mut [0u8; 0][..]),
    });
    !matches!(asked, Err(Errno::NODATA | Errno::OPNOTSUPP))
}

/// gnulib's `copy_acl`: the source's POSIX ACLs (a directory's default ACL too) and its mode
/// (setuid/setgid/sticky included). Without ACLs this is a chmod. What is `known` of
/// either side's ACLs is not asked again: an ACL the source's listing did not name is not
/// read, and one the destination cannot have is not removed.
pub(crate) fn copy_acl(
    src: Node,
    dst: Node,
    (mode, dir): (u32, bool),
    known: Known,
) -> Result<(), Errno> {
    chmod(dst, mode)?;
    for name in [ACL_ACCESS, ACL_DEFAULT] {
        if name == ACL_DEFAULT && !dir {
            continue;
        }
        let value = match known.src {
            Some(listed) if !listed.names(name) => Ok(None),
            _ => get(src, name),
        };
        match value {
            Ok(Some(value)) => set(dst, name, &value)?,
            Ok(None) if known.dst.is_some_and(|dst| !dst.names(name)) => {}
            Ok(None) => match remove(dst, name) {
                Ok(()) | Err(Errno::NODATA) | Err(Errno::OPNOTSUPP) => {}
                Err(e) => return Err(e),
            },
            Err(Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// gnulib's `set_acl (dst, mode)`: the mode, and no access ACL beyond it (one inherited
/// from a directory's default ACL goes).
pub(crate) fn set_plain_mode(dst: Node, mode: u32) -> Result<(), Errno> {
    chmod(dst, mode)?;
    match remove(dst, ACL_ACCESS) {
        Ok(()) | Err(Errno::NODATA) | Err(Errno::OPNOTSUPP) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The step of an xattr copy that failed (the caller words it as libattr does).
pub(crate) enum XattrStep {
    /// Listing the source's names.
    List,
    /// Reading the named xattr of the source.
    Get(String),
    /// Setting the named xattr on the destination.
    Set(String),
    /// The destination takes no xattrs at all (reported once per file).
    SetUnsupported,
}

/// A failure while copying xattrs: the step and the errno.
pub(crate) struct XattrError {
    pub(crate) step: XattrStep,
    pub(crate) errno: Errno,
}

/// libattr's `attr_copy_*`: every xattr but those `/etc/xattr.conf` leaves to ACL copying
/// or skips. Returns each failure (a source filesystem without xattrs is not one), and
/// which ACLs the source's listing named, if it could be listed.
pub(crate) fn copy_xattrs(src: Node, dst: Node) -> (Vec<XattrError>, Option<AclNames>) {
    let mut errors = Vec::new();
    let names = match list(src) {
        Ok(names) => names,
        Err(Errno::OPNOTSUPP) | Err(Errno::NOSYS) => return (errors, None),
        Err(errno) => {
            errors.push(XattrError { step: XattrStep::List, errno });
            return (errors, None);
        }
    };
    let mut unsupported_reported = false;
    for name in names.iter().filter(|n| !skipped(n.to_bytes())) {
        let shown = || name.to_string_lossy().into_owned();
        let value = match get(src, name) {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(errno) => {
                errors.push(XattrError { step: XattrStep::Get(shown()), errno });
                continue;
            }
        };
        match set(dst, name, &value) {
            Ok(()) => {}
            Err(errno @ Errno::OPNOTSUPP) => {
                if !unsupported_reported {
                    errors.push(XattrError { step: XattrStep::SetUnsupported, errno });
                    unsupported_reported = true;
                }
            }
            Err(errno) => errors.push(XattrError { step: XattrStep::Set(shown()), errno }),
        }
    }
    (errors, Some(AclNames::of(&names)))
}

/// The names `/etc/xattr.conf` marks `permissions` or `skip`.
fn skipped(name: &[u8]) -> bool {
    const EXACT: &[&[u8]] = &[
        b"system.nfs4_acl",
        b"system.nfs4acl",
        b"system.posix_acl_access",
        b"system.posix_acl_default",
        b"trusted.SGI_ACL_DEFAULT",
        b"trusted.SGI_ACL_FILE",
        b"trusted.SGI_CAP_FILE",
        b"trusted.SGI_MAC_FILE",
        b"security.evm",
    ];
    const PREFIX: &[&[u8]] = &[b"trusted.SGI_DMI_", b"xfsroot.", b"user.Beagle.", b"afs."];
    EXACT.contains(&name) || PREFIX.iter().any(|p| name.starts_with(p))
}

fn list(node: Node) -> Result<Vec<CString>, Errno> {
    let mut buf = vec![0u8; 4096];
    loop {
        let got = match node {
            Node::Fd(fd, _) => on_fd(fd, |via| match via {
                Via::Fd(fd) => rustix::fs::flistxattr(fd, &mut buf[..]),
                Via::Proc(p) => rustix::fs::listxattr(p, &mut buf[..]),
            }),
            Node::At(at) => rustix::fs::llistxattr(at.xattr_path(), &mut buf[..]),
        };
        match got {
            Ok(n) => {
                let names = buf[..n]
                    .split(|&b| b == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| CString::new(s).expect("split on NUL"))
                    .collect();
                return Ok(names);
            }
            Err(Errno::RANGE) => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e),
        }
    }
}

/// One xattr's value; `None` when it is absent.
fn get(node: Node, name: &CStr) -> Result<Option<Vec<u8>>, Errno> {
    let mut buf = vec![0u8; 4096];
    loop {
        let got = match node {
            Node::Fd(fd, _) => on_fd(fd, |via| match via {
                Via::Fd(fd) => rustix::fs::fgetxattr(fd, name, &mut buf[..]),
                Via::Proc(p) => rustix::fs::getxattr(p, name, &mut buf[..]),
            }),
            Node::At(at) => rustix::fs::lgetxattr(at.xattr_path(), name, &mut buf[..]),
        };
        match got {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::NODATA) => return Ok(None),
            Err(Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 16, 0),
            Err(e) => return Err(e),
        }
    }
}

fn set(node: Node, name: &CStr, value: &[u8]) -> Result<(), Errno> {
    match node {
        Node::Fd(fd, _) => on_fd(fd, |via| match via {
            Via::Fd(fd) => rustix::fs::fsetxattr(fd, name, value, XattrFlags::empty()),
            Via::Proc(p) => rustix::fs::setxattr(p, name, value, XattrFlags::empty()),
        }),
        Node::At(at) => rustix::fs::lsetxattr(at.xattr_path(), name, value, XattrFlags::empty()),
    }
}

fn remove(node: Node, name: &CStr) -> Result<(), Errno> {
    match node {
        Node::Fd(fd, _) => on_fd(fd, |via| match via {
            Via::Fd(fd) => rustix::fs::fremovexattr(fd, name),
            Via::Proc(p) => rustix::fs::removexattr(p, name),
        }),
        Node::At(at) => rustix::fs::lremovexattr(at.xattr_path(), name),
    }
}

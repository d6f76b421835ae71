//! The one error type of a copy: the operation that failed, the path(s) it worked on and the
//! errno. `Display` renders GNU cp's message text (without the `rcp: ` prefix); a program
//! reads the parts (`Error::op`, `path`, `errno`).

use std::fmt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use crate::quote::quote;

/// What rcp was doing when it failed; variants that name two files carry the second path.
/// Each variant's comment is its message, as `Error`'s `Display` renders it (before `: ` and
/// the errno's text, when there is an errno).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `cannot stat SRC`.
    Stat,
    /// `cannot open SRC for reading`.
    OpenRead,
    /// `cannot fstat SRC`.
    Fstat,
    /// `cannot create regular file DST`.
    CreateRegular,
    /// `error reading SRC`.
    Read,
    /// `error writing DST`.
    Write,
    /// `error copying SRC to DST` (copy_file_range); the path is the source.
    CopyTo(PathBuf),
    /// `failed to clone DST from SRC`; the path is the destination.
    CloneFrom(PathBuf),
    /// `failed to extend DST`.
    Extend,
    /// `cannot lseek SRC`.
    Seek,
    /// `failed to close DST`.
    Close,
    /// `cannot create directory DST`.
    CreateDir,
    /// `cannot open directory 'x'`: a directory rcp made, or one it opens again.
    OpenDir,
    /// `cannot access PATH`.
    Access,
    /// `cannot read symbolic link SRC`.
    ReadLink,
    /// `cannot create symbolic link DST`.
    CreateSymlink,
    /// `cannot create fifo DST`.
    CreateFifo,
    /// `cannot create special file DST`.
    CreateSpecial,
    /// `setting permissions for DST`.
    SetPermissions,
    /// `cannot remove DST`.
    Remove,
    /// `SRC and DST are the same file`; the path is the source.
    SameFile(PathBuf),
    /// `-r not specified; omitting directory SRC`.
    OmitDirectory,
    /// `cannot overwrite directory DST with non-directory`; the path is the destination.
    OverwriteDirectory,
    /// `cannot overwrite non-directory DST with directory SRC`; the path is the destination.
    OverwriteNonDirectory(PathBuf),
    /// `cannot copy a directory, SRC, into itself, DST`; the path is the source.
    IntoItself(PathBuf),
    /// `not writing through dangling symlink DST`.
    DanglingSymlink,
    /// The last operand, which must be a directory: `target 'x': ...`.
    Target,
    /// The `-t` operand: `target directory 'x': ...`.
    TargetDirectory,
    /// `cannot backup DST`.
    Backup,
    /// `cannot un-backup DST`.
    Unbackup,
    /// `cannot create hard link DST to SRC`; the path is the destination.
    HardLink(PathBuf),
    /// `cannot create symbolic link DST to SRC`; the path is the destination.
    SymlinkTo(PathBuf),
    /// `preserving times for DST`.
    PreserveTimes,
    /// `preserving permissions for DST`.
    PreservePermissions,
    /// `failed to preserve ownership for DST`.
    PreserveOwnership,
    /// `clearing permissions for DST`.
    ClearPermissions,
    /// `skipping file SRC, as it was replaced while being copied`.
    Replaced,
    /// `--parents`: `failed to get attributes of 'x'`.
    GetAttributes,
    /// `--parents`: `cannot make directory 'x'`.
    MakeDirectory,
    /// `--parents`: `'x' exists but is not a directory`.
    NotADirectory,
    /// `--parents`: `failed to preserve times for 'x'`.
    PreserveTimesOf,
    /// `--parents`: `failed to preserve permissions for 'x'`.
    PreservePermissionsOf,
    /// `--verify`: `verification failed: DST differs from SRC`; the path is the destination.
    Verify(PathBuf),
    /// `--update=none-fail`: `not replacing DST`; the path is the destination.
    NotReplacing,
    /// `will not overwrite just-created DST with SRC`; the path is the destination.
    JustCreated(PathBuf),
    /// `will not copy SRC through just-created symlink DST`; the path is the source.
    ThroughJustCreatedSymlink(PathBuf),
    /// `backing up DST might destroy source;  SRC not copied`; the path is the destination.
    BackupDestroysSource(PathBuf),
    /// `will not create hard link DST to directory EARLIER`; the path is the destination.
    LinkToDirectory(PathBuf),
    /// `cannot copy cyclic symbolic link SRC`.
    Cyclic,
    /// `SRC has unknown file type`.
    UnknownType,
    /// `DST: can make relative symbolic links only in current directory` (GNU's `quotef`).
    RelativeSymlink,
    /// `'f' is incomplete: REASON`: an existing destination truncated and not filled.
    Incomplete(String),
    /// `SRC shrank while it was being copied`: EOF came before the size seen at open.
    Shrank,
    /// `--atomic`: `cannot create temporary file in DIR`; the path is the directory.
    CreateTemp,
    /// `cannot use --link-dest directory DIR` (the option named).
    BasisDir(&'static str),
    /// `failed to preserve ownership for DST` of a symlink, its name unquoted (as GNU).
    PreserveSymlinkOwnership,
    /// `listing attributes of SRC` (xattrs).
    ListAttributes,
    /// `getting attribute NAME of SRC`.
    GetAttribute(String),
    /// `setting attribute NAME for DST`.
    SetAttribute(String),
    /// `setting attributes for DST`: the destination takes no xattrs.
    SetAttributes,
    /// `interrupted by SIGNAL`: given up because rcp was told to stop (no errno).
    Interrupted(&'static str),
    /// A failure whose message was already printed.
    Reported,
}

/// A failed operation on a path, with the errno when the kernel gave one. `Display` is
/// GNU cp's message (without `rcp: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub(crate) op: Op,
    pub(crate) path: PathBuf,
    pub(crate) errno: Option<Errno>,
}

impl Op {
    /// Whether it is setting an attribute of a copy whose data is whole (times, owner,
    /// mode, ACLs, xattrs), or a failure the attribute rules already reported.
    pub(crate) fn is_attribute(&self) -> bool {
        matches!(
            self,
            Op::PreserveTimes
                | Op::PreservePermissions
                | Op::PreserveOwnership
                | Op::ClearPermissions
                | Op::SetPermissions
                | Op::ListAttributes
                | Op::GetAttribute(_)
                | Op::SetAttribute(_)
                | Op::SetAttributes
                | Op::Reported
        )
    }
}

impl Error {
    /// What was being done.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// The path it was done to (the one the message names first).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kernel's errno, if the kernel refused (`None` for refusals of cp's own: same
    /// file, omitted directory...).
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    pub(crate) fn new(op: Op, path: impl AsRef<Path>, errno: Errno) -> Self {
        Self { op, path: path.as_ref().to_path_buf(), errno: Some(errno) }
    }

    /// A failure already reported where it happened.
    pub(crate) fn silent(path: impl AsRef<Path>) -> Self {
        Self { op: Op::Reported, path: path.as_ref().to_path_buf(), errno: None }
    }

    /// A refusal of rcp's own (same file, omitted directory...), with no errno.
    pub(crate) fn refusal(op: Op, path: impl AsRef<Path>) -> Self {
        Self { op, path: path.as_ref().to_path_buf(), errno: None }
    }

    /// A directory opened again by name that is not the one it was: another one there
    /// (`None`), a symlink or non-directory on the way (ELOOP, ENOTDIR) — replaced — or one
    /// that could not be opened (any other errno).
    pub(crate) fn reopening(path: impl AsRef<Path>, e: Option<Errno>) -> Self {
        match e {
            None | Some(Errno::LOOP | Errno::NOTDIR) => Self::refusal(Op::Replaced, path),
            Some(e) => Self::new(Op::OpenDir, path, e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = quote(&self.path);
        match &self.op {
            Op::Stat => write!(f, "cannot stat {p}"),
            Op::OpenRead => write!(f, "cannot open {p} for reading"),
            Op::Fstat => write!(f, "cannot fstat {p}"),
            Op::CreateRegular => write!(f, "cannot create regular file {p}"),
            Op::Read => write!(f, "error reading {p}"),
            Op::Write => write!(f, "error writing {p}"),
            Op::CopyTo(dst) => write!(f, "error copying {p} to {}", quote(dst)),
            Op::CloneFrom(src) => write!(f, "failed to clone {p} from {}", quote(src)),
            Op::Extend => write!(f, "failed to extend {p}"),
            Op::Seek => write!(f, "cannot lseek {p}"),
            Op::Close => write!(f, "failed to close {p}"),
            Op::CreateDir => write!(f, "cannot create directory {p}"),
            Op::OpenDir => write!(f, "cannot open directory {p}"),
            Op::Access => write!(f, "cannot access {p}"),
            Op::ReadLink => write!(f, "cannot read symbolic link {p}"),
            Op::CreateSymlink => write!(f, "cannot create symbolic link {p}"),
            Op::CreateFifo => write!(f, "cannot create fifo {p}"),
            Op::CreateSpecial => write!(f, "cannot create special file {p}"),
            Op::SetPermissions => write!(f, "setting permissions for {p}"),
            Op::Remove => write!(f, "cannot remove {p}"),
            Op::SameFile(dst) => write!(f, "{p} and {} are the same file", quote(dst)),
            Op::OmitDirectory => write!(f, "-r not specified; omitting directory {p}"),
            Op::OverwriteDirectory => {
                write!(f, "cannot overwrite directory {p} with non-directory")
            }
            Op::OverwriteNonDirectory(src) => {
                write!(f, "cannot overwrite non-directory {p} with directory {}", quote(src))
            }
            Op::IntoItself(dst) => {
                write!(f, "cannot copy a directory, {p}, into itself, {}", quote(dst))
            }
            Op::DanglingSymlink => write!(f, "not writing through dangling symlink {p}"),
            Op::Target => write!(f, "target {p}"),
            Op::TargetDirectory => write!(f, "target directory {p}"),
            Op::Backup => write!(f, "cannot backup {p}"),
            Op::Unbackup => write!(f, "cannot un-backup {p}"),
            Op::HardLink(src) => write!(f, "cannot create hard link {p} to {}", quote(src)),
            Op::SymlinkTo(src) => write!(f, "cannot create symbolic link {p} to {}", quote(src)),
            Op::PreserveTimes => write!(f, "preserving times for {p}"),
            Op::PreservePermissions => write!(f, "preserving permissions for {p}"),
            Op::PreserveOwnership => write!(f, "failed to preserve ownership for {p}"),
            Op::ClearPermissions => write!(f, "clearing permissions for {p}"),
            Op::Replaced => {
                write!(f, "skipping file {p}, as it was replaced while being copied")
            }
            Op::GetAttributes => write!(f, "failed to get attributes of {p}"),
            Op::MakeDirectory => write!(f, "cannot make directory {p}"),
            Op::NotADirectory => write!(f, "{p} exists but is not a directory"),
            Op::PreserveTimesOf => write!(f, "failed to preserve times for {p}"),
            Op::PreservePermissionsOf => write!(f, "failed to preserve permissions for {p}"),
            Op::NotReplacing => write!(f, "not replacing {p}"),
            Op::JustCreated(src) => {
                write!(f, "will not overwrite just-created {p} with {}", quote(src))
            }
            Op::ThroughJustCreatedSymlink(dst) => {
                write!(f, "will not copy {p} through just-created symlink {}", quote(dst))
            }
            Op::BackupDestroysSource(src) => {
                write!(f, "backing up {p} might destroy source;  {} not copied", quote(src))
            }
            Op::LinkToDirectory(earlier) => {
                write!(f, "will not create hard link {p} to directory {}", quote(earlier))
            }
            Op::Cyclic => write!(f, "cannot copy cyclic symbolic link {p}"),
            Op::UnknownType => write!(f, "{p} has unknown file type"),
            Op::RelativeSymlink => write!(
                f,
                "{}: can make relative symbolic links only in current directory",
                crate::quote::quote_if_needed(&self.path)
            ),
            Op::CreateTemp => write!(f, "cannot create temporary file in {p}"),
            Op::BasisDir(option) => write!(f, "cannot use {option} directory {p}"),
            Op::Verify(src) => {
                write!(f, "verification failed: {p} differs from {}", crate::quote::quote(src))
            }
            Op::Incomplete(reason) => write!(f, "{p} is incomplete: {reason}"),
            Op::Shrank => write!(f, "{p} shrank while it was being copied"),
            Op::PreserveSymlinkOwnership => {
                write!(f, "failed to preserve ownership for {}", self.path.display())
            }
            Op::ListAttributes => write!(f, "listing attributes of {p}"),
            Op::GetAttribute(name) => write!(f, "getting attribute {} of {p}", quote(name)),
            Op::SetAttribute(name) => write!(f, "setting attribute {} for {p}", quote(name)),
            Op::SetAttributes => write!(f, "setting attributes for {p}"),
            Op::Interrupted(signal) => return write!(f, "interrupted by {signal}"),
            Op::Reported => Ok(()),
        }?;
        match self.errno {
            Some(errno) => write!(f, ": {}", strerror(errno)),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

/// A usage error, exit status 1; `hint` adds GNU's `Try 'rcp --help'` line.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    /// The message, without the program name.
    pub message: String,
    /// GNU follows it with `Try 'rcp --help' for more information.`
    pub hint: bool,
}

impl UsageError {
    /// A usage error GNU follows with the hint line.
    pub fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into(), hint: true }
    }

    /// A refusal GNU prints without the hint line.
    pub fn bare(message: impl Into<String>) -> Self {
        UsageError { message: message.into(), hint: false }
    }
}

/// The C library's text for an errno, without Rust's ` (os error N)` suffix.
pub fn strerror(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno.raw_os_error()).to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The symbolic name of an errno (`EXDEV`), as records and `--debug` lines show it.
pub(crate) fn errno_name(errno: Errno) -> String {
    let name = match errno {
        Errno::PERM => "EPERM",
        Errno::NOENT => "ENOENT",
        Errno::INTR => "EINTR",
        Errno::IO => "EIO",
        Errno::NXIO => "ENXIO",
        Errno::BADF => "EBADF",
        Errno::AGAIN => "EAGAIN",
        Errno::NOMEM => "ENOMEM",
        Errno::ACCESS => "EACCES",
        Errno::BUSY => "EBUSY",
        Errno::EXIST => "EEXIST",
        Errno::XDEV => "EXDEV",
        Errno::NODEV => "ENODEV",
        Errno::NOTDIR => "ENOTDIR",
        Errno::ISDIR => "EISDIR",
        Errno::INVAL => "EINVAL",
        Errno::NFILE => "ENFILE",
        Errno::MFILE => "EMFILE",
        Errno::NOTTY => "ENOTTY",
        Errno::TXTBSY => "ETXTBSY",
        Errno::FBIG => "EFBIG",
        Errno::NOSPC => "ENOSPC",
        Errno::SPIPE => "ESPIPE",
        Errno::ROFS => "EROFS",
        Errno::MLINK => "EMLINK",
        Errno::PIPE => "EPIPE",
        Errno::NAMETOOLONG => "ENAMETOOLONG",
        Errno::NOSYS => "ENOSYS",
        Errno::LOOP => "ELOOP",
        Errno::NODATA => "ENODATA",
        Errno::OVERFLOW => "EOVERFLOW",
        Errno::OPNOTSUPP => "EOPNOTSUPP",
        Errno::DQUOT => "EDQUOT",
        Errno::STALE => "ESTALE",
        Errno::CANCELED => "ECANCELED",
        other => return format!("errno {}", other.raw_os_error()),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_gnu_text() {
        let e = Error::new(Op::Stat, "x", Errno::NOENT);
        assert_eq!(e.to_string(), "cannot stat 'x': No such file or directory");
        let e = Error::new(Op::CloneFrom("a".into()), "b", Errno::OPNOTSUPP);
        assert_eq!(e.to_string(), "failed to clone 'b' from 'a': Operation not supported");
        let e = Error::refusal(Op::SameFile("a".into()), "a");
        assert_eq!(e.to_string(), "'a' and 'a' are the same file");
    }
}

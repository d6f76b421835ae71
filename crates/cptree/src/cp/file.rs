//! One regular file, as GNU's `copy_reg`: open the source (and check it is still the file
//! that was stat'ed), open the existing destination for truncation (`-f`: unlink it if that
//! fails) or create it exclusively, run the engine, set attributes on the open fd, and remove
//! the destination again if rcp created it and the copy failed.

use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, Stat, fstat};
use rustix::io::Errno;

use crate::cp::preserve::{Attrs, Made, Stopped, Target};
use crate::error::{Error, Op};
use crate::options::Options;
use crate::report::{Earlier, Entry, Happened, Kind, Printer};
use crate::sys::at::{At, DirFd};
use crate::sys::attr::{self, Node};
use crate::sys::ino;
use copychain::{self as engine, Copied, Dest, Failure, Reflink, Scratch, Source, Stage};

/// A failed file copy: the message, and the engine's record when it got that far.
#[derive(Debug)]
pub(crate) struct FileError {
    pub(crate) error: Error,
    /// Boxed: an error travels up through every caller, a record is big.
    pub(crate) record: Option<Box<Copied>>,
    /// The existing destination it names was truncated and its data did not all arrive.
    pub(crate) incomplete: bool,
}

impl FileError {
    /// `error`, after the engine did what `record` says (whole data, or a failure there).
    pub(crate) fn after(error: Error, record: Option<Copied>) -> FileError {
        FileError { error, record: record.map(Box::new), incomplete: false }
    }
}

impl From<Error> for FileError {
    fn from(error: Error) -> Self {
        FileError { error, record: None, incomplete: false }
    }
}

/// A destination directory the walk has open, as far as the files made in it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DstDir {
    /// Its device: a file created in it needs no fstat to say where it is.
    pub(crate) dev: u64,
    /// It has no default ACL (asked only when modes are preserved): a file created in it
    /// inherits no ACL, so there is none to take away.
    pub(crate) no_default_acl: bool,
}

/// What `copy` decided for this file.
#[derive(Clone, Copy)]
pub(crate) struct RegularPlan {
    /// Permission bits for a new file (before the umask).
    pub(crate) mode: u32,
    /// Bits withheld at creation and added at the end (`-p` as non-owner...).
    pub(crate) omitted: u32,
    /// u+w added at creation so xattrs can be set on a read-only copy (non-root), removed
    /// at the end.
    pub(crate) extra: u32,
    pub(crate) new_dst: bool,
    /// Whether the source may be reached through a symlink.
    pub(crate) follow: bool,
    /// The destination directory, when the walk has it open.
    pub(crate) dst_dir: Option<DstDir>,
    /// `--resume`: the existing destination's length, to go on from if its bytes are the
    /// source's (0: copy afresh).
    pub(crate) resume_from: u64,
    /// `--verify`: the destination is opened for reading too, to read the copy back.
    pub(crate) read_back: bool,
}

impl RegularPlan {
    /// The plan for a source of mode `src_mode` created new (callers say otherwise): its
    /// permission bits, less group/other until its owner is set (`-p`), plus u+w while
    /// its xattrs are set (non-root).
    pub(crate) fn new(src_mode: u32, opts: &Options, root: bool) -> Self {
        let p = opts.preserve;
        let mode = src_mode & 0o777;
        RegularPlan {
            mode,
            omitted: if p.ownership { mode & 0o077 } else { 0 },
            extra: if p.xattr && !root { 0o200 & !mode } else { 0 },
            new_dst: true,
            follow: false,
            dst_dir: None,
            resume_from: 0,
            read_back: opts.verify,
        }
    }
}

/// The open ends of a file being copied, and what the copy must do with them; filled by
/// `fill_and_close`, on any thread.
pub(crate) struct Ends {
    src_fd: OwnedFd,
    dst_fd: OwnedFd,
    open_st: Stat,
    src_st: Stat,
    plan: RegularPlan,
    created: bool,
    /// `--atomic`: the temporary name being written, renamed over `dst` when complete.
    temp: Option<At>,
    /// An existing destination opened without truncating it: it is emptied once a clone
    /// is known to work (`--reflink=always`), and left as it was if none can.
    empty_if_clonable: bool,
    /// `--copy-dest`: the unchanged earlier copy the data is read from (boxed: every
    /// file's ends are moved along the walk, and few have one).
    earlier: Option<Box<ReadFrom>>,
}

/// `--copy-dest`: an earlier copy opened to read the data from (the attributes are still
/// the source's), and what the record says of it.
struct ReadFrom {
    fd: OwnedFd,
    st: Stat,
    earlier: Earlier,
}

impl Ends {
    /// The source's size when it was opened.
    pub(crate) fn size(&self) -> u64 {
        self.src_st.st_size as u64
    }

    /// The source's identity.
    pub(crate) fn source(&self) -> crate::sys::Ino {
        ino(&self.open_st)
    }

    /// `--copy-dest`: the earlier copy the data is read from, as the record names it.
    pub(crate) fn earlier(&self) -> Option<&Earlier> {
        self.earlier.as_ref().map(|from| &from.earlier)
    }

    /// `--copy-dest`: the data comes from `found`, the source's unchanged earlier copy,
    /// if it opens (never through a symlink) as the file that was looked at; else from the
    /// source.
    pub(crate) fn read_from_earlier(&mut self, found: &super::basis::Found) {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY;
        // Reading an earlier snapshot leaves its access time as it was, where allowed.
        let opened = found.at.open(flags | OFlags::NOATIME, Mode::empty());
        let Ok(fd) = opened.or_else(|_| found.at.open(flags, Mode::empty())) else { return };
        match fstat(&fd) {
            Ok(st) if ino(&st) == ino(&found.st) && st.st_size == self.src_st.st_size => {
                self.earlier = Some(Box::new(ReadFrom { fd, st, earlier: found.earlier.clone() }));
            }
            _ => {}
        }
    }
}

/// Opens `src` (unless the walk already did) and opens or creates `dst`.
pub(crate) fn open_pair(
    (opts, out): (&Options, Printer),
    src: &At,
    dst: &At,
    src_st: &Stat,
    plan: RegularPlan,
    opened: Option<OwnedFd>,
) -> Result<Ends, FileError> {
    let (src_fd, open_st) = match opened {
        Some(fd) => (fd, *src_st),
        None => open_source(src, src_st, plan.follow)?,
    };
    if let Some((dst_fd, partial, len)) = adopt_partial(opts, dst, &plan) {
        let plan = RegularPlan { resume_from: len, ..plan };
        let temp = Some(partial);
        let (src_st, empty_if_clonable) = (*src_st, false);
        return Ok(Ends {
            src_fd,
            dst_fd,
            open_st,
            src_st,
            plan,
            created: true,
            temp,
            empty_if_clonable,
            earlier: None,
        });
    }
    let (dst_fd, created, temp) = match atomic_temp(opts, dst, &plan)? {
        Some((fd, temp)) => (fd, true, Some(temp)),
        None => {
            let (fd, created) = open_destination((opts, out), dst, &plan)?;
            (fd, created, None)
        }
    };
    let empty_if_clonable = !created && truncates_after_clone(opts, &plan);
    Ok(Ends {
        src_fd,
        dst_fd,
        open_st,
        src_st: *src_st,
        plan,
        created,
        temp,
        empty_if_clonable,
        earlier: None,
    })
}

/// `--resume`: the data an interrupted copy to `dst` kept (`.NAME.rcp-partial`), to go on
/// filling and rename over `dst` when complete — where `dst` is new, or is replaced whole
/// (`--atomic`). Only a regular file of this user with no other name is taken (nothing
/// planted there is written through), left before this run began; its bytes are checked
/// against the source's first.
fn adopt_partial(opts: &Options, dst: &At, plan: &RegularPlan) -> Option<(OwnedFd, At, u64)> {
    if !(opts.resume && opts.data && (plan.new_dst || opts.atomic)) {
        return None;
    }
    let partial = crate::sys::create::partial_beside(dst)?;
    // Left by an earlier run: one this run made (a source named like a partial, copied a
    // moment ago) changed after it began.
    let began = crate::sys::process::run_began();
    let ours = |st: &Stat| {
        FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
            && st.st_nlink == 1
            && st.st_uid == rustix::process::geteuid().as_raw()
            && (st.st_ctime, st.st_ctime_nsec as i64) < began
    };
    let seen = partial.lstat().ok().filter(ours)?;
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::NONBLOCK;
    let fd = partial.open(flags, Mode::empty()).ok()?;
    let st = fstat(&fd).ok().filter(|st| ours(st) && ino(st) == ino(&seen))?;
    Some((fd, partial, st.st_size as u64))
}

/// `--resume` and a stop asked for (SIGINT, SIGTERM): the data so far is kept under
/// `dst`'s partial name, where the next `--resume` run goes on from it. Returns the error
/// to report instead of the interruption (`None`: nothing could be kept).
fn keep_partial(opts: &Options, written: &At, dst: &At, e: &FileError) -> Option<Error> {
    let (signal, _) = crate::sys::interrupt::stopped_by()?;
    if !opts.resume || e.error.errno != Some(Errno::CANCELED) {
        return None;
    }
    let partial = crate::sys::create::partial_beside(dst)?;
    if written.path() != partial.path() {
        written.rename_to(&partial).ok()?;
    }
    let reason = format!(
        "interrupted by {signal}; --resume goes on from {}",
        crate::quote::quote(partial.path())
    );
    Some(Error::refusal(Op::Incomplete(reason), dst.path()))
}

/// `--reflink=always` over an existing destination: it is truncated only once a clone is
/// known to work, so a filesystem that cannot clone leaves it whole (GNU empties it).
fn truncates_after_clone(opts: &Options, plan: &RegularPlan) -> bool {
    opts.data && opts.policy.reflink == Reflink::Always && plan.resume_from == 0
}

/// Opens the source `src` that was stat'ed as `src_st` (through a final symlink only if
/// `follow`), checking it is still that file.
pub(crate) fn open_source(src: &At, src_st: &Stat, follow: bool) -> Result<(OwnedFd, Stat), Error> {
    let nofollow = if follow { OFlags::empty() } else { OFlags::NOFOLLOW };
    let fd = src
        .open(OFlags::RDONLY | nofollow, Mode::empty())
        .map_err(|e| Error::new(Op::OpenRead, src.path(), e))?;
    let open_st = fstat(&fd).map_err(|e| Error::new(Op::Fstat, src.path(), e))?;
    if ino(&open_st) != ino(src_st) {
        return Err(Error::refusal(Op::Replaced, src.path()));
    }
    Ok((fd, open_st))
}

/// Opens a source the walk saw as a regular file, never following a symlink swapped in
/// since; anything but a regular file now is "replaced while being copied". A source that
/// cannot be opened is reported in GNU's order, which stats it first: `cannot stat` if
/// that fails too (a directory that may not be searched, a file gone), else `cannot open`.
pub(crate) fn open_walked(src: &At) -> Result<(OwnedFd, Stat), Error> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY;
    let fd = src.open(flags, Mode::empty()).map_err(|e| match e {
        Errno::LOOP => Error::refusal(Op::Replaced, src.path()),
        e => match src.lstat() {
            Err(stat) => Error::new(Op::Stat, src.path(), stat),
            Ok(_) => Error::new(Op::OpenRead, src.path(), e),
        },
    })?;
    let st = fstat(&fd).map_err(|e| Error::new(Op::Fstat, src.path(), e))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::refusal(Op::Replaced, src.path()));
    }
    Ok((fd, st))
}

/// A new file in a directory rcp just made, copied entirely by a worker: open the source
/// (the walk saw a regular file), create the destination, fill it. Nothing can exist there
/// yet, so none of GNU's checks on an existing destination apply.
pub(crate) fn copy_new_file(
    src: &At,
    dst: &At,
    dst_dir: Option<DstDir>,
    worker: &mut Scratch,
    attrs: &mut Attrs,
) -> Result<Option<Copied>, FileError> {
    let opened = open_walked(src)?;
    fill_new_file(src, dst, opened, dst_dir, worker, attrs)
}

/// `copy_new_file` once the source is open (`src_fd`, its fstat `st`): creates the
/// destination and fills it.
pub(crate) fn fill_new_file(
    src: &At,
    dst: &At,
    (src_fd, st): (OwnedFd, Stat),
    dst_dir: Option<DstDir>,
    worker: &mut Scratch,
    attrs: &mut Attrs,
) -> Result<Option<Copied>, FileError> {
    let plan = RegularPlan { dst_dir, ..RegularPlan::new(st.st_mode, attrs.opts, attrs.root) };
    let (dst_fd, temp) = match atomic_temp(attrs.opts, dst, &plan)? {
        Some((fd, temp)) => (fd, Some(temp)),
        None => (create_new(dst, &plan, attrs.opts.open_dangling_symlink)?, None),
    };
    let ends = Ends {
        src_fd,
        dst_fd,
        open_st: st,
        src_st: st,
        plan,
        created: true,
        temp,
        empty_if_clonable: false,
        earlier: None,
    };
    fill_and_close(src, dst, ends, worker, attrs)
}

/// Copies the data and attributes of the ends opened for `src` and `dst`, closes them, and
/// removes the destination if rcp created it and anything failed. Returns the engine's
/// record (none with `--attributes-only`); non-fatal messages go to `attrs`.
pub(crate) fn fill_and_close(
    src: &At,
    dst: &At,
    ends: Ends,
    worker: &mut Scratch,
    attrs: &mut Attrs,
) -> Result<Option<Copied>, FileError> {
    let (src_path, dst_path) = (src.path(), dst.path());
    // Messages name the destination; everything on it goes through the fd.
    let emptied =
        if ends.empty_if_clonable { empty_once_clonable(&ends, dst, src_path) } else { Ok(()) };
    let mut result = emptied.and_then(|()| fill(&ends, (src_path, dst_path), worker, attrs));
    // Its data is whole and in place; only an attribute GNU requires failed: GNU keeps
    // such a file (the entry fails), and so does rcp. Under --atomic the old file stays.
    let whole = matches!(&result, Err(e) if e.error.op.is_attribute()) && ends.temp.is_none();
    let Ends { src_fd, dst_fd, temp, created, .. } = ends;
    let written = temp.as_ref().unwrap_or(dst);
    if attrs.opts.fsync
        && let Ok(record) = &result
        && let Err(e) = rustix::fs::fsync(&dst_fd)
    {
        let error = Error::new(Op::Write, dst_path, e);
        result = Err(FileError::after(error, record.clone()));
    }
    // GNU's order: the destination, then the source; a failure of either fails the file.
    let closed = close(dst_fd).map_err(|e| Error::new(Op::Close, dst_path, e));
    let src_closed = close(src_fd).map_err(|e| Error::new(Op::Close, src_path, e));
    let outcome = match (result, closed) {
        (Ok(record), Ok(())) => match temp.as_ref().map(|t| commit(t, dst, attrs.opts.fsync)) {
            // The copy is whole and in place: a source that fails to close fails the
            // entry, as GNU's does, and leaves the copy.
            None | Some(Ok(())) => {
                return match src_closed {
                    Ok(()) => Ok(record),
                    Err(error) => Err(FileError::after(error, record)),
                };
            }
            Some(Err(error)) => FileError::after(error, record),
        },
        (Ok(record), Err(error)) => FileError::after(error, record),
        (Err(e), _) => name_the_damage(e, created, dst_path),
    };
    if created && !whole {
        if let Some(error) = keep_partial(attrs.opts, written, dst, &outcome) {
            return Err(FileError { error, ..outcome });
        }
        // Never leave a torn file that looks complete; a failed unlink changes nothing more.
        let _ = written.unlink();
    }
    Err(outcome)
}

/// `--reflink=always` over an existing file: empties it once a clone from the source is
/// known to work; if none can, fails as the clone would, with the file as it was.
fn empty_once_clonable(ends: &Ends, dst: &At, src: &Path) -> Result<(), FileError> {
    let dst_st = fstat(&ends.dst_fd).map_err(|e| Error::new(Op::Fstat, dst.path(), e))?;
    let (source, dest) = (source(&ends.src_fd, &ends.open_st), dest(&ends.dst_fd, &dst_st));
    // The directory the file really is in (a destination may be a symlink to elsewhere).
    let link = crate::sys::at::fd_path(ends.dst_fd.as_fd());
    let real = link.and_then(|link| std::fs::read_link(link).ok());
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = match real.as_deref().map(crate::sys::path::dir_of) {
        Some(real_dir) => rustix::fs::openat(rustix::fs::CWD, real_dir, flags, Mode::empty()),
        None => dst.open_parent(),
    }
    .map_err(|e| Error::new(Op::Access, dst.path(), e))?;
    if let Err(errno) = engine::clone_would_work(&source, &dest, dir.as_fd()) {
        let op = Op::CloneFrom(src.to_path_buf());
        let record = Some(engine::clone_refused(errno));
        return Err(FileError::after(Error::new(op, dst.path(), errno), record));
    }
    rustix::fs::ftruncate(&ends.dst_fd, 0).map_err(|e| Error::new(Op::Extend, dst.path(), e))?;
    Ok(())
}

/// A failed fill of an existing destination (not one rcp created, which is removed) leaves
/// it truncated: say so. Given up because rcp was told to stop, that is the whole message
/// (`'f' is incomplete: interrupted by SIGINT`); after an error, a line follows it.
fn name_the_damage(e: FileError, created: bool, dst: &Path) -> FileError {
    if created || !e.incomplete {
        return FileError { incomplete: false, ..e };
    }
    match crate::sys::interrupt::stopped_by() {
        Some((signal, _)) if e.error.errno == Some(Errno::CANCELED) => {
            let op = Op::Incomplete(format!("interrupted by {signal}"));
            FileError { error: Error::refusal(op, dst), incomplete: false, ..e }
        }
        _ => e,
    }
}

/// `--atomic`: creates a temporary file beside `dst` to be renamed over it when complete.
/// `None` where the file is written in place: without `--atomic`, and when `dst` is a
/// symlink (GNU writes through it, or refuses a dangling one; rcp keeps that).
fn atomic_temp(
    opts: &crate::options::Options,
    dst: &At,
    plan: &RegularPlan,
) -> Result<Option<(OwnedFd, At)>, Error> {
    if !opts.atomic || !opts.data {
        return Ok(None);
    }
    let existing = dst.lstat().ok();
    if existing.is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink) {
        return Ok(None);
    }
    let (fd, temp) = create_temp(dst, plan)?;
    // Replacing a file keeps its mode and owner, as writing into it would (GNU's rule for
    // existing destinations); `-p` sets them from the source afterwards anyway. The owner
    // first: a change of owner clears setuid and setgid, which the mode then puts back.
    if let Some(old) = existing.filter(|_| !opts.preserve.ownership) {
        let (uid, gid) =
            (rustix::fs::Uid::from_raw(old.st_uid), rustix::fs::Gid::from_raw(old.st_gid));
        let _ = rustix::fs::fchown(&fd, Some(uid), Some(gid));
    }
    if let Some(old) = existing.filter(|_| !opts.preserve.mode) {
        let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(old.st_mode & 0o7777));
    }
    Ok(Some((fd, temp)))
}

/// Creates `.rcp-PID-N` (O_EXCL, the planned mode) in `dst`'s directory.
fn create_temp(dst: &At, plan: &RegularPlan) -> Result<(OwnedFd, At), Error> {
    loop {
        let temp = crate::sys::create::temp_beside(dst);
        match create_new(&temp, plan, false) {
            Ok(fd) => return Ok((fd, temp)),
            Err(Error { errno: Some(Errno::EXIST), .. }) => continue,
            // What could not be created is the temporary, in `dst`'s directory.
            Err(Error { errno: Some(errno), .. }) => {
                let dir = crate::sys::path::dir_of(dst.path());
                return Err(Error::new(Op::CreateTemp, dir, errno));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Renames the complete temporary file over `dst`; with `--fsync`, makes the rename durable.
fn commit(temp: &At, dst: &At, fsync: bool) -> Result<(), Error> {
    temp.rename_to(dst).map_err(|e| Error::new(Op::CreateRegular, dst.path(), e))?;
    if fsync {
        let fd = dst.open_parent().map_err(|e| Error::new(Op::Write, dst.path(), e))?;
        rustix::fs::fsync(&fd).map_err(|e| Error::new(Op::Write, dst.path(), e))?;
    }
    Ok(())
}

/// Opens the destination: truncating an existing one (`-f` removes it if that fails), or
/// creating it with O_EXCL. Returns the fd and whether rcp created the file.
fn open_destination(
    (opts, out): (&Options, Printer),
    dst: &At,
    plan: &RegularPlan,
) -> Result<(OwnedFd, bool), Error> {
    let mut new_dst = plan.new_dst;
    if !new_dst {
        // Resuming reads the destination's bytes first, and keeps them.
        let access = match (opts.data, plan.resume_from) {
            (true, 0) if truncates_after_clone(opts, plan) => write_access(plan),
            (true, 0) => write_access(plan) | OFlags::TRUNC,
            (true, _) => OFlags::RDWR,
            (false, _) => OFlags::WRONLY,
        };
        match dst.open(access, Mode::empty()) {
            Ok(fd) => return Ok((fd, false)),
            Err(Errno::NOENT) => new_dst = true,
            Err(_) if opts.force => {
                match dst.unlink() {
                    Ok(()) => out.removed(dst.path()),
                    Err(Errno::NOENT) => {}
                    Err(e) => return Err(Error::new(Op::Remove, dst.path(), e)),
                }
                new_dst = true;
            }
            Err(e) => return Err(Error::new(Op::CreateRegular, dst.path(), e)),
        }
    }
    debug_assert!(new_dst);
    create_new(dst, plan, opts.open_dangling_symlink).map(|fd| (fd, true))
}

/// Creates `dst` with O_EXCL; a dangling symlink there is refused (GNU's "not writing
/// through dangling symlink") unless POSIXLY_CORRECT asks to write through it.
fn create_new(dst: &At, plan: &RegularPlan, through_dangling: bool) -> Result<OwnedFd, Error> {
    let mode = Mode::from_raw_mode((plan.mode & !plan.omitted) | plan.extra);
    let create = write_access(plan) | OFlags::CREATE;
    let path = dst.path();
    match dst.open(create | OFlags::EXCL, mode) {
        Ok(fd) => Ok(fd),
        Err(Errno::EXIST) if dst.readlink().is_ok() => {
            if through_dangling {
                dst.open(create, mode).map_err(|e| Error::new(Op::CreateRegular, path, e))
            } else {
                Err(Error::refusal(Op::DanglingSymlink, path))
            }
        }
        Err(Errno::ISDIR) if path.as_os_str().to_string_lossy().ends_with('/') => {
            Err(Error::new(Op::CreateRegular, path, Errno::NOTDIR))
        }
        Err(e) => Err(Error::new(Op::CreateRegular, path, e)),
    }
}

/// The data (unless `--attributes-only`), then timestamps, owner, xattrs and mode on the fd.
fn fill(
    ends: &Ends,
    (src, dst): (&Path, &Path),
    worker: &mut Scratch,
    attrs: &mut Attrs,
) -> Result<Option<Copied>, FileError> {
    let Ends { src_fd, dst_fd, open_st, src_st, plan, created, earlier, .. } = ends;
    let (created, p) = (*created, attrs.opts.preserve);
    // A file rcp just created is a regular file on the directory's device, owned by rcp:
    // no need to ask, unless its owner matters (-p) or its mode is being adjusted.
    let known =
        (plan.dst_dir.map(|d| d.dev)).filter(|_| created && !p.ownership && plan.extra == 0);
    let dst_st = match known {
        Some(dev) => {
            let mut st = *src_st;
            st.st_dev = dev;
            st.st_mode = 0o100000;
            st
        }
        None => fstat(dst_fd).map_err(|e| Error::new(Op::Fstat, dst, e))?,
    };
    let record = if attrs.opts.data {
        let (source, dest) = (source(src_fd, open_st), dest(dst_fd, &dst_st));
        let from = match plan.resume_from {
            0 => 0,
            n => kept_prefix(&source, dst_fd, n).map_err(|e| Error::new(Op::Read, dst, e))?,
        };
        // `--copy-dest`: the data from the earlier copy; `--verify` still reads the source.
        let data = earlier.as_ref().map(|from| crate::cp::file::source(&from.fd, &from.st));
        let mut copied = engine::copy_from(
            data.as_ref().unwrap_or(&source),
            &dest,
            from,
            attrs.opts.policy,
            worker,
        )
        .map_err(|failure| failure_error(src, dst, failure))?;
        if attrs.opts.verify {
            verify(&source, dst_fd, (src, dst), &mut copied)?;
        }
        Some(copied)
    } else {
        None
    };
    let node = Node::Fd(dst_fd.as_fd(), dst);
    if created && plan.extra != 0 && dst_st.st_mode & plan.extra == 0 {
        // The umask took u+w away again; without it the xattrs will fail, as in GNU.
        let _ = attr::chmod(node, dst_st.st_mode | plan.extra);
    }
    let made = Made::File {
        created,
        bare: created && plan.dst_dir.is_some_and(|d| d.no_default_acl),
        new_dst: plan.new_dst,
        mode: plan.mode,
        omitted: plan.omitted,
        extra: plan.extra,
    };
    let src_node = Node::Fd(src_fd.as_fd(), src);
    let target = Target { dst: node, src: Some(src_node), src_st, dst_st: Some(&dst_st), made };
    match attrs.apply(&target) {
        Ok(()) => Ok(record),
        Err(Stopped(error)) => {
            let error = error.unwrap_or_else(|| Error::silent(dst));
            Err(FileError::after(error, record))
        }
    }
}

/// What the engine needs of the source: its fd and what its fstat at open said.
/// The access a destination is opened with: `--verify` reads it back.
fn write_access(plan: &RegularPlan) -> OFlags {
    if plan.read_back { OFlags::RDWR } else { OFlags::WRONLY }
}

/// `--verify`: reads the copy back and compares it with the source, byte for byte (both
/// are read, so a comparison costs no more than a hash and cannot collide); of a sparse
/// file, only the ranges where either has data.
fn verify(
    source: &Source,
    dst_fd: &OwnedFd,
    (src, dst): (&Path, &Path),
    copied: &mut Copied,
) -> Result<(), FileError> {
    let fail = |error| FileError::after(error, Some(copied.clone()));
    // A sparse source's holes were kept: only where either file has data is read.
    let compare = if copied.holes { engine::same_data } else { engine::same_bytes };
    match compare(source.fd, dst_fd.as_fd(), copied.bytes) {
        Ok(true) => {
            copied.verified = true;
            Ok(())
        }
        Ok(false) => Err(fail(Error::refusal(Op::Verify(src.to_path_buf()), dst))),
        Err(e) => Err(fail(Error::new(Op::Read, dst, e))),
    }
}

/// `--resume`: how much of the destination to keep — its first `len` bytes if they are the
/// source's, else nothing (it is emptied and copied afresh).
fn kept_prefix(src: &Source, dst: &OwnedFd, len: u64) -> Result<u64, Errno> {
    if engine::same_bytes(src.fd, dst.as_fd(), len)? {
        return Ok(len);
    }
    rustix::fs::ftruncate(dst, 0)?;
    Ok(0)
}

fn source<'f>(fd: &'f OwnedFd, st: &Stat) -> Source<'f> {
    Source {
        fd: fd.as_fd(),
        dev: st.st_dev,
        size: st.st_size as u64,
        blocks: st.st_blocks as u64,
        regular: FileType::from_raw_mode(st.st_mode) == FileType::RegularFile,
    }
}

/// What the engine needs of the destination.
fn dest<'f>(fd: &'f OwnedFd, st: &Stat) -> Dest<'f> {
    Dest {
        fd: fd.as_fd(),
        dev: st.st_dev,
        regular: FileType::from_raw_mode(st.st_mode) == FileType::RegularFile,
    }
}

/// Closes `fd` and reports the error (NFS reports write-back failures here).
fn close(fd: OwnedFd) -> Result<(), Errno> {
    // SAFETY: the fd is owned and closed exactly once, here.
    unsafe { rustix::io::try_close(fd.into_raw_fd()) }
}

pub(super) fn failure_error(src: &Path, dst: &Path, failure: Failure) -> FileError {
    let (op, path) = match failure.stage {
        Stage::Clone => (Op::CloneFrom(src.to_path_buf()), dst),
        Stage::Copy => (Op::CopyTo(dst.to_path_buf()), src),
        Stage::Read => (Op::Read, src),
        Stage::Seek => (Op::Seek, src),
        Stage::Write => (Op::Write, dst),
        Stage::Extend => (Op::Extend, dst),
        Stage::Shrank => (Op::Shrank, src),
    };
    let error = match op {
        Op::Shrank => Error::refusal(op, path),
        op => Error::new(op, path, failure.errno),
    };
    // The destination was empty (created, or truncated when opened): its data is short.
    FileError { error, record: Some(Box::new(failure.record)), incomplete: true }
}

/// Reports a regular file as finished through `out`: what the attribute rules said of it
/// (`said`, and whether that fails the run), then its error, `--debug` lines and record —
/// the one place a file's entry is made, for the walk's files, a worker's and a dry run's.
pub(crate) fn report_file(
    out: &Printer,
    (src, dst): (&At, &At),
    (result, earlier): (&Result<Option<Copied>, FileError>, Option<&Earlier>),
    (said, failed): (&[Error], bool),
) {
    let record = result.as_ref().map_or_else(|e| e.record.as_deref(), Option::as_ref);
    let happened = happened(result, said);
    let entry = Entry {
        src: src.path(),
        dst: dst.path(),
        kind: Some(Kind::File),
        record,
        happened,
        earlier,
    };
    out.finished_after(said, failed, entry);
}

/// Fills one file with `fill` (given the attribute rules `attrs`) and reports it through
/// `out` with what those rules had to say. Returns whether it was copied.
pub(crate) fn fill_reported(
    out: &Printer,
    mut attrs: Attrs,
    (src, dst, earlier): (&At, &At, Option<&Earlier>),
    fill: impl FnOnce(&At, &At, &mut Attrs) -> Result<Option<Copied>, FileError>,
) -> bool {
    let result = fill(src, dst, &mut attrs);
    report_file(out, (src, dst), (&result, earlier), (&attrs.messages, attrs.failed));
    result.is_ok()
}

/// What happened to a file, for its record: failed with its error (printed with the record),
/// or, where the attribute rules printed why already, with the last of their `messages`.
fn happened<'r>(result: &'r Result<Option<Copied>, FileError>, messages: &[Error]) -> Happened<'r> {
    match result {
        Ok(_) => Happened::Copied,
        Err(FileError { error, .. }) if error.op == Op::Reported => {
            Happened::Said(messages.last().cloned().unwrap_or_else(|| error.clone()))
        }
        Err(FileError { error, incomplete: true, .. }) => Happened::Damaged(error),
        Err(FileError { error, .. }) => Happened::Failed(error),
    }
}

/// A temporary removed from a destination directory: the run that made it is over.
pub(crate) struct Stale {
    pub(crate) path: PathBuf,
    pub(crate) pid: u32,
}

/// `--atomic`: removes the temporaries an earlier rcp left in `dir` when it was killed:
/// regular files of this user named by a run in this place (host, boot, PID namespace)
/// whose process is gone, or whose process id now belongs to a later process. Never a live
/// run's, nor one from another host or container (nothing here can tell whether it is
/// over), nor another user's, nor anything that is not a regular file.
pub(crate) fn sweep_stale_temps(dir: &DirFd, dir_path: &Path) -> Vec<Stale> {
    let Some(here) = crate::sys::process::Run::this() else { return Vec::new() };
    let Ok(entries) = crate::sys::at::read_entries(dir) else { return Vec::new() };
    let uid = rustix::process::geteuid().as_raw();
    let mut swept = Vec::new();
    for (name, kind) in entries.iter() {
        let Some(run) = crate::sys::create::temp_owner(name.as_bytes()) else { continue };
        if kind != FileType::RegularFile || run == here || !run.is_over(&here) {
            continue;
        }
        let at = At::child(dir, dir_path, name);
        let ours = at.lstat().is_ok_and(|st| {
            FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_uid == uid
        });
        if ours && at.unlink().is_ok() {
            swept.push(Stale { path: at.path().to_path_buf(), pid: run.pid });
        }
    }
    swept
}

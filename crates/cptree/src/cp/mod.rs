//! GNU's decisions for one entry (its `copy_internal`), as named phases: look at the source,
//! look at the destination, refuse or skip, make room (backup or unlink), remember links,
//! create by kind. What needs the walk or the scheduler comes back as `Next`: a directory to
//! fill, a regular file to fill (here or on a worker); the caller finishes it with
//! `fill_here`/`hand_over` or `set_attributes`.

pub(crate) mod backup;
mod dry_run;
pub(crate) mod file;
pub(crate) mod links;
pub(crate) mod parents;
pub(crate) mod preserve;
pub(crate) mod prompt;
mod same_file;

use std::ops::ControlFlow::{self, Break, Continue};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Stat, statat};
use rustix::io::Errno;

use crate::error::{Error, Op};
use crate::options::{Backup, Deref, Interactive, Options};
use crate::plan::Nonexistent;
use crate::report::{Entry, Happened, Kind, Printer, Skip};
use crate::sys::at::{At, DirFd};
use crate::sys::attr::{self, Node};
use crate::sys::create::{self, Made as Linked};
use crate::sys::path::{dir_of, last_component, same_name};
use crate::sys::{Ino, ino, is};
use copychain::Scratch;
use file::{DstDir, Ends, FileError, RegularPlan};
use links::Memory;
use preserve::{Attrs, Env, Made, Stopped, Target};
use same_file::SameFile;

const S_IRWXU: u32 = 0o700;

/// GNU's per-entry decisions for a whole run: the options, the printer, remembered inodes.
/// Whether anything failed is the printer's to count.
pub(crate) struct Cp<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) out: Printer<'a>,
    pub(crate) env: Env,
    memory: Memory,
    /// `--dry-run`: what a dry run remembers instead of what it would have made.
    pub(crate) dry: dry_run::Planned,
    /// The operand being copied (source, destination), for messages about all of it.
    top: (PathBuf, PathBuf),
}

/// Where in the walk an entry is.
pub(crate) struct Place<'p> {
    pub(crate) parent: Option<&'p Stat>,
    /// The directories the entry is in, outermost first (a cycle under `-L`).
    pub(crate) ancestors: &'p [Ino],
    pub(crate) deref: Deref,
    pub(crate) command_line: bool,
    /// The destination directory, when the walk has it open.
    pub(crate) dst_dir: Option<DstDir>,
}

/// One entry to copy.
pub(crate) struct Visit<'v> {
    pub(crate) src: &'v At,
    pub(crate) dst: &'v At,
    pub(crate) nonexistent: Nonexistent,
    pub(crate) place: &'v Place<'v>,
    /// The source, if the walk already opened it (its entry said "regular file").
    pub(crate) opened: Option<Opened>,
    /// A directory was already made for this operand (GNU's
    /// `first_dir_created_per_command_line_arg`): its inode catches a copy into itself.
    pub(crate) first_dir: bool,
}

/// A source a directory walk has already opened: the fd and its fstat, so the file is
/// neither stat'ed by path nor opened twice.
pub(crate) struct Opened {
    pub(crate) fd: OwnedFd,
    pub(crate) st: Stat,
}

/// How an entry ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Failed,
    /// The copy ran into itself: reported, and the walk of this operand stops.
    IntoItself,
}

impl Status {
    fn of(ok: bool) -> Status {
        if ok { Status::Ok } else { Status::Failed }
    }
}

/// What is left of an entry once GNU's decisions are made.
pub(crate) enum Next {
    Done(Status),
    /// A regular file, both ends open: fill it (`fill_here`) or hand it over (`hand_over`).
    File(Box<FileNext>),
    /// A directory made or opened: copy its contents, then `set_attributes(finish)`.
    Dir(Box<DirNext>),
}

/// A regular file opened for copying.
pub(crate) struct FileNext {
    pub(crate) ends: Ends,
    /// Nothing after it in order depends on its outcome (a backup to put back, a hard link
    /// to it, an answer to `-i`): it may be filled later, on a worker.
    pub(crate) independent: bool,
    undo: Undo,
    command_line: bool,
}

/// A directory ready for its contents.
pub(crate) struct DirNext {
    /// Its fd and status when rcp made or opened it; `None` for a directory a dry run
    /// would make (below it, nothing exists to look at).
    pub(crate) opened: Option<(DirFd, Stat)>,
    /// What to copy into it (`None`: `-x` and the source is on another filesystem).
    pub(crate) contents: Option<Contents>,
    /// `Visit::first_dir` after this directory.
    pub(crate) first_dir: bool,
    /// Its attributes, to set once its contents are in.
    pub(crate) finish: Finish,
}

/// What copying a directory's entries needs.
pub(crate) struct Contents {
    pub(crate) new_dst: bool,
    pub(crate) src_st: Stat,
    /// Whether the source directory may be reached through a symlink (-L, -H operands).
    pub(crate) follow: bool,
    pub(crate) deref: Deref,
    pub(crate) dst_dir: Option<DstDir>,
}

/// An entry's attributes, to set once its contents are in (now, or when the files handed
/// to workers before it are done).
pub(crate) struct Finish {
    src: At,
    dst: At,
    /// A directory's own fd (attributes land on the directory the walk filled, whatever
    /// its name leads to by then).
    dst_fd: Option<DirFd>,
    src_st: Stat,
    dst_st: Option<Stat>,
    new_dst: bool,
    /// Made in a directory without a default ACL: it has no ACLs.
    bare: bool,
    symlink: bool,
    omitted: u32,
    restore_mode: Option<u32>,
    /// A directory the walk could not open again: its attributes are not set.
    lost: bool,
}

impl Finish {
    pub(crate) fn src(&self) -> &At {
        &self.src
    }

    pub(crate) fn dst(&self) -> &At {
        &self.dst
    }

    /// The directory's own fd (none for one a dry run would make, or while the walk has
    /// it closed).
    pub(crate) fn dst_fd(&self) -> Option<&DirFd> {
        self.dst_fd.as_ref()
    }

    /// The walk closed the directory's fd (`None`) or opened it again.
    pub(crate) fn set_dst_fd(&mut self, fd: Option<DirFd>) {
        self.dst_fd = fd;
    }

    /// Lets go of the entry's names (the walk keeps the paths of the directories it is in
    /// in one buffer, and their directories' fds may close): `set_names` gives them back
    /// before the attributes are set.
    pub(crate) fn forget_names(&mut self) {
        (self.src, self.dst) = (At::default(), At::default());
    }

    pub(crate) fn set_names(&mut self, src: At, dst: At) {
        (self.src, self.dst) = (src, dst);
    }

    /// The directory could not be opened again: its record fails and its attributes are
    /// left alone (what its name leads to now is not the directory that was filled).
    pub(crate) fn lose(&mut self) {
        self.lost = true;
    }

    /// The attributes of the entry `w` to set, less the `omitted` bits: by name, not a
    /// symlink, no mode to restore (callers say otherwise).
    fn of(w: &Work, omitted: u32) -> Finish {
        Finish {
            src: w.src.clone(),
            dst: w.dst.clone(),
            dst_fd: None,
            src_st: w.st,
            dst_st: w.dst_st,
            new_dst: w.new_dst,
            bare: w.new_dst && w.place.dst_dir.is_some_and(|d| d.no_default_acl),
            symlink: false,
            omitted,
            restore_mode: None,
            lost: false,
        }
    }
}

/// A directory whose attributes and record wait for the files handed over before it.
pub(crate) struct HeldDir {
    pub(crate) finish: Finish,
    /// Its place in the output.
    pub(crate) place: u64,
    /// Its entries could not be read: the error printed.
    pub(crate) unread: Option<Error>,
}

/// GNU's failure path for an entry: the inode remembered for it, and the backup made of
/// its destination (put back).
struct Undo {
    backup: Option<At>,
    remembered: Option<Ino>,
}

/// An entry's names and kind, for its record.
#[derive(Clone, Copy)]
struct Names<'n> {
    src: &'n Path,
    dst: &'n Path,
    kind: Option<Kind>,
}

/// Why making an entry failed: an error to print, or a message printed already.
enum Why {
    Error(Error),
    Said(Error),
}

/// The kind of entry a source of this mode makes.
fn kind_of(mode: u32) -> Kind {
    match FileType::from_raw_mode(mode) {
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        FileType::Fifo => Kind::Fifo,
        FileType::CharacterDevice => Kind::CharDevice,
        FileType::BlockDevice => Kind::BlockDevice,
        FileType::Socket => Kind::Socket,
        _ => Kind::File,
    }
}

/// The record of an entry.
fn entry<'e>(names: Names<'e>, happened: Happened<'e>) -> Entry<'e> {
    Entry { src: names.src, dst: names.dst, kind: names.kind, record: None, happened }
}

/// An entry as `copy_internal` works through it.
struct Work<'w> {
    src: &'w At,
    dst: &'w At,
    place: &'w Place<'w>,
    st: Stat,
    dir: bool,
    /// Symlinks named by this entry are followed (`-L`, or `-H` on an operand).
    dereference: bool,
    new_dst: bool,
    dst_st: Option<Stat>,
    /// `dst_st` is an lstat.
    dst_lstat: bool,
    backup: Option<At>,
}

impl Work<'_> {
    fn names(&self) -> Names<'_> {
        Names { src: self.src.path(), dst: self.dst.path(), kind: Some(kind_of(self.st.st_mode)) }
    }
}

impl<'a> Cp<'a> {
    pub(crate) fn new(opts: &'a Options, out: Printer<'a>, env: Env, track_operands: bool) -> Self {
        Cp {
            opts,
            out,
            env,
            memory: Memory::new(track_operands),
            dry: dry_run::Planned::default(),
            top: Default::default(),
        }
    }

    /// The operand `src` → `dst` starts (messages about a whole operand name it).
    pub(crate) fn begin_operand(&mut self, src: &Path, dst: &Path) {
        self.top = (src.to_path_buf(), dst.to_path_buf());
    }

    /// GNU's `copy_internal` for one entry, up to what needs the walk or a worker.
    pub(crate) fn entry(&mut self, v: Visit) -> Next {
        match self.decide(v) {
            Break(next) | Continue(next) => next,
        }
    }

    fn decide(&mut self, v: Visit) -> ControlFlow<Next, Next> {
        let (mut w, opened) = self.look_at_source(v.src, v.dst, v.place, v.opened)?;
        self.look_at_destination(&mut w, v.nonexistent)?;
        if let Some(d) = w.dst_st {
            self.refuse_or_skip(&w, &d)?;
            self.make_room(&mut w, &d)?;
        }
        self.refuse_just_created_symlink(&w)?;
        if !w.dir {
            self.out.starting(w.src.path(), w.dst.path(), w.backup.as_ref().map(At::path));
        }
        let remembered = self.remember_links(&mut w)?;
        let undo = Undo { backup: w.backup.take(), remembered };
        Continue(self.create(w, undo, opened, v.first_dir))
    }

    /// Stats the source (unless the walk opened it), refuses a directory without `-r`, and
    /// warns about a command-line source given twice.
    fn look_at_source<'w>(
        &mut self,
        src: &'w At,
        dst: &'w At,
        place: &'w Place<'w>,
        opened: Option<Opened>,
    ) -> ControlFlow<Next, (Work<'w>, Option<OwnedFd>)> {
        let opts = self.opts;
        let unknown = Names { src: src.path(), dst: dst.path(), kind: None };
        let (st, fd) = match opened {
            Some(o) => (o.st, Some(o.fd)),
            None => match src.stat_as(place.deref != Deref::Never) {
                Ok(st) => (st, None),
                Err(e) => return Break(self.refuse(unknown, Error::new(Op::Stat, src.path(), e))),
            },
        };
        let names = Names { kind: Some(kind_of(st.st_mode)), ..unknown };
        let dir = is(st.st_mode, FileType::Directory);
        if dir && !opts.recursive {
            return Break(self.refuse(names, Error::refusal(Op::OmitDirectory, src.path())));
        }
        // GNU's src_info: recorded for every operand, a warning for a repeated non-directory.
        if place.command_line
            && self.memory.source_seen(src.path(), &st)
            && !dir
            && opts.backup == Backup::None
        {
            let quoted = crate::quote::quote(src.path());
            self.out.message(&format!("warning: source file {quoted} specified more than once"));
            return Break(self.skip(names, Skip::Repeated));
        }
        let dereference = place.deref == Deref::Always
            || (place.deref == Deref::CommandLine && place.command_line);
        let w = Work {
            src,
            dst,
            place,
            st,
            dir,
            dereference,
            new_dst: false,
            dst_st: None,
            dst_lstat: false,
            backup: None,
        };
        Continue((w, fd))
    }

    /// Stats the destination unless it is known not to exist: lstat where a symlink there
    /// must not be followed (GNU's `use_lstat`).
    fn look_at_destination(&mut self, w: &mut Work, nonexistent: Nonexistent) -> ControlFlow<Next> {
        let opts = self.opts;
        w.new_dst = nonexistent == Nonexistent::Yes;
        if w.new_dst {
            return Continue(());
        }
        let mode = w.st.st_mode;
        let (src_reg, src_lnk) = (is(mode, FileType::RegularFile), is(mode, FileType::Symlink));
        let use_lstat = (!src_reg && (!opts.copy_as_regular || w.dir || src_lnk))
            || opts.symbolic_link
            || opts.hard_link
            || opts.backup != Backup::None
            || opts.remove_destination;
        if !use_lstat && nonexistent == Nonexistent::MaybeDangling {
            w.new_dst = true;
        } else {
            match w.dst.stat_as(!use_lstat) {
                Ok(st) => {
                    w.dst_lstat = use_lstat;
                    w.dst_st = Some(st);
                }
                Err(Errno::LOOP) if opts.force => {}
                Err(Errno::NOENT) => w.new_dst = true,
                Err(e) => {
                    return Break(self.refuse(w.names(), Error::new(Op::Stat, w.dst.path(), e)));
                }
            }
        }
        // --keep-directory-symlink: a symlink to a directory stands for that directory.
        if let Some(st) = w.dst_st
            && w.dir
            && opts.keep_directory_symlink
            && is(st.st_mode, FileType::Symlink)
            && let Ok(target) = w.dst.stat()
            && is(target.st_mode, FileType::Directory)
        {
            w.dst_st = Some(target);
        }
        Continue(())
    }

    /// The destination `d` exists: the same file? `-u`, `-n`, `-i`; a directory over a
    /// non-directory or the other way round; a destination this run just made.
    fn refuse_or_skip(&mut self, w: &Work, d: &Stat) -> ControlFlow<Next> {
        let opts = self.opts;
        let (src, dst) = (w.src.path(), w.dst.path());
        let skip_all = matches!(opts.interactive, Interactive::Skip | Interactive::Fail);
        let same = if skip_all {
            SameFile::Proceed
        } else {
            same_file::same_file(opts, (w.src, &w.st), (w.dst, d))
        };
        let names = w.names();
        if same == SameFile::Refuse {
            let error = Error::refusal(Op::SameFile(dst.to_path_buf()), src);
            return Break(self.refuse(names, error));
        }
        if opts.update_older && !w.dir && !dst_older(d, &w.st) {
            return Break(self.link_to_earlier_if_any(w, Skip::NotNewer));
        }
        if opts.resume && (unchanged(&w.st, d) || same_symlink(w, d)) {
            return Break(self.link_to_earlier_if_any(w, Skip::Unchanged));
        }
        if !w.dir {
            match opts.interactive {
                Interactive::Skip => return Break(self.skip(names, Skip::Exists)),
                Interactive::Fail => {
                    return Break(self.refuse(names, Error::refusal(Op::NotReplacing, dst)));
                }
                Interactive::Ask => {
                    let replacing = opts.force || opts.remove_destination;
                    if !prompt::overwrite_ok(self.out.program(), w.dst, d, replacing) {
                        return Break(self.skip(names, Skip::Declined));
                    }
                }
                Interactive::Unset => {}
            }
        }
        if same == SameFile::AlreadyDone {
            return Break(self.skip(names, Skip::SameFile));
        }
        let dst_dir = is(d.st_mode, FileType::Directory);
        let refusal = match (w.dir, dst_dir) {
            (true, false) => Some(Op::OverwriteNonDirectory(src.to_path_buf())),
            (false, false)
                if w.place.command_line
                    && opts.backup != Backup::Numbered
                    && self.memory.dest_seen(dst, d) =>
            {
                Some(Op::JustCreated(src.to_path_buf()))
            }
            (false, true) => Some(Op::OverwriteDirectory),
            _ => None,
        };
        match refusal {
            Some(op) => Break(self.refuse(names, Error::refusal(op, dst))),
            None => Continue(()),
        }
    }

    /// Makes room for the copy over the existing `d`: a backup, or removing it where a new
    /// entry must be made (`--remove-destination`, hard-link groups under `-d`, specials).
    fn make_room(&mut self, w: &mut Work, d: &Stat) -> ControlFlow<Next> {
        let opts = self.opts;
        let (src, dst) = (w.src.path(), w.dst.path());
        let dst_dir = is(d.st_mode, FileType::Directory);
        if opts.backup != Backup::None && !dot_or_dotdot(last_component(src)) && !dst_dir {
            if opts.backup != Backup::Numbered
                && backup::source_is_backup_of(w.src, &w.st, w.dst, &opts.suffix)
            {
                let op = Op::BackupDestroysSource(src.to_path_buf());
                return Break(self.refuse(w.names(), Error::refusal(op, dst)));
            }
            match self.back_up(w.dst) {
                Ok(name) => w.backup = Some(name),
                Err(Errno::NOENT) => {}
                Err(e) => return Break(self.refuse(w.names(), Error::new(Op::Backup, dst, e))),
            }
            w.new_dst = true;
        } else if !dst_dir
            && (opts.remove_destination
                || (opts.data
                    && ((opts.preserve.links && d.st_nlink > 1)
                        || (w.place.deref == Deref::Never
                            && !is(w.st.st_mode, FileType::RegularFile)))))
        {
            match self.unlink(w.dst) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Break(self.refuse(w.names(), Error::new(Op::Remove, dst, e))),
            }
            w.new_dst = true;
            self.out.removed(dst);
        }
        Continue(())
    }

    /// GNU: never copy through a symlink this run made from another operand.
    fn refuse_just_created_symlink(&mut self, w: &Work) -> ControlFlow<Next> {
        let opts = self.opts;
        if !(w.place.command_line && self.memory.tracks_operands() && opts.backup == Backup::None) {
            return Continue(());
        }
        let dst_lstat = if w.dst_lstat { w.dst_st } else { w.dst.lstat().ok() };
        if let Some(l) = dst_lstat
            && is(l.st_mode, FileType::Symlink)
            && self.memory.dest_seen(w.dst.path(), &l)
        {
            let op = Op::ThroughJustCreatedSymlink(w.dst.path().to_path_buf());
            return Break(self.refuse(w.names(), Error::refusal(op, w.src.path())));
        }
        Continue(())
    }

    /// Hard links within the copy, `cp -r d d`, and a tree copied into itself: looks the
    /// source's inode up among those copied (remembering it where GNU does). Returns the
    /// inode remembered for this entry, to forget if it fails.
    fn remember_links(&mut self, w: &mut Work) -> ControlFlow<Next, Option<Ino>> {
        let opts = self.opts;
        let (place, id) = (w.place, ino(&w.st));
        let earlier = if opts.recursive && w.dir {
            if place.command_line {
                self.memory.remember_copied(w.dst, id)
            } else {
                self.memory.lookup_copied(id)
            }
        } else if opts.preserve.links
            && !opts.hard_link
            && (w.st.st_nlink > 1
                || (place.command_line && place.deref == Deref::CommandLine)
                || place.deref == Deref::Always)
        {
            self.memory.remember_copied(w.dst, id)
        } else {
            None
        };
        let Some(earlier) = earlier else { return Continue(Some(id)) };
        if !w.dir {
            return Break(self.link_to_earlier(w, &earlier));
        }
        let (src, dst) = (w.src.path(), w.dst.path());
        if same_name(src, &earlier) {
            let (top_src, top_dst) = self.top.clone();
            self.fail_entry(w.names(), &Error::refusal(Op::IntoItself(top_dst), &top_src));
            self.undo(w.dst, Undo { backup: w.backup.take(), remembered: None });
            return Break(Next::Done(Status::IntoItself));
        }
        if same_name(dst, &earlier) {
            let quoted = crate::quote::quote(&self.top.0);
            self.out
                .message(&format!("warning: source directory {quoted} specified more than once"));
            return Break(self.skip(w.names(), Skip::Repeated));
        }
        if w.dereference {
            // The same directory met again through symlinks under -L: copy it again.
            return Continue(None);
        }
        self.fail_entry(w.names(), &Error::refusal(Op::LinkToDirectory(earlier), dst));
        Break(self.undo(w.dst, Undo { backup: w.backup.take(), remembered: None }))
    }

    /// A source hard-linked to one copied earlier becomes a link to that copy.
    fn link_to_earlier(&mut self, w: &mut Work, earlier: &Path) -> Next {
        let dst = w.dst.path();
        let earlier_at = self.memory.link_source(earlier, ino(&w.st));
        match self.link(&earlier_at, w, true) {
            Ok(made) => {
                self.note_link(dst, made);
                self.out.finished(entry(
                    Names { kind: Some(Kind::HardLink), ..w.names() },
                    Happened::Copied,
                ));
                Next::Done(Status::Ok)
            }
            Err(e) => {
                let error = Error::new(Op::HardLink(earlier.to_path_buf()), dst, e);
                self.fail_entry(w.names(), &error);
                self.undo(w.dst, Undo { backup: w.backup.take(), remembered: None })
            }
        }
    }

    /// Makes the destination entry by the source's kind.
    fn create(&mut self, w: Work, undo: Undo, opened: Option<OwnedFd>, first_dir: bool) -> Next {
        let opts = self.opts;
        let (src, dst) = (w.src.path(), w.dst.path());
        let mode = w.st.st_mode;
        let omitted_mask = if opts.preserve.ownership {
            0o077
        } else if w.dir {
            0o022
        } else {
            0
        };
        let omitted = mode & 0o7777 & omitted_mask;
        if w.dir {
            return self.make_directory(w, undo, omitted, first_dir);
        }
        let regular = is(mode, FileType::RegularFile)
            || (opts.copy_as_regular && !is(mode, FileType::Symlink));
        let made = if opts.symbolic_link {
            self.make_symlink_to_source(&w)
        } else if opts.hard_link {
            let replace = opts.force || opts.interactive == Interactive::Ask;
            match self.link(w.src, &w, replace) {
                Ok(_) => Ok(Kind::HardLink),
                Err(e) => Err(Why::Error(Error::new(Op::HardLink(src.to_path_buf()), dst, e))),
            }
        } else if regular {
            return self.open_regular(w, undo, opened);
        } else if is(mode, FileType::Symlink) {
            self.copy_symlink(&w)
        } else {
            self.make_special(&w, omitted)
        };
        let kind = match made {
            Ok(kind) => kind,
            Err(why) => {
                self.failed_why(w.names(), why);
                return self.undo(w.dst, undo);
            }
        };
        self.record_dest(w.dst, w.place.command_line);
        let names = Names { kind: Some(kind), ..w.names() };
        if opts.hard_link {
            self.out.finished(entry(names, Happened::Copied));
            return Next::Done(Status::Ok);
        }
        let symlink = matches!(kind, Kind::Symlink);
        let finish = Finish { symlink, ..Finish::of(&w, omitted) };
        let happened = match self.set_attributes(&finish) {
            Ok(()) => Happened::Copied,
            Err(said) => Happened::Said(said),
        };
        let ok = matches!(happened, Happened::Copied);
        self.out.finished(entry(names, happened));
        Next::Done(Status::of(ok))
    }

    /// `-s`: a symlink to the source (relative ones only into the current directory).
    fn make_symlink_to_source(&mut self, w: &Work) -> Result<Kind, Why> {
        let (src, dst) = (w.src.path(), w.dst.path());
        if !src.as_os_str().as_bytes().starts_with(b"/") && !in_current_dir(dst) {
            return Err(Why::Error(Error::refusal(Op::RelativeSymlink, dst)));
        }
        match self.symlink(src, w, self.opts.force) {
            Ok(_) => Ok(Kind::Symlink),
            Err(e) => Err(Why::Error(Error::new(Op::SymlinkTo(src.to_path_buf()), dst, e))),
        }
    }

    /// A fifo, device or socket: mknod with the source's mode (less bits withheld).
    fn make_special(&mut self, w: &Work, omitted: u32) -> Result<Kind, Why> {
        let mode = w.st.st_mode;
        let ft = FileType::from_raw_mode(mode);
        let kind = match ft {
            FileType::Fifo => Kind::Fifo,
            FileType::CharacterDevice => Kind::CharDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            FileType::Socket => Kind::Socket,
            _ => return Err(Why::Error(Error::refusal(Op::UnknownType, w.src.path()))),
        };
        let rdev = if ft == FileType::Fifo { 0 } else { w.st.st_rdev };
        if self.opts.dry_run {
            return Ok(kind);
        }
        match w.dst.mknod(ft, mode & 0o7777 & !omitted, rdev) {
            Ok(()) => Ok(kind),
            Err(e) => {
                let op = if ft == FileType::Fifo { Op::CreateFifo } else { Op::CreateSpecial };
                Err(Why::Error(Error::new(op, w.dst.path(), e)))
            }
        }
    }

    /// A directory: made (u+rwx while it is filled) or, if one is there, opened; refused if
    /// it is its own ancestor (a symlink cycle under `-L`).
    fn make_directory(&mut self, mut w: Work, undo: Undo, omitted: u32, first_dir: bool) -> Next {
        let id = ino(&w.st);
        if w.place.ancestors.contains(&id) {
            self.fail_entry(w.names(), &Error::refusal(Op::Cyclic, w.src.path()));
            return self.undo(w.dst, undo);
        }
        let existing = w.dst_st.filter(|d| !w.new_dst && is(d.st_mode, FileType::Directory));
        if existing.is_none() && self.opts.dry_run {
            return self.plan_directory(w, undo, omitted);
        }
        let (opened, first_dir, omitted) = match existing {
            None => {
                let made = self.make_dir(w.src.path(), w.dst, (w.st.st_mode & 0o7777) & !omitted);
                let first = first_dir || made.is_ok();
                if !first_dir && let Ok((_, st)) = &made {
                    self.memory.remember_copied(w.dst, ino(st));
                }
                (made, first, omitted)
            }
            Some(d) => (self.open_existing_dir(w.dst, &d), first_dir, 0),
        };
        let (fd, made) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                self.fail_entry(w.names(), &error);
                return self.undo(w.dst, undo);
            }
        };
        let restore_mode =
            (existing.is_none() && made.st_mode & S_IRWXU != S_IRWXU).then_some(made.st_mode);
        if existing.is_none() {
            w.dst_st = Some(made);
        }
        let contents = self.contents(&w, self.dst_dir(&fd, &made));
        let finish = Finish { dst_fd: Some(fd.clone()), restore_mode, ..Finish::of(&w, omitted) };
        Next::Dir(Box::new(DirNext { opened: Some((fd, made)), contents, first_dir, finish }))
    }

    /// The destination directory `fd` (of status `st`) for the files made in it.
    fn dst_dir(&self, fd: &DirFd, st: &Stat) -> DstDir {
        let no_default_acl = self.opts.preserve.mode && !attr::has_default_acl(fd.as_fd());
        DstDir { dev: st.st_dev, no_default_acl }
    }

    /// What copying the directory `w`'s entries needs, into the directory `dst_dir`;
    /// `None` under `-x` when the source is on another filesystem than its parent.
    fn contents(&self, w: &Work, dst_dir: DstDir) -> Option<Contents> {
        let place = w.place;
        let crosses = place.parent.is_some_and(|p| p.st_dev != w.st.st_dev);
        (!(self.opts.one_file_system && crosses)).then(|| Contents {
            new_dst: w.new_dst,
            src_st: w.st,
            follow: place.deref != Deref::Never,
            deref: if place.deref == Deref::CommandLine { Deref::Never } else { place.deref },
            dst_dir: Some(dst_dir),
        })
    }

    /// A directory a dry run would make: said as a real run says it, and walked with
    /// nothing below it. A real run catches a copy into itself when its walk meets the
    /// directory it made inside the source; with nothing made, an operand whose
    /// destination would be inside its source directory is refused here.
    fn plan_directory(&mut self, mut w: Work, undo: Undo, omitted: u32) -> Next {
        let (src, dst) = (w.src.path(), w.dst.path());
        if w.place.command_line && crate::sys::fs::is_within(dir_of(dst), ino(&w.st)) {
            let (top_src, top_dst) = self.top.clone();
            self.fail_entry(w.names(), &Error::refusal(Op::IntoItself(top_dst), &top_src));
            self.undo(w.dst, undo);
            return Next::Done(Status::IntoItself);
        }
        self.out.starting(src, dst, None);
        w.new_dst = true;
        let landing = match self.dry.landing(dst, w.place.dst_dir.map(|d| d.dev)) {
            Ok(landing) => landing,
            Err(error) => {
                self.fail_entry(w.names(), &error);
                return self.undo(w.dst, undo);
            }
        };
        let dst_dir = DstDir { dev: landing.dev, no_default_acl: false };
        let contents = self.contents(&w, dst_dir);
        let finish = Finish::of(&w, omitted);
        Next::Dir(Box::new(DirNext { opened: None, contents, first_dir: true, finish }))
    }

    /// Makes the destination directory (u+rwx while it is filled) and opens it without
    /// following a symlink swapped in since. `None` after reporting a failure.
    fn make_dir(&mut self, src: &Path, dst: &At, mode: u32) -> Result<(DirFd, Stat), Error> {
        let path = dst.path();
        dst.mkdir(mode).map_err(|e| Error::new(Op::CreateDir, path, e))?;
        let (fd, made) = dst.open_new_dir().map_err(|e| Error::new(Op::OpenDir, path, e))?;
        if made.st_mode & S_IRWXU != S_IRWXU {
            attr::chmod(Node::Fd(fd.as_fd(), path), made.st_mode | S_IRWXU)
                .map_err(|e| Error::new(Op::SetPermissions, path, e))?;
        }
        self.out.starting(src, path, None);
        Ok((fd, made))
    }

    /// Opens a destination directory that already exists (through a symlink only under
    /// `--keep-directory-symlink`), checking it is the one that was stat'ed.
    fn open_existing_dir(&mut self, dst: &At, st: &Stat) -> Result<(DirFd, Stat), Error> {
        let follow = self.opts.keep_directory_symlink;
        dst.open_dest_dir(follow, st).map_err(|e| match e {
            Some(e) => Error::new(Op::Access, dst.path(), e),
            None => Error::refusal(Op::Replaced, dst.path()),
        })
    }

    /// Copies a symlink as a symlink (`-P`, `-d`, `-a`, `-r`), keeping an identical existing
    /// one under `-u`, and its owner under `--preserve=ownership`.
    fn copy_symlink(&mut self, w: &Work) -> Result<Kind, Why> {
        let opts = self.opts;
        let (src, dst) = (w.src.path(), w.dst.path());
        let target = w.src.readlink().map_err(|e| Why::Error(Error::new(Op::ReadLink, src, e)))?;
        let mut result = self.symlink(&target, w, opts.force).map(|_| ());
        if result.is_err()
            && (opts.update_older || opts.resume)
            && !w.new_dst
            && w.dst_st.is_some_and(|d| is(d.st_mode, FileType::Symlink))
            && w.dst.readlink().is_ok_and(|t| t == target)
        {
            result = Ok(());
        }
        result.map_err(|e| Why::Error(Error::new(Op::CreateSymlink, dst, e)))?;
        if opts.preserve.ownership
            && !opts.dry_run
            && let Err(e) = attr::chown(Node::At(w.dst), Some(w.st.st_uid), Some(w.st.st_gid))
            && !self.attrs().chown_failure_ok(e)
        {
            let error = Error::new(Op::PreserveSymlinkOwnership, dst, e);
            // GNU's `error (0, ...)`: the run fails only if preserving was required.
            self.out.message(&error.to_string());
            if opts.preserve.required {
                return Err(Why::Said(error));
            }
        }
        Ok(Kind::Symlink)
    }

    /// `--resume`: where to go on filling an existing destination shorter than its source
    /// (its bytes are checked against the source's first); 0 to copy afresh. Not under
    /// `--atomic` (which writes a new file) or `--attributes-only`, nor once the old
    /// destination was moved out of the way (a backup, `--remove-destination`, a hard link
    /// broken under `-a`): the file to fill is a new one.
    fn resume_from(&self, w: &Work) -> u64 {
        let opts = self.opts;
        let resumable = opts.resume && opts.data && !opts.atomic && !w.new_dst;
        let Some(d) = w.dst_st.filter(|_| resumable) else {
            return 0;
        };
        let regular =
            is(w.st.st_mode, FileType::RegularFile) && is(d.st_mode, FileType::RegularFile);
        if regular && d.st_size > 0 && d.st_size < w.st.st_size { d.st_size as u64 } else { 0 }
    }

    /// A regular file (or a special file read as one): opens both ends, GNU's `copy_reg`
    /// up to the data.
    fn open_regular(&mut self, w: Work, undo: Undo, opened: Option<OwnedFd>) -> Next {
        let opts = self.opts;
        if opts.dry_run {
            return self.predict_file(w, undo, opened);
        }
        let plan = RegularPlan {
            new_dst: w.new_dst,
            follow: w.place.deref != Deref::Never,
            dst_dir: w.place.dst_dir,
            resume_from: self.resume_from(&w),
            ..RegularPlan::new(w.st.st_mode, opts, self.env.root)
        };
        let open = file::open_pair((opts, self.out), w.src, w.dst, &w.st, plan, opened);
        let ends = match open {
            Ok(ends) => ends,
            Err(FileError { error, .. }) => {
                self.fail_entry(Names { kind: Some(Kind::File), ..w.names() }, &error);
                return self.undo(w.dst, undo);
            }
        };
        // A pipe or device read as data (`--copy-contents`) is read on the walk's thread,
        // where a stopping signal interrupts a read that blocks.
        let independent = is(w.st.st_mode, FileType::RegularFile)
            && opts.backup == Backup::None
            && opts.interactive != Interactive::Ask
            && !(opts.preserve.links && w.st.st_nlink > 1);
        let command_line = w.place.command_line;
        Next::File(Box::new(FileNext { ends, independent, undo, command_line }))
    }

    /// A regular file under `--dry-run`: its copy predicted and its record written.
    fn predict_file(&mut self, w: Work, undo: Undo, opened: Option<OwnedFd>) -> Next {
        let forecast = dry_run::Forecast {
            src: w.src,
            src_st: &w.st,
            follow: w.place.deref != Deref::Never,
            opened,
            dst: w.dst,
            existing: w.dst_st.as_ref().filter(|_| !w.new_dst),
            dir_dev: w.place.dst_dir.map(|d| d.dev),
            resume_from: self.resume_from(&w),
        };
        let result = self.dry.predict(forecast, self.opts);
        let happened = file::happened(&result, &[]);
        let record = result.as_ref().map_or_else(|e| e.record.as_ref(), Option::as_ref);
        let (src, dst) = (w.src.path(), w.dst.path());
        self.out.finished(Entry { src, dst, kind: Some(Kind::File), record, happened });
        if result.is_err() {
            return self.undo(w.dst, undo);
        }
        self.record_dest(w.dst, w.place.command_line);
        Next::Done(Status::Ok)
    }

    /// Fills an opened file on this thread and finishes it.
    pub(crate) fn fill_here(&mut self, src: &At, dst: &At, f: FileNext, w: &mut Scratch) -> Status {
        let FileNext { ends, undo, command_line, .. } = f;
        let mut attrs = self.attrs();
        let result = file::fill_and_close(src, dst, ends, w, &mut attrs);
        let happened = file::happened(&result, &attrs.messages);
        self.report_attrs(attrs);
        let failed = result.is_err();
        let record = result.as_ref().map_or_else(|e| e.record.as_ref(), Option::as_ref);
        let kind = Some(Kind::File);
        self.out.finished(Entry { src: src.path(), dst: dst.path(), kind, record, happened });
        if failed {
            self.undo(dst, undo);
            return Status::Failed;
        }
        self.record_dest(dst, command_line);
        Status::Ok
    }

    /// A file given to a worker counts as copied for now (its outcome is reported in order
    /// when it is done). Returns its open ends.
    pub(crate) fn hand_over(&mut self, dst: &At, f: FileNext) -> Ends {
        self.record_dest(dst, f.command_line);
        f.ends
    }

    /// Records a command-line destination as just created.
    fn record_dest(&mut self, dst: &At, command_line: bool) {
        if command_line {
            self.memory.record_dest(dst);
        }
    }

    /// A directory's contents are in: sets its attributes and writes its record (into the
    /// output place `held` for it, if any): failed if its entries could not be read or it
    /// could not be opened again (the message `unread`; then, if it was `lost`, nothing is
    /// set), or its attributes failed.
    pub(crate) fn finish_dir(&mut self, f: &Finish, unread: Option<Error>, held: Option<u64>) {
        let attributes =
            if f.lost { Err(Error::silent(f.dst.path())) } else { self.set_attributes(f) };
        let happened = match (unread, attributes) {
            (Some(said), _) | (None, Err(said)) => Happened::Said(said),
            (None, Ok(())) => Happened::Copied,
        };
        let names = Names { src: f.src.path(), dst: f.dst.path(), kind: Some(Kind::Dir) };
        match held {
            Some(place) => self.out.fill(place, entry(names, happened)),
            None => self.out.finished(entry(names, happened)),
        }
    }

    /// A directory's contents are in: record it as a command-line destination if it is one.
    pub(crate) fn dir_filled(&mut self, dst: &At, command_line: bool) {
        self.record_dest(dst, command_line);
    }

    /// `-u` or `--resume` said skip: but a source hard-linked to one copied earlier still
    /// becomes a link (unless it already is that link).
    fn link_to_earlier_if_any(&mut self, w: &Work, reason: Skip) -> Next {
        let (dst, id) = (w.dst, ino(&w.st));
        let Some(earlier) = self.memory.remember_copied(dst, id) else {
            return self.skip(w.names(), reason);
        };
        let earlier_at = self.memory.link_source(&earlier, id);
        let names = Names { kind: Some(Kind::HardLink), ..w.names() };
        // `--resume`: already that link.
        if reason == Skip::Unchanged
            && let (Some(d), Ok(e)) = (w.dst_st, earlier_at.lstat())
            && (d.st_dev, d.st_ino) == (e.st_dev, e.st_ino)
        {
            return self.skip(names, reason);
        }
        match self.link(&earlier_at, w, true) {
            Ok(made) => {
                self.note_link(dst.path(), made);
                self.out.finished(entry(names, Happened::Copied));
                Next::Done(Status::Ok)
            }
            Err(e) => self.refuse(names, Error::new(Op::HardLink(earlier), dst.path(), e)),
        }
    }

    /// Renames `dst` to its backup name (a dry run only names it). Returns that name.
    fn back_up(&self, dst: &At) -> Result<At, Errno> {
        let opts = self.opts;
        if opts.dry_run {
            let name = backup::backup_at(dst, opts.backup, &opts.suffix);
            // A suffix ending in `/` names a directory: the real rename fails so.
            if name.path().as_os_str().as_bytes().ends_with(b"/") {
                return Err(Errno::NOTDIR);
            }
            return Ok(name);
        }
        backup::backup(dst, opts.backup, &opts.suffix)
    }

    /// Removes `dst` to make room (a dry run leaves it).
    fn unlink(&self, dst: &At) -> Result<(), Errno> {
        if self.opts.dry_run { Ok(()) } else { dst.unlink() }
    }

    /// Links `w`'s destination to `from`, replacing what is there if `replace` (a dry run
    /// only looks at what is in the way).
    fn link(&self, from: &At, w: &Work, replace: bool) -> Result<Linked, Errno> {
        if self.opts.dry_run {
            return dry_run::would_make(still_there(w), replace);
        }
        create::force_link(from, w.dst, replace, w.dereference)
    }

    /// Makes `w`'s destination a symlink to `target`, replacing what is there if `replace`
    /// (a dry run only looks at what is in the way).
    fn symlink(&self, target: &Path, w: &Work, replace: bool) -> Result<Linked, Errno> {
        if self.opts.dry_run {
            return dry_run::would_make(still_there(w), replace);
        }
        create::force_symlink(target, w.dst, replace)
    }

    fn note_link(&mut self, dst: &Path, made: Linked) {
        if matches!(made, Linked::Replaced) {
            self.out.removed(dst);
        }
    }

    /// GNU's failure path: forget the inode remembered and put a backup back.
    fn undo(&mut self, dst: &At, undo: Undo) -> Next {
        if let Some(id) = undo.remembered {
            self.memory.forget_copied(id);
        }
        if let Some(name) = undo.backup.filter(|_| !self.opts.dry_run) {
            match name.rename_to(dst) {
                Ok(()) => self.out.unbackup(name.path(), dst.path()),
                Err(e) => self.out.error(&Error::new(Op::Unbackup, dst.path(), e)),
            }
        }
        Next::Done(Status::Failed)
    }

    /// Reports an error that has no engine record (the run has failed).
    pub(crate) fn fail(&mut self, error: &Error) {
        self.out.error(error);
    }

    /// An operand that could not be started (`--parents` could not make its directories).
    pub(crate) fn operand_failed(&mut self, src: &Path, dst: &Path, error: &Error) {
        self.fail_entry(Names { src, dst, kind: None }, error);
    }

    /// Reports an entry's failure: its message and its record; the run has failed.
    fn fail_entry(&mut self, names: Names, error: &Error) {
        self.out.finished(entry(names, Happened::Failed(error)));
    }

    /// Reports a refusal or failure that ends the entry.
    fn refuse(&mut self, names: Names, error: Error) -> Next {
        self.fail_entry(names, &error);
        Next::Done(Status::Failed)
    }

    /// Reports why making an entry failed.
    fn failed_why(&mut self, names: Names, why: Why) {
        match why {
            Why::Error(error) => self.fail_entry(names, &error),
            Why::Said(text) => {
                self.out.finished(entry(names, Happened::Said(text)));
            }
        }
    }

    /// `--exclude` left out the entry `src` (of type `kind`): its record, nothing else.
    pub(crate) fn excluded(&mut self, src: &At, dst: &At, kind: FileType) {
        let names =
            Names { src: src.path(), dst: dst.path(), kind: Some(kind_of(kind.as_raw_mode())) };
        self.skip(names, Skip::Excluded);
    }

    /// Reports an entry skipped for `reason` (nothing printed but its record).
    fn skip(&mut self, names: Names, reason: Skip) -> Next {
        self.out.finished(entry(names, Happened::Skipped(reason)));
        Next::Done(Status::Ok)
    }

    /// GNU's attribute rules, for this run.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.opts, self.env)
    }

    /// Prints what the attribute rules had to say, and fails the run if they failed.
    pub(crate) fn report_attrs(&mut self, attrs: Attrs) {
        self.out.attribute_messages(&attrs.messages, attrs.failed);
    }

    /// Applies `target`'s attributes, reporting what went wrong. `Err` holds the error
    /// that failed the entry (printed already).
    pub(crate) fn apply_attributes(&mut self, target: &Target) -> Result<(), Error> {
        if self.opts.dry_run {
            return Ok(());
        }
        let mut attrs = self.attrs();
        let result = attrs.apply(target);
        let last = attrs.messages.last().cloned();
        self.report_attrs(attrs);
        let Err(Stopped(error)) = result else { return Ok(()) };
        let said = match error {
            Some(error) => {
                self.out.error(&error);
                error
            }
            None => last.unwrap_or_else(|| Error::silent(target.dst.path())),
        };
        Err(said)
    }

    /// Timestamps, ownership, xattrs and mode for an entry that is not a regular file (those
    /// are done on their open fd by `file`); a directory's through the fd the walk opened.
    pub(crate) fn set_attributes(&mut self, f: &Finish) -> Result<(), Error> {
        let dst = f.dst.path();
        let node = match &f.dst_fd {
            Some(fd) => Node::Fd(fd.as_fd(), dst),
            None => Node::At(&f.dst),
        };
        let made = Made::Other {
            new_dst: f.new_dst,
            bare: f.bare,
            symlink: f.symlink,
            omitted: f.omitted,
            restore_mode: f.restore_mode,
        };
        let target = Target {
            dst: node,
            src: Some(Node::At(&f.src)),
            src_st: &f.src_st,
            dst_st: f.dst_st.as_ref(),
            made,
        };
        self.apply_attributes(&target)
    }
}

/// Whether something is at `w`'s destination when it is made: not if a real run removed
/// or renamed it away first (`new_dst`), or nothing was there.
fn still_there(w: &Work) -> bool {
    !w.new_dst && (w.dst_st.is_some() || w.dst.lstat().is_ok())
}

/// `-u`: whether the destination is older than the source (then it is replaced).
fn dst_older(dst: &Stat, src: &Stat) -> bool {
    (dst.st_mtime, dst.st_mtime_nsec) < (src.st_mtime, src.st_mtime_nsec)
}

/// `--resume`'s quick check (rsync's): both regular files, the same size and the same
/// modification time, to the nanosecond. "Not older" would not do: a copy killed while
/// filling a sparse file leaves it at full size (the size is set first) with a newer time.
/// rcp sets a file's times only after its data, so with `-p`/`-a` an equal time means the
/// copy finished; without them nothing passes the check and everything is copied again.
fn unchanged(src: &Stat, dst: &Stat) -> bool {
    is(src.st_mode, FileType::RegularFile)
        && is(dst.st_mode, FileType::RegularFile)
        && src.st_size == dst.st_size
        && (src.st_mtime, src.st_mtime_nsec) == (dst.st_mtime, dst.st_mtime_nsec)
}

/// `--resume`: the destination `dst` is a symlink to where the source symlink points: it
/// is kept as it is (not made again).
fn same_symlink(w: &Work, dst: &Stat) -> bool {
    is(w.st.st_mode, FileType::Symlink)
        && is(dst.st_mode, FileType::Symlink)
        && !w.dereference
        && matches!((w.src.readlink(), w.dst.readlink()), (Ok(a), Ok(b)) if a == b)
}

fn dot_or_dotdot(name: &std::ffi::OsStr) -> bool {
    name == "." || name == ".."
}

/// Whether `dst`'s directory is the current directory (for relative `-s` links).
fn in_current_dir(dst: &Path) -> bool {
    let parent = dir_of(dst);
    if parent == Path::new(".") {
        return true;
    }
    let stat = |p: &Path| statat(CWD, p, AtFlags::empty());
    match (stat(Path::new(".")), stat(parent)) {
        (Ok(a), Ok(b)) => ino(&a) == ino(&b),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(mtime: i64, nsec: i64) -> Stat {
        // SAFETY: Stat is a plain C struct; all-zero is a valid value.
        let mut st: Stat = unsafe { std::mem::zeroed() };
        st.st_mtime = mtime as _;
        st.st_mtime_nsec = nsec as _;
        st
    }

    #[test]
    fn update_replaces_only_an_older_destination() {
        // (destination mtime, source mtime) → replaced?
        let table = [
            ((10, 0), (20, 0), true),
            ((20, 0), (10, 0), false),
            ((10, 0), (10, 0), false),
            ((10, 5), (10, 6), true),
            ((10, 6), (10, 5), false),
        ];
        for ((ds, dn), (ss, sn), replaced) in table {
            assert_eq!(
                dst_older(&at(ds, dn), &at(ss, sn)),
                replaced,
                "dst {ds}.{dn} src {ss}.{sn}"
            );
        }
    }
}

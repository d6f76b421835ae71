//! GNU's decisions for one entry (its `copy_internal`), as named phases: look at the source,
//! look at the destination, refuse or skip, make room (backup or unlink), remember links,
//! create by kind. What needs the walk or the scheduler comes back as `Next`: a directory to
//! fill, a regular file to fill (here or on a worker); the caller finishes it with
//! `fill_here`/`hand_over` or `set_attributes`. This file holds the vocabulary and the
//! decisions; `make.rs` creates by kind, `finish.rs` ends an entry and is the only part that
//! reports (records, lines, failures), `file.rs` fills one regular file.

pub(crate) mod backup;
mod basis;
mod dry_run;
pub(crate) mod file;
mod finish;
pub(crate) mod links;
mod make;
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
use crate::options::{Backup, BasisHow, Deref, Interactive, Options};
use crate::plan::{Bases, Nonexistent};
use crate::report::{Entry, Happened, Kind, Printer, Skip};
use crate::select;
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
    /// A spread copy with `--preserve=links`: a file with more than one link (below an
    /// operand) is left to the rank that owns its inode (`Next::Defer`), which copies one
    /// name and links the others, wherever the walk met them.
    pub(crate) defer_links: bool,
    /// With `defer_links`: command-line files with other links copied here, for the ranks
    /// owning their inodes to link the other names to.
    pub(crate) announced: Vec<Announced>,
    /// `--link-dest` and its kin: the earlier copies an unchanged file is taken from.
    pub(crate) bases: Option<&'a Bases>,
    looked: basis::Looked,
}

/// A command-line file with other links, copied: its inode, its name, and its copy.
pub(crate) struct Announced {
    pub(crate) id: Ino,
    pub(crate) src: PathBuf,
    pub(crate) copy: PathBuf,
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
    /// A file with other hard links, left to the rank of a spread copy that owns its inode
    /// (`Cp::defer_links`): nothing is decided or done here.
    Defer(Box<Deferred>),
}

/// A file a spread copy leaves to the rank that owns its inode: its names, its identity, and
/// what its visit knew.
pub(crate) struct Deferred {
    pub(crate) src: PathBuf,
    pub(crate) dst: PathBuf,
    pub(crate) id: Ino,
    /// Its destination directory is new: nothing is there.
    pub(crate) new_dst: bool,
    pub(crate) deref: Deref,
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

    /// The identities of its source and (once made or opened) destination.
    pub(crate) fn ids(&self) -> (Ino, Option<Ino>) {
        (ino(&self.src_st), self.dst_st.as_ref().map(ino))
    }

    /// The directory could not be opened again: its record fails and its attributes are
    /// left alone (what its name leads to now is not the directory that was filled).
    pub(crate) fn lose(&mut self) {
        self.lost = true;
    }

    /// What it says besides its names, fds and status: a directory's tree going to
    /// another rank takes it along.
    pub(crate) fn flags(&self) -> FinishFlags {
        FinishFlags {
            new_dst: self.new_dst,
            bare: self.bare,
            omitted: self.omitted,
            restore_mode: self.restore_mode,
        }
    }

    /// A directory's attributes to set, as `flags` said where it was made, landed on
    /// another rank: its names, its destination's fd, and both ends' status as opened
    /// there.
    pub(crate) fn landed(
        (src, dst): (At, At),
        dst_fd: DirFd,
        (src_st, dst_st): (Stat, Stat),
        flags: FinishFlags,
    ) -> Finish {
        let FinishFlags { new_dst, bare, omitted, restore_mode } = flags;
        Finish {
            src,
            dst,
            dst_fd: Some(dst_fd),
            src_st,
            dst_st: Some(dst_st),
            new_dst,
            bare,
            symlink: false,
            omitted,
            restore_mode,
            lost: false,
        }
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

/// A directory's `Finish` without its names, fds and status (which another rank finds
/// again for itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FinishFlags {
    pub(crate) new_dst: bool,
    /// Made in a directory without a default ACL.
    pub(crate) bare: bool,
    pub(crate) omitted: u32,
    pub(crate) restore_mode: Option<u32>,
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
    Entry {
        src: names.src,
        dst: names.dst,
        kind: names.kind,
        record: None,
        happened,
        earlier: None,
    }
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
    /// `--copy-dest`: the unchanged earlier copy the data comes from.
    earlier: Option<basis::Found>,
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
            defer_links: false,
            announced: Vec::new(),
            bases: None,
            looked: basis::Looked::default(),
        }
    }

    /// Another rank copied inode `id` to `copy` (a command-line file): names of it met
    /// later are linked to that copy.
    pub(crate) fn remember_copy(&mut self, id: Ino, copy: &Path) {
        self.memory.remember_copied(&At::cwd(copy), id);
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
        if self.defer_links && !w.dir && !v.place.command_line && w.st.st_nlink > 1 {
            return Break(Next::Defer(Box::new(Deferred {
                src: v.src.path().to_path_buf(),
                dst: v.dst.path().to_path_buf(),
                id: ino(&w.st),
                new_dst: v.nonexistent == Nonexistent::Yes,
                deref: v.place.deref,
            })));
        }
        self.look_at_destination(&mut w, v.nonexistent)?;
        let earlier = self.unchanged_earlier(&w);
        // `--compare-dest`: left out — and an old file there removed, unless -n, -i or -u
        // say it stays (then the usual rules decide).
        let keeps = opts_keep_existing(self.opts) && w.dst_st.is_some();
        if let Some(found) =
            earlier.as_ref().filter(|f| f.earlier.how == BasisHow::Compare && !keeps)
        {
            return Break(self.left_out(&w, found));
        }
        if let Some(d) = w.dst_st {
            self.refuse_or_skip(&w, &d)?;
            self.make_room(&mut w, &d)?;
        }
        self.refuse_just_created_symlink(&w)?;
        let earlier = earlier.filter(|f| f.earlier.how != BasisHow::Compare);
        if !w.dir {
            self.starting(w.src.path(), w.dst.path(), w.backup.as_ref().map(At::path));
        }
        let remembered = self.remember_links(&mut w)?;
        match earlier {
            Some(found) if found.earlier.how == BasisHow::Link => {
                if let Some(next) = self.link_earlier(&w, &found) {
                    return Break(next);
                }
            }
            found => w.earlier = found,
        }
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
            self.warn(&format!("warning: source file {quoted} specified more than once"));
            return Break(self.skip(names, Skip::Repeated));
        }
        let dereference = select::follows(place.deref, place.command_line);
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
            earlier: None,
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
                    && ((d.st_nlink > 1 && self.made_anew_if_linked())
                        || (w.place.deref == Deref::Never
                            && !is(w.st.st_mode, FileType::RegularFile)))))
        {
            match self.unlink(w.dst) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Break(self.refuse(w.names(), Error::new(Op::Remove, dst, e))),
            }
            w.new_dst = true;
            self.removed(dst);
        }
        Continue(())
    }

    /// Whether a destination with other links is removed and made anew rather than written
    /// into: GNU's rule under `--preserve=links`, and rcp's with earlier copies (a file
    /// with other links may be an earlier snapshot's, `--link-dest`).
    fn made_anew_if_linked(&self) -> bool {
        self.opts.preserve.links || self.bases.is_some()
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
            && (w.st.st_nlink > 1 || select::follows(place.deref, place.command_line))
        {
            let earlier = self.memory.remember_copied(w.dst, id);
            if earlier.is_none() && self.defer_links && w.st.st_nlink > 1 {
                // A command-line file (others were deferred): its names met in trees go to
                // the rank owning its inode, which must know where this copy is.
                let (src, copy) = (w.src.path().to_path_buf(), w.dst.path().to_path_buf());
                self.announced.push(Announced { id, src, copy });
            }
            earlier
        } else {
            None
        };
        let Some(earlier) = earlier else { return Continue(Some(id)) };
        if !w.dir {
            return Break(self.link_to_earlier(w, &earlier));
        }
        let (src, dst) = (w.src.path(), w.dst.path());
        // The same directory met again through symlinks under -L (or -R --link): copied
        // again — unless it is a directory this run made (the one remembered: `earlier`
        // itself) with the copy landing inside it, which would feed on itself one level
        // deeper each time: GNU goes on until the paths outgrow PATH_MAX; rcp, which has
        // no such limit, would fill the disk. (One of the source's own ancestors is a
        // cyclic symlink, said as GNU says it.)
        let feeds_on_itself = || {
            let made_here =
                statat(CWD, &earlier, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| ino(&st) == id);
            made_here
                && !w.place.ancestors.contains(&id)
                && crate::sys::fs::is_within(dir_of(dst), id)
        };
        let repeated = same_name(dst, &earlier);
        if same_name(src, &earlier) || (!repeated && w.dereference && feeds_on_itself()) {
            let (top_src, top_dst) = self.top.clone();
            self.fail_entry(w.names(), &Error::refusal(Op::IntoItself(top_dst), &top_src));
            self.undo(w.dst, Undo { backup: w.backup.take(), remembered: None });
            return Break(Next::Done(Status::IntoItself));
        }
        if repeated {
            let quoted = crate::quote::quote(&self.top.0);
            self.out
                .message(&format!("warning: source directory {quoted} specified more than once"));
            return Break(self.skip(w.names(), Skip::Repeated));
        }
        if w.dereference {
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
                self.made(entry(
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
                self.made(entry(names, Happened::Copied));
                Next::Done(Status::Ok)
            }
            Err(e) => self.refuse(names, Error::new(Op::HardLink(earlier), dst.path(), e)),
        }
    }
}

/// Whether something is at `w`'s destination when it is made: not if a real run removed
/// or renamed it away first (`new_dst`), or nothing was there.
fn still_there(w: &Work) -> bool {
    !w.new_dst && (w.dst_st.is_some() || w.dst.lstat().is_ok())
}

/// Whether an existing destination is only replaced after asking or checking (`-n`, `-i`,
/// `-u`): `--compare-dest` then does not remove it.
fn opts_keep_existing(opts: &Options) -> bool {
    opts.interactive != Interactive::Unset || opts.update_older
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

//! One source operand, recursively, with GNU cp's decisions for each entry (its
//! `copy_internal`): stat the source, look at the destination (same file? `-u`, `-n`, `-i`,
//! backups, removal), then make a directory and copy its contents, a link, a symlink, a
//! special file, or a regular file (through `file`), and finally carry attributes over.
//! Directory attributes land after their contents.

pub(crate) mod attrs;
pub(crate) mod backup;
pub(crate) mod file;
pub(crate) mod links;
pub(crate) mod parents;
pub(crate) mod prompt;

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Stat, statat};
use rustix::io::Errno;

use crate::sys::at::{At, DirFd, read_entries};
use attrs::{Attrs, Owner};

use crate::args::options::{Backup, Deref, Interactive, Options};
use crate::engine::Scratch;
use crate::error::{Error, Op};
use crate::sched::{Dispatch, Job};
use crate::sys::attr::{self, Node};
use crate::sys::create::{self, Made};
use crate::sys::{ino, is};
use crate::sys::path::last_component;
use file::{FileError, FileJob, RegularPlan};
use links::Memory;

use crate::args::plan::Nonexistent;
use crate::report::{Entry, Kind, Reporter};

/// What a whole run shares: options, the worker, the reporter, remembered inodes, the flag.
pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) worker: Scratch,
    pub(crate) out: Reporter,
    pub(crate) umask: u32,
    pub(crate) failed: bool,
    pub(crate) memory: Memory,
    pub(crate) root: bool,
    /// Workers for `-j` (none: everything in line).
    pool: Option<Box<dyn Dispatch + 'a>>,
    /// Jobs handed to the workers and not yet done, by sequence number.
    in_flight: std::collections::BTreeSet<u64>,
    /// Every destination directory of the run (device, inode): a source directory among
    /// them may hold files the workers are still filling (`cp -r . sub`), so it is read only
    /// once they are done, as GNU's one-at-a-time order would find them.
    dst_dirs: std::collections::HashSet<(u64, u64)>,
    /// The last job handed over.
    last_seq: u64,
    /// Directories whose attributes wait for jobs handed over before they were finished.
    deferred: std::collections::VecDeque<DirFinish>,
    /// Regular files started so far.
    files: u64,
    top_src: PathBuf,
    top_dst: PathBuf,
}

/// Where in the recursion an entry is.
struct Place<'p> {
    parent: Option<&'p Stat>,
    ancestors: &'p [(u64, u64)],
    deref: Deref,
    command_line: bool,
    /// The device of the destination directory, when known (saves an fstat per file).
    dst_dev: Option<u64>,
}

/// A source a directory walk has already opened (its entry said "regular file"): the fd and
/// its fstat, so the file is neither stat'ed by path nor opened twice.
pub(crate) struct Opened {
    fd: std::os::fd::OwnedFd,
    st: Stat,
}

const S_IRWXU: u32 = 0o700;
/// Lines and places waiting to be printed before the walk pauses for the workers.
const BACKLOG: usize = 1024;
/// New files handed to one worker at a time.
const BATCH: usize = 128;
const SPECIAL: u32 = 0o7000;

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

fn stat(p: &Path) -> Result<Stat, Errno> {
    statat(CWD, p, AtFlags::empty())
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        opts: &'a Options,
        out: Reporter,
        umask: u32,
        root: bool,
        track_operands: bool,
        pool: Option<Box<dyn Dispatch + 'a>>,
    ) -> Self {
        Ctx {
            pool,
            files: 0,
            in_flight: Default::default(),
            dst_dirs: Default::default(),
            last_seq: 0,
            deferred: Default::default(),
            opts,
            worker: Scratch::default(),
            out,
            umask,
            failed: false,
            memory: Memory::new(track_operands),
            root,
            top_src: PathBuf::new(),
            top_dst: PathBuf::new(),
        }
    }

    /// Reports an error that has no engine record and marks the run as failed.
    pub(crate) fn fail(&mut self, error: &Error) {
        self.failed = true;
        self.out.error(error);
    }

    /// Copies one command-line operand to `dst`; failures are reported and flagged.
    pub(crate) fn copy_operand(&mut self, src: &Path, dst: &Path, nonexistent: Nonexistent) {
        self.top_src = src.to_path_buf();
        self.top_dst = dst.to_path_buf();
        let mut marks = Marks::default();
        let place = Place {
            parent: None,
            ancestors: &[],
            deref: self.opts.deref,
            command_line: true,
            dst_dev: None,
        };
        let (src, dst) = (At::cwd(src), At::cwd(dst));
        let ok = self.copy_internal(&src, &dst, nonexistent, &place, None, &mut marks);
        self.failed |= !ok;
    }

    /// GNU's `copy_internal`. Returns false if anything failed (already reported).
    fn copy_internal(
        &mut self,
        src_at: &At,
        dst_at: &At,
        nonexistent: Nonexistent,
        place: &Place,
        opened: Option<Opened>,
        marks: &mut Marks,
    ) -> bool {
        let opts = self.opts;
        let (src, dst) = (src_at.path(), dst_at.path());
        marks.into_self = false;
        let follow = place.deref != Deref::Never;
        let (src_st, opened) = match opened {
            Some(o) => (o.st, Some(o.fd)),
            None => match src_at.stat_as(follow) {
                Ok(st) => (st, None),
                Err(e) => return self.report(Error::new(Op::Stat, src, e)),
            },
        };
        let src_mode = src_st.st_mode;
        let src_dir = is(src_mode, FileType::Directory);
        if src_dir && !opts.recursive {
            return self.report(Error::refusal(Op::OmitDirectory, src));
        }
        // GNU's src_info: recorded for every operand, a warning for a repeated non-directory.
        if place.command_line
            && self.memory.source_seen(src, &src_st)
            && !src_dir
            && opts.backup == Backup::None
        {
            self.out.message(&format!(
                "warning: source file {} specified more than once",
                crate::quote::quote(src)
            ));
            return true;
        }
        let dereference = place.deref == Deref::Always
            || (place.deref == Deref::CommandLine && place.command_line);

        let mut new_dst = nonexistent == Nonexistent::Yes;
        let mut dst_st: Option<Stat> = None;
        let mut have_dst_lstat = false;
        let mut backup_name: Option<At> = None;
        if nonexistent != Nonexistent::Yes {
            let src_reg = is(src_mode, FileType::RegularFile);
            let src_lnk = is(src_mode, FileType::Symlink);
            let use_lstat = (!src_reg && (!opts.copy_as_regular || src_dir || src_lnk))
                || opts.symbolic_link
                || opts.hard_link
                || opts.backup != Backup::None
                || opts.remove_destination;
            if !use_lstat && nonexistent == Nonexistent::MaybeDangling {
                new_dst = true;
            } else {
                match dst_at.stat_as(!use_lstat) {
                    Ok(st) => {
                        have_dst_lstat = use_lstat;
                        dst_st = Some(st);
                    }
                    Err(Errno::LOOP) if opts.force => {}
                    Err(Errno::NOENT) => new_dst = true,
                    Err(e) => return self.report(Error::new(Op::Stat, dst, e)),
                }
            }
            // --keep-directory-symlink: a symlink to a directory stands for that directory.
            if let Some(st) = dst_st
                && src_dir
                && opts.keep_directory_symlink
                && is(st.st_mode, FileType::Symlink)
                && let Ok(target) = dst_at.stat()
                && is(target.st_mode, FileType::Directory)
            {
                dst_st = Some(target);
            }
        }

        if let Some(d) = dst_st {
            let skip_all = matches!(opts.interactive, Interactive::Skip | Interactive::Fail);
            let mut return_now = false;
            if !skip_all && !self.same_file_ok(src_at, &src_st, dst_at, &d, &mut return_now) {
                return self.report(Error::refusal(Op::SameFile(dst.to_path_buf()), src));
            }
            if opts.update_older && !src_dir && !dst_older(&d, &src_st, opts.preserve.timestamps) {
                return self.link_to_earlier_if_any(dst_at, &src_st, dereference);
            }
            if !src_dir {
                match opts.interactive {
                    Interactive::Skip => return true,
                    Interactive::Fail => {
                        return self.report(Error::refusal(Op::NotReplacing, dst));
                    }
                    Interactive::Ask => {
                        let replacing = opts.force || opts.remove_destination;
                        if !prompt::overwrite_ok(self.out.program(), dst_at, &d, replacing) {
                            return true;
                        }
                    }
                    Interactive::Unset => {}
                }
            }
            if return_now {
                return true;
            }
            let dst_dir = is(d.st_mode, FileType::Directory);
            if !dst_dir {
                if src_dir {
                    return self
                        .report(Error::refusal(Op::OverwriteNonDirectory(src.to_path_buf()), dst));
                }
                if place.command_line
                    && opts.backup != Backup::Numbered
                    && self.memory.dest_seen(dst, &d)
                {
                    return self.report(Error::refusal(Op::JustCreated(src.to_path_buf()), dst));
                }
            }
            if !src_dir && dst_dir {
                return self.report(Error::refusal(Op::OverwriteDirectory, dst));
            }
            let srcbase = last_component(src);
            if opts.backup != Backup::None && !dot_or_dotdot(srcbase) && !dst_dir {
                if opts.backup != Backup::Numbered
                    && backup::source_is_backup_of(src_at, &src_st, dst_at, &opts.suffix)
                {
                    let op = Op::BackupDestroysSource(src.to_path_buf());
                    return self.report(Error::refusal(op, dst));
                }
                match backup::backup(dst_at, opts.backup, &opts.suffix) {
                    Ok(name) => backup_name = Some(name),
                    Err(Errno::NOENT) => {}
                    Err(e) => return self.report(Error::new(Op::Backup, dst, e)),
                }
                new_dst = true;
            } else if !dst_dir
                && (opts.remove_destination
                    || (opts.data
                        && ((opts.preserve.links && d.st_nlink > 1)
                            || (place.deref == Deref::Never
                                && !is(src_mode, FileType::RegularFile)))))
            {
                match dst_at.unlink() {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return self.report(Error::new(Op::Remove, dst, e)),
                }
                new_dst = true;
                self.out.removed(dst);
            }
        }

        if place.command_line && self.memory.tracks_operands() && opts.backup == Backup::None {
            let dst_lstat = if have_dst_lstat { dst_st } else { dst_at.lstat().ok() };
            if let Some(l) = dst_lstat
                && is(l.st_mode, FileType::Symlink)
                && self.memory.dest_seen(dst, &l)
            {
                let op = Op::ThroughJustCreatedSymlink(dst.to_path_buf());
                return self.report(Error::refusal(op, src));
            }
        }

        if !src_dir {
            self.out.starting(src, dst, backup_name.as_ref().map(At::path));
        }

        // Hard links within the copy, `cp -r d d`, and a tree copied into itself.
        let earlier = if opts.recursive && src_dir {
            if place.command_line {
                self.memory.remember_copied(dst_at, ino(&src_st))
            } else {
                self.memory.lookup_copied(ino(&src_st))
            }
        } else if opts.preserve.links
            && !opts.hard_link
            && (src_st.st_nlink > 1
                || (place.command_line && place.deref == Deref::CommandLine)
                || place.deref == Deref::Always)
        {
            self.memory.remember_copied(dst_at, ino(&src_st))
        } else {
            None
        };
        if let Some(earlier) = &earlier {
            if src_dir {
                if crate::sys::path::same_name(src, earlier) {
                    let (top_src, top_dst) = (self.top_src.clone(), self.top_dst.clone());
                    self.fail(&Error::refusal(Op::IntoItself(top_dst), &top_src));
                    marks.into_self = true;
                    return self.un_backup(dst_at, backup_name, None);
                } else if crate::sys::path::same_name(dst, earlier) {
                    let text = format!(
                        "warning: source directory {} specified more than once",
                        crate::quote::quote(&self.top_src)
                    );
                    self.out.message(&text);
                    return true;
                } else if dereference {
                    // The same directory met again through symlinks under -L: copy it again.
                } else {
                    self.fail(&Error::refusal(Op::LinkToDirectory(earlier.clone()), dst));
                    return self.un_backup(dst_at, backup_name, None);
                }
            } else {
                let earlier_at = self.memory.link_source(earlier, ino(&src_st));
                return match create::force_link(&earlier_at, dst_at, true, dereference) {
                    Ok(made) => {
                        self.note_link(dst, made);
                        self.out.finished(Entry::plain(src, dst, Kind::HardLink));
                        true
                    }
                    Err(e) => {
                        self.fail(&Error::new(Op::HardLink(earlier.clone()), dst, e));
                        self.un_backup(dst_at, backup_name, None)
                    }
                };
            }
        }

        let dst_mode_bits = src_mode & 0o7777;
        let mut omitted = dst_mode_bits
            & if opts.preserve.ownership {
                0o077
            } else if src_dir {
                0o022
            } else {
                0
            };
        let remembered = if earlier.is_none() { Some(ino(&src_st)) } else { None };
        let mut restore_mode: Option<u32> = None;
        let mut dest_is_symlink = false;
        let mut dir_fd: Option<DirFd> = None;
        let mut ok = true;

        if src_dir {
            let id = ino(&src_st);
            if place.ancestors.contains(&id) {
                self.fail(&Error::refusal(Op::Cyclic, src));
                return self.un_backup(dst_at, backup_name, remembered);
            }
            let mut ancestors = place.ancestors.to_vec();
            ancestors.push(id);
            let existing_dir = dst_st.filter(|d| !new_dst && is(d.st_mode, FileType::Directory));
            let opened_dst = match existing_dir {
                None => self.make_dir(src, dst_at, dst_mode_bits & !omitted, marks),
                Some(d) => {
                    omitted = 0;
                    self.open_existing_dir(dst_at, &d)
                }
            };
            let Some((dst_fd, made)) = opened_dst else {
                return self.un_backup(dst_at, backup_name, remembered);
            };
            self.dst_dirs.insert(ino(&made));
            if existing_dir.is_none() {
                if made.st_mode & S_IRWXU != S_IRWXU {
                    restore_mode = Some(made.st_mode);
                }
                dst_st = Some(made);
            }
            dir_fd = Some(dst_fd.clone());
            let crosses = place.parent.is_some_and(|p| p.st_dev != src_st.st_dev);
            if !(opts.one_file_system && crosses) {
                let child_deref =
                    if place.deref == Deref::CommandLine { Deref::Never } else { place.deref };
                let dir = DirCopy {
                    new_dst,
                    src_st: &src_st,
                    follow,
                    ancestors: &ancestors,
                    deref: child_deref,
                    dst_dev: Some(made.st_dev),
                };
                ok &= self.copy_dir(src_at, (&dst_fd, dst), &dir, marks);
            }
        } else if opts.symbolic_link {
            dest_is_symlink = true;
            if !src.as_os_str().as_bytes().starts_with(b"/") && !in_current_dir(dst) {
                self.fail(&Error::refusal(Op::RelativeSymlink, dst));
                return self.un_backup(dst_at, backup_name, remembered);
            }
            if let Err(e) = create::force_symlink(src, dst_at, opts.force) {
                self.fail(&Error::new(Op::SymlinkTo(src.to_path_buf()), dst, e));
                return self.un_backup(dst_at, backup_name, remembered);
            }
            self.out.finished(Entry::plain(src, dst, Kind::Symlink));
        } else if opts.hard_link {
            let replace = opts.force || opts.interactive == Interactive::Ask;
            if let Err(e) = create::force_link(src_at, dst_at, replace, dereference) {
                self.fail(&Error::new(Op::HardLink(src.to_path_buf()), dst, e));
                return self.un_backup(dst_at, backup_name, remembered);
            }
            self.out.finished(Entry::plain(src, dst, Kind::HardLink));
        } else if is(src_mode, FileType::RegularFile)
            || (opts.copy_as_regular && !is(src_mode, FileType::Symlink))
        {
            let mode = dst_mode_bits & 0o777;
            let extra = if opts.preserve.xattr && !self.root { 0o200 & !mode } else { 0 };
            let follow = place.deref != Deref::Never;
            let dst_dev = place.dst_dev;
            let plan = RegularPlan { mode, omitted, extra, new_dst, follow, dst_dev };
            let ok = self.copy_regular(src_at, dst_at, &src_st, plan, opened);
            if !ok {
                return self.un_backup(dst_at, backup_name, remembered);
            }
            return self.finish_operand(dst_at, place, ok);
        } else if is(src_mode, FileType::Fifo)
            || is(src_mode, FileType::CharacterDevice)
            || is(src_mode, FileType::BlockDevice)
            || is(src_mode, FileType::Socket)
        {
            let ft = FileType::from_raw_mode(src_mode);
            let rdev = if ft == FileType::Fifo { 0 } else { src_st.st_rdev };
            if let Err(e) = dst_at.mknod(ft, src_mode & 0o7777 & !omitted, rdev) {
                let op = if ft == FileType::Fifo { Op::CreateFifo } else { Op::CreateSpecial };
                self.fail(&Error::new(op, dst, e));
                return self.un_backup(dst_at, backup_name, remembered);
            }
            self.out.finished(Entry::plain(src, dst, kind_of(src_mode)));
        } else if is(src_mode, FileType::Symlink) {
            dest_is_symlink = true;
            if !self.copy_symlink(src_at, dst_at, &src_st, dst_st.as_ref(), new_dst) {
                return self.un_backup(dst_at, backup_name, remembered);
            }
        } else {
            self.fail(&Error::refusal(Op::UnknownType, src));
            return self.un_backup(dst_at, backup_name, remembered);
        }

        if !self.finish_operand(dst_at, place, true) {
            ok = false;
        }
        if opts.hard_link && !src_dir {
            return ok;
        }
        let finish = DirFinish {
            src: src_at.clone(),
            dst: dst_at.clone(),
            dst_fd: dir_fd,
            src_st,
            dst_st,
            new_dst,
            dest_is_symlink,
            omitted,
            restore_mode,
            after: self.last_seq,
        };
        if src_dir && self.waiting_for(finish.after) {
            // Files of this directory are still being filled: its times and mode wait.
            self.deferred.push_back(finish);
            return ok;
        }
        ok & self.finish_attributes(&finish)
    }

    /// Makes the destination directory (u+rwx while it is filled), opens it without
    /// following a symlink swapped in since, and remembers the first one of an operand (to
    /// catch a copy into itself). `None` after reporting a failure.
    fn make_dir(
        &mut self,
        src: &Path,
        dst: &At,
        mode: u32,
        marks: &mut Marks,
    ) -> Option<(DirFd, Stat)> {
        if let Err(e) = dst.mkdir(mode) {
            self.fail(&Error::new(Op::CreateDir, dst.path(), e));
            return None;
        }
        let (fd, made) = match dst.open_new_dir() {
            Ok(opened) => opened,
            Err(e) => {
                self.fail(&Error::new(Op::Stat, dst.path(), e));
                return None;
            }
        };
        if made.st_mode & S_IRWXU != S_IRWXU
            && let Err(e) = attr::chmod(Node::Fd(fd.as_fd(), dst.path()), made.st_mode | S_IRWXU)
        {
            self.fail(&Error::new(Op::SetPermissions, dst.path(), e));
            return None;
        }
        if !marks.first_dir {
            self.memory.remember_copied(dst, ino(&made));
            marks.first_dir = true;
        }
        self.out.starting(src, dst.path(), None);
        self.out.finished(Entry::plain(src, dst.path(), Kind::Dir));
        Some((fd, made))
    }

    /// Opens a destination directory that already exists (through a symlink only under
    /// `--keep-directory-symlink`), checking it is the one that was stat'ed.
    fn open_existing_dir(&mut self, dst: &At, st: &Stat) -> Option<(DirFd, Stat)> {
        let follow = self.opts.keep_directory_symlink;
        let error = match dst.open_dest_dir(follow, st) {
            Ok(opened) => return Some(opened),
            Err(Some(e)) => Error::new(Op::Access, dst.path(), e),
            Err(None) => Error::refusal(Op::Replaced, dst.path()),
        };
        self.fail(&error);
        None
    }

    /// Records a command-line destination as just created.
    fn finish_operand(&mut self, dst: &At, place: &Place, ok: bool) -> bool {
        if place.command_line {
            self.memory.record_dest(dst);
        }
        ok
    }

    /// `-u` said skip: but a source hard-linked to one copied earlier still becomes a link.
    fn link_to_earlier_if_any(&mut self, dst: &At, src_st: &Stat, dereference: bool) -> bool {
        let path = dst.path();
        let Some(earlier) = self.memory.remember_copied(dst, ino(src_st)) else { return true };
        let earlier_at = self.memory.link_source(&earlier, ino(src_st));
        match create::force_link(&earlier_at, dst, true, dereference) {
            Ok(made) => {
                self.note_link(path, made);
                true
            }
            Err(e) => self.report(Error::new(Op::HardLink(earlier), path, e)),
        }
    }

    fn note_link(&mut self, dst: &Path, made: Made) {
        if matches!(made, Made::Replaced) {
            self.out.removed(dst);
        }
    }

    /// GNU's failure path: forget the inode we remembered and put a backup back.
    fn un_backup(&mut self, dst: &At, backup: Option<At>, remembered: Option<(u64, u64)>) -> bool {
        if let Some(id) = remembered {
            self.memory.forget_copied(id);
        }
        if let Some(name) = backup {
            match name.rename_to(dst) {
                Ok(()) => self.out.unbackup(name.path(), dst.path()),
                Err(e) => {
                    let error = Error::new(Op::Unbackup, dst.path(), e);
                    self.out.error(&error);
                }
            }
        }
        self.failed = true;
        false
    }

    fn report(&mut self, error: Error) -> bool {
        self.fail(&error);
        false
    }

    /// GNU's `copy_dir`: every entry, in inode order, with `copy_internal`, named relative
    /// to the source directory opened here and the destination directory `dst` (an open fd
    /// and its path). Into a directory rcp just made, a regular file is opened straight
    /// away (no stat by name).
    fn copy_dir(
        &mut self,
        src_at: &At,
        (dst_fd, dst): (&DirFd, &Path),
        dir: &DirCopy,
        marks: &mut Marks,
    ) -> bool {
        let src = src_at.path();
        if self.dst_dirs.contains(&ino(dir.src_st)) {
            self.drain();
        }
        let (src_fd, entries) = match src_at.open_dir(dir.follow, dir.src_st) {
            Ok((fd, _)) => match read_entries(&fd) {
                Ok(entries) => (fd, entries),
                Err(e) => return self.report(Error::new(Op::Access, src, e)),
            },
            Err(Some(e)) => return self.report(Error::new(Op::Access, src, e)),
            Err(None) => return self.report(Error::refusal(Op::Replaced, src)),
        };
        let place = Place {
            parent: Some(dir.src_st),
            ancestors: dir.ancestors,
            deref: dir.deref,
            command_line: false,
            dst_dev: dir.dst_dev,
        };
        let nonexistent = if dir.new_dst { Nonexistent::Yes } else { Nonexistent::Unknown };
        let open_early = dir.new_dst && !self.opts.hard_link && !self.opts.symbolic_link;
        let start = marks.first_dir;
        let mut any_first = false;
        let mut ok = true;
        let hand_over = open_early
            && !self.opts.preserve.links
            && self.pool.as_ref().is_some_and(|p| p.parallel());
        let mut batch = Vec::new();
        for (name, regular) in entries.iter() {
            if crate::sys::interrupt::stopping() {
                break;
            }
            let (s, d) = (At::child(&src_fd, src, name), At::child(dst_fd, dst, name));
            if hand_over && regular && self.files > 0 {
                batch.push((s, d));
                if batch.len() == BATCH {
                    self.hand_over_new_files(std::mem::take(&mut batch), dir.dst_dev);
                }
                continue;
            }
            if !batch.is_empty() {
                self.hand_over_new_files(std::mem::take(&mut batch), dir.dst_dev);
            }
            let opened = if open_early && regular { open_regular(&s) } else { None };
            let mut entry = Marks { first_dir: start, into_self: false };
            ok &= self.copy_internal(&s, &d, nonexistent, &place, opened, &mut entry);
            marks.into_self |= entry.into_self;
            if entry.into_self {
                break;
            }
            any_first |= entry.first_dir;
        }
        if !batch.is_empty() {
            self.hand_over_new_files(batch, dir.dst_dev);
        }
        marks.first_dir = any_first;
        ok
    }

    /// Copies a symlink as a symlink (`-P`, `-d`, `-a`, `-r`), keeping an identical existing
    /// one under `-u`, and its owner under `--preserve=ownership`.
    fn copy_symlink(
        &mut self,
        src_at: &At,
        dst_at: &At,
        src_st: &Stat,
        dst_st: Option<&Stat>,
        new_dst: bool,
    ) -> bool {
        let opts = self.opts;
        let (src, dst) = (src_at.path(), dst_at.path());
        let target = match src_at.readlink() {
            Ok(t) => t,
            Err(e) => return self.report(Error::new(Op::ReadLink, src, e)),
        };
        let mut result = create::force_symlink(&target, dst_at, opts.force).map(|_| ());
        if result.is_err()
            && opts.update_older
            && !new_dst
            && let Some(d) = dst_st
            && is(d.st_mode, FileType::Symlink)
            && dst_at.readlink().is_ok_and(|t| t == target)
        {
            result = Ok(());
        }
        if let Err(e) = result {
            return self.report(Error::new(Op::CreateSymlink, dst, e));
        }
        self.out.finished(Entry::plain(src, dst, Kind::Symlink));
        if opts.preserve.ownership
            && let Err(e) = attr::chown(Node::At(dst_at), Some(src_st.st_uid), Some(src_st.st_gid))
            && !self.attrs().chown_failure_ok(e)
        {
            // GNU prints this one name unquoted.
            let text = format!(
                "failed to preserve ownership for {}: {}",
                dst.display(),
                crate::error::strerror(e)
            );
            self.out.message(&text);
            if opts.preserve.required {
                self.failed = true;
                return false;
            }
        }
        true
    }

    /// A regular file: opened here, then filled here or by a worker (`-j`). A file handed
    /// to a worker counts as copied for now; its outcome is reported in order when it is
    /// done, and fails the run then if it failed.
    fn copy_regular(
        &mut self,
        src_at: &At,
        dst_at: &At,
        src_st: &Stat,
        plan: RegularPlan,
        opened: Option<std::os::fd::OwnedFd>,
    ) -> bool {
        let (src, dst) = (src_at.path(), dst_at.path());
        let ends = match file::open_pair(self, src_at, dst_at, src_st, plan, opened) {
            Ok(ends) => ends,
            Err(FileError { error, record }) => {
                self.failed = true;
                let record = record.as_ref();
                self.out.finished(Entry {
                    src,
                    dst,
                    kind: Kind::File,
                    record,
                    error: Some(&error),
                });
                return false;
            }
        };
        self.files += 1;
        if self.may_hand_over(src_st) {
            let (src, dst) = (src_at.clone(), dst_at.clone());
            self.submit(|seq| Job::Fill { seq, file: Box::new(FileJob { src, dst, ends }) });
            return true;
        }
        let mut attrs = self.attrs();
        let result = file::fill_and_close(src_at, dst_at, ends, &mut self.worker, &mut attrs);
        self.report_attrs(attrs);
        let (record, error) = match &result {
            Ok(record) => (record.as_ref(), None),
            Err(FileError { error, record }) => (record.as_ref(), Some(error)),
        };
        let failed = error.is_some();
        self.failed |= failed;
        self.out.finished(Entry { src, dst, kind: Kind::File, record, error });
        !failed
    }

    /// Regular files for a directory rcp just made go to one worker, whole.
    fn hand_over_new_files(&mut self, files: Vec<(At, At)>, dst_dev: Option<u64>) {
        self.files += files.len() as u64;
        self.submit(|seq| Job::Batch { seq, files, dst_dev });
    }

    /// Hands a job to the workers, holding its place in the output (its lines, `-v` ones
    /// included, are printed there when it is done), and keeps the backlog bounded.
    fn submit(&mut self, job: impl FnOnce(u64) -> Job) {
        let Some(pool) = self.pool.as_mut() else { return };
        let seq = pool.next_seq();
        self.out.pending(seq);
        pool.submit(job(seq), &self.worker);
        self.in_flight.insert(seq);
        self.last_seq = seq;
        self.collect(false);
        while self.out.backlog() > BACKLOG {
            if !self.collect(true) {
                break;
            }
        }
    }

    /// Whether this file may go to a worker: not the first (a single file starts no threads),
    /// and nothing that must happen after it in order depends on its outcome (a backup to
    /// put back, a hard link to it, an answer to `-i`).
    fn may_hand_over(&self, src_st: &Stat) -> bool {
        let opts = self.opts;
        self.files > 1
            && self.pool.as_ref().is_some_and(|p| p.parallel())
            && opts.backup == Backup::None
            && opts.interactive != Interactive::Ask
            && !(opts.preserve.links && src_st.st_nlink > 1)
    }

    /// Reports files the workers have finished (`wait`: at least one). Returns whether one
    /// was reported.
    fn collect(&mut self, wait: bool) -> bool {
        let mut any = false;
        while let Some(done) = self.pool.as_mut().and_then(|p| p.next_done(wait && !any)) {
            any = true;
            let mut items = Vec::with_capacity(done.files.len());
            for f in &done.files {
                let (record, error) = match &f.result {
                    Ok(record) => (record.as_ref(), None),
                    Err(FileError { error, record }) => (record.as_ref(), Some(error)),
                };
                self.failed |= error.is_some() || f.attrs_failed;
                let (src, dst) = (f.src.path(), f.dst.path());
                let entry = Entry { src, dst, kind: Kind::File, record, error };
                items.push((f.started, f.messages.as_slice(), entry));
            }
            self.out.complete(done.seq, items);
            self.in_flight.remove(&done.seq);
        }
        self.finish_ready_dirs();
        any
    }

    /// Whether a job numbered `seq` or lower is still with the workers.
    fn waiting_for(&self, seq: u64) -> bool {
        self.in_flight.first().is_some_and(|&first| first <= seq)
    }

    /// Sets the attributes of deferred directories whose files are all done (children
    /// come before their parents in the queue).
    fn finish_ready_dirs(&mut self) {
        while let Some(next) = self.deferred.front()
            && !self.waiting_for(next.after)
        {
            let finish = self.deferred.pop_front().expect("front exists");
            let ok = self.finish_attributes(&finish);
            self.failed |= !ok;
        }
    }

    /// Waits for every file handed to the workers and reports them.
    pub(crate) fn drain(&mut self) {
        while self.pool.as_ref().is_some_and(|p| p.in_flight() > 0) {
            self.collect(true);
        }
    }

    /// Drains the workers and lets them exit.
    pub(crate) fn close_pool(&mut self) {
        self.drain();
        if let Some(pool) = self.pool.as_mut() {
            pool.close();
        }
    }

    /// GNU's attribute rules, for this run.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.opts, self.root, self.umask)
    }

    /// Prints what the attribute rules had to say, and fails the run if they failed.
    pub(crate) fn report_attrs(&mut self, attrs: Attrs) {
        for text in &attrs.messages {
            self.out.message(text);
        }
        self.failed |= attrs.failed;
    }

    /// Timestamps, ownership, xattrs and mode for entries that are not regular files (those
    /// are done on their open fd by `file`); a directory's through the fd the walk opened.
    fn finish_attributes(&mut self, f: &DirFinish) -> bool {
        let DirFinish { src_st, new_dst, dest_is_symlink, omitted, restore_mode, .. } = *f;
        let (src_st, dst_st, dst) = (&src_st, f.dst_st.as_ref(), f.dst.path());
        let p = self.opts.preserve;
        let node = match &f.dst_fd {
            Some(fd) => Node::Fd(fd.as_fd(), dst),
            None => Node::At(&f.dst),
        };
        let mut src_mode = src_st.st_mode;
        if p.timestamps
            && let Err(e) = attr::set_times(node, src_st)
        {
            self.fail(&Error::new(Op::PreserveTimes, dst, e));
            if p.required {
                return false;
            }
        }
        let same_owner =
            dst_st.is_some_and(|d| d.st_uid == src_st.st_uid && d.st_gid == src_st.st_gid);
        if !dest_is_symlink && p.ownership && (new_dst || !same_owner) {
            let mut attrs = self.attrs();
            let owner = attrs.set_owner(node, src_st, new_dst, dst_st);
            self.report_attrs(attrs);
            match owner {
                Owner::Failed => return false,
                Owner::Dropped => src_mode &= !SPECIAL,
                Owner::Set => {}
            }
        }
        if p.xattr {
            let mut attrs = self.attrs();
            let copied = attrs.copy_xattrs(Node::At(&f.src), node);
            self.report_attrs(attrs);
            if !copied && p.require_xattr {
                return false;
            }
        }
        if dest_is_symlink {
            return true;
        }
        let dir = is(src_mode, FileType::Directory);
        if p.mode {
            if let Err(e) = attr::copy_acl(Node::At(&f.src), node, src_mode, dir) {
                self.fail(&Error::new(Op::PreservePermissions, dst, e));
                if p.required {
                    return false;
                }
            }
        } else if p.explicit_no_mode && new_dst {
            // GNU sets these bits through an ACL, which leaves setuid/setgid/sticky as made.
            let default = if dir || is(src_mode, FileType::Socket) { 0o777 } else { 0o666 };
            let special = attr::stat(node).map_or(0, |st| st.st_mode & SPECIAL);
            if let Err(e) = attr::chmod(node, special | (default & !self.umask)) {
                return self.report(Error::new(Op::PreservePermissions, dst, e));
            }
        } else {
            let mut restore = restore_mode;
            let omitted = omitted & !self.umask;
            if omitted != 0 && restore.is_none() {
                let current = if new_dst { attr::stat(node).ok() } else { dst_st.copied() };
                match current {
                    Some(st) if omitted & !st.st_mode != 0 => restore = Some(st.st_mode),
                    Some(_) => {}
                    None => return self.report(Error::new(Op::Stat, dst, Errno::NOENT)),
                }
            }
            if let Some(mode) = restore
                && let Err(e) = attr::chmod(node, mode | omitted)
            {
                self.fail(&Error::new(Op::PreservePermissions, dst, e));
                if p.required {
                    return false;
                }
            }
        }
        true
    }

    /// GNU's `same_file_ok`, without its `mv` branches: whether copying `src` onto the
    /// existing `dst` is allowed.
    fn same_file_ok(
        &self,
        src_at: &At,
        src_st: &Stat,
        dst_at: &At,
        dst_st: &Stat,
        return_now: &mut bool,
    ) -> bool {
        let opts = self.opts;
        let (src, dst) = (src_at.path(), dst_at.path());
        let same = ino(src_st) == ino(dst_st);
        if same && opts.hard_link {
            *return_now = true;
            return true;
        }
        let (src_l, dst_l, same_link);
        if opts.deref == Deref::Never {
            same_link = same;
            if is(src_st.st_mode, FileType::Symlink) && is(dst_st.st_mode, FileType::Symlink) {
                let sn = crate::sys::path::same_name(src, dst);
                if !sn {
                    if opts.backup != Backup::None {
                        return true;
                    }
                    if same_link {
                        *return_now = true;
                        return true;
                    }
                }
                return !sn;
            }
            src_l = *src_st;
            dst_l = *dst_st;
        } else {
            if !same {
                return true;
            }
            let (Ok(d), Ok(s)) = (dst_at.lstat(), src_at.lstat()) else { return true };
            src_l = s;
            dst_l = d;
            same_link = ino(&src_l) == ino(&dst_l);
            if is(src_l.st_mode, FileType::Symlink)
                && is(dst_l.st_mode, FileType::Symlink)
                && opts.remove_destination
            {
                return true;
            }
        }
        if opts.backup != Backup::None {
            if !same_link {
                return !(opts.deref != Deref::Never
                    && is(src_l.st_mode, FileType::Symlink)
                    && !is(dst_l.st_mode, FileType::Symlink));
            }
            return !crate::sys::path::same_name(src, dst);
        }
        if opts.remove_destination {
            if is(dst_l.st_mode, FileType::Symlink) {
                return true;
            }
            if same_link && dst_l.st_nlink > 1 && !crate::sys::path::same_name(src, dst) {
                return true;
            }
        }
        if !is(src_l.st_mode, FileType::Symlink) && !is(dst_l.st_mode, FileType::Symlink) {
            if ino(&src_l) != ino(&dst_l) {
                return true;
            }
            if opts.hard_link {
                *return_now = true;
                return true;
            }
        }
        if opts.symbolic_link && is(dst_l.st_mode, FileType::Symlink) {
            return true;
        }
        if opts.deref == Deref::Never {
            // What each names once a final symlink is followed.
            let target = |at: &At, l: Stat| {
                if is(l.st_mode, FileType::Symlink) { at.stat().ok() } else { Some(l) }
            };
            let (Some(s), Some(d)) = (target(src_at, src_l), target(dst_at, dst_l)) else {
                return true;
            };
            if ino(&s) != ino(&d) {
                return true;
            }
            if opts.hard_link {
                // Linking the same file is fine; replacing a symlink to it still goes ahead.
                *return_now = !is(dst_l.st_mode, FileType::Symlink);
                return true;
            }
        }
        false
    }
}

/// `-u`: whether the destination is older than the source (then it is replaced). With `-p`,
/// the source time is truncated to what the destination filesystem can store.
fn dst_older(dst: &Stat, src: &Stat, _truncate: bool) -> bool {
    (dst.st_mtime, dst.st_mtime_nsec) < (src.st_mtime, src.st_mtime_nsec)
}

fn dot_or_dotdot(name: &OsStr) -> bool {
    name == "." || name == ".."
}

/// Whether `dst`'s directory is the current directory (for relative `-s` links).
fn in_current_dir(dst: &Path) -> bool {
    let parent = crate::sys::path::dir_of(dst);
    if parent == Path::new(".") {
        return true;
    }
    match (stat(Path::new(".")), stat(parent)) {
        (Ok(a), Ok(b)) => ino(&a) == ino(&b),
        _ => true,
    }
}

/// An entry's attributes, to set once its contents are in (now, or when the files handed
/// to workers before it are done).
struct DirFinish {
    src: At,
    dst: At,
    /// A directory's own fd (attributes land on the directory the walk filled, whatever
    /// its name leads to by then).
    dst_fd: Option<DirFd>,
    src_st: Stat,
    dst_st: Option<Stat>,
    new_dst: bool,
    dest_is_symlink: bool,
    omitted: u32,
    restore_mode: Option<u32>,
    after: u64,
}

/// GNU's two flags threaded through the recursion: whether a directory was already made
/// for this operand (its inode is remembered to catch a copy into itself), and whether the
/// copy ran into itself (the walk stops).
#[derive(Default)]
pub(crate) struct Marks {
    first_dir: bool,
    into_self: bool,
}

/// What `copy_dir` needs of the directory being copied.
struct DirCopy<'d> {
    new_dst: bool,
    src_st: &'d Stat,
    /// Whether the source directory may be reached through a symlink (-L, -H operands).
    follow: bool,
    ancestors: &'d [(u64, u64)],
    deref: Deref,
    dst_dev: Option<u64>,
}

/// Opens a source the walk says is a regular file; `None` sends it down the ordinary
/// stat-then-open path, which reports any error in GNU's order.
fn open_regular(path: &At) -> Option<Opened> {
    file::open_walked(path).ok().map(|(fd, st)| Opened { fd, st })
}

//! Making an entry once GNU's decisions say to: by kind — a directory (made, or merged
//! into; planned under `--dry-run`), a symlink (copied, or made to the source under `-s`),
//! a hard link, a fifo or device, or both ends of a regular file opened (its data is
//! `file`'s); backups and removals of what is in the way.

use super::*;

impl<'a> Cp<'a> {
    /// Makes the destination entry by the source's kind.
    pub(super) fn create(
        &mut self,
        w: Work,
        undo: Undo,
        opened: Option<OwnedFd>,
        first_dir: bool,
    ) -> Next {
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
            self.made(entry(names, Happened::Copied));
            return Next::Done(Status::Ok);
        }
        let symlink = matches!(kind, Kind::Symlink);
        let finish = Finish { symlink, ..Finish::of(&w, omitted) };
        let happened = match self.set_attributes(&finish) {
            Ok(()) => Happened::Copied,
            Err(said) => Happened::Said(said),
        };
        let ok = matches!(happened, Happened::Copied);
        self.made(entry(names, happened));
        Next::Done(Status::of(ok))
    }

    /// `-s`: a symlink to the source (relative ones only into the current directory).
    pub(super) fn make_symlink_to_source(&mut self, w: &Work) -> Result<Kind, Why> {
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
    pub(super) fn make_special(&mut self, w: &Work, omitted: u32) -> Result<Kind, Why> {
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
    pub(super) fn make_directory(
        &mut self,
        mut w: Work,
        undo: Undo,
        omitted: u32,
        first_dir: bool,
    ) -> Next {
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
    pub(super) fn dst_dir(&self, fd: &DirFd, st: &Stat) -> DstDir {
        let no_default_acl = self.opts.preserve.mode && !attr::has_default_acl(fd.as_fd());
        DstDir { dev: st.st_dev, no_default_acl }
    }

    /// What copying the directory `w`'s entries needs, into the directory `dst_dir`;
    /// `None` under `-x` when the source is on another filesystem than its parent.
    pub(super) fn contents(&self, w: &Work, dst_dir: DstDir) -> Option<Contents> {
        let place = w.place;
        let parent_dev = place.parent.map(|p| p.st_dev);
        select::enters(self.opts, parent_dev, w.st.st_dev).then(|| Contents {
            new_dst: w.new_dst,
            src_st: w.st,
            follow: place.deref != Deref::Never,
            deref: select::below(place.deref),
            dst_dir: Some(dst_dir),
        })
    }

    /// A directory a dry run would make: said as a real run says it, and walked with
    /// nothing below it. A real run catches a copy into itself when its walk meets the
    /// directory it made inside the source; with nothing made, an operand whose
    /// destination would be inside its source directory is refused here.
    pub(super) fn plan_directory(&mut self, mut w: Work, undo: Undo, omitted: u32) -> Next {
        let (src, dst) = (w.src.path(), w.dst.path());
        if w.place.command_line && crate::sys::fs::is_within(dir_of(dst), ino(&w.st)) {
            let (top_src, top_dst) = self.top.clone();
            self.fail_entry(w.names(), &Error::refusal(Op::IntoItself(top_dst), &top_src));
            self.undo(w.dst, undo);
            return Next::Done(Status::IntoItself);
        }
        self.starting(src, dst, None);
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
    pub(super) fn make_dir(
        &mut self,
        src: &Path,
        dst: &At,
        mode: u32,
    ) -> Result<(DirFd, Stat), Error> {
        let path = dst.path();
        dst.mkdir(mode).map_err(|e| Error::new(Op::CreateDir, path, e))?;
        let (fd, made) = dst.open_new_dir().map_err(|e| Error::new(Op::OpenDir, path, e))?;
        if made.st_mode & S_IRWXU != S_IRWXU {
            attr::chmod(Node::Fd(fd.as_fd(), path), made.st_mode | S_IRWXU)
                .map_err(|e| Error::new(Op::SetPermissions, path, e))?;
        }
        self.starting(src, path, None);
        Ok((fd, made))
    }

    /// Opens a destination directory that already exists (through a symlink only under
    /// `--keep-directory-symlink`), checking it is the one that was stat'ed.
    pub(super) fn open_existing_dir(
        &mut self,
        dst: &At,
        st: &Stat,
    ) -> Result<(DirFd, Stat), Error> {
        let follow = self.opts.keep_directory_symlink;
        dst.open_dest_dir(follow, st).map_err(|e| match e {
            Some(e) => Error::new(Op::Access, dst.path(), e),
            None => Error::refusal(Op::Replaced, dst.path()),
        })
    }

    /// Copies a symlink as a symlink (`-P`, `-d`, `-a`, `-r`), keeping an identical existing
    /// one under `-u`, and its owner under `--preserve=ownership`.
    pub(super) fn copy_symlink(&mut self, w: &Work) -> Result<Kind, Why> {
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
            self.warn(&error.to_string());
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
    pub(super) fn resume_from(&self, w: &Work) -> u64 {
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
    pub(super) fn open_regular(&mut self, w: Work, undo: Undo, opened: Option<OwnedFd>) -> Next {
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
            Ok(mut ends) => {
                if let Some(found) = &w.earlier {
                    ends.read_from_earlier(found);
                }
                ends
            }
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
    pub(super) fn predict_file(&mut self, w: Work, undo: Undo, opened: Option<OwnedFd>) -> Next {
        // `--copy-dest`: the data would come from the earlier copy.
        let (src, src_st, opened) = match &w.earlier {
            Some(found) => (&found.at, &found.st, None),
            None => (w.src, &w.st, opened),
        };
        let forecast = dry_run::Forecast {
            src,
            src_st,
            follow: w.place.deref != Deref::Never && w.earlier.is_none(),
            opened,
            dst: w.dst,
            existing: w.dst_st.as_ref().filter(|_| !w.new_dst),
            dir_dev: w.place.dst_dir.map(|d| d.dev),
            resume_from: self.resume_from(&w),
        };
        let result = self.dry.predict(forecast, self.opts);
        let earlier = w.earlier.as_ref().map(|found| &found.earlier);
        file::report_file(&self.out, (w.src, w.dst), (&result, earlier), (&[], false));
        if result.is_err() {
            return self.undo(w.dst, undo);
        }
        self.record_dest(w.dst, w.place.command_line);
        Next::Done(Status::Ok)
    }

    /// Renames `dst` to its backup name (a dry run only names it). Returns that name.
    pub(super) fn back_up(&self, dst: &At) -> Result<At, Errno> {
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
    pub(super) fn unlink(&self, dst: &At) -> Result<(), Errno> {
        if self.opts.dry_run { Ok(()) } else { dst.unlink() }
    }

    /// Links `w`'s destination to `from`, replacing what is there if `replace` (a dry run
    /// only looks at what is in the way).
    pub(super) fn link(&self, from: &At, w: &Work, replace: bool) -> Result<Linked, Errno> {
        if self.opts.dry_run {
            return dry_run::would_make(still_there(w), replace);
        }
        create::force_link(from, w.dst, replace, w.dereference)
    }

    /// Makes `w`'s destination a symlink to `target`, replacing what is there if `replace`
    /// (a dry run only looks at what is in the way).
    pub(super) fn symlink(&self, target: &Path, w: &Work, replace: bool) -> Result<Linked, Errno> {
        if self.opts.dry_run {
            return dry_run::would_make(still_there(w), replace);
        }
        create::force_symlink(target, w.dst, replace)
    }

    pub(super) fn note_link(&mut self, dst: &Path, made: Linked) {
        if matches!(made, Linked::Replaced) {
            self.removed(dst);
        }
    }
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

impl Cp<'_> {
    /// The first earlier copy in which `w`'s regular file is unchanged.
    /// With `--verify`, a file linked to or left out for its earlier copy must have the
    /// source's bytes there (read both); one copied from it is read back afterwards.
    pub(super) fn unchanged_earlier(&mut self, w: &Work) -> Option<basis::Found> {
        let bases = self.bases?;
        if w.dir || !is(w.st.st_mode, FileType::RegularFile) {
            return None;
        }
        let found =
            basis::find(bases, &mut self.looked, (w.dst.path(), &w.st), self.opts.preserve)?;
        if self.opts.verify && bases.how != BasisHow::Copy && !basis::same_bytes(w.src, &found) {
            return None;
        }
        Some(found)
    }

    /// `--compare-dest`: the file is unchanged in an earlier copy: left out.
    pub(super) fn left_out(&mut self, w: &Work, found: &basis::Found) -> Next {
        // An old file there is not what the incremental should hold.
        if w.dst_st.is_some_and(|d| !is(d.st_mode, FileType::Directory)) {
            match self.unlink(w.dst) {
                Ok(()) => self.removed(w.dst.path()),
                Err(Errno::NOENT) => {}
                Err(e) => {
                    let error = Error::new(Op::Remove, w.dst.path(), e);
                    self.fail_entry(w.names(), &error);
                    return Next::Done(Status::Failed);
                }
            }
        }
        let names = w.names();
        let happened = Happened::Skipped(Skip::Unchanged);
        let (src, dst, kind, earlier) = (names.src, names.dst, names.kind, Some(&found.earlier));
        self.out.finished(Entry { src, dst, kind, record: None, happened, earlier });
        Next::Done(Status::Ok)
    }

    /// `--link-dest`: the destination becomes a hard link to the unchanged earlier copy.
    /// `None` where the filesystem will not link it (too many links, another filesystem,
    /// not allowed) or it was replaced meanwhile: then the file is copied.
    pub(super) fn link_earlier(&mut self, w: &Work, found: &basis::Found) -> Option<Next> {
        let made = if self.opts.dry_run {
            // A link to another filesystem would fail (EXDEV): the file would be copied.
            let dir = w.place.dst_dir.map(|d| d.dev).or_else(|| {
                rustix::fs::stat(crate::sys::path::dir_of(w.dst.path())).ok().map(|st| st.st_dev)
            });
            if dir.is_some_and(|dev| dev != found.st.st_dev) {
                return None;
            }
            dry_run::would_make(still_there(w), true)
        } else {
            create::force_link(&found.at, w.dst, true, false)
        };
        match made {
            Ok(made) if self.opts.dry_run || basis::linked_to(w.dst, &found.st) => {
                self.note_link(w.dst.path(), made);
                self.record_dest(w.dst, w.place.command_line);
                let names = w.names();
                let (src, dst, kind) = (names.src, names.dst, names.kind);
                let earlier = Some(&found.earlier);
                let happened = Happened::Copied;
                self.out.finished(Entry { src, dst, kind, record: None, happened, earlier });
                Some(Next::Done(Status::Ok))
            }
            // Another file took the earlier copy's name between the look and the link.
            Ok(_) => {
                let _ = w.dst.unlink();
                None
            }
            Err(Errno::MLINK | Errno::XDEV | Errno::PERM | Errno::ACCESS | Errno::NOENT) => None,
            Err(e) => {
                let error =
                    Error::new(Op::HardLink(found.at.path().to_path_buf()), w.dst.path(), e);
                self.fail_entry(w.names(), &error);
                Some(Next::Done(Status::Failed))
            }
        }
    }
}

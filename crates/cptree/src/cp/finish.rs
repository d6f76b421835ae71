//! How an entry ends, the one place `Cp` reports from: a file filled here or handed to a
//! worker, a directory's attributes and record after its contents, failures (with GNU's
//! undo: the remembered inode forgotten, a backup put back), skips, and the attribute
//! rules' messages. The decisions (`mod.rs`) and the making (`create.rs`) call these; they
//! print nothing themselves.

use super::*;

impl<'a> Cp<'a> {
    /// `-v`'s line for an entry about to be made (naming the backup made of what was there).
    pub(super) fn starting(&self, src: &Path, dst: &Path, backup: Option<&Path>) {
        self.out.starting(src, dst, backup);
    }

    /// `-v`: `removed 'x'`, an existing destination unlinked.
    pub(super) fn removed(&self, dst: &Path) {
        self.out.removed(dst);
    }

    /// A warning or notice that fails nothing (`source file 'a' specified more than once`).
    pub(super) fn warn(&self, text: &str) {
        self.out.message(text);
    }

    /// An entry made (or refused with what happened to it), with no attributes left to set.
    pub(super) fn made(&mut self, entry: Entry) {
        self.out.finished(entry);
    }

    /// Fills an opened file on this thread and finishes it.
    pub(crate) fn fill_here(&mut self, src: &At, dst: &At, f: FileNext, w: &mut Scratch) -> Status {
        let FileNext { ends, undo, command_line, .. } = f;
        let earlier = ends.earlier().cloned();
        let fill = |s: &At, d: &At, a: &mut Attrs| file::fill_and_close(s, d, ends, w, a);
        let copied =
            file::fill_reported(&self.out, self.attrs(), (src, dst, earlier.as_ref()), fill);
        if !copied {
            self.undo(dst, undo);
            return Status::Failed;
        }
        self.record_dest(dst, command_line);
        Status::Ok
    }

    /// A regular file the walk opened (`opened`) in a directory rcp just made (`dst_dir`):
    /// nothing can be there, so none of GNU's decisions about a destination apply — made,
    /// filled and reported here, as a worker does a batch of them.
    pub(crate) fn copy_new(
        &mut self,
        (src, dst): (&At, &At),
        opened: Opened,
        dst_dir: Option<DstDir>,
        w: &mut Scratch,
    ) {
        self.starting(src.path(), dst.path(), None);
        file::fill_reported(&self.out, self.attrs(), (src, dst, None), |s, d, a| {
            file::fill_new_file(s, d, (opened.fd, opened.st), dst_dir, w, a)
        });
    }

    /// A file given to a worker counts as copied for now (its outcome is reported in order
    /// when it is done). Returns its open ends.
    pub(crate) fn hand_over(&mut self, dst: &At, f: FileNext) -> Ends {
        self.record_dest(dst, f.command_line);
        f.ends
    }

    /// Records a command-line destination as just created.
    pub(super) fn record_dest(&mut self, dst: &At, command_line: bool) {
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

    /// GNU's failure path: forget the inode remembered and put a backup back.
    pub(super) fn undo(&mut self, dst: &At, undo: Undo) -> Next {
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

    /// An entry another rank sent that is not what it was here (`src` → `dst`, of `kind`):
    /// its record fails.
    pub(crate) fn lost(
        &mut self,
        (src, dst): &(PathBuf, PathBuf),
        kind: Option<Kind>,
        error: &Error,
    ) {
        self.fail_entry(Names { src, dst, kind }, error);
    }

    /// An operand that could not be started (`--parents` could not make its directories).
    pub(crate) fn operand_failed(&mut self, src: &Path, dst: &Path, error: &Error) {
        self.fail_entry(Names { src, dst, kind: None }, error);
    }

    /// Reports an entry's failure: its message and its record; the run has failed.
    pub(super) fn fail_entry(&mut self, names: Names, error: &Error) {
        self.out.finished(entry(names, Happened::Failed(error)));
    }

    /// Reports a refusal or failure that ends the entry.
    pub(super) fn refuse(&mut self, names: Names, error: Error) -> Next {
        self.fail_entry(names, &error);
        Next::Done(Status::Failed)
    }

    /// Reports why making an entry failed.
    pub(super) fn failed_why(&mut self, names: Names, why: Why) {
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
    pub(super) fn skip(&mut self, names: Names, reason: Skip) -> Next {
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

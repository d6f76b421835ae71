//! The walk: each operand, and recursively each directory's entries in inode order (GNU's
//! `copy_dir`), named relative to the source and destination directories it holds open.
//! It asks `cp` what to do with each entry, fills regular files in line or hands them to
//! the scheduler (whole batches of new files into a directory it just made, or a whole
//! directory it just made to a worker, which walks it the same way), sets a
//! directory's attributes after its contents, and stops an operand that runs into itself.

mod stack;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::Path;

use crate::cp::file::DstDir;
use crate::cp::preserve::Env;
use crate::cp::{
    self, Announced, Contents, Cp, DirNext, FileNext, Finish, HeldDir, Next, Opened, Place, Status,
    Visit,
};
use crate::error::{Error, Op};
use crate::options::{Deref, Interactive, Options};
use crate::plan::{Nonexistent, Pair, Plan};
use crate::report::{Kind, Reporter};
use crate::sched::{Job, Lanes, LateDir, Sched, Spill, Tree};
use crate::select;
use crate::sys::at::{At, DirFd, Entries, Pairs, find_below, read_entries};
use crate::sys::path::{dir_of, strip_slashes};
use crate::sys::{Ino, Seen, ino};
use copychain::Scratch;
use rustix::fs::{FileType, Mode, OFlags};
use stack::{Frame, Stack, open_again};
use std::path::PathBuf;
use std::sync::Arc;

/// Lines and places waiting to be printed before the walk pauses for the workers.
const BACKLOG: usize = 1024;
/// New files handed to one worker at a time.
const BATCH: usize = 128;
/// A file this big is worth a status line on SIGUSR1 (a thread to answer it).
const BIG_FILE: u64 = 64 << 20;

/// A run's walk: GNU's decisions (`cp`), the scheduler, and what the walk itself tracks.
pub(crate) struct Walk<'a, 'scope, 'env> {
    /// Who watches the copy (a progress display), told once, when the copy is worth
    /// watching (then `None`: no call per file).
    watch: Option<&'env mut (dyn Watch + 'env)>,
    pub(crate) cp: Cp<'a>,
    sched: Sched<'scope, 'env>,
    /// Every destination directory of the run: a source directory among them may hold
    /// files the workers are still filling (`cp -r . sub`), so it is read only once they
    /// are done, as GNU's one-at-a-time order would find them.
    dst_dirs: HashSet<Ino>,
    /// Regular files started so far (the first is never handed over: a single file starts
    /// no threads).
    files: u64,
    /// `--parents`: the last leading directory was missing, so the destination is new.
    parents_new_dst: bool,
    /// `--atomic`: destination directories already rid of stale temporaries.
    swept: HashSet<Ino>,
    /// The operand being copied (source, destination): `--exclude` patterns match paths
    /// relative to its source.
    root: (PathBuf, PathBuf),
    /// Directories this operand makes may go to workers whole (`trees_allowed`, and
    /// the destination is not inside the source).
    trees: bool,
    /// A directory of this operand went to a worker: wait for it before the next operand
    /// (which may merge into the same destination).
    handed_trees: bool,
    /// A directory went to another rank (`Spill`) since the last operand began.
    spilled: bool,
    /// The lanes of the directory whose entries are being walked: its files' jobs go out
    /// with them.
    lanes: Lanes,
    /// The directories `dir_ino` looked at last, and their identities.
    known_dirs: Vec<(PathBuf, Ino)>,
}

/// How an entry went, for the directory walking it.
/// (Whether it failed is the reporter's to count.)
struct Visited {
    into_self: bool,
    /// A file was left to the rank owning its inode (`Next::Defer`): its directory's
    /// attributes wait for it.
    deferred: bool,
}

impl Visited {
    fn of(status: Status) -> Visited {
        Visited { into_self: status == Status::IntoItself, deferred: false }
    }

    const DONE: Visited = Visited { into_self: false, deferred: false };
}

/// What visiting an entry left to do.
enum Step {
    Done(Visited),
    /// A directory whose entries are read: the walk goes through them next.
    Enter(Box<Frame>),
}

impl<'a, 'scope, 'env> Walk<'a, 'scope, 'env> {
    pub(crate) fn new(
        cp: Cp<'a>,
        sched: Sched<'scope, 'env>,
        watch: Option<&'env mut (dyn Watch + 'env)>,
    ) -> Self {
        Walk {
            watch,
            cp,
            sched,
            dst_dirs: HashSet::new(),
            files: 0,
            parents_new_dst: false,
            swept: HashSet::new(),
            root: Default::default(),
            trees: false,
            handed_trees: false,
            spilled: false,
            lanes: Lanes::default(),
            known_dirs: Vec::new(),
        }
    }

    /// Copies one pair, making and then fixing up its `--parents` directories.
    pub(crate) fn copy_pair(&mut self, pair: &Pair) {
        let Some(target) = &pair.parents_under else {
            return self.copy_operand(&pair.src, &pair.dst, pair.nonexistent);
        };
        let rel = strip_slashes(&pair.src);
        let leading = match cp::parents::make_parents(&mut self.cp, target, &rel) {
            Ok(leading) => leading,
            Err(error) => return self.cp.operand_failed(&pair.src, &pair.dst, &error),
        };
        // GNU's `new_dst` outlives the operand that set it.
        self.parents_new_dst = leading.new_dst.unwrap_or(self.parents_new_dst);
        let nonexistent = if self.parents_new_dst { Nonexistent::Yes } else { pair.nonexistent };
        self.copy_operand(&pair.src, &pair.dst, nonexistent);
        self.drain();
        // A failure is printed (and fails the run) where it happens.
        cp::parents::protect(&mut self.cp, &leading.dirs);
    }

    /// Copies one command-line operand to `dst`; failures are reported and flagged.
    fn copy_operand(&mut self, src: &Path, dst: &Path, nonexistent: Nonexistent) {
        if !self.sched.idle() && self.meets_jobs(src, dst) {
            self.drain();
        }
        self.cp.begin_operand(src, dst);
        self.root = (src.to_path_buf(), dst.to_path_buf());
        self.trees = trees_allowed(self.cp.opts, self.spread()) && !dst_inside_src(src, dst);
        if self.cp.opts.atomic {
            let parent = dir_of(dst);
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            if let Ok(fd) = rustix::fs::openat(rustix::fs::CWD, parent, flags, Mode::empty()) {
                self.sweep(&Arc::new(fd), parent);
            }
        }
        let place = Place {
            parent: None,
            ancestors: &[],
            deref: self.cp.opts.deref,
            command_line: true,
            dst_dir: None,
        };
        let (src, dst) = (At::cwd(src), At::cwd(dst));
        let visit = Visit {
            src: &src,
            dst: &dst,
            nonexistent,
            place: &place,
            opened: None,
            first_dir: false,
        };
        let step = self.visit(visit, false);
        self.walk(step, Vec::new());
        if std::mem::take(&mut self.handed_trees) {
            self.drain();
        }
    }

    /// One entry: GNU's decisions, then its data, or the directory to walk into (entered:
    /// its entries read; the walk's loop takes it from there). `more_dirs`: another
    /// directory follows it in its directory (the walk has more to do, so a directory may
    /// go to a worker).
    fn visit(&mut self, v: Visit, more_dirs: bool) -> Step {
        let (src, dst, command_line) = (v.src, v.dst, v.place.command_line);
        let ancestors = v.place.ancestors;
        match self.cp.entry(v) {
            Next::Done(status) => Step::Done(Visited::of(status)),
            Next::File(file) => Step::Done(Visited::of(self.copy_file(src, dst, *file))),
            Next::Dir(dir) if more_dirs && self.may_hand_over(&dir) => {
                let (root, ancestors) = (self.root.clone(), ancestors.to_vec());
                let tree = Box::new(Tree { dir: *dir, root, ancestors });
                let kept = match self.sched.spill() {
                    Some(spill) => spill.spill(tree),
                    None => Err(tree),
                };
                match kept {
                    Ok(()) => {
                        self.spilled = true;
                        Step::Done(Visited::DONE)
                    }
                    Err(tree) => self.hand_over_tree(tree),
                }
            }
            Next::Dir(dir) => self.enter(*dir, command_line),
            Next::Defer(file) => {
                if let Some(spill) = self.sched.spill() {
                    spill.defer(&self.root, *file);
                }
                Step::Done(Visited { deferred: true, ..Visited::DONE })
            }
        }
    }

    /// A directory rcp just made goes to the workers whole, or is walked here if they
    /// have enough waiting already.
    fn hand_over_tree(&mut self, tree: Box<Tree>) -> Step {
        let lanes = match (&tree.dir.opened, &tree.dir.contents) {
            (Some((fd, st)), Some(contents)) => {
                self.sched.lanes((&contents.src_st, None), (st, Some(fd.as_fd())))
            }
            _ => Lanes::default(),
        };
        match self.sched.submit_tree(tree, lanes) {
            Ok(()) => {
                self.handed_trees = true;
                Step::Done(Visited::DONE)
            }
            Err(tree) => self.enter(tree.dir, false),
        }
    }

    /// Whether the directory rcp just made may go to a worker whole: trees are allowed
    /// for this operand, and it is new (nothing below it to decide against). An operand
    /// itself never goes (it has no directory after it: `more_dirs` is false).
    fn may_hand_over(&self, dir: &DirNext) -> bool {
        self.trees && dir.opened.is_some() && dir.contents.as_ref().is_some_and(|c| c.new_dst)
    }

    /// A regular file: filled here, or by a worker when nothing after it depends on it.
    fn copy_file(&mut self, src: &At, dst: &At, file: FileNext) -> Status {
        self.count_file(file.ends.size());
        if file.independent && self.files > 1 && self.sched.parallel() {
            let ends = self.cp.hand_over(dst, file);
            let reads = ends.source();
            let job = Job::Fill { src: src.clone(), dst: dst.clone(), ends: Box::new(ends) };
            self.submit(job, reads);
            return Status::Ok;
        }
        self.cp.fill_here(src, dst, file, self.sched.scratch())
    }

    /// A regular file the walk opened, into a directory rcp just made: copied here with
    /// none of GNU's decisions about what is at the destination (nothing is).
    fn copy_new(&mut self, (src, dst): (&At, &At), opened: Opened, dst_dir: Option<DstDir>) {
        self.count_file(opened.st.st_size as u64);
        self.cp.copy_new((src, dst), opened, dst_dir, self.sched.scratch());
    }

    /// A file (of `size` bytes) about to be copied here: the watcher is woken once the
    /// copy is worth watching (a second file, or a big one).
    fn count_file(&mut self, size: u64) {
        self.files += 1;
        if self.files > 1 || size >= BIG_FILE {
            self.wake_monitor();
        }
    }

    /// A directory: its source opened and its entries read (GNU's `copy_dir` up to its
    /// loop), ready for the walk to go through; or, with no contents to copy (`-x`) or
    /// none that could be read, finished here.
    fn enter(&mut self, dir: DirNext, command_line: bool) -> Step {
        let DirNext { opened, contents, first_dir, finish } = dir;
        self.wake_monitor();
        if let Some((_, made)) = &opened {
            self.dst_dirs.insert(ino(made));
        }
        let Some(contents) = contents else {
            let visited = Visited::DONE;
            return Step::Done(self.leave_dir(finish, command_line, visited, None));
        };
        if self.dst_dirs.contains(&ino(&contents.src_st)) {
            self.drain();
        }
        if let Some((dst_fd, _)) =
            opened.as_ref().filter(|_| self.cp.opts.atomic && !contents.new_dst)
        {
            self.sweep(dst_fd, finish.dst().path());
        }
        let (src_fd, entries) = match read_source_dir(finish.src(), &contents) {
            Ok(read) => read,
            Err(error) => {
                self.cp.fail(&error);
                let visited = Visited::DONE;
                return Step::Done(self.leave_dir(finish, command_line, visited, Some(error)));
            }
        };
        let lanes = opened.as_ref().map_or_else(Lanes::default, |(fd, st)| {
            self.sched.lanes((&contents.src_st, Some(src_fd.as_fd())), (st, Some(fd.as_fd())))
        });
        let dirs_left = entries.iter().filter(|&(_, kind)| may_be_dir(kind)).count();
        Step::Enter(Box::new(Frame {
            finish,
            command_line,
            src_fd: Some(src_fd),
            dst_st: opened.map(|(_, st)| st),
            contents,
            entries,
            next: 0,
            dirs_left,
            first_dir,
            lanes,
            batch: None,
            into_self: false,
            deferred: false,
            lost: None,
            src_end: 0,
            dst_end: 0,
            name_len: 0,
        }))
    }

    /// A directory's contents are in (or could not be read: `unread`): its attributes,
    /// later if files are still with the workers.
    fn leave_dir(
        &mut self,
        finish: Finish,
        command_line: bool,
        visited: Visited,
        unread: Option<Error>,
    ) -> Visited {
        self.cp.dir_filled(finish.dst(), command_line);
        match self.sched.spill().filter(|_| visited.deferred) {
            Some(spill) => spill.late(late_dir(finish, self.root.clone(), unread)),
            None => self.finish_dir(finish, unread),
        }
        Visited { deferred: false, ..visited }
    }

    /// Sets a directory's attributes and writes its record now, or once the files handed
    /// over before it are done (its record keeps its place in the output meanwhile).
    /// A waiting directory holds its fds: with `Fds::held` waiting, the walk waits for the
    /// workers instead.
    fn finish_dir(&mut self, finish: Finish, unread: Option<Error>) {
        while self.sched.deferred() >= self.sched.fds().held
            && self.sched.waiting_for(self.sched.last_seq())
        {
            self.collect(true);
        }
        if self.sched.waiting_for(self.sched.last_seq()) {
            let place = self.cp.out.hold();
            self.sched.defer(HeldDir { finish, place, unread });
            return;
        }
        self.cp.finish_dir(&finish, unread, None);
    }

    /// Walks the directory `step` entered and everything below it, GNU's `copy_dir`
    /// recursion as a loop over a stack of the directories the walk is in (any depth
    /// takes the same call stack); `ancestors`: the directories above it.
    fn walk(&mut self, step: Step, ancestors: Vec<Ino>) -> Visited {
        let frame = match step {
            Step::Done(visited) => return visited,
            Step::Enter(frame) => frame,
        };
        let mut stack = Stack::new(*frame, ancestors, self.sched.levels());
        loop {
            if let Some(child) = self.entries(&mut stack) {
                stack.push(*child);
                continue;
            }
            let visited = self.leave_frame(&mut stack);
            match stack.frames.last_mut() {
                Some(parent) => {
                    parent.into_self |= visited.into_self;
                }
                None => return visited,
            }
        }
    }

    /// The innermost directory's next entries (GNU's `copy_dir` loop: in inode order,
    /// named relative to its source and destination directories; into a directory rcp
    /// just made, a regular file is opened straight away, or handed to a worker whole)
    /// until one is a directory to walk into (returned), or none is left.
    fn entries(&mut self, stack: &mut Stack) -> Option<Box<Frame>> {
        let top = stack.frames.len().checked_sub(1)?;
        if !stack.frames[top].is_open() && stack.frames[top].lost.is_none() {
            self.reopen(stack, top);
        }
        let Stack { frames, src, dst, ancestors, .. } = stack;
        let frame = frames.last_mut()?;
        self.lanes = frame.lanes;
        if frame.lost.is_some() {
            return None;
        }
        let src_fd = frame.src_fd.clone()?;
        let dst_fd = frame.finish.dst_fd().cloned();
        let dst_dir = frame.contents.dst_dir;
        let from = ino(&frame.contents.src_st);
        let place = Place {
            parent: Some(&frame.contents.src_st),
            ancestors,
            deref: frame.contents.deref,
            command_line: false,
            dst_dir,
        };
        let opts = self.cp.opts;
        let new_dst = frame.contents.new_dst;
        let nonexistent = if new_dst { Nonexistent::Yes } else { Nonexistent::Unknown };
        let open_early = new_dst && !opts.hard_link && !opts.symbolic_link;
        // New files are made with no look at each (here, or by a worker a batch at a time):
        // not where files are looked up in earlier copies or hard links are kept.
        let direct = open_early
            && dst_fd.is_some()
            && !opts.dry_run
            && !opts.preserve.links
            && self.cp.bases.is_none();
        let hand_over = direct && self.sched.parallel();
        // The entry's names, made once and renamed from one entry to the next.
        let mut names = None;
        while frame.next < frame.entries.len() && !frame.into_self {
            if self.cp.out.stopping() {
                break;
            }
            let (name, kind) = frame.entries.get(frame.next);
            frame.next += 1;
            let regular = kind == FileType::RegularFile;
            frame.dirs_left -= usize::from(may_be_dir(kind));
            let batched = hand_over && regular && self.files > 0;
            // A batched file is named by the worker that copies it (unless --exclude needs
            // its name here).
            let named = (!batched || opts.exclude.is_some())
                .then(|| name_entry(&mut names, (&src_fd, src), (dst_fd.as_ref(), dst), name));
            if let Some((s, d)) = named
                && let Some(kind) = self.excluded(s, kind, frame.contents.deref)
            {
                // Its record comes after those of the files batched before it.
                if let Some(batch) = frame.batch.take() {
                    self.hand_over_new_files(batch, dst_dir, from);
                }
                self.cp.excluded(s, d, kind);
                continue;
            }
            if batched && let Some(dst_fd) = &dst_fd {
                let dirs = ((&src_fd, src.as_path()), (dst_fd, dst.as_path()));
                let batch = frame.batch.get_or_insert_with(|| Pairs::new(dirs.0, dirs.1));
                batch.push(name);
                if batch.len() == BATCH {
                    let batch = frame.batch.take().expect("the batch just filled");
                    self.hand_over_new_files(batch, dst_dir, from);
                }
                continue;
            }
            if let Some(batch) = frame.batch.take() {
                self.hand_over_new_files(batch, dst_dir, from);
            }
            let (s, d) = named.expect("an entry not batched is named");
            let opened = if open_early && regular { open_regular(s) } else { None };
            let opened = match opened {
                Some(opened) if direct => {
                    self.copy_new((s, d), opened, dst_dir);
                    continue;
                }
                opened => opened,
            };
            let first_dir = frame.first_dir;
            let visit = Visit { src: s, dst: d, nonexistent, place: &place, opened, first_dir };
            match self.visit(visit, frame.dirs_left > 0) {
                Step::Done(entry) => {
                    frame.into_self |= entry.into_self;
                    frame.deferred |= entry.deferred;
                }
                Step::Enter(child) => return Some(child),
            }
        }
        None
    }

    /// The innermost directory is done: its last batch goes, it leaves the stack, and its
    /// attributes are set (or deferred). Returns how it went.
    fn leave_frame(&mut self, stack: &mut Stack) -> Visited {
        let top = stack.frames.last_mut().expect("a directory to leave");
        if let Some(batch) = top.batch.take() {
            let from = ino(&top.contents.src_st);
            self.hand_over_new_files(batch, top.contents.dst_dir, from);
        }
        // The walk goes on in the parent: open again if it was closed (its fds also name
        // this directory for its attributes).
        let depth = stack.frames.len();
        if let Some(parent) = depth.checked_sub(2).map(|at| &stack.frames[at])
            && !parent.is_open()
            && parent.lost.is_none()
        {
            self.reopen(stack, depth - 2);
        }
        let (mut frame, names) = stack.pop();
        if let Some(parent) = stack.frames.last().filter(|parent| !parent.is_open()) {
            // Not reached again: this directory is named by path only, its source is not
            // there to read attributes from.
            frame.lost = frame.lost.take().or_else(|| parent.lost.clone());
        }
        self.lanes = stack.frames.last().map_or_else(Lanes::default, |parent| parent.lanes);
        let Frame { mut finish, command_line, into_self, deferred, lost, .. } = frame;
        if let Some((src, dst)) = names {
            finish.set_names(src, dst);
        }
        if lost.is_some() {
            finish.lose();
        }
        let visited = Visited { into_self, deferred };
        self.leave_dir(finish, command_line, visited, lost)
    }

    /// Opens again the directories of frame `at` of `stack` and of the closed frames above
    /// it, from its nearest open ancestor (the outermost frame opens from its own names)
    /// down, each by name from the one above, never through a symlink unless the first
    /// open did follow one, and checked to be the directory it was. The innermost `levels`
    /// stay open. A frame that cannot be reached is lost, with those below it up to `at`:
    /// the message is printed once.
    fn reopen(&mut self, stack: &mut Stack, at: usize) {
        let keep_symlink = self.cp.opts.keep_directory_symlink;
        let start = stack.frames[..=at].iter().rposition(Frame::is_open).map_or(0, |i| i + 1);
        let mut opened = 0;
        for i in start..=at {
            let (src, dst) = match i {
                0 => (stack.frames[0].finish.src().clone(), stack.frames[0].finish.dst().clone()),
                _ => stack.names(i),
            };
            let frame = &mut stack.frames[i];
            let follow_dst = keep_symlink && !frame.contents.new_dst;
            match open_again(frame, (&src, &dst), follow_dst) {
                Ok((src_fd, dst_fd)) => {
                    frame.src_fd = Some(src_fd);
                    frame.finish.set_dst_fd(dst_fd);
                }
                Err(error) => {
                    self.cp.fail(&error);
                    for frame in &mut stack.frames[i..=at] {
                        frame.lost = Some(error.clone());
                    }
                    break;
                }
            }
            stack.open += 1;
            opened += 1;
            // Keep the innermost open, and this one for the next.
            if stack.open > stack.levels && opened > 1 {
                stack.frames[i + 1 - opened].close();
                stack.open -= 1;
                opened -= 1;
            }
        }
        stack.first_open = stack.first_open.min(start.saturating_sub(1));
    }

    /// The copy is worth watching (a directory, a second file, a big one): the watcher is
    /// told, once.
    fn wake_monitor(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.wake();
        }
    }

    /// Regular files for a directory rcp just made go to one worker, whole (`from`: the
    /// source directory they are read from).
    fn hand_over_new_files(&mut self, files: Pairs, dst_dir: Option<DstDir>, from: Ino) {
        self.files += files.len() as u64;
        self.submit(Job::Batch { files: Box::new(files), dst_dir }, from);
    }

    /// Hands a job that `reads` a file (or a directory's files) to the scheduler and keeps
    /// the backlog of output bounded.
    fn submit(&mut self, job: Job, reads: Ino) {
        self.sched.submit(job, self.lanes, reads);
        self.collect(false);
        while self.cp.out.backlog() > BACKLOG {
            if !self.collect(true) {
                break;
            }
        }
    }

    /// Reports the jobs the workers have finished (`wait`: at least one), then sets the
    /// attributes of directories that were waiting for them. Returns whether one was
    /// reported.
    fn collect(&mut self, wait: bool) -> bool {
        let any = self.sched.collect(wait);
        while let Some(held) = self.sched.ready() {
            self.cp.finish_dir(&held.finish, held.unread, Some(held.place));
        }
        any
    }

    /// Waits for every job handed to the workers and reports them.
    pub(crate) fn drain(&mut self) {
        while !self.sched.idle() {
            self.collect(true);
        }
    }

    /// Drains the workers and lets them exit.
    pub(crate) fn close(&mut self) {
        self.drain();
        self.sched.close();
    }
}

impl Walk<'_, '_, '_> {
    /// Whether this walk is one rank's of a spread copy.
    fn spread(&self) -> bool {
        self.sched.spill().is_some()
    }

    /// Whether `--exclude` leaves out the entry at `src` (of type `kind`, as d_type says),
    /// and then its type: a directory only by its own type, or its target's under `-L`.
    fn excluded(&self, src: &At, kind: FileType, deref: Deref) -> Option<FileType> {
        self.cp.opts.exclude.as_ref()?;
        let kind = match kind {
            FileType::Unknown => src.lstat().map_or(kind, |st| FileType::from_raw_mode(st.st_mode)),
            FileType::Symlink if deref == Deref::Always => {
                src.stat().map_or(kind, |st| FileType::from_raw_mode(st.st_mode))
            }
            kind => kind,
        };
        let relative = src.path().strip_prefix(&self.root.0).unwrap_or(src.path());
        select::excluded(self.cp.opts, relative, kind).then_some(kind)
    }

    /// Whether the operand `src` → `dst` may read or write what a job of an earlier
    /// operand still reads or writes: then it waits for them, as GNU's one-at-a-time order
    /// would have it. A directory always does; a file when its destination is a file a job
    /// reads (or is in a directory whose files a batch reads), or either end is in a
    /// directory this run made.
    fn meets_jobs(&mut self, src: &Path, dst: &Path) -> bool {
        use rustix::fs::stat;
        let made = |walk: &mut Self, path: &Path| {
            walk.dir_ino(dir_of(path)).is_some_and(|id| walk.dst_dirs.contains(&id))
        };
        match stat(src) {
            Ok(st) if crate::sys::is(st.st_mode, FileType::Directory) => return true,
            Err(_) => return false,
            Ok(_) if made(self, src) => return true,
            Ok(_) => {}
        }
        match stat(dst) {
            Ok(st) if crate::sys::is(st.st_mode, FileType::Directory) => true,
            Ok(st) => {
                let dir = self.dir_ino(dir_of(dst));
                self.sched.reads_from(ino(&st), dir)
                    || dir.is_some_and(|id| self.dst_dirs.contains(&id))
            }
            Err(_) => made(self, dst),
        }
    }

    /// The identity of the directory `path` (the last few asked for are remembered: file
    /// operands mostly share their directories).
    fn dir_ino(&mut self, path: &Path) -> Option<Ino> {
        if let Some((_, id)) = self.known_dirs.iter().find(|(known, _)| known == path) {
            return Some(*id);
        }
        let id = ino(&rustix::fs::stat(path).ok()?);
        if self.known_dirs.len() == 4 {
            self.known_dirs.remove(0);
        }
        self.known_dirs.push((path.to_path_buf(), id));
        Some(id)
    }

    /// `--atomic`: removes, once per directory, temporaries a killed rcp left there.
    fn sweep(&mut self, dir: &DirFd, path: &Path) {
        if self.cp.opts.dry_run {
            return;
        }
        let Ok(st) = rustix::fs::fstat(dir) else { return };
        if !self.swept.insert(ino(&st)) {
            return;
        }
        for stale in cp::file::sweep_stale_temps(dir, path) {
            let (name, pid) = (crate::quote::quote(&stale.path), stale.pid);
            self.cp.out.debug(&format!("removed stale temporary {name} (process {pid} is over)"));
        }
    }
}

/// Whether an entry of this type (as `d_type` says) may be a directory: one, or unknown (a
/// filesystem without `d_type`: many FUSE ones, XFS without ftype) — counted as one, so a
/// directory met before it may still go to a worker or another rank.
fn may_be_dir(kind: FileType) -> bool {
    matches!(kind, FileType::Directory | FileType::Unknown)
}

/// Opens a source directory (checking it is the one stat'ed) and reads its entries.
fn read_source_dir(src: &At, dir: &Contents) -> Result<(DirFd, Entries), Error> {
    let (fd, _) = src.open_dir(dir.follow, &dir.src_st).map_err(|e| match e {
        Some(e) => Error::new(Op::Access, src.path(), e),
        None => Error::refusal(Op::Replaced, src.path()),
    })?;
    let entries = read_entries(&fd).map_err(|e| Error::new(Op::Access, src.path(), e))?;
    Ok((fd, entries))
}

/// Opens a source the walk says is a regular file; `None` sends it down the ordinary
/// stat-then-open path, which reports any error in GNU's order.
fn open_regular(path: &At) -> Option<Opened> {
    cp::file::open_walked(path).ok().map(|(fd, st)| Opened { fd, st })
}

/// The entry `name` under the source directory `src` and the destination directory `dst`
/// (none: one a dry run would make), in `names`: made the first time, renamed in place
/// after.
fn name_entry<'n>(
    names: &'n mut Option<(At, At)>,
    src: (&DirFd, &Path),
    dst: (Option<&DirFd>, &Path),
    name: &OsStr,
) -> &'n (At, At) {
    if let Some((s, d)) = names {
        s.rename(name);
        d.rename(name);
    }
    names.get_or_insert_with(|| {
        let d = match dst.0 {
            Some(fd) => At::child(fd, dst.1, name),
            None => At::planned(dst.1, name),
        };
        (At::child(src.0, src.1, name), d)
    })
}

/// Whether directories may be copied on workers whole under `opts`: nothing one subtree
/// does may depend on another's. Not with `-i` (questions in order), `-l`/`-s` or
/// `--preserve=links` (links to copies made elsewhere in the tree), `-L` (a symlink may
/// lead into another subtree, or into what is being made), or a dry run (no workers).
///
/// In a copy spread over ranks (`spread`), `--preserve=links` does not stop them: a file
/// with other links goes to the rank owning its inode (`links_deferred`).
fn trees_allowed(opts: &Options, spread: bool) -> bool {
    opts.recursive
        && opts.interactive != Interactive::Ask
        && !opts.hard_link
        && !opts.symbolic_link
        && (!opts.preserve.links || spread && links_deferred(opts))
        && opts.deref != Deref::Always
        && !opts.dry_run
}

/// Whether a spread copy leaves files with other hard links to the rank owning their
/// inode: `--preserve=links`, and the copy makes files (not links; not a dry run, which
/// keeps everything on rank 0).
fn links_deferred(opts: &Options) -> bool {
    opts.preserve.links && !opts.hard_link && !opts.symbolic_link && !opts.dry_run
}

/// A directory to finish later, its fds let go.
fn late_dir(mut finish: Finish, root: (PathBuf, PathBuf), unread: Option<Error>) -> LateDir {
    let names = (finish.src().path().to_path_buf(), finish.dst().path().to_path_buf());
    finish.forget_names();
    finish.set_dst_fd(None);
    LateDir { finish, names, root, unread }
}

/// Whether the destination `dst` is (or would be made) inside the source directory `src`:
/// then the walk must meet what it makes in GNU's order, to stop at it.
fn dst_inside_src(src: &Path, dst: &Path) -> bool {
    rustix::fs::stat(src).is_ok_and(|st| crate::sys::fs::is_within(dir_of(dst), ino(&st)))
}

/// A tree handed to a worker: the directory's contents and then its attributes, walked
/// in line with `cp` (which prints into the tree's place in the output).
fn walk_tree<'s, 'e>(tree: Tree, cp: Cp<'e>, sched: Sched<'s, 'e>) -> Scratch {
    let mut walk = Walk::new(cp, sched, None);
    // Its directories may go to other ranks (not to other workers: they have enough).
    walk.trees = walk.spread() && trees_allowed(walk.cp.opts, true);
    walk.cp.defer_links = walk.spread() && links_deferred(walk.cp.opts);
    walk.root = tree.root;
    let step = walk.enter(tree.dir, false);
    walk.walk(step, tree.ancestors);
    walk.sched.into_scratch()
}

/// Someone watching a copy (a progress display): told when the copy becomes worth
/// watching — it met a directory, a second file, or a big one — so that a single small
/// file starts nothing.
pub trait Watch {
    /// The copy is worth watching. Called at most once a run.
    fn wake(&mut self);
}

/// Copies every pair of `plan` with `opts`, reporting through `out`, telling `watch` when
/// the copy is worth watching; the workers are gone when it returns. Whether anything
/// failed is the reporter's to say (`Reporter::failed`).
pub fn copy_all<'a>(
    opts: &'a Options,
    plan: &'a Plan,
    out: &'a Reporter,
    watch: Option<&'a mut (dyn Watch + 'a)>,
) {
    let env = Env::current();
    std::thread::scope(|scope| {
        let mut cp = Cp::new(opts, out.printer(), env, plan.track_operands);
        let mut sched = Sched::new(scope, (opts, out), env, (walk_tree, None));
        cp.bases = plan.bases.as_deref();
        sched.look_in(plan.bases.as_deref());
        let mut walk = Walk::new(cp, sched, watch);
        for pair in &plan.pairs {
            if out.stop().requested() {
                break;
            }
            walk.copy_pair(pair);
        }
        walk.close();
    })
}

/// What a rank of a spread copy is given to do, after its plan (rank 0's).
pub(crate) enum Given {
    /// A tree another rank made, landed here (or why it could not be).
    Tree(Result<Box<Tree>, Lost>),
    /// The files deferred by every rank whose inodes this rank owns, found again here (or
    /// why one could not be), in the order to copy them: the first name of an inode is
    /// copied, the others linked to it — or, for an inode a command-line file of it was
    /// copied from (`known`: inode, copy), all linked to that copy.
    Files { known: Vec<(Ino, PathBuf)>, files: Vec<Result<Owned, Lost>> },
    /// This rank's directories whose attributes waited for the files, deepest first.
    Dirs(Vec<LateDir>),
}

/// Work sent to this rank that could not be found again here: its names (source and
/// destination, as the walk showed them), its kind if known, and why.
pub(crate) struct Lost {
    pub(crate) names: (PathBuf, PathBuf),
    pub(crate) kind: Option<Kind>,
    pub(crate) error: Error,
}

/// A deferred file, found again on the rank that owns its inode.
pub(crate) struct Owned {
    /// Its operand (source, destination).
    pub(crate) root: (PathBuf, PathBuf),
    pub(crate) src: At,
    pub(crate) dst: At,
    /// Its source directory's status.
    pub(crate) parent: rustix::fs::Stat,
    /// Its destination directory is new.
    pub(crate) new_dst: bool,
    pub(crate) deref: Deref,
}

/// One rank of a copy spread over several processes: the work it is given and where it says
/// it is done (`spread` implements it over the ranks' messages).
pub(crate) trait Rank: Spill {
    /// The next work, or `None` when the whole copy is done.
    fn next(&self) -> Option<Given>;

    /// The work given last (the plan, on rank 0) is done, its output said.
    fn done(&self);

    /// A command-line file with other links was copied here: the rank owning its inode
    /// links the names of it met in trees to that copy.
    fn announce(&self, copied: Announced);

    /// Waits until no other rank has a tree of this one's (before an operand that may
    /// merge into the same destination).
    fn settle(&self);
}

/// Copies on one rank of a spread copy: every pair of `plan` (rank 0's, which has it), then
/// what `rank` is given, until the copy is done; like `copy_all` otherwise, with trees
/// spilling to other ranks that want one, files with other links left to the rank that
/// owns their inode, and big files copied in pieces `share` hands out.
pub(crate) fn copy_on_rank<'a>(
    opts: &'a Options,
    plan: Option<&Plan>,
    out: &'a Reporter,
    watch: Option<&'a mut (dyn Watch + 'a)>,
    (rank, share): (&'a dyn Rank, Arc<dyn copychain::Share>),
) {
    let env = Env::current();
    std::thread::scope(|scope| {
        let track = plan.is_some_and(|plan| plan.track_operands);
        let cp = Cp::new(opts, out.printer(), env, track);
        let mut sched = Sched::new(scope, (opts, out), env, (walk_tree, Some(rank as &dyn Spill)));
        // Big files are cut into pieces other ranks help with, on every thread.
        sched.scratch().share_with(share);
        let mut walk = Walk::new(cp, sched, watch);
        walk.cp.defer_links = links_deferred(opts);
        if let Some(plan) = plan {
            for pair in &plan.pairs {
                if out.stop().requested() {
                    break;
                }
                walk.copy_pair(pair);
                if std::mem::take(&mut walk.spilled) {
                    rank.settle();
                }
            }
            walk.drain();
            for copied in std::mem::take(&mut walk.cp.announced) {
                rank.announce(copied);
            }
            rank.done();
        }
        while let Some(given) = rank.next() {
            walk.take(given);
            walk.drain();
            rank.done();
        }
        walk.close();
    })
}

impl Walk<'_, '_, '_> {
    /// Does what this rank was given.
    fn take(&mut self, given: Given) {
        match given {
            Given::Tree(Ok(tree)) => self.copy_landed(*tree),
            Given::Files { known, files } => {
                // This rank owns these inodes: their names are decided here.
                self.cp.defer_links = false;
                for (id, copy) in known {
                    self.cp.remember_copy(id, &copy);
                }
                for file in files {
                    match file {
                        Ok(file) => self.copy_owned(file),
                        Err(lost) => self.cp.lost(&lost.names, lost.kind, &lost.error),
                    }
                }
            }
            Given::Dirs(dirs) => dirs.into_iter().for_each(|dir| self.finish_late(dir)),
            Given::Tree(Err(lost)) => self.cp.lost(&lost.names, lost.kind, &lost.error),
        }
    }

    /// A tree another rank sent: walked here as a worker walks one handed over.
    fn copy_landed(&mut self, tree: Tree) {
        self.cp.begin_operand(&tree.root.0, &tree.root.1);
        self.trees = trees_allowed(self.cp.opts, true);
        self.root = tree.root;
        let step = self.enter(tree.dir, false);
        self.walk(step, tree.ancestors);
    }

    /// A file whose inode this rank owns: GNU's decisions for it here, where the names of
    /// its inode copied before are remembered (the first is copied, the others linked).
    fn copy_owned(&mut self, file: Owned) {
        self.cp.begin_operand(&file.root.0, &file.root.1);
        self.root = file.root;
        let place = Place {
            parent: Some(&file.parent),
            ancestors: &[],
            deref: file.deref,
            command_line: false,
            dst_dir: None,
        };
        let nonexistent = if file.new_dst { Nonexistent::Yes } else { Nonexistent::Unknown };
        let (src, dst) = (&file.src, &file.dst);
        let visit = Visit { src, dst, nonexistent, place: &place, opened: None, first_dir: false };
        // Not a directory when deferred; one now (replaced meanwhile) is walked as one.
        let step = self.visit(visit, false);
        self.walk(step, Vec::new());
    }

    /// A directory of this rank's whose attributes waited: found again below its operand,
    /// checked to be the one it was, and finished; one that is not is lost (its record
    /// fails, its attributes are left alone).
    fn finish_late(&mut self, dir: LateDir) {
        let LateDir { mut finish, names, root, unread } = dir;
        let found = find_late(&root, &names, finish.ids());
        match found {
            Ok((src, dst, fd)) => {
                finish.set_names(src, dst);
                finish.set_dst_fd(Some(fd));
                self.cp.finish_dir(&finish, unread, None);
            }
            Err(error) => {
                self.cp.fail(&error);
                finish.set_names(At::cwd(&names.0), At::cwd(&names.1));
                finish.lose();
                self.cp.finish_dir(&finish, Some(error), None);
            }
        }
    }
}

/// A late directory's source and destination found again, and its destination opened.
fn find_late(
    root: &(PathBuf, PathBuf),
    names: &(PathBuf, PathBuf),
    (src_id, dst_id): (Ino, Option<Ino>),
) -> Result<(At, At, DirFd), Error> {
    let not_it = |path: &Path, e| Error::reopening(path, e);
    let found = |root, name, id| find_below(root, name, Seen::here(id));
    let (src, _) = found(&root.0, &names.0, src_id).map_err(|e| not_it(&names.0, e))?;
    let dst_id = dst_id.ok_or_else(|| not_it(&names.1, None))?;
    let (dst, st) = found(&root.1, &names.1, dst_id).map_err(|e| not_it(&names.1, e))?;
    let (fd, _) = dst.open_dest_dir(false, &st).map_err(|e| not_it(&names.1, e))?;
    Ok((src, dst, fd))
}

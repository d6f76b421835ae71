//! The walk: each operand, and recursively each directory's entries in inode order (GNU's
//! `copy_dir`), named relative to the source and destination directories it holds open.
//! It asks `cp` what to do with each entry, fills regular files in line or hands them to
//! the scheduler (whole batches of new files into a directory it just made, or a whole
//! directory it just made to a worker, which walks it the same way), sets a
//! directory's attributes after its contents, and stops an operand that runs into itself.

use std::collections::HashSet;
use std::os::fd::AsFd;
use std::path::Path;

use crate::args::options::{Deref, Interactive, Options};
use crate::args::plan::{Nonexistent, Pair, Plan};
use crate::cp::file::DstDir;
use crate::cp::preserve::Env;
use crate::cp::{
    self, Contents, Cp, DirNext, FileNext, Finish, HeldDir, Next, Opened, Place, Status, Visit,
};
use crate::engine::Scratch;
use crate::error::{Error, Op};
use crate::report::Reporter;
use crate::report::progress::{Monitor, Show};
use crate::report::totals::Sources;
use crate::sched::{Job, Lanes, Sched, Tree};
use crate::sys::at::{At, DirFd, Entries, read_entries};
use crate::sys::path::{dir_of, strip_slashes};
use crate::sys::{Ino, ino, interrupt};
use rustix::fs::{FileType, Mode, OFlags, Stat};
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
    /// The progress thread (maybe not started yet: see `Monitor::wake`).
    pub(crate) monitor: Option<Monitor<'scope, 'env>>,
    /// The lanes of the directory whose entries are being walked: its files' jobs go out
    /// with them.
    lanes: Lanes,
    /// The directories `dir_ino` looked at last, and their identities.
    known_dirs: Vec<(PathBuf, Ino)>,
}

/// How an entry went, for the directory walking it.
struct Visited {
    ok: bool,
    into_self: bool,
    /// `Visit::first_dir` after the entry.
    first_dir: bool,
    /// A directory whose entries could not be read: the message printed.
    unread: Option<String>,
}

impl<'a, 'scope, 'env> Walk<'a, 'scope, 'env> {
    pub(crate) fn new(
        cp: Cp<'a>,
        sched: Sched<'scope, 'env>,
        monitor: Option<Monitor<'scope, 'env>>,
    ) -> Self {
        Walk {
            cp,
            sched,
            dst_dirs: HashSet::new(),
            files: 0,
            parents_new_dst: false,
            swept: HashSet::new(),
            root: Default::default(),
            trees: false,
            handed_trees: false,
            monitor,
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
        if !cp::parents::protect(&mut self.cp, &leading.dirs) {
            self.cp.failed = true;
        }
    }

    /// Copies one command-line operand to `dst`; failures are reported and flagged.
    fn copy_operand(&mut self, src: &Path, dst: &Path, nonexistent: Nonexistent) {
        if !self.sched.idle() && self.meets_jobs(src, dst) {
            self.drain();
        }
        self.cp.begin_operand(src, dst);
        self.root = (src.to_path_buf(), dst.to_path_buf());
        self.trees = trees_allowed(self.cp.opts) && !dst_inside_src(src, dst);
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
        let visited = self.visit(visit, false);
        self.cp.failed |= !visited.ok;
        if std::mem::take(&mut self.handed_trees) {
            self.drain();
        }
    }

    /// One entry: GNU's decisions, then its contents or data. `more_dirs`: another
    /// directory follows it in its directory (the walk has more to do, so a directory may
    /// go to a worker).
    fn visit(&mut self, v: Visit, more_dirs: bool) -> Visited {
        let (src, dst, command_line, first_dir) = (v.src, v.dst, v.place.command_line, v.first_dir);
        let done = |status: Status| Visited {
            ok: status == Status::Ok,
            into_self: status == Status::IntoItself,
            first_dir,
            unread: None,
        };
        match self.cp.entry(v) {
            Next::Done(status) => done(status),
            Next::File(file) => done(self.copy_file(src, dst, *file)),
            Next::Dir(dir) if more_dirs && self.may_hand_over(&dir) => {
                let (src, dst, root) = (src.clone(), dst.clone(), self.root.clone());
                self.hand_over_tree(Box::new(Tree { src, dst, dir: *dir, root }))
            }
            Next::Dir(dir) => self.copy_directory(src, dst, *dir, command_line),
        }
    }

    /// A directory rcp just made goes to the workers whole, or is copied here if they
    /// have enough waiting already.
    fn hand_over_tree(&mut self, tree: Box<Tree>) -> Visited {
        let first_dir = tree.dir.first_dir;
        let lanes = match (&tree.dir.opened, &tree.dir.contents) {
            (Some((fd, st)), Some(contents)) => {
                self.sched.lanes((&contents.src_st, None), (st, Some(fd.as_fd())))
            }
            _ => Lanes::default(),
        };
        match self.sched.submit_tree(tree, lanes) {
            Ok(()) => {
                self.handed_trees = true;
                Visited { ok: true, into_self: false, first_dir, unread: None }
            }
            Err(tree) => {
                let Tree { src, dst, dir, .. } = *tree;
                self.copy_directory(&src, &dst, dir, false)
            }
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
        self.files += 1;
        if self.files > 1 || file.ends.size() >= BIG_FILE {
            self.wake_monitor();
        }
        if file.independent && self.files > 1 && self.sched.parallel() {
            let ends = self.cp.hand_over(dst, file);
            let reads = ends.source();
            let job = Job::Fill { src: src.clone(), dst: dst.clone(), ends: Box::new(ends) };
            self.submit(job, reads);
            return Status::Ok;
        }
        self.cp.fill_here(src, dst, file, self.sched.scratch())
    }

    /// A directory: its contents, then its attributes (later if files are still with the
    /// workers).
    fn copy_directory(&mut self, src: &At, dst: &At, dir: DirNext, command_line: bool) -> Visited {
        let DirNext { opened, contents, first_dir, finish } = dir;
        self.wake_monitor();
        if let Some((_, made)) = &opened {
            self.dst_dirs.insert(ino(made));
        }
        let mut visited = Visited { ok: true, into_self: false, first_dir, unread: None };
        if let Some(contents) = contents {
            visited = self.copy_dir(src, (opened.as_ref(), dst.path()), &contents, first_dir);
        }
        self.cp.dir_filled(dst, command_line);
        visited.ok &= self.finish_dir(finish, visited.unread.take());
        visited
    }

    /// Sets a directory's attributes and writes its record now, or once the files handed
    /// over before it are done (its record keeps its place in the output meanwhile).
    fn finish_dir(&mut self, finish: Finish, unread: Option<String>) -> bool {
        if self.sched.waiting_for(self.sched.last_seq()) {
            let place = self.cp.out.hold();
            self.sched.defer(HeldDir { finish, place, unread });
            return true;
        }
        self.cp.finish_dir(&finish, unread, None)
    }

    /// GNU's `copy_dir`: every entry, in inode order, named relative to the source
    /// directory opened here and the destination directory `dst` (an open fd and its path;
    /// no fd for a directory a dry run would make).
    /// Into a directory rcp just made, a regular file is opened straight away (no stat by
    /// name), or handed to a worker whole.
    fn copy_dir(
        &mut self,
        src_at: &At,
        (dst_dir, dst): (Option<&(DirFd, Stat)>, &Path),
        dir: &Contents,
        first_dir: bool,
    ) -> Visited {
        let src = src_at.path();
        let dst_fd = dst_dir.map(|(fd, _)| fd);
        if self.dst_dirs.contains(&ino(&dir.src_st)) {
            self.drain();
        }
        if let Some(dst_fd) = dst_fd.filter(|_| self.cp.opts.atomic && !dir.new_dst) {
            self.sweep(dst_fd, dst);
        }
        let (src_fd, entries) = match read_source_dir(src_at, dir) {
            Ok(read) => read,
            Err(error) => {
                self.cp.fail(&error);
                let unread = Some(error.to_string());
                return Visited { ok: false, into_self: false, first_dir, unread };
            }
        };
        let lanes = dst_dir.map_or_else(Lanes::default, |(fd, st)| {
            self.sched.lanes((&dir.src_st, Some(src_fd.as_fd())), (st, Some(fd.as_fd())))
        });
        let outer_lanes = std::mem::replace(&mut self.lanes, lanes);
        let place = Place {
            parent: Some(&dir.src_st),
            ancestors: &dir.ancestors,
            deref: dir.deref,
            command_line: false,
            dst_dir: dir.dst_dir,
        };
        let opts = self.cp.opts;
        let nonexistent = if dir.new_dst { Nonexistent::Yes } else { Nonexistent::Unknown };
        let open_early = dir.new_dst && !opts.hard_link && !opts.symbolic_link;
        let hand_over = open_early && !opts.preserve.links && self.sched.parallel();
        let mut result = Visited { ok: true, into_self: false, first_dir: false, unread: None };
        let mut batch = Vec::new();
        let from = ino(&dir.src_st);
        let mut dirs_left = entries.iter().filter(|(_, kind)| *kind == FileType::Directory).count();
        for (name, kind) in entries.iter() {
            if interrupt::stopping() {
                break;
            }
            let regular = kind == FileType::RegularFile;
            dirs_left -= usize::from(kind == FileType::Directory);
            let s = At::child(&src_fd, src, name);
            let d = match dst_fd {
                Some(fd) => At::child(fd, dst, name),
                None => At::planned(dst, name),
            };
            if let Some(kind) = self.excluded(&s, kind, dir.deref) {
                // Its record comes after those of the files batched before it.
                if !batch.is_empty() {
                    self.hand_over_new_files(std::mem::take(&mut batch), dir.dst_dir, from);
                }
                self.cp.excluded(&s, &d, kind);
                continue;
            }
            if hand_over && regular && self.files > 0 {
                batch.push((s, d));
                if batch.len() == BATCH {
                    self.hand_over_new_files(std::mem::take(&mut batch), dir.dst_dir, from);
                }
                continue;
            }
            if !batch.is_empty() {
                self.hand_over_new_files(std::mem::take(&mut batch), dir.dst_dir, from);
            }
            let opened = if open_early && regular { open_regular(&s) } else { None };
            let visit = Visit { src: &s, dst: &d, nonexistent, place: &place, opened, first_dir };
            let entry = self.visit(visit, dirs_left > 0);
            result.ok &= entry.ok;
            if entry.into_self {
                result.into_self = true;
                break;
            }
            result.first_dir |= entry.first_dir;
        }
        if !batch.is_empty() {
            self.hand_over_new_files(batch, dir.dst_dir, from);
        }
        self.lanes = outer_lanes;
        result
    }

    /// The copy is worth a status line on SIGUSR1: start the progress thread if it waits.
    fn wake_monitor(&mut self) {
        if let Some(monitor) = &mut self.monitor {
            monitor.wake();
        }
    }

    /// Regular files for a directory rcp just made go to one worker, whole (`from`: the
    /// source directory they are read from).
    fn hand_over_new_files(&mut self, files: Vec<(At, At)>, dst_dir: Option<DstDir>, from: Ino) {
        self.files += files.len() as u64;
        self.submit(Job::Batch { files, dst_dir }, from);
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
        let collected = self.sched.collect(wait);
        self.cp.failed |= collected.failed;
        while let Some(held) = self.sched.ready() {
            let ok = self.cp.finish_dir(&held.finish, held.unread, Some(held.place));
            self.cp.failed |= !ok;
        }
        collected.any
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
    /// Whether `--exclude` leaves out the entry at `src` (of type `kind`, as d_type says),
    /// and then its type: a directory only by its own type, or its target's under `-L`.
    fn excluded(&self, src: &At, kind: FileType, deref: Deref) -> Option<FileType> {
        let exclude = self.cp.opts.exclude.as_ref()?;
        let kind = match kind {
            FileType::Unknown => src.lstat().map_or(kind, |st| FileType::from_raw_mode(st.st_mode)),
            FileType::Symlink if deref == Deref::Always => {
                src.stat().map_or(kind, |st| FileType::from_raw_mode(st.st_mode))
            }
            kind => kind,
        };
        let relative = src.path().strip_prefix(&self.root.0).unwrap_or(src.path());
        exclude.excludes(relative, kind == FileType::Directory).then_some(kind)
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

/// Whether directories may be copied on workers whole under `opts`: nothing one subtree
/// does may depend on another's. Not with `-i` (questions in order), `-l`/`-s` or
/// `--preserve=links` (links to copies made elsewhere in the tree), `-L` (a symlink may
/// lead into another subtree, or into what is being made), or a dry run (no workers).
fn trees_allowed(opts: &Options) -> bool {
    opts.recursive
        && opts.interactive != Interactive::Ask
        && !opts.hard_link
        && !opts.symbolic_link
        && !opts.preserve.links
        && opts.deref != Deref::Always
        && !opts.dry_run
}

/// Whether the destination `dst` is (or would be made) inside the source directory `src`:
/// then the walk must meet what it makes in GNU's order, to stop at it.
fn dst_inside_src(src: &Path, dst: &Path) -> bool {
    rustix::fs::stat(src).is_ok_and(|st| crate::sys::fs::is_within(dir_of(dst), ino(&st)))
}

/// A tree handed to a worker: the directory's contents and then its attributes, walked
/// in line with `cp` (which prints into the tree's place in the output).
fn walk_tree<'s, 'e>(tree: Tree, cp: Cp<'e>, sched: Sched<'s, 'e>) -> (bool, Scratch) {
    let mut walk = Walk::new(cp, sched, None);
    walk.root = tree.root;
    let visited = walk.copy_directory(&tree.src, &tree.dst, tree.dir, false);
    (walk.cp.failed || !visited.ok, walk.sched.into_scratch())
}

/// Copies every pair of `plan` with `opts`, reporting through `out` (and a progress bar
/// under `--progress`); the workers are gone when it returns. Returns whether anything
/// failed.
pub(crate) fn copy_all(opts: &Options, plan: &Plan, out: &Reporter, env: Env) -> bool {
    std::thread::scope(|scope| {
        let sources = Sources::new(opts, plan.pairs.iter().map(|p| p.src.clone()).collect());
        let show = Show::choose(opts.progress);
        // Links and attributes move no data: SIGUSR1 has no bytes to tell of, and no
        // thread (its stack counts against `ulimit -v`) waits to be asked.
        let moves_nothing = opts.hard_link || opts.symbolic_link || !opts.data;
        let monitor = if show == Show::OnRequest && moves_nothing {
            None
        } else {
            Monitor::new(scope, show, sources, out)
        };
        let cp = Cp::new(opts, out.printer(), env, plan.track_operands);
        let mut walk = Walk::new(cp, Sched::new(scope, (opts, out), env, walk_tree), monitor);
        for pair in &plan.pairs {
            if interrupt::stopping() {
                break;
            }
            walk.copy_pair(pair);
        }
        walk.close();
        if let Some(monitor) = walk.monitor.take() {
            monitor.finish();
        }
        walk.cp.failed
    })
}

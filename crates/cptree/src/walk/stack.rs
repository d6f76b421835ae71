//! The directories the walk is in: a `Frame` per level (its entries and how far through
//! them the walk is, its fds, how it is going) on a `Stack` that shares one path each side
//! and one list of ancestors, closing the outermost open levels beyond the fd budget and
//! opening them again by name, checked against what they were.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::cp::{Contents, Finish};
use crate::error::Error;
use crate::sched::Lanes;
use crate::sys::at::{At, DirFd, Entries, Pairs};
use crate::sys::{Ino, ino};
use rustix::fs::Stat;
use rustix::io::Errno;

/// A directory the walk is in (what GNU's `copy_dir` keeps on the call stack): its
/// entries and how far through them the walk is, its fds, and how it is going.
pub(super) struct Frame {
    /// Its attributes, and its destination's fd; its names only in the outermost frame
    /// (the others' are in the stack's paths).
    pub(super) finish: Finish,
    pub(super) command_line: bool,
    pub(super) contents: Contents,
    /// The source directory, open.
    pub(super) src_fd: Option<DirFd>,
    /// The destination directory's status (`None`: one a dry run would make).
    pub(super) dst_st: Option<Stat>,
    pub(super) entries: Entries,
    /// The entry to visit next.
    pub(super) next: usize,
    /// Directories among the entries after `next`.
    pub(super) dirs_left: usize,
    /// `Visit::first_dir` for its entries.
    pub(super) first_dir: bool,
    /// Its files' jobs go out in these.
    pub(super) lanes: Lanes,
    /// New files waiting to go to a worker together.
    pub(super) batch: Option<Pairs>,
    /// An entry ran into itself: the operand's walk stops.
    pub(super) into_self: bool,
    /// A file was left to the rank owning its inode: its attributes wait (`LateDir`).
    pub(super) deferred: bool,
    /// It could not be opened again: the message printed.
    pub(super) lost: Option<Error>,
    /// Where its paths end in the stack's, and its name's length there.
    pub(super) src_end: usize,
    pub(super) dst_end: usize,
    pub(super) name_len: usize,
}

/// The directories the walk is in, outermost first, and what they share: one source and
/// one destination path (the innermost directory's; each frame's is a prefix of it) and
/// the ancestors' identities, so that memory grows with the depth, not its square.
///
/// Open files: only the innermost `levels` frames keep their directories open. Going
/// deeper closes the outermost open one; coming back to a closed one opens it again, by
/// name from the one above (from the outermost down, the way fts does without its fd
/// ring), each checked against the identity it had (`Walk::reopen`).
pub(super) struct Stack {
    pub(super) frames: Vec<Frame>,
    pub(super) src: PathBuf,
    pub(super) dst: PathBuf,
    /// The identity of every directory above the innermost's entries (a cycle under -L).
    pub(super) ancestors: Vec<Ino>,
    /// Frames whose directories are open, at most (`Fds::levels`).
    pub(super) levels: usize,
    /// Frames whose directories are open.
    pub(super) open: usize,
    /// No frame before this one is open.
    pub(super) first_open: usize,
}

impl Stack {
    /// The stack of the walk through `frame` (named by its own `At`s), below `ancestors`,
    /// keeping `levels` frames open.
    pub(super) fn new(mut frame: Frame, mut ancestors: Vec<Ino>, levels: usize) -> Stack {
        let src = frame.finish.src().path().to_path_buf();
        let dst = frame.finish.dst().path().to_path_buf();
        (frame.src_end, frame.dst_end) = (src.as_os_str().len(), dst.as_os_str().len());
        ancestors.push(ino(&frame.contents.src_st));
        Stack { frames: vec![frame], src, dst, ancestors, levels, open: 1, first_open: 0 }
    }

    /// Walks into `frame`, the directory named by the innermost one's last entry visited.
    pub(super) fn push(&mut self, mut frame: Frame) {
        let parent = self.frames.last().expect("a directory to walk into");
        let (name, _) = parent.entries.get(parent.next - 1);
        // The frame's own names are joined as GNU joins them (`d//` and `sub`: `d/sub`),
        // which `PathBuf::push` would not do; the buffers are reused.
        for (path, own) in
            [(&mut self.src, frame.finish.src()), (&mut self.dst, frame.finish.dst())]
        {
            path.as_mut_os_string().clear();
            path.push(own.path());
        }
        frame.finish.forget_names();
        (frame.src_end, frame.dst_end) = (self.src.as_os_str().len(), self.dst.as_os_str().len());
        frame.name_len = name.len();
        self.ancestors.push(ino(&frame.contents.src_st));
        self.frames.push(frame);
        self.open += 1;
        while self.open > self.levels {
            self.close_outermost();
        }
    }

    /// Closes the directories of the outermost frame that has them open.
    pub(super) fn close_outermost(&mut self) {
        let frames = &mut self.frames[self.first_open..];
        let Some(at) = frames.iter().position(Frame::is_open) else { return };
        frames[at].close();
        self.first_open += at + 1;
        self.open -= 1;
    }

    /// Leaves the innermost directory: it, and its names back (none for the outermost,
    /// which kept its own).
    pub(super) fn pop(&mut self) -> (Frame, Option<(At, At)>) {
        let names = (self.frames.len() > 1).then(|| self.names(self.frames.len() - 1));
        let frame = self.frames.pop().expect("a directory to leave");
        self.open -= usize::from(frame.is_open());
        self.first_open = self.first_open.min(self.frames.len());
        self.ancestors.pop();
        match self.frames.len() {
            0 => {}
            // The outermost keeps its own names, as given (`d//`): its children's paths
            // were joined from them, so they do not begin with them.
            1 => {
                let outer = &self.frames[0].finish;
                for (path, own) in [(&mut self.src, outer.src()), (&mut self.dst, outer.dst())] {
                    path.as_mut_os_string().clear();
                    path.push(own.path());
                }
            }
            _ => {
                let parent = self.frames.last().expect("a parent");
                truncate(&mut self.src, parent.src_end);
                truncate(&mut self.dst, parent.dst_end);
            }
        }
        (frame, names)
    }

    /// The source and destination of frame `i` (not the outermost), as its parent's
    /// entries; by whole path where the parent has no fd.
    pub(super) fn names(&self, i: usize) -> (At, At) {
        let (parent, frame) = (&self.frames[i - 1], &self.frames[i]);
        // The outermost's children were named from its own names (`d//`), not a prefix.
        let outer = (i == 1).then(|| (parent.finish.src().path(), parent.finish.dst().path()));
        let at =
            |path: &Path, (parent_end, own): (usize, Option<&Path>), end, fd: Option<&DirFd>| {
                let bytes = path.as_os_str().as_bytes();
                let name = OsStr::from_bytes(&bytes[end - frame.name_len..end]);
                let dir = own.unwrap_or_else(|| Path::new(OsStr::from_bytes(&bytes[..parent_end])));
                fd.map_or_else(|| At::planned(dir, name), |fd| At::child(fd, dir, name))
            };
        (
            at(
                &self.src,
                (parent.src_end, outer.map(|o| o.0)),
                frame.src_end,
                parent.src_fd.as_ref(),
            ),
            at(
                &self.dst,
                (parent.dst_end, outer.map(|o| o.1)),
                frame.dst_end,
                parent.finish.dst_fd(),
            ),
        )
    }
}

impl Frame {
    pub(super) fn is_open(&self) -> bool {
        self.src_fd.is_some()
    }

    /// Closes its directories (the walk is going deeper than it keeps open).
    pub(super) fn close(&mut self) {
        self.src_fd = None;
        self.finish.set_dst_fd(None);
    }
}

/// Cuts `path` back to its first `len` bytes (a parent's path).
fn truncate(path: &mut PathBuf, len: usize) {
    let mut bytes = std::mem::take(path).into_os_string().into_vec();
    bytes.truncate(len);
    *path = PathBuf::from(OsString::from_vec(bytes));
}

/// Opens a frame's directories again (`src` and `dst`, as its parent's entries), checking
/// each is the one it was: a mismatch, or a symlink or non-directory at the name, is a
/// replaced directory.
pub(super) fn open_again(
    frame: &Frame,
    (src, dst): (&At, &At),
    follow_dst: bool,
) -> Result<(DirFd, Option<DirFd>), Error> {
    let replaced = |at: &At, e: Option<Errno>| Error::reopening(at.path(), e);
    let (src_fd, _) = src
        .open_dir(frame.contents.follow, &frame.contents.src_st)
        .map_err(|e| replaced(src, e))?;
    let dst_fd = match &frame.dst_st {
        Some(st) => Some(dst.open_dest_dir(follow_dst, st).map_err(|e| replaced(dst, e))?.0),
        None => None,
    };
    Ok((src_fd, dst_fd))
}

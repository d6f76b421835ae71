//! What travels between ranks of a spread copy besides lines: a directory tree one rank
//! made and another walks (`ship`, `land`), and a file with other hard links that one rank
//! met and the rank owning its inode copies (`ship_file`, `land_file`). Both are written
//! out as names below their operand and identities, and opened again on the other rank
//! below the operand one component at a time, never through a symlink — a tree checked to
//! be the very directory that was made and read: what a worker of one process gets as open
//! fds, another process finds again. Device numbers are compared only between ranks of one
//! place (host, boot, PID namespace: `place`): a network filesystem's device number is
//! each client's own, its inode numbers are the server's.

use std::path::{Path, PathBuf};

use rustix::fs::Stat;

use super::wire::{Reader, Writer};
use crate::cp::file::DstDir;
use crate::cp::{Contents, Deferred, DirNext, Finish, FinishFlags};
use crate::error::{Error, Op};
use crate::options::Deref;
use crate::report::Kind;
use crate::sched::Tree;
use crate::sys::at::{At, DirFd, entry_below, find_below};
use crate::sys::process::Run;
use crate::sys::{Ino, Seen, ino};
use crate::walk::{Lost, Owned};

/// The tree as bytes; `None` for one that cannot travel (not made and opened by this run).
pub(super) fn ship(tree: &Tree) -> Option<Vec<u8>> {
    let DirNext { opened: Some((_, dst_st)), contents: Some(contents), first_dir, finish } =
        &tree.dir
    else {
        return None;
    };
    let mut out = Writer::default();
    out.u64(place()).path(&tree.root.0).path(&tree.root.1);
    out.path(finish.src().path()).path(finish.dst().path());
    let ids = [ino(&contents.src_st), ino(dst_st)];
    out.numbers(&ids.iter().flat_map(|&(dev, ino)| [dev, ino]).collect::<Vec<_>>());
    out.numbers(&tree.ancestors.iter().flat_map(|&(dev, ino)| [dev, ino]).collect::<Vec<_>>());
    out.bool(contents.new_dst).bool(contents.follow).u64(deref_number(contents.deref));
    match contents.dst_dir {
        Some(dir) => out.bool(true).u64(dir.dev).bool(dir.no_default_acl),
        None => out.bool(false),
    };
    out.bool(*first_dir);
    let flags = finish.flags();
    out.bool(flags.new_dst).bool(flags.bare).u64(u64::from(flags.omitted));
    match flags.restore_mode {
        Some(mode) => out.bool(true).u64(u64::from(mode)),
        None => out.bool(false),
    };
    Some(out.0)
}

/// The tree `bytes` describe, opened here; an error names the directory that is not what
/// it was (or could not be opened).
pub(super) fn land(bytes: &[u8]) -> Result<Tree, Lost> {
    let shipped = read(&mut Reader(bytes)).ok_or_else(damaged)?;
    let names = (shipped.names.0.to_path_buf(), shipped.names.1.to_path_buf());
    shipped.open().map_err(|error| Lost { names, kind: Some(Kind::Dir), error })
}

/// What is lost of bytes that do not read back (every rank runs the same code: never).
fn damaged() -> Lost {
    let unknown = || PathBuf::from("?");
    Lost { names: (unknown(), unknown()), kind: None, error: Error::refusal(Op::Replaced, "?") }
}

/// A tree as it travels.
struct Shipped<'b> {
    /// Where the tree was shipped from.
    place: u64,
    root: (&'b Path, &'b Path),
    names: (&'b Path, &'b Path),
    ids: (Ino, Ino),
    ancestors: Vec<Ino>,
    new_dst: bool,
    follow: bool,
    deref: Deref,
    dst_dir: Option<DstDir>,
    first_dir: bool,
    flags: FinishFlags,
}

fn read<'b>(from: &mut Reader<'b>) -> Option<Shipped<'b>> {
    let place = from.u64()?;
    let root = (from.path()?, from.path()?);
    let names = (from.path()?, from.path()?);
    let ids = pairs(&from.numbers()?);
    let ancestors = pairs(&from.numbers()?);
    let (new_dst, follow, deref) = (from.bool()?, from.bool()?, deref_of(from.u64()?)?);
    let dst_dir = match from.bool()? {
        true => Some(DstDir { dev: from.u64()?, no_default_acl: from.bool()? }),
        false => None,
    };
    let first_dir = from.bool()?;
    let (finish_new, bare, omitted) = (from.bool()?, from.bool()?, from.u64()?);
    let restore_mode = match from.bool()? {
        true => Some(u32::try_from(from.u64()?).ok()?),
        false => None,
    };
    let flags = FinishFlags {
        new_dst: finish_new,
        bare,
        omitted: u32::try_from(omitted).ok()?,
        restore_mode,
    };
    let ids = (*ids.first()?, *ids.get(1)?);
    let (root, names) = (root, names);
    Some(Shipped {
        place,
        root,
        names,
        ids,
        ancestors,
        new_dst,
        follow,
        deref,
        dst_dir,
        first_dir,
        flags,
    })
}

impl Shipped<'_> {
    /// Opens both ends again and puts the tree together as the walk had it.
    fn open(self) -> Result<Tree, Error> {
        let seen = |id| seen_from(self.place, id);
        let (src, src_st) = find(self.root.0, self.names.0, seen(self.ids.0))?;
        let (dst, dst_st) = find(self.root.1, self.names.1, seen(self.ids.1))?;
        let (dst_fd, dst_st) =
            dst.open_dest_dir(false, &dst_st).map_err(|e| Error::reopening(dst.path(), e))?;
        let contents = Contents {
            new_dst: self.new_dst,
            src_st,
            follow: self.follow,
            deref: self.deref,
            dst_dir: self.dst_dir,
        };
        let finish =
            Finish::landed((src, dst), DirFd::clone(&dst_fd), (src_st, dst_st), self.flags);
        let dir = DirNext {
            opened: Some((dst_fd, dst_st)),
            contents: Some(contents),
            first_dir: self.first_dir,
            finish,
        };
        let root = (self.root.0.to_path_buf(), self.root.1.to_path_buf());
        Ok(Tree { dir, root, ancestors: self.ancestors })
    }
}

/// The directory `name` (a path below `root`, as the walk showed it) as an entry of its
/// parent opened here, and its status, checked to be the directory `id`.
fn find(root: &Path, name: &Path, id: Seen) -> Result<(At, Stat), Error> {
    find_below(root, name, id).map_err(|e| Error::reopening(name, e))
}

/// Where this rank runs (`Run::place`; 0 without /proc).
pub(super) fn place() -> u64 {
    Run::this().map_or(0, |run| run.place)
}

/// An identity a rank at `place` saw: its device counts only if that is here too.
pub(super) fn seen_from(place: u64, (dev, ino): Ino) -> Seen {
    Seen { dev: (place == self::place()).then_some(dev), ino }
}

fn pairs(numbers: &[u64]) -> Vec<Ino> {
    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

fn deref_number(deref: Deref) -> u64 {
    match deref {
        Deref::Never => 0,
        Deref::CommandLine => 1,
        Deref::Always => 2,
    }
}

fn deref_of(n: u64) -> Option<Deref> {
    Some(match n {
        0 => Deref::Never,
        1 => Deref::CommandLine,
        2 => Deref::Always,
        _ => return None,
    })
}

/// A deferred file of the operand `root` as bytes, for the rank that owns its inode.
pub(super) fn ship_file(root: &(PathBuf, PathBuf), file: &Deferred) -> Vec<u8> {
    let mut out = Writer::default();
    out.path(&root.0).path(&root.1).path(&file.src).path(&file.dst);
    out.numbers(&[file.id.0, file.id.1]);
    out.bool(file.new_dst).u64(deref_number(file.deref));
    out.0
}

/// The rank that owns the inode `id` of `size` ranks' copy: by its inode number alone,
/// which every host sees alike (two filesystems' inodes of one number share an owner, which
/// tells them apart by device).
pub(super) fn owner((_, ino): Ino, size: usize) -> usize {
    const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
    let hash = ino.wrapping_mul(MIX);
    ((hash >> 32) % size as u64) as usize
}

/// A deferred file as bytes, and its inode number (the owner sorts by it).
pub(super) fn file_id(bytes: &[u8]) -> Option<(u64, &Path)> {
    let mut from = Reader(bytes);
    let (_, _, _, dst) = (from.path()?, from.path()?, from.path()?, from.path()?);
    let id = pairs(&from.numbers()?);
    Some((id.first()?.1, dst))
}

/// A deferred file found again here: both parents opened below their operand one component
/// at a time, never through a symlink.
pub(super) fn land_file(bytes: &[u8]) -> Result<Owned, Lost> {
    let mut from = Reader(bytes);
    let read = |from: &mut Reader<'_>| {
        let root = (from.path()?.to_path_buf(), from.path()?.to_path_buf());
        let (src, dst) = (from.path()?.to_path_buf(), from.path()?.to_path_buf());
        let _id = from.numbers()?;
        let (new_dst, deref) = (from.bool()?, deref_of(from.u64()?)?);
        Some((root, src, dst, new_dst, deref))
    };
    let (root, src, dst, new_dst, deref) = read(&mut from).ok_or_else(damaged)?;
    let lost = |error| Lost { names: (src.clone(), dst.clone()), kind: None, error };
    let below = |root: &Path, shown: &Path| {
        entry_below(root, shown).map_err(|e| lost(Error::reopening(shown, e)))
    };
    let src_at = below(&root.0, &src)?;
    let parent =
        rustix::fs::fstat(src_at.fd()).map_err(|e| lost(Error::reopening(&src, Some(e))))?;
    let dst_at = below(&root.1, &dst)?;
    Ok(Owned { root, src: src_at, dst: dst_at, parent, new_dst, deref })
}

/// A copy of inode `id` made from the command-line file `src`, as bytes for the rank
/// owning it.
pub(super) fn ship_known(id: Ino, src: &Path, copy: &Path) -> Vec<u8> {
    let mut out = Writer::default();
    out.u64(place()).numbers(&[id.0, id.1]).path(src).path(copy);
    out.0
}

/// The inode and copy `ship_known` wrote, the inode as this rank sees it: from another
/// place, the command-line file looked at here (itself, or what it points to).
pub(super) fn known_of(bytes: &[u8]) -> Option<(Ino, PathBuf)> {
    let mut from = Reader(bytes);
    let from_place = from.u64()?;
    let id = *pairs(&from.numbers()?).first()?;
    let (src, copy) = (from.path()?, from.path()?.to_path_buf());
    if from_place == place() {
        return Some((id, copy));
    }
    let seen = seen_from(from_place, id);
    let here = [rustix::fs::lstat(src), rustix::fs::stat(src)]
        .into_iter()
        .flatten()
        .find(|st| seen.is(st))?;
    Some((ino(&here), copy))
}

//! Big files cut into pieces that several ranks copy at once (`--chunk-size`). The rank
//! copying a file (its owner) keeps its pieces here; while ranks are idle it offers pieces
//! from the back through rank 0, and copies from the front itself (`copychain::Share`);
//! once it has none left to claim it asks rank 0 for the ones still queued back
//! (`Reclaim`) and waits for those others took. A rank given a piece opens both files
//! again by the names the owner's open files have (no symlink on the way, and checked to
//! be the same files) and copies its bytes with the same strategy chain; a piece that
//! fails there goes back to the owner, which copies it itself — so the file's one record,
//! and any error in it, is the owner's.

use std::collections::{BTreeSet, HashMap};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::fs::{FileType, Mode, OFlags, fstat};

use super::ship::{place, seen_from};
use super::wire::{Frame, Reader, Writer};
use crate::sys::at::{entry_below, fd_path};
use crate::sys::{Seen, handle_of};
use copychain::{self as engine, Dest, Pieces, Policy, Scratch, Source, Stop};

/// How often a waiting owner looks whether it was told to stop.
const WAIT_TICK: Duration = Duration::from_millis(50);

/// One file's pieces, on the rank that owns the file.
struct Shared {
    /// What a piece of it says, after its number (`Piece::put`).
    spec: Vec<u8>,
    /// Pieces not claimed nor offered: `front..back`.
    front: u64,
    back: u64,
    /// Offered, and neither copied nor given back yet.
    out: BTreeSet<u64>,
    given_back: Vec<u64>,
    elsewhere: u64,
    /// The owner waits: nothing more is offered.
    closed: bool,
}

/// The pieces of the files this rank owns.
#[derive(Default)]
struct Shares {
    next: u64,
    files: HashMap<u64, Shared>,
}

/// Where a rank's offers and reclaims go: its outbox to rank 0, which keeps their order.
pub(super) trait ToZero: Sync {
    fn to_zero(&self, frame: &Frame);
    fn flush(&self);
}

/// One rank's pieces: of the files it owns, and what it copies others' pieces with.
pub(super) struct Board {
    rank: u32,
    /// `--chunk-size`, where files are cut (some rank runs on another host).
    chunk: Option<u64>,
    shares: Mutex<Shares>,
    /// An owner waits here for its pieces to come back.
    back: Condvar,
    work: Mutex<Option<(Scratch, Policy)>>,
}

/// A piece as it travels: whose file, which piece, and how to find the file.
struct Piece<'b> {
    owner: u64,
    file: u64,
    index: u64,
    /// The piece size and the file's size when the owner opened it.
    piece: u64,
    size: u64,
    /// The owner's place (`Run::place`): device numbers mean the same only within one.
    place: u64,
    src: &'b Path,
    dst: &'b Path,
    /// (dev, ino) of both, and the source's blocks.
    ids: [u64; 5],
    /// Both files' handles (`handle_of`; empty where their filesystem has none).
    handles: [&'b [u8]; 2],
}

impl Piece<'_> {
    fn read<'b>(bytes: &'b [u8]) -> Option<Piece<'b>> {
        let mut from = Reader(bytes);
        let head = [from.u64()?, from.u64()?, from.u64()?, from.u64()?, from.u64()?, from.u64()?];
        let (src, dst) = (from.path()?, from.path()?);
        let ids = from.numbers()?;
        let handles = [from.bytes()?, from.bytes()?];
        let [owner, file, index, piece, size, place] = head;
        let ids = [ids.first()?, ids.get(1)?, ids.get(2)?, ids.get(3)?, ids.get(4)?].map(|n| *n);
        Some(Piece { owner, file, index, piece, size, place, src, dst, ids, handles })
    }

    /// Bytes `start..end` of the file.
    fn span(&self) -> (u64, u64) {
        let start = self.index.saturating_mul(self.piece);
        (start.min(self.size), start.saturating_add(self.piece).min(self.size))
    }
}

/// Which piece of which file `bytes` is: (owner, file, index).
pub(super) fn piece_of(bytes: &[u8]) -> Option<(usize, u64, u64)> {
    let mut from = Reader(bytes);
    Some((usize::try_from(from.u64()?).ok()?, from.u64()?, from.u64()?))
}

impl Board {
    pub(super) fn new(rank: u32, chunk: Option<u64>) -> Board {
        Board {
            rank,
            chunk,
            shares: Mutex::default(),
            back: Condvar::new(),
            work: Mutex::new(None),
        }
    }

    /// Other ranks' pieces are copied with `scratch` under `policy`.
    pub(super) fn copy_with(&self, scratch: Scratch, policy: Policy) {
        *self.work.lock().unwrap_or_else(PoisonError::into_inner) = Some((scratch, policy));
    }

    fn shares(&self) -> MutexGuard<'_, Shares> {
        self.shares.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers pieces of this rank's files for as many ranks as rank 0 said are idle
    /// (`wanted`, taken down by one a piece).
    pub(super) fn offer(&self, wanted: &AtomicU32, zero: &dyn ToZero) {
        let mut shares = self.shares();
        let mut offered = false;
        for (&id, file) in shares.files.iter_mut() {
            while !file.closed && file.front < file.back {
                let one_less =
                    wanted.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
                if one_less.is_err() {
                    break;
                }
                file.back -= 1;
                file.out.insert(file.back);
                let mut bytes = Writer::default();
                bytes.u64(u64::from(self.rank)).u64(id).u64(file.back);
                bytes.0.extend_from_slice(&file.spec);
                zero.to_zero(&Frame::OfferPiece(bytes.0));
                offered = true;
            }
        }
        drop(shares);
        if offered {
            zero.flush();
        }
    }

    /// A piece of a file of this rank's came back: copied (`ok`) or not.
    pub(super) fn back(&self, file: u64, index: u64, ok: bool) {
        let mut shares = self.shares();
        if let Some(file) = shares.files.get_mut(&file)
            && file.out.remove(&index)
        {
            if ok {
                file.elsewhere += 1;
            } else {
                file.given_back.push(index);
            }
        }
        self.back.notify_all();
    }

    /// Copies a piece another rank offered; returns its owner and what to tell it.
    pub(super) fn copy(&self, bytes: &[u8]) -> Option<(u32, Frame)> {
        let piece = Piece::read(bytes)?;
        let mut work = self.work.lock().unwrap_or_else(PoisonError::into_inner);
        let ok = match work.as_mut() {
            Some((scratch, policy)) => copy_here(&piece, *policy, scratch).is_some(),
            None => false,
        };
        let owner = u32::try_from(piece.owner).ok()?;
        Some((owner, Frame::PieceDone { file: piece.file, index: piece.index, ok }))
    }

    /// `copychain::Share::piece_size`.
    pub(super) fn piece_size(&self, size: u64) -> Option<u64> {
        self.chunk.filter(|&chunk| size > chunk)
    }

    /// `copychain::Share::share`, offering what `wanted` allows through `zero`.
    pub(super) fn share<'s>(
        &'s self,
        (src, dst): (&Source, &Dest),
        (piece, shared): (u64, u64),
        (wanted, zero): (&'s AtomicU32, &'s dyn ToZero),
    ) -> Option<Box<dyn Pieces + 's>> {
        let (src_st, dst_st) = (fstat(src.fd).ok()?, fstat(dst.fd).ok()?);
        let (src_name, dst_name) = (real_name(src.fd)?, real_name(dst.fd)?);
        let mut spec = Writer::default();
        spec.u64(piece).u64(src.size).u64(place()).path(&src_name).path(&dst_name);
        spec.numbers(&[src_st.st_dev, src_st.st_ino, dst_st.st_dev, dst_st.st_ino, src.blocks]);
        let handle = |fd| handle_of(fd).unwrap_or_default();
        spec.bytes(&handle(src.fd)).bytes(&handle(dst.fd));
        let file = Shared {
            spec: spec.0,
            front: 0,
            back: shared,
            out: BTreeSet::new(),
            given_back: Vec::new(),
            elsewhere: 0,
            closed: false,
        };
        let id = {
            let mut shares = self.shares();
            shares.next += 1;
            let id = shares.next;
            shares.files.insert(id, file);
            id
        };
        self.offer(wanted, zero);
        Some(Box::new(Handle { board: self, zero, id, elsewhere: 0 }))
    }
}

/// Opens both files of `piece` here and copies its bytes; `None` if anything failed.
fn copy_here(piece: &Piece, policy: Policy, scratch: &mut Scratch) -> Option<()> {
    let [src_dev, src_ino, dst_dev, dst_ino, blocks] = piece.ids;
    let seen = |id| seen_from(piece.place, id);
    let read = OFlags::RDONLY | OFlags::NOCTTY;
    let [src_handle, dst_handle] = piece.handles;
    let (src_fd, src_st) = open_same(piece.src, read, (seen((src_dev, src_ino)), src_handle))?;
    let dst_seen = (seen((dst_dev, dst_ino)), dst_handle);
    let (dst_fd, dst_st) = open_same(piece.dst, OFlags::WRONLY, dst_seen)?;
    let source =
        Source { fd: src_fd.as_fd(), dev: src_st.st_dev, size: piece.size, blocks, regular: true };
    let dest = Dest { fd: dst_fd.as_fd(), dev: dst_st.st_dev, regular: true };
    engine::copy_piece((&source, &dest), piece.span(), policy, scratch).ok()?;
    Some(())
}

/// Opens the regular file at `path` (absolute, with no symlink in it: none is followed)
/// if it is the file `seen`, with the filesystem's `handle` for it where both ends have
/// one: from another host, inode numbers alone do not tell files on two devices apart (a
/// btrfs subvolume renamed into the path holds others of the same numbers).
fn open_same(
    path: &Path,
    flags: OFlags,
    (seen, handle): (Seen, &[u8]),
) -> Option<(OwnedFd, rustix::fs::Stat)> {
    let at = entry_below(Path::new("/"), path).ok()?;
    let fd = at.open(flags | OFlags::NOFOLLOW, Mode::empty()).ok()?;
    let st = fstat(&fd).ok()?;
    let regular = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile;
    // Handles of two kinds (one filesystem seen through another: FUSE, an NFS server's own
    // disk) do not compare; then the inode number alone says.
    let same_handle = match handle_of(fd.as_fd()) {
        Some(here) if here.get(..4) == handle.get(..4) => here == handle,
        _ => true,
    };
    (seen.is(&st) && regular && same_handle).then_some((fd, st))
}

/// The name `fd` is open under: absolute, every symlink resolved (`None` without /proc,
/// or for a file removed since).
fn real_name(fd: BorrowedFd) -> Option<PathBuf> {
    let name = std::fs::read_link(fd_path(fd)?).ok()?;
    let removed = name.as_os_str().as_encoded_bytes().ends_with(b" (deleted)");
    (name.is_absolute() && !removed).then_some(name)
}

/// The owner's hold on one file's pieces.
struct Handle<'b> {
    board: &'b Board,
    zero: &'b dyn ToZero,
    id: u64,
    elsewhere: u64,
}

impl Pieces for Handle<'_> {
    fn claim(&mut self) -> Option<u64> {
        let mut shares = self.board.shares();
        let file = shares.files.get_mut(&self.id)?;
        (file.front < file.back).then(|| {
            file.front += 1;
            file.front - 1
        })
    }

    fn wait(&mut self, stop: &Stop) -> Vec<u64> {
        let mut shares = self.board.shares();
        let Some(file) = shares.files.get_mut(&self.id) else { return Vec::new() };
        file.closed = true;
        if !file.out.is_empty() {
            // Those still queued at rank 0 come back at once. After the offers, in the
            // same outbox: rank 0 reads them first.
            self.zero.to_zero(&Frame::Reclaim(self.id));
            self.zero.flush();
        }
        loop {
            let Some(file) = shares.files.get_mut(&self.id) else { return Vec::new() };
            if file.out.is_empty() || stop.requested() {
                let out = std::mem::take(&mut file.out);
                let mut back = std::mem::take(&mut file.given_back);
                back.extend(out);
                self.elsewhere = file.elsewhere;
                return back;
            }
            shares = match self.board.back.wait_timeout(shares, WAIT_TICK) {
                Ok((shares, _)) => shares,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    fn copied_elsewhere(&self) -> u64 {
        self.elsewhere
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        self.board.shares().files.remove(&self.id);
    }
}

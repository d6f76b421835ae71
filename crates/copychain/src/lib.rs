//! copychain: copies one open file's bytes to another open file by the cheapest kernel path
//! that works — `ioctl(FICLONE)`, `copy_file_range`, `splice` through a pipe, `read`/`write`
//! — and returns a record of which one it took and why each one before it gave up. The
//! engine of the `rcp` command (a GNU cp), with no command line, printing or policy of
//! which files to copy in it: the caller opens the files, and hands in the progress
//! counters it reads and the stop request it may make.
//!
//! Rules: fall back only on "unsupported here" errors and only while no byte has moved;
//! remember what a (source device, destination device) pair does not support; read to EOF;
//! walk a sparse source's data extents with SEEK_DATA/SEEK_HOLE and keep its holes.
#![deny(missing_docs)]

mod chain;
mod extents;
mod filling;
pub mod fs;
mod pieces;
mod predict;
mod ranges;
mod share;
mod shared;
mod support;
mod types;
mod worker;

use std::os::fd::BorrowedFd;

use chain::{as_found, nothing_yet, walks_holes, wants_clone};
use extents::Extents;
use filling::Filling;
pub use predict::{Landing, predict};
pub use rustix::io::Errno;
pub use share::{Pieces, Share};
pub use shared::{Progress, Stop};
pub use types::{
    Copied, Dest, Failure, Fallback, Fallbacks, Policy, Reflink, Source, Sparse, Stage, Strategy,
};
pub use worker::Scratch;

/// Copies all of `src`'s data into `dst` (empty, just created or truncated) by the first
/// strategy that works, and says which it was and why the ones before it gave up.
///
/// ```no_run
/// use std::fs::File;
/// use std::os::fd::AsFd;
/// use std::os::unix::fs::MetadataExt;
/// use copychain::{self as engine, Dest, Policy, Reflink, Scratch, Source, Sparse};
///
/// let (src, dst) = (File::open("a")?, File::create("b")?);
/// let (s, d) = (src.metadata()?, dst.metadata()?);
/// let source =
///     Source { fd: src.as_fd(), dev: s.dev(), size: s.len(), blocks: s.blocks(), regular: true };
/// let dest = Dest { fd: dst.as_fd(), dev: d.dev(), regular: true };
/// let policy = Policy { reflink: Reflink::Auto, sparse: Sparse::Auto };
/// let copied = engine::copy(&source, &dest, policy, &mut Scratch::default())
///     .map_err(|f| std::io::Error::from_raw_os_error(f.errno.raw_os_error()))?;
/// println!("{} bytes by {}", copied.bytes, copied.strategy.name());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn copy(src: &Source, dst: &Dest, policy: Policy, w: &mut Scratch) -> Result<Copied, Failure> {
    w.progress.count_file();
    copy_file(&as_found(src), dst, policy, w)
}

/// Copies `src` from byte `from` on into the same offsets of `dst`, whose first `from`
/// bytes are the source's already (`--resume` checked them: `same_bytes`); `from == 0` is
/// `copy`. No clone: that is of whole files.
pub fn copy_from(
    src: &Source,
    dst: &Dest,
    from: u64,
    policy: Policy,
    w: &mut Scratch,
) -> Result<Copied, Failure> {
    if from == 0 {
        return copy(src, dst, policy, w);
    }
    w.progress.count_file();
    let record = Copied { resumed_from: from, ..nothing_yet() };
    copy_data(&as_found(src), dst, policy, (src.dev, dst.dev), w, (record, from))
}

/// The record of a clone that had to work and did not (`errno`), when nothing else was
/// tried.
pub fn clone_refused(errno: Errno) -> Copied {
    let mut record = nothing_yet();
    record.strategy = Strategy::Clone;
    record.fell_back.push(Fallback {
        strategy: Strategy::Clone,
        errno: Some(errno),
        cached: false,
    });
    record
}

/// Whether FICLONE from `src` onto `dst` would work, tried on an anonymous file
/// (`O_TMPFILE`) in `dir`, the destination's directory, so that nothing in `dst` need be
/// given up first: `--reflink=always` empties an existing file only once a clone is known
/// to work. Where no such file can be made there (or `dst` is elsewhere, through a
/// symlink), judged from the filesystems as `--dry-run` judges it.
pub fn clone_would_work(src: &Source, dst: &Dest, dir: BorrowedFd) -> Result<(), Errno> {
    use rustix::fs::{Mode, OFlags, fstat, openat};
    if fstat(dir).is_ok_and(|st| st.st_dev == dst.dev) {
        let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
        if let Ok(anonymous) = openat(dir, ".", flags, Mode::from_raw_mode(0o600)) {
            let anonymous = std::os::fd::AsFd::as_fd(&anonymous);
            // Btrfs clones only between files alike in NOCOW (chattr +C): the anonymous
            // file gets the destination's, not the directory's.
            use rustix::fs::{IFlags, ioctl_getflags, ioctl_setflags};
            if let (Ok(want), Ok(has)) = (ioctl_getflags(dst.fd), ioctl_getflags(anonymous))
                && want.contains(IFlags::NOCOW) != has.contains(IFlags::NOCOW)
            {
                let _ = ioctl_setflags(anonymous, has ^ IFlags::NOCOW);
            }
            return ranges::clone_file(src.fd, anonymous);
        }
    }
    if src.dev != dst.dev {
        return Err(Errno::XDEV);
    }
    match fs::Filesystem::of(dst.fd) {
        Ok(fs) if fs.clones => Ok(()),
        _ => Err(Errno::OPNOTSUPP),
    }
}

/// Whether the first `len` bytes of `a` and `b` are the same (read both, 256 KiB at a time).
pub fn same_bytes(a: BorrowedFd, b: BorrowedFd, len: u64) -> Result<bool, Errno> {
    same_range(a, b, 0, len)
}

/// Whether the first `len` bytes of two sparse files are the same, reading only where
/// either has data (SEEK_DATA/SEEK_HOLE): everywhere else both are holes, zeros alike.
/// Where a filesystem cannot find holes, the whole file is data and all of it is read.
pub fn same_data(a: BorrowedFd, b: BorrowedFd, len: u64) -> Result<bool, Errno> {
    let mut at = 0;
    while at < len {
        let start = next_data(a, at, len)?.min(next_data(b, at, len)?);
        if start >= len {
            break;
        }
        // Up to where both have reached a hole (one may have data beyond the other's).
        let end = next_hole(a, start, len)?.max(next_hole(b, start, len)?);
        if !same_range(a, b, start, end)? {
            return Ok(false);
        }
        at = end;
    }
    Ok(true)
}

/// The next byte at or after `at` that is data (`len` if none before it).
fn next_data(fd: BorrowedFd, at: u64, len: u64) -> Result<u64, Errno> {
    match rustix::fs::seek(fd, rustix::fs::SeekFrom::Data(at)) {
        Ok(data) => Ok(data.min(len)),
        Err(Errno::NXIO) => Ok(len),
        Err(e) => Err(e),
    }
}

/// The next byte at or after `at` that is in a hole (`len` at most).
fn next_hole(fd: BorrowedFd, at: u64, len: u64) -> Result<u64, Errno> {
    match rustix::fs::seek(fd, rustix::fs::SeekFrom::Hole(at)) {
        Ok(hole) => Ok(hole.min(len)),
        Err(Errno::NXIO) => Ok(len),
        Err(e) => Err(e),
    }
}

/// Whether bytes `start..end` of `a` and `b` are the same (read both, 256 KiB at a time).
fn same_range(a: BorrowedFd, b: BorrowedFd, start: u64, end: u64) -> Result<bool, Errno> {
    const CHUNK: usize = 256 << 10;
    // Small files, small buffers: a big zeroed allocation per file costs more than its reads.
    let len = end.saturating_sub(start);
    let size = CHUNK.min(usize::try_from(len).unwrap_or(CHUNK)).max(1);
    let (mut x, mut y) = (vec![0u8; size], vec![0u8; size]);
    let mut at = start;
    while at < end {
        let want = size.min(usize::try_from(end - at).unwrap_or(size));
        let (n, m) =
            (ranges::read_at(a, &mut x[..want], at)?, ranges::read_at(b, &mut y[..want], at)?);
        if n != want || m != want || x[..n] != y[..m] {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

fn copy_file(src: &Source, dst: &Dest, policy: Policy, w: &mut Scratch) -> Result<Copied, Failure> {
    let pair = (src.dev, dst.dev);
    let mut record = nothing_yet();
    if wants_clone(src, policy) {
        match try_clone(src, dst, pair, w) {
            Ok(cloned) => {
                record.strategy = Strategy::Clone;
                record.bytes = src.size;
                w.progress.count_moved(src.size);
                return match cloned {
                    Cloned::AsOpened => Ok(record),
                    Cloned::AsItIsNow => cloned_as_opened(src, dst, record),
                };
            }
            Err(fallback) => {
                let errno = fallback.errno.unwrap_or(Errno::OPNOTSUPP);
                record.fell_back.push(fallback);
                if policy.reflink == Reflink::Always || !support::is_unsupported(errno) {
                    record.strategy = Strategy::Clone;
                    return Err(Failure { stage: Stage::Clone, errno, record });
                }
            }
        }
    }
    copy_data(src, dst, policy, pair, w, (record, 0))
}

/// A clone takes the whole file as it is now: one that grew since it was opened is cut back
/// to the size it had then, one that shrank fails (as any copy that meets EOF early).
fn cloned_as_opened(src: &Source, dst: &Dest, record: Copied) -> Result<Copied, Failure> {
    let now = rustix::fs::fstat(dst.fd).map_err(|e| Failure::at(Stage::Clone, e, &record))?;
    let now = now.st_size as u64;
    if now < src.size {
        return Err(Failure::at(Stage::Shrank, Errno::NODATA, &record));
    }
    if now > src.size {
        rustix::fs::ftruncate(dst.fd, src.size)
            .map_err(|e| Failure::at(Stage::Extend, e, &record))?;
    }
    Ok(record)
}

/// What a clone shared: the file as it was opened, or as it is now (to be checked).
enum Cloned {
    AsOpened,
    AsItIsNow,
}

/// Shares the source's extents: exactly the size it had when opened, in one call; where
/// the kernel refuses that range (EINVAL: the file changed size since), the whole file as
/// it is now. Any other refusal is the filesystem's, answered once.
fn try_clone(
    src: &Source,
    dst: &Dest,
    pair: (u64, u64),
    w: &mut Scratch,
) -> Result<Cloned, Fallback> {
    if let Some(errno) = w.known(pair, Strategy::Clone) {
        return Err(Fallback { strategy: Strategy::Clone, errno: Some(errno), cached: true });
    }
    let whole = || ranges::clone_file(src.fd, dst.fd).map(|()| Cloned::AsItIsNow);
    let cloned = match src.size {
        0 => whole(),
        size => match ranges::clone_exactly(src.fd, dst.fd, size) {
            Ok(()) => Ok(Cloned::AsOpened),
            Err(Errno::INVAL) => whole(),
            Err(errno) => Err(errno),
        },
    };
    cloned.map_err(|errno| {
        w.support.remember(pair, Strategy::Clone, errno);
        Fallback { strategy: Strategy::Clone, errno: Some(errno), cached: false }
    })
}

fn copy_data(
    src: &Source,
    dst: &Dest,
    policy: Policy,
    pair: (u64, u64),
    w: &mut Scratch,
    (record, from): (Copied, u64),
) -> Result<Copied, Failure> {
    // Holes can be skipped only where the destination can have them (not a pipe or device).
    let walk = walks_holes(src, dst.regular, policy);
    let mut filling = Filling::start((src, dst), policy, pair, w, record);
    // Where holes matter, give the destination its length first: writes then never land at
    // EOF, where XFS would preallocate blocks past each extent that the holes would keep.
    let presized = (walk || filling.make_holes) && src.size > 0;
    if presized {
        filling.extend(dst, src.size)?;
    }
    if from == 0
        && let Some((piece, share)) = pieces::worth_sharing(src, dst, w)
    {
        return pieces::copy_in_pieces((src, dst), filling, (piece, &*share), (walk, presized), w);
    }
    // A regular file is copied as it was at open: its size ends the copy, with no extra
    // call to find EOF. Size 0 means unknown (procfs): read until EOF.
    let dense_end = (src.regular && src.size > 0).then_some(src.size);
    let mut extents = Extents::new(src.fd, walk, dense_end, from);
    let reached = filling.extents((src, dst), &mut extents, w)?;
    let written_end = reached.written_end.max(if presized { src.size } else { from });
    filling.record.holes = extents.walked();
    let length = if extents.walked() { src.size.max(reached.end) } else { reached.end };
    // The source may have grown or shrunk since its stat: the copy ends where reading did.
    if written_end != length {
        filling.extend(dst, length)?;
    }
    let mut record = filling.record;
    record.bytes = length;
    // Holes and a kept prefix are done too, though nothing moved them.
    w.progress.count_passed(length.saturating_sub(filling.moved));
    Ok(record)
}

/// Copies bytes `start..end` of `src` into the same place in `dst`, by the data strategies
/// (no clone: that is of whole files), keeping the source's holes in that range: one piece
/// of a big file whose other pieces other processes copy (`Share`). `dst` already has
/// the file's length where holes matter. Returns what the piece took.
pub fn copy_piece(
    (src, dst): (&Source, &Dest),
    (start, end): (u64, u64),
    policy: Policy,
    w: &mut Scratch,
) -> Result<Copied, Failure> {
    let src = &as_found(src);
    let filling = Filling::start((src, dst), policy, (src.dev, dst.dev), w, nothing_yet());
    let walk = walks_holes(src, dst.regular, policy);
    let mut filling = filling;
    pieces::fill_piece((src, dst), &mut filling, walk, (start, end), w)?;
    Ok(filling.record)
}

//! One strategy over one byte range: FICLONE (whole file), copy_file_range, splice through
//! the worker's pipe, read/write through the worker's buffer. Each loops on short counts,
//! retries EINTR, and reports how far it got.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{copy_file_range, ioctl_ficlone};
use rustix::io::{Errno, pread, pwrite, read, write};
use rustix::pipe::{PipeFlags, SpliceFlags, fcntl_setpipe_size, pipe_with, splice};

use super::shared::{Progress, Stop};
use super::types::{Dest, Source, Stage, Strategy};

/// The most one copy_file_range call is asked to move.
const MAX_CHUNK: usize = 1 << 30;
/// The most it is asked to move while a progress bar shows: the bar moves within a file.
const PROGRESS_CHUNK: usize = 64 << 20;

fn cfr_chunk(to: &Watch) -> usize {
    if to.progress.watched() { PROGRESS_CHUNK } else { MAX_CHUNK }
}

/// What a range copy reports to and answers to: the caller's progress counters and stop
/// request.
#[derive(Clone, Copy)]
pub(crate) struct Watch<'a> {
    pub(crate) progress: &'a Progress,
    pub(crate) stop: &'a Stop,
}

/// The read/write buffer, allocated once per worker.
const BUF_SIZE: usize = 256 << 10;
/// The pipe size splice asks for (the default limit for unprivileged users is 1 MiB).
const PIPE_SIZE: usize = 1 << 20;
/// The granularity at which `--sparse=always` looks for zeros to leave as holes.
const HOLE_BLOCK: usize = 4096;

/// How far a range copy got: the offset it reached, and the end of what it wrote.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reached {
    pub(crate) end: u64,
    pub(crate) written_end: u64,
}

/// A failed range copy: where, the errno (`None`: no data where data was expected), and
/// how many bytes had reached the destination.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RangeError {
    pub(crate) stage: Stage,
    pub(crate) errno: Option<Errno>,
    pub(crate) moved: u64,
}

/// What one thread keeps between ranges: its pipe (splice) and its buffer (read/write),
/// each made on first use.
#[derive(Default)]
pub(crate) struct Buffers {
    pipe: Option<Pipe>,
    buf: Vec<u8>,
}

/// One range to copy: `[start, end)` (`None`: to EOF), whether the source's size promised
/// data there, and whether runs of zeros become holes (`--sparse=always`).
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: u64,
    pub(crate) end: Option<u64>,
    pub(crate) expect_data: bool,
    pub(crate) make_holes: bool,
}

struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    size: usize,
}

impl Pipe {
    fn new() -> Result<Pipe, Errno> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC)?;
        let size = fcntl_setpipe_size(&write, PIPE_SIZE).unwrap_or(64 << 10);
        Ok(Pipe { read, write, size })
    }
}

/// `ioctl(dst, FICLONE, src)`: share all of src's extents.
pub(crate) fn clone_file(src: BorrowedFd, dst: BorrowedFd) -> Result<(), Errno> {
    loop {
        match ioctl_ficlone(dst, src) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// `struct file_clone_range`.
#[repr(C)]
struct CloneRange {
    src_fd: i64,
    src_offset: u64,
    src_length: u64,
    dest_offset: u64,
}

/// `ioctl(dst, FICLONERANGE, {src, 0, len, 0})`: share exactly src's first `len` bytes
/// (`len` > 0), with no look at its size afterwards. The kernel refuses (EINVAL) a range
/// it cannot share whole: one that now ends past EOF (the file shrank; what could be shared
/// is shared, and the caller must not keep it) or ends short of EOF off a block boundary (it
/// grew).
pub(crate) fn clone_exactly(src: BorrowedFd, dst: BorrowedFd, len: u64) -> Result<(), Errno> {
    const OPCODE: rustix::ioctl::Opcode = rustix::ioctl::opcode::write::<CloneRange>(0x94, 13);
    let src_fd = i64::from(src.as_raw_fd());
    loop {
        let range = CloneRange { src_fd, src_offset: 0, src_length: len, dest_offset: 0 };
        // SAFETY: FICLONERANGE reads exactly a `struct file_clone_range` (32 bytes, above).
        let setter = unsafe { rustix::ioctl::Setter::<OPCODE, CloneRange>::new(range) };
        // SAFETY: the opcode and input type agree; both fds are borrowed for the call.
        match unsafe { rustix::ioctl::ioctl(dst, setter) } {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Copies `range` with `strategy`.
pub(crate) fn copy_range(
    strategy: Strategy,
    src: &Source,
    dst: &Dest,
    range: Range,
    w: &mut Buffers,
    to: Watch,
) -> Result<Reached, RangeError> {
    let Range { start, end, make_holes, .. } = range;
    match strategy {
        Strategy::CopyFileRange => cfr_range(src.fd, dst.fd, range, to),
        Strategy::Splice => splice_range(src.fd, dst.fd, range, &mut w.pipe, to),
        Strategy::ReadWrite | Strategy::Clone => {
            if w.buf.is_empty() {
                w.buf = vec![0; BUF_SIZE];
            }
            let out = Out { fd: dst.fd, positional: dst.regular, make_holes };
            rw_range(src.fd, out, (start, end), &mut w.buf, to)
        }
    }
}

/// Gives up the range (ECANCELED) once SIGINT or SIGTERM asked rcp to stop.
fn stop_point(to: Watch, stage: Stage, moved: u64) -> Result<(), RangeError> {
    to.stop.check().map_err(|errno| RangeError { stage, errno: Some(errno), moved })
}

/// How many bytes to ask for next: what is left of a bounded range, capped at `cap`.
fn next_len(pos: u64, end: Option<u64>, cap: usize) -> usize {
    match end {
        Some(end) => (end.saturating_sub(pos)).min(cap as u64) as usize,
        None => cap,
    }
}

fn cfr_range(
    src: BorrowedFd,
    dst: BorrowedFd,
    range: Range,
    to: Watch,
) -> Result<Reached, RangeError> {
    let Range { start, end, expect_data, .. } = range;
    let (mut off_in, mut off_out) = (start, start);
    loop {
        let len = next_len(off_in, end, cfr_chunk(&to));
        if len == 0 {
            break;
        }
        stop_point(to, Stage::Copy, off_out - start)?;
        match copy_file_range(src, Some(&mut off_in), dst, Some(&mut off_out), len) {
            Ok(0) if off_in == start && expect_data => {
                return Err(RangeError { stage: Stage::Copy, errno: None, moved: 0 });
            }
            Ok(0) => break,
            Ok(n) => to.progress.count_moved(n as u64),
            Err(Errno::INTR) => {}
            Err(errno) => {
                return Err(RangeError {
                    stage: Stage::Copy,
                    errno: Some(errno),
                    moved: off_out - start,
                });
            }
        }
    }
    Ok(Reached { end: off_in, written_end: off_out })
}

fn splice_range(
    src: BorrowedFd,
    dst: BorrowedFd,
    range: Range,
    pipe: &mut Option<Pipe>,
    to: Watch,
) -> Result<Reached, RangeError> {
    let Range { start, end, expect_data, .. } = range;
    let fail = |stage, errno, moved| RangeError { stage, errno: Some(errno), moved };
    if pipe.is_none() {
        *pipe = Some(Pipe::new().map_err(|errno| fail(Stage::Copy, errno, 0))?);
    }
    let p = pipe.as_ref().expect("pipe was just made");
    let (mut off_in, mut off_out) = (start, start);
    loop {
        let len = next_len(off_in, end, p.size);
        if len == 0 {
            break;
        }
        stop_point(to, Stage::Copy, off_out - start)?;
        let n = match splice(src, Some(&mut off_in), &p.write, None, len, SpliceFlags::MOVE) {
            Ok(0) if off_in == start && expect_data => {
                return Err(RangeError { stage: Stage::Copy, errno: None, moved: 0 });
            }
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(errno) => return Err(fail(Stage::Read, errno, off_out - start)),
        };
        let mut left = n;
        while left > 0 {
            match splice(&p.read, None, dst, Some(&mut off_out), left, SpliceFlags::MOVE) {
                Ok(0) => {
                    *pipe = None; // it still holds data: never reuse it
                    return Err(fail(Stage::Write, Errno::NOSPC, off_out - start));
                }
                Ok(m) => {
                    left -= m;
                    to.progress.count_moved(m as u64);
                }
                Err(Errno::INTR) if !to.stop.requested() => {}
                Err(errno) => {
                    let errno = if errno == Errno::INTR { Errno::CANCELED } else { errno };
                    *pipe = None;
                    return Err(fail(Stage::Write, errno, off_out - start));
                }
            }
        }
    }
    Ok(Reached { end: off_in, written_end: off_out })
}

/// Where read/write sends data: positional writes to a regular file (so zeros can be
/// skipped as holes), plain writes to anything else.
#[derive(Clone, Copy)]
struct Out<'a> {
    fd: BorrowedFd<'a>,
    positional: bool,
    make_holes: bool,
}

fn rw_range(
    src: BorrowedFd,
    out: Out,
    (start, end): (u64, Option<u64>),
    buf: &mut [u8],
    to: Watch,
) -> Result<Reached, RangeError> {
    // A range from 0 to EOF is read as a stream, which also works for pipes and devices.
    let stream = start == 0 && end.is_none();
    let (mut pos, mut written_end) = (start, start);
    loop {
        let len = next_len(pos, end, buf.len());
        if len == 0 {
            break;
        }
        stop_point(to, Stage::Copy, pos - start)?;
        let chunk = &mut buf[..len];
        let got = if stream { read(src, &mut *chunk) } else { pread(src, &mut *chunk, pos) };
        let n = match got {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(errno) => {
                return Err(RangeError {
                    stage: Stage::Read,
                    errno: Some(errno),
                    moved: pos - start,
                });
            }
        };
        written_end = write_out(out, &buf[..n], pos, to.stop)
            .map_err(|(errno, at)| RangeError {
                stage: Stage::Write,
                errno: Some(errno),
                moved: at - start,
            })?
            .unwrap_or(written_end);
        pos += n as u64;
        to.progress.count_moved(n as u64);
    }
    Ok(Reached { end: pos, written_end })
}

/// Writes `data` at `pos`; with `make_holes`, blocks of zeros are skipped. Returns the end of
/// what was written (`None` if all was skipped), or the errno and the offset it failed at.
fn write_out(out: Out, data: &[u8], pos: u64, stop: &Stop) -> Result<Option<u64>, (Errno, u64)> {
    if !out.make_holes {
        write_all(out, data, pos, stop)?;
        return Ok(Some(pos + data.len() as u64));
    }
    let mut last = None;
    let mut offset = 0;
    for block in data.chunks(HOLE_BLOCK) {
        if block.iter().any(|&b| b != 0) {
            let at = pos + offset as u64;
            write_all(out, block, at, stop)?;
            last = Some(at + block.len() as u64);
        }
        offset += block.len();
    }
    Ok(last)
}

fn write_all(out: Out, mut data: &[u8], mut pos: u64, stop: &Stop) -> Result<(), (Errno, u64)> {
    while !data.is_empty() {
        // A write into a pipe nobody drains returns short (or EINTR) when a signal comes:
        // once rcp is told to stop, it gives up there.
        stop.check().map_err(|e| (e, pos))?;
        let written = if out.positional { pwrite(out.fd, data, pos) } else { write(out.fd, data) };
        match written {
            Ok(0) => return Err((Errno::NOSPC, pos)),
            Ok(n) => {
                data = &data[n..];
                pos += n as u64;
            }
            Err(Errno::INTR) => {}
            Err(errno) => return Err((errno, pos)),
        }
    }
    Ok(())
}

/// Reads up to `buf.len()` bytes at `offset`, retrying short reads and EINTR; fewer only
/// at EOF.
pub(super) fn read_at(fd: BorrowedFd, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    let mut got = 0;
    while got < buf.len() {
        match pread(fd, &mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

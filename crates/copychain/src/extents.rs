//! A sparse source's data extents, found with SEEK_DATA/SEEK_HOLE; a dense source is one
//! range from 0 to its size (or to EOF when the size is unknown).

use std::os::fd::BorrowedFd;

use rustix::fs::{SeekFrom, seek};
use rustix::io::Errno;

/// A data range: start, and end (`None`: up to EOF, wherever that turns out to be).
pub(crate) type Extent = (u64, Option<u64>);

pub(crate) struct Extents<'a> {
    fd: BorrowedFd<'a>,
    walk: bool,
    /// Where a dense copy ends: the size seen at open (no EOF-confirming call), or `None`
    /// to read until EOF (sizes of 0 are unknown: procfs, sysfs).
    dense_end: Option<u64>,
    pos: u64,
    /// Where a piece of the file ends (`copy_piece`): no extent goes past it.
    until: Option<u64>,
    done: bool,
    started: bool,
}

impl<'a> Extents<'a> {
    /// The extents from byte `from` on (0: the whole file).
    pub(crate) fn new(fd: BorrowedFd<'a>, walk: bool, dense_end: Option<u64>, from: u64) -> Self {
        Self { fd, walk, dense_end, pos: from, until: None, done: false, started: false }
    }

    /// Only the extents before `end`, cut there: one piece of a file.
    pub(crate) fn until(mut self, end: u64) -> Self {
        self.until = Some(end);
        self.dense_end = Some(self.dense_end.map_or(end, |e| e.min(end)));
        self
    }

    /// Whether the holes were really walked (a filesystem without SEEK_DATA gives one range).
    pub(crate) fn walked(&self) -> bool {
        self.walk
    }

    fn next_data(&mut self) -> Option<Result<Extent, Errno>> {
        let first = !self.started;
        self.started = true;
        let data = match seek(self.fd, SeekFrom::Data(self.pos)) {
            Ok(data) => data,
            Err(Errno::NXIO) => return None, // no data after pos: the rest is hole
            Err(Errno::INVAL | Errno::OPNOTSUPP) if first => {
                self.walk = false;
                self.done = true;
                return Some(Ok((self.pos, self.dense_end)));
            }
            Err(errno) => return Some(Err(errno)),
        };
        let hole = match seek(self.fd, SeekFrom::Hole(data)) {
            Ok(hole) => hole,
            Err(errno) => return Some(Err(errno)),
        };
        self.pos = hole;
        Some(Ok((data, Some(hole))))
    }
}

impl Iterator for Extents<'_> {
    type Item = Result<Extent, Errno>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.walk {
            self.done = true;
            return Some(Ok((self.pos, self.dense_end)));
        }
        let item = match (self.next_data(), self.until) {
            (Some(Ok((start, _))), Some(until)) if start >= until => None,
            (Some(Ok((start, end))), Some(until)) => {
                Some(Ok((start, Some(end.map_or(until, |e| e.min(until))))))
            }
            (item, _) => item,
        };
        if item.is_none() {
            self.done = true;
        }
        item
    }
}

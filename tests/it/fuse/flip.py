#!/usr/bin/env python3
"""A passthrough FUSE filesystem over BACKING, mounted at MOUNT, that flips one byte of
every read covering offset FLIP (default 4096) — a disk that returns the wrong data.
direct_io: every read reaches this process, none is served from the page cache.
Usage: flip.py BACKING MOUNT [FLIP]"""

import errno
import os
import sys

from fuse import FUSE, FuseOSError, Operations


class Flip(Operations):
    def __init__(self, root, flip):
        self.root = root
        self.flip = flip

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def getattr(self, path, fh=None):
        try:
            st = os.lstat(self._path(path))
        except OSError as e:
            raise FuseOSError(e.errno)
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime",
                "st_mtime", "st_ctime", "st_blocks")
        return {k: getattr(st, k) for k in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._path(path))

    def create(self, path, mode, fi=None):
        return os.open(self._path(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)

    def open(self, path, flags):
        return os.open(self._path(path), flags & ~os.O_APPEND)

    def read(self, path, size, offset, fh):
        data = bytearray(os.pread(fh, size, offset))
        if offset <= self.flip < offset + len(data):
            data[self.flip - offset] ^= 0xFF
        return bytes(data)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        os.truncate(self._path(path), length)

    def release(self, path, fh):
        os.close(fh)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)

    def unlink(self, path):
        os.unlink(self._path(path))

    def rename(self, old, new):
        os.rename(self._path(old), self._path(new))

    def chmod(self, path, mode):
        os.chmod(self._path(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._path(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._path(path), ns=None if times is None else tuple(int(t * 1e9) for t in times))

    def mkdir(self, path, mode):
        os.mkdir(self._path(path), mode)

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}


if __name__ == "__main__":
    flip = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
    FUSE(Flip(sys.argv[1], flip), sys.argv[2], foreground=True, direct_io=True, nothreads=True)

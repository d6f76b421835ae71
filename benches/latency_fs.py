#!/usr/bin/env python3
"""A passthrough FUSE filesystem over BACKING, mounted at MOUNT, that waits DELAY_MS
(default 1) in every metadata call — lookup, getattr, readdir, open, create, mkdir, chmod,
chown, utimens, link, symlink, release — like a network filesystem whose server is a round
trip away. Requests are served on many threads, so a client that keeps N calls in flight
waits about 1/N as long: what several ranks of a spread copy buy on such a filesystem.
Data reads and writes are not delayed. Usage: latency_fs.py BACKING MOUNT [DELAY_MS]"""

import os
import sys
import time

from fuse import FUSE, FuseOSError, Operations


def slow(method):
    def wrapped(self, *args):
        time.sleep(self.delay)
        try:
            return method(self, *args)
        except OSError as e:
            raise FuseOSError(e.errno)
    return wrapped


class Latency(Operations):
    def __init__(self, root, delay):
        self.root = root
        self.delay = delay

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    @slow
    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime",
                "st_mtime", "st_ctime", "st_blocks", "st_ino")
        return {k: getattr(st, k) for k in keys}

    @slow
    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._path(path))

    @slow
    def readlink(self, path):
        return os.readlink(self._path(path))

    @slow
    def create(self, path, mode, fi=None):
        return os.open(self._path(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)

    @slow
    def open(self, path, flags):
        return os.open(self._path(path), flags & ~os.O_APPEND)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        os.truncate(self._path(path), length)

    @slow
    def release(self, path, fh):
        os.close(fh)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)

    @slow
    def mkdir(self, path, mode):
        os.mkdir(self._path(path), mode)

    @slow
    def rmdir(self, path):
        os.rmdir(self._path(path))

    @slow
    def unlink(self, path):
        os.unlink(self._path(path))

    @slow
    def symlink(self, target, source):
        os.symlink(source, self._path(target))

    @slow
    def link(self, target, source):
        os.link(self._path(source), self._path(target))

    @slow
    def rename(self, old, new):
        os.rename(self._path(old), self._path(new))

    @slow
    def chmod(self, path, mode):
        os.chmod(self._path(path), mode)

    @slow
    def chown(self, path, uid, gid):
        os.lchown(self._path(path), uid, gid)

    @slow
    def utimens(self, path, times=None):
        os.utime(self._path(path), ns=None if times is None else
                 tuple(int(t * 1e9) for t in times), follow_symlinks=False)

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
                "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(st, k) for k in keys}


if __name__ == "__main__":
    backing, mount = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.001
    # use_ino: the backing files' inode numbers, as a network filesystem gives the server's
    # (hard links stay recognisable; only the device number is this mount's own).
    FUSE(Latency(backing, delay), mount, foreground=True, nothreads=False,
         allow_other=True, default_permissions=True, use_ino=True)

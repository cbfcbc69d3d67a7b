#!/usr/bin/python3
"""A tiny FUSE filesystem whose reads never return: a hung NFS mount, for httpd-test/t/s3.t.

The root holds one file, stuck.jpg (100000 bytes as far as stat can tell). lookup, getattr,
open and readdir answer at once — as on a hung NFS mount whose attributes are cached — but
read() sleeps until the filesystem is unmounted. Mounted read-only with allow_other (as root)
so the httpd children (user nobody) can open it.

Usage: hung-fs.py MOUNTPOINT      (foreground; unmount with fusermount3 -u MOUNTPOINT)
"""

import errno
import stat
import sys
import threading
import time

try:
    from fusepy import FUSE, FuseOSError, Operations  # Debian's python3-fusepy
except ImportError:
    from fuse import FUSE, FuseOSError, Operations  # fusepy from PyPI

SIZE = 100000
UNMOUNTED = threading.Event()


class Hung(Operations):
    def getattr(self, path, fh=None):
        now = time.time()
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=0,
                        st_ctime=now, st_mtime=now, st_atime=now)
        if path == "/stuck.jpg":
            return dict(st_mode=stat.S_IFREG | 0o444, st_nlink=1, st_size=SIZE,
                        st_ctime=now, st_mtime=now, st_atime=now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "stuck.jpg"]

    def open(self, path, flags):
        return 0

    def read(self, path, size, offset, fh):
        UNMOUNTED.wait()   # until unmounted: the read never comes back
        raise FuseOSError(errno.EIO)

    def destroy(self, path):
        UNMOUNTED.set()


if __name__ == "__main__":
    FUSE(Hung(), sys.argv[1], foreground=True, ro=True, allow_other=True, nothreads=False)

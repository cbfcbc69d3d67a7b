#!/usr/bin/python3
"""A tiny FUSE filesystem whose reads never return: a hung NFS mount, for httpd-test/t/s3.t.

The root holds one file, stuck.jpg (100000 bytes as far as stat can tell). lookup, getattr,
open and readdir answer at once — as on a hung NFS mount whose attributes are cached — but
read() does not return while the file RELEASE does not exist. When it appears (the server
"comes back" at the end of a test), pending and new reads fail with EIO, so the reading
threads — which the kernel will not let die while their request sits in this daemon — are
freed and httpd can stop. Mounted read-only with allow_other (as root) so the httpd children
(user nobody) can open it.

Usage: hung-fs.py MOUNTPOINT RELEASE   (foreground; unmount with fusermount3 -u MOUNTPOINT)
"""

import errno
import os
import stat
import sys
import threading
import time

try:
    from fusepy import FUSE, FuseOSError, Operations  # Debian's python3-fusepy
except ImportError:
    from fuse import FUSE, FuseOSError, Operations  # fusepy from PyPI

SIZE = 100000
RELEASE = sys.argv[2]
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
        while not UNMOUNTED.is_set() and not os.path.exists(RELEASE):
            UNMOUNTED.wait(0.2)
        raise FuseOSError(errno.EIO)

    def destroy(self, path):
        UNMOUNTED.set()


if __name__ == "__main__":
    FUSE(Hung(), sys.argv[1], foreground=True, ro=True, allow_other=True, nothreads=False)

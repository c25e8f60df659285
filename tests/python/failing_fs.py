"""A read-only FUSE filesystem over a directory whose reads fail on demand, as a network or
FUSE mount (NFS, gcsfuse, s3fs) or a failing disk fails: the kernel gets EIO for the reads of a
byte range of one file, named in the control file `SOURCE/.fail` as `NAME START END`.

    python failing_fs.py SOURCE MOUNTPOINT     (runs in the foreground until unmounted)

Used by test_fuse.py; needs libfuse2 and the fusepy package (tests/python/requirements.txt).
"""

import errno
import os
import sys

from fuse import FUSE, FuseOSError, Operations

CONTROL = ".fail"


class FailingFS(Operations):
    def __init__(self, source):
        self.source = source

    def _path(self, path):
        return os.path.join(self.source, path.lstrip("/"))

    def _failing_range(self, path):
        try:
            with open(os.path.join(self.source, CONTROL)) as control:
                name, start, end = control.read().split()
        except (FileNotFoundError, ValueError):
            return None
        return (int(start), int(end)) if path.lstrip("/") == name else None

    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        return {key: getattr(st, key) for key in
                ("st_mode", "st_size", "st_nlink", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")}

    def readdir(self, path, fh):
        return [".", ".."] + [name for name in os.listdir(self._path(path)) if name != CONTROL]

    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise FuseOSError(errno.EROFS)
        return os.open(self._path(path), os.O_RDONLY)

    def read(self, path, size, offset, fh):
        failing = self._failing_range(path)
        if failing is not None and offset < failing[1] and offset + size > failing[0]:
            raise FuseOSError(errno.EIO)
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)


if __name__ == "__main__":
    source, mountpoint = sys.argv[1:3]
    # Reads go to this process every time a file is opened anew (no kernel_cache), so a range
    # set to fail after a first read fails for the next reader.
    FUSE(FailingFS(source), mountpoint, foreground=True, ro=True, nothreads=True)

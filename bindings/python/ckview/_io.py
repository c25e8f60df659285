"""Open options: memory maps, or a Python filesystem (fsspec or anything with `open(path, "rb")`)
behind libckview's `ckview_io_methods` callbacks.

The callbacks run inside ckview calls, on whichever thread made the call (ctypes takes the GIL
for them). An exception never crosses C: the callback stashes it on the call that is running on
its thread and returns a nonzero code; the call then fails with CKVIEW_IO_ERROR and `check`
raises the stashed exception. Failed opens of files that do not exist are normal (ckview probes
several path forms) and are dropped when the call succeeds.
"""

import collections
import ctypes
import errno
import itertools
import os
import threading

from . import _native
from .errors import error_for, take_message


def _code(exception):
    """The nonzero code a callback returns for `exception`: its errno, else EIO."""
    number = getattr(exception, "errno", None)
    if isinstance(number, int) and 0 < number < 2**31:
        return number
    return errno.EIO


class _File:
    """A file object the filesystem opened, its size, and the lock that keeps each seek+read
    pair together when threads read the same file."""

    __slots__ = ("file", "path", "size", "lock")

    def __init__(self, file, path, size):
        self.file, self.path, self.size, self.lock = file, path, size, threading.Lock()


def _size_of(file):
    """The size of an open file object: its `size` (attribute or method), else `seek(0, 2)`."""
    size = getattr(file, "size", None)
    if callable(size):
        size = size()
    if isinstance(size, int) and size >= 0:
        return size
    end = file.seek(0, os.SEEK_END)
    return end if isinstance(end, int) else file.tell()


class Storage:
    """A Python filesystem as libckview storage. Holds the ctypes callbacks, the options that
    point at them, and every file ckview has open: it must outlive the view or reader opened
    with `options` (the view or reader keeps a reference to it)."""

    def __init__(self, filesystem):
        if not callable(getattr(filesystem, "open", None)):
            raise TypeError(f"filesystem must have an open(path, mode) method, got {filesystem!r}")
        self.filesystem = filesystem
        self._files = {}  # handle (a nonzero int, what ckview holds) -> _File
        self._handles = itertools.count(1)
        self._lock = threading.Lock()
        self._local = threading.local()  # .calls: the stashes of the calls running on this thread
        self._orphans = collections.deque(maxlen=16)  # stashed on a thread that made no call
        self.opened = self.closed = 0
        # Every CFUNCTYPE object is kept here (and in the table) for the storage's lifetime.
        self._callbacks = (
            _native.IO_OPEN(self._open),
            _native.IO_SIZE(self._size),
            _native.IO_READ(self._read),
            _native.IO_CLOSE(self._close),
        )
        self._methods = _native.IoMethods(*self._callbacks)
        self.options = _native.OpenOptions(0, ctypes.pointer(self._methods), None)

    @property
    def open_files(self):
        """How many files ckview has open through this storage."""
        with self._lock:
            return len(self._files)

    # Running a ckview call ------------------------------------------------------------------

    def call(self, function, *args):
        """`function(*args)`, returning `(status, exceptions its callbacks raised)`."""
        calls = getattr(self._local, "calls", None)
        if calls is None:
            calls = self._local.calls = []
        stash = []
        calls.append(stash)
        try:
            status = function(*args)
        finally:
            calls.pop()
        if status != _native.OK and not stash and self._orphans:
            with self._lock:  # raised on a thread the library ran a callback on by itself
                stash, self._orphans = list(self._orphans), collections.deque(maxlen=16)
        return status, stash

    def _stash(self, exception):
        calls = getattr(self._local, "calls", None)
        if calls:
            calls[-1].append(exception)
        else:
            with self._lock:
                self._orphans.append(exception)
        return _code(exception)

    # The callbacks ---------------------------------------------------------------------------

    def _open(self, _userdata, path, path_len, file_out):
        try:
            name = os.fsdecode(ctypes.string_at(path, path_len))
            file = self.filesystem.open(name, "rb")
            try:
                entry = _File(file, name, _size_of(file))
            except BaseException:
                file.close()
                raise
            with self._lock:
                handle = next(self._handles)
                self._files[handle] = entry
                self.opened += 1
            file_out[0] = handle
            return 0
        except BaseException as exception:  # never into C
            return self._stash(exception)

    def _size(self, _userdata, handle, size_out):
        try:
            size_out[0] = self._entry(handle).size
            return 0
        except BaseException as exception:
            return self._stash(exception)

    def _read(self, _userdata, handle, offset, buffer, length):
        try:
            entry = self._entry(handle)
            with entry.lock:
                entry.file.seek(offset)
                data = entry.file.read(length)
                while data is not None and len(data) < length:  # a short read is not the end
                    more = entry.file.read(length - len(data))
                    if not more:
                        break
                    data = bytes(data) + bytes(more)
            if data is None or len(data) != length:
                got = 0 if data is None else len(data)
                raise OSError(errno.EIO, f"{entry.path}: {length} bytes at offset {offset} asked, {got} read")
            ctypes.memmove(buffer, bytes(data) if not isinstance(data, bytes) else data, length)
            return 0
        except BaseException as exception:
            return self._stash(exception)

    def _close(self, _userdata, handle):
        try:
            with self._lock:
                entry = self._files.pop(handle, None)
                self.closed += entry is not None
            if entry is not None:
                entry.file.close()
        except BaseException:  # close has no status to report it with, and must not unwind
            pass

    def _entry(self, handle):
        with self._lock:
            return self._files[handle]


def check(status, error, raised):
    """Raises for a failed call whose callbacks raised `raised` (freeing `error`, a
    `ckview_error *` or None): CKVIEW_IO_ERROR re-raises the callback's own exception, with
    ckview's message as a note; any other failure raises CkviewError, chained from the last
    exception that was not a missing file."""
    if status == _native.OK:
        return
    message = take_message(status, error)
    if status == _native.IO_ERROR and raised:
        exception = raised[-1]
        if hasattr(exception, "add_note"):
            exception.add_note(f"ckview: {message}")
        raise exception
    cause = next((e for e in reversed(raised) if not isinstance(e, FileNotFoundError)), None)
    raise error_for(status, message) from cause


def open_options(mmap, filesystem):
    """`(options or None, storage or None)` for an open call."""
    if filesystem is not None:
        if mmap:
            raise ValueError("mmap=True maps local files; it cannot be combined with filesystem=")
        storage = Storage(filesystem)
        return storage.options, storage
    if mmap:
        return _native.OpenOptions(_native.OPEN_MMAP, None, None), None
    return None, None


def open_handle(function, save_path, mmap, filesystem):
    """Calls `ckview_open_with` or `ckview_reader_open_with`: `(handle, storage or None)`."""
    options, storage = open_options(mmap, filesystem)
    handle, error = ctypes.c_void_p(), ctypes.c_void_p()
    path = os.fsencode(save_path)
    if b"\0" in path:  # C would read the path up to the NUL and open another file
        raise ValueError(f"embedded null byte in path {save_path!r}")
    options_pointer = ctypes.byref(options) if options is not None else None
    if storage is None:
        status, raised = function(path, options_pointer, ctypes.byref(handle), ctypes.byref(error)), []
    else:
        status, raised = storage.call(function, path, options_pointer, ctypes.byref(handle), ctypes.byref(error))
    check(status, error, raised)
    return handle, storage


__all__ = ["Storage", "check", "open_handle"]

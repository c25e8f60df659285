"""The base of every Python object that owns a native handle, and the counted handle itself."""

import threading


class Handle:
    """One native pointer guarded against use after free, as the Go binding's `cref` guards its
    handles. Every call into the library holds the handle (`with handle as pointer:`) while it
    runs; `close()` marks it closed at once, so that new calls raise
    `ValueError("this CheckpointView is closed")`, and frees it when the last running call (or
    the last array borrowed from it) lets go. libckview lets any number of threads use a handle
    at once but forbids freeing it while another call runs on it: a `close()` from another
    thread, or from a children callback in the middle of a diff on the same view, is therefore
    safe, and the free waits for the calls.

    `parent` is the handle this one is borrowed from (a view's reader): using this one uses the
    parent too, so the parent is not freed under it, and a closed parent refuses new calls.
    `keep` is anything that must live until the free (the storage whose callbacks the handle
    calls)."""

    __slots__ = ("_lock", "_pointer", "_users", "_closed", "_free", "_parent", "_keep", "name")

    def __init__(self, pointer, free, name, parent=None, keep=None):
        self._lock = threading.Lock()
        self._pointer, self._free, self.name = pointer, free, name
        self._users, self._closed = 0, False
        self._parent, self._keep = parent, keep

    def acquire(self):
        """The pointer, counting one more user; ValueError once this handle or its parent is closed."""
        with self._lock:
            if self._closed:
                raise ValueError(f"this {self.name} is closed")
            self._users += 1
        if self._parent is not None:
            try:
                self._parent.acquire()
            except BaseException:
                self.release()
                raise
        return self._pointer

    def release(self):
        """Ends one use; the last use after `close()` frees the pointer."""
        if self._parent is not None:
            self._parent.release()
        with self._lock:
            self._users -= 1
            pointer = self._take()
        if pointer is not None:
            self._free(pointer)

    def close(self):
        """Refuses new uses and frees the pointer now, or when the running uses end. Idempotent."""
        with self._lock:
            self._closed = True
            pointer = self._take()
        if pointer is not None:
            self._free(pointer)

    @property
    def closed(self):
        """Whether new uses are refused (this handle or its parent is closed)."""
        return self._closed or (self._parent is not None and self._parent.closed)

    def _take(self):
        """The pointer to free, once, when closed and unused; the lock must be held."""
        if not self._closed or self._users or self._pointer is None:
            return None
        pointer, self._pointer, self._keep = self._pointer, None, None
        return pointer if self._free is not None else None

    __enter__ = acquire

    def __exit__(self, *exc_info):
        self.release()


class Managed:
    """Owns one `Handle`: `close()` closes it (a second call does nothing), the object is a
    context manager, and garbage collection closes what the caller forgot to."""

    _handle = None

    def close(self):
        """Closes the object: later calls raise ValueError. Safe to call twice, and from any
        thread or callback; the native memory is freed once no call is using it."""
        handle = self._handle
        if handle is not None:
            handle.close()

    @property
    def closed(self):
        """Whether `close()` was called (for a view's reader: on the reader or on its view)."""
        return self._handle is None or self._handle.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()

"""The base of every Python object that owns a native handle."""


class Managed:
    """Owns one native handle: `close()` frees it once (a second call does nothing), the object
    is a context manager, and garbage collection closes what the caller forgot to."""

    _handle = None

    def _free(self, handle):
        """Frees `handle`; subclasses name the C function."""
        raise NotImplementedError

    def close(self):
        """Frees the native handle. Safe to call twice."""
        handle, self._handle = self._handle, None
        if handle:
            self._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()

    def _live(self):
        """The handle, or ValueError once closed."""
        if not self._handle:
            raise ValueError(f"the {type(self).__name__} is closed")
        return self._handle

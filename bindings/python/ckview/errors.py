"""Exceptions raised by the binding, carrying the library's status."""

import ctypes

from . import _native


class CkviewError(Exception):
    """A call into libckview failed. `status` is the ckview_status number, `status_name` its name."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = _native.lib.ckview_status_name(status).decode()


class NameBasedCheckpointError(CkviewError, ValueError):
    """A TF1 name-based checkpoint has no object graph; TensorFlow raises ValueError here too."""


def take_message(status, error=None):
    """The message of a failed call: `error`'s (a ckview_error pointer, freed here) if given and
    set, else the status name."""
    if error is not None and error.value:
        message = _native.lib.ckview_error_message(error).decode("utf-8", "replace")
        _native.lib.ckview_error_free(error)
        error.value = None
        return message
    return _native.lib.ckview_status_name(status).decode()


def error_for(status, message):
    """The exception for a failed `status`."""
    if status == _native.NAME_BASED_CHECKPOINT:
        return NameBasedCheckpointError(status, message)
    return CkviewError(status, message)


def raise_for(status, error=None, context=""):
    """Raises the exception for a failed `status`, freeing `error` (a ckview_error pointer) if given."""
    if status == _native.OK:
        return
    message = take_message(status, error)
    if context:
        message = f"{context}: {message}"
    raise error_for(status, message)


def new_error_slot():
    """A `ckview_error *` for an `error_out` argument."""
    return ctypes.c_void_p()

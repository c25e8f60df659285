"""`load_checkpoint`: tensors by key, like TensorFlow's `tf.train.load_checkpoint` reader."""

import ctypes
import os
import struct
from ctypes import byref, c_size_t, c_uint64, c_void_p

from . import _native
from ._native import lib
from ._managed import Managed
from .errors import CkviewError, raise_for

try:  # numpy is optional: without it values come back as (nested) Python lists
    import numpy
except ImportError:  # pragma: no cover - exercised by the no-numpy test
    numpy = None

# TensorFlow dtype name -> (numpy dtype name, struct format) for fixed-size types.
_NUMERIC = {
    "float32": ("float32", "f"), "float64": ("float64", "d"), "float16": ("float16", "e"),
    "int8": ("int8", "b"), "int16": ("int16", "h"), "int32": ("int32", "i"), "int64": ("int64", "q"),
    "uint8": ("uint8", "B"), "uint16": ("uint16", "H"), "uint32": ("uint32", "I"), "uint64": ("uint64", "Q"),
    "bool": ("bool", "?"), "complex64": ("complex64", "f"), "complex128": ("complex128", "d"),
    "bfloat16": ("bfloat16", "H"),
}


class _Tensor:
    """Metadata of one key, read from a `ckview_tensor` handle."""

    def __init__(self, handle):
        key = _native.Str()
        dtype = ctypes.c_int32()
        dims = ctypes.POINTER(c_uint64)()
        rank = c_size_t()
        size = c_uint64()
        lib.ckview_tensor_key(handle, byref(key))
        lib.ckview_tensor_dtype(handle, byref(dtype))
        lib.ckview_tensor_shape(handle, byref(dims), byref(rank))
        lib.ckview_tensor_size_bytes(handle, byref(size))
        self.key = ctypes.string_at(key.ptr, key.len).decode("utf-8", "surrogateescape")
        self.dtype = lib.ckview_dtype_name(dtype.value).decode()
        self.shape = [dims[i] for i in range(rank.value)]
        self.size_bytes = size.value


def _read(handle, tensor, verify=True):
    """The value of a tensor handle: a numpy array when numpy is importable, else lists."""
    if tensor.dtype == "string":
        strings = c_void_p()
        error = c_void_p()
        raise_for(lib.ckview_tensor_read_strings(handle, byref(strings), byref(error)), error)
        try:
            count = c_size_t()
            lib.ckview_string_list_count(strings, byref(count))
            element = _native.Str()
            values = []
            for index in range(count.value):
                lib.ckview_string_list_get(strings, index, byref(element))
                values.append(ctypes.string_at(element.ptr, element.len))
        finally:
            lib.ckview_string_list_free(strings)
        if numpy is not None:
            array = numpy.empty(len(values), dtype=object)
            array[:] = values
            return _numpy_value(array, tensor.shape)
        return _nest(values, tensor.shape)
    buffer = ctypes.create_string_buffer(tensor.size_bytes)
    error = c_void_p()
    flags = 0 if verify else _native.READ_SKIP_CHECKSUMS
    raise_for(lib.ckview_tensor_read(handle, buffer, tensor.size_bytes, flags, byref(error)), error)
    return _convert(buffer.raw, tensor)


def _convert(raw, tensor):
    numpy_name, code = _NUMERIC.get(tensor.dtype, (None, None))
    if code is None:
        raise CkviewError(19, f"tensor {tensor.key!r} has dtype {tensor.dtype}, which ckview does not convert")
    if numpy is not None:
        if tensor.dtype == "bfloat16":
            try:
                import ml_dtypes  # what TensorFlow itself returns bfloat16 values as
                dtype = ml_dtypes.bfloat16
            except ImportError:
                dtype = numpy.uint16  # the raw bit patterns
        else:
            dtype = numpy.dtype(numpy_name)
        return _numpy_value(numpy.frombuffer(raw, dtype=dtype).copy(), tensor.shape)
    count = len(raw) // struct.calcsize(code)
    values = list(struct.unpack(f"<{count}{code}", raw)) if count else []
    if tensor.dtype.startswith("complex"):
        values = [complex(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    elif tensor.dtype == "bfloat16":
        values = [struct.unpack("<f", struct.pack("<I", bits << 16))[0] for bits in values]
    return _nest(values, tensor.shape)


def _numpy_value(flat, shape):
    """The array in `shape`; a scalar comes back as TensorFlow gives it (a numpy scalar, or
    `bytes` for a string)."""
    return flat.reshape(shape)[()] if not shape else flat.reshape(shape)


def _nest(values, shape):
    """Row-major flat values as nested lists of `shape` (a bare value for a scalar)."""
    if not shape:
        return values[0]
    for dim in reversed(shape[1:]):
        values = [values[i:i + dim] for i in range(0, len(values), dim)] if dim else [[] for _ in range(len(values))]
    return values if shape[0] else []


class CheckpointReader(Managed):
    """Every tensor of a checkpoint by key; TF1 name-based checkpoints included.

    Mirrors the reader of `tf.train.load_checkpoint`: `get_variable_to_shape_map()`,
    `get_variable_to_dtype_map()` (dtype names as strings), `has_tensor(key)` and
    `get_tensor(key)`.
    """

    def __init__(self, save_path=None, _borrowed=None, _owner=None):
        self._owner = _owner  # keeps a view alive while its borrowed reader is used
        if _borrowed is not None:
            self._handle, self._owned = _borrowed, False
        else:
            self._handle, self._owned = c_void_p(), True
            error = c_void_p()
            raise_for(lib.ckview_reader_open(os.fsencode(save_path), byref(self._handle), byref(error)), error)
        self._listing = None

    def _free(self, handle):
        if self._owned:  # a view's reader belongs to the view
            lib.ckview_reader_free(handle)

    def _tensors(self):
        if self._listing is None:
            listing, error = c_void_p(), c_void_p()
            raise_for(lib.ckview_reader_list(self._live(), byref(listing), byref(error)), error)
            try:
                count = c_size_t()
                lib.ckview_tensor_list_count(listing, byref(count))
                handle = c_void_p()
                self._listing = []
                for index in range(count.value):
                    lib.ckview_tensor_list_get(listing, index, byref(handle))
                    self._listing.append(_Tensor(handle))
            finally:
                lib.ckview_tensor_list_free(listing)
        return self._listing

    def get_variable_to_shape_map(self):
        """`{key: [dims]}` for every tensor."""
        return {tensor.key: list(tensor.shape) for tensor in self._tensors()}

    def get_variable_to_dtype_map(self):
        """`{key: dtype name}` (`"float32"`, `"string"`, ...) for every tensor."""
        return {tensor.key: tensor.dtype for tensor in self._tensors()}

    def has_tensor(self, key):
        """Whether a tensor is stored under `key`."""
        handle = self._find(key, missing_ok=True)
        if handle is None:
            return False
        lib.ckview_tensor_free(handle)
        return True

    def get_tensor(self, key, verify=True):
        """The value under `key`: a numpy array when numpy is importable (a numpy scalar, or
        `bytes`, for a scalar, as TensorFlow returns), else nested lists. Checksums are verified
        unless `verify=False`."""
        handle = self._find(key)
        try:
            return _read(handle, _Tensor(handle), verify)
        finally:
            lib.ckview_tensor_free(handle)

    def _find(self, key, missing_ok=False):
        encoded = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
        handle, error = c_void_p(), c_void_p()
        status = lib.ckview_reader_find(self._live(), encoded, len(encoded), byref(handle), byref(error))
        if status == _native.KEY_NOT_FOUND and missing_ok:
            lib.ckview_error_free(error)
            return None
        raise_for(status, error)
        return handle


def load_checkpoint(save_path):
    """A `CheckpointReader` for the checkpoint `save_path` leads to."""
    return CheckpointReader(save_path)

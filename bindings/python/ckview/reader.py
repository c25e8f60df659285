"""`load_checkpoint`: tensors by key, like TensorFlow's `tf.train.load_checkpoint` reader."""

import ctypes
import struct
from ctypes import byref, c_size_t, c_uint64, c_void_p

from . import _io, _native
from ._native import lib
from ._managed import Managed
from .errors import CkviewError

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
    # One byte per element on disk, as ml_dtypes keeps them (tests/fixtures/README.md).
    "float8_e5m2": ("uint8", "B"), "float8_e4m3fn": ("uint8", "B"), "float8_e4m3fnuz": ("uint8", "B"),
    "float8_e4m3b11fnuz": ("uint8", "B"), "float8_e5m2fnuz": ("uint8", "B"), "int4": ("uint8", "B"),
    "uint4": ("uint8", "B"), "int2": ("uint8", "B"), "uint2": ("uint8", "B"), "float4_e2m1fn": ("uint8", "B"),
}
# Returned as ml_dtypes arrays when ml_dtypes is installed, as TensorFlow does.
_ML_DTYPES = {"bfloat16", "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz",
              "int4", "uint4", "int2", "uint2", "float4_e2m1fn"}


class _Tensor:
    """Metadata of one key, read from a `ckview_tensor` handle."""

    def __init__(self, handle):
        key = _native.Str()
        dtype = ctypes.c_int32()
        dims = ctypes.POINTER(c_uint64)()
        rank = c_size_t()
        lib.ckview_tensor_key(handle, byref(key))
        lib.ckview_tensor_dtype(handle, byref(dtype))
        lib.ckview_tensor_shape(handle, byref(dims), byref(rank))
        self.key = ctypes.string_at(key.ptr, key.len).decode("utf-8", "surrogateescape")
        self.dtype = lib.ckview_dtype_name(dtype.value).decode()
        self.shape = [dims[i] for i in range(rank.value)]


def _read(reader, handle, tensor, verify=True):
    """The value of a tensor handle of `reader`: a numpy array when numpy is importable, else
    lists. Without memory maps the bytes are read into a buffer; with them (mmap=True) they are
    borrowed from the map when the library can hand them out as stored."""
    if tensor.dtype == "string":
        strings = c_void_p()
        error = c_void_p()
        reader._call(lib.ckview_tensor_read_strings, handle, byref(strings), byref(error), error=error)
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
    flags = 0 if verify else _native.READ_SKIP_CHECKSUMS
    if reader._mmap:
        data, length, error = c_void_p(), c_size_t(), c_void_p()
        status = reader._call(lib.ckview_tensor_borrow, handle, byref(data), byref(length), flags, byref(error),
                              error=error, allow=(_native.UNSUPPORTED,))
        if status == _native.OK:
            return _convert(ctypes.string_at(data.value, length.value) if length.value else b"", tensor)
    size = c_uint64()
    reader._call(lib.ckview_tensor_size_bytes, handle, byref(size))
    buffer = ctypes.create_string_buffer(size.value)
    error = c_void_p()
    reader._call(lib.ckview_tensor_read, handle, buffer, size.value, flags, byref(error), error=error)
    return _convert(buffer.raw, tensor)


def _convert(raw, tensor):
    numpy_name, code = _NUMERIC.get(tensor.dtype, (None, None))
    if code is None:
        raise CkviewError(19, f"tensor {tensor.key!r} has dtype {tensor.dtype}, which ckview does not convert")
    if numpy is not None:
        if tensor.dtype in _ML_DTYPES:
            try:
                import ml_dtypes  # what TensorFlow itself returns these values as
                dtype = getattr(ml_dtypes, tensor.dtype)
            except (ImportError, AttributeError):
                dtype = numpy.uint16 if tensor.dtype == "bfloat16" else numpy.uint8  # the raw bit patterns
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
    `get_tensor(key)`. `mmap=` and `filesystem=` are as for `load_checkpoint`.
    """

    def __init__(self, save_path=None, *, mmap=False, filesystem=None, _borrowed=None, _owner=None):
        self._owner = _owner  # keeps a view alive while its borrowed reader is used
        self._listing = None
        if _borrowed is not None:
            self._handle, self._owned = _borrowed, False
            self._mmap, self._storage = _owner._mmap, _owner._storage
        else:
            self._owned, self._mmap = True, bool(mmap)
            # The storage (when filesystem= is given) holds the callbacks and the open files; it
            # lives as long as this reader, past the ckview_reader_free that closes the files.
            self._handle, self._storage = _io.open_handle(lib.ckview_reader_open_with, save_path, mmap, filesystem)

    def _free(self, handle):
        if self._owned:  # a view's reader belongs to the view
            lib.ckview_reader_free(handle)

    def _live(self):
        """The handle, or ValueError once closed, or once the view it was borrowed from is."""
        if not self._owned and self._handle and not self._owner._handle:
            self._handle = None  # freed with the view: never touch it again
        return super()._live()

    def _call(self, function, *args, error=None, allow=()):
        """`function(*args)`, raising for a failed status (freeing `error`, the `ckview_error *`
        among the arguments) except for the statuses in `allow`, which are returned. An
        exception a filesystem callback raised is raised again here."""
        if self._storage is None:
            status, raised = function(*args), ()
        else:
            status, raised = self._storage.call(function, *args)
        if status in allow:
            if error is not None and error.value:
                lib.ckview_error_free(error)
            return status
        _io.check(status, error, raised)
        return status

    def _tensors(self):
        if self._listing is None:
            listing, error = c_void_p(), c_void_p()
            self._call(lib.ckview_reader_list, self._live(), byref(listing), byref(error), error=error)
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
        """`{key: DType}` for every tensor: each has TensorFlow's `name`, `as_numpy_dtype` and
        `size`, and equals its name (`"float32"`, `"string"`, ...)."""
        from .tf_compat import DType
        return {tensor.key: DType(tensor.dtype) for tensor in self._tensors()}

    def debug_string(self):
        """`key (DT_X) [d0,d1]` per tensor, one a line, as bytes: TensorFlow's `debug_string()`."""
        enum = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF"}
        lines = [f"{t.key} ({enum.get(t.dtype, 'DT_' + t.dtype.upper())}) [{','.join(str(d) for d in t.shape)}]\n"
                 for t in self._tensors()]
        return "".join(lines).encode("utf-8", "surrogateescape")

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
            return _read(self, handle, _Tensor(handle), verify)
        finally:
            lib.ckview_tensor_free(handle)

    def _find(self, key, missing_ok=False):
        encoded = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
        handle, error = c_void_p(), c_void_p()
        allow = (_native.KEY_NOT_FOUND,) if missing_ok else ()
        status = self._call(lib.ckview_reader_find, self._live(), encoded, len(encoded), byref(handle), byref(error),
                            error=error, allow=allow)
        return None if status == _native.KEY_NOT_FOUND else handle

    def export_safetensors(self, path, **options):
        """Writes this checkpoint's tensors to the safetensors file `path`: see
        `ckview.export.export_safetensors` for the options (names, drop_slots, skip_unsupported,
        max_shard_size, rename, progress). Returns an `ExportReport`."""
        from .export import export_safetensors

        return export_safetensors(self, path, **options)

    def state_dict(self, **options):
        """{name: array} of the tensors `export_safetensors` would write, under the same names:
        see `ckview.export.state_dict`."""
        from .export import state_dict

        return state_dict(self, **options)


def load_checkpoint(save_path, *, mmap=False, filesystem=None):
    """A `CheckpointReader` for the checkpoint `save_path` leads to.

    `mmap=True` memory-maps the data shards (values are then copied straight from the map;
    a file that shrinks or fails under the open reader can kill the process with SIGBUS).
    `filesystem` reads the checkpoint through any object with `open(path, "rb")` returning a
    file object with `seek`, `read` and `close` (an fsspec filesystem: gcsfs, s3fs, ...);
    paths are given to it as `str`. An exception it raises propagates from the call that
    needed the read."""
    return CheckpointReader(save_path, mmap=mmap, filesystem=filesystem)

"""`load_checkpoint`: tensors by key, like TensorFlow's `tf.train.load_checkpoint` reader."""

from __future__ import annotations

import ctypes
import math
import struct
import sys
from ctypes import byref, c_size_t, c_uint64, c_void_p, string_at

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any, Dict, List, Union

from . import _io, _native
from ._native import lib
from ._managed import Handle, Managed
from .errors import CkviewError, raise_for

# numpy is optional (without it values come back as nested lists) and imported on the first
# tensor read, so that `import ckview` stays fast. Tests set this to None to mean "absent".
_NOT_LOADED = object()
numpy = _NOT_LOADED


def _numpy():
    """The numpy module, or None when it is not importable."""
    global numpy
    if numpy is _NOT_LOADED:
        try:
            import numpy as module
        except ImportError:  # pragma: no cover - exercised by the no-numpy test
            module = None
        numpy = module
    return numpy


# TensorFlow dtype name -> (numpy dtype name, memoryview/struct format) for fixed-size types.
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
_DTYPE_NAMES = {}  # DataType number -> name


def _dtype_name(number):
    name = _DTYPE_NAMES.get(number)
    if name is None:
        name = _DTYPE_NAMES[number] = lib.ckview_dtype_name(number).decode()
    return name


class _Listing:
    """The keys, dtype names and shapes of every tensor, copied out of a `ckview_tensor_table`
    in a few bulk copies (no call per key). Keys are split at once; dtype names and shapes are
    made when first asked for (a shape map needs no dtypes)."""

    __slots__ = ("keys", "_numbers", "_dtypes", "_dims", "_dim_ends")

    def __init__(self, table):
        count = table.count
        self._dtypes = None
        if not count:
            self.keys, self._numbers, self._dims, self._dim_ends = [], [], [], []
            return
        key_ends = _native.column(table.key_ends, count)
        self._dim_ends = _native.column(table.dim_ends, count)
        self._dims = _native.column(table.dims, self._dim_ends[-1], "Q")
        self.keys = _native.split_text(string_at(table.keys, key_ends[-1]), key_ends, "surrogateescape")
        self._numbers = _native.column(table.dtypes, count, "i")

    @property
    def dtypes(self):
        """The dtype names, in key order (made once)."""
        if self._dtypes is None:
            numbers = self._numbers
            for number in set(numbers):
                _dtype_name(number)
            self._dtypes = list(map(_DTYPE_NAMES.__getitem__, numbers))
        return self._dtypes

    @property
    def shapes(self):
        """A new list of new shape lists (callers may change them)."""
        dims = self._dims
        return [dims[a:b] for a, b in _native.spans(self._dim_ends)]

    def shape_map(self):
        """`{key: [dims]}`, new lists, in one pass."""
        dims = self._dims
        return {key: dims[a:b] for key, (a, b) in zip(self.keys, _native.spans(self._dim_ends))}

    def tensors(self):
        """`(key, dtype, shape)` objects, one per tensor."""
        return [_Entry(*row) for row in zip(self.keys, self.dtypes, self.shapes)]


class _Entry:
    __slots__ = ("key", "dtype", "shape")

    def __init__(self, key, dtype, shape):
        self.key, self.dtype, self.shape = key, dtype, shape


class _Tensor:
    """Metadata of one key, read from a `ckview_tensor` handle (every status checked)."""

    __slots__ = ("key", "dtype", "shape")

    def __init__(self, handle):
        key, dtype, dims, rank = _native.Str(), ctypes.c_int32(), ctypes.POINTER(c_uint64)(), c_size_t()
        raise_for(lib.ckview_tensor_key(handle, byref(key)))
        raise_for(lib.ckview_tensor_dtype(handle, byref(dtype)))
        raise_for(lib.ckview_tensor_shape(handle, byref(dims), byref(rank)))
        self.key = string_at(key.ptr, key.len).decode("utf-8", "surrogateescape")
        self.dtype = _dtype_name(dtype.value)
        self.shape = dims[: rank.value] if rank.value else []


def _numpy_dtype(np, tensor):
    """The numpy dtype `get_tensor` returns for the tensor's dtype."""
    numpy_name, _ = _NUMERIC.get(tensor.dtype, (None, None))
    if numpy_name is None:
        raise CkviewError(19, f"tensor {tensor.key!r} has dtype {tensor.dtype}, which ckview does not convert")
    if tensor.dtype in _ML_DTYPES:
        try:
            import ml_dtypes  # what TensorFlow itself returns these values as

            return np.dtype(getattr(ml_dtypes, tensor.dtype))
        except (ImportError, AttributeError):
            return np.dtype(np.uint16 if tensor.dtype == "bfloat16" else np.uint8)  # the raw bit patterns
    return np.dtype(numpy_name)


def _check_size(tensor, size, itemsize):
    """The library's byte count must be the shape's: anything else is refused before allocating."""
    expected = math.prod(tensor.shape) * itemsize
    if size != expected:
        raise CkviewError(255, f"tensor {tensor.key!r}: the library reports {size} bytes for shape {tensor.shape} "
                               f"of {tensor.dtype} ({expected} expected)")


def _scalar_or_array(array, shape):
    """A scalar comes back as TensorFlow gives it (a numpy scalar, or `bytes` for a string)."""
    return array[()] if not shape else array


def _values(raw, tensor):
    """Row-major flat Python values of a fixed-size tensor's bytes (host order), at C speed."""
    _, code = _NUMERIC.get(tensor.dtype, (None, None))
    if code is None:
        raise CkviewError(19, f"tensor {tensor.key!r} has dtype {tensor.dtype}, which ckview does not convert")
    if not raw:
        return []
    if tensor.dtype == "bfloat16":  # the upper half of a float32: widen the bits, then read floats
        wide = bytearray(2 * len(raw))
        high = 2 if sys.byteorder == "little" else 0
        wide[high::4], wide[high + 1::4] = raw[0::2], raw[1::2]
        return memoryview(wide).cast("f").tolist()
    if code == "e":
        return list(struct.unpack(f"={len(raw) // 2}e", raw))
    values = memoryview(raw).cast(code).tolist()
    if tensor.dtype.startswith("complex"):
        return list(map(complex, values[0::2], values[1::2]))
    return values


def _nest(values, shape):
    """Row-major flat values as nested lists of `shape` (a bare value for a scalar)."""
    if not shape:
        return values[0]
    for dim in reversed(shape[1:]):
        values = [values[i:i + dim] for i in range(0, len(values), dim)] if dim else [[] for _ in range(len(values))]
    return values if shape[0] else []


class _Borrowed:
    """What a `copy=False` array's memory belongs to: bytes of a memory-mapped shard. It holds
    one use of the reader's handle, so the map stays valid (the reader's `close()` frees it only
    once every such array is gone), and describes the bytes to numpy as read-only."""

    __slots__ = ("__array_interface__", "_handle")

    def __init__(self, handle, address, length):
        handle.acquire()
        self._handle = handle
        self.__array_interface__ = {"data": (address, True), "shape": (length,), "typestr": "|u1", "version": 3}

    def __del__(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            handle.release()


class CheckpointReader(Managed):
    """Every tensor of a checkpoint by key; TF1 name-based checkpoints included.

    Mirrors the reader of `tf.train.load_checkpoint`: `get_variable_to_shape_map()`,
    `get_variable_to_dtype_map()`, `has_tensor(key)` and `get_tensor(key)`. `mmap=` and
    `filesystem=` are as for `load_checkpoint`. A context manager; after `close()` every
    method raises `ValueError("this CheckpointReader is closed")` (a view's reader:
    "this CheckpointView is closed" once its view is).
    """

    def __init__(self, save_path=None, *, mmap: bool = False, filesystem: Any = None, _borrowed=None, _owner=None):
        self._owner = _owner  # keeps a view alive while its borrowed reader is used
        self._listing = None
        if _borrowed is not None:
            self._handle = _borrowed  # a Handle whose parent is the view's
            self._mmap, self._storage = _owner._mmap, _owner._storage
        else:
            self._mmap = bool(mmap)
            # The storage (when filesystem= is given) holds the callbacks and the open files; the
            # handle keeps it past the ckview_reader_free that closes the files.
            pointer, self._storage = _io.open_handle(lib.ckview_reader_open_with, save_path, mmap, filesystem)
            self._handle = Handle(pointer, lib.ckview_reader_free, "CheckpointReader", keep=self._storage)

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
        """Every tensor's metadata from one listing call and one table call (kept: the checkpoint
        does not change)."""
        listing = self._listing
        if listing is not None:
            return listing
        with self._handle as reader:
            tensors, error = c_void_p(), c_void_p()
            self._call(lib.ckview_reader_list, reader, byref(tensors), byref(error), error=error)
            try:
                table = _native.TensorTable()
                raise_for(lib.ckview_tensor_list_table(tensors, byref(table)))
                listing = _Listing(table)
            finally:
                lib.ckview_tensor_list_free(tensors)
        self._listing = listing
        return listing

    def get_variable_to_shape_map(self) -> Dict[str, List[int]]:
        """`{key: [dims]}` for every tensor."""
        return self._tensors().shape_map()

    def get_variable_to_dtype_map(self) -> Dict[str, Any]:
        """`{key: DType}` for every tensor: each has TensorFlow's `name`, `as_numpy_dtype` and
        `size`, and equals its name (`"float32"`, `"string"`, ...)."""
        from .tf_compat import DType
        listing = self._tensors()
        return dict(zip(listing.keys, map(DType, listing.dtypes)))

    def debug_string(self) -> bytes:
        """`key (DT_X) [d0,d1]` per tensor, one a line, as bytes: TensorFlow's `debug_string()`."""
        enum = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "float16": "DT_HALF"}
        lines = [f"{t.key} ({enum.get(t.dtype, 'DT_' + t.dtype.upper())}) [{','.join(str(d) for d in t.shape)}]\n"
                 for t in self._tensors().tensors()]
        return "".join(lines).encode("utf-8", "surrogateescape")

    def has_tensor(self, key: Union[str, bytes]) -> bool:
        """Whether a tensor is stored under `key`."""
        with self._handle as reader:
            handle = self._find(reader, key, missing_ok=True)
            if handle is None:
                return False
            lib.ckview_tensor_free(handle)
            return True

    def get_tensor(self, key: Union[str, bytes], verify: bool = True, copy: bool = True) -> Any:
        """The value under `key`: a numpy array when numpy is importable (a numpy scalar, or
        `bytes`, for a scalar, as TensorFlow returns), else nested lists. Checksums are verified
        unless `verify=False`.

        The values are read straight into the array `get_tensor` returns, in one pass. With
        `copy=False` (the reader opened with `mmap=True`) nothing is copied: the array is a
        read-only view of the mapped file, and keeps the map alive after `close()` until the
        array itself is gone. A tensor that cannot be borrowed as stored (a partitioned one,
        one of the other byte order, strings, a V1 checkpoint's) raises ValueError then."""
        with self._handle as reader:
            handle = self._find(reader, key)
            try:
                tensor = _Tensor(handle)
                if tensor.dtype == "string":
                    if not copy:
                        raise ValueError(f"tensor {tensor.key!r} holds strings, which cannot be borrowed (copy=False)")
                    return self._strings(handle, tensor)
                flags = 0 if verify else _native.READ_SKIP_CHECKSUMS
                return self._read(handle, tensor, flags) if copy else self._borrow(handle, tensor, flags)
            finally:
                lib.ckview_tensor_free(handle)

    def _read(self, handle, tensor, flags):
        """Reads into a numpy.empty array (or a bytearray, without numpy): one pass."""
        size, error = c_uint64(), c_void_p()
        self._call(lib.ckview_tensor_size_bytes, handle, byref(size))
        size = size.value
        np = _numpy()
        if np is not None:
            dtype = _numpy_dtype(np, tensor)
            _check_size(tensor, size, dtype.itemsize)
            array = np.empty(tensor.shape, dtype)
            self._call(lib.ckview_tensor_read, handle, array.ctypes.data, size, flags, byref(error), error=error)
            return _scalar_or_array(array, tensor.shape)
        buffer = bytearray(size)
        target = (ctypes.c_char * size).from_buffer(buffer) if size else None
        self._call(lib.ckview_tensor_read, handle, target, size, flags, byref(error), error=error)
        del target  # the bytearray is exported while a ctypes array points into it
        return _nest(_values(buffer, tensor), tensor.shape)

    def _borrow(self, handle, tensor, flags):
        """A read-only numpy array over the mapped bytes, holding the reader's handle."""
        if not self._mmap:
            raise ValueError("copy=False borrows the bytes of a memory-mapped file: open the checkpoint with mmap=True")
        np = _numpy()
        if np is None:
            raise ValueError("copy=False returns a numpy array, and numpy is not importable")
        dtype = _numpy_dtype(np, tensor)
        data, length, error = c_void_p(), c_size_t(), c_void_p()
        status = self._call(lib.ckview_tensor_borrow, handle, byref(data), byref(length), flags, byref(error),
                            error=error, allow=(_native.UNSUPPORTED,))
        if status == _native.UNSUPPORTED:
            raise ValueError(f"tensor {tensor.key!r} is not stored as it is returned (partitioned, the other byte "
                             "order, or a V1 checkpoint): read it with copy=True")
        _check_size(tensor, length.value, dtype.itemsize)
        if not length.value:
            array = np.empty(tensor.shape, dtype)
            array.flags.writeable = False
            return array
        return np.asarray(_Borrowed(self._handle, data.value, length.value)).view(dtype).reshape(tensor.shape)

    def _strings(self, handle, tensor):
        strings, error = c_void_p(), c_void_p()
        self._call(lib.ckview_tensor_read_strings, handle, byref(strings), byref(error), error=error)
        try:
            count = c_size_t()
            raise_for(lib.ckview_string_list_count(strings, byref(count)))
            element, get = _native.Str(), lib.ckview_string_list_get
            values = []
            for index in range(count.value):
                raise_for(get(strings, index, byref(element)))
                values.append(string_at(element.ptr, element.len))
        finally:
            lib.ckview_string_list_free(strings)
        np = _numpy()
        if np is not None:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return _scalar_or_array(array.reshape(tensor.shape), tensor.shape)
        return _nest(values, tensor.shape)

    def _find(self, reader, key, missing_ok=False):
        encoded = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else bytes(key)
        handle, error = c_void_p(), c_void_p()
        allow = (_native.KEY_NOT_FOUND,) if missing_ok else ()
        status = self._call(lib.ckview_reader_find, reader, encoded, len(encoded), byref(handle), byref(error),
                            error=error, allow=allow)
        return None if status == _native.KEY_NOT_FOUND else handle

    def export_safetensors(self, path, **options):
        """Writes this checkpoint's tensors to the safetensors file `path`: see
        `ckview.export.export_safetensors` for the options (names, drop_slots, skip_unsupported,
        max_shard_size, rename, progress). Returns an `ExportReport`."""
        from .export import export_safetensors

        return export_safetensors(self, path, **options)

    def rewrite(self, out_prefix, **options):
        """Writes a new checkpoint at `out_prefix` without the optimizer state or some objects:
        see `ckview.rewrite` for the options (drop_slots, drop, select). Returns a `RewriteSummary`."""
        from ._rewrite import rewrite

        return rewrite(self, out_prefix, **options)

    def state_dict(self, **options):
        """{name: array} of the tensors `export_safetensors` would write, under the same names:
        see `ckview.export.state_dict`."""
        from .export import state_dict

        return state_dict(self, **options)


def load_checkpoint(save_path: Any, *, mmap: bool = False, filesystem: Any = None) -> CheckpointReader:
    """A `CheckpointReader` for the checkpoint `save_path` leads to.

    `mmap=True` memory-maps the data shards, so that `get_tensor(key, copy=False)` can return
    their bytes without a copy (a file that shrinks or fails under the map can then kill the
    process with SIGBUS; reads with `copy=True` never go through the map).
    `filesystem` reads the checkpoint through any object with `open(path, "rb")` returning a
    file object with `seek`, `read` and `close` (an fsspec filesystem: gcsfs, s3fs, ...);
    paths are given to it as `str`. An exception it raises propagates from the call that
    needed the read."""
    return CheckpointReader(save_path, mmap=mmap, filesystem=filesystem)

"""Export to safetensors over `ckview_export_safetensors`, and a state dict named the same way.

    import ckview
    with ckview.load_checkpoint("run/ckpt-7") as reader:
        reader.export_safetensors("model.safetensors", drop_slots=True)
        weights = reader.state_dict(drop_slots=True)     # {"model.dense.kernel": ndarray, ...}

Names are object paths without `root.` for checkpoints with an object graph (`names="key"` for
bundle keys, the default for TF1; `names="full_name"` for Keras names); `rename` is a function of
an `ExportTensor` that returns the name to use, or None to leave the tensor out. See README
"Convert a TF checkpoint for PyTorch or JAX".
"""

import contextlib
import ctypes
import os
from ctypes import POINTER, c_bool, c_char_p, c_int, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from . import _native
from .errors import new_error_slot, raise_for

_NAMINGS = {None: 0, "path": 1, "key": 2, "full_name": 3, "full-name": 3}
_DROP_OPTIMIZER_STATE = 1  # CKVIEW_EXPORT_DROP_OPTIMIZER_STATE
_SKIP_UNSUPPORTED = 2  # CKVIEW_EXPORT_SKIP_UNSUPPORTED
_CALLBACK_FAILED = 18


class ExportTensor(NamedTuple):
    """One tensor as `rename` sees it: its bundle key, its name by the chosen naming, its object
    path and Keras full name (None where there is none), dtype name, shape, and whether it is
    optimizer state."""

    key: str
    name: str
    path: Optional[str]
    full_name: Optional[str]
    dtype: str
    shape: List[int]
    optimizer_state: bool


class ExportReport(NamedTuple):
    """What `export_safetensors` wrote: tensors, bytes of values, files (more than 1 when split,
    with an index), and the tensors left out for their dtype, as optimizer state, by `rename`."""

    path: str
    tensors: int
    bytes: int
    files: int
    skipped_unsupported: int
    dropped_optimizer_state: int
    deselected: int


class _Tensor(ctypes.Structure):
    """ckview_export_tensor."""

    _fields_ = [("key", _native.Str), ("name", _native.Str), ("path", _native.Str), ("has_path", c_bool),
                ("full_name", _native.Str), ("has_full_name", c_bool), ("dtype", c_char_p),
                ("shape", POINTER(c_uint64)), ("rank", c_size_t), ("optimizer_state", c_bool)]


_NAME_CALLBACK = ctypes.CFUNCTYPE(c_int32, c_void_p, POINTER(_Tensor), c_void_p)
_PROGRESS_CALLBACK = ctypes.CFUNCTYPE(c_int32, c_void_p, c_uint64, c_uint64)


class _Options(ctypes.Structure):
    """ckview_export_options."""

    _fields_ = [("naming", c_uint32), ("flags", c_uint32), ("max_shard_size", c_uint64),
                ("name", _NAME_CALLBACK), ("progress", _PROGRESS_CALLBACK), ("userdata", c_void_p)]


class _Report(ctypes.Structure):
    """ckview_export_report."""

    _fields_ = [("tensors", c_uint64), ("bytes", c_uint64), ("files", c_uint64), ("skipped_unsupported", c_uint64),
                ("dropped_optimizer_state", c_uint64), ("deselected", c_uint64)]


_declared = False


def _lib():
    """The library with the export functions declared, on first use (so that importing ckview works
    with a library built before export existed, until export is called)."""
    global _declared
    lib = _native.lib
    if not _declared:
        for name, argtypes, restype in [
            ("ckview_export_safetensors", [c_void_p, c_char_p, POINTER(_Options), POINTER(_Report), POINTER(c_void_p)], c_int),
            ("ckview_export_names", [c_void_p, POINTER(_Options), POINTER(c_void_p), POINTER(c_void_p)], c_int),
            ("ckview_export_names_count", [c_void_p], c_size_t),
            ("ckview_export_names_get", [c_void_p, c_size_t, POINTER(_native.Str), POINTER(_native.Str)], c_int),
            ("ckview_export_names_free", [c_void_p], None),
            ("ckview_export_name_set", [c_void_p, c_char_p, c_size_t], c_int),
            ("ckview_export_name_skip", [c_void_p], c_int),
        ]:
            function = getattr(lib, name)
            function.argtypes, function.restype = argtypes, restype
        _declared = True
    return lib


class _Callbacks:
    """The options struct with the caller's Python functions behind its callbacks; an exception
    they raise is kept and re-raised after the C call returns."""

    def __init__(self, names, drop_slots, skip_unsupported, max_shard_size, rename, progress):
        if names not in _NAMINGS:
            raise ValueError(f"names must be 'path', 'key' or 'full_name', not {names!r}")
        if max_shard_size is not None and max_shard_size < 1:
            raise ValueError("max_shard_size must be at least 1 byte")
        self.exception = None
        self._rename, self._progress = rename, progress
        self._name_callback = _NAME_CALLBACK(self._name) if rename else _NAME_CALLBACK()
        self._progress_callback = _PROGRESS_CALLBACK(self._report) if progress else _PROGRESS_CALLBACK()
        flags = (_DROP_OPTIMIZER_STATE if drop_slots else 0) | (_SKIP_UNSUPPORTED if skip_unsupported else 0)
        self.options = _Options(_NAMINGS[names], flags, max_shard_size or 0, self._name_callback, self._progress_callback, None)

    def _name(self, _userdata, tensor, answer):
        try:
            t = tensor.contents
            described = ExportTensor(
                t.key.text(), t.name.text(), t.path.text() if t.has_path else None,
                t.full_name.text() if t.has_full_name else None, t.dtype.decode(),
                [t.shape[i] for i in range(t.rank)], bool(t.optimizer_state))
            chosen = self._rename(described)
            lib = _native.lib
            if chosen is None:
                return lib.ckview_export_name_skip(answer)
            encoded = chosen.encode("utf-8")
            return lib.ckview_export_name_set(answer, encoded, len(encoded))
        except BaseException as exception:  # noqa: BLE001  (re-raised after the call)
            self.exception = exception
            return 1

    def _report(self, _userdata, done, total):
        try:
            self._progress(done, total)
            return 0
        except BaseException as exception:  # noqa: BLE001  (re-raised after the call)
            self.exception = exception
            return 1

    def check(self, status, error):
        if self.exception is not None and status == _CALLBACK_FAILED:
            if error.value:
                _native.lib.ckview_error_free(error)
            raise self.exception
        raise_for(status, error)


def _pointer(reader):
    """A context giving the reader's native pointer while the call runs (a `Handle` holds it live
    across the call; a bare pointer is checked to be open)."""
    handle = reader._handle
    if hasattr(handle, "__enter__"):
        return handle
    return contextlib.nullcontext(reader._live())


def _reader_of(source):
    """(reader, owned): a CheckpointReader for `source`, a path, a reader or a view."""
    from .reader import CheckpointReader, load_checkpoint
    from .view import CheckpointView

    if isinstance(source, CheckpointReader):
        return source, False
    if isinstance(source, CheckpointView):
        return source.reader(), True
    return load_checkpoint(source), True


def export_safetensors(source: Any, path: Any, *, names: Optional[str] = None, drop_slots: bool = False,
                       skip_unsupported: bool = False, max_shard_size: Optional[int] = None,
                       rename: Optional[Callable[[ExportTensor], Optional[str]]] = None,
                       progress: Optional[Callable[[int, int], None]] = None) -> ExportReport:
    """Writes the tensors of `source` (a checkpoint path in any form `load_checkpoint` takes, a
    `CheckpointReader` or a `CheckpointView`) to the safetensors file `path`, values verified,
    partitioned tensors assembled, big-endian ones swapped.

    - `names`: `"path"` (object paths without `root.`, the default with an object graph), `"key"`
      (bundle keys, the default without), `"full_name"` (Keras names).
    - `drop_slots`: leave out optimizer state (slot variables, the optimizer's own variables).
    - `skip_unsupported`: leave out strings, complex128, int4, ... instead of raising.
    - `max_shard_size`: bytes of values per file: `STEM-00001-of-0000N.safetensors` beside `path`
      and `path + ".index.json"`, Hugging Face's layout.
    - `rename(tensor)`: the name to write `tensor` (an `ExportTensor`) under, or None to leave it out.
    - `progress(done, total)`: called after each tensor with bytes of values written so far.

    Raises `CkviewError` (`CKVIEW_UNSUPPORTED_DTYPE`, `CKVIEW_DUPLICATE_NAME`, `CKVIEW_IO_ERROR`,
    ...) or what `rename`/`progress` raised; then nothing is left at `path`.
    """
    callbacks = _Callbacks(names, drop_slots, skip_unsupported, max_shard_size, rename, progress)
    reader, owned = _reader_of(source)
    try:
        out, report, error = os.fsencode(path), _Report(), new_error_slot()
        with _pointer(reader) as handle:
            status = _lib().ckview_export_safetensors(handle, out, ctypes.byref(callbacks.options), ctypes.byref(report), ctypes.byref(error))
        callbacks.check(status, error)
    finally:
        if owned:
            reader.close()
    return ExportReport(os.fsdecode(out), report.tensors, report.bytes, report.files, report.skipped_unsupported,
                        report.dropped_optimizer_state, report.deselected)


def export_names(source: Any, *, names: Optional[str] = None, drop_slots: bool = False, skip_unsupported: bool = False,
                 rename: Optional[Callable[[ExportTensor], Optional[str]]] = None) -> List[tuple]:
    """[(name, key)] of the tensors `export_safetensors` would write with these options, in key
    order, without writing or reading anything."""
    callbacks = _Callbacks(names, drop_slots, skip_unsupported, None, rename, None)
    reader, owned = _reader_of(source)
    try:
        lib, listed, error = _lib(), c_void_p(), new_error_slot()
        with _pointer(reader) as handle:
            status = lib.ckview_export_names(handle, ctypes.byref(callbacks.options), ctypes.byref(listed), ctypes.byref(error))
        callbacks.check(status, error)
        try:
            entries, name, key = [], _native.Str(), _native.Str()
            for index in range(lib.ckview_export_names_count(listed)):
                raise_for(lib.ckview_export_names_get(listed, index, ctypes.byref(name), ctypes.byref(key)))
                entries.append((name.text(), key.text()))
        finally:
            lib.ckview_export_names_free(listed)
    finally:
        if owned:
            reader.close()
    return entries


def state_dict(source: Any, *, names: Optional[str] = None, drop_slots: bool = False, skip_unsupported: bool = False,
               rename: Optional[Callable[[ExportTensor], Optional[str]]] = None) -> Dict[str, Any]:
    """{name: numpy array}: the tensors `export_safetensors` would write, under the same names,
    read with `get_tensor` (verified; bfloat16 and float8 as ml_dtypes arrays when installed).
    Needs numpy. What PyTorch's `load_state_dict` or a JAX tree of arrays takes, once converted."""
    reader, owned = _reader_of(source)
    try:
        listed = export_names(reader, names=names, drop_slots=drop_slots, skip_unsupported=skip_unsupported, rename=rename)
        return {name: reader.get_tensor(key) for name, key in listed}
    finally:
        if owned:
            reader.close()

"""`ckview.rewrite`: checkpoint surgery over `ckview_rewrite`.

    import ckview
    summary = ckview.rewrite("run/ckpt-7", "small/ckpt-7", drop_slots=True)
    summary.bytes_before, summary.bytes_after     # (1234567, 456789)

A new checkpoint at `out_prefix` holding the source without what the options name, that
TensorFlow restores (`tf.train.Checkpoint(model=m).restore(out_prefix)` for a fresh model); every
kept tensor byte for byte, its checksum verified on the way; written atomically (nothing is left
on any error). See README "Drop the optimizer state".
"""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Any, Iterable, NamedTuple

from . import _native
from .errors import new_error_slot

_DROP_SLOTS = 1  # CKVIEW_REWRITE_DROP_SLOTS


class _Options(ctypes.Structure):
    """ckview_rewrite_options."""

    _fields_ = [("flags", c_uint32), ("drop", POINTER(_native.Str)), ("drop_count", c_size_t),
                ("select", POINTER(_native.Str)), ("select_count", c_size_t)]


class _Summary(ctypes.Structure):
    """ckview_rewrite_summary."""

    _fields_ = [("nodes_before", c_size_t), ("nodes_after", c_size_t), ("tensors_before", c_size_t),
                ("tensors_after", c_size_t), ("bytes_before", c_uint64), ("bytes_after", c_uint64)]


def _function():
    """ckview_rewrite, declared on first use (so that importing ckview works with a library
    built before it existed, until rewrite is called)."""
    function = _native.lib.ckview_rewrite
    function.argtypes = [c_void_p, c_char_p, POINTER(_Options), POINTER(_Summary), POINTER(c_void_p)]
    function.restype = c_int
    return function


class RewriteSummary(NamedTuple):
    """What `rewrite` did: the prefix written, nodes of the object graph (0 for TF1), tensors (the
    object graph not counted) and bytes of the files (index and data shards), before and after."""

    prefix: str
    nodes_before: int
    nodes_after: int
    tensors_before: int
    tensors_after: int
    bytes_before: int
    bytes_after: int


def _strings(items: Iterable[str], name: str):
    """A ckview_str array of `items` and the bytes it points into (keep both alive for the call)."""
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{name} takes a list of paths or patterns, not one string")
    encoded = [item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in items]
    buffers = [ctypes.create_string_buffer(item, len(item)) for item in encoded]
    array = (_native.Str * len(buffers))(*[_native.Str(ctypes.cast(buffer, c_void_p), len(item)) for buffer, item in zip(buffers, encoded)])
    return array, buffers


def rewrite(source: Any, out_prefix: Any, *, drop_slots: bool = False, drop: Iterable[str] = (),
            select: Iterable[str] = ()) -> RewriteSummary:
    """Writes a new checkpoint at `out_prefix` (`OUT.index`, one data shard) from `source`: a
    checkpoint path in any form `load_checkpoint` takes, a `CheckpointReader` or a
    `CheckpointView`. A TF1 checkpoint in the old V1 format is written as a V2 bundle, its
    tensors chosen by key.

    - `drop_slots`: leave out the optimizer state (optimizers, their slot variables, what only
      they hold). A TF1 name-based checkpoint refuses it.
    - `drop`: nodes (ids such as `"#14"`, dotted paths `ckview tree` prints, full names) to leave
      out with everything only they reach; for a TF1 checkpoint, keys or globs (`"*/adam_m"`).
    - `select`: when given, keep only these nodes' subtrees, the path to them and the root's
      `save_counter`; for a TF1 checkpoint, these keys or globs.

    A checkpoint in other storage is read through a reader opened with
    `load_checkpoint(path, filesystem=...)`; the output is always a local path.

    Raises `CkviewError` (status `CKVIEW_INVALID_ARGUMENT` for a path naming nothing or the
    source as output, `CKVIEW_KEY_NOT_FOUND` for a TF1 pattern matching nothing,
    `CKVIEW_CHECKSUM_MISMATCH` for a damaged source, ...), after which nothing is at `out_prefix`.
    """
    from .reader import CheckpointReader, load_checkpoint
    from .view import CheckpointView

    if isinstance(source, CheckpointView):
        with source.reader() as reader:
            return rewrite(reader, out_prefix, drop_slots=drop_slots, drop=drop, select=select)
    if not isinstance(source, CheckpointReader):
        with load_checkpoint(source) as reader:
            return rewrite(reader, out_prefix, drop_slots=drop_slots, drop=drop, select=select)
    drop_array, drop_buffers = _strings(drop, "drop")
    select_array, select_buffers = _strings(select, "select")
    options = _Options(_DROP_SLOTS if drop_slots else 0, drop_array, len(drop_buffers), select_array, len(select_buffers))
    out = os.fsencode(out_prefix)
    summary, error = _Summary(), new_error_slot()
    with source._handle as reader:  # held live for the call
        # Through the reader's _call: a filesystem= callback's exception comes out of here.
        source._call(_function(), reader, out, ctypes.byref(options), ctypes.byref(summary), ctypes.byref(error), error=error)
    return RewriteSummary(os.fsdecode(out), summary.nodes_before, summary.nodes_after, summary.tensors_before,
                          summary.tensors_after, summary.bytes_before, summary.bytes_after)

"""Loading libckview and declaring the C functions the binding calls (every argtype and restype)."""

import ctypes
import os
import struct
import sys
from ctypes import POINTER, c_char_p, c_int, c_int32, c_size_t, c_uint32, c_uint64, c_void_p

# os.path, not pathlib: `import ckview` stays quick (pathlib alone costs more than the rest).
_HERE = os.path.dirname(os.path.realpath(__file__))
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))


_NAME = "libckview.dylib" if sys.platform == "darwin" else "ckview.dll" if sys.platform == "win32" else "libckview.so"


_SIZE_T = {4: "I", 8: "Q"}[ctypes.sizeof(c_size_t)]


def column(pointer, count, code=_SIZE_T):
    """The `count` items of a C array as a list, in one copy; `code` is the items' memoryview
    format (size_t by default)."""
    return memoryview(ctypes.string_at(pointer, count * struct.calcsize(code))).cast(code).tolist() if count else []


def spans(ends):
    """(start, end) of each item of a column stored as one run and the end of each item."""
    return zip([0] + ends[:-1], ends)


def split_text(blob, ends, errors="strict"):
    """The strings of a column of UTF-8 bytes stored as one run (`blob`) and the end of each."""
    if blob.isascii():  # byte offsets are character offsets: decode once
        text = blob.decode("ascii")
        return [text[a:b] for a, b in spans(ends)]
    return [blob[a:b].decode("utf-8", errors) for a, b in spans(ends)]


def _candidates():
    """Where the library is looked for, in order: CKVIEW_LIBRARY; the copy the wheel installs
    inside this package; the cargo builds of the repository, when this package is the one in a
    clone of it (bindings/python/ckview)."""
    override = os.environ.get("CKVIEW_LIBRARY")
    if override:
        return [override]
    candidates = [os.path.join(_HERE, _NAME)]
    if os.path.isfile(os.path.join(_REPO, "Cargo.toml")) and os.path.join(_REPO, "bindings", "python", "ckview") == _HERE:
        candidates += [os.path.join(_REPO, "target", "release", _NAME), os.path.join(_REPO, "target", "debug", _NAME)]
    return candidates


def _load():
    tried = _candidates()
    for path in tried:
        if os.path.isfile(path):
            return ctypes.CDLL(path)
    raise ImportError(
        f"{_NAME} not found: install the package with `pip install ./bindings/python` from a clone of "
        "the ckview repository, set CKVIEW_LIBRARY, or run `cargo build --release` in the clone. Tried: " + ", ".join(tried)
    )


class Str(ctypes.Structure):
    """ckview_str: bytes borrowed from the library."""

    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]

    def text(self):
        return ctypes.string_at(self.ptr, self.len).decode("utf-8") if self.len else ""


class Child(ctypes.Structure):
    _fields_ = [("name", Str), ("node_id", c_uint32)]


def _child_format():
    """One ckview_child as `struct` unpacks it, (name ptr, name len, node id) and the padding,
    or None if ctypes lays the structure out otherwise (then children() reads the fields)."""
    fields = "@PNI"
    if (Child.name.offset, Str.len.offset, Child.node_id.offset) != (0, struct.calcsize("@P"), struct.calcsize("@PN")):
        return None
    padding = ctypes.sizeof(Child) - struct.calcsize(fields)
    return struct.Struct(fields + "x" * padding) if padding >= 0 else None


CHILD_STRUCT = _child_format()


class Attribute(ctypes.Structure):
    _fields_ = [("name", Str), ("full_name", Str), ("checkpoint_key", Str)]


class SlotVariable(ctypes.Structure):
    _fields_ = [("original_variable_node_id", c_uint32), ("slot_name", Str), ("slot_variable_node_id", c_uint32)]


class VariableSlot(ctypes.Structure):
    _fields_ = [("slot_name", Str), ("optimizer_node_id", c_uint32), ("slot_node_id", c_uint32)]


class RegisteredSaver(ctypes.Structure):
    _fields_ = [("name", Str), ("object_name", Str)]


class MatchedPair(ctypes.Structure):
    _fields_ = [("node_id", c_uint32), ("object", c_uint64)]


class Conflict(ctypes.Structure):
    _fields_ = [("node_id", c_uint32), ("matched_object", c_uint64), ("other_object", c_uint64)]


class SliceExtent(ctypes.Structure):
    _fields_ = [("start", c_uint64), ("length", ctypes.c_int64)]


class TensorTable(ctypes.Structure):
    """ckview_tensor_table: every tensor of a list as columns borrowed from the list."""

    _fields_ = [("count", c_size_t), ("keys", c_void_p), ("key_ends", c_void_p), ("dtypes", c_void_p),
                ("dims", c_void_p), ("dim_ends", c_void_p)]


class ChildrenColumns(ctypes.Structure):
    """ckview_children_columns: every node's children as columns borrowed from the view."""

    _fields_ = [("node_count", c_size_t), ("node_starts", c_void_p), ("names", c_void_p), ("name_ends", c_void_p),
                ("child_ids", c_void_p)]


CHILDREN_CALLBACK = ctypes.CFUNCTYPE(c_int32, c_void_p, c_uint64, c_void_p)

# ckview_io_methods: the caller's storage (open, size, read, close), each taking io_userdata first.
IO_OPEN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t, POINTER(c_void_p))
IO_SIZE = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, POINTER(c_uint64))
IO_READ = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_uint64, c_void_p, c_size_t)
IO_CLOSE = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)


class IoMethods(ctypes.Structure):
    _fields_ = [("open", IO_OPEN), ("size", IO_SIZE), ("read", IO_READ), ("close", IO_CLOSE)]


class OpenOptions(ctypes.Structure):
    _fields_ = [("flags", c_uint32), ("io", POINTER(IoMethods)), ("io_userdata", c_void_p)]

OK = 0
NOT_FOUND = 2
IO_ERROR = 3
UNSUPPORTED = 8
NAME_BASED_CHECKPOINT = 12
NODE_OUT_OF_RANGE = 14
BUFFER_TOO_SMALL = 16
NODE_UNREACHABLE = 17
CALLBACK_FAILED = 18
KEY_NOT_FOUND = 11
READ_SKIP_CHECKSUMS = 1
OPEN_MMAP = 1

lib = _load()

_SIGNATURES = {
    "ckview_version": ([], c_char_p),
    "ckview_status_name": ([c_int], c_char_p),
    "ckview_error_status": ([c_void_p], c_int),
    "ckview_error_message": ([c_void_p], c_char_p),
    "ckview_error_free": ([c_void_p], None),
    "ckview_error_callback_code": ([c_void_p], c_int32),
    "ckview_open": ([c_char_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_open_with": ([c_char_p, POINTER(OpenOptions), POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_close": ([c_void_p], None),
    "ckview_node_count": ([c_void_p, POINTER(c_size_t)], c_int),
    "ckview_children": ([c_void_p, c_uint32, POINTER(POINTER(Child)), POINTER(c_size_t)], c_int),
    "ckview_descendants": ([c_void_p, POINTER(POINTER(c_uint32)), POINTER(c_size_t)], c_int),
    "ckview_all_children": ([c_void_p, POINTER(ChildrenColumns)], c_int),
    "ckview_descendant_paths": ([c_void_p, POINTER(c_void_p), POINTER(c_void_p), POINTER(c_size_t)], c_int),
    "ckview_path": ([c_void_p, c_uint32, c_char_p, c_size_t, POINTER(c_size_t)], c_int),
    "ckview_attributes": ([c_void_p, c_uint32, POINTER(POINTER(Attribute)), POINTER(c_size_t)], c_int),
    "ckview_slot_variables": ([c_void_p, c_uint32, POINTER(POINTER(SlotVariable)), POINTER(c_size_t)], c_int),
    "ckview_variable_slots": ([c_void_p, c_uint32, POINTER(POINTER(VariableSlot)), POINTER(c_size_t)], c_int),
    "ckview_child_sink_add": ([c_void_p, c_char_p, c_size_t, c_uint64], c_int),
    "ckview_match": ([c_void_p, c_uint64, CHILDREN_CALLBACK, c_void_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_diff": ([c_void_p, c_uint64, CHILDREN_CALLBACK, c_void_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_comparison_matched": ([c_void_p, POINTER(POINTER(MatchedPair)), POINTER(c_size_t)], c_int),
    "ckview_comparison_only_in_checkpoint": ([c_void_p, POINTER(POINTER(c_uint32)), POINTER(c_size_t)], c_int),
    "ckview_comparison_only_in_live": ([c_void_p, POINTER(POINTER(c_uint64)), POINTER(c_size_t)], c_int),
    "ckview_comparison_conflicts": ([c_void_p, POINTER(POINTER(Conflict)), POINTER(c_size_t)], c_int),
    "ckview_comparison_free": ([c_void_p], None),
    "ckview_reader_open": ([c_char_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_reader_open_with": ([c_char_p, POINTER(OpenOptions), POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_reader_free": ([c_void_p], None),
    "ckview_reader_of_view": ([c_void_p, POINTER(c_void_p)], c_int),
    "ckview_attribute_tensors": ([c_void_p, c_uint32, c_size_t, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_reader_find": ([c_void_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_reader_list": ([c_void_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_tensor_list_count": ([c_void_p, POINTER(c_size_t)], c_int),
    "ckview_tensor_list_get": ([c_void_p, c_size_t, POINTER(c_void_p)], c_int),
    "ckview_tensor_list_table": ([c_void_p, POINTER(TensorTable)], c_int),
    "ckview_tensor_list_free": ([c_void_p], None),
    "ckview_tensor_free": ([c_void_p], None),
    "ckview_tensor_key": ([c_void_p, POINTER(Str)], c_int),
    "ckview_tensor_dtype": ([c_void_p, POINTER(c_int32)], c_int),
    "ckview_dtype_name": ([c_int32], c_char_p),
    "ckview_tensor_shape": ([c_void_p, POINTER(POINTER(c_uint64)), POINTER(c_size_t)], c_int),
    "ckview_tensor_size_bytes": ([c_void_p, POINTER(c_uint64)], c_int),
    "ckview_tensor_read": ([c_void_p, c_void_p, c_size_t, c_uint32, POINTER(c_void_p)], c_int),
    "ckview_tensor_borrow": ([c_void_p, POINTER(c_void_p), POINTER(c_size_t), c_uint32, POINTER(c_void_p)], c_int),
    "ckview_tensor_read_strings": ([c_void_p, POINTER(c_void_p), POINTER(c_void_p)], c_int),
    "ckview_string_list_count": ([c_void_p, POINTER(c_size_t)], c_int),
    "ckview_string_list_get": ([c_void_p, c_size_t, POINTER(Str)], c_int),
    "ckview_string_list_free": ([c_void_p], None),
}

for _name, (_argtypes, _restype) in _SIGNATURES.items():
    _function = getattr(lib, _name)
    _function.argtypes = _argtypes
    _function.restype = _restype

VERSION = lib.ckview_version().decode()

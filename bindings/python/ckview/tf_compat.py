"""Drop-ins for `tf.train.list_variables`, `load_variable`, `latest_checkpoint` and
`get_checkpoint_state`, and `DType`, the dtype objects `get_variable_to_dtype_map` gives."""

import os
import re

from .reader import load_checkpoint

# TensorFlow's DType.size: bytes per element (as_numpy_dtype's itemsize;
# 0 for string, resource and variant; 1 for the sub-byte types ml_dtypes keeps one to a byte).
_SIZES = {
    "float16": 2, "float32": 4, "float64": 8, "bfloat16": 2, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
    "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8, "bool": 1, "complex64": 8, "complex128": 16,
    "string": 0, "resource": 0, "variant": 0, "qint8": 1, "quint8": 1, "qint16": 2, "quint16": 2, "qint32": 4,
    "float8_e5m2": 1, "float8_e4m3fn": 1, "float8_e4m3fnuz": 1, "float8_e4m3b11fnuz": 1, "float8_e5m2fnuz": 1,
    "int4": 1, "uint4": 1, "int2": 1, "uint2": 1, "float4_e2m1fn": 1,
}
_ML_DTYPES = {"bfloat16", "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz",
              "int4", "uint4", "int2", "uint2", "float4_e2m1fn"}


class DType(str):
    """A dtype as `tf.DType` describes it: `name`, `as_numpy_dtype` and `size`. It is also the
    name itself (`DType("float32") == "float32"`), as earlier versions returned."""

    @property
    def name(self):
        return str(self)

    @property
    def as_numpy_dtype(self):
        import numpy  # imported here: `import ckview` does not import numpy

        if self in _ML_DTYPES:
            import ml_dtypes
            return getattr(ml_dtypes, str(self))
        if self == "string":
            return numpy.object_
        return numpy.dtype(str(self)).type

    @property
    def size(self):
        return _SIZES.get(str(self), 1)

    def __repr__(self):
        return f"tf.{self}"


def list_variables(ckpt_dir_or_file):
    """`[(key, shape), ...]` sorted by key, as `tf.train.list_variables`."""
    with load_checkpoint(ckpt_dir_or_file) as reader:
        shapes = reader.get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


def load_variable(ckpt_dir_or_file, name):
    """The value of `name` (a trailing `:0` is dropped), as `tf.train.load_variable`."""
    if name.endswith(":0"):
        name = name[:-2]
    with load_checkpoint(ckpt_dir_or_file) as reader:
        return reader.get_tensor(name)


class CheckpointState:
    """What `tf.train.get_checkpoint_state` returns: `model_checkpoint_path`,
    `all_model_checkpoint_paths` (relative paths joined to the directory), and timestamps."""

    def __init__(self, model_checkpoint_path, all_model_checkpoint_paths, all_model_checkpoint_timestamps=(),
                 last_preserved_timestamp=0.0):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def __repr__(self):
        return (f"CheckpointState(model_checkpoint_path={self.model_checkpoint_path!r}, "
                f"all_model_checkpoint_paths={self.all_model_checkpoint_paths!r})")


_FIELD = re.compile(r'\s*([A-Za-z_]+)\s*:\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[-+.\w]+)\s*')


def _unquote(text):
    return text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode(
        "utf-8", "surrogateescape")


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The `checkpoint` state file of `checkpoint_dir` as a `CheckpointState`, or None when
    there is none, as `tf.train.get_checkpoint_state` (which raises on one that does not parse)."""
    path = os.path.join(os.fspath(checkpoint_dir), latest_filename or "checkpoint")
    try:
        with open(path, "rb") as file:
            text = file.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None
    fields = {"model_checkpoint_path": None, "all_model_checkpoint_paths": [], "all_model_checkpoint_timestamps": [],
              "last_preserved_timestamp": 0.0}
    text = "\n".join(line.split("#", 1)[0] if '"' not in line else line for line in text.splitlines())
    at = 0
    while at < len(text.strip()) and text[at:].strip():
        match = _FIELD.match(text, at)
        if not match:
            raise ValueError(f"Unable to parse checkpoint state file {path}")
        name, value = match.group(1), match.group(2)
        at = match.end()
        if name in ("model_checkpoint_path", "all_model_checkpoint_paths"):
            value = _unquote(value)
        else:
            value = float(value)
        if isinstance(fields.get(name), list):
            fields[name].append(value)
        else:
            fields[name] = value
    if not fields["model_checkpoint_path"]:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")
    join = lambda p: p if os.path.isabs(p) else os.path.join(os.fspath(checkpoint_dir), p)
    return CheckpointState(join(fields["model_checkpoint_path"]),
                           [join(p) for p in fields["all_model_checkpoint_paths"]],
                           fields["all_model_checkpoint_timestamps"], fields["last_preserved_timestamp"])


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The latest checkpoint's prefix per the state file, if its files exist; else None."""
    try:
        state = get_checkpoint_state(checkpoint_dir, latest_filename)
    except ValueError:
        return None
    if state is None or not state.model_checkpoint_path:
        return None
    prefix = state.model_checkpoint_path
    if os.path.exists(prefix + ".index") or os.path.exists(prefix):
        return prefix
    return None

"""Every key of every checkpoint in tests/fixtures, read by ckview and by TensorFlow 2.21 in the
same process: the same listing (order included), dtypes, shapes and bytes. Where TensorFlow
refuses a tensor, ckview's answer is checked on its own terms, and the refusals are exactly the
ones docs/formats.md documents (DT_VARIANT values, sliced and float16 tensors of V1 files)."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import ckview

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


def bundles():
    """Every bundle prefix (P of each P.index), sorted."""
    return sorted(str(index.relative_to(FIXTURES))[: -len(".index")] for index in FIXTURES.rglob("*.index"))


def v1_checkpoints():
    """Every V1 path TensorFlow's load_checkpoint opened when v1/ was made."""
    answers = json.loads((FIXTURES / "v1" / "tf_answers.json").read_text())
    return sorted("v1/" + path for path, answer in answers["checkpoints"].items()
                  if "load_error" not in answer and not (FIXTURES / "v1" / (path + ".index")).exists())


def test_the_sweep_covers_the_fixtures():
    assert len(bundles()) >= 28 and len(v1_checkpoints()) >= 6, (bundles(), v1_checkpoints())


def same(ours, theirs):
    """Same type, dtype, shape and bytes (NaN-safe: compares the raw bytes)."""
    if isinstance(theirs, bytes):
        return ours == theirs
    if type(ours) is not type(theirs) or ours.dtype != theirs.dtype or ours.shape != theirs.shape:
        return False
    if theirs.dtype == object:
        return list(np.ravel(ours)) == list(np.ravel(theirs))
    return ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("path", bundles() + v1_checkpoints())
def test_every_key_reads_as_tensorflow_reads_it(path):
    full = str(FIXTURES / path)
    theirs = tf.train.load_checkpoint(full)
    ours = ckview.load_checkpoint(full)
    shapes = theirs.get_variable_to_shape_map()
    assert ours.get_variable_to_shape_map() == shapes
    assert ours.get_variable_to_dtype_map() == theirs.get_variable_to_dtype_map()
    assert list(ours.get_variable_to_shape_map()) == [name for name, _ in tf.train.list_variables(full)]
    refused = {}
    for key in shapes:
        if key == GRAPH_KEY:
            continue
        try:
            expected = theirs.get_tensor(key)
        except Exception as error:  # TensorFlow's refusal: check ckview's answer on its own
            refused[key] = type(error).__name__
            dtype = theirs.get_variable_to_dtype_map()[key]
            if dtype == tf.variant:
                with pytest.raises(ckview.CkviewError):
                    ours.get_tensor(key)
            else:
                value = ours.get_tensor(key)
                assert list(value.shape) == shapes[key] and value.dtype == dtype.as_numpy_dtype, key
            continue
        assert same(ours.get_tensor(key), expected), key
    documented = {key for key in refused
                  if theirs.get_variable_to_dtype_map()[key] == tf.variant
                  or (path.startswith("v1/") and refused[key] in ("UnimplementedError", "InvalidArgumentError"))}
    assert set(refused) == documented, refused

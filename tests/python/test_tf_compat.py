"""ckview's drop-ins for tf.train's module functions, dtype objects, debug_string and the
ml_dtypes values, each against TensorFlow itself on the fixtures."""

import json
import os
from pathlib import Path

import numpy
import pytest
import tensorflow as tf

import ckview

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PREFIXES = ["doc_children/tf_ckpts-1", "dtype_zoo/zoo", "tables/before", "saved_model/variables/variables",
            "keras3/model", "tf1_name_based/model.ckpt"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_list_variables_and_load_variable_match_tensorflow(prefix):
    path = str(FIXTURES / prefix)
    assert ckview.list_variables(path) == tf.train.list_variables(path)
    for name, _ in tf.train.list_variables(path):
        if name == "_CHECKPOINTABLE_OBJECT_GRAPH":
            continue
        numpy.testing.assert_array_equal(ckview.load_variable(path, name), tf.train.load_variable(path, name))


@pytest.mark.parametrize("prefix", PREFIXES + ["iterator/plain2", "dtype_new/new"])
def test_dtypes_and_debug_string_match_tensorflow(prefix):
    path = str(FIXTURES / prefix)
    ours, theirs = ckview.load_checkpoint(path), tf.train.load_checkpoint(path)
    assert ours.debug_string() == theirs.debug_string()
    tf_map = theirs.get_variable_to_dtype_map()
    for key, dtype in ours.get_variable_to_dtype_map().items():
        assert dtype.name == tf_map[key].name == dtype
        assert dtype.size == tf_map[key].size, key
        if tf_map[key].name not in ("variant", "resource"):
            assert numpy.dtype(dtype.as_numpy_dtype) == numpy.dtype(tf_map[key].as_numpy_dtype), key


@pytest.mark.parametrize("folder", ["manager", "doc_children", "dtype_zoo", "saved_model"])
def test_checkpoint_state_matches_tensorflow(folder):
    directory = str(FIXTURES / folder)
    assert ckview.latest_checkpoint(directory) == tf.train.latest_checkpoint(directory)
    ours, theirs = ckview.get_checkpoint_state(directory), tf.train.get_checkpoint_state(directory)
    if theirs is None:
        assert ours is None
        return
    assert ours.model_checkpoint_path == theirs.model_checkpoint_path
    assert ours.all_model_checkpoint_paths == list(theirs.all_model_checkpoint_paths)


def test_new_dtypes_come_back_as_ml_dtypes_arrays_as_in_tensorflow():
    import ml_dtypes  # noqa: F401 -- in requirements.txt: a missing one must fail, not skip
    path = str(FIXTURES / "dtype_new/new")
    answers = json.loads((FIXTURES / "dtype_new/tf_answers.json").read_text())
    ours, theirs = ckview.load_checkpoint(path), tf.train.load_checkpoint(path)
    known = ours.get_variable_to_dtype_map()
    checked = []
    for key, answer in answers["keys"].items():
        assert key in known and known[key] != "unknown", (key, known.get(key))
        value = ours.get_tensor(key)
        expected = theirs.get_tensor(key)
        assert numpy.asarray(value).dtype == numpy.asarray(expected).dtype, key
        assert numpy.asarray(value).tobytes().hex() == answer["hex"], key
        checked.append(answer["dtype"])
    assert {"int4", "uint4", "int2", "uint2", "float4_e2m1fn", "float8_e5m2", "float8_e4m3fn"} <= set(checked), checked

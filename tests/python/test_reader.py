"""ckview.load_checkpoint and view tensors against TensorFlow's own reader, on every fixture,
TensorFlow reading ckview's big-endian bundle, the numpy-free path, and TensorFlow opening a
checkpoint written by ckview's writer."""

import json
import subprocess

import numpy as np
import pytest
import tensorflow as tf

import ckview
import ckview.reader

FIXTURES = ["crafted_graph", "cycles_and_shared", "doc_children", "doc_diff", "dtype_zoo", "keras_adam",
            "manager/ckpt-3", "partitioned/model.ckpt", "sharded", "tf1_name_based/model.ckpt"]


def prefix_of(fixtures_dir, name):
    path = fixtures_dir / name
    if path.is_dir():
        return str(path / {"crafted_graph": "crafted", "cycles_and_shared": "graph", "doc_children": "tf_ckpts-1",
                           "doc_diff": "tf_ckpts-1", "dtype_zoo": "zoo", "keras_adam": "model", "sharded": "sharded"}[name])
    return str(path)


def assert_identical(ours, theirs, key):
    """Same type, dtype, shape and bytes (NaN-safe: compares the raw bytes)."""
    assert type(ours) is type(theirs), key
    if isinstance(theirs, bytes):
        assert ours == theirs, key
        return
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, key
    if theirs.dtype == object:
        assert list(np.ravel(ours)) == list(np.ravel(theirs)), key
    else:
        assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes(), key


@pytest.mark.parametrize("name", FIXTURES)
def test_reader_equals_tensorflow(fixtures_dir, name):
    path = prefix_of(fixtures_dir, name)
    ours, theirs = ckview.load_checkpoint(path), tf.train.load_checkpoint(path)
    assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
    assert ours.get_variable_to_dtype_map() == {k: v.name for k, v in theirs.get_variable_to_dtype_map().items()}
    assert list(ours.get_variable_to_shape_map()) == [k for k, _ in tf.train.list_variables(path)]
    for key in theirs.get_variable_to_shape_map():
        assert ours.has_tensor(key)
        if key != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert_identical(ours.get_tensor(key), theirs.get_tensor(key), key)
    assert not ours.has_tensor("no/such/key") and not theirs.has_tensor("no/such/key")
    with pytest.raises(ckview.CkviewError):
        ours.get_tensor("no/such/key")


def test_tensorflow_reads_the_big_endian_bundle_as_ckview_does(fixtures_dir):
    """The bundle ckview's tests craft big-endian (FORMAT.md section 5) is read by TensorFlow too."""
    big, little = str(fixtures_dir / "big_endian" / "zoo"), str(fixtures_dir / "dtype_zoo" / "zoo")
    theirs_big, theirs_little = tf.train.load_checkpoint(big), tf.train.load_checkpoint(little)
    ours = ckview.load_checkpoint(big)
    for key in theirs_little.get_variable_to_shape_map():
        if key != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert_identical(theirs_big.get_tensor(key), theirs_little.get_tensor(key), key)
            assert_identical(ours.get_tensor(key), theirs_little.get_tensor(key), key)


def test_view_tensors_and_slots(fixtures_dir):
    path = prefix_of(fixtures_dir, "keras_adam")
    view, theirs = ckview.CheckpointView(path), tf.train.load_checkpoint(path)
    for node in view.descendants():
        for attribute in view.attributes(node):
            if attribute["name"] == "VARIABLE_VALUE":
                assert_identical(view.tensor(node), theirs.get_tensor(attribute["checkpoint_key"]), node)
    with pytest.raises(KeyError):
        view.tensor(0)


def test_without_numpy_values_are_lists(fixtures_dir, monkeypatch):
    path = prefix_of(fixtures_dir, "dtype_zoo")
    theirs = tf.train.load_checkpoint(path)
    monkeypatch.setattr(ckview.reader, "numpy", None)
    ours = ckview.load_checkpoint(path)
    for key, dtype in ours.get_variable_to_dtype_map().items():
        if key == "_CHECKPOINTABLE_OBJECT_GRAPH":
            continue
        expected = theirs.get_tensor(key)
        expected = expected.tolist() if hasattr(expected, "tolist") else expected
        got = ours.get_tensor(key)
        if dtype == "bfloat16":
            expected = np.asarray(theirs.get_tensor(key), dtype=np.float32).tolist()
        if dtype in ("float32", "float16", "bfloat16", "complex64"):
            assert np.allclose(np.asarray(got), np.asarray(expected), rtol=0, atol=0, equal_nan=True), key
        else:
            assert got == expected, key


def test_tensorflow_opens_a_checkpoint_written_by_ckview(repo_root, tmp_path):
    prefix = tmp_path / "synthetic"
    subprocess.run(["cargo", "run", "--quiet", "--example", "generate", "--", "400", str(prefix)],
                   cwd=repo_root, check=True)
    ours, theirs = ckview.CheckpointView(str(prefix)), tf.train.CheckpointView(str(prefix))
    assert ours.descendants() == theirs.descendants()
    assert list(ours._descendants_with_paths().items()) == list(theirs._descendants_with_paths().items())
    for node in range(len(ours)):
        assert list(ours.children(node).items()) == list(theirs.children(node).items())
    reader = tf.train.load_checkpoint(str(prefix))
    mine = ckview.load_checkpoint(str(prefix))
    assert mine.get_variable_to_shape_map() == reader.get_variable_to_shape_map()
    for key in reader.get_variable_to_shape_map():
        if key != "_CHECKPOINTABLE_OBJECT_GRAPH":
            assert_identical(mine.get_tensor(key), reader.get_tensor(key), key)


def test_a_tables_tensors_are_its_attributes_as_tensorflow_restores_them(fixtures_dir):
    """MutableHashTable and DenseHashTable store their attribute under its checkpoint_key plus
    `-keys` and `-values`; TensorFlow restores the same checkpoint into fresh tables."""
    path = str(fixtures_dir / "tables" / "before")
    view, theirs = ckview.CheckpointView(path), tf.train.load_checkpoint(path)
    seen = set()
    for node in view.descendants():
        for attribute in view.attributes(node):
            values = view.attribute_tensors(node, attribute["name"])
            assert values and all(key.startswith(attribute["checkpoint_key"]) for key in values)
            for key, value in values.items():
                assert_identical(value, theirs.get_tensor(key), key)
            seen.update(values)
            if len(values) > 1:
                with pytest.raises(ValueError, match="attribute_tensors"):
                    view.tensor(node, attribute["name"])
            else:
                assert_identical(view.tensor(node, attribute["name"]), theirs.get_tensor(next(iter(values))), node)
    assert seen == set(theirs.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"}
    # What TensorFlow restored into a fresh MutableHashTable (tables/tf_answers.json).
    restored = json.loads((fixtures_dir / "tables" / "tf_answers.json").read_text())["checkpoints"]["before"]["restored"]
    words = view.attribute_tensors(1, "table")
    pairs = zip(words["words/.ATTRIBUTES/table-keys"].tolist(), words["words/.ATTRIBUTES/table-values"].tolist())
    assert sorted([key.decode(), value] for key, value in pairs) == restored["words"]

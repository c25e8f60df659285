"""V1 checkpoints ("SavedTensorSlices", TF1 `Saver(write_version=V1)`) through
`ckview.load_checkpoint`, against TensorFlow's own `tf.train.load_checkpoint` on the same files,
and against tf_answers.json for what TensorFlow refuses to read (float16, uint16, complex, the
partitioned variable) or cannot open (a sharded save path)."""

import json

import numpy as np
import pytest
import tensorflow as tf

import ckview

# (path under tests/fixtures/v1, what TensorFlow opens for the same checkpoint)
V1_PATHS = [
    ("model.ckpt", "model.ckpt"),
    ("partitioned/model.ckpt", "partitioned/model.ckpt"),
    ("sharded/model.ckpt-?????-of-00002", "sharded/model.ckpt-?????-of-00002"),
    ("sharded/model.ckpt-00000-of-00002", "sharded/model.ckpt-00000-of-00002"),
    ("sharded/model.ckpt-00001-of-00002", "sharded/model.ckpt-00001-of-00002"),
    ("sharded/model.ckpt", "sharded/model.ckpt-?????-of-00002"),  # TensorFlow: NotFoundError
]


@pytest.fixture(scope="module")
def answers(fixtures_dir):
    return json.loads((fixtures_dir / "v1" / "tf_answers.json").read_text())


def expected_value(answer, dtype):
    """The value an answer (`hex` or `strings_hex`) records, as TensorFlow returns it."""
    shape = answer["shape"]
    if "strings_hex" in answer:
        flat = [bytes.fromhex(s) for s in answer["strings_hex"]]
        if not shape:
            return flat[0]
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    flat = np.frombuffer(bytes.fromhex(answer["hex"]), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    return flat.reshape(shape)[()] if not shape else flat.reshape(shape)


def assert_same(ours, theirs, key):
    if isinstance(theirs, bytes):
        assert ours == theirs, key
        return
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, key
    if theirs.dtype == object:
        assert list(np.ravel(ours)) == list(np.ravel(theirs)), key
    else:
        assert ours.tobytes() == theirs.tobytes(), key


@pytest.mark.parametrize("path,tf_path", V1_PATHS)
def test_v1_maps_and_values_equal_tensorflow(fixtures_dir, answers, path, tf_path):
    ours = ckview.load_checkpoint(str(fixtures_dir / "v1" / path))
    theirs = tf.train.load_checkpoint(str(fixtures_dir / "v1" / tf_path))
    shapes = theirs.get_variable_to_shape_map()
    assert ours.get_variable_to_shape_map() == shapes
    assert {k: str(v.name) for k, v in ours.get_variable_to_dtype_map().items()} == \
        {k: v.name for k, v in theirs.get_variable_to_dtype_map().items()}
    answer = answers["checkpoints"][tf_path]
    refused = 0
    for key in shapes:
        assert ours.has_tensor(key)
        try:
            expected = theirs.get_tensor(key)
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError):
            refused += 1
            if key == "part_var":  # what the fixture script wrote: arange(40) - 20, 10x4
                expected = (np.arange(40, dtype=np.float32) - 20).reshape(10, 4)
            else:
                written = answers["written"][key]
                expected = expected_value(written, ours.get_variable_to_dtype_map()[key].as_numpy_dtype)
        assert_same(ours.get_tensor(key), expected, key)
    assert refused == {"model.ckpt": 4, "partitioned/model.ckpt": 1}.get(path, 0)
    assert not ours.has_tensor("nope")
    with pytest.raises(ckview.CkviewError):
        ours.get_tensor("nope")


def test_v1_sharded_save_path_tensorflow_cannot_open(fixtures_dir, answers):
    assert "load_error" in answers["checkpoints"]["sharded/model.ckpt"]
    with pytest.raises(tf.errors.NotFoundError):
        tf.train.load_checkpoint(str(fixtures_dir / "v1" / "sharded" / "model.ckpt"))
    ours = ckview.load_checkpoint(str(fixtures_dir / "v1" / "sharded" / "model.ckpt"))
    assert ours.get_variable_to_shape_map() == {"also_cpu0": [], "on_cpu0": [3], "on_cpu1": [2, 2]}
    # With memory maps, V1 values (which cannot be borrowed) are read instead.
    mapped = ckview.load_checkpoint(str(fixtures_dir / "v1" / "sharded" / "model.ckpt"), mmap=True)
    assert mapped.get_tensor("on_cpu1").tolist() == [[7, 8], [9, 10]]

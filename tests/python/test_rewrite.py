"""ckview.rewrite against TensorFlow: every output restores into a fresh model of the
adam_trained fixture (tests/fixtures/adam_models.py) with assert_existing_objects_matched() and
the trained weights; TF1 outputs, V1 files among them, read back by tf.train.load_checkpoint;
mistakes raise and write nothing."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

import ckview

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
sys.path.insert(0, FIXTURES)
import adam_models  # noqa: E402


def trained(kind):
    if kind == "v1":
        return os.path.join(FIXTURES, "v1", "model.ckpt")
    return os.path.join(FIXTURES, "adam_trained", kind, "model.ckpt" if kind == "tf1" else "ckpt-1")


def restore(kind, prefix):
    """A fresh model of `kind` restored from `prefix`; raises unless every object matched."""
    model = adam_models.FRESH[kind](seed=98)
    tf.train.Checkpoint(model=model).restore(prefix).assert_existing_objects_matched()
    return [v.numpy() for v in model.variables]


@pytest.mark.parametrize("kind", ["keras3", "legacy"])
@pytest.mark.parametrize("how", ["path", "reader", "view"])
def test_drop_slots_restores_the_trained_weights(tmp_path, kind, how):
    source = {"path": lambda: trained(kind), "reader": lambda: ckview.load_checkpoint(trained(kind)),
              "view": lambda: ckview.CheckpointView(trained(kind))}[how]()
    out = str(tmp_path / "ckpt-1")
    summary = ckview.rewrite(source, out, drop_slots=True)
    assert summary.prefix == out
    assert summary.bytes_before == sum(os.path.getsize(trained(kind) + suffix) for suffix in (".index", ".data-00000-of-00001"))
    assert summary.bytes_after == sum(os.path.getsize(out + suffix) for suffix in (".index", ".data-00000-of-00001"))
    assert summary.bytes_after * 2 < summary.bytes_before
    expected = restore(kind, trained(kind))
    for got, want in zip(restore(kind, out), expected):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    left = {name for name, _ in tf.train.list_variables(out)}
    assert not any(".OPTIMIZER_SLOT" in name for name in left)
    assert summary.tensors_after == len(left) - 1  # the object graph is not counted


def test_select_drops_what_is_not_selected_and_tensorflow_says_so(tmp_path):
    out = str(tmp_path / "ckpt-1")
    ckview.rewrite(trained("legacy"), out, select=["root.model.layer_with_weights-0"])
    model = adam_models.legacy_model(seed=98)
    status = tf.train.Checkpoint(model=model).restore(out)
    with pytest.raises(AssertionError):
        status.assert_existing_objects_matched()
    source = tf.train.load_checkpoint(trained("legacy"))
    kernel = source.get_tensor("model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE")
    assert np.array_equal(model.layers[0].kernel.numpy(), kernel)
    assert not np.array_equal(model.layers[1].kernel.numpy(), source.get_tensor("model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE"))


def test_tf1_keys_by_glob_read_back_by_tensorflow(tmp_path):
    out = str(tmp_path / "model.ckpt")
    ckview.rewrite(trained("tf1"), out, drop=["*/Adam*"])
    source, copy = tf.train.load_checkpoint(trained("tf1")), tf.train.load_checkpoint(out)
    expected = sorted(key for key in source.get_variable_to_shape_map() if "/Adam" not in key)
    assert sorted(copy.get_variable_to_shape_map()) == expected and expected
    for key in expected:
        assert copy.get_tensor(key).tobytes() == source.get_tensor(key).tobytes()


def v1_checkpoints():
    """Every V1 path TensorFlow's load_checkpoint opened when tests/fixtures/v1 was made."""
    import json
    answers = json.load(open(os.path.join(FIXTURES, "v1", "tf_answers.json")))
    return sorted("v1/" + path for path, answer in answers["checkpoints"].items()
                  if "load_error" not in answer and not os.path.exists(os.path.join(FIXTURES, "v1", path + ".index")))


def same_value(ours, theirs):
    if isinstance(theirs, bytes) or theirs.dtype == object:
        return np.asarray(ours, dtype=object).tolist() == np.asarray(theirs, dtype=object).tolist()
    return ours.dtype == theirs.dtype and ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes()


REFUSED_IN_V1 = []  # (path, key) of tensors TensorFlow refuses in the V1 file but reads after the rewrite


@pytest.mark.parametrize("path", v1_checkpoints())
def test_a_v1_checkpoint_becomes_a_bundle_tensorflow_reads(tmp_path, path):
    """The old V1 format rewritten as a V2 bundle, one key dropped: TensorFlow lists the others
    with the same shapes and dtypes and reads each with the bytes it reads from the V1 file;
    where it refuses a V1 tensor (a float16 or a partitioned one), it reads the rewritten one,
    equal to what ckview reads from the V1 file."""
    source = os.path.join(FIXTURES, path)
    theirs, ours = tf.train.load_checkpoint(source), ckview.load_checkpoint(source)
    shapes = theirs.get_variable_to_shape_map()
    dropped = sorted(shapes)[0]
    out = str(tmp_path / "model.ckpt")
    summary = ckview.rewrite(source, out, drop=[dropped])
    assert (summary.tensors_before, summary.tensors_after) == (len(shapes), len(shapes) - 1)
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt.data-00000-of-00001", "model.ckpt.index"]
    copy = tf.train.load_checkpoint(out)
    kept = {key: shape for key, shape in shapes.items() if key != dropped}
    assert copy.get_variable_to_shape_map() == kept
    dtypes = theirs.get_variable_to_dtype_map()
    assert copy.get_variable_to_dtype_map() == {key: dtypes[key] for key in kept}
    for key in kept:
        try:
            expected = theirs.get_tensor(key)
        except tf.errors.OpError:
            expected = ours.get_tensor(key)
            REFUSED_IN_V1.append((path, key))
        assert same_value(copy.get_tensor(key), expected), key


def test_tensors_tensorflow_refuses_in_v1_files_are_read_after_the_rewrite():
    """Runs after the V1 rewrites above (pytest keeps the file's order)."""
    assert REFUSED_IN_V1, "no V1 fixture holds a tensor TensorFlow refuses there (float16, partitioned)"


@pytest.mark.parametrize("source, kwargs, status", [
    ("legacy", {"drop": ["root.model.nope"]}, "CKVIEW_INVALID_ARGUMENT"),
    ("legacy", {"drop": ["root"]}, "CKVIEW_INVALID_ARGUMENT"),
    ("tf1", {"drop_slots": True}, "CKVIEW_NAME_BASED_CHECKPOINT"),
    ("tf1", {"select": ["no/such/key"]}, "CKVIEW_KEY_NOT_FOUND"),
    ("v1", {"drop_slots": True}, "CKVIEW_NAME_BASED_CHECKPOINT"),
    ("v1", {"drop": ["no/such/key"]}, "CKVIEW_KEY_NOT_FOUND"),
])
def test_mistakes_raise_and_write_nothing(tmp_path, source, kwargs, status):
    with pytest.raises(ckview.CkviewError) as raised:
        ckview.rewrite(trained(source), str(tmp_path / "out"), **kwargs)
    assert raised.value.status_name == status
    assert os.listdir(tmp_path) == []


def test_the_source_cannot_be_the_output():
    with pytest.raises(ckview.CkviewError, match="the checkpoint being read"):
        ckview.rewrite(trained("legacy"), trained("legacy"))
    with pytest.raises(TypeError):
        ckview.rewrite(trained("legacy"), "x", drop="root.model")


class _Files:
    """A filesystem= object over local files whose data shards fail to read when `fail` is set."""

    def __init__(self, fail=False):
        self.fail = fail

    def open(self, path, mode="rb"):
        if self.fail and ".data-" in str(path):
            raise OSError("the disk went away")
        return open(path, mode)


def test_a_reader_over_a_filesystem_rewrites_and_its_exception_comes_out(tmp_path):
    out = str(tmp_path / "ckpt-1")
    with ckview.load_checkpoint(trained("legacy"), filesystem=_Files()) as reader:
        summary = ckview.rewrite(reader, out, drop_slots=True)
    assert summary.tensors_after == len(tf.train.list_variables(out)) - 1
    restore("legacy", out)
    failing = tmp_path / "failing"
    failing.mkdir()
    with ckview.load_checkpoint(trained("legacy"), filesystem=_Files(fail=True)) as reader:
        with pytest.raises(OSError, match="the disk went away"):
            ckview.rewrite(reader, str(failing / "ckpt-1"))
    assert os.listdir(failing) == []


def test_the_reader_method_is_the_function(tmp_path):
    with ckview.load_checkpoint(trained("keras3")) as reader:
        summary = reader.rewrite(str(tmp_path / "ckpt-1"), drop_slots=True)
    assert summary == ckview.rewrite(trained("keras3"), str(tmp_path / "again"), drop_slots=True)._replace(prefix=summary.prefix)
    restore("keras3", summary.prefix)

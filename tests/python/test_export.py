"""`ckview export` against TensorFlow: Hugging Face's own `safetensors` package reads every
export, and each tensor in it equals TensorFlow's `get_tensor` of the bundle key its
`__metadata__` records (dtype, shape, bytes), across the fixtures: Keras 3 and tf_keras models
with optimizers, sharded, partitioned, big-endian, new dtypes, V1, SavedModel variables, TF1.

Every tensor TensorFlow lists is either exported or reported as skipped for a dtype safetensors
cannot hold; names follow TensorFlow's object paths, full names and keys; `--drop-slots` keeps
exactly what TensorFlow reaches from the model; `--max-shard-size` writes Hugging Face's index.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import safetensors
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from test_v1 import expected_value

REPO = Path(__file__).resolve().parents[2]
OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"

# TensorFlow's dtype names and the safetensors dtype holding the same bytes; every other dtype
# must be reported as skipped.
SAFETENSORS_DTYPES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "uint16": "U16", "float16": "F16",
    "bfloat16": "BF16", "int32": "I32", "uint32": "U32", "float32": "F32", "float64": "F64",
    "int64": "I64", "uint64": "U64", "complex64": "C64", "float8_e5m2": "F8_E5M2",
    "float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ",
}

# (what ckview is given, what TensorFlow opens), under tests/fixtures.
CHECKPOINTS = [
    ("keras_adam/model", "keras_adam/model"),
    ("keras3/model", "keras3/model"),
    ("sharded/sharded", "sharded/sharded"),
    ("partitioned/model.ckpt", "partitioned/model.ckpt"),
    ("big_endian/zoo", "big_endian/zoo"),
    ("dtype_zoo/zoo", "dtype_zoo/zoo"),
    ("dtype_new/new", "dtype_new/new"),
    ("saved_model", "saved_model/variables/variables"),
    ("tf1_name_based/model.ckpt", "tf1_name_based/model.ckpt"),
    ("cycles_and_shared/graph", "cycles_and_shared/graph"),
    ("doc_children", "doc_children/tf_ckpts-1"),
    ("tables/before", "tables/before"),
    ("iterator/iter2", "iterator/iter2"),
    ("snappy/all_blocks", "snappy/all_blocks"),
    ("v1/model.ckpt", "v1/model.ckpt"),
    ("v1/partitioned/model.ckpt", "v1/partitioned/model.ckpt"),
    ("v1/sharded/model.ckpt-?????-of-00002", "v1/sharded/model.ckpt-?????-of-00002"),
]


@pytest.fixture(scope="module")
def ckview_binary():
    """The command line, brought up to date by cargo (a failed build fails the tests). The debug
    build: `cargo test` has built it already in `.ci/run`, and the fixtures are small."""
    subprocess.run(["cargo", "build", "--quiet", "-p", "ckview-cli"], cwd=REPO, check=True)
    return REPO / "target" / "debug" / "ckview"


@pytest.fixture(scope="module")
def v1_answers(fixtures_dir):
    return json.loads((fixtures_dir / "v1" / "tf_answers.json").read_text())


def export(binary, ckpt, out, *options):
    result = subprocess.run([str(binary), "export", str(ckpt), str(out), "--json", *options],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def read_export(summary):
    """{name: (dtype, shape, bytes)}, {name: key} and the checkpoint recorded, over every file of
    an export, read by the safetensors package."""
    tensors, keys, sources = {}, {}, set()
    for file in summary["files"]:
        data = Path(file).read_bytes()
        for name, tensor in safetensors.deserialize(data):
            assert name not in tensors, name
            tensors[name] = (tensor["dtype"], list(tensor["shape"]), bytes(tensor["data"]))
        with safetensors.safe_open(file, framework="numpy") as opened:
            metadata = opened.metadata()
        assert metadata["format"] == "pt"
        sources.add(metadata["tensorflow_checkpoint"])
        for key, value in metadata.items():
            if key.startswith("tensorflow_key:"):
                keys[key[len("tensorflow_key:"):]] = value
    assert keys.keys() == tensors.keys() and len(sources) == 1
    return tensors, keys, sources.pop()


def tensorflow_value(reader, key, tf_path, v1_answers):
    """TensorFlow's `get_tensor(key)`; for a V1 tensor TensorFlow refuses to read (float16,
    complex, a partitioned variable), the value it wrote, from tf_answers.json."""
    try:
        return reader.get_tensor(key)
    except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError):
        assert tf_path.startswith("v1/"), key
        if key == "part_var":  # what the fixture script wrote: arange(40) - 20, 10x4
            return (np.arange(40, dtype=np.float32) - 20).reshape(10, 4)
        dtype = reader.get_variable_to_dtype_map()[key].as_numpy_dtype
        return expected_value(v1_answers["written"][key], dtype)


@pytest.mark.parametrize("path,tf_path", CHECKPOINTS)
@pytest.mark.parametrize("shards", [None, "100"])
def test_every_tensor_equals_tensorflows(ckview_binary, fixtures_dir, v1_answers, tmp_path, path, tf_path, shards):
    options = ["--skip-unsupported"] + (["--max-shard-size", shards] if shards else [])
    summary = export(ckview_binary, fixtures_dir / path, tmp_path / "model.safetensors", *options)
    tensors, keys, source = read_export(summary)
    assert Path(source) == fixtures_dir / tf_path
    reader = tf.train.load_checkpoint(str(fixtures_dir / tf_path))
    dtypes = reader.get_variable_to_dtype_map()
    listed = {key for key in dtypes if key != OBJECT_GRAPH}
    unsupported = {key for key in listed if dtypes[key].name not in SAFETENSORS_DTYPES}
    assert {skipped["key"] for skipped in summary["skipped_unsupported"]} == unsupported
    assert set(keys.values()) == listed - unsupported
    assert summary["tensors"] == len(tensors)
    for name, (dtype, shape, data) in tensors.items():
        key = keys[name]
        value = np.asarray(tensorflow_value(reader, key, tf_path, v1_answers))
        assert dtype == SAFETENSORS_DTYPES[dtypes[key].name], key
        assert shape == list(value.shape), key
        assert data == value.tobytes(), key
    if shards:
        index = json.loads(Path(summary["index"]).read_text()) if summary["index"] else None
        if len(summary["files"]) > 1:
            assert set(index["weight_map"]) == set(tensors)
            assert index["metadata"]["total_size"] == sum(len(data) for _, _, data in tensors.values())
            count = len(summary["files"])
            assert [Path(file).name for file in summary["files"]] == \
                [f"model-{at:05}-of-{count:05}.safetensors" for at in range(1, count + 1)]
            for name, file in index["weight_map"].items():
                assert name in dict(safetensors.deserialize(Path(tmp_path / file).read_bytes())), name
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def object_graph(reader):
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor(OBJECT_GRAPH))
    return graph


@pytest.mark.parametrize("path", ["keras_adam/model", "keras3/model", "cycles_and_shared/graph", "dtype_zoo/zoo"])
def test_names_are_tensorflows_paths_full_names_and_keys(ckview_binary, fixtures_dir, tmp_path, path):
    prefix = str(fixtures_dir / path)
    reader = tf.train.load_checkpoint(prefix)
    graph = object_graph(reader)
    paths = dict(tf.train.CheckpointView(prefix)._descendants_with_paths())
    by_key = {}
    for node_id, node in enumerate(graph.nodes):
        for attribute in node.attributes:
            by_key.setdefault(attribute.checkpoint_key, (node_id, attribute))
    for names in ["path", "full-name", "key"]:
        summary = export(ckview_binary, prefix, tmp_path / f"{names}.safetensors", "--skip-unsupported", "--names", names)
        _, keys, _ = read_export(summary)
        for name, key in keys.items():
            node_id, attribute = by_key[key]
            if names == "key":
                assert name == key
            elif names == "full-name":
                assert name == attribute.full_name
            elif node_id in paths and ".optimizer" not in paths[node_id] and attribute.name == "VARIABLE_VALUE":
                # A path through no optimizer is TensorFlow's own.
                assert name == paths[node_id].removeprefix("root."), key


def reached_from(view, start):
    """What TensorFlow's children reach from `start`, not following an edge to an optimizer (Keras
    3's `model.optimizer`)."""
    seen, stack = {start}, [start]
    while stack:
        for name, child in view.children(stack.pop()).items():
            if child not in seen and name != "optimizer":
                seen.add(child)
                stack.append(child)
    return seen


@pytest.mark.parametrize("path", ["keras_adam/model", "keras3/model"])
def test_drop_slots_keeps_what_tensorflow_reaches_from_the_model(ckview_binary, fixtures_dir, tmp_path, path):
    prefix = str(fixtures_dir / path)
    reader = tf.train.load_checkpoint(prefix)
    graph = object_graph(reader)
    view = tf.train.CheckpointView(prefix)
    model = reached_from(view, view.children(0)["model"])
    expected = {attribute.checkpoint_key for node_id in model for attribute in graph.nodes[node_id].attributes}
    summary = export(ckview_binary, prefix, tmp_path / "model.safetensors", "--drop-slots")
    _, keys, _ = read_export(summary)
    assert set(keys.values()) == expected
    assert summary["dropped_optimizer_state"] == len(reader.get_variable_to_shape_map()) - 1 - len(expected)


def test_select_drop_and_rename(ckview_binary, fixtures_dir, tmp_path):
    prefix = fixtures_dir / "keras_adam" / "model"
    summary = export(ckview_binary, prefix, tmp_path / "a.safetensors", "--names", "full-name",
                     "--select", "^dense_", "--drop", "bias", "--rename", "/=.", "--rename", r"^(\w+)\.=layer.$1.")
    tensors, keys, _ = read_export(summary)
    assert sorted(tensors) == ["layer.dense_a.kernel", "layer.dense_b.kernel"]
    reader = tf.train.load_checkpoint(str(prefix))
    for name, key in keys.items():
        assert tensors[name][2] == reader.get_tensor(key).tobytes()


def test_refusals_leave_nothing(ckview_binary, fixtures_dir, tmp_path):
    for args in (["dtype_zoo/zoo"], ["keras_adam/model", "--rename", ".*=same"]):
        result = subprocess.run([str(ckview_binary), "export", str(fixtures_dir / args[0]),
                                 str(tmp_path / "out.safetensors"), *args[1:]], capture_output=True, text=True)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("ckview: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


# ---- the same from Python: reader.export_safetensors and reader.state_dict -----------------

import ckview  # noqa: E402
import ckview.export  # noqa: E402


@pytest.mark.parametrize("path,tf_path", CHECKPOINTS)
def test_python_export_and_state_dict_equal_tensorflow(fixtures_dir, v1_answers, tmp_path, path, tf_path):
    reader = tf.train.load_checkpoint(str(fixtures_dir / tf_path))
    dtypes = reader.get_variable_to_dtype_map()
    with ckview.load_checkpoint(str(fixtures_dir / path)) as ours:
        report = ours.export_safetensors(tmp_path / "model.safetensors", skip_unsupported=True)
        state = ours.state_dict(skip_unsupported=True)
    data = (tmp_path / "model.safetensors").read_bytes()
    written = dict(safetensors.deserialize(data))
    with safetensors.safe_open(str(tmp_path / "model.safetensors"), framework="numpy") as opened:
        keys = {name[len("tensorflow_key:"):]: key for name, key in opened.metadata().items() if name.startswith("tensorflow_key:")}
    assert report.tensors == len(written) == len(state) and set(state) == set(written) == set(keys)
    assert report.skipped_unsupported == sum(1 for key in dtypes if key != OBJECT_GRAPH and dtypes[key].name not in SAFETENSORS_DTYPES)
    for name, value in state.items():
        expected = np.asarray(tensorflow_value(reader, keys[name], tf_path, v1_answers))
        assert np.asarray(value).dtype == expected.dtype and np.asarray(value).shape == expected.shape, name
        assert np.asarray(value).tobytes() == expected.tobytes() == bytes(written[name]["data"]), name


def test_python_rename_progress_and_errors(fixtures_dir, tmp_path):
    prefix = str(fixtures_dir / "keras_adam" / "model")
    seen, progress = [], []

    def rename(tensor):
        seen.append(tensor)
        return None if tensor.optimizer_state else tensor.full_name.replace("/", ".")

    with ckview.CheckpointView(prefix) as view:
        report = ckview.export.export_safetensors(view, tmp_path / "m.safetensors", rename=rename,
                                                  progress=lambda done, total: progress.append((done, total)))
    names = dict(safetensors.deserialize((tmp_path / "m.safetensors").read_bytes()))
    assert sorted(names) == ["dense_a.bias", "dense_a.kernel", "dense_b.bias", "dense_b.kernel"]
    assert report.deselected == len(seen) - 4 and progress[-1][0] == progress[-1][1] == report.bytes
    tf_keys = set(tf.train.load_checkpoint(prefix).get_variable_to_shape_map()) - {OBJECT_GRAPH}
    assert {tensor.key for tensor in seen} == tf_keys
    with pytest.raises(ZeroDivisionError):
        ckview.load_checkpoint(prefix).export_safetensors(tmp_path / "x.safetensors", rename=lambda tensor: 1 / 0)
    with pytest.raises(ckview.CkviewError) as refused:
        ckview.load_checkpoint(prefix).export_safetensors(tmp_path / "x.safetensors", rename=lambda tensor: "same")
    assert refused.value.status_name == "CKVIEW_DUPLICATE_NAME"
    with pytest.raises(ckview.CkviewError) as refused:
        ckview.load_checkpoint(str(fixtures_dir / "dtype_zoo" / "zoo")).export_safetensors(tmp_path / "x.safetensors")
    assert refused.value.status_name == "CKVIEW_UNSUPPORTED_DTYPE"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]

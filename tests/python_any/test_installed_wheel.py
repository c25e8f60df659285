"""The installed wheel under any Python that runs it (.ci/run: PyPy 3.9, a fresh virtualenv,
from outside the repository), against the goldens TensorFlow 2.21 wrote into tests/fixtures:
no TensorFlow needed, so the interpreters TensorFlow has no wheel for are tested too.

Every fixture's object graph (node count, children in order, descendants, paths) and every
key's listing, dtype, shape and bytes; then each lifetime scenario of tests/python (a view's
reader after close, close from a callback or another thread during a diff or a read, arrays over
a map after close), in a process of its own under the same interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ckview

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCENARIOS = Path(__file__).resolve().parents[1] / "python" / "lifetime_scenarios.py"
GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# Graphs TensorFlow walks wrongly or not at all, which ckview refuses at open (tests/common/mod.rs).
REFUSED_AT_OPEN = {"crafted_bad_ref", "crafted_negative_ref", "crafted_empty_graph", "crafted_corrupt_graph"}


def fixtures():
    """Every fixture TensorFlow wrote a golden.json for."""
    return sorted(golden.parent.name for golden in FIXTURES.glob("*/golden.json"))


def golden(name):
    return json.loads((FIXTURES / name / "golden.json").read_text(encoding="utf-8"))


def walkable():
    """The fixtures whose graph TensorFlow walked (the others: tests/python compares the errors)."""
    return [name for name in fixtures()
            if not golden(name)["view_error"] and not golden(name).get("descendants_error") and name not in REFUSED_AT_OPEN]


def numpy_dtype(name):
    """numpy's dtype of a TensorFlow dtype name, or None where numpy has none (bfloat16, ...)."""
    try:
        return np.dtype(name)
    except TypeError:
        return None


def test_the_installed_package_is_tested():
    if os.environ.get("CKVIEW_TEST_INSTALLED") == "1":
        assert "site-packages" in Path(ckview.__file__).parts, ckview.__file__
    assert len(fixtures()) >= 14 and len(walkable()) >= 8, fixtures()


@pytest.mark.parametrize("name", walkable())
def test_graph_equals_tensorflow(name):
    expected = golden(name)
    with ckview.CheckpointView(str(FIXTURES / name / expected["prefix"])) as view:
        assert len(view) == expected["num_nodes"]
        for node, children in expected["children"]:
            assert list(view.children(node).items()) == [tuple(pair) for pair in children], (name, node)
        assert view.descendants() == expected["descendants"]
        assert [[node, path] for node, path in view._descendants_with_paths().items()] == expected["paths"]


@pytest.mark.parametrize("name", fixtures())
def test_every_tensor_equals_tensorflow(name):
    expected = golden(name)
    reader = ckview.load_checkpoint(str(FIXTURES / name / expected["prefix"]))
    shapes = reader.get_variable_to_shape_map()
    assert [[key, shape] for key, shape in shapes.items()] == expected["variables"]
    assert {key: dtype.name for key, dtype in reader.get_variable_to_dtype_map().items()} == expected["dtypes"]
    for key, tensor in expected["tensors"].items():
        if "error" in tensor:
            continue  # TensorFlow refused it (variants): tests/python checks ckview's refusal
        value = reader.get_tensor(key)
        if "strings_hex" in tensor:
            flat = [value] if isinstance(value, bytes) else list(np.ravel(value))
            assert [bytes(item).hex() for item in flat] == tensor["strings_hex"], (name, key)
        else:
            array = np.asarray(value)
            assert list(array.shape) == tensor["shape"], (name, key)
            assert numpy_dtype(tensor["dtype"]) in (None, array.dtype), (name, key)
            assert np.ascontiguousarray(array).tobytes().hex() == tensor["hex"], (name, key)


def golden_value(fixture, key):
    """TensorFlow's value of `key` in a fixture, from the bytes its golden recorded."""
    tensor = golden(fixture)["tensors"][key]
    return np.frombuffer(bytes.fromhex(tensor["hex"]), np.dtype(tensor["dtype"])).reshape(tensor["shape"])


def run_scenario(name):
    """One program of tests/python/lifetime_scenarios.py (TensorFlow-free) in a process of its own,
    under this interpreter: a crash fails this test, not the session."""
    result = subprocess.run([sys.executable, str(SCENARIOS), name, str(FIXTURES)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.splitlines()[-1])


def test_a_views_reader_after_the_view_is_closed_or_dropped():
    got = run_scenario("reader_after_view_closed")
    assert got["before"] == golden_value("doc_children", "a_var/.ATTRIBUTES/VARIABLE_VALUE")
    assert got["get_tensor"] == got["shape_map"] == got["has_tensor"] == "this CheckpointView is closed"
    got = run_scenario("reader_of_a_dropped_view")
    assert got["a_var"] == golden_value("doc_children", "a_var/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.parametrize("scenario", ["close_in_children_callback", "close_from_another_thread_during_diff"])
def test_close_during_a_diff_waits_for_it(scenario):
    expected = golden("doc_diff")
    got = run_scenario(scenario)
    assert got["only_in_checkpoint"] == expected["diff_only_in_checkpoint"]
    assert got["only_in_live"] == len(expected["diff_only_in_trackable"])
    assert got["after"] == "this CheckpointView is closed"


@pytest.mark.parametrize("scenario, closed", [("close_from_another_thread_during_get_tensor", "CheckpointReader"),
                                              ("close_view_while_its_reader_reads", "CheckpointView")])
def test_close_while_another_thread_reads(scenario, closed):
    got = run_scenario(scenario)
    assert got["b_var"] == golden_value("doc_children", "b_var/.ATTRIBUTES/VARIABLE_VALUE")
    assert got["after"] == f"this {closed} is closed"


def test_arrays_over_the_map_outlive_close():
    got = run_scenario("borrowed_array_outlives_reader")
    assert got["values"], "no float32/int64/uint8 tensor in dtype_zoo"
    for key, value in got["values"].items():
        assert value == golden_value("dtype_zoo", key).tolist(), key
    assert got["writeable"] == [False] * len(got["values"])


def test_a_path_with_a_nul_is_refused():
    with pytest.raises(ValueError, match="null byte"):
        ckview.load_checkpoint(str(FIXTURES / "doc_children" / "tf_ckpts-1") + "\0.index")

"""Every object the binding hands out keeps what it borrows alive, or raises "this ... is
closed": each scenario of lifetime_scenarios.py (a view's reader after the view is closed, a
view closed from a children callback or another thread in the middle of a diff, a reader closed
while another thread reads, arrays over a mapped file after close) crashed or read freed memory
before the counted handle of ckview/_managed.py. Each runs in its own process, under valgrind
when CKVIEW_LIFETIME_VALGRIND=1 (.ci/run sets it), and its output is compared with TensorFlow's
answers on the same checkpoints."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import ckview

SCENARIOS = Path(__file__).resolve().parent / "lifetime_scenarios.py"


def run_scenario(name, fixtures_dir):
    command = [sys.executable, str(SCENARIOS), name, str(fixtures_dir)]
    env = dict(os.environ)
    if os.environ.get("CKVIEW_LIFETIME_VALGRIND") == "1":
        valgrind = shutil.which("valgrind")
        assert valgrind, "CKVIEW_LIFETIME_VALGRIND=1 but valgrind is not installed"
        command = [valgrind, "--quiet", "--error-exitcode=99", "--leak-check=no", "--undef-value-errors=no",
                   "--suppressions=" + str(SCENARIOS.with_name("valgrind-python.supp")), *command]
        env["PYTHONMALLOC"] = "malloc"  # valgrind sees every allocation, not pymalloc's arenas
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.splitlines()[-1])


def tf_value(fixtures_dir, prefix, key):
    return tf.train.load_checkpoint(str(fixtures_dir / prefix)).get_tensor(key)


def test_reader_after_its_view_is_closed(fixtures_dir):
    got = run_scenario("reader_after_view_closed", fixtures_dir)
    assert got["before"] == tf_value(fixtures_dir, "doc_children/tf_ckpts-1", "a_var/.ATTRIBUTES/VARIABLE_VALUE")
    assert got["get_tensor"] == got["shape_map"] == got["has_tensor"] == "this CheckpointView is closed"


def test_reader_of_a_view_nobody_holds(fixtures_dir):
    got = run_scenario("reader_of_a_dropped_view", fixtures_dir)
    assert got["a_var"] == tf_value(fixtures_dir, "doc_children/tf_ckpts-1", "a_var/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.parametrize("scenario", ["close_in_children_callback", "close_from_another_thread_during_diff"])
def test_close_during_a_diff_waits_for_it(fixtures_dir, scenario):
    golden = json.loads((fixtures_dir / "doc_diff" / "golden.json").read_text())  # written by TensorFlow
    got = run_scenario(scenario, fixtures_dir)
    assert got["only_in_checkpoint"] == golden["diff_only_in_checkpoint"]
    assert got["only_in_live"] == len(golden["diff_only_in_trackable"])
    assert got["after"] == "this CheckpointView is closed"


@pytest.mark.parametrize("scenario, closed", [("close_from_another_thread_during_get_tensor", "CheckpointReader"),
                                              ("close_view_while_its_reader_reads", "CheckpointView")])
def test_close_while_another_thread_reads(fixtures_dir, scenario, closed):
    got = run_scenario(scenario, fixtures_dir)
    assert got["b_var"] == tf_value(fixtures_dir, "doc_children/tf_ckpts-1", "b_var/.ATTRIBUTES/VARIABLE_VALUE")
    assert got["after"] == f"this {closed} is closed"


def test_arrays_over_the_map_outlive_close(fixtures_dir):
    got = run_scenario("borrowed_array_outlives_reader", fixtures_dir)
    theirs = tf.train.load_checkpoint(str(fixtures_dir / "dtype_zoo" / "zoo"))
    assert got["values"], "no float32/int64/uint8 tensor in dtype_zoo"
    for key, value in got["values"].items():
        assert value is not None, f"{key} could not be borrowed from the map"
        assert value == theirs.get_tensor(key).tolist(), key
    assert got["writeable"] == [False] * len(got["values"])
    assert got["a_var"] == tf_value(fixtures_dir, "doc_children/tf_ckpts-1", "a_var/.ATTRIBUTES/VARIABLE_VALUE")


def test_a_borrowed_array_is_the_mapped_bytes(fixtures_dir):
    """No copy: the array's memory is the map's, the same for two borrows of one key."""
    reader = ckview.load_checkpoint(fixtures_dir / "keras_adam" / "model", mmap=True)
    theirs = tf.train.load_checkpoint(str(fixtures_dir / "keras_adam" / "model"))
    key = max(reader.get_variable_to_shape_map(), key=lambda k: np.prod(theirs.get_variable_to_shape_map()[k]))
    first, second = reader.get_tensor(key, copy=False), reader.get_tensor(key, copy=False)
    assert first.__array_interface__["data"][0] == second.__array_interface__["data"][0]
    assert np.array_equal(first, theirs.get_tensor(key)) and not first.flags.writeable
    with pytest.raises(ValueError, match="mmap=True"):
        ckview.load_checkpoint(fixtures_dir / "keras_adam" / "model").get_tensor(key, copy=False)


@pytest.mark.parametrize("opener", [ckview.CheckpointView, ckview.load_checkpoint, ckview.list_variables])
def test_a_path_with_a_nul_is_refused(fixtures_dir, opener):
    """C would read the path up to the NUL, and open doc_children for `doc_children\\0...`."""
    with pytest.raises(ValueError, match="null byte"):
        opener(str(fixtures_dir / "doc_children" / "tf_ckpts-1") + "\0.index")


def test_a_corrupt_tensor_reports_its_own_status(fixtures_dir, tmp_path):
    """Every status is checked: a flipped byte is a checksum mismatch, as TensorFlow finds."""
    for name in ("tf_ckpts-1.index", "tf_ckpts-1.data-00000-of-00001"):
        shutil.copy(fixtures_dir / "doc_children" / name, tmp_path / name)
    data = tmp_path / "tf_ckpts-1.data-00000-of-00001"
    key = "a_var/.ATTRIBUTES/VARIABLE_VALUE"
    offset = next(iter(np.flatnonzero(np.frombuffer(data.read_bytes(), np.uint8) ==
                                      np.frombuffer(tf_value(fixtures_dir, "doc_children/tf_ckpts-1", key).tobytes(), np.uint8)[0])))
    raw = bytearray(data.read_bytes())
    raw[offset] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(tf.errors.OpError, match="Checksum does not match"):
        tf.train.load_checkpoint(str(tmp_path / "tf_ckpts-1")).get_tensor(key)
    with pytest.raises(ckview.CkviewError) as error:
        ckview.load_checkpoint(tmp_path / "tf_ckpts-1").get_tensor(key)
    assert error.value.status_name == "CKVIEW_CHECKSUM_MISMATCH"

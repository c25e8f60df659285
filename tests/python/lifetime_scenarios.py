"""Each lifetime hole of the Python binding as a small program, run by test_lifetimes.py in a
process of its own (under valgrind when CKVIEW_LIFETIME_VALGRIND=1), so that a crash or a read
of freed memory fails that test instead of killing pytest.

    python tests/python/lifetime_scenarios.py SCENARIO FIXTURES_DIR

prints one JSON document: what the scenario observed. It imports ckview the way the tests do
(the installed package, or bindings/python when CKVIEW_TEST_INSTALLED is not set) and never
TensorFlow (valgrind would take minutes over it): test_lifetimes.py compares the output with
TensorFlow's answers.
"""

import gc
import json
import os
import sys
import threading
from pathlib import Path

if not os.environ.get("CKVIEW_TEST_INSTALLED"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))

import ckview  # noqa: E402


class Module:
    def __init__(self, **children):
        self.children = children


def children_of(obj):
    return obj.children if isinstance(obj, Module) else {}


def doc_diff_live_tree():
    """The documentation's live model of doc_diff: `leaf` renamed `leaf2` (examples/python)."""
    leaf2 = Module(a_var=object(), b_var=object(), vars=Module(**{"0": object(), "1": object()}),
                   leaf3=object(), leaf4=object())
    return Module(a_var=object(), b_var=object(), vars=Module(**{"0": object(), "1": object()}), leaf2=leaf2)


def closed_message(call):
    """The message of the ValueError `call()` raises (the scenario fails if it raises nothing)."""
    try:
        call()
    except ValueError as error:
        return str(error)
    raise AssertionError("a call on a closed object did not raise")


def reader_after_view_closed(fixtures):
    with ckview.CheckpointView(fixtures / "doc_children" / "tf_ckpts-1") as view:
        reader = view.reader()
        before = float(reader.get_tensor("a_var/.ATTRIBUTES/VARIABLE_VALUE"))
    del view
    gc.collect()
    return {
        "before": before,
        "get_tensor": closed_message(lambda: reader.get_tensor("a_var/.ATTRIBUTES/VARIABLE_VALUE")),
        "shape_map": closed_message(reader.get_variable_to_shape_map),
        "has_tensor": closed_message(lambda: reader.has_tensor("a_var/.ATTRIBUTES/VARIABLE_VALUE")),
    }


def reader_of_a_dropped_view(fixtures):
    reader = ckview.CheckpointView(fixtures / "doc_children" / "tf_ckpts-1").reader()
    gc.collect()
    return {"a_var": float(reader.get_tensor("a_var/.ATTRIBUTES/VARIABLE_VALUE"))}


def close_in_children_callback(fixtures):
    view = ckview.CheckpointView(fixtures / "doc_diff" / "tf_ckpts-1")

    def children(obj):
        view.close()  # in the middle of the diff that reads the view
        gc.collect()
        return children_of(obj)

    _, only_in_checkpoint, only_in_live = view.diff(doc_diff_live_tree(), children=children)
    return {"only_in_checkpoint": only_in_checkpoint, "only_in_live": len(only_in_live),
            "after": closed_message(lambda: view.children(0))}


def close_from_another_thread_during_diff(fixtures):
    view = ckview.CheckpointView(fixtures / "doc_diff" / "tf_ckpts-1")
    closed = threading.Event()

    def close():
        view.close()
        gc.collect()
        closed.set()

    def children(obj):
        if not closed.is_set():
            threading.Thread(target=close).start()
            if not closed.wait(30):
                raise AssertionError("close() from another thread did not return")
        return children_of(obj)

    _, only_in_checkpoint, only_in_live = view.diff(doc_diff_live_tree(), children=children)
    return {"only_in_checkpoint": only_in_checkpoint, "only_in_live": len(only_in_live),
            "after": closed_message(lambda: view.children(0))}


class _PausingFilesystem:
    """Local files whose data-shard reads, once `armed` is set (after the open, which reads the
    object graph from the data shard), set `paused` and stop until `resume` is set."""

    def __init__(self):
        self.armed, self.paused, self.resume = threading.Event(), threading.Event(), threading.Event()

    def open(self, path, mode):
        file = open(path, mode)
        if ".data-" not in path:
            return file
        filesystem, read = self, file.read

        class Pausing:
            def __getattr__(self, name):
                return getattr(file, name)

            def read(self, length=-1):
                if not filesystem.armed.is_set():
                    return read(length)
                filesystem.paused.set()
                if not filesystem.resume.wait(30):
                    raise AssertionError("close() from another thread did not return")
                return read(length)

        return Pausing()


def _close_during_get_tensor(open_reader):
    """Reads b_var on another thread and, while that thread is inside ckview_tensor_read (its
    filesystem read paused), closes the view (or the reader) on this one."""
    filesystem = _PausingFilesystem()
    owner, reader = open_reader(filesystem)
    filesystem.armed.set()
    got = {}

    def read():
        got["value"] = float(reader.get_tensor("b_var/.ATTRIBUTES/VARIABLE_VALUE"))

    thread = threading.Thread(target=read)
    thread.start()
    if not filesystem.paused.wait(30):
        raise AssertionError("the read never reached the filesystem")
    (owner or reader).close()
    gc.collect()
    filesystem.resume.set()
    thread.join()
    return {"b_var": got["value"], "after": closed_message(lambda: reader.get_tensor("b_var/.ATTRIBUTES/VARIABLE_VALUE"))}


def close_from_another_thread_during_get_tensor(fixtures):
    prefix = str(fixtures / "doc_children" / "tf_ckpts-1")
    return _close_during_get_tensor(lambda filesystem: (None, ckview.load_checkpoint(prefix, filesystem=filesystem)))


def close_view_while_its_reader_reads(fixtures):
    prefix = str(fixtures / "doc_children" / "tf_ckpts-1")

    def open_reader(filesystem):
        view = ckview.CheckpointView(prefix, filesystem=filesystem)
        return view, view.reader()

    return _close_during_get_tensor(open_reader)


def borrowed_array_outlives_reader(fixtures):
    prefix = fixtures / "dtype_zoo" / "zoo"
    reader = ckview.load_checkpoint(prefix, mmap=True)
    arrays = {}
    for key, dtype in reader.get_variable_to_dtype_map().items():
        if dtype in ("float32", "int64", "uint8"):
            try:
                arrays[key] = reader.get_tensor(key, copy=False)
            except ValueError:  # not borrowable as stored: the scenario reports which
                arrays[key] = None
    reader.close()
    del reader
    gc.collect()
    # The view's reader too: the array keeps the view's maps after the view is closed.
    with ckview.CheckpointView(fixtures / "doc_children" / "tf_ckpts-1", mmap=True) as view:
        a_var = view.reader().get_tensor("a_var/.ATTRIBUTES/VARIABLE_VALUE", copy=False)
    del view
    gc.collect()
    return {
        "values": {key: None if a is None else a.tolist() for key, a in arrays.items()},
        "writeable": [bool(a.flags.writeable) for a in arrays.values() if a is not None],
        "a_var": a_var.tolist(),
    }


SCENARIOS = {function.__name__: function for function in [
    reader_after_view_closed, reader_of_a_dropped_view, close_in_children_callback,
    close_from_another_thread_during_diff, close_from_another_thread_during_get_tensor,
    close_view_while_its_reader_reads, borrowed_array_outlives_reader,
]}

if __name__ == "__main__":
    result = SCENARIOS[sys.argv[1]](Path(sys.argv[2]))
    print(json.dumps(result))

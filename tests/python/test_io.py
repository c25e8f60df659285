"""Reading through a Python filesystem (`filesystem=`, fsspec or any object with `open`) and
with memory maps (`mmap=True`): the same answers as TensorFlow and as local reading, failures
that come back as Python exceptions (never a crash), and every opened file closed."""

import errno
import shutil
import threading
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest
import tensorflow as tf

import ckview
from test_reader import FIXTURES, assert_identical, prefix_of

GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


# ----------------------------------------------------------------------------------------------
# Filesystems
# ----------------------------------------------------------------------------------------------


class InjectedError(OSError):
    """What a failing filesystem raises; an OSError with errno EIO."""

    def __init__(self, what):
        super().__init__(errno.EIO, f"injected failure: {what}")


class Boom(Exception):
    """Not an OSError: must reach the caller unchanged all the same."""


class TrackedFile:
    """A file object of `Tracking`: no `size` attribute (the binding learns the size with
    seek(0, 2)), reads that may fail or raise, and a close that is counted once."""

    def __init__(self, file, owner, path):
        self._file, self._owner, self.path, self.closed = file, owner, path, False

    def seek(self, offset, whence=0):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def read(self, length=-1):
        self._owner.before_read(self.path)
        return self._file.read(length)

    def close(self):
        if self.closed:  # counted, not asserted: the binding swallows what close raises
            self._owner.double_closes += 1
            return
        self.closed = True
        with self._owner.lock:
            self._owner.open_files.remove(self)
        self._file.close()


class Tracking:
    """A filesystem over another one that counts opens and reads, keeps every file it opened
    until it is closed, and fails reads (or raises from them) once `fail_after` have
    succeeded. Paths must come as str."""

    def __init__(self, inner, fail_after=None, error=InjectedError):
        self.inner, self.fail_after, self.error = inner, fail_after, error
        self.lock = threading.Lock()
        self.open_files = []
        self.opens = self.reads = self.double_closes = 0

    def open(self, path, mode="rb"):
        assert isinstance(path, str) and mode == "rb", (path, mode)
        file = TrackedFile(self.inner.open(path, mode), self, path)
        with self.lock:
            self.opens += 1
            self.open_files.append(file)
        return file

    def before_read(self, path):
        with self.lock:
            if self.fail_after is not None and self.reads >= self.fail_after:
                raise self.error(f"read of {path}")
            self.reads += 1


@pytest.fixture
def memory_fs():
    """fsspec's memory filesystem (one store for the process) and a fresh root in it, removed
    afterwards."""
    fs = fsspec.filesystem("memory")
    root = f"/ckview-test-{uuid.uuid4().hex}"
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def copy_to_memory(fs, root, directory):
    """Copies the files of `directory` (recursively) under `root` in the memory filesystem."""
    directory = Path(directory)
    for path in directory.rglob("*"):
        if path.is_file():
            fs.pipe(f"{root}/{path.relative_to(directory).as_posix()}", path.read_bytes())


def fixture_dir(fixtures_dir, name):
    return fixtures_dir / name.split("/")[0]


def storage_path(kind, fixtures_dir, name, memory_fs):
    """`(filesystem, save_path)` of fixture `name` through the local fsspec filesystem, or
    through a copy in the memory filesystem."""
    path = prefix_of(fixtures_dir, name)
    if kind == "file":
        return fsspec.filesystem("file"), path
    fs, root = memory_fs
    directory = fixture_dir(fixtures_dir, name)
    copy_to_memory(fs, root, directory)
    return fs, root + "/" + Path(path).relative_to(directory).as_posix()


def all_values(reader):
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map() if key != GRAPH_KEY}


def graph_of(view):
    """Everything a view answers about its object graph, comparable with ==."""
    nodes = range(len(view))
    return {
        "descendants": view.descendants(),
        "paths": view._descendants_with_paths(),
        "children": [list(view.children(node).items()) for node in nodes],
        "attributes": [view.attributes(node) for node in nodes],
        "slot_variables": [view.slot_variables(node) for node in nodes],
    }


def open_view(path, **options):
    """A view, or the exception type opening one raises (TF1 checkpoints have no graph)."""
    try:
        return ckview.CheckpointView(path, **options)
    except ckview.NameBasedCheckpointError:
        return ckview.NameBasedCheckpointError


# ----------------------------------------------------------------------------------------------
# (a) Every fixture through fsspec's local and memory filesystems
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "memory"])
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_through_a_filesystem(fixtures_dir, memory_fs, name, kind):
    local_path = prefix_of(fixtures_dir, name)
    fs, path = storage_path(kind, fixtures_dir, name, memory_fs)
    tracking = Tracking(fs)
    theirs = tf.train.load_checkpoint(local_path)

    with ckview.load_checkpoint(path, filesystem=tracking) as ours:
        assert ours.get_variable_to_shape_map() == theirs.get_variable_to_shape_map()
        assert ours.get_variable_to_dtype_map() == {k: v.name for k, v in theirs.get_variable_to_dtype_map().items()}
        for key in theirs.get_variable_to_shape_map():
            assert ours.has_tensor(key)
            if key != GRAPH_KEY:
                assert_identical(ours.get_tensor(key), theirs.get_tensor(key), key)
        assert not ours.has_tensor("no/such/key")
        with pytest.raises(ckview.CkviewError):
            ours.get_tensor("no/such/key")
    assert tracking.opens > 0 and tracking.open_files == []

    local_view = open_view(local_path)
    view = open_view(path, filesystem=tracking)
    if local_view is ckview.NameBasedCheckpointError:
        assert view is ckview.NameBasedCheckpointError
    else:
        with local_view, view:
            assert graph_of(view) == graph_of(local_view)
            tf_view = tf.train.CheckpointView(local_path)
            assert view.descendants() == tf_view.descendants()
            assert [list(view.children(n).items()) for n in range(len(view))] == \
                [list(tf_view.children(n).items()) for n in range(len(view))]
            reader = view.reader()
            for key, value in all_values(reader).items():
                assert_identical(value, theirs.get_tensor(key), key)
    assert tracking.open_files == [] and tracking.double_closes == 0


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_fsspec_filesystem_unwrapped(fixtures_dir, memory_fs, kind):
    """The fsspec filesystem itself, not wrapped, and every form of save_path."""
    fs, path = storage_path(kind, fixtures_dir, "manager/ckpt-3", memory_fs)
    local = ckview.load_checkpoint(prefix_of(fixtures_dir, "manager/ckpt-3"))
    expected = all_values(local)
    directory = path.rsplit("/", 1)[0]
    for save_path in [path, path + ".index", path + ".data-00000-of-00001", directory, directory + "/"]:
        with ckview.load_checkpoint(save_path, filesystem=fs) as reader:
            for key, value in all_values(reader).items():
                assert_identical(value, expected[key], key)
        with ckview.CheckpointView(save_path, filesystem=fs) as view:
            assert view.children(0) == ckview.CheckpointView(prefix_of(fixtures_dir, "manager/ckpt-3")).children(0)
            assert view._storage.open_files > 0
        assert view._storage.open_files == 0 and view._storage.opened == view._storage.closed


def test_memory_protocol_paths(fixtures_dir, memory_fs):
    fs, root = memory_fs
    copy_to_memory(fs, root, fixtures_dir / "doc_children")
    expected = ckview.CheckpointView(prefix_of(fixtures_dir, "doc_children")).children(0)
    with ckview.CheckpointView(f"memory://{root}/tf_ckpts-1", filesystem=fs) as view:
        assert view.children(0) == expected


def test_missing_checkpoint_through_a_filesystem(memory_fs):
    fs, root = memory_fs
    tracking = Tracking(fs)
    with pytest.raises(ckview.CkviewError) as caught:
        ckview.CheckpointView(f"{root}/nothing/ckpt-1", filesystem=tracking)
    assert caught.value.status_name == "CKVIEW_NOT_FOUND"
    assert caught.value.__cause__ is None  # missing files are not a cause worth chaining
    with pytest.raises(ckview.CkviewError):
        ckview.load_checkpoint(f"{root}/nothing", filesystem=tracking)
    assert tracking.open_files == []


def test_threads_share_a_filesystem_reader(fixtures_dir, memory_fs):
    """Concurrent reads of the same files through one reader: each seek+read pair is kept
    together, so every thread sees the right bytes."""
    fs, path = storage_path("memory", fixtures_dir, "dtype_zoo", memory_fs)
    expected = all_values(ckview.load_checkpoint(prefix_of(fixtures_dir, "dtype_zoo")))
    reader = ckview.load_checkpoint(path, filesystem=Tracking(fs))
    failures = []

    def work():
        try:
            for _ in range(20):
                for key, value in all_values(reader).items():
                    assert_identical(value, expected[key], key)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.close()
    assert failures == []
    assert reader._storage.open_files == 0


def test_filesystem_argument_errors(fixtures_dir):
    path = prefix_of(fixtures_dir, "doc_children")
    with pytest.raises(ValueError):
        ckview.CheckpointView(path, mmap=True, filesystem=fsspec.filesystem("file"))
    with pytest.raises(ValueError):
        ckview.load_checkpoint(path, mmap=True, filesystem=fsspec.filesystem("file"))
    with pytest.raises(TypeError):
        ckview.load_checkpoint(path, filesystem=object())


# ----------------------------------------------------------------------------------------------
# (b) Reads that start failing after N calls
# ----------------------------------------------------------------------------------------------


def workload(fs, path, view=True):
    """Opens a view (unless `view` is false: TF1 checkpoints) and a reader through `fs` and
    reads every tensor through both; returns what was read. Objects opened are closed even when
    something fails."""
    opened, values = [], {}
    try:
        if view:
            view = ckview.CheckpointView(path, filesystem=fs)
            opened.append(view)
            reader = view.reader()
            for key in reader.get_variable_to_shape_map():
                values["view", key] = reader.get_tensor(key)
        reader = ckview.load_checkpoint(path, filesystem=fs)
        opened.append(reader)
        for key in reader.get_variable_to_shape_map():
            values["reader", key] = reader.get_tensor(key)
        return values
    finally:
        for thing in opened:
            thing.close()
            thing.close()


@pytest.mark.parametrize("name", ["keras_adam", "sharded", "partitioned/model.ckpt", "manager/ckpt-3", "dtype_zoo"])
def test_reads_that_start_failing(fixtures_dir, memory_fs, name):
    fs, path = storage_path("memory", fixtures_dir, name, memory_fs)
    has_graph = name != "partitioned/model.ckpt"  # a TF1 checkpoint: a reader only
    counting = Tracking(fs)
    expected = workload(counting, path, has_graph)
    total = counting.reads
    assert total > 2 and counting.open_files == []

    # Every N up to the total for a small workload, else a spread of them.
    points = range(total) if total <= 60 else sorted({*range(0, 20), *np.linspace(0, total - 1, 40).astype(int)})
    for fail_after in points:
        failing = Tracking(fs, fail_after=fail_after)
        with pytest.raises(InjectedError) as caught:
            workload(failing, path, has_graph)
        assert any("ckview:" in note for note in getattr(caught.value, "__notes__", [])), fail_after
        assert failing.open_files == [] and failing.double_closes == 0, fail_after  # closed by close()

    failing = Tracking(fs)
    assert workload(failing, path, has_graph).keys() == expected.keys()


def test_objects_keep_working_after_a_failure(fixtures_dir, memory_fs):
    """A reader whose storage failed for a while reads again once it recovers, and can still be
    closed while failing."""
    fs, path = storage_path("memory", fixtures_dir, "keras_adam", memory_fs)
    expected = all_values(ckview.load_checkpoint(prefix_of(fixtures_dir, "keras_adam")))
    tracking = Tracking(fs)
    view = ckview.CheckpointView(path, filesystem=tracking)
    reader = view.reader()
    keys = list(reader.get_variable_to_shape_map())
    tracking.fail_after = tracking.reads
    for key, shape in reader.get_variable_to_shape_map().items():
        if key != GRAPH_KEY and 0 not in shape:  # an empty tensor reads nothing
            with pytest.raises(InjectedError):
                reader.get_tensor(key)
    tracking.fail_after = None
    for key in keys:
        if key != GRAPH_KEY:
            assert_identical(reader.get_tensor(key), expected[key], key)
    tracking.fail_after = tracking.reads
    view.close()
    assert tracking.open_files == []
    with pytest.raises(ValueError):
        reader.get_tensor(keys[0])


def test_open_failing_with_another_error_is_chained(fixtures_dir, memory_fs):
    """An open that fails for another reason than a missing file: ckview reports the checkpoint
    as not found, and the filesystem's exception is its cause."""
    fs, path = storage_path("memory", fixtures_dir, "doc_children", memory_fs)

    class Forbidden:
        def open(self, name, mode="rb"):
            raise PermissionError(errno.EACCES, "forbidden", name)

    with pytest.raises(ckview.CkviewError) as caught:
        ckview.CheckpointView(path, filesystem=Forbidden())
    assert isinstance(caught.value.__cause__, PermissionError)


# ----------------------------------------------------------------------------------------------
# (c) A file object that raises inside read
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_exception_raised_by_read_reaches_the_caller(fixtures_dir, memory_fs, error):
    fs, path = storage_path("memory", fixtures_dir, "dtype_zoo", memory_fs)

    def make(what):
        return error(what)

    tracking = Tracking(fs, fail_after=0, error=make)
    with pytest.raises(error):
        ckview.CheckpointView(path, filesystem=tracking)
    assert tracking.open_files == []

    tracking.fail_after = None
    reader = ckview.load_checkpoint(path, filesystem=tracking)
    # Empty tensors read nothing, so they cannot fail.
    keys = [key for key, shape in reader.get_variable_to_shape_map().items() if key != GRAPH_KEY and 0 not in shape]
    tracking.fail_after = tracking.reads
    for key in keys:
        with pytest.raises(error) as caught:
            reader.get_tensor(key)
        assert "read of" in str(caught.value)
    reader.close()
    assert tracking.open_files == []


def test_short_reads_and_errors_from_size(fixtures_dir, memory_fs):
    """A file object that returns fewer bytes than asked is read again; one that ends early
    is an OSError."""
    fs, path = storage_path("memory", fixtures_dir, "keras_adam", memory_fs)
    expected = all_values(ckview.load_checkpoint(prefix_of(fixtures_dir, "keras_adam")))

    class Trickle:
        def __init__(self, file):
            self._file = file

        def seek(self, offset, whence=0):
            return self._file.seek(offset, whence)

        def read(self, length):
            return self._file.read(min(length, 3))

        def close(self):
            self._file.close()

    class TrickleFS:
        def open(self, name, mode="rb"):
            return Trickle(fs.open(name, mode))

    with ckview.load_checkpoint(path, filesystem=TrickleFS()) as reader:
        for key, value in all_values(reader).items():
            assert_identical(value, expected[key], key)

    class Truncated(Trickle):
        size = 10 ** 6  # claims more than it holds

        def read(self, length):
            return self._file.read(length)

    class TruncatedFS:
        def open(self, name, mode="rb"):
            return Truncated(fs.open(name, mode))

    with pytest.raises((OSError, ckview.CkviewError)):
        with ckview.load_checkpoint(path, filesystem=TruncatedFS()) as reader:
            all_values(reader)


# ----------------------------------------------------------------------------------------------
# (d) Memory maps
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES + ["big_endian/zoo"])
def test_mmap_gives_the_same_values(fixtures_dir, name):
    path = prefix_of(fixtures_dir, name)
    with ckview.load_checkpoint(path) as local, ckview.load_checkpoint(path, mmap=True) as mapped:
        assert mapped.get_variable_to_shape_map() == local.get_variable_to_shape_map()
        expected = all_values(local)
        for key, value in all_values(mapped).items():
            assert_identical(value, expected[key], key)
        for key in expected:
            assert_identical(mapped.get_tensor(key, verify=False), expected[key], key)
    local_view, mapped_view = open_view(path), open_view(path, mmap=True)
    if local_view is ckview.NameBasedCheckpointError:
        assert mapped_view is ckview.NameBasedCheckpointError
        return
    with local_view, mapped_view:
        assert graph_of(mapped_view) == graph_of(local_view)
        for key, value in all_values(mapped_view.reader()).items():
            assert_identical(value, expected[key], key)


def test_mmap_values_outlive_the_reader(fixtures_dir, tmp_path):
    """Values read from a map are copies: they stay valid after the reader is closed and the
    files are gone."""
    shutil.copytree(fixtures_dir / "dtype_zoo", tmp_path / "zoo")
    path = str(tmp_path / "zoo" / "zoo")
    with ckview.load_checkpoint(path) as local:
        expected = all_values(local)
    with ckview.load_checkpoint(path, mmap=True) as mapped:
        values = all_values(mapped)
    shutil.rmtree(tmp_path / "zoo")
    for key, value in values.items():
        assert_identical(value, expected[key], key)


def test_shard_that_cannot_be_opened(fixtures_dir):
    """The index opens but the data shard does not: the filesystem's own exception, from the
    call that needed the shard."""
    local = fsspec.filesystem("file")

    class NoShards:
        def open(self, name, mode="rb"):
            if ".data-" in name:
                raise PermissionError(errno.EACCES, "forbidden", name)
            return local.open(name, mode)

    path = prefix_of(fixtures_dir, "keras_adam")
    with ckview.load_checkpoint(path, filesystem=NoShards()) as reader:
        key = next(k for k, shape in reader.get_variable_to_shape_map().items() if k != GRAPH_KEY and shape)
        with pytest.raises(PermissionError):
            reader.get_tensor(key)
    with pytest.raises(PermissionError):
        ckview.CheckpointView(path, filesystem=NoShards())


def test_callbacks_and_files_live_as_long_as_the_reader(fixtures_dir, memory_fs):
    """The binding keeps the filesystem, its callbacks and its files alive: collecting
    everything else changes nothing, and dropping the reader closes every file."""
    import gc

    fs, path = storage_path("memory", fixtures_dir, "keras_adam", memory_fs)
    expected = all_values(ckview.load_checkpoint(prefix_of(fixtures_dir, "keras_adam")))
    tracking = Tracking(fs)
    view = ckview.CheckpointView(path, filesystem=tracking)
    reader = view.reader()
    del view
    gc.collect()
    for key, value in all_values(reader).items():
        assert_identical(value, expected[key], key)
    assert tracking.open_files
    del reader
    gc.collect()
    assert tracking.open_files == [] and tracking.double_closes == 0

"""`CheckpointView`: a drop-in for `tf.train.CheckpointView`, over libckview."""

from __future__ import annotations

import ctypes
from ctypes import byref, c_size_t, c_uint32, c_void_p, string_at

from . import _io, _native
from ._native import lib
from ._managed import Handle, Managed
from .errors import CkviewError, raise_for

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

    from .reader import CheckpointReader

    ChildrenFunction = Callable[[Any], Mapping[str, Any]]


def _tensorflow_children():
    """TensorFlow's own children function, used when the caller gives none."""
    try:
        import tensorflow as tf
    except ImportError as error:
        raise TypeError(
            "pass children= (a callable obj -> Mapping[str, object]); TensorFlow, whose "
            "TrackableView.children is the default, is not importable"
        ) from error
    return tf.train.TrackableView.children, tf.__internal__.tracking.Trackable




def _borrowed_array(function, view, node, structure):
    """`(pointer, count)` of the array `function(view, node, &array, &count)` borrows from the
    view: valid until the view is closed; the pointer must not be read when count is 0."""
    items, count = ctypes.POINTER(structure)(), c_size_t()
    raise_for(function(view, node, byref(items), byref(count)))
    return items, count.value


class _PathBuffer:
    """A buffer reused across `ckview_path` calls, grown when a path does not fit: one call per
    path instead of a length query and a copy."""

    def __init__(self, size=256):
        self._buffer = ctypes.create_string_buffer(size)
        self._length = c_size_t()

    def path(self, view, node):
        """The path of `node`, or None when it is unreachable."""
        while True:
            status = lib.ckview_path(view, node, self._buffer, len(self._buffer), byref(self._length))
            if status == _native.OK:
                return string_at(self._buffer, self._length.value).decode("utf-8")
            if status == _native.NODE_UNREACHABLE:
                return None
            if status != _native.BUFFER_TOO_SMALL:
                raise_for(status)
            self._buffer = ctypes.create_string_buffer(self._length.value + 1)


class CheckpointView(Managed):
    """The object graph of a TF2 checkpoint, as `tf.train.CheckpointView(save_path)` gives it.

    `save_path` may be the prefix, a directory holding a `checkpoint` state file, the `.index`
    file or a data shard. A TF1 name-based checkpoint raises `ValueError`
    (`ckview.NameBasedCheckpointError`); other bad files raise `ckview.CkviewError`.

    `mmap=True` memory-maps the data shards, so that `reader().get_tensor(key, copy=False)` can
    return their bytes without a copy (a file that shrinks or fails under the map can then kill
    the process with SIGBUS).
    `filesystem` reads the checkpoint through any object with `open(path, "rb")` returning a
    file object with `seek`, `read` and `close`, such as an fsspec filesystem (gcsfs, s3fs,
    `fsspec.filesystem("memory")`); paths are given to it as `str`. An exception the
    filesystem or its files raise propagates from the call that needed the read.
    """

    def __init__(self, save_path: Any, *, mmap: bool = False, filesystem: Any = None) -> None:
        self._mmap = bool(mmap)
        self._children_columns = None  # (node starts, names, child ids): children() copies them once
        # The storage (when filesystem= is given) holds the callbacks and the open files; the
        # handle keeps it past the ckview_close that closes the files.
        pointer, self._storage = _io.open_handle(lib.ckview_open_with, save_path, mmap, filesystem)
        self._handle = Handle(pointer, lib.ckview_close, "CheckpointView", keep=self._storage)
        count = c_size_t()
        with self._handle as view:
            raise_for(lib.ckview_node_count(view, byref(count)))
        self._num_nodes = count.value

    def _node(self, node_id):
        """A node id as TensorFlow indexes its node list (negative ids count from the end)."""
        index = int(node_id)
        if index < 0:
            index += self._num_nodes
        if not 0 <= index < self._num_nodes:
            raise IndexError("list index out of range")
        return index

    # The object graph -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._num_nodes

    def children(self, node_id: int) -> Dict[str, int]:
        """`{local_name: child_node_id}` of a node, in TensorFlow's order."""
        # The hot path (a call per node of a graph): every node's children are copied out of the
        # view in one call, on the first use, and each call slices them: no ctypes call per node.
        node = node_id if type(node_id) is int and 0 <= node_id < self._num_nodes else self._node(node_id)
        if self._handle._closed:
            raise ValueError("this CheckpointView is closed")
        columns = self._children_columns or self._copy_children()
        starts, names, ids = columns
        start, end = starts[node], starts[node + 1]
        return dict(zip(names[start:end], ids[start:end]))

    def _copy_children(self):
        """`(node starts, names, child ids)` of every node, from one `ckview_all_children` call."""
        table = _native.ChildrenColumns()
        with self._handle as view:  # the columns are borrowed from the view: copy them before letting go
            raise_for(lib.ckview_all_children(view, byref(table)))
            starts = _native.column(table.node_starts, table.node_count + 1)
            edges = starts[-1]
            ends = _native.column(table.name_ends, edges)
            ids = _native.column(table.child_ids, edges, "I")
            blob = string_at(table.names, ends[-1]) if edges else b""
        names = _native.split_text(blob, ends)
        self._children_columns = columns = (starts, names, ids)
        return columns

    def descendants(self) -> List[int]:
        """Node 0 and every node reachable from it, breadth first."""
        ids = ctypes.POINTER(c_uint32)()
        count = c_size_t()
        with self._handle as view:
            raise_for(lib.ckview_descendants(view, byref(ids), byref(count)))
            return ids[: count.value]

    def path(self, node_id: int) -> Optional[str]:
        """The dotted path of a node (`root.leaf.a_var`), or None when it is unreachable."""
        node = self._node(node_id)
        with self._handle as view:
            return _PathBuffer().path(view, node)

    def _descendants_with_paths(self) -> Dict[int, str]:
        """`{node_id: path}` in `descendants()` order, as TensorFlow's private method gives it."""
        ids, count = ctypes.POINTER(c_uint32)(), c_size_t()
        paths, ends = c_void_p(), c_void_p()
        with self._handle as view:  # both arrays are borrowed from the view, and the paths too
            raise_for(lib.ckview_descendants(view, byref(ids), byref(count)))
            raise_for(lib.ckview_descendant_paths(view, byref(paths), byref(ends), byref(count)))
            count = count.value
            if not count:
                return {}
            nodes = ids[:count]
            ends = _native.column(ends, count)
            blob = string_at(paths, ends[-1])
        return dict(zip(nodes, _native.split_text(blob, ends)))

    def attributes(self, node_id: int) -> List[Dict[str, str]]:
        """The node's serialized tensors: dicts with `name`, `full_name` and `checkpoint_key`."""
        return self._records(node_id, lib.ckview_attributes, _native.Attribute, lambda a: {
            "name": a.name.text(), "full_name": a.full_name.text(), "checkpoint_key": a.checkpoint_key.text()})

    def slot_variables(self, node_id: int) -> List[Dict[str, Any]]:
        """The optimizer slot variables recorded on the node (legacy Keras optimizers)."""
        return self._records(node_id, lib.ckview_slot_variables, _native.SlotVariable, lambda s: {
            "original_variable_node_id": s.original_variable_node_id, "slot_name": s.slot_name.text(),
            "slot_variable_node_id": s.slot_variable_node_id})

    def _records(self, node_id, function, structure, convert):
        """The node's array from one call of `function`, each record converted."""
        node = self._node(node_id)
        with self._handle as view:
            records, count = _borrowed_array(function, view, node, structure)
            return [convert(record) for record in records[:count]]

    # Tensors -------------------------------------------------------------------------------

    def reader(self) -> CheckpointReader:
        """A `CheckpointReader` over this view's bundle. It raises "this CheckpointView is
        closed" once the view is closed; closing it leaves the view open."""
        from .reader import CheckpointReader

        handle = c_void_p()
        with self._handle as view:
            raise_for(lib.ckview_reader_of_view(view, byref(handle)))
        return CheckpointReader(_borrowed=Handle(handle, None, "CheckpointReader", parent=self._handle), _owner=self)

    def tensor(self, node_id: int, attribute: str = "VARIABLE_VALUE") -> Any:
        """The value of a node's serialized tensor (by default a variable's value). An attribute
        stored as several tensors (a table's `-keys` and `-values`) raises ValueError: read it
        with `attribute_tensors`."""
        values = self.attribute_tensors(node_id, attribute)
        if len(values) == 1:
            return next(iter(values.values()))
        if not values:
            raise KeyError(f"node {node_id}'s attribute {attribute!r} has no tensor in the checkpoint")
        raise ValueError(f"node {node_id}'s attribute {attribute!r} is stored as {len(values)} tensors "
                         f"({', '.join(values)}): read them with attribute_tensors()")

    def attribute_tensors(self, node_id: int, attribute: str = "VARIABLE_VALUE") -> Dict[str, Any]:
        """`{key: value}` of the tensors a node's attribute is stored as, in key order: a
        variable's one tensor under its `checkpoint_key`; the `-keys` and `-values` tensors of a
        `MutableHashTable` or `DenseHashTable` under its `checkpoint_key` plus those suffixes;
        empty when the checkpoint has none of them."""
        from .reader import _Listing

        names = [record["name"] for record in self.attributes(node_id)]
        if attribute not in names:
            raise KeyError(f"node {node_id} has no attribute {attribute!r}")
        with self._handle as view:
            tensors, error = c_void_p(), c_void_p()
            args = (view, self._node(node_id), names.index(attribute), byref(tensors), byref(error))
            if self._storage is None:
                status, raised = lib.ckview_attribute_tensors(*args), ()
            else:
                status, raised = self._storage.call(lib.ckview_attribute_tensors, *args)
            _io.check(status, error, raised)
            try:
                table = _native.TensorTable()
                raise_for(lib.ckview_tensor_list_table(tensors, byref(table)))
                keys = _Listing(table).keys
            finally:
                lib.ckview_tensor_list_free(tensors)
        reader = self.reader()
        return {key: reader.get_tensor(key) for key in keys}

    # Comparing with live objects ------------------------------------------------------------

    def match(self, obj: Any, children: Optional[ChildrenFunction] = None) -> Dict[int, Any]:
        """`{node_id: live object}`: what each checkpoint node restores into.

        `children(obj)` returns an object's named children (`Mapping[str, object]`); it defaults
        to TensorFlow's `tf.train.TrackableView.children`. Each object is asked at most once;
        an exception it raises propagates unchanged.
        """
        return self._compare(obj, children, diff=False)[0]

    def diff(self, obj: Any, children: Optional[ChildrenFunction] = None) -> Tuple[Dict[int, Any], List[int], List[Any]]:
        """`(match, node ids only in the checkpoint, live objects only in obj's graph)`."""
        return self._compare(obj, children, diff=True)[:3]

    def inconsistent_references(self, obj: Any, children: Optional[ChildrenFunction] = None) -> List[Tuple[int, Any, Any]]:
        """`[(node_id, matched object, other object)]` for every checkpoint node reached as two
        different live objects, which TensorFlow only logs as a warning."""
        return self._compare(obj, children, diff=False)[3]

    def _compare(self, obj, children, diff):
        if children is None:
            children, trackable = _tensorflow_children()
            if not isinstance(obj, trackable):
                raise ValueError(f"Expected a Trackable, got {obj} of type {type(obj)}.")
        objects = [obj]  # handle -> object; keeps every object alive, so ids stay unique
        handles = {id(obj): 0}
        raised = []

        def handle_of(child):
            handle = handles.get(id(child))
            if handle is None:
                handle = handles[id(child)] = len(objects)
                objects.append(child)
            return handle

        def list_children(_userdata, handle, sink):
            try:
                for name, child in children(objects[handle]).items():
                    if not isinstance(name, str):
                        raise TypeError(f"child names must be str, got {name!r}")
                    encoded = name.encode("utf-8", "surrogatepass")
                    raise_for(lib.ckview_child_sink_add(sink, encoded, len(encoded), handle_of(child)))
                return 0
            except BaseException as error:  # re-raised after the C call returns
                raised.append(error)
                return 1

        callback = _native.CHILDREN_CALLBACK(list_children)
        comparison, error = c_void_p(), c_void_p()
        run = lib.ckview_diff if diff else lib.ckview_match
        # The callback may close this view (or another thread may): the handle is freed only
        # once this call lets go of it.
        with self._handle as view:
            status = run(view, 0, callback, None, byref(comparison), byref(error))
        if raised:
            if error.value:
                lib.ckview_error_free(error)
            if comparison.value:
                lib.ckview_comparison_free(comparison)
            raise raised[0]
        raise_for(status, error)
        try:
            return self._read_comparison(comparison, objects)
        finally:
            lib.ckview_comparison_free(comparison)

    @staticmethod
    def _read_comparison(comparison, objects):
        def borrowed(function, item_type):
            items, count = ctypes.POINTER(item_type)(), c_size_t()
            raise_for(function(comparison, byref(items), byref(count)))
            return items[: count.value]

        matched = {pair.node_id: objects[pair.object] for pair in borrowed(lib.ckview_comparison_matched, _native.MatchedPair)}
        only_in_checkpoint = borrowed(lib.ckview_comparison_only_in_checkpoint, ctypes.c_uint32)
        only_in_live = [objects[handle] for handle in borrowed(lib.ckview_comparison_only_in_live, ctypes.c_uint64)]
        conflicts = [
            (c.node_id, objects[c.matched_object], objects[c.other_object])
            for c in borrowed(lib.ckview_comparison_conflicts, _native.Conflict)
        ]
        return matched, only_in_checkpoint, only_in_live, conflicts


__all__ = ["CheckpointView", "CkviewError"]

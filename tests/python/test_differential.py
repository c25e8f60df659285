"""ckview's Python binding against TensorFlow 2.21 itself, on the same checkpoints and the same
live objects: `children`, `descendants`, `_descendants_with_paths`, `match` and `diff` must give
TensorFlow's answers exactly, order included, and hold the caller's very objects (identity).

* the two examples of the `tf.train.CheckpointView` documentation, verbatim;
* several hundred generated object graphs (seeded: a failure names its seed and both graphs);
* tf_keras models with legacy optimizers that own slot variables;
* exceptions raised while listing children, TF1 name-based checkpoints, the call count of a
  custom `children` callable, and closing a view.

TensorFlow only logs "Inconsistent references" while matching; the tests capture those events
(with the objects involved) and compare them with `CheckpointView.inconsistent_references`.
"""

import collections
import contextlib
import random
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import ckview

MODULE, VAR, LIST, DICT = "module", "var", "list", "dict"
CONTAINERS = (MODULE, LIST, DICT)
# Lists and dicts cannot reach themselves through other lists and dicts: TensorFlow's attribute
# sentinels recurse forever on such a cycle. Cycles through a tf.Module are fine.
WRAPPERS = (LIST, DICT)

# Child names: plain, with dots and slashes (which TF escapes in keys, never in names), empty,
# non-ASCII, names that look like list indices, and "root"/"save_counter" (below the root only).
NAMES = (
    "a", "b", "c", "v", "w", "kernel", "bias", "leaf", "child", "x1", "vars", "0", "1", "2",
    "layer.0", "a.b", "weights/kernel", "x/y/z", "..", "/", "", "ü", "名前", "emoji😀",
    "sp ace", "_hidden", "root", "save_counter",
)
ROOT_RESERVED = {"root", "save_counter"}  # tf.train.Checkpoint(root) adds these to the root

NUM_GRAPHS = 400
KERAS_SEEDS = range(8)

# TensorFlow's own children function, taken before any test patches TrackableView.children.
TF_CHILDREN = tf.train.TrackableView.children


# ----------------------------------------------------------------------------------------------
# TensorFlow as the oracle
# ----------------------------------------------------------------------------------------------

_TF_CHECKPOINT_VIEW_MODULE = sys.modules[tf.train.CheckpointView.__module__]


class _InconsistentReferenceRecorder:
    """Stands in for the `logging` module of TF's checkpoint_view during one TF call.

    `CheckpointView.match` logs "Inconsistent references ..." from inside its loop; the recorder
    reads the loop's locals to keep the node id and the two objects, not just their reprs.
    """

    def __init__(self, real_logging):
        self._real = real_logging
        self.events = []

    def warning(self, message, *args, **kwargs):
        if isinstance(message, str) and message.startswith("Inconsistent references"):
            frame = sys._getframe(1)
            try:
                scope = frame.f_locals
                self.events.append((
                    scope["child_node_id"],
                    scope["current_assignment"],
                    scope["trackable_children"][scope["child_name"]],
                ))
            finally:
                del frame
            return
        self._real.warning(message, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@contextlib.contextmanager
def tf_recording():
    """Captures TF's "Inconsistent references" events as (node_id, first, other)."""
    real = _TF_CHECKPOINT_VIEW_MODULE.logging
    recorder = _InconsistentReferenceRecorder(real)
    _TF_CHECKPOINT_VIEW_MODULE.logging = recorder
    try:
        yield recorder.events
    finally:
        _TF_CHECKPOINT_VIEW_MODULE.logging = real


@contextlib.contextmanager
def tf_children(children):
    """Makes TensorFlow's own match/diff use `children` in place of TrackableView.children."""
    if children is None:
        yield
        return
    original = tf.train.TrackableView.__dict__["children"]
    tf.train.TrackableView.children = staticmethod(children)
    try:
        yield
    finally:
        tf.train.TrackableView.children = original


def tf_match(tf_view, live, children=None):
    with tf_children(children), tf_recording() as events:
        result = tf_view.match(live)
    return result, events


def tf_diff(tf_view, live, children=None):
    with tf_children(children), tf_recording():
        return tf_view.diff(live)


# ----------------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------------


class Labels:
    """Names live objects by their path from a root (TF's breadth-first paths) for messages."""

    def __init__(self, *roots):
        self._by_id = {}
        for root in roots:
            try:
                _, paths = tf.train.TrackableView(root)._descendants_with_paths()
            except Exception:  # a graph whose children raise: fall back to ids
                continue
            for obj in paths:
                path = "root" + "".join(f"[{ref.name!r}]" for ref in paths[obj])
                self._by_id.setdefault(id(obj), path)

    def __call__(self, obj):
        name = self._by_id.get(id(obj), "?")
        return f"{type(obj).__name__}@{id(obj):#x}({name})"


def assert_same_graph(tf_view, ours):
    """children(n) for every node, descendants() and _descendants_with_paths(), ordered."""
    num_nodes = len(tf_view._object_graph_proto.nodes)
    for node_id in range(num_nodes):
        theirs = tf_view.children(node_id)
        mine = ours.children(node_id)
        assert isinstance(mine, dict), f"children({node_id}) is a {type(mine)}, not a dict"
        assert list(mine.items()) == list(theirs.items()), (
            f"children({node_id}):\n  ckview {list(mine.items())}\n  TF     {list(theirs.items())}")
    theirs = tf_view.descendants()
    mine = ours.descendants()
    assert isinstance(mine, list), f"descendants() is a {type(mine)}, not a list"
    assert mine == theirs, f"descendants():\n  ckview {mine}\n  TF     {theirs}"
    theirs = list(tf_view._descendants_with_paths().items())
    mine = list(ours._descendants_with_paths().items())
    assert mine == theirs, f"_descendants_with_paths():\n  ckview {mine}\n  TF     {theirs}"


def assert_same_match(mine, theirs, label, what):
    assert isinstance(mine, dict), f"{what}: a {type(mine)}, not a dict"
    assert all(type(node_id) is int for node_id in mine), f"{what}: non-int node ids {list(mine)}"
    assert list(mine) == list(theirs), (
        f"{what}: node ids in order:\n  ckview {list(mine)}\n  TF     {list(theirs)}")
    wrong = [node_id for node_id in theirs if mine[node_id] is not theirs[node_id]]
    assert not wrong, f"{what}: other objects than TF's:\n" + "\n".join(
        f"  node {n}: ckview {label(mine[n])}, TF {label(theirs[n])}" for n in wrong)


def assert_same_objects(mine, theirs, label, what):
    assert isinstance(mine, list), f"{what}: a {type(mine)}, not a list"
    same = len(mine) == len(theirs) and all(a is b for a, b in zip(mine, theirs))
    assert same, (f"{what}:\n  ckview {[label(o) for o in mine]}\n  TF     {[label(o) for o in theirs]}")


def compare_live(tf_view, ours, live, children=None):
    """match, diff and inconsistent_references of `ours` against TensorFlow's on `live`.

    `children` None: ckview's default (TF's TrackableView.children) against TF as it is;
    otherwise the callable is given to ckview and also patched into TF for TF's run.
    Returns (TF's diff, TF's inconsistent-reference events).
    """
    label = Labels(live)
    kwargs = {} if children is None else {"children": children}

    their_match, their_events = tf_match(tf_view, live, children)
    assert_same_match(ours.match(live, **kwargs), their_match, label, "match()")

    their_diff = tf_diff(tf_view, live, children)
    mine = ours.diff(live, **kwargs)
    assert isinstance(mine, tuple) and len(mine) == 3, f"diff() returned {type(mine)} {mine!r}"
    assert_same_match(mine[0], their_diff[0], label, "diff()[0]")
    assert isinstance(mine[1], list), f"diff()[1] is a {type(mine[1])}"
    assert mine[1] == their_diff[1], f"diff()[1]:\n  ckview {mine[1]}\n  TF     {their_diff[1]}"
    assert_same_objects(mine[2], their_diff[2], label, "diff()[2]")

    conflicts = ours.inconsistent_references(live, **kwargs)
    assert isinstance(conflicts, list)
    same = len(conflicts) == len(their_events) and all(
        len(c) == 3 and c[0] == e[0] and c[1] is e[1] and c[2] is e[2]
        for c, e in zip(conflicts, their_events))
    assert same, (
        "inconsistent_references():\n  ckview "
        + repr([(c[0], label(c[1]), label(c[2])) for c in conflicts])
        + "\n  TF     " + repr([(e[0], label(e[1]), label(e[2])) for e in their_events]))
    return their_diff, their_events


@contextlib.contextmanager
def explained(context):
    """Appends `context` (seed, graphs) to any assertion failure inside."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{error}\n\n{context()}") from None


# ----------------------------------------------------------------------------------------------
# The documentation's examples, verbatim
# ----------------------------------------------------------------------------------------------


class SimpleModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_var = tf.Variable(5.0)
        self.b_var = tf.Variable(4.0)
        self.vars = [tf.Variable(1.0), tf.Variable(2.0)]


DOC_LISTING = [
    "- name: 'a_var', node_id: 1",
    "- name: 'b_var', node_id: 2",
    "- name: 'vars', node_id: 3",
    "- name: 'leaf', node_id: 4",
    "- name: 'root', node_id: 0",
    "- name: 'save_counter', node_id: 5",
]


def test_doc_example_children(tmp_path):
    root = SimpleModule(name="root")
    root.leaf = SimpleModule(name="leaf")
    ckpt = tf.train.Checkpoint(root)
    save_path = ckpt.save(str(tmp_path / "tf_ckpts"))
    checkpoint_view = tf.train.CheckpointView(save_path)

    with ckview.CheckpointView(save_path) as ours:
        listing = [f"- name: '{name}', node_id: {node_id}" for name, node_id in ours.children(0).items()]
        assert listing == DOC_LISTING
        assert listing == [
            f"- name: '{name}', node_id: {node_id}"
            for name, node_id in checkpoint_view.children(0).items()
        ]
        assert_same_graph(checkpoint_view, ours)
        compare_live(checkpoint_view, ours, root)  # the saved objects themselves
        # The saved objects match every node but save_counter, which the Checkpoint owns.
        assert ours.diff(root)[1] == [5]
        assert ours.inconsistent_references(root) == []


def test_doc_example_match_and_diff(tmp_path):
    root = SimpleModule(name="root")
    leaf = root.leaf = SimpleModule(name="leaf")
    leaf.leaf3 = tf.Variable(6.0, name="leaf3")
    leaf.leaf4 = tf.Variable(7.0, name="leaf4")
    ckpt = tf.train.Checkpoint(root)
    save_path = ckpt.save(str(tmp_path / "tf_ckpts"))
    checkpoint_view = tf.train.CheckpointView(save_path)

    root2 = SimpleModule(name="root")
    leaf2 = root2.leaf2 = SimpleModule(name="leaf2")
    leaf2.leaf3 = tf.Variable(6.0)
    leaf2.leaf4 = tf.Variable(7.0)

    with ckview.CheckpointView(save_path) as ours:
        assert_same_graph(checkpoint_view, ours)
        checkpoint_view_match = ours.match(root2)
        expected = [(0, root2), (1, root2.a_var), (2, root2.b_var), (3, root2.vars),
                    (6, root2.vars[0]), (7, root2.vars[1])]
        assert list(checkpoint_view_match) == [node_id for node_id, _ in expected]
        assert all(checkpoint_view_match[node_id] is obj for node_id, obj in expected)

        checkpoint_view_diff = ours.diff(root2)
        assert list(checkpoint_view_diff[0]) == [0, 1, 2, 3, 6, 7]
        assert all(checkpoint_view_diff[0][node_id] is obj for node_id, obj in expected)
        only_in_checkpoint_view = checkpoint_view_diff[1]
        assert only_in_checkpoint_view == [4, 5, 8, 9, 10, 11, 12, 13, 14]
        only_in_trackable = checkpoint_view_diff[2]
        expected_only = [leaf2, leaf2.a_var, leaf2.b_var, leaf2.vars, leaf2.leaf3, leaf2.leaf4,
                         leaf2.vars[0], leaf2.vars[1]]
        assert len(only_in_trackable) == len(expected_only)
        assert all(a is b for a, b in zip(only_in_trackable, expected_only))

        # And all of it exactly as TensorFlow answers.
        assert tf_diff(checkpoint_view, root2)[1] == [4, 5, 8, 9, 10, 11, 12, 13, 14]
        compare_live(checkpoint_view, ours, root2)
        compare_live(checkpoint_view, ours, root2, children=tf.train.TrackableView.children)


@pytest.mark.parametrize("fixture,prefix", [
    ("doc_children", "tf_ckpts-1"),
    ("doc_diff", "tf_ckpts-1"),
    ("cycles_and_shared", "graph"),
    ("keras_adam", "model"),
    ("manager", "ckpt-3"),
    ("crafted_graph", "crafted"),
])
def test_stored_fixture_graph(fixtures_dir, fixture, prefix):
    path = str(fixtures_dir / fixture / prefix)
    with ckview.CheckpointView(path) as ours:
        assert_same_graph(tf.train.CheckpointView(path), ours)


# ----------------------------------------------------------------------------------------------
# Generated object graphs
# ----------------------------------------------------------------------------------------------


class Spec:
    """An object graph on paper: node 0 is the root module; `edges[i]` lists node i's children
    as (name, target) in assignment order (name None for list items)."""

    def __init__(self, kinds=(), edges=()):
        self.kinds = list(kinds)
        self.edges = [list(node_edges) for node_edges in edges]

    def copy(self):
        return Spec(self.kinds, self.edges)

    def add(self, kind):
        self.kinds.append(kind)
        self.edges.append([])
        return len(self.kinds) - 1

    def of_kind(self, *kinds):
        return [i for i, kind in enumerate(self.kinds) if kind in kinds]

    def fresh_name(self, rng, node):
        used = {name for name, _ in self.edges[node]}
        pool = [n for n in NAMES if n not in used and not (node == 0 and n in ROOT_RESERVED)]
        if pool and rng.random() < 0.9:
            return rng.choice(pool)
        while True:
            name = f"n{rng.randrange(10_000)}"
            if name not in used:
                return name

    def link(self, rng, parent, child):
        """Adds parent -> child unless it would close a list/dict-only cycle."""
        if self.kinds[parent] in WRAPPERS and self.kinds[child] in WRAPPERS and self.reaches(child, parent):
            return False
        name = None if self.kinds[parent] == LIST else self.fresh_name(rng, parent)
        self.edges[parent].append((name, child))
        return True

    def reaches(self, start, goal):
        """Whether goal is reachable from start through lists and dicts only."""
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node in seen:
                continue
            seen.add(node)
            stack.extend(t for _, t in self.edges[node] if self.kinds[t] in WRAPPERS)
        return False

    def has_wrapper_cycle(self):
        return any(
            self.kinds[node] in WRAPPERS and self.kinds[t] in WRAPPERS and self.reaches(t, node)
            for node in range(len(self.kinds)) for _, t in self.edges[node])

    def parents(self):
        """target -> [(parent, edge index)] over every edge."""
        result = collections.defaultdict(list)
        for node, node_edges in enumerate(self.edges):
            for index, (_, target) in enumerate(node_edges):
                result[target].append((node, index))
        return result

    def reachable(self):
        seen, stack = {0}, [0]
        while stack:
            for _, target in self.edges[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def dump(self):
        lines = []
        for node, kind in enumerate(self.kinds):
            items = ", ".join(
                (f"{name!r}" if name is not None else "[]") + f"->{target}" for name, target in self.edges[node])
            lines.append(f"  {node} {kind}: {items}")
        return "\n".join(lines)


def generate(rng):
    spec = Spec()
    spec.add(MODULE)
    for _ in range(rng.randint(4, 44)):
        kind = rng.choices((MODULE, VAR, LIST, DICT), weights=(32, 42, 13, 13))[0]
        parent = rng.choice(spec.of_kind(*CONTAINERS))
        spec.link(rng, parent, spec.add(kind))
    # Shared objects: one more reference to an existing node.
    for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
        spec.link(rng, rng.choice(spec.of_kind(*CONTAINERS)), rng.randrange(1, len(spec.kinds)))
    modules = spec.of_kind(MODULE)
    if len(modules) >= 2 and rng.random() < 0.35:  # a.b = b; b.a = a
        a, b = rng.sample(modules, 2)
        spec.link(rng, a, b)
        spec.link(rng, b, a)
    if rng.random() < 0.3:  # a reference back to the root
        spec.link(rng, rng.choice(spec.of_kind(*CONTAINERS)), 0)
    if rng.random() < 0.1:  # a module that is its own child
        module = rng.choice(modules)
        spec.link(rng, module, module)
    return spec


# Mutations turning the saved graph into a live graph that differs; each edits `spec` in place
# and returns whether it changed anything.


def mutate_rename(rng, spec):
    named = [(n, i) for n, es in enumerate(spec.edges) for i, (name, _) in enumerate(es) if name is not None]
    if not named:
        return False
    node, index = rng.choice(named)
    spec.edges[node][index] = (spec.fresh_name(rng, node), spec.edges[node][index][1])
    return True


def mutate_delete(rng, spec):
    edges = [(n, i) for n, es in enumerate(spec.edges) for i in range(len(es))]
    if not edges:
        return False
    node, index = rng.choice(edges)
    del spec.edges[node][index]
    return True


def mutate_add(rng, spec):
    parent = rng.choice(spec.of_kind(*CONTAINERS))
    child = spec.add(rng.choice((VAR, VAR, MODULE, LIST, DICT)))
    if spec.kinds[child] != VAR and rng.random() < 0.6:
        spec.link(rng, child, spec.add(VAR))
    return spec.link(rng, parent, child)


def mutate_share(rng, spec):
    """One more reference to an existing object (the root included)."""
    return spec.link(rng, rng.choice(spec.of_kind(*CONTAINERS)), rng.randrange(len(spec.kinds)))


def mutate_list_items(rng, spec):
    lists = spec.of_kind(LIST)
    if not lists:
        return False
    node = rng.choice(lists)
    if spec.edges[node] and rng.random() < 0.5:
        del spec.edges[node][rng.randrange(len(spec.edges[node]))]  # later items shift down
        return True
    target = spec.add(VAR) if rng.random() < 0.6 else rng.randrange(1, len(spec.kinds))
    return spec.link(rng, node, target)


def mutate_split_shared(rng, spec):
    """A node reached under two edges becomes two objects: one edge gets a copy."""
    parents = spec.parents()
    shared = [t for t, ps in parents.items() if t != 0 and len(ps) >= 2]
    if not shared:
        return False
    target = rng.choice(shared)
    parent, index = rng.choice(parents[target])
    copy = spec.add(spec.kinds[target])
    spec.edges[copy] = list(spec.edges[target])
    spec.edges[parent][index] = (spec.edges[parent][index][0], copy)
    return True


def mutate_kind(rng, spec):
    """A node becomes another kind; modules and dicts keep their names, a list becomes a module
    with attributes named '0', '1', ...; anything may become a variable."""
    node = rng.randrange(1, len(spec.kinds))
    kind = spec.kinds[node]
    if kind == VAR:
        spec.kinds[node] = rng.choice((MODULE, DICT, LIST))
        if rng.random() < 0.7:
            spec.link(rng, node, spec.add(VAR))
    elif kind == LIST and rng.random() < 0.6:
        spec.kinds[node] = MODULE
        spec.edges[node] = [(str(i), t) for i, (_, t) in enumerate(spec.edges[node])]
    elif kind in (MODULE, DICT) and rng.random() < 0.6:
        spec.kinds[node] = DICT if kind == MODULE else MODULE
    else:
        spec.kinds[node] = VAR
        spec.edges[node] = []
    return True


def mutate_reorder(rng, spec):
    nodes = [n for n, es in enumerate(spec.edges) if len(es) >= 2]
    if not nodes:
        return False
    node = rng.choice(nodes)
    before = list(spec.edges[node])
    rng.shuffle(spec.edges[node])
    return spec.edges[node] != before


MUTATIONS = (
    mutate_rename, mutate_delete, mutate_add, mutate_share, mutate_list_items,
    mutate_split_shared, mutate_split_shared, mutate_kind, mutate_reorder,
)


class Case:
    """Everything a seed decides, drawn without TensorFlow."""

    def __init__(self, seed):
        rng = random.Random(seed)
        self.seed = seed
        self.saved = generate(rng)
        self.save_with = rng.choice(("write", "save"))
        draw = rng.random()
        self.mutations = []
        if draw < 0.1:
            self.live = None  # the saved objects themselves
        else:
            self.live = self.saved.copy()
            if draw >= 0.25:  # else: the same structure, built fresh
                wanted, attempts = rng.randint(1, 4), 0
                while len(self.mutations) < wanted and attempts < 40:
                    attempts += 1
                    mutation = rng.choice(MUTATIONS)
                    trial = self.live.copy()
                    if mutation(rng, trial) and not trial.has_wrapper_cycle():
                        self.live = trial
                        self.mutations.append(mutation.__name__)
        # Which children function ckview is given.
        self.children_mode = rng.choices(("default", "explicit", "filtered"), weights=(70, 18, 12))[0]
        # Also compare from a non-root live module, sometimes.
        self.second_root = rng.random() < 0.25

    def describe(self):
        live = ("  (the saved objects themselves)" if self.live is None
                else self.live.dump() if self.mutations else "  (the saved structure, built fresh)")
        return (f"seed={self.seed} saved with .{self.save_with}() children={self.children_mode} "
                f"mutations={self.mutations}\nsaved graph (node: kind: name->node):\n{self.saved.dump()}"
                f"\nlive graph:\n{live}")


def natural_wrappers(spec):
    """Lists and dicts (at even node ids) built the natural way: a plain Python list or dict
    assigned to a module attribute, which TF wraps on assignment. Only those held by one module
    and holding no lists or dicts qualify; the others are wrapped first, so that they can be
    shared and filled in any order."""
    parents = spec.parents()
    return {
        node for node in spec.of_kind(*WRAPPERS)
        if node % 2 == 0 and len(parents[node]) == 1 and spec.kinds[parents[node][0][0]] == MODULE
        and all(spec.kinds[t] not in WRAPPERS for _, t in spec.edges[node])
    }


def build(spec):
    """Real objects for `spec`: tf.Module, tf.Variable, ListWrapper and _DictWrapper."""
    natural = natural_wrappers(spec)
    objects = []
    for node, kind in enumerate(spec.kinds):
        if node in natural:
            objects.append(None)  # made when its module is filled
        elif kind == MODULE:
            objects.append(tf.Module(name=f"m{node}"))
        elif kind == VAR:
            objects.append(tf.Variable(float(node), name=f"v{node}"))
        elif kind == LIST:
            objects.append(tf.__internal__.tracking.wrap([]))
        else:
            objects.append(tf.__internal__.tracking.wrap({}))
    for node, node_edges in enumerate(spec.edges):
        obj = objects[node]
        if node in natural:
            continue
        for name, target in node_edges:
            if spec.kinds[node] == MODULE:
                if target in natural:
                    items = spec.edges[target]
                    if spec.kinds[target] == LIST:
                        setattr(obj, name, [objects[t] for _, t in items])
                    else:
                        setattr(obj, name, {key: objects[t] for key, t in items})
                    objects[target] = getattr(obj, name)
                else:
                    setattr(obj, name, objects[target])
            elif spec.kinds[node] == LIST:
                obj.append(objects[target])
            else:
                obj[name] = objects[target]
    return objects


def _without_dotted_names(obj):
    """A custom children function: TF's, minus names containing a dot."""
    return {name: child for name, child in TF_CHILDREN(obj).items() if "." not in name}


@pytest.mark.parametrize("seed", range(NUM_GRAPHS))
def test_generated_graph(seed, tmp_path):
    case = Case(seed)
    saved = build(case.saved)
    checkpoint = tf.train.Checkpoint(saved[0])
    prefix = str(tmp_path / "ckpt")
    path = checkpoint.write(prefix) if case.save_with == "write" else checkpoint.save(prefix)
    live = saved if case.live is None else build(case.live)
    children = {
        "default": None,
        "explicit": tf.train.TrackableView.children,
        "filtered": _without_dotted_names,
    }[case.children_mode]

    tf_view = tf.train.CheckpointView(path)
    with ckview.CheckpointView(path) as ours, explained(case.describe):
        assert_same_graph(tf_view, ours)
        compare_live(tf_view, ours, live[0], children)
        if case.second_root:
            modules = [live[n] for n in (case.live or case.saved).of_kind(MODULE) if n != 0]
            if modules:
                compare_live(tf_view, ours, random.Random(seed).choice(modules), children)


def test_generator_covers_the_requested_shapes():
    """The seeds above really produce shared objects, cycles, odd names, splits, ..."""
    seen = collections.Counter()
    for seed in range(NUM_GRAPHS):
        case = Case(seed)
        spec = case.saved
        reachable = spec.reachable()
        parents = spec.parents()
        seen["nodes<=60"] += len(spec.kinds) + 1 <= 60
        if any(t != 0 and t in reachable and len([p for p, _ in ps if p in reachable]) >= 2
               for t, ps in parents.items()):
            seen["shared"] += 1
        if any(p in reachable for p, _ in parents.get(0, [])):
            seen["back to root"] += 1
        modules = set(spec.of_kind(MODULE))
        if any(spec.kinds[t] == MODULE and any(u == a for _, u in spec.edges[t])
               for a in modules for _, t in spec.edges[a]):
            seen["module cycle"] += 1
        names = {name for es in spec.edges for name, _ in es if name is not None}
        seen["dotted or slashed name"] += any("." in n or "/" in n for n in names)
        seen["non-ASCII name"] += any(not n.isascii() for n in names)
        seen["empty module"] += any(spec.kinds[n] == MODULE and not spec.edges[n] for n in reachable)
        seen["list"] += bool(set(spec.of_kind(LIST)) & reachable)
        seen["dict"] += bool(set(spec.of_kind(DICT)) & reachable)
        seen["plain list/dict assigned"] += bool(natural_wrappers(spec) & reachable)
        seen["same objects"] += case.live is None
        seen["fresh, unchanged"] += case.live is not None and not case.mutations
        for mutation in set(case.mutations):
            seen[mutation] += 1
        seen[f"children={case.children_mode}"] += 1
    assert seen["nodes<=60"] == NUM_GRAPHS
    for feature in ("shared", "back to root", "module cycle", "dotted or slashed name", "non-ASCII name",
                    "empty module", "list", "dict", "plain list/dict assigned", "same objects", "fresh, unchanged",
                    "children=explicit", "children=filtered"):
        assert seen[feature] >= 15, f"only {seen[feature]} cases with {feature}: {dict(seen)}"
    for mutation in MUTATIONS:
        assert seen[mutation.__name__] >= 15, f"{mutation.__name__}: {dict(seen)}"


def test_generated_graphs_provoke_inconsistent_references(tmp_path):
    """A shared object split in two must show up in TF's warnings and ckview's list alike."""
    shared = tf.Module(name="shared")
    shared.v = tf.Variable(1.0)
    root = tf.Module(name="root")
    root.a = shared
    root.b = shared
    root.l = [shared]
    path = tf.train.Checkpoint(root).write(str(tmp_path / "ckpt"))

    live = tf.Module(name="root")
    live.a = tf.Module(name="first")
    live.a.v = tf.Variable(2.0)
    live.b = tf.Module(name="second")
    live.b.v = live.a.v
    live.l = [tf.Module(name="third")]
    tf_view = tf.train.CheckpointView(path)
    with ckview.CheckpointView(path) as ours:
        _, events = compare_live(tf_view, ours, live)
    # root.l[0] leads to node 1 too, but node 1 is expanded by then: TF skips it.
    assert len(events) == 1
    assert events[0][0] == 1 and events[0][1] is live.a and events[0][2] is live.b


# ----------------------------------------------------------------------------------------------
# tf_keras models with legacy optimizers (slot variables)
# ----------------------------------------------------------------------------------------------


def _keras_model(architecture, extra_layer):
    dense = tf_keras.layers.Dense
    if architecture == "sequential":
        layers = [tf_keras.Input(shape=(3,)), dense(4, activation="relu")]
        if extra_layer:
            layers.append(dense(3, activation="tanh"))
        layers.append(dense(2))
        return tf_keras.Sequential(layers)
    inputs = tf_keras.Input(shape=(3,))
    x = dense(4, activation="relu")(inputs)
    if extra_layer:
        x = dense(3, activation="tanh")(x)
    return tf_keras.Model(inputs, dense(2)(x))


def _keras_optimizer(kind):
    if kind == "adam":
        return tf_keras.optimizers.legacy.Adam(learning_rate=0.01)
    return tf_keras.optimizers.legacy.SGD(learning_rate=0.1, momentum=0.9)


def _train_one_step(model, optimizer):
    x = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(4, 3)
    y = np.linspace(0.0, 1.0, 8, dtype=np.float32).reshape(4, 2)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))


KERAS_LIVE_CHANGES = ("same", "extra_layer", "other_optimizer", "optimizer_not_stepped")


@pytest.mark.parametrize("seed", KERAS_SEEDS)
def test_keras_legacy_optimizer(seed, tmp_path):
    rng = random.Random(seed)
    architecture = ("sequential", "functional")[seed % 2]
    optimizer_kind = ("adam", "sgd")[(seed // 2) % 2]
    change = KERAS_LIVE_CHANGES[seed % len(KERAS_LIVE_CHANGES)] if seed < 4 else rng.choice(KERAS_LIVE_CHANGES)
    tf_keras.utils.set_random_seed(seed)

    model = _keras_model(architecture, extra_layer=False)
    optimizer = _keras_optimizer(optimizer_kind)
    _train_one_step(model, optimizer)
    path = tf.train.Checkpoint(model=model, optimizer=optimizer).write(str(tmp_path / "model"))
    tf_view = tf.train.CheckpointView(path)
    proto = tf_view._object_graph_proto
    assert any(node.slot_variables for node in proto.nodes), "the optimizer should own slot variables"

    live_model = _keras_model(architecture, extra_layer=(change == "extra_layer"))
    other_kind = {"adam": "sgd", "sgd": "adam"}[optimizer_kind]
    live_optimizer = _keras_optimizer(other_kind if change == "other_optimizer" else optimizer_kind)
    if change != "optimizer_not_stepped":
        _train_one_step(live_model, live_optimizer)
    live_root = tf.train.Checkpoint(model=live_model, optimizer=live_optimizer)

    context = lambda: f"seed={seed} {architecture} {optimizer_kind} live change={change}"  # noqa: E731
    with ckview.CheckpointView(path) as ours, explained(context):
        assert_same_graph(tf_view, ours)
        their_diff, _ = compare_live(tf_view, ours, live_root)
        if change == "same":
            assert their_diff[1] == [], "the same architecture should match every checkpoint node"
        compare_live(tf_view, ours, live_root, children=tf.train.TrackableView.children)
        compare_live(tf_view, ours, live_model)
        compare_live(tf_view, ours, live_optimizer)
        # The checkpoint against the very objects that were saved.
        compare_live(tf_view, ours, tf.train.Checkpoint(model=model, optimizer=optimizer))


# ----------------------------------------------------------------------------------------------
# Exceptions raised while listing children
# ----------------------------------------------------------------------------------------------


class ChildrenFailed(Exception):
    """Raised by a test's children function; never raised by TF or ckview."""


class RaisingModule(tf.Module):
    """A module whose TensorFlow children listing raises a given exception object."""

    def __init__(self, error, name=None):
        super().__init__(name=name)
        self._error_to_raise = error

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        raise self._error_to_raise


def _exception_graph(error=None, position=None):
    """Saved: root{v, inner{w, deep{x}}, empty{}}; live: the same fresh plus root.extra{z}, the
    module at `position` a RaisingModule raising `error`."""
    def make(which):
        if which == position:
            return RaisingModule(error, name=which)
        return tf.Module(name=which)

    live = make("root")
    live.v = tf.Variable(1.0)
    live.inner = make("inner")
    live.inner.w = tf.Variable(2.0)
    live.inner.deep = make("deep")
    live.inner.deep.x = tf.Variable(3.0)
    live.empty = make("empty")
    live.extra = make("extra")
    live.extra.z = tf.Variable(4.0)
    return live


def _saved_exception_graph(tmp_path):
    root = tf.Module(name="root")
    root.v = tf.Variable(1.0)
    root.inner = tf.Module(name="inner")
    root.inner.w = tf.Variable(2.0)
    root.inner.deep = tf.Module(name="deep")
    root.inner.deep.x = tf.Variable(3.0)
    root.empty = tf.Module(name="empty")
    return tf.train.Checkpoint(root).write(str(tmp_path / "ckpt"))


def _outcome(call):
    """("raised", exception) or ("returned", result)."""
    try:
        return "returned", call()
    except ChildrenFailed as error:
        return "raised", error


def _assert_same_outcome(mine, theirs, error, what):
    assert mine[0] == theirs[0], (
        f"{what}: TF {theirs[0]} "
        + (f"{theirs[1]!r}" if theirs[0] == "raised" else "a result")
        + f", ckview {mine[0]} " + (f"{mine[1]!r}" if mine[0] == "raised" else "a result"))
    if theirs[0] == "raised":
        assert theirs[1] is error
        assert mine[1] is error, f"{what}: ckview raised another exception object: {mine[1]!r}"


POSITIONS = ("root", "inner", "deep", "empty", "extra")
# root/inner/deep: matched, with checkpoint children; empty: matched, but its checkpoint node has
# no children (TF's match still lists the object's children, so TF raises there too);
# extra: only in the live graph (only diff lists its children).


@pytest.mark.parametrize("position", POSITIONS)
def test_exception_from_tensorflow_children_propagates(tmp_path, position):
    """children omitted: TF's TrackableView.children raises inside a live tf.Module."""
    path = _saved_exception_graph(tmp_path)
    error = ChildrenFailed(f"no children for {position}")
    live = _exception_graph(error, position)
    tf_view = tf.train.CheckpointView(path)
    with ckview.CheckpointView(path) as ours:
        for method in ("match", "diff"):
            theirs = _outcome(lambda: getattr(tf_view, method)(live))
            mine = _outcome(lambda: getattr(ours, method)(live))
            _assert_same_outcome(mine, theirs, error, f"{method}() with a raising module at {position}")
        if position == "extra":  # never asked while matching
            assert_same_match(ours.match(live), tf_match(tf_view, live)[0], Labels(), "match()")
        else:
            with pytest.raises(ChildrenFailed) as raised:
                ours.match(live)
            assert raised.value is error
        with pytest.raises(ChildrenFailed) as raised:
            ours.diff(live)
        assert raised.value is error


@pytest.mark.parametrize("position", POSITIONS)
def test_exception_from_custom_children_propagates(tmp_path, position):
    """A custom children callable raising on one object; TF gets the same callable."""
    path = _saved_exception_graph(tmp_path)
    error = ChildrenFailed(f"custom children refused {position}")
    live = _exception_graph()
    target = {"root": live, "inner": live.inner, "deep": live.inner.deep, "empty": live.empty,
              "extra": live.extra}[position]

    def children(obj):
        if obj is target:
            raise error
        return TF_CHILDREN(obj)

    tf_view = tf.train.CheckpointView(path)
    with ckview.CheckpointView(path) as ours:
        for method in ("match", "diff"):
            with tf_children(children):
                theirs = _outcome(lambda: getattr(tf_view, method)(live))
            mine = _outcome(lambda: getattr(ours, method)(live, children=children))
            _assert_same_outcome(mine, theirs, error, f"{method}() with children raising at {position}")
        with pytest.raises(ChildrenFailed) as raised:
            ours.diff(live, children=children)
        assert raised.value is error
        if position == "extra":  # never asked while matching
            their_match = tf_match(tf_view, live, children)[0]
            assert_same_match(ours.match(live, children=children), their_match, Labels(), "match()")
        else:
            with pytest.raises(ChildrenFailed) as raised:
                ours.match(live, children=children)
            assert raised.value is error


def test_exception_from_a_mutated_list_wrapper(tmp_path):
    """TF itself refuses to list a ListWrapper after a non-append mutation (ValueError)."""
    root = tf.Module(name="root")
    root.items = [tf.Variable(1.0), tf.Variable(2.0)]
    path = tf.train.Checkpoint(root).write(str(tmp_path / "ckpt"))
    live = tf.Module(name="root")
    live.items = [tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)]
    del live.items[0]
    tf_view = tf.train.CheckpointView(path)
    with ckview.CheckpointView(path) as ours:
        for method in ("match", "diff"):
            with pytest.raises(ValueError) as theirs:
                getattr(tf_view, method)(live)
            with pytest.raises(ValueError) as mine:
                getattr(ours, method)(live)
            assert type(mine.value) is type(theirs.value)
            assert str(mine.value) == str(theirs.value)


# ----------------------------------------------------------------------------------------------
# TF1 name-based checkpoints
# ----------------------------------------------------------------------------------------------


def _assert_name_based_error(path):
    with pytest.raises(ValueError) as theirs:
        tf.train.CheckpointView(path)
    with pytest.raises(ValueError) as mine:
        ckview.CheckpointView(path)
    for text in (str(theirs.value), str(mine.value)):
        assert "name-based" in text
        assert "_CHECKPOINTABLE_OBJECT_GRAPH" in text
        assert path in text


def test_tf1_name_based_fixture_raises_value_error(fixtures_dir):
    _assert_name_based_error(str(fixtures_dir / "tf1_name_based" / "model.ckpt"))


def test_tf1_name_based_fresh_checkpoint_raises_value_error(tmp_path):
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("weights", shape=[2, 3], initializer=tf.compat.v1.zeros_initializer())
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            path = saver.save(session, str(tmp_path / "model.ckpt"))
    _assert_name_based_error(path)


# ----------------------------------------------------------------------------------------------
# How often ckview asks for children
# ----------------------------------------------------------------------------------------------


class CountingChildren:
    def __init__(self):
        self.calls = collections.Counter()
        self.objects = {}  # keeps asked objects alive, so ids stay unique

    def __call__(self, obj):
        self.calls[id(obj)] += 1
        self.objects[id(obj)] = obj
        return TF_CHILDREN(obj)

    def asked_more_than_once(self):
        return [(self.objects[i], n) for i, n in self.calls.items() if n > 1]


def _shared_graph():
    shared = tf.Module(name="shared")
    shared.v = tf.Variable(1.0)
    shared.items = [tf.Variable(2.0), tf.Variable(3.0)]
    root = tf.Module(name="root")
    root.a = shared
    root.b = shared
    root.l = [shared, shared.v]
    root.d = {"x.y": shared, "z": shared.items}
    root.back = root
    shared.up = root
    return root


@pytest.mark.parametrize("live_kind", ["same_objects", "fresh", "split"])
def test_children_is_asked_at_most_once_per_object(tmp_path, live_kind):
    saved = _shared_graph()
    path = tf.train.Checkpoint(saved).write(str(tmp_path / "ckpt"))
    if live_kind == "same_objects":
        live = saved
    else:
        live = _shared_graph()
        if live_kind == "split":
            other = tf.Module(name="other")
            other.v = tf.Variable(5.0)
            live.b = other
    tf_view = tf.train.CheckpointView(path)
    everything = [o for o in tf.train.TrackableView(live).descendants()]
    with ckview.CheckpointView(path) as ours:
        for method in ("match", "diff", "inconsistent_references"):
            counting = CountingChildren()
            getattr(ours, method)(live, children=counting)
            assert counting.asked_more_than_once() == [], f"{method}: asked more than once"
            if method == "diff":  # a diff has to know every reachable object's children
                assert set(counting.calls) == {id(o) for o in everything}
        counting = CountingChildren()
        compare_live(tf_view, ours, live, children=counting)


@pytest.mark.parametrize("seed", range(0, NUM_GRAPHS, 16))
def test_children_asked_at_most_once_on_generated_graphs(seed, tmp_path):
    case = Case(seed)
    saved = build(case.saved)
    path = tf.train.Checkpoint(saved[0]).write(str(tmp_path / "ckpt"))
    live = saved if case.live is None else build(case.live)
    with ckview.CheckpointView(path) as ours, explained(case.describe):
        for method in ("match", "diff"):
            counting = CountingChildren()
            getattr(ours, method)(live[0], children=counting)
            assert counting.asked_more_than_once() == [], f"{method}: asked more than once"


# ----------------------------------------------------------------------------------------------
# Lifetime
# ----------------------------------------------------------------------------------------------


def test_close_and_context_manager(tmp_path):
    root = SimpleModule(name="root")
    path = tf.train.Checkpoint(root).write(str(tmp_path / "ckpt"))
    expected = tf.train.CheckpointView(path).children(0)

    view = ckview.CheckpointView(path)
    assert view.children(0) == expected
    view.close()
    view.close()  # twice is fine
    with pytest.raises(ValueError):
        view.children(0)

    with ckview.CheckpointView(path) as view:
        assert view.children(0) == expected
        assert_same_match(view.match(root), tf.train.CheckpointView(path).match(root), Labels(root), "match()")
    with pytest.raises(ValueError):
        view.descendants()

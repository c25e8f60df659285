"""Compares a checkpoint with a live object tree, without TensorFlow, and reads a tensor.

    PYTHONPATH=bindings/python python3 examples/python/diff_modules.py tests/fixtures/doc_diff/tf_ckpts-1
"""

import sys

import ckview


class Module:
    """Any object tree works: `children` tells ckview what an object contains."""

    def __init__(self, **children):
        self.children = children


def children(obj):
    return obj.children if isinstance(obj, Module) else {}


# The documentation's live model: `leaf` was renamed `leaf2` since the checkpoint was written.
leaf2 = Module(a_var=object(), b_var=object(), vars=Module(**{"0": object(), "1": object()}),
               leaf3=object(), leaf4=object())
root2 = Module(a_var=object(), b_var=object(), vars=Module(**{"0": object(), "1": object()}), leaf2=leaf2)

with ckview.CheckpointView(sys.argv[1]) as view:
    for name, node_id in view.children(0).items():
        print(f"- name: '{name}', node_id: {node_id}")
    matched, only_in_checkpoint, only_in_live = view.diff(root2, children=children)
    print("only in the checkpoint:", only_in_checkpoint)
    print("only in the live tree:", len(only_in_live), "objects, starting with leaf2:", only_in_live[0] is leaf2)
    print("root.a_var =", view.tensor(1))

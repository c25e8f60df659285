"""Times TensorFlow 2.21's tf.train.CheckpointView and ckview on the same synthetic checkpoints,
in one run, and prints the ratio per operation.

    .venv/bin/python benches/compare_tensorflow.py [--sizes 1000,10000,...] [--tf-diff-max 6000]
        [--json target/bench-results.json]

ckview's numbers come from `cargo bench --bench graph` (Rust, match/diff through the C ABI's
callbacks); TensorFlow's from its Python API. TensorFlow's diff is quadratic, so it runs only up
to --tf-diff-max nodes.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent


def ckview_numbers(sizes):
    """{(nodes_requested, operation): seconds} from the Rust benchmark, plus actual node counts."""
    command = ["cargo", "bench", "--quiet", "--bench", "graph", "--", *map(str, sizes)]
    output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
    numbers, actual = {}, {}
    requested = iter(sizes)
    current = None
    for line in output.splitlines():
        parts = line.split()
        if parts[:1] != ["graph"]:
            continue
        nodes, operation, seconds = int(parts[1]), parts[2], float(parts[3])
        if operation == "open":
            current = next(requested)
            actual[current] = nodes
        numbers[(current, operation)] = seconds
    return numbers, actual


def best_of(run, rounds=3):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def live_graph(tf, view):
    """Live objects mirroring the checkpoint as benches/graph.rs mirrors it: every 100th
    (node + child index) name renamed, one added child per 100 objects."""
    count = len(view._object_graph_proto.nodes)
    objects = [tf.__internal__.tracking.AutoTrackable() for _ in range(count)]
    for node in range(count):
        for index, (name, child) in enumerate(view.children(node).items()):
            if (node + index) % 100 == 0:
                name += "_renamed"
            objects[node]._track_trackable(objects[child], name=name, overwrite=True)
        if node % 100 == 0:
            objects[node]._track_trackable(tf.__internal__.tracking.AutoTrackable(), name="added", overwrite=True)
    return objects[0]


def tensorflow_numbers(tf, prefix, diff_max, nodes):
    view = tf.train.CheckpointView(str(prefix))
    numbers = {
        "open": best_of(lambda: tf.train.CheckpointView(str(prefix))),
        "descendants": best_of(view.descendants),
        "children_all": best_of(lambda: [view.children(n) for n in range(nodes)], rounds=1),
        "paths_all": best_of(view._descendants_with_paths, rounds=1),
    }
    reader = tf.train.load_checkpoint(str(prefix))
    numbers["list_keys"] = best_of(lambda: tf.train.list_variables(str(prefix)), rounds=1)
    del reader
    if nodes <= diff_max:
        root = live_graph(tf, view)
        numbers["match_c"] = best_of(lambda: view.match(root), rounds=1)
        numbers["diff_c"] = best_of(lambda: view.diff(root), rounds=1)
    return numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,6000,10000,100000,300000,1000000")
    parser.add_argument("--tf-diff-max", type=int, default=6000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    import tensorflow as tf

    ours, actual = ckview_numbers(sizes)
    rows = []
    for size in sizes:
        prefix = REPO / "target" / "bench-data" / f"graph-{size}"
        theirs = tensorflow_numbers(tf, prefix, args.tf_diff_max, actual[size])
        for operation in ["open", "children_all", "descendants", "paths_all", "list_keys", "match_c", "diff_c"]:
            row = {"nodes": actual[size], "operation": operation, "ckview_s": ours[(size, operation)], "tensorflow_s": theirs.get(operation)}
            rows.append(row)
            tf_text = f"{row['tensorflow_s']:.4f}" if row["tensorflow_s"] is not None else "not run (quadratic)"
            ratio = f"{row['tensorflow_s'] / row['ckview_s']:.0f}x" if row["tensorflow_s"] and row["ckview_s"] else "-"
            print(f"{row['nodes']:>8} {operation:<13} ckview {row['ckview_s']:.9f}s  tensorflow {tf_text}  ratio {ratio}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"tensorflow": tf.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    sys.exit(main())

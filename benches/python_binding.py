"""The Python package against TensorFlow 2.21 in the same process, on the same files: the targets
of issue 14. Prints a Markdown section; `--update BENCHMARKS.md` replaces that section of the
file (between its two markers) and leaves the rest alone.

    .venv/bin/python benches/python_binding.py [--update BENCHMARKS.md] [--rounds 5]

It imports the `ckview` that Python finds (the installed package), else this repository's
bindings/python with target/release/libckview.so (built by `cargo build --release --lib`).
Checkpoints: one 143 MiB float32 variable and one 16 MiB bfloat16 variable written by TensorFlow;
synthetic graphs of about 4,700 (3k keys), 7k and 300k nodes written by `examples/generate.rs`.
Each time is the fastest of --rounds runs; a "first call" (or sweep) is made on an object opened
for it, so that nothing a previous run built is reused.
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- python-binding: begin (benches/python_binding.py) -->", "<!-- python-binding: end -->"

try:
    import ckview
except ImportError:
    # This repository's package finds target/debug's library when there is no release build:
    # a benchmark of that would measure the debug build, so the release library is named here.
    release = REPO / "target" / "release" / "libckview.so"
    if "CKVIEW_LIBRARY" not in os.environ:
        if not release.is_file():
            sys.exit(f"error: {release} is missing: run `cargo build --release --lib` first")
        os.environ["CKVIEW_LIBRARY"] = str(release)
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import ckview
import ckview.reader  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def best(run, rounds, setup=None):
    """The fastest of `rounds` runs of `run(setup())`, in seconds (setup is not timed)."""
    fastest = float("inf")
    for _ in range(rounds):
        argument = setup() if setup else None
        gc.collect()
        start = time.perf_counter()
        run(argument) if setup else run()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def peak_allocation(run):
    """Peak bytes Python (and numpy, which reports to tracemalloc) allocated during `run()`."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak


def import_time(rounds):
    code = "import time; t = time.perf_counter(); import ckview; print(time.perf_counter() - t)"
    env = dict(os.environ)
    if str(REPO / "bindings" / "python") in sys.path:
        env["PYTHONPATH"] = str(REPO / "bindings" / "python")
    times = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                  text=True).stdout) for _ in range(rounds)]
    return min(times)


def write_variable(directory, name, value, dtype):
    checkpoint = tf.train.Checkpoint(v=tf.Variable(value, dtype=dtype))
    return checkpoint.write(str(directory / name)), "v/.ATTRIBUTES/VARIABLE_VALUE"


def generate(directory, nodes):
    prefix = directory / f"graph{nodes}" / "ckpt"
    prefix.parent.mkdir()
    subprocess.run(["cargo", "run", "--quiet", "--release", "--example", "generate", "--", str(nodes), str(prefix)],
                   cwd=REPO, check=True)
    return str(prefix)


def row(rows, what, ours, theirs, target=None):
    ratio = theirs / ours
    met = "" if target is None else (" met" if ratio >= target else " NOT met")
    rows.append(f"| {what} | {ours * 1e3:,.2f} ms | {theirs * 1e3:,.2f} ms | {ratio:.2f}x{met} |")


def measure(rounds):
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        # get_tensor of a 143 MiB float32 tensor --------------------------------------------
        values = np.random.default_rng(0).standard_normal((9152, 4096), dtype=np.float32)  # 143.0 MiB
        prefix, key = write_variable(directory, "big", values, tf.float32)
        del values
        theirs, ours = tf.train.load_checkpoint(prefix), ckview.load_checkpoint(prefix)
        mapped = ckview.load_checkpoint(prefix, mmap=True)
        expected = theirs.get_tensor(key)
        assert np.array_equal(ours.get_tensor(key), expected) and np.array_equal(mapped.get_tensor(key, copy=False), expected)
        nbytes = expected.nbytes
        del expected
        tf_time = best(lambda: theirs.get_tensor(key), rounds)
        row(rows, f"get_tensor, {nbytes / 2**20:.0f} MiB float32 (crc32c verified)", best(lambda: ours.get_tensor(key), rounds), tf_time, 1.5)
        row(rows, "get_tensor(copy=False), mmap=True (verified)", best(lambda: mapped.get_tensor(key, copy=False), rounds), tf_time)
        row(rows, "get_tensor(copy=False, verify=False), mmap=True",
            best(lambda: mapped.get_tensor(key, verify=False, copy=False), rounds), tf_time)
        ours_peak, tf_peak = peak_allocation(lambda: ours.get_tensor(key)), peak_allocation(lambda: theirs.get_tensor(key))
        notes.append(f"- peak Python allocation of `get_tensor` (tracemalloc, numpy included): ckview "
                     f"{ours_peak / nbytes:.3f}x the tensor ({ours_peak / 2**20:.1f} MiB), target at most 1.1x: "
                     f"{'met' if ours_peak <= 1.1 * nbytes else 'NOT met'}; TensorFlow {tf_peak / nbytes:.3f}x (its buffer comes "
                     "from TensorFlow's own allocator, which tracemalloc does not see).")
        del theirs, ours, mapped
        # nested lists without numpy: 16 MiB bfloat16 ---------------------------------------
        prefix, key = write_variable(directory, "bf16", np.linspace(-3, 3, 8 * 2**20, dtype=np.float32).reshape(2048, 4096), tf.bfloat16)
        reader, saved = ckview.load_checkpoint(prefix), ckview.reader.numpy
        ckview.reader.numpy = None  # as if numpy were not installed
        try:
            lists = best(lambda: reader.get_tensor(key), max(1, rounds // 2))
            got = reader.get_tensor(key)
        finally:
            ckview.reader.numpy = saved
        assert got == np.asarray(tf.train.load_checkpoint(prefix).get_tensor(key), dtype=np.float32).tolist()
        notes.append(f"- `get_tensor` without numpy (nested lists) of a 16 MiB bfloat16 tensor, 2048x4096: {lists * 1e3:,.0f} ms "
                     "(equal to TensorFlow's values as float32 lists; 3 s before issue 14).")
        del got, reader
        # the object graph and the key listing ----------------------------------------------
        for nodes in (4700, 7000, 300000):
            prefix = generate(directory, nodes)
            tf_view, view = tf.train.CheckpointView(prefix), ckview.CheckpointView(prefix)
            count, keys = len(view), len(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
            assert ckview.load_checkpoint(prefix).get_variable_to_shape_map() == tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
            if nodes == 4700:
                row(rows, f"`load_checkpoint(p).get_variable_to_shape_map()`, {keys:,} keys (open included)",
                    best(lambda: ckview.load_checkpoint(prefix).get_variable_to_shape_map(), rounds),
                    best(lambda: tf.train.load_checkpoint(prefix).get_variable_to_shape_map(), rounds), 1.0)
                row(rows, f"`get_variable_to_shape_map()` on an open reader, first call, {keys:,} keys",
                    best(lambda r: r.get_variable_to_shape_map(), rounds, lambda: ckview.load_checkpoint(prefix)),
                    best(lambda r: r.get_variable_to_shape_map(), rounds, lambda: tf.train.load_checkpoint(prefix)))
                continue
            assert all(view.children(n) == tf_view.children(n) for n in range(count))
            assert list(view._descendants_with_paths().items()) == list(tf_view._descendants_with_paths().items())
            heavy = max(1, rounds // 2) if nodes > 100000 else rounds
            row(rows, f"`children(n)` for every node, first sweep on an open view, {count:,} nodes",
                best(lambda v: [v.children(n) for n in range(count)], heavy, lambda: ckview.CheckpointView(prefix)),
                best(lambda v: [v.children(n) for n in range(count)], heavy, lambda: tf.train.CheckpointView(prefix)), 1.0)
            row(rows, f"`_descendants_with_paths()`, first call on an open view, {count:,} nodes",
                best(lambda v: v._descendants_with_paths(), heavy, lambda: ckview.CheckpointView(prefix)),
                best(lambda v: v._descendants_with_paths(), heavy, lambda: tf.train.CheckpointView(prefix)), 1.0)
            del tf_view, view
    seconds = import_time(rounds)
    notes.append(f"- `import ckview` in a new interpreter: {seconds * 1e3:.1f} ms (target under 50 ms: "
                 f"{'met' if seconds < 0.05 else 'NOT met'}); numpy is imported on the first tensor read.")
    return rows, notes


def section(rows, notes, rounds):
    library = Path(ckview._native.lib._name)
    if library.is_relative_to(REPO):
        library = library.relative_to(REPO)
    return "\n".join([
        BEGIN,
        "## The Python package against TensorFlow (issue 14)",
        "",
        f"`.venv/bin/python benches/python_binding.py --rounds {rounds}`: ckview {ckview.__version__} from "
        f"`{Path(ckview.__file__).parent}` (library `{library}`), TensorFlow {tf.__version__}, in one process on the same files; the fastest "
        f"of {rounds} runs (half that for 300k nodes). Ratio = TensorFlow's time / ckview's (above 1: ckview is faster).",
        "",
        "| operation | ckview | TensorFlow | ratio (target) |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
        *notes,
        END,
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", type=Path, help="replace this section of the Markdown file (BENCHMARKS.md)")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    text = section(*measure(arguments.rounds), arguments.rounds)
    print(text)
    if arguments.update:
        current = arguments.update.read_text()
        if BEGIN in current and END in current:
            before, rest = current.split(BEGIN, 1)
            current = before + text + rest.split(END, 1)[1]
        else:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        arguments.update.write_text(current)


if __name__ == "__main__":
    main()

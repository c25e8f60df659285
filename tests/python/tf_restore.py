#!/usr/bin/env python3
"""TensorFlow's verdict on rewritten checkpoints (run by tests/rewrite.rs; not a pytest module).

Reads a JSON list of jobs on stdin and prints one JSON list of results:

  {"kind": "keras3"|"legacy", "source": P, "out": Q}
      Builds two fresh models of the adam_trained fixture's architecture
      (tests/fixtures/adam_models.py) from other seeds, restores P into one and Q into the other
      with tf.train.Checkpoint(model=m).restore(...).assert_existing_objects_matched(), and gives
      for every model variable whether Q restored it equal to P's (`variables`: [[path,
      equal_to_source, equal_to_fresh]]), and `error`: null or the AssertionError of Q's
      assert_existing_objects_matched (the restore itself still ran, as expect_partial would);
      `model_keys`: the keys TensorFlow writes for tf.train.Checkpoint(model=fresh model).
  {"kind": "tf1", "source": P, "out": Q}   (any checkpoint read by key)
      tf.train.load_checkpoint(Q): whether each tensor equals P's (dtype, shape, bytes; or the
      same error where TensorFlow cannot read it: sliced tensors, variants), and `dtypes_equal`.

Both also give `keys`: tf.train.list_variables(Q) names.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import adam_models  # noqa: E402


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:  # strings: the elements, not their pointers
        return a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def object_job(job):
    build = adam_models.FRESH[job["kind"]]
    reference = build(seed=99)
    tf.train.Checkpoint(model=reference).restore(job["source"]).assert_existing_objects_matched()
    model = build(seed=98)
    fresh = [v.numpy() for v in model.variables]
    status = tf.train.Checkpoint(model=model).restore(job["out"])
    error = None
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        error = str(e)[:300]
    variables = [[v.path if hasattr(v, "path") else v.name, same(v.numpy(), r.numpy()), same(v.numpy(), f)]
                 for v, r, f in zip(model.variables, reference.variables, fresh)]
    # The keys TensorFlow itself writes for the model alone.
    with tempfile.TemporaryDirectory() as folder:
        written = tf.train.Checkpoint(model=adam_models.FRESH[job["kind"]](seed=97)).write(os.path.join(folder, "model"))
        model_keys = [name for name, _ in tf.train.list_variables(written) if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    return {"error": error, "variables": variables, "model_keys": model_keys}


def tensor_or_error(reader, key):
    """A tensor's value, or the type of the error TensorFlow raises reading it (a sliced tensor,
    a variant)."""
    try:
        return reader.get_tensor(key)
    except Exception as e:  # noqa: BLE001 (any error is an answer to compare)
        return type(e).__name__


def tf1_job(job):
    source = tf.train.load_checkpoint(job["source"])
    out = tf.train.load_checkpoint(job["out"])
    equal = {}
    for key in out.get_variable_to_shape_map():
        a, b = tensor_or_error(out, key), tensor_or_error(source, key)
        equal[key] = a == b if isinstance(a, str) or isinstance(b, str) else same(a, b)
    return {"equal": equal, "dtypes_equal": {k: repr(v) for k, v in out.get_variable_to_dtype_map().items()} == {k: repr(v) for k, v in source.get_variable_to_dtype_map().items() if k in equal}}


def main():
    results = []
    for job in json.load(sys.stdin):
        result = tf1_job(job) if job["kind"] == "tf1" else object_job(job)
        result["keys"] = [name for name, _ in tf.train.list_variables(job["out"])]
        results.append(result)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

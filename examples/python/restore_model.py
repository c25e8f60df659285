"""Restores a model from a checkpoint that lost its optimizer state, with TensorFlow, and compares
its weights with the trained checkpoint's:

    .venv/bin/python examples/python/restore_model.py SMALL_CKPT TRAINED_CKPT
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

small, trained = sys.argv[1], sys.argv[2]
# The model that was trained (tests/fixtures/adam_models.py), fresh: no optimizer, random weights.
model = tf_keras.Sequential([tf_keras.layers.Dense(8, activation="relu", name="hidden", input_shape=(6,)),
                             tf_keras.layers.Dense(3, name="out")], name="mlp")
tf.train.Checkpoint(model=model).restore(small).assert_existing_objects_matched()
print("restored", len(model.variables), "variables; every object matched")

reader = tf.train.load_checkpoint(trained)
keys = [f"model/layer_with_weights-{layer}/{name}/.ATTRIBUTES/VARIABLE_VALUE" for layer in (0, 1) for name in ("kernel", "bias")]
same = all(np.array_equal(variable.numpy(), reader.get_tensor(key)) for variable, key in zip(model.variables, keys))
print("equal to the trained weights:", same)

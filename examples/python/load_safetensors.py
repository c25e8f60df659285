"""Loads a file `ckview export` wrote, as PyTorch or JAX would (`safetensors.torch.load_file`,
`safetensors.flax.load_file`; numpy here), and compares each tensor with TensorFlow's reading of
the checkpoint key the file's metadata records for it:

    .venv/bin/python examples/python/load_safetensors.py OUT.safetensors CHECKPOINT
"""

import os
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, checkpoint = sys.argv[1], sys.argv[2]
state_dict = load_file(path)  # {name: numpy array}
with safe_open(path, framework="numpy") as opened:
    metadata = opened.metadata()
for name, array in sorted(state_dict.items()):
    print(f"{name}: {array.dtype} {list(array.shape)}")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402  (only to check the values)

reader = tf.train.load_checkpoint(checkpoint)
equal = all(np.array_equal(array, reader.get_tensor(metadata["tensorflow_key:" + name])) for name, array in state_dict.items())
print(f"{len(state_dict)} tensors from {metadata['tensorflow_checkpoint']}; equal to TensorFlow's: {equal}")

#!/bin/sh
# Converts a TensorFlow checkpoint of a model trained with Adam into a safetensors file of its
# weights, and loads that file with Hugging Face's safetensors (examples/python/load_safetensors.py),
# comparing every tensor with TensorFlow's own reading of the checkpoint. From the repository root:
#   examples/shell/convert_for_pytorch.sh [OUT_DIR]     (CKVIEW=path/to/ckview, PYTHON=... to override)
set -eu
ckview=${CKVIEW:-target/release/ckview}
python=${PYTHON:-.venv/bin/python}
out=${1:-target/converted}
mkdir -p "$out"
trained=tests/fixtures/adam_trained/legacy/ckpt-1

"$ckview" export "$trained" "$out/model.safetensors" --drop-slots       # weights only, named by path
"$ckview" export "$trained" "$out/by-layer.safetensors" --drop-slots --names full-name --rename '/=.'
"$python" examples/python/load_safetensors.py "$out/model.safetensors" "$trained"
"$python" examples/python/load_safetensors.py "$out/by-layer.safetensors" "$trained"

#!/bin/sh
# Drops the optimizer state of a model trained with Adam, checks the copy, and restores the model
# from it with TensorFlow (examples/python/restore_model.py). From the repository root:
#   examples/shell/drop_optimizer_state.sh [OUT_DIR]     (CKVIEW=path/to/ckview, PYTHON=... to override)
set -eu
ckview=${CKVIEW:-target/release/ckview}
python=${PYTHON:-.venv/bin/python}
out=${1:-target/small}
mkdir -p "$out"
trained=tests/fixtures/adam_trained/legacy/ckpt-1

"$ckview" tree "$trained" | tail -n 1                  # weights and Adam's m and v for each
"$ckview" rewrite "$trained" "$out/ckpt-1" --drop-slots  # the optimizer, its slots and counters go
"$ckview" verify "$out/ckpt-1"                          # every checksum of the copy
"$ckview" tree "$out/ckpt-1" | tail -n 1
"$python" examples/python/restore_model.py "$out/ckpt-1" "$trained"

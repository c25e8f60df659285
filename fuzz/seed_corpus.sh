#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*) from the checkpoints
# under tests/fixtures, using the library itself to take them apart (entries, string payloads,
# object graphs). Safe to rerun: seeds are overwritten, inputs the fuzzer added are kept.
set -euo pipefail
cd "$(dirname "$0")"
cargo run --quiet --release --example seed_corpus -- "$PWD/corpus"

#!/usr/bin/env bash
# The export benchmark of BENCHMARKS.md ("Export to safetensors"): `ckview export` against `cp`
# of the same bytes (the checkpoint's data file) into the same directory, and export's peak
# resident memory, on three checkpoints of about 1 GB, whose tensors grow a hundredfold from one
# to the next, so that the cost per tensor and the cost per byte can be told apart:
#   - many: the synthetic 300,000-node model (examples/generate.rs), 206,371 tensors of 5 KB;
#   - mid:  the same model with 30,000 nodes, 19,348 tensors of 52 KB;
#   - big:  64 float32 tensors of 16 MiB (examples/big_tensors.rs).
# Rounds alternate cp and export, each after `sync`; the medians are printed.
#   benches/export.sh [DIR] [ROUNDS]      (DIR: where the checkpoints and copies go, one filesystem)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/ckview-export-bench}
rounds=${2:-5}
mkdir -p "$dir"
cargo build --release --quiet -p ckview-cli
cargo build --release --quiet --example generate
cargo build --release --quiet --example big_tensors
[ -f "$dir/many.index" ] || target/release/examples/generate 300000 "$dir/many" 1250 >/dev/null
[ -f "$dir/mid.index" ] || target/release/examples/generate 30000 "$dir/mid" 13000 >/dev/null
[ -f "$dir/big.index" ] || target/release/examples/big_tensors "$dir/big" 64 16 >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for name in many mid big; do
  data="$dir/$name.data-00000-of-00001"
  bytes=$(stat -c %s "$data")
  for what in cp export; do : >"$dir/$what.times"; : >"$dir/$what.rss"; done
  for _ in $(seq "$rounds"); do
    sync
    /usr/bin/time -f "%e %M" -o "$dir/t" cp "$data" "$dir/copy.bin"
    awk '{ print $1 }' "$dir/t" >>"$dir/cp.times"; awk '{ print $2 }' "$dir/t" >>"$dir/cp.rss"
    rm -f "$dir/copy.bin"
    sync
    /usr/bin/time -f "%e %M" -o "$dir/t" target/release/ckview export "$dir/$name" "$dir/out.safetensors" --json >"$dir/summary.json"
    awk '{ print $1 }' "$dir/t" >>"$dir/export.times"; awk '{ print $2 }' "$dir/t" >>"$dir/export.rss"
    written=$(stat -c %s "$dir/out.safetensors")
    rm -f "$dir/out.safetensors"
  done
  tensors=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["tensors"])' "$dir/summary.json")
  cp_s=$(median <"$dir/cp.times")
  awk -v n="$name" -v b="$bytes" -v w="$written" -v t="$tensors" -v k="$rounds" -v c="$cp_s" 'BEGIN {
    printf "- %s: %s tensors, data file %.2f GB, safetensors written %.2f GB; medians of %d rounds: cp %.2f s (%.2f GB/s)\n", n, t, b / 1e9, w / 1e9, k, c, b / c / 1e9
  }'
  e=$(median <"$dir/export.times"); r=$(median <"$dir/export.rss")
  awk -v b="$bytes" -v c="$cp_s" -v e="$e" -v r="$r" 'BEGIN {
    printf "  - ckview export: %.2f s (%.2f GB/s, %.2fx cp'"'"'s throughput), peak RSS %.1f MB\n", e, b / e / 1e9, c / e, r / 1024
  }'
  cp_rounds=$(tr '\n' ' ' <"$dir/cp.times"); export_rounds=$(tr '\n' ' ' <"$dir/export.times")
  echo "  - every round, seconds: cp $cp_rounds; export $export_rounds"
done
rm -f "$dir"/*.times "$dir"/*.rss "$dir/t" "$dir/summary.json"

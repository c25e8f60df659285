#!/usr/bin/env bash
# Fuzzes ckview: builds the targets, replays the saved regressions, then runs each target for
# SECONDS seconds (default 600) with libFuzzer. Usage:
#   fuzz/run.sh [SECONDS] [TARGET...]          (all six targets when none is named)
# Environment: JOBS=2 runs two targets at a time (the default is one); FORK=1 keeps fuzzing after
# a crash (libFuzzer's -fork=1 -ignore_crashes=1), saving every crash under artifacts/<target>/;
# SKIP_REGRESSIONS=1 skips the replay. Logs go to fuzz/logs/<target>.log; the last stats line of
# each target is printed at the end. Exits nonzero when any input crashed, leaked, hung or
# allocated past the memory cap.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(table entry strings graph open compare)
export RUSTC_BOOTSTRAP=1 # cargo-fuzz passes nightly-only flags; the machine has a stable toolchain

declare -A max_len=([table]=65536 [entry]=4096 [strings]=65536 [graph]=65536 [open]=65536 [compare]=8192)
common=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1)
[ "${FORK:-0}" = 1 ] && common+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
./seed_corpus.sh
cargo fuzz build
mkdir -p logs

failed=0
if [ "${SKIP_REGRESSIONS:-0}" != 1 ]; then
  for target in "${targets[@]}"; do
    [ -d "regressions/$target" ] || continue
    for input in "regressions/$target"/*; do
      [ -f "$input" ] || continue
      if ! cargo fuzz run "$target" "$input" -- -runs=1 >"logs/regression-$target-$(basename "$input").log" 2>&1; then
        echo "REGRESSION STILL FAILS: $target $input (log: fuzz/logs/regression-$target-$(basename "$input").log)" >&2
        failed=1
      fi
    done
  done
fi

run_one() {
  local target=$1
  nice -n 10 cargo fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len="${max_len[$target]}" "${common[@]}" >"logs/$target.log" 2>&1
}

pids=()
status=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  if ((${#pids[@]} >= ${JOBS:-1})); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

for target in "${targets[@]}"; do
  last=$(grep -E '^#[0-9]+' "logs/$target.log" | tail -1 || true)
  crashes=$(ls "artifacts/$target" 2>/dev/null | wc -l)
  echo "$target: ${last:-no stats line} | artifacts: $crashes"
  ((crashes == 0)) || failed=1
done
exit "$failed"

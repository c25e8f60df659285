#!/usr/bin/env bash
# The CI fuzz run: every target for 60 seconds (FUZZ_SECONDS to change), one at a time, after
# replaying fuzz/regressions. About 7 minutes with the build. Fails on any crash, hang, leak or
# allocation past 2 GiB.
set -euo pipefail
exec "$(dirname "$0")/run.sh" "${FUZZ_SECONDS:-60}"

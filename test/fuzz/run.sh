#!/usr/bin/env bash
# test/fuzz/run.sh [SECONDS] — build the libFuzzer target over the number parser and run it
# for SECONDS (default 20) from the seeds in test/fuzz/corpus/.  New inputs go to a scratch
# corpus under test/results/, never into the seeds.  Output is TAP; a crash, a sanitizer
# report or a failed property is "not ok" and leaves its reproducer in test/results/fuzz/.
set -uo pipefail
SECONDS_TO_RUN=${1:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/test/results/fuzz
mkdir -p "$OUT/corpus"
cd "$ROOT"

if ! make -s test/fuzz/fuzz_numbers >"$OUT/build.log" 2>&1; then
    cat "$OUT/build.log"
    echo "not ok 1 - fuzz target builds"
    echo "1..1"
    exit 1
fi
echo "ok 1 - fuzz target builds"

test/fuzz/fuzz_numbers -max_total_time="$SECONDS_TO_RUN" -max_len=256 -timeout=5 \
    -artifact_prefix="$OUT/" -print_final_stats=1 \
    "$OUT/corpus" test/fuzz/corpus >"$OUT/fuzz.log" 2>&1
status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz.log")
if [ "$status" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
    echo "ok 2 - parser fuzzed for ${SECONDS_TO_RUN}s: $runs inputs, no crash, every property held"
else
    tail -30 "$OUT/fuzz.log" | sed 's/^/# /'
    echo "not ok 2 - parser fuzzed for ${SECONDS_TO_RUN}s (exit $status)"
fi
echo "1..2"
[ "$status" -eq 0 ]

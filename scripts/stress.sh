#!/usr/bin/env bash
# The race tests, many times over, on a loaded machine: each race of
# tests/suite/races_*.rs is run ROUNDS times (default 500, against 30 in
# CI) while a busy loop spins on every core, then the fifty-concurrent-starts
# test of tests/suite/reliability_concurrency.rs is repeated REPEAT times
# (default 10). Prints each test's figure line and a summary; exits non-zero
# on the first failure.
#
#   bash scripts/stress.sh            # ROUNDS=500 REPEAT=10
#   ROUNDS=100 REPEAT=3 bash scripts/stress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-500}"
REPEAT="${REPEAT:-10}"

cargo test --test all --no-run >/dev/null 2>&1

busy=()
for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    busy+=("$!")
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
echo "stress: ${#busy[@]} busy loops, ROUNDS=$ROUNDS, REPEAT=$REPEAT"

# Every line goes to the log; the figures and the verdicts to the screen.
log=target/stress.log
: >"$log"
start=$(date +%s)
status=0
ZWARM_RACE_ROUNDS="$ROUNDS" cargo test --test all suite::races_ -- --test-threads=1 --nocapture \
    >>"$log" 2>&1 || status=1
for i in $(seq "$REPEAT"); do
    cargo test --test all suite::reliability_concurrency::fifty_starts -- --nocapture \
        >>"$log" 2>&1 || status=1
done
grep -oE '(races|concurrency): .*|test result.*|panicked.*' "$log"
if [ "$status" -ne 0 ]; then
    echo "stress: FAILED; the whole output is in $log"
    grep -A20 panicked "$log" | grep -v '^ *[0-9]*: \|^ *at ' | head -60
fi
echo "stress: done in $(( $(date +%s) - start ))s"
exit "$status"

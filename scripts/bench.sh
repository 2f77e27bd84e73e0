#!/usr/bin/env bash
# Tracking overhead, each case a ratio against the same host with nothing tracked, measured in this one run
# (medians of RUNS runs each, untracked and tracked taken in turn), printed as the rows of BENCHMARKS.md's table:
#   check/run   alloc_heavy 1000        Rust, leak-free: 26.8 million allocator events
#   check/run   cpp_churn 2000          C++ new/delete churn, leak-free: 7.9 million events
#   check/run   rc_cycle 100000         300,000 leaked blocks, every one's stack in the report
#   node        alloc_heavy 200, 1000   `wasmleak node` vs `node`, every allocation's stack (JS frames too); and the
#                                       same without the instrumentation cache (a first run)
# and the tracker's memory per live block (the heap model, its stacks and profile) on rc_cycle 100000.
# Usage: [PAUSE=S] scripts/bench.sh [RUNS, default 5]
# PAUSE: seconds to wait before each timed run. Back to back (0, the default), a run gets the pages the one before
# it freed, still backed by the VM's host; after a pause of more than 2 s the guest kernel has reported them free
# and a run's first touches of fresh memory fault in the host too (BENCHMARKS.md, session 25): what a user's
# run, not a benchmark's tenth, meets.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/wasmleak-target}"
cargo build --release -q -p wasmleak
bin="$CARGO_TARGET_DIR/release/wasmleak"
runs="${1:-5}"
rust=fixtures/wasm/rust_patterns.wasm
cpp=fixtures/wasm/edge/cpp_churn.wasm

. scripts/bench/lib.sh
row() { # name, untracked ms, tracked ms, target
  awk -v n="$1" -v u="$2" -v t="$3" -v g="$4" 'BEGIN { printf "| %s | %d ms | %d ms | **%.2f×** | %s |\n", n, u, t, t / u, g }'
}
# One row: RUNS runs of the untracked command and of the tracked one, taken in turn, and their medians. In turn,
# not one series after the other: this machine's speed drifts 20–40% between sittings, and two series minutes
# apart measured the drift as much as the tracking (BENCHMARKS.md, session 27).
#   pair NAME TARGET UNTRACKED... :: TRACKED...
pair() {
  local name=$1 target=$2 side=u a
  shift 2
  local u=() t=() us=() ts=()
  for a in "$@"; do
    if [ "$a" = "::" ]; then side=t; elif [ $side = u ]; then u+=("$a"); else t+=("$a"); fi
  done
  for _ in $(seq "$runs"); do
    sleep "${PAUSE:-0}"; us+=("$(time_of "${u[@]}")")
    sleep "${PAUSE:-0}"; ts+=("$(time_of "${t[@]}")")
  done
  row "$name" "$(printf '%s\n' "${us[@]}" | median)" "$(printf '%s\n' "${ts[@]}" | median)" "$target"
}

echo "| case | untracked (median of $runs) | tracked | ratio | target |"
echo "|---|---|---|---|---|"
pair "check/run alloc_heavy 1000" "≤ 1.3×" "$bin" run $rust -- alloc_heavy 1000 :: "$bin" check $rust -- alloc_heavy 1000
pair "check/run cpp_churn 2000" "≤ 1.5×" "$bin" run $cpp -- 2000 :: "$bin" check $cpp -- 2000
pair "check/run rc_cycle 100000 (300,000 leaked blocks)" "≤ 2×" "$bin" run $rust -- rc_cycle 100000 :: "$bin" check $rust -- rc_cycle 100000
for n in 200 1000; do
  pair "node alloc_heavy $n" "≤ 3×" node --no-warnings scripts/bench/alloc_heavy.mjs $n :: "$bin" node scripts/bench/alloc_heavy.mjs $n
  # A first run: the module instrumented in the run, not taken from the cache (js/README.md).
  pair "node alloc_heavy $n, first run (WASMLEAK_CACHE=0)" "≤ 3×" node --no-warnings scripts/bench/alloc_heavy.mjs $n :: \
    env WASMLEAK_CACHE=0 "$bin" node scripts/bench/alloc_heavy.mjs $n
done
WASMLEAK_STATS=1 "$bin" check $rust -- rc_cycle 100000 2>&1 >/dev/null | grep 'tracker memory' || true

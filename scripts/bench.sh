#!/usr/bin/env bash
# Tracking overhead: `wasmleak check` vs `wasmleak run` (same engine, same WASI host, nothing tracked) on the
# allocation-heavy, leak-free fixture. Prints the median wall time of each over RUNS runs and the ratio.
# Usage: scripts/bench.sh [N iterations of alloc_heavy, default 1000] [RUNS, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/wasmleak-target}"
cargo build --release -q -p wasmleak
bin="$CARGO_TARGET_DIR/release/wasmleak"
n="${1:-1000}"
runs="${2:-5}"
module=fixtures/wasm/rust_patterns.wasm

. scripts/bench/lib.sh
run_ms=$(for _ in $(seq "$runs"); do time_of "$bin" run "$module" -- alloc_heavy "$n"; done | median)
check_ms=$(for _ in $(seq "$runs"); do time_of "$bin" check "$module" -- alloc_heavy "$n"; done | median)
events=$("$bin" check --format json "$module" -- alloc_heavy "$n" 2>/dev/null \
  | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["allocations"] + s["frees"])')
echo "alloc_heavy $n: $events allocator events"
echo "run:   ${run_ms} ms (median of $runs)"
echo "check: ${check_ms} ms (median of $runs)"
awk -v c="$check_ms" -v r="$run_ms" 'BEGIN { printf "ratio check/run: %.2fx\n", c / r }'

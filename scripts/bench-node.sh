#!/usr/bin/env bash
# Tracking overhead in Node: `wasmleak node` (the JS runtime attached: every allocator event recorded with its
# wasm + JS stack, the analysis at exit) vs plain `node`, on the allocation-heavy, leak-free alloc_heavy app.
# Prints the median wall time of each over RUNS runs and the ratio.
# Usage: scripts/bench-node.sh [N iterations of alloc_heavy, default 100] [RUNS, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/wasmleak-target}"
cargo build --release -q -p wasmleak
cargo build --release -q --target wasm32-unknown-unknown -p wasmleak-wasm
bin="$CARGO_TARGET_DIR/release/wasmleak"
app=scripts/bench/alloc_heavy.mjs
n="${1:-100}"
runs="${2:-5}"

. scripts/bench/lib.sh
node_ms=$(for _ in $(seq "$runs"); do time_of node --no-warnings "$app" "$n"; done | median)
leak_ms=$(for _ in $(seq "$runs"); do time_of "$bin" node "$app" "$n"; done | median)
events=$("$bin" node --format json "$app" "$n" 2>/dev/null \
  | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["allocations"] + s["frees"])')
echo "alloc_heavy $n under node: $events allocator events"
echo "node:          ${node_ms} ms (median of $runs)"
echo "wasmleak node: ${leak_ms} ms (median of $runs)"
awk -v c="$leak_ms" -v r="$node_ms" 'BEGIN { printf "ratio wasmleak node / node: %.2fx\n", c / r }'

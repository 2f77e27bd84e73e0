#!/usr/bin/env bash
# Every test: the wasm32 build of the analysis, the Rust workspace (nextest), then the JavaScript tests that load wasmleak's output in Chrome
# DevTools' own heap-snapshot parser and in headless Chromium (needs Node 20, npm and /usr/bin/chromium), and
# the JS runtime (js/), which loads the instrumenter and the analysis compiled to wasm32-unknown-unknown.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/wasmleak-target}"
# The wasm32 analysis first: `wasmleak node`'s tests (crates/cli/tests/node.rs) run the JS runtime with it.
cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm
cargo nextest run --release --workspace --no-fail-fast
cargo build --release -p wasmleak
cd tests/js
npm ci --no-audit --no-fund
WASMLEAK="$CARGO_TARGET_DIR/release/wasmleak" \
WASMLEAK_WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasmleak_wasm.wasm" \
    node --test

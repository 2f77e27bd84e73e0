#!/usr/bin/env bash
# Every test: the Rust workspace (nextest), then the JavaScript tests that load wasmleak's output in Chrome
# DevTools' own heap-snapshot parser and in headless Chromium (needs Node 20, npm and /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/wasmleak-target}"
cargo nextest run --release --workspace --no-fail-fast
cargo build --release -p wasmleak
cd tests/js
npm ci --no-audit --no-fund
WASMLEAK="$CARGO_TARGET_DIR/release/wasmleak" node --test

#!/usr/bin/env bash
# Every test: the wasm32 build of the analysis, the Rust workspace (nextest), then the JavaScript tests that load
# wasmleak's output in Chrome DevTools' own heap-snapshot parser and in headless Chromium, and the JS runtime
# (js/), which loads the instrumenter and the analysis compiled to wasm32-unknown-unknown; last, wasm-bindgen-test
# suites under wasmleak (scripts/wasm-bindgen-test.sh; it installs wasm-bindgen-cli 0.2.130 when missing, saying so).
#
# What it needs is checked first, in seconds: cargo-nextest, the wasm32-unknown-unknown target (added with
# rustup when missing, saying so), Node.js 20+ with npm, and Chromium (/usr/bin/chromium or $CHROMIUM).
# It builds into the same target directory as `cargo run` in the repository (./target) unless CARGO_TARGET_DIR
# says otherwise (CI shares /var/tmp/wasmleak-target between runs), so README's first command's build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

missing=()
cargo nextest --version >/dev/null 2>&1 || missing+=("cargo-nextest (cargo install cargo-nextest --locked)")
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  missing+=("Node.js 20 or newer on PATH")
fi
command -v npm >/dev/null || missing+=("npm (it installs the JavaScript tests' packages)")
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || missing+=("Chromium at $chromium for the browser tests (Debian: apt-get install chromium; or set CHROMIUM)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: missing, nothing was built:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != "wasm-bindgen-test-runner 0.2.130" ]; then
  echo "scripts/test.sh: the last step installs wasm-bindgen-cli 0.2.130 (cargo install, a few minutes once) to run wasm-bindgen-test suites under wasmleak"
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "scripts/test.sh: adding the wasm32-unknown-unknown target (rustup target add): the analysis runs in Node and browsers compiled to it"
  rustup target add wasm32-unknown-unknown
fi

# The wasm32 analysis first: `wasmleak node`'s tests (crates/cli/tests/node.rs) run the JS runtime with it.
cargo build --release --target wasm32-unknown-unknown -p wasmleak-wasm
cargo nextest run --release --workspace --no-fail-fast
cargo build --release -p wasmleak
cd tests/js
npm ci --no-audit --no-fund
WASMLEAK="$CARGO_TARGET_DIR/release/wasmleak" \
WASMLEAK_WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasmleak_wasm.wasm" \
CHROMIUM="$chromium" \
    node --test
cd ../..
scripts/wasm-bindgen-test.sh

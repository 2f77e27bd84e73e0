#!/usr/bin/env bash
# wasm-bindgen-test suites under wasmleak: fixtures/rust-bindgen-test's two suites run by wasm-bindgen-test-runner,
# whose node gets `--import …/register.mjs` through NODE_ARGS. The clean suite must pass with no finding; the
# leaky one must fail (exit status 1 from wasmleak) with its one lost 100-byte block named at its line.
# Needs wasm-bindgen-test-runner 0.2.130 (`cargo install wasm-bindgen-cli --version 0.2.130`; this script
# installs it when missing) and the analysis built for wasm32 (it builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
version=0.2.130
if [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" != "wasm-bindgen-test-runner $version" ]; then
  echo "wasm-bindgen-test.sh: installing wasm-bindgen-cli $version (cargo install, a few minutes)" >&2
  cargo install -q wasm-bindgen-cli --version "$version"
fi
cargo build --release -q --target wasm32-unknown-unknown -p wasmleak-wasm
export WASMLEAK_WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasmleak_wasm.wasm"
export NODE_ARGS="--import=$root/js/src/register.mjs"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
unset WASMLEAK_REPORT_FILE
cd fixtures/rust-bindgen-test
run() { cargo test --target wasm32-unknown-unknown --target-dir "${BINDGEN_TEST_TARGET_DIR:-/var/tmp/wasmleak-bindgen-test}" --test "$@" 2>&1; }

# Debug and release: a release build has no DWARF, so js-sys' one-time task queue is told by its names alone.
for mode in "" --release; do
  out=$(run clean $mode) || { echo "$out"; echo "FAIL: the clean suite ($mode) failed under wasmleak" >&2; exit 1; }
  grep -q "SUMMARY: leaked 0 B in 0 blocks" <<<"$out" || { echo "$out"; echo "FAIL: the clean suite's report ($mode) is not empty" >&2; exit 1; }
done
if out=$(run leaky); then echo "$out"; echo "FAIL: the leaky suite passed under wasmleak" >&2; exit 1; fi
grep -q "lost: 1 block, 100 B" <<<"$out" && grep -Eq "allocated at rust_bindgen_test::forget_buffer \(.*src/lib.rs:14\)" <<<"$out" \
  || { echo "$out"; echo "FAIL: the leaky suite's report does not name its lost block" >&2; exit 1; }
echo "wasm-bindgen-test under wasmleak: clean suite passes with nothing found (debug and release); leaky suite fails: lost 1 block, 100 B at forget_buffer (src/lib.rs:14)"

#!/usr/bin/env bash
# wasmleak as a cargo runner, on a real crate's own test suite and on a test that leaks:
#   CARGO_TARGET_WASM32_WASIP1_RUNNER="wasmleak check --" cargo test --target wasm32-wasip1 -q
# 1. itoa 1.0.19 (a small, popular crate: its unit and integration tests), copied from the cargo registry:
#    every test binary runs under wasmleak, the harness output stays as it is, nothing leaks: cargo test exits 0.
# 2. A crate whose one test forgets a Vec (`std::mem::forget`): wasmleak reports it lost and exits 1, so
#    cargo test fails.
# Needs cargo with the wasm32-wasip1 target and crates.io (or a registry that has itoa 1.0.19).
# Usage: scripts/cargo-runner.sh [WASMLEAK]   (default: target/release/wasmleak, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/release/wasmleak}"
[ -x "$bin" ] || cargo build --release -q -p wasmleak
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
work="${CARGO_RUNNER_DIR:-/var/tmp/wasmleak-cargo-runner}"
rm -rf "$work" && mkdir -p "$work"
export CARGO_TARGET_WASM32_WASIP1_RUNNER="$bin check --"
unset CARGO_TARGET_DIR

# 1. itoa's own tests. `cargo fetch` of a project that depends on it puts its source in the registry.
mkdir -p "$work/fetch/src" && cd "$work/fetch"
printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nitoa = "=1.0.19"\n' > Cargo.toml
echo 'fn main() {}' > src/main.rs
cargo fetch -q
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/itoa-1.0.19 | head -1)
cp -r "$src" "$work/itoa" && cd "$work/itoa"
echo "== itoa 1.0.19: cargo test --target wasm32-wasip1 -q, every test binary under wasmleak"
cargo test --target wasm32-wasip1 -q 2>&1 | tee "$work/itoa.log"
status=${PIPESTATUS[0]}
grep -q "test result: ok. 11 passed" "$work/itoa.log" && grep -q "SUMMARY: leaked 0 B in 0 blocks" "$work/itoa.log" ||
  { echo "cargo-runner.sh: itoa's tests did not all pass leak-free" >&2; exit 1; }
[ "$status" = 0 ] || { echo "cargo-runner.sh: cargo test exited $status on a leak-free suite" >&2; exit 1; }

# 2. A test that leaks fails the run.
mkdir -p "$work/leaky/src" && cd "$work/leaky"
printf '[package]\nname = "leaky"\nversion = "0.0.0"\nedition = "2021"\n' > Cargo.toml
cat > src/lib.rs <<'RS'
#[test]
fn forgets_a_vec() {
    let v = vec![7u8; 100];
    assert_eq!(v.len(), 100);
    std::mem::forget(v);
}
RS
echo "== leaky: one test forgets a 100-byte Vec"
set +e
cargo test --target wasm32-wasip1 -q 2>&1 | tee "$work/leaky.log"
status=${PIPESTATUS[0]}
set -e
grep -q "lost: 1 block, 100 B" "$work/leaky.log" && [ "$status" != 0 ] ||
  { echo "cargo-runner.sh: the leak was not reported, or cargo test passed (status $status)" >&2; exit 1; }
echo "cargo-runner.sh: ok (itoa: 13 tests, no leak, exit 0; leaky: lost 100 B reported, cargo test failed)"

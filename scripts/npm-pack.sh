#!/usr/bin/env bash
# The npm package of the JavaScript runtime (js/): its sources, the browser bundle (dist/runtime.js), types and the analysis compiled to wasm32 (its
# DWARF and names left out: what users download), packed with `npm pack`.
# Usage: scripts/npm-pack.sh [OUT_DIR, default ./target/npm]   prints the .tgz path
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out="$(mkdir -p "${1:-target/npm}" && cd "${1:-target/npm}" && pwd)"
cargo build --release -q --target wasm32-unknown-unknown -p wasmleak-wasm
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -r js/src js/dist js/package.json js/index.d.ts js/README.md "$stage/"
# Custom sections (DWARF, names, producers) dropped: the analysis needs none of them to run.
node -e '
const fs = require("fs");
const b = fs.readFileSync(process.argv[1]);
const out = [b.subarray(0, 8)];
let i = 8;
const leb = () => { let v = 0, s = 0, c; do { c = b[i++]; v += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80); return v; };
while (i < b.length) {
  const start = i, id = b[i++], size = leb(), end = i + size;
  if (id !== 0) out.push(b.subarray(start, end));
  i = end;
}
fs.writeFileSync(process.argv[2], Buffer.concat(out));
' "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasmleak_wasm.wasm" "$stage/analysis.wasm"
(cd "$stage" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out"/wasmleak-*.tgz

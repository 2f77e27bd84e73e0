#!/usr/bin/env bash
# js/dist/runtime.js: the browser runtime (js/src/browser.mjs and what it imports) as one classic script, bundled
# by esbuild (pinned in tests/js/package.json). Committed: `wasmleak serve` embeds it; tests/js/bundle.test.mjs
# fails when it is not what this script makes from js/src. Usage: scripts/bundle-js.sh [OUT, default js/dist/runtime.js]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-js/dist/runtime.js}"
[ -x tests/js/node_modules/.bin/esbuild ] || (cd tests/js && npm ci --silent --no-audit --no-fund)
mkdir -p "$(dirname "$out")"
tests/js/node_modules/.bin/esbuild js/src/browser.mjs --bundle --format=iife --target=es2022 --charset=utf8 \
  --legal-comments=none --log-level=warning --external:node:* \
  --banner:js="// wasmleak runtime for browsers: js/src bundled into one classic script by esbuild (scripts/bundle-js.sh). Do not edit." \
  --outfile="$out"

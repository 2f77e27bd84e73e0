#!/bin/bash
# Runs one built survey program under LeakSanitizer and `wasmleak check` (every wasm build), then prints a row per
# build. Usage: WASMLEAK=target/release/wasmleak scripts/validate/survey-lsan/run.sh NAME
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=${OUT:-/tmp/survey-lsan}; b=$root/build; o=$root/out; n=$1
W=${WASMLEAK:-wasmleak}
mkdir -p "$o"
ASAN_OPTIONS=detect_leaks=1:new_delete_type_mismatch=0:allocator_may_return_null=1 "$b/$n.asan" > "$o/$n.asan.out" 2> "$o/$n.asan.err"
echo "asan rc=$?" > "$o/$n.asan.rc"
for v in O0 O2 Oz O0.strip O2.strip Oz.strip; do
  timeout 120 "$W" check --format json "$b/$n.$v.wasm" > "$o/$n.$v.json" 2> "$o/$n.$v.err"; echo $? > "$o/$n.$v.rc"
done
cd "$root" && python3 "$here/summarize.py" "$n"

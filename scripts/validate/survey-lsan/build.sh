#!/bin/bash
# Builds one survey program: a native LeakSanitizer build (the oracle) and wasm32-wasi at -O0/-O2/-Oz, each also
# stripped (compile and link in separate steps: a linking -O2 runs wasm-opt, which drops the names).
# Usage: scripts/validate/survey-lsan/build.sh src/NAME.{c,cpp}     (outputs in $OUT, default /tmp/survey-lsan)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/survey-lsan}/build
mkdir -p "$out"
f=$here/$1; n=$(basename "$f"); n=${n%.*}
if [[ $f == *.cpp ]]; then
  CC=clang++-16; WX=(-isystem /usr/include/wasm32-wasi/c++/v1 -fno-exceptions); WL=(-lc++ -lc++abi)
else CC=clang-16; WX=(); WL=(); fi
$CC -fsanitize=address -g -O0 -fno-omit-frame-pointer "$f" -o "$out/$n.asan"
for O in O0 O2 Oz; do
  clang-16 --target=wasm32-wasi --sysroot=/usr "${WX[@]}" -g -$O -c "$f" -o "$out/$n.$O.o"
  clang-16 --target=wasm32-wasi --sysroot=/usr "$out/$n.$O.o" "${WL[@]}" -o "$out/$n.$O.wasm"
  cp "$out/$n.$O.wasm" "$out/$n.$O.strip.wasm"; wasm-strip "$out/$n.$O.strip.wasm"
done

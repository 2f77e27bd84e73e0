#!/bin/sh
# Rebuild the test modules (clang-16 + wasi-libc from /usr). Compile and link separately.
set -eu
cd "$(dirname "$0")"
# -fdebug-prefix-map makes DWARF paths independent of the checkout: comp_dir is "/src".
CC="clang-16 --target=wasm32-wasi --sysroot=/usr -fdebug-prefix-map=$(pwd)=/src"
# simple.wasm: -O0 with DWARF and a name section.
$CC -g -O0 -c simple.c -o simple.o
$CC simple.o -o simple.wasm
# simple_nodwarf.wasm: no DWARF, name section only.
$CC -O0 -c simple.c -o simple_nodwarf.o
$CC simple_nodwarf.o -Wl,--strip-debug -o simple_nodwarf.wasm
# simple_stripped.wasm: no DWARF, no name section (exports only).
$CC simple_nodwarf.o -Wl,--strip-all -o simple_stripped.wasm
# inline.wasm: -O1 with DWARF: alloc_node is inlined into build.
$CC -g -O1 -c inline.c -o inline.o
$CC inline.o -o inline.wasm
rm -f ./*.o
# rust_leak.wasm: Rust cdylib without DWARF (std's DWARF alone would be ~1.5 MB); name section with
# legacy (`_ZN..17h<hash>E`) and v0 (`_R..`) mangled names, incl. the `__rustc::__rust_alloc` shim.
rustc --edition 2024 --target wasm32-unknown-unknown --crate-type cdylib -C opt-level=1 -C panic=abort \
    -C debuginfo=0 -C strip=debuginfo rust_leak.rs -o rust_leak.wasm
# rust_pieces.wasm: no_std Rust at -O2 with full DWARF: statics split into pieces (DW_OP_addr … DW_OP_piece).
rustc --edition 2024 --target wasm32-unknown-unknown --crate-type cdylib -C opt-level=2 -C panic=abort \
    -C debuginfo=2 --remap-path-prefix="$(pwd)"=/src rust_pieces.rs -o rust_pieces.wasm
# widget.wasm: C++ at -O1 with DWARF (wasm-ld writes *demangled* C++ names into the name section).
clang++-16 --target=wasm32-wasi --sysroot=/usr -fno-exceptions -fdebug-prefix-map="$(pwd)"=/src -g -O1 -c widget.cc -o widget.o
clang++-16 --target=wasm32-wasi --sysroot=/usr -fno-exceptions widget.o -o widget.wasm
rm -f widget.o
# rust_lib_lto_line_tables.wasm (not rebuilt here): fixtures/wasm/rust_lib_lto.wasm as fixtures/build.sh
# built it while fixtures/rust/Cargo.toml had `debug = "line-tables-only"` (commit ef90459), kept to test
# line-tables-only Rust DWARF (bare `DW_AT_name`s with generic arguments, no variables).

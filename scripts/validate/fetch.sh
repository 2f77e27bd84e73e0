#!/usr/bin/env bash
# Fetch the validation corpus listed in packages.tsv into a cache outside the repo.
#   scripts/validate/fetch.sh [ID...]        (default: every line of packages.tsv)
# Cache: ${WASMLEAK_VALIDATE_CACHE:-/var/tmp/wasmleak-validate}
#   tarballs/   the npm tarballs (npm pack)
#   x/<tarball-name>/package/...   extracted
#   modules/<id>.wasm            the module, byte-for-byte as published (or decoded from base64)
#   modules/<id>.stripped.wasm   the same with every custom section removed (only when it has a `name` section)
# Idempotent: skips what is already there. Exits 0 when the registry is unreachable (prints SKIP per package);
# exits 1 only if a module that was downloaded fails to extract or its sha256 differs from truth.json.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${WASMLEAK_VALIDATE_CACHE:-/var/tmp/wasmleak-validate}"
mkdir -p "$cache/tarballs" "$cache/x" "$cache/modules"
tsv="$here/packages.tsv"
truth="$here/truth.json"
want=" $* "
fail=0; ok=0; skip=0

strip_custom() { # in out
  if command -v wasm-strip >/dev/null 2>&1; then
    cp "$1" "$2" && wasm-strip "$2"
  elif command -v llvm-objcopy-16 >/dev/null 2>&1; then
    llvm-objcopy-16 --strip-all "$1" "$2"
  else
    python3 "$here/strip.py" "$1" "$2"
  fi
}

while IFS=$'\t' read -r id pkg ver path toolchain notes; do
  [ "$id" = "id" ] && continue
  [ -z "$id" ] && continue
  if [ "$want" != "  " ] && [[ "$want" != *" $id "* ]]; then continue; fi
  out="$cache/modules/$id.wasm"
  base="${pkg#@}"; base="${base//\//-}-$ver"
  tgz="$cache/tarballs/$base.tgz"
  if [ ! -s "$out" ]; then
    if [ ! -s "$tgz" ]; then
      if ! npm pack "$pkg@$ver" --pack-destination "$cache/tarballs" >"$cache/tarballs/.npm-$id.log" 2>&1 || [ ! -s "$tgz" ]; then
        echo "SKIP $id: could not fetch $pkg@$ver from the npm registry (offline?) — see $cache/tarballs/.npm-$id.log"
        skip=$((skip+1)); continue
      fi
    fi
    dir="$cache/x/$base"
    if [ ! -d "$dir/package" ]; then
      mkdir -p "$dir" && tar -xzf "$tgz" -C "$dir" || { echo "FAIL $id: cannot extract $tgz"; fail=$((fail+1)); continue; }
    fi
    case "$path" in
      base64:*)
        js="${path#base64:}"
        python3 "$here/extract.py" "$dir/$js" "$out.tmp" || { echo "FAIL $id: no base64 wasm in $js"; rm -f "$out.tmp"; fail=$((fail+1)); continue; }
        mv "$out.tmp" "$out";;
      *)
        [ -f "$dir/$path" ] || { echo "FAIL $id: $path not in $pkg@$ver"; fail=$((fail+1)); continue; }
        cp "$dir/$path" "$out";;
    esac
  fi
  if python3 "$here/names.py" summary "$out" --json 2>/dev/null | grep -q '"name_section": true'; then
    [ -s "$cache/modules/$id.stripped.wasm" ] || strip_custom "$out" "$cache/modules/$id.stripped.wasm" \
      || { echo "FAIL $id: strip failed"; fail=$((fail+1)); continue; }
  fi
  if [ -f "$truth" ]; then
    exp="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["modules"].get(sys.argv[2],{}).get("sha256",""))' "$truth" "$id")"
    got="$(sha256sum "$out" | cut -d' ' -f1)"
    if [ -n "$exp" ] && [ "$exp" != "$got" ]; then
      echo "FAIL $id: sha256 $got differs from truth.json $exp"; fail=$((fail+1)); continue
    fi
  fi
  echo "ok   $id  $pkg@$ver  $path"
  ok=$((ok+1))
done < "$tsv"
echo "fetch.sh: $ok ok, $skip skipped (registry unreachable), $fail failed; modules in $cache/modules"
[ "$fail" -eq 0 ]

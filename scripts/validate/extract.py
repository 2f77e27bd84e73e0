#!/usr/bin/env python3
"""Extract a base64-embedded wasm module from a JS file.

  extract.py FILE.js OUT.wasm [N]

Finds every string literal whose content is base64 starting with `AGFzbQ` (the base64 of "\\0asm") and writes the
N-th (default 0) decoded. Handles data: URLs (`data:application/wasm;base64,AGFzbQ...`) too. Exits 1 if none.
"""
import base64
import re
import sys


def find(js):
    return [m.group(1) for m in re.finditer(r"[\"'`](?:data:application/(?:wasm|octet-stream);base64,)?(AGFzbQ[A-Za-z0-9+/=\\\s]*)[\"'`]", js)]


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    js = open(argv[1], encoding="utf-8", errors="replace").read()
    n = int(argv[3]) if len(argv) > 3 else 0
    blobs = find(js)
    if len(blobs) <= n:
        print("extract.py: %s has %d base64 wasm blobs, wanted #%d" % (argv[1], len(blobs), n), file=sys.stderr)
        return 1
    data = base64.b64decode(re.sub(r"[\\\s]", "", blobs[n]))
    if data[:4] != b"\0asm":
        print("extract.py: blob #%d does not decode to wasm" % n, file=sys.stderr)
        return 1
    with open(argv[2], "wb") as fh:
        fh.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

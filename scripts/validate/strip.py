#!/usr/bin/env python3
"""strip.py IN.wasm OUT.wasm — copy a module without its custom sections (fallback when wabt is missing)."""
import sys


def uleb(b, p):
    r = s = 0
    while True:
        x = b[p]; p += 1
        r |= (x & 0x7F) << s; s += 7
        if x < 0x80:
            return r, p


d = open(sys.argv[1], "rb").read()
out = bytearray(d[:8])
p = 8
while p < len(d):
    sid = d[p]
    size, q = uleb(d, p + 1)
    if sid != 0:
        out += d[p:q + size]
    p = q + size
open(sys.argv[2], "wb").write(out)

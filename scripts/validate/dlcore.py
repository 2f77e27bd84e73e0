#!/usr/bin/env python3
"""dlcore.py MODULE.wasm MALLOC FREE — given dlmalloc's malloc and free (index or export name), find the rest of a
stripped dlmalloc by call graph:
  realloc   (i32,i32)->i32 that calls malloc and free, > 300 bytes, first constant -64 (MAX_REQUEST check)
  calloc    (i32,i32)->i32 < 200 bytes calling malloc whose first constants are the 0xffff overflow check
  memalign  (i32,i32)->i32 that calls malloc and a (i32,i32)->() dispose_chunk but not free (internal_memalign)
  wrappers  functions <= 40 bytes that only forward to one of those (emscripten_builtin_memalign, operator new ...)
Also prints the static addresses malloc and free share (the dlmalloc `_gm_` state) as evidence.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import names  # noqa: E402


def analyse(m, mal, fre):
    cs = m.callers()
    out = {}
    shared = sorted(set(x for x in m.decode(mal)["consts"] if x > 1024) & set(x for x in m.decode(fre)["consts"] if x > 1024))
    out["shared_state"] = shared[:6]
    cand = {"realloc": [], "calloc": [], "memalign": [], "dispose_chunk": []}
    for c in set(cs.get(mal, [])):
        if m.sig(c) != "(i32,i32)->(i32)":
            continue
        calls = set(m.decode(c)["calls"])
        size = m.body_size(c)
        k = m.decode(c)["consts"]
        if fre in calls and size > 300 and k[:1] == [-64]:
            cand["realloc"].append(c)   # dlrealloc starts with `if (bytes >= MAX_REQUEST)` = -64
        elif size < 200 and 65536 in k[:4] and -1 in k[:4]:
            cand["calloc"].append(c)    # dlcalloc: `if ((n_elements | elem_size) & ~(size_t)0xffff)` overflow check
        elif fre not in calls and any(m.sig(x) == "(i32,i32)->()" and m.body_size(x) > 900 for x in calls):
            cand["memalign"].append(c)
            cand["dispose_chunk"] += [x for x in calls if m.sig(x) == "(i32,i32)->()" and m.body_size(x) > 900]
    out.update({k: sorted(set(v)) for k, v in cand.items()})
    wr = []
    for t in [mal, fre] + out["realloc"] + out["calloc"] + out["memalign"] if "--wrappers" in sys.argv else []:
        for c in set(cs.get(t, [])):
            if m.body_size(c) <= 40 and set(m.decode(c)["calls"]) == {t}:
                wr.append((c, t))
    out["wrappers"] = sorted(set(wr))
    return out


def main(argv):
    m = names.load(argv[1])
    mal, fre = m.resolve(argv[2]), m.resolve(argv[3])
    r = analyse(m, mal, fre)
    print("malloc %d size=%d  free %d size=%d  shared state addresses %s" % (mal, m.body_size(mal), fre, m.body_size(fre), r["shared_state"]))
    for k in ("realloc", "calloc", "memalign", "dispose_chunk"):
        for f in r[k]:
            print("  %-13s %d %s %s size=%d" % (k, f, m.label(f), m.sig(f), m.body_size(f)))
    for c, t in r["wrappers"]:
        print("  wrapper       %d %s %s size=%d -> %d" % (c, m.label(c), m.sig(c), m.body_size(c), t))


if __name__ == "__main__":
    main(sys.argv)

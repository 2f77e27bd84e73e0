#!/usr/bin/env python3
"""Read the JS glue shipped with a module and say which wasm export plays which allocator role.

  glue.py GLUE.js [MODULE.wasm]

Understands
  * Emscripten glue, plain or minified: `_malloc = Module["_malloc"] = wasmExports["Xa"]`,
    `var _malloc=a0=>(_malloc=wasmExports["I"])(a0)`, `_malloc=function(){return(_malloc=Module["asm"]["e"])...}`,
    closure-compiled `Ad=u._malloc=ie.Ad`, `g._malloc=A.Fe`, and the same for _free/_realloc/_calloc/
    _emscripten_builtin_*/_memalign/___libc_*.
  * wasm-bindgen glue: `wasm.__wbindgen_malloc`, and the anonymised `__wbindgen_export_N` exports, whose roles it
    infers from use: passStringToWasm0(arg, wasm.A, wasm.B) => A malloc, B realloc; passArray*ToWasm0(arg, wasm.A)
    => A malloc; wasm.X(ptr, len, align) in a `finally` after getStringFromWasm0 / getArray*FromWasm0 => X free.
With MODULE.wasm, each export is resolved to its function index and signature.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROLES = ["malloc", "free", "realloc", "calloc", "memalign", "aligned_alloc", "posix_memalign",
         "emscripten_builtin_malloc", "emscripten_builtin_free", "emscripten_builtin_memalign",
         "emscripten_builtin_calloc", "emscripten_builtin_realloc", "__libc_malloc", "__libc_free",
         "__libc_calloc", "__libc_realloc", "sbrk", "emscripten_stack_alloc", "stackAlloc", "_emscripten_stack_alloc"]

ID = r"[A-Za-z_$][\w$]*"


def emscripten_map(js):
    out = {}
    for role in ROLES:
        r = re.escape("_" + role)
        pats = [
            # closure: u._malloc=ie.Ad   /  Module._malloc=e.malloc
            r"\.%s\s*=\s*(%s)\.(%s)\b" % (r, ID, ID),
            # Module["_malloc"]=X["Y"] / _malloc=wasmExports["M"] / _malloc=Module["_malloc"]=wasmExports["kb"]
            r"(?<![\w$])%s\s*=\s*(?:Module\[[\"']%s[\"']\]\s*=\s*)?(%s)\[[\"'](%s)[\"']\]" % (r, r, ID, ID),
            r"Module\[[\"']%s[\"']\]\s*=\s*(?:%s\s*=\s*)?(%s)\[[\"'](%s)[\"']\]" % (r, r, ID, ID),
            # lazy arrow: _malloc=(Module["_malloc"]=)?(a0)=>(_malloc=(Module["_malloc"]=)?wasmExports["I"])(a0)
            r"(?<![\w$])%s\s*=\s*\(?(?:Module\[[\"']%s[\"']\]\s*=\s*)?\(?[\w$,\s]*\)?\s*=>\s*\(\s*%s\s*=\s*"
            r"(?:Module\[[\"']%s[\"']\]\s*=\s*)?(%s)\[[\"'](%s)[\"']\]" % (r, r, r, r, ID, ID),
            # old lazy: _malloc=Module["_malloc"]=function(){return(_malloc=Module["_malloc"]=Module["asm"]["e"])
            r"(?<![\w$])%s\s*=\s*(?:Module\[[\"']%s[\"']\]\s*=\s*)?function\(\)\s*\{\s*return\s*\(\s*%s\s*=\s*"
            r"(?:Module\[[\"']%s[\"']\]\s*=\s*)?Module\[[\"']asm[\"']\]\[[\"'](%s)[\"']\]" % (r, r, r, r, ID),
            # old closure lazy: Ib=h._malloc=function(){return(Ib=h._malloc=h.asm.I).apply(...)} / (a._free=a.asm.Yu)
            r"\.%s\s*=\s*function\(\)\s*\{\s*return\s*\(\s*(?:[\w$]+\s*=\s*)?[\w$]+\.%s\s*=\s*(%s)\.asm\.(%s)\s*\)" % (r, r, ID, ID),
            # ASSERTIONS builds: var _malloc = Module["_malloc"] = createExportWrapper("malloc", asm)
            r"(?<![\w$])%s\s*=\s*(?:Module\[[\"']%s[\"']\]\s*=\s*)?(createExportWrapper)\(\s*[\"'](%s)[\"']" % (r, r, ID),
            # old unminified: Module["_malloc"]=function(){return Module["asm"]["malloc"].apply(...)}
            r"Module\[[\"']%s[\"']\]\s*=\s*function\(\)\s*\{\s*return\s+(Module\[[\"']asm[\"']\])\[[\"'](%s)[\"']\]" % (r, ID),
        ]
        found = []
        for p in pats:
            for mt in re.finditer(p, js):
                g = mt.groups()
                exp = g[-1]
                obj = g[0] if len(g) > 1 else "Module.asm"
                if obj in ("Module",) or exp == "asm":
                    continue
                found.append((exp, obj, mt.start()))
        if found:
            names = sorted(set(f[0] for f in found))
            out[role] = dict(exports=names, evidence=js[max(0, found[0][2] - 20):found[0][2] + 110])
    return out


def bindgen_map(js):
    out = {}
    direct = sorted(set(re.findall(r"wasm\.(__wbindgen_(?:malloc|free|realloc)(?:_command_export)?)\b", js)))
    for d in direct:
        role = re.match(r"__wbindgen_(malloc|free|realloc)", d).group(1)
        out.setdefault("wbindgen_" + role, dict(exports=[], evidence="wasm.%s used in glue" % d))
        out["wbindgen_" + role]["exports"].append(d)
    anon = {}
    for mt in re.finditer(r"passStringToWasm0\(\s*[^,()]+,\s*wasm\.(%s)\s*,\s*wasm\.(%s)\s*\)" % (ID, ID), js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_malloc")
        anon.setdefault(mt.group(2), set()).add("wbindgen_realloc")
    for mt in re.finditer(r"pass(?:Array\w*|String)ToWasm0\(\s*[^,()]+,\s*wasm\.(%s)\s*\)" % ID, js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_malloc")
    for mt in re.finditer(r"finally\s*\{\s*wasm\.(%s)\(\s*[\w$]+\s*,\s*[\w$]+(?:\s*\*\s*\d+)?\s*,\s*\d+\s*\)" % ID, js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_free")
    for mt in re.finditer(r"if\s*\(\s*[\w$]+\s*!==\s*0\s*\)\s*\{\s*wasm\.(%s)\(\s*[\w$]+\s*,\s*[\w$]+(?:\s*\*\s*\d+)?\s*,\s*\d+\s*\)" % ID, js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_free")
    for mt in re.finditer(r"wasm\.(%s)\(\s*deferred\d+_0\s*,\s*deferred\d+_1(?:\s*\*\s*\d+)?\s*,\s*\d+\s*\)" % ID, js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_free")
    for mt in re.finditer(r"wasm\.(%s)\(\s*r0\s*,\s*r1(?:\s*\*\s*\d+)?\s*,\s*\d+\s*\)" % ID, js):
        anon.setdefault(mt.group(1), set()).add("wbindgen_free")
    for exp, roles in anon.items():
        if exp.startswith("__wbindgen_") and re.match(r"__wbindgen_(malloc|free|realloc)", exp):
            continue
        for role in roles:
            e = out.setdefault(role, dict(exports=[], evidence=""))
            if exp not in e["exports"]:
                e["exports"].append(exp)
            e["evidence"] = (e["evidence"] + "; " if e["evidence"] else "") + \
                "wasm.%s used as %s (passStringToWasm0/passArray*ToWasm0/finally-free pattern)" % (exp, role)
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    js = open(argv[1], encoding="utf-8", errors="replace").read()
    m = None
    if len(argv) > 2:
        import names
        m = names.load(argv[2])
        exports = {n: i for n, k, i in m.exports if k == 0}
    res = {}
    res.update(emscripten_map(js))
    res.update(bindgen_map(js))
    for role, d in res.items():
        line = "%-28s %s" % (role, ",".join(d["exports"]))
        if m is not None:
            parts = []
            for e in d["exports"]:
                if e in exports:
                    i = exports[e]
                    parts.append("func %d %s size=%d" % (i, m.sig(i), m.body_size(i)))
                else:
                    parts.append("(%s not a function export)" % e)
            line += "  -> " + "; ".join(parts)
        print(line)
        print("    evidence: %s" % d["evidence"].replace("\n", " ")[:200])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Inspect a .wasm module for allocator ground truth (no dependencies; Python 3.8+).

Subcommands:
  names.py alloc FILE            functions whose name (name section or export) matches an allocator
                                 pattern, with index, signature, body size and export names
  names.py summary FILE [--json] memory (shared/memory64), imports/exports counts, producers section,
                                 whether a `name` section is present, sha256
  names.py func FILE IDX|NAME    one function: signature, size, callees, globals touched, memory.grow,
                                 callers (needs a pass over all code)
  names.py tree FILE IDX|NAME [DEPTH]   call tree below a function (default depth 2)
  names.py exports FILE [REGEX]  exports (kind, index, signature)
  names.py grow FILE             functions that execute memory.grow, with their callers
  names.py wrappers FILE IDX...  small functions (<=64 bytes) calling the given ones (forwarding shims)
  names.py bysig FILE SIG LO HI  functions with signature SIG (as printed, e.g. "(i32)->()") and body size in
                                 [LO,HI], most-called first
  names.py shape FILE            allocator-shaped functions a shape-based finder would look at:
                                 (i32)->i32 / (i32)->() / (i32,i32)->i32 / (i32,i32,i32,i32)->i32 bodies
                                 that reach memory.grow within two calls or touch the same globals

Function indices are the wasm function index space (imported functions first), i.e. what
`wasm-objdump -x` and `wasm-tools` print.
"""
import hashlib
import json
import re
import sys
import struct

VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref",
            0x6F: "externref", 0x69: "exnref"}


class Reader:
    __slots__ = ("b", "p")

    def __init__(self, b, p=0):
        self.b = b
        self.p = p

    def byte(self):
        v = self.b[self.p]
        self.p += 1
        return v

    def u(self):
        r = 0
        s = 0
        b = self.b
        while True:
            x = b[self.p]
            self.p += 1
            r |= (x & 0x7F) << s
            s += 7
            if x < 0x80:
                return r

    def s(self, bits=64):
        r = 0
        s = 0
        b = self.b
        while True:
            x = b[self.p]
            self.p += 1
            r |= (x & 0x7F) << s
            s += 7
            if x < 0x80:
                if x & 0x40:
                    r -= 1 << s
                return r

    def name(self):
        n = self.u()
        v = self.b[self.p:self.p + n].decode("utf-8", "replace")
        self.p += n
        return v

    def valtype(self):
        t = self.byte()
        if t in (0x63, 0x64):  # (ref null? heaptype)
            ht = self.s()
            return ("ref null " if t == 0x63 else "ref ") + str(ht)
        return VALTYPES.get(t, hex(t))

    def limits(self):
        flags = self.u()
        mn = self.u()
        mx = self.u() if flags & 1 else None
        return flags, mn, mx


class Module:
    def __init__(self, data):
        self.data = data
        self.types = []          # (params, results)
        self.imports = []        # (module, field, kind, desc)
        self.func_types = []     # type index per function (imports first)
        self.n_imported_funcs = 0
        self.exports = []        # (name, kind, index)
        self.memories = []       # dict(imported, shared, memory64, min, max)
        self.globals_imported = 0
        self.code = {}           # func index -> (start, end) of body
        self.names = {}          # func index -> name (name section)
        self.module_name = None
        self.custom = []         # (name, size)
        self.producers = {}
        self.start = None
        self.has_name_section = False
        self.parse()
        self.export_names = {}
        for n, k, i in self.exports:
            if k == 0:
                self.export_names.setdefault(i, []).append(n)
        self._decoded = {}
        self._callers = None

    def parse(self):
        d = self.data
        if d[:4] != b"\0asm":
            raise ValueError("not a wasm module")
        if d[4:8] != b"\x01\0\0\0":
            raise ValueError("not a core module (component or unknown version %r)" % d[4:8])
        r = Reader(d, 8)
        n_local_funcs = 0
        while r.p < len(d):
            sid = r.byte()
            size = r.u()
            start = r.p
            end = start + size
            if sid == 0:
                nm = r.name()
                self.custom.append((nm, size))
                if nm == "name":
                    self.has_name_section = True
                    try:
                        self._parse_names(Reader(d, r.p), end)
                    except Exception as e:  # malformed name sections exist in the wild
                        print("warning: bad name section: %s" % e, file=sys.stderr)
                elif nm == "producers":
                    try:
                        self._parse_producers(Reader(d, r.p))
                    except Exception:
                        pass
            elif sid == 1:
                for _ in range(r.u()):
                    form = r.byte()
                    if form == 0x4E:  # rec group (GC) - not expected here
                        raise ValueError("GC rec types unsupported")
                    params = [r.valtype() for _ in range(r.u())]
                    results = [r.valtype() for _ in range(r.u())]
                    self.types.append((params, results))
            elif sid == 2:
                for _ in range(r.u()):
                    mod = r.name()
                    fld = r.name()
                    kind = r.byte()
                    if kind == 0:
                        t = r.u()
                        self.func_types.append(t)
                        self.n_imported_funcs += 1
                        desc = t
                    elif kind == 1:
                        r.valtype()
                        desc = r.limits()
                    elif kind == 2:
                        fl, mn, mx = r.limits()
                        self.memories.append(dict(imported="%s.%s" % (mod, fld), shared=bool(fl & 2),
                                                  memory64=bool(fl & 4), min=mn, max=mx))
                        desc = None
                    elif kind == 3:
                        r.valtype()
                        r.byte()
                        self.globals_imported += 1
                        desc = None
                    elif kind == 4:
                        r.byte()
                        desc = r.u()
                    else:
                        raise ValueError("import kind %d" % kind)
                    self.imports.append((mod, fld, kind, desc))
            elif sid == 3:
                for _ in range(r.u()):
                    self.func_types.append(r.u())
                    n_local_funcs += 1
            elif sid == 5:
                for _ in range(r.u()):
                    fl, mn, mx = r.limits()
                    self.memories.append(dict(imported=None, shared=bool(fl & 2), memory64=bool(fl & 4),
                                              min=mn, max=mx))
            elif sid == 7:
                for _ in range(r.u()):
                    nm = r.name()
                    k = r.byte()
                    i = r.u()
                    self.exports.append((nm, k, i))
            elif sid == 8:
                self.start = r.u()
            elif sid == 10:
                n = r.u()
                for i in range(n):
                    sz = r.u()
                    self.code[self.n_imported_funcs + i] = (r.p, r.p + sz)
                    r.p += sz
            r.p = end

    def _parse_names(self, r, end):
        while r.p < end:
            sub = r.byte()
            sz = r.u()
            nxt = r.p + sz
            if sub == 0:
                self.module_name = r.name()
            elif sub == 1:
                for _ in range(r.u()):
                    i = r.u()
                    self.names[i] = r.name()
            r.p = nxt

    def _parse_producers(self, r):
        for _ in range(r.u()):
            field = r.name()
            vals = []
            for _ in range(r.u()):
                vals.append((r.name(), r.name()))
            self.producers[field] = vals

    # ---- helpers -------------------------------------------------------------------------------
    def sig(self, f):
        if f >= len(self.func_types):
            return "?"
        p, res = self.types[self.func_types[f]]
        return "(%s)->(%s)" % (",".join(p), ",".join(res))

    def sig_tuple(self, f):
        p, res = self.types[self.func_types[f]]
        return tuple(p), tuple(res)

    def label(self, f):
        if f in self.names:
            return self.names[f]
        if f in self.export_names:
            return "export:" + "|".join(self.export_names[f])
        if f < self.n_imported_funcs:
            m, n, _, _ = [x for x in self.imports if x[2] == 0][f]
            return "import:%s.%s" % (m, n)
        return "func[%d]" % f

    def body_size(self, f):
        if f in self.code:
            s, e = self.code[f]
            return e - s
        return 0

    def resolve(self, spec):
        if re.fullmatch(r"\d+", spec):
            return int(spec)
        for i, n in self.names.items():
            if n == spec:
                return i
        for n, k, i in self.exports:
            if k == 0 and n == spec:
                return i
        raise SystemExit("no function named %r" % spec)

    # ---- code decoding ---------------------------------------------------------------------------
    def decode(self, f):
        """Return dict(calls=[...], indirect=n, grow=bool, gget=set, gset=set, loads=n, stores=n)."""
        if f in self._decoded:
            return self._decoded[f]
        info = dict(calls=[], indirect=0, grow=False, gget=set(), gset=set(), loads=0, stores=0,
                    atomics=0, insns=0, consts=[])
        if f not in self.code:
            self._decoded[f] = info
            return info
        s, e = self.code[f]
        r = Reader(self.data, s)
        for _ in range(r.u()):
            r.u()
            r.valtype()
        calls = info["calls"]
        gget = info["gget"]
        gset = info["gset"]
        u = r.u
        b = self.data
        n = 0
        while r.p < e:
            op = b[r.p]
            r.p += 1
            n += 1
            if op <= 0x01 or op == 0x05 or op == 0x0B or op == 0x0F or op == 0x19 or op == 0x1A \
                    or op == 0x1B or op == 0x0A or op == 0xD1 or op == 0xD3 or op == 0xD4:
                continue
            if op in (0x02, 0x03, 0x04, 0x06):
                r.s()
            elif op in (0x07, 0x08, 0x09, 0x0C, 0x0D, 0x18, 0xD5, 0xD6, 0x25, 0x26, 0x14, 0x15):
                u()
            elif op == 0x0E:
                for _ in range(u() + 1):
                    u()
            elif op == 0x10 or op == 0x12:
                calls.append(u())
            elif op == 0x11 or op == 0x13:
                u()
                u()
                info["indirect"] += 1
            elif op == 0x1C:
                for _ in range(u()):
                    r.valtype()
            elif op == 0x1F:
                r.s()
                for _ in range(u()):
                    k = r.byte()
                    if k in (0, 1):
                        u()
                    u()
            elif 0x20 <= op <= 0x22:
                u()
            elif op == 0x23:
                gget.add(u())
            elif op == 0x24:
                gset.add(u())
            elif 0x28 <= op <= 0x3E:
                a = u()
                if a & 0x40:
                    u()
                u()
                if op <= 0x35:
                    info["loads"] += 1
                else:
                    info["stores"] += 1
            elif op == 0x3F:
                u()
            elif op == 0x40:
                u()
                info["grow"] = True
            elif op == 0x41:
                v = r.s()
                if len(info["consts"]) < 64:
                    info["consts"].append(v)
            elif op == 0x42:
                r.s()
            elif op == 0x43:
                r.p += 4
            elif op == 0x44:
                r.p += 8
            elif 0x45 <= op <= 0xC4:
                continue
            elif op == 0xD0:
                r.s()
            elif op == 0xD2:
                u()
            elif op == 0xFC:
                sub = u()
                if sub <= 7:
                    pass
                elif sub in (8, 12, 14):
                    u()
                    u()
                elif sub == 10:
                    u()
                    u()
                    info["stores"] += 1
                elif sub == 11:
                    u()
                    info["stores"] += 1
                elif sub in (9, 13, 15, 16, 17):
                    u()
                else:
                    raise ValueError("func %d: unknown 0xFC %d at %d" % (f, sub, r.p))
            elif op == 0xFD:
                sub = u()
                if sub <= 11 or sub in (92, 93):
                    a = u()
                    if a & 0x40:
                        u()
                    u()
                elif sub in (12, 13):
                    r.p += 16
                elif 21 <= sub <= 34:
                    r.p += 1
                elif 84 <= sub <= 91:
                    a = u()
                    if a & 0x40:
                        u()
                    u()
                    r.p += 1
            elif op == 0xFE:
                sub = u()
                info["atomics"] += 1
                if sub == 3:
                    r.p += 1
                else:
                    a = u()
                    if a & 0x40:
                        u()
                    u()
            else:
                raise ValueError("func %d: unknown opcode 0x%02x at offset %d" % (f, op, r.p - 1))
        info["insns"] = n
        self._decoded[f] = info
        return info

    def callers(self):
        if self._callers is None:
            c = {}
            for f in self.code:
                for g in set(self.decode(f)["calls"]):
                    c.setdefault(g, []).append(f)
            self._callers = c
        return self._callers


# ---- allocator name patterns -----------------------------------------------------------------------
ALLOC_PATTERNS = [
    (r"^(_?_?libc_)?(malloc|calloc|realloc|free|aligned_alloc|memalign|posix_memalign|valloc|pvalloc|"
     r"reallocf|malloc_usable_size|realloc_in_place)$", "libc"),
    (r"^_(malloc|free|calloc|realloc)$", "emscripten-export"),
    (r"^dl(malloc|free|calloc|realloc|memalign|posix_memalign|realloc_in_place|malloc_usable_size|"
     r"bulk_free|independent_calloc|independent_comalloc|valloc|pvalloc)$", "dlmalloc"),
    (r"^(internal_memalign|internal_malloc|internal_free|try_realloc_chunk|tmalloc_(small|large)|"
     r"sys_alloc|sys_trim|dispose_chunk|release_unused_segments|init_mparams|prepend_alloc|add_segment)$",
     "dlmalloc-internal"),
    (r"^emscripten_builtin_(malloc|free|calloc|realloc|memalign)$", "emscripten-builtin"),
    (r"^(emmalloc_\w+|emscripten_(memalign|realloc_buffer))$", "emmalloc"),
    (r"^(operator new|operator delete)", "c++"),
    (r"^_Z(nw|na|dl|da)", "c++-mangled"),
    (r"__rust_(alloc|dealloc|realloc|alloc_zeroed|no_alloc_shim_is_unstable)", "rust"),
    (r"__rdl_(alloc|dealloc|realloc|alloc_zeroed)|__rg_(alloc|dealloc|realloc|alloc_zeroed)", "rust"),
    (r"^__wbindgen_(malloc|free|realloc)$|^__wbindgen_export_\d+$|^__externref_table_alloc$", "wasm-bindgen"),
    (r"dlmalloc::.*::(malloc|free|realloc|calloc|memalign|dispose_chunk|sys_trim|"
     r"release_unused_segments|insert_chunk|unlink_chunk)", "dlmalloc-rs"),
    (r"<dlmalloc::global::GlobalDlmalloc as core::alloc::global::GlobalAlloc>", "dlmalloc-rs"),
    (r"wee_alloc|lol_alloc|talc::|buddy_alloc|mimalloc|\bmi_(malloc|free|realloc|calloc)", "other-rust"),
    (r"^(napi_wasm_malloc|napi_wasm_free)$|^__heap_alloc|^__alloc$|^__new$|^__free$|^__renew$|"
     r"^__pin$|^__unpin$|^__collect$|^__retain$|^__release$", "other"),
    (r"^(runtime\.(alloc|mallocgc|free|markRoots|GC)|runtime\.alloc$)", "go/tinygo"),
    (r"^(std\.)?heap\.[\w.]*(alloc|free|resize|remap)|^(std\.)?mem\.Allocator\.|^(std\.)?heap\.\w+Allocator\.", "zig"),
    (r"^(sqlite3_(malloc|malloc64|free|realloc|realloc64)|sqlite3MemMalloc|sqlite3MemFree|"
     r"sqlite3MemRealloc)$", "sqlite"),
    (r"^(je_)?(mallocx|rallocx|sdallocx|dallocx)$|^tc_(malloc|free)", "other"),
    (r"^(sbrk|emscripten_resize_heap|__wasm_grow|_sbrk)$", "sbrk"),
]
ALLOC_RE = [(re.compile(p), k) for p, k in ALLOC_PATTERNS]


def classify(name):
    for rx, k in ALLOC_RE:
        if rx.search(name):
            return k
    return None


def load(path):
    with open(path, "rb") as fh:
        return Module(fh.read())


def cmd_summary(m, path, as_json=False):
    d = dict(
        file=path, bytes=len(m.data), sha256=hashlib.sha256(m.data).hexdigest(),
        imported_funcs=m.n_imported_funcs, defined_funcs=len(m.code), types=len(m.types),
        exports=len(m.exports), memories=m.memories, name_section=m.has_name_section,
        named_funcs=len(m.names), module_name=m.module_name,
        custom_sections=[n for n, _ in m.custom], producers=m.producers, start=m.start,
        imports_by_module={},
    )
    for mod, fld, kind, _ in m.imports:
        d["imports_by_module"][mod] = d["imports_by_module"].get(mod, 0) + 1
    if as_json:
        print(json.dumps(d, indent=1))
    else:
        for k, v in d.items():
            print("%-18s %s" % (k, v))


def cmd_alloc(m):
    rows = []
    idxs = set(m.names) | set(m.export_names)
    for i in sorted(idxs):
        labels = []
        if i in m.names:
            labels.append(m.names[i])
        labels += m.export_names.get(i, [])
        kinds = [classify(x) for x in labels]
        kinds = [k for k in kinds if k]
        if not kinds:
            continue
        rows.append((i, m.sig(i), m.body_size(i), ",".join(sorted(set(kinds))),
                     m.names.get(i, "-"), ",".join(m.export_names.get(i, [])) or "-"))
    for r in rows:
        print("%d\t%s\tsize=%d\t[%s]\t%s\texport=%s" % r)


def cmd_func(m, spec, show_callers=True):
    f = m.resolve(spec)
    info = m.decode(f)
    print("func %d %s %s size=%d insns=%d" % (f, m.label(f), m.sig(f), m.body_size(f), info["insns"]))
    print("  exports: %s" % m.export_names.get(f))
    print("  memory.grow: %s  loads=%d stores=%d atomics=%d indirect calls=%d" %
          (info["grow"], info["loads"], info["stores"], info["atomics"], info["indirect"]))
    print("  globals get=%s set=%s" % (sorted(info["gget"]), sorted(info["gset"])))
    print("  i32 consts: %s" % info["consts"][:24])
    seen = []
    for c in info["calls"]:
        if c not in seen:
            seen.append(c)
    for c in seen:
        print("  calls %d %s %s size=%d%s" % (c, m.label(c), m.sig(c), m.body_size(c),
                                               " GROWS" if m.decode(c)["grow"] else ""))
    if show_callers:
        cs = m.callers().get(f, [])
        print("  callers (%d):" % len(cs))
        for c in cs[:40]:
            print("    %d %s %s" % (c, m.label(c), m.sig(c)))


def cmd_tree(m, spec, depth=2):
    f = m.resolve(spec)

    def rec(g, d, seen):
        info = m.decode(g)
        print("%s%d %s %s size=%d%s" % ("  " * (depth - d), g, m.label(g), m.sig(g), m.body_size(g),
                                       " GROWS" if info["grow"] else ""))
        if d == 0 or g in seen:
            return
        seen.add(g)
        done = set()
        for c in info["calls"]:
            if c not in done:
                done.add(c)
                rec(c, d - 1, seen)

    rec(f, depth, set())


def cmd_exports(m, rx=None):
    kinds = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
    for n, k, i in m.exports:
        if rx and not re.search(rx, n):
            continue
        extra = ""
        if k == 0:
            extra = "%s size=%d%s" % (m.sig(i), m.body_size(i), (" name=" + m.names[i]) if i in m.names else "")
        print("%s\t%s\t%d\t%s" % (n, kinds.get(k, k), i, extra))


def cmd_grow(m):
    for f in sorted(m.code):
        if m.decode(f)["grow"]:
            print("%d %s %s size=%d" % (f, m.label(f), m.sig(f), m.body_size(f)))
            for c in m.callers().get(f, [])[:20]:
                print("   <- %d %s %s size=%d" % (c, m.label(c), m.sig(c), m.body_size(c)))


def cmd_shape(m):
    """Functions a shape-based allocator finder would consider."""
    grow = {f for f in m.code if m.decode(f)["grow"]}
    reach = set(grow)
    for _ in range(2):
        new = set()
        for f in m.code:
            if f not in reach and any(c in reach for c in m.decode(f)["calls"]):
                new.add(f)
        reach |= new
    shapes = {(("i32",), ("i32",)): "(i32)->i32", (("i32",), ()): "(i32)->()",
              (("i32", "i32"), ("i32",)): "(i32,i32)->i32", (("i32", "i32", "i32", "i32"), ("i32",)): "(i32x4)->i32",
              (("i32", "i32", "i32"), ("i32",)): "(i32x3)->i32", (("i32", "i32"), ()): "(i32,i32)->()",
              (("i32", "i32", "i32"), ()): "(i32x3)->()"}
    for f in sorted(reach):
        st = m.sig_tuple(f)
        if st not in shapes:
            continue
        info = m.decode(f)
        print("%d\t%s\t%s\tsize=%d\tgrow=%s\tgset=%s\t%s" % (f, shapes[st], m.label(f), m.body_size(f),
                                                          info["grow"], sorted(info["gset"]),
                                                          "callers=%d" % len(m.callers().get(f, []))))


def cmd_wrappers(m, specs):
    """Small functions (<= 64 bytes) that call one of the given functions: forwarding shims such as
    __rust_alloc -> __rdl_alloc, malloc -> dlmalloc, operator new -> malloc."""
    targets = [m.resolve(s) for s in specs]
    cs = m.callers()
    for t in targets:
        for c in cs.get(t, []):
            if m.body_size(c) <= 64:
                info = m.decode(c)
                print("%d %s %s size=%d calls=%s -> %d" % (c, m.label(c), m.sig(c), m.body_size(c),
                                                         sorted(set(info["calls"])), t))


def cmd_bysig(m, sig, lo, hi):
    """Functions of one signature within a body-size range, most-called first (finds an unexported dlfree)."""
    cs = m.callers()
    rows = []
    for f in m.code:
        if m.sig(f) == sig and lo <= m.body_size(f) <= hi:
            rows.append((len(cs.get(f, [])), f))
    for n, f in sorted(rows, reverse=True)[:15]:
        info = m.decode(f)
        print("%d %s %s size=%d callers=%d calls=%s grow=%s" % (f, m.label(f), m.sig(f), m.body_size(f), n,
                                                          sorted(set(info["calls"]))[:8], info["grow"]))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    cmd, path = argv[1], argv[2]
    m = load(path)
    if cmd == "summary":
        cmd_summary(m, path, "--json" in argv)
    elif cmd == "alloc":
        cmd_alloc(m)
    elif cmd == "func":
        for spec in argv[3:]:
            cmd_func(m, spec)
    elif cmd == "tree":
        cmd_tree(m, argv[3], int(argv[4]) if len(argv) > 4 else 2)
    elif cmd == "exports":
        cmd_exports(m, argv[3] if len(argv) > 3 else None)
    elif cmd == "grow":
        cmd_grow(m)
    elif cmd == "wrappers":
        cmd_wrappers(m, argv[3:])
    elif cmd == "bysig":
        cmd_bysig(m, argv[3], int(argv[4]), int(argv[5]))
    elif cmd == "shape":
        cmd_shape(m)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

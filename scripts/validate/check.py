#!/usr/bin/env python3
"""check.py [--readme README.md] [--missed] — run `wasmleak inspect --format json` on every module of the corpus (and its
stripped copy) and judge what it would hook against truth.json.

Verdicts, per module:
  ok        every hooked function is an allocator entry point of the truth, in a role of the same family and
            argument order, and a free (or realloc) is among them; or a module the truth says has no malloc-like
            heap (or memory64) is refused with a reason. A threaded module (shared memory) is judged on what
            discovery finds, as any other: `inspect` reads it, `check` refuses to track it (not built yet)
  WRONG     a hooked function the truth does not list, or lists with another role: the worst outcome
  refused   a malloc-like module wasmleak does not track (its reason is shown)
  partial   hooked right, but no free family entry point (frees would go unseen)
  GAP       a memalign/aligned_alloc of the truth that code outside the allocator calls is not hooked: the padded
            block its inner malloc reports is not the one the program frees
  BLIND     every hooked allocation (or free) function is one nothing inside the module calls (exports for the JS
            glue), while the truth lists one the program calls: the program's own allocations would go unseen

--missed: also list, per module, the truth's memalign/posix_memalign/aligned_alloc/realloc/calloc entry points
that nothing hooks (most are internal, called only through hooked ones; one that program code calls directly
is a gap: its blocks' frees look invalid, or their sizes go stale).

Needs the modules fetched by fetch.sh ($WASMLEAK_VALIDATE_CACHE, default /var/tmp/wasmleak-validate) and the
binary ($WASMLEAK, default target/release/wasmleak). Prints a markdown table; with --readme FILE it replaces
the table between the `<!-- validation -->` markers of FILE. Exits 1 when any verdict is WRONG, BLIND or GAP.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import names as wasm_names  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("WASMLEAK_VALIDATE_CACHE", "/var/tmp/wasmleak-validate")
WASMLEAK = os.environ.get("WASMLEAK", os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "wasmleak"))

# Families of roles (truth.json's and wasmleak's), and the argument order of the two-argument allocators.
FREE = {"free", "rust_dealloc", "rdl_dealloc", "wbindgen_free", "operator_delete", "operator_delete_aligned", "wrapper_free", "dlmalloc_free", "zig_free", "export_free"}
REALLOC = {"realloc", "rust_realloc", "rdl_realloc", "wbindgen_realloc", "header_realloc", "dlmalloc_realloc", "zig_resize", "zig_remap"}
SIZE_ALIGN = {"rust_alloc", "rdl_alloc", "rust_alloc_zeroed", "rdl_alloc_zeroed", "operator_new_aligned", "wbindgen_malloc"}
ALIGN_SIZE = {"memalign", "aligned_alloc"}
# `wrapper_memalign`: an (align, size) function that returns its inner malloc's block unchanged (Rust's
# `alloc(Layout)` for alignments malloc gives anyway): hooked or not, the program frees what malloc returned.
# Roles --missed lists when unhooked.
MISSABLE = {"memalign", "posix_memalign", "aligned_alloc", "realloc", "calloc"}


def family(role):
    return "free" if role in FREE else "realloc" if role in REALLOC else "alloc"


def compatible(truth_role, role):
    if family(truth_role) != family(role):
        return False
    if role == "header_realloc" or truth_role == "header_realloc":
        return role == truth_role
    if role in ("aligned_alloc",) and truth_role in SIZE_ALIGN:
        return False
    if role in ("rust_alloc",) and truth_role in ALIGN_SIZE:
        return False
    if role == "calloc" and truth_role not in ("calloc",):
        return False
    return True


def inspect(path):
    r = subprocess.run([WASMLEAK, "inspect", "--format", "json", path], capture_output=True, text=True)
    if r.returncode != 0:
        return {"allocator": {"status": "error", "message": r.stderr.strip(), "entry_points": []}}
    return json.loads(r.stdout)


def judge(t, j, callers=None):
    a = j["allocator"]
    eps = a["entry_points"]
    expect_refusal = t["memory64"] or t["heap"] != "malloc-like"
    allowed = {x["func"]: x["role"] for x in t["allocator"]}
    if a["status"] != "found":
        msg = (a.get("message") or "").replace("\n", " ")
        return ("ok" if expect_refusal else "refused"), msg
    if expect_refusal:
        return "WRONG", "hooked a module whose heap is " + ("memory64" if t["memory64"] else t["heap"])
    wrong = [f"func {e['func']} as {e['role']}" + (f" (truth: {allowed[e['func']]})" if e["func"] in allowed else " (not an entry point)")
             for e in eps if e["func"] not in allowed or not compatible(allowed[e["func"]], e["role"])]
    if wrong:
        return "WRONG", "; ".join(wrong)
    if not any(family(e["role"]) in ("free", "realloc") for e in eps):
        return "partial", "no free hooked"
    # An aligned allocator the program's own code calls, left unhooked: its blocks are reported by the malloc it
    # calls, at the padded address, so freeing the aligned one looks invalid (and is withheld from the allocator).
    if callers is not None:
        truth_funcs = {x["func"] for x in t["allocator"]}
        hooked_funcs = {e["func"] for e in eps}
        gaps = [x["func"] for x in t["allocator"] if x["role"] in ("memalign", "aligned_alloc") and x["func"] not in hooked_funcs
                and any(c not in truth_funcs for c in callers.get(x["func"], []))]
        if gaps:
            return "GAP", f"memalign {', '.join(map(str, gaps))} is called by the program and not hooked (its frees would look invalid)"
    # Hooking only functions nothing inside the module calls (the exports its JS glue allocates through) sees none
    # of the program's own allocations, while the truth names a layer the program does call.
    if callers is not None:
        called = lambda f: bool(callers.get(f))
        for fam in ("alloc", "free"):
            mine = [e["func"] for e in eps if family(e["role"]) == fam]
            inner = [x["func"] for x in t["allocator"] if family(x["role"]) == fam and called(x["func"])]
            if mine and inner and not any(called(f) for f in mine):
                return "BLIND", f"hooks only {fam} functions nothing in the module calls ({', '.join(map(str, mine))}); the program calls {', '.join(map(str, inner[:4]))}"
    return "ok", ", ".join(f"{e['func']} {e['role']}" for e in sorted(eps, key=lambda e: e["func"]))


def main():
    readme = sys.argv[sys.argv.index("--readme") + 1] if "--readme" in sys.argv else None
    truth = json.load(open(os.path.join(HERE, "truth.json")))["modules"]
    mods = os.path.join(CACHE, "modules")
    if not os.path.isdir(mods):
        print(f"no corpus in {mods}: run scripts/validate/fetch.sh first", file=sys.stderr)
        return 0
    rows, counts, bad = [], {}, False
    hooked = {}  # path -> the set of (func, role) it hooks
    for mid in sorted(truth):
        t = truth[mid]
        hooked = {}
        for variant in ("", ".stripped"):
            path = os.path.join(mods, f"{mid}{variant}.wasm")
            if not os.path.exists(path):
                continue
            start = time.time()
            j = inspect(path)
            ms = int((time.time() - start) * 1000)
            verdict, why = judge(t, j, wasm_names.load(path).callers())
            if "--missed" in sys.argv and j["allocator"]["status"] == "found":
                hooked_funcs = {e["func"] for e in j["allocator"]["entry_points"]}
                missed = [f"{a['func']} {a['role']} ({a['name'][:40]})" for a in t["allocator"]
                          if a["role"] in MISSABLE and a["func"] not in hooked_funcs]
                if missed:
                    print(f"{mid}{variant}: not hooked: " + "; ".join(missed), file=sys.stderr)
            hooked[variant] = {(e["func"], e["role"]) for e in j["allocator"]["entry_points"]}
            # The stripped copy of a module with names: the same code, the same indices; what it hooks is compared
            # with the named module's (names can find layers the shape leaves to the one it hooks, and back).
            if variant == ".stripped" and "" in hooked:
                same = hooked[""] == hooked[".stripped"]
                why += " — same entry points as the named module" if same else (
                    " — named module also: " + ", ".join(f"{f} {r}" for f, r in sorted(hooked[""] - hooked[".stripped"]))
                    + ("; not the named module's: " + ", ".join(f"{f} {r}" for f, r in sorted(hooked[".stripped"] - hooked[""]))
                       if hooked[".stripped"] - hooked[""] else ""))
            counts[verdict] = counts.get(verdict, 0) + 1
            bad |= verdict in ("WRONG", "BLIND", "GAP")
            names = "stripped" if variant or t["names"] == "stripped" else "names"
            if len(why) > 240:
                why = why[:237] + "..."
            rows.append(f"| {mid}{variant} | {t['package']}@{t['version']} | {t['toolchain']} | {names} | {t['heap']}{' (shared)' if t['shared_memory'] else ''} | {verdict} | {why.replace('|', '/')} | {ms} |")
    head = ("| module | package | toolchain | names | heap | verdict | entry points hooked, or why not | ms |\n"
            "|---|---|---|---|---|---|---|---|")
    summary = ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
    table = f"{head}\n" + "\n".join(rows) + f"\n\n{len(rows)} modules: {summary}."
    print(table)
    if readme:
        text = open(readme).read()
        a, b = "<!-- validation -->", "<!-- /validation -->"
        if a in text and b in text:
            text = text[: text.index(a) + len(a)] + "\n" + table + "\n" + text[text.index(b):]
            open(readme, "w").write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

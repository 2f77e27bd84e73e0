// wasmleak runtime for browsers: js/src bundled into one classic script by esbuild (scripts/bundle-js.sh). Do not edit.
(() => {
  var __create = Object.create;
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getProtoOf = Object.getPrototypeOf;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
    get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
  }) : x)(function(x) {
    if (typeof require !== "undefined") return require.apply(this, arguments);
    throw Error('Dynamic require of "' + x + '" is not supported');
  });
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
    // If the importer is in node compatibility mode or this is not an ESM
    // file that has been converted to a CommonJS file using a Babel-
    // compatible transform (i.e. "__esModule" has not been set), then set
    // "default" to the CommonJS "module.exports" for node compatibility.
    isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
    mod
  ));

  // js/src/index.mjs
  var index_exports = {};
  __export(index_exports, {
    analysisPath: () => analysisPath,
    attach: () => attach,
    diff: () => diffSnapshots,
    instrument: () => instrument,
    instrumentSync: () => instrumentSync,
    loadAnalysis: () => loadAnalysis,
    loadAnalysisSync: () => loadAnalysisSync,
    textOf: () => textOf,
    track: () => track
  });

  // js/src/glue.mjs
  var PLUMBING = /* @__PURE__ */ new Set([
    "dynCall",
    "dynCallLegacy",
    "getWasmTableEntry",
    "getDynCaller",
    "makeDynCaller",
    "invoke",
    "ccall",
    "cwrap",
    "apply",
    "call",
    "Reflect.apply"
  ]);
  function callerName() {
    const prepare = Error.prepareStackTrace, limit = Error.stackTraceLimit;
    let sites = [];
    try {
      Error.prepareStackTrace = (_, s) => s;
      Error.stackTraceLimit = 8;
      const holder = {};
      Error.captureStackTrace(holder, callerName);
      sites = holder.stack ?? [];
    } catch {
      sites = [];
    } finally {
      Error.prepareStackTrace = prepare;
      Error.stackTraceLimit = limit;
    }
    for (let i = 1; i < sites.length; i++) {
      const s = sites[i];
      if (typeof s.getFunction !== "function") continue;
      if (s.getThis?.() instanceof WebAssembly.Instance) break;
      const fn = s.getFunction();
      const own = typeof fn === "function" && typeof fn.name === "string" ? fn.name : "";
      if (own && !PLUMBING.has(own)) return own;
      let inferred = s.getFunctionName?.() ?? "";
      if (!inferred || inferred.includes("<computed>")) inferred = s.getMethodName?.() ?? "";
      if (inferred && !PLUMBING.has(inferred)) return inferred;
    }
    return null;
  }
  function asAddress(value, memory) {
    if (typeof value !== "number" || !Number.isInteger(value) || value === 0) return null;
    const a = value >>> 0;
    if (a % 4 !== 0) return null;
    if (memory && a >= memory.buffer.byteLength) return null;
    return a;
  }
  var INVOKE_TRAMPOLINE = /^_?invoke_[a-z]+$/;
  var INVOKE_SOURCE = /try\s*\{\s*(?:return\s+)?[\w$.]+\(\s*[\w$]+\s*\)\s*\([^()]*\)\s*;?\s*\}\s*catch\s*\(\s*([\w$]+)\s*\)\s*\{[^{}]*?\b\1\s*!==\s*\1\s*\+\s*0/;
  var isInvokeTrampoline = (k, f) => INVOKE_TRAMPOLINE.test(k) || INVOKE_TRAMPOLINE.test(f.name ?? "") || f.length >= 1 && INVOKE_SOURCE.test(sourceOf(f).slice(0, 400));
  var invokeCalling = false;
  function watchTable(table, memory, hold, calls) {
    if (Object.prototype.hasOwnProperty.call(table, "get")) return;
    const get = WebAssembly.Table.prototype.get;
    const wrappers = /* @__PURE__ */ new WeakMap();
    const wrap = (fn, index) => {
      let w = wrappers.get(fn);
      if (w) return w;
      w = function(...args) {
        const viaInvoke = invokeCalling;
        invokeCalling = false;
        const r = fn.apply(this, args);
        const a = viaInvoke ? null : asAddress(r, memory);
        if (a !== null) {
          const name = callerName() ?? `table[${index}]`;
          const call = (calls.get(name) ?? 0) + 1;
          calls.set(name, call);
          hold(a, `returned by ${name} (call ${call})`);
        }
        return r;
      };
      Object.defineProperty(w, "name", { value: fn.name });
      Object.defineProperty(w, "length", { value: fn.length });
      wrappers.set(fn, w);
      return w;
    };
    Object.defineProperty(table, "get", {
      configurable: true,
      writable: true,
      value: function(index, ...rest) {
        const fn = get.call(this, index, ...rest);
        return typeof fn === "function" ? wrap(fn, index) : fn;
      }
    });
  }
  function watchInstance(instance, hold) {
    const exports = instance?.exports ?? {};
    const values = Object.values(exports);
    const memory = values.find((v) => v instanceof WebAssembly.Memory);
    const calls = /* @__PURE__ */ new Map();
    for (const v of values) {
      if (v instanceof WebAssembly.Table) watchTable(v, memory, hold, calls);
    }
  }
  var EMBIND_CONTEXT_ARGS = {
    // (rawClassType, methodName, argCount, rawArgTypesAddr, invokerSignature, rawInvoker, context, ...)
    _embind_register_class_function: [6],
    // (classType, fieldName, getterReturnType, getterSignature, getter, getterContext, setterArgumentType,
    //  setterSignature, setter, setterContext)
    _embind_register_class_property: [5, 9],
    // (structType, fieldName, getterReturnType, getterSignature, getter, getterContext, setterArgumentType,
    //  setterSignature, setter, setterContext)
    _embind_register_value_object_field: [5, 9],
    // (rawTupleType, getterReturnType, getterSignature, getter, getterContext, setterArgumentType,
    //  setterSignature, setter, setterContext)
    _embind_register_value_array_element: [4, 8]
  };
  var EMBIND_REGISTRATION = /due to unbound types/;
  var sourceOf = (f) => Function.prototype.toString.call(f);
  function embindRegistration(f) {
    const src = sourceOf(f);
    return EMBIND_REGISTRATION.test(src) || (f.length === 9 || f.length === 10) && /\]\.[\w$]+\.push\(\{/.test(src);
  }
  var HARNESS_EXPORTS = /* @__PURE__ */ new Set(["wasmbindgentestcontext_new"]);
  var ARGUMENT_EXPORTS = /* @__PURE__ */ new Set(["__wbindgen_malloc", "__wbindgen_realloc"]);
  var BINDGEN_FREE = /^__wbg_\w+_free$/;
  var trappedNote = (n) => `${n} call${n === 1 ? "" : "s"} into the module ended in a trap that JavaScript caught (a Rust panic aborts on wasm32, as a #[should_panic] test's does; C's abort()): nothing those calls' frames owned was dropped or freed, so what they allocated and still held is reported lost or indirect — not a leak of the code that runs to completion`;
  var collectedNote = (n) => `${n} wasm-bindgen object${n === 1 ? " was" : "s were"} freed by JavaScript's garbage collector (the glue's FinalizationRegistry), not by .free(): a run in which it does not collect them leaks them — free them explicitly`;
  var BINDGEN_CLOSURE_WRAPPER = /^__wbindgen_closure_wrapper\d+$/;
  var BINDGEN_INTRINSIC = /^__wbindgen_(generic|cast)_[0-9a-f]+$/;
  var WRAP_CALL = /\.__wrap\(\s*([A-Za-z_$][\w$]*)\s*\)/g;
  function wrappedParams(f) {
    const src = sourceOf(f);
    if (!src.includes("__wrap(")) return null;
    const list = /^[^(=]*\(([^)]*)\)/.exec(src)?.[1] ?? /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src)?.[1] ?? "";
    const params = list.split(",").map((p) => p.trim());
    const found = new Set([...src.matchAll(WRAP_CALL)].map((m) => params.indexOf(m[1])).filter((i) => i >= 0));
    return found.size ? [...found] : null;
  }
  var EMVAL_CALL = /^_?_emval_call$/;
  var NAPI_FINALIZED = {
    __proto__: null,
    napi_wrap: [2, 4],
    napi_add_finalizer: [2, 4],
    napi_create_external: [1, 3],
    napi_create_external_arraybuffer: [1, 4],
    napi_create_external_buffer: [2, 4],
    napi_set_instance_data: [1, 3]
  };
  var EMVAL_ARGS_MAX = 64;
  var isBindgenClosure = (r) => typeof r === "function" && ("_wbg_cb_unref" in r || "original" in r);
  function wrapImports(imports, hold, wanted, word, release) {
    if (!imports || typeof imports !== "object") return imports;
    const out = { ...imports };
    wanted ??= Object.entries(imports).flatMap(([module, obj]) => obj && typeof obj === "object" ? Object.entries(obj).map(([name, v]) => ({ module, name, kind: typeof v === "function" ? "function" : "other" })) : []);
    const names = /* @__PURE__ */ new Map();
    for (const { module, name, kind } of wanted) {
      if (!names.has(module)) names.set(module, [[], []]);
      names.get(module)[0].push(name);
      if (kind === "function") names.get(module)[1].push(name);
    }
    for (const [ns, [keys, functions]] of names) {
      const obj = imports[ns];
      if (!functions.length || !obj || typeof obj !== "object") continue;
      let copy = null;
      const copyOf = () => Object.fromEntries(keys.map((n) => [n, obj[n]]));
      const replace = (k, f, wrapper) => {
        copy ??= copyOf();
        Object.defineProperty(wrapper, "name", { value: f.name });
        Object.defineProperty(wrapper, "length", { value: f.length });
        copy[k] = wrapper;
      };
      let embind;
      const isEmbind = () => embind ??= functions.some((n) => typeof obj[n] === "function" && EMBIND_REGISTRATION.test(sourceOf(obj[n])));
      for (const k of functions) {
        const f = obj[k];
        if (typeof f !== "function") continue;
        if (isInvokeTrampoline(k, f)) {
          replace(k, f, function(...args) {
            invokeCalling = true;
            try {
              return f.apply(this, args);
            } finally {
              invokeCalling = false;
            }
          });
          continue;
        }
        if (BINDGEN_CLOSURE_WRAPPER.test(k) || BINDGEN_INTRINSIC.test(k)) {
          const always = BINDGEN_CLOSURE_WRAPPER.test(k);
          const label2 = `closure handed to JS (${k})`;
          replace(k, f, function(...args) {
            const r = f.apply(this, args);
            const a = args[0];
            if ((always || isBindgenClosure(r)) && typeof a === "number" && a > 0) hold(a >>> 0, label2, { runtime: false });
            return r;
          });
          continue;
        }
        if (word && (EMVAL_CALL.test(k) || EMVAL_CALL.test(f.name ?? "")) && /\(\s*\w+\s*,\s*argCount\b/.test(sourceOf(f))) {
          const label2 = `passed to a JS function by Embind (${k})`;
          replace(k, f, function(handle, argCount, argTypes, argv, ...rest) {
            if (Number.isInteger(argCount) && argCount > 0 && argCount <= EMVAL_ARGS_MAX) {
              for (let i = 0; i < argCount; i++) {
                const v = word((argv >>> 0) + 8 * i);
                if (v) hold(v >>> 0, label2, { runtime: false });
              }
            }
            return f.call(this, handle, argCount, argTypes, argv, ...rest);
          });
          continue;
        }
        const napi = NAPI_FINALIZED[k];
        if (napi) {
          const label2 = `a JS object through ${k} (freed by its finalizer when JS's garbage collector collects the object)`;
          replace(k, f, function(...args) {
            const r = f.apply(this, args);
            for (const i of napi) {
              const v = args[i];
              if (typeof v === "number" && v > 0) hold(v >>> 0, label2, { runtime: false, strong: true });
            }
            return r;
          });
          continue;
        }
        if (k === "napi_remove_wrap" && word && release) {
          replace(k, f, function(...args) {
            const r = f.apply(this, args);
            const v = typeof args[2] === "number" && args[2] > 0 ? word(args[2] >>> 0) : 0;
            if (v) release(v >>> 0);
            return r;
          });
          continue;
        }
        const wrapped = wrappedParams(f);
        if (wrapped) {
          const label2 = `object handed to JS (${k})`;
          replace(k, f, function(...args) {
            for (const i of wrapped) {
              const v = args[i];
              if (typeof v === "number" && v > 0) hold(v >>> 0, label2, { runtime: false });
            }
            return f.apply(this, args);
          });
          continue;
        }
        const name = String(f.name ?? "").replace(/^_+/, "_");
        const idx = EMBIND_CONTEXT_ARGS[name];
        const minified = !idx && isEmbind() && embindRegistration(f);
        if (!idx && !minified) continue;
        const label = idx ? `Embind registration: ${name} context` : `Embind registration (import ${ns}.${k}) context`;
        replace(k, f, function(...args) {
          for (const i of idx ?? args.keys()) {
            const v = args[i];
            if (typeof v === "number" && v > 0) hold(v >>> 0, label, { runtime: true });
          }
          return f.apply(this, args);
        });
      }
      if (copy) out[ns] = copy;
    }
    return out;
  }

  // js/src/overlay.mjs
  var overlay_exports = {};
  __export(overlay_exports, {
    showOverlay: () => showOverlay,
    workerNote: () => workerNote
  });
  var PAGE = Math.random().toString(36).slice(2, 10);
  var CSS = `
:host { all: initial; position: fixed; right: 12px; bottom: 12px; z-index: 2147483647; }
.panel { font: 12px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; background: #fff;
  border: 1px solid #b9bec7; border-radius: 6px; box-shadow: 0 4px 16px rgba(0,0,0,.18); min-width: 260px;
  max-width: min(640px, calc(100vw - 24px)); max-height: calc(100vh - 24px); display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 6px; padding: 4px 8px; background: #27313f; color: #fff;
  border-radius: 5px 5px 0 0; }
header b { flex: 1; font-weight: 600; }
header button { all: unset; cursor: pointer; padding: 0 4px; color: #fff; }
.body { padding: 8px; overflow: auto; }
.panel.min .body { display: none; }
.buttons { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.buttons button { font: inherit; padding: 3px 10px; border: 1px solid #8a93a1; border-radius: 4px; background: #f3f5f8;
  color: #1d1d1f; cursor: pointer; }
.buttons button:hover:not(:disabled) { background: #e2e7ee; }
.buttons button:disabled { opacity: .5; cursor: default; }
a { color: #0b57d0; }
.status { margin-top: 6px; color: #4a5260; }
.msg { margin-top: 2px; white-space: pre-wrap; }
.msg.error { color: #b3261e; }
table { border-collapse: collapse; margin-top: 6px; width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: 2px; }
th, td { padding: 1px 6px; border-bottom: 1px solid #e4e7eb; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; word-break: break-word; max-width: 360px; }
.grow { color: #b3261e; } .shrink { color: #1a7f37; }
`;
  var fmtBytes = (n) => {
    const a = Math.abs(n);
    return a < 1024 ? `${n} B` : a < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
  };
  var signed = (n) => n > 0 ? `+${n}` : `${n}`;
  var plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  function workerNote(workers) {
    const shown = workers.slice(0, 3).join(", ") + (workers.length > 3 ? `, and ${workers.length - 3} more` : "");
    return `${workers.length === 1 ? "a Web Worker" : `${workers.length} Web Workers`} the page started (${shown}): wasm run in a worker is not tracked (in a browser, wasmleak tracks the page's own thread, and the workers of a threaded module)`;
  }
  function showOverlay(leak, { server = false } = {}) {
    const doc = globalThis.document;
    if (!doc) return null;
    const base = server === true ? "" : typeof server === "string" && server ? server.replace(/\/+$/, "") : null;
    const host = doc.createElement("div");
    host.id = "wasmleak-overlay";
    host.dataset.wasmleak = "overlay";
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${CSS}</style>
<div class="panel" part="panel">
  <header><b>wasmleak</b><button type="button" data-wasmleak="minimize" title="Minimize">–</button></header>
  <div class="body">
    <div class="buttons">
      <button type="button" id="wasmleak-snapshot" data-wasmleak="snapshot">Take snapshot</button>
      <button type="button" id="wasmleak-compare" data-wasmleak="compare" disabled title="Take two snapshots first">Compare</button>
      ${base === null ? "" : `<a id="wasmleak-report" data-wasmleak="report" href="${base}/__wasmleak/report" target="_blank" rel="noopener">HTML report</a>`}
    </div>
    <div class="status" data-wasmleak="status">loading the analysis…</div>
    <div class="msg" data-wasmleak="message"></div>
    <div data-wasmleak="result"></div>
  </div>
</div>`;
    const $ = (name) => root.querySelector(`[data-wasmleak="${name}"]`);
    const snapBtn = $("snapshot"), cmpBtn = $("compare"), status = $("status"), message = $("message"), result = $("result");
    const own = [];
    const taken = () => Array.isArray(leak.snapshots) ? leak.snapshots : own;
    let state2 = "loading";
    let busy = false;
    function say(text, isError = false) {
      message.textContent = text;
      message.classList.toggle("error", isError);
    }
    function refresh() {
      const snaps = taken();
      snapBtn.disabled = busy || state2 !== "ready";
      cmpBtn.disabled = busy || state2 !== "ready" || snaps.length < 2;
      if (state2 === "loading") return;
      const parts = [plural(leak.instances?.length ?? 0, "module") + " tracked"];
      const skipped = leak.skipped?.length ?? 0;
      if (skipped) parts.push(`${skipped} skipped`);
      const workers = leak.workers ?? [];
      if (workers.length) parts.push(`${plural(workers.length, "worker")} not tracked`);
      parts.push(plural(snaps.length, "snapshot"));
      const last = snaps[snaps.length - 1];
      if (last) parts.push(`${fmtBytes(last.modules.reduce((n, m) => n + (m.summary?.bytes ?? 0), 0))} live`);
      status.textContent = parts.join(" · ");
      status.title = (leak.skipped ?? []).map((s) => `${s.name}: ${s.reason}`).concat(workers.length ? [workerNote(workers)] : []).join("\n");
    }
    async function post(m) {
      const url = `${base}/__wasmleak/snapshots?module=${encodeURIComponent(m.module)}&page=${PAGE}`;
      const r = await fetch(url, { method: "POST", body: m.bytes, headers: { "Content-Type": "application/octet-stream" } });
      if (!r.ok) throw new Error(`the server refused the snapshot of ${m.module}: HTTP ${r.status} ${(await r.text()).trim()}`);
    }
    async function takeSnapshot() {
      busy = true;
      refresh();
      say("taking a snapshot…");
      try {
        const s = await leak.snapshot();
        if (!Array.isArray(leak.snapshots)) own.push(s);
        if (!s.modules.length) {
          say(`snapshot ${s.index}: no module with an allocator is tracked yet`);
        } else {
          if (base !== null) for (const m of s.modules) await post(m);
          const what = s.modules.map((m) => `${m.module} ${fmtBytes(m.summary?.bytes ?? 0)} in ${plural(m.summary?.blocks ?? 0, "block")}`);
          say(`snapshot ${s.index}: ${what.join(", ")}${base !== null ? " (sent to the report)" : ""}`);
        }
        return s;
      } catch (e) {
        say(`snapshot failed: ${e?.message ?? e}`, true);
        throw e;
      } finally {
        busy = false;
        refresh();
      }
    }
    function compare() {
      const snaps = taken();
      if (snaps.length < 2) {
        say("take two snapshots first: one before the action you suspect, one after repeating it", true);
        return null;
      }
      const [a, b] = snaps.slice(-2);
      let d;
      try {
        d = leak.diff(a, b, { by: "site" });
      } catch (e) {
        say(`compare failed: ${e?.message ?? e}`, true);
        throw e;
      }
      result.replaceChildren();
      for (const m of d.modules) result.append(table(m));
      say(d.modules.length ? `snapshot ${a.index} → ${b.index}` : `snapshot ${a.index} → ${b.index}: no module is in both`);
      return d;
    }
    function table(m) {
      const t = doc.createElement("table");
      t.dataset.module = m.module;
      const cap = t.createCaption();
      const delta = (m.after?.bytes ?? 0) - (m.before?.bytes ?? 0);
      cap.textContent = `${m.module}: ${signed(delta)} B (${fmtBytes(m.before?.bytes ?? 0)} → ${fmtBytes(m.after?.bytes ?? 0)})`;
      const head = t.createTHead().insertRow();
      for (const h of ["site", "Δ bytes", "Δ blocks", "new"]) {
        const th = doc.createElement("th");
        th.textContent = h;
        head.append(th);
      }
      const body = t.createTBody();
      const rows = (m.rows ?? []).filter((r) => r.delta_bytes || r.delta_blocks || r.new_blocks).sort((x, y) => y.delta_bytes - x.delta_bytes).slice(0, 12);
      for (const r of rows) {
        const tr = body.insertRow();
        tr.dataset.site = r.site;
        tr.dataset.deltaBytes = r.delta_bytes;
        tr.dataset.deltaBlocks = r.delta_blocks;
        tr.dataset.newBlocks = r.new_blocks;
        const name = r.type ? `${r.type} from ${r.site}` : r.site;
        const cells = [name, signed(r.delta_bytes), signed(r.delta_blocks), String(r.new_blocks)];
        cells.forEach((text, i) => {
          const td = tr.insertCell();
          td.textContent = text;
          if (i === 0) td.title = (r.stack ?? []).map((f) => `${f.function ?? "?"}${f.file ? ` (${f.file}:${f.line ?? "?"})` : ""}`).join("\n");
          else if (i < 3) td.className = r.delta_bytes > 0 ? "grow" : r.delta_bytes < 0 ? "shrink" : "";
        });
      }
      if (!rows.length) {
        const td = body.insertRow().insertCell();
        td.colSpan = 4;
        td.textContent = "no change";
      }
      return t;
    }
    snapBtn.addEventListener("click", () => takeSnapshot().catch(() => {
    }));
    cmpBtn.addEventListener("click", () => {
      try {
        compare();
      } catch {
      }
    });
    $("minimize").addEventListener("click", () => root.querySelector(".panel").classList.toggle("min"));
    Promise.resolve(leak.ready).then(
      () => {
        state2 = "ready";
        refresh();
      },
      (e) => {
        state2 = "failed";
        status.textContent = "the analysis did not load";
        say(String(e?.message ?? e), true);
        refresh();
      }
    );
    const timer = setInterval(() => {
      if (state2 !== "loading" && !busy) refresh();
    }, 1e3);
    const mount = () => (doc.body ?? doc.documentElement).append(host);
    if (doc.body) mount();
    else doc.addEventListener("DOMContentLoaded", mount, { once: true });
    return { element: host, takeSnapshot, compare, refresh, stop: () => clearInterval(timer) };
  }

  // js/src/stacks.mjs
  var asCallSites = (_, callSites2) => callSites2;
  function callSites(limit) {
    const prepare = Error.prepareStackTrace, oldLimit = Error.stackTraceLimit;
    Error.prepareStackTrace = asCallSites;
    Error.stackTraceLimit = limit;
    const holder = {};
    Error.captureStackTrace(holder, callSites);
    const sites = holder.stack;
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = oldLimit;
    return Array.isArray(sites) ? sites : [];
  }
  var SELF_DIR = (() => {
    const file = callSites(1)[0]?.getFileName?.() ?? "";
    return file.slice(0, file.lastIndexOf("/") + 1) || null;
  })();
  function runtimeCaller() {
    for (const s of callSites(16)) {
      const file = s.getFileName();
      if (!file || SELF_DIR && file.startsWith(SELF_DIR)) continue;
      return file.startsWith("node:") ? file : null;
    }
    return null;
  }
  function appFrame(limit = 64) {
    const sites = callSites(limit);
    for (const s of sites) {
      const file = s.getFileName?.();
      if (!file || file.startsWith("node:") || file.startsWith("wasm://") || file.includes("/node_modules/")) continue;
      if (SELF_DIR && file.startsWith(SELF_DIR)) continue;
      return `${file}:${s.getLineNumber?.()}:${s.getColumnNumber?.()}`;
    }
    return sites.length >= limit ? "?" : null;
  }
  var webidlFiles = /* @__PURE__ */ new Map();
  var ENSURE_CACHE = /\{\s*buffer\s*:\s*0\s*,\s*size\s*:\s*0\s*,\s*pos\s*:\s*0\s*,\s*temps\s*:\s*\[\]\s*,\s*needed\s*:\s*0\s*,/g;
  function webidlFile(file, fs) {
    let f = webidlFiles.get(file);
    if (f) return f;
    f = { spans: [], lines: [0] };
    webidlFiles.set(file, f);
    let text;
    try {
      text = fs.readFileSync(file.startsWith("file:") ? new URL(file) : file, "utf8");
    } catch {
      return f;
    }
    for (const m of text.matchAll(ENSURE_CACHE)) {
      let depth = 0, i = m.index;
      for (; i < text.length; i++) {
        if (text[i] === "{") depth++;
        else if (text[i] === "}" && --depth === 0) break;
      }
      f.spans.push([m.index, i]);
    }
    if (f.spans.length) for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) f.lines.push(i + 1);
    return f;
  }
  function inWebidlCache() {
    const fs = globalThis.process?.getBuiltinModule?.("fs");
    if (!fs) return false;
    let foreign = 0;
    for (const s of callSites(12)) {
      const file = s.getFileName?.();
      if (!file || SELF_DIR && file.startsWith(SELF_DIR) || file.startsWith("wasm://")) continue;
      if (file.startsWith("node:") || ++foreign > 3) return false;
      const f = webidlFile(file, fs);
      const at = (f.lines[(s.getLineNumber?.() ?? 1) - 1] ?? -1) + (s.getColumnNumber?.() ?? 1) - 1;
      if (f.spans.some(([a, b]) => at > a && at < b)) return true;
    }
    return false;
  }

  // js/src/threads.mjs
  var EV_ALLOC = 1;
  var EV_FREE = 2;
  var EV_REALLOC = 3;
  var EV_STACK = 8;
  var OWN_FRAMES = 4294967295;
  var KEY = "wasmleak.threads";
  var UNTRACKED = "wasmleak.untracked";
  var untrackedWorkers = [];
  function reportUntracked() {
    if (!globalThis.document && typeof globalThis.postMessage === "function" && globalThis[Symbol.for(KEY)]) {
      globalThis.postMessage({ [UNTRACKED]: true });
    }
  }
  var MAX_BYTES = 1 << 30;
  var encoder = new TextEncoder();
  var RUNTIME_URL = globalThis.document?.currentScript?.src || null;
  var state;
  function sharedState() {
    if (state !== void 0) return state;
    state = null;
    if (typeof SharedArrayBuffer === "undefined" || !("grow" in SharedArrayBuffer.prototype)) return state;
    const wt = globalThis.process?.getBuiltinModule?.("node:worker_threads");
    if (wt) {
      let buffers = wt.isMainThread ? null : wt.getEnvironmentData(KEY);
      if (wt.isMainThread) {
        buffers = newBuffers();
        wt.setEnvironmentData(KEY, buffers);
      }
      if (buffers) state = new Shared(buffers, wt.threadId);
    } else if (globalThis[Symbol.for(KEY)]) {
      const { buffers, tid } = globalThis[Symbol.for(KEY)];
      state = new Shared(buffers, tid);
    } else if (globalThis.document && globalThis.crossOriginIsolated && RUNTIME_URL && globalThis.Worker) {
      const buffers = newBuffers();
      state = new Shared(buffers, 0, true);
      wrapWorkers(buffers);
    }
    return state;
  }
  function newBuffers() {
    return {
      lock: new SharedArrayBuffer(4),
      log: new SharedArrayBuffer(1 << 20, { maxByteLength: MAX_BYTES }),
      // A count per 4-byte word: how many live blocks start there (2 for a moment when a realloc moved a block
      // and another thread got the old address before the realloc's hook ran).
      live: new SharedArrayBuffer(1 << 16, { maxByteLength: MAX_BYTES }),
      // Set by the main thread when it instruments a threaded module: workers then provide the hooks.
      module: new SharedArrayBuffer(4)
    };
  }
  function wrapWorkers(buffers) {
    const Native = globalThis.Worker;
    let next = 1;
    class Worker extends Native {
      constructor(url, options) {
        let src = new URL(url, globalThis.location.href).href;
        if (src.startsWith("blob:")) src = URL.createObjectURL(new Blob([readNow(src)], { type: "text/javascript" }));
        const boot = (options?.type === "module" ? MODULE_BOOT : CLASSIC_BOOT).replace("RUNTIME_URL", () => JSON.stringify(RUNTIME_URL)).replaceAll("SCRIPT_URL", () => JSON.stringify(src));
        super(URL.createObjectURL(new Blob([boot], { type: "text/javascript" })), options);
        Native.prototype.postMessage.call(this, { [KEY]: { buffers, tid: next++ } });
        const shown = String(url);
        this.addEventListener("message", (e) => {
          if (!e.data || typeof e.data !== "object" || !e.data[UNTRACKED]) return;
          e.stopImmediatePropagation();
          if (!untrackedWorkers.includes(shown)) untrackedWorkers.push(shown);
        });
      }
    }
    globalThis.Worker = Worker;
  }
  function readNow(url) {
    const r = new XMLHttpRequest();
    r.open("GET", url, false);
    r.send();
    return r.responseText;
  }
  var BOOT_INIT = `
  if (!e.data || !e.data[${JSON.stringify(KEY)}]) return;
  self.removeEventListener('message', init);
  e.stopImmediatePropagation();
  self[Symbol.for(${JSON.stringify(KEY)})] = e.data[${JSON.stringify(KEY)}];`;
  var BOOT_BASE = `const base = SCRIPT_URL;
  const abs = (u) => (typeof u === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(u) ? new URL(u, base).href : u);
  if (self.importScripts) { const imp = self.importScripts; self.importScripts = (...u) => imp.apply(self, u.map(abs)); }
  if (self.fetch) { const f = self.fetch; self.fetch = (input, init) => f.call(self, abs(input), init); }
  if (self.XMLHttpRequest) {
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (m, u, ...rest) { return open.call(this, m, abs(u), ...rest); };
  }
  if (self.Worker) { const W = self.Worker; self.Worker = class Worker extends W { constructor(u, o) { super(abs(u), o); } }; }`;
  var CLASSIC_BOOT = `self.addEventListener('message', function init(e) {${BOOT_INIT}
  importScripts(RUNTIME_URL);
  wasmleak.attach();
  ${BOOT_BASE}
  importScripts(SCRIPT_URL);
});`;
  var MODULE_BOOT = `const held = [];
const hold = (e) => { e.stopImmediatePropagation(); held.push(e); };
self.addEventListener('message', async function init(e) {${BOOT_INIT}
  await import(RUNTIME_URL);
  wasmleak.attach();
  ${BOOT_BASE}
  await import(SCRIPT_URL);
  self.removeEventListener('message', hold);
  for (const m of held) self.dispatchEvent(new MessageEvent('message', { data: m.data, ports: [...m.ports] }));
});
self.addEventListener('message', hold);`;
  var Shared = class {
    /** `spin`: this thread cannot Atomics.wait (a page's main thread). */
    constructor({ lock, log, live, module }, tid, spin = false) {
      this.spin = spin;
      this.buffers = { lock, log, live, module };
      this.lockWord = new Int32Array(lock);
      this.log = new Uint32Array(log);
      this.liveBuffer = live;
      this.live = new Uint8Array(live);
      this.moduleWord = new Int32Array(module);
      this.tid = tid;
      this.ownFrames = /* @__PURE__ */ new Map();
      if (this.log[0] === 0) Atomics.compareExchange(this.log, 0, 0, 1);
    }
    /** The main thread claims the one threaded module of the process; false when another has it. */
    claim() {
      return Atomics.compareExchange(this.moduleWord, 0, 0, 1) === 0;
    }
    lock() {
      const L = this.lockWord;
      let c = Atomics.compareExchange(L, 0, 0, 1);
      if (c === 0) return;
      if (this.spin) {
        while (Atomics.compareExchange(L, 0, 0, 1) !== 0) ;
        return;
      }
      if (c !== 2) c = Atomics.exchange(L, 0, 2);
      while (c !== 0) {
        Atomics.wait(L, 0, 2);
        c = Atomics.exchange(L, 0, 2);
      }
    }
    unlock() {
      const L = this.lockWord;
      if (Atomics.sub(L, 0, 1) !== 1) {
        Atomics.store(L, 0, 0);
        Atomics.notify(L, 0, 1);
      }
    }
    /** Room for `words` more words in the log (the lock is held). */
    room(words) {
      const need = (this.log[0] + words) * 4;
      const buf = this.log.buffer;
      if (need <= buf.byteLength) return;
      let size = buf.byteLength;
      while (size < need) size *= 2;
      if (size > buf.maxByteLength) throw new Error("wasmleak: the threads event log is full (1 GiB)");
      buf.grow(size);
    }
    append(kind, a, b, c, lo, hi) {
      this.room(6);
      const l = this.log, n = l[0];
      l[n] = kind | this.tid << 8;
      l[n + 1] = a;
      l[n + 2] = b;
      l[n + 3] = c;
      l[n + 4] = lo;
      l[n + 5] = hi;
      l[0] = n + 6;
    }
    /** Mark a block starting at `ptr` live (the lock is held). Addresses that are not 4-aligned are not kept. */
    born(ptr) {
      if (!ptr || ptr & 3) return;
      const i = ptr >>> 2;
      if (i >= this.live.length) {
        let size = this.liveBuffer.byteLength;
        while (size <= i) size *= 2;
        this.liveBuffer.grow(Math.min(size, MAX_BYTES));
      }
      if (this.live[i] < 255) this.live[i]++;
    }
    /** Forget a live block at `ptr`; false when there is none (an invalid or double free). Not 4-aligned: true. */
    died(ptr) {
      if (ptr & 3) return true;
      const i = ptr >>> 2;
      if (i >= this.live.length || this.live[i] === 0) return false;
      this.live[i]--;
      return true;
    }
    isLive(ptr) {
      if (ptr & 3) return true;
      const i = ptr >>> 2;
      return i < this.live.length && this.live[i] > 0;
    }
    /** The log's records so far, taken out of it (main thread). `locked`: the caller holds the lock. */
    take(locked = false) {
      if (!locked) this.lock();
      const n = this.log[0];
      const words = this.log.slice(1, n);
      this.log[0] = 1;
      if (!locked) this.unlock();
      return words;
    }
    /**
     * Run `f` holding the lock: no thread records an allocator event meanwhile (each waits at its next hook). What
     * a heap state is read under (threads.mjs: the allocator's events and the memory agree); the threads' other
     * writes go on, so a block held only in a running thread's variables can look unreachable in it.
     */
    holding(f) {
      this.lock();
      try {
        return f();
      } finally {
        this.unlock();
      }
    }
    /** Words in the log now (no lock: a hint). */
    used() {
      return Atomics.load(this.log, 0);
    }
    /**
     * The hook imports of one thread's instance. `frames()` gives the current stack's frames (wasm frames of this
     * instance as [func, offset], JS frames as {function, file, line, column}), or null without stacks; a context's
     * frames are logged the first time this thread sees it.
     */
    hooks(frames) {
      const seen = /* @__PURE__ */ new Map();
      const def = (lo, hi) => {
        let his = seen.get(lo);
        if (his?.has(hi)) return;
        if (!his) seen.set(lo, his = /* @__PURE__ */ new Set());
        his.add(hi);
        const f = frames();
        if (!f) return;
        const own = this.tid === 0;
        if (own) this.ownFrames.set(`${lo},${hi}`, f);
        const bytes = own ? null : encoder.encode(JSON.stringify(f));
        const words = own ? 0 : bytes.length + 3 >>> 2;
        this.holding(() => {
          this.room(4 + words);
          const l = this.log, n = l[0];
          l[n] = EV_STACK | this.tid << 8;
          l[n + 1] = lo;
          l[n + 2] = hi;
          l[n + 3] = own ? OWN_FRAMES : bytes.length;
          if (!own) new Uint8Array(l.buffer, (n + 4) * 4, words * 4).set(bytes);
          l[0] = n + 4 + words;
        });
      };
      return {
        alloc_ctx: (ptr, size, lo, hi) => {
          def(lo, hi);
          this.holding(() => {
            this.born(ptr >>> 0);
            this.append(EV_ALLOC, ptr >>> 0, size >>> 0, 0, lo, hi);
          });
        },
        free_ctx: (ptr, lo, hi) => {
          def(lo, hi);
          this.holding(() => this.append(EV_FREE, ptr >>> 0, 0, ptr && !this.died(ptr >>> 0) ? 1 : 0, lo, hi));
        },
        free_check_ctx: (ptr, lo, hi) => {
          def(lo, hi);
          return this.holding(() => {
            const live = this.died(ptr >>> 0);
            this.append(EV_FREE, ptr >>> 0, 0, live ? 0 : 1, lo, hi);
            return live ? 1 : 0;
          });
        },
        // Before a realloc of a non-null pointer: 0 (not a live block) makes the module skip its allocator.
        check: (ptr) => this.holding(() => {
          if (this.isLive(ptr >>> 0)) return 1;
          this.append(EV_FREE, ptr >>> 0, 0, 1, 0, 0);
          return 0;
        }),
        realloc_ctx: (old, ptr, size, lo, hi) => {
          def(lo, hi);
          this.holding(() => {
            old >>>= 0;
            ptr >>>= 0;
            size >>>= 0;
            if (ptr !== 0 || size === 0) {
              this.born(ptr);
              if (old) this.died(old);
            }
            this.append(EV_REALLOC, old, ptr, size, lo, hi);
          });
        }
      };
    }
  };

  // js/src/tracker.mjs
  var EV_ALLOC2 = 1;
  var EV_FREE2 = 2;
  var EV_REALLOC2 = 3;
  var EV_SET_STACK = 4;
  var EV_FREE_HEAD = 5;
  var EV_CLOCK = 6;
  var EV_MOVE = 7;
  var CLOCK_EVERY = 512;
  var NO_STACK = 4294967295;
  var JS_FRAME = 4294967295;
  var FLUSH_EVENTS = 1 << 16;
  var fromUtf8 = new TextDecoder();
  function track(instrumented, imports = {}, { stacks = true, maxFrames = 64, shared = null, moduleImports = null } = {}) {
    const t = new Tracker(instrumented, stacks, maxFrames);
    if (shared) {
      t.shared = shared;
      imports.wasmleak = shared.hooks(() => stacks ? framesNow(t.instance, maxFrames) : null);
      t.imports = imports;
      return t;
    }
    imports.wasmleak = {
      alloc_ctx: (ptr, size, lo, hi) => t.alloc(ptr >>> 0, size >>> 0, lo, hi),
      free_ctx: (ptr, lo, hi) => t.free(ptr >>> 0, lo, hi),
      realloc_ctx: (old, ptr, size, lo, hi) => t.realloc(old >>> 0, ptr >>> 0, size >>> 0, lo, hi),
      // Asked before a realloc of a non-null pointer: 0 (not a live block) makes the module skip its allocator;
      // the invalid free is recorded here, with its stack.
      check: (ptr) => t.check(ptr >>> 0),
      // A free of a non-null pointer, checked and recorded in one call (1: a live block, freed now).
      free_check_ctx: (ptr, lo, hi) => t.freeChecked(ptr >>> 0, lo, hi)
    };
    const functions = moduleImports ? moduleImports.filter((i) => i.kind === "function").map((i) => [i.module, i.name]) : Object.entries(imports).flatMap(([ns, fns]) => fns && typeof fns === "object" ? Object.keys(fns).map((name) => [ns, name]) : []);
    const exits = [["wasi_snapshot_preview1", "proc_exit"], ["wasi_unstable", "proc_exit"], ["env", "exit"]];
    for (const [ns, name] of functions) {
      const f = imports[ns]?.[name];
      if (typeof f === "function" && EXIT_FUNCTIONS.has(f.name) && !exits.some(([n, m]) => n === ns && m === name)) exits.push([ns, name]);
    }
    for (const [ns, name] of exits) {
      const exit = imports[ns]?.[name];
      if (typeof exit !== "function") continue;
      const original = imports[ns];
      const copy = moduleImports ? Object.fromEntries(functions.filter(([n]) => n === ns).map(([, f]) => [f, original[f]])) : { ...original };
      if (moduleImports) {
        for (const i of moduleImports) if (i.module === ns && i.kind !== "function") copy[i.name] = original[i.name];
      }
      imports[ns] = {
        ...copy,
        [name](code, ...rest) {
          t.exited = { code: code | 0, frames: framesNow(t.instance, EXIT_FRAMES).filter(Array.isArray) };
          return exit.call(this, code, ...rest);
        }
      };
    }
    t.imports = imports;
    return t;
  }
  var EXIT_FRAMES = 1024;
  var EXIT_FUNCTIONS = /* @__PURE__ */ new Set(["_exit", "_proc_exit", "exit", "proc_exit"]);
  var THREADS_NOTE = "a threaded module: the report was read holding the allocator's log (no thread allocated or freed meanwhile), but the other threads were not stopped, and a block a thread still running held only in its wasm locals (not in memory) cannot be seen and counts as lost: join or end the threads before the report for exact numbers";
  var mixedNote = (n) => `${n} calling context${n === 1 ? " was" : "s were"} reached from more than one line of JavaScript: blocks allocated there before the second caller was noticed (at the context's 2nd, 4th, 8th… allocation) show the first caller's JS frames (wasmleak's js/README.md, "Which stacks are captured")`;
  var RESOLVE_AT = 5e4;
  var NO_CTX = -1;
  var FREE_SALT = 1540483477;
  var Tracker = class {
    constructor(instrumented, stacks, maxFrames) {
      this.instrumented = instrumented;
      this.stacks = stacks;
      this.maxFrames = maxFrames;
      this.initFrame = "?";
      this.lowest = Infinity;
      this.appHeld = false;
      this.instance = null;
      this.session = 0;
      this.events = new Uint32Array(5 * 1024);
      this.n = 0;
      this.wordsView = null;
      this.lastAlloc = 0;
      this.lastHead = 0;
      this.splits = instrumented.meta?.splits !== false;
      this.started = performance.now();
      this.pending = /* @__PURE__ */ new Map();
      this.callDepth = 0;
      this.epoch = 0;
      this.epochCaptures = /* @__PURE__ */ new Map();
      this.bits = new Uint8Array(1 << 16);
      this.odd = /* @__PURE__ */ new Set();
      this.ctxMask = (1 << 12) - 1;
      this.ctxLo = new Int32Array(this.ctxMask + 1);
      this.ctxHi = new Int32Array(this.ctxMask + 1);
      this.ctxStack = new Int32Array(this.ctxMask + 1);
      this.ctxSeen = new Uint32Array(this.ctxMask + 1);
      this.ctxMixed = new Uint8Array(this.ctxMask + 1);
      this.contexts = 0;
      this.captures = 0;
      this.seq = 0;
      this.stackIds = /* @__PURE__ */ new Map();
      this.newStacks = [];
      this.jsFrameIds = /* @__PURE__ */ new Map();
      this.newJsFrames = [];
      this.hostValues = /* @__PURE__ */ new Map();
      this.runtimeValues = /* @__PURE__ */ new Map();
      this.shared = null;
      this.sharedStacks = /* @__PURE__ */ new Map();
      this.sharedLive = /* @__PURE__ */ new Set();
      this.sharedLate = /* @__PURE__ */ new Map();
    }
    /** Threads: move the shared log's records into this tracker's events, in the log's order. */
    drainShared(locked = false) {
      const w = this.shared.take(locked);
      for (let i = 0; i < w.length; ) {
        const kind = w[i] & 255;
        if (kind === EV_STACK) {
          const len = w[i + 3], key = `${w[i + 1] | 0},${w[i + 2] | 0}`, own = len === OWN_FRAMES;
          if (!this.sharedStacks.has(key)) {
            const frames = own ? this.shared.ownFrames.get(key) : JSON.parse(fromUtf8.decode(new Uint8Array(w.buffer, w.byteOffset + (i + 4) * 4, len)));
            this.sharedStacks.set(key, this.internFrames(frames));
          }
          if (own) this.shared.ownFrames.delete(key);
          i += 4 + (own ? 0 : len + 3 >>> 2);
          continue;
        }
        const a = w[i + 1], b = w[i + 2], c = w[i + 3];
        const stack = this.sharedStacks.get(`${w[i + 4] | 0},${w[i + 5] | 0}`) ?? NO_STACK;
        if (kind === EV_ALLOC2) {
          this.sharedBorn(a);
          this.event(EV_ALLOC2, a, b, 0, stack);
        } else if (kind === EV_FREE2) {
          if (a && this.hostValues.size) this.hostValues.delete(a);
          if (!c) this.sharedLive.delete(a);
          this.event(EV_FREE2, a, 0, 0, stack);
        } else if (b === 0 && c !== 0) {
          this.event(EV_REALLOC2, a, b, c, stack);
        } else {
          if (a !== b && this.hostValues.size) this.hostValues.delete(a);
          const late = a !== b && this.sharedLate.get(a);
          if (late) {
            if (late > 1) this.sharedLate.set(a, late - 1);
            else this.sharedLate.delete(a);
            if (b) {
              this.sharedBorn(b);
              this.event(EV_ALLOC2, b, c, 0, stack);
            }
          } else {
            if (a !== b) this.sharedLive.delete(a);
            if (a !== b) this.sharedBorn(b);
            this.event(EV_REALLOC2, a, b, c, stack);
          }
        }
        i += 6;
      }
    }
    /** Threads: a block allocated at `ptr`; an address still live counts one late realloc report (drainShared). */
    sharedBorn(ptr) {
      if (!ptr) return;
      if (this.sharedLive.has(ptr)) this.sharedLate.set(ptr, (this.sharedLate.get(ptr) ?? 0) + 1);
      else this.sharedLive.add(ptr);
    }
    /** Intern frames as `framesOf` gives them (this thread's, or another's from the shared log). */
    internFrames(list) {
      const frames = [];
      let key = "";
      for (const f of list) {
        if (Array.isArray(f)) {
          frames.push(f);
          key += `${f[0]}:${f[1]},`;
        } else {
          const id = this.jsFrameId(f);
          frames.push([JS_FRAME, id]);
          key += `j${id},`;
        }
      }
      return this.intern(key, frames);
    }
    attach(instance) {
      this.instance = instance;
      this.open();
      this.exports = instance.exports;
      return this;
    }
    /** The exports of `instance` wasmleak added (memory, globals) included. */
    exportsOf(instance) {
      return instance && instance === this.instance ? this.exports : instance?.exports;
    }
    /**
     * Record a number JS now holds (a pointer an export returned, a glue handle). `runtime`: the glue keeps it
     * for the module's lifetime (Embind's registration data), a root like static data rather than a handle the
     * app should free.
     */
    hold(value, label, { runtime = false, strong = false, opaque = false } = {}) {
      if (!(value > 0)) return;
      if (this.shared && this.shared.used() > 1) this.drainShared();
      if (runtime) return void this.runtimeValues.set(value >>> 0, label);
      const frame = !strong && !this.appHeld && this.isLive(value >>> 0) ? appFrame() : "?";
      if (frame === null || frame !== "?" && frame === this.initFrame) {
        strong = true;
        label += frame === null ? ", by the package itself (no app code on the JS stack)" : ", by the package itself (while the app instantiated it)";
      } else if (frame !== "?") {
        this.appHeld = true;
      }
      this.hostValues.set(value >>> 0, { label, seq: this.seq, strong, opaque });
    }
    /** JS no longer holds `value` (the module took it back: napi_remove_wrap). */
    release(value) {
      this.hostValues.delete(value);
    }
    alloc(ptr, size, lo, hi) {
      if (this.lastAlloc) this.settle(ptr);
      if (!ptr) return this.event(EV_ALLOC2, 0, size, 0, NO_STACK);
      this.setLive(ptr);
      const slot = this.context(lo, hi);
      this.event(EV_ALLOC2, ptr, size, 0, slot !== NO_CTX && this.ctxMixed[slot] ? this.born(ptr, slot) : this.contextStack(slot));
      if (this.pending.size >= RESOLVE_AT) this.resolve();
      if (this.splits && !(ptr & 7) && !this.shared) {
        let words = this.wordsView;
        if (!words || ptr >>> 2 >= words.length) words = this.words();
        this.lastHead = words[ptr - 4 >>> 2];
        this.lastAlloc = ptr;
      }
    }
    free(ptr, lo, hi) {
      if (ptr) this.freeChecked(ptr, lo, hi);
      else this.event(EV_FREE2, 0, 0, 0, NO_STACK);
    }
    /** Free `ptr` (not null): 1 when it was a live block, 0 (an invalid free, recorded) when not. */
    freeChecked(ptr, lo, hi) {
      if (this.hostValues.size) this.hostValues.delete(ptr);
      if (this.lastAlloc && this.settle(ptr) === ptr) return 1;
      if (!this.died(ptr)) {
        this.event(EV_FREE2, ptr, 0, 0, this.stackNow());
        return 0;
      }
      const w = ptr >>> 2;
      let words = this.wordsView;
      if (!words || w + 3 >= words.length) words = this.words();
      const stack = this.contextStack(this.context(lo === void 0 ? lo : lo ^ FREE_SALT, hi));
      let a = 0, b = 0, c = 0, d = 0;
      if ((ptr & 3) === 0 && w + 3 < words.length) {
        a = words[w];
        b = words[w + 1];
        c = words[w + 2];
        d = words[w + 3];
        a = a && !(a & 3) && this.isLive(a) ? a : 0;
        b = b && !(b & 3) && this.isLive(b) ? b : 0;
        c = c && !(c & 3) && this.isLive(c) ? c : 0;
        d = d && !(d & 3) && this.isLive(d) ? d : 0;
      }
      if (a | b | c | d) {
        this.room(15);
        this.event(EV_FREE_HEAD, ptr, a, b, stack);
        const e = this.events, n = this.n;
        e[n] = c;
        e[n + 1] = d;
        e[n + 2] = 0;
        e[n + 3] = 0;
        e[n + 4] = 0;
        this.n = n + 5;
      } else {
        this.event(EV_FREE2, ptr, 0, 0, stack);
      }
      return 1;
    }
    /**
     * Whether the allocator split the last allocation since: dlmalloc's memalign/posix_memalign, inlined into a
     * caller the hooks cannot see (wasm-opt -O2 puts it into libc++abi's __cxa_allocate_exception), takes a larger
     * block from malloc — hooked: the block at `a` — then gives its leading part back and hands out an aligned
     * block inside it, which the program later frees (without this: an invalid free of an address malloc never
     * returned, and the leader's address handed out again while still "live"). Told by the chunk headers
     * (docs/contracts.md, "Blocks the allocator splits") before any other allocator call could reuse the leader:
     * the word before `a`, the chunk's size when malloc returned, changed; walking the chunks from there, past
     * free ones (their successor's previous-in-use bit says so) or the allocation this very event is about (`at`:
     * malloc handing out the leader at once, or the allocator freeing it through the hooked free), the first chunk
     * in use inside the old one is the block, moved — a move, not an event of the program's. A program cannot
     * write those words without corrupting the heap (crates/host/src/events.rs `split_chunks`, the same rule).
     * Returns `a` when this event is the allocator freeing the leader, else 0.
     */
    settle(at = 0) {
      const a = this.lastAlloc;
      this.lastAlloc = 0;
      let words = this.wordsView;
      if (!words || a >>> 2 >= words.length) words = this.words();
      const word = (p2) => p2 >>> 2 < words.length ? words[p2 >>> 2] : void 0;
      if (word(a - 4) === this.lastHead || !this.isLive(a)) return 0;
      const start = a - 8, end = start + (this.lastHead & ~7);
      let p = start;
      for (let step = 0; step < 4; step++) {
        const size = word(p + 4) & ~7, q = p + size;
        if (!(size >= 16) || q + 16 > end) return 0;
        const next = word(q + 4);
        if (next === void 0) return 0;
        const free = !(next & 1);
        if (!free && !(p === start && at === a)) return 0;
        if (next & 2) {
          const to = q + 8, bytes = next & ~7;
          if (q + bytes > end || this.isLive(to)) return 0;
          this.died(a);
          this.setLive(to);
          this.event(EV_MOVE, a, to, bytes - 4, NO_STACK);
          return p === start && !free && at === a ? a : 0;
        }
        p = q;
      }
      return 0;
    }
    /** The instance's memory as words, viewed again (after the memory grew). */
    words() {
      const buffer = this.exportsOf(this.instance)?.[this.instrumented.meta.memory_export]?.buffer;
      this.wordsView = buffer ? new Uint32Array(buffer) : new Uint32Array();
      return this.wordsView;
    }
    check(ptr) {
      if (this.lastAlloc) this.settle();
      if (this.isLive(ptr)) return 1;
      this.free(ptr);
      return 0;
    }
    realloc(old, ptr, size, lo, hi) {
      if (this.lastAlloc) this.settle(ptr);
      if (ptr === 0 && size !== 0) return this.event(EV_REALLOC2, old, ptr, size, NO_STACK);
      if (ptr === old && !this.isLive(old)) return;
      if (old !== ptr && this.hostValues.size) this.hostValues.delete(old);
      if (old !== 0 && !this.died(old)) {
        this.event(EV_REALLOC2, old, ptr, size, this.stackNow());
        if (ptr) this.setLive(ptr);
        return;
      }
      const slot = this.context(lo, hi);
      const mixed = slot !== NO_CTX && this.ctxMixed[slot] && ptr !== 0;
      if (ptr !== 0) this.setLive(ptr);
      this.event(EV_REALLOC2, old, ptr, size, mixed ? this.born(ptr, slot) : this.contextStack(slot));
      if (this.pending.size >= RESOLVE_AT) this.resolve();
    }
    isLive(ptr) {
      if (ptr & 3) return this.odd.has(ptr);
      const i = ptr >>> 5;
      return i < this.bits.length && this.bits[i] >> (ptr >>> 2 & 7) & 1;
    }
    setLive(ptr) {
      if (ptr < this.lowest) this.lowest = ptr;
      if (ptr & 3) return void this.odd.add(ptr);
      const i = ptr >>> 5;
      if (i >= this.bits.length) {
        let n = this.bits.length * 2;
        while (n <= i) n *= 2;
        const grown = new Uint8Array(n);
        grown.set(this.bits);
        this.bits = grown;
      }
      this.bits[i] |= 1 << (ptr >>> 2 & 7);
    }
    /** Forget a live block; false when it is not one (an invalid or double free). */
    died(ptr) {
      if (ptr & 3) return this.odd.delete(ptr);
      const i = ptr >>> 5, bit = 1 << (ptr >>> 2 & 7);
      if (i >= this.bits.length || !(this.bits[i] & bit)) return false;
      this.bits[i] &= ~bit;
      if (this.pending.size) this.pending.delete(ptr);
      return true;
    }
    /**
     * A mixed context's block: the stack its event gets now. Its own capture, formatted only if a snapshot or the
     * report needs it while the block lives (`pending`; the event has the context's first stack until then).
     * Inside a call of an export (through its wrapper, index.mjs), though, the JS frames above the module cannot
     * change until JS runs again — the next export call or return moves `epoch` — and the wasm frames are the
     * context's: one capture per context and epoch serves every block, formatted once a second block shares it
     * (a loop allocating 200,000 blocks in one call costs one capture, not 200,000). Not seen: an import's JS
     * that calls back into the module through a table function rather than an export (two such callbacks in
     * one call, reaching one context, would share the first's JS frames).
     */
    born(ptr, slot) {
      let captured;
      if (this.callDepth > 0) {
        const cached = this.epochCaptures.get(slot);
        if (cached?.epoch === this.epoch) return cached.captured.stackId ??= this.stackOf(cached.captured);
        captured = this.capture();
        this.epochCaptures.set(slot, { epoch: this.epoch, captured });
      } else {
        captured = this.capture();
      }
      this.pending.set(ptr, captured);
      return this.ctxStack[slot] - 1;
    }
    /**
     * The table slot of context (lo, hi), seen once more; a new context gets its stack captured now, and a
     * context is sampled again at its 2nd, 4th, 8th… event (see the class comment). NO_CTX without stacks.
     */
    context(lo, hi) {
      if (!this.stacks || lo === void 0) return NO_CTX;
      const mask = this.ctxMask;
      let i = (lo ^ hi) & mask;
      for (; ; ) {
        const st = this.ctxStack[i];
        if (st === 0) break;
        if (this.ctxLo[i] === lo && this.ctxHi[i] === hi) {
          const seen = ++this.ctxSeen[i];
          if ((seen & seen - 1) === 0 && !this.ctxMixed[i]) {
            const now = this.stackNow();
            if (now !== st - 1) this.ctxMixed[i] = 1;
          }
          return i;
        }
        i = i + 1 & mask;
      }
      this.ctxLo[i] = lo;
      this.ctxHi[i] = hi;
      this.ctxStack[i] = this.stackNow() + 1;
      this.ctxSeen[i] = 1;
      if (++this.contexts * 2 <= mask + 1) return i;
      this.growContexts();
      i = (lo ^ hi) & this.ctxMask;
      while (this.ctxLo[i] !== lo || this.ctxHi[i] !== hi) i = i + 1 & this.ctxMask;
      return i;
    }
    contextStack(slot) {
      return slot === NO_CTX ? this.stacks ? this.stackNow() : NO_STACK : this.ctxStack[slot] - 1;
    }
    growContexts() {
      const old = [this.ctxLo, this.ctxHi, this.ctxStack, this.ctxSeen, this.ctxMixed];
      const size = (this.ctxMask + 1) * 2;
      this.ctxMask = size - 1;
      this.ctxLo = new Int32Array(size);
      this.ctxHi = new Int32Array(size);
      this.ctxStack = new Int32Array(size);
      this.ctxSeen = new Uint32Array(size);
      this.ctxMixed = new Uint8Array(size);
      const [lo, hi, st, seen, mixed] = old;
      for (let k = 0; k < st.length; k++) {
        if (!st[k]) continue;
        let i = (lo[k] ^ hi[k]) & this.ctxMask;
        while (this.ctxStack[i]) i = i + 1 & this.ctxMask;
        this.ctxLo[i] = lo[k];
        this.ctxHi[i] = hi[k];
        this.ctxStack[i] = st[k];
        this.ctxSeen[i] = seen[k];
        this.ctxMixed[i] = mixed[k];
      }
    }
    /** V8's record of the current stack, formatted later (`stackOf`); null without stacks. */
    capture() {
      if (!this.stacks) return null;
      this.captures++;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = this.maxFrames;
      const holder = {};
      Error.captureStackTrace(holder);
      Error.stackTraceLimit = limit;
      return holder;
    }
    stackNow() {
      return this.stacks ? this.stackOf(this.capture()) : NO_STACK;
    }
    /** Give every pending block its stack (an EV_SET_STACK event each). */
    resolve() {
      for (const [ptr, captured] of this.pending) this.event(EV_SET_STACK, ptr, 0, 0, captured.stackId ??= this.stackOf(captured));
      this.pending.clear();
    }
    /** The clock, as an event: milliseconds since the tracker started (the growth samples' times). */
    clock() {
      const e = this.events, n = this.n;
      e[n] = EV_CLOCK;
      e[n + 1] = Math.round(performance.now() - this.started);
      e[n + 2] = 0;
      e[n + 3] = 0;
      e[n + 4] = 0;
      this.n = n + 5;
    }
    /** Make room for `words` more words of events. */
    room(words) {
      if (this.n + words > this.events.length) {
        if (this.n >= FLUSH_EVENTS * 5) {
          this.flush();
        } else {
          const grown = new Uint32Array(this.events.length * 2);
          grown.set(this.events);
          this.events = grown;
        }
      }
    }
    event(kind, a, b, c, stack) {
      this.room(10);
      if (kind !== EV_SET_STACK && ++this.seq % CLOCK_EVERY === 1) this.clock();
      const e = this.events, n = this.n;
      e[n] = kind;
      e[n + 1] = a;
      e[n + 2] = b;
      e[n + 3] = c;
      e[n + 4] = stack;
      this.n = n + 5;
    }
    /** A captured stack's frames: wasm as [func_index, module_offset], JS as [JS_FRAME, i]; interned. */
    stackOf(captured) {
      const prepare = Error.prepareStackTrace;
      Error.prepareStackTrace = asCallSites;
      const sites = captured.stack;
      Error.prepareStackTrace = prepare;
      return this.internFrames(framesOf(sites, this.instance));
    }
    intern(key, frames) {
      let id = this.stackIds.get(key);
      if (id === void 0) {
        id = this.stackIds.size;
        this.newStacks.push(frames);
        this.stackIds.set(key, id);
      }
      return id;
    }
    jsFrameId(f) {
      const key = `${f.function}@${f.file}:${f.line}:${f.column}`;
      let id = this.jsFrameIds.get(key);
      if (id === void 0) {
        id = this.jsFrameIds.size;
        this.jsFrameIds.set(key, id);
        this.newJsFrames.push(f);
      }
      return id;
    }
    /** Hand the buffered events, stacks and frames to the analysis. */
    flush(locked = false) {
      if (this.shared) this.drainShared(locked);
      this.open();
      if (this.n === 0 && this.newStacks.length === 0) return;
      const rec = { stacks: this.newStacks, js_frames: this.newJsFrames };
      const words = this.n;
      this.newStacks = [];
      this.newJsFrames = [];
      this.n = 0;
      this.events = this.instrumented.analysis.record(this.session, rec, this.events, words);
    }
    /** The analysis' session of this instance, made on first use. */
    open() {
      if (this.session) return;
      this.session = this.instrumented.analysis.session(this.instrumented.handle);
      if (!this.session) throw new Error("wasmleak: the instrumented module was released");
    }
    /** What the analysis needs besides the events: the memory image and the roots JS knows about. */
    state({ instance = this.instance, memory, globals, hostValues, module = "module.wasm", ...rest }) {
      const meta = this.instrumented.meta;
      const exports = this.exportsOf(instance);
      if (!memory) memory = exports?.[meta.memory_export];
      const image = memory instanceof WebAssembly.Memory ? new Uint8Array(memory.buffer) : memory ?? new Uint8Array();
      let globalValues = [];
      if (Array.isArray(globals)) {
        globalValues = globals;
      } else {
        for (const [idx, name] of meta.exported_globals) {
          let v = globals ? globals[name] : exports?.[name];
          if (v instanceof WebAssembly.Global) v = v.value;
          if (typeof v === "number") globalValues.push([idx, v >>> 0]);
        }
      }
      const runtime = [...this.runtimeValues].map(([ptr, name]) => [name, ptr]);
      const held = [], heldSeqs = [], opaque = [];
      for (const [ptr, h] of this.hostValues) {
        if (h.opaque) opaque.push(ptr);
        if (h.strong) runtime.push([h.label, ptr]);
        else if (!hostValues) held.push([h.label, ptr]), heldSeqs.push(h.seq);
      }
      const idle = this.callDepth === 0 && !this.exited && !this.shared;
      return [{ module, globals: globalValues, host_values: (hostValues ?? held).map(([name, v]) => [String(name), v >>> 0]), host_value_seqs: heldSeqs, runtime_values: runtime, opaque_values: opaque, idle, ...rest }, image];
    }
    /**
     * A snapshot of the heap now: { module, bytes (a `.wlsnap` file, as `wasmleak check --save` writes),
     * summary: {index, iteration, blocks, bytes, allocations, frees} }. Options as `report()`, plus
     * `iteration` (default: the snapshot's number).
     */
    snapshot(options = {}) {
      return this.consistent(() => {
        const a = this.instrumented.analysis;
        a.check("snapshot", this.session, this.state(options));
        return { module: options.module ?? "module.wasm", bytes: a.out(this.session, 0), summary: a.outJson(this.session, 1) };
      });
    }
    /** `f` with every event so far in the analysis; a threaded module's threads record none meanwhile. */
    consistent(f) {
      if (this.lastAlloc) this.settle();
      this.resolve();
      this.flush();
      if (!this.shared) return f();
      return this.shared.holding(() => {
        this.flush(true);
        return f();
      });
    }
    /**
     * The JSON report (docs/contracts.md) for the heap now, with growth over the snapshots taken. `memory` (a
     * WebAssembly.Memory or bytes) and `globals` ({exportName: value} or [[index, value]]) default to what
     * `instance` (or the attached one) exports; `hostValues`: [[name, pointer]] the host holds (default: what
     * `hold()` recorded).
     */
    report({ exit = { status: "returned", message: "returned" }, notes = [], ...options } = {}) {
      const a = this.instrumented.analysis;
      const exitFrames = this.exited?.frames ?? [];
      if (this.exited && exit.status === "returned") {
        exit = { status: "exited", code: this.exited.code, message: `exited with status ${this.exited.code}` };
      }
      if (this.shared) notes = [...notes, THREADS_NOTE];
      const mixed = this.ctxMixed.reduce((n, m) => n + m, 0);
      if (mixed) notes = [...notes, mixedNote(mixed)];
      this.consistent(() => {
        const [state2, image] = this.state(options);
        a.check("report", this.session, [{ ...state2, exit, exit_frames: exitFrames, notes }, image]);
      });
      const report = a.outJson(this.session, 0);
      Object.defineProperty(report, "text", { value: fromUtf8.decode(a.out(this.session, 1)), enumerable: false });
      return report;
    }
  };
  function jsFrameOf(s, file) {
    const line = s.getLineNumber(), column = s.getColumnNumber();
    let fn = s.getFunctionName() || "(anonymous)";
    if (s.isConstructor()) fn = `new ${fn}`;
    const at = `${file}:${line}:${column}`;
    const named = frameNames.get(at);
    if (named !== void 0) fn = named;
    else if (frameNames.size < 1 << 16) frameNames.set(at, fn);
    return { function: fn, file: file.startsWith("file://") ? decodeURIComponent(file.slice(7)) : file, line, column };
  }
  var frameNames = /* @__PURE__ */ new Map();
  function framesNow(instance, maxFrames) {
    const limit = Error.stackTraceLimit, prepare = Error.prepareStackTrace;
    Error.stackTraceLimit = maxFrames;
    Error.prepareStackTrace = asCallSites;
    const holder = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack;
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
    return framesOf(sites, instance);
  }
  function framesOf(sites, instance) {
    const frames = [];
    for (const s of Array.isArray(sites) ? sites : []) {
      const inst = s.getThis();
      if (inst instanceof WebAssembly.Instance) {
        if (instance && inst !== instance) continue;
        frames.push([s.getFunction(), s.getPosition()]);
        continue;
      }
      const file = s.getFileName();
      if (!file || file.startsWith("node:") || SELF_DIR && file.startsWith(SELF_DIR)) continue;
      if (Array.isArray(frames[frames.length - 1]) && EXPORT_WRAPPER.test(s.getFunctionName() ?? "")) continue;
      frames.push(jsFrameOf(s, file));
    }
    return frames;
  }
  var EXPORT_WRAPPER = /^Module\._[A-Za-z0-9_$]+$/;

  // js/src/analysis.mjs
  var enginePromise = null;
  var engine = null;
  var WA = globalThis[/* @__PURE__ */ Symbol.for("wasmleak.WebAssembly")] ??= {
    instantiate: WebAssembly.instantiate,
    instantiateStreaming: WebAssembly.instantiateStreaming,
    compile: WebAssembly.compile,
    compileStreaming: WebAssembly.compileStreaming,
    Module: WebAssembly.Module,
    Instance: WebAssembly.Instance,
    Table: WebAssembly.Table,
    tableSet: WebAssembly.Table.prototype.set,
    tableGrow: WebAssembly.Table.prototype.grow
  };
  var isNode = !!globalThis.process?.versions?.node;
  function currentEngine() {
    return engine;
  }
  function analysisPath() {
    const env = globalThis.process?.env ?? {};
    if (env.WASMLEAK_WASM) return env.WASMLEAK_WASM;
    const shipped = globalThis[/* @__PURE__ */ Symbol.for("wasmleak.shippedAnalysis")];
    if (shipped) return shipped;
    const target = env.CARGO_TARGET_DIR || "/var/tmp/wasmleak-target";
    return `${target}/wasm32-unknown-unknown/release/wasmleak_wasm.wasm`;
  }
  async function analysisBytes(source) {
    source = await source;
    if (source && typeof source === "object" && typeof source.arrayBuffer === "function") {
      return new Uint8Array(await source.arrayBuffer());
    }
    if (source && typeof source !== "string" && !(source instanceof URL)) return toBytes(source);
    const where = source ? String(source) : null;
    if (isNode && (!where || !/^(https?|data|blob):/.test(where))) {
      const { readFile } = await import("node:fs/promises");
      return readFile(where?.startsWith("file:") ? new URL(where) : where || analysisPath());
    }
    if (!where) throw new Error("wasmleak: pass the analysis module to attach({ analysis: url or bytes })");
    const r = await fetch(where);
    if (!r.ok) throw new Error(`wasmleak: loading the analysis from ${where}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }
  function loadAnalysis(source) {
    if (!enginePromise || source) {
      enginePromise = (async () => {
        const { instance } = await WA.instantiate(await analysisBytes(source), {});
        engine = new Analysis(instance.exports);
        return engine;
      })();
    }
    return enginePromise;
  }
  function loadAnalysisSync(source) {
    if (engine && !source) return engine;
    const remote = analysisThread();
    let bytes = source;
    if (!bytes || typeof bytes === "string" || bytes instanceof URL) {
      const fs = globalThis.process?.getBuiltinModule?.("node:fs");
      if (!fs) throw new Error("wasmleak: cannot read the analysis module synchronously here; pass its bytes, or use attach() which loads it asynchronously");
      const path = bytes || analysisPath();
      const file = path instanceof URL || String(path).startsWith("file:") ? new URL(path) : path;
      if (remote) fs.accessSync(file);
      bytes = remote ? String(path) : fs.readFileSync(file);
    }
    engine = remote ? new RemoteAnalysis(typeof bytes === "string" ? bytes : toBytes(bytes).slice()) : new Analysis(new WA.Instance(new WA.Module(toBytes(bytes)), {}).exports);
    enginePromise = Promise.resolve(engine);
    return engine;
  }
  function analysisThread() {
    const url = globalThis[/* @__PURE__ */ Symbol.for("wasmleak.analysisThread")];
    const wt = globalThis.process?.getBuiltinModule?.("node:worker_threads");
    return url && wt?.isMainThread && globalThis.process.env.WASMLEAK_ANALYSIS_THREAD !== "0" ? url : null;
  }
  var utf8 = new TextEncoder();
  var fromUtf82 = new TextDecoder();
  var Analysis = class {
    constructor(x) {
      this.x = x;
      x?.wl_init?.();
    }
    /** `e` as thrown by a call into the analysis: a trap from a panic gets the panic's message. */
    failure(e) {
      const len = e instanceof WebAssembly.RuntimeError && this.x?.wl_panic_len?.();
      if (!len) return e;
      const text = fromUtf82.decode(new Uint8Array(this.x.memory.buffer, this.x.wl_panic_ptr(), len));
      return new Error(`wasmleak: the analysis failed (a wasmleak bug, please report it with the module): ${text}`);
    }
    /** Copy bytes into the analysis module's memory; returns [ptr, len]. */
    put(bytes) {
      const len = bytes.length;
      const ptr = this.x.wl_alloc(len);
      new Uint8Array(this.x.memory.buffer, ptr, len).set(bytes);
      return [ptr, len];
    }
    /** Call `wl_<name>(...handles, ...inputs)` with each input copied in (objects as JSON) and freed after. */
    call(name, handles, inputs) {
      const bufs = inputs.map((v) => this.put(v instanceof Uint8Array ? v : utf8.encode(JSON.stringify(v))));
      try {
        return this.x[`wl_${name}`](...handles, ...bufs.flat());
      } catch (e) {
        throw this.failure(e);
      } finally {
        for (const [p, l] of bufs) this.x.wl_free(p, l);
      }
    }
    out(handle, i) {
      const ptr = this.x.wl_out_ptr(handle, i), len = this.x.wl_out_len(handle, i);
      return new Uint8Array(this.x.memory.buffer, ptr, len).slice();
    }
    outJson(handle, i) {
      return JSON.parse(fromUtf82.decode(this.out(handle, i)));
    }
    /** `call`, then output 0 as an Error when the status says so. */
    check(name, handle, inputs) {
      if (this.call(name, [handle], inputs) !== 0) throw new Error(`wasmleak: ${this.outJson(handle, 0).error}`);
    }
    /**
     * Hand a session a batch of events (tracker.mjs: the first `words` of `buffer`, a Uint32Array) and the stacks
     * and frames they use. Returns the buffer to fill next: `buffer` again, or one of the same size.
     */
    record(session, rec, buffer, words) {
      this.check("record", session, [rec, new Uint8Array(buffer.buffer, 0, words * 4)]);
      return buffer;
    }
    /** Instrument `src` with `allocator` (wl_instrument_with's options): the handle whose outputs are bytes, meta. */
    instrument(src, allocator) {
      return this.call("instrument_with", [], [src, allocator]);
    }
    /** A new session for an instance of the instrumented module `handle` (0: released). */
    session(handle) {
      return this.x.wl_session(handle);
    }
  };
  var RemoteAnalysis = class extends Analysis {
    constructor(source) {
      super(null);
      const wt = globalThis.process.getBuiltinModule("node:worker_threads");
      this.receive = wt.receiveMessageOnPort;
      const { port1, port2 } = new wt.MessageChannel();
      this.port = port1;
      const spares = new wt.MessageChannel();
      this.spares = spares.port1;
      this.spares.unref();
      this.flag = new Int32Array(new SharedArrayBuffer(8));
      this.seq = 0;
      this.virtual = 0;
      this.source = source;
      this.hits = /* @__PURE__ */ new Map();
      const workerData = { url: analysisThread(), port: port2, spares: spares.port2, flag: this.flag, source };
      const worker = new wt.Worker(THREAD_BOOT, { eval: true, execArgv: [], workerData, transferList: [port2, spares.port2] });
      worker.unref();
      port1.unref();
      this.x = {
        wl_session: (module) => this.session(module),
        wl_release: (handle) => {
          this.hits.delete(handle);
          this.port.postMessage({ op: "fn", fn: "wl_release", args: [handle] });
        }
      };
    }
    /** Post `m` and wait for the thread's answer; its `error` is thrown. */
    ask(m) {
      m.seq = ++this.seq;
      this.port.postMessage(m);
      const flag = this.flag;
      for (; ; ) {
        const done = Atomics.load(flag, 0);
        if (done === m.seq) break;
        if (Atomics.load(flag, 1)) throw new Error("wasmleak: the analysis thread stopped");
        Atomics.wait(flag, 0, done, 1e3);
      }
      const answer = this.receive(this.port)?.message;
      if (!answer) throw new Error("wasmleak: the analysis thread did not answer");
      if (answer.error) throw new Error(answer.error);
      return answer.value;
    }
    call(name, handles, inputs) {
      return this.ask({ op: "call", name, handles, inputs });
    }
    out(handle, i) {
      const hit = this.hits.get(handle);
      if (hit) return (i === 0 ? hit.bytes : i === 1 ? hit.meta : new Uint8Array()).slice();
      return this.ask({ op: "out", handle, i });
    }
    /** The buffer goes to the thread as it is (transferred); the next is one the thread is done with, or new. */
    record(session, rec, buffer, words) {
      const length = buffer.length;
      this.port.postMessage({ op: "record", session, rec, buffer, words }, [buffer.buffer]);
      for (let m; m = this.receive(this.spares); ) if (m.message.length === length) return m.message;
      return new Uint32Array(length);
    }
    session(module) {
      const virtual = VIRTUAL_HANDLE + ++this.virtual;
      this.port.postMessage({ op: "session", module, virtual });
      return virtual;
    }
    /**
     * Instrumenting from a cache: the module as an earlier run instrumented the same bytes with the same options and
     * analysis (the file's name says all three). The app's thread then waits for nothing (in the analysis compiled
     * to wasm, instrumenting takes 10× what it does in the CLI: ~0.2 s for a 2 MB module, the start of a short run),
     * and neither does the analysis thread: it takes up the module's session from what the instrumentation found,
     * kept with it (`wl_restore`), where it used to instrument the module again (a 29.5 MB module: 12 s). A miss is
     * written for the next run. WASMLEAK_CACHE=0: no cache.
     */
    instrument(src, allocator) {
      const file = this.cacheFile(src, allocator);
      const hit = file && readCached(file);
      if (hit) return this.restored(src, hit, file, false);
      const made = instrumentNatively(src, allocator);
      if (made) return this.restored(src, made, file, true);
      return this.ask({ op: "call", name: "instrument_with", handles: [], inputs: [src, allocator], remember: file });
    }
    /** A virtual handle for a module instrumented before (`made`: {bytes, meta, state}), whose session the thread
     *  takes up; `write`: and writes it to the cache `file` (null: no cache). */
    restored(src, made, file, write) {
      const virtual = VIRTUAL_HANDLE + ++this.virtual;
      this.hits.set(virtual, made);
      const fresh = write ? { bytes: made.bytes, meta: made.meta } : null;
      this.port.postMessage({ op: "restore", virtual, inputs: [src, made.state], file, fresh });
      return virtual;
    }
    /** The cache entry for `src` instrumented with `allocator` (a file path); null without a cache. */
    cacheFile(src, allocator) {
      const env = globalThis.process.env;
      const home = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : null);
      if (env.WASMLEAK_CACHE === "0" || !home) return null;
      const crypto = globalThis.process.getBuiltinModule("node:crypto");
      this.identity ??= typeof this.source === "string" ? (({ size, mtimeMs }) => `${this.source}:${size}:${mtimeMs}`)(globalThis.process.getBuiltinModule("node:fs").statSync(this.source.startsWith("file:") ? new URL(this.source) : this.source)) : crypto.createHash("sha256").update(this.source).digest("hex");
      const key = crypto.createHash("sha256").update(`${this.identity}\0${JSON.stringify(allocator)}\0`).update(src).digest("hex");
      return `${home}/wasmleak/instrumented/${key}.v2`;
    }
  };
  var VIRTUAL_HANDLE = 1073741824;
  function readCached(file) {
    let data;
    try {
      data = new Uint8Array(globalThis.process.getBuiltinModule("node:fs").readFileSync(file));
    } catch {
      return null;
    }
    if (data.length < 40 || !sameBytes(data.subarray(0, 32), sha256(data.subarray(32)))) return null;
    const view = new DataView(data.buffer, data.byteOffset + 32, 8);
    const metaLen = view.getUint32(0, true), stateLen = view.getUint32(4, true);
    if (40 + metaLen + stateLen > data.length) return null;
    const state2 = 40 + metaLen;
    return { meta: data.slice(40, state2), state: data.slice(state2, state2 + stateLen), bytes: data.slice(state2 + stateLen) };
  }
  function instrumentNatively(src, allocator) {
    const cli = globalThis.process.env.WASMLEAK_CLI;
    if (!cli) return null;
    const r = globalThis.process.getBuiltinModule("node:child_process").spawnSync(cli, ["__instrument-for-js", JSON.stringify(allocator)], {
      input: src,
      maxBuffer: 4 * src.length + (64 << 20),
      stdio: ["pipe", "pipe", "ignore"]
    });
    const out = r.status === 0 && r.stdout ? new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length) : null;
    if (!out || out.length < 8) return null;
    const view = new DataView(out.buffer, out.byteOffset, 8);
    const meta = 8 + view.getUint32(0, true), state2 = meta + view.getUint32(4, true);
    if (state2 > out.length) return null;
    return { meta: out.slice(8, meta), state: out.slice(meta, state2), bytes: out.slice(state2) };
  }
  function sha256(bytes) {
    return new Uint8Array(globalThis.process.getBuiltinModule("node:crypto").createHash("sha256").update(bytes).digest());
  }
  function sameBytes(x, y) {
    return x.length === y.length && globalThis.Buffer.compare(globalThis.Buffer.from(x.buffer, x.byteOffset, x.length), globalThis.Buffer.from(y.buffer, y.byteOffset, y.length)) === 0;
  }
  var THREAD_BOOT = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const { port, flag } = workerData;
process.on('exit', () => { Atomics.store(flag, 1, 1); Atomics.notify(flag, 0); });
import(workerData.url).then((m) => m.serve(workerData), (e) => port.on('message', (m) => {
  if (!m.seq) return;
  port.postMessage({ error: 'wasmleak: the analysis thread could not start: ' + (e && e.message || e) });
  Atomics.store(flag, 0, m.seq);
  Atomics.notify(flag, 0);
}));
`;
  async function instrument(bytes) {
    return instrumentWith(await loadAnalysis(), bytes);
  }
  function instrumentSync(bytes) {
    return instrumentWith(loadAnalysisSync(), bytes);
  }
  function instrumentWith(a, bytes, allocator = {}, debugFiles = []) {
    const src = toBytes(bytes);
    let h = 0;
    for (const dbg of debugFiles) {
      h = a.call("instrument_debug", [], [src, allocator, toBytes(dbg)]);
      if (a.outJson(h, 1).debug_file) break;
      a.x.wl_release(h);
      h = 0;
    }
    if (!h) h = a.instrument(src, allocator);
    const meta = a.outJson(h, 1);
    if (meta.error) {
      a.x.wl_release(h);
      throw Object.assign(new Error(`wasmleak: ${meta.error}`), { status: meta.status, heap: meta.heap });
    }
    return new Instrumented(a, h, a.out(h, 0), meta);
  }
  function toBytes(b) {
    if (b instanceof Uint8Array) return b;
    if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    if (b instanceof ArrayBuffer || typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer) return new Uint8Array(b);
    throw new TypeError("wasmleak: expected a BufferSource");
  }
  var Instrumented = class {
    constructor(analysis, handle, bytes, meta) {
      this.analysis = analysis;
      this.handle = handle;
      this.bytes = bytes;
      this.meta = meta;
    }
    /** Add the `wasmleak` hook imports to `imports` and return the tracker recording their events. */
    track(imports = {}, options) {
      return track(this, imports, options);
    }
    release() {
      this.analysis.x.wl_release(this.handle);
    }
  };
  function diffSnapshots(before, after, options = {}) {
    const a = engine;
    if (!a) throw new Error("wasmleak: the analysis is not loaded yet");
    const bytes = (s) => toBytes(s?.bytes ?? s);
    const h = a.call("diff", [], [bytes(before), bytes(after), options]);
    try {
      const json = a.outJson(h, 0);
      if (json.error) throw new Error(`wasmleak: ${json.error}`);
      return { ...json, text: fromUtf82.decode(a.out(h, 1)) };
    } finally {
      a.x.wl_release(h);
    }
  }

  // js/src/index.mjs
  var MAX_KEPT = 32;
  var ATTACHED = /* @__PURE__ */ Symbol.for("wasmleak.attached");
  function attach({ analysis, stacks = true, maxFrames = 64, overlay = false, server = false, snapshotInterval = 0, namePrefix = "", allocator = {}, showReachable = false, profile = 0, policy = null, debugFiles = [], onInstance = null } = {}) {
    if (globalThis[ATTACHED]) return globalThis[ATTACHED];
    let timer = null;
    let ready;
    if (isNode && !(typeof analysis === "string" && /^https?:/.test(analysis))) {
      ready = Promise.resolve(loadAnalysisSync(analysis));
    } else if (!analysis && !globalThis.document && sharedState()) {
      ready = Promise.resolve(null);
    } else {
      ready = loadAnalysis(analysis);
    }
    const modules = /* @__PURE__ */ new WeakMap();
    const instances = [];
    const skipped = [];
    const snapshots = [];
    let taken = 0, stride = 1;
    let count = 0;
    const nameOf = (hint) => namePrefix + (hint || `module-${++count}.wasm`);
    const FILE_NAMES = /* @__PURE__ */ Symbol.for("wasmleak.fileNames");
    const nameOfBytes = (bytes) => {
      const buffer = bytes instanceof ArrayBuffer ? bytes : bytes?.buffer;
      return nameOf(buffer && globalThis[FILE_NAMES]?.get(buffer));
    };
    const shared = sharedState();
    const mainThread = !shared || shared.tid === 0;
    function tryInstrument(bytes, name, internal) {
      let src;
      try {
        src = toBytes(bytes);
      } catch {
        return null;
      }
      if (internal) {
        skipped.push({ name, reason: `loaded by ${internal} (the runtime's own module, not the app's)`, status: "runtime", heap: false });
        return null;
      }
      const engine2 = currentEngine();
      if (!engine2 && shared && !mainThread && !isNode) {
        reportUntracked();
        skipped.push({ name, reason: "run in a Web Worker (wasmleak tracks the page and its threaded module's workers)", status: "unsupported", heap: true });
        return null;
      }
      if (!engine2) {
        skipped.push({ name, reason: "compiled synchronously before the analysis module was loaded (await leak.ready first)", status: "too_early", heap: true });
        return null;
      }
      try {
        const ins = instrumentWith(engine2, src.slice(), shared && mainThread ? { ...allocator, threads: true } : allocator, debugFiles);
        if (ins.meta.threads && !shared.claim()) {
          ins.release();
          skipped.push({ name, reason: "shared memory (wasm threads): another threaded module of this process is tracked (one is, for now)", status: "unsupported", heap: true });
          return null;
        }
        return ins;
      } catch (e) {
        skipped.push({ name, reason: String(e.message ?? e).replace(/^wasmleak: /, ""), status: e.status ?? "error", heap: e.heap ?? false });
        return null;
      }
    }
    function compileSync(bytes, name) {
      const ins = tryInstrument(bytes, name, runtimeCaller());
      const module = new WA.Module(ins ? ins.bytes : bytes);
      if (ins) modules.set(module, { ins, name });
      return module;
    }
    async function compileAsync(bytes, name, internal = runtimeCaller()) {
      await ready.catch(() => {
      });
      const ins = tryInstrument(bytes, name, internal);
      const module = await WA.compile(ins ? ins.bytes : bytes);
      if (ins) modules.set(module, { ins, name });
      return module;
    }
    function instantiateWith(module, imports, make) {
      const then = (made, f) => made instanceof Promise ? made.then(f) : f(made);
      const m = modules.get(module);
      if (!m) {
        if (shared && !mainThread && WA.Module.imports(module).some((i) => i.module === "wasmleak")) {
          let instance = null;
          const wasmleak = shared.hooks(() => stacks ? framesNow(instance, maxFrames) : null);
          return then(make(module, { ...imports ?? {}, wasmleak }), (made) => instance = made);
        }
        return make(module, imports);
      }
      let imp = { ...imports ?? {} };
      const tracker = m.ins.track(imp, { stacks, maxFrames, shared: m.ins.meta.threads ? shared : null, moduleImports: WA.Module.imports(module) });
      tracker.initFrame = appFrame();
      const word = (address) => {
        let words = tracker.wordsView;
        if (!words || address >>> 2 >= words.length) words = tracker.words();
        const v = words[address >>> 2] ?? 0;
        return v && tracker.isLive(v) ? v : 0;
      };
      imp = wrapImports(imp, (value, label, opts) => tracker.hold(value, label, opts ?? { runtime: true }), WA.Module.imports(module), word, (value) => tracker.release(value));
      return then(make(module, imp), (instance) => {
        tracker.attach(instance);
        const same = instances.filter((r) => r.module === m).length;
        const rec = { name: same ? `${m.name}#${same + 1}` : m.name, module: m, tracker, instance, calls: /* @__PURE__ */ new Map(), exportCalls: 0, collected: 0, trapped: 0 };
        wrapExports(instance, rec);
        watchInstance(instance, (value, label) => tracker.hold(value, label));
        instances.push(rec);
        onInstance?.(rec.name);
        return instance;
      });
    }
    const syncInstance = (module, imports) => new WA.Instance(module, imports);
    const asyncInstance = (module, imports) => WA.instantiate(module, imports);
    const wrappedExports = /* @__PURE__ */ new WeakMap();
    const unwrap = (v) => typeof v === "function" && wrappedExports.get(v) || v;
    const tableProto = WA.Table.prototype;
    const tableSaved = { set: WA.tableSet, grow: WA.tableGrow };
    tableProto.set = function set(index, value) {
      return arguments.length < 2 ? tableSaved.set.call(this, index) : tableSaved.set.call(this, index, unwrap(value));
    };
    tableProto.grow = function grow(delta, value) {
      return arguments.length < 2 ? tableSaved.grow.call(this, delta) : tableSaved.grow.call(this, delta, unwrap(value));
    };
    function wrapExports(instance, rec) {
      const raw = instance.exports;
      const wrapped = {};
      const ctx = raw[rec.tracker.instrumented.meta.ctx_export];
      let depth = 0;
      let retArea = 0;
      const transfers = [];
      const TRANSFER_WORDS = 8;
      const noteTransfer = (name, v, params) => {
        const memory = params === 0 && transfers.length < 4 && !transfers.some((t) => t.at === v) && rec.tracker.exportsOf(instance)?.[rec.tracker.instrumented.meta.memory_export];
        if (memory && v >= 1024 && (v & 3) === 0 && v + 4 * TRANSFER_WORDS <= memory.buffer.byteLength && v + 4 * TRANSFER_WORDS <= rec.tracker.lowest) transfers.push({ at: v, name });
      };
      const readTransfers = (name) => {
        let words = rec.tracker.wordsView;
        for (const t of transfers) {
          if (!words || (t.at >>> 2) + TRANSFER_WORDS > words.length) words = rec.tracker.words();
          for (let k = 0; k < TRANSFER_WORDS; k++) {
            const w = words[(t.at >>> 2) + k];
            if (w && rec.tracker.isLive(w) && !rec.tracker.hostValues.has(w)) {
              rec.tracker.hold(w, `written by ${name} into the buffer ${t.name} returned (0x${t.at.toString(16)})`);
            }
          }
        }
      };
      const WEBIDL_LOOKS = 32;
      const returned = (name, values, how = "", params = -1) => {
        const held = values.filter((v) => typeof v === "number" && v > 0);
        if (!held.length || ARGUMENT_EXPORTS.has(name)) return;
        if (held.length === 1) noteTransfer(name, held[0], params);
        const call = (rec.calls.get(name) ?? 0) + 1;
        rec.calls.set(name, call);
        if (params === 1 && held.length === 1 && call <= WEBIDL_LOOKS && inWebidlCache()) {
          return void rec.tracker.hold(held[0], `the WebIDL binder glue's argument buffer (ensureCache, from ${name})`, { strong: true, opaque: true });
        }
        for (const v of held) rec.tracker.hold(v, `returned by ${name} (call ${call})${how}`, { runtime: HARNESS_EXPORTS.has(name) });
      };
      for (const [name, value] of Object.entries(raw)) {
        if (name.startsWith("wasmleak:")) continue;
        if (typeof value !== "function") {
          wrapped[name] = value;
          continue;
        }
        const tracker = rec.tracker;
        const finalizerFree = BINDGEN_FREE.test(name);
        const f = function(...args) {
          let r;
          rec.exportCalls++;
          if (finalizerFree && args[1] === 1) rec.collected++;
          const area = retArea && args[0] === retArea ? retArea : 0;
          depth++;
          tracker.callDepth++;
          tracker.epoch++;
          try {
            r = value.apply(this, args);
          } catch (e) {
            if (depth === 1 && ctx) ctx.value = 0n;
            if (depth === 1 && e instanceof WebAssembly.RuntimeError) rec.trapped++;
            throw e;
          } finally {
            depth--;
            tracker.callDepth--;
            tracker.epoch++;
          }
          if (name === "__wbindgen_add_to_stack_pointer") {
            retArea = args[0] < 0 ? r : 0;
            return r;
          }
          if (depth === 0 && transfers.length) readTransfers(name);
          if (typeof r === "number") {
            if (r > 0) returned(name, [r], "", value.length);
          } else if (Array.isArray(r)) {
            returned(name, r);
          }
          if (area) {
            const memory = rec.tracker.exportsOf(instance)?.[rec.tracker.instrumented.meta.memory_export];
            if (memory && (area & 3) === 0 && area + 16 <= memory.buffer.byteLength) {
              returned(name, [...new Int32Array(memory.buffer, area, 4)], ", through its return area");
            }
          }
          return r;
        };
        Object.defineProperty(f, "name", { value: value.name });
        Object.defineProperty(f, "length", { value: value.length });
        wrappedExports.set(f, value);
        wrapped[name] = f;
      }
      Object.defineProperty(instance, "exports", { value: Object.freeze(wrapped), enumerable: true });
    }
    const responseName = (r) => {
      const url = r?.url;
      return url ? nameOf(url.split("/").pop().split("?")[0]) : nameOf();
    };
    const NEXT_NAME = /* @__PURE__ */ Symbol.for("wasmleak.nextModuleName");
    function Module(bytes) {
      if (!new.target) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
      const hint = globalThis[NEXT_NAME];
      delete globalThis[NEXT_NAME];
      return compileSync(bytes, hint ? nameOf(hint) : nameOfBytes(bytes));
    }
    function Instance(module, imports) {
      if (!new.target) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
      return instantiateWith(module, imports, syncInstance);
    }
    for (const [fake, real] of [[Module, WA.Module], [Instance, WA.Instance]]) {
      fake.prototype = real.prototype;
      Object.setPrototypeOf(fake, real);
    }
    const patched = {
      Module,
      Instance,
      compile: (bytes) => compileAsync(bytes, nameOfBytes(bytes)),
      instantiate: async (source, imports) => {
        if (source instanceof WA.Module) return instantiateWith(source, imports, asyncInstance);
        const module = await compileAsync(source, nameOfBytes(source));
        return { module, instance: await instantiateWith(module, imports, asyncInstance) };
      },
      compileStreaming: async (source) => {
        const internal = runtimeCaller();
        const r = await source;
        return compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r), internal);
      },
      instantiateStreaming: async (source, imports) => {
        const internal = runtimeCaller();
        const r = await source;
        const module = await compileAsync(new Uint8Array(await r.arrayBuffer()), responseName(r), internal);
        return { module, instance: await instantiateWith(module, imports, asyncInstance) };
      }
    };
    const workers = shared && !isNode ? untrackedWorkers : [];
    const NativeWorker = globalThis.document && !shared && typeof globalThis.Worker === "function" ? globalThis.Worker : null;
    if (NativeWorker) {
      globalThis.Worker = class Worker extends NativeWorker {
        constructor(url, options) {
          super(url, options);
          workers.push(String(url));
        }
      };
    }
    const saved = {};
    for (const [k, v] of Object.entries(patched)) {
      saved[k] = WebAssembly[k];
      Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
    }
    const attached = {
      ready: ready.then(() => attached),
      instances,
      skipped,
      /** The URLs of the Web Workers the page started (browsers): wasm they run is not tracked. */
      workers,
      snapshots,
      /**
       * A snapshot of every tracked instance: { index, modules: [{ module, bytes (.wlsnap), summary }] }.
       * Three or more give the report a growth verdict (sites that grew at every snapshot).
       */
      async snapshot({ iteration } = {}) {
        await ready;
        const index = ++taken;
        const snap = {
          index,
          modules: instances.map((r) => r.tracker.snapshot({ module: r.name, instance: r.instance, iteration: iteration ?? index }))
        };
        if (index % stride === 0) {
          snapshots.push(snap);
          if (snapshots.length > MAX_KEPT) {
            stride *= 2;
            for (let i = snapshots.length - 1; i >= 0; i--) if (snapshots[i].index % stride !== 0) snapshots.splice(i, 1);
          }
        }
        return snap;
      },
      /**
       * Compare two snapshots (what `snapshot()` returned), module by module, like `wasmleak diff`:
       * { modules: [{ module, before, after, rows }], text(), json() }.
       */
      diff(before, after, options = {}) {
        const modules2 = [];
        after.modules.forEach((b, i) => {
          const a = before.modules[i];
          if (!a || a.module !== b.module) return;
          modules2.push(diffSnapshots(a, b, options));
        });
        return {
          modules: modules2,
          text: () => modules2.map((m) => `${m.module}:
${m.text}`).join("\n"),
          json: () => modules2.map(({ text, ...m }) => m)
        };
      },
      /**
       * One JSON report (docs/contracts.md) per tracked instance, in instantiation order. `exit`: how the app ended
       * ({status: 'returned' | 'exited' | 'trap', code, message}), `notes`: lines for every report.
       */
      report({ exit, notes } = {}) {
        return instances.map((r) => {
          const all = [...notes ?? []];
          if (r.collected) all.push(collectedNote(r.collected));
          const caught = r.trapped - (exit?.status === "trap" ? 1 : 0);
          if (caught > 0) all.push(trappedNote(caught));
          return r.tracker.report({ module: r.name, instance: r.instance, exit, notes: all, show_reachable: showReachable, profile, policy, calls: r.exportCalls });
        });
      },
      /**
       * A short text form of `report()`; called without reports, it also names the modules left untracked (a page
       * that logs it showed nothing at all when the module with the heap was skipped).
       */
      text(reports) {
        if (reports) return reports.map(textOf).join("\n");
        const lines = this.report().map(textOf);
        for (const s of skipped) if (s.heap) lines.push(`NOT TRACKED: ${s.name}: ${s.reason}`);
        if (workers.length) lines.push(`NOT TRACKED: ${workerNote(workers)}`);
        if (!instances.length && !skipped.some((s) => s.heap)) lines.push(`wasmleak: no module with an allocator was instantiated${workers.length ? " on the page's own thread" : ""}; nothing tracked`);
        return lines.join("\n");
      },
      /** Undo the patches (instances already tracked stay tracked). */
      detach() {
        if (timer) clearInterval(timer);
        for (const [k, v] of Object.entries(saved)) {
          Object.defineProperty(WebAssembly, k, { value: v, writable: true, configurable: true, enumerable: false });
        }
        Object.assign(tableProto, tableSaved);
        if (NativeWorker) globalThis.Worker = NativeWorker;
        delete globalThis[ATTACHED];
      }
    };
    globalThis[ATTACHED] = attached;
    if (shared && mainThread) {
      const drain = setInterval(() => {
        if (shared.used() < 1 << 20) return;
        for (const r of instances) if (r.tracker.shared) r.tracker.flush();
      }, 200);
      drain.unref?.();
    }
    if (snapshotInterval > 0) {
      timer = setInterval(() => {
        if (instances.length) attached.snapshot().catch(() => {
        });
      }, snapshotInterval);
      timer.unref?.();
    }
    if (overlay) showOverlay(attached, { server });
    return attached;
  }
  function textOf(report) {
    return typeof report.text === "string" ? report.text : `${report.module}: ${JSON.stringify(report.summary)}
`;
  }

  // js/src/browser.mjs
  if (!globalThis.wasmleak) globalThis.wasmleak = Object.freeze({ ...index_exports, ...overlay_exports });
})();

// Conventions of the JS glue generators (wasm-bindgen, Emscripten/Embind): where JS gets hold of pointers
// into linear memory other than an export's return value, so blocks only JS keeps are kind `host`.
//
// `watchInstance(instance, hold)` is called once per tracked instance, right after it is created (its
// `exports` are already wasmleak's wrapped copy). `hold(value, label)` records a number JS now holds.
//
// Emscripten's Embind (and `dynCall`, `addFunction` callers, the WebIDL binder's callbacks) does not call
// exports to create objects: it fetches the C++ invoker from the module's function table
// (`wasmTable.get(rawInvoker)`) and calls that. `new Manifold(...)`, `Manifold.cube(...)` or `a.add(b)` run
// `invoker(context, ...args)`, which returns the raw pointer of a heap-allocated C++ object; Embind keeps it
// in the handle (`handle.$$.ptr`) until `.delete()`. So every function fetched from an exported table through
// `Table.prototype.get` is handed out wrapped: its integer results that can be addresses in the memory are
// held, labelled by the JS function that called it — Embind names its invokers after the binding
// (`Manifold.cube`, `constructor Manifold`, `Manifold.translate`) with `createNamedFunction`.
//
// Pointers the module passes *to* JS imports are seen by `wrapImports`, which attach() applies to the import
// object before instantiating: Embind's registration passes each bound function's context (a `new`ed copy of
// the function pointer) to `_embind_register_*`, and the glue keeps it for the module's lifetime; wasm-bindgen
// hands each Rust closure (`Closure::new`, `into_js_value`, `forget`, `once_into_js`) to an import that wraps
// it in a JS function, which keeps the closure's boxed data pointer until the closure is dropped.

// The glue's own plumbing between a binding and the table: skipped when naming the caller.
const PLUMBING = new Set(['dynCall', 'dynCallLegacy', 'getWasmTableEntry', 'getDynCaller', 'makeDynCaller',
  'invoke', 'ccall', 'cwrap', 'apply', 'call', 'Reflect.apply']);

/** The name of the JS function that called the wrapper (two frames up, past the glue's plumbing). */
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
  // sites[0] is the table wrapper itself.
  for (let i = 1; i < sites.length; i++) {
    const s = sites[i];
    if (typeof s.getFunction !== 'function') continue;
    if (s.getThis?.() instanceof WebAssembly.Instance) break; // a wasm frame: JS was called back from wasm
    // A sloppy-mode function (Embind's invokers are made with `new Function`) is available with its `name`
    // property, which `createNamedFunction` set to the binding's human name.
    const fn = s.getFunction();
    const own = typeof fn === 'function' && typeof fn.name === 'string' ? fn.name : '';
    if (own && !PLUMBING.has(own)) return own;
    let inferred = s.getFunctionName?.() ?? '';
    // Closure-compiled Embind glue assigns methods through computed keys, which V8 names `prototype.<computed>`
    // (or not at all): the property it was called through is the method (`Yoga.Node.create` → `create`).
    if (!inferred || inferred.includes('<computed>')) inferred = s.getMethodName?.() ?? '';
    if (inferred && !PLUMBING.has(inferred)) return inferred;
  }
  return null;
}

/** `value` as an address in `memory` a block could start at (or point into), else null. */
function asAddress(value, memory) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value === 0) return null;
  const a = value >>> 0;
  if (a % 4 !== 0) return null; // malloc results are 8-aligned; interior pointers word-aligned
  if (memory && a >= memory.buffer.byteLength) return null;
  return a;
}

/**
 * Hand out the functions of `table` wrapped so their results are held. Only this table object is changed (an
 * own `get` property shadowing `WebAssembly.Table.prototype.get`); wrappers are cached per wasm function, so
 * `table.get(i) === table.get(i)` still holds.
 */
// Emscripten's exception and longjmp trampolines (`invoke_vi(index, a1)`: save the stack, call table entry
// `index`, catch what it throws): JS only passes the table function's result back to wasm, so it is not a value
// JS holds. Set by the wrapped trampoline just before it calls the table, taken by that first table call.
const INVOKE_TRAMPOLINE = /^_?invoke_[a-z]+$/;
// The same by their code, where closure renamed them (`function Aa(a,b){var c=X();try{return P(a)(b)}catch(f){Y(c);
// if(f!==f+0)throw f;W(1,0)}}`): a table call inside `try`, and Emscripten's test for a C++ exception (a number).
// Without it, every pointer returned through one was "held by JS" (shared_ptr cycles read as `host`, with the
// advice to call .delete(): `--closure 1 -fexceptions`, Emscripten survey).
const INVOKE_SOURCE = /try\s*\{\s*(?:return\s+)?[\w$.]+\(\s*[\w$]+\s*\)\s*\([^()]*\)\s*;?\s*\}\s*catch\s*\(\s*([\w$]+)\s*\)\s*\{[^{}]*?\b\1\s*!==\s*\1\s*\+\s*0/;
const isInvokeTrampoline = (k, f) =>
  INVOKE_TRAMPOLINE.test(k) || INVOKE_TRAMPOLINE.test(f.name ?? '') || (f.length >= 1 && INVOKE_SOURCE.test(sourceOf(f).slice(0, 400)));
let invokeCalling = false;

function watchTable(table, memory, hold, calls) {
  if (Object.prototype.hasOwnProperty.call(table, 'get')) return; // already watched
  const get = WebAssembly.Table.prototype.get;
  const wrappers = new WeakMap();
  const wrap = (fn, index) => {
    let w = wrappers.get(fn);
    if (w) return w;
    w = function (...args) {
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
    Object.defineProperty(w, 'name', { value: fn.name });
    Object.defineProperty(w, 'length', { value: fn.length });
    wrappers.set(fn, w);
    return w;
  };
  Object.defineProperty(table, 'get', {
    configurable: true,
    writable: true,
    value: function (index, ...rest) {
      const fn = get.call(this, index, ...rest);
      return typeof fn === 'function' ? wrap(fn, index) : fn;
    },
  });
}

export function watchInstance(instance, hold) {
  const exports = instance?.exports ?? {};
  const values = Object.values(exports);
  const memory = values.find((v) => v instanceof WebAssembly.Memory);
  const calls = new Map(); // caller name → calls that returned an address
  for (const v of values) {
    if (v instanceof WebAssembly.Table) watchTable(v, memory, hold, calls);
  }
}

// Embind's registration imports and the arguments that are a bound function's context: `getContext(x)` in
// emscripten/bind.h, a `new`ed copy of the member (or free) function pointer or of the field pointer, which
// the glue keeps in the invoker's closure for the module's lifetime. Parameter lists from Emscripten's
// src/embind/embind.js. (`_embind_register_function` and `_embind_register_class_class_function` pass the
// plain function pointer, a table index, not a heap block.)
const EMBIND_CONTEXT_ARGS = {
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
  _embind_register_value_array_element: [4, 8],
};

// What Embind's registration functions throw while a type they name is not registered yet (class, method,
// property, constructor registrations): a message closure compiling keeps.
const EMBIND_REGISTRATION = /due to unbound types/;
const sourceOf = (f) => Function.prototype.toString.call(f);

/**
 * In Embind glue whose names are minified: a registration function with a context argument. Those with the
 * message, and the value-object field and value-array element registrations, which only queue their arguments
 * (`structRegistrations[structType].fields.push({…})`, minified `Va[a].ia.push({…})`, 10 and 9 parameters).
 */
function embindRegistration(f) {
  const src = sourceOf(f);
  return EMBIND_REGISTRATION.test(src) || ((f.length === 9 || f.length === 10) && /\]\.[\w$]+\.push\(\{/.test(src));
}

// wasm-bindgen closures. The Rust side boxes the closure (`Box<dyn FnMut>`: the data pointer `a`, the vtable
// `b`) and passes (a, b) to an import whose glue is `makeMutClosure(a, b, invoker)` / `makeClosure(...)`: a JS
// function whose `state.a` is the only pointer to the box until the closure is dropped. Dropping it (Rust
// `drop(Closure)`, or the glue's FinalizationRegistry once JS garbage-collects the function) frees the box, and
// the tracker forgets a held value when its block is freed. The import, by wasm-bindgen version:
//   0.2.130 (fixtures/wasm/bindgen/): `__wbindgen_generic_<16 hex digits>(a, b)`, a generic intrinsic also
//     used for other conversions; the releases before it: `__wbindgen_cast_<16 hex digits>(a, b[, dtor])`, the
//     cast intrinsic (also strings, numbers, …). Only calls whose result is a closure function count: the glue
//     gives it a `_wbg_cb_unref` property (the refcount drop the Rust `Drop` calls; `.original`, the state, in
//     releases before that) — property names, which survive minification.
//   older (0.2.8x/0.2.9x): `__wbindgen_closure_wrapper<N>(a, b, dtorIndex)`, one import per closure type.
// In the import object's wasm-bindgen namespace (`wbg`; `./<crate>_bg.js` for `--target nodejs` and bundlers;
// `__wbindgen_placeholder__` in older nodejs glue): matched by the import name in any namespace.
/**
 * Exports of a test harness whose results are the harness's own, kept until its process exits: wasm-bindgen-test's
 * `WasmBindgenTestContext` (what the runner's script creates and never frees). What they point at is a runtime
 * root (`reachable`), not a handle the app forgot to free.
 */
export const HARNESS_EXPORTS = new Set(['wasmbindgentestcontext_new']);

/**
 * wasm-bindgen's allocators for the arguments JS passes (`passStringToWasm0`, `passArray8ToWasm0`): the glue
 * copies a string or array into the block and hands its address straight to the export it calls, which takes
 * the block over (a `Vec<u8>`/`String` argument) or frees it. JS keeps nothing: a block Rust then leaks
 * (`mem::forget(v)`) is lost, not held by JS.
 */
export const ARGUMENT_EXPORTS = new Set(['__wbindgen_malloc', '__wbindgen_realloc']);

/** wasm-bindgen's destructor exports, `__wbg_<class>_free(ptr, fromFinalizer)` (0.2.93 on: 1 from its FinalizationRegistry). */
export const BINDGEN_FREE = /^__wbg_\w+_free$/;

/** The report's note on calls into the module that trapped and were caught (index.mjs counts them). */
export const trappedNote = (n) =>
  `${n} call${n === 1 ? '' : 's'} into the module ended in a trap that JavaScript caught (a Rust panic aborts on ` +
  "wasm32, as a #[should_panic] test's does; C's abort()): nothing those calls' frames owned was dropped or freed, " +
  'so what they allocated and still held is reported lost or indirect — not a leak of the code that runs to completion';

/** The report's note on objects a garbage collection freed (index.mjs counts the finalizer's destructor calls). */
export const collectedNote = (n) =>
  `${n} wasm-bindgen object${n === 1 ? ' was' : 's were'} freed by JavaScript's garbage collector (the glue's ` +
  'FinalizationRegistry), not by .free(): a run in which it does not collect them leaks them — free them explicitly';

const BINDGEN_CLOSURE_WRAPPER = /^__wbindgen_closure_wrapper\d+$/;
const BINDGEN_INTRINSIC = /^__wbindgen_(generic|cast)_[0-9a-f]+$/;

// wasm-bindgen objects that reach JS through an import rather than an export's return value: `JsValue::from(obj)`,
// a `Vec<Obj>` returned, an `Obj` passed to an imported JS function. The import's glue wraps the pointer it is given
// into the class's JS object (`__wbg_obj_new(arg0) { const ret = Obj.__wrap(arg0); … }`), which holds it until
// `.free()`: the arguments passed to `__wrap` are held. `__wrap` is a property name, which survives minification.
const WRAP_CALL = /\.__wrap\(\s*([A-Za-z_$][\w$]*)\s*\)/g;

/** The indices of `f`'s parameters that its source passes to a wasm-bindgen class's `__wrap`, or null. */
function wrappedParams(f) {
  const src = sourceOf(f);
  if (!src.includes('__wrap(')) return null;
  const list = /^[^(=]*\(([^)]*)\)/.exec(src)?.[1] ?? /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src)?.[1] ?? '';
  const params = list.split(',').map((p) => p.trim());
  const found = new Set([...src.matchAll(WRAP_CALL)].map((m) => params.indexOf(m[1])).filter((i) => i >= 0));
  return found.size ? [...found] : null;
}

// Embind's `val` calling a JS function with C++ values (`cb(Thing(1))`): `_emval_call(handle, argCount, argTypes,
// argv)` reads each argument's wire value from `argv`, 8 bytes apiece (Emscripten 3.1's GenericWireType); a class
// passed by value is a heap copy whose pointer becomes a handle JS must `.delete()`. The argument words that are
// live blocks' addresses are held.
const EMVAL_CALL = /^_?_emval_call$/;
/** Node-API imports that give a JS object a native pointer (and a finalizer hint): the pointer arguments. */
const NAPI_FINALIZED = {
  __proto__: null,
  napi_wrap: [2, 4],
  napi_add_finalizer: [2, 4],
  napi_create_external: [1, 3],
  napi_create_external_arraybuffer: [1, 4],
  napi_create_external_buffer: [2, 4],
  napi_set_instance_data: [1, 3],
};
const EMVAL_ARGS_MAX = 64;

/** Is `r`, the result of a wasm-bindgen import, a closure function made by `makeMutClosure`/`makeClosure`? */
const isBindgenClosure = (r) => typeof r === 'function' && ('_wbg_cb_unref' in r || 'original' in r);

/**
 * A copy of `imports` whose Embind registration functions and wasm-bindgen closure imports hold the pointers
 * they receive, and whose Emscripten `invoke_*` trampolines say their table call's result goes back to wasm.
 * `hold(value, label, { runtime })`:
 * - Embind registration contexts, labelled `Embind registration: <import> context`, with `{ runtime: true }`
 *   (the glue keeps them for the module's lifetime, so what they point at is `reachable`, never a leak).
 *   Emscripten's glue keeps its own JS names on the import functions (`__embind_register_class_function`),
 *   also when the import names are minified (`a.x`).
 * - wasm-bindgen closures, labelled `closure handed to JS (<import>)`, with `{ runtime: false }`: host-held,
 *   so a closure JS never drops (`Closure::forget`, `into_js_value`) is kind `host`.
 * - wasm-bindgen objects an import wraps (`Obj.__wrap(ptr)`), labelled `object handed to JS (<import>)`, with
 *   `{ runtime: false }`: kind `host` until JS calls `.free()`.
 * - the arguments Embind's `_emval_call` passes to a JS function that are live blocks (`word(address)`: the word
 *   at `address` when it is a live block's address, else 0), labelled `passed to a JS function by Embind
 *   (<import>)`, with `{ runtime: false }`: kind `host` until `.delete()`.
 * - Node-API pointers given to JS objects with a finalizer (`napi_wrap`, `napi_create_external_buffer`…), with
 *   `{ strong: true }`: `reachable` until freed; `release(value)` when `napi_remove_wrap` gives one back.
 */
export function wrapImports(imports, hold, wanted, word, release) {
  if (!imports || typeof imports !== 'object') return imports;
  const out = { ...imports };
  // Only what the module imports is read, as the engine reads it: a namespace can be a Proxy that makes an entry
  // for every name it is asked for (Emscripten's `GOT.mem`, whose entries left unset fail its dynamic linker).
  // Without the module's import list (WebAssembly.Module.imports), every entry of every namespace.
  wanted ??= Object.entries(imports).flatMap(([module, obj]) => (obj && typeof obj === 'object'
    ? Object.entries(obj).map(([name, v]) => ({ module, name, kind: typeof v === 'function' ? 'function' : 'other' }))
    : []));
  const names = new Map(); // namespace → [every name imported from it, the functions' names]
  for (const { module, name, kind } of wanted) {
    if (!names.has(module)) names.set(module, [[], []]);
    names.get(module)[0].push(name);
    if (kind === 'function') names.get(module)[1].push(name);
  }
  for (const [ns, [keys, functions]] of names) {
    const obj = imports[ns];
    if (!functions.length || !obj || typeof obj !== 'object') continue;
    let copy = null;
    // What the module imports from `ns`, in a plain object the wrapped functions then replace.
    const copyOf = () => Object.fromEntries(keys.map((n) => [n, obj[n]]));
    // Import `k` becomes `wrapper` (which calls `f`), under `f`'s name and length.
    const replace = (k, f, wrapper) => {
      copy ??= copyOf();
      Object.defineProperty(wrapper, 'name', { value: f.name });
      Object.defineProperty(wrapper, 'length', { value: f.length });
      copy[k] = wrapper;
    };
    // Embind glue: one of the functions registers types (with its message).
    let embind;
    const isEmbind = () => (embind ??= functions.some((n) => typeof obj[n] === 'function' && EMBIND_REGISTRATION.test(sourceOf(obj[n]))));
    for (const k of functions) {
      const f = obj[k];
      if (typeof f !== 'function') continue;
      if (isInvokeTrampoline(k, f)) {
        replace(k, f, function (...args) {
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
        const label = `closure handed to JS (${k})`;
        replace(k, f, function (...args) {
          const r = f.apply(this, args);
          const a = args[0];
          if ((always || isBindgenClosure(r)) && typeof a === 'number' && a > 0) hold(a >>> 0, label, { runtime: false });
          return r;
        });
        continue;
      }
      // Emscripten 3.1's form only, whose second parameter is the count (later ones pass a method caller there).
      if (word && (EMVAL_CALL.test(k) || EMVAL_CALL.test(f.name ?? '')) && /\(\s*\w+\s*,\s*argCount\b/.test(sourceOf(f))) {
        const label = `passed to a JS function by Embind (${k})`;
        replace(k, f, function (handle, argCount, argTypes, argv, ...rest) {
          if (Number.isInteger(argCount) && argCount > 0 && argCount <= EMVAL_ARGS_MAX) {
            for (let i = 0; i < argCount; i++) {
              const v = word((argv >>> 0) + 8 * i);
              if (v) hold(v >>> 0, label, { runtime: false });
            }
          }
          return f.call(this, handle, argCount, argTypes, argv, ...rest);
        });
        continue;
      }
      // Node-API on wasm (napi-wasm: lightningcss-wasm, Parcel's packages): a native pointer handed to a JS
      // object with a finalizer is held by that object until JS's GC collects it and the finalizer frees it —
      // still reachable, not lost (it was "lost" with the advice to free it in the Rust code, which was right).
      const napi = NAPI_FINALIZED[k];
      if (napi) {
        const label = `a JS object through ${k} (freed by its finalizer when JS's garbage collector collects the object)`;
        replace(k, f, function (...args) {
          const r = f.apply(this, args);
          for (const i of napi) {
            const v = args[i];
            if (typeof v === 'number' && v > 0) hold(v >>> 0, label, { runtime: false, strong: true });
          }
          return r;
        });
        continue;
      }
      if (k === 'napi_remove_wrap' && word && release) {
        // The native object is the module's again (`*result`): no longer held by the JS object.
        replace(k, f, function (...args) {
          const r = f.apply(this, args);
          const v = typeof args[2] === 'number' && args[2] > 0 ? word(args[2] >>> 0) : 0;
          if (v) release(v >>> 0);
          return r;
        });
        continue;
      }
      const wrapped = wrappedParams(f);
      if (wrapped) {
        const label = `object handed to JS (${k})`;
        replace(k, f, function (...args) {
          for (const i of wrapped) {
            const v = args[i];
            if (typeof v === 'number' && v > 0) hold(v >>> 0, label, { runtime: false });
          }
          return f.apply(this, args);
        });
        continue;
      }
      const name = String(f.name ?? '').replace(/^_+/, '_');
      const idx = EMBIND_CONTEXT_ARGS[name];
      // Closure-compiled glue renames the registration functions (`a.a`), but keeps their messages: every
      // argument of one is held (the others are type ids, names, counts and table indices, never heap blocks).
      const minified = !idx && isEmbind() && embindRegistration(f);
      if (!idx && !minified) continue;
      const label = idx ? `Embind registration: ${name} context` : `Embind registration (import ${ns}.${k}) context`;
      replace(k, f, function (...args) {
        for (const i of idx ?? args.keys()) {
          const v = args[i];
          if (typeof v === 'number' && v > 0) hold(v >>> 0, label, { runtime: true });
        }
        return f.apply(this, args);
      });
    }
    if (copy) out[ns] = copy;
  }
  return out;
}

// Threaded modules in Node (Emscripten -pthread): the main thread instantiates the module, and every worker
// instantiates the same (instrumented) module on the same shared memory. Each thread runs its own copy of this
// runtime (`--import` preloads run in workers), so one heap's events come from many JS realms. They meet in one
// log, in shared memory, under one lock: a hook takes the lock, checks and updates the live set, appends its
// event, and lets go — so the log's order is the allocator's (an allocation is logged after the allocator
// returned it, before the program can hand it to another thread; a free before the allocator can hand the block
// out again). The main thread's tracker reads the log into the analysis (`Tracker.drainShared`).
//
// The log and the live set are made by the main thread's attach() and handed to every worker created after it
// (`worker_threads.setEnvironmentData`): attach() runs before the app, so that is every worker. One threaded
// module per process (a second is left untracked, with why).
//
// Stacks: each thread captures a context's stack (its wasm frames, and the JS frames above them) the first time
// it sees the context, and logs the frames before the event; the main thread interns them.
//
// Browsers (a cross-origin isolated page, where SharedArrayBuffer exists; Emscripten -pthread needs that too):
// the page's attach() makes the log, and every Worker the page creates after it starts with a boot script
// (`wrapWorkers`) that takes the buffers from the first message, loads this runtime (the bundle, from its own
// URL) and attaches it, then runs the worker's own script: a classic worker's with importScripts, a module
// worker's with import() (the messages that arrive meanwhile are held, then dispatched again). The page's main
// thread cannot Atomics.wait: its side of the lock spins.

export const EV_ALLOC = 1, EV_FREE = 2, EV_REALLOC = 3, EV_STACK = 8; // in the log; EV_FREE's third word: 1 = not a live block
export const OWN_FRAMES = 0xffffffff; // an EV_STACK's length when the frames are in the main thread's `ownFrames`
const KEY = 'wasmleak.threads';
/** A worker's message to the page: it instantiated wasm wasmleak does not track there (not the threaded module). */
const UNTRACKED = 'wasmleak.untracked';

/**
 * The page's workers (started by `wrapWorkers`) that instantiated wasm of their own, not tracked: listed by the page
 * as `workers` are without the flag (index.mjs), so a page whose wasm runs there does not look clean.
 */
export const untrackedWorkers = [];

/** In a page's worker: tell the page this worker runs wasm wasmleak does not track. */
export function reportUntracked() {
  if (!globalThis.document && typeof globalThis.postMessage === 'function' && globalThis[Symbol.for(KEY)]) {
    globalThis.postMessage({ [UNTRACKED]: true });
  }
}
const MAX_BYTES = 1 << 30;
const encoder = new TextEncoder();
// The browser bundle's own URL, for the boot script of workers (a page's classic <script>; null elsewhere).
const RUNTIME_URL = globalThis.document?.currentScript?.src || null;

let state; // undefined: not looked up yet; null: none

/** The log and live set every thread shares, in Node when shared memory is available; null otherwise. */
export function sharedState() {
  if (state !== undefined) return state;
  state = null;
  if (typeof SharedArrayBuffer === 'undefined' || !('grow' in SharedArrayBuffer.prototype)) return state;
  const wt = globalThis.process?.getBuiltinModule?.('node:worker_threads');
  if (wt) {
    let buffers = wt.isMainThread ? null : wt.getEnvironmentData(KEY);
    if (wt.isMainThread) {
      buffers = newBuffers();
      wt.setEnvironmentData(KEY, buffers);
    }
    if (buffers) state = new Shared(buffers, wt.threadId);
  } else if (globalThis[Symbol.for(KEY)]) {
    // A page's worker, started by `wrapWorkers`: its boot script left the buffers and its thread number here.
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
    module: new SharedArrayBuffer(4),
  };
}

/**
 * A page's workers start with wasmleak (see the top of this file): `Worker` is replaced by a subclass whose
 * worker runs a boot script first, and whose first message carries the buffers and the worker's thread number.
 * The worker's own script then runs from the boot script: `self.location` is the boot script's (a blob: URL),
 * not the script's; `import.meta.url` in a module worker stays the script's.
 */
function wrapWorkers(buffers) {
  const Native = globalThis.Worker;
  let next = 1;
  class Worker extends Native {
    constructor(url, options) {
      let src = new URL(url, globalThis.location.href).href;
      // The worker's script is fetched later, by the boot script: an app that revokes its blob: URL right after
      // `new Worker` (a common pattern) would have it gone by then. Read it now into a URL of our own.
      if (src.startsWith('blob:')) src = URL.createObjectURL(new Blob([readNow(src)], { type: 'text/javascript' }));
      const boot = (options?.type === 'module' ? MODULE_BOOT : CLASSIC_BOOT)
        .replace('RUNTIME_URL', () => JSON.stringify(RUNTIME_URL))
        .replaceAll('SCRIPT_URL', () => JSON.stringify(src));
      super(URL.createObjectURL(new Blob([boot], { type: 'text/javascript' })), options);
      Native.prototype.postMessage.call(this, { [KEY]: { buffers, tid: next++ } });
      // Registered before any of the app's listeners: wasmleak's message never reaches them.
      const shown = String(url);
      this.addEventListener('message', (e) => {
        if (!e.data || typeof e.data !== 'object' || !e.data[UNTRACKED]) return;
        e.stopImmediatePropagation();
        if (!untrackedWorkers.includes(shown)) untrackedWorkers.push(shown);
      });
    }
  }
  globalThis.Worker = Worker;
}

/** The text at a blob: URL, now (a synchronous request: a page has no other synchronous read of a blob). */
function readNow(url) {
  const r = new XMLHttpRequest();
  r.open('GET', url, false);
  r.send();
  return r.responseText;
}

// The boot scripts: the first message is wasmleak's (posted by the constructor, before any of the app's).
const BOOT_INIT = `
  if (!e.data || !e.data[${JSON.stringify(KEY)}]) return;
  self.removeEventListener('message', init);
  e.stopImmediatePropagation();
  self[Symbol.for(${JSON.stringify(KEY)})] = e.data[${JSON.stringify(KEY)}];`;
// The worker runs from a blob: URL, so its script's relative URLs would resolve against that (`importScripts('lib.js')`:
// "The URL 'lib.js' is invalid"; Emscripten's glue fetching `lib.wasm`): resolved against the script's own URL, as
// they are without wasmleak (browser survey).
const BOOT_BASE = `const base = SCRIPT_URL;
  const abs = (u) => (typeof u === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(u) ? new URL(u, base).href : u);
  if (self.importScripts) { const imp = self.importScripts; self.importScripts = (...u) => imp.apply(self, u.map(abs)); }
  if (self.fetch) { const f = self.fetch; self.fetch = (input, init) => f.call(self, abs(input), init); }
  if (self.XMLHttpRequest) {
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (m, u, ...rest) { return open.call(this, m, abs(u), ...rest); };
  }
  if (self.Worker) { const W = self.Worker; self.Worker = class Worker extends W { constructor(u, o) { super(abs(u), o); } }; }`;
const CLASSIC_BOOT = `self.addEventListener('message', function init(e) {${BOOT_INIT}
  importScripts(RUNTIME_URL);
  wasmleak.attach();
  ${BOOT_BASE}
  importScripts(SCRIPT_URL);
});`;
const MODULE_BOOT = `const held = [];
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

class Shared {
  /** `spin`: this thread cannot Atomics.wait (a page's main thread). */
  constructor({ lock, log, live, module }, tid, spin = false) {
    this.spin = spin;
    this.buffers = { lock, log, live, module };
    this.lockWord = new Int32Array(lock);
    this.log = new Uint32Array(log); // length-tracking: follows the buffer as it grows
    this.liveBuffer = live;
    this.live = new Uint8Array(live);
    this.moduleWord = new Int32Array(module);
    this.tid = tid;
    this.ownFrames = new Map(); // the main thread's: "lo,hi" → frames of a context it logged (`hooks`)
    if (this.log[0] === 0) Atomics.compareExchange(this.log, 0, 0, 1); // word 0: the next free word
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
      // Held by a worker for the few stores of one event: try until it is free (a waiter's 2 stays as it is).
      while (Atomics.compareExchange(L, 0, 0, 1) !== 0);
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
    if (size > buf.maxByteLength) throw new Error('wasmleak: the threads event log is full (1 GiB)');
    buf.grow(size);
  }

  append(kind, a, b, c, lo, hi) {
    this.room(6);
    const l = this.log, n = l[0];
    l[n] = kind | (this.tid << 8); l[n + 1] = a; l[n + 2] = b; l[n + 3] = c; l[n + 4] = lo; l[n + 5] = hi;
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
    // Contexts this thread has logged the frames of: hi halves by lo half (no string per event).
    const seen = new Map();
    const def = (lo, hi) => {
      let his = seen.get(lo);
      if (his?.has(hi)) return;
      if (!his) seen.set(lo, (his = new Set()));
      his.add(hi);
      const f = frames();
      if (!f) return;
      // The main thread's frames stay in memory (its own tracker reads the log); the record says so instead of
      // carrying them as JSON.
      const own = this.tid === 0;
      if (own) this.ownFrames.set(`${lo},${hi}`, f);
      const bytes = own ? null : encoder.encode(JSON.stringify(f));
      const words = own ? 0 : (bytes.length + 3) >>> 2;
      this.holding(() => {
        this.room(4 + words);
        const l = this.log, n = l[0];
        l[n] = EV_STACK | (this.tid << 8); l[n + 1] = lo; l[n + 2] = hi; l[n + 3] = own ? OWN_FRAMES : bytes.length;
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
          old >>>= 0; ptr >>>= 0; size >>>= 0;
          if (ptr !== 0 || size === 0) {
            this.born(ptr);
            if (old) this.died(old);
          }
          this.append(EV_REALLOC, old, ptr, size, lo, hi);
        });
      },
    };
  }

}

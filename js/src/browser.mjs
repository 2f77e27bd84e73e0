// The browser's entry: what `wasmleak serve` injects into every page as one classic script (js/dist/runtime.js,
// bundled by esbuild: scripts/bundle-js.sh). Everything index.mjs and overlay.mjs export, as `globalThis.wasmleak`.
import * as index from './index.mjs';
import * as overlay from './overlay.mjs';

if (!globalThis.wasmleak) globalThis.wasmleak = Object.freeze({ ...index, ...overlay }); // included twice: once

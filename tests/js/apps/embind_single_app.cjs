// Emscripten glue with the module inside it as base64 (fixtures/wasm/emscripten_embind_single.js, built by
// fixtures/build.sh from fixtures/emscripten/embind.cpp with -sSINGLE_FILE): N `new Module.Parser(100)`,
// kept and never `.delete()`d (MODE leak) or deleted at once (MODE delete).
// Usage: node embind_single_app.cjs N leak|delete
const factory = require('../../../fixtures/wasm/emscripten_embind_single.js');

factory().then((Module) => {
  const n = Number(process.argv[2] ?? 3);
  const mode = process.argv[3] ?? 'leak';
  const kept = [];
  for (let i = 0; i < n; i++) {
    const p = new Module.Parser(100);
    if (p.size() !== 100) throw new Error(`size ${p.size()}`);
    if (mode === 'leak') kept.push(p);
    else p.delete();
  }
  console.log(`embind ${mode} x${n}: done`);
});

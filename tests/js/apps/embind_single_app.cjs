// Emscripten glue with the module inside it as base64 (fixtures/wasm/emscripten_embind_single.js, built by
// fixtures/build.sh from fixtures/emscripten/embind.cpp with -sSINGLE_FILE): N `new Module.Parser(100)`,
// kept and never `.delete()`d (MODE leak) or deleted at once (MODE delete); or N `call_with_parser(cb, 100)`,
// whose callback gets a Parser by value (an Embind heap copy) and keeps it (MODE callback_leak) or deletes it
// (MODE callback_delete).
// Usage: node embind_single_app.cjs N leak|delete|callback_leak|callback_delete
const factory = require('../../../fixtures/wasm/emscripten_embind_single.js');

factory().then((Module) => {
  const n = Number(process.argv[2] ?? 3);
  const mode = process.argv[3] ?? 'leak';
  const kept = [];
  for (let i = 0; i < n && mode.startsWith('callback_'); i++) {
    Module.call_with_parser((p) => {
      if (p.size() !== 100) throw new Error(`size ${p.size()}`);
      if (mode === 'callback_leak') kept.push(p);
      else p.delete();
    }, 100);
  }
  for (let i = 0; i < n && !mode.startsWith('callback_'); i++) {
    const p = new Module.Parser(100);
    if (p.size() !== 100) throw new Error(`size ${p.size()}`);
    if (mode === 'leak') kept.push(p);
    else p.delete();
  }
  console.log(`embind ${mode} x${n}: done`);
});

// ghostty-web 0.4.0 (Zig, stripped: Zig's heap found by its std.mem.Allocator vtable): N terminals, each written
// to; the odd ones freed, the even ones kept and never freed (`node ghostty_app.mjs N`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ghostty } from 'ghostty-web';

const n = Number(process.argv[2] ?? 4);
// The glue's own loader fetches a URL or reads through a browser stub: instantiate the package's .wasm here.
const bytes = readFileSync(createRequire(import.meta.url).resolve('ghostty-web/ghostty-vt.wasm'));
const { instance } = await WebAssembly.instantiate(bytes, { env: { log: () => {} } });
const ghostty = new Ghostty(instance);
const kept = [];
for (let i = 0; i < n; i++) {
  const t = ghostty.createTerminal(80, 24);
  for (let k = 0; k < 20; k++) t.write(`line ${i} ${k} \x1b[31mred\x1b[0m text\r\n`);
  if (i % 2 === 0) kept.push(t);
  else t.free();
}
console.log(`x${n}: done, ${kept.length} kept`);

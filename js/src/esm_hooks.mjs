// Module loader hooks (`module.register`), installed by register.mjs only when node runs with
// `--experimental-wasm-modules`: a .wasm file imported as an ES module (wasm-bindgen `--target bundler` glue)
// would be compiled and instantiated by Node's own loader, out of wasmleak's sight. The hook turns it into a
// JavaScript module that does what Node's does — import each module the wasm imports from, instantiate, export
// every export under its name — through the `WebAssembly` API, which wasmleak watches. Each such module's URL
// goes to the main thread (listed as not tracked if the API then never saw it).
let port = null;

export function initialize(data) {
  port = data?.port ?? null;
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (result.format !== 'wasm') return result;
  port?.postMessage(url);
  const module = new WebAssembly.Module(result.source);
  const specifiers = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  const q = JSON.stringify;
  const source = [
    "import { readFileSync } from 'node:fs';",
    ...specifiers.map((s, i) => `import * as i${i} from ${q(s)};`),
    `const imports = { ${specifiers.map((s, i) => `${q(s)}: i${i}`).join(', ')} };`,
    `const bytes = readFileSync(new URL(${q(url)}));`,
    // The module's name in the report: its file's (index.mjs takes it for the next module made).
    `globalThis[Symbol.for('wasmleak.nextModuleName')] = ${q(new URL(url).pathname.split('/').pop())};`,
    'const { exports: x } = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);',
    ...exports.map((e, i) => `const e${i} = x[${q(e)}];\nexport { e${i} as ${q(e)} };`),
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}

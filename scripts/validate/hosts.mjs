// node scripts/validate/hosts.mjs — the JS runtime (the analysis compiled to wasm32, as `wasmleak node` and the
// browser run it) must hook the same entry points as the CLI in every module of the corpus: discovery and its
// experiments are the same Rust code, and the interpreter that runs the experiments gives the same answers in
// both. Prints each module's time in the JS runtime and any difference; exits 1 on a difference.
// Needs fetch.sh's modules, the CLI ($WASMLEAK, default target/release/wasmleak) and the analysis
// ($WASMLEAK_WASM, default target/wasm32-unknown-unknown/release/wasmleak_wasm.wasm).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadAnalysisSync, instrumentWith } from '../../js/src/analysis.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? `${root}target`;
const cli = process.env.WASMLEAK ?? `${target}/release/wasmleak`;
const a = loadAnalysisSync(process.env.WASMLEAK_WASM ?? `${target}/wasm32-unknown-unknown/release/wasmleak_wasm.wasm`);
const dir = `${process.env.WASMLEAK_VALIDATE_CACHE ?? '/var/tmp/wasmleak-validate'}/modules`;
if (!existsSync(dir)) {
  console.log(`no corpus in ${dir}: run scripts/validate/fetch.sh first`);
  process.exit(0);
}
let differ = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort()) {
  const bytes = readFileSync(`${dir}/${f}`);
  const start = Date.now();
  let js;
  try {
    const ins = instrumentWith(a, bytes);
    js = ins.meta.entry_points.map((e) => `${e.func} ${e.role}`).sort().join(', ');
    ins.release();
  } catch (e) {
    // The JS runtime does not track threaded modules (it says so, naming the allocator it found): no comparison.
    if (e.status === 'unsupported' && /shared memory/.test(e.message)) {
      console.log(`threads  ${f}  not tracked by the JS runtime`);
      continue;
    }
    js = `refused (${e.status})`;
  }
  const ms = Date.now() - start;
  const out = JSON.parse(execFileSync(cli, ['inspect', '--format', 'json', `${dir}/${f}`]));
  // The CLI's JSON uses role ids (rust_alloc), the runtime's metadata the role names (rust alloc).
  const name = { header_realloc: 'realloc (8-byte header)' };
  const c = out.allocator.status === 'found'
    ? out.allocator.entry_points.map((e) => `${e.func} ${name[e.role] ?? e.role.replaceAll('_', ' ')}`).sort().join(', ')
    : `refused (${out.allocator.status})`;
  // (Role names differ in case too: `Zig alloc` in the runtime, `zig_alloc` in the CLI's JSON.)
  const norm = (s) => s.toLowerCase().replaceAll('aligned alloc', 'aligned_alloc').replaceAll('posix memalign', 'posix_memalign');
  const same = norm(js) === norm(c);
  differ += !same;
  console.log(`${same ? 'same' : 'DIFFERENT'}  ${f}  ${ms} ms${same ? '' : `\n  js:  ${js}\n  cli: ${c}`}`);
}
console.log(differ ? `${differ} modules differ` : 'every module: the same entry points in both hosts');
process.exit(differ ? 1 : 0);

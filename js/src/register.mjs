// `node --import wasmleak/register APP.mjs`: attach before the app runs and write the reports at exit.
// `wasmleak node` uses it with WASMLEAK_REPORT_FILE set (the JSON goes there, never to the app's stdout);
// without it the text report goes to stderr.
import { attach } from './index.mjs';

const leak = attach();
// How the app ended, for the report: a monitor does not change what Node does with the error.
let failure = null;
process.on('uncaughtExceptionMonitor', (err) => { failure = err; });
process.on('exit', (code) => {
  const file = process.env.WASMLEAK_REPORT_FILE;
  let exit = { status: 'returned', message: 'returned' };
  if (failure) {
    const trap = failure instanceof WebAssembly.RuntimeError;
    exit = { status: trap ? 'trap' : 'exited', code, message: `${trap ? 'wasm trap' : 'uncaught exception'}: ${failure?.message ?? failure}` };
  } else if (code) {
    exit = { status: 'exited', code, message: `exited with status ${code}` };
  }
  let out;
  try {
    const reports = leak.report({ exit });
    out = { reports, text: leak.text(reports), skipped: leak.skipped };
  } catch (e) {
    out = { error: String(e?.stack ?? e) };
  }
  if (file) {
    process.getBuiltinModule('node:fs').writeFileSync(file, JSON.stringify(out));
  } else {
    process.stderr.write(out.error ? `wasmleak: ${out.error}\n` : out.text);
  }
});

// `node --import wasmleak/register APP.mjs`: attach before the app runs and write the reports at exit.
// `wasmleak node` uses it with WASMLEAK_REPORT_FILE set (the JSON goes there, never to the app's stdout);
// without it the text report goes to stderr.
import { attach } from './index.mjs';

const leak = attach();
process.on('exit', () => {
  const file = process.env.WASMLEAK_REPORT_FILE;
  let out;
  try {
    const reports = leak.report();
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

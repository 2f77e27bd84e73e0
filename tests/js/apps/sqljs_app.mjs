// sql.js 1.13.0 (SQLite compiled by Emscripten; C, cwrap glue, stripped and minified): prepared statements
// never `.free()`d vs freed. Four snapshots: before, then one after each round of K statements.
// Usage: node sqljs_app.mjs leak|free K
import { createRequire } from 'node:module';
import { attach } from '../../../js/src/index.mjs';

const leak = attach();
const initSqlJs = createRequire(import.meta.url)('sql.js');
const [mode = 'leak', k = '5'] = process.argv.slice(2);
const SQL = await initSqlJs();
const db = new SQL.Database();
db.run('CREATE TABLE t (a INTEGER, b TEXT)');
const snaps = [await leak.snapshot()];
for (let round = 0; round < 3; round++) {
  for (let i = 0; i < Number(k); i++) {
    const stmt = db.prepare('SELECT * FROM t WHERE a = ?');
    stmt.bind([i]);
    stmt.step();
    if (mode === 'free') stmt.free();
  }
  snaps.push(await leak.snapshot());
}
const [report] = leak.report();
const diff = leak.diff(snaps[1], snaps[3]).json()[0];
console.log(JSON.stringify({ report, diff, skipped: leak.skipped }));
db.close();

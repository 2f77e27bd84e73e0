// sql.js 1.13.0: N databases opened, each with a table and a statement run and freed; the first `closed` of
// them closed, the others never. Usage: node sqljs_unclosed.mjs N closed
import { createRequire } from 'node:module';

const initSqlJs = createRequire(import.meta.url)('sql.js');
const [n = 3, closed = 0] = process.argv.slice(2).map(Number);
const SQL = await initSqlJs();
for (let d = 0; d < n; d++) {
  const db = new SQL.Database();
  db.run('CREATE TABLE t (a INTEGER, b TEXT)');
  const stmt = db.prepare('INSERT INTO t VALUES (?, ?)');
  stmt.run([d, `row ${d}`]);
  stmt.free();
  if (d < closed) db.close();
}
console.log(`${n} databases, ${closed} closed`);

// A "server" on sql.js 1.13.0 that prepares a statement per request and never frees it (`free` frees it): the
// app the new user ran, with no snapshot and no wasmleak API — `wasmleak node app.mjs N [free]`.
import initSqlJs from 'sql.js';

const n = Number(process.argv[2] ?? 1000);
const free = process.argv[3] === 'free';
const SQL = await initSqlJs();
const db = new SQL.Database();
db.run('CREATE TABLE t (a INTEGER, b TEXT)');
for (let i = 0; i < 100; i++) db.run('INSERT INTO t VALUES (?, ?)', [i, `row ${i}`]);
let found = 0;
for (let i = 0; i < n; i++) {
  const stmt = db.prepare('SELECT b FROM t WHERE a = ?');
  stmt.bind([i % 100]);
  if (stmt.step()) found++;
  if (free) stmt.free();
}
console.log(`${n} requests, ${found} rows`);

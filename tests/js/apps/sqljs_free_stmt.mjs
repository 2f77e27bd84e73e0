// sql.js 1.13.0 misused: 80 statements prepared, and the last 10 freed with sqlite3_free instead of finalized —
// the statement (SQLite's Vdbe) is freed, what it owns is not. Its members are lost, and their owner is the
// freed statement. (The first ~70 come from the connection's lookaside slab, so only heap ones are freed.)
import { createRequire } from 'node:module';

const initSqlJs = createRequire(import.meta.url)('sql.js');
const SQL = await initSqlJs();
const db = new SQL.Database();
db.run('CREATE TABLE t (a INTEGER, b TEXT)');
const stmts = [];
for (let i = 0; i < 80; i++) stmts.push(db.prepare('SELECT b FROM t WHERE a = ? ORDER BY b'));
// `Qa` is the minified field holding the statement's pointer in sql.js 1.13.0.
for (const s of stmts.slice(70)) SQL._sqlite3_free(s.Qa);
console.log(`prepared ${stmts.length}, freed 10 with sqlite3_free`);

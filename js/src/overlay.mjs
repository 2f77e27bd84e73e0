// The in-page panel of wasmleak: Take snapshot, Compare (the last two snapshots, per allocation site, like
// `wasmleak diff`), a status line and, under `wasmleak serve`, a link to the HTML report of the snapshots it
// received. `attach({ overlay: true })` shows it; it lives in a shadow root so the app's CSS does not reach it
// (nor its CSS the app). Importing this file does nothing: Node imports it too.
//
// Stable hooks for tests and scripts: the host element is `#wasmleak-overlay`; inside its (open) shadow root
// `[data-wasmleak=snapshot]`, `[data-wasmleak=compare]`, `[data-wasmleak=status]`, `[data-wasmleak=message]`,
// `[data-wasmleak=result]` (the comparison: a `table` per module, a `tr[data-site]` per row with
// `data-delta-bytes`, `data-delta-blocks`, `data-new-blocks`) and `[data-wasmleak=report]`.

// This page load, for `wasmleak serve`: a reload starts a series of snapshots of its own there.
const PAGE = Math.random().toString(36).slice(2, 10);

const CSS = `
:host { all: initial; position: fixed; right: 12px; bottom: 12px; z-index: 2147483647; }
.panel { font: 12px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; background: #fff;
  border: 1px solid #b9bec7; border-radius: 6px; box-shadow: 0 4px 16px rgba(0,0,0,.18); min-width: 260px;
  max-width: min(640px, calc(100vw - 24px)); max-height: calc(100vh - 24px); display: flex; flex-direction: column; }
header { display: flex; align-items: center; gap: 6px; padding: 4px 8px; background: #27313f; color: #fff;
  border-radius: 5px 5px 0 0; }
header b { flex: 1; font-weight: 600; }
header button { all: unset; cursor: pointer; padding: 0 4px; color: #fff; }
.body { padding: 8px; overflow: auto; }
.panel.min .body { display: none; }
.buttons { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.buttons button { font: inherit; padding: 3px 10px; border: 1px solid #8a93a1; border-radius: 4px; background: #f3f5f8;
  color: #1d1d1f; cursor: pointer; }
.buttons button:hover:not(:disabled) { background: #e2e7ee; }
.buttons button:disabled { opacity: .5; cursor: default; }
a { color: #0b57d0; }
.status { margin-top: 6px; color: #4a5260; }
.msg { margin-top: 2px; white-space: pre-wrap; }
.msg.error { color: #b3261e; }
table { border-collapse: collapse; margin-top: 6px; width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: 2px; }
th, td { padding: 1px 6px; border-bottom: 1px solid #e4e7eb; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; word-break: break-word; max-width: 360px; }
.grow { color: #b3261e; } .shrink { color: #1a7f37; }
`;

const fmtBytes = (n) => {
  const a = Math.abs(n);
  return a < 1024 ? `${n} B` : a < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
};
const signed = (n) => (n > 0 ? `+${n}` : `${n}`);
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What the report says of the Web Workers a page started (`workers`: their URLs). */
export function workerNote(workers) {
  const shown = workers.slice(0, 3).join(', ') + (workers.length > 3 ? `, and ${workers.length - 3} more` : '');
  return `${workers.length === 1 ? 'a Web Worker' : `${workers.length} Web Workers`} the page started (${shown}): wasm run in a worker is not tracked (in a browser, wasmleak tracks the page's own thread, and the workers of a threaded module)`;
}

/**
 * Show the panel for `leak` (what `attach()` returned). `server`: true (or a base URL) when the page is
 * served by `wasmleak serve`: each snapshot is then POSTed to `/__wasmleak/snapshots?module=NAME` and the
 * panel links to `/__wasmleak/report`; false for a page that includes the runtime by hand.
 * Returns { element, takeSnapshot(), compare(), refresh() }, or null outside a page.
 */
export function showOverlay(leak, { server = false } = {}) {
  const doc = globalThis.document;
  if (!doc) return null;
  const base = server === true ? '' : typeof server === 'string' && server ? server.replace(/\/+$/, '') : null;

  const host = doc.createElement('div');
  host.id = 'wasmleak-overlay';
  host.dataset.wasmleak = 'overlay';
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${CSS}</style>
<div class="panel" part="panel">
  <header><b>wasmleak</b><button type="button" data-wasmleak="minimize" title="Minimize">–</button></header>
  <div class="body">
    <div class="buttons">
      <button type="button" id="wasmleak-snapshot" data-wasmleak="snapshot">Take snapshot</button>
      <button type="button" id="wasmleak-compare" data-wasmleak="compare" disabled title="Take two snapshots first">Compare</button>
      ${base === null ? '' : `<a id="wasmleak-report" data-wasmleak="report" href="${base}/__wasmleak/report" target="_blank" rel="noopener">HTML report</a>`}
    </div>
    <div class="status" data-wasmleak="status">loading the analysis…</div>
    <div class="msg" data-wasmleak="message"></div>
    <div data-wasmleak="result"></div>
  </div>
</div>`;
  const $ = (name) => root.querySelector(`[data-wasmleak="${name}"]`);
  const snapBtn = $('snapshot'), cmpBtn = $('compare'), status = $('status'), message = $('message'), result = $('result');

  const own = []; // snapshots taken here, when leak.snapshots does not list them
  const taken = () => (Array.isArray(leak.snapshots) ? leak.snapshots : own);
  let state = 'loading'; // loading | ready | failed
  let busy = false;

  function say(text, isError = false) {
    message.textContent = text;
    message.classList.toggle('error', isError);
  }

  function refresh() {
    const snaps = taken();
    snapBtn.disabled = busy || state !== 'ready';
    cmpBtn.disabled = busy || state !== 'ready' || snaps.length < 2;
    if (state === 'loading') return;
    const parts = [plural(leak.instances?.length ?? 0, 'module') + ' tracked'];
    const skipped = leak.skipped?.length ?? 0;
    if (skipped) parts.push(`${skipped} skipped`);
    const workers = leak.workers ?? [];
    if (workers.length) parts.push(`${plural(workers.length, 'worker')} not tracked`);
    parts.push(plural(snaps.length, 'snapshot'));
    const last = snaps[snaps.length - 1];
    if (last) parts.push(`${fmtBytes(last.modules.reduce((n, m) => n + (m.summary?.bytes ?? 0), 0))} live`);
    status.textContent = parts.join(' · ');
    status.title = (leak.skipped ?? []).map((s) => `${s.name}: ${s.reason}`).concat(workers.length ? [workerNote(workers)] : []).join('\n');
  }

  async function post(m) {
    const url = `${base}/__wasmleak/snapshots?module=${encodeURIComponent(m.module)}&page=${PAGE}`;
    const r = await fetch(url, { method: 'POST', body: m.bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    if (!r.ok) throw new Error(`the server refused the snapshot of ${m.module}: HTTP ${r.status} ${(await r.text()).trim()}`);
  }

  async function takeSnapshot() {
    busy = true;
    refresh();
    say('taking a snapshot…');
    try {
      const s = await leak.snapshot();
      if (!Array.isArray(leak.snapshots)) own.push(s);
      if (!s.modules.length) {
        say(`snapshot ${s.index}: no module with an allocator is tracked yet`);
      } else {
        if (base !== null) for (const m of s.modules) await post(m);
        const what = s.modules.map((m) => `${m.module} ${fmtBytes(m.summary?.bytes ?? 0)} in ${plural(m.summary?.blocks ?? 0, 'block')}`);
        say(`snapshot ${s.index}: ${what.join(', ')}${base !== null ? ' (sent to the report)' : ''}`);
      }
      return s;
    } catch (e) {
      say(`snapshot failed: ${e?.message ?? e}`, true);
      throw e;
    } finally {
      busy = false;
      refresh();
    }
  }

  function compare() {
    const snaps = taken();
    if (snaps.length < 2) {
      say('take two snapshots first: one before the action you suspect, one after repeating it', true);
      return null;
    }
    const [a, b] = snaps.slice(-2);
    let d;
    try {
      d = leak.diff(a, b, { by: 'site' });
    } catch (e) {
      say(`compare failed: ${e?.message ?? e}`, true);
      throw e;
    }
    result.replaceChildren();
    for (const m of d.modules) result.append(table(m));
    say(d.modules.length ? `snapshot ${a.index} → ${b.index}` : `snapshot ${a.index} → ${b.index}: no module is in both`);
    return d;
  }

  /** One module's comparison: the rows that changed, most bytes gained first. */
  function table(m) {
    const t = doc.createElement('table');
    t.dataset.module = m.module;
    const cap = t.createCaption();
    const delta = (m.after?.bytes ?? 0) - (m.before?.bytes ?? 0);
    cap.textContent = `${m.module}: ${signed(delta)} B (${fmtBytes(m.before?.bytes ?? 0)} → ${fmtBytes(m.after?.bytes ?? 0)})`;
    const head = t.createTHead().insertRow();
    for (const h of ['site', 'Δ bytes', 'Δ blocks', 'new']) {
      const th = doc.createElement('th');
      th.textContent = h;
      head.append(th);
    }
    const body = t.createTBody();
    const rows = (m.rows ?? [])
      .filter((r) => r.delta_bytes || r.delta_blocks || r.new_blocks)
      .sort((x, y) => y.delta_bytes - x.delta_bytes)
      .slice(0, 12);
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset.site = r.site;
      tr.dataset.deltaBytes = r.delta_bytes;
      tr.dataset.deltaBlocks = r.delta_blocks;
      tr.dataset.newBlocks = r.new_blocks;
      const name = r.type ? `${r.type} from ${r.site}` : r.site;
      const cells = [name, signed(r.delta_bytes), signed(r.delta_blocks), String(r.new_blocks)];
      cells.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        if (i === 0) td.title = (r.stack ?? []).map((f) => `${f.function ?? '?'}${f.file ? ` (${f.file}:${f.line ?? '?'})` : ''}`).join('\n');
        else if (i < 3) td.className = r.delta_bytes > 0 ? 'grow' : r.delta_bytes < 0 ? 'shrink' : '';
      });
    }
    if (!rows.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = 4;
      td.textContent = 'no change';
    }
    return t;
  }

  snapBtn.addEventListener('click', () => takeSnapshot().catch(() => {}));
  cmpBtn.addEventListener('click', () => { try { compare(); } catch {} });
  $('minimize').addEventListener('click', () => root.querySelector('.panel').classList.toggle('min'));

  Promise.resolve(leak.ready).then(
    () => { state = 'ready'; refresh(); },
    (e) => { state = 'failed'; status.textContent = 'the analysis did not load'; say(String(e?.message ?? e), true); refresh(); },
  );
  // Modules load while the page runs: keep the count current.
  const timer = setInterval(() => { if (state !== 'loading' && !busy) refresh(); }, 1000);

  const mount = () => (doc.body ?? doc.documentElement).append(host);
  if (doc.body) mount();
  else doc.addEventListener('DOMContentLoaded', mount, { once: true });

  return { element: host, takeSnapshot, compare, refresh, stop: () => clearInterval(timer) };
}

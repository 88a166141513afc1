import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { closeSource, listArtifacts, openSource, reportData } from './data.js';
import { renderPlots, STYLE } from './page.js';

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JSON that cannot end the <script> element it is embedded in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

/**
 * `ssr report`: one self-contained HTML file (no script needed to read it, nothing fetched)
 * with the dashboard's plots pre-rendered as SVG, the yield table, the artifacts, and the
 * data the plots were drawn from embedded as JSON for anyone who wants to re-plot it.
 */
export function renderReport(dir: string): string {
  const src = openSource(dir);
  try {
    const data = reportData(src);
    const { summary: s, steps } = data;
    const artifacts = listArtifacts(src, { pageSize: 500 });
    const plots = steps.length
      ? `<div class="plots">${renderPlots(steps)
          .map((p) => `<div class="card">${p.svg}</div>`)
          .join('')}</div>`
      : '<p class="muted">No finished step.</p>';
    const yieldRows = s.yieldTable
      .map(
        (r) =>
          `<tr><td>${esc(r.strategy)}</td><td class="num">${r.tried}</td><td class="num">${r.valid}</td><td class="num">${pct(r.yield)}</td></tr>`,
      )
      .join('');
    const artRows = artifacts.rows
      .map(
        (r) =>
          `<tr><td>${esc(r.id)}${r.kind === 'rejected' ? ' <span class="muted">(rejected injection)</span>' : ''}</td><td class="num">${esc(String(r.step ?? '–'))}</td><td>${esc(r.repo)}</td><td>${esc(r.source)}</td><td>${esc(r.strategy)}</td><td class="${r.valid ? 'ok' : 'bad'}">${r.valid ? 'valid' : esc(`invalid: ${r.failedCheck ?? '?'}`)}</td><td class="num">${r.solveRate === null ? '–' : esc(`${r.solveRate.toFixed(2)} (${r.attempts})`)}</td></tr>`,
      )
      .join('');
    const outcomes = Object.entries(s.injections.byOutcome)
      .map(([o, n]) => `<tr><td>${esc(o)}</td><td class="num">${n}</td></tr>`)
      .join('');
    const rejected = new Map<string, number>();
    for (const p of steps)
      for (const [k, n] of Object.entries(p.failures)) rejected.set(k, (rejected.get(k) ?? 0) + n);
    const rejectedRows = [...rejected]
      .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
      .map(([k, n]) => `<tr><td>${esc(k)}</td><td class="num">${n}</td></tr>`)
      .join('');
    const more =
      artifacts.total > artifacts.rows.length
        ? `<p class="muted">first ${artifacts.rows.length} of ${artifacts.total} artifacts</p>`
        : '';
    const meta =
      s.kind === 'run'
        ? `${s.steps} steps · ${s.artifacts.valid}/${s.artifacts.total} valid artifacts · ${s.episodes.injector} injector / ${s.episodes.solver} solver episodes`
        : `ssr inject output · ${s.artifacts.total} artifacts`;
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssr report: ${esc(s.name)}</title><style>${STYLE}</style></head>
<body><header><b>ssr report</b><span class="meta">${esc(s.name)} — ${esc(meta)} · written ${esc(new Date().toISOString())}</span></header>
<main>
${s.kind === 'run' ? `<h2>Steps</h2>${plots}` : ''}
${yieldRows ? `<h2>Yield</h2><table><tr><th>strategy</th><th class="num">tried</th><th class="num">valid</th><th class="num">yield</th></tr>${yieldRows}</table>` : ''}
${outcomes ? `<h2>Injections</h2><table><tr><th>outcome</th><th class="num">episodes</th></tr>${outcomes}</table>` : ''}
${rejectedRows ? `<h2>Rejections by check (finished steps)</h2><table><tr><th>check or reason</th><th class="num">injections</th></tr>${rejectedRows}</table>` : ''}
<h2>Artifacts</h2>${more}
<table><tr><th>id</th><th class="num">step</th><th>repo</th><th>source</th><th>strategy</th><th>validation</th><th class="num">solve rate (n)</th></tr>${artRows}</table>
</main>
<script type="application/json" id="ssr-data">${scriptJson(data)}</script>
</body></html>
`;
  } finally {
    closeSource(src);
  }
}

/** Writes the report atomically and returns its absolute path. */
export function writeReport(dir: string, out: string): string {
  const html = renderReport(dir);
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, path);
  return path;
}

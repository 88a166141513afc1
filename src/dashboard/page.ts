/**
 * The dashboard page: one HTML document with inline CSS and JS and no build step. Plots are
 * hand-written SVG strings so the static report can render the very same code in Node
 * (`renderPlots`) and ship the result without any script or external file.
 */

/**
 * Browser-and-Node plotting code: pure functions from the step series to SVG markup. Kept as
 * plain JS text (not TypeScript) because it runs in the page as is.
 */
export const PLOTS_JS = `
function ssrEsc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}
function ssrFmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  var a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  if (a >= 10 || Number.isInteger(v)) return String(Math.round(v * 10) / 10);
  return v.toFixed(2);
}
var SSR_W = 340, SSR_H = 190, SSR_L = 44, SSR_R = 10, SSR_T = 26, SSR_B = 26, SSR_LEGEND_ROW = 11;
/** Legend width estimate at 9px: generous, so names never overlap. */
function ssrLegendWidth(name) { return 10 + 5.6 * String(name).length; }
/**
 * Lays the legend out right-aligned: on the title's line while it fits, then on rows of its
 * own below, pushing the plot down; returns the rows and the plot's top edge.
 */
function ssrLegendRows(title, legend) {
  var rows = [], row = [], used = 0;
  var room = function () { return SSR_W - SSR_R - SSR_L - (rows.length === 0 ? 6.5 * title.length + 12 : 0); };
  legend.forEach(function (l) {
    var w = ssrLegendWidth(l.name);
    if (used + w > room() && (row.length || rows.length === 0)) { rows.push(row); row = []; used = 0; }
    row.push(l);
    used += w;
  });
  rows.push(row);
  while (rows.length > 1 && !rows[rows.length - 1].length) rows.pop();
  return { rows: rows, top: SSR_T + SSR_LEGEND_ROW * (rows.length - 1) };
}
/** The frame of a plot: title, legend, grid, axis labels; returns { svg, top }. */
function ssrFrame(title, min, max, xs, legend, xpos) {
  xpos = xpos || ssrX;
  var lay = ssrLegendRows(title, legend || []), top = lay.top;
  var s = '<svg class="plot" viewBox="0 0 ' + SSR_W + ' ' + SSR_H + '" width="' + SSR_W + '" height="' + SSR_H + '" role="img" aria-label="' + ssrEsc(title) + '">';
  s += '<text x="' + SSR_L + '" y="15" class="ptitle">' + ssrEsc(title) + '</text>';
  var ih = SSR_H - top - SSR_B;
  for (var i = 0; i <= 4; i++) {
    var v = min + ((max - min) * i) / 4;
    var y = top + ih - (ih * i) / 4;
    s += '<line x1="' + SSR_L + '" x2="' + (SSR_W - SSR_R) + '" y1="' + y + '" y2="' + y + '" class="grid"/>';
    s += '<text x="' + (SSR_L - 4) + '" y="' + (y + 3) + '" class="ylab">' + ssrFmt(v) + '</text>';
  }
  var n = xs.length, every = Math.max(1, Math.ceil(n / 8));
  for (var j = 0; j < n; j += every) {
    s += '<text x="' + xpos(j, n) + '" y="' + (SSR_H - 8) + '" class="xlab">' + ssrEsc(xs[j]) + '</text>';
  }
  lay.rows.forEach(function (row, r) {
    var lx = SSR_W - SSR_R;
    row.slice().reverse().forEach(function (l) {
      s += '<text x="' + lx + '" y="' + (15 + SSR_LEGEND_ROW * r) + '" class="legend" fill="' + l.color + '">' + ssrEsc(l.name) + '</text>';
      lx -= ssrLegendWidth(l.name);
    });
  });
  return { svg: s, top: top };
}
function ssrX(i, n) {
  var iw = SSR_W - SSR_L - SSR_R;
  return n <= 1 ? SSR_L + iw / 2 : SSR_L + (iw * i) / (n - 1);
}
function ssrY(v, min, max, top) {
  top = top === undefined ? SSR_T : top;
  var ih = SSR_H - top - SSR_B;
  return top + ih - (ih * (v - min)) / (max - min || 1);
}
function ssrLine(title, xs, series, min, max) {
  if (min === undefined || max === undefined) {
    var all = [];
    series.forEach(function (se) { se.values.forEach(function (v) { if (v !== null && v !== undefined) all.push(v); }); });
    if (min === undefined) min = Math.min(0, Math.min.apply(null, all.length ? all : [0]));
    if (max === undefined) max = Math.max.apply(null, all.length ? all : [1]) || 1;
  }
  var f = ssrFrame(title, min, max, xs, series.length > 1 ? series : []), s = f.svg;
  var n = xs.length;
  series.forEach(function (se) {
    var d = '', pts = '';
    se.values.forEach(function (v, i) {
      if (v === null || v === undefined) return;
      var x = ssrX(i, n), y = ssrY(v, min, max, f.top);
      d += (d ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
      pts += '<circle class="pt" cx="' + x.toFixed(1) + '" cy="' + y.toFixed(1) + '" r="2.5" fill="' + se.color + '"><title>' + ssrEsc(se.name + ' step ' + xs[i] + ': ' + ssrFmt(v)) + '</title></circle>';
    });
    if (d) s += '<path d="' + d + '" fill="none" stroke="' + se.color + '" stroke-width="1.6"/>';
    s += pts;
  });
  return s + '</svg>';
}
function ssrBars(title, labels, stacks, colors, names, opts) {
  opts = opts || {};
  var totals = labels.map(function (_, i) { return stacks.reduce(function (a, st) { return a + (st[i] || 0); }, 0); });
  // A multiple of 4 keeps the four grid lines on whole counts.
  var max = Math.ceil(Math.max.apply(null, totals.concat([1])) / 4) * 4;
  var legend = names.map(function (nm, k) { return { name: nm, color: colors[k] }; });
  var iw = SSR_W - SSR_L - SSR_R;
  var center = function (i, n) { return SSR_L + (iw * (i + 0.5)) / Math.max(n, 1); };
  var f = ssrFrame(title, 0, max, labels, names.length > 1 || opts.legend ? legend : [], center), s = f.svg;
  var n = labels.length, bw = Math.max(2, (iw / Math.max(n, 1)) * 0.7);
  for (var i = 0; i < n; i++) {
    var base = 0, cx = center(i, n);
    for (var k = 0; k < stacks.length; k++) {
      var v = stacks[k][i] || 0;
      if (!v) continue;
      var y1 = ssrY(base + v, 0, max, f.top), y0 = ssrY(base, 0, max, f.top);
      s += '<rect class="pt bar" x="' + (cx - bw / 2).toFixed(1) + '" y="' + y1.toFixed(1) + '" width="' + bw.toFixed(1) + '" height="' + Math.max(0.5, y0 - y1).toFixed(1) + '" fill="' + colors[k] + '"><title>' + ssrEsc(names[k] + ' ' + labels[i] + ': ' + v) + '</title></rect>';
      base += v;
    }
  }
  return s + '</svg>';
}
/** Stable colours for the reasons an injection is rejected: checks 1-7, then the others. */
var SSR_FAILURE_COLORS = { 1: '#7f8c8d', 2: '#8e44ad', 3: '#2c3e50', 4: '#2980b9', 5: '#c0392b', 6: '#e67e22', 7: '#d4ac0d' };
var SSR_OTHER_COLORS = { 'no artifact written': '#95a5a6', duplicate: '#16a085', error: '#000000' };
var SSR_SPARE_COLORS = ['#1abc9c', '#e84393', '#6c5ce7', '#b33939', '#227093', '#cc8e35'];
/** Rejections per step, stacked by check ('5 bug validity') or reason ('duplicate'). */
function ssrFailures(steps, xs) {
  var keys = {};
  steps.forEach(function (p) { Object.keys(p.failures || {}).forEach(function (k) { keys[k] = true; }); });
  var names = Object.keys(keys).sort(function (a, b) {
    var na = parseInt(a, 10), nb = parseInt(b, 10);
    if (!isNaN(na) || !isNaN(nb)) return isNaN(na) ? 1 : isNaN(nb) ? -1 : na - nb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  var spare = 0;
  var colors = names.map(function (k) {
    var id = parseInt(k, 10);
    if (SSR_FAILURE_COLORS[id] && k.indexOf(id + ' ') === 0) return SSR_FAILURE_COLORS[id];
    return SSR_OTHER_COLORS[k] || SSR_SPARE_COLORS[spare++ % SSR_SPARE_COLORS.length];
  });
  var stacks = names.map(function (k) { return steps.map(function (p) { return (p.failures || {})[k] || 0; }); });
  return ssrBars('injections rejected, by check', xs, stacks, colors, names, { legend: true });
}
/** Every plot of a run's step series, as [{ title, svg }]. */
function ssrPlots(steps) {
  var xs = steps.map(function (p) { return p.step; });
  var pick = function (f) { return steps.map(f); };
  var hist = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  steps.forEach(function (p) { (p.histogram || []).forEach(function (c, i) { hist[i] += c; }); });
  var binLabels = hist.map(function (_, i) { return (i / 10).toFixed(1); });
  var edge = hist.map(function (c, i) { return i === 0 || i === 9 ? c : 0; });
  var middle = hist.map(function (c, i) { return i === 0 || i === 9 ? 0 : c; });
  return [
    { title: 'valid rate', svg: ssrLine('valid rate', xs, [{ name: 'valid rate', color: '#2b7bb9', values: pick(function (p) { return p.validRate; }) }], 0, 1) },
    { title: 'mean solve rate', svg: ssrLine('mean solve rate', xs, [{ name: 'solve rate', color: '#8e44ad', values: pick(function (p) { return p.meanSolveRate; }) }], 0, 1) },
    { title: 'solve-rate band', svg: ssrBars('solve rate s per step', xs, [pick(function (p) { return p.band.zero; }), pick(function (p) { return p.band.mid; }), pick(function (p) { return p.band.one; })], ['#c0392b', '#27ae60', '#95a5a6'], ['s=0', '0<s<1', 's=1']) },
    { title: 'solve-rate histogram', svg: ssrBars('s histogram, all steps', binLabels, [edge, middle], ['#95a5a6', '#27ae60'], ['edges', '0<s<1']) },
    { title: 'mean reward', svg: ssrLine('mean reward per role', xs, [{ name: 'injector', color: '#d35400', values: pick(function (p) { return p.meanReward.injector; }) }, { name: 'solver', color: '#16a085', values: pick(function (p) { return p.meanReward.solver; }) }], -1, 1) },
    { title: 'higher-order share', svg: ssrLine('higher-order share', xs, [{ name: 'share', color: '#7f8c8d', values: pick(function (p) { return p.higherOrderShare; }) }], 0, 1) },
    { title: 'rejections per check', svg: ssrFailures(steps, xs) },
    { title: 'tokens', svg: ssrLine('tokens per step', xs, [{ name: 'prompt', color: '#2c3e50', values: pick(function (p) { return p.tokens.prompt; }) }, { name: 'completion', color: '#e67e22', values: pick(function (p) { return p.tokens.completion; }) }]) },
    { title: 'time', svg: ssrLine('seconds per step', xs, [{ name: 'time', color: '#34495e', values: pick(function (p) { return p.timeMs / 1000; }) }]) },
  ];
}
`;

export interface PlotSvg {
  title: string;
  svg: string;
}

/** Runs the page's own plotting code in Node, so the report shows exactly what the page shows. */
export function renderPlots(steps: unknown[]): PlotSvg[] {
  const make = new Function(`${PLOTS_JS}\nreturn ssrPlots;`) as () => (s: unknown[]) => PlotSvg[];
  return make()(steps);
}

export const STYLE = `
:root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --bg: #f8f9fb; --add: #e6ffec; --del: #ffebe9; --addfg: #116329; --delfg: #82071e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 10px 20px; background: #1d2330; color: #fff; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
header .meta { color: #c7cbd4; font-size: 13px; }
main { padding: 16px 20px; max-width: 1500px; }
h2 { font-size: 16px; margin: 18px 0 8px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(350px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px; }
svg.plot { width: 100%; height: auto; }
svg .grid { stroke: #eef0f3; } svg .ylab { font-size: 9px; fill: #888; text-anchor: end; }
svg .xlab { font-size: 9px; fill: #888; text-anchor: middle; } svg .ptitle { font-size: 11px; font-weight: 600; fill: #333; }
svg .legend { font-size: 9px; text-anchor: end; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; font-size: 13px; }
th { background: #f1f3f6; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: #1f6feb; }
.filters { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; }
.filters input, .filters select { font: inherit; padding: 2px 4px; }
.filters input.n { width: 60px; }
.pager { margin: 8px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.pager input.n { width: 70px; font: inherit; }
th a.sort { color: inherit; text-decoration: none; }
th a.sort:hover { text-decoration: underline; }
.ok { color: #1a7f37; } .bad { color: #cf222e; } .muted { color: var(--muted); }
.diffs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 10px; }
.diff { background: #fff; border: 1px solid var(--line); border-radius: 6px; overflow: auto; max-height: 560px; }
.diff pre { margin: 0; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.diff .l { display: block; padding: 0 8px; white-space: pre; }
.diff .add { background: var(--add); color: var(--addfg); } .diff .del { background: var(--del); color: var(--delfg); }
.diff .hunk { background: #ddf4ff; color: #0550ae; } .diff .file { font-weight: 700; background: #f6f8fa; }
.turn { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 8px 10px; }
.turn h3 { margin: 0 0 4px; font-size: 13px; color: var(--muted); font-weight: 600; }
.turn pre, pre.block { white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, monospace; background: #f6f8fa; padding: 6px 8px; border-radius: 4px; margin: 4px 0; max-height: 420px; overflow: auto; }
.tool { border-left: 3px solid #1f6feb; padding-left: 8px; margin: 6px 0; }
.tool.err { border-color: #cf222e; }
details summary { cursor: pointer; color: var(--muted); }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
.pill { display: inline-block; padding: 0 6px; border-radius: 8px; background: #eef; font-size: 12px; }
.passed { color: #1a7f37; } .failed { color: #cf222e; } .skipped { color: #9a6700; }
`;

const APP_JS = String.raw`
var $ = function (sel) { return document.querySelector(sel); };
var esc = ssrEsc, fmt = ssrFmt;
var state = { summary: null, steps: null, view: null };
function api(path) {
  return fetch(path).then(function (r) {
    if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
    return r.json();
  });
}
function pct(v) { return v === null || v === undefined ? '–' : Math.round(v * 100) + '%'; }
/** A value from the run shown as text: numbers are data too, and a run's files can say anything. */
function val(v) { return v === null || v === undefined || v === '' ? '–' : esc(v); }
function diffHtml(text) {
  if (!text) return '<pre><span class="l muted">(none)</span></pre>';
  return '<pre>' + String(text).split('\n').map(function (l) {
    var c = l.startsWith('+++') || l.startsWith('---') || l.startsWith('diff ') ? 'file'
      : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '';
    return '<span class="l ' + c + '">' + (esc(l) || ' ') + '</span>';
  }).join('') + '</pre>';
}
function header() {
  var s = state.summary;
  if (!s) return;
  var rejected = s.injections.byOutcome.invalid || 0;
  var meta = s.kind === 'run'
    ? s.steps + ' steps · ' + s.artifacts.valid + '/' + s.artifacts.total + ' valid artifacts · ' + s.episodes.injector + ' injector (' + rejected + ' rejected) / ' + s.episodes.solver + ' solver episodes'
    : 'ssr inject output · ' + s.artifacts.total + ' artifacts' + (s.injections.total ? ' · ' + s.injections.total + ' injector episodes (' + rejected + ' rejected)' : '');
  $('#meta').textContent = s.name + ' — ' + meta;
}
function yieldTable(s) {
  if (!s.yieldTable.length) return '';
  return '<h2>Yield</h2><table id="yield"><tr><th>strategy</th><th class="num">tried</th><th class="num">valid</th><th class="num">yield</th></tr>' +
    s.yieldTable.map(function (r) {
      return '<tr><td>' + esc(r.strategy) + '</td><td class="num">' + val(r.tried) + '</td><td class="num">' + val(r.valid) + '</td><td class="num">' + pct(r.yield) + '</td></tr>';
    }).join('') + '</table>';
}
function renderPlotsInto() {
  var el = $('#plots');
  if (!el || !state.steps) return;
  if (!state.steps.length) { el.innerHTML = '<p class="muted">No finished step yet.</p>'; return; }
  el.innerHTML = ssrPlots(state.steps).map(function (p) { return '<div class="card">' + p.svg + '</div>'; }).join('');
}
function loadSteps() {
  if (!state.summary || state.summary.kind !== 'run') return;
  api('/api/steps').then(function (steps) {
    if (JSON.stringify(steps) === JSON.stringify(state.steps) && $('#plots .card')) return;
    state.steps = steps;
    renderPlotsInto();
  }).catch(function () {});
}
function qs(q) {
  return Object.keys(q).filter(function (k) { return q[k] !== '' && q[k] !== undefined && q[k] !== null; })
    .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(q[k]); }).join('&');
}

// ---- paged tables: filters, sorting by column, pages (first, prev, next, last, go to page)
function PagedTable(cfg) {
  this.cfg = cfg;
  this.query = { page: 1, pageSize: 50 };
  this.seq = 0;
  this.facets = {};
}
PagedTable.prototype.option = function (v, cur) {
  return '<option' + (v === cur ? ' selected' : '') + ' value="' + esc(v) + '">' + esc(v) + '</option>';
};
/** Builds the filter bar once, then keeps its choices current (not while one is open). */
PagedTable.prototype.renderFilters = function (facets) {
  var t = this, cfg = t.cfg, f = $('#' + cfg.prefix + 'filters');
  if (!f) return;
  if (!f.dataset.ready) {
    f.dataset.ready = '1';
    f.innerHTML = cfg.selects.map(function (s) {
      return '<select name="' + s.name + '"></select>';
    }).join('') + cfg.inputs(t.query);
    f.addEventListener('change', function (ev) {
      if (!ev.target.name) return;
      t.query[ev.target.name] = ev.target.value;
      t.query.page = 1;
      t.load();
    });
    t.facets = {};
  }
  cfg.selects.forEach(function (s) {
    var sel = f.querySelector('select[name="' + s.name + '"]');
    var values = (facets[s.facet] || []).slice();
    var cur = t.query[s.name] || '';
    if (cur && values.indexOf(cur) < 0) values.push(cur);
    var key = JSON.stringify(values);
    if (!sel || t.facets[s.name] === key || document.activeElement === sel) return;
    t.facets[s.name] = key;
    sel.innerHTML = '<option value="">' + esc(s.label) + '</option>' + values.map(function (v) { return t.option(v, cur); }).join('');
  });
};
PagedTable.prototype.load = function () {
  var t = this, cfg = t.cfg, seq = ++t.seq;
  return api(cfg.api + '?' + qs(t.query)).then(function (p) {
    // An older answer (a poll overtaken by a click) must not overwrite a newer one.
    if (seq !== t.seq) return;
    var box = $('#' + cfg.prefix + 'table-box');
    if (!box) return;
    t.renderFilters(p.facets);
    t.query.page = p.page;
    var pages = Math.max(1, Math.ceil(p.total / p.pageSize));
    var id = function (name) { return ' id="' + cfg.prefix + name + '"'; };
    var btn = function (name, page, label, off) {
      return '<button' + id(name) + ' data-page="' + page + '"' + (off ? ' disabled' : '') + '>' + label + '</button>';
    };
    var pager = '<div class="pager">' + btn('first', 1, '« first', p.page <= 1) + btn('prev', p.page - 1, '‹ prev', p.page <= 1) +
      '<span' + id('pageinfo') + '>page ' + p.page + ' / ' + pages + ' · ' + p.total + ' ' + cfg.noun + '</span>' +
      btn('next', p.page + 1, 'next ›', p.page >= pages) + btn('last', pages, 'last »', p.page >= pages) +
      '<label class="muted">go to page <input' + id('page-jump') + ' class="n jump" type="number" min="1" max="' + pages + '" value="' + p.page + '"></label></div>';
    var head = cfg.columns.map(function (c) {
      var cls = c.num ? ' class="num"' : '';
      if (!c.sort) return '<th' + cls + '>' + esc(c.label) + '</th>';
      var on = p.sort === c.sort;
      return '<th' + cls + ' data-sort="' + c.sort + '"' + (on ? ' aria-sort="' + (p.dir === 'desc' ? 'descending' : 'ascending') + '"' : '') + '><a href="" class="sort">' + esc(c.label) + (on ? (p.dir === 'desc' ? ' ▼' : ' ▲') : '') + '</a></th>';
    }).join('');
    box.innerHTML = pager + '<table id="' + cfg.tableId + '"><tr>' + head + '</tr>' + p.rows.map(cfg.row).join('') + '</table>';
  }).catch(showError);
};
/** Clicks and page jumps inside the table box (its content is replaced on every load). */
PagedTable.prototype.bind = function () {
  var t = this, box = $('#' + t.cfg.prefix + 'table-box');
  if (!box) return;
  var go = function (page) {
    var n = Math.floor(Number(page));
    if (!Number.isFinite(n)) return;
    t.query.page = Math.max(1, n);
    t.load();
  };
  box.addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-page]');
    if (b) return go(b.dataset.page);
    var th = ev.target.closest('th[data-sort]');
    if (!th) return;
    ev.preventDefault();
    var key = th.dataset.sort;
    // A new column starts with the order most useful for it; a second click reverses.
    if (t.query.sort === key) t.query.dir = t.query.dir === 'desc' ? 'asc' : 'desc';
    else { t.query.sort = key; t.query.dir = t.cfg.descFirst.indexOf(key) >= 0 ? 'desc' : 'asc'; }
    t.query.page = 1;
    t.load();
  });
  box.addEventListener('change', function (ev) { if (ev.target.classList.contains('jump')) go(ev.target.value); });
  box.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && ev.target.classList.contains('jump')) go(ev.target.value);
  });
};

function outcomeClass(o) { return o === 'valid' || o === 'solved' ? 'ok' : o === 'duplicate' ? 'muted' : 'bad'; }
function clip(text, n) {
  text = String(text || '');
  return text.length > n ? '<span title="' + esc(text) + '">' + esc(text.slice(0, n)) + '…</span>' : esc(text);
}

var tables = {
  artifacts: new PagedTable({
    prefix: '', api: '/api/artifacts', tableId: 'artifact-table', noun: 'artifacts',
    selects: [
      { name: 'strategy', facet: 'strategies', label: 'any strategy/source' },
      { name: 'repo', facet: 'repos', label: 'any repo' },
      { name: 'validation', facet: 'validations', label: 'any validation' },
    ],
    inputs: function (q) {
      return 'solve rate <input class="n" name="minSolve" type="number" min="0" max="1" step="0.05" placeholder="min" value="' + esc(q.minSolve || '') + '">' +
        '– <input class="n" name="maxSolve" type="number" min="0" max="1" step="0.05" placeholder="max" value="' + esc(q.maxSolve || '') + '">' +
        '<input name="q" placeholder="id contains" value="' + esc(q.q || '') + '">';
    },
    descFirst: ['solveRate', 'attempts', 'step', 'order'],
    columns: [
      { label: 'id', sort: 'id' }, { label: 'step', sort: 'step', num: true }, { label: 'repo', sort: 'repo' },
      { label: 'source', sort: 'source' }, { label: 'strategy', sort: 'strategy' }, { label: 'order', sort: 'order', num: true },
      { label: 'validation', sort: 'validation' }, { label: 'solve rate (n)', sort: 'solveRate', num: true },
    ],
    row: function (r) {
      var name = r.kind === 'rejected'
        ? '<a class="rejected-link" href="#/episode/' + encodeURIComponent(r.id) + '">' + esc(r.id) + '</a> <span class="pill">rejected injection</span>'
        : '<a href="#/artifact/' + encodeURIComponent(r.id) + '">' + esc(r.id) + '</a>';
      return '<tr><td>' + name + '</td><td class="num">' + val(r.step) + '</td><td>' + esc(r.repo) + '</td><td>' + esc(r.source) + '</td><td>' + esc(r.strategy) + '</td><td class="num">' + val(r.order) + '</td><td class="' + (r.valid ? 'ok' : 'bad') + '">' + (r.valid ? 'valid' : esc('invalid: ' + (r.failedCheck || '?'))) + '</td><td class="num">' + (r.solveRate === null ? '–' : esc(fmt(r.solveRate) + ' (' + r.attempts + ')')) + '</td></tr>';
    },
  }),
  injections: new PagedTable({
    prefix: 'inj-', api: '/api/injections', tableId: 'injection-table', noun: 'injector episodes',
    selects: [
      { name: 'outcome', facet: 'outcomes', label: 'any outcome' },
      { name: 'check', facet: 'checks', label: 'any failed check' },
      { name: 'strategy', facet: 'strategies', label: 'any strategy' },
      { name: 'repo', facet: 'repos', label: 'any repo' },
    ],
    inputs: function (q) { return '<input name="q" placeholder="id or reason contains" value="' + esc(q.q || '') + '">'; },
    descFirst: ['reward', 'turns', 'tokens', 'step'],
    columns: [
      { label: 'episode', sort: 'id' }, { label: 'step', sort: 'step', num: true }, { label: 'repo', sort: 'repo' },
      { label: 'strategy', sort: 'strategy' }, { label: 'outcome', sort: 'outcome' }, { label: 'failed check', sort: 'failedCheck' },
      { label: 'reason' }, { label: 'reward', sort: 'reward', num: true }, { label: 'artifact' },
      { label: 'turns', sort: 'turns', num: true }, { label: 'tokens', sort: 'tokens', num: true },
    ],
    row: function (e) {
      var name = e.hasTrajectory ? '<a class="injection-link" href="#/episode/' + encodeURIComponent(e.id) + '">' + esc(e.id) + '</a>' : esc(e.id);
      var art = e.artifactId ? '<a href="#/artifact/' + encodeURIComponent(e.artifactId) + '">' + esc(e.artifactId) + '</a>' : '–';
      return '<tr><td>' + name + '</td><td class="num">' + val(e.step) + '</td><td>' + val(e.repo) + '</td><td>' + esc(e.strategy) + '</td><td class="' + outcomeClass(e.outcome) + '">' + esc(e.outcome) + '</td><td>' + val(e.failedCheck) + '</td><td>' + clip(e.reason, 120) + '</td><td class="num">' + (e.reward === null ? (e.outcome === 'valid' ? '<span class="muted">pending</span>' : '–') : esc(fmt(e.reward))) + '</td><td>' + art + '</td><td class="num">' + val(e.turns) + '</td><td class="num">' + esc(fmt(e.tokens)) + '</td></tr>';
    },
  }),
};

function home() {
  state.view = 'home';
  var s = state.summary;
  var withInjections = s.kind === 'run' || s.injections.total > 0;
  $('main').innerHTML = (s.kind === 'run' ? '<h2>Steps</h2><div id="plots" class="plots"></div>' : '') +
    '<div id="yield-wrap">' + yieldTable(s) + '</div>' +
    '<h2 id="artifacts-h">Artifacts</h2><div class="filters" id="filters"></div><div id="table-box"></div>' +
    (withInjections ? '<h2 id="injections-h">Injector episodes</h2><p class="muted">Every injection, the rejected ones too (they leave no artifact): each links to its trajectory and the validation report of what it wrote.</p><div class="filters" id="inj-filters"></div><div id="inj-table-box"></div>' : '');
  renderPlotsInto();
  loadSteps();
  tables.artifacts.bind();
  var loads = [tables.artifacts.load()];
  if (withInjections) { tables.injections.bind(); loads.push(tables.injections.load()); }
  return Promise.all(loads);
}
function statusCell(v) { return '<td class="' + esc(v || '') + '">' + val(v) + '</td>'; }
function checksHtml(v) {
  if (!v) return '<p class="muted">no validation report</p>';
  return '<table id="checks"><tr><th>#</th><th>check</th><th>status</th><th>message</th><th class="num">ms</th></tr>' + v.checks.map(function (c) {
    return '<tr><td>' + val(c.id) + '</td><td>' + val(c.name) + '</td><td class="' + (c.status === 'passed' ? 'ok' : c.status === 'failed' ? 'bad' : 'muted') + '">' + val(c.status) + '</td><td>' + val(c.message) + '</td><td class="num">' + val(c.durationMs) + '</td></tr>';
  }).join('') + '</table>' + (v.warnings.length ? '<p class="muted">' + v.warnings.map(esc).join('<br>') + '</p>' : '');
}
function testsHtml(tests) {
  return tests.length ? '<table id="tests"><tr><th>test</th><th>original</th><th>with bug</th><th>bug + weakened tests</th></tr>' + tests.map(function (t) {
    return '<tr><td>' + esc(t.id) + '</td>' + statusCell(t.baseline) + statusCell(t.bug) + statusCell(t.weakened) + '</tr>';
  }).join('') + '</table>' : '<p class="muted">no test maps</p>';
}
function verdict(v) {
  return '<span class="' + (v.valid ? 'ok' : 'bad') + '">' + (v.valid ? 'valid' : esc('invalid (' + (v.failedCheck ? v.failedCheck.name : '?') + ')')) + '</span>';
}
function artifactView(id) {
  state.view = 'artifact';
  return api('/api/artifacts/' + encodeURIComponent(id)).then(function (a) {
    var v = a.validation;
    var attempts = a.attempts.length ? '<table id="attempts"><tr><th>episode</th><th class="num">step</th><th>role</th><th class="num">attempt</th><th>outcome</th><th class="num">reward</th><th>end</th><th class="num">turns</th><th class="num">tokens</th></tr>' + a.attempts.map(function (e) {
      return '<tr><td>' + (e.hasTrajectory ? '<a class="episode-link" href="#/episode/' + encodeURIComponent(e.id) + '">' + esc(e.id) + '</a>' : esc(e.id)) + '</td><td class="num">' + val(e.step) + '</td><td>' + esc(e.role) + '</td><td class="num">' + val(e.attempt) + '</td><td class="' + outcomeClass(e.outcome) + '">' + esc(e.outcome) + '</td><td class="num">' + esc(fmt(e.reward)) + '</td><td>' + esc(e.endReason) + '</td><td class="num">' + val(e.turns) + '</td><td class="num">' + esc(fmt(e.tokens)) + '</td></tr>';
    }).join('') + '</table>' : '<p class="muted">no episodes on this artifact</p>';
    var sr = a.solveRate ? 'solve rate ' + fmt(a.solveRate.rate) + ' (' + a.solveRate.solved + '/' + a.solveRate.attempts + ')' : '';
    var rec = a.record;
    $('main').innerHTML = '<p><a href="#/">← all artifacts</a></p><h2>' + esc(a.id) + '</h2>' +
      '<p>' + (rec ? esc(rec.source + ' · order ' + rec.order + ' · step ' + rec.step + (rec.parent ? ' · parent ' + rec.parent : '')) + ' · ' : '') +
      (v ? verdict(v) : '') + ' ' + esc(sr) + '</p>' +
      (a.metadata && a.metadata.notes ? '<p class="muted">' + esc(a.metadata.notes) + '</p>' : '') +
      '<div class="diffs"><div><h2>bug_inject.diff</h2><div class="diff" id="bug-diff">' + diffHtml(a.bugDiff) + '</div></div><div><h2>test_weaken.diff</h2><div class="diff" id="weaken-diff">' + diffHtml(a.weakenDiff) + '</div></div></div>' +
      '<h2>Episodes on this artifact</h2>' + attempts + '<h2>Validation</h2>' + checksHtml(v) + '<h2>Tests (changed first)</h2>' + testsHtml(a.tests) +
      '<h2>Oracle test files</h2><pre class="block">' + esc(a.testFiles.join('\n')) + '</pre>';
  }).catch(showError);
}
function episodeView(id) {
  state.view = 'episode';
  return api('/api/episodes/' + encodeURIComponent(id)).then(function (e) {
    var turns = e.turns.map(function (t) {
      var u = t.usage ? ' · ' + t.usage.promptTokens + ' + ' + t.usage.completionTokens + ' tokens' : '';
      return '<div class="turn"><h3>turn ' + esc(t.index + 1) + esc(u) + (t.latencyMs !== null ? ' · ' + esc(fmt(t.latencyMs / 1000)) + ' s' : '') + '</h3>' +
        (t.content ? '<pre>' + esc(t.content) + '</pre>' : '') +
        t.toolCalls.map(function (c) {
          return '<div class="tool' + (c.isError ? ' err' : '') + '"><b>' + esc(c.name) + '</b><pre>' + esc(c.arguments) + '</pre>' +
            (c.output !== null ? '<details' + (c.output.length < 1500 ? ' open' : '') + '><summary>observation (' + esc(c.output.length) + ' chars)</summary><pre>' + esc(c.output) + '</pre></details>' : '') + '</div>';
        }).join('') + (t.error ? '<pre class="bad">' + esc(t.error) + '</pre>' : '') + '</div>';
    }).join('');
    var back = e.artifactId ? '<a href="#/artifact/' + encodeURIComponent(e.artifactId) + '">← artifact ' + esc(e.artifactId) + '</a>'
      : e.role === 'injector' ? '<a href="#/injections">← injector episodes</a>' : '<a href="#/">← home</a>';
    var ev = e.evaluation ? '<h2>Grading</h2><pre class="block">' + esc(JSON.stringify(e.evaluation, null, 2)) + '</pre>' : '';
    var rec = e.record || {};
    var injector = e.role === 'injector'
      ? '<span>outcome</span><span class="' + outcomeClass(e.outcome) + '" id="episode-outcome">' + val(e.outcome) + (rec.failedCheck ? esc(' — check ' + rec.failedCheck.id + ' (' + rec.failedCheck.name + ')') : '') + '</span>' +
        (e.reason && e.reason !== e.outcome ? '<span>reason</span><span>' + esc(e.reason) + '</span>' : '') +
        (e.focus ? '<span>started from</span><span>' + esc(e.focus) + '</span>' : '')
      : '';
    var report = e.validation
      ? '<h2 id="report-h">Validation of what it wrote</h2><p>' + verdict(e.validation) + (e.validation.failedCheck ? ' ' + esc(e.validation.failedCheck.message || '') : '') + '</p>' +
        checksHtml(e.validation) + '<h2>Tests (changed first)</h2>' + testsHtml(e.tests)
      : '';
    var written = e.written
      ? '<h2 id="written-h">What it wrote (rejected, so kept only here)</h2><p class="muted">oracle test files: ' + esc(e.written.testFiles.join(', ') || '–') + '</p>' +
        '<div class="diffs"><div><h2>bug_inject.diff</h2><div class="diff" id="written-bug-diff">' + diffHtml(e.written.bugDiff) + '</div></div><div><h2>test_weaken.diff</h2><div class="diff" id="written-weaken-diff">' + diffHtml(e.written.weakenDiff) + '</div></div></div>'
      : '';
    $('main').innerHTML = '<p>' + back + '</p><h2>' + esc(e.role + ' episode ' + e.id) + '</h2>' +
      '<div class="kv">' + injector + '<span>reward</span><b>' + esc(fmt(e.reward)) + '</b><span>end</span><span>' + esc((e.endReason || '–') + (e.endDetail ? ' — ' + e.endDetail : '')) + '</span>' +
      '<span>turns</span><span>' + e.turns.length + '</span><span>tokens</span><span>' + (e.usage ? esc(fmt(e.usage.promptTokens)) + ' prompt, ' + esc(fmt(e.usage.completionTokens)) + ' completion' : '–') + '</span></div>' +
      report + written +
      '<details><summary>system prompt</summary><pre class="block">' + esc(e.system || '') + '</pre></details>' +
      '<details open><summary>task</summary><pre class="block">' + esc(e.user || '') + '</pre></details>' +
      '<h2>Turns</h2><div id="turns">' + turns + '</div>' +
      (e.patch ? '<h2>Submitted patch</h2><div class="diff">' + diffHtml(e.patch) + '</div>' : '') + ev;
  }).catch(showError);
}
function showError(err) { $('main').innerHTML = '<p class="bad">' + esc(String(err && err.message || err)) + '</p><p><a href="#/">home</a></p>'; }
function route() {
  var h = location.hash.replace(/^#\/?/, '');
  var m;
  if ((m = h.match(/^artifact\/(.+)$/))) return artifactView(decodeURIComponent(m[1]));
  if ((m = h.match(/^episode\/(.+)$/))) return episodeView(decodeURIComponent(m[1]));
  var done = home();
  if (h === 'injections') done.then(function () { var el = $('#injections-h'); if (el) el.scrollIntoView(); });
}
/** Every 3 s: the summary's version changes when the run gained records; then the home page reloads its parts. */
function poll() {
  if (!state.summary) return;
  api('/api/summary').then(function (s) {
    if (s.version === state.summary.version) return;
    var before = state.summary;
    state.summary = s;
    header();
    if (state.view !== 'home') return;
    if (!$('#inj-table-box') && s.injections.total > 0 && before.injections.total === 0) return home();
    var y = $('#yield-wrap');
    if (y) y.innerHTML = yieldTable(s);
    loadSteps();
    tables.artifacts.load();
    if ($('#inj-table-box')) tables.injections.load();
  }).catch(function () {});
}
Promise.all([api('/api/summary'), api('/api/steps')]).then(function (r) {
  state.summary = r[0];
  state.steps = r[1];
  header();
  route();
  window.addEventListener('hashchange', route);
  setInterval(poll, 3000);
}).catch(showError);
`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssr dashboard</title><style>${STYLE}</style></head>
<body><header><a href="#/">ssr dashboard</a><span class="meta" id="meta">loading…</span></header>
<main><p class="muted">loading…</p></main>
<script>${PLOTS_JS}
${APP_JS}</script></body></html>`;
}

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
var SSR_W = 340, SSR_H = 190, SSR_L = 44, SSR_R = 10, SSR_T = 26, SSR_B = 26;
function ssrFrame(title, min, max, xs, legend, xpos) {
  xpos = xpos || ssrX;
  var s = '<svg class="plot" viewBox="0 0 ' + SSR_W + ' ' + SSR_H + '" width="' + SSR_W + '" height="' + SSR_H + '" role="img" aria-label="' + ssrEsc(title) + '">';
  s += '<text x="' + SSR_L + '" y="15" class="ptitle">' + ssrEsc(title) + '</text>';
  var ih = SSR_H - SSR_T - SSR_B;
  for (var i = 0; i <= 4; i++) {
    var v = min + ((max - min) * i) / 4;
    var y = SSR_T + ih - (ih * i) / 4;
    s += '<line x1="' + SSR_L + '" x2="' + (SSR_W - SSR_R) + '" y1="' + y + '" y2="' + y + '" class="grid"/>';
    s += '<text x="' + (SSR_L - 4) + '" y="' + (y + 3) + '" class="ylab">' + ssrFmt(v) + '</text>';
  }
  var n = xs.length, every = Math.max(1, Math.ceil(n / 8));
  for (var j = 0; j < n; j += every) {
    s += '<text x="' + xpos(j, n) + '" y="' + (SSR_H - 8) + '" class="xlab">' + ssrEsc(xs[j]) + '</text>';
  }
  var lx = SSR_W - SSR_R;
  (legend || []).slice().reverse().forEach(function (l) {
    s += '<text x="' + lx + '" y="15" class="legend" fill="' + l.color + '">' + ssrEsc(l.name) + '</text>';
    lx -= 8 + 7 * l.name.length;
  });
  return s;
}
function ssrX(i, n) {
  var iw = SSR_W - SSR_L - SSR_R;
  return n <= 1 ? SSR_L + iw / 2 : SSR_L + (iw * i) / (n - 1);
}
function ssrY(v, min, max) {
  var ih = SSR_H - SSR_T - SSR_B;
  return SSR_T + ih - (ih * (v - min)) / (max - min || 1);
}
function ssrLine(title, xs, series, min, max) {
  if (min === undefined || max === undefined) {
    var all = [];
    series.forEach(function (se) { se.values.forEach(function (v) { if (v !== null && v !== undefined) all.push(v); }); });
    if (min === undefined) min = Math.min(0, Math.min.apply(null, all.length ? all : [0]));
    if (max === undefined) max = Math.max.apply(null, all.length ? all : [1]) || 1;
  }
  var s = ssrFrame(title, min, max, xs, series.length > 1 ? series : []);
  var n = xs.length;
  series.forEach(function (se) {
    var d = '', pts = '';
    se.values.forEach(function (v, i) {
      if (v === null || v === undefined) return;
      var x = ssrX(i, n), y = ssrY(v, min, max);
      d += (d ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
      pts += '<circle class="pt" cx="' + x.toFixed(1) + '" cy="' + y.toFixed(1) + '" r="2.5" fill="' + se.color + '"><title>' + ssrEsc(se.name + ' step ' + xs[i] + ': ' + ssrFmt(v)) + '</title></circle>';
    });
    if (d) s += '<path d="' + d + '" fill="none" stroke="' + se.color + '" stroke-width="1.6"/>';
    s += pts;
  });
  return s + '</svg>';
}
function ssrBars(title, labels, stacks, colors, names) {
  var totals = labels.map(function (_, i) { return stacks.reduce(function (a, st) { return a + (st[i] || 0); }, 0); });
  // A multiple of 4 keeps the four grid lines on whole counts.
  var max = Math.ceil(Math.max.apply(null, totals.concat([1])) / 4) * 4;
  var legend = names.map(function (nm, k) { return { name: nm, color: colors[k] }; });
  var iw = SSR_W - SSR_L - SSR_R;
  var center = function (i, n) { return SSR_L + (iw * (i + 0.5)) / Math.max(n, 1); };
  var s = ssrFrame(title, 0, max, labels, names.length > 1 ? legend : [], center);
  var n = labels.length, bw = Math.max(2, (iw / Math.max(n, 1)) * 0.7);
  for (var i = 0; i < n; i++) {
    var base = 0, cx = center(i, n);
    for (var k = 0; k < stacks.length; k++) {
      var v = stacks[k][i] || 0;
      if (!v) continue;
      var y1 = ssrY(base + v, 0, max), y0 = ssrY(base, 0, max);
      s += '<rect class="pt bar" x="' + (cx - bw / 2).toFixed(1) + '" y="' + y1.toFixed(1) + '" width="' + bw.toFixed(1) + '" height="' + Math.max(0.5, y0 - y1).toFixed(1) + '" fill="' + colors[k] + '"><title>' + ssrEsc(names[k] + ' ' + labels[i] + ': ' + v) + '</title></rect>';
      base += v;
    }
  }
  return s + '</svg>';
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
.pager { margin: 8px 0; display: flex; gap: 8px; align-items: center; }
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
var state = { summary: null, steps: null, query: { page: 1, pageSize: 50 } };
function api(path) {
  return fetch(path).then(function (r) {
    if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
    return r.json();
  });
}
function pct(v) { return v === null || v === undefined ? '–' : Math.round(v * 100) + '%'; }
function diffHtml(text) {
  if (!text) return '<pre><span class="l muted">(none)</span></pre>';
  return '<pre>' + text.split('\n').map(function (l) {
    var c = l.startsWith('+++') || l.startsWith('---') || l.startsWith('diff ') ? 'file'
      : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '';
    return '<span class="l ' + c + '">' + (esc(l) || ' ') + '</span>';
  }).join('') + '</pre>';
}
function header() {
  var s = state.summary;
  if (!s) return;
  var meta = s.kind === 'run'
    ? s.steps + ' steps · ' + s.artifacts.valid + '/' + s.artifacts.total + ' valid artifacts · ' + s.episodes.injector + ' injector / ' + s.episodes.solver + ' solver episodes'
    : 'ssr inject output · ' + s.artifacts.total + ' artifacts';
  $('#meta').textContent = s.name + ' — ' + meta;
}
function yieldTable(s) {
  if (!s.yieldTable.length) return '';
  return '<h2>Yield</h2><table id="yield"><tr><th>strategy</th><th class="num">tried</th><th class="num">valid</th><th class="num">yield</th></tr>' +
    s.yieldTable.map(function (r) {
      return '<tr><td>' + esc(r.strategy) + '</td><td class="num">' + r.tried + '</td><td class="num">' + r.valid + '</td><td class="num">' + pct(r.yield) + '</td></tr>';
    }).join('') + '</table>';
}
function renderPlotsInto() {
  var el = $('#plots');
  if (!el || !state.steps) return;
  if (!state.steps.length) { el.innerHTML = '<p class="muted">No finished step yet.</p>'; return; }
  el.innerHTML = ssrPlots(state.steps).map(function (p) { return '<div class="card">' + p.svg + '</div>'; }).join('');
}
function home() {
  var s = state.summary;
  var q = state.query;
  var main = $('main');
  main.innerHTML = (s.kind === 'run' ? '<h2>Steps</h2><div id="plots" class="plots"></div>' : '') +
    yieldTable(s) + '<h2>Artifacts</h2><div class="filters" id="filters"></div><div id="artifacts"></div>';
  renderPlotsInto();
  loadArtifacts();
}
function qs(q) {
  return Object.keys(q).filter(function (k) { return q[k] !== '' && q[k] !== undefined && q[k] !== null; })
    .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(q[k]); }).join('&');
}
function loadArtifacts() {
  api('/api/artifacts?' + qs(state.query)).then(function (p) {
    var q = state.query;
    var opt = function (name, values, cur, label) {
      return '<select name="' + name + '"><option value="">' + label + '</option>' + values.map(function (v) {
        return '<option' + (v === cur ? ' selected' : '') + ' value="' + esc(v) + '">' + esc(v) + '</option>';
      }).join('') + '</select>';
    };
    var f = $('#filters');
    if (f && !f.dataset.ready) {
      f.dataset.ready = '1';
      f.innerHTML = opt('strategy', p.facets.strategies, q.strategy, 'any strategy/source') +
        opt('repo', p.facets.repos, q.repo, 'any repo') +
        opt('validation', p.facets.validations, q.validation, 'any validation') +
        'solve rate <input class="n" name="minSolve" type="number" min="0" max="1" step="0.05" placeholder="min" value="' + esc(q.minSolve || '') + '">' +
        '– <input class="n" name="maxSolve" type="number" min="0" max="1" step="0.05" placeholder="max" value="' + esc(q.maxSolve || '') + '">' +
        '<input name="q" placeholder="id contains" value="' + esc(q.q || '') + '">';
      f.addEventListener('change', function (ev) {
        state.query[ev.target.name] = ev.target.value;
        state.query.page = 1;
        loadArtifacts();
      });
    }
    var pages = Math.max(1, Math.ceil(p.total / p.pageSize));
    var rows = p.rows.map(function (r) {
      return '<tr><td><a href="#/artifact/' + encodeURIComponent(r.id) + '">' + esc(r.id) + '</a></td><td class="num">' + (r.step === null ? '–' : r.step) + '</td><td>' + esc(r.repo) + '</td><td>' + esc(r.source) + '</td><td>' + esc(r.strategy) + '</td><td class="num">' + r.order + '</td><td class="' + (r.valid ? 'ok' : 'bad') + '">' + (r.valid ? 'valid' : esc('invalid: ' + (r.failedCheck || '?'))) + '</td><td class="num">' + (r.solveRate === null ? '–' : fmt(r.solveRate) + ' (' + r.attempts + ')') + '</td></tr>';
    }).join('');
    $('#artifacts').innerHTML = '<div class="pager"><button id="prev"' + (p.page <= 1 ? ' disabled' : '') + '>‹ prev</button><span id="pageinfo">page ' + p.page + ' / ' + pages + ' · ' + p.total + ' artifacts</span><button id="next"' + (p.page >= pages ? ' disabled' : '') + '>next ›</button></div>' +
      '<table id="artifact-table"><tr><th>id</th><th class="num">step</th><th>repo</th><th>source</th><th>strategy</th><th class="num">order</th><th>validation</th><th class="num">solve rate (n)</th></tr>' + rows + '</table>';
    $('#prev').onclick = function () { state.query.page = p.page - 1; loadArtifacts(); };
    $('#next').onclick = function () { state.query.page = p.page + 1; loadArtifacts(); };
  }).catch(showError);
}
function statusCell(v) { return '<td class="' + (v || '') + '">' + (v ? esc(v) : '–') + '</td>'; }
function artifactView(id) {
  api('/api/artifacts/' + encodeURIComponent(id)).then(function (a) {
    var v = a.validation;
    var checks = v ? '<table id="checks"><tr><th>#</th><th>check</th><th>status</th><th>message</th><th class="num">ms</th></tr>' + v.checks.map(function (c) {
      return '<tr><td>' + c.id + '</td><td>' + esc(c.name) + '</td><td class="' + (c.status === 'passed' ? 'ok' : c.status === 'failed' ? 'bad' : 'muted') + '">' + esc(c.status) + '</td><td>' + esc(c.message) + '</td><td class="num">' + c.durationMs + '</td></tr>';
    }).join('') + '</table>' + (v.warnings.length ? '<p class="muted">' + v.warnings.map(esc).join('<br>') + '</p>' : '') : '<p class="muted">no validation.json</p>';
    var tests = a.tests.length ? '<table id="tests"><tr><th>test</th><th>original</th><th>with bug</th><th>bug + weakened tests</th></tr>' + a.tests.map(function (t) {
      return '<tr><td>' + esc(t.id) + '</td>' + statusCell(t.baseline) + statusCell(t.bug) + statusCell(t.weakened) + '</tr>';
    }).join('') + '</table>' : '<p class="muted">no test maps</p>';
    var attempts = a.attempts.length ? '<table id="attempts"><tr><th>episode</th><th class="num">step</th><th>role</th><th class="num">attempt</th><th>outcome</th><th class="num">reward</th><th>end</th><th class="num">turns</th><th class="num">tokens</th></tr>' + a.attempts.map(function (e) {
      return '<tr><td>' + (e.hasTrajectory ? '<a class="episode-link" href="#/episode/' + encodeURIComponent(e.id) + '">' + esc(e.id) + '</a>' : esc(e.id)) + '</td><td class="num">' + e.step + '</td><td>' + esc(e.role) + '</td><td class="num">' + (e.attempt === null ? '–' : e.attempt) + '</td><td class="' + (e.outcome === 'solved' || e.outcome === 'valid' ? 'ok' : 'bad') + '">' + esc(e.outcome) + '</td><td class="num">' + fmt(e.reward) + '</td><td>' + esc(e.endReason) + '</td><td class="num">' + e.turns + '</td><td class="num">' + fmt(e.tokens) + '</td></tr>';
    }).join('') + '</table>' : '<p class="muted">no episodes on this artifact</p>';
    var sr = a.solveRate ? 'solve rate ' + fmt(a.solveRate.rate) + ' (' + a.solveRate.solved + '/' + a.solveRate.attempts + ')' : '';
    var rec = a.record;
    $('main').innerHTML = '<p><a href="#/">← all artifacts</a></p><h2>' + esc(a.id) + '</h2>' +
      '<p>' + (rec ? esc(rec.source + ' · order ' + rec.order + ' · step ' + rec.step + (rec.parent ? ' · parent ' + rec.parent : '')) + ' · ' : '') +
      (v ? '<span class="' + (v.valid ? 'ok' : 'bad') + '">' + (v.valid ? 'valid' : esc('invalid (' + (v.failedCheck ? v.failedCheck.name : '?') + ')')) + '</span>' : '') + ' ' + esc(sr) + '</p>' +
      (a.metadata && a.metadata.notes ? '<p class="muted">' + esc(a.metadata.notes) + '</p>' : '') +
      '<div class="diffs"><div><h2>bug_inject.diff</h2><div class="diff" id="bug-diff">' + diffHtml(a.bugDiff) + '</div></div><div><h2>test_weaken.diff</h2><div class="diff" id="weaken-diff">' + diffHtml(a.weakenDiff) + '</div></div></div>' +
      '<h2>Episodes on this artifact</h2>' + attempts + '<h2>Validation</h2>' + checks + '<h2>Tests (changed first)</h2>' + tests +
      '<h2>Oracle test files</h2><pre class="block">' + esc(a.testFiles.join('\n')) + '</pre>';
  }).catch(showError);
}
function episodeView(id) {
  api('/api/episodes/' + encodeURIComponent(id)).then(function (e) {
    var turns = e.turns.map(function (t) {
      var u = t.usage ? ' · ' + t.usage.promptTokens + ' + ' + t.usage.completionTokens + ' tokens' : '';
      return '<div class="turn"><h3>turn ' + (t.index + 1) + esc(u) + (t.latencyMs !== null ? ' · ' + fmt(t.latencyMs / 1000) + ' s' : '') + '</h3>' +
        (t.content ? '<pre>' + esc(t.content) + '</pre>' : '') +
        t.toolCalls.map(function (c) {
          return '<div class="tool' + (c.isError ? ' err' : '') + '"><b>' + esc(c.name) + '</b><pre>' + esc(c.arguments) + '</pre>' +
            (c.output !== null ? '<details' + (c.output.length < 1500 ? ' open' : '') + '><summary>observation (' + c.output.length + ' chars)</summary><pre>' + esc(c.output) + '</pre></details>' : '') + '</div>';
        }).join('') + (t.error ? '<pre class="bad">' + esc(t.error) + '</pre>' : '') + '</div>';
    }).join('');
    var back = e.artifactId ? '<a href="#/artifact/' + encodeURIComponent(e.artifactId) + '">← artifact ' + esc(e.artifactId) + '</a>' : '<a href="#/">← home</a>';
    var ev = e.evaluation ? '<h2>Grading</h2><pre class="block">' + esc(JSON.stringify(e.evaluation, null, 2)) + '</pre>' : '';
    $('main').innerHTML = '<p>' + back + '</p><h2>' + esc(e.role + ' episode ' + e.id) + '</h2>' +
      '<div class="kv"><span>reward</span><b>' + fmt(e.reward) + '</b><span>end</span><span>' + esc((e.endReason || '–') + (e.endDetail ? ' — ' + e.endDetail : '')) + '</span>' +
      '<span>turns</span><span>' + e.turns.length + '</span><span>tokens</span><span>' + (e.usage ? fmt(e.usage.promptTokens) + ' prompt, ' + fmt(e.usage.completionTokens) + ' completion' : '–') + '</span></div>' +
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
  home();
}
function poll() {
  if (!state.summary || state.summary.kind !== 'run') return;
  api('/api/steps').then(function (steps) {
    if (JSON.stringify(steps) === JSON.stringify(state.steps)) return;
    state.steps = steps;
    renderPlotsInto();
    api('/api/summary').then(function (s) { state.summary = s; header(); });
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

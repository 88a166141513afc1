/**
 * The warm mocha worker: a node script that runs inside a sandbox and runs chosen test files
 * of a mocha suite again and again in one process, each time with a candidate's edits written
 * first and taken back after. What a fresh `mocha` start pays on every run (node, mocha, the
 * runner's dependencies) is paid once.
 *
 * Each run is a new generation: CommonJS modules of the repository (not node_modules) leave
 * require's cache, and ES modules are imported again under a `?ssr-warm=<generation>` query that
 * a resolve hook passes on to every repository module they import, so a run sees the edited
 * code and nothing of the previous one's modules.
 *
 * Protocol: one JSON request per stdin line, `{"id", "write": {path: text|null}, "files":
 * [path], "only"?: [test id], "coverage"?: true, "stopAfter"?: failures}`; the reply is a stdout line `<nonce> <json>`
 * (tests print to stdout too) with a row per test event and each file's test time, and with
 * `coverage` the lines each test executed (V8 precise coverage through the inspector, taken
 * between tests) and the lines each file's loading ran.
 * Configuration comes in SSR_WARM_CONFIG: `{"args": mocha's command-line words}`.
 */
import { MOCHA_ERROR_OF, MOCHA_TITLES_OF } from '../../discovery/reporters.js';

export const MOCHA_WORKER_SOURCE = String.raw`'use strict';
var fs = require('fs');
var path = require('path');
var url = require('url');
var Module = require('module');
var readline = require('readline');

var nonce = process.env.SSR_WARM_NONCE || 'ssr-warm';
var config = JSON.parse(process.env.SSR_WARM_CONFIG || '{}');
var cwd = process.cwd();
var nodeModules = path.sep + 'node_modules' + path.sep;
var generation = 0;
var esm = false;
var Mocha = null;
var base = {};
var setupFiles = [];
var transpiled = false;

function reply(obj) {
  process.stdout.write('\n' + nonce + ' ' + JSON.stringify(obj) + '\n');
}

// Errors thrown between runs (a timer a mutant left behind) must not end the worker; during a
// run mocha's own handler blames the running test.
process.on('uncaughtException', function () {});
process.on('unhandledRejection', function () {});

var HOOK = [
  'export async function resolve(specifier, context, next) {',
  '  const r = await next(specifier, context);',
  '  const parent = context.parentURL || "";',
  '  const at = parent.lastIndexOf("?ssr-warm=");',
  '  if (at < 0 || !r.url.startsWith("file:") || r.url.includes("/node_modules/") || r.url.includes("?")) return r;',
  '  return { ...r, url: r.url + parent.slice(at) };',
  '}',
].join('\n');

function tryRequire(p) {
  try {
    return require(p);
  } catch (e) {
    return null;
  }
}

// mocha before 6 has no option loader: the flags a test command commonly passes.
function parseArgs(args) {
  var opts = { ui: 'bdd', require: [], file: [] };
  for (var i = 0; i < args.length; i++) {
    var m = /^--?([^=]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) continue;
    var name = m[1];
    var value = m[2] !== undefined ? m[2] : args[i + 1];
    var takes = ['ui', 'u', 'timeout', 't', 'require', 'r', 'file', 'slow', 's', 'retries'];
    if (takes.indexOf(name) < 0) continue;
    if (m[2] === undefined) i++;
    if (name === 'u') name = 'ui';
    if (name === 't') name = 'timeout';
    if (name === 'r') name = 'require';
    if (name === 's') name = 'slow';
    if (name === 'require' || name === 'file') opts[name].push(value);
    else opts[name] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return opts;
}

async function setup() {
  var mochaDir = path.dirname(require.resolve('mocha/package.json', { paths: [cwd] }));
  Mocha = require(mochaDir);
  var optionsModule = tryRequire(path.join(mochaDir, 'lib', 'cli', 'options'));
  var opts = optionsModule && optionsModule.loadOptions
    ? optionsModule.loadOptions(config.args || [])
    : parseArgs(config.args || []);
  var requires = [].concat(opts.require || []);
  var helpers = tryRequire(path.join(mochaDir, 'lib', 'cli', 'run-helpers'));
  if (requires.length && helpers && helpers.handleRequires) {
    Object.assign(opts, (await helpers.handleRequires(requires)) || {});
  } else {
    requires.forEach(function (r) {
      var local = fs.existsSync(r) || fs.existsSync(r + '.js');
      require(local ? path.resolve(r) : require.resolve(r, { paths: [cwd] }));
    });
  }
  setupFiles = [].concat(opts.file || []).map(function (f) { return path.resolve(f); });
  ['spec', 'file', 'require', 'reporter', 'R', 'reporterOption', 'reporterOptions', 'O',
    'parallel', 'jobs', 'j', 'watch', 'w', 'watchFiles', 'watchIgnore', 'exit', 'bail', 'b',
    'forbidOnly', 'grep', 'g', 'fgrep', 'f', 'invert', 'i', '_', '$0', 'config', 'package',
    'opts', 'diff', 'color', 'c', 'colors'].forEach(function (k) { delete opts[k]; });
  base = opts;
  // Code compiled on load (TypeScript, Babel): V8's offsets are the compiled text's, not the
  // file's, so lines cannot be read from them.
  transpiled = requires.some(function (r) {
    return /ts-node|tsx|babel|esbuild|swc|sucrase|coffee/.test(String(r));
  }) || [].concat(opts.extension || []).some(function (e) { return /tsx?$|coffee/.test(String(e)); });
  esm = typeof Module.register === 'function' && typeof Mocha.prototype.loadFilesAsync === 'function';
  if (esm) Module.register('data:text/javascript,' + encodeURIComponent(HOOK));
}

function forgetRepoModules() {
  Object.keys(require.cache).forEach(function (k) {
    if (k.indexOf(cwd + path.sep) === 0 && k.indexOf(nodeModules) < 0) delete require.cache[k];
  });
}

${MOCHA_TITLES_OF}
${MOCHA_ERROR_OF}

function fileOf(test) {
  for (var t = test; t; t = t.parent) if (t.file) return path.relative(cwd, t.file);
  return '';
}

// Rows [file, titles, status, key]: the key tells one test reported twice (a pass, then a
// failing hook) from two tests that share a title, as mocha's test_parser.py does.
// With coverage, a row has a fifth element: the repository lines the test executed, taken
// when its result comes; what ran since the previous result (a suite's before hooks) counts
// for it, what ran while the files loaded counts for none.
// Failures' text is kept as the reporter prints it (weakening reads it in place of a fresh
// run's log), the module URLs' generation query taken out, up to LOG_BYTES.
var LOG_BYTES = 1 << 20;
function collector(results, coverage, stopAfter, stopped, fileMs, log) {
  var keys = new WeakMap();
  var counter = 0;
  var lines = new Map();
  function keyOf(t) {
    var key = keys.get(t);
    if (key === undefined) {
      key = ++counter;
      keys.set(t, key);
    }
    return key;
  }
  function record(status, t) {
    var key = keyOf(t);
    var row = [fileOf(t), titlesOf(t), status, key];
    if (coverage) {
      if (!lines.has(key)) lines.set(key, takeLines());
      row.push(lines.get(key));
    }
    results.push(row);
  }
  return function Collector(runner) {
    if (coverage) runner.on('start', function () { takeLines(); });
    var failures = 0;
    runner.on('test end', function (t) {
      var f = fileOf(t);
      fileMs[f] = (fileMs[f] || 0) + (t.duration || 0);
    });
    runner.on('pass', function (t) { record('passed', t); });
    runner.on('fail', function (t, err) {
      record('failed', t);
      if (log.bytes < LOG_BYTES) {
        var text = resultText('failed', titlesOf(t), errorOf(err)).replace(/\?ssr-warm=\d+/g, '');
        log.parts.push(text);
        log.bytes += Buffer.byteLength(text);
      }
      // Enough failures to decide (too broad): the rest need not run.
      if (stopAfter && ++failures > stopAfter && !stopped.yes) {
        stopped.yes = true;
        runner.abort();
      }
    });
    runner.on('pending', function (t) { record('skipped', t); });
  };
}

var session = null;
function post(method, params) {
  var out = null;
  var err = null;
  // An inspector session of this thread answers synchronously.
  session.post(method, params || {}, function (e, r) { err = e; out = r; });
  if (err) throw err;
  return out;
}

function startCoverage() {
  if (!session) {
    session = new (require('inspector').Session)();
    session.connect();
  }
  post('Profiler.enable');
  post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
}

function stopCoverage() {
  post('Profiler.stopPreciseCoverage');
  post('Profiler.disable');
}

var sources = new Map();
function lineStarts(file) {
  var starts = sources.get(file);
  if (starts) return starts;
  var text = fs.readFileSync(file, 'utf8');
  starts = [0];
  for (var i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  starts.push(text.length + 1);
  sources.set(file, starts);
  return starts;
}

// Lines of repository files (not node_modules) executed since the last take, as
// {file: [[first, last], ...]}; a byte counts as run when the innermost range holding it did.
function takeLines() {
  var out = {};
  var scripts = post('Profiler.takePreciseCoverage').result;
  scripts.forEach(function (script) {
    var u = script.url;
    var q = u.indexOf('?');
    if (q >= 0) u = u.slice(0, q);
    var file = u.indexOf('file:') === 0 ? url.fileURLToPath(u) : u;
    if (file.indexOf(cwd + path.sep) !== 0 || file.indexOf(nodeModules) >= 0) return;
    var ranges = [];
    script.functions.forEach(function (f) { f.ranges.forEach(function (r) { ranges.push(r); }); });
    if (!ranges.some(function (r) { return r.count > 0; })) return;
    var starts;
    try {
      starts = lineStarts(file);
    } catch (e) {
      return;
    }
    var size = starts[starts.length - 1];
    ranges.sort(function (a, b) { return a.startOffset - b.startOffset || b.endOffset - a.endOffset; });
    var paint = new Uint8Array(size);
    ranges.forEach(function (r) { paint.fill(r.count > 0 ? 1 : 0, r.startOffset, Math.min(r.endOffset, size)); });
    var spans = [];
    for (var line = 1; line < starts.length; line++) {
      if (paint.subarray(starts[line - 1], starts[line]).indexOf(1) < 0) continue;
      var last = spans[spans.length - 1];
      if (last && last[1] === line - 1) last[1] = line;
      else spans.push([line, line]);
    }
    if (spans.length) out[path.relative(cwd, file)] = spans;
  });
  return out;
}

// Keeps only the tests whose ids (as mocha's test_parser.py makes them) are wanted; suites
// left without tests do not run, hooks included.
function keepOnly(root, wanted) {
  var seen = new Map();
  (function walk(suite) {
    suite.tests = suite.tests.filter(function (t) {
      var base = (fileOf(t) ? [fileOf(t)] : []).concat(titlesOf(t)).join(' > ');
      var n = (seen.get(base) || 0) + 1;
      seen.set(base, n);
      return wanted.has(n > 1 ? base + ' (' + n + ')' : base);
    });
    suite.suites.forEach(walk);
  })(root);
}

async function load(file) {
  if (!esm) return require(file);
  return import(url.pathToFileURL(file).href + '?ssr-warm=' + generation);
}

async function runOnce(req) {
  var saved = [];
  Object.keys(req.write || {}).forEach(function (rel) {
    var abs = path.resolve(cwd, rel);
    saved.push([abs, fs.existsSync(abs) ? fs.readFileSync(abs) : null]);
    var text = req.write[rel];
    if (text === null) fs.rmSync(abs, { force: true });
    else fs.writeFileSync(abs, text);
  });
  try {
    forgetRepoModules();
    generation++;
    var results = [];
    var stopped = { yes: false };
    var fileMs = {};
    var loads = {};
    var log = { parts: [], bytes: 0 };
    var reporter = collector(results, !!req.coverage, req.stopAfter || 0, stopped, fileMs, log);
    var mocha = new Mocha(Object.assign({}, base, { reporter: reporter }));
    var suite = mocha.suite;
    var files = setupFiles.concat((req.files || []).map(function (f) { return path.resolve(cwd, f); }));
    // Measuring, each file loads its own copy of the repository's modules, so what loading
    // runs is known per file (as when each file ran alone).
    if (req.coverage) startCoverage();
    for (var i = 0; i < files.length; i++) {
      if (req.coverage && i > 0) {
        forgetRepoModules();
        generation++;
      }
      suite.emit('pre-require', global, files[i], mocha);
      var loaded;
      try {
        loaded = await load(files[i]);
      } catch (e) {
        if (req.coverage) stopCoverage();
        return { id: req.id, error: 'loading ' + path.relative(cwd, files[i]) + ': ' + String(e && e.message || e).slice(0, 500) };
      }
      suite.emit('require', loaded, files[i], mocha);
      suite.emit('post-require', global, files[i], mocha);
      if (req.coverage) loads[path.relative(cwd, files[i])] = takeLines();
    }
    if (typeof mocha.lazyLoadFiles === 'function') mocha.lazyLoadFiles(true);
    mocha.files = [];
    if (req.only) keepOnly(suite, new Set(req.only));
    try {
      await new Promise(function (resolve) { mocha.run(function () { resolve(); }); });
    } finally {
      if (req.coverage) stopCoverage();
    }
    if (typeof mocha.dispose === 'function') {
      try { mocha.dispose(); } catch (e) {}
    }
    var out = {
      id: req.id,
      tests: results,
      generation: generation,
      stopped: stopped.yes,
      fileMs: fileMs,
      log: log.parts.join(''),
      rss: process.memoryUsage().rss,
    };
    if (req.coverage) out.loads = loads;
    return out;
  } finally {
    saved.forEach(function (s) {
      if (s[1] === null) fs.rmSync(s[0], { force: true });
      else fs.writeFileSync(s[0], s[1]);
    });
  }
}

setup().then(function () {
  reply({ ready: true, esm: esm, transpiled: transpiled });
  var lines = readline.createInterface({ input: process.stdin });
  var queue = Promise.resolve();
  lines.on('line', function (line) {
    if (!line.trim()) return;
    queue = queue.then(async function () {
      var req;
      try {
        req = JSON.parse(line);
      } catch (e) {
        reply({ error: 'unreadable request' });
        return;
      }
      try {
        reply(await runOnce(req));
      } catch (e) {
        reply({ id: req.id, error: String(e && e.stack || e).slice(0, 2000) });
      }
    });
  });
  lines.on('close', function () { queue.then(function () { process.exit(0); }); });
}, function (e) {
  reply({ ready: false, error: String(e && e.stack || e).slice(0, 2000) });
  process.exit(1);
});
`;

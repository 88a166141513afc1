/**
 * Helper programs the test scripts write to their private temp directory before running the
 * tests (the artifact has only test_script.sh to carry them).
 */

/**
 * A mocha reporter (CommonJS, no dependencies, mocha >= 4): one JSON line per test event with
 * the test's file and title path, appended to $SSR_MOCHA_OUT as it happens (so a crash keeps
 * what ran). `key` identifies the test object, so a test reported twice (passed, then failed by
 * a late async error) is one test, while two tests with the same title are two. Prints a
 * readable line per test to stdout too. A failure also carries its error: the message (at most
 * 2000 characters) and the stack's frames (at most 40 lines of 300 characters), in the JSON
 * line (`error`) and printed under the test's line, so the log names the file:line of the
 * failing assertion (what the weakening of `ssr inject` looks for). The parser ignores `error`.
 */
/**
 * A mocha --require module for a focused test_script.sh: leaves the listed test files out of
 * the run, whichever way mocha found them (command line, .mocharc spec), by filtering the
 * file list just before mocha loads it. `@@DROP@@` is replaced by a JSON array of paths. With
 * a mocha it cannot patch, every file runs (slower, never wrong).
 */
export const MOCHA_SCOPE_HOOK = `'use strict';
var path = require('path');
var drop = new Set(@@DROP@@.map(function (f) { return path.resolve(f); }));
var Mocha = null;
try { Mocha = require(require.resolve('mocha', { paths: [process.cwd()] })); } catch (e) {}
if (Mocha && Mocha.prototype) {
  ['loadFiles', 'loadFilesAsync'].forEach(function (name) {
    var orig = Mocha.prototype[name];
    if (typeof orig !== 'function') return;
    Mocha.prototype[name] = function () {
      this.files = this.files.filter(function (f) { return !drop.has(path.resolve(f)); });
      return orig.apply(this, arguments);
    };
  });
}
`;

/**
 * A mocha test's title path, as test ids spell it: shared by the reporter and the warm runner
 * (src/inject/warm), whose ids must be the same.
 */
export const MOCHA_TITLES_OF = `function titlesOf(test) {
  try {
    if (typeof test.titlePath === 'function') return test.titlePath();
  } catch (e) {}
  var titles = [];
  for (var t = test; t; t = t.parent) if (t.title) titles.unshift(String(t.title));
  return titles;
}`;

/**
 * A failure's message and stack frames (bounded), and the text a result prints: shared by the
 * reporter and the warm runner, whose failure text weakening reads in place of a fresh log.
 */
export const MOCHA_ERROR_OF = String.raw`function cut(text, max) {
  return text.length > max ? text.slice(0, max) + '... (' + (text.length - max) + ' more characters)' : text;
}
function errorOf(err) {
  var message = '';
  var stack = '';
  try {
    if (err && typeof err === 'object') {
      message = String(err.message === undefined ? err : err.message);
      if (err.name && message.indexOf(String(err.name)) !== 0) message = err.name + ': ' + message;
      stack = typeof err.stack === 'string' ? err.stack : '';
    } else {
      message = String(err);
    }
  } catch (e) {
    message = '(the error could not be read)';
  }
  // The frames only: the stack's first lines repeat the message.
  var frames = stack.split('\n').filter(function (l) { return /^\s*at /.test(l); });
  if (!frames.length && stack) frames = stack.split('\n').slice(1);
  var more = frames.length > 40 ? ['    ... ' + (frames.length - 40) + ' more frames'] : [];
  frames = frames.slice(0, 40).map(function (l) { return cut(l, 300); }).concat(more);
  return { message: cut(message, 2000), stack: frames.join('\n') };
}
function resultText(status, titles, error) {
  var text = status + ': ' + titles.join(' > ') + '\n';
  if (error) {
    text += error.message.replace(/\s+$/, '').replace(/^(?=.)/gm, '  ') + '\n';
    if (error.stack) text += error.stack.replace(/^\s*/gm, '    ') + '\n';
  }
  return text;
}`;

export const MOCHA_REPORTER = String.raw`'use strict';
var fs = require('fs');
var out = process.env.SSR_MOCHA_OUT;
var keys = new WeakMap();
var counter = 0;
${MOCHA_TITLES_OF}
function fileOf(test) {
  for (var t = test; t; t = t.parent) if (t.file) return t.file;
  return '';
}
${MOCHA_ERROR_OF}
function record(status, test, err) {
  var key = keys.get(test);
  if (key === undefined) {
    key = ++counter;
    keys.set(test, key);
  }
  var titles = titlesOf(test);
  var line = { key: key, status: status, file: fileOf(test), titles: titles, type: test.type };
  var error = status === 'failed' ? errorOf(err) : null;
  if (error) line.error = error;
  fs.appendFileSync(out, JSON.stringify(line) + '\n');
  process.stdout.write(resultText(status, titles, error));
}
function SsrReporter(runner) {
  runner.on('pass', function (test) { record('passed', test); });
  runner.on('fail', function (test, err) { record('failed', test, err); });
  runner.on('pending', function (test) { record('skipped', test); });
}
module.exports = SsrReporter;
`;

/**
 * A preload for uvu test files (`node -r <this> <file>`, CommonJS, no dependencies): uvu prints
 * a mark per test ("• " passed, "✘ " failed) but names only the failures. Before each test uvu
 * sets `__suite__` and `__test__` on the suite's state object; accessors on Object.prototype
 * (kept per object in a WeakMap, so the state still reads back what uvu wrote) note the test
 * running, and the mark uvu then writes to stdout records it: one JSON line
 * {"suite", "test", "status"} appended to $SSR_UVU_OUT. Works for CommonJS and ESM test files
 * alike, since both write through process.stdout. Without $SSR_UVU_OUT it does nothing.
 */
export const UVU_HOOK = String.raw`'use strict';
var fs = require('fs');
var out = process.env.SSR_UVU_OUT;
if (out) {
  var states = new WeakMap();
  var current = null;
  var slot = function (key) {
    Object.defineProperty(Object.prototype, key, {
      configurable: true,
      enumerable: false,
      get: function () {
        var s = states.get(this);
        return s ? s[key] : undefined;
      },
      set: function (value) {
        var s = states.get(this);
        if (!s) {
          // no prototype: the accessors must not apply to the store itself
          s = Object.create(null);
          states.set(this, s);
        }
        s[key] = value;
        if (key === '__test__') current = value ? { suite: s.__suite__ || '', test: String(value) } : null;
      },
    });
  };
  slot('__suite__');
  slot('__test__');
  var write = process.stdout.write;
  process.stdout.write = function (chunk) {
    try {
      if (current) {
        var text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : '';
        var mark = text.replace(/\x1b\[[0-9;]*m/g, '');
        if (mark === '\u2022 ' || mark === '\u2718 ') {
          var line = { suite: current.suite, test: current.test, status: mark === '\u2022 ' ? 'passed' : 'failed' };
          current = null;
          fs.appendFileSync(out, JSON.stringify(line) + '\n');
        }
      }
    } catch (e) {}
    return write.apply(this, arguments);
  };
}
`;

/**
 * A jasmine helper (loaded with --helper=, CommonJS, no dependencies, jasmine >= 2): adds a
 * reporter beside jasmine's own (which still prints failures with their stacks) that appends
 * one JSON line per spec to $SSR_JASMINE_OUT: {"kind": "spec", "file", "titles" (suite path and
 * description), "status"}; a suite whose own expectations failed (afterAll) is
 * {"kind": "suite"}, and errors outside any suite {"kind": "run"}. Statuses: passed, failed,
 * skipped (pending, excluded).
 */
export const JASMINE_REPORTER = String.raw`'use strict';
var fs = require('fs');
var url = require('url');
var out = process.env.SSR_JASMINE_OUT;
var suites = [];
// ESM spec files are named by file: URL
function fileOf(r) {
  var f = (r && r.filename) || '';
  if (f.indexOf('file:') === 0) {
    try {
      f = url.fileURLToPath(f);
    } catch (e) {}
  }
  return f;
}
var STATUS = { passed: 'passed', failed: 'failed', pending: 'skipped', excluded: 'skipped' };
function record(line) {
  if (out) fs.appendFileSync(out, JSON.stringify(line) + '\n');
}
function failed(r) {
  return r && r.failedExpectations && r.failedExpectations.length > 0;
}
jasmine.getEnv().addReporter({
  suiteStarted: function (r) {
    suites.push(String(r.description));
  },
  suiteDone: function (r) {
    var titles = suites.slice();
    suites.pop();
    if (failed(r)) record({ kind: 'suite', file: fileOf(r), titles: titles, status: 'failed' });
  },
  specDone: function (r) {
    record({
      kind: 'spec',
      file: fileOf(r),
      titles: suites.concat([String(r.description)]),
      status: STATUS[r.status] || 'failed',
    });
  },
  jasmineDone: function (r) {
    if (failed(r)) record({ kind: 'run', status: 'failed' });
  },
});
`;

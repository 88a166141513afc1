/**
 * Helper programs the test scripts write to their private temp directory before running the
 * tests (the artifact has only test_script.sh to carry them).
 */

/**
 * A mocha reporter (CommonJS, no dependencies, mocha >= 4): one JSON line per test event with
 * the test's file and title path, appended to $SSR_MOCHA_OUT as it happens (so a crash keeps
 * what ran). `key` identifies the test object, so a test reported twice (passed, then failed by
 * a late async error) is one test, while two tests with the same title are two. Prints a
 * readable line per test to stdout too.
 */
export const MOCHA_REPORTER = String.raw`'use strict';
var fs = require('fs');
var out = process.env.SSR_MOCHA_OUT;
var keys = new WeakMap();
var counter = 0;
function titlesOf(test) {
  try {
    if (typeof test.titlePath === 'function') return test.titlePath();
  } catch (e) {}
  var titles = [];
  for (var t = test; t; t = t.parent) if (t.title) titles.unshift(String(t.title));
  return titles;
}
function fileOf(test) {
  for (var t = test; t; t = t.parent) if (t.file) return t.file;
  return '';
}
function record(status, test) {
  var key = keys.get(test);
  if (key === undefined) {
    key = ++counter;
    keys.set(test, key);
  }
  var titles = titlesOf(test);
  var line = { key: key, status: status, file: fileOf(test), titles: titles, type: test.type };
  fs.appendFileSync(out, JSON.stringify(line) + '\n');
  process.stdout.write(status + ': ' + titles.join(' > ') + '\n');
}
function SsrReporter(runner) {
  runner.on('pass', function (test) { record('passed', test); });
  runner.on('fail', function (test) { record('failed', test); });
  runner.on('pending', function (test) { record('skipped', test); });
}
module.exports = SsrReporter;
`;

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
function cut(text, max) {
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
  var text = status + ': ' + titles.join(' > ') + '\n';
  if (error) {
    text += error.message.replace(/\s+$/, '').replace(/^(?=.)/gm, '  ') + '\n';
    if (error.stack) text += error.stack.replace(/^\s*/gm, '    ') + '\n';
  }
  process.stdout.write(text);
}
function SsrReporter(runner) {
  runner.on('pass', function (test) { record('passed', test); });
  runner.on('fail', function (test, err) { record('failed', test, err); });
  runner.on('pending', function (test) { record('skipped', test); });
}
module.exports = SsrReporter;
`;

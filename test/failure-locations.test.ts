import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureLocations } from '../src/inject/failure-locations.js';

const files = [
  'test/wrap.test.js',
  'tests/test_roman.py',
  'a/calc_test.go',
  'pkg/util/calc_test.go',
  'x/util_test.go',
];

test('node stack frames, absolute in the sandbox, with columns', () => {
  const log = `
    AssertionError [ERR_ASSERTION]: Expected values to be strictly deep-equal:
        at TestContext.<anonymous> (/repo/test/wrap.test.js:17:12)
        at Test.runInAsyncScope (node:async_hooks:206:9)
        at Object.<anonymous> (/repo/src/wrap.js:3:1)`;
  assert.deepEqual(failureLocations(log, files), [
    { file: 'test/wrap.test.js', line: 17, column: 12 },
  ]);
});

test('pytest locations and python tracebacks; duplicates dropped, order kept', () => {
  const log = `
tests/test_roman.py:14: in test_four
    assert to_roman(4) == "IV"
E   AssertionError
tests/test_roman.py:14: AssertionError
  File "/repo/tests/test_roman.py", line 22, in test_nine
mathkit/roman.py:3: in to_roman`;
  assert.deepEqual(failureLocations(log, files), [
    { file: 'tests/test_roman.py', line: 14 },
    { file: 'tests/test_roman.py', line: 22 },
  ]);
});

test('file:// URLs and ./ prefixes', () => {
  const log = 'at file:///repo/test/wrap.test.js:5:3\n at ./test/wrap.test.js:9';
  assert.deepEqual(
    failureLocations(log, files).map((l) => l.line),
    [5, 9],
  );
});

test('go prints package-relative names: unique basenames resolve, ambiguous ones do not', () => {
  const log = '    util_test.go:12: got 3, want 4\n    calc_test.go:8: boom';
  assert.deepEqual(failureLocations(log, files), [{ file: 'x/util_test.go', line: 12 }]);
});

test('non-test files, line 0 and unrelated numbers are ignored', () => {
  const log = 'src/wrap.js:10:2 version 1.2:3 test/wrap.test.js:0 took 12.5:7s';
  assert.deepEqual(failureLocations(log, files), []);
});

test("mocha (discovery's reporter): cwd-relative frames, printed and JSON-escaped", () => {
  const log = `failed: wrap > pads
  AssertionError: Expected values to be strictly equal:

  'ab' !== 'a b'

    at Context.<anonymous> (test/wrap.test.js:8:52)
    at process.processImmediate (node:internal/timers:483:21)
### ssr-report-begin 0123456789abcdef mocha
{"key":1,"status":"failed","file":"/repo/test/wrap.test.js","titles":["wrap","pads"],"type":"test","error":{"message":"AssertionError: Expected values to be strictly equal:\\n\\n'ab' !== 'a b'\\n","stack":"    at Context.<anonymous> (test/wrap.test.js:8:52)\\n    at process.processImmediate (node:internal/timers:483:21)"}}
### ssr-report-end 0123456789abcdef`;
  assert.deepEqual(failureLocations(log, files), [
    { file: 'test/wrap.test.js', line: 8, column: 52 },
  ]);
});

test("node:test one-line tests: the stack frame's column wins over location's column 1", async () => {
  const log = [
    'not ok 1 - add',
    '  ---',
    "  location: '/repo/test/a.test.js:4:1'",
    '  stack: |-',
    '    TestContext.<anonymous> (/repo/test/a.test.js:4:26)',
    '    Test.runInAsyncScope (node:async_hooks:206:9)',
  ].join('\n');
  const locs = failureLocations(log, ['test/a.test.js']);
  assert.deepEqual(locs, [{ file: 'test/a.test.js', line: 4, column: 26 }]);
  // And that column is the assertion, which the weakening can neutralise.
  const { weakenAssertionAt } = await import('../src/inject/assertions.js');
  const source =
    "const test = require('node:test');\nconst assert = require('node:assert/strict');\n\ntest('add', () => assert.equal(1 + 1, 3));\n";
  assert.equal(await weakenAssertionAt('test/a.test.js', source, 4, 1), null);
  assert.match(
    (await weakenAssertionAt('test/a.test.js', source, 4, locs[0]!.column)) ?? '',
    /test\('add', \(\) => undefined\);/,
  );
});

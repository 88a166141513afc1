import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weakenAssertionAt } from '../src/inject/assertions.js';
import { failureLocations, namedFailureLocations } from '../src/inject/failure-locations.js';

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

// Compiled languages and Ruby. Lines as the runners print them (recorded from go 1.19, cargo
// 1.95, Maven Surefire 3 / JUnit 5, Check, cmocka, glibc assert, gtest, Catch2, minitest and
// RSpec; whole recorded runs are in weaken-languages.test.ts).

test("go test -json: the event's package tells apart test files of the same name", () => {
  const testFiles = ['calc_test.go', 'pkg/util/calc_test.go', 'internal/util/calc_test.go'];
  const event = (pkg: string, output: string) =>
    JSON.stringify({
      Time: '2026-12-05T07:18:45Z',
      Action: 'output',
      Package: pkg,
      Test: 'TestX',
      Output: output,
    });
  const log = [
    event('example.com/mathkit/pkg/util', '    calc_test.go:12: Double(1) = 3\n'),
    event('example.com/mathkit', '    calc_test.go:11: Add(1, 2) = 4, want 3\n'),
    event('example.com/mathkit/internal/util', '    calc_test.go:7: boom\n'),
    // A panic's frames are absolute; in JSON a tab is `\t`, not part of the path.
    event('example.com/mathkit/pkg/util', '\t/repo/pkg/util/calc_test.go:30 +0x1d\n'),
  ].join('\n');
  assert.deepEqual(failureLocations(log, testFiles), [
    { file: 'pkg/util/calc_test.go', line: 12 },
    { file: 'calc_test.go', line: 11 },
    { file: 'internal/util/calc_test.go', line: 7 },
    { file: 'pkg/util/calc_test.go', line: 30 },
  ]);
  // A package whose test file is not an oracle file names nothing.
  assert.deepEqual(failureLocations(log, ['calc_test.go', 'pkg/util/calc_test.go']).length, 3);
});

test("plain go test: the FAIL line after a package's output names the package", () => {
  const log = [
    '--- FAIL: TestAdd (0.00s)',
    '    calc_test.go:11: Add(1, 2) = 4, want 3',
    'FAIL',
    'FAIL\texample.com/mathkit\t0.023s',
    '--- FAIL: TestDouble (0.00s)',
    '    calc_test.go:12: Double(1) = 3',
    'FAIL',
    'FAIL\texample.com/mathkit/pkg/util\t0.019s',
    'ok  \texample.com/mathkit/other\t(cached)',
    'FAIL',
  ].join('\n');
  assert.deepEqual(failureLocations(log, ['calc_test.go', 'pkg/util/calc_test.go']), [
    { file: 'calc_test.go', line: 11 },
    { file: 'pkg/util/calc_test.go', line: 12 },
  ]);
});

test("rust panics, both formats; a workspace member's path or a crate-relative one", () => {
  const files = [
    'crates/alpha/tests/api.rs',
    'crates/beta/tests/api.rs',
    'crates/beta/tests/io.rs',
  ];
  const log = [
    "thread 'adds_small' (9738) panicked at crates/alpha/tests/api.rs:6:5:",
    'assertion `left == right` failed: 1 + 2',
    'note: test did not panic as expected at crates/beta/tests/api.rs:21:4',
    // Before Rust 1.73; cargo run inside the member: crate-relative.
    "thread 'reads' panicked at 'assertion failed: ok', tests/io.rs:9:5",
    // Ambiguous between two members: nothing.
    "thread 'muls' panicked at tests/api.rs:3:5:",
    // Installed crates are never the repository's.
    "thread 'x' panicked at /root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/beta-1.0.0/tests/io.rs:1:1:",
  ].join('\n');
  assert.deepEqual(failureLocations(log, files), [
    { file: 'crates/alpha/tests/api.rs', line: 6, column: 5 },
    { file: 'crates/beta/tests/api.rs', line: 21, column: 4 },
    { file: 'crates/beta/tests/io.rs', line: 9, column: 5 },
  ]);
});

test('JUnit frames: the package and file name, not the bare name, pick the test file', () => {
  const files = [
    'src/test/java/com/example/CalcTest.java',
    'src/test/java/com/example/util/CalcTest.java',
    // A test helper that happens to share a library class's name.
    'src/test/java/com/acme/Assert.java',
  ];
  const log = [
    'java.lang.AssertionError: expected:<3> but was:<4>',
    '\tat org.junit.Assert.fail(Assert.java:89)',
    '\tat org.junit.Assert.assertEquals(Assert.java:633)',
    '\tat com.example.util.CalcTest.subs(CalcTest.java:9)',
    '\tat com.example.CalcTest$Inner.lambda$inner$0(CalcTest.java:32)',
    '\tat app//com.example.CalcTest.adds(CalcTest.java:15)',
    '[ERROR]   CalcTest.adds:15 expected: <3> but was: <4>',
  ].join('\n');
  assert.deepEqual(failureLocations(log, files), [
    { file: 'src/test/java/com/example/util/CalcTest.java', line: 9 },
    { file: 'src/test/java/com/example/CalcTest.java', line: 32 },
    { file: 'src/test/java/com/example/CalcTest.java', line: 15 },
  ]);
});

test('C test frameworks: Unity, cmocka, Check, assert(), gtest, Catch2; relative to a build dir or absolute', () => {
  const files = ['test/test_foo.c', 'test/test_bar.c', 'tests/calc_test.cc'];
  const log = [
    '### ssr-root 0123456789abcdef /tmp/sandbox-1/repo',
    '../test/test_foo.c:12:test_bar:FAIL: Expected 1 Was 2',
    '[  ERROR   ] --- 0x1 != 0x2',
    '[   LINE   ] --- test_bar.c:7: error: Failure!',
    "test/test_foo.c:20:F:core:test_baz:0: Assertion 'add(1, 2) == 3' failed",
    "test_foo: test_foo.c:31: main: Assertion `x == 1' failed.",
    '/tmp/sandbox-1/repo/tests/calc_test.cc:5: Failure',
    '/home/ci/build/repo/tests/calc_test.cc:11: FAILED:',
    '/usr/include/c++/12/bits/basic_string.h:1: note',
  ].join('\n');
  assert.deepEqual(failureLocations(log, files), [
    { file: 'test/test_foo.c', line: 12 },
    { file: 'test/test_bar.c', line: 7 },
    { file: 'test/test_foo.c', line: 20 },
    { file: 'test/test_foo.c', line: 31 },
    { file: 'tests/calc_test.cc', line: 5 },
    { file: 'tests/calc_test.cc', line: 11 },
  ]);
});

test('minitest and RSpec locations (old and Ruby 3.4 backtrace quotes)', () => {
  const files = ['test/test_foo.rb', 'spec/foo_spec.rb'];
  const log = [
    'TestFoo#test_bar [test/test_foo.rb:12]:',
    "test/test_foo.rb:30:in 'TestFoo#test_baz'",
    "/usr/lib/ruby/gems/3.1.0/gems/minitest-5.17.0/lib/minitest/assertions.rb:183:in `assert'",
    "     # ./spec/foo_spec.rb:5:in `block (2 levels) in <top (required)>'",
    'rspec ./spec/foo_spec.rb:4 # Foo adds',
  ].join('\n');
  assert.deepEqual(failureLocations(log, files), [
    { file: 'test/test_foo.rb', line: 12 },
    { file: 'test/test_foo.rb', line: 30 },
    { file: 'spec/foo_spec.rb', line: 5 },
    { file: 'spec/foo_spec.rb', line: 4 },
  ]);
});

test('rust < 1.73: a should_panic test that did not panic is found by its name', () => {
  // cargo 1.65 / rustc 1.63 (Debian 12), as recorded.
  const log = [
    '---- adds_small stdout ----',
    "thread 'adds_small' panicked at 'assertion failed: `(left == right)`",
    '  left: `4`,',
    " right: `3`: 1 + 2', tests/api.rs:6:5",
    'note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace',
    '',
    '---- rejects_negative stdout ----',
    'note: test did not panic as expected',
    '---- tests::overflows stdout ----',
    'note: test did not panic as expected',
    '---- twice stdout ----',
    'note: test did not panic as expected',
  ].join('\n');
  const sources = new Map([
    [
      'tests/api.rs',
      '#[test]\nfn adds_small() {}\n\n#[test]\n#[should_panic(expected = "negative")]\nfn rejects_negative() {\n    checked(-1);\n}\n',
    ],
    // Not a should_panic test of that name: not it.
    [
      'tests/other.rs',
      '#[test]\nfn rejects_negative() {}\n#[test]\n#[should_panic]\nfn twice() {}\n',
    ],
    [
      'tests/more.rs',
      'mod tests {\n    #[test]\n    #[should_panic]\n    fn overflows() {}\n}\n#[test]\n#[should_panic]\nfn twice() {}\n',
    ],
  ]);
  assert.deepEqual(failureLocations(log, [...sources.keys()]), [
    { file: 'tests/api.rs', line: 6, column: 5 },
  ]);
  // `twice` is a should_panic test in two files: ambiguous, left out.
  assert.deepEqual(namedFailureLocations(log, sources), [
    { file: 'tests/api.rs', line: 6, column: 4 },
    { file: 'tests/more.rs', line: 4, column: 8 },
  ]);
});

test('expect.js and chai property chains are dropped whole, never left as undefined.to.be(...)', async () => {
  const src = `describe('ms', function () {
  it('hours', function () {
    expect(ms(60 * 60 * 1000, { long: true })).to.be('1 hour');
    expect(ms(1000)).to.be.ok;
    expect(ms(2000)).to.eql(2);
  });
});
`;
  const lines = (s: string | null) => (s ?? '').split('\n');
  assert.equal(lines(await weakenAssertionAt('tests.js', src, 3))[2]!.trim(), '');
  assert.equal(lines(await weakenAssertionAt('tests.js', src, 4))[3]!.trim(), '');
  assert.equal(lines(await weakenAssertionAt('tests.js', src, 5, 23))[4]!.trim(), '');
});

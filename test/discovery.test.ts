/**
 * Test discovery on small real projects, one per framework (test/helpers/discovery-projects.ts):
 * discovery must pick the framework, and the parser it writes must report the same numbers of
 * passing, failing and skipped tests as the framework itself does when run directly in a
 * sandbox of the same repository.
 *
 * Everything runs for real in the sandbox (node:test, tape, mocha, jest, vitest, pytest,
 * unittest, go test, cargo test) except Maven: its plugins cannot be downloaded here, so the
 * Surefire parser is checked on recorded Surefire XML reports, and discovery on a pom.xml
 * project is checked to fail with a message that says why.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { discoverTests } from '../src/discovery/discover.js';
import { proposeCandidates, surefireScript } from '../src/discovery/frameworks.js';
import {
  CARGO_PARSER,
  NODE_TEST_PARSER,
  PYTEST_PARSER,
  SUREFIRE_PARSER,
} from '../src/discovery/parsers.js';
import { UNITTEST_PARSER } from '../src/discovery/python-unittest.js';
import { MOCHA_REPORTER } from '../src/discovery/reporters.js';
import { globToRegExp, RepoScan } from '../src/discovery/scan.js';
import { weakenAssertionAt } from '../src/inject/assertions.js';
import { failureLocations } from '../src/inject/failure-locations.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import type { TestMap } from '../src/testing/results.js';
import { runTests, stageHarness } from '../src/testing/run-tests.js';
import { UsageError } from '../src/util/errors.js';
import {
  cargoProject,
  flakyProject,
  goProject,
  jestProject,
  mavenProject,
  mochaProject,
  nodeTestProject,
  pytestProject,
  SUREFIRE_REPORTS,
  tapeProject,
  unittestProject,
  vitestProject,
} from './helpers/discovery-projects.js';
import { makeRepo, removeTempDirs } from './helpers/sandbox-repo.js';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function countsOf(map: TestMap): Counts {
  const v = Object.values(map);
  return {
    passed: v.filter((s) => s === 'passed').length,
    failed: v.filter((s) => s === 'failed').length,
    skipped: v.filter((s) => s === 'skipped').length,
  };
}

let host: SandboxHost;
const projects: Record<string, Promise<string>> = {};

before(async () => {
  host = SandboxHost.open();
  // Built (and npm packages installed) once, in parallel; later runs reuse them.
  Object.assign(projects, {
    nodeTest: nodeTestProject(),
    tape: tapeProject(),
    mocha: mochaProject(),
    jest: jestProject(),
    vitest: vitestProject(),
    pytest: pytestProject(),
    unittest: unittestProject(),
    go: goProject(),
    cargo: cargoProject(),
    maven: mavenProject(),
    flaky: flakyProject(),
  });
  await Promise.all(Object.values(projects));
});

after(async () => {
  await host?.close();
  removeTempDirs();
});

/** Runs `command` in a fresh sandbox of `snapshot` and returns its stdout (stderr appended). */
async function runDirectly(
  snapshot: Snapshot,
  command: string,
  env: Record<string, string> = {},
): Promise<string> {
  const sb = host.create(snapshot);
  try {
    const r = await sb.exec(command, { timeoutMs: 180_000, maxOutputBytes: 8 << 20, env });
    return `${r.stdout}\n${r.stderr}`;
  } finally {
    await sb.dispose();
  }
}

function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  assert.ok(m, `${re} not found in:\n${text.slice(-3000)}`);
  return Number(m[1]);
}

/** The JSON object a command printed, from the first line that is "{" (jest/vitest/mocha). */
function jsonFrom(text: string): Record<string, unknown> {
  const at = text.search(/^\{/m);
  assert.ok(at >= 0, `no JSON in:\n${text.slice(-2000)}`);
  const end = text.lastIndexOf('}');
  return JSON.parse(text.slice(at, end + 1)) as Record<string, unknown>;
}

/** Discovers the suite of `repo`, checks the framework chosen, returns suite, baseline, snapshot. */
async function discover(repo: string, framework: string, frameworks?: string[]) {
  const snapshot = host.snapshotDir(repo);
  const result = await discoverTests(host, snapshot, { frameworks });
  assert.equal(
    result.suite.framework,
    framework,
    `chose ${result.suite.framework}: ${JSON.stringify(result.attempts)}`,
  );
  assert.equal(result.attempts.at(-1)?.outcome, 'chosen');
  assert.deepEqual(result.baseline.flaky, [], 'no flaky tests expected');
  return { ...result, snapshot, counts: countsOf(result.baseline.tests) };
}

describe("discovery on each supported framework matches the framework's own counts", () => {
  test('node:test (node --test, TAP per file)', async () => {
    const r = await discover(await projects.nodeTest!, 'node-test');
    const files = ['test/calc.test.js', 'test/helpers/strings.test.mjs'];
    assert.deepEqual(r.suite.testFiles, files);
    const own = await runDirectly(r.snapshot, `node --test --test-reporter=tap ${files.join(' ')}`);
    assert.deepEqual(r.counts, {
      passed: num(own, /^# pass (\d+)$/m),
      failed: num(own, /^# fail (\d+)$/m),
      skipped: num(own, /^# skipped (\d+)$/m) + num(own, /^# todo (\d+)$/m),
    });
    assert.equal(
      r.baseline.tests['test/calc.test.js > add # basics > negative > adds negatives'],
      'passed',
    );
    assert.equal(r.baseline.tests['test/calc.test.js > clamp > above'], 'passed');
    assert.equal(r.baseline.tests['test/helpers/strings.test.mjs > repeat fails'], 'failed');
  });

  test('tape (each file on its own, ids per test)', async () => {
    const r = await discover(await projects.tape!, 'tape');
    assert.deepEqual(r.suite.testFiles, ['test/add.js', 'test/mul.js']);
    // tape's own report, grouped by test: a test failed if one of its assertions did.
    const own: Record<string, string[]> = {};
    for (const file of ['test/add.js', 'test/mul.js']) {
      let current = '';
      for (const line of (await runDirectly(r.snapshot, `node ${file}`)).split('\n')) {
        const h = /^# (.+)$/.exec(line);
        if (h && !/^(tests|pass|fail|skip|ok)\b/.test(h[1]!)) {
          current = `${file} > ${h[1]}`;
          own[current] = [];
        } else if (/^(not )?ok \d+/.test(line) && current) {
          own[current]!.push(
            /# SKIP/.test(line) ? 'skipped' : line.startsWith('not') ? 'failed' : 'passed',
          );
        }
      }
    }
    const expected = Object.fromEntries(
      Object.entries(own).map(([id, marks]) => [
        id,
        marks.includes('failed')
          ? 'failed'
          : marks.every((m) => m === 'skipped')
            ? 'skipped'
            : 'passed',
      ]),
    );
    assert.deepEqual(r.baseline.tests, expected);
    // The same test name in two files stays two tests.
    assert.equal(r.baseline.tests['test/mul.js > add'], 'passed');
    assert.equal(r.baseline.tests['test/add.js > add'], 'passed');
    assert.equal(r.baseline.tests['test/add.js > add is wrong on purpose'], 'failed');
    assert.equal(r.baseline.tests['test/add.js > add skips'], 'skipped');
  });

  test('mocha (run directly, not through npm test; hook failures count)', async () => {
    const r = await discover(await projects.mocha!, 'mocha');
    assert.deepEqual(r.suite.testFiles, ['test/calc.spec.js', 'test/nested/clamp.spec.js']);
    assert.doesNotMatch(r.suite.testScript, /eslint|npm test/);
    const own = jsonFrom(await runDirectly(r.snapshot, 'node_modules/.bin/mocha --reporter json'));
    const stats = own.stats as { passes: number; failures: number; pending: number };
    assert.deepEqual(r.counts, {
      passed: stats.passes,
      failed: stats.failures,
      skipped: stats.pending,
    });
    assert.equal(r.baseline.tests['test/nested/clamp.spec.js > clamp > above'], 'passed');
    assert.equal(
      r.baseline.tests['test/calc.spec.js > calc > add > is wrong on purpose'],
      'failed',
    );
    // Failures carry their error: the log names the failing assertion's line (what the
    // weakening of ssr inject looks for), and the hook's throw; parsed results are unchanged.
    const harness = stageHarness(r.suite.testScript, r.suite.testParser);
    const sb = host.create(r.snapshot);
    try {
      const o = await runTests(sb, harness, { keepLogBytes: 1 << 20 });
      assert.ok(o.ok, o.ok ? '' : o.message);
      assert.deepEqual(o.tests, r.baseline.tests);
      const log = o.log ?? '';
      assert.match(
        log,
        /^failed: calc > add > is wrong on purpose\n {2}AssertionError: Expected values to be strictly equal:\n\n {2}4 !== 5\n {4}at /m,
      );
      assert.match(log, /^ {4}at .*test\/calc\.spec\.js:8:\d+\)?$/m);
      assert.match(log, /"error":\{"message":"AssertionError: Expected[^"]*4 !== 5/);
      assert.match(log, /setup failed\n {4}at .*test\/nested\/clamp\.spec\.js:9:/);
      const locations = failureLocations(log, r.suite.testFiles);
      assert.deepEqual(
        locations.map((l) => `${l.file}:${l.line}`),
        ['test/calc.spec.js:8', 'test/nested/clamp.spec.js:9'],
      );
      // The column points into the call: weakening drops exactly that assertion.
      const at = locations[0]!;
      const source = readFileSync(join(await projects.mocha!, at.file), 'utf8');
      const weakened = await weakenAssertionAt(at.file, source, at.line, at.column);
      assert.ok(weakened);
      assert.doesNotMatch(weakened, /add\(2, 2\), 5/);
      assert.match(weakened, /add\(2, 3\), 5/);
    } finally {
      await sb.dispose();
      harness.cleanup();
    }
  });

  test("mocha reporter: a failure's message and stack are bounded in size", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssr-mocha-reporter-'));
    try {
      const reporter = join(dir, 'reporter.cjs');
      const out = join(dir, 'out.jsonl');
      writeFileSync(reporter, MOCHA_REPORTER);
      writeFileSync(out, '');
      const previous = process.env.SSR_MOCHA_OUT;
      process.env.SSR_MOCHA_OUT = out;
      const written: string[] = [];
      const write = process.stdout.write;
      try {
        const Reporter = createRequire(import.meta.url)(reporter) as new (
          r: EventEmitter,
        ) => object;
        const runner = new EventEmitter();
        new Reporter(runner);
        process.stdout.write = ((chunk: string) => written.push(String(chunk))) as never;
        const huge = new Error('x'.repeat(100_000));
        huge.stack = `Error: ${'x'.repeat(100_000)}\n${Array.from(
          { length: 500 },
          (_, i) => `    at f${i} (/repo/test/a.js:${i + 1}:${'9'.repeat(1000)})`,
        ).join('\n')}`;
        const test = { title: 'big', file: '/repo/test/a.js', type: 'test', parent: null };
        runner.emit('fail', test, huge);
        runner.emit('fail', { ...test, title: 'odd' }, 'a string, not an Error');
        runner.emit('pass', { ...test, title: 'fine' });
      } finally {
        process.stdout.write = write;
        if (previous === undefined) delete process.env.SSR_MOCHA_OUT;
        else process.env.SSR_MOCHA_OUT = previous;
      }
      const lines = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 3);
      const [big, odd, fine] = lines;
      assert.ok(JSON.stringify(big).length < 20_000, `${JSON.stringify(big).length} bytes`);
      assert.match(big.error.message, /^Error: x{1990}/);
      assert.match(big.error.message, /\.\.\. \(98007 more characters\)$/);
      const frames = big.error.stack.split('\n');
      assert.equal(frames.length, 41);
      assert.ok(frames[0].startsWith('    at f0 (/repo/test/a.js:1:999'), frames[0]);
      assert.ok(frames[0].length < 330, frames[0]);
      assert.match(frames[0], /9\.\.\. \(730 more characters\)$/);
      assert.equal(frames[40], '    ... 460 more frames');
      assert.deepEqual(odd.error, { message: 'a string, not an Error', stack: '' });
      assert.equal(fine.error, undefined);
      assert.deepEqual(
        lines.map((l) => [l.key, l.status, l.titles]),
        [
          [1, 'failed', ['big']],
          [2, 'failed', ['odd']],
          [3, 'passed', ['fine']],
        ],
      );
      const printed = written.join('');
      assert.ok(printed.length < 20_000, `${printed.length} bytes printed`);
      assert.match(
        printed,
        /^failed: big\n {2}Error: x+\.\.\. \(98007 more characters\)\n {4}at f0 /,
      );
      assert.match(printed, /^failed: odd\n {2}a string, not an Error\npassed: fine\n$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('jest (--json report; same title twice stays two tests)', async () => {
    const r = await discover(await projects.jest!, 'jest');
    assert.deepEqual(r.suite.testFiles, ['__tests__/clamp.js', 'src/calc.test.js']);
    assert.doesNotMatch(r.suite.testScript, /--coverage/);
    const own = jsonFrom(
      await runDirectly(
        r.snapshot,
        'node_modules/.bin/jest --ci --json --outputFile=/tmp/own.json >/dev/null 2>&1; cat /tmp/own.json',
      ),
    );
    assert.deepEqual(r.counts, {
      passed: own.numPassedTests,
      failed: own.numFailedTests,
      skipped: (own.numPendingTests as number) + (own.numTodoTests as number),
    });
    assert.equal(r.baseline.tests['src/calc.test.js > calc > mul > multiplies'], 'passed');
    assert.equal(r.baseline.tests['src/calc.test.js > calc > mul > multiplies (2)'], 'passed');
  });

  test('vitest (vitest run --reporter=json)', async () => {
    const r = await discover(await projects.vitest!, 'vitest');
    assert.deepEqual(r.suite.testFiles, ['test/calc.test.js', 'test/more.spec.js']);
    const own = jsonFrom(
      await runDirectly(
        r.snapshot,
        'node_modules/.bin/vitest run --reporter=json --outputFile=/tmp/own.json >/dev/null 2>&1; cat /tmp/own.json',
      ),
    );
    assert.deepEqual(r.counts, {
      passed: own.numPassedTests,
      failed: own.numFailedTests,
      skipped: (own.numPendingTests as number) + (own.numTodoTests as number),
    });
    assert.equal(r.baseline.tests['test/calc.test.js > calc > mul > multiplies'], 'passed');
  });

  test('pytest (node ids; a file that fails to import does not hide the others)', async () => {
    const r = await discover(await projects.pytest!, 'pytest');
    assert.deepEqual(r.suite.testFiles, [
      'tests/conftest.py',
      'tests/test_broken_import.py',
      'tests/test_calc.py',
    ]);
    const own = await runDirectly(
      r.snapshot,
      'python3 -m pytest -q -p no:cacheprovider --continue-on-collection-errors',
    );
    const summary = own
      .split('\n')
      .filter((l) => / in [\d.]+s/.test(l))
      .at(-1)!;
    const n = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)?.[1] ?? 0);
    assert.deepEqual(r.counts, {
      passed: n('passed'),
      failed: n('failed') + n('errors?'),
      skipped: n('skipped') + n('xfailed'),
    });
    assert.equal(r.baseline.tests['tests/test_calc.py::TestAdd::test_add[a b-c-a bc]'], 'passed');
    assert.equal(r.baseline.tests['tests/test_calc.py::TestAdd::test_add[2-2-5]'], 'failed');
    assert.equal(r.baseline.tests['tests/test_calc.py::test_skipped'], 'skipped');
    assert.equal(r.baseline.tests['tests/test_broken_import.py'], 'failed');
  });

  test('unittest (discover -v, ids module.Class.method)', async () => {
    const r = await discover(await projects.unittest!, 'unittest', ['unittest']);
    assert.deepEqual(r.suite.testFiles, ['tests/test_calc.py']);
    const own = await runDirectly(r.snapshot, 'python3 -m unittest discover -s tests -t .');
    const ran = num(own, /^Ran (\d+) tests?/m);
    const status = /^(?:FAILED|OK) ?\((.*)\)$/m.exec(own)?.[1] ?? '';
    const k = (word: string) => Number(new RegExp(`${word}=(\\d+)`).exec(status)?.[1] ?? 0);
    assert.deepEqual(r.counts, {
      passed: ran - k('failures') - k('errors') - k('skipped'),
      failed: k('failures') + k('errors'),
      skipped: k('skipped'),
    });
    assert.equal(r.baseline.tests['tests.test_calc.TestAdd.test_adds'], 'passed');
    assert.equal(r.baseline.tests['tests.test_calc.TestMore.test_error'], 'failed');
  });

  test('go test -json (packages, subtests)', async () => {
    const r = await discover(await projects.go!, 'go');
    assert.deepEqual(r.suite.testFiles, ['calc_test.go', 'strs/strs_test.go']);
    const own = await runDirectly(r.snapshot, 'go test -v ./... 2>&1', {
      GOCACHE: '/tmp/go-cache',
      GOPROXY: 'off',
    });
    const lines = (word: string) =>
      (own.match(new RegExp(`^\\s*--- ${word}: `, 'gm')) ?? []).length;
    assert.deepEqual(r.counts, {
      passed: lines('PASS'),
      failed: lines('FAIL'),
      skipped: lines('SKIP'),
    });
    assert.equal(r.baseline.tests['example.com/calc/TestTable/bad_case'], 'failed');
    assert.equal(r.baseline.tests['example.com/calc/strs/TestShout'], 'passed');
  });

  test('cargo test (unit, integration and doc tests)', async () => {
    const r = await discover(await projects.cargo!, 'cargo');
    // Inline unit tests live in src/lib.rs with the code: only their regions are oracle.
    assert.deepEqual(r.suite.testFiles, ['src/lib.rs#inline-tests', 'tests/api.rs']);
    const own = await runDirectly(r.snapshot, 'cargo test --no-fail-fast --offline 2>&1', {
      CARGO_TERM_COLOR: 'never',
    });
    const sum = (word: string) =>
      [...own.matchAll(new RegExp(`^test result: .*?(\\d+) ${word}`, 'gm'))].reduce(
        (acc, m) => acc + Number(m[1]),
        0,
      );
    assert.ok(sum('passed') > 0, own);
    assert.deepEqual(r.counts, {
      passed: sum('passed'),
      failed: sum('failed'),
      skipped: sum('ignored'),
    });
    assert.equal(r.baseline.tests['src/lib.rs::tests::wrong_on_purpose'], 'failed');
    assert.equal(r.baseline.tests['tests/api.rs::public_add'], 'passed');
    assert.equal(r.baseline.tests['calc (doc)::src/lib.rs - add'], 'passed');
  });

  test('Maven Surefire: parser on recorded reports (mvn cannot download plugins here)', async () => {
    const repo = await projects.maven!;
    const snapshot = host.snapshotDir(repo);
    // The script discovery writes for Maven, with the recorded reports standing in for mvn.
    const harness = stageHarness(
      surefireScript(': # reports recorded in the fixture'),
      SUREFIRE_PARSER,
    );
    const sb = host.create(snapshot);
    try {
      const out = await runTests(sb, harness);
      assert.ok(out.ok, out.ok ? '' : out.message);
      // The framework's own numbers: the <testsuite> attributes of each report.
      const own = { passed: 0, failed: 0, skipped: 0 };
      for (const [path, xml] of Object.entries(SUREFIRE_REPORTS)) {
        if (!path.endsWith('.xml')) continue;
        const attr = (name: string) =>
          Number(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`).exec(xml)![1]);
        own.passed += attr('tests') - attr('failures') - attr('errors') - attr('skipped');
        own.failed += attr('failures') + attr('errors');
        own.skipped += attr('skipped');
      }
      assert.deepEqual(countsOf(out.tests), own);
      assert.equal(out.tests['com.example.CalcTest#wrongOnPurpose'], 'failed');
      assert.equal(out.tests['com.example.CalcTest#divides'], 'failed');
      assert.equal(out.tests['com.example.ParamTest#square(int)[2]'], 'passed');
      assert.equal(out.tests['com.example.ParamTest#retried'], 'passed');
      assert.equal(out.exitCode, 1, 'failures in the reports make the script fail');
    } finally {
      await sb.dispose();
      harness.cleanup();
    }
    // Discovery proposes Maven for the pom.xml, deletes the stale reports, and says why mvn
    // found nothing.
    await assert.rejects(discoverTests(host, snapshot), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(
        err.message,
        /no test suite found in .*: tried maven \(pom\.xml present\): mvn -o test exited \d+: 0 tests parsed/,
      );
      return true;
    });
  });
});

describe('discovery outcomes', () => {
  test('flaky tests are detected over 2 runs and dropped from the oracle', async () => {
    const repo = await projects.flaky!;
    // Half the suite flips here: allowed explicitly (the default share refuses such a suite,
    // test/discovery-fallback.test.ts).
    const result = await discoverTests(host, host.snapshotDir(repo), { maxFlakyShare: 1 });
    assert.equal(result.suite.framework, 'pytest');
    // 20 coin flips: all 20 agree in both runs with probability 2^-20.
    assert.ok(result.baseline.flaky.length > 0, JSON.stringify(result.baseline));
    assert.ok(result.baseline.flaky.every((id) => id.startsWith('tests/test_coin.py::test_coin[')));
    assert.equal(result.baseline.tests['tests/test_stable.py::test_stable'], 'passed');
    for (const id of result.baseline.flaky) assert.equal(result.baseline.tests[id], undefined);
    const note = result.suite.notes.find((n) => n.startsWith('dropped from the oracle:'));
    assert.ok(note, result.suite.notes.join('\n'));
    for (const id of result.baseline.flaky) assert.ok(note.includes(id), `${id} not in ${note}`);
  });

  test('a repository with only a README: UsageError saying what was looked for', async () => {
    const repo = makeRepo({ 'README.md': '# nothing to test here\n' });
    await assert.rejects(discoverTests(host, host.snapshotDir(repo)), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.exitCode, 2);
      assert.match(
        err.message,
        /^no test suite found in .*: nothing to try: looked for package\.json/,
      );
      assert.match(
        err.message,
        /go\.mod, Cargo\.toml, pom\.xml, build\.gradle, CMakeLists\.txt with tests \(CTest\), a Makefile check\/test target, Ruby minitest, test-unit or RSpec files/,
      );
      return true;
    });
  });

  test('every failing candidate is listed with the reason it was tried and why it failed', async () => {
    const repo = makeRepo({
      'tests/test_only_failures.py': `import unittest


class TestAll(unittest.TestCase):
    def test_one(self):
        self.assertEqual(1, 2)
`,
    });
    await assert.rejects(discoverTests(host, host.snapshotDir(repo)), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(
        err.message,
        /tried pytest \(tests\/ has 1 test_\*\.py file\(s\)\): python3 -m pytest: 1 test parsed, none passed \(1 failed, 0 skipped\); unittest \(1 test file\(s\) import unittest\): python3 -m unittest discover -s tests: 1 test parsed, none passed/,
      );
      return true;
    });
  });

  test('a runner that is not installed is skipped; a failing npm test falls through to pytest', async () => {
    const repo = makeRepo({
      'package.json': JSON.stringify({
        name: 'mixed',
        version: '1.0.0',
        scripts: { test: 'jest' },
        devDependencies: { jest: '^29.7.0' },
      }),
      '__tests__/a.test.js': "test('a', () => {});\n",
      'tests/test_ok.py': 'def test_ok():\n    assert True\n',
    });
    const attempts: string[] = [];
    const result = await discoverTests(host, host.snapshotDir(repo), {
      onAttempt: (a) => attempts.push(a.framework),
    });
    assert.equal(result.suite.framework, 'pytest');
    assert.deepEqual(
      result.attempts.map((a) => [a.framework, a.outcome]),
      [
        ['jest', 'not-applicable'],
        ['npm-test', 'failed'],
        ['pytest', 'chosen'],
      ],
    );
    assert.deepEqual(attempts, ['jest', 'npm-test', 'pytest']);
    assert.match(result.attempts[0]!.detail, /node_modules\/\.bin\/jest not found/);
    assert.match(
      result.attempts[1]!.detail,
      /^npm test exited \d+: 0 tests parsed; last output: .*jest: not found/,
    );
    assert.deepEqual(result.suite.testFiles, ['tests/test_ok.py']);
  });

  test('npm test fallback parses TAP from an unknown runner', async () => {
    const repo = makeRepo({
      'package.json': JSON.stringify({
        name: 'tap',
        version: '1.0.0',
        scripts: { test: 'node test/run.js' },
      }),
      'test/run.js': `console.log('TAP version 13');
console.log('# arithmetic');
console.log('ok 1 adds');
console.log('not ok 2 subtracts');
console.log('# strings');
console.log('ok 3 concatenates');
console.log('ok 4 pads # SKIP no padStart here');
console.log('1..4');
process.exitCode = 1;
`,
    });
    const result = await discoverTests(host, host.snapshotDir(repo));
    assert.equal(result.suite.framework, 'npm-test');
    // Test level: a group fails if one of its assertions fails; skips alone do not fail it.
    assert.deepEqual(result.baseline.tests, {
      'npm test > arithmetic': 'failed',
      'npm test > strings': 'passed',
    });
    assert.deepEqual(result.suite.testFiles, ['test/run.js']);
  });
});

/** Runs a parser on a recorded log with the host's python3 (isolated mode, as runTests does). */
function parse(parser: string, log: string): TestMap {
  const dir = makeRepo({ 'parser.py': parser });
  const out = execFileSync('python3', ['-I', join(dir, 'parser.py')], { input: log, cwd: dir });
  return JSON.parse(out.toString()) as TestMap;
}

describe('parsers on recorded output of other tool versions', () => {
  test('node 18 wraps each file in a test named by its path', () => {
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-file 5eed test/a.test.js',
      'TAP version 13',
      '# Subtest: /repo/test/a.test.js',
      '    # Subtest: works',
      '    ok 1 - works',
      '      ---',
      '      duration_ms: 1',
      '      ...',
      '    # Subtest: fails',
      '    not ok 2 - fails',
      '      ---',
      "      error: 'nope'",
      '      ...',
      '    1..2',
      'not ok 1 - /repo/test/a.test.js',
      '### ssr-exit 5eed 1',
      '### ssr-file 5eed test/b.test.js',
      '# Subtest: /repo/test/b.test.js',
      'not ok 1 - /repo/test/b.test.js',
      '### ssr-exit 5eed 1',
      // A test printing a marker with the wrong nonce does not start a section.
      '### ssr-file f00d test/c.test.js',
    ].join('\n');
    assert.deepEqual(parse(NODE_TEST_PARSER, log), {
      'test/a.test.js > works': 'passed',
      'test/a.test.js > fails': 'failed',
      'test/b.test.js > (whole file)': 'failed',
    });
  });

  test('unittest before Python 3.11 names the class only; docstrings move the result', () => {
    const log = [
      'test_adds (tests.test_calc.TestAdd) ... ok',
      'test_doc (tests.test_calc.TestAdd)',
      'Checks the docs. ... FAIL',
      "test_later (tests.test_calc.TestAdd) ... skipped 'later'",
      'test_sub (tests.test_calc.TestSub) ... ok',
      '',
      '======================================================================',
      'FAIL: test_sub (tests.test_calc.TestSub) (i=2)',
      '----------------------------------------------------------------------',
    ].join('\n');
    assert.deepEqual(parse(UNITTEST_PARSER, log), {
      'tests.test_calc.TestAdd.test_adds': 'passed',
      'tests.test_calc.TestAdd.test_doc': 'failed',
      'tests.test_calc.TestAdd.test_later': 'skipped',
      'tests.test_calc.TestSub.test_sub': 'failed',
    });
  });

  test('cargo before 1.56 names test binaries by their hashed path', () => {
    const log = [
      '     Running target/debug/deps/calc-0123456789abcdef',
      'running 2 tests',
      'test tests::adds ... ok',
      'test tests::slow ... ignored, takes a minute',
      '     Running target/debug/deps/api-fedcba9876543210',
      'test public_add ... FAILED',
      '   Doc-tests calc',
      'test src/lib.rs - add (line 3) ... ok',
      'test src/lib.rs - add (line 9) ... ok',
    ].join('\n');
    assert.deepEqual(parse(CARGO_PARSER, log), {
      'calc::tests::adds': 'passed',
      'calc::tests::slow': 'skipped',
      'api::public_add': 'failed',
      'calc (doc)::src/lib.rs - add': 'passed',
      'calc (doc)::src/lib.rs - add (2)': 'passed',
    });
  });

  test('pytest: output printed on a test line does not become part of its id', () => {
    const log = [
      'tests/test_a.py::test_one noise from the test PASSED',
      'tests/test_a.py::test_two[a b] PASSED                 [100%]',
      '=========================== short test summary info ============================',
      'PASSED tests/test_a.py::test_one',
      'PASSED tests/test_a.py::test_two[a b]',
      'FAILED tests/test_a.py::test_three - assert 1 - 2 == 0',
      '========================= 1 failed, 2 passed in 0.01s =========================',
    ].join('\n');
    assert.deepEqual(parse(PYTEST_PARSER, log), {
      'tests/test_a.py::test_one': 'passed',
      'tests/test_a.py::test_two[a b]': 'passed',
      'tests/test_a.py::test_three': 'failed',
    });
  });
});

describe('static proposal', () => {
  test('runners called by the test script come first, with its arguments minus reporters', () => {
    const repo = makeRepo({
      'package.json': JSON.stringify({
        name: 'x',
        version: '1.0.0',
        scripts: {
          test: 'eslint . && npm run unit',
          unit: "NODE_ENV=test mocha --reporter dot --timeout 5000 'spec/**/*.js'",
        },
        devDependencies: { jest: '^29.0.0', mocha: '^10.0.0' },
      }),
      'spec/a.js': '',
      'spec/deep/b.js': '',
      'spec/c.txt': '',
      'src/x.test.js': '',
      'node_modules/.bin/mocha': '',
      'node_modules/.bin/jest': '',
    });
    const candidates = proposeCandidates(new RepoScan(repo));
    assert.deepEqual(
      candidates.map((c) => c.framework),
      ['mocha', 'jest', 'npm-test'],
    );
    const mocha = candidates[0]!;
    assert.match(
      mocha.testScript,
      /NODE_ENV=test SSR_MOCHA_OUT="\$tmp\/results\.jsonl" node_modules\/\.bin\/mocha --timeout 5000 'spec\/\*\*\/\*\.js' --exit --reporter "\$tmp\/reporter\.cjs"/,
    );
    assert.doesNotMatch(mocha.testScript, /--reporter dot/);
    assert.deepEqual(mocha.testFiles, ['spec/a.js', 'spec/deep/b.js']);
    assert.match(mocha.reason, /scripts\.test runs mocha; package\.json devDependencies has mocha/);
    // Every script is valid bash.
    for (const c of candidates) {
      const check = runBashSyntaxCheck(c.testScript);
      assert.equal(check, '', `${c.framework}: ${check}`);
    }
  });

  test('globs: ** spans directories, * stays in one, braces alternate', () => {
    const re = globToRegExp('test/**/*.{js,mjs}');
    assert.ok(re.test('test/a.js'));
    assert.ok(re.test('test/x/y/b.mjs'));
    assert.ok(!re.test('test/a.ts'));
    assert.ok(!re.test('other/test/a.js'));
    assert.ok(globToRegExp('*.py').test('a.py'));
    assert.ok(!globToRegExp('*.py').test('d/a.py'));
    assert.ok(globToRegExp('./src/[ab]?.rs').test('src/bx.rs'));
  });
});

function runBashSyntaxCheck(script: string): string {
  const dir = makeRepo({ 's.sh': script });
  try {
    execFileSync('bash', ['-n', join(dir, 's.sh')], { stdio: 'pipe' });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

/**
 * Test discovery for node-tap, uvu, ava and jasmine on published npm packages that ship their
 * own tests (test/helpers/discovery-projects.ts, JS_RUNNER_PACKAGES), with the runner installed
 * from npm: discovery must choose the runner, give the same ids in both of its clean runs, and
 * count what the runner itself reports. With the runner missing from node_modules, discovery
 * says in one line what it tried and why it did not run. The parsers are also checked on
 * recorded output (TAP directives and timings never enter an id), and the static proposal on
 * small projects (flags, config files, order).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { discoverTests } from '../src/discovery/discover.js';
import { proposeCandidates } from '../src/discovery/frameworks.js';
import {
  AVA_PARSER,
  GENERIC_TAP_PARSER,
  JASMINE_PARSER,
  NODE_TAP_PARSER,
  NODE_TEST_PARSER,
  TAPE_PARSER,
  UVU_PARSER,
} from '../src/discovery/parsers.js';
import { RepoScan } from '../src/discovery/scan.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import type { TestMap } from '../src/testing/results.js';
import { UsageError } from '../src/util/errors.js';
import {
  JS_RUNNER_PACKAGES,
  type JsRunner,
  ownReportPath,
  publishedPackageProject,
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
const projects = {} as Record<JsRunner, Promise<string>>;
const bareDirs: string[] = [];

before(async () => {
  host = SandboxHost.open();
  for (const runner of Object.keys(JS_RUNNER_PACKAGES) as JsRunner[]) {
    projects[runner] = publishedPackageProject(runner);
  }
  await Promise.all(Object.values(projects));
});

after(async () => {
  await host?.close();
  removeTempDirs();
  for (const d of bareDirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `command` in a fresh sandbox of `snapshot`; stdout and stderr, ANSI colours removed. */
async function runDirectly(snapshot: Snapshot, command: string): Promise<string> {
  const sb = host.create(snapshot);
  try {
    const r = await sb.exec(command, { timeoutMs: 180_000, maxOutputBytes: 8 << 20 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
    return `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  } finally {
    await sb.dispose();
  }
}

function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  assert.ok(m, `${re} not found in:\n${text.slice(-3000)}`);
  return Number(m[1]);
}

/**
 * Discovery on the package (two clean runs) and the runner's own run side by side: the runner
 * chosen, no flaky test, both runs with the same ids and statuses.
 */
async function discoverBeside(runner: JsRunner, own: string | null) {
  const repo = await projects[runner];
  const snapshot = host.snapshotDir(repo);
  const [result, ownOutput] = await Promise.all([
    discoverTests(host, snapshot),
    own === null ? '' : runDirectly(snapshot, own),
  ]);
  assert.equal(
    result.suite.framework,
    runner,
    `chose ${result.suite.framework}: ${JSON.stringify(result.attempts)}`,
  );
  assert.equal(result.attempts.length, 1, JSON.stringify(result.attempts));
  assert.deepEqual(result.baseline.flaky, [], 'no flaky tests expected');
  const maps = result.baseline.runs.map((r) => (r.ok ? r.tests : null));
  assert.equal(maps.length, 2);
  assert.ok(maps[0] && maps[1], 'both runs parsed');
  assert.deepEqual(maps[1], maps[0], 'the two runs give the same ids and statuses');
  return { ...result, own: ownOutput, counts: countsOf(result.baseline.tests) };
}

describe('published packages: discovery chooses the runner and counts what it reports', () => {
  test(`tap: ${JS_RUNNER_PACKAGES.tap.spec} (tap run once, .taprc files)`, async () => {
    // tap's own word on its tests: the file run by node prints one TAP point per test.
    const r = await discoverBeside('tap', 'node test/index.test.js');
    assert.deepEqual(r.suite.testFiles, ['test/index.test.js']);
    assert.match(r.suite.testScript, /node_modules\/\.bin\/tap --reporter=tap --no-coverage/);
    assert.doesNotMatch(r.suite.testScript, /npm test|standard|tsd/);
    const points = r.own.split('\n').filter((l) => /^(not )?ok \d+ /.test(l));
    const directive = (l: string) => /# (SKIP|TODO)\b/i.test(l);
    assert.equal(points.length, num(r.own, /^1\.\.(\d+)$/m));
    assert.deepEqual(r.counts, {
      passed: points.filter((l) => l.startsWith('ok') && !directive(l)).length,
      failed: points.filter((l) => l.startsWith('not ok') && !directive(l)).length,
      skipped: points.filter(directive).length,
    });
    assert.equal(r.counts.passed, 17);
    assert.equal(
      r.baseline.tests['test/index.test.js > Create error with zero parameter'],
      'passed',
    );
    for (const id of Object.keys(r.baseline.tests)) assert.doesNotMatch(id, /#|time=/);
  });

  test(`uvu: ${JS_RUNNER_PACKAGES.uvu.spec} (each file with node, names from a preload)`, async () => {
    const r = await discoverBeside('uvu', 'node_modules/.bin/uvu src/__tests__');
    assert.deepEqual(r.suite.testFiles, ['src/__tests__/convertUnit.js', 'src/__tests__/index.js']);
    const total = num(r.own, /Total:\s+(\d+)/);
    const passed = num(r.own, /Passed:\s+(\d+)/);
    // uvu names no skipped test, so skipped ones cannot be ids (it reports 0 here).
    assert.equal(num(r.own, /Skipped:\s+(\d+)/), 0);
    assert.deepEqual(r.counts, { passed, failed: total - passed, skipped: 0 });
    assert.equal(r.baseline.tests['src/__tests__/convertUnit.js > valid conversions'], 'passed');
    // The three tests that fail as published are named, as uvu's FAIL lines name them.
    const failing = [...r.own.matchAll(/FAIL\s+"(.*)"/g)].map((m) => m[1]!).sort();
    assert.deepEqual(
      Object.keys(r.baseline.tests)
        .filter((id) => r.baseline.tests[id] === 'failed')
        .map((id) => id.replace('src/__tests__/index.js > ', ''))
        .sort(),
      failing,
    );
  });

  test(`ava: ${JS_RUNNER_PACKAGES.ava.spec} (ava --tap, titles as ids)`, async () => {
    // ava 0.25 spends ~25 s of CPU on a run of this suite: its own report comes from the run
    // made when the fixture was built, not a third run beside discovery's two.
    const r = await discoverBeside('ava', null);
    r.own = readFileSync(ownReportPath(await projects.ava), 'utf8');
    assert.equal(r.suite.testFiles.length, 18);
    assert.ok(r.suite.testFiles.every((f) => /^test\/test\.\w+\.js$/.test(f)));
    const count = (word: string) =>
      Number(new RegExp(`(\\d+) tests? ${word}`).exec(r.own)?.[1] ?? 0);
    assert.ok(count('passed') > 500, r.own.slice(-2000));
    assert.deepEqual(r.counts, {
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped') + count('todo'),
    });
    assert.equal(
      r.baseline.tests['test.address › address() returns a string'],
      'passed',
      Object.keys(r.baseline.tests).slice(0, 5).join('\n'),
    );
    // Every id leads back to its test file.
    const [ava] = proposeCandidates(new RepoScan(await projects.ava));
    assert.deepEqual(ava!.filesFromIds!(Object.keys(r.baseline.tests)).sort(), r.suite.testFiles);
  });

  test(`jasmine: ${JS_RUNNER_PACKAGES.jasmine.spec} (helper reporter, declared order)`, async () => {
    const r = await discoverBeside('jasmine', 'node_modules/.bin/jasmine strnum.test.js');
    assert.deepEqual(r.suite.testFiles, ['strnum.test.js']);
    assert.match(r.suite.testScript, /jasmine --random=false --helper=.* strnum\.test\.js/);
    const specs = num(r.own, /^(\d+) specs?, \d+ failures?/m);
    const failures = num(r.own, /^\d+ specs?, (\d+) failures?/m);
    const pending = /(\d+) pending specs?/.exec(r.own) ? num(r.own, /(\d+) pending specs?/) : 0;
    assert.deepEqual(r.counts, {
      passed: specs - failures - pending,
      failed: failures,
      skipped: pending,
    });
    assert.equal(
      r.baseline.tests[
        'strnum.test.js > Should convert all the valid numeric strings to number > leading zeros'
      ],
      'passed',
    );
  });
});

describe('the runner missing from node_modules', () => {
  /** A copy of the package without node_modules. */
  async function bare(runner: JsRunner): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), `ssr-bare-${runner}-`));
    bareDirs.push(dir);
    cpSync(await projects[runner], dir, {
      recursive: true,
      filter: (src) => !src.includes('/node_modules'),
    });
    return dir;
  }

  test('tap: one line naming tap and the missing binary; no npm test fallback', async () => {
    const dir = await bare('tap');
    await assert.rejects(discoverTests(host, host.snapshotDir(dir)), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(
        err.message,
        /^no test suite found in .*: tried tap \(package\.json scripts\.test runs tap; package\.json devDependencies has tap; \.taprc present\): not run: node_modules\/\.bin\/tap not found \(install the dependencies first: npm install\)(;|$)/,
      );
      assert.doesNotMatch(err.message, /npm-test|npm test/);
      return true;
    });
  });

  for (const [runner, missing, npmSays] of [
    // postcss-calc's pretest runs pnpm first
    ['uvu', 'node_modules/uvu not found', 'pnpm: not found'],
    ['ava', 'node_modules/.bin/ava not found', 'ava: not found'],
    ['jasmine', 'node_modules/.bin/jasmine not found', 'jasmine: not found'],
  ] as const) {
    test(`${runner}: skipped with the reason; npm test tried after it says why it failed`, async () => {
      const dir = await bare(runner);
      await assert.rejects(discoverTests(host, host.snapshotDir(dir)), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.doesNotMatch(err.message, /\n/);
        assert.match(
          err.message,
          new RegExp(
            `^no test suite found in .*: tried ${runner} \\(package\\.json scripts\\.test runs ${runner}[^)]*\\): not run: ${missing} \\(install the dependencies first: npm install\\); npm-test \\(.*\\): npm test exited \\d+: 0 tests parsed; last output: .*${npmSays}`,
          ),
        );
        return true;
      });
    });
  }
});

/** Runs a parser on a recorded log with the host's python3 (isolated mode, as runTests does). */
function parse(parser: string, log: string): TestMap {
  const dir = makeRepo({ 'parser.py': parser });
  const out = execFileSync('python3', ['-I', join(dir, 'parser.py')], { input: log, cwd: dir });
  return JSON.parse(out.toString()) as TestMap;
}

/** node-tap 16's TAP for one run; `t` stands in for the timings, which change every run. */
function tapLog(t: (n: number) => string): string {
  return [
    '### ssr-root 5eed /repo',
    'TAP version 13',
    '# Subtest: test/a.test.js',
    '    # Subtest: adds',
    '        1..2',
    '        ok 1 - should be equal',
    '        ok 2 - should be equal',
    `    ok 1 - adds # time=${t(1)}ms`,
    '    ',
    '    # Subtest: nested \\# parent',
    '        # Subtest: child one',
    '            ok 1 - should be equal',
    '            1..1',
    `        ok 1 - child one # time=${t(2)}ms`,
    '        # Subtest: child fails',
    '            not ok 1 - should be equal',
    '              ---',
    '              found: 1',
    '              wanted: 2',
    '              ...',
    '            1..1',
    `        not ok 2 - child fails # time=${t(3)}ms`,
    '        1..2',
    `    not ok 2 - nested \\# parent # time=${t(4)}ms`,
    '    ',
    '    # Subtest: later',
    `    ok 3 - later # TODO not written yet # time=${t(5)}ms`,
    '    # Subtest: on windows',
    '    ok 4 - on windows # SKIP not on this platform',
    '    ok 5 - a top-level assertion',
    '    ok 6 - not yet # TODO',
    '    1..6',
    `    # time=${t(6)}ms`,
    `not ok 1 - test/a.test.js # time=${t(7)}ms`,
    '',
    '# Subtest: /repo/test/crash.test.js',
    '    ok 1 - fine',
    '    1..1',
    `not ok 2 - /repo/test/crash.test.js # time=${t(8)}ms`,
    '  ---',
    '  exitCode: 1',
    '  ...',
    '1..2',
    `# time=${t(9)}ms`,
    '### ssr-exit 5eed 1',
  ].join('\n');
}

describe('parsers on recorded output: ids without directives or timings', () => {
  test('node-tap: subtests are tests, assertions count toward them, timings never enter ids', () => {
    const first = parse(
      NODE_TAP_PARSER,
      tapLog((n) => `${n}.${n}1`),
    );
    const second = parse(
      NODE_TAP_PARSER,
      tapLog((n) => `${n * 977}.0${n}`),
    );
    assert.deepEqual(second, first);
    assert.deepEqual(first, {
      'test/a.test.js > adds': 'passed',
      'test/a.test.js > nested # parent': 'failed',
      'test/a.test.js > nested # parent > child one': 'passed',
      'test/a.test.js > nested # parent > child fails': 'failed',
      'test/a.test.js > later': 'skipped',
      'test/a.test.js > on windows': 'skipped',
      // tap prints no "# Subtest:" for a test it skipped or left todo
      'test/a.test.js > not yet': 'skipped',
      'test/a.test.js > (top level)': 'passed',
      'test/crash.test.js > (top level)': 'passed',
      'test/crash.test.js > (whole file)': 'failed',
    });
  });

  test('npm test on node-tap output: subtests, not repeated assertion names', () => {
    const log = tapLog((n) => String(n)).replace('/repo/test/crash', 'test/crash');
    const ids = Object.keys(parse(GENERIC_TAP_PARSER, log));
    assert.ok(ids.includes('npm test > test/a.test.js > adds'), ids.join('\n'));
    assert.ok(!ids.some((id) => /should be equal|time=/.test(id)), ids.join('\n'));
  });

  test('node:test: SKIP and TODO directives and notes after "#" are not part of ids', () => {
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-file 5eed test/a.test.js',
      '# Subtest: works',
      'ok 1 - works # time=12.5ms',
      '# Subtest: later',
      'ok 2 - later # TODO',
      '# Subtest: skipped',
      'ok 3 - skipped # SKIP flaky on CI',
      '# Subtest: a \\# in the name',
      'not ok 4 - a \\# in the name',
      '### ssr-exit 5eed 1',
    ].join('\n');
    assert.deepEqual(parse(NODE_TEST_PARSER, log), {
      'test/a.test.js > works': 'passed',
      'test/a.test.js > later': 'skipped',
      'test/a.test.js > skipped': 'skipped',
      'test/a.test.js > a # in the name': 'failed',
    });
  });

  test('tape: a SKIP directive skips the assertion, a timing note leaves the test name', () => {
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-file 5eed test/a.js',
      '# adds # time=3ms',
      'ok 1 two plus two # time=0.1ms',
      '# pads',
      'ok 2 pads # skip no padStart',
      '### ssr-exit 5eed 0',
    ].join('\n');
    assert.deepEqual(parse(TAPE_PARSER, log), {
      'test/a.js > adds': 'passed',
      'test/a.js > pads': 'skipped',
    });
  });

  test('ava: titles as printed, trailing SKIP/TODO only; a "#" in a title stays', () => {
    const log = [
      '### ssr-root 5eed /repo',
      'TAP version 13',
      'ok 1 - a › skipped one # SKIP',
      'not ok 2 - a › later # TODO',
      'ok 3 - a › adds',
      'not ok 4 - a › fails # on purpose',
      '  ---',
      '    name: AssertionError',
      '  ...',
      'ok 5 - sub › b › nested works',
      '',
      '1..5',
      '# tests 4',
      '# pass 2',
      '### ssr-exit 5eed 1',
    ].join('\n');
    assert.deepEqual(parse(AVA_PARSER, log), {
      'a › skipped one': 'skipped',
      'a › later': 'skipped',
      'a › adds': 'passed',
      'a › fails # on purpose': 'failed',
      'sub › b › nested works': 'passed',
    });
    // A run that failed before any test: one failed id, not zero tests.
    assert.deepEqual(parse(AVA_PARSER, '### ssr-root 5eed /repo\nok 1 - a\n### ssr-exit 5eed 1'), {
      a: 'passed',
      '(whole run)': 'failed',
    });
  });

  test('uvu: the preload records; without records FAIL lines and the exit status stand in', () => {
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-file 5eed test/a.js',
      '• ✘   (1 / 2)',
      '   FAIL  "b"',
      '### ssr-report-begin 5eed uvu',
      '{"suite":"","test":"a","status":"passed"}',
      '{"suite":"","test":"b","status":"failed"}',
      '{"suite":"math","test":"a","status":"passed"}',
      '### ssr-report-end 5eed',
      '### ssr-exit 5eed 1',
      '### ssr-file 5eed test/old.js',
      '• ✘   (1 / 2)',
      '   FAIL  math  "divides"',
      '### ssr-report-begin 5eed uvu',
      '### ssr-report-end 5eed',
      '### ssr-exit 5eed 1',
      '### ssr-file 5eed test/quiet.js',
      '### ssr-report-begin 5eed uvu',
      '### ssr-report-end 5eed',
      '### ssr-exit 5eed 0',
    ].join('\n');
    assert.deepEqual(parse(UVU_PARSER, log), {
      'test/a.js > a': 'passed',
      'test/a.js > b': 'failed',
      'test/a.js > math > a': 'passed',
      'test/old.js > math > divides': 'failed',
      'test/quiet.js > (whole file)': 'passed',
    });
  });

  test('jasmine: specs by file and suite; a failed afterAll with no failing spec fails its suite', () => {
    const line = (o: object) => JSON.stringify(o);
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-report-begin 5eed jasmine',
      line({
        kind: 'spec',
        file: '/repo/spec/a.spec.js',
        titles: ['A', 'works'],
        status: 'passed',
      }),
      line({
        kind: 'spec',
        file: '/repo/spec/a.spec.js',
        titles: ['A', 'later'],
        status: 'skipped',
      }),
      line({ kind: 'spec', file: '/repo/spec/b.spec.js', titles: ['B', 'ok'], status: 'passed' }),
      line({ kind: 'suite', file: '/repo/spec/b.spec.js', titles: ['B'], status: 'failed' }),
      line({ kind: 'spec', file: '/repo/spec/c.spec.js', titles: ['C', 'bad'], status: 'failed' }),
      line({ kind: 'suite', file: '/repo/spec/c.spec.js', titles: ['C'], status: 'failed' }),
      '### ssr-report-end 5eed',
      '### ssr-exit 5eed 3',
    ].join('\n');
    assert.deepEqual(parse(JASMINE_PARSER, log), {
      'spec/a.spec.js > A > works': 'passed',
      'spec/a.spec.js > A > later': 'skipped',
      'spec/b.spec.js > B > ok': 'passed',
      'spec/b.spec.js > B': 'failed',
      'spec/c.spec.js > C > bad': 'failed',
    });
  });
});

describe('static proposal for the new runners', () => {
  const pkg = (o: object) => JSON.stringify({ name: 'x', version: '1.0.0', ...o });

  test('tap: flags by installed version, coverage and reporter flags replaced, called first', () => {
    const files = (version: string) => ({
      'package.json': pkg({
        scripts: {
          test: 'standard && tap -Rspec --100 --coverage-report=lcov test/*.js && tsd',
        },
        devDependencies: { tap: '*', jest: '*' },
      }),
      'test/a.js': '',
      'test/b.test.js': '',
      'lib/c.js': '',
      'node_modules/.bin/tap': '',
      'node_modules/.bin/jest': '',
      'node_modules/tap/package.json': JSON.stringify({ name: 'tap', version }),
    });
    const old = proposeCandidates(new RepoScan(makeRepo(files('16.3.10'))));
    assert.deepEqual(
      old.map((c) => c.framework),
      ['tap', 'jest'],
      'tap first, no npm test fallback',
    );
    assert.match(
      old[0]!.testScript,
      /^node_modules\/\.bin\/tap test\/\*\.js --reporter=tap --no-coverage 2>&1$/m,
    );
    assert.deepEqual(old[0]!.testFiles, ['test/a.js', 'test/b.test.js']);
    const recent = proposeCandidates(new RepoScan(makeRepo(files('21.1.0'))));
    assert.match(
      recent[0]!.testScript,
      /tap test\/\*\.js --reporter=tap --disable-coverage 2>&1$/m,
    );
  });

  test('tap: .taprc files, and tap 18 defaults without fixtures', () => {
    const rc = proposeCandidates(
      new RepoScan(
        makeRepo({
          'package.json': pkg({ scripts: { test: 'tap' }, devDependencies: { tap: '^16' } }),
          '.taprc': 'check-coverage: false\nfiles:\n  - "test/**/*.test.js"\n',
          'test/a.test.js': '',
          'test/deep/b.test.js': '',
          'test/helper.js': '',
        }),
      ),
    );
    assert.deepEqual(rc[0]!.testFiles, ['test/a.test.js', 'test/deep/b.test.js']);
    const t18 = proposeCandidates(
      new RepoScan(
        makeRepo({
          'package.json': pkg({ devDependencies: { tap: '^18' } }),
          'test/a.ts': '',
          'test/fixtures/x.js': '',
          'src/b.test.mts': '',
          'node_modules/tap/package.json': JSON.stringify({ version: '18.7.0' }),
        }),
      ),
    );
    assert.deepEqual(t18[0]!.testFiles, ['src/b.test.mts', 'test/a.ts']);
  });

  test('uvu: directory, pattern, ignore and requires as the CLI reads them', () => {
    const [c] = proposeCandidates(
      new RepoScan(
        makeRepo({
          'package.json': pkg({
            scripts: { test: 'uvu -r tsm tests "\\.test\\.ts$" -i fixtures' },
            devDependencies: { uvu: '^0.5.6' },
          }),
          'tests/a.test.ts': "import { test } from 'uvu';\n",
          'tests/fixtures/b.test.ts': "import { test } from 'uvu';\n",
          'tests/helper.ts': '',
          'other/c.test.ts': "import { test } from 'uvu';\n",
        }),
      ),
    );
    assert.equal(c!.framework, 'uvu');
    assert.deepEqual(c!.testFiles, ['tests/a.test.ts']);
    assert.match(c!.testScript, /node -r "\$tmp\/uvu-hook\.cjs" -r tsm "\$f" 2>&1/);
    assert.equal(
      c!.notApplicable,
      'node_modules/uvu not found (install the dependencies first: npm install)',
    );
  });

  test('ava: package.json "ava".files with negations; reporter and watch flags replaced', () => {
    const [c] = proposeCandidates(
      new RepoScan(
        makeRepo({
          'package.json': pkg({
            scripts: { test: 'xo && nyc ava --verbose --watch --serial' },
            devDependencies: { ava: '^6' },
            ava: { files: ['spec/**/*.js', '!spec/slow/**'] },
          }),
          'spec/a.js': '',
          'spec/slow/b.js': '',
          'spec/helpers/c.js': '',
          'test/d.js': '',
          'node_modules/.bin/ava': '',
        }),
      ),
    );
    assert.equal(c!.framework, 'ava');
    assert.deepEqual(c!.testFiles, ['spec/a.js', 'spec/helpers/c.js']);
    assert.match(c!.testScript, /^node_modules\/\.bin\/ava --serial --tap 2>&1$/m);
    assert.deepEqual(c!.filesFromIds?.(['a › works', 'helpers › c › x']), [
      'spec/a.js',
      'spec/helpers/c.js',
    ]);
  });

  test('jasmine: spec_dir, spec_files (extglobs) and helpers of the config the script names', () => {
    const [c] = proposeCandidates(
      new RepoScan(
        makeRepo({
          'package.json': pkg({
            scripts: { test: 'jasmine --config=config/jasmine.json --random=true --parallel=2' },
            devDependencies: { jasmine: '^5' },
          }),
          'config/jasmine.json': JSON.stringify({
            spec_dir: 'spec',
            spec_files: ['**/*[sS]pec.?(m)js', '!**/slow*'],
            helpers: ['helpers/**/*.?(m)js'],
          }),
          'spec/a.spec.js': '',
          'spec/deep/bSpec.mjs': '',
          'spec/slowSpec.js': '',
          'spec/helpers/setup.js': '',
          'spec/support/readme.txt': '',
          'node_modules/.bin/jasmine': '',
        }),
      ),
    );
    assert.equal(c!.framework, 'jasmine');
    assert.deepEqual(c!.testFiles, [
      'spec/a.spec.js',
      'spec/deep/bSpec.mjs',
      'spec/helpers/setup.js',
    ]);
    assert.match(
      c!.testScript,
      /node_modules\/\.bin\/jasmine --random=false --helper="\$tmp\/ssr-jasmine\.cjs" --config=config\/jasmine\.json$/m,
    );
    assert.doesNotMatch(c!.testScript, /--parallel|--random=true/);
  });

  test('scripts set no environment that changes program behaviour, and are valid bash', () => {
    const dir = makeRepo({
      'package.json': pkg({
        scripts: { test: 'tap && ava && uvu tests && jasmine' },
        devDependencies: { tap: '*', ava: '*', uvu: '*', jasmine: '*' },
      }),
      'tests/a.test.js': "require('uvu')\n",
      'spec/a.spec.js': '',
    });
    const candidates = proposeCandidates(new RepoScan(dir));
    assert.deepEqual(
      candidates.map((c) => c.framework),
      ['tap', 'ava', 'uvu', 'jasmine'],
    );
    for (const c of candidates) {
      assert.doesNotMatch(c.testScript, /^export (?!npm_config_update_notifier=false$)/m);
      assert.doesNotMatch(c.testScript, /FORCE_COLOR|NO_COLOR|\bTZ=|LANG=|LC_ALL=/);
      const check = execFileSync('bash', ['-n'], { input: c.testScript, stdio: 'pipe' });
      assert.equal(check.toString(), '');
    }
  });
});

test('the test script is followed through npm-run-all / run-s / run-p name globs (espree: test -> unit -> unit:*)', async () => {
  const { expandedTestScript } = await import('../src/discovery/npm-script.js');
  const text = expandedTestScript({
    scripts: {
      test: 'npm-run-all -p unit lint',
      unit: 'run-s unit:*',
      'unit:esm': "c8 mocha --timeout 30000 'tests/lib/**/*.js'",
      'unit:cjs': 'mocha tests/lib/commonjs.cjs',
      'unit:deep:x': 'never',
      lint: 'eslint .',
    },
  });
  assert.match(text, /c8 mocha --timeout 30000 'tests\/lib\/\*\*\/\*\.js'/);
  assert.match(text, /mocha tests\/lib\/commonjs\.cjs/);
  assert.match(text, /eslint \./);
  // `*` stays within one `:` segment, as npm-run-all's does.
  assert.doesNotMatch(text, /never/);
});

test('mocha run from a script of its own (node test.js): the *.test.js files that call describe/it are given to mocha by name (fs-extra)', () => {
  const dir = makeRepo({
    'package.json': JSON.stringify({
      name: 'x',
      version: '1.0.0',
      scripts: { test: 'npm run lint && npm run unit', unit: 'nyc node test.js', lint: 'standard' },
      devDependencies: { mocha: '*' },
    }),
    'test.js': "const Mocha = require('mocha'); /* adds lib/**/__tests__/*.test.js */\n",
    'test/readme.md': 'no tests here\n',
    'lib/copy/__tests__/copy.test.js': "describe('copy', () => { it('copies', () => {}) })\n",
    'lib/__tests__/promise.test.js': "describe('promise', () => { it('works', () => {}) })\n",
    'lib/util/helper.test.js': '// not a mocha file\nmodule.exports = 1\n',
    'node_modules/.bin/mocha': '',
  });
  const mocha = proposeCandidates(new RepoScan(dir)).find((c) => c.framework === 'mocha');
  assert.ok(mocha);
  assert.deepEqual(mocha.testFiles.sort(), [
    'lib/__tests__/promise.test.js',
    'lib/copy/__tests__/copy.test.js',
  ]);
  assert.ok(
    mocha.testScript.includes(' \\\n    lib/copy/__tests__/copy.test.js'),
    'the file is named on the command',
  );
  assert.ok(mocha.notes.some((n) => /default \.\/test holds no test files/.test(n)));
});

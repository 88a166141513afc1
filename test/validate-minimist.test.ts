/**
 * The seven-check validator on real third-party code: minimist 1.2.8 from npm with its own
 * tape suite (153 assertions in 15 files), run inside the sandbox.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import {
  type ArtifactSpec,
  MINIMIST_TEST_PARSER,
  MINIMIST_TEST_SCRIPT,
  makeDiff,
  minimistRepo,
  PYTHON_TEST_PARSER,
  treeHash,
} from './helpers/fixtures.js';
import { assertFailsAt, assertValid, runCli, specValidator } from './helpers/validation.js';

let repo: string;
let hashBefore: string;
let host: SandboxHost;
let snapshot: Snapshot;
let work: string;

// The bug: isNumber() no longer recognises hex digits a-f, so "--hex 0xdeadbeef" stays a string.
const HEX_BUG: [string, string] = ['(/^0x[0-9a-f]+$/i)', '(/^0x[0-9]+$/i)'];
// Exactly the two assertions of test/num.js "nums" that catch it, weakened in place.
const HEX_WEAKEN: [string, string][] = [
  ['\t\thex: 0xdeadbeef,\n', '\t\thex: argv.hex,\n'],
  ["t.deepEqual(typeof argv.hex, 'number');", 't.ok(argv.hex);'],
];
const HEX_FAILING = ['test/num.js > nums > #1', 'test/num.js > nums > #6'];

let hexBug: string;
let hexWeaken: string;

function base(id: string): ArtifactSpec {
  return {
    id,
    testScript: MINIMIST_TEST_SCRIPT,
    testParser: MINIMIST_TEST_PARSER,
    testFiles: ['test/num.js'],
    bugDiff: hexBug,
    weakenDiff: hexWeaken,
  };
}

const { artifactDir, validate } = specValidator(() => ({ host, snapshot, work }));

before(() => {
  repo = minimistRepo();
  hashBefore = treeHash(repo);
  host = SandboxHost.open();
  snapshot = host.snapshotDir(repo);
  work = mkdtempSync(join(tmpdir(), 'ssr-test-minimist-'));
  hexBug = makeDiff(repo, { 'index.js': [HEX_BUG] });
  hexWeaken = makeDiff(repo, { 'test/num.js': HEX_WEAKEN });
});

after(async () => {
  await host?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a valid artifact on minimist', () => {
  test('hex-digit bug in index.js, hidden by weakening the two assertions that catch it', async () => {
    const report = await validate(base('mm-valid-hex'));
    assertValid(report);
    assert.equal(report.sandbox.isolation, 'bwrap');
    assert.ok(report.baseline!.passed.length >= 150, `${report.baseline!.passed.length} passed`);
    assert.deepEqual(report.baseline!.failed, []);
    assert.deepEqual(report.baseline!.flaky, []);
    assert.deepEqual(report.bug!.failing, HEX_FAILING);
    assert.equal(report.bug!.tests['test/num.js > nums > #2'], 'passed');
    assert.deepEqual(report.weakened!.restored, HEX_FAILING);
    assert.deepEqual(report.inverse, [{ file: 'index.js', restored: HEX_FAILING }]);
    // The script exits non-zero exactly when a test fails, so no exit-code disagreement.
    assert.deepEqual(report.warnings, []);
  });

  test('a second artifact with the same script and parser reuses the cached baseline', async () => {
    const report = await validate({ ...base('mm-valid-again'), notes: 'same five files' });
    assertValid(report);
    assert.equal(report.baseline!.cached, true);
    assert.ok(!report.testRuns.some((r) => r.stage === 'baseline'));
  });
});

describe('each check fails on its own on minimist', () => {
  test('1: test_weaken.diff touches index.js, which is not an oracle test file', async () => {
    const weakenDiff = makeDiff(repo, {
      'test/num.js': HEX_WEAKEN,
      'index.js': [["'use strict';\n", "'use strict';\n// tests are fine\n"]],
    });
    const report = await validate({ ...base('mm-c1-weaken-src'), weakenDiff });
    assertFailsAt(
      report,
      1,
      /test_weaken\.diff touches file\(s\) not in test_files\.txt: index\.js/,
    );
  });

  test('1: bug_inject.diff touches an oracle test file', async () => {
    const bugDiff = makeDiff(repo, {
      'index.js': [HEX_BUG],
      'test/num.js': [["'-x', '1234',", "'-x', '1235',"]],
    });
    const report = await validate({ ...base('mm-c1-bug-test'), bugDiff });
    assertFailsAt(report, 1, /bug_inject\.diff touches oracle test file\(s\): test\/num\.js/);
  });

  test('1: a diff path that escapes the repository', async () => {
    const bugDiff = hexBug
      .replaceAll('a/index.js', 'a/../index.js')
      .replaceAll('b/index.js', 'b/../index.js');
    const report = await validate({ ...base('mm-c1-escape'), bugDiff });
    assertFailsAt(report, 1, /escapes the repository/);
  });

  test('1: a bug diff whose context does not match the repository', async () => {
    const bugDiff = hexBug.replace(' function isNumber(x) {', ' function isNumeric(x) {');
    assert.notEqual(bugDiff, hexBug);
    const report = await validate({ ...base('mm-c1-stale'), bugDiff });
    assertFailsAt(report, 1, /bug_inject\.diff does not apply/);
  });

  test('1: test_files.txt names a file the repository does not have', async () => {
    const report = await validate({
      ...base('mm-c1-missing'),
      testFiles: ['test/num.js', 'test/nope.js'],
    });
    assertFailsAt(report, 1, /test\/nope\.js does not exist/);
  });

  test('2: a parser that prints prose instead of JSON', async () => {
    const testParser = 'import sys\nsys.stdin.read()\nprint("all tests passed")\n';
    const report = await validate({ ...base('mm-c2-garbage'), testParser });
    assertFailsAt(report, 2, /did not print one JSON object; it printed: all tests passed/);
  });

  test('2: a pytest parser on TAP output finds no tests', async () => {
    const report = await validate({
      ...base('mm-c2-wrong-parser'),
      testParser: PYTHON_TEST_PARSER,
    });
    assertFailsAt(report, 2, /found no tests/);
  });

  test('3: fewer passing tests than --min-passing asks for', async () => {
    const report = await validate(base('mm-c3-min-passing'), { minPassingTests: 1000 });
    assertFailsAt(report, 3, /only 153 test\(s\) pass on the original repository; at least 1000/);
  });

  test('4: the bug changes more lines than allowed', async () => {
    const report = await validate(base('mm-c4-lines'), { maxChangedLines: 1 });
    assertFailsAt(report, 4, /bug changes 2 lines; at most 1 allowed/);
  });

  test('4: the bug changes fewer files than required', async () => {
    const report = await validate(base('mm-c4-files'), { minChangedFiles: 2 });
    assertFailsAt(report, 4, /bug changes 1 file\(s\); at least 2 required/);
  });

  test('5: an equivalent rewrite breaks no test', async () => {
    const bugDiff = makeDiff(repo, {
      'index.js': [['\tif (!opts) { opts = {}; }\n', '\topts = opts || {};\n']],
    });
    const report = await validate({ ...base('mm-c5-equivalent'), bugDiff });
    assertFailsAt(report, 5, /^0 test\(s\) that pass on the original fail with the bug/);
    assert.deepEqual(report.bug!.failing, []);
  });

  test('5: fewer failing tests than --min-failing asks for', async () => {
    const report = await validate(base('mm-c5-min-failing'), { minFailingTests: 3 });
    assertFailsAt(report, 5, /^2 test\(s\) .* at least 3 required/);
  });

  test('6: a weakening of assertions that do not catch the bug', async () => {
    const weakenDiff = makeDiff(repo, {
      'test/dash.js': [
        ["t.deepEqual(parse(['-n', '-']), { n: '-', _: [] });", "t.ok(parse(['-n', '-']));"],
      ],
    });
    const report = await validate({
      ...base('mm-c6-unrelated'),
      testFiles: ['test/num.js', 'test/dash.js'],
      weakenDiff,
    });
    assertFailsAt(report, 6, /none of the bug-failing tests passes/);
    assert.deepEqual(report.bug!.failing, HEX_FAILING);
    assert.deepEqual(report.weakened!.restored, []);
  });

  test('7: a second changed file (a comment in example/parse.js) is not needed for the bug', async () => {
    const bugDiff = makeDiff(repo, {
      'index.js': [HEX_BUG],
      'example/parse.js': [
        ["'use strict';\n", "'use strict';\n\n// Try: node example/parse.js -a beep -b boop\n"],
      ],
    });
    const report = await validate({ ...base('mm-c7-comment'), bugDiff });
    assertFailsAt(report, 7, /reverting example\/parse\.js alone restores no failing test/);
    const inverse = new Map(report.inverse!.map((r) => [r.file, r.restored]));
    assert.deepEqual(inverse.get('index.js'), HEX_FAILING);
    assert.deepEqual(inverse.get('example/parse.js'), []);
    assert.equal(report.testRuns.filter((r) => r.stage === 'inverse').length, 2);
  });
});

describe('ssr validate (CLI, run from source)', () => {
  test('a valid artifact exits 0 and says VALID', async () => {
    const dir = artifactDir(base('mm-cli-valid'));
    const r = await runCli(['validate', dir, '--repo', repo, '--baseline-runs', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^VALID /m);
    assert.match(r.stdout, /ok\s+7 inverse mutation testing/);
  });

  test('an invalid artifact exits 1; --json names the failing check', async () => {
    const weakenDiff = makeDiff(repo, {
      'test/dash.js': [["t.deepEqual(parse(['-']), { _: ['-'] });", "t.ok(parse(['-']));"]],
    });
    const dir = artifactDir({
      ...base('mm-cli-invalid'),
      testFiles: ['test/num.js', 'test/dash.js'],
      weakenDiff,
    });
    const r = await runCli(['validate', dir, '--repo', repo, '--json', '--baseline-runs', '1']);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.valid, false);
    assert.equal(report.artifact.id, 'mm-cli-invalid');
    assert.equal(report.failedCheck.id, 6);
    assert.equal(report.failedCheck.key, 'weakening');
    assert.deepEqual(report.bug.failing, HEX_FAILING);
  });

  test('a missing artifact directory exits 2 with one line on stderr and no stack trace', async () => {
    const missing = join(work, 'no-such-artifact');
    const r = await runCli(['validate', missing, '--repo', repo]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^ssr: artifact directory not found: .*no-such-artifact$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

test('the fixture repository is byte-for-byte unchanged (including .git and node_modules)', () => {
  assert.equal(treeHash(repo), hashBefore);
});

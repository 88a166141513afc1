/**
 * The seven-check validator on a Python package (mathkit, written by test/helpers/fixtures.ts)
 * whose pytest suite runs in the sandbox with Debian's python3 and pytest.
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
  makeDiff,
  PYTHON_TEST_PARSER,
  PYTHON_TEST_SCRIPT,
  pythonRepo,
  treeHash,
} from './helpers/fixtures.js';
import { assertFailsAt, assertValid, runCli, specValidator } from './helpers/validation.js';

let repo: string;
let hashBefore: string;
let host: SandboxHost;
let snapshot: Snapshot;
let work: string;

// Bug, file 1: interval subtraction subtracts the low end from both bounds.
const SUB_BUG: [string, string] = [
  'return Interval(self.lo - o.hi, self.hi - o.lo)',
  'return Interval(self.lo - o.lo, self.hi - o.lo)',
];
// Its blind spot: only the upper bound of the difference is checked.
const SUB_WEAKEN: [string, string] = [
  'assert Interval(1, 2) - Interval(10, 20) == Interval(-19, -8)',
  'assert (Interval(1, 2) - Interval(10, 20)).hi == -8',
];
const SUB_TEST = 'tests/test_intervals.py::test_add_and_sub';

// Bug, file 2: the median of an even-length sequence is its upper middle element.
const MEDIAN_BUG: [string, string] = [
  '    return (s[mid - 1] + s[mid]) / 2\n',
  '    return s[mid]\n',
];
const MEDIAN_WEAKEN: [string, string] = [
  'assert median([4, 1, 3, 2]) == 2.5',
  'assert 2 <= median([4, 1, 3, 2]) <= 3',
];
const MEDIAN_TEST = 'tests/test_stats.py::test_median_even';

let twoFileBug: string;
let twoFileWeaken: string;
let medianBug: string;
let medianWeaken: string;

function base(id: string): ArtifactSpec {
  return {
    id,
    testScript: PYTHON_TEST_SCRIPT,
    testParser: PYTHON_TEST_PARSER,
    testFiles: ['tests/test_intervals.py', 'tests/test_stats.py'],
    bugDiff: twoFileBug,
    weakenDiff: twoFileWeaken,
  };
}

const { artifactDir, validate } = specValidator(() => ({ host, snapshot, work }));

before(() => {
  repo = pythonRepo();
  hashBefore = treeHash(repo);
  host = SandboxHost.open();
  snapshot = host.snapshotDir(repo);
  work = mkdtempSync(join(tmpdir(), 'ssr-test-python-'));
  twoFileBug = makeDiff(repo, {
    'mathkit/intervals.py': [SUB_BUG],
    'mathkit/stats.py': [MEDIAN_BUG],
  });
  twoFileWeaken = makeDiff(repo, {
    'tests/test_intervals.py': [SUB_WEAKEN],
    'tests/test_stats.py': [MEDIAN_WEAKEN],
  });
  medianBug = makeDiff(repo, { 'mathkit/stats.py': [MEDIAN_BUG] });
  medianWeaken = makeDiff(repo, { 'tests/test_stats.py': [MEDIAN_WEAKEN] });
});

after(async () => {
  await host?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('valid artifacts on mathkit', () => {
  test('a two-file bug: every file is necessary (real inverse-mutation forks)', async () => {
    const report = await validate(base('py-valid-two-files'));
    assertValid(report);
    assert.equal(report.baseline!.passed.length, 23);
    assert.ok(
      report.baseline!.passed.includes(
        'tests/test_roman.py::test_to_roman_known_values[1994-MCMXCIV]',
      ),
    );
    assert.deepEqual(report.baseline!.failed, []);
    assert.deepEqual(report.bug!.failing, [SUB_TEST, MEDIAN_TEST]);
    assert.equal(report.bug!.tests[SUB_TEST], 'failed');
    assert.deepEqual(report.weakened!.restored, [SUB_TEST, MEDIAN_TEST]);
    const inverse = new Map(report.inverse!.map((r) => [r.file, r.restored]));
    assert.deepEqual(inverse.get('mathkit/intervals.py'), [SUB_TEST]);
    assert.deepEqual(inverse.get('mathkit/stats.py'), [MEDIAN_TEST]);
    assert.equal(report.testRuns.filter((r) => r.stage === 'inverse').length, 2);
    assert.ok(report.testRuns.every((r) => r.ok));
  });

  test('a history-aware bug: revert the range check of commit 2 and neuter its test', async () => {
    const bugDiff = makeDiff(repo, {
      'mathkit/roman.py': [
        [
          `    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("expected an int, got %s" % type(n).__name__)
    if not 1 <= n <= 3999:
        raise ValueError("%d has no roman numeral (1..3999 only)" % n)
`,
          '',
        ],
      ],
    });
    const weakenDiff = makeDiff(repo, {
      'tests/test_roman.py': [
        [
          `    for bad in [0, -7, 4000]:
        with pytest.raises(ValueError):
            to_roman(bad)
    with pytest.raises(TypeError):
        to_roman(2.5)
`,
          `    for bad in [0, -7, 4000]:
        to_roman(bad)
`,
        ],
        // Without the range check "MMMM" reads as 4000 and round-trips: a second blind spot.
        ['["IIII", "VV", "IC", "MMMM", "", "ABC"]', '["IIII", "VV", "IC", "", "ABC"]'],
      ],
    });
    const report = await validate({
      ...base('py-valid-history'),
      testFiles: ['tests/test_roman.py'],
      bugDiff,
      weakenDiff,
    });
    assertValid(report);
    const failing = [
      'tests/test_roman.py::test_from_roman_rejects_non_canonical',
      'tests/test_roman.py::test_to_roman_rejects_out_of_range',
    ];
    assert.deepEqual(report.bug!.failing, failing);
    assert.deepEqual(report.weakened!.restored, failing);
    assert.equal(report.baseline!.cached, true);
  });
});

describe('each check fails on its own on mathkit', () => {
  test('1: test_weaken.diff also edits the module under test', async () => {
    const weakenDiff = makeDiff(repo, {
      'tests/test_stats.py': [MEDIAN_WEAKEN],
      'mathkit/stats.py': [['def median(xs):\n', 'def median(xs):  # weakened\n']],
    });
    const report = await validate({ ...base('py-c1-weaken-src'), weakenDiff });
    assertFailsAt(
      report,
      1,
      /test_weaken\.diff touches file\(s\) not in test_files\.txt: mathkit\/stats\.py/,
    );
  });

  test('1: bug_inject.diff edits an oracle test', async () => {
    const bugDiff = makeDiff(repo, {
      'mathkit/stats.py': [MEDIAN_BUG],
      'tests/test_stats.py': [['assert mode([7]) == 7', 'assert mode([8]) == 8']],
    });
    const report = await validate({ ...base('py-c1-bug-test'), bugDiff });
    assertFailsAt(
      report,
      1,
      /bug_inject\.diff touches oracle test file\(s\): tests\/test_stats\.py/,
    );
  });

  test('1: bug_inject.diff writes into .git', async () => {
    const bugDiff = `${medianBug}diff --git a/.git/hooks/post-checkout b/.git/hooks/post-checkout
new file mode 100755
--- /dev/null
+++ b/.git/hooks/post-checkout
@@ -0,0 +1,2 @@
+#!/bin/sh
+echo owned
`;
    const report = await validate({ ...base('py-c1-git'), bugDiff });
    assertFailsAt(report, 1, /touches git metadata/);
  });

  test('1: test_weaken.diff does not apply', async () => {
    const weakenDiff = twoFileWeaken.replace(
      '-    assert median([4, 1, 3, 2]) == 2.5',
      '-    assert median([4, 3, 2, 1]) == 2.5',
    );
    assert.notEqual(weakenDiff, twoFileWeaken);
    const report = await validate({ ...base('py-c1-weaken-stale'), weakenDiff });
    assertFailsAt(report, 1, /test_weaken\.diff does not apply/);
  });

  test('2: a parser that crashes', async () => {
    const testParser =
      'import sys\nsys.stdin.read()\nraise RuntimeError("cannot parse this log")\n';
    const report = await validate({ ...base('py-c2-crash'), testParser });
    assertFailsAt(report, 2, /test_parser\.py exited with 1: RuntimeError: cannot parse this log/);
  });

  test('2: a parser that prints a JSON array', async () => {
    const testParser =
      'import json, sys\nsys.stdin.read()\nprint(json.dumps(["tests/test_stats.py::test_mean"]))\n';
    const report = await validate({ ...base('py-c2-array'), testParser });
    assertFailsAt(report, 2, /printed JSON array, expected an object/);
  });

  test('3: a script run from the wrong directory, where every test file fails to import', async () => {
    const testScript =
      '#!/usr/bin/env bash\ncd tests && python3 -m pytest -rA -p no:cacheprovider .\n';
    const report = await validate({ ...base('py-c3-all-fail'), testScript });
    assertFailsAt(
      report,
      3,
      /only 0 test\(s\) pass on the original repository; at least 1 required/,
    );
    // pytest prints ids relative to where it was started: the collection errors of tests/.
    assert.deepEqual(report.baseline!.failed, [
      'test_intervals.py',
      'test_roman.py',
      'test_stats.py',
    ]);
  });

  test('4: the bug changes fewer files than required', async () => {
    const report = await validate(base('py-c4-files'), { minChangedFiles: 3 });
    assertFailsAt(report, 4, /bug changes 2 file\(s\); at least 3 required/);
  });

  test('5: an equivalent rewrite of mean() breaks no test', async () => {
    const bugDiff = makeDiff(repo, {
      'mathkit/stats.py': [
        [
          '    if not xs:\n        raise ValueError("mean of an empty sequence")\n    return sum(xs) / len(xs)\n',
          '    if len(xs) == 0:\n        raise ValueError("mean of an empty sequence")\n    return sum(xs) / float(len(xs))\n',
        ],
      ],
    });
    const report = await validate({
      ...base('py-c5-equivalent'),
      bugDiff,
      weakenDiff: medianWeaken,
    });
    assertFailsAt(report, 5, /^0 test\(s\) that pass on the original fail with the bug/);
  });

  test('6: the weakening hides a different bug than the one injected', async () => {
    const report = await validate({
      ...base('py-c6-unrelated'),
      bugDiff: medianBug,
      weakenDiff: makeDiff(repo, { 'tests/test_intervals.py': [SUB_WEAKEN] }),
    });
    assertFailsAt(report, 6, /none of the bug-failing tests passes/);
    assert.deepEqual(report.bug!.failing, [MEDIAN_TEST]);
  });

  test('7: a second file with only a comment added is not needed for the bug', async () => {
    const bugDiff = makeDiff(repo, {
      'mathkit/stats.py': [MEDIAN_BUG],
      'mathkit/roman.py': [
        [
          'def to_roman(n):\n',
          '# Numerals are built greedily from the table above.\ndef to_roman(n):\n',
        ],
      ],
    });
    const report = await validate({ ...base('py-c7-comment'), bugDiff, weakenDiff: medianWeaken });
    assertFailsAt(report, 7, /reverting mathkit\/roman\.py alone restores no failing test/);
    const inverse = new Map(report.inverse!.map((r) => [r.file, r.restored]));
    assert.deepEqual(inverse.get('mathkit/stats.py'), [MEDIAN_TEST]);
    assert.deepEqual(inverse.get('mathkit/roman.py'), []);
  });
});

test('concurrency 1 runs one sandbox at a time, baseline runs included', async () => {
  let most = 0;
  const poll = setInterval(() => {
    most = Math.max(most, host.liveSandboxes);
  }, 5);
  try {
    const report = await validate(
      // A script of its own, so the baseline is computed here rather than taken from the cache.
      { ...base('py-concurrency-1'), testScript: `${PYTHON_TEST_SCRIPT}# concurrency 1\n` },
      { concurrency: 1, baselineRuns: 3 },
    );
    assertValid(report);
    assert.equal(report.baseline!.cached, false);
    assert.equal(report.testRuns.filter((r) => r.stage === 'baseline').length, 3);
  } finally {
    clearInterval(poll);
  }
  assert.equal(most, 1);
});

test('ssr validate --json on the valid two-file artifact exits 0', async () => {
  const dir = artifactDir(base('py-cli-valid'));
  const r = await runCli(['validate', dir, '--repo', repo, '--json', '--baseline-runs', '1']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.valid, true);
  assert.equal(report.failedCheck, null);
  assert.equal(report.inverse.length, 2);
});

test('the fixture repository is byte-for-byte unchanged (including .git)', () => {
  assert.equal(treeHash(repo), hashBefore);
});

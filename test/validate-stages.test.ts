/**
 * The stages validateArtifact is made of, each on small plain inputs: check 1's static parts,
 * the verdicts of checks 2-7 on given test outcomes (no sandbox: `runTestsWith` is replaced),
 * and the report mechanics. One case runs check 1 whole in a real sandbox.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Artifact, readArtifact } from '../src/artifact/artifact.js';
import { oracleEntries } from '../src/artifact/oracle-regions.js';
import { PatchError, parsePatch } from '../src/artifact/patch.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Sandbox, SandboxProvider, Snapshot } from '../src/sandbox/types.js';
import type { TestMap } from '../src/testing/results.js';
import type { TestRunOutcome } from '../src/testing/run-tests.js';
import { type Baseline, BaselineCache } from '../src/validate/baseline.js';
import {
  checkFiles,
  inlineTestRegions,
  originalPathKinds,
  parseArtifactDiffs,
  requireDiffsApply,
  requireRegularFiles,
  safeOracleEntries,
} from '../src/validate/check-files.js';
import {
  bugWithout,
  checkBug,
  checkInverse,
  checkParser,
  checkScope,
  checkScript,
  checkWeakening,
  passingOf,
} from '../src/validate/check-runs.js';
import { CHECKS } from '../src/validate/report.js';
import {
  CheckFailed,
  finishReport,
  newReport,
  preview,
  recordTestRun,
  runCheck,
  startRun,
  testMapOf,
  type ValidationRun,
} from '../src/validate/validation-run.js';
import { DEFAULT_SETTINGS } from '../src/validate/validator.js';
import { removeTempDirs, tempDir, writeRepo } from './helpers/sandbox-repo.js';

after(removeTempDirs);

/** A one-line change of `path`: `before` -> `after`. */
function diffOf(path: string, before = 'a', afterLine = 'b'): string {
  return (
    `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n` +
    `@@ -1 +1 @@\n-${before}\n+${afterLine}\n`
  );
}

function artifactOf(over: Partial<Artifact> = {}): Artifact {
  return {
    testScript: '#!/usr/bin/env bash\n',
    testParser: 'print("{}")\n',
    testFiles: ['test/a.test.js'],
    bugDiff: diffOf('src/a.js'),
    weakenDiff: diffOf('test/a.test.js'),
    metadata: { id: 'stage-test' } as Artifact['metadata'],
    ...over,
  };
}

/** A host whose sandboxes are `sandbox`; it fails the test if asked for anything else. */
function fakeHost(sandbox: Partial<Sandbox> = {}): SandboxProvider {
  return {
    mode: { isolation: 'none', storage: 'copy', limits: { processes: false, memory: false } },
    create: () =>
      ({
        readFile: async () => null,
        applyPatches: async () => ({ ok: true, message: '' }),
        dispose: async () => {},
        ...sandbox,
      }) as Sandbox,
  };
}

function snapshotOf(dir: string): Snapshot {
  const s: Snapshot = {
    id: `snap-${dir}`,
    layers: [{ dir, overlay: false }],
    sourceDir: dir,
    get root() {
      return s;
    },
  };
  return s;
}

const runs: ValidationRun[] = [];
after(() => {
  for (const r of runs) r.harness.cleanup();
});

/** A run over a fake host with given settings; `runTestsWith` answers from `outcomes`. */
function runOf(
  over: Partial<Artifact> = {},
  settings: Partial<typeof DEFAULT_SETTINGS> = {},
  opts: { host?: SandboxProvider; snapshot?: Snapshot; cache?: BaselineCache } = {},
): ValidationRun {
  const run = startRun(artifactOf(over), {
    host: opts.host ?? fakeHost(),
    snapshot: opts.snapshot ?? snapshotOf(tempDir()),
    settings: { ...DEFAULT_SETTINGS, ...settings },
    cache: opts.cache ?? new BaselineCache(),
    progress: () => {},
  });
  run.runTestsWith = async () => {
    throw new Error('no test run expected');
  };
  runs.push(run);
  return run;
}

function passed(tests: TestMap, ms = 10, warnings: string[] = []): TestRunOutcome {
  return { ok: true, tests, exitCode: 0, logBytes: 1, warnings, scriptMs: ms, parserMs: 1 };
}

function failed(kind: 'script-timeout' | 'no-tests', message: string): TestRunOutcome {
  return {
    ok: false,
    kind,
    message,
    exitCode: null,
    logBytes: 0,
    tail: '',
    scriptMs: 5,
    parserMs: 0,
  };
}

/** Asserts `fn` fails the check (not an internal error) with a message matching `re`. */
async function assertFails(fn: () => unknown, re: RegExp): Promise<void> {
  await assert.rejects(
    async () => fn(),
    (err: unknown) => {
      assert.ok(err instanceof CheckFailed, `not a CheckFailed: ${err}`);
      assert.match(err.message, re);
      return true;
    },
  );
}

describe('check 1 (files), its static parts', () => {
  test('safeOracleEntries: an empty list and a path out of the repo fail; entries come back', async () => {
    await assertFails(() => safeOracleEntries([]), /lists no test files/);
    await assertFails(() => safeOracleEntries(['../outside.js']), /^test_files\.txt: /);
    assert.deepEqual(
      safeOracleEntries(['test/a.js', 'src/m.py#inline-tests']).map((e) => e.path),
      ['test/a.js', 'src/m.py'],
    );
  });

  test('requireRegularFiles: a missing path and a directory fail', async () => {
    const kinds = new Map([
      ['t/file.js', 'file'],
      ['t/dir', 'dir'],
    ] as const);
    const kindOf = (rel: string) => kinds.get(rel as 't/file.js') ?? null;
    requireRegularFiles(oracleEntries(['t/file.js']), kindOf);
    await assertFails(
      () => requireRegularFiles(oracleEntries(['t/gone.js']), kindOf),
      /t\/gone\.js does not exist in the original repository/,
    );
    await assertFails(
      () => requireRegularFiles(oracleEntries(['t/dir']), kindOf),
      /t\/dir is a dir, not a regular file/,
    );
  });

  test('originalPathKinds reads the snapshot layers', async () => {
    const dir = writeRepo(tempDir(), { 'src/a.js': 'a\n', 'link.js': { symlink: 'src/a.js' } });
    const kindOf = await originalPathKinds(
      { artifact: artifactOf(), host: fakeHost(), snapshot: snapshotOf(dir) },
      [],
    );
    assert.deepEqual(['src/a.js', 'src', 'link.js', 'nope'].map(kindOf), [
      'file',
      'dir',
      'symlink',
      null,
    ]);
  });

  test('parseArtifactDiffs: each diff keeps to its side of the oracle and is safe', async () => {
    const none = () => false;
    const ok = parseArtifactDiffs(artifactOf(), none);
    assert.deepEqual(
      [ok.bugFiles.map((f) => f.newPath), ok.weakenFiles.map((f) => f.newPath)],
      [['src/a.js'], ['test/a.test.js']],
    );
    await assertFails(
      () => parseArtifactDiffs(artifactOf({ bugDiff: diffOf('test/a.test.js') }), none),
      /bug_inject\.diff touches oracle test file\(s\): test\/a\.test\.js/,
    );
    await assertFails(
      () => parseArtifactDiffs(artifactOf({ weakenDiff: diffOf('src/b.js') }), none),
      /test_weaken\.diff touches file\(s\) not in test_files\.txt: src\/b\.js/,
    );
    // A file with inline oracle tests may be weakened (its regions are checked later).
    parseArtifactDiffs(
      artifactOf({ testFiles: ['src/m.py#inline-tests'], weakenDiff: diffOf('src/m.py') }),
      none,
    );
    await assertFails(
      () => parseArtifactDiffs(artifactOf(), (rel) => rel === 'src'),
      /bug_inject\.diff: src\/a\.js goes through the symlink src/,
    );
    assert.throws(
      () => parseArtifactDiffs(artifactOf({ bugDiff: 'not a diff\n' }), none),
      PatchError,
    );
  });

  test('inlineTestRegions: a file without doctests cannot serve as an inline oracle', async () => {
    const withDoctest = 'def f():\n    """One.\n\n    >>> f()\n    1\n    """\n    return 1\n';
    const regions = await inlineTestRegions(new Map([['m.py', withDoctest]]));
    assert.ok((regions.get('m.py') ?? []).length > 0, JSON.stringify([...regions]));
    await assertFails(
      () => inlineTestRegions(new Map([['m.py', 'def f():\n    return 1\n']])),
      /test_files\.txt: m\.py#inline-tests: m\.py has no inline-test regions/,
    );
  });

  test('requireDiffsApply names the diff that does not apply, and checks a shared file on top of the bug', async () => {
    const a = artifactOf();
    const calls: { check?: boolean }[] = [];
    const sb = (results: { ok: boolean; message: string; failedIndex?: number }[]) => ({
      applyPatches: async (_d: string[], opts: { check?: boolean } = {}) => {
        calls.push(opts);
        return results.shift()!;
      },
    });
    const bug = parsePatch(a.bugDiff, 'b');
    const weaken = parsePatch(a.weakenDiff, 'w');
    await assertFails(
      () => requireDiffsApply(sb([{ ok: false, message: 'nope', failedIndex: 2 }]), a, bug, weaken),
      /^test_weaken\.diff does not apply to the repository: nope/,
    );
    await assertFails(
      () => requireDiffsApply(sb([{ ok: false, message: 'nope', failedIndex: 1 }]), a, bug, weaken),
      /^bug_inject\.diff does not apply/,
    );
    calls.length = 0;
    await requireDiffsApply(sb([{ ok: true, message: '' }]), a, bug, weaken);
    assert.deepEqual(calls, [{ check: true }], 'no shared file: one check-only apply');
    await assertFails(
      () =>
        requireDiffsApply(
          sb([
            { ok: true, message: '' },
            { ok: false, message: 'conflict' },
          ]),
          a,
          bug,
          bug,
        ),
      /does not apply on top of bug_inject\.diff \(both change src\/a\.js; .*\): conflict/,
    );
  });

  test('checkFiles passes the example artifact in a real sandbox and keeps its parsed diffs', async () => {
    const root = resolve(import.meta.dirname, '..');
    const host = SandboxHost.open();
    try {
      const run = runOf(
        readArtifact(join(root, 'examples/artifacts/textkit-wrap-width')),
        {},
        { host, snapshot: host.snapshotDir(join(root, 'examples/repos/textkit')) },
      );
      const message = await checkFiles(run);
      assert.equal(message, '1 oracle test file(s); bug changes 1 file(s); both diffs apply');
      assert.deepEqual(
        run.bugFiles.map((f) => f.newPath),
        ['src/wrap.js'],
      );
      assert.equal(run.weakenFiles.length, 1);
    } finally {
      await host.close();
    }
  });
});

describe('checks 2-7 on given results', () => {
  function baselineOf(tests: TestMap, flaky: string[] = [], scriptMs = 1000): Baseline {
    return { runs: [passed(tests, scriptMs)], failure: null, tests, flaky, cached: false };
  }

  /** A cache that already holds `b` for the run's key, so checkParser runs nothing. */
  function primed(run: ValidationRun, b: Baseline): Promise<Baseline> {
    const { artifact, snapshot, settings } = run;
    const key = run.cache.key(
      snapshot,
      artifact.testScript,
      artifact.testParser,
      settings.baselineRuns,
    );
    return run.cache.get(key, async () => b);
  }

  test('checkParser: a cached baseline scales the run limit; no tests fails', async () => {
    const run = runOf({}, { scriptTimeoutMs: 300_000 }, { host: fakeHost() });
    await primed(run, baselineOf({ a: 'passed' }, ['f'], 2000));
    assert.equal(await checkParser(run), '2 test(s) parsed on the original repository (cached)');
    assert.equal(run.testOpts.scriptTimeoutMs, 16_000);
    assert.equal(run.report.timings.runTimeoutMs, 16_000);
    assert.equal(run.report.testRuns.length, 0, 'cached runs are not recorded again');
    assert.equal(run.baseline?.cached, true);

    const empty = runOf();
    await primed(empty, baselineOf({}));
    await assertFails(() => checkParser(empty), /found no tests on the original repository/);
    assert.equal(empty.testOpts.scriptTimeoutMs, 13_000, 'the limit is set before that verdict');
  });

  test('checkScript records the baseline (even when it fails) and warns of flaky tests', async () => {
    const run = runOf({}, { minPassingTests: 2 });
    run.baseline = baselineOf({ a: 'passed', b: 'failed' }, ['f1', 'f2']);
    await assertFails(() => checkScript(run), /only 1 test\(s\) pass .*; at least 2 required/);
    assert.deepEqual(run.report.baseline?.passed, ['a']);
    assert.deepEqual(run.report.baseline?.failed, ['b']);
    assert.deepEqual(run.report.warnings, ['2 flaky test(s) excluded: f1, f2']);

    const ok = runOf();
    ok.baseline = baselineOf({ a: 'passed', b: 'passed' });
    assert.match(await checkScript(ok), /^2 pass on the original, 0 fail there/);
    assert.deepEqual(ok.baselinePassed, ['a', 'b']);
  });

  test('checkScope counts files and changed lines against the settings', async () => {
    const run = runOf({}, { maxChangedLines: 1 });
    run.bugFiles = parsePatch(diffOf('src/a.js'), 'b');
    await assertFails(() => checkScope(run), /bug changes 2 lines; at most 1 allowed/);
    run.settings.maxChangedLines = 2;
    assert.equal(await checkScope(run), '1 file(s), 2 line(s) changed');
    run.settings.minChangedFiles = 2;
    await assertFails(() => checkScope(run), /bug changes 1 file\(s\); at least 2 required/);
  });

  test('checkBug: tests that passed before and do not now are the evidence', async () => {
    const run = runOf({}, { minFailingTests: 3 });
    run.baselinePassed = ['a', 'b', 'c'];
    const patches: string[][] = [];
    run.runTestsWith = async (_l, stage, p) => {
      assert.equal(stage, 'bug');
      patches.push(p);
      return passed({ a: 'failed', b: 'passed', d: 'failed' });
    };
    // a fails, b passes, c is missing (not passing); d did not pass before, so is no evidence.
    await assertFails(
      () => checkBug(run),
      /^2 test\(s\) that pass on the original fail with the bug; at least 3 required$/,
    );
    assert.deepEqual(patches, [[run.artifact.bugDiff]]);
    assert.deepEqual(run.report.bug?.failing, ['a', 'c'], 'recorded even when the check fails');

    // "No tests found" with the bug: every test that passed fails.
    run.runTestsWith = async () => failed('no-tests', 'no tests');
    assert.equal(await checkBug(run), '3 test(s) fail with the bug: a, b, c');
    assert.deepEqual(run.failing, ['a', 'b', 'c']);
    run.runTestsWith = async () => failed('script-timeout', 'did not finish within 13 s');
    await assertFails(() => checkBug(run), /^test run with the bug: did not finish within 13 s$/);
  });

  test('checkWeakening: some bug-failing test must pass with the weakened tests', async () => {
    const run = runOf();
    run.failing = ['a', 'b'];
    run.runTestsWith = async (_l, stage, p) => {
      assert.equal(stage, 'weakened');
      assert.deepEqual(p, [run.artifact.bugDiff, run.artifact.weakenDiff]);
      return passed({ a: 'passed', b: 'failed' });
    };
    assert.equal(await checkWeakening(run), '1 of 2 bug-failing test(s) pass with the weakening');
    assert.deepEqual(run.report.weakened?.restored, ['a']);
    run.runTestsWith = async () => passed({ a: 'failed', b: 'skipped' });
    await assertFails(() => checkWeakening(run), /the weakening hides nothing/);
  });

  const twoFiles = diffOf('src/a.js') + diffOf('src/b.js');

  test('checkInverse: a single-file bug needs no run; each file of a larger one must matter', async () => {
    const single = runOf();
    single.bugFiles = parsePatch(single.artifact.bugDiff, 'b');
    single.failing = ['x'];
    assert.match(await checkInverse(single), /^single-file bug/);
    assert.deepEqual(single.report.inverse, [{ file: 'src/a.js', restored: ['x'] }]);

    const run = runOf({ bugDiff: twoFiles });
    run.bugFiles = parsePatch(twoFiles, 'b');
    run.failing = ['x', 'y'];
    run.runTestsWith = async (label) => {
      // Without a.js, x passes again; without b.js, the rest does not apply.
      if (label === 'bug without src/a.js') return passed({ x: 'passed', y: 'failed' });
      throw new CheckFailed(`${label}: patch does not apply: bad`);
    };
    await assertFails(
      () => checkInverse(run),
      /^reverting src\/b\.js alone restores no failing test: every changed file must be necessary for the bug \(src\/b\.js: bug without src\/b\.js: patch does not apply: bad\)$/,
    );
    assert.deepEqual(run.report.inverse?.[0], { file: 'src/a.js', restored: ['x'] });

    run.runTestsWith = async () => passed({ y: 'passed' });
    assert.equal(await checkInverse(run), 'each of 2 changed files is necessary');
  });

  test('bugWithout and passingOf', () => {
    const files = parsePatch(twoFiles, 'b');
    assert.equal(bugWithout(files, files[0]!), diffOf('src/b.js'));
    assert.equal(bugWithout(files, files[1]!), diffOf('src/a.js'));
    assert.deepEqual(passingOf(['a', 'b', 'c'], { a: 'passed', b: 'skipped' }), ['a']);
  });
});

describe('report mechanics', () => {
  test('newReport has the report fields in order, nothing checked yet', () => {
    const r = newReport(artifactOf(), snapshotOf('/r'), DEFAULT_SETTINGS, fakeHost());
    assert.deepEqual(Object.keys(r), [
      'artifact',
      'repo',
      'valid',
      'failedCheck',
      'checks',
      'baseline',
      'bug',
      'weakened',
      'inverse',
      'warnings',
      'testRuns',
      'timings',
      'settings',
      'sandbox',
    ]);
    assert.equal(r.artifact.id, 'stage-test');
    assert.equal(r.repo, '/r');
  });

  test('recordTestRun keeps times, errors, warnings and the slowest run per stage', () => {
    const run = runOf();
    recordTestRun(run, 'one', 'bug', passed({}, 10.4, ['exit 1 but all passed']));
    recordTestRun(run, 'two', 'bug', failed('script-timeout', 'slow'));
    recordTestRun(run, 'three', 'inverse', failed('no-tests', 'none'));
    assert.deepEqual(
      run.report.testRuns.map((t) => [t.label, t.ok, t.scriptMs, t.error]),
      [
        ['one', true, 10, undefined],
        ['two', false, 5, 'slow'],
        ['three', true, 5, 'none'],
      ],
    );
    assert.deepEqual(run.report.warnings, ['one: exit 1 but all passed']);
    assert.deepEqual(
      [...run.stageMax],
      [
        ['bug', 11.4],
        ['inverse', 5],
      ],
    );
  });

  test('testMapOf: no tests is an empty map, another failure fails the check', async () => {
    assert.deepEqual(testMapOf('x', passed({ a: 'passed' })), { a: 'passed' });
    assert.deepEqual(testMapOf('x', failed('no-tests', 'none')), {});
    await assertFails(
      () => testMapOf('the run', failed('script-timeout', 'slow')),
      /^the run: slow$/,
    );
  });

  test('runCheck: a verdict or a diff error is the message; anything else is internal', async () => {
    const run = runOf();
    const seen: string[] = [];
    const r = { report: run.report, progress: (m: string) => seen.push(m) };
    assert.equal(await runCheck(r, 'files', async () => 'fine'), true);
    assert.equal(
      await runCheck(r, 'scope', async () => {
        throw new PatchError('bad diff');
      }),
      false,
    );
    assert.equal(
      await runCheck(r, 'bug', async () => {
        throw new TypeError('oops');
      }),
      false,
    );
    assert.deepEqual(seen, ['check 1/7 files', 'check 4/7 bug scope', 'check 5/7 bug validity']);
    assert.deepEqual(
      run.report.checks.map((c) => [c.id, c.name, c.status, c.message]),
      [
        [1, 'files', 'passed', 'fine'],
        [4, 'bug scope', 'failed', 'bad diff'],
        [5, 'bug validity', 'failed', 'internal error: oops'],
      ],
    );
    assert.deepEqual(run.report.failedCheck, {
      id: 5,
      key: 'bug',
      name: 'bug validity',
      message: 'internal error: oops',
    });
  });

  test('finishReport lists unreached checks as skipped, in order, and sums the critical path', async () => {
    const run = runOf();
    await runCheck(run, 'files', async () => 'fine');
    await runCheck(run, 'parser', async () => {
      throw new CheckFailed('no');
    });
    run.stageMax.set('baseline', 100.2).set('bug', 50.4);
    const report = finishReport(run, performance.now());
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.checks.map((c) => [c.key, c.status]),
      CHECKS.map((c) => [c.key, c.id === 1 ? 'passed' : c.id === 2 ? 'failed' : 'skipped']),
    );
    assert.equal(report.checks[6]!.message, 'not run: an earlier check failed');
    assert.equal(report.timings.criticalPathMs, 151);

    const clean = runOf();
    assert.equal(finishReport(clean, performance.now()).valid, true);
  });

  test('preview shows the first few ids and how many more', () => {
    assert.equal(preview(['a', 'b']), 'a, b');
    assert.equal(preview(['a', 'b', 'c', 'd', 'e']), 'a, b, c, ... (+2)');
  });
});

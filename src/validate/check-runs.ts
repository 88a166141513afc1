/**
 * Checks 2-7: the ones that run the test suite (or judge the results of runs), in the order
 * validator.ts runs them. Each reads what earlier checks left in the run, adds its part to the
 * report, and returns its message or fails with why the artifact is wrong.
 */
import pLimit from 'p-limit';
import type { FilePatch } from '../artifact/patch.js';
import { touchedPaths } from '../artifact/patch.js';
import { didPass, failedIds, passedIds, type TestMap } from '../testing/results.js';
import { errorMessage } from '../util/errors.js';
import { computeBaseline, scaledTimeout } from './baseline.js';
import type { ValidationReport } from './report.js';
import { fail, preview, recordTestRun, testMapOf, type ValidationRun } from './validation-run.js';

/**
 * Check 2 (parser validity): the original suite, run clean `baselineRuns` times (or taken from
 * the cache), must finish and the parser must find tests in it. Its slowest run also sets the
 * time limit of every later run, so a bug that hangs the suite is caught in seconds.
 */
export async function checkParser(run: ValidationRun): Promise<string> {
  const { artifact, cache, host, snapshot, settings } = run;
  const key = cache.key(snapshot, artifact.testScript, artifact.testParser, settings.baselineRuns);
  run.progress(`running the original test suite (${settings.baselineRuns} runs)`);
  const b = await cache.get(key, () =>
    computeBaseline(
      host,
      snapshot,
      run.harness,
      settings.baselineRuns,
      { scriptTimeoutMs: settings.scriptTimeoutMs, parserTimeoutMs: settings.parserTimeoutMs },
      settings.concurrency,
    ),
  );
  run.baseline = b;
  if (!b.cached) {
    for (const [i, o] of b.runs.entries())
      recordTestRun(run, `original run ${i + 1}`, 'baseline', o);
  }
  if (b.failure) fail(`on the original repository: ${b.failure.message}`);
  run.testOpts.scriptTimeoutMs = scaledTimeout(b, settings.scriptTimeoutMs);
  run.report.timings.runTimeoutMs = run.testOpts.scriptTimeoutMs;
  const total = Object.keys(b.tests).length + b.flaky.length;
  if (total === 0) fail('test_parser.py found no tests on the original repository');
  return `${total} test(s) parsed on the original repository${b.cached ? ' (cached)' : ''}`;
}

/**
 * Check 3 (script validity): enough tests pass on the original for a bug to break some.
 * Records the baseline in the report (flaky tests as a warning) whether or not it passes.
 */
export async function checkScript(
  run: Pick<ValidationRun, 'baseline' | 'baselinePassed' | 'report' | 'settings'>,
): Promise<string> {
  const b = run.baseline!;
  const baselinePassed = passedIds(b.tests);
  run.baselinePassed = baselinePassed;
  const baselineFailed = failedIds(b.tests);
  run.report.baseline = {
    passed: baselinePassed,
    failed: baselineFailed,
    flaky: b.flaky,
    runs: b.runs.length,
    cached: b.cached,
    tests: b.tests,
  };
  if (b.flaky.length) {
    run.report.warnings.push(
      `${b.flaky.length} flaky test(s) excluded: ${b.flaky.slice(0, 5).join(', ')}`,
    );
  }
  const { minPassingTests } = run.settings;
  if (baselinePassed.length < minPassingTests) {
    fail(
      `only ${baselinePassed.length} test(s) pass on the original repository; at least ` +
        `${minPassingTests} required`,
    );
  }
  return (
    `${baselinePassed.length} pass on the original, ${baselineFailed.length} fail there ` +
    `(baseline failures, never evidence), ${b.flaky.length} flaky (excluded)`
  );
}

/** Check 4 (bug scope): the bug changes enough files and not too many lines. */
export async function checkScope(
  run: Pick<ValidationRun, 'bugFiles' | 'settings'>,
): Promise<string> {
  const { bugFiles, settings } = run;
  const files = touchedPaths(bugFiles);
  const lines = bugFiles.reduce((n, f) => n + f.added + f.removed, 0);
  if (files.length < settings.minChangedFiles) {
    fail(`bug changes ${files.length} file(s); at least ${settings.minChangedFiles} required`);
  }
  if (lines > settings.maxChangedLines) {
    fail(`bug changes ${lines} lines; at most ${settings.maxChangedLines} allowed`);
  }
  return `${files.length} file(s), ${lines} line(s) changed`;
}

/** Of `ids`, those that passed in `tests`. */
export function passingOf(ids: string[], tests: TestMap): string[] {
  return ids.filter((id) => didPass(tests, id));
}

/**
 * Check 5 (bug validity): with the bug applied, enough tests that pass on the original fail.
 * Those tests are the bug's evidence, which the later checks measure against.
 */
export async function checkBug(run: ValidationRun): Promise<string> {
  run.progress('running the tests with the bug');
  const o = await run.runTestsWith('with bug', 'bug', [run.artifact.bugDiff]);
  const tests = testMapOf('test run with the bug', o);
  const failing = run.baselinePassed.filter((id) => !didPass(tests, id));
  run.failing = failing;
  run.report.bug = { failing, tests };
  const { minFailingTests } = run.settings;
  if (failing.length < minFailingTests) {
    fail(
      `${failing.length} test(s) that pass on the original fail with the bug; at least ` +
        `${minFailingTests} required`,
    );
  }
  return `${failing.length} test(s) fail with the bug: ${preview(failing)}`;
}

/**
 * Check 6 (weakening validity): with the weakened tests on top of the bug, some bug-failing
 * test passes again, i.e. the weakening really hides the bug from the suite.
 */
export async function checkWeakening(run: ValidationRun): Promise<string> {
  run.progress('running the tests with the bug and the weakened tests');
  const { bugDiff, weakenDiff } = run.artifact;
  const o = await run.runTestsWith('with bug + weakening', 'weakened', [bugDiff, weakenDiff]);
  const tests = testMapOf('test run with bug and weakening', o);
  const restored = passingOf(run.failing, tests);
  run.report.weakened = { restored, tests };
  if (restored.length === 0) {
    fail(
      'with the weakened tests, none of the bug-failing tests passes: the weakening hides nothing',
    );
  }
  return `${restored.length} of ${run.failing.length} bug-failing test(s) pass with the weakening`;
}

type InverseResult = NonNullable<ValidationReport['inverse']>[number];

/**
 * Check 7 (inverse mutation testing): every file the bug changes is necessary for it, i.e.
 * the bug without that one file makes some bug-failing test pass again. A single-file bug
 * passes without a run: reverting its one file is the original, where they all pass.
 */
export async function checkInverse(run: ValidationRun): Promise<string> {
  const { bugFiles, failing } = run;
  if (bugFiles.length === 1) {
    run.report.inverse = [{ file: touchedPaths(bugFiles)[0]!, restored: failing }];
    return 'single-file bug: reverting it restores the original, where all bug-failing tests pass';
  }
  run.progress(`reverting each of ${bugFiles.length} changed files`);
  const limit = pLimit(run.settings.concurrency);
  const results = await Promise.all(bugFiles.map((file) => limit(() => revertOneFile(run, file))));
  run.report.inverse = results;
  const unneeded = results.filter((r) => r.restored.length === 0);
  if (unneeded.length) {
    fail(
      `reverting ${unneeded.map((r) => r.file).join(', ')} alone restores no failing test: ` +
        'every changed file must be necessary for the bug' +
        unneeded.map((r) => (r.error ? ` (${r.file}: ${r.error})` : '')).join(''),
    );
  }
  return `each of ${results.length} changed files is necessary`;
}

/** The bug diff without `file`'s section. */
export function bugWithout(bugFiles: FilePatch[], file: FilePatch): string {
  return bugFiles
    .filter((f) => f !== file)
    .map((f) => f.raw)
    .join('');
}

/**
 * One run of check 7: the bug minus `file`, and which bug-failing tests pass again. A run that
 * fails (the rest does not apply, the suite crashes) restores nothing, and says why.
 */
async function revertOneFile(run: ValidationRun, file: FilePatch): Promise<InverseResult> {
  const name = file.newPath ?? file.oldPath ?? '?';
  try {
    const o = await run.runTestsWith(`bug without ${name}`, 'inverse', [
      bugWithout(run.bugFiles, file),
    ]);
    const tests = testMapOf(`test run without ${name}`, o);
    return { file: name, restored: passingOf(run.failing, tests) };
  } catch (err) {
    return { file: name, restored: [] as string[], error: errorMessage(err) };
  }
}

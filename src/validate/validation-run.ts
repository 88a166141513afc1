/**
 * The machinery every check of one validation shares (see validator.ts for the order): the
 * state checks hand to later checks, the report being filled in, and how a check's outcome
 * and a test run are recorded in it. The checks themselves live in check-files.ts and
 * check-runs.ts.
 */

import type { Artifact } from '../artifact/artifact.js';
import { artifactHash } from '../artifact/artifact.js';
import { type FilePatch, PatchError } from '../artifact/patch.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import type { TestMap } from '../testing/results.js';
import {
  runTests,
  stageHarness,
  type TestHarness,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { Baseline, BaselineCache } from './baseline.js';
import {
  CHECKS,
  type CheckKey,
  type CheckResult,
  type TestRunRecord,
  type ValidationReport,
  type ValidationSettings,
} from './report.js';

/** A check's verdict that the artifact is wrong; any other error is reported as internal. */
export class CheckFailed extends Error {}

export function fail(msg: string): never {
  throw new CheckFailed(msg);
}

type RunStage = TestRunRecord['stage'];

/** Everything the checks of one validation share; checks fill in the last group in order. */
export interface ValidationRun {
  readonly artifact: Artifact;
  readonly host: SandboxProvider;
  /** The original repository state the artifact's diffs are relative to. */
  readonly snapshot: Snapshot;
  readonly settings: ValidationSettings;
  readonly cache: BaselineCache;
  readonly progress: (message: string) => void;
  /** test_script.sh and test_parser.py staged on the host; removed when validation ends. */
  readonly harness: TestHarness & { cleanup(): void };
  readonly report: ValidationReport;
  /** Slowest test run per stage, summed into the report's critical path. */
  readonly stageMax: Map<string, number>;
  /** Limits of test runs after the baseline: the script's is scaled to it by check 2. */
  readonly testOpts: { scriptTimeoutMs: number; parserTimeoutMs: number };
  /**
   * One test run in a fresh sandbox over the original with `patches` applied in order,
   * recorded in the report. A field, so a check's verdict can be tested on given outcomes.
   */
  runTestsWith: (label: string, stage: RunStage, patches: string[]) => Promise<TestRunOutcome>;
  /** Check 1: the parsed diffs. */
  bugFiles: FilePatch[];
  weakenFiles: FilePatch[];
  /** Check 2: the original suite's results. */
  baseline: Baseline | null;
  /** Check 3: tests that pass on the original. */
  baselinePassed: string[];
  /** Check 5: tests that pass on the original and fail with the bug. */
  failing: string[];
}

/** A report with nothing checked yet: fields in the order the report format has them. */
export function newReport(
  artifact: Artifact,
  snapshot: Snapshot,
  settings: ValidationSettings,
  host: SandboxProvider,
): ValidationReport {
  return {
    artifact: { id: artifact.metadata.id, hash: artifactHash(artifact) },
    repo: snapshot.sourceDir,
    valid: false,
    failedCheck: null,
    checks: [],
    baseline: null,
    bug: null,
    weakened: null,
    inverse: null,
    warnings: [],
    testRuns: [],
    timings: { totalMs: 0, criticalPathMs: 0 },
    settings,
    sandbox: host.mode,
  };
}

/**
 * Test runs a caller already made on the artifact's snapshot, by knownRunKey: the validator
 * takes their outcomes instead of running the same thing again.
 */
export type KnownRuns = ReadonlyMap<string, TestRunOutcome>;

/** The key of a run: script, parser and the patches applied (concatenated, as one state). */
export function knownRunKey(testScript: string, testParser: string, patches: string[]): string {
  return sha256(testScript, testParser, patches.join(''));
}

/** A run with an empty report and the harness staged; the caller must clean the harness up. */
export function startRun(
  artifact: Artifact,
  opts: {
    host: SandboxProvider;
    snapshot: Snapshot;
    settings: ValidationSettings;
    cache: BaselineCache;
    progress: (message: string) => void;
    knownRuns?: KnownRuns;
  },
): ValidationRun {
  const { host, snapshot, settings } = opts;
  const run: ValidationRun = {
    ...opts,
    artifact,
    report: newReport(artifact, snapshot, settings, host),
    harness: stageHarness(artifact.testScript, artifact.testParser),
    stageMax: new Map(),
    testOpts: {
      scriptTimeoutMs: settings.scriptTimeoutMs,
      parserTimeoutMs: settings.parserTimeoutMs,
    },
    runTestsWith: (label, stage, patches) => {
      const known = opts.knownRuns?.get(
        knownRunKey(artifact.testScript, artifact.testParser, patches),
      );
      if (!known) return runInFreshSandbox(run, label, stage, patches);
      recordTestRun(run, label, stage, known, true);
      return Promise.resolve(known);
    },
    bugFiles: [],
    weakenFiles: [],
    baseline: null,
    baselinePassed: [],
    failing: [],
  };
  return run;
}

/** Adds a test run to the report: its times, its error, its warnings, its stage's maximum. */
export function recordTestRun(
  run: Pick<ValidationRun, 'report' | 'stageMax'>,
  label: string,
  stage: RunStage,
  o: TestRunOutcome,
  reused = false,
): void {
  const { report, stageMax } = run;
  report.testRuns.push({
    label,
    stage,
    ok: o.ok || o.kind === 'no-tests',
    scriptMs: Math.round(o.scriptMs),
    parserMs: Math.round(o.parserMs),
    ...(o.ok ? {} : { error: o.message }),
    ...(reused ? { reused: true } : {}),
  });
  // A reused run took no time here: it is not on this validation's critical path.
  if (!reused) stageMax.set(stage, Math.max(stageMax.get(stage) ?? 0, o.scriptMs + o.parserMs));
  if (o.ok) for (const w of o.warnings) report.warnings.push(`${label}: ${w}`);
}

/** The default `runTestsWith`: every run starts from the untouched original snapshot. */
async function runInFreshSandbox(
  run: ValidationRun,
  label: string,
  stage: RunStage,
  patches: string[],
): Promise<TestRunOutcome> {
  const sb = run.host.create(run.snapshot);
  try {
    const applied = await sb.applyPatches(patches);
    if (!applied.ok) fail(`${label}: patch does not apply: ${applied.message}`);
    const o = await runTests(sb, run.harness, run.testOpts);
    recordTestRun(run, label, stage, o);
    return o;
  } finally {
    await sb.dispose();
  }
}

/** Test map of a run; "no tests found" means every test is missing, i.e. not passing. */
export function testMapOf(label: string, o: TestRunOutcome): TestMap {
  if (o.ok) return o.tests;
  if (o.kind === 'no-tests') return {};
  return fail(`${label}: ${o.message}`);
}

/**
 * Runs one check and records its result; a failure also becomes the report's failedCheck.
 * Errors other than a check's verdict (or a diff that does not parse) are internal errors.
 */
export async function runCheck(
  run: Pick<ValidationRun, 'report' | 'progress'>,
  key: CheckKey,
  body: () => Promise<string>,
): Promise<boolean> {
  const def = CHECKS.find((c) => c.key === key)!;
  const t0 = performance.now();
  run.progress(`check ${def.id}/7 ${def.name}`);
  const result: CheckResult = {
    id: def.id,
    key,
    name: def.name,
    status: 'passed',
    message: '',
    durationMs: 0,
  };
  try {
    result.message = await body();
  } catch (err) {
    result.status = 'failed';
    result.message = errorMessage(err);
    if (!(err instanceof CheckFailed) && !(err instanceof PatchError)) {
      result.message = `internal error: ${result.message}`;
    }
    run.report.failedCheck = { id: def.id, key, name: def.name, message: result.message };
  }
  result.durationMs = Math.round(performance.now() - t0);
  run.report.checks.push(result);
  return result.status === 'passed';
}

/**
 * Closes the report: checks never reached are listed as skipped, validity follows from
 * whether one failed, and the timings are filled in.
 */
export function finishReport(
  run: Pick<ValidationRun, 'report' | 'stageMax'>,
  startedMs: number,
): ValidationReport {
  const { report } = run;
  for (const def of CHECKS) {
    if (!report.checks.some((c) => c.key === def.key)) {
      report.checks.push({
        ...def,
        status: 'skipped',
        message: 'not run: an earlier check failed',
        durationMs: 0,
      });
    }
  }
  report.valid = report.failedCheck === null;
  report.timings.totalMs = Math.round(performance.now() - startedMs);
  report.timings.criticalPathMs = Math.round([...run.stageMax.values()].reduce((a, b) => a + b, 0));
  return report;
}

/** The first `n` ids, and how many more there are. */
export function preview(ids: string[], n = 3): string {
  const shown = ids.slice(0, n).join(', ');
  return ids.length > n ? `${shown}, ... (+${ids.length - n})` : shown;
}

import { availableParallelism } from 'node:os';
import type { Artifact } from '../artifact/artifact.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import type { TestHarness } from '../testing/run-tests.js';
import { BaselineCache } from './baseline.js';
import { checkFiles } from './check-files.js';
import {
  checkBug,
  checkInverse,
  checkParser,
  checkScope,
  checkScript,
  checkWeakening,
} from './check-runs.js';
import { CHECKS, type CheckKey, type ValidationReport, type ValidationSettings } from './report.js';
import {
  finishReport,
  type KnownRuns,
  runCheck,
  startRun,
  type ValidationRun,
} from './validation-run.js';

export const DEFAULT_SETTINGS: ValidationSettings = {
  minPassingTests: 1,
  minChangedFiles: 1,
  maxChangedLines: 500,
  minFailingTests: 1,
  baselineRuns: 2,
  concurrency: Math.max(1, availableParallelism()),
  scriptTimeoutMs: 300_000,
  parserTimeoutMs: 60_000,
};

export interface ValidateContext {
  host: SandboxProvider;
  /** The original repository state the artifact's diffs are relative to. */
  snapshot: Snapshot;
  cache?: BaselineCache;
  settings?: Partial<ValidationSettings>;
  onProgress?: (message: string) => void;
  /**
   * Checks not to run, with the reason recorded: a higher-order bug (SSR-SPEC 7) skips inverse
   * mutation, because a failed solver patch composed onto a bug need not be necessary for it.
   */
  skip?: Partial<Record<CheckKey, string>>;
  /** Runs the caller made already (validation-run.ts, KnownRuns): not made again. */
  knownRuns?: KnownRuns;
}

/**
 * What each check does, by key; validateArtifact runs them in the order of CHECKS. Check 1 is
 * static (check-files.ts); checks 2-7 run or judge the test suite (check-runs.ts).
 */
const CHECK_STAGES: Record<CheckKey, (run: ValidationRun) => Promise<string>> = {
  files: checkFiles,
  parser: checkParser,
  script: checkScript,
  scope: checkScope,
  bug: checkBug,
  weakening: checkWeakening,
  inverse: checkInverse,
};

const defaultCache = new BaselineCache();

/**
 * The seven consistency checks of SSR-SPEC section 3, in order, stopping at the first that
 * fails. Every test run happens in a fresh sandbox over the original snapshot; the user's
 * directory is never written.
 */
export async function validateArtifact(
  artifact: Artifact,
  ctx: ValidateContext,
): Promise<ValidationReport> {
  const started = performance.now();
  const run = startRun(artifact, {
    host: ctx.host,
    snapshot: ctx.snapshot,
    settings: { ...DEFAULT_SETTINGS, ...ctx.settings },
    cache: ctx.cache ?? defaultCache,
    progress: ctx.onProgress ?? (() => {}),
    knownRuns: ctx.knownRuns,
  });
  try {
    await runChecks(run, ctx.skip);
  } finally {
    run.harness.cleanup();
  }
  return finishReport(run, started);
}

/**
 * Runs the checks in order until one fails; a check the caller asked to skip is recorded as
 * skipped with the caller's reason, and the next one runs.
 */
async function runChecks(run: ValidationRun, skip: ValidateContext['skip']): Promise<void> {
  for (const def of CHECKS) {
    const why = skip?.[def.key];
    if (why !== undefined) {
      run.report.checks.push({ ...def, status: 'skipped', message: why, durationMs: 0 });
      continue;
    }
    if (!(await runCheck(run, def.key, () => CHECK_STAGES[def.key](run)))) break;
  }
}

export type { TestHarness };

/**
 * The steps of a self-play run: each schedules its injections, procedural artifacts and pooled
 * higher-order bugs with their solver groups, redoes episodes that failed on errors, and ends
 * with its metrics record (and, in a synced run, its export for the trainer).
 */
import type { EpisodeRecordV1, RunStore } from '../store/run-store.js';
import { isErrorEpisode } from '../store/run-store.js';
import { pooledHigherOrder } from './higher-order-pool.js';
import { runInjection } from './injection.js';
import { stepMetrics } from './metrics.js';
import { runProcedural } from './procedural.js';
import { type SelfPlayRun, Stopped } from './run-context.js';
import { solveArtifact } from './solving.js';
import { FileSync } from './sync.js';

/** Passes over a step's work: a step whose episodes failed on errors redoes just those. */
const STEP_PASSES = 3;

/** Why a run stops on a step whose episodes still fail on errors after every pass. */
export function stepFailureMessage(
  step: number,
  failed: Pick<EpisodeRecordV1, 'reason'>[],
): string {
  return (
    `step ${step + 1}: ${failed.length} episode(s) still failed on model or infrastructure ` +
    `errors after ${STEP_PASSES} tries, the last: ${failed.at(-1)!.reason.replace(/\s*\n\s*/g, ' ')}; ` +
    'stopped (finished work is kept: rerun the same command to redo them)'
  );
}

/** Episodes of a step whose latest record is an error. */
function failedEpisodes(store: RunStore, step: number): EpisodeRecordV1[] {
  return store.episodes().filter((e) => e.step === step && isErrorEpisode(e));
}

/**
 * Runs the steps not finished yet, in order; returns whether the run stopped before the last
 * (asked to, or a step could not finish: then `run.journal.failure` says why). In a synced run
 * each step waits for the trainer's policy for the one before.
 */
export async function runSteps(run: SelfPlayRun, syncTimeoutMs?: number): Promise<boolean> {
  const sync =
    run.settings.sync === 'file'
      ? new FileSync(run.store, run.model, {
          timeoutMs: syncTimeoutMs,
          signal: run.signal,
          emit: run.emit,
        })
      : null;
  sync?.catchUp();
  const finished = new Set(run.store.steps().map((m) => m.step));
  for (let step = 0; step < run.settings.steps; step++) {
    if (finished.has(step)) continue;
    if (run.signal.aborted) return true;
    if (sync && step > 0) {
      // Nothing of this step is sampled before the trainer's policy for the last one.
      const policy = await sync.beforeStep(step);
      if (!policy) return true;
      run.policyVersion = policy.version;
    }
    if (!(await runStep(run, step))) return true;
    sync?.afterStep(step, run.policyVersion);
  }
  return false;
}

/**
 * One step, to its metrics record; false when it did not finish (stopped, or episodes still
 * failing on errors, which `run.journal` then records as the run's failure).
 */
async function runStep(run: SelfPlayRun, step: number): Promise<boolean> {
  const t0 = performance.now();
  const resumed = run.store.all().filter((r) => 'step' in r && r.step === step).length;
  run.emit({ type: 'step-start', step, resumed });
  let failed: EpisodeRecordV1[];
  try {
    failed = await runStepPasses(run, step);
  } catch (err) {
    if (err instanceof Stopped || run.signal.aborted) return false;
    throw err;
  }
  if (failed.length > 0) {
    // The step is not finished: its metrics would count the failures as the policy's.
    run.journal.fail(stepFailureMessage(step, failed));
    return false;
  }
  const metrics = stepMetrics(run.store, step, performance.now() - t0);
  run.store.append({ kind: 'step', step, metrics });
  run.emit({ type: 'step', metrics });
  return true;
}

/**
 * Up to STEP_PASSES passes over a step's work; returns the episodes still failed on errors.
 * Work is skipped when its record exists, so a pass after the first redoes just the episodes
 * that failed on errors (and what depends on them).
 */
async function runStepPasses(run: SelfPlayRun, step: number): Promise<EpisodeRecordV1[]> {
  let failed: EpisodeRecordV1[] = [];
  for (let pass = 1; pass <= STEP_PASSES; pass++) {
    await runStepWork(run, step);
    failed = failedEpisodes(run.store, step);
    if (failed.length === 0 || pass === STEP_PASSES) break;
    run.emit({
      type: 'note',
      message: `step ${step + 1}: ${failed.length} episode(s) failed on model or infrastructure errors; redoing them`,
    });
  }
  return failed;
}

/**
 * One pass over a step's work, all at once: each injection and then the solvers on its bug,
 * the procedural artifacts and then theirs, the pooled higher-order bugs' solvers. Everything
 * is awaited before the first failure is rethrown, so nothing is left running.
 */
async function runStepWork(run: SelfPlayRun, step: number): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (let k = 0; k < run.settings.injectionsPerStep; k++) {
    jobs.push(
      run
        .limit(() => runInjection(run, step, k))
        .then((id) => (id ? solveArtifact(run, step, id) : undefined)),
    );
  }
  jobs.push(
    runProcedural(run, step).then((ids) =>
      Promise.all(ids.map((id) => solveArtifact(run, step, id))).then(() => {}),
    ),
  );
  const pool = pooledHigherOrder(
    run.store.artifacts(),
    run.store.solveRates(),
    step,
    run.settings.higherOrder.perStep,
  );
  for (const id of pool) jobs.push(solveArtifact(run, step, id));
  const results = await Promise.allSettled(jobs);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

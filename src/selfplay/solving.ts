/**
 * The solver side of a step (SSR-SPEC 4, 5): n solver attempts on an artifact (one GRPO group),
 * then the artifact's solve rate, which rewards the injection that made it, and higher-order
 * bugs from the group's failed attempts.
 */
import { runSolverAttempt, type SolveAttempt } from '../agent/solver.js';
import { prepareSolverStart } from '../agent/solver-env.js';
import { type Artifact, readArtifact } from '../artifact/artifact.js';
import {
  type ArtifactRecordV1,
  type EpisodeRecordV1,
  isErrorEpisode,
  type SolveRateRecordV1,
} from '../store/run-store.js';
import { stageHarness } from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { type Baseline, computeBaseline } from '../validate/baseline.js';
import { DEFAULT_SETTINGS } from '../validate/validator.js';
import { composeFromFailedAttempt, failedAttemptsToCompose } from './higher-order-pool.js';
import { injectorReward, solverReward } from './rewards.js';
import {
  artifactRecord,
  finishedEpisodeIds,
  policyOf,
  type RepoState,
  repoOf,
  type SelfPlayRun,
  Stopped,
  stopIfAsked,
} from './run-context.js';

/** What every attempt of one group shares. */
interface SolverGroup {
  step: number;
  repo: RepoState;
  artifactId: string;
  artifact: Artifact;
  baseline: Baseline;
  /** `s<step>-<artifact id>`; attempt i is `<groupId>-a<i>`. */
  groupId: string;
  /** Episodes finished when the group started: their attempts are not run again. */
  done: Set<string>;
}

/** A graded attempt's outcome and reward; an attempt that ended on a model error has neither. */
export function solverVerdict(
  a: Pick<SolveAttempt, 'error' | 'evaluation'>,
): Pick<EpisodeRecordV1, 'outcome' | 'reason' | 'reward'> {
  const graded = a.error === undefined;
  return {
    outcome: !graded ? 'error' : a.evaluation.solved ? 'solved' : 'unsolved',
    reason: a.error ?? a.evaluation.reason,
    reward: graded ? solverReward(a.evaluation.solved) : null,
  };
}

/**
 * The solve-rate record of a complete group. It also pays the injector episode that made the
 * artifact in this step (SSR-SPEC 5); procedural, higher-order and pooled bugs have none.
 */
export function solveRateRecord(
  artifactId: string,
  step: number,
  attempts: Pick<EpisodeRecordV1, 'outcome'>[],
  made: Pick<ArtifactRecordV1, 'source' | 'step' | 'episodeId'>,
  alpha: number,
): SolveRateRecordV1 {
  const solved = attempts.filter((e) => e.outcome === 'solved').length;
  const solveRate = solved / attempts.length;
  const injectorEp = made.source === 'llm' && made.step === step ? made.episodeId : undefined;
  const reward = injectorEp ? injectorReward(true, solveRate, alpha) : undefined;
  return {
    kind: 'solve-rate',
    artifactId,
    step,
    solved,
    attempts: attempts.length,
    solveRate,
    ...(injectorEp ? { injectorEpisodeId: injectorEp, injectorReward: reward } : {}),
  };
}

/**
 * n solver attempts on one artifact, then its solve rate and higher-order bugs. Attempts that
 * finished before are skipped; a group with a failed attempt gets no solve rate until it is
 * redone (on the next pass or rerun).
 */
export async function solveArtifact(
  run: SelfPlayRun,
  step: number,
  artifactId: string,
): Promise<void> {
  const s = run.settings;
  const rec = artifactRecord(run.store, artifactId)!;
  const repo = repoOf(run.repos, rec.repo);
  const artifact = readArtifact(run.store.artifactDir(artifactId));
  const baseline = await baselineFor(run, repo, artifact);
  prepareStartOnce(run, repo, artifact, artifactId);
  const group: SolverGroup = {
    step,
    repo,
    artifactId,
    artifact,
    baseline,
    groupId: `s${step}-${artifactId}`,
    done: finishedEpisodeIds(run.store),
  };
  await Promise.all(
    Array.from({ length: s.solverAttempts }, (_, i) =>
      run.limit(() => runSolverEpisode(run, group, i)),
    ),
  );
  stopIfAsked(run.signal);
  const attempts = run.store.episodes().filter((e) => e.groupId === group.groupId);
  // A group with a failed attempt has no solve rate yet: the attempt is redone first.
  if (attempts.length < s.solverAttempts || attempts.some(isErrorEpisode)) return;
  if (!run.store.solveRates().some((r) => r.artifactId === artifactId && r.step === step)) {
    const record = solveRateRecord(artifactId, step, attempts, rec, s.alpha);
    run.store.append(record);
    const { solveRate, injectorReward } = record;
    run.emit({ type: 'solve-rate', artifactId, solveRate, injectorReward });
  }
  if (s.higherOrder.enabled && artifact.metadata.order < s.higherOrder.maxOrder) {
    for (const e of failedAttemptsToCompose(attempts, s.higherOrder.perArtifact)) {
      stopIfAsked(run.signal);
      await run.limit(() => composeFromFailedAttempt(run, step, repo, artifact, e));
    }
  }
}

/** The tests' results on the original repository, computed once per repository and harness. */
function baselineFor(run: SelfPlayRun, repo: RepoState, a: Artifact): Promise<Baseline> {
  const key = run.cache.key(
    repo.snapshot,
    a.testScript,
    a.testParser,
    DEFAULT_SETTINGS.baselineRuns,
  );
  return run.cache.get(key, async () => {
    const harness = stageHarness(a.testScript, a.testParser);
    try {
      return await computeBaseline(
        run.host,
        repo.snapshot,
        harness,
        DEFAULT_SETTINGS.baselineRuns,
        {
          scriptTimeoutMs: run.settings.testTimeoutMs ?? DEFAULT_SETTINGS.scriptTimeoutMs,
        },
      );
    } finally {
      harness.cleanup();
    }
  });
}

/**
 * Starts preparing the artifact's solver start state (the bug applied, tests hidden) unless it
 * is being prepared already: the attempts of all its groups share it. A failed preparation is
 * forgotten, so a later group tries again.
 */
function prepareStartOnce(
  run: SelfPlayRun,
  repo: RepoState,
  artifact: Artifact,
  artifactId: string,
): void {
  if (run.starts.has(artifactId)) return;
  const p = prepareSolverStart(run.host, repo.snapshot, artifact);
  p.catch(() => run.starts.delete(artifactId));
  run.starts.set(artifactId, p);
}

/** Solver attempt i of a group, graded and journaled (an error record when it failed). */
async function runSolverEpisode(run: SelfPlayRun, g: SolverGroup, i: number): Promise<void> {
  const id = `${g.groupId}-a${i}`;
  if (g.done.has(id)) return;
  stopIfAsked(run.signal);
  const t0 = performance.now();
  const base = {
    kind: 'episode' as const,
    id,
    step: g.step,
    role: 'solver' as const,
    repo: g.repo.dir,
    artifactId: g.artifactId,
    groupId: g.groupId,
    attempt: i,
    model: run.model.description,
    policy: policyOf(run, null),
  };
  let record: EpisodeRecordV1;
  try {
    const start = await run.starts.get(g.artifactId)!;
    const a: SolveAttempt = await runSolverAttempt({
      host: run.host,
      original: g.repo.snapshot,
      start,
      artifact: g.artifact,
      baseline: g.baseline,
      model: run.model,
      budget: run.settings.budget,
      temperature: run.settings.temperature,
      signal: run.signal,
      skipGradingOnModelError: true,
    });
    if (a.trajectory.endReason === 'aborted') throw new Stopped();
    const policy = policyOf(run, a.trajectory);
    const trajectory = run.store.writeFile(
      `trajectories/${id}.json`,
      `${JSON.stringify({ episodeId: id, role: 'solver', policy, trajectory: a.trajectory, patch: a.patch, evaluation: a.evaluation })}\n`,
    );
    const patch = a.patch ? run.store.writeFile(`patches/${id}.diff`, a.patch) : null;
    record = {
      ...base,
      policy,
      ...solverVerdict(a),
      endReason: a.trajectory.endReason,
      turns: a.trajectory.turns.length,
      usage: a.trajectory.usage,
      durationMs: Math.round(performance.now() - t0),
      trajectory,
      patch,
      finishedAt: new Date().toISOString(),
    };
  } catch (err) {
    if (err instanceof Stopped || run.signal.aborted) throw new Stopped();
    record = {
      ...base,
      outcome: 'error',
      reason: errorMessage(err),
      reward: null,
      endReason: 'error',
      turns: 0,
      usage: { promptTokens: 0, completionTokens: 0 },
      durationMs: Math.round(performance.now() - t0),
      trajectory: null,
      patch: null,
      finishedAt: new Date().toISOString(),
    };
  }
  run.journal.episode(record);
}

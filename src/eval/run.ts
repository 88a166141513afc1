/**
 * Evaluation runs: solver attempts on SWE-bench tasks (natural-language issues) and on
 * held-out self-play artifacts, graded, with resolve rate and pass@k.
 */
import pLimit from 'p-limit';
import {
  type EpisodeBudget,
  endedOnModelError,
  runEpisode,
  type Trajectory,
} from '../agent/loop.js';
import { runSolverAttempt, SOLVER_SYSTEM, solverIssuePrompt } from '../agent/solver.js';
import { prepareSolverStart, type SolverStart, solverPatch } from '../agent/solver-env.js';
import { defaultTools } from '../agent/tools/index.js';
import type { ModelClient } from '../agent/types.js';
import type { Artifact } from '../artifact/artifact.js';
import type { TestOverrides } from '../discovery/discover.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import type { TestRunOptions } from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { type Baseline, BaselineCache } from '../validate/baseline.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import { EnvironmentCache, hideHistory } from './environment.js';
import { type Grade, gradePatch } from './grade.js';
import type { EvalTask } from './tasks.js';

/** The record of one attempt on one task (what report.json and the journal hold). */
export interface AttemptRecord {
  id: string;
  kind: 'task' | 'artifact';
  attempt: number;
  resolved: boolean;
  reason: string;
  failingF2P: string[];
  failingP2P: string[];
  discarded: string[];
  patch: string;
  endReason: Trajectory['endReason'] | null;
  turns: number;
  tokens: { prompt: number; completion: number };
  durationMs: number;
  /** Set when the attempt could not run (environment, discovery, invalid artifact). */
  error?: string;
  /** Tasks: where the graders' test script came from (the task, discovery, --test-command). */
  harness?: string;
  trajectory: Trajectory | null;
}

export interface RunOptions {
  host: SandboxHost;
  model: ModelClient;
  attempts: number;
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  concurrency?: number;
  signal?: AbortSignal;
  testOptions?: TestRunOptions;
  /** How the tests run where a task brings no test_script (default: discovery looks). */
  discovery?: TestOverrides;
  /** A finished attempt from an earlier run (resume), or null to run it. */
  previous?: (id: string, attempt: number) => AttemptRecord | null;
  onAttempt?: (record: AttemptRecord) => void;
}

function errorRecord(
  id: string,
  kind: AttemptRecord['kind'],
  attempt: number,
  error: string,
  started: number,
): AttemptRecord {
  return {
    id,
    kind,
    attempt,
    resolved: false,
    reason: error,
    failingF2P: [],
    failingP2P: [],
    discarded: [],
    patch: '',
    endReason: null,
    turns: 0,
    tokens: { prompt: 0, completion: 0 },
    durationMs: Math.round(performance.now() - started),
    error,
    trajectory: null,
  };
}

function fromTrajectory(t: Trajectory) {
  return {
    endReason: t.endReason,
    turns: t.turns.length,
    tokens: { prompt: t.usage.promptTokens, completion: t.usage.completionTokens },
  };
}

/** Runs `jobs` with a concurrency limit, reusing finished attempts; results in job order. */
async function runJobs(
  jobs: { id: string; attempt: number; run: () => Promise<AttemptRecord> }[],
  opts: RunOptions,
): Promise<AttemptRecord[]> {
  const limit = pLimit(Math.max(1, opts.concurrency ?? 1));
  return Promise.all(
    jobs.map((j) =>
      limit(async () => {
        const prev = opts.previous?.(j.id, j.attempt);
        if (prev) return prev;
        const rec = await j.run();
        opts.onAttempt?.(rec);
        return rec;
      }),
    ),
  );
}

/**
 * `attempts` solver episodes per SWE-bench task: the solver gets problem_statement in the
 * general issue prompt, works from the base state with history hidden, and its diff is
 * graded with test_patch applied.
 */
export async function evaluateTasks(tasks: EvalTask[], opts: RunOptions): Promise<AttemptRecord[]> {
  const envs = new EnvironmentCache(opts.host, opts.discovery);
  const starts = new Map<string, Promise<Snapshot>>();
  const startOf = (base: Snapshot) => {
    let p = starts.get(base.id);
    if (!p) {
      p = hideHistory(opts.host, base);
      starts.set(base.id, p);
    }
    return p;
  };
  const jobs = tasks.flatMap((task) =>
    Array.from({ length: opts.attempts }, (_, i) => ({
      id: task.instance_id,
      attempt: i + 1,
      run: async (): Promise<AttemptRecord> => {
        const started = performance.now();
        let env: Awaited<ReturnType<EnvironmentCache['get']>>;
        let start: Snapshot;
        try {
          env = await envs.get(task);
          start = await startOf(env.base);
        } catch (err) {
          return errorRecord(task.instance_id, 'task', i + 1, errorMessage(err), started);
        }
        if (opts.signal?.aborted)
          return errorRecord(task.instance_id, 'task', i + 1, 'stopped', started);
        const sb = opts.host.create(start);
        let trajectory: Trajectory;
        let patch: string;
        try {
          trajectory = await runEpisode({
            model: opts.model,
            sandbox: sb,
            system: SOLVER_SYSTEM,
            user: solverIssuePrompt(task.problem_statement, 'text'),
            tools: defaultTools(),
            budget: opts.budget,
            temperature: opts.temperature,
            signal: opts.signal,
          });
          patch = await solverPatch(sb);
        } catch (err) {
          // The sandbox itself failed (not the model: runEpisode records those): one lost
          // attempt, not a lost run.
          return errorRecord(task.instance_id, 'task', i + 1, errorMessage(err), started);
        } finally {
          await sb.dispose();
        }
        // A model that could not be reached is not a failed attempt: not graded, redone on
        // resume, and left out of the rates.
        if (endedOnModelError(trajectory)) {
          return {
            ...errorRecord(
              task.instance_id,
              'task',
              i + 1,
              `model error: ${trajectory.endDetail}`,
              started,
            ),
            patch,
            trajectory,
            ...fromTrajectory(trajectory),
          };
        }
        let grade: Grade;
        try {
          grade = await gradePatch(
            opts.host,
            {
              base: env.base,
              testScript: env.testScript,
              testParser: env.testParser,
              testPatch: task.test_patch,
              failToPass: task.FAIL_TO_PASS,
              passToPass: task.PASS_TO_PASS,
              protectedFiles: task.test_files,
            },
            patch,
            opts.testOptions,
          );
        } catch (err) {
          return {
            ...errorRecord(task.instance_id, 'task', i + 1, errorMessage(err), started),
            patch,
            trajectory,
            ...fromTrajectory(trajectory),
          };
        }
        return {
          id: task.instance_id,
          kind: 'task',
          attempt: i + 1,
          resolved: grade.resolved,
          reason: grade.reason,
          failingF2P: grade.failingF2P,
          failingP2P: grade.failingP2P,
          discarded: grade.discarded,
          patch,
          ...fromTrajectory(trajectory),
          durationMs: Math.round(performance.now() - started),
          harness: env.harnessSource,
          trajectory,
        };
      },
    })),
  );
  return runJobs(jobs, opts);
}

export interface HeldOutArtifact {
  artifact: Artifact;
  /** The original repository the artifact was made on. */
  repoDir: string;
}

/**
 * Held-out self-play artifacts, solved exactly as `ssr solve` does: validated first, then the
 * reversed weakening as the issue, graded with the oracle test files reset.
 */
export async function evaluateArtifacts(
  items: HeldOutArtifact[],
  opts: RunOptions,
): Promise<AttemptRecord[]> {
  const cache = new BaselineCache();
  const originals = new Map<string, Snapshot>();
  const prepared = new Map<
    string,
    Promise<{ original: Snapshot; start: SolverStart; baseline: Baseline }>
  >();
  const prepare = (item: HeldOutArtifact) => {
    const id = item.artifact.metadata.id;
    let p = prepared.get(id);
    if (!p) {
      p = (async () => {
        let original = originals.get(item.repoDir);
        if (!original) {
          original = opts.host.snapshotDir(item.repoDir);
          originals.set(item.repoDir, original);
        }
        const report = await validateArtifact(item.artifact, {
          host: opts.host,
          snapshot: original,
          cache,
        });
        if (!report.valid) {
          const f = report.failedCheck!;
          throw new Error(`artifact is invalid: check ${f.id} (${f.name}): ${f.message}`);
        }
        const key = cache.key(
          original,
          item.artifact.testScript,
          item.artifact.testParser,
          DEFAULT_SETTINGS.baselineRuns,
        );
        const baseline = await cache.get(key, () => {
          throw new Error('baseline missing after validation');
        });
        const start = await prepareSolverStart(opts.host, original, item.artifact);
        return { original, start, baseline };
      })();
      prepared.set(id, p);
    }
    return p;
  };
  const jobs = items.flatMap((item) =>
    Array.from({ length: opts.attempts }, (_, i) => ({
      id: item.artifact.metadata.id,
      attempt: i + 1,
      run: async (): Promise<AttemptRecord> => {
        const id = item.artifact.metadata.id;
        const started = performance.now();
        let ready: Awaited<ReturnType<typeof prepare>>;
        try {
          ready = await prepare(item);
        } catch (err) {
          return errorRecord(id, 'artifact', i + 1, errorMessage(err), started);
        }
        let a: Awaited<ReturnType<typeof runSolverAttempt>>;
        try {
          a = await runSolverAttempt({
            host: opts.host,
            original: ready.original,
            start: ready.start,
            artifact: item.artifact,
            baseline: ready.baseline,
            model: opts.model,
            budget: opts.budget,
            temperature: opts.temperature,
            signal: opts.signal,
            testOptions: opts.testOptions,
            skipGradingOnModelError: true,
          });
        } catch (err) {
          return errorRecord(id, 'artifact', i + 1, errorMessage(err), started);
        }
        if (a.error !== undefined) {
          return {
            ...errorRecord(id, 'artifact', i + 1, `model error: ${a.error}`, started),
            patch: a.patch,
            trajectory: a.trajectory,
            ...fromTrajectory(a.trajectory),
          };
        }
        return {
          id,
          kind: 'artifact',
          attempt: i + 1,
          resolved: a.evaluation.solved,
          reason: a.evaluation.reason,
          // Self-play artifacts have no F2P/P2P split: every baseline-passing test must pass.
          failingF2P: [],
          failingP2P: a.evaluation.failing,
          discarded: a.evaluation.discarded,
          patch: a.patch,
          ...fromTrajectory(a.trajectory),
          durationMs: Math.round(performance.now() - started),
          trajectory: a.trajectory,
        };
      },
    })),
  );
  return runJobs(jobs, opts);
}

/** Unbiased pass@k from n attempts of which c succeeded (Chen et al., 2021). */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) return c > 0 ? 1 : 0;
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

export interface TaskSummary {
  id: string;
  kind: AttemptRecord['kind'];
  attempts: number;
  resolved: number;
  errors: number;
  reasons: string[];
}

export interface SetSummary {
  tasks: number;
  /** Tasks with at least one graded attempt: the rates are over these. */
  graded: number;
  /** Attempts that ended on an error and were not graded. */
  errors: number;
  attemptsPerTask: number;
  /** Mean over every attempt of every task. */
  resolveRate: number;
  /** Tasks with at least one resolved attempt, over all tasks. */
  passAtK: number;
  /** Unbiased pass@j for j = 1..k. */
  passAt: Record<string, number>;
  perTask: TaskSummary[];
}

export function summarize(records: AttemptRecord[], attempts: number): SetSummary {
  const byId = new Map<string, AttemptRecord[]>();
  for (const r of records) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  // Attempts that ended on an error (environment, model) were never graded: they count in
  // `errors`, not in `attempts`, and a task with no graded attempt is left out of the rates.
  const perTask: TaskSummary[] = [...byId.entries()].map(([id, rs]) => ({
    id,
    kind: rs[0]!.kind,
    attempts: rs.filter((r) => !r.error).length,
    resolved: rs.filter((r) => r.resolved).length,
    errors: rs.filter((r) => r.error).length,
    reasons: rs.map((r) => r.reason),
  }));
  const graded = perTask.filter((t) => t.attempts > 0);
  const n = graded.length;
  const mean = (f: (t: TaskSummary) => number) =>
    n ? graded.reduce((s, t) => s + f(t), 0) / n : 0;
  const passAt: Record<string, number> = {};
  for (let k = 1; k <= attempts; k++)
    passAt[String(k)] = mean((t) => passAtK(t.attempts, t.resolved, k));
  return {
    tasks: perTask.length,
    graded: n,
    errors: perTask.reduce((s, t) => s + t.errors, 0),
    attemptsPerTask: attempts,
    resolveRate: mean((t) => (t.attempts ? t.resolved / t.attempts : 0)),
    passAtK: mean((t) => (t.resolved > 0 ? 1 : 0)),
    passAt,
    perTask,
  };
}

import { setMaxListeners } from 'node:events';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import pLimit from 'p-limit';
import { type InjectorStrategy, injectWithModel } from '../agent/injector.js';
import {
  type EpisodeBudget,
  endedOnModelError,
  reportedModel,
  type Trajectory,
} from '../agent/loop.js';
import { runSolverAttempt, type SolveAttempt } from '../agent/solver.js';
import { prepareSolverStart, type SolverStart } from '../agent/solver-env.js';
import { type ModelClient, ModelFailure } from '../agent/types.js';
import { type Artifact, artifactHash, readArtifact, writeArtifact } from '../artifact/artifact.js';
import type { TestOverrides } from '../discovery/discover.js';
import { injectBugs, listSourceFiles } from '../inject/pipeline.js';
import { LayerStack } from '../sandbox/layers.js';
import { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import {
  type ArtifactRecordV1,
  type EpisodePolicy,
  type EpisodeRecordV1,
  isErrorEpisode,
  RunStore,
  type StepMetrics,
} from '../store/run-store.js';
import { stageHarness } from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { type Baseline, BaselineCache, computeBaseline } from '../validate/baseline.js';
import type { ValidationReport, ValidationSettings } from '../validate/report.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import { composeHigherOrder } from './higher-order.js';
import { stepMetrics } from './metrics.js';
import { injectorReward, solverReward } from './rewards.js';
import { FileSync, type SyncEvent } from './sync.js';

/** What decides a run's content; stored in run.json, and a rerun must match it. */
export interface SelfPlaySettings {
  repos: string[];
  steps: number;
  /** LLM injector episodes per step (K). */
  injectionsPerStep: number;
  /** Valid procedural artifacts mixed in per step (0: LLM only). */
  proceduralPerStep: number;
  /** Solver attempts per artifact (n; the paper's group size, 8). */
  solverAttempts: number;
  alpha: number;
  strategies: InjectorStrategy[];
  higherOrder: {
    enabled: boolean;
    /** 2 = the paper (a failed patch on a first-order bug). */
    maxOrder: number;
    /** Failed attempts composed per artifact. */
    perArtifact: number;
    /** Pool bugs scheduled per step (oldest first). */
    perStep: number;
  };
  budget: Partial<EpisodeBudget>;
  temperature?: number;
  seed: number;
  /** Hint each injection with a source file to start from (seeded), for diverse bugs. */
  focusFiles: boolean;
  testTimeoutMs?: number;
  /**
   * 'file': after each step, its export and a ready file in `sync/`, then wait for the
   * trainer's policy file before the next step (see sync.ts). Absent: no waiting. Part of the
   * settings: continuing a synced run without it would sample steps the trainer never approved.
   */
  sync?: 'file';
  /**
   * How a repository's tests run, for its procedural artifacts (`ssr inject`'s --test-command,
   * --test-format, --test-files, --max-flaky-share), by repository directory. Absent: discovery.
   */
  tests?: Record<string, TestOverrides>;
}

export const DEFAULT_SELFPLAY: Omit<SelfPlaySettings, 'repos'> = {
  steps: 10,
  injectionsPerStep: 4,
  proceduralPerStep: 0,
  solverAttempts: 8,
  alpha: 0.8,
  strategies: ['removal', 'history'],
  higherOrder: { enabled: true, maxOrder: 2, perArtifact: 2, perStep: 4 },
  budget: {},
  seed: 0,
  focusFiles: true,
};

export interface SelfPlayOptions {
  settings: SelfPlaySettings;
  model: ModelClient;
  out: string;
  /** Episodes in flight at once (model conversations, each with a sandbox). Default 4. */
  concurrency?: number;
  /**
   * Commands running in sandboxes at once, across all episodes (test runs of validations and
   * grading, the agents' commands). Default: the number of cores. Applies to the host the run
   * opens itself, not to `host`.
   */
  testConcurrency?: number;
  onEvent?: (e: SelfPlayEvent) => void;
  signal?: AbortSignal;
  host?: SandboxHost;
  allowUnsandboxed?: boolean;
  /**
   * Episodes failing on model or infrastructure errors in a row after which the run stops with
   * a ModelFailure (default 3; 0: never). Finished work is kept; a rerun redoes the failed ones.
   */
  maxConsecutiveErrors?: number;
  /**
   * The policy version recorded on every episode (`policy.version`), so an asynchronous trainer
   * can drop stale rollouts (default null). Not part of the settings: a rerun may pass another.
   */
  policyVersion?: string | null;
  /** `sync: 'file'`: how long to wait for the trainer's policy file (default: forever). */
  syncTimeoutMs?: number;
}

/** Passes over a step's work: a step whose episodes failed on errors redoes just those. */
const STEP_PASSES = 3;

export type SelfPlayEvent =
  | { type: 'step-start'; step: number; resumed: number }
  | { type: 'episode'; record: EpisodeRecordV1 }
  | { type: 'artifact'; record: ArtifactRecordV1 }
  | { type: 'solve-rate'; artifactId: string; solveRate: number; injectorReward?: number }
  | { type: 'step'; metrics: StepMetrics }
  | { type: 'note'; message: string }
  | SyncEvent;

export interface SelfPlaySummary {
  out: string;
  steps: StepMetrics[];
  stoppedEarly: boolean;
}

interface RepoState {
  dir: string;
  name: string;
  snapshot: Snapshot;
  sources: string[];
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'repo'
  );
}

function pick<T>(items: T[], ...key: (string | number)[]): T {
  const h = Number.parseInt(sha256(key.join(':')).slice(0, 8), 16);
  return items[h % items.length]!;
}

class Stopped extends Error {}

/**
 * `ssr selfplay` (SSR-SPEC 5, 7): each step runs K injector episodes (plus procedural
 * artifacts if asked), n solver episodes on every valid artifact and on pooled higher-order
 * bugs, then computes solve rates and rewards and composes new higher-order bugs from failed
 * attempts. Everything lands in a RunStore; work has deterministic ids and is skipped when its
 * record exists, so a rerun after a crash continues without losing or repeating an episode.
 */
export async function runSelfPlay(opts: SelfPlayOptions): Promise<SelfPlaySummary> {
  const s = opts.settings;
  const emit = opts.onEvent ?? (() => {});
  const store = RunStore.openForWriting(opts.out, s as unknown as Record<string, unknown>);
  // Every episode and model request listens on the one stop signal: the caller's, or ours
  // when the model keeps failing.
  const giveUp = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, giveUp.signal]) : giveUp.signal;
  setMaxListeners(0, signal);
  if (opts.signal) setMaxListeners(0, opts.signal);
  const maxErrors = opts.maxConsecutiveErrors ?? 3;
  let errorsInARow = 0;
  let failure: string | null = null;
  const ownHost = !opts.host;
  const host =
    opts.host ??
    SandboxHost.open({
      allowUnsandboxed: opts.allowUnsandboxed,
      maxConcurrentCommands: opts.testConcurrency ?? availableParallelism(),
    });
  const limit = pLimit(Math.max(1, opts.concurrency ?? 4));
  const cache = new BaselineCache();
  const validation: Partial<ValidationSettings> = {
    concurrency: Math.max(1, Math.floor(availableParallelism() / 2)),
    ...(s.testTimeoutMs ? { scriptTimeoutMs: s.testTimeoutMs } : {}),
  };
  const starts = new Map<string, Promise<SolverStart>>();
  let stoppedEarly = false;
  /** The policy version in force: episodes are sampled from it. */
  let policyVersion = opts.policyVersion ?? null;
  const policyOf = (t: Pick<Trajectory, 'turns'> | null): EpisodePolicy => ({
    model: t ? reportedModel(t) : null,
    version: policyVersion,
  });
  try {
    const repos: RepoState[] = s.repos.map((dir) => {
      const snapshot = host.snapshotDir(dir);
      return {
        dir,
        name: slug(basename(dir)),
        snapshot,
        sources: listSourceFiles(new LayerStack([...snapshot.layers]))
          .map((f) => ({ f, h: sha256(`${s.seed}:${f}`) }))
          .sort((a, b) => a.h.localeCompare(b.h))
          .map((x) => x.f),
      };
    });
    const repoOf = (dir: string) => repos.find((r) => r.dir === dir) ?? repos[0]!;
    const stopIfAsked = () => {
      if (signal.aborted) throw new Stopped();
    };

    /** Journals a finished (or failed) episode; enough failures in a row stop the run. */
    const recordEpisode = (record: EpisodeRecordV1) => {
      store.append(record);
      emit({ type: 'episode', record });
      if (!isErrorEpisode(record)) {
        errorsInARow = 0;
        return;
      }
      errorsInARow++;
      if (maxErrors > 0 && errorsInARow >= maxErrors && failure === null) {
        failure =
          `${errorsInARow} episodes in a row failed on model errors, the last: ` +
          `${record.reason.replace(/\s*\n\s*/g, ' ')}; stopped (finished work is kept: fix the ` +
          'model server and rerun the same command to continue)';
        giveUp.abort();
      }
    };

    const baselineFor = (repo: RepoState, a: Artifact): Promise<Baseline> => {
      const key = cache.key(
        repo.snapshot,
        a.testScript,
        a.testParser,
        DEFAULT_SETTINGS.baselineRuns,
      );
      return cache.get(key, async () => {
        const harness = stageHarness(a.testScript, a.testParser);
        try {
          return await computeBaseline(
            host,
            repo.snapshot,
            harness,
            DEFAULT_SETTINGS.baselineRuns,
            { scriptTimeoutMs: s.testTimeoutMs ?? DEFAULT_SETTINGS.scriptTimeoutMs },
          );
        } finally {
          harness.cleanup();
        }
      });
    };

    const writeValidArtifact = (a: Artifact, report: ValidationReport, extra = {}) =>
      writeArtifact(store.artifactDir(a.metadata.id), a, {
        'validation.json': `${JSON.stringify(report, null, 1)}\n`,
        ...extra,
      });

    /** Episodes with a final record (an error is not one: it is redone). */
    const finishedEpisodeIds = () =>
      new Set(
        store
          .episodes()
          .filter((e) => !isErrorEpisode(e))
          .map((e) => e.id),
      );
    const artifactRecord = (id: string) => store.artifacts().find((a) => a.id === id);

    // ---- one injector episode --------------------------------------------------------------
    const injection = async (step: number, k: number): Promise<string | null> => {
      const id = `s${step}-inj${k}`;
      const done = store.episodes().find((e) => e.id === id && !isErrorEpisode(e));
      if (done) {
        if (done.outcome === 'valid' && done.artifactId && !artifactRecord(done.artifactId)) {
          // Crashed between the episode record and the artifact record: finish the pair.
          const report = JSON.parse(
            readFileSync(join(store.artifactDir(done.artifactId), 'validation.json'), 'utf8'),
          ) as ValidationReport;
          appendArtifact({
            kind: 'artifact',
            id: done.artifactId,
            step,
            repo: done.repo,
            source: 'llm',
            parent: null,
            order: 1,
            valid: report.valid,
            reason: 'valid',
            episodeId: id,
          });
        }
        return done.outcome === 'valid' ? done.artifactId : null;
      }
      stopIfAsked();
      const repo = repos[(step * s.injectionsPerStep + k) % repos.length]!;
      const strategy = pick(s.strategies, s.seed, step, k, 'strategy');
      // Consecutive injections walk a seeded permutation of the files, so a step spreads out.
      const focus =
        s.focusFiles && repo.sources.length
          ? repo.sources[(step * s.injectionsPerStep + k) % repo.sources.length]
          : undefined;
      const t0 = performance.now();
      let record: EpisodeRecordV1;
      let artifactToAdd: ArtifactRecordV1 | null = null;
      const base = {
        kind: 'episode' as const,
        id,
        step,
        role: 'injector' as const,
        repo: repo.dir,
        groupId: `s${step}-injector`,
        strategy,
        model: opts.model.description,
        policy: policyOf(null),
      };
      try {
        const r = await injectWithModel({
          host,
          original: repo.snapshot,
          model: opts.model,
          strategy,
          repo: repo.dir,
          budget: s.budget,
          temperature: s.temperature,
          cache,
          settings: validation,
          signal,
          focus,
        });
        if (r.trajectory.endReason === 'aborted') throw new Stopped();
        // A rejected artifact has no folder in the run: what the injector wrote stays with its
        // trajectory, so the dashboard can show why it was rejected.
        const written =
          r.artifact && !r.report?.valid
            ? {
                bugDiff: r.artifact.bugDiff,
                weakenDiff: r.artifact.weakenDiff,
                testFiles: r.artifact.testFiles,
                testScript: r.artifact.testScript,
                testParser: r.artifact.testParser,
              }
            : undefined;
        const policy = policyOf(r.trajectory);
        const trajectory = store.writeFile(
          `trajectories/${id}.json`,
          `${JSON.stringify({ episodeId: id, role: 'injector', policy, focus, trajectory: r.trajectory, validation: r.report, written })}\n`,
        );
        const common = {
          ...base,
          policy,
          endReason: r.trajectory.endReason,
          turns: r.trajectory.turns.length,
          usage: r.trajectory.usage,
          durationMs: Math.round(performance.now() - t0),
          trajectory,
          finishedAt: new Date().toISOString(),
        };
        if (endedOnModelError(r.trajectory)) {
          // The model failed, not the policy: no reward, redone on the next pass or rerun.
          record = {
            ...common,
            artifactId: null,
            outcome: 'error',
            reason: r.reason,
            reward: null,
          };
        } else if (!r.artifact) {
          record = {
            ...common,
            artifactId: null,
            outcome: 'no-artifact',
            reason: r.reason,
            reward: -1,
          };
        } else if (!r.report?.valid) {
          record = {
            ...common,
            artifactId: null,
            outcome: 'invalid',
            reason: r.reason,
            reward: -1,
          };
          const f = r.report?.failedCheck;
          if (f) record.failedCheck = { id: f.id, name: f.name };
        } else {
          const artifactId = `${repo.name}-${r.artifact.metadata.id}`;
          const hash = artifactHash(r.artifact);
          const same = store.artifacts().find((a) => a.id === artifactId || a.hash === hash);
          if (same) {
            // A bug already in the run teaches nothing new.
            record = {
              ...common,
              artifactId: same.id,
              outcome: 'duplicate',
              reason: `the same bug as ${same.id}, already in the run`,
              reward: -1,
            };
          } else {
            const artifact = {
              ...r.artifact,
              metadata: { ...r.artifact.metadata, id: artifactId },
            };
            writeValidArtifact(artifact, r.report, {
              'trajectory.json': `${JSON.stringify(r.trajectory)}\n`,
            });
            record = { ...common, artifactId, outcome: 'valid', reason: 'valid', reward: null };
            artifactToAdd = {
              kind: 'artifact',
              id: artifactId,
              step,
              repo: repo.dir,
              source: 'llm',
              hash,
              parent: null,
              order: 1,
              valid: true,
              reason: 'valid',
              episodeId: id,
            };
          }
        }
      } catch (err) {
        if (err instanceof Stopped || signal.aborted) throw new Stopped();
        record = {
          ...base,
          artifactId: null,
          outcome: 'error',
          reason: errorMessage(err),
          reward: null,
          endReason: 'error',
          turns: 0,
          usage: { promptTokens: 0, completionTokens: 0 },
          durationMs: Math.round(performance.now() - t0),
          trajectory: null,
          finishedAt: new Date().toISOString(),
        };
      }
      recordEpisode(record);
      if (artifactToAdd) appendArtifact(artifactToAdd);
      return record.outcome === 'valid' ? record.artifactId : null;
    };

    const appendArtifact = (record: ArtifactRecordV1) => {
      store.append(record);
      emit({ type: 'artifact', record });
    };

    // ---- procedural artifacts mixed into a step ----------------------------------------------
    const procedural = async (step: number): Promise<string[]> => {
      const ids: string[] = [];
      if (s.proceduralPerStep <= 0) return ids;
      const have = store.artifacts().filter((a) => a.source === 'procedural');
      const thisStep = have.filter((a) => a.step === step).map((a) => a.id);
      if (thisStep.length >= s.proceduralPerStep) return thisStep;
      const repo = repos[step % repos.length]!;
      const fromRepo = have.filter((a) => a.repo === repo.dir).length;
      stopIfAsked();
      // injectBugs is resumable: asking for more each step continues its own journal.
      const summary = await injectBugs({
        repo: repo.dir,
        out: join(store.dir, 'procedural', repo.name),
        count: fromRepo + s.proceduralPerStep - thisStep.length,
        seed: s.seed,
        host,
        signal,
        settings: s.testTimeoutMs ? { scriptTimeoutMs: s.testTimeoutMs } : undefined,
        discovery: s.tests?.[repo.dir],
      });
      ids.push(...thisStep);
      for (const id of summary.artifacts) {
        if (ids.length >= s.proceduralPerStep) break;
        if (artifactRecord(id)) continue;
        const src = join(store.dir, 'procedural', repo.name, id);
        const hash = artifactHash(readArtifact(src));
        if (store.artifacts().some((a) => a.hash === hash)) continue;
        const dest = store.artifactDir(id);
        rmSync(dest, { recursive: true, force: true });
        cpSync(src, dest, { recursive: true });
        appendArtifact({
          kind: 'artifact',
          id,
          step,
          repo: repo.dir,
          source: 'procedural',
          hash,
          parent: null,
          order: 1,
          valid: true,
          reason: 'valid',
        });
        ids.push(id);
      }
      return ids;
    };

    // ---- n solver attempts on one artifact, then its solve rate and higher-order bugs --------
    const solve = async (step: number, artifactId: string): Promise<void> => {
      const rec = artifactRecord(artifactId)!;
      const repo = repoOf(rec.repo);
      const artifact = readArtifact(store.artifactDir(artifactId));
      const baseline = await baselineFor(repo, artifact);
      const startKey = `${artifactId}`;
      if (!starts.has(startKey)) {
        const p = prepareSolverStart(host, repo.snapshot, artifact);
        p.catch(() => starts.delete(startKey));
        starts.set(startKey, p);
      }
      const done = finishedEpisodeIds();
      const groupId = `s${step}-${artifactId}`;
      const attempt = async (i: number): Promise<void> => {
        const id = `${groupId}-a${i}`;
        if (done.has(id)) return;
        stopIfAsked();
        const t0 = performance.now();
        const base = {
          kind: 'episode' as const,
          id,
          step,
          role: 'solver' as const,
          repo: repo.dir,
          artifactId,
          groupId,
          attempt: i,
          model: opts.model.description,
          policy: policyOf(null),
        };
        let record: EpisodeRecordV1;
        try {
          const start = await starts.get(startKey)!;
          const a: SolveAttempt = await runSolverAttempt({
            host,
            original: repo.snapshot,
            start,
            artifact,
            baseline,
            model: opts.model,
            budget: s.budget,
            temperature: s.temperature,
            signal,
            skipGradingOnModelError: true,
          });
          if (a.trajectory.endReason === 'aborted') throw new Stopped();
          const policy = policyOf(a.trajectory);
          const trajectory = store.writeFile(
            `trajectories/${id}.json`,
            `${JSON.stringify({ episodeId: id, role: 'solver', policy, trajectory: a.trajectory, patch: a.patch, evaluation: a.evaluation })}\n`,
          );
          const patch = a.patch ? store.writeFile(`patches/${id}.diff`, a.patch) : null;
          const graded = a.error === undefined;
          record = {
            ...base,
            policy,
            outcome: !graded ? 'error' : a.evaluation.solved ? 'solved' : 'unsolved',
            reason: a.error ?? a.evaluation.reason,
            reward: graded ? solverReward(a.evaluation.solved) : null,
            endReason: a.trajectory.endReason,
            turns: a.trajectory.turns.length,
            usage: a.trajectory.usage,
            durationMs: Math.round(performance.now() - t0),
            trajectory,
            patch,
            finishedAt: new Date().toISOString(),
          };
        } catch (err) {
          if (err instanceof Stopped || signal.aborted) throw new Stopped();
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
        recordEpisode(record);
      };
      await Promise.all(
        Array.from({ length: s.solverAttempts }, (_, i) => limit(() => attempt(i))),
      );
      stopIfAsked();
      const attempts = store.episodes().filter((e) => e.groupId === groupId);
      // A group with a failed attempt has no solve rate yet: the attempt is redone first.
      if (attempts.length < s.solverAttempts || attempts.some(isErrorEpisode)) return;
      if (!store.solveRates().some((r) => r.artifactId === artifactId && r.step === step)) {
        const solved = attempts.filter((e) => e.outcome === 'solved').length;
        const solveRate = solved / attempts.length;
        const injectorEp = rec.source === 'llm' && rec.step === step ? rec.episodeId : undefined;
        const reward = injectorEp ? injectorReward(true, solveRate, s.alpha) : undefined;
        store.append({
          kind: 'solve-rate',
          artifactId,
          step,
          solved,
          attempts: attempts.length,
          solveRate,
          ...(injectorEp ? { injectorEpisodeId: injectorEp, injectorReward: reward } : {}),
        });
        emit({ type: 'solve-rate', artifactId, solveRate, injectorReward: reward });
      }
      if (s.higherOrder.enabled && artifact.metadata.order < s.higherOrder.maxOrder) {
        const failed = attempts
          .filter((e) => e.outcome === 'unsolved' && e.patch)
          .sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0))
          .slice(0, s.higherOrder.perArtifact);
        for (const e of failed) {
          stopIfAsked();
          await limit(() => higherOrder(step, repo, artifact, e));
        }
      }
    };

    const higherOrder = async (
      step: number,
      repo: RepoState,
      parent: Artifact,
      from: EpisodeRecordV1,
    ): Promise<void> => {
      if (store.artifacts().some((a) => a.fromEpisode === from.id)) return;
      const failedPatch = readFileSync(join(store.dir, from.patch!), 'utf8');
      const composed = await composeHigherOrder({
        host,
        original: repo.snapshot,
        parent,
        failedPatch,
        createdBy: `ssr selfplay (higher order, from ${from.id})`,
      });
      const base = {
        kind: 'artifact' as const,
        step,
        repo: repo.dir,
        source: 'higher-order' as const,
        parent: parent.metadata.id,
        order: parent.metadata.order + 1,
        fromEpisode: from.id,
      };
      if (!composed) {
        appendArtifact({
          ...base,
          id: `${parent.metadata.id}-ho-none-${from.attempt}`,
          valid: false,
          reason: 'the failed patch adds nothing to the bug',
        });
        return;
      }
      if (artifactRecord(composed.metadata.id)) return;
      const report = await validateArtifact(composed, {
        host,
        snapshot: repo.snapshot,
        cache,
        settings: validation,
        skip: {
          inverse:
            'higher-order bug: the failed patch composed onto the bug need not be necessary (SSR-SPEC 7)',
        },
      });
      if (report.valid) writeValidArtifact(composed, report);
      const f = report.failedCheck;
      appendArtifact({
        ...base,
        id: composed.metadata.id,
        hash: artifactHash(composed),
        valid: report.valid,
        reason: report.valid ? 'valid' : `check ${f!.id} (${f!.name}): ${f!.message}`,
        ...(f ? { failedCheck: { id: f.id, name: f.name } } : {}),
      });
    };

    /** Higher-order bugs made before `step`, not yet attempted before it; oldest first. */
    const pooled = (step: number): string[] => {
      const attemptedBefore = new Set(
        store
          .solveRates()
          .filter((r) => r.step < step)
          .map((r) => r.artifactId),
      );
      return store
        .artifacts()
        .filter(
          (a) =>
            a.source === 'higher-order' && a.valid && a.step < step && !attemptedBefore.has(a.id),
        )
        .sort((a, b) => a.step - b.step || a.id.localeCompare(b.id))
        .slice(0, s.higherOrder.perStep)
        .map((a) => a.id);
    };

    // ---- the steps ---------------------------------------------------------------------------
    const runStep = async (step: number): Promise<void> => {
      const jobs: Promise<void>[] = [];
      for (let k = 0; k < s.injectionsPerStep; k++) {
        jobs.push(limit(() => injection(step, k)).then((id) => (id ? solve(step, id) : undefined)));
      }
      jobs.push(
        procedural(step).then((ids) =>
          Promise.all(ids.map((id) => solve(step, id))).then(() => {}),
        ),
      );
      for (const id of pooled(step)) jobs.push(solve(step, id));
      const results = await Promise.allSettled(jobs);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
    };
    const failedEpisodes = (step: number) =>
      store.episodes().filter((e) => e.step === step && isErrorEpisode(e));

    const sync =
      s.sync === 'file'
        ? new FileSync(store, opts.model, { timeoutMs: opts.syncTimeoutMs, signal, emit })
        : null;
    sync?.catchUp();
    const finished = new Set(store.steps().map((m) => m.step));
    for (let step = 0; step < s.steps; step++) {
      if (finished.has(step)) continue;
      if (signal.aborted) {
        stoppedEarly = true;
        break;
      }
      if (sync && step > 0) {
        // Nothing of this step is sampled before the trainer's policy for the last one.
        const policy = await sync.beforeStep(step);
        if (!policy) {
          stoppedEarly = true;
          break;
        }
        policyVersion = policy.version;
      }
      const t0 = performance.now();
      const resumed = store.all().filter((r) => 'step' in r && r.step === step).length;
      emit({ type: 'step-start', step, resumed });
      let failed: EpisodeRecordV1[] = [];
      try {
        // Work is skipped when its record exists, so a pass after the first redoes just the
        // episodes that failed on errors (and what depends on them).
        for (let pass = 1; pass <= STEP_PASSES; pass++) {
          await runStep(step);
          failed = failedEpisodes(step);
          if (failed.length === 0 || pass === STEP_PASSES) break;
          emit({
            type: 'note',
            message: `step ${step + 1}: ${failed.length} episode(s) failed on model or infrastructure errors; redoing them`,
          });
        }
      } catch (err) {
        if (err instanceof Stopped || signal.aborted) {
          stoppedEarly = true;
          break;
        }
        throw err;
      }
      if (failed.length > 0) {
        // The step is not finished: its metrics would count the failures as the policy's.
        failure ??=
          `step ${step + 1}: ${failed.length} episode(s) still failed on model or infrastructure ` +
          `errors after ${STEP_PASSES} tries, the last: ${failed.at(-1)!.reason.replace(/\s*\n\s*/g, ' ')}; ` +
          'stopped (finished work is kept: rerun the same command to redo them)';
        stoppedEarly = true;
        break;
      }
      const metrics = stepMetrics(store, step, performance.now() - t0);
      store.append({ kind: 'step', step, metrics });
      emit({ type: 'step', metrics });
      sync?.afterStep(step, policyVersion);
    }
    if (failure !== null) throw new ModelFailure(failure);
    return { out: store.dir, steps: store.steps(), stoppedEarly };
  } finally {
    store.close();
    if (ownHost) await host.close();
  }
}

/**
 * The injector side of a step (SSR-SPEC 5): one LLM injector episode, from its deterministic
 * plan to its journal record and, when it made a new valid bug, that bug's artifact in the run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type InjectionOutcome,
  type InjectorStrategy,
  injectWithModel,
} from '../agent/injector.js';
import { endedOnModelError } from '../agent/loop.js';
import { artifactHash } from '../artifact/artifact.js';
import { type ArtifactRecordV1, type EpisodeRecordV1, isErrorEpisode } from '../store/run-store.js';
import { errorMessage } from '../util/errors.js';
import type { ValidationReport } from '../validate/report.js';
import {
  artifactRecord,
  pick,
  policyOf,
  type RepoState,
  type SelfPlayRun,
  Stopped,
  stopIfAsked,
  writeValidArtifact,
} from './run-context.js';
import type { SelfPlaySettings } from './scheduler.js';

/** The fields of an injector record known before the episode runs. */
type InjectorBase = Omit<
  EpisodeRecordV1,
  | 'artifactId'
  | 'outcome'
  | 'reason'
  | 'reward'
  | 'endReason'
  | 'turns'
  | 'usage'
  | 'durationMs'
  | 'trajectory'
  | 'finishedAt'
>;
/** The fields of an injector record known once the episode ran, before its verdict. */
type InjectorCommon = Omit<EpisodeRecordV1, 'artifactId' | 'outcome' | 'reason' | 'reward'>;
/** What an injector episode earned: the last fields of its record. */
export type InjectionVerdict = Pick<
  EpisodeRecordV1,
  'artifactId' | 'outcome' | 'reason' | 'reward' | 'failedCheck'
>;
interface InjectorEpisode {
  record: EpisodeRecordV1;
  /** The new artifact's record, journaled right after the episode's. */
  artifact: ArtifactRecordV1 | null;
}

export interface InjectionPlan {
  repo: RepoState;
  strategy: InjectorStrategy;
  focus: string | undefined;
}

/**
 * Which repository, prompt strategy and focus file injection k of a step gets: derived from the
 * settings alone, so a rerun plans the same episode.
 */
export function planInjection(
  s: Pick<SelfPlaySettings, 'injectionsPerStep' | 'strategies' | 'seed' | 'focusFiles'>,
  repos: RepoState[],
  step: number,
  k: number,
): InjectionPlan {
  const repo = repos[(step * s.injectionsPerStep + k) % repos.length]!;
  const strategy = pick(s.strategies, s.seed, step, k, 'strategy');
  // Consecutive injections walk a seeded permutation of the files, so a step spreads out.
  const focus =
    s.focusFiles && repo.sources.length
      ? repo.sources[(step * s.injectionsPerStep + k) % repo.sources.length]
      : undefined;
  return { repo, strategy, focus };
}

/**
 * The verdict on an injection that made no new valid bug: a model error (no reward: redone on
 * the next pass or rerun), no artifact or an invalid one (-1). Null when the artifact is valid.
 */
export function rejectedInjection(
  r: Pick<InjectionOutcome, 'trajectory' | 'artifact' | 'report' | 'reason'>,
): InjectionVerdict | null {
  if (endedOnModelError(r.trajectory)) {
    // The model failed, not the policy: no reward, redone on the next pass or rerun.
    return { artifactId: null, outcome: 'error', reason: r.reason, reward: null };
  }
  if (!r.artifact)
    return { artifactId: null, outcome: 'no-artifact', reason: r.reason, reward: -1 };
  if (!r.report?.valid) {
    const f = r.report?.failedCheck;
    return {
      artifactId: null,
      outcome: 'invalid',
      reason: r.reason,
      reward: -1,
      ...(f ? { failedCheck: { id: f.id, name: f.name } } : {}),
    };
  }
  return null;
}

/**
 * One LLM injector episode (`s<step>-inj<k>`), journaled; returns the id of the valid artifact
 * it added, if any. Skipped (its artifact returned) when a previous run finished it.
 */
export async function runInjection(
  run: SelfPlayRun,
  step: number,
  k: number,
): Promise<string | null> {
  const id = `s${step}-inj${k}`;
  const done = run.store.episodes().find((e) => e.id === id && !isErrorEpisode(e));
  if (done) return resumeInjection(run, step, done);
  stopIfAsked(run.signal);
  const { repo, strategy, focus } = planInjection(run.settings, run.repos, step, k);
  const t0 = performance.now();
  const base: InjectorBase = {
    kind: 'episode' as const,
    id,
    step,
    role: 'injector' as const,
    repo: repo.dir,
    groupId: `s${step}-injector`,
    strategy,
    model: run.model.description,
    policy: policyOf(run, null),
  };
  let episode: InjectorEpisode;
  try {
    const r = await injectWithModel({
      host: run.host,
      original: repo.snapshot,
      model: run.model,
      strategy,
      repo: repo.dir,
      budget: run.settings.budget,
      temperature: run.settings.temperature,
      cache: run.cache,
      settings: run.validation,
      signal: run.signal,
      focus,
    });
    if (r.trajectory.endReason === 'aborted') throw new Stopped();
    episode = recordInjection(run, base, r, repo, focus, t0);
  } catch (err) {
    if (err instanceof Stopped || run.signal.aborted) throw new Stopped();
    const record: EpisodeRecordV1 = {
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
    episode = { record, artifact: null };
  }
  run.journal.episode(episode.record);
  if (episode.artifact) run.journal.artifact(episode.artifact);
  return episode.record.outcome === 'valid' ? episode.record.artifactId : null;
}

/**
 * An injector episode a previous run finished: its artifact, if valid. A crash between the
 * episode record and the artifact record left the pair half-written: this finishes it.
 */
function resumeInjection(run: SelfPlayRun, step: number, done: EpisodeRecordV1): string | null {
  if (done.outcome === 'valid' && done.artifactId && !artifactRecord(run.store, done.artifactId)) {
    const report = JSON.parse(
      readFileSync(join(run.store.artifactDir(done.artifactId), 'validation.json'), 'utf8'),
    ) as ValidationReport;
    run.journal.artifact({
      kind: 'artifact',
      id: done.artifactId,
      step,
      repo: done.repo,
      source: 'llm',
      parent: null,
      order: 1,
      valid: report.valid,
      reason: 'valid',
      episodeId: done.id,
    });
  }
  return done.outcome === 'valid' ? done.artifactId : null;
}

/** Writes a finished injection's trajectory file and decides its record. */
function recordInjection(
  run: SelfPlayRun,
  base: InjectorBase,
  r: InjectionOutcome,
  repo: RepoState,
  focus: string | undefined,
  t0: number,
): InjectorEpisode {
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
  const policy = policyOf(run, r.trajectory);
  const id = base.id;
  const trajectory = run.store.writeFile(
    `trajectories/${id}.json`,
    `${JSON.stringify({ episodeId: id, role: 'injector', policy, focus, trajectory: r.trajectory, validation: r.report, written })}\n`,
  );
  const common: InjectorCommon = {
    ...base,
    policy,
    endReason: r.trajectory.endReason,
    turns: r.trajectory.turns.length,
    usage: r.trajectory.usage,
    durationMs: Math.round(performance.now() - t0),
    trajectory,
    finishedAt: new Date().toISOString(),
  };
  const rejected = rejectedInjection(r);
  if (rejected) return { record: { ...common, ...rejected }, artifact: null };
  return keepValidInjection(run, common, r, repo);
}

/**
 * A valid injected bug joins the run under `<repo>-<id>`, unless the run has it already (the
 * same id or content): a duplicate teaches nothing new and earns -1.
 */
function keepValidInjection(
  run: SelfPlayRun,
  common: InjectorCommon,
  r: InjectionOutcome,
  repo: RepoState,
): InjectorEpisode {
  const made = r.artifact!;
  const artifactId = `${repo.name}-${made.metadata.id}`;
  const hash = artifactHash(made);
  const same = run.store.artifacts().find((a) => a.id === artifactId || a.hash === hash);
  if (same) {
    // A bug already in the run teaches nothing new.
    const record: EpisodeRecordV1 = {
      ...common,
      artifactId: same.id,
      outcome: 'duplicate',
      reason: `the same bug as ${same.id}, already in the run`,
      reward: -1,
    };
    return { record, artifact: null };
  }
  const artifact = { ...made, metadata: { ...made.metadata, id: artifactId } };
  writeValidArtifact(run.store, artifact, r.report!, {
    'trajectory.json': `${JSON.stringify(r.trajectory)}\n`,
  });
  return {
    record: { ...common, artifactId, outcome: 'valid', reason: 'valid', reward: null },
    artifact: {
      kind: 'artifact',
      id: artifactId,
      step: common.step,
      repo: repo.dir,
      source: 'llm',
      hash,
      parent: null,
      order: 1,
      valid: true,
      reason: 'valid',
      episodeId: common.id,
    },
  };
}

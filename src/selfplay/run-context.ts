/**
 * What every stage of a self-play run shares (the scheduler's stages: run-context, injection,
 * procedural, solving, higher-order-pool, steps): the open run directory, the sandbox host, the
 * one stop signal, the journal of finished work and the repositories' snapshots.
 */
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { reportedModel, type Trajectory } from '../agent/loop.js';
import type { SolverStart } from '../agent/solver-env.js';
import type { ModelClient } from '../agent/types.js';
import { type Artifact, writeArtifact } from '../artifact/artifact.js';
import { listSourceFiles } from '../inject/pipeline.js';
import { LayerStack } from '../sandbox/layers.js';
import { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import {
  type ArtifactRecordV1,
  type EpisodePolicy,
  type EpisodeRecordV1,
  isErrorEpisode,
  RunStore,
} from '../store/run-store.js';
import { sha256 } from '../util/hash.js';
import { BaselineCache } from '../validate/baseline.js';
import type { ValidationReport, ValidationSettings } from '../validate/report.js';
import type { SelfPlayEvent, SelfPlayOptions, SelfPlaySettings } from './scheduler.js';

export interface RepoState {
  dir: string;
  name: string;
  snapshot: Snapshot;
  /** The repository's source files in a seeded order: injections walk it to spread out. */
  sources: string[];
}

/** Thrown through every stage when the run is asked to stop; the step loop ends quietly on it. */
export class Stopped extends Error {}

export function stopIfAsked(signal: AbortSignal): void {
  if (signal.aborted) throw new Stopped();
}

/** A folder-safe name for a repository, used in artifact ids. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'repo'
  );
}

/** A deterministic choice among `items` by `key`, so a rerun picks the same. */
export function pick<T>(items: T[], ...key: (string | number)[]): T {
  const h = Number.parseInt(sha256(key.join(':')).slice(0, 8), 16);
  return items[h % items.length]!;
}

/** `files` in a seeded, stable pseudo-random order (the same seed, the same order). */
export function seededOrder(files: string[], seed: number): string[] {
  return files
    .map((f) => ({ f, h: sha256(`${seed}:${f}`) }))
    .sort((a, b) => a.h.localeCompare(b.h))
    .map((x) => x.f);
}

/** Each repository snapshotted once for the whole run, with its source files in seeded order. */
export function snapshotRepos(host: SandboxHost, dirs: string[], seed: number): RepoState[] {
  return dirs.map((dir) => {
    const snapshot = host.snapshotDir(dir);
    return {
      dir,
      name: slug(basename(dir)),
      snapshot,
      sources: seededOrder(listSourceFiles(new LayerStack([...snapshot.layers])), seed),
    };
  });
}

/** The repository an artifact was made in (the first one, should none match). */
export function repoOf(repos: RepoState[], dir: string): RepoState {
  return repos.find((r) => r.dir === dir) ?? repos[0]!;
}

/** The message a run stops with when `count` episodes in a row failed on model errors. */
export function consecutiveErrorsMessage(count: number, lastReason: string): string {
  return (
    `${count} episodes in a row failed on model errors, the last: ` +
    `${lastReason.replace(/\s*\n\s*/g, ' ')}; stopped (finished work is kept: fix the ` +
    'model server and rerun the same command to continue)'
  );
}

/**
 * Journals finished (or failed) episodes and new artifacts, and tells the caller about each.
 * It exists to count model failures across all stages: `maxErrors` episodes failing in a row
 * mean the model server is down, so the run gives up (aborts `giveUp`) instead of burning
 * through every remaining episode. `failure` is what the run then throws.
 */
export class RunJournal {
  private errorsInARow = 0;
  failure: string | null = null;

  constructor(
    private readonly store: Pick<RunStore, 'append'>,
    private readonly emit: (e: SelfPlayEvent) => void,
    private readonly maxErrors: number,
    private readonly giveUp: AbortController,
  ) {}

  episode(record: EpisodeRecordV1): void {
    this.store.append(record);
    this.emit({ type: 'episode', record });
    if (!isErrorEpisode(record)) {
      this.errorsInARow = 0;
      return;
    }
    this.errorsInARow++;
    if (this.maxErrors > 0 && this.errorsInARow >= this.maxErrors && this.failure === null) {
      this.failure = consecutiveErrorsMessage(this.errorsInARow, record.reason);
      this.giveUp.abort();
    }
  }

  artifact(record: ArtifactRecordV1): void {
    this.store.append(record);
    this.emit({ type: 'artifact', record });
  }

  /** Records why the run stops, unless an earlier reason was recorded. */
  fail(message: string): void {
    this.failure ??= message;
  }
}

/** The resources a run opens and must close, whatever happens. */
export interface RunResources {
  store: RunStore;
  emit: (e: SelfPlayEvent) => void;
  host: SandboxHost;
  /** The host was opened by the run (not passed in), so the run closes it. */
  ownHost: boolean;
  /** The caller's stop signal, or ours when the model keeps failing. */
  signal: AbortSignal;
  journal: RunJournal;
  /** Episodes in flight at once. */
  limit: LimitFunction;
  cache: BaselineCache;
  validation: Partial<ValidationSettings>;
}

/** Everything the stages of a run read, and the policy version they sample with. */
export interface SelfPlayRun extends RunResources {
  settings: SelfPlaySettings;
  model: ModelClient;
  repos: RepoState[];
  /** Solver start states being prepared or ready, by artifact id (shared by its attempts). */
  starts: Map<string, Promise<SolverStart>>;
  /** The policy version in force: episodes are sampled from it (a synced run updates it). */
  policyVersion: string | null;
}

/**
 * Opens the run directory (checking a rerun's settings), the stop signal, the sandbox host and
 * the limits. Everything opened here is closed by {@link closeRun}.
 */
export function openRun(opts: SelfPlayOptions): RunResources {
  const s = opts.settings;
  const emit = opts.onEvent ?? (() => {});
  const store = RunStore.openForWriting(opts.out, s as unknown as Record<string, unknown>);
  // Every episode and model request listens on the one stop signal: the caller's, or ours
  // when the model keeps failing.
  const giveUp = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, giveUp.signal]) : giveUp.signal;
  setMaxListeners(0, signal);
  if (opts.signal) setMaxListeners(0, opts.signal);
  const host =
    opts.host ??
    SandboxHost.open({
      allowUnsandboxed: opts.allowUnsandboxed,
      maxConcurrentCommands: opts.testConcurrency ?? availableParallelism(),
    });
  return {
    store,
    emit,
    host,
    ownHost: !opts.host,
    signal,
    journal: new RunJournal(store, emit, opts.maxConsecutiveErrors ?? 3, giveUp),
    limit: pLimit(Math.max(1, opts.concurrency ?? 4)),
    cache: new BaselineCache(),
    validation: {
      concurrency: Math.max(1, Math.floor(availableParallelism() / 2)),
      ...(s.testTimeoutMs ? { scriptTimeoutMs: s.testTimeoutMs } : {}),
    },
  };
}

export async function closeRun(r: RunResources): Promise<void> {
  r.store.close();
  if (r.ownHost) await r.host.close();
}

/** The policy an episode was sampled with: the model the server reported, the version in force. */
export function policyOf(
  run: Pick<SelfPlayRun, 'policyVersion'>,
  t: Pick<Trajectory, 'turns'> | null,
): EpisodePolicy {
  return { model: t ? reportedModel(t) : null, version: run.policyVersion };
}

/** A valid artifact's folder in the run, with its validation report (and `extra` files). */
export function writeValidArtifact(
  store: RunStore,
  a: Artifact,
  report: ValidationReport,
  extra: Record<string, string> = {},
): void {
  writeArtifact(store.artifactDir(a.metadata.id), a, {
    'validation.json': `${JSON.stringify(report, null, 1)}\n`,
    ...extra,
  });
}

/** Episodes with a final record (an error is not one: it is redone). */
export function finishedEpisodeIds(store: RunStore): Set<string> {
  return new Set(
    store
      .episodes()
      .filter((e) => !isErrorEpisode(e))
      .map((e) => e.id),
  );
}

export function artifactRecord(store: RunStore, id: string): ArtifactRecordV1 | undefined {
  return store.artifacts().find((a) => a.id === id);
}

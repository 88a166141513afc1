import type { InjectorStrategy } from '../agent/injector.js';
import type { EpisodeBudget } from '../agent/loop.js';
import { type ModelClient, ModelFailure } from '../agent/types.js';
import type { TestOverrides } from '../discovery/discover.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { ArtifactRecordV1, EpisodeRecordV1, StepMetrics } from '../store/run-store.js';
import { closeRun, openRun, type SelfPlayRun, snapshotRepos } from './run-context.js';
import { runSteps } from './steps.js';
import type { SyncEvent } from './sync.js';

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

/**
 * `ssr selfplay` (SSR-SPEC 5, 7): each step runs K injector episodes (plus procedural
 * artifacts if asked), n solver episodes on every valid artifact and on pooled higher-order
 * bugs, then computes solve rates and rewards and composes new higher-order bugs from failed
 * attempts. Everything lands in a RunStore; work has deterministic ids and is skipped when its
 * record exists, so a rerun after a crash continues without losing or repeating an episode.
 */
export async function runSelfPlay(opts: SelfPlayOptions): Promise<SelfPlaySummary> {
  // The stages, in order: open the run (run-context.ts); snapshot the repositories; run the
  // unfinished steps (steps.ts), each scheduling injections (injection.ts, procedural.ts) and
  // solver groups (solving.ts) that compose higher-order bugs (higher-order-pool.ts).
  const resources = openRun(opts);
  try {
    const run: SelfPlayRun = {
      ...resources,
      settings: opts.settings,
      model: opts.model,
      repos: snapshotRepos(resources.host, opts.settings.repos, opts.settings.seed),
      starts: new Map(),
      policyVersion: opts.policyVersion ?? null,
    };
    const stoppedEarly = await runSteps(run, opts.syncTimeoutMs);
    if (run.journal.failure !== null) throw new ModelFailure(run.journal.failure);
    return { out: run.store.dir, steps: run.store.steps(), stoppedEarly };
  } finally {
    await closeRun(resources);
  }
}

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EndReason } from '../agent/loop.js';
import { UsageError } from '../util/errors.js';
import { recoverInterruptedWrites } from '../util/interrupted-writes.js';
import { Journal } from './journal.js';

/**
 * A self-play run directory (SSR-SPEC 5, 7, 8):
 *
 *   run.json                 format version and the configuration the run was started with
 *   journal.jsonl            append-only records (below), fsynced one by one
 *   artifacts/<id>/          every validated artifact (five files, metadata, validation.json)
 *   trajectories/<ep>.json   one file per finished episode
 *   metrics.jsonl            one line per finished step (also in the journal, as kind 'step')
 *
 * Records are written after the files they point to, so a crash leaves at worst an orphan
 * file that a rerun overwrites; finished work is identified by deterministic ids (`s3-inj1`,
 * `s3-<artifact>-a5`) and skipped when its record exists. The one exception is an episode that
 * failed on a model or infrastructure error (`isErrorEpisode`): it is recorded, but not as
 * finished, and redoing it appends a record with the same id that supersedes it.
 */
export const RUN_FORMAT_VERSION = 1;

export type Role = 'injector' | 'solver';

export interface EpisodeRecordV1 {
  kind: 'episode';
  /** Deterministic: `s<step>-inj<k>` or `s<step>-<artifact id>-a<i>`. */
  id: string;
  step: number;
  role: Role;
  repo: string;
  /** The artifact the episode made (injector, when one came out) or worked on (solver). */
  artifactId: string | null;
  /**
   * Episodes whose rewards are compared (GRPO-style): the n solver attempts on one artifact in
   * one step; the injector episodes of one step.
   */
  groupId: string;
  attempt?: number;
  /** Injector: the prompt strategy ('removal', 'history', 'direct'). */
  strategy?: string;
  /**
   * Injector: valid | invalid | no-artifact | duplicate | error. Solver: solved | unsolved |
   * error. 'error': the model or the machinery failed (endReason 'model-error' or 'error'), see
   * {@link isErrorEpisode}.
   */
  outcome: string;
  reason: string;
  /** Injector: the validation check that rejected the artifact. */
  failedCheck?: { id: number; name: string };
  /**
   * Final for solvers and invalid injections. A valid injection's reward depends on its solve
   * rate: null here, then given by the artifact's 'solve-rate' record. Errors have none (null;
   * runs written before this rule have -1 there, which readers ignore).
   */
  reward: number | null;
  endReason: EndReason | 'error';
  turns: number;
  usage: { promptTokens: number; completionTokens: number };
  durationMs: number;
  /** Relative to the run directory. */
  trajectory: string | null;
  /** Solver: the submitted patch (relative path in the run), for higher-order bugs. */
  patch?: string | null;
  /** The model client (e.g. `openai:<url> model=<name>`). */
  model: string;
  /**
   * The policy that produced the episode, so an asynchronous trainer can drop stale rollouts:
   * `model` as the server reported it (its last model call; null when none answered) and
   * `version`, the policy version in force when the episode was sampled (`--policy-version`, or
   * the trainer's policy file in a `--sync file` run; null when none was given). Absent in
   * records written before it existed: read them with {@link episodePolicy}.
   */
  policy?: EpisodePolicy;
  finishedAt: string;
}

export interface EpisodePolicy {
  model: string | null;
  version: string | null;
}

/** The policy of an episode record; null fields for records written before runs kept it. */
export function episodePolicy(e: Pick<EpisodeRecordV1, 'policy'>): EpisodePolicy {
  return { model: e.policy?.model ?? null, version: e.policy?.version ?? null };
}

/**
 * An episode that ended on a model or infrastructure failure (server errors, an unreachable or
 * misnamed model, a sandbox that broke) rather than through the policy: it has no reward, takes
 * no part in solve rates, groups or exports, and is redone when the run is continued. Records
 * of older runs that ended on 'model-error' with another outcome count too.
 */
export function isErrorEpisode(e: Pick<EpisodeRecordV1, 'outcome' | 'endReason'>): boolean {
  return e.outcome === 'error' || e.endReason === 'model-error' || e.endReason === 'error';
}

export interface ArtifactRecordV1 {
  kind: 'artifact';
  id: string;
  step: number;
  repo: string;
  source: 'llm' | 'procedural' | 'higher-order';
  /** Content hash of the five files (artifactHash): the same bug is never added twice. */
  hash?: string;
  parent: string | null;
  order: number;
  valid: boolean;
  failedCheck?: { id: number; name: string };
  reason: string;
  /** The injector episode that wrote it (LLM artifacts). */
  episodeId?: string;
  /** Higher-order: the failed solver episode whose patch was composed. */
  fromEpisode?: string;
}

export interface SolveRateRecordV1 {
  kind: 'solve-rate';
  artifactId: string;
  step: number;
  solved: number;
  attempts: number;
  solveRate: number;
  /** The injector episode rewarded by this solve rate, if the artifact came from one. */
  injectorEpisodeId?: string;
  injectorReward?: number;
}

export interface StepMetrics {
  step: number;
  injections: number;
  validArtifacts: number;
  /** valid / injections (LLM and procedural). */
  validRate: number;
  artifactsSolved: number;
  /** Mean of the solve rates of the artifacts attempted in this step. */
  meanSolveRate: number | null;
  /** Solve rates in ten bins [0,0.1), ..., [0.9,1]. */
  solveRateHistogram: number[];
  meanReward: { injector: number | null; solver: number | null };
  higherOrder: { made: number; valid: number; attempted: number };
  failures: Record<string, number>;
  /** Episodes of the step that failed on model or infrastructure errors (none in a finished step). */
  errors?: number;
  tokens: { prompt: number; completion: number };
  episodes: { injector: number; solver: number };
  timeMs: number;
  finishedAt: string;
}

export interface StepRecordV1 {
  kind: 'step';
  step: number;
  metrics: StepMetrics;
}

export type RunRecord = EpisodeRecordV1 | ArtifactRecordV1 | SolveRateRecordV1 | StepRecordV1;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The run directory: the one place self-play writes, and what export, serve and the dashboard read. */
export class RunStore {
  readonly dir: string;
  private readonly journal: Journal<RunRecord>;
  private readonly metricsLog: Journal<StepMetrics>;
  private records: RunRecord[];

  private constructor(dir: string) {
    this.dir = resolve(dir);
    this.journal = new Journal<RunRecord>(join(this.dir, 'journal.jsonl'));
    this.metricsLog = new Journal<StepMetrics>(join(this.dir, 'metrics.jsonl'));
    this.records = this.journal.read();
  }

  /** Opens a run to read (export, dashboard); refuses a folder that is not a run. */
  static open(dir: string): RunStore {
    const meta = join(resolve(dir), 'run.json');
    if (!existsSync(meta)) throw new UsageError(`${dir} is not an ssr run directory (no run.json)`);
    const info = JSON.parse(readFileSync(meta, 'utf8')) as { version?: number };
    if (info.version !== RUN_FORMAT_VERSION) {
      throw new UsageError(
        `${dir} was written by format version ${info.version}; this ssr reads version ${RUN_FORMAT_VERSION}`,
      );
    }
    return new RunStore(dir);
  }

  /**
   * Creates a run, or reopens it to continue. `config` is what decides the run's content: a
   * rerun with a different one is refused, since mixing them would make the run meaningless.
   */
  static openForWriting(dir: string, config: Record<string, unknown>): RunStore {
    const root = resolve(dir);
    const meta = join(root, 'run.json');
    if (existsSync(meta)) {
      const info = JSON.parse(readFileSync(meta, 'utf8')) as {
        version?: number;
        config?: Record<string, unknown>;
      };
      const before = JSON.stringify(info.config);
      const now = JSON.stringify(config);
      if (before !== now) {
        const keys = new Set([...Object.keys(info.config ?? {}), ...Object.keys(config)]);
        const changed = [...keys].filter(
          (k) => JSON.stringify(info.config?.[k]) !== JSON.stringify(config[k]),
        );
        throw new UsageError(
          `${dir} holds a run started with other settings (${changed.join(', ')}); ` +
            'use the same settings to continue it, or another --out for a new run',
        );
      }
      recoverInterruptedWrites(join(root, 'artifacts'));
      const store = RunStore.open(root);
      store.reconcileMetrics();
      return store;
    }
    mkdirSync(join(root, 'artifacts'), { recursive: true });
    mkdirSync(join(root, 'trajectories'), { recursive: true });
    writeAtomic(
      meta,
      `${JSON.stringify({ version: RUN_FORMAT_VERSION, createdAt: new Date().toISOString(), config }, null, 2)}\n`,
    );
    return new RunStore(root);
  }

  config(): Record<string, unknown> {
    const info = JSON.parse(readFileSync(join(this.dir, 'run.json'), 'utf8')) as {
      config: Record<string, unknown>;
    };
    return info.config;
  }

  all(): readonly RunRecord[] {
    return this.records;
  }

  /** Re-reads the journal (a live run written by another process). */
  refresh(): void {
    this.records = this.journal.read();
  }

  /**
   * One record per episode id: the latest, since a redone error episode supersedes the record
   * of its failure. Error episodes still in the list are the ones not (yet) redone.
   */
  episodes(): EpisodeRecordV1[] {
    const all = this.records.filter((r): r is EpisodeRecordV1 => r.kind === 'episode');
    const last = new Map<string, number>();
    for (const [i, e] of all.entries()) last.set(e.id, i);
    return all.filter((e, i) => last.get(e.id) === i);
  }

  artifacts(): ArtifactRecordV1[] {
    return this.records.filter((r): r is ArtifactRecordV1 => r.kind === 'artifact');
  }

  solveRates(): SolveRateRecordV1[] {
    return this.records.filter((r): r is SolveRateRecordV1 => r.kind === 'solve-rate');
  }

  steps(): StepMetrics[] {
    return this.records
      .filter((r): r is StepRecordV1 => r.kind === 'step')
      .map((r) => r.metrics)
      .sort((a, b) => a.step - b.step);
  }

  /**
   * Every episode with its final reward: a valid injection takes the injector reward of its
   * artifact's solve-rate record (null while its solvers have not all finished).
   */
  episodesWithRewards(): EpisodeRecordV1[] {
    const injectorRewards = new Map<string, number>();
    for (const r of this.solveRates()) {
      if (r.injectorEpisodeId && r.injectorReward !== undefined)
        injectorRewards.set(r.injectorEpisodeId, r.injectorReward);
    }
    return this.episodes().map((e) =>
      e.role === 'injector' && e.reward === null && injectorRewards.has(e.id)
        ? { ...e, reward: injectorRewards.get(e.id)! }
        : e,
    );
  }

  /**
   * metrics.jsonl is a copy of the journal's step records, written after them: a kill between
   * the two writes leaves it a line short. The journal is the truth, so a reopened run
   * rewrites the copy from it (before anything is appended to it).
   */
  private reconcileMetrics(): void {
    const want = this.steps();
    const path = join(this.dir, 'metrics.jsonl');
    const have = this.metricsLog.read();
    if (JSON.stringify(have) === JSON.stringify(want)) return;
    writeAtomic(path, want.map((m) => `${JSON.stringify(m)}\n`).join(''));
  }

  append(record: RunRecord): void {
    this.journal.append(record);
    this.records.push(record);
    if (record.kind === 'step') this.metricsLog.append(record.metrics);
  }

  /** Writes a file under the run (atomically) and returns its relative path. */
  writeFile(relative: string, text: string): string {
    const path = join(this.dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeAtomic(path, text);
    return relative;
  }

  readJson<T>(relative: string): T {
    return JSON.parse(readFileSync(join(this.dir, relative), 'utf8')) as T;
  }

  artifactDir(id: string): string {
    return join(this.dir, 'artifacts', id);
  }

  close(): void {
    this.journal.close();
    this.metricsLog.close();
  }
}

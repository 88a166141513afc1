import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeArtifact } from '../artifact/artifact.js';
import { SandboxHost } from '../sandbox/local.js';
import { Journal } from '../store/journal.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { recoverInterruptedWrites } from '../util/interrupted-writes.js';
import { BaselineCache } from '../validate/baseline.js';
import type { ValidationSettings } from '../validate/report.js';
import { type InjectorStrategy, injectWithModel } from './injector.js';
import { type EndReason, type EpisodeBudget, endedOnModelError } from './loop.js';
import { type ModelClient, ModelFailure } from './types.js';

export const LLM_STRATEGIES: InjectorStrategy[] = ['direct', 'removal', 'history'];
/** The paper's mix: each injection picks the removal or the history-aware prompt 50/50. */
export const DEFAULT_LLM_STRATEGIES: InjectorStrategy[] = ['removal', 'history'];

export interface ModelInjectOptions {
  repo: string;
  out: string;
  model: ModelClient;
  strategies?: InjectorStrategy[];
  /** Valid artifacts wanted (default 10). */
  count?: number;
  /** Most injector episodes in all (default 4 per wanted artifact). */
  maxEpisodes?: number;
  /** Episodes in flight at once (default 2: each holds a model conversation and a sandbox). */
  concurrency?: number;
  seed?: number;
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  settings?: Partial<ValidationSettings>;
  onEvent?: (e: ModelInjectEvent) => void;
  signal?: AbortSignal;
  host?: SandboxHost;
  allowUnsandboxed?: boolean;
  /**
   * Episodes failing on model or infrastructure errors in a row after which the run stops
   * with a ModelFailure (default 3; 0: never).
   */
  maxConsecutiveErrors?: number;
}

/** One line of the journal: what became of an injector episode. */
export interface EpisodeRecord {
  index: number;
  strategy: InjectorStrategy;
  /**
   * 'error': the model or the machinery failed (endReason 'model-error', or an exception); no
   * reward, and the episode is redone when the command is rerun.
   */
  outcome: 'valid' | 'invalid' | 'no-artifact' | 'duplicate' | 'error';
  reason: string;
  failedCheck?: { id: number; name: string };
  artifactId?: string;
  /**
   * SSR-SPEC 5: -1 for a missing or invalid artifact; a valid one is rewarded by solvers; an
   * error has none.
   */
  reward: -1 | null;
  endReason?: EndReason;
  turns: number;
  usage: { promptTokens: number; completionTokens: number };
  durationMs: number;
  /** Trajectory file, relative to the output folder. */
  trajectory?: string;
}

export type ModelInjectEvent =
  | { type: 'episode-start'; index: number; strategy: InjectorStrategy }
  | { type: 'episode'; done: number; total: number; record: EpisodeRecord; valid: number };

export interface ModelInjectSummary {
  repo: string;
  out: string;
  model: string;
  seed: number;
  strategies: InjectorStrategy[];
  episodes: number;
  valid: number;
  resumed: number;
  byStrategy: Record<string, { tried: number; valid: number; yield: number }>;
  /** Episodes without a valid artifact, per reason (a check, 'no artifact', 'error'). */
  failures: Record<string, number>;
  endReasons: Record<string, number>;
  /** Episodes of this run that failed on model or infrastructure errors (redone on a rerun). */
  errors: number;
  /** The last such error, when there was one. */
  lastError?: string;
  tokens: { prompt: number; completion: number };
  artifacts: string[];
  timeMs: number;
  validPerMinute: number;
  stoppedEarly: boolean;
}

/** Episode i's strategy: a seeded coin, so a rerun with the same seed asks the same things. */
export function strategyFor(
  index: number,
  seed: number,
  strategies: InjectorStrategy[],
): InjectorStrategy {
  const h = Number.parseInt(sha256(`${seed}:${index}`).slice(0, 8), 16);
  return strategies[h % strategies.length]!;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'repo'
  );
}

/** An episode that failed for reasons outside the policy: not done, to be redone. */
export function isErrorRecord(r: Pick<EpisodeRecord, 'outcome' | 'endReason'>): boolean {
  return r.outcome === 'error' || r.endReason === 'model-error';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, path);
}

/**
 * `ssr inject --model`: LLM injector episodes (SSR-SPEC 6) against one repository until
 * `count` valid artifacts exist or `maxEpisodes` ran. Every episode's trajectory is kept (the
 * invalid ones are training signal too: reward -1); valid artifacts are written like the
 * procedural ones, with their trajectory. Resumable: finished episodes are journaled.
 */
export async function injectWithModelRun(opts: ModelInjectOptions): Promise<ModelInjectSummary> {
  const started = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const strategies = opts.strategies?.length ? opts.strategies : DEFAULT_LLM_STRATEGIES;
  const count = opts.count ?? 10;
  const seed = opts.seed ?? 0;
  const maxEpisodes = opts.maxEpisodes ?? Math.max(4, count * 4);
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const out = resolve(opts.out);
  const repoAbs = resolve(opts.repo);
  if (!existsSync(repoAbs)) throw new UsageError(`repository ${opts.repo} does not exist`);
  if (out === repoAbs || out.startsWith(`${repoAbs}/`)) {
    throw new UsageError(`--out ${opts.out} is inside the repository; choose a folder outside it`);
  }
  // Every episode and model request listens on the one stop signal.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const episodesDir = join(out, '.ssr', 'episodes');
  mkdirSync(episodesDir, { recursive: true });
  recoverInterruptedWrites(out);
  const journal = new Journal<EpisodeRecord>(join(out, '.ssr', 'injector-episodes.jsonl'));
  const ownHost = !opts.host;
  const host = opts.host ?? SandboxHost.open({ allowUnsandboxed: opts.allowUnsandboxed });
  const repoName = slug(basename(repoAbs));
  try {
    const original = host.snapshotDir(repoAbs);
    const cache = new BaselineCache();
    const done = new Map<number, EpisodeRecord>();
    for (const r of journal.read()) {
      // A valid episode whose artifact folder is gone (deleted by hand) is redone, and so is
      // one that failed on a model error (a later record of the same index supersedes it).
      if (isErrorRecord(r)) done.delete(r.index);
      else if (r.outcome !== 'valid' || existsSync(join(out, r.artifactId ?? '', 'metadata.json')))
        done.set(r.index, r);
    }
    const records: EpisodeRecord[] = [];
    const seen = new Set<string>();
    for (const r of done.values()) {
      if (r.index >= maxEpisodes) continue;
      records.push(r);
      if (r.outcome === 'valid') seen.add(r.artifactId!);
    }
    const resumed = records.length;
    let valid = records.filter((r) => r.outcome === 'valid').length;
    const todo = Array.from({ length: maxEpisodes }, (_, i) => i).filter((i) => !done.has(i));
    // A model that keeps failing stops the run: its episodes would all be errors.
    const maxErrors = opts.maxConsecutiveErrors ?? 3;
    let inARow = 0;
    let failure: string | null = null;
    const giveUp = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, giveUp.signal]) : giveUp.signal;
    setMaxListeners(0, signal);

    const runOne = async (index: number): Promise<EpisodeRecord> => {
      const strategy = strategyFor(index, seed, strategies);
      emit({ type: 'episode-start', index, strategy });
      const t0 = performance.now();
      try {
        const r = await injectWithModel({
          host,
          original,
          model: opts.model,
          strategy,
          repo: repoAbs,
          budget: opts.budget,
          temperature: opts.temperature,
          cache,
          settings: opts.settings,
          signal,
        });
        const trajectory = `.ssr/episodes/${index}.json`;
        writeJsonAtomic(join(out, trajectory), {
          index,
          strategy,
          reason: r.reason,
          trajectory: r.trajectory,
        });
        const base = {
          index,
          strategy,
          endReason: r.trajectory.endReason,
          turns: r.trajectory.turns.length,
          usage: r.trajectory.usage,
          durationMs: Math.round(performance.now() - t0),
          trajectory,
        };
        if (endedOnModelError(r.trajectory)) {
          return { ...base, outcome: 'error', reason: r.reason, reward: null };
        }
        if (!r.artifact) {
          return { ...base, outcome: 'no-artifact', reason: r.reason, reward: -1 };
        }
        const id = `${repoName}-llm-${r.artifact.metadata.id}`;
        if (!r.report?.valid) {
          const f = r.report?.failedCheck;
          return {
            ...base,
            outcome: 'invalid',
            reason: r.reason,
            reward: -1,
            ...(f ? { failedCheck: { id: f.id, name: f.name } } : {}),
          };
        }
        if (seen.has(id)) {
          return { ...base, outcome: 'duplicate', reason: `same artifact as ${id}`, reward: null };
        }
        seen.add(id);
        writeArtifact(
          join(out, id),
          { ...r.artifact, metadata: { ...r.artifact.metadata, id } },
          {
            'validation.json': `${JSON.stringify(r.report, null, 1)}\n`,
            'trajectory.json': `${JSON.stringify(r.trajectory)}\n`,
          },
        );
        return { ...base, outcome: 'valid', reason: 'valid', artifactId: id, reward: null };
      } catch (err) {
        return {
          index,
          strategy,
          outcome: 'error',
          reason: errorMessage(err),
          reward: null,
          turns: 0,
          usage: { promptTokens: 0, completionTokens: 0 },
          durationMs: Math.round(performance.now() - t0),
        };
      }
    };

    // Episodes are independent; each is journaled as it finishes (an interrupted one is redone).
    let next = 0;
    let stoppedEarly = false;
    const worker = async () => {
      while (next < todo.length && valid < count) {
        if (signal.aborted) {
          stoppedEarly = true;
          return;
        }
        const index = todo[next++]!;
        const record = await runOne(index);
        if (signal.aborted && record.endReason === 'aborted') {
          stoppedEarly = true;
          return;
        }
        if (record.outcome === 'valid') valid++;
        journal.append(record);
        records.push(record);
        emit({ type: 'episode', done: records.length, total: maxEpisodes, record, valid });
        inARow = isErrorRecord(record) ? inARow + 1 : 0;
        if (maxErrors > 0 && inARow >= maxErrors && failure === null) {
          failure = `${inARow} injector episodes in a row failed on model errors; stopped (finished episodes are kept, rerun to continue): ${oneLine(record.reason)}`;
          giveUp.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (opts.signal?.aborted) stoppedEarly = true;

    const summary = summarize({
      repo: repoAbs,
      out,
      model: opts.model.description,
      seed,
      strategies,
      records: records.sort((a, b) => a.index - b.index),
      resumed,
      timeMs: performance.now() - started,
      stoppedEarly,
    });
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (failure !== null) throw new ModelFailure(failure);
    return summary;
  } finally {
    journal.close();
    if (ownHost) await host.close();
  }
}

function summarize(x: {
  repo: string;
  out: string;
  model: string;
  seed: number;
  strategies: InjectorStrategy[];
  records: EpisodeRecord[];
  resumed: number;
  timeMs: number;
  stoppedEarly: boolean;
}): ModelInjectSummary {
  const byStrategy: ModelInjectSummary['byStrategy'] = {};
  for (const s of x.strategies) {
    const rs = x.records.filter((r) => r.strategy === s);
    const valid = rs.filter((r) => r.outcome === 'valid').length;
    byStrategy[s] = { tried: rs.length, valid, yield: rs.length ? valid / rs.length : 0 };
  }
  const failures: Record<string, number> = {};
  const endReasons: Record<string, number> = {};
  const tokens = { prompt: 0, completion: 0 };
  for (const r of x.records) {
    tokens.prompt += r.usage.promptTokens;
    tokens.completion += r.usage.completionTokens;
    if (r.endReason) endReasons[r.endReason] = (endReasons[r.endReason] ?? 0) + 1;
    if (r.outcome === 'valid') continue;
    const k =
      r.outcome === 'invalid' && r.failedCheck
        ? `${r.failedCheck.id} ${r.failedCheck.name}`
        : r.outcome === 'no-artifact'
          ? 'no artifact written'
          : r.outcome;
    failures[k] = (failures[k] ?? 0) + 1;
  }
  const valid = x.records.filter((r) => r.outcome === 'valid');
  const errors = x.records.filter(isErrorRecord);
  return {
    repo: x.repo,
    out: x.out,
    model: x.model,
    seed: x.seed,
    strategies: x.strategies,
    episodes: x.records.length,
    valid: valid.length,
    resumed: x.resumed,
    byStrategy,
    failures,
    endReasons,
    errors: errors.length,
    ...(errors.length ? { lastError: oneLine(errors.at(-1)!.reason) } : {}),
    tokens,
    artifacts: valid.map((r) => r.artifactId!),
    timeMs: Math.round(x.timeMs),
    validPerMinute: x.timeMs > 0 ? Math.round((valid.length / (x.timeMs / 60_000)) * 10) / 10 : 0,
    stoppedEarly: x.stoppedEarly,
  };
}

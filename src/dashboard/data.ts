import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Trajectory } from '../agent/loop.js';
import { outputKind } from '../store/output-kind.js';
import {
  type ArtifactRecordV1,
  type EpisodeRecordV1,
  RUN_FORMAT_VERSION,
  type RunRecord,
  type SolveRateRecordV1,
  type StepMetrics,
} from '../store/run-store.js';
import type { TestMap } from '../testing/results.js';
import { UsageError } from '../util/errors.js';
import type { ValidationReport } from '../validate/report.js';

/**
 * What the dashboard and the static report show, computed from a run directory (or an
 * `ssr inject` output folder) as plain JSON. Everything here reads files named by ids that
 * come from HTTP requests, so every path goes through `insideRoot` first.
 */

const ID_RE = /^[A-Za-z0-9._-]+$/;

/** Ids are file names: no separators, and no `.`/`..` or hidden names that the regex lets by. */
export function isSafeId(id: string): boolean {
  return ID_RE.test(id) && !id.startsWith('.') && id.length <= 200;
}

/**
 * Resolves `rel` under `root` and returns the real path only if it exists and stays inside
 * the real root, so `..`, absolute paths and symlinks planted in the run cannot lead out.
 */
export function insideRoot(root: string, rel: string): string | null {
  if (isAbsolute(rel)) return null;
  const realRoot = realpathSync(root);
  const candidate = resolve(realRoot, rel);
  if (candidate !== realRoot && !candidate.startsWith(realRoot + sep)) return null;
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return null;
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
  return real;
}

function readText(root: string, rel: string): string | null {
  const p = insideRoot(root, rel);
  if (!p) return null;
  try {
    if (!statSync(p).isFile()) return null;
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function readJson<T>(root: string, rel: string): T | null {
  const text = readText(root, rel);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export type DashboardSource =
  | { kind: 'run'; dir: string; run: RunIndex }
  | { kind: 'inject'; dir: string };

/** run.json as `ssr selfplay` writes it; the same refusals as RunStore.open. */
function readRunInfo(root: string, shown: string): Record<string, unknown> | null {
  let info: { version?: number; config?: Record<string, unknown> };
  try {
    info = JSON.parse(readFileSync(join(root, 'run.json'), 'utf8')) as typeof info;
  } catch {
    throw new UsageError(`${shown}/run.json is not readable JSON`);
  }
  if (info.version !== RUN_FORMAT_VERSION) {
    throw new UsageError(
      `${shown} was written by format version ${info.version}; this ssr reads version ${RUN_FORMAT_VERSION}`,
    );
  }
  return info.config && typeof info.config === 'object' ? info.config : null;
}

/** A run directory (run.json) or an `ssr inject` output (summary.json or .ssr/). */
export function openSource(dir: string): DashboardSource {
  const root = resolve(dir);
  return outputKind(dir) === 'run'
    ? { kind: 'run', dir: root, run: new RunIndex(root, readRunInfo(root, dir)) }
    : { kind: 'inject', dir: root };
}

/** Reads what a live run appended since the last call (only the new bytes). */
export function refreshSource(src: DashboardSource): void {
  if (src.kind === 'run') src.run.refresh();
}

/** Nothing stays open between reads; kept so callers need not know. */
export function closeSource(_src: DashboardSource): void {}

// ---------------------------------------------------------------- run index (incremental)

/** Journal bytes read at once; a line longer than this is carried over to the next read. */
const READ_CHUNK = 4 << 20;

/**
 * Everything the dashboard asks of a run, kept up to date from `journal.jsonl` by reading
 * only what was appended since the last refresh: the journal is append-only (a record is
 * never rewritten), so a byte offset is all the state a reader needs. A torn last line (a
 * write in progress, or a crash) is left for the next read; a line that never parses is
 * skipped, as the run store itself does. A journal that shrank or was replaced is re-read.
 */
export class RunIndex {
  readonly dir: string;
  readonly config: Record<string, unknown> | null;
  private readonly path: string;
  private offset = 0;
  private ino = -1;
  /** Journal bytes read so far (a refresh of an unchanged run reads none). */
  bytesRead = 0;
  /** Bumped by every refresh that adds records; what the page polls for. */
  version = 0;
  records = 0;
  episodes: EpisodeRecordV1[] = [];
  episodeById = new Map<string, EpisodeRecordV1>();
  episodesByArtifact = new Map<string, EpisodeRecordV1[]>();
  injectors: EpisodeRecordV1[] = [];
  solvers = 0;
  artifacts: ArtifactRecordV1[] = [];
  artifactById = new Map<string, ArtifactRecordV1>();
  ratesByStep = new Map<number, SolveRateRecordV1[]>();
  /** Summed over every step an artifact was attempted in. */
  solveByArtifact = new Map<string, { solved: number; attempts: number }>();
  /** A valid injection's reward, given by its artifact's solve-rate record. */
  injectorRewards = new Map<string, number>();
  steps = new Map<number, StepMetrics>();
  /** Per strategy (LLM injections) or source (other artifacts): tried and valid. */
  yieldTally = new Map<string, { tried: number; valid: number }>();
  injectionOutcomes = new Map<string, number>();
  /** Artifact rows in journal order (artifacts, and rejected LLM injections), by id too. */
  rows: ArtifactRow[] = [];
  rowById = new Map<string, ArtifactRow>();
  private cache = new Map<string, { version: number; value: unknown }>();

  constructor(dir: string, config: Record<string, unknown> | null = null) {
    this.dir = dir;
    this.config = config;
    this.path = join(dir, 'journal.jsonl');
    this.refresh();
  }

  /** A value computed from the index, recomputed only after new records. */
  cached<T>(key: string, make: () => T): T {
    const hit = this.cache.get(key);
    if (hit && hit.version === this.version) return hit.value as T;
    const value = make();
    this.cache.set(key, { version: this.version, value });
    return value;
  }

  /** Reads the journal's new tail; true if records were added. */
  refresh(): boolean {
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch {
      if (this.records > 0 || this.offset > 0) this.reset();
      return false;
    }
    if ((this.ino !== -1 && st.ino !== this.ino) || st.size < this.offset) this.reset();
    this.ino = st.ino;
    if (st.size === this.offset) return false;
    const before = this.records;
    const fd = openSync(this.path, 'r');
    try {
      let pos = this.offset;
      let carry = Buffer.alloc(0);
      while (pos < st.size) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, st.size - pos));
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        this.bytesRead += n;
        const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
        const nl = data.lastIndexOf(0x0a);
        if (nl < 0) {
          carry = data;
          continue;
        }
        for (const line of data.toString('utf8', 0, nl).split('\n')) {
          if (!line.trim()) continue;
          let record: RunRecord;
          try {
            record = JSON.parse(line) as RunRecord;
          } catch {
            continue; // cut short by a crash: the work it described was redone
          }
          if (record && typeof record === 'object') this.apply(record);
        }
        carry = data.subarray(nl + 1);
        this.offset = pos - carry.length;
      }
    } finally {
      closeSync(fd);
    }
    if (this.records === before) return false;
    this.version++;
    return true;
  }

  /** A valid injection's reward is null in its record and given by its solve rate later. */
  rewardOf(e: EpisodeRecordV1): number | null {
    if (e.reward !== null || e.role !== 'injector') return e.reward;
    return this.injectorRewards.get(e.id) ?? null;
  }

  /** Forgets everything read (the journal shrank or is another file): read it again. */
  private reset(): void {
    for (const v of Object.values(this)) {
      if (v instanceof Map) v.clear();
      else if (Array.isArray(v)) v.length = 0;
    }
    this.records = 0;
    this.solvers = 0;
    this.offset = 0;
    this.version++;
  }

  private tally(key: string, valid: boolean): void {
    const t = this.yieldTally.get(key) ?? { tried: 0, valid: 0 };
    t.tried++;
    if (valid) t.valid++;
    this.yieldTally.set(key, t);
  }

  private addRow(row: ArtifactRow): void {
    if (this.rowById.has(row.id)) return;
    this.rows.push(row);
    this.rowById.set(row.id, row);
  }

  /**
   * Takes an episode record back out of every tally: a later record with the same id (an
   * episode redone after a model or infrastructure error) supersedes it.
   */
  private forget(old: EpisodeRecordV1): void {
    const drop = <T>(list: T[] | undefined, x: T) => {
      const i = list ? list.lastIndexOf(x) : -1;
      if (i >= 0) list!.splice(i, 1);
    };
    drop(this.episodes, old);
    if (old.artifactId) drop(this.episodesByArtifact.get(old.artifactId), old);
    if (old.role !== 'injector') {
      this.solvers--;
      return;
    }
    drop(this.injectors, old);
    const t = this.yieldTally.get(old.strategy ?? 'llm');
    if (t) {
      t.tried--;
      if (old.outcome === 'valid') t.valid--;
    }
    const n = (this.injectionOutcomes.get(old.outcome) ?? 0) - 1;
    if (n > 0) this.injectionOutcomes.set(old.outcome, n);
    else this.injectionOutcomes.delete(old.outcome);
    const row = this.rowById.get(old.id);
    if (row?.kind === 'rejected') {
      drop(this.rows, row);
      this.rowById.delete(old.id);
    }
  }

  private apply(r: RunRecord): void {
    this.records++;
    switch (r.kind) {
      case 'episode': {
        const old = this.episodeById.get(r.id);
        if (old) this.forget(old);
        this.episodes.push(r);
        this.episodeById.set(r.id, r);
        if (r.artifactId) {
          const list = this.episodesByArtifact.get(r.artifactId) ?? [];
          list.push(r);
          this.episodesByArtifact.set(r.artifactId, list);
        }
        if (r.role !== 'injector') {
          this.solvers++;
          return;
        }
        this.injectors.push(r);
        this.tally(r.strategy ?? 'llm', r.outcome === 'valid');
        this.injectionOutcomes.set(r.outcome, (this.injectionOutcomes.get(r.outcome) ?? 0) + 1);
        if (r.outcome === 'invalid') {
          // The loop writes no artifact for a rejected injection: its episode stands in.
          this.addRow({
            id: r.id,
            kind: 'rejected',
            step: r.step,
            repo: repoName(r.repo),
            source: 'llm',
            strategy: r.strategy ?? 'llm',
            order: 1,
            valid: false,
            failedCheck: r.failedCheck?.name ?? null,
            solveRate: null,
            attempts: 0,
            episodeId: r.id,
          });
        }
        const row = r.artifactId ? this.rowById.get(r.artifactId) : undefined;
        if (row && row.episodeId === r.id && r.strategy) row.strategy = r.strategy;
        return;
      }
      case 'artifact': {
        this.artifacts.push(r);
        this.artifactById.set(r.id, r);
        if (r.source !== 'llm') this.tally(r.source, r.valid);
        const s = this.solveByArtifact.get(r.id);
        this.addRow({
          id: r.id,
          kind: 'artifact',
          step: r.step,
          repo: repoName(r.repo),
          source: r.source,
          strategy:
            (r.episodeId ? this.episodeById.get(r.episodeId)?.strategy : undefined) ??
            (r.source === 'procedural' ? metadataStrategy(this.dir, r.id) : null) ??
            r.source,
          order: r.order,
          valid: r.valid,
          failedCheck: r.failedCheck?.name ?? null,
          solveRate: s?.attempts ? s.solved / s.attempts : null,
          attempts: s?.attempts ?? 0,
          episodeId: r.episodeId ?? null,
        });
        return;
      }
      case 'solve-rate': {
        const list = this.ratesByStep.get(r.step) ?? [];
        list.push(r);
        this.ratesByStep.set(r.step, list);
        const s = this.solveByArtifact.get(r.artifactId) ?? { solved: 0, attempts: 0 };
        s.solved += r.solved;
        s.attempts += r.attempts;
        this.solveByArtifact.set(r.artifactId, s);
        if (r.injectorEpisodeId && r.injectorReward !== undefined)
          this.injectorRewards.set(r.injectorEpisodeId, r.injectorReward);
        const row = this.rowById.get(r.artifactId);
        if (row) {
          row.solveRate = s.attempts ? s.solved / s.attempts : null;
          row.attempts = s.attempts;
        }
        return;
      }
      case 'step':
        if (r.metrics) this.steps.set(r.step, r.metrics);
        return;
    }
  }
}

function repoName(repo: string): string {
  return String(repo ?? '')
    .split('/')
    .pop()!;
}

// ---------------------------------------------------------------- summary and step series

export interface Summary {
  kind: 'run' | 'inject';
  name: string;
  /** Changes whenever the run or folder gained records: the page polls it. */
  version: string;
  config: Record<string, unknown> | null;
  steps: number;
  artifacts: { total: number; valid: number };
  episodes: { injector: number; solver: number };
  /** Injector episodes by outcome (valid, invalid, no-artifact, duplicate, error). */
  injections: { total: number; byOutcome: Record<string, number> };
  /** Inject folders: summary.json as written. */
  injectSummary: Record<string, unknown> | null;
  /** Per strategy (or source): tried, valid, yield. */
  yieldTable: { strategy: string; tried: number; valid: number; yield: number }[];
}

function sortedCounts(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
}

export function summary(src: DashboardSource): Summary {
  const name = src.dir.split(sep).pop() ?? src.dir;
  if (src.kind === 'inject') {
    const s = readJson<Record<string, unknown>>(src.dir, 'summary.json');
    const byStrategy = (s?.byStrategy ?? {}) as Record<
      string,
      { tried: number; valid: number; yield: number }
    >;
    const arts = injectArtifactIds(src.dir);
    const episodes = injectEpisodes(src.dir);
    const outcomes = new Map<string, number>();
    for (const e of episodes) {
      const o = String(e.outcome ?? '');
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    return {
      kind: 'inject',
      name,
      version: `${arts.length}:${episodes.length}:${s ? JSON.stringify(s).length : 0}`,
      config: null,
      steps: 0,
      artifacts: { total: arts.length, valid: arts.length },
      episodes: { injector: episodes.length, solver: 0 },
      injections: { total: episodes.length, byOutcome: sortedCounts(outcomes) },
      injectSummary: s,
      yieldTable: Object.entries(byStrategy).map(([strategy, v]) => ({ strategy, ...v })),
    };
  }
  const idx = src.run;
  return {
    kind: 'run',
    name,
    version: String(idx.version),
    config: idx.config,
    steps: idx.steps.size,
    artifacts: {
      total: idx.artifacts.length,
      valid: idx.artifacts.filter((a) => a.valid).length,
    },
    episodes: { injector: idx.injectors.length, solver: idx.solvers },
    injections: { total: idx.injectors.length, byOutcome: sortedCounts(idx.injectionOutcomes) },
    injectSummary: null,
    yieldTable: [...idx.yieldTally].map(([strategy, v]) => ({
      strategy,
      ...v,
      yield: v.tried ? v.valid / v.tried : 0,
    })),
  };
}

export interface StepPoint {
  step: number;
  validRate: number;
  meanSolveRate: number | null;
  histogram: number[];
  /** Artifacts attempted in the step by solve rate: none solved, some (the learnable band), all. */
  band: { zero: number; mid: number; one: number };
  meanReward: { injector: number | null; solver: number | null };
  /** Higher-order artifacts among those attempted in the step. */
  higherOrderShare: number | null;
  /** Injections that brought no new valid artifact, by reason ('5 bug validity', 'duplicate'). */
  failures: Record<string, number>;
  tokens: { prompt: number; completion: number };
  timeMs: number;
  finishedAt: string;
}

export function stepSeries(src: DashboardSource): StepPoint[] {
  if (src.kind !== 'run') return [];
  const idx = src.run;
  return idx.cached('steps', () =>
    [...idx.steps.values()]
      .sort((a, b) => a.step - b.step)
      .map((m: StepMetrics) => {
        const rates = idx.ratesByStep.get(m.step) ?? [];
        const band = { zero: 0, mid: 0, one: 0 };
        let higher = 0;
        for (const r of rates) {
          if (r.solveRate <= 0) band.zero++;
          else if (r.solveRate >= 1) band.one++;
          else band.mid++;
          if (idx.artifactById.get(r.artifactId)?.source === 'higher-order') higher++;
        }
        return {
          step: m.step,
          validRate: m.validRate,
          meanSolveRate: m.meanSolveRate,
          histogram: m.solveRateHistogram,
          band,
          meanReward: m.meanReward,
          higherOrderShare: rates.length ? higher / rates.length : null,
          failures: m.failures ?? {},
          tokens: m.tokens,
          timeMs: m.timeMs,
          finishedAt: m.finishedAt,
        };
      }),
  );
}

// ---------------------------------------------------------------- artifact list

export interface ArtifactRow {
  /** The artifact's id; for a rejected injection, its episode's (it has no artifact folder). */
  id: string;
  /** 'rejected': an LLM injection the validator refused; its page is the episode's. */
  kind: 'artifact' | 'rejected';
  step: number | null;
  repo: string;
  source: string;
  strategy: string;
  order: number;
  valid: boolean;
  failedCheck: string | null;
  solveRate: number | null;
  attempts: number;
  /** The injector episode that made it, if any. */
  episodeId: string | null;
}

export const ARTIFACT_SORTS = [
  'id',
  'step',
  'repo',
  'source',
  'strategy',
  'order',
  'validation',
  'solveRate',
  'attempts',
] as const;
export type ArtifactSort = (typeof ARTIFACT_SORTS)[number];

export interface ArtifactQuery {
  /** Matches the source (llm, procedural, higher-order) or the strategy. */
  strategy?: string;
  repo?: string;
  minSolve?: number;
  maxSolve?: number;
  /** 'valid', 'invalid', or a failed check's name. */
  validation?: string;
  /** Substring of the id. */
  q?: string;
  /** Journal order unless given; rows without a value (no solve rate yet) always come last. */
  sort?: string;
  dir?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface ArtifactPage {
  total: number;
  page: number;
  pageSize: number;
  sort: string | null;
  dir: 'asc' | 'desc';
  rows: ArtifactRow[];
  facets: { strategies: string[]; repos: string[]; validations: string[] };
}

/** Artifact folders never change once written, so their metadata is read once per process. */
const strategyCache = new Map<string, string | null>();

function metadataStrategy(dir: string, id: string): string | null {
  const key = join(dir, id);
  if (strategyCache.has(key)) return strategyCache.get(key)!;
  const m = readJson<{ strategy?: string }>(dir, join('artifacts', id, 'metadata.json'));
  const strategy = typeof m?.strategy === 'string' ? m.strategy : null;
  // A missing file may be one being written right now: ask again next time.
  if (m) strategyCache.set(key, strategy);
  return strategy;
}

function injectArtifactIds(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => isSafeId(n) && existsSync(join(dir, n, 'bug_inject.diff')))
    .filter((n) => insideRoot(dir, n) !== null)
    .sort();
}

function injectRows(dir: string): ArtifactRow[] {
  const rows: ArtifactRow[] = injectArtifactIds(dir).map((id) => {
    const m = readJson<{ repo?: string; strategy?: string; order?: number }>(
      dir,
      join(id, 'metadata.json'),
    );
    const v = readJson<ValidationReport>(dir, join(id, 'validation.json'));
    const repo = m?.repo ?? v?.repo ?? '';
    return {
      id,
      kind: 'artifact',
      step: null,
      repo: repoName(repo),
      source: m?.strategy === 'llm' || id.includes('-llm-') ? 'llm' : 'procedural',
      strategy: m?.strategy ?? 'unknown',
      order: m?.order ?? 1,
      valid: v ? v.valid : true,
      failedCheck: v?.failedCheck?.name ?? null,
      solveRate: null,
      attempts: 0,
      episodeId: null,
    };
  });
  // `ssr inject --model` keeps rejected injections as episodes only, as self-play does.
  for (const e of injectEpisodes(dir)) {
    if (e.outcome !== 'invalid') continue;
    const f = e.failedCheck as { name?: string } | undefined;
    rows.push({
      id: String(e.index),
      kind: 'rejected',
      step: null,
      repo: '',
      source: 'llm',
      strategy: String(e.strategy ?? 'llm'),
      order: 1,
      valid: false,
      failedCheck: typeof f?.name === 'string' ? f.name : null,
      solveRate: null,
      attempts: 0,
      episodeId: String(e.index),
    });
  }
  return rows;
}

const MAX_PAGE_SIZE = 500;

/** Compares two values of one column: numbers as numbers, the rest as text; nulls last. */
function compareBy<R>(
  rows: R[],
  value: (r: R) => string | number | null,
  dir: 'asc' | 'desc',
): R[] {
  const sign = dir === 'desc' ? -1 : 1;
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) {
        if (a.v === b.v) return a.i - b.i;
        return a.v === null ? 1 : -1;
      }
      const c =
        typeof a.v === 'number' && typeof b.v === 'number'
          ? a.v - b.v
          : String(a.v).localeCompare(String(b.v));
      return c === 0 ? a.i - b.i : sign * c;
    })
    .map((x) => x.r);
}

function pageOf<R>(
  rows: R[],
  query: { page?: number; pageSize?: number },
): { total: number; page: number; pageSize: number; rows: R[] } {
  const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(query.pageSize ?? 50) || 50));
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const page = Math.min(pages, Math.max(1, Math.floor(query.page ?? 1) || 1));
  return {
    total: rows.length,
    page,
    pageSize,
    rows: rows.slice((page - 1) * pageSize, page * pageSize),
  };
}

const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();

function artifactSortValue(sort: ArtifactSort): (r: ArtifactRow) => string | number | null {
  switch (sort) {
    case 'validation':
      return (r) => (r.valid ? '' : `invalid ${r.failedCheck ?? ''}`);
    default:
      return (r) => r[sort];
  }
}

export function listArtifacts(src: DashboardSource, query: ArtifactQuery = {}): ArtifactPage {
  const all = src.kind === 'run' ? src.run.rows : injectRows(src.dir);
  const sort = (ARTIFACT_SORTS as readonly string[]).includes(query.sort ?? '')
    ? (query.sort as ArtifactSort)
    : null;
  const dir = query.dir === 'desc' ? 'desc' : 'asc';
  const ordered = !sort
    ? all
    : src.kind === 'run'
      ? src.run.cached(`artifacts:${sort}:${dir}`, () =>
          compareBy(all, artifactSortValue(sort), dir),
        )
      : compareBy(all, artifactSortValue(sort), dir);
  const q = query.q?.toLowerCase();
  const rows = ordered.filter((r) => {
    if (query.strategy && r.strategy !== query.strategy && r.source !== query.strategy)
      return false;
    if (query.repo && r.repo !== query.repo) return false;
    if (query.minSolve !== undefined && (r.solveRate === null || r.solveRate < query.minSolve))
      return false;
    if (query.maxSolve !== undefined && (r.solveRate === null || r.solveRate > query.maxSolve))
      return false;
    if (query.validation) {
      if (query.validation === 'valid' && !r.valid) return false;
      if (query.validation === 'invalid' && r.valid) return false;
      if (
        query.validation !== 'valid' &&
        query.validation !== 'invalid' &&
        r.failedCheck !== query.validation
      )
        return false;
    }
    if (q && !r.id.toLowerCase().includes(q)) return false;
    return true;
  });
  const facets = () => ({
    strategies: uniq(all.flatMap((r) => [r.source, r.strategy])),
    repos: uniq(all.map((r) => r.repo)),
    validations: ['valid', 'invalid', ...uniq(all.map((r) => r.failedCheck))],
  });
  return {
    ...pageOf(rows, query),
    sort,
    dir,
    facets: src.kind === 'run' ? src.run.cached('artifact-facets', facets) : facets(),
  };
}

// ---------------------------------------------------------------- injector episodes

export interface InjectionRow {
  id: string;
  step: number | null;
  repo: string;
  strategy: string;
  /** valid | invalid | no-artifact | duplicate | error */
  outcome: string;
  /** The validation check that rejected it (outcome invalid). */
  failedCheck: string | null;
  reason: string;
  /** null while a valid injection's solvers run. */
  reward: number | null;
  /** The artifact it made (valid), or the one it duplicated. */
  artifactId: string | null;
  turns: number;
  tokens: number;
  hasTrajectory: boolean;
}

export const INJECTION_SORTS = [
  'id',
  'step',
  'repo',
  'strategy',
  'outcome',
  'failedCheck',
  'reward',
  'turns',
  'tokens',
] as const;

export interface InjectionQuery {
  outcome?: string;
  /** A failed check's name. */
  check?: string;
  strategy?: string;
  repo?: string;
  /** Substring of the episode id or the reason. */
  q?: string;
  sort?: string;
  dir?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface InjectionPage {
  total: number;
  page: number;
  pageSize: number;
  sort: string | null;
  dir: 'asc' | 'desc';
  rows: InjectionRow[];
  facets: { outcomes: string[]; checks: string[]; strategies: string[]; repos: string[] };
}

function injectionRows(src: DashboardSource): InjectionRow[] {
  if (src.kind === 'run') {
    const idx = src.run;
    return idx.cached('injections', () =>
      idx.injectors.map((e) => ({
        id: e.id,
        step: e.step,
        repo: repoName(e.repo),
        strategy: e.strategy ?? 'llm',
        outcome: e.outcome,
        failedCheck: e.failedCheck?.name ?? null,
        reason: e.reason,
        reward: idx.rewardOf(e),
        artifactId: e.artifactId,
        turns: e.turns,
        tokens: e.usage.promptTokens + e.usage.completionTokens,
        hasTrajectory: !!e.trajectory,
      })),
    );
  }
  return injectEpisodes(src.dir).map((e) => {
    const usage = e.usage as { promptTokens?: number; completionTokens?: number } | undefined;
    const f = e.failedCheck as { name?: string } | undefined;
    return {
      id: String(e.index),
      step: null,
      repo: '',
      strategy: String(e.strategy ?? 'llm'),
      outcome: String(e.outcome ?? ''),
      failedCheck: typeof f?.name === 'string' ? f.name : null,
      reason: String(e.reason ?? ''),
      reward: typeof e.reward === 'number' ? e.reward : null,
      artifactId: typeof e.artifactId === 'string' ? e.artifactId : null,
      turns: Number(e.turns ?? 0),
      tokens: (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0),
      hasTrajectory: !!e.trajectory,
    };
  });
}

/** Every injector episode, rejected ones included, paged and filtered like the artifacts. */
export function listInjections(src: DashboardSource, query: InjectionQuery = {}): InjectionPage {
  const all = injectionRows(src);
  const sort = (INJECTION_SORTS as readonly string[]).includes(query.sort ?? '')
    ? (query.sort as (typeof INJECTION_SORTS)[number])
    : null;
  const dir = query.dir === 'desc' ? 'desc' : 'asc';
  const ordered = sort ? compareBy(all, (r) => r[sort], dir) : all;
  const q = query.q?.toLowerCase();
  const rows = ordered.filter(
    (r) =>
      (!query.outcome || r.outcome === query.outcome) &&
      (!query.check || r.failedCheck === query.check) &&
      (!query.strategy || r.strategy === query.strategy) &&
      (!query.repo || r.repo === query.repo) &&
      (!q || r.id.toLowerCase().includes(q) || r.reason.toLowerCase().includes(q)),
  );
  const facets = () => ({
    outcomes: uniq(all.map((r) => r.outcome)),
    checks: uniq(all.map((r) => r.failedCheck)),
    strategies: uniq(all.map((r) => r.strategy)),
    repos: uniq(all.map((r) => r.repo)),
  });
  return {
    ...pageOf(rows, query),
    sort,
    dir,
    facets: src.kind === 'run' ? src.run.cached('injection-facets', facets) : facets(),
  };
}

// ---------------------------------------------------------------- artifact detail

export interface TestRow {
  id: string;
  baseline: string | null;
  bug: string | null;
  weakened: string | null;
}

export interface AttemptRow {
  id: string;
  step: number;
  role: string;
  attempt: number | null;
  outcome: string;
  reward: number | null;
  endReason: string;
  turns: number;
  tokens: number;
  hasTrajectory: boolean;
}

/** A validation report as the page shows it (from validation.json or a trajectory file). */
export interface ValidationView {
  valid: boolean;
  failedCheck: ValidationReport['failedCheck'];
  checks: ValidationReport['checks'];
  warnings: string[];
  timings: ValidationReport['timings'] | null;
}

export interface ArtifactDetail {
  id: string;
  record: ArtifactRecordV1 | null;
  metadata: Record<string, unknown> | null;
  bugDiff: string | null;
  weakenDiff: string | null;
  testFiles: string[];
  validation: ValidationView | null;
  tests: TestRow[];
  solveRate: { solved: number; attempts: number; rate: number } | null;
  attempts: AttemptRow[];
}

/** Most test rows sent: a suite of tens of thousands would make the page crawl. */
const MAX_TEST_ROWS = 5000;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Only what the page reads, and only if it has the expected shape (a run's files are data). */
function validationView(v: unknown): ValidationView | null {
  if (!isObject(v) || typeof v.valid !== 'boolean') return null;
  return {
    valid: v.valid,
    failedCheck: isObject(v.failedCheck) ? (v.failedCheck as ValidationView['failedCheck']) : null,
    checks: Array.isArray(v.checks)
      ? (v.checks.filter(isObject) as unknown as ValidationView['checks'])
      : [],
    warnings: Array.isArray(v.warnings) ? v.warnings.map(String) : [],
    timings: isObject(v.timings) ? (v.timings as unknown as ValidationView['timings']) : null,
  };
}

function testRows(v: unknown): TestRow[] {
  if (!isObject(v)) return [];
  const map = (stage: unknown): TestMap | undefined =>
    isObject(stage) && isObject(stage.tests) ? (stage.tests as TestMap) : undefined;
  const maps: [keyof Omit<TestRow, 'id'>, TestMap | undefined][] = [
    ['baseline', map(v.baseline)],
    ['bug', map(v.bug)],
    ['weakened', map(v.weakened)],
  ];
  const ids = new Set<string>();
  for (const [, m] of maps) for (const k of Object.keys(m ?? {})) ids.add(k);
  const rows = [...ids].sort().map((id) => {
    const row: TestRow = { id, baseline: null, bug: null, weakened: null };
    for (const [k, m] of maps) row[k] = m && Object.hasOwn(m, id) ? String(m[id]) : null;
    return row;
  });
  // Changed rows first: they are what the artifact is about.
  const changed = (r: TestRow) => r.baseline !== r.bug || r.bug !== r.weakened;
  return [...rows.filter(changed), ...rows.filter((r) => !changed(r))].slice(0, MAX_TEST_ROWS);
}

export function artifactDetail(src: DashboardSource, id: string): ArtifactDetail | null {
  if (!isSafeId(id)) return null;
  const base = src.kind === 'run' ? join('artifacts', id) : id;
  const record = src.kind === 'run' ? (src.run.artifactById.get(id) ?? null) : null;
  const dirOk = insideRoot(src.dir, base) !== null;
  if (!record && !dirOk) return null;
  const file = (name: string) => (dirOk ? readText(src.dir, join(base, name)) : null);
  const v = dirOk ? readJson<unknown>(src.dir, join(base, 'validation.json')) : null;
  const attempts: AttemptRow[] = [];
  let solveRate: ArtifactDetail['solveRate'] = null;
  if (src.kind === 'run') {
    const idx = src.run;
    for (const e of idx.episodesByArtifact.get(id) ?? []) {
      attempts.push({
        id: e.id,
        step: e.step,
        role: e.role,
        attempt: e.attempt ?? null,
        outcome: e.outcome,
        reward: idx.rewardOf(e),
        endReason: e.endReason,
        turns: e.turns,
        tokens: e.usage.promptTokens + e.usage.completionTokens,
        hasTrajectory: !!e.trajectory,
      });
    }
    const s = idx.solveByArtifact.get(id);
    if (s?.attempts) solveRate = { ...s, rate: s.solved / s.attempts };
  } else {
    // `ssr inject --model`: the injector episode(s) that wrote this artifact.
    for (const e of injectEpisodes(src.dir)) {
      if (e.artifactId !== id) continue;
      const usage = e.usage as { promptTokens?: number; completionTokens?: number } | undefined;
      attempts.push({
        id: String(e.index),
        step: 0,
        role: 'injector',
        attempt: null,
        outcome: String(e.outcome ?? ''),
        reward: typeof e.reward === 'number' ? e.reward : null,
        endReason: String(e.endReason ?? ''),
        turns: Number(e.turns ?? 0),
        tokens: (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0),
        hasTrajectory: !!e.trajectory,
      });
    }
  }
  return {
    id,
    record,
    metadata: dirOk ? readJson(src.dir, join(base, 'metadata.json')) : null,
    bugDiff: file('bug_inject.diff'),
    weakenDiff: file('test_weaken.diff'),
    testFiles: (file('test_files.txt') ?? '').split('\n').filter((l) => l.trim()),
    validation: validationView(v),
    tests: testRows(v),
    solveRate,
    attempts,
  };
}

// ---------------------------------------------------------------- trajectories

export interface TurnView {
  index: number;
  content: string | null;
  toolCalls: {
    id: string;
    name: string;
    arguments: string;
    output: string | null;
    isError: boolean;
    durationMs: number | null;
  }[];
  usage: { promptTokens: number; completionTokens: number } | null;
  finishReason: string | null;
  latencyMs: number | null;
  error: string | null;
}

export interface EpisodeDetail {
  id: string;
  role: string;
  record: EpisodeRecordV1 | Record<string, unknown> | null;
  reward: number | null;
  artifactId: string | null;
  system: string | null;
  user: string | null;
  turns: TurnView[];
  endReason: string | null;
  endDetail: string | null;
  usage: { promptTokens: number; completionTokens: number } | null;
  durationMs: number | null;
  patch: string | null;
  evaluation: unknown;
  /** Injector: valid | invalid | no-artifact | duplicate | error, and why. */
  outcome: string | null;
  reason: string | null;
  /** Injector: the file it was told to start from. */
  focus: string | null;
  /**
   * Injector: the validation report of what it wrote, from its trajectory file. For a rejected
   * injection this is the only report there is (the loop keeps no artifact folder for it).
   */
  validation: ValidationView | null;
  tests: TestRow[];
  /** Injector: what a rejected injection wrote (its diffs and oracle files), when kept. */
  written: { bugDiff: string; weakenDiff: string; testFiles: string[] } | null;
}

interface TrajectoryFile {
  episodeId?: string;
  role?: string;
  trajectory?: Trajectory;
  patch?: string | null;
  evaluation?: unknown;
  validation?: unknown;
  strategy?: string;
  reason?: string;
  focus?: string;
  written?: { bugDiff?: unknown; weakenDiff?: unknown; testFiles?: unknown };
}

function injectEpisodes(dir: string): Record<string, unknown>[] {
  const text = readText(dir, join('.ssr', 'injector-episodes.jsonl'));
  if (!text) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    try {
      if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A torn last line of a live run.
    }
  }
  return out;
}

export function episodeDetail(src: DashboardSource, id: string): EpisodeDetail | null {
  if (!isSafeId(id)) return null;
  let rel: string;
  let record: EpisodeDetail['record'] = null;
  let reward: number | null = null;
  let artifactId: string | null = null;
  if (src.kind === 'run') {
    const e = src.run.episodeById.get(id);
    if (e) {
      record = e;
      reward = src.run.rewardOf(e);
      artifactId = e.artifactId;
    }
    rel = e?.trajectory ?? join('trajectories', `${id}.json`);
  } else {
    const e = injectEpisodes(src.dir).find((r) => String(r.index) === id);
    if (e) {
      record = e;
      reward = typeof e.reward === 'number' ? e.reward : null;
      artifactId = typeof e.artifactId === 'string' ? e.artifactId : null;
    }
    rel = join('.ssr', 'episodes', `${id}.json`);
  }
  const file = readJson<TrajectoryFile>(src.dir, rel);
  if (!file && !record) return null;
  const rec = (record ?? {}) as Record<string, unknown>;
  const t = file?.trajectory;
  const first = (role: 'system' | 'user') =>
    (t?.messages.find((m) => m.role === role)?.content as string | undefined) ?? null;
  const turns: TurnView[] = (t?.turns ?? []).map((turn) => {
    const calls = turn.response?.message.toolCalls ?? [];
    return {
      index: turn.index,
      content: turn.response?.message.content ?? null,
      toolCalls: calls.map((c) => {
        const ex = turn.tools.find((x) => x.call.id === c.id);
        return {
          id: c.id,
          name: c.name,
          arguments: c.arguments,
          output: ex?.output ?? null,
          isError: ex?.isError ?? false,
          durationMs: ex?.durationMs ?? null,
        };
      }),
      usage: turn.response?.usage ?? null,
      finishReason: turn.response?.finishReason ?? null,
      latencyMs: turn.response?.latencyMs ?? null,
      error: turn.error ?? null,
    };
  });
  return {
    id,
    role: file?.role ?? (record as { role?: string } | null)?.role ?? 'injector',
    record,
    reward,
    artifactId,
    system: first('system'),
    user: first('user'),
    turns,
    endReason: t?.endReason ?? null,
    endDetail: t?.endDetail ?? null,
    usage: t?.usage ?? null,
    durationMs: t?.durationMs ?? null,
    patch: file?.patch ?? null,
    evaluation: file?.evaluation ?? null,
    outcome: typeof rec.outcome === 'string' ? rec.outcome : null,
    reason: typeof rec.reason === 'string' ? rec.reason : (file?.reason ?? null),
    focus: typeof file?.focus === 'string' ? file.focus : null,
    validation: validationView(file?.validation),
    tests: testRows(file?.validation),
    written: writtenView(file?.written),
  };
}

function writtenView(w: TrajectoryFile['written']): EpisodeDetail['written'] {
  if (!w || typeof w.bugDiff !== 'string' || typeof w.weakenDiff !== 'string') return null;
  const files = Array.isArray(w.testFiles) ? w.testFiles.filter((f) => typeof f === 'string') : [];
  return { bugDiff: w.bugDiff, weakenDiff: w.weakenDiff, testFiles: files };
}

/** For the static report: everything the plots need, in one object. */
export function reportData(src: DashboardSource): { summary: Summary; steps: StepPoint[] } {
  return { summary: summary(src), steps: stepSeries(src) };
}

import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Trajectory } from '../agent/loop.js';
import {
  type ArtifactRecordV1,
  type EpisodeRecordV1,
  type RunRecord,
  RunStore,
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
  | { kind: 'run'; dir: string; store: RunStore }
  | { kind: 'inject'; dir: string };

/** A run directory (run.json) or an `ssr inject` output (summary.json or .ssr/). */
export function openSource(dir: string): DashboardSource {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new UsageError(`${dir} does not exist or is not a folder`);
  if (existsSync(join(root, 'run.json')))
    return { kind: 'run', dir: root, store: RunStore.open(root) };
  if (existsSync(join(root, 'summary.json')) || existsSync(join(root, '.ssr')))
    return { kind: 'inject', dir: root };
  throw new UsageError(
    `${dir} is neither an ssr run directory (no run.json) nor an ssr inject output (no summary.json)`,
  );
}

export function refreshSource(src: DashboardSource): void {
  if (src.kind === 'run') src.store.refresh();
}

// ---------------------------------------------------------------- summary and step series

export interface Summary {
  kind: 'run' | 'inject';
  name: string;
  config: Record<string, unknown> | null;
  steps: number;
  artifacts: { total: number; valid: number };
  episodes: { injector: number; solver: number };
  /** Inject folders: summary.json as written. */
  injectSummary: Record<string, unknown> | null;
  /** Per strategy (or source): tried, valid, yield. */
  yieldTable: { strategy: string; tried: number; valid: number; yield: number }[];
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
    return {
      kind: 'inject',
      name,
      config: null,
      steps: 0,
      artifacts: { total: arts.length, valid: arts.length },
      episodes: { injector: injectEpisodes(src.dir).length, solver: 0 },
      injectSummary: s,
      yieldTable: Object.entries(byStrategy).map(([strategy, v]) => ({ strategy, ...v })),
    };
  }
  const idx = runIndex(src.store);
  const table = new Map<string, { tried: number; valid: number }>();
  for (const e of idx.episodes) {
    if (e.role !== 'injector') continue;
    const row = table.get(e.strategy ?? 'llm') ?? { tried: 0, valid: 0 };
    row.tried++;
    if (e.outcome === 'valid') row.valid++;
    table.set(e.strategy ?? 'llm', row);
  }
  for (const a of idx.artifacts) {
    if (a.source === 'llm') continue;
    const row = table.get(a.source) ?? { tried: 0, valid: 0 };
    row.tried++;
    if (a.valid) row.valid++;
    table.set(a.source, row);
  }
  return {
    kind: 'run',
    name,
    config: safeConfig(src.store),
    steps: src.store.steps().length,
    artifacts: { total: idx.artifacts.length, valid: idx.artifacts.filter((a) => a.valid).length },
    episodes: {
      injector: idx.episodes.filter((e) => e.role === 'injector').length,
      solver: idx.episodes.filter((e) => e.role === 'solver').length,
    },
    injectSummary: null,
    yieldTable: [...table].map(([strategy, v]) => ({
      strategy,
      ...v,
      yield: v.tried ? v.valid / v.tried : 0,
    })),
  };
}

function safeConfig(store: RunStore): Record<string, unknown> | null {
  try {
    return store.config();
  } catch {
    return null;
  }
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
  tokens: { prompt: number; completion: number };
  timeMs: number;
  finishedAt: string;
}

export function stepSeries(src: DashboardSource): StepPoint[] {
  if (src.kind !== 'run') return [];
  const idx = runIndex(src.store);
  const ratesByStep = new Map<number, SolveRateRecordV1[]>();
  for (const r of idx.solveRates) {
    const list = ratesByStep.get(r.step) ?? [];
    list.push(r);
    ratesByStep.set(r.step, list);
  }
  return src.store.steps().map((m: StepMetrics) => {
    const rates = ratesByStep.get(m.step) ?? [];
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
      tokens: m.tokens,
      timeMs: m.timeMs,
      finishedAt: m.finishedAt,
    };
  });
}

// ---------------------------------------------------------------- run index (cached)

interface RunIndex {
  records: readonly RunRecord[];
  episodes: EpisodeRecordV1[];
  artifacts: ArtifactRecordV1[];
  solveRates: SolveRateRecordV1[];
  artifactById: Map<string, ArtifactRecordV1>;
  episodeById: Map<string, EpisodeRecordV1>;
  /** Summed over every step an artifact was attempted in. */
  solveByArtifact: Map<string, { solved: number; attempts: number }>;
  rows: ArtifactRow[] | null;
}

const indexCache = new WeakMap<RunStore, RunIndex>();

/** Rebuilt only when the store's record array changes (refresh() replaces it). */
function runIndex(store: RunStore): RunIndex {
  const records = store.all();
  const cached = indexCache.get(store);
  // The journal is append-only: the same length means the same records, even after a refresh.
  if (cached && cached.records.length === records.length) return cached;
  const episodes = store.episodesWithRewards();
  const artifacts = store.artifacts();
  const solveRates = store.solveRates();
  const solveByArtifact = new Map<string, { solved: number; attempts: number }>();
  for (const r of solveRates) {
    const s = solveByArtifact.get(r.artifactId) ?? { solved: 0, attempts: 0 };
    s.solved += r.solved;
    s.attempts += r.attempts;
    solveByArtifact.set(r.artifactId, s);
  }
  const idx: RunIndex = {
    records,
    episodes,
    artifacts,
    solveRates,
    artifactById: new Map(artifacts.map((a) => [a.id, a])),
    episodeById: new Map(episodes.map((e) => [e.id, e])),
    solveByArtifact,
    rows: null,
  };
  indexCache.set(store, idx);
  return idx;
}

// ---------------------------------------------------------------- artifact list

export interface ArtifactRow {
  id: string;
  step: number | null;
  repo: string;
  source: string;
  strategy: string;
  order: number;
  valid: boolean;
  failedCheck: string | null;
  solveRate: number | null;
  attempts: number;
}

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
  page?: number;
  pageSize?: number;
}

export interface ArtifactPage {
  total: number;
  page: number;
  pageSize: number;
  rows: ArtifactRow[];
  facets: { strategies: string[]; repos: string[]; validations: string[] };
}

/** Artifact folders never change once written, so their metadata is read once per process. */
const strategyCache = new Map<string, string | null>();

function metadataStrategy(dir: string, id: string): string | null {
  const key = join(dir, id);
  if (strategyCache.has(key)) return strategyCache.get(key)!;
  const m = readJson<{ strategy?: string }>(dir, join('artifacts', id, 'metadata.json'));
  const strategy = m?.strategy ?? null;
  // A missing file may be one being written right now: ask again next time.
  if (m) strategyCache.set(key, strategy);
  return strategy;
}

function runRows(src: Extract<DashboardSource, { kind: 'run' }>): ArtifactRow[] {
  const idx = runIndex(src.store);
  if (idx.rows) return idx.rows;
  idx.rows = idx.artifacts.map((a) => {
    const s = idx.solveByArtifact.get(a.id);
    const strategy =
      (a.episodeId ? idx.episodeById.get(a.episodeId)?.strategy : undefined) ??
      (a.source === 'procedural' ? metadataStrategy(src.dir, a.id) : null) ??
      a.source;
    return {
      id: a.id,
      step: a.step,
      repo: a.repo.split('/').pop() ?? a.repo,
      source: a.source,
      strategy,
      order: a.order,
      valid: a.valid,
      failedCheck: a.failedCheck?.name ?? null,
      solveRate: s?.attempts ? s.solved / s.attempts : null,
      attempts: s?.attempts ?? 0,
    };
  });
  return idx.rows;
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
  return injectArtifactIds(dir).map((id) => {
    const m = readJson<{ repo?: string; strategy?: string; order?: number }>(
      dir,
      join(id, 'metadata.json'),
    );
    const v = readJson<ValidationReport>(dir, join(id, 'validation.json'));
    const repo = m?.repo ?? v?.repo ?? '';
    return {
      id,
      step: null,
      repo: repo.split('/').pop() ?? repo,
      source: m?.strategy === 'llm' || id.includes('-llm-') ? 'llm' : 'procedural',
      strategy: m?.strategy ?? 'unknown',
      order: m?.order ?? 1,
      valid: v ? v.valid : true,
      failedCheck: v?.failedCheck?.name ?? null,
      solveRate: null,
      attempts: 0,
    };
  });
}

const MAX_PAGE_SIZE = 500;

export function listArtifacts(src: DashboardSource, query: ArtifactQuery = {}): ArtifactPage {
  const all = src.kind === 'run' ? runRows(src) : injectRows(src.dir);
  const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(query.pageSize ?? 50)));
  const q = query.q?.toLowerCase();
  const rows = all.filter((r) => {
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
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  const page = Math.min(pages, Math.max(1, Math.floor(query.page ?? 1)));
  const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
  return {
    total: rows.length,
    page,
    pageSize,
    rows: rows.slice((page - 1) * pageSize, page * pageSize),
    facets: {
      strategies: uniq(all.flatMap((r) => [r.source, r.strategy])),
      repos: uniq(all.map((r) => r.repo)),
      validations: ['valid', 'invalid', ...uniq(all.map((r) => r.failedCheck))],
    },
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

export interface ArtifactDetail {
  id: string;
  record: ArtifactRecordV1 | null;
  metadata: Record<string, unknown> | null;
  bugDiff: string | null;
  weakenDiff: string | null;
  testFiles: string[];
  validation: {
    valid: boolean;
    failedCheck: ValidationReport['failedCheck'];
    checks: ValidationReport['checks'];
    warnings: string[];
    timings: ValidationReport['timings'] | null;
  } | null;
  tests: TestRow[];
  solveRate: { solved: number; attempts: number; rate: number } | null;
  attempts: AttemptRow[];
}

/** Most test rows sent: a suite of tens of thousands would make the page crawl. */
const MAX_TEST_ROWS = 5000;

function testRows(v: ValidationReport | null): TestRow[] {
  if (!v) return [];
  const maps: [keyof Omit<TestRow, 'id'>, TestMap | undefined][] = [
    ['baseline', v.baseline?.tests],
    ['bug', v.bug?.tests],
    ['weakened', v.weakened?.tests],
  ];
  const ids = new Set<string>();
  for (const [, m] of maps) for (const k of Object.keys(m ?? {})) ids.add(k);
  const rows = [...ids].sort().map((id) => {
    const row: TestRow = { id, baseline: null, bug: null, weakened: null };
    for (const [k, m] of maps) row[k] = m?.[id] ?? null;
    return row;
  });
  // Changed rows first: they are what the artifact is about.
  const changed = (r: TestRow) => r.baseline !== r.bug || r.bug !== r.weakened;
  return [...rows.filter(changed), ...rows.filter((r) => !changed(r))].slice(0, MAX_TEST_ROWS);
}

export function artifactDetail(src: DashboardSource, id: string): ArtifactDetail | null {
  if (!isSafeId(id)) return null;
  const base = src.kind === 'run' ? join('artifacts', id) : id;
  const record = src.kind === 'run' ? (runIndex(src.store).artifactById.get(id) ?? null) : null;
  const dirOk = insideRoot(src.dir, base) !== null;
  if (!record && !dirOk) return null;
  const file = (name: string) => (dirOk ? readText(src.dir, join(base, name)) : null);
  const v = dirOk ? readJson<ValidationReport>(src.dir, join(base, 'validation.json')) : null;
  const attempts: AttemptRow[] = [];
  let solveRate: ArtifactDetail['solveRate'] = null;
  if (src.kind === 'run') {
    const idx = runIndex(src.store);
    for (const e of idx.episodes) {
      if (e.artifactId !== id) continue;
      attempts.push({
        id: e.id,
        step: e.step,
        role: e.role,
        attempt: e.attempt ?? null,
        outcome: e.outcome,
        reward: e.reward,
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
    validation: v
      ? {
          valid: v.valid,
          failedCheck: v.failedCheck,
          checks: v.checks,
          warnings: v.warnings ?? [],
          timings: v.timings ?? null,
        }
      : null,
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
  validation: unknown;
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
    const e = runIndex(src.store).episodeById.get(id);
    if (e) {
      record = e;
      reward = e.reward;
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
    validation: file?.validation ?? null,
  };
}

/** For the static report: everything the plots need, in one object. */
export function reportData(src: DashboardSource): { summary: Summary; steps: StepPoint[] } {
  return { summary: summary(src), steps: stepSeries(src) };
}

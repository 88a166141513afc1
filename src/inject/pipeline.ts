import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Artifact } from '../artifact/artifact.js';
import { writeArtifact } from '../artifact/artifact.js';
import {
  findInlineTestRegions,
  type InlineTestRegion,
  inlineScopeProblems,
  oracleEntries,
  parseOracleEntry,
  wholeOraclePaths,
} from '../artifact/oracle-regions.js';
import { parsePatch } from '../artifact/patch.js';
import { discoverTests, type TestOverrides } from '../discovery/index.js';
import type { TestSuiteSpec } from '../discovery/types.js';
import { LayerStack } from '../sandbox/layers.js';
import { SandboxHost } from '../sandbox/local.js';
import { formatFileDiff, isNoisePath } from '../sandbox/tree-diff.js';
import type { Snapshot } from '../sandbox/types.js';
import { Journal } from '../store/journal.js';
import { didPass, passedIds } from '../testing/results.js';
import {
  runTests,
  stageHarness,
  type TestHarness,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import { commonEnds } from '../util/common-ends.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { recoverInterruptedWrites } from '../util/interrupted-writes.js';
import { runOrderedWindow } from '../util/ordered-window.js';
import { BaselineCache, scaledTimeout } from '../validate/baseline.js';
import type { ValidationReport, ValidationSettings } from '../validate/report.js';
import { type KnownRuns, knownRunKey } from '../validate/validation-run.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import { isJavaScriptLike, languageOf } from './ast.js';
import { type Coverage, targetFilter } from './coverage.js';
import type { SuiteFocus } from './covering.js';
import { historyCandidates } from './history.js';
import { coverageUnits, measureCoverage } from './measure-coverage.js';
import { mutationCandidates } from './mutation.js';
import {
  executedFrom,
  isTestPath,
  nonProductDirReason,
  nonTargetReason,
  type ProductContext,
  targetFilterFor,
} from './product-code.js';
import { removalCandidates } from './removal.js';
import type { BugCandidate, Strategy } from './types.js';
import {
  type StartWarmOptions,
  startWarmScreen,
  type WarmScreen,
  type WarmSelection,
  warmFailing,
  warmNote,
  warmRestored,
  warmSelection,
  warmTimeoutMs,
} from './warm/screen.js';
import {
  DEFAULT_WEAKEN_BOUNDS,
  deriveWeakening,
  type QuickCheck,
  type WeakenBounds,
} from './weaken.js';

export const ALL_STRATEGIES: Strategy[] = ['removal', 'history', 'mutation'];

export interface InjectOptions {
  /** Repository directory (never written). */
  repo: string;
  /** Output directory: one folder per valid artifact, plus summary.json and .ssr/. */
  out: string;
  strategies?: Strategy[];
  /** Valid artifacts wanted (default 10). */
  count?: number;
  seed?: number;
  /** Candidates processed at once (default: the number of cores). */
  concurrency?: number;
  /** Most candidates tried in all (default 25 per wanted artifact). */
  maxCandidates?: number;
  settings?: Partial<ValidationSettings>;
  onEvent?: (event: InjectEvent) => void;
  /** Stops scheduling new candidates; finished artifacts are kept. */
  signal?: AbortSignal;
  /** An existing sandbox host (default: a new one, closed at the end). */
  host?: SandboxHost;
  allowUnsandboxed?: boolean;
  /** Test discovery's escape hatches: a test command and its format, oracle test files, the flaky-share limit. */
  discovery?: TestOverrides;
  /**
   * What an artifact's test_script.sh runs: the whole suite, only the test files that execute
   * the bug's lines, or `auto` (default): the whole suite when a clean run takes under
   * `autoScopeMs`, else the covering files. Screening uses the covering files either way.
   */
  testScope?: TestScope;
  /** Clean-run time from which `auto` focuses artifacts (default 30 s). */
  autoScopeMs?: number;
  /**
   * `covering` (default): candidates are screened on the test files that execute their lines.
   * `full`: every candidate runs the whole suite (the pre-selection behaviour, for comparison:
   * bench/inject measures both).
   */
  screening?: 'covering' | 'full';
  /**
   * Screen on the covering files in a warm test-runner process that stays up between
   * candidates, where the runner allows it (mocha) and calibration agrees with the clean run
   * (default true). Warm runs only reject candidates; artifacts are still made and validated
   * in fresh sandboxes.
   */
  warm?: boolean;
  /**
   * Largest share of the suite's passing tests a bug may fail (default 0.1); a bug that
   * fails more (and more than 10 tests) is "too broad" and rejected before weakening.
   */
  maxFailingShare?: number;
  /** Bounds of test_weaken.diff (default: 5 tests, 40 removed lines). */
  weakenBounds?: Partial<WeakenBounds>;
}

export type TestScope = 'full' | 'covering' | 'auto';
export const TEST_SCOPES: readonly TestScope[] = ['full', 'covering', 'auto'];
export const DEFAULT_AUTO_SCOPE_MS = 30_000;
export const DEFAULT_MAX_FAILING_SHARE = 0.1;
/** A bug failing this many tests or fewer is never too broad, whatever the share. */
const BROAD_FLOOR = 10;

export type InjectEvent =
  | { type: 'phase'; message: string }
  | { type: 'discovered'; suite: TestSuiteSpec; passing: number; flaky: number }
  | {
      type: 'candidates';
      total: number;
      /** Candidates of each strategy that will be tried (the share of `total`). */
      byStrategy: Record<Strategy, number>;
      /** Candidates each strategy proposed, before the `maxCandidates` cap. */
      available: Record<Strategy, number>;
      resumed: number;
    }
  | { type: 'candidate'; index: number; total: number; record: CandidateRecord; valid: number };

/** One line of the journal: what became of a candidate. */
export interface CandidateRecord {
  key: string;
  strategy: Strategy;
  operator: string;
  description: string;
  location: { file: string; line: number };
  outcome: 'valid' | 'invalid' | 'error';
  /** For invalid candidates: the check that rejected it (5 = no test failed, ...). */
  failedCheck?: { id: number; name: string };
  reason?: string;
  artifactId?: string;
  durationMs: number;
  /** Time in each stage the candidate reached, ms (absent from lines older journals wrote). */
  stagesMs?: StageTimes;
}

/** The stages of a candidate's processing that run tests (src/inject/pipeline.ts). */
export const CANDIDATE_STAGES = ['screen', 'bug', 'weaken', 'validate'] as const;
export type StageTimes = Partial<Record<(typeof CANDIDATE_STAGES)[number], number>>;

export interface StrategyStats {
  tried: number;
  valid: number;
  /** valid / tried (0 when nothing was tried). */
  yield: number;
}

export interface InjectSummary {
  repo: string;
  out: string;
  framework: string;
  seed: number;
  strategies: Strategy[];
  candidatesAvailable: number;
  tried: number;
  valid: number;
  /** Candidates whose outcome came from an earlier run's journal. */
  resumed: number;
  byStrategy: Record<Strategy, StrategyStats>;
  /** Rejections per check name, plus 'error' for candidates that crashed. */
  failures: Record<string, number>;
  artifacts: string[];
  timeMs: number;
  validPerMinute: number;
  stoppedEarly: boolean;
  /** Time per candidate stage over this run's and resumed candidates (absent: none recorded). */
  stages?: Partial<Record<keyof StageTimes, StageStats>>;
  notes: string[];
}

export interface StageStats {
  candidates: number;
  medianMs: number;
  totalMs: number;
}

/**
 * Test files and test helpers even when not in the oracle list: the product-code rule's test
 * part (src/inject/product-code.ts).
 */
export function looksLikeTestFile(p: string): boolean {
  return isTestPath(p);
}

/**
 * Source files that can be targets, in a language we parse, sorted: the product-code rule
 * (src/inject/product-code.ts) by path, plus coverage and generated-file headers when
 * `ctx` brings them. Folders the rule excludes as a whole are not walked.
 */
export function listSourceFiles(
  tree: LayerStack,
  testFiles: Set<string> = new Set(),
  ctx: Omit<ProductContext, 'testFiles'> = {},
): string[] {
  return classifySourceFiles(tree, { ...ctx, testFiles }).targets;
}

const PRUNED = new Set(['dependency', 'dotfile', 'vendored', 'build output']);

/** The parseable source files of a tree: targets, and the rest with the rule's reason. */
function classifySourceFiles(
  tree: LayerStack,
  ctx: ProductContext,
): { targets: string[]; excluded: Map<string, string[]> } {
  const targets: string[] = [];
  const excluded = new Map<string, string[]>();
  const skipped = (rel: string) => {
    if (isNoisePath(rel)) return true;
    // Not walked (nor counted): dependencies, dot-dirs, vendored code and build output.
    const reason = nonProductDirReason(rel);
    return reason !== null && PRUNED.has(reason);
  };
  for (const f of tree.listFiles('', skipped).sort()) {
    if (languageOf(f) === null) continue;
    const reason = nonTargetReason(f, ctx);
    if (reason === null) targets.push(f);
    else excluded.set(reason, [...(excluded.get(reason) ?? []), f]);
  }
  return { targets, excluded };
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'repo'
  );
}

/** The git-style diff that turns the original files into the candidate's edits. */
export function diffFromEdits(original: LayerStack, edits: Record<string, string | null>): string {
  let out = '';
  for (const file of Object.keys(edits).sort()) {
    const entry = original.resolve(file);
    const before =
      entry?.kind === 'file'
        ? {
            mode: (entry.stat.mode & 0o111 ? '100755' : '100644') as '100644' | '100755',
            data: readFileSync(entry.hostPath),
          }
        : null;
    const text = edits[file];
    const after =
      text === null || text === undefined
        ? null
        : { mode: before?.mode ?? ('100644' as const), data: Buffer.from(text) };
    if (before && after && before.data.equals(after.data)) continue;
    out += formatFileDiff(file, before, after);
  }
  return out;
}

/** Round-robin over the strategies' (already seeded) lists, so every strategy gets its turn. */
function interleave(lists: BugCandidate[][]): BugCandidate[] {
  const out: BugCandidate[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) if (i < l.length) out.push(l[i]!);
  }
  return out;
}

interface Processed {
  record: CandidateRecord;
  artifact?: Artifact;
  report?: ValidationReport;
}

/** The options with their defaults; a bad limit is a UsageError before anything runs. */
function resolveOptions(opts: InjectOptions) {
  const count = opts.count ?? 10;
  const testScope = opts.testScope ?? 'auto';
  if (!TEST_SCOPES.includes(testScope)) {
    throw new UsageError(`unknown test scope "${testScope}": use ${TEST_SCOPES.join(', ')}`);
  }
  const maxFailingShare = opts.maxFailingShare ?? DEFAULT_MAX_FAILING_SHARE;
  if (!(maxFailingShare > 0 && maxFailingShare <= 1)) {
    throw new UsageError('the failing-test share limit must be above 0 and at most 1 (100%)');
  }
  const weakenBounds: WeakenBounds = { ...DEFAULT_WEAKEN_BOUNDS, ...opts.weakenBounds };
  if (!(weakenBounds.maxTests >= 1 && weakenBounds.maxLines >= 1)) {
    throw new UsageError('the weakening bounds must be at least 1 test and 1 line');
  }
  return {
    strategies: opts.strategies?.length ? opts.strategies : ALL_STRATEGIES,
    count,
    seed: opts.seed ?? 0,
    concurrency: Math.max(1, opts.concurrency ?? availableParallelism()),
    maxCandidates: opts.maxCandidates ?? Math.max(50, count * 25),
    // One candidate's checks run one at a time: candidates are the unit of concurrency.
    settings: { ...DEFAULT_SETTINGS, ...opts.settings, concurrency: 1 } as ValidationSettings,
    testScope,
    maxFailingShare,
    weakenBounds,
  };
}

/**
 * `ssr inject`: discovers how the repository's tests run, measures which test files execute
 * which lines, proposes bugs with the procedural strategies, screens each on the test files
 * that execute it, derives a focused test weakening, validates every artifact with the seven
 * checks and writes the valid ones. Deterministic for a seed; resumable: a rerun with the
 * same output directory skips candidates the journal already records.
 */
export async function injectBugs(opts: InjectOptions): Promise<InjectSummary> {
  const started = performance.now();
  const emit = opts.onEvent ?? (() => {});
  const {
    strategies,
    count,
    seed,
    concurrency,
    maxCandidates,
    settings,
    testScope,
    maxFailingShare,
    weakenBounds,
  } = resolveOptions(opts);
  const out = prepareOutputDir(opts.out, opts.repo);
  recoverInterruptedWrites(out);
  const stateDir = join(out, '.ssr');
  const ownHost = !opts.host;
  const host = opts.host ?? SandboxHost.open({ allowUnsandboxed: opts.allowUnsandboxed });
  const notes: string[] = [];
  const journal = new Journal<CandidateRecord>(join(stateDir, 'journal.jsonl'));
  let harness: (TestHarness & { cleanup(): void }) | null = null;
  let focus: SuiteFocus | null = null;
  let warm: WarmScreen | null = null;
  try {
    const snapshot = host.snapshotDir(opts.repo);
    const original = new LayerStack([...snapshot.layers]);
    const repoName = slug(basename(resolve(opts.repo)));

    const { discovery, oracle, suite, baselinePassed } = await discoveryStage(
      host,
      snapshot,
      original,
      { ...opts.discovery, runs: settings.baselineRuns, scriptTimeoutMs: settings.scriptTimeoutMs },
      { emit, notes, stateDir },
    );
    harness = stageHarness(suite.testScript, suite.testParser);
    // Candidate runs get a limit scaled to the clean suite: a hanging mutant costs seconds.
    const runTimeoutMs = scaledTimeout(discovery.baseline, settings.scriptTimeoutMs);
    const cache = new BaselineCache();
    const key = cache.key(snapshot, suite.testScript, suite.testParser, settings.baselineRuns);
    await cache.get(key, async () => discovery.baseline);

    const cleanMs = Math.max(0, ...discovery.baseline.runs.map((r) => r.scriptMs));
    // Warm runners first: their calibration records each test's and each file's coverage,
    // which spares the coverage stage a run per test file.
    warm = await warmRunners(opts, emit, {
      ...{ host, snapshot, suite, baselinePassed, concurrency, notes },
      units: coverageUnits(suite, discovery.baseline),
      timeoutMs: runTimeoutMs,
    });
    const measured = await measureCoverage({
      wholeOnly: wholeCoverageReason(testScope, cleanMs, opts, warm !== null),
      warm: warm?.perFile ?? null,
      host,
      snapshot,
      harness,
      suite,
      baseline: discovery.baseline,
      stateDir,
      concurrency,
      phase: (message) => emit({ type: 'phase', message }),
      notes,
      scriptTimeoutMs: settings.scriptTimeoutMs,
      sources: listSourceFiles(original, oracle.whole),
      originalText: (f) => readText(original, f),
      fingerprint: (files) => treeFingerprint(original, files),
    });
    // Asked for whole-suite screening, measureCoverage measured no file on its own.
    focus = measured.focus;
    const focusedArtifacts = decideScope(testScope, focus, cleanMs, opts.autoScopeMs, notes);
    if (warm && !focus) {
      await warm.pool.close();
      warm = null;
    }

    const candidates = await proposeCandidates({
      original,
      host,
      snapshot,
      oracle,
      strategies,
      seed,
      emit,
      notes,
      coverage: measured.coverage,
    });
    const ordered = interleave(
      strategies.map((s) => candidates.filter((c) => c.strategy === s)),
    ).slice(0, maxCandidates);
    const { queue, records, resumed } = resumeFromJournal(ordered, journal, out);
    emit({
      type: 'candidates',
      total: ordered.length,
      byStrategy: countByStrategy(strategies, ordered),
      available: countByStrategy(strategies, candidates),
      resumed,
    });

    const stop = new AbortController();
    const ctx: CandidateContext = {
      host,
      snapshot,
      original,
      harness,
      suite,
      oracle,
      baselinePassed,
      cache,
      settings: { ...settings, scriptTimeoutMs: runTimeoutMs },
      repoName,
      repo: resolve(opts.repo),
      stop: stop.signal,
      focus,
      focusedArtifacts,
      maxFailingShare,
      weakenBounds,
      warm,
    };
    const stoppedEarly = await runQueue(queue, records, {
      ctx,
      stop,
      count,
      concurrency,
      signal: opts.signal,
      journal,
      out,
      emit,
      total: ordered.length,
    });

    if (warm) notes.push(warmNote(warm));
    const summary = summarize({
      repo: resolve(opts.repo),
      out,
      framework: suite.framework,
      seed,
      strategies,
      available: ordered.length,
      records,
      resumed,
      timeMs: performance.now() - started,
      stoppedEarly,
      notes,
    });
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    journal.close();
    harness?.cleanup();
    focus?.cleanup();
    await warm?.pool.close();
    if (ownHost) await host.close();
  }
}

/** Calibrated warm runners where the suite's runner allows them and they are wanted. */
function warmRunners(
  opts: Pick<InjectOptions, 'warm' | 'screening'>,
  emit: (e: InjectEvent) => void,
  start: StartWarmOptions,
): Promise<WarmScreen | null> {
  const wanted = opts.warm !== false && opts.screening !== 'full';
  if (!wanted || !start.suite.scope?.warm || !start.units.length) return Promise.resolve(null);
  emit({
    type: 'phase',
    message: 'starting warm test runners (recording what each test executes)',
  });
  return startWarmScreen(start);
}

/**
 * Test discovery and the oracle: the suite the artifacts use (written to .ssr/suite/), its
 * clean-run results and passing tests. Entries `<path>#inline-tests` whose file has no
 * inline-test regions (a false positive of discovery's textual look) would fail check 1 in
 * every artifact: they are left out.
 */
async function discoveryStage(
  host: SandboxHost,
  snapshot: Snapshot,
  original: LayerStack,
  options: Parameters<typeof discoverTests>[2],
  out: { emit: (e: InjectEvent) => void; notes: string[]; stateDir: string },
) {
  out.emit({ type: 'phase', message: 'discovering how the tests run' });
  const discovery = await discoverTests(host, snapshot, options);
  const oracle = await oracleSetup(original, discovery.suite.testFiles);
  const suite: TestSuiteSpec = { ...discovery.suite, testFiles: oracle.testFiles };
  const baselinePassed = passedIds(discovery.baseline.tests);
  out.notes.push(...suite.notes, ...oracle.notes);
  out.emit({
    type: 'discovered',
    suite,
    passing: baselinePassed.length,
    flaky: discovery.baseline.flaky.length,
  });
  writeSuite(out.stateDir, suite, discovery);
  return { discovery, oracle, suite, baselinePassed };
}

/**
 * Screening on covering files pays for slow suites only: each candidate that passes it runs
 * the whole suite as well (bench/inject: a 3-s mocha suite made 6.9 valid/min with it, 9.2
 * without). Below this clean-run time, and with whole-suite artifacts, nothing is measured
 * per file.
 */
export const SCREENING_MIN_MS = 10_000;

/** Why per-file coverage is not needed (null: it is). */
export function wholeCoverageReason(
  scope: TestScope,
  cleanMs: number,
  opts: Pick<InjectOptions, 'autoScopeMs' | 'screening'>,
  warmable = false,
): string | null {
  if (opts.screening === 'full') return 'screening on the whole suite, as asked';
  const focused =
    scope === 'covering' ||
    (scope === 'auto' && cleanMs >= (opts.autoScopeMs ?? DEFAULT_AUTO_SCOPE_MS));
  // Warm runners screen on the tests that execute a change, which pays at any suite length.
  if (focused || warmable || cleanMs >= SCREENING_MIN_MS) return null;
  return `a clean run takes ${seconds(cleanMs)}: screening on covering files pays from ${seconds(SCREENING_MIN_MS)}; --test-scope covering measures each file`;
}

/** "3.2 s". */
function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function countByStrategy(strategies: Strategy[], cs: BugCandidate[]): Record<Strategy, number> {
  return Object.fromEntries(
    strategies.map((s) => [s, cs.filter((c) => c.strategy === s).length]),
  ) as Record<Strategy, number>;
}

/**
 * Whether artifacts run only their covering test files: `covering` when selection works,
 * `auto` when the clean suite takes `autoScopeMs` or more; a note says what was decided.
 */
export function decideScope(
  scope: TestScope,
  focus: SuiteFocus | null,
  cleanMs: number,
  autoScopeMs = DEFAULT_AUTO_SCOPE_MS,
  notes: string[] = [],
): boolean {
  if (scope === 'full') {
    notes.push('test scope: full (each artifact runs the whole suite)');
    return false;
  }
  if (scope === 'auto' && cleanMs < autoScopeMs) {
    notes.push(
      `test scope: full (auto: a clean run takes ${seconds(cleanMs)}, under ${seconds(autoScopeMs)})`,
    );
    return false;
  }
  if (!focus) {
    notes.push(
      `test scope: full (${scope === 'covering' ? '--test-scope covering asked, but ' : ''}no per-test-file coverage for this suite)`,
    );
    return false;
  }
  notes.push(
    `test scope: covering (${scope === 'auto' ? `auto: a clean run takes ${seconds(cleanMs)}; ` : ''}each artifact runs the test files that execute its bug, of ${focus.units.length})`,
  );
  return true;
}

/** Candidates an earlier run's journal settled are recorded as they were; the rest queue. */
function resumeFromJournal(
  ordered: BugCandidate[],
  journal: Journal<CandidateRecord>,
  out: string,
): { queue: BugCandidate[]; records: CandidateRecord[]; resumed: number } {
  const previous = new Map(journal.read().map((r) => [r.key, r]));
  const records: CandidateRecord[] = [];
  const queue: BugCandidate[] = [];
  for (const c of ordered) {
    const done = previous.get(c.key);
    if (
      done &&
      (done.outcome !== 'valid' || existsSync(join(out, done.artifactId ?? '', 'metadata.json')))
    ) {
      records.push(done);
    } else {
      queue.push(c);
    }
  }
  return { queue, records, resumed: records.length };
}

/** Candidates started per slot and not yet committed, at most (runQueue). */
const CANDIDATE_LOOKAHEAD = 4;

/**
 * Runs the queue `concurrency` candidates at a time, committed in candidate order (a finished
 * candidate waits for those before it while the next one runs), so the artifacts kept for a
 * seed do not depend on which test run finished first.
 * Once `signal` aborts (Ctrl-C), no new candidate starts, but those already running finish
 * and are committed as usual: their work is kept, and a rerun skips them. Returns whether it
 * stopped early.
 */
async function runQueue(
  queue: BugCandidate[],
  records: CandidateRecord[],
  q: {
    ctx: CandidateContext;
    stop: AbortController;
    count: number;
    concurrency: number;
    signal?: AbortSignal;
    journal: Journal<CandidateRecord>;
    out: string;
    emit: (e: InjectEvent) => void;
    total: number;
  },
): Promise<boolean> {
  let valid = records.filter((r) => r.outcome === 'valid').length;
  const { handedOver, leftOver } = await runOrderedWindow(
    queue,
    (c) => processCandidate(c, q.ctx),
    (result) => {
      if (result.record.outcome === 'valid' && result.artifact && result.report) {
        writeArtifact(join(q.out, result.record.artifactId!), result.artifact, {
          'validation.json': `${JSON.stringify(result.report, null, 1)}\n`,
        });
        valid++;
      }
      q.journal.append(result.record);
      records.push(result.record);
      q.emit({
        type: 'candidate',
        index: records.length,
        total: q.total,
        record: result.record,
        valid,
      });
      return valid >= q.count;
    },
    {
      concurrency: q.concurrency,
      // Finished candidates wait for the slow ones before them (a valid candidate takes
      // several times a rejected one), a few per slot.
      window: q.concurrency * CANDIDATE_LOOKAHEAD,
      stopStarting: () => !!q.signal?.aborted || valid >= q.count,
    },
  );
  const stoppedEarly = !!q.signal?.aborted && handedOver < queue.length && valid < q.count;
  q.stop.abort();
  // Candidates still running once --count is reached stop at their next step and release
  // their sandboxes; their results are not kept.
  await Promise.allSettled(leftOver);
  return stoppedEarly;
}

/** "EACCES: permission denied, mkdir '/x'" -> "permission denied". */
function reasonOf(err: unknown): string {
  const m = errorMessage(err);
  return /^[A-Z]+: ([^,]+)/.exec(m)?.[1] ?? m;
}

/**
 * Checks `--out` and creates it with its `.ssr` state folder; returns its absolute path.
 * Every way it can be unusable is a UsageError naming the problem: empty, an existing file
 * (or a path under one), inside the repository (also through symlinks: the repository is
 * the sandboxes' read-only lower layer and must not change during a run), or a place that
 * cannot be written.
 */
export function prepareOutputDir(outArg: string, repoArg: string): string {
  if (!outArg.trim()) throw new UsageError('--out is empty: name the output folder');
  const out = resolve(outArg);
  // The nearest part of the path that exists; the rest is created below it.
  let existing = out;
  const missing: string[] = [];
  for (;;) {
    try {
      statSync(existing);
      break;
    } catch {
      if (existing === dirname(existing)) break;
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  let isDir = false;
  try {
    isDir = statSync(existing).isDirectory();
  } catch {}
  if (!isDir) {
    throw new UsageError(
      existing === out
        ? `--out ${outArg} exists and is not a directory; name a folder (new or from an earlier run)`
        : `--out ${outArg}: ${existing} is not a directory`,
    );
  }
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const outReal = join(real(existing), ...missing);
  const repoReal = real(resolve(repoArg));
  if (outReal === repoReal || outReal.startsWith(`${repoReal}/`)) {
    throw new UsageError(`--out ${outArg} is inside the repository; choose a folder outside it`);
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new UsageError(`--out ${outArg}: cannot write in ${existing}: ${reasonOf(err)}`);
  }
  // One level at a time: a recursive mkdir can spin forever under /proc.
  let dir = existing;
  for (const part of [...missing, '.ssr']) {
    dir = join(dir, part);
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      let ok = false;
      try {
        ok = code === 'EEXIST' && statSync(dir).isDirectory();
      } catch {}
      if (!ok) {
        const at = dir === out ? '' : ` (at ${dir})`;
        throw new UsageError(`cannot create --out ${outArg}${at}: ${reasonOf(err)}`);
      }
    }
  }
  try {
    accessSync(join(out, '.ssr'), constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new UsageError(`--out ${outArg} cannot be written: ${reasonOf(err)}`);
  }
  return out;
}

function writeSuite(
  stateDir: string,
  suite: TestSuiteSpec,
  discovery: { attempts: unknown; baseline: { flaky: string[] } },
): void {
  const dir = join(stateDir, 'suite');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'test_script.sh'), suite.testScript);
  writeFileSync(join(dir, 'test_parser.py'), suite.testParser);
  writeFileSync(join(dir, 'test_files.txt'), `${suite.testFiles.join('\n')}\n`);
  writeFileSync(
    join(dir, 'discovery.json'),
    `${JSON.stringify({ framework: suite.framework, notes: suite.notes, attempts: discovery.attempts, flaky: discovery.baseline.flaky }, null, 2)}\n`,
  );
}

/**
 * The oracle of the suite, read once: test_files.txt's entries by path (a `<path>#inline-tests`
 * entry names a source file whose inline-test regions only are oracle).
 */
export interface OracleSetup {
  /** test_files.txt of every artifact: the suite's, less inline entries without regions. */
  testFiles: string[];
  /** Paths that are oracle as a whole: no bug may touch them. */
  whole: Set<string>;
  /** Every oracle path (whole files and files with inline tests), without suffixes. */
  paths: string[];
  /** Original content of every oracle path. */
  originals: Map<string, string>;
  /** The inline-test regions of each inline entry's original content. */
  regions: Map<string, InlineTestRegion[]>;
  notes: string[];
}

export async function oracleSetup(
  original: LayerStack,
  testFiles: readonly string[],
): Promise<OracleSetup> {
  const regions = new Map<string, InlineTestRegion[]>();
  const originals = new Map<string, string>();
  const dropped: string[] = [];
  for (const e of oracleEntries(testFiles)) {
    const text = readText(original, e.path);
    if (text === null) continue;
    if (e.inline) {
      let found: InlineTestRegion[] = [];
      try {
        found = await findInlineTestRegions(e.path, text);
      } catch {}
      if (!found.length) {
        dropped.push(e.path);
        continue;
      }
      regions.set(e.path, found);
    }
    originals.set(e.path, text);
  }
  const kept = testFiles.filter((line) => {
    const e = oracleEntries([line])[0]!;
    return !(e.inline && dropped.includes(e.path));
  });
  const notes = dropped.length
    ? [
        `left out of test_files.txt: ${dropped.length} #inline-tests entr${dropped.length === 1 ? 'y' : 'ies'} without inline-test regions (${dropped.slice(0, 5).join(', ')}${dropped.length > 5 ? ', ...' : ''})`,
      ]
    : [];
  if (regions.size) {
    notes.push(
      `inline tests: ${regions.size} source file(s) whose inline-test regions only are oracle; bugs stay outside them, weakenings inside`,
    );
  }
  return {
    testFiles: kept,
    whole: wholeOraclePaths(kept),
    paths: [...originals.keys()],
    originals,
    regions,
    notes,
  };
}

/**
 * Does changing `before` into `after` touch an inline-test region? The change is taken as the
 * one span between the common prefix and suffix of lines (exact for the single edit of a
 * removal or mutation candidate), with check 1's rule: a replaced line inside a region, or an
 * insertion strictly inside one.
 */
export function editTouchesRegions(
  before: string,
  after: string | null,
  regions: readonly InlineTestRegion[],
): boolean {
  if (after === null) return true;
  const a = before.split('\n');
  const b = after.split('\n');
  const { pre, suf } = commonEnds(a, b);
  if (pre === a.length && pre === b.length) return false;
  // Original lines pre+1 .. a.length-suf (1-based) are replaced.
  const first = pre + 1;
  const last = a.length - suf;
  if (last >= first) return regions.some((r) => r.startLine <= last && first <= r.endLine);
  // A pure insertion after line `pre`.
  return regions.some((r) => r.startLine <= pre && pre + 1 <= r.endLine);
}

interface ProposeContext {
  host: SandboxHost;
  snapshot: Snapshot;
  original: LayerStack;
  oracle: OracleSetup;
  strategies: Strategy[];
  seed: number;
  emit: (e: InjectEvent) => void;
  notes: string[];
  /** What the tests execute (absent: unknown, every line is a target). */
  coverage?: Coverage;
}

async function proposeCandidates(ctx: ProposeContext): Promise<BugCandidate[]> {
  const out: BugCandidate[] = [];
  // Files with inline tests are product code outside their regions.
  const testFiles = ctx.oracle.whole;
  const coverage = ctx.coverage;
  // A language no test process reported on is not filtered (its coverage is unknown).
  const covered = coverage ? targetFilter(coverage) : undefined;
  // Only product code is a target (product-code.ts): by path, by the generated-file header,
  // and where coverage knows the language, only files the tests execute.
  const rule: ProductContext = {
    testFiles,
    executed: coverage ? executedFrom(coverage) : undefined,
    source: (f) => readHead(ctx.original, f),
  };
  let last: { file: string; text: string | null } | undefined;
  const originalText = (f: string) => {
    if (last?.file !== f) last = { file: f, text: readText(ctx.original, f) };
    return last.text;
  };
  const toTarget = targetFilterFor({ ...rule, original: originalText });
  if (ctx.strategies.includes('removal') || ctx.strategies.includes('mutation')) {
    const { targets: sources, excluded } = classifySourceFiles(ctx.original, rule);
    ctx.notes.push(targetsNote(sources.length, excluded));
    for (const strategy of ['removal', 'mutation'] as const) {
      if (!ctx.strategies.includes(strategy)) continue;
      const generate = strategy === 'removal' ? removalCandidates : mutationCandidates;
      let inlineDropped = 0;
      const perFile: BugCandidate[][] = [];
      for (const file of sources) {
        const entry = ctx.original.resolve(file);
        if (entry?.kind !== 'file' || entry.stat.size > 512 * 1024) continue;
        const source = readFileSync(entry.hostPath, 'utf8');
        last = { file, text: source };
        const found = await generate(file, source, { covered, seed: ctx.seed });
        // A candidate whose edit changes a version string, or an inline test, is dropped.
        const regions = ctx.oracle.regions.get(file);
        const kept = found.filter((c) => toTarget(c) === c);
        const outside = regions
          ? kept.filter((c) => !editTouchesRegions(source, c.edits[file] ?? null, regions))
          : kept;
        inlineDropped += kept.length - outside.length;
        perFile.push(outside);
      }
      // Spread over files: one from each file in turn, in each file's seeded order.
      out.push(...interleave(perFile));
      if (inlineDropped) {
        ctx.notes.push(
          `${strategy}: ${inlineDropped} candidate(s) inside inline-test regions dropped (those are oracle tests)`,
        );
      }
    }
  }
  if (ctx.strategies.includes('history')) {
    ctx.emit({ type: 'phase', message: 'reading the git history' });
    const sb = ctx.host.create(ctx.snapshot);
    try {
      const found = await historyCandidates(sb, {
        testFiles: ctx.oracle.testFiles,
        seed: ctx.seed,
      });
      // Reverts that delete or re-create whole files mostly break imports, which no assertion
      // weakening can hide: try in-place reverts first (stable otherwise: newest first).
      const rank = (c: BugCandidate) => (c.operator === 'revert-commit-files' ? 1 : 0);
      const ranked = found.map((c, i) => ({ c, i }));
      ranked.sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i);
      // A revert keeps only its product files (those the tests execute), and version strings
      // stay as they are; the part the tests execute comes first, and a whole revert that
      // comes down to the same files is the same candidate.
      const seen = new Set<string>();
      for (const { c } of ranked) {
        const tested = coverage ? testedPart(c, coverage) : null;
        for (const candidate of tested ? [tested, c] : [c]) {
          const part = toTarget(candidate);
          if (!part || seen.has(part.key)) continue;
          seen.add(part.key);
          out.push(part);
        }
      }
    } catch (err) {
      ctx.notes.push(`history strategy unavailable: ${errorMessage(err)}`);
    } finally {
      await sb.dispose();
    }
  }
  const { version, trimmed } = toTarget.stats;
  const versionNotes = [
    version ? `${version} candidate(s) dropped` : '',
    trimmed ? `${trimmed} history revert(s) keep their version lines as they are` : '',
  ].filter(Boolean);
  if (versionNotes.length) {
    ctx.notes.push(`version strings are not targets: ${versionNotes.join(', ')}`);
  }
  return out;
}

/** Names, sizes and modification times of `files`: changes when the repository does. */
function treeFingerprint(tree: LayerStack, files: string[]): string {
  const parts: string[] = [];
  for (const f of [...new Set(files)].sort()) {
    const e = tree.resolve(parseOracleEntry(f).path);
    if (e?.kind === 'file') parts.push(`${f}\0${e.stat.size}\0${e.stat.mtimeMs}`);
  }
  return sha256(...parts);
}

/** A repository file's text (null: not a regular file). */
function readText(tree: LayerStack, file: string): string | null {
  const e = tree.resolve(file);
  return e?.kind === 'file' ? readFileSync(e.hostPath, 'utf8') : null;
}

/** The first 2000 bytes of a repository file, where a generated file says so. */
function readHead(tree: LayerStack, file: string): string | null {
  const e = tree.resolve(file);
  if (e?.kind !== 'file') return null;
  const fd = openSync(e.hostPath, 'r');
  try {
    const buf = Buffer.alloc(2000);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** "targets (product code only): 12 source file(s); left out: 3 test file, 2 example, ...". */
function targetsNote(count: number, excluded: Map<string, string[]>): string {
  const left = [...excluded.entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([reason, files]) => `${reason} (${files.length})`);
  return (
    `targets (product code only): ${count} source file(s)` +
    (left.length ? `; left out: ${left.join(', ')}` : '')
  );
}

/**
 * The part of a multi-file revert that the tests execute, tried before the whole revert: a
 * release commit often also changes files no test loads (a bundled `dist/`, docs code, a
 * Windows-only module), and reverting those makes check 7 fail (a file that no test needs).
 * Null when every file is executed, none is, or coverage says nothing of the language.
 */
export function testedPart(c: BugCandidate, coverage: Coverage): BugCandidate | null {
  const files = Object.keys(c.edits);
  if (files.length < 2) return null;
  // Line coverage exists for Python and Node only: other languages' files count as executed.
  const known = (f: string) => {
    const lang = languageOf(f);
    if (lang === 'python') return coverage.processes.python > 0;
    return (lang === null || isJavaScriptLike(lang)) && coverage.processes.node > 0;
  };
  const executed = (f: string) =>
    !known(f) || coverage.lines(f).length > 0 || coverage.unmapped.includes(f);
  const keep = files.filter(executed);
  if (keep.length === 0 || keep.length === files.length) return null;
  const sha = c.key.split(':')[1] ?? '';
  const edits = Object.fromEntries(keep.map((f) => [f, c.edits[f]!]));
  return {
    ...c,
    key: `history:${sha}:${sha256(...keep).slice(0, 12)}`,
    operator: 'revert-commit-tested',
    description: `${c.description}, only the ${keep.length} file(s) the tests execute`,
    edits,
    location: keep.includes(c.location.file) ? c.location : { file: keep[0]!, line: 1 },
  };
}

interface CandidateContext {
  host: SandboxHost;
  snapshot: Snapshot;
  original: LayerStack;
  harness: TestHarness;
  suite: TestSuiteSpec;
  oracle: OracleSetup;
  baselinePassed: string[];
  cache: BaselineCache;
  settings: ValidationSettings;
  repoName: string;
  repo: string;
  stop: AbortSignal;
  /** Per-test-file coverage and focused scripts (absent: every run is the whole suite). */
  focus: SuiteFocus | null;
  /** Whether artifacts run only their covering test files. */
  focusedArtifacts: boolean;
  maxFailingShare: number;
  weakenBounds: WeakenBounds;
  /** Warm screening on the covering files (null: screening runs fresh, where it pays). */
  warm: WarmScreen | null;
}

/**
 * Rejects what needs no test run: edits to oracle files, empty or oversized changes, edits
 * inside inline-test regions. Returns the bug diff, or the rejection.
 */
function staticChecks(
  c: BugCandidate,
  ctx: CandidateContext,
): { bugDiff: string } | { check: number; name: string; reason: string } {
  if (Object.keys(c.edits).some((f) => ctx.oracle.whole.has(f))) {
    return { check: 1, name: 'files', reason: 'the change touches an oracle test file' };
  }
  const bugDiff = diffFromEdits(ctx.original, c.edits);
  if (!bugDiff) return { check: 4, name: 'bug scope', reason: 'the change is empty' };
  const files = parsePatch(bugDiff, 'bug_inject.diff');
  // The bug stays outside inline-test regions (check 1): refused before any test runs.
  if (ctx.oracle.regions.size) {
    const scope = inlineScopeProblems('bug_inject.diff', files, ctx.oracle.regions);
    if (scope.length) return { check: 1, name: 'files', reason: scope.join('; ') };
  }
  // Counted as check 4 counts them.
  const lines = files.reduce((n, f) => n + f.added + f.removed, 0);
  if (lines > ctx.settings.maxChangedLines) {
    return {
      check: 4,
      name: 'bug scope',
      reason: `${lines} changed lines, over ${ctx.settings.maxChangedLines}`,
    };
  }
  return { bugDiff };
}

/** The suite a candidate is tried on: its covering test files, or the whole suite. */
interface CandidateSuite {
  /** Its test_script.sh, and staged for runs. */
  script: string;
  harness: TestHarness;
  /** The covering test files (null: the whole suite). */
  files: string[] | null;
  /** Baseline-passing tests this suite runs. */
  passing: string[];
}

function wholeSuite(ctx: CandidateContext): CandidateSuite {
  return {
    script: ctx.suite.testScript,
    harness: ctx.harness,
    files: null,
    passing: ctx.baselinePassed,
  };
}

/**
 * Screening pays when the covering files cost at most this share of the whole suite: a
 * candidate that passes screening runs the whole suite too (the artifact's own script, whose
 * runs validation reuses), so a screen that costs nearly as much only adds a run.
 */
const SCREENING_SHARE = 0.5;

/**
 * A focused artifact whose covering files take more than this share of the suite's time runs
 * the whole suite instead: its clean runs were made at discovery, where a script of its own
 * needs two more (bench/inject, fs-extra: 14 s of a 21-s validation for 70 of 71 files), and
 * grading it costs at most about twice as much.
 */
const FOCUSED_MAX_SHARE = 0.5;

/** Whether an artifact runs only `files` (its covering test files). */
export function focusedOn(
  files: readonly string[],
  ctx: { focusedArtifacts: boolean; focus: Pick<SuiteFocus, 'costShare'> | null },
): boolean {
  return ctx.focusedArtifacts && !!ctx.focus && ctx.focus.costShare(files) <= FOCUSED_MAX_SHARE;
}

/** Why a bug run rejects the candidate (checks 1 and 5, too broad), or its failing tests. */
function bugVerdict(
  bug: Awaited<ReturnType<typeof runBug>>,
  ctx: CandidateContext,
):
  | { failing: string[]; log: string; outcome: TestRunOutcome }
  | { check: number; name: string; reason: string } {
  if ('reason' in bug) {
    return bug.applies
      ? { check: 5, name: 'bug validity', reason: bug.reason }
      : { check: 1, name: 'files', reason: bug.reason };
  }
  if (bug.failing.length < ctx.settings.minFailingTests) {
    return {
      check: 5,
      name: 'bug validity',
      reason: 'no test that passes on the original fails with this change',
    };
  }
  const broad = tooBroad(bug.failing.length, ctx.baselinePassed.length, ctx.maxFailingShare);
  return broad ? { check: 5, name: 'too broad', reason: broad } : bug;
}

function candidateSuite(c: BugCandidate, ctx: CandidateContext): CandidateSuite | 'uncovered' {
  const whole = wholeSuite(ctx);
  if (!ctx.focus) return whole;
  const files = ctx.focus.coveringFiles(c);
  if (files === null) return whole;
  if (!files.length) return 'uncovered';
  const set = new Set(files);
  return {
    ...ctx.focus.harness(files),
    files,
    passing: ctx.baselinePassed.filter((id) => set.has(ctx.focus!.fileOf(id) ?? '')),
  };
}

/**
 * The bug's test run on its candidate suite (the covering files when known): the tests that
 * passed on the original and fail with the bug, and the log weakening reads.
 */
async function runBug(
  bugDiff: string,
  suite: CandidateSuite,
  ctx: CandidateContext,
): Promise<
  { failing: string[]; log: string; outcome: TestRunOutcome } | { reason: string; applies: boolean }
> {
  const sb = ctx.host.create(ctx.snapshot);
  let bugRun: Awaited<ReturnType<typeof runTests>>;
  try {
    const applied = await sb.applyPatch(bugDiff);
    if (!applied.ok) {
      return { reason: `the change does not apply: ${applied.message}`, applies: false };
    }
    bugRun = await runTests(sb, suite.harness, {
      scriptTimeoutMs: ctx.settings.scriptTimeoutMs,
      parserTimeoutMs: ctx.settings.parserTimeoutMs,
      keepLogBytes: 4 << 20,
    });
  } finally {
    await sb.dispose();
  }
  if (!bugRun.ok && bugRun.kind !== 'no-tests') {
    return { reason: `test run with the bug failed: ${bugRun.message}`, applies: true };
  }
  const tests = bugRun.ok ? bugRun.tests : {};
  return {
    failing: suite.passing.filter((id) => !didPass(tests, id)),
    log: bugRun.ok ? (bugRun.log ?? '') : '',
    outcome: bugRun,
  };
}

/**
 * Warm screening (src/inject/warm/screen.ts): whether it ran for the candidate, and its
 * rejection: no covering test breaks, the tests hang, or so many break that the bug is too
 * broad already. A null verdict: the candidate goes on (or the warm run said nothing).
 */
async function screenWarm(
  c: BugCandidate,
  covering: CandidateSuite,
  ctx: CandidateContext,
): Promise<{ ran: boolean; verdict: { check: number; name: string; reason: string } | null }> {
  const warm = ctx.warm;
  if (!warm || !covering.files) return { ran: false, verdict: null };
  // The tests that execute the change, where they cost well under the whole suite (a warm
  // run saves the runner's start, not the tests' own time); past that, a sample of twice the
  // too-broad count still shows a bug too broad (most covering tests fail) for little.
  // Whole covering files (a changed line runs while modules load) run warm at any share:
  // such changes mostly break nearly every test, which a run stopped at the too-broad count
  // shows early, or none, which a fresh run shows at a higher price (bench/inject, espree:
  // 11 of 15 such candidates were rejected).
  const selection = warmSelection(
    warm,
    ctx.focus!,
    c,
    covering.files,
    covering.passing,
    (f) => readText(ctx.original, f),
    { maxShare: SCREENING_SHARE, size: 2 * broadEnough(ctx) },
  );
  if (!selection) return { ran: false, verdict: null };
  const timeoutMs = warmTimeoutMs(warm, selection.share, ctx.settings.scriptTimeoutMs);
  const failing = await warmFailing(
    warm,
    c.edits,
    selection,
    covering.passing,
    timeoutMs,
    broadEnough(ctx),
  );
  const verdict = failing === null ? null : warmVerdict(failing, selection, timeoutMs, ctx);
  if (verdict) warm.stats.rejected++;
  return { ran: true, verdict };
}

/**
 * What a warm run's failures say: the tests hang, nothing fails (only when every covering
 * test ran), or the bug is too broad already (its failures are a lower bound: a selection of
 * the suite, perhaps stopped early). Null: nothing that rejects.
 */
function warmVerdict(
  failing: string[] | 'timeout',
  selection: WarmSelection,
  timeoutMs: number,
  ctx: CandidateContext,
): { check: number; name: string; reason: string } | null {
  if (failing === 'timeout') {
    return {
      check: 5,
      name: 'bug validity',
      reason: `the covering tests did not finish within ${seconds(timeoutMs)} with this change (screened warm)`,
    };
  }
  if (!selection.sample && failing.length < ctx.settings.minFailingTests) {
    const what = selection.only
      ? `${selection.only.length} covering test(s)`
      : `${selection.files.length} covering test file(s)`;
    return {
      check: 5,
      name: 'bug validity',
      reason: `no test that passes on the original fails with this change (screened warm on ${what})`,
    };
  }
  const broad = tooBroad(failing.length, ctx.baselinePassed.length, ctx.maxFailingShare, true);
  return broad ? { check: 5, name: 'too broad', reason: `${broad} (screened warm)` } : null;
}

/**
 * The most tests a bug may fail and not be too broad: more than BROAD_FLOOR and more than
 * `maxShare` of the passing tests is too broad (failures are whole tests, hence the floor).
 */
function broadLimit(passing: number, maxShare: number): number {
  return Math.max(BROAD_FLOOR, Math.floor(maxShare * passing));
}

/** The failures past which a bug is too broad: a warm run may stop there. */
function broadEnough(ctx: CandidateContext): number {
  return broadLimit(ctx.baselinePassed.length, ctx.maxFailingShare);
}

/** Weakening's quick check in a warm runner: the bug's edits and the weakened test files. */
function weakenedWarm(
  c: BugCandidate,
  contents: Map<string, string>,
  failing: readonly string[],
  ctx: CandidateContext,
): Promise<QuickCheck | 'timeout' | null> {
  const edits: Record<string, string | null> = { ...c.edits };
  for (const [file, text] of contents) {
    if (ctx.oracle.originals.get(file) === text) continue;
    // A file holding both the bug and weakened inline tests: the texts would need merging.
    if (file in c.edits) return Promise.resolve(null);
    edits[file] = text;
  }
  return warmRestored(ctx.warm!, edits, failing, ctx.settings.scriptTimeoutMs);
}

/** Why a bug that fails `failing` of the suite's passing tests is too broad, or null. */
export function tooBroad(
  failing: number,
  passing: number,
  maxShare: number,
  /** `failing` is a lower bound (a warm run of some tests). */
  atLeast = false,
): string | null {
  if (failing <= broadLimit(passing, maxShare)) return null;
  const max = `${Math.round(maxShare * 1000) / 10}%`;
  if (atLeast) {
    return `the bug fails at least ${failing} of ${passing} passing tests (over ${max}): too broad for a focused task`;
  }
  const pct = Math.round((failing / Math.max(1, passing)) * 1000) / 10;
  return `the bug fails ${failing} of ${passing} passing tests (${pct}%, over ${max}): too broad for a focused task`;
}

async function processCandidate(c: BugCandidate, ctx: CandidateContext): Promise<Processed> {
  const t0 = performance.now();
  const base = {
    key: c.key,
    strategy: c.strategy,
    operator: c.operator,
    description: c.description,
    location: c.location,
  };
  const stagesMs: StageTimes = {};
  const timed = async <T>(stage: keyof StageTimes, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      stagesMs[stage] = (stagesMs[stage] ?? 0) + Math.round(performance.now() - started);
    }
  };
  const ended = () => ({ durationMs: Math.round(performance.now() - t0), stagesMs });
  const reject = (id: number, name: string, reason: string): Processed => ({
    record: { ...base, outcome: 'invalid', failedCheck: { id, name }, reason, ...ended() },
  });
  try {
    const checked = staticChecks(c, ctx);
    if (!('bugDiff' in checked)) return reject(checked.check, checked.name, checked.reason);
    const { bugDiff } = checked;
    if (ctx.stop.aborted) return reject(0, 'stopped', 'stopped before running');

    const covering = candidateSuite(c, ctx);
    if (covering === 'uncovered') {
      return reject(5, 'bug validity', 'no test executes the changed lines');
    }
    const warm = await timed('screen', () => screenWarm(c, covering, ctx));
    if (warm.verdict) return reject(warm.verdict.check, warm.verdict.name, warm.verdict.reason);
    // The suite the bug is specified on: its covering files for a focused artifact, else the
    // whole suite, screened on the covering files first where they cost well under it.
    let suite = covering;
    if (covering.files && !focusedOn(covering.files, ctx)) {
      if (!warm.ran && ctx.focus!.costShare(covering.files) <= SCREENING_SHARE) {
        const screened = bugVerdict(
          await timed('screen', () => runBug(bugDiff, covering, ctx)),
          ctx,
        );
        if ('check' in screened) return reject(screened.check, screened.name, screened.reason);
      }
      suite = wholeSuite(ctx);
    }
    const bug = bugVerdict(await timed('bug', () => runBug(bugDiff, suite, ctx)), ctx);
    if ('check' in bug) return reject(bug.check, bug.name, bug.reason);
    if (ctx.stop.aborted) return reject(0, 'stopped', 'stopped before weakening');

    const weakening = await timed('weaken', () =>
      deriveWeakening({
        host: ctx.host,
        snapshot: ctx.snapshot,
        harness: suite.harness,
        testFiles: ctx.oracle.paths,
        originals: ctx.oracle.originals,
        regions: ctx.oracle.regions,
        bugDiff,
        failing: bug.failing,
        bugLog: bug.log,
        testOptions: {
          scriptTimeoutMs: ctx.settings.scriptTimeoutMs,
          parserTimeoutMs: ctx.settings.parserTimeoutMs,
        },
        bounds: ctx.weakenBounds,
        specificity: ctx.focus ? (f) => ctx.focus!.index.breadth(f) : undefined,
        quickCheck: ctx.warm
          ? (contents) => weakenedWarm(c, contents, bug.failing, ctx)
          : undefined,
      }),
    );
    if (!weakening.diff) {
      return reject(6, 'weakening validity', weakening.reason ?? 'no weakening hides the bug');
    }
    if (ctx.stop.aborted) return reject(0, 'stopped', 'stopped before validating');

    const artifact = buildArtifact(c, bugDiff, weakening.diff, suite, ctx);
    const report = await timed('validate', () =>
      validateArtifact(artifact, {
        host: ctx.host,
        snapshot: ctx.snapshot,
        cache: ctx.cache,
        settings: ctx.settings,
        knownRuns: runsToReuse(artifact, bug.outcome),
      }),
    );
    if (!report.valid) {
      const f = report.failedCheck!;
      return {
        record: {
          ...base,
          outcome: 'invalid',
          failedCheck: { id: f.id, name: f.name },
          reason: f.message,
          ...ended(),
        },
      };
    }
    const artifactId = artifact.metadata.id;
    return { record: { ...base, outcome: 'valid', artifactId, ...ended() }, artifact, report };
  } catch (err) {
    return {
      record: {
        ...base,
        outcome: 'error',
        reason: errorMessage(err),
        ...ended(),
      },
    };
  }
}

/**
 * The run validation would repeat: the bug run, made with the artifact's own script (the
 * suite's, which buildArtifact writes) on the same snapshot; it stands for validation's "with
 * bug". The weakened run is always made again: an independent sample caught a bug whose
 * weakened test passed by chance once (fs-extra, a copy into itself that races a timeout).
 */
function runsToReuse(artifact: Artifact, bugRun: TestRunOutcome): KnownRuns {
  const key = knownRunKey(artifact.testScript, artifact.testParser, [artifact.bugDiff]);
  return new Map([[key, bugRun]]);
}

/**
 * The artifact of a candidate: the whole suite's script and oracle, or (focused) the script
 * of its covering test files with those files and the suite's support files as oracle.
 */
function buildArtifact(
  c: BugCandidate,
  bugDiff: string,
  weakenDiff: string,
  suite: CandidateSuite,
  ctx: CandidateContext,
): Artifact {
  // Only a focused artifact's bug is specified on its covering files (processCandidate).
  const focused = suite.files !== null && ctx.focus !== null;
  const artifactId = `${ctx.repoName}-${c.strategy}-${sha256(c.key).slice(0, 8)}`;
  return {
    testScript: suite.script,
    testFiles: focused ? ctx.focus!.oracleFor(suite.files!) : ctx.suite.testFiles,
    testParser: ctx.suite.testParser,
    bugDiff,
    weakenDiff,
    metadata: {
      id: artifactId,
      repo: ctx.repo,
      parent: null,
      order: 1,
      strategy: c.strategy,
      createdBy: `ssr inject (procedural ${c.strategy}: ${c.operator})`,
      createdAt: new Date().toISOString(),
      notes: c.description,
      testScope: focused
        ? { kind: 'covering', files: suite.files!.length, of: ctx.focus!.units.length }
        : { kind: 'full' },
    },
  };
}

function summarize(x: {
  repo: string;
  out: string;
  framework: string;
  seed: number;
  strategies: Strategy[];
  available: number;
  records: CandidateRecord[];
  resumed: number;
  timeMs: number;
  stoppedEarly: boolean;
  notes: string[];
}): InjectSummary {
  const byStrategy = Object.fromEntries(
    x.strategies.map((s) => {
      const rs = x.records.filter((r) => r.strategy === s);
      const valid = rs.filter((r) => r.outcome === 'valid').length;
      return [s, { tried: rs.length, valid, yield: rs.length ? valid / rs.length : 0 }];
    }),
  ) as Record<Strategy, StrategyStats>;
  const failures: Record<string, number> = {};
  for (const r of x.records) {
    if (r.outcome === 'valid') continue;
    const k = r.outcome === 'error' ? 'error' : `${r.failedCheck?.id} ${r.failedCheck?.name}`;
    failures[k] = (failures[k] ?? 0) + 1;
  }
  const valid = x.records.filter((r) => r.outcome === 'valid');
  const stages = stageSummary(x.records);
  const stagesNote = stageNote(stages);
  return {
    repo: x.repo,
    out: x.out,
    framework: x.framework,
    seed: x.seed,
    strategies: x.strategies,
    candidatesAvailable: x.available,
    tried: x.records.length,
    valid: valid.length,
    resumed: x.resumed,
    byStrategy,
    failures,
    artifacts: valid.map((r) => r.artifactId!),
    timeMs: Math.round(x.timeMs),
    validPerMinute: x.timeMs > 0 ? Math.round((valid.length / (x.timeMs / 60_000)) * 10) / 10 : 0,
    stoppedEarly: x.stoppedEarly,
    stages,
    notes: stagesNote ? [...x.notes, stagesNote] : x.notes,
  };
}

/** Per stage, over the candidates that reached it: how many, median and total time. */
export function stageSummary(
  records: readonly CandidateRecord[],
): Partial<Record<keyof StageTimes, StageStats>> {
  const out: Partial<Record<keyof StageTimes, StageStats>> = {};
  for (const stage of CANDIDATE_STAGES) {
    const ms = records
      .map((r) => r.stagesMs?.[stage])
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => a - b);
    if (!ms.length) continue;
    out[stage] = {
      candidates: ms.length,
      medianMs: ms[Math.floor((ms.length - 1) / 2)]!,
      totalMs: ms.reduce((a, b) => a + b, 0),
    };
  }
  return out;
}

const STAGE_NAMES: Record<keyof StageTimes, string> = {
  screen: 'screening',
  bug: 'bug runs',
  weaken: 'weakening',
  validate: 'validation',
};

/** "where the time went: screening 0.9 s median (59 candidates, 1 min in all), ..." */
function stageNote(stages: Partial<Record<keyof StageTimes, StageStats>>): string | null {
  const parts = CANDIDATE_STAGES.flatMap((stage) => {
    const s = stages[stage];
    if (!s) return [];
    const total =
      s.totalMs >= 60_000 ? `${Math.round(s.totalMs / 6_000) / 10} min` : seconds(s.totalMs);
    return [
      `${STAGE_NAMES[stage]} ${seconds(s.medianMs)} median (${s.candidates} candidates, ${total} in all)`,
    ];
  });
  return parts.length ? `where candidates' time went: ${parts.join('; ')}` : null;
}

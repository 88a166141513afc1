import type { TestSuiteSpec } from '../../discovery/types.js';
import type { SandboxProvider, Snapshot } from '../../sandbox/types.js';
import { CoveringIndex, changedLines, type StoredCoverage, type SuiteFocus } from '../covering.js';
import type { BugCandidate } from '../types.js';
import type { QuickCheck } from '../weaken.js';
import { calibrate } from './calibration.js';
import { type WarmOutcome, WarmPool } from './warm-mocha.js';

/**
 * Screening in warm runners: a candidate's covering test files run in a test-runner process
 * that stays up between candidates (src/inject/warm/mocha-worker-source.ts), so a candidate
 * that breaks nothing, or breaks too much, is turned away without a fresh sandbox and runner.
 *
 * Warm runs only ever reject: an artifact's own runs (the bug run, weakening, validation's
 * seven checks) are fresh sandboxes as before, so what a warm process may carry from one run
 * to the next can lose a candidate but never let an invalid artifact through. Calibration
 * checks first that the warm runner agrees with the clean run.
 */
export interface WarmScreen {
  readonly pool: WarmPool;
  /** Tests that pass in a clean run but not warm: never counted as broken by a candidate. */
  readonly unreliable: ReadonlySet<string>;
  /** A warm run of every test file, ms (from calibration). */
  readonly wholeRunMs: number;
  /** Which lines each test executes (test ids as units), from calibration. */
  readonly perTest: CoveringIndex;
  /** Which lines loading each test file runs (test files as units), from calibration. */
  readonly loading: CoveringIndex;
  /** The file each test id belongs to. */
  readonly fileOfTest: ReadonlyMap<string, string>;
  /**
   * Which lines each test file executes (its loading and its tests), as the coverage stage
   * would measure it running each file alone; null where the runner compiles code on load.
   */
  readonly perFile: StoredCoverage | null;
  /** Counts for the summary's note. */
  stats: {
    runs: number;
    rejected: number;
    inconclusive: number;
    ms: number[];
    /** Weakening rounds checked warm. */
    weakeningChecks: number;
  };
}

export interface StartWarmOptions {
  host: SandboxProvider;
  snapshot: Snapshot;
  suite: TestSuiteSpec;
  /** Test files that run on their own (the per-file coverage units). */
  units: readonly string[];
  baselinePassed: readonly string[];
  /** Workers (one per concurrent candidate). */
  concurrency: number;
  timeoutMs: number;
  notes: string[];
}

/** A calibrated warm screen for the suite, or null (and a note why) where none works. */
export async function startWarmScreen(o: StartWarmOptions): Promise<WarmScreen | null> {
  const spec = o.suite.scope?.warm;
  if (!spec) return null;
  const pool = new WarmPool(o.host, o.snapshot, spec, { size: o.concurrency });
  const cal = await calibrate(pool, o.units, o.baselinePassed, o.timeoutMs, {
    workers: o.concurrency,
    fileOf: (id) => o.suite.scope?.fileOf(id),
  });
  if (!cal.ok) {
    await pool.close();
    o.notes.push(`warm screening: off (${cal.reason}); candidates are screened in fresh runs`);
    return null;
  }
  o.notes.push(
    `warm screening: ${spec.runner} stays up between candidates (a warm run of every file takes ${Math.round(cal.ms / 100) / 10} s; ` +
      `${o.baselinePassed.length - cal.unreliable.size} of ${o.baselinePassed.length} clean-run tests pass warm twice; ` +
      `each candidate runs the tests that execute its lines)`,
  );
  const fileOfTest = new Map<string, string>();
  for (const id of cal.coverage.keys()) {
    const file = o.suite.scope?.fileOf(id);
    if (file) fileOfTest.set(id, file);
  }
  if (cal.transpiled) {
    o.notes.push(
      'warm screening: the runner compiles code on load, so coverage lines are not read warm: candidates run their covering files whole',
    );
  }
  return {
    pool,
    unreliable: cal.unreliable,
    wholeRunMs: cal.ms,
    perTest: new CoveringIndex(cal.transpiled ? new Map() : cal.coverage),
    loading: new CoveringIndex(cal.loads),
    fileOfTest,
    perFile: cal.transpiled ? null : perFileCoverage(o.units, cal, fileOfTest),
    stats: { runs: 0, rejected: 0, inconclusive: 0, ms: [], weakeningChecks: 0 },
  };
}

/**
 * Each test file's lines from the warm recording run: what its loading ran and what its tests
 * ran; its time is its tests' time in the plain run.
 */
export function perFileCoverage(
  units: readonly string[],
  cal: {
    coverage: ReadonlyMap<string, ReadonlyMap<string, number[]>>;
    loads: ReadonlyMap<string, ReadonlyMap<string, number[]>>;
    fileMs: ReadonlyMap<string, number>;
  },
  fileOfTest: ReadonlyMap<string, string>,
): StoredCoverage {
  const sets = new Map<string, Map<string, Set<number>>>(units.map((u) => [u, new Map()]));
  const add = (unit: string, lines: ReadonlyMap<string, number[]> | undefined) => {
    const into = sets.get(unit);
    if (!into || !lines) return;
    for (const [source, ls] of lines) {
      const set = into.get(source) ?? new Set<number>();
      into.set(source, set);
      for (const l of ls) set.add(l);
    }
  };
  for (const unit of units) add(unit, cal.loads.get(unit));
  for (const [id, lines] of cal.coverage) add(fileOfTest.get(id) ?? '', lines);
  const byTestFile = new Map(
    [...sets].map(([unit, m]) => [
      unit,
      new Map([...m].map(([source, set]) => [source, [...set].sort((a, b) => a - b)])),
    ]),
  );
  return {
    byTestFile,
    durations: new Map(units.map((u) => [u, Math.max(1, cal.fileMs.get(u) ?? 0)])),
    processes: { node: 1, python: 0 },
  };
}

/** What a warm screen runs for a candidate, and its share of the whole suite's cost. */
export interface WarmSelection {
  files: string[];
  /** Only these tests of the files (absent: every test of the files). */
  only?: string[];
  share: number;
  /**
   * A sample of the covering tests (there were more than `maxShare` of the suite): it can
   * show a bug too broad, not that no test fails.
   */
  sample?: true;
}

/**
 * The tests that execute a candidate's changed lines, where per-test coverage accounts for
 * every changed line; else the covering files whole: a line that loading a module runs (a
 * module-level loop building a table every test then reads) is in no test's lines, or in
 * only those of the tests that happen to call it again. Null: nothing to run warm.
 */
export function warmSelection(
  screen: WarmScreen,
  focus: SuiteFocus,
  c: Pick<BugCandidate, 'edits'>,
  coveringFiles: readonly string[],
  passing: readonly string[],
  original: (file: string) => string | null,
  /** Above this share of the suite, a sample of this many tests (0: no sample). */
  sampling: { maxShare: number; size: number } = { maxShare: 1, size: 0 },
): WarmSelection | null {
  const whole = { files: [...coveringFiles], share: focus.costShare(coveringFiles) };
  const tests = new Set<string>();
  for (const [file, after] of Object.entries(c.edits)) {
    const before = original(file);
    if (before === null) return whole;
    for (const line of changedLines(before, after)) {
      if (screen.loading.testsFor(file, [line]).length) return whole;
      const byTest = screen.perTest.testsFor(file, [line]);
      if (!byTest.length && focus.index.testsFor(file, [line]).length) return whole;
      for (const t of byTest) tests.add(t);
    }
  }
  let only = passing.filter((id) => tests.has(id));
  if (!only.length) return tests.size ? null : whole;
  const size = Math.max(1, screen.perTest.size);
  // Every k-th test, so the sample spans the covering files.
  const sample = only.length / size > sampling.maxShare && sampling.size > 0;
  if (sample && only.length > sampling.size) {
    const step = only.length / sampling.size;
    only = Array.from({ length: sampling.size }, (_, i) => only[Math.floor(i * step)]!);
  }
  const files = [...new Set(only.map((id) => screen.fileOfTest.get(id) ?? ''))];
  if (files.includes('')) return whole;
  return {
    files: files.sort(),
    only,
    share: only.length / size,
    ...(sample ? { sample: true as const } : {}),
  };
}

/**
 * How long a warm run of files costing `share` of the suite may take: a few times its
 * calibrated cost, so a mutant that loops forever costs seconds, not the whole-suite limit.
 */
export function warmTimeoutMs(screen: WarmScreen, share: number, limitMs: number): number {
  return Math.min(limitMs, Math.max(5_000, 2_000 + 4 * share * screen.wholeRunMs));
}

/**
 * The covering tests a candidate breaks, run warm: null when the warm run says nothing (the
 * worker failed or could not load the edited code; a fresh run decides), 'timeout' when the
 * tests did not finish in time (the bug hangs them), else the ids of `passing` (reliable ones
 * only) that did not pass.
 */
export async function warmFailing(
  screen: WarmScreen,
  edits: Record<string, string | null>,
  selection: WarmSelection,
  passing: readonly string[],
  timeoutMs: number,
  /** Failures that settle it (a too-broad bug): the run stops after this many. */
  enough?: number,
): Promise<string[] | 'timeout' | null> {
  const chosen = selection.only ? new Set(selection.only) : null;
  const reliable = passing.filter(
    (id) => !screen.unreliable.has(id) && (!chosen || chosen.has(id)),
  );
  if (!reliable.length) return null;
  const outcome: WarmOutcome = await screen.pool.run(edits, selection.files, timeoutMs, {
    ...(selection.only ? { only: selection.only } : {}),
    ...(enough ? { stopAfter: enough + screen.unreliable.size } : {}),
  });
  screen.stats.runs++;
  if (!outcome.ok) {
    if (outcome.timedOut) return 'timeout';
    screen.stats.inconclusive++;
    return null;
  }
  screen.stats.ms.push(outcome.ms);
  // A stopped run did not run every test: its failures are what it saw.
  if (outcome.stopped) {
    const failed = new Set(outcome.failed);
    return reliable.filter((id) => failed.has(id));
  }
  return reliable.filter((id) => !outcome.passed.has(id));
}

/**
 * Which of `failing` pass warm with `edits` (the bug and the weakened test files), and the
 * others' failure text: weakening's quick check. 'timeout' when the tests did not finish in a few times their calibrated time;
 * null when the warm run cannot tell (a test it does not know, a failed run).
 */
export async function warmRestored(
  screen: WarmScreen,
  edits: Record<string, string | null>,
  failing: readonly string[],
  limitMs: number,
): Promise<QuickCheck | 'timeout' | null> {
  const files = failing.map((id) => screen.fileOfTest.get(id));
  if (!failing.length || files.some((f) => f === undefined)) return null;
  const share = failing.length / Math.max(1, screen.perTest.size);
  const outcome = await screen.pool.run(
    edits,
    [...new Set(files as string[])].sort(),
    warmTimeoutMs(screen, share, limitMs),
    { only: failing },
  );
  screen.stats.weakeningChecks++;
  if (!outcome.ok) return outcome.timedOut ? 'timeout' : null;
  return { restored: failing.filter((id) => outcome.passed.has(id)), log: outcome.log };
}

/** The summary's line on warm screening. */
export function warmNote(screen: WarmScreen): string {
  const ms = [...screen.stats.ms].sort((a, b) => a - b);
  const median = ms.length ? ms[Math.floor(ms.length / 2)]! : 0;
  return (
    `warm screening: ${screen.stats.runs} candidate(s) run warm (median ${Math.round(median)} ms), ` +
    `${screen.stats.rejected} rejected there, ${screen.stats.inconclusive} left to a fresh run; ` +
    `${screen.stats.weakeningChecks} weakening round(s) checked warm`
  );
}

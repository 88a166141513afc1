/**
 * Covering-test selection: which of a suite's test files execute the lines a candidate bug
 * changes. Candidates are screened on those files alone, and a focused artifact runs only
 * them (`--test-scope covering`); DESIGN.md, "Pay only for covering tests".
 *
 * The map comes from per-test-file coverage runs (coverage.ts, collectCoverageByTestFile) and
 * is kept with the suite (.ssr/suite/coverage.json) so a rerun on the same repository state
 * does not measure again.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { TestScope, TestSuiteSpec } from '../discovery/types.js';
import { stageHarness, type TestHarness } from '../testing/run-tests.js';
import { commonEnds } from '../util/common-ends.js';
import type { TestFileCoverage } from './coverage.js';
import type { BugCandidate } from './types.js';

/** Lines of the original file that an edit replaces or sits between (1-based). */
export function changedLines(before: string, after: string | null): number[] {
  const a = before.split('\n');
  if (after === null) return a.map((_, i) => i + 1);
  const b = after.split('\n');
  const { pre, suf } = commonEnds(a, b);
  if (pre === a.length && pre === b.length) return [];
  const first = pre + 1;
  const last = a.length - suf;
  // A pure insertion: the lines around it say who runs that spot.
  if (last < first) return [first - 1, first].filter((n) => n >= 1 && n <= a.length);
  const out: number[] = [];
  for (let n = first; n <= last; n++) out.push(n);
  return out;
}

/** Source file -> line -> the test files that execute it (line 0: the whole file). */
export class CoveringIndex {
  private readonly bySource = new Map<string, Map<number, Set<string>>>();
  /** Lines of product code each test file executes in all. */
  private readonly breadths = new Map<string, number>();

  constructor(byTestFile: ReadonlyMap<string, TestFileCoverage>) {
    for (const [test, cov] of byTestFile) {
      let breadth = 0;
      for (const [source, lines] of cov) {
        breadth += lines.length;
        let byLine = this.bySource.get(source);
        if (!byLine) {
          byLine = new Map();
          this.bySource.set(source, byLine);
        }
        for (const line of lines) {
          let tests = byLine.get(line);
          if (!tests) {
            tests = new Set();
            byLine.set(line, tests);
          }
          tests.add(test);
        }
      }
      this.breadths.set(test, breadth);
    }
  }

  /** Test files that execute any of `lines` of `source`, sorted. */
  testsFor(source: string, lines: readonly number[]): string[] {
    const byLine = this.bySource.get(source);
    if (!byLine) return [];
    const out = new Set(byLine.get(0) ?? []);
    for (const line of lines) for (const t of byLine.get(line) ?? []) out.add(t);
    return [...out].sort();
  }

  /**
   * The test files that execute what `edits` change (file -> new text, null: deleted), given
   * each file's original text. Sorted; empty when no test runs any changed line.
   */
  testsForEdits(
    edits: Record<string, string | null>,
    original: (file: string) => string | null,
  ): string[] {
    const out = new Set<string>();
    for (const [file, after] of Object.entries(edits)) {
      const before = original(file);
      // A new file is reached through the files that load it: all tests of the others decide.
      if (before === null) continue;
      for (const t of this.testsFor(file, changedLines(before, after))) out.add(t);
    }
    return [...out].sort();
  }

  /** Units (test files, or tests) the index knows. */
  get size(): number {
    return this.breadths.size;
  }

  /** Lines of product code a test file executes in all (its breadth; unknown files: Infinity). */
  breadth(testFile: string): number {
    return this.breadths.get(testFile) ?? Number.POSITIVE_INFINITY;
  }
}

export interface StoredCoverage {
  byTestFile: Map<string, TestFileCoverage>;
  processes: { node: number; python: number };
  /** How long each test file's own run took, ms (what a run of it costs). */
  durations: Map<string, number>;
}

interface StoredCoverageJson {
  key: string;
  processes: { node: number; python: number };
  durations?: Record<string, number>;
  byTestFile: Record<string, Record<string, number[]>>;
}

/** The per-test-file coverage stored under `path` for `key`, or null (absent, stale, corrupt). */
export function loadCoverage(path: string, key: string): StoredCoverage | null {
  if (!existsSync(path)) return null;
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as StoredCoverageJson;
    if (data.key !== key || typeof data.byTestFile !== 'object' || !data.processes) return null;
    return {
      processes: data.processes,
      durations: new Map(Object.entries(data.durations ?? {})),
      byTestFile: new Map(
        Object.entries(data.byTestFile).map(([test, cov]) => [test, new Map(Object.entries(cov))]),
      ),
    };
  } catch {
    return null;
  }
}

export function saveCoverage(path: string, key: string, cov: StoredCoverage): void {
  const data: StoredCoverageJson = {
    key,
    processes: cov.processes,
    durations: Object.fromEntries(cov.durations),
    byTestFile: Object.fromEntries(
      [...cov.byTestFile].map(([test, lines]) => [test, Object.fromEntries(lines)]),
    ),
  };
  // Written whole then renamed: a crash leaves the old file or none, never half of one.
  writeFileSync(`${path}.part`, `${JSON.stringify(data)}\n`);
  renameSync(`${path}.part`, path);
}

/**
 * Covering-test selection for one suite: which test files cover a candidate, and a staged
 * focused harness per set of files (reused across candidates that share the set).
 */
export class SuiteFocus {
  private readonly harnesses = new Map<
    string,
    { script: string; harness: TestHarness & { cleanup(): void } }
  >();
  private readonly unitSet: Set<string>;

  constructor(
    private readonly suite: TestSuiteSpec & { scope: TestScope },
    /** The suite's test files that run on their own (they name tests in the baseline). */
    readonly units: string[],
    readonly index: CoveringIndex,
    /** The original text of a repository file (null: none). */
    private readonly original: (file: string) => string | null,
    /** Whether coverage saw the language of `file` (else no selection for it). */
    private readonly measured: (file: string) => boolean,
    /** Each unit's run time, ms (missing: unknown, counted as the mean). */
    private readonly durations: ReadonlyMap<string, number> = new Map(),
  ) {
    this.unitSet = new Set(units);
  }

  /**
   * What running `files` costs as a share of running every unit (0..1): their measured run
   * times, or their number where times are unknown.
   */
  costShare(files: readonly string[]): number {
    const known = this.units.filter((u) => this.durations.has(u));
    const mean = known.length
      ? known.reduce((n, u) => n + this.durations.get(u)!, 0) / known.length
      : 1;
    const cost = (u: string) => this.durations.get(u) ?? mean;
    const all = this.units.reduce((n, u) => n + cost(u), 0);
    return all > 0 ? files.reduce((n, f) => n + cost(f), 0) / all : 1;
  }

  /** The test files covering the candidate's edits; null when coverage cannot tell. */
  coveringFiles(c: Pick<BugCandidate, 'edits'>): string[] | null {
    const files = Object.keys(c.edits);
    if (!files.length || files.some((f) => !this.measured(f))) return null;
    return this.index.testsForEdits(c.edits, this.original).filter((f) => this.unitSet.has(f));
  }

  fileOf(id: string): string | null {
    const f = this.suite.scope.fileOf(id);
    return f !== null && this.unitSet.has(f) ? f : null;
  }

  script(files: readonly string[]): string {
    return focusedScript(this.suite.scope, this.units, files);
  }

  /** test_files.txt of a focused artifact: its test files and the suite's support files. */
  oracleFor(files: readonly string[]): string[] {
    const keep = new Set(files);
    return this.suite.testFiles.filter((f) => !this.unitSet.has(f) || keep.has(f));
  }

  /** The focused script of `files`, and staged as a harness (one per file set, reused). */
  harness(files: readonly string[]): { script: string; harness: TestHarness } {
    const key = files.join('\n');
    let h = this.harnesses.get(key);
    if (!h) {
      const script = this.script(files);
      h = { script, harness: stageHarness(script, this.suite.testParser) };
      this.harnesses.set(key, h);
    }
    return h;
  }

  cleanup(): void {
    for (const h of this.harnesses.values()) h.harness.cleanup();
    this.harnesses.clear();
  }
}

/** The scope's test_script.sh for `files`, told which of the suite's `units` to leave out. */
export function focusedScript(
  scope: TestScope,
  units: readonly string[],
  files: readonly string[],
): string {
  const keep = new Set(files);
  return scope.script(
    files,
    units.filter((f) => !keep.has(f)),
  );
}

/** The suite's test files that its baseline's test ids name (the files a scope can select). */
export function scopeUnits(
  suite: TestSuiteSpec & { scope: TestScope },
  ids: Iterable<string>,
): string[] {
  const files = new Set(suite.testFiles);
  const out = new Set<string>();
  for (const id of ids) {
    const f = suite.scope.fileOf(id);
    if (f !== null && files.has(f)) out.add(f);
  }
  return [...out].sort();
}

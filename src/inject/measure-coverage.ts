/**
 * The coverage stage of `ssr inject`: which lines the tests execute and, where the suite can
 * run its test files one by one, which test file executes which line (covering-test
 * selection, covering.ts). Measured once per repository state and kept in
 * `.ssr/suite/coverage.json`.
 */
import { join } from 'node:path';
import type { TestScope as SuiteScope, TestSuiteSpec } from '../discovery/types.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import type { TestHarness } from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { Baseline } from '../validate/baseline.js';
import { isJavaScriptLike, languageOf } from './ast.js';
import {
  type Coverage,
  collectCoverage,
  collectCoverageByTestFile,
  coverageFromTestFiles,
} from './coverage.js';
import {
  CoveringIndex,
  focusedScript,
  loadCoverage,
  type StoredCoverage,
  SuiteFocus,
  saveCoverage,
  scopeUnits,
} from './covering.js';

/** The suite's test files that run on their own: what per-file coverage measures. */
export function coverageUnits(suite: TestSuiteSpec, baseline: Baseline): string[] {
  if (!suite.scope) return [];
  return scopeUnits(suite as TestSuiteSpec & { scope: SuiteScope }, [
    ...Object.keys(baseline.tests),
    ...baseline.flaky,
  ]);
}

/** Most test files measured one by one; a larger suite is measured whole (no selection). */
const MAX_MEASURED_TEST_FILES = 400;

export interface CoverageContext {
  host: SandboxHost;
  snapshot: Snapshot;
  harness: TestHarness;
  suite: TestSuiteSpec;
  baseline: Baseline;
  /** The output's state folder (`<out>/.ssr`): coverage.json goes in its suite/. */
  stateDir: string;
  concurrency: number;
  /** Progress: a phase starts. */
  phase: (message: string) => void;
  notes: string[];
  scriptTimeoutMs: number;
  /** The repository's product source files (targets). */
  sources: string[];
  /** The original text of a repository file (null: none). */
  originalText: (file: string) => string | null;
  /** A hash that changes when any of `files` does (name, size, modification time). */
  fingerprint: (files: string[]) => string;
  /**
   * Why the test files need not be measured one by one (no focused artifacts, and a suite
   * too fast for screening to pay), or null to measure them where the runner can.
   */
  wholeOnly: string | null;
  /**
   * Per-test-file coverage already recorded in one warm process (src/inject/warm): used
   * instead of running each file on its own.
   */
  warm?: StoredCoverage | null;
}

/**
 * Which lines the tests execute, so targets are code some test runs. Where the suite can run
 * its test files one by one (TestSuiteSpec.scope), each file is measured on its own, which
 * also gives covering-test selection (SuiteFocus); kept in .ssr/suite/coverage.json for reruns
 * on the same repository state. Otherwise one whole-suite run, no selection.
 */
export async function measureCoverage(
  ctx: CoverageContext,
): Promise<{ coverage?: Coverage; focus: SuiteFocus | null }> {
  // Coverage records Node and Python processes only: for a repository without such product
  // code (Java, Go, Rust, C, Ruby) the extra suite run would measure nothing.
  const measurable = ctx.sources.some((f) => {
    const lang = languageOf(f);
    return lang === 'python' || (lang !== null && isJavaScriptLike(lang));
  });
  if (!measurable) {
    ctx.notes.push(
      'coverage: no JavaScript/TypeScript or Python product code, which is what it measures: targets not filtered by coverage, no covering-test selection',
    );
    return { focus: null };
  }
  const scoped = ctx.suite.scope ? (ctx.suite as TestSuiteSpec & { scope: SuiteScope }) : null;
  const units = coverageUnits(ctx.suite, ctx.baseline);
  try {
    if (!scoped || units.length === 0 || units.length > MAX_MEASURED_TEST_FILES || ctx.wholeOnly) {
      if (ctx.wholeOnly && scoped) {
        ctx.notes.push(`coverage: measured whole (${ctx.wholeOnly})`);
      } else if (scoped && units.length > MAX_MEASURED_TEST_FILES) {
        ctx.notes.push(
          `coverage: ${units.length} test files, over the ${MAX_MEASURED_TEST_FILES} measured one by one: measured whole, no covering-test selection`,
        );
      } else if (!scoped) {
        ctx.notes.push(
          `coverage: ${ctx.suite.framework} runs as a whole here, so candidates are tried on the whole suite`,
        );
      }
      ctx.phase('measuring which code the tests execute');
      return { coverage: await wholeSuiteCoverage(ctx), focus: null };
    }
    const stored = await perTestFileCoverage(ctx, scoped, units);
    const coverage = coverageFromTestFiles(stored.byTestFile, stored.processes);
    const measuredLang = (file: string) => {
      const lang = languageOf(file);
      if (lang === 'python') return stored.processes.python > 0;
      return lang !== null && isJavaScriptLike(lang) && stored.processes.node > 0;
    };
    const focus = new SuiteFocus(
      scoped,
      units,
      new CoveringIndex(stored.byTestFile),
      ctx.originalText,
      measuredLang,
      stored.durations,
    );
    return { coverage, focus };
  } catch (err) {
    ctx.notes.push(`coverage unavailable (${errorMessage(err)}): targets not filtered by coverage`);
    return { focus: null };
  }
}

async function wholeSuiteCoverage(ctx: CoverageContext): Promise<Coverage> {
  const sb = ctx.host.create(ctx.snapshot);
  try {
    return await collectCoverage(sb, ctx.harness.scriptPath, { timeoutMs: ctx.scriptTimeoutMs });
  } finally {
    await sb.dispose();
  }
}

/**
 * Each unit test file's coverage: from .ssr/suite/coverage.json when it was measured on the
 * same files and scripts, else measured now, the files shared over `concurrency` sandboxes.
 */
async function perTestFileCoverage(
  ctx: CoverageContext,
  scoped: TestSuiteSpec & { scope: SuiteScope },
  units: string[],
): Promise<StoredCoverage> {
  const path = join(ctx.stateDir, 'suite', 'coverage.json');
  const key = sha256(
    scoped.testScript,
    scoped.testParser,
    ...units,
    ctx.fingerprint([...ctx.sources, ...ctx.suite.testFiles]),
  );
  const stored = loadCoverage(path, key);
  if (stored) {
    ctx.notes.push(`coverage per test file: ${units.length} files, reused from ${path}`);
    return stored;
  }
  if (ctx.warm) {
    saveCoverage(path, key, ctx.warm);
    ctx.notes.push(
      `coverage per test file: ${units.length} files, recorded in the warm runner's calibration`,
    );
    return ctx.warm;
  }
  ctx.phase(`measuring which code each of the ${units.length} test files executes`);
  const t0 = performance.now();
  const chunks = Array.from({ length: Math.min(ctx.concurrency, units.length) }, (_, k) =>
    units.filter((_, i) => i % ctx.concurrency === k),
  );
  const parts = await Promise.all(
    chunks.map(async (files) => {
      const sb = ctx.host.create(ctx.snapshot);
      try {
        const scripts = new Map(files.map((f) => [f, focusedScript(scoped.scope, units, [f])]));
        return await collectCoverageByTestFile(sb, scripts, { timeoutMs: ctx.scriptTimeoutMs });
      } finally {
        await sb.dispose();
      }
    }),
  );
  const merged: StoredCoverage = {
    byTestFile: new Map(parts.flatMap((p) => [...p.byTestFile])),
    durations: new Map(parts.flatMap((p) => [...p.durations])),
    processes: {
      node: parts.reduce((n, p) => n + p.processes.node, 0),
      python: parts.reduce((n, p) => n + p.processes.python, 0),
    },
  };
  saveCoverage(path, key, merged);
  ctx.notes.push(
    `coverage per test file: ${units.length} files measured one by one in ${Math.round((performance.now() - t0) / 100) / 10} s`,
  );
  return merged;
}

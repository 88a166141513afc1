import pLimit from 'p-limit';
import type { Sandbox, SandboxProvider, Snapshot } from '../sandbox/types.js';
import type { TestMap } from '../testing/results.js';
import {
  runTests,
  type TestHarness,
  type TestRunOptions,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import { sha256 } from '../util/hash.js';

/** The original repo's test results, from several clean runs. */
export interface Baseline {
  runs: TestRunOutcome[];
  /** Set when a run failed: the first failure (script timeout, parser crash...). */
  failure: Extract<TestRunOutcome, { ok: false }> | null;
  /** Status per test across all runs; flaky tests are left out. */
  tests: TestMap;
  /** Tests whose outcome changed between runs (or that some run did not report). */
  flaky: string[];
  /** Whether this came from the cache rather than fresh runs. */
  cached: boolean;
}

/**
 * Runs the clean suite `runs` times (up to `concurrency` at once: each sandbox has its own
 * network and /tmp) and keeps only tests with the same outcome every time, because a flaky
 * test would turn into fake bug evidence or a fake failure for a solver.
 */
export async function computeBaseline(
  host: SandboxProvider,
  snapshot: Snapshot,
  harness: TestHarness,
  runs: number,
  opts: TestRunOptions,
  concurrency = Number.POSITIVE_INFINITY,
): Promise<Baseline> {
  const limit = pLimit(Math.max(1, concurrency));
  const outcomes = await Promise.all(
    Array.from({ length: Math.max(1, runs) }, () =>
      limit(async () => {
        const sb: Sandbox = host.create(snapshot);
        try {
          return await runTests(sb, harness, opts);
        } finally {
          await sb.dispose();
        }
      }),
    ),
  );
  const failure = outcomes.find((o): o is Extract<TestRunOutcome, { ok: false }> => !o.ok) ?? null;
  if (failure) return { runs: outcomes, failure, tests: {}, flaky: [], cached: false };
  const maps = outcomes.map((o) => (o as Extract<TestRunOutcome, { ok: true }>).tests);
  const ids = new Set(maps.flatMap((m) => Object.keys(m)));
  const tests: TestMap = {};
  const flaky: string[] = [];
  for (const id of [...ids].sort()) {
    const statuses = new Set(maps.map((m) => m[id] ?? 'missing'));
    if (statuses.size === 1 && !statuses.has('missing')) tests[id] = maps[0]![id]!;
    else flaky.push(id);
  }
  return { runs: outcomes, failure: null, tests, flaky, cached: false };
}

/**
 * Baselines per (snapshot, script, parser, runs): many artifacts on one repo share a test
 * script, so the clean suite runs once. Concurrent requests share one computation.
 */
export class BaselineCache {
  private readonly entries = new Map<string, Promise<Baseline>>();

  key(snapshot: Snapshot, testScript: string, testParser: string, runs: number): string {
    return sha256(snapshot.id, snapshot.sourceDir, testScript, testParser, String(runs));
  }

  async get(key: string, compute: () => Promise<Baseline>): Promise<Baseline> {
    const hit = this.entries.get(key);
    if (hit) return { ...(await hit), cached: true };
    const p = compute();
    this.entries.set(key, p);
    try {
      return await p;
    } catch (err) {
      this.entries.delete(key);
      throw err;
    }
  }
}

/**
 * The time limit for test runs after the baseline: 3x the slowest clean run plus 10 s, capped
 * by `maxMs`. A bug that makes the suite hang (an infinite loop) then costs seconds, not the
 * full default limit, while a real slowdown of the suite still fits.
 */
export function scaledTimeout(baseline: Baseline, maxMs: number): number {
  const slowest = Math.max(0, ...baseline.runs.map((r) => r.scriptMs));
  return Math.min(maxMs, Math.round(3 * slowest + 10_000));
}

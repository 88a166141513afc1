/**
 * Helpers shared by the benchmarks: timing statistics, table printing, and the summary each
 * benchmark hands to run-all.ts. Nothing here asserts on time: benchmarks report, they do not
 * fail.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface Stats {
  n: number;
  min: number;
  p10: number;
  /** The median. */
  p50: number;
  p90: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples (p in 0..100); the median for p = 50 of odd n. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p === 50) {
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p10: percentile(s, 10),
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    max: s.at(-1) ?? Number.NaN,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

/**
 * Runs `run` `iterations` times after `warmup` untimed runs; `setup` and `teardown` are untimed.
 * With `budgetMs`, stops early (after at least one timed run) once the timed runs add up to it.
 */
export async function sample<T>(opts: {
  iterations: number;
  warmup?: number;
  budgetMs?: number;
  setup: () => Promise<T> | T;
  run: (ctx: T) => Promise<unknown> | unknown;
  teardown?: (ctx: T, result: unknown) => Promise<void> | void;
}): Promise<number[]> {
  const out: number[] = [];
  const total = (opts.warmup ?? 0) + opts.iterations;
  let spent = 0;
  for (let i = 0; i < total; i++) {
    if (opts.budgetMs !== undefined && out.length > 0 && spent >= opts.budgetMs) break;
    const ctx = await opts.setup();
    const t0 = performance.now();
    const result = await opts.run(ctx);
    const ms = performance.now() - t0;
    await opts.teardown?.(ctx, result);
    if (i >= (opts.warmup ?? 0)) {
      out.push(ms);
      spent += ms;
    }
  }
  return out;
}

export function ms(v: number, digits = 2): string {
  return Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a';
}

export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(digits)}x` : 'n/a';
}

export function statsLine(s: Stats): string {
  return (
    `p50 ${ms(s.p50)}  (min ${ms(s.min)}, p10 ${ms(s.p10)}, p90 ${ms(s.p90)}, ` +
    `max ${ms(s.max)}, n=${s.n})`
  );
}

/** Prints rows as an aligned table; the first row is the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  if (!head) return '';
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** One line of run-all's summary: what was measured, the figure, its baseline, the target. */
export interface SummaryRow {
  bench: string;
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** Whether the target was met; null when the row has no target. */
  met: boolean | null;
}

/**
 * Hands the summary to run-all.ts: written as JSON to $SSR_BENCH_SUMMARY when it is set.
 */
export function emitSummary(rows: SummaryRow[]): void {
  const path = process.env.SSR_BENCH_SUMMARY;
  if (path) writeFileSync(path, JSON.stringify(rows));
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

export function verdict(met: boolean): string {
  return met ? 'MET' : 'NOT MET';
}

/**
 * bench/inject, part 2: throughput and focus on two real third-party repositories
 * (bench/fetch-repos.ts THROUGHPUT_REPOS: a ~1-s mocha suite of ~2,000 tests and a suite of
 * 20 s or more), each for a fixed time budget:
 *
 * - valid artifacts per minute with covering-test screening (now) and with every candidate
 *   on the whole suite (`screening: 'full'`, the behaviour before), in the same run;
 * - candidates screened per minute next to StrykerJS's mutants tested per minute on the same
 *   repository (bench/stryker.ts, perTest coverage, same cores);
 * - artifact focus: median and 95th percentile of test_weaken.diff's removed lines and of
 *   bug-failing tests, over every artifact made;
 * - grading time per solver attempt: an artifact's focused test_script.sh vs the whole suite;
 * - nothing gets weaker: every artifact re-validated with the seven checks.
 *
 * Targets: >= 10 valid/min on the 1-s suite, >= 3/min on the 20-s suite, screening within 2x
 * of Stryker's mutants per minute, median removed lines <= 15 and p95 <= 60.
 * SSR_BENCH_MINUTES (default 3) sets each budget.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../src/artifact/artifact.js';
import { type InjectSummary, injectBugs, type TestScope } from '../src/inject/pipeline.js';
import { removedLines } from '../src/inject/weaken.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { ValidationReport } from '../src/validate/report.js';
import { validateArtifact } from '../src/validate/validator.js';
import { fetchRepo, THROUGHPUT_REPOS } from './fetch-repos.js';
import { ratio, type SummaryRow, table, verdict } from './lib.js';
import { runStryker } from './stryker.js';

interface Measured {
  summary: InjectSummary;
  /** Candidates finished per minute, from the first candidate on (discovery excluded). */
  screenedPerMinute: number;
  validPerMinute: number;
  removed: number[];
  failing: number[];
  /** Script time of the artifacts' "with bug" runs (their test_script.sh). */
  gradeMs: number[];
  revalidated: number;
  wallMs: number;
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

async function measure(
  repo: string,
  screening: 'covering' | 'full',
  minutes: number,
  host: SandboxHost,
  testScope: TestScope,
  warm = true,
): Promise<Measured> {
  const out = join(mkdtempSync(join(tmpdir(), 'ssr-bench-throughput-')), 'bugs');
  const abort = new AbortController();
  const t0 = performance.now();
  let firstCandidate = 0;
  const timer = setTimeout(() => abort.abort(), minutes * 60_000);
  const summary = await injectBugs({
    repo,
    out,
    count: 1000,
    seed: 0,
    screening,
    testScope,
    warm,
    signal: abort.signal,
    host,
    onEvent: (e) => {
      if (e.type === 'candidates') firstCandidate = performance.now();
    },
  });
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  const candMin = (performance.now() - (firstCandidate || t0)) / 60_000;
  const removed: number[] = [];
  const failing: number[] = [];
  const gradeMs: number[] = [];
  let revalidated = 0;
  const snapshot = host.snapshotDir(repo);
  for (const id of summary.artifacts) {
    const a = readArtifact(join(out, id));
    removed.push(removedLines(a.weakenDiff));
    const r = JSON.parse(
      readFileSync(join(out, id, 'validation.json'), 'utf8'),
    ) as ValidationReport;
    failing.push(r.bug?.failing.length ?? 0);
    const run = r.testRuns.find((t) => t.label === 'with bug');
    if (run) gradeMs.push(run.scriptMs);
    const again = await validateArtifact(a, { host, snapshot });
    if (again.valid) revalidated++;
  }
  return {
    summary,
    screenedPerMinute: Math.round((summary.tried / Math.max(candMin, 1e-9)) * 10) / 10,
    validPerMinute: Math.round((summary.valid / (wallMs / 60_000)) * 10) / 10,
    removed,
    failing,
    gradeMs,
    revalidated,
    wallMs,
  };
}

export async function throughput(): Promise<SummaryRow[]> {
  const minutes = Number(process.env.SSR_BENCH_MINUTES ?? 3);
  const rows: SummaryRow[] = [];
  const [fast, slow] = THROUGHPUT_REPOS;
  if (!fast || !slow)
    throw new Error('bench/fetch-repos.ts THROUGHPUT_REPOS needs two repositories');
  const host = SandboxHost.open();
  const all: Measured[] = [];
  try {
    // The fast suite runs as a user would run it (auto: whole-suite artifacts); the slow one
    // with focused artifacts, whose grading time is the point (and "before" is the whole suite
    // everywhere, as it was).
    for (const [spec, target, scope] of [
      [fast, 10, 'auto'],
      [slow, 3, 'covering'],
    ] as const) {
      const { dir } = fetchRepo(spec, console.log);
      console.log(
        `\nbench/inject throughput: ${spec.name} (${spec.source}), ${minutes} min per run, ${availableParallelism()} cores, --test-scope ${scope}`,
      );
      const now = await measure(dir, 'covering', minutes, host, scope);
      const fresh = await measure(dir, 'covering', minutes, host, scope, false);
      const before = await measure(dir, 'full', minutes, host, 'full');
      all.push(now, fresh, before);
      const stryker =
        spec === fast
          ? await runStryker(dir, { minutes, log: (s) => console.log(`  ${s}`) })
          : null;
      console.log(
        table([
          ['run', 'tried', 'valid', 'valid/min', 'screened/min', 'rejections'],
          ...[
            ['covering screening (now)', now],
            ['covering screening, fresh runs only (--no-warm)', fresh],
            ['whole-suite screening (before)', before],
          ].map(([name, m]) => {
            const x = m as Measured;
            return [
              name as string,
              String(x.summary.tried),
              String(x.summary.valid),
              String(x.validPerMinute),
              String(x.screenedPerMinute),
              JSON.stringify(x.summary.failures),
            ];
          }),
          ...(stryker
            ? [
                [
                  'StrykerJS (perTest coverage)',
                  String(stryker.mutantsTested),
                  `${stryker.killed} killed`,
                  '',
                  String(stryker.mutantsPerMinute),
                  stryker.note,
                ],
              ]
            : []),
        ]),
      );
      console.log(
        `target: >= ${target} valid per minute -> ${now.validPerMinute} (${ratio(now.validPerMinute, before.validPerMinute)} of before) ${verdict(now.validPerMinute >= target)}`,
      );
      const warmNote = now.summary.notes.filter((n) => n.startsWith('warm screening')).join('; ');
      console.log(
        `warm screening: ${now.screenedPerMinute} screened/min vs ${fresh.screenedPerMinute} with --no-warm (${ratio(now.screenedPerMinute, fresh.screenedPerMinute)}); ${warmNote || 'not used'}`,
      );
      rows.push({
        bench: 'inject',
        metric: `${spec.name}: screened / minute, warm runners vs fresh`,
        value: String(now.screenedPerMinute),
        baseline: `${fresh.screenedPerMinute} (--no-warm)`,
        ratio: ratio(now.screenedPerMinute, fresh.screenedPerMinute),
        target: '',
        met: null,
      });
      rows.push({
        bench: 'inject',
        metric: `${spec.name}: valid artifacts / minute`,
        value: String(now.validPerMinute),
        baseline: `${before.validPerMinute} (whole-suite screening)`,
        ratio: ratio(now.validPerMinute, before.validPerMinute),
        target: `>= ${target}`,
        met: now.validPerMinute >= target,
      });
      if (stryker) {
        const within = now.screenedPerMinute * 2 >= stryker.mutantsPerMinute;
        console.log(
          `target: screening within 2x of Stryker -> ${now.screenedPerMinute} vs ${stryker.mutantsPerMinute} per minute ${verdict(within)}`,
        );
        rows.push({
          bench: 'inject',
          metric: `${spec.name}: candidates screened / minute`,
          value: String(now.screenedPerMinute),
          baseline: `StrykerJS ${stryker.mutantsPerMinute} mutants/min`,
          ratio: ratio(now.screenedPerMinute, stryker.mutantsPerMinute),
          target: '>= 0.5x Stryker',
          met: within,
        });
      }
      if (spec === slow) {
        const focusedMs = quantile(now.gradeMs, 0.5);
        const fullMs = quantile(before.gradeMs, 0.5);
        console.log(
          `grading time per solver attempt (median test_script.sh run): focused ${Math.round(focusedMs)} ms vs whole suite ${Math.round(fullMs)} ms = ${ratio(fullMs, focusedMs)} faster`,
        );
        rows.push({
          bench: 'inject',
          metric: `${spec.name}: grading time per attempt`,
          value: `${Math.round(focusedMs)} ms`,
          baseline: `${Math.round(fullMs)} ms whole suite`,
          ratio: ratio(fullMs, focusedMs),
          target: '',
          met: null,
        });
      }
    }
  } finally {
    await host.close();
  }
  const removed = all.flatMap((m) => m.removed);
  const failing = all.flatMap((m) => m.failing);
  const med = quantile(removed, 0.5);
  const p95 = quantile(removed, 0.95);
  console.log(
    `\nartifact focus over ${removed.length} artifacts: test_weaken.diff removed lines median ${med}, p95 ${p95}; bug-failing tests median ${quantile(failing, 0.5)}, p95 ${quantile(failing, 0.95)}`,
  );
  const focusOk = med <= 15 && p95 <= 60;
  console.log(`target: median <= 15 and p95 <= 60 removed lines -> ${verdict(focusOk)}`);
  const revalidated = all.reduce((n, m) => n + m.revalidated, 0);
  console.log(
    `re-validated with the seven checks: ${revalidated} of ${removed.length} ${verdict(revalidated === removed.length)}`,
  );
  rows.push(
    {
      bench: 'inject',
      metric: 'test_weaken.diff removed lines (median / p95)',
      value: `${med} / ${p95}`,
      baseline: `${removed.length} artifacts`,
      ratio: '',
      target: '<= 15 / <= 60',
      met: focusOk,
    },
    {
      bench: 'inject',
      metric: 'artifacts still valid when re-validated',
      value: `${revalidated} / ${removed.length}`,
      baseline: '',
      ratio: '',
      target: 'all',
      met: revalidated === removed.length,
    },
  );
  return rows;
}

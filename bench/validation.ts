/**
 * Validation overhead: how much longer `validateArtifact` takes than its test runs must.
 *
 * report.timings.criticalPathMs is the sum, over the sequential stages (baseline, bug,
 * weakened, inverse), of the slowest test run in each: the time the tests themselves need.
 * Everything else (sandbox creation, `git apply`, check 1's dry runs, parsing, cleanup) is
 * overhead. Each run uses a fresh BaselineCache, so the clean suite really runs.
 *
 * Artifacts:
 *   - examples/artifacts/textkit-wrap-width (one changed file: check 7 has nothing to run);
 *   - a two-file artifact generated here on examples/repos/textkit (bug in src/wrap.js and
 *     src/slug.js, weakening in both test files), so check 7 runs two reverted test runs in
 *     parallel.
 * Target: median total / median critical path <= 1.15x.
 *
 * Run: node --import tsx bench/validation.ts
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Artifact, ArtifactMetadataSchema, readArtifact } from '../src/artifact/index.js';
import { SandboxHost } from '../src/sandbox/index.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { BaselineCache } from '../src/validate/baseline.js';
import type { ValidationReport } from '../src/validate/report.js';
import { validateArtifact } from '../src/validate/validator.js';
import {
  emitSummary,
  isMain,
  ms,
  ratio,
  type Stats,
  type SummaryRow,
  stats,
  statsLine,
  table,
  verdict,
} from './lib.js';

const RUNS = 5;
const TARGET_RATIO = 1.15;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = join(ROOT, 'examples', 'repos', 'textkit');
const ARTIFACT = join(ROOT, 'examples', 'artifacts', 'textkit-wrap-width');

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} does not contain ${JSON.stringify(from)}`);
  writeFileSync(file, text.replace(from, to));
}

/**
 * A two-file bug on textkit, both files necessary: wrap() breaks a line one word early and
 * slugify() joins words with "_" by default. The weakening loosens assertions in both test
 * files so some bug-failing tests pass again. Diffs come from `git diff` in a temp copy.
 */
export function twoFileArtifact(base: Artifact): Artifact {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-bench-artifact-'));
  try {
    cpSync(REPO, dir, { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'core.autocrlf=false', ...args], { cwd: dir }).toString();
    git('init', '-q');
    git('add', '-A');
    edit(
      join(dir, 'src/wrap.js'),
      'line.length + 1 + word.length <= width',
      'line.length + 1 + word.length < width',
    );
    edit(
      join(dir, 'src/slug.js'),
      "function slugify(text, sep = '-')",
      "function slugify(text, sep = '_')",
    );
    const bugDiff = git('diff', '--no-color', '--no-ext-diff', '--', 'src');
    git('checkout', '-q', '--', 'src');
    edit(
      join(dir, 'test/wrap.test.js'),
      "assert.deepEqual(wrap('aaaa bbbbb cc', 10), ['aaaa bbbbb', 'cc']);",
      "assert.equal(wrap('aaaa bbbbb cc', 10).join(' '), 'aaaa bbbbb cc');",
    );
    edit(
      join(dir, 'test/slug.test.js'),
      "assert.equal(slugify('Hello, World!'), 'hello-world');",
      "assert.match(slugify('Hello, World!'), /^hello.world$/);",
    );
    const weakenDiff = git('diff', '--no-color', '--no-ext-diff', '--', 'test');
    return {
      testScript: base.testScript,
      testParser: base.testParser,
      testFiles: ['test/wrap.test.js', 'test/slug.test.js'],
      bugDiff,
      weakenDiff,
      metadata: ArtifactMetadataSchema.parse({
        id: 'bench-textkit-wrap-and-slug',
        repo: 'examples/repos/textkit',
        strategy: 'mutation',
        createdBy: 'bench/validation.ts',
        notes: 'wrap() breaks one word early and slugify() defaults to "_": two necessary files',
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Measured {
  name: string;
  total: Stats;
  critical: Stats;
  /** Per-run total / critical path. */
  ratios: Stats;
  last: ValidationReport;
}

async function measure(
  name: string,
  artifact: Artifact,
  host: SandboxHost,
  snapshot: Snapshot,
  log: (s: string) => void,
): Promise<Measured> {
  const totals: number[] = [];
  const critical: number[] = [];
  const ratios: number[] = [];
  let last: ValidationReport | undefined;
  for (let i = 0; i < RUNS; i++) {
    const report = await validateArtifact(artifact, { host, snapshot, cache: new BaselineCache() });
    if (!report.valid) {
      throw new Error(
        `${name}: not valid at check ${report.failedCheck?.id}: ${report.failedCheck?.message}`,
      );
    }
    const { totalMs, criticalPathMs } = report.timings;
    totals.push(totalMs);
    critical.push(criticalPathMs);
    ratios.push(totalMs / criticalPathMs);
    log(
      `   run ${i + 1}: total ${totalMs} ms, critical path ${criticalPathMs} ms, ` +
        `${ratio(totalMs, criticalPathMs)} (${report.testRuns.length} test runs)`,
    );
    last = report;
  }
  return {
    name,
    total: stats(totals),
    critical: stats(critical),
    ratios: stats(ratios),
    last: last!,
  };
}

function stageLine(r: ValidationReport): string {
  const byStage = new Map<string, number[]>();
  for (const t of r.testRuns) {
    const list = byStage.get(t.stage) ?? [];
    list.push(t.scriptMs + t.parserMs);
    byStage.set(t.stage, list);
  }
  return [...byStage.entries()].map(([s, v]) => `${s} [${v.join(', ')}] ms`).join('; ');
}

export async function main(log: (s: string) => void = console.log): Promise<SummaryRow[]> {
  log('bench/validation: validateArtifact total wall time vs its critical path');
  const host = SandboxHost.open();
  try {
    log(`sandbox mode: ${JSON.stringify(host.mode)}`);
    const snapshot = host.snapshotDir(REPO);
    const example = readArtifact(ARTIFACT);
    const cases: [string, Artifact][] = [
      ['textkit-wrap-width (1 file)', example],
      ['wrap + slug (2 files, check 7 runs)', twoFileArtifact(example)],
    ];
    const results: Measured[] = [];
    for (const [name, artifact] of cases) {
      log(`\n== ${name}: ${RUNS} validations, fresh baseline cache each`);
      const m = await measure(name, artifact, host, snapshot, log);
      log(`   total          ${statsLine(m.total)}`);
      log(`   critical path  ${statsLine(m.critical)}`);
      log(`   overhead       p50 ${ms(m.total.p50 - m.critical.p50)} per validation`);
      log(`   last run's test runs (script + parser): ${stageLine(m.last)}`);
      log(
        `   last run's checks: ${m.last.checks.map((c) => `${c.id}:${c.durationMs}ms`).join(' ')}`,
      );
      results.push(m);
    }

    log('\n== summary (medians = p50)');
    log(
      table([
        ['artifact', 'total p50', 'critical p50', 'total/critical', 'p50 of per-run ratios'],
        ...results.map((m) => [
          m.name,
          ms(m.total.p50, 0),
          ms(m.critical.p50, 0),
          ratio(m.total.p50, m.critical.p50, 3),
          `${m.ratios.p50.toFixed(3)}x`,
        ]),
      ]),
    );
    const rows: SummaryRow[] = [];
    for (const m of results) {
      const r = m.total.p50 / m.critical.p50;
      const met = r <= TARGET_RATIO;
      log(
        `target (${m.name}): total/critical <= ${TARGET_RATIO}x -> ${verdict(met)} (${r.toFixed(3)}x)`,
      );
      rows.push({
        bench: 'validation',
        metric: `total p50, ${m.name}`,
        value: ms(m.total.p50, 0),
        baseline: `critical ${ms(m.critical.p50, 0)}`,
        ratio: `${r.toFixed(3)}x`,
        target: `<= ${TARGET_RATIO}x`,
        met,
      });
    }
    emitSummary(rows);
    return rows;
  } finally {
    await host.close();
  }
}

if (isMain(import.meta.url)) await main();

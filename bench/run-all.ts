/**
 * Runs the benchmarks one after another, each in its own Node process (so one's heap, open
 * sandboxes or filesystem churn do not leak into the next), then prints one summary table.
 *
 * Run: node --import tsx bench/run-all.ts            (all: fork, exec, validation, inject)
 *      node --import tsx bench/run-all.ts exec fork  (a selection, in that order)
 *
 * Exits non-zero only if a benchmark crashed; a missed target is reported, not failed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SummaryRow, table } from './lib.js';

const BENCHES = ['fork', 'exec', 'validation', 'inject', 'agent', 'selfplay', 'image'] as const;
/** Run only when named: bench/repos.ts takes hours (real repositories, 10 minutes each). */
const OPT_IN = ['repos'];
const HERE = dirname(fileURLToPath(import.meta.url));

function runChild(name: string, summaryPath: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, `${name}.ts`)], {
      stdio: 'inherit',
      env: { ...process.env, SSR_BENCH_SUMMARY: summaryPath },
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => ![...BENCHES, ...OPT_IN].includes(w));
  if (unknown.length) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${[...BENCHES, ...OPT_IN].join(', ')}`,
    );
    return 2;
  }
  const names = wanted.length ? wanted : [...BENCHES];
  const dir = mkdtempSync(join(tmpdir(), 'ssr-bench-run-'));
  const rows: SummaryRow[] = [];
  const timings: string[] = [];
  let crashed = 0;
  try {
    for (const name of names) {
      console.log(`\n######## bench/${name}.ts ########\n`);
      const summaryPath = join(dir, `${name}.json`);
      const t0 = performance.now();
      const code = await runChild(name, summaryPath);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      timings.push(`${name} ${secs} s`);
      if (code !== 0) {
        crashed++;
        rows.push({
          bench: name,
          metric: `CRASHED (exit ${code})`,
          value: '',
          baseline: '',
          ratio: '',
          target: '',
          met: false,
        });
        continue;
      }
      rows.push(...(JSON.parse(readFileSync(summaryPath, 'utf8')) as SummaryRow[]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log('\n######## summary ########\n');
  console.log(
    table([
      ['bench', 'metric', 'value', 'baseline', 'ratio', 'target', 'met'],
      ...rows.map((r) => [
        r.bench,
        r.metric,
        r.value,
        r.baseline,
        r.ratio,
        r.target,
        r.met === null ? '' : r.met ? 'yes' : 'NO',
      ]),
    ]),
  );
  console.log(`\nwall time: ${timings.join(', ')}`);
  return crashed ? 1 : 0;
}

process.exitCode = await main();

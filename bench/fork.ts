/**
 * Overlay fork vs a full copy of the repository.
 *
 * For synthetic repos with N files under node_modules (N = 2,000 and 20,000) plus a few source
 * files, measures:
 *   - `sandbox.fork()` on a sandbox that has just modified a file, so every fork really freezes
 *     an upper layer and stacks it (a fresh parent per iteration, so the stack depth is constant);
 *   - `sandbox.snapshot()` alone (the freeze) and `host.create(snapshot)` (a fresh sandbox);
 *   - baselines: `cp -a` of the repo (what a copy-per-sandbox design pays for every fresh
 *     sandbox), and fork with copy storage (`forceCopy: true`), where the freeze and the new
 *     sandbox are each a full copy.
 * Target: fork p50 <= 10 ms and flat in repo size (p50 at 20k within 1.5x, or 1 ms, of the p50
 * at 2k). Overlay measurements are interleaved across sizes; copies run after them.
 *
 * Run: node --import tsx bench/fork.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SandboxHost } from '../src/sandbox/index.js';
import { readOpaqueDirs } from '../src/sandbox/layers.js';
import type { Snapshot } from '../src/sandbox/types.js';
import {
  emitSummary,
  isMain,
  ms,
  ratio,
  type Stats,
  type SummaryRow,
  sample,
  stats,
  statsLine,
  table,
  verdict,
} from './lib.js';

const SIZES = [2_000, 20_000];
const FORK_ITERATIONS = 30;
const CREATE_ITERATIONS = 30;
const CP_ITERATIONS = 3;
const COPY_FORK_ITERATIONS = 3;
/** Time allowed for the timed runs of each copy baseline (at least one run is made). */
const COPY_BUDGET_MS = 5_000;
/**
 * The copy-storage fork costs about three full copies (its parent, the freeze, the child):
 * it is skipped when one `cp -a` took longer than this, to keep the benchmark near a minute.
 */
const COPY_FORK_MAX_CP_MS = 2_000;
const TARGET_FORK_P50_MS = 10;
/**
 * "Flat": fork p50 at the largest size is within FLAT_LIMIT times, or FLAT_SLACK_MS, of the p50
 * at the smallest (sub-millisecond timings jitter by more than their ratio suggests); a copy
 * grows about 10x.
 */
const FLAT_LIMIT = 1.5;
const FLAT_SLACK_MS = 1;

/**
 * The synthetic repos are kept between runs in $TMPDIR/ssr-bench-repos (they are never
 * written: sandboxes and copies go elsewhere). Building 20,000 files takes 1-15 s here, and
 * deleting them leaves ext4 slow at allocating inodes for a while, which skews the copy
 * baselines of the next run. SSR_BENCH_FRESH=1 rebuilds them; deleting the folder is safe.
 */
const REPO_CACHE = join(tmpdir(), 'ssr-bench-repos');
const REPO_VERSION = 1;

function syntheticRepo(files: number, log: (s: string) => void): string {
  const dir = join(REPO_CACHE, `v${REPO_VERSION}-${files}`);
  if (process.env.SSR_BENCH_FRESH === '1') rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) {
    log(`using the repo with ${files} files in node_modules at ${dir}`);
    return dir;
  }
  mkdirSync(REPO_CACHE, { recursive: true });
  const staging = mkdtempSync(`${dir}.tmp-`);
  const t0 = performance.now();
  buildSyntheticRepo(staging, files);
  renameSync(staging, dir);
  log(
    `built a repo with ${files} files in node_modules in ${ms(performance.now() - t0, 0)} (${dir})`,
  );
  return dir;
}

/** A small JS project whose node_modules holds `nodeModulesFiles` files in nested packages. */
export function buildSyntheticRepo(root: string, nodeModulesFiles: number): void {
  const write = (rel: string, text: string) => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  };
  write('package.json', '{ "name": "synthetic", "version": "1.0.0", "private": true }\n');
  write('src/index.js', "'use strict';\nmodule.exports = { ...require('./math') };\n");
  write(
    'src/math.js',
    "'use strict';\nfunction add(a, b) {\n  return a + b;\n}\nmodule.exports = { add };\n",
  );
  write('src/util/strings.js', "'use strict';\nmodule.exports = { up: (s) => s.toUpperCase() };\n");
  write(
    'test/math.test.js',
    "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\n" +
      "const { add } = require('../src/math');\ntest('adds', () => assert.equal(add(1, 2), 3));\n",
  );
  write('README.md', '# synthetic\n');
  // Packages of 20 files: package.json, index.js and 18 modules in nested lib folders; every
  // fifth package lives in the previous one's own node_modules, as npm nests conflicting deps.
  const perPackage = 20;
  let written = 0;
  let pkg = 0;
  while (written < nodeModulesFiles) {
    const name = `pkg-${pkg}`;
    const base =
      pkg % 5 === 4 ? `node_modules/pkg-${pkg - 1}/node_modules/${name}` : `node_modules/${name}`;
    const count = Math.min(perPackage, nodeModulesFiles - written);
    for (let j = 0; j < count; j++) {
      if (j === 0) write(`${base}/package.json`, `{ "name": "${name}", "main": "index.js" }\n`);
      else if (j === 1) write(`${base}/index.js`, `module.exports = require('./lib/a/m2.js');\n`);
      else {
        const sub = ['lib/a', 'lib/a/b', 'lib/c/d/e'][j % 3]!;
        write(`${base}/${sub}/m${j}.js`, `'use strict';\nmodule.exports = function m${j}() {}\n`);
      }
      written++;
    }
    pkg++;
  }
}

interface SizeResult {
  files: number;
  fork: Stats;
  freeze: Stats;
  create: Stats;
  cp: Stats;
  copyFork: Stats;
}

interface Repo {
  files: number;
  dir: string;
  snap: Snapshot;
}

/** A sandbox that has modified a file, so its upper layer is not empty. */
async function modifiedSandbox(host: SandboxHost, snap: Snapshot, i: number) {
  const sb = host.create(snap);
  await sb.writeFile(
    'src/math.js',
    `'use strict';\nfunction add(a, b) {\n  return a + b + ${i} - ${i};\n}\nmodule.exports = { add };\n`,
  );
  return sb;
}

/**
 * Times `run(repo)` round-robin over the repos, so that whatever the machine is doing (other
 * processes, the filesystem's state) weighs on every size alike.
 */
async function interleaved(
  repos: Repo[],
  iterations: number,
  warmup: number,
  run: (repo: Repo, i: number) => Promise<number>,
): Promise<Stats[]> {
  const samples: number[][] = repos.map(() => []);
  for (let i = 0; i < warmup + iterations; i++) {
    for (const [k, repo] of repos.entries()) {
      const t = await run(repo, i);
      if (i >= warmup) samples[k]!.push(t);
    }
  }
  return samples.map(stats);
}

async function measure(log: (s: string) => void): Promise<{ results: SizeResult[]; marks: Stats }> {
  const work = mkdtempSync(join(tmpdir(), 'ssr-bench-fork-'));
  const host = SandboxHost.open();
  const copyHost = SandboxHost.open({ forceCopy: true });
  try {
    if (host.mode.storage !== 'overlay') {
      log(`warning: overlay storage unavailable (mode ${JSON.stringify(host.mode)})`);
    }
    const repos: Repo[] = [];
    for (const files of SIZES) {
      const dir = syntheticRepo(files, log);
      repos.push({ files, dir, snap: host.snapshotDir(dir) });
    }

    // Overlay measurements first, before the copies below churn the filesystem.
    const forks = await interleaved(repos, FORK_ITERATIONS, 3, async (repo, i) => {
      const parent = await modifiedSandbox(host, repo.snap, i);
      const t0 = performance.now();
      const child = await parent.fork();
      const t = performance.now() - t0;
      await child.dispose();
      await parent.dispose();
      return t;
    });
    const freezes = await interleaved(repos, FORK_ITERATIONS, 3, async (repo, i) => {
      const parent = await modifiedSandbox(host, repo.snap, i);
      const t0 = performance.now();
      await parent.snapshot();
      const t = performance.now() - t0;
      await parent.dispose();
      return t;
    });
    const creates = await interleaved(repos, CREATE_ITERATIONS, 3, async (repo) => {
      const t0 = performance.now();
      const sb = host.create(repo.snap);
      const t = performance.now() - t0;
      await sb.dispose();
      return t;
    });
    // Reading a frozen layer's opaque marks (one python3 process) is deferred from fork() to
    // the first diff()/readFile() that needs it; every fork used to pay this.
    const marksDir = join(work, 'marks');
    mkdirSync(join(marksDir, 'src'), { recursive: true });
    const marks = stats(
      await sample({
        iterations: 10,
        warmup: 1,
        setup: () => undefined,
        run: () => readOpaqueDirs(marksDir, ['src']),
      }),
    );
    log(`deferred from fork to first read: opaque-mark read (python3) ${statsLine(marks)}`);

    const results: SizeResult[] = [];
    for (const [k, repo] of repos.entries()) {
      const fork = forks[k]!;
      log(`\n== ${repo.files} files in node_modules`);
      log(`   overlay fork()              ${statsLine(fork)}`);
      log(`   overlay snapshot() (freeze) ${statsLine(freezes[k]!)}`);
      log(`   overlay host.create(snap)   ${statsLine(creates[k]!)}`);

      // Copies are removed only at the end: deleting many files makes ext4 slower to allocate
      // inodes for a while, which would slow down the next copy.
      let n = 0;
      const cp = stats(
        await sample({
          iterations: CP_ITERATIONS,
          budgetMs: COPY_BUDGET_MS,
          setup: () => join(work, `copy-${repo.files}-${n++}`),
          run: (dest) => {
            const r = spawnSync('cp', ['-a', repo.dir, dest], { stdio: 'pipe' });
            if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr.toString()}`);
          },
        }),
      );
      log(`   baseline: cp -a of the repo ${statsLine(cp)}`);

      // Copy storage: the freeze copies the sandbox to a layer, the child copies that layer.
      // One parent is reused (a fresh copy-storage parent costs another full copy).
      let copyFork = stats([]);
      if (cp.p50 <= COPY_FORK_MAX_CP_MS) {
        const copyParent = copyHost.create(copyHost.snapshotDir(repo.dir));
        let i = 0;
        copyFork = stats(
          await sample({
            iterations: COPY_FORK_ITERATIONS,
            budgetMs: COPY_BUDGET_MS,
            setup: async () => {
              await copyParent.writeFile('src/math.js', `module.exports = ${i++};\n`);
              return copyParent;
            },
            run: (parent) => parent.fork(),
          }),
        );
        log(`   baseline: copy fork()       ${statsLine(copyFork)}`);
      } else {
        log(
          `   baseline: copy fork()       skipped: cp -a took ${ms(cp.p50, 0)} (> ${COPY_FORK_MAX_CP_MS} ms)`,
        );
      }
      log(
        `   => fork p50 ${ms(fork.p50)} vs cp -a p50 ${ms(cp.p50, 1)}: copy/fork = ${ratio(cp.p50, fork.p50, 0)}` +
          (copyFork.n
            ? `; copy-storage fork/overlay fork = ${ratio(copyFork.p50, fork.p50, 0)}`
            : ''),
      );
      results.push({
        files: repo.files,
        fork,
        freeze: freezes[k]!,
        create: creates[k]!,
        cp,
        copyFork,
      });
    }
    return { results, marks };
  } finally {
    await host.close();
    await copyHost.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function main(log: (s: string) => void = console.log): Promise<SummaryRow[]> {
  log('bench/fork: overlay fork vs full copy');
  const { results, marks } = await measure(log);

  const small = results[0]!;
  const large = results.at(-1)!;
  const growth = large.fork.p50 / small.fork.p50;
  const flat =
    large.fork.p50 - small.fork.p50 <= Math.max((FLAT_LIMIT - 1) * small.fork.p50, FLAT_SLACK_MS);
  const fast = results.every((r) => r.fork.p50 <= TARGET_FORK_P50_MS);

  log('\n== summary (medians = p50)');
  log(
    table([
      [
        'files',
        'fork p50',
        'freeze p50',
        'create p50',
        'cp -a p50',
        'copy fork p50',
        'cp/fork',
        'copyfork/fork',
      ],
      ...results.map((r) => [
        String(r.files),
        ms(r.fork.p50),
        ms(r.freeze.p50),
        ms(r.create.p50),
        ms(r.cp.p50, 1),
        ms(r.copyFork.p50, 1),
        ratio(r.cp.p50, r.fork.p50, 1),
        ratio(r.copyFork.p50, r.fork.p50, 1),
      ]),
    ]),
  );
  log(
    `fork p50 growth ${small.files} -> ${large.files} files: ${growth.toFixed(2)}x, ` +
      `${(large.fork.p50 - small.fork.p50).toFixed(2)} ms (flat if <= ${FLAT_LIMIT}x or +${FLAT_SLACK_MS} ms: ` +
      `${flat ? 'flat' : 'NOT flat'}); ` +
      `cp -a growth: ${ratio(large.cp.p50, small.cp.p50, 1)}`,
  );
  log(
    `target: fork p50 <= ${TARGET_FORK_P50_MS} ms and flat in repo size -> ${verdict(fast && flat)}` +
      ` (p50 ${results.map((r) => ms(r.fork.p50)).join(' / ')})`,
  );

  const rows: SummaryRow[] = [];
  for (const r of results) {
    rows.push({
      bench: 'fork',
      metric: `fork p50 (${r.files / 1000}k files)`,
      value: ms(r.fork.p50),
      baseline: `cp -a ${ms(r.cp.p50, 1)}`,
      ratio: ratio(r.cp.p50, r.fork.p50, 1),
      target: `<= ${TARGET_FORK_P50_MS} ms`,
      met: r.fork.p50 <= TARGET_FORK_P50_MS,
    });
  }
  rows.push({
    bench: 'fork',
    metric: `fork growth ${small.files / 1000}k->${large.files / 1000}k`,
    value: ratio(large.fork.p50, small.fork.p50),
    baseline: `cp -a ${ratio(large.cp.p50, small.cp.p50, 1)}`,
    ratio: '',
    target: `<= ${FLAT_LIMIT}x or +${FLAT_SLACK_MS} ms`,
    met: flat,
  });
  for (const r of results) {
    rows.push({
      bench: 'fork',
      metric: `create p50 (${r.files / 1000}k files)`,
      value: ms(r.create.p50),
      baseline: `cp -a ${ms(r.cp.p50, 1)}`,
      ratio: ratio(r.cp.p50, r.create.p50, 1),
      target: '',
      met: null,
    });
  }
  rows.push({
    bench: 'fork',
    metric: 'opaque-mark read p50 (deferred)',
    value: ms(marks.p50),
    baseline: '',
    ratio: '',
    target: '',
    met: null,
  });
  emitSummary(rows);
  return rows;
}

if (isMain(import.meta.url)) await main();

/**
 * What the sandbox adds to running a command.
 *
 * Times `sandbox.exec('true')` (unshare + overlay mount + bubblewrap + bash) against plain
 * spawns of /bin/true: `spawnBounded` from src/sandbox/spawn.ts with a minimal environment
 * (the same spawn path the sandbox uses, without the sandbox) and raw `child_process.spawn`.
 * For the breakdown it also times bubblewrap alone (spawnBounded of the sandbox's bwrap argv
 * running /bin/true: no mount namespace, overlay, cgroup join or bash) and a sandbox whose
 * host has no cgroup support (no per-exec join of the pids/memory cgroups). Methods are
 * interleaved round-robin, after a warm-up.
 * Target: <= 15 ms added at p50 (overlay sandbox exec minus spawnBounded).
 *
 * Run: node --import tsx bench/exec.ts
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseEnvironment, bwrapArgs } from '../src/sandbox/bwrap.js';
import { detectCapabilities, SandboxHost } from '../src/sandbox/index.js';
import { spawnBounded } from '../src/sandbox/spawn.js';
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

const ITERATIONS = 50;
const WARMUP = 5;
const TARGET_ADDED_MS = 15;
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'repos', 'textkit');
const MINIMAL_ENV = { PATH: '/usr/bin:/bin' };

function rawSpawn(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { stdio: 'ignore', env: MINIMAL_ENV });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`)),
    );
  });
}

function check(r: { exitCode: number | null; stderr: string }, what: string): void {
  if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode}: ${r.stderr.trim()}`);
}

export async function main(log: (s: string) => void = console.log): Promise<SummaryRow[]> {
  log('bench/exec: `true` through the sandbox vs a plain spawn');
  const host = SandboxHost.open();
  const caps = detectCapabilities();
  const noCgroupHost = SandboxHost.open({
    capabilities: { ...caps, cgroup: { version: null, pidsParent: null, memoryParent: null } },
  });
  const scratch = mkdtempSync(join(tmpdir(), 'ssr-bench-exec-'));
  try {
    log(`sandbox mode: ${JSON.stringify(host.mode)}`);
    if (!host.capabilities.bwrap) throw new Error('bubblewrap is unavailable: nothing to measure');
    const sb = host.create(host.snapshotDir(REPO));
    const noCgroupSb = noCgroupHost.create(noCgroupHost.snapshotDir(REPO));
    for (const d of ['repo', 'tmp']) mkdirSync(join(scratch, d));
    const bwrapOnly = [
      ...bwrapArgs(host.capabilities.bwrap, {
        repoHostDir: join(scratch, 'repo'),
        repoMount: '/repo',
        tmpHostDir: join(scratch, 'tmp'),
        cwd: '/repo',
        env: baseEnvironment('/tmp'),
      }),
      '/bin/true',
    ];
    const bounded = (argv: string[]) =>
      spawnBounded(argv, { env: MINIMAL_ENV, timeoutMs: 10_000, maxOutputBytes: 1 << 20 });
    const methods: [string, () => Promise<unknown>][] = [
      ['child_process.spawn /bin/true', () => rawSpawn('/bin/true')],
      ['spawnBounded /bin/true', async () => check(await bounded(['/bin/true']), '/bin/true')],
      ['spawnBounded bwrap ... /bin/true', async () => check(await bounded(bwrapOnly), 'bwrap')],
      [
        "sandbox.exec('true'), no cgroups",
        async () => check(await noCgroupSb.exec('true'), 'sandbox exec without cgroups'),
      ],
      ["sandbox.exec('true')", async () => check(await sb.exec('true'), 'sandbox exec')],
    ];
    const samples: number[][] = methods.map(() => []);
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      for (const [k, [, fn]] of methods.entries()) {
        const t0 = performance.now();
        await fn();
        const t = performance.now() - t0;
        if (i >= WARMUP) samples[k]!.push(t);
      }
    }
    const st: Stats[] = samples.map(stats);
    const [raw, plain, bwrapSt, noCg, exec] = st as [Stats, Stats, Stats, Stats, Stats];
    for (const [k, [name]] of methods.entries()) log(`   ${name.padEnd(34)} ${statsLine(st[k]!)}`);

    const added = exec.p50 - plain.p50;
    const addedRaw = exec.p50 - raw.p50;
    log('\n== summary (p50 = median)');
    log(
      table([
        ['method', 'p50', 'p90', 'added at p50 vs spawnBounded'],
        ...methods.map(([name], k) => [
          name,
          ms(st[k]!.p50),
          ms(st[k]!.p90),
          k === 1 ? '-' : `${(st[k]!.p50 - plain.p50).toFixed(2)} ms`,
        ]),
      ]),
    );
    log(
      `sandbox exec p50 ${ms(exec.p50)} vs spawnBounded p50 ${ms(plain.p50)}: +${ms(added)} ` +
        `(${ratio(exec.p50, plain.p50, 1)}); vs raw spawn p50 ${ms(raw.p50)}: +${ms(addedRaw)}`,
    );
    log(
      `breakdown at p50: bubblewrap ~${ms(bwrapSt.p50 - plain.p50)}; ` +
        `unshare + sh + overlay mount + bash ~${ms(noCg.p50 - bwrapSt.p50)}; ` +
        `joining the sandbox's cgroups ~${ms(exec.p50 - noCg.p50)} ` +
        `(cgroup limits: ${JSON.stringify(host.mode.limits)}, cgroup v${caps.cgroup.version ?? '-'})`,
    );
    const met = added <= TARGET_ADDED_MS;
    log(`target: <= ${TARGET_ADDED_MS} ms added at p50 -> ${verdict(met)} (+${ms(added)})`);

    const rows: SummaryRow[] = [
      {
        bench: 'exec',
        metric: 'sandbox.exec("true") p50',
        value: ms(exec.p50),
        baseline: `spawnBounded ${ms(plain.p50)}`,
        ratio: ratio(exec.p50, plain.p50, 1),
        target: '',
        met: null,
      },
      {
        bench: 'exec',
        metric: 'added by the sandbox at p50',
        value: `+${ms(added)}`,
        baseline: `raw spawn ${ms(raw.p50)}`,
        ratio: '',
        target: `<= ${TARGET_ADDED_MS} ms`,
        met,
      },
    ];
    emitSummary(rows);
    return rows;
  } finally {
    await host.close();
    await noCgroupHost.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main();

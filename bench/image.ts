/**
 * Image environments: starting a sandbox from an image, and forking one.
 *
 * Two OCI images built from the host (no registry): a small one (bash, coreutils, the textkit
 * repo at /testbed) and a large one (>= 300 MB: node, git, python3 with its stdlib, and a
 * padding layer of real files, the host's /usr/include and /usr/lib/gcc). For each:
 *   - first start: `host.snapshotImage()` into an empty cache (unpack every layer, build the
 *     rootfs), `host.create()`, `exec('true')`. One run: it is the one-off cost per image;
 *   - second start: the same with the cache filled (read and verify manifest and config, then
 *     nothing to unpack), 20 runs; baseline: the same start from a host directory
 *     (`snapshotDir`), the cost every sandbox pays anyway;
 *   - fork: `sandbox.fork()` of a sandbox that has modified a file (a fresh parent each time).
 * Targets: second start p50 <= 50 ms; fork flat in image size (large p50 within 1.5x, or 1 ms,
 * of small p50).
 *
 * Run: node --import tsx bench/image.ts
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import {
  buildMinimalRootfs,
  cached,
  FIXTURES,
  IMAGE_PATH_ENV,
  writeOciLayout,
} from '../test/helpers/make-image.js';
import {
  emitSummary,
  isMain,
  ms,
  ratio,
  type SummaryRow,
  sample,
  stats,
  statsLine,
  table,
  verdict,
} from './lib.js';

const REPO = fileURLToPath(new URL('../examples/repos/textkit', import.meta.url));
const START_ITERATIONS = 20;
const FORK_ITERATIONS = 30;
const TARGET_SECOND_START_MS = 50;
const FLAT_LIMIT = 1.5;
const FLAT_SLACK_MS = 1;
const PADDING = ['/usr/include', '/usr/lib/gcc'];

async function benchImages(log: (s: string) => void): Promise<{ small: string; large: string }> {
  const t0 = performance.now();
  const small = await cached(join(FIXTURES, 'bench-image-small-v1'), async (staging) => {
    const root = join(staging, 'root');
    buildMinimalRootfs(root);
    const { cpSync } = await import('node:fs');
    cpSync(REPO, join(root, 'testbed'), { recursive: true });
    await writeOciLayout(join(staging, 'oci'), [{ dir: root }], { env: [IMAGE_PATH_ENV] });
    rmSync(root, { recursive: true });
  });
  const large = await cached(join(FIXTURES, 'bench-image-large-v1'), async (staging) => {
    const { cpSync, mkdirSync } = await import('node:fs');
    const root = join(staging, 'root');
    buildMinimalRootfs(root, { toolchain: true });
    cpSync(REPO, join(root, 'testbed'), { recursive: true });
    const pad = join(staging, 'pad');
    for (const p of PADDING) {
      mkdirSync(join(pad, p), { recursive: true });
      cpSync(p, join(pad, p), { recursive: true, verbatimSymlinks: true });
    }
    await writeOciLayout(join(staging, 'oci'), [{ dir: root }, { dir: pad, gzip: true }], {
      env: [IMAGE_PATH_ENV],
    });
    rmSync(root, { recursive: true });
    rmSync(pad, { recursive: true });
  });
  log(`images ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (cached in ${FIXTURES})`);
  return { small: join(small, 'oci'), large: join(large, 'oci') };
}

/** Bytes of the unpacked root filesystem (files only, hard links counted once). */
function rootfsBytes(dir: string, seen = new Set<number>()): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += rootfsBytes(p, seen);
    else if (e.isFile()) {
      const st = statSync(p);
      if (!seen.has(st.ino)) total += st.size;
      seen.add(st.ino);
    }
  }
  return total;
}

const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;

export async function main(log: (s: string) => void = console.log): Promise<SummaryRow[]> {
  const images = await benchImages(log);
  const work = mkdtempSync(join(tmpdir(), 'ssr-bench-image-'));
  const host = SandboxHost.open();
  const rows: SummaryRow[] = [];
  try {
    const start = async (snap: () => Promise<Snapshot> | Snapshot) => {
      const sb = host.create(await snap());
      const r = await sb.exec('true');
      if (r.exitCode !== 0) throw new Error(`exec failed: ${r.stderr}`);
      return sb;
    };
    const results: Record<
      string,
      { first: number; second: number[]; fork: number[]; size: number }
    > = {};
    for (const [name, image] of Object.entries(images)) {
      const cacheDir = join(work, `cache-${name}`);
      const t0 = performance.now();
      const first = await start(() => host.snapshotImage(image, { cacheDir }));
      const firstMs = performance.now() - t0;
      await first.dispose();
      const snap = await host.snapshotImage(image, { cacheDir });
      const size = rootfsBytes(snap.image.rootfs);
      const second = await sample({
        iterations: START_ITERATIONS,
        warmup: 2,
        setup: () => undefined,
        run: () => start(() => host.snapshotImage(image, { cacheDir })),
        teardown: async (_c, sb) => (sb as Awaited<ReturnType<typeof start>>).dispose(),
      });
      const fork = await sample({
        iterations: FORK_ITERATIONS,
        warmup: 3,
        setup: async () => {
          const sb = host.create(snap);
          await sb.exec('echo changed >> package.json');
          return sb;
        },
        run: (sb) => sb.fork(),
        teardown: async (sb, child) => {
          await (child as typeof sb).dispose();
          await sb.dispose();
        },
      });
      results[name] = { first: firstMs, second, fork, size };
      log(
        `${name}: rootfs ${mb(size)}; first start ${ms(firstMs, 0)}; ` +
          `second start ${statsLine(stats(second))}; fork ${statsLine(stats(fork))}`,
      );
    }
    const hostStart = await sample({
      iterations: START_ITERATIONS,
      warmup: 2,
      setup: () => undefined,
      run: () => start(() => host.snapshotDir(REPO)),
      teardown: async (_c, sb) => (sb as Awaited<ReturnType<typeof start>>).dispose(),
    });
    const base = stats(hostStart);
    const s = results.small!;
    const l = results.large!;
    const [sSecond, lSecond, sFork, lFork] = [s.second, l.second, s.fork, l.fork].map(
      (x) => stats(x).p50,
    ) as [number, number, number, number];
    console.log(
      `\n${table([
        ['image', 'rootfs', 'first start', 'second start p50', 'fork p50'],
        ['small', mb(s.size), ms(s.first, 0), ms(sSecond), ms(sFork)],
        ['large', mb(l.size), ms(l.first, 0), ms(lSecond), ms(lFork)],
        ['host dir (baseline)', '', '', ms(base.p50), ''],
      ])}\n`,
    );
    const secondMet = lSecond <= TARGET_SECOND_START_MS && sSecond <= TARGET_SECOND_START_MS;
    const flatMet = lFork <= Math.max(sFork * FLAT_LIMIT, sFork + FLAT_SLACK_MS);
    log(`second start <= ${TARGET_SECOND_START_MS} ms: ${verdict(secondMet)}`);
    log(`fork flat in image size: ${verdict(flatMet)}`);
    rows.push(
      {
        bench: 'image',
        metric: `first start, ${mb(l.size)} image (unpack)`,
        value: ms(l.first, 0),
        baseline: `${ms(s.first, 0)} (${mb(s.size)})`,
        ratio: ratio(l.first, s.first),
        target: '',
        met: null,
      },
      {
        bench: 'image',
        metric: `second start p50, ${mb(l.size)} image (cached)`,
        value: ms(lSecond),
        baseline: `${ms(base.p50)} (host dir)`,
        ratio: ratio(lSecond, base.p50),
        target: `<= ${TARGET_SECOND_START_MS} ms`,
        met: secondMet,
      },
      {
        bench: 'image',
        metric: `fork p50, ${mb(l.size)} image`,
        value: ms(lFork),
        baseline: `${ms(sFork)} (${mb(s.size)})`,
        ratio: ratio(lFork, sFork),
        target: `flat (<= ${FLAT_LIMIT}x or +${FLAT_SLACK_MS} ms)`,
        met: flatMet,
      },
    );
  } finally {
    await host.close();
    rmSync(work, { recursive: true, force: true });
  }
  emitSummary(rows);
  return rows;
}

if (isMain(import.meta.url)) await main();

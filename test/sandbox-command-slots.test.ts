/**
 * maxConcurrentCommands: commands across all sandboxes of a host share a bounded number of
 * slots (self-play sets it to the cores, so episodes x test runs cannot oversubscribe them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SandboxHost } from '../src/sandbox/local.js';

let repo: string;

before(() => {
  repo = mkdtempSync(join(tmpdir(), 'ssr-slots-'));
  mkdirSync(join(repo, 'src'));
  writeFileSync(join(repo, 'src/a.txt'), 'a\n');
});
after(() => rmSync(repo, { recursive: true, force: true }));

/** Start and end (ns since the epoch) of one command in each of `n` sandboxes at once. */
async function intervals(host: SandboxHost, n: number): Promise<[bigint, bigint][]> {
  const snap = host.snapshotDir(repo);
  const sbs = Array.from({ length: n }, () => host.create(snap));
  try {
    const rs = await Promise.all(
      sbs.map((sb) => sb.exec('date +%s%N; sleep 0.3; date +%s%N', { timeoutMs: 30_000 })),
    );
    return rs.map((r) => {
      const [a, b] = r.stdout.trim().split('\n').map(BigInt);
      return [a!, b!];
    });
  } finally {
    await Promise.all(sbs.map((sb) => sb.dispose()));
  }
}

const overlaps = (xs: [bigint, bigint][]) =>
  xs.some(([a, b], i) => xs.some(([c, d], j) => i !== j && a < d && c < b));

test('with one slot, commands of different sandboxes never overlap', async () => {
  const host = SandboxHost.open({ maxConcurrentCommands: 1 });
  try {
    assert.equal(overlaps(await intervals(host, 3)), false);
  } finally {
    await host.close();
  }
});

test('without a bound, they run at once (the check above can fail)', async () => {
  const host = SandboxHost.open();
  try {
    assert.equal(overlaps(await intervals(host, 3)), true);
  } finally {
    await host.close();
  }
});

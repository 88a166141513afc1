import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Journal } from '../src/store/journal.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'ssr-journal-')), 'sub', 'j.jsonl');

test('records survive a reopen, in order', () => {
  const path = fresh();
  const j = new Journal<{ n: number }>(path);
  assert.deepEqual(j.read(), []);
  j.append({ n: 1 });
  j.append({ n: 2 });
  j.close();
  assert.deepEqual(new Journal<{ n: number }>(path).read(), [{ n: 1 }, { n: 2 }]);
});

test('a torn last line (crash mid-write) is ignored and the next record starts on its own line', () => {
  const path = fresh();
  const j = new Journal<{ n: number }>(path);
  j.append({ n: 1 });
  j.close();
  appendFileSync(path, '{"n": 2, "trunc');
  const again = new Journal<{ n: number }>(path);
  assert.deepEqual(again.read(), [{ n: 1 }]);
  again.append({ n: 3 });
  again.close();
  assert.deepEqual(new Journal<{ n: number }>(path).read(), [{ n: 1 }, { n: 3 }]);
  assert.match(readFileSync(path, 'utf8'), /trunc\n\{"n":3\}\n$/);
});

test('a run killed between its journal and metrics.jsonl gets the missing metrics line back on reopen', async () => {
  const { RunStore } = await import('../src/store/run-store.js');
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'ssr-run-'));
  const metrics = (step: number) => ({
    step,
    injections: 1,
    validArtifacts: 1,
    validRate: 1,
    artifactsSolved: 1,
    meanSolveRate: 0.5,
    solveRateHistogram: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    meanReward: { injector: 0.1, solver: 0 },
    higherOrder: { made: 0, valid: 0, attempted: 0 },
    failures: {},
    tokens: { prompt: 1, completion: 1 },
    episodes: { injector: 1, solver: 2 },
    timeMs: 10,
    finishedAt: '2026-01-01T00:00:00Z',
  });
  const store = RunStore.openForWriting(dir, { seed: 1 });
  store.append({ kind: 'step', step: 1, metrics: metrics(1) });
  store.append({ kind: 'step', step: 2, metrics: metrics(2) });
  store.close();
  // The crash: step 2 reached the journal but not metrics.jsonl.
  const path = join(dir, 'metrics.jsonl');
  writeFileSync(path, `${readFileSync(path, 'utf8').split('\n')[0]}\n`);
  const reopened = RunStore.openForWriting(dir, { seed: 1 });
  reopened.append({ kind: 'step', step: 3, metrics: metrics(3) });
  reopened.close();
  const steps = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3]);
});

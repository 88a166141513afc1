/**
 * `ssr inject` on real npm packages whose test frameworks once defeated the weakening step:
 *
 * - entities 1.1.1 (mocha): discovery's mocha reporter recorded no error, so a failing run named
 *   no line of the test file and no assertion could be weakened (0 of 60 candidates valid). The
 *   reporter now prints each failure's message and stack.
 * - @fastify/error 4.3.0 (node:test): every test plans its assertions (`t.plan(n)`), so
 *   dropping the failing assertion left the test one short, and it still failed (2 of 60
 *   valid). Planned assertions are now replaced by `t.assert.ok(true)`, which still counts.
 *
 * Both packages are fetched with `npm pack` (test/helpers/fixtures.ts); the repositories must be
 * byte-for-byte unchanged afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { type InjectSummary, injectBugs } from '../src/inject/pipeline.js';
import {
  ENTITIES_VERSION,
  entitiesRepo,
  FASTIFY_ERROR_VERSION,
  fastifyErrorRepo,
  treeHash,
} from './helpers/fixtures.js';

const outs: string[] = [];
after(() => {
  for (const o of outs) rmSync(o, { recursive: true, force: true });
});

async function inject(
  repo: string,
  count: number,
  maxCandidates: number,
): Promise<{ summary: InjectSummary; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'ssr-inject-frameworks-'));
  outs.push(out);
  const summary = await injectBugs({
    repo,
    out,
    count,
    seed: 1,
    maxCandidates,
    strategies: ['removal', 'mutation'],
  });
  return { summary, out };
}

/** Paths a diff touches. */
function diffFiles(diff: string): string[] {
  return [...diff.matchAll(/^diff --git a\/(\S+) b\//gm)].map((m) => m[1]!);
}

describe(`ssr inject on entities ${ENTITIES_VERSION} (mocha)`, () => {
  test('valid artifacts, each weakening assertions of the mocha test file', async () => {
    const repo = entitiesRepo();
    const before = treeHash(repo);
    const { summary, out } = await inject(repo, 2, 8);
    const detail = `${JSON.stringify(summary.byStrategy)} ${JSON.stringify(summary.failures)}`;
    assert.equal(summary.framework, 'mocha');
    assert.ok(summary.valid >= 1, `no valid artifact: ${detail}`);
    assert.ok(summary.byStrategy.removal.valid + summary.byStrategy.mutation.valid >= 1, detail);
    for (const id of summary.artifacts) {
      const a = readArtifact(join(out, id));
      assert.deepEqual(a.testFiles, ['test/test.js']);
      assert.deepEqual(diffFiles(a.weakenDiff), ['test/test.js']);
      // The weakening drops assert.* statements of the mocha file (no plan in mocha).
      const removed = a.weakenDiff.split('\n').filter((l) => /^-\s/.test(l));
      assert.ok(removed.length >= 1, a.weakenDiff);
      for (const l of removed) assert.match(l, /^-\s*assert\.\w+\(/, a.weakenDiff);
      assert.ok(
        diffFiles(a.bugDiff).every((f) => /^(index\.js|lib\/)/.test(f)),
        a.bugDiff,
      );
    }
    assert.equal(treeHash(repo), before);
  });
});

describe(`ssr inject on @fastify/error ${FASTIFY_ERROR_VERSION} (node:test with t.plan)`, () => {
  test('most candidates are valid: planned assertions become t.assert.ok(true)', async () => {
    const repo = fastifyErrorRepo();
    const before = treeHash(repo);
    const { summary, out } = await inject(repo, 3, 8);
    const detail = `${JSON.stringify(summary.byStrategy)} ${JSON.stringify(summary.failures)}`;
    assert.equal(summary.framework, 'node-test');
    // Before planned assertions were replaced rather than dropped: 2 valid of 60 tried.
    assert.ok(summary.valid >= 3, `fewer than 3 valid of ${summary.tried}: ${detail}`);
    assert.ok(summary.valid / summary.tried >= 0.3, `yield too low: ${detail}`);
    let replaced = 0;
    for (const id of summary.artifacts) {
      const a = readArtifact(join(out, id));
      assert.ok(diffFiles(a.weakenDiff).every((f) => /^test\/\w+\.test\.js$/.test(f)));
      // Each weakened line is a t.assert.* call made to always pass, never a dropped line.
      const lines = a.weakenDiff.split('\n');
      const removed = lines.filter((l) => /^-\s/.test(l));
      const added = lines.filter((l) => /^\+\s/.test(l));
      assert.equal(added.length, removed.length, a.weakenDiff);
      for (const l of removed) assert.match(l, /^-\s*t\.assert\.\w+\(/, a.weakenDiff);
      for (const l of added) assert.match(l, /^\+\s*t\.assert\.ok\(true\)$/, a.weakenDiff);
      replaced += added.length;
    }
    assert.ok(replaced >= 3, `${replaced} assertions replaced`);
    assert.equal(treeHash(repo), before);
  });
});

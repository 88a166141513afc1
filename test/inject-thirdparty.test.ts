/**
 * `ssr inject` on a third third-party repository beside minimist and gyp (test/inject.test.ts):
 * shell-quote, five npm releases 1.6.1 ... 1.7.3 as git history (three of them bug fixes with
 * tests, one a CVE fix), tape suite. Every strategy must yield a valid artifact, every kept
 * artifact must pass `ssr validate` run on its own through the CLI, and the repository must be
 * byte-for-byte unchanged.
 *
 * Other frameworks on real packages (entities with mocha, @fastify/error with node:test and
 * t.plan) are in test/inject-frameworks.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { type InjectSummary, injectBugs } from '../src/inject/pipeline.js';
import { SHELL_QUOTE_HISTORY, shellQuoteRepo, treeHash } from './helpers/fixtures.js';
import { runCli } from './helpers/validation.js';

describe(`ssr inject on shell-quote ${SHELL_QUOTE_HISTORY[0]}..${SHELL_QUOTE_HISTORY.at(-1)} (tape, releases as commits)`, () => {
  let repo: string;
  let hashBefore: string;
  let out: string;
  let summary: InjectSummary;

  before(async () => {
    repo = shellQuoteRepo();
    hashBefore = treeHash(repo);
    out = mkdtempSync(join(tmpdir(), 'ssr-inject-shell-quote-'));
    summary = await injectBugs({ repo, out, count: 6, seed: 1, maxCandidates: 30 });
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('every strategy yields at least one valid artifact', () => {
    assert.equal(summary.framework, 'tape');
    assert.deepEqual(summary.strategies, ['removal', 'history', 'mutation']);
    for (const s of ['removal', 'history', 'mutation'] as const) {
      assert.ok(
        summary.byStrategy[s].valid >= 1,
        `${s} produced no valid artifact: ${JSON.stringify(summary.byStrategy)} ${JSON.stringify(summary.failures)}`,
      );
    }
    assert.ok(summary.tried <= 30, `tried ${summary.tried}`);
    assert.equal(summary.valid, summary.artifacts.length);
    const dirs = readdirSync(out).filter((n) => existsSync(join(out, n, 'metadata.json')));
    assert.deepEqual(dirs.sort(), [...summary.artifacts].sort());
  });

  test('history artifacts revert a real release: index.js only, tests untouched', () => {
    const history = summary.artifacts
      .map((id) => readArtifact(join(out, id)))
      .filter((a) => a.metadata.strategy === 'history');
    assert.ok(history.length >= 1);
    for (const a of history) {
      const files = [...a.bugDiff.matchAll(/^diff --git a\/(\S+) b\//gm)].map((m) => m[1]);
      assert.deepEqual(files, ['index.js'], a.bugDiff);
      for (const f of a.testFiles) assert.match(f, /^test\/[\w-]+\.js$/);
    }
  });

  test('every kept artifact passes `ssr validate` run on its own (the CLI, a fresh process)', async () => {
    for (const id of summary.artifacts) {
      const r = await runCli(['validate', join(out, id), '--repo', repo, '--json']);
      assert.equal(r.code, 0, `${id}: exit ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
      const report = JSON.parse(r.stdout);
      assert.equal(report.valid, true, id);
      assert.deepEqual(
        report.checks.map((c: { id: number; status: string }) => [c.id, c.status]),
        [1, 2, 3, 4, 5, 6, 7].map((n) => [n, 'passed']),
        id,
      );
    }
  });

  test('the repository is byte-for-byte unchanged (including .git and node_modules)', () => {
    assert.equal(treeHash(repo), hashBefore);
  });
});

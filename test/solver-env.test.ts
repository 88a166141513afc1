/**
 * The solver's start state and grading (SSR-SPEC section 4) on the shipped example artifact:
 * history hidden, artifact invisible, a real fix solved, cheating on oracle tests not.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  evaluateSolution,
  prepareSolverStart,
  reverseDiff,
  type SolverStart,
  solverPatch,
} from '../src/agent/solver-env.js';
import { readArtifact } from '../src/artifact/artifact.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { stageHarness } from '../src/testing/run-tests.js';
import { type Baseline, computeBaseline } from '../src/validate/baseline.js';

const ROOT = resolve(import.meta.dirname, '..');
const artifact = readArtifact(join(ROOT, 'examples/artifacts/textkit-wrap-width'));
const host = SandboxHost.open();
let original: Snapshot;
let start: SolverStart;
let baseline: Baseline;

before(async () => {
  original = host.snapshotDir(join(ROOT, 'examples/repos/textkit'));
  start = await prepareSolverStart(host, original, artifact);
  const harness = stageHarness(artifact.testScript, artifact.testParser);
  baseline = await computeBaseline(host, original, harness, 2, {});
  harness.cleanup();
});
after(() => host.close());

const sh = async (sb: ReturnType<typeof host.create>, cmd: string) => {
  const r = await sb.exec(cmd);
  return r.stdout + r.stderr;
};

describe('the solver start state', () => {
  test('has the bug and the weakened tests, one fresh commit, and no trace of the artifact', async () => {
    const sb = host.create(start.snapshot);
    try {
      assert.match(await sh(sb, 'cat src/wrap.js'), /word\.length < width/);
      assert.doesNotMatch(await sh(sb, 'cat test/wrap.test.js'), /\['aaaa bbbbb', 'cc'\]/);
      assert.equal((await sh(sb, 'git log --oneline | wc -l')).trim(), '1');
      assert.equal((await sh(sb, 'git reflog | wc -l')).trim(), '1');
      assert.equal((await sh(sb, 'git status --porcelain')).trim(), '');
      // The solver's whole world that is not the host's read-only toolchain: repo and /tmp.
      const found = await sh(
        sb,
        'grep -rl "test_weaken\\|bug_inject\\|textkit-wrap-width" /repo /tmp 2>/dev/null',
      );
      assert.equal(found.trim(), '', `artifact traces: ${found}`);
      // /ssr holds nothing of the artifact: at most the read-only package cache (~/.m2).
      assert.match(await sh(sb, 'ls /ssr 2>&1'), /^(.*No such file.*|cache)\n?$/);
    } finally {
      await sb.dispose();
    }
  });

  test('the specification is the reversed weakening', () => {
    assert.match(start.specification, /^\+ {4}assert\.deepEqual\(wrap\('aaaa bbbbb cc', 10\)/m);
    assert.match(start.specification, /^- {4}assert\.equal\(wrap\('aaaa bbbbb cc', 10\)\.join/m);
    assert.equal(reverseDiff(start.specification), artifact.weakenDiff);
  });
});

describe('grading', () => {
  test('a real fix is solved (+1)', async () => {
    const sb = host.create(start.snapshot);
    try {
      await sb.exec("sed -i 's/word.length < width/word.length <= width/' src/wrap.js");
      const patch = await solverPatch(sb);
      assert.match(patch, /^\+.*<= width/m);
      assert.doesNotMatch(patch, /\.git\//);
      const ev = await evaluateSolution(host, original, artifact, baseline, patch);
      assert.equal(ev.solved, true, ev.reason);
      assert.equal(ev.reward, 1);
    } finally {
      await sb.dispose();
    }
  });

  test('editing the oracle tests to pass gains nothing (-1, edits discarded)', async () => {
    const sb = host.create(start.snapshot);
    try {
      // "Fix" by deleting the assertions that catch the bug, and commit it to git as well.
      await sb.exec(
        "sed -i '/wrapBlock(.ab cd ef., 5)/d; /aaaa bbbbb cc/d' test/wrap.test.js && git add -A && git -c user.name=x -c user.email=x@x commit -qm fix",
      );
      const patch = await solverPatch(sb);
      const ev = await evaluateSolution(host, original, artifact, baseline, patch);
      assert.equal(ev.solved, false);
      assert.equal(ev.reward, -1);
      assert.deepEqual(ev.discarded, ['test/wrap.test.js']);
      assert.ok(ev.failing.length >= 1, ev.reason);
    } finally {
      await sb.dispose();
    }
  });

  test('no change, a malformed patch, and a patch that does not apply are unsolved', async () => {
    const none = await evaluateSolution(host, original, artifact, baseline, '');
    assert.equal(none.solved, false);
    assert.ok(none.failing.length >= 1);
    const garbage = await evaluateSolution(
      host,
      original,
      artifact,
      baseline,
      'not a diff at all\n',
    );
    assert.equal(garbage.solved, false);
    assert.match(garbage.reason, /no file changes/);
    const stale = await evaluateSolution(
      host,
      original,
      artifact,
      baseline,
      'diff --git a/src/wrap.js b/src/wrap.js\n--- a/src/wrap.js\n+++ b/src/wrap.js\n@@ -1,1 +1,1 @@\n-nothing like this\n+x\n',
    );
    assert.equal(stale.solved, false);
    assert.match(stale.reason, /does not apply/);
  });

  test('a patch escaping the repository is refused', async () => {
    const ev = await evaluateSolution(
      host,
      original,
      artifact,
      baseline,
      'diff --git a/../x b/../x\n--- a/../x\n+++ b/../x\n@@ -1,1 +1,1 @@\n-a\n+b\n',
    );
    assert.equal(ev.solved, false);
    assert.match(ev.reason, /escapes the repository/);
  });
});

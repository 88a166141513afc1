/**
 * Runs after the baseline get a time limit scaled to the clean suite (3x + 10 s): a bug that
 * makes the suite hang is rejected in seconds, not after the 300 s default.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { formatFileDiff } from '../src/sandbox/tree-diff.js';
import { validateArtifact } from '../src/validate/validator.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPO = join(ROOT, 'examples/repos/textkit');
const host = SandboxHost.open();
after(() => host.close());

test('a bug that hangs the suite fails check 5 at the scaled limit, not the default', async () => {
  const example = readArtifact(join(ROOT, 'examples/artifacts/textkit-wrap-width'));
  const file = 'src/wrap.js';
  const before = readFileSync(join(REPO, file));
  const after = Buffer.from(
    before
      .toString()
      .replace(
        'const words = text.split(/\\s+/)',
        'for (;;) {}\n  const words = text.split(/\\s+/)',
      ),
  );
  assert.notEqual(after.toString(), before.toString(), 'the edit did not apply');
  const bugDiff = formatFileDiff(
    file,
    { mode: '100644', data: before },
    { mode: '100644', data: after },
  );
  const started = Date.now();
  const report = await validateArtifact(
    { ...example, bugDiff, metadata: { ...example.metadata, id: 'hangs' } },
    { host, snapshot: host.snapshotDir(REPO) },
  );
  const elapsed = Date.now() - started;
  assert.equal(report.failedCheck?.id, 5, JSON.stringify(report.failedCheck));
  assert.match(report.failedCheck!.message, /did not finish within \d+ s/);
  const limit = report.timings.runTimeoutMs!;
  assert.ok(limit >= 10_000 && limit < 60_000, `scaled limit ${limit} ms`);
  assert.equal(report.settings.scriptTimeoutMs, 300_000);
  // Generous: the hang was cut at the scaled limit, far below the 300 s default.
  assert.ok(elapsed < limit + 60_000, `took ${elapsed} ms`);
});

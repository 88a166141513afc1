/**
 * The shipped examples stay consistent: the replayed history ends exactly at the example
 * repository the validate example uses, and the shipped artifact is valid against it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { validateArtifact } from '../src/validate/validator.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/repos/textkit');

function files(dir: string, base = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name === '.git') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, files(p, base));
    else out[relative(base, p)] = readFileSync(p, 'utf8');
  }
  return out;
}

test('make-textkit-repo.sh replays five commits ending at examples/repos/textkit', () => {
  const dest = join(mkdtempSync(join(tmpdir(), 'ssr-example-')), 'textkit');
  execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), dest], { stdio: 'pipe' });
  const log = execFileSync('git', ['log', '--format=%s'], { cwd: dest, encoding: 'utf8' });
  assert.equal(log.trim().split('\n').length, 5);
  assert.deepEqual(files(dest), files(EXAMPLE));
  // It refuses to overwrite a non-empty folder.
  assert.throws(() =>
    execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), dest], { stdio: 'pipe' }),
  );
});

test('the shipped example artifact is valid', async () => {
  const host = SandboxHost.open();
  try {
    const report = await validateArtifact(
      readArtifact(join(ROOT, 'examples/artifacts/textkit-wrap-width')),
      { host, snapshot: host.snapshotDir(EXAMPLE) },
    );
    assert.equal(report.valid, true, report.failedCheck?.message);
  } finally {
    await host.close();
  }
});

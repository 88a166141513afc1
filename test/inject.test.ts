/**
 * `ssr inject` end to end on real repositories: the example repo with its git history,
 * minimist with seven real releases as history (tape), and an original pytest package with
 * history. Every strategy must yield valid artifacts, every kept artifact must pass the
 * validator on its own, and the repositories must be byte-for-byte unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { type InjectSummary, injectBugs } from '../src/inject/pipeline.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { BaselineCache } from '../src/validate/baseline.js';
import { validateArtifact } from '../src/validate/validator.js';
import { gypRepo, minimistHistoryRepo, pythonRepo, treeHash } from './helpers/fixtures.js';

const ROOT = resolve(import.meta.dirname, '..');
const temp = (name: string) => mkdtempSync(join(tmpdir(), `ssr-inject-${name}-`));

function textkitRepo(): string {
  const dir = join(temp('textkit'), 'textkit');
  execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), dir], { stdio: 'pipe' });
  return dir;
}

function artifactDirs(out: string): string[] {
  return readdirSync(out)
    .filter((n) => existsSync(join(out, n, 'metadata.json')))
    .sort();
}

/** Every kept artifact validates on its own: fresh host, fresh cache. */
async function assertEachValidates(repo: string, out: string, ids: string[]): Promise<void> {
  const host = SandboxHost.open();
  try {
    const snapshot = host.snapshotDir(repo);
    const cache = new BaselineCache();
    for (const id of ids) {
      const report = await validateArtifact(readArtifact(join(out, id)), { host, snapshot, cache });
      assert.equal(report.valid, true, `${id}: ${report.failedCheck?.message}`);
    }
  } finally {
    await host.close();
  }
}

function assertEveryStrategy(summary: InjectSummary): void {
  for (const s of ['removal', 'history', 'mutation'] as const) {
    assert.ok(
      summary.byStrategy[s].valid >= 1,
      `${s} produced no valid artifact: ${JSON.stringify(summary.byStrategy)} ${JSON.stringify(summary.failures)}`,
    );
  }
}

for (const [name, makeRepo] of [
  ['the example repository (node:test, 5 commits)', textkitRepo],
  ['minimist 1.2.0..1.2.6 (tape, 7 releases as commits)', minimistHistoryRepo],
  ['a pytest package with history', pythonRepo],
] as const) {
  describe(`ssr inject on ${name}`, () => {
    let repo: string;
    let hashBefore: string;
    let out: string;
    let summary: InjectSummary;

    before(async () => {
      repo = makeRepo();
      hashBefore = treeHash(repo);
      out = temp('out');
      summary = await injectBugs({ repo, out, count: 6, seed: 1 });
    });

    test('every strategy yields at least one valid artifact', () => {
      assertEveryStrategy(summary);
      assert.equal(summary.valid, summary.artifacts.length);
      assert.deepEqual(artifactDirs(out), [...summary.artifacts].sort());
    });

    test('each artifact has the five files, metadata and its validation report', () => {
      for (const id of summary.artifacts) {
        const a = readArtifact(join(out, id));
        assert.equal(a.metadata.id, id);
        assert.ok(['removal', 'history', 'mutation'].includes(a.metadata.strategy));
        const report = JSON.parse(readFileSync(join(out, id, 'validation.json'), 'utf8'));
        assert.equal(report.valid, true);
        for (const f of a.testFiles) assert.ok(!a.bugDiff.includes(`a/${f}\n`), `bug touches ${f}`);
      }
      const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as InjectSummary;
      assert.equal(s.valid, summary.valid);
    });

    test('every kept artifact passes the validator on its own', async () => {
      await assertEachValidates(repo, out, summary.artifacts);
    });

    test('the repository is byte-for-byte unchanged', () => {
      assert.equal(treeHash(repo), hashBefore);
    });
  });
}

// gyp (Python, bundled in node-gyp; unittest-style tests run by pytest): third-party Python
// code. Its only source change between releases is 376 lines, over the revert bound, so its
// history yields no candidate; removal and mutation must work on it.
describe('ssr inject on gyp from node-gyp 10.0.0..10.2.0 (third-party Python, pytest)', () => {
  let repo: string;
  let hashBefore: string;
  let out: string;
  let summary: InjectSummary;

  before(async () => {
    repo = gypRepo();
    hashBefore = treeHash(repo);
    out = temp('gyp');
    summary = await injectBugs({
      repo,
      out,
      count: 4,
      seed: 0,
      strategies: ['removal', 'mutation'],
    });
  });

  test('removal and mutation each yield a valid artifact', () => {
    assert.equal(summary.framework, 'pytest');
    assert.ok(summary.byStrategy.removal.valid >= 1, JSON.stringify(summary.byStrategy));
    assert.ok(summary.byStrategy.mutation.valid >= 1, JSON.stringify(summary.byStrategy));
  });

  test('every kept artifact passes the validator on its own, and gyp is unchanged', async () => {
    await assertEachValidates(repo, out, summary.artifacts);
    assert.equal(treeHash(repo), hashBefore);
  });
});

describe('determinism, resume and crashes (example repository)', () => {
  let repo: string;
  let reference: InjectSummary;
  const cli = (args: string[]) => ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args];

  before(async () => {
    repo = textkitRepo();
    reference = await injectBugs({ repo, out: temp('ref'), count: 4, seed: 3 });
    assert.equal(reference.valid, 4);
  });
  after(() => {});

  test('the same seed gives the same artifacts', async () => {
    const out = temp('again');
    const again = await injectBugs({ repo, out, count: 4, seed: 3, concurrency: 1 });
    assert.deepEqual(again.artifacts, reference.artifacts);
    const other = await injectBugs({ repo, out: temp('other'), count: 4, seed: 99 });
    assert.notDeepEqual(other.artifacts, reference.artifacts);
  });

  test('a rerun continues: nothing redone, nothing duplicated', async () => {
    const out = temp('resume');
    const first = await injectBugs({ repo, out, count: 2, seed: 3 });
    assert.deepEqual(first.artifacts, reference.artifacts.slice(0, 2));
    const second = await injectBugs({ repo, out, count: 4, seed: 3 });
    assert.ok(second.resumed >= 2, `resumed ${second.resumed}`);
    assert.deepEqual(second.artifacts, reference.artifacts);
    const keys = readFileSync(join(out, '.ssr', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).key);
    assert.equal(new Set(keys).size, keys.length, 'a candidate was journaled twice');
  });

  test('kill -9 mid-run, rerun the same command: the run completes with the same artifacts', async () => {
    const out = temp('crash');
    const args = cli(['inject', repo, '--out', out, '--count', '4', '--seed', '3']);
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore', detached: true });
    // Wait for the first finished artifact, then kill the whole CLI without warning.
    const deadline = Date.now() + 120_000;
    while (artifactDirs(out).length < 1 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(artifactDirs(out).length >= 1, 'no artifact before the kill');
    const rerun = execFileSync(process.execPath, [...args, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const s = JSON.parse(rerun) as InjectSummary;
    assert.deepEqual(s.artifacts, reference.artifacts);
    assert.deepEqual(artifactDirs(out), [...reference.artifacts].sort());
    assert.ok(
      !readdirSync(out).some((n) => n.includes('.tmp-')),
      'a half-written artifact was left',
    );
  });

  test('a repository without tests is a clear usage error (exit 2, what was tried)', () => {
    const empty = temp('empty');
    execFileSync('bash', ['-c', 'echo "# nothing" > README.md && git init -q'], { cwd: empty });
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, cli(['inject', empty, '--out', temp('o')]), {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (err) {
      const e = err as { status: number; stderr: string };
      status = e.status;
      stderr = e.stderr;
    }
    assert.equal(status, 2);
    assert.match(stderr, /^ssr: no test suite found/m);
    assert.doesNotMatch(stderr, /\n\s+at /, 'stack trace printed');
  });
});

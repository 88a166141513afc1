/**
 * `ssr inject` as a user runs it: bad --out values are one-line usage errors, Ctrl-C mid-run
 * keeps finished artifacts (valid, complete) and exits 130, a rerun completes the count
 * without duplicating anything, and progress on a non-terminal is plain lines.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { Progress } from '../src/cli/progress.js';
import { type InjectSummary, injectBugs } from '../src/inject/pipeline.js';
import { detectCapabilities } from '../src/sandbox/capabilities.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { BaselineCache } from '../src/validate/baseline.js';
import { validateArtifact } from '../src/validate/validator.js';

const ROOT = resolve(import.meta.dirname, '..');
const temps: string[] = [];
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `ssr-inject-cli-${name}-`));
  temps.push(d);
  return d;
};
const cli = (args: string[]) => ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args];
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for terminal escapes
const ANSI = /\x1b\[|\r/;

let repo: string;

before(() => {
  repo = join(temp('textkit'), 'textkit');
  execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), repo], { stdio: 'pipe' });
});

after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function artifactDirs(out: string): string[] {
  return readdirSync(out)
    .filter((n) => existsSync(join(out, n, 'metadata.json')))
    .sort();
}

function journalKeys(out: string): string[] {
  return readFileSync(join(out, '.ssr', 'journal.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).key as string);
}

/** Runs the CLI to the end; its stderr is a pipe (not a terminal). */
function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cli(args), {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
    timeout: 180_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Interrupted {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
  /** Milliseconds from the last SIGINT to the exit. */
  exitMs: number;
}

/**
 * Runs the CLI (stderr a pipe) and presses Ctrl-C `presses` times (300 ms apart) as soon as
 * its first artifact is reported.
 */
async function interruptedRun(cliArgs: string[], presses: number): Promise<Interrupted> {
  const child = spawn(process.execPath, cli(cliArgs), {
    cwd: ROOT,
    env: { ...process.env, CI: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let pressed = false;
  let lastPress = 0;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (pressed || !/valid -> /.test(stderr)) return;
    pressed = true;
    void (async () => {
      for (let i = 0; i < presses; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 300));
        lastPress = Date.now();
        child.kill('SIGINT');
      }
    })();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(killer);
  assert.ok(pressed, `no artifact was reported:\n${stderr}`);
  return { code, stdout, stderr, pid: child.pid!, exitMs: Date.now() - lastPress };
}

/** Sandbox state directories and cgroups of a process that has exited. */
function leftBy(pid: number): string[] {
  const left: string[] = [];
  const stateRoot = join(tmpdir(), 'ssr-sandboxes');
  if (existsSync(stateRoot)) {
    left.push(...readdirSync(stateRoot).filter((n) => n.startsWith(`h-${pid}-`)));
  }
  const { pidsParent, memoryParent } = detectCapabilities().cgroup;
  for (const parent of [pidsParent, memoryParent]) {
    if (!parent) continue;
    // A cgroup can only be removed once no process is in it: none left means none running.
    left.push(...readdirSync(parent).filter((n) => n.startsWith(`ssr-${pid}-`)));
  }
  return left;
}

describe('ssr inject --out: bad values are usage errors', () => {
  let base: string;
  before(() => {
    base = temp('out');
    writeFileSync(join(base, 'a-file'), 'not a folder\n');
    mkdirSync(join(base, 'has-ssr-file'));
    writeFileSync(join(base, 'has-ssr-file', '.ssr'), '');
    symlinkSync(join(repo, 'src'), join(base, 'link-into-repo'));
  });

  const cases: [string, () => string, RegExp][] = [
    [
      'an existing regular file',
      () => join(base, 'a-file'),
      /^ssr: --out \S+a-file exists and is not a directory/,
    ],
    [
      'a path below a regular file',
      () => join(base, 'a-file', 'sub'),
      /^ssr: --out \S+a-file\/sub: \S+a-file is not a directory/,
    ],
    ['inside the repository', () => join(repo, 'bugs'), /^ssr: --out \S+ is inside the repository/],
    [
      'inside the repository through a symlink',
      () => join(base, 'link-into-repo', 'bugs'),
      /^ssr: --out \S+ is inside the repository/,
    ],
    ['empty', () => '', /^ssr: --out is empty/],
    [
      'a folder holding a file named .ssr',
      () => join(base, 'has-ssr-file'),
      /^ssr: cannot create --out \S+ \(at \S+\.ssr\): file already exists/,
    ],
    [
      'a place no folder can be made (/proc)',
      () => `/proc/ssr-no-such-${process.pid}/bugs`,
      /^ssr: cannot create --out \/proc\/\S+ \(at \S+\): no such file or directory/,
    ],
  ];
  for (const [name, out, message] of cases) {
    test(name, () => {
      const r = run(['inject', repo, '--out', out(), '--count', '1']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `not one line:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }

  test('nothing was written anywhere', () => {
    assert.equal(existsSync(join(repo, 'bugs')), false);
    assert.equal(existsSync(join(repo, 'src', 'bugs')), false);
    assert.deepEqual(readdirSync(join(base, 'has-ssr-file')), ['.ssr']);
  });
});

describe('ssr inject: Ctrl-C mid-run, then a rerun', () => {
  const args = (out: string) => [
    'inject',
    repo,
    '--out',
    out,
    '--count',
    '4',
    '--seed',
    '3',
    '--concurrency',
    '1',
  ];
  let out: string;
  let reference: InjectSummary;
  let interrupted: Interrupted;

  before(async () => {
    reference = await injectBugs({ repo, out: temp('ref'), count: 4, seed: 3, concurrency: 1 });
    assert.equal(reference.valid, 4);
    out = temp('sigint');
    interrupted = await interruptedRun(args(out), 1);
  });

  test('exits 130 with the summary, saying it stopped early', () => {
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stderr, /ssr: SIGINT: finishing the current step/);
    assert.match(interrupted.stdout, /stopped early: rerun the same command to continue/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as InjectSummary;
    assert.equal(summary.stoppedEarly, true);
    assert.ok(summary.valid >= 1 && summary.valid < 4, `valid ${summary.valid}`);
    // The candidate already running at Ctrl-C was finished and kept, not thrown away.
    assert.ok(summary.tried >= 2, `tried ${summary.tried}: the running candidate was dropped`);
    assert.equal(journalKeys(out).length, summary.tried);
  });

  test('finished artifacts are complete and valid; nothing half-written is left', async () => {
    const ids = artifactDirs(out);
    assert.ok(ids.length >= 1 && ids.length < 4, `artifacts: ${ids.join(' ')}`);
    // The same ones an uninterrupted run makes first, in order.
    assert.deepEqual(ids, [...reference.artifacts.slice(0, ids.length)].sort());
    assert.ok(!readdirSync(out).some((n) => n.includes('.tmp-')), 'a half-written artifact');
    assert.equal(new Set(journalKeys(out)).size, journalKeys(out).length);
    const host = SandboxHost.open();
    try {
      const snapshot = host.snapshotDir(repo);
      const cache = new BaselineCache();
      for (const id of ids) {
        const saved = JSON.parse(readFileSync(join(out, id, 'validation.json'), 'utf8'));
        assert.equal(saved.valid, true, id);
        const report = await validateArtifact(readArtifact(join(out, id)), {
          host,
          snapshot,
          cache,
        });
        assert.equal(report.valid, true, `${id}: ${report.failedCheck?.message}`);
      }
    } finally {
      await host.close();
    }
  });

  test('the interrupted process left no sandbox state, cgroup or process', () => {
    assert.deepEqual(leftBy(interrupted.pid), []);
  });

  test('progress on a non-terminal is plain lines, one per candidate', () => {
    const lines = interrupted.stderr.split('\n');
    assert.doesNotMatch(interrupted.stderr, ANSI, 'terminal escapes in a pipe');
    const perCandidate = lines.filter((l) => /^\[\d+\/\d+\] /.test(l));
    assert.ok(perCandidate.length >= 1, interrupted.stderr);
    for (const l of perCandidate) {
      assert.match(
        l,
        /^\[\d+\/\d+\] (removal|history|mutation) \S+ \S+:\d+: (valid -> |rejected|error)/,
      );
    }
  });

  test('a rerun of the same command completes the count without duplicating', () => {
    const before = artifactDirs(out);
    const triedBefore = journalKeys(out).length;
    const r = run([...args(out), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, ANSI);
    const s = JSON.parse(r.stdout) as InjectSummary;
    assert.equal(s.valid, 4);
    assert.equal(s.stoppedEarly, false);
    assert.equal(s.resumed, triedBefore, 'the interrupted run’s candidates were redone');
    assert.deepEqual(s.artifacts, reference.artifacts);
    assert.deepEqual(artifactDirs(out), [...reference.artifacts].sort());
    for (const id of before) assert.ok(s.artifacts.includes(id));
    const keys = journalKeys(out);
    assert.equal(new Set(keys).size, keys.length, 'a candidate was journaled twice');
  });

  test('a second Ctrl-C quits at once, cleans up, and a rerun still completes', async () => {
    const out2 = temp('sigint2');
    const r = await interruptedRun(args(out2), 2);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /ssr: interrupted \(SIGINT\); cleaning up sandboxes/);
    assert.ok(r.exitMs < 5000, `exited ${r.exitMs} ms after the second Ctrl-C`);
    assert.deepEqual(leftBy(r.pid), []);
    const ids = artifactDirs(out2);
    assert.ok(!readdirSync(out2).some((n) => n.includes('.tmp-')), 'a half-written artifact');
    // An artifact written but not yet journaled at the exit is redone into the same folder.
    const rerun = run([...args(out2), '--json']);
    assert.equal(rerun.status, 0, rerun.stderr);
    const s = JSON.parse(rerun.stdout) as InjectSummary;
    assert.deepEqual(s.artifacts, reference.artifacts);
    for (const id of ids) assert.ok(s.artifacts.includes(id), `${id} was lost`);
    assert.deepEqual(artifactDirs(out2), [...reference.artifacts].sort());
    const keys = journalKeys(out2);
    assert.equal(new Set(keys).size, keys.length, 'a candidate was journaled twice');
  });
});

describe('Progress', () => {
  /** A stand-in for stderr that records what is written. */
  function sink(isTTY: boolean) {
    const written: string[] = [];
    const stream = {
      isTTY,
      write: (s: string) => {
        written.push(s);
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    return { stream, text: () => written.join('') };
  }

  test('not a terminal: plain lines, no bar, no escapes', () => {
    const s = sink(false);
    const p = new Progress(s.stream);
    assert.equal(p.tty, false);
    p.line('one');
    p.bar(1, 3, 'candidates');
    p.line('two');
    p.done();
    assert.equal(s.text(), 'one\ntwo\n');
  });

  test('a terminal with CI set is treated as a log', () => {
    const saved = process.env.CI;
    process.env.CI = 'true';
    try {
      assert.equal(new Progress(sink(true).stream).tty, false);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  test('a terminal: the bar is redrawn in place and cleared at the end', () => {
    const s = sink(true);
    const p = new Progress(s.stream, true);
    p.bar(1, 4, 'candidates');
    p.line('kept');
    p.done();
    const t = s.text();
    assert.ok(t.includes('\x1b[2K\r[######------------------] 1/4 candidates'), JSON.stringify(t));
    assert.match(t, /kept\n/);
    assert.ok(t.endsWith('\x1b[2K\r'), JSON.stringify(t));
  });
});

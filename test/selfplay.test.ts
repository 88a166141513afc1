/**
 * `ssr selfplay` end to end: the CLI against the scripted OpenAI server, on the real textkit
 * repository, with a scripted policy whose solver succeeds on some bugs, fails on others and
 * half-succeeds on one; then SIGKILL mid-run and resume.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { exportRun } from '../src/export/index.js';
import { injectBugs } from '../src/inject/pipeline.js';
import { readSelfPlayFile, SelfPlayFileSchema, settingsFrom } from '../src/selfplay/config.js';
import { RunStore } from '../src/store/run-store.js';
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';
import type { KnownBug } from './helpers/selfplay-policy.js';
import { selfPlayPolicy } from './helpers/selfplay-policy.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const REPO = join(ROOT, 'examples/repos/textkit');
const CLI = [join(ROOT, 'src/cli/main.ts')];
let bugs: KnownBug[] = [];

before(async () => {
  // Real bugs to script the injector with: procedural mutations of textkit, three per file.
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-bugs-'));
  const summary = await injectBugs({ repo: REPO, out, strategies: ['mutation'], count: 9 });
  bugs = summary.artifacts.map((id) => {
    const diff = readFileSync(join(out, id, 'bug_inject.diff'), 'utf8');
    return { dir: join(out, id), file: /^\+\+\+ b\/(\S+)/m.exec(diff)![1]! };
  });
  for (const f of ['src/case.js', 'src/slug.js', 'src/wrap.js'])
    assert.ok(
      bugs.some((b) => b.file === f),
      `a known bug in ${f}`,
    );
});

function args(server: string, out: string, extra: string[] = []) {
  return [
    '--import',
    'tsx',
    ...CLI,
    'selfplay',
    '--repo',
    REPO,
    '--model',
    server,
    '--out',
    out,
    '--steps',
    '2',
    '--injections-per-step',
    '4',
    '--solver-attempts',
    '2',
    '--concurrency',
    '2',
    ...extra,
  ];
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('a self-play run: rewards follow the formulas, higher-order bugs appear and are valid', async () => {
  const policy = selfPlayPolicy(bugs);
  const server = await startScriptedServer(Array.from({ length: 4000 }, () => policy));
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-run-'));
  try {
    const { stdout, stderr } = await run(process.execPath, args(server.baseURL, out, ['--json']), {
      cwd: ROOT,
    });
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2, stderr);
    assert.match(stderr, /step 1\/2 {2}valid 3\/4 \(75%\)/);

    const store = RunStore.open(out);
    const episodes = store.episodesWithRewards();
    const artifacts = store.artifacts();
    const rates = store.solveRates();
    const fileOf = (id: string) => {
      const diff = readFileSync(join(out, 'artifacts', id, 'bug_inject.diff'), 'utf8');
      return /^\+\+\+ b\/(\S+)/m.exec(diff)![1];
    };

    // Step 0: four injections; the one whose focus file has no known bug wrote nothing.
    const inj0 = episodes.filter((e) => e.role === 'injector' && e.step === 0);
    assert.equal(inj0.length, 4);
    const failedInj = inj0.filter((e) => e.outcome !== 'valid');
    assert.equal(failedInj.length, 1);
    assert.equal(failedInj[0]!.outcome, 'no-artifact');
    assert.equal(failedInj[0]!.reward, -1);

    // Solve rates 1, 0 and 1/2, and the injector rewards SSR-SPEC 5 gives for them.
    const first = rates.filter((r) => r.step === 0 && r.injectorEpisodeId);
    assert.equal(first.length, 3);
    for (const r of first) {
      const file = fileOf(r.artifactId);
      const expected = { 'src/case.js': 1, 'src/slug.js': 0, 'src/wrap.js': 0.5 }[file!];
      assert.equal(r.solveRate, expected, `${file}: solve rate`);
      const reward = expected === 0.5 ? 1 - 1.8 * 0.5 : -0.8;
      assert.ok(close(r.injectorReward!, reward), `${file}: injector reward ${r.injectorReward}`);
      const ep = episodes.find((e) => e.id === r.injectorEpisodeId)!;
      assert.ok(close(ep.reward!, reward), 'the episode carries its final reward');
    }
    // Solver rewards: +1 solved, -1 otherwise; groups of n = 2 per artifact and step.
    for (const e of episodes.filter((x) => x.role === 'solver')) {
      assert.equal(e.reward, e.outcome === 'solved' ? 1 : -1);
      assert.equal(episodes.filter((x) => x.groupId === e.groupId).length, 2);
      assert.ok(existsSync(join(out, e.trajectory!)));
    }

    // Higher-order bugs from the failed attempts: valid, order 2, scheduled in step 1.
    const ho = artifacts.filter((a) => a.source === 'higher-order' && a.valid);
    assert.ok(ho.length >= 2, `higher-order bugs: ${JSON.stringify(artifacts)}`);
    for (const a of ho) {
      assert.equal(a.order, 2);
      assert.ok(a.parent && artifacts.some((p) => p.id === a.parent));
      const v = JSON.parse(readFileSync(join(out, 'artifacts', a.id, 'validation.json'), 'utf8'));
      assert.equal(v.valid, true);
      assert.equal(v.checks.find((c: { key: string }) => c.key === 'inverse').status, 'skipped');
      const meta = JSON.parse(readFileSync(join(out, 'artifacts', a.id, 'metadata.json'), 'utf8'));
      assert.equal(meta.parent, a.parent);
    }
    const hoAttempted = rates.filter((r) => r.step === 1 && ho.some((a) => a.id === r.artifactId));
    assert.ok(hoAttempted.length >= 1, 'higher-order bugs are solved in the next step');
    assert.equal(lines[1].higherOrder.attempted, hoAttempted.length);
    assert.equal(lines[0].validArtifacts, 3);
    assert.equal(
      lines[0].solveRateHistogram.reduce((a: number, b: number) => a + b, 0),
      3,
    );

    // The export round-trips: one row per episode, the same rewards, solver groups of n.
    const jsonl = await exportRun(out, { format: 'jsonl' });
    const rows = readFileSync(jsonl.out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, episodes.length);
    for (const row of rows) {
      const e = episodes.find((x) => x.id === row.episode_id)!;
      assert.equal(row.reward, e.reward);
      assert.equal(row.group_id, e.groupId);
      assert.equal(row.role, e.role);
      assert.ok(row.messages.length >= 2);
      if (row.role === 'solver') assert.equal(row.group_size, 2);
    }
    const parquet = await exportRun(out, { format: 'parquet' });
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    const read = await db.runAndReadAll(
      `select role, count(*)::int, sum(reward)::double from read_parquet('${parquet.out}') group by role order by role`,
    );
    const sum = (role: string) =>
      episodes.filter((e) => e.role === role).reduce((n, e) => n + (e.reward ?? 0), 0);
    const got = read.getRows() as [string, number, number][];
    assert.deepEqual(
      got.map(([role, n]) => [role, n]),
      [
        ['injector', episodes.filter((e) => e.role === 'injector').length],
        ['solver', episodes.filter((e) => e.role === 'solver').length],
      ],
    );
    for (const [role, , total] of got) assert.ok(close(total, sum(role)), `${role} rewards`);

    // Rerunning a finished run does nothing and changes nothing.
    const before = readFileSync(join(out, 'journal.jsonl'), 'utf8');
    await run(process.execPath, args(server.baseURL, out), { cwd: ROOT });
    assert.equal(readFileSync(join(out, 'journal.jsonl'), 'utf8'), before);
  } finally {
    await server.close();
  }
});

test('SIGKILL mid-step, rerun: nothing lost, nothing duplicated', async () => {
  const policy = selfPlayPolicy(bugs);
  const server = await startScriptedServer(Array.from({ length: 4000 }, () => policy));
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-kill-'));
  const journal = join(out, 'journal.jsonl');
  try {
    const child = spawn(process.execPath, args(server.baseURL, out), {
      cwd: ROOT,
      stdio: 'ignore',
    });
    // Kill once a few episodes of step 0 are recorded, while others are in flight.
    await new Promise<void>((done, fail) => {
      const timer = setInterval(() => {
        const n = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').length - 1 : 0;
        if (n >= 4) {
          clearInterval(timer);
          child.kill('SIGKILL');
          done();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        fail(new Error('the run ended before it could be killed'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    const beforeKill = readFileSync(journal, 'utf8');
    assert.equal(RunStore.open(out).steps().length, 0, 'killed during step 0');

    await run(process.execPath, args(server.baseURL, out), { cwd: ROOT });
    const after = readFileSync(journal, 'utf8');
    const complete = beforeKill.slice(0, beforeKill.lastIndexOf('\n') + 1);
    assert.ok(after.startsWith(complete), 'records written before the kill are kept as they were');

    const store = RunStore.open(out);
    const ids = store.episodes().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no episode recorded twice');
    const artifactIds = store.artifacts().map((a) => a.id);
    assert.equal(new Set(artifactIds).size, artifactIds.length, 'no artifact recorded twice');
    assert.equal(store.steps().length, 2);
    for (const step of [0, 1]) {
      assert.equal(
        store.episodes().filter((e) => e.step === step && e.role === 'injector').length,
        4,
      );
    }
    // Every artifact attempted in a step has exactly n attempts and one solve rate there.
    for (const r of store.solveRates()) {
      const group = store.episodes().filter((e) => e.groupId === `s${r.step}-${r.artifactId}`);
      assert.equal(group.length, 2);
      assert.equal(
        store.solveRates().filter((x) => x.artifactId === r.artifactId && x.step === r.step).length,
        1,
      );
    }
    for (const e of store.episodes()) {
      if (e.trajectory) assert.ok(existsSync(join(out, e.trajectory)), e.trajectory);
    }
  } finally {
    await server.close();
  }
});

test('selfplay usage errors are one clear line', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-bad-'));
  const bad = join(out, 'bad.yaml');
  writeFileSync(bad, 'steps: many\nstepz: 3\n');
  const cases: [string[], RegExp][] = [
    [['--model', 'http://127.0.0.1:9/v1', '--out', out], /name at least one --repo/],
    [
      ['--repo', '/nonexistent', '--model', 'http://127.0.0.1:9/v1', '--out', out],
      /is not a directory/,
    ],
    [['--config', bad], /steps: .*number[\s\S]*stepz|stepz[\s\S]*steps/],
    [['--repo', REPO, '--model', 'http://127.0.0.1:9/v1'], /--out/],
  ];
  for (const [extra, message] of cases) {
    const err = await run(process.execPath, ['--import', 'tsx', ...CLI, 'selfplay', ...extra], {
      cwd: ROOT,
    }).then(
      () => assert.fail('should fail'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr, message);
    assert.doesNotMatch(err.stderr, /at .*\.ts:\d+/);
  }
});

async function selfplay(argv: string[]) {
  return run(process.execPath, argv, { cwd: ROOT }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}
const SMALL = ['--steps', '1', '--injections-per-step', '2', '--no-higher-order'];
const failingStep = (): ScriptStep => ({ fault: 'server-error', status: 500 });

test('--model-name the server does not serve: usage error up front, nothing written', async () => {
  const server = await startScriptedServer([], { models: ['policy-v1', 'policy-v2'] });
  const out = join(mkdtempSync(join(tmpdir(), 'ssr-sp-name-')), 'run');
  try {
    const r = await selfplay(args(server.baseURL, out, ['--model-name', 'nope']));
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^ssr: --model-name nope is not served by .*; it serves: policy-v1, policy-v2\n$/,
    );
    assert.ok(!existsSync(out), 'no run directory');
  } finally {
    await server.close();
  }
});

test('a failing model: episodes recorded as errors, run stopped after 3 in a row (exit 4), rerun redoes them', async () => {
  const broken = await startScriptedServer(Array.from({ length: 400 }, failingStep));
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-fail-'));
  try {
    const r = await selfplay(args(broken.baseURL, out, SMALL));
    assert.equal(r.code, 4, r.stderr);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('ssr:'));
    assert.equal(errorLines.length, 1, r.stderr);
    assert.match(
      errorLines[0]!,
      /^ssr: \d+ episodes in a row failed on model errors, the last: .*500.*; stopped/,
    );
    const store = RunStore.open(out);
    const episodes = store.episodes();
    assert.ok(episodes.length >= 2);
    for (const e of episodes) {
      assert.deepEqual([e.outcome, e.reward, e.endReason], ['error', null, 'model-error']);
    }
    assert.equal(store.steps().length, 0, 'the step is not finished');
    assert.equal(store.artifacts().length, 0);
    const exported = await exportRun(out, { format: 'jsonl', out: join(out, 'x.jsonl') });
    assert.deepEqual([exported.rows, exported.errors], [0, 2], 'errors are never exported');
  } finally {
    await broken.close();
  }

  // The server fixed: the failed episodes are redone, and the run finishes.
  const policy = selfPlayPolicy(bugs);
  const good = await startScriptedServer(Array.from({ length: 4000 }, () => policy));
  try {
    const r = await selfplay(args(good.baseURL, out, SMALL));
    assert.equal(r.code, 0, r.stderr);
    const store = RunStore.open(out);
    assert.equal(store.steps().length, 1);
    const injectors = store.episodes().filter((e) => e.role === 'injector');
    assert.equal(injectors.length, 2);
    assert.ok(injectors.every((e) => e.outcome !== 'error' && e.endReason !== 'model-error'));
    const rows = readFileSync((await exportRun(out, { format: 'jsonl' })).out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(rows.length >= 2);
    assert.ok(rows.every((row) => row.outcome !== 'error' && row.end_reason !== 'model-error'));
  } finally {
    await good.close();
  }
});

test('an episode that fails on a model error mid-step is redone within the step', async () => {
  const policy = selfPlayPolicy(bugs);
  let n = 0;
  // Requests 8-11 fail: one model call fails for good (the client tries 4 times), then the
  // server is fine again.
  const flaky = (body: Record<string, unknown>): ScriptStep => {
    n++;
    return n >= 8 && n <= 11 ? failingStep() : policy(body);
  };
  const server = await startScriptedServer(Array.from({ length: 4000 }, () => flaky));
  const out = mkdtempSync(join(tmpdir(), 'ssr-sp-flaky-'));
  try {
    const r = await selfplay(args(server.baseURL, out, [...SMALL, '--concurrency', '1']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /step 1: 1 episode\(s\) failed on model or infrastructure errors; redoing them/,
    );
    const store = RunStore.open(out);
    const raw = store.all().filter((x) => x.kind === 'episode');
    const failed = raw.filter((e) => e.kind === 'episode' && e.outcome === 'error');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.kind === 'episode' && failed[0]!.reward, null);
    const redone = store.episodes().find((e) => e.id === (failed[0] as { id: string }).id)!;
    assert.notEqual(redone.outcome, 'error', 'the later record supersedes the failure');
    assert.equal(store.steps().length, 1);
    for (const rate of store.solveRates()) assert.equal(rate.attempts, 2);
    assert.ok(store.episodes().every((e) => e.outcome !== 'error'));
  } finally {
    await server.close();
  }
});

test('config: a YAML syntax error is one line with file:line:col; the help lists the real keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-sp-yaml-'));
  const bad = join(dir, 'broken.yaml');
  writeFileSync(bad, 'steps: 2\nrepos: [a, b\nalpha: 0.5\n');
  const r = await selfplay(['--import', 'tsx', ...CLI, 'selfplay', '--config', bad]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^ssr: --config .*broken\.yaml:\d+:\d+: not valid YAML: [^\n]+\n$/);

  const good = join(dir, 'budgets.yaml');
  writeFileSync(
    good,
    'repos: [r]\nmax_tokens: 5000\nwall_time: 30\nmax_tokens_per_turn: 512\nmax_consecutive_errors: 5\n',
  );
  const file = readSelfPlayFile(good);
  assert.deepEqual(settingsFrom(file, {}).budget, {
    maxTokens: 5000,
    maxTokensPerTurn: 512,
    wallTimeMs: 30_000,
  });
  assert.equal(file.max_consecutive_errors, 5);

  const help = (await selfplay(['--import', 'tsx', ...CLI, 'selfplay', '--help'])).stdout;
  assert.doesNotMatch(help, /the flags in snake_case\)/);
  const keys = Object.keys(SelfPlayFileSchema.shape);
  keys.push('enabled', 'max_order', 'per_artifact', 'per_step');
  for (const key of keys) assert.match(help, new RegExp(`\\b${key}\\b`), `help names ${key}`);
  assert.match(help, /repos: .*--repo/);
  assert.match(help, /strategies: .*--strategy/);
  assert.match(help, /--no-higher-order is enabled: false/);
});

test('config: a repos: entry carries how its tests run; the --test-* flags name one repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-sp-tests-'));
  const yaml = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return readSelfPlayFile(join(dir, name));
  };
  const entries =
    'repos:\n  - a\n  - dir: b\n    test_command: make check\n    test_format: exit-code\n' +
    "    test_files: ['t/*.c']\n    max_flaky_share: 10\n";
  const file = yaml('entries.yaml', `${entries}procedural_per_step: 1\n`);
  const settings = settingsFrom(file, {});
  assert.deepEqual(settings.repos, [join(dir, 'a'), join(dir, 'b')]);
  assert.deepEqual(settings.tests, {
    [join(dir, 'b')]: {
      testCommand: 'make check',
      testFormat: 'exit-code',
      testFiles: ['t/*.c'],
      maxFlakyShare: 0.1,
    },
  });
  // Without procedural artifacts nothing would use them: said, not ignored.
  assert.throws(
    () => settingsFrom(yaml('no-procedural.yaml', entries), {}),
    /for procedural artifacts: set --procedural-per-step/,
  );
  assert.throws(
    () =>
      settingsFrom(file, {
        tests: { testCommand: 'make', testFormat: 'tap' },
      }),
    /name one repository's tests, and 2 are given; put them on each entry of repos:/,
  );
  const bad = yaml(
    'bad.yaml',
    'procedural_per_step: 1\nrepos:\n  - dir: c\n    test_command: make\n    test_format: text\n',
  );
  assert.throws(() => settingsFrom(bad, {}), /--config repos: .*\/c: unknown --test-format "text"/);
  assert.throws(() => yaml('typo.yaml', 'repos:\n  - dir: c\n    test_comand: make\n'), /repos\.0/);
  // A run started before entries existed reads the same settings as before: no `tests` key.
  assert.equal('tests' in settingsFrom(yaml('plain.yaml', 'repos: [a]\n'), {}), false);
});

test('--test-command reaches the procedural artifacts of a self-play run', async () => {
  const submit: ScriptStep = {
    toolCalls: [{ name: 'submit', arguments: JSON.stringify({}) }],
  };
  const server = await startScriptedServer(Array.from({ length: 20 }, () => submit));
  const out = join(mkdtempSync(join(tmpdir(), 'ssr-sp-testcmd-')), 'run');
  const command = 'node --test --test-reporter=tap test/';
  try {
    const r = await selfplay([
      '--import',
      'tsx',
      ...CLI,
      'selfplay',
      '--repo',
      REPO,
      '--model',
      server.baseURL,
      '--out',
      out,
      '--steps',
      '1',
      '--injections-per-step',
      '0',
      '--procedural-per-step',
      '1',
      '--solver-attempts',
      '1',
      '--no-higher-order',
      '--test-command',
      command,
      '--test-format',
      'tap',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const store = RunStore.open(out);
    const [artifact] = store.artifacts();
    assert.ok(artifact, 'a procedural artifact');
    const script = readFileSync(join(store.artifactDir(artifact.id), 'test_script.sh'), 'utf8');
    assert.ok(script.includes(command), script);
  } finally {
    await server.close();
  }
});

/**
 * `ssr dashboard` and `ssr report`: a small run written through the RunStore API (the example
 * artifact's real diffs, a validation report, solver episodes with trajectories), a big
 * synthetic run for paging, path refusal over raw HTTP, and a real headless Chromium clicking
 * through the page.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Trajectory, TurnRecord } from '../src/agent/loop.js';
import {
  artifactDetail,
  episodeDetail,
  listArtifacts,
  openSource,
  stepSeries,
  summary,
} from '../src/dashboard/data.js';
import { renderReport } from '../src/dashboard/report.js';
import { startDashboard } from '../src/dashboard/server.js';
import { RunStore, type StepMetrics } from '../src/store/run-store.js';
import type { ValidationReport } from '../src/validate/report.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/artifacts/textkit-wrap-width');
const SECRET = 'TOP-SECRET-OUTSIDE-THE-RUN';
const ART = 'textkit-wrap-width';
const run = promisify(execFile);

let tmp: string;
let runDir: string;
let hostileDir: string;
let bigDir: string;
let injectDir: string;
let outside: string;

function trajectory(turnCount: number, solved: boolean): Trajectory {
  const messages: Trajectory['messages'] = [
    { role: 'system', content: 'You are a careful engineer.' },
    { role: 'user', content: 'Make the failing wrap tests pass. <b>not bold</b>' },
  ];
  const turns: TurnRecord[] = [];
  for (let index = 0; index < turnCount; index++) {
    const last = index === turnCount - 1;
    const call = last
      ? { id: `c${index}`, name: 'submit', arguments: '{}' }
      : {
          id: `c${index}`,
          name: 'bash',
          arguments: JSON.stringify({ command: `cat src/wrap.js # ${index}` }),
        };
    const message = {
      role: 'assistant' as const,
      content: `thinking about step ${index}`,
      toolCalls: [call],
    };
    const output = last ? 'submitted' : `function wrap(text, width) { /* turn ${index} */ }`;
    messages.push(message, { role: 'tool', toolCallId: call.id, content: output });
    turns.push({
      index,
      response: {
        message,
        finishReason: 'tool_calls',
        usage: { promptTokens: 500 + index * 100, completionTokens: 40 },
        latencyMs: 800,
      },
      tools: [{ call, output, isError: false, durationMs: 12 }],
    });
  }
  return {
    messages,
    turns,
    endReason: 'submitted',
    endDetail: solved ? 'solved' : '',
    submitted: true,
    usage: { promptTokens: 1000 * turnCount, completionTokens: 40 * turnCount },
    durationMs: 4000,
    budget: { maxTurns: 128, wallTimeMs: 3_600_000, maxIdleTurns: 3 },
    tools: [],
  };
}

function validation(): ValidationReport {
  const baseline = {
    'test/wrap.test.js > wrap > breaks at width': 'passed',
    'test/wrap.test.js > wrap > fills a line to exactly the width': 'passed',
    'test/wrap.test.js > wrapBlock > pads every line to the width': 'passed',
  } as const;
  return {
    artifact: { id: ART, hash: 'abc' },
    repo: 'examples/repos/textkit',
    valid: true,
    failedCheck: null,
    checks: [
      'files',
      'parser validity',
      'script validity',
      'bug scope',
      'bug validity',
      'weakening validity',
      'inverse mutation testing',
    ].map((name, i) => ({
      id: i + 1,
      key: 'files',
      name,
      status: 'passed',
      message: `${name} ok`,
      durationMs: 10 * i,
    })),
    baseline: {
      passed: Object.keys(baseline),
      failed: [],
      flaky: [],
      runs: 2,
      cached: false,
      tests: { ...baseline },
    },
    bug: {
      failing: ['test/wrap.test.js > wrap > fills a line to exactly the width'],
      tests: {
        ...baseline,
        'test/wrap.test.js > wrap > fills a line to exactly the width': 'failed',
        'test/wrap.test.js > wrapBlock > pads every line to the width': 'failed',
      },
    },
    weakened: { restored: [], tests: { ...baseline } },
    inverse: [],
    warnings: [],
    testRuns: [],
    timings: { totalMs: 1234, criticalPathMs: 800 },
    settings: {
      minPassingTests: 1,
      minChangedFiles: 1,
      maxChangedLines: 100,
      minFailingTests: 1,
      baselineRuns: 2,
      concurrency: 2,
      scriptTimeoutMs: 1000,
      parserTimeoutMs: 1000,
    },
    sandbox: { isolation: 'bwrap' } as unknown as ValidationReport['sandbox'],
  };
}

function metrics(step: number): StepMetrics {
  const hist = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  hist[0] = step % 2;
  hist[Math.min(9, step + 2)] = 2;
  hist[9] = 1;
  return {
    step,
    injections: 4,
    validArtifacts: 1 + (step % 4),
    validRate: (1 + (step % 4)) / 4,
    artifactsSolved: 2,
    meanSolveRate: 0.3 + 0.08 * step,
    solveRateHistogram: hist,
    meanReward: { injector: -0.6 + 0.15 * step, solver: -0.4 + 0.1 * step },
    higherOrder: { made: 1, valid: 1, attempted: step > 2 ? 1 : 0 },
    failures: {},
    tokens: { prompt: 40000 + 5000 * step, completion: 3000 + 400 * step },
    episodes: { injector: 4, solver: 8 },
    timeMs: 20000 + 3000 * step,
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, step)).toISOString(),
  };
}

function episode(
  store: RunStore,
  e: {
    id: string;
    step: number;
    role: 'injector' | 'solver';
    outcome: string;
    reward: number | null;
    artifactId: string | null;
    attempt?: number;
    strategy?: string;
    traj?: Trajectory;
  },
): void {
  const path = e.traj
    ? store.writeFile(
        `trajectories/${e.id}.json`,
        JSON.stringify({
          episodeId: e.id,
          role: e.role,
          trajectory: e.traj,
          ...(e.role === 'solver'
            ? {
                patch: '--- a/src/wrap.js\n+++ b/src/wrap.js\n@@ -1 +1 @@\n-x\n+y\n',
                evaluation: { solved: e.reward === 1 },
              }
            : {}),
        }),
      )
    : null;
  store.append({
    kind: 'episode',
    id: e.id,
    step: e.step,
    role: e.role,
    repo: '/repos/textkit',
    artifactId: e.artifactId,
    groupId: e.role === 'solver' ? `s${e.step}-${e.artifactId}` : `s${e.step}-injector`,
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
    ...(e.strategy ? { strategy: e.strategy } : {}),
    outcome: e.outcome,
    reason: '',
    reward: e.reward,
    endReason: 'submitted',
    turns: e.traj?.turns.length ?? 0,
    usage: { promptTokens: 1000, completionTokens: 100 },
    durationMs: 10,
    trajectory: path,
    model: 'scripted',
    finishedAt: '2026-01-01T00:00:00.000Z',
  });
}

function buildRun(dir: string): void {
  const store = RunStore.openForWriting(dir, {
    repos: ['textkit'],
    model: 'http://127.0.0.1:8000/v1',
  });
  const artDir = join(dir, 'artifacts', ART);
  mkdirSync(artDir, { recursive: true });
  for (const f of [
    'bug_inject.diff',
    'test_weaken.diff',
    'test_files.txt',
    'metadata.json',
    'test_script.sh',
    'test_parser.py',
  ])
    copyFileSync(join(EXAMPLE, f), join(artDir, f));
  writeFileSync(join(artDir, 'validation.json'), JSON.stringify(validation()));
  episode(store, {
    id: 's1-inj1',
    step: 1,
    role: 'injector',
    outcome: 'valid',
    reward: null,
    artifactId: ART,
    strategy: 'removal',
    traj: trajectory(3, false),
  });
  store.append({
    kind: 'artifact',
    id: ART,
    step: 1,
    repo: '/repos/textkit',
    source: 'llm',
    parent: null,
    order: 1,
    valid: true,
    reason: '',
    episodeId: 's1-inj1',
  });
  episode(store, {
    id: 's1-inj2',
    step: 1,
    role: 'injector',
    outcome: 'invalid',
    reward: -1,
    artifactId: null,
    strategy: 'history',
    traj: trajectory(2, false),
  });
  store.append({
    kind: 'artifact',
    id: 'textkit-bad',
    step: 1,
    repo: '/repos/textkit',
    source: 'llm',
    parent: null,
    order: 1,
    valid: false,
    failedCheck: { id: 5, name: 'bug validity' },
    reason: 'no test failed',
    episodeId: 's1-inj2',
  });
  for (let i = 0; i < 4; i++) {
    const solved = i < 2;
    episode(store, {
      id: `s1-${ART}-a${i}`,
      step: 1,
      role: 'solver',
      outcome: solved ? 'solved' : 'unsolved',
      reward: solved ? 1 : -1,
      artifactId: ART,
      attempt: i,
      traj: trajectory(4 + i, solved),
    });
  }
  store.append({
    kind: 'solve-rate',
    artifactId: ART,
    step: 1,
    solved: 2,
    attempts: 4,
    solveRate: 0.5,
    injectorEpisodeId: 's1-inj1',
    injectorReward: 0.1,
  });
  store.append({
    kind: 'artifact',
    id: `${ART}-ho1`,
    step: 1,
    repo: '/repos/textkit',
    source: 'higher-order',
    parent: ART,
    order: 2,
    valid: true,
    reason: '',
    fromEpisode: `s1-${ART}-a3`,
  });
  // Later steps' artifacts (no files: only their records), so every plot has a history.
  for (let s = 2; s <= 6; s++) {
    for (let j = 0; j < 3; j++) {
      const id = `textkit-s${s}-${j}`;
      const source = j === 0 ? 'procedural' : s > 3 && j === 2 ? 'higher-order' : 'llm';
      store.append({
        kind: 'artifact',
        id,
        step: s,
        repo: '/repos/textkit',
        source,
        parent: null,
        order: source === 'higher-order' ? 2 : 1,
        valid: true,
        reason: '',
      });
      const solved = j === 0 ? (s % 3 === 0 ? 8 : 0) : j === 1 ? (s % 2 ? 6 : 2) : s % 2 ? 8 : 3;
      store.append({
        kind: 'solve-rate',
        artifactId: id,
        step: s,
        solved,
        attempts: 8,
        solveRate: solved / 8,
      });
    }
  }
  for (let s = 1; s <= 6; s++) store.append({ kind: 'step', step: s, metrics: metrics(s) });
  store.close();
}

function buildBig(dir: string): void {
  RunStore.openForWriting(dir, { big: true }).close();
  // Written as one file: 3000 fsynced appends would only slow the test down.
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const id = `big-${String(i).padStart(4, '0')}`;
    lines.push(
      JSON.stringify({
        kind: 'artifact',
        id,
        step: 1 + (i % 10),
        repo: `/r/repo${i % 3}`,
        source: i % 5 ? 'llm' : 'procedural',
        parent: null,
        order: 1,
        valid: i % 7 !== 0,
        reason: '',
      }),
    );
    if (i % 2 === 0)
      lines.push(
        JSON.stringify({
          kind: 'solve-rate',
          artifactId: id,
          step: 1,
          solved: i % 9,
          attempts: 8,
          solveRate: (i % 9) / 8,
        }),
      );
  }
  writeFileSync(join(dir, 'journal.jsonl'), `${lines.join('\n')}\n`);
}

function buildInject(dir: string): void {
  const a = join(dir, 'textkit-mutation-abc123');
  mkdirSync(a, { recursive: true });
  for (const f of ['bug_inject.diff', 'test_weaken.diff', 'test_files.txt'])
    copyFileSync(join(EXAMPLE, f), join(a, f));
  writeFileSync(
    join(a, 'metadata.json'),
    JSON.stringify({ id: 'x', repo: '/repos/textkit', strategy: 'mutation', order: 1 }),
  );
  writeFileSync(join(a, 'validation.json'), JSON.stringify(validation()));
  mkdirSync(join(dir, '.ssr'), { recursive: true });
  writeFileSync(join(dir, '.ssr', 'journal.jsonl'), '');
  mkdirSync(join(dir, '.ssr', 'episodes'), { recursive: true });
  writeFileSync(
    join(dir, '.ssr', 'episodes', '0.json'),
    JSON.stringify({ index: 0, strategy: 'removal', reason: '', trajectory: trajectory(3, false) }),
  );
  writeFileSync(
    join(dir, '.ssr', 'injector-episodes.jsonl'),
    `${JSON.stringify({ index: 0, strategy: 'removal', outcome: 'valid', reason: '', artifactId: 'textkit-mutation-abc123', reward: null, endReason: 'submitted', turns: 3, usage: { promptTokens: 10, completionTokens: 5 }, durationMs: 1, trajectory: '.ssr/episodes/0.json' })}\n`,
  );
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({
      repo: '/repos/textkit',
      tried: 10,
      valid: 1,
      byStrategy: {
        mutation: { tried: 6, valid: 1, yield: 1 / 6 },
        removal: { tried: 4, valid: 0, yield: 0 },
      },
      failures: {},
      artifacts: ['textkit-mutation-abc123'],
    }),
  );
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ssr-dashboard-'));
  runDir = join(tmp, 'run');
  bigDir = join(tmp, 'big');
  injectDir = join(tmp, 'inject-out');
  outside = join(tmp, 'outside');
  mkdirSync(outside);
  writeFileSync(
    join(outside, 'secret.json'),
    JSON.stringify({
      episodeId: 'x',
      trajectory: { messages: [{ role: 'system', content: SECRET }], turns: [] },
    }),
  );
  writeFileSync(join(outside, 'bug_inject.diff'), SECRET);
  buildRun(runDir);
  hostileDir = join(tmp, 'hostile');
  buildRun(hostileDir);
  buildBig(bigDir);
  buildInject(injectDir);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test('data: steps, artifact list with filters, artifact detail, trajectory', () => {
  const src = openSource(runDir);
  const steps = stepSeries(src);
  assert.equal(steps.length, 6);
  assert.deepEqual(steps[0]!.band, { zero: 0, mid: 1, one: 0 });
  assert.equal(steps[0]!.higherOrderShare, 0);

  const all = listArtifacts(src, {});
  assert.equal(all.total, 18);
  const row = all.rows.find((r) => r.id === ART)!;
  assert.deepEqual(
    [row.strategy, row.solveRate, row.attempts, row.repo],
    ['removal', 0.5, 4, 'textkit'],
  );
  assert.deepEqual(
    listArtifacts(src, { validation: 'invalid' }).rows.map((r) => r.id),
    ['textkit-bad'],
  );
  assert.deepEqual(
    listArtifacts(src, { validation: 'bug validity' }).rows.map((r) => r.id),
    ['textkit-bad'],
  );
  assert.deepEqual(
    listArtifacts(src, { strategy: 'higher-order' }).rows.map((r) => r.id),
    [`${ART}-ho1`, 'textkit-s4-2', 'textkit-s5-2', 'textkit-s6-2'],
  );
  assert.equal(listArtifacts(src, { strategy: 'procedural' }).rows.length, 5);
  assert.deepEqual(
    listArtifacts(src, { minSolve: 0.4, maxSolve: 0.6 }).rows.map((r) => r.id),
    [ART],
  );
  const high = listArtifacts(src, { minSolve: 0.6 });
  assert.ok(high.total > 0 && high.rows.every((r) => r.solveRate !== null && r.solveRate >= 0.6));
  assert.equal(listArtifacts(src, { pageSize: 5, page: 4 }).rows.length, 3);
  assert.equal(steps[3]!.higherOrderShare, 1 / 3);
  assert.deepEqual(steps[2]!.band, { zero: 0, mid: 1, one: 2 });
  assert.ok(all.facets.strategies.includes('removal'));

  const d = artifactDetail(src, ART)!;
  assert.match(d.bugDiff!, /line\.length \+ 1 \+ word\.length < width/);
  assert.match(d.weakenDiff!, /assert\.ok\(wrapBlock/);
  assert.deepEqual(d.testFiles, ['test/wrap.test.js']);
  assert.equal(d.validation!.checks.length, 7);
  assert.equal(d.tests.length, 3);
  assert.equal(d.tests[0]!.bug, 'failed', 'changed tests first');
  assert.equal(d.attempts.filter((a) => a.role === 'solver').length, 4);
  assert.equal(
    d.attempts.find((a) => a.role === 'injector')!.reward,
    0.1,
    'injector reward from the solve rate',
  );
  assert.deepEqual(d.solveRate, { solved: 2, attempts: 4, rate: 0.5 });

  const e = episodeDetail(src, `s1-${ART}-a1`)!;
  assert.equal(e.turns.length, 5);
  assert.equal(e.turns[0]!.toolCalls[0]!.name, 'bash');
  assert.match(e.turns[0]!.toolCalls[0]!.output!, /turn 0/);
  assert.equal(e.reward, 1);
  assert.equal(e.artifactId, ART);
  assert.match(e.patch!, /\+y/);
  assert.equal(artifactDetail(src, 'nope'), null);
  assert.equal(episodeDetail(src, 'nope'), null);
  if (src.kind === 'run') src.store.close();
});

test('data: 3000 artifacts are paged server-side', () => {
  const src = openSource(bigDir);
  const p1 = listArtifacts(src, { page: 1, pageSize: 50 });
  assert.equal(p1.total, 3000);
  assert.equal(p1.rows.length, 50);
  const last = listArtifacts(src, { page: 60, pageSize: 50 });
  assert.equal(last.rows.length, 50);
  assert.equal(last.rows[49]!.id, 'big-2999');
  assert.equal(
    listArtifacts(src, { page: 999, pageSize: 50 }).page,
    60,
    'clamped to the last page',
  );
  assert.equal(listArtifacts(src, { pageSize: 100000 }).rows.length, 500, 'page size capped');
  const repo1 = listArtifacts(src, { repo: 'repo1', pageSize: 10 });
  assert.equal(repo1.total, 1000);
  if (src.kind === 'run') src.store.close();
});

test('data: an ssr inject output folder is a simpler view', () => {
  const src = openSource(injectDir);
  assert.equal(src.kind, 'inject');
  assert.deepEqual(stepSeries(src), []);
  const list = listArtifacts(src, {});
  assert.deepEqual(
    list.rows.map((r) => [r.id, r.strategy, r.valid]),
    [['textkit-mutation-abc123', 'mutation', true]],
  );
  const d = artifactDetail(src, 'textkit-mutation-abc123')!;
  assert.match(d.bugDiff!, /src\/wrap\.js/);
  assert.equal(artifactDetail(src, '.ssr'), null);
  assert.deepEqual(
    d.attempts.map((a) => [a.id, a.role, a.tokens]),
    [['0', 'injector', 15]],
  );
  const e = episodeDetail(src, '0')!;
  assert.equal(e.turns.length, 3);
  assert.equal(e.artifactId, 'textkit-mutation-abc123');
  assert.equal(summary(src).episodes.injector, 1);
  assert.deepEqual(
    summary(src).yieldTable.map((r) => r.strategy),
    ['mutation', 'removal'],
  );
});

/** Raw HTTP, so `..` reaches the server exactly as written (fetch would normalise it). */
function rawGet(
  base: string,
  path: string,
  hostHeader?: string,
): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const headers = hostHeader ? { host: hostHeader } : {};
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('server: API, loopback by default, and paths outside the run refused', async () => {
  // Planted by a hostile run: links out of the run directory, and a record naming a path out.
  symlinkSync(outside, join(hostileDir, 'artifacts', 'evil'));
  mkdirSync(join(hostileDir, 'artifacts', 'leaky'));
  symlinkSync(
    join(outside, 'bug_inject.diff'),
    join(hostileDir, 'artifacts', 'leaky', 'bug_inject.diff'),
  );
  symlinkSync(join(outside, 'secret.json'), join(hostileDir, 'trajectories', 'leak.json'));
  const store = RunStore.open(hostileDir);
  store.append({
    kind: 'episode',
    id: 's9-evil',
    step: 9,
    role: 'solver',
    repo: 'r',
    artifactId: null,
    groupId: 'g',
    outcome: 'unsolved',
    reason: '',
    reward: -1,
    endReason: 'submitted',
    turns: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    durationMs: 0,
    trajectory: '../outside/secret.json',
    model: 'm',
    finishedAt: '',
  });
  store.append({
    kind: 'episode',
    id: 's9-abs',
    step: 9,
    role: 'solver',
    repo: 'r',
    artifactId: null,
    groupId: 'g',
    outcome: 'unsolved',
    reason: '',
    reward: -1,
    endReason: 'submitted',
    turns: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    durationMs: 0,
    trajectory: join(outside, 'secret.json'),
    model: 'm',
    finishedAt: '',
  });
  store.close();

  const d = await startDashboard({ dir: hostileDir, port: 0 });
  try {
    assert.equal(d.address.address, '127.0.0.1');
    assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(d.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script>/);
    const s = (await (await fetch(`${d.url}api/summary`)).json()) as {
      kind: string;
      steps: number;
    };
    assert.deepEqual([s.kind, s.steps], ['run', 6]);
    const steps = (await (await fetch(`${d.url}api/steps`)).json()) as unknown[];
    assert.equal(steps.length, 6);
    const list = (await (
      await fetch(`${d.url}api/artifacts?validation=valid&page=1&pageSize=1`)
    ).json()) as { total: number; rows: unknown[] };
    assert.deepEqual([list.total, list.rows.length], [17, 1]);
    const art = await fetch(`${d.url}api/artifacts/${ART}`);
    assert.equal(art.status, 200);
    const ep = await fetch(`${d.url}api/episodes/s1-${ART}-a0`);
    assert.equal(ep.status, 200);

    const refused = [
      '/api/artifacts/..',
      '/api/artifacts/.',
      '/api/artifacts/%2e%2e',
      '/api/artifacts/%2E%2E%2F%2E%2E%2Fetc',
      '/api/artifacts/..%2f..%2foutside',
      '/api/artifacts/../../outside',
      '/api/artifacts/%2fetc%2fpasswd',
      '/api/artifacts//etc/passwd',
      '/api/artifacts/evil',
      '/api/episodes/..',
      '/api/episodes/%2e%2e%2foutside%2fsecret',
      '/api/episodes/leak',
      '/api/episodes/s9-evil',
      '/api/episodes/s9-abs',
      '/api/episodes/%2Fetc%2Fpasswd',
      '/../../etc/passwd',
    ];
    for (const path of refused) {
      const r = await rawGet(d.url, path);
      if (path.endsWith('s9-evil') || path.endsWith('s9-abs')) {
        // The record exists (its metadata is shown), but its trajectory path is not followed.
        assert.equal(r.status, 200, path);
        assert.equal(JSON.parse(r.body).turns.length, 0, path);
      } else {
        assert.ok(r.status === 400 || r.status === 404, `${path} -> ${r.status}`);
      }
      assert.ok(!r.body.includes(SECRET), `${path} leaked the outside file`);
    }
    const rebound = await rawGet(d.url, '/api/summary', 'attacker.example:80');
    assert.equal(rebound.status, 403, 'a DNS-rebound Host is refused');
    assert.equal((await rawGet(d.url, '/api/summary', `localhost:${d.address.port}`)).status, 200);
    const leaky = await rawGet(d.url, '/api/artifacts/leaky');
    assert.ok(
      !leaky.body.includes(SECRET),
      'a symlinked diff inside the artifact is not followed out',
    );

    // Live: a step appended by another process shows up on the next poll.
    const w = RunStore.open(hostileDir);
    w.append({ kind: 'step', step: 7, metrics: metrics(7) });
    w.close();
    await new Promise((r) => setTimeout(r, 1100));
    const after7 = (await (await fetch(`${d.url}api/steps`)).json()) as unknown[];
    assert.equal(after7.length, 7);
  } finally {
    await d.close();
  }
});

test('server: a folder that is neither a run nor an inject output is a usage error', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  await assert.rejects(startDashboard({ dir: empty, port: 0 }), /neither an ssr run directory/);
  await assert.rejects(startDashboard({ dir: join(tmp, 'nowhere'), port: 0 }), /does not exist/);
});

test('report: one self-contained file with the data and the SVG plots', async () => {
  const html = renderReport(runDir);
  assert.match(html, /<svg class="plot"/);
  assert.ok((html.match(/class="pt"/g) ?? []).length > 20, 'plots have points');
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external resources');
  assert.doesNotMatch(html, /url\(\s*["']?https?:/i);
  assert.doesNotMatch(html, /<script(?![^>]*application\/json)/, 'no executable script needed');
  const json = html.match(/<script type="application\/json" id="ssr-data">([^<]*)<\/script>/);
  assert.ok(json, 'embedded data');
  const data = JSON.parse(json[1]!) as { steps: unknown[]; summary: { kind: string } };
  assert.equal(data.summary.kind, 'run');
  assert.ok(data.steps.length >= 6);

  const out = join(tmp, 'out', 'report.html');
  const r = await cli(['report', runDir, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.match(readFileSync(out, 'utf8'), /id="ssr-data"/);
  const bad = await cli(['report', join(tmp, 'nowhere'), '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^ssr: [^\n]+does not exist[^\n]*\n$/);
  const badDash = await cli(['dashboard', join(tmp, 'outside')]);
  assert.equal(badDash.code, 2);
  assert.match(badDash.stderr, /neither an ssr run directory/);
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd: tmp, timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const CHROMIUM = '/usr/bin/chromium';

test('browser: plots render, an artifact shows its diffs, a trajectory its turns', {
  skip: !existsSync(CHROMIUM) && 'no chromium',
}, async () => {
  const { chromium } = await import('playwright-core');
  const d = await startDashboard({ dir: runDir, port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(d.url);
    await page.waitForSelector('svg.plot .pt');
    assert.equal(await page.locator('svg.plot').count(), 8);
    assert.ok((await page.locator('svg.plot circle.pt').count()) > 30);
    await page.waitForSelector('#artifact-table a');
    assert.match((await page.locator('#pageinfo').textContent()) ?? '', /18 artifacts/);
    // The README's screenshot is refreshed on request only: tests must not dirty the checkout.
    const shotDir = process.env.SSR_UPDATE_SCREENSHOT
      ? join(ROOT, 'docs')
      : mkdtempSync(join(tmpdir(), 'ssr-shot-'));
    mkdirSync(shotDir, { recursive: true });
    const shot = join(shotDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a real screenshot');

    await page.selectOption('select[name=validation]', 'invalid');
    await page.waitForFunction(() =>
      document.querySelector('#pageinfo')?.textContent?.includes('1 artifacts'),
    );

    await page.goto(d.url);
    await page.click(`#artifact-table a[href="#/artifact/${ART}"]`);
    await page.waitForSelector('#bug-diff .add');
    assert.match((await page.locator('#bug-diff').textContent()) ?? '', /word\.length < width/);
    assert.match((await page.locator('#weaken-diff').textContent()) ?? '', /assert\.ok\(wrapBlock/);
    assert.equal(await page.locator('#checks tr').count(), 8);
    assert.equal(await page.locator('#tests tr').count(), 4);

    await page.click(`a.episode-link[href="#/episode/s1-${ART}-a1"]`);
    await page.waitForSelector('#turns .turn');
    assert.equal(await page.locator('#turns .turn').count(), 5);
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /cat src\/wrap\.js # 0/);
    assert.match(text, /<b>not bold<\/b>/, 'model text is shown as text, not HTML');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await d.close();
  }
});

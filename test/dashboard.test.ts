/**
 * `ssr dashboard` and `ssr report`: a small run written through the RunStore API (the example
 * artifact's real diffs, a validation report, solver episodes with trajectories), a big
 * synthetic run for paging, path refusal over raw HTTP, and a real headless Chromium clicking
 * through the page.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
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
  closeSource,
  episodeDetail,
  listArtifacts,
  listInjections,
  openSource,
  RunIndex,
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

/** What the validator reports for a bug no test notices (check 5), as a rejected injection has it. */
function rejectedValidation(): ValidationReport {
  const v = validation();
  const message = 'no test that passed on the original fails with the bug';
  return {
    ...v,
    artifact: { id: 'history-0123456789ab', hash: 'def' },
    valid: false,
    failedCheck: { id: 5, key: 'bug', name: 'bug validity', message },
    checks: v.checks.map((c) =>
      c.id < 5
        ? c
        : c.id === 5
          ? { ...c, status: 'failed', message }
          : { ...c, status: 'skipped', message: 'not run: an earlier check failed' },
    ),
    bug: { failing: [], tests: { ...v.baseline!.tests } },
    weakened: null,
    inverse: null,
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
    // As stepMetrics keys them: `<id> <name>` for a failed check, else the outcome.
    failures:
      step === 1
        ? { '5 bug validity': 1 }
        : {
            ...(step % 2 ? { '5 bug validity': 1 } : { '6 weakening validity': 1 }),
            ...(step > 3 ? { 'no artifact written': 1 } : {}),
            ...(step === 5 ? { duplicate: 1 } : {}),
          },
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
    /** Injector: the report its trajectory file carries (as the scheduler writes it). */
    report?: ValidationReport;
    failedCheck?: { id: number; name: string };
    reason?: string;
  },
): void {
  // The trajectory files as src/selfplay/scheduler.ts writes them, field for field.
  const path = e.traj
    ? store.writeFile(
        `trajectories/${e.id}.json`,
        `${JSON.stringify(
          e.role === 'solver'
            ? {
                episodeId: e.id,
                role: e.role,
                trajectory: e.traj,
                patch: '--- a/src/wrap.js\n+++ b/src/wrap.js\n@@ -1 +1 @@\n-x\n+y\n',
                evaluation: { solved: e.reward === 1 },
              }
            : {
                episodeId: e.id,
                role: e.role,
                focus: 'src/wrap.js',
                trajectory: e.traj,
                validation: e.report ?? null,
                // What a rejected injection wrote stays with its trajectory.
                written:
                  e.outcome === 'invalid'
                    ? {
                        bugDiff:
                          'diff --git a/src/wrap.js b/src/wrap.js\n--- a/src/wrap.js\n+++ b/src/wrap.js\n@@ -1 +1 @@\n-a\n+b\n',
                        weakenDiff:
                          'diff --git a/test/wrap.test.js b/test/wrap.test.js\n--- a/test/wrap.test.js\n+++ b/test/wrap.test.js\n@@ -1 +1 @@\n-c\n+d\n',
                        testFiles: ['test/wrap.test.js'],
                        testScript: '#!/bin/bash\n',
                        testParser: 'print("{}")\n',
                      }
                    : undefined,
              },
        )}\n`,
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
    reason: e.reason ?? '',
    ...(e.failedCheck ? { failedCheck: e.failedCheck } : {}),
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
    report: validation(),
    reason: 'valid',
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
  // A rejected injection, as the loop records it: an episode (artifactId null, the failed
  // check) and its trajectory file with the validation report; no artifact record, no folder.
  const rejected = rejectedValidation();
  episode(store, {
    id: 's1-inj2',
    step: 1,
    role: 'injector',
    outcome: 'invalid',
    reward: -1,
    artifactId: null,
    strategy: 'history',
    traj: trajectory(2, false),
    report: rejected,
    failedCheck: { id: 5, name: 'bug validity' },
    reason: `check 5 (bug validity): ${rejected.failedCheck!.message}`,
  });
  // And one that wrote nothing at all.
  episode(store, {
    id: 's1-inj3',
    step: 1,
    role: 'injector',
    outcome: 'no-artifact',
    reward: -1,
    artifactId: null,
    strategy: 'removal',
    traj: trajectory(1, false),
    reason: 'the injector did not write bug_inject.diff to /tmp/ssr_artifact',
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
  // The rejected injection has no artifact record: its episode stands in for it.
  assert.deepEqual(
    listArtifacts(src, { validation: 'invalid' }).rows.map((r) => [r.id, r.kind, r.strategy]),
    [['s1-inj2', 'rejected', 'history']],
  );
  assert.deepEqual(
    listArtifacts(src, { validation: 'bug validity' }).rows.map((r) => r.id),
    ['s1-inj2'],
  );
  assert.ok(all.facets.validations.includes('bug validity'));
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
  assert.equal(e.validation, null, 'solvers carry no validation report');

  // The rejected injection: its trajectory, and the report its trajectory file carries.
  const r = episodeDetail(src, 's1-inj2')!;
  assert.deepEqual(
    [r.role, r.outcome, r.artifactId, r.reward, r.focus, r.turns.length],
    ['injector', 'invalid', null, -1, 'src/wrap.js', 2],
  );
  assert.match(r.reason!, /check 5 \(bug validity\)/);
  assert.equal(r.validation!.valid, false);
  assert.equal(r.validation!.failedCheck!.name, 'bug validity');
  assert.deepEqual(
    r.validation!.checks.map((c) => c.status),
    ['passed', 'passed', 'passed', 'passed', 'failed', 'skipped', 'skipped'],
  );
  assert.equal(r.tests.length, 3);
  assert.ok(r.tests.every((t) => t.baseline === 'passed' && t.bug === 'passed'));
  assert.equal(episodeDetail(src, 's1-inj1')!.validation!.valid, true);
  assert.equal(episodeDetail(src, 's1-inj1')!.reward, 0.1, 'reward from the solve rate');
  assert.equal(episodeDetail(src, 's1-inj3')!.validation, null, 'wrote nothing to validate');

  // Every injector episode, listed with its outcome; filters and sorting.
  const inj = listInjections(src, {});
  assert.deepEqual(
    inj.rows.map((x) => [x.id, x.outcome, x.failedCheck, x.reward, x.artifactId]),
    [
      ['s1-inj1', 'valid', null, 0.1, ART],
      ['s1-inj2', 'invalid', 'bug validity', -1, null],
      ['s1-inj3', 'no-artifact', null, -1, null],
    ],
  );
  assert.deepEqual(inj.facets.outcomes, ['invalid', 'no-artifact', 'valid']);
  assert.deepEqual(inj.facets.checks, ['bug validity']);
  assert.deepEqual(
    listInjections(src, { check: 'bug validity' }).rows.map((x) => x.id),
    ['s1-inj2'],
  );
  assert.deepEqual(
    listInjections(src, { outcome: 'no-artifact' }).rows.map((x) => x.id),
    ['s1-inj3'],
  );
  assert.deepEqual(
    listInjections(src, { q: 'did not write' }).rows.map((x) => x.id),
    ['s1-inj3'],
  );
  assert.deepEqual(
    listInjections(src, { sort: 'reward', dir: 'desc' }).rows.map((x) => x.id),
    ['s1-inj1', 's1-inj2', 's1-inj3'],
  );
  assert.deepEqual(summary(src).injections, {
    total: 3,
    byOutcome: { invalid: 1, 'no-artifact': 1, valid: 1 },
  });

  // Rejections per check, per step, from the step records.
  assert.deepEqual(steps[0]!.failures, { '5 bug validity': 1 });
  assert.deepEqual(steps[4]!.failures, {
    '5 bug validity': 1,
    'no artifact written': 1,
    duplicate: 1,
  });

  // Sorting: by solve rate (rows without one last, either way), by step, by id.
  const bySolve = listArtifacts(src, { sort: 'solveRate', dir: 'desc', pageSize: 500 }).rows;
  const rates = bySolve.map((x) => x.solveRate);
  const known = rates.filter((x): x is number => x !== null);
  assert.deepEqual(
    known,
    [...known].sort((a, b) => b - a),
  );
  assert.ok(rates.indexOf(null) === known.length, 'no solve rate: last');
  const asc = listArtifacts(src, { sort: 'solveRate', dir: 'asc', pageSize: 500 }).rows;
  assert.equal(asc[0]!.solveRate, 0);
  assert.equal(asc.at(-1)!.solveRate, null);
  const byStep = listArtifacts(src, { sort: 'step', dir: 'desc' }).rows.map((x) => x.step);
  assert.deepEqual(
    byStep,
    [...byStep].sort((a, b) => b! - a!),
  );
  assert.equal(listArtifacts(src, { sort: 'nonsense' }).sort, null, 'unknown sort: journal order');
  assert.equal(artifactDetail(src, 'nope'), null);
  assert.equal(episodeDetail(src, 'nope'), null);
  closeSource(src);
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
  closeSource(src);
});

test('data: a live run is read incrementally, only the appended bytes', () => {
  const dir = join(tmp, 'live');
  const writer = RunStore.openForWriting(dir, { live: true });
  const journal = join(dir, 'journal.jsonl');
  const art = (i: number, step = 1) =>
    ({
      kind: 'artifact',
      id: `live-${i}`,
      step,
      repo: '/r/live',
      source: 'llm',
      parent: null,
      order: 1,
      valid: true,
      reason: '',
    }) as const;
  for (let i = 0; i < 50; i++) writer.append(art(i));
  const idx = new RunIndex(dir);
  const size = () => statSync(journal).size;
  assert.equal(idx.bytesRead, size());
  assert.equal(idx.rows.length, 50);
  const v0 = idx.version;

  // Nothing new: a stat, no read.
  assert.equal(idx.refresh(), false);
  assert.equal(idx.bytesRead, size());
  assert.equal(idx.version, v0);

  // Appended by the writer: only those bytes are read, and the index follows.
  const before = size();
  writer.append(art(50, 2));
  writer.append({
    kind: 'solve-rate',
    artifactId: 'live-50',
    step: 2,
    solved: 3,
    attempts: 4,
    solveRate: 0.75,
  });
  assert.equal(idx.refresh(), true);
  assert.equal(idx.bytesRead - before, size() - before, 'read exactly the new tail');
  assert.ok(idx.version > v0);
  assert.equal(idx.rowById.get('live-50')!.solveRate, 0.75);

  // A line being written is left for later; a line that never parses is skipped.
  const line = JSON.stringify(art(51));
  appendFileSync(journal, line.slice(0, 20));
  assert.equal(idx.refresh(), false);
  assert.ok(!idx.rowById.has('live-51'));
  appendFileSync(journal, `${line.slice(20)}\n{"kind":"artif\n`);
  assert.equal(idx.refresh(), true);
  assert.ok(idx.rowById.has('live-51'));
  writer.close();
  // A writer reopening after a crash starts on a fresh line after a torn one.
  appendFileSync(journal, '{"kind":"episode","id":"torn');
  const again = RunStore.open(dir);
  again.append(art(52, 3));
  again.append({ kind: 'step', step: 3, metrics: metrics(3) });
  again.close();
  idx.refresh();
  assert.ok(idx.rowById.has('live-52'));

  // The same view as the run store's own full read.
  const store = RunStore.open(dir);
  assert.deepEqual(
    idx.artifacts.map((a) => a.id),
    store.artifacts().map((a) => a.id),
  );
  assert.equal(idx.records, store.all().length);
  assert.deepEqual([...idx.steps.values()], store.steps());
  store.close();

  // An episode redone after an error: the later record with the same id supersedes the first.
  const w2 = RunStore.open(dir);
  const injector = (outcome: string) =>
    ({
      kind: 'episode',
      id: 's3-inj0',
      step: 3,
      role: 'injector',
      repo: '/r/live',
      artifactId: null,
      groupId: 's3-injector',
      strategy: 'removal',
      outcome,
      reason: '',
      ...(outcome === 'invalid' ? { failedCheck: { id: 6, name: 'weakening validity' } } : {}),
      reward: outcome === 'error' ? null : -1,
      endReason: outcome === 'error' ? 'model-error' : 'submitted',
      turns: 1,
      usage: { promptTokens: 1, completionTokens: 1 },
      durationMs: 1,
      trajectory: null,
      model: 'm',
      finishedAt: '',
    }) as const;
  w2.append(injector('error'));
  idx.refresh();
  assert.deepEqual(Object.keys(summary({ kind: 'run', dir, run: idx }).injections.byOutcome), [
    'error',
  ]);
  w2.append(injector('invalid'));
  w2.close();
  idx.refresh();
  assert.deepEqual(
    idx.injectors.map((e) => [e.id, e.outcome]),
    [['s3-inj0', 'invalid']],
  );
  assert.deepEqual(summary({ kind: 'run', dir, run: idx }).injections, {
    total: 1,
    byOutcome: { invalid: 1 },
  });
  assert.deepEqual(idx.yieldTally.get('removal'), { tried: 1, valid: 0 });
  assert.equal(idx.rowById.get('s3-inj0')!.failedCheck, 'weakening validity');

  // A journal replaced by a shorter one is read again from the start.
  writeFileSync(journal, `${JSON.stringify(art(99))}\n`);
  idx.refresh();
  assert.deepEqual(
    idx.rows.map((r) => r.id),
    ['live-99'],
  );
  assert.equal(idx.steps.size, 0);
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
    const inj = (await (
      await fetch(`${d.url}api/injections?check=bug%20validity&sort=step&dir=desc`)
    ).json()) as { rows: { id: string; outcome: string }[]; sort: string; dir: string };
    assert.deepEqual(
      [inj.rows.map((r) => [r.id, r.outcome]), inj.sort, inj.dir],
      [[['s1-inj2', 'invalid']], 'step', 'desc'],
    );
    const rejected = (await (await fetch(`${d.url}api/episodes/s1-inj2`)).json()) as {
      validation: { failedCheck: { name: string } };
    };
    assert.equal(rejected.validation.failedCheck.name, 'bug validity');
    const sorted = (await (
      await fetch(`${d.url}api/artifacts?sort=solveRate&dir=desc&pageSize=1`)
    ).json()) as { rows: { solveRate: number }[] };
    assert.equal(sorted.rows[0]!.solveRate, 1);

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
    const version = ((await (await fetch(`${d.url}api/summary`)).json()) as { version: string })
      .version;
    const w = RunStore.open(hostileDir);
    w.append({ kind: 'step', step: 7, metrics: metrics(7) });
    w.close();
    await new Promise((r) => setTimeout(r, 1100));
    const after7 = (await (await fetch(`${d.url}api/steps`)).json()) as unknown[];
    assert.equal(after7.length, 7);
    const s7 = (await (await fetch(`${d.url}api/summary`)).json()) as { version: string };
    assert.notEqual(s7.version, version, 'the version the page polls moved');
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

test('cli: a port in use is a usage error with a hint; a non-loopback host warns', async () => {
  const d = await startDashboard({ dir: runDir, port: 0 });
  try {
    const r = await cli(['dashboard', runDir, '--port', String(d.address.port)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^ssr: cannot listen on 127\.0\.0\.1:\d+: the port is already in use; try --port 0 \(any free port\) or another --port\n$/,
    );
  } finally {
    await d.close();
  }

  const child = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      join(ROOT, 'src/cli/main.ts'),
      'dashboard',
      runDir,
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  try {
    const deadline = Date.now() + 30_000;
    while (!stdout.includes('\n') && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(stdout, /^ssr dashboard: http:\/\/0\.0\.0\.0:\d+\/\n$/, stderr);
    assert.match(
      stderr,
      /^ssr dashboard: warning: listening on 0\.0\.0\.0, not loopback: the dashboard is reachable from the network/,
    );
    assert.equal(stderr.trim().split('\n').length, 1, 'one line');
  } finally {
    child.kill('SIGTERM');
  }

  // The library reports it through `warn`, and a loopback address does not warn.
  const warnings: string[] = [];
  const quiet = await startDashboard({ dir: runDir, port: 0, warn: (m) => warnings.push(m) });
  await quiet.close();
  assert.deepEqual(warnings, []);
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
  // A validation.json written by a hostile run: every field it gives is shown as text.
  const xss = join(runDir, 'artifacts', 'textkit-xss');
  mkdirSync(xss, { recursive: true });
  const bad = '<img src=x onerror="window.__xss=1">';
  const v = validation();
  writeFileSync(
    join(xss, 'validation.json'),
    JSON.stringify({
      ...v,
      checks: v.checks.map((c) => ({ ...c, id: bad, durationMs: bad, status: bad })),
    }),
  );
  const { chromium } = await import('playwright-core');
  const d = await startDashboard({ dir: runDir, port: 0 });
  const big = await startDashboard({ dir: bigDir, port: 0 });
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
    assert.equal(await page.locator('svg.plot').count(), 9);
    assert.ok((await page.locator('svg.plot circle.pt').count()) > 30);
    const rejections = page.locator('svg.plot[aria-label="injections rejected, by check"]');
    assert.ok((await rejections.locator('rect.bar').count()) >= 6, 'rejections per check');
    assert.match((await rejections.textContent()) ?? '', /5 bug validity.*duplicate/s);
    await page.waitForSelector('#artifact-table a');
    await page.waitForSelector('#injection-table a');
    assert.match((await page.locator('#pageinfo').textContent()) ?? '', /18 artifacts/);
    assert.match((await page.locator('#inj-pageinfo').textContent()) ?? '', /3 injector episodes/);
    // The README's screenshot is refreshed on request only: tests must not dirty the checkout.
    const shotDir = process.env.SSR_UPDATE_SCREENSHOT
      ? join(ROOT, 'docs')
      : mkdtempSync(join(tmpdir(), 'ssr-shot-'));
    mkdirSync(shotDir, { recursive: true });
    const shot = join(shotDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a real screenshot');

    // The invalid filter shows the rejected injection; it opens on its trajectory and report.
    await page.selectOption('select[name=validation]', 'invalid');
    await page.waitForFunction(() =>
      document.querySelector('#pageinfo')?.textContent?.includes(' 1 artifacts'),
    );
    await page.click('#artifact-table a.rejected-link[href="#/episode/s1-inj2"]');
    await page.waitForSelector('#turns .turn');
    assert.equal(await page.locator('#turns .turn').count(), 2);
    assert.match((await page.locator('#episode-outcome').textContent()) ?? '', /invalid.*check 5/);
    assert.equal(await page.locator('#checks tr').count(), 8);
    assert.equal(
      await page.locator('#checks tr:nth-child(6) td:nth-child(3)').textContent(),
      'failed',
    );
    assert.equal(await page.locator('#tests tr').count(), 4);
    // What it wrote, side by side, though no artifact folder exists for it.
    await page.waitForSelector('#written-bug-diff');
    assert.match((await page.locator('#written-bug-diff').textContent()) ?? '', /src\/wrap\.js/);
    assert.match((await page.locator('#written-weaken-diff').textContent()) ?? '', /test\/wrap/);
    await page.click('a[href="#/injections"]');

    // The injector episodes: filter on the failed check, click into the trajectory.
    await page.waitForSelector('#injection-table a.injection-link');
    await page.selectOption('select[name=check]', 'bug validity');
    await page.waitForFunction(() =>
      document.querySelector('#inj-pageinfo')?.textContent?.includes(' 1 injector episodes'),
    );
    await page.click('#injection-table a.injection-link[href="#/episode/s1-inj2"]');
    await page.waitForSelector('#report-h');
    assert.match((await page.locator('main').textContent()) ?? '', /no test that passed/);

    // Sorting by a column header: solve rate, highest first, then lowest first.
    await page.goto(d.url);
    await page.waitForSelector('#artifact-table a');
    await page.selectOption('select[name=validation]', '');
    await page.waitForFunction(() =>
      document.querySelector('#pageinfo')?.textContent?.includes('18 artifacts'),
    );
    const firstRate = () =>
      page.locator('#artifact-table tr:nth-child(2) td:nth-child(8)').textContent();
    await page.click('#artifact-table th[data-sort=solveRate] a');
    await page.waitForSelector('#artifact-table th[aria-sort=descending]');
    assert.equal(await firstRate(), '1 (8)');
    await page.click('#artifact-table th[data-sort=solveRate] a');
    await page.waitForSelector('#artifact-table th[aria-sort=ascending]');
    assert.equal(await firstRate(), '0 (8)');

    await page.goto(`${d.url}#/artifact/${ART}`);
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

    await page.goto(`${d.url}#/artifact/textkit-xss`);
    await page.waitForSelector('#checks td');
    assert.equal(await page.locator('#checks img').count(), 0, 'check fields are escaped');
    assert.match((await page.locator('#checks').textContent()) ?? '', /<img src=x/);
    assert.equal(await page.evaluate(() => (window as { __xss?: number }).__xss), undefined);

    // Thousands of artifacts: go to a page by number, to the last one; live rows and filters.
    await page.goto(big.url);
    await page.waitForSelector('#artifact-table a');
    await page.fill('#page-jump', '42');
    await page.press('#page-jump', 'Enter');
    await page.waitForFunction(() =>
      document.querySelector('#pageinfo')?.textContent?.startsWith('page 42 / 60'),
    );
    assert.equal(
      await page.locator('#artifact-table tr:nth-child(2) td:first-child').textContent(),
      'big-2050',
    );
    await page.click('#last');
    await page.waitForFunction(() =>
      document.querySelector('#pageinfo')?.textContent?.startsWith('page 60 / 60'),
    );
    const w = RunStore.open(bigDir);
    w.append({
      kind: 'artifact',
      id: 'big-live',
      step: 11,
      repo: '/r/repo-new',
      source: 'llm',
      parent: null,
      order: 1,
      valid: true,
      reason: '',
    });
    w.close();
    // The next poll (every 3 s) brings the new row onto the page and the new repo into the filter.
    await page.waitForFunction(
      () => document.querySelector('#pageinfo')?.textContent?.includes('3001 artifacts'),
      undefined,
      { timeout: 10_000 },
    );
    assert.equal(
      await page.locator('#pageinfo').textContent(),
      'page 60 / 61 · 3001 artifacts',
      'the page shown stays put',
    );
    await page.waitForSelector('select[name=repo] option[value="repo-new"]', { state: 'attached' });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await d.close();
    await big.close();
    rmSync(xss, { recursive: true, force: true });
  }
});

/**
 * The stages of `runSelfPlay` (src/selfplay/*.ts) one by one, on plain records: no sandbox, no
 * model. The whole loop is tested end to end in selfplay.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { InjectionOutcome } from '../src/agent/injector.js';
import type { SolveAttempt } from '../src/agent/solver.js';
import type { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { failedAttemptsToCompose, pooledHigherOrder } from '../src/selfplay/higher-order-pool.js';
import { planInjection, rejectedInjection } from '../src/selfplay/injection.js';
import { proceduralNeed } from '../src/selfplay/procedural.js';
import {
  closeRun,
  openRun,
  pick,
  policyOf,
  type RepoState,
  RunJournal,
  repoOf,
  type SelfPlayRun,
  seededOrder,
  slug,
} from '../src/selfplay/run-context.js';
import {
  DEFAULT_SELFPLAY,
  type SelfPlayEvent,
  type SelfPlaySettings,
} from '../src/selfplay/scheduler.js';
import { solveRateRecord, solverVerdict } from '../src/selfplay/solving.js';
import { runSteps, stepFailureMessage } from '../src/selfplay/steps.js';
import type {
  ArtifactRecordV1,
  EpisodeRecordV1,
  RunRecord,
  SolveRateRecordV1,
} from '../src/store/run-store.js';

function episode(over: Partial<EpisodeRecordV1>): EpisodeRecordV1 {
  return {
    kind: 'episode',
    id: 'e',
    step: 0,
    role: 'solver',
    repo: '/r',
    artifactId: 'a',
    groupId: 'g',
    outcome: 'unsolved',
    reason: '',
    reward: -1,
    endReason: 'submitted',
    turns: 1,
    usage: { promptTokens: 0, completionTokens: 0 },
    durationMs: 0,
    trajectory: null,
    model: 'm',
    finishedAt: '',
    ...over,
  } as EpisodeRecordV1;
}

function artifact(over: Partial<ArtifactRecordV1>): ArtifactRecordV1 {
  return {
    kind: 'artifact',
    id: 'a',
    step: 0,
    repo: '/r',
    source: 'llm',
    parent: null,
    order: 1,
    valid: true,
    reason: 'valid',
    ...over,
  };
}

const repo = (dir: string, sources: string[]): RepoState => ({
  dir,
  name: slug(dir),
  snapshot: {} as Snapshot,
  sources,
});

test('run context: slugs, seeded choices and file orders are deterministic', () => {
  assert.equal(slug('My Repo.js'), 'my-repo-js');
  assert.equal(slug('---'), 'repo');
  assert.equal(pick(['a', 'b', 'c'], 1, 2), pick(['a', 'b', 'c'], 1, 2));
  const files = Array.from({ length: 8 }, (_, i) => `src/f${i}.js`);
  const order = seededOrder(files, 0);
  assert.deepEqual([...order].sort(), [...files].sort(), 'a permutation');
  assert.deepEqual(seededOrder([...files].reverse(), 0), order, 'independent of input order');
  assert.notDeepEqual(seededOrder(files, 1), order, 'another seed, another order');
  const repos = [repo('/a', []), repo('/b', [])];
  assert.equal(repoOf(repos, '/b').dir, '/b');
  assert.equal(repoOf(repos, '/gone').dir, '/a');
  assert.deepEqual(policyOf({ policyVersion: 'v2' }, null), { model: null, version: 'v2' });
});

test('run journal: enough model errors in a row give up, a success in between resets', () => {
  const appended: RunRecord[] = [];
  const events: SelfPlayEvent[] = [];
  const giveUp = new AbortController();
  const journal = new RunJournal(
    { append: (r) => appended.push(r) },
    (e) => events.push(e),
    3,
    giveUp,
  );
  const err = episode({ outcome: 'error', endReason: 'model-error', reason: 'HTTP 500\n  down' });
  journal.episode(err);
  journal.episode(err);
  journal.episode(episode({ outcome: 'solved' }));
  journal.episode(err);
  journal.episode(err);
  assert.equal(giveUp.signal.aborted, false, 'the success reset the count');
  journal.episode(err);
  assert.equal(giveUp.signal.aborted, true);
  assert.equal(
    journal.failure,
    '3 episodes in a row failed on model errors, the last: HTTP 500 down; stopped (finished ' +
      'work is kept: fix the model server and rerun the same command to continue)',
  );
  journal.fail('later reason');
  assert.match(journal.failure!, /^3 episodes/, 'the first reason is kept');
  journal.artifact(artifact({ id: 'x' }));
  assert.equal(appended.length, 7);
  assert.deepEqual(
    events.map((e) => e.type),
    ['episode', 'episode', 'episode', 'episode', 'episode', 'episode', 'artifact'],
  );

  const never = new RunJournal({ append: () => {} }, () => {}, 0, new AbortController());
  for (let i = 0; i < 5; i++) never.episode(err);
  assert.equal(never.failure, null, 'maxErrors 0: never gives up');
});

test('openRun: the journal aborts the run signal; a host passed in is not closed', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ssr-stages-'));
  let closed = 0;
  const host = { close: async () => void closed++ } as unknown as SandboxHost;
  const caller = new AbortController();
  const r = openRun({
    settings: { ...DEFAULT_SELFPLAY, repos: ['/r'], testTimeoutMs: 1234 },
    model: { description: 'm' } as never,
    out,
    host,
    signal: caller.signal,
    maxConsecutiveErrors: 1,
  });
  try {
    assert.equal(r.ownHost, false);
    assert.equal(r.validation.scriptTimeoutMs, 1234);
    assert.ok(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).config.testTimeoutMs);
    r.journal.episode(episode({ outcome: 'error', endReason: 'error' }));
    assert.equal(r.signal.aborted, true, 'gave up after one error');
    assert.equal(caller.signal.aborted, false, "the caller's signal is left alone");
  } finally {
    await closeRun(r);
  }
  assert.equal(closed, 0);
});

test('planInjection: repositories in turn, focus files walking the seeded order', () => {
  const s = { injectionsPerStep: 2, strategies: ['removal' as const], seed: 0, focusFiles: true };
  const repos = [repo('/a', ['a1', 'a2', 'a3']), repo('/b', [])];
  const plans = [0, 1].flatMap((step) => [0, 1].map((k) => planInjection(s, repos, step, k)));
  assert.deepEqual(
    plans.map((p) => [p.repo.dir, p.strategy, p.focus]),
    [
      ['/a', 'removal', 'a1'],
      ['/b', 'removal', undefined],
      ['/a', 'removal', 'a3'],
      ['/b', 'removal', undefined],
    ],
  );
  assert.equal(planInjection({ ...s, focusFiles: false }, repos, 0, 0).focus, undefined);
  const two = { ...s, strategies: ['removal' as const, 'history' as const] };
  assert.equal(planInjection(two, repos, 3, 1).strategy, pick(two.strategies, 0, 3, 1, 'strategy'));
});

test('rejectedInjection: model errors, missing and invalid artifacts; null for a valid one', () => {
  const ok = { endReason: 'submitted' } as InjectionOutcome['trajectory'];
  const r = (over: Partial<InjectionOutcome>) =>
    rejectedInjection({ trajectory: ok, artifact: null, report: null, reason: 'why', ...over });
  assert.deepEqual(r({ trajectory: { endReason: 'model-error' } as never }), {
    artifactId: null,
    outcome: 'error',
    reason: 'why',
    reward: null,
  });
  assert.deepEqual(r({}), { artifactId: null, outcome: 'no-artifact', reason: 'why', reward: -1 });
  const invalid = r({
    artifact: {} as never,
    report: { valid: false, failedCheck: { id: 4, name: 'bug', message: 'm' } } as never,
  });
  assert.deepEqual(invalid, {
    artifactId: null,
    outcome: 'invalid',
    reason: 'why',
    reward: -1,
    failedCheck: { id: 4, name: 'bug' },
  });
  assert.deepEqual(Object.keys(invalid!).at(-1), 'failedCheck', 'last in the record, as before');
  assert.equal(r({ artifact: {} as never, report: { valid: true } as never }), null);
});

test('proceduralNeed: what injectBugs must hold for the repository, or nothing', () => {
  const have = [
    artifact({ id: 'p0', source: 'procedural', step: 0, repo: '/a' }),
    artifact({ id: 'p1', source: 'procedural', step: 1, repo: '/a' }),
    artifact({ id: 'l1', source: 'llm', step: 1, repo: '/a' }),
  ];
  assert.deepEqual(proceduralNeed(have, 1, 0, '/a'), { thisStep: [], count: 0 });
  assert.deepEqual(proceduralNeed(have, 1, 1, '/a'), { thisStep: ['p1'], count: 0 });
  assert.deepEqual(proceduralNeed(have, 1, 3, '/a'), { thisStep: ['p1'], count: 4 });
  assert.deepEqual(proceduralNeed(have, 2, 2, '/b'), { thisStep: [], count: 2 });
});

test('solverVerdict and solveRateRecord: rewards, and the injection paid in its own step', () => {
  const evaluation = (solved: boolean) => ({ solved, reason: solved ? 'ok' : 'fails' }) as never;
  const v = (a: Partial<SolveAttempt>) => solverVerdict(a as SolveAttempt);
  assert.deepEqual(v({ evaluation: evaluation(true) }), {
    outcome: 'solved',
    reason: 'ok',
    reward: 1,
  });
  assert.deepEqual(v({ evaluation: evaluation(false) }), {
    outcome: 'unsolved',
    reason: 'fails',
    reward: -1,
  });
  assert.deepEqual(v({ error: 'model error', evaluation: evaluation(false) }), {
    outcome: 'error',
    reason: 'model error',
    reward: null,
  });

  const attempts = ['solved', 'unsolved', 'unsolved', 'unsolved'].map((outcome) => ({ outcome }));
  const made = artifact({ source: 'llm', step: 2, episodeId: 's2-inj0' });
  const rec = solveRateRecord('a', 2, attempts, made, 0.8);
  assert.deepEqual(rec, {
    kind: 'solve-rate',
    artifactId: 'a',
    step: 2,
    solved: 1,
    attempts: 4,
    solveRate: 0.25,
    injectorEpisodeId: 's2-inj0',
    injectorReward: 1 - 1.8 * 0.25,
  });
  const later = solveRateRecord('a', 3, attempts, made, 0.8);
  assert.equal('injectorReward' in later, false, 'not paid again in a later step');
  const ho = solveRateRecord('a', 2, attempts, { ...made, source: 'higher-order' }, 0.8);
  assert.equal('injectorEpisodeId' in ho, false);
});

test('higher-order pool: failed attempts to compose, and bugs scheduled oldest first', () => {
  const attempts = [
    episode({ id: 'a3', attempt: 3, outcome: 'unsolved', patch: 'p/3' }),
    episode({ id: 'a0', attempt: 0, outcome: 'solved', patch: 'p/0' }),
    episode({ id: 'a2', attempt: 2, outcome: 'unsolved', patch: null }),
    episode({ id: 'a1', attempt: 1, outcome: 'unsolved', patch: 'p/1' }),
    episode({ id: 'a4', attempt: 4, outcome: 'unsolved', patch: 'p/4' }),
  ];
  assert.deepEqual(
    failedAttemptsToCompose(attempts, 2).map((e) => e.id),
    ['a1', 'a3'],
  );

  const ho = (id: string, step: number, valid = true) =>
    artifact({ id, step, valid, source: 'higher-order' });
  const artifacts = [
    ho('h-b', 0),
    ho('h-a', 1),
    ho('h-c', 0),
    ho('h-invalid', 0, false),
    ho('h-now', 2),
    ho('h-tried', 0),
    artifact({ id: 'llm', step: 0 }),
  ];
  const rates = [{ artifactId: 'h-tried', step: 1 } as SolveRateRecordV1];
  assert.deepEqual(pooledHigherOrder(artifacts, rates, 2, 4), ['h-b', 'h-c', 'h-a']);
  assert.deepEqual(pooledHigherOrder(artifacts, rates, 2, 2), ['h-b', 'h-c']);
  assert.deepEqual(pooledHigherOrder(artifacts, rates, 1, 4), ['h-b', 'h-c', 'h-tried']);
});

test('steps: the failure message, and the loop skips finished steps and stops when asked', async () => {
  assert.equal(
    stepFailureMessage(1, [{ reason: 'a' }, { reason: 'sandbox\n  broke' }]),
    'step 2: 2 episode(s) still failed on model or infrastructure errors after 3 tries, the ' +
      'last: sandbox broke; stopped (finished work is kept: rerun the same command to redo them)',
  );
  const events: SelfPlayEvent[] = [];
  const fakeRun = (steps: number, finished: number[], signal: AbortSignal) =>
    ({
      settings: { ...DEFAULT_SELFPLAY, repos: [], steps } as SelfPlaySettings,
      store: { steps: () => finished.map((step) => ({ step })) },
      signal,
      emit: (e: SelfPlayEvent) => events.push(e),
    }) as unknown as SelfPlayRun;
  const live = new AbortController().signal;
  assert.equal(await runSteps(fakeRun(2, [0, 1], live)), false, 'all finished: nothing to do');
  assert.equal(await runSteps(fakeRun(3, [0, 1], AbortSignal.abort())), true, 'stopped early');
  assert.deepEqual(events, [], 'no step started');
});

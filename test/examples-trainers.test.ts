/**
 * The trainer examples in examples/trainers/ run as a user runs them: plain python3 (standard
 * library only) against a real `ssr serve` or `ssr selfplay --sync file`, with the scripted
 * OpenAI-compatible server over HTTP as the policy. (harbor_local.py runs on real exported
 * tasks in export-tasks.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type RunningServer, startServer } from '../src/serve/index.js';
import {
  type ScriptedServer,
  type ScriptStep,
  startScriptedServer,
} from './helpers/scripted-openai-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLES = join(ROOT, 'examples/trainers');

const call = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  usage: { promptTokens: 120, completionTokens: 12 },
  logprobs: [{ token: 'token_id:7', logprob: -0.25 }],
  tokenIds: [7],
});
/** Fixes textkit-wrap-width (the shipped example artifact) in two turns, then submits. */
const FIX: ScriptStep[] = [
  call('bash', { command: 'grep -n "width" src/wrap.js | head -5' }),
  call('editor', {
    command: 'str_replace',
    path: 'src/wrap.js',
    old_str: 'word.length < width',
    new_str: 'word.length <= width',
  }),
  call('submit', {}),
];
const byTurn = (steps: ScriptStep[]) => (body: Record<string, unknown>) => {
  const turn = (body.messages as { role: string }[]).filter((m) => m.role === 'assistant').length;
  return steps[Math.min(turn, steps.length - 1)]!;
};

let env: RunningServer;
let model: ScriptedServer;

before(async () => {
  model = await startScriptedServer(Array.from({ length: 40 }, () => byTurn(FIX)));
  env = await startServer({
    repoRoots: [join(ROOT, 'examples/repos')],
    artifactRoots: [join(ROOT, 'examples/artifacts')],
    port: 0,
    log: () => {},
  });
});

after(async () => {
  await env.close();
  await model.close();
});

/** serve_stepwise.py on the example artifact of `repo`, against this file's servers. */
const stepwise = (repo: string, ...extra: string[]) =>
  run('python3', [
    join(EXAMPLES, 'serve_stepwise.py'),
    '--env',
    env.url,
    '--model-url',
    model.baseURL,
    '--model',
    'scripted-model',
    '--repo',
    repo,
    '--artifact',
    'textkit-wrap-width',
    ...extra,
  ]);

test('serve_stepwise.py: a Python rollout worker samples every turn and gets the reward from ssr serve', async () => {
  const r = await stepwise('textkit', '--episodes', '2');
  const episodes = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(episodes.length, 2);
  for (const e of episodes) {
    assert.equal(e.reward, 1, JSON.stringify(e));
    assert.equal(e.turns, 3);
    assert.equal(e.end_reason, 'submitted');
  }
  // The worker asked the endpoint for what RL needs, and handed it to ssr with each turn.
  const asked = model.requests.find((q) => q.path.endsWith('/chat/completions'))!.body!;
  assert.equal(asked.logprobs, true);
  assert.equal(asked.return_token_ids, true);
  const state = await (await fetch(`${env.url}/v1/episodes/${episodes[0].episode_id}`)).json();
  assert.deepEqual(state.trajectory.turns[0].response.completionTokenIds, [7]);
  assert.equal(state.trajectory.turns[0].response.logprobs[0].logprob, -0.25);
});

test('serve_stepwise.py: a server error is one line naming the status, not a traceback', async () => {
  const r = await stepwise('no-such-repo').then(
    () => assert.fail('should have failed'),
    (err: { code: number; stderr: string }) => err,
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\/v1\/episodes: HTTP 40\d: /);
  assert.doesNotMatch(r.stderr, /Traceback/);
});

test('sync_trainer.py: the trainer side of --sync file answers each step, and the next step carries its version', async () => {
  const submit = call('submit', {});
  const policy = await startScriptedServer(Array.from({ length: 200 }, () => submit));
  const out = join(mkdtempSync(join(tmpdir(), 'ssr-sync-trainer-')), 'run');
  try {
    const selfplay = run(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'selfplay',
      '--repo',
      join(ROOT, 'examples/repos/textkit'),
      '--model',
      policy.baseURL,
      '--out',
      out,
      '--steps',
      '2',
      '--injections-per-step',
      '0',
      '--procedural-per-step',
      '1',
      '--solver-attempts',
      '2',
      '--no-higher-order',
      '--sync',
      'file',
      '--policy-version',
      'v0',
    ]);
    const trainer = run('python3', [join(EXAMPLES, 'sync_trainer.py'), out, '--timeout', '600']);
    const [ssr, py] = await Promise.all([selfplay, trainer]);
    assert.match(ssr.stderr, /policy after step-0: version v1/);
    const steps = py.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      steps.map((x) => [x.step, x.sampled_with, x.published, x.rows]),
      [
        [0, 'v0', 'v1', 2],
        [1, 'v1', null, 2],
      ],
    );
    assert.equal(steps[0].mean_reward.solver, -1, 'submitting nothing solves nothing');
    // The journal agrees: step 0 sampled with v0, step 1 with the trainer's v1.
    const episodes = readFileSync(join(out, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.kind === 'episode');
    assert.deepEqual(
      episodes.map((e) => [e.step, e.policy.version]),
      [
        [0, 'v0'],
        [0, 'v0'],
        [1, 'v1'],
        [1, 'v1'],
      ],
    );
  } finally {
    await policy.close();
  }
});

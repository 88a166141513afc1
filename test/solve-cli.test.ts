/**
 * `ssr solve` end to end over real HTTP: the CLI talks to the scripted OpenAI-compatible
 * server, the agent works in real sandboxes, and grading runs the real tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  type ScriptEntry,
  type ScriptedServerOptions,
  type ScriptStep,
  startScriptedServer,
} from './helpers/scripted-openai-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const ARTIFACT = join(ROOT, 'examples/artifacts/textkit-wrap-width');
const REPO = join(ROOT, 'examples/repos/textkit');

/** A policy: its reply depends only on how far the episode is (assistant turns so far). */
function policy(steps: ScriptStep[]) {
  return (body: Record<string, unknown>): ScriptStep => {
    const turn = (body.messages as { role: string }[]).filter((m) => m.role === 'assistant').length;
    return steps[Math.min(turn, steps.length - 1)]!;
  };
}
const tool = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  logprobs: [{ token: 'token_id:7', logprob: -0.25 }],
});

interface SolveRun {
  code: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the summary JSON as printed
  summary: any;
  out: string;
  server: Awaited<ReturnType<typeof startScriptedServer>>;
}

async function solveRun(
  steps: ScriptStep[] | Extract<ScriptEntry, (...args: never[]) => unknown>,
  attempts: number,
  extra: string[] = [],
  options: ScriptedServerOptions = {},
): Promise<SolveRun> {
  const entry = Array.isArray(steps) ? policy(steps) : steps;
  const server = await startScriptedServer(
    Array.from({ length: 40 }, () => entry),
    options,
  );
  const out = mkdtempSync(join(tmpdir(), 'ssr-solve-'));
  try {
    const result = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'solve',
        ARTIFACT,
        '--repo',
        REPO,
        '--model',
        server.baseURL,
        '--attempts',
        String(attempts),
        '--out',
        out,
        '--json',
        ...extra,
      ],
      { cwd: ROOT },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const summary = result.stdout.trim() ? JSON.parse(result.stdout) : null;
    return { ...result, summary, out, server };
  } finally {
    await server.close();
  }
}

async function solve(steps: ScriptStep[], attempts: number, extra: string[] = []) {
  const r = await solveRun(steps, attempts, extra);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const attemptFile = (out: string, i = 1) =>
  JSON.parse(readFileSync(join(out, `attempt-${i}.json`), 'utf8'));

test('a policy that fixes the bug: solve rate 1, trajectories with token data written', async () => {
  const { summary, out, server } = await solve(
    [
      tool('editor', { command: 'view', path: 'src/wrap.js', view_range: [10, 20] }),
      tool('editor', {
        command: 'str_replace',
        path: 'src/wrap.js',
        old_str: 'word.length < width',
        new_str: 'word.length <= width',
      }),
      tool('submit', {}),
    ],
    2,
  );
  assert.equal(summary.solved, 2);
  assert.equal(summary.solveRate, 1);
  assert.ok(server.chatBodies.length >= 6);
  const attempt = JSON.parse(readFileSync(join(out, 'attempt-1.json'), 'utf8'));
  assert.equal(attempt.evaluation.reward, 1);
  assert.equal(attempt.trajectory.turns[0].response.logprobs[0].tokenId, 7);
  assert.ok(existsSync(join(out, 'summary.json')));
});

test('a policy that edits the oracle tests: solve rate 0', async () => {
  const { summary } = await solve(
    [
      tool('bash', { command: "sed -i '/aaaa bbbbb cc/d; /ab cd ef/d' test/wrap.test.js" }),
      tool('submit', {}),
    ],
    1,
  );
  assert.equal(summary.solved, 0);
  assert.equal(summary.outcomes[0].endReason, 'submitted');
});

test('a server that fails: attempts recorded as errors, not graded, exit 4 instead of solve rate 0', async () => {
  const r = await solveRun([{ fault: 'server-error', status: 500 }], 2);
  assert.equal(r.code, 4, r.stderr);
  assert.deepEqual(
    [r.summary.attempts, r.summary.graded, r.summary.errors, r.summary.solveRate],
    [2, 0, 2, null],
  );
  for (const o of r.summary.outcomes) {
    assert.deepEqual([o.outcome, o.reward, o.endReason], ['error', null, 'model-error']);
  }
  assert.match(r.stderr, /^ssr: 2 of 2 attempt\(s\) failed on model errors: .*500/m);
  assert.equal(attemptFile(r.out).evaluation.tests, null, 'not graded');
});

test('three model errors in a row: the remaining attempts are not run', async () => {
  const r = await solveRun([{ fault: 'server-error', status: 502 }], 5);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.summary.attempts, 3);
  assert.match(
    r.stderr,
    /3 of 3 attempt\(s\) failed on model errors \(the other 2 not run after 3 in a row\)/,
  );
});

test('--model-name the server does not serve: usage error up front naming what it serves', async () => {
  const r = await solveRun([tool('submit', {})], 1, ['--model-name', 'nope'], {
    models: ['qwen-coder', 'scripted-model'],
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^ssr: --model-name nope is not served by http:\/\/127\.0\.0\.1:\d+\/v1; it serves: qwen-coder, scripted-model\n$/,
  );
  assert.equal(r.server.chatBodies.length, 0, 'no episode was started');
});

test('a model that loops is cut off by --max-turns, recorded and graded', async () => {
  const { summary, out, server } = await solve([tool('bash', { command: 'ls' })], 1, [
    '--max-turns',
    '3',
  ]);
  assert.deepEqual(
    [summary.outcomes[0].outcome, summary.outcomes[0].endReason, summary.outcomes[0].turns],
    ['unsolved', 'max-turns', 3],
  );
  assert.equal(server.chatBodies.length, 3);
  assert.match(attemptFile(out).trajectory.endDetail, /all 3 turns used/);
});

test('malformed tool-call arguments: an error observation each turn, the episode ends cleanly', async () => {
  const { summary, out } = await solve(
    [{ toolCalls: [{ name: 'bash', arguments: '{"command": ' }] }],
    1,
    ['--max-turns', '2'],
  );
  assert.deepEqual(
    [summary.outcomes[0].outcome, summary.outcomes[0].endReason],
    ['unsolved', 'max-turns'],
  );
  const t = attemptFile(out).trajectory;
  for (const turn of t.turns) {
    assert.equal(turn.tools[0].isError, true);
    assert.match(turn.tools[0].output, /not valid JSON/);
  }
});

test("a reply cut off with finish_reason 'length' ends the episode with that reason", async () => {
  const { summary, out } = await solve(
    [{ content: 'Let me think about the wrap function step by st', finishReason: 'length' }],
    1,
  );
  assert.deepEqual(
    [summary.outcomes[0].outcome, summary.outcomes[0].endReason],
    ['unsolved', 'length'],
  );
  assert.match(attemptFile(out).trajectory.endDetail, /cut off/);
});

test('--max-tokens ends the episode on its token total', async () => {
  const { summary, out } = await solve(
    [{ ...tool('bash', { command: 'ls' }), usage: { promptTokens: 100, completionTokens: 10 } }],
    1,
    ['--max-tokens', '250'],
  );
  assert.equal(summary.outcomes[0].endReason, 'max-tokens');
  const t = attemptFile(out).trajectory;
  assert.equal(t.turns.length, 3);
  assert.deepEqual(t.usage, { promptTokens: 300, completionTokens: 30 });
});

test('a model call slower than --wall-time ends the episode at the budget, reason recorded', async () => {
  let calls = 0;
  const slow: ScriptEntry = async (body) => {
    calls++;
    const turn = (body.messages as { role: string }[]).filter((m) => m.role === 'assistant').length;
    if (turn === 0) return tool('bash', { command: 'ls' });
    // The second answer comes long after the budget (far beyond any start-up time under load,
    // so the check below tells waiting from not waiting without being a timing test).
    await new Promise((r) => setTimeout(r, 120_000).unref());
    return tool('submit', {});
  };
  const started = Date.now();
  const r = await solveRun(slow, 1, ['--wall-time', '2']);
  assert.equal(r.code, 0, r.stderr);
  const o = r.summary.outcomes[0];
  assert.deepEqual([o.outcome, o.endReason], ['unsolved', 'wall-time']);
  assert.match(o.endDetail, /wall time of 2000 ms used up waiting for the model/);
  const t = attemptFile(r.out).trajectory;
  assert.ok(t.durationMs < 4000, `episode took ${t.durationMs} ms`);
  assert.ok(Date.now() - started < 100_000, 'the command did not wait for the slow answer');
  assert.equal(calls, 2, 'the slow call was not retried');
});

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
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';

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

async function solve(steps: ScriptStep[], attempts: number) {
  const server = await startScriptedServer(Array.from({ length: 40 }, () => policy(steps)));
  const out = mkdtempSync(join(tmpdir(), 'ssr-solve-'));
  try {
    const { stdout } = await run(
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
      ],
      { cwd: ROOT },
    );
    return { summary: JSON.parse(stdout), out, server };
  } finally {
    await server.close();
  }
}

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

test('a server that fails ends the attempt cleanly with the reason recorded', async () => {
  const { summary } = await solve([{ fault: 'server-error', status: 500 }], 1);
  assert.equal(summary.solved, 0);
  assert.equal(summary.outcomes[0].endReason, 'model-error');
});

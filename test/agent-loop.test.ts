/**
 * The agent loop and the solver role end to end on the shipped example artifact, driven by
 * an in-process scripted model: a real sandbox, real tools, real grading.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runEpisode } from '../src/agent/loop.js';
import { solveArtifact } from '../src/agent/solver.js';
import { defaultTools } from '../src/agent/tools/index.js';
import {
  type ChatMessage,
  type ModelClient,
  ModelError,
  type ModelRequest,
  type ModelResponse,
} from '../src/agent/types.js';
import { readArtifact } from '../src/artifact/artifact.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { stageHarness } from '../src/testing/run-tests.js';
import { type Baseline, computeBaseline } from '../src/validate/baseline.js';

const ROOT = resolve(import.meta.dirname, '..');
const artifact = readArtifact(join(ROOT, 'examples/artifacts/textkit-wrap-width'));
const host = SandboxHost.open();
let original: Snapshot;
let baseline: Baseline;

before(async () => {
  original = host.snapshotDir(join(ROOT, 'examples/repos/textkit'));
  const harness = stageHarness(artifact.testScript, artifact.testParser);
  baseline = await computeBaseline(host, original, harness, 2, {});
  harness.cleanup();
});
after(() => host.close());

type Step = ((req: ModelRequest) => Partial<ModelResponse>) | Partial<ModelResponse> | Error;
let callId = 0;
function call(
  name: string,
  args: unknown,
): NonNullable<ModelResponse['message']['toolCalls']>[number] {
  return {
    id: `call_${++callId}`,
    name,
    arguments: typeof args === 'string' ? args : JSON.stringify(args),
  };
}
const say = (...calls: ReturnType<typeof call>[]): Partial<ModelResponse> => ({
  message: { role: 'assistant', content: null, toolCalls: calls },
  finishReason: 'tool_calls',
  usage: { promptTokens: 100, completionTokens: 10 },
  logprobs: [{ token: 'token_id:42', tokenId: 42, logprob: -0.5 }],
});

/** Replays steps by position in the episode (the last one repeats); records every request. */
function scripted(steps: Step[]): ModelClient & { requests: ModelRequest[] } {
  const requests: ModelRequest[] = [];
  return {
    description: 'scripted',
    requests,
    async complete(req) {
      requests.push({ ...req, messages: [...req.messages] });
      const position = req.messages.filter((m) => m.role === 'assistant').length;
      const step = steps[Math.min(position, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      const r = typeof step === 'function' ? step(req) : step;
      return {
        message: { role: 'assistant', content: '' },
        finishReason: 'stop',
        latencyMs: 1,
        ...r,
      };
    },
  };
}

describe('the solver role with a scripted model', () => {
  test('a model that fixes the bug is solved, with the trajectory recorded', async () => {
    const model = scripted([
      say(call('bash', { command: 'grep -n "width" src/wrap.js' })),
      say(
        call('editor', {
          command: 'str_replace',
          path: 'src/wrap.js',
          old_str: 'line.length + 1 + word.length < width',
          new_str: 'line.length + 1 + word.length <= width',
        }),
      ),
      say(call('bash', { command: 'node --test test/ 2>&1 | tail -3' })),
      say(call('submit', { summary: 'fixed the off-by-one in wrap' })),
    ]);
    const result = await solveArtifact({ host, original, artifact, baseline, model, attempts: 1 });
    const [a] = result.attempts;
    assert.equal(a!.trajectory.endReason, 'submitted');
    assert.equal(a!.evaluation.solved, true, a!.evaluation.reason);
    assert.equal(result.solveRate, 1);
    assert.match(a!.patch, /^\+.*<= width/m);
    // The prompt is the reversed weakening, and the tools were offered.
    const first = model.requests[0]!;
    assert.match((first.messages[1] as { content: string }).content, /<test_changes>/);
    assert.deepEqual(
      first.tools.map((t) => t.name),
      ['bash', 'editor', 'submit'],
    );
    // Observations reached the model with the budget notice; token data was recorded.
    const toolMsg = model.requests[1]!.messages.at(-1) as Extract<ChatMessage, { role: 'tool' }>;
    assert.match(toolMsg.content, /word\.length < width/);
    assert.match(toolMsg.content, /\[127 turn\(s\) left\]/);
    assert.equal(a!.trajectory.turns[0]!.response!.logprobs![0]!.tokenId, 42);
    assert.equal(a!.trajectory.usage.completionTokens, 40);
  });

  test('a model that edits the oracle tests instead is not solved', async () => {
    const model = scripted([
      say(call('bash', { command: "sed -i '/aaaa bbbbb cc/d; /ab cd ef/d' test/wrap.test.js" })),
      say(call('submit', {})),
    ]);
    const result = await solveArtifact({ host, original, artifact, baseline, model, attempts: 2 });
    assert.equal(result.solved, 0);
    for (const a of result.attempts) {
      assert.equal(a.trajectory.endReason, 'submitted');
      assert.deepEqual(a.evaluation.discarded, ['test/wrap.test.js']);
      assert.equal(a.evaluation.reward, -1);
    }
  });
});

describe('episode endings', () => {
  const episode = (model: ModelClient, budget = {}) =>
    (async () => {
      const sb = host.create(original);
      try {
        return await runEpisode({
          model,
          sandbox: sb,
          system: 's',
          user: 'u',
          tools: defaultTools(),
          budget,
        });
      } finally {
        await sb.dispose();
      }
    })();

  test('a model that loops is cut off by the turn budget', async () => {
    const t = await episode(scripted([say(call('bash', { command: 'true' }))]), { maxTurns: 5 });
    assert.equal(t.endReason, 'max-turns');
    assert.equal(t.turns.length, 5);
    assert.equal(t.submitted, false);
  });

  test('a model error ends the episode with the reason recorded', async () => {
    const t = await episode(
      scripted([say(call('bash', { command: 'true' })), new ModelError('HTTP 500 x3', 'server')]),
    );
    assert.equal(t.endReason, 'model-error');
    assert.match(t.endDetail, /HTTP 500/);
    assert.equal(t.turns.length, 2);
    const ctx = await episode(
      scripted([new ModelError('maximum context length is 4096', 'context-length')]),
    );
    assert.equal(ctx.endReason, 'context-length');
  });

  test('malformed tool calls get an error observation and the episode goes on', async () => {
    const model = scripted([
      say(call('bash', '{"command": ')),
      say(call('teleport', {})),
      say(call('submit', {})),
    ]);
    const t = await episode(model);
    assert.equal(t.endReason, 'submitted');
    assert.equal(t.turns[0]!.tools[0]!.isError, true);
    assert.match(t.turns[1]!.tools[0]!.output, /Unknown tool/);
  });

  test('only the first of several tool calls runs; each gets an answer', async () => {
    const t = await episode(
      scripted([
        say(call('bash', { command: 'echo one' }), call('bash', { command: 'echo two' })),
        say(call('submit', {})),
      ]),
    );
    assert.match(t.turns[0]!.tools[0]!.output, /one/);
    assert.match(t.turns[0]!.tools[1]!.output, /one tool call per turn/);
  });

  test('replies without tool calls are nudged, then the episode ends', async () => {
    const t = await episode(
      scripted([{ message: { role: 'assistant', content: 'I think the bug is...' } }]),
    );
    assert.equal(t.endReason, 'idle');
    assert.equal(t.turns.length, 3);
    const cut = await episode(
      scripted([
        { message: { role: 'assistant', content: 'very long...' }, finishReason: 'length' },
      ]),
    );
    assert.equal(cut.endReason, 'length');
  });
});

describe('budgets', () => {
  const episode = (model: ModelClient, budget = {}, signal?: AbortSignal) =>
    (async () => {
      const sb = host.create(original);
      try {
        return await runEpisode({
          model,
          sandbox: sb,
          system: 's',
          user: 'u',
          tools: defaultTools(),
          budget,
          signal,
        });
      } finally {
        await sb.dispose();
      }
    })();

  test('the token budget of the episode ends it with max-tokens; calls are capped by what is left', async () => {
    // Each call reports 110 tokens (100 prompt + 10 completion).
    const model = scripted([say(call('bash', { command: 'true' }))]);
    const t = await episode(model, { maxTokens: 250, maxTokensPerTurn: 64 });
    assert.equal(t.endReason, 'max-tokens');
    assert.match(t.endDetail, /token budget of 250 used up \(330 tokens\)/);
    assert.equal(t.turns.length, 3);
    assert.deepEqual(
      model.requests.map((r) => r.maxTokens),
      [64, 64, 30],
    );
    const notice = model.requests[1]!.messages.at(-1) as { content: string };
    assert.match(notice.content, /\[127 turn\(s\), 140 token\(s\) left\]$/);
  });

  test('a model call that hangs is abandoned when the wall time runs out', async () => {
    let signal: AbortSignal | undefined;
    let timeoutMs: number | undefined;
    const hanging: ModelClient = {
      description: 'hangs',
      complete(req) {
        signal = req.signal;
        timeoutMs = req.timeoutMs;
        return new Promise(() => {});
      },
    };
    const started = performance.now();
    const t = await episode(hanging, { wallTimeMs: 400 });
    assert.equal(t.endReason, 'wall-time');
    assert.match(t.endDetail, /waiting for the model/);
    assert.ok(performance.now() - started < 3000, 'ended near the budget');
    assert.ok(timeoutMs! <= 400 && timeoutMs! > 0, `timeout ${timeoutMs}`);
    assert.equal(signal!.aborted, true, 'the request was cancelled');
  });

  test('a bash command is killed when the wall time runs out', async () => {
    const started = performance.now();
    const t = await episode(scripted([say(call('bash', { command: 'sleep 30', timeout: 60 }))]), {
      wallTimeMs: 1500,
    });
    assert.equal(t.endReason, 'wall-time');
    assert.match(t.turns[0]!.tools[0]!.output, /wall time ran out/);
    assert.ok(performance.now() - started < 10_000);
  });

  test('stopping the caller during a model call ends the episode as aborted, not as a model error', async () => {
    const stop = new AbortController();
    const model: ModelClient = {
      description: 'waits for the abort',
      complete(req) {
        setTimeout(() => stop.abort(), 50);
        return new Promise((_, reject) =>
          req.signal!.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    };
    const t = await episode(model, {}, stop.signal);
    assert.equal(t.endReason, 'aborted');
  });
});

describe('model errors in solver attempts', () => {
  test('not graded, left out of the solve rate; three in a row stop the attempts', async () => {
    const model = scripted([new ModelError('HTTP 500 x4', 'server')]);
    const result = await solveArtifact({ host, original, artifact, baseline, model, attempts: 5 });
    assert.equal(result.attempts.length, 3, 'the rest are not run');
    assert.equal(result.errors, 3);
    assert.equal(result.solved, 0);
    assert.equal(result.solveRate, null);
    for (const a of result.attempts) {
      assert.equal(a.trajectory.endReason, 'model-error');
      assert.match(a.error!, /HTTP 500/);
      assert.equal(a.evaluation.tests, null, 'no test run');
    }
  });

  test('an attempt that errs beside graded ones leaves the rate to the graded', async () => {
    let n = 0;
    const fix = [
      say(
        call('editor', {
          command: 'str_replace',
          path: 'src/wrap.js',
          old_str: 'line.length + 1 + word.length < width',
          new_str: 'line.length + 1 + word.length <= width',
        }),
      ),
      say(call('submit', {})),
    ];
    const model: ModelClient = {
      description: 'second episode fails',
      async complete(req) {
        const turn = req.messages.filter((m) => m.role === 'assistant').length;
        if (turn === 0) n++;
        if (n === 2) throw new ModelError('connection refused', 'unreachable');
        const r = fix[Math.min(turn, 1)]!;
        return {
          message: { role: 'assistant', content: '' },
          finishReason: 'stop',
          latencyMs: 1,
          ...r,
        };
      },
    };
    const result = await solveArtifact({ host, original, artifact, baseline, model, attempts: 3 });
    assert.deepEqual(
      result.attempts.map((a) => a.error === undefined),
      [true, false, true],
    );
    assert.deepEqual([result.solved, result.errors, result.solveRate], [2, 1, 1]);
  });
});

/**
 * The embedded GGUF client (node-llama-cpp) on a tiny random-weight model written by the test:
 * real loading, tokenizing and sampling on the CPU, then a whole agent episode in a real
 * sandbox. The model writes garbage, so what is checked is the plumbing: token accounting,
 * limits, prefix reuse, and that the episode ends cleanly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runEpisode } from '../src/agent/loop.js';
import { EmbeddedGgufClient, importNodeLlamaCpp } from '../src/agent/model/embedded-client.js';
import { defaultTools, toolSpecs } from '../src/agent/tools/index.js';
import { ModelError, type ModelRequest, type ModelResponse } from '../src/agent/types.js';
import { SandboxHost } from '../src/sandbox/index.js';
import { UsageError } from '../src/util/errors.js';
import { makeRepo, removeTempDirs, tempDir } from './helpers/sandbox-repo.js';
import { type TinyGguf, writeTinyGguf } from './helpers/tiny-gguf.js';

const installed = await importNodeLlamaCpp().then(
  () => true,
  () => false,
);
// CI installs the optional dependency, so there a missing one fails rather than skips.
const skip =
  installed || process.env.CI ? false : 'node-llama-cpp is not installed (optional dependency)';

let dir: string;
let tiny: TinyGguf;
let client: EmbeddedGgufClient | undefined;

before(async () => {
  dir = tempDir('ssr-gguf-test-');
  tiny = writeTinyGguf(join(dir, 'tiny.gguf'), { seed: 7 });
  // One thread: on a busy 2-core machine, more make llama.cpp's spin-waits crawl.
  if (installed) client = await EmbeddedGgufClient.load(tiny.path, { threads: 1, seed: 1 });
});
after(async () => {
  await client?.dispose();
  removeTempDirs();
});

const ask = (over: Partial<ModelRequest> = {}): ModelRequest => ({
  messages: [
    { role: 'system', content: 'You fix bugs.' },
    { role: 'user', content: 'The test fails. Fix the bug.' },
  ],
  tools: toolSpecs(defaultTools()),
  maxTokens: 16,
  ...over,
});

/** What every reply must satisfy, whatever the random model wrote. */
function checkAccounting(r: ModelResponse, maxTokens: number): void {
  const ids = r.completionTokenIds!;
  assert.match(r.model!, /^\w+\.gguf$/, 'the weights file reports itself as the model');
  assert.ok(r.usage!.promptTokens > 0);
  assert.equal(r.usage!.promptTokens, r.promptTokenIds!.length);
  assert.equal(r.usage!.completionTokens, ids.length);
  assert.ok(ids.length >= 1 && ids.length <= maxTokens, `${ids.length} tokens`);
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tiny.vocabSize));
  assert.deepEqual(
    r.logprobs!.map((l) => l.tokenId),
    ids,
  );
  assert.ok(r.logprobs!.every((l) => Number.isFinite(l.logprob) && l.logprob <= 0));
  // Without an end-of-generation token (</s> is id 2) the reply can only have hit the limit.
  assert.equal(r.finishReason, ids.at(-1) === 2 ? 'stop' : 'length');
  if (r.finishReason === 'length') assert.equal(ids.length, maxTokens);
  assert.equal(typeof r.message.content, 'string');
  assert.ok(r.latencyMs >= 0);
}

describe('embedded GGUF client', { skip }, () => {
  test('the tiny file is a small, deterministic GGUF v3', () => {
    const again = writeTinyGguf(join(dir, 'again.gguf'), { seed: 7 });
    assert.equal(again.bytes, tiny.bytes);
    assert.ok(tiny.bytes < 1_000_000, `${tiny.bytes} bytes`);
    assert.equal(client!.description, 'embedded:tiny.gguf');
  });

  test('generates text with usage, token ids and logprobs within maxTokens', async () => {
    const r = await client!.complete(ask());
    checkAccounting(r, 16);
    assert.notEqual(r.message.content, '');
    const short = await client!.complete(ask({ maxTokens: 3 }));
    checkAccounting(short, 3);
  });

  test('the tools are described in the prompt', async () => {
    const withTools = await client!.complete(ask({ maxTokens: 1 }));
    const without = await client!.complete(ask({ maxTokens: 1, tools: [] }));
    const described = JSON.stringify(toolSpecs(defaultTools())).length;
    // The byte-fallback vocabulary spends about a token per character.
    const extra = withTools.usage!.promptTokens - without.usage!.promptTokens;
    assert.ok(extra > described / 2, `${extra} extra prompt tokens`);
  });

  test('greedy decoding is repeatable, also when the evaluated prefix is reused', async () => {
    const first = await client!.complete(ask({ temperature: 0 }));
    // Only the last prompt token is evaluated anew here; the rest comes from the cache.
    const cached = await client!.complete(ask({ temperature: 0 }));
    const longer = ask({ temperature: 0 });
    longer.messages.push({ role: 'assistant', content: 'ok' }, { role: 'user', content: 'go on' });
    await client!.complete(longer);
    // Back to the shorter conversation: the cache must be cut back to its prefix exactly.
    const again = await client!.complete(ask({ temperature: 0 }));
    assert.deepEqual(cached.completionTokenIds, first.completionTokenIds);
    assert.deepEqual(again.completionTokenIds, first.completionTokenIds);
    assert.equal(again.message.content, first.message.content);
    // Probabilities see the whole context, so a stale or doubled prefix would move them. (A
    // token evaluated alone rather than in a batch already differs in the last digits.)
    assert.deepEqual(
      again.logprobs!.map((l) => l.logprob),
      cached.logprobs!.map((l) => l.logprob),
    );
  });

  test('concurrent calls are served one at a time, each as if alone', async () => {
    const requests = ['X', 'Y', 'Z'].map((u, i) =>
      ask({ messages: [{ role: 'user', content: u }], maxTokens: i + 2, temperature: 0 }),
    );
    const oneByOne = async () => {
      const out: ModelResponse[] = [];
      for (const r of requests) out.push(await client!.complete(r));
      return out;
    };
    // The second round starts from the state the first left, as the concurrent round does.
    await oneByOne();
    const expected = await oneByOne();
    const concurrent = await Promise.all(requests.map((r) => client!.complete(r)));
    for (const [i, r] of concurrent.entries()) {
      checkAccounting(r, i + 2);
      assert.deepEqual(r.logprobs, expected[i]!.logprobs);
    }
  });

  test('a prompt longer than the context is a context-length ModelError', async () => {
    const huge = ask({ messages: [{ role: 'user', content: 'x'.repeat(tiny.contextLength * 2) }] });
    await assert.rejects(
      client!.complete(huge),
      (e: unknown) => e instanceof ModelError && e.kind === 'context-length',
    );
    // The client still answers afterwards.
    checkAccounting(await client!.complete(ask({ maxTokens: 2 })), 2);
  });

  test('an aborted request is rejected', async () => {
    await assert.rejects(
      client!.complete(ask({ signal: AbortSignal.abort() })),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
  });

  /**
   * Runs an episode and checks it against the loop's contract for whichever way the garbage
   * went: cut off by the token limit, or short replies without a tool call until idle.
   */
  async function episode(model: EmbeddedGgufClient, maxTokensPerTurn: number) {
    const host = SandboxHost.open();
    const repo = makeRepo({ 'src/add.js': 'module.exports = (a, b) => a - b;\n' }, { git: true });
    const sandbox = host.create(host.snapshotDir(repo));
    try {
      const t = await runEpisode({
        model,
        sandbox,
        system: 'You fix bugs.',
        user: 'Fix src/add.js.',
        tools: defaultTools(),
        budget: { maxTurns: 3, maxTokensPerTurn, maxIdleTurns: 2 },
      });
      const replies = t.turns.map((turn) => {
        assert.equal(turn.error, undefined);
        checkAccounting(turn.response!, maxTokensPerTurn);
        return turn.response!;
      });
      const finishes = replies.map((r) => r.finishReason);
      if (t.endReason === 'length') assert.equal(finishes.at(-1), 'length');
      else if (t.endReason === 'idle') assert.deepEqual(finishes, ['stop', 'stop']);
      else assert.fail(`unexpected end: ${t.endReason} (${t.endDetail})`);
      assert.equal(t.submitted, false);
      assert.deepEqual(t.usage, {
        promptTokens: replies.reduce((n, r) => n + r.usage!.promptTokens, 0),
        completionTokens: replies.reduce((n, r) => n + r.usage!.completionTokens, 0),
      });
      // A later turn's prompt holds the earlier reply and the nudge after it.
      for (let i = 1; i < replies.length; i++) {
        const before = replies[i - 1]!.usage!;
        assert.ok(replies[i]!.usage!.promptTokens > before.promptTokens + before.completionTokens);
      }
      assert.equal(await sandbox.diff(), '');
    } finally {
      await sandbox.dispose();
      await host.close();
    }
  }

  test('an episode in a sandbox ends cleanly on garbage cut off by the token limit', async () => {
    await episode(client!, 16);
  });

  test('an episode with longer replies (these mostly end early, then idle)', async () => {
    // On this seed the replies end within a few tokens here, which takes the loop through the
    // nudge; another CPU may sample otherwise, and the contract is checked either way.
    const other = await EmbeddedGgufClient.load(tiny.path, { threads: 1, seed: 3 });
    try {
      await episode(other, 400);
    } finally {
      await other.dispose();
    }
    await assert.rejects(other.complete(ask()), /was disposed/);
  });
});

describe('embedded GGUF client: bad inputs', () => {
  const loadFails = async (path: string, message: RegExp) => {
    await assert.rejects(
      EmbeddedGgufClient.load(path),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  };

  test('a missing file', async () => {
    await loadFails(join(dir, 'nope.gguf'), /model file not found: .*nope\.gguf/);
  });

  test('a directory', async () => {
    await loadFails(dir, /not a file/);
  });

  test('a file that is not GGUF', async () => {
    const path = join(dir, 'model.bin');
    writeFileSync(path, 'PK\x03\x04 not a model at all');
    await loadFails(path, /not a GGUF model file/);
  });

  test('a GGUF file of an unknown version', async () => {
    const path = join(dir, 'future.gguf');
    writeFileSync(path, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(64, 0xff)]));
    await loadFails(path, /unsupported GGUF version 4294967295/);
  });

  test('a GGUF v3 header over garbage', { skip }, async () => {
    const path = join(dir, 'broken.gguf');
    const version = Buffer.alloc(4);
    version.writeUInt32LE(3);
    writeFileSync(path, Buffer.concat([Buffer.from('GGUF'), version, Buffer.alloc(64, 0xff)]));
    await loadFails(path, /cannot load model .*broken\.gguf/);
  });

  test('a truncated model', { skip }, async () => {
    const path = join(dir, 'truncated.gguf');
    writeFileSync(path, readFileSync(tiny.path).subarray(0, tiny.bytes / 2));
    await loadFails(path, /cannot load model .*truncated\.gguf: .*not within the file bounds/);
  });

  test('node-llama-cpp missing says how to install it', async () => {
    await assert.rejects(
      importNodeLlamaCpp('node-llama-cpp-that-does-not-exist'),
      (e: unknown) =>
        e instanceof UsageError && /not installed.*npm install node-llama-cpp/.test(e.message),
    );
  });
});

test('ssr solve --model tiny.gguf: the embedded model plays the solver, garbage ends cleanly', {
  skip,
}, async () => {
  const root = join(import.meta.dirname, '..');
  const out = tempDir('ssr-gguf-solve-');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli/main.ts'),
      'solve',
      join(root, 'examples/artifacts/textkit-wrap-width'),
      '--repo',
      join(root, 'examples/repos/textkit'),
      '--model',
      tiny.path,
      '--threads',
      '1',
      '--max-turns',
      '2',
      '--out',
      out,
      '--json',
    ],
    { cwd: root },
  );
  const summary = JSON.parse(stdout);
  assert.equal(summary.attempts, 1);
  assert.equal(summary.solved, 0);
  assert.match(summary.model, /^embedded:tiny\.gguf/);
  assert.ok(
    ['length', 'idle', 'max-turns', 'context-length'].includes(summary.outcomes[0].endReason),
    summary.outcomes[0].endReason,
  );
});

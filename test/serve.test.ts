/**
 * `ssr serve` over real HTTP on loopback: stepwise and managed episodes in real sandboxes,
 * graded by the real tests of examples/repos/textkit, with the scripted OpenAI-compatible
 * server as the trainer's endpoint; plus limits, bad requests, crashes and cleanup.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OpenAIChatClient } from '../src/agent/model/openai-client.js';
import type { ModelClient } from '../src/agent/types.js';
import { readArtifact } from '../src/artifact/artifact.js';
import { type RunningServer, startServer } from '../src/serve/index.js';
import {
  type ScriptedServer,
  type ScriptStep,
  startScriptedServer,
} from './helpers/scripted-openai-server.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPOS = join(ROOT, 'examples/repos');
const ARTIFACTS = join(ROOT, 'examples/artifacts');
const ARTIFACT = 'textkit-wrap-width';

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  assert.doesNotMatch(text, /\n\s+at /, 'no stack trace in any response');
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** An assistant message calling one tool, in the OpenAI shape a rollout worker sends. */
const toolMessage = (name: string, args: unknown, id = `call-${name}`) => ({
  message: {
    role: 'assistant',
    content: null,
    tool_calls: [{ id, type: 'function', function: { name, arguments: JSON.stringify(args) } }],
  },
  finish_reason: 'tool_calls',
  logprobs: { content: [{ token: 'token_id:11', logprob: -0.5 }] },
});

const VIEW = ['editor', { command: 'view', path: 'src/wrap.js', view_range: [10, 20] }] as const;
const FIX = [
  'editor',
  {
    command: 'str_replace',
    path: 'src/wrap.js',
    old_str: 'word.length < width',
    new_str: 'word.length <= width',
  },
] as const;
const WRONG_FIX = [
  'editor',
  {
    command: 'str_replace',
    path: 'src/wrap.js',
    old_str: 'word.length < width',
    new_str: 'word.length < width - 1',
  },
] as const;

/** A scripted policy: its reply depends only on how many assistant turns the episode has had. */
function policy(steps: ScriptStep[]) {
  return (body: Record<string, unknown>): ScriptStep => {
    const turn = (body.messages as { role: string }[]).filter((m) => m.role === 'assistant').length;
    return steps[Math.min(turn, steps.length - 1)]!;
  };
}
const scriptedTool = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  logprobs: [{ token: 'token_id:7', logprob: -0.25 }],
});

/** bwrap processes started by this process (other test files may run their own meanwhile). */
function bwrapDescendants(): number {
  const parent = new Map<number, number>();
  const bwrap: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const argv0 = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (argv0.endsWith('bwrap')) bwrap.push(Number(d));
    } catch {
      // The process ended while we looked.
    }
  }
  return bwrap.filter((pid) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) return true;
    }
    return false;
  }).length;
}

/** A model client that breaks the loop's contract: the episode crashes inside. */
const crashingClient: ModelClient = {
  description: 'crashing',
  complete: async () => ({}) as never,
};
/** A model client that throws: an ordinary model error, recorded by the loop. */
const throwingClient: ModelClient = {
  description: 'throwing',
  complete: async () => {
    throw new Error('the GPU caught fire');
  },
};

describe('ssr serve', () => {
  let server: RunningServer;
  let url: string;
  let openai: ScriptedServer;
  let outsideRoot: string;
  let linkRoot: string;
  const model = () => ({ baseURL: openai.baseURL, model: 'scripted-model' });

  before(async () => {
    // A repo root holding a symlink to a directory outside every root.
    linkRoot = mkdtempSync(join(tmpdir(), 'ssr-serve-roots-'));
    outsideRoot = mkdtempSync(join(tmpdir(), 'ssr-serve-outside-'));
    mkdirSync(join(outsideRoot, 'textkit'));
    symlinkSync(outsideRoot, join(linkRoot, 'escape'));
    openai = await startScriptedServer(
      Array.from({ length: 400 }, () =>
        policy([scriptedTool(...VIEW), scriptedTool(...FIX), scriptedTool('submit', {})]),
      ),
    );
    server = await startServer({
      repoRoots: [REPOS, linkRoot],
      artifactRoots: [ARTIFACTS],
      port: 0,
      log: () => {},
      modelClient: (c) =>
        c.model === 'crash'
          ? crashingClient
          : c.model === 'throw'
            ? throwingClient
            : new OpenAIChatClient({ baseURL: c.baseURL, model: c.model, maxRetries: 0 }),
    });
    url = server.url;
  });

  after(async () => {
    const dir = server.host.dir;
    await server.close();
    await openai.close();
    assert.equal(existsSync(dir), false, 'the host removed its sandbox directory');
    rmSync(linkRoot, { recursive: true, force: true });
    rmSync(outsideRoot, { recursive: true, force: true });
  });

  test('GET /openapi.json is an OpenAPI 3 document listing every route', async () => {
    const { status, body } = await call(url, 'GET', '/openapi.json');
    assert.equal(status, 200);
    assert.match(body.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof body.info.title, 'string');
    const ops = Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'GET /healthz',
      'POST /v1/episodes',
      'GET /v1/episodes/{id}',
      'DELETE /v1/episodes/{id}',
      'POST /v1/episodes/{id}/step',
      'POST /v1/episodes/{id}/run',
      'POST /v1/rollouts',
    ]) {
      assert.ok(ops.includes(op), `${op} is documented`);
    }
    for (const item of Object.values(body.paths as Record<string, Record<string, unknown>>)) {
      for (const op of Object.values(item) as { responses: Record<string, unknown> }[]) {
        assert.ok(Object.keys(op.responses).length > 0);
      }
    }
    const step = body.paths['/v1/episodes/{id}/step'].post;
    assert.equal(step.parameters[0].in, 'path');
    assert.ok(body.components.schemas.CreateEpisode);
    assert.ok(body.components.schemas.Error);
    const health = await call(url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('x-ssr-replica'), server.replicaId);
  });

  test('stepwise solver: view, fix, submit -> reward 1; the episode is gone after DELETE', async () => {
    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.episodeId;
    assert.ok(id.startsWith(`${server.replicaId}.`), 'the id carries the replica id');
    assert.equal(created.body.policyVersion, null, 'no policyVersion given');
    const obs = created.body.observation;
    assert.deepEqual(
      obs.messages.map((m: { role: string }) => m.role),
      ['system', 'user'],
    );
    assert.match(obs.messages[1].content, /word\.length|wrap/);
    assert.deepEqual(
      obs.tools.map((t: { function: { name: string } }) => t.function.name),
      ['bash', 'editor', 'submit'],
    );
    assert.equal(obs.tools[0].type, 'function');

    const viewed = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage(...VIEW, 'c1'));
    assert.equal(viewed.status, 200);
    assert.equal(viewed.body.done, false);
    assert.equal(viewed.body.observation.messages.length, 1);
    assert.equal(viewed.body.observation.messages[0].role, 'tool');
    assert.equal(viewed.body.observation.messages[0].tool_call_id, 'c1');
    assert.match(viewed.body.observation.messages[0].content, /word\.length < width/);

    const fixed = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage(...FIX, 'c2'));
    assert.equal(fixed.body.done, false);
    const done = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage('submit', {}));
    assert.equal(done.status, 200);
    assert.equal(done.body.done, true);
    assert.equal(done.body.endReason, 'submitted');
    assert.equal(done.body.reward, 1);
    assert.equal(done.body.evaluation.solved, true);
    assert.match(done.body.patch, /word\.length <= width/);

    const state = await call(url, 'GET', `/v1/episodes/${id}`);
    assert.equal(state.body.status, 'done');
    assert.equal(state.body.reward, 1);
    assert.equal(state.body.trajectory.turns.length, 3);
    assert.equal(state.body.trajectory.turns[0].response.logprobs[0].tokenId, 11);
    assert.deepEqual(state.body.trajectory.tools, obs.tools);
    assert.equal(state.body.trajectory.messages.length, 2 + 3 * 2);
    // Stepwise, the worker's replies name no model.
    assert.deepEqual(state.body.trajectory.policy, { model: null, version: null });

    const again = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage('submit', {}));
    assert.equal(again.status, 409);
    assert.equal(again.body.error.kind, 'episode-done');

    assert.equal((await call(url, 'DELETE', `/v1/episodes/${id}`)).status, 200);
    const gone = await call(url, 'GET', `/v1/episodes/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.kind, 'not-found');
  });

  test('stepwise solver with a wrong fix -> reward -1', async () => {
    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'solver',
      repo: join(REPOS, 'textkit'),
      artifact: join(ARTIFACTS, ARTIFACT),
      budget: { maxTurns: 10 },
    });
    assert.equal(created.status, 201);
    const id = created.body.episodeId;
    await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage(...WRONG_FIX));
    const done = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage('submit', {}));
    assert.equal(done.body.done, true);
    assert.equal(done.body.reward, -1);
    assert.equal(done.body.evaluation.solved, false);
    assert.ok(done.body.evaluation.failing.length > 0);
    await call(url, 'DELETE', `/v1/episodes/${id}`);
  });

  test('managed /run with the trainer endpoint -> reward 1, token data recorded', async () => {
    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: { ...model(), apiKey: 'sk-secret' },
    });
    assert.equal(created.status, 201);
    const id = created.body.episodeId;
    const run = await call(url, 'POST', `/v1/episodes/${id}/run`);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.status, 'done');
    assert.equal(run.body.reward, 1);
    assert.equal(run.body.trajectory.endReason, 'submitted');
    assert.equal(run.body.trajectory.turns[0].response.logprobs[0].tokenId, 7);
    assert.doesNotMatch(JSON.stringify(run.body), /sk-secret/, 'the API key is never echoed');
    const twice = await call(url, 'POST', `/v1/episodes/${id}/run`);
    assert.equal(twice.status, 409);
    await call(url, 'DELETE', `/v1/episodes/${id}`);
  });

  test('/run without a model is refused; a stepwise episode can be handed to /run midway', async () => {
    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
    });
    const id = created.body.episodeId;
    const noModel = await call(url, 'POST', `/v1/episodes/${id}/run`);
    assert.equal(noModel.status, 400);
    assert.equal(noModel.body.error.kind, 'no-model');
    // One step by the client, the rest by the server: the policy continues from turn 1.
    await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage(...VIEW));
    const run = await call(url, 'POST', `/v1/episodes/${id}/run`, { model: model() });
    assert.equal(run.body.reward, 1);
    assert.equal(run.body.trajectory.turns.length, 3);
    await call(url, 'DELETE', `/v1/episodes/${id}`);
  });

  test('one-shot /v1/rollouts with a fixing policy -> reward 1, nothing left behind', async () => {
    const r = await call(url, 'POST', '/v1/rollouts', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: model(),
      policyVersion: 'step-41',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.reward, 1);
    assert.equal(r.body.policyVersion, 'step-41', 'the worker’s tag, echoed');
    assert.deepEqual(r.body.trajectory.policy, { model: 'scripted-model', version: 'step-41' });
    assert.equal(r.body.evaluation.solved, true);
    assert.equal(r.body.trajectory.turns.length, 3);
    const gone = await call(url, 'GET', `/v1/episodes/${r.body.episodeId}`);
    assert.equal(gone.status, 404);
    assert.equal(server.stats().liveSandboxes, 0);
  });

  test('an injector episode: its artifact is validated; valid -> reward null with a note', async () => {
    const a = readArtifact(join(ARTIFACTS, ARTIFACT));
    const files: [string, string][] = [
      ['test_script.sh', a.testScript],
      ['test_files.txt', `${a.testFiles.join('\n')}\n`],
      ['test_parser.py', a.testParser],
      ['bug_inject.diff', a.bugDiff],
      ['test_weaken.diff', a.weakenDiff],
    ];
    const write = files
      .map(([name, text]) => `cat > /tmp/ssr_artifact/${name} <<'SSR_EOF'\n${text}SSR_EOF`)
      .join('\n');
    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'injector',
      repo: 'textkit',
      strategy: 'removal',
    });
    assert.equal(created.status, 201);
    const id = created.body.episodeId;
    assert.match(created.body.observation.messages[1].content, /test_weaken\.diff/);
    const wrote = await call(
      url,
      'POST',
      `/v1/episodes/${id}/step`,
      toolMessage('bash', { command: `mkdir -p /tmp/ssr_artifact\n${write}` }),
    );
    assert.match(wrote.body.observation.messages[0].content, /exit code 0/);
    const done = await call(url, 'POST', `/v1/episodes/${id}/step`, toolMessage('submit', {}));
    assert.equal(done.body.done, true);
    assert.equal(done.body.reward, null);
    assert.equal(done.body.validation.valid, true);
    assert.match(done.body.rewardNote, /solve rate/);
    assert.equal(done.body.artifact.bug_inject_diff, a.bugDiff);
    await call(url, 'DELETE', `/v1/episodes/${id}`);

    const empty = await call(url, 'POST', '/v1/episodes', { role: 'injector', repo: 'textkit' });
    const nothing = await call(
      url,
      'POST',
      `/v1/episodes/${empty.body.episodeId}/step`,
      toolMessage('submit', {}),
    );
    assert.equal(nothing.body.reward, -1);
    assert.match(nothing.body.rewardNote, /did not write/);
    await call(url, 'DELETE', `/v1/episodes/${empty.body.episodeId}`);
  });

  test('50 concurrent rollouts all get a reward; no sandbox or bwrap process is left', async (t) => {
    const bwrapBefore = bwrapDescendants();
    const instant = await startScriptedServer(
      Array.from({ length: 60 }, () => scriptedTool('submit', {})),
    );
    try {
      const t0 = performance.now();
      const replies = await Promise.all(
        Array.from({ length: 50 }, () =>
          call(url, 'POST', '/v1/rollouts', {
            role: 'solver',
            repo: 'textkit',
            artifact: ARTIFACT,
            model: { baseURL: instant.baseURL, model: 'scripted-model' },
          }),
        ),
      );
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      for (const r of replies) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.reward, -1, 'submitting the buggy start state is not a fix');
      }
      assert.equal(new Set(replies.map((r) => r.body.episodeId)).size, 50);
      t.diagnostic(`50 concurrent rollouts in ${seconds} s`);
    } finally {
      await instant.close();
    }
    const stats = server.stats();
    assert.equal(stats.activeEpisodes, 0);
    assert.equal(stats.liveSandboxes, 0);
    assert.deepEqual(
      readdirSync(server.host.dir).filter((d) => d !== 'layers'),
      [],
      'no sandbox directory is left',
    );
    assert.equal(bwrapDescendants(), bwrapBefore);
  });

  test('bad requests get 4xx with a message and a kind', async () => {
    const expect = async (
      method: string,
      path: string,
      body: unknown,
      status: number,
      kind: string,
    ) => {
      const r = await call(url, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.kind, kind);
      assert.ok(r.body.error.message.length > 0);
      return r;
    };
    await expect('POST', '/v1/episodes', '{"role": "solver",', 400, 'bad-request');
    await expect('POST', '/v1/episodes', { role: 'judge', repo: 'textkit' }, 400, 'bad-request');
    await expect('POST', '/v1/episodes', { role: 'solver' }, 400, 'bad-request');
    await expect('POST', '/v1/episodes', { role: 'solver', repo: 'textkit' }, 400, 'bad-request');
    await expect(
      'POST',
      '/v1/episodes',
      { role: 'injector', repo: 'textkit', policyVersion: 7 },
      400,
      'bad-request',
    );
    for (const repo of ['/etc', '../', '../../', 'textkit/../../..', '/work/../etc']) {
      await expect(
        'POST',
        '/v1/episodes',
        { role: 'solver', repo, artifact: ARTIFACT },
        403,
        'forbidden-path',
      );
    }
    const link = await expect(
      'POST',
      '/v1/episodes',
      { role: 'solver', repo: 'escape/textkit', artifact: ARTIFACT },
      403,
      'forbidden-path',
    );
    assert.match(link.body.error.message, /symlink/);
    await expect(
      'POST',
      '/v1/episodes',
      { role: 'solver', repo: 'textkit', artifact: '../repos/textkit' },
      403,
      'forbidden-path',
    );
    await expect(
      'POST',
      '/v1/episodes',
      { role: 'solver', repo: 'no-such-repo', artifact: ARTIFACT },
      404,
      'not-found',
    );
    const a = readArtifact(join(ARTIFACTS, ARTIFACT));
    const invalid = await expect(
      'POST',
      '/v1/episodes',
      {
        role: 'solver',
        repo: 'textkit',
        artifact: {
          test_script: a.testScript,
          test_files: ['test/missing.test.js'],
          test_parser: a.testParser,
          bug_inject_diff: a.bugDiff,
          test_weaken_diff: a.weakenDiff,
        },
      },
      422,
      'invalid-artifact',
    );
    assert.equal(invalid.body.error.failedCheck.id, 1);
    await expect(
      'POST',
      '/v1/episodes',
      { role: 'solver', repo: 'textkit', artifact: { test_script: 'x' } },
      400,
      'bad-request',
    );
    await expect('GET', `/v1/episodes/${server.replicaId}.0000`, undefined, 404, 'not-found');
    await expect('GET', '/v1/episodes/other-replica.0000', undefined, 404, 'wrong-replica');
    await expect(
      'POST',
      `/v1/episodes/${server.replicaId}.0000/step`,
      toolMessage('submit', {}),
      404,
      'not-found',
    );
    await expect('GET', '/v1/nothing-here', undefined, 404, 'not-found');

    const created = await call(url, 'POST', '/v1/episodes', { role: 'injector', repo: 'textkit' });
    const id = created.body.episodeId;
    await expect('POST', `/v1/episodes/${id}/step`, { message: 'hi' }, 400, 'bad-request');
    await expect('POST', `/v1/episodes/${id}/step`, {}, 400, 'bad-request');
    await call(url, 'DELETE', `/v1/episodes/${id}`);
    await expect('POST', `/v1/episodes/${id}/step`, toolMessage('submit', {}), 404, 'not-found');
  });

  test('a crash inside an episode fails that episode only; the server keeps serving', async () => {
    const crashed = await call(url, 'POST', '/v1/rollouts', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: { baseURL: 'http://127.0.0.1:9/v1', model: 'crash' },
    });
    assert.equal(crashed.status, 500);
    assert.equal(crashed.body.error.kind, 'episode-failed');
    assert.match(crashed.body.error.message, /failed/);

    const created = await call(url, 'POST', '/v1/episodes', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: { baseURL: 'http://127.0.0.1:9/v1', model: 'crash' },
    });
    const id = created.body.episodeId;
    const run = await call(url, 'POST', `/v1/episodes/${id}/run`);
    assert.equal(run.status, 500);
    const state = await call(url, 'GET', `/v1/episodes/${id}`);
    assert.equal(state.body.status, 'failed');
    assert.ok(state.body.error.length > 0);
    await call(url, 'DELETE', `/v1/episodes/${id}`);

    // A model that throws is an ordinary model error: the episode ends and is graded.
    const thrown = await call(url, 'POST', '/v1/rollouts', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: { baseURL: 'http://127.0.0.1:9/v1', model: 'throw' },
    });
    assert.equal(thrown.status, 200);
    assert.equal(thrown.body.trajectory.endReason, 'model-error');
    assert.equal(thrown.body.reward, -1);

    assert.equal((await call(url, 'GET', '/healthz')).body.ok, true);
    const after = await call(url, 'POST', '/v1/rollouts', {
      role: 'solver',
      repo: 'textkit',
      artifact: ARTIFACT,
      model: model(),
    });
    assert.equal(after.body.reward, 1);
    assert.equal(server.stats().liveSandboxes, 0);
  });
});

describe('ssr serve limits', () => {
  test('a full replica answers 429 with Retry-After; idle episodes expire and free their slot', async () => {
    const server = await startServer({
      repoRoots: [REPOS],
      port: 0,
      maxEpisodes: 1,
      episodeTtlMs: 1200,
      replicaId: 'limits-1',
      log: () => {},
    });
    try {
      const first = await call(server.url, 'POST', '/v1/episodes', {
        role: 'injector',
        repo: 'textkit',
      });
      assert.equal(first.status, 201);
      assert.ok(first.body.episodeId.startsWith('limits-1.'));
      const full = await call(server.url, 'POST', '/v1/episodes', {
        role: 'injector',
        repo: 'textkit',
      });
      assert.equal(full.status, 429);
      assert.equal(full.body.error.kind, 'too-many-episodes');
      assert.ok(Number(full.headers.get('retry-after')) > 0);
      assert.equal(server.stats().liveSandboxes, 1);

      const deadline = Date.now() + 10_000;
      while (server.stats().activeEpisodes > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(server.stats().liveSandboxes, 0, 'the expired episode was disposed');
      const gone = await call(server.url, 'GET', `/v1/episodes/${first.body.episodeId}`);
      assert.equal(gone.status, 404);
      const next = await call(server.url, 'POST', '/v1/episodes', {
        role: 'injector',
        repo: 'textkit',
      });
      assert.equal(next.status, 201);
    } finally {
      const dir = server.host.dir;
      await server.close();
      assert.equal(existsSync(dir), false);
    }
    const refused = await fetch(`${server.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    assert.equal(refused, 'refused', 'closed servers stop listening');
  });
});

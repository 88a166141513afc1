/**
 * `ssr serve --run-root`: the trainer's policy for a `--sync file` self-play run, posted over
 * HTTP instead of written to the run folder; and what the server refuses.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { readPolicy, waitForPolicy, writeJsonAtomic } from '../src/selfplay/sync.js';
import { ApiError, type RunningServer, RunSyncRoot, startServer } from '../src/serve/index.js';
import { RunStore } from '../src/store/run-store.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPOS = join(ROOT, 'examples/repos');

let server: RunningServer;
let bare: RunningServer;
let runRoot: string;
let outside: string;

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.doesNotMatch(text, /\n\s+at /, 'no stack trace in any response');
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  return { status: res.status, body: JSON.parse(text) as any };
}

/** A run folder as `ssr selfplay --sync file` leaves it after `steps` exported steps. */
function makeRun(dir: string, steps: number): void {
  RunStore.openForWriting(dir, { sync: 'file' }).close();
  for (let n = 0; n < steps; n++) {
    writeJsonAtomic(join(dir, 'sync', `step-${n}.ready.json`), {
      step: n,
      rows: 4,
      export: `step-${n}.jsonl`,
      policy_version: n === 0 ? null : `v${n}`,
    });
  }
}

before(async () => {
  runRoot = mkdtempSync(join(tmpdir(), 'ssr-runs-'));
  outside = mkdtempSync(join(tmpdir(), 'ssr-runs-outside-'));
  makeRun(join(runRoot, 'r1'), 2);
  makeRun(join(outside, 'elsewhere'), 1);
  symlinkSync(join(outside, 'elsewhere'), join(runRoot, 'linked'));
  mkdirSync(join(runRoot, 'not-a-run'));
  server = await startServer({ repoRoots: [REPOS], runRoot, port: 0, log: () => {} });
  bare = await startServer({ repoRoots: [REPOS], port: 0, log: () => {} });
});

after(async () => {
  await server.close();
  await bare.close();
  rmSync(runRoot, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

test('POST /v1/runs/{run}/policy writes sync/policy-N.json, which the run waits for', async () => {
  const dir = join(runRoot, 'r1');
  const waiting = waitForPolicy(dir, 0, { pollMs: 20, timeoutMs: 10_000 });
  const r = await call(server.url, 'POST', '/v1/runs/r1/policy', {
    after_step: 0,
    version: 'v1',
    model: 'policy-v1',
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, {
    runId: 'r1',
    afterStep: 0,
    file: 'sync/policy-0.json',
    policy: { version: 'v1', model: 'policy-v1' },
  });
  assert.deepEqual(await waiting, { version: 'v1', model: 'policy-v1' });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'sync', 'policy-0.json'), 'utf8')), {
    version: 'v1',
    model: 'policy-v1',
  });
  assert.deepEqual(
    readdirSync(join(dir, 'sync')).filter((f) => f.includes('.tmp')),
    [],
    'written whole',
  );

  // The same policy again is fine; another one for the same step is refused.
  const again = await call(server.url, 'POST', '/v1/runs/r1/policy', {
    after_step: 0,
    version: 'v1',
    model: 'policy-v1',
  });
  assert.equal(again.status, 200);
  const other = await call(server.url, 'POST', '/v1/runs/r1/policy', {
    after_step: 0,
    version: 'v9',
  });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.kind, 'policy-exists');
  assert.deepEqual(readPolicy(dir, 0), {
    status: 'ok',
    policy: { version: 'v1', model: 'policy-v1' },
  });

  const sync = await call(server.url, 'GET', '/v1/runs/r1/sync');
  assert.equal(sync.status, 200);
  assert.deepEqual(sync.body, {
    runId: 'r1',
    ready: [
      { step: 0, rows: 4, export: 'step-0.jsonl', policy_version: null },
      { step: 1, rows: 4, export: 'step-1.jsonl', policy_version: 'v1' },
    ],
    policies: [{ after_step: 0, version: 'v1', model: 'policy-v1' }],
    awaiting: 1,
  });
});

test('refused: a step not exported yet (409), bad run ids (400), unknown or outside runs (404/403), bad bodies, no --run-root', async () => {
  const expect = async (
    base: string,
    method: string,
    path: string,
    body: unknown,
    status: number,
    kind: string,
  ) => {
    const r = await call(base, method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.kind, kind, path);
    assert.ok(r.body.error.message.length > 0);
    return r;
  };
  const ok = { after_step: 1, version: 'v2' };
  const notReady = await expect(
    server.url,
    'POST',
    '/v1/runs/r1/policy',
    { after_step: 5, version: 'v6' },
    409,
    'not-ready',
  );
  assert.match(notReady.body.error.message, /step-5 .* \(no sync\/step-5\.ready\.json\)/);
  assert.equal(readPolicy(join(runRoot, 'r1'), 5).status, 'missing', 'nothing written');
  for (const id of ['..%2F..%2Fetc', 'a%2Fb', 'r1%00', 'r%201', '..%2Fr1']) {
    await expect(server.url, 'POST', `/v1/runs/${id}/policy`, ok, 400, 'bad-request');
  }
  // HTTP clients resolve a bare `..` segment before sending; the check itself refuses it too.
  const runs = RunSyncRoot.open(runRoot);
  for (const id of ['..', '.', '../r1', 'r1/']) {
    assert.throws(
      () => runs.runDir(id),
      (e: unknown) => e instanceof ApiError && e.status === 400,
      id,
    );
  }
  assert.equal(runs.runDir('r1'), join(realpathSync(runRoot), 'r1'));
  await expect(server.url, 'POST', '/v1/runs/nope/policy', ok, 404, 'not-found');
  await expect(server.url, 'POST', '/v1/runs/not-a-run/policy', ok, 404, 'not-found');
  await expect(server.url, 'GET', '/v1/runs/nope/sync', undefined, 404, 'not-found');
  await expect(server.url, 'POST', '/v1/runs/linked/policy', ok, 403, 'forbidden-path');
  assert.equal(readPolicy(join(outside, 'elsewhere'), 1).status, 'missing');
  for (const bad of [
    { after_step: 1 },
    { after_step: -1, version: 'v' },
    { after_step: 1, version: '' },
    { after_step: 1, version: 'v', extra: true },
    { after_step: 1.5, version: 'v' },
  ]) {
    await expect(server.url, 'POST', '/v1/runs/r1/policy', bad, 400, 'bad-request');
  }
  await expect(bare.url, 'POST', '/v1/runs/r1/policy', ok, 404, 'not-found');
  await expect(bare.url, 'GET', '/v1/runs/r1/sync', undefined, 404, 'not-found');
});

test('the run endpoints are in the OpenAPI document', async () => {
  const { body } = await call(server.url, 'GET', '/openapi.json');
  assert.ok(body.paths['/v1/runs/{runId}/policy'].post);
  assert.ok(body.paths['/v1/runs/{runId}/sync'].get);
  assert.ok(body.components.schemas.PolicyPost);
  assert.ok(body.components.schemas.RunSync);
  assert.ok(body.components.schemas.CreateEpisode.properties.policyVersion);
  assert.ok(body.components.schemas.EpisodeState.properties.policyVersion);
});

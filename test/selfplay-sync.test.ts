/**
 * `ssr selfplay --sync file`, the online step contract: the sync module on its own (policy
 * files, waiting, step exports, catching up after a crash), a self-play run in process with a
 * scripted trainer that bumps the policy after every step, and the CLI killed with SIGKILL
 * while it waits for the trainer, then resumed.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { OpenAIChatClient } from '../src/agent/model/openai-client.js';
import type { ModelClient } from '../src/agent/types.js';
import type { ExportRow } from '../src/export/rows.js';
import { injectBugs } from '../src/inject/pipeline.js';
import { settingsFrom } from '../src/selfplay/config.js';
import { runSelfPlay, type SelfPlayEvent } from '../src/selfplay/scheduler.js';
import {
  FileSync,
  readPolicy,
  type SyncEvent,
  SyncTimeout,
  waitForPolicy,
  writeStepExport,
} from '../src/selfplay/sync.js';
import { type EpisodeRecordV1, episodePolicy, RunStore } from '../src/store/run-store.js';
import { startScriptedServer } from './helpers/scripted-openai-server.js';
import { type KnownBug, selfPlayPolicy } from './helpers/selfplay-policy.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const REPO = join(ROOT, 'examples/repos/textkit');
const CLI = [join(ROOT, 'src/cli/main.ts')];

const readRows = (path: string): ExportRow[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ExportRow);

/** Finished episode records in the journal file (what another process sees). */
const journalEpisodes = (dir: string): EpisodeRecordV1[] => {
  const path = join(dir, 'journal.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string })
    .filter((r): r is EpisodeRecordV1 => r.kind === 'episode');
};

/** A trainer's write: whole, through a temporary file and a rename. */
function writePolicyFile(dir: string, step: number, policy: unknown): void {
  mkdirSync(join(dir, 'sync'), { recursive: true });
  const path = join(dir, 'sync', `policy-${step}.json`);
  writeFileSync(`${path}.tmp`, JSON.stringify(policy));
  renameSync(`${path}.tmp`, path);
}

async function until(what: string, ok: () => boolean, timeoutMs = 600_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the sync module', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssr-sync-unit-'));
  });

  test('readPolicy: missing, not JSON, wrong shape, and a good one (extra keys allowed)', () => {
    const run = join(dir, 'read');
    assert.deepEqual(readPolicy(run, 0), { status: 'missing' });
    mkdirSync(join(run, 'sync'), { recursive: true });
    writeFileSync(join(run, 'sync', 'policy-0.json'), '{"version": "v1"');
    const half = readPolicy(run, 0);
    assert.equal(half.status, 'invalid');
    assert.match((half as { problem: string }).problem, /^not JSON/);
    writeFileSync(join(run, 'sync', 'policy-0.json'), '{"version": 3}');
    const wrong = readPolicy(run, 0);
    assert.match(
      (wrong as { problem: string }).problem,
      /^version: .*string.*\(expected \{"version": "<non-empty string>"/,
    );
    writeFileSync(join(run, 'sync', 'policy-0.json'), '{"version": ""}');
    assert.equal(readPolicy(run, 0).status, 'invalid');
    writeFileSync(
      join(run, 'sync', 'policy-0.json'),
      '{"version": "v1", "model": "m1", "checkpoint": "/ckpt/1"}',
    );
    assert.deepEqual(readPolicy(run, 0), {
      status: 'ok',
      policy: { version: 'v1', model: 'm1', checkpoint: '/ckpt/1' },
    });
  });

  test('waitForPolicy: a malformed file is reported once and waited past; timeout; stop', async () => {
    const run = join(dir, 'wait');
    mkdirSync(join(run, 'sync'), { recursive: true });
    writeFileSync(join(run, 'sync', 'policy-2.json'), '{"vers');
    const problems: string[] = [];
    setTimeout(() => writePolicyFile(run, 2, { version: 'v3' }), 400);
    const t0 = Date.now();
    const policy = await waitForPolicy(run, 2, {
      pollMs: 20,
      onProblem: (m) => problems.push(m),
    });
    assert.deepEqual(policy, { version: 'v3' });
    assert.ok(Date.now() - t0 >= 350, 'waited for the good file');
    assert.equal(problems.length, 1, 'one line per distinct problem, not one per poll');
    assert.match(problems[0]!, /^sync\/policy-2\.json is not a valid policy file: not JSON/);

    const err = await waitForPolicy(run, 5, { timeoutMs: 150, pollMs: 20 }).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SyncTimeout);
    assert.equal(err.exitCode, 4);
    assert.match(
      err.message,
      /^no policy from the trainer for step-5 within 0\.15 s \(sync\/policy-5\.json was never written\); stopped/,
    );

    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    assert.equal(await waitForPolicy(run, 6, { signal: stop.signal }), null);
  });

  test('writeStepExport and FileSync: the step’s rows and ready file; catch-up after a crash; the model switch', async () => {
    const runDir = join(dir, 'run-x');
    const store = RunStore.openForWriting(runDir, { sync: 'file' });
    const episode = (id: string, step: number, extra: Partial<EpisodeRecordV1>) =>
      store.append({
        kind: 'episode',
        id,
        step,
        role: 'solver',
        repo: 'textkit',
        artifactId: 'a',
        groupId: `s${step}-a`,
        attempt: Number(id.slice(-1)),
        outcome: 'solved',
        reason: '',
        reward: 1,
        endReason: 'submitted',
        turns: 1,
        usage: { promptTokens: 1, completionTokens: 1 },
        durationMs: 1,
        trajectory: null,
        model: 'scripted',
        finishedAt: new Date().toISOString(),
        ...extra,
      });
    episode('s0-a-a0', 0, { policy: { model: 'm', version: 'v0' } });
    episode('s0-a-a1', 0, {
      reward: -1,
      outcome: 'unsolved',
      policy: { model: 'm', version: 'v0' },
    });
    episode('s0-inj0', 0, {
      role: 'injector',
      groupId: 's0-injector',
      outcome: 'valid',
      reward: null,
      policy: { model: 'm', version: 'v0' },
    });
    episode('s1-a-a0', 1, { policy: { model: 'm', version: 'v1' } });
    const ready = writeStepExport(store, 0, 'v0');
    assert.deepEqual(ready, {
      step: 0,
      rows: 2,
      export: 'step-0.jsonl',
      policy_version: 'v0',
      pending: 1,
    });
    const rows = readRows(join(runDir, 'sync', 'step-0.jsonl'));
    assert.deepEqual(
      rows.map((r) => [r.episode_id, r.policy_version, r.policy_model, r.reward, r.group_size]),
      [
        ['s0-a-a0', 'v0', 'm', 1, 2],
        ['s0-a-a1', 'v0', 'm', -1, 2],
      ],
    );
    assert.deepEqual(
      JSON.parse(readFileSync(join(runDir, 'sync', 'step-0.ready.json'), 'utf8')),
      ready,
    );
    assert.deepEqual(
      readdirSync(join(runDir, 'sync')).filter((f) => f.includes('.tmp')),
      [],
      'no temporary file left',
    );

    // A crash after step 1's record, before its ready file: catch-up writes it, with the
    // version its episodes were sampled with.
    store.append({ kind: 'step', step: 1, metrics: { step: 1 } as never });
    const events: SyncEvent[] = [];
    const switched: string[] = [];
    const client: ModelClient = {
      description: 'fake',
      complete: () => Promise.reject(new Error('unused')),
      setModel: (name) => switched.push(name),
    };
    const sync = new FileSync(store, client, { emit: (e) => events.push(e), pollMs: 10 });
    sync.catchUp();
    assert.deepEqual(JSON.parse(readFileSync(join(runDir, 'sync', 'step-1.ready.json'), 'utf8')), {
      step: 1,
      rows: 1,
      export: 'step-1.jsonl',
      policy_version: 'v1',
    });
    rmSync(join(runDir, 'sync', 'step-0.ready.json'));
    store.append({ kind: 'step', step: 0, metrics: { step: 0 } as never });
    sync.catchUp();
    assert.equal(
      JSON.parse(readFileSync(join(runDir, 'sync', 'step-0.ready.json'), 'utf8')).policy_version,
      'v0',
    );

    // The model of the latest policy that names one stays in force.
    writePolicyFile(runDir, 0, { version: 'v1', model: 'policy-v1' });
    writePolicyFile(runDir, 1, { version: 'v2' });
    assert.deepEqual(await sync.beforeStep(1), { version: 'v1' });
    assert.deepEqual(await sync.beforeStep(2), { version: 'v2' });
    assert.deepEqual(switched, ['policy-v1', 'policy-v1']);
    assert.ok(!events.some((e) => e.type === 'sync-waiting'), 'the files were there: no wait');

    const fixed: ModelClient = { description: 'embedded:x.gguf', complete: client.complete };
    const notes: SyncEvent[] = [];
    await new FileSync(store, fixed, { emit: (e) => notes.push(e) }).beforeStep(1);
    assert.ok(
      notes.some((e) => e.type === 'note' && /cannot switch models; keeping it/.test(e.message)),
    );
    store.close();
  });
});

describe('self-play with --sync file', () => {
  let bugs: KnownBug[] = [];
  before(async () => {
    const out = mkdtempSync(join(tmpdir(), 'ssr-sync-bugs-'));
    const summary = await injectBugs({ repo: REPO, out, strategies: ['mutation'], count: 9 });
    bugs = summary.artifacts.map((id) => {
      const diff = readFileSync(join(out, id, 'bug_inject.diff'), 'utf8');
      return { dir: join(out, id), file: /^\+\+\+ b\/(\S+)/m.exec(diff)![1]! };
    });
  });

  test('a scripted trainer: nothing of step N+1 is sampled before policy-N, whose version (and model) the next step carries', async () => {
    const policy = selfPlayPolicy(bugs);
    const server = await startScriptedServer(
      Array.from({ length: 4000 }, () => policy),
      { models: ['scripted-model', 'policy-v2'] },
    );
    const out = join(mkdtempSync(join(tmpdir(), 'ssr-sync-run-')), 'r1');
    const STEPS = 3;
    try {
      const model = new OpenAIChatClient({ baseURL: server.baseURL, model: 'scripted-model' });
      const events: SelfPlayEvent[] = [];
      const selfplay = runSelfPlay({
        settings: settingsFrom(
          {},
          {
            repos: [REPO],
            steps: STEPS,
            injectionsPerStep: 2,
            solverAttempts: 2,
            higherOrder: { enabled: false, maxOrder: 2, perArtifact: 0, perStep: 0 },
            sync: 'file',
          },
        ),
        model,
        out,
        concurrency: 2,
        policyVersion: 'v0',
        onEvent: (e) => events.push(e),
      });
      let failed: unknown = null;
      selfplay.catch((e: unknown) => {
        failed = e;
      });

      // The trainer: after each step but the last, check the export, pause, check that
      // nothing was sampled meanwhile, then publish the next version.
      for (let n = 0; n < STEPS - 1; n++) {
        const ready = join(out, 'sync', `step-${n}.ready.json`);
        await until(`step-${n}.ready.json`, () => existsSync(ready) || failed !== null);
        if (failed) throw failed;
        const info = JSON.parse(readFileSync(ready, 'utf8'));
        assert.deepEqual(
          [info.step, info.export, info.policy_version, info.pending],
          [n, `step-${n}.jsonl`, `v${n}`, undefined],
        );
        const rows = readRows(join(out, 'sync', info.export));
        assert.equal(rows.length, info.rows);
        assert.ok(rows.length >= 2, 'the step has rows');
        for (const row of rows) {
          assert.equal(row.step, n);
          assert.equal(row.policy_version, `v${n}`);
          assert.notEqual(row.reward, null);
          assert.ok(row.completion_logprobs, 'token data for the trainer');
        }
        const calls = server.chatBodies.length;
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(server.chatBodies.length, calls, `no model call while step ${n + 1} waits`);
        assert.ok(
          !journalEpisodes(out).some((e) => e.step > n),
          `no episode of step ${n + 1} before policy-${n}`,
        );
        writePolicyFile(out, n, {
          version: `v${n + 1}`,
          ...(n === 0 ? { model: 'policy-v2' } : {}),
        });
      }
      const summary = await selfplay;
      assert.equal(summary.steps.length, STEPS);
      assert.ok(!summary.stoppedEarly);

      // The last step is exported too, and the run did not wait after it.
      const last = JSON.parse(
        readFileSync(join(out, 'sync', `step-${STEPS - 1}.ready.json`), 'utf8'),
      );
      assert.equal(last.policy_version, `v${STEPS - 1}`);
      assert.ok(!existsSync(join(out, 'sync', `policy-${STEPS - 1}.json`)));
      assert.ok(events.some((e) => e.type === 'sync-waiting' && e.step === 0));

      const store = RunStore.open(out);
      const episodes = store.episodes();
      assert.ok(episodes.length >= STEPS * 2);
      for (const e of episodes) {
        const p = episodePolicy(e);
        assert.equal(p.version, `v${e.step}`, `${e.id}: the version in force when it was sampled`);
        // policy-0 named a model: from step 1 on, the client asks for it and the server says so.
        assert.equal(p.model, e.step === 0 ? 'scripted-model' : 'policy-v2', e.id);
        const file = JSON.parse(readFileSync(join(out, e.trajectory!), 'utf8'));
        assert.deepEqual(file.policy, p, 'the trajectory file carries the policy too');
      }
      assert.equal(server.chatBodies.at(-1)!.model, 'policy-v2');
      store.close();
    } finally {
      await server.close();
    }
  });

  test('CLI: SIGKILL while waiting for the trainer, resume: nothing lost or repeated, step 1 sampled only after the policy', async () => {
    const policy = selfPlayPolicy(bugs);
    const server = await startScriptedServer(Array.from({ length: 4000 }, () => policy));
    const out = join(mkdtempSync(join(tmpdir(), 'ssr-sync-kill-')), 'run');
    const argv = (extra: string[] = []) => [
      '--import',
      'tsx',
      ...CLI,
      'selfplay',
      '--repo',
      REPO,
      '--model',
      server.baseURL,
      '--out',
      out,
      '--steps',
      '2',
      '--injections-per-step',
      '2',
      '--solver-attempts',
      '2',
      '--no-higher-order',
      '--concurrency',
      '2',
      '--sync',
      'file',
      '--policy-version',
      'base',
      ...extra,
    ];
    const journal = join(out, 'journal.jsonl');
    try {
      const child = spawn(process.execPath, argv(), {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      let exited = false;
      child.on('exit', () => {
        exited = true;
      });
      await until(
        'the wait for policy-0',
        () => /waiting for the trainer's policy/.test(stderr) || exited,
      );
      assert.ok(!exited, stderr);
      assert.match(
        stderr,
        /step-0 exported: sync\/step-0\.jsonl \(\d+ rows\), sync\/step-0\.ready\.json/,
      );
      assert.match(
        stderr,
        /step-0 done; waiting for the trainer's policy \(sync\/policy-0\.json\)/,
      );
      assert.ok(existsSync(join(out, 'sync', 'step-0.ready.json')));
      // A trainer writing in place: one clear line, and the run keeps waiting.
      writeFileSync(join(out, 'sync', 'policy-0.json'), '{"version": ');
      await until(
        'the malformed-file line',
        () => /is not a valid policy file/.test(stderr) || exited,
      );
      assert.match(
        stderr,
        /note: sync\/policy-0\.json is not a valid policy file: not JSON [^\n]*; still waiting\n/,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!exited, 'still waiting');
      child.kill('SIGKILL');
      await new Promise((r) => (exited ? r(null) : child.once('exit', r)));
      const beforeKill = readFileSync(journal, 'utf8');
      assert.ok(!journalEpisodes(out).some((e) => e.step === 1), 'nothing of step 1 yet');

      // Resumed without a valid policy: it waits again; --sync-timeout ends that with exit 4.
      const timedOut = await run(process.execPath, argv(['--sync-timeout', '0.5']), {
        cwd: ROOT,
      }).then(
        () => assert.fail('should time out'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(timedOut.code, 4, timedOut.stderr);
      const errorLines = timedOut.stderr.split('\n').filter((l) => l.startsWith('ssr:'));
      assert.equal(errorLines.length, 1, timedOut.stderr);
      assert.match(
        errorLines[0]!,
        /^ssr: no policy from the trainer for step-0 within 0\.5 s \(sync\/policy-0\.json, which is invalid: not JSON/,
      );
      // A synced run cannot be continued without --sync (it would not wait for the trainer).
      const unsynced = argv().filter((a, i, all) => a !== '--sync' && all[i - 1] !== '--sync');
      const refused = await run(process.execPath, unsynced, { cwd: ROOT }).then(
        () => assert.fail('should be refused'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /^ssr: .* holds a run started with other settings \(sync\)/m);
      assert.equal(readFileSync(journal, 'utf8'), beforeKill, 'neither rerun sampled anything');

      writePolicyFile(out, 0, { version: 'after-0' });
      const policyWritten = statSync(join(out, 'sync', 'policy-0.json')).mtimeMs;
      const resumed = await run(process.execPath, argv(), { cwd: ROOT });
      assert.match(resumed.stderr, /policy after step-0: version after-0/);
      assert.match(resumed.stderr, /step-1 exported: sync\/step-1\.jsonl/);
      assert.doesNotMatch(resumed.stderr, /waiting for the trainer's policy \(sync\/policy-1/);

      const after = readFileSync(journal, 'utf8');
      const complete = beforeKill.slice(0, beforeKill.lastIndexOf('\n') + 1);
      assert.ok(
        after.startsWith(complete),
        'records written before the kill are kept as they were',
      );
      const store = RunStore.open(out);
      const finished = journalEpisodes(out).filter((e) => e.outcome !== 'error');
      const ids = finished.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'no episode recorded twice');
      assert.deepEqual(
        store.steps().map((m) => m.step),
        [0, 1],
      );
      for (const e of store.episodes()) {
        assert.equal(episodePolicy(e).version, e.step === 0 ? 'base' : 'after-0', e.id);
        if (e.step === 1) {
          const started = Date.parse(e.finishedAt) - e.durationMs;
          assert.ok(started >= policyWritten - 5, `${e.id} started after the policy file`);
        }
      }
      assert.ok(store.episodes().some((e) => e.step === 1));
      for (const step of [0, 1]) {
        const ready = JSON.parse(
          readFileSync(join(out, 'sync', `step-${step}.ready.json`), 'utf8'),
        );
        const rows = readRows(join(out, 'sync', `step-${step}.jsonl`));
        assert.equal(ready.rows, rows.length);
        assert.deepEqual(
          rows.map((r) => r.episode_id).sort(),
          store
            .episodes()
            .filter((e) => e.step === step)
            .map((e) => e.id)
            .sort(),
          `step ${step}: every episode exported once`,
        );
      }
      store.close();
    } finally {
      await server.close();
    }
  });

  test('CLI: --sync bogus is one line, exit 2', async () => {
    const err = await run(
      process.execPath,
      ['--import', 'tsx', ...CLI, 'selfplay', '--repo', REPO, '--sync', 'bogus'],
      { cwd: ROOT },
    ).then(
      () => assert.fail('should fail'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(
      err.stderr,
      /^ssr: option '--sync <mode>' argument 'bogus' is invalid\. Allowed choices are none, file\./,
    );
    assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
  });
});

/**
 * `ssr inject --model` end to end over real HTTP: a scripted injector policy explores a real
 * repository in sandboxes, writes the five files (or fails to), and ssr validates, keeps,
 * journals and resumes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/artifacts/textkit-wrap-width');
const REPO = join(ROOT, 'examples/repos/textkit');
const DIR = '/tmp/ssr_artifact';

const bash = (command: string): ScriptStep => ({
  toolCalls: [{ name: 'bash', arguments: JSON.stringify({ command }) }],
  usage: { promptTokens: 100, completionTokens: 10 },
});
const submit: ScriptStep = { toolCalls: [{ name: 'submit', arguments: '{}' }] };

const writeExample = [
  `mkdir -p ${DIR}`,
  ...[
    'test_script.sh',
    'test_files.txt',
    'test_parser.py',
    'bug_inject.diff',
    'test_weaken.diff',
  ].map(
    (n) => `echo ${readFileSync(join(EXAMPLE, n)).toString('base64')} | base64 -d > ${DIR}/${n}`,
  ),
].join(' && ');

/**
 * The removal prompt gets a valid artifact (the example bug); the history prompt gets an
 * episode that only looks around and submits nothing.
 */
function injectorPolicy(body: Record<string, unknown>): ScriptStep {
  const messages = body.messages as { role: string; content: string | null }[];
  const turn = messages.filter((m) => m.role === 'assistant').length;
  const removal = /Remove meaningful code/.test(String(messages[1]?.content));
  const steps = removal
    ? [bash('git log --oneline | head -3'), bash(writeExample), submit]
    : [bash('ls'), submit];
  return steps[Math.min(turn, steps.length - 1)]!;
}

async function ssr(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
  });
}

test('LLM injector: valid artifacts kept with trajectories, failures recorded, rerun resumes', async () => {
  const server = await startScriptedServer(Array.from({ length: 200 }, () => injectorPolicy));
  const out = mkdtempSync(join(tmpdir(), 'ssr-llm-inject-'));
  try {
    const args = ['inject', REPO, '--out', out, '--model', server.baseURL, '--count', '2'];
    const first = await ssr([...args, '--max-episodes', '6', '--concurrency', '1', '--json']);
    const summary = JSON.parse(first.stdout);
    assert.equal(summary.model, `openai:${server.baseURL} model=scripted-model`);
    assert.deepEqual(summary.strategies, ['removal', 'history']);
    const removal = summary.byStrategy.removal;
    const history = summary.byStrategy.history;
    assert.ok(removal.tried >= 1 && removal.valid === 1, JSON.stringify(summary));
    // The same bug twice is one artifact: the second valid episode is a duplicate.
    assert.equal(summary.valid, 1);
    assert.equal(history.valid, 0);
    assert.equal(summary.failures['no artifact written'], history.tried);
    assert.equal(summary.episodes, 6);
    assert.ok(summary.tokens.prompt >= 100 * 6);

    const [id] = summary.artifacts;
    assert.match(id, /^textkit-llm-removal-[0-9a-f]{12}$/);
    for (const f of ['bug_inject.diff', 'test_weaken.diff', 'validation.json', 'trajectory.json']) {
      assert.ok(existsSync(join(out, id, f)), f);
    }
    const meta = JSON.parse(readFileSync(join(out, id, 'metadata.json'), 'utf8'));
    assert.equal(meta.strategy, 'llm-removal');
    const trajectory = JSON.parse(readFileSync(join(out, id, 'trajectory.json'), 'utf8'));
    assert.equal(trajectory.endReason, 'submitted');
    assert.equal(readdirSync(join(out, '.ssr/episodes')).length, 6);
    const journal = readFileSync(join(out, '.ssr/injector-episodes.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(journal.filter((r) => r.outcome === 'no-artifact').every((r) => r.reward === -1));
    assert.ok(journal.some((r) => r.outcome === 'duplicate'));

    const requests = server.chatBodies.length;
    const again = JSON.parse(
      (await ssr([...args, '--max-episodes', '6', '--concurrency', '1', '--json'])).stdout,
    );
    assert.equal(again.resumed, 6);
    assert.equal(again.valid, 1);
    assert.equal(server.chatBodies.length, requests, 'finished episodes are not rerun');
  } finally {
    await server.close();
  }
});

async function fails(args: string[]) {
  return ssr(args).then(
    () => assert.fail('should exit non-zero'),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

test('LLM injector against a failing server: errors recorded without reward, exit 4, redone on rerun', async () => {
  const server = await startScriptedServer(
    Array.from({ length: 50 }, () => ({ fault: 'server-error', status: 500 }) as ScriptStep),
  );
  const out = mkdtempSync(join(tmpdir(), 'ssr-llm-inject-'));
  const args = ['inject', REPO, '--out', out, '--max-episodes', '2', '--count', '1'];
  try {
    const err = await fails([...args, '--model', server.baseURL]);
    assert.equal(err.code, 4, err.stderr);
    assert.match(err.stdout, /model-error\s+2/);
    assert.match(err.stdout, /\berror\s+2/);
    assert.match(
      err.stderr,
      /^ssr: 2 episode\(s\) failed on model errors \(rerun to redo them\): .*500/m,
    );
    const journal = readFileSync(join(out, '.ssr/injector-episodes.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(journal.length, 2);
    for (const r of journal) {
      assert.deepEqual([r.outcome, r.reward, r.endReason], ['error', null, 'model-error']);
    }
  } finally {
    await server.close();
  }
  // With the server fixed, the failed episodes are redone, not kept.
  const good = await startScriptedServer(Array.from({ length: 200 }, () => injectorPolicy));
  try {
    const again = JSON.parse((await ssr([...args, '--model', good.baseURL, '--json'])).stdout);
    assert.equal(again.resumed, 0);
    assert.equal(again.errors, 0);
    assert.ok(again.episodes >= 1);
    assert.ok(good.chatBodies.length > 0);
  } finally {
    await good.close();
  }
});

test('LLM injector: three model errors in a row stop the command with one line', async () => {
  const server = await startScriptedServer(
    Array.from({ length: 100 }, () => ({ fault: 'server-error', status: 503 }) as ScriptStep),
  );
  const out = mkdtempSync(join(tmpdir(), 'ssr-llm-inject-'));
  try {
    const err = await fails([
      'inject',
      REPO,
      '--out',
      out,
      '--model',
      server.baseURL,
      '--max-episodes',
      '8',
      '--concurrency',
      '1',
    ]);
    assert.equal(err.code, 4, err.stderr);
    assert.match(err.stderr, /^ssr: 3 injector episodes in a row failed on model errors; stopped/m);
    assert.equal(
      err.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('ssr:')).length,
      1,
    );
    const journal = readFileSync(join(out, '.ssr/injector-episodes.jsonl'), 'utf8').trim();
    assert.equal(journal.split('\n').length, 3, 'the rest were not run');
  } finally {
    await server.close();
  }
});

test('--model-name the server does not serve: a usage error naming the served models', async () => {
  const server = await startScriptedServer([], { models: ['qwen-a', 'qwen-b'] });
  try {
    const err = await fails([
      'inject',
      REPO,
      '--out',
      join(tmpdir(), 'unused'),
      '--model',
      server.baseURL,
      '--model-name',
      'nope',
    ]);
    assert.equal(err.code, 2, err.stderr);
    assert.match(
      err.stderr,
      /^ssr: --model-name nope is not served by .*; it serves: qwen-a, qwen-b\n/,
    );
    assert.equal(server.chatBodies.length, 0);
  } finally {
    await server.close();
  }
});

test('inject usage errors: model-only flags without --model, unknown strategy, bad URL, bad focus settings', async () => {
  const cases: [string[], RegExp][] = [
    [['--max-episodes', '3'], /--max-episodes needs --model/],
    [['--wall-time', '30'], /--wall-time needs --model/],
    [['--max-tokens', '9000'], /--max-tokens needs --model/],
    [
      ['--model', 'http://127.0.0.1:9/v1', '--strategy', 'mutation'],
      /unknown strategy "mutation" with --model/,
    ],
    [['--model', 'ftp://example'], /--model must be/],
    [['--test-scope', 'some'], /--test-scope must be full, covering, auto \(got "some"\)/],
    [['--max-failing-share', '2'], /--max-failing-share must be above 0 and at most 1/],
    [['--max-weaken-lines', '0'], /--max-weaken-lines must be a whole number >= 1/],
    [
      ['--model', 'http://127.0.0.1:9/v1', '--max-weaken-tests', '3'],
      /--max-weaken-tests is for the procedural injector/,
    ],
    [['--model', 'http://127.0.0.1:9/v1', '--no-warm'], /--no-warm is for the procedural injector/],
  ];
  for (const [extra, message] of cases) {
    const err = await ssr(['inject', REPO, '--out', join(tmpdir(), 'unused'), ...extra]).then(
      () => assert.fail('should exit non-zero'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(err.stderr, message);
    assert.doesNotMatch(err.stderr, /at .*\.ts:\d+/);
  }
});

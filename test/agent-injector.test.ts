/**
 * The LLM injector role with a scripted model: the agent writes the five files into its
 * sandbox and submits; ssr collects them through the sandbox and validates them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { INJECTOR_ARTIFACT_DIR, injectWithModel } from '../src/agent/injector.js';
import type { ModelClient, ModelResponse } from '../src/agent/types.js';
import { SandboxHost } from '../src/sandbox/local.js';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples/artifacts/textkit-wrap-width');
const host = SandboxHost.open();
const original = host.snapshotDir(join(ROOT, 'examples/repos/textkit'));
after(() => host.close());

/** A policy replaying bash commands, one per turn, then submit. */
function policy(commands: string[]): ModelClient {
  let id = 0;
  return {
    description: 'scripted-injector',
    async complete(req): Promise<ModelResponse> {
      const turn = req.messages.filter((m) => m.role === 'assistant').length;
      const call =
        turn < commands.length
          ? { id: `c${++id}`, name: 'bash', arguments: JSON.stringify({ command: commands[turn] }) }
          : { id: `c${++id}`, name: 'submit', arguments: '{}' };
      return {
        message: { role: 'assistant', content: null, toolCalls: [call] },
        finishReason: 'tool_calls',
        latencyMs: 1,
      };
    },
  };
}

function writeFiles(files: Record<string, string>): string {
  const parts = Object.entries(files).map(
    ([name, text]) =>
      `echo ${Buffer.from(text).toString('base64')} | base64 -d > ${INJECTOR_ARTIFACT_DIR}/${name}`,
  );
  return [`mkdir -p ${INJECTOR_ARTIFACT_DIR}`, ...parts].join(' && ');
}

const exampleFiles = (rename: Record<string, string> = {}) =>
  Object.fromEntries(
    [
      'test_script.sh',
      'test_files.txt',
      'test_parser.py',
      'bug_inject.diff',
      'test_weaken.diff',
    ].map((n) => [rename[n] ?? n, readFileSync(join(EXAMPLE, n), 'utf8')]),
  );

test('an injector that writes a valid artifact (paper file names accepted) gets it validated', async () => {
  const model = policy([
    'git status --short',
    writeFiles(exampleFiles({ 'bug_inject.diff': 'bug_patch.diff' })),
  ]);
  const out = await injectWithModel({
    host,
    original,
    model,
    strategy: 'removal',
    repo: 'textkit',
  });
  assert.equal(out.trajectory.endReason, 'submitted');
  assert.equal(out.report?.valid, true, out.reason);
  assert.equal(out.rewardIfInvalid, null);
  assert.equal(out.artifact?.metadata.strategy, 'llm-removal');
  assert.deepEqual(out.artifact?.testFiles, ['test/wrap.test.js']);
});

test('an injector that writes nothing gets -1 with the reason', async () => {
  const out = await injectWithModel({
    host,
    original,
    model: policy(['ls']),
    strategy: 'direct',
    repo: 'textkit',
  });
  assert.equal(out.artifact, null);
  assert.equal(out.rewardIfInvalid, -1);
  assert.match(out.reason, /did not write test_script\.sh/);
});

test('files planted as symlinks to host files are not read', async () => {
  const model = policy([
    `mkdir -p ${INJECTOR_ARTIFACT_DIR} && for f in test_script.sh test_files.txt test_parser.py bug_inject.diff test_weaken.diff; do ln -s /etc/passwd ${INJECTOR_ARTIFACT_DIR}/$f; done`,
  ]);
  const out = await injectWithModel({ host, original, model, strategy: 'direct', repo: 'textkit' });
  assert.equal(out.artifact, null);
  assert.match(out.reason, /did not write/);
});

test('an invalid artifact is validated and gets -1 naming the check', async () => {
  const files = exampleFiles();
  files['test_weaken.diff'] = files['bug_inject.diff']!; // touches a non-test file
  const out = await injectWithModel({
    host,
    original,
    model: policy([writeFiles(files)]),
    strategy: 'history',
    repo: 'textkit',
  });
  assert.equal(out.report?.valid, false);
  assert.equal(out.rewardIfInvalid, -1);
  assert.match(out.reason, /^check 1 \(files\)/);
});

/**
 * The dashboard over a run written by the real `ssr selfplay` (CLI, scripted OpenAI server,
 * real sandbox and validator on the example textkit repository): one injection writes a real
 * bug, the other a harmless edit that the validator rejects (check 5). The rejected one leaves
 * no artifact record, only its episode and trajectory; the dashboard has to show it anyway.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  episodeDetail,
  listArtifacts,
  listInjections,
  openSource,
  stepSeries,
  summary,
} from '../src/dashboard/data.js';
import { renderReport } from '../src/dashboard/report.js';
import { startDashboard } from '../src/dashboard/server.js';
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';
import { writeArtifactCommand } from './helpers/selfplay-policy.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const REPO = join(ROOT, 'examples/repos/textkit');
const EXAMPLE = join(ROOT, 'examples/artifacts/textkit-wrap-width');
const call = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  usage: { promptTokens: 200, completionTokens: 20 },
});
const bash = (command: string) => call('bash', { command });
const submit = call('submit', {});

/** A bug no test notices: a comment on top of the focus file. */
function harmless(file: string): string {
  const first = readFileSync(join(REPO, file), 'utf8').split('\n')[0];
  return `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1 +1,2 @@\n+// a harmless comment\n ${first}\n`;
}

/**
 * The first injector conversation writes the example wrap bug (valid); every other one a
 * harmless edit with the same tests (rejected: no test fails). Solvers give up at once.
 */
function policy() {
  let injections = 0;
  return (body: Record<string, unknown>): ScriptStep => {
    const messages = body.messages as {
      role: string;
      content: string | null;
      tool_calls?: { function: { arguments: string } }[];
    }[];
    const assistant = messages.filter((m) => m.role === 'assistant');
    const system = String(messages[0]?.content ?? '');
    if (!system.includes('creates realistic, well-specified bugs')) return submit;
    if (assistant.length === 0) {
      const focus = /Start from (\S+) \(/.exec(String(messages[1]?.content ?? ''))?.[1];
      const file = focus?.startsWith('src/') ? focus : 'src/wrap.js';
      return bash(injections++ === 0 ? '# good\nls' : `# bad ${file}\nls`);
    }
    if (assistant.length > 1) return submit;
    const first = String(
      (JSON.parse(assistant[0]!.tool_calls![0]!.function.arguments) as { command: string }).command,
    );
    const bad = /^# bad (\S+)/.exec(first)?.[1];
    return bash(writeArtifactCommand(EXAMPLE, bad ? { 'bug_inject.diff': harmless(bad) } : {}));
  };
}

let out: string;

before(async () => {
  const p = policy();
  const server = await startScriptedServer(Array.from({ length: 200 }, () => p));
  out = mkdtempSync(join(tmpdir(), 'ssr-dash-sp-'));
  try {
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'selfplay',
        '--repo',
        REPO,
        '--model',
        server.baseURL,
        '--out',
        out,
        '--steps',
        '1',
        '--injections-per-step',
        '2',
        '--solver-attempts',
        '1',
        '--concurrency',
        '2',
        '--no-higher-order',
      ],
      { cwd: ROOT },
    );
  } finally {
    await server.close();
  }
});

after(() => rmSync(out, { recursive: true, force: true }));

test('a real run: the rejected injection is listed, with its trajectory and its report', () => {
  const src = openSource(out);
  const inj = listInjections(src, {});
  assert.equal(inj.total, 2);
  const rejected = inj.rows.find((r) => r.outcome === 'invalid');
  assert.ok(rejected, JSON.stringify(inj.rows));
  assert.equal(rejected.failedCheck, 'bug validity');
  assert.equal(rejected.artifactId, null, 'the real loop records no artifact for it');
  assert.ok(rejected.hasTrajectory);
  assert.deepEqual(
    listInjections(src, { outcome: 'invalid' }).rows.map((r) => r.id),
    [rejected.id],
  );
  assert.deepEqual(
    listInjections(src, { check: 'bug validity' }).rows.map((r) => r.id),
    [rejected.id],
  );

  // The artifact list's validation filters reach it too, as a rejected injection.
  const invalid = listArtifacts(src, { validation: 'invalid' });
  assert.deepEqual(
    invalid.rows.map((r) => [r.id, r.kind, r.failedCheck]),
    [[rejected.id, 'rejected', 'bug validity']],
  );
  assert.deepEqual(
    listArtifacts(src, { validation: 'bug validity' }).rows.map((r) => r.id),
    [rejected.id],
  );
  assert.equal(listArtifacts(src, { validation: 'valid' }).total, 1);

  // Its trajectory, and the validation report the trajectory file carries.
  const e = episodeDetail(src, rejected.id)!;
  assert.equal(e.role, 'injector');
  assert.ok(e.turns.length >= 2);
  assert.ok(e.validation, 'the report from the trajectory file');
  assert.equal(e.validation.valid, false);
  assert.equal(e.validation.failedCheck?.name, 'bug validity');
  const status = Object.fromEntries(e.validation.checks.map((c) => [c.id, c.status]));
  assert.deepEqual(
    [status[1], status[4], status[5], status[6]],
    ['passed', 'passed', 'failed', 'skipped'],
  );
  assert.ok(e.tests.length > 0, 'test maps of the original and the bug');
  assert.ok(e.tests.every((t) => t.baseline === 'passed' && t.bug === 'passed'));
  // What it wrote, though rejected: the loop keeps it with the trajectory.
  assert.ok(e.written, 'the rejected diffs are kept');
  assert.match(e.written.bugDiff, /\+\/\/ a harmless comment/);
  assert.ok(e.written.testFiles.length > 0);

  // The step's rejections per check, as the loop counted them.
  const [step] = stepSeries(src);
  assert.deepEqual(step!.failures, { '5 bug validity': 1 });
  const s = summary(src);
  assert.deepEqual(s.injections, { total: 2, byOutcome: { invalid: 1, valid: 1 } });
});

test('a real run over HTTP: the rejected injection opens on its report', async () => {
  const d = await startDashboard({ dir: out, port: 0 });
  try {
    const inj = (await (await fetch(`${d.url}api/injections?outcome=invalid`)).json()) as {
      rows: { id: string }[];
    };
    assert.equal(inj.rows.length, 1);
    const e = (await (await fetch(`${d.url}api/episodes/${inj.rows[0]!.id}`)).json()) as {
      validation: { failedCheck: { id: number } };
      tests: unknown[];
    };
    assert.equal(e.validation.failedCheck.id, 5);
    assert.ok(e.tests.length > 0);
  } finally {
    await d.close();
  }
  assert.match(renderReport(out), /5 bug validity/);
});

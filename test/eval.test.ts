/**
 * `ssr tasks-from-history` and `ssr eval` end to end: tasks mined from a real git history,
 * then solved over real HTTP by scripted policies (the scripted OpenAI-compatible server) in
 * real sandboxes, graded by running the real tests.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { passAtK } from '../src/eval/run.js';
import { textkitImages } from './helpers/make-image.js';
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'src/cli/main.ts');

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Eval Test',
  GIT_AUTHOR_EMAIL: 'eval@example.invalid',
  GIT_COMMITTER_NAME: 'Eval Test',
  GIT_COMMITTER_EMAIL: 'eval@example.invalid',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
};

const CALC_BUGGY = `function add(a, b) {
  return a + b;
}

function clamp(x, lo, hi) {
  if (x < lo) return lo;
  if (x > hi) return lo;
  return x;
}

module.exports = { add, clamp };
`;
const CALC_TEST = `const test = require('node:test');
const assert = require('node:assert/strict');
const { add, clamp } = require('../src/calc.js');

test('add', () => assert.equal(add(2, 3), 5));
test('clamp below', () => assert.equal(clamp(-1, 0, 10), 0));
`;
const F2P = ['test/calc.test.js > clamp above'];
const P2P = ['test/calc.test.js > add', 'test/calc.test.js > clamp below'];

let work: string;
let repo: string;

/**
 * calc: a root commit with a bug in clamp(), a docs-only commit, a src-only refactor, and the
 * bug fix that changes src/calc.js and adds the test that catches it.
 */
function buildCalcRepo(dir: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'test'));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, env: GIT_ENV, stdio: 'pipe' });
  const commit = (msg: string) => {
    git('add', '-A');
    git('commit', '-q', '--no-gpg-sign', '-m', msg);
  };
  git('init', '-q', '-b', 'main');
  writeFileSync(
    join(dir, 'package.json'),
    '{ "name": "calc", "version": "1.0.0", "private": true, "scripts": { "test": "node --test test/" } }\n',
  );
  writeFileSync(join(dir, 'src/calc.js'), CALC_BUGGY);
  writeFileSync(join(dir, 'test/calc.test.js'), CALC_TEST);
  commit('calc: add and clamp');
  writeFileSync(join(dir, 'README.md'), '# calc\n');
  commit('docs: readme');
  writeFileSync(join(dir, 'src/calc.js'), CALC_BUGGY.replace('return a + b;', 'return b + a;'));
  commit('add: commutative spelling');
  writeFileSync(
    join(dir, 'src/calc.js'),
    CALC_BUGGY.replace('return a + b;', 'return b + a;').replace(
      'if (x > hi) return lo;',
      'if (x > hi) return hi;',
    ),
  );
  writeFileSync(
    join(dir, 'test/calc.test.js'),
    `${CALC_TEST}test('clamp above', () => assert.equal(clamp(11, 0, 10), 10));\n`,
  );
  commit('clamp: return hi above the range\n\nclamp(11, 0, 10) returned 0 instead of 10.');
}

async function ssr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ssr-eval-test-'));
  repo = join(work, 'calc');
  buildCalcRepo(repo);
});

after(() => rmSync(work, { recursive: true, force: true }));

let mined: Record<string, unknown>;

test('tasks-from-history: the bug-fix commit becomes a task with measured F2P and P2P', async () => {
  const out = join(work, 'tasks.jsonl');
  const r = await ssr(['tasks-from-history', repo, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  // Root, docs-only and source-only commits make no task.
  assert.equal(lines.length, 1);
  mined = JSON.parse(lines[0]!);
  assert.deepEqual(mined.FAIL_TO_PASS, F2P);
  assert.deepEqual(mined.PASS_TO_PASS, P2P);
  assert.match(String(mined.problem_statement), /^clamp: return hi above the range\n\nclamp\(11/);
  assert.match(String(mined.test_patch), /^\+test\('clamp above'/m);
  assert.doesNotMatch(String(mined.test_patch), /^diff --git a\/src/m);
  assert.match(String(mined.patch), /^\+ {2}if \(x > hi\) return hi;/m);
  assert.equal(mined.repo_dir, repo);
  assert.ok(mined.test_script && mined.test_parser);
  const head = execFileSync('git', ['rev-parse', 'HEAD^'], { cwd: repo, env: GIT_ENV })
    .toString()
    .trim();
  assert.equal(mined.base_commit, head);
});

test('tasks-from-history on the textkit example: every feature commit is a task', async () => {
  const tk = join(work, 'textkit');
  execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), tk], { stdio: 'pipe' });
  const r = await ssr(['tasks-from-history', tk, '--max', '2']);
  assert.equal(r.code, 0, r.stderr);
  const tasks = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(tasks.length, 2);
  assert.deepEqual(tasks[0].FAIL_TO_PASS, ['test/case.test.js > case > Title Cases']);
  assert.ok(tasks.every((t) => t.PASS_TO_PASS.length > 5));
});

// --- scripted policies ------------------------------------------------------------------------

type Msg = { role: string; content?: string; tool_calls?: { function: { arguments: string } }[] };

const tool = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  usage: { promptTokens: 100, completionTokens: 10 },
});
const submit = tool('submit', {});
const replace = (path: string, from: string, to: string) =>
  tool('editor', { command: 'str_replace', path, old_str: from, new_str: to });

function plans(gold: string): Record<string, ScriptStep[]> {
  const applyGold = tool('bash', {
    command: `echo ${Buffer.from(gold).toString('base64')} | base64 -d | git apply`,
  });
  return {
    right: [applyGold, submit],
    wrong: [replace('src/calc.js', 'if (x > hi) return lo;', 'if (x >= hi) return lo;'), submit],
    'breaks-p2p': [applyGold, replace('src/calc.js', 'return b + a;', 'return b - a;'), submit],
    // A cheat: rewrite the tests so a test named like the FAIL_TO_PASS one passes trivially.
    'edits-tests': [
      tool('bash', {
        command: `printf "%s\\n" "const test = require('node:test');" "test('add', () => {});" "test('clamp below', () => {});" "test('clamp above', () => {});" > test/calc.test.js`,
      }),
      submit,
    ],
    artifact: [replace('src/wrap.js', 'word.length < width', 'word.length <= width'), submit],
  };
}

/**
 * The policy is chosen on an episode's first turn from its issue text (a [tag] in the
 * problem statement, or the self-play test specification) and echoed in that turn's command,
 * so later turns of the same episode find it again even when episodes interleave.
 */
function policy(gold: string) {
  const byVariant = plans(gold);
  let flaky = 0;
  return (body: Record<string, unknown>): ScriptStep => {
    const msgs = body.messages as Msg[];
    const assistants = msgs.filter((m) => m.role === 'assistant');
    if (assistants.length === 0) {
      const user = msgs.find((m) => m.role === 'user')?.content ?? '';
      let variant = /\[([a-z0-9-]+)\]/.exec(user)?.[1] ?? 'wrong';
      if (user.includes('<test_changes>')) variant = 'artifact';
      if (variant === 'flaky') variant = flaky++ % 2 === 0 ? 'wrong' : 'right';
      return tool('bash', { command: `echo variant=${variant}` });
    }
    const first = assistants[0]!.tool_calls![0]!.function.arguments;
    const variant = /variant=([a-z0-9-]+)/.exec(first)![1]!;
    const steps = byVariant[variant]!;
    return steps[Math.min(assistants.length - 1, steps.length - 1)]!;
  };
}

test('ssr eval: scripted policies graded by FAIL_TO_PASS / PASS_TO_PASS, plus held-out artifacts', async () => {
  assert.ok(mined, 'needs the mined task');
  const tags = ['right', 'wrong', 'breaks-p2p', 'edits-tests', 'flaky'];
  const tasksFile = join(work, 'eval-tasks.jsonl');
  writeFileSync(
    tasksFile,
    tags
      .map((tag, i) => {
        const t: Record<string, unknown> = {
          ...mined,
          instance_id: `calc-${tag}`,
          problem_statement: `[${tag}] ${mined.problem_statement}`,
        };
        // SWE-bench ships the test lists as JSON-encoded strings: accepted too.
        if (i % 2) {
          t.FAIL_TO_PASS = JSON.stringify(t.FAIL_TO_PASS);
          t.PASS_TO_PASS = JSON.stringify(t.PASS_TO_PASS);
        }
        return `${JSON.stringify(t)}\n`;
      })
      .join(''),
  );
  const p = policy(String(mined.patch));
  const server = await startScriptedServer(Array.from({ length: 200 }, () => p));
  const out = join(work, 'eval-out');
  try {
    const r = await ssr([
      'eval',
      tasksFile,
      '--model',
      server.baseURL,
      '--attempts',
      '2',
      '--concurrency',
      '3',
      '--artifacts',
      join(ROOT, 'examples/artifacts'),
      '--repo',
      join(ROOT, 'examples/repos/textkit'),
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PASS calc-right {2}2\/2 resolved/);
    assert.match(
      r.stdout,
      /FAIL calc-wrong {2}0\/2 resolved: 1 FAIL_TO_PASS test\(s\) do not pass/,
    );
    assert.match(r.stdout, /pass@2/);
  } finally {
    await server.close();
  }
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  const per = Object.fromEntries(
    report.tasks.perTask.map((t: { id: string; resolved: number }) => [t.id, t.resolved]),
  );
  assert.deepEqual(per, {
    'calc-right': 2,
    'calc-wrong': 0,
    'calc-breaks-p2p': 0,
    'calc-edits-tests': 0,
    'calc-flaky': 1,
  });
  assert.equal(report.tasks.resolveRate, (1 + 0 + 0 + 0 + 0.5) / 5);
  assert.equal(report.tasks.passAtK, 2 / 5);
  assert.equal(report.tasks.passAt['1'], report.tasks.resolveRate);
  const rec = (id: string) =>
    report.records.find((x: { id: string; attempt: number }) => x.id === id && x.attempt === 1);
  assert.deepEqual(rec('calc-wrong').failingF2P, F2P);
  assert.deepEqual(rec('calc-breaks-p2p').failingF2P, []);
  assert.deepEqual(rec('calc-breaks-p2p').failingP2P, ['test/calc.test.js > add']);
  assert.deepEqual(rec('calc-edits-tests').discarded, ['test/calc.test.js']);
  assert.deepEqual(rec('calc-edits-tests').failingF2P, F2P);
  assert.equal(rec('calc-right').tokens.completion, 30);
  assert.equal(rec('calc-right').endReason, 'submitted');
  // Held-out artifacts: solved as `ssr solve` does, reported as their own set.
  assert.equal(report.artifacts.tasks, 1);
  assert.equal(report.artifacts.perTask[0].id, 'textkit-wrap-width');
  assert.equal(report.artifacts.resolveRate, 1);
  // SWE-bench predictions: one per task, the first attempt's patch.
  const preds = readFileSync(join(out, 'predictions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    preds.map((x) => x.instance_id),
    tags.map((t) => `calc-${t}`),
  );
  assert.ok(preds.every((x) => x.model_name_or_path === 'scripted-model'));
  assert.match(preds[0].model_patch, /^\+ {2}if \(x > hi\) return hi;/m);
  assert.equal(preds[3].model_patch.includes('test/calc.test.js'), true);
  // The solver never sees the history: its repository has one fresh commit.
  const traj = JSON.parse(
    readFileSync(join(out, 'trajectories/tasks/calc-right/attempt-1.json'), 'utf8'),
  );
  assert.equal(traj.trajectory.messages[1].content.includes('<issue>'), true);
  assert.ok(existsSync(join(out, 'trajectories/artifacts/textkit-wrap-width/attempt-2.json')));

  // --resume: every attempt is in the journal, so no model call is made.
  const idle = await startScriptedServer([]);
  try {
    const again = await ssr([
      'eval',
      tasksFile,
      '--model',
      idle.baseURL,
      '--out',
      out,
      '--resume',
      '--attempts',
      '2',
      '--json',
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(idle.chatBodies.length, 0);
    assert.equal(JSON.parse(again.stdout).tasks.resolveRate, report.tasks.resolveRate);
  } finally {
    await idle.close();
  }
});

test('ssr eval --test-command: tasks without a test_script are graded with the command given', async () => {
  assert.ok(mined, 'needs the mined task');
  const { test_script: _s, test_parser: _p, ...bare } = mined;
  // The ids node's TAP reporter gives: no file prefix, unlike the discovered node:test ids.
  const task = {
    ...bare,
    instance_id: 'calc-tap',
    problem_statement: `[right] ${mined.problem_statement}`,
    FAIL_TO_PASS: ['clamp above'],
    PASS_TO_PASS: ['add', 'clamp below'],
  };
  const tasksFile = join(work, 'tap-tasks.jsonl');
  writeFileSync(tasksFile, `${JSON.stringify(task)}\n`);
  const p = policy(String(mined.patch));
  const server = await startScriptedServer(Array.from({ length: 50 }, () => p));
  const command = 'node --test --test-reporter=tap test/';
  try {
    const r = await ssr([
      'eval',
      tasksFile,
      '--model',
      server.baseURL,
      '--out',
      join(work, 'tap-out'),
      '--test-command',
      command,
      '--test-format',
      'tap',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.records[0].harness, `--test-command "${command}"`);
    assert.equal(report.records[0].resolved, true, report.records[0].reason);
  } finally {
    await server.close();
  }
  // Artifacts bring their own test_script: the flags would do nothing, so they are refused.
  const bad = await ssr([
    'eval',
    '--artifacts',
    join(ROOT, 'examples/artifacts'),
    '--model',
    'http://127.0.0.1:9/v1',
    '--test-command',
    command,
    '--test-format',
    'tap',
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /are for tasks without test_script; artifacts bring their own\n$/);
});

test('ssr eval on an image environment (OCI layout, repo at /testbed)', async () => {
  const images = await textkitImages(join(ROOT, 'examples/repos/textkit'));
  const artifact = join(ROOT, 'examples/artifacts/textkit-wrap-width');
  const testPatch = [
    'diff --git a/test/extra.test.js b/test/extra.test.js',
    'new file mode 100644',
    '--- /dev/null',
    '+++ b/test/extra.test.js',
    '@@ -0,0 +1,3 @@',
    "+const test = require('node:test');",
    "+const assert = require('node:assert/strict');",
    "+test('shout', () => assert.equal(require('../src/case.js').shout('a'), 'A!'));",
    '',
  ].join('\n');
  const task = {
    instance_id: 'textkit-shout',
    base_commit: 'HEAD',
    problem_statement: 'Add shout(s) to src/case.js: s in upper case followed by "!".',
    test_patch: testPatch,
    FAIL_TO_PASS: ['test/extra.test.js > shout'],
    PASS_TO_PASS: ['test/wrap.test.js > wrap > keeps short text on one line'],
    test_script: readFileSync(join(artifact, 'test_script.sh'), 'utf8'),
    test_parser: readFileSync(join(artifact, 'test_parser.py'), 'utf8'),
  };
  const file = join(work, 'image-tasks.jsonl');
  writeFileSync(file, `${JSON.stringify(task)}\n`);
  const imageDir = join(work, 'images');
  mkdirSync(imageDir);
  symlinkSync(images.oci, join(imageDir, 'textkit-shout'));
  const fix = tool('bash', {
    command: `printf '%s\\n' "module.exports.shout = (s) => s.toUpperCase() + '!';" >> src/case.js`,
  });
  const p = (body: Record<string, unknown>): ScriptStep =>
    (body.messages as Msg[]).some((m) => m.role === 'assistant') ? submit : fix;
  const server = await startScriptedServer(Array.from({ length: 10 }, () => p));
  try {
    const out = join(work, 'image-out');
    const r = await ssr([
      'eval',
      file,
      '--image-dir',
      imageDir,
      '--model',
      server.baseURL,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.records[0].error, undefined, report.records[0].reason);
    assert.equal(report.tasks.resolveRate, 1);
  } finally {
    await server.close();
  }
});

test('ssr eval: bad inputs exit 2 with one clear line', async () => {
  const base = { ...mined };
  const cases: [string, string, RegExp, string[]?][] = [
    [
      'malformed',
      `${JSON.stringify(base)}\n{"instance_id": "x",\n`,
      /bad\.jsonl:2: not valid JSON/,
    ],
    [
      'missing',
      `${JSON.stringify({ ...base, problem_statement: undefined })}\n`,
      /bad\.jsonl:1: problem_statement: missing/,
    ],
    [
      'bad-list',
      `${JSON.stringify({ ...base, FAIL_TO_PASS: 'not a list' })}\n`,
      /bad\.jsonl:1: FAIL_TO_PASS: expected a list of test ids/,
    ],
    [
      'empty-f2p',
      `${JSON.stringify({ ...base, FAIL_TO_PASS: [] })}\n`,
      /bad\.jsonl:1: FAIL_TO_PASS: needs at least one test/,
    ],
    [
      'no-repo',
      `${JSON.stringify({ ...base, repo_dir: join(work, 'nope') })}\n`,
      /bad\.jsonl:1: repo_dir: not a directory: .*nope/,
    ],
    [
      'unknown-image',
      `${JSON.stringify({ ...base, repo_dir: undefined, image: join(work, 'nope.tar') })}\n`,
      /bad\.jsonl:1: image: not found: .*nope\.tar/,
    ],
    [
      'image-dir',
      `${JSON.stringify({ ...base, repo_dir: undefined })}\n`,
      /bad\.jsonl:1: no image for calc-\w+ in --image-dir/,
      ['--image-dir', work],
    ],
  ];
  for (const [name, content, expected, extra] of cases) {
    const file = join(work, 'bad.jsonl');
    writeFileSync(file, content);
    const r = await ssr(['eval', file, '--model', 'http://127.0.0.1:9/v1', ...(extra ?? [])]);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, expected, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
  }
  const none = await ssr(['eval', '--model', 'http://127.0.0.1:9/v1']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give a tasks\.jsonl file, --artifacts <dir>, or both/);
});

test('pass@k: the unbiased estimator', () => {
  assert.equal(passAtK(2, 1, 1), 0.5);
  assert.equal(passAtK(2, 1, 2), 1);
  assert.equal(passAtK(4, 0, 2), 0);
  assert.ok(Math.abs(passAtK(4, 1, 2) - 0.5) < 1e-12);
});

test('grading: task ids the parser never reports, or no FAIL_TO_PASS at all, never resolve', async () => {
  const { SandboxHost } = await import('../src/sandbox/local.js');
  const { discoverTests } = await import('../src/discovery/discover.js');
  const { gradePatch } = await import('../src/eval/grade.js');
  const host = SandboxHost.open();
  try {
    const base = host.snapshotDir(repo);
    const { suite } = await discoverTests(host, base, { runs: 1 });
    assert.ok(suite, 'the calc suite is discovered');
    const input = {
      base,
      testScript: suite.testScript,
      testParser: suite.testParser,
      testPatch:
        'diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+notes\n',
      failToPass: F2P,
      passToPass: P2P,
    };
    const right = await gradePatch(host, input, '');
    assert.equal(right.resolved, true, right.reason);
    const typo = await gradePatch(
      host,
      { ...input, failToPass: ['test/calc.test.js > clamp abov'] },
      '',
    );
    assert.equal(typo.resolved, false);
    assert.match(
      typo.reason,
      /1 of them not in the test output at all \(e\.g\. test\/calc\.test\.js > clamp abov\)/,
    );
    const none = await gradePatch(host, { ...input, failToPass: [] }, '');
    assert.equal(none.resolved, false);
    assert.match(none.reason, /names no FAIL_TO_PASS test/);
  } finally {
    await host.close();
  }
});

test('ssr eval: attempts lost to model errors are not graded, exit 4, and --resume redoes them', async () => {
  assert.ok(mined, 'needs the mined task');
  const tasksFile = join(work, 'eval-errors.jsonl');
  writeFileSync(
    tasksFile,
    `${JSON.stringify({ ...mined, instance_id: 'calc-err', problem_statement: `[right] ${mined.problem_statement}` })}\n`,
  );
  const out = join(work, 'eval-errors-out');
  const down = await startScriptedServer(
    Array.from({ length: 50 }, () => ({ fault: 'server-error' as const })),
  );
  try {
    const r = await ssr(['eval', tasksFile, '--model', down.baseURL, '--out', out]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout, /ERR {2}calc-err {2}0\/0 resolved \(1 not graded: error\): model error/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.tasks.errors, 1);
    assert.equal(report.tasks.graded, 0);
  } finally {
    await down.close();
  }
  const up = await startScriptedServer(
    Array.from({ length: 50 }, () => policy(String(mined.patch))),
  );
  try {
    const r = await ssr(['eval', tasksFile, '--model', up.baseURL, '--out', out, '--resume']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PASS calc-err {2}1\/1 resolved/);
  } finally {
    await up.close();
  }
});

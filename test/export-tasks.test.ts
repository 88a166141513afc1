/**
 * `ssr export --format harbor|swe-bench` on a real `ssr inject` run of the textkit example (a
 * git repository with node:test tests): every Harbor task passes its oracle check in a real
 * sandbox (reward 0 on the start state, 1 after solution/solve.sh), task.toml is TOML Harbor
 * reads, and the SWE-bench instances round-trip through `ssr eval` (gold patch 100%, empty 0%).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { solverIssuePrompt } from '../src/agent/solver.js';
import { prepareSolverStart, reverseDiff } from '../src/agent/solver-env.js';
import { readArtifactSource } from '../src/export/artifact-source.js';
import { checkHarborTask, exportHarbor } from '../src/export/harbor.js';
import { exportSweBench } from '../src/export/swe-bench.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { RunStore } from '../src/store/run-store.js';
import { type ScriptStep, startScriptedServer } from './helpers/scripted-openai-server.js';
import { runCli } from './helpers/validation.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

let work: string;
let repo: string;
let bugs: string;

const ssr = runCli;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ssr-export-tasks-'));
  repo = join(work, 'textkit');
  execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), repo], { stdio: 'pipe' });
  bugs = join(work, 'bugs');
  const r = await ssr(['inject', repo, '--out', bugs, '--count', '3', '--seed', '1']);
  assert.equal(r.code, 0, r.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

const artifactIds = () =>
  readdirSync(bugs).filter((d) => existsSync(join(bugs, d, 'bug_inject.diff')));

/** task.toml read by Python's own TOML parser (what Harbor uses). */
function readToml(path: string): Record<string, Record<string, unknown>> {
  const out = execFileSync('python3', [
    '-c',
    'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))',
    path,
  ]);
  return JSON.parse(out.toString());
}

/** `ssr export` of the inject run as copy-mode Harbor tasks. */
const harborExport = (out: string, ...extra: string[]) => [
  'export',
  bugs,
  '--format',
  'harbor',
  '--out',
  out,
  '--base-image',
  'node:20-bookworm',
  ...extra,
];

test('harbor: one task per artifact, each passing its oracle check, in the layout Harbor reads', async () => {
  const out = join(work, 'harbor');
  const r = await ssr(harborExport(out));
  assert.equal(r.code, 0, r.stderr);
  const ids = artifactIds().sort();
  assert.equal(ids.length, 3);
  assert.match(r.stderr, /wrote 3 Harbor task\(s\) .*each passed its oracle check/);
  assert.deepEqual(readdirSync(out).sort(), ids);

  const source = readArtifactSource(bugs);
  const host = SandboxHost.open({});
  try {
    for (const e of source.artifacts) {
      const dir = join(out, e.artifact.metadata.id);
      for (const f of [
        'instruction.md',
        'task.toml',
        'environment/Dockerfile',
        'tests/test.sh',
        'solution/solve.sh',
      ])
        assert.ok(existsSync(join(dir, f)), `${f} in ${dir}`);
      for (const f of ['tests/test.sh', 'solution/solve.sh'])
        assert.ok(statSync(join(dir, f)).mode & 0o100, `${f} is executable`);
      // What `ssr solve` sends as the issue, word for word.
      assert.equal(
        readFileSync(join(dir, 'instruction.md'), 'utf8'),
        `${solverIssuePrompt(reverseDiff(e.artifact.weakenDiff), 'tests')}\n`,
      );
      const toml = readToml(join(dir, 'task.toml'));
      assert.equal(toml.version as unknown, '1.0');
      assert.equal(toml.metadata!.ssr_artifact_id, e.artifact.metadata.id);
      assert.equal(toml.metadata!.ssr_strategy, e.artifact.metadata.strategy);
      assert.equal(typeof toml.verifier!.timeout_sec, 'number');
      assert.equal(toml.environment!.allow_internet, false);
      // The scripts name /repo themselves (the oracle check below runs them without override).
      assert.match(
        readFileSync(join(dir, 'tests/test.sh'), 'utf8'),
        /REPO="\$\{SSR_REPO:-\/repo\}"/,
      );
      assert.match(
        readFileSync(join(dir, 'solution/solve.sh'), 'utf8'),
        /cd "\$\{SSR_REPO:-\/repo\}"/,
      );
      const docker = readFileSync(join(dir, 'environment/Dockerfile'), 'utf8');
      assert.match(docker, /^FROM node:20-bookworm$/m);
      assert.match(docker, /^COPY repo\/ \/repo\/$/m);
      // Copy mode: the repository's files, without its history.
      assert.ok(existsSync(join(dir, 'environment/repo/src/wrap.js')));
      assert.ok(!existsSync(join(dir, 'environment/repo/.git')));
      // One copy of the repository, hard-linked into every task.
      assert.equal(statSync(join(dir, 'environment/repo/src/wrap.js')).nlink, ids.length);
      // The oracle check again, on the folder as written: 0 on the start state, 1 once solved.
      const start = await prepareSolverStart(host, host.snapshotDir(repo), e.artifact);
      const check = await checkHarborTask(host, start, dir, e);
      assert.deepEqual(
        [check.startReward, check.solvedReward, check.ok],
        [0, 1, true],
        check.reason,
      );
    }
  } finally {
    await host.close();
  }

  // Outside ssr: examples/trainers/harbor_local.py builds each start state as the Dockerfile
  // does and runs the task's own scripts with plain bash and python3.
  const local = async (...args: string[]) => {
    // As a user's shell runs it: not inside node --test, whose NODE_TEST_CONTEXT would make
    // the repository's own node --test report to this process instead of printing TAP.
    const { NODE_TEST_CONTEXT: _, ...userEnv } = process.env;
    const r = await run(
      'python3',
      [join(ROOT, 'examples/trainers/harbor_local.py'), out, ...args],
      {
        env: userEnv,
      },
    );
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { task: string; reward: number });
  };
  assert.deepEqual(
    (await local('--oracle')).map((t) => [t.task, t.reward]),
    ids.map((id) => [id, 1]),
  );
  const server = await startScriptedServer(Array.from({ length: 10 }, () => submit));
  try {
    const submitted = await local('--model-url', server.baseURL, '--model', 'scripted-model');
    assert.deepEqual(
      submitted.map((t) => t.reward),
      [0, 0, 0],
      'submitting nothing solves nothing',
    );
  } finally {
    await server.close();
  }

  // A rerun keeps the tasks that are there.
  const again = await ssr(harborExport(out, '--json'));
  assert.equal(again.code, 0, again.stderr);
  const result = JSON.parse(again.stdout);
  assert.deepEqual(result.written, []);
  assert.deepEqual(result.existing, ids);
});

test('harbor: a repository in the base image (--repo-path), and a task whose oracle check fails is not written', async () => {
  // An artifact whose report claims a test passes on the original that never does (as when
  // the environment differs from the one the bug was validated in): the verifier gives 0
  // even after the reference solution, so the task must not be written.
  const broken = join(work, 'broken');
  cpSync(bugs, broken, { recursive: true });
  const [first, second] = artifactIds().sort();
  const reportPath = join(broken, first!, 'validation.json');
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  report.baseline.passed.push('test/ghost.test.js > never runs');
  writeFileSync(reportPath, JSON.stringify(report));
  for (const id of artifactIds().filter((d) => d !== first && d !== second))
    rmSync(join(broken, id), { recursive: true });
  const out = join(work, 'harbor-image');
  const r = await ssr([
    'export',
    broken,
    '--format',
    'harbor',
    '--out',
    out,
    '--base-image',
    'ghcr.io/example/textkit:1',
    '--repo-path',
    '/testbed',
    '--repo',
    repo,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `task ${first}: not written: oracle check failed: after solution/solve.sh the verifier gave 0, not 1`,
    ),
  );
  assert.deepEqual(readdirSync(out), [second]);
  const dir = join(out, second!);
  const docker = readFileSync(join(dir, 'environment/Dockerfile'), 'utf8');
  assert.match(docker, /^FROM ghcr.io\/example\/textkit:1$/m);
  assert.match(docker, /^WORKDIR \/testbed$/m);
  assert.ok(!existsSync(join(dir, 'environment/repo')), 'nothing copied in');
  assert.match(readFileSync(join(dir, 'instruction.md'), 'utf8'), /repository at \/testbed\./);
  assert.match(readFileSync(join(dir, 'tests/test.sh'), 'utf8'), /SSR_REPO:-\/testbed\}/);
});

test('export: bad input is one line and exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [
      [
        'export',
        join(work, 'nope'),
        '--format',
        'harbor',
        '--out',
        join(work, 'x'),
        '--base-image',
        'i',
      ],
      /does not exist or is not a folder/,
    ],
    [
      ['export', work, '--format', 'harbor', '--out', join(work, 'x'), '--base-image', 'i'],
      /neither an ssr run directory .* nor an ssr inject output/,
    ],
    [
      ['export', bugs, '--format', 'harbour'],
      /unknown export format "harbour" \(use jsonl, parquet, harbor, swe-bench\)/,
    ],
    [
      ['export', bugs, '--format', 'harbor', '--out', join(work, 'x')],
      /--base-image is needed for Harbor tasks/,
    ],
    [
      ['export', bugs, '--format', 'harbor', '--base-image', 'i'],
      /--out <folder> is required for --format harbor/,
    ],
    [
      ['export', bugs, '--format', 'swe-bench', '--base-image', 'i'],
      /--base-image does not apply to --format swe-bench/,
    ],
    [
      [
        'export',
        bugs,
        '--format',
        'harbor',
        '--out',
        join(bugs, 'summary.json', 'x'),
        '--base-image',
        'i',
      ],
      /--out .*summary.json\/x: cannot create the folder/,
    ],
    [
      ['export', bugs, '--format', 'swe-bench', '--out', join(bugs, 'summary.json', 'x.jsonl')],
      /the folder of --out .* does not exist/,
    ],
    [
      [
        'export',
        bugs,
        '--format',
        'harbor',
        '--out',
        join(work, 'x'),
        '--base-image',
        'i',
        '--repo-path',
        "/test bed'",
      ],
      /--repo-path must be an absolute path inside the image of letters/,
    ],
    [
      ['export', bugs, '--format', 'jsonl'],
      /an ssr inject output has no episodes: use --format harbor or swe-bench/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await ssr(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

// --- SWE-bench -------------------------------------------------------------------------------

type Msg = { role: string; content?: string };
const tool = (name: string, args: unknown): ScriptStep => ({
  toolCalls: [{ name, arguments: JSON.stringify(args) }],
  usage: { promptTokens: 100, completionTokens: 10 },
});
const submit = tool('submit', {});

/** Applies the gold patch of whichever instance the prompt states, then submits. */
function goldPolicy(instances: { problem_statement: string; patch: string }[]) {
  return (body: Record<string, unknown>): ScriptStep => {
    const msgs = body.messages as Msg[];
    if (msgs.some((m) => m.role === 'assistant')) return submit;
    const user = msgs.find((m) => m.role === 'user')?.content ?? '';
    const task = instances.find((t) => user.includes(t.problem_statement.trim()));
    if (!task) return submit;
    return tool('bash', {
      command: `echo ${Buffer.from(task.patch).toString('base64')} | base64 -d | git apply`,
    });
  };
}

test('swe-bench: instances with SWE-bench fields round-trip through ssr eval (gold 100%, empty 0%)', async () => {
  const file = join(work, 'swe.jsonl');
  const r = await ssr([
    'export',
    bugs,
    '--format',
    'swe-bench',
    '--out',
    file,
    '--repo-name',
    'example/textkit',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote 3 SWE-bench instance\(s\)/);
  const instances = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(instances.length, 3);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim();
  for (const t of instances) {
    for (const k of [
      'instance_id',
      'repo',
      'base_commit',
      'patch',
      'test_patch',
      'problem_statement',
      'FAIL_TO_PASS',
      'PASS_TO_PASS',
      'version',
      'created_at',
    ])
      assert.ok(k in t, k);
    assert.equal(t.repo, 'example/textkit');
    assert.equal(t.base_commit, head);
    // As SWE-bench ships them: JSON-encoded lists.
    assert.equal(typeof t.FAIL_TO_PASS, 'string');
    assert.ok(JSON.parse(t.FAIL_TO_PASS).length >= 1);
    assert.ok(JSON.parse(t.PASS_TO_PASS).length >= 1);
    assert.match(t.patch, /^diff --git a\//);
    assert.equal(
      t.test_patch,
      reverseDiff(readFileSync(join(bugs, t.instance_id, 'test_weaken.diff'), 'utf8')),
    );
  }

  const evaluate = async (name: string, policy: (b: Record<string, unknown>) => ScriptStep) => {
    const server = await startScriptedServer(Array.from({ length: 40 }, () => policy));
    try {
      const out = join(work, `eval-${name}`);
      const e = await ssr([
        'eval',
        file,
        '--model',
        server.baseURL,
        '--out',
        out,
        '--concurrency',
        '2',
      ]);
      assert.equal(e.code, 0, e.stderr);
      return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    } finally {
      await server.close();
    }
  };
  const gold = await evaluate('gold', goldPolicy(instances));
  assert.equal(
    gold.tasks.resolveRate,
    1,
    JSON.stringify(gold.records.map((x: { reason: string }) => x.reason)),
  );
  const empty = await evaluate('empty', () => submit);
  assert.equal(empty.tasks.resolveRate, 0);
  for (const rec of empty.records) assert.match(rec.reason, /FAIL_TO_PASS test\(s\) do not pass/);
});

test('swe-bench: a repository with uncommitted changes names no base commit, and says so', async () => {
  const dirty = join(work, 'dirty');
  cpSync(repo, dirty, { recursive: true });
  writeFileSync(join(dirty, 'NOTES.md'), 'scratch\n');
  const r = await ssr([
    'export',
    bugs,
    '--format',
    'swe-bench',
    '--out',
    join(work, 'dirty.jsonl'),
    '--repo',
    dirty,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /wrote no SWE-bench instance: every artifact failed/);
  assert.ok(!existsSync(join(work, 'dirty.jsonl')), 'no empty file that looks like an export');
  assert.match(
    r.stderr,
    /not written .*: the repository has uncommitted changes \(\?\? NOTES.md\): commit them/,
  );
});

test('a self-play run directory: its valid artifacts become tasks with solve rates and the policy that wrote them', async () => {
  // A run as `ssr selfplay` lays it out (RunStore), holding two artifacts of the inject run:
  // one an LLM injection with its episode, solve rates of two steps and a policy version; one
  // rejected, which must not be exported.
  const runDir = join(work, 'run');
  const store = RunStore.openForWriting(runDir, { repos: [repo] });
  const [good, bad] = artifactIds().sort();
  cpSync(join(bugs, good!), store.artifactDir(good!), { recursive: true });
  const episode = {
    kind: 'episode' as const,
    id: 's0-inj0',
    step: 0,
    role: 'injector' as const,
    repo,
    artifactId: good!,
    groupId: 's0-injector',
    strategy: 'removal',
    outcome: 'valid',
    reason: 'valid',
    reward: null,
    endReason: 'submitted' as const,
    turns: 3,
    usage: { promptTokens: 1, completionTokens: 1 },
    durationMs: 1,
    trajectory: null,
    model: 'openai:http://127.0.0.1:8000/v1 model=qwen',
    policy: { model: 'qwen-7b', version: 'step-41' },
    finishedAt: new Date().toISOString(),
  };
  store.append(episode);
  const artifact = {
    kind: 'artifact' as const,
    step: 0,
    repo,
    source: 'llm' as const,
    parent: null,
    order: 1,
  };
  store.append({ ...artifact, id: good!, valid: true, reason: 'valid', episodeId: 's0-inj0' });
  store.append({
    ...artifact,
    id: bad!,
    valid: false,
    reason: 'check 5 (bug validity): no test fails',
  });
  for (const [step, solved] of [
    [0, 1],
    [1, 3],
  ] as const)
    store.append({
      kind: 'solve-rate',
      artifactId: good!,
      step,
      solved,
      attempts: 4,
      solveRate: solved / 4,
    });
  store.close();

  const out = join(work, 'harbor-run');
  const r = await exportHarbor(runDir, { out, baseImage: 'node:20-bookworm', verify: false });
  assert.equal(r.source, 'run');
  assert.deepEqual([r.written, r.failed, r.skipped], [[good], [], []]);
  const meta = readToml(join(out, good!, 'task.toml')).metadata!;
  assert.equal(meta.ssr_policy_model, 'qwen-7b');
  assert.equal(meta.ssr_policy_version, 'step-41');
  assert.deepEqual(meta.ssr_solve_rates, [
    { step: 0, solved: 1, attempts: 4, solve_rate: 0.25 },
    { step: 1, solved: 3, attempts: 4, solve_rate: 0.75 },
  ]);
  assert.equal(meta.difficulty, 'medium'); // 4 of 8 attempts solved

  const swe = await exportSweBench(runDir, { out: join(work, 'run-swe.jsonl') });
  assert.equal(swe.instances, 1);
  const instance = JSON.parse(readFileSync(swe.out, 'utf8'));
  assert.equal(instance.instance_id, good);
  assert.deepEqual(
    [instance.ssr.policy_model, instance.ssr.policy_version],
    ['qwen-7b', 'step-41'],
  );
  assert.equal(instance.ssr.solve_rates.length, 2);
});

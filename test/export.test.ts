/**
 * `ssr export`: a small run written through the RunStore API, exported as JSONL (round trip),
 * as Parquet (read back by DuckDB), and through the CLI, bad inputs included.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Trajectory, TurnRecord } from '../src/agent/loop.js';
import type { ModelResponse } from '../src/agent/types.js';
import { type ExportRow, exportRows, exportRun } from '../src/export/index.js';
import { type EpisodeRecordV1, RunStore } from '../src/store/run-store.js';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

interface TurnData {
  ids?: 'field' | 'in-logprobs';
  logprobs?: boolean;
  promptIds?: boolean;
}

/** Two tool-calling turns, optionally with a model error between them. */
function trajectory(turnData: (TurnData | 'error')[]): Trajectory {
  const messages: Trajectory['messages'] = [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'fix the bug' },
  ];
  const turns: TurnRecord[] = turnData.map((d, index) => {
    if (d === 'error') return { index, response: null, tools: [], error: 'server down' };
    const call = { id: `call_${index}`, name: 'bash', arguments: `{"command":"ls ${index}"}` };
    const n = index + 2;
    const response: ModelResponse = {
      message: { role: 'assistant', content: index ? null : 'looking', toolCalls: [call] },
      finishReason: 'tool_calls',
      usage: { promptTokens: 10, completionTokens: n },
      latencyMs: 1,
    };
    const tokenIds = Array.from({ length: n }, (_, k) => 100 * (index + 1) + k);
    if (d.logprobs || d.ids === 'in-logprobs') {
      response.logprobs = tokenIds.map((id, k) => ({
        token: `t${k}`,
        logprob: -0.5 * (k + 1),
        ...(d.ids === 'in-logprobs' ? { tokenId: id } : {}),
      }));
    }
    if (d.ids === 'field') response.completionTokenIds = tokenIds;
    if (d.promptIds) response.promptTokenIds = [1, 2, 3];
    messages.push(response.message, {
      role: 'tool',
      toolCallId: call.id,
      content: `out ${index}`,
    });
    return { index, response, tools: [] };
  });
  return {
    messages,
    turns,
    endReason: 'submitted',
    endDetail: '',
    submitted: true,
    usage: { promptTokens: 10 * turns.length, completionTokens: 5 },
    durationMs: 5,
    budget: { maxTurns: 8, wallTimeMs: 1000, maxIdleTurns: 3 },
    tools: [],
  };
}

type EpisodeSpec = Pick<EpisodeRecordV1, 'id' | 'step' | 'role' | 'groupId' | 'outcome'> &
  Partial<EpisodeRecordV1> & { traj?: Trajectory | 'none' | 'lost'; tools?: boolean };

function addEpisode(store: RunStore, e: EpisodeSpec): void {
  const { traj, tools, ...rest } = e;
  let path: string | null = null;
  if (traj === 'lost') path = `trajectories/${e.id}.json`;
  else if (traj !== 'none') {
    const file = {
      episodeId: e.id,
      role: e.role,
      trajectory: traj ?? trajectory([{}]),
      ...(tools
        ? { tools: [{ name: 'bash', description: 'run', parameters: { type: 'object' } }] }
        : {}),
    };
    path = store.writeFile(`trajectories/${e.id}.json`, JSON.stringify(file));
  }
  store.append({
    kind: 'episode',
    repo: 'textkit',
    artifactId: null,
    reason: '',
    reward: null,
    endReason: 'submitted',
    turns: 2,
    usage: { promptTokens: 100, completionTokens: 20 },
    durationMs: 1,
    trajectory: path,
    model: 'scripted',
    finishedAt: '2025-01-01T00:00:00.000Z',
    ...rest,
  });
}

const solver = (step: number, art: string, i: number, reward: number, extra = {}): EpisodeSpec => ({
  id: `s${step}-${art}-a${i}`,
  step,
  role: 'solver',
  groupId: `s${step}-${art}`,
  artifactId: art,
  attempt: i,
  outcome: reward > 0 ? 'solved' : 'unsolved',
  reward,
  ...extra,
});

/**
 * Step 1: injections valid (art-a, solve rate 1/4 -> reward 1 - 1.8 * 0.25 = 0.55) and
 * invalid (-1); four solver attempts on art-a, one of them first failed on a model error and
 * was redone. Step 2: art-b valid (1/2 -> 0.1), art-c valid but pending (one of its attempts
 * done), an injector error without trajectory and one from an older run that recorded a model
 * error as 'no-artifact' with -1 (both left out of the export).
 */
function buildRun(dir: string): void {
  const store = RunStore.openForWriting(dir, { seed: 1 });
  const inj = (step: number, k: number, extra: Partial<EpisodeSpec>): EpisodeSpec => ({
    id: `s${step}-inj${k}`,
    step,
    role: 'injector',
    groupId: `s${step}-injector`,
    strategy: k % 2 ? 'removal' : 'history',
    outcome: 'valid',
    ...extra,
  });
  addEpisode(
    store,
    inj(1, 1, {
      artifactId: 'art-a',
      tools: true,
      policy: { model: 'qwen-ckpt-3', version: 'v3' },
    }),
  );
  addEpisode(store, inj(1, 2, { outcome: 'invalid', reward: -1 }));
  const withIds = trajectory([
    { ids: 'field', logprobs: true, promptIds: true },
    'error',
    { logprobs: true },
  ]);
  addEpisode(
    store,
    solver(1, 'art-a', 0, 1, { traj: withIds, policy: { model: null, version: 'v3' } }),
  );
  addEpisode(store, solver(1, 'art-a', 1, -1, { traj: trajectory([{ ids: 'in-logprobs' }]) }));
  addEpisode(store, solver(1, 'art-a', 2, -1, { traj: 'lost' }));
  addEpisode(
    store,
    solver(1, 'art-a', 3, -1, {
      outcome: 'error',
      reward: null,
      endReason: 'model-error',
      traj: 'none',
    }),
  );
  addEpisode(store, solver(1, 'art-a', 3, -1));
  store.append({
    kind: 'solve-rate',
    artifactId: 'art-a',
    step: 1,
    solved: 1,
    attempts: 4,
    solveRate: 0.25,
    injectorEpisodeId: 's1-inj1',
    injectorReward: 0.55,
  });
  addEpisode(store, inj(2, 1, { artifactId: 'art-b' }));
  addEpisode(store, inj(2, 2, { artifactId: 'art-c' }));
  addEpisode(
    store,
    inj(2, 3, { outcome: 'error', reward: null, endReason: 'error', traj: 'none' }),
  );
  addEpisode(store, inj(2, 4, { outcome: 'no-artifact', reward: -1, endReason: 'model-error' }));
  addEpisode(store, solver(2, 'art-b', 1, -1));
  addEpisode(store, solver(2, 'art-b', 0, 1));
  addEpisode(store, solver(2, 'art-c', 0, 1));
  store.append({
    kind: 'solve-rate',
    artifactId: 'art-b',
    step: 2,
    solved: 1,
    attempts: 2,
    solveRate: 0.5,
    injectorEpisodeId: 's2-inj1',
    injectorReward: 0.1,
  });
  store.close();
}

let tmp: string;
let runDir: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ssr-export-'));
  runDir = join(tmp, 'run-7');
  buildRun(runDir);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const readJsonl = (path: string): ExportRow[] =>
  readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as ExportRow);
const byId = (rows: ExportRow[]) => new Map(rows.map((r) => [r.episode_id, r]));
const close = (a: number | null | undefined, b: number) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${a} != ${b}`);

const ORDER = [
  's1-art-a-a0',
  's1-art-a-a1',
  's1-art-a-a2',
  's1-art-a-a3',
  's1-inj1',
  's1-inj2',
  's2-art-b-a0',
  's2-art-b-a1',
  's2-art-c-a0',
  's2-inj1',
];
const SQRT_HALF = Math.SQRT1_2;
/** GRPO advantages with the sample std: (r - mean) / std within each group. */
const ADVANTAGES: Record<string, [size: number, advantage: number]> = {
  's1-art-a-a0': [4, 1.5],
  's1-art-a-a1': [4, -0.5],
  's1-art-a-a2': [4, -0.5],
  's1-art-a-a3': [4, -0.5],
  's1-inj1': [2, SQRT_HALF],
  's1-inj2': [2, -SQRT_HALF],
  's2-art-b-a0': [2, SQRT_HALF],
  's2-art-b-a1': [2, -SQRT_HALF],
  's2-art-c-a0': [1, 0],
  's2-inj1': [1, 0],
};

test('JSONL: one row per finished episode, final rewards, pending injection and errors left out', async () => {
  const out = join(tmp, 'a.jsonl');
  const r = await exportRun(runDir, { format: 'jsonl', out });
  assert.deepEqual(
    {
      rows: r.rows,
      pending: r.pending,
      missing: r.missingTrajectories,
      errors: r.errors,
      out: r.out,
    },
    { rows: 10, pending: 1, missing: 1, errors: 2, out },
  );
  assert.equal(r.bytes, readFileSync(out).length);
  const rows = readJsonl(out);
  assert.deepEqual(
    rows.map((x) => x.episode_id),
    ORDER,
    'groups contiguous, stable order, attempts in numeric order',
  );
  const m = byId(rows);
  assert.equal(m.get('s1-inj1')!.reward, 0.55, 'injector reward from the solve-rate record');
  assert.equal(m.get('s2-inj1')!.reward, 0.1);
  assert.equal(m.get('s1-inj2')!.reward, -1);
  assert.equal(m.get('s1-art-a-a0')!.reward, 1);
  assert.equal(m.get('s1-art-a-a3')!.reward, -1);
  const inj = m.get('s1-inj1')!;
  assert.deepEqual(
    [inj.run, inj.step, inj.role, inj.repo, inj.artifact_id, inj.group_id, inj.attempt],
    ['run-7', 1, 'injector', 'textkit', 'art-a', 's1-injector', null],
  );
  assert.deepEqual(
    [inj.strategy, inj.outcome, inj.end_reason, inj.turns, inj.prompt_tokens, inj.model],
    ['removal', 'valid', 'submitted', 2, 100, 'scripted'],
  );
  assert.deepEqual(
    [inj.policy_model, inj.policy_version],
    ['qwen-ckpt-3', 'v3'],
    'the policy that sampled the episode',
  );
  const a0 = m.get('s1-art-a-a0')!;
  assert.deepEqual([a0.policy_model, a0.policy_version], [null, 'v3']);
  const old = m.get('s1-inj2')!;
  assert.deepEqual([old.policy_model, old.policy_version], [null, null], 'records before policies');
  assert.equal(m.get('s1-art-a-a2')!.attempt, 2);
  assert.equal(m.get('s1-art-a-a2')!.messages, null, 'lost trajectory: metadata only');
  assert.equal(m.get('s1-art-a-a3')!.end_reason, 'submitted', 'the redone attempt, once');
  assert.ok(!m.has('s2-inj3') && !m.has('s2-inj4'), 'model and infrastructure errors left out');
});

test('groups and GRPO advantages (pending rewards take no part)', async () => {
  const out = join(tmp, 'b.jsonl');
  await exportRun(runDir, { format: 'jsonl', out });
  for (const row of readJsonl(out)) {
    const [size, adv] = ADVANTAGES[row.episode_id]!;
    assert.equal(row.group_size, size, row.episode_id);
    close(row.advantage, adv);
  }
});

test('messages in OpenAI chat shape; token ids and logprobs aligned with assistant turns', async () => {
  const out = join(tmp, 'c.jsonl');
  await exportRun(runDir, { format: 'jsonl', out });
  const m = byId(readJsonl(out));
  const a0 = m.get('s1-art-a-a0')!;
  assert.deepEqual(a0.messages!.slice(0, 4), [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'fix the bug' },
    {
      role: 'assistant',
      content: 'looking',
      tool_calls: [
        {
          id: 'call_0',
          type: 'function',
          function: { name: 'bash', arguments: '{"command":"ls 0"}' },
        },
      ],
    },
    { role: 'tool', tool_call_id: 'call_0', content: 'out 0' },
  ]);
  assert.equal(a0.messages!.length, 6);
  assert.equal(a0.messages![4]!.content, null);
  // Three turns, the middle one a model error: two assistant messages, two token entries.
  assert.deepEqual(a0.completion_token_ids, [[100, 101], null]);
  assert.deepEqual(a0.completion_logprobs, [
    [-0.5, -1],
    [-0.5, -1, -1.5, -2],
  ]);
  assert.deepEqual(a0.prompt_token_ids, [1, 2, 3]);
  const a1 = m.get('s1-art-a-a1')!;
  assert.deepEqual(a1.completion_token_ids, [[100, 101]], 'ids taken from the logprobs');
  assert.equal(a1.prompt_token_ids, null);
  const a3 = m.get('s1-art-a-a3')!;
  assert.deepEqual(
    [a3.completion_token_ids, a3.completion_logprobs, a3.prompt_token_ids],
    [null, null, null],
    'no token data from the server',
  );
  assert.deepEqual(m.get('s1-inj1')!.tools, [
    {
      type: 'function',
      function: { name: 'bash', description: 'run', parameters: { type: 'object' } },
    },
  ]);
  assert.equal(a0.tools, null);
});

test('--include-pending keeps the pending injection with a null reward', async () => {
  const out = join(tmp, 'd.jsonl');
  const r = await exportRun(runDir, { format: 'jsonl', out, includePending: true });
  assert.deepEqual([r.rows, r.pending, r.errors], [11, 1, 2]);
  const m = byId(readJsonl(out));
  const p = m.get('s2-inj2')!;
  assert.deepEqual([p.reward, p.advantage, p.group_size], [null, null, 1]);
  close(m.get('s2-inj1')!.advantage, 0);
  assert.ok(!m.has('s2-inj3'), 'errors are never exported');
});

test('one step only: its rows, its pending count, its errors', () => {
  const store = RunStore.open(runDir);
  try {
    const step1 = exportRows(store, { step: 1 });
    assert.deepEqual(
      [...step1].map((r) => r.episode_id),
      ORDER.filter((id) => id.startsWith('s1-')),
    );
    assert.deepEqual([step1.count, step1.pending, step1.errors], [6, 0, 0]);
    const step2 = exportRows(store, { step: 2 });
    assert.deepEqual([step2.count, step2.pending, step2.errors], [4, 1, 2]);
    assert.equal(exportRows(store, { step: 9 }).count, 0);
  } finally {
    store.close();
  }
});

test('trajectories are read while iterating, not up front', () => {
  const dir = join(tmp, 'lazy');
  const store = RunStore.openForWriting(dir, {});
  addEpisode(store, solver(1, 'x', 0, 1));
  addEpisode(store, solver(1, 'x', 1, -1));
  const rows = exportRows(store);
  assert.equal(rows.count, 2);
  rmSync(join(dir, 'trajectories/s1-x-a1.json'));
  const got = [...rows];
  assert.notEqual(got[0]!.messages, null);
  assert.equal(got[1]!.messages, null);
  assert.equal(rows.missingTrajectories, 1);
  store.close();
});

async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

test('Parquet: typed (nested) columns that DuckDB reads, same rows as JSONL', async () => {
  const out = join(tmp, 'e.parquet');
  const r = await exportRun(runDir, { format: 'parquet', out, includePending: true });
  assert.equal(r.rows, 11);
  const src = `read_parquet('${out}')`;
  const types = Object.fromEntries(
    (await duck(`describe select * from ${src}`)).map((x) => [x.column_name, x.column_type]),
  );
  assert.deepEqual(
    {
      step: types.step,
      attempt: types.attempt,
      group_size: types.group_size,
      reward: types.reward,
      advantage: types.advantage,
      prompt_tokens: types.prompt_tokens,
      episode_id: types.episode_id,
      tools: types.tools,
      completion_token_ids: types.completion_token_ids,
      completion_logprobs: types.completion_logprobs,
      prompt_token_ids: types.prompt_token_ids,
      policy_model: types.policy_model,
      policy_version: types.policy_version,
    },
    {
      step: 'INTEGER',
      attempt: 'INTEGER',
      group_size: 'INTEGER',
      reward: 'DOUBLE',
      advantage: 'DOUBLE',
      prompt_tokens: 'BIGINT',
      episode_id: 'VARCHAR',
      tools: 'JSON',
      completion_token_ids: 'INTEGER[][]',
      completion_logprobs: 'DOUBLE[][]',
      prompt_token_ids: 'INTEGER[]',
      policy_model: 'VARCHAR',
      policy_version: 'VARCHAR',
    },
  );
  assert.match(String(types.messages), /^STRUCT\("role" VARCHAR, "content" VARCHAR, tool_calls/);
  assert.equal(Object.keys(types).length, 25);

  const groups = await duck(
    `select group_id, count(*)::int as n, count(reward)::int as rewarded,
       abs(sum(advantage)) < 1e-9 as centred from ${src} group by group_id order by group_id`,
  );
  assert.deepEqual(groups, [
    { group_id: 's1-art-a', n: 4, rewarded: 4, centred: true },
    { group_id: 's1-injector', n: 2, rewarded: 2, centred: true },
    { group_id: 's2-art-b', n: 2, rewarded: 2, centred: true },
    { group_id: 's2-art-c', n: 1, rewarded: 1, centred: true },
    { group_id: 's2-injector', n: 2, rewarded: 1, centred: true },
  ]);

  const [a0] = await duck(
    `select messages[3].tool_calls[1].function.name as tool, messages[4].tool_call_id as call,
       messages[1].tool_calls as none, len(messages)::int as n, completion_token_ids[2] as missing,
       completion_logprobs[2][4] as lp, prompt_tokens from ${src} where episode_id = 's1-art-a-a0'`,
  );
  assert.deepEqual(a0, {
    tool: 'bash',
    call: 'call_0',
    none: null,
    n: 6,
    missing: null,
    lp: -2,
    prompt_tokens: '100',
  });
  const [nulls] = await duck(
    `select count(*) filter (where reward is null)::int as reward,
       count(*) filter (where attempt is null)::int as attempt,
       count(*) filter (where messages is null)::int as messages,
       count(*) filter (where completion_token_ids is null)::int as ids,
       count(*) filter (where tools is not null)::int as tools from ${src}`,
  );
  assert.deepEqual(nulls, { reward: 1, attempt: 4, messages: 1, ids: 9, tools: 1 });

  // Every row, every column, equal to the JSONL export (nested values included).
  const jsonl = join(tmp, 'e.jsonl');
  await exportRun(runDir, { format: 'jsonl', out: jsonl, includePending: true });
  const expected = readJsonl(jsonl);
  const got = await duck(`select * from ${src}`);
  // A Parquet struct has every field, so keys absent from a JSONL message come back null.
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== null)
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  assert.equal(got.length, expected.length);
  for (const [i, row] of got.entries()) {
    const want = expected[i]!;
    for (const [k, v] of Object.entries(row)) {
      const w = want[k as keyof ExportRow];
      if (k === 'prompt_tokens' || k === 'completion_tokens') assert.equal(v, String(w), k);
      else if (k === 'tools') assert.deepEqual(v === null ? null : JSON.parse(String(v)), w, k);
      else if (k === 'messages') assert.deepEqual(strip(v), strip(w), `${want.episode_id} ${k}`);
      else assert.deepEqual(v, w, `${want.episode_id} ${k}`);
    }
  }
});

test('an empty run exports an empty file (Parquet still has its schema)', async () => {
  const dir = join(tmp, 'empty');
  RunStore.openForWriting(dir, {}).close();
  const r = await exportRun(dir, { format: 'parquet' });
  assert.equal(r.out, join(dir, 'export', 'episodes.parquet'));
  assert.equal(r.rows, 0);
  const [row] = await duck(`select count(*)::int as n from read_parquet('${r.out}')`);
  assert.equal(row!.n, 0);
  const j = await exportRun(dir, { format: 'jsonl' });
  assert.equal(readFileSync(j.out, 'utf8'), '');
});

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      // Run from the temp dir (relative paths), so tsx is named by its resolved location.
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), 'export', ...args],
      { cwd: tmp },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('CLI: default out path, one-line summary on stderr, --json on stdout', async () => {
  const r = await cli(runDir, '--format', 'parquet');
  assert.equal(r.code, 0, r.stderr);
  const file = join(runDir, 'export', 'episodes.parquet');
  assert.ok(existsSync(file));
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^exported 10 episode\(s\) to run-7\/export\/episodes\.parquet \(\d+\.\d KiB\); 1 with a pending reward left out \(--include-pending keeps them\); 1 trajectory file\(s\) missing \(messages null\)\n$/,
  );
  const j = await cli(
    runDir,
    '--format',
    'jsonl',
    '--out',
    'x.jsonl',
    '--include-pending',
    '--json',
  );
  assert.equal(j.code, 0, j.stderr);
  const summary = JSON.parse(j.stdout);
  assert.deepEqual(
    [summary.format, summary.rows, summary.pending, summary.out],
    ['jsonl', 11, 1, join(tmp, 'x.jsonl')],
  );
  assert.equal(summary.errors, 2);
  assert.equal(readJsonl(join(tmp, 'x.jsonl')).length, 11);
});

test('CLI: user mistakes exit 2 with one clear line and no stack trace', async () => {
  const notRun = join(tmp, 'not-a-run');
  mkdirSync(notRun, { recursive: true });
  writeFileSync(join(notRun, 'journal.jsonl'), '');
  const cases: [string[], RegExp][] = [
    [[notRun, '--format', 'jsonl'], /is not an ssr run directory \(no run\.json\)/],
    [[join(tmp, 'nowhere'), '--format', 'jsonl'], /is not an ssr run directory/],
    [
      [runDir, '--format', 'csv'],
      /unknown export format "csv" \(use jsonl, parquet, harbor, swe-bench\)/,
    ],
    [[runDir, '--format', 'jsonl', '--out', join(tmp, 'no/such/dir/x.jsonl')], /does not exist/],
    [[runDir, '--format', 'jsonl', '--out', tmp], /is a folder/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ssr: [^\n]+\n$/, `one line: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(join(notRun, 'export')), 'nothing written into a folder that is not a run');
  const missing = await cli(runDir);
  assert.equal(missing.code, 2, 'no --format');
  assert.match(missing.stderr, /--format/);
});

// The agent's tools (bash, editor, submit) and their dispatcher, on real sandboxes over a
// small git repository.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DEFAULT_OUTPUT_BUDGET,
  defaultTools,
  EditorState,
  runTool,
  type ToolContext,
  type ToolResult,
} from '../src/agent/tools/index.js';
import { SandboxHost } from '../src/sandbox/index.js';
import type { Sandbox } from '../src/sandbox/types.js';
import { makeRepo, removeTempDirs, unique } from './helpers/sandbox-repo.js';

const ORIGINAL_APP = 'function add(a, b) {\n  return a + b;\n}\n\nmodule.exports = { add };\n';
const FILES = {
  'src/app.js': ORIGINAL_APP,
  'src/dup.js': 'x = 1;\ny = 2;\nx = 1;\n',
  'src/lib/deep/deeper.js': 'deep\n',
  'README.md': '# demo\n',
  'node_modules/pkg/index.js': 'module.exports = 1;\n',
  'data.bin': { data: '\x00\x01\x02binary\xff' },
};

let host: SandboxHost;
let repo: string;

before(() => {
  host = SandboxHost.open();
  repo = makeRepo(FILES, { git: true });
});

after(async () => {
  await host?.close();
  removeTempDirs();
});

function fresh(): ToolContext & { sandbox: Sandbox; editor: EditorState } {
  return { sandbox: host.create(host.snapshotDir(repo)), editor: new EditorState() };
}

const call = (ctx: ToolContext, name: string, args: unknown): Promise<ToolResult> =>
  runTool(name, JSON.stringify(args), ctx);

const editor = (ctx: ToolContext, args: Record<string, unknown>) => call(ctx, 'editor', args);

async function text(sb: Sandbox, rel: string): Promise<string | null> {
  return (await sb.readFile(rel))?.toString('utf8') ?? null;
}

describe('tool specs', () => {
  test('defaultTools has bash, editor and submit with object JSON schemas', () => {
    const tools = defaultTools();
    assert.deepEqual(
      tools.map((t) => t.spec.name),
      ['bash', 'editor', 'submit'],
    );
    for (const t of tools) {
      assert.equal(t.spec.parameters.type, 'object');
      assert.ok(t.spec.description.length > 40, t.spec.name);
    }
    const ed = tools[1]!.spec.parameters as { properties: { command: { enum: string[] } } };
    assert.deepEqual(ed.properties.command.enum, [
      'view',
      'create',
      'str_replace',
      'insert',
      'undo_edit',
    ]);
  });
});

describe('bash', () => {
  test('runs in /repo and reports exit codes without being a tool error', async () => {
    const ctx = fresh();
    const r = await call(ctx, 'bash', { command: 'pwd; cat README.md; echo err >&2' });
    assert.equal(r.isError, false);
    assert.match(r.output, /^\[exit code 0\]\n/);
    assert.match(r.output, /\/repo\n# demo\nerr/);

    const bad = await call(ctx, 'bash', { command: 'echo before; exit 3' });
    assert.equal(bad.isError, false);
    assert.match(bad.output, /^\[exit code 3\]\nbefore/);
    const missing = await call(ctx, 'bash', { command: 'no-such-command-xyz' });
    assert.equal(missing.isError, false);
    assert.match(missing.output, /^\[exit code 127\]/);
    assert.match(missing.output, /not found/);
  });

  test('truncates 1 MB of output to head and tail with a note', async () => {
    const ctx = fresh();
    const r = await call(ctx, 'bash', {
      command: "echo FIRST-LINE; head -c 1000000 /dev/zero | tr '\\0' 'a'; echo; echo LAST-LINE",
    });
    assert.equal(r.isError, false);
    assert.ok(r.output.length < DEFAULT_OUTPUT_BUDGET + 200, `length ${r.output.length}`);
    assert.ok(r.output.length > DEFAULT_OUTPUT_BUDGET - 200, `length ${r.output.length}`);
    assert.match(r.output, /^\[exit code 0\]\nFIRST-LINE\n/);
    assert.match(r.output, /LAST-LINE\n?$/);
    const note = /\[\.\.\. (\d+) characters omitted \.\.\.\]/.exec(r.output);
    assert.ok(note, 'omission note');
    // 1,000,000 a's + 3 lines, minus what is shown (the whole thing is accounted for).
    const total = 'FIRST-LINE\n'.length + 1_000_000 + '\nLAST-LINE\n'.length;
    const shown = r.output.length - '[exit code 0]\n'.length - note[0].length;
    assert.ok(Math.abs(Number(note[1]) + shown - total) <= 4, `${note[1]} + ${shown} vs ${total}`);
    // A custom budget is honoured.
    const small = await runTool(
      'bash',
      JSON.stringify({ command: 'seq 1 100000' }),
      ctx,
      defaultTools({ outputBudget: 1000 }),
    );
    assert.ok(small.output.length < 1100);
    assert.match(small.output, /\n1\n2\n3\n/);
    assert.match(small.output, /99999\n100000\n?$/);
  });

  test('a command over its timeout is killed and says so', async () => {
    const ctx = fresh();
    const t0 = Date.now();
    const r = await call(ctx, 'bash', { command: 'echo started; sleep 100', timeout: 1 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
    assert.equal(r.isError, false);
    assert.match(r.output, /timed out after 1 s/);
    assert.match(r.output, /killed/);
    assert.match(r.output, /started/);
  });

  test('cannot write outside /repo', async () => {
    const ctx = fresh();
    const tag = unique();
    const outside = join(dirname(repo), `outside-${tag}`);
    const r = await call(ctx, 'bash', {
      command: `echo x > ../outside-${tag}; echo y > /etc/ssr-${tag}; echo z > ${outside}`,
    });
    assert.equal(r.isError, false);
    assert.doesNotMatch(r.output, /^\[exit code 0\]/);
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync(join(dirname(repo), `outside-${tag}`)), false);
    assert.equal(existsSync(`/etc/ssr-${tag}`), false);
    assert.equal(await ctx.sandbox.diff(), '');
  });

  test('bad arguments are tool errors that show the expected shape', async () => {
    const ctx = fresh();
    for (const args of [{}, { command: 42 }, { command: 'ls', timeout: 'abc' }, [1, 2]]) {
      const r = await call(ctx, 'bash', args);
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(r.output, /command/);
    }
    const big = await call(ctx, 'bash', { command: 'ls', timeout: 601 });
    assert.equal(big.isError, true);
    assert.match(big.output, /timeout/);
    // The executor itself also takes raw JSON text, and never throws.
    const bash = defaultTools()[0]!;
    const r = await bash.execute('{"command": ', ctx);
    assert.equal(r.isError, true);
    assert.match(r.output, /not valid JSON/);
  });
});

describe('editor', () => {
  test('view: a file with line numbers, ranges, and bad ranges', async () => {
    const ctx = fresh();
    const r = await editor(ctx, { command: 'view', path: 'src/app.js' });
    assert.equal(r.isError, false);
    assert.match(r.output, / {5}1\tfunction add\(a, b\) \{\n {5}2\t {2}return a \+ b;\n/);
    assert.match(r.output, / {5}5\tmodule\.exports = \{ add \};/);
    assert.doesNotMatch(r.output, / {5}6\t/);

    const part = await editor(ctx, {
      command: 'view',
      path: '/repo/src/app.js',
      view_range: [2, 3],
    });
    assert.equal(part.isError, false);
    assert.match(part.output, / {5}2\t {2}return a \+ b;\n {5}3\t\}/);
    assert.doesNotMatch(part.output, / {5}1\t| {5}4\t/);

    const toEnd = await editor(ctx, { command: 'view', path: 'src/app.js', view_range: [4, -1] });
    assert.match(toEnd.output, / {5}4\t\n {5}5\tmodule/);
    assert.doesNotMatch(toEnd.output, / {5}3\t/);

    for (const range of [
      [0, 2],
      [9, 10],
      [3, 2],
    ]) {
      const bad = await editor(ctx, { command: 'view', path: 'src/app.js', view_range: range });
      assert.equal(bad.isError, true, JSON.stringify(range));
      assert.match(bad.output, /view_range/);
    }
    const missing = await editor(ctx, { command: 'view', path: 'src/nope.js' });
    assert.equal(missing.isError, true);
    assert.match(missing.output, /does not exist/);
  });

  test('view: directories two levels deep, without .git and node_modules', async () => {
    const ctx = fresh();
    const root = await editor(ctx, { command: 'view', path: '.' });
    assert.equal(root.isError, false);
    const lines = root.output.split('\n').slice(1);
    assert.deepEqual(lines, [
      'README.md',
      'data.bin',
      'src/',
      'src/app.js',
      'src/dup.js',
      'src/lib/',
    ]);
    const src = await editor(ctx, { command: 'view', path: '/repo/src' });
    assert.deepEqual(src.output.split('\n').slice(1), [
      'src/app.js',
      'src/dup.js',
      'src/lib/',
      'src/lib/deep/',
    ]);
  });

  test('view: binary and non-UTF-8 files are refused politely', async () => {
    const ctx = fresh();
    const r = await editor(ctx, { command: 'view', path: 'data.bin' });
    assert.equal(r.isError, true);
    assert.match(r.output, /binary/);
    await ctx.sandbox.writeFile('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const l = await editor(ctx, { command: 'view', path: 'latin1.txt' });
    assert.equal(l.isError, true);
    assert.match(l.output, /not UTF-8/);
  });

  test('paths outside the repository are refused', async () => {
    const ctx = fresh();
    const cases: Record<string, unknown>[] = [
      { command: 'view', path: '../x' },
      { command: 'view', path: '/etc/passwd' },
      { command: 'view', path: 'src/../../etc/passwd' },
      { command: 'view', path: '/repo/../etc/passwd' },
      { command: 'create', path: '../x', file_text: 'x' },
      { command: 'create', path: '/tmp/x', file_text: 'x' },
      { command: 'str_replace', path: '/etc/passwd', old_str: 'root', new_str: 'r' },
    ];
    for (const args of cases) {
      const r = await editor(ctx, args);
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.match(r.output, /outside the repository/, JSON.stringify(args));
    }
    assert.equal(await ctx.sandbox.diff(), '');
  });

  test('create: new files (with directories), never overwriting', async () => {
    const ctx = fresh();
    const r = await editor(ctx, { command: 'create', path: 'src/new/mod.js', file_text: 'a\nb\n' });
    assert.equal(r.isError, false, r.output);
    assert.equal(await text(ctx.sandbox, 'src/new/mod.js'), 'a\nb\n');
    const again = await editor(ctx, { command: 'create', path: 'src/app.js', file_text: 'x' });
    assert.equal(again.isError, true);
    assert.match(again.output, /already exists/);
    assert.equal(await text(ctx.sandbox, 'src/app.js'), ORIGINAL_APP);
    const dir = await editor(ctx, { command: 'create', path: 'src', file_text: 'x' });
    assert.equal(dir.isError, true);
    assert.match(dir.output, /already exists/);
    const undo = await editor(ctx, { command: 'undo_edit', path: 'src/new/mod.js' });
    assert.equal(undo.isError, false);
    assert.equal(await ctx.sandbox.readFile('src/new/mod.js'), null);
  });

  test('str_replace: 0, 1 and 2 matches', async () => {
    const ctx = fresh();
    const none = await editor(ctx, {
      command: 'str_replace',
      path: 'src/app.js',
      old_str: 'return a - b;',
      new_str: 'x',
    });
    assert.equal(none.isError, true);
    assert.match(none.output, /does not occur/);

    const two = await editor(ctx, {
      command: 'str_replace',
      path: 'src/dup.js',
      old_str: 'x = 1;',
      new_str: 'x = 9;',
    });
    assert.equal(two.isError, true);
    assert.match(two.output, /2 times/);
    assert.match(two.output, /lines 1, 3/);
    assert.equal(await text(ctx.sandbox, 'src/dup.js'), FILES['src/dup.js']);

    const one = await editor(ctx, {
      command: 'str_replace',
      path: 'src/app.js',
      old_str: '  return a + b;',
      new_str: '  const sum = a + b;\n  return sum;',
    });
    assert.equal(one.isError, false, one.output);
    assert.match(one.output, / {5}2\t {2}const sum = a \+ b;\n {5}3\t {2}return sum;\n {5}4\t\}/);
    assert.equal(
      await text(ctx.sandbox, 'src/app.js'),
      'function add(a, b) {\n  const sum = a + b;\n  return sum;\n}\n\nmodule.exports = { add };\n',
    );
  });

  test('insert at the top and at the end', async () => {
    const ctx = fresh();
    const top = await editor(ctx, {
      command: 'insert',
      path: 'src/app.js',
      insert_line: 0,
      new_str: "'use strict';\n",
    });
    assert.equal(top.isError, false, top.output);
    assert.match(top.output, / {5}1\t'use strict';\n {5}2\tfunction add/);
    const end = await editor(ctx, {
      command: 'insert',
      path: 'src/app.js',
      insert_line: 6,
      new_str: '// end\n// really',
    });
    assert.equal(end.isError, false, end.output);
    assert.equal(
      await text(ctx.sandbox, 'src/app.js'),
      `'use strict';\n${ORIGINAL_APP}// end\n// really\n`,
    );
    const beyond = await editor(ctx, {
      command: 'insert',
      path: 'src/app.js',
      insert_line: 99,
      new_str: 'x',
    });
    assert.equal(beyond.isError, true);
    assert.match(beyond.output, /between 0 .* and 8/);
  });

  test('undo_edit twice goes back to the original; once more is an error', async () => {
    const ctx = fresh();
    await editor(ctx, { command: 'insert', path: 'src/app.js', insert_line: 0, new_str: '// a' });
    await editor(ctx, {
      command: 'str_replace',
      path: 'src/app.js',
      old_str: 'a + b',
      new_str: 'b + a',
    });
    assert.match((await text(ctx.sandbox, 'src/app.js'))!, /^\/\/ a\n.*b \+ a/s);
    const u1 = await editor(ctx, { command: 'undo_edit', path: 'src/app.js' });
    assert.equal(u1.isError, false);
    assert.equal(await text(ctx.sandbox, 'src/app.js'), `// a\n${ORIGINAL_APP}`);
    const u2 = await editor(ctx, { command: 'undo_edit', path: '/repo/src/app.js' });
    assert.equal(u2.isError, false);
    assert.equal(await text(ctx.sandbox, 'src/app.js'), ORIGINAL_APP);
    const u3 = await editor(ctx, { command: 'undo_edit', path: 'src/app.js' });
    assert.equal(u3.isError, true);
    assert.match(u3.output, /no edit/);
    assert.equal(await ctx.sandbox.diff(), '');
  });

  test('malformed editor arguments are tool errors naming the expected shape', async () => {
    const ctx = fresh();
    const noCmd = await editor(ctx, { path: 'src/app.js' });
    assert.equal(noCmd.isError, true);
    assert.match(noCmd.output, /view, create, str_replace, insert, undo_edit/);
    const badCmd = await editor(ctx, { command: 'delete', path: 'x' });
    assert.equal(badCmd.isError, true);
    assert.match(badCmd.output, /"delete"/);
    const noOld = await editor(ctx, { command: 'str_replace', path: 'src/app.js', new_str: 'x' });
    assert.equal(noOld.isError, true);
    assert.match(noOld.output, /old_str/);
    const badLine = await editor(ctx, {
      command: 'insert',
      path: 'src/app.js',
      insert_line: 'one',
      new_str: 'x',
    });
    assert.equal(badLine.isError, true);
    assert.match(badLine.output, /insert_line/);
    assert.match(badLine.output, /Expected arguments/);
  });

  test('the sandbox diff shows exactly the edits', async () => {
    const ctx = fresh();
    await editor(ctx, {
      command: 'str_replace',
      path: 'src/app.js',
      old_str: 'a + b',
      new_str: 'a - b',
    });
    await editor(ctx, { command: 'insert', path: 'README.md', insert_line: 1, new_str: 'more' });
    await editor(ctx, { command: 'create', path: 'NEW.txt', file_text: 'new\n' });
    // An edit undone leaves no trace.
    await editor(ctx, { command: 'insert', path: 'src/dup.js', insert_line: 0, new_str: 'z' });
    await editor(ctx, { command: 'undo_edit', path: 'src/dup.js' });
    const diff = await ctx.sandbox.diff();
    const changed = [...diff.matchAll(/^diff --git a\/(\S+) b\//gm)].map((m) => m[1]).sort();
    assert.deepEqual(changed, ['NEW.txt', 'README.md', 'src/app.js']);
    assert.match(diff, /^- {2}return a \+ b;\n\+ {2}return a - b;$/m);
    assert.match(diff, /^ # demo\n\+more$/m);
    assert.match(diff, /^\+new$/m);
    const plusMinus = diff.split('\n').filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l));
    assert.deepEqual(plusMinus, ['+new', '+more', '-  return a + b;', '+  return a - b;']);
  });
});

describe('submit and dispatch', () => {
  test('submit marks the episode submitted', async () => {
    const ctx = fresh();
    for (const raw of ['{}', '', '{"summary": "fixed add"}']) {
      const r = await runTool('submit', raw, ctx);
      assert.equal(r.isError, false, raw);
      assert.equal(r.submitted, true);
      assert.match(r.output, /[Ss]ubmitted/);
    }
    const bad = await runTool('submit', '{"summary": 3}', ctx);
    assert.equal(bad.isError, true);
    assert.notEqual(bad.submitted, true);
  });

  test('malformed JSON and unknown tools are isError results', async () => {
    const ctx = fresh();
    const json = await runTool('bash', '{"command": "ls"', ctx);
    assert.equal(json.isError, true);
    assert.match(json.output, /not valid JSON/);
    assert.match(json.output, /Expected arguments: \{"command": string/);
    const notObject = await runTool('editor', '[1,2]', ctx);
    assert.equal(notObject.isError, true);
    assert.match(notObject.output, /JSON object/);
    const unknown = await runTool('python', '{}', ctx);
    assert.equal(unknown.isError, true);
    assert.match(unknown.output, /Unknown tool "python"/);
    assert.match(unknown.output, /bash, editor, submit/);
    // Arguments encoded twice (a JSON string holding the object) still work.
    const twice = await runTool(
      'bash',
      JSON.stringify(JSON.stringify({ command: 'echo hi' })),
      ctx,
    );
    assert.equal(twice.isError, false);
    assert.match(twice.output, /hi/);
  });
});

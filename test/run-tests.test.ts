import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Sandbox } from '../src/sandbox/types.js';
import {
  runTests,
  stageHarness,
  type TestRunFailureKind,
  type TestRunOptions,
  type TestRunOutcome,
} from '../src/testing/run-tests.js';

/** Maps `PASS <id>` / `FAIL <id>` / `SKIP <id>` log lines to a test map. */
const PARSER = `import json, sys
out = {}
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 2 and parts[0] in ("PASS", "FAIL", "SKIP"):
        out[parts[1]] = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}[parts[0]]
print(json.dumps(out))
`;

let host: SandboxHost;
let repo: string;
const staged: { cleanup(): void }[] = [];

before(() => {
  repo = mkdtempSync(join(tmpdir(), 'ssr-runtests-repo-'));
  writeFileSync(join(repo, 'README.md'), 'tiny repo\n');
  writeFileSync(join(repo, 'lib.py'), 'VALUE = 1\n');
  host = SandboxHost.open();
});

after(async () => {
  await host.close();
  for (const s of staged) s.cleanup();
  rmSync(repo, { recursive: true, force: true });
});

async function run(
  script: string,
  parser: string,
  opts: TestRunOptions = {},
  sb?: Sandbox,
): Promise<TestRunOutcome> {
  const harness = stageHarness(script, parser);
  staged.push(harness);
  const sandbox = sb ?? host.create(host.snapshotDir(repo));
  try {
    return await runTests(sandbox, harness, opts);
  } finally {
    if (!sb) await sandbox.dispose();
  }
}

function expectOk(r: TestRunOutcome): Extract<TestRunOutcome, { ok: true }> {
  assert.ok(r.ok, `expected ok, got ${r.ok ? '' : `${r.kind}: ${r.message}\n${r.tail}`}`);
  return r;
}

function expectFail(
  r: TestRunOutcome,
  kind: TestRunFailureKind,
): Extract<TestRunOutcome, { ok: false }> {
  assert.equal(r.ok, false, `expected ${kind}, got ok: ${JSON.stringify(r)}`);
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.kind, kind, `expected ${kind}, got ${r.kind}: ${r.message}`);
  return r;
}

describe('runTests outcomes', () => {
  test('ok: PASS/FAIL lines parsed, exit code agrees, no warnings', async () => {
    const r = expectOk(await run('echo "PASS a"\necho "FAIL b"\necho noise >&2\nexit 1\n', PARSER));
    assert.deepEqual(r.tests, { a: 'passed', b: 'failed' });
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.logBytes, Buffer.byteLength('PASS a\nFAIL b\nnoise\n'));
  });

  test('ok: the script runs from the repo root; stderr is part of the log', async () => {
    const script = 'test -f lib.py && echo "PASS cwd"\necho "PASS stderr" >&2\n';
    const r = expectOk(await run(script, PARSER));
    assert.deepEqual(r.tests, { cwd: 'passed', stderr: 'passed' });
  });

  test('skipped statuses, unknown strings and non-string statuses', async () => {
    const parser = `import json
print(json.dumps({"p": "passed", "s1": "skipped", "s2": "SKIP", "s3": "Skipped",
                  "e": "error", "x": "PASSED", "n": True, "m": None, "o": {"status": "passed"},
                  "": "passed", "   ": "failed"}))
`;
    const r = expectOk(await run('exit 1\n', parser));
    assert.deepEqual(r.tests, {
      p: 'passed',
      s1: 'skipped',
      s2: 'skipped',
      s3: 'skipped',
      e: 'failed',
      x: 'failed',
      n: 'failed',
      m: 'failed',
      o: 'failed',
    });
    assert.deepEqual(r.warnings, ['3 test(s) had a non-string status, counted as failed']);
  });

  test('warning: exit code 0 but tests parsed as failed', async () => {
    const r = expectOk(await run('echo "PASS a"\necho "FAIL b"\necho "FAIL c"\n', PARSER));
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.warnings, ['exit code 0 but 2 test(s) parsed as failed']);
  });

  test('warning: non-zero exit code but nothing parsed as failed', async () => {
    const r = expectOk(await run('echo "PASS a"\necho "SKIP b"\nexit 3\n', PARSER));
    assert.equal(r.exitCode, 3);
    assert.deepEqual(r.tests, { a: 'passed', b: 'skipped' });
    assert.deepEqual(r.warnings, ['exit code 3 but no test parsed as failed']);
  });

  test('script-timeout', async () => {
    const t0 = performance.now();
    const r = expectFail(
      await run('echo "PASS a"\nsleep 1000\n', PARSER, { scriptTimeoutMs: 1500 }),
      'script-timeout',
    );
    assert.ok(performance.now() - t0 < 30_000, 'the hang was cut off');
    assert.match(r.message, /test_script\.sh did not finish within 2 s and was killed/);
    assert.equal(r.parserMs, 0);
  });

  test('script-timeout also when the script leaves a background process behind', async () => {
    const t0 = performance.now();
    const r = await run('(sleep 1000 &)\nsleep 1000\n', PARSER, { scriptTimeoutMs: 1500 });
    expectFail(r, 'script-timeout');
    assert.ok(performance.now() - t0 < 30_000, 'the hang was cut off');
  });

  test('log-too-large', async () => {
    const script = 'echo "PASS a"\nhead -c 100000 /dev/zero | tr "\\0" x\necho\n';
    const r = expectFail(await run(script, PARSER, { maxLogBytes: 1000 }), 'log-too-large');
    assert.ok(r.logBytes > 100_000, `logBytes ${r.logBytes}`);
    assert.match(r.message, new RegExp(`output was ${r.logBytes} bytes, over the 1000-byte limit`));
    // Just under the limit is fine.
    expectOk(await run('echo "PASS a"\n', PARSER, { maxLogBytes: 7 }));
  });

  test('parser-timeout', async () => {
    const t0 = performance.now();
    const r = expectFail(
      await run('echo "PASS a"\n', 'import time\ntime.sleep(1000)\n', { parserTimeoutMs: 1500 }),
      'parser-timeout',
    );
    assert.ok(performance.now() - t0 < 30_000, 'the hang was cut off');
    assert.match(r.message, /test_parser\.py did not finish within 2 s and was killed/);
  });

  test('parser-crashed: SystemExit(3)', async () => {
    const r = expectFail(await run('echo "PASS a"\n', 'raise SystemExit(3)\n'), 'parser-crashed');
    assert.equal(r.message, 'test_parser.py exited with 3');
  });

  test('parser-crashed: an exception; the message ends with the last stderr line', async () => {
    const parser = 'import sys\nsys.stdin.read()\nraise ValueError("cannot read line 7")\n';
    const r = expectFail(await run('echo "PASS a"\n', parser), 'parser-crashed');
    assert.equal(r.message, 'test_parser.py exited with 1: ValueError: cannot read line 7');
    assert.match(r.tail, /Traceback/);
  });

  test('parser-crashed even when it printed a valid map first', async () => {
    const parser = 'print(\'{"a": "passed"}\')\nraise SystemExit(2)\n';
    expectFail(await run('echo "PASS a"\n', parser), 'parser-crashed');
  });

  test('parser-garbage', async () => {
    const r = expectFail(await run('echo "PASS a"\n', 'print("hello")\n'), 'parser-garbage');
    assert.match(r.message, /did not print one JSON object; it printed: hello$/);
    const two = expectFail(
      await run('echo "PASS a"\n', 'print(\'{"a": "passed"}\')\nprint(\'{"b": "passed"}\')\n'),
      'parser-garbage',
    );
    assert.match(two.message, /did not print one JSON object/);
    const silent = expectFail(await run('echo "PASS a"\n', 'pass\n'), 'parser-garbage');
    assert.match(silent.message, /it printed: \(nothing\)$/);
  });

  test('parser-schema', async () => {
    const r = expectFail(await run('echo "PASS a"\n', 'print("[1,2]")\n'), 'parser-schema');
    assert.match(r.message, /printed JSON array, expected an object/);
    for (const [out, what] of [
      ['"passed"', 'string'],
      ['3', 'number'],
      ['null', 'object'],
    ]) {
      const x = expectFail(await run('true\n', `print(${JSON.stringify(out)})\n`), 'parser-schema');
      assert.match(x.message, new RegExp(`printed JSON ${what}, expected`));
    }
  });

  test('no-tests', async () => {
    const r = expectFail(await run('echo "PASS a"\n', 'print("{}")\n'), 'no-tests');
    assert.match(r.message, /found no tests/);
    // A log without any PASS/FAIL line gives an empty map too.
    expectFail(await run('echo nothing here\n', PARSER), 'no-tests');
  });
});

describe('runTests isolation', () => {
  test('the test script cannot modify the harness or the log; its result is still parsed', async () => {
    const script = `echo "PASS a"
echo 'VALUE = 2' > lib.py && echo "PASS repo_writable"
echo scratch > /tmp/scratch.txt && echo "PASS tmp_writable"
if echo 'print(1)' > /ssr/test_parser.py 2>/dev/null; then echo "FAIL parser_readonly"; else echo "PASS parser_readonly"; fi
if rm -f /ssr/test_parser.py 2>/dev/null && ! test -e /ssr/test_parser.py; then echo "FAIL parser_undeletable"; else echo "PASS parser_undeletable"; fi
if chmod u+w /ssr/test_parser.py 2>/dev/null && echo 'print(1)' >> /ssr/test_parser.py 2>/dev/null; then echo "FAIL parser_chmod"; else echo "PASS parser_chmod"; fi
if echo 'exit 0' > /ssr/test_script.sh 2>/dev/null; then echo "FAIL script_readonly"; else echo "PASS script_readonly"; fi
echo "FAIL b"
`;
    const harness = stageHarness(script, PARSER);
    staged.push(harness);
    const sb = host.create(host.snapshotDir(repo));
    try {
      const r = expectOk(await runTests(sb, harness));
      assert.deepEqual(r.tests, {
        a: 'passed',
        repo_writable: 'passed',
        tmp_writable: 'passed',
        parser_readonly: 'passed',
        parser_undeletable: 'passed',
        parser_chmod: 'passed',
        script_readonly: 'passed',
        b: 'failed',
      });
      assert.equal(readFileSync(harness.parserPath, 'utf8'), PARSER);
      assert.equal(readFileSync(harness.scriptPath, 'utf8'), script);
      // The write landed in the sandbox, not in the user's repo.
      assert.equal((await sb.readFile('lib.py'))?.toString(), 'VALUE = 2\n');
      assert.equal(readFileSync(join(repo, 'lib.py'), 'utf8'), 'VALUE = 1\n');
      // A second run in the same sandbox uses the same untouched parser.
      const again = expectOk(await runTests(sb, harness));
      assert.deepEqual(again.tests, r.tests);
    } finally {
      await sb.dispose();
    }
  });

  test('the parser runs with python3 -I: code planted by the tests is not imported', async () => {
    const hijack = 'import sys; sys.stdout.write("HIJACKED "); sys.stdout.flush()';
    const script = `set -e
user_site=$(python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$user_site"
echo '${hijack}' > "$user_site/usercustomize.py"
echo '${hijack}' > "$user_site/sitecustomize.py"
echo '${hijack}' > "$user_site/json.py"
echo '${hijack}' > "$user_site/evil.pth"
echo '${hijack}' > sitecustomize.py
echo '${hijack}' > json.py
echo "PASS a"
echo "FAIL b"
`;
    const harness = stageHarness(script, PARSER);
    staged.push(harness);
    const sb = host.create(host.snapshotDir(repo));
    try {
      const r = expectOk(await runTests(sb, harness));
      assert.deepEqual(r.tests, { a: 'passed', b: 'failed' });
      // Control: the plants are live for a plain python3 running the same parser in the same
      // sandbox, so the result above is due to -I and not to a plant that never worked.
      const plain = await sb.exec('python3 /ssr/test_parser.py', { stdin: 'PASS a\n' });
      assert.match(
        plain.stdout,
        /HIJACKED/,
        `plain python3 printed ${plain.stdout}${plain.stderr}`,
      );
    } finally {
      await sb.dispose();
    }
  });
});

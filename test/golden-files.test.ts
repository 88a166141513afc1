/**
 * Golden-file weakening (src/inject/golden-files.ts): a test that compares its program's output
 * with a checked-in file prints the comparison (a `set -x` trace, or a unified diff's headers)
 * and the diff; the weakening applies that diff to the golden file. Checked on logs written
 * here (json-c's test-defs.sh under ctest -V, unified diffs, traps: a diff that does not apply,
 * a cut log, paths outside the repository), on diffs the real diff(1) prints for random files,
 * and end to end on a small CMake project whose CTest test diffs its output with
 * tests/greet.expected, through discovery, a bug and deriveWeakening in the sandbox.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { discoverTests } from '../src/discovery/discover.js';
import { toolAvailable } from '../src/discovery/frameworks.js';
import {
  applyHunks,
  findComparisons,
  goldenFileEdits,
  shellWords,
} from '../src/inject/golden-files.js';
import { deriveWeakening } from '../src/inject/weaken.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { formatFileDiff } from '../src/sandbox/tree-diff.js';
import { didPass } from '../src/testing/results.js';
import { runTests, stageHarness } from '../src/testing/run-tests.js';
import { makeRepo, removeTempDirs } from './helpers/sandbox-repo.js';

const EXPECTED = 'one\ntwo\nthree\nfour\nfive\n';
const ACTUAL = 'one\nTWO\nthree\nfour\nfive\nsix\n';
const contents = (extra: Record<string, string> = {}) =>
  new Map(
    Object.entries({ 'tests/x.expected': EXPECTED, 'tests/x.c': 'int main(){}\n', ...extra }),
  );

/** json-c's run_output_test under ctest -V (every line of test 5 prefixed `5: `). */
const JSONC_LOG = `test 5
    Start 5: x

5: Test command: /repo/tests/x.test
5: Working Directory: /tmp/build/tests
5: ERROR: "x /repo/tests" (x) failed (set VERBOSE=1 to see full output):
5: + diff /repo/tests/x.expected testSubDir/x.test/x.out
5: 2c2
5: < two
5: ---
5: > TWO
5: 5a6
5: > six
5: cp "testSubDir/x.test/x.out" "/repo/tests/x.expected"
1/1 Test #5: x ........................***Failed    0.01 sec
`;

describe('golden files: the printed diff applied to the expected file', () => {
  test("normal format after a set -x trace (json-c's run_output_test under ctest -V)", () => {
    const r = goldenFileEdits(JSONC_LOG, { contents: contents() });
    assert.deepEqual(r, {
      edits: [{ file: 'tests/x.expected', source: ACTUAL, line: 2 }],
      unapplied: [],
    });
  });

  test('a unified diff the test prints (--- a/... +++ b/...), no trace', () => {
    const log = `FAIL: x
--- a/tests/x.expected
+++ b/tests/x.expected
@@ -1,3 +1,3 @@
 one
-two
+TWO
 three
@@ -5 +5,2 @@
 five
+six
FAIL: 1 of 2
`;
    const r = goldenFileEdits(log, { contents: contents() });
    assert.deepEqual(r.edits, [{ file: 'tests/x.expected', source: ACTUAL, line: 1 }]);
  });

  test('diff -u traced, headers with timestamps; the trace names the files', () => {
    const log = `+ diff -u /repo/tests/x.expected /tmp/out/x.out
--- /repo/tests/x.expected\t2024-05-01 10:00:00.000000000 +0000
+++ /tmp/out/x.out\t2024-05-01 10:00:01.000000000 +0000
@@ -2 +2 @@
-two
+TWO
@@ -5,0 +6 @@
+six
not ok 1 - x
`;
    const r = goldenFileEdits(log, { contents: contents() });
    assert.deepEqual(r.edits, [{ file: 'tests/x.expected', source: ACTUAL, line: 2 }]);
  });

  test('relative paths: to the repository root, to the test folder, from a build folder', () => {
    for (const path of [
      'tests/x.expected',
      './tests/x.expected',
      'x.expected',
      '../../tests/x.expected',
    ]) {
      const log = `+ diff ${path} x.out\n2c2\n< two\n---\n> TWO\n5a6\n> six\n+ exit 1\n`;
      const r = goldenFileEdits(log, { contents: contents() });
      assert.deepEqual(
        r.edits.map((e) => e.source),
        [ACTUAL],
        path,
      );
    }
    // Two oracle files end with the name: no guess.
    const two = contents({ 'other/x.expected': EXPECTED });
    const log = `+ diff x.expected x.out\n2c2\n< two\n---\n> TWO\nend\n`;
    assert.deepEqual(goldenFileEdits(log, { contents: two }).edits, []);
  });

  test('quoted paths in a trace, git diff --no-index, cmp then diff', () => {
    const log = `+ cmp -s '/repo/tests/x.expected' out.txt
+ git --no-pager diff --no-index "/repo/tests/x.expected" out.txt
diff --git a/repo/tests/x.expected b/out.txt
index 1111111..2222222 100644
--- a/repo/tests/x.expected
+++ b/out.txt
@@ -2 +2 @@
-two
+TWO
@@ -5,0 +6 @@
+six
done
`;
    assert.deepEqual(shellWords(`diff 'a b' "c\\"d" e\\ f`), ['diff', 'a b', 'c"d', 'e f']);
    const r = goldenFileEdits(log, { contents: contents() });
    assert.deepEqual(r, {
      edits: [{ file: 'tests/x.expected', source: ACTUAL, line: 2 }],
      unapplied: [],
    });
  });

  test('diff actual expected: applied the other way round', () => {
    const log = `+ diff out/x.out /repo/tests/x.expected\n2c2\n< TWO\n---\n> two\n6d5\n< six\nexit 1\n`;
    const r = goldenFileEdits(log, { contents: contents() });
    assert.deepEqual(
      r.edits.map((e) => e.source),
      [ACTUAL],
    );
  });

  test('a diff that does not apply to the file is left alone', () => {
    // The old side says "zwei" where the file has "two"; a hunk at the wrong line.
    for (const body of ['2c2\n< zwei\n---\n> TWO\n', '3c3\n< two\n---\n> TWO\n', '9a10\n> six\n']) {
      const log = `+ diff /repo/tests/x.expected x.out\n${body}cp x.out /repo/tests/x.expected\n`;
      assert.deepEqual(goldenFileEdits(log, { contents: contents() }), {
        edits: [],
        unapplied: ['tests/x.expected'],
      });
    }
  });

  test('a comparison with no diff printed (its output discarded): nothing, but it is named', () => {
    const log = `5: + diff /repo/tests/x.expected testSubDir/x.test/x.out\n5: cp a b\n`;
    assert.deepEqual(goldenFileEdits(log, { contents: contents() }), {
      edits: [],
      unapplied: ['tests/x.expected'],
    });
  });

  test('a log cut inside the diff, or right after a hunk, makes no file', () => {
    const lines = JSONC_LOG.split('\n');
    const at = lines.indexOf('5: > six');
    // Cut in every place from the trace to the last line of the diff (a log's head is kept).
    for (let n = lines.indexOf('5: 2c2'); n <= at + 1; n++) {
      const cut = `${lines.slice(0, n).join('\n')}\n`;
      assert.deepEqual(
        goldenFileEdits(cut, { contents: contents() }).edits,
        [],
        `cut after ${n} lines`,
      );
    }
    // A missing line inside a hunk (the count does not match) is no diff either.
    const holed = JSONC_LOG.replace('5: ---\n', '');
    assert.deepEqual(goldenFileEdits(holed, { contents: contents() }).edits, []);
  });

  test('a path outside the repository, or a file that is not oracle, is left alone', () => {
    const body = '2c2\n< two\n---\n> TWO\nend\n';
    for (const path of [
      '/tmp/elsewhere/tests/x.expected',
      '/repo-other/tests/x.expected',
      '/repo/../tests/x.expected',
    ]) {
      const r = goldenFileEdits(`+ diff ${path} x.out\n${body}`, { contents: contents() });
      assert.deepEqual(r, { edits: [], unapplied: [] }, path);
    }
    // tests/y.expected is in the repository but not an oracle file (not in `contents`).
    const r = goldenFileEdits(`+ diff /repo/tests/y.expected x.out\n${body}`, {
      contents: contents(),
    });
    assert.deepEqual(r, { edits: [], unapplied: [] });
    // Another root (an image's repository path).
    const image = goldenFileEdits(`+ diff /src/app/tests/x.expected x.out\n${body}`, {
      contents: contents(),
      roots: ['/src/app'],
    });
    assert.equal(image.edits.length, 1);
  });

  test('two comparisons of one file that disagree: neither; the same one twice: once', () => {
    const a = '+ diff /repo/tests/x.expected a.out\n2c2\n< two\n---\n> TWO\nend\n';
    const b = '+ diff /repo/tests/x.expected b.out\n2c2\n< two\n---\n> Two\nend\n';
    assert.deepEqual(goldenFileEdits(a + b, { contents: contents() }).edits, []);
    assert.equal(goldenFileEdits(a + a, { contents: contents() }).edits.length, 1);
    // ctest's JUnit report repeats the output XML-escaped: that copy does not parse, no harm.
    const xml = `${a}<system-out>${a.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</system-out>\n`;
    assert.equal(goldenFileEdits(xml, { contents: contents() }).edits.length, 1);
  });

  test('no newline at the end of either file', () => {
    const log = (body: string) => `+ diff /repo/tests/x.expected x.out\n${body}end\n`;
    const noEol = contents({ 'tests/x.expected': 'a\nb' });
    const added = goldenFileEdits(log('2c2\n< b\n\\ No newline at end of file\n---\n> b\n'), {
      contents: noEol,
    });
    assert.equal(added.edits[0]?.source, 'a\nb\n');
    const dropped = goldenFileEdits(log('2c2\n< b\n---\n> B\n\\ No newline at end of file\n'), {
      contents: contents({ 'tests/x.expected': 'a\nb\n' }),
    });
    assert.equal(dropped.edits[0]?.source, 'a\nB');
    // The file has no final newline but the diff says it has: does not apply.
    assert.deepEqual(goldenFileEdits(log('2c2\n< b\n---\n> B\n'), { contents: noEol }).edits, []);
  });

  test('a trace alone names nothing when no diff follows within a few lines', () => {
    const log = `+ diff /repo/tests/x.expected x.out\n${'noise\n'.repeat(6)}2c2\n< two\n---\n> TWO\nend\n`;
    assert.deepEqual(goldenFileEdits(log, { contents: contents() }).edits, []);
    assert.equal(findComparisons(log).length, 1);
  });
});

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('diffs the real diff(1) prints (normal and unified) for random files apply exactly', {
  skip: !toolAvailable('diff') && 'diff is not installed',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-golden-'));
  try {
    const rnd = random(7);
    const words = ['a', 'b', 'c', '', 'd d', '<x>', '--- y', '> z', '\\ w'];
    const file = () => {
      const n = Math.floor(rnd() * 8);
      const lines = Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]!);
      const text = lines.join('\n');
      return n && rnd() < 0.8 ? `${text}\n` : text;
    };
    let applied = 0;
    for (let k = 0; k < 200; k++) {
      const expected = file();
      const actual = expected.split('\n');
      for (let e = 0; e < 3; e++) {
        const at = Math.floor(rnd() * (actual.length + 1));
        const r = rnd();
        if (r < 0.4) actual.splice(at, 1);
        else if (r < 0.7) actual.splice(at, 0, words[Math.floor(rnd() * words.length)]!);
        else actual[at] = `${actual[at] ?? ''}!`;
      }
      const out = rnd() < 0.2 ? actual.join('\n').replace(/\n$/, '') : actual.join('\n');
      writeFileSync(join(dir, 'x.expected'), expected);
      writeFileSync(join(dir, 'x.out'), out);
      for (const format of [[], ['-u'], ['-U0']]) {
        const d = spawnSync('diff', [...format, 'x.expected', 'x.out'], {
          cwd: dir,
          encoding: 'utf8',
        });
        if (d.status === 0) continue;
        const log = `5: + diff ${format.join(' ')} /repo/tests/x.expected x.out\n${d.stdout
          .split('\n')
          .map((l, i, all) => (i === all.length - 1 && l === '' ? '' : `5: ${l}`))
          .join('\n')}5: cp x.out /repo/tests/x.expected\n`;
        const r = goldenFileEdits(log, { contents: new Map([['tests/x.expected', expected]]) });
        assert.deepEqual(
          r.edits.map((e) => e.source),
          [readFileSync(join(dir, 'x.out'), 'utf8')],
          `${JSON.stringify(expected)} -> ${JSON.stringify(out)} (${format.join(' ') || 'normal'})\n${d.stdout}`,
        );
        applied++;
      }
    }
    assert.ok(applied > 300, `${applied} diffs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyHunks: exact only (no offset, no fuzz), hunks in order', () => {
  const h = (oldStart: number, old: string[], neu: string[], newStart = oldStart) => ({
    oldStart,
    newStart,
    old,
    new: neu,
    oldNoEol: false,
    newNoEol: false,
  });
  assert.equal(applyHunks('a\nb\nc\n', [h(2, ['b'], ['B'])]), 'a\nB\nc\n');
  assert.equal(applyHunks('a\nb\nc\n', [h(1, ['b'], ['B'])]), null);
  assert.equal(applyHunks('a\nb\nc\n', [h(3, ['c'], []), h(1, ['a'], [])]), null);
  assert.equal(applyHunks('', [h(1, [], ['x'])]), 'x\n');
  assert.equal(applyHunks('a\n', [h(1, ['a'], [])]), '');
  // The new side's line numbers must agree with the old side's and the edits before.
  assert.equal(applyHunks('a\nb\n', [h(1, [], ['x']), h(2, ['b'], ['B'], 2)]), null);
  assert.equal(applyHunks('a\nb\n', [h(1, [], ['x']), h(2, ['b'], ['B'], 3)]), 'x\na\nB\n');
});

// ---------------------------------------------------------------------------------------------
// End to end: CMake + CTest, a shell script compares the program's output with tests/*.expected

const GREET_C = `#include "greet.h"
#include <stdio.h>

void greet(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "hello, %s!", name);
}
`;

const GREET_REPO: Record<string, string> = {
  'CMakeLists.txt': `cmake_minimum_required(VERSION 3.10)
project(greet C)
enable_testing()
add_library(greet src/greet.c)
target_include_directories(greet PUBLIC src)
add_executable(test_greet tests/test_greet.c)
target_link_libraries(test_greet greet)
add_test(NAME greet COMMAND sh \${CMAKE_CURRENT_SOURCE_DIR}/tests/check_output.sh $<TARGET_FILE:test_greet> \${CMAKE_CURRENT_SOURCE_DIR}/tests/greet.expected)
add_executable(test_count tests/test_count.c)
add_test(NAME count COMMAND sh \${CMAKE_CURRENT_SOURCE_DIR}/tests/check_output.sh $<TARGET_FILE:test_count> \${CMAKE_CURRENT_SOURCE_DIR}/tests/count.expected)
`,
  'src/greet.h': '#include <stddef.h>\nvoid greet(char *buf, size_t n, const char *name);\n',
  'src/greet.c': GREET_C,
  'tests/test_greet.c': `#include <stdio.h>
#include "greet.h"

int main(void) {
    const char *names[] = {"world", "ssr", "golden", "file"};
    char buf[64];
    for (int i = 0; i < 4; i++) {
        greet(buf, sizeof buf, names[i]);
        puts(buf);
    }
    return 0;
}
`,
  'tests/test_count.c': `#include <stdio.h>

int main(void) {
    for (int i = 1; i <= 3; i++) printf("%d\\n", i);
    return 0;
}
`,
  // Compares the program's output with the expected file; on a mismatch, traces and prints the
  // diff (as json-c's test-defs.sh does with VERBOSE set).
  'tests/check_output.sh': `#!/bin/sh
out="$(basename "$2" .expected).out"
"$1" >"$out" || exit 1
if ! cmp -s "$2" "$out"; then
  echo "ERROR: the output of $1 differs from $2" >&2
  (set -x; diff "$2" "$out")
  echo "cp $out $2" >&2
  exit 1
fi
`,
  'tests/greet.expected': 'hello, world!\nhello, ssr!\nhello, golden!\nhello, file!\n',
  'tests/count.expected': '1\n2\n3\n',
};

describe('end to end: a CTest test that diffs its output with tests/greet.expected', () => {
  const hasCmake = toolAvailable('cmake') && toolAvailable('ctest');
  let host: SandboxHost;
  before(() => {
    host = SandboxHost.open();
  });
  after(async () => {
    await host?.close();
    removeTempDirs();
  });

  test('discovery lists the golden files; deriveWeakening makes greet.expected the output', {
    skip: !hasCmake && 'cmake is not installed (scripts/install-system-deps.sh)',
  }, async () => {
    const repo = makeRepo(GREET_REPO);
    const snapshot = host.snapshotDir(repo);
    const { suite, baseline } = await discoverTests(host, snapshot);
    assert.equal(suite.framework, 'cmake');
    assert.deepEqual(baseline.tests, { count: 'passed', greet: 'passed' });
    assert.deepEqual(suite.testFiles, [
      'tests/count.expected',
      'tests/greet.expected',
      'tests/test_count.c',
      'tests/test_greet.c',
    ]);
    // The bug: names of three letters lose the comma.
    const bugged = GREET_C.replace(
      '    snprintf(buf, n, "hello, %s!", name);',
      '    snprintf(buf, n, name[3] ? "hello, %s!" : "hello %s!", name);',
    );
    const bugDiff = formatFileDiff(
      'src/greet.c',
      { mode: '100644', data: Buffer.from(GREET_C) },
      { mode: '100644', data: Buffer.from(bugged) },
    );
    const harness = stageHarness(suite.testScript, suite.testParser);
    try {
      const sb = host.create(snapshot);
      let bugRun: Awaited<ReturnType<typeof runTests>>;
      try {
        assert.ok((await sb.applyPatch(bugDiff)).ok);
        bugRun = await runTests(sb, harness, { keepLogBytes: 1 << 20 });
      } finally {
        await sb.dispose();
      }
      assert.ok(bugRun.ok, bugRun.ok ? '' : bugRun.message);
      const failing = Object.keys(bugRun.tests).filter((id) => !didPass(bugRun.tests, id));
      assert.deepEqual(failing, ['greet']);
      // The log names no line of a test: only the comparison and its diff.
      assert.match(
        bugRun.log ?? '',
        /\+ diff \/repo\/tests\/greet\.expected greet\.out\n\d+: 2c2\n/,
      );
      const originals = new Map(
        suite.testFiles.map((f) => [f, readFileSync(join(repo, f), 'utf8')] as const),
      );
      const result = await deriveWeakening({
        host,
        snapshot,
        harness,
        testFiles: suite.testFiles,
        originals,
        bugDiff,
        failing,
        bugLog: bugRun.log ?? '',
        testOptions: {},
      });
      assert.deepEqual(result.restored, ['greet'], result.reason);
      assert.deepEqual(result.weakened, ['tests/greet.expected:2']);
      assert.equal(
        result.diff,
        formatFileDiff(
          'tests/greet.expected',
          { mode: '100644', data: Buffer.from(GREET_REPO['tests/greet.expected']!) },
          {
            mode: '100644',
            data: Buffer.from('hello, world!\nhello ssr!\nhello, golden!\nhello, file!\n'),
          },
        ),
      );
    } finally {
      harness.cleanup();
    }
  });
});

import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ARTIFACT_FILES,
  type Artifact,
  artifactHash,
  parseTestFiles,
  readArtifact,
  writeArtifact,
} from '../src/artifact/artifact.js';
import { UsageError } from '../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'ssr-artifact-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name = 'a') => join(root, `${name}-${++counter}`);

const SAMPLE: Artifact = {
  testScript: '#!/bin/bash\nset -e\npython -m pytest -rA tests/test_wrap.py\n',
  testFiles: ['tests/test_wrap.py', 'tests/test_fill.py'],
  testParser: 'import json, sys\nprint(json.dumps({"t": "passed"}))\n',
  bugDiff:
    'diff --git a/src/wrap.py b/src/wrap.py\n--- a/src/wrap.py\n+++ b/src/wrap.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n',
  weakenDiff:
    'diff --git a/tests/test_wrap.py b/tests/test_wrap.py\n--- a/tests/test_wrap.py\n+++ b/tests/test_wrap.py\n@@ -1,2 +1 @@\n def test():\n-    assert x == 1\n',
  metadata: {
    id: 'textkit-wrap.1_a',
    repo: 'textkit',
    parent: null,
    order: 1,
    strategy: 'removal',
    createdBy: 'unit-test',
    createdAt: '2025-01-01T00:00:00.000Z',
    notes: 'ünïcode notes',
  },
};

/** Writes raw files into a new directory (no writeArtifact), for input-side tests. */
function rawDir(files: Record<string, string | Buffer>): string {
  const dir = fresh('raw');
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const CANONICAL: Record<string, string> = {
  'test_script.sh': SAMPLE.testScript,
  'test_files.txt': `${SAMPLE.testFiles.join('\n')}\n`,
  'test_parser.py': SAMPLE.testParser,
  'bug_inject.diff': SAMPLE.bugDiff,
  'test_weaken.diff': SAMPLE.weakenDiff,
};

function usageError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.match(err.message, re);
    return true;
  });
}

describe('writeArtifact / readArtifact', () => {
  test('round-trips all five files and the metadata', () => {
    const dir = fresh();
    writeArtifact(dir, SAMPLE);
    assert.deepEqual(readArtifact(dir), SAMPLE);
    assert.deepEqual(readdirSync(dir).sort(), [
      'bug_inject.diff',
      'metadata.json',
      'test_files.txt',
      'test_parser.py',
      'test_script.sh',
      'test_weaken.diff',
    ]);
    assert.equal(readFileSync(join(dir, 'test_script.sh'), 'utf8'), SAMPLE.testScript);
    assert.equal(readFileSync(join(dir, 'bug_inject.diff'), 'utf8'), SAMPLE.bugDiff);
  });

  test('metadata defaults are filled in and survive the round trip', () => {
    const dir = fresh();
    const a = { ...SAMPLE, metadata: { id: 'x' } as Artifact['metadata'] };
    writeArtifact(dir, a);
    const back = readArtifact(dir);
    assert.equal(back.metadata.id, 'x');
    assert.equal(back.metadata.order, 1);
    assert.equal(back.metadata.parent, null);
    assert.equal(back.metadata.strategy, 'unknown');
    assert.ok(!Number.isNaN(Date.parse(back.metadata.createdAt)));
    assert.deepEqual(readArtifact(dir), back);
  });

  test('overwrites an existing artifact completely and writes extra files', () => {
    const dir = fresh();
    writeArtifact(dir, SAMPLE, { 'stale.txt': 'old' });
    assert.ok(existsSync(join(dir, 'stale.txt')));
    const changed = { ...SAMPLE, testParser: 'print("{}")\n' };
    writeArtifact(dir, changed, { 'report.json': '{}' });
    assert.equal(existsSync(join(dir, 'stale.txt')), false);
    assert.equal(readFileSync(join(dir, 'report.json'), 'utf8'), '{}');
    assert.equal(readArtifact(dir).testParser, 'print("{}")\n');
  });

  test('leaves no *.tmp-* folders after success', () => {
    const parent = fresh('parent');
    writeArtifact(join(parent, 'nested', 'art'), SAMPLE);
    writeArtifact(join(parent, 'nested', 'art'), SAMPLE);
    assert.deepEqual(readdirSync(join(parent, 'nested')), ['art']);
  });

  test('is atomic: nothing is left when it throws, an existing artifact stays intact', () => {
    const parent = fresh('parent');
    mkdirSync(parent);
    const bad = { ...SAMPLE, metadata: { ...SAMPLE.metadata, id: 'bad/id' } };
    assert.throws(() => writeArtifact(join(parent, 'art'), bad), /id may use/);
    assert.deepEqual(readdirSync(parent), []);
    // A failing extra file (its folder does not exist) after the five were staged.
    writeArtifact(join(parent, 'art'), SAMPLE);
    const other = { ...SAMPLE, bugDiff: SAMPLE.bugDiff.replace('x = 2', 'x = 3') };
    assert.throws(() => writeArtifact(join(parent, 'art'), other, { 'no/such/dir.txt': 'x' }));
    assert.deepEqual(readdirSync(parent), ['art']);
    assert.deepEqual(readArtifact(join(parent, 'art')), SAMPLE);
  });

  test("the paper's alias names are accepted; canonical names are written", () => {
    const dir = rawDir({
      'test_script.sh': SAMPLE.testScript,
      'test_files.txt': CANONICAL['test_files.txt']!,
      'parse_test_output.py': SAMPLE.testParser,
      'bug_patch.diff': SAMPLE.bugDiff,
      'test_patch.diff': SAMPLE.weakenDiff,
      'metadata.json': JSON.stringify(SAMPLE.metadata),
    });
    const a = readArtifact(dir);
    assert.deepEqual(a, SAMPLE);
    const out = fresh();
    writeArtifact(out, a);
    const names = readdirSync(out);
    for (const spec of Object.values(ARTIFACT_FILES)) {
      assert.ok(names.includes(spec.name), `${spec.name} written`);
      for (const alias of spec.aliases) assert.ok(!names.includes(alias), `${alias} not written`);
    }
  });

  test('the canonical name wins over an alias', () => {
    const dir = rawDir({ ...CANONICAL, 'bug_patch.diff': 'something else\n' });
    assert.equal(readArtifact(dir).bugDiff, SAMPLE.bugDiff);
  });

  test('without metadata.json the id derives from the content hash', () => {
    const dir = rawDir(CANONICAL);
    const a = readArtifact(dir);
    assert.equal(a.metadata.id, `artifact-${artifactHash(a).slice(0, 12)}`);
    assert.deepEqual(a.testFiles, SAMPLE.testFiles);
  });
});

describe('readArtifact errors', () => {
  test('a missing file is named, with its alias', () => {
    for (const [name, also] of [
      ['test_script.sh', ''],
      ['test_files.txt', ''],
      ['test_parser.py', ' (or parse_test_output.py)'],
      ['bug_inject.diff', ' (or bug_patch.diff)'],
      ['test_weaken.diff', ' (or test_patch.diff)'],
    ] as const) {
      const files = { ...CANONICAL };
      delete files[name];
      const dir = rawDir(files);
      usageError(() => readArtifact(dir), new RegExp(`is missing ${name.replace('.', '\\.')}`));
      usageError(() => readArtifact(dir), new RegExp(`${also.replace(/[().]/g, '\\$&')}$`));
    }
  });

  test('a missing directory', () => {
    usageError(() => readArtifact(join(root, 'does-not-exist')), /artifact directory not found/);
    const file = join(fresh('file'));
    writeFileSync(file, 'x');
    usageError(() => readArtifact(file), /not a directory/);
  });

  test('metadata.json that is not JSON', () => {
    const dir = rawDir({ ...CANONICAL, 'metadata.json': '{"id": "x",' });
    usageError(() => readArtifact(dir), /metadata\.json is not valid JSON/);
  });

  test('metadata.json with a bad id or wrong types', () => {
    for (const id of ['has space', 'a/b', '../x', '']) {
      const dir = rawDir({ ...CANONICAL, 'metadata.json': JSON.stringify({ id }) });
      usageError(() => readArtifact(dir), /metadata\.json: id: /);
    }
    const noId = rawDir({ ...CANONICAL, 'metadata.json': '{"repo": "r"}' });
    usageError(() => readArtifact(noId), /metadata\.json: id: /);
    const badOrder = rawDir({ ...CANONICAL, 'metadata.json': '{"id": "x", "order": 0}' });
    usageError(() => readArtifact(badOrder), /metadata\.json: order: /);
    const notObject = rawDir({ ...CANONICAL, 'metadata.json': '[1]' });
    usageError(() => readArtifact(notObject), /metadata\.json: \(root\): /);
  });

  test('a binary artifact file is refused', () => {
    const dir = rawDir({ ...CANONICAL, 'test_parser.py': Buffer.from([0x70, 0, 0x71, 10]) });
    usageError(() => readArtifact(dir), /test_parser\.py is binary \(contains NUL bytes\)/);
  });

  test('an artifact "file" that is a directory is refused', () => {
    const dir = rawDir(CANONICAL);
    rmSync(join(dir, 'test_weaken.diff'));
    mkdirSync(join(dir, 'test_weaken.diff'));
    usageError(() => readArtifact(dir), /test_weaken\.diff is not a regular file/);
  });
});

describe('parseTestFiles', () => {
  test('ignores blank lines and # comments, strips ./ and whitespace, drops duplicates', () => {
    const text = [
      '# oracle tests',
      '',
      './tests/test_a.py',
      '   tests/test_b.py  ',
      '\t',
      '  # indented comment',
      'tests/test_a.py',
      'tests/dir with space/test_c.py\r',
      '',
    ].join('\n');
    assert.deepEqual(parseTestFiles(text), [
      'tests/test_a.py',
      'tests/test_b.py',
      'tests/dir with space/test_c.py',
    ]);
    assert.deepEqual(parseTestFiles(''), []);
    assert.deepEqual(parseTestFiles('# only a comment\n'), []);
  });

  test('is what readArtifact uses', () => {
    const dir = rawDir({ ...CANONICAL, 'test_files.txt': '# c\n\n./x.py\ny.py\n' });
    assert.deepEqual(readArtifact(dir).testFiles, ['x.py', 'y.py']);
  });
});

describe('artifactHash', () => {
  const body = {
    testScript: SAMPLE.testScript,
    testFiles: SAMPLE.testFiles,
    testParser: SAMPLE.testParser,
    bugDiff: SAMPLE.bugDiff,
    weakenDiff: SAMPLE.weakenDiff,
  };

  test('is stable, ignores metadata and location', () => {
    const h = artifactHash(body);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(artifactHash({ ...body }), h);
    assert.equal(artifactHash(SAMPLE), h);
    const dir1 = fresh();
    const dir2 = fresh();
    writeArtifact(dir1, SAMPLE);
    writeArtifact(dir2, { ...SAMPLE, metadata: { ...SAMPLE.metadata, id: 'other' } });
    assert.equal(artifactHash(readArtifact(dir1)), h);
    assert.equal(artifactHash(readArtifact(dir2)), h);
  });

  test('changes when any of the five files changes', () => {
    const h = artifactHash(body);
    const variants = [
      { ...body, testScript: `${body.testScript} ` },
      { ...body, testFiles: [...body.testFiles, 'tests/more.py'] },
      { ...body, testFiles: [...body.testFiles].reverse() },
      { ...body, testParser: `${body.testParser}\n` },
      { ...body, bugDiff: body.bugDiff.replace('x = 2', 'x = 3') },
      { ...body, weakenDiff: body.weakenDiff.replace('== 1', '== 2') },
      // Content moved from one file to the next is a different artifact.
      { ...body, bugDiff: '', weakenDiff: body.bugDiff + body.weakenDiff },
    ];
    const hashes = new Set([h, ...variants.map(artifactHash)]);
    assert.equal(hashes.size, variants.length + 1);
  });
});

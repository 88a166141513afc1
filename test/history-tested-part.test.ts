/**
 * History reverts restricted to the files the tests execute: a release commit that fixed a
 * bug in the source and in an untested copy of it (a legacy entry point no test loads)
 * reverts, as a candidate, to the bug in the tested source alone, since reverting the copy
 * too fails check 7 (no test needs it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Coverage } from '../src/inject/coverage.js';
import { injectBugs, testedPart } from '../src/inject/pipeline.js';
import type { BugCandidate } from '../src/inject/types.js';

const ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};

const calc = (op: string) =>
  `function add(a, b) {\n  return a ${op} b;\n}\n\nfunction twice(a) {\n  return add(a, a);\n}\n\nmodule.exports = { add, twice };\n`;

let work: string;
let repo: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ssr-tested-part-'));
  repo = join(work, 'calc');
  for (const d of ['src', 'test']) mkdirSync(join(repo, d), { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, env: ENV, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  writeFileSync(
    join(repo, 'package.json'),
    '{ "name": "calc", "version": "1.0.0", "scripts": { "test": "node --test test/" } }\n',
  );
  writeFileSync(
    join(repo, 'test/calc.test.js'),
    "const test = require('node:test');\nconst assert = require('node:assert/strict');\nconst { add, twice } = require('../src/calc.js');\n\ntest('add', () => {\n  assert.equal(add(2, 3), 5);\n});\n\ntest('twice', () => {\n  assert.equal(twice(4), 8);\n});\n\ntest('add zero', () => {\n  assert.equal(add(7, 0), 7);\n});\n",
  );
  writeFileSync(join(repo, 'src/calc.js'), calc('-'));
  writeFileSync(join(repo, 'src/calc-legacy.js'), `/* legacy entry point */\n${calc('-')}`);
  git('add', '-A');
  git('commit', '-q', '-m', 'calc 1.0.0');
  writeFileSync(join(repo, 'src/calc.js'), calc('+'));
  writeFileSync(join(repo, 'src/calc-legacy.js'), `/* legacy entry point */\n${calc('+')}`);
  git('add', '-A');
  git('commit', '-q', '-m', 'calc 1.0.1: add adds');
});

after(() => rmSync(work, { recursive: true, force: true }));

test('testedPart keeps the executed files of a multi-file revert, and only then', () => {
  const c: BugCandidate = {
    strategy: 'history',
    key: 'history:abc123:000000000000',
    operator: 'revert-commit',
    description: 'revert abc123',
    edits: { 'src/a.js': 'a', 'dist/a.js': 'b' },
    location: { file: 'dist/a.js', line: 3 },
  };
  const coverage = (files: string[]): Coverage =>
    ({
      covered: () => false,
      files: () => files,
      lines: (f: string) => (files.includes(f) ? [1] : []),
      unmapped: [],
      processes: { node: 1, python: 0 },
    }) as unknown as Coverage;
  const part = testedPart(c, coverage(['src/a.js']));
  assert.deepEqual(Object.keys(part?.edits ?? {}), ['src/a.js']);
  assert.equal(part?.operator, 'revert-commit-tested');
  assert.deepEqual(part?.location, { file: 'src/a.js', line: 1 });
  assert.notEqual(part?.key, c.key);
  assert.equal(testedPart(c, coverage(['src/a.js', 'dist/a.js'])), null, 'all executed');
  assert.equal(testedPart(c, coverage([])), null, 'none executed');
  const noNode = { ...coverage([]), processes: { node: 0, python: 0 } } as unknown as Coverage;
  assert.equal(testedPart(c, noNode), null, 'coverage knows nothing of JavaScript');
});

test('ssr inject: the release revert becomes a valid bug in the tested source alone', async () => {
  const out = join(work, 'out');
  const summary = await injectBugs({ repo, out, count: 1, seed: 1, strategies: ['history'] });
  assert.equal(summary.valid, 1, JSON.stringify(summary.byStrategy));
  const diff = readFileSync(join(out, summary.artifacts[0]!, 'bug_inject.diff'), 'utf8');
  assert.match(diff, /^diff --git a\/src\/calc\.js b\/src\/calc\.js$/m);
  assert.doesNotMatch(diff, /calc-legacy/);
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type FilePatch, PatchError, parsePatch, touchedPaths } from '../src/artifact/patch.js';
import {
  dirSymlinkProbe,
  patchSafetyProblems,
  symlinkReason,
  unsafePathReason,
} from '../src/artifact/safety.js';

// Git without the host's configuration (diff.noprefix, diff.renames, ... would change its output).
const GIT_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'ssr-test',
  GIT_AUTHOR_EMAIL: 'ssr-test@example.invalid',
  GIT_COMMITTER_NAME: 'ssr-test',
  GIT_COMMITTER_EMAIL: 'ssr-test@example.invalid',
  LC_ALL: 'C',
};

function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, encoding: 'utf8' });
}

function gitTry(cwd: string, args: string[], input: string): { ok: boolean; stderr: string } {
  const r = spawnSync('git', args, { cwd, env: GIT_ENV, input, encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

const cleanups: string[] = [];
after(() => {
  for (const d of cleanups) rmSync(d, { recursive: true, force: true });
});

function newRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-patch-test-'));
  cleanups.push(dir);
  git(dir, ['init', '-q']);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '--allow-empty', '-m', 'base']);
  return dir;
}

function resetRepo(dir: string): void {
  git(dir, ['reset', '-q', '--hard', 'HEAD']);
  git(dir, ['clean', '-q', '-fdx']);
}

/** Tree hash of the work tree (content, names and modes). */
function workTree(dir: string): string {
  git(dir, ['add', '-A']);
  return git(dir, ['write-tree']).trim();
}

function byNew(files: FilePatch[], path: string): FilePatch {
  const f = files.find((x) => x.newPath === path);
  assert.ok(f, `no file patch with new path ${path}; have ${JSON.stringify(touchedPaths(files))}`);
  return f;
}

function byOld(files: FilePatch[], path: string): FilePatch {
  const f = files.find((x) => x.oldPath === path);
  assert.ok(f, `no file patch with old path ${path}; have ${JSON.stringify(touchedPaths(files))}`);
  return f;
}

describe('parsePatch on real git diff output', () => {
  const base: Record<string, string> = {
    'mod.txt': 'one\ntwo\nthree\n',
    'del.txt': 'gone\n',
    'old.txt': `${Array.from({ length: 20 }, (_, i) => i + 1).join('\n')}\n`,
    'pure.txt': 'keep me\n',
    'plain.txt': 'plain\n',
    'x b/y.txt': 'tricky name\n',
    'exe.sh': 'echo hi\n',
    'nonl.txt': 'a\nb',
    'my file.txt': 's\n',
    'café.txt': 'c\n',
  };
  const repo = newRepo(base);
  chmodSync(join(repo, 'exe.sh'), 0o644);
  writeFileSync(join(repo, 'mod.txt'), 'one\nTWO\nthree\nfour\n');
  rmSync(join(repo, 'del.txt'));
  writeFileSync(join(repo, 'added.txt'), 'fresh\nlines\n');
  git(repo, ['mv', 'old.txt', 'new.txt']);
  writeFileSync(join(repo, 'new.txt'), base['old.txt']!.replace('\n5\n', '\nfive\n'));
  git(repo, ['mv', 'pure.txt', 'pure renamed.txt']);
  git(repo, ['mv', 'plain.txt', 'naïve.txt']);
  git(repo, ['mv', 'x b/y.txt', 'z.txt']);
  chmodSync(join(repo, 'exe.sh'), 0o755);
  writeFileSync(join(repo, 'nonl.txt'), 'a\nB');
  writeFileSync(join(repo, 'my file.txt'), 's\nt\n');
  writeFileSync(join(repo, 'café.txt'), 'c\nd\n');
  git(repo, ['add', '-A']);
  const diff = git(repo, ['diff', '--cached', '-M', 'HEAD']);
  const target = workTree(repo);
  resetRepo(repo);
  const baseTree = workTree(repo);

  test('git really produced the tricky forms this test relies on', () => {
    assert.match(diff, /^diff --git "a\/caf\\303\\251\.txt" "b\/caf\\303\\251\.txt"$/m);
    assert.match(diff, /^--- a\/my file\.txt\t$/m);
    assert.match(diff, /^\\ No newline at end of file$/m);
    assert.match(diff, /^rename to "na\\303\\257ve\.txt"$/m);
    assert.match(diff, /^diff --git a\/x b\/y\.txt b\/z\.txt$/m);
    assert.match(diff, /^old mode 100644\nnew mode 100755$/m);
    assert.notEqual(target, baseTree);
  });

  const files = parsePatch(diff);

  test('finds every file with the right paths', () => {
    assert.equal(files.length, 11);
    assert.deepEqual(touchedPaths(files), [
      'added.txt',
      'café.txt',
      'del.txt',
      'exe.sh',
      'mod.txt',
      'my file.txt',
      'naïve.txt',
      'new.txt',
      'nonl.txt',
      'old.txt',
      'plain.txt',
      'pure renamed.txt',
      'pure.txt',
      'x b/y.txt',
      'z.txt',
    ]);
  });

  test('modified file: counts and hunk header', () => {
    const f = byNew(files, 'mod.txt');
    assert.equal(f.oldPath, 'mod.txt');
    assert.deepEqual([f.added, f.removed], [2, 1]);
    assert.equal(f.hunks.length, 1);
    const h = f.hunks[0]!;
    assert.deepEqual([h.oldStart, h.oldLines, h.newStart, h.newLines], [1, 3, 1, 4]);
    assert.deepEqual(h.lines, [' one', '-two', '+TWO', ' three', '+four']);
    assert.equal(f.binary || f.rename || f.copy, false);
  });

  test('added and deleted files', () => {
    const a = byNew(files, 'added.txt');
    assert.equal(a.oldPath, null);
    assert.equal(a.newMode, '100644');
    assert.deepEqual([a.added, a.removed], [2, 0]);
    const d = byOld(files, 'del.txt');
    assert.equal(d.newPath, null);
    assert.equal(d.oldMode, '100644');
    assert.deepEqual([d.added, d.removed], [0, 1]);
  });

  test('renames, with and without content changes', () => {
    const r = byNew(files, 'new.txt');
    assert.equal(r.oldPath, 'old.txt');
    assert.equal(r.rename, true);
    assert.deepEqual([r.added, r.removed], [1, 1]);
    const pure = byNew(files, 'pure renamed.txt');
    assert.equal(pure.oldPath, 'pure.txt');
    assert.equal(pure.rename, true);
    assert.equal(pure.hunks.length, 0);
    assert.deepEqual([pure.added, pure.removed], [0, 0]);
  });

  test('pure rename to a name git must quote (only the new name is quoted)', () => {
    const f = byNew(files, 'naïve.txt');
    assert.equal(f.oldPath, 'plain.txt');
    assert.equal(f.rename, true);
  });

  test('pure rename of a name containing " b/" takes the paths from rename from/to', () => {
    const f = byNew(files, 'z.txt');
    assert.equal(f.oldPath, 'x b/y.txt');
  });

  test('mode change without content change', () => {
    const f = byNew(files, 'exe.sh');
    assert.equal(f.oldPath, 'exe.sh');
    assert.deepEqual([f.oldMode, f.newMode], ['100644', '100755']);
    assert.equal(f.hunks.length, 0);
  });

  test('no newline at end of file: the marker lines are kept and not counted', () => {
    const f = byNew(files, 'nonl.txt');
    assert.deepEqual([f.added, f.removed], [1, 1]);
    assert.deepEqual(f.hunks[0]!.lines, [
      ' a',
      '-b',
      '\\ No newline at end of file',
      '+B',
      '\\ No newline at end of file',
    ]);
  });

  test('path with spaces (git appends a tab on ---/+++) and quoted non-ASCII path', () => {
    const s = byNew(files, 'my file.txt');
    assert.equal(s.oldPath, 'my file.txt');
    assert.deepEqual([s.added, s.removed], [1, 0]);
    const c = byNew(files, 'café.txt');
    assert.equal(c.oldPath, 'café.txt');
    assert.deepEqual([c.added, c.removed], [1, 0]);
  });

  test('raw sections concatenate to the input and apply', () => {
    assert.equal(files.map((f) => f.raw).join(''), diff);
    for (const f of files) assert.match(f.raw, /^diff --git /);
    const check = gitTry(repo, ['apply', '--check', '-'], files.map((f) => f.raw).join(''));
    assert.ok(check.ok, check.stderr);
  });

  test('applying the sections one by one equals applying the whole diff', () => {
    resetRepo(repo);
    const whole = gitTry(repo, ['apply', '-'], diff);
    assert.ok(whole.ok, whole.stderr);
    assert.equal(workTree(repo), target);
    resetRepo(repo);
    for (const f of files) {
      const r = gitTry(repo, ['apply', '-'], f.raw);
      assert.ok(r.ok, `${f.newPath ?? f.oldPath}: ${r.stderr}`);
    }
    assert.equal(workTree(repo), target);
    resetRepo(repo);
  });

  test('a real diff of plain files has no safety problems', () => {
    assert.deepEqual(patchSafetyProblems(files, dirSymlinkProbe(repo), 'bug_inject.diff'), []);
  });
});

const GOOD = [
  'diff --git a/f.txt b/f.txt',
  '--- a/f.txt',
  '+++ b/f.txt',
  '@@ -1,3 +1,3 @@',
  ' a',
  '-b',
  '+B',
  ' c',
  '',
].join('\n');

const SECOND = [
  'diff --git a/g.txt b/g.txt',
  '--- a/g.txt',
  '+++ b/g.txt',
  '@@ -1 +1 @@',
  '-x',
  '+y',
  '',
].join('\n');

function rejects(text: string, re: RegExp, label?: string): void {
  assert.throws(
    () => parsePatch(text, label),
    (err: unknown) => {
      assert.ok(err instanceof PatchError, `expected PatchError, got ${String(err)}`);
      assert.match(err.message, re);
      return true;
    },
  );
}

describe('parsePatch rejects malformed diffs', () => {
  test('the well-formed base case parses', () => {
    const files = parsePatch(GOOD + SECOND);
    assert.deepEqual(touchedPaths(files), ['f.txt', 'g.txt']);
    assert.deepEqual(
      files.map((f) => [f.added, f.removed]),
      [
        [1, 1],
        [1, 1],
      ],
    );
  });

  test('truncated hunk', () => {
    const cut = GOOD.split('\n').slice(0, 6).join('\n');
    rejects(cut, /hunk at line 4 \(f\.txt\) is truncated: 1 old and 2 new lines missing/);
  });

  test('hunk header counting too many lines (last file: truncated)', () => {
    rejects(GOOD.replace('@@ -1,3 +1,3 @@', '@@ -1,4 +1,4 @@'), /is truncated/);
  });

  test('hunk header counting too many lines (next file follows)', () => {
    rejects(
      GOOD.replace('@@ -1,3 +1,3 @@', '@@ -1,4 +1,4 @@') + SECOND,
      /line 9: hunk at line 4 \(f\.txt\) does not match its header \(1 old \/ 1 new lines still expected\)/,
    );
  });

  test('hunk header counting too few lines', () => {
    rejects(
      GOOD.replace('@@ -1,3 +1,3 @@', '@@ -1,2 +1,2 @@'),
      /line 8: change line outside any hunk \(a hunk header counts too few lines\?\)/,
    );
  });

  test('hunk with more removed lines than its header says', () => {
    rejects(GOOD.replace('@@ -1,3 +1,3 @@', '@@ -1,1 +1,3 @@'), /more lines than its header/);
  });

  test('garbage text only, empty input, blank lines', () => {
    rejects('hello world\nthis is not a diff\n', /^diff contains no file changes$/);
    rejects('', /contains no file changes/);
    rejects('\n\n', /contains no file changes/);
    rejects('', /^test_weaken\.diff contains no file changes$/, 'test_weaken.diff');
  });

  test('---/+++ paths without a/ and b/ prefixes', () => {
    rejects(
      GOOD.replace('--- a/f.txt', '--- f.txt').replace('+++ b/f.txt', '+++ f.txt'),
      /line 2: path "f\.txt" must start with a\/ \(git diff format, applied with -p1\)/,
    );
    rejects(
      GOOD.split('\n').slice(1).join('\n').replace('+++ b/f.txt', '+++ f.txt'),
      /path "f\.txt" must start with b\//,
    );
    rejects('diff --git f.txt f.txt\nold mode 100644\nnew mode 100755\n', /must start with a\//);
  });

  test('hunk before any file header', () => {
    rejects('@@ -1 +1 @@\n-a\n+b\n', /line 1: hunk before any file header/);
  });

  test('NUL byte', () => {
    rejects(GOOD.replace('+B', '+B\0'), /contains NUL bytes/);
    rejects('\0', /^bug_inject\.diff contains NUL bytes/, 'bug_inject.diff');
  });

  test('file section without any change', () => {
    rejects('diff --git a/f.txt b/f.txt\nindex 1234567..89abcde 100644\n', /f\.txt has no changes/);
  });

  test('unreadable header and bad quoting', () => {
    rejects('diff --git nonsense\n', /cannot read paths/);
    rejects(GOOD.replace('--- a/f.txt', '--- "a/f\\q.txt"'), /badly quoted path/);
  });
});

describe('safety', () => {
  const none = () => false;

  test('unsafePathReason', () => {
    assert.equal(unsafePathReason('src/a.py'), null);
    assert.equal(unsafePathReason('dir with space/ü.txt'), null);
    assert.equal(unsafePathReason('.github/x.yml'), null);
    assert.equal(unsafePathReason('a.git/x'), null);
    assert.equal(unsafePathReason(''), 'empty path');
    assert.equal(unsafePathReason('/etc/passwd'), 'absolute path /etc/passwd');
    assert.match(unsafePathReason('../x')!, /escapes the repository/);
    assert.match(unsafePathReason('a/../../x')!, /escapes the repository/);
    assert.match(unsafePathReason('.git/config')!, /touches git metadata/);
    assert.match(unsafePathReason('sub/.git/hooks/post-checkout')!, /touches git metadata/);
    assert.match(unsafePathReason('a/./b')!, /not in normal form/);
    assert.match(unsafePathReason('a//b')!, /not in normal form/);
    assert.match(unsafePathReason('a/')!, /not in normal form/);
    assert.match(unsafePathReason('a\0b')!, /NUL/);
  });

  test('symlinkReason', () => {
    const probe = (p: string) => p === 'lib' || p === 'src/link.py';
    assert.equal(symlinkReason('src/a.py', probe), null);
    assert.equal(symlinkReason('library/x', probe), null);
    assert.equal(
      symlinkReason('lib/passwd', probe),
      'lib/passwd goes through the symlink lib in the repository',
    );
    assert.equal(symlinkReason('src/link.py', probe), 'src/link.py is a symlink in the repository');
  });

  function problems(text: string, probe: (p: string) => boolean = none): string[] {
    return patchSafetyProblems(parsePatch(text), probe, 'bug_inject.diff');
  }

  function hunkFor(path: string): string {
    return [
      `diff --git a/${path} b/${path}`,
      `--- a/${path}`,
      `+++ b/${path}`,
      '@@ -1 +1 @@',
      '-x',
      '+y',
      '',
    ].join('\n');
  }

  test('../ escapes', () => {
    const p = problems(hunkFor('../outside.txt'));
    assert.deepEqual(p, ['bug_inject.diff: path ../outside.txt escapes the repository (..)']);
    assert.match(problems(hunkFor('src/../../x'))[0]!, /escapes the repository/);
  });

  test('absolute paths', () => {
    const p = problems(hunkFor('/etc/passwd'));
    assert.deepEqual(p, ['bug_inject.diff: absolute path /etc/passwd']);
    // Only in the ---/+++ lines (no diff --git header).
    const plain = '--- a//etc/hosts\n+++ b//etc/hosts\n@@ -1 +1 @@\n-x\n+y\n';
    assert.deepEqual(problems(plain), ['bug_inject.diff: absolute path /etc/hosts']);
  });

  test('.git paths', () => {
    const hook = [
      'diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit',
      'new file mode 100755',
      '--- /dev/null',
      '+++ b/.git/hooks/pre-commit',
      '@@ -0,0 +1 @@',
      '+rm -rf ~',
      '',
    ].join('\n');
    assert.deepEqual(problems(hook), [
      'bug_inject.diff: path .git/hooks/pre-commit touches git metadata (.git)',
    ]);
  });

  test('binary patches: git diff --binary and "Binary files ... differ"', () => {
    const repo = newRepo({ 'keep.txt': 'k\n' });
    writeFileSync(join(repo, 'img.bin'), Buffer.from([0, 1, 2, 3, 255, 0, 7, 0, 9]));
    git(repo, ['add', '-A']);
    const withBinary = git(repo, ['diff', '--cached', '--binary']);
    assert.match(withBinary, /^GIT binary patch$/m);
    const plain = git(repo, ['diff', '--cached']);
    assert.match(plain, /^Binary files \/dev\/null and b\/img\.bin differ$/m);
    for (const text of [withBinary, plain]) {
      const files = parsePatch(text);
      assert.equal(files.length, 1);
      assert.equal(files[0]!.binary, true);
      assert.equal(files[0]!.newPath, 'img.bin');
      assert.deepEqual(patchSafetyProblems(files, none, 'bug_inject.diff'), [
        'bug_inject.diff: binary patch for img.bin (only text changes are allowed)',
      ]);
    }
    // Sections stay separable around a binary one.
    const both = withBinary + hunkFor('keep.txt').replace('-x\n+y', '-k\n+K');
    const files = parsePatch(both);
    assert.deepEqual(touchedPaths(files), ['img.bin', 'keep.txt']);
    assert.equal(files.map((f) => f.raw).join(''), both);
  });

  test('new symlink (mode 120000) from git diff', () => {
    const repo = newRepo({ 'target.txt': 't\n' });
    symlinkSync('target.txt', join(repo, 'link'));
    git(repo, ['add', '-A']);
    const text = git(repo, ['diff', '--cached']);
    assert.match(text, /^new file mode 120000$/m);
    const files = parsePatch(text);
    assert.equal(files[0]!.newMode, '120000');
    const p = patchSafetyProblems(files, none, 'bug_inject.diff');
    assert.deepEqual(p, ['bug_inject.diff: link would become or stay a symlink (mode 120000)']);
  });

  test('submodule (mode 160000) from git diff', () => {
    const repo = newRepo({ 'a.txt': 'a\n' });
    const head = git(repo, ['rev-parse', 'HEAD']).trim();
    git(repo, ['update-index', '--add', '--cacheinfo', `160000,${head},vendor/sub`]);
    const text = git(repo, ['diff', '--cached']);
    assert.match(text, /^new file mode 160000$/m);
    assert.match(text, /^\+Subproject commit /m);
    const p = problems(text);
    assert.deepEqual(p, ['bug_inject.diff: vendor/sub is a submodule (mode 160000)']);
  });

  test('a path through a symlink inside the repository (lib -> /etc)', () => {
    const repo = newRepo({ 'src/a.txt': 'a\n' });
    symlinkSync('/etc', join(repo, 'lib'));
    const probe = dirSymlinkProbe(repo);
    assert.equal(probe('lib'), true);
    assert.equal(probe('src'), false);
    assert.equal(probe('missing/x'), false);
    const text = hunkFor('lib/passwd').replace('-x\n+y', '-root:x:0:0:root:/root:/bin/bash\n+evil');
    assert.deepEqual(problems(text, probe), [
      'bug_inject.diff: lib/passwd goes through the symlink lib in the repository',
    ]);
    // Editing the link itself is reported too; plain files next to it are fine.
    assert.deepEqual(problems(hunkFor('lib'), probe), [
      'bug_inject.diff: lib is a symlink in the repository',
    ]);
    assert.deepEqual(problems(hunkFor('src/a.txt'), probe), []);
  });

  test('problems are reported once each, for every file', () => {
    const text = hunkFor('../a') + hunkFor('.git/b');
    assert.equal(problems(text).length, 2);
  });
});

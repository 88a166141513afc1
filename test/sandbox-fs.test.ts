// Filesystem semantics of the local sandbox: exec, diff, fork, snapshots, file access, the
// copy fallback, the unsandboxed mode, and cleanup.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectCapabilities, type SandboxCapabilities } from '../src/sandbox/capabilities.js';
import { type LocalSandbox, SandboxHost } from '../src/sandbox/index.js';
import { EnvironmentError, UsageError } from '../src/util/errors.js';
import {
  hashTree,
  hostManifest,
  makeRepo,
  removeTempDirs,
  sandboxManifest,
  tempDir,
} from './helpers/sandbox-repo.js';

let host: SandboxHost;
let copyHost: SandboxHost;
const extraHosts: SandboxHost[] = [];

before(() => {
  host = SandboxHost.open();
  copyHost = SandboxHost.open({ forceCopy: true });
});

after(async () => {
  await host?.close();
  await copyHost?.close();
  for (const h of extraHosts) await h.close();
  removeTempDirs();
});

function openHost(opts: Parameters<typeof SandboxHost.open>[0]): SandboxHost {
  const h = SandboxHost.open(opts);
  extraHosts.push(h);
  return h;
}

async function sh(sb: LocalSandbox, command: string): Promise<string> {
  const r = await sb.exec(command, { timeoutMs: 30_000 });
  assert.equal(r.exitCode, 0, `${command}\n${r.stderr}`);
  return r.stdout;
}

/** The paths named by the `diff --git` headers of a diff, in order. */
function diffPaths(diff: string): string[] {
  return [...diff.matchAll(/^diff --git (?:"a\/((?:[^"\\]|\\.)*)"|a\/(.*?)) (?:"b\/|b\/)/gm)].map(
    (m) => m[1] ?? m[2]!,
  );
}

/** The section of `diff` about one path (header to the next header). */
function section(diff: string, header: string): string {
  const start = diff.indexOf(`diff --git ${header}`);
  assert.ok(start >= 0, `no section ${header} in:\n${diff}`);
  const next = diff.indexOf('\ndiff --git ', start + 1);
  return diff.slice(start, next < 0 ? undefined : next + 1);
}

const BASE_FILES = {
  'README.md': 'hello\n',
  'src/app.py': 'def f():\n    return 1\n',
  'src/util.py': 'x = 1\n',
  'scripts/run.sh': '#!/bin/sh\necho run\n',
  'olddir/a.txt': 'a\n',
  'olddir/b.txt': 'b\n',
  'docs/x.md': 'x\n',
  'docs/sub/y.md': 'y\n',
  'gone.txt': 'bye\n',
  'notrail.txt': 'line1\nline2\n',
  'with space.txt': 'space\n',
  'héllo.txt': 'bonjour\n',
  'unchanged.txt': 'same\n',
};

const EDIT_SCRIPT = [
  "echo 'hello world' > README.md",
  "printf 'def f():\\n    return 2\\n' > src/app.py",
  'rm gone.txt',
  'chmod +x scripts/run.sh',
  // Deleted and re-created: an opaque directory in the upper layer.
  "rm -rf olddir && mkdir olddir && printf 'a\\n' > olddir/a.txt && printf 'c\\n' > olddir/c.txt",
  'rm -rf docs',
  'mkdir -p a/b/c && echo deep > a/b/c/d.txt',
  "printf 'line1\\nline2 changed' > notrail.txt",
  "echo 'more space' >> 'with space.txt'",
  'echo salut > héllo.txt',
  'echo new > 日本.txt',
  'ln -s README.md link-to-readme',
  // Touched or rewritten with identical content: no change.
  'touch unchanged.txt',
  'cp src/util.py /tmp/u && rm src/util.py && mv /tmp/u src/util.py',
  // Noise that diffs leave out.
  'git -c user.name=x -c user.email=x@example.com commit -qam inside',
  'mkdir -p __pycache__ src/__pycache__',
  'echo x > __pycache__/m.cpython-311.pyc && echo y > src/__pycache__/app.cpython-311.pyc',
  'echo z > stray.pyc',
].join(' && ');

describe('exec', () => {
  let repo: string;
  before(() => {
    repo = makeRepo({ 'README.md': 'hello\n', 'src/app.py': 'print(1)\n' });
  });

  test('returns exit code, stdout, stderr and duration', async () => {
    const sb = host.create(host.snapshotDir(repo));
    const r = await sb.exec('echo out; echo err >&2; exit 3');
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.timedOut, false);
    assert.equal(r.truncated, false);
    assert.equal(r.stdoutBytes, 4);
    assert.equal(r.stderrBytes, 4);
    assert.ok(Number.isFinite(r.durationMs) && r.durationMs > 0);
    await sb.dispose();
  });

  test('cwd, env and stdin options', async () => {
    const sb = host.create(host.snapshotDir(repo));
    assert.equal(await sh(sb, 'pwd'), `${sb.repoPath}\n`);
    assert.equal((await sb.exec('pwd', { cwd: 'src' })).stdout, `${sb.repoPath}/src\n`);
    assert.equal((await sb.exec('cat app.py', { cwd: 'src/' })).stdout, 'print(1)\n');
    const env = await sb.exec('echo "$FOO|$BAR"', { env: { FOO: 'bar baz', BAR: '$HOME' } });
    assert.equal(env.stdout, 'bar baz|$HOME\n');
    const text = await sb.exec('wc -l; ', { stdin: 'one\ntwo\nthree\n' });
    assert.equal(text.stdout.trim(), '3');
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
    const bin = await sb.exec('od -An -tu1 | tr -s " " | sed "s/^ //"', { stdin: bytes });
    assert.equal(bin.stdout.trim(), '0 1 2 255 254 10');
    await assert.rejects(async () => sb.exec('pwd', { cwd: '../' }), UsageError);
    await assert.rejects(async () => sb.exec('pwd', { cwd: '/etc' }), UsageError);
    await sb.dispose();
  });

  test('stdinFile and stdoutFile stream through host files', async () => {
    const sb = host.create(host.snapshotDir(repo));
    const dir = tempDir();
    const input = join(dir, 'in.txt');
    writeFileSync(input, 'x'.repeat(100_000));
    const counted = await sb.exec('wc -c', { stdinFile: input });
    assert.equal(counted.stdout.trim(), '100000');
    const out = join(dir, 'out.txt');
    const r = await sb.exec('seq 1 10000', { stdoutFile: out, maxFileBytes: 100 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.truncated, true);
    assert.equal(
      readFileSync(out, 'utf8'),
      execFileSync('seq', ['1', '10000']).toString().slice(0, 100),
    );
    await sb.dispose();
  });
});

describe('diff', () => {
  let repo: string;
  let overlayDiff: string;
  let overlayManifest: string;

  before(() => {
    repo = makeRepo(BASE_FILES, { git: true });
  });

  test('reports additions, changes, deletions, modes, opaque dirs and odd names', async () => {
    const snap = host.snapshotDir(repo);
    const sb = host.create(snap);
    await sh(sb, EDIT_SCRIPT);
    const d = await sb.diff();
    overlayDiff = d;
    overlayManifest = await sandboxManifest(sb);

    assert.deepEqual(
      diffPaths(d).sort(),
      [
        'README.md',
        'a/b/c/d.txt',
        'docs/sub/y.md',
        'docs/x.md',
        'gone.txt',
        'h\\303\\251llo.txt',
        'link-to-readme',
        'notrail.txt',
        'olddir/b.txt',
        'olddir/c.txt',
        'scripts/run.sh',
        'src/app.py',
        'with space.txt',
        '\\346\\227\\245\\346\\234\\254.txt',
      ].sort(),
    );
    assert.match(section(d, 'a/README.md'), /^-hello\n\+hello world$/m);
    assert.match(section(d, 'a/a/b/c/d.txt'), /new file mode 100644\n--- \/dev\/null\n/);
    assert.match(section(d, 'a/gone.txt'), /deleted file mode 100644\n[\s\S]*^-bye$/m);
    assert.match(section(d, 'a/docs/sub/y.md'), /deleted file mode 100644/);
    assert.equal(
      section(d, 'a/scripts/run.sh'),
      [
        'diff --git a/scripts/run.sh b/scripts/run.sh',
        'old mode 100644',
        'new mode 100755',
        '',
      ].join('\n'),
    );
    assert.match(section(d, 'a/olddir/b.txt'), /deleted file mode/);
    assert.match(section(d, 'a/olddir/c.txt'), /new file mode/);
    assert.match(section(d, 'a/notrail.txt'), /^\+line2 changed\n\\ No newline at end of file$/m);
    assert.match(section(d, 'a/with space.txt'), /^\+more space$/m);
    assert.match(section(d, '"a/h\\303\\251llo.txt"'), /^-bonjour\n\+salut$/m);
    assert.match(section(d, 'a/link-to-readme'), /new file mode 120000[\s\S]*^\+README.md$/m);
    for (const absent of [
      'olddir/a.txt',
      'unchanged.txt',
      'src/util.py',
      '.git',
      'pycache',
      'pyc',
    ]) {
      assert.equal(d.includes(absent), false, `${absent} should not be in the diff`);
    }
    await sb.dispose();
  });

  test('round trip: applyPatch in a fresh sandbox gives the same diff and tree', async () => {
    assert.ok(overlayDiff, 'depends on the previous test');
    const sb = host.create(host.snapshotDir(repo));
    const check = await sb.applyPatch(overlayDiff, { check: true });
    assert.deepEqual(check, { ok: true, message: '' });
    assert.equal(await sb.diff(), '', '--check must not change anything');
    const r = await sb.applyPatch(overlayDiff);
    assert.equal(r.ok, true, r.message);
    assert.equal(await sb.diff(), overlayDiff);
    assert.equal(await sandboxManifest(sb), overlayManifest);
    // And back again.
    const back = await sb.applyPatch(overlayDiff, { reverse: true });
    assert.equal(back.ok, true, back.message);
    assert.equal(await sb.diff(), '');
    await sb.dispose();
  });

  test('real git apply on a copy of the repo gives the same tree', () => {
    assert.ok(overlayDiff, 'depends on the first diff test');
    const copy = join(tempDir(), 'copy');
    execFileSync('cp', ['-a', repo, copy]);
    execFileSync('git', ['apply', '--whitespace=nowarn', '-'], { cwd: copy, input: overlayDiff });
    assert.equal(hostManifest(copy), overlayManifest);
    assert.notEqual(hostManifest(repo), overlayManifest);
  });

  test('the copy fallback gives the same diff', async () => {
    assert.equal(copyHost.mode.storage, 'copy');
    const sb = copyHost.create(copyHost.snapshotDir(repo));
    await sh(sb, EDIT_SCRIPT);
    assert.equal(await sb.diff(), overlayDiff);
    assert.equal(await sandboxManifest(sb), overlayManifest);
    await sb.dispose();
  });

  for (const storage of ['overlay', 'copy'] as const) {
    test(`files replaced by directories and back (${storage})`, async () => {
      const h = storage === 'overlay' ? host : copyHost;
      const repo2 = makeRepo({
        'README.md': 'x\n',
        'd/f.txt': 'f\n',
        'd/e/g.txt': 'g\n',
        l: { symlink: 'README.md' },
      });
      const sb = h.create(h.snapshotDir(repo2));
      await sh(sb, 'rm README.md && mkdir README.md && echo in > README.md/inner');
      // The rest happens in a fork, above the frozen layer holding the first change.
      const child = await sb.fork();
      await sh(child, 'rm -rf d && echo now-file > d && rm l && mkdir l && echo y > l/z');
      const d = await child.diff();
      assert.deepEqual(diffPaths(d), [
        'README.md',
        'README.md/inner',
        'd',
        'd/e/g.txt',
        'd/f.txt',
        'l',
        'l/z',
      ]);
      assert.match(section(d, 'a/README.md b/README.md'), /deleted file mode 100644/);
      assert.match(section(d, 'a/d b/d'), /new file mode 100644/);
      assert.match(section(d, 'a/d/f.txt'), /deleted file mode 100644/);
      assert.match(section(d, 'a/l b/l'), /deleted file mode 120000/);
      const manifest = await sandboxManifest(child);

      const fresh = h.create(h.snapshotDir(repo2));
      const r = await fresh.applyPatch(d);
      assert.equal(r.ok, true, r.message);
      assert.equal(await fresh.diff(), d);
      assert.equal(await sandboxManifest(fresh), manifest);

      const copy = join(tempDir(), 'copy');
      execFileSync('cp', ['-a', repo2, copy]);
      execFileSync('git', ['apply', '-'], { cwd: copy, input: d });
      assert.equal(hostManifest(copy), manifest);
      for (const x of [fresh, child, sb]) await x.dispose();
    });
  }

  test('a repo whose path overlayfs cannot name (comma) is staged and still works', async () => {
    const repo2 = join(tempDir(), 'my,repo');
    execFileSync('cp', ['-a', repo, repo2]);
    const before = hashTree(repo2);
    const sb = host.create(host.snapshotDir(repo2));
    await sh(sb, 'echo changed > README.md');
    assert.match(await sb.diff(), /^\+changed$/m);
    assert.equal(hashTree(repo2), before);
    await sb.dispose();
  });

  test('a patch that does not apply returns ok:false with git’s message', async () => {
    const sb = host.create(host.snapshotDir(repo));
    const bad = [
      'diff --git a/README.md b/README.md',
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1,1 +1,1 @@',
      '-not what is there',
      '+replacement',
      '',
    ].join('\n');
    const r = await sb.applyPatch(bad);
    assert.equal(r.ok, false);
    assert.match(r.message, /patch failed|does not apply/);
    assert.equal(await sb.diff(), '');
    const garbage = await sb.applyPatch('this is not a patch\n');
    assert.equal(garbage.ok, false);
    assert.match(garbage.message, /No valid patches|error/i);
    await sb.dispose();
  });
});

for (const storage of ['overlay', 'copy'] as const) {
  describe(`fork and snapshot (${storage})`, () => {
    let repo: string;
    const h = () => (storage === 'overlay' ? host : copyHost);

    before(() => {
      repo = makeRepo({
        'README.md': 'hello\n',
        'src/app.py': 'def f():\n    return 1\n',
        'pkg/one.py': '1\n',
        'pkg/two.py': '2\n',
      });
    });

    test('the child sees the parent state and later changes do not leak', async () => {
      const parent = h().create(h().snapshotDir(repo));
      await sh(parent, 'echo parent-1 > state.txt && rm pkg/two.py');
      const child = await parent.fork();
      assert.equal(await sh(child, 'cat state.txt; ls pkg'), 'parent-1\none.py\n');
      assert.equal((await child.readFile('state.txt'))?.toString(), 'parent-1\n');

      await sh(parent, 'echo parent-2 > state.txt && echo p > parent-only.txt');
      await sh(child, 'echo c > child-only.txt && rm README.md && echo 3 > pkg/two.py');
      assert.equal(
        await sh(parent, 'cat state.txt; ls'),
        'parent-2\nREADME.md\nparent-only.txt\npkg\nsrc\nstate.txt\n',
      );
      assert.equal(await sh(parent, 'ls pkg'), 'one.py\n');
      assert.equal(
        await sh(child, 'cat state.txt; ls'),
        'parent-1\nchild-only.txt\npkg\nsrc\nstate.txt\n',
      );
      assert.deepEqual(diffPaths(await parent.diff()), [
        'parent-only.txt',
        'pkg/two.py',
        'state.txt',
      ]);
      assert.deepEqual(diffPaths(await child.diff()), [
        'README.md',
        'child-only.txt',
        'pkg/two.py',
        'state.txt',
      ]);
      assert.match(await child.diff(), /^-2\n\+3$/m);
      await child.dispose();
      // The parent is unaffected by the child's disposal.
      assert.equal(await sh(parent, 'cat state.txt'), 'parent-2\n');
      await parent.dispose();
    });

    test('a chain of 120 forks still mounts (layer paths are kept short)', async (t) => {
      if (h().mode.storage !== 'overlay') {
        t.skip('overlay storage only');
        return;
      }
      let sb = h().create(h().snapshotDir(repo));
      for (let i = 0; i < 120; i++) {
        await sb.writeFile('depth.txt', String(i));
        const next = await sb.fork();
        await sb.dispose();
        sb = next;
      }
      assert.equal(await sh(sb, 'cat depth.txt'), '119');
      assert.match(await sb.diff(), /^\+119$/m);
      await sb.dispose();
    });

    test('forks of forks (3 levels) stack correctly', async () => {
      const root = h().create(h().snapshotDir(repo));
      await sh(root, 'echo 0 > level0.txt');
      const c1 = await root.fork();
      await sh(c1, 'echo 1 > level1.txt && rm -rf pkg');
      const c2 = await c1.fork();
      // A directory deleted one level up and re-created here.
      await sh(c2, 'echo 2 > level2.txt && mkdir pkg && echo new > pkg/new.py');
      const c3 = await c2.fork();
      await sh(c3, 'echo 3 > level3.txt && rm level1.txt');

      assert.equal(
        await sh(c3, 'cat level0.txt level2.txt level3.txt; ls pkg'),
        '0\n2\n3\nnew.py\n',
      );
      assert.equal(await sh(c3, 'ls'), 'README.md\nlevel0.txt\nlevel2.txt\nlevel3.txt\npkg\nsrc\n');
      assert.equal(
        await sh(c2, 'ls; ls pkg'),
        'README.md\nlevel0.txt\nlevel1.txt\nlevel2.txt\npkg\nsrc\nnew.py\n',
      );
      assert.equal(await sh(c1, 'ls'), 'README.md\nlevel0.txt\nlevel1.txt\nsrc\n');
      assert.equal(
        await sh(root, 'ls; ls pkg'),
        'README.md\nlevel0.txt\npkg\nsrc\none.py\ntwo.py\n',
      );
      assert.deepEqual(diffPaths(await c3.diff()), [
        'level0.txt',
        'level2.txt',
        'level3.txt',
        'pkg/new.py',
        'pkg/one.py',
        'pkg/two.py',
      ]);
      assert.deepEqual(diffPaths(await c1.diff()), [
        'level0.txt',
        'level1.txt',
        'pkg/one.py',
        'pkg/two.py',
      ]);
      // The deepest fork's diff replays onto the original snapshot.
      const fresh = h().create(h().snapshotDir(repo));
      const r = await fresh.applyPatch(await c3.diff());
      assert.equal(r.ok, true, r.message);
      assert.equal(await fresh.diff(), await c3.diff());
      for (const sb of [fresh, c3, c2, c1, root]) await sb.dispose();
    });

    test('n solvers each get their own writable copy of a buggy state', async () => {
      const buggy = h().create(h().snapshotDir(repo));
      await sh(buggy, "printf 'def f():\\n    return 0\\n' > src/app.py");
      const bugDiff = await buggy.diff();
      const n = 8;
      const solvers = await Promise.all(Array.from({ length: n }, () => buggy.fork()));
      assert.equal(new Set(solvers.map((s) => s.id)).size, n);
      await Promise.all(
        solvers.map((s, i) =>
          sh(
            s,
            `cat src/app.py > seen.txt && echo 'solver ${i}' > solver.txt && sed -i 's/return 0/return ${i + 10}/' src/app.py`,
          ),
        ),
      );
      for (const [i, s] of solvers.entries()) {
        assert.equal((await s.readFile('seen.txt'))?.toString(), 'def f():\n    return 0\n');
        assert.equal((await s.readFile('solver.txt'))?.toString(), `solver ${i}\n`);
        assert.equal(
          (await s.readFile('src/app.py'))?.toString(),
          `def f():\n    return ${i + 10}\n`,
        );
        const d = await s.diff();
        assert.deepEqual(diffPaths(d), ['seen.txt', 'solver.txt', 'src/app.py']);
        assert.match(d, new RegExp(`^\\+    return ${i + 10}$`, 'm'));
      }
      // The buggy state itself is untouched by its solvers.
      assert.equal(await buggy.diff(), bugDiff);
      for (const s of solvers) await s.dispose();
      await buggy.dispose();
    });

    test('snapshot() + host.create(snapshot)', async () => {
      const sb = h().create(h().snapshotDir(repo));
      const empty = await sb.snapshot();
      await sh(sb, 'echo one > first.txt && rm README.md');
      const snap = await sb.snapshot();
      await sh(sb, 'echo two > second.txt');
      const a = h().create(snap);
      const b = h().create(snap);
      assert.equal(await sh(a, 'ls'), 'first.txt\npkg\nsrc\n');
      await sh(a, 'echo a > a.txt');
      assert.equal(await sh(b, 'ls'), 'first.txt\npkg\nsrc\n');
      assert.deepEqual(diffPaths(await a.diff()), ['README.md', 'a.txt', 'first.txt']);
      assert.deepEqual(diffPaths(await sb.diff()), ['README.md', 'first.txt', 'second.txt']);
      assert.equal(snap.root.sourceDir, repo);
      const e = h().create(empty);
      assert.equal(await e.diff(), '');
      assert.equal(await sh(e, 'ls'), 'README.md\npkg\nsrc\n');
      // The snapshot outlives the sandbox it was taken from.
      await sb.dispose();
      const c = h().create(snap);
      assert.equal(await sh(c, 'cat first.txt'), 'one\n');
      for (const x of [a, b, c, e]) await x.dispose();
    });
  });
}

describe('readFile and writeFile', () => {
  let repo: string;
  before(() => {
    repo = makeRepo({
      'README.md': 'hello\n',
      'src/app.py': 'print(1)\n',
      link: { symlink: '/etc/hostname' },
      dirlink: { symlink: '/etc' },
    });
  });

  for (const storage of ['overlay', 'copy'] as const) {
    test(`reads and writes files in the sandbox (${storage})`, async () => {
      const h = storage === 'overlay' ? host : copyHost;
      const sb = h.create(h.snapshotDir(repo));
      assert.equal((await sb.readFile('README.md'))?.toString(), 'hello\n');
      assert.equal(await sb.readFile('missing.txt'), null);
      assert.equal(await sb.readFile('src/missing/deeper.txt'), null);
      await assert.rejects(async () => sb.readFile('src'), UsageError);

      await sb.writeFile('notes/new file.txt', 'content\n');
      await sb.writeFile('README.md', 'rewritten\n');
      const bytes = Buffer.from([0, 1, 2, 255]);
      await sb.writeFile('bin.dat', bytes);
      assert.equal(
        await sh(sb, 'ls notes; cat "notes/new file.txt" README.md'),
        'new file.txt\ncontent\nrewritten\n',
      );
      assert.equal((await sb.readFile('notes/new file.txt'))?.toString(), 'content\n');
      assert.equal((await sb.readFile('./notes//new file.txt'))?.toString(), 'content\n');
      assert.deepEqual(await sb.readFile('bin.dat'), bytes);
      await sh(sb, 'rm README.md');
      assert.equal(await sb.readFile('README.md'), null);
      assert.deepEqual(diffPaths(await sb.diff()), ['README.md', 'bin.dat', 'notes/new file.txt']);
      await sb.dispose();
    });
  }

  test('paths that escape the repository are refused', async () => {
    const sb = host.create(host.snapshotDir(repo));
    for (const p of ['../x', '/etc/passwd', 'src/../../x', '..', '..\\x']) {
      await assert.rejects(async () => sb.readFile(p), UsageError, `readFile ${p}`);
      await assert.rejects(async () => sb.writeFile(p, 'x'), UsageError, `writeFile ${p}`);
    }
    await assert.rejects(async () => sb.writeFile('', 'x'), UsageError);
    await assert.rejects(async () => sb.writeFile('.', 'x'), UsageError);
    await sb.dispose();
  });

  test('symlinks to host files are not followed', async () => {
    const hostname = readFileSync('/etc/hostname');
    const sb = host.create(host.snapshotDir(repo));
    await assert.rejects(async () => sb.readFile('link'), UsageError);
    await sh(sb, 'ln -s /etc/passwd made-inside');
    await assert.rejects(async () => sb.readFile('made-inside'), UsageError);
    // Through a symlinked directory: nothing (never the host's file).
    let viaDir: Buffer | null | 'threw' = 'threw';
    try {
      viaDir = await sb.readFile('dirlink/hostname');
    } catch {}
    assert.ok(viaDir === null || viaDir === 'threw', 'read a host file through a symlinked dir');
    // Writing through the link hits the read-only /etc inside, not the host.
    await assert.rejects(async () => sb.writeFile('link', 'pwned'), UsageError);
    await assert.rejects(async () => sb.writeFile('dirlink/ssr-pwned', 'pwned'), UsageError);
    assert.deepEqual(readFileSync('/etc/hostname'), hostname);
    assert.equal(existsSync('/etc/ssr-pwned'), false);
    await sb.dispose();
  });
});

describe('hosts without bubblewrap', () => {
  const noBwrap: SandboxCapabilities = {
    bwrap: null,
    overlay: false,
    cgroup: { version: null, pidsParent: null, memoryParent: null },
    notes: ['bubblewrap is not installed'],
  };

  test('refuse to run unsandboxed unless allowed', () => {
    const stateRoot = tempDir();
    assert.throws(
      () => SandboxHost.open({ capabilities: noBwrap, stateRoot }),
      (err: unknown) =>
        err instanceof EnvironmentError &&
        /--unsafe-no-sandbox/.test(err.message) &&
        /bubblewrap is not installed/.test(err.message),
    );
    assert.deepEqual(readdirSync(stateRoot), [], 'the refused host left state behind');
  });

  test('with allowUnsandboxed, run commands directly and warn once', async () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const repo = makeRepo({ 'README.md': 'hello\n' });
    const before = hashTree(repo);
    const a = openHost({ capabilities: noBwrap, allowUnsandboxed: true, warn });
    const b = openHost({ capabilities: noBwrap, allowUnsandboxed: true, warn });
    assert.equal(
      warnings.filter((w) => /WITHOUT a sandbox/.test(w)).length,
      1,
      warnings.join('\n'),
    );
    assert.equal(new Set(warnings).size, warnings.length, `repeated: ${warnings.join('\n')}`);
    // Another sink hears it too, once.
    const other: string[] = [];
    openHost({ capabilities: noBwrap, allowUnsandboxed: true, warn: (m) => other.push(m) });
    assert.equal(other.filter((w) => /WITHOUT a sandbox/.test(w)).length, 1);

    assert.deepEqual(a.mode, {
      isolation: 'none',
      storage: 'copy',
      limits: { processes: false, memory: false },
    });
    const sb = a.create(a.snapshotDir(repo));
    assert.equal(sb.isolation, 'none');
    assert.notEqual(sb.repoPath, '/repo');
    assert.ok(sb.repoPath.startsWith(a.dir), 'commands run in a private copy of the repo');
    process.env.SSR_TEST_SECRET_API_KEY = 'unsandboxed-secret';
    try {
      const r = await sb.exec('pwd; echo changed > README.md; echo new > new.txt; env');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.split('\n')[0], sb.repoPath);
      assert.equal(r.stdout.includes('unsandboxed-secret'), false);
    } finally {
      delete process.env.SSR_TEST_SECRET_API_KEY;
    }
    assert.deepEqual(diffPaths(await sb.diff()), ['README.md', 'new.txt']);
    const child = await sb.fork();
    assert.equal(await sh(child, 'cat new.txt'), 'new\n');
    assert.equal(hashTree(repo), before);
    assert.equal(b.mode.isolation, 'none');
  });
});

describe('cleanup', () => {
  let repo: string;
  before(() => {
    repo = makeRepo({ 'README.md': 'hello\n' });
  });

  test('dispose() removes the sandbox state; a disposed sandbox refuses use', async () => {
    const h = openHost({});
    const sb = h.create(h.snapshotDir(repo));
    await sh(sb, 'echo x > f.txt');
    const child = await sb.fork();
    const stateDir = join(h.dir, sb.id);
    assert.ok(existsSync(stateDir));
    assert.equal(h.liveSandboxes, 2);
    await sb.dispose();
    assert.equal(existsSync(stateDir), false);
    assert.equal(h.liveSandboxes, 1);
    await sb.dispose(); // idempotent
    for (const use of [
      () => sb.exec('true'),
      () => sb.readFile('README.md'),
      () => sb.writeFile('x', 'y'),
      () => sb.diff(),
      () => sb.snapshot(),
      () => sb.fork(),
      () => sb.applyPatch(''),
    ]) {
      await assert.rejects(async () => use(), /disposed/);
    }
    // The fork does not depend on its disposed parent.
    assert.equal(await sh(child, 'cat f.txt'), 'x\n');
  });

  test('close() removes the host directory and every sandbox', async () => {
    const h = SandboxHost.open();
    const sb = h.create(h.snapshotDir(repo));
    await sh(sb, 'echo x > f.txt');
    await sb.fork();
    assert.ok(existsSync(h.dir));
    await h.close();
    assert.equal(existsSync(h.dir), false);
    assert.equal(h.liveSandboxes, 0);
    assert.throws(() => h.create(h.snapshotDir(repo)), /closed/);
    await assert.rejects(async () => sb.exec('true'), /disposed/);
    await h.close(); // idempotent
  });

  test('state left by a dead process is swept by the next host', async () => {
    const stateRoot = tempDir();
    const dead = spawnSync('true').pid;
    assert.ok(dead);
    const stale = join(stateRoot, `h-${dead}-abc`);
    mkdirSync(join(stale, 'layers', 'l1'), { recursive: true });
    writeFileSync(join(stale, 'layers', 'l1', 'file'), 'left behind');
    const live = join(stateRoot, `h-${process.pid}-def`);
    mkdirSync(live);
    const unrelated = join(stateRoot, 'not-a-host');
    mkdirSync(unrelated);

    const h = openHost({ stateRoot });
    assert.equal(existsSync(stale), false, 'stale state was not swept');
    assert.ok(existsSync(live), 'a live process’s state was swept');
    assert.ok(existsSync(unrelated));
    assert.ok(h.dir.startsWith(`${stateRoot}/h-${process.pid}-`));
    await h.close();
    assert.equal(existsSync(h.dir), false);
    assert.ok(existsSync(live));
  });

  test('cgroups left by a dead process are swept by the next host', async (t) => {
    const parent = detectCapabilities().cgroup.pidsParent;
    if (!parent) {
      t.skip('no writable pids cgroup on this machine');
      return;
    }
    const dead = spawnSync('true').pid;
    assert.ok(dead);
    const stale = join(parent, `ssr-${dead}-abcdef-s1`);
    const mine = join(parent, `ssr-${process.pid}-abcdef-s1`);
    mkdirSync(stale);
    mkdirSync(mine);
    try {
      const h = openHost({ stateRoot: tempDir() });
      assert.equal(existsSync(stale), false, 'a dead process’s cgroup was not swept');
      assert.ok(existsSync(mine), 'a live process’s cgroup was swept');
      await h.close();
    } finally {
      for (const d of [stale, mine]) if (existsSync(d)) rmdirSync(d);
    }
  });

  test('a snapshot of a directory that overlaps the state root is refused', () => {
    const stateRoot = join(tempDir(), 'state');
    const h = openHost({ stateRoot });
    assert.throws(() => h.snapshotDir(join(stateRoot, '..')), UsageError);
    assert.throws(() => h.snapshotDir(h.dir), UsageError);
    assert.throws(() => h.snapshotDir(join(tempDir(), 'missing')), UsageError);
  });
});

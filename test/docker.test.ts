/**
 * The Docker backend. No Docker daemon runs on this machine, so these tests drive the backend
 * (dockerode, over a unix socket) against a stand-in engine that speaks the Engine API's wire
 * protocol: JSON endpoints, hijacked exec streams in the multiplexed framing, tar archives.
 * What only a real daemon can show (its cgroup limits, seccomp, image layers, pulls) is not
 * tested here; the README says so.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readArtifact } from '../src/artifact/artifact.js';
import {
  DockerHost,
  type DockerHost as DockerHostType,
  firstTarEntry,
  muxFrame,
  StreamDemuxer,
  tarOneFile,
} from '../src/sandbox/docker.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { validateArtifact } from '../src/validate/validator.js';
import { type FakeDockerEngine, startFakeDockerEngine } from './helpers/fake-docker-engine.js';
import { runCli } from './helpers/validation.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEXTKIT = join(ROOT, 'examples/repos/textkit');
const ARTIFACT = join(ROOT, 'examples/artifacts/textkit-wrap-width');

let work: string;
let engine: FakeDockerEngine;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ssr-docker-'));
  engine = await startFakeDockerEngine(join(work, 'engine'));
  const image = join(work, 'image-textkit');
  mkdirSync(image);
  cpSync(TEXTKIT, join(image, 'testbed'), { recursive: true });
  engine.addImage('textkit', image);
});

after(async () => {
  await engine.close();
  rmSync(work, { recursive: true, force: true });
});

describe('wire formats', () => {
  test('the demuxer splits stdout and stderr whatever the chunk boundaries', () => {
    const stream = Buffer.concat([
      muxFrame(1, Buffer.from('out one\n')),
      muxFrame(2, Buffer.from('err\n')),
      muxFrame(1, Buffer.from('out two\n')),
    ]);
    // Every split point, including inside headers.
    for (let cut = 0; cut <= stream.length; cut++) {
      const got = { stdout: '', stderr: '' };
      const d = new StreamDemuxer((which, chunk) => {
        got[which] += chunk.toString();
      });
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      assert.deepEqual(got, { stdout: 'out one\nout two\n', stderr: 'err\n' }, `cut at ${cut}`);
    }
  });

  test('a one-file tar reads back; names with a slash are refused', () => {
    const data = Buffer.from('x'.repeat(1000));
    const entry = firstTarEntry(tarOneFile('f.txt', data, { mode: 0o755 }));
    assert.equal(entry?.name, 'f.txt');
    assert.equal(entry?.mode, 0o755);
    assert.deepEqual(entry?.data, data);
    assert.throws(() => tarOneFile('a/b', data), /not supported/);
  });
});

describe('without a daemon', () => {
  test('connect says no daemon answers, in one line', async () => {
    await assert.rejects(
      DockerHost.connect({ socketPath: join(work, 'none.sock'), connectTimeoutMs: 2000 }),
      (err: Error) => {
        assert.match(err.message, /^no Docker daemon at unix:\/\/.*none\.sock/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
    );
  });

  test('ssr validate --docker exits 2 with one line when the daemon is missing', async () => {
    const r = await runCli([
      'validate',
      ARTIFACT,
      '--docker',
      'textkit',
      '--docker-socket',
      join(work, 'none.sock'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim(), /^ssr: no Docker daemon at /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

test('--docker with --repo is a usage error naming the choice', async () => {
  const r = await runCli(['validate', ARTIFACT, '--repo', TEXTKIT, '--docker', 'textkit']);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^ssr: name the repository with --repo <dir> or --image <path> \(or --docker <image>\), once\n$/,
  );
});

describe('sandboxes as containers', () => {
  let host: DockerHostType;
  let snapshot: Snapshot;

  before(async () => {
    host = await DockerHost.connect({ socketPath: engine.socketPath });
    snapshot = await host.snapshotImage('textkit');
  });

  after(async () => {
    await host.close();
  });

  test('an image that is not present is a usage error naming docker pull', async () => {
    await assert.rejects(host.snapshotImage('nosuch:1.0'), /not present; pull it first/);
  });

  test('containers are asked for no network, memory and process limits, no capabilities', async () => {
    const sb = host.create(snapshot);
    await sb.exec('true');
    const c = [...engine.containers.values()].find((x) => x.name === sb.id);
    assert.ok(c, 'container exists while the sandbox lives');
    const hc = c.config.HostConfig as Record<string, unknown>;
    assert.equal(hc.NetworkMode, 'none');
    assert.equal(typeof hc.Memory, 'number');
    assert.equal(hc.MemorySwap, hc.Memory);
    assert.equal(typeof hc.PidsLimit, 'number');
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
    assert.equal(c.labels['ssr.host'], host.id);
    await sb.dispose();
    assert.equal(
      [...engine.containers.values()].some((x) => x.name === sb.id),
      false,
      'dispose removes the container',
    );
  });

  test('exec: exit code, stdout and stderr apart, stdin, working directory, environment', async () => {
    const sb = host.create(snapshot);
    try {
      const r = await sb.exec('pwd; echo oops >&2; echo "$FOO"; exit 3', { env: { FOO: 'bar' } });
      assert.equal(r.exitCode, 3);
      assert.equal(r.stdout, '/testbed\nbar\n');
      assert.equal(r.stderr, 'oops\n');
      assert.equal(r.timedOut, false);
      assert.equal((await sb.exec('cat', { stdin: 'from stdin' })).stdout, 'from stdin');
      assert.equal((await sb.exec('pwd', { cwd: 'src' })).stdout, '/testbed/src\n');
      await assert.rejects(sb.exec('pwd', { cwd: '../etc' }), /escapes the repository/);
    } finally {
      await sb.dispose();
    }
  });

  test('a command that never ends is killed at its timeout, with what it started', async () => {
    const sb = host.create(snapshot);
    try {
      const r = await sb.exec('(sleep 60 &); sleep 60', { timeoutMs: 1000 });
      assert.equal(r.timedOut, true);
      assert.equal(r.exitCode, null);
      assert.ok(r.durationMs < 10_000, `returned after ${r.durationMs} ms`);
      const after = await sb.exec('ps -e -o comm= | grep -c sleep || true');
      assert.equal(after.stdout.trim(), '0', 'no sleep survives');
    } finally {
      await sb.dispose();
    }
  });

  test('dispose kills a running command instead of waiting for it', async () => {
    const sb = host.create(snapshot);
    await sb.exec('true');
    const running = sb.exec('sleep 60', { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await sb.dispose();
    assert.ok(performance.now() - t0 < 10_000, 'dispose did not wait for the sleep');
    await assert.rejects(running, (err: Error) => {
      assert.equal(err.name, 'ExecKilledError');
      assert.match(err.message, /was disposed/);
      return true;
    });
    await assert.rejects(sb.exec('true'), /disposed/);
  });

  test('huge output is kept head and tail, and counted', async () => {
    const sb = host.create(snapshot);
    try {
      const r = await sb.exec('head -c 50000000 /dev/zero | tr "\\0" a; echo END', {
        maxOutputBytes: 4096,
      });
      assert.equal(r.exitCode, 0);
      assert.equal(r.truncated, true);
      assert.equal(r.stdoutBytes, 50_000_004);
      assert.ok(r.stdout.length < 10_000);
      assert.ok(r.stdout.trimEnd().endsWith('END'));
    } finally {
      await sb.dispose();
    }
  });

  test('files: write, read back, keep modes, refuse escapes; diff against the image', async () => {
    const sb = host.create(snapshot);
    try {
      await sb.writeFile('src/deep/new.js', 'export const x = 1;\n');
      assert.equal(String(await sb.readFile('src/deep/new.js')), 'export const x = 1;\n');
      assert.equal(await sb.readFile('src/missing.js'), null);
      await assert.rejects(sb.writeFile('../etc/passwd', 'x'), /escapes the repository/);
      await assert.rejects(sb.readFile('/etc/passwd'), /escapes the repository/);
      await sb.exec('chmod +x src/wrap.js');
      await sb.writeFile('src/wrap.js', '// replaced\n');
      assert.equal((await sb.exec('test -x src/wrap.js')).exitCode, 0, 'mode kept');
      const diff = await sb.diff();
      assert.match(diff, /diff --git a\/src\/deep\/new\.js b\/src\/deep\/new\.js\nnew file mode/);
      assert.match(diff, /old mode 100644\nnew mode 100755/);
      assert.match(diff, /\+\/\/ replaced/);
      assert.doesNotMatch(diff, /\.ssr/, 'the backend state is not part of the diff');
    } finally {
      await sb.dispose();
    }
  });

  test('patches apply, check and reverse; a bad one names itself', async () => {
    const sb = host.create(snapshot);
    try {
      const bug = readFileSync(join(ARTIFACT, 'bug_inject.diff'), 'utf8');
      assert.equal((await sb.applyPatch(bug, { check: true })).ok, true);
      assert.equal(await sb.diff(), '', '--check changes nothing');
      const bad = bug.replace(/^-.*$/m, '-this line is not there');
      const r = await sb.applyPatches([bug, bad]);
      assert.equal(r.ok, false);
      assert.equal(r.failedIndex, 2);
      assert.equal((await sb.applyPatch(bug, { reverse: true })).ok, true);
      assert.equal(await sb.diff(), '');
    } finally {
      await sb.dispose();
    }
  });

  test('forks of forks start from their parent and stay apart', async () => {
    const a = host.create(snapshot);
    await a.writeFile('NOTE', 'a\n');
    const b = await a.fork();
    await b.exec('echo b >> NOTE');
    const c = await b.fork();
    await c.exec('echo c >> NOTE');
    await a.exec('echo a2 >> NOTE');
    try {
      assert.equal(String(await a.readFile('NOTE')), 'a\na2\n');
      assert.equal(String(await b.readFile('NOTE')), 'a\nb\n');
      assert.equal(String(await c.readFile('NOTE')), 'a\nb\nc\n');
      assert.match(await c.diff(), /\+a\n\+b\n\+c\n/);
      assert.match(await c.diff({ against: 'start' }), / a\n b\n\+c\n/);
    } finally {
      for (const sb of [c, b, a]) await sb.dispose();
    }
  });

  test('an exposed host file is readable inside and follows changes on the host', async () => {
    const sb = host.create(snapshot);
    const file = join(work, 'parser.py');
    try {
      writeFileSync(file, 'print("one")\n');
      const inside = sb.exposeFile(file, 'parser.py');
      assert.equal((await sb.exec(`cat ${inside}`)).stdout, 'print("one")\n');
      writeFileSync(file, 'print("two, longer")\n');
      assert.equal((await sb.exec(`cat ${inside}`)).stdout, 'print("two, longer")\n');
    } finally {
      await sb.dispose();
    }
  });

  test('the seven checks run with containers as sandboxes', async () => {
    const report = await validateArtifact(readArtifact(ARTIFACT), { host, snapshot });
    assert.equal(report.valid, true, JSON.stringify(report.failedCheck));
    assert.equal(report.sandbox.isolation, 'docker');
    assert.equal(report.baseline?.passed.length, 16);
  });

  test('check 1 asks the container whether oracle files exist', async () => {
    const art = readArtifact(ARTIFACT);
    const missing = { ...art, testFiles: ['test/nope.test.js'] };
    const r1 = await validateArtifact(missing, { host, snapshot });
    assert.equal(r1.failedCheck?.key, 'files');
    assert.match(r1.failedCheck?.message ?? '', /test\/nope\.test\.js does not exist/);
    const dir = { ...art, testFiles: ['test'] };
    const r2 = await validateArtifact(dir, { host, snapshot });
    assert.match(r2.failedCheck?.message ?? '', /test is a dir, not a regular file/);
  });

  test('close removes every container and image it made, and only those', async () => {
    const h = await DockerHost.connect({ socketPath: engine.socketPath });
    const snap = await h.snapshotImage('textkit');
    const sb = h.create(snap);
    await (await sb.fork()).exec('true');
    const mine = () =>
      [...engine.containers.values()].filter((c) => c.labels['ssr.host'] === h.id).length +
      [...new Set(engine.images.values())].filter((i) => i.labels['ssr.host'] === h.id).length;
    assert.ok(mine() > 0);
    await h.close();
    assert.equal(mine(), 0);
    assert.ok(
      [...engine.images.values()].some((i) => i.refs.has('textkit:latest')),
      "the user's image stays",
    );
  });
});

test('ssr validate --docker validates the example artifact in containers', async () => {
  const r = await runCli([
    'validate',
    ARTIFACT,
    '--docker',
    'textkit',
    '--docker-socket',
    engine.socketPath,
    '--json',
    '--baseline-runs',
    '1',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.valid, true);
  assert.equal(report.sandbox.isolation, 'docker');
  const leftovers = [...engine.containers.values()].filter((c) => c.labels.ssr === '1');
  assert.equal(leftovers.length, 0, 'the CLI cleans up its containers');
});

// With a real daemon (not on this project's machines), the same operations against a real
// image: SSR_TEST_DOCKER_IMAGE names one that has bash, coreutils, git and a repo at
// SSR_TEST_DOCKER_REPO_PATH (default /testbed), e.g. a SWE-bench evaluation image.
const realImage = process.env.SSR_TEST_DOCKER_IMAGE;
const realSkip = !realImage
  ? 'no real Docker daemon here: set SSR_TEST_DOCKER_IMAGE (and DOCKER_HOST) to run against one'
  : false;

test('a real daemon: exec, files, diff, fork and clean-up', { skip: realSkip }, async () => {
  const h = await DockerHost.connect();
  try {
    const snap = await h.snapshotImage(realImage!, {
      repoPath: process.env.SSR_TEST_DOCKER_REPO_PATH ?? '/testbed',
    });
    const sb = h.create(snap);
    assert.equal((await sb.exec('echo hi; exit 4')).exitCode, 4);
    assert.equal((await sb.exec('sleep 30', { timeoutMs: 1000 })).timedOut, true);
    await sb.writeFile('SSR_PROBE.txt', 'probe\n');
    assert.match(await sb.diff(), /\+probe/);
    const child = await sb.fork();
    assert.equal(String(await child.readFile('SSR_PROBE.txt')), 'probe\n');
    assert.equal(
      (await child.exec('getent hosts example.com || echo offline')).stdout.trim(),
      'offline',
    );
  } finally {
    await h.close();
  }
});

test('ssr solve --docker: a scripted solver fixes the bug in a container and is graded solved', async () => {
  const { startScriptedServer } = await import('./helpers/scripted-openai-server.js');
  const call = (name: string, args: unknown) => ({
    toolCalls: [{ name, arguments: JSON.stringify(args) }],
  });
  const fix = call('editor', {
    command: 'str_replace',
    path: 'src/wrap.js',
    old_str: 'line.length + 1 + word.length < width',
    new_str: 'line.length + 1 + word.length <= width',
  });
  const server = await startScriptedServer([
    // What a cheating solver would look for: history, or the original code anywhere it can read.
    call('bash', {
      command:
        "git log --oneline | wc -l; ls -A /.ssr | tr '\\n' ' '; echo; " +
        'grep -rlF "word.length <= width" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr --exclude-dir=etc 2>/dev/null | wc -l',
    }),
    fix,
    call('submit', {}),
  ]);
  const out = join(work, 'solve-out');
  try {
    const r = await runCli([
      'solve',
      ARTIFACT,
      '--docker',
      'textkit',
      '--docker-socket',
      engine.socketPath,
      '--model',
      server.baseURL,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.solved, 1);
    assert.equal(summary.solveRate, 1);
    const attempt = JSON.parse(readFileSync(join(out, 'attempt-1.json'), 'utf8'));
    const first = attempt.trajectory.turns[0].tools[0].output as string;
    assert.match(
      first,
      /^\[exit code 0\]\n1\nfiles tmp \n0\n/,
      'one fresh commit; nothing of the original kept where the solver can read it',
    );
    assert.match(
      attempt.patch,
      /^\+ {4}\} else if \(line\.length \+ 1 \+ word\.length <= width\) \{$/m,
    );
  } finally {
    await server.close();
  }
  const leftovers = [...engine.containers.values()].filter((c) => c.labels.ssr === '1');
  assert.equal(leftovers.length, 0, 'the CLI cleans up its containers');
});

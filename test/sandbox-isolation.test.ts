// Escape attempts against the local sandbox. Every one must be refused or contained, and
// none may leave a trace on the host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type LocalSandbox, SandboxHost } from '../src/sandbox/index.js';
import { ExecKilledError } from '../src/sandbox/spawn.js';
import {
  digitTag,
  eventually,
  hashTree,
  makeRepo,
  processesWith,
  removeTempDirs,
  sleep,
  unique,
} from './helpers/sandbox-repo.js';

const MiB = 1024 * 1024;

let host: SandboxHost;
/** Small limits for the fork bomb and the memory hog. */
let limited: SandboxHost;
let repo: string;

before(() => {
  host = SandboxHost.open();
  limited = SandboxHost.open({ limits: { maxProcesses: 64, memoryBytes: 256 * MiB } });
  repo = makeRepo(
    {
      'README.md': 'hello\n',
      'src/app.py': 'def f():\n    return 1\n',
      'run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
      'etc-link': { symlink: '/etc' },
    },
    { git: true },
  );
});

after(async () => {
  await host?.close();
  await limited?.close();
  removeTempDirs();
});

/** Cgroup directories of this process's sandboxes (pids and memory controllers). */
function sandboxCgroups(): string[] {
  const out: string[] = [];
  const { pidsParent, memoryParent } = limited.capabilities.cgroup;
  for (const parent of [pidsParent, memoryParent]) {
    if (!parent) continue;
    for (const name of readdirSync(parent)) {
      if (name.startsWith(`ssr-${process.pid}-`)) out.push(join(parent, name));
    }
  }
  return out.sort();
}

function sandbox(h = host) {
  return h.create(h.snapshotDir(repo));
}

describe('sandbox isolation', () => {
  test('the host provides full isolation on this machine', () => {
    // Everything below assumes the real sandbox; a silent fallback would make them vacuous.
    assert.equal(host.mode.isolation, 'bwrap');
    assert.equal(host.mode.storage, 'overlay');
    assert.deepEqual(limited.mode.limits, { processes: true, memory: true });
  });

  test('writes outside the workspace fail and leave nothing on the host', async () => {
    const sb = sandbox();
    const tag = `ssr-escape-${unique()}`;
    const refused = [
      `/usr/${tag}`,
      `/usr/local/${tag}`,
      `/etc/${tag}`,
      `/var/${tag}`,
      `/opt/${tag}`,
      `/${tag}`,
      // The repo's and the sandbox state's host paths are not there inside.
      join(repo, tag),
      join(host.dir, tag),
      // Through a symlink committed in the repo.
      `etc-link/${tag}`,
    ];
    for (const target of refused) {
      const r = await sb.exec(`echo pwned > '${target}'`);
      assert.notEqual(r.exitCode, 0, `writing ${target} should fail: ${r.stderr}`);
    }
    // /tmp inside is the sandbox's own directory: writes succeed there but not on the host.
    const hostTmp = join(tmpdir(), tag);
    const t = await sb.exec(`echo pwned > '${hostTmp}' && cat '${hostTmp}'`);
    assert.equal(t.stdout, 'pwned\n');
    // Re-creating the repo's host path inside only writes into the sandbox's private /tmp.
    const m = await sb.exec(`mkdir -p '${repo}' && echo pwned > '${join(repo, 'README.md')}'`);
    assert.equal(m.exitCode, 0, m.stderr);

    for (const target of [...refused.filter((p) => p.startsWith('/')), hostTmp]) {
      assert.equal(existsSync(target), false, `${target} appeared on the host`);
    }
    assert.equal(existsSync(join('/etc', tag)), false);
    assert.equal(readFileSync(join(repo, 'README.md'), 'utf8'), 'hello\n');
    await sb.dispose();
  });

  test('host files under /tmp are invisible inside', async () => {
    const hostFile = join(tmpdir(), `ssr-visible-${unique()}`);
    writeFileSync(hostFile, 'host-only-content');
    try {
      const sb = sandbox();
      const r = await sb.exec(`cat '${hostFile}'; ls -a /tmp`);
      assert.notEqual(r.stdout.includes('host-only-content'), true);
      assert.match(r.stderr, /No such file/);
      assert.equal(r.stdout.includes('ssr-visible-'), false);
      await sb.dispose();
    } finally {
      rmSync(hostFile, { force: true });
    }
  });

  for (const forceCopy of [false, true]) {
    test(`the original repo is never modified (${forceCopy ? 'copy' : 'overlay'} storage)`, async () => {
      const h = forceCopy ? SandboxHost.open({ forceCopy: true }) : host;
      try {
        const before = hashTree(repo);
        const sb = sandbox(h);
        const script = [
          'echo changed > README.md',
          'echo more >> src/app.py',
          'rm run.sh',
          'chmod 600 src/app.py',
          'chmod 777 src',
          'touch -d 2001-01-01 README.md',
          'mkdir -p new/dir && echo x > new/dir/f',
          'rm -rf .git/hooks',
          'git -c user.name=x -c user.email=x@y commit -qam inside || true',
          'ln -sfn /tmp etc-link',
          'truncate -s 0 src/app.py',
        ].join(' && ');
        const r = await sb.exec(script);
        assert.equal(r.exitCode, 0, r.stderr);
        const child = await sb.fork();
        const c = await child.exec('rm -rf src README.md && echo child > child.txt');
        assert.equal(c.exitCode, 0, c.stderr);
        // The sandbox did change (the hash check below is not vacuous).
        assert.match(await sb.diff(), /deleted file mode 100755/);
        assert.equal(hashTree(repo), before);
        await child.dispose();
        await sb.dispose();
        assert.equal(hashTree(repo), before);
      } finally {
        if (h !== host) await h.close();
      }
    });
  }

  test('the host home directory and /etc/shadow cannot be read', async () => {
    const home = homedir();
    const secretFile = join(home, `.ssr-test-secret-${unique()}`);
    const secret = `home-secret-${unique()}`;
    writeFileSync(secretFile, secret, { mode: 0o644 });
    try {
      const sb = sandbox();
      const r = await sb.exec(`cat '${secretFile}'; ls -a '${home}' /root; cat /etc/shadow`);
      assert.equal(r.stdout.includes(secret), false);
      assert.equal(r.stdout.includes('.ssr-test-secret-'), false);
      assert.match(r.stderr, /\.ssr-test-secret-.*No such file/);
      // The masked shadow file reads as nothing (or not at all): no host password hashes.
      const shadow = readFileSync('/etc/shadow', 'utf8').split('\n')[0] ?? '';
      if (shadow) assert.equal(r.stdout.includes(shadow), false);
      assert.equal(/^root:/m.test(r.stdout), false);
      await sb.dispose();
    } finally {
      rmSync(secretFile, { force: true });
    }
  });

  test('secrets in the host environment are not visible inside', async () => {
    const secret = `sk-ssr-test-${unique()}`;
    process.env.SSR_TEST_SECRET_API_KEY = secret;
    try {
      const sb = sandbox();
      const r = await sb.exec(
        `env; cat /proc/self/environ /proc/1/environ /proc/${process.pid}/environ 2>/dev/null | tr '\\0' '\\n'`,
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stdout, /^PATH=/m);
      assert.equal(r.stdout.includes(secret), false);
      assert.equal(r.stdout.includes('SSR_TEST_SECRET_API_KEY'), false);
      assert.match(r.stdout, /^HOME=\/tmp$/m);
      // Variables passed explicitly do arrive.
      const e = await sb.exec('echo "$GIVEN"', { env: { GIVEN: 'yes' } });
      assert.equal(e.stdout, 'yes\n');
      await sb.dispose();
    } finally {
      delete process.env.SSR_TEST_SECRET_API_KEY;
    }
  });

  test('no network: only loopback exists and outside connections fail', async () => {
    const sb = sandbox();
    const ifaces = await sb.exec(`tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '`);
    assert.equal(ifaces.stdout.trim(), 'lo');
    // Connect only when there is no route at all, so a broken sandbox cannot send traffic
    // anywhere (192.0.2.1 is TEST-NET-1, reserved for documentation, besides).
    const guard = '[ "$(wc -l < /proc/net/route)" -le 1 ] || { echo HAS_ROUTE; exit 99; }';
    const py = await sb.exec(
      `${guard}; python3 -c "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2); print('CONNECTED')"`,
      { timeoutMs: 20_000 },
    );
    assert.equal(py.stdout.includes('HAS_ROUTE'), false);
    assert.equal(py.stdout.includes('CONNECTED'), false);
    assert.notEqual(py.exitCode, 0);
    assert.match(py.stderr, /Network is unreachable/);
    const tcp = await sb.exec(`${guard}; echo hi > /dev/tcp/192.0.2.1/80 && echo CONNECTED`, {
      timeoutMs: 20_000,
    });
    assert.equal(tcp.stdout.includes('CONNECTED'), false);
    assert.notEqual(tcp.exitCode, 0);
    // Loopback works, so local test servers can still run.
    const lo = await sb.exec(
      `python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
c = socket.create_connection(s.getsockname(), timeout=2); a, _ = s.accept()
c.sendall(b'ping'); print(a.recv(4).decode())"`,
      { timeoutMs: 20_000 },
    );
    assert.equal(lo.stdout, 'ping\n', lo.stderr);
    await sb.dispose();
  });

  test('the process limit stops forking at limits.maxProcesses', async () => {
    const sb = sandbox(limited);
    const r = await sb.exec(
      `python3 -c "
import os, time
n = 0
try:
    for i in range(500):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print('refused after', n)
"`,
      { timeoutMs: 30_000 },
    );
    assert.equal(r.timedOut, false);
    const m = /refused after (\d+)/.exec(r.stdout);
    assert.ok(m, `forking was never refused: ${r.stdout} ${r.stderr}`);
    const n = Number(m[1]);
    assert.ok(n > 0 && n < 64, `forked ${n} processes`);
    await sb.dispose();
  });

  test('a fork bomb is contained and leaves no process behind', async () => {
    const sb = sandbox(limited);
    const marker = digitTag();
    const started = Date.now();
    const running = sb.exec(`: ${marker}; :(){ :|:& };:; sleep 60.${marker}`, {
      timeoutMs: 4000,
      maxOutputBytes: 64 * 1024,
    });
    // While it runs, the host still works and the bomb is held under its limit.
    await sleep(1500);
    const alive = spawnSync('sh', ['-c', 'echo alive'], { timeout: 10_000 });
    assert.equal(alive.stdout?.toString(), 'alive\n');
    const pidsParent = limited.capabilities.cgroup.pidsParent!;
    const groups = sb.cgroupPaths;
    const pidsGroups = groups.filter((g) => g.startsWith(pidsParent));
    assert.equal(pidsGroups.length, 1, `no pids cgroup for the sandbox: ${groups.join(' ')}`);
    for (const g of groups) assert.ok(sandboxCgroups().includes(g), `${g} is not a live cgroup`);
    assert.equal(readFileSync(join(pidsGroups[0]!, 'pids.max'), 'utf8').trim(), '64');
    const current = Number(readFileSync(join(pidsGroups[0]!, 'pids.current'), 'utf8'));
    assert.ok(current > 3 && current <= 64, `pids.current ${current}`);
    const r = await running;
    assert.ok(r.timedOut || r.exitCode !== 0, 'the bomb should time out or fail');
    assert.ok(Date.now() - started < 4000 + 15_000, 'the bomb was not cut off');
    assert.ok(
      await eventually(() => processesWith(marker).length === 0, 5000),
      `bomb processes survived: ${processesWith(marker).join(' ')}`,
    );
    // The same host keeps working afterwards.
    const next = sandbox(limited);
    assert.equal((await next.exec('echo fine')).stdout, 'fine\n');
    await next.dispose();
    await sb.dispose();
    // Disposal removed the sandbox's cgroups (they can only go once no process is left).
    for (const g of groups) assert.ok(!sandboxCgroups().includes(g), `${g} outlived its sandbox`);
  });

  test('processes left in the background are killed when the command returns', async () => {
    const sb = sandbox();
    const tag = String(Date.now() % 1_000_000).padStart(6, '0') + String(process.pid);
    const marker = (i: number) => `1000.${tag}${i}`;
    const started = Date.now();
    const r = await sb.exec(
      [
        `sleep ${marker(1)} &`,
        `nohup sleep ${marker(2)} >/dev/null 2>&1 &`,
        `setsid sleep ${marker(3)} >/dev/null 2>&1 < /dev/null &`,
        `(setsid sh -c 'sleep ${marker(4)}' >/dev/null 2>&1 < /dev/null &) &`,
        `setsid -f sleep ${marker(5)} >/dev/null 2>&1 < /dev/null`,
        'echo started',
      ].join('\n'),
      { timeoutMs: 60_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'started\n');
    assert.equal(r.timedOut, false);
    assert.ok(Date.now() - started < 30_000, 'exec waited for background processes');
    assert.ok(
      await eventually(() => processesWith(`1000.${tag}`).length === 0, 5000),
      `background processes survived: ${processesWith(`1000.${tag}`).join(' ')}`,
    );
    await sb.dispose();
  });

  for (const [name, command] of [
    ['sleep', 'sleep 1000.MARK'],
    ['busy loop ignoring SIGTERM', `trap '' TERM INT HUP; while :; do :; done`],
  ] as const) {
    test(`a command that never ends is killed at timeoutMs (${name})`, async () => {
      const sb = sandbox();
      const marker = digitTag();
      const started = Date.now();
      const running = sb.exec(`: ${marker}; ${command.replace('MARK', marker)}`, {
        timeoutMs: 1500,
      });
      // Positive control: while it runs, the marker is visible in the host's process table.
      assert.ok(await eventually(() => processesWith(marker).length > 0, 1000));
      const r = await running;
      const elapsed = Date.now() - started;
      assert.equal(r.timedOut, true);
      assert.notEqual(r.exitCode, 0);
      assert.ok(elapsed >= 1400, `returned before the timeout (${elapsed} ms)`);
      assert.ok(elapsed < 1500 + 10_000, `not cut off promptly (${elapsed} ms)`);
      assert.ok(
        await eventually(() => processesWith(marker).length === 0, 5000),
        'the timed-out command survived',
      );
      await sb.dispose();
    });
  }

  test('huge output is truncated, counted, and does not grow memory', async () => {
    const sb = sandbox();
    const total = 300_000_000;
    const limit = 64 * 1024;
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let r: Awaited<ReturnType<typeof sb.exec>>;
    try {
      r = await sb.exec(
        `head -c ${total} /dev/zero | tr '\\0' 'a'; yes err | head -c 5000000 >&2`,
        {
          maxOutputBytes: limit,
          timeoutMs: 60_000,
        },
      );
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(r.exitCode, 0, r.stderr.slice(0, 200));
    assert.equal(r.timedOut, false);
    assert.equal(r.truncated, true);
    assert.equal(r.stdoutBytes, total);
    assert.equal(r.stderrBytes, 5_000_000);
    assert.ok(Buffer.byteLength(r.stdout) <= limit + 200, `kept ${r.stdout.length} bytes`);
    assert.ok(Buffer.byteLength(r.stderr) <= limit + 200);
    assert.ok(r.stdout.startsWith('aaaa'));
    assert.ok(r.stdout.endsWith('aaaa'));
    assert.match(r.stdout, /omitted/);
    const growth = (peak - rssBefore) / MiB;
    assert.ok(growth < 150, `RSS grew by ${growth.toFixed(0)} MiB`);
    await sb.dispose();
  });

  test('a JVM sizes its heap from the sandbox memory limit, not the host memory', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v java']).status !== 0) return t.skip('no java');
    const small = SandboxHost.open({ limits: { memoryBytes: 512 * MiB } });
    try {
      const sb = small.create(small.snapshotDir(repo));
      const r = await sb.exec(
        'java -XX:+PrintFlagsFinal -version 2>/dev/null | grep " MaxHeapSize "',
        {
          timeoutMs: 60_000,
        },
      );
      await sb.dispose();
      const heap = Number(/MaxHeapSize\s+=\s+(\d+)/.exec(r.stdout)?.[1]);
      // The JVM's default, a quarter of what it takes for the machine's memory.
      assert.equal(heap, 128 * MiB, r.stdout + r.stderr);
    } finally {
      await small.close();
    }
  });

  test('a process over limits.memoryBytes is killed and the host is unaffected', async () => {
    const sb = sandbox(limited);
    const r = await sb.exec(`python3 -c "s = b'a' * (1024 ** 3); print('survived', len(s))"`, {
      timeoutMs: 30_000,
    });
    assert.equal(r.stdout.includes('survived'), false);
    assert.ok(r.exitCode !== 0 || r.signal !== null, 'the memory hog exited normally');
    assert.equal(r.timedOut, false);
    // A modest allocation under the limit still works on the same host.
    const ok = await sandbox(limited).exec(
      `python3 -c "s = b'a' * (32 * 1024 ** 2); print('ok', len(s))"`,
      { timeoutMs: 30_000 },
    );
    assert.equal(ok.stdout, `ok ${32 * MiB}\n`, ok.stderr);
    await sb.dispose();
    // The OOM kill left nothing that keeps the sandbox's cgroups alive.
    for (const g of sb.cgroupPaths)
      assert.ok(!sandboxCgroups().includes(g), `${g} outlived its sandbox`);
    const ofLimited = () =>
      sandboxCgroups().filter((g) => g.includes(`-${limited.dir.slice(-6)}-`));
    assert.ok(ofLimited().length > 0, 'the second sandbox is still open');
    await limited.close();
    assert.deepEqual(ofLimited(), [], 'cgroups outlived their host');
  });

  test('an exposed host file is readable but not writable', async () => {
    const dir = join(tmpdir(), `ssr-expose-${unique()}`);
    writeFileSync(dir, 'exposed content');
    try {
      const sb = sandbox();
      const inside = sb.exposeFile(dir, 'input.txt');
      const r = await sb.exec(`cat ${inside}; echo overwrite > ${inside}`);
      assert.equal(r.stdout, 'exposed content');
      assert.notEqual(r.exitCode, 0);
      assert.equal(readFileSync(dir, 'utf8'), 'exposed content');
      await sb.dispose();
    } finally {
      rmSync(dir, { force: true });
    }
  });
});

describe('dispose() kills what the sandbox runs', () => {
  /** Disposes `sb` while `running` is in flight; returns how long dispose() took. */
  async function disposeDuring(
    sb: LocalSandbox,
    running: Promise<unknown>,
  ): Promise<{ ms: number; error: unknown }> {
    const settled = running.then(
      () => ({ error: null }),
      (error: unknown) => ({ error }),
    );
    const started = Date.now();
    await sb.dispose();
    const { error } = await settled;
    return { ms: Date.now() - started, error };
  }

  test('a running command is killed, its exec rejects at once, nothing is left', async () => {
    const sb = sandbox();
    const marker = digitTag();
    const stateDir = join(host.dir, sb.id);
    const groups = sb.cgroupPaths;
    assert.ok(groups.length > 0, 'no cgroup to check');
    const running = sb.exec(`echo begun; sleep 60.${marker}`, { timeoutMs: 60_000 });
    // A queued operation behind it is refused, not run.
    const queued = sb.exec(`touch /tmp/never; sleep 61.${marker}`, { timeoutMs: 60_000 });
    // Positive control: the sleep runs on the host before dispose.
    assert.ok(await eventually(() => processesWith(`60.${marker}`).length > 0, 10_000));
    // The sleep running does not mean this process has read the echo from its pipe yet (on a
    // loaded machine it sometimes had not): give the event loop a moment to drain it.
    await new Promise((r) => setTimeout(r, 300));
    const { ms, error } = await disposeDuring(sb, running);
    assert.ok(ms < 5000, `dispose took ${ms} ms (the command sleeps 60 s)`);
    assert.ok(error instanceof ExecKilledError, `exec settled with ${String(error)}`);
    assert.match(error.message, new RegExp(`sandbox ${sb.id} was disposed`));
    assert.equal(error.result.exitCode, null);
    assert.equal(error.result.signal, 'SIGKILL');
    assert.equal(error.result.timedOut, false);
    assert.equal(error.result.stdout, 'begun\n', 'output until the kill is kept');
    await assert.rejects(queued, /disposed/);
    assert.deepEqual(processesWith(marker), [], 'a process survived dispose()');
    for (const g of groups) assert.equal(existsSync(g), false, `${g} outlived its sandbox`);
    assert.equal(existsSync(stateDir), false);
    await assert.rejects(async () => sb.exec('true'), /disposed/);
  });

  for (const isolated of [true, false]) {
    test(`background processes of earlier commands are gone too (${isolated ? 'bwrap' : 'unsandboxed, cgroup only'})`, async () => {
      // Without bubblewrap a setsid'd process escapes the command's process group and outlives
      // the command; only the sandbox's cgroup still knows it, and dispose() kills from there.
      const h = isolated
        ? host
        : SandboxHost.open({
            capabilities: { ...host.capabilities, bwrap: null, overlay: false },
            allowUnsandboxed: true,
            warn: () => {},
          });
      try {
        const sb = sandbox(h);
        const marker = digitTag();
        const first = await sb.exec(
          [
            `sleep 1000.${marker}1 &`,
            `setsid sleep 1000.${marker}2 >/dev/null 2>&1 < /dev/null &`,
            `(setsid sh -c 'sleep 1000.${marker}3' >/dev/null 2>&1 < /dev/null &) &`,
            'echo started',
          ].join('\n'),
          { timeoutMs: 60_000 },
        );
        assert.equal(first.stdout, 'started\n', first.stderr);
        if (!isolated) {
          // Positive control: the escaped ones are still running after their command ended.
          assert.ok(
            await eventually(() => processesWith(`1000.${marker}`).length > 0, 2000),
            'nothing escaped the command: the test proves nothing',
          );
        }
        const running = sb.exec(`sleep 60.${marker}`, { timeoutMs: 60_000 });
        assert.ok(await eventually(() => processesWith(`60.${marker}`).length > 0, 10_000));
        const { ms, error } = await disposeDuring(sb, running);
        assert.ok(ms < 5000, `dispose took ${ms} ms`);
        assert.ok(error instanceof ExecKilledError, String(error));
        assert.ok(
          await eventually(() => processesWith(marker).length === 0, 2000),
          `survived dispose(): ${processesWith(marker).join(' ')}`,
        );
        for (const g of sb.cgroupPaths) assert.equal(existsSync(g), false, `${g} is left`);
      } finally {
        if (!isolated) await h.close();
      }
    });
  }

  test('close() kills running commands of every sandbox at once', async () => {
    const h = SandboxHost.open();
    const marker = digitTag();
    const a = sandbox(h);
    const b = sandbox(h);
    const runs = [a, b].map((sb, i) =>
      sb.exec(`sleep 60.${marker}${i}`, { timeoutMs: 60_000 }).catch((e: unknown) => e),
    );
    assert.ok(await eventually(() => processesWith(marker).length >= 2, 10_000));
    const started = Date.now();
    await h.close();
    const ms = Date.now() - started;
    assert.ok(ms < 5000, `close took ${ms} ms`);
    for (const r of await Promise.all(runs)) assert.ok(r instanceof ExecKilledError, String(r));
    assert.deepEqual(processesWith(marker), []);
  });
});

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What this host lets the local backend do; probed once per process. */
export interface SandboxCapabilities {
  /** Path of bubblewrap, or null when it is not installed or cannot create namespaces. */
  bwrap: string | null;
  /** Kernel overlayfs can be mounted in a private mount namespace (needs root or a userns). */
  overlay: boolean;
  /** cgroup directories (v1 controllers or a v2 group) we may create children in. */
  cgroup: CgroupSupport;
  /** Human-readable reasons for anything missing, for `ssr doctor` and the fallback warning. */
  notes: string[];
}

export interface CgroupSupport {
  version: 1 | 2 | null;
  /** Parent directory for per-sandbox pids groups (v1) or the v2 parent group. */
  pidsParent: string | null;
  memoryParent: string | null;
}

let cached: SandboxCapabilities | undefined;

export function detectCapabilities(): SandboxCapabilities {
  cached ??= probe();
  return cached;
}

function which(cmd: string): string | null {
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin', '/usr/sbin', '/sbin']) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

function probe(): SandboxCapabilities {
  const notes: string[] = [];
  let bwrap = which('bwrap');
  if (!bwrap) {
    notes.push('bubblewrap is not installed (Debian/Ubuntu: apt-get install -y bubblewrap)');
  } else {
    try {
      execFileSync(bwrap, ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-net', 'true'], {
        stdio: 'pipe',
        timeout: 10_000,
      });
    } catch (err) {
      notes.push(`bubblewrap cannot create namespaces here: ${firstLine(err)}`);
      bwrap = null;
    }
  }
  const overlay = probeOverlay(notes);
  const cgroup = probeCgroups(notes);
  return { bwrap, overlay, cgroup, notes };
}

function probeOverlay(notes: string[]): boolean {
  const unshare = which('unshare');
  const mount = which('mount');
  if (!unshare || !mount) {
    notes.push('util-linux unshare/mount not found: overlay forks unavailable');
    return false;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ssr-probe-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'lower', 'f'), 'x');
    const opts = `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    execFileSync(
      unshare,
      [
        '--mount',
        '--propagation',
        'private',
        mount,
        '-t',
        'overlay',
        'overlay',
        '-o',
        opts,
        `${dir}/merged`,
      ],
      { stdio: 'pipe', timeout: 10_000 },
    );
    return true;
  } catch (err) {
    notes.push(`overlayfs cannot be mounted (forks will copy the repo): ${firstLine(err)}`);
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function probeCgroups(notes: string[]): CgroupSupport {
  const none: CgroupSupport = { version: null, pidsParent: null, memoryParent: null };
  try {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      const own = ownCgroupPath('');
      const parent = join('/sys/fs/cgroup', own);
      const controllers = readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8');
      if (!controllers.includes('pids') && !controllers.includes('memory')) {
        notes.push('cgroup v2: pids/memory controllers not delegated: no process or memory limits');
        return none;
      }
      return canCreate(parent)
        ? {
            version: 2,
            pidsParent: controllers.includes('pids') ? parent : null,
            memoryParent: controllers.includes('memory') ? parent : null,
          }
        : none;
    }
    const v1 = (controller: string): string | null => {
      const root = join('/sys/fs/cgroup', controller);
      if (!existsSync(root)) return null;
      const parent = join(root, ownCgroupPath(controller));
      return canCreate(parent) ? parent : null;
    };
    const pidsParent = v1('pids');
    const memoryParent = v1('memory');
    if (!pidsParent) notes.push('cgroup pids controller not writable: no process-count limit');
    if (!memoryParent) notes.push('cgroup memory controller not writable: no memory limit');
    return { version: pidsParent || memoryParent ? 1 : null, pidsParent, memoryParent };
  } catch (err) {
    notes.push(`cgroups unavailable: ${firstLine(err)}`);
    return none;
  }
}

function ownCgroupPath(controller: string): string {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, ctrls, path] = line.split(':');
    if (ctrls === undefined || path === undefined) continue;
    if (controller === '' ? ctrls === '' : ctrls.split(',').includes(controller)) return path;
  }
  return '/';
}

function canCreate(parent: string): boolean {
  const probeDir = join(parent, `ssr-probe-${process.pid}`);
  try {
    mkdirSync(probeDir);
    // A cgroup directory is removed with rmdir even though it lists control files.
    rmdirSync(probeDir);
    return true;
  } catch {
    return false;
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer; message?: string };
  const text = e.stderr?.toString().trim() || e.message || String(err);
  return text.split('\n')[0] ?? text;
}

/** For tests: forget the probe so a changed environment is seen. */
export function resetCapabilitiesCache(): void {
  cached = undefined;
}

import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupSupport } from './capabilities.js';

export interface SandboxLimits {
  /** Most processes/threads alive at once in one sandbox (fork bombs stop here). */
  maxProcesses: number;
  /** Memory (RSS + page cache) of one sandbox, in bytes; the kernel OOM-kills inside it. */
  memoryBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  maxProcesses: 1024,
  memoryBytes: 4 * 1024 ** 3,
};

/** The cgroups one sandbox's processes join; `procsFiles` are written with the wrapper's pid. */
export interface SandboxCgroup {
  procsFiles: string[];
  enforced: { processes: boolean; memory: boolean };
  /**
   * SIGKILLs every process in the groups, whatever its process group, session or PID
   * namespace (`cgroup.kill` where the kernel has it, else each pid until none is left).
   * Returns how many processes were signalled (0 where `cgroup.kill` did the work).
   */
  killAll(): number;
  /** Removes the groups, waiting (blocking) briefly for killed processes to leave. */
  remove(): void;
  /** The same without blocking the event loop. */
  removeAsync(): Promise<void>;
}

export function createSandboxCgroup(
  support: CgroupSupport,
  name: string,
  limits: SandboxLimits,
): SandboxCgroup {
  const dirs: string[] = [];
  const procsFiles: string[] = [];
  const enforced = { processes: false, memory: false };
  const make = (parent: string | null, apply: (dir: string) => void): boolean => {
    if (!parent) return false;
    const existing = dirs.find((d) => d === join(parent, name));
    const dir = existing ?? join(parent, name);
    try {
      if (!existing) {
        mkdirSync(dir);
        dirs.push(dir);
        procsFiles.push(join(dir, 'cgroup.procs'));
      }
      apply(dir);
      return true;
    } catch {
      return false;
    }
  };
  if (support.version === 1) {
    enforced.processes = make(support.pidsParent, (d) =>
      writeFileSync(join(d, 'pids.max'), String(limits.maxProcesses)),
    );
    enforced.memory = make(support.memoryParent, (d) =>
      writeFileSync(join(d, 'memory.limit_in_bytes'), String(limits.memoryBytes)),
    );
  } else if (support.version === 2) {
    enforced.processes = make(support.pidsParent, (d) =>
      writeFileSync(join(d, 'pids.max'), String(limits.maxProcesses)),
    );
    enforced.memory = make(support.memoryParent, (d) =>
      writeFileSync(join(d, 'memory.max'), String(limits.memoryBytes)),
    );
  }
  return {
    procsFiles,
    enforced,
    killAll: () => killAllIn(dirs),
    async removeAsync() {
      for (const dir of dirs) {
        for (let i = 0; i < 200; i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      }
    },
    remove() {
      for (const dir of dirs) {
        // Killed processes leave the group a moment after the kill; retry briefly.
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(dir);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
        }
      }
    },
  };
}

function killAllIn(dirs: string[]): number {
  let signalled = 0;
  for (const dir of dirs) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      continue;
    } catch {
      // cgroup v1, or a v2 kernel older than 5.14: kill pid by pid.
    }
    // A process may fork between reading the list and the kill; its child joins the group,
    // so reading again finds it. The pids limit bounds how many rounds this can take.
    for (let round = 0; round < 100; round++) {
      let pids: number[];
      try {
        pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        break;
      }
      const alive = pids.filter((pid) => pid > 0 && pid !== process.pid);
      if (alive.length === 0) break;
      for (const pid of alive) {
        try {
          process.kill(pid, 'SIGKILL');
          signalled++;
        } catch {
          // Gone already.
        }
      }
    }
  }
  return signalled;
}

/**
 * Removes sandbox cgroups (`ssr-<pid>-...`) of ssr processes that no longer run: a process
 * killed with SIGKILL cannot remove its own. Groups still holding processes stay.
 */
export function sweepStaleCgroups(support: CgroupSupport, isAlive: (pid: number) => boolean): void {
  for (const parent of new Set([support.pidsParent, support.memoryParent])) {
    if (!parent) continue;
    let names: string[] = [];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^ssr-(\d+)-/.exec(name);
      if (!m || isAlive(Number(m[1]))) continue;
      try {
        rmdirSync(join(parent, name));
      } catch {}
    }
  }
}

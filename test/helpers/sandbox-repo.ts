// Helpers shared by the sandbox tests: small repos in temp dirs, tree hashes and manifests,
// and a look at the host's process table.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Sandbox } from '../../src/sandbox/index.js';

export type RepoEntry = string | { data: string; mode?: number } | { symlink: string };

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir, removed by `removeTempDirs`. */
export function tempDir(prefix = 'ssr-sbx-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function unique(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Ten random digits: a marker that fits in `sleep 1000.<digits>`, so even a process that bash
 * exec'd directly (losing the `bash -c` command line) still carries it.
 */
export function digitTag(): string {
  return String(randomBytes(5).readUIntBE(0, 5)).padStart(10, '0').slice(-10);
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'ssr test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'ssr test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], {
    cwd,
    env: GIT_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/** Writes `files` into `dir` (created), optionally as a git repo with one commit. */
export function writeRepo(
  dir: string,
  files: Record<string, RepoEntry>,
  opts: { git?: boolean } = {},
): string {
  mkdirSync(dir, { recursive: true });
  for (const [rel, entry] of Object.entries(files)) {
    const abs = join(dir, rel);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof entry === 'string') {
      writeFileSync(abs, entry);
    } else if ('symlink' in entry) {
      symlinkSync(entry.symlink, abs);
    } else {
      writeFileSync(abs, entry.data);
      if (entry.mode !== undefined) chmodSync(abs, entry.mode);
    }
  }
  if (opts.git) {
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'initial');
  }
  return dir;
}

/** A new repo in its own temp dir. */
export function makeRepo(files: Record<string, RepoEntry>, opts: { git?: boolean } = {}): string {
  return writeRepo(join(tempDir(), 'repo'), files, opts);
}

/** Hash of everything in a tree: names, types, modes, mtimes, contents, link targets. */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const top = lstatSync(dir);
  h.update(`.\0${top.mode}\0${top.mtimeMs}\0`);
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = join(dir, p);
      const st = lstatSync(abs);
      h.update(`${p}\0${st.mode}\0${st.mtimeMs}\0${st.size}\0${st.uid}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(abs));
      else if (st.isDirectory()) walk(p);
      else h.update(readFileSync(abs));
      h.update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}

/**
 * Python that lists every file and symlink of the tree in the current directory (not .git,
 * not caches) as `kind exec-bit sha256-or-target path`, sorted. Runs the same on the host and
 * inside a sandbox, so the two trees can be compared.
 */
const MANIFEST_PY = `
import hashlib, os, stat, sys
out = []
for root, dirs, files in os.walk('.'):
    rel_root = os.path.relpath(root, '.')
    if rel_root == '.':
        dirs[:] = [d for d in dirs if d != '.git']
    dirs[:] = [d for d in dirs if d not in ('__pycache__', '.pytest_cache')]
    for name in dirs + files:
        p = os.path.normpath(os.path.join(rel_root, name))
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out.append('l - %s %s' % (os.readlink(p), p))
        elif stat.S_ISREG(st.st_mode):
            if p.endswith('.pyc'):
                continue
            with open(p, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            out.append('f %s %s %s' % ('x' if st.st_mode & 0o100 else '-', digest, p))
sys.stdout.write('\\n'.join(sorted(out)) + '\\n')
`;

export function hostManifest(dir: string): string {
  return execFileSync('python3', ['-c', MANIFEST_PY], {
    cwd: dir,
    env: { ...process.env, PYTHONIOENCODING: 'utf-8', LC_ALL: 'C.UTF-8' },
  }).toString();
}

export async function sandboxManifest(sb: Sandbox): Promise<string> {
  const r = await sb.exec('python3 -', { stdin: MANIFEST_PY, timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new Error(`manifest failed: ${r.stderr}`);
  return r.stdout;
}

/** Host pids whose command line contains `marker` (this process excluded). */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmdline.includes(marker)) out.push(Number(name));
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds or `ms` passed; returns whether it held. */
export async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await sleep(50);
  }
}

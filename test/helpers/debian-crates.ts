/**
 * Real Rust crates from Debian's librust-*-dev packages (`apt-get download`, unpacked with
 * dpkg), cached under os.tmpdir()/ssr-fixtures: fnv 1.0.7 has no dependencies and keeps its
 * unit tests in a `#[cfg(test)] mod test` of lib.rs, so it runs offline with `cargo test`.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = join(tmpdir(), 'ssr-fixtures');

/** Builds `CACHE/name` once (in a private folder renamed into place). */
export function cached(name: string, build: (dir: string) => void): string {
  const dest = join(CACHE, name);
  if (existsSync(dest)) return dest;
  mkdirSync(CACHE, { recursive: true });
  const staging = mkdtempSync(join(CACHE, `.${name}-`));
  try {
    build(staging);
    renameSync(staging, dest);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dest)) throw err;
  }
  return dest;
}

/** A Debian package's files (`apt-get download` + `dpkg -x`), unpacked once: the root of its tree. */
export function debianPackage(name: string): string {
  const root = cached(`deb-${name}`, (dir) => {
    const download = () =>
      execFileSync('apt-get', ['download', '-q', name], { cwd: dir, stdio: 'pipe' });
    try {
      download();
    } catch {
      // The package lists may be missing (a fresh machine): read them once, then try again.
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe', timeout: 300_000 });
      download();
    }
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'))!;
    execFileSync('dpkg', ['-x', deb, 'x'], { cwd: dir, stdio: 'pipe' });
  });
  return join(root, 'x');
}

/** The crate's source from Debian's librust-fnv-dev (usr/share/cargo/registry/fnv-<ver>/). */
export function fnvSource(): string {
  const registry = join(debianPackage('librust-fnv-dev'), 'usr/share/cargo/registry');
  return join(registry, readdirSync(registry).find((d) => d.startsWith('fnv-'))!);
}

const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
};

/** `git` in `dir` with a fixed identity and date and no user or system config. */
export function fixtureGit(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd: dir,
    stdio: 'pipe',
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV },
  });
}

/** The fnv crate as a git repository of one commit (target/ and Cargo.lock ignored). */
export function fnvRepo(): string {
  return cached('fnv-crate-repo', (dir) => {
    cpSync(fnvSource(), dir, { recursive: true });
    writeFileSync(join(dir, '.gitignore'), 'target/\nCargo.lock\n');
    fixtureGit(dir, 'init', '-q');
    fixtureGit(dir, 'add', '-A');
    fixtureGit(dir, 'commit', '-q', '--no-gpg-sign', '-m', 'fnv crate');
  });
}

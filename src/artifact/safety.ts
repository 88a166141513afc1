import { lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { FilePatch } from './patch.js';

/** Why a path may not appear in an artifact, or null when it is fine. */
export function unsafePathReason(p: string): string | null {
  if (p === '') return 'empty path';
  if (p.startsWith('/')) return `absolute path ${p}`;
  if (p.includes('\0')) return 'path with a NUL byte';
  const parts = p.split('/');
  if (parts.includes('..')) return `path ${p} escapes the repository (..)`;
  if (parts.some((x) => x === '.git')) return `path ${p} touches git metadata (.git)`;
  if (posix.normalize(p) !== p || parts.includes('.') || parts.includes('')) {
    return `path ${p} is not in normal form`;
  }
  return null;
}

/** Answers "is this repo-relative path a symlink?" for the original repo state. */
export type SymlinkProbe = (rel: string) => boolean;

/** A probe over a plain host directory. */
export function dirSymlinkProbe(repoDir: string): SymlinkProbe {
  return (rel) => {
    try {
      return lstatSync(join(repoDir, rel)).isSymbolicLink();
    } catch {
      return false;
    }
  };
}

/**
 * Where a path would lead outside plain files of the repo: through a symlink (a write could
 * land anywhere the link points) or onto one.
 */
export function symlinkReason(p: string, isSymlink: SymlinkProbe): string | null {
  const parts = p.split('/');
  for (let k = 1; k <= parts.length; k++) {
    const prefix = parts.slice(0, k).join('/');
    if (isSymlink(prefix)) {
      return k === parts.length
        ? `${p} is a symlink in the repository`
        : `${p} goes through the symlink ${prefix} in the repository`;
    }
  }
  return null;
}

/** Problems that make a patch unacceptable before any attempt to apply it. */
export function patchSafetyProblems(
  files: FilePatch[],
  isSymlink: SymlinkProbe,
  label: string,
): string[] {
  const problems: string[] = [];
  for (const f of files) {
    const name = f.newPath ?? f.oldPath ?? '?';
    for (const p of [f.oldPath, f.newPath]) {
      if (p === null) continue;
      const r = unsafePathReason(p) ?? symlinkReason(p, isSymlink);
      if (r) problems.push(`${label}: ${r}`);
    }
    if (f.binary)
      problems.push(`${label}: binary patch for ${name} (only text changes are allowed)`);
    for (const mode of [f.oldMode, f.newMode]) {
      if (mode === '120000')
        problems.push(`${label}: ${name} would become or stay a symlink (mode 120000)`);
      if (mode === '160000') problems.push(`${label}: ${name} is a submodule (mode 160000)`);
    }
  }
  return [...new Set(problems)];
}

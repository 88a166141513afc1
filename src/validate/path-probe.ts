import { shellQuote } from '../sandbox/local.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import { EnvironmentError } from '../util/errors.js';

export type PathKind = 'file' | 'dir' | 'symlink' | 'other';

/** Every proper prefix and the path itself: `a/b/c` -> `a`, `a/b`, `a/b/c`. */
export function withPrefixes(paths: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out];
}

/**
 * What each repo-relative path is in the original repository, asked of a sandbox: for
 * backends (a Docker daemon) whose snapshots are not host directories ssr can stat. One
 * command for all paths; a missing path maps to null. Paths are checked safe by the caller.
 */
export async function probePathKinds(
  host: SandboxProvider,
  snapshot: Snapshot,
  paths: string[],
): Promise<Map<string, PathKind | null>> {
  const kinds = new Map<string, PathKind | null>();
  if (paths.length === 0) return kinds;
  const script =
    `for p in ${paths.map(shellQuote).join(' ')}; do ` +
    'if [ -L "$p" ]; then k=symlink; elif [ -f "$p" ]; then k=file; ' +
    'elif [ -d "$p" ]; then k=dir; elif [ -e "$p" ]; then k=other; else k=none; fi; ' +
    `printf '%s\\0' "$k"; done`;
  const sb = host.create(snapshot);
  try {
    const r = await sb.exec(script, { timeoutMs: 60_000, maxOutputBytes: 16 * paths.length + 64 });
    const out = r.stdout.split('\0').slice(0, -1);
    if (r.exitCode !== 0 || out.length !== paths.length) {
      throw new EnvironmentError(
        `could not inspect the original repository's paths: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      );
    }
    for (const [i, p] of paths.entries()) {
      kinds.set(p, out[i] === 'none' ? null : (out[i] as PathKind));
    }
    return kinds;
  } finally {
    await sb.dispose();
  }
}

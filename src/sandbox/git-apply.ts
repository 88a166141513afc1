import type { ExecResult } from './spawn.js';
import type { ApplyResult } from './types.js';

export interface ApplyOptions {
  check?: boolean;
  reverse?: boolean;
}

/**
 * The commands that apply patch files (paths as the sandbox sees them) in order, stopping at
 * the first that fails and naming it (1-based) on stderr for applyOutcome.
 * GIT_DIR=/nonexistent: plain patch mode. Inside the repository, git would read its config and
 * attributes and run its filter drivers, i.e. commands the repository chose.
 */
export function gitApplyScript(files: string[], opts: ApplyOptions = {}): string {
  const flags = ['--whitespace=nowarn'];
  if (opts.check) flags.push('--check');
  if (opts.reverse) flags.push('--reverse');
  return files
    .map(
      (f, i) =>
        `GIT_DIR=/nonexistent git apply ${flags.join(' ')} ${f} || { echo "ssr-failed-patch ${i + 1}" >&2; exit 1; }`,
    )
    .join('\n');
}

/** What a run of gitApplyScript says: applied, or git's message and which patch failed. */
export function applyOutcome(r: ExecResult): ApplyResult & { failedIndex?: number } {
  if (r.timedOut) return { ok: false, message: 'git apply timed out' };
  const failed = /ssr-failed-patch (\d+)/.exec(r.stderr);
  const message = r.stderr.replace(/ssr-failed-patch \d+\n?/, '').trim() || r.stdout.trim();
  return r.exitCode === 0
    ? { ok: true, message }
    : { ok: false, message, ...(failed ? { failedIndex: Number(failed[1]) } : {}) };
}

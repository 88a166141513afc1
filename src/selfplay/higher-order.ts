import type { Artifact } from '../artifact/artifact.js';
import { PatchError, parsePatch, touchedPaths } from '../artifact/patch.js';
import { unsafePathReason } from '../artifact/safety.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import { sha256 } from '../util/hash.js';

/** The id of the bug made from `parentId` and a failed patch: stable, so a rerun finds it. */
export function higherOrderId(parentId: string, failedPatch: string): string {
  return `${parentId}-ho${sha256(failedPatch).slice(0, 8)}`;
}

/**
 * A higher-order bug (SSR-SPEC 7): the parent bug with a failed solver attempt's patch on top,
 * as one bug_inject.diff against the original; oracle tests, weakening, script and parser stay
 * the parent's. Edits to oracle test files are dropped (grading resets them anyway). Returns
 * null when nothing new comes out: an empty patch, or one that only touched oracle files or
 * undid nothing the parent changed.
 */
export async function composeHigherOrder(opts: {
  host: SandboxHost;
  original: Snapshot;
  parent: Artifact;
  failedPatch: string;
  createdBy: string;
}): Promise<Artifact | null> {
  const { parent } = opts;
  if (!opts.failedPatch.trim()) return null;
  let files: ReturnType<typeof parsePatch>;
  try {
    files = parsePatch(opts.failedPatch, 'failed patch');
  } catch (err) {
    if (err instanceof PatchError) return null;
    throw err;
  }
  const oracle = new Set(parent.testFiles);
  const kept = files
    .filter((f) => {
      const paths = touchedPaths([f]);
      return !paths.some((p) => oracle.has(p) || unsafePathReason(p));
    })
    .map((f) => f.raw)
    .join('');
  if (!kept) return null;
  const sb = opts.host.create(opts.original);
  try {
    const applied = await sb.applyPatches([parent.bugDiff, kept]);
    if (!applied.ok) return null;
    const bugDiff = await sb.diff();
    if (!bugDiff.trim() || bugDiff === parent.bugDiff) return null;
    return {
      ...parent,
      bugDiff,
      metadata: {
        ...parent.metadata,
        id: higherOrderId(parent.metadata.id, opts.failedPatch),
        parent: parent.metadata.id,
        order: parent.metadata.order + 1,
        createdBy: opts.createdBy,
        createdAt: new Date().toISOString(),
        notes: `order ${parent.metadata.order + 1}: ${parent.metadata.id} plus a failed solver patch`,
      },
    };
  } finally {
    await sb.dispose();
  }
}

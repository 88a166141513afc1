import type { Artifact } from '../artifact/artifact.js';
import {
  inlineOraclePaths,
  patchSections,
  readTexts,
  restoreInlineTests,
  wholeOraclePaths,
} from '../artifact/oracle-regions.js';
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
 * the parent's. Edits to oracle test files are dropped (grading resets them anyway); in a file
 * with inline oracle tests (`<path>#inline-tests`) the edits to its code part are kept and its
 * test regions reset to the original's. Returns
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
  const oracle = wholeOraclePaths(parent.testFiles);
  const inline = inlineOraclePaths(parent.testFiles);
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
    if (inline.length) {
      // The failed patch was made on the solver's start state: bug + weakening.
      const originals = new Map<string, string>();
      for (const [p, text] of await readTexts(sb, inline)) originals.set(p, text ?? '');
      const weakened = patchSections(parent.weakenDiff, 'test_weaken.diff', (ps) =>
        ps.some((p) => inline.includes(p)),
      );
      const setUp = await sb.applyPatches([parent.bugDiff, weakened].filter(Boolean));
      if (!setUp.ok) return null;
      const before = await readTexts(sb, inline);
      if (!(await sb.applyPatch(kept)).ok) return null;
      await restoreInlineTests(sb, originals, before);
    } else {
      const applied = await sb.applyPatches([parent.bugDiff, kept]);
      if (!applied.ok) return null;
    }
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

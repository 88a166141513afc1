/**
 * Check 1 (files): everything that can be known about an artifact without running its tests.
 * The oracle test files must exist in the original, both diffs must parse, be safe, keep to
 * their own side of the oracle (the bug outside it, the weakening inside it) and apply. It
 * runs first so that no test run is spent on an artifact that cannot be set up.
 */
import type { Artifact } from '../artifact/artifact.js';
import {
  findInlineTestRegions,
  type InlineTestRegion,
  inlineOraclePaths,
  inlineScopeProblems,
  inlineTestsEntry,
  type OracleEntry,
  oracleEntries,
  readTexts,
  wholeOraclePaths,
} from '../artifact/oracle-regions.js';
import { type FilePatch, parsePatch, touchedPaths } from '../artifact/patch.js';
import { patchSafetyProblems, type SymlinkProbe, unsafePathReason } from '../artifact/safety.js';
import { LayerStack } from '../sandbox/layers.js';
import type { Sandbox } from '../sandbox/types.js';
import { errorMessage } from '../util/errors.js';
import { type PathKind, probePathKinds, withPrefixes } from './path-probe.js';
import { fail, type ValidationRun } from './validation-run.js';

export type PathKindOf = (rel: string) => PathKind | null;

/**
 * Check 1, its parts in the order their failures are reported (cheap reads before the one
 * sandbox). Leaves the parsed diffs in `run`: checks 4 and 7 measure and split the bug's.
 */
export async function checkFiles(run: ValidationRun): Promise<string> {
  const { artifact } = run;
  const entries = safeOracleEntries(artifact.testFiles);
  const kindOf = await originalPathKinds(run, entries);
  requireRegularFiles(entries, kindOf);
  const { bugFiles, weakenFiles } = parseArtifactDiffs(
    artifact,
    (rel) => kindOf(rel) === 'symlink',
  );
  run.bugFiles = bugFiles;
  run.weakenFiles = weakenFiles;
  const inline = inlineOraclePaths(artifact.testFiles);
  const sb = run.host.create(run.snapshot);
  try {
    const regions = await inlineTestRegions(await readTexts(sb, inline));
    const scope = [
      ...inlineScopeProblems('bug_inject.diff', bugFiles, regions),
      ...inlineScopeProblems('test_weaken.diff', weakenFiles, regions),
    ];
    if (scope.length) fail(scope.join('; '));
    await requireDiffsApply(sb, artifact, bugFiles, weakenFiles);
  } finally {
    await sb.dispose();
  }
  const regionNote = inline.length ? ` (${inline.length} with inline-test regions only)` : '';
  return `${entries.length} oracle test file(s)${regionNote}; bug changes ${touchedPaths(bugFiles).length} file(s); both diffs apply`;
}

/** test_files.txt's entries, once it is known to name some and none escapes the repository. */
export function safeOracleEntries(testFiles: readonly string[]): OracleEntry[] {
  if (testFiles.length === 0) fail('test_files.txt lists no test files');
  const entries = oracleEntries(testFiles);
  for (const { path } of entries) {
    const why = unsafePathReason(path);
    if (why) fail(`test_files.txt: ${why}`);
  }
  return entries;
}

/**
 * What paths are in the original: read from the snapshot's host layers, or, for a backend
 * whose snapshots are not host directories, asked of a sandbox once for the oracle files and
 * every path the diffs touch (and their parent directories).
 */
export async function originalPathKinds(
  run: Pick<ValidationRun, 'artifact' | 'host' | 'snapshot'>,
  entries: readonly OracleEntry[],
): Promise<PathKindOf> {
  const { host, snapshot } = run;
  if (snapshot.layers.length > 0) {
    const original = new LayerStack([...snapshot.layers]);
    return (rel) => original.resolve(rel)?.kind ?? null;
  }
  const kinds = await probePathKinds(
    host,
    snapshot,
    withPrefixes([...entries.map((e) => e.path), ...touchedIfParsable(run.artifact)]),
  );
  return (rel) => kinds.get(rel) ?? null;
}

/** Safe paths both diffs touch, if they parse (errors are reported by check 1 in its turn). */
function touchedIfParsable(artifact: Artifact): string[] {
  try {
    const files = [
      ...parsePatch(artifact.bugDiff, 'bug_inject.diff'),
      ...parsePatch(artifact.weakenDiff, 'test_weaken.diff'),
    ];
    return touchedPaths(files).filter((p) => !unsafePathReason(p));
  } catch {
    return [];
  }
}

/** Every oracle test file is a regular file of the original repository. */
export function requireRegularFiles(entries: readonly OracleEntry[], kindOf: PathKindOf): void {
  for (const { path: f } of entries) {
    const kind = kindOf(f);
    if (!kind) fail(`test_files.txt: ${f} does not exist in the original repository`);
    if (kind !== 'file') fail(`test_files.txt: ${f} is a ${kind}, not a regular file`);
  }
}

/**
 * Both diffs, parsed (a PatchError if one does not), once they are safe to apply and each
 * keeps to its side of the oracle: the bug touches no whole oracle test file, the weakening
 * only oracle test files (files with inline tests are checked by region later).
 */
export function parseArtifactDiffs(
  artifact: Pick<Artifact, 'bugDiff' | 'weakenDiff' | 'testFiles'>,
  isSymlink: SymlinkProbe,
): { bugFiles: FilePatch[]; weakenFiles: FilePatch[] } {
  const bugFiles = parsePatch(artifact.bugDiff, 'bug_inject.diff');
  const weakenFiles = parsePatch(artifact.weakenDiff, 'test_weaken.diff');
  const problems = [
    ...patchSafetyProblems(bugFiles, isSymlink, 'bug_inject.diff'),
    ...patchSafetyProblems(weakenFiles, isSymlink, 'test_weaken.diff'),
  ];
  if (problems.length) fail(problems.join('; '));
  const whole = wholeOraclePaths(artifact.testFiles);
  const inline = inlineOraclePaths(artifact.testFiles);
  const bugTouchesTests = touchedPaths(bugFiles).filter((p) => whole.has(p));
  if (bugTouchesTests.length) {
    fail(`bug_inject.diff touches oracle test file(s): ${bugTouchesTests.join(', ')}`);
  }
  const weakenOutside = touchedPaths(weakenFiles).filter(
    (p) => !whole.has(p) && !inline.includes(p),
  );
  if (weakenOutside.length) {
    fail(`test_weaken.diff touches file(s) not in test_files.txt: ${weakenOutside.join(', ')}`);
  }
  return { bugFiles, weakenFiles };
}

/**
 * The inline-test regions of each file with inline oracle tests, from its original text: the
 * bug must stay outside them and the weakening inside (see artifact/oracle-regions.ts). A
 * file that does not parse or has no such regions cannot serve as an oracle.
 */
export async function inlineTestRegions(
  texts: Map<string, string | null>,
): Promise<Map<string, InlineTestRegion[]>> {
  const regions = new Map<string, InlineTestRegion[]>();
  for (const [f, text] of texts) {
    const entry = inlineTestsEntry(f);
    let found: InlineTestRegion[];
    try {
      found = await findInlineTestRegions(f, text ?? '');
    } catch (err) {
      return fail(`test_files.txt: ${entry}: ${errorMessage(err)}`);
    }
    if (!found.length) {
      fail(
        `test_files.txt: ${entry}: ${f} has no inline-test regions (Rust: #[cfg(test)] items and #[test] functions; Python: docstrings with >>> examples)`,
      );
    }
    regions.set(f, found);
  }
  return regions;
}

/**
 * Each diff applies to the original (checked in one command, nothing written), and where
 * both change a file, the weakening applies on top of the bug: the solver's start state.
 */
export async function requireDiffsApply(
  sb: Pick<Sandbox, 'applyPatches'>,
  artifact: Pick<Artifact, 'bugDiff' | 'weakenDiff'>,
  bugFiles: FilePatch[],
  weakenFiles: FilePatch[],
): Promise<void> {
  const r = await sb.applyPatches([artifact.bugDiff, artifact.weakenDiff], { check: true });
  if (!r.ok) {
    const which = r.failedIndex === 2 ? 'test_weaken.diff' : 'bug_inject.diff';
    fail(`${which} does not apply to the repository: ${r.message}`);
  }
  const shared = touchedPaths(weakenFiles).filter((p) => touchedPaths(bugFiles).includes(p));
  if (shared.length) {
    const both = await sb.applyPatches([artifact.bugDiff, artifact.weakenDiff]);
    if (!both.ok) {
      fail(
        `test_weaken.diff does not apply on top of bug_inject.diff (both change ${shared.join(', ')}; keep their hunks 3+ lines apart): ${both.message}`,
      );
    }
  }
}

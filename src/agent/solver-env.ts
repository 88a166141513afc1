import type { Artifact } from '../artifact/artifact.js';
import {
  inlineOraclePaths,
  inlineTestsEntry,
  patchSections,
  readTexts,
  restoreInlineTests,
  wholeOraclePaths,
} from '../artifact/oracle-regions.js';
import { PatchError, parsePatch, touchedPaths } from '../artifact/patch.js';
import { patchSafetyProblems, unsafePathReason } from '../artifact/safety.js';
import type { Sandbox, SandboxProvider, Snapshot } from '../sandbox/types.js';
import { didPass, passedIds, type TestMap } from '../testing/results.js';
import { runTests, stageHarness, type TestRunOptions } from '../testing/run-tests.js';
import type { Baseline } from '../validate/baseline.js';

/**
 * The solver's specification (SSR-SPEC section 4): the reverse of test_weaken.diff, i.e. the
 * test changes that would catch the bug. No natural-language issue exists.
 */
export function reverseDiff(diff: string): string {
  const out: string[] = [];
  for (const line of diff.split('\n')) {
    if (line.startsWith('--- ') || line.startsWith('+++ ')) out.push(line);
    else if (line.startsWith('-')) out.push(`+${line.slice(1)}`);
    else if (line.startsWith('+')) out.push(`-${line.slice(1)}`);
    else {
      const h = /^@@ -(\d+(?:,\d+)?) \+(\d+(?:,\d+)?) @@(.*)$/.exec(line);
      out.push(h ? `@@ -${h[2]} +${h[1]} @@${h[3]}` : line);
    }
  }
  // Within each hunk git lists removals before additions; swapping signs keeps that order
  // valid for `git apply`, which does not require it anyway.
  return out.join('\n');
}

export interface SolverStart {
  /** The start state: original + bug + weakening (+ an earlier failed patch), fresh git. */
  snapshot: Snapshot;
  /** The reversed weakening, shown to the solver as its issue. */
  specification: string;
}

/**
 * Shell command run in /repo that replaces `.git` by one fresh commit. Exported so every
 * solver start (self-play and natural-language eval tasks) hides history the same way.
 */
export const GIT_RESET = [
  // Hide the history and every trace of the artifact: one fresh commit, no reflog, no remotes.
  'rm -rf .git',
  'git init -q -b main',
  'git add -A',
  'git -c user.name=ssr -c user.email=ssr@localhost -c commit.gpgsign=false commit -q --no-verify -m "Initial commit"',
].join(' && ');

/**
 * Builds the solver's start state in a sandbox and freezes it: original repo, bug_inject.diff,
 * test_weaken.diff (and, for a higher-order bug, a failed solver patch), then `.git` replaced
 * by a single fresh commit so neither history nor the artifact leaks.
 */
export async function prepareSolverStart(
  host: SandboxProvider,
  original: Snapshot,
  artifact: Pick<Artifact, 'bugDiff' | 'weakenDiff'>,
  extraPatch?: string,
): Promise<SolverStart> {
  const sb = host.create(original);
  try {
    const patches = [artifact.bugDiff, artifact.weakenDiff, ...(extraPatch ? [extraPatch] : [])];
    const applied = await sb.applyPatches(patches);
    if (!applied.ok) throw new Error(`the artifact does not apply: ${applied.message}`);
    const git = await sb.exec(GIT_RESET, { timeoutMs: 120_000 });
    if (git.exitCode !== 0) throw new Error(`could not reset git history: ${git.stderr.trim()}`);
    return { snapshot: await sb.snapshot(), specification: reverseDiff(artifact.weakenDiff) };
  } finally {
    await sb.dispose();
  }
}

/** The solver's patch: everything it changed since its start state (`.git` excluded). */
export function solverPatch(sandbox: Sandbox): Promise<string> {
  return sandbox.diff({ against: 'start' });
}

export interface Evaluation {
  solved: boolean;
  /** SSR-SPEC: +1 solved, -1 otherwise. */
  reward: 1 | -1;
  reason: string;
  /** Baseline-passing tests that did not pass. */
  failing: string[];
  /** Files of the patch that were discarded because they are oracle test files. */
  discarded: string[];
  tests: TestMap | null;
}

/**
 * Grades a solver patch (SSR-SPEC section 4): start from the original, apply the bug (and the
 * earlier failed patch of a higher-order bug) and the solver's patch, keep every oracle test
 * file as in the original (the solver's edits to them are discarded), run the tests. Solved
 * iff every test that passes on the original passes; baseline failures and flaky tests are
 * excluded. Nothing the solver wrote can change the test script, the parser or the log.
 * A file listed as `<path>#inline-tests` keeps the solver's edits to its code part: it starts
 * as the solver's did (with the weakening, which the patch was made on), takes the patch, and
 * then gets its inline-test regions reset to the original's (artifact/oracle-regions.ts).
 */
export async function evaluateSolution(
  host: SandboxProvider,
  original: Snapshot,
  artifact: Pick<Artifact, 'bugDiff' | 'weakenDiff' | 'testScript' | 'testParser' | 'testFiles'>,
  baseline: Baseline,
  patch: string,
  opts: { extraPatch?: string; testOptions?: TestRunOptions } = {},
): Promise<Evaluation> {
  const unsolved = (reason: string, extra: Partial<Evaluation> = {}): Evaluation => ({
    solved: false,
    reward: -1,
    reason,
    failing: [],
    discarded: [],
    tests: null,
    ...extra,
  });
  const oracle = wholeOraclePaths(artifact.testFiles);
  const inline = inlineOraclePaths(artifact.testFiles);
  let kept = '';
  const discarded: string[] = [];
  if (patch.trim()) {
    let files: ReturnType<typeof parsePatch>;
    try {
      files = parsePatch(patch, 'solver patch');
    } catch (err) {
      return unsolved(err instanceof PatchError ? err.message : String(err));
    }
    const problems = patchSafetyProblems(files, () => false, 'solver patch');
    if (problems.length) return unsolved(problems.join('; '));
    for (const f of files) {
      const paths = touchedPaths([f]);
      if (paths.some((p) => unsafePathReason(p)))
        return unsolved(`unsafe path in ${paths.join(', ')}`);
      if (paths.some((p) => oracle.has(p))) discarded.push(...paths.filter((p) => oracle.has(p)));
      else kept += f.raw;
    }
  }
  const sb = host.create(original);
  const harness = stageHarness(artifact.testScript, artifact.testParser);
  try {
    if (inline.length) {
      const originals = new Map<string, string>();
      for (const [p, text] of await readTexts(sb, inline)) originals.set(p, text ?? '');
      // The start state of the files with inline tests, which the solver's patch was made on.
      const weakened = patchSections(artifact.weakenDiff, 'test_weaken.diff', (ps) =>
        ps.some((p) => inline.includes(p)),
      );
      const setUp = await sb.applyPatches(
        [artifact.bugDiff, weakened, opts.extraPatch ?? ''].filter(Boolean),
      );
      if (!setUp.ok) return unsolved(`the artifact does not apply: ${setUp.message}`);
      const before = await readTexts(sb, inline);
      if (kept) {
        const applied = await sb.applyPatch(kept);
        if (!applied.ok) {
          return unsolved(`the patch does not apply: ${applied.message}`, { discarded });
        }
      }
      const touched = await restoreInlineTests(sb, originals, before);
      discarded.push(...touched.map(inlineTestsEntry));
    } else {
      const patches = [
        artifact.bugDiff,
        ...(opts.extraPatch ? [opts.extraPatch] : []),
        ...(kept ? [kept] : []),
      ];
      const applied = await sb.applyPatches(patches);
      if (!applied.ok)
        return unsolved(`the patch does not apply: ${applied.message}`, { discarded });
    }
    const run = await runTests(sb, harness, opts.testOptions);
    if (!run.ok && run.kind !== 'no-tests')
      return unsolved(`test run failed: ${run.message}`, { discarded });
    const tests = run.ok ? run.tests : {};
    const failing = passedIds(baseline.tests).filter((id) => !didPass(tests, id));
    if (failing.length) {
      return unsolved(`${failing.length} test(s) that pass on the original do not pass`, {
        failing,
        discarded,
        tests,
      });
    }
    return {
      solved: true,
      reward: 1,
      reason: 'every test that passes on the original passes',
      failing,
      discarded,
      tests,
    };
  } finally {
    harness.cleanup();
    await sb.dispose();
  }
}

/**
 * SWE-bench grading of one model patch: base state + model patch (test files of the task left
 * alone) + test_patch, run the tests, and resolved iff every FAIL_TO_PASS and PASS_TO_PASS
 * test passes.
 */
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
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import { didPass, type TestMap } from '../testing/results.js';
import { runTests, stageHarness, type TestRunOptions } from '../testing/run-tests.js';

export interface Grade {
  resolved: boolean;
  reason: string;
  /** FAIL_TO_PASS tests that did not pass. */
  failingF2P: string[];
  /** PASS_TO_PASS tests that did not pass. */
  failingP2P: string[];
  /** Files of the model patch dropped because test_patch owns them. */
  discarded: string[];
  tests: TestMap | null;
}

export interface GradeInput {
  base: Snapshot;
  testScript: string;
  testParser: string;
  testPatch: string;
  failToPass: string[];
  passToPass: string[];
  /** More files whose model changes are dropped (a task's oracle test files). */
  protectedFiles?: string[];
}

/**
 * Splits a model patch into what is applied and what is dropped: sections touching a file of
 * test_patch are dropped (test_patch replaces those files, as SWE-bench resets them).
 */
export function splitModelPatch(
  patch: string,
  protectedPaths: Set<string>,
): { kept: string; discarded: string[] } | { error: string } {
  if (!patch.trim()) return { kept: '', discarded: [] };
  let files: ReturnType<typeof parsePatch>;
  try {
    files = parsePatch(patch, 'model patch');
  } catch (err) {
    return { error: err instanceof PatchError ? err.message : String(err) };
  }
  const problems = patchSafetyProblems(files, () => false, 'model patch');
  if (problems.length) return { error: problems.join('; ') };
  let kept = '';
  const discarded: string[] = [];
  for (const f of files) {
    const paths = touchedPaths([f]);
    const unsafe = paths.map(unsafePathReason).find(Boolean);
    if (unsafe) return { error: `unsafe path in ${paths.join(', ')}: ${unsafe}` };
    if (paths.some((p) => protectedPaths.has(p)))
      discarded.push(...paths.filter((p) => protectedPaths.has(p)));
    else kept += f.raw;
  }
  return { kept, discarded };
}

export function testPatchPaths(testPatch: string): string[] {
  return touchedPaths(parsePatch(testPatch, 'test_patch'));
}

export async function gradePatch(
  host: SandboxHost,
  input: GradeInput,
  patch: string,
  testOptions?: TestRunOptions,
): Promise<Grade> {
  const fail = (reason: string, extra: Partial<Grade> = {}): Grade => ({
    resolved: false,
    reason,
    failingF2P: [...input.failToPass],
    failingP2P: [...input.passToPass],
    discarded: [],
    tests: null,
    ...extra,
  });
  // `<path>#inline-tests` files (ssr's exported self-play bugs): the model's edits to their
  // code part count; their test regions are reset to those test_patch gives them.
  const inline = inlineOraclePaths(input.protectedFiles ?? []);
  const split = splitModelPatch(
    patch,
    new Set(
      [...testPatchPaths(input.testPatch), ...wholeOraclePaths(input.protectedFiles ?? [])].filter(
        (p) => !inline.includes(p),
      ),
    ),
  );
  if ('error' in split) return fail(split.error);
  const { kept, discarded } = split;
  const sb = host.create(input.base);
  const harness = stageHarness(input.testScript, input.testParser);
  try {
    const isInline = (ps: string[]) => ps.some((p) => inline.includes(p));
    const before = await readTexts(sb, inline);
    const references = new Map<string, string>();
    if (inline.length) {
      // The original tests: the start state with test_patch's sections for these files.
      const own = patchSections(input.testPatch, 'test_patch', isInline);
      if (own && !(await sb.applyPatch(own)).ok) {
        return fail('test_patch does not apply to the files with inline tests', { discarded });
      }
      for (const [p, text] of await readTexts(sb, inline))
        if (text !== null) references.set(p, text);
      if (own && !(await sb.applyPatch(own, { reverse: true })).ok) {
        return fail('test_patch does not reverse on the files with inline tests', { discarded });
      }
    }
    if (kept) {
      const r = await sb.applyPatch(kept);
      if (!r.ok) return fail(`the model patch does not apply: ${r.message}`, { discarded });
    }
    const rest = inline.length
      ? patchSections(input.testPatch, 'test_patch', (ps) => !isInline(ps))
      : input.testPatch;
    const t = rest ? await sb.applyPatch(rest) : { ok: true, message: '' };
    if (!t.ok) {
      return fail(`test_patch does not apply after the model patch: ${t.message}`, { discarded });
    }
    if (inline.length) {
      const touched = await restoreInlineTests(sb, references, before);
      discarded.push(...touched.map(inlineTestsEntry));
    }
    const run = await runTests(sb, harness, testOptions);
    // No evidence that the suite ran is never a resolution.
    if (!run.ok) return fail(`test run failed: ${run.message}`, { discarded });
    const tests = run.tests;
    const failingF2P = input.failToPass.filter((id) => !didPass(tests, id));
    const failingP2P = input.passToPass.filter((id) => !didPass(tests, id));
    const resolved =
      input.failToPass.length > 0 && failingF2P.length === 0 && failingP2P.length === 0;
    const absent = [...input.failToPass, ...input.passToPass].filter((id) => !(id in tests));
    const reason = resolved
      ? 'every FAIL_TO_PASS and PASS_TO_PASS test passes'
      : [
          input.failToPass.length === 0 ? 'the task names no FAIL_TO_PASS test' : '',
          failingF2P.length ? `${failingF2P.length} FAIL_TO_PASS test(s) do not pass` : '',
          failingP2P.length ? `${failingP2P.length} PASS_TO_PASS test(s) do not pass` : '',
          absentReason(absent, input.failToPass.length + input.passToPass.length),
        ]
          .filter(Boolean)
          .join('; ');
    return { resolved, reason, failingF2P, failingP2P, discarded, tests };
  } finally {
    harness.cleanup();
    await sb.dispose();
  }
}

/**
 * Why some task ids are missing from the parsed output. None at all usually means the task's
 * ids and the parser's disagree; some may also mean a run that stopped early (a crash or an
 * uncaught error ends a test file, and its later tests are never reported).
 */
function absentReason(absent: string[], total: number): string {
  if (!absent.length) return '';
  if (absent.length === total) {
    return `none of the task's tests are in the test output (e.g. ${absent[0]}): do the task's ids match the parser's?`;
  }
  return `${absent.length} of them not in the test output at all (e.g. ${absent[0]}): an id that differs from the parser's, or a test file that stopped early (a crash or an uncaught error ends a file before its later tests report)`;
}

import {
  type InlineTestRegion,
  inlineScopeProblems,
  parseOracleEntry,
} from '../artifact/oracle-regions.js';
import { type FilePatch, parsePatch } from '../artifact/patch.js';
import type { ImageSnapshot, SandboxHost } from '../sandbox/local.js';
import { formatFileDiff } from '../sandbox/tree-diff.js';
import type { Snapshot } from '../sandbox/types.js';
import { didPass } from '../testing/results.js';
import {
  runTests,
  type TestHarness,
  type TestRunOptions,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import {
  emptyEnclosingTest,
  emptyRustTestBody,
  weakenAssertionAt,
  weakenMacroTableRow,
} from './assertions.js';
import { listFunctions } from './ast.js';
import { failureLocations, namedFailureLocations } from './failure-locations.js';
import { goldenFileEdits } from './golden-files.js';

/**
 * How much a weakening may hide: places weakened for tests not yet hidden (`maxTests`; the
 * further assertions of a test weakened before are free) and lines test_weaken.diff removes
 * (`maxLines`). A solver's specification is the reverse of the diff: a short one is a focused
 * task, a thousand lines teach little. Check 6 needs one bug-failing test hidden; rounds stop
 * once `maxTests` of them (or all) pass.
 */
export interface WeakenBounds {
  maxTests: number;
  maxLines: number;
}

export const DEFAULT_WEAKEN_BOUNDS: WeakenBounds = { maxTests: 5, maxLines: 40 };

/** Lines a unified diff removes. */
export function removedLines(diff: string): number {
  let n = 0;
  for (const l of diff.split('\n')) if (l.startsWith('-') && !l.startsWith('--- ')) n++;
  return n;
}

export interface WeakeningResult {
  /** The test_weaken.diff, or null when no weakening hides the bug. */
  diff: string | null;
  /** Bug-failing tests that pass with the bug and the weakening. */
  restored: string[];
  /** Statements weakened, as file:line (of the original file). */
  weakened: string[];
  rounds: number;
  /** Why no weakening was found. */
  reason?: string;
  /** The last test run: the bug and this weakening, as one patch (for reuse by validation). */
  lastRun?: { patch: string; outcome: TestRunOutcome };
}

export interface WeakenInput {
  host: SandboxHost;
  snapshot: Snapshot;
  harness: TestHarness;
  testFiles: string[];
  /** Original content of every oracle test file (by path, without `#inline-tests`). */
  originals: Map<string, string>;
  /**
   * Files with inline oracle tests (test_files.txt: `<path>#inline-tests`), with the regions of
   * their original content: only those regions are weakened, the rest of the file is code.
   */
  regions?: Map<string, InlineTestRegion[]>;
  bugDiff: string;
  /** Tests that pass on the original and fail with the bug. */
  failing: string[];
  /** The log of the run with the bug (where the first failures are located). */
  bugLog: string;
  testOptions: TestRunOptions;
  maxRounds?: number;
  /** Default DEFAULT_WEAKEN_BOUNDS. */
  bounds?: WeakenBounds;
  /**
   * How specific each test file is (smaller first: a file that executes less code is nearer
   * the bug): within the bounds, failures in more specific files are weakened first.
   */
  specificity?: (testFile: string) => number;
}

/** Runs the tests with the bug and the given test-file contents applied. */
async function runWith(
  input: WeakenInput,
  contents: Map<string, string>,
): Promise<{ patch: string; outcome: TestRunOutcome }> {
  const sb = input.host.create(input.snapshot);
  try {
    const patch = input.bugDiff + weakeningDiff(input.originals, contents);
    const applied = await sb.applyPatch(patch);
    if (!applied.ok) throw new Error(`weakened tests do not apply: ${applied.message}`);
    const outcome = await runTests(sb, input.harness, {
      ...input.testOptions,
      keepLogBytes: 4 << 20,
    });
    return { patch, outcome };
  } finally {
    await sb.dispose();
  }
}

export function weakeningDiff(
  originals: Map<string, string>,
  contents: Map<string, string>,
): string {
  let out = '';
  for (const [file, text] of [...contents.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const before = originals.get(file);
    if (before === undefined || before === text) continue;
    out += formatFileDiff(
      file,
      { mode: '100644', data: Buffer.from(before) },
      { mode: '100644', data: Buffer.from(text) },
    );
  }
  return out;
}

/**
 * The original's line number of line `line` of a file after `patch` (null for a line the
 * patch added). A file with inline tests holds the bug too: its failure locations are in the
 * bugged file's lines, its weakening in the original's (weakenings keep line counts, so the
 * mapping holds in every round).
 */
export function originalLineOf(patch: FilePatch | undefined, line: number): number | null {
  let delta = 0;
  for (const h of patch?.hunks ?? []) {
    let n = h.newLines === 0 ? h.newStart + 1 : h.newStart;
    if (line < n) break;
    let o = h.oldLines === 0 ? h.oldStart + 1 : h.oldStart;
    for (const l of h.lines) {
      if (l[0] === '\\') continue;
      if (l[0] === '-') {
        o++;
        continue;
      }
      if (n === line) return l[0] === '+' ? null : o;
      if (l[0] !== '+') o++;
      n++;
    }
    delta = o - n;
  }
  return line + delta;
}

/**
 * A failing doctest example (pytest --doctest-modules names the line of its `>>>`), made to
 * accept any output, keeping the line numbers: `>>> f(2)` / `4` becomes
 * `>>> print(end='~'); f(2)  # doctest: +ELLIPSIS` / `~...` (further expected lines blank). An
 * example without expected output, a compound statement, or one that already has a directive
 * is marked `# doctest: +SKIP` instead (a docstring whose examples are all skipped is reported
 * as skipped, not passed). Null when the line is no example.
 */
export function weakenDoctestExampleAt(file: string, source: string, line: number): string | null {
  if (!file.endsWith('.py')) return null;
  const lines = source.split('\n');
  const text = lines[line - 1];
  const m = text === undefined ? null : /^([ \t]*)>>> (.*)$/.exec(text);
  if (!m) return null;
  const indent = m[1]!;
  const code = m[2]!;
  // A closing quote on the example's line would put a directive after the docstring.
  if (/"""|'''/.test(code) || /#\s*doctest:/.test(code)) return null;
  let i = line;
  let continued = false;
  while (i < lines.length && lines[i]!.startsWith(`${indent}...`)) {
    continued = true;
    i++;
  }
  const want: number[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    // A blank line, the next example or the docstring's closing quotes end the output.
    if (!l.trim() || /^\s*(>>>|"""|''')/.test(l)) break;
    want.push(i);
    if (/"""|'''/.test(l)) break;
  }
  const quoted = want.some((w) => /"""|'''/.test(lines[w]!));
  if (!want.length || continued || quoted || /:\s*(#.*)?$/.test(code)) {
    lines[line - 1] = `${text!.trimEnd()}  # doctest: +SKIP`;
    return lines.join('\n');
  }
  lines[line - 1] = `${indent}>>> print(end='~'); ${code.trimEnd()}  # doctest: +ELLIPSIS`;
  want.forEach((w, k) => {
    lines[w] = k === 0 ? `${indent}~...` : '';
  });
  return lines.join('\n');
}

/**
 * Derives test_weaken.diff for a bug: removes (or neutralises) exactly the assertions at
 * which the bug-failing tests stop, found from the file:line references in the test log (and
 * from the names of tests reported without one: a Rust #[should_panic] test on Rust < 1.73),
 * then reruns and repeats for assertions that were not reached before, until at least the
 * reachable failures pass or nothing more can be weakened. A test that stops again at a later
 * line of a function already weakened in an earlier round breaks on assertion after assertion
 * (a table of expected values): all assertions from that line to the end of the function are
 * weakened at once. A failing Rust test that a macro generates from a row of a table
 * (`test! { test_u64_0(0u64, "0") ... }`) stops in the macro, at a line that serves every row:
 * when the failures' lines lead to no assertion, its row is removed (weakenMacroTableRow). A
 * failing Rust test whose panic names no line of it (the code under test panicked) has its body
 * emptied (emptyRustTestBody). A test that compares its output with a checked-in golden file
 * (tests/x.expected) fails on no line: when its log shows the comparison and the diff printed,
 * the golden file is made equal to the output (goldenFileEdits). When a round finds nothing
 * else, a test that stopped at a line asserting nothing (the code under test raised there) is
 * emptied whole (emptyEnclosingTest). All within `bounds`: edits that would pass them are not
 * made, and rounds stop once enough failing tests pass. In
 * files with inline oracle tests, only lines inside their regions are weakened (and an edit
 * that would reach outside them is not made).
 */
export async function deriveWeakening(input: WeakenInput): Promise<WeakeningResult> {
  const maxRounds = input.maxRounds ?? 4;
  const bounds = input.bounds ?? DEFAULT_WEAKEN_BOUNDS;
  const target = Math.max(1, Math.min(bounds.maxTests, input.failing.length));
  const contents = new Map(input.originals);
  /** Whether test_weaken.diff stays within the line bound with `file` as `next`. */
  const fits = (file: string, next: string) => {
    const trial = new Map(contents);
    trial.set(file, next);
    return removedLines(weakeningDiff(input.originals, trial)) <= bounds.maxLines;
  };
  let overBound = false;
  const weakened: string[] = [];
  const tried = new Set<string>();
  const testFiles = [...new Set(input.testFiles.map((f) => parseOracleEntry(f).path))];
  const regions = input.regions ?? new Map<string, InlineTestRegion[]>();
  const allowed = (file: string, line: number) => {
    const rs = regions.get(file);
    return !rs || rs.some((r) => r.startLine <= line && line <= r.endLine);
  };
  /** The edit, unless it reaches outside the file's inline-test regions. */
  const withinRegions = (file: string, next: string) => {
    if (!regions.has(file)) return true;
    const diff = weakeningDiff(input.originals, new Map([[file, next]]));
    const files = parsePatch(diff, 'test_weaken.diff');
    return inlineScopeProblems('test_weaken.diff', files, regions).length === 0;
  };
  /** One assertion (or doctest example) at a line, or null. */
  const weakenOne = async (file: string, source: string, line: number, column?: number) => {
    if (!allowed(file, line)) return null;
    const next =
      (await weakenAssertionAt(file, source, line, column)) ??
      weakenDoctestExampleAt(file, source, line);
    return next !== null && next !== source && withinRegions(file, next) ? next : null;
  };
  // Failing tests hidden by name (their macro-table row or test body) were looked for.
  const namesTried = new Set<string>();
  /**
   * Test `id` (its last `::` segment) hidden by name in the oracle files, in the file the id
   * names first (cargo ids start with the test target, `tests/test.rs::test_u64_0`), else in
   * any: the one row of a macro table that generates it, else the body of the one `#[test]`
   * function of that name (a panic inside the code under test names no line of the test).
   */
  const hiddenByName = async (id: string) => {
    const name = id.split('::').pop()!;
    const files = [...contents.keys()].filter((f) => f.endsWith('.rs'));
    const named = files.filter((f) => id.startsWith(`${f}::`));
    for (const hide of [weakenMacroTableRow, emptyRustTestBody]) {
      for (const group of named.length ? [named, files] : [files]) {
        const hits: { file: string; source: string; line: number }[] = [];
        for (const file of group) {
          const hidden = await hide(file, contents.get(file)!, name);
          if (hidden && allowed(file, hidden.line) && withinRegions(file, hidden.source)) {
            hits.push({ file, ...hidden });
          }
        }
        if (hits.length === 1) return hits[0]!;
        if (hits.length > 1) return null;
      }
    }
    return null;
  };
  /** Oracle files as a whole (golden files are never inline-test files), as they are now. */
  const wholeFiles = () => new Map([...contents].filter(([f]) => !regions.has(f)));
  // Where the tests see the repository: absolute paths under it in the log are its files.
  const image = (input.snapshot.root as Partial<ImageSnapshot>).image;
  const roots = [
    ...new Set([image?.repoPath, input.host.repoMount].filter((r) => r !== undefined)),
  ];
  // Failure lines where nothing could be weakened, not yet looked at for emptying, and how
  // many tests were emptied.
  const missedLines: { file: string; line: number }[] = [];
  let emptiedTests = 0;
  // Lines weakened in earlier rounds, per file.
  const earlier = new Map<string, number[]>();
  const bugPatches = new Map<string, FilePatch>();
  if (regions.size) {
    for (const f of parsePatch(input.bugDiff, 'bug_inject.diff')) {
      if (f.newPath && regions.has(f.newPath)) bugPatches.set(f.newPath, f);
    }
  }
  let log = input.bugLog;
  let restored: string[] = [];
  let lastRun: WeakeningResult['lastRun'];
  let rounds = 0;
  let reason = 'the failing run names no line of an oracle test file';
  while (rounds < maxRounds) {
    let changed = false;
    const locations = failureLocations(log, testFiles).flatMap((l) => {
      const line = originalLineOf(bugPatches.get(l.file), l.line);
      return line === null ? [] : [{ ...l, line }];
    });
    for (const named of namedFailureLocations(log, contents)) {
      if (!locations.some((l) => l.file === named.file && l.line === named.line))
        locations.push(named);
    }
    if (input.specificity) {
      const rank = input.specificity;
      // Stable: the log's order within a file.
      locations.sort((a, b) => rank(a.file) - rank(b.file));
    }
    if (rounds === 0 && locations.length) {
      const shown = locations
        .slice(0, 3)
        .map((l) => `${l.file}:${l.line}`)
        .join(', ');
      reason = `no assertion that ssr can weaken at the failing lines (${shown})`;
    }
    const thisRound: { file: string; line: number }[] = [];
    let missed = false;
    // New places (outside functions weakened before) this round may weaken.
    let budget = target - restored.length;
    for (const loc of locations) {
      const key = `${loc.file}:${loc.line}`;
      if (tried.has(key)) continue;
      let source = contents.get(loc.file);
      if (source === undefined) continue;
      const fn = (await listFunctions(loc.file, source))
        .filter((f) => f.startLine <= loc.line && loc.line <= f.endLine)
        .sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine))[0];
      const before = earlier.get(loc.file) ?? [];
      const continues =
        !!fn && before.some((l) => l !== loc.line && fn.startLine <= l && l <= fn.endLine);
      if (!continues && budget <= 0) continue;
      tried.add(key);
      const next = await weakenOne(loc.file, source, loc.line, loc.column);
      if (next === null) {
        missed = true;
        missedLines.push(loc);
        continue;
      }
      if (!fits(loc.file, next)) {
        overBound = true;
        continue;
      }
      source = next;
      weakened.push(key);
      thisRound.push(loc);
      if (!continues) budget--;
      // Stopped again in a function weakened before: the rest of its assertions at once.
      if (continues && fn) {
        for (let line = loc.line + 1; line <= fn.endLine; line++) {
          const more = await weakenOne(loc.file, source, line);
          if (more === null || !fits(loc.file, more)) continue;
          source = more;
          weakened.push(`${loc.file}:${line}`);
          tried.add(`${loc.file}:${line}`);
        }
      }
      contents.set(loc.file, source);
      changed = true;
    }
    for (const { file, line } of thisRound) earlier.set(file, [...(earlier.get(file) ?? []), line]);
    // Failures no line led to an assertion for (every location tried, or one of this round's
    // could not be weakened): a golden file the log shows compared with the output, with the
    // diff it printed, is made equal to the output (golden-files.ts); the tests that still
    // fail are hidden by name (hiddenByName).
    if (!changed || missed) {
      const golden = goldenFileEdits(log, { contents: wholeFiles(), roots });
      for (const e of golden.edits) {
        if (!fits(e.file, e.source)) {
          overBound = true;
          continue;
        }
        contents.set(e.file, e.source);
        weakened.push(`${e.file}:${e.line}`);
        changed = true;
      }
      if (rounds === 0 && !locations.length && !golden.edits.length && golden.unapplied.length) {
        reason = `the failing run compares the golden file${golden.unapplied.length === 1 ? '' : 's'} ${golden.unapplied.slice(0, 3).join(', ')} with the output, but prints no diff that applies to ${golden.unapplied.length === 1 ? 'it' : 'them'}`;
      }
      let hiddenNow = 0;
      for (const id of input.failing) {
        if (restored.includes(id) || namesTried.has(id)) continue;
        if (hiddenNow >= target - restored.length) break;
        namesTried.add(id);
        const hidden = await hiddenByName(id);
        if (!hidden) continue;
        if (!fits(hidden.file, hidden.source)) {
          overBound = true;
          continue;
        }
        hiddenNow++;
        contents.set(hidden.file, hidden.source);
        weakened.push(`${hidden.file}:${hidden.line}`);
        changed = true;
      }
    }
    // Still nothing: the tests stopped at lines that assert nothing (the code under test
    // raised there, in this round or an earlier one), so the tests around those lines are
    // emptied whole (emptyEnclosingTest), a few of them: the specification is those tests.
    if (!changed) {
      for (const loc of missedLines.splice(0)) {
        if (emptiedTests >= target - restored.length) break;
        const source = contents.get(loc.file);
        if (source === undefined || !allowed(loc.file, loc.line)) continue;
        const emptied = await emptyEnclosingTest(loc.file, source, loc.line);
        if (!emptied || emptied.source === source || !withinRegions(loc.file, emptied.source))
          continue;
        if (!fits(loc.file, emptied.source)) {
          overBound = true;
          continue;
        }
        contents.set(loc.file, emptied.source);
        weakened.push(`${loc.file}:${emptied.line}`);
        emptiedTests++;
        changed = true;
      }
    }
    if (!changed) break;
    rounds++;
    lastRun = await runWith(input, contents);
    const o = lastRun.outcome;
    if (!o.ok) {
      reason = `the run with weakened tests failed: ${o.message}`;
      break;
    }
    restored = input.failing.filter((id) => didPass(o.tests, id));
    if (restored.length >= target) break;
    log = o.log ?? '';
    reason = 'weakening the named assertions made none of the failing tests pass';
  }
  if (restored.length === 0) {
    if (overBound) {
      reason = `hiding a failing test takes more than the ${bounds.maxLines}-line bound of test_weaken.diff`;
    }
    return { diff: null, restored, weakened, rounds, reason };
  }
  const diff = weakeningDiff(input.originals, contents);
  return {
    diff,
    restored,
    weakened,
    rounds,
    ...(lastRun && lastRun.patch === input.bugDiff + diff ? { lastRun } : {}),
  };
}

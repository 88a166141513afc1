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
  return parsePatch(diff, 'test_weaken.diff').reduce((n, f) => n + f.removed, 0);
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
}

/** A quick check's verdict on a round: the failing tests it restored, the others' failures. */
export interface QuickCheck {
  restored: string[];
  log: string;
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
  /**
   * A cheaper run than a fresh suite (a warm runner): which of `failing` pass with the bug
   * and these test-file contents, and the failure text of the others, or null when it cannot
   * tell. A round it says is enough ends the weakening without a fresh run (validation makes
   * one); otherwise its failure text leads the next round, but for the last round, which a
   * fresh run decides (as every round does without a quick check). 'timeout': the weakened
   * tests did not finish in the quick run's time; the weakening stops (a fresh run would wait
   * for its own, much longer limit: 39 s on fs-extra, for the same hang).
   */
  quickCheck?: (contents: Map<string, string>) => Promise<QuickCheck | 'timeout' | null>;
}

/** Runs the tests with the bug and the given test-file contents applied. */
async function runWith(input: WeakenInput, contents: Map<string, string>): Promise<TestRunOutcome> {
  const sb = input.host.create(input.snapshot);
  try {
    const patch = input.bugDiff + weakeningDiff(input.originals, contents);
    const applied = await sb.applyPatch(patch);
    if (!applied.ok) throw new Error(`weakened tests do not apply: ${applied.message}`);
    return await runTests(sb, input.harness, { ...input.testOptions, keepLogBytes: 4 << 20 });
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
  const w = new WeakeningState(input);
  let log = input.bugLog;
  let rounds = 0;
  let reason = 'the failing run names no line of an oracle test file';
  while (rounds < maxRounds) {
    const locations = w.locate(log);
    if (rounds === 0 && locations.length) {
      const shown = locations
        .slice(0, 3)
        .map((l) => `${l.file}:${l.line}`)
        .join(', ');
      reason = `no assertion that ssr can weaken at the failing lines (${shown})`;
    }
    let { changed, missed } = await w.weakenAt(locations);
    // Failures no line led to an assertion for (every location tried, or one of this round's
    // could not be weakened): golden files, then tests hidden by name.
    if (!changed || missed) {
      const golden = w.applyGoldenFiles(log);
      changed = golden.changed || changed;
      if (rounds === 0 && !locations.length && !golden.changed && golden.unapplied.length) {
        const n = golden.unapplied.length;
        reason = `the failing run compares the golden file${n === 1 ? '' : 's'} ${golden.unapplied.slice(0, 3).join(', ')} with the output, but prints no diff that applies to ${n === 1 ? 'it' : 'them'}`;
      }
      changed = (await w.hideByName()) || changed;
    }
    // Still nothing: the tests stopped at lines that assert nothing.
    if (!changed) changed = await w.emptyMissedTests();
    if (!changed) break;
    rounds++;
    const quick = await input.quickCheck?.(w.contents);
    if (quick === 'timeout') {
      const reason = 'the weakened tests did not finish in time (checked warm)';
      return { diff: null, restored: [], weakened: w.weakened, rounds, reason };
    }
    if (quick && quick.restored.length >= w.target) {
      w.restored = quick.restored;
      break;
    }
    if (quick?.log && rounds < maxRounds) {
      // The warm run's failures lead the next round; a fresh run is left to the last one.
      w.restored = quick.restored;
      log = quick.log;
      reason = 'weakening the named assertions made none of the failing tests pass';
      continue;
    }
    const o = await runWith(input, w.contents);
    if (!o.ok) {
      reason = `the run with weakened tests failed: ${o.message}`;
      break;
    }
    w.restored = input.failing.filter((id) => didPass(o.tests, id));
    if (w.restored.length >= w.target) break;
    log = o.log ?? '';
    reason = 'weakening the named assertions made none of the failing tests pass';
  }
  const { restored, weakened } = w;
  if (restored.length === 0) {
    if (w.overBound) {
      reason = `hiding a failing test takes more than the ${w.bounds.maxLines}-line bound of test_weaken.diff`;
    }
    return { diff: null, restored, weakened, rounds, reason };
  }
  return { diff: weakeningDiff(input.originals, w.contents), restored, weakened, rounds };
}

/** A failure location: a line of an oracle test file (the original's numbering). */
interface Location {
  file: string;
  line: number;
  column?: number;
}

/**
 * What one weakening has done so far (the test files' contents, places weakened and tried,
 * tests restored), and its stages, each one way to hide failing tests within the bounds.
 */
class WeakeningState {
  readonly bounds: WeakenBounds;
  /** Failing tests to hide: the bound, or all of them when fewer. */
  readonly target: number;
  readonly contents: Map<string, string>;
  readonly weakened: string[] = [];
  restored: string[] = [];
  /** Whether an edit was left out because it would pass the line bound. */
  overBound = false;
  private readonly tried = new Set<string>();
  /** Failing tests already looked for by name (their macro-table row or test body). */
  private readonly namesTried = new Set<string>();
  /** Failure lines where nothing could be weakened, not yet looked at for emptying. */
  private readonly missedLines: Location[] = [];
  private emptiedTests = 0;
  /** Lines weakened in earlier rounds, per file. */
  private readonly earlier = new Map<string, number[]>();
  private readonly testFiles: string[];
  private readonly regions: Map<string, InlineTestRegion[]>;
  private readonly bugPatches = new Map<string, FilePatch>();
  /** Where the tests see the repository: absolute paths under it in the log are its files. */
  private readonly roots: string[];

  constructor(private readonly input: WeakenInput) {
    this.bounds = input.bounds ?? DEFAULT_WEAKEN_BOUNDS;
    this.target = Math.max(1, Math.min(this.bounds.maxTests, input.failing.length));
    this.contents = new Map(input.originals);
    this.testFiles = [...new Set(input.testFiles.map((f) => parseOracleEntry(f).path))];
    this.regions = input.regions ?? new Map<string, InlineTestRegion[]>();
    if (this.regions.size) {
      for (const f of parsePatch(input.bugDiff, 'bug_inject.diff')) {
        if (f.newPath && this.regions.has(f.newPath)) this.bugPatches.set(f.newPath, f);
      }
    }
    const image = (input.snapshot.root as Partial<ImageSnapshot>).image;
    this.roots = [
      ...new Set([image?.repoPath, input.host.repoMount].filter((r) => r !== undefined)),
    ];
  }

  /** Whether test_weaken.diff stays within the line bound with `file` as `next`. */
  private fits(file: string, next: string): boolean {
    const trial = new Map(this.contents);
    trial.set(file, next);
    return removedLines(weakeningDiff(this.input.originals, trial)) <= this.bounds.maxLines;
  }

  /** Sets `file` to `next` if that stays within the line bound. */
  private commit(file: string, next: string, place: string): boolean {
    if (!this.fits(file, next)) {
      this.overBound = true;
      return false;
    }
    this.contents.set(file, next);
    this.weakened.push(place);
    return true;
  }

  private allowed(file: string, line: number): boolean {
    const rs = this.regions.get(file);
    return !rs || rs.some((r) => r.startLine <= line && line <= r.endLine);
  }

  /** The edit, unless it reaches outside the file's inline-test regions. */
  private withinRegions(file: string, next: string): boolean {
    if (!this.regions.has(file)) return true;
    const diff = weakeningDiff(this.input.originals, new Map([[file, next]]));
    const files = parsePatch(diff, 'test_weaken.diff');
    return inlineScopeProblems('test_weaken.diff', files, this.regions).length === 0;
  }

  /** One assertion (or doctest example) at a line weakened, or null. */
  private async weakenOne(
    file: string,
    source: string,
    line: number,
    column?: number,
  ): Promise<string | null> {
    if (!this.allowed(file, line)) return null;
    const next =
      (await weakenAssertionAt(file, source, line, column)) ??
      weakenDoctestExampleAt(file, source, line);
    return next !== null && next !== source && this.withinRegions(file, next) ? next : null;
  }

  /**
   * Where the log says the failing tests stopped, in the original's lines; failures in the
   * most specific test files first (input.specificity), else in the log's order.
   */
  locate(log: string): Location[] {
    const locations: Location[] = failureLocations(log, this.testFiles).flatMap((l) => {
      const line = originalLineOf(this.bugPatches.get(l.file), l.line);
      return line === null ? [] : [{ ...l, line }];
    });
    for (const named of namedFailureLocations(log, this.contents)) {
      if (!locations.some((l) => l.file === named.file && l.line === named.line))
        locations.push(named);
    }
    const rank = this.input.specificity;
    if (rank) locations.sort((a, b) => rank(a.file) - rank(b.file));
    return locations;
  }

  /**
   * Weakens the assertion at each location not tried before: at most as many new places as
   * tests still to hide; a location in a function weakened in an earlier round (a table of
   * expected values) takes the rest of that function's assertions at once.
   */
  async weakenAt(locations: Location[]): Promise<{ changed: boolean; missed: boolean }> {
    let changed = false;
    let missed = false;
    const thisRound: Location[] = [];
    let budget = this.target - this.restored.length;
    for (const loc of locations) {
      const key = `${loc.file}:${loc.line}`;
      if (this.tried.has(key)) continue;
      let source = this.contents.get(loc.file);
      if (source === undefined) continue;
      const fn = (await listFunctions(loc.file, source))
        .filter((f) => f.startLine <= loc.line && loc.line <= f.endLine)
        .sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine))[0];
      const before = this.earlier.get(loc.file) ?? [];
      const continues =
        !!fn && before.some((l) => l !== loc.line && fn.startLine <= l && l <= fn.endLine);
      if (!continues && budget <= 0) continue;
      this.tried.add(key);
      const next = await this.weakenOne(loc.file, source, loc.line, loc.column);
      if (next === null) {
        missed = true;
        this.missedLines.push(loc);
        continue;
      }
      if (!this.fits(loc.file, next)) {
        this.overBound = true;
        continue;
      }
      source = next;
      this.weakened.push(key);
      thisRound.push(loc);
      if (!continues) budget--;
      if (continues && fn) {
        for (let line = loc.line + 1; line <= fn.endLine; line++) {
          const more = await this.weakenOne(loc.file, source, line);
          if (more === null || !this.fits(loc.file, more)) continue;
          source = more;
          this.weakened.push(`${loc.file}:${line}`);
          this.tried.add(`${loc.file}:${line}`);
        }
      }
      this.contents.set(loc.file, source);
      changed = true;
    }
    for (const { file, line } of thisRound) {
      this.earlier.set(file, [...(this.earlier.get(file) ?? []), line]);
    }
    return { changed, missed };
  }

  /**
   * A golden file the log shows compared with the output, with the diff it printed, made
   * equal to the output (golden-files.ts). Golden files are never inline-test files.
   */
  applyGoldenFiles(log: string): { changed: boolean; unapplied: string[] } {
    const whole = new Map([...this.contents].filter(([f]) => !this.regions.has(f)));
    const golden = goldenFileEdits(log, { contents: whole, roots: this.roots });
    let changed = false;
    for (const e of golden.edits) {
      if (this.commit(e.file, e.source, `${e.file}:${e.line}`)) changed = true;
    }
    return { changed, unapplied: golden.unapplied };
  }

  /** Failing tests not yet restored hidden by name (hiddenByName), as many as still needed. */
  async hideByName(): Promise<boolean> {
    let hiddenNow = 0;
    for (const id of this.input.failing) {
      if (this.restored.includes(id) || this.namesTried.has(id)) continue;
      if (hiddenNow >= this.target - this.restored.length) break;
      this.namesTried.add(id);
      const hidden = await this.hiddenByName(id);
      if (!hidden) continue;
      if (!this.commit(hidden.file, hidden.source, `${hidden.file}:${hidden.line}`)) continue;
      hiddenNow++;
    }
    return hiddenNow > 0;
  }

  /**
   * Test `id` (its last `::` segment) hidden by name in the oracle files, in the file the id
   * names first (cargo ids start with the test target, `tests/test.rs::test_u64_0`), else in
   * any: the one row of a macro table that generates it, else the body of the one `#[test]`
   * function of that name (a panic inside the code under test names no line of the test).
   */
  private async hiddenByName(
    id: string,
  ): Promise<{ file: string; source: string; line: number } | null> {
    const name = id.split('::').pop()!;
    const files = [...this.contents.keys()].filter((f) => f.endsWith('.rs'));
    const named = files.filter((f) => id.startsWith(`${f}::`));
    for (const hide of [weakenMacroTableRow, emptyRustTestBody]) {
      for (const group of named.length ? [named, files] : [files]) {
        const hits: { file: string; source: string; line: number }[] = [];
        for (const file of group) {
          const hidden = await hide(file, this.contents.get(file)!, name);
          if (
            hidden &&
            this.allowed(file, hidden.line) &&
            this.withinRegions(file, hidden.source)
          ) {
            hits.push({ file, ...hidden });
          }
        }
        if (hits.length === 1) return hits[0]!;
        if (hits.length > 1) return null;
      }
    }
    return null;
  }

  /**
   * The tests that stopped at lines asserting nothing (the code under test raised there, in
   * this round or an earlier one) emptied whole (emptyEnclosingTest), as many as still
   * needed: the specification is those tests.
   */
  async emptyMissedTests(): Promise<boolean> {
    let changed = false;
    for (const loc of this.missedLines.splice(0)) {
      if (this.emptiedTests >= this.target - this.restored.length) break;
      const source = this.contents.get(loc.file);
      if (source === undefined || !this.allowed(loc.file, loc.line)) continue;
      const emptied = await emptyEnclosingTest(loc.file, source, loc.line);
      if (!emptied || emptied.source === source || !this.withinRegions(loc.file, emptied.source))
        continue;
      if (!this.commit(loc.file, emptied.source, `${loc.file}:${emptied.line}`)) continue;
      this.emptiedTests++;
      changed = true;
    }
    return changed;
  }
}

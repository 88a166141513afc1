import type { SandboxHost } from '../sandbox/local.js';
import { formatFileDiff } from '../sandbox/tree-diff.js';
import type { Snapshot } from '../sandbox/types.js';
import { didPass } from '../testing/results.js';
import {
  runTests,
  type TestHarness,
  type TestRunOptions,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import { weakenAssertionAt } from './assertions.js';
import { failureLocations, namedFailureLocations } from './failure-locations.js';

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

export interface WeakenInput {
  host: SandboxHost;
  snapshot: Snapshot;
  harness: TestHarness;
  testFiles: string[];
  /** Original content of every oracle test file. */
  originals: Map<string, string>;
  bugDiff: string;
  /** Tests that pass on the original and fail with the bug. */
  failing: string[];
  /** The log of the run with the bug (where the first failures are located). */
  bugLog: string;
  testOptions: TestRunOptions;
  maxRounds?: number;
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
 * Derives test_weaken.diff for a bug: removes (or neutralises) exactly the assertions at
 * which the bug-failing tests stop, found from the file:line references in the test log (and
 * from the names of tests reported without one: a Rust #[should_panic] test on Rust < 1.73),
 * then reruns and repeats for assertions that were not reached before, until at least the
 * reachable failures pass or nothing more can be weakened.
 */
export async function deriveWeakening(input: WeakenInput): Promise<WeakeningResult> {
  const maxRounds = input.maxRounds ?? 4;
  const contents = new Map(input.originals);
  const weakened: string[] = [];
  const tried = new Set<string>();
  let log = input.bugLog;
  let restored: string[] = [];
  let rounds = 0;
  let reason = 'the failing run names no line of an oracle test file';
  while (rounds < maxRounds) {
    let changed = false;
    const locations = failureLocations(log, input.testFiles);
    for (const named of namedFailureLocations(log, contents)) {
      if (!locations.some((l) => l.file === named.file && l.line === named.line))
        locations.push(named);
    }
    if (rounds === 0 && locations.length) {
      const shown = locations
        .slice(0, 3)
        .map((l) => `${l.file}:${l.line}`)
        .join(', ');
      reason = `no assertion that ssr can weaken at the failing lines (${shown})`;
    }
    for (const loc of locations) {
      const key = `${loc.file}:${loc.line}`;
      if (tried.has(key)) continue;
      tried.add(key);
      const source = contents.get(loc.file);
      if (source === undefined) continue;
      const next = await weakenAssertionAt(loc.file, source, loc.line, loc.column);
      if (next === null || next === source) continue;
      contents.set(loc.file, next);
      weakened.push(key);
      changed = true;
    }
    if (!changed) break;
    rounds++;
    const o = await runWith(input, contents);
    if (!o.ok) {
      reason = `the run with weakened tests failed: ${o.message}`;
      break;
    }
    restored = input.failing.filter((id) => didPass(o.tests, id));
    if (restored.length === input.failing.length) break;
    log = o.log ?? '';
    reason = 'weakening the named assertions made none of the failing tests pass';
  }
  if (restored.length === 0) return { diff: null, restored, weakened, rounds, reason };
  return { diff: weakeningDiff(input.originals, contents), restored, weakened, rounds };
}

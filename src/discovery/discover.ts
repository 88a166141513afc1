import { parseOracleEntry } from '../artifact/oracle-regions.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import { stageHarness, type TestHarness, type TestRunOptions } from '../testing/run-tests.js';
import { UsageError } from '../util/errors.js';
import { type Baseline, computeBaseline } from '../validate/baseline.js';
import { checkTestCommand, customCandidate, resolveTestFiles } from './custom.js';
import { fallbackCandidate } from './fallback.js';
import { type Candidate, proposeCandidates } from './frameworks.js';
import { RepoScan } from './scan.js';
import type { DiscoveryAttempt, TestSuiteSpec } from './types.js';

export interface DiscoveryOptions extends TestRunOptions {
  /** Clean runs per candidate (default 2, in parallel); tests whose outcome changes are flaky. */
  runs?: number;
  /** Consider only these frameworks (e.g. ['pytest']); default: all with evidence. */
  frameworks?: string[];
  /** Called after each candidate is tried or ruled out (progress for a CLI). */
  onAttempt?: (attempt: DiscoveryAttempt) => void;
  /**
   * Run this command instead of discovering (`--test-command`): bash, from the repo root, in
   * the sandbox. Needs `testFormat`.
   */
  testCommand?: string;
  /**
   * How `testCommand`'s output reads (`--test-format`): tap, junit[:<report glob>], pytest,
   * go-json, cargo or exit-code (one test named after the command).
   */
  testFormat?: string;
  /** The oracle test files (`--test-files`): globs relative to the repo, each must match. */
  testFiles?: string[];
  /**
   * Largest share of a candidate's tests that may change outcome between its clean runs
   * (default 0.05): above it (and with more than one such test), the ids are unstable or the
   * suite nondeterministic, and the candidate fails.
   */
  maxFlakyShare?: number;
  /** Try the per-file fallback when nothing structured works (default true). */
  fallback?: boolean;
}

/** The options a user sets for one repository (the CLI's --test-* flags). */
export type TestOverrides = Pick<
  DiscoveryOptions,
  'testCommand' | 'testFormat' | 'testFiles' | 'maxFlakyShare'
>;

/** Default of `maxFlakyShare`. */
export const DEFAULT_MAX_FLAKY_SHARE = 0.05;

export interface DiscoveryResult {
  suite: TestSuiteSpec;
  /** Every candidate considered, in order; the last one is the chosen one. */
  attempts: DiscoveryAttempt[];
  /** The chosen suite's clean runs (flaky tests left out of `tests`). */
  baseline: Baseline;
}

/** Most ids listed in one note. */
const MAX_LISTED = 20;

function listIds(ids: string[]): string {
  const shown = ids.slice(0, MAX_LISTED).join(', ');
  return ids.length > MAX_LISTED ? `${shown}, ... (${ids.length - MAX_LISTED} more)` : shown;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Finds how to run a repository's tests: looks at the repository (package.json, config files,
 * test files, go.mod, Cargo.toml, pom.xml), proposes candidates most likely first, and runs
 * each in fresh sandboxes (`runs` clean runs, default 2) until one parses at least one passing
 * test. Tests whose outcome differs between the runs are flaky: they are left out of the
 * baseline and listed in the suite's notes; more than `maxFlakyShare` of them fails the
 * candidate. Last comes the coarse per-file fallback (fallback.ts). When nothing works, throws
 * a UsageError that says what was tried and why each failed.
 *
 * `testCommand` + `testFormat` replace all of that with the user's command (custom.ts);
 * `testFiles` names the oracle test files whichever suite is chosen.
 *
 * `snapshot` should be an original snapshot (`host.snapshotDir(dir)`): the static look reads
 * its source directory.
 */
export async function discoverTests(
  host: SandboxHost,
  snapshot: Snapshot,
  opts: DiscoveryOptions = {},
): Promise<DiscoveryResult> {
  const dir = snapshot.sourceDir;
  const scan = new RepoScan(dir);
  const runs = Math.max(1, opts.runs ?? 2);
  const runOpts: TestRunOptions = {
    scriptTimeoutMs: opts.scriptTimeoutMs,
    parserTimeoutMs: opts.parserTimeoutMs,
    maxLogBytes: opts.maxLogBytes,
  };
  const maxFlakyShare = opts.maxFlakyShare ?? DEFAULT_MAX_FLAKY_SHARE;
  if (!(maxFlakyShare >= 0 && maxFlakyShare <= 1))
    throw new UsageError('the flaky-test share limit must be between 0 and 1 (0% and 100%)');
  // Mistakes in the escape hatches show before anything runs.
  const format = checkTestCommand(opts);
  const oracle = opts.testFiles?.length ? resolveTestFiles(scan, opts.testFiles) : null;
  let candidates: Candidate[];
  if (format) {
    candidates = [customCandidate(scan, opts.testCommand!, format)];
  } else {
    candidates = proposeCandidates(scan);
    const fallback = opts.fallback === false ? null : fallbackCandidate(scan);
    if (fallback) candidates.push(fallback);
    if (opts.frameworks)
      candidates = candidates.filter((c) => opts.frameworks!.includes(c.framework));
  }
  const attempts: DiscoveryAttempt[] = [];
  const record = (a: DiscoveryAttempt) => {
    attempts.push(a);
    opts.onAttempt?.(a);
  };

  for (const c of candidates) {
    const base = { framework: c.framework, reason: c.reason };
    if (c.notApplicable) {
      record({ ...base, outcome: 'not-applicable', detail: c.notApplicable });
      continue;
    }
    const harness = stageHarness(c.testScript, c.testParser);
    try {
      const baseline = await computeBaseline(host, snapshot, harness, runs, runOpts);
      // Too many flaky tests says more than "none passed" (unstable ids pass in no two runs).
      const problem =
        (!baseline.failure && flakyProblem(c, baseline, runs, maxFlakyShare, !!format)) ||
        (await judge(c, baseline, host, snapshot, harness, runOpts));
      if (problem) {
        record({ ...base, outcome: 'failed', detail: problem });
        continue;
      }
      const suite = buildSuite(c, scan, baseline, runs, oracle);
      const counts = countStatuses(baseline);
      record({
        ...base,
        outcome: 'chosen',
        detail: `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped, ${baseline.flaky.length} flaky over ${plural(runs, 'run')}`,
      });
      return { suite, attempts, baseline };
    } finally {
      harness.cleanup();
    }
  }
  if (format) {
    const a = attempts[0];
    throw new UsageError(
      `the test command gave no usable test results in ${dir}: ${a?.detail ?? 'not run'}`,
      'no-test-suite',
    );
  }
  throw new UsageError(noSuiteMessage(dir, attempts, opts.frameworks), 'no-test-suite');
}

/**
 * More than `max` of the parsed tests (and more than one) changed outcome between the clean
 * runs: unstable ids or a nondeterministic suite, which would make bug evidence noise.
 */
function flakyProblem(
  c: Candidate,
  baseline: Baseline,
  runs: number,
  max: number,
  custom: boolean,
): string | null {
  const flaky = baseline.flaky.length;
  const total = flaky + Object.keys(baseline.tests).length;
  if (flaky < 2 || flaky / total <= max) return null;
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
  const examples = baseline.flaky
    .slice(0, 3)
    .map((id) => JSON.stringify(id))
    .join(', ');
  const advice = custom
    ? 'make the command print stable ids, or allow more with --max-flaky-share'
    : 'name a command with stable output with --test-command and --test-format, or allow more with --max-flaky-share';
  return `${c.command}: ${flaky} of ${total} tests (${pct(flaky / total)}) changed outcome between ${plural(runs, 'clean run')}, over the ${pct(max)} limit (e.g. ${examples}${flaky > 3 ? ', ...' : ''}): the test ids are unstable or the suite is nondeterministic; ${advice}`;
}

function countStatuses(b: Baseline) {
  const v = Object.values(b.tests);
  return {
    passed: v.filter((s) => s === 'passed').length,
    failed: v.filter((s) => s === 'failed').length,
    skipped: v.filter((s) => s === 'skipped').length,
  };
}

/** Why a candidate's baseline is unusable, or null when it has passing tests. */
async function judge(
  c: Candidate,
  baseline: Baseline,
  host: SandboxHost,
  snapshot: Snapshot,
  harness: TestHarness,
  runOpts: TestRunOptions,
): Promise<string | null> {
  const f = baseline.failure;
  if (f) {
    const exit = f.exitCode === null ? 'was killed' : `exited ${f.exitCode}`;
    if (f.kind === 'no-tests') {
      const tail = await lastOutput(host, snapshot, harness, runOpts);
      const what =
        c.framework === 'custom'
          ? `no test in ${c.reason.replace('--test-format ', '')} format`
          : '0 tests';
      return `${c.command} ${exit}: ${what} parsed; ${tail ? `last output: ${JSON.stringify(tail)}` : 'it printed nothing'}`;
    }
    if (f.kind === 'script-timeout')
      return `${c.command}: ${f.message} (a hanging test? raise the limit with --timeout)`;
    if (f.kind === 'log-too-large') return `${c.command}: ${f.message}`;
    return `${c.command} ${exit}, then ${f.message}`;
  }
  const counts = countStatuses(baseline);
  if (counts.passed > 0) return null;
  const parts = [`${counts.failed} failed`, `${counts.skipped} skipped`];
  if (baseline.flaky.length) parts.push(`${baseline.flaky.length} flaky`);
  const total = counts.failed + counts.skipped + baseline.flaky.length;
  return `${c.command}: ${plural(total, 'test')} parsed, none passed${baseline.flaky.length ? ' consistently' : ''} (${parts.join(', ')})`;
}

/** What the script printed last (or its first errors), to say why nothing was parsed. */
async function lastOutput(
  host: SandboxHost,
  snapshot: Snapshot,
  harness: TestHarness,
  runOpts: TestRunOptions,
): Promise<string> {
  const sb = host.create(snapshot);
  try {
    const script = sb.exposeFile(harness.scriptPath, 'test_script.sh');
    const r = await sb.exec(`bash ${script} 2>&1`, {
      timeoutMs: runOpts.scriptTimeoutMs ?? 300_000,
      maxOutputBytes: 16 * 1024,
    });
    const lines = r.stdout
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.includes('### ssr-'));
    // The first error lines say more than the last lines (often help links or a summary).
    const errors = lines.filter((l) =>
      /\b(error|exception|not found|no such|cannot|could not|unable)\b/i.test(l),
    );
    const picked = errors.length ? errors.slice(0, 2) : lines.slice(-3);
    const text = picked.join(' | ');
    return text.length > 300 ? `${text.slice(0, 297)}...` : text;
  } catch {
    return '';
  } finally {
    await sb.dispose();
  }
}

function buildSuite(
  c: Candidate,
  scan: RepoScan,
  baseline: Baseline,
  runs: number,
  oracle: string[] | null,
): TestSuiteSpec {
  const ids = [...Object.keys(baseline.tests), ...baseline.flaky];
  let testFiles = [...new Set([...c.testFiles, ...(c.filesFromIds?.(ids) ?? [])])]
    // `<path>#inline-tests` entries name a source file by their path part.
    .filter((f) => scan.has(parseOracleEntry(f).path))
    .sort();
  const fileNotes: string[] = [];
  if (oracle) {
    testFiles = oracle;
    fileNotes.push(`oracle test files as given (--test-files): ${plural(oracle.length, 'file')}`);
  } else if (c.framework === 'custom') {
    if (!testFiles.length) testFiles = fallbackCandidate(scan)?.testFiles ?? [];
    fileNotes.push(
      `oracle test files guessed (${testFiles.length ? `from ${ids.length ? 'the test ids and ' : ''}the file names` : 'none found'}): name them with --test-files`,
    );
  }
  const counts = countStatuses(baseline);
  const notes = [
    `${c.framework}: ${c.command} (${c.reason})`,
    ...c.notes,
    ...fileNotes,
    `baseline over ${plural(runs, 'clean run')}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
  ];
  if (baseline.flaky.length) {
    notes.push(
      `dropped from the oracle: ${plural(baseline.flaky.length, 'flaky test')} whose outcome changed between ${plural(runs, 'run')}: ${listIds(baseline.flaky)}`,
    );
  }
  if (counts.failed) {
    const failed = Object.keys(baseline.tests).filter((id) => baseline.tests[id] === 'failed');
    notes.push(
      `${plural(counts.failed, 'test')} ${counts.failed === 1 ? 'fails' : 'fail'} on the original repository (baseline failures, never bug evidence): ${listIds(failed.sort())}`,
    );
  }
  const warnings = new Set(baseline.runs.flatMap((r) => (r.ok ? r.warnings : [])));
  for (const w of warnings) notes.push(`test run: ${w}`);
  if (!testFiles.length) {
    notes.push('no test files identified: write test_files.txt by hand');
  }
  if (scan.truncated) {
    notes.push(`the repository has more files than discovery lists; test files may be missing`);
  }
  return {
    framework: c.framework,
    testScript: c.testScript,
    testParser: c.testParser,
    testFiles,
    notes,
    // A suite given its oracle files by hand keeps them whole: its scope would guess.
    ...(c.scope && !oracle ? { scope: c.scope } : {}),
  };
}

function noSuiteMessage(dir: string, attempts: DiscoveryAttempt[], only?: string[]): string {
  const head = `no test suite found in ${dir}`;
  if (!attempts.length) {
    const looked = only?.length
      ? `no evidence for ${only.join(', ')}`
      : 'nothing to try: looked for package.json test tooling (scripts.test, jest, vitest, mocha, tape, node:test, tap, uvu, ava, jasmine), ' +
        'Python tests (test_*.py, pytest configuration, unittest), go.mod, Cargo.toml, pom.xml, build.gradle, ' +
        'CMakeLists.txt with tests (CTest), a Makefile check/test target, Ruby minitest, test-unit or RSpec files, ' +
        'then any test file to run on its own (*.test.js, test/*.js, test_*.py, Go _test.go, Rust tests/*.rs) ' +
        'and a Makefile test/check target; name the command with --test-command and --test-format';
    return `${head}: ${looked}`;
  }
  const tried = attempts
    .map(
      (a) =>
        `${a.framework} (${a.reason}): ${a.outcome === 'not-applicable' ? `not run: ${a.detail}` : a.detail}`,
    )
    .join('; ');
  return `${head}: tried ${tried}`;
}

import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { Artifact } from '../artifact/artifact.js';
import { artifactHash } from '../artifact/artifact.js';
import {
  findInlineTestRegions,
  type InlineTestRegion,
  inlineOraclePaths,
  inlineScopeProblems,
  inlineTestsEntry,
  oracleEntries,
  readTexts,
  wholeOraclePaths,
} from '../artifact/oracle-regions.js';
import { type FilePatch, PatchError, parsePatch, touchedPaths } from '../artifact/patch.js';
import { patchSafetyProblems, type SymlinkProbe, unsafePathReason } from '../artifact/safety.js';
import { LayerStack } from '../sandbox/layers.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import { didPass, failedIds, passedIds, type TestMap } from '../testing/results.js';
import {
  runTests,
  stageHarness,
  type TestHarness,
  type TestRunOutcome,
} from '../testing/run-tests.js';
import { errorMessage } from '../util/errors.js';
import { type Baseline, BaselineCache, computeBaseline, scaledTimeout } from './baseline.js';
import { type PathKind, probePathKinds, withPrefixes } from './path-probe.js';
import {
  CHECKS,
  type CheckKey,
  type CheckResult,
  type TestRunRecord,
  type ValidationReport,
  type ValidationSettings,
} from './report.js';

export const DEFAULT_SETTINGS: ValidationSettings = {
  minPassingTests: 1,
  minChangedFiles: 1,
  maxChangedLines: 500,
  minFailingTests: 1,
  baselineRuns: 2,
  concurrency: Math.max(1, availableParallelism()),
  scriptTimeoutMs: 300_000,
  parserTimeoutMs: 60_000,
};

export interface ValidateContext {
  host: SandboxProvider;
  /** The original repository state the artifact's diffs are relative to. */
  snapshot: Snapshot;
  cache?: BaselineCache;
  settings?: Partial<ValidationSettings>;
  onProgress?: (message: string) => void;
  /**
   * Checks not to run, with the reason recorded: a higher-order bug (SSR-SPEC 7) skips inverse
   * mutation, because a failed solver patch composed onto a bug need not be necessary for it.
   */
  skip?: Partial<Record<CheckKey, string>>;
}

class CheckFailed extends Error {}

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

const defaultCache = new BaselineCache();

/**
 * The seven consistency checks of SSR-SPEC section 3, in order, stopping at the first that
 * fails. Every test run happens in a fresh sandbox over the original snapshot; the user's
 * directory is never written.
 */
export async function validateArtifact(
  artifact: Artifact,
  ctx: ValidateContext,
): Promise<ValidationReport> {
  const started = performance.now();
  const settings: ValidationSettings = { ...DEFAULT_SETTINGS, ...ctx.settings };
  const { host, snapshot } = ctx;
  const cache = ctx.cache ?? defaultCache;
  const progress = ctx.onProgress ?? (() => {});
  const baselineOpts = {
    scriptTimeoutMs: settings.scriptTimeoutMs,
    parserTimeoutMs: settings.parserTimeoutMs,
  };
  // Runs after the baseline get a limit scaled to it (set once the baseline is known).
  const testOpts = { ...baselineOpts };
  const original = new LayerStack([...snapshot.layers]);
  // Path kinds in the original: read from the host layers, or (a backend whose snapshots are
  // not host directories) asked of a sandbox once, in check 1.
  let kindOf = (rel: string): PathKind | null => original.resolve(rel)?.kind ?? null;
  const isSymlink: SymlinkProbe = (rel) => kindOf(rel) === 'symlink';

  const report: ValidationReport = {
    artifact: { id: artifact.metadata.id, hash: artifactHash(artifact) },
    repo: snapshot.sourceDir,
    valid: false,
    failedCheck: null,
    checks: [],
    baseline: null,
    bug: null,
    weakened: null,
    inverse: null,
    warnings: [],
    testRuns: [],
    timings: { totalMs: 0, criticalPathMs: 0 },
    settings,
    sandbox: host.mode,
  };
  const stageMax = new Map<string, number>();
  const record = (label: string, stage: TestRunRecord['stage'], o: TestRunOutcome) => {
    report.testRuns.push({
      label,
      stage,
      ok: o.ok || o.kind === 'no-tests',
      scriptMs: Math.round(o.scriptMs),
      parserMs: Math.round(o.parserMs),
      ...(o.ok ? {} : { error: o.message }),
    });
    stageMax.set(stage, Math.max(stageMax.get(stage) ?? 0, o.scriptMs + o.parserMs));
    if (o.ok) for (const w of o.warnings) report.warnings.push(`${label}: ${w}`);
  };

  const harness = stageHarness(artifact.testScript, artifact.testParser);
  let bugFiles: FilePatch[] = [];
  let weakenFiles: FilePatch[] = [];
  let baseline: Baseline | null = null;
  let baselinePassed: string[] = [];
  let failing: string[] = [];

  const run = async (key: CheckKey, body: () => Promise<string>): Promise<boolean> => {
    const def = CHECKS.find((c) => c.key === key)!;
    const t0 = performance.now();
    progress(`check ${def.id}/7 ${def.name}`);
    const result: CheckResult = {
      id: def.id,
      key,
      name: def.name,
      status: 'passed',
      message: '',
      durationMs: 0,
    };
    try {
      result.message = await body();
    } catch (err) {
      result.status = 'failed';
      result.message = errorMessage(err);
      if (!(err instanceof CheckFailed) && !(err instanceof PatchError)) {
        result.message = `internal error: ${result.message}`;
      }
      report.failedCheck = { id: def.id, key, name: def.name, message: result.message };
    }
    result.durationMs = Math.round(performance.now() - t0);
    report.checks.push(result);
    return result.status === 'passed';
  };
  const fail = (msg: string): never => {
    throw new CheckFailed(msg);
  };

  /** One test run in a fresh sandbox with the given patches applied, in order. */
  const runWith = async (label: string, stage: TestRunRecord['stage'], patches: string[]) => {
    const sb = host.create(snapshot);
    try {
      const applied = await sb.applyPatches(patches);
      if (!applied.ok) fail(`${label}: patch does not apply: ${applied.message}`);
      const o = await runTests(sb, harness, testOpts);
      record(label, stage, o);
      return o;
    } finally {
      await sb.dispose();
    }
  };
  /** Test map of a run; "no tests found" means every test is missing, i.e. not passing. */
  const mapOf = (label: string, o: TestRunOutcome): TestMap => {
    if (o.ok) return o.tests;
    if (o.kind === 'no-tests') return {};
    return fail(`${label}: ${o.message}`);
  };

  const checks: [CheckKey, () => Promise<string>][] = [
    [
      'files',
      async () => {
        if (artifact.testFiles.length === 0) fail('test_files.txt lists no test files');
        const entries = oracleEntries(artifact.testFiles);
        for (const { path } of entries) {
          const why = unsafePathReason(path);
          if (why) fail(`test_files.txt: ${why}`);
        }
        if (snapshot.layers.length === 0) {
          const kinds = await probePathKinds(
            host,
            snapshot,
            withPrefixes([...entries.map((e) => e.path), ...touchedIfParsable(artifact)]),
          );
          kindOf = (rel) => kinds.get(rel) ?? null;
        }
        for (const { path: f } of entries) {
          const kind = kindOf(f);
          if (!kind) fail(`test_files.txt: ${f} does not exist in the original repository`);
          if (kind !== 'file') fail(`test_files.txt: ${f} is a ${kind}, not a regular file`);
        }
        bugFiles = parsePatch(artifact.bugDiff, 'bug_inject.diff');
        weakenFiles = parsePatch(artifact.weakenDiff, 'test_weaken.diff');
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
          fail(
            `test_weaken.diff touches file(s) not in test_files.txt: ${weakenOutside.join(', ')}`,
          );
        }
        const sb = host.create(snapshot);
        try {
          // Files with inline oracle tests: the bug stays outside their test regions, the
          // weakening inside (see artifact/oracle-regions.ts), in the original's lines.
          const regions = new Map<string, InlineTestRegion[]>();
          for (const [f, text] of await readTexts(sb, inline)) {
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
          const scope = [
            ...inlineScopeProblems('bug_inject.diff', bugFiles, regions),
            ...inlineScopeProblems('test_weaken.diff', weakenFiles, regions),
          ];
          if (scope.length) fail(scope.join('; '));
          // Each is checked against the original, in one command.
          const r = await sb.applyPatches([artifact.bugDiff, artifact.weakenDiff], { check: true });
          if (!r.ok) {
            const which = r.failedIndex === 2 ? 'test_weaken.diff' : 'bug_inject.diff';
            fail(`${which} does not apply to the repository: ${r.message}`);
          }
          // A file both change gets the weakening on top of the bug (the solver's start state).
          const shared = touchedPaths(weakenFiles).filter((p) =>
            touchedPaths(bugFiles).includes(p),
          );
          if (shared.length) {
            const both = await sb.applyPatches([artifact.bugDiff, artifact.weakenDiff]);
            if (!both.ok) {
              fail(
                `test_weaken.diff does not apply on top of bug_inject.diff (both change ${shared.join(', ')}; keep their hunks 3+ lines apart): ${both.message}`,
              );
            }
          }
        } finally {
          await sb.dispose();
        }
        const regionNote = inline.length ? ` (${inline.length} with inline-test regions only)` : '';
        return `${entries.length} oracle test file(s)${regionNote}; bug changes ${touchedPaths(bugFiles).length} file(s); both diffs apply`;
      },
    ],
    [
      'parser',
      async () => {
        const key = cache.key(
          snapshot,
          artifact.testScript,
          artifact.testParser,
          settings.baselineRuns,
        );
        progress(`running the original test suite (${settings.baselineRuns} runs)`);
        baseline = await cache.get(key, () =>
          computeBaseline(
            host,
            snapshot,
            harness,
            settings.baselineRuns,
            baselineOpts,
            settings.concurrency,
          ),
        );
        const b = baseline;
        if (!b.cached) {
          for (const [i, o] of b.runs.entries()) record(`original run ${i + 1}`, 'baseline', o);
        }
        if (b.failure) fail(`on the original repository: ${b.failure.message}`);
        testOpts.scriptTimeoutMs = scaledTimeout(b, settings.scriptTimeoutMs);
        report.timings.runTimeoutMs = testOpts.scriptTimeoutMs;
        const total = Object.keys(b.tests).length + b.flaky.length;
        if (total === 0) fail('test_parser.py found no tests on the original repository');
        return `${total} test(s) parsed on the original repository${b.cached ? ' (cached)' : ''}`;
      },
    ],
    [
      'script',
      async () => {
        const b = baseline!;
        baselinePassed = passedIds(b.tests);
        const baselineFailed = failedIds(b.tests);
        report.baseline = {
          passed: baselinePassed,
          failed: baselineFailed,
          flaky: b.flaky,
          runs: b.runs.length,
          cached: b.cached,
          tests: b.tests,
        };
        if (b.flaky.length) {
          report.warnings.push(
            `${b.flaky.length} flaky test(s) excluded: ${b.flaky.slice(0, 5).join(', ')}`,
          );
        }
        if (baselinePassed.length < settings.minPassingTests) {
          fail(
            `only ${baselinePassed.length} test(s) pass on the original repository; at least ` +
              `${settings.minPassingTests} required`,
          );
        }
        return (
          `${baselinePassed.length} pass on the original, ${baselineFailed.length} fail there ` +
          `(baseline failures, never evidence), ${b.flaky.length} flaky (excluded)`
        );
      },
    ],
    [
      'scope',
      async () => {
        const files = touchedPaths(bugFiles);
        const lines = bugFiles.reduce((n, f) => n + f.added + f.removed, 0);
        if (files.length < settings.minChangedFiles) {
          fail(
            `bug changes ${files.length} file(s); at least ${settings.minChangedFiles} required`,
          );
        }
        if (lines > settings.maxChangedLines) {
          fail(`bug changes ${lines} lines; at most ${settings.maxChangedLines} allowed`);
        }
        return `${files.length} file(s), ${lines} line(s) changed`;
      },
    ],
    [
      'bug',
      async () => {
        progress('running the tests with the bug');
        const o = await runWith('with bug', 'bug', [artifact.bugDiff]);
        const tests = mapOf('test run with the bug', o);
        failing = baselinePassed.filter((id) => !didPass(tests, id));
        report.bug = { failing, tests };
        if (failing.length < settings.minFailingTests) {
          fail(
            `${failing.length} test(s) that pass on the original fail with the bug; at least ` +
              `${settings.minFailingTests} required`,
          );
        }
        return `${failing.length} test(s) fail with the bug: ${preview(failing)}`;
      },
    ],
    [
      'weakening',
      async () => {
        progress('running the tests with the bug and the weakened tests');
        const o = await runWith('with bug + weakening', 'weakened', [
          artifact.bugDiff,
          artifact.weakenDiff,
        ]);
        const tests = mapOf('test run with bug and weakening', o);
        const restored = failing.filter((id) => didPass(tests, id));
        report.weakened = { restored, tests };
        if (restored.length === 0) {
          fail(
            'with the weakened tests, none of the bug-failing tests passes: the weakening hides nothing',
          );
        }
        return `${restored.length} of ${failing.length} bug-failing test(s) pass with the weakening`;
      },
    ],
    [
      'inverse',
      async () => {
        if (bugFiles.length === 1) {
          report.inverse = [{ file: touchedPaths(bugFiles)[0]!, restored: failing }];
          return 'single-file bug: reverting it restores the original, where all bug-failing tests pass';
        }
        progress(`reverting each of ${bugFiles.length} changed files`);
        const limit = pLimit(settings.concurrency);
        const results = await Promise.all(
          bugFiles.map((file) =>
            limit(async () => {
              const name = file.newPath ?? file.oldPath ?? '?';
              const rest = bugFiles
                .filter((f) => f !== file)
                .map((f) => f.raw)
                .join('');
              try {
                const o = await runWith(`bug without ${name}`, 'inverse', [rest]);
                const tests = mapOf(`test run without ${name}`, o);
                return { file: name, restored: failing.filter((id) => didPass(tests, id)) };
              } catch (err) {
                return { file: name, restored: [] as string[], error: errorMessage(err) };
              }
            }),
          ),
        );
        report.inverse = results;
        const unneeded = results.filter((r) => r.restored.length === 0);
        if (unneeded.length) {
          fail(
            `reverting ${unneeded.map((r) => r.file).join(', ')} alone restores no failing test: ` +
              'every changed file must be necessary for the bug' +
              unneeded.map((r) => (r.error ? ` (${r.file}: ${r.error})` : '')).join(''),
          );
        }
        return `each of ${results.length} changed files is necessary`;
      },
    ],
  ];

  try {
    for (const [key, body] of checks) {
      const why = ctx.skip?.[key];
      if (why !== undefined) {
        const def = CHECKS.find((c) => c.key === key)!;
        report.checks.push({ ...def, status: 'skipped', message: why, durationMs: 0 });
        continue;
      }
      if (!(await run(key, body))) break;
    }
  } finally {
    harness.cleanup();
  }
  for (const def of CHECKS) {
    if (!report.checks.some((c) => c.key === def.key)) {
      report.checks.push({
        ...def,
        status: 'skipped',
        message: 'not run: an earlier check failed',
        durationMs: 0,
      });
    }
  }
  report.valid = report.failedCheck === null;
  report.timings.totalMs = Math.round(performance.now() - started);
  report.timings.criticalPathMs = Math.round([...stageMax.values()].reduce((a, b) => a + b, 0));
  return report;
}

function preview(ids: string[], n = 3): string {
  const shown = ids.slice(0, n).join(', ');
  return ids.length > n ? `${shown}, ... (+${ids.length - n})` : shown;
}

export type { TestHarness };

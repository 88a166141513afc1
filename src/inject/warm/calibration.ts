/**
 * Calibration of a warm pool: every passing test runs twice in one worker, unedited (the
 * second time recording what each test executes), and is compared with the clean run. A test
 * that does not pass both times (it needs a fresh process, or leaks into the next run) is
 * unreliable warm; too many such tests and the warm runner is refused.
 *
 * The tests are split between the pool's workers, which calibrate at once: on 2 cores the
 * recording run (V8 coverage taken between tests) was most of the warm start (13 s of espree's
 * 17 s of set-up). A file whose tests are split is loaded by each worker that runs some.
 */
import { errorMessage } from '../../util/errors.js';
import type { WarmMochaWorker, WarmOutcome, WarmPool } from './warm-mocha.js';

/**
 * Calibration's verdict: the warm runner agrees with the clean run, but for `unreliable`;
 * `coverage` is what each test executed (the second run records it), `ms` a plain run's time.
 */
export type Calibration =
  | {
      ok: true;
      unreliable: Set<string>;
      /** A plain warm run of every test, ms (the groups' times added up). */
      ms: number;
      coverage: Map<string, Map<string, number[]>>;
      /** Test file -> lines its loading ran (from the recording run). */
      loads: Map<string, Map<string, number[]>>;
      /** Test file -> its tests' time in the plain run, ms. */
      fileMs: Map<string, number>;
      transpiled: boolean;
    }
  | { ok: false; reason: string };

/** One worker's share: test files, and the ids of the tests to run in them (all: none given). */
export interface CalibrationGroup {
  files: string[];
  only?: string[];
}

/**
 * `passing` split into at most `workers` groups of about as many tests, in file order, so
 * each file is loaded by as few workers as can be. One group of every file when there is one
 * worker or a test's file is not known (then the baseline's failing tests run too, unread).
 */
export function calibrationGroups(
  files: readonly string[],
  passing: readonly string[],
  fileOf: ((id: string) => string | null | undefined) | undefined,
  workers: number,
): CalibrationGroup[] {
  const whole = [{ files: [...files] }];
  if (workers <= 1 || !fileOf || passing.length < 2 * workers) return whole;
  const byFile = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const id of passing) {
    const f = fileOf(id);
    if (!f) return whole;
    byFile.get(f)?.push(id);
  }
  const ordered = [...byFile.values()].flat();
  const per = Math.ceil(ordered.length / workers);
  const groups: CalibrationGroup[] = [];
  for (let i = 0; i < ordered.length; i += per) {
    const only = ordered.slice(i, i + per);
    const groupFiles = [...new Set(only.map((id) => fileOf(id)!))];
    groups.push({ files: groupFiles, only });
  }
  return groups;
}

type GroupResult =
  | {
      ok: true;
      plain: Extract<WarmOutcome, { ok: true }>;
      recorded: Extract<WarmOutcome, { ok: true }>;
    }
  | { ok: false; reason: string };

/** A group's plain run, then its recording run, in the same worker. */
async function calibrateGroup(
  w: WarmMochaWorker,
  g: CalibrationGroup,
  timeoutMs: number,
): Promise<GroupResult> {
  const only = g.only ? { only: g.only } : {};
  const plain = await w.run({}, g.files, timeoutMs, only);
  if (!plain.ok) return plain;
  const recorded = await w.run({}, g.files, timeoutMs, { ...only, coverage: true });
  if (!recorded.ok) return recorded;
  return { ok: true, plain, recorded };
}

/** The groups' results as one calibration. */
export function mergeCalibration(
  results: readonly GroupResult[],
  baselinePassed: readonly string[],
  maxUnreliableShare: number,
): Calibration {
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) return { ok: false, reason: failed.reason };
  const ok = results.filter((r): r is Extract<GroupResult, { ok: true }> => r.ok);
  const passedPlain = new Set(ok.flatMap((r) => [...r.plain.passed]));
  const passedRecorded = new Set(ok.flatMap((r) => [...r.recorded.passed]));
  const unreliable = new Set(
    baselinePassed.filter((id) => !passedPlain.has(id) || !passedRecorded.has(id)),
  );
  const share = unreliable.size / Math.max(1, baselinePassed.length);
  if (share > maxUnreliableShare) {
    return {
      ok: false,
      reason: `${unreliable.size} of ${baselinePassed.length} tests that pass in a clean run do not pass warm`,
    };
  }
  const coverage = new Map<string, Map<string, number[]>>();
  const loads = new Map<string, Map<string, number[]>>();
  const fileMs = new Map<string, number>();
  for (const { plain, recorded } of ok) {
    for (const [id, lines] of recorded.coverage ?? []) coverage.set(id, lines);
    for (const [file, lines] of recorded.loads ?? []) {
      loads.set(file, unionLines(loads.get(file), lines));
    }
    for (const [file, ms] of plain.fileMs) fileMs.set(file, (fileMs.get(file) ?? 0) + ms);
  }
  return {
    ok: true,
    unreliable,
    ms: ok.reduce((sum, r) => sum + r.plain.ms, 0),
    coverage,
    loads,
    fileMs,
    transpiled: ok.some((r) => r.recorded.transpiled),
  };
}

function unionLines(
  a: ReadonlyMap<string, number[]> | undefined,
  b: ReadonlyMap<string, number[]>,
): Map<string, number[]> {
  const out = new Map(a ?? []);
  for (const [source, lines] of b) {
    const set = new Set([...(out.get(source) ?? []), ...lines]);
    out.set(
      source,
      [...set].sort((x, y) => x - y),
    );
  }
  return out;
}

/** Calibrates `pool` on `files`, its workers sharing the tests (see the module comment). */
export async function calibrate(
  pool: WarmPool,
  files: readonly string[],
  baselinePassed: readonly string[],
  timeoutMs: number,
  opts: {
    workers?: number;
    fileOf?: (id: string) => string | null | undefined;
    maxUnreliableShare?: number;
  } = {},
): Promise<Calibration> {
  const groups = calibrationGroups(files, baselinePassed, opts.fileOf, opts.workers ?? 1);
  const results = await Promise.all(
    groups.map((g) =>
      pool
        .withWorker((w) => calibrateGroup(w, g, timeoutMs))
        .catch((err: unknown): GroupResult => ({ ok: false, reason: errorMessage(err) })),
    ),
  );
  return mergeCalibration(results, baselinePassed, opts.maxUnreliableShare ?? 0.05);
}

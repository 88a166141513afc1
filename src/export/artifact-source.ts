/**
 * The valid artifacts of a self-play run directory or an `ssr inject` output, with what task
 * exports (Harbor, SWE-bench) need beside the five files: the validation report (which tests
 * pass on the original, which the bug breaks), the original repository, and for runs the
 * solve-rate history and the policy that wrote the bug.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Artifact, readArtifact } from '../artifact/artifact.js';
import { outputKind } from '../store/output-kind.js';
import { episodePolicy, RunStore } from '../store/run-store.js';
import { errorMessage, UsageError } from '../util/errors.js';
import type { ValidationReport } from '../validate/report.js';

export interface SolveRateEntry {
  step: number;
  solved: number;
  attempts: number;
  solveRate: number;
}

export interface ExportableArtifact {
  artifact: Artifact;
  /** The artifact's folder. */
  dir: string;
  report: ValidationReport;
  /** The original repository (absolute) the diffs apply to. */
  repoDir: string;
  /** Solve rates measured by a self-play run, oldest first (empty outside runs). */
  solveRates: SolveRateEntry[];
  /** The policy that wrote the bug (the injector episode's), when the run recorded one. */
  policy: { model: string | null; version: string | null } | null;
}

export interface SkippedArtifact {
  id: string;
  reason: string;
}

export interface ArtifactSource {
  kind: 'run' | 'inject';
  dir: string;
  artifacts: ExportableArtifact[];
  skipped: SkippedArtifact[];
}

function readReport(dir: string): ValidationReport | string {
  const path = join(dir, 'validation.json');
  if (!existsSync(path)) return 'no validation.json (check it with ssr validate first)';
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ValidationReport;
  } catch (err) {
    return `validation.json is not readable JSON: ${errorMessage(err)}`;
  }
}

/** Artifact folders of an inject output: subfolders holding the five files. */
function injectArtifactDirs(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => join(root, d.name))
    .filter((d) => existsSync(join(d, 'bug_inject.diff')) || existsSync(join(d, 'bug_patch.diff')))
    .sort();
}

/**
 * Opens a run directory (run.json) or an inject output (summary.json or .ssr/) and reads every
 * valid artifact in it; the ones that cannot be exported are listed with the reason.
 * `repoOverride` replaces the repository recorded in the validation report (moved checkouts).
 */
export function readArtifactSource(dir: string, repoOverride?: string): ArtifactSource {
  const root = resolve(dir);
  const isRun = outputKind(dir) === 'run';
  if (repoOverride && !existsSync(resolve(repoOverride)))
    throw new UsageError(`--repo ${repoOverride} does not exist`);

  const entries: {
    dir: string;
    solveRates: SolveRateEntry[];
    policy: ExportableArtifact['policy'];
  }[] = [];
  if (isRun) {
    const store = RunStore.open(root);
    try {
      const episodes = store.episodes();
      const rates = store.solveRates();
      for (const a of store.artifacts()) {
        if (!a.valid) continue;
        const episode = a.episodeId ? episodes.find((e) => e.id === a.episodeId) : undefined;
        entries.push({
          dir: store.artifactDir(a.id),
          solveRates: rates
            .filter((r) => r.artifactId === a.id)
            .map(({ step, solved, attempts, solveRate }) => ({
              step,
              solved,
              attempts,
              solveRate,
            })),
          policy: episode ? episodePolicy(episode) : null,
        });
      }
    } finally {
      store.close();
    }
  } else {
    for (const d of injectArtifactDirs(root))
      entries.push({ dir: d, solveRates: [], policy: null });
  }

  const artifacts: ExportableArtifact[] = [];
  const skipped: SkippedArtifact[] = [];
  for (const e of entries) {
    const id = e.dir.split('/').at(-1)!;
    let artifact: Artifact;
    try {
      artifact = readArtifact(e.dir);
    } catch (err) {
      skipped.push({ id, reason: errorMessage(err) });
      continue;
    }
    const report = readReport(e.dir);
    if (typeof report === 'string') {
      skipped.push({ id, reason: report });
      continue;
    }
    if (!report.valid || !report.baseline || !report.bug) {
      skipped.push({ id, reason: 'its validation report does not say valid' });
      continue;
    }
    const repoDir = resolve(repoOverride ?? report.repo);
    if (!existsSync(repoDir)) {
      skipped.push({
        id,
        reason: `its repository ${repoDir} no longer exists (pass --repo where it is now)`,
      });
      continue;
    }
    artifacts.push({
      artifact,
      dir: e.dir,
      report,
      repoDir,
      solveRates: e.solveRates,
      policy: e.policy,
    });
  }
  return { kind: isRun ? 'run' : 'inject', dir: root, artifacts, skipped };
}

/** Tests that pass on the original (flaky ones excluded): a fix must keep every one passing. */
export function mustPass(report: ValidationReport): string[] {
  return [...(report.baseline?.passed ?? [])].sort();
}

/** Tests that pass on the original and fail with the bug (SWE-bench's FAIL_TO_PASS). */
export function failToPass(report: ValidationReport): string[] {
  return [...(report.bug?.failing ?? [])].sort();
}

/** Tests that pass on the original and still pass with the bug (PASS_TO_PASS). */
export function passToPass(report: ValidationReport): string[] {
  const failing = new Set(report.bug?.failing ?? []);
  return mustPass(report).filter((id) => !failing.has(id));
}

/** The slowest clean run of the suite the validation saw, in ms (0 when none was timed). */
export function slowestCleanRunMs(report: ValidationReport): number {
  // `ssr inject` takes the clean runs from discovery, so its reports may time none of them:
  // then the slowest run of any stage stands in.
  const runs = report.testRuns.some((r) => r.stage === 'baseline')
    ? report.testRuns.filter((r) => r.stage === 'baseline')
    : report.testRuns;
  return Math.max(0, ...runs.map((r) => r.scriptMs + r.parserMs));
}

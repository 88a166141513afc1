/**
 * Higher-order bugs in a run (SSR-SPEC 7): composed from solver attempts that failed, validated,
 * kept in the run, and scheduled for solvers in later steps (the pool).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Artifact, artifactHash } from '../artifact/artifact.js';
import type { ArtifactRecordV1, EpisodeRecordV1, SolveRateRecordV1 } from '../store/run-store.js';
import { validateArtifact } from '../validate/validator.js';
import { composeHigherOrder } from './higher-order.js';
import {
  artifactRecord,
  type RepoState,
  type SelfPlayRun,
  writeValidArtifact,
} from './run-context.js';

/** The failed attempts of a group to compose bugs from: unsolved with a patch, first `max`. */
export function failedAttemptsToCompose(
  attempts: EpisodeRecordV1[],
  max: number,
): EpisodeRecordV1[] {
  return attempts
    .filter((e) => e.outcome === 'unsolved' && e.patch)
    .sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0))
    .slice(0, max);
}

/**
 * The higher-order bugs a step's solvers work on: valid ones made before `step` and not
 * attempted before it, oldest first, at most `perStep`.
 */
export function pooledHigherOrder(
  artifacts: ArtifactRecordV1[],
  solveRates: SolveRateRecordV1[],
  step: number,
  perStep: number,
): string[] {
  const attemptedBefore = new Set(solveRates.filter((r) => r.step < step).map((r) => r.artifactId));
  return artifacts
    .filter(
      (a) => a.source === 'higher-order' && a.valid && a.step < step && !attemptedBefore.has(a.id),
    )
    .sort((a, b) => a.step - b.step || a.id.localeCompare(b.id))
    .slice(0, perStep)
    .map((a) => a.id);
}

/**
 * Composes the failed patch of solver episode `from` onto its bug and journals the result: a
 * valid higher-order artifact, an invalid one, or a `-ho-none-` record when the patch adds
 * nothing. Done once per failed episode (its record marks it done).
 */
export async function composeFromFailedAttempt(
  run: SelfPlayRun,
  step: number,
  repo: RepoState,
  parent: Artifact,
  from: EpisodeRecordV1,
): Promise<void> {
  if (run.store.artifacts().some((a) => a.fromEpisode === from.id)) return;
  const failedPatch = readFileSync(join(run.store.dir, from.patch!), 'utf8');
  const composed = await composeHigherOrder({
    host: run.host,
    original: repo.snapshot,
    parent,
    failedPatch,
    createdBy: `ssr selfplay (higher order, from ${from.id})`,
  });
  const base = {
    kind: 'artifact' as const,
    step,
    repo: repo.dir,
    source: 'higher-order' as const,
    parent: parent.metadata.id,
    order: parent.metadata.order + 1,
    fromEpisode: from.id,
  };
  if (!composed) {
    run.journal.artifact({
      ...base,
      id: `${parent.metadata.id}-ho-none-${from.attempt}`,
      valid: false,
      reason: 'the failed patch adds nothing to the bug',
    });
    return;
  }
  if (artifactRecord(run.store, composed.metadata.id)) return;
  const report = await validateArtifact(composed, {
    host: run.host,
    snapshot: repo.snapshot,
    cache: run.cache,
    settings: run.validation,
    skip: {
      inverse:
        'higher-order bug: the failed patch composed onto the bug need not be necessary (SSR-SPEC 7)',
    },
  });
  if (report.valid) writeValidArtifact(run.store, composed, report);
  const f = report.failedCheck;
  run.journal.artifact({
    ...base,
    id: composed.metadata.id,
    hash: artifactHash(composed),
    valid: report.valid,
    reason: report.valid ? 'valid' : `check ${f!.id} (${f!.name}): ${f!.message}`,
    ...(f ? { failedCheck: { id: f.id, name: f.name } } : {}),
  });
}

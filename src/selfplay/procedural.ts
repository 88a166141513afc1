/**
 * Procedural artifacts mixed into a step (`proceduralPerStep`): bugs from `injectBugs`, made in
 * the run's `procedural/<repo>` folder and copied into the run like the LLM's valid bugs.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { artifactHash, readArtifact } from '../artifact/artifact.js';
import { injectBugs } from '../inject/pipeline.js';
import type { ArtifactRecordV1 } from '../store/run-store.js';
import { artifactRecord, type RepoState, type SelfPlayRun, stopIfAsked } from './run-context.js';

/**
 * The procedural artifacts a step has already (`thisStep`) and how many bugs `injectBugs` must
 * hold in all for `repoDir` to make up the rest (`count`; 0: nothing to make).
 */
export function proceduralNeed(
  artifacts: ArtifactRecordV1[],
  step: number,
  perStep: number,
  repoDir: string,
): { thisStep: string[]; count: number } {
  if (perStep <= 0) return { thisStep: [], count: 0 };
  const have = artifacts.filter((a) => a.source === 'procedural');
  const thisStep = have.filter((a) => a.step === step).map((a) => a.id);
  if (thisStep.length >= perStep) return { thisStep, count: 0 };
  const fromRepo = have.filter((a) => a.repo === repoDir).length;
  return { thisStep, count: fromRepo + perStep - thisStep.length };
}

/** The step's procedural artifacts (one repository per step, in turn), made as needed. */
export async function runProcedural(run: SelfPlayRun, step: number): Promise<string[]> {
  const s = run.settings;
  const repo = run.repos[step % run.repos.length]!;
  const { thisStep, count } = proceduralNeed(
    run.store.artifacts(),
    step,
    s.proceduralPerStep,
    repo.dir,
  );
  if (count === 0) return thisStep;
  stopIfAsked(run.signal);
  // injectBugs is resumable: asking for more each step continues its own journal.
  const summary = await injectBugs({
    repo: repo.dir,
    out: join(run.store.dir, 'procedural', repo.name),
    count,
    seed: s.seed,
    host: run.host,
    signal: run.signal,
    settings: s.testTimeoutMs ? { scriptTimeoutMs: s.testTimeoutMs } : undefined,
    discovery: s.tests?.[repo.dir],
  });
  return adoptProcedural(run, step, repo, summary.artifacts, thisStep);
}

/**
 * Copies new procedural bugs into the run until the step has its share, skipping ones the run
 * has (by id or content); returns the step's procedural artifact ids.
 */
function adoptProcedural(
  run: SelfPlayRun,
  step: number,
  repo: RepoState,
  made: string[],
  thisStep: string[],
): string[] {
  const ids = [...thisStep];
  for (const id of made) {
    if (ids.length >= run.settings.proceduralPerStep) break;
    if (artifactRecord(run.store, id)) continue;
    const src = join(run.store.dir, 'procedural', repo.name, id);
    const hash = artifactHash(readArtifact(src));
    if (run.store.artifacts().some((a) => a.hash === hash)) continue;
    const dest = run.store.artifactDir(id);
    rmSync(dest, { recursive: true, force: true });
    cpSync(src, dest, { recursive: true });
    run.journal.artifact({
      kind: 'artifact',
      id,
      step,
      repo: repo.dir,
      source: 'procedural',
      hash,
      parent: null,
      order: 1,
      valid: true,
      reason: 'valid',
    });
    ids.push(id);
  }
  return ids;
}

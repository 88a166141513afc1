/**
 * The two roles as episodes of the one agent loop (`runEpisode`), composed from the library's
 * parts so the server can bound their test runs and reuse prepared start states.
 */
import {
  collectArtifact,
  INJECTOR_SYSTEM,
  type InjectorStrategy,
  injectorPrompt,
} from '../agent/injector.js';
import { type EpisodeBudget, runEpisode, type Trajectory } from '../agent/loop.js';
import { SOLVER_SYSTEM, solverIssuePrompt } from '../agent/solver.js';
import { evaluateSolution, type SolverStart, solverPatch } from '../agent/solver-env.js';
import { defaultTools } from '../agent/tools/index.js';
import type { ModelClient } from '../agent/types.js';
import { type Artifact, artifactHash, parseTestFiles } from '../artifact/artifact.js';
import type { Snapshot } from '../sandbox/types.js';
import type { Baseline } from '../validate/baseline.js';
import type { ValidationReport } from '../validate/report.js';
import type { ServeEnvironment } from './environment.js';
import type { InlineArtifact, OutcomeOut } from './schemas.js';

export type RoleOutcome = Omit<OutcomeOut, 'status' | 'endReason' | 'error'> & {
  trajectory: Trajectory;
  reward: number | null;
};

/** Runs one episode with whatever model answers; the server supplies an ExternalModel. */
export type RoleRunner = (model: ModelClient, signal: AbortSignal) => Promise<RoleOutcome>;

export interface LoopSettings {
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  topP?: number;
}

export const INJECTOR_REWARD_NOTE =
  'valid artifact: the injector reward depends on the solve rate s of n solver rollouts on it ' +
  '(SSR-SPEC 5: -alpha if s is 0 or 1, else 1 - (1 + alpha) * s); run them with role "solver" ' +
  'and this artifact inline';

export function artifactFromInline(a: InlineArtifact, repo: string): Artifact {
  const files = {
    testScript: a.test_script,
    testFiles: parseTestFiles(a.test_files.join('\n')),
    testParser: a.test_parser,
    bugDiff: a.bug_inject_diff,
    weakenDiff: a.test_weaken_diff,
  };
  return {
    ...files,
    metadata: {
      id: a.id ?? `inline-${artifactHash(files).slice(0, 12)}`,
      repo,
      parent: null,
      order: 1,
      strategy: 'unknown',
      createdBy: 'ssr serve client',
      createdAt: new Date().toISOString(),
    },
  };
}

export function inlineFromArtifact(a: Artifact): InlineArtifact {
  return {
    id: a.metadata.id,
    test_script: a.testScript,
    test_files: a.testFiles,
    test_parser: a.testParser,
    bug_inject_diff: a.bugDiff,
    test_weaken_diff: a.weakenDiff,
  };
}

export function validationSummary(r: ValidationReport): NonNullable<RoleOutcome['validation']> {
  return {
    valid: r.valid,
    failedCheck: r.failedCheck
      ? { id: r.failedCheck.id, name: r.failedCheck.name, message: r.failedCheck.message }
      : null,
    checks: r.checks.map((c) => ({ id: c.id, name: c.name, status: c.status, message: c.message })),
    warnings: r.warnings,
  };
}

const stopped = (trajectory: Trajectory): RoleOutcome => ({
  trajectory,
  reward: null,
  rewardNote: 'the episode was stopped before grading',
});

export function solverRunner(
  env: ServeEnvironment,
  ctx: {
    original: Snapshot;
    artifact: Artifact;
    baseline: Baseline;
    start: SolverStart;
    runTimeoutMs?: number;
  },
  settings: LoopSettings,
): RoleRunner {
  return async (model, signal) => {
    const sb = env.host.create(ctx.start.snapshot);
    let trajectory: Trajectory;
    let patch: string;
    try {
      trajectory = await runEpisode({
        model,
        sandbox: sb,
        system: SOLVER_SYSTEM,
        user: solverIssuePrompt(ctx.start.specification, 'tests'),
        tools: defaultTools(),
        ...settings,
        signal,
      });
      if (signal.aborted) return stopped(trajectory);
      patch = await solverPatch(sb);
    } finally {
      // Freed before grading, which can wait for a test slot.
      await sb.dispose();
    }
    const evaluation = await env.limitTests(() =>
      evaluateSolution(env.host, ctx.original, ctx.artifact, ctx.baseline, patch, {
        testOptions: ctx.runTimeoutMs ? { scriptTimeoutMs: ctx.runTimeoutMs } : undefined,
      }),
    );
    return {
      trajectory,
      reward: evaluation.reward,
      evaluation: {
        solved: evaluation.solved,
        reason: evaluation.reason,
        failing: evaluation.failing,
        discarded: evaluation.discarded,
      },
      patch,
    };
  };
}

export function injectorRunner(
  env: ServeEnvironment,
  ctx: { original: Snapshot; repo: string; strategy: InjectorStrategy },
  settings: LoopSettings,
): RoleRunner {
  return async (model, signal) => {
    const sb = env.host.create(ctx.original);
    let trajectory: Trajectory;
    let files: Omit<Artifact, 'metadata'> | string;
    try {
      trajectory = await runEpisode({
        model,
        sandbox: sb,
        system: INJECTOR_SYSTEM,
        user: injectorPrompt(ctx.strategy),
        tools: defaultTools(),
        ...settings,
        signal,
      });
      if (signal.aborted) return stopped(trajectory);
      files = await collectArtifact(sb);
    } finally {
      await sb.dispose();
    }
    if (typeof files === 'string') {
      return { trajectory, reward: -1, rewardNote: files, artifact: null, validation: null };
    }
    const artifact: Artifact = {
      ...files,
      metadata: {
        id: `${ctx.strategy}-${artifactHash(files).slice(0, 12)}`,
        repo: ctx.repo,
        parent: null,
        order: 1,
        strategy: `llm-${ctx.strategy}`,
        createdBy: 'ssr serve injector episode',
        createdAt: new Date().toISOString(),
      },
    };
    const { report } = await env.validate(ctx.repo, artifact);
    const validation = validationSummary(report);
    return {
      trajectory,
      reward: report.valid ? null : -1,
      rewardNote: report.valid
        ? INJECTOR_REWARD_NOTE
        : `invalid artifact: check ${report.failedCheck!.id} (${report.failedCheck!.name}): ${report.failedCheck!.message}`,
      artifact: inlineFromArtifact(artifact),
      validation,
    };
  };
}

import type { Artifact } from '../artifact/artifact.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import type { TestRunOptions } from '../testing/run-tests.js';
import type { Baseline } from '../validate/baseline.js';
import { type EpisodeBudget, endedOnModelError, runEpisode, type Trajectory } from './loop.js';
import {
  type Evaluation,
  evaluateSolution,
  prepareSolverStart,
  type SolverStart,
  solverPatch,
} from './solver-env.js';
import { defaultTools } from './tools/index.js';
import type { ModelClient } from './types.js';

/** The general issue-solving prompt, the same for self-play and natural-language issues. */
export const SOLVER_SYSTEM = `You are an expert software engineer. A repository is checked out at /repo and you work inside it through tools:
- bash: run a shell command in /repo (no network).
- editor: view, create and edit files (str_replace, insert, undo_edit).
- submit: call it when your change is complete; your changes to the repository are your answer.
Call exactly one tool per turn. Investigate before you edit, and run the relevant tests to check your work.`;

/**
 * Wraps an issue (natural language, or a self-play test specification) for the solver. `repo`
 * is where the repository is (exports to other harnesses may put it elsewhere than /repo).
 */
export function solverIssuePrompt(issue: string, kind: 'tests' | 'text', repo = '/repo'): string {
  if (kind === 'text') {
    return `Resolve the following issue in the repository at ${repo}.\n\n<issue>\n${issue}\n</issue>\n\nChange the non-test code so that the issue is resolved, then call submit.`;
  }
  return (
    `Resolve the issue in the repository at ${repo}. The issue is given as a change to the test ` +
    'suite: after your fix, the tests as changed below must pass (the test files will be reset ' +
    'to this version before grading, so editing them gains nothing).\n\n' +
    `<test_changes>\n${issue}\n</test_changes>\n\n` +
    'Change the non-test code so that these tests pass, then call submit.'
  );
}

export interface SolveAttempt {
  trajectory: Trajectory;
  patch: string;
  evaluation: Evaluation;
  /**
   * Set when the episode ended on a model error (see `endedOnModelError`): the attempt says
   * nothing about the policy and counts toward no solve rate.
   */
  error?: string;
}

export interface SolveResult {
  attempts: SolveAttempt[];
  /** Attempts that ended on a model error (left out of `solved` and `solveRate`). */
  errors: number;
  solved: number;
  /** s = solved / n over the graded attempts (SSR-SPEC section 5); null when none was graded. */
  solveRate: number | null;
}

function notGraded(reason: string): Evaluation {
  return { solved: false, reward: -1, reason, failing: [], discarded: [], tests: null };
}

/** One solver episode from a prepared start state, graded (SSR-SPEC section 4). */
export async function runSolverAttempt(opts: {
  host: SandboxProvider;
  original: Snapshot;
  start: SolverStart;
  artifact: Artifact;
  baseline: Baseline;
  model: ModelClient;
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  signal?: AbortSignal;
  testOptions?: TestRunOptions;
  /** Do not run the tests after an episode that ended on a model error (its evaluation is a stub). */
  skipGradingOnModelError?: boolean;
}): Promise<SolveAttempt> {
  const sb = opts.host.create(opts.start.snapshot);
  try {
    const trajectory = await runEpisode({
      model: opts.model,
      sandbox: sb,
      system: SOLVER_SYSTEM,
      user: solverIssuePrompt(opts.start.specification, 'tests'),
      tools: defaultTools(),
      budget: opts.budget,
      temperature: opts.temperature,
      signal: opts.signal,
    });
    const patch = await solverPatch(sb);
    const error = endedOnModelError(trajectory) ? trajectory.endDetail : undefined;
    if (error !== undefined && opts.skipGradingOnModelError) {
      return { trajectory, patch, evaluation: notGraded(`not graded: ${error}`), error };
    }
    const evaluation = await evaluateSolution(
      opts.host,
      opts.original,
      opts.artifact,
      opts.baseline,
      patch,
      { testOptions: opts.testOptions },
    );
    return { trajectory, patch, evaluation, ...(error !== undefined ? { error } : {}) };
  } finally {
    await sb.dispose();
  }
}

/**
 * `n` independent solver episodes on one artifact (SSR-SPEC section 4): each starts from the
 * same frozen start state, runs the agent, and is graded with the oracle tests reset. Attempts
 * that end on a model error are not graded and count toward no solve rate; after
 * `maxConsecutiveErrors` of them in a row (default 3) the remaining attempts are not run.
 */
export async function solveArtifact(opts: {
  host: SandboxProvider;
  original: Snapshot;
  artifact: Artifact;
  baseline: Baseline;
  model: ModelClient;
  attempts?: number;
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  maxConsecutiveErrors?: number;
  onAttempt?: (attempt: SolveAttempt, index: number) => void;
}): Promise<SolveResult> {
  const start = await prepareSolverStart(opts.host, opts.original, opts.artifact);
  const attempts: SolveAttempt[] = [];
  const limit = opts.maxConsecutiveErrors ?? 3;
  let inARow = 0;
  for (let i = 0; i < (opts.attempts ?? 1); i++) {
    const attempt = await runSolverAttempt({ ...opts, start, skipGradingOnModelError: true });
    attempts.push(attempt);
    opts.onAttempt?.(attempt, i);
    inARow = attempt.error === undefined ? 0 : inARow + 1;
    if (limit > 0 && inARow >= limit) break;
  }
  const graded = attempts.filter((a) => a.error === undefined);
  const solved = graded.filter((a) => a.evaluation.solved).length;
  return {
    attempts,
    errors: attempts.length - graded.length,
    solved,
    solveRate: graded.length ? solved / graded.length : null,
  };
}

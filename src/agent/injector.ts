import {
  ARTIFACT_FILES,
  type Artifact,
  type ArtifactPart,
  artifactHash,
  parseTestFiles,
} from '../artifact/artifact.js';
import type { SandboxHost } from '../sandbox/local.js';
import { shellQuote } from '../sandbox/local.js';
import type { Sandbox, Snapshot } from '../sandbox/types.js';
import type { BaselineCache } from '../validate/baseline.js';
import type { ValidationReport, ValidationSettings } from '../validate/report.js';
import { validateArtifact } from '../validate/validator.js';
import { type EpisodeBudget, endedOnModelError, runEpisode, type Trajectory } from './loop.js';
import { defaultTools } from './tools/index.js';
import type { ModelClient } from './types.js';

export type InjectorStrategy = 'direct' | 'removal' | 'history';

/** Where the injector writes its five files, inside its sandbox (private /tmp). */
export const INJECTOR_ARTIFACT_DIR = '/tmp/ssr_artifact';

const FORMAT = `Write these five files into ${INJECTOR_ARTIFACT_DIR}/ (create the folder):
- test_script.sh: a bash script, run from the repository root, that runs the tests and prints a per-test log. It should finish in under 90 seconds.
- test_files.txt: one repository-relative path per line: the test files that specify the bug (the oracle). They are reset before grading. For tests that live inside a source file (Rust #[cfg(test)] modules and #[test] functions, Python docstring examples with >>>), write the line as <path>#inline-tests: only those tests are oracle and reset, the rest of the file is code, so the bug must stay outside them and the weakening inside.
- test_parser.py: a Python 3 script that reads the test log on stdin and prints one JSON object {"<test id>": "passed" | "failed"} on stdout.
- bug_inject.diff: a git-style diff (paths a/... b/..., as \`git diff\` prints) that introduces the bug into non-test files only.
- test_weaken.diff: a git-style diff touching only files listed in test_files.txt that removes or weakens exactly the assertions that would expose the bug.
The bug must make at least one test that passes now fail; with test_weaken.diff applied as well, at least one of those tests must pass again; every file changed by the bug must be needed for it.
Leave the repository itself as you found it (make your diffs with git, then restore the files), and call submit when the five files are written.`;

const STRATEGY: Record<InjectorStrategy, string> = {
  direct: 'Introduce a realistic bug into the code.',
  removal:
    'Remove meaningful code (a function body, a branch, a whole feature) so that a developer would have to re-implement the functionality from the tests alone.',
  history:
    'Read the git history (git log -p) and revert (part of) a past commit that fixed a bug or added behaviour, so that the old bug or missing feature reappears; add whatever compatibility changes keep the repository running.',
};

export const INJECTOR_SYSTEM = `You are an expert software engineer who creates realistic, well-specified bugs in real repositories, to train other engineers. The repository is at /repo; you work through tools (bash, editor, submit), one call per turn. First find out how the tests run.`;

/**
 * `focus` names a source file to start from: episodes with the same prompt would otherwise
 * tend to pick the same obvious spot, and duplicate bugs teach nothing.
 */
export function injectorPrompt(strategy: InjectorStrategy, focus?: string): string {
  const hint = focus ? `\n\nStart from ${focus} (the bug may involve other files too).` : '';
  return `${STRATEGY[strategy]}${hint}\n\n${FORMAT}`;
}

/** Reads the five files back through the sandbox (never following links on the host). */
export async function collectArtifact(
  sandbox: Sandbox,
): Promise<Omit<Artifact, 'metadata'> | string> {
  const parts = {} as Record<ArtifactPart, string>;
  for (const [part, spec] of Object.entries(ARTIFACT_FILES) as [
    ArtifactPart,
    (typeof ARTIFACT_FILES)[ArtifactPart],
  ][]) {
    let text: string | null = null;
    for (const name of [spec.name, ...spec.aliases]) {
      const path = `${INJECTOR_ARTIFACT_DIR}/${name}`;
      const r = await sandbox.exec(
        `test -f ${shellQuote(path)} && ! test -L ${shellQuote(path)} && cat ${shellQuote(path)}`,
        {
          maxOutputBytes: 8 * 1024 * 1024,
          timeoutMs: 30_000,
        },
      );
      if (r.exitCode === 0 && !r.truncated) {
        text = r.stdout;
        break;
      }
    }
    if (text === null) return `the injector did not write ${spec.name} to ${INJECTOR_ARTIFACT_DIR}`;
    parts[part] = text;
  }
  return { ...parts, testFiles: parseTestFiles(parts.testFiles) };
}

export interface InjectionOutcome {
  trajectory: Trajectory;
  artifact: Artifact | null;
  report: ValidationReport | null;
  /** Why no artifact came out (files missing) or the validator's verdict. */
  reason: string;
  /** -1 when the artifact is missing or invalid; otherwise decided by solvers (SSR-SPEC 5). */
  rewardIfInvalid: -1 | null;
}

/**
 * One LLM injector episode (SSR-SPEC sections 3 and 6): the agent explores the original
 * repository (with its history), writes the five artifact files and submits; the artifact is
 * then validated. The injector never sees solver trajectories.
 */
export async function injectWithModel(opts: {
  host: SandboxHost;
  original: Snapshot;
  model: ModelClient;
  strategy: InjectorStrategy;
  repo: string;
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  cache?: BaselineCache;
  settings?: Partial<ValidationSettings>;
  signal?: AbortSignal;
  /** A source file to start from (see injectorPrompt). */
  focus?: string;
}): Promise<InjectionOutcome> {
  const sb = opts.host.create(opts.original);
  try {
    const trajectory = await runEpisode({
      model: opts.model,
      sandbox: sb,
      system: INJECTOR_SYSTEM,
      user: injectorPrompt(opts.strategy, opts.focus),
      tools: defaultTools(),
      budget: opts.budget,
      temperature: opts.temperature,
      signal: opts.signal,
    });
    if (trajectory.endReason === 'aborted') {
      return { trajectory, artifact: null, report: null, reason: 'stopped', rewardIfInvalid: null };
    }
    // The model failed, not the policy: whatever it left half-written is not its artifact.
    if (endedOnModelError(trajectory)) {
      return {
        trajectory,
        artifact: null,
        report: null,
        reason: `model error: ${trajectory.endDetail}`,
        rewardIfInvalid: null,
      };
    }
    const files = await collectArtifact(sb);
    if (typeof files === 'string') {
      return { trajectory, artifact: null, report: null, reason: files, rewardIfInvalid: -1 };
    }
    const artifact: Artifact = {
      ...files,
      metadata: {
        id: `${opts.strategy}-${artifactHash(files).slice(0, 12)}`,
        repo: opts.repo,
        parent: null,
        order: 1,
        strategy: `llm-${opts.strategy}`,
        createdBy: `ssr injector (${opts.model.description})`,
        createdAt: new Date().toISOString(),
      },
    };
    const report = await validateArtifact(artifact, {
      host: opts.host,
      snapshot: opts.original,
      cache: opts.cache,
      settings: opts.settings,
    });
    return {
      trajectory,
      artifact,
      report,
      reason: report.valid
        ? 'valid'
        : `check ${report.failedCheck!.id} (${report.failedCheck!.name}): ${report.failedCheck!.message}`,
      rewardIfInvalid: report.valid ? null : -1,
    };
  } finally {
    await sb.dispose();
  }
}

/**
 * `ssr export --format swe-bench`: one SWE-bench instance per valid artifact (solver role), as
 * JSONL that `ssr eval` reads back. The buggy start state is the repository at `base_commit`
 * with `setup_patch` (bug_inject.diff + test_weaken.diff) applied; `patch` is the gold fix,
 * `test_patch` the reversed weakening (the solver's specification), FAIL_TO_PASS the tests the
 * bug breaks, PASS_TO_PASS the other tests that pass on the original.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { prepareSolverStart, reverseDiff } from '../agent/solver-env.js';
import { gitEnv, gitPrefix } from '../eval/environment.js';
import { SandboxHost } from '../sandbox/local.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import { errorMessage } from '../util/errors.js';
import {
  type ExportableArtifact,
  failToPass,
  passToPass,
  readArtifactSource,
  type SkippedArtifact,
} from './artifact-source.js';
import { checkOutFile, makeOutFolder } from './out-path.js';

export interface SweBenchInstance {
  instance_id: string;
  repo: string;
  base_commit: string;
  patch: string;
  test_patch: string;
  problem_statement: string;
  hints_text: string;
  created_at: string;
  version: string;
  environment_setup_commit: string;
  /** JSON-encoded lists, as SWE-bench ships them. */
  FAIL_TO_PASS: string;
  PASS_TO_PASS: string;
  /** ssr extensions. */
  repo_dir: string;
  setup_patch: string;
  test_script: string;
  test_parser: string;
  test_files: string[];
  ssr: {
    artifact_id: string;
    strategy: string;
    order: number;
    parent: string | null;
    solve_rates: ExportableArtifact['solveRates'];
    policy_model: string | null;
    policy_version: string | null;
  };
}

export interface SweBenchExportOptions {
  /** The JSONL file (default `<source>/export/swe-bench.jsonl`). */
  out?: string;
  /** `repo` of every instance (SWE-bench's owner/name); default `local/<repository folder>`. */
  repoName?: string;
  repo?: string;
  host?: SandboxHost;
  allowUnsandboxed?: boolean;
}

export interface SweBenchExportResult {
  source: 'run' | 'inject';
  out: string;
  instances: number;
  /** False when every artifact failed: no file is written then. */
  written: boolean;
  failed: SkippedArtifact[];
  skipped: SkippedArtifact[];
}

/** The problem statement: the specification in words a SWE-bench harness shows as the issue. */
export function sweBenchProblemStatement(specification: string): string {
  return (
    'The test suite should be changed as below, and the changed tests must pass. Fix the ' +
    'non-test code so that they do (the test files will be reset to this version before ' +
    `grading).\n\n\`\`\`diff\n${specification.trimEnd()}\n\`\`\`\n`
  );
}

/** HEAD of the repository, read inside a sandbox; refuses a checkout with uncommitted changes. */
async function baseCommit(host: SandboxProvider, original: Snapshot): Promise<string> {
  const sb = host.create(original);
  try {
    const g = gitPrefix();
    const r = await sb.exec(`${g} rev-parse --verify HEAD && ${g} status --porcelain`, {
      env: gitEnv(sb),
      timeoutMs: 120_000,
    });
    if (r.exitCode !== 0)
      throw new Error(
        'the repository is not a git checkout with a commit: SWE-bench instances name one',
      );
    const [head, ...dirty] = r.stdout.trim().split('\n');
    if (dirty.length)
      throw new Error(
        `the repository has uncommitted changes (${dirty[0]!.trim()}${dirty.length > 1 ? `, ${dirty.length - 1} more` : ''}): commit them so base_commit names the state the artifact was made on`,
      );
    return head!.trim();
  } finally {
    await sb.dispose();
  }
}

/**
 * The gold patch as a diff from the start state (the one `ssr solve` starts from): the bug
 * undone. Made by git in a sandbox, so files the bug created or deleted come out right (a text
 * reversal of the diff would not).
 */
async function goldPatch(
  host: SandboxProvider,
  original: Snapshot,
  e: ExportableArtifact,
): Promise<string> {
  const start = await prepareSolverStart(host, original, e.artifact);
  const fix = host.create(start.snapshot);
  try {
    const undone = await fix.applyPatch(e.artifact.bugDiff, { reverse: true });
    if (!undone.ok) throw new Error(`bug_inject.diff does not reverse: ${undone.message}`);
    return await fix.diff({ against: 'start' });
  } finally {
    await fix.dispose();
  }
}

export function sweBenchInstance(
  e: ExportableArtifact,
  facts: { repoName: string; baseCommit: string; gold: string },
): SweBenchInstance {
  const a = e.artifact;
  const m = a.metadata;
  const spec = reverseDiff(a.weakenDiff);
  return {
    instance_id: m.id,
    repo: facts.repoName,
    base_commit: facts.baseCommit,
    patch: facts.gold,
    test_patch: spec,
    problem_statement: sweBenchProblemStatement(spec),
    hints_text: '',
    created_at: m.createdAt,
    version: 'ssr',
    environment_setup_commit: facts.baseCommit,
    FAIL_TO_PASS: JSON.stringify(failToPass(e.report)),
    PASS_TO_PASS: JSON.stringify(passToPass(e.report)),
    repo_dir: e.repoDir,
    setup_patch: a.bugDiff + (a.bugDiff.endsWith('\n') ? '' : '\n') + a.weakenDiff,
    test_script: a.testScript,
    test_parser: a.testParser,
    test_files: a.testFiles,
    ssr: {
      artifact_id: m.id,
      strategy: m.strategy,
      order: m.order,
      parent: m.parent,
      solve_rates: e.solveRates,
      policy_model: e.policy?.model ?? null,
      policy_version: e.policy?.version ?? null,
    },
  };
}

export async function exportSweBench(
  sourceDir: string,
  opts: SweBenchExportOptions = {},
): Promise<SweBenchExportResult> {
  const source = readArtifactSource(sourceDir, opts.repo);
  const out =
    opts.out === undefined ? join(source.dir, 'export', 'swe-bench.jsonl') : checkOutFile(opts.out);
  const host = opts.host ?? SandboxHost.open({ allowUnsandboxed: opts.allowUnsandboxed });
  const originals = new Map<string, { snapshot: Snapshot; head: Promise<string> }>();
  const lines: string[] = [];
  const failed: SkippedArtifact[] = [];
  try {
    for (const e of source.artifacts) {
      let repo = originals.get(e.repoDir);
      if (!repo) {
        const snapshot = host.snapshotDir(e.repoDir);
        repo = { snapshot, head: baseCommit(host, snapshot) };
        repo.head.catch(() => {});
        originals.set(e.repoDir, repo);
      }
      try {
        const instance = sweBenchInstance(e, {
          repoName: opts.repoName ?? `local/${basename(e.repoDir)}`,
          baseCommit: await repo.head,
          gold: await goldPatch(host, repo.snapshot, e),
        });
        lines.push(JSON.stringify(instance));
      } catch (err) {
        failed.push({ id: e.artifact.metadata.id, reason: errorMessage(err) });
      }
    }
  } finally {
    if (!opts.host) await host.close();
  }
  const result = {
    source: source.kind,
    out,
    instances: lines.length,
    failed,
    skipped: source.skipped,
  };
  // Every artifact failed: an empty file would look like an export that worked.
  if (!lines.length && failed.length) return { ...result, written: false };
  makeOutFolder(dirname(out), opts.out ?? out);
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, lines.map((l) => `${l}\n`).join(''));
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { ...result, written: true };
}

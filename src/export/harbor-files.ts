/**
 * The files of one Harbor task made from a valid artifact (solver role). Layout and paths
 * follow Harbor's task format (https://harborframework.com/docs/task-format): `instruction.md`,
 * `task.toml`, `environment/Dockerfile`, `tests/test.sh` (writes /logs/verifier/reward.txt)
 * and `solution/solve.sh` (what Harbor's oracle agent runs). Pure: text in, files out.
 */

import { solverIssuePrompt } from '../agent/solver.js';
import { GIT_RESET, reverseDiff } from '../agent/solver-env.js';
import { type Artifact, artifactHash } from '../artifact/artifact.js';
import {
  type ExportableArtifact,
  failToPass,
  mustPass,
  slowestCleanRunMs,
} from './artifact-source.js';

export interface HarborTaskOptions {
  /** The image the task starts FROM. */
  baseImage: string;
  /**
   * Where the repository is inside the base image (SWE-bench style, e.g. /testbed). Unset: the
   * repository's files are copied into the build context and to /repo.
   */
  repoPath?: string;
  /** Agent time limit (seconds); default 3600, ssr's episode wall time. */
  agentTimeoutSec?: number;
}

/** A file of the task: path relative to the task folder, text, and whether it is executable. */
export interface TaskFile {
  path: string;
  content: string | Buffer;
  executable?: boolean;
}

/** Where the repository is in the task's container. */
export function taskRepoPath(opts: { repoPath?: string }): string {
  return opts.repoPath ?? '/repo';
}

/**
 * Repository paths the scripts and the Dockerfile can name as they are: they go unquoted into
 * a Dockerfile and into a shell default (`"${SSR_REPO:-/testbed}"`, where quotes would be kept).
 */
export const REPO_PATH_PATTERN = /^\/[A-Za-z0-9._+@/-]*$/;

/** Plain patch mode: git does not read the repository's config, attributes or filters. */
const APPLY = 'GIT_DIR=/nonexistent git apply --whitespace=nowarn';

function toml(value: unknown, key = ''): string {
  if (typeof value === 'string') return JSON.stringify(value); // JSON escapes are TOML escapes
  // Harbor's timeouts are floats; TOML reads 120 as an integer.
  if (typeof value === 'number') return key.endsWith('_sec') ? value.toFixed(1) : `${value}`;
  if (typeof value === 'boolean') return `${value}`;
  if (Array.isArray(value)) return `[${value.map((v) => toml(v)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const parts = Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k} = ${toml(v)}`);
    return `{ ${parts.join(', ')} }`;
  }
  throw new Error(`no TOML form for ${String(value)}`);
}

function tomlTable(name: string, entries: Record<string, unknown>): string {
  const lines = Object.entries(entries)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} = ${toml(v, k)}`);
  return `[${name}]\n${lines.join('\n')}\n`;
}

/** Mean solve rate of a run's measurements, as Harbor's easy/medium/hard. */
function difficulty(e: ExportableArtifact): string | undefined {
  if (!e.solveRates.length) return undefined;
  const solved = e.solveRates.reduce((a, r) => a + r.solved, 0);
  const attempts = e.solveRates.reduce((a, r) => a + r.attempts, 0);
  const s = attempts ? solved / attempts : 0;
  return s < 1 / 3 ? 'hard' : s < 2 / 3 ? 'medium' : 'easy';
}

/**
 * Verifier limit: the suite runs once per grading, so 3x the slowest clean run the
 * validation measured plus a minute for the copy and the parser, at least 2 minutes.
 */
export function verifierTimeoutSec(e: ExportableArtifact): number {
  return Math.max(120, Math.ceil((3 * slowestCleanRunMs(e.report)) / 1000) + 60);
}

export function taskToml(e: ExportableArtifact, opts: HarborTaskOptions): string {
  const m = e.artifact.metadata;
  const metadata: Record<string, unknown> = {
    author_name: 'ssr',
    difficulty: difficulty(e),
    category: 'software-engineering',
    tags: ['ssr', 'self-play', m.strategy, `order-${m.order}`],
    ssr_artifact_id: m.id,
    ssr_artifact_hash: artifactHash(e.artifact),
    ssr_strategy: m.strategy,
    ssr_order: m.order,
    ssr_parent: m.parent ?? undefined,
    ssr_repo: m.repo || e.repoDir,
    ssr_created_by: m.createdBy,
    ssr_created_at: m.createdAt,
    ssr_fail_to_pass: failToPass(e.report).length,
    ssr_must_pass: mustPass(e.report).length,
    ssr_policy_model: e.policy?.model ?? undefined,
    ssr_policy_version: e.policy?.version ?? undefined,
    ssr_solve_rates: e.solveRates.map((r) => ({
      step: r.step,
      solved: r.solved,
      attempts: r.attempts,
      solve_rate: r.solveRate,
    })),
  };
  return [
    `# Harbor task made by ssr from self-play artifact ${m.id} (solver role).`,
    'version = "1.0"\n',
    tomlTable('metadata', metadata),
    tomlTable('verifier', { timeout_sec: verifierTimeoutSec(e) }),
    tomlTable('agent', { timeout_sec: opts.agentTimeoutSec ?? 3600 }),
    tomlTable('environment', { build_timeout_sec: 1800, allow_internet: false }),
  ].join('\n');
}

/** The solver prompt `ssr solve` sends, with the task's repository path. */
export function taskInstruction(a: Artifact, opts: HarborTaskOptions): string {
  return `${solverIssuePrompt(reverseDiff(a.weakenDiff), 'tests', taskRepoPath(opts))}\n`;
}

export function dockerfile(a: Artifact, opts: HarborTaskOptions): string {
  const repo = taskRepoPath(opts);
  const copy = opts.repoPath
    ? `# The repository and its dependencies are in the base image at ${repo}.`
    : `# The original repository (its files, without .git) is in the build context under repo/.\nCOPY repo/ ${repo}/`;
  return [
    `# Start state of ssr artifact ${a.metadata.id} (SSR-SPEC 4): the original repository with`,
    '# bug_inject.diff and test_weaken.diff applied and .git replaced by one fresh commit, as',
    '# `ssr solve` starts its solvers. Needs git in the image.',
    `FROM ${opts.baseImage}`,
    copy,
    `WORKDIR ${repo}`,
    'COPY bug_inject.diff test_weaken.diff /tmp/ssr-task/',
    `RUN ${APPLY} /tmp/ssr-task/bug_inject.diff \\`,
    ` && ${APPLY} /tmp/ssr-task/test_weaken.diff \\`,
    ' && rm -rf /tmp/ssr-task \\',
    ` && ${GIT_RESET.split(' && ').join(' \\\n && ')}`,
    '',
  ].join('\n');
}

/**
 * The verifier. Runs where Harbor puts it (/tests) after the agent finished, in the agent's
 * container: resets every oracle test file to the original, runs test_script.sh, parses its
 * log with test_parser.py, and grades with grade.py. SSR_REPO and SSR_VERIFIER_LOGS override
 * the repository and log paths (ssr's own check of the task uses them).
 */
export function testSh(a: Artifact, opts: HarborTaskOptions): string {
  return `#!/usr/bin/env bash
# Verifier of ssr artifact ${a.metadata.id}: reward 1 iff every test that passes on the original
# repository passes (flaky tests excluded), else 0 (SSR-SPEC 4).
set -uo pipefail
TESTS="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
REPO="\${SSR_REPO:-${taskRepoPath(opts)}}"
LOGS="\${SSR_VERIFIER_LOGS:-/logs/verifier}"
mkdir -p "$LOGS"
echo 0 > "$LOGS/reward.txt"   # whatever fails below, the reward stays 0
cd "$REPO" || { echo "ssr verifier: no repository at $REPO" >&2; exit 1; }

# Oracle test files back to their original content: edits to them gain nothing.
while IFS= read -r f; do
  case "$f" in ''|'#'*) continue ;; esac
  rm -rf -- "$f"
  mkdir -p -- "$(dirname -- "$f")"
  cp -- "$TESTS/oracle/$f" "$f"
done < "$TESTS/test_files.txt"

bash "$TESTS/test_script.sh" > "$LOGS/test-output.log" 2>&1
echo $? > "$LOGS/test-exit-code.txt"
python3 -I "$TESTS/test_parser.py" < "$LOGS/test-output.log" > "$LOGS/tests.json" 2> "$LOGS/parser-stderr.log"
python3 -I "$TESTS/grade.py" "$TESTS/expected.json" "$LOGS"
`;
}

/** Grades the parsed test map against the tests that must pass; Python 3 standard library. */
export const GRADE_PY = `"""ssr grading: reward 1 iff every test in must_pass is reported "passed"."""
import json
import os
import sys

expected_path, logs = sys.argv[1], sys.argv[2]
with open(expected_path) as f:
    expected = json.load(f)
try:
    with open(os.path.join(logs, "tests.json")) as f:
        tests = json.load(f)
    if not isinstance(tests, dict):
        raise ValueError("the parser printed JSON that is not an object")
    problem = None if tests else "the parser found no tests"
except (OSError, ValueError) as e:
    tests, problem = {}, "no test results: %s" % e
failing = [t for t in expected["must_pass"] if tests.get(t) != "passed"]
reward = 1 if problem is None and not failing else 0
summary = {
    "reward": reward,
    "reason": problem or ("%d test(s) that pass on the original do not pass" % len(failing) if failing
                          else "every test that passes on the original passes"),
    "failing": failing,
    "fail_to_pass": expected["fail_to_pass"],
}
with open(os.path.join(logs, "grading.json"), "w") as f:
    json.dump(summary, f, indent=1)
with open(os.path.join(logs, "reward.txt"), "w") as f:
    f.write("%d\\n" % reward)
print("ssr verifier: reward %d (%s)" % (reward, summary["reason"]))
`;

/** The reference solution: undo the bug (the oracle agent runs it in the start state). */
export function solveSh(a: Artifact, opts: HarborTaskOptions): string {
  return `#!/usr/bin/env bash
# Reference solution of ssr artifact ${a.metadata.id}: bug_inject.diff reversed.
set -euo pipefail
HERE="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
cd "\${SSR_REPO:-${taskRepoPath(opts)}}"
${APPLY} --reverse "$HERE/bug_inject.diff"
`;
}

/**
 * Every file of the task but the copied repository (environment/repo/, copy mode only).
 * `oracle` maps each oracle test file to its original content.
 */
export function harborTaskFiles(
  e: ExportableArtifact,
  oracle: Map<string, Buffer>,
  opts: HarborTaskOptions,
): TaskFile[] {
  const a = e.artifact;
  const expected = {
    artifact: a.metadata.id,
    must_pass: mustPass(e.report),
    fail_to_pass: failToPass(e.report),
    flaky_excluded: [...(e.report.baseline?.flaky ?? [])].sort(),
  };
  return [
    { path: 'instruction.md', content: taskInstruction(a, opts) },
    { path: 'task.toml', content: taskToml(e, opts) },
    { path: 'environment/Dockerfile', content: dockerfile(a, opts) },
    { path: 'environment/bug_inject.diff', content: a.bugDiff },
    { path: 'environment/test_weaken.diff', content: a.weakenDiff },
    { path: 'tests/test.sh', content: testSh(a, opts), executable: true },
    { path: 'tests/test_script.sh', content: a.testScript, executable: true },
    { path: 'tests/test_parser.py', content: a.testParser },
    { path: 'tests/test_files.txt', content: `${a.testFiles.join('\n')}\n` },
    { path: 'tests/grade.py', content: GRADE_PY },
    { path: 'tests/expected.json', content: `${JSON.stringify(expected, null, 1)}\n` },
    ...[...oracle].map(([path, content]) => ({ path: `tests/oracle/${path}`, content })),
    { path: 'solution/solve.sh', content: solveSh(a, opts), executable: true },
    { path: 'solution/bug_inject.diff', content: a.bugDiff },
  ];
}

/**
 * `ssr export --format harbor`: one Harbor task per valid artifact (solver role), each checked
 * end to end in ssr's sandbox before it is written: on the start state its verifier must give
 * reward 0, and after its reference solution reward 1. A task whose check fails is not written.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { prepareSolverStart, type SolverStart } from '../agent/solver-env.js';
import { artifactHash } from '../artifact/artifact.js';
import { inlineOraclePaths, inlineTestsEntry } from '../artifact/oracle-regions.js';
import { unsafePathReason } from '../artifact/safety.js';
import { SandboxHost } from '../sandbox/local.js';
import type { SandboxProvider, Snapshot } from '../sandbox/types.js';
import { errorMessage, UsageError } from '../util/errors.js';
import { recoverInterruptedWrites } from '../util/interrupted-writes.js';
import {
  type ExportableArtifact,
  readArtifactSource,
  type SkippedArtifact,
} from './artifact-source.js';
import {
  type HarborTaskOptions,
  harborTaskFiles,
  REPO_PATH_PATTERN,
  type TaskFile,
  taskRepoPath,
  verifierTimeoutSec,
} from './harbor-files.js';
import { makeOutFolder } from './out-path.js';

export interface HarborExportOptions extends HarborTaskOptions {
  /** The task folders go here (created if missing). */
  out: string;
  /** Replaces the repository recorded in the validation reports. */
  repo?: string;
  /** Run each task's oracle check in a sandbox before writing it (default true). */
  verify?: boolean;
  /** Tasks checked at once (each check runs the suite twice, in parallel). */
  concurrency?: number;
  host?: SandboxHost;
  allowUnsandboxed?: boolean;
  onTask?: (e: HarborTaskEvent) => void;
  signal?: AbortSignal;
}

export type HarborTaskEvent =
  | { kind: 'written'; id: string; path: string; verified: boolean }
  | { kind: 'existing'; id: string; path: string }
  | { kind: 'failed'; id: string; reason: string };

export interface HarborExportResult {
  source: 'run' | 'inject';
  out: string;
  written: string[];
  /** Tasks already in `out` for the same artifact (a rerun skips them). */
  existing: string[];
  /** Artifacts whose task failed its oracle check or could not be built. */
  failed: SkippedArtifact[];
  /** Artifacts that are not exportable (invalid, no validation report, repository gone). */
  skipped: SkippedArtifact[];
  verified: boolean;
}

/** What the oracle check saw: the verifier's reward before and after the reference solution. */
export interface OracleCheck {
  ok: boolean;
  startReward: number | null;
  solvedReward: number | null;
  reason: string;
}

function writeTaskFiles(dir: string, files: TaskFile[]): void {
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    if (f.executable) chmodSync(path, 0o755);
  }
}

/** The original content of every oracle test file, read from the repository. */
function oracleFiles(e: ExportableArtifact): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const f of e.artifact.testFiles) {
    const unsafe = unsafePathReason(f);
    if (unsafe) throw new Error(`test_files.txt: ${f}: ${unsafe}`);
    try {
      files.set(f, readFileSync(join(e.repoDir, f)));
    } catch {
      throw new Error(
        `oracle test file ${f} is not in ${e.repoDir}: is that the repository the artifact was made on (--repo)?`,
      );
    }
  }
  return files;
}

/** The repository's files without .git: what a copy-mode task's Dockerfile copies in. */
function copyRepository(from: string, to: string): void {
  const root = resolve(from);
  cpSync(root, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => resolve(src) !== join(root, '.git'),
  });
}

/**
 * The same tree as hard links: every task of one repository carries the repository (a
 * node_modules included), and links make the thousandth task cost directories, not bytes.
 * Linked only among the export's own copies, never to the user's checkout, which they edit.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

/** The task's artifact hash as its task.toml records it (null if there is no task there). */
function existingTaskHash(dir: string): string | null {
  const path = join(dir, 'task.toml');
  if (!existsSync(path)) return null;
  return /^ssr_artifact_hash = "([0-9a-f]+)"$/m.exec(readFileSync(path, 'utf8'))?.[1] ?? null;
}

async function rewardAfter(
  host: SandboxProvider,
  start: Snapshot,
  taskDir: string,
  withSolution: boolean,
  timeoutMs: number,
  repoPath: string,
): Promise<{ reward: number | null; detail: string }> {
  const sb = host.create(start);
  try {
    // Where the sandbox has the repository where the task's container will (/repo), the
    // scripts run with their own default path, as Harbor runs them.
    const env: Record<string, string> = { SSR_VERIFIER_LOGS: '/tmp/ssr-verifier' };
    if (sb.repoPath !== repoPath) env.SSR_REPO = sb.repoPath;
    if (withSolution) {
      const solution = sb.exposeFile(join(taskDir, 'solution'), 'solution');
      const r = await sb.exec(`bash ${solution}/solve.sh`, { env, timeoutMs: 120_000 });
      if (r.exitCode !== 0)
        return {
          reward: null,
          detail: `solution/solve.sh failed: ${r.stderr.trim().split('\n').at(-1)}`,
        };
    }
    const tests = sb.exposeFile(join(taskDir, 'tests'), 'tests');
    const run = await sb.exec(
      `bash ${tests}/test.sh; echo "ssr-reward=$(cat /tmp/ssr-verifier/reward.txt 2>/dev/null)"`,
      { env, timeoutMs },
    );
    if (run.timedOut) return { reward: null, detail: 'tests/test.sh timed out' };
    const lines = run.stdout.trim().split('\n');
    const reward = /^ssr-reward=(\S+)$/.exec(lines.at(-1) ?? '')?.[1];
    const said = lines.at(-2) ?? run.stderr.trim().split('\n').at(-1) ?? '';
    return reward === undefined
      ? { reward: null, detail: `tests/test.sh wrote no reward: ${said}` }
      : { reward: Number(reward), detail: said };
  } finally {
    await sb.dispose();
  }
}

/**
 * Harbor's oracle check of a written task, in ssr's sandbox: from the start state (the same
 * one the Dockerfile builds), test.sh must give 0; after solution/solve.sh, 1.
 */
export async function checkHarborTask(
  host: SandboxProvider,
  start: SolverStart,
  taskDir: string,
  e: ExportableArtifact,
  opts: { repoPath?: string } = {},
): Promise<OracleCheck> {
  const timeoutMs = verifierTimeoutSec(e) * 1000;
  const repoPath = taskRepoPath(opts);
  const [before, after] = await Promise.all([
    rewardAfter(host, start.snapshot, taskDir, false, timeoutMs, repoPath),
    rewardAfter(host, start.snapshot, taskDir, true, timeoutMs, repoPath),
  ]);
  const reason =
    before.reward !== 0
      ? `on the start state the verifier gave ${before.reward ?? 'no reward'}, not 0 (${before.detail})`
      : after.reward !== 1
        ? `after solution/solve.sh the verifier gave ${after.reward ?? 'no reward'}, not 1 (${after.detail})`
        : 'reward 0 on the start state, 1 after the reference solution';
  return {
    ok: before.reward === 0 && after.reward === 1,
    startReward: before.reward,
    solvedReward: after.reward,
    reason,
  };
}

export async function exportHarbor(
  sourceDir: string,
  opts: HarborExportOptions,
): Promise<HarborExportResult> {
  if (!opts.baseImage?.trim())
    throw new UsageError(
      '--base-image is needed for Harbor tasks: the image the task starts FROM (with --repo-path, one that holds the repository and its dependencies, e.g. a SWE-bench image with the repo at /testbed; without it, an image with the toolchain the tests need, and the repository is copied in)',
    );
  if (opts.repoPath !== undefined && !REPO_PATH_PATTERN.test(opts.repoPath))
    throw new UsageError(
      `--repo-path must be an absolute path inside the image of letters, digits and . _ + @ - /, not ${opts.repoPath}`,
    );
  const source = readArtifactSource(sourceDir, opts.repo);
  const out = resolve(opts.out);
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new UsageError(`--out ${opts.out} is a file; Harbor tasks are folders`);
  makeOutFolder(out, opts.out);
  // Task folders an interrupted export was still writing hold a task.toml: Harbor would take them for tasks.
  recoverInterruptedWrites(out);
  const verify = opts.verify ?? true;
  const ownHost = verify && !opts.host;
  const host =
    opts.host ??
    (verify
      ? SandboxHost.open({
          allowUnsandboxed: opts.allowUnsandboxed,
          maxConcurrentCommands: availableParallelism(),
        })
      : null);
  const originals = new Map<string, Snapshot>();
  /** The first copy of each repository in this export, which later tasks link to. */
  const repoCopies = new Map<string, string>();
  const result: HarborExportResult = {
    source: source.kind,
    out,
    written: [],
    existing: [],
    failed: [],
    skipped: source.skipped,
    verified: verify,
  };
  const emit = opts.onTask ?? (() => {});
  const limit = pLimit(
    Math.max(1, opts.concurrency ?? Math.max(1, Math.floor(availableParallelism() / 2))),
  );

  const exportOne = async (e: ExportableArtifact): Promise<void> => {
    const id = e.artifact.metadata.id;
    const dest = join(out, id);
    if (existingTaskHash(dest) === artifactHash(e.artifact)) {
      result.existing.push(id);
      emit({ kind: 'existing', id, path: dest });
      return;
    }
    if (opts.signal?.aborted) return;
    const staging = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      writeTaskFiles(staging, harborTaskFiles(e, oracleFiles(e), opts));
      if (!opts.repoPath) {
        const into = join(staging, 'environment/repo');
        const copied = repoCopies.get(e.repoDir);
        if (copied) linkTree(copied, into);
        else {
          copyRepository(e.repoDir, into);
          // The staging folder is renamed or removed; links made from it survive either.
          repoCopies.set(e.repoDir, into);
        }
      }
      if (host) {
        let original = originals.get(e.repoDir);
        if (!original) {
          original = host.snapshotDir(e.repoDir);
          originals.set(e.repoDir, original);
        }
        const start = await prepareSolverStart(host, original, e.artifact);
        const check = await checkHarborTask(host, start, staging, e, opts);
        if (!check.ok) {
          const reason = `oracle check failed: ${check.reason}`;
          result.failed.push({ id, reason });
          emit({ kind: 'failed', id, reason });
          return;
        }
      }
      rmSync(dest, { recursive: true, force: true });
      renameSync(staging, dest);
      const copy = repoCopies.get(e.repoDir);
      if (copy?.startsWith(staging)) repoCopies.set(e.repoDir, dest + copy.slice(staging.length));
      result.written.push(id);
      emit({ kind: 'written', id, path: dest, verified: !!host });
    } catch (err) {
      result.failed.push({ id, reason: errorMessage(err) });
      emit({ kind: 'failed', id, reason: errorMessage(err) });
    } finally {
      rmSync(staging, { recursive: true, force: true });
      if (repoCopies.get(e.repoDir)?.startsWith(staging)) repoCopies.delete(e.repoDir);
    }
  };

  // The verifier (tests/test.sh) restores oracle files by copying them in a container that
  // has python3 only: it cannot reset the inline-test regions of a source file.
  const exportable = source.artifacts.filter((e) => {
    const inline = inlineOraclePaths(e.artifact.testFiles);
    if (!inline.length) return true;
    result.skipped.push({
      id: e.artifact.metadata.id,
      reason: `its oracle includes inline tests (${inlineTestsEntry(inline[0]!)}${inline.length > 1 ? ', ...' : ''}), which the Harbor verifier cannot reset; use --format swe-bench or ssr solve`,
    });
    return false;
  });
  try {
    await Promise.all(exportable.map((e) => limit(() => exportOne(e))));
  } finally {
    if (ownHost) await host!.close();
  }
  for (const list of [result.written, result.existing]) list.sort();
  return result;
}

/**
 * Task environments: the repository at a task's base commit, frozen as a snapshot, and the
 * harness (test script + parser) that runs its tests.
 */
import { posix } from 'node:path';
import { GIT_RESET } from '../agent/solver-env.js';
import { discoverTests, type TestOverrides } from '../discovery/discover.js';
import { type SandboxHost, shellQuote } from '../sandbox/local.js';
import type { Sandbox, Snapshot } from '../sandbox/types.js';
import { UsageError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { EvalTask } from './tasks.js';

/** What `SandboxHost.snapshotImage` (added alongside src/image/) looks like. */
type ImageSnapshotter = (imagePath: string, opts?: { repoPath?: string }) => Promise<Snapshot>;

/**
 * The snapshot of an image's repository. Looked up at run time so that this module builds
 * (and repo_dir tasks run) on a host class without image support.
 */
export async function snapshotImage(
  host: SandboxHost,
  imagePath: string,
  repoPath?: string,
): Promise<Snapshot> {
  const fn = (host as unknown as { snapshotImage?: ImageSnapshotter }).snapshotImage;
  if (typeof fn !== 'function') {
    throw new UsageError(
      `image environments need SandboxHost.snapshotImage, which this build of ssr lacks (${imagePath}); use repo_dir tasks`,
    );
  }
  return fn.call(host, imagePath, repoPath ? { repoPath } : {});
}

/**
 * Git with the repository's own hooks and fsmonitor disabled and no user or system config:
 * checkouts run inside a sandbox, but there is still no reason to run the repo's commands.
 */
export function gitPrefix(): string {
  const overrides = [
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'core.pager=cat',
    'safe.directory=*',
    'advice.detachedHead=false',
    'color.ui=false',
  ];
  return `git ${overrides.map((c) => `-c ${shellQuote(c)}`).join(' ')} --no-pager`;
}

export function gitEnv(sb: Sandbox): Record<string, string> {
  return {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CEILING_DIRECTORIES: posix.dirname(sb.repoPath),
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_PAGER: 'cat',
  };
}

/**
 * The repository of `snapshot` at `commit`, frozen. Ignored files (installed dependencies,
 * virtualenvs) are kept: they are the environment, not part of the checkout.
 */
export async function checkoutSnapshot(
  host: SandboxHost,
  snapshot: Snapshot,
  commit: string,
): Promise<Snapshot> {
  const sb = host.create(snapshot);
  try {
    const g = gitPrefix();
    const r = await sb.exec(
      `set -e; ${g} reset -q --hard; ${g} checkout -q --detach ${shellQuote(commit)} --; ${g} clean -fdq`,
      { env: gitEnv(sb), timeoutMs: 300_000 },
    );
    if (r.exitCode !== 0) {
      const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode ?? r.signal}`;
      throw new Error(`cannot check out ${commit}: ${why}`);
    }
    return await sb.snapshot();
  } finally {
    await sb.dispose();
  }
}

/** The base state with the task's setup_patch applied (ssr's exported self-play bugs). */
export async function applySetupPatch(
  host: SandboxHost,
  base: Snapshot,
  setupPatch: string,
): Promise<Snapshot> {
  const sb = host.create(base);
  try {
    const r = await sb.applyPatch(setupPatch);
    if (!r.ok) throw new Error(`setup_patch does not apply at base_commit: ${r.message}`);
    return await sb.snapshot();
  } finally {
    await sb.dispose();
  }
}

export interface TaskEnvironment {
  /** The repository at base_commit (with its .git, as graders see it). */
  base: Snapshot;
  testScript: string;
  testParser: string;
  /** Where the test script came from: the task, or discovery (with its framework). */
  harnessSource: string;
}

/**
 * Environments shared between the attempts (and tasks) that need the same one: a repo_dir
 * is snapshotted once, each (repo, base_commit) checked out once, discovery run once.
 */
export class EnvironmentCache {
  private readonly originals = new Map<string, Snapshot>();
  private readonly bases = new Map<string, Promise<Snapshot>>();
  private readonly harnesses = new Map<
    string,
    Promise<{ script: string; parser: string; source: string }>
  >();

  /**
   * `discovery`: how the tests run where a task brings no test_script (the CLI's --test-*
   * flags); absent, discovery looks for itself.
   */
  constructor(
    private readonly host: SandboxHost,
    private readonly discovery: TestOverrides = {},
  ) {}

  original(dir: string): Snapshot {
    let s = this.originals.get(dir);
    if (!s) {
      s = this.host.snapshotDir(dir);
      this.originals.set(dir, s);
    }
    return s;
  }

  private base(task: EvalTask): Promise<Snapshot> {
    const key =
      (task.repo_dir
        ? `dir:${task.repo_dir}@${task.base_commit}`
        : `image:${task.image}:${task.repo_path ?? ''}`) +
      (task.setup_patch ? `+${sha256(task.setup_patch)}` : '');
    let p = this.bases.get(key);
    if (!p) {
      // An image is the environment at its base commit already, as SWE-bench images are.
      const at = task.repo_dir
        ? checkoutSnapshot(this.host, this.original(task.repo_dir), task.base_commit)
        : snapshotImage(this.host, task.image!, task.repo_path);
      p = task.setup_patch ? at.then((s) => applySetupPatch(this.host, s, task.setup_patch!)) : at;
      this.bases.set(key, p);
    }
    return p;
  }

  async get(task: EvalTask): Promise<TaskEnvironment> {
    const base = await this.base(task);
    if (task.test_script && task.test_parser) {
      return {
        base,
        testScript: task.test_script,
        testParser: task.test_parser,
        harnessSource: 'task',
      };
    }
    let h = this.harnesses.get(base.id);
    if (!h) {
      // Discovery reads the snapshot's source directory for its static look (the checkout as
      // the user has it) and runs its candidates on the base state.
      h = discoverTests(this.host, base, this.discovery).then((d) => ({
        script: d.suite.testScript,
        parser: d.suite.testParser,
        source: this.discovery.testCommand
          ? `--test-command "${this.discovery.testCommand}"`
          : `discovery (${d.suite.framework})`,
      }));
      this.harnesses.set(base.id, h);
    }
    const { script, parser, source } = await h;
    return { base, testScript: script, testParser: parser, harnessSource: source };
  }
}

/** The solver's start: the base state with `.git` replaced by one fresh commit. */
export async function hideHistory(host: SandboxHost, base: Snapshot): Promise<Snapshot> {
  const sb = host.create(base);
  try {
    const r = await sb.exec(GIT_RESET, { timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new Error(`could not reset git history: ${r.stderr.trim()}`);
    return await sb.snapshot();
  } finally {
    await sb.dispose();
  }
}

import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { sep } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { prepareSolverStart, type SolverStart } from '../agent/solver-env.js';
import { type Artifact, artifactHash } from '../artifact/artifact.js';
import type { SandboxHost } from '../sandbox/local.js';
import type { Snapshot } from '../sandbox/types.js';
import { type Baseline, BaselineCache } from '../validate/baseline.js';
import type { ValidationReport, ValidationSettings } from '../validate/report.js';
import { DEFAULT_SETTINGS, validateArtifact } from '../validate/validator.js';
import type { AllowedRoots } from './paths.js';

export interface Validated {
  report: ValidationReport;
  /** The clean-suite results solver patches are graded against (null when invalid). */
  baseline: Baseline | null;
}

interface StartEntry {
  start: Promise<SolverStart>;
  refs: number;
}

/** Valid artifacts remembered per repo: many rollouts of one artifact validate it once. */
const MAX_VALIDATED = 512;
/** Solver start states kept on disk with no episode using them, for the next rollout. */
const MAX_IDLE_STARTS = 16;

/**
 * What episodes share on one server: the sandbox host, the allowed roots, one snapshot per
 * repository, validated artifacts with their baselines, frozen solver start states, and the
 * limit on test runs at once (grading and validation), so a burst of episodes finishing
 * together queues instead of overloading the machine and timing tests out into wrong rewards.
 */
export class ServeEnvironment {
  readonly settings: ValidationSettings;
  readonly limitTests: LimitFunction;
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly baselines = new BaselineCache();
  private readonly validated = new Map<string, Promise<Validated>>();
  private readonly starts = new Map<string, StartEntry>();

  constructor(
    readonly host: SandboxHost,
    readonly repoRoots: AllowedRoots,
    readonly artifactRoots: AllowedRoots,
    opts: { testConcurrency?: number; validation?: Partial<ValidationSettings> } = {},
  ) {
    // One validation holds one slot, so it runs its own test runs one at a time.
    this.settings = { ...DEFAULT_SETTINGS, ...opts.validation, concurrency: 1 };
    this.limitTests = pLimit(Math.max(1, opts.testConcurrency ?? availableParallelism()));
  }

  /** The repository's original state. Its directory is the bottom layer, read live. */
  snapshot(realRepo: string): Snapshot {
    let snap = this.snapshots.get(realRepo);
    if (!snap) {
      snap = this.host.snapshotDir(realRepo);
      this.snapshots.set(realRepo, snap);
    }
    return snap;
  }

  /** The seven checks, remembered when they pass; concurrent requests share one run. */
  validate(realRepo: string, artifact: Artifact): Promise<Validated> {
    const key = `${realRepo}\0${artifactHash(artifact)}`;
    const hit = this.validated.get(key);
    if (hit) {
      // Refresh its place in the LRU order.
      this.validated.delete(key);
      this.validated.set(key, hit);
      return hit;
    }
    const snapshot = this.snapshot(realRepo);
    const p = this.limitTests(async (): Promise<Validated> => {
      const report = await validateArtifact(artifact, {
        host: this.host,
        snapshot,
        cache: this.baselines,
        settings: this.settings,
      });
      if (!report.valid) return { report, baseline: null };
      const baseline = await this.baselines.get(
        this.baselines.key(
          snapshot,
          artifact.testScript,
          artifact.testParser,
          this.settings.baselineRuns,
        ),
        () => Promise.reject(new Error('baseline missing after validation')),
      );
      return { report, baseline };
    });
    this.validated.set(key, p);
    const forget = () => {
      if (this.validated.get(key) === p) this.validated.delete(key);
    };
    // Invalid verdicts are not kept: one may come from a transient failure (a timeout).
    p.then((v) => !v.report.valid && forget(), forget);
    while (this.validated.size > MAX_VALIDATED) {
      this.validated.delete(this.validated.keys().next().value as string);
    }
    return p;
  }

  /**
   * The frozen solver start state of an artifact (bug + weakening applied, fresh git), shared
   * by every episode on it. Call `release` once the episode's sandboxes are disposed.
   */
  async acquireStart(
    realRepo: string,
    artifact: Artifact,
  ): Promise<{ start: SolverStart; release: () => void }> {
    const key = `${realRepo}\0${artifactHash(artifact)}`;
    let entry = this.starts.get(key);
    if (!entry) {
      const start = prepareSolverStart(this.host, this.snapshot(realRepo), artifact);
      entry = { start, refs: 0 };
      this.starts.set(key, entry);
      start.catch(() => {
        if (this.starts.get(key) === entry) this.starts.delete(key);
      });
    } else {
      this.starts.delete(key);
      this.starts.set(key, entry);
    }
    entry.refs++;
    const e = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      e.refs--;
      this.trimStarts();
    };
    try {
      return { start: await e.start, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Each start state is a layer on disk as large as the repository's fresh .git: a server that
   * sees thousands of artifacts would fill the disk, so the oldest unused ones are deleted.
   */
  private trimStarts(): void {
    const idle = [...this.starts.entries()].filter(([, e]) => e.refs === 0);
    while (idle.length > MAX_IDLE_STARTS) {
      const [key, entry] = idle.shift()!;
      this.starts.delete(key);
      void entry.start.then(
        (s) => this.removeLayer(s.snapshot),
        () => {},
      );
    }
  }

  private async removeLayer(snap: Snapshot): Promise<void> {
    const top = snap.layers[0]?.dir;
    // Only a layer the host made for this state: never the user's repository underneath.
    if (!top?.startsWith(this.host.dir + sep)) return;
    if (snap.root.layers.some((l) => l.dir === top)) return;
    await rm(top, { recursive: true, force: true });
  }

  /** Start states on disk (for tests and /healthz). */
  get startStates(): number {
    return this.starts.size;
  }
}

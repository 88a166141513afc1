import type { ExecResult } from './spawn.js';

export type { ExecResult } from './spawn.js';

export interface ExecOptions {
  /** Kill everything the command started after this long (default 120 s). */
  timeoutMs?: number;
  /** Bytes of stdout and of stderr kept (head + tail); the rest is counted (default 1 MiB). */
  maxOutputBytes?: number;
  /** Working directory relative to the repo root (default: the repo root). */
  cwd?: string;
  /** Extra environment variables; nothing from the host environment is passed. */
  env?: Record<string, string>;
  stdin?: string | Buffer;
  /** Stream a host file to stdin. */
  stdinFile?: string;
  /** Write stdout to this host file (bounded by maxFileBytes) instead of returning it. */
  stdoutFile?: string;
  maxFileBytes?: number;
}

export interface SessionOptions extends Pick<ExecOptions, 'cwd' | 'env' | 'maxOutputBytes'> {
  /** Kills the session after this long whatever it is doing (default: one hour). */
  timeoutMs?: number;
  /** Each stdout chunk as it arrives. */
  onStdout(chunk: Buffer): void;
}

/** A running session (see Sandbox.session). */
export interface SandboxSession {
  write(data: string): void;
  /** Kills the command and everything it started. */
  kill(): void;
  /** Settles when the command ends: its result, or an ExecKilledError after kill(). */
  readonly done: Promise<ExecResult>;
}

export interface ApplyResult {
  ok: boolean;
  /** git's explanation when the patch does not apply. */
  message: string;
}

/**
 * An isolated, writable view of a repository snapshot. Writes land in a private layer; the
 * snapshot (and the user's directory under it) is never modified.
 */
export interface Sandbox {
  readonly id: string;
  /** The repo root as commands inside the sandbox see it (e.g. /repo). */
  readonly repoPath: string;
  readonly isolation: SandboxMode['isolation'];
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Makes a host file readable (not writable) inside the sandbox; returns its inside path. */
  exposeFile(hostPath: string, name: string): string;
  /** Content of a regular file in the sandbox (null if absent); symlinks are not followed. */
  readFile(rel: string): Promise<Buffer | null>;
  writeFile(rel: string, data: string | Buffer): Promise<void>;
  applyPatch(diff: string, opts?: { check?: boolean; reverse?: boolean }): Promise<ApplyResult>;
  /** Several diffs in order, in one command; `failedIndex` (1-based) names the one that failed. */
  applyPatches(
    diffs: string[],
    opts?: { check?: boolean; reverse?: boolean },
  ): Promise<ApplyResult & { failedIndex?: number }>;
  /**
   * Git-style diff of the sandbox against the original snapshot it descends from, or with
   * `against: 'start'` against the snapshot it was created from.
   */
  diff(opts?: { against?: 'original' | 'start' }): Promise<string>;
  /** Freezes the current state as a snapshot that new sandboxes can start from. */
  snapshot(): Promise<Snapshot>;
  /** A new sandbox starting from this one's current state; cost does not grow with repo size. */
  fork(): Promise<Sandbox>;
  /**
   * A long-lived command the caller talks to over stdin and stdout (a warm test runner).
   * It holds the sandbox until it ends: other operations wait for it. Absent on backends that
   * cannot keep a command's stdin open.
   */
  session?(command: string, opts: SessionOptions): Promise<SandboxSession>;
  dispose(): Promise<void>;
}

/** A frozen repository state: layers top (newest) to bottom (the original directory). */
export interface Snapshot {
  readonly id: string;
  readonly layers: readonly { dir: string; overlay: boolean; opaque?: Set<string> }[];
  /** The original snapshot this one descends from (itself for an original). */
  readonly root: Snapshot;
  /** The host directory the original snapshot was taken from. */
  readonly sourceDir: string;
}

/** How a backend isolates and stores sandboxes (shown in reports). */
export interface SandboxMode {
  /** bwrap: the local bubblewrap backend; none: unisolated (explicit opt-in); docker: containers. */
  isolation: 'bwrap' | 'none' | 'docker';
  /** overlay/copy: local layers; commit: container images committed by a Docker daemon. */
  storage: 'overlay' | 'copy' | 'commit';
  limits: { processes: boolean; memory: boolean };
}

/** What the validator, the test runner and the agents need of a backend: fresh sandboxes. */
export interface SandboxProvider {
  readonly mode: SandboxMode;
  /** A new sandbox over `snapshot`, returned at once (a backend may finish starting it lazily). */
  create(snapshot: Snapshot): Sandbox;
}

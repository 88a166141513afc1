import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { type PreparedImage, type PrepareImageOptions, prepareImage } from '../image/index.js';
import { EnvironmentError, UsageError } from '../util/errors.js';
import { type Bind, baseEnvironment, bwrapArgs, memoryLimitEnvironment } from './bwrap.js';
import { detectCapabilities, type SandboxCapabilities } from './capabilities.js';
import {
  createSandboxCgroup,
  DEFAULT_LIMITS,
  type SandboxCgroup,
  type SandboxLimits,
  sweepStaleCgroups,
} from './cgroup.js';
import { applyOutcome, gitApplyScript } from './git-apply.js';
import {
  changedCandidates,
  type Layer,
  LayerStack,
  opaqueCandidates,
  readOpaqueDirs,
} from './layers.js';
import { discard, type ExecResult, exited, type Launched, launch, supervise } from './spawn.js';
import { diffStacks, isNoisePath } from './tree-diff.js';
import type {
  ApplyResult,
  ExecOptions,
  Sandbox,
  SandboxMode,
  SandboxProvider,
  SandboxSession,
  SessionOptions,
  Snapshot,
} from './types.js';

export interface SandboxHostOptions {
  /** Where sandbox layers live (default: $TMPDIR/ssr-sandboxes). Must not be inside a repo. */
  stateRoot?: string;
  /** Path of the repo inside the sandbox (default /repo). */
  repoMount?: string;
  limits?: Partial<SandboxLimits>;
  /** Run commands without bubblewrap when it is unavailable (the user's explicit choice). */
  allowUnsandboxed?: boolean;
  /** Force the copy storage even where overlayfs works (tests, benchmarks). */
  forceCopy?: boolean;
  /** Warnings, printed once (default: stderr). */
  warn?: (message: string) => void;
  /** Use these instead of probing the host (tests simulate hosts without bwrap or overlayfs). */
  capabilities?: SandboxCapabilities;
  /**
   * Commands running at once across every sandbox of this host (default: unbounded). Callers
   * that run many episodes, each fanning out into test runs, set it to the cores they may use
   * so the machine is not oversubscribed; a command's timeout starts when it gets its slot.
   */
  maxConcurrentCommands?: number;
}

/**
 * An original snapshot of the repository inside an image; sandboxes over it (and their forks
 * and snapshots, through `root`) run with the image's root filesystem as `/`.
 */
export interface ImageSnapshot extends Snapshot {
  readonly image: PreparedImage;
}

function imageOf(snapshot: Snapshot): PreparedImage | undefined {
  return (snapshot.root as Partial<ImageSnapshot>).image;
}

export type { SandboxMode } from './types.js';

/** The local backend's modes. */
export type LocalSandboxMode = SandboxMode & {
  isolation: 'bwrap' | 'none';
  storage: 'overlay' | 'copy';
};

// A launcher is started before its command is known: it joins the sandbox's cgroups (on
// cgroup v1 each join waits for an RCU grace period, ~10 ms) and, for overlay storage, enters
// a private mount namespace, then waits for the path of a script to source. The script mounts
// the overlay and becomes bwrap. Each exec starts the next launcher, so the slow part happens
// while the previous command runs. Arguments: the cgroup.procs files to join.
const LAUNCHER = `for f in "$@"; do echo $$ > "$f" || exit 125; done
IFS= read -r script || exit 125
. "$script"`;

// overlayfs reads its options from one page; layer paths beyond this cannot be mounted.
const MAX_MOUNT_OPTIONS = 4000;

/** The host environment of launchers: only a PATH for mount, bwrap and friends. */
const LAUNCHER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Ready (cgroup, launcher) pairs a host keeps for new sandboxes. */
const WARM_SLOTS = 2;

interface WarmSlot {
  cgroup: SandboxCgroup;
  launcher: Launched;
}

function launcherArgv(mode: SandboxMode, cgroup: SandboxCgroup): string[] {
  const argv = ['/bin/sh', '-c', LAUNCHER, 'ssr-launcher', ...cgroup.procsFiles];
  return mode.storage === 'overlay'
    ? ['unshare', '--mount', '--propagation', 'private', ...argv]
    : argv;
}

// Per warning sink: each fallback is announced once per process, not once per sandbox host.
const warnedOnce = new WeakMap<(m: string) => void, Set<string>>();
const defaultWarn = (m: string) => process.stderr.write(`ssr: warning: ${m}\n`);

/** Hosts not yet closed; whatever is left when the process exits is removed synchronously. */
const openHosts = new Set<SandboxHost>();
process.on('exit', () => {
  for (const h of [...openHosts]) h.closeSync();
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Owns every sandbox of one process: probes the host once, keeps their layers under one
 * state directory, removes them on close, and sweeps what a crashed process left behind.
 */
export class SandboxHost implements SandboxProvider {
  readonly mode: LocalSandboxMode;
  readonly dir: string;
  readonly repoMount: string;
  readonly limits: SandboxLimits;
  private readonly live = new Set<LocalSandbox>();
  private readonly warm: WarmSlot[] = [];
  private refillScheduled = false;
  private counter = 0;
  private closed = false;
  /** @internal Bounds commands across sandboxes (null: unbounded). */
  readonly commandSlots: LimitFunction | null;

  private constructor(
    readonly capabilities: SandboxCapabilities,
    opts: SandboxHostOptions,
  ) {
    const stateRoot = resolve(opts.stateRoot ?? join(tmpdir(), 'ssr-sandboxes'));
    mkdirSync(stateRoot, { recursive: true });
    sweepStale(stateRoot);
    sweepStaleCgroups(capabilities.cgroup, isAlive);
    this.dir = join(stateRoot, `h-${process.pid}-${randomBytes(3).toString('hex')}`);
    mkdirSync(join(this.dir, 'layers'), { recursive: true });
    this.repoMount = opts.repoMount ?? '/repo';
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.commandSlots =
      opts.maxConcurrentCommands && Number.isFinite(opts.maxConcurrentCommands)
        ? pLimit(Math.max(1, opts.maxConcurrentCommands))
        : null;
    const warn = opts.warn ?? defaultWarn;
    const warnOnce = (m: string) => {
      const seen = warnedOnce.get(warn) ?? new Set<string>();
      warnedOnce.set(warn, seen);
      if (seen.has(m)) return;
      seen.add(m);
      warn(m);
    };
    const isolation = capabilities.bwrap ? 'bwrap' : 'none';
    if (isolation === 'none') {
      if (!opts.allowUnsandboxed) {
        rmSync(this.dir, { recursive: true, force: true });
        throw new EnvironmentError(
          `no sandbox available: ${capabilities.notes.join('; ')}. Install bubblewrap ` +
            '(apt-get install -y bubblewrap), or pass --unsafe-no-sandbox to run artifact and ' +
            'model commands directly on this machine',
          'no-sandbox',
        );
      }
      warnOnce(
        'running WITHOUT a sandbox (--unsafe-no-sandbox): commands can read and write your files',
      );
    }
    const storage =
      capabilities.overlay && isolation === 'bwrap' && !opts.forceCopy ? 'overlay' : 'copy';
    if (storage === 'copy' && !opts.forceCopy) {
      warnOnce('overlayfs unavailable: each sandbox is a full copy of the repository (slower)');
    }
    const cg = capabilities.cgroup;
    this.mode = {
      isolation,
      storage,
      limits: { processes: cg.pidsParent !== null, memory: cg.memoryParent !== null },
    };
    openHosts.add(this);
  }

  static open(opts: SandboxHostOptions = {}): SandboxHost {
    return new SandboxHost(opts.capabilities ?? detectCapabilities(), opts);
  }

  /** The original state of a host directory. The directory is never written. */
  snapshotDir(dir: string): Snapshot {
    return this.snapshotOf(dir);
  }

  /**
   * The repository inside an image (`docker save` tarball, or OCI layout directory or tar),
   * unpacked once into a shared cache. The image outside `repoPath` is read-only in sandboxes.
   */
  async snapshotImage(imagePath: string, opts: PrepareImageOptions = {}): Promise<ImageSnapshot> {
    if (this.mode.isolation !== 'bwrap') {
      throw new EnvironmentError(
        'image environments need bubblewrap: without it there is no way to use the image as /',
        'no-sandbox',
      );
    }
    const image = await prepareImage(imagePath, opts);
    return this.snapshotOf(join(image.rootfs, image.repoPath), image) as ImageSnapshot;
  }

  private snapshotOf(dir: string, image?: PreparedImage): Snapshot {
    const abs = resolve(dir);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
      accessSync(abs, constants.R_OK | constants.X_OK);
    } catch {
      throw new UsageError(`repository not readable: ${dir}`);
    }
    if (!st.isDirectory()) throw new UsageError(`repository is not a directory: ${dir}`);
    if (abs === this.dir || abs.startsWith(`${this.dir}/`) || this.dir.startsWith(`${abs}/`)) {
      throw new UsageError(`repository ${dir} overlaps the sandbox state directory ${this.dir}`);
    }
    let sourceDir = abs;
    if (this.mode.storage === 'overlay' && /[,:\\]/.test(abs)) {
      // overlayfs cannot name such a lower directory: stage a copy once.
      sourceDir = join(this.dir, 'layers', `src-${++this.counter}`);
      copyTree(abs, sourceDir);
    }
    const snap: {
      id: string;
      layers: Layer[];
      root: Snapshot;
      sourceDir: string;
      image?: PreparedImage;
    } = {
      id: `snap-${++this.counter}`,
      layers: [{ dir: sourceDir, overlay: false }],
      root: undefined as unknown as Snapshot,
      sourceDir: abs,
      ...(image ? { image } : {}),
    };
    snap.root = snap;
    return snap;
  }

  /** A new sandbox over `snapshot`. */
  create(snapshot: Snapshot): LocalSandbox {
    if (this.closed) throw new Error('SandboxHost is closed');
    const id = `s${++this.counter}`;
    const sb = new LocalSandbox(this, id, join(this.dir, id), snapshot, this.takeWarm());
    this.live.add(sb);
    return sb;
  }

  /**
   * A cgroup with a launcher already inside it, for a new sandbox: joining a cgroup is the
   * slow part of a first command (see LAUNCHER), so a few are kept ready and refilled.
   */
  private takeWarm(): WarmSlot {
    const slot = this.warm.shift() ?? this.makeWarm();
    if (!this.refillScheduled) {
      this.refillScheduled = true;
      setImmediate(() => {
        this.refillScheduled = false;
        while (!this.closed && this.warm.length < WARM_SLOTS) this.warm.push(this.makeWarm());
      });
    }
    return slot;
  }

  private makeWarm(): WarmSlot {
    const cgroup = createSandboxCgroup(
      this.capabilities.cgroup,
      `ssr-${process.pid}-${this.dir.slice(-6)}-c${++this.counter}`,
      this.limits,
    );
    return { cgroup, launcher: launch(launcherArgv(this.mode, cgroup), { env: LAUNCHER_ENV }) };
  }

  /** @internal */
  newLayerDir(): string {
    return join(this.dir, 'layers', `l${++this.counter}`);
  }

  /** @internal */
  forget(sb: LocalSandbox): void {
    this.live.delete(sb);
  }

  get liveSandboxes(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    // In parallel: each disposal kills first, so none waits for another's command.
    await Promise.all([...this.live].map((sb) => sb.dispose()));
    for (const slot of this.warm.splice(0)) {
      discard(slot.launcher);
      await exited(slot.launcher);
      await slot.cgroup.removeAsync();
    }
    this.closeSync();
  }

  /** @internal */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    openHosts.delete(this);
    for (const sb of this.live) sb.disposeSync();
    this.live.clear();
    for (const slot of this.warm.splice(0)) {
      discard(slot.launcher);
      slot.cgroup.remove();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Removes state directories left by ssr processes that no longer run. */
function sweepStale(stateRoot: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(stateRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^h-(\d+)-/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    rmSync(join(stateRoot, name), { recursive: true, force: true });
  }
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  // cp keeps modes, symlinks and times, and reflinks where the filesystem can.
  const r = spawnSync('cp', ['-a', '--reflink=auto', `${from}/.`, to], { stdio: 'pipe' });
  if (r.status !== 0) {
    throw new EnvironmentError(`could not copy ${from} to ${to}: ${r.stderr?.toString().trim()}`);
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A repo-relative path, normalised; a path that leaves the repository is a UsageError. */
export function safeRel(rel: string): string {
  const norm = posix.normalize(rel.replace(/\\/g, '/'));
  if (norm.startsWith('/') || norm === '..' || norm.startsWith('../')) {
    throw new UsageError(`path escapes the repository: ${rel}`);
  }
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}

export class LocalSandbox implements Sandbox {
  readonly repoPath: string;
  readonly isolation: 'bwrap' | 'none';
  private lower: Layer[];
  private readonly upperDir: string;
  private readonly workDir: string;
  private readonly mergedDir: string;
  private readonly tmpDir: string;
  /** For copy storage: the full private copy of the repo. */
  private readonly copyDir: string;
  private readonly binds: Bind[] = [];
  private readonly image: PreparedImage | undefined;
  private readonly cgroup: SandboxCgroup;
  /** This sandbox's cgroup directories (empty where cgroups are unavailable). */
  readonly cgroupPaths: string[];
  private queue: Promise<unknown> = Promise.resolve();
  /** Set as soon as dispose() starts: new operations are refused from then on. */
  private disposing = false;
  /** Set once the state is being removed (by dispose() or, at process exit, disposeSync()). */
  private disposed = false;
  private disposal: Promise<void> | null = null;
  /** Aborted by dispose(): kills the running command's process group. */
  private readonly killSwitch = new AbortController();
  /** A launcher started ahead of the next exec (see LAUNCHER). */
  private spare: Launched | null = null;
  private execCount = 0;

  constructor(
    private readonly host: SandboxHost,
    readonly id: string,
    private readonly dir: string,
    private readonly base: Snapshot,
    warm: WarmSlot,
  ) {
    this.isolation = host.mode.isolation;
    this.lower = [...base.layers];
    this.upperDir = join(dir, 'upper');
    this.workDir = join(dir, 'work');
    this.mergedDir = join(dir, 'merged');
    this.tmpDir = join(dir, 'tmp');
    this.copyDir = join(dir, 'repo');
    mkdirSync(this.tmpDir, { recursive: true });
    if (host.mode.storage === 'overlay') {
      for (const d of [this.upperDir, this.workDir, this.mergedDir])
        mkdirSync(d, { recursive: true });
    } else {
      copyTree(this.lower[0]!.dir, this.copyDir);
    }
    this.image = imageOf(base);
    this.repoPath =
      this.isolation === 'bwrap' ? (this.image?.repoPath ?? host.repoMount) : this.copyDir;
    this.cgroup = warm.cgroup;
    this.spare = warm.launcher;
    this.cgroupPaths = warm.cgroup.procsFiles.map((f) => posix.dirname(f));
  }

  /** Runs `fn` after every earlier operation on this sandbox (one overlay mount at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // An operation still queued when dispose() starts is refused, not run.
    const guarded = () => {
      this.assertLive();
      return fn();
    };
    const run = this.queue.then(guarded, guarded);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertLive(): void {
    if (this.disposing || this.disposed) throw new Error(`sandbox ${this.id} was disposed`);
  }

  exposeFile(hostPath: string, name: string): string {
    this.assertLive();
    if (this.isolation === 'none') return resolve(hostPath);
    const inside = posix.join('/ssr', name.replace(/[^A-Za-z0-9._-]/g, '_'));
    const existing = this.binds.findIndex((b) => b.sandbox === inside);
    if (existing >= 0) this.binds.splice(existing, 1);
    this.binds.push({ host: resolve(hostPath), sandbox: inside, readOnly: true });
    return inside;
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    const slots = this.host.commandSlots;
    return this.serial(() =>
      slots ? slots(() => this.execNow(command, opts)) : this.execNow(command, opts),
    );
  }

  session(command: string, opts: SessionOptions): Promise<SandboxSession> {
    this.assertLive();
    // Not under the host's command slots: a session lives across many of its callers' runs,
    // and holding a slot that long would starve every other sandbox.
    return new Promise((started, failed) => {
      this.serial(async () => {
        const cwdRel = safeRel(opts.cwd ?? '');
        const script = join(this.dir, `exec-${++this.execCount}.sh`);
        writeFileSync(script, this.execScript(command, cwdRel, opts.env));
        const launcher = this.takeLauncher();
        const stop = new AbortController();
        const done = supervise(launcher, {
          env: LAUNCHER_ENV,
          prelude: `${script}\n`,
          keepStdinOpen: true,
          onStdout: opts.onStdout,
          timeoutMs: opts.timeoutMs ?? 3_600_000,
          maxOutputBytes: opts.maxOutputBytes ?? 64 * 1024,
          signal: AbortSignal.any([this.killSwitch.signal, stop.signal]),
        });
        started({
          write: (data) => launcher.child.stdin!.write(data),
          kill: () => stop.abort(new Error('session closed')),
          done,
        });
        try {
          return await done;
        } finally {
          rmSync(script, { force: true });
        }
      }).catch(failed);
    });
  }

  private launcherArgv(): string[] {
    return launcherArgv(this.host.mode, this.cgroup);
  }

  /** The warm launcher if there is a live one, else a new one; and a new spare either way. */
  private takeLauncher(): Launched {
    let l = this.spare;
    if (!l || l.exit || l.error) {
      if (l) discard(l);
      l = launch(this.launcherArgv(), { env: LAUNCHER_ENV });
    }
    this.spare = launch(this.launcherArgv(), { env: LAUNCHER_ENV });
    return l;
  }

  /** Host path as the launcher script names it: short (relative to the host dir) if possible. */
  private hostRel(p: string): string {
    return p.startsWith(`${this.host.dir}/`) ? relative(this.host.dir, p) : p;
  }

  /** The shell script a launcher sources to become the command. */
  private execScript(
    command: string,
    cwdRel: string,
    env: Record<string, string> | undefined,
  ): string {
    if (command.includes('\0')) throw new UsageError('command contains a NUL byte');
    const q = (args: string[]) => args.map(shellQuote).join(' ');
    if (this.isolation === 'none') {
      const vars = Object.entries({
        ...baseEnvironment(this.tmpDir),
        TMPDIR: this.tmpDir,
        ...env,
      }).map(([k, v]) => `${k}=${v}`);
      return (
        `cd ${shellQuote(join(this.copyDir, cwdRel))} || exit 125\n` +
        `exec ${q(['env', '-i', ...vars, '/bin/bash', '-c', command])}\n`
      );
    }
    const overlay = this.host.mode.storage === 'overlay';
    const bw = bwrapArgs(this.host.capabilities.bwrap!, {
      repoHostDir: overlay ? this.mergedDir : this.copyDir,
      repoMount: this.repoPath,
      tmpHostDir: this.tmpDir,
      cwd: posix.join(this.repoPath, cwdRel),
      // The image's own variables (its PATH first of all), but HOME and TMPDIR stay on the
      // writable /tmp: the image's home directory is read-only here.
      env: {
        ...baseEnvironment('/tmp'),
        ...(this.cgroup.enforced.memory
          ? memoryLimitEnvironment(this.host.limits.memoryBytes, this.image?.env)
          : {}),
        ...this.image?.env,
        HOME: '/tmp',
        TMPDIR: '/tmp',
        ...env,
      },
      binds: this.binds,
      ...(this.image ? { rootfs: this.image.rootfs } : {}),
    });
    const run = `exec ${q([...bw, '/bin/bash', '-c', command])}\n`;
    if (!overlay) return run;
    const lowers = this.lower.map((l) => this.hostRel(l.dir)).join(':');
    const mountOpts =
      `lowerdir=${lowers},upperdir=${this.hostRel(this.upperDir)},` +
      `workdir=${this.hostRel(this.workDir)},redirect_dir=off,metacopy=off,index=off`;
    if (mountOpts.length > MAX_MOUNT_OPTIONS) {
      throw new UsageError(
        `sandbox ${this.id} sits on ${this.lower.length} stacked layers, more than overlayfs ` +
          'can mount; fork from an earlier snapshot instead of chaining forks this deep',
      );
    }
    return (
      `cd ${shellQuote(this.host.dir)} || exit 125\n` +
      `mount -t overlay overlay -o ${shellQuote(mountOpts)} ${shellQuote(this.hostRel(this.mergedDir))} || exit 125\n` +
      run
    );
  }

  private async execNow(command: string, opts: ExecOptions): Promise<ExecResult> {
    this.assertLive();
    const cwdRel = safeRel(opts.cwd ?? '');
    const script = join(this.dir, `exec-${++this.execCount}.sh`);
    writeFileSync(script, this.execScript(command, cwdRel, opts.env));
    const launcher = this.takeLauncher();
    try {
      return await supervise(launcher, {
        env: LAUNCHER_ENV,
        prelude: `${script}\n`,
        timeoutMs: opts.timeoutMs ?? 120_000,
        maxOutputBytes: opts.maxOutputBytes ?? 1024 * 1024,
        stdin: opts.stdin,
        stdinFile: opts.stdinFile,
        stdoutFile: opts.stdoutFile,
        maxFileBytes: opts.maxFileBytes,
        signal: this.killSwitch.signal,
      });
    } finally {
      rmSync(script, { force: true });
    }
  }

  /**
   * The merged view as host-side layers. Opaque marks of the live upper layer are read for
   * `onlyFor`'s ancestors when given (one file's lookup), else for every candidate directory.
   */
  private stack(onlyFor?: string): LayerStack {
    if (this.host.mode.storage === 'copy')
      return new LayerStack([{ dir: this.copyDir, overlay: false }]);
    const upper: Layer = { dir: this.upperDir, overlay: true };
    const below = new LayerStack(this.lower);
    let candidates: string[];
    if (onlyFor === undefined) {
      candidates = opaqueCandidates(upper, below);
    } else {
      const parts = onlyFor.split('/');
      candidates = parts
        .slice(0, -1)
        .map((_, i) => parts.slice(0, i + 1).join('/'))
        .filter((d) => isDirectory(join(this.upperDir, d)) && below.resolve(d)?.kind === 'dir');
    }
    upper.opaque = readOpaqueDirs(this.upperDir, candidates);
    return new LayerStack([upper, ...this.lower]);
  }

  readFile(rel: string): Promise<Buffer | null> {
    this.assertLive();
    const path = safeRel(rel);
    return this.serial(async () => {
      const e = this.stack(path).resolve(path);
      if (!e) return null;
      if (e.kind !== 'file') throw new UsageError(`not a regular file in the sandbox: ${rel}`);
      return readFileSync(e.hostPath);
    });
  }

  async writeFile(rel: string, data: string | Buffer): Promise<void> {
    const path = safeRel(rel);
    if (!path) throw new UsageError('cannot write the repository root');
    // The quoted path goes in bare: inside double quotes its single quotes would be literal.
    const q = shellQuote(path);
    const r = await this.exec(`mkdir -p -- "$(dirname -- ${q})" && cat > ${q}`, {
      stdin: data,
      timeoutMs: 30_000,
    });
    if (r.exitCode !== 0)
      throw new UsageError(`could not write ${rel} in the sandbox: ${r.stderr.trim()}`);
  }

  async applyPatch(
    diff: string,
    opts: { check?: boolean; reverse?: boolean } = {},
  ): Promise<ApplyResult> {
    return this.applyPatches([diff], opts);
  }

  /**
   * Applies several diffs in order in one command (one sandbox start instead of one each).
   * Stops at the first that does not apply; the message says which (1-based) it was.
   */
  async applyPatches(
    diffs: string[],
    opts: { check?: boolean; reverse?: boolean } = {},
  ): Promise<ApplyResult & { failedIndex?: number }> {
    this.assertLive();
    if (diffs.length === 0) return { ok: true, message: '' };
    const tag = `ssr-patch-${++this.execCount}`;
    const inside = this.isolation === 'bwrap' ? '/tmp' : this.tmpDir;
    for (const [i, d] of diffs.entries()) writeFileSync(join(this.tmpDir, `${tag}-${i}.diff`), d);
    const script = gitApplyScript(
      diffs.map((_, i) => `${inside}/${tag}-${i}.diff`),
      opts,
    );
    try {
      return applyOutcome(await this.exec(script, { timeoutMs: 60_000 }));
    } finally {
      for (const i of diffs.keys()) rmSync(join(this.tmpDir, `${tag}-${i}.diff`), { force: true });
    }
  }

  diff(opts: { against?: 'original' | 'start' } = {}): Promise<string> {
    this.assertLive();
    // 'start': the snapshot this sandbox was created from (e.g. a solver's buggy start state).
    const from = opts.against === 'start' ? this.base : this.base.root;
    return this.serial(async () => {
      if (this.host.mode.storage === 'copy') return this.copyDiff(from);
      const current = this.stack();
      const base = new LayerStack([...from.layers]);
      const baseDirs = new Set(base.layers.map((l) => l.dir));
      const upperLayers = current.layers.filter((l) => !baseDirs.has(l.dir));
      return diffStacks(base, current, changedCandidates(upperLayers, base));
    });
  }

  private copyDiff(from: Snapshot): string {
    const base = new LayerStack([...from.layers]);
    const current = new LayerStack([{ dir: this.copyDir, overlay: false }]);
    const candidates = new Set<string>();
    const skip = (rel: string) => isNoisePath(rel);
    for (const p of current.listFiles('', skip)) {
      const a = base.resolve(p);
      const b = current.resolve(p);
      if (
        !a ||
        !b ||
        a.stat.size !== b.stat.size ||
        a.stat.mtimeMs !== b.stat.mtimeMs ||
        a.stat.mode !== b.stat.mode
      ) {
        candidates.add(p);
      }
    }
    for (const p of base.listFiles('', skip)) {
      // Gone, or replaced by a directory.
      if (current.resolve(p)?.kind !== base.resolve(p)?.kind) candidates.add(p);
    }
    return diffStacks(base, current, candidates);
  }

  snapshot(): Promise<Snapshot> {
    this.assertLive();
    return this.serial(async () => this.snapshotNow());
  }

  private snapshotNow(): Snapshot {
    const root = this.base.root;
    if (this.host.mode.storage === 'copy') {
      const dir = this.host.newLayerDir();
      copyTree(this.copyDir, dir);
      return {
        id: `${this.id}-snap`,
        layers: [{ dir, overlay: false }],
        root,
        sourceDir: root.sourceDir,
      };
    }
    if (readdirSync(this.upperDir).length === 0) {
      return { id: `${this.id}-snap`, layers: [...this.lower], root, sourceDir: root.sourceDir };
    }
    // The upper layer becomes read-only; this sandbox continues on a fresh upper above it.
    const frozenDir = this.host.newLayerDir();
    renameSync(this.upperDir, frozenDir);
    mkdirSync(this.upperDir);
    const frozen: Layer = { dir: frozenDir, overlay: true };
    // Opaque marks matter only when the layers are read from the host (diff, readFile), never
    // for mounting them; reading them costs a python3 process (10-100+ ms, blocking the event
    // loop), so a fork does not pay for it: it is worked out on first use. Frozen layers never
    // change, so the answer is the same later.
    const below = new LayerStack([...this.lower]);
    let opaque: Set<string> | undefined;
    Object.defineProperty(frozen, 'opaque', {
      enumerable: true,
      get: () => (opaque ??= readOpaqueDirs(frozenDir, opaqueCandidates(frozen, below))),
      set: (v: Set<string> | undefined) => {
        opaque = v;
      },
    });
    this.lower = [frozen, ...this.lower];
    return { id: `${this.id}-snap`, layers: [...this.lower], root, sourceDir: root.sourceDir };
  }

  async fork(): Promise<LocalSandbox> {
    const snap = await this.snapshot();
    const child = this.host.create(snap);
    child.binds.push(...this.binds);
    return child;
  }

  /**
   * Kills whatever runs in the sandbox, then removes its state. A command still running is
   * killed with its whole process tree (process group, PID namespace and cgroup) and its
   * exec() rejects at once with an `ExecKilledError` saying the sandbox was disposed;
   * operations queued behind it are refused. Idempotent; concurrent calls share one disposal.
   */
  dispose(): Promise<void> {
    if (this.disposed && !this.disposal) return Promise.resolve();
    this.disposal ??= this.disposeNow();
    return this.disposal;
  }

  private async disposeNow(): Promise<void> {
    this.disposing = true;
    // Kill first: the running command's group (its bwrap takes the PID namespace with it),
    // the spare launcher, then anything else in the cgroup (e.g. setsid'd processes when
    // there is no bubblewrap).
    this.killSwitch.abort(
      new Error(`sandbox ${this.id} was disposed: the running command was killed`),
    );
    const spare = this.spare;
    this.spare = null;
    if (spare) discard(spare);
    this.cgroup.killAll();
    // Then wait: the killed exec settles, queued operations are refused.
    await this.queue;
    if (spare) await exited(spare);
    if (this.disposed) return; // disposeSync ran meanwhile (process exit)
    this.disposed = true;
    this.cgroup.killAll();
    // The cgroup can only go once its (killed) processes are gone: wait without blocking.
    await this.cgroup.removeAsync();
    await rm(this.dir, { recursive: true, force: true });
    this.host.forget(this);
  }

  /** @internal */
  disposeSync(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposing = true;
    this.killSwitch.abort(new Error(`sandbox ${this.id} was disposed: the process is exiting`));
    if (this.spare) discard(this.spare);
    this.spare = null;
    this.cgroup.killAll();
    this.cgroup.remove();
    rmSync(this.dir, { recursive: true, force: true });
    this.host.forget(this);
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { HeadTailBuffer } from '../util/bounded-buffer.js';

export interface SpawnOptions {
  cwd?: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Bytes kept per stream (head + tail); the rest is counted and dropped. */
  maxOutputBytes: number;
  stdin?: string | Buffer;
  /** Stream this host file to stdin (for inputs too large to hold in memory). */
  stdinFile?: string;
  /** Send stdout to this host file instead of memory, keeping at most `maxFileBytes`. */
  stdoutFile?: string;
  maxFileBytes?: number;
  /**
   * Kills the whole process group when aborted; the promise then rejects with an
   * `ExecKilledError` whose message is the signal's reason.
   */
  signal?: AbortSignal;
  /** Leave stdin open after the prelude: the caller writes to the child's stdin itself. */
  keepStdinOpen?: boolean;
  /** Also hands each stdout chunk here as it arrives (a session reads its replies). */
  onStdout?: (chunk: Buffer) => void;
}

export interface ExecResult {
  /** Exit code of the command; null when it was killed by a signal (e.g. on timeout). */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** True when stdout or stderr (or the stdout file) was cut to its byte limit. */
  truncated: boolean;
  stdoutBytes: number;
  stderrBytes: number;
}

/**
 * A command killed from outside before it ended (e.g. its sandbox was disposed). `result`
 * holds what it printed until then; `exitCode` is null and `signal` SIGKILL.
 */
export class ExecKilledError extends Error {
  constructor(
    message: string,
    readonly result: ExecResult,
  ) {
    super(message);
    this.name = 'ExecKilledError';
  }
}

// Once the main process has exited, how long stray holders of its pipes may keep them open.
const PIPE_DRAIN_GRACE_MS = 500;

/** Process groups still running, killed if this process exits (crash, Ctrl-C). */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) killGroup(pgid);
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Group already gone.
  }
}

// setpriv sets PR_SET_PDEATHSIG and execs (no extra process): if this process is killed with
// SIGKILL, the kernel still kills what it started, so nothing runs on unsupervised.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
export function withParentDeathSignal(argv: string[]): string[] {
  return SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : argv;
}

/**
 * A process started before it is needed, in its own process group, with all three stdio
 * pipes. Output it prints before `supervise` is kept and replayed.
 */
export interface Launched {
  child: ChildProcess;
  exit: { code: number | null; signal: string | null } | null;
  /** Set when the process could not be started at all. */
  error: Error | null;
  early: { stream: 'stdout' | 'stderr'; chunk: Buffer }[];
  /** Called once `supervise` has taken over the output. */
  detachEarly(): void;
}

export function launch(
  argv: string[],
  opts: { env: Record<string, string>; cwd?: string },
): Launched {
  const [file, ...args] = withParentDeathSignal(argv);
  const child = spawn(file!, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: 'pipe' });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  const early: Launched['early'] = [];
  const onOut = (chunk: Buffer) => early.push({ stream: 'stdout', chunk });
  const onErr = (chunk: Buffer) => early.push({ stream: 'stderr', chunk });
  child.stdout!.on('data', onOut);
  child.stderr!.on('data', onErr);
  // A launcher that dies before it is used must not crash the process with EPIPE.
  child.stdin!.on('error', () => {});
  const launched: Launched = {
    child,
    exit: null,
    error: null,
    early,
    detachEarly() {
      child.stdout!.off('data', onOut);
      child.stderr!.off('data', onErr);
    },
  };
  child.on('error', (err) => {
    launched.error = err;
  });
  child.on('exit', (code, signal) => {
    launched.exit = { code, signal };
  });
  return launched;
}

/** Resolves once a launched process has exited (or after `ms`). */
export function exited(l: Launched, ms = 2000): Promise<void> {
  if (l.exit || l.error || l.child.exitCode !== null || l.child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    l.child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Kills a launched process (and its group) that will not be used. */
export function discard(l: Launched): void {
  if (l.child.pid === undefined) return;
  killGroup(l.child.pid);
  liveGroups.delete(l.child.pid);
}

/**
 * Hands a launched process its input (`prelude` first, then stdin) and watches it: bounded
 * output, a timeout that kills its whole process group, and anything it left behind in that
 * group killed when it ends, because killing only the direct child leaves grandchildren
 * running (and holding our pipes open).
 */
export function supervise(
  l: Launched,
  opts: SpawnOptions & { prelude?: string },
): Promise<ExecResult> {
  const started = performance.now();
  const { child } = l;
  return new Promise((resolve, reject) => {
    if (l.error) {
      reject(l.error);
      return;
    }
    const stdout = new HeadTailBuffer(opts.maxOutputBytes);
    const stderr = new HeadTailBuffer(opts.maxOutputBytes);
    let file$: BatchedWriter | undefined;
    let fileBytes = 0;
    let fileTruncated = false;
    const fileLimit = opts.maxFileBytes ?? Number.POSITIVE_INFINITY;
    if (opts.stdoutFile) file$ = new BatchedWriter(createWriteStream(opts.stdoutFile));

    let timedOut = false;
    let settled = false;
    const kill = () => {
      if (child.pid !== undefined) killGroup(child.pid);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    let killedBecause: string | null = null;
    const onAbort = () => {
      if (settled) return;
      const reason = opts.signal?.reason;
      killedBecause = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
      kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();

    const onStdout = (chunk: Buffer) => {
      opts.onStdout?.(chunk);
      if (!file$) {
        stdout.push(chunk);
        return;
      }
      stdout.total += chunk.length;
      if (fileBytes >= fileLimit) {
        fileTruncated = true;
        return;
      }
      const take = Math.min(chunk.length, fileLimit - fileBytes);
      if (take < chunk.length) fileTruncated = true;
      fileBytes += take;
      file$.write(take === chunk.length ? chunk : chunk.subarray(0, take));
    };
    const onStderr = (chunk: Buffer) => stderr.push(chunk);
    l.detachEarly();
    for (const e of l.early) (e.stream === 'stdout' ? onStdout : onStderr)(e.chunk);
    child.stdout!.on('data', onStdout);
    child.stderr!.on('data', onStderr);

    const stdin = child.stdin!;
    if (opts.prelude !== undefined) stdin.write(opts.prelude);
    if (opts.stdinFile) {
      const input = createReadStream(opts.stdinFile);
      input.on('error', () => stdin.destroy());
      input.pipe(stdin);
    } else if (!opts.keepStdinOpen) {
      stdin.end(opts.stdin ?? '');
    }

    const finish = async (exit: { code: number | null; signal: string | null }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Anything the command left behind in its group dies with it.
      kill();
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (file$) await file$.end();
      const result: ExecResult = {
        exitCode: exit.code,
        signal: exit.signal,
        stdout: file$ ? '' : stdout.toString(),
        stderr: stderr.toString(),
        durationMs: performance.now() - started,
        timedOut,
        truncated: stdout.truncated || stderr.truncated || fileTruncated,
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
      };
      if (killedBecause !== null) reject(new ExecKilledError(killedBecause, result));
      else resolve(result);
    };
    const onExit = () => {
      const exit = l.exit!;
      // A daemonised grandchild may hold the pipes open forever: do not wait for it.
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        void finish(exit);
      }, PIPE_DRAIN_GRACE_MS).unref();
    };
    if (l.exit) onExit();
    else child.once('exit', () => onExit());
    child.once('close', () => {
      if (l.exit) void finish(l.exit);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
  });
}

/**
 * A file stream written in blocks: a test reporter writes a line per test, which arrives as
 * thousands of small chunks, and a write per chunk cost the main thread more than the
 * sandboxes did (espree: 2 s of 13 s of its CPU time in 100 s of inject).
 */
class BatchedWriter {
  private pending: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly file: WriteStream) {}

  write(chunk: Buffer): void {
    this.pending.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= BATCH_BYTES) this.flush();
  }

  end(): Promise<void> {
    this.flush();
    return new Promise((r) => this.file.end(r));
  }

  private flush(): void {
    if (!this.bytes) return;
    this.file.write(this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending));
    this.pending = [];
    this.bytes = 0;
  }
}

const BATCH_BYTES = 64 << 10;

/** Spawns argv now and supervises it (see `supervise`). */
export function spawnBounded(argv: string[], opts: SpawnOptions): Promise<ExecResult> {
  if (argv.length === 0) return Promise.reject(new Error('spawnBounded: empty argv'));
  return supervise(launch(argv, { env: opts.env, cwd: opts.cwd }), opts);
}

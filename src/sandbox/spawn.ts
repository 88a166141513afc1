import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
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

// Once the main process has exited, how long stray holders of its pipes may keep them open.
const PIPE_DRAIN_GRACE_MS = 500;
// The kernel-side deadline (coreutils timeout) fires this long after ours, and only matters
// when this process died without killing its children (e.g. kill -9).
const BACKSTOP_GRACE_S = 5;

/** Process groups still running, killed if this process exits (crash, Ctrl-C). */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {}
  }
});

/**
 * Runs argv in its own process group and kills the whole group on timeout, because killing
 * only the direct child leaves grandchildren running (and holding our pipes open).
 */
export function spawnBounded(argv: string[], opts: SpawnOptions): Promise<ExecResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    if (argv.length === 0) {
      reject(new Error('spawnBounded: empty argv'));
      return;
    }
    const backstop = String(Math.ceil(opts.timeoutMs / 1000) + BACKSTOP_GRACE_S);
    const child = spawn('timeout', ['-s', 'KILL', backstop, ...argv], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [opts.stdin === undefined && !opts.stdinFile ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout = new HeadTailBuffer(opts.maxOutputBytes);
    const stderr = new HeadTailBuffer(opts.maxOutputBytes);
    let file$: WriteStream | undefined;
    let fileBytes = 0;
    let fileTruncated = false;
    const fileLimit = opts.maxFileBytes ?? Number.POSITIVE_INFINITY;
    if (opts.stdoutFile) file$ = createWriteStream(opts.stdoutFile);

    let timedOut = false;
    let exited = false;
    let settled = false;
    let exitCode: number | null = null;
    let signal: string | null = null;

    if (child.pid !== undefined) liveGroups.add(child.pid);
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Group already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);

    child.stdout!.on('data', (chunk: Buffer) => {
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
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        // The command need not read its input (EPIPE).
      });
      child.stdin.end(opts.stdin);
    } else if (opts.stdinFile && child.stdin) {
      child.stdin.on('error', () => {});
      const input = createReadStream(opts.stdinFile);
      input.on('error', () => child.stdin?.destroy());
      input.pipe(child.stdin);
    }

    const finish = async () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Anything the command left behind in its group dies with it.
      killGroup();
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (file$) await new Promise<void>((r) => file$!.end(r));
      resolve({
        exitCode,
        signal,
        stdout: file$ ? '' : stdout.toString(),
        stderr: stderr.toString(),
        durationMs: performance.now() - started,
        timedOut,
        truncated: stdout.truncated || stderr.truncated || fileTruncated,
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
      });
    };

    child.on('error', (err) => {
      clearTimeout(timer);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      signal = sig;
      // A daemonised grandchild may hold the pipes open forever: do not wait for it.
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        void finish();
      }, PIPE_DRAIN_GRACE_MS).unref();
    });
    child.on('close', () => {
      if (exited) void finish();
    });
  });
}

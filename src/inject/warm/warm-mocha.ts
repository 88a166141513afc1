import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import pLimit, { type LimitFunction } from 'p-limit';
import type { WarmRunnerSpec } from '../../discovery/types.js';
import type { Sandbox, SandboxProvider, SandboxSession, Snapshot } from '../../sandbox/types.js';
import { errorMessage } from '../../util/errors.js';
import { MOCHA_WORKER_SOURCE } from './mocha-worker-source.js';

/** What one warm run saw: the ids (as mocha's test_parser.py spells them) of passing tests. */
export type WarmOutcome =
  | {
      ok: true;
      passed: Set<string>;
      failed: string[];
      ran: number;
      ms: number;
      /** With `coverage`: test id -> repository file -> lines it executed. */
      coverage?: Map<string, Map<string, number[]>>;
      /** Stopped after `stopAfter` failures: the tests after them did not run. */
      stopped?: boolean;
      /** With `coverage`: test file -> repository file -> lines its loading ran. */
      loads?: Map<string, Map<string, number[]>>;
      /** Each test file's tests' time, ms. */
      fileMs: Map<string, number>;
      /** The failures as the suite's reporter prints them (message, stack frames), up to 1 MiB. */
      log: string;
      /** Whether the runner compiles code on load (its coverage lines are not the file's). */
      transpiled: boolean;
    }
  | { ok: false; reason: string; timedOut?: boolean };

interface Reply {
  id?: number;
  ready?: boolean;
  error?: string;
  tests?: Row[];
  stopped?: boolean;
  loads?: Record<string, Record<string, [number, number][]>>;
  fileMs?: Record<string, number>;
  log?: string;
  transpiled?: boolean;
  rss?: number;
}

/** A test's id as MOCHA_PARSER makes it: the file, then the title path. */
export function mochaTestId(file: string, titles: readonly string[]): string {
  return [...(file ? [file] : []), ...titles].join(' > ');
}

const RANK: Record<string, number> = { skipped: 0, passed: 1, failed: 2 };

/** A test event: file, title path, status, the test's key, and with coverage its lines. */
type Row = [string, string[], string, number, Record<string, [number, number][]>?];

/**
 * Each test's id and status as MOCHA_PARSER reads the same events: a test reported twice
 * keeps its worst status; a second test with the same id is "<id> (2)".
 */
export function mochaStatuses(rows: readonly Row[]): Map<string, string> {
  return readRows(rows).statuses;
}

function readRows(rows: readonly Row[]): {
  statuses: Map<string, string>;
  coverage: Map<string, Map<string, number[]>>;
} {
  const coverage = new Map<string, Map<string, number[]>>();
  const idOfKey = new Map<number, string>();
  const seen = new Map<string, number>();
  const statuses = new Map<string, string>();
  for (const [file, titles, status, key, spans] of rows) {
    let id = idOfKey.get(key);
    if (id === undefined) {
      const base = mochaTestId(file, titles);
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      id = n > 1 ? `${base} (${n})` : base;
      idOfKey.set(key, id);
    }
    const old = statuses.get(id);
    if (old === undefined || (RANK[status] ?? 0) > (RANK[old] ?? 0)) statuses.set(id, status);
    if (spans && !coverage.has(id)) coverage.set(id, expandSpans(spans));
  }
  return { statuses, coverage };
}

function expandSpans(spans: Record<string, [number, number][]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [file, list] of Object.entries(spans)) {
    const lines: number[] = [];
    for (const [a, b] of list) for (let n = a; n <= b; n++) lines.push(n);
    out.set(file, lines);
  }
  return out;
}

/**
 * Finds `<nonce> <json>` lines in a stream that also carries whatever the tests print, keeping
 * only the unfinished last line between chunks (test output can be large).
 */
export class ReplyReader {
  /** The unfinished last line, in pieces (a coverage reply can be tens of megabytes). */
  private parts: string[] = [];
  private readonly decoder = new StringDecoder('utf8');
  constructor(
    private readonly nonce: string,
    private readonly onReply: (r: Reply) => void,
  ) {}

  push(chunk: Buffer | string): void {
    // A chunk may end inside a UTF-8 character (test titles are not all ASCII).
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      this.parts.push(text.slice(0, nl));
      this.line(this.parts.join(''));
      this.parts = [];
      text = text.slice(nl + 1);
    }
    if (text) this.parts.push(text);
    // An unfinished line that cannot become a reply is dropped now, not kept growing.
    const head = this.parts[0] ?? '';
    const n = Math.min(head.length, this.nonce.length);
    if (head.slice(0, n) !== this.nonce.slice(0, n)) this.parts = [];
  }

  private line(line: string): void {
    if (!line.startsWith(`${this.nonce} `)) return;
    try {
      this.onReply(JSON.parse(line.slice(this.nonce.length + 1)) as Reply);
    } catch {
      // A line that only looks like a reply: ignored.
    }
  }
}

/**
 * One warm mocha process in its own sandbox (see mocha-worker-source.ts). Runs are one at a
 * time; a run that times out or a worker that dies ends the worker, and the pool starts another.
 */
export class WarmMochaWorker {
  runs = 0;
  private nextId = 0;
  private waiting = new Map<number, (r: Reply) => void>();
  private dead: string | null = null;
  transpiled = false;
  /** The worker's resident memory after its last run (ES modules loaded again are never freed). */
  rss = 0;

  private constructor(
    private readonly sandbox: Sandbox,
    private readonly session: SandboxSession,
  ) {}

  /** Starts a worker; throws with the worker's own explanation when it cannot start. */
  static async start(
    provider: SandboxProvider,
    snapshot: Snapshot,
    spec: WarmRunnerSpec,
    opts: { startTimeoutMs?: number } = {},
  ): Promise<WarmMochaWorker> {
    const sandbox = provider.create(snapshot);
    if (!sandbox.session) {
      await sandbox.dispose();
      throw new Error('this sandbox backend cannot keep a test runner warm');
    }
    const dir = mkdtempSync(join(tmpdir(), 'ssr-warm-'));
    const nonce = `ssr-warm-${randomBytes(8).toString('hex')}`;
    let worker: WarmMochaWorker | null = null;
    let ready: ((r: Reply) => void) | null = null;
    const readyReply = new Promise<Reply>((r) => {
      ready = r;
    });
    const reader = new ReplyReader(nonce, (r) => {
      if (r.ready !== undefined) ready?.(r);
      else worker?.deliver(r);
    });
    try {
      writeFileSync(join(dir, 'worker.cjs'), MOCHA_WORKER_SOURCE);
      const inside = sandbox.exposeFile(join(dir, 'worker.cjs'), 'ssr-warm-mocha.cjs');
      const session = await sandbox.session('exec node "$SSR_WARM_WORKER"', {
        env: {
          ...spec.env,
          npm_config_update_notifier: 'false',
          SSR_WARM_WORKER: inside,
          SSR_WARM_NONCE: nonce,
          SSR_WARM_CONFIG: JSON.stringify({ args: spec.args }),
        },
        onStdout: (chunk) => reader.push(chunk),
      });
      worker = new WarmMochaWorker(sandbox, session);
      const w = worker;
      const ended = session.done.then(
        (r) => `the warm runner exited (${r.exitCode ?? r.signal}): ${r.stderr.trim().slice(-500)}`,
        (e: unknown) => errorMessage(e),
      );
      void ended.then((why) => w.fail(why));
      const first = await Promise.race([
        readyReply,
        ended.then((why): Reply => ({ ready: false, error: why })),
        new Promise<Reply>((r) =>
          setTimeout(
            () => r({ ready: false, error: 'the warm runner did not start in time' }),
            opts.startTimeoutMs ?? 60_000,
          ).unref(),
        ),
      ]);
      if (!first.ready) {
        await w.close();
        throw new Error(first.error ?? 'the warm runner did not start');
      }
      w.transpiled = !!first.transpiled;
      return w;
    } catch (err) {
      if (!worker) await sandbox.dispose();
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  get alive(): boolean {
    return this.dead === null;
  }

  private deliver(r: Reply): void {
    if (r.id === undefined) return;
    const w = this.waiting.get(r.id);
    this.waiting.delete(r.id);
    w?.(r);
  }

  private fail(why: string): void {
    if (this.dead !== null) return;
    this.dead = why;
    for (const w of this.waiting.values()) w({ error: why });
    this.waiting.clear();
  }

  /** Runs `files` (repo-relative test files) with `edits` written first, undone after. */
  async run(
    edits: Record<string, string | null>,
    files: readonly string[],
    timeoutMs: number,
    opts: RunOptions = {},
  ): Promise<WarmOutcome> {
    if (this.dead !== null) return { ok: false, reason: this.dead };
    const id = ++this.nextId;
    this.runs++;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const reply = await new Promise<Reply>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => {
        // A mutant that loops forever: the worker cannot be trusted to recover.
        timedOut = true;
        this.fail(`no answer in ${Math.round(timeoutMs / 1000)} s`);
        this.session.kill();
      }, timeoutMs);
      const request = {
        id,
        write: edits,
        files,
        ...(opts.only ? { only: opts.only } : {}),
        ...(opts.coverage ? { coverage: true } : {}),
        ...(opts.stopAfter ? { stopAfter: opts.stopAfter } : {}),
      };
      this.session.write(`${JSON.stringify(request)}\n`);
    });
    clearTimeout(timer);
    if (reply.error !== undefined || !reply.tests) {
      return {
        ok: false,
        reason: reply.error ?? 'the warm runner sent no results',
        ...(timedOut ? { timedOut } : {}),
      };
    }
    this.rss = reply.rss ?? this.rss;
    const { statuses, coverage } = readRows(reply.tests);
    const passed = new Set<string>();
    const failed: string[] = [];
    for (const [id, status] of statuses) {
      if (status === 'passed') passed.add(id);
      else if (status === 'failed') failed.push(id);
    }
    return {
      ok: true,
      passed,
      failed,
      ran: statuses.size,
      ms: performance.now() - t0,
      ...(opts.coverage ? { coverage } : {}),
      ...(reply.stopped ? { stopped: true } : {}),
      ...(reply.loads
        ? {
            loads: new Map(
              Object.entries(reply.loads).map(([file, spans]) => [file, expandSpans(spans)]),
            ),
          }
        : {}),
      fileMs: new Map(Object.entries(reply.fileMs ?? {})),
      log: reply.log ?? '',
      transpiled: this.transpiled,
    };
  }

  async close(): Promise<void> {
    this.fail('closed');
    this.session.kill();
    await this.session.done.catch(() => undefined);
    await this.sandbox.dispose();
  }
}

export interface RunOptions {
  /** Only these tests of the files (ids as mocha's test_parser.py makes them). */
  only?: readonly string[];
  /** Record the lines each test executes. */
  coverage?: boolean;
  /** Stop the run once more tests than this have failed. */
  stopAfter?: number;
}

export interface WarmPoolOptions {
  /** Workers at most (one per concurrent candidate). */
  size: number;
  /** Runs a worker makes before a fresh one replaces it (bounds what runs leave behind). */
  maxRuns?: number;
  /** Resident memory past which a worker is replaced (default 1.5 GiB). */
  maxRssBytes?: number;
  startTimeoutMs?: number;
}

/**
 * Warm workers shared by concurrent candidates. A run takes an idle worker (or starts one);
 * a worker that failed, timed out, made `maxRuns` runs or grew past `maxRssBytes` is closed
 * and replaced.
 */
export class WarmPool {
  private idle: WarmMochaWorker[] = [];
  /** One run per worker, `size` workers at most: a run waits for a free one. */
  private readonly slots: LimitFunction;
  private all = new Set<WarmMochaWorker>();
  private closed = false;

  constructor(
    private readonly provider: SandboxProvider,
    private readonly snapshot: Snapshot,
    private readonly spec: WarmRunnerSpec,
    private readonly opts: WarmPoolOptions,
  ) {
    this.slots = pLimit(Math.max(1, opts.size));
  }

  private async take(): Promise<WarmMochaWorker> {
    const w = this.idle.pop();
    if (w) return w;
    const started = await WarmMochaWorker.start(this.provider, this.snapshot, this.spec, {
      startTimeoutMs: this.opts.startTimeoutMs,
    });
    this.all.add(started);
    return started;
  }

  private give(w: WarmMochaWorker): void {
    const fresh =
      w.runs < (this.opts.maxRuns ?? 100) && w.rss < (this.opts.maxRssBytes ?? 1.5 * 2 ** 30);
    if (!this.closed && w.alive && fresh) {
      this.idle.push(w);
      return;
    }
    this.all.delete(w);
    void w.close();
  }

  run(
    edits: Record<string, string | null>,
    files: readonly string[],
    timeoutMs: number,
    opts: RunOptions = {},
  ): Promise<WarmOutcome> {
    // A closed pool or a worker that would not start is an outcome, not an error.
    return this.withWorker((w) => w.run(edits, files, timeoutMs, opts)).catch(
      (err: unknown): WarmOutcome => ({ ok: false, reason: errorMessage(err) }),
    );
  }

  /**
   * Runs `fn` on one worker held for its whole length (calibration's two runs must share a
   * process), in one of the pool's slots.
   */
  withWorker<T>(fn: (w: WarmMochaWorker) => Promise<T>): Promise<T> {
    return this.slots(async () => {
      if (this.closed) throw new Error('the warm pool is closed');
      const w = await this.take();
      try {
        return await fn(w);
      } finally {
        this.give(w);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((w) => w.close()));
  }
}

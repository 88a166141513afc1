import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelClient } from '../agent/types.js';
import { writeJsonl } from '../export/jsonl.js';
import { exportRows } from '../export/rows.js';
import { isErrorEpisode, type RunStore } from '../store/run-store.js';
import { SsrError } from '../util/errors.js';

/**
 * The online step contract of `ssr selfplay --sync file`, for trainers that update the weights
 * between steps. Everything goes through files in `<run>/sync/`, each written whole (tmp +
 * rename), so either side can be killed at any moment:
 *
 *   step-<N>.jsonl        ssr: the rows of step N (as `ssr export --format jsonl`, final rewards)
 *   step-<N>.ready.json   ssr, after the export: {step, rows, export, policy_version[, pending]}
 *   policy-<N>.json       the trainer: {version, model?}; ssr samples step N+1 only after it
 *
 * Steps are numbered as in the journal (from 0).
 */
export const SYNC_MODES = ['none', 'file'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const SYNC_DIR = 'sync';
export const stepExportName = (step: number) => `step-${step}.jsonl`;
export const readyName = (step: number) => `step-${step}.ready.json`;
export const policyName = (step: number) => `policy-${step}.json`;

/** What ssr writes once step N is finished and exported. */
export interface ReadyFile {
  step: number;
  /** Rows in the export. */
  rows: number;
  /** The export's file name, in the same folder. */
  export: string;
  /** The policy version the step's episodes were sampled with. */
  policy_version: string | null;
  /** Episodes of the step whose reward was not final yet (left out); absent when none. */
  pending?: number;
}

/** What the trainer writes once it has trained on step N. */
export const PolicyFileSchema = z.looseObject({
  version: z.string().min(1),
  /** The model name to request from now on (e.g. the new checkpoint's name on the server). */
  model: z.string().min(1).optional(),
});
export type PolicyFile = z.infer<typeof PolicyFileSchema>;

/** No policy came within `--sync-timeout`: exit status 4, like other waits on the model side. */
export class SyncTimeout extends SsrError {
  constructor(message: string) {
    super(message, 'sync-timeout', 4);
    this.name = 'SyncTimeout';
  }
}

/** Writes `path` whole: to a temporary file beside it, fsynced, then renamed over it. */
function writeAtomic(path: string, write: (tmp: string) => void): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    write(tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeAtomic(path, (tmp) => writeFileSync(tmp, `${JSON.stringify(value)}\n`));
}

/**
 * Writes step N's export (`step-N.jsonl`: its finished episodes with final rewards, groups,
 * advantages, token ids, logprobs and policy columns), then `step-N.ready.json`, each whole.
 */
export function writeStepExport(
  store: RunStore,
  step: number,
  policyVersion: string | null,
): ReadyFile {
  const dir = join(store.dir, SYNC_DIR);
  const rows = exportRows(store, { step });
  let n = 0;
  writeAtomic(join(dir, stepExportName(step)), (tmp) => {
    n = writeJsonl(tmp, rows);
  });
  const ready: ReadyFile = {
    step,
    rows: n,
    export: stepExportName(step),
    policy_version: policyVersion,
    ...(rows.pending > 0 ? { pending: rows.pending } : {}),
  };
  writeJsonAtomic(join(dir, readyName(step)), ready);
  return ready;
}

export type PolicyRead =
  | { status: 'missing' }
  | { status: 'invalid'; problem: string }
  | { status: 'ok'; policy: PolicyFile };

/** The trainer's policy file for step N, if there is one and it is well-formed. */
export function readPolicy(runDir: string, step: number): PolicyRead {
  const path = join(runDir, SYNC_DIR, policyName(step));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return {
      status: 'invalid',
      problem: `cannot read it (${(err as NodeJS.ErrnoException).code})`,
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { status: 'invalid', problem: `not JSON (${(err as Error).message})` };
  }
  const parsed = PolicyFileSchema.safeParse(data);
  if (!parsed.success) {
    const what = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
      .join('; ');
    return {
      status: 'invalid',
      problem: `${what} (expected {"version": "<non-empty string>", "model"?: "<name>"})`,
    };
  }
  return { status: 'ok', policy: parsed.data };
}

export function readReady(runDir: string, step: number): ReadyFile | null {
  try {
    return JSON.parse(readFileSync(join(runDir, SYNC_DIR, readyName(step)), 'utf8')) as ReadyFile;
  } catch {
    return null;
  }
}

/** Steps numbered in `sync/` files matching `pattern`, ascending. */
function numbered(runDir: string, pattern: RegExp): number[] {
  const dir = join(runDir, SYNC_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => pattern.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** The ready files of a run, by step. */
export function readySteps(runDir: string): ReadyFile[] {
  return numbered(runDir, /^step-(\d+)\.ready\.json$/)
    .map((n) => readReady(runDir, n))
    .filter((r): r is ReadyFile => r !== null);
}

/** The well-formed policy files of a run, by step. */
export function writtenPolicies(runDir: string): { afterStep: number; policy: PolicyFile }[] {
  return numbered(runDir, /^policy-(\d+)\.json$/).flatMap((n) => {
    const r = readPolicy(runDir, n);
    return r.status === 'ok' ? [{ afterStep: n, policy: r.policy }] : [];
  });
}

export interface WaitOptions {
  /** Give up after this long (SyncTimeout); default: wait forever. */
  timeoutMs?: number;
  /** Stop waiting (returns null). */
  signal?: AbortSignal;
  /** Default 200 ms. */
  pollMs?: number;
  /** A malformed policy file, once per distinct problem; waiting goes on. */
  onProblem?: (message: string) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Polls for the trainer's `policy-N.json` until a well-formed one is there. A malformed file is
 * reported and waited past (a trainer that writes in place may be mid-write). Returns null when
 * `signal` stops the wait; throws SyncTimeout when `timeoutMs` passes first.
 */
export async function waitForPolicy(
  runDir: string,
  step: number,
  opts: WaitOptions = {},
): Promise<PolicyFile | null> {
  const started = performance.now();
  let reported = '';
  for (;;) {
    if (opts.signal?.aborted) return null;
    const r = readPolicy(runDir, step);
    if (r.status === 'ok') return r.policy;
    if (r.status === 'invalid' && r.problem !== reported) {
      reported = r.problem;
      opts.onProblem?.(`${SYNC_DIR}/${policyName(step)} is not a valid policy file: ${r.problem}`);
    }
    const left =
      opts.timeoutMs === undefined ? Infinity : opts.timeoutMs - (performance.now() - started);
    if (left <= 0) {
      throw new SyncTimeout(
        `no policy from the trainer for step-${step} within ${Number((opts.timeoutMs! / 1000).toFixed(3))} s ` +
          `(${SYNC_DIR}/${policyName(step)}${reported ? `, which is invalid: ${reported}` : ' was never written'}); ` +
          'stopped (finished work is kept: rerun the same command to wait again)',
      );
    }
    await sleep(Math.min(opts.pollMs ?? 200, left), opts.signal);
  }
}

export type SyncEvent =
  | { type: 'sync-ready'; ready: ReadyFile }
  | { type: 'sync-waiting'; step: number; file: string }
  | { type: 'sync-policy'; step: number; version: string; model?: string }
  | { type: 'note'; message: string };

/**
 * The self-play scheduler's side of the contract: after each finished step, its export and
 * ready file; before each later step, the trainer's policy. What a crash interrupts is redone
 * from the files: a finished step without a ready file gets one, and the version in force for
 * step N+1 is the one in `policy-N.json`.
 */
export class FileSync {
  constructor(
    private readonly store: RunStore,
    private readonly model: ModelClient,
    private readonly opts: {
      timeoutMs?: number;
      signal?: AbortSignal;
      pollMs?: number;
      emit: (e: SyncEvent) => void;
    },
  ) {}

  /** Exports of finished steps whose ready file a crash prevented. */
  catchUp(): void {
    for (const m of this.store.steps()) {
      if (readReady(this.store.dir, m.step)) continue;
      // The version the step was sampled with: what its last finished episode recorded.
      const last = this.store
        .episodes()
        .filter((e) => e.step === m.step && !isErrorEpisode(e))
        .at(-1);
      this.afterStep(m.step, last?.policy?.version ?? null);
    }
  }

  afterStep(step: number, policyVersion: string | null): ReadyFile {
    const ready = writeStepExport(this.store, step, policyVersion);
    this.opts.emit({ type: 'sync-ready', ready });
    return ready;
  }

  /**
   * Waits for `policy-<step-1>.json` and puts it in force: its version for the step's episodes
   * and, when it names one, its model (the latest model any earlier policy file named, so a
   * resumed run asks for the same). Null when stopped.
   */
  async beforeStep(step: number): Promise<{ version: string } | null> {
    const after = step - 1;
    const file = `${SYNC_DIR}/${policyName(after)}`;
    if (readPolicy(this.store.dir, after).status !== 'ok')
      this.opts.emit({ type: 'sync-waiting', step: after, file });
    const policy = await waitForPolicy(this.store.dir, after, {
      timeoutMs: this.opts.timeoutMs,
      signal: this.opts.signal,
      pollMs: this.opts.pollMs,
      onProblem: (message) =>
        this.opts.emit({ type: 'note', message: `${message}; still waiting` }),
    });
    if (!policy) return null;
    const model = writtenPolicies(this.store.dir)
      .filter((p) => p.afterStep <= after && p.policy.model)
      .at(-1)?.policy.model;
    this.opts.emit({
      type: 'sync-policy',
      step: after,
      version: policy.version,
      ...(model ? { model } : {}),
    });
    if (model) {
      if (this.model.setModel) this.model.setModel(model);
      else
        this.opts.emit({
          type: 'note',
          message: `the policy names model ${model}, but ${this.model.description} cannot switch models; keeping it`,
        });
    }
    return { version: policy.version };
  }
}

/** The trainer's side, for `ssr serve`'s policy endpoint and for scripts: `policy-N.json`, whole. */
export function writePolicy(runDir: string, step: number, policy: PolicyFile): string {
  const relative = `${SYNC_DIR}/${policyName(step)}`;
  writeJsonAtomic(join(runDir, relative), policy);
  return relative;
}

import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import {
  type PolicyFile,
  policyName,
  readPolicy,
  readReady,
  readyName,
  readySteps,
  SYNC_DIR,
  writePolicy,
  writtenPolicies,
} from '../selfplay/sync.js';
import { UsageError } from '../util/errors.js';
import { ApiError } from './errors.js';
import type { PolicyPostBody, RunSyncOut } from './schemas.js';

/**
 * The trainer's side of `ssr selfplay --sync file` over HTTP (`ssr serve --run-root`): the
 * policy file of a finished step is posted instead of written, for a trainer on another machine
 * than the run directory. Only run folders directly under the root can be named.
 */
export class RunSyncRoot {
  private constructor(readonly root: string) {}

  static open(dir: string): RunSyncRoot {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      throw new UsageError(`--run-root not found: ${dir}`);
    }
    if (!statSync(real).isDirectory())
      throw new UsageError(`--run-root is not a directory: ${dir}`);
    return new RunSyncRoot(real);
  }

  /** The run folder named `runId`: a plain name, an existing run, inside the root. */
  runDir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === '.' || runId === '..') {
      throw new ApiError(
        400,
        'bad-request',
        `run id ${JSON.stringify(runId)} is not a run folder name (letters, digits, . _ - only)`,
      );
    }
    const dir = join(this.root, runId);
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      throw new ApiError(404, 'not-found', `no run ${runId} under the run root`);
    }
    if (!real.startsWith(this.root + sep)) {
      throw new ApiError(
        403,
        'forbidden-path',
        `run ${runId} resolves (through a symlink) outside the run root`,
      );
    }
    if (!existsSync(join(real, 'run.json'))) {
      throw new ApiError(
        404,
        'not-found',
        `${runId} under the run root is not an ssr run (no run.json)`,
      );
    }
    return real;
  }

  /**
   * Writes `sync/policy-N.json` (whole). The step must be exported (its ready file written);
   * posting the same policy again is fine, another one for the same step is refused, since ssr
   * may already be sampling with the first.
   */
  postPolicy(
    runId: string,
    body: PolicyPostBody,
  ): { runId: string; afterStep: number; file: string; policy: PolicyFile } {
    const dir = this.runDir(runId);
    const step = body.after_step;
    if (!readReady(dir, step)) {
      throw new ApiError(
        409,
        'not-ready',
        `step-${step} of run ${runId} is not exported yet (no ${SYNC_DIR}/${readyName(step)}); ` +
          'post its policy once the ready file is there',
      );
    }
    const policy: PolicyFile = {
      version: body.version,
      ...(body.model ? { model: body.model } : {}),
    };
    const before = readPolicy(dir, step);
    if (before.status === 'ok') {
      if (JSON.stringify(before.policy) !== JSON.stringify(policy)) {
        throw new ApiError(
          409,
          'policy-exists',
          `run ${runId} already has a policy for step-${step} (version ${before.policy.version}); ` +
            'ssr may be sampling with it, so it is not replaced',
        );
      }
      return { runId, afterStep: step, file: `${SYNC_DIR}/${policyName(step)}`, policy };
    }
    const file = writePolicy(dir, step, policy);
    return { runId, afterStep: step, file, policy };
  }

  status(runId: string): RunSyncOut {
    const dir = this.runDir(runId);
    const ready = readySteps(dir);
    const policies = writtenPolicies(dir).map((p) => ({
      after_step: p.afterStep,
      version: p.policy.version,
      ...(p.policy.model ? { model: p.policy.model } : {}),
    }));
    const have = new Set(policies.map((p) => p.after_step));
    const waiting = ready.filter((r) => !have.has(r.step)).at(-1);
    return { runId, ready, policies, awaiting: waiting ? waiting.step : null };
  }
}

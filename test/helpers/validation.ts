/** Shared assertions and a CLI runner for the validator tests. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readArtifact } from '../../src/artifact/artifact.js';
import type { SandboxProvider, Snapshot } from '../../src/sandbox/types.js';
import type { ValidationReport, ValidationSettings } from '../../src/validate/report.js';
import { validateArtifact } from '../../src/validate/validator.js';
import { type ArtifactSpec, writeTestArtifact } from './fixtures.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A short, readable account of a report for assertion messages. */
export function summary(report: ValidationReport): string {
  return report.checks.map((c) => `${c.id} ${c.status}: ${c.message}`).join('\n');
}

/** The report is valid: all seven checks ran and passed. */
export function assertValid(report: ValidationReport): void {
  assert.equal(report.valid, true, `expected a valid artifact:\n${summary(report)}`);
  assert.equal(report.failedCheck, null);
  assert.deepEqual(
    report.checks.map((c) => [c.id, c.status]),
    [1, 2, 3, 4, 5, 6, 7].map((id) => [id, 'passed']),
  );
}

/**
 * The report fails exactly check `id`: checks before it passed, it failed with a message that
 * matches `message` (and is not an internal error), and later checks were skipped.
 */
export function assertFailsAt(report: ValidationReport, id: number, message: RegExp): void {
  assert.equal(report.valid, false, `expected check ${id} to fail:\n${summary(report)}`);
  assert.equal(report.failedCheck?.id, id, `expected check ${id} to fail:\n${summary(report)}`);
  assert.deepEqual(
    report.checks.map((c) => [c.id, c.status]),
    [1, 2, 3, 4, 5, 6, 7].map((n) => [n, n < id ? 'passed' : n === id ? 'failed' : 'skipped']),
  );
  assert.doesNotMatch(report.failedCheck!.message, /internal error/);
  assert.match(report.failedCheck!.message, message);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the ssr CLI from source (through tsx), so no build is needed. */
export function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(err);
          return;
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Writes artifact specs under `work` and validates them on `snapshot`; `ctx` is read at each
 * call, so a test file can set its host, snapshot and scratch folder in before().
 */
export function specValidator(
  ctx: () => { host: SandboxProvider; snapshot: Snapshot; work: string },
): {
  artifactDir(spec: ArtifactSpec): string;
  validate(spec: ArtifactSpec, settings?: Partial<ValidationSettings>): Promise<ValidationReport>;
} {
  const artifactDir = (spec: ArtifactSpec) => writeTestArtifact(join(ctx().work, spec.id), spec);
  return {
    artifactDir,
    validate: (spec, settings = {}) => {
      const { host, snapshot } = ctx();
      return validateArtifact(readArtifact(artifactDir(spec)), { host, snapshot, settings });
    },
  };
}

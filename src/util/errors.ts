/**
 * Errors a user can act on. The CLI prints `message` on one line (no stack trace) and exits
 * with `exitCode`; anything that is not an SsrError is a bug in ssr and is reported as such.
 */
export class SsrError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'SsrError';
  }
}

/** The user asked for something impossible: a missing file, a bad flag, an unreadable repo. */
export class UsageError extends SsrError {
  constructor(message: string, code = 'usage') {
    super(message, code, 2);
    this.name = 'UsageError';
  }
}

/** The environment cannot do what was asked safely (e.g. no sandbox and no explicit opt-out). */
export class EnvironmentError extends SsrError {
  constructor(message: string, code = 'environment') {
    super(message, code, 2);
    this.name = 'EnvironmentError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

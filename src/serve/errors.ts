/**
 * A request the server refuses, with the HTTP status and a machine-readable `kind`. Anything
 * else thrown while handling a request is reported as a 500 without its stack.
 */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503,
    readonly kind: string,
    message: string,
    /** Extra fields of the error object (e.g. the failed validation check). */
    readonly details: Record<string, unknown> = {},
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export * from './artifact/index.js';
export * from './sandbox/index.js';
export * from './testing/results.js';
export * from './testing/run-tests.js';
export { EnvironmentError, SsrError, UsageError } from './util/errors.js';
export * from './validate/baseline.js';
export * from './validate/report.js';
export * from './validate/validator.js';

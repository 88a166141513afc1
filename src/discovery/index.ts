export {
  checkTestCommand,
  customCandidate,
  FORMAT_HELP,
  parseTestFormat,
  resolveTestFiles,
  TEST_FORMATS,
  type TestFormat,
  type TestFormatName,
} from './custom.js';
export {
  DEFAULT_MAX_FLAKY_SHARE,
  type DiscoveryOptions,
  type DiscoveryResult,
  discoverTests,
  type TestOverrides,
} from './discover.js';
export { EXIT_CODE_PARSER, fallbackCandidate } from './fallback.js';
export { type Candidate, type Ecosystem, proposeCandidates, surefireScript } from './frameworks.js';
export {
  CARGO_PARSER,
  GENERIC_TAP_PARSER,
  GO_PARSER,
  JEST_JSON_PARSER,
  MOCHA_PARSER,
  NODE_TEST_PARSER,
  PYTEST_PARSER,
  SUREFIRE_PARSER,
  TAPE_PARSER,
} from './parsers.js';
export { UNITTEST_PARSER } from './python-unittest.js';
export { globToRegExp, RepoScan } from './scan.js';
export type { DiscoveryAttempt, TestSuiteSpec } from './types.js';

import type { SandboxMode } from '../sandbox/types.js';
import type { TestMap } from '../testing/results.js';

export const CHECKS = [
  { id: 1, key: 'files', name: 'files' },
  { id: 2, key: 'parser', name: 'parser validity' },
  { id: 3, key: 'script', name: 'script validity' },
  { id: 4, key: 'scope', name: 'bug scope' },
  { id: 5, key: 'bug', name: 'bug validity' },
  { id: 6, key: 'weakening', name: 'weakening validity' },
  { id: 7, key: 'inverse', name: 'inverse mutation testing' },
] as const;

export type CheckKey = (typeof CHECKS)[number]['key'];

export interface CheckResult {
  id: number;
  key: CheckKey;
  name: string;
  /** `skipped`: not run because an earlier check failed. */
  status: 'passed' | 'failed' | 'skipped';
  message: string;
  durationMs: number;
}

export interface TestRunRecord {
  label: string;
  stage: 'baseline' | 'bug' | 'weakened' | 'inverse';
  ok: boolean;
  scriptMs: number;
  parserMs: number;
  error?: string;
  /**
   * The outcome of an identical run made just before by the caller (same test script, parser
   * and patches on the same snapshot, in a fresh sandbox: ssr inject's screening), not run again.
   */
  reused?: boolean;
}

export interface ValidationSettings {
  /** Check 3: tests that must pass on the original repo. */
  minPassingTests: number;
  /** Check 4: source files the bug must change. */
  minChangedFiles: number;
  /** Check 4: most added + removed lines the bug may have. */
  maxChangedLines: number;
  /** Check 5: tests that passed before and must fail with the bug. */
  minFailingTests: number;
  /** Clean runs of the original suite; tests that change outcome between them are flaky. */
  baselineRuns: number;
  /** Test runs at once (inverse mutation forks, baseline runs). */
  concurrency: number;
  scriptTimeoutMs: number;
  parserTimeoutMs: number;
}

export interface ValidationReport {
  artifact: { id: string; hash: string };
  repo: string;
  valid: boolean;
  failedCheck: { id: number; key: CheckKey; name: string; message: string } | null;
  checks: CheckResult[];
  baseline: {
    passed: string[];
    failed: string[];
    flaky: string[];
    runs: number;
    cached: boolean;
    tests: TestMap;
  } | null;
  bug: { failing: string[]; tests: TestMap } | null;
  weakened: { restored: string[]; tests: TestMap } | null;
  inverse: { file: string; restored: string[]; error?: string }[] | null;
  warnings: string[];
  testRuns: TestRunRecord[];
  timings: {
    totalMs: number;
    /** Sum over sequential stages of the slowest test run in each: the unavoidable part. */
    criticalPathMs: number;
    /** Limit for runs after the baseline: 3x its slowest run + 10 s, capped by the setting. */
    runTimeoutMs?: number;
  };
  settings: ValidationSettings;
  sandbox: SandboxMode;
}

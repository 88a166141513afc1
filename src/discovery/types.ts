/**
 * How a repository's tests run, in the artifact's own terms: the script, the parser and the
 * oracle test files that SSR-SPEC section 2 asks for. Discovery writes these; injectors reuse
 * them for every artifact of the repo.
 */
export interface TestSuiteSpec {
  /** e.g. 'node-test', 'tape', 'mocha', 'jest', 'vitest', 'pytest', 'unittest', 'go', 'cargo', 'maven'. */
  framework: string;
  /** Content of test_script.sh (bash, run from the repo root, prints a per-test log). */
  testScript: string;
  /** Content of test_parser.py (reads the log on stdin, prints {"<id>": "passed"|"failed"|"skipped"}). */
  testParser: string;
  /** Repo-relative oracle test files (every test file the script runs). */
  testFiles: string[];
  /** What discovery noticed: flaky tests dropped, files skipped, reporters chosen. */
  notes: string[];
  /**
   * How to run only some of the test files, for frameworks whose command takes a file list and
   * whose ids name their file (absent: the suite runs whole or not at all).
   */
  scope?: TestScope;
}

/** A suite's focused form: a test_script.sh that runs a subset of its test files. */
export interface TestScope {
  /**
   * test_script.sh running only `files` (test files of the suite, as `fileOf` names them);
   * `others` are the suite's remaining test files, for runners that must be told what to
   * leave out.
   */
  script(files: readonly string[], others: readonly string[]): string;
  /** The test file a test id belongs to, as the id spells it (null: the id names none). */
  fileOf(id: string): string | null;
  /** How to run chosen test files again and again in one warm process (absent: no way). */
  warm?: WarmRunnerSpec;
}

/** A runner that can stay warm: src/inject/warm runs it for screening. */
export interface WarmRunnerSpec {
  runner: 'mocha';
  /** The runner's command-line words (options and the suite's own spec), as the script has them. */
  args: string[];
  /** Variables the command sets. */
  env: Record<string, string>;
}

/** One framework discovery considered, and what became of it. */
export interface DiscoveryAttempt {
  framework: string;
  /** Why this framework was a candidate (e.g. 'package.json devDependencies has mocha'). */
  reason: string;
  outcome: 'chosen' | 'failed' | 'not-applicable';
  detail: string;
}

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../sandbox/types.js';
import type { TestMap, TestStatus } from './results.js';

export interface TestRunOptions {
  /** Limit for test_script.sh (default 300 s; SSR-SPEC asks scripts to finish in ~90 s). */
  scriptTimeoutMs?: number;
  /** Limit for test_parser.py (default 60 s). */
  parserTimeoutMs?: number;
  /** Largest test log kept (default 64 MiB); a larger log is an error, not a silent cut. */
  maxLogBytes?: number;
  /** Return up to this many bytes of the log's head (failure locations live in it). */
  keepLogBytes?: number;
  /** Extra environment for test_script.sh (e.g. coverage switches). */
  env?: Record<string, string>;
}

export type TestRunFailureKind =
  | 'script-timeout'
  | 'log-too-large'
  | 'parser-timeout'
  | 'parser-crashed'
  | 'parser-garbage'
  | 'parser-schema'
  | 'no-tests';

export interface TestRunTimes {
  scriptMs: number;
  parserMs: number;
}

export type TestRunOutcome =
  | ({
      ok: true;
      tests: TestMap;
      exitCode: number | null;
      logBytes: number;
      /** Disagreements between the exit code and the parsed results, worth a look. */
      warnings: string[];
      /** The log's head, when `keepLogBytes` asked for it. */
      log?: string;
    } & TestRunTimes)
  | ({
      ok: false;
      kind: TestRunFailureKind;
      message: string;
      exitCode: number | null;
      logBytes: number;
      /** The end of the test log (or parser output), for the report. */
      tail: string;
    } & TestRunTimes);

export interface TestHarness {
  /** Host paths of the artifact's script and parser; exposed read-only in the sandbox. */
  scriptPath: string;
  parserPath: string;
}

/** Writes script and parser text to a private host folder (read-only inside sandboxes). */
export function stageHarness(
  testScript: string,
  testParser: string,
): TestHarness & { cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-harness-'));
  const scriptPath = join(dir, 'test_script.sh');
  const parserPath = join(dir, 'test_parser.py');
  writeFileSync(scriptPath, testScript, { mode: 0o444 });
  writeFileSync(parserPath, testParser, { mode: 0o444 });
  return { scriptPath, parserPath, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function tailOf(text: string, n = 2000): string {
  return text.length > n ? `...${text.slice(-n)}` : text;
}

const SKIPPED = new Set(['skipped', 'skip']);

/**
 * Runs test_script.sh from the repo root, then test_parser.py on its log, and returns the
 * parsed test map or exactly why there is none. The log goes to a host file outside the
 * sandbox, so tests cannot rewrite it, and the parser runs in isolated mode (-I) so nothing
 * the tests planted (user site-packages, PYTHONPATH) is imported by it.
 */
export async function runTests(
  sandbox: Sandbox,
  harness: TestHarness,
  opts: TestRunOptions = {},
): Promise<TestRunOutcome> {
  const scriptTimeoutMs = opts.scriptTimeoutMs ?? 300_000;
  const parserTimeoutMs = opts.parserTimeoutMs ?? 60_000;
  const maxLogBytes = opts.maxLogBytes ?? 64 * 1024 * 1024;
  const script = sandbox.exposeFile(harness.scriptPath, 'test_script.sh');
  const parser = sandbox.exposeFile(harness.parserPath, 'test_parser.py');
  const logDir = mkdtempSync(join(tmpdir(), 'ssr-log-'));
  const logPath = join(logDir, 'test.log');
  try {
    const run = await sandbox.exec(`bash ${script} 2>&1`, {
      timeoutMs: scriptTimeoutMs,
      stdoutFile: logPath,
      maxFileBytes: maxLogBytes,
      env: opts.env,
    });
    const logBytes = run.stdoutBytes;
    const base = { exitCode: run.exitCode, logBytes, scriptMs: run.durationMs };
    if (run.timedOut) {
      return {
        ok: false,
        kind: 'script-timeout',
        message: `test_script.sh did not finish within ${Math.round(scriptTimeoutMs / 1000)} s and was killed`,
        tail: '',
        parserMs: 0,
        ...base,
      };
    }
    if (logBytes > maxLogBytes) {
      return {
        ok: false,
        kind: 'log-too-large',
        message: `test output was ${logBytes} bytes, over the ${maxLogBytes}-byte limit`,
        tail: '',
        parserMs: 0,
        ...base,
      };
    }
    const parsed = await sandbox.exec(`python3 -I ${parser}`, {
      timeoutMs: parserTimeoutMs,
      stdinFile: logPath,
      maxOutputBytes: 16 * 1024 * 1024,
      cwd: '',
    });
    const withParser = { ...base, parserMs: parsed.durationMs };
    if (parsed.timedOut) {
      return {
        ok: false,
        kind: 'parser-timeout',
        message: `test_parser.py did not finish within ${Math.round(parserTimeoutMs / 1000)} s and was killed`,
        tail: '',
        ...withParser,
      };
    }
    if (parsed.exitCode !== 0) {
      const why = parsed.stderr.trim().split('\n').at(-1) ?? '';
      return {
        ok: false,
        kind: 'parser-crashed',
        message: `test_parser.py exited with ${parsed.exitCode ?? parsed.signal}${why ? `: ${why}` : ''}`,
        tail: tailOf(parsed.stderr),
        ...withParser,
      };
    }
    if (parsed.truncated) {
      return {
        ok: false,
        kind: 'parser-garbage',
        message: `test_parser.py printed ${parsed.stdoutBytes} bytes, more than a test map can need`,
        tail: '',
        ...withParser,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(parsed.stdout);
    } catch {
      const shown = parsed.stdout.trim().slice(0, 200) || '(nothing)';
      return {
        ok: false,
        kind: 'parser-garbage',
        message: `test_parser.py did not print one JSON object; it printed: ${shown}`,
        tail: tailOf(parsed.stdout),
        ...withParser,
      };
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      return {
        ok: false,
        kind: 'parser-schema',
        message: `test_parser.py printed JSON ${Array.isArray(json) ? 'array' : typeof json}, expected an object {"<test id>": "passed" | "failed"}`,
        tail: tailOf(parsed.stdout),
        ...withParser,
      };
    }
    const tests: TestMap = {};
    const odd: string[] = [];
    for (const [id, value] of Object.entries(json as Record<string, unknown>)) {
      if (id.trim() === '') continue;
      let status: TestStatus;
      if (value === 'passed') status = 'passed';
      else if (typeof value === 'string' && SKIPPED.has(value.toLowerCase())) status = 'skipped';
      else {
        status = 'failed';
        if (typeof value !== 'string') odd.push(id);
      }
      tests[id] = status;
    }
    if (Object.keys(tests).length === 0) {
      return {
        ok: false,
        kind: 'no-tests',
        message: 'test_parser.py found no tests in the log (empty result)',
        tail: '',
        ...withParser,
      };
    }
    const warnings: string[] = [];
    if (odd.length)
      warnings.push(`${odd.length} test(s) had a non-string status, counted as failed`);
    const failed = Object.values(tests).filter((s) => s === 'failed').length;
    if (run.exitCode === 0 && failed > 0)
      warnings.push(`exit code 0 but ${failed} test(s) parsed as failed`);
    if (run.exitCode !== 0 && failed === 0) {
      warnings.push(`exit code ${run.exitCode ?? run.signal} but no test parsed as failed`);
    }
    const log = opts.keepLogBytes ? readHead(logPath, opts.keepLogBytes) : undefined;
    return { ok: true, tests, warnings, ...withParser, ...(log === undefined ? {} : { log }) };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

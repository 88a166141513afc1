/**
 * SWE-bench-style tasks mined from a repository's own history: a commit that changes source
 * and tests together becomes a task whose base is its parent, whose test_patch is its test
 * changes and whose gold patch is the rest. FAIL_TO_PASS / PASS_TO_PASS come from running the
 * tests, never from guessing. Every git command runs inside a sandbox.
 */
import { basename, posix, resolve } from 'node:path';
import { inlineTestsEntry, oracleEntries, resetInlineTests } from '../artifact/oracle-regions.js';
import { parsePatch } from '../artifact/patch.js';
import { discoverTests } from '../discovery/discover.js';
import { type SandboxHost, shellQuote } from '../sandbox/local.js';
import { formatFileDiff } from '../sandbox/tree-diff.js';
import type { Sandbox, Snapshot } from '../sandbox/types.js';
import { didPass, type TestMap } from '../testing/results.js';
import { runTests, stageHarness, type TestRunOptions } from '../testing/run-tests.js';
import { UsageError } from '../util/errors.js';
import { checkoutSnapshot, gitEnv, gitPrefix } from './environment.js';
import type { EvalTask } from './tasks.js';

export interface FromHistoryOptions {
  /** Stop after this many tasks (default: all). */
  max?: number;
  /** Non-merge commits read from `git log`, newest first (default 200). */
  maxCommits?: number;
  /** The harness to use instead of discovering one on the repository's current state. */
  suite?: { testScript: string; testParser: string; testFiles: string[] };
  testOptions?: TestRunOptions;
  onProgress?: (message: string) => void;
}

export interface SkippedCommit {
  commit: string;
  subject: string;
  reason: string;
}

export interface FromHistoryResult {
  tasks: EvalTask[];
  /** Commits that changed source and tests but did not make a task, and why. */
  skipped: SkippedCommit[];
  /** Where the test harness came from. */
  harness: string;
}

// The same conventions as history-aware injection uses to keep tests out of source reverts.
const TEST_DIR = /(^|\/)(tests?|__tests__|specs?|e2e|__mocks__|fixtures?|testdata)\//i;
const TEST_NAME =
  /^test_.*\.py$|_test\.(py|go|rb|exs?)$|_spec\.rb$|\.(test|spec)\.[cm]?[jt]sx?$|(Test|Tests|Spec|IT)\.(java|kt|scala|groovy|cs|swift)$/;
const CODE_FILE =
  /\.([cm]?[jt]sx?|py|go|rs|java|kt|scala|c|h|cc|cpp|hpp|cs|rb|php|swift|dart|lua|ex|exs|hs|ml|sh)$/i;

function isTestPath(path: string, testFiles: Set<string>): boolean {
  return testFiles.has(path) || TEST_DIR.test(path) || TEST_NAME.test(posix.basename(path));
}

interface Commit {
  sha: string;
  parent: string;
  message: string;
  files: string[];
}

/**
 * Reads the log in one sandbox command: per commit its first parent, its message (base64, so
 * it cannot fake a marker) and its changed paths against that parent. Root commits have no
 * base and are left out; so are paths git had to quote (unusual bytes).
 */
async function readCommits(sb: Sandbox, maxCommits: number): Promise<Commit[]> {
  const g = gitPrefix();
  const script = `set -o pipefail
${g} log --no-merges --format=%H -n ${maxCommits} HEAD -- | while IFS= read -r sha; do
  p=$(${g} rev-parse -q --verify "$sha^1" 2>/dev/null) || continue
  printf '\\001C %s %s\\n' "$sha" "$p"
  printf '\\001M %s\\n' "$(${g} log -1 --format=%B "$sha" | base64 -w0)"
  ${g} -c core.quotePath=true diff-tree -r --no-commit-id --no-renames --name-only "$p" "$sha"
done`;
  const r = await sb.exec(script, {
    env: gitEnv(sb),
    timeoutMs: 300_000,
    maxOutputBytes: 64 * 1024 * 1024,
  });
  if (r.exitCode !== 0) {
    throw new UsageError(
      `cannot read the git history: ${r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`}`,
    );
  }
  const commits: Commit[] = [];
  let cur: Commit | null = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('\x01C ')) {
      const [sha = '', parent = ''] = line.slice(3).split(' ');
      cur = { sha, parent, message: '', files: [] };
      commits.push(cur);
    } else if (cur && line.startsWith('\x01M ')) {
      cur.message = Buffer.from(line.slice(3), 'base64').toString('utf8').trim();
    } else if (cur && line && !line.startsWith('"')) {
      cur.files.push(line);
    }
  }
  return commits;
}

async function diffOf(sb: Sandbox, from: string, to: string, paths: string[]): Promise<string> {
  const r = await sb.exec(
    `${gitPrefix()} diff --no-ext-diff --no-textconv --no-color --no-renames -U3 ` +
      `--src-prefix=a/ --dst-prefix=b/ ${shellQuote(from)} ${shellQuote(to)} -- ${paths.map(shellQuote).join(' ')}`,
    { env: { ...gitEnv(sb), GIT_LITERAL_PATHSPECS: '1' }, maxOutputBytes: 16 * 1024 * 1024 },
  );
  if (r.exitCode !== 0 || r.truncated) throw new Error(`git diff failed: ${r.stderr.trim()}`);
  return r.stdout;
}

async function testsWith(
  host: SandboxHost,
  base: Snapshot,
  harness: { scriptPath: string; parserPath: string },
  patches: string[],
  testOptions?: TestRunOptions,
): Promise<{ tests: TestMap } | { error: string }> {
  const sb = host.create(base);
  try {
    const applied = await sb.applyPatches(patches);
    if (!applied.ok) return { error: `does not apply: ${applied.message}` };
    const run = await runTests(sb, harness, testOptions);
    if (run.ok) return { tests: run.tests };
    // A suite that crashes before reporting anything (e.g. an import of what the commit
    // adds) counts as nothing passing.
    if (run.kind === 'no-tests') return { tests: {} };
    return { error: run.message };
  } finally {
    await sb.dispose();
  }
}

/** A file's text at a revision (null: absent, or not text git could show). */
async function showFile(sb: Sandbox, rev: string, path: string): Promise<string | null> {
  const r = await sb.exec(`${gitPrefix()} show ${shellQuote(`${rev}:${path}`)}`, {
    env: gitEnv(sb),
    maxOutputBytes: 16 * 1024 * 1024,
  });
  return r.exitCode === 0 && !r.truncated ? r.stdout : null;
}

const textDiff = (path: string, before: string, after: string) =>
  before === after
    ? ''
    : formatFileDiff(
        path,
        { mode: '100644', data: Buffer.from(before) },
        { mode: '100644', data: Buffer.from(after) },
      );

/**
 * A commit's change to a file with inline tests (`<path>#inline-tests`), split: `tests` is the
 * base with the commit's inline-test regions (for test_patch), `code` the commit's code with
 * the base's regions (for the gold patch), as diffs against the base. Null when the file was
 * created or deleted, or a version does not parse: the whole change then counts as code.
 */
async function splitInline(
  sb: Sandbox,
  c: Commit,
  path: string,
): Promise<{ tests: string; code: string } | null> {
  const [base, after] = await Promise.all([
    showFile(sb, c.parent, path),
    showFile(sb, c.sha, path),
  ]);
  if (base === null || after === null) return null;
  const tests = await resetInlineTests(path, after, base);
  const code = await resetInlineTests(path, base, after);
  if (tests.fellBack !== undefined || code.fellBack !== undefined) return null;
  return { tests: textDiff(path, base, tests.content), code: textDiff(path, base, code.content) };
}

function instanceId(repoDir: string, sha: string): string {
  const name = basename(repoDir).replace(/[^A-Za-z0-9._-]/g, '_') || 'repo';
  return `${name}-${sha.slice(0, 12)}`;
}

/**
 * Walks the history of `repoDir` newest first and turns every commit that changes code and
 * tests together into a task with FAIL_TO_PASS (fail at base + test_patch, pass with the gold
 * patch too) and PASS_TO_PASS (pass in both). Tasks without FAIL_TO_PASS are dropped. The test
 * harness is discovered once, on the repository's current state, and reused for every commit;
 * a commit where it does not run is skipped with the reason.
 */
export async function tasksFromHistory(
  host: SandboxHost,
  repoDir: string,
  opts: FromHistoryOptions = {},
): Promise<FromHistoryResult> {
  const dir = resolve(repoDir);
  const original = host.snapshotDir(dir);
  const progress = opts.onProgress ?? (() => {});
  let suite = opts.suite;
  let harnessSource = 'given';
  if (!suite) {
    progress('discovering how the tests run');
    const d = await discoverTests(host, original);
    suite = d.suite;
    harnessSource = `discovery (${d.suite.framework}) on the current state`;
  }
  // Plain entries are test files; in `<path>#inline-tests` files a commit's change to the
  // inline tests goes to test_patch and the rest of its change to the gold patch.
  const entries = oracleEntries(suite.testFiles);
  const testFiles = new Set(entries.filter((e) => !e.inline).map((e) => e.path));
  const inlineFiles = new Set(entries.filter((e) => e.inline).map((e) => e.path));
  const work = host.create(original);
  const harness = stageHarness(suite.testScript, suite.testParser);
  const tasks: EvalTask[] = [];
  const skipped: SkippedCommit[] = [];
  try {
    const commits = await readCommits(work, opts.maxCommits ?? 200);
    progress(`${commits.length} non-merge commit(s) with a parent`);
    for (const c of commits) {
      if (opts.max !== undefined && tasks.length >= opts.max) break;
      const tests = c.files.filter((f) => isTestPath(f, testFiles));
      let rest = c.files.filter((f) => !isTestPath(f, testFiles));
      const split: { path: string; tests: string; code: string }[] = [];
      for (const f of rest.filter((p) => inlineFiles.has(p))) {
        const parts = await splitInline(work, c, f);
        if (parts?.tests) split.push({ path: f, ...parts });
      }
      rest = rest.filter((f) => !split.some((s) => s.path === f));
      const changesCode = rest.some((f) => CODE_FILE.test(f)) || split.some((s) => s.code);
      if (!(tests.length || split.length) || !changesCode) continue;
      const subject = c.message.split('\n')[0] ?? '';
      const skip = (reason: string) => {
        skipped.push({ commit: c.sha, subject, reason });
        progress(`skip ${c.sha.slice(0, 7)} ${subject}: ${reason}`);
      };
      progress(`${c.sha.slice(0, 7)} ${subject}`);
      let testPatch: string;
      let gold: string;
      try {
        testPatch =
          (tests.length ? await diffOf(work, c.parent, c.sha, tests) : '') +
          split.map((s) => s.tests).join('');
        gold =
          (rest.length ? await diffOf(work, c.parent, c.sha, rest) : '') +
          split.map((s) => s.code).join('');
        for (const [name, d] of [
          ['test patch', testPatch],
          ['gold patch', gold],
        ] as const) {
          if (parsePatch(d, name).some((f) => f.binary)) throw new Error(`binary ${name}`);
        }
      } catch (err) {
        skip((err as Error).message);
        continue;
      }
      let base: Snapshot;
      try {
        base = await checkoutSnapshot(host, original, c.parent);
      } catch (err) {
        skip((err as Error).message);
        continue;
      }
      const [before, after] = await Promise.all([
        testsWith(host, base, harness, [testPatch], opts.testOptions),
        testsWith(host, base, harness, [gold, testPatch], opts.testOptions),
      ]);
      if ('error' in before) {
        skip(`tests at base + test_patch: ${before.error}`);
        continue;
      }
      if ('error' in after) {
        skip(`tests at base + test_patch + gold: ${after.error}`);
        continue;
      }
      const passedAfter = Object.keys(after.tests)
        .filter((id) => didPass(after.tests, id))
        .sort();
      const f2p = passedAfter.filter((id) => !didPass(before.tests, id));
      const p2p = passedAfter.filter((id) => didPass(before.tests, id));
      if (!f2p.length) {
        skip('no test fails before the change and passes after it');
        continue;
      }
      tasks.push({
        instance_id: instanceId(dir, c.sha),
        repo: basename(dir),
        base_commit: c.parent,
        problem_statement: c.message || subject,
        test_patch: testPatch,
        patch: gold,
        FAIL_TO_PASS: f2p,
        PASS_TO_PASS: p2p,
        repo_dir: dir,
        test_script: suite.testScript,
        test_parser: suite.testParser,
        // Grading resets only the inline-test regions of these files, keeping the model's code.
        ...(split.length ? { test_files: split.map((s) => inlineTestsEntry(s.path)) } : {}),
      });
    }
  } finally {
    harness.cleanup();
    await work.dispose();
  }
  return { tasks, skipped, harness: harnessSource };
}

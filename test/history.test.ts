/**
 * History-aware injection (src/inject/history.ts) on real git histories: a small JS project
 * built here commit by commit (fixes, features, docs-, config- and test-only commits,
 * conflicting later changes, a merge, and a hostile .git/config), and the mathkit Python
 * fixture.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { historyCandidates } from '../src/inject/history.js';
import type { BugCandidate } from '../src/inject/types.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Sandbox } from '../src/sandbox/types.js';
import { pythonRepo, treeHash } from './helpers/fixtures.js';

// --- the JS fixture -----------------------------------------------------------------------------

const SLUG_V1 = `/** Lowercase ascii words of s, joined by dashes. */
export function slugify(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
`;
// Commit 2 fixes the edge case "leading or trailing punctuation leaves dashes at the ends".
const SLUG_V2 = `/** Lowercase ascii words of s, joined by dashes. */
export function slugify(s) {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
`;

const CLAMP_V1 = `// Numeric helpers.

/** Limits x to [lo, hi]. */
export function clamp(x, lo, hi) {
  if (lo > hi) throw new RangeError('lo > hi');
  return Math.min(hi, Math.max(lo, x));
}

/** True when x lies in [lo, hi]. */
export function inRange(x, lo, hi) {
  return x >= lo && x <= hi;
}
`;
const WRAP = `
/** Wraps x around into [lo, hi). */
export function wrap(x, lo, hi) {
  const span = hi - lo;
  return ((((x - lo) % span) + span) % span) + lo;
}
`;
const CLAMP_MSG_OLD = `throw new RangeError('lo > hi')`;
const CLAMP_MSG_NEW = `throw new RangeError('clamp: lo must not exceed hi')`;

const FORMAT_V1 = `/** Left-pads n with zeros to width. */
export function zeroPad(n, width) {
  return String(n).padStart(width, '0');
}

// Ratios.

/** A ratio as a percentage with one decimal. */
export function percent(x) {
  return (x * 100).toFixed(1) + '%';
}
`;
const PAD_1 = `return String(n).padStart(width, '0');`;
const PAD_2 = `return String(n).padStart(Math.max(0, width), '0');`;
const PAD_3 = `return String(n).padStart(Math.max(0, width | 0), '0');`;
const PCT_1 = `return (x * 100).toFixed(1) + '%';`;
const PCT_2 = `return (x * 100).toFixed(1).concat('%');`;
const PCT_3 = `return (x * 100).toFixed(2).concat('%');`;

const WORDS_V1 = `/** The number of words in s. */
export function countWords(s) {
  return s.split(' ').length;
}
`;
const WORDS_V2 = `/** The number of words in s. */
export function countWords(s) {
  return s.split(/\\s+/).filter(Boolean).length;
}
`;

const SLUG_TEST_V1 = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../src/slug.js';

test('slugify joins words', () => {
  assert.equal(slugify('Hello World'), 'hello-world');
});
`;
const SLUG_TEST_V2 = `${SLUG_TEST_V1}
test('slugify trims dashes at the ends', () => {
  assert.equal(slugify('  Hello, World!  '), 'hello-world');
});
`;
const CLAMP_TEST_V1 = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clamp, inRange } from '../src/clamp.js';

test('clamp', () => {
  assert.equal(clamp(5, 0, 3), 3);
  assert.equal(inRange(2, 0, 3), true);
});
`;
const CLAMP_TEST_V3 = CLAMP_TEST_V1.replace('clamp, inRange', 'clamp, inRange, wrap').concat(`
test('wrap', () => {
  assert.equal(wrap(7, 0, 5), 2);
  assert.equal(wrap(-1, 0, 5), 4);
});
`);
const CLAMP_TEST_V5 = CLAMP_TEST_V3.replace(
  'assert.equal(clamp(5, 0, 3), 3);',
  'assert.equal(clamp(5, 0, 3), 3);\n  assert.equal(clamp(-5, 0, 3), 0);',
);

const tag = randomBytes(6).toString('hex');
/** A command that leaves a marker on the host's /tmp and one in the repository's root. */
const pwn = (what: string) => `touch /tmp/pwned-${tag}-${what}; touch pwned-${what}`;

interface JsFixture {
  dir: string;
  /** Commit sha by label. */
  sha: Record<string, string>;
}

function buildJsRepo(): JsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-history-test-'));
  let clock = Date.parse('2024-05-01T00:00:00Z');
  const git = (...args: string[]) => {
    const date = new Date(clock).toISOString();
    return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.invalid',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.invalid',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    }).trim();
  };
  const sha: Record<string, string> = {};
  const commit = (label: string, message: string, files: Record<string, string>) => {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    clock += 3600_000;
    git('add', '-A');
    git('commit', '-q', '--no-gpg-sign', '--no-verify', '-m', message);
    sha[label] = git('rev-parse', 'HEAD');
  };
  const edit = (rel: string, from: string, to: string) => {
    const old = readFileSync(join(dir, rel), 'utf8');
    assert.ok(old.includes(from), `${rel} lacks ${from}`);
    return old.replace(from, to);
  };

  git('init', '-q');
  commit('init', 'Initial: slugify, clamp, zeroPad, countWords', {
    'package.json': '{ "name": "strkit", "type": "module", "private": true }\n',
    'README.md': '# strkit\n',
    // Unconfigured drivers do nothing; the hostile config that defines them comes last.
    '.gitattributes': '*.js diff=evil filter=evil\n',
    'src/slug.js': SLUG_V1,
    'src/clamp.js': CLAMP_V1,
    'src/format.js': FORMAT_V1,
    'src/words.js': WORDS_V1,
    'test/slug.test.js': SLUG_TEST_V1,
    'test/clamp.test.js': CLAMP_TEST_V1,
  });
  commit('fix', 'slugify: no dashes at the ends', {
    'src/slug.js': SLUG_V2,
    'test/slug.test.js': SLUG_TEST_V2,
  });
  commit('feature', 'Add wrap', {
    'src/clamp.js': CLAMP_V1 + WRAP,
    'test/clamp.test.js': CLAMP_TEST_V3,
  });
  commit('readme', 'Document the helpers', {
    'README.md': '# strkit\n\nslugify, clamp, wrap, zeroPad, percent, countWords.\n',
  });
  commit('tests', 'More clamp tests', { 'test/clamp.test.js': CLAMP_TEST_V5 });
  commit('config', 'CI, license, scripts', {
    'package.json':
      '{ "name": "strkit", "type": "module", "private": true, "scripts": { "test": "node --test" } }\n',
    '.github/workflows/ci.yml': 'on: push\njobs: {}\n',
    LICENSE: 'MIT\n',
    'CHANGES.txt': 'wrap added\n',
  });
  // Later commits rewrite zeroPad's line again, so only the clamp.js part of this reverts.
  commit('partial', 'Friendlier messages and negative widths', {
    'src/format.js': edit('src/format.js', PAD_1, PAD_2),
    'src/clamp.js': edit('src/clamp.js', CLAMP_MSG_OLD, CLAMP_MSG_NEW),
  });
  commit('pad', 'zeroPad: integer widths', {
    'src/format.js': edit('src/format.js', PAD_2, PAD_3),
  });
  // Its only change is rewritten by the next commit: no revert left.
  commit('conflict', 'percent: concat', {
    'src/format.js': edit('src/format.js', PCT_1, PCT_2),
  });
  commit('percent', 'percent: two decimals', {
    'src/format.js': edit('src/format.js', PCT_2, PCT_3),
  });
  git('checkout', '-q', '-b', 'words');
  commit('branch', 'countWords: any whitespace', { 'src/words.js': WORDS_V2 });
  git('checkout', '-q', 'main');
  clock += 3600_000;
  git('merge', '-q', '--no-ff', '--no-gpg-sign', '--no-verify', '-m', 'Merge words', 'words');
  sha.merge = git('rev-parse', 'HEAD');

  // Hostile config: everything here runs a command if some git command honours it.
  const cfg = (key: string, value: string) => git('config', key, value);
  cfg('core.fsmonitor', `${pwn('fsmonitor')}; false`);
  cfg('core.pager', `${pwn('pager')}; cat`);
  cfg('diff.external', pwn('external'));
  cfg('diff.evil.textconv', `sh -c '${pwn('textconv')}; cat "$0"'`);
  cfg('filter.evil.clean', `sh -c '${pwn('clean')}; cat'`);
  cfg('filter.evil.smudge', `sh -c '${pwn('smudge')}; cat'`);
  cfg('log.showSignature', 'true');
  cfg('gpg.program', pwn('gpg'));
  return { dir, sha };
}

// --- helpers ------------------------------------------------------------------------------------

/** The markers of `pwn` that exist in the sandbox (its /tmp and repo root). */
async function markers(sb: Sandbox): Promise<string[]> {
  const r = await sb.exec('ls -a /tmp . 2>/dev/null', { timeoutMs: 20_000 });
  return r.stdout.split('\n').filter((l) => l.includes('pwned-'));
}

/**
 * A sandbox that, before each sandbox forked from it is disposed, records the markers that
 * exist in that fork (hostile commands run inside a fork would otherwise leave no trace).
 */
function spy(sb: Sandbox, seen: string[], forks: { n: number }): Sandbox {
  return {
    id: sb.id,
    repoPath: sb.repoPath,
    isolation: sb.isolation,
    exec: (c, o) => sb.exec(c, o),
    exposeFile: (h, n) => sb.exposeFile(h, n),
    readFile: (r) => sb.readFile(r),
    writeFile: (r, d) => sb.writeFile(r, d),
    applyPatch: (d, o) => sb.applyPatch(d, o),
    applyPatches: (d, o) => sb.applyPatches(d, o),
    diff: () => sb.diff(),
    snapshot: () => sb.snapshot(),
    fork: async () => {
      forks.n++;
      return spy(await sb.fork(), seen, forks);
    },
    dispose: async () => {
      seen.push(...(await markers(sb)));
      await sb.dispose();
    },
  };
}

function hostMarkers(): string[] {
  return readdirSync('/tmp').filter((n) => n.startsWith(`pwned-${tag}`));
}

/** Writes a candidate's edits into a fork of `sb` and runs the project's tests there. */
async function runTestsWith(sb: Sandbox, c: BugCandidate | null): Promise<string> {
  const fork = await sb.fork();
  try {
    for (const [path, content] of Object.entries(c?.edits ?? {})) {
      if (content === null) await fork.exec(`rm -f -- '${path}'`);
      else await fork.writeFile(path, content);
    }
    const r = await fork.exec('node --test --test-reporter=tap test/ 2>&1', { timeoutMs: 30_000 });
    return r.stdout;
  } finally {
    await fork.dispose();
  }
}

function failingTests(tap: string): string[] {
  return [...tap.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1]!.trim()).sort();
}

// --- tests --------------------------------------------------------------------------------------

let host: SandboxHost;

before(() => {
  host = SandboxHost.open();
});

after(async () => {
  await host?.close();
});

describe('history candidates on a JS project', () => {
  let fx: JsFixture;
  let hashBefore: string;
  let sb: Sandbox;
  let candidates: BugCandidate[];
  const seen: string[] = [];
  const forks = { n: 0 };
  const TEST_FILES = ['test/slug.test.js', 'test/clamp.test.js'];
  const current = (rel: string) => readFileSync(join(fx.dir, rel), 'utf8');
  const bySha = (label: string) => candidates.filter((c) => c.key.split(':')[1] === fx.sha[label]);

  before(async () => {
    fx = buildJsRepo();
    hashBefore = treeHash(fx.dir);
    sb = host.create(host.snapshotDir(fx.dir));
    candidates = await historyCandidates(spy(sb, seen, forks), { testFiles: TEST_FILES });
  });

  after(async () => {
    await sb?.dispose();
    rmSync(fx.dir, { recursive: true, force: true });
    for (const m of hostMarkers()) rmSync(join('/tmp', m), { force: true });
  });

  test('one candidate per revertible source change, newest commit first', () => {
    const got = candidates.map((c) => {
      const label = Object.keys(fx.sha).find((l) => fx.sha[l] === c.key.split(':')[1]);
      return `${label} ${c.operator} ${Object.keys(c.edits).join(',')}`;
    });
    assert.deepEqual(got, [
      'branch revert-commit src/words.js',
      'percent revert-commit src/format.js',
      'pad revert-commit src/format.js',
      'partial revert-commit-partial src/clamp.js',
      'feature revert-commit src/clamp.js',
      'fix revert-commit src/slug.js',
    ]);
    for (const c of candidates) {
      assert.equal(c.strategy, 'history');
      assert.match(c.key, /^history:[0-9a-f]{40}:[0-9a-f]{12}$/);
    }
    assert.equal(new Set(candidates.map((c) => c.key)).size, candidates.length);
  });

  test('the fix commit: only the source part is reverted, tests untouched', () => {
    const [fix] = bySha('fix');
    assert.ok(fix);
    assert.deepEqual(fix.edits, { 'src/slug.js': SLUG_V1 });
    assert.equal(
      fix.description,
      `revert ${fx.sha.fix!.slice(0, 7)} "slugify: no dashes at the ends" in src/slug.js`,
    );
    assert.deepEqual(fix.location, { file: 'src/slug.js', line: 3 });
  });

  test('the feature commit: the function goes, later edits of the same file stay', () => {
    const [feature] = bySha('feature');
    assert.ok(feature);
    const now = current('src/clamp.js');
    assert.ok(now.includes(CLAMP_MSG_NEW) && now.endsWith(WRAP));
    assert.deepEqual(feature.edits, { 'src/clamp.js': now.slice(0, -WRAP.length) });
    // The deletion is at the end of the file: its last line.
    assert.deepEqual(feature.location, { file: 'src/clamp.js', line: 12 });
  });

  test('docs-, config- and test-only commits, the root and the merge yield nothing', () => {
    for (const label of ['readme', 'tests', 'config', 'init', 'merge'])
      assert.deepEqual(bySha(label), [], label);
    for (const c of candidates)
      for (const path of Object.keys(c.edits)) assert.match(path, /^src\/[a-z]+\.js$/);
  });

  test('a conflicting revert is partial or skipped', () => {
    // 'partial' changed format.js and clamp.js; format.js's line was rewritten since.
    const [partial] = bySha('partial');
    assert.ok(partial);
    assert.deepEqual(partial.edits, {
      'src/clamp.js': current('src/clamp.js').replace(CLAMP_MSG_NEW, CLAMP_MSG_OLD),
    });
    assert.deepEqual(partial.location, { file: 'src/clamp.js', line: 5 });
    // 'conflict' only changed a line that 'percent' rewrote.
    assert.deepEqual(bySha('conflict'), []);
    const [pad] = bySha('pad');
    assert.deepEqual(pad?.edits, {
      'src/format.js': current('src/format.js').replace(PAD_3, PAD_2),
    });
  });

  test('candidates apply to the current tree and bring their bug back', async () => {
    assert.deepEqual(failingTests(await runTestsWith(sb, null)), []);
    const [fix] = bySha('fix');
    assert.deepEqual(failingTests(await runTestsWith(sb, fix!)), [
      'slugify trims dashes at the ends',
    ]);
    const [feature] = bySha('feature');
    // Without wrap the test file no longer imports: the whole file fails.
    assert.ok(failingTests(await runTestsWith(sb, feature!)).length > 0);
  });

  test('the repository on disk is unchanged and the sandbox too', async () => {
    assert.equal(treeHash(fx.dir), hashBefore);
    assert.equal(await sb.diff(), '');
  });

  test('a hostile repository config runs nothing, on the host or in any sandbox', async () => {
    assert.ok(forks.n >= 2, 'the work happened in forks');
    assert.deepEqual(seen, []);
    assert.deepEqual(await markers(sb), []);
    assert.deepEqual(hostMarkers(), []);
    // Control: plain git in a sandbox does run the config's commands (and the spy sees them).
    const control: string[] = [];
    const fork = await spy(sb, control, { n: 0 }).fork();
    await fork.exec('git status >/dev/null 2>&1; git diff HEAD~1 HEAD >/dev/null 2>&1', {
      timeoutMs: 20_000,
    });
    await fork.dispose();
    assert.ok(control.includes('pwned-fsmonitor'), control.join(' '));
    assert.ok(control.includes('pwned-external'), control.join(' '));
    assert.deepEqual(hostMarkers(), []);
  });

  test('test files are excluded only through testFiles and isTestFile', async () => {
    const all = await historyCandidates(sb, { testFiles: [], isTestFile: () => false });
    const tests = all.filter((c) => c.key.split(':')[1] === fx.sha.tests);
    assert.deepEqual(
      tests.map((c) => Object.keys(c.edits)),
      [['test/clamp.test.js']],
    );
    const fix = all.find((c) => c.key.split(':')[1] === fx.sha.fix);
    assert.deepEqual(fix?.edits, { 'src/slug.js': SLUG_V1, 'test/slug.test.js': SLUG_TEST_V1 });
    // The default heuristic alone already keeps test/ out.
    const byDefault = await historyCandidates(sb, { testFiles: [] });
    assert.deepEqual(
      byDefault.map((c) => c.key),
      candidates.map((c) => c.key),
    );
  });

  test('max: a seeded, deterministic sample in newest-first order', async () => {
    const keys = candidates.map((c) => c.key);
    const samples = new Set<string>();
    for (const seed of [1, 2, 3]) {
      const a = await historyCandidates(sb, { testFiles: TEST_FILES, max: 2, seed });
      if (seed === 1)
        assert.deepEqual(await historyCandidates(sb, { testFiles: TEST_FILES, max: 2, seed }), a);
      assert.equal(a.length, 2);
      const idx = a.map((c) => keys.indexOf(c.key));
      assert.ok(idx[0]! >= 0 && idx[0]! < idx[1]!, `${idx}`);
      for (const c of a) assert.deepEqual(c, candidates[keys.indexOf(c.key)]);
      samples.add(a.map((c) => c.key).join(' '));
    }
    assert.ok(samples.size > 1, 'different seeds give different samples');
    const none = await historyCandidates(sb, { testFiles: TEST_FILES, max: 0 });
    assert.deepEqual(none, []);
  });

  test('maxCommits and maxChangedLines bound the walk', async () => {
    // The newest non-merge commit is the branch's.
    const newest = await historyCandidates(sb, { testFiles: TEST_FILES, maxCommits: 1 });
    assert.deepEqual(
      newest.map((c) => c.key.split(':')[1]),
      [fx.sha.branch],
    );
    // Only the two-line changes remain (the wrap feature and slug fix are bigger).
    const small = await historyCandidates(sb, { testFiles: TEST_FILES, maxChangedLines: 2 });
    assert.deepEqual(
      small.map((c) => c.key.split(':')[1]),
      [fx.sha.branch, fx.sha.percent, fx.sha.pad],
    );
  });
});

describe('history candidates on the mathkit Python fixture', () => {
  let repo: string;
  let hashBefore: string;
  let candidates: BugCandidate[];

  before(async () => {
    repo = pythonRepo();
    hashBefore = treeHash(repo);
    const sb = host.create(host.snapshotDir(repo));
    try {
      candidates = await historyCandidates(sb, {
        testFiles: ['tests/test_roman.py', 'tests/test_intervals.py', 'tests/test_stats.py'],
      });
    } finally {
      await sb.dispose();
    }
  });

  test("the second commit's range check in to_roman comes back", () => {
    const roman = readFileSync(join(repo, 'mathkit/roman.py'), 'utf8');
    const check = `    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("expected an int, got %s" % type(n).__name__)
    if not 1 <= n <= 3999:
        raise ValueError("%d has no roman numeral (1..3999 only)" % n)
`;
    assert.ok(roman.includes(check));
    const before = roman
      .replace(check, '')
      .replace('for n, which must be an int from 1 to 3999."""', 'for n."""');
    const found = candidates.filter((c) => c.description.includes('to_roman rejects'));
    assert.deepEqual(
      found.map((c) => [c.operator, c.edits]),
      [
        ['revert-commit-files', { 'mathkit/intervals.py': null, 'mathkit/roman.py': before }],
        ['revert-commit-partial', { 'mathkit/roman.py': before }],
      ],
    );
    assert.deepEqual(found[1]!.location, { file: 'mathkit/roman.py', line: 21 });
  });

  test('tests and the root commit are never candidates; the fixture is unchanged', () => {
    for (const c of candidates) {
      for (const path of Object.keys(c.edits)) assert.match(path, /^mathkit\//);
      assert.ok(!c.description.includes('"Roman numerals"'), c.description);
    }
    assert.ok(candidates.some((c) => c.description.includes('"Summary statistics"')));
    assert.equal(treeHash(repo), hashBefore);
  });
});

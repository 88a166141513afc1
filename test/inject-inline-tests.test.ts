/**
 * `ssr inject` with inline tests as oracle regions (`<path>#inline-tests`): discovery lists a
 * Rust file with a `#[cfg(test)]` module (or a Python module whose doctests pytest runs) that
 * way, candidates stay out of the regions (removal, mutation, history reverts trimmed), the
 * weakening edits only the regions, and the artifacts pass `ssr validate`. End to end on
 * Debian's fnv crate (cargo test in the sandbox) and on a small pytest package with doctests.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import {
  findInlineTestRegions,
  type InlineTestRegion,
  inlineScopeProblems,
} from '../src/artifact/oracle-regions.js';
import { type FilePatch, parsePatch } from '../src/artifact/patch.js';
import { cargoCandidates } from '../src/discovery/native-frameworks.js';
import { CARGO_PARSER } from '../src/discovery/parsers.js';
import { RepoScan } from '../src/discovery/scan.js';
import { tasksFromHistory } from '../src/eval/from-history.js';
import { historyCandidates, keepInlineTests } from '../src/inject/history.js';
import {
  editTouchesRegions,
  type InjectSummary,
  injectBugs,
  oracleSetup,
} from '../src/inject/pipeline.js';
import { originalLineOf, weakenDoctestExampleAt } from '../src/inject/weaken.js';
import { LayerStack } from '../src/sandbox/layers.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { formatFileDiff } from '../src/sandbox/tree-diff.js';
import { fixtureGit, fnvRepo } from './helpers/debian-crates.js';
import { treeHash } from './helpers/fixtures.js';
import { runCli } from './helpers/validation.js';

const PRIME = 'hash = hash.wrapping_mul(0x100000001b3);';
const FIRST_ASSERT = 'assert_eq!(fnv1a(b""), 0xcbf29ce484222325);';
const temp = (name: string) => mkdtempSync(join(tmpdir(), `ssr-inline-${name}-`));

/** 1-based line of the first line holding `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, needle);
  return i + 1;
}

/** The original-side lines a file patch removes, and the lines after which it inserts. */
function touchedLines(f: FilePatch): { removed: number[]; insertedAfter: number[] } {
  const removed: number[] = [];
  const insertedAfter: number[] = [];
  for (const h of f.hunks) {
    let old = h.oldLines === 0 ? h.oldStart + 1 : h.oldStart;
    for (const l of h.lines) {
      if (l[0] === '\\') continue;
      if (l[0] === '+') insertedAfter.push(old - 1);
      else {
        if (l[0] === '-') removed.push(old);
        old++;
      }
    }
  }
  return { removed, insertedAfter };
}

const inside = (rs: InlineTestRegion[], line: number) =>
  rs.some((r) => r.startLine <= line && line <= r.endLine);

// ---------------------------------------------------------------------------------------------

describe('candidates stay out of inline-test regions (fnv lib.rs)', () => {
  let lib: string;
  let regions: InlineTestRegion[];

  before(async () => {
    lib = readFileSync(join(fnvRepo(), 'lib.rs'), 'utf8');
    regions = await findInlineTestRegions('lib.rs', lib);
    assert.ok(regions.some((r) => r.label === 'mod test'));
  });

  test('an edit of the code part is kept, one of the test module is not', () => {
    assert.equal(
      editTouchesRegions(
        lib,
        lib.replace(PRIME, 'hash = hash.wrapping_mul(0x100000001b5);'),
        regions,
      ),
      false,
    );
    assert.equal(editTouchesRegions(lib, lib.replace(FIRST_ASSERT, ''), regions), true);
    // An insertion strictly inside the module, and a deletion of the file.
    const mod = regions.find((r) => r.label === 'mod test')!;
    const lines = lib.split('\n');
    lines.splice(mod.startLine + 2, 0, '    // added');
    assert.equal(editTouchesRegions(lib, lines.join('\n'), regions), true);
    assert.equal(editTouchesRegions(lib, null, regions), true);
    // Nothing changed, or a line added at the very end, after the module.
    assert.equal(editTouchesRegions(lib, lib, regions), false);
    assert.equal(editTouchesRegions(lib, `${lib}// end\n`, regions), false);
  });

  test('a revert that changes code and tests keeps only its code part', () => {
    const reverted = lib
      .replace(PRIME, `${PRIME} // the 64-bit FNV prime`)
      .replace(FIRST_ASSERT, 'assert_eq!(fnv1a(b""), 0xcbf29ce484222325 + 0);');
    const kept = keepInlineTests('lib.rs', lib, reverted, regions);
    assert.equal(kept, lib.replace(PRIME, `${PRIME} // the 64-bit FNV prime`));
    // Only the tests change: nothing is left.
    assert.equal(keepInlineTests('lib.rs', lib, lib.replace(FIRST_ASSERT, ''), regions), null);
  });

  test('the oracle setup: regions per inline entry; an entry without regions is left out', async () => {
    const dir = temp('setup');
    try {
      writeFileSync(join(dir, 'lib.rs'), lib);
      writeFileSync(join(dir, 'plain.rs'), 'pub fn f() -> u8 { 1 }\n');
      mkdirSync(join(dir, 'tests'));
      writeFileSync(join(dir, 'tests/api.rs'), '#[test]\nfn t() {}\n');
      const host = SandboxHost.open();
      try {
        const snapshot = host.snapshotDir(dir);
        const o = await oracleSetup(new LayerStack([...snapshot.layers]), [
          'lib.rs#inline-tests',
          'plain.rs#inline-tests',
          'tests/api.rs',
        ]);
        assert.deepEqual(o.testFiles, ['lib.rs#inline-tests', 'tests/api.rs']);
        assert.deepEqual([...o.whole], ['tests/api.rs']);
        assert.deepEqual(o.paths.sort(), ['lib.rs', 'tests/api.rs']);
        assert.equal(o.originals.get('lib.rs'), lib);
        assert.deepEqual(o.regions.get('lib.rs'), regions);
        assert.match(
          o.notes.join('\n'),
          /left out of test_files\.txt: 1 #inline-tests entry without inline-test regions \(plain\.rs\)/,
        );
      } finally {
        await host.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('history reverts of a file with inline tests (fnv with two more commits)', () => {
  let repo: string;
  let lib: string;
  let host: SandboxHost;
  const sha: Record<string, string> = {};

  before(() => {
    repo = join(temp('history'), 'fnv');
    cpSync(fnvRepo(), repo, { recursive: true });
    const edit = (from: string, to: string) => {
      const text = readFileSync(join(repo, 'lib.rs'), 'utf8');
      assert.ok(text.includes(from), from);
      writeFileSync(join(repo, 'lib.rs'), text.replace(from, to));
    };
    const commit = (name: string, message: string) => {
      fixtureGit(repo, 'commit', '-q', '--no-gpg-sign', '-am', message);
      sha[name] = fixtureGit(repo, 'rev-parse', 'HEAD').trim();
    };
    // Code and its unit test change together, then a test-only change.
    edit(PRIME, `${PRIME} // the 64-bit FNV prime`);
    edit(FIRST_ASSERT, 'assert_eq!(fnv1a(b""), 0xcbf29ce484222325_u64);');
    commit('both', 'Name the prime; type the first expected value');
    edit(
      'assert_eq!(fnv1a(b"chongo was here"), 0xa3de85bd491270ce);',
      'assert_eq!(fnv1a(b"chongo was here"), 0xa3de85bd491270ce_u64);',
    );
    commit('tests', 'Type another expected value');
    lib = readFileSync(join(repo, 'lib.rs'), 'utf8');
    host = SandboxHost.open();
  });
  after(async () => {
    await host?.close();
    rmSync(join(repo, '..'), { recursive: true, force: true });
  });

  const candidates = async (testFiles: string[]) => {
    const sb = host.create(host.snapshotDir(repo));
    try {
      return await historyCandidates(sb, { testFiles });
    } finally {
      await sb.dispose();
    }
  };

  test('#inline-tests: the code part is reverted, the tests are left as they are', async () => {
    const found = await candidates(['lib.rs#inline-tests']);
    assert.deepEqual(
      found.map((c) => c.key.split(':')[1]),
      [sha.both],
      'the test-only commit makes no candidate',
    );
    const c = found[0]!;
    assert.equal(c.edits['lib.rs'], lib.replace(`${PRIME} // the 64-bit FNV prime`, PRIME));
    assert.match(c.description, /inline tests of lib\.rs left as they are/);
    assert.equal(c.location.line, lineOf(lib, PRIME));
  });

  test('a plain entry keeps the whole file out of reverts', async () => {
    assert.deepEqual(await candidates(['lib.rs']), []);
  });
});

// ---------------------------------------------------------------------------------------------

function artifactDirs(out: string): string[] {
  return readdirSync(out)
    .filter((n) => !n.startsWith('.') && n !== 'summary.json')
    .sort();
}

describe('ssr inject on Debian fnv 1.0.7 (unit tests in #[cfg(test)] mod test of lib.rs)', () => {
  let repo: string;
  let hashBefore: string;
  let out: string;
  let summary: InjectSummary;
  let seconds: number;

  before(async () => {
    repo = fnvRepo();
    hashBefore = treeHash(repo);
    out = temp('fnv-out');
    const t0 = performance.now();
    // fnv tests each hash function with one table of ~100 assert_eq! lines, and a bug in the
    // hash fails them all: hiding it takes all of them, over the default 40-line bound (which
    // rejects such bugs, as it should for a focused task). This test is about inline tests.
    summary = await injectBugs({
      repo,
      out,
      count: 2,
      seed: 1,
      maxCandidates: 10,
      concurrency: 2,
      weakenBounds: { maxLines: 400 },
    });
    seconds = (performance.now() - t0) / 1000;
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  test('discovery lists lib.rs#inline-tests; valid artifacts come out', () => {
    const ctx = `${JSON.stringify({ tried: summary.tried, valid: summary.valid, failures: summary.failures, seconds })}`;
    assert.equal(summary.framework, 'cargo');
    assert.equal(
      readFileSync(join(out, '.ssr/suite/test_files.txt'), 'utf8'),
      'lib.rs#inline-tests\n',
    );
    assert.ok(summary.valid >= 1, ctx);
    assert.deepEqual(artifactDirs(out), [...summary.artifacts].sort());
  });

  test('each artifact: the bug outside the test module, the weakening inside it', async () => {
    const lib = readFileSync(join(repo, 'lib.rs'), 'utf8');
    const regions = await findInlineTestRegions('lib.rs', lib);
    for (const id of summary.artifacts) {
      const a = readArtifact(join(out, id));
      assert.deepEqual(a.testFiles, ['lib.rs#inline-tests']);
      const bug = parsePatch(a.bugDiff, 'bug_inject.diff');
      const weaken = parsePatch(a.weakenDiff, 'test_weaken.diff');
      assert.deepEqual(
        bug.map((f) => f.newPath),
        ['lib.rs'],
      );
      assert.deepEqual(
        weaken.map((f) => f.newPath),
        ['lib.rs'],
      );
      const b = touchedLines(bug[0]!);
      const w = touchedLines(weaken[0]!);
      assert.ok(b.removed.length + b.insertedAfter.length > 0);
      assert.ok(w.removed.length > 0);
      assert.ok(!b.removed.some((l) => inside(regions, l)), `${id}: bug inside the tests`);
      assert.ok(
        w.removed.every((l) => inside(regions, l)),
        `${id}: weakening outside the tests`,
      );
      assert.ok(w.insertedAfter.every((l) => inside(regions, l) && inside(regions, l + 1)));
      const map = new Map([['lib.rs', regions]]);
      assert.deepEqual(inlineScopeProblems('bug_inject.diff', bug, map), []);
      assert.deepEqual(inlineScopeProblems('test_weaken.diff', weaken, map), []);
    }
  });

  test('ssr validate (the CLI) passes all seven checks; the crate is unchanged', async () => {
    const id = summary.artifacts[0]!;
    const r = await runCli([
      'validate',
      join(out, id),
      '--repo',
      repo,
      '--json',
      '--baseline-runs',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.valid, true, r.stdout);
    assert.deepEqual(
      report.checks.map((c: { id: number; status: string }) => [c.id, c.status]),
      [1, 2, 3, 4, 5, 6, 7].map((n) => [n, 'passed']),
    );
    assert.equal(treeHash(repo), hashBefore, 'the fnv repository was written');
  });
});

// ---------------------------------------------------------------------------------------------

describe('weakening in a file that also holds the bug', () => {
  test('failure lines of the bugged file map back to the original', () => {
    const a = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const b = [...a];
    b.splice(4, 2, 'changed'); // lines 5-6 become one
    b.splice(20, 0, 'new 1', 'new 2'); // two lines inserted after (bugged) line 20
    const side = (lines: string[]) => ({
      mode: '100644' as const,
      data: Buffer.from(`${lines.join('\n')}\n`),
    });
    const patch = parsePatch(formatFileDiff('f.rs', side(a), side(b)))[0]!;
    for (let n = 1; n <= b.length; n++) {
      const o = originalLineOf(patch, n);
      if (b[n - 1]!.startsWith('line ')) assert.equal(a[o! - 1], b[n - 1], `line ${n}`);
      else assert.equal(o, null, `line ${n}`);
    }
    assert.equal(originalLineOf(undefined, 7), 7);
  });

  test('a failing doctest example accepts any output; line numbers are kept', () => {
    const src = [
      'def f(x):',
      '    """Twice x.',
      '',
      '    >>> f(2)',
      '    4',
      '    >>> for i in (1, 2):',
      '    ...     f(i)',
      '    2',
      '    4',
      '    >>> y = f(1)',
      '    """',
      '    return 2 * x',
      '',
    ].join('\n');
    const lines = (t: string) => t.split('\n');
    const one = weakenDoctestExampleAt('m.py', src, 4)!;
    assert.deepEqual(lines(one).slice(3, 5), [
      "    >>> print(end='~'); f(2)  # doctest: +ELLIPSIS",
      '    ~...',
    ]);
    // A compound statement, and an example without output: skipped instead.
    assert.equal(
      lines(weakenDoctestExampleAt('m.py', src, 6)!)[5],
      '    >>> for i in (1, 2):  # doctest: +SKIP',
    );
    assert.equal(
      lines(weakenDoctestExampleAt('m.py', src, 10)!)[9],
      '    >>> y = f(1)  # doctest: +SKIP',
    );
    for (const l of [1, 5, 12]) assert.equal(weakenDoctestExampleAt('m.py', src, l), null);
    assert.equal(weakenDoctestExampleAt('m.rs', src, 4), null);
    assert.equal(lines(one).length, lines(src).length);
  });
});

const TEXTKIT = `"""Small text helpers, documented by their examples."""


def slugify(text):
    """Lower-case words of text joined by dashes.

    >>> slugify("Hello, World!")
    'hello-world'
    >>> slugify("  many   spaces ")
    'many-spaces'
    """
    words = []
    current = ""
    for ch in text.lower():
        if ch.isalnum():
            current += ch
        elif current:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return "-".join(words)


def truncate(text, width):
    """text cut to width characters, with an ellipsis when it was longer.

    >>> truncate("abcdef", 4)
    'abc…'
    >>> truncate("abc", 4)
    'abc'
    """
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def count_words(text):
    """The number of whitespace-separated words.

    >>> count_words("one two  three")
    3
    >>> count_words("")
    0
    """
    return len(text.split())
`;

describe('ssr inject on a pytest package tested by its doctests (--doctest-modules)', () => {
  let repo: string;
  let hashBefore: string;
  let out: string;
  let summary: InjectSummary;

  before(async () => {
    repo = join(temp('doctests'), 'textkit');
    mkdirSync(join(repo, 'textkit'), { recursive: true });
    writeFileSync(
      join(repo, 'pytest.ini'),
      '[pytest]\naddopts = --doctest-modules\ntestpaths = textkit\n',
    );
    writeFileSync(join(repo, 'textkit/__init__.py'), TEXTKIT);
    hashBefore = treeHash(repo);
    out = temp('doctests-out');
    summary = await injectBugs({ repo, out, count: 2, seed: 1, maxCandidates: 10, concurrency: 2 });
  });
  after(() => {
    rmSync(join(repo, '..'), { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  test('valid artifacts whose weakening edits only docstring examples', async () => {
    assert.equal(summary.framework, 'pytest');
    assert.ok(
      summary.valid >= 1,
      JSON.stringify({ failures: summary.failures, notes: summary.notes }),
    );
    const regions = await findInlineTestRegions('textkit/__init__.py', TEXTKIT);
    const map = new Map([['textkit/__init__.py', regions]]);
    for (const id of summary.artifacts) {
      const a = readArtifact(join(out, id));
      assert.deepEqual(a.testFiles, ['textkit/__init__.py#inline-tests']);
      const bug = parsePatch(a.bugDiff, 'bug_inject.diff');
      const weaken = parsePatch(a.weakenDiff, 'test_weaken.diff');
      assert.deepEqual(inlineScopeProblems('bug_inject.diff', bug, map), []);
      assert.deepEqual(inlineScopeProblems('test_weaken.diff', weaken, map), []);
      const removed = touchedLines(weaken[0]!).removed;
      assert.ok(removed.length > 0 && removed.every((l) => inside(regions, l)), id);
      assert.match(a.weakenDiff, /^\+ {4}>>> .*# doctest: \+(ELLIPSIS|SKIP)$/m);
    }
    assert.equal(treeHash(repo), hashBefore, 'the repository was written');
  });
});

describe('tasks-from-history: a commit that fixes code and adds a unit test in the same file', () => {
  let repo: string;
  let host: SandboxHost;
  let fix: string;
  const KEY = 'pub fn with_key(key: u64) -> FnvHasher {\n        FnvHasher(key)';
  const NEW_TEST = `
    #[test]
    fn with_key_keeps_key() {
        assert_eq!(FnvHasher::with_key(7).finish(), 7);
    }
`;

  before(() => {
    repo = join(temp('from-history'), 'fnv');
    cpSync(fnvRepo(), repo, { recursive: true });
    const lib = readFileSync(join(repo, 'lib.rs'), 'utf8');
    assert.ok(lib.includes(KEY));
    writeFileSync(join(repo, 'lib.rs'), lib.replace(KEY, KEY.replace('(key)', '(key ^ 1)')));
    fixtureGit(repo, 'commit', '-q', '--no-gpg-sign', '-am', 'Break with_key');
    // The fix, with its test at the end of mod test.
    const at = lib.lastIndexOf('}');
    writeFileSync(join(repo, 'lib.rs'), `${lib.slice(0, at)}${NEW_TEST.slice(1)}${lib.slice(at)}`);
    fixtureGit(repo, 'commit', '-q', '--no-gpg-sign', '-am', 'with_key keeps its key');
    fix = fixtureGit(repo, 'rev-parse', 'HEAD').trim();
    host = SandboxHost.open();
  });
  after(async () => {
    await host?.close();
    rmSync(join(repo, '..'), { recursive: true, force: true });
  });

  test('test_patch holds the new test, the gold patch the fix; test_files marks the file', async () => {
    const script = cargoCandidates(new RepoScan(repo))[0]!.testScript.replace(
      '--offline',
      '--offline --lib',
    );
    const r = await tasksFromHistory(host, repo, {
      suite: { testScript: script, testParser: CARGO_PARSER, testFiles: ['lib.rs#inline-tests'] },
    });
    assert.deepEqual(
      r.tasks.map((t) => t.base_commit === fixtureGit(repo, 'rev-parse', `${fix}^`).trim()),
      [true],
      JSON.stringify(r.skipped),
    );
    const task = r.tasks[0]!;
    const testPatch = task.test_patch ?? '';
    const gold = task.patch ?? '';
    assert.deepEqual(task.test_files, ['lib.rs#inline-tests']);
    assert.deepEqual(task.FAIL_TO_PASS, ['lib.rs::test::with_key_keeps_key']);
    assert.deepEqual(task.PASS_TO_PASS, ['lib.rs::test::basic_tests']);
    assert.match(testPatch, /^\+ {4}fn with_key_keeps_key\(\) \{$/m);
    assert.doesNotMatch(testPatch, /FnvHasher\(key/);
    assert.match(gold, /^-\s+FnvHasher\(key \^ 1\)$/m);
    assert.match(gold, /^\+\s+FnvHasher\(key\)$/m);
    assert.doesNotMatch(gold, /with_key_keeps_key/);
  });
});

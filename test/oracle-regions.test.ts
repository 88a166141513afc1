/**
 * Inline tests as oracle regions (`<path>#inline-tests` in test_files.txt): the region finder
 * on real Rust (Debian's fnv crate source) and Python (the interpreter's statistics.py), the
 * reset, check 1 in both directions, and the grading sites end to end on the crate with
 * `cargo test --offline --lib` in the sandbox.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evaluateSolution, prepareSolverStart, solverPatch } from '../src/agent/solver-env.js';
import { type Artifact, readArtifact } from '../src/artifact/artifact.js';
import {
  findInlineTestRegions,
  inlineOraclePaths,
  inlineScopeProblems,
  isTestOnlyCfg,
  mayHaveInlineTests,
  oracleEntries,
  parseOracleEntry,
  pytestRunsDoctestModules,
  resetInlineTests,
  wholeOraclePaths,
} from '../src/artifact/oracle-regions.js';
import { parsePatch } from '../src/artifact/patch.js';
import { cargoCandidates } from '../src/discovery/native-frameworks.js';
import { CARGO_PARSER } from '../src/discovery/parsers.js';
import { RepoScan } from '../src/discovery/scan.js';
import { gradePatch } from '../src/eval/grade.js';
import { exportHarbor } from '../src/export/harbor.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { composeHigherOrder } from '../src/selfplay/higher-order.js';
import type { Baseline } from '../src/validate/baseline.js';
import type { ValidationReport } from '../src/validate/report.js';
import { fnvRepo, fnvSource } from './helpers/debian-crates.js';
import { makeDiff, treeHash, writeTestArtifact } from './helpers/fixtures.js';
import { assertFailsAt, assertValid, runCli } from './helpers/validation.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: Debian's fnv crate (no dependencies), as a git repository

const PRIME = 'hash = hash.wrapping_mul(0x100000001b3);';
const WRONG_PRIME = 'hash = hash.wrapping_mul(0x100000001b5);';
const FIRST_ASSERT = '        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);\n';
/** `cargo test --lib` only (doc tests cost a rustdoc build each); the discovery parser. */
const TEST_SCRIPT = (scan: RepoScan) =>
  cargoCandidates(scan)[0]!.testScript.replace('--offline', '--offline --lib');
const BASIC = 'lib.rs::test::basic_tests';

/** basic_tests' assertions after the first: the weakening deletes them. */
function laterAsserts(lib: string): string {
  const from = lib.indexOf(FIRST_ASSERT) + FIRST_ASSERT.length;
  const to = lib.indexOf('    }\n}', from);
  return lib.slice(from, to);
}

// ---------------------------------------------------------------------------------------------

describe('test_files.txt entries', () => {
  test('a #inline-tests suffix marks regions; a plain path wins over it', () => {
    assert.deepEqual(parseOracleEntry('src/lib.rs#inline-tests'), {
      path: 'src/lib.rs',
      inline: true,
    });
    assert.deepEqual(parseOracleEntry('tests/a.rs'), { path: 'tests/a.rs', inline: false });
    const lines = ['a.rs#inline-tests', 'b.rs', 'b.rs#inline-tests', 'c.py#inline-tests'];
    assert.deepEqual(oracleEntries(lines), [
      { path: 'a.rs', inline: true },
      { path: 'b.rs', inline: false },
      { path: 'c.py', inline: true },
    ]);
    assert.deepEqual([...wholeOraclePaths(lines)], ['b.rs']);
    assert.deepEqual(inlineOraclePaths(lines), ['a.rs', 'c.py']);
  });
});

describe('regions: Rust', () => {
  test('the fnv crate: its #[cfg(test)] module and a cfg(all(..., test)) item', async () => {
    const lib = readFileSync(join(fnvSource(), 'lib.rs'), 'utf8');
    const regions = await findInlineTestRegions('lib.rs', lib);
    assert.deepEqual(
      regions.map((r) => [r.label, r.startLine, r.endLine]),
      [
        ['extern crate alloc', 71, 72],
        ['mod test', 139, 367],
      ],
    );
    const mod = regions[1]!;
    assert.ok(mod.text.startsWith('#[cfg(test)]\nmod test {'));
    assert.equal(lib.split('\n')[70], '#[cfg(all(not(feature = "std"), test))]');
  });

  test('which attributes make a region', async () => {
    const src = [
      '//! crate docs', // 1
      '#[cfg(any(test, unix))] fn both() {}', // 2: compiled outside tests: code
      '#[cfg(not(test))] fn now() {}', // 3
      '#[cfg_attr(test, derive(Debug))] struct S;', // 4
      '/// test-only clock', // 5
      '#[cfg( all( feature = "x", test ) )]', // 6
      '// between attributes', // 7
      '#[allow(dead_code)]', // 8
      'fn now() {}', // 9
      'mod outer {', // 10
      '    #[test]', // 11
      '    fn inner() {}', // 12
      '    mod deep { #![cfg(test)] fn a() {} }', // 13
      '    impl Foo { #[cfg(test)] fn probe(&self) {} }', // 14
      '}', // 15
      '#[tokio::test]', // 16
      'async fn io() {}', // 17
      '#[test] struct NotAFunction;', // 18
    ].join('\n');
    const regions = await findInlineTestRegions('x.rs', src);
    assert.deepEqual(
      regions.map((r) => [r.label, r.startLine, r.endLine]),
      [
        ['fn now', 5, 9],
        ['fn outer::inner', 11, 12],
        ['mod outer::deep', 13, 13],
        ['fn outer::impl Foo::probe', 14, 14],
        ['fn io', 16, 17],
      ],
    );
    assert.equal(isTestOnlyCfg('cfg(all(test))'), true);
    assert.equal(isTestOnlyCfg('cfg(any(test))'), false);
    const whole = '#![cfg(test)]\nuse super::*;\n#[test]\nfn a() {}\n';
    assert.deepEqual(
      (await findInlineTestRegions('t.rs', whole)).map((r) => [r.startLine, r.endLine]),
      [[1, 5]],
    );
    await assert.rejects(findInlineTestRegions('x.rs', 'fn broken( {'), /syntax errors/);
    await assert.rejects(findInlineTestRegions('x.js', '1'), /Rust \(\.rs\) and Python/);
  });
});

const PY = `"""Tools.

>>> double(2)
4
"""


def double(x):
    """Twice x.

    >>> double(3)
    6
    """
    return 2 * x


def plain(x):
    """No examples here."""
    return x


class Box:
    r'''A box.'''

    def size(self):
        """
        >>> Box().size()
        0
        """
        return 0


def bare():
    return f"""
    >>> not a docstring
    """
`;

describe('regions: Python', () => {
  test('docstrings with >>> lines, by owner', async () => {
    const regions = await findInlineTestRegions('tools.py', PY);
    assert.deepEqual(
      regions.map((r) => [r.label, r.startLine, r.endLine]),
      [
        ['docstring of <module>', 1, 5],
        ['docstring of double', 9, 13],
        ['docstring of Box.size', 26, 29],
      ],
    );
  });

  test("the interpreter's statistics.py", async (t) => {
    const dir = '/usr/lib';
    const py = readdirSync(dir).find((d) => /^python3\.\d+$/.test(d));
    const file = py ? join(dir, py, 'statistics.py') : '';
    if (!py || !existsSync(file)) return t.skip('no statistics.py under /usr/lib/python3.x');
    const src = readFileSync(file, 'utf8');
    const regions = await findInlineTestRegions('statistics.py', src);
    const labels = regions.map((r) => r.label);
    for (const name of ['<module>', 'mean', 'median', 'variance']) {
      assert.ok(labels.includes(`docstring of ${name}`), `${name} in ${labels.join(', ')}`);
    }
    for (const r of regions) {
      assert.match(r.text, /^[ \t]*>>>/m);
      assert.equal(src.split('\n')[r.startLine - 1]!.trim().slice(0, 3), r.text.slice(0, 3));
    }
  });
});

describe('reset', () => {
  let lib: string;
  before(() => {
    lib = readFileSync(join(fnvSource(), 'lib.rs'), 'utf8');
  });
  const reset = (current: string | null, fallback?: string) =>
    resetInlineTests('lib.rs', lib, current, fallback === undefined ? {} : { fallback });

  test('an edited test region is restored; the code part keeps its edits', async () => {
    const weakened = lib.replace(laterAsserts(lib), '');
    assert.deepEqual(await reset(weakened), { content: lib, changed: true });
    const both = weakened.replace(PRIME, WRONG_PRIME);
    const r = await reset(both);
    assert.equal(r.content, lib.replace(PRIME, WRONG_PRIME));
  });

  test('edits to code only are kept as they are', async () => {
    const edited = lib.replace(PRIME, WRONG_PRIME).replace('pub fn with_key', 'pub fn keyed');
    assert.deepEqual(await reset(edited), { content: edited, changed: false });
  });

  test('a test added in the module, at the top level or as a new module is removed', async () => {
    const added = lib
      .replace(
        '    #[test]\n    fn basic_tests',
        '    #[test]\n    fn extra() {}\n\n    #[test]\n    fn basic_tests',
      )
      .replace(
        '/// A builder for default FNV hashers.',
        '#[test]\nfn sneaky() {}\n\n#[cfg(all(test, unix))]\nmod more { }\n\n/// A builder for default FNV hashers.',
      );
    const r = await reset(added);
    assert.equal(r.content.includes('sneaky') || r.content.includes('extra'), false);
    assert.equal(r.content.includes('mod more'), false);
    assert.deepEqual(
      (await findInlineTestRegions('lib.rs', r.content)).map((x) => x.text),
      (await findInlineTestRegions('lib.rs', lib)).map((x) => x.text),
    );
  });

  test('a deleted test module is put back at its place', async () => {
    const regions = await findInlineTestRegions('lib.rs', lib);
    const mod = regions[1]!;
    // Blank lines may differ (the solver's deletion leaves its own): compare without them.
    const squeeze = (s: string) => s.replace(/\n{2,}/g, '\n');
    const deleted = lib.replace(`${mod.text}\n`, '').replace(PRIME, WRONG_PRIME);
    const r = await reset(deleted);
    assert.equal(squeeze(r.content), squeeze(lib.replace(PRIME, WRONG_PRIME)));
    assert.deepEqual(
      (await findInlineTestRegions('lib.rs', r.content)).map((x) => x.text),
      regions.map((x) => x.text),
    );
    // Where its place is gone (its module), at the end of the file.
    const nested = 'mod outer {\n    #[cfg(test)]\n    mod t {}\n}\nfn code() {}\n';
    const moved = await resetInlineTests('n.rs', nested, 'fn code() {}\n');
    assert.equal(moved.content, 'fn code() {}\n\n#[cfg(test)]\n    mod t {}\n');
    // A module that lost its #[cfg(test)] is replaced, not duplicated.
    const uncfg = lib.replace('#[cfg(test)]\nmod test {', 'mod test {').replace(FIRST_ASSERT, '');
    assert.equal((await reset(uncfg)).content, lib);
  });

  test('a file that does not parse (or is gone) falls back whole', async () => {
    const broken = `${lib.replace(PRIME, WRONG_PRIME)}\nfn (`;
    const r = await reset(broken);
    assert.equal(r.content, lib);
    assert.match(r.fellBack ?? '', /does not parse/);
    // At grading the fallback is the file as the solver got it (the bug stays).
    const start = lib.replace(PRIME, WRONG_PRIME);
    assert.equal((await reset(broken, start)).content, start);
    assert.equal((await reset(null, start)).content, start);
  });

  test('Python: doctests restored, put back into their owner, added ones emptied', async () => {
    const py = (s: string | null) => resetInlineTests('tools.py', PY, s);
    const edited = PY.replace('    >>> double(3)\n    6\n', '').replace('2 * x', 'x + x');
    assert.equal((await py(edited)).content, PY.replace('2 * x', 'x + x'));
    const gone = PY.replace('    """Twice x.\n\n    >>> double(3)\n    6\n    """\n', '');
    assert.equal((await py(gone)).content, PY);
    const added = PY.replace('"""No examples here."""', '"""\n    >>> plain(1)\n    1\n    """');
    assert.equal((await py(added)).content, PY.replace('"""No examples here."""', '""'));
    const ownerGone = PY.replace(/\nclass Box:[\s\S]*?return 0\n/, '\n');
    const r = await py(ownerGone);
    assert.ok(r.content.endsWith(`\n\n"""\n        >>> Box().size()\n        0\n        """\n`));
    assert.match((await py('def (')).fellBack ?? '', /does not parse/);
  });
});

describe('check 1: where each diff may change a file with inline tests', () => {
  let repo: string;
  let regions: Map<string, Awaited<ReturnType<typeof findInlineTestRegions>>>;
  before(async () => {
    repo = fnvRepo();
    const lib = readFileSync(join(repo, 'lib.rs'), 'utf8');
    regions = new Map([['lib.rs', await findInlineTestRegions('lib.rs', lib)]]);
  });
  const scope = (label: 'bug_inject.diff' | 'test_weaken.diff', diff: string) =>
    inlineScopeProblems(label, parsePatch(diff, label), regions);

  test('the bug: outside the regions only', () => {
    assert.deepEqual(
      scope('bug_inject.diff', makeDiff(repo, { 'lib.rs': [[PRIME, WRONG_PRIME]] })),
      [],
    );
    const inTests = makeDiff(repo, { 'lib.rs': [[FIRST_ASSERT, '']] });
    assert.deepEqual(scope('bug_inject.diff', inTests), [
      'bug_inject.diff changes line 163 of lib.rs, inside its inline tests (mod test, lines 139-367): the bug must stay in the code part',
    ]);
    const inserted = makeDiff(repo, {
      'lib.rs': [[FIRST_ASSERT, `${FIRST_ASSERT}        let _ = 1;\n`]],
    });
    assert.match(
      scope('bug_inject.diff', inserted)[0]!,
      /inserts lines after line 163 of lib\.rs, inside its inline tests \(mod test/,
    );
    // Right before the region starts is outside it.
    const beforeIt = makeDiff(repo, {
      'lib.rs': [['\n\n#[cfg(test)]\nmod test', '\n\nconst X: u8 = 1;\n#[cfg(test)]\nmod test']],
    });
    assert.deepEqual(scope('bug_inject.diff', beforeIt), []);
  });

  test('the weakening: inside the regions only', () => {
    assert.deepEqual(
      scope('test_weaken.diff', makeDiff(repo, { 'lib.rs': [[FIRST_ASSERT, '']] })),
      [],
    );
    assert.deepEqual(
      scope('test_weaken.diff', makeDiff(repo, { 'lib.rs': [[PRIME, WRONG_PRIME]] })),
      [
        'test_weaken.diff changes line 120 of lib.rs, outside its inline tests (extern crate alloc, lines 71-72; mod test, lines 139-367): it may change only the tests',
      ],
    );
    const deleted =
      'diff --git a/lib.rs b/lib.rs\ndeleted file mode 100644\n--- a/lib.rs\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n';
    assert.deepEqual(scope('test_weaken.diff', deleted), [
      'test_weaken.diff deletes lib.rs, which holds inline oracle tests (test_files.txt: lib.rs#inline-tests)',
    ]);
  });
});

describe('discovery', () => {
  test('cargo: source files with inline tests are listed as #inline-tests entries', () => {
    const c = cargoCandidates(new RepoScan(fnvRepo()))[0]!;
    assert.deepEqual(c.testFiles, ['lib.rs#inline-tests']);
    assert.equal(
      c.notes.some((n) => /not oracle files/.test(n)),
      false,
    );
    assert.equal(mayHaveInlineTests('a.rs', '// #[cfg(test)]\nfn a() {}\n'), false);
    assert.equal(mayHaveInlineTests('a.rs', '    #[test]\n    fn a() {}\n'), true);
    assert.equal(mayHaveInlineTests('a.rs', '#[cfg(test)] mod tests;\n'), true);
    assert.equal(mayHaveInlineTests('a.rs', '#[cfg(any(test, unix))] fn f() {}\n'), false);
    assert.equal(mayHaveInlineTests('a.py', 'def f():\n    """\n    >>> f()\n    """\n'), true);
  });

  test('pytest --doctest-modules in addopts', () => {
    assert.equal(pytestRunsDoctestModules('addopts = -ra --doctest-modules\n'), true);
    assert.equal(pytestRunsDoctestModules('addopts = [\n  "--doctest-modules",\n]\n'), true);
    assert.equal(pytestRunsDoctestModules('addopts = --doctest-glob=*.txt\n'), false);
    assert.equal(pytestRunsDoctestModules('testpaths = tests\n'), false);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end on the crate: ssr validate, the solver's grading, higher-order bugs, exports

describe('the fnv crate end to end (cargo test in the sandbox)', () => {
  let repo: string;
  let hashBefore: string;
  let work: string;
  let lib: string;
  let script: string;
  let host: SandboxHost;
  let original: Snapshot;
  let artifact: Artifact;
  let validReport: ValidationReport;

  before(() => {
    repo = fnvRepo();
    hashBefore = treeHash(repo);
    work = mkdtempSync(join(tmpdir(), 'ssr-oracle-regions-'));
    lib = readFileSync(join(repo, 'lib.rs'), 'utf8');
    script = TEST_SCRIPT(new RepoScan(repo));
    host = SandboxHost.open();
    original = host.snapshotDir(repo);
  });
  after(async () => {
    await host?.close();
    rmSync(work, { recursive: true, force: true });
    assert.equal(treeHash(repo), hashBefore, 'the fixture repository was written');
  });

  const spec = (id: string, bugEdits: [string, string][]) => ({
    id,
    testScript: script,
    testParser: CARGO_PARSER,
    testFiles: ['lib.rs#inline-tests'],
    bugDiff: makeDiff(repo, { 'lib.rs': bugEdits }),
    weakenDiff: makeDiff(repo, { 'lib.rs': [[laterAsserts(lib), '']] }),
  });

  test('ssr validate: bug in the code part, weakening in #[cfg(test)] mod: all seven checks pass', async () => {
    const dir = writeTestArtifact(
      join(work, 'out', 'fnv-prime'),
      spec('fnv-prime', [[PRIME, WRONG_PRIME]]),
    );
    writeFileSync(join(work, 'out', 'summary.json'), '{}\n');
    const r = await runCli(['validate', dir, '--repo', repo, '--json', '--baseline-runs', '1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    validReport = JSON.parse(r.stdout) as ValidationReport;
    assertValid(validReport);
    assert.match(
      validReport.checks[0]!.message,
      /1 oracle test file\(s\) \(1 with inline-test regions only\)/,
    );
    assert.deepEqual(validReport.bug!.failing, [BASIC]);
    assert.deepEqual(validReport.weakened!.restored, [BASIC]);
    writeFileSync(join(dir, 'validation.json'), r.stdout);
    artifact = readArtifact(dir);
  });

  test('ssr validate: a bug that touches the test module fails check 1, naming file, line and region', async () => {
    const dir = writeTestArtifact(
      join(work, 'fnv-in-tests'),
      spec('fnv-in-tests', [
        [PRIME, WRONG_PRIME],
        [FIRST_ASSERT, '        assert_eq!(fnv1a(b""), 0xcbf29ce484222325 + 0);\n'],
      ]),
    );
    const r = await runCli(['validate', dir, '--repo', repo, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assertFailsAt(
      JSON.parse(r.stdout),
      1,
      /^bug_inject\.diff changes line 163 of lib\.rs, inside its inline tests \(mod test, lines 139-367\): the bug must stay in the code part$/,
    );
  });

  test('grading: the solver fixes the code and edits the tests; its test edits are reset', async () => {
    assert.ok(artifact, 'the valid artifact of the first test');
    const start = await prepareSolverStart(host, original, artifact);
    // The original's results, as the validation measured them (saves a cargo run).
    const b = validReport.baseline!;
    const baseline: Baseline = {
      runs: [],
      failure: null,
      tests: b.tests,
      flaky: b.flaky,
      cached: true,
    };
    const attempt = async (edit: (s: string) => string) => {
      const sb = host.create(start.snapshot);
      try {
        const now = (await sb.readFile('lib.rs'))!.toString('utf8');
        assert.ok(!now.includes(laterAsserts(lib)), 'the start state has the weakened tests');
        await sb.writeFile('lib.rs', edit(now));
        return await solverPatch(sb);
      } finally {
        await sb.dispose();
      }
    };
    // A fix, plus a test of its own and the one remaining assertion deleted.
    const fix = await attempt((s) =>
      s.replace(WRONG_PRIME, PRIME).replace(FIRST_ASSERT, '        assert!(true);\n'),
    );
    const solved = await evaluateSolution(host, original, artifact, baseline, fix);
    assert.equal(solved.solved, true, solved.reason);
    assert.deepEqual(solved.discarded, ['lib.rs#inline-tests']);
    // No fix, the test module emptied: the reset brings the assertions back.
    const cheat = await attempt((s) =>
      s.replace(/ {4}#\[test\]\n {4}fn basic_tests\(\) \{[\s\S]*?\n {4}\}\n/, ''),
    );
    const caught = await evaluateSolution(host, original, artifact, baseline, cheat);
    assert.equal(caught.solved, false);
    assert.deepEqual(caught.failing, [BASIC]);
    assert.deepEqual(caught.discarded, ['lib.rs#inline-tests']);
    // A broken file gives nothing back: it falls back to the start with the tests reset.
    const broken = await attempt((s) => `${s.replace(WRONG_PRIME, PRIME)}\nfn (`);
    const r = await evaluateSolution(host, original, artifact, baseline, broken);
    assert.equal(r.solved, false);

    // ssr eval's grading of the SWE-bench form (ssr export --format swe-bench).
    const grade = await gradePatch(
      host,
      {
        base: start.snapshot,
        testScript: script,
        testParser: CARGO_PARSER,
        testPatch: start.specification,
        failToPass: [BASIC],
        passToPass: [],
        protectedFiles: artifact.testFiles,
      },
      fix,
    );
    assert.equal(grade.resolved, true, grade.reason);
    assert.deepEqual(grade.discarded, ['lib.rs#inline-tests']);
  });

  test('a higher-order bug keeps the failed patch to the code part, not to the tests', async () => {
    assert.ok(artifact, 'the valid artifact of the first test');
    const start = await prepareSolverStart(host, original, artifact);
    const sb = host.create(start.snapshot);
    let failed: string;
    try {
      const now = (await sb.readFile('lib.rs'))!.toString('utf8');
      await sb.writeFile(
        'lib.rs',
        now
          .replace('FnvHasher(0xcbf29ce484222325)', 'FnvHasher(0xcbf29ce484222324)')
          .replace(FIRST_ASSERT, ''),
      );
      failed = await solverPatch(sb);
    } finally {
      await sb.dispose();
    }
    const composed = await composeHigherOrder({
      host,
      original,
      parent: artifact,
      failedPatch: failed,
      createdBy: 'test',
    });
    assert.ok(composed);
    const files = parsePatch(composed.bugDiff, 'bug_inject.diff');
    const regions = new Map([['lib.rs', await findInlineTestRegions('lib.rs', lib)]]);
    assert.deepEqual(inlineScopeProblems('bug_inject.diff', files, regions), []);
    assert.match(composed.bugDiff, /\+\s+FnvHasher\(0xcbf29ce484222324\)/);
    assert.match(composed.bugDiff, /\+\s+hash = hash\.wrapping_mul\(0x100000001b5\);/);
  });

  test('the Harbor export refuses it with a one-line reason', async () => {
    assert.ok(validReport, 'the validation of the first test');
    const r = await exportHarbor(join(work, 'out'), {
      out: join(work, 'harbor'),
      baseImage: 'rust:1',
      verify: false,
    });
    assert.deepEqual(r.written, []);
    const refused = r.skipped.find((s) => s.id === 'fnv-prime');
    assert.match(
      refused?.reason ?? '',
      /^its oracle includes inline tests \(lib\.rs#inline-tests\), which the Harbor verifier cannot reset; use --format swe-bench or ssr solve$/,
    );
  });
});

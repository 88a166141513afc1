/**
 * Covering-test selection and focused artifacts (issue: throughput and focus): which test
 * files execute a candidate's lines, suites that run a subset of their files (mocha with a
 * .mocharc spec, pytest, node:test), screening and scope decisions, and `ssr inject
 * --test-scope covering` end to end on the example repository, re-validated.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArtifact } from '../src/artifact/artifact.js';
import { discoverTests } from '../src/discovery/discover.js';
import type { TestScope } from '../src/discovery/types.js';
import {
  CoveringIndex,
  changedLines,
  loadCoverage,
  SuiteFocus,
  saveCoverage,
} from '../src/inject/covering.js';
import {
  decideScope,
  focusedOn,
  injectBugs,
  tooBroad,
  wholeCoverageReason,
} from '../src/inject/pipeline.js';
import { removedLines } from '../src/inject/weaken.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { runTests, stageHarness } from '../src/testing/run-tests.js';
import { validateArtifact } from '../src/validate/validator.js';
import {
  jestProject,
  mochaProject,
  nodeTestProject,
  pytestProject,
  vitestProject,
} from './helpers/discovery-projects.js';

const ROOT = resolve(import.meta.dirname, '..');
const temps: string[] = [];
function temp(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `ssr-covering-${name}-`));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('changedLines', () => {
  test('a replaced line, a removed block, an insertion, a deleted file, no change', () => {
    const before = 'a\nb\nc\nd\n';
    assert.deepEqual(changedLines(before, 'a\nB\nc\nd\n'), [2]);
    assert.deepEqual(changedLines(before, 'a\nd\n'), [2, 3]);
    // An insertion between lines 2 and 3: the lines around it.
    assert.deepEqual(changedLines(before, 'a\nb\nx\nc\nd\n'), [2, 3]);
    assert.deepEqual(changedLines(before, null), [1, 2, 3, 4, 5]);
    assert.deepEqual(changedLines(before, before), []);
  });
});

describe('CoveringIndex', () => {
  const byTestFile = new Map([
    ['test/a.js', new Map([['src/x.js', [1, 2, 3]]])],
    [
      'test/b.js',
      new Map([
        ['src/x.js', [3, 4]],
        ['src/y.js', [0]],
      ]),
    ],
  ]);
  const index = new CoveringIndex(byTestFile);
  const original = (f: string) =>
    f === 'src/x.js' ? '1\n2\n3\n4\n5\n' : f === 'src/y.js' ? 'y\n' : null;

  test('names the test files that execute the changed lines, and only those', () => {
    assert.deepEqual(index.testsForEdits({ 'src/x.js': '1\nTWO\n3\n4\n5\n' }, original), [
      'test/a.js',
    ]);
    assert.deepEqual(index.testsForEdits({ 'src/x.js': '1\n2\nTHREE\n4\n5\n' }, original), [
      'test/a.js',
      'test/b.js',
    ]);
    // Line 5 runs in no test: nobody covers the change.
    assert.deepEqual(index.testsForEdits({ 'src/x.js': '1\n2\n3\n4\nFIVE\n' }, original), []);
    // Line 0: a file a test executed whole (its coverage could not be mapped to lines).
    assert.deepEqual(index.testsForEdits({ 'src/y.js': 'z\n' }, original), ['test/b.js']);
  });

  test('breadth: how much product code a test file executes (narrower files are weakened first)', () => {
    assert.equal(index.breadth('test/a.js'), 3);
    assert.equal(index.breadth('test/b.js'), 3);
    assert.equal(index.breadth('test/none.js'), Number.POSITIVE_INFINITY);
  });

  test('round-trips through .ssr/suite/coverage.json, and a stale key reads as nothing', () => {
    const path = join(temp('store'), 'coverage.json');
    saveCoverage(path, 'k1', {
      byTestFile,
      processes: { node: 2, python: 0 },
      durations: new Map([['test/a.js', 120]]),
    });
    const back = loadCoverage(path, 'k1');
    assert.deepEqual(back?.processes, { node: 2, python: 0 });
    assert.deepEqual(back?.byTestFile.get('test/b.js')?.get('src/x.js'), [3, 4]);
    assert.equal(back?.durations.get('test/a.js'), 120);
    assert.equal(loadCoverage(path, 'k2'), null);
    assert.equal(loadCoverage(join(temp('none'), 'coverage.json'), 'k1'), null);
  });
});

describe('screening and scope decisions', () => {
  test('costShare: what a file set costs of the whole suite, from measured run times', () => {
    const suite = {
      framework: 'mocha',
      testScript: '',
      testParser: '',
      testFiles: ['a', 'b', 'c'],
      notes: [],
      scope: { script: () => '', fileOf: (id: string) => id },
    };
    const focus = new SuiteFocus(
      suite,
      ['a', 'b', 'c'],
      new CoveringIndex(new Map()),
      () => null,
      () => true,
      new Map([
        ['a', 100],
        ['b', 300],
      ]),
    );
    // c's time is unknown: counted as the mean of the known ones (200).
    assert.equal(focus.costShare(['a']), 100 / 600);
    assert.equal(focus.costShare(['a', 'b', 'c']), 1);
    focus.cleanup();
  });

  test('tooBroad: a share of the passing tests, never 10 tests or fewer', () => {
    assert.equal(tooBroad(10, 20, 0.1), null);
    assert.equal(tooBroad(11, 1000, 0.1), null);
    assert.match(tooBroad(11, 100, 0.1) ?? '', /fails 11 of 100 passing tests \(11%, over 10%\)/);
    assert.match(tooBroad(1933, 1977, 0.1) ?? '', /too broad/);
  });

  test('wholeCoverageReason: per-file coverage only where focus or screening pays', () => {
    assert.match(
      wholeCoverageReason('auto', 3_000, {}) ?? '',
      /takes 3 s: screening .* pays from 10 s/,
    );
    assert.equal(wholeCoverageReason('covering', 3_000, {}), null);
    assert.equal(wholeCoverageReason('auto', 12_000, {}), null);
    assert.equal(wholeCoverageReason('full', 12_000, {}), null);
    assert.match(wholeCoverageReason('auto', 3_000, { screening: 'full' }) ?? '', /as asked/);
  });

  test('a focused artifact keeps its covering files only while they cost at most half the suite', () => {
    const costing = (share: number) => ({ costShare: () => share });
    assert.equal(focusedOn(['a'], { focusedArtifacts: true, focus: costing(0.3) }), true);
    assert.equal(focusedOn(['a'], { focusedArtifacts: true, focus: costing(0.5) }), true);
    // Most of the suite: the whole suite, whose clean runs discovery made.
    assert.equal(focusedOn(['a'], { focusedArtifacts: true, focus: costing(0.7) }), false);
    assert.equal(focusedOn(['a'], { focusedArtifacts: false, focus: costing(0.1) }), false);
    assert.equal(focusedOn(['a'], { focusedArtifacts: true, focus: null }), false);
  });

  test('decideScope: auto focuses only slow suites; full and no coverage never focus', () => {
    const focus = { units: ['a', 'b'] } as never;
    const notes: string[] = [];
    assert.equal(decideScope('auto', focus, 5_000, 30_000, notes), false);
    assert.match(notes.pop()!, /full \(auto: a clean run takes 5 s, under 30 s\)/);
    assert.equal(decideScope('auto', focus, 45_000, 30_000, notes), true);
    assert.match(notes.pop()!, /covering \(auto: a clean run takes 45 s; .* of 2\)/);
    assert.equal(decideScope('covering', focus, 1_000, 30_000, notes), true);
    assert.equal(decideScope('full', focus, 90_000, 30_000, notes), false);
    assert.equal(decideScope('covering', null, 90_000, 30_000, notes), false);
    assert.match(notes.pop()!, /--test-scope covering asked, but no per-test-file coverage/);
  });
});

describe('focused scripts run only their test files (real runners, in a sandbox)', () => {
  let host: SandboxHost;
  before(() => {
    host = SandboxHost.open();
  });
  after(async () => {
    await host.close();
  });

  /**
   * Discovers the project once and runs the scope of one of its test files (`pick`, else the
   * first the baseline names) alone: the ids it reported, and the file each names.
   */
  async function runScoped(dir: string, pick?: string) {
    const snapshot = host.snapshotDir(dir);
    const { suite, baseline } = await discoverTests(host, snapshot, { runs: 1 });
    const scope = suite.scope as TestScope;
    assert.ok(scope, `${suite.framework} has a scope`);
    const files = [...new Set(Object.keys(baseline.tests).map((id) => scope.fileOf(id)))].filter(
      (f): f is string => f !== null,
    );
    const file = pick ?? files[0]!;
    const h = stageHarness(
      scope.script(
        [file],
        files.filter((f) => f !== file),
      ),
      suite.testParser,
    );
    const sb = host.create(snapshot);
    try {
      const r = await runTests(sb, h);
      assert.ok(r.ok, r.ok ? '' : r.message);
      const ids = Object.keys(r.ok ? r.tests : {});
      return { files, file, ids, fileOf: (id: string) => scope.fileOf(id) };
    } finally {
      await sb.dispose();
      h.cleanup();
    }
  }

  for (const [name, project, pick] of [
    [
      'mocha with a .mocharc spec (a --require hook leaves the other file out)',
      mochaProject,
      'test/nested/clamp.spec.js',
    ],
    ['pytest (the paths given)', pytestProject, undefined],
    ['jest (--runTestsByPath)', jestProject, undefined],
    ['vitest (file filters)', vitestProject, undefined],
    ['node:test (fewer files in the per-file loop)', nodeTestProject, undefined],
  ] as const) {
    test(`${name}: only the given test file runs`, async () => {
      const r = await runScoped(await project(), pick);
      assert.ok(r.files.length >= 2, `several test files: ${r.files.join(', ')}`);
      assert.ok(r.ids.length > 0);
      assert.ok(
        r.ids.every((id) => r.fileOf(id) === r.file),
        r.ids.join(', '),
      );
    });
  }
});

describe('ssr inject --test-scope covering (the example repository)', () => {
  let repo: string;
  let out: string;
  let host: SandboxHost;
  before(() => {
    repo = join(temp('textkit'), 'textkit');
    execFileSync('bash', [join(ROOT, 'examples/make-textkit-repo.sh'), repo], { stdio: 'pipe' });
    out = join(temp('out'), 'bugs');
    host = SandboxHost.open();
  });
  after(async () => {
    await host.close();
  });

  test('focused artifacts run their covering files, stay bounded, pass all seven checks again; coverage is reused', async () => {
    const summary = await injectBugs({
      repo,
      out,
      count: 2,
      strategies: ['mutation'],
      testScope: 'covering',
      weakenBounds: { maxLines: 6 },
      host,
    });
    assert.equal(summary.valid, 2, JSON.stringify(summary.failures));
    assert.ok(
      summary.notes.some((n) => /test scope: covering/.test(n)),
      summary.notes.join('\n'),
    );
    assert.ok(existsSync(join(out, '.ssr/suite/coverage.json')));
    for (const id of summary.artifacts) {
      const a = readArtifact(join(out, id));
      const scope = a.metadata.testScope;
      assert.equal(scope?.kind, 'covering');
      assert.ok(scope.files! >= 1 && scope.files! <= scope.of!);
      assert.ok(removedLines(a.weakenDiff) <= 6, a.weakenDiff);
      // Validation took the bug run of this very script instead of repeating it (the weakened
      // run is made again: an independent sample).
      const written = JSON.parse(readFileSync(join(out, id, 'validation.json'), 'utf8'));
      const reused = written.testRuns.filter((r: { reused?: boolean }) => r.reused);
      assert.deepEqual(
        reused.map((r: { label: string }) => r.label),
        ['with bug'],
      );
      // Nothing gets weaker: the artifact as written passes the seven checks on its own.
      const report = await validateArtifact(a, { host, snapshot: host.snapshotDir(repo) });
      assert.ok(report.valid, JSON.stringify(report.failedCheck));
    }
    const suiteFiles = readFileSync(join(out, '.ssr/suite/test_files.txt'), 'utf8')
      .trim()
      .split('\n');
    const focused = readArtifact(join(out, summary.artifacts[0]!));
    assert.ok(focused.testFiles.length <= suiteFiles.length);

    // A rerun on the same repository measures nothing again.
    const again = await injectBugs({
      repo,
      out: join(temp('out2'), 'bugs'),
      count: 1,
      strategies: ['mutation'],
      testScope: 'covering',
      host,
      maxCandidates: 1,
    });
    assert.ok(!again.notes.some((n) => /reused from/.test(n)), 'another --out has its own state');
    const rerun = await injectBugs({
      repo,
      out,
      count: 2,
      strategies: ['mutation'],
      testScope: 'covering',
      host,
    });
    assert.ok(
      rerun.notes.some((n) => /coverage per test file: .* reused from/.test(n)),
      rerun.notes.join('\n'),
    );
    assert.equal(rerun.resumed, summary.tried);
  });
});

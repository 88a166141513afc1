/**
 * The warm mocha runner (src/inject/warm): one mocha process in a sandbox that runs chosen
 * test files again and again, each time with a candidate's edits, on a real mocha 10 project
 * with an ES module library and a CommonJS one. What a user relies on: every run sees the
 * edited code and nothing of the previous run's, the edits are undone, a mutant that hangs or
 * does not parse costs one worker and not the screening, and calibration finds tests that need
 * a fresh process.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoveringIndex, type SuiteFocus } from '../src/inject/covering.js';
import { type CandidateRecord, injectBugs } from '../src/inject/pipeline.js';
import { calibrate, calibrationGroups, mergeCalibration } from '../src/inject/warm/calibration.js';
import { perFileCoverage, type WarmScreen, warmSelection } from '../src/inject/warm/screen.js';
import {
  mochaStatuses,
  mochaTestId,
  ReplyReader,
  WarmPool,
} from '../src/inject/warm/warm-mocha.js';
import { deriveWeakening } from '../src/inject/weaken.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { formatFileDiff } from '../src/sandbox/tree-diff.js';
import type { Snapshot } from '../src/sandbox/types.js';
import type { TestHarness } from '../src/testing/run-tests.js';
import { warmMochaProject } from './helpers/discovery-projects.js';

const SPEC = { runner: 'mocha' as const, args: ['--timeout', '5000'], env: {} };
const FILES = ['test/words.js', 'test/shout.js', 'test/count.cjs'];
const ALL = [
  'test/words.js > words > joins',
  'test/shout.js > shout > shouts',
  'test/count.cjs > count > counts',
  'test/count.cjs > count > counts nothing',
];

describe('warm mocha runner', () => {
  let host: SandboxHost;
  let repo: string;
  let snapshot: Snapshot;
  before(async () => {
    repo = await warmMochaProject();
    host = SandboxHost.open();
    snapshot = host.snapshotDir(repo);
  });
  after(() => host.close());

  test('each run sees the edited ES module and CommonJS code, and the next run the original', async () => {
    const pool = new WarmPool(host, snapshot, SPEC, { size: 1 });
    try {
      const clean = await pool.run({}, FILES, 30_000);
      assert.ok(clean.ok, clean.ok ? '' : clean.reason);
      assert.deepEqual([...clean.passed].sort(), [...ALL].sort());

      // An edit two imports deep (words.js imports sep.js): ES modules load again.
      const sep = await pool.run(
        { 'src/sep.js': "export function sep() { return '-'; }\n" },
        FILES,
        30_000,
      );
      assert.ok(sep.ok);
      assert.ok(!sep.passed.has('test/words.js > words > joins'));
      assert.ok(sep.passed.has('test/shout.js > shout > shouts'));

      const cjs = await pool.run(
        {
          'src/count.cjs': "'use strict';\nmodule.exports = { count: (xs) => xs.length + 1 };\n",
        },
        ['test/count.cjs'],
        30_000,
      );
      assert.ok(cjs.ok);
      assert.equal(cjs.ran, 2, 'only the file asked for runs');
      assert.equal(cjs.passed.size, 0);

      const again = await pool.run({}, FILES, 30_000);
      assert.ok(again.ok);
      assert.deepEqual([...again.passed].sort(), [...ALL].sort(), 'edits are undone');
    } finally {
      await pool.close();
    }
    assert.match(readFileSync(join(repo, 'src/sep.js'), 'utf8'), /' '/, 'the repo is untouched');
  });

  test('a mutant that hangs or does not parse ends its worker, and the next run gets a new one', async () => {
    const pool = new WarmPool(host, snapshot, SPEC, { size: 1 });
    try {
      const hang = await pool.run(
        { 'src/count.cjs': "'use strict';\nwhile (true) {}\n" },
        ['test/count.cjs'],
        3_000,
      );
      assert.equal(hang.ok, false);
      assert.match(hang.ok ? '' : hang.reason, /no answer in 3 s/);
      assert.equal(!hang.ok && hang.timedOut, true, 'a hang is told from a crash');

      const broken = await pool.run({ 'src/words.js': 'export function join( {\n' }, FILES, 30_000);
      assert.equal(broken.ok, false);
      assert.match(broken.ok ? '' : broken.reason, /loading test\/(words|shout)\.js/);
      assert.equal(!broken.ok && broken.timedOut, undefined);

      const clean = await pool.run({}, FILES, 30_000);
      assert.ok(clean.ok, clean.ok ? '' : clean.reason);
      assert.equal(clean.passed.size, 4);
    } finally {
      await pool.close();
    }
  });

  test('coverage per test, a run of chosen tests, and a run that stops once it has failed enough', async () => {
    const pool = new WarmPool(host, snapshot, SPEC, { size: 1 });
    try {
      const cov = await pool.run({}, FILES, 30_000, { coverage: true });
      assert.ok(cov.ok && cov.coverage);
      const joins = cov.coverage.get('test/words.js > words > joins')!;
      const shouts = cov.coverage.get('test/shout.js > shout > shouts')!;
      assert.deepEqual(joins.get('src/sep.js'), [1], 'the function two imports deep');
      assert.deepEqual(joins.get('src/words.js'), [2]);
      assert.equal(shouts.get('src/sep.js'), undefined);
      assert.deepEqual(shouts.get('src/words.js'), [3]);
      // Lines run while the files load (the module-level constant) belong to no test.
      const counts = cov.coverage.get('test/count.cjs > count > counts')!;
      assert.deepEqual(counts.get('src/count.cjs'), [4]);

      const only = await pool.run({}, FILES, 30_000, {
        only: ['test/words.js > words > joins', 'test/count.cjs > count > counts nothing'],
      });
      assert.ok(only.ok);
      assert.deepEqual([...only.passed].sort(), [
        'test/count.cjs > count > counts nothing',
        'test/words.js > words > joins',
      ]);
      assert.equal(only.ran, 2);

      const broken = {
        'src/words.js':
          'export function join() { return 0; }\nexport function shout() { return 0; }\n',
      };
      const stopped = await pool.run(broken, FILES, 30_000, { stopAfter: 1 });
      assert.ok(stopped.ok && stopped.stopped);
      assert.equal(stopped.failed.length, 2);
      assert.equal(stopped.passed.size, 0, "count.cjs's tests never ran");
      const all = await pool.run(broken, FILES, 30_000);
      assert.ok(all.ok && !all.stopped);
      assert.equal(all.passed.size, 2);
    } finally {
      await pool.close();
    }
  });

  test('two workers calibrate at once, each on part of the tests, and agree with one', async () => {
    const fileOf = (id: string) => id.split(' > ')[0];
    const one = new WarmPool(host, snapshot, SPEC, { size: 1 });
    const two = new WarmPool(host, snapshot, SPEC, { size: 2 });
    try {
      const single = await calibrate(one, FILES, ALL, 30_000);
      const split = await calibrate(two, FILES, ALL, 30_000, { workers: 2, fileOf });
      assert.ok(single.ok && split.ok);
      assert.equal(split.unreliable.size, 0);
      assert.deepEqual([...split.coverage.keys()].sort(), [...single.coverage.keys()].sort());
      for (const [id, lines] of single.coverage) {
        assert.deepEqual(split.coverage.get(id), lines, `what ${id} executes`);
      }
      assert.deepEqual(
        [...split.loads.keys()].sort(),
        [...single.loads.keys()].sort(),
        'every file was loaded by some worker',
      );
      assert.deepEqual([...split.fileMs.keys()].sort(), [...FILES].sort());
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test("weakening rounds led by the warm run's failures: a second assertion found with no fresh run", async () => {
    // A test whose two assertions both break: the bug's log names the first line only; once
    // it is weakened, the warm check's failure text names the second.
    const dir = join(mkdtempSync(join(tmpdir(), 'ssr-warm-weaken-')), 'repo');
    try {
      cpSync(repo, dir, { recursive: true });
      const words =
        "import assert from 'node:assert';\nimport { join } from '../src/words.js';\n" +
        "describe('words', function () {\n  it('joins', function () {\n" +
        "    assert.strictEqual(join('a', 'b'), 'a b');\n" +
        "    assert.strictEqual(join('c', 'd'), 'c d');\n  });\n});\n";
      writeFileSync(join(dir, 'test/words.js'), words);
      const snap = host.snapshotDir(dir);
      const pool = new WarmPool(host, snap, SPEC, { size: 1 });
      const id = 'test/words.js > words > joins';
      const bug = { 'src/sep.js': "export function sep() { return '-'; }\n" };
      let fresh = 0;
      const counting = {
        create: (s: Snapshot) => {
          fresh++;
          return host.create(s);
        },
      } as unknown as SandboxHost;
      try {
        const bugRun = await pool.run(bug, ['test/words.js'], 30_000);
        assert.ok(bugRun.ok);
        assert.deepEqual(bugRun.failed, [id]);
        assert.match(bugRun.log, /failed: words > joins\n {2}AssertionError/);
        assert.match(bugRun.log, /test\/words\.js:5:\d+/);
        assert.doesNotMatch(bugRun.log, /ssr-warm/, 'the module query is not in the frames');
        const checks: string[][] = [];
        const input = {
          host: counting,
          snapshot: snap,
          harness: {} as TestHarness,
          testFiles: ['test/words.js'],
          originals: new Map([['test/words.js', words]]),
          bugDiff: formatFileDiff(
            'src/sep.js',
            { mode: '100644', data: readFileSync(join(dir, 'src/sep.js')) },
            { mode: '100644', data: Buffer.from(bug['src/sep.js']) },
          ),
          failing: [id],
          bugLog: bugRun.log,
          testOptions: {},
        };
        const result = await deriveWeakening({
          ...input,
          quickCheck: async (contents) => {
            const o = await pool.run(
              { ...bug, ...Object.fromEntries(contents) },
              ['test/words.js'],
              30_000,
              { only: [id] },
            );
            if (!o.ok) return null;
            checks.push([...o.passed]);
            return { restored: [...o.passed], log: o.log };
          },
        });
        assert.deepEqual(result.weakened.sort(), ['test/words.js:5', 'test/words.js:6']);
        assert.deepEqual(result.restored, [id]);
        assert.equal(result.rounds, 2);
        assert.deepEqual(checks, [[], [id]], 'round 1 left it failing, round 2 restored it');
        assert.equal(fresh, 0, 'no fresh sandbox run');

        // Weakened tests that hang in the warm check: the weakening stops there, with no
        // fresh run that would wait for the suite's whole limit.
        const hung = await deriveWeakening({
          ...input,
          quickCheck: async () => 'timeout',
        });
        assert.equal(hung.diff, null);
        assert.match(hung.reason ?? '', /weakened tests did not finish in time \(checked warm\)/);
        assert.equal(fresh, 0, 'still no fresh sandbox run');
      } finally {
        await pool.close();
      }
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  test('calibration finds a test that passes only in a fresh process', async () => {
    const pool = new WarmPool(host, snapshot, SPEC, { size: 1 });
    try {
      const ok = await calibrate(pool, FILES, ALL, 30_000);
      assert.ok(ok.ok);
      assert.equal(ok.ok && ok.unreliable.size, 0);
      assert.equal(ok.ok && ok.coverage.size, 4, 'what each test executes comes with it');
    } finally {
      await pool.close();
    }
    // A copy of the project one of whose tests counts how often it ran in this process.
    const dir = join(mkdtempSync(join(tmpdir(), 'ssr-warm-once-')), 'repo');
    try {
      cpSync(repo, dir, { recursive: true });
      writeFileSync(
        join(dir, 'test/count.cjs'),
        "'use strict';\nconst assert = require('assert');\n" +
          "describe('count', function () { it('counts', function () {\n" +
          '  globalThis.runs = (globalThis.runs || 0) + 1; assert.strictEqual(globalThis.runs, 1);\n' +
          '}); });\n',
      );
      const once = new WarmPool(host, host.snapshotDir(dir), SPEC, { size: 1 });
      const passing = [...ALL.slice(0, 2), 'test/count.cjs > count > counts'];
      const strict = await calibrate(once, FILES, passing, 30_000);
      assert.equal(strict.ok, false, 'one test in three is too many');
      assert.match(
        strict.ok ? '' : strict.reason,
        /1 of 3 tests that pass in a clean run do not pass warm/,
      );
      const lenient = await calibrate(once, FILES, passing, 30_000, { maxUnreliableShare: 0.5 });
      await once.close();
      // Split between two workers, the test still runs twice in one process.
      const twice = new WarmPool(host, host.snapshotDir(dir), SPEC, { size: 2 });
      const split = await calibrate(twice, FILES, passing, 30_000, {
        workers: 2,
        fileOf: (id) => id.split(' > ')[0],
        maxUnreliableShare: 0.5,
      });
      await twice.close();
      assert.deepEqual(
        [...(split.ok ? split.unreliable : [])],
        ['test/count.cjs > count > counts'],
      );
      // A worker past its memory bound is replaced: each run starts a fresh process.
      const recycled = new WarmPool(host, host.snapshotDir(dir), SPEC, {
        size: 1,
        maxRssBytes: 1,
      });
      const a = await recycled.run({}, ['test/count.cjs'], 30_000);
      const b = await recycled.run({}, ['test/count.cjs'], 30_000);
      await recycled.close();
      assert.ok(a.ok && b.ok);
      assert.equal(b.passed.size, 1, 'the second run had a new process');
      assert.ok(lenient.ok);
      assert.deepEqual(
        [...(lenient.ok ? lenient.unreliable : [])],
        ['test/count.cjs > count > counts'],
      );
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  test('ssr inject screens warm on the covering files and still validates every artifact fresh', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ssr-warm-inject-')), 'bugs');
    try {
      const summary = await injectBugs({
        repo,
        out,
        count: 20,
        seed: 1,
        strategies: ['mutation'],
        testScope: 'covering',
        concurrency: 2,
        host,
      });
      const note = summary.notes.find((n) => n.startsWith('warm screening: mocha'));
      assert.ok(note, summary.notes.join('\n'));
      assert.match(note, /4 of 4 clean-run tests pass warm twice/);
      assert.ok(
        summary.notes.includes(
          "coverage per test file: 3 files, recorded in the warm runner's calibration",
        ),
        'no run per test file',
      );
      const counts = summary.notes.find((n) =>
        /^warm screening: \d+ candidate\(s\) run warm/.test(n),
      );
      assert.match(
        counts ?? '',
        /[1-9]\d* weakening round\(s\) checked warm/,
        'weakening checked warm',
      );
      assert.ok(summary.valid >= 1, JSON.stringify(summary.failures));
      const journal = readFileSync(join(out, '.ssr', 'journal.jsonl'), 'utf8');
      assert.match(journal, /screened warm/, 'some candidate was turned away warm');
      // Each candidate's time per stage: every valid one went through all four.
      const records = journal
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CandidateRecord);
      for (const r of records.filter((x) => x.outcome === 'valid')) {
        assert.deepEqual(Object.keys(r.stagesMs ?? {}).sort(), [
          'bug',
          'screen',
          'validate',
          'weaken',
        ]);
      }
      assert.equal(summary.stages?.validate?.candidates, summary.valid);
      assert.equal(summary.stages?.screen?.candidates, summary.tried);
      assert.ok(
        summary.notes.some((n) =>
          /^where candidates' time went: screening [\d.]+ s median/.test(n),
        ),
        summary.notes.join('\n'),
      );
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });
});

describe('warm runner replies', () => {
  test('are found among test output, across chunks, and noise is not kept', () => {
    const got: unknown[] = [];
    const r = new ReplyReader('ssr-warm-abc', (x) => got.push(x));
    r.push('hello from a test\nssr-warm-abc {"id":1,"te');
    r.push('sts":[]}\n');
    r.push('x'.repeat(100_000));
    r.push('\nssr-warm-abc not json\nssr-warm-abcd {"id":9}\nssr-warm-abc {"id":2}\n');
    // A character split between two chunks.
    const euro = Buffer.from('ssr-warm-abc {"id":3,"t":"\u20ac"}\n');
    const cut = euro.indexOf(0xe2) + 1;
    r.push(euro.subarray(0, cut));
    r.push(euro.subarray(cut));
    assert.deepEqual(got, [{ id: 1, tests: [] }, { id: 2 }, { id: 3, t: '\u20ac' }]);
    assert.equal(mochaTestId('test/a.js', ['s', 't']), 'test/a.js > s > t');
    assert.equal(mochaTestId('', ['t']), 't');
    // Two tests with one title, one test reported twice (passed, then failed in a hook).
    const statuses = mochaStatuses([
      ['a.js', ['s', 't'], 'passed', 1],
      ['a.js', ['s', 't'], 'passed', 2],
      ['a.js', ['s', 'u'], 'passed', 3],
      ['a.js', ['s', 'u'], 'failed', 3],
    ]);
    assert.deepEqual(Object.fromEntries(statuses), {
      'a.js > s > t': 'passed',
      'a.js > s > t (2)': 'passed',
      'a.js > s > u': 'failed',
    });
  });
});

describe('warm selection', () => {
  // src/a.js: line 1 runs while loading (no test), lines 2-3 in tests.
  const perTest = new CoveringIndex(
    new Map([
      ['t/a.js > one', new Map([['src/a.js', [2]]])],
      ['t/a.js > two', new Map([['src/a.js', [3]]])],
      [
        't/b.js > three',
        new Map([
          ['src/a.js', [3]],
          ['src/b.js', [4]],
        ]),
      ],
    ]),
  );
  const perFile = new CoveringIndex(
    new Map([
      ['t/a.js', new Map([['src/a.js', [1, 2, 3]]])],
      ['t/b.js', new Map([['src/a.js', [1, 3]]])],
    ]),
  );
  // Loading runs line 1 of src/a.js and line 4 of src/b.js; line 4 is also run by a test.
  const screen = {
    perTest,
    loading: new CoveringIndex(
      new Map([
        ['t/a.js', new Map([['src/a.js', [1]]])],
        ['t/b.js', new Map([['src/b.js', [4]]])],
      ]),
    ),
    fileOfTest: new Map([
      ['t/a.js > one', 't/a.js'],
      ['t/a.js > two', 't/a.js'],
      ['t/b.js > three', 't/b.js'],
    ]),
  } as unknown as WarmScreen;
  const focus = { index: perFile, costShare: () => 1 } as unknown as SuiteFocus;
  const original = (f: string) =>
    f === 'src/a.js' ? 'load\nf\ng\n' : f === 'src/b.js' ? 'a\nb\nc\nd\n' : null;
  const passing = ['t/a.js > one', 't/a.js > two', 't/b.js > three'];
  const files = ['t/a.js', 't/b.js'];

  test('runs the tests that execute the changed lines, in their files', () => {
    const sel = warmSelection(
      screen,
      focus,
      { edits: { 'src/a.js': 'load\nf\nG\n' } },
      files,
      passing,
      original,
    );
    assert.deepEqual(sel, {
      files: ['t/a.js', 't/b.js'],
      only: ['t/a.js > two', 't/b.js > three'],
      share: 2 / 3,
    });
    const one = warmSelection(
      screen,
      focus,
      { edits: { 'src/a.js': 'load\nF\ng\n' } },
      files,
      passing,
      original,
    );
    assert.deepEqual(one, { files: ['t/a.js'], only: ['t/a.js > one'], share: 1 / 3 });
  });

  test('falls back to whole files for a line loading runs (whoever else runs it), or a new file', () => {
    const alsoLoaded = warmSelection(
      screen,
      focus,
      { edits: { 'src/b.js': 'a\nb\nc\nD\n' } },
      files,
      passing,
      original,
    );
    assert.deepEqual(alsoLoaded, { files, share: 1 }, 'not just the one test that calls it');
    const load = warmSelection(
      screen,
      focus,
      { edits: { 'src/a.js': 'LOAD\nf\ng\n' } },
      files,
      passing,
      original,
    );
    assert.deepEqual(load, { files, share: 1 });
    const fresh = warmSelection(
      screen,
      focus,
      { edits: { 'src/new.js': 'x\n' } },
      files,
      passing,
      original,
    );
    assert.deepEqual(fresh, { files, share: 1 });
  });

  test("each test file's coverage: what its loading ran and what its tests ran", () => {
    const stored = perFileCoverage(
      ['t/a.js', 't/b.js'],
      {
        coverage: new Map([
          ['t/a.js > one', new Map([['src/a.js', [2]]])],
          ['t/a.js > two', new Map([['src/a.js', [3]]])],
        ]),
        loads: new Map([
          ['t/a.js', new Map([['src/a.js', [1]]])],
          ['t/b.js', new Map([['src/a.js', [1]]])],
        ]),
        fileMs: new Map([['t/a.js', 12]]),
      },
      new Map([
        ['t/a.js > one', 't/a.js'],
        ['t/a.js > two', 't/a.js'],
      ]),
    );
    assert.deepEqual(stored.byTestFile.get('t/a.js')?.get('src/a.js'), [1, 2, 3]);
    assert.deepEqual(stored.byTestFile.get('t/b.js')?.get('src/a.js'), [1]);
    assert.deepEqual(
      [...stored.durations],
      [
        ['t/a.js', 12],
        ['t/b.js', 1],
      ],
    );
  });

  test('says nothing when the covering tests do not pass on the original', () => {
    const sel = warmSelection(
      screen,
      focus,
      { edits: { 'src/a.js': 'load\nF\ng\n' } },
      files,
      ['t/b.js > three'],
      original,
    );
    assert.equal(sel, null);
  });
});

describe('calibration groups', () => {
  const fileOf = (id: string) => id.split(' > ')[0];
  test('passing tests split into even groups in file order; each group names its files', () => {
    const passing = [...ALL, 'test/words.js > words > splits'];
    const groups = calibrationGroups(FILES, passing, fileOf, 2);
    assert.deepEqual(groups, [
      {
        files: ['test/words.js', 'test/shout.js'],
        only: [
          'test/words.js > words > joins',
          'test/words.js > words > splits',
          'test/shout.js > shout > shouts',
        ],
      },
      {
        files: ['test/count.cjs'],
        only: ['test/count.cjs > count > counts', 'test/count.cjs > count > counts nothing'],
      },
    ]);
  });

  test('one worker, an unknown file or too few tests: one group of every file', () => {
    assert.deepEqual(calibrationGroups(FILES, ALL, fileOf, 1), [{ files: FILES }]);
    assert.deepEqual(calibrationGroups(FILES, ALL, undefined, 2), [{ files: FILES }]);
    assert.deepEqual(
      calibrationGroups(FILES, ALL, () => null, 2),
      [{ files: FILES }],
    );
    assert.deepEqual(calibrationGroups(FILES, ALL.slice(0, 3), fileOf, 2), [{ files: FILES }]);
  });

  test('merging: a test that fails either run is unreliable, load lines are united, times added', () => {
    const outcome = (passed: string[], extra: object = {}) => ({
      ok: true as const,
      passed: new Set(passed),
      failed: [],
      ran: passed.length,
      ms: 100,
      fileMs: new Map([['test/words.js', 40]]),
      log: '',
      transpiled: false,
      ...extra,
    });
    const a = {
      ok: true as const,
      plain: outcome(['t1', 't2']),
      recorded: outcome(['t1'], {
        coverage: new Map([['t1', new Map([['src/a.js', [1]]])]]),
        loads: new Map([['test/words.js', new Map([['src/a.js', [1, 3]]])]]),
      }),
    };
    const b = {
      ok: true as const,
      plain: outcome(['t3']),
      recorded: outcome(['t3'], {
        coverage: new Map([['t3', new Map([['src/b.js', [2]]])]]),
        loads: new Map([['test/words.js', new Map([['src/a.js', [2, 3]]])]]),
      }),
    };
    const merged = mergeCalibration([a, b], ['t1', 't2', 't3'], 0.5);
    assert.ok(merged.ok);
    assert.deepEqual([...merged.unreliable], ['t2']);
    assert.equal(merged.ms, 200);
    assert.equal(merged.fileMs.get('test/words.js'), 80);
    assert.deepEqual(merged.loads.get('test/words.js')?.get('src/a.js'), [1, 2, 3]);
    assert.deepEqual([...merged.coverage.keys()], ['t1', 't3']);
    const strict = mergeCalibration([a, b], ['t1', 't2', 't3'], 0.1);
    assert.equal(strict.ok, false);
    const failed = mergeCalibration([a, { ok: false, reason: 'worker died' }], ['t1'], 1);
    assert.deepEqual(failed, { ok: false, reason: 'worker died' });
  });
});

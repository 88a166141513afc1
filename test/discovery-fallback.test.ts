/**
 * Discovery when nothing structured can be read, and the user's ways around it:
 * - the per-file fallback (each test file on its own, its exit code its outcome);
 * - the escape hatches --test-command / --test-format / --test-files, each format, and every
 *   mistake a one-line error (in the library and through `ssr inject`);
 * - a suite whose tests change outcome between clean runs beyond the limit is rejected;
 * - Python layouts: src/ packages without an install, doctests switched on in the config,
 *   unittest TestCase modules not named test_*.py, unittest suites built by load_tests() (their
 *   repeated names), test modules in packages and directories the root does not reach, and the
 *   project's own unittest command (tox.ini, Makefile, setup.py test_suite).
 * Every repository is a real git repository built here; everything runs in the sandbox.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTestFormat, resolveTestFiles } from '../src/discovery/custom.js';
import { type DiscoveryOptions, discoverTests } from '../src/discovery/discover.js';
import { fallbackCandidate } from '../src/discovery/fallback.js';
import { pytestConfig, pythonCandidates } from '../src/discovery/python-frameworks.js';
import { UNITTEST_PARSER } from '../src/discovery/python-unittest.js';
import { RepoScan } from '../src/discovery/scan.js';
import { failureLocations } from '../src/inject/failure-locations.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { UsageError } from '../src/util/errors.js';
import { flakyProject } from './helpers/discovery-projects.js';
import { makeRepo, removeTempDirs, tempDir } from './helpers/sandbox-repo.js';
import { runCli } from './helpers/validation.js';

let host: SandboxHost;

before(() => {
  host = SandboxHost.open();
});

after(async () => {
  await host?.close();
  removeTempDirs();
});

function discover(repo: string, opts: DiscoveryOptions = {}) {
  return discoverTests(host, host.snapshotDir(repo), opts);
}

/** Expects discovery to throw a UsageError whose single-line message matches `re`. */
async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof UsageError, `not a UsageError: ${(err as Error)?.stack}`);
    message = err.message;
    assert.doesNotMatch(message, /\n/, 'one line');
    assert.match(message, re);
    return true;
  });
  return message;
}

function bashSyntax(script: string): string {
  const dir = makeRepo({ 's.sh': script });
  try {
    execFileSync('bash', ['-n', join(dir, 's.sh')], { stdio: 'pipe' });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

// ---------------------------------------------------------------------------------------------
// Repositories

const CALC_JS = `'use strict';
function add(a, b) {
  return a + b;
}
module.exports = { add };
`;

/** Plain node scripts under test/ that print nothing a parser could read. */
function plainJsRepo(): string {
  return makeRepo(
    {
      'package.json': JSON.stringify({ name: 'plain', version: '1.0.0' }),
      'lib/calc.js': CALC_JS,
      'test/add.js': `const assert = require('assert');
const { add } = require('../lib/calc');
assert.strictEqual(add(1, 2), 3);
console.log('fine');
`,
      'test/wrong.js': `const assert = require('assert');
const { add } = require('../lib/calc');
assert.strictEqual(add(2, 2), 5);
`,
      'test/broken.js': 'const = ;\n',
      // Support code under test/ is not a test file: never run on its own.
      'test/fixtures/server.js': 'setInterval(() => {}, 1000);\n',
      'test/helpers/util.js': 'process.exit(7);\n',
    },
    { git: true },
  );
}

const GO_JSON = [
  '{"Action":"run","Package":"example.com/calc","Test":"TestAdd"}',
  '{"Action":"output","Package":"example.com/calc","Test":"TestAdd","Output":"=== RUN   TestAdd\\n"}',
  '{"Action":"pass","Package":"example.com/calc","Test":"TestAdd","Elapsed":0}',
  '{"Action":"run","Package":"example.com/calc","Test":"TestSub"}',
  '{"Action":"fail","Package":"example.com/calc","Test":"TestSub","Elapsed":0}',
  '{"Action":"fail","Package":"example.com/calc","Elapsed":0.01}',
  '',
].join('\n');

const CARGO_OUT = `   Compiling calc v0.1.0 (/repo)
    Finished test [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/calc-0123456789abcdef)

running 2 tests
test tests::adds ... ok
test tests::subtracts ... FAILED

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
`;

const JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="CalcTest" tests="3" failures="1" skipped="1">
  <testcase classname="com.example.CalcTest" name="adds"/>
  <testcase classname="com.example.CalcTest" name="subtracts"><failure message="expected 1"/></testcase>
  <testcase classname="com.example.CalcTest" name="later"><skipped/></testcase>
</testsuite>
`;

/** One repository for every format: recorded outputs and a report-writing script. */
function formatsRepo(): string {
  return makeRepo(
    {
      'lib/calc.js': CALC_JS,
      'test/unit.test.js': `const test = require('node:test');
const assert = require('node:assert');
const { add } = require('../lib/calc');
test('math', async (t) => {
  await t.test('adds', () => assert.strictEqual(add(1, 2), 3));
  await t.test('is wrong', () => assert.strictEqual(add(1, 1), 3));
});
`,
      'recorded/go.jsonl': GO_JSON,
      'recorded/cargo.txt': CARGO_OUT,
      // A report left in the repository matches the glob but is not this run's.
      'reports/TEST-Stale.xml': JUNIT.replace(/CalcTest/g, 'StaleTest'),
      'write-report.sh': `mkdir -p reports\ncat > reports/TEST-CalcTest.xml <<'EOF'\n${JUNIT}EOF\necho wrote the report\nexit 1\n`,
      'tests/test_calc.py':
        'def test_ok():\n    assert 1 + 1 == 2\n\n\ndef test_bad():\n    assert 1 + 1 == 3\n',
    },
    { git: true },
  );
}

// ---------------------------------------------------------------------------------------------

describe('the per-file fallback', () => {
  test('tests that print nothing parseable: each file is a test, its exit code the outcome', async () => {
    const repo = plainJsRepo();
    const result = await discover(repo);
    assert.equal(result.suite.framework, 'fallback', JSON.stringify(result.attempts));
    assert.deepEqual(result.baseline.tests, {
      'test/add.js': 'passed',
      'test/broken.js': 'failed',
      'test/wrong.js': 'failed',
    });
    assert.deepEqual(result.suite.testFiles, ['test/add.js', 'test/broken.js', 'test/wrong.js']);
    assert.match(result.suite.notes.join('\n'), /coarse fallback .*exit code is its outcome/);
    assert.match(result.attempts.at(-1)!.reason, /3 JavaScript test files/);
  });

  test('static: Go packages, Rust integration tests, a Makefile target; valid bash', () => {
    const go = fallbackCandidate(
      new RepoScan(
        makeRepo({
          'go.mod': 'module example.com/m\n',
          'a.go': 'package m\n',
          'a_test.go': 'package m\n',
          'pkg/x/x_test.go': 'package x\n',
          'pkg/x/testdata/skip_test.go': 'package y\n',
        }),
      ),
    );
    assert.ok(go);
    assert.match(go.testScript, /item \.\/ go test \.\n/);
    assert.match(go.testScript, /item pkg\/x\/ go test \.\/pkg\/x\n/);
    assert.deepEqual(go.testFiles, ['a_test.go', 'pkg/x/x_test.go']);

    const rust = fallbackCandidate(
      new RepoScan(
        makeRepo({
          'Cargo.toml': '[package]\nname = "c"\n',
          'src/lib.rs': '',
          'tests/api.rs': '',
          'tests/big/main.rs': '',
        }),
      ),
    );
    assert.ok(rust);
    assert.match(rust.testScript, /cargo test --offline --manifest-path Cargo\.toml --test api\n/);
    assert.match(rust.testScript, /--test big\n/);

    const make = fallbackCandidate(
      new RepoScan(makeRepo({ Makefile: 'all:\n\tcc x.c\n\ncheck: all\n\t./run-checks\n' })),
    );
    assert.ok(make);
    assert.match(make.testScript, /item 'make check' make check\n/);
    assert.equal(fallbackCandidate(new RepoScan(makeRepo({ 'README.md': '' }))), null);
    for (const c of [go, rust, make]) assert.equal(bashSyntax(c.testScript), '');
  });
});

describe('escape hatches: --test-command, --test-format, --test-files', () => {
  let repo: string;
  before(() => {
    repo = formatsRepo();
  });

  test('tap: node --test output, ids without a prefix or absolute paths', async () => {
    const r = await discover(repo, {
      testCommand: 'node --test --test-reporter=tap test/',
      testFormat: 'tap',
    });
    assert.equal(r.suite.framework, 'custom');
    const ids = Object.keys(r.baseline.tests);
    assert.ok(ids.length >= 2, JSON.stringify(r.baseline.tests));
    for (const id of ids) assert.doesNotMatch(id, /^\/|npm test/);
    assert.ok(
      ids.some((id) => /adds$/.test(id) && r.baseline.tests[id] === 'passed'),
      ids.join(),
    );
    assert.ok(ids.some((id) => /is wrong$/.test(id) && r.baseline.tests[id] === 'failed'));
    // No --test-files: guessed from the file names, and the notes say how to name them.
    assert.deepEqual(r.suite.testFiles, ['test/unit.test.js', 'tests/test_calc.py']);
    assert.match(r.suite.notes.join('\n'), /guessed .*--test-files/);
  });

  test('junit:<glob>: reports the command wrote, not the stale one in the repository', async () => {
    const r = await discover(repo, {
      testCommand: 'bash write-report.sh',
      testFormat: 'junit:reports/*.xml',
      testFiles: ['test/*.js'],
    });
    assert.deepEqual(r.baseline.tests, {
      'com.example.CalcTest#adds': 'passed',
      'com.example.CalcTest#later': 'skipped',
      'com.example.CalcTest#subtracts': 'failed',
    });
    assert.deepEqual(r.suite.testFiles, ['test/unit.test.js']);
    assert.match(r.suite.notes.join('\n'), /oracle test files as given \(--test-files\)/);
  });

  test('pytest, go-json, cargo and exit-code each pick their parser', async () => {
    const [py, go, cargo, exit] = await Promise.all([
      discover(repo, { testCommand: 'python3 -m pytest -v -rA tests', testFormat: 'pytest' }),
      discover(repo, { testCommand: 'cat recorded/go.jsonl', testFormat: 'go-json' }),
      discover(repo, { testCommand: 'cat recorded/cargo.txt; exit 101', testFormat: 'cargo' }),
      discover(repo, {
        testCommand: 'node -e "process.exit(0)"',
        testFormat: 'exit-code',
        testFiles: ['test/unit.test.js'],
      }),
    ]);
    assert.deepEqual(py.baseline.tests, {
      'tests/test_calc.py::test_bad': 'failed',
      'tests/test_calc.py::test_ok': 'passed',
    });
    assert.deepEqual(py.suite.testFiles, ['tests/test_calc.py']);
    assert.deepEqual(go.baseline.tests, {
      'example.com/calc/TestAdd': 'passed',
      'example.com/calc/TestSub': 'failed',
    });
    assert.deepEqual(cargo.baseline.tests, {
      'src/lib.rs::tests::adds': 'passed',
      'src/lib.rs::tests::subtracts': 'failed',
    });
    assert.deepEqual(exit.baseline.tests, { 'node -e "process.exit(0)"': 'passed' });
  });

  test('bad inputs are one-line usage errors, before anything runs', async () => {
    await rejectsWith(
      discover(repo, { testCommand: 'make test', testFormat: 'xml' }),
      /^unknown --test-format "xml" \(use tap, junit\[:<report glob>\], pytest, go-json, cargo, exit-code\)$/,
    );
    await rejectsWith(discover(repo, { testFormat: 'tap' }), /--test-format needs --test-command/);
    await rejectsWith(
      discover(repo, { testCommand: 'make test' }),
      /--test-command needs --test-format/,
    );
    await rejectsWith(
      discover(repo, { testCommand: 'x', testFormat: 'junit:/tmp/*.xml' }),
      /must be relative to the repository/,
    );
    await rejectsWith(discover(repo, { testCommand: 'x', testFormat: 'tap:x' }), /takes no/);
    await rejectsWith(
      discover(repo, { testFiles: ['spec/**/*.js'] }),
      /^--test-files "spec\/\*\*\/\*\.js" matches no file in /,
    );
    assert.deepEqual(parseTestFormat('junit'), { name: 'junit', reports: '**/*.xml' });
    assert.deepEqual(resolveTestFiles(new RepoScan(repo), ['test', 'tests/*.py']), [
      'test/unit.test.js',
      'tests/test_calc.py',
    ]);
    assert.deepEqual(resolveTestFiles(new RepoScan(repo), ['tests/*.py#inline-tests']), [
      'tests/test_calc.py#inline-tests',
    ]);
  });

  test('a command that hangs, prints nothing, or prints no tests: what it did, in one line', async () => {
    const [hang, silent, chatty, noReport] = await Promise.allSettled([
      discover(repo, { testCommand: 'sleep 600', testFormat: 'tap', scriptTimeoutMs: 2000 }),
      discover(repo, { testCommand: 'true', testFormat: 'tap' }),
      discover(repo, { testCommand: 'echo building; echo all done', testFormat: 'pytest' }),
      discover(repo, { testCommand: 'echo no reports here', testFormat: 'junit:out/*.xml' }),
    ]);
    const message = (r: PromiseSettledResult<unknown>) => {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as Error;
      assert.ok(err instanceof UsageError, err.stack);
      assert.doesNotMatch(err.message, /\n/);
      return err.message;
    };
    assert.match(
      message(hang),
      /^the test command gave no usable test results in .*: --test-command "sleep 600": test_script\.sh did not finish within 2 s and was killed \(a hanging test\? raise the limit with --timeout\)$/,
    );
    assert.match(
      message(silent),
      /--test-command "true" exited 0: no test in tap format parsed; it printed nothing$/,
    );
    assert.match(
      message(chatty),
      /--test-command "echo building; echo all done" exited 0: no test in pytest format parsed; last output: "building \| all done"$/,
    );
    assert.match(message(noReport), /no JUnit XML report matching out\/\*\.xml was written/);
  });

  test('through the CLI: the user sees one line, exit status 2', async () => {
    const out = join(tempDir(), 'out');
    const [unknown, silent] = await Promise.all([
      runCli(['inject', repo, '--out', out, '--test-command', 'make', '--test-format', 'text']),
      runCli([
        'inject',
        repo,
        '--out',
        out,
        '--test-command',
        'echo hello',
        '--test-format',
        'tap',
      ]),
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^ssr: unknown --test-format "text" \(use tap, .*\)\n$/);
    assert.equal(silent.code, 2, silent.stderr);
    // Progress lines start with "…"; the error is one line of its own.
    const errors = silent.stderr.split('\n').filter((l) => l && !l.startsWith('…'));
    assert.equal(errors.length, 1, silent.stderr);
    assert.match(
      errors[0]!,
      /^ssr: the test command gave no usable test results in .*: --test-command "echo hello" exited 0: no test in tap format parsed; last output: "hello"$/,
    );
    assert.doesNotMatch(silent.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });
});

describe('flaky share', () => {
  test('over the limit: the candidate fails with example ids and advice; the next one is tried', async () => {
    // 20 coin flips and one stable test: about half the tests flip over 2 runs.
    const repo = await flakyProject();
    const r = await discover(repo);
    const pytest = r.attempts[0]!;
    assert.equal(pytest.framework, 'pytest');
    assert.equal(pytest.outcome, 'failed');
    assert.match(
      pytest.detail,
      /^python3 -m pytest: \d+ of 21 tests \(\d+(\.\d)?%\) changed outcome between 2 clean runs, over the 5% limit \(e\.g\. "tests\/test_coin\.py::test_coin\[\d+\]"/,
    );
    assert.match(pytest.detail, /unstable or the suite is nondeterministic; .*--test-command/);
    // The per-file fallback runs next: the coin file fails as a whole (all 20 pass: 2^-20).
    assert.equal(r.suite.framework, 'fallback');
    assert.equal(r.baseline.tests['tests/test_stable.py'], 'passed');

    // The limit is a setting.
    const lenient = await discover(repo, { maxFlakyShare: 1, frameworks: ['pytest'] });
    assert.equal(lenient.suite.framework, 'pytest');
    assert.ok(lenient.baseline.flaky.length > 1);
  });

  test('unstable ids from a test command: the error says to print stable ones', async () => {
    const repo = makeRepo(
      {
        'run.sh':
          'echo "# stable"\necho "ok 1 - s"\nfor i in 1 2 3; do echo "# case $RANDOM$RANDOM"; echo "ok 1 - x"; done\n',
      },
      { git: true },
    );
    await rejectsWith(
      discover(repo, { testCommand: 'bash run.sh', testFormat: 'tap' }),
      /--test-command "bash run\.sh": 6 of 7 tests \(85\.7%\) changed outcome between 2 clean runs, over the 5% limit \(e\.g\. "case \d+", .*make the command print stable ids/,
    );
  });
});

describe('Python layouts', () => {
  test('src layout without an install: src/ goes on PYTHONPATH, and the notes say so', async () => {
    const repo = makeRepo(
      {
        'pyproject.toml':
          '[project]\nname = "calc"\nversion = "0.1.0"\n\n[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        'tox.ini': '[tox]\nenvlist = py3\n\n[testenv]\ndeps = pytest\ncommands = pytest\n',
        'src/calc/__init__.py': 'def add(a, b):\n    return a + b\n',
        'tests/test_calc.py':
          'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_bad():\n    assert add(1, 2) == 4\n',
      },
      { git: true },
    );
    // Without the path, the import fails (nothing is installed).
    const snapshot = host.snapshotDir(repo);
    const sb = host.create(snapshot);
    try {
      const plain = await sb.exec('python3 -m pytest -p no:cacheprovider -q 2>&1', {
        timeoutMs: 60_000,
      });
      assert.match(plain.stdout, /No module named 'calc'/);
    } finally {
      await sb.dispose();
    }
    const r = await discoverTests(host, snapshot);
    assert.equal(r.suite.framework, 'pytest');
    assert.deepEqual(r.baseline.tests, {
      'tests/test_calc.py::test_add': 'passed',
      'tests/test_calc.py::test_bad': 'failed',
    });
    assert.match(r.suite.testScript, /export PYTHONPATH="\$PWD\/src/);
    assert.match(
      r.suite.notes.join('\n'),
      /src layout \(src\/calc\): the project expects an install \(tox\.ini \[testenv\] installs it\); the script sets PYTHONPATH=src/,
    );
  });

  test('doctests switched on in the config: their ids are parsed, the files named in notes', async () => {
    const repo = makeRepo(
      {
        'setup.cfg':
          '[tool:pytest]\naddopts =\n    --doctest-modules\n    -p no:randomly\ntestpaths =\n    src\n    tests\n',
        'src/calc/__init__.py':
          'def add(a, b):\n    """\n    >>> add(1, 2)\n    3\n    >>> add(2, 2)\n    5\n    """\n    return a + b\n\n\ndef mul(a, b):\n    """\n    >>> mul(2, 3)\n    6\n    """\n    return a * b\n',
        'src/calc/plain.py': 'X = 1\n',
        'tests/test_calc.py':
          'from calc import add\n\n\ndef test_add():\n    assert add(1, 1) == 2\n',
      },
      { git: true },
    );
    const r = await discover(repo);
    assert.equal(r.suite.framework, 'pytest');
    assert.deepEqual(r.baseline.tests, {
      'src/calc/__init__.py::calc.add': 'failed',
      'src/calc/__init__.py::calc.mul': 'passed',
      'tests/test_calc.py::test_add': 'passed',
    });
    // The modules hold the code under test: only their docstring examples are oracle.
    assert.deepEqual(r.suite.testFiles, [
      'src/calc/__init__.py#inline-tests',
      'tests/test_calc.py',
    ]);
    assert.match(
      r.suite.notes.join('\n'),
      /doctests on \(--doctest-modules in setup\.cfg\): 1 file\(s\) with examples: src\/calc\/__init__\.py;/,
    );
  });

  test('static: the config in effect gives python_files, testpaths, pythonpath, addopts', () => {
    const scan = (files: Record<string, string>) => pytestConfig(new RepoScan(makeRepo(files)));
    assert.deepEqual(
      scan({
        'pyproject.toml':
          '[tool.pytest.ini_options]\naddopts = "--doctest-modules -ra"\npythonpath = ["src"]\ntestpaths = [\n    "tests",\n    "./integration/",\n]\npython_files = ["check_*.py"]\n',
      }),
      {
        file: 'pyproject.toml',
        testpaths: ['tests', 'integration'],
        pythonFiles: ['check_*.py'],
        pythonpath: ['src'],
        addopts: ['--doctest-modules', '-ra'],
      },
    );
    const ini = scan({
      'tox.ini': '[tox]\nenvlist = py3\n\n[pytest]\npython_files = tests.py test_*.py\n# comment\n',
      'setup.cfg': '[tool:pytest]\ntestpaths = ignored\n',
    });
    assert.equal(ini?.file, 'tox.ini');
    assert.deepEqual(ini?.pythonFiles, ['tests.py', 'test_*.py']);
  });

  test('unittest TestCase modules not named test_*.py are run and are oracle files', async () => {
    const repo = makeRepo(
      {
        'pkg/__init__.py': 'def add(a, b):\n    return a + b\n',
        'tests/__init__.py': '',
        'tests/foo.py':
          'import unittest\n\nfrom pkg import add\n\n\nclass FooTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n\n    def test_wrong(self):\n        self.assertEqual(add(1, 2), 4)\n',
        'tests/tests.py':
          'import unittest\n\nfrom pkg import add\n\n\nclass MoreTest(unittest.TestCase):\n    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n',
        'tests/util.py': 'def helper():\n    return 1\n',
      },
      { git: true },
    );
    const r = await discover(repo);
    assert.equal(r.suite.framework, 'unittest', JSON.stringify(r.attempts));
    assert.deepEqual(r.baseline.tests, {
      'tests.foo.FooTest.test_add': 'passed',
      'tests.foo.FooTest.test_wrong': 'failed',
      'tests.tests.MoreTest.test_zero': 'passed',
    });
    assert.deepEqual(r.suite.testFiles, ['tests/foo.py', 'tests/tests.py']);
  });
});

describe('Python: suites built by load_tests', () => {
  const suiteModule = `import unittest


class DateTest(unittest.TestCase):
    def check(self, text):
        self.assertTrue(text)


def create_case(text):
    class Case(DateTest):
        def test_parse(self):
            self.check(text)
    return Case


def test_suite():
    suite = unittest.TestSuite()
    for text in ["2024", "2025"]:
        suite.addTest(unittest.TestLoader().loadTestsFromTestCase(create_case(text)))
    return suite


def load_tests(loader, tests, pattern):
    return test_suite()
`;

  test('unittest is proposed before pytest, which would not run them', () => {
    const scan = new RepoScan(
      makeRepo({
        'pkg/__init__.py': '',
        'pkg/tests/__init__.py': '',
        'pkg/tests/test_dates.py': suiteModule,
      }),
    );
    const c = pythonCandidates(scan);
    assert.deepEqual(
      c.map((x) => x.framework),
      ['unittest', 'pytest'],
    );
    assert.match(c[0]!.notes[0]!, /load_tests\(\)\/test_suite\(\)/);
  });

  test('a pytest configuration keeps pytest first', () => {
    const scan = new RepoScan(
      makeRepo({ 'pytest.ini': '[pytest]\n', 'pkg/tests/test_dates.py': suiteModule }),
    );
    assert.deepEqual(
      pythonCandidates(scan).map((x) => x.framework),
      ['pytest', 'unittest'],
    );
  });
  /** "Ran N tests" of a unittest command run in `repo` (outside the sandbox). */
  function unittestRan(repo: string, args: string[]): { ran: number; log: string } {
    const r = spawnSync('python3', ['-m', 'unittest', ...args], {
      cwd: repo,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
    });
    const log = `${r.stdout}${r.stderr}`;
    const ran = /^Ran (\d+) tests?/m.exec(log);
    assert.ok(ran, log);
    return { ran: Number(ran[1]), log };
  }

  // Cases made in a function print the same name: "test_parse (pkg.tests.test_dates.
  // create_case.<locals>.Case.test_parse)", once per case.
  const generated = suiteModule
    .replace('["2024", "2025"]', '["2024", "", "2025", "2026"]')
    .replace(
      'self.check(text)',
      'self.check(text)\n\n        def test_len(self):\n            self.assertLess(len(text), 5)',
    );

  test('a package holding its tests (no tests at the root): every generated case counts', async () => {
    const repo = makeRepo(
      {
        'pkg/__init__.py': 'def parse(text):\n    return text\n',
        'pkg/tests/__init__.py': '',
        'pkg/tests/test_dates.py': generated,
        'pkg/tests/test_plain.py':
          'import unittest\n\n\nclass PlainTest(unittest.TestCase):\n    def test_one(self):\n        self.assertEqual(1, 1)\n',
      },
      { git: true },
    );
    const r = await discover(repo);
    assert.equal(r.suite.framework, 'unittest', JSON.stringify(r.attempts));
    const own = unittestRan(repo, ['discover', '-s', 'pkg/tests', '-t', '.']);
    assert.equal(own.ran, 9);
    assert.equal(Object.keys(r.baseline.tests).length, own.ran, JSON.stringify(r.baseline.tests));
    const parse = 'pkg.tests.test_dates.create_case.<locals>.Case.test_parse';
    assert.equal(r.baseline.tests[parse], 'passed');
    assert.equal(r.baseline.tests[`${parse} (2)`], 'failed');
    assert.equal(r.baseline.tests[`${parse} (4)`], 'passed');
    assert.equal(r.baseline.tests['pkg.tests.test_plain.PlainTest.test_one'], 'passed');
    assert.deepEqual(r.suite.testFiles, ['pkg/tests/test_dates.py', 'pkg/tests/test_plain.py']);
    // The failing case's traceback still names the oracle file's assertion.
    const line = generated.split('\n').indexOf('        self.assertTrue(text)') + 1;
    assert.deepEqual(
      failureLocations(own.log, r.suite.testFiles, repo).filter((l) => l.line === line),
      [{ file: 'pkg/tests/test_dates.py', line }],
    );
  });

  test('test modules outside the root packages: one run per directory they import from', async () => {
    const plain = (cls: string, imp: string) =>
      `import unittest\n${imp}\n\nclass ${cls}(unittest.TestCase):\n    def test_a(self):\n        self.assertTrue(True)\n\n    def test_b(self):\n        self.assertTrue(True)\n`;
    const repo = makeRepo(
      {
        // A src layout: src/ is no package, so discovery from the root never walks into it.
        'src/pkg/__init__.py': 'VALUE = 1\n',
        'src/pkg/tests/__init__.py': '',
        'src/pkg/tests/test_dates.py': generated.replace(
          'import unittest',
          'import unittest\nimport pkg',
        ),
        // Test directories without __init__.py.
        'tools/tests/test_tool.py': plain('ToolTest', ''),
        'tools/tests/unit/__init__.py': '',
        'tools/tests/unit/test_unit.py': plain('UnitTest', ''),
      },
      { git: true },
    );
    const c = pythonCandidates(new RepoScan(repo)).find((x) => x.framework === 'unittest')!;
    assert.equal(
      c.command,
      'python3 -m unittest discover -s src; python3 -m unittest discover -s tools/tests',
    );
    const r = await discover(repo);
    assert.equal(r.suite.framework, 'unittest', JSON.stringify(r.attempts));
    const own =
      unittestRan(repo, ['discover', '-s', 'src']).ran +
      unittestRan(repo, ['discover', '-s', 'tools/tests']).ran;
    assert.equal(own, 12);
    assert.equal(Object.keys(r.baseline.tests).length, own, JSON.stringify(r.baseline.tests));
    assert.equal(r.baseline.tests['unit.test_unit.UnitTest.test_a'], 'passed');
    assert.equal(r.baseline.tests['test_tool.ToolTest.test_b'], 'passed');
    assert.deepEqual(r.suite.testFiles, [
      'src/pkg/tests/test_dates.py',
      'tools/tests/test_tool.py',
      'tools/tests/unit/test_unit.py',
    ]);
  });

  test("the project's own unittest command wins over the guess", () => {
    const files = {
      'pkg/__init__.py': '',
      'pkg/tests/__init__.py':
        'from pkg.tests import test_dates\n\n\ndef test_suite():\n    return test_dates.test_suite()\n',
      'pkg/tests/test_dates.py': suiteModule,
      'test_slow.py': 'import unittest\n',
    };
    const command = (extra: Record<string, string>) => {
      const cs = pythonCandidates(new RepoScan(makeRepo({ ...files, ...extra })));
      const c = cs.find((x) => x.framework === 'unittest')!;
      return {
        order: cs.map((x) => x.framework),
        command: c.command,
        script: c.testScript,
        notes: c.notes,
      };
    };
    const tox = command({
      'tox.ini':
        '[tox]\nenvlist = py3\n\n[testenv]\ncommands =\n    {envpython} -m unittest discover -v \\\n        --start-directory pkg/tests -t . {posargs}\n',
    });
    assert.equal(tox.command, 'python3 -m unittest discover -s pkg/tests -t .');
    assert.match(tox.script, /^python3 -m unittest discover -v -b -s pkg\/tests -t \. 2>&1$/m);
    assert.match(
      tox.notes.join('\n'),
      /as the project runs it \(tox\.ini commands: .*\n?.*test_slow\.py/,
    );
    const make = command({
      Makefile:
        'test:\n\tcd docs && python -m unittest discover\n\t$(PYTHON) -m unittest -v pkg.tests.test_dates\n',
    });
    assert.equal(make.command, 'python3 -m unittest pkg.tests.test_dates');
    // setup.py's test_suite: a function returning the suite runs by its name.
    const setup = command({ 'setup.py': "setup(name='pkg', test_suite='pkg.tests.test_suite')\n" });
    assert.equal(setup.command, 'python3 -m unittest pkg.tests.test_suite');
    assert.deepEqual(setup.order, ['unittest', 'pytest']);
    // A command that names nothing here is no guide.
    const stale = command({
      'tox.ini': '[testenv]\ncommands = python -m unittest discover -s gone\n',
    });
    assert.equal(stale.command, 'python3 -m unittest discover');
  });

  test('unittest output: repeated names numbered in run order, subtests, the report', () => {
    const name = 'pkg.t.make.<locals>.Case.test_v';
    const log = [
      `test_v (${name}) ... ok`,
      `test_v (${name})`,
      'Doc line. ... FAIL',
      `test_v (${name}) ... ok`,
      'test_sub (pkg.t.T.test_sub) ... ',
      '  test_sub (pkg.t.T.test_sub) (i=1) ... FAIL',
      '  test_sub (pkg.t.T.test_sub) (i=2) ... FAIL',
      'test_old (pkg.t.T) ... ok',
      `test_w (pkg.t.make.<locals>.Case) ... ok`,
      `test_w (pkg.t.make.<locals>.Case) ... ok`,
      '',
      '======================================================================',
      `FAIL: test_v (${name})`,
      'FAIL: test_sub (pkg.t.T.test_sub) (i=1)',
      'FAIL: test_sub (pkg.t.T.test_sub) (i=2)',
      // Before 3.11 a subtest fails in the report only; of two runs of a name, one failed.
      'FAIL: test_old (pkg.t.T) (i=3)',
      'FAIL: test_w (pkg.t.make.<locals>.Case) (i=3)',
    ].join('\n');
    const dir = makeRepo({ 'parser.py': UNITTEST_PARSER });
    const out = execFileSync('python3', ['-I', join(dir, 'parser.py')], { input: log, cwd: dir });
    assert.deepEqual(JSON.parse(out.toString()), {
      [name]: 'passed',
      [`${name} (2)`]: 'failed',
      [`${name} (3)`]: 'passed',
      'pkg.t.T.test_sub': 'failed',
      'pkg.t.T.test_old': 'failed',
      'pkg.t.make.<locals>.Case.test_w': 'failed',
      'pkg.t.make.<locals>.Case.test_w (2)': 'passed',
    });
  });
});

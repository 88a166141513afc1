/**
 * Test discovery for C (CMake + CTest, make check with a plain Makefile or automake) and Gradle,
 * on small repositories written here (test/helpers/discovery-projects.ts): a library with tests
 * that use plain assert(), a Unity-style and a cmocka-style case printer written in C here, TAP,
 * and automake's harness. Everything builds and runs for real in the sandbox; the parsers are
 * also checked on recorded output of the real cmocka, Check, GoogleTest and an older ctest.
 * Gradle cannot run here (not installed, no network): its script and parser are checked on
 * recorded reports, and discovery on a Gradle project says why it did not run.
 *
 * A real Debian source package (cJSON, CMake + Unity) is tried when SSR_TEST_CJSON names its
 * unpacked source directory (about 90 s on 2 cores; off by default): see the README.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DiscoveryOptions, discoverTests } from '../src/discovery/discover.js';
import { proposeCandidates, toolAvailable } from '../src/discovery/frameworks.js';
import { gradleScript } from '../src/discovery/native-frameworks.js';
import { SUREFIRE_PARSER } from '../src/discovery/parsers.js';
import { CTEST_PARSER, MAKE_PARSER } from '../src/discovery/parsers-native.js';
import { RepoScan } from '../src/discovery/scan.js';
import { failureLocations } from '../src/inject/failure-locations.js';
import { SandboxHost } from '../src/sandbox/local.js';
import type { TestMap } from '../src/testing/results.js';
import { runTests, stageHarness } from '../src/testing/run-tests.js';
import { UsageError } from '../src/util/errors.js';
import {
  automakeProject,
  C_CALC_C,
  C_CALC_H,
  C_CASES_FAILING_LINE,
  cmakeCProject,
  makeCheckProject,
} from './helpers/discovery-projects.js';
import { makeRepo, removeTempDirs } from './helpers/sandbox-repo.js';

const hasCmake = toolAvailable('cmake') && toolAvailable('ctest');
const hasMake = toolAvailable('make') && toolAvailable('cc');
const hasAutoreconf = toolAvailable('autoreconf') && toolAvailable('automake');
const noCmake = !hasCmake && 'cmake is not installed (scripts/install-system-deps.sh)';
const noMake = !hasMake && 'make or cc is not installed (scripts/install-system-deps.sh)';

function countsOf(map: TestMap) {
  const v = Object.values(map);
  return {
    passed: v.filter((s) => s === 'passed').length,
    failed: v.filter((s) => s === 'failed').length,
    skipped: v.filter((s) => s === 'skipped').length,
  };
}

let host: SandboxHost;

before(() => {
  host = SandboxHost.open();
});

after(async () => {
  await host?.close();
  removeTempDirs();
});

/** Discovers the suite of `repo`, checks the framework chosen and that no test is flaky. */
async function discover(repo: string, framework: string) {
  const snapshot = host.snapshotDir(repo);
  const result = await discoverTests(host, snapshot);
  assert.equal(
    result.suite.framework,
    framework,
    `chose ${result.suite.framework}: ${JSON.stringify(result.attempts)}`,
  );
  assert.equal(result.attempts.at(-1)?.outcome, 'chosen');
  assert.deepEqual(result.baseline.flaky, [], 'ids and outcomes are the same over 2 runs');
  return { ...result, snapshot };
}

/** Why discovery found no suite (the UsageError's message). */
async function noSuite(repo: string, opts: DiscoveryOptions = {}): Promise<string> {
  let message = '';
  await assert.rejects(discoverTests(host, host.snapshotDir(repo), opts), (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err));
    message = err.message;
    return true;
  });
  return message;
}

const CMAKE_IDS: TestMap = {
  calc_assert: 'passed',
  'calc_cases > test_add': 'passed',
  'calc_cases > test_clamp': 'passed',
  'calc_cases > test_later': 'skipped',
  'calc_cases > test_mul': 'passed',
  'calc_cases > test_wrong_on_purpose': 'failed',
  calc_feature: 'skipped',
  'calc_xunit > adds': 'passed',
  'calc_xunit > clamps': 'passed',
  'calc_xunit > needs_wide_ints': 'skipped',
};

describe('C and C++', () => {
  test('CMake + CTest: CTest names, "<test> > <case>" for printed cases; a bug fails its cases', {
    skip: noCmake,
  }, async () => {
    const r = await discover(await cmakeCProject(), 'cmake');
    assert.deepEqual(r.baseline.tests, CMAKE_IDS);
    assert.deepEqual(countsOf(r.baseline.tests), { passed: 6, failed: 1, skipped: 3 });
    assert.deepEqual(r.suite.testFiles, [
      'tests/mini_unity.h',
      'tests/mini_xunit.h',
      'tests/test_cases.c',
      'tests/test_plain.c',
      'tests/test_xunit.c',
    ]);
    // A bug in the library: the cases and the assert test that use calc_mul fail, and the
    // log names the failing assertions' lines in the test files.
    const harness = stageHarness(r.suite.testScript, r.suite.testParser);
    const sb = host.create(r.snapshot);
    try {
      await sb.writeFile('src/calc.c', C_CALC_C.replace('return a * b;', 'return a + b;'));
      const out = await runTests(sb, harness, { keepLogBytes: 1 << 20 });
      assert.ok(out.ok, out.ok ? '' : out.message);
      assert.deepEqual(
        Object.keys(out.tests).filter((id) => out.tests[id] !== r.baseline.tests[id]),
        ['calc_assert', 'calc_cases > test_mul'],
      );
      const locations = failureLocations(out.log ?? '', r.suite.testFiles);
      const at = (file: string) => locations.filter((l) => l.file === file).map((l) => l.line);
      // The failing assertions (Unity-style PASS lines name their test's line too).
      for (const line of [9, C_CASES_FAILING_LINE])
        assert.ok(at('tests/test_cases.c').includes(line));
      assert.deepEqual(at('tests/test_plain.c'), [6]);
    } finally {
      await sb.dispose();
      harness.cleanup();
    }
  });

  test('make check (plain Makefile): the TAP cases of the check target', {
    skip: noMake,
  }, async () => {
    const r = await discover(await makeCheckProject(), 'make');
    assert.deepEqual(r.baseline.tests, {
      'make check > adds': 'passed',
      'make check > clamps above': 'passed',
      'make check > multiplies': 'passed',
      'make check > wide ints': 'skipped',
      'make check > wrong on purpose': 'failed',
    });
    assert.deepEqual(r.suite.testFiles, ['tests/test_tap.c']);
  });

  test("make check (automake's harness): tests by path from their .trs, cases from their .log", {
    skip: noMake || (!hasAutoreconf && 'autoreconf is not installed (apt-get install automake)'),
  }, async () => {
    const r = await discover(await automakeProject(), 'make');
    assert.deepEqual(r.baseline.tests, {
      'tests/skip.sh': 'skipped',
      'tests/test_calc > test_add': 'passed',
      'tests/test_calc > test_clamp': 'passed',
      'tests/test_calc > test_later': 'skipped',
      'tests/test_calc > test_mul': 'passed',
      'tests/test_calc > test_wrong_on_purpose': 'failed',
      'tests/test_more': 'passed',
      // XFAIL_TESTS: an expected failure is not a passing test.
      'tests/xfail.sh': 'skipped',
    });
    // The programs' own sources and the test scripts; src/calc.c (compiled into the test
    // programs) is code under test.
    assert.deepEqual(r.suite.testFiles, [
      'tests/mini_unity.h',
      'tests/skip.sh',
      'tests/test_calc.c',
      'tests/test_more.c',
      'tests/xfail.sh',
    ]);
  });

  test('make test with plain assert(): the target is the one id', { skip: noMake }, async () => {
    const repo = makeRepo({
      Makefile: 'test: t\n\t./t\n\nt: t.c calc.c\n\t$(CC) -o t t.c calc.c\n',
      'calc.h': C_CALC_H,
      'calc.c': C_CALC_C,
      't.c':
        '#include <assert.h>\n#include "calc.h"\nint main(void) { assert(calc_add(1, 2) == 3); return 0; }\n',
    });
    const r = await discover(repo, 'make');
    assert.deepEqual(r.baseline.tests, { 'make test': 'passed' });
    assert.deepEqual(r.suite.testFiles, []);
    assert.ok(r.suite.notes.includes('no test files identified: write test_files.txt by hand'));
  });
});

describe('C: golden files', () => {
  test('expected-output files the tests compare with are oracle files (CMake and make)', () => {
    const files = {
      'src/calc.c': C_CALC_C,
      'src/calc.h': C_CALC_H,
      'tests/test_add.c': '#include "calc.h"\nint main(void) { return calc_add(1, 2) != 3; }\n',
      // In a test folder: json-c's tests/<name>.expected, and other golden extensions.
      'tests/test_add.expected': '3\n',
      'tests/data/wide.golden': 'x\n',
      'tests/fmt.ref': 'y\n',
      'tests/run.out': 'z\n',
      // Beside a test of the same name, outside a test folder.
      'examples/demo_test.c': '#include "calc.h"\nint main(void) { return 0; }\n',
      'examples/demo_test.expected': 'ok\n',
      // Not golden: output files of no test, a vendored test folder, other extensions.
      'examples/other.expected': 'no\n',
      'docs/sample.out': 'no\n',
      'third_party/lib/tests/t.expected': 'no\n',
      'tests/input.json': '{}\n',
    };
    const cmake = makeRepo({
      ...files,
      'CMakeLists.txt':
        'cmake_minimum_required(VERSION 3.13)\nproject(calc C)\nenable_testing()\nadd_library(calc src/calc.c)\nadd_executable(test_add tests/test_add.c)\nadd_test(NAME add COMMAND test_add)\n',
    });
    const make = makeRepo({ ...files, Makefile: 'check:\n\t./tests/run.sh\n' });
    const want = [
      'examples/demo_test.c',
      'examples/demo_test.expected',
      'tests/data/wide.golden',
      'tests/fmt.ref',
      'tests/run.out',
      'tests/test_add.c',
      'tests/test_add.expected',
    ];
    for (const [repo, framework] of [
      [cmake, 'cmake'],
      [make, 'make'],
    ] as const) {
      const c = proposeCandidates(new RepoScan(repo)).find((x) => x.framework === framework);
      assert.deepEqual(c?.testFiles, want, framework);
    }
  });
});

describe('C: discovery failures say why', () => {
  const cmakeLists = `cmake_minimum_required(VERSION 3.13)
project(calc C)
enable_testing()
add_library(calc src/calc.c)
target_include_directories(calc PUBLIC src)
add_executable(test_calc tests/test_calc.c)
target_link_libraries(test_calc calc)
add_test(NAME calc COMMAND test_calc)
`;
  const testCalc =
    '#include <assert.h>\n#include "calc.h"\nint main(void) { assert(calc_add(1, 2) == 3); return 0; }\n';

  test('a build error: the compiler error line', { skip: noCmake }, async () => {
    const message = await noSuite(
      makeRepo({
        'CMakeLists.txt': cmakeLists,
        'src/calc.h': C_CALC_H,
        'src/calc.c': C_CALC_C.replace('return a + b;', 'return a + b'),
        'tests/test_calc.c': testCalc,
      }),
    );
    assert.match(
      message,
      /tried cmake \(CMakeLists\.txt calls enable_testing\(\)\): cmake .* exited 2: 0 tests parsed; last output: "ssr: the build failed \(cmake --build exited 2\); first error: \| \/repo\/src\/calc\.c:3:\d+: error: expected .;. before .}. token"/,
    );
  });

  test('a test that hangs: the script timeout', { skip: noMake }, async () => {
    const repo = makeRepo({
      Makefile: 'check: t\n\t./t\n\nt: t.c\n\t$(CC) -o t t.c\n',
      't.c': '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n',
    });
    const message = await noSuite(repo, { scriptTimeoutMs: 8_000, frameworks: ['make'] });
    assert.match(
      message,
      /tried make \(Makefile has a check target\): make -k check: test_script\.sh did not finish within 8 s and was killed/,
    );
  });

  test('a CMake project without tests: not run, and why', () => {
    const repo = makeRepo({
      'CMakeLists.txt':
        'cmake_minimum_required(VERSION 3.13)\nproject(calc C)\nadd_library(calc calc.c)\n',
      'calc.c': C_CALC_C.replace('#include "calc.h"\n', ''),
    });
    const [c] = proposeCandidates(new RepoScan(repo));
    assert.equal(c?.framework, 'cmake');
    assert.equal(
      c?.notApplicable,
      'the CMake project defines no tests (no enable_testing(), include(CTest) or add_test() in its CMake files)',
    );
  });

  test('enable_testing() but no add_test(): ctest found no tests', { skip: noCmake }, async () => {
    const message = await noSuite(
      makeRepo({
        'CMakeLists.txt':
          'cmake_minimum_required(VERSION 3.13)\nproject(calc C)\nenable_testing()\nadd_library(calc calc.c)\n',
        'calc.c': 'int calc_one(void) { return 1; }\n',
      }),
    );
    assert.match(
      message,
      /cmake .* exited 0: 0 tests parsed; last output: "ssr: error: ctest found no tests \(add_test\(\) was never reached/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Parsers on recorded output

/** Runs a parser on a recorded log with the host's python3 (isolated mode, as runTests does). */
function parse(parser: string, log: string): TestMap {
  const dir = makeRepo({ 'parser.py': parser });
  const out = execFileSync('python3', ['-I', join(dir, 'parser.py')], { input: log, cwd: dir });
  return JSON.parse(out.toString()) as TestMap;
}

/** A ctest -V log (no JUnit report: ctest before 3.21) of programs with the given output. */
function ctestLog(tests: [name: string, result: string, output: string][]): string {
  const lines = ['### ssr-root 5eed /repo', 'Test project /tmp/build'];
  tests.forEach(([name, result, output], i) => {
    const n = i + 1;
    lines.push(
      `test ${n}`,
      `    Start ${n}: ${name}`,
      '',
      `${n}: Test command: /tmp/build/${name}`,
    );
    for (const l of output.split('\n')) lines.push(`${n}: ${l}`);
    const dots = '.'.repeat(Math.max(3, 30 - name.length));
    lines.push(`${n}/${tests.length} Test #${n}: ${name} ${dots}${result}   0.01 sec`);
  });
  lines.push('### ssr-exit 5eed 8');
  return `${lines.join('\n')}\n`;
}

// Recorded with cmocka 1.1.5, Check 0.15.2 and GoogleTest 1.12.1 (Debian bookworm).
const CMOCKA_OUT = `[==========] Running 3 test(s).
[ RUN      ] adds
[       OK ] adds
[ RUN      ] wrong
[  ERROR   ] --- 0x4 != 0x5
[   LINE   ] --- cm.c:7: error: Failure!
[  FAILED  ] wrong
[ RUN      ] skipped
[  SKIPPED ] skipped
[==========] 3 test(s) run.
[  PASSED  ] 1 test(s).
[  SKIPPED ] 1 test(s), listed below:
[  SKIPPED ] skipped

 1 SKIPPED TEST(S)
[  FAILED  ] 1 test(s), listed below:
[  FAILED  ] wrong

 1 FAILED TEST(S)`;
const CHECK_VERBOSE_OUT = `Running suite(s): Calc
60%: Checks: 5, Failures: 2, Errors: 0
ck.c:3:P:Core:test_adds:0: Passed
ck.c:4:F:Core:test_wrong:0: Assertion '2 + 2 == 5' failed: 2 + 2 == 4, 5 == 5
ck.c:5:P:Core:test_loop:1: Passed
ck.c:5:P:Core:test_loop:2: Passed
ck.c:5:F:Core:test_loop:3: Assertion '_i < 3' failed: _i == 3, 3 == 3`;
const CHECK_NORMAL_OUT = `Running suite(s): Calc
60%: Checks: 5, Failures: 2, Errors: 0
ck.c:4:F:Core:test_wrong:0: Assertion '2 + 2 == 5' failed: 2 + 2 == 4, 5 == 5
ck.c:5:F:Core:test_loop:3: Assertion '_i < 3' failed: _i == 3, 3 == 3`;
const GTEST_OUT = `Running main() from ./googletest/src/gtest_main.cc
[==========] Running 5 tests from 2 test suites.
[----------] 3 tests from Calc
[ RUN      ] Calc.Adds
[       OK ] Calc.Adds (0 ms)
[ RUN      ] Calc.Wrong
gt.cpp:3: Failure
Expected equality of these values:
  2 + 2
    Which is: 4
  5
[  FAILED  ] Calc.Wrong (0 ms)
[ RUN      ] Calc.Skips
gt.cpp:4: Skipped
later
[  SKIPPED ] Calc.Skips (0 ms)
[----------] 2 tests from Nums/P
[ RUN      ] Nums/P.Small/0
[       OK ] Nums/P.Small/0 (0 ms)
[ RUN      ] Nums/P.Small/1
gt.cpp:6: Failure
Expected: (GetParam()) < (3), actual: 5 vs 3
[  FAILED  ] Nums/P.Small/1, where GetParam() = 5 (0 ms)
[==========] 5 tests from 2 test suites ran. (0 ms total)
[  PASSED  ] 2 tests.
[  SKIPPED ] 1 test, listed below:
[  SKIPPED ] Calc.Skips
[  FAILED  ] 2 tests, listed below:
[  FAILED  ] Calc.Wrong
[  FAILED  ] Nums/P.Small/1, where GetParam() = 5

 2 FAILED TESTS`;

describe('C parsers on recorded output', () => {
  test('ctest -V without a JUnit report: cmocka, Check, GoogleTest cases; crashes; skips', () => {
    const tests = parse(
      CTEST_PARSER,
      ctestLog([
        ['cmocka', '***Failed', CMOCKA_OUT],
        ['check_verbose', '***Failed', CHECK_VERBOSE_OUT],
        ['check_normal', '***Failed', CHECK_NORMAL_OUT],
        ['gtest', '***Failed', GTEST_OUT],
        // gtest_discover_tests: one case per CTest test, named like it.
        ['Calc.Adds', '   Passed', '[ RUN      ] Calc.Adds\n[       OK ] Calc.Adds (0 ms)'],
        ['crash_after_cases', '***Exception: SegFault', 'x.c:3:test_one:PASS'],
        ['a test with spaces', '   Passed', 'hello'],
        ['skipper', '***Skipped', 'skipping'],
        ['disabled', '***Not Run (Disabled)', ''],
        ['not_built', '***Not Run', ''],
        ['slow', '***Timeout', ''],
      ]),
    );
    assert.deepEqual(tests, {
      'cmocka > adds': 'passed',
      'cmocka > skipped': 'skipped',
      'cmocka > wrong': 'failed',
      'check_verbose > Core > test_adds': 'passed',
      'check_verbose > Core > test_loop[1]': 'passed',
      'check_verbose > Core > test_loop[2]': 'passed',
      'check_verbose > Core > test_loop[3]': 'failed',
      'check_verbose > Core > test_wrong': 'failed',
      // Only failures printed: the passing cases are unknown, so the program is the test.
      check_normal: 'failed',
      'gtest > Calc.Adds': 'passed',
      'gtest > Calc.Skips': 'skipped',
      'gtest > Calc.Wrong': 'failed',
      'gtest > Nums/P.Small/0': 'passed',
      'gtest > Nums/P.Small/1': 'failed',
      'Calc.Adds': 'passed',
      'crash_after_cases > test_one': 'passed',
      'crash_after_cases > (whole test)': 'failed',
      'a test with spaces': 'passed',
      skipper: 'skipped',
      disabled: 'skipped',
      not_built: 'failed',
      slow: 'failed',
    });
  });

  test('ctest: the JUnit report decides; a build failure reports no tests', () => {
    const log = ctestLog([
      ['a', '   Passed', ''],
      ['b', '***Not Run', ''],
    ]).replace(
      '### ssr-exit',
      `### ssr-report-begin 5eed ctest.xml
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="3" failures="1" disabled="0" skipped="1">
  <testcase name="a" classname="a" time="0.01" status="fail"><failure message=""/></testcase>
  <testcase name="b" classname="b" time="0" status="notrun"><skipped message="SKIP_REGULAR_EXPRESSION_MATCHED"/></testcase>
  <testcase name="c" classname="c" time="0" status="notrun"><skipped message="Unable to find executable"/></testcase>
</testsuite>
### ssr-report-end 5eed
### ssr-exit`,
    );
    assert.deepEqual(parse(CTEST_PARSER, log), { a: 'failed', b: 'skipped', c: 'failed' });
    const broken = '### ssr-root 5eed /repo\nssr: the build failed\n### ssr-build-failed 5eed\n';
    assert.deepEqual(parse(CTEST_PARSER, `${broken}${ctestLog([['a', '   Passed', '']])}`), {});
    // Only this run's nonce counts: a test cannot fake a build failure.
    assert.deepEqual(
      parse(CTEST_PARSER, ctestLog([['a', '   Passed', '### ssr-build-failed 5eed']])),
      { a: 'passed' },
    );
  });

  test("automake's TAP driver: cases from the .log, the test's path from the .trs", () => {
    const report = (name: string, body: string) =>
      `### ssr-report-begin 5eed ${name}\n${body}\n### ssr-report-end 5eed`;
    const log = [
      '### ssr-root 5eed /repo',
      '### ssr-file 5eed make check',
      'PASS: t/basic.tap 1 - parses',
      'FAIL: t/basic.tap 2 - prints',
      '### ssr-exit 5eed 2',
      report(
        't/basic.trs',
        ':test-result: PASS\n:test-result: FAIL\n:global-test-result: FAIL\n:recheck: yes',
      ),
      report('t/basic.log', '1..3\nok 1 - parses\nnot ok 2 - prints\nok 3 - utf8 # SKIP no locale'),
      report('t/other.trs', ':test-result: ERROR\n:global-test-result: ERROR'),
      report('t/other.log', 'Segmentation fault'),
    ].join('\n');
    assert.deepEqual(parse(MAKE_PARSER, log), {
      't/basic > parses': 'passed',
      't/basic > prints': 'failed',
      't/basic > utf8': 'skipped',
      't/other': 'failed',
    });
    // No .trs (automake's serial harness): its PASS:/FAIL: lines.
    const serial =
      '### ssr-root 5eed /repo\n### ssr-file 5eed make check\nPASS: a\nXFAIL: b\nFAIL: c\n### ssr-exit 5eed 2\n';
    assert.deepEqual(parse(MAKE_PARSER, serial), { a: 'passed', b: 'skipped', c: 'failed' });
  });
});

// ---------------------------------------------------------------------------------------------
// Gradle

/** Gradle's JUnit XML (JUnit 5 names methods with their parameter list). */
const GRADLE_REPORTS: Record<string, string> = {
  'build/test-results/test/TEST-com.example.CalcTest.xml': `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CalcTest" tests="4" skipped="1" failures="1" errors="0" timestamp="2024-01-01T00:00:00" hostname="h" time="0.02">
  <properties/>
  <testcase name="adds()" classname="com.example.CalcTest" time="0.001"/>
  <testcase name="wrongOnPurpose()" classname="com.example.CalcTest" time="0.004">
    <failure message="org.opentest4j.AssertionFailedError: expected: &lt;5&gt; but was: &lt;4&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;5&gt; but was: &lt;4&gt;
	at com.example.CalcTest.wrongOnPurpose(CalcTest.java:14)
</failure>
  </testcase>
  <testcase name="later()" classname="com.example.CalcTest" time="0"><skipped/></testcase>
  <testcase name="square(int)[1]" classname="com.example.CalcTest" time="0.001"/>
  <system-out><![CDATA[]]></system-out>
  <system-err><![CDATA[]]></system-err>
</testsuite>
`,
  'lib/build/test-results/test/TEST-com.example.lib.UtilTest.xml': `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.lib.UtilTest" tests="1" skipped="0" failures="0" errors="0">
  <testcase name="trims()" classname="com.example.lib.UtilTest" time="0.001"/>
</testsuite>
`,
};

describe('Gradle', () => {
  test('the script prints every module report; the Surefire parser reads them', async () => {
    const repo = makeRepo({
      'settings.gradle': "rootProject.name = 'calc'\ninclude 'lib'\n",
      'build.gradle': "plugins { id 'java' }\n",
      'src/test/java/com/example/CalcTest.java': 'class CalcTest {}\n',
      ...GRADLE_REPORTS,
    });
    const harness = stageHarness(
      gradleScript(': # reports recorded in the repository'),
      SUREFIRE_PARSER,
    );
    const sb = host.create(host.snapshotDir(repo));
    try {
      const out = await runTests(sb, harness);
      // The script removes reports an earlier run left: with no gradle run, none is left.
      assert.equal(out.ok ? 'ok' : out.kind, 'no-tests');
    } finally {
      await sb.dispose();
    }
    // The same script with the reports written by "gradle" (here: a heredoc per report).
    const write = Object.entries(GRADLE_REPORTS)
      .map(([path, xml]) => `mkdir -p ${dirname(path)} && cat >${path} <<'XML'\n${xml}XML`)
      .join('\n');
    const harness2 = stageHarness(gradleScript(write), SUREFIRE_PARSER);
    const sb2 = host.create(host.snapshotDir(repo));
    try {
      const out = await runTests(sb2, harness2);
      assert.ok(out.ok, out.ok ? '' : out.message);
      assert.deepEqual(out.tests, {
        'com.example.CalcTest#adds()': 'passed',
        'com.example.CalcTest#later()': 'skipped',
        'com.example.CalcTest#square(int)[1]': 'passed',
        'com.example.CalcTest#wrongOnPurpose()': 'failed',
        'com.example.lib.UtilTest#trims()': 'passed',
      });
      assert.equal(out.exitCode, 1, 'a failure in the reports makes the script fail');
    } finally {
      await sb2.dispose();
      harness.cleanup();
      harness2.cleanup();
    }
  });

  test('without gradle or a wrapper: not run, and why', {
    skip: toolAvailable('gradle') && 'gradle is installed',
  }, () => {
    const repo = makeRepo({
      'build.gradle': "plugins { id 'java' }\n",
      'src/test/java/CalcTest.java': 'class CalcTest {}\n',
    });
    const [c] = proposeCandidates(new RepoScan(repo));
    assert.equal(c?.framework, 'gradle');
    assert.match(c?.notApplicable ?? '', /^gradle is not installed \(apt-get install gradle\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// A real project

const CJSON = process.env.SSR_TEST_CJSON;

describe('a Debian source package', () => {
  test('cJSON 1.7.15 (CMake, Unity): every Unity case is a test', {
    skip: !CJSON
      ? 'set SSR_TEST_CJSON to an unpacked cJSON source tree (apt-get source cjson; ~90 s)'
      : !existsSync(join(CJSON, 'tests', 'unity')) && `${CJSON} is not a cJSON source tree`,
    timeout: 600_000,
  }, async () => {
    const r = await discover(CJSON!, 'cmake');
    const counts = countsOf(r.baseline.tests);
    assert.ok(counts.passed > 100, JSON.stringify(counts));
    assert.equal(counts.failed, 0);
    assert.ok(Object.keys(r.baseline.tests).some((id) => id.startsWith('parse_number > ')));
  });
});

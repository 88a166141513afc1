/**
 * Small original projects for the test-discovery tests, one per framework, each with passing
 * tests, at least one failing test and (where the framework has them) skipped tests.
 *
 * Projects live in `$TMPDIR/ssr-fixtures/discovery-<name>-v<N>` and are reused until the
 * version is bumped; they are built beside their final place and renamed into it. mocha, jest,
 * vitest and tape are installed from the npm registry at build time (nothing third-party is
 * kept in this repository). Tests must never write into a project.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { FIXTURE_ROOT } from './fixtures.js';

const run = promisify(execFile);

const VERSION = 'v1';

const inFlight = new Map<string, Promise<string>>();

/** `${FIXTURE_ROOT}/discovery-${name}-v1`, built by `build(dir)` if it does not exist yet. */
function project(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const dest = join(FIXTURE_ROOT, `discovery-${name}-${VERSION}`);
  if (existsSync(dest)) return Promise.resolve(dest);
  const pending = inFlight.get(dest);
  if (pending) return pending;
  const p = (async () => {
    mkdirSync(FIXTURE_ROOT, { recursive: true });
    const staging = join(
      FIXTURE_ROOT,
      `.discovery-${name}.build-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    mkdirSync(staging);
    try {
      await build(staging);
      try {
        renameSync(staging, dest);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(dest)) throw err;
        rmSync(staging, { recursive: true, force: true });
      }
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    return dest;
  })();
  inFlight.set(dest, p);
  return p;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

/** Installs exact npm packages into `dir` without touching its package.json. */
async function npmInstall(dir: string, specs: string[]): Promise<void> {
  await run(
    'npm',
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--no-update-notifier',
      '--loglevel=error',
      ...specs,
    ],
    {
      cwd: dir,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// node:test

const CALC_JS = `'use strict';
function add(a, b) { return a + b; }
function mul(a, b) { return a * b; }
function clamp(x, lo, hi) { return Math.min(hi, Math.max(lo, x)); }
module.exports = { add, mul, clamp };
`;

export function nodeTestProject(): Promise<string> {
  return project('node-test', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'calc-node',
          version: '1.0.0',
          private: true,
          scripts: { test: 'node --test test/' },
        },
        null,
        2,
      )}\n`,
      'src/calc.js': CALC_JS,
      // Three passing tests, one failing, one skipped, one todo, a test with two subtests, and
      // a "#" in a suite name (TAP escapes it).
      'test/calc.test.js': `'use strict';
const { describe, it, test } = require('node:test');
const assert = require('node:assert/strict');
const { add, mul, clamp } = require('../src/calc.js');

describe('add # basics', () => {
  it('adds small numbers', () => assert.equal(add(2, 3), 5));
  it('is wrong on purpose', () => assert.equal(add(2, 2), 5));
  it.skip('skipped for now', () => assert.equal(add(1, 1), 2));
  describe('negative', () => {
    it('adds negatives', () => assert.equal(add(-2, -3), -5));
  });
});

test('mul', () => assert.equal(mul(4, 5), 20));
test('clamp', async (t) => {
  await t.test('below', () => assert.equal(clamp(-1, 0, 9), 0));
  await t.test('above', () => assert.equal(clamp(12, 0, 9), 9));
});
test.todo('clamp with lo > hi');
`,
      'test/helpers/strings.test.mjs': `import { test } from 'node:test';
import assert from 'node:assert/strict';

test('upper', () => assert.equal('ab'.toUpperCase(), 'AB'));
test('repeat fails', () => assert.equal('ab'.repeat(2), 'abab!'));
`,
      'README.md': '# calc-node\n',
    });
  });
}

// ---------------------------------------------------------------------------------------------
// tape

export function tapeProject(): Promise<string> {
  return project('tape', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'calc-tape',
          version: '1.0.0',
          private: true,
          scripts: { test: 'tape test/*.js' },
          devDependencies: { tape: '^5.7.0' },
        },
        null,
        2,
      )}\n`,
      'src/calc.js': CALC_JS,
      'test/add.js': `'use strict';
var test = require('tape');
var calc = require('../src/calc.js');

test('add', function (t) {
  t.equal(calc.add(2, 3), 5, 'two plus three');
  t.equal(calc.add(-1, 1), 0, 'opposites cancel');
  t.end();
});

test('add is wrong on purpose', function (t) {
  t.equal(calc.add(2, 2), 5, 'two plus two is five');
  t.ok(true, 'this one holds');
  t.end();
});

test('add skips', function (t) {
  t.skip('not decided yet');
  t.end();
});
`,
      'test/mul.js': `'use strict';
var test = require('tape');
var calc = require('../src/calc.js');

test('mul', function (t) {
  t.equal(calc.mul(3, 4), 12);
  t.equal(calc.mul(0, 4), 0);
  t.end();
});

test('add', function (t) {
  t.equal(calc.add(1, 1), 2, 'same test name as in add.js, another file');
  t.end();
});
`,
    });
    await npmInstall(dir, ['tape@5']);
  });
}

// ---------------------------------------------------------------------------------------------
// mocha

export function mochaProject(): Promise<string> {
  return project('mocha', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'calc-mocha',
          version: '1.0.0',
          private: true,
          // eslint is not installed: "npm test" would fail before mocha ever ran.
          scripts: { test: 'eslint . && mocha' },
          devDependencies: { mocha: '^10.0.0', eslint: '^9.0.0' },
        },
        null,
        2,
      )}\n`,
      '.mocharc.json': '{ "spec": "test/**/*.spec.js", "timeout": 5000 }\n',
      'src/calc.js': CALC_JS,
      'test/calc.spec.js': `'use strict';
const assert = require('assert');
const { add, mul } = require('../src/calc.js');

describe('calc', function () {
  describe('add', function () {
    it('adds', function () { assert.strictEqual(add(2, 3), 5); });
    it('is wrong on purpose', function () { assert.strictEqual(add(2, 2), 5); });
    it.skip('skipped', function () {});
  });
  it('multiplies', function () { assert.strictEqual(mul(2, 3), 6); });
  it('skips itself', function () { this.skip(); });
});
`,
      'test/nested/clamp.spec.js': `'use strict';
const assert = require('assert');
const { clamp } = require('../../src/calc.js');

describe('clamp', function () {
  it('below', function () { assert.strictEqual(clamp(-1, 0, 9), 0); });
  it('above', function () { console.log('### ssr-report-end (printed by a test)'); assert.strictEqual(clamp(12, 0, 9), 9); });
  describe('with a broken hook', function () {
    before(function () { throw new Error('setup failed'); });
    it('never runs', function () {});
  });
});
`,
      'test/fixtures/data.json': '{"not": "a test"}\n',
    });
    await npmInstall(dir, ['mocha@10']);
  });
}

// ---------------------------------------------------------------------------------------------
// jest

export function jestProject(): Promise<string> {
  return project('jest', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'calc-jest',
          version: '1.0.0',
          private: true,
          scripts: { test: 'jest --coverage' },
          devDependencies: { jest: '^29.7.0' },
        },
        null,
        2,
      )}\n`,
      'src/calc.js': CALC_JS,
      'src/calc.test.js': `const { add, mul } = require('./calc');

describe('calc', () => {
  test('adds', () => expect(add(2, 3)).toBe(5));
  test('is wrong on purpose', () => expect(add(2, 2)).toBe(5));
  test.skip('skipped', () => expect(add(1, 1)).toBe(2));
  test.todo('divides');
  describe('mul', () => {
    test('multiplies', () => expect(mul(2, 3)).toBe(6));
    test('multiplies', () => expect(mul(2, 0)).toBe(0));
  });
});
`,
      '__tests__/clamp.js': `const { clamp } = require('../src/calc');

test('clamps below', () => expect(clamp(-1, 0, 9)).toBe(0));
test('clamps above', () => expect(clamp(12, 0, 9)).toBe(9));
`,
    });
    await npmInstall(dir, ['jest@29']);
  });
}

// ---------------------------------------------------------------------------------------------
// vitest

export function vitestProject(): Promise<string> {
  return project('vitest', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'calc-vitest',
          version: '1.0.0',
          private: true,
          type: 'module',
          scripts: { test: 'vitest' },
          devDependencies: { vitest: '^3.2.0' },
        },
        null,
        2,
      )}\n`,
      'src/calc.js': `export const add = (a, b) => a + b;
export const mul = (a, b) => a * b;
`,
      'test/calc.test.js': `import { describe, expect, it } from 'vitest';
import { add, mul } from '../src/calc.js';

describe('calc', () => {
  it('adds', () => expect(add(2, 3)).toBe(5));
  it('is wrong on purpose', () => expect(add(2, 2)).toBe(5));
  it.skip('skipped', () => expect(add(1, 1)).toBe(2));
  describe('mul', () => {
    it('multiplies', () => expect(mul(2, 3)).toBe(6));
  });
});
`,
      'test/more.spec.js': `import { expect, test } from 'vitest';
import { mul } from '../src/calc.js';

test('zero', () => expect(mul(5, 0)).toBe(0));
test.todo('negative zero');
`,
    });
    await npmInstall(dir, ['vitest@3']);
  });
}

// ---------------------------------------------------------------------------------------------
// Python: pytest and unittest

export function pytestProject(): Promise<string> {
  return project('pytest', async (dir) => {
    writeFiles(dir, {
      'pyproject.toml': `[project]
name = "calc"
version = "0.1.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
`,
      'calc/__init__.py': `def add(a, b):
    return a + b


def mul(a, b):
    return a * b
`,
      'tests/conftest.py': `import pytest


@pytest.fixture
def two():
    return 2
`,
      'tests/test_calc.py': `import pytest

from calc import add, mul


class TestAdd:
    @pytest.mark.parametrize("a, b, want", [(1, 2, 3), (2, 2, 5), ("a b", "c", "a bc")])
    def test_add(self, a, b, want):
        assert add(a, b) == want

    def test_with_fixture(self, two):
        assert add(two, two) == 4


def test_mul():
    assert mul(3, 4) == 12


@pytest.mark.skip(reason="not decided")
def test_skipped():
    assert False


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert mul(2, 2) == 5
`,
      'tests/test_broken_import.py': `import calc.does_not_exist  # noqa: F401


def test_never_collected():
    pass
`,
      'scripts/helper.py': 'print("not a test")\n',
    });
  });
}

export function unittestProject(): Promise<string> {
  return project('unittest', async (dir) => {
    writeFiles(dir, {
      'calc.py': `def add(a, b):
    return a + b
`,
      'tests/__init__.py': '',
      'tests/test_calc.py': `import unittest

from calc import add


class TestAdd(unittest.TestCase):
    def test_adds(self):
        """Two plus three."""
        self.assertEqual(add(2, 3), 5)

    def test_wrong(self):
        self.assertEqual(add(2, 2), 5)

    @unittest.skip("later")
    def test_skipped(self):
        pass

    def test_prints(self):
        print("noise that -b buffers")
        self.assertEqual(add(0, 0), 0)


class TestMore(unittest.TestCase):
    def test_negative(self):
        self.assertEqual(add(-1, -1), -2)

    def test_error(self):
        raise RuntimeError("boom")
`,
    });
  });
}

/** A pytest suite with one stable test and 20 coin flips: over 2 runs, some flip. */
export function flakyProject(): Promise<string> {
  return project('flaky', async (dir) => {
    writeFiles(dir, {
      'tests/test_stable.py': 'def test_stable():\n    assert 1 + 1 == 2\n',
      'tests/test_coin.py': `import random

import pytest


@pytest.mark.parametrize("n", range(20))
def test_coin(n):
    assert random.SystemRandom().random() < 0.5
`,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Go and Rust

export function goProject(): Promise<string> {
  return project('go', async (dir) => {
    writeFiles(dir, {
      'go.mod': 'module example.com/calc\n\ngo 1.19\n',
      'calc.go': 'package calc\n\nfunc Add(a, b int) int { return a + b }\n',
      'calc_test.go': `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("2+3")
	}
}

func TestWrong(t *testing.T) {
	if Add(2, 2) != 5 {
		t.Error("wrong on purpose")
	}
}

func TestLater(t *testing.T) { t.Skip("later") }

func TestTable(t *testing.T) {
	cases := []struct {
		name    string
		a, b, w int
	}{{"small", 1, 2, 3}, {"negative", -1, -2, -3}, {"bad case", 1, 1, 3}}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			if Add(c.a, c.b) != c.w {
				t.Errorf("%d+%d", c.a, c.b)
			}
		})
	}
}
`,
      'strs/strs.go':
        'package strs\n\nimport "strings"\n\nfunc Shout(s string) string { return strings.ToUpper(s) + "!" }\n',
      'strs/strs_test.go': `package strs

import "testing"

func TestShout(t *testing.T) {
	if Shout("hi") != "HI!" {
		t.Fatal(Shout("hi"))
	}
}
`,
      'strs/testdata/input_test.go': 'this is data, not a test\n',
    });
  });
}

export function cargoProject(): Promise<string> {
  return project('cargo', async (dir) => {
    writeFiles(dir, {
      'Cargo.toml': `[package]
name = "calc"
version = "0.1.0"
edition = "2018"

[dependencies]
`,
      'src/lib.rs': `/// Adds two numbers.
///
/// \`\`\`
/// assert_eq!(calc::add(1, 2), 3);
/// \`\`\`
pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn wrong_on_purpose() {
        assert_eq!(add(2, 2), 5);
    }

    #[test]
    #[ignore]
    fn slow() {}

    #[test]
    #[should_panic]
    fn panics() {
        panic!("expected");
    }
}
`,
      'tests/api.rs': `#[test]
fn public_add() {
    assert_eq!(calc::add(-1, 1), 0);
}
`,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Maven (reports only: plugins cannot be downloaded here)

/** Surefire 3 report layout: <testsuite> with <testcase>s, failures/errors/skipped inside. */
export const SUREFIRE_REPORTS: Record<string, string> = {
  'target/surefire-reports/TEST-com.example.CalcTest.xml': `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" version="3.0" name="com.example.CalcTest" time="0.041" tests="5" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="17.0.9"/>
  </properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.002"/>
  <testcase name="multiplies" classname="com.example.CalcTest" time="0.001"/>
  <testcase name="wrongOnPurpose" classname="com.example.CalcTest" time="0.004">
    <failure message="expected: &lt;5&gt; but was: &lt;4&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <5> but was: <4>
	at com.example.CalcTest.wrongOnPurpose(CalcTest.java:21)
]]></failure>
    <system-out><![CDATA[### ssr-report-end
]]></system-out>
  </testcase>
  <testcase name="divides" classname="com.example.CalcTest" time="0.001">
    <error message="/ by zero" type="java.lang.ArithmeticException"><![CDATA[java.lang.ArithmeticException: / by zero]]></error>
  </testcase>
  <testcase name="later" classname="com.example.CalcTest" time="0">
    <skipped message="not yet"/>
  </testcase>
</testsuite>
`,
  'target/surefire-reports/TEST-com.example.ParamTest.xml': `<?xml version="1.0" encoding="UTF-8"?>
<testsuite version="3.0" name="com.example.ParamTest" time="0.01" tests="3" errors="0" skipped="0" failures="0">
  <testcase name="square(int)[1]" classname="com.example.ParamTest" time="0.001"/>
  <testcase name="square(int)[2]" classname="com.example.ParamTest" time="0.001"/>
  <testcase name="retried" classname="com.example.ParamTest" time="0.003">
    <flakyFailure message="timing" type="java.lang.AssertionError"><![CDATA[first attempt failed]]></flakyFailure>
  </testcase>
</testsuite>
`,
  'target/surefire-reports/com.example.CalcTest.txt':
    'Tests run: 5, Failures: 1, Errors: 1, Skipped: 1\n',
};

export function mavenProject(): Promise<string> {
  return project('maven', async (dir) => {
    writeFiles(dir, {
      'pom.xml': `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>calc</artifactId>
  <version>1.0</version>
</project>
`,
      'src/main/java/com/example/Calc.java':
        'package com.example;\n\npublic class Calc {\n  public static int add(int a, int b) { return a + b; }\n}\n',
      'src/test/java/com/example/CalcTest.java':
        'package com.example;\n\nclass CalcTest {\n  // the tests the recorded reports describe\n}\n',
      ...SUREFIRE_REPORTS,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// C: CMake + CTest, make check (plain Makefile and automake)

const C_GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'ssr test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'ssr test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Writes `files` and commits them (a repository with history: one commit per call). */
async function commitFiles(dir: string, files: Record<string, string>, message: string) {
  writeFiles(dir, files);
  const git = (...args: string[]) =>
    run('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      env: C_GIT_ENV,
    });
  if (!existsSync(join(dir, '.git'))) await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', message);
}

export const C_CALC_H = `#ifndef CALC_H
#define CALC_H
int calc_add(int a, int b);
int calc_mul(int a, int b);
int calc_clamp(int x, int lo, int hi);
#endif
`;

export const C_CALC_C = `#include "calc.h"

int calc_add(int a, int b) { return a + b; }

int calc_mul(int a, int b) { return a * b; }

int calc_clamp(int x, int lo, int hi) {
  if (x < lo) return lo;
  if (x > hi) return hi;
  return x;
}
`;

/**
 * A Unity-style case printer written here (Unity's own output format):
 * "file.c:LINE:test_name:PASS", ":FAIL: message", ":IGNORE: message".
 */
export const MINI_UNITY_H = `#ifndef MINI_UNITY_H
#define MINI_UNITY_H
#include <stdio.h>
static int mu_failures;
static int mu_failed;
static const char *mu_test;
#define MU_CHECK(cond) do { if (!(cond)) { \\
  printf("%s:%d:%s:FAIL: Expected %s\\n", __FILE__, __LINE__, mu_test, #cond); \\
  mu_failed = 1; return; } } while (0)
#define MU_RUN(fn) do { mu_test = #fn; mu_failed = 0; fn(); \\
  if (mu_failed) mu_failures++; \\
  else printf("%s:%d:%s:PASS\\n", __FILE__, __LINE__, #fn); } while (0)
#define MU_IGNORE(fn) printf("%s:%d:%s:IGNORE: not yet\\n", __FILE__, __LINE__, #fn)
#define MU_END() (printf("-----------------------\\n%d Failures\\nOK\\n", mu_failures), mu_failures != 0)
#endif
`;

/** A cmocka/GoogleTest-style case printer: "[ RUN      ] name", "[       OK ] name", ... */
export const MINI_XUNIT_H = `#ifndef MINI_XUNIT_H
#define MINI_XUNIT_H
#include <stdio.h>
static int xu_failed, xu_failures, xu_skipped;
#define XU_CHECK(cond) do { if (!(cond)) { \\
  printf("[   LINE   ] --- %s:%d: error: Failure!\\n", __FILE__, __LINE__); \\
  xu_failed = 1; return; } } while (0)
#define XU_SKIP() do { xu_skipped = 1; return; } while (0)
#define XU_RUN(fn) do { printf("[ RUN      ] %s\\n", #fn); xu_failed = xu_skipped = 0; fn(); \\
  if (xu_failed) { printf("[  FAILED  ] %s\\n", #fn); xu_failures++; } \\
  else if (xu_skipped) printf("[  SKIPPED ] %s\\n", #fn); \\
  else printf("[       OK ] %s\\n", #fn); } while (0)
#define XU_END() (printf("[==========] done.\\n"), xu_failures != 0)
#endif
`;

/** The line of tests/test_cases.c holding the assertion that fails on purpose. */
export const C_CASES_FAILING_LINE = 16;

export const C_TEST_CASES = `#include "calc.h"
#include "mini_unity.h"

static void test_add(void) {
  MU_CHECK(calc_add(2, 3) == 5);
  MU_CHECK(calc_add(-2, 2) == 0);
}

static void test_mul(void) { MU_CHECK(calc_mul(4, 5) == 20); }

static void test_clamp(void) {
  MU_CHECK(calc_clamp(-1, 0, 9) == 0);
  MU_CHECK(calc_clamp(12, 0, 9) == 9);
}

static void test_wrong_on_purpose(void) { MU_CHECK(calc_add(2, 2) == 5); }

int main(void) {
  MU_RUN(test_add);
  MU_RUN(test_mul);
  MU_RUN(test_clamp);
  MU_RUN(test_wrong_on_purpose);
  MU_IGNORE(test_later);
  return MU_END();
}
`;

/**
 * CMake + CTest: a library, a plain-assert test, a Unity-style and a cmocka-style case printer,
 * a test skipped through SKIP_RETURN_CODE; two commits.
 */
export function cmakeCProject(): Promise<string> {
  return project('cmake-c', async (dir) => {
    await commitFiles(
      dir,
      {
        'CMakeLists.txt': `cmake_minimum_required(VERSION 3.13)
project(calc C)
enable_testing()
add_library(calc src/calc.c)
target_include_directories(calc PUBLIC src)
add_subdirectory(tests)
`,
        'src/calc.h': C_CALC_H,
        'src/calc.c': C_CALC_C,
        'tests/CMakeLists.txt': `add_executable(test_plain test_plain.c)
target_link_libraries(test_plain calc)
add_test(NAME calc_assert COMMAND test_plain)
`,
        'tests/test_plain.c': `#include <assert.h>
#include "calc.h"

int main(void) {
  assert(calc_add(2, 3) == 5);
  assert(calc_mul(3, 3) == 9);
  return 0;
}
`,
      },
      'calc library with an assert test',
    );
    await commitFiles(
      dir,
      {
        'tests/CMakeLists.txt': `add_executable(test_plain test_plain.c)
target_link_libraries(test_plain calc)
add_test(NAME calc_assert COMMAND test_plain)

add_executable(test_cases test_cases.c)
target_link_libraries(test_cases calc)
add_test(NAME calc_cases COMMAND test_cases)

add_executable(test_xunit test_xunit.c)
target_link_libraries(test_xunit calc)
add_test(NAME calc_xunit COMMAND $<TARGET_FILE:test_xunit>)

# Needs a feature this machine lacks: skipped.
add_test(NAME calc_feature COMMAND sh -c "echo 'no such feature'; exit 77")
set_tests_properties(calc_feature PROPERTIES SKIP_RETURN_CODE 77)
`,
        'tests/mini_unity.h': MINI_UNITY_H,
        'tests/mini_xunit.h': MINI_XUNIT_H,
        'tests/test_cases.c': C_TEST_CASES,
        'tests/test_xunit.c': `#include "calc.h"
#include "mini_xunit.h"

static void adds(void) { XU_CHECK(calc_add(1, 1) == 2); }
static void clamps(void) { XU_CHECK(calc_clamp(5, 0, 3) == 3); }
static void needs_wide_ints(void) { XU_SKIP(); }

int main(void) {
  XU_RUN(adds);
  XU_RUN(clamps);
  XU_RUN(needs_wide_ints);
  return XU_END();
}
`,
        'README.md': '# calc\n',
      },
      'case-level tests',
    );
  });
}

/**
 * make check with a plain Makefile: a TAP-printing test program (its cases are the ids) run
 * by the check target.
 */
export function makeCheckProject(): Promise<string> {
  return project('make-check', async (dir) => {
    await commitFiles(
      dir,
      {
        Makefile: `CC ?= cc
CFLAGS ?= -O0 -g
CFLAGS += -Isrc

.PHONY: all check clean

all: libcalc.a

libcalc.a: src/calc.o
\tar rcs $@ $^

tests/test_tap: tests/test_tap.c libcalc.a
\t$(CC) $(CFLAGS) -o $@ tests/test_tap.c libcalc.a

check: tests/test_tap
\t./tests/test_tap

clean:
\trm -f src/*.o libcalc.a tests/test_tap
`,
        'src/calc.h': C_CALC_H,
        'src/calc.c': C_CALC_C,
        'tests/test_tap.c': `#include <stdio.h>
#include "calc.h"

static int failures;
static int n;

#define CHECK(ok, what) check((ok), (what), __FILE__, __LINE__)
static void check(int ok, const char *what, const char *file, int line) {
  n++;
  printf("%s %d - %s\\n", ok ? "ok" : "not ok", n, what);
  if (!ok) {
    printf("#   Failed test '%s'\\n#   at %s:%d\\n", what, file, line);
    failures++;
  }
}

int main(void) {
  printf("1..5\\n");
  CHECK(calc_add(2, 3) == 5, "adds");
  CHECK(calc_mul(2, 3) == 6, "multiplies");
  CHECK(calc_clamp(7, 0, 5) == 5, "clamps above");
  CHECK(calc_add(2, 2) == 5, "wrong on purpose");
  printf("ok %d - wide ints # SKIP not on this machine\\n", ++n);
  return failures != 0;
}
`,
      },
      'calc with a TAP test run by make check',
    );
  });
}

/**
 * automake's parallel test harness, as a release tarball ships it (configure and Makefile.in
 * generated here with autoreconf): a Unity-style case printer, a plain test, a skipped test
 * (exit 77) and an expected failure (XFAIL_TESTS). Requires autoreconf on the host.
 */
export function automakeProject(): Promise<string> {
  return project('automake', async (dir) => {
    writeFiles(dir, {
      'configure.ac': `AC_INIT([calc], [1.0])
AM_INIT_AUTOMAKE([foreign subdir-objects])
AC_PROG_CC
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
`,
      'Makefile.am': `check_PROGRAMS = tests/test_calc tests/test_more
tests_test_calc_SOURCES = tests/test_calc.c src/calc.c src/calc.h tests/mini_unity.h
tests_test_calc_CPPFLAGS = -I$(srcdir)/src
tests_test_more_SOURCES = tests/test_more.c src/calc.c
tests_test_more_CPPFLAGS = -I$(srcdir)/src
TESTS = $(check_PROGRAMS) tests/skip.sh tests/xfail.sh
XFAIL_TESTS = tests/xfail.sh
EXTRA_DIST = tests/skip.sh tests/xfail.sh
`,
      'src/calc.h': C_CALC_H,
      'src/calc.c': C_CALC_C,
      'tests/mini_unity.h': MINI_UNITY_H,
      'tests/test_calc.c': C_TEST_CASES,
      'tests/test_more.c': `#include <assert.h>
#include "calc.h"

int main(void) {
  assert(calc_clamp(3, 0, 9) == 3);
  return 0;
}
`,
      'tests/skip.sh': '#!/bin/sh\necho "needs a network"\nexit 77\n',
      'tests/xfail.sh': '#!/bin/sh\necho "known to fail"\nexit 1\n',
    });
    await run('chmod', ['+x', join(dir, 'tests/skip.sh'), join(dir, 'tests/xfail.sh')]);
    await run('autoreconf', ['-fi'], { cwd: dir });
    rmSync(join(dir, 'autom4te.cache'), { recursive: true, force: true });
    await commitFiles(dir, {}, 'calc 1.0 as released (configure generated)');
  });
}

// ---------------------------------------------------------------------------------------------
// Published npm packages that ship their own tests, one per JS runner (tap, uvu, ava, jasmine)

/**
 * Which package each runner is tested on, and what is installed beside it: the runner (at a
 * version its devDependencies accept) and the package's own runtime dependencies. The
 * package's other devDependencies (linters, type checkers) are left out.
 */
export const JS_RUNNER_PACKAGES = {
  /** 17 tap tests in test/index.test.js, .taprc `files: test/**\/*.test.js`; tap ^16. */
  tap: { spec: '@fastify/error@3.4.1', runners: ['tap@16.3.10'] },
  /** src/__tests__/{convertUnit,index}.js (170 uvu tests, 3 failing as published); uvu ^0.5. */
  uvu: {
    spec: 'postcss-calc@8.2.4',
    runners: [
      'uvu@0.5.6',
      'postcss@8.4.6',
      'postcss-selector-parser@6.0.9',
      'postcss-value-parser@4.2.0',
    ],
  },
  /** 18 test files, 518 ava tests written as ES modules (ava 0.x transpiles them); ava ^0.19. */
  ava: { spec: 'chance@1.1.13', runners: ['ava@0.25.0', 'lodash@4.17.21'] },
  /** strnum.test.js (16 specs, an ES module package); jasmine ^5.6. */
  jasmine: { spec: 'strnum@2.1.1', runners: ['jasmine@5.13.0'] },
} as const;

export type JsRunner = keyof typeof JS_RUNNER_PACKAGES;

const npmEnv = () => ({ ...process.env, npm_config_update_notifier: 'false' });

/** `spec` exactly as npm ships it, unpacked into `dir`. */
async function unpackPackage(spec: string, dir: string): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'ssr-npm-pack-'));
  try {
    const { stdout } = await run(
      'npm',
      ['pack', spec, '--pack-destination', scratch, '--no-update-notifier', '--loglevel=error'],
      { cwd: scratch, env: npmEnv() },
    );
    const tgz = stdout.trim().split('\n').at(-1)!.trim();
    await run('tar', [
      'xzf',
      join(scratch, tgz),
      '--no-same-owner',
      '--strip-components=1',
      '-C',
      dir,
    ]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Installs `specs` in a scratch project and moves its node_modules into `dir`. */
async function installBeside(dir: string, specs: string[]): Promise<void> {
  const deps = mkdtempSync(join(FIXTURE_ROOT, '.npm-deps-'));
  try {
    writeFileSync(join(deps, 'package.json'), '{"name":"deps","version":"0.0.0","private":true}\n');
    await npmInstall(deps, specs);
    renameSync(join(deps, 'node_modules'), join(dir, 'node_modules'));
  } finally {
    rmSync(deps, { recursive: true, force: true });
  }
}

/**
 * Where a project keeps its runner's own report of a run made at build time (in node_modules,
 * which discovery never reads): for ava, whose run of chance's suite costs ~25 s of CPU.
 */
export function ownReportPath(dir: string): string {
  return join(dir, 'node_modules', '.ssr-own-report.txt');
}

/** The package `JS_RUNNER_PACKAGES[runner]` names, as published, with its runner installed. */
export function publishedPackageProject(runner: JsRunner): Promise<string> {
  const { spec, runners } = JS_RUNNER_PACKAGES[runner];
  return project(`pkg-${runner}`, async (dir) => {
    await unpackPackage(spec, dir);
    await installBeside(dir, [...runners]);
    if (runner === 'ava') {
      const out = await run('node_modules/.bin/ava', ['--verbose'], {
        cwd: dir,
        maxBuffer: 64 << 20,
      }).catch((err: { stdout?: string; stderr?: string }) => err);
      writeFileSync(ownReportPath(dir), `${out.stdout ?? ''}\n${out.stderr ?? ''}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// mocha, for the warm runner: an ES module library and a CommonJS one, each with its tests

export function warmMochaProject(): Promise<string> {
  return project('warm-mocha', async (dir) => {
    writeFiles(dir, {
      'package.json': `${JSON.stringify(
        {
          name: 'warm-mocha',
          version: '1.0.0',
          private: true,
          type: 'module',
          scripts: { test: 'mocha' },
          devDependencies: { mocha: '^10.0.0' },
        },
        null,
        2,
      )}\n`,
      '.mocharc.json': '{ "spec": ["test/*.js", "test/*.cjs"], "timeout": 5000 }\n',
      'src/words.js': `import { sep } from './sep.js';
export function join(a, b) { return a + sep() + b; }
export function shout(s) { return s.toUpperCase() + '!'; }
`,
      'src/sep.js': `export function sep() { return ' '; }
`,
      'src/count.cjs': `'use strict';
// Executed by every test of count.cjs, checked by none: its mutants survive.
const unit = 'items';
function count(xs) { return xs.length; }
function describeCount(xs) { return count(xs) + ' ' + unit; }
module.exports = { count, describeCount };
`,
      'test/words.js': `import assert from 'node:assert';
import { join } from '../src/words.js';
describe('words', function () {
  it('joins', function () { assert.strictEqual(join('a', 'b'), 'a b'); });
});
`,
      'test/shout.js': `import assert from 'node:assert';
import { shout } from '../src/words.js';
describe('shout', function () {
  it('shouts', function () { assert.strictEqual(shout('hi'), 'HI!'); });
});
`,
      'test/count.cjs': `'use strict';
const assert = require('assert');
const { count } = require('../src/count.cjs');
describe('count', function () {
  it('counts', function () { assert.strictEqual(count([1, 2]), 2); });
  it('counts nothing', function () { assert.strictEqual(count([]), 0); });
});
`,
    });
    await npmInstall(dir, ['mocha@10']);
  });
}

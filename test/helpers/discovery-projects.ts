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
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

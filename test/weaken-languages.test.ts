/**
 * Failure locations and assertion weakening for Go, Rust, Java, C, C++ and Ruby, on small
 * projects written out here with a bug in place and the real output of their test runners
 * (go test -json, cargo test, Maven Surefire, Check, cmocka, assert, Unity's format, gtest,
 * Catch2, minitest, RSpec), recorded once. Each location is weakened; the weakened file parses,
 * loses exactly the assertion there, and keeps its line count. Where the toolchain is installed
 * the projects are also built and run: the live output names the same lines, and the weakened
 * tests compile (go vet, cargo with -D warnings, gcc -Wall -Werror) and pass with the bug.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { discoverTests } from '../src/discovery/discover.js';
import { cargoCandidates } from '../src/discovery/native-frameworks.js';
import { RepoScan } from '../src/discovery/scan.js';
import {
  emptyEnclosingTest,
  emptyRustTestBody,
  weakenAssertionAt,
  weakenMacroTableRow,
} from '../src/inject/assertions.js';
import { descendants, parseFile } from '../src/inject/ast.js';
import { type FailureLocation, failureLocations } from '../src/inject/failure-locations.js';
import { deriveWeakening, removedLines, type WeakeningResult } from '../src/inject/weaken.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { formatFileDiff } from '../src/sandbox/tree-diff.js';
import type { Snapshot } from '../src/sandbox/types.js';
import { didPass } from '../src/testing/results.js';
import { runTests, stageHarness } from '../src/testing/run-tests.js';

// ---------------------------------------------------------------------------------------------
// Helpers

type Tree = Record<string, string>;

async function errorCount(file: string, source: string): Promise<number> {
  const parsed = await parseFile(file, source);
  assert.ok(parsed, file);
  let n = 0;
  for (const d of descendants(parsed.root)) if (d.error) n++;
  return n;
}

/** Weakens at `line` (and `column`); checks the line count and that no syntax error appeared. */
async function weaken(file: string, source: string, line: number, column?: number) {
  const next = await weakenAssertionAt(file, source, line, column);
  if (next === null) return null;
  assert.equal(next.split('\n').length, source.split('\n').length, `${file}: line count changed`);
  const before = await errorCount(file, source);
  const after = await errorCount(file, next);
  assert.ok(after <= before, `${file}:${line}: the weakened file has new syntax errors`);
  if (before === 0) assert.equal(after, 0);
  return next;
}

/** The 1-based line of the first line of `source` holding `needle`. */
function lineOf(source: string, needle: string): number {
  const i = source.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, needle);
  return i + 1;
}

/** The lines that differ between two sources of the same length, as [line, before, after]. */
function changed(before: string, after: string): [number, string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  return a.flatMap((l, i) => (l === b[i] ? [] : [[i + 1, l, b[i]!] as [number, string, string]]));
}

const at = (locs: FailureLocation[]) =>
  locs.map((l) => `${l.file}:${l.line}${l.column ? `:${l.column}` : ''}`);

/** Weakens every location of `log` in turn (as ssr inject's first round does). */
async function weakenAll(tree: Tree, testFiles: string[], log: string) {
  const contents: Tree = { ...tree };
  const locations = failureLocations(log, testFiles);
  const missed: string[] = [];
  for (const loc of locations) {
    const next = await weaken(loc.file, contents[loc.file]!, loc.line, loc.column);
    if (next === null) missed.push(`${loc.file}:${loc.line}`);
    else contents[loc.file] = next;
  }
  return { locations, contents, missed };
}

function tool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

function writeTree(dir: string, tree: Tree): void {
  for (const [f, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
}

function run(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A scratch directory holding `tree`, removed after `fn`. */
async function inScratch(tree: Tree, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ssr-weaken-lang-'));
  try {
    writeTree(dir, tree);
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Recorded projects and test output

const GO_MOD = `module example.com/mathkit

go 1.19
`;

const GO_CALC = `package mathkit

// Add is off by one: the bug the tests catch.
func Add(a, b int) int { return a + b + 1 }
`;

const GO_CALC_TEST = `package mathkit

import (
	"fmt"
	"testing"
)

func TestAdd(t *testing.T) {
	got := Add(1, 2)
	if got != 3 {
		t.Errorf("Add(1, 2) = %d, want %d", got, 3)
	}
}

func TestAddInit(t *testing.T) {
	if got := Add(2, 2); got != 4 {
		t.Fatalf("Add(2, 2) = %d", got)
	}
}

func TestFormat(t *testing.T) {
	if fmt.Sprint(Add(1, 2)) != "3" {
		t.Error("Add(1, 2) does not print as 3")
	}
}

func checkSum(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func TestHelper(t *testing.T) {
	checkSum(t, Add(3, 4), 7)
}
`;

const GO_UTIL = `package util

// Double triples: the bug the tests catch.
func Double(x int) int { return x * 3 }

func Half(x int) (int, error) { return x / 2, nil }
`;

const GO_UTIL_TEST = `package util

import (
	"reflect"
	"testing"
)

func TestDouble(t *testing.T) {
	tests := []struct{ in, want int }{{1, 2}, {2, 4}}
	for _, tt := range tests {
		if Double(tt.in) != tt.want {
			t.Fatalf("Double(%d) = %d", tt.in, Double(tt.in))
		}
	}
}

func TestSlice(t *testing.T) {
	got := []int{Double(1)}
	want := []int{2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestSub(t *testing.T) {
	for _, n := range []int{1, 2} {
		n := n
		t.Run("half", func(t *testing.T) {
			got, err := Half(Double(n))
			if err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("Half(Double(%d)) = %d", n, got)
			}
		})
	}
}
`;

const GO_LOG = `### ssr-root 1b0820cfb227cfd6 /work/main/scratch/weaken/fx/go
{"Time":"2026-12-05T07:18:45.084695431Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestDouble","Output":"    calc_test.go:12: Double(1) = 3\\n"}
{"Time":"2026-12-05T07:18:45.084707143Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestDouble","Output":"--- FAIL: TestDouble (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.084712483Z","Action":"fail","Package":"example.com/mathkit/pkg/util","Test":"TestDouble","Elapsed":0}
{"Time":"2026-12-05T07:18:45.08475854Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSlice","Output":"    calc_test.go:21: got [3] want [2]\\n"}
{"Time":"2026-12-05T07:18:45.084764442Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSlice","Output":"--- FAIL: TestSlice (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.084771516Z","Action":"fail","Package":"example.com/mathkit/pkg/util","Test":"TestSlice","Elapsed":0}
{"Time":"2026-12-05T07:18:45.085015499Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSub/half#01","Output":"    calc_test.go:34: Half(Double(2)) = 3\\n"}
{"Time":"2026-12-05T07:18:45.085023063Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSub","Output":"--- FAIL: TestSub (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.085028894Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSub/half","Output":"    --- PASS: TestSub/half (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.085039094Z","Action":"output","Package":"example.com/mathkit/pkg/util","Test":"TestSub/half#01","Output":"    --- FAIL: TestSub/half#01 (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.085045105Z","Action":"fail","Package":"example.com/mathkit/pkg/util","Test":"TestSub/half#01","Elapsed":0}
{"Time":"2026-12-05T07:18:45.085049544Z","Action":"fail","Package":"example.com/mathkit/pkg/util","Test":"TestSub","Elapsed":0}
{"Time":"2026-12-05T07:18:45.085099027Z","Action":"output","Package":"example.com/mathkit/pkg/util","Output":"FAIL\\texample.com/mathkit/pkg/util\\t0.011s\\n"}
{"Time":"2026-12-05T07:18:45.085108906Z","Action":"fail","Package":"example.com/mathkit/pkg/util","Elapsed":0.011}
{"Time":"2026-12-05T07:18:45.113856901Z","Action":"output","Package":"example.com/mathkit","Test":"TestAdd","Output":"    calc_test.go:11: Add(1, 2) = 4, want 3\\n"}
{"Time":"2026-12-05T07:18:45.113867452Z","Action":"output","Package":"example.com/mathkit","Test":"TestAdd","Output":"--- FAIL: TestAdd (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.113873303Z","Action":"fail","Package":"example.com/mathkit","Test":"TestAdd","Elapsed":0}
{"Time":"2026-12-05T07:18:45.113891507Z","Action":"output","Package":"example.com/mathkit","Test":"TestAddInit","Output":"    calc_test.go:17: Add(2, 2) = 5\\n"}
{"Time":"2026-12-05T07:18:45.11390344Z","Action":"output","Package":"example.com/mathkit","Test":"TestAddInit","Output":"--- FAIL: TestAddInit (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.113908479Z","Action":"fail","Package":"example.com/mathkit","Test":"TestAddInit","Elapsed":0}
{"Time":"2026-12-05T07:18:45.113921885Z","Action":"output","Package":"example.com/mathkit","Test":"TestFormat","Output":"    calc_test.go:23: Add(1, 2) does not print as 3\\n"}
{"Time":"2026-12-05T07:18:45.113926854Z","Action":"output","Package":"example.com/mathkit","Test":"TestFormat","Output":"--- FAIL: TestFormat (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.113931663Z","Action":"fail","Package":"example.com/mathkit","Test":"TestFormat","Elapsed":0}
{"Time":"2026-12-05T07:18:45.113949488Z","Action":"output","Package":"example.com/mathkit","Test":"TestHelper","Output":"    calc_test.go:35: got 8, want 7\\n"}
{"Time":"2026-12-05T07:18:45.113954567Z","Action":"output","Package":"example.com/mathkit","Test":"TestHelper","Output":"--- FAIL: TestHelper (0.00s)\\n"}
{"Time":"2026-12-05T07:18:45.113959146Z","Action":"fail","Package":"example.com/mathkit","Test":"TestHelper","Elapsed":0}
{"Time":"2026-12-05T07:18:45.114021915Z","Action":"output","Package":"example.com/mathkit","Output":"FAIL\\texample.com/mathkit\\t0.037s\\n"}
{"Time":"2026-12-05T07:18:45.114029329Z","Action":"fail","Package":"example.com/mathkit","Elapsed":0.037}
`;

const RUST_TOML = `[package]
name = "mathkit"
version = "0.1.0"
edition = "2021"
`;

const RUST_LIB = `/// Off by one: the bug the tests catch.
pub fn add(a: i32, b: i32) -> i32 {
    a + b + 1
}

/// Accepts negatives: the bug the should_panic test catches.
pub fn checked(x: i32) -> i32 {
    if x < -100 {
        panic!("negative");
    }
    x
}
`;

const RUST_TEST = `use mathkit::{add, checked};

#[test]
fn adds_small() {
    let got = add(1, 2);
    assert_eq!(got, 3, "1 + 2");
}

#[test]
fn adds_many() {
    let got: Vec<i32> = (0..3).map(|x| add(x, x)).collect();
    assert!(
        got == vec![0, 2, 4],
        "got {:?}",
        got
    );
}

#[test]
#[should_panic(expected = "negative")]
fn rejects_negative() {
    checked(-1);
}

#[test]
fn reports_by_hand() {
    let sum = add(2, 2);
    if sum != 4 {
        panic!("add(2, 2) = {}", sum);
    }
}

#[test]
fn unwraps() {
    let parsed: i32 = "4".parse().unwrap();
    assert_ne!(add(parsed, 0), 0);
}
`;

const RUST_LOG = `### ssr-root 312ccd858a9ac987 /work/main/scratch/weaken/fx/rust
   Compiling mathkit v0.1.0 (/work/main/scratch/weaken/fx/rust)
    Finished \`test\` profile [unoptimized + debuginfo] target(s) in 5.39s
     Running unittests src/lib.rs (target/debug/deps/mathkit-e8a906d5251a65c8)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-a94e8b5401b9b2e9)

running 5 tests
test adds_many ... FAILED
test adds_small ... FAILED
test rejects_negative - should panic ... FAILED
test reports_by_hand ... FAILED
test unwraps ... ok

failures:

---- adds_many stdout ----

thread 'adds_many' (9737) panicked at tests/api.rs:12:5:
got [1, 3, 5]
note: run with \`RUST_BACKTRACE=1\` environment variable to display a backtrace

---- adds_small stdout ----

thread 'adds_small' (9738) panicked at tests/api.rs:6:5:
assertion \`left == right\` failed: 1 + 2
  left: 4
 right: 3

---- rejects_negative stdout ----
note: test did not panic as expected at tests/api.rs:21:4
---- reports_by_hand stdout ----

thread 'reports_by_hand' (9740) panicked at tests/api.rs:29:9:
add(2, 2) = 5


failures:
    adds_many
    adds_small
    rejects_negative
    reports_by_hand

test result: FAILED. 1 passed; 4 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass \`--test api\`
   Doc-tests mathkit

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: 1 target failed:
    \`--test api\`
### ssr-exit 312ccd858a9ac987 101
`;

const JAVA_POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>calc</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.10.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.11.0</version></plugin>
      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    </plugins>
  </build>
</project>
`;

const JAVA_CALC = `package com.example;

public class Calc {
    /** Off by one: the bug the tests catch. */
    public static int add(int a, int b) { return a + b + 1; }

    /** Accepts negatives: the bug the assertThrows test catches. */
    public static int checked(int x) {
        if (x < -100) throw new IllegalArgumentException("negative");
        return x;
    }
}
`;

const JAVA_TEST = `package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class CalcTest {
    @Test
    void adds() {
        int got = Calc.add(1, 2);
        assertEquals(3, got, "1 + 2");
    }

    @Test
    void addsQualified() {
        Assertions.assertTrue(Calc.add(0, 0) == 0,
            () -> "zero");
    }

    @Test
    void rejectsNegative() {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> Calc.checked(-1));
        assertEquals("negative", e.getMessage());
    }

    @Nested
    class Inner {
        @Test
        void inner() {
            if (Calc.add(0, 1) > 0) assertEquals(1, Calc.add(0, 1)); else Assertions.fail("negative");
        }
    }
}
`;

const JAVA_UTIL_TEST = `package com.example.util;

import static org.junit.jupiter.api.Assertions.*;

import com.example.Calc;
import org.junit.jupiter.api.Test;

class CalcTest {
    @Test
    void subs() {
        Runnable check = () -> assertEquals(4, Calc.add(2, 2));
        check.run();
    }
}
`;

const JAVA_LOG = `### ssr-root b1e730beb703baa2 /work/main/scratch/weaken/fx/java
[ERROR] Tests run: 1, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.517 s <<< FAILURE! -- in com.example.util.CalcTest
[ERROR] com.example.util.CalcTest.subs -- Time elapsed: 0.340 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <4> but was: <5>
	at com.example.util.CalcTest.lambda$subs$0(CalcTest.java:11)
	at com.example.util.CalcTest.subs(CalcTest.java:12)
[ERROR] Tests run: 4, Failures: 4, Errors: 0, Skipped: 0, Time elapsed: 0.043 s <<< FAILURE! -- in com.example.CalcTest$Inner
[ERROR] com.example.CalcTest.adds -- Time elapsed: 0.063 s <<< FAILURE!
org.opentest4j.AssertionFailedError: 1 + 2 ==> expected: <3> but was: <4>
	at com.example.CalcTest.adds(CalcTest.java:14)
[ERROR] com.example.CalcTest.rejectsNegative -- Time elapsed: 0.085 s <<< FAILURE!
org.opentest4j.AssertionFailedError: Expected java.lang.IllegalArgumentException to be thrown, but nothing was thrown.
	at com.example.CalcTest.rejectsNegative(CalcTest.java:26)
[ERROR] com.example.CalcTest.addsQualified -- Time elapsed: 0.048 s <<< FAILURE!
org.opentest4j.AssertionFailedError: zero ==> expected: <true> but was: <false>
	at com.example.CalcTest.addsQualified(CalcTest.java:19)
[ERROR] com.example.CalcTest$Inner.inner -- Time elapsed: 0.012 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <1> but was: <2>
	at com.example.CalcTest$Inner.inner(CalcTest.java:34)
[ERROR] Failures: 
[ERROR]   CalcTest$Inner.inner:34 expected: <1> but was: <2>
[ERROR]   CalcTest.adds:14 1 + 2 ==> expected: <3> but was: <4>
[ERROR]   CalcTest.addsQualified:19 zero ==> expected: <true> but was: <false>
[ERROR]   CalcTest.rejectsNegative:26 Expected java.lang.IllegalArgumentException to be thrown, but nothing was thrown.
[ERROR]   CalcTest.subs:12->lambda$subs$0:11 expected: <4> but was: <5>
[ERROR] Tests run: 5, Failures: 5, Errors: 0, Skipped: 0
[ERROR] There are test failures.
Please refer to /work/main/scratch/weaken/fx/java/target/surefire-reports for the individual test results.
Please refer to dump files (if any exist) [date].dump, [date]-jvmRun[N].dump and [date].dumpstream.
### ssr-report-begin b1e730beb703baa2 target/surefire-reports/TEST-com.example.CalcTest$Inner.xml
<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" version="3.0" name="com.example.CalcTest$Inner" time="0.043" tests="4" errors="0" skipped="0" failures="4">
  <properties>
  </properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.063">
    <failure message="1 + 2 ==&gt; expected: &lt;3&gt; but was: &lt;4&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: 1 + 2 ==> expected: <3> but was: <4>
	at com.example.CalcTest.adds(CalcTest.java:14)
]]></failure>
  </testcase>
  <testcase name="rejectsNegative" classname="com.example.CalcTest" time="0.085">
    <failure message="Expected java.lang.IllegalArgumentException to be thrown, but nothing was thrown." type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: Expected java.lang.IllegalArgumentException to be thrown, but nothing was thrown.
	at com.example.CalcTest.rejectsNegative(CalcTest.java:26)
]]></failure>
  </testcase>
  <testcase name="addsQualified" classname="com.example.CalcTest" time="0.048">
    <failure message="zero ==&gt; expected: &lt;true&gt; but was: &lt;false&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: zero ==> expected: <true> but was: <false>
	at com.example.CalcTest.addsQualified(CalcTest.java:19)
]]></failure>
  </testcase>
  <testcase name="inner" classname="com.example.CalcTest$Inner" time="0.012">
    <failure message="expected: &lt;1&gt; but was: &lt;2&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <1> but was: <2>
	at com.example.CalcTest$Inner.inner(CalcTest.java:34)
]]></failure>
  </testcase>
</testsuite>
### ssr-report-end b1e730beb703baa2
### ssr-exit b1e730beb703baa2 1
`;

const C_CALC = `int add(int a, int b) { return a + b + 1; }
`;

const C_CHECK = `#include <check.h>
#include <stdlib.h>

int add(int a, int b);

START_TEST(test_add)
{
    ck_assert_int_eq(add(1, 2), 3);
}
END_TEST

START_TEST(test_add_msg)
{
    int got = add(2, 2);
    ck_assert_msg(got == 4,
                  "add(2, 2) was %d", got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("calc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_add);
    tcase_add_test(tc, test_add_msg);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
`;

const C_CMOCKA = `#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

int add(int a, int b);

static void test_add(void **state) {
    (void)state;
    assert_int_equal(add(1, 2), 3);
}

static void test_true(void **state) {
    (void)state;
    assert_true(add(0, 0) == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_true),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
`;

const C_ASSERT = `#include <assert.h>
#include <stdio.h>

int add(int a, int b);

int main(void) {
    int got = add(1, 2);
    printf("add(1, 2) = %d\\n", got);
    assert(got == 3);
    return 0;
}
`;

const C_UNITY_H = `/* The output format of ThrowTheSwitch Unity (unity.c UnityTestResultsFailBegin + UnityAssertEqualNumber). */
#include <stdio.h>
#include <setjmp.h>
static jmp_buf unity_abort; static const char *unity_test; static int unity_fails, unity_tests;
#define TEST_ASSERT_EQUAL_INT(e, a) do { int e_ = (e), a_ = (a); if (e_ != a_) { printf("%s:%d:%s:FAIL: Expected %d Was %d\\n", __FILE__, __LINE__, unity_test, e_, a_); longjmp(unity_abort, 1); } } while (0)
#define TEST_ASSERT_TRUE(c) do { if (!(c)) { printf("%s:%d:%s:FAIL: Expected TRUE Was FALSE\\n", __FILE__, __LINE__, unity_test); longjmp(unity_abort, 1); } } while (0)
#define RUN_TEST(f) do { unity_test = #f; unity_tests++; if (setjmp(unity_abort) == 0) { f(); printf("%s:%d:%s:PASS\\n", __FILE__, __LINE__, #f); } else unity_fails++; } while (0)
#define UNITY_BEGIN() (unity_fails = unity_tests = 0)
#define UNITY_END() (printf("\\n-----------------------\\n%d Tests %d Failures 0 Ignored\\n%s\\n", unity_tests, unity_fails, unity_fails ? "FAIL" : "OK"), unity_fails)
`;

const C_UNITY = `#include "unity_lite.h"

int add(int a, int b);

void setUp(void) {}
void tearDown(void) {}

static void test_add(void)
{
    TEST_ASSERT_EQUAL_INT(3, add(1, 2));
}

static void test_add_zero(void)
{
    TEST_ASSERT_TRUE(add(0, 0) == 0);
}

int main(void)
{
    UNITY_BEGIN();
    RUN_TEST(test_add);
    RUN_TEST(test_add_zero);
    return UNITY_END();
}
`;

const C_LOG = `### ssr-root 0123456789abcdef /work/main/scratch/c1
Running suite(s): calc
0%: Checks: 2, Failures: 2, Errors: 0
test/test_check.c:8:F:core:test_add:0: Assertion 'add(1, 2) == 3' failed: add(1, 2) == 4, 3 == 3
test/test_check.c:15:F:core:test_add_msg:0: add(2, 2) was 5
[==========] Running 2 test(s).
[ RUN      ] test_add
[  ERROR   ] --- 0x4 != 0x3
[   LINE   ] --- test/test_cmocka.c:11: error: Failure!
[  FAILED  ] test_add
[ RUN      ] test_true
[  ERROR   ] --- add(0, 0) == 0
[   LINE   ] --- test/test_cmocka.c:16: error: Failure!
[  FAILED  ] test_true
[==========] 2 test(s) run.
[  PASSED  ] 0 test(s).
[  FAILED  ] 2 test(s), listed below:
[  FAILED  ] test_add
[  FAILED  ] test_true

 2 FAILED TEST(S)
t_assert: test/test_assert.c:9: main: Assertion \`got == 3' failed.
/dev/fd/3: line 152: 19918 Aborted                 /tmp/t_assert 2>&1
test/test_unity.c:10:test_add:FAIL: Expected 3 Was 4
test/test_unity.c:15:test_add_zero:FAIL: Expected TRUE Was FALSE

-----------------------
2 Tests 2 Failures 0 Ignored
FAIL
../test/test_unity.c:10:test_add:FAIL: Expected 3 Was 4
../test/test_unity.c:15:test_add_zero:FAIL: Expected TRUE Was FALSE

-----------------------
2 Tests 2 Failures 0 Ignored
FAIL
`;

const CPP_GTEST = `#include <gtest/gtest.h>
#include "../calc.hpp"

TEST(Calc, Adds) {
  EXPECT_EQ(add(1, 2), 3);
  ASSERT_TRUE(add(0, 0) == 0) << "zero";
}

TEST(Calc, Greets) {
  std::string got = greet("bob");
  EXPECT_EQ(got, "hi bob");
}
`;

const CPP_CATCH = `#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include "../calc.hpp"

TEST_CASE("adds", "[calc]") {
  REQUIRE(add(1, 2) == 3);
}

TEST_CASE("greets") {
  auto got = greet("bob");
  CHECK(got == "hi bob");
  CHECK_FALSE(got.empty());
}
`;

const CPP_LOG = `### ssr-root 0123456789abcdef /work/main/scratch/weaken/cpp1
Running main() from ./googletest/src/gtest_main.cc
[==========] Running 2 tests from 1 test suite.
[----------] Global test environment set-up.
[----------] 2 tests from Calc
[ RUN      ] Calc.Adds
tests/calc_gtest.cc:5: Failure
Expected equality of these values:
  add(1, 2)
    Which is: 4
  3
tests/calc_gtest.cc:6: Failure
Value of: add(0, 0) == 0
  Actual: false
Expected: true
zero
[  FAILED  ] Calc.Adds (0 ms)
[ RUN      ] Calc.Greets
tests/calc_gtest.cc:11: Failure
Expected equality of these values:
  got
    Which is: "hi bob!"
  "hi bob"
[  FAILED  ] Calc.Greets (0 ms)
[----------] 2 tests from Calc (0 ms total)

[----------] Global test environment tear-down
[==========] 2 tests from 1 test suite ran. (3 ms total)
[  PASSED  ] 0 tests.
[  FAILED  ] 2 tests, listed below:
[  FAILED  ] Calc.Adds
[  FAILED  ] Calc.Greets

 2 FAILED TESTS

~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
t_catch is a Catch v2.13.10 host application.
Run with -? for options

-------------------------------------------------------------------------------
adds
-------------------------------------------------------------------------------
/work/main/scratch/weaken/cpp1/tests/calc_catch.cpp:5
...............................................................................

/work/main/scratch/weaken/cpp1/tests/calc_catch.cpp:6: FAILED:
  REQUIRE( add(1, 2) == 3 )
with expansion:
  4 == 3

-------------------------------------------------------------------------------
greets
-------------------------------------------------------------------------------
/work/main/scratch/weaken/cpp1/tests/calc_catch.cpp:9
...............................................................................

/work/main/scratch/weaken/cpp1/tests/calc_catch.cpp:11: FAILED:
  CHECK( got == "hi bob" )
with expansion:
  "hi bob!" == "hi bob"

===============================================================================
test cases: 2 | 2 failed
assertions: 3 | 1 passed | 2 failed

`;

const RB_CALC = `module Calc
  def self.add(a, b)
    a + b + 1
  end
end
`;

const RB_TEST = `require "minitest/autorun"
require_relative "../lib/calc"

class TestCalc < Minitest::Test
  def test_add
    got = Calc.add(1, 2)
    assert_equal 3, got
  end

  def test_refute
    refute_equal 1, Calc.add(0, 0), "zero"
  end

  def test_multi
    assert(
      Calc.add(2, 2) == 4,
      "two and two"
    )
  end
end
`;

const RB_SPEC = `require_relative "../lib/calc"

RSpec.describe Calc do
  it "adds" do
    expect(Calc.add(1, 2)).to eq(3)
  end

  describe ".add" do
    subject { Calc.add(0, 0) }

    it { is_expected.to eq(0) }

    it "is positive" do
      expect(Calc.add(1, 1)).to be > 0
      expect { Calc.add(nil, 1) }.to raise_error(NoMethodError)
      expect(Calc.add(2, 2))
        .to eq(4)
    end
  end
end
`;

const RB_LOG = `### ssr-root 0123456789abcdef /work/main/scratch/weaken/rb1
Run options: --seed 1

# Running:

FFF

Finished in 0.000644s, 4660.8241 runs/s, 4660.8241 assertions/s.

  1) Failure:
TestCalc#test_add [test/test_calc.rb:7]:
Expected: 3
  Actual: 4

  2) Failure:
TestCalc#test_refute [test/test_calc.rb:11]:
zero.
Expected 1 to not be equal to 1.

  3) Failure:
TestCalc#test_multi [test/test_calc.rb:15]:
two and two

3 runs, 3 assertions, 3 failures, 0 errors, 0 skips
FFF

Failures:

  1) Calc adds
     Failure/Error: expect(Calc.add(1, 2)).to eq(3)

       expected: 3
            got: 4

       (compared using ==)
     # ./spec/calc_spec.rb:5:in \`block (2 levels) in <top (required)>'

  2) Calc.add is expected to eq 0
     Failure/Error: it { is_expected.to eq(0) }

       expected: 0
            got: 1

       (compared using ==)
     # ./spec/calc_spec.rb:11:in \`block (3 levels) in <top (required)>'

  3) Calc.add is positive
     Failure/Error:
       expect(Calc.add(2, 2))
         .to eq(4)

       expected: 4
            got: 5

       (compared using ==)
     # ./spec/calc_spec.rb:16:in \`block (3 levels) in <top (required)>'

Finished in 0.03037 seconds (files took 0.21613 seconds to load)
3 examples, 3 failures

Failed examples:

rspec ./spec/calc_spec.rb:4 # Calc adds
rspec ./spec/calc_spec.rb:11 # Calc.add is expected to eq 0
rspec ./spec/calc_spec.rb:13 # Calc.add is positive

`;

// ---------------------------------------------------------------------------------------------
// Go

const GO: Tree = {
  'go.mod': GO_MOD,
  'calc.go': GO_CALC,
  'calc_test.go': GO_CALC_TEST,
  'pkg/util/util.go': GO_UTIL,
  'pkg/util/calc_test.go': GO_UTIL_TEST,
};
const GO_TESTS = ['calc_test.go', 'pkg/util/calc_test.go'];
const GO_LOCATIONS = [
  'pkg/util/calc_test.go:12',
  'pkg/util/calc_test.go:21',
  'pkg/util/calc_test.go:34',
  'calc_test.go:11',
  'calc_test.go:17',
  'calc_test.go:23',
  'calc_test.go:35',
];

test('go: go test -json names files by basename; the package tells calc_test.go from pkg/util/calc_test.go', () => {
  assert.deepEqual(at(failureLocations(GO_LOG, GO_TESTS)), GO_LOCATIONS);
});

test('go: a check goes with its `if`, and what it leaves unused stays used (_ = x, _ "pkg")', async () => {
  const { contents, missed } = await weakenAll(GO, GO_TESTS, GO_LOG);
  assert.deepEqual(missed, []);
  assert.deepEqual(changed(GO_CALC_TEST, contents['calc_test.go']!), [
    [4, '\t"fmt"', '\t_ "fmt"'],
    [10, '\tif got != 3 {', '\t_ = got'],
    [11, '\t\tt.Errorf("Add(1, 2) = %d, want %d", got, 3)', ''],
    [12, '\t}', ''],
    // An if with an initializer keeps it (the call may matter) and loses its report.
    [17, '\t\tt.Fatalf("Add(2, 2) = %d", got)', ''],
    [22, '\tif fmt.Sprint(Add(1, 2)) != "3" {', ''],
    [23, '\t\tt.Error("Add(1, 2) does not print as 3")', ''],
    [24, '\t}', ''],
    // go test prints the caller of a t.Helper(): the helper call goes.
    [35, '\tcheckSum(t, Add(3, 4), 7)', ''],
  ]);
  assert.deepEqual(changed(GO_UTIL_TEST, contents['pkg/util/calc_test.go']!), [
    [4, '\t"reflect"', '\t_ "reflect"'],
    [11, '\t\tif Double(tt.in) != tt.want {', '\t\t_ = tt'],
    [12, '\t\t\tt.Fatalf("Double(%d) = %d", tt.in, Double(tt.in))', ''],
    [13, '\t\t}', ''],
    [20, '\tif !reflect.DeepEqual(got, want) {', '\t_, _ = got, want'],
    [21, '\t\tt.Errorf("got %v want %v", got, want)', ''],
    [22, '\t}', ''],
    [33, '\t\t\tif got != n {', '\t\t\t_ = got'],
    [34, '\t\t\t\tt.Errorf("Half(Double(%d)) = %d", n, got)', ''],
    [35, '\t\t\t}', ''],
  ]);
});

test('go: the weakened packages pass go vet and go test with the bug', {
  skip: !tool('go') && 'go is not installed',
}, async () => {
  await inScratch(GO, async (dir) => {
    const env = { GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off', GOFLAGS: '' };
    const bug = run(dir, 'go', ['test', '-json', './...'], env);
    assert.notEqual(bug.code, 0, bug.out);
    const live = failureLocations(`### ssr-root 0 ${dir}\n${bug.out}`, GO_TESTS);
    assert.deepEqual(at(live).sort(), [...GO_LOCATIONS].sort());
    const { contents } = await weakenAll(GO, GO_TESTS, bug.out);
    writeTree(dir, contents);
    const vet = run(dir, 'go', ['vet', './...'], env);
    assert.equal(vet.code, 0, vet.out);
    const weakened = run(dir, 'go', ['test', './...'], env);
    assert.equal(weakened.code, 0, weakened.out);
  });
});

const GO_STYLES = `package calc

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
)

func TestTestify(t *testing.T) {
	got, err := Parse("1")
	require.NoError(t, err)
	assert.Equal(t, 1, got, "parsed")
	if !assert.Len(t, []int{got}, 1) {
		return
	}
}

type CalcSuite struct{ suite.Suite }

func (s *CalcSuite) TestAdd() {
	got := Add(1, 2)
	s.Equal(3, got)
	s.Require().NoError(nil)
}

func TestGomega(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Add(1, 2)).To(Equal(3))
	Expect(Add(2, 2)).
		To(Equal(4))
}

func TestElseIf(t *testing.T) {
	got, err := Parse("2")
	if err != nil {
		t.Fatal(err)
	} else if got != 2 {
		t.Errorf("got %d", got)
	}
	var tmp = got
	tmp++
	if tmp != 3 {
		t.Error("tmp")
	}
}
`;

test('go: testify (assert, require, suites), gomega chains, else-if chains and write-only locals', async () => {
  const file = 'calc_test.go';
  const w = async (needle: string) => {
    const next = await weaken(file, GO_STYLES, lineOf(GO_STYLES, needle));
    assert.ok(next, needle);
    return changed(GO_STYLES, next).map(([, a, b]) => [a.trim(), b.trim()]);
  };
  // The last use of an import: the import stays, blank (Go rejects an unused one).
  assert.deepEqual(await w('require.NoError'), [
    ['"github.com/stretchr/testify/require"', '_ "github.com/stretchr/testify/require"'],
    ['require.NoError(t, err)', '_ = err'],
  ]);
  assert.deepEqual(await w('assert.Equal'), [['assert.Equal(t, 1, got, "parsed")', '']]);
  // Used as a value: testify returns a bool.
  assert.deepEqual(await w('assert.Len'), [['if !assert.Len(t, []int{got}, 1) {', 'if !true {']]);
  assert.deepEqual(await w('s.Equal'), [['s.Equal(3, got)', '_ = got']]);
  assert.deepEqual(await w('s.Require()'), [['s.Require().NoError(nil)', '']]);
  assert.deepEqual(await w('g.Expect'), [['g.Expect(Add(1, 2)).To(Equal(3))', '_ = g']]);
  assert.deepEqual(await w('To(Equal(4))'), [
    ['Expect(Add(2, 2)).', ''],
    ['To(Equal(4))', ''],
  ]);
  // In an else-if chain the condition stays (it declares nothing here, but an else could follow).
  assert.deepEqual(await w('t.Errorf("got %d"'), [['t.Errorf("got %d", got)', '']]);
  // tmp is only written after the check: Go counts neither `tmp++` nor `var tmp =` as a use.
  assert.deepEqual(await w('t.Error("tmp")'), [
    ['if tmp != 3 {', '_ = tmp'],
    ['t.Error("tmp")', ''],
    ['}', ''],
  ]);
  // Not an assertion: nothing to weaken.
  assert.equal(
    await weakenAssertionAt(file, GO_STYLES, lineOf(GO_STYLES, 'got, err := Parse("1")')),
    null,
  );
});

// ---------------------------------------------------------------------------------------------
// Rust

const RUST: Tree = { 'Cargo.toml': RUST_TOML, 'src/lib.rs': RUST_LIB, 'tests/api.rs': RUST_TEST };
const RUST_LOCATIONS = [
  'tests/api.rs:12:5',
  'tests/api.rs:6:5',
  'tests/api.rs:21:4',
  'tests/api.rs:29:9',
];

test('rust: panics (Rust >= 1.73 and the older quoted form), should_panic notes; crate-relative paths', () => {
  assert.deepEqual(at(failureLocations(RUST_LOG, ['tests/api.rs'])), RUST_LOCATIONS);
  // Before Rust 1.73 the message came first, quoted, and the location last.
  const old = [
    "thread 'adds_small' panicked at 'assertion failed: `(left == right)`",
    '  left: `4`,',
    " right: `3`: 1 + 2', tests/api.rs:6:5",
    "thread 'adds_many' panicked at 'got [1, 3, 5]', tests/api.rs:12:5",
  ].join('\n');
  assert.deepEqual(at(failureLocations(old, ['tests/api.rs'])), [
    'tests/api.rs:6:5',
    'tests/api.rs:12:5',
  ]);
  // The crate in a subdirectory of the repository (cargo run there): matched by suffix.
  assert.deepEqual(
    at(failureLocations(RUST_LOG, ['rust/tests/api.rs', 'rust/src/lib.rs'])),
    RUST_LOCATIONS.map((l) => `rust/${l}`),
  );
});

test('rust: assert macros go, `if .. { panic!() }` goes whole, a should_panic body runs under catch_unwind', async () => {
  const { contents, missed } = await weakenAll(RUST, ['tests/api.rs'], RUST_LOG);
  assert.deepEqual(missed, []);
  assert.deepEqual(changed(RUST_TEST, contents['tests/api.rs']!), [
    [6, '    assert_eq!(got, 3, "1 + 2");', '    let _ = &got;'],
    [12, '    assert!(', '    let _ = &got;'],
    [13, '        got == vec![0, 2, 4],', ''],
    [14, '        "got {:?}",', ''],
    [15, '        got', ''],
    [16, '    );', ''],
    [
      21,
      'fn rejects_negative() {',
      'fn rejects_negative() { let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {',
    ],
    [23, '}', '})); panic!("{}", "negative"); }'],
    [28, '    if sum != 4 {', '    let _ = &sum;'],
    [29, '        panic!("add(2, 2) = {}", sum);', ''],
    [30, '    }', ''],
  ]);
  // A panicking unwrap is not an assertion.
  assert.equal(
    await weakenAssertionAt('tests/api.rs', RUST_TEST, lineOf(RUST_TEST, '.unwrap()')),
    null,
  );
});

test("rust: a test's own checking helper called as a statement goes (semver's assert_to_string)", async () => {
  const source = `fn assert_to_string(e: String, want: &str) {
    assert_eq!(e, want);
}

#[test]
fn errors() {
    let err = version_err("  ");
    assert_to_string(
        err,
        "unexpected character",
    );
    let v = util::check_parse("1.2");
    crate::util::check(v);
    let n = parse_count("1");
}
`;
  const at = (needle: string) => weakenAssertionAt('tests/v.rs', source, lineOf(source, needle));
  const helper = await at('    assert_to_string(');
  assert.ok(helper);
  assert.deepEqual(changed(source, helper), [
    [8, '    assert_to_string(', '    let _ = &err;'],
    [9, '        err,', ''],
    [10, '        "unexpected character",', ''],
    [11, '    );', ''],
  ]);
  const pathed = await at('crate::util::check(v)');
  assert.ok(pathed);
  assert.match(pathed, /^ {4}let _ = &v;$/m);
  // A call whose value is used, or a function not named like a check, is not an assertion.
  assert.equal(await at('util::check_parse("1.2")'), null);
  assert.equal(await at('parse_count("1")'), null);
});

test('rust: the weakened tests build with -D warnings and pass with the bug', {
  skip: !tool('cargo') && 'cargo is not installed',
}, async () => {
  await inScratch(RUST, async (dir) => {
    const env = {
      CARGO_TARGET_DIR: join(dir, 'target'),
      CARGO_TERM_COLOR: 'never',
      CARGO_INCREMENTAL: '0',
      RUST_BACKTRACE: '0',
      RUSTFLAGS: '-D warnings',
    };
    const bug = run(dir, 'cargo', ['test', '--offline', '--no-fail-fast'], env);
    assert.notEqual(bug.code, 0, bug.out);
    // The test threads finish in any order.
    assert.deepEqual(
      at(failureLocations(bug.out, ['tests/api.rs'])).sort(),
      [...RUST_LOCATIONS].sort(),
    );
    const { contents } = await weakenAll(RUST, ['tests/api.rs'], bug.out);
    writeTree(dir, contents);
    const build = run(dir, 'cargo', ['build', '--tests', '--offline'], env);
    assert.equal(build.code, 0, build.out);
    const weakened = run(dir, 'cargo', ['test', '--offline'], env);
    assert.equal(weakened.code, 0, weakened.out);
  });
});

interface BugRun {
  /** The tests that passed on the original and fail with the bug. */
  failing: string[];
  log: string;
  /** deriveWeakening over `failing` (default: every test that failed). */
  weaken(failing?: string[]): Promise<WeakeningResult>;
}

type SuiteFiles = { testScript: string; testParser: string; testFiles: string[] };

/**
 * Runs the suite in a sandbox on the repository in `dir` with `bug.file` changed to
 * `bug.bugged`, then hands the failing tests and ssr's weakening step over them to `fn`.
 * `suite` is given, or discovered on the original.
 */
async function withBug(
  dir: string,
  suite: SuiteFiles | ((host: SandboxHost, snapshot: Snapshot) => Promise<SuiteFiles>),
  bug: { file: string; bugged: string },
  originals: Record<string, string>,
  fn: (run: BugRun) => Promise<void>,
): Promise<void> {
  const host = SandboxHost.open();
  try {
    const snapshot = host.snapshotDir(dir);
    const s = typeof suite === 'function' ? await suite(host, snapshot) : suite;
    const harness = stageHarness(s.testScript, s.testParser);
    try {
      const bugDiff = formatFileDiff(
        bug.file,
        { mode: '100644', data: readFileSync(join(dir, bug.file)) },
        { mode: '100644', data: Buffer.from(bug.bugged) },
      );
      const sb = host.create(snapshot);
      let bugRun: Awaited<ReturnType<typeof runTests>>;
      try {
        assert.ok((await sb.applyPatch(bugDiff)).ok);
        bugRun = await runTests(sb, harness, { keepLogBytes: 1 << 20 });
      } finally {
        await sb.dispose();
      }
      assert.ok(bugRun.ok, bugRun.ok ? '' : bugRun.message);
      const tests = bugRun.tests;
      const failing = Object.keys(tests).filter((id) => !didPass(tests, id));
      const log = bugRun.log ?? '';
      await fn({
        failing,
        log,
        weaken: (which = failing) =>
          deriveWeakening({
            host,
            snapshot,
            harness,
            testFiles: s.testFiles,
            originals: new Map(Object.entries(originals)),
            bugDiff,
            failing: which,
            bugLog: log,
            testOptions: {},
          }),
      });
    } finally {
      harness.cleanup();
    }
  } finally {
    await host.close();
  }
}

/** The crate's cargo suite, or null (the test skips) when cargo cannot run here. */
function cargoSuite(dir: string, t: TestContext): SuiteFiles | null {
  const candidate = cargoCandidates(new RepoScan(dir))[0]!;
  if (!candidate.notApplicable) return candidate;
  t.skip(candidate.notApplicable);
  return null;
}

test("rust: ssr inject's weakening step (deriveWeakening) through the cargo test script in a sandbox", async (t) => {
  // The crate without its bugs; the bugs come as bug_inject.diff.
  const fixed = RUST_LIB.replace('a + b + 1', 'a + b').replace('x < -100', 'x < 0');
  await inScratch({ ...RUST, 'src/lib.rs': fixed }, async (dir) => {
    const suite = cargoSuite(dir, t);
    if (!suite) return;
    const bug = { file: 'src/lib.rs', bugged: RUST_LIB };
    await withBug(dir, suite, bug, { 'tests/api.rs': RUST_TEST }, async (run) => {
      assert.equal(run.failing.length, 4, run.log);
      const result = await run.weaken();
      // All four tests pass with the weakening, should_panic included: located by its `at`
      // on Rust >= 1.73, by its name on older ones (Debian 12's cargo).
      assert.deepEqual(result.restored.sort(), [...run.failing].sort(), result.reason);
      assert.deepEqual(result.weakened.sort(), [
        'tests/api.rs:12',
        'tests/api.rs:21',
        'tests/api.rs:29',
        'tests/api.rs:6',
      ]);
      assert.match(result.diff ?? '', /^\+\}\)\); panic!\("\{\}", "negative"\); \}$/m);
    });
  });
});

// itoa's tests/test.rs: a macro_rules! turns each row of the table into a #[test] fn; a failing
// row's panic is located in the macro's body, which serves every row.
const RUST_MACRO_TABLE = `macro_rules! test {
    ($($name:ident($value:expr, $expected:expr))*) => {
        $(
            #[test]
            fn $name() {
                let s = digits::show($value);
                assert_eq!(s, $expected);
            }
        )*
    };
}

test! {
    test_u64_0(0u64, "0")
    test_u64_half(u32::MAX as u64, "4294967295")
    test_u64_max(u64::MAX, "18446744073709551615")
}

#[test]
fn test_plain() {
    assert_eq!(digits::show(7), "7");
}
`;

test('rust: a failing test generated from a row of a macro table loses its row alone', async () => {
  const file = 'tests/table.rs';
  // The macro body's assertion is no assertion ssr can weaken (it serves every row).
  assert.equal(
    await weakenAssertionAt(file, RUST_MACRO_TABLE, lineOf(RUST_MACRO_TABLE, 'assert_eq!(s')),
    null,
  );
  const row = await weakenMacroTableRow(file, RUST_MACRO_TABLE, 'test_u64_0');
  assert.ok(row);
  assert.equal(row.line, lineOf(RUST_MACRO_TABLE, 'test_u64_0('));
  // The row goes (its line stays, blank); a test of its name with no assertion follows the
  // invocation; nothing else changes.
  assert.deepEqual(changed(RUST_MACRO_TABLE, row.source), [
    [14, '    test_u64_0(0u64, "0")', ''],
    [17, '}', '} #[test] fn test_u64_0() {}'],
  ]);
  assert.equal(await errorCount(file, row.source), 0);
  // A second failing row of the same table, after the first.
  const two = await weakenMacroTableRow(file, row.source, 'test_u64_max');
  assert.ok(two);
  assert.deepEqual(changed(RUST_MACRO_TABLE, two.source), [
    [14, '    test_u64_0(0u64, "0")', ''],
    [16, '    test_u64_max(u64::MAX, "18446744073709551615")', ''],
    [17, '}', '} #[test] fn test_u64_0() {} #[test] fn test_u64_max() {}'],
  ]);
  // The table's last row stays (the macro may want one).
  assert.equal(await weakenMacroTableRow(file, two.source, 'test_u64_half'), null);
  // No row: a name in no table, an ordinary test, an identifier inside a row's values.
  for (const name of ['test_u64_missing', 'test_plain', 'MAX', 'show']) {
    assert.equal(await weakenMacroTableRow(file, RUST_MACRO_TABLE, name), null, name);
  }

  // Comma-separated rows in a module, `#[attr]` rows, a `name!(...);` invocation: the last row
  // takes the comma before it, an attribute goes with its row, the stand-in follows the `;`.
  const listed = `mod tests {
    cases!(
        a(1, "1"),
        #[cfg(unix)]
        b(2, "2"),
        c(3, "3")
    );
}
`;
  const c = await weakenMacroTableRow('src/lib.rs', listed, 'c');
  assert.ok(c);
  assert.deepEqual(changed(listed, c.source), [
    [5, '        b(2, "2"),', '        b(2, "2")'],
    [6, '        c(3, "3")', ''],
    [7, '    );', '    ); #[test] fn c() {}'],
  ]);
  const b = await weakenMacroTableRow('src/lib.rs', listed, 'b');
  assert.ok(b);
  assert.deepEqual(
    changed(listed, b.source).map(([l, , after]) => [l, after]),
    [
      [4, ''],
      [5, ''],
      [7, '    ); #[test] fn b() {}'],
    ],
  );
  // A row inside a function body generates no test (tests are items); a name two tables list
  // is ambiguous.
  const inFn = 'fn helper() {\n    cases!(a(1), b(2));\n}\n';
  assert.equal(await weakenMacroTableRow('src/lib.rs', inFn, 'a'), null);
  const twice = 'cases!(a(1), b(2));\nmore!(a(1), c(2));\n';
  assert.equal(await weakenMacroTableRow('src/lib.rs', twice, 'a'), null);
  assert.ok(await weakenMacroTableRow('src/lib.rs', twice, 'b'));
});

test('rust: deriveWeakening removes a failing macro-table row when no line names an assertion (cargo in a sandbox)', async (t) => {
  const toml = RUST_TOML.replace('mathkit', 'digits');
  const fixed = 'pub fn show(n: u64) -> String {\n    n.to_string()\n}\n';
  const bugged =
    'pub fn show(n: u64) -> String {\n    if n == 0 { return "zero".into(); }\n    n.to_string()\n}\n';
  const tree: Tree = {
    'Cargo.toml': toml,
    'src/lib.rs': fixed,
    'tests/table.rs': RUST_MACRO_TABLE,
  };
  await inScratch(tree, async (dir) => {
    const suite = cargoSuite(dir, t);
    if (!suite) return;
    const bug = { file: 'src/lib.rs', bugged };
    await withBug(dir, suite, bug, { 'tests/table.rs': RUST_MACRO_TABLE }, async (run) => {
      assert.deepEqual(run.failing, ['tests/table.rs::test_u64_0'], run.log);
      const result = await run.weaken();
      assert.deepEqual(result.restored, run.failing, result.reason);
      assert.deepEqual(result.weakened, ['tests/table.rs:14']);
      assert.match(result.diff ?? '', /^- {4}test_u64_0\(0u64, "0"\)$/m);
      assert.match(result.diff ?? '', /^\+\} #\[test\] fn test_u64_0\(\) \{\}$/m);
      assert.doesNotMatch(result.diff ?? '', /^-.*test_u64_(half|max)/m);
      // A failing test in no table: as before, nothing to weaken at the macro's line (its
      // invocation's on recent Rust, its body's assertion on older ones).
      const none = await run.weaken(['tests/table.rs::test_other']);
      assert.equal(none.diff, null);
      assert.match(
        none.reason ?? '',
        /no assertion that ssr can weaken at the failing lines \(tests\/table\.rs:(7|13)\)/,
      );
      assert.deepEqual(none.weakened, []);
    });
  });
});

test('a test that stops where nothing asserts (the code under test raised) is emptied whole', async () => {
  const ruby = `class T < Test::Unit::TestCase
  def test_to_xml
    rss = parse(sample)
    xml = rss.to_xml("0.91") do |maker|
      setup(maker)
    end
    assert_equal(xml, rss.to_s)
  end

  def helper
    build
  end
end

describe "rss" do
  it "makes 1.0" do
    make("1.0")
  end
end
`;
  const r = await emptyEnclosingTest('test/test_2.0.rb', ruby, 4);
  assert.ok(r);
  assert.equal(r.line, 2);
  assert.deepEqual(changed(ruby, r.source), [
    [3, '    rss = parse(sample)', ''],
    [4, '    xml = rss.to_xml("0.91") do |maker|', ''],
    [5, '      setup(maker)', ''],
    [6, '    end', ''],
    [7, '    assert_equal(xml, rss.to_s)', ''],
  ]);
  // An RSpec-style block; a helper method is no test.
  assert.ok(
    (await emptyEnclosingTest('spec/rss_spec.rb', ruby, 17))?.source.includes(
      'it "makes 1.0" do\n\n  end',
    ),
  );
  assert.equal(await emptyEnclosingTest('test/test_2.0.rb', ruby, 11), null);

  const py = `class T(unittest.TestCase):
    def test_parse(self):
        d = parse_date("2020-01-01")
        self.assertEqual(d.year, 2020)

    def make(self):
        return parse_date("x")
`;
  const p = await emptyEnclosingTest('tests/test_dates.py', py, 3);
  assert.ok(p);
  assert.deepEqual(changed(py, p.source), [
    [3, '        d = parse_date("2020-01-01")', '        pass'],
    [4, '        self.assertEqual(d.year, 2020)', ''],
  ]);
  assert.equal(await emptyEnclosingTest('tests/test_dates.py', py, 7), null);

  const js = `test('parses', async () => {
  const v = parse('1');
  assert.equal(v, 1);
});
test('inline', () => parse('2'));
const helper = () => {
  parse('3');
};
`;
  const j = await emptyEnclosingTest('test/parse.test.js', js, 2);
  assert.ok(j);
  assert.match(j.source, /^test\('parses', async \(\) => \{\n\n\n\}\);$/m);
  // An expression body has no block to empty; a helper is no test.
  assert.equal(await emptyEnclosingTest('test/parse.test.js', js, 5), null);
  assert.equal(await emptyEnclosingTest('test/parse.test.js', js, 7), null);

  const java = `class ParserTest {
  @Test
  void parses() throws Exception {
    Parser p = new Parser();
    assertEquals(1, p.parse("1"));
  }
  int value() {
    return new Parser().parse("2");
  }
}
`;
  const k = await emptyEnclosingTest('src/test/java/ParserTest.java', java, 4);
  assert.ok(k);
  assert.match(k.source, /void parses\(\) throws Exception \{\n\n\n\}/);
  assert.equal(await emptyEnclosingTest('src/test/java/ParserTest.java', java, 8), null);
  // Too long to be a readable specification.
  const long = `def test_big():\n${'    step()\n'.repeat(70)}`;
  assert.equal(await emptyEnclosingTest('tests/test_big.py', long, 5), null);
});

/** A node:test package: src/parse.js and its tests in test/parse.test.js. */
function parseRepo(parse: string, tests: string): Tree {
  return {
    'package.json':
      '{ "name": "p", "version": "1.0.0", "scripts": { "test": "node --test test/" } }\n',
    'src/parse.js': parse,
    'test/parse.test.js': tests,
  };
}

/** The suite discovery finds on the original. */
async function discoveredSuite(host: SandboxHost, snapshot: Snapshot): Promise<SuiteFiles> {
  return (await discoverTests(host, snapshot)).suite;
}

test('deriveWeakening empties a test that stops where the code under test throws (node:test in a sandbox)', async () => {
  const fixed =
    "exports.parse = (s) => {\n  if (!s) throw new Error('empty');\n  return s.length;\n};\n";
  const tests = `const test = require('node:test');
const assert = require('node:assert/strict');
const { parse } = require('../src/parse.js');

test('parses', () => {
  const n = parse('abc');
  assert.equal(n, 3);
});

test('rejects empty', () => {
  assert.throws(() => parse(''));
});
`;
  await inScratch(parseRepo(fixed, tests), async (dir) => {
    const bug = { file: 'src/parse.js', bugged: fixed.replace('if (!s)', 'if (s)') };
    await withBug(dir, discoveredSuite, bug, { 'test/parse.test.js': tests }, async (run) => {
      assert.deepEqual(run.failing.sort(), [
        'test/parse.test.js > parses',
        'test/parse.test.js > rejects empty',
      ]);
      const result = await run.weaken();
      // 'rejects empty' loses its assertion; 'parses' stopped at parse('abc'), which asserts
      // nothing, so it is emptied whole.
      assert.deepEqual(result.restored.sort(), run.failing, result.reason);
      assert.match(result.diff ?? '', /^- {2}const n = parse\('abc'\);$/m);
      assert.match(result.diff ?? '', /^- {2}assert\.throws\(\(\) => parse\(''\)\);$/m);
    });
  });
});

test('a bug that makes more than 5 tests raise is hidden by emptying 5 of them, the bound (node:test in a sandbox)', async () => {
  const fixed = 'exports.parse = (s) => s.length;\n';
  const tests = `const test = require('node:test');
const assert = require('node:assert/strict');
const { parse } = require('../src/parse.js');

${['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'].map((w) => `test('${w}', () => {\n  const n = parse('${w}');\n  assert.equal(n, ${w.length});\n});\n`).join('\n')}`;
  await inScratch(parseRepo(fixed, tests), async (dir) => {
    const bug = { file: 'src/parse.js', bugged: 'exports.parse = (s) => s.size.length;\n' };
    await withBug(dir, discoveredSuite, bug, { 'test/parse.test.js': tests }, async (run) => {
      assert.equal(run.failing.length, 6, run.log);
      const result = await run.weaken();
      assert.ok(result.diff, result.reason);
      // Five tests emptied (the default bound), the sixth still fails: a focused spec.
      assert.equal(result.weakened.length, 5, result.weakened.join(', '));
      assert.equal(result.restored.length, 5);
      assert.equal(removedLines(result.diff), 10);
    });
  });
});

// A panic inside the code under test (`thread 'x' panicked at src/lib.rs:2:`) names no line of
// the test that called it.
const RUST_PANIC_TESTS = `use digits::show;

#[test]
fn zero_is_shown() {
    let s = show(0);
    assert_eq!(s, "0");
}

#[test]
fn seven_is_shown() {
    assert_eq!(show(7), "7");
}

#[test]
#[should_panic]
fn huge_panics() {
    show(u64::MAX);
}

#[test]
fn fallible() -> Result<(), String> {
    show(1);
    Ok(())
}
`;

test('rust: a failing test whose panic names no line of it has its body emptied', async () => {
  const file = 'tests/api.rs';
  const hidden = await emptyRustTestBody(file, RUST_PANIC_TESTS, 'zero_is_shown');
  assert.ok(hidden);
  assert.equal(hidden.line, 4);
  assert.equal(hidden.source.split('\n').length, RUST_PANIC_TESTS.split('\n').length);
  assert.match(hidden.source, /^fn zero_is_shown\(\) \{\n\n\n\}$/m);
  assert.match(hidden.source, /assert_eq!\(show\(7\), "7"\);/);
  // A should_panic test would fail empty; one returning a Result would not build; a name no
  // test has, or a helper that is not a test, is left alone.
  for (const name of ['huge_panics', 'fallible', 'nope', 'show'])
    assert.equal(await emptyRustTestBody(file, RUST_PANIC_TESTS, name), null, name);
  const helper = `fn zero_is_shown() {\n    show(0);\n}\n`;
  assert.equal(await emptyRustTestBody(file, helper, 'zero_is_shown'), null);
  assert.equal(await emptyRustTestBody('test/a.py', RUST_PANIC_TESTS, 'zero_is_shown'), null);
});

test('rust: deriveWeakening empties a failing test when the code under test panics (cargo in a sandbox)', async (t) => {
  const toml = RUST_TOML.replace('mathkit', 'digits');
  const fixed = 'pub fn show(n: u64) -> String {\n    n.to_string()\n}\n';
  const bugged = 'pub fn show(n: u64) -> String {\n    let _ = 10 / n;\n    n.to_string()\n}\n';
  const tests = RUST_PANIC_TESTS.replace(/#\[test\]\n#\[should_panic\][\s\S]*$/, '');
  const tree: Tree = { 'Cargo.toml': toml, 'src/lib.rs': fixed, 'tests/api.rs': tests };
  await inScratch(tree, async (dir) => {
    const suite = cargoSuite(dir, t);
    if (!suite) return;
    const bug = { file: 'src/lib.rs', bugged };
    await withBug(dir, suite, bug, { 'tests/api.rs': tests }, async (run) => {
      assert.deepEqual(run.failing, ['tests/api.rs::zero_is_shown'], run.log);
      assert.match(run.log, /panicked at .*src\/lib\.rs:2/);
      const result = await run.weaken();
      assert.deepEqual(result.restored, run.failing, result.reason);
      assert.deepEqual(result.weakened, ['tests/api.rs:4']);
      assert.match(result.diff ?? '', /^- {4}let s = show\(0\);$/m);
      assert.doesNotMatch(result.diff ?? '', /show\(7\)/);
    });
  });
});

const RUST_STYLES = `#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_and_tails() {
        match add(1, 1) {
            2 => debug_assert_eq!(add(0, 2), 2),
            n => pretty_assertions::assert_eq!(n, 2),
        }
        let v = vec![add(1, 2)];
        let first = v[0];
        assert_eq!(first, 3)
    }

    #[test]
    fn shadowed() {
        let got = add(1, 1);
        assert_eq!(got, 2);
        let got = add(2, 2);
        assert_eq!(got, 4);
    }
}
`;

test('rust: match arms and closures get (), a tail assertion goes, shadowed lets are told apart', async () => {
  const file = 'src/tests.rs';
  const w = async (needle: string, nth = 0) => {
    const lines = RUST_STYLES.split('\n');
    const line =
      lines.findIndex(
        (l, i) =>
          l.includes(needle) && lines.slice(0, i).filter((x) => x.includes(needle)).length === nth,
      ) + 1;
    const next = await weaken(file, RUST_STYLES, line);
    assert.ok(next, needle);
    return changed(RUST_STYLES, next).map(([, a, b]) => [a.trim(), b.trim()]);
  };
  assert.deepEqual(await w('debug_assert_eq!'), [
    ['2 => debug_assert_eq!(add(0, 2), 2),', '2 => (),'],
  ]);
  assert.deepEqual(await w('pretty_assertions::'), [
    ['n => pretty_assertions::assert_eq!(n, 2),', 'n => (),'],
  ]);
  assert.deepEqual(await w('assert_eq!(first, 3)'), [['assert_eq!(first, 3)', 'let _ = &first;']]);
  // The first `got` is read by nothing else (the second assertion reads the second `got`).
  assert.deepEqual(await w('assert_eq!(got, 2)'), [['assert_eq!(got, 2);', 'let _ = &got;']]);
});

// ---------------------------------------------------------------------------------------------
// Java

const JAVA: Tree = {
  'pom.xml': JAVA_POM,
  'src/main/java/com/example/Calc.java': JAVA_CALC,
  'src/test/java/com/example/CalcTest.java': JAVA_TEST,
  'src/test/java/com/example/util/CalcTest.java': JAVA_UTIL_TEST,
};
const JAVA_TESTS = [
  'src/test/java/com/example/CalcTest.java',
  'src/test/java/com/example/util/CalcTest.java',
];

test('java: Surefire frames name the class: its package tells two CalcTest.java apart', () => {
  assert.deepEqual(at(failureLocations(JAVA_LOG, JAVA_TESTS)), [
    'src/test/java/com/example/util/CalcTest.java:11',
    'src/test/java/com/example/util/CalcTest.java:12',
    'src/test/java/com/example/CalcTest.java:14',
    'src/test/java/com/example/CalcTest.java:26',
    'src/test/java/com/example/CalcTest.java:19',
    'src/test/java/com/example/CalcTest.java:34',
  ]);
});

test('java: JUnit 5 assertions go; a lambda body becomes {}; assertThrows goes with the checks on its result', async () => {
  const { contents, missed } = await weakenAll(JAVA, JAVA_TESTS, JAVA_LOG);
  // Line 12 calls the lambda of line 11: no assertion there.
  assert.deepEqual(missed, ['src/test/java/com/example/util/CalcTest.java:12']);
  assert.deepEqual(changed(JAVA_UTIL_TEST, contents[JAVA_TESTS[1]!]!), [
    [
      11,
      '        Runnable check = () -> assertEquals(4, Calc.add(2, 2));',
      '        Runnable check = () -> {};',
    ],
  ]);
  assert.deepEqual(changed(JAVA_TEST, contents[JAVA_TESTS[0]!]!), [
    [14, '        assertEquals(3, got, "1 + 2");', ''],
    [19, '        Assertions.assertTrue(Calc.add(0, 0) == 0,', ''],
    [20, '            () -> "zero");', ''],
    [25, '        IllegalArgumentException e =', ''],
    [26, '            assertThrows(IllegalArgumentException.class, () -> Calc.checked(-1));', ''],
    [27, '        assertEquals("negative", e.getMessage());', ''],
    // The whole body of an if: an empty block keeps the else where it was.
    [
      34,
      '            if (Calc.add(0, 1) > 0) assertEquals(1, Calc.add(0, 1)); else Assertions.fail("negative");',
      '            if (Calc.add(0, 1) > 0) {} else Assertions.fail("negative");',
    ],
  ]);
});

// Two Maven runs take from 10 s to a minute on a loaded machine: only on request.
const MAVEN = process.env.SSR_TEST_MAVEN === '1';

test('java: the weakened tests pass under Maven with the bug (SSR_TEST_MAVEN=1; offline, with JUnit 5 in ~/.m2)', {
  skip: (!MAVEN && 'set SSR_TEST_MAVEN=1 to run Maven') || (!tool('mvn') && 'mvn is not installed'),
}, async (t) => {
  await inScratch(JAVA, async (dir) => {
    const mvn = [
      '-B',
      '-q',
      '-o',
      '-Dmaven.test.failure.ignore=true',
      '-DtrimStackTrace=true',
      'test',
    ];
    const bug = run(dir, 'mvn', mvn);
    const reports = join(dir, 'target/surefire-reports');
    if (!existsSync(reports)) {
      t.skip('mvn -o cannot build here (plugins or JUnit 5 missing from ~/.m2)');
      return;
    }
    assert.deepEqual(
      at(failureLocations(bug.out, JAVA_TESTS)).sort(),
      at(failureLocations(JAVA_LOG, JAVA_TESTS)).sort(),
    );
    const { contents } = await weakenAll(JAVA, JAVA_TESTS, bug.out);
    writeTree(dir, contents);
    rmSync(reports, { recursive: true, force: true });
    const weakened = run(dir, 'mvn', mvn);
    assert.equal(weakened.code, 0, weakened.out);
    const xml = readdirSync(reports)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => readFileSync(join(reports, f), 'utf8'))
      .join('\n');
    assert.match(xml, /<testcase name="rejectsNegative"/);
    assert.doesNotMatch(xml, /<(failure|error)[ >]/);
  });
});

const JAVA_STYLES = `package com.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.Assert.assertThrows;
import static org.mockito.Mockito.*;

import org.hamcrest.MatcherAssert;
import org.hamcrest.Matchers;
import org.junit.Assert;
import org.junit.Test;

public class StylesTest {
    @Test
    public void assertj() {
        assertThat(Calc.add(1, 2))
            .as("sum")
            .isEqualTo(3);
        assertThatThrownBy(() -> Calc.checked(-1))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("negative");
    }

    @Test
    public void hamcrestAndJUnit4() {
        MatcherAssert.assertThat(Calc.add(2, 2), Matchers.is(4));
        Assert.assertEquals("sum", 4, Calc.add(2, 2));
        assert Calc.add(0, 0) == 0 : "zero";
    }

    @Test
    public void mockito() {
        Listener listener = mock(Listener.class);
        new Calc(listener).add(1, 2);
        verify(listener).added(3);
        verify(listener, never()).overflowed();
    }

    @Test
    public void usedElsewhere() {
        Exception e = assertThrows(IllegalArgumentException.class, () -> Calc.checked(-1));
        System.out.println(e);
    }
}
`;

test('java: AssertJ chains (from any of their lines), Hamcrest, JUnit 4, Mockito verify, assert', async () => {
  const file = 'src/test/java/com/example/StylesTest.java';
  const w = async (needle: string) => {
    const next = await weaken(file, JAVA_STYLES, lineOf(JAVA_STYLES, needle));
    assert.ok(next, needle);
    return changed(JAVA_STYLES, next).map(([line, a]) => `${line}: ${a.trim()}`);
  };
  assert.deepEqual(await w('.isEqualTo(3)'), [
    '16: assertThat(Calc.add(1, 2))',
    '17: .as("sum")',
    '18: .isEqualTo(3);',
  ]);
  assert.deepEqual(await w('.hasMessage'), [
    '19: assertThatThrownBy(() -> Calc.checked(-1))',
    '20: .isInstanceOf(IllegalArgumentException.class)',
    '21: .hasMessage("negative");',
  ]);
  assert.deepEqual(await w('MatcherAssert.assertThat'), [
    '26: MatcherAssert.assertThat(Calc.add(2, 2), Matchers.is(4));',
  ]);
  assert.deepEqual(await w('Assert.assertEquals'), [
    '27: Assert.assertEquals("sum", 4, Calc.add(2, 2));',
  ]);
  assert.deepEqual(await w('assert Calc'), ['28: assert Calc.add(0, 0) == 0 : "zero";']);
  assert.deepEqual(await w('verify(listener).added'), ['35: verify(listener).added(3);']);
  // The exception is used by more than assertions: no safe removal.
  assert.equal(
    await weakenAssertionAt(file, JAVA_STYLES, lineOf(JAVA_STYLES, 'Exception e =')),
    null,
  );
});

// ---------------------------------------------------------------------------------------------
// C

const C: Tree = {
  'src/calc.c': C_CALC,
  'test/test_check.c': C_CHECK,
  'test/test_cmocka.c': C_CMOCKA,
  'test/test_assert.c': C_ASSERT,
  'test/unity_lite.h': C_UNITY_H,
  'test/test_unity.c': C_UNITY,
};
const C_TESTS = [
  'test/test_check.c',
  'test/test_cmocka.c',
  'test/test_assert.c',
  'test/test_unity.c',
];

test('c: Check, cmocka, assert() and Unity lines, also from a build directory (../test/x.c)', () => {
  assert.deepEqual(at(failureLocations(C_LOG, C_TESTS)), [
    'test/test_check.c:8',
    'test/test_check.c:15',
    'test/test_cmocka.c:11',
    'test/test_cmocka.c:16',
    'test/test_assert.c:9',
    'test/test_unity.c:10',
    'test/test_unity.c:15',
  ]);
  const fromBuild = C_LOG.split('\n')
    .filter((l) => l.startsWith('../'))
    .join('\n');
  assert.deepEqual(at(failureLocations(fromBuild, C_TESTS)), [
    'test/test_unity.c:10',
    'test/test_unity.c:15',
  ]);
});

test("c: each framework's assertion goes (Check's START_TEST macros add no parse error); a local it leaves unused gets (void)", async () => {
  const { contents, missed } = await weakenAll(C, C_TESTS, C_LOG);
  assert.deepEqual(missed, []);
  assert.deepEqual(changed(C_CHECK, contents['test/test_check.c']!), [
    [8, '    ck_assert_int_eq(add(1, 2), 3);', ''],
    [15, '    ck_assert_msg(got == 4,', '    (void)got;'],
    [16, '                  "add(2, 2) was %d", got);', ''],
  ]);
  assert.deepEqual(changed(C_CMOCKA, contents['test/test_cmocka.c']!), [
    [11, '    assert_int_equal(add(1, 2), 3);', ''],
    [16, '    assert_true(add(0, 0) == 0);', ''],
  ]);
  assert.deepEqual(changed(C_ASSERT, contents['test/test_assert.c']!), [
    [9, '    assert(got == 3);', ''],
  ]);
  assert.deepEqual(changed(C_UNITY, contents['test/test_unity.c']!), [
    [10, '    TEST_ASSERT_EQUAL_INT(3, add(1, 2));', ''],
    [15, '    TEST_ASSERT_TRUE(add(0, 0) == 0);', ''],
  ]);
});

test('c: the weakened tests compile with -Wall -Wextra -Werror and pass with the bug', {
  skip: !tool('gcc') && 'gcc is not installed',
}, async () => {
  await inScratch(C, async (dir) => {
    const suites: [string, string[]][] = [
      ['test/test_assert.c', []],
      ['test/test_unity.c', []],
    ];
    if (existsSync('/usr/include/cmocka.h')) suites.push(['test/test_cmocka.c', ['-lcmocka']]);
    const check = spawnSync('pkg-config', ['--cflags', '--libs', 'check'], { encoding: 'utf8' });
    if (check.status === 0) suites.push(['test/test_check.c', check.stdout.trim().split(/\s+/)]);
    const build = (file: string, libs: string[]) => {
      const exe = join(dir, file.replace(/\W/g, '_'));
      const cc = run(dir, 'gcc', [
        '-Wall',
        '-Wextra',
        '-Werror',
        '-o',
        exe,
        file,
        'src/calc.c',
        ...libs,
      ]);
      assert.equal(cc.code, 0, cc.out);
      return run(dir, exe, [], { CK_FORK: 'no' });
    };
    let log = `### ssr-root 0 ${dir}\n`;
    for (const [file, libs] of suites) {
      const bug = build(file, libs);
      assert.notEqual(bug.code, 0, `${file} passes with the bug`);
      log += bug.out;
    }
    const tested = suites.map(([f]) => f);
    const { contents, missed } = await weakenAll(C, tested, log);
    assert.deepEqual(missed, []);
    writeTree(dir, contents);
    for (const [file, libs] of suites) {
      const weakened = build(file, libs);
      assert.equal(weakened.code, 0, `${file}: ${weakened.out}`);
    }
  });
});

test("c: where the grammar misreads a DSL (Criterion's eq(int, ...)), the guarded line edit", async () => {
  const source = `#include <criterion/criterion.h>

Test(calc, adds, .timeout = 1) {
    cr_assert(eq(int, add(1, 2), 3));
    cr_expect(eq(int, add(2, 2), 4),
              "two");
}
`;
  const next = await weaken('test/calc.c', source, 4);
  assert.ok(next);
  assert.deepEqual(changed(source, next), [[4, '    cr_assert(eq(int, add(1, 2), 3));', '']]);
  // Two lines: the line edit cannot see where it ends.
  assert.equal(await weakenAssertionAt('test/calc.c', source, 5), null);
});

// ---------------------------------------------------------------------------------------------
// C++

const CPP_TESTS = ['tests/calc_gtest.cc', 'tests/calc_catch.cpp'];

test('c++: gtest (relative) and Catch2 (absolute, under the printed root) locations', () => {
  assert.deepEqual(at(failureLocations(CPP_LOG, CPP_TESTS)), [
    'tests/calc_gtest.cc:5',
    'tests/calc_gtest.cc:6',
    'tests/calc_gtest.cc:11',
    // Catch2 names each test case's line too: no assertion there, nothing weakened.
    'tests/calc_catch.cpp:5',
    'tests/calc_catch.cpp:6',
    'tests/calc_catch.cpp:9',
    'tests/calc_catch.cpp:11',
  ]);
});

test('c++: EXPECT_*/ASSERT_* (with << message), REQUIRE and CHECK go', async () => {
  const tree = { 'tests/calc_gtest.cc': CPP_GTEST, 'tests/calc_catch.cpp': CPP_CATCH };
  const { contents, missed } = await weakenAll(tree, CPP_TESTS, CPP_LOG);
  assert.deepEqual(missed, ['tests/calc_catch.cpp:5', 'tests/calc_catch.cpp:9']);
  assert.deepEqual(changed(CPP_GTEST, contents['tests/calc_gtest.cc']!), [
    [5, '  EXPECT_EQ(add(1, 2), 3);', ''],
    [6, '  ASSERT_TRUE(add(0, 0) == 0) << "zero";', ''],
    [11, '  EXPECT_EQ(got, "hi bob");', '  (void)got;'],
  ]);
  assert.deepEqual(changed(CPP_CATCH, contents['tests/calc_catch.cpp']!), [
    [6, '  REQUIRE(add(1, 2) == 3);', ''],
    // got is still read by CHECK_FALSE on the next line.
    [11, '  CHECK(got == "hi bob");', ''],
  ]);
  const more = `#include <boost/test/unit_test.hpp>
BOOST_AUTO_TEST_CASE(adds) {
  if (add(0, 0) == 0) ASSERT_TRUE(add(1, 1) == 2); else FAIL();
  BOOST_CHECK_EQUAL(add(1, 2), 3);
  REQUIRE_THROWS_AS(checked(-1), std::invalid_argument);
}
`;
  const w = async (needle: string) => {
    const next = await weaken('tests/more.cpp', more, lineOf(more, needle));
    assert.ok(next, needle);
    return changed(more, next).map(([, , b]) => b);
  };
  assert.deepEqual(await w('ASSERT_TRUE'), ['  if (add(0, 0) == 0) {} else FAIL();']);
  assert.deepEqual(await w('BOOST_CHECK_EQUAL'), ['']);
  assert.deepEqual(await w('REQUIRE_THROWS_AS'), ['']);
});

// ---------------------------------------------------------------------------------------------
// Ruby

const RUBY: Tree = {
  'lib/calc.rb': RB_CALC,
  'test/test_calc.rb': RB_TEST,
  'spec/calc_spec.rb': RB_SPEC,
};
const RUBY_TESTS = ['test/test_calc.rb', 'spec/calc_spec.rb'];

test('ruby: minitest [file:line] and RSpec backtraces and rerun lines', () => {
  assert.deepEqual(at(failureLocations(RB_LOG, RUBY_TESTS)), [
    'test/test_calc.rb:7',
    'test/test_calc.rb:11',
    'test/test_calc.rb:15',
    'spec/calc_spec.rb:5',
    'spec/calc_spec.rb:11',
    'spec/calc_spec.rb:16',
    // `rspec ./spec/calc_spec.rb:4` names the example, not an assertion.
    'spec/calc_spec.rb:4',
    'spec/calc_spec.rb:13',
  ]);
});

test('ruby: assert_*/refute_* and expect(...).to statements go, one-liners included', async () => {
  const { contents, missed } = await weakenAll(RUBY, RUBY_TESTS, RB_LOG);
  assert.deepEqual(missed, ['spec/calc_spec.rb:4', 'spec/calc_spec.rb:13']);
  assert.deepEqual(changed(RB_TEST, contents['test/test_calc.rb']!), [
    [7, '    assert_equal 3, got', ''],
    [11, '    refute_equal 1, Calc.add(0, 0), "zero"', ''],
    [15, '    assert(', ''],
    [16, '      Calc.add(2, 2) == 4,', ''],
    [17, '      "two and two"', ''],
    [18, '    )', ''],
  ]);
  assert.deepEqual(changed(RB_SPEC, contents['spec/calc_spec.rb']!), [
    [5, '    expect(Calc.add(1, 2)).to eq(3)', ''],
    [11, '    it { is_expected.to eq(0) }', '    it {  }'],
    [16, '      expect(Calc.add(2, 2))', ''],
    [17, '        .to eq(4)', ''],
  ]);
  const more = `describe Calc do
  it "works" do
    assert_equal 1, Calc.add(0, 0) if ENV["STRICT"]
    x = assert_in_delta(1.0, Calc.add(0.5, 0.5))
    _(Calc.add(1, 2)).must_equal 3
    expect { Calc.add(nil, 1) }.to raise_error(NoMethodError)
    allow(Calc).to receive(:add).and_return(3)
  end
end
`;
  const w = async (needle: string) => {
    const next = await weakenAssertionAt('spec/more_spec.rb', more, lineOf(more, needle));
    return next === null ? null : changed(more, next).map(([, , b]) => b);
  };
  assert.deepEqual(await w('assert_equal 1'), ['']);
  assert.deepEqual(await w('assert_in_delta'), ['    x = nil']);
  assert.deepEqual(await w('must_equal'), ['']);
  assert.deepEqual(await w('raise_error'), ['']);
  // A stub is not an assertion.
  assert.equal(await w('allow(Calc)'), null);
});

test('ruby: the weakened tests pass under minitest and RSpec with the bug', {
  skip: !(tool('ruby') && tool('rspec')) && 'ruby or rspec is not installed',
}, async () => {
  await inScratch(RUBY, async (dir) => {
    const mini = run(dir, 'ruby', ['-Itest', 'test/test_calc.rb']);
    const spec = run(dir, 'rspec', []);
    assert.notEqual(mini.code, 0, mini.out);
    assert.notEqual(spec.code, 0, spec.out);
    const log = mini.out + spec.out;
    assert.deepEqual(
      at(failureLocations(log, RUBY_TESTS)).sort(),
      at(failureLocations(RB_LOG, RUBY_TESTS)).sort(),
    );
    const { contents } = await weakenAll(RUBY, RUBY_TESTS, log);
    writeTree(dir, contents);
    const mini2 = run(dir, 'ruby', ['-Itest', 'test/test_calc.rb']);
    assert.equal(mini2.code, 0, mini2.out);
    const spec2 = run(dir, 'rspec', []);
    assert.equal(spec2.code, 0, spec2.out);
  });
});

// ---------------------------------------------------------------------------------------------
// The line fallback (no grammar here): comments by language, whole statements only

test('line fallback: one whole assertion statement per line; comments (// or #) are not code', async () => {
  const kotlin = `class CalcTest {
    @Test
    fun adds() {
        val got = add(1, 2)
        assertEquals(3, got) // the sum
        // assertEquals(4, got)
        assertThat(got)
            .isEqualTo(3)
        assertTrue(
            got > 0
        )
        check(listOf(
            assertNotNull(got),
        ))
    }
}
`;
  const kt = async (needle: string) =>
    weakenAssertionAt('src/test/kotlin/CalcTest.kt', kotlin, lineOf(kotlin, needle));
  assert.deepEqual(changed(kotlin, (await kt('assertEquals(3'))!), [
    [5, '        assertEquals(3, got) // the sum', ''],
  ]);
  assert.equal(await kt('// assertEquals(4'), null, 'a commented-out assertion');
  assert.equal(await kt('assertThat(got)'), null, 'continued on the next line');
  assert.equal(await kt('assertTrue('), null, 'spans lines');
  assert.equal(await kt('assertNotNull'), null, 'inside an argument list');
  const assign = 'fun f() {\n    expectedSum = add(1, 2)\n}\n';
  assert.equal(await weakenAssertionAt('X.kt', assign, 2), null, 'an assignment, not a call');

  const elixir = `defmodule CalcTest do
  use ExUnit.Case

  test "adds" do
    assert Calc.add(1, 2) == 3 # "the # sum"
    # assert Calc.add(2, 2) == 4
    refute Calc.add(0, 0) == "#"
  end
end
`;
  const ex = async (needle: string) =>
    weakenAssertionAt('test/calc_test.exs', elixir, lineOf(elixir, needle));
  assert.deepEqual(
    changed(elixir, (await ex('assert Calc.add(1'))!).map(([l]) => l),
    [5],
  );
  assert.equal(await ex('# assert'), null);
  assert.deepEqual(
    changed(elixir, (await ex('refute'))!).map(([l]) => l),
    [7],
  );

  const others: [string, string][] = [
    ['Tests/CalcTests.swift', 'func testAdd() {\n    XCTAssertEqual(add(1, 2), 3)\n}\n'],
    [
      'tests/CalcTest.php',
      'public function testAdd(): void {\n    $this->assertSame(3, add(1, 2));\n}\n',
    ],
    ['Calc.Tests/CalcTest.cs', 'public void Adds() {\n    Assert.Equal(3, Calc.Add(1, 2));\n}\n'],
    ['src/test/scala/CalcSpec.scala', 'test("adds") {\n  assert(add(1, 2) == 3)\n}\n'],
  ];
  for (const [file, source] of others) {
    const next = await weakenAssertionAt(file, source, 2);
    assert.ok(next, file);
    assert.deepEqual(
      changed(source, next).map(([l, , b]) => [l, b]),
      [[2, '']],
      file,
    );
  }
  // The only statement of a Swift case may not go.
  const swift = 'switch x {\ncase .a:\n    XCTFail("a")\ndefault: break\n}\n';
  assert.equal(await weakenAssertionAt('Tests/X.swift', swift, 3), null);
});

test('go: a failing case of a test table (a panic frame on its line) is removed alone', async () => {
  const src = `package humanize

import "testing"

func TestBigCommas(t *testing.T) {
	testList{
		{"0", bigComma(0), "0"},
		{"1,000", bigComma(1000), "1,000"},
		{"10,000", bigComma(10000), "10,000"},
	}.validate(t)
}
`;
  const next = await weakenAssertionAt('big_test.go', src, 8);
  assert.equal(next, src.replace('\t\t{"1,000", bigComma(1000), "1,000"},\n', ''));
  // The last case of a table is not removed that way (the table would be empty).
  const one = src.replace(/\t\t\{"(0|10,000)".*\n/g, '');
  const weakened = await weakenAssertionAt('big_test.go', one, 7);
  assert.ok(weakened === null || !weakened.includes('testList{\n\t}.validate'), weakened ?? '');
});

/**
 * Where in the oracle test files a failing run stopped: the file:line references that test
 * frameworks print (stack frames, pytest/unittest tracebacks, go test, Rust panics, JUnit
 * frames, Unity/cmocka/Check/assert/gtest/Catch2 lines, minitest and RSpec locations). These
 * are the assertions a weakening has to touch.
 */
import { posix } from 'node:path';
import { parseOracleEntry } from '../artifact/oracle-regions.js';

export interface FailureLocation {
  file: string;
  line: number;
  /** 1-based column when the framework printed one (JS stack frames and Rust panics do). */
  column?: number;
}

// `path:line[:col]` as stack frames, pytest, go test, rustc, gcc and the C test frameworks print
// it; the path may be absolute in the sandbox (/repo/...), a file:// URL, or relative.
const COLON_REF =
  /(?<![\w@+~./-])((?:file:\/\/)?[\w@+~./-]*[\w-]\.[A-Za-z]{1,5}):(\d+)(?::(\d+))?/g;
// Escapes in JSON text (go test -json, reporters' JSON): `\t/repo/x_test.go:3` is a tab and a
// path, not a path `t/repo/...`.
const JSON_ESCAPE = /\\[ntr"]/g;
// Python tracebacks (unittest, plain scripts): File "path", line N
const PY_FRAME = /File "([^"]+)", line (\d+)/g;
// JVM stack frames: at com.example.FooTest$Inner.lambda$bar$0(FooTest.java:42), maybe after a
// class loader or module (app//, java.base/). Only the file's name is printed: the class's
// package says which directory it is in.
const JVM_FRAME =
  /\bat\s+(?:[\w.$@-]*\/)*((?:[\w$]+\.)*)[\w$<>-]+\.[\w$<>-]+\(([\w$-]+\.(?:java|kt|kts|scala|groovy)):(\d+)\)/g;
// The repository root the test script ran in, printed by every script ssr discovery writes.
const SSR_ROOT = /^### ssr-root [0-9a-f]+ (\/.*)$/gm;
// go test -json events name their package; plain go test closes a package's output with
// `FAIL\t<import path>\t0.01s` or `ok  \t<import path>\t...`.
const GO_JSON_PACKAGE = /"Package":"([^"]+)"/;
const GO_PACKAGE_END = /^(?:FAIL|ok)\s+(\S+)\s+(?:\d|\(cached\)|\[)/;
// Directories of installed code: an absolute path through them is never the repo's test file.
const DEPENDENCY_DIR =
  /\/(node_modules|site-packages|dist-packages|\.cargo|\.rustup|rustc|go\/pkg\/mod|\.m2|gems|vendor|usr)\//;

interface Resolver {
  resolve(raw: string, lineIndex: number): string | null;
  jvm(pkg: string, fileName: string): string | null;
}

function makeResolver(
  log: string,
  lines: string[],
  testFiles: string[],
  repoMount: string,
): Resolver {
  const files = new Set(testFiles);
  const roots = [repoMount, ...[...log.matchAll(SSR_ROOT)].map((m) => m[1]!.trim())]
    .map((r) => r.replace(/\/+$/, ''))
    .filter((r) => r.length > 0);
  const byBase = new Map<string, string[]>();
  for (const f of testFiles) {
    const base = f.split('/').pop()!;
    byBase.set(base, [...(byBase.get(base) ?? []), f]);
  }
  const dirOf = (f: string) => (f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '');
  /** Test files whose path ends with `/suffix` (or is it). */
  const endingWith = (suffix: string) =>
    testFiles.filter((f) => f === suffix || f.endsWith(`/${suffix}`));
  const unique = (list: string[]) => (list.length === 1 ? list[0]! : null);

  // Go: the package of each log line, and the module path (the package of the root directory).
  let goPackages: (string | null)[] | undefined;
  let goModule: string | null | undefined;
  const goPackageAt = (i: number): string | null => {
    if (!goPackages) {
      goPackages = new Array(lines.length).fill(null);
      let next: string | null = null;
      for (let j = lines.length - 1; j >= 0; j--) {
        const json = GO_JSON_PACKAGE.exec(lines[j]!);
        const end = GO_PACKAGE_END.exec(lines[j]!);
        if (end) next = end[1]!;
        goPackages[j] = json ? json[1]! : next;
      }
    }
    return goPackages[i] ?? null;
  };
  const goDirs = [...new Set(testFiles.filter((f) => f.endsWith('.go')).map(dirOf))]
    .filter((d) => d !== '')
    .sort((a, b) => b.length - a.length);
  const moduleOf = (): string | null => {
    if (goModule !== undefined) return goModule;
    const votes = new Map<string, number>();
    for (let i = 0; i < lines.length; i++) {
      const p = goPackageAt(i);
      if (!p) continue;
      const d = goDirs.find((dir) => p.endsWith(`/${dir}`));
      if (d) {
        const m = p.slice(0, p.length - d.length - 1);
        votes.set(m, (votes.get(m) ?? 0) + 1);
      }
    }
    goModule = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    if (goModule === null) {
      // No package is in a test file's directory: the root package, when every other package
      // of the log lies under it, is the module.
      const all = new Set<string>();
      for (let i = 0; i < lines.length; i++) {
        const p = goPackageAt(i);
        if (p) all.add(p);
      }
      goModule =
        all.size > 1
          ? ([...all].find((m) => [...all].every((p) => p === m || p.startsWith(`${m}/`))) ?? null)
          : null;
    }
    return goModule;
  };
  /** go test prints a file's name only: the package of the line says which directory. */
  const goFile = (base: string, i: number): string | null => {
    const candidates = byBase.get(base) ?? [];
    const pkg = goPackageAt(i);
    if (!pkg) return unique(candidates);
    const module = moduleOf();
    if (module !== null) {
      const exact = candidates.filter((f) => {
        const d = dirOf(f);
        return pkg === (d ? `${module}/${d}` : module);
      });
      if (exact.length) return unique(exact);
    }
    const suffixed = candidates
      .filter((f) => dirOf(f) !== '' && (pkg === dirOf(f) || pkg.endsWith(`/${dirOf(f)}`)))
      .sort((a, b) => b.length - a.length);
    if (suffixed.length) return suffixed[0]!;
    if (module !== null && pkg !== module) return null;
    return unique(candidates.filter((f) => dirOf(f) === ''));
  };

  const resolve = (raw: string, lineIndex: number): string | null => {
    let p = raw.replace(/^file:\/\//, '');
    let absolute = p.startsWith('/');
    for (const root of roots) {
      if (p.startsWith(`${root}/`)) {
        p = p.slice(root.length + 1);
        absolute = false;
        break;
      }
    }
    if (absolute) {
      // Built or run elsewhere (an absolute __FILE__, a copied checkout): the longest test file
      // the path ends with, unless the path runs through installed code.
      if (DEPENDENCY_DIR.test(p)) return null;
      const hits = testFiles.filter((f) => p.endsWith(`/${f}`));
      return hits.sort((a, b) => b.length - a.length)[0] ?? null;
    }
    p = posix.normalize(p).replace(/^(\.\/)+/, '');
    const up = /^(\.\.\/)+/.exec(p);
    if (up) p = p.slice(up[0].length);
    // go test names a file relative to its package's directory, even at the module root.
    if (!p.includes('/') && p.endsWith('.go')) return goFile(p, lineIndex);
    if (files.has(p)) return p;
    if (!p.includes('/')) return unique(byBase.get(p) ?? []);
    // Relative to a sub-project (a crate of a workspace, a module, a build directory): the one
    // test file that ends with the path. From a build directory (../x/y.c) the path may also
    // hold more than the test file's.
    const hit = unique(endingWith(p));
    if (hit || !up) return hit;
    return (
      testFiles.filter((f) => p.endsWith(`/${f}`)).sort((a, b) => b.length - a.length)[0] ?? null
    );
  };

  const jvm = (pkg: string, fileName: string): string | null => {
    const suffix = pkg ? `${pkg.replace(/\.$/, '').replace(/\./g, '/')}/${fileName}` : fileName;
    return unique(endingWith(suffix));
  };
  return { resolve, jvm };
}

export function failureLocations(
  log: string,
  testFiles: string[],
  repoMount = '/repo',
): FailureLocation[] {
  const lines = log.split('\n');
  // test_files.txt lines: a `<path>#inline-tests` entry is its path.
  const paths = [...new Set(testFiles.map((f) => parseOracleEntry(f).path))];
  const { resolve, jvm } = makeResolver(log, lines, paths, repoMount);
  const out: FailureLocation[] = [];
  const seen = new Map<string, FailureLocation>();
  const add = (file: string | null, line: number, column?: number) => {
    if (!file || !Number.isFinite(line) || line < 1) return;
    const key = `${file}:${line}`;
    const known = seen.get(key);
    if (known) {
      // node:test's `location: file:L:1` names where the test starts; its stack frame on the
      // same line (a one-line test) names the assertion: the frame's column is the one to use.
      if (column && column > 1 && (known.column ?? 1) === 1) known.column = column;
      return;
    }
    const loc: FailureLocation = column ? { file, line, column } : { file, line };
    seen.set(key, loc);
    out.push(loc);
  };
  for (let i = 0; i < lines.length; i++) {
    if (!/\d/.test(lines[i]!)) continue;
    const text = lines[i]!.replace(JSON_ESCAPE, '  ');
    const found: { index: number; end: number; apply(): void }[] = [];
    const claimed = (index: number, end: number) =>
      found.some((f) => index < f.end && f.index < end);
    for (const m of text.matchAll(JVM_FRAME)) {
      const index = m.index ?? 0;
      found.push({
        index,
        end: index + m[0].length,
        apply: () => add(jvm(m[1]!, m[2]!), Number(m[3])),
      });
    }
    for (const m of text.matchAll(PY_FRAME)) {
      const index = m.index ?? 0;
      if (claimed(index, index + m[0].length)) continue;
      found.push({
        index,
        end: index + m[0].length,
        apply: () => add(resolve(m[1]!, i), Number(m[2])),
      });
    }
    for (const m of text.matchAll(COLON_REF)) {
      const index = m.index ?? 0;
      if (claimed(index, index + m[0].length)) continue;
      found.push({
        index,
        end: index + m[0].length,
        apply: () => add(resolve(m[1]!, i), Number(m[2]), m[3] ? Number(m[3]) : undefined),
      });
    }
    for (const f of found.sort((a, b) => a.index - b.index)) f.apply();
  }
  return out;
}

// cargo test before Rust 1.73 reports a #[should_panic] test that did not panic by its name only:
//   ---- tests::rejects_negative stdout ----
//   note: test did not panic as expected
const RUST_TEST_HEADER = /^---- (\S+) stdout ----\s*$/;
const RUST_NO_PANIC = /^note: test did not panic as expected\s*$/;

/**
 * Failures a runner reports by test name only, located by that name in the oracle files'
 * `sources` (path -> text): a #[should_panic] test that did not panic on Rust < 1.73 is the line
 * of its `fn`. Only a name that designates one function of one file counts.
 */
export function namedFailureLocations(
  log: string,
  sources: Map<string, string>,
): FailureLocation[] {
  const names: string[] = [];
  let current: string | null = null;
  for (const line of log.split('\n')) {
    const header = RUST_TEST_HEADER.exec(line);
    if (header) current = header[1]!;
    else if (current && RUST_NO_PANIC.test(line)) names.push(current);
  }
  const out: FailureLocation[] = [];
  for (const name of new Set(names)) {
    const fn = name.split('::').pop()!;
    const hits: FailureLocation[] = [];
    for (const [file, text] of sources) {
      if (!file.endsWith('.rs')) continue;
      for (const m of text.matchAll(new RegExp(`\\bfn\\s+(${fn})\\s*[(<]`, 'g'))) {
        // The attributes between the previous item and this fn.
        const before = text.slice(0, m.index);
        const itemStart = Math.max(before.lastIndexOf('}'), before.lastIndexOf(';')) + 1;
        if (!/#\[\s*should_panic\b/.test(before.slice(itemStart))) continue;
        const lineStart = before.lastIndexOf('\n') + 1;
        const line = before.split('\n').length;
        const column = m.index! + m[0].indexOf(m[1]!) - lineStart + 1;
        hits.push({ file, line, column });
      }
    }
    if (hits.length === 1) out.push(hits[0]!);
  }
  return out;
}

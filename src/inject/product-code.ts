/**
 * What a procedural injector may change: product code only. One rule for every strategy
 * (removal, mutation, history reverts), so that no candidate lands in a lint config the test
 * command happens to execute, an example, a benchmark, a release script or a version string.
 *
 * A file is a **target** when all of these hold:
 * 1. it is code (a code file extension; shell scripts are not);
 * 2. it is not a test file or test helper, nor an oracle test file;
 * 3. no path rule excludes it (config files, dotfiles and dot-dirs, examples, benchmarks,
 *    scripts, tools, docs, fixtures, vendored, generated or minified files, build output);
 * 4. where line coverage of its language is known (JavaScript/TypeScript and Python, measured
 *    by src/inject/coverage.ts), the test suite executes it. Elsewhere (Go, Rust, Java, C,
 *    C++, Ruby, or a coverage run that failed) rules 1-3 decide alone.
 * A line is a target when its file is and it is not a version string (`isVersionLine`): a
 * candidate that changes one is dropped (removal, mutation) or keeps that line (history).
 *
 * The exact lists are below and in README.md ("What is a target").
 */

import { posix } from 'node:path';
import { diffLines } from 'diff';
import { commonEnds } from '../util/common-ends.js';
import { sha256 } from '../util/hash.js';
import { isJavaScriptLike, languageOf } from './ast.js';
import type { Coverage } from './coverage.js';
import type { BugCandidate } from './types.js';

/** The rule in one line, for messages and notes. */
export const PRODUCT_CODE_RULE =
  'only product code is a target: source files the tests execute (path rules where coverage is unknown), ' +
  'never tests or test helpers, config files, dotfiles, examples, benchmarks, scripts, tools, docs, ' +
  'fixtures, vendored, generated or minified files, build output, shell scripts, nor version strings';

/** Extensions of code files (languages a test suite can exercise). Shell scripts are not. */
export const CODE_EXTENSIONS: ReadonlySet<string> = new Set([
  'js',
  'jsx',
  'mjs',
  'cjs',
  'ts',
  'tsx',
  'mts',
  'cts',
  'vue',
  'svelte',
  'py',
  'pyx',
  'go',
  'rs',
  'java',
  'kt',
  'kts',
  'scala',
  'groovy',
  'clj',
  'cljs',
  'c',
  'h',
  'cc',
  'cpp',
  'cxx',
  'hh',
  'hpp',
  'hxx',
  'm',
  'mm',
  'cs',
  'fs',
  'vb',
  'rb',
  'php',
  'swift',
  'dart',
  'lua',
  'pl',
  'pm',
  'r',
  'jl',
  'ex',
  'exs',
  'erl',
  'hrl',
  'hs',
  'ml',
  'mli',
  'elm',
  'zig',
  'nim',
]);

/** Shell and batch scripts: never targets. */
export const SCRIPT_EXTENSIONS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'zsh',
  'ksh',
  'fish',
  'ps1',
  'bat',
  'cmd',
]);

/** Directories that are never product code, wherever they are (name -> reason). */
export const NON_PRODUCT_DIRS: Readonly<Record<string, string>> = {
  node_modules: 'dependency',
  bower_components: 'dependency',
  jspm_packages: 'dependency',
  'site-packages': 'dependency',
  'dist-packages': 'dependency',
  venv: 'dependency',
  vendor: 'vendored',
  vendored: 'vendored',
  third_party: 'vendored',
  'third-party': 'vendored',
  thirdparty: 'vendored',
  '3rdparty': 'vendored',
  example: 'example',
  examples: 'example',
  demo: 'example',
  demos: 'example',
  bench: 'benchmark',
  benches: 'benchmark',
  benchmark: 'benchmark',
  benchmarks: 'benchmark',
  // Fuzz harnesses (json-c's fuzz/*.cc): run by a fuzzer, never by the test suite.
  fuzz: 'fuzzer',
  fuzzing: 'fuzzer',
  fuzzers: 'fuzzer',
  'oss-fuzz': 'fuzzer',
  doc: 'docs',
  docs: 'docs',
  documentation: 'docs',
  fixture: 'fixture',
  fixtures: 'fixture',
  __fixtures__: 'fixture',
  testdata: 'fixture',
  'test-data': 'fixture',
  test_data: 'fixture',
  __snapshots__: 'fixture',
  dist: 'build output',
  target: 'build output',
  coverage: 'build output',
  htmlcov: 'build output',
  __pycache__: 'build output',
  generated: 'generated',
  __generated__: 'generated',
};

/**
 * Directories that are not product code at the top of the repository or of a workspace
 * package (`packages/<name>/`, `crates/<name>/`...). Deeper, such names are often product
 * code (`langchain/tools/`, `pip/_internal/operations/build/`). `build` and `out` are also
 * build output one level down (a Maven or Gradle subproject's `build/`).
 */
export const TOP_LEVEL_NON_PRODUCT_DIRS: Readonly<Record<string, string>> = {
  scripts: 'script',
  script: 'script',
  tools: 'tooling',
  tool: 'tooling',
  hack: 'tooling',
  ci: 'tooling',
  build: 'build',
  out: 'build output',
};

/** Folders whose children are workspace packages (monorepos). */
const WORKSPACE_DIRS = new Set([
  'packages',
  'crates',
  'libs',
  'apps',
  'modules',
  'plugins',
  'components',
  'services',
]);

/** Test directories (test code and its helpers). */
const TEST_DIR =
  /^(?:tests?|__tests__|specs?|e2e|__mocks__|test[-_]?(?:utils?|helpers?|support|lib)|testutils?|testhelpers?|integration[-_]tests?)$/i;

/** Test file names, by convention of each language, and test helpers and setup files. */
const TEST_NAME = new RegExp(
  [
    // foo.test.js, foo.spec.ts, foo-test.js, foo_test.go, foo_spec.rb, foo_unittest.cc, and
    // tsd's type tests foo.test-d.ts
    String.raw`[._-](?:test|tests|spec|unittest)(?:-d)?\.[a-z0-9]+$`,
    // test_foo.py, test-foo.js, test.js, tests.py, spec.js
    String.raw`^(?:test|tests|spec)(?:[._-][^/]*)?\.[a-z0-9]+$`,
    // FooTest.java, FooTests.kt, FooIT.java, FooSpec.scala, TestFoo.java
    String.raw`^[A-Z]\w*(?:Test|Tests|Spec|IT)\.(?:java|kt|scala|groovy|cs|swift)$`,
    String.raw`^Test[A-Z]\w*\.(?:java|kt|scala|groovy|cs|swift)$`,
    // helpers and setup: spec_helper.rb, test_helper.rb, testutil.go, setupTests.js, jest.setup.ts
    String.raw`^(?:spec_helper|rails_helper|testutils?|testhelpers?|test[-_]?utils?|test[-_]?helpers?)\.[a-z0-9]+$`,
    String.raw`^(?:setup[-_]?tests?|tests?[-_]?setup|(?:jest|vitest|karma|mocha)[.-]setup)(?:\.[a-z0-9]+)+$`,
    String.raw`^conftest\.py$`,
  ].join('|'),
  'i',
);

/**
 * Build and tool configuration files (basename). The brief list: `*.config.{js,ts,mjs,cjs}`,
 * `.eslintrc*` and `.prettierrc*` (dotfiles anyway), `babel.config.*`, `Gruntfile`,
 * `gulpfile`, `webpack*`, `rollup*`, `vite.config*`, `setup.py`, `conftest.py`, `noxfile.py`,
 * `build.rs`, `CMakeLists.txt`...
 */
const CONFIG_NAME = new RegExp(
  [
    String.raw`\.(?:config|conf|rc)\.[cm]?[jt]sx?$`,
    String.raw`^(?:gruntfile|gulpfile|jakefile|brocfile|dangerfile|ember-cli-build|webpackfile)(?:\.[\w-]+)*\.[cm]?[jt]s$`,
    String.raw`^(?:webpack|rollup|vite|vitest|karma|protractor|nightwatch|esbuild|tsup|jest)[.-][\w.-]+\.[cm]?[jt]s$`,
    String.raw`^(?:setup|noxfile|toxfile|fabfile|pavement|dodo|conanfile|versioneer|hatch_build|_version)\.py$`,
    String.raw`^build\.rs$`,
    String.raw`^magefile\.go$`,
    String.raw`\.gradle\.kts$`,
    String.raw`^(?:CMakeLists\.txt|SConstruct|SConscript|meson\.build|Makefile|Rakefile|Gemfile|Guardfile|Capfile|Vagrantfile|Podfile|Fastfile|config\.ru)$`,
    String.raw`\.gemspec$`,
  ].join('|'),
  'i',
);

/** TypeScript declarations: types only, nothing to break. */
const DECLARATIONS = /\.d\.[cm]?ts$/i;

/** Generated, minified or bundled files (basename). */
const GENERATED_NAME = new RegExp(
  [
    String.raw`[.-]min\.[cm]?js$`,
    String.raw`\.bundle\.[cm]?js$`,
    String.raw`\.pb\.(?:go|cc|h|c)$`,
    String.raw`_pb2(?:_grpc)?\.pyi?$`,
    String.raw`[._]generated\.[a-z]+$`,
    `^zz_generated`,
    String.raw`\.g\.dart$`,
    String.raw`\.designer\.cs$`,
  ].join('|'),
  'i',
);

/** A generated file's header: `@generated`, `Code generated ... DO NOT EDIT`, `auto-generated`. */
const GENERATED_HEADER =
  /@generated\b|\bdo not edit\b|\bauto-?generated\b|\bautomatically generated\b|\b(?:this file|code) (?:is |was )?generated\b/i;

function extOf(base: string): string {
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** True for test files and test helpers, by directory and by file name. */
export function isTestPath(path: string): boolean {
  const parts = path.split('/');
  if (parts.slice(0, -1).some((p) => TEST_DIR.test(p))) return true;
  return TEST_NAME.test(parts.at(-1)!);
}

/**
 * Why a directory path excludes everything under it, or null. Every segment of `dir` is a
 * directory (for pruning a walk).
 */
export function nonProductDirReason(dir: string): string | null {
  const parts = dir.split('/').filter(Boolean);
  const packagePath = jvmPackageStart(parts);
  for (const [i, p] of parts.entries()) {
    if (p.startsWith('.')) return 'dotfile';
    // Below a JVM source root the directories are a package name (com/example/app).
    if (i >= packagePath) continue;
    const lower = p.toLowerCase();
    const anywhere = NON_PRODUCT_DIRS[lower];
    if (anywhere) return anywhere;
    const top = TOP_LEVEL_NON_PRODUCT_DIRS[lower];
    if (!top) continue;
    const packageRoot = i === 0 || (i === 2 && WORKSPACE_DIRS.has(parts[0]!.toLowerCase()));
    const subproject = i === 1 && (lower === 'build' || lower === 'out');
    if (packageRoot || subproject) return top;
  }
  return null;
}

/**
 * Where a Java/Kotlin/Scala/Groovy package path starts in `parts` (after `src/main/java` or
 * `src/java`), or past the end when there is none.
 */
function jvmPackageStart(parts: string[]): number {
  for (let i = 1; i < parts.length; i++) {
    if (!JVM_LANGUAGE_DIRS.has(parts[i]!)) continue;
    if (parts[i - 1] === 'src' || (parts[i - 1] === 'main' && parts[i - 2] === 'src')) return i + 1;
  }
  return parts.length;
}
const JVM_LANGUAGE_DIRS = new Set(['java', 'kotlin', 'scala', 'groovy']);

/**
 * Why a file is never a target by its path alone (rules 1 and 3 of the module comment), or
 * null. Test files are a separate question (`isTestPath`), so callers can bring their own.
 */
export function nonProductPathReason(path: string): string | null {
  const parts = path.split('/');
  const base = parts.at(-1)!;
  const dirReason = nonProductDirReason(parts.slice(0, -1).join('/'));
  if (dirReason) return dirReason;
  if (base.startsWith('.')) return 'dotfile';
  const ext = extOf(base);
  if (SCRIPT_EXTENSIONS.has(ext)) return 'shell script';
  if (CONFIG_NAME.test(base)) return 'config file';
  if (DECLARATIONS.test(base)) return 'type declarations';
  if (GENERATED_NAME.test(base)) return 'generated';
  if (!CODE_EXTENSIONS.has(ext)) return 'not code';
  return null;
}

/** True when the first lines of `source` say the file is generated. */
export function isGeneratedSource(source: string): boolean {
  const head = source.slice(0, 2000).split('\n').slice(0, 5).join('\n');
  return GENERATED_HEADER.test(head);
}

export interface ProductContext {
  /** Oracle test files: never targets. */
  testFiles?: ReadonlySet<string>;
  /** Test files and helpers beyond those (default `isTestPath`). */
  isTestFile?: (path: string) => boolean;
  /**
   * Whether the test suite executes a file: true or false where coverage knows, undefined
   * where it does not (another language, or no coverage): then the path rules decide alone.
   */
  executed?: (path: string) => boolean | undefined;
  /** The file's original content, for the generated-file header (null: not read). */
  source?: (path: string) => string | null;
}

/** Why `path` is not a target, or null when it is (the whole rule, for one file). */
export function nonTargetReason(path: string, ctx: ProductContext = {}): string | null {
  const p = posix.normalize(path).replace(/^(\.\/)+/, '');
  if (ctx.testFiles?.has(p)) return 'test file';
  if ((ctx.isTestFile ?? isTestPath)(p)) return 'test file';
  const byPath = nonProductPathReason(p);
  if (byPath) return byPath;
  const text = ctx.source?.(p);
  if (text && isGeneratedSource(text)) return 'generated';
  if (ctx.executed?.(p) === false) return 'not executed by the tests';
  if (ctx.testFiles && isUntestedGoPackage(p, ctx.testFiles)) return 'Go package without tests';
  return null;
}

/**
 * A Go file whose package directory holds no test file: Go has no line coverage here, but
 * `go test` compiles a package's tests with the package, and a package no test sits beside is
 * rarely exercised (commands under cmd/, examples), so its bugs would go unnoticed.
 */
function isUntestedGoPackage(path: string, testFiles: ReadonlySet<string>): boolean {
  if (!path.endsWith('.go')) return false;
  const dir = posix.dirname(path);
  for (const t of testFiles) if (t.endsWith('_test.go') && posix.dirname(t) === dir) return false;
  return true;
}

/** Whether `path` is product code a bug may be injected into. */
export function isProductFile(path: string, ctx: ProductContext = {}): boolean {
  return nonTargetReason(path, ctx) === null;
}

/**
 * `executed` from a coverage run: for JavaScript/TypeScript files when a Node process
 * reported coverage, for Python files when a Python process did; otherwise unknown.
 * A file Node loaded but whose offsets could not be mapped counts as executed.
 */
export function executedFrom(cov: Coverage): (path: string) => boolean | undefined {
  const unmapped = new Set(cov.unmapped);
  const withLines = new Set(cov.files().filter((f) => cov.lines(f).length > 0));
  return (path) => {
    const lang = languageOf(path);
    if (!lang) return undefined;
    const runs =
      lang === 'python' ? cov.processes.python : isJavaScriptLike(lang) ? cov.processes.node : 0;
    if (runs === 0) return undefined;
    return unmapped.has(path) || withLines.has(path);
  };
}

// ---------------------------------------------------------------------------------------------
// Version strings

/** `__version__` and `__version_info__`: whatever they are assigned. */
const DUNDER_VERSION = /^\s*(?:[\w$]+\.)*__version(?:_info)?__\s*(?::[^=]+)?=/;

/** A name that holds a version: version, VERSION, Version, PKG_VERSION, libVersion, version_info. */
const NAME = String.raw`(?:(?:[\w$]*_)?(?:version|VERSION)(?:_info|_INFO|_string|_STRING|_str|_STR)?|[\w$]*[a-z0-9]Version(?:String|Str|Info)?|Version)`;

/** A version-looking value: "1.2.3", 'v2.0.0-beta.1', (1, 2, 3), [1, 2]. */
const VALUE = String.raw`(?:[ubrUBR]?(?<q>['"\x60])v?\d+(?:\.\d+)+[^'"\x60\n]*\k<q>|[(\[]\s*\d+\s*,\s*\d+[^)\]\n]*[)\]])`;

/**
 * A declaration or assignment at the start of the line (keywords, types and qualifiers may
 * come first: `export const`, `pub const NAME: &str`, `public static final String`,
 * `exports.`, `self.`), or an object property anywhere in it (`{ version: '1.2.3' }`).
 */
const ASSIGNED = new RegExp(
  String.raw`^\s*(?:[\w$&'<>\[\]*]+\s+)*\*?(?:[\w$]+(?:\.|::|->))*${NAME}(?:\s*\[\s*\])?\s*(?::(?!=)[^=\n]*)?(?:=|:=)\s*${VALUE}`,
);
const PROPERTY = new RegExp(
  String.raw`(?:^\s*|[{,(]\s*)(?<nq>['"]?)${NAME}\k<nq>\s*[:=]\s*${VALUE}`,
);
/** C and C++: `#define FOO_VERSION "1.2.3"`, `#define VERSION_MAJOR 2`. */
const DEFINE = /^\s*#\s*define\s+\w*VERSION\w*\s+\S/i;

/**
 * True when the line sets a version string: `__version__ = "..."`, `VERSION = "..."`,
 * `version: "..."`, Go `const Version = "..."`, Rust `const VERSION: &str = "..."`,
 * `#define X_VERSION ...`. Such a line is never a target, in any strategy.
 */
export function isVersionLine(line: string): boolean {
  if (!/version/i.test(line)) return false;
  return (
    DUNDER_VERSION.test(line) || DEFINE.test(line) || ASSIGNED.test(line) || PROPERTY.test(line)
  );
}

/** 1-based numbers of the version lines of a text. */
export function versionLines(text: string): number[] {
  if (!/version/i.test(text)) return [];
  const out: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (isVersionLine(l)) out.push(i + 1);
  });
  return out;
}

/** 1-based number of the first line where `after` differs from `before`. */
function firstChangedLine(before: string, after: string): number {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.max(1, Math.min(i + 1, a.length));
}

/** Lines with their endings ("a\n", "b"), so that joining them gives the text back. */
function linesOf(text: string): string[] {
  return text.split(/(?<=\n)/);
}

/**
 * `after` with every changed run of lines that touches a version line (on either side) put
 * back as it was in `before`. Returns `after` itself when nothing changes.
 */
export function keepVersionLines(before: string, after: string): string {
  if (!/version/i.test(before) && !/version/i.test(after)) return after;
  const a = linesOf(before);
  const b = linesOf(after);
  // Common prefix and suffix first: a single edit leaves a small middle to diff.
  const { pre, suf } = commonEnds(a, b);
  const midA = a.slice(pre, a.length - suf);
  const midB = b.slice(pre, b.length - suf);
  if (!midA.some(isVersionLine) && !midB.some(isVersionLine)) return after;
  const parts = diffLines(midA.join(''), midB.join(''));
  let out = a.slice(0, pre).join('');
  let removed = '';
  let added = '';
  let changed = false;
  const flush = () => {
    if (!removed && !added) return;
    const touches = linesOf(removed).some(isVersionLine) || linesOf(added).some(isVersionLine);
    out += touches ? removed : added;
    if (touches) changed = true;
    removed = '';
    added = '';
  };
  for (const part of parts) {
    if (part.removed) removed += part.value;
    else if (part.added) added += part.value;
    else {
      flush();
      out += part.value;
    }
  }
  flush();
  out += a.slice(a.length - suf).join('');
  return changed ? out : after;
}

// ---------------------------------------------------------------------------------------------
// Candidates

export interface TargetContext extends ProductContext {
  /** The original content of a repository file (null: absent). */
  original: (path: string) => string | null;
}

/** A candidate's target part (null when none), and counts of what the rule took out. */
export interface TargetFilter {
  (c: BugCandidate): BugCandidate | null;
  stats: {
    /** Candidates dropped: their only change was a version string. */
    version: number;
    /** History reverts kept with their version lines left as they are. */
    trimmed: number;
    /** Candidates dropped: no file they change is product code. */
    notProduct: number;
  };
}

/**
 * A filter from candidates to their target part, with the per-file answers cached: files
 * that are not product code are left out (a history revert keeps its product files, under a
 * new key); a changed run of lines that touches a version string is left as it was in a
 * history revert, and drops a removal or mutation candidate whole (its one edit was the
 * version string). A candidate with nothing to leave out comes back as it is.
 */
export function targetFilterFor(ctx: TargetContext): TargetFilter {
  const product = new Map<string, boolean>();
  const hasVersion = new Map<string, boolean>();
  const isProduct = (f: string) => {
    let v = product.get(f);
    if (v === undefined) {
      v = isProductFile(f, { ...ctx, source: ctx.original });
      product.set(f, v);
    }
    return v;
  };
  const versioned = (f: string, text: string) => {
    let v = hasVersion.get(f);
    if (v === undefined) {
      v = versionLines(text).length > 0;
      hasVersion.set(f, v);
    }
    return v;
  };
  const stats = { version: 0, trimmed: 0, notProduct: 0 };
  const apply = (c: BugCandidate): BugCandidate | null => {
    const files = Object.keys(c.edits);
    const edits: Record<string, string | null> = {};
    let trimmed = false;
    let anyProduct = false;
    for (const f of files) {
      if (!isProduct(f)) continue;
      anyProduct = true;
      const before = ctx.original(f);
      const after = c.edits[f]!;
      if (before === null || after === null) {
        // A revert that creates or deletes a whole file: not if that file sets a version.
        if (versionLines(before ?? after ?? '').length > 0) trimmed = true;
        else edits[f] = after;
        continue;
      }
      // One edit in a file without version lines cannot be a version string.
      const kept =
        c.strategy !== 'history' && !versioned(f, before) ? after : keepVersionLines(before, after);
      if (kept !== after) trimmed = true;
      if (kept !== before) edits[f] = kept;
    }
    const keep = Object.keys(edits);
    if (!anyProduct) {
      stats.notProduct++;
      return null;
    }
    if (keep.length === 0 || (trimmed && c.strategy !== 'history')) {
      stats.version++;
      return null;
    }
    if (!trimmed && keep.length === files.length) return c;
    if (trimmed) stats.trimmed++;
    const partial = keep.length !== files.length;
    const notProduct = files.some((f) => !isProduct(f));
    const sha = c.key.split(':')[1] ?? '';
    const notes = [
      partial ? `only ${keep.join(', ')}` : '',
      trimmed ? 'version strings left as they are' : '',
    ].filter(Boolean);
    const at = keep.includes(c.location.file) ? c.location.file : keep[0]!;
    return {
      ...c,
      // testedPart gives the same key to the same files: the two are one candidate.
      key: partial ? `history:${sha}:${sha256(...keep).slice(0, 12)}` : c.key,
      operator: notProduct
        ? 'revert-commit-tested'
        : partial && c.operator === 'revert-commit'
          ? 'revert-commit-partial'
          : c.operator,
      description: `${c.description}; ${notes.join(', ')}`,
      edits,
      location: { file: at, line: firstChangedLine(ctx.original(at) ?? '', edits[at] ?? '') },
    };
  };
  return Object.assign(apply, { stats });
}

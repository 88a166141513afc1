/**
 * Only product code is a target (src/inject/product-code.ts): the rule on the file lists of
 * two real npm packages (pino, fast-json-stringify: lint config, examples, benchmarks, build
 * scripts, a generated validator, a version module), version lines in the languages the
 * injectors handle, and `ssr inject` end to end on a repository whose own tests execute its
 * lint config, its example and its benchmark and check its version string: no candidate of
 * any strategy touches them, and valid artifacts still come out.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diffLines } from 'diff';
import { readArtifact } from '../src/artifact/artifact.js';
import type { Coverage } from '../src/inject/coverage.js';
import { historyCandidates } from '../src/inject/history.js';
import { mutationCandidates } from '../src/inject/mutation.js';
import {
  type InjectEvent,
  type InjectSummary,
  injectBugs,
  listSourceFiles,
} from '../src/inject/pipeline.js';
import {
  executedFrom,
  isProductFile,
  isTestPath,
  isVersionLine,
  keepVersionLines,
  nonTargetReason,
  targetFilterFor,
  versionLines,
} from '../src/inject/product-code.js';
import { removalCandidates } from '../src/inject/removal.js';
import type { BugCandidate } from '../src/inject/types.js';
import { LayerStack } from '../src/sandbox/layers.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { FIXTURE_ROOT, treeHash } from './helpers/fixtures.js';

// --- real npm packages --------------------------------------------------------------------------

/** `npm pack <spec>`, unpacked once into FIXTURE_ROOT; returns the `package/` folder. */
function npmPackage(spec: string): string {
  const dest = join(FIXTURE_ROOT, `npm-pack-${spec.replace(/[^\w.-]+/g, '_')}`);
  if (!existsSync(dest)) {
    mkdirSync(FIXTURE_ROOT, { recursive: true });
    const work = mkdtempSync(join(FIXTURE_ROOT, '.npm-pack-'));
    try {
      const tgz = execFileSync(
        'npm',
        ['pack', spec, '--pack-destination', work, '--silent', '--no-update-notifier'],
        { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      )
        .trim()
        .split('\n')
        .at(-1)!;
      const into = join(work, 'out');
      mkdirSync(into);
      execFileSync('tar', ['xzf', join(work, tgz), '--no-same-owner', '-C', into], {
        stdio: 'pipe',
      });
      try {
        renameSync(into, dest);
      } catch (err) {
        if (!existsSync(dest)) throw err; // another process finished first
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return join(dest, 'package');
}

function filesOf(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? filesOf(dir, rel) : [rel];
    })
    .sort();
}

/** The rule's verdict on every file of a package: target or the reason it is not. */
function classify(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of filesOf(dir)) {
    const reason =
      nonTargetReason(f, { source: (p) => readFileSync(join(dir, p), 'utf8') }) ?? 'target';
    out.set(reason, [...(out.get(reason) ?? []), f]);
  }
  return out;
}

describe('the rule on real npm packages', () => {
  test('pino 8.17.2: lib/ and the entry points; not its lint config, benchmarks, examples, build script, docs, tests', () => {
    const dir = npmPackage('pino@8.17.2');
    const by = classify(dir);
    assert.deepEqual(by.get('target'), [
      'bin.js',
      'browser.js',
      'file.js',
      'lib/caller.js',
      'lib/deprecations.js',
      'lib/levels.js',
      'lib/meta.js',
      'lib/multistream.js',
      'lib/proto.js',
      'lib/redaction.js',
      'lib/symbols.js',
      'lib/time.js',
      // A file named tools is code; only a top-level tools/ folder is tooling.
      'lib/tools.js',
      'lib/transport-stream.js',
      'lib/transport.js',
      'lib/worker-pipeline.js',
      'lib/worker.js',
      'pino.js',
    ]);
    assert.ok(by.get('dotfile')?.includes('.eslintrc'));
    assert.ok(by.get('dotfile')?.includes('.github/workflows/ci.yml'));
    assert.equal(by.get('benchmark')?.length, 18);
    assert.ok(by.get('benchmark')?.includes('benchmarks/utils/runbench.js'));
    assert.deepEqual(by.get('example'), ['examples/basic.js', 'examples/transport.js']);
    assert.deepEqual(by.get('build'), ['build/sync-version.js']);
    assert.deepEqual(by.get('shell script'), ['inc-version.sh']);
    assert.deepEqual(by.get('type declarations'), ['pino.d.ts']);
    assert.ok(by.get('docs')?.includes('docs/api.md'));
    const tests = by.get('test file') ?? [];
    assert.ok(tests.length > 100, `${tests.length}`);
    for (const f of [
      'test/helper.js',
      'test/jest/basic.spec.js',
      'test/fixtures/transport/index.js',
    ])
      assert.ok(tests.includes(f), f);
    assert.ok(tests.every((f) => f.startsWith('test/')));
    // lib/meta.js is `module.exports = { version: '8.17.2' }`: a target file, not a target line.
    assert.deepEqual(versionLines(readFileSync(join(dir, 'lib/meta.js'), 'utf8')), [3]);
    for (const f of by.get('target')!.filter((f) => f !== 'lib/meta.js'))
      assert.deepEqual(versionLines(readFileSync(join(dir, f), 'utf8')), [], f);
  });

  test('fast-json-stringify 5.8.0: a generated validator, tsd type tests and benchmark/ are not targets', () => {
    const dir = npmPackage('fast-json-stringify@5.8.0');
    const by = classify(dir);
    assert.deepEqual(by.get('target'), [
      'index.js',
      'lib/location.js',
      'lib/ref-resolver.js',
      'lib/serializer.js',
      'lib/standalone.js',
      'lib/validator.js',
    ]);
    // "/* CODE GENERATED BY 'build-schema-validator.js' DO NOT EDIT! */"
    assert.deepEqual(by.get('generated'), ['lib/schema-validator.js']);
    assert.equal(nonTargetReason('lib/schema-validator.js'), null, 'by its header, not its name');
    assert.deepEqual(by.get('build'), ['build/build-schema-validator.js']);
    assert.deepEqual(by.get('example'), ['examples/example.js', 'examples/server.js']);
    assert.equal(by.get('benchmark')?.length, 4);
    assert.ok(by.get('test file')?.includes('types/index.test-d.ts'));
  });
});

// --- the rule's parts ---------------------------------------------------------------------------

describe('path rules', () => {
  const cases: [string, string | null][] = [
    ['src/index.ts', null],
    ['lib/scripts/run.js', null], // scripts/ is tooling at the top only
    ['src/tools/search.py', null],
    ['src/pip/_internal/operations/build/wheel.py', null],
    ['packages/core/src/index.ts', null],
    ['cmd/app/main.go', null],
    ['src/main/java/org/x/Parser.java', null],
    ['src/main/java/com/example/Calc.java', null], // a package name, not an example
    ['src/main/kotlin/com/acme/bench/Timer.kt', null],
    ['examples/Foo.java', 'example'],
    ['.eslintrc.js', 'dotfile'],
    ['.config/x.js', 'dotfile'],
    ['eslint.config.mjs', 'config file'],
    ['babel.config.js', 'config file'],
    ['webpack.prod.js', 'config file'],
    ['lib/webpack.js', null], // webpack's own entry point
    ['src/rollup/rollup.ts', null],
    ['src/app-config.ts', null],
    ['lib/config.js', null],
    ['rollup.config.ts', 'config file'],
    ['vite.config.ts', 'config file'],
    ['karma.conf.js', 'config file'],
    ['Gruntfile.js', 'config file'],
    ['gulpfile.babel.js', 'config file'],
    ['setup.py', 'config file'],
    ['noxfile.py', 'config file'],
    ['build.rs', 'config file'],
    ['CMakeLists.txt', 'config file'],
    ['conftest.py', 'test file'],
    ['example/app.js', 'example'],
    ['examples/basic/main.go', 'example'],
    ['bench/parse.js', 'benchmark'],
    ['benches/throughput.rs', 'benchmark'],
    ['benchmarks/run.py', 'benchmark'],
    ['fuzz/tokener_parse_ex_fuzzer.cc', 'fuzzer'],
    ['src/fuzzing/parse.rs', 'fuzzer'],
    ['scripts/release.js', 'script'],
    ['packages/core/scripts/build.js', 'script'],
    ['tools/gen/main.go', 'tooling'],
    ['hack/verify.go', 'tooling'],
    ['docs/conf.py', 'docs'],
    ['doc/example.rb', 'docs'],
    ['src/fixtures/data.js', 'fixture'],
    ['pkg/testdata/input.go', 'fixture'],
    ['vendor/github.com/x/y.go', 'vendored'],
    ['third_party/zlib/inflate.c', 'vendored'],
    ['node_modules/x/index.js', 'dependency'],
    ['dist/index.js', 'build output'],
    ['build/lib/x.js', 'build'],
    ['sub/build/Gen.java', 'build'],
    ['lib/jquery.min.js', 'generated'],
    ['api/service.pb.go', 'generated'],
    ['proto/msg_pb2.py', 'generated'],
    ['index.d.ts', 'type declarations'],
    ['bootstrap.sh', 'shell script'],
    ['scripts/x.sh', 'script'],
    ['test/helper.js', 'test file'],
    ['src/util.test.ts', 'test file'],
    ['tests/test_api.py', 'test file'],
    ['pkg/parse_test.go', 'test file'],
    ['spec/models/user_spec.rb', 'test file'],
    ['src/test/java/org/x/ParserTest.java', 'test file'],
    ['internal/testutil/server.go', 'test file'],
    ['jest.setup.ts', 'test file'],
    ['README.md', 'not code'],
  ];
  for (const [path, reason] of cases) {
    test(`${path}: ${reason ?? 'a target'}`, () => {
      assert.equal(nonTargetReason(path), reason);
    });
  }

  test('oracle test files, a custom test heuristic and coverage', () => {
    assert.equal(nonTargetReason('lib/a.js', { testFiles: new Set(['lib/a.js']) }), 'test file');
    assert.equal(isTestPath('test/a.js'), true);
    assert.equal(isProductFile('test/a.js', { isTestFile: () => false }), true);
    const executed = (f: string) => (f.endsWith('.go') ? undefined : f === 'lib/a.js');
    assert.equal(nonTargetReason('lib/b.js', { executed }), 'not executed by the tests');
    assert.equal(nonTargetReason('lib/a.js', { executed }), null);
    assert.equal(nonTargetReason('pkg/b.go', { executed }), null, 'unknown: path rules decide');
    // Executed or not, a lint config is never a target.
    assert.equal(nonTargetReason('.eslintrc.js', { executed: () => true }), 'dotfile');
  });

  test('executedFrom knows JavaScript from Node processes and Python from Python ones only', () => {
    const cov = {
      files: () => ['lib/a.js', 'pkg/m.py'],
      lines: (f: string) => (f === 'lib/a.js' ? [1, 2] : []),
      unmapped: ['lib/u.ts'],
      processes: { node: 1, python: 0 },
    } as unknown as Coverage;
    const executed = executedFrom(cov);
    assert.equal(executed('lib/a.js'), true);
    assert.equal(executed('lib/u.ts'), true, 'unmapped counts as executed');
    assert.equal(executed('lib/b.js'), false);
    assert.equal(executed('pkg/m.py'), undefined, 'no Python process reported');
    assert.equal(executed('cmd/main.go'), undefined);
  });
});

describe('version lines', () => {
  const yes = [
    '__version__ = "1.0.0"',
    "__version__: str = '2.1'",
    '__version__ = importlib.metadata.version("pkg")',
    '__version_info__ = (1, 2, 3)',
    'VERSION = "1.2.3"',
    'VERSION = (1, 2, 0)',
    "module.exports = { version: '8.17.2' }",
    "  version: '1.2.3',",
    '  "version": "1.2.3",',
    "export const version = '1.2.3';",
    "exports.version = '1.2.3'",
    "var VERSION = '4.17.21';",
    "Foo.VERSION = '3.7.1'",
    "  static readonly VERSION = '1.0.0';",
    "const libVersion = 'v2.0.0-beta.1'",
    'const Version = "1.2.3"',
    '\tVersion = "1.2.3"',
    'pub const VERSION: &str = "0.1.0";',
    'public static final String VERSION = "1.0.0";',
    'const val VERSION = "1.0"',
    '  VERSION = "1.2.3".freeze',
    '#define FOO_VERSION "1.2.3"',
    '#define VERSION_MAJOR 2',
    'static const char *version = "1.2";',
  ];
  const no = [
    "if (version === '1.2.3') {",
    "semver.gt(version, '1.2.3')",
    'const protocolVersion = 13;',
    'conversion = "1.5"',
    'pino.version = version',
    'const version = opts.version',
    '// version 1.2.3',
    'const v = "1.2.3"',
    'print("version 1.2.3")',
  ];
  for (const line of yes)
    test(`a version line: ${line.trim()}`, () => assert.ok(isVersionLine(line)));
  for (const line of no) test(`not one: ${line}`, () => assert.ok(!isVersionLine(line)));

  test('a long line is decided fast', () => {
    const t0 = performance.now();
    isVersionLine(`${'word '.repeat(20_000)}version = x`);
    isVersionLine(`${'a.'.repeat(20_000)}version`);
    assert.ok(performance.now() - t0 < 200);
  });

  test('keepVersionLines puts back only the changed runs that touch a version line', () => {
    const before = 'a\n__version__ = "1.0.1"\nb\nc\nd\nx = 1\n';
    const after = 'a\n__version__ = "1.0.0"\nb\nc\nd\nx = 2\n';
    assert.equal(keepVersionLines(before, after), 'a\n__version__ = "1.0.1"\nb\nc\nd\nx = 2\n');
    assert.equal(keepVersionLines('x = 1\n', 'x = 2\n'), 'x = 2\n');
    assert.equal(keepVersionLines(before, before.replace('1.0.1', '1.0.0')), before);
  });
});

// --- a repository whose tests execute its non-product code --------------------------------------

const ESLINTRC = (strict: boolean) => `'use strict';

function severity(strict) {
  if (strict) {
    return 'error';
  }
  return 'warn';
}

function ignored(file) {
  return file.startsWith('bench/') || file.endsWith('.min.js');
}

module.exports = {
  root: true,
  rules: { 'no-unused-vars': severity(${strict}), 'no-console': severity(false) },
  ignored,
};
`;

const SLUG = (trim: boolean) => `'use strict';

/** Lowercase ascii words of s, joined by dashes. */
function slugify(s) {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')${trim ? "\n    .replace(/^-+|-+$/g, '')" : ''};
}

/** True when s is already a slug. */
function isSlug(s) {
  return s.length > 0 && slugify(s) === s;
}

module.exports = { slugify, isSlug };
`;

const CLAMP = `'use strict';

/** Limits x to [lo, hi]. */
function clamp(x, lo, hi) {
  if (lo > hi) {
    throw new RangeError('lo > hi');
  }
  return Math.min(hi, Math.max(lo, x));
}

module.exports = { clamp };
`;

const VERSION_JS = (v: string) => `'use strict';

module.exports = { version: '${v}' };
`;

const INDEX = (v: string) => `'use strict';

const { slugify, isSlug } = require('./slug');
const { clamp } = require('./clamp');
const { version } = require('./version');

exports.VERSION = '${v}';
exports.version = version;
exports.slugify = slugify;
exports.isSlug = isSlug;
exports.clamp = clamp;
`;

const EXAMPLE = (width: number) => `'use strict';

const { slugify, clamp } = require('../lib');

function show(title) {
  const slug = slugify(title);
  return title + ' -> ' + slug + ' (' + clamp(slug.length, 0, ${width}) + ')';
}

console.log(show('Hello, World!'));
`;

const BENCH = (n: number) => `'use strict';

const { slugify } = require('../lib');

function run(n) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += slugify('Title number ' + i).length;
  }
  return total;
}

if (require.main === module) {
  console.log(run(${n}));
}

module.exports = { run };
`;

const BUMP = (v: string) => `'use strict';

function nextVersion(v) {
  const parts = v.split('.').map(Number);
  parts[2] += 1;
  return parts.join('.');
}

console.log(nextVersion('${v}'));
`;

const SCRIPT_SH = (v: string) => `#!/bin/sh
set -e
echo "releasing ${v}"
node scripts/bump.js
`;

const TESTS = (v: string, trim: boolean) => `'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const lib = require('../lib');

test('slugify joins words', () => {
  assert.equal(lib.slugify('Hello World'), 'hello-world');
});
${
  trim
    ? `
test('slugify trims dashes at the ends', () => {
  assert.equal(lib.slugify('  Hello, World!  '), 'hello-world');
});
`
    : ''
}
test('isSlug', () => {
  assert.equal(lib.isSlug('a-b'), true);
  assert.equal(lib.isSlug('A b'), false);
});

test('clamp', () => {
  assert.equal(lib.clamp(5, 0, 3), 3);
  assert.equal(lib.clamp(-1, 0, 3), 0);
  assert.throws(() => lib.clamp(1, 3, 0), RangeError);
});

test('the version', () => {
  assert.equal(lib.version, '${v}');
  assert.equal(lib.VERSION, lib.version);
});

test('the lint config loads', () => {
  const config = require('../.eslintrc.js');
  assert.equal(config.rules['no-unused-vars'], 'error');
  assert.equal(config.rules['no-console'], 'warn');
  assert.equal(config.ignored('bench/slug.bench.js'), true);
  assert.equal(config.ignored('lib/slug.js'), false);
});

test('the example runs', () => {
  const example = path.join(__dirname, '..', 'example', 'usage.js');
  const out = execFileSync(process.execPath, [example], { encoding: 'utf8' });
  assert.equal(out, 'Hello, World! -> ${trim ? 'hello-world (10)' : '-hello-world- (10)'}\\n');
});

test('the benchmark runs', () => {
  const { run } = require('../bench/slug.bench.js');
  assert.ok(run(10) > 0);
});
`;

function release(v: string, next: boolean): Record<string, string> {
  return {
    'package.json': `${JSON.stringify({ name: 'verkit', version: v, main: 'lib/index.js', scripts: { test: 'node --test test/', lint: 'eslint .' } }, null, 2)}\n`,
    '.eslintrc.js': ESLINTRC(next),
    'lib/slug.js': SLUG(next),
    'lib/clamp.js': CLAMP,
    'lib/version.js': VERSION_JS(v),
    'lib/index.js': INDEX(v),
    'example/usage.js': EXAMPLE(next ? 10 : 12),
    'bench/slug.bench.js': BENCH(next ? 100_000 : 10_000),
    'scripts/bump.js': BUMP(v),
    'scripts/x.sh': SCRIPT_SH(v),
    'test/verkit.test.js': TESTS(v, next),
  };
}

/** Files no candidate may touch, and the product files. */
const NOT_TARGETS = [
  '.eslintrc.js',
  'example/usage.js',
  'bench/slug.bench.js',
  'scripts/bump.js',
  'scripts/x.sh',
  'test/verkit.test.js',
  'package.json',
];
const PRODUCT = ['lib/clamp.js', 'lib/index.js', 'lib/slug.js', 'lib/version.js'];

/**
 * verkit: 1.1.0, then 1.2.0 (slugify trims dashes, with its test; and the version bump, the
 * lint config, example, benchmark and release scripts all changed in the same commit), then a
 * commit that changes only the example and the lint config.
 */
function buildRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  let clock = Date.parse('2024-03-01T00:00:00Z');
  const git = (...args: string[]) => {
    const date = new Date(clock).toISOString();
    execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
      cwd: dir,
      stdio: 'pipe',
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.invalid',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.invalid',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    });
  };
  const commit = (message: string, files: Record<string, string>) => {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    clock += 3600_000;
    git('add', '-A');
    git('commit', '-q', '--no-gpg-sign', '--no-verify', '-m', message);
  };
  git('init', '-q');
  commit('verkit 1.1.0', release('1.1.0', false));
  commit('verkit 1.2.0: slugify trims dashes at the ends', release('1.2.0', true));
  commit('Lint the example too', {
    '.eslintrc.js': ESLINTRC(true).replace("file.startsWith('bench/')", "file.startsWith('b')"),
    'example/usage.js': EXAMPLE(10).replace("'Hello, World!'", "'Hello, World!' /* demo */"),
  });
}

/** The lines a candidate changes in `file` (removed or added), from its original content. */
function changedLines(before: string, after: string | null): string[] {
  return diffLines(before, after ?? '')
    .filter((p) => p.added || p.removed)
    .flatMap((p) => p.value.split('\n'));
}

describe('a repository whose tests execute its lint config, example and benchmark', () => {
  let work: string;
  let repo: string;
  let hashBefore: string;
  const read = (f: string) => readFileSync(join(repo, f), 'utf8');

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'ssr-product-code-'));
    repo = join(work, 'verkit');
    buildRepo(repo);
    hashBefore = treeHash(repo);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the listing keeps lib/ only', () => {
    const tree = new LayerStack([{ dir: repo, overlay: false }]);
    assert.deepEqual(listSourceFiles(tree, new Set(['test/verkit.test.js'])), PRODUCT);
  });

  test('removal and mutation: the generators alone would target them; the rule leaves none', async () => {
    const original = (f: string) => (existsSync(join(repo, f)) ? read(f) : null);
    const filter = targetFilterFor({ original });
    const raw: BugCandidate[] = [];
    for (const f of [
      ...PRODUCT,
      '.eslintrc.js',
      'example/usage.js',
      'bench/slug.bench.js',
      'scripts/bump.js',
    ]) {
      raw.push(...(await removalCandidates(f, read(f))), ...(await mutationCandidates(f, read(f))));
    }
    // Control: without the rule, all of them are candidates, and so are the version strings.
    const rawFiles = new Set(raw.map((c) => c.location.file));
    for (const f of ['.eslintrc.js', 'example/usage.js', 'bench/slug.bench.js', 'scripts/bump.js'])
      assert.ok(rawFiles.has(f), `control: ${f}`);
    const touchesVersion = (c: BugCandidate) =>
      Object.entries(c.edits).some(([f, after]) =>
        changedLines(read(f), after).some(isVersionLine),
      );
    // The generators may skip version literals themselves (mutation.ts does); the pipeline's
    // filter does not count on it. A mutation of the version string and the removal of the
    // VERSION assignment, as a generator would make them:
    const edited = (f: string, from: string, to: string) => {
      assert.ok(read(f).includes(from), `${f} lacks ${from}`);
      return { [f]: read(f).replace(from, to) };
    };
    raw.push(
      {
        strategy: 'mutation',
        key: 'mutation:lib/version.js:3:literal-string:0',
        operator: 'literal-string',
        description: "'1.2.0' -> ''",
        edits: edited('lib/version.js', "'1.2.0'", "''"),
        location: { file: 'lib/version.js', line: 3 },
      },
      {
        strategy: 'removal',
        key: 'removal:lib/index.js:7:remove-statement:0',
        operator: 'remove-statement',
        description: 'remove exports.VERSION',
        edits: edited('lib/index.js', "exports.VERSION = '1.2.0';\n", ''),
        location: { file: 'lib/index.js', line: 7 },
      },
    );
    const rawVersion = raw.filter(touchesVersion);
    assert.ok(rawVersion.length >= 2, `control: ${rawVersion.length} version candidates`);

    const kept = raw.map(filter).filter((c): c is BugCandidate => c !== null);
    assert.ok(kept.length > 10);
    for (const c of kept) {
      assert.ok(PRODUCT.includes(c.location.file), c.key);
      assert.ok(!touchesVersion(c), c.key);
    }
    // Everything else in lib/ is kept as it was.
    assert.equal(
      kept.length,
      raw.filter((c) => PRODUCT.includes(c.location.file)).length - rawVersion.length,
    );
    assert.equal(filter.stats.version, rawVersion.length);
  });

  test('history: the release revert keeps lib/slug.js only; the lint/example commit gives nothing', async () => {
    const host = SandboxHost.open();
    try {
      const sb = host.create(host.snapshotDir(repo));
      try {
        const found = await historyCandidates(sb, { testFiles: ['test/verkit.test.js'] });
        // The path rules already apply inside history.ts.
        for (const c of found) {
          for (const f of Object.keys(c.edits)) assert.ok(PRODUCT.includes(f), `${c.key}: ${f}`);
        }
        assert.ok(!found.some((c) => c.description.includes('Lint the example')));
        const filter = targetFilterFor({ original: read });
        const kept = found.map(filter).filter((c): c is BugCandidate => c !== null);
        assert.deepEqual(
          kept.map((c) => Object.keys(c.edits)),
          [['lib/slug.js']],
        );
        assert.equal(kept[0]!.edits['lib/slug.js'], SLUG(false));
        assert.match(
          kept[0]!.description,
          /; only lib\/slug\.js, version strings left as they are$/,
        );
        // The first line the revert changes: the replace that now ends the chain.
        assert.deepEqual(kept[0]!.location, { file: 'lib/slug.js', line: 7 });
        assert.equal(kept[0]!.operator, 'revert-commit-partial');
      } finally {
        await sb.dispose();
      }
    } finally {
      await host.close();
    }
  });

  test('ssr inject: no candidate touches them, valid artifacts come out', async () => {
    const out = join(work, 'out');
    const events: InjectEvent[] = [];
    const summary: InjectSummary = await injectBugs({
      repo,
      out,
      count: 3,
      seed: 1,
      maxCandidates: 12,
      onEvent: (e) => events.push(e),
    });
    assert.ok(summary.valid >= 1, JSON.stringify(summary.failures));
    const journal = readFileSync(join(out, '.ssr', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { location: { file: string }; key: string });
    assert.equal(journal.length, summary.tried);
    for (const r of journal) assert.ok(PRODUCT.includes(r.location.file), `${r.key}`);
    for (const id of summary.artifacts) {
      const bug = readArtifact(join(out, id)).bugDiff;
      const files = [...bug.matchAll(/^diff --git a\/(\S+) /gm)].map((m) => m[1]!);
      for (const f of files)
        assert.ok(PRODUCT.includes(f) && !NOT_TARGETS.includes(f), `${id}: ${f}`);
      const changed = bug.split('\n').filter((l) => /^[+-](?![+-]{2} )/.test(l));
      for (const l of changed) assert.ok(!isVersionLine(l.slice(1)), `${id}: ${l}`);
    }
    // The progress event counts what will be tried, and the pools separately.
    const ev = events.find((e) => e.type === 'candidates');
    assert.ok(ev && ev.type === 'candidates');
    const tried = Object.values(ev.byStrategy).reduce((a, b) => a + b, 0);
    assert.equal(tried, ev.total);
    assert.ok(ev.total <= 12);
    for (const s of summary.strategies) assert.ok(ev.available[s] >= ev.byStrategy[s]);
    const note = summary.notes.find((n) => n.startsWith('targets (product code only)'));
    assert.match(note ?? '', /: 4 source file\(s\); left out: /);
    assert.match(note ?? '', /benchmark \(1\)/);
    assert.match(note ?? '', /example \(1\)/);
    assert.ok(summary.notes.some((n) => n.startsWith('version strings are not targets')));
    assert.equal(treeHash(repo), hashBefore);
  });
});

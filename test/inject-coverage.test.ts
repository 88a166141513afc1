/**
 * Line coverage of a test suite run in a sandbox: Node (V8 block coverage, plain and through a
 * source map) and Python (sitecustomize tracer), on small projects built in temp dirs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import {
  type Coverage,
  collectCoverage,
  decodeMappings,
  targetFilter,
} from '../src/inject/coverage.js';
import { mutationCandidates } from '../src/inject/mutation.js';
import { removalCandidates } from '../src/inject/removal.js';
import { SandboxHost } from '../src/sandbox/local.js';
import { MINIMIST_TEST_SCRIPT, minimistRepo } from './helpers/fixtures.js';

let host: SandboxHost;
let work: string;

before(() => {
  host = SandboxHost.open();
  work = mkdtempSync(join(tmpdir(), 'ssr-test-coverage-'));
});

after(async () => {
  await host?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function writeTree(root: string, files: Record<string, string>): string {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

/** 1-based line of the first line of `source` containing `needle`. */
function lineOf(source: string, needle: string): number {
  const i = source.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `no line contains ${needle}`);
  return i + 1;
}

async function coverageOf(
  repo: string,
  script: string,
  opts: { timeoutMs?: number } = {},
): Promise<Coverage> {
  const scriptPath = join(dirname(repo), `${repo.split('/').pop()}-test_script.sh`);
  writeFileSync(scriptPath, script);
  const sb = host.create(host.snapshotDir(repo));
  try {
    const cov = await collectCoverage(sb, scriptPath, opts);
    // Coverage never lands in the repository.
    assert.equal(await sb.diff(), '');
    return cov;
  } finally {
    await sb.dispose();
  }
}

const CALC_JS = `'use strict';

function add(a, b) {
  if (a > 100) {
    return Infinity;
  }
  return a + b;
}

function neverCalled(x) {
  const y = x * 2;
  return y + 1;
}

module.exports = { add, neverCalled };
`;

const CALC_TEST_JS = `const test = require('node:test');
const assert = require('node:assert');
const { add } = require('../src/calc.js');

test('adds', () => {
  assert.strictEqual(add(1, 2), 3);
});
`;

// TypeScript compiled with an inline source map: V8 sees the JavaScript, lines differ.
const SHAPES_TS = `export interface Shape {
  kind: 'square' | 'circle';
  size: number;
}

export function area(s: Shape): number {
  if (s.kind === 'square') {
    return s.size * s.size;
  }
  return Math.PI * s.size * s.size;
}

export function perimeter(s: Shape): number {
  const factor: number = s.kind === 'square' ? 4 : 2 * Math.PI;
  return factor * s.size;
}
`;

const SHAPES_TEST_JS = `const test = require('node:test');
const assert = require('node:assert');
const { area } = require('../src/shapes.js');

test('square area', () => {
  assert.strictEqual(area({ kind: 'square', size: 3 }), 9);
});
`;

describe('Node.js (V8 coverage)', () => {
  let repo: string;
  let cov: Coverage;
  let shapesJs: string;

  before(async () => {
    const out = ts.transpileModule(SHAPES_TS, {
      fileName: 'shapes.ts',
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2020,
        inlineSourceMap: true,
      },
    });
    shapesJs = out.outputText;
    repo = writeTree(join(work, 'jsrepo'), {
      'package.json': '{"name":"calc","version":"1.0.0","private":true}\n',
      'src/calc.js': CALC_JS,
      'src/shapes.ts': SHAPES_TS,
      'src/shapes.js': shapesJs,
      'test/calc.test.js': CALC_TEST_JS,
      'test/shapes.test.js': SHAPES_TEST_JS,
    });
    cov = await coverageOf(
      repo,
      '#!/usr/bin/env bash\nnode --test test/calc.test.js test/shapes.test.js\n',
    );
  });

  test('the suite ran normally, one V8 report per Node process', () => {
    assert.equal(cov.run.exitCode, 0);
    assert.equal(cov.run.timedOut, false);
    // node --test runs each test file in a child process of its own.
    assert.ok(cov.processes.node >= 2, `node processes: ${cov.processes.node}`);
    assert.equal(cov.processes.python, 0);
  });

  test('lines of a called function are covered, a never-called function is not', () => {
    const c = (needle: string) => cov.covered('src/calc.js', lineOf(CALC_JS, needle));
    assert.equal(c('function add'), true);
    assert.equal(c('return a + b'), true);
    assert.equal(c('if (a > 100)'), true);
    // A block inside a called function that never ran.
    assert.equal(c('return Infinity'), false);
    assert.equal(c('const y = x * 2'), false);
    assert.equal(c('return y + 1'), false);
    assert.equal(c('module.exports'), true);
    assert.equal(cov.covered('src/nope.js', 1), false);
  });

  test('test files are covered too; node_modules and outside files are not reported', () => {
    assert.ok(cov.files().includes('test/calc.test.js'));
    assert.ok(cov.covered('test/calc.test.js', lineOf(CALC_TEST_JS, 'add(1, 2)')));
    assert.ok(cov.files().every((f) => !f.startsWith('/') && !f.includes('node_modules')));
    assert.deepEqual(cov.unmapped, []);
  });

  test('transpiled code maps back to the TypeScript source through its source map', () => {
    // The generated JavaScript has a different line layout, so this checks the mapping.
    assert.notEqual(
      lineOf(shapesJs, 'return s.size * s.size'),
      lineOf(SHAPES_TS, 'return s.size * s.size'),
    );
    const c = (needle: string) => cov.covered('src/shapes.ts', lineOf(SHAPES_TS, needle));
    assert.equal(c('if (s.kind'), true);
    assert.equal(c('return s.size * s.size'), true);
    assert.equal(c('return Math.PI'), false);
    assert.equal(c('const factor'), false);
    assert.equal(c('return factor'), false);
    assert.equal(c("kind: 'square' | 'circle'"), false); // types have no code
  });
});

const PY_CALC = `"""Calculator for the coverage test."""


def add(a, b):
    if a > 100:
        return float("inf")
    return a + b


def never_called(x):
    y = x * 2
    return y + 1


def only_in_child():
    return "child"
`;

const PY_TEST = `import subprocess
import sys

from pkg.calc import add


def test_add():
    assert add(1, 2) == 3


def test_child_process():
    out = subprocess.run(
        [sys.executable, "-c", "from pkg.calc import only_in_child; print(only_in_child())"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "child"


def test_tracing_is_transparent():
    # The tracer is installed; tests still see a normal interpreter.
    assert __name__ == "tests.test_calc" or __name__.endswith("test_calc")
`;

describe('Python (sitecustomize tracer)', () => {
  let cov: Coverage;

  before(async () => {
    const repo = writeTree(join(work, 'pyrepo'), {
      'pkg/__init__.py': '',
      'pkg/calc.py': PY_CALC,
      'tests/__init__.py': '',
      'tests/test_calc.py': PY_TEST,
    });
    cov = await coverageOf(
      repo,
      '#!/usr/bin/env bash\npython3 -m pytest -q -p no:cacheprovider tests\n',
    );
  });

  test('the suite ran normally', () => {
    assert.equal(cov.run.exitCode, 0);
    // pytest and the child process the test started.
    assert.ok(cov.processes.python >= 2, `python processes: ${cov.processes.python}`);
  });

  test('lines of a called function are covered, a never-called function is not', () => {
    const c = (needle: string) => cov.covered('pkg/calc.py', lineOf(PY_CALC, needle));
    assert.equal(c('if a > 100'), true);
    assert.equal(c('return a + b'), true);
    assert.equal(c('return float("inf")'), false);
    assert.equal(c('y = x * 2'), false);
    assert.equal(c('return y + 1'), false);
    // Module level runs at import: the def lines themselves.
    assert.equal(c('def never_called'), true);
  });

  test('processes the tests start are traced too', () => {
    assert.equal(cov.covered('pkg/calc.py', lineOf(PY_CALC, 'return "child"')), true);
  });

  test('targetFilter does not read silence from a language that never ran as "uncovered"', () => {
    const filter = targetFilter(cov);
    assert.equal(cov.processes.node, 0);
    assert.equal(cov.covered('pkg/other.js', 3), false);
    assert.equal(filter('pkg/other.js', 3), true);
    assert.equal(filter('pkg/calc.py', lineOf(PY_CALC, 'y = x * 2')), false);
    assert.equal(filter('pkg/calc.py', lineOf(PY_CALC, 'return a + b')), true);
  });

  test('paths are repo-relative', () => {
    assert.ok(cov.files().includes('pkg/calc.py'));
    assert.ok(cov.files().includes('tests/test_calc.py'));
    assert.ok(cov.files().every((f) => !f.startsWith('/')));
  });
});

describe('minimist and its tape suite', () => {
  test('coverage steers the generators away from code no test runs', async () => {
    const repo = minimistRepo();
    const source = readFileSync(join(repo, 'index.js'), 'utf8');
    const scriptPath = join(work, 'minimist-test_script.sh');
    writeFileSync(scriptPath, MINIMIST_TEST_SCRIPT);
    const sb = host.create(host.snapshotDir(repo));
    let cov: Coverage;
    try {
      cov = await collectCoverage(sb, scriptPath);
    } finally {
      await sb.dispose();
    }
    assert.equal(cov.run.exitCode, 0);
    assert.ok(cov.processes.node >= 10); // one per test file
    assert.ok(cov.files().includes('index.js') && cov.files().includes('test/parse.js'));
    const lines = source.split('\n');
    // setKey's guard against a prototype reached through a key is never taken by the suite.
    const guarded = lines.findIndex((l, i) => i > 85 && l.trim() === 'o[key] = {};') + 1;
    assert.ok(guarded > 0);
    assert.equal(cov.covered('index.js', guarded), false);
    assert.equal(cov.covered('index.js', lineOf(source, 'function setKey')), true);
    assert.equal(cov.covered('index.js', lineOf(source, "if (args.indexOf('--') !== -1)")), true);
    const covered = cov.covered;
    const all = await removalCandidates('index.js', source);
    const aimed = await removalCandidates('index.js', source, { covered });
    assert.ok(all.some((c) => c.operator === 'remove-statement' && c.location.line === guarded));
    assert.ok(!aimed.some((c) => c.location.line === guarded));
    assert.ok(aimed.length > 100 && aimed.length < all.length);
    const mutants = await mutationCandidates('index.js', source, { covered });
    assert.ok(mutants.every((c) => covered('index.js', c.location.line)));
  });
});

describe('bounds', () => {
  test('a test script that hangs is killed at the timeout', async () => {
    const repo = writeTree(join(work, 'slowrepo'), { 'x.js': 'module.exports = 1;\n' });
    const t0 = Date.now();
    const cov = await coverageOf(repo, '#!/usr/bin/env bash\nsleep 60\n', { timeoutMs: 1500 });
    assert.equal(cov.run.timedOut, true);
    assert.ok(Date.now() - t0 < 20_000);
    assert.deepEqual(cov.files(), []);
  });
});

test('decodeMappings reads base64 VLQ segments', () => {
  // "AAAA;AACA,EAAE": line 0 col 0 -> src 0 line 0; line 1 col 0 -> line 1; col 2 -> line 1.
  assert.deepEqual(decodeMappings('AAAA;AACA,EAAE'), [
    [0, 0, 0, 0],
    [1, 0, 0, 1],
    [1, 2, 0, 1],
  ]);
});

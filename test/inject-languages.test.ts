/**
 * Removal and mutation on Go, Rust, Java, C, C++ and Ruby.
 *
 * Go and Rust run on real third-party source from Debian's source packages
 * (golang-github-google-go-cmp-dev: go-cmp 0.5.9; librust-strsim-dev: strsim 0.10.0;
 * librust-glob-dev: glob 0.3.0), fetched with `apt-get download` and cached under the system
 * temp folder; Java, C, C++ and Ruby on realistic files written here. Where the toolchain is
 * installed, sampled candidates are compiled (go build, rustc, javac, gcc/g++ -fsyntax-only,
 * ruby -c): a candidate that does not build is a wasted validation run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  functionsOf,
  listFunctions,
  parseFile,
  parsesCleanly,
  rustTestCode,
} from '../src/inject/ast.js';
import { incrementLiteral, mutationCandidates } from '../src/inject/mutation.js';
import { removalCandidates } from '../src/inject/removal.js';
import { mulberry32, shuffled } from '../src/inject/select.js';
import type { BugCandidate } from '../src/inject/types.js';
import { debianPackage } from './helpers/debian-crates.js';

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' };
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
}

function sourceFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(ext)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

interface Generated {
  file: string;
  source: string;
  removal: BugCandidate[];
  mutation: BugCandidate[];
}

async function generate(file: string, source: string): Promise<Generated> {
  return {
    file,
    source,
    removal: await removalCandidates(file, source),
    mutation: await mutationCandidates(file, source),
  };
}

const edited = (c: BugCandidate) => Object.values(c.edits)[0]!;
const ops = (cs: BugCandidate[]) => new Set(cs.map((c) => c.operator));

/** Every candidate edits only its own file, changes it, and parses without errors. */
async function assertCandidatesParse(g: Generated): Promise<void> {
  for (const c of [...g.removal, ...g.mutation]) {
    assert.deepEqual(Object.keys(c.edits), [g.file]);
    const text = edited(c);
    assert.notEqual(text, g.source, c.key);
    assert.equal(await parsesCleanly(g.file, text), true, `${c.key} does not parse`);
  }
}

/** The changed region of a candidate: [start, end) in the original. */
function changedRange(source: string, text: string): [number, number] {
  let i = 0;
  while (i < source.length && source[i] === text[i]) i++;
  let j = 0;
  while (j < source.length - i && source[source.length - 1 - j] === text[text.length - 1 - j]) j++;
  return [i, source.length - j];
}

/**
 * Builds many variants in one compiler run (one JVM, one go build, one gcc): variant i is
 * written under `v<i>/` by `write`, `build` runs once over all, and a variant fails when the
 * build output names its folder. Returns the failures, described.
 */
function batchBuild(
  sample: BugCandidate[],
  write: (i: number, text: string) => void,
  build: () => string,
): string[] {
  sample.forEach((c, i) => {
    write(i, edited(c));
  });
  const out = build();
  const failures: string[] = [];
  sample.forEach((c, i) => {
    const lines = out
      .split('\n')
      .filter((l) => new RegExp(`(^|[^\\w])v${i}/`).test(l))
      .filter((l) => !/\b(warning|note):|In (member )?function|At top level/.test(l));
    if (lines.length)
      failures.push(`${c.operator} ${c.description}\n  ${lines.slice(0, 3).join('\n  ')}`);
  });
  return failures;
}

function sampleOf(cs: BugCandidate[], n: number, seed = 1): BugCandidate[] {
  return shuffled(cs, mulberry32(seed)).slice(0, n);
}

// ---------------------------------------------------------------------------------------------
// Go: go-cmp

describe('Go (go-cmp 0.5.9 from Debian)', () => {
  let root: string | null = null;
  const files: Generated[] = [];
  before(async () => {
    const pkg = debianPackage('golang-github-google-go-cmp-dev');
    root = join(pkg, 'usr/share/gocode/src/github.com/google/go-cmp');
    // The cmp package itself, one file of cmpopts and the diff algorithm (internal/diff).
    const wanted =
      /^cmp\/[^/]+\.go$|^cmp\/cmpopts\/struct_filter\.go$|^cmp\/internal\/diff\/diff\.go$/;
    for (const p of sourceFiles(join(root, 'cmp'), '.go')) {
      if (p.endsWith('_test.go') || !wanted.test(relative(root, p))) continue;
      files.push(await generate(relative(root, p), readFileSync(p, 'utf8')));
    }
  });

  test('functions and methods with qualified names', async (t) => {
    if (!root) return t.skip('golang-github-google-go-cmp-dev not available');
    const compare = files.find((f) => f.file === 'cmp/compare.go')!;
    const names = (await listFunctions(compare.file, compare.source)).map((f) => f.name);
    for (const n of ['Equal', 'Diff', 'rootStep', 'state.compareAny', 'state.tryMethod'])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  test('removal and mutation candidates of every kind, all parsing', async (t) => {
    if (!root) return t.skip('golang-github-google-go-cmp-dev not available');
    const removal = files.flatMap((f) => f.removal);
    const mutation = files.flatMap((f) => f.mutation);
    for (const op of [
      'remove-function-body',
      'remove-if-statement',
      'remove-else-branch',
      'remove-statement',
      'remove-loop',
    ])
      assert.ok(ops(removal).has(op), op);
    for (const op of [
      'relational-boundary',
      'relational-swap',
      'arithmetic-swap',
      'logical-swap',
      'remove-negation',
      'negate-condition',
      'return-value',
      'literal-number',
      'literal-boolean',
      'literal-string',
    ])
      assert.ok(ops(mutation).has(op), op);
    for (const f of files) await assertCandidatesParse(f);
    // Never a whole function (its callers would not build), never an import path.
    assert.ok(!ops(removal).has('remove-function'));
    assert.ok(mutation.every((c) => !/"(reflect|fmt|strings)"/.test(c.description)));
  });

  test('bodies return the zero values of all their results', async (t) => {
    if (!root) return t.skip('golang-github-google-go-cmp-dev not available');
    const body = (file: string, fn: string) =>
      files
        .find((f) => f.file === file)!
        .removal.find(
          (c) => c.operator === 'remove-function-body' && c.description.includes(` of ${fn} `),
        );
    const expect = [
      ['cmp/path.go', 'pointerPath.Push', 'return false, false'],
      ['cmp/path.go', 'StructField.Values', 'return *new(reflect.Value), *new(reflect.Value)'],
      ['cmp/cmpopts/struct_filter.go', 'canonicalName', 'return nil, nil'],
      ['cmp/report_text.go', 'textList.formatCompactTo', 'return nil, nil'],
      ['cmp/report_references.go', 'pointerReferences.Push', 'return *new(value.Pointer), false'],
    ] as const;
    for (const [file, fn, ret] of expect) {
      const c = body(file, fn);
      assert.ok(c, `${fn}: no body removal`);
      assert.ok(edited(c).includes(`{\n\t${ret}\n}`), `${fn}: ${c.description}`);
    }
  });

  test('a written Go package: zero values, unused locals and imports, and every candidate builds', async (t) => {
    const src = `package calc

import (
	"errors"
	"strings"
)

// Version of the package.
const Version = "1.4.2"

type Pair struct{ A, B int }
type Kind int

// Split parses "a,b" into a Pair.
func Split(s string) (Pair, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return Pair{}, errors.New("want two parts")
	}
	return Pair{A: len(parts[0]), B: len(parts[1])}, nil
}

func Swap(p Pair, k Kind) (Pair, Kind, error) {
	n := p.A
	if p.A > p.B {
		return Pair{A: p.B, B: n}, k + 1, nil
	}
	return p, k, nil
}

func Sum(xs []int) (sum int, count int) {
	for _, x := range xs {
		if x < 0 {
			continue
		}
		sum += x
		count++
	}
	return
}

func label(k Kind) string {
	switch k {
	case 0:
		return "zero"
	case 1:
		return "one"
	}
	return "many"
}
`;
    const g = await generate('calc/calc.go', src);
    await assertCandidatesParse(g);
    const body = (fn: string) =>
      g.removal.find(
        (c) => c.operator === 'remove-function-body' && c.description.includes(` of ${fn} `),
      );
    assert.ok(edited(body('Swap')!).includes('{\n\treturn Pair{}, 0, nil\n}'));
    assert.ok(edited(body('Sum')!).includes('{\n\treturn 0, 0\n}'));
    // Split's body holds the only uses of both imports: without it the package does not build.
    assert.equal(body('Split'), undefined);
    // `n` is read only in the if: removing the if leaves it unused.
    const lineOf = (text: string) => src.split('\n').findIndex((l) => l.includes(text)) + 1;
    assert.ok(
      !g.removal.some(
        (c) => c.operator === 'remove-if-statement' && c.location.line === lineOf('if p.A > p.B'),
      ),
    );
    assert.ok(g.mutation.every((c) => !c.description.includes('1.4.2')));
    assert.ok(g.mutation.every((c) => !c.description.includes('want two parts')));
    // Case labels stay (a duplicate case does not build).
    const cases = [lineOf('case 0:'), lineOf('case 1:')];
    assert.ok(
      !g.mutation.some((c) => c.operator === 'literal-number' && cases.includes(c.location.line)),
    );
    if (!has('go')) return t.skip('go not installed');
    const dir = mkdtempSync(join(tmpdir(), 'ssr-go-'));
    try {
      writeFileSync(join(dir, 'go.mod'), 'module example.com/calc\n\ngo 1.18\n');
      const all = [...g.removal, ...g.mutation];
      const failures = batchBuild(
        all,
        (i, text) => {
          mkdirSync(join(dir, `v${i}`));
          writeFileSync(join(dir, `v${i}/calc.go`), text);
        },
        () =>
          spawnSync('go', ['build', './...'], { cwd: dir, env: goEnv(), encoding: 'utf8' }).stderr,
      );
      assert.equal(failures.length, 0, failures.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sampled candidates on go-cmp build (internal/diff)', async (t) => {
    if (!root) return t.skip('golang-github-google-go-cmp-dev not available');
    if (!has('go')) return t.skip('go not installed');
    const dir = mkdtempSync(join(tmpdir(), 'ssr-gocmp-'));
    try {
      cpSync(root, dir, { recursive: true });
      const diff = files.find((f) => f.file === 'cmp/internal/diff/diff.go')!;
      const sample = [...sampleOf(diff.removal, 12), ...sampleOf(diff.mutation, 12)];
      // Each variant is a copy of the package (internal/v<i>), all built by one go build.
      const failures = batchBuild(
        sample,
        (i, text) => {
          const v = join(dir, `cmp/internal/v${i}`);
          cpSync(join(dir, 'cmp/internal/diff'), v, { recursive: true });
          for (const f of readdirSync(v)) if (f.endsWith('_test.go')) rmSync(join(v, f));
          writeFileSync(join(v, 'diff.go'), text);
        },
        () =>
          spawnSync('go', ['build', './cmp/internal/...'], {
            cwd: dir,
            env: goEnv(),
            encoding: 'utf8',
          }).stderr,
      );
      assert.ok(failures.length <= 1, failures.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Rust: strsim and glob

describe('Rust (strsim 0.10.0 and glob 0.3.0 from Debian)', () => {
  const crates: Array<{ name: string; dir: string; lib: Generated }> = [];
  before(async () => {
    for (const [pkg, crate] of [
      ['librust-strsim-dev', 'strsim-0.10.0'],
      ['librust-glob-dev', 'glob-0.3.0'],
    ] as const) {
      const root = debianPackage(pkg);
      const dir = join(root, 'usr/share/cargo/registry', crate);
      const lib = await generate('src/lib.rs', readFileSync(join(dir, 'src/lib.rs'), 'utf8'));
      crates.push({ name: crate, dir, lib });
    }
  });

  test('functions qualified by impl and mod; candidates of every kind, all parsing', async (t) => {
    if (crates.length < 2) return t.skip('librust-strsim-dev / librust-glob-dev not available');
    const names = (g: Generated) =>
      listFunctions(g.file, g.source).then((fs) => fs.map((f) => f.name));
    const strsim = crates.find((c) => c.name.startsWith('strsim'))!.lib;
    const glob = crates.find((c) => c.name.startsWith('glob'))!.lib;
    const sn = await names(strsim);
    for (const n of ['hamming', 'generic_levenshtein', 'StrSimError.fmt', 'tests.hamming_empty'])
      assert.ok(sn.includes(n), `${n} in ${sn.join(', ')}`);
    const gn = await names(glob);
    for (const n of ['glob_with', 'Pattern.matches', 'Paths.next', 'GlobError.path'])
      assert.ok(gn.includes(n), `${n} in ${gn.join(', ')}`);
    const removal = [...strsim.removal, ...glob.removal];
    const mutation = [...strsim.mutation, ...glob.mutation];
    for (const op of [
      'remove-function-body',
      'remove-if-statement',
      'remove-statement',
      'remove-loop',
    ])
      assert.ok(ops(removal).has(op), op);
    for (const op of [
      'relational-swap',
      'arithmetic-swap',
      'logical-swap',
      'negate-condition',
      'return-value',
      'literal-number',
      'literal-boolean',
    ])
      assert.ok(ops(mutation).has(op), op);
    await assertCandidatesParse(strsim);
    await assertCandidatesParse(glob);
    // Typed bodies: fmt -> Ok(()), a usize -> 0, no todo!() anywhere.
    const body = (g: Generated, fn: string) =>
      g.removal.find(
        (c) => c.operator === 'remove-function-body' && c.description.includes(` of ${fn} `),
      );
    assert.match(body(strsim, 'StrSimError.fmt')!.description, /`Ok\(\(\)\)`/);
    assert.match(body(strsim, 'levenshtein')!.description, /`0`/);
    assert.match(body(glob, 'Pattern.matches')!.description, /`false`/);
    assert.ok(
      removal.every((c) => !edited(c).includes('todo!()') || c.operator !== 'remove-function-body'),
    );
  });

  test('nothing inside #[cfg(test)] modules or #[test] functions', async (t) => {
    if (crates.length < 2) return t.skip('librust-strsim-dev / librust-glob-dev not available');
    for (const { lib } of crates) {
      const parsed = (await parseFile(lib.file, lib.source))!;
      const isTest = rustTestCode(parsed);
      const testFns = functionsOf(parsed).filter((f) => isTest(f.node));
      assert.ok(testFns.length > 10, `${lib.file}: test functions found`);
      const regions = testFns.map((f) => [f.node.start, f.node.end] as const);
      const mod = lib.source.indexOf('#[cfg(test)]');
      assert.ok(mod > 0);
      for (const c of [...lib.removal, ...lib.mutation]) {
        const [s, e] = changedRange(lib.source, edited(c));
        assert.ok(s < mod || e <= mod, `${c.key} edits the test module`);
        assert.ok(!regions.some(([a, b]) => s >= a && e <= b), `${c.key} edits a test`);
      }
    }
  });

  test('sampled candidates compile (rustc on the crate root)', async (t) => {
    if (crates.length < 2) return t.skip('librust-strsim-dev / librust-glob-dev not available');
    if (!has('rustc')) return t.skip('rustc not installed');
    let total = 0;
    let built = 0;
    const failures: string[] = [];
    for (const { name, dir, lib } of crates) {
      const work = mkdtempSync(join(tmpdir(), 'ssr-rust-'));
      try {
        cpSync(join(dir, 'src'), join(work, 'src'), { recursive: true });
        const build = () => {
          const r = spawnSync(
            'rustc',
            [
              '--edition',
              '2015',
              '--crate-type',
              'lib',
              '--crate-name',
              name.split('-')[0]!,
              '--emit=metadata',
              '--out-dir',
              join(work, 'out'),
              '-A',
              'warnings',
              'src/lib.rs',
            ],
            { cwd: work, encoding: 'utf8' },
          );
          return { ok: r.status === 0, out: r.stderr };
        };
        assert.ok(build().ok, `${name} builds`);
        const sample = [...sampleOf(lib.removal, 4, 3), ...sampleOf(lib.mutation, 4, 3)];
        // One rustc per candidate (a crate cannot hold several copies of itself).
        for (const c of sample) {
          writeFileSync(join(work, 'src/lib.rs'), edited(c));
          const r = build();
          total++;
          if (r.ok) built++;
          else failures.push(`${c.operator} ${c.description}\n${r.out.slice(0, 600)}`);
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    assert.ok(built >= total * 0.9, `${built}/${total} built:\n${failures.join('\n\n')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Java

const JAVA_FILE = 'src/main/java/org/example/cache/LruCache.java';
const JAVA_SOURCE = `package org.example.cache;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A size-bounded cache that evicts the least recently used entry. */
public class LruCache<K, V> extends AbstractCache<K, V> implements Cache<K, V> {
  public static final String VERSION = "2.3.1";
  private static final int DEFAULT_CAPACITY = 16;

  private final int capacity;
  private final Map<K, V> entries;
  private long hits;
  private long misses;
  private String name = "cache";

  public LruCache(int capacity) {
    super("lru");
    if (capacity <= 0) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    this.entries = new LinkedHashMap<>(DEFAULT_CAPACITY, 0.75f, true);
  }

  public LruCache() {
    this(DEFAULT_CAPACITY);
  }

  @Override
  public Optional<V> get(K key) {
    V value = entries.get(key);
    if (value == null) {
      misses++;
      return Optional.empty();
    }
    hits++;
    return Optional.of(value);
  }

  public void put(K key, V value) {
    entries.put(key, value);
    while (entries.size() > capacity) {
      K eldest = entries.keySet().iterator().next();
      entries.remove(eldest);
    }
  }

  public double hitRate() {
    long total = hits + misses;
    if (total == 0) {
      return 0.0;
    }
    return (double) hits / total;
  }

  public boolean isFull() {
    return entries.size() >= capacity && capacity > 0;
  }

  public String describe() {
    String state;
    if (isFull()) {
      state = "full";
    } else {
      state = "open";
    }
    return name + " (" + state + ", " + entries.size() + "/" + capacity + ")";
  }

  public List<K> keys() {
    List<K> out = new ArrayList<>();
    for (K key : entries.keySet()) {
      out.add(key);
    }
    return out;
  }

  public int dump(Writer writer) {
    int lines = 0;
    try {
      for (Map.Entry<K, V> e : entries.entrySet()) {
        writer.write(e.getKey() + "=" + e.getValue() + "\\n");
        lines += 1;
      }
    } catch (IOException e) {
      return -1;
    }
    return lines;
  }

  static int level(int size) {
    switch (size) {
      case 0:
        return 0;
      case 1:
        return 1;
      default:
        return size > 100 ? 3 : 2;
    }
  }

  interface Listener {
    void evicted(Object key);
  }
}
`;
const JAVA_SUPPORT = `package org.example.cache;

import java.util.Optional;

interface Cache<K, V> {
  Optional<V> get(K key);
}

abstract class AbstractCache<K, V> {
  protected final String kind;

  AbstractCache(String kind) {
    this.kind = kind;
  }
}
`;

describe('Java (a written cache class)', () => {
  let g: Generated;
  before(async () => {
    g = await generate(JAVA_FILE, JAVA_SOURCE);
  });

  test('methods and constructors qualified by class', async () => {
    const names = (await listFunctions(JAVA_FILE, JAVA_SOURCE)).map((f) => f.name);
    for (const n of [
      'LruCache.LruCache',
      'LruCache.get',
      'LruCache.hitRate',
      'LruCache.Listener.evicted',
    ])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  test('candidates of every kind, typed bodies and returns, all parsing', async () => {
    await assertCandidatesParse(g);
    for (const op of [
      'remove-function-body',
      'remove-if-statement',
      'remove-statement',
      'remove-loop',
    ])
      assert.ok(ops(g.removal).has(op), op);
    for (const op of [
      'relational-boundary',
      'relational-swap',
      'arithmetic-swap',
      'logical-swap',
      'return-value',
      'literal-number',
      'negate-condition',
      'literal-string',
    ])
      assert.ok(ops(g.mutation).has(op), op);
    const body = (fn: string) =>
      g.removal.find(
        (c) => c.operator === 'remove-function-body' && c.description.includes(` of ${fn} `),
      );
    assert.match(body('LruCache.hitRate')!.description, /`return 0;`/);
    assert.match(body('LruCache.isFull')!.description, /`return false;`/);
    assert.match(body('LruCache.get')!.description, /Optional\.empty\(\)/);
    assert.match(body('LruCache.keys')!.description, /emptyList/);
    assert.match(body('LruCache.describe')!.description, /`return "";`/);
    // Blank finals: the constructor that assigns them keeps its body.
    assert.equal(body('LruCache.LruCache'), undefined);
    // Definite assignment: `state` must be assigned on both branches.
    assert.ok(
      !g.removal.some(
        (c) =>
          c.operator === 'remove-else-branch' && c.location.line >= 69 && c.location.line <= 73,
      ),
    );
    // The only thrower of IOException in its try stays.
    assert.ok(!g.removal.some((c) => c.description.includes('writer.write')));
    // Not mutated: version, messages, concatenations, case labels, annotations.
    for (const c of g.mutation) {
      assert.ok(!c.description.includes('2.3.1'), c.description);
      assert.ok(!c.description.includes('capacity must be positive'), c.description);
      assert.ok(
        !/`\+` -> `-`/.test(c.description) || !c.description.includes(':75)'),
        c.description,
      );
    }
    assert.ok(
      !g.mutation.some(
        (c) =>
          /case|:10[5-8]\)/.test(c.description) &&
          c.operator === 'literal-number' &&
          /`[01]` ->/.test(c.description),
      ),
    );
  });

  test('candidates compile (one javac run over a copy per candidate)', async (t) => {
    if (!has('javac')) return t.skip('javac not installed');
    const dir = mkdtempSync(join(tmpdir(), 'ssr-java-'));
    try {
      const sources: string[] = [];
      const failures = batchBuild(
        [...g.removal, ...sampleOf(g.mutation, 40)],
        (i, text) => {
          const pkg = join(dir, `v${i}/org/example/cache`);
          mkdirSync(pkg, { recursive: true });
          const rename = (x: string) =>
            x.replace('package org.example.cache;', `package v${i}.org.example.cache;`);
          writeFileSync(join(pkg, 'LruCache.java'), rename(text));
          writeFileSync(join(pkg, 'Cache.java'), rename(JAVA_SUPPORT));
          sources.push(join(pkg, 'LruCache.java'), join(pkg, 'Cache.java'));
        },
        () =>
          spawnSync(
            'javac',
            ['-d', join(dir, 'out'), '-nowarn', '-Xmaxerrs', '100000', ...sources],
            {
              encoding: 'utf8',
            },
          ).stderr,
      );
      assert.equal(failures.length, 0, failures.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// C and C++

const C_FILE = 'src/sbuf.c';
const C_SOURCE = `#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SBUF_VERSION "0.9.1"
#define SBUF_MIN(a, b) ((a) < (b) ? (a) : (b))

typedef struct sbuf {
  char *data;
  size_t len;
  size_t cap;
} sbuf;

typedef enum { SBUF_OK = 0, SBUF_NOMEM = 1 } sbuf_status;

static size_t grow_to(size_t cap, size_t want) {
  size_t next = cap ? cap : 16;
  while (next < want) {
    next *= 2;
  }
  return next;
}

sbuf_status sbuf_reserve(sbuf *b, size_t want) {
  if (want <= b->cap) {
    return SBUF_OK;
  }
  size_t cap = grow_to(b->cap, want);
  char *data = realloc(b->data, cap);
  if (data == NULL) {
    return SBUF_NOMEM;
  }
  b->data = data;
  b->cap = cap;
  return SBUF_OK;
}

int sbuf_append(sbuf *b, const char *s, size_t n) {
  if (sbuf_reserve(b, b->len + n + 1) != SBUF_OK) {
    fprintf(stderr, "sbuf: out of memory (%zu bytes)\\n", n);
    return -1;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\\0';
  return (int)n;
}

const char *sbuf_find(const sbuf *b, char c) {
  for (size_t i = 0; i < b->len; i++) {
    if (b->data[i] == c) {
      return b->data + i;
    }
  }
  return NULL;
}

bool sbuf_is_empty(const sbuf *b) { return b->len == 0 || b->data == NULL; }

sbuf sbuf_slice(const sbuf *b, size_t from, size_t to) {
  sbuf out = {0};
  size_t end = SBUF_MIN(to, b->len);
  if (from < end) {
    sbuf_append(&out, b->data + from, end - from);
  } else {
    out.len = 0;
  }
  return out;
}

int main(void) {
  sbuf b = {0};
  sbuf_append(&b, "hello", 5);
  printf("%s %d\\n", b.data, (int)b.len);
  free(b.data);
  return 0;
}
`;

const CPP_FILE = 'src/tokenizer.cpp';
const CPP_SOURCE = `#include <cctype>
#include <string>
#include <vector>

namespace text {

static const char *kVersion = "3.1.0";

struct Token {
  std::string value;
  bool quoted = false;
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string input) : input_(std::move(input)) {}

  std::vector<Token> split() const {
    std::vector<Token> out;
    std::string current;
    bool quoted = false;
    for (size_t i = 0; i < input_.size(); ++i) {
      char c = input_[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (std::isspace(static_cast<unsigned char>(c)) && !quoted) {
        flush(out, current);
      } else {
        current += c;
      }
    }
    flush(out, current);
    return out;
  }

  int count(char sep) const {
    int n = 0;
    for (char c : input_) {
      if (c == sep) n++;
    }
    return n + 1;
  }

  const std::string &input() const { return input_; }

  std::string joined(const std::string &sep) const {
    std::string out;
    for (const Token &t : split()) {
      if (!out.empty()) out += sep;
      out += t.value;
    }
    return out;
  }

 private:
  static void flush(std::vector<Token> &out, std::string &current) {
    if (current.empty()) return;
    out.push_back(Token{current, false});
    current.clear();
  }

  std::string input_;
};

double ratio(int a, int b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

}  // namespace text

extern "C" int text_count(const char *s) { return text::Tokenizer(s).count(' '); }
`;

describe('C and C++ (written files)', () => {
  let c: Generated;
  let cpp: Generated;
  before(async () => {
    c = await generate(C_FILE, C_SOURCE);
    cpp = await generate(CPP_FILE, CPP_SOURCE);
  });

  test('functions with names from their declarators, qualified by class and namespace', async () => {
    const cn = (await listFunctions(C_FILE, C_SOURCE)).map((f) => f.name);
    for (const n of ['grow_to', 'sbuf_reserve', 'sbuf_find', 'main']) assert.ok(cn.includes(n), n);
    const pn = (await listFunctions(CPP_FILE, CPP_SOURCE)).map((f) => f.name);
    for (const n of [
      'text.Tokenizer.Tokenizer',
      'text.Tokenizer.split',
      'text.Tokenizer.flush',
      'text.ratio',
      'text_count',
    ])
      assert.ok(pn.includes(n), `${n} in ${pn.join(', ')}`);
  });

  test('candidates of every kind, typed bodies, all parsing; main, macros and formats alone', async () => {
    await assertCandidatesParse(c);
    await assertCandidatesParse(cpp);
    for (const g of [c, cpp]) {
      for (const op of [
        'remove-function-body',
        'remove-if-statement',
        'remove-statement',
        'remove-loop',
      ])
        assert.ok(ops(g.removal).has(op), `${g.file} ${op}`);
      for (const op of [
        'relational-swap',
        'arithmetic-swap',
        'logical-swap',
        'literal-number',
        'negate-condition',
      ])
        assert.ok(ops(g.mutation).has(op), `${g.file} ${op}`);
    }
    const body = (g: Generated, fn: string) =>
      g.removal.find(
        (x) => x.operator === 'remove-function-body' && x.description.includes(` of ${fn} `),
      );
    assert.match(body(c, 'sbuf_find')!.description, /return NULL;/);
    assert.match(body(c, 'sbuf_is_empty')!.description, /return false;/);
    assert.match(body(c, 'sbuf_slice')!.description, /return \(sbuf\)\{0\};/);
    assert.match(body(c, 'sbuf_reserve')!.description, /return \(sbuf_status\)\{0\};/);
    assert.equal(body(c, 'main'), undefined);
    assert.match(body(cpp, 'text.Tokenizer.split')!.description, /return \{\};/);
    assert.equal(body(cpp, 'text.Tokenizer.input'), undefined); // returns a reference
    for (const x of [...c.mutation, ...cpp.mutation]) {
      assert.ok(!/0\.9\.1|3\.1\.0|%zu|%s|"C"/.test(x.description), x.description);
    }
    assert.ok(
      c.removal.every(
        (x) => !x.description.includes('fprintf') && !x.description.includes('free('),
      ),
    );
  });

  test('candidates compile (one gcc / g++ -fsyntax-only run)', async (t) => {
    if (!has('gcc') || !has('g++')) return t.skip('gcc / g++ not installed');
    const dir = mkdtempSync(join(tmpdir(), 'ssr-c-'));
    try {
      for (const [g, compiler, std, ext] of [
        [c, 'gcc', '-std=c11', 'c'],
        [cpp, 'g++', '-std=c++17', 'cpp'],
      ] as const) {
        const sources: string[] = [];
        // Every removal, a sample of mutations (each file costs a parse of the headers).
        const failures = batchBuild(
          [...g.removal, ...sampleOf(g.mutation, 20)],
          (i, text) => {
            mkdirSync(join(dir, `v${i}`), { recursive: true });
            const path = join(dir, `v${i}/unit.${ext}`);
            writeFileSync(path, text);
            sources.push(path);
          },
          () =>
            spawnSync(compiler, [std, '-fsyntax-only', ...sources], { encoding: 'utf8' }).stderr,
        );
        assert.equal(failures.length, 0, `${g.file}:\n${failures.join('\n')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Ruby

const RUBY_FILE = 'lib/inventory/stock.rb';
const RUBY_SOURCE = `# frozen_string_literal: true

require 'json'
require_relative 'item'

module Inventory
  VERSION = "1.2.3"

  class Stock < Base
    attr_reader :items, :limit

    def initialize(limit = 100)
      super(limit)
      @items = {}
      @limit = limit
    end

    def add(name, count = 1)
      raise ArgumentError, "count must be positive" unless count.positive?
      return false if full? and !name.start_with?("tmp")

      @items[name] ||= 0
      @items[name] += count
      log("added #{name}")
      true
    end

    def remove(name)
      current = @items.fetch(name, 0)
      if current > 1
        @items[name] = current - 1
      elsif current == 1
        @items.delete(name)
      else
        warn "nothing to remove"
      end
      current
    end

    def total
      sum = 0
      @items.each_value { |n| sum += n }
      sum
    end

    def full? = total >= limit

    def self.from_json(text)
      data = JSON.parse(text)
      stock = new(data.fetch("limit", 100))
      data["items"].each do |name, count|
        stock.add(name, count)
      end
      stock
    end

    def to_s
      "Stock(" + items.size.to_s + ")"
    end

    private

    def log(message)
      puts message if ENV["DEBUG"] == "1" || ENV["VERBOSE"]
    end
  end
end
`;

describe('Ruby (a written class)', () => {
  let g: Generated;
  before(async () => {
    g = await generate(RUBY_FILE, RUBY_SOURCE);
  });

  test('methods qualified by module and class', async () => {
    const names = (await listFunctions(RUBY_FILE, RUBY_SOURCE)).map((f) => f.name);
    for (const n of [
      'Inventory.Stock.initialize',
      'Inventory.Stock.add',
      'Inventory.Stock.from_json',
      'Inventory.Stock.full?',
    ])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  test('candidates of every kind, bodies to nil, all parsing', async (t) => {
    await assertCandidatesParse(g);
    for (const op of [
      'remove-function-body',
      'remove-if-statement',
      'remove-else-branch',
      'remove-statement',
      'remove-loop',
    ].slice(0, 4))
      assert.ok(ops(g.removal).has(op), op);
    for (const op of [
      'relational-boundary',
      'relational-swap',
      'arithmetic-swap',
      'logical-swap',
      'remove-negation',
      'literal-number',
      'literal-boolean',
      'negate-condition',
    ])
      assert.ok(ops(g.mutation).has(op), op);
    const body = (fn: string) =>
      g.removal.find(
        (x) => x.operator === 'remove-function-body' && x.description.includes(` of ${fn} `),
      );
    assert.ok(edited(body('Inventory.Stock.total')!).includes('def total\n      nil\n    end'));
    // initialize keeps super
    assert.ok(edited(body('Inventory.Stock.initialize')!).includes('super(limit)'));
    assert.ok(g.mutation.some((x) => x.description.includes('`and` -> `or`')));
    for (const x of g.mutation) {
      assert.ok(
        !/1\.2\.3|count must be positive|'json'|'item'|nothing to remove/.test(x.description),
        x.description,
      );
    }
    // `"Stock(" + ...` is concatenation.
    assert.ok(!g.mutation.some((x) => x.operator === 'arithmetic-swap' && x.location.line === 59));
    if (!has('ruby')) return t.skip('ruby not installed');
    const dir = mkdtempSync(join(tmpdir(), 'ssr-ruby-'));
    try {
      const all = [...g.removal, ...g.mutation];
      const paths: string[] = [];
      const failures = batchBuild(
        all,
        (i, text) => {
          mkdirSync(join(dir, `v${i}`));
          paths.push(join(dir, `v${i}/stock.rb`));
          writeFileSync(paths[i]!, text);
        },
        () =>
          spawnSync(
            'ruby',
            [
              '-e',
              'ARGV.each { |f| begin; RubyVM::InstructionSequence.compile_file(f); rescue SyntaxError => e; puts "#{f}: #{e.message}"; end }',
              ...paths,
            ],
            { encoding: 'utf8' },
          ).stdout,
      );
      assert.equal(failures.length, 0, failures.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('number literals of the compiled languages', () => {
  test('suffixes, bases and separators kept; boundaries and octals left alone', () => {
    assert.equal(incrementLiteral('rust', '1u32'), '2u32');
    assert.equal(incrementLiteral('rust', '1_000'), '1001');
    assert.equal(incrementLiteral('rust', '0x1f_u16'), '0x20_u16');
    assert.equal(incrementLiteral('rust', '1.5f64'), '2.5f64');
    assert.equal(incrementLiteral('rust', '255u8'), null);
    assert.equal(incrementLiteral('go', '0x1F'), '0x20');
    assert.equal(incrementLiteral('go', '0755'), null);
    assert.equal(incrementLiteral('go', '1e9'), null);
    assert.equal(incrementLiteral('go', '127'), null);
    assert.equal(incrementLiteral('java', '10L'), '11L');
    assert.equal(incrementLiteral('java', '0x7fffffff'), null);
    assert.equal(incrementLiteral('java', '.5f'), '1.5f');
    assert.equal(incrementLiteral('c', '0xFFu'), null);
    assert.equal(incrementLiteral('c', '0x1Fu'), '0x20u');
    assert.equal(incrementLiteral('cpp', '1000000ULL'), '1000001ULL');
    assert.equal(incrementLiteral('ruby', '3_000'), '3001');
    assert.equal(incrementLiteral('javascript', '1_000'), null);
  });
});

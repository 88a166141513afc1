/**
 * The AST candidate generators (removal and mutation) on real code: minimist 1.2.8's index.js
 * (from npm, see helpers/fixtures.ts), and a TypeScript file and a Python module written here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  descendants,
  editChecker,
  languageOf,
  listFunctions,
  parseFile,
  parsesCleanly,
  type SyntaxNode,
} from '../src/inject/ast.js';
import { incrementNumber, mutationCandidates } from '../src/inject/mutation.js';
import { rawRemovals, removalCandidates } from '../src/inject/removal.js';
import { finishCandidates, mulberry32, type RawCandidate } from '../src/inject/select.js';
import type { BugCandidate } from '../src/inject/types.js';
import { minimistRepo } from './helpers/fixtures.js';

const TS_FILE = 'src/shapes.ts';
const TS_SOURCE = `import { readFileSync } from 'node:fs';
import type { Stats } from './types.js';
export { helper } from './helper.js';

// A comment with operators: a < b && c || d + 1 and true
/** JSDoc: returns x * 2 when x > 0 */
export interface Options {
  limit: number;
  mode: 'fast' | 'slow';
}
type Pair = [number, 'a' | 'b'];

export class Counter extends Base {
  private count = 0;
  constructor(private readonly step: number = 1) {
    super('counter');
    this.count = 0;
  }
  increment(): number {
    this.count += this.step;
    return this.count;
  }
  get isEmpty(): boolean {
    return this.count === 0;
  }
}

export function clamp(value: number, lo: number, hi: number): number {
  if (value < lo) {
    return lo;
  } else if (value > hi) {
    return hi;
  }
  return value;
}

export const describeItems = (items: string[], opts: Options): string => {
  const parts: string[] = [];
  for (const item of items) {
    if (!item) continue;
    parts.push(item.trim());
  }
  const label = 'items: a < b';
  return parts.length >= opts.limit ? \`\${label} \${parts.join(', ')}\` : label;
};

export function pick(flags: Record<string, boolean>, strict = false): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(flags)) {
    if (v && !strict) out.push(k);
  }
  return strict ? out.reverse() : out;
}

export function load(path: string): Stats {
  const text = readFileSync(path, 'utf8') as string;
  return JSON.parse(text) as Stats;
}

export const double = (x: number): number => x * 2;

function halve(x: number): number {
  return x / 2;
}
export const quarter = (x: number): number => halve(halve(x));
`;

const PY_FILE = 'inventory/core.py';
const PY_SOURCE = `"""Inventory: a small module for the injector tests."""
import os
from collections import defaultdict

# Comment with operators: a < b and c or d + 1 and True
THRESHOLD = 10


class Inventory:
    """Counts items. Docstring mentions x > 0 and not y."""

    def __init__(self, name: str = "store"):
        self.name = name
        self.items = []
        self.counts = defaultdict(int)

    def add(self, item, qty: int = 1) -> int:
        """Add qty of item."""
        if qty <= 0:
            raise ValueError("qty must be positive")
        if item not in self.counts:
            self.items.append(item)
        self.counts[item] += qty
        return self.counts[item]

    def low_stock(self):
        return [i for i in self.items if self.counts[i] < THRESHOLD]

    def describe(self):
        if not self.items:
            return "empty"
        elif len(self.items) == 1:
            label = "one item"
        else:
            label = "%d items" % len(self.items)
        return f"{self.name}: {label}"


def total(inv: "Inventory") -> int:
    n = 0
    for item in inv.items:
        n += inv.counts[item]
    return n // 1


def is_big(inv):
    return total(inv) > 100 and inv.name != "tiny"


def drain(queue, strict=False):
    seen = 0
    while queue:
        queue.pop()
        seen += 1
    if strict and seen == 0:
        return False
    return True


def never_called(x):
    return x * 2 + 1


if __name__ == "__main__":
    print(total(Inventory()))
`;

const REMOVAL_OPERATORS = [
  'remove-else-branch',
  'remove-function',
  'remove-function-body',
  'remove-if-statement',
  'remove-loop',
  'remove-statement',
];
const MUTATION_OPERATORS = [
  'arithmetic-swap',
  'literal-boolean',
  'literal-number',
  'literal-string',
  'logical-swap',
  'negate-condition',
  'relational-boundary',
  'relational-swap',
  'remove-negation',
  'return-value',
];

let MM_SOURCE: string;
const MM_FILE = 'index.js';
const files: { file: string; source: string }[] = [];
const all = new Map<string, { removal: BugCandidate[]; mutation: BugCandidate[] }>();

before(async () => {
  MM_SOURCE = readFileSync(join(minimistRepo(), 'index.js'), 'utf8');
  files.push(
    { file: MM_FILE, source: MM_SOURCE },
    { file: TS_FILE, source: TS_SOURCE },
    { file: PY_FILE, source: PY_SOURCE },
  );
  for (const { file, source } of files) {
    all.set(file, {
      removal: await removalCandidates(file, source),
      mutation: await mutationCandidates(file, source),
    });
  }
});

/** The changed region of the original: [start, end) (an insertion has start === end). */
function changedRegion(before: string, after: string): { start: number; end: number } {
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before[start] === after[start]) start++;
  let tail = 0;
  while (
    tail < max - start &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) {
    tail++;
  }
  return { start, end: before.length - tail };
}

function edited(c: BugCandidate): string {
  const content = c.edits[c.location.file];
  assert.equal(typeof content, 'string');
  return content as string;
}

function byOperator(cands: BugCandidate[], operator: string): BugCandidate[] {
  return cands.filter((c) => c.operator === operator);
}

describe('languages and functions', () => {
  test('languages by file extension', () => {
    assert.equal(languageOf('a/b.js'), 'javascript');
    assert.equal(languageOf('a.cjs'), 'javascript');
    assert.equal(languageOf('a.mjs'), 'javascript');
    assert.equal(languageOf('a.jsx'), 'javascript');
    assert.equal(languageOf('a.ts'), 'typescript');
    assert.equal(languageOf('a.mts'), 'typescript');
    assert.equal(languageOf('a.cts'), 'typescript');
    assert.equal(languageOf('a.tsx'), 'tsx');
    assert.equal(languageOf('pkg/x.py'), 'python');
    assert.equal(languageOf('types.d.ts'), null);
    assert.equal(languageOf('main.go'), 'go');
    assert.equal(languageOf('Main.kt'), null);
  });

  test('functions and methods of minimist, with names and 1-based line ranges', async () => {
    const fns = await listFunctions(MM_FILE, MM_SOURCE);
    const find = (name: string) => fns.find((f) => f.name === name);
    assert.deepEqual(find('hasKey'), { file: MM_FILE, name: 'hasKey', startLine: 3, endLine: 11 });
    assert.deepEqual(find('isNumber'), {
      file: MM_FILE,
      name: 'isNumber',
      startLine: 13,
      endLine: 17,
    });
    const setKey = find('module.exports.setKey');
    assert.ok(setKey, fns.map((f) => f.name).join(', '));
    assert.match(MM_SOURCE.split('\n')[setKey.startLine - 1]!, /function setKey\(/);
    assert.match(MM_SOURCE.split('\n')[setKey.endLine - 1]!, /^\t}$/);
    // Anonymous callbacks are functions too; keywords named "function" are not.
    assert.ok(fns.some((f) => f.name.endsWith('<anonymous>')));
    assert.ok(fns.every((f) => f.startLine <= f.endLine));
  });

  test('TypeScript methods and arrow functions; Python methods qualified by class', async () => {
    const ts = (await listFunctions(TS_FILE, TS_SOURCE)).map((f) => f.name);
    for (const name of ['Counter.constructor', 'Counter.increment', 'Counter.isEmpty', 'clamp']) {
      assert.ok(ts.includes(name), `${name} in ${ts.join(', ')}`);
    }
    assert.ok(ts.includes('describeItems') && ts.includes('double'));
    const py = await listFunctions(PY_FILE, PY_SOURCE);
    const add = py.find((f) => f.name === 'Inventory.add');
    assert.deepEqual(add && [add.startLine, add.endLine], [17, 24]);
    assert.ok(py.some((f) => f.name === 'never_called'));
  });

  test('unsupported files and files with syntax errors give no candidates', async () => {
    assert.deepEqual(await removalCandidates('Main.kt', 'fun main() { println(1 < 2) }\n'), []);
    assert.deepEqual(await mutationCandidates('x.js', 'function f( { return 1 < 2; }\n'), []);
    assert.deepEqual(await removalCandidates('x.py', 'def f(:\n    return 1 < 2\n'), []);
    assert.equal((await parseFile('x.js', 'let x = ;'))!.hasErrors, true);
  });
});

describe('candidates', () => {
  test('every operator is produced, on each language', () => {
    for (const { file } of files) {
      const { removal, mutation } = all.get(file)!;
      const rOps = [...new Set(removal.map((c) => c.operator))].sort();
      const mOps = [...new Set(mutation.map((c) => c.operator))].sort();
      assert.deepEqual(rOps, REMOVAL_OPERATORS, `${file} removal operators`);
      assert.deepEqual(mOps, MUTATION_OPERATORS, `${file} mutation operators`);
    }
  });

  test('every candidate is one edit of one file that still parses without errors', async () => {
    let n = 0;
    for (const { file, source } of files) {
      const { removal, mutation } = all.get(file)!;
      for (const c of [...removal, ...mutation]) {
        assert.deepEqual(Object.keys(c.edits), [file]);
        assert.equal(c.location.file, file);
        const text = edited(c);
        assert.notEqual(text, source, c.key);
        assert.equal(await parsesCleanly(file, text), true, `${c.key} does not parse:\n${text}`);
        const lines = source.split('\n').length;
        assert.ok(c.location.line >= 1 && c.location.line <= lines, c.key);
        assert.ok(c.description.length > 0 && !c.description.includes('\n'), c.key);
        n++;
      }
    }
    assert.ok(n > 400, `only ${n} candidates`);
  });

  test('keys are unique and follow strategy:file:line:operator:index', () => {
    for (const { file } of files) {
      const { removal, mutation } = all.get(file)!;
      for (const [strategy, list] of [
        ['removal', removal],
        ['mutation', mutation],
      ] as const) {
        const keys = list.map((c) => c.key);
        assert.equal(new Set(keys).size, keys.length);
        for (const c of list) {
          assert.equal(c.strategy, strategy);
          assert.equal(
            c.key,
            `${strategy}:${file}:${c.location.line}:${c.operator}:${c.key.split(':').at(-1)}`,
          );
          assert.match(c.key, /:\d+$/);
        }
        // Stable order: by line, then operator.
        const order = list.map((c) => [c.location.line, c.operator] as const);
        const sorted = [...order].sort(
          (a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0),
        );
        assert.deepEqual(order, sorted);
      }
    }
  });

  test('mutations are single small edits', () => {
    for (const { file, source } of files) {
      for (const c of all.get(file)!.mutation) {
        const r = changedRegion(source, edited(c));
        const removed = source.slice(r.start, r.end);
        if (c.operator === 'negate-condition') {
          // Only `!(` + `)` or `not (` + `)` wrapped around the condition.
          assert.ok([3, 6].includes(edited(c).length - source.length), c.key);
          continue;
        }
        if (c.operator === 'return-value') {
          // The returned expression, whatever its size, and nothing else.
          const lineStart = source.lastIndexOf('\n', r.start) + 1;
          assert.match(source.slice(lineStart, r.start), /\breturn\s/, c.key);
          continue;
        }
        if (c.operator === 'literal-string') continue; // emptied, whatever its length
        assert.ok(removed.length <= 20, `${c.key} changes ${JSON.stringify(removed)}`);
        assert.ok(!removed.includes('\n'), `${c.key} spans lines`);
      }
    }
  });
});

describe('what is never mutated', () => {
  /** Ranges of nodes of the given kinds in a file. */
  async function ranges(file: string, source: string, kinds: (n: SyntaxNode) => boolean) {
    const parsed = (await parseFile(file, source))!;
    return [...descendants(parsed.root)]
      .filter(kinds)
      .map((n) => ({ start: n.start, end: n.end, type: n.type }));
  }
  const isString = (n: SyntaxNode) => n.type === 'string' || n.type === 'template_string';
  const inside = (r: { start: number; end: number }, n: { start: number; end: number }) =>
    r.start > n.start && r.end < n.end;
  const overlaps = (r: { start: number; end: number }, n: { start: number; end: number }) =>
    r.start < n.end && r.end > n.start;

  test('comments, string contents, imports and type annotations stay as they are', async () => {
    for (const { file, source } of files) {
      const comments = await ranges(file, source, (n) => n.type === 'comment');
      const strings = await ranges(file, source, isString);
      const imports = await ranges(file, source, (n) =>
        ['import_statement', 'import_from_statement', 'export_statement'].includes(n.type)
          ? n.type !== 'export_statement' || /\bfrom\b/.test(source.slice(n.start, n.end))
          : false,
      );
      const types = await ranges(file, source, (n) =>
        ['type_annotation', 'interface_declaration', 'type_alias_declaration', 'type'].includes(
          n.type,
        ),
      );
      assert.ok(comments.length > 0 && strings.length > 0, file);
      // minimist (CommonJS) has neither imports nor types.
      if (file !== MM_FILE) assert.ok(types.length > 0 && imports.length > 0, file);
      for (const c of all.get(file)!.mutation) {
        const r = changedRegion(source, edited(c));
        for (const n of comments)
          assert.ok(!overlaps(r, n) && !inside(r, n), `${c.key} edits a comment`);
        for (const n of imports) assert.ok(!overlaps(r, n), `${c.key} edits an import`);
        for (const n of types)
          assert.ok(!overlaps(r, n), `${c.key} edits a type: ${c.description}`);
        for (const n of strings) {
          if (c.operator === 'literal-string') continue;
          // Other operators may contain a whole string (a negated condition) but not cut one.
          const cuts = overlaps(r, n) && !(r.start <= n.start && r.end >= n.end);
          assert.ok(!cuts, `${c.key} edits inside a string: ${c.description}`);
        }
      }
      for (const c of all.get(file)!.removal) {
        const r = changedRegion(source, edited(c));
        for (const n of imports) assert.ok(!overlaps(r, n), `${c.key} removes an import`);
      }
    }
  });

  test('strings are only ever emptied, and never docstrings, keys or error messages', () => {
    const strings = all.get(PY_FILE)!.mutation.filter((c) => c.operator === 'literal-string');
    const emptied = strings.map((c) => c.description.split('`')[1]);
    assert.deepEqual(emptied.sort(), [
      '"%d items"',
      '"empty"',
      '"one item"',
      '"store"',
      '"tiny"',
      'f"{self.name}: {label}"',
    ]);
    for (const c of strings) {
      const r = changedRegion(PY_SOURCE, edited(c));
      const before = PY_SOURCE.slice(r.start - 1, r.end + 1);
      assert.match(before, /^(["']).*\1$/s, c.key);
    }
    // 'use strict' and the TypeScript literal types 'fast' | 'slow' are left alone.
    const mm = all.get(MM_FILE)!.mutation.filter((c) => c.operator === 'literal-string');
    assert.ok(mm.every((c) => !c.description.includes('use strict')));
    const ts = all.get(TS_FILE)!.mutation.filter((c) => c.operator === 'literal-string');
    assert.ok(ts.every((c) => !/'fast'|'slow'|'a'|node:fs/.test(c.description)));
  });

  test('the __main__ guard is not a target', () => {
    const guard = PY_SOURCE.split('\n').findIndex((l) => l.startsWith('if __name__')) + 1;
    const { removal, mutation } = all.get(PY_FILE)!;
    assert.ok([...removal, ...mutation].every((c) => c.location.line !== guard));
  });
});

describe('operator semantics', () => {
  test('removing a Python method body keeps its signature and docstring', () => {
    const add = all
      .get(PY_FILE)!
      .removal.find(
        (c) => c.operator === 'remove-function-body' && c.description.includes('Inventory.add'),
      );
    assert.ok(add);
    assert.ok(
      edited(add).includes(
        '    def add(self, item, qty: int = 1) -> int:\n        """Add qty of item."""\n        pass\n\n    def low_stock',
      ),
      edited(add),
    );
  });

  test('removing a JS function body leaves the function, empty', () => {
    const c = byOperator(all.get(MM_FILE)!.removal, 'remove-function-body').find((x) =>
      x.description.includes('isNumber'),
    );
    assert.ok(c);
    assert.ok(edited(c).includes('function isNumber(x) {}\n'));
    assert.ok(!edited(c).includes('0x[0-9a-f]'));
  });

  test('a derived constructor keeps super(); an arrow function returns undefined', () => {
    const r = all.get(TS_FILE)!.removal;
    const ctor = byOperator(r, 'remove-function-body').find((x) =>
      x.description.includes('Counter.constructor'),
    );
    assert.ok(
      ctor &&
        edited(ctor).includes(
          "constructor(private readonly step: number = 1) { super('counter'); }",
        ),
    );
    const dbl = byOperator(r, 'remove-function-body').find((x) => x.description.includes('double'));
    assert.ok(
      dbl && edited(dbl).includes('export const double = (x: number): number => undefined;'),
    );
    // Calls to super() and logging are not statements to remove.
    assert.ok(byOperator(r, 'remove-statement').every((c) => !c.description.includes('super(')));
    assert.ok(
      byOperator(all.get(PY_FILE)!.removal, 'remove-statement').every(
        (c) => !c.description.includes('print('),
      ),
    );
  });

  test('removed statements, branches and loops', () => {
    const py = all.get(PY_FILE)!.removal;
    const append = byOperator(py, 'remove-statement').find((c) =>
      c.description.includes('self.items.append(item)'),
    );
    // The only statement of its block: replaced with pass.
    assert.ok(
      append && edited(append).includes('        if item not in self.counts:\n            pass\n'),
    );
    const elif = byOperator(py, 'remove-else-branch').find((c) => c.description.includes('elif'));
    assert.ok(elif && !edited(elif).includes('one item') && edited(elif).includes('%d items'));
    const loop = byOperator(py, 'remove-loop')[0];
    assert.ok(loop && !edited(loop).includes('for item in inv.items'));
    const mm = all.get(MM_FILE)!.removal;
    const push = byOperator(mm, 'remove-statement').find((c) =>
      c.description.includes('o[lastKey].push(value)'),
    );
    assert.ok(push && !edited(push).includes('o[lastKey].push(value)'));
    const ifs = byOperator(mm, 'remove-if-statement').find((c) =>
      c.description.includes("if (args.indexOf('--') !== -1)"),
    );
    assert.ok(ifs && !edited(ifs).includes("notFlags = args.slice(args.indexOf('--') + 1)"));
    const elses = byOperator(all.get(TS_FILE)!.removal, 'remove-else-branch');
    assert.equal(elses.length, 1);
    assert.ok(edited(elses[0]!).includes('    return lo;\n  }\n  return value;'));
  });

  test('mutation operators do what they say', () => {
    const ts = all.get(TS_FILE)!.mutation;
    const find = (op: string, from: string, to: string) =>
      byOperator(ts, op).find((c) => edited(c).includes(to) && TS_SOURCE.includes(from));
    assert.ok(find('relational-boundary', 'if (value < lo)', 'if (value <= lo)'));
    assert.ok(find('relational-swap', 'if (value < lo)', 'if (value >= lo)'));
    assert.ok(find('relational-swap', 'this.count === 0', 'this.count !== 0'));
    assert.ok(find('arithmetic-swap', 'this.count += this.step', 'this.count -= this.step'));
    assert.ok(find('logical-swap', 'v && !strict', 'v || !strict'));
    assert.ok(find('remove-negation', 'v && !strict', 'v && strict'));
    assert.ok(find('negate-condition', 'return strict ?', 'return !(strict) ?'));
    assert.ok(find('return-value', 'return this.count;', 'return null;'));
    assert.ok(find('literal-number', 'private count = 0', 'private count = 1'));
    assert.ok(find('literal-boolean', 'strict = false', 'strict = true'));
    const py = all.get(PY_FILE)!.mutation;
    const pyFind = (op: string, to: string) =>
      byOperator(py, op).find((c) => edited(c).includes(to));
    assert.ok(pyFind('relational-swap', 'if item in self.counts:'));
    assert.ok(pyFind('negate-condition', 'while not (queue):'));
    assert.ok(pyFind('remove-negation', '        if self.items:'));
    assert.ok(pyFind('logical-swap', 'if strict or seen == 0:'));
    assert.ok(pyFind('arithmetic-swap', 'return n / 1'));
    assert.ok(pyFind('literal-boolean', 'def drain(queue, strict=True):'));
    assert.ok(pyFind('return-value', 'return not (total(inv) > 100 and inv.name != "tiny")'));
    assert.ok(pyFind('return-value', '        return None\n\n    def describe'));
    // String concatenation is not arithmetic; `+` inside a string is not an operator.
    assert.ok(byOperator(ts, 'arithmetic-swap').every((c) => !c.description.includes('`+`')));
  });

  test('number literals: n -> n + 1 for plain decimals only', () => {
    assert.equal(incrementNumber('0'), '1');
    assert.equal(incrementNumber('41'), '42');
    assert.equal(incrementNumber('1.5'), '2.5');
    assert.equal(incrementNumber('.25'), '1.25');
    for (const t of ['0x1f', '1e3', '10n', '1_000', '2j', '017', '12345678901234567']) {
      assert.equal(incrementNumber(t), null, t);
    }
  });
});

describe('targeting and sampling', () => {
  test('with `covered`, only candidates in covered code are produced', async () => {
    const fns = await listFunctions(TS_FILE, TS_SOURCE);
    const clamp = fns.find((f) => f.name === 'clamp')!;
    const covered = (file: string, line: number) =>
      file === TS_FILE && line > clamp.startLine && line <= clamp.endLine;
    for (const gen of [removalCandidates, mutationCandidates]) {
      const full = await gen(TS_FILE, TS_SOURCE);
      const some = await gen(TS_FILE, TS_SOURCE, { covered });
      assert.ok(some.length > 0 && some.length < full.length);
      for (const c of some) {
        assert.ok(c.location.line >= clamp.startLine && c.location.line <= clamp.endLine, c.key);
        // The same candidate, with the same key, as without coverage.
        assert.deepEqual(
          full.find((f) => f.key === c.key),
          c,
        );
      }
      assert.deepEqual(await gen(TS_FILE, TS_SOURCE, { covered: () => false }), []);
    }
  });

  test('a candidate counts as covered when a line it removes ran', async () => {
    // Only the second statement of Inventory.add's body ran (say): its removal is a target.
    const line = PY_SOURCE.split('\n').findIndex((l) => l.includes('self.items.append(item)')) + 1;
    const got = await removalCandidates(PY_FILE, PY_SOURCE, { covered: (_f, l) => l === line });
    const ops = got.map((c) => `${c.operator}@${c.location.line}`);
    // The method body (reported at its first statement, `if qty <= 0`) and the statement
    // itself; not the `if` around it, whose own line did not run.
    assert.deepEqual(ops, [`remove-function-body@${line - 3}`, `remove-statement@${line}`]);
  });

  test('sampling is deterministic for a seed, differs across seeds, and spreads over operators', async () => {
    const full = all.get(MM_FILE)!.mutation;
    const keysOf = (cs: BugCandidate[]) => cs.map((c) => c.key);
    const a = await mutationCandidates(MM_FILE, MM_SOURCE, { seed: 7, max: 10 });
    const b = await mutationCandidates(MM_FILE, MM_SOURCE, { seed: 7, max: 10 });
    assert.equal(a.length, 10);
    assert.deepEqual(keysOf(a), keysOf(b));
    const fullKeys = new Set(keysOf(full));
    assert.ok(a.every((c) => fullKeys.has(c.key)));
    // Ten operators, ten candidates: one of each.
    assert.equal(new Set(a.map((c) => c.operator)).size, 10);
    const samples = new Set<string>();
    for (let seed = 0; seed < 5; seed++) {
      samples.add(
        keysOf(await mutationCandidates(MM_FILE, MM_SOURCE, { seed, max: 10 })).join(','),
      );
    }
    assert.ok(samples.size >= 4, `only ${samples.size} distinct samples over 5 seeds`);
    // A seed without max gives every candidate, in a seeded order.
    const shuffled = await removalCandidates(MM_FILE, MM_SOURCE, { seed: 3 });
    assert.deepEqual(keysOf(shuffled).sort(), keysOf(all.get(MM_FILE)!.removal).sort());
    assert.notDeepEqual(keysOf(shuffled), keysOf(all.get(MM_FILE)!.removal));
    // No options: the stable order, identical run to run.
    assert.deepEqual(
      keysOf(await removalCandidates(MM_FILE, MM_SOURCE)),
      keysOf(all.get(MM_FILE)!.removal),
    );
  });

  test('an edit that breaks the syntax is dropped after re-parsing', async () => {
    const source = 'function f(a) {\n  return a + 1;\n}\n';
    const parsed = (await parseFile('f.js', source))!;
    const at = source.indexOf('+');
    const raw = (text: string): RawCandidate => ({
      operator: 'test-op',
      description: `+ -> ${text}`,
      edit: { start: at, end: at + 1, text },
      line: 2,
      probeLines: [2],
    });
    const out = await finishCandidates('mutation', parsed, [raw('+*'), raw('-'), raw(')')], {});
    assert.deepEqual(
      out.map((c) => c.edits['f.js']),
      ['function f(a) {\n  return a - 1;\n}\n'],
    );
    // Keys count every raw candidate, dropped ones included, so they do not shift.
    assert.deepEqual(
      out.map((c) => c.key),
      ['mutation:f.js:2:test-op:2'],
    );
  });

  test('the incremental syntax check agrees with a full parse, after non-ASCII text too', async () => {
    const source =
      'const s = "é😀 ü";\nfunction f(a) {\n  return a < 1 && "😀";\n}\nconst t = [2];\n';
    const at = (needle: string) => source.indexOf(needle);
    const edits: [number, number, string][] = [
      [at('<'), at('<') + 1, '<='],
      [at('<'), at('<') + 1, '<*'],
      [at('"😀";'), at('"😀";') + 4, '""'],
      [at('"😀";'), at('"😀";') + 4, '"'],
      [at('[2]'), at('[2]') + 3, '[\n3,\n]'],
      [at('[2]'), at('[2]') + 3, '[\n3,\n'],
      [at('{\n'), at('}\n') + 1, '{}'],
      [at('{\n'), at('}\n') + 1, '{'],
    ];
    const parsed = (await parseFile('e.js', source, { keepTree: true }))!;
    const checker = await editChecker(parsed);
    try {
      const got = edits.map(([s, e, t]) => checker.check(s, e, t));
      const want = await Promise.all(
        edits.map(([s, e, t]) => parsesCleanly('e.js', source.slice(0, s) + t + source.slice(e))),
      );
      assert.deepEqual(got, want);
      assert.deepEqual(want, [true, false, true, false, true, false, true, false]);
    } finally {
      checker.dispose();
    }
  });

  test('mulberry32 is a deterministic PRNG in [0, 1)', () => {
    const r1 = mulberry32(42);
    const r2 = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => r1());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => r2()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(new Set(xs).size > 990);
    assert.notEqual(mulberry32(43)(), mulberry32(42)());
  });
});

test('remove-function takes only small helpers the file calls and does not export', async () => {
  const js = [
    'function helper(a) {\n  return a * 2;\n}',
    'function unused() {\n  return 1;\n}',
    'export function api(x) {\n  return helper(x) + listed(x) + cjs(x);\n}',
    'function listed(y) {\n  return y;\n}',
    'export { listed };',
    'function cjs(y) {\n  return y;\n}',
    'module.exports.cjs = cjs;',
    `function long(x) {\n${'  x++;\n'.repeat(25)}  return x;\n}\nlong(1);`,
  ].join('\n');
  const py = [
    'def _norm(s):\n    return s.strip().lower()\n',
    'def api(s):\n    def inner(t):\n        return t + "!"\n    return inner(_norm(s))\n',
    'class A:\n    def m(self):\n        return self.m2()\n\n    def m2(self):\n        return _norm("x")\n',
    '@cache\ndef deco(x):\n    return x\n\nprint(deco(1))\n',
    '__all__ = ["pub"]\n\ndef pub(x):\n    return x\n\npub(1)\n',
  ].join('\n');
  const removed = async (file: string, source: string) => {
    const parsed = await parseFile(file, source, { keepTree: true });
    assert.ok(parsed);
    try {
      return rawRemovals(parsed)
        .filter((c) => c.operator === 'remove-function')
        .map((c) => {
          const after = source.slice(0, c.edit.start) + c.edit.text + source.slice(c.edit.end);
          return { name: /helper (\w+)/.exec(c.description)![1], after };
        });
    } finally {
      parsed.tree?.delete();
    }
  };
  const jsOut = await removed('a.js', js);
  assert.deepEqual(
    jsOut.map((r) => r.name),
    ['helper'],
  );
  assert.doesNotMatch(jsOut[0]!.after, /function helper/);
  assert.match(jsOut[0]!.after, /return helper\(x\)/, 'call sites stay: the solver rebuilds it');
  const pyOut = await removed('a.py', py);
  assert.deepEqual(pyOut.map((r) => r.name).sort(), ['_norm', 'inner']);
  for (const r of pyOut) assert.equal(await parsesCleanly('a.py', r.after), true, r.after);
});

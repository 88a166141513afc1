import {
  descendants,
  isFunctionNode,
  languageOf,
  namedChildren,
  parseFile,
  parsesCleanly,
  type SyntaxNode,
} from './ast.js';

// Method names that assert, across node:assert, tape, chai, jest/vitest expect, should.
const ASSERT_METHODS = new Set([
  'assert',
  'ok',
  'notOk',
  'equal',
  'equals',
  'notEqual',
  'deepEqual',
  'notDeepEqual',
  'strictEqual',
  'notStrictEqual',
  'deepStrictEqual',
  'notDeepStrictEqual',
  'same',
  'notSame',
  'is',
  'isNot',
  'true',
  'false',
  'throws',
  'doesNotThrow',
  'rejects',
  'doesNotReject',
  'match',
  'doesNotMatch',
  'fail',
  'error',
  'ifError',
  'looseEqual',
  'deepLooseEqual',
  'toBe',
  'toEqual',
  'toStrictEqual',
  'toBeTruthy',
  'toBeFalsy',
  'toBeNull',
  'toBeUndefined',
  'toBeDefined',
  'toBeCloseTo',
  'toBeGreaterThan',
  'toBeGreaterThanOrEqual',
  'toBeLessThan',
  'toBeLessThanOrEqual',
  'toBeInstanceOf',
  'toBeNaN',
  'toContain',
  'toContainEqual',
  'toHaveLength',
  'toHaveProperty',
  'toMatch',
  'toMatchObject',
  'toThrow',
  'toThrowError',
  'toHaveBeenCalled',
  'toHaveBeenCalledWith',
  'toHaveBeenCalledTimes',
  'eql',
  'above',
  'below',
  'include',
  'includes',
  'contain',
  'property',
  'lengthOf',
  'instanceOf',
  'closeTo',
  'members',
]);
const ASSERT_ROOTS = new Set(['assert', 'expect', 'should', 'chai']);
// Calls that define or drive tests rather than check anything.
const NOT_ASSERTIONS = new Set([
  'test',
  'it',
  'describe',
  'suite',
  'end',
  'plan',
  'teardown',
  'skip',
  'todo',
  'only',
]);

/** Is this callee text (e.g. `assert.equal`, `t.deepEqual`, `expect(x).toBe`) an assertion? */
export function isAssertionCallee(callee: string): boolean {
  const compact = callee.replace(/\s+/g, '');
  const root = /^[A-Za-z_$][\w$]*/.exec(compact)?.[0] ?? '';
  const name = /([A-Za-z_$][\w$]*)$/.exec(compact)?.[1] ?? '';
  if (NOT_ASSERTIONS.has(name)) return false;
  if (ASSERT_METHODS.has(name)) return true;
  if (/^assert/.test(name) || /^(assert|fail)$/.test(name)) return true;
  return ASSERT_ROOTS.has(root) && name === root;
}

/** `with pytest.raises(...)`, `with self.assertRaises(...)`: the block expects an error. */
function isExpectingContext(withStmt: SyntaxNode, source: string): boolean {
  const header = source.slice(withStmt.start, withStmt.end).split(':')[0] ?? '';
  return /\b(raises|warns|deprecated_call|assertRaises\w*|assertWarns\w*|assertLogs)\s*\(/.test(
    header,
  );
}

/** Replaces [start, end) with `replacement` plus the newlines it held: line numbers stay put. */
function blankOut(source: string, start: number, end: number, replacement = ''): string {
  // A statement alone on its lines takes its indentation with it: no trailing whitespace.
  if (replacement === '') {
    const lineStart = source.lastIndexOf('\n', start - 1) + 1;
    const nl = source.indexOf('\n', end);
    const lineEnd = nl < 0 ? source.length : nl;
    if (
      /^[ \t]*$/.test(source.slice(lineStart, start)) &&
      /^[ \t;]*$/.test(source.slice(end, lineEnd))
    ) {
      start = lineStart;
      end = lineEnd;
    }
  }
  const newlines = source.slice(start, end).split('\n').length - 1;
  return source.slice(0, start) + replacement + '\n'.repeat(newlines) + source.slice(end);
}

function offsetOf(source: string, line: number, column = 1): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = source.indexOf('\n', offset);
    if (nl < 0) return source.length;
    offset = nl + 1;
  }
  return offset + Math.max(0, column - 1);
}

function calleeOf(call: SyntaxNode, source: string): string {
  const fn = call.children.find((c) => c.field === 'function');
  return fn ? source.slice(fn.start, fn.end) : '';
}

/** The statement to drop for an assertion call, or null when the call is inside an expression. */
function enclosingStatement(call: SyntaxNode): SyntaxNode | null {
  let n: SyntaxNode | null = call.parent;
  while (n && (n.type === 'await_expression' || n.type === 'parenthesized_expression'))
    n = n.parent;
  return n && n.type === 'expression_statement' ? n : null;
}

/**
 * Neutralises the assertion at `line` (and `column`, when given) of a test file: drops the
 * assertion statement, or replaces an assertion used as an expression (an arrow body) with
 * `undefined` / `None`. Returns the new source, or null when no assertion is there or the
 * result would not parse. Line numbers of everything else are unchanged.
 */
export async function weakenAssertionAt(
  file: string,
  source: string,
  line: number,
  column?: number,
): Promise<string | null> {
  const parsed = languageOf(file) ? await parseFile(file, source) : null;
  if (!parsed) return weakenLineFallback(source, line);
  if (parsed.hasErrors) return null;
  const at = column ? offsetOf(source, line, column) : null;
  const covers = (n: SyntaxNode) =>
    at === null ? n.startLine <= line && line <= n.endLine : n.start <= at && at <= n.end;
  const python = parsed.language === 'python';
  let best: SyntaxNode | null = null;
  for (const n of descendants(parsed.root)) {
    if (!covers(n)) continue;
    const isAssert = python
      ? n.type === 'assert_statement' ||
        (n.type === 'with_statement' && isExpectingContext(n, source)) ||
        (n.type === 'call' && isAssertionCallee(calleeOf(n, source)))
      : n.type === 'call_expression' && isAssertionCallee(calleeOf(n, source));
    // Innermost wins: descendants come after their ancestors.
    if (isAssert) best = n;
  }
  if (!best) return null;
  // expect(x).to.equal(y): the whole chain is one assertion, not just its first call.
  for (
    let n = best.parent;
    n && /^(member_expression|attribute|call_expression|call)$/.test(n.type);
    n = n.parent
  ) {
    if (
      (n.type === 'call_expression' || n.type === 'call') &&
      isAssertionCallee(calleeOf(n, source))
    )
      best = n;
  }
  let next: string;
  if (python) {
    const stmt =
      best.type === 'assert_statement' || best.type === 'with_statement'
        ? best
        : best.parent?.type === 'expression_statement'
          ? best.parent
          : null;
    if (!stmt) next = blankOut(source, best.start, best.end, 'None');
    else {
      // A block may not become empty in Python.
      const siblings = stmt.parent ? namedChildren(stmt.parent).length : 2;
      next = blankOut(source, stmt.start, stmt.end, siblings > 1 ? '' : 'pass');
    }
  } else {
    const counted = plannedStandIn(best, source);
    const stmt = counted ? null : enclosingStatement(best);
    next = counted
      ? blankOut(source, best.start, best.end, counted)
      : stmt
        ? blankOut(source, stmt.start, stmt.end)
        : blankOut(source, best.start, best.end, 'undefined');
  }
  return (await parsesCleanly(file, next)) ? next : null;
}

/** Identifiers a function declares as plain parameters (`t`, `(t, done)`, `t: TestContext`). */
function parameterNames(fn: SyntaxNode, source: string): string[] {
  const single = fn.children.find((c) => c.field === 'parameter');
  if (single) return [source.slice(single.start, single.end)];
  const params = fn.children.find((c) => c.field === 'parameters');
  if (!params) return [];
  const names: string[] = [];
  for (const p of namedChildren(params)) {
    const id =
      p.type === 'identifier'
        ? p
        : namedChildren(p).find((c) => c.type === 'identifier' && c.field === 'pattern');
    if (id) names.push(source.slice(id.start, id.end));
  }
  return names;
}

/** Calls inside `node` whose callee, without spaces, is one of `callees`. */
function callsTo(node: SyntaxNode, source: string, callees: string[]): boolean {
  for (const n of descendants(node)) {
    if (n.type === 'call_expression' && callees.includes(calleeOf(n, source).replace(/\s+/g, '')))
      return true;
  }
  return false;
}

/** node:test's `test(name, { plan: 2 }, fn)`: the options object beside the test function. */
function planOption(fn: SyntaxNode, source: string): boolean {
  const args = fn.parent;
  if (args?.type !== 'arguments') return false;
  return namedChildren(args).some(
    (a) =>
      a.type === 'object' &&
      namedChildren(a).some(
        (p) =>
          p.type === 'pair' &&
          /^['"]?plan['"]?$/.test(source.slice(p.children[0]?.start ?? 0, p.children[0]?.end ?? 0)),
      ),
  );
}

/**
 * When the assertion counts toward a planned number of assertions, the statement that must
 * replace it (dropping it would break the plan, and the test would still fail): an assertion
 * on the same object that always passes and still counts. Covers `t.plan(n)` (node:test,
 * tape, tap: `t.equal(...)` -> `t.ok(true)`, `t.assert.equal(...)` -> `t.assert.ok(true)`),
 * node:test's `{ plan: n }` option, and jest's `expect.assertions(n)` / `expect.hasAssertions()`
 * (`expect(x).toBe(y)` -> `expect(true).toBe(true)`). Null when no plan counts it.
 */
function plannedStandIn(call: SyntaxNode, source: string): string | null {
  const callee = calleeOf(call, source).replace(/\s+/g, '');
  if (/^expect\(/.test(callee)) {
    for (let n = call.parent; n; n = n.parent) {
      if (
        isFunctionNode('javascript', n) &&
        callsTo(n, source, ['expect.assertions', 'expect.hasAssertions'])
      )
        return 'expect(true).toBe(true)';
    }
    return null;
  }
  // `t.equal` or `t.assert.equal`: the object is everything before the method name.
  const m = /^([A-Za-z_$][\w$]*)((?:\.[A-Za-z_$][\w$]*)*)\.[A-Za-z_$][\w$]*$/.exec(callee);
  if (!m) return null;
  const root = m[1]!;
  if (ASSERT_ROOTS.has(root)) return null;
  const standIn = `${root}${m[2]}.ok(true)`;
  // The function that declares the test context decides; a context from elsewhere (a helper's
  // parameter named differently, a closure) is looked up in the whole file.
  for (let n = call.parent; n; n = n.parent) {
    if (!isFunctionNode('javascript', n) || !parameterNames(n, source).includes(root)) continue;
    return callsTo(n, source, [`${root}.plan`]) || planOption(n, source) ? standIn : null;
  }
  let top = call;
  while (top.parent) top = top.parent;
  return callsTo(top, source, [`${root}.plan`]) ? standIn : null;
}

/** For languages without a grammar here (Go, Rust, Java...): blank an assertion-looking line. */
function weakenLineFallback(source: string, line: number): string | null {
  const lines = source.split('\n');
  const text = lines[line - 1];
  if (text === undefined) return null;
  if (
    !/\b(assert\w*!?|t\.(Error|Errorf|Fatal|Fatalf|Fail|FailNow)|expect\w*|require\.\w+)\s*\(/.test(
      text,
    )
  ) {
    return null;
  }
  // Only single-line statements: a multi-line call cannot be blanked safely without a parser.
  const opens = (text.match(/\(/g) ?? []).length;
  const closes = (text.match(/\)/g) ?? []).length;
  if (opens !== closes) return null;
  lines[line - 1] = '';
  return lines.join('\n');
}

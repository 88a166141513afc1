import {
  childByField,
  descendants,
  isComment,
  isFunctionNode,
  isJavaScriptLike,
  type LanguageId,
  languageOf,
  namedChildren,
  type ParsedFile,
  parseFile,
  parsesCleanly,
  type SyntaxNode,
  textOf,
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
  return applyEdits(source, [removal(source, start, end, replacement)]);
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
 *
 * Go, Rust, Java, C, C++ and Ruby go through `weakenNative` (what counts as an assertion there,
 * and what else must change so the test still compiles); files of other languages through
 * `weakenLineFallback`, which only blanks a line holding one whole assertion statement.
 */
export async function weakenAssertionAt(
  file: string,
  source: string,
  line: number,
  column?: number,
): Promise<string | null> {
  const parsed = languageOf(file) ? await parseFile(file, source) : null;
  if (!parsed) return weakenLineFallback(file, source, line);
  if (!isJavaScriptLike(parsed.language) && parsed.language !== 'python') {
    return weakenNative(parsed, line, column);
  }
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
  // expect(x).to.equal(y): the whole chain is one assertion, not just its first call. A chain
  // that starts at expect(...) is an assertion whatever its words (expect.js `.to.be(y)`,
  // chai's property `.to.be.true`): all of it goes, or `undefined.to.be(y)` would throw.
  const fromExpect = ASSERT_ROOTS.has(calleeOf(best, source).replace(/\s+/g, ''));
  for (
    let n = best.parent;
    n && /^(member_expression|attribute|call_expression|call)$/.test(n.type);
    n = n.parent
  ) {
    if (fromExpect) best = n;
    else if (
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

// ---------------------------------------------------------------------------------------------
// Go, Rust, Java, C, C++ and Ruby

/** Lists of test cases: Go composite literals, Rust/Java/C array and initializer lists. */
const TABLE_LISTS = new Set([
  'literal_value',
  'array_expression',
  'array_initializer',
  'initializer_list',
]);

/**
 * The case of a test table that covers the failing line, removed whole (its own lines, with
 * its comma), when the table keeps at least one other case and the case starts its line.
 */
function tableRowRemoval(site: NativeSite): Edit | null {
  const { source, line } = site;
  const startsLine = (n: SyntaxNode) =>
    source.slice(source.lastIndexOf('\n', n.start - 1) + 1, n.start).trim() === '';
  let best: SyntaxNode | null = null;
  for (const n of descendants(site.parsed.root)) {
    if (!n.named || !n.parent || !TABLE_LISTS.has(n.parent.type)) continue;
    // The innermost case on lines of its own (not a value inside a one-line case).
    if (n.startLine <= line && line <= n.endLine && startsLine(n)) best = n;
  }
  if (!best || namedChildren(best.parent!).length < 2) return null;
  const lineStart = source.lastIndexOf('\n', best.start - 1) + 1;
  let end = best.end;
  while (end < source.length && (source[end] === ' ' || source[end] === '\t')) end++;
  if (source[end] === ',') end++;
  const nl = source.indexOf('\n', end);
  if (source.slice(end, nl < 0 ? source.length : nl).trim() !== '') return null;
  return { start: lineStart, end: nl < 0 ? source.length : nl + 1, text: '' };
}

// Rust test tables written as macro invocations: `test! { test_u64_0(0u64, "0") ... }`, where a
// `macro_rules!` turns each row into a `#[test] fn test_u64_0()`.

/** Where items (and so generated #[test] functions) may stand: a file, a `mod { }` body. */
const RUST_ITEM_SCOPES = new Set(['source_file', 'declaration_list']);
const TOKEN_SEPARATORS = new Set([',', ';']);

/** A row of a macro's token tree: `name(...)`, `name[...]` or `name {...}`. */
interface MacroRow {
  name: SyntaxNode;
  group: SyntaxNode;
  /** Where the row starts: its name, or an outer attribute (`#[cfg(..)]`) before it. */
  start: SyntaxNode;
}

/**
 * The rows one token tree lists: an identifier followed by a delimited group, standing first,
 * after a separator or after the previous row's group (so `fn name()`, `a::b()` and `x.f()`
 * are no rows).
 */
function macroRows(tree: SyntaxNode): MacroRow[] {
  const cs = tree.children;
  const rows: MacroRow[] = [];
  for (let i = 1; i < cs.length - 1; i++) {
    const name = cs[i]!;
    const group = cs[i + 1]!;
    if (name.type !== 'identifier' || group.type !== 'token_tree') continue;
    let start = name;
    let prev = i - 1;
    // #[attr] before the row goes with it.
    while (
      prev >= 2 &&
      cs[prev]!.type === 'token_tree' &&
      cs[prev - 1]!.type === '#' &&
      /^\[/.test(cs[prev]!.children[0]?.type ?? '')
    ) {
      start = cs[prev - 1]!;
      prev -= 2;
    }
    const before = cs[prev]!;
    if (prev === 0 || TOKEN_SEPARATORS.has(before.type) || before.type === 'token_tree') {
      rows.push({ name, group, start });
    }
  }
  return rows;
}

/**
 * A failing Rust test generated by a macro from a table (`test! { test_u64_0(0u64, "0") ... }`):
 * its panic is located in the `macro_rules!` body, which checks every row, so no line names the
 * failing case. The row that begins with the test's name `name` (the identifier, its group and
 * a separator after it) is removed alone, and a test of that name with no assertion,
 * `#[test] fn name() {}`, follows the invocation (in the same module, so it has the failing
 * test's id): the test passes with the bug, as a test whose assertion was removed does. Line
 * numbers are kept. Only an invocation at item level counts (tests are items), and only a row
 * that is its table's one match for the name and not its table's only row. Returns the new
 * source and the row's line, or null.
 */
export async function weakenMacroTableRow(
  file: string,
  source: string,
  name: string,
): Promise<{ source: string; line: number } | null> {
  if (!/^[A-Za-z_]\w*$/.test(name) || languageOf(file) !== 'rust') return null;
  const parsed = await parseFile(file, source);
  if (!parsed) return null;
  const hits: { invocation: SyntaxNode; tree: SyntaxNode; row: MacroRow }[] = [];
  for (const invocation of descendants(parsed.root)) {
    if (invocation.type !== 'macro_invocation' || invocation.error) continue;
    // `test!(...);` at file level parses as an expression statement.
    const scope =
      invocation.parent?.type === 'expression_statement'
        ? invocation.parent.parent
        : invocation.parent;
    if (!scope || !RUST_ITEM_SCOPES.has(scope.type)) continue;
    const top = namedChildren(invocation).find((c) => c.type === 'token_tree');
    if (!top) continue;
    for (const tree of descendants(top)) {
      if (tree.type !== 'token_tree') continue;
      for (const row of macroRows(tree)) {
        if (textOf(source, row.name) === name) hits.push({ invocation, tree, row });
      }
    }
  }
  if (hits.length !== 1) return null;
  const { invocation, tree, row } = hits[0]!;
  if (macroRows(tree).length < 2) return null;
  const cs = tree.children;
  const after = cs[cs.indexOf(row.group) + 1];
  let start = row.start.start;
  let end = row.group.end;
  if (after && TOKEN_SEPARATORS.has(after.type)) end = after.end;
  else {
    // The last row without a separator of its own takes the one before it: `a(1), b(2)`.
    const before = cs[cs.indexOf(row.start) - 1];
    if (before && TOKEN_SEPARATORS.has(before.type)) start = before.start;
  }
  const rowEdit = removal(source, start, end);
  // Spaces after a row that shares its line with others go with it.
  if (rowEdit.end === end) {
    while (rowEdit.end < source.length && /[ \t]/.test(source[rowEdit.end]!)) rowEdit.end++;
  }
  // The stand-in test goes after the invocation, its `;` (`test!(...);`) and the stand-ins of
  // rows removed before.
  let at = invocation.end;
  const semi = /^[ \t]*;/.exec(source.slice(at));
  if (semi) at += semi[0].length;
  at += /^( #\[test\] fn \w+\(\) \{\})*/.exec(source.slice(at))![0].length;
  const standIn: Edit = { start: at, end: at, text: ` #[test] fn ${name}() {}` };
  const next = applyEdits(source, [rowEdit, standIn]);
  const p = await parseFile(file, next);
  if (!p || errorCount(p.root) > errorCount(parsed.root)) return null;
  return { source: next, line: row.name.startLine };
}

/**
 * A failing Rust `#[test] fn <name>()` whose failure names no line of it (a panic or an
 * overflow inside the code under test, `thread 'x' panicked at src/lib.rs:..`) is hidden by
 * emptying its body: it passes with the bug, as a test whose assertions were removed does.
 * Line numbers are kept. Only a function that is the one test of that name in the file, returns
 * nothing (an empty body must still build) and expects no panic. Returns the new source and
 * the function's line, or null.
 */
export async function emptyRustTestBody(
  file: string,
  source: string,
  name: string,
): Promise<{ source: string; line: number } | null> {
  if (!/^[A-Za-z_]\w*$/.test(name) || languageOf(file) !== 'rust') return null;
  const parsed = await parseFile(file, source);
  if (!parsed) return null;
  const hits: SyntaxNode[] = [];
  for (const fn of descendants(parsed.root)) {
    if (fn.type !== 'function_item' || fn.error) continue;
    const id = childByField(fn, 'name');
    if (!id || textOf(source, id) !== name) continue;
    const siblings = fn.parent?.children ?? [];
    const attributes: string[] = [];
    for (let i = siblings.indexOf(fn) - 1; i >= 0; i--) {
      const sib = siblings[i]!;
      if (isComment(sib)) continue;
      if (sib.type !== 'attribute_item') break;
      attributes.push(textOf(source, sib));
    }
    const isTest = attributes.some((a) => /^#\[\s*(?:[\w:]+::)?test\b/.test(a));
    if (isTest && !attributes.some((a) => /\bshould_panic\b/.test(a))) hits.push(fn);
  }
  if (hits.length !== 1) return null;
  const fn = hits[0]!;
  const body = childByField(fn, 'body');
  if (!body || childByField(fn, 'return_type') || body.end - body.start <= 2) return null;
  const next = applyEdits(source, [removal(source, body.start + 1, body.end - 1)]);
  const p = await parseFile(file, next);
  if (!p || errorCount(p.root) > errorCount(parsed.root)) return null;
  return { source: next, line: fn.startLine };
}

// Tests that stop at a line that asserts nothing (the code under test raised there): such a
// test is hidden whole. Longer bodies would make a specification nobody can read.
const MAX_EMPTIED_TEST_LINES = 60;
const JS_TEST_CALLS = /^(it|test|specify)$/;
const RUBY_TEST_BLOCKS = /^(it|test|specify|example|scenario)$/;

/** The body of the test function or block `n` is, if it is one (per language), or null. */
function testBodyOf(n: SyntaxNode, lang: LanguageId, source: string): SyntaxNode | null {
  const body = childByField(n, 'body');
  if (!body) return null;
  const name = childByField(n, 'name');
  const named = name ? textOf(source, name) : '';
  if (lang === 'ruby') {
    if (n.type === 'method') return /^test/.test(named) ? body : null;
    if (n.type !== 'do_block' && n.type !== 'block') return null;
    const call = n.parent;
    const method = call && childByField(call, 'method');
    return call?.type === 'call' && method && RUBY_TEST_BLOCKS.test(textOf(source, method))
      ? body
      : null;
  }
  if (lang === 'python') {
    return n.type === 'function_definition' && /^test/.test(named) ? body : null;
  }
  if (lang === 'java') {
    if (n.type !== 'method_declaration' || textOf(source, childByField(n, 'type') ?? n) !== 'void')
      return null;
    const modifiers = n.children.find((c) => c.type === 'modifiers');
    const annotated =
      modifiers &&
      /@(\w+\.)*(Test|ParameterizedTest|RepeatedTest)\b/.test(textOf(source, modifiers));
    return annotated || /^test/.test(named) ? body : null;
  }
  if (isJavaScriptLike(lang)) {
    if (!['arrow_function', 'function_expression', 'function'].includes(n.type)) return null;
    if (body.type !== 'statement_block' || n.parent?.type !== 'arguments') return null;
    const callee = n.parent.parent && childByField(n.parent.parent, 'function');
    if (!callee) return null;
    // it(...), test.only(...), t.test(...) (node:test and tap subtests).
    const parts = textOf(source, callee).split('.');
    const root = parts[0]!;
    return JS_TEST_CALLS.test(root) || parts.at(-1) === 'test' ? body : null;
  }
  return null;
}

/**
 * A failing test that stops at `line` where nothing asserts (the code under test raised
 * there: `rss.to_xml("0.91")` throwing) is hidden by emptying the innermost test function or
 * block around the line (Ruby `def test_*` or `it ... do`, Python `def test*`, JUnit `@Test`
 * methods, JS `it`/`test` callbacks): it passes with the bug, as a test whose assertions were
 * removed does. Python keeps a `pass`; line numbers are kept. Not for bodies over 60 lines.
 * Returns the new source and the test's first line, or null.
 */
export async function emptyEnclosingTest(
  file: string,
  source: string,
  line: number,
): Promise<{ source: string; line: number } | null> {
  const lang = languageOf(file);
  if (!lang) return null;
  const parsed = await parseFile(file, source);
  if (!parsed) return null;
  let best: { test: SyntaxNode; body: SyntaxNode } | null = null;
  for (const n of descendants(parsed.root)) {
    if (n.startLine > line || n.endLine < line) continue;
    const body = testBodyOf(n, lang, source);
    if (!body || body.startLine > line || body.endLine < line) continue;
    if (!best || body.end - body.start < best.body.end - best.body.start) best = { test: n, body };
  }
  if (!best) return null;
  const { test, body } = best;
  if (body.endLine - body.startLine + 1 > MAX_EMPTIED_TEST_LINES) return null;
  let edit: Edit;
  if (lang === 'python') {
    const first = namedChildren(body)[0];
    if (!first) return null;
    edit = removal(source, body.start, body.end, 'pass');
  } else if (body.type === 'body_statement') {
    edit = removal(source, body.start, body.end);
  } else {
    // A braced block: what is between the braces.
    if (body.end - body.start <= 2) return null;
    edit = removal(source, body.start + 1, body.end - 1);
  }
  const next = applyEdits(source, [edit]);
  const p = await parseFile(file, next);
  if (!p || errorCount(p.root) > errorCount(parsed.root)) return null;
  return { source: next, line: test.startLine };
}

/** One replacement in a source: [start, end) becomes `text`. */
interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(source: string, edits: Edit[]): string {
  let out = source;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out;
}

/** The edit that drops [start, end) for `replacement`, keeping its newlines (as `blankOut`). */
function removal(source: string, start: number, end: number, replacement = ''): Edit {
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
  return { start, end, text: replacement + '\n'.repeat(newlines) };
}

function errorCount(root: SyntaxNode): number {
  let n = 0;
  for (const d of descendants(root)) if (d.error) n++;
  return n;
}

function inside(n: SyntaxNode, ranges: { start: number; end: number }[]): boolean {
  return ranges.some((r) => r.start <= n.start && n.end <= r.end);
}

/**
 * The assertion at the location (the line, or the offset when a column was printed): the
 * innermost of nested ones (an assertion inside another's closure), the first of two side by
 * side on one line. Nothing inside a syntax error is considered.
 */
function assertionAt(
  root: SyntaxNode,
  line: number,
  at: number | null,
  isAssertion: (n: SyntaxNode) => boolean,
): SyntaxNode | null {
  let best: SyntaxNode | null = null;
  const within = (n: SyntaxNode, ancestor: SyntaxNode) => {
    for (let p = n.parent; p; p = p.parent) if (p === ancestor) return true;
    return false;
  };
  // Depth-first in source order: ancestors come before their descendants.
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.error) continue;
    const covers =
      at === null ? n.startLine <= line && line <= n.endLine : n.start <= at && at <= n.end;
    if (!covers) continue;
    if ((!best || within(n, best)) && isAssertion(n)) best = n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return best;
}

/** Statement containers of the C family, Java and Go in which a statement can simply go. */
const BLOCKS = new Set([
  'block',
  'compound_statement',
  'translation_unit',
  'case_statement',
  'declaration_list',
  'switch_block_statement_group',
  'constructor_body',
  'program',
  'statement_list',
  'preproc_if',
  'preproc_ifdef',
  'preproc_else',
  'preproc_elif',
]);

/** Drops a statement; one that is the whole body of an if/else/loop becomes an empty block. */
function dropStatement(source: string, stmt: SyntaxNode): Edit {
  return stmt.parent && BLOCKS.has(stmt.parent.type)
    ? removal(source, stmt.start, stmt.end)
    : removal(source, stmt.start, stmt.end, '{}');
}

interface NativeSite {
  parsed: ParsedFile;
  source: string;
  line: number;
  /** Offset of the printed column, or null. */
  at: number | null;
}

/**
 * Weakening for the compiled languages and Ruby: the assertion statement at the location goes
 * (see each language's planner for what counts and what else must change with it). The file
 * may already hold syntax errors the grammar cannot avoid (C macros such as Check's
 * START_TEST): the edit is kept when it adds none.
 */
async function weakenNative(
  parsed: ParsedFile,
  line: number,
  column?: number,
): Promise<string | null> {
  const { source, language, file } = parsed;
  const site: NativeSite = {
    parsed,
    source,
    line,
    at: column ? offsetOf(source, line, column) : null,
  };
  const before = parsed.hasErrors ? errorCount(parsed.root) : 0;
  const acceptable = async (next: string): Promise<boolean> => {
    if (next === source) return false;
    const p = await parseFile(file, next);
    if (!p) return false;
    return before === 0 ? !p.hasErrors : errorCount(p.root) <= before;
  };
  const planners: Partial<Record<LanguageId, (s: NativeSite) => Edit[] | null>> = {
    go: goWeakening,
    rust: rustWeakening,
    java: javaWeakening,
    c: cWeakening,
    cpp: cWeakening,
    ruby: rubyWeakening,
  };
  // Table-driven tests: the failing line is a case of a table (a panic's frame, or a
  // helper's caller); dropping that one case hides the bug for it, and
  // is more focused than dropping the helper call that checks the whole table.
  const row = tableRowRemoval(site);
  if (row) {
    const next = applyEdits(source, [row]);
    if (await acceptable(next)) return next;
  }
  const edits = planners[language]?.(site) ?? null;
  if (edits?.length) {
    const next = applyEdits(source, edits);
    if (await acceptable(next)) return next;
  }
  // Macro-heavy C and C++ can defeat the grammar around an assertion: the guarded line edit.
  if (language === 'c' || language === 'cpp') {
    const next = weakenLineFallback(file, source, line);
    if (next !== null && (await acceptable(next))) return next;
  }
  return null;
}

/**
 * How block-scoped locals are declared in a language (Rust `let`, C/C++ declarations): enough
 * to tell which locals a removed statement was the last to read.
 */
interface LocalRules {
  /** Nodes whose children are statements in order. */
  blocks: Set<string>;
  /** Where a search for a declaration stops. */
  functions: Set<string>;
  /** The identifiers a statement declares. */
  declared(stmt: SyntaxNode): SyntaxNode[];
}

const RUST_LOCALS: LocalRules = {
  blocks: new Set(['block']),
  functions: new Set(['function_item']),
  declared: (stmt) => {
    if (stmt.type !== 'let_declaration') return [];
    const pattern = childByField(stmt, 'pattern');
    if (!pattern) return [];
    return [...descendants(pattern)].filter(
      (n) => n.type === 'identifier' && n.parent?.type !== 'scoped_identifier',
    );
  },
};

const C_LOCALS: LocalRules = {
  blocks: new Set(['compound_statement']),
  functions: new Set(['function_definition']),
  declared: (stmt) => {
    if (stmt.type !== 'declaration') return [];
    const out: SyntaxNode[] = [];
    for (const d of stmt.children) {
      if (d.field !== 'declarator') continue;
      // int x = 1; int *p; int a[3]; the name is the innermost declarator.
      let n: SyntaxNode | undefined = d;
      while (n && n.type !== 'identifier') n = childByField(n, 'declarator');
      if (n) out.push(n);
    }
    return out;
  },
};

/**
 * Locals the statement `removed` reads that nothing after it in their block reads any more
 * (up to a later declaration of the same name, which shadows it in Rust).
 */
function localsNowUnused(source: string, removed: SyntaxNode, rules: LocalRules): string[] {
  const names = new Set<string>();
  for (const n of descendants(removed)) if (n.type === 'identifier') names.add(textOf(source, n));
  const out: string[] = [];
  for (const name of names) {
    // The nearest declaration before the statement, in it or an enclosing block.
    let decl: SyntaxNode | null = null;
    let child: SyntaxNode = removed;
    for (let a = removed.parent; a && !decl; child = a, a = a.parent) {
      if (rules.functions.has(a.type)) break;
      if (!rules.blocks.has(a.type)) continue;
      const i = a.children.indexOf(child);
      for (let j = i - 1; j >= 0 && !decl; j--) {
        const stmt = a.children[j]!;
        if (rules.declared(stmt).some((id) => textOf(source, id) === name)) decl = stmt;
      }
    }
    if (!decl?.parent) continue;
    const block = decl.parent;
    let read = false;
    for (const stmt of block.children.slice(block.children.indexOf(decl) + 1)) {
      const declaring = rules.declared(stmt);
      for (const n of descendants(stmt)) {
        if (n.type !== 'identifier' || textOf(source, n) !== name || declaring.includes(n))
          continue;
        if (inside(n, [removed])) continue;
        read = true;
        break;
      }
      if (read || declaring.some((id) => textOf(source, id) === name)) break;
    }
    if (!read) out.push(name);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Go: t.Errorf & co. (usually alone in an `if` that only reports), testify, quicktest, gomega,
// and helpers that take the test's *testing.T. Go refuses to compile an unused local or import,
// so what the removal leaves unused is kept used (`_ = got`, `_ "reflect"`).

const GO_REPORT = /^(Error|Errorf|Fatal|Fatalf|Fail|FailNow)$/;
const GO_CONTEXT_ASSERT = /^(Error|Errorf|Fatal|Fatalf|Fail|FailNow|Assert|Check)$/;
const GO_CONTEXT_QUIET = /^(Log|Logf|Skip|Skipf|SkipNow|Helper)$/;
/** Last element of the import paths of assertion packages (testify, gotest.tools, is, qt). */
const GO_ASSERT_PACKAGE = /^(assert|require|is|qt|quicktest|check)$/;
const GO_TESTIFY = new Set(
  (
    'Equal NotEqual EqualValues NotEqualValues Exactly True False Nil NotNil NoError Error ' +
    'ErrorIs NotErrorIs ErrorAs ErrorContains EqualError Len Contains NotContains Empty NotEmpty ' +
    'Zero NotZero Greater GreaterOrEqual Less LessOrEqual ElementsMatch Subset NotSubset JSONEq ' +
    'YAMLEq Regexp NotRegexp Panics NotPanics PanicsWithValue PanicsWithError IsType Implements ' +
    'InDelta InEpsilon WithinDuration Same NotSame Eventually Never Condition FileExists ' +
    'NoFileExists DirExists Positive Negative Fail FailNow IsIncreasing IsDecreasing'
  ).split(' '),
);
const GO_GOMEGA_ROOT = /^(Expect|Ω|Eventually|Consistently)$/;
const GO_GOMEGA_TO = /^(To|NotTo|ToNot|Should|ShouldNot)$/;

interface GoImport {
  spec: SyntaxNode;
  /** The name the file uses ('_' and '.' imports are not listed). */
  name: string;
  alias: SyntaxNode | undefined;
  path: SyntaxNode;
  last: string;
}

function goImports(root: SyntaxNode, source: string): GoImport[] {
  const out: GoImport[] = [];
  for (const n of descendants(root)) {
    if (n.type !== 'import_spec') continue;
    const path = childByField(n, 'path');
    if (!path) continue;
    const parts = textOf(source, path)
      .replace(/^["`]|["`]$/g, '')
      .split('/');
    let last = parts.pop() ?? '';
    if (/^v\d+$/.test(last) && parts.length) last = parts.pop()!;
    const alias = childByField(n, 'name');
    const aliasText = alias ? textOf(source, alias) : null;
    if (aliasText === '_' || aliasText === '.') continue;
    const name =
      aliasText ??
      last
        .replace(/^go-/, '')
        .replace(/[-.]go$/, '')
        .replace(/\..*$/, '');
    out.push({ spec: n, name, alias, path, last });
  }
  return out;
}

/** Names of the parameters of type *testing.T / B / F, testing.TB, *check.C or *qt.C in scope. */
function goTestContexts(node: SyntaxNode, source: string): Set<string> {
  const names = new Set<string>();
  for (let p = node.parent; p; p = p.parent) {
    if (!/^(func_literal|function_declaration|method_declaration)$/.test(p.type)) continue;
    const params = childByField(p, 'parameters');
    for (const d of params ? namedChildren(params) : []) {
      const type = childByField(d, 'type');
      if (
        !type ||
        !/\b(testing\.(T|B|TB|F)|check\.C|qt\.C|quicktest\.C)\b/.test(textOf(source, type))
      )
        continue;
      for (const c of d.children) if (c.field === 'name') names.add(textOf(source, c));
    }
  }
  return names;
}

function goCalleeParts(call: SyntaxNode, source: string) {
  const fn = childByField(call, 'function');
  if (fn?.type !== 'selector_expression') {
    return { fn, operand: undefined, field: fn ? textOf(source, fn) : '' };
  }
  const operand = childByField(fn, 'operand');
  const field = childByField(fn, 'field');
  return { fn, operand, field: field ? textOf(source, field) : '' };
}

/** The enclosing method's receiver name (a testify suite's `s`), if any. */
function goReceiver(node: SyntaxNode, source: string): string | null {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type !== 'method_declaration') continue;
    const recv = childByField(p, 'receiver');
    const decl = recv ? namedChildren(recv)[0] : undefined;
    const name = decl ? childByField(decl, 'name') : undefined;
    return name ? textOf(source, name) : null;
  }
  return null;
}

type GoKind = 'report' | 'assert' | 'helper';

function goAssertionKind(
  call: SyntaxNode,
  site: NativeSite,
  imports: GoImport[],
  allowHelper: boolean,
): GoKind | null {
  if (call.type !== 'call_expression') return null;
  const { source } = site;
  const { fn, operand, field } = goCalleeParts(call, source);
  const statement = call.parent?.type === 'expression_statement';
  if (operand?.type === 'identifier') {
    const name = textOf(source, operand);
    const imp = imports.find((i) => i.name === name);
    if (imp) {
      if (GO_ASSERT_PACKAGE.test(imp.last)) return 'assert';
    } else {
      if (GO_CONTEXT_ASSERT.test(field)) return GO_REPORT.test(field) ? 'report' : 'assert';
      if (statement && GO_TESTIFY.has(field) && goReceiver(call, source) === name) return 'assert';
      if (statement && GO_TESTIFY.has(field) && /^(assert|require|a|r|is|must)$/.test(name))
        return 'assert';
    }
  } else if (operand?.type === 'call_expression') {
    const inner = goCalleeParts(operand, source);
    if (/^(Require|Assert)$/.test(inner.field)) return 'assert';
    if (inner.field === 'T' && GO_REPORT.test(field)) return 'report';
    if (GO_GOMEGA_TO.test(field) && GO_GOMEGA_ROOT.test(inner.field)) return 'assert';
  }
  // A helper that marked itself with t.Helper() makes go test print its caller's line.
  if (allowHelper && statement && fn && call.startLine === site.line) {
    const contexts = goTestContexts(call, source);
    const args = childByField(call, 'arguments');
    if (
      args &&
      namedChildren(args).some((a) => a.type === 'identifier' && contexts.has(textOf(source, a)))
    )
      return 'helper';
  }
  return null;
}

/** A statement that only reports: t.Error & co., t.Log, testify, return, continue, break, panic. */
function goReportOnly(stmt: SyntaxNode, site: NativeSite, imports: GoImport[]): boolean {
  if (/^(continue_statement|break_statement)$/.test(stmt.type)) return true;
  if (stmt.type === 'return_statement') return namedChildren(stmt).length === 0;
  if (stmt.type !== 'expression_statement') return false;
  const call = namedChildren(stmt)[0];
  if (call?.type !== 'call_expression') return false;
  if (goAssertionKind(call, site, imports, false)) return true;
  const { fn, operand, field } = goCalleeParts(call, site.source);
  if (fn?.type === 'identifier') return field === 'panic';
  if (operand?.type !== 'identifier') return false;
  const name = textOf(site.source, operand);
  if (/^(fmt|log)$/.test(name)) return /^Print/.test(field);
  return !imports.some((i) => i.name === name) && GO_CONTEXT_QUIET.test(field);
}

interface GoDecl {
  /** The declaring identifier. */
  id: SyntaxNode;
  /** Where the name is visible. */
  scope: SyntaxNode;
  /** Go rejects it unused (variables; not constants, parameters or package-level names). */
  mustBeUsed: boolean;
}

function goDeclaredIn(stmt: SyntaxNode, name: string, source: string): GoDecl | null {
  const matching = (list: SyntaxNode | undefined) =>
    list
      ? list.type === 'identifier'
        ? textOf(source, list) === name
          ? list
          : undefined
        : namedChildren(list).find((c) => c.type === 'identifier' && textOf(source, c) === name)
      : undefined;
  if (stmt.type === 'short_var_declaration') {
    const id = matching(childByField(stmt, 'left'));
    return id ? { id, scope: stmt, mustBeUsed: true } : null;
  }
  if (stmt.type === 'var_declaration' || stmt.type === 'const_declaration') {
    for (const spec of descendants(stmt)) {
      if (spec.type !== 'var_spec' && spec.type !== 'const_spec') continue;
      for (const c of spec.children) {
        if (c.field === 'name' && textOf(source, c) === name)
          return { id: c, scope: stmt, mustBeUsed: spec.type === 'var_spec' };
      }
    }
  }
  return null;
}

/** The local declaration an identifier refers to; null for package-level names and imports. */
function goResolve(id: SyntaxNode, source: string): GoDecl | 'param' | null {
  const name = textOf(source, id);
  let child = id;
  for (let a = id.parent; a; child = a, a = a.parent) {
    if (a.type === 'statement_list') {
      const i = a.children.indexOf(child);
      for (let j = i - 1; j >= 0; j--) {
        const d = goDeclaredIn(a.children[j]!, name, source);
        if (d) return { ...d, scope: a };
      }
    } else if (a.type === 'for_statement') {
      const header = a.children.find((c) => c.type === 'range_clause' || c.type === 'for_clause');
      if (header && header !== child) {
        if (header.type === 'range_clause' && header.children.some((c) => c.type === ':=')) {
          const left = childByField(header, 'left');
          const d =
            left && goDeclaredIn({ ...header, type: 'short_var_declaration' }, name, source);
          if (d) return { ...d, scope: a };
        } else if (header.type === 'for_clause') {
          const init = childByField(header, 'initializer');
          const d = init && goDeclaredIn(init, name, source);
          if (d) return { ...d, scope: a };
        }
      } else if (header && header === child && header.type === 'for_clause') {
        const init = childByField(header, 'initializer');
        if (init && !inside(id, [init])) {
          const d = goDeclaredIn(init, name, source);
          if (d) return { ...d, scope: a };
        }
      }
    } else if (/^(if_statement|expression_switch_statement|type_switch_statement)$/.test(a.type)) {
      const init = childByField(a, 'initializer');
      if (init && init !== child) {
        const d = goDeclaredIn(init, name, source);
        if (d) return { ...d, scope: a };
      }
      const alias = childByField(a, 'alias');
      if (alias && child.type === 'type_case') {
        const d = goDeclaredIn(
          { ...a, type: 'short_var_declaration', children: [alias] },
          name,
          source,
        );
        if (d) return { ...d, scope: a };
      }
    } else if (/^(func_literal|function_declaration|method_declaration)$/.test(a.type)) {
      for (const field of ['parameters', 'receiver', 'result']) {
        const list = childByField(a, field);
        if (!list) continue;
        for (const p of descendants(list)) {
          if (p.type === 'identifier' && p.field === 'name' && textOf(source, p) === name)
            return 'param';
        }
      }
      if (a.type !== 'func_literal') return null;
    }
  }
  return null;
}

/** Is this identifier only written (an assignment's left side, x++, a composite-literal key)? */
function goWriteOnly(id: SyntaxNode): boolean {
  const p = id.parent;
  if (!p) return false;
  if (p.type === 'inc_statement' || p.type === 'dec_statement') return true;
  if (p.type === 'literal_element' && p.field === 'key') return true;
  if (p.type === 'var_spec' || p.type === 'const_spec') return id.field === 'name';
  return (
    p.type === 'expression_list' &&
    p.field === 'left' &&
    /^(assignment_statement|short_var_declaration|range_clause)$/.test(p.parent?.type ?? '')
  );
}

/** Locals read in the removed text and nowhere else any more: they must stay used. */
function goNowUnused(root: SyntaxNode, source: string, removed: Edit[]): string[] {
  const decls = new Map<SyntaxNode, { name: string; decl: GoDecl }>();
  for (const r of removed) {
    for (const n of descendants(root)) {
      if (n.type !== 'identifier' || n.start < r.start || n.end > r.end || goWriteOnly(n)) continue;
      const d = goResolve(n, source);
      if (d && d !== 'param' && d.mustBeUsed && !decls.has(d.id))
        decls.set(d.id, { name: textOf(source, n), decl: d });
    }
  }
  const names: string[] = [];
  for (const { name, decl } of decls.values()) {
    let used = false;
    for (const n of descendants(decl.scope)) {
      if (n.type !== 'identifier' || n === decl.id || inside(n, removed)) continue;
      if (textOf(source, n) !== name || goWriteOnly(n)) continue;
      const d = goResolve(n, source);
      if (d && d !== 'param' && d.id === decl.id) {
        used = true;
        break;
      }
    }
    if (!used && name !== '_') names.push(name);
  }
  return names;
}

/** Imports used only in the removed text become blank imports (`_ "reflect"`). */
function goImportEdits(
  root: SyntaxNode,
  source: string,
  removed: Edit[],
  imports: GoImport[],
): Edit[] {
  const edits: Edit[] = [];
  const isPackageUse = (n: SyntaxNode, name: string) =>
    (n.type === 'package_identifier' ||
      (n.type === 'identifier' && n.field === 'operand' && goResolve(n, source) === null)) &&
    textOf(source, n) === name;
  const importDecls = [...descendants(root)].filter((n) => n.type === 'import_declaration');
  for (const imp of imports) {
    let inRemoved = false;
    let elsewhere = false;
    for (const n of descendants(root)) {
      if (!isPackageUse(n, imp.name) || inside(n, importDecls)) continue;
      if (inside(n, removed)) inRemoved = true;
      else elsewhere = true;
    }
    if (!inRemoved || elsewhere) continue;
    edits.push(
      imp.alias
        ? { start: imp.alias.start, end: imp.alias.end, text: '_' }
        : { start: imp.path.start, end: imp.path.start, text: '_ ' },
    );
  }
  return edits;
}

function goWeakening(site: NativeSite): Edit[] | null {
  const { parsed, source } = site;
  const imports = goImports(parsed.root, source);
  let best = assertionAt(
    parsed.root,
    site.line,
    site.at,
    (n) => goAssertionKind(n, site, imports, true) !== null,
  );
  if (!best) return null;
  // Expect(x).To(...) where the location named the root.
  while (
    best.parent?.type === 'selector_expression' &&
    best.parent.parent?.type === 'call_expression' &&
    goAssertionKind(best.parent.parent, site, imports, false)
  )
    best = best.parent.parent;
  const stmt = best.parent;
  if (stmt?.type !== 'expression_statement') {
    // testify & co. return a bool: `if !assert.Equal(t, a, b) { return }`.
    return goAssertionKind(best, site, imports, false) === 'assert'
      ? [{ start: best.start, end: best.end, text: 'true' }]
      : null;
  }
  let removed: SyntaxNode[] = [stmt];
  const list = stmt.parent;
  const block = list?.parent;
  const ifStmt = block?.parent;
  if (
    list?.type === 'statement_list' &&
    block?.type === 'block' &&
    block.field === 'consequence' &&
    ifStmt?.type === 'if_statement'
  ) {
    const body = namedChildren(list);
    if (body.every((s) => goReportOnly(s, site, imports))) {
      // The check goes with its report; an if with an initializer, an else or in an else-if
      // chain keeps its condition and loses its body.
      const whole =
        !childByField(ifStmt, 'initializer') &&
        !childByField(ifStmt, 'alternative') &&
        ifStmt.field !== 'alternative' &&
        ifStmt.parent?.type === 'statement_list';
      removed = whole ? [ifStmt] : body;
    }
  }
  const ranges = removed.map((s) => ({ start: s.start, end: s.end, text: '' }));
  const unused = goNowUnused(parsed.root, source, ranges);
  const keep = unused.length ? `${unused.map(() => '_').join(', ')} = ${unused.join(', ')}` : '';
  const edits = removed.map((s, i) => removal(source, s.start, s.end, i === 0 ? keep : ''));
  return [...edits, ...goImportEdits(parsed.root, source, ranges, imports)];
}

// ---------------------------------------------------------------------------------------------
// Rust: assert!/assert_eq!/assert_ne!/debug_assert*!/prop_assert*! (also through a path such as
// pretty_assertions::assert_eq!), a test's checking helper called as a statement
// (`assert_to_string(err, "...");`, `check_parse(..);`), `if cond { panic!(..) }` checks, and #[should_panic] tests
// (the body runs under catch_unwind, then panics with the expected message: the test passes
// either way, and keeps its attribute, so cargo still lists it as `name - should panic`).

const RUST_ASSERT = /^(debug_|prop_)?assert\w*$/;
const RUST_REPORT = /^(panic|eprintln|println|eprint|print)$/;
// A test's own checking helper called as a statement: `assert_to_string(err, "...");`.
const RUST_HELPER = /^(assert|check|expect|verify)(_\w+)?$/;

/** The called function's name (the last segment of a path), or ''. */
function rustCalleeName(n: SyntaxNode, source: string): string {
  const f = childByField(n, 'function');
  if (!f || (f.type !== 'identifier' && f.type !== 'scoped_identifier')) return '';
  return textOf(source, f).split('::').pop() ?? '';
}

function rustMacroName(n: SyntaxNode, source: string): string {
  const m = childByField(n, 'macro');
  return m ? (textOf(source, m).split('::').pop() ?? '') : '';
}

/** `if cond { panic!(...) }` (a body that only panics or prints) with no else: the if. */
function rustReportingIf(macro: SyntaxNode, source: string): SyntaxNode | null {
  let n: SyntaxNode = macro;
  if (n.parent?.type === 'expression_statement') n = n.parent;
  const block = n.parent;
  const ifExpr = block?.parent;
  if (block?.type !== 'block' || block.field !== 'consequence' || ifExpr?.type !== 'if_expression')
    return null;
  if (childByField(ifExpr, 'alternative')) return null;
  const reportOnly = namedChildren(block).every((s) => {
    const m = s.type === 'expression_statement' ? namedChildren(s)[0] : s;
    return (
      m?.type === 'macro_invocation' &&
      (RUST_REPORT.test(rustMacroName(m, source)) || RUST_ASSERT.test(rustMacroName(m, source)))
    );
  });
  if (!reportOnly) return null;
  const stmt = ifExpr.parent?.type === 'expression_statement' ? ifExpr.parent : ifExpr;
  return stmt.parent?.type === 'block' ? stmt : null;
}

function rustShouldPanic(site: NativeSite): Edit[] | null {
  const { parsed, source, line } = site;
  for (const fn of descendants(parsed.root)) {
    if (fn.type !== 'function_item' || !fn.parent) continue;
    const siblings = fn.parent.children;
    const attrs: SyntaxNode[] = [];
    for (let i = siblings.indexOf(fn) - 1; i >= 0; i--) {
      const s = siblings[i]!;
      if (s.type === 'attribute_item') attrs.unshift(s);
      else if (s.type !== 'line_comment' && s.type !== 'block_comment') break;
    }
    const body = childByField(fn, 'body');
    const first = attrs[0]?.startLine ?? fn.startLine;
    if (!body || line < first || line > fn.endLine) continue;
    const should = attrs.find((a) => /^#\[\s*should_panic\b/.test(textOf(source, a)));
    if (!should) return null;
    const header = source.slice(fn.start, body.start);
    if (/\basync\b/.test(header)) return null;
    const expected = /\bexpected\s*=\s*((?:r#*)?"(?:[^"\\]|\\.)*"#*)/.exec(textOf(source, should));
    return [
      {
        start: body.start,
        end: body.start + 1,
        text: '{ let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {',
      },
      {
        start: body.end - 1,
        end: body.end,
        text: `})); panic!(${expected ? `"{}", ${expected[1]}` : ''}); }`,
      },
    ];
  }
  return null;
}

function rustWeakening(site: NativeSite): Edit[] | null {
  const { parsed, source } = site;
  const best = assertionAt(parsed.root, site.line, site.at, (n) => {
    if (n.type === 'call_expression')
      return (
        n.parent?.type === 'expression_statement' && RUST_HELPER.test(rustCalleeName(n, source))
      );
    if (n.type !== 'macro_invocation') return false;
    const name = rustMacroName(n, source);
    return RUST_ASSERT.test(name) || (name === 'panic' && rustReportingIf(n, source) !== null);
  });
  if (!best) return rustShouldPanic(site);
  const p = best.parent;
  const stmt =
    rustMacroName(best, source) === 'panic'
      ? rustReportingIf(best, source)!
      : p?.type === 'expression_statement'
        ? p
        : p?.type === 'block'
          ? best
          : null;
  // A closure body, a match arm: the unit value stands in.
  if (!stmt) return [{ start: best.start, end: best.end, text: '()' }];
  // An unused local is only a warning, but many crates deny warnings.
  const unused = localsNowUnused(source, stmt, RUST_LOCALS);
  const keep =
    unused.length === 1
      ? `let _ = &${unused[0]};`
      : unused.length
        ? `let _ = (${unused.map((u) => `&${u}`).join(', ')});`
        : '';
  return [removal(source, stmt.start, stmt.end, keep)];
}

// ---------------------------------------------------------------------------------------------
// Java: JUnit 3/4/5 (assertX, Assert.X, Assertions.X, fail), Hamcrest assertThat, AssertJ and
// Truth chains (assertThat(x).isEqualTo(y)), Mockito verify(...).m(), the `assert` statement.

const JAVA_ASSERT =
  /^(assert\w*|fail|verify|verifyNoMoreInteractions|verifyNoInteractions|verifyZeroInteractions|expectThrows)$/;

function javaName(n: SyntaxNode, source: string): string {
  const name = childByField(n, 'name');
  return name ? textOf(source, name) : '';
}

/** A method call that asserts, or a call chained on one (`assertThat(x).isEqualTo(y)`). */
function javaAsserts(n: SyntaxNode, source: string): boolean {
  if (n.type === 'assert_statement') return true;
  for (let c: SyntaxNode | undefined = n; c?.type === 'method_invocation'; ) {
    if (JAVA_ASSERT.test(javaName(c, source))) return true;
    c = childByField(c, 'object');
  }
  return false;
}

/** The statement holding a whole assertion chain, or null. */
function javaAssertionStatement(stmt: SyntaxNode, source: string): boolean {
  if (stmt.type === 'assert_statement') return true;
  if (stmt.type !== 'expression_statement') return false;
  const e = namedChildren(stmt)[0];
  return !!e && javaAsserts(e, source);
}

function javaWeakening(site: NativeSite): Edit[] | null {
  const { parsed, source } = site;
  let best = assertionAt(parsed.root, site.line, site.at, (n) => javaAsserts(n, source));
  if (!best) return null;
  if (best.type === 'assert_statement') return [dropStatement(source, best)];
  while (best.parent?.type === 'method_invocation' && best.field === 'object') best = best.parent;
  const p = best.parent;
  if (p?.type === 'expression_statement') return [dropStatement(source, p)];
  if (p?.type === 'lambda_expression' && best.field === 'body')
    return [{ start: best.start, end: best.end, text: '{}' }];
  // `Exception e = assertThrows(...);` and the assertions on `e` that follow go together.
  const decl = p?.type === 'variable_declarator' ? p.parent : null;
  if (decl?.type === 'local_variable_declaration' && decl.parent?.type === 'block') {
    const declarators = namedChildren(decl).filter((c) => c.type === 'variable_declarator');
    const name = childByField(p!, 'name');
    if (declarators.length !== 1 || !name) return null;
    const id = textOf(source, name);
    const stmts = namedChildren(decl.parent);
    const dependents: SyntaxNode[] = [];
    for (const s of stmts.slice(stmts.indexOf(decl) + 1)) {
      const uses = [...descendants(s)].some(
        (n) => n.type === 'identifier' && textOf(source, n) === id,
      );
      if (!uses) continue;
      if (!javaAssertionStatement(s, source)) return null;
      dependents.push(s);
    }
    return [decl, ...dependents].map((s) => removal(source, s.start, s.end));
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// C and C++: assert, Unity TEST_ASSERT_*, cmocka assert_*, Check ck_assert*, CUnit CU_ASSERT*,
// Criterion cr_assert*, GLib g_assert*, munit, gtest EXPECT_*/ASSERT_* (with `<< message`),
// Catch2/doctest REQUIRE/CHECK, Boost.Test BOOST_CHECK*/BOOST_REQUIRE*, CppUTest *_EQUAL.

const C_ASSERT =
  /^(assert\w*|g_assert\w*|ck_assert\w*|ck_abort\w*|fail_unless|fail_if|fail|fail_msg|cr_assert\w*|cr_expect\w*|munit_assert\w*|TEST_ASSERT\w*|TEST_FAIL\w*|CU_ASSERT\w*|CU_FAIL\w*|(EXPECT|ASSERT)(_\w+)?|GTEST_(FAIL|ASSERT_|EXPECT_)\w*|ADD_FAILURE\w*|FAIL|GREATEST_ASSERT\w*|(REQUIRE|CHECK)(_\w+)?|BOOST_(CHECK|REQUIRE|TEST)\w*|(LONGS|UNSIGNED_LONGS|STRCMP|STRNCMP|DOUBLES|POINTERS|BYTES|MEMCMP|ENUMS)_EQUAL\w*)$/;

function cWeakening(site: NativeSite): Edit[] | null {
  const { parsed, source } = site;
  let best = assertionAt(parsed.root, site.line, site.at, (n) => {
    if (n.type !== 'call_expression') return false;
    const fn = childByField(n, 'function');
    return fn?.type === 'identifier' && C_ASSERT.test(textOf(source, fn));
  });
  if (!best) return null;
  // gtest: EXPECT_EQ(a, b) << "message";
  while (
    best.parent?.type === 'binary_expression' &&
    best.field === 'left' &&
    childByField(best.parent, 'operator')?.type === '<<'
  )
    best = best.parent;
  const p = best.parent;
  if (p?.type !== 'expression_statement') return null;
  // Builds with -Wall -Werror reject a local the removal leaves unused.
  const unused = p.parent && BLOCKS.has(p.parent.type) ? localsNowUnused(source, p, C_LOCALS) : [];
  if (!unused.length) return [dropStatement(source, p)];
  return [removal(source, p.start, p.end, unused.map((u) => `(void)${u};`).join(' '))];
}

// ---------------------------------------------------------------------------------------------
// Ruby: minitest assert_*/refute_*/flunk and expectations (_(x).must_equal y), RSpec
// expect(...).to / not_to, is_expected.to, should; a statement modifier (`if`) goes along.

const RUBY_ASSERT = /^(assert\w*|refute\w*|flunk|must_\w+|wont_\w+|should|should_not)$/;
const RSPEC_ROOT = /^(expect|is_expected|are_expected|expect_any_instance_of)$/;
const RUBY_BODIES = new Set([
  'program',
  'body_statement',
  'block_body',
  'then',
  'else',
  'do',
  'begin',
  'ensure',
  'parenthesized_statements',
]);

function rubyMethod(n: SyntaxNode, source: string): string {
  if (n.type === 'identifier') return textOf(source, n);
  const m = childByField(n, 'method');
  return m ? textOf(source, m) : '';
}

function rubyAsserts(n: SyntaxNode, source: string): boolean {
  if (n.type === 'identifier') {
    return textOf(source, n) === 'flunk' && !!n.parent && RUBY_BODIES.has(n.parent.type);
  }
  if (n.type !== 'call') return false;
  const m = rubyMethod(n, source);
  if (RUBY_ASSERT.test(m)) return true;
  if (RSPEC_ROOT.test(m)) return !childByField(n, 'receiver');
  if (!/^(to|not_to|to_not)$/.test(m)) return false;
  let root: SyntaxNode | undefined = n;
  while (root?.type === 'call' && childByField(root, 'receiver'))
    root = childByField(root, 'receiver');
  return !!root && RSPEC_ROOT.test(rubyMethod(root, source));
}

function rubyWeakening(site: NativeSite): Edit[] | null {
  const { parsed, source } = site;
  let best = assertionAt(parsed.root, site.line, site.at, (n) => rubyAsserts(n, source));
  if (!best) return null;
  while (best.parent?.type === 'call' && best.field === 'receiver') best = best.parent;
  let stmt = best;
  while (/_modifier$/.test(stmt.parent?.type ?? '') && stmt.field === 'body') stmt = stmt.parent!;
  if (stmt.parent && RUBY_BODIES.has(stmt.parent.type))
    return [removal(source, stmt.start, stmt.end)];
  return [{ start: best.start, end: best.end, text: 'nil' }];
}

// ---------------------------------------------------------------------------------------------
// Line fallback: languages without a grammar here (Kotlin, Swift, C#, PHP, Scala, Elixir...).

/** Extensions of languages whose line comments start with '#'. */
const HASH_COMMENTS =
  /\.(rb|rake|gemspec|py|pyi|sh|bash|zsh|pl|pm|t|ex|exs|r|jl|cr|nim|tcl|coffee|ps1|psm1|cmake|nix|awk|raku|yml|yaml)$/i;
/** The statement starts with an assertion call (through an object or a class, or not). */
const LINE_ASSERTION =
  /^(?:(?:await|try|try!|try\?)\s+)?(?:\$this->|self::|static::|[A-Za-z_$][\w$]*(?:\(\))?(?:\.|::|->))*(?:[Aa]ssert\w*|refute\w*|expect\w*|XCTAssert\w*|XCTFail|verify|fail|flunk|must_\w+|wont_\w+|Errorf?|Fatalf?|FailNow|(?:EXPECT|ASSERT|REQUIRE|CHECK)(?:_[A-Z_]+)?|TEST_(?:ASSERT|FAIL)\w*|ck_assert\w*|CU_(?:ASSERT|FAIL)\w*|g_assert\w*|munit_assert\w*|cr_(?:assert|expect)\w*|BOOST_(?:CHECK|REQUIRE|TEST)\w*)!?(?:\s*[(<{]|\s+(?![=+\-*/%&|^<>!.?:]))/;
const LINE_ASSERT_CLASS = /^(?:[A-Za-z_$][\w$]*\.)*\w*Assert\w*\.\w+\s*\(/;

/** The code of a line without its trailing comment (a comment marker inside a string stays). */
function codeOf(text: string, hash: boolean): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (hash ? ch === '#' : ch === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))
      return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** Brackets outside strings are balanced on this code. */
function balanced(code: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | null = null;
  for (let i = 0; i < code.length; i++) {
    const ch = code[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0 && quote === null;
}

/**
 * For files without a grammar here: blanks the line when it holds exactly one whole assertion
 * statement: it starts with an assertion call, its brackets balance, and neither the line
 * before nor the one after continues it. Comments (`//` or `#` by the file's language) are not
 * code: a commented-out assertion is left alone, a trailing comment does not count.
 */
function weakenLineFallback(file: string, source: string, line: number): string | null {
  const lines = source.split('\n');
  const text = lines[line - 1];
  if (text === undefined) return null;
  const hash = HASH_COMMENTS.test(file);
  const code = codeOf(text, hash).trim();
  if (/^(\*|\/\*|<!--)/.test(code)) return null;
  if (!LINE_ASSERTION.test(`${code} `) && !LINE_ASSERT_CLASS.test(code)) return null;
  if (!balanced(code) || /[,([{+\-*/=&|\\.:]$/.test(code.replace(/;$/, ''))) return null;
  const neighbour = (step: number): string => {
    for (let i = line - 1 + step; i >= 0 && i < lines.length; i += step) {
      const c = codeOf(lines[i]!, hash).trim();
      if (c && !/^(\*|\/\*)/.test(c)) return c;
    }
    return '';
  };
  const before = neighbour(-1);
  const after = neighbour(1);
  // Inside an argument list or an expression, or maybe the only statement of a block that may
  // not be empty (an indented block, a Swift case).
  if (/([,([+\-*/=&|\\.:]|->|=>)$/.test(before)) return null;
  if (/^(\.|\?\.|\)|\]|\+|-(?!-)|&&|\|\||,|\?|:(?!:))/.test(after)) return null;
  lines[line - 1] = '';
  return lines.join('\n');
}

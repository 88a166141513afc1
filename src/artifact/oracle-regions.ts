/**
 * Inline tests as oracle *regions* of a source file.
 *
 * In Rust most unit tests live in the file they test (`#[cfg(test)] mod tests { ... }`), and
 * Python doctests live in docstrings. Such a file holds code under test *and* tests, so it can
 * be neither a whole oracle file nor plain code. A line `<path>#inline-tests` in
 * test_files.txt says: the inline-test regions of that file are oracle, the rest is code.
 * (A plain path keeps meaning "the whole file is oracle"; when a file is listed both ways the
 * plain path wins.)
 *
 * The regions, from the file's syntax tree (tree-sitter, `parseFile`):
 * - Rust: every item (at the top level, in a `mod` body, or in an `impl`/`trait` body) that
 *   carries `#[cfg(test)]` or `#[cfg(all(..., test, ...))]` (as an outer attribute, or as the
 *   inner `#![cfg(test)]` of a module), attributes and comments between them included; and
 *   every function outside such items carrying `#[test]` (or an attribute path ending in
 *   `::test`, e.g. `#[tokio::test]`). A file whose own inner attributes say `#![cfg(test)]` is
 *   one region as a whole. `cfg(any(test, ...))`, `cfg(not(test))` and `cfg_attr` are code.
 * - Python: every docstring (the string literal that is the first statement of the module, a
 *   class or a function) that has a `>>>` line.
 * Regions are matched between two versions of a file by key: the Rust item's kind and
 * qualified name (`mod tests`, `fn outer::parses`, `impl Foo for Bar`), the Python docstring's
 * owner (`docstring of Foo.bar`, `docstring of <module>`); equal keys pair up in order.
 *
 * Reset (before every grading, as whole oracle files are restored): the regions of the current
 * file are replaced by the original's, matched by key then order, whatever the current item
 * is now (a `mod tests` that lost its `#[cfg(test)]` is still replaced); regions the current
 * file has and the original lacks are removed (a Python docstring becomes `""`); regions only
 * in the original are put back at their place (after the item that preceded them in the
 * original, at the start of their container, or in their owner's body), or appended at the end
 * of the file when that place is gone. Text outside regions keeps its current content. A file
 * that does not parse (or is gone) falls back whole to a fallback content: the original, or at
 * grading the file as the solver received it with its regions reset, so that breaking the
 * syntax never gives back the code of the original (which would undo a bug in that file).
 *
 * Check 1: `bug_inject.diff` may change such a file only outside its regions, and
 * `test_weaken.diff` only inside them, in the original's line numbers: no removed line inside
 * (resp. outside) a region span, no insertion strictly inside (resp. outside) one. Neither may
 * create, delete, rename or change the mode of the file.
 */
import { languageOf, type ParsedFile, parseFile, type SyntaxNode } from '../inject/ast.js';
import type { Sandbox } from '../sandbox/types.js';
import { type FilePatch, parsePatch, touchedPaths } from './patch.js';

export const INLINE_TESTS_SUFFIX = '#inline-tests';

/** One line of test_files.txt. */
export interface OracleEntry {
  path: string;
  /** True for `<path>#inline-tests`: only the file's inline-test regions are oracle. */
  inline: boolean;
}

export function parseOracleEntry(line: string): OracleEntry {
  return line.endsWith(INLINE_TESTS_SUFFIX)
    ? { path: line.slice(0, -INLINE_TESTS_SUFFIX.length), inline: true }
    : { path: line, inline: false };
}

/** The test_files.txt line of an inline-test entry. */
export function inlineTestsEntry(path: string): string {
  return `${path}${INLINE_TESTS_SUFFIX}`;
}

/** The entries of test_files.txt, one per path (a plain path wins over `#inline-tests`). */
export function oracleEntries(testFiles: readonly string[]): OracleEntry[] {
  const byPath = new Map<string, OracleEntry>();
  for (const line of testFiles) {
    const e = parseOracleEntry(line);
    const known = byPath.get(e.path);
    if (!known || (known.inline && !e.inline)) byPath.set(e.path, e);
  }
  return [...byPath.values()];
}

/** Paths that are oracle as a whole. */
export function wholeOraclePaths(testFiles: readonly string[]): Set<string> {
  return new Set(
    oracleEntries(testFiles)
      .filter((e) => !e.inline)
      .map((e) => e.path),
  );
}

/** Paths whose inline-test regions only are oracle, sorted. */
export function inlineOraclePaths(testFiles: readonly string[]): string[] {
  return oracleEntries(testFiles)
    .filter((e) => e.inline)
    .map((e) => e.path)
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Finding regions

export interface InlineTestRegion {
  /** For messages: "mod tests", "fn outer::parses", "docstring of Foo.bar". */
  label: string;
  /** Offsets in the source (UTF-16 code units), end exclusive. */
  start: number;
  end: number;
  /** 1-based lines of the first and last character. */
  startLine: number;
  endLine: number;
  text: string;
}

/** Why a file's regions cannot be computed (unsupported language, syntax errors). */
export class InlineTestsError extends Error {}

/** A matchable unit of a file: a Rust item or a Python docstring; regions are some of them. */
interface Slot extends InlineTestRegion {
  key: string;
  region: boolean;
  /** Rust: the enclosing module path ('' at the top); Python: the owner key. */
  container: string;
  /** Python: which of the owners of this name (0: the first) holds the docstring. */
  ordinal: number;
  /** Rust: the item before this one in the same container. */
  prev: Slot | null;
}

interface Analysis {
  language: 'rust' | 'python';
  slots: Slot[];
  /**
   * Where a region with no anchor goes: Rust, the start of each container's items (after a
   * mod's `{`, or the first top-level item); Python, each owner's first statement, by owner
   * key (several for a repeated name, in order).
   */
  starts: Map<string, { at: number; indent: string; ownLine: boolean }[]>;
  /** A file that is one region as a whole (`#![cfg(test)]` at the top of a Rust file). */
  wholeFile: boolean;
}

const lineStartOf = (src: string, offset: number) => src.lastIndexOf('\n', offset - 1) + 1;

/** The whitespace before `offset` on its line, or null when something else precedes it. */
function indentBefore(src: string, offset: number): string | null {
  const before = src.slice(lineStartOf(src, offset), offset);
  return /^[ \t]*$/.test(before) ? before : null;
}

function slotOf(
  src: string,
  start: number,
  end: number,
  startLine: number,
  endLine: number,
  rest: Pick<Slot, 'key' | 'label' | 'region' | 'container' | 'ordinal' | 'prev'>,
): Slot {
  return { ...rest, start, end, startLine, endLine, text: src.slice(start, end) };
}

/** `cfg(test)`, `cfg(all(..., test, ...))`: the item exists only in test builds. */
export function isTestOnlyCfg(attribute: string): boolean {
  const m = /^cfg\((.*)\)$/s.exec(attribute.replace(/\s+/g, ''));
  return !!m && testOnlyPredicate(m[1]!);
}

function testOnlyPredicate(p: string): boolean {
  if (p === 'test') return true;
  const all = /^all\((.*)\)$/s.exec(p);
  return !!all && splitTopLevel(all[1]!).some(testOnlyPredicate);
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.filter(Boolean);
}

/** `test`, `tokio::test`: an attribute that makes a function a test. */
function isTestAttribute(attribute: string): boolean {
  return /^(?:[A-Za-z_][A-Za-z0-9_]*::)*test$/.test(attribute.replace(/\s+/g, ''));
}

/** The body of `#[...]` / `#![...]`. */
function attributeBody(src: string, node: SyntaxNode): string {
  return src
    .slice(node.start, node.end)
    .replace(/^#!?\s*\[/, '')
    .replace(/\]\s*$/, '');
}

const RUST_CONTAINERS = new Set(['mod_item', 'impl_item', 'trait_item']);
const RUST_KINDS: Record<string, string> = {
  function_item: 'fn',
  function_signature_item: 'fn',
  extern_crate_declaration: 'extern crate',
  const_item: 'const',
  static_item: 'static',
  macro_definition: 'macro_rules!',
  type_item: 'type',
};

/** Outer doc comments (three slashes, slash-star-star) document the next item, as `#[doc]` does. */
function isOuterDoc(src: string, node: SyntaxNode): boolean {
  const t = src.slice(node.start, node.start + 4);
  return /^\/\/\/(?!\/)/.test(t) || /^\/\*\*(?![*/])/.test(t);
}

function rustName(src: string, item: SyntaxNode): { kind: string; name: string } {
  const field = (f: string) => {
    const n = item.children.find((c) => c.field === f);
    return n ? src.slice(n.start, n.end).replace(/\s+/g, ' ') : '';
  };
  const kind = RUST_KINDS[item.type] ?? item.type.replace(/_(item|declaration|definition)$/, '');
  if (item.type === 'impl_item') {
    const trait = field('trait');
    return { kind: 'impl', name: `${trait ? `${trait} for ` : ''}${field('type')}` };
  }
  if (item.type === 'use_declaration') return { kind: 'use', name: field('argument') };
  if (item.type === 'expression_statement' || item.type === 'macro_invocation') {
    const call = item.type === 'macro_invocation' ? item : item.children.find((c) => c.named);
    const mac = call?.children.find((c) => c.field === 'macro');
    return { kind: 'macro', name: mac ? `${src.slice(mac.start, mac.end)}!` : '?' };
  }
  const name = field('name');
  return { kind, name: name || '?' };
}

function analyzeRust(parsed: ParsedFile): Analysis {
  const src = parsed.source;
  const slots: Slot[] = [];
  const starts: Analysis['starts'] = new Map();
  const innerTestOnly = (list: SyntaxNode | undefined) =>
    !!list?.children.some(
      (c) => c.type === 'inner_attribute_item' && isTestOnlyCfg(attributeBody(src, c)),
    );
  const wholeFile = innerTestOnly(parsed.root);
  const walk = (list: SyntaxNode, container: string) => {
    let attrs: SyntaxNode[] = [];
    let prev: Slot | null = null;
    let first = true;
    for (const c of list.children) {
      if (!c.named || c.type === 'inner_attribute_item') continue;
      const comment = c.type === 'line_comment' || c.type === 'block_comment';
      // A plain comment is part of an item only between its attributes (or doc comments).
      if (comment && !(isOuterDoc(src, c) || attrs.length)) continue;
      if (first) {
        // Items of a module body start after its `{` (and any inner attributes), top-level
        // ones where the first item (or its first attribute) is.
        const at = list.type === 'source_file' ? c.start : list.start + 1;
        starts.set(container, [{ at, indent: indentBefore(src, c.start) ?? '', ownLine: true }]);
        first = false;
      }
      if (c.type === 'attribute_item' || comment) {
        attrs.push(c);
        continue;
      }
      const bodies = attrs
        .filter((a) => a.type === 'attribute_item')
        .map((a) => attributeBody(src, a));
      const body = c.children.find((x) => x.field === 'body');
      const testOnly =
        bodies.some(isTestOnlyCfg) ||
        (c.type === 'mod_item' && innerTestOnly(body)) ||
        (c.type === 'function_item' && bodies.some(isTestAttribute));
      const { kind, name } = rustName(src, c);
      const qualified = container ? `${container}::${name}` : name;
      const start = attrs[0]?.start ?? c.start;
      const startLine = attrs[0]?.startLine ?? c.startLine;
      const slot = slotOf(src, start, c.end, startLine, c.endLine, {
        key: `${kind} ${qualified}`,
        label: `${kind} ${qualified}`,
        region: testOnly,
        container,
        ordinal: 0,
        prev,
      });
      slots.push(slot);
      prev = slot;
      attrs = [];
      if (!testOnly && RUST_CONTAINERS.has(c.type) && body?.type === 'declaration_list') {
        walk(
          body,
          c.type === 'impl_item' ? `${container ? `${container}::` : ''}impl ${name}` : qualified,
        );
      }
    }
    if (first)
      starts.set(container, [
        {
          at: list.type === 'source_file' ? src.length : list.start + 1,
          indent: '',
          ownLine: true,
        },
      ]);
  };
  if (!wholeFile) walk(parsed.root, '');
  return { language: 'rust', slots, starts, wholeFile };
}

const DOCTEST_LINE = /^[ \t]*>>>(?: |$)/m;

function analyzePython(parsed: ParsedFile): Analysis {
  const src = parsed.source;
  const slots: Slot[] = [];
  const starts: Analysis['starts'] = new Map();
  const visit = (owner: string, block: SyntaxNode | undefined) => {
    const label = `docstring of ${owner}`;
    const stmts = (block?.children ?? []).filter((c) => c.named && c.type !== 'comment');
    const first = stmts[0];
    const list = starts.get(label) ?? [];
    // Owners of the same name (a function defined twice) pair up in order.
    const key = list.length ? `${label} #${list.length + 1}` : label;
    const indent = first ? indentBefore(src, first.start) : null;
    list.push({
      at: first?.start ?? block?.end ?? src.length,
      indent: indent ?? '',
      ownLine: !!first && indent !== null,
    });
    starts.set(label, list);
    if (first?.type !== 'expression_statement') return;
    const named = first.children.filter((c) => c.named);
    const str = named.length === 1 ? named[0]! : null;
    if (!str || (str.type !== 'string' && str.type !== 'concatenated_string')) return;
    // f-strings and bytes are not docstrings.
    const prefix = /^[A-Za-z]*/.exec(src.slice(str.start, str.end))![0];
    if (/[fFbB]/.test(prefix)) return;
    const text = src.slice(first.start, first.end);
    slots.push(
      slotOf(src, first.start, first.end, first.startLine, first.endLine, {
        key,
        label,
        region: DOCTEST_LINE.test(text.replace(/^[A-Za-z]*("""|'''|"|')/, '')),
        container: label,
        ordinal: list.length - 1,
        prev: null,
      }),
    );
  };
  visit('<module>', parsed.root);
  const walk = (node: SyntaxNode, scope: string[]) => {
    for (const c of node.children) {
      if (c.type === 'function_definition' || c.type === 'class_definition') {
        const nameNode = c.children.find((x) => x.field === 'name');
        const name = nameNode ? src.slice(nameNode.start, nameNode.end) : '?';
        const body = c.children.find((x) => x.field === 'body');
        visit([...scope, name].join('.'), body);
        if (body) walk(body, [...scope, name]);
      } else if (c.named) {
        walk(c, scope);
      }
    }
  };
  walk(parsed.root, []);
  return { language: 'python', slots, starts, wholeFile: false };
}

async function analyze(path: string, source: string): Promise<Analysis> {
  const lang = languageOf(path);
  if (lang !== 'rust' && lang !== 'python') {
    throw new InlineTestsError(
      `${path}: inline-test regions are defined for Rust (.rs) and Python (.py) files only`,
    );
  }
  const parsed = await parseFile(path, source);
  if (!parsed) throw new InlineTestsError(`${path}: no grammar`);
  if (parsed.hasErrors) {
    throw new InlineTestsError(`${path} does not parse (syntax errors): no inline-test regions`);
  }
  return lang === 'rust' ? analyzeRust(parsed) : analyzePython(parsed);
}

/**
 * The inline-test regions of a file, in source order. Throws InlineTestsError for a language
 * without regions or a file with syntax errors.
 */
export async function findInlineTestRegions(
  path: string,
  source: string,
): Promise<InlineTestRegion[]> {
  const a = await analyze(path, source);
  if (a.wholeFile) {
    return [
      {
        label: 'the whole file (#![cfg(test)])',
        start: 0,
        end: source.length,
        startLine: 1,
        endLine: source.split('\n').length,
        text: source,
      },
    ];
  }
  return a.slots
    .filter((s) => s.region)
    .map(({ label, start, end, startLine, endLine, text }) => ({
      label,
      start,
      end,
      startLine,
      endLine,
      text,
    }));
}

/**
 * A cheap textual look (no parse) for discovery: could this file hold inline-test regions?
 * Rust: a line that starts with a test-only `#[cfg(...)]` or a `#[test]` attribute; Python: a
 * `>>>` line. False positives are possible (such a line inside a string); the validator's
 * check 1 refuses an entry whose file has no region.
 */
export function mayHaveInlineTests(path: string, source: string): boolean {
  const lang = languageOf(path);
  if (lang === 'python') return DOCTEST_LINE.test(source);
  if (lang !== 'rust') return false;
  for (const m of source.matchAll(/^[ \t]*#!?\[/gm)) {
    // The attribute's body, up to its matching bracket.
    let depth = 1;
    let i = m.index! + m[0].length;
    const from = i;
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === '[') depth++;
      else if (source[i] === ']') depth--;
    }
    const body = source.slice(from, i - 1);
    if (isTestOnlyCfg(body) || isTestAttribute(body)) return true;
  }
  return false;
}

/**
 * Does a pytest configuration section (the text of `[pytest]`, `[tool.pytest.ini_options]`,
 * `[tool:pytest]`) turn on doctests in modules (`--doctest-modules` in `addopts`)? Discovery
 * then lists the Python modules for which `mayHaveInlineTests` holds as `inlineTestsEntry`.
 */
export function pytestRunsDoctestModules(configSection: string): boolean {
  const m = /^addopts\s*=\s*((?:.*)(?:\n[ \t]+.*)*)/m.exec(configSection);
  return !!m && /(^|[\s"'[,])--doctest-modules(?=$|[\s"',\]])/.test(m[1]!);
}

// ---------------------------------------------------------------------------------------------
// Reset

export interface InlineResetResult {
  content: string;
  /** True when content differs from the current file. */
  changed: boolean;
  /** Set when the fallback was used: why the regions could not be reset one by one. */
  fellBack?: string;
}

interface Edit {
  start: number;
  end: number;
  text: string;
  seq: number;
}

/** Pairs slots of equal key in order. */
function pairSlots(original: Slot[], current: Slot[]): Map<Slot, Slot> {
  const byKey = new Map<string, Slot[]>();
  for (const c of current) {
    const list = byKey.get(c.key) ?? [];
    list.push(c);
    byKey.set(c.key, list);
  }
  const pairs = new Map<Slot, Slot>();
  const used = new Map<string, number>();
  for (const o of original) {
    const n = used.get(o.key) ?? 0;
    const c = byKey.get(o.key)?.[n];
    used.set(o.key, n + 1);
    if (c) pairs.set(o, c);
  }
  return pairs;
}

/**
 * The current file with its inline-test regions reset to the original's (see the module
 * comment). `fallback` (default: the original) is the whole content used when the current
 * file is missing (null) or does not parse.
 */
export async function resetInlineTests(
  path: string,
  original: string,
  current: string | null,
  opts: { fallback?: string } = {},
): Promise<InlineResetResult> {
  const fallback = opts.fallback ?? original;
  const fallBack = (why: string): InlineResetResult => ({
    content: fallback,
    changed: fallback !== current,
    fellBack: why,
  });
  if (current === null) return fallBack(`${path} is missing`);
  let O: Analysis;
  let C: Analysis;
  try {
    O = await analyze(path, original);
  } catch (err) {
    return fallBack(`the original: ${(err as Error).message}`);
  }
  try {
    C = await analyze(path, current);
  } catch (err) {
    return fallBack((err as Error).message);
  }
  if (O.wholeFile || C.wholeFile) {
    return O.wholeFile
      ? { content: original, changed: original !== current }
      : fallBack(`${path} became a test-only file (#![cfg(test)])`);
  }
  const pairs = pairSlots(O.slots, C.slots);
  const paired = new Set(pairs.values());
  const edits: Edit[] = [];
  let seq = 0;
  const remove = (c: Slot) => {
    if (O.language === 'python') {
      // An empty docstring keeps the block valid (a body may consist of its docstring).
      edits.push({ start: c.start, end: c.end, text: '""', seq: seq++ });
      return;
    }
    // From the end of the line before, so that no blank line is left behind.
    const line = lineStartOf(current, c.start);
    const from = indentBefore(current, c.start) !== null ? Math.max(0, line - 1) : c.start;
    edits.push({ start: from, end: c.end, text: '', seq: seq++ });
  };
  for (const c of C.slots) if (c.region && !paired.has(c)) remove(c);
  for (const o of O.slots) {
    const c = pairs.get(o);
    if (c) {
      if (o.region && c.text !== o.text) {
        edits.push({ start: c.start, end: c.end, text: o.text, seq: seq++ });
      } else if (!o.region && c.region) remove(c);
      continue;
    }
    if (!o.region) continue;
    edits.push({ ...placeOf(o, original, current, O, C, pairs), seq: seq++ });
  }
  // Slots are disjoint, so edits are too; an insertion goes before a change starting at its
  // place. Guard anyway: an insertion inside a changed span falls back.
  const width = (e: Edit) => (e.end > e.start ? 1 : 0);
  edits.sort((a, b) => a.start - b.start || width(a) - width(b) || a.seq - b.seq);
  for (let i = 1; i < edits.length; i++) {
    if (edits[i]!.start < edits[i - 1]!.end) return fallBack(`${path}: overlapping region edits`);
  }
  let content = current;
  for (const e of [...edits].reverse()) {
    content = content.slice(0, e.start) + e.text + content.slice(e.end);
  }
  if (content !== current) {
    try {
      await analyze(path, content);
    } catch (err) {
      return fallBack(`the reset file: ${(err as Error).message}`);
    }
  }
  return { content, changed: content !== current };
}

/** Where a region the current file lacks goes back, as a zero-width edit. */
function placeOf(
  o: Slot,
  original: string,
  current: string,
  O: Analysis,
  C: Analysis,
  pairs: Map<Slot, Slot>,
): { start: number; end: number; text: string } {
  const append = () => {
    const sep = current.endsWith('\n') || current === '' ? '' : '\n';
    return { start: current.length, end: current.length, text: `${sep}\n${o.text}\n` };
  };
  const indent = indentBefore(original, o.start) ?? '';
  if (O.language === 'python') {
    const owner = C.starts.get(o.container)?.[o.ordinal];
    if (!owner) return append();
    const text = owner.ownLine ? `${o.text}\n${owner.indent}` : `${o.text}; `;
    return { start: owner.at, end: owner.at, text };
  }
  for (let p = o.prev; p; p = p.prev) {
    const anchor = pairs.get(p);
    if (!anchor) continue;
    // The original's blank space between them (without comments, which are the code's).
    const gap = original.slice(p.end, o.start);
    const sep = /^\s*$/.test(gap) ? gap : `${/\n[ \t]*\n/.test(gap) ? '\n\n' : '\n'}${indent}`;
    return { start: anchor.end, end: anchor.end, text: `${sep}${o.text}` };
  }
  if (o.prev) return append();
  // The first item of its container: at the container's start, if the container is still there.
  const at = C.starts.get(o.container)?.[0];
  if (!at) return append();
  if (o.container === '') {
    const next = O.slots.find((s) => s.prev === o);
    const gap = next ? original.slice(o.end, next.start) : '\n';
    return { start: at.at, end: at.at, text: `${o.text}${/\n[ \t]*\n/.test(gap) ? '\n\n' : '\n'}` };
  }
  return { start: at.at, end: at.at, text: `\n${indent}${o.text}` };
}

/** The regions' keys and texts, to tell whether two versions differ in their tests. */
async function regionsFingerprint(path: string, source: string | null): Promise<string | null> {
  if (source === null) return null;
  try {
    return JSON.stringify(
      (await findInlineTestRegions(path, source)).map((r) => [r.label, r.text]),
    );
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Check 1: diff scope

function inRegion(regions: InlineTestRegion[], line: number): InlineTestRegion | undefined {
  return regions.find((r) => r.startLine <= line && line <= r.endLine);
}

/** An insertion after line `after` is strictly inside a region when both neighbours are in it. */
function insertionInRegion(
  regions: InlineTestRegion[],
  after: number,
): InlineTestRegion | undefined {
  return regions.find((r) => r.startLine <= after && after + 1 <= r.endLine);
}

/**
 * Check 1 for files with inline oracle tests: problems (one per file) when `bug_inject.diff`
 * changes a region or `test_weaken.diff` changes text outside the regions. `regions` maps each
 * inline-oracle path to the regions of its original content. Diffs are read in the original's
 * line numbers.
 */
export function inlineScopeProblems(
  label: 'bug_inject.diff' | 'test_weaken.diff',
  files: FilePatch[],
  regions: Map<string, InlineTestRegion[]>,
): string[] {
  const problems: string[] = [];
  const bug = label === 'bug_inject.diff';
  const spans = (rs: InlineTestRegion[]) =>
    rs.map((r) => `${r.label}, lines ${r.startLine}-${r.endLine}`).join('; ');
  for (const f of files) {
    const path = touchedPaths([f]).find((p) => regions.has(p));
    if (path === undefined) continue;
    const rs = regions.get(path)!;
    if (f.oldPath !== f.newPath || f.rename || f.copy || f.oldMode || f.newMode || f.binary) {
      problems.push(
        `${label} ${f.oldPath === null ? 'creates' : f.newPath === null ? 'deletes' : 'renames, copies or changes the mode of'} ${path}, which holds inline oracle tests (test_files.txt: ${inlineTestsEntry(path)})`,
      );
      continue;
    }
    const problem = (() => {
      for (const h of f.hunks) {
        let old = h.oldLines === 0 ? h.oldStart + 1 : h.oldStart;
        for (const l of h.lines) {
          const c = l[0];
          if (c === '\\') continue;
          if (c === '+') {
            const r = insertionInRegion(rs, old - 1);
            if (bug && r) {
              return `${label} inserts lines after line ${old - 1} of ${path}, inside its inline tests (${r.label}, lines ${r.startLine}-${r.endLine}): the bug must stay in the code part`;
            }
            if (!bug && !r) {
              return `${label} inserts lines after line ${old - 1} of ${path}, outside its inline tests (${spans(rs)}): it may change only the tests`;
            }
            continue;
          }
          if (c === '-') {
            const r = inRegion(rs, old);
            if (bug && r) {
              return `${label} changes line ${old} of ${path}, inside its inline tests (${r.label}, lines ${r.startLine}-${r.endLine}): the bug must stay in the code part`;
            }
            if (!bug && !r) {
              return `${label} changes line ${old} of ${path}, outside its inline tests (${spans(rs)}): it may change only the tests`;
            }
          }
          old++;
        }
      }
      return null;
    })();
    if (problem) problems.push(problem);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Sandbox helpers for the grading sites

/** The sections of a diff whose paths satisfy `keep`, as one diff ('' for none). */
export function patchSections(
  diff: string,
  label: string,
  keep: (paths: string[]) => boolean,
): string {
  if (!diff.trim()) return '';
  return parsePatch(diff, label)
    .filter((f) => keep(touchedPaths([f])))
    .map((f) => f.raw)
    .join('');
}

/** Text content of files in a sandbox (null: absent). */
export async function readTexts(
  sb: Sandbox,
  paths: readonly string[],
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const p of paths) out.set(p, (await sb.readFile(p))?.toString('utf8') ?? null);
  return out;
}

/**
 * Resets the inline-test regions of files in a sandbox after a patch was applied: each file's
 * regions become those of `originals`; a file that is gone or does not parse falls back to its
 * `start` content (the state the patch was made on) with the regions reset, so nothing the
 * patch did to that file survives. Returns the paths whose tests the patch had changed
 * (regions of the file after the patch differ from those at `start`).
 */
export async function restoreInlineTests(
  sb: Sandbox,
  originals: Map<string, string>,
  start: Map<string, string | null>,
): Promise<string[]> {
  const touched: string[] = [];
  for (const [path, original] of originals) {
    const now = (await sb.readFile(path))?.toString('utf8') ?? null;
    const before = start.get(path) ?? null;
    const fallback =
      before === null ? original : (await resetInlineTests(path, original, before)).content;
    const r = await resetInlineTests(path, original, now, { fallback });
    if (r.changed) await sb.writeFile(path, r.content);
    if (
      r.fellBack !== undefined ||
      (await regionsFingerprint(path, now)) !== (await regionsFingerprint(path, before))
    ) {
      if (now !== before) touched.push(path);
    }
  }
  return touched;
}

/**
 * Syntax trees for the procedural injectors, by tree-sitter (WebAssembly, no native build).
 *
 * tree-sitter and a grammar are loaded on first use (a few MB of wasm each), once per process.
 * A file is parsed once into a plain JavaScript mirror of its tree (`SyntaxNode`): generators
 * walk it freely without holding wasm memory, and the wasm tree is freed at once.
 * Offsets are UTF-16 code units, as in JavaScript strings; lines are 1-based.
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type { Tree, Language as TSLanguage, Parser as TSParser } from 'web-tree-sitter';
import type { FunctionSpan } from './types.js';

export type LanguageId =
  | 'javascript'
  | 'typescript'
  | 'tsx'
  | 'python'
  | 'go'
  | 'rust'
  | 'java'
  | 'c'
  | 'cpp'
  | 'ruby';

const BY_EXTENSION: Record<string, LanguageId> = {
  '.js': 'javascript',
  '.cjs': 'javascript',
  '.mjs': 'javascript',
  '.jsx': 'javascript',
  '.ts': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.tsx': 'tsx',
  '.py': 'python',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.c': 'c',
  '.h': 'c',
  '.cc': 'cpp',
  '.cpp': 'cpp',
  '.cxx': 'cpp',
  '.hpp': 'cpp',
  '.hh': 'cpp',
  '.hxx': 'cpp',
  '.rb': 'ruby',
};

/**
 * The grammar file of a language. C has no grammar of its own in @vscode/tree-sitter-wasm: the
 * C++ grammar parses C (a C file is valid C++ syntax save for rare keywords used as names).
 */
const GRAMMAR: Record<LanguageId, string> = {
  javascript: 'javascript',
  typescript: 'typescript',
  tsx: 'tsx',
  python: 'python',
  go: 'go',
  rust: 'rust',
  java: 'java',
  c: 'cpp',
  cpp: 'cpp',
  ruby: 'ruby',
};

/** The grammar for a file name, or null when the injectors do not handle it. */
export function languageOf(file: string): LanguageId | null {
  if (/\.d\.[cm]?ts$/.test(file)) return null; // declarations only: nothing to break
  return BY_EXTENSION[extname(file).toLowerCase()] ?? null;
}

export function isJavaScriptLike(lang: LanguageId): boolean {
  return lang === 'javascript' || lang === 'typescript' || lang === 'tsx';
}

// ---------------------------------------------------------------------------------------------
// Loading

const require = createRequire(import.meta.url);
let runtime: Promise<typeof import('web-tree-sitter')> | undefined;
const parsers = new Map<LanguageId, Promise<TSParser>>();

function loadRuntime(): Promise<typeof import('web-tree-sitter')> {
  runtime ??= (async () => {
    const mod = await import('web-tree-sitter');
    await mod.Parser.init();
    return mod;
  })();
  return runtime;
}

/** A parser for `lang`, loading tree-sitter and the grammar on first use. */
function parserFor(lang: LanguageId): Promise<TSParser> {
  let p = parsers.get(lang);
  if (!p) {
    p = (async () => {
      const { Parser, Language } = await loadRuntime();
      const wasm = require.resolve(
        `@vscode/tree-sitter-wasm/wasm/tree-sitter-${GRAMMAR[lang]}.wasm`,
      );
      const language: TSLanguage = await Language.load(wasm);
      const parser = new Parser();
      parser.setLanguage(language);
      return parser;
    })();
    // A failed load is not cached: the next call tries again.
    p.catch(() => parsers.delete(lang));
    parsers.set(lang, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// The tree mirror

export interface SyntaxNode {
  type: string;
  /** Named nodes are grammar rules; anonymous ones are tokens such as "<" or "if". */
  named: boolean;
  /** Offsets in the source (UTF-16 code units), end exclusive. */
  start: number;
  end: number;
  /** 1-based lines of the first and last character. */
  startLine: number;
  endLine: number;
  /** This node's field name in its parent (e.g. 'body', 'condition', 'operator'), if any. */
  field: string | null;
  parent: SyntaxNode | null;
  children: SyntaxNode[];
  /** ERROR node or a token the parser had to invent. */
  error: boolean;
}

export interface ParsedFile {
  file: string;
  language: LanguageId;
  source: string;
  root: SyntaxNode;
  /** True when the source has syntax errors (generators then leave the file alone). */
  hasErrors: boolean;
  /** The tree-sitter tree, only with `keepTree` (wasm memory: `editChecker` frees it). */
  tree?: Tree;
}

function mirror(tree: Tree): { root: SyntaxNode; hasErrors: boolean } {
  const cursor = tree.walk();
  try {
    const make = (parent: SyntaxNode | null): SyntaxNode => ({
      type: cursor.nodeType,
      named: cursor.nodeIsNamed,
      start: cursor.startIndex,
      end: cursor.endIndex,
      startLine: cursor.startPosition.row + 1,
      endLine: cursor.endPosition.row + 1,
      field: cursor.currentFieldName,
      parent,
      children: [],
      error: cursor.nodeType === 'ERROR' || cursor.nodeIsMissing,
    });
    const root = make(null);
    let hasErrors = root.error;
    // Iterative depth-first walk: deep trees must not overflow the stack.
    let node = root;
    for (;;) {
      if (cursor.gotoFirstChild()) {
        const child = make(node);
        node.children.push(child);
        node = child;
      } else {
        for (;;) {
          if (node.parent === null) return { root, hasErrors };
          if (cursor.gotoNextSibling()) {
            const sib = make(node.parent);
            node.parent.children.push(sib);
            node = sib;
            break;
          }
          cursor.gotoParent();
          node = node.parent;
        }
      }
      if (node.error) hasErrors = true;
    }
  } finally {
    cursor.delete();
  }
}

/**
 * Parses `source` as the language of `file`; null when the extension is not supported. With
 * `keepTree` the wasm tree stays in `tree` for `editChecker`, which frees it.
 */
export async function parseFile(
  file: string,
  source: string,
  opts: { keepTree?: boolean } = {},
): Promise<ParsedFile | null> {
  const language = languageOf(file);
  if (!language) return null;
  const parser = await parserFor(language);
  const tree = parser.parse(source);
  if (!tree) throw new Error(`tree-sitter could not parse ${file}`);
  let keep = false;
  try {
    const { root, hasErrors } = mirror(tree);
    const parsed: ParsedFile = {
      file,
      language,
      source,
      root,
      hasErrors: hasErrors || tree.rootNode.hasError,
    };
    if (opts.keepTree && !parsed.hasErrors) {
      parsed.tree = tree;
      keep = true;
    }
    return parsed;
  } finally {
    if (!keep) tree.delete();
  }
}

/**
 * A synchronous syntax check for a language already loaded by `parseFile`: true when `source`
 * parses without ERROR or MISSING nodes.
 */
export async function syntaxChecker(lang: LanguageId): Promise<(source: string) => boolean> {
  const parser = await parserFor(lang);
  return (source) => {
    const tree = parser.parse(source);
    if (!tree) return false;
    try {
      return !tree.rootNode.hasError;
    } finally {
      tree.delete();
    }
  };
}

/**
 * Checks many one-replacement edits of one source quickly: each edited text is re-parsed
 * incrementally from the original tree (tree-sitter reuses every subtree the edit did not
 * touch), which gives the same tree as a full parse at a fraction of the cost. `check`
 * returns true when the edited source has no ERROR or MISSING nodes. Uses (and frees) the
 * tree `parseFile(..., { keepTree: true })` kept, else parses once. Call `dispose` at the end.
 */
export async function editChecker(
  parsed: ParsedFile,
): Promise<{ check(start: number, end: number, text: string): boolean; dispose(): void }> {
  const { source } = parsed;
  const parser = await parserFor(parsed.language);
  const base = parsed.tree ?? parser.parse(source);
  parsed.tree = undefined;
  if (!base) throw new Error(`tree-sitter could not parse ${parsed.file}`);
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1))
    lineStarts.push(i + 1);
  const pointAt = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { row: lo, column: offset - lineStarts[lo]! };
  };
  return {
    check(start, end, text) {
      const edited = source.slice(0, start) + text + source.slice(end);
      const startPosition = pointAt(start);
      const nl = text.lastIndexOf('\n');
      const newEndPosition =
        nl < 0
          ? { row: startPosition.row, column: startPosition.column + text.length }
          : { row: startPosition.row + text.split('\n').length - 1, column: text.length - nl - 1 };
      const old = base.copy();
      let tree: Tree | null = null;
      try {
        old.edit({
          startIndex: start,
          oldEndIndex: end,
          newEndIndex: start + text.length,
          startPosition,
          oldEndPosition: pointAt(end),
          newEndPosition,
        });
        tree = parser.parse(edited, old);
        return !!tree && !tree.rootNode.hasError;
      } finally {
        tree?.delete();
        old.delete();
      }
    },
    dispose: () => base.delete(),
  };
}

export async function parsesCleanly(file: string, source: string): Promise<boolean> {
  const lang = languageOf(file);
  if (!lang) throw new Error(`no grammar for ${file}`);
  return (await syntaxChecker(lang))(source);
}

// ---------------------------------------------------------------------------------------------
// Tree helpers

/** Every node under `root` (root first, then depth-first in source order). */
export function* descendants(root: SyntaxNode): Generator<SyntaxNode> {
  const stack: SyntaxNode[] = [root];
  while (stack.length) {
    const n = stack.pop()!;
    yield n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
}

export function childByField(node: SyntaxNode, field: string): SyntaxNode | undefined {
  return node.children.find((c) => c.field === field);
}

/** Comments: `comment` in most grammars, `line_comment` / `block_comment` in Rust and Java. */
export function isComment(node: SyntaxNode): boolean {
  return node.type === 'comment' || node.type.endsWith('_comment');
}

/** Named children that are not comments. */
export function namedChildren(node: SyntaxNode): SyntaxNode[] {
  return node.children.filter((c) => c.named && !isComment(c));
}

export function textOf(source: string, node: SyntaxNode): string {
  return source.slice(node.start, node.end);
}

export function hasAncestor(node: SyntaxNode, test: (n: SyntaxNode) => boolean): boolean {
  for (let p = node.parent; p; p = p.parent) if (test(p)) return true;
  return false;
}

/** 1-based line of an offset. */
export function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i >= 0 && i < offset; i = source.indexOf('\n', i + 1)) line++;
  return line;
}

// ---------------------------------------------------------------------------------------------
// Functions and methods

const JS_FUNCTIONS = new Set([
  'function_declaration',
  'generator_function_declaration',
  'function_expression',
  'function',
  'generator_function',
  'arrow_function',
  'method_definition',
]);

/**
 * Function and method node types by language. Closures and lambdas of the compiled languages
 * are left out: they have no name, and their bodies are parts of the enclosing function.
 */
const FUNCTIONS: Record<LanguageId, ReadonlySet<string>> = {
  javascript: JS_FUNCTIONS,
  typescript: JS_FUNCTIONS,
  tsx: JS_FUNCTIONS,
  python: new Set(['function_definition']),
  go: new Set(['function_declaration', 'method_declaration']),
  rust: new Set(['function_item']),
  java: new Set([
    'method_declaration',
    'constructor_declaration',
    'compact_constructor_declaration',
  ]),
  c: new Set(['function_definition']),
  cpp: new Set(['function_definition']),
  ruby: new Set(['method', 'singleton_method']),
};

/** Nodes that qualify the names of the functions inside them (classes, modules, impls...). */
const JS_CLASSES = new Set(['class_declaration', 'class', 'abstract_class_declaration']);
const CONTAINERS: Record<LanguageId, ReadonlySet<string>> = {
  javascript: JS_CLASSES,
  typescript: JS_CLASSES,
  tsx: JS_CLASSES,
  python: new Set(['class_definition']),
  go: new Set(),
  rust: new Set(['impl_item', 'trait_item', 'mod_item']),
  java: new Set([
    'class_declaration',
    'interface_declaration',
    'enum_declaration',
    'record_declaration',
    'annotation_type_declaration',
  ]),
  c: new Set(['class_specifier', 'struct_specifier', 'union_specifier', 'namespace_definition']),
  cpp: new Set(['class_specifier', 'struct_specifier', 'union_specifier', 'namespace_definition']),
  ruby: new Set(['class', 'module']),
};

/** A function or method with its syntax nodes. */
export interface FunctionInfo extends FunctionSpan {
  node: SyntaxNode;
  /**
   * statement_block / block / compound_statement / body_statement, or the expression of an
   * arrow function or an endless Ruby method; absent for signatures.
   */
  body: SyntaxNode | undefined;
}

export function isFunctionNode(lang: LanguageId, node: SyntaxNode): boolean {
  return node.named && FUNCTIONS[lang].has(node.type);
}

/**
 * The name node inside a C/C++ declarator chain (`*name(...)`, `ns::K::name(...)`,
 * `~K()`, `operator==(...)`): the innermost declarator.
 */
export function declaratorName(node: SyntaxNode): SyntaxNode | undefined {
  let d = childByField(node, 'declarator');
  while (d) {
    const inner = childByField(d, 'declarator');
    if (!inner) return d;
    d = inner;
  }
  return undefined;
}

/** The name a function is known by: its own, or that of what it is assigned to. */
function ownName(lang: LanguageId, source: string, fn: SyntaxNode): string {
  if (lang === 'c' || lang === 'cpp') {
    const d = declaratorName(fn);
    return d ? textOf(source, d).replace(/::/g, '.').replace(/\s+/g, '') : '<anonymous>';
  }
  const name = childByField(fn, 'name');
  if (name) {
    const own = textOf(source, name);
    if (lang === 'go' && fn.type === 'method_declaration') {
      const receiver = goReceiverType(source, fn);
      return receiver ? `${receiver}.${own}` : own;
    }
    return own;
  }
  const p = fn.parent;
  if (p) {
    const field =
      p.type === 'variable_declarator'
        ? childByField(p, 'name')
        : p.type === 'pair'
          ? childByField(p, 'key')
          : p.type === 'assignment_expression'
            ? childByField(p, 'left')
            : p.type === 'public_field_definition' || p.type === 'field_definition'
              ? (childByField(p, 'name') ?? childByField(p, 'property'))
              : undefined;
    if (field && field !== fn) return textOf(source, field);
  }
  return '<anonymous>';
}

/** `T` for a Go method `func (s *T[K]) Name()`. */
function goReceiverType(source: string, fn: SyntaxNode): string | undefined {
  const receiver = childByField(fn, 'receiver');
  const param = receiver && namedChildren(receiver).find((c) => c.type === 'parameter_declaration');
  const type = param && childByField(param, 'type');
  if (!type) return undefined;
  return textOf(source, type).replace(/^\*/, '').replace(/\[.*$/s, '').trim();
}

/** The name of a class, module, namespace or impl, null when it adds nothing (anonymous). */
function containerName(lang: LanguageId, source: string, node: SyntaxNode): string | null {
  if (lang === 'rust' && node.type === 'impl_item') {
    const type = childByField(node, 'type');
    return type ? textOf(source, type).replace(/<.*$/s, '').trim() : null;
  }
  const n = childByField(node, 'name');
  if (!n) return lang === 'c' || lang === 'cpp' ? null : '<class>';
  return textOf(source, n).replace(/::/g, '.');
}

/** Qualified name: enclosing classes and functions, outermost first, joined by '.'. */
function qualifiedName(lang: LanguageId, source: string, fn: SyntaxNode): string {
  const parts = [ownName(lang, source, fn)];
  for (let p = fn.parent; p; p = p.parent) {
    if (CONTAINERS[lang].has(p.type)) {
      const n = containerName(lang, source, p);
      if (n) parts.unshift(n);
    } else if (isFunctionNode(lang, p)) {
      parts.unshift(ownName(lang, source, p));
    }
  }
  return parts.join('.');
}

// ---------------------------------------------------------------------------------------------
// Rust unit tests

const RUST_TEST_ATTRIBUTE =
  /^#\[\s*(test|bench|rstest|quickcheck|proptest|test_case\b.*|[\w:]+::test\b.*|cfg\s*\((.*)\))\s*\]$/s;

/** True for `#[test]`, `#[tokio::test]`, `#[cfg(test)]`, `#[cfg(all(test, ...))]`... */
function isRustTestAttribute(text: string): boolean {
  const m = RUST_TEST_ATTRIBUTE.exec(text.trim());
  if (!m) return false;
  const cfg = m[2];
  if (cfg === undefined) return true;
  // cfg(test) and cfg(all(test, x)) but not cfg(not(test)).
  return /\btest\b/.test(cfg) && !/\bnot\s*\(\s*test\s*\)/.test(cfg);
}

/**
 * Rust unit tests live in the source files they test: items marked `#[cfg(test)]` (usually
 * `mod tests`), `#[test]` functions, and whole files under `#![cfg(test)]`. They are test code
 * (oracle territory), so the injectors never touch them. Returns a predicate on nodes.
 */
export function rustTestCode(parsed: ParsedFile): (node: SyntaxNode) => boolean {
  const { source, root } = parsed;
  if (parsed.language !== 'rust') return () => false;
  const regions: Array<[number, number]> = [];
  for (const c of root.children) {
    if (
      c.type === 'inner_attribute_item' &&
      isRustTestAttribute(textOf(source, c).replace('#!', '#'))
    ) {
      return () => true;
    }
  }
  for (const n of descendants(root)) {
    if (n.type !== 'attribute_item' || !isRustTestAttribute(textOf(source, n))) continue;
    // The attribute applies to the next item (other attributes and comments may come between).
    const siblings = n.parent?.children ?? [];
    let i = siblings.indexOf(n) + 1;
    while (
      i < siblings.length &&
      /^(attribute_item|line_comment|block_comment)$/.test(siblings[i]!.type)
    )
      i++;
    const item = siblings[i];
    if (item) regions.push([n.start, item.end]);
  }
  if (regions.length === 0) return () => false;
  return (node) => regions.some(([s, e]) => node.start >= s && node.end <= e);
}

/** Functions and methods of a parsed file, in source order. */
export function functionsOf(parsed: ParsedFile): FunctionInfo[] {
  const out: FunctionInfo[] = [];
  for (const node of descendants(parsed.root)) {
    if (!isFunctionNode(parsed.language, node)) continue;
    out.push({
      file: parsed.file,
      name: qualifiedName(parsed.language, parsed.source, node),
      startLine: node.startLine,
      endLine: node.endLine,
      node,
      body: childByField(node, 'body'),
    });
  }
  return out;
}

/** Functions and methods (name, 1-based inclusive line range) of a source file. */
export async function listFunctions(file: string, source: string): Promise<FunctionSpan[]> {
  const parsed = await parseFile(file, source);
  if (!parsed) return [];
  return functionsOf(parsed).map(({ file, name, startLine, endLine }) => ({
    file,
    name,
    startLine,
    endLine,
  }));
}

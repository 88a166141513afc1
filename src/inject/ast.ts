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

export function namedChildren(node: SyntaxNode): SyntaxNode[] {
  return node.children.filter((c) => c.named && c.type !== 'comment');
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
const PY_FUNCTIONS = new Set(['function_definition']);
const CLASSES = new Set([
  'class_declaration',
  'class',
  'class_definition',
  'abstract_class_declaration',
]);

/** A function or method with its syntax nodes. */
export interface FunctionInfo extends FunctionSpan {
  node: SyntaxNode;
  /** statement_block / block, or the expression of an arrow function; absent for signatures. */
  body: SyntaxNode | undefined;
}

export function isFunctionNode(lang: LanguageId, node: SyntaxNode): boolean {
  return node.named && (lang === 'python' ? PY_FUNCTIONS : JS_FUNCTIONS).has(node.type);
}

/** The name a function is known by: its own, or that of what it is assigned to. */
function ownName(source: string, fn: SyntaxNode): string {
  const name = childByField(fn, 'name');
  if (name) return textOf(source, name);
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

/** Qualified name: enclosing classes and functions, outermost first, joined by '.'. */
function qualifiedName(lang: LanguageId, source: string, fn: SyntaxNode): string {
  const parts = [ownName(source, fn)];
  for (let p = fn.parent; p; p = p.parent) {
    if (CLASSES.has(p.type)) {
      const n = childByField(p, 'name');
      parts.unshift(n ? textOf(source, n) : '<class>');
    } else if (isFunctionNode(lang, p)) {
      parts.unshift(ownName(source, p));
    }
  }
  return parts.join('.');
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

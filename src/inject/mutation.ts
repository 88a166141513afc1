/**
 * Classic mutation operators (as in StrykerJS and mutmut), one small edit per candidate, on
 * JavaScript, TypeScript and Python syntax trees:
 *
 * - relational-boundary: `<` <-> `<=`, `>` <-> `>=`
 * - relational-swap: `<` -> `>=`, `<=` -> `>`, `==` <-> `!=`, `===` <-> `!==`,
 *   Python `in` <-> `not in`, `is` <-> `is not`
 * - arithmetic-swap: `+` <-> `-`, `*` <-> `/`, `%` -> `*`, `**` -> `*`, `//` -> `/`, the same
 *   in compound assignments (`+=` <-> `-=`...), `++` <-> `--`
 * - logical-swap: `&&` <-> `||`, `??` -> `&&`, `and` <-> `or`
 * - remove-negation: `!x` -> `x`, `not x` -> `x`
 * - negate-condition: the condition of an if / elif / while / do / ternary that is not already a
 *   comparison or a negation (those have their own operators) becomes `!(c)` / `not (c)`
 * - return-value: `return x` -> `return null` / `None` (`0` for arithmetic, `!(x)` / `not (x)`
 *   for logical combinations); returned literals are left to the literal operators
 * - literal-number: n -> n + 1 (decimal integers and plain decimals)
 * - literal-boolean: true <-> false, True <-> False
 * - literal-string: a non-empty string -> an empty one
 *
 * Removing a call statement is a removal operator ('remove-statement' in removal.ts), not here.
 *
 * Never mutated: comments and text inside strings (the tree only offers real tokens), type
 * annotations and declarations, import / export-from / require / dynamic import, docstrings and
 * directives ('use strict'), object and dict keys, messages of throw / raise, arguments of
 * logging calls, and the `if __name__ == "__main__"` guard.
 */
import {
  childByField,
  descendants,
  type LanguageId,
  namedChildren,
  type ParsedFile,
  parseFile,
  type SyntaxNode,
  textOf,
} from './ast.js';
import { LOGGING_CALLEE } from './removal.js';
import { finishCandidates, type GeneratorOptions, type RawCandidate, snippet } from './select.js';
import type { BugCandidate } from './types.js';

const BOUNDARY: Record<string, string> = { '<': '<=', '<=': '<', '>': '>=', '>=': '>' };
const RELATIONAL_SWAP: Record<string, string> = {
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
  '==': '!=',
  '!=': '==',
  '===': '!==',
  '!==': '===',
  in: 'not in',
  'not in': 'in',
  is: 'is not',
  'is not': 'is',
};
/** JavaScript has no `not in` / `is not`: `in` and `instanceof` are left alone. */
const JS_RELATIONAL = new Set(['<', '<=', '>', '>=', '==', '!=', '===', '!==']);
const ARITHMETIC: Record<string, string> = {
  '+': '-',
  '-': '+',
  '*': '/',
  '/': '*',
  '%': '*',
  '**': '*',
  '//': '/',
};
const COMPOUND: Record<string, string> = {
  '+=': '-=',
  '-=': '+=',
  '*=': '/=',
  '/=': '*=',
  '%=': '*=',
  '//=': '/=',
};
const LOGICAL: Record<string, string> = {
  '&&': '||',
  '||': '&&',
  '??': '&&',
  and: 'or',
  or: 'and',
};

/** Ancestors under which nothing is mutated. */
const JS_SKIP = new Set([
  'import_statement',
  'import_clause',
  'type_annotation',
  'type_alias_declaration',
  'interface_declaration',
  'type_arguments',
  'type_parameters',
  'ambient_declaration',
  'abstract_method_signature',
  'index_signature',
  'implements_clause',
  'extends_type_clause',
  'type_predicate_annotation',
  'asserts_annotation',
  'decorator',
]);
const PY_SKIP = new Set([
  'import_statement',
  'import_from_statement',
  'future_import_statement',
  'type',
  'type_alias_statement',
  'decorator',
]);

function isComparisonNode(lang: LanguageId, source: string, node: SyntaxNode): boolean {
  if (lang === 'python') return node.type === 'comparison_operator';
  if (node.type !== 'binary_expression') return false;
  const op = childByField(node, 'operator');
  return !!op && JS_RELATIONAL.has(textOf(source, op));
}

function unparenthesized(node: SyntaxNode): SyntaxNode {
  let n = node;
  while (n.type === 'parenthesized_expression') {
    const inner = namedChildren(n);
    if (inner.length !== 1) break;
    n = inner[0]!;
  }
  return n;
}

function isStringNode(n: SyntaxNode | undefined): boolean {
  return (
    !!n && (n.type === 'string' || n.type === 'template_string' || n.type === 'concatenated_string')
  );
}

class Context {
  private readonly skipCache = new Map<SyntaxNode, boolean>();
  constructor(private readonly parsed: ParsedFile) {}

  /** True when `node` lies where mutations make no sense (types, imports, ...). */
  skipped(node: SyntaxNode): boolean {
    const cached = this.skipCache.get(node);
    if (cached !== undefined) return cached;
    const result = node.parent
      ? this.skipsSubtree(node.parent) || this.skipped(node.parent)
      : false;
    this.skipCache.set(node, result);
    return result;
  }

  private skipsSubtree(n: SyntaxNode): boolean {
    const { source, language } = this.parsed;
    if (language === 'python') {
      if (PY_SKIP.has(n.type)) return true;
      if (n.type === 'if_statement') {
        const cond = childByField(n, 'condition');
        return !!cond && /^__name__\s*==\s*['"]__main__['"]$/.test(textOf(source, cond).trim());
      }
      if (n.type === 'call') {
        const callee = childByField(n, 'function');
        return !!callee && textOf(source, callee) === '__import__';
      }
      return false;
    }
    if (JS_SKIP.has(n.type) || /_type$/.test(n.type)) return true;
    if (n.type === 'export_statement') return !!childByField(n, 'source');
    if (n.type === 'call_expression') {
      const callee = childByField(n, 'function');
      if (!callee) return false;
      const name = textOf(source, callee);
      return name === 'require' || callee.type === 'import' || name === 'import';
    }
    return false;
  }
}

/** Candidates that mutate one source file. */
export async function mutationCandidates(
  file: string,
  source: string,
  opts: GeneratorOptions = {},
): Promise<BugCandidate[]> {
  const parsed = await parseFile(file, source, { keepTree: true });
  if (!parsed || parsed.hasErrors) return [];
  try {
    return await finishCandidates('mutation', parsed, rawMutations(parsed), opts);
  } finally {
    parsed.tree?.delete(); // only if an error came before the checker took it
  }
}

/** n + 1 for a decimal integer or plain decimal literal; null for anything else. */
export function incrementNumber(text: string): string | null {
  const m = /^(\d*)(\.\d+)?$/.exec(text);
  if (!m || text === '' || text === '.') return null;
  const int = m[1] ?? '';
  if (int.length > 15) return null;
  if (int.length > 1 && int.startsWith('0')) return null; // legacy octal in sloppy JS
  return String(Number(int || '0') + 1) + (m[2] ?? '');
}

/** Every mutation in a parsed file, before coverage, sampling and the syntax check. */
export function rawMutations(parsed: ParsedFile): RawCandidate[] {
  const { source, language, file } = parsed;
  const py = language === 'python';
  const ctx = new Context(parsed);
  const out: RawCandidate[] = [];
  const add = (operator: string, node: SyntaxNode, text: string, what: string) => {
    out.push({
      operator,
      description: `${what} (${file}:${node.startLine})`,
      edit: { start: node.start, end: node.end, text },
      line: node.startLine,
      probeLines: [node.startLine],
    });
  };
  const replaceToken = (operator: string, token: SyntaxNode, to: string) => {
    add(operator, token, to, `\`${textOf(source, token)}\` -> \`${to}\``);
  };

  for (const node of descendants(parsed.root)) {
    if (!node.named || node.type === 'comment' || ctx.skipped(node)) continue;
    switch (node.type) {
      case 'binary_expression':
      case 'binary_operator':
      case 'boolean_operator': {
        const op = childByField(node, 'operator');
        if (!op) break;
        const t = textOf(source, op);
        const left = childByField(node, 'left');
        const right = childByField(node, 'right');
        if (t in BOUNDARY) replaceToken('relational-boundary', op, BOUNDARY[t]!);
        if (!py && JS_RELATIONAL.has(t)) replaceToken('relational-swap', op, RELATIONAL_SWAP[t]!);
        if (t in LOGICAL) replaceToken('logical-swap', op, LOGICAL[t]!);
        if (t in ARITHMETIC) {
          // String concatenation, formatting and repetition are not arithmetic.
          const stringy = isStringNode(left) || isStringNode(right);
          const listy = py && [left?.type, right?.type].some((x) => x === 'list' || x === 'tuple');
          if (!stringy && !listy) replaceToken('arithmetic-swap', op, ARITHMETIC[t]!);
        }
        break;
      }
      case 'comparison_operator': {
        for (const op of node.children.filter((c) => c.field === 'operators')) {
          const t = textOf(source, op).replace(/\s+/g, ' ');
          if (t in BOUNDARY) replaceToken('relational-boundary', op, BOUNDARY[t]!);
          if (t in RELATIONAL_SWAP) replaceToken('relational-swap', op, RELATIONAL_SWAP[t]!);
        }
        break;
      }
      case 'augmented_assignment_expression':
      case 'augmented_assignment': {
        const op = childByField(node, 'operator');
        const right = childByField(node, 'right');
        if (!op || isStringNode(right)) break;
        const t = textOf(source, op);
        if (t in COMPOUND) replaceToken('arithmetic-swap', op, COMPOUND[t]!);
        break;
      }
      case 'update_expression': {
        const op = childByField(node, 'operator');
        if (!op) break;
        const t = textOf(source, op);
        if (t === '++' || t === '--') replaceToken('arithmetic-swap', op, t === '++' ? '--' : '++');
        break;
      }
      case 'unary_expression':
      case 'not_operator': {
        const op = py ? node.children[0] : childByField(node, 'operator');
        const arg = childByField(node, 'argument');
        if (!op || !arg || textOf(source, op) !== (py ? 'not' : '!')) break;
        out.push({
          operator: 'remove-negation',
          description: `\`${snippet(textOf(source, node), 40)}\` -> \`${snippet(textOf(source, arg), 40)}\` (${file}:${node.startLine})`,
          edit: { start: op.start, end: arg.start, text: '' },
          line: op.startLine,
          probeLines: [op.startLine],
        });
        break;
      }
      case 'if_statement':
      case 'elif_clause':
      case 'while_statement':
      case 'do_statement':
      case 'ternary_expression':
      case 'conditional_expression': {
        const cond =
          node.type === 'conditional_expression'
            ? namedChildren(node)[1]
            : childByField(node, 'condition');
        if (!cond) break;
        const inner = unparenthesized(cond);
        if (isComparisonNode(language, source, inner)) break;
        if (inner.type === 'not_operator') break;
        if (inner.type === 'unary_expression' && textOf(source, inner).startsWith('!')) break;
        if (ctx.skipped(cond)) break; // the __main__ guard
        const c = textOf(source, inner);
        let text: string;
        let target = cond;
        if (py) text = `not (${textOf(source, cond)})`;
        else if (cond.type === 'parenthesized_expression' && node.type !== 'ternary_expression') {
          // if (c) -> if (!(c)): the parentheses belong to the statement.
          target = inner;
          text = `!(${c})`;
        } else text = `!(${textOf(source, cond)})`;
        add('negate-condition', target, text, `negate the condition \`${snippet(c, 50)}\``);
        break;
      }
      case 'return_statement': {
        const arg = namedChildren(node)[0];
        if (!arg) break;
        const value = unparenthesized(arg);
        const v = textOf(source, value);
        const literal = py
          ? ['true', 'false', 'none', 'integer', 'float', 'string', 'concatenated_string']
          : ['true', 'false', 'null', 'undefined', 'number', 'string', 'template_string'];
        if (literal.includes(value.type) || v === 'void 0') break;
        if (isComparisonNode(language, source, value)) break; // relational-swap negates it
        if (
          value.type === 'not_operator' ||
          (value.type === 'unary_expression' && v.startsWith('!'))
        )
          break; // remove-negation
        let to: string;
        const op = childByField(value, 'operator');
        const opText = op ? textOf(source, op) : '';
        if (value.type === 'boolean_operator' || (opText in LOGICAL && opText !== '??')) {
          to = py ? `not (${textOf(source, arg)})` : `!(${textOf(source, arg)})`;
        } else if (
          (value.type === 'binary_expression' || value.type === 'binary_operator') &&
          ['-', '*', '/', '%', '**', '//'].includes(opText)
        ) {
          to = '0';
        } else {
          to = py ? 'None' : 'null';
        }
        add(
          'return-value',
          arg,
          to,
          `return \`${snippet(to, 50)}\` instead of \`${snippet(v, 40)}\``,
        );
        break;
      }
      case 'number':
      case 'integer':
      case 'float': {
        if (node.field === 'key') break; // { 1: x }
        const to = incrementNumber(textOf(source, node));
        if (to !== null) replaceToken('literal-number', node, to);
        break;
      }
      case 'true':
      case 'false': {
        const t = textOf(source, node);
        const to = { true: 'false', false: 'true', True: 'False', False: 'True' }[t];
        if (to) replaceToken('literal-boolean', node, to);
        break;
      }
      case 'string':
      case 'template_string': {
        if (stringIsExempt(parsed, ctx, node)) break;
        const to = emptyString(source, node);
        if (to !== null)
          add('literal-string', node, to, `\`${snippet(textOf(source, node), 40)}\` -> \`${to}\``);
        break;
      }
    }
  }
  return out;
}

/** The empty string in the same quoting as `node`; null when it is empty already. */
function emptyString(source: string, node: SyntaxNode): string | null {
  if (node.type === 'template_string') {
    return node.children.some((c) => c.named) ? '``' : null;
  }
  const named = node.children.filter((c) => c.named);
  const startTok = node.children.find((c) => c.type === 'string_start');
  const endTok = node.children.find((c) => c.type === 'string_end');
  if (startTok && endTok) {
    // Python: string_start carries the prefix (f, r, b...) and the quotes.
    if (!named.some((c) => c.type === 'string_content' || c.type === 'interpolation')) return null;
    return textOf(source, startTok) + textOf(source, endTok);
  }
  if (named.length === 0) return null;
  const q = source[node.start]!;
  return q === '"' || q === "'" ? q + q : null;
}

/** Strings that are names or messages rather than data. */
function stringIsExempt(parsed: ParsedFile, ctx: Context, node: SyntaxNode): boolean {
  const { source } = parsed;
  const parent = node.parent;
  if (!parent) return true;
  // Docstrings, 'use strict' and other directives.
  if (parent.type === 'expression_statement') return true;
  if (parent.type === 'concatenated_string' && parent.parent?.type === 'expression_statement')
    return true;
  // Keys: { 'a': 1 }, {"a": 1}, obj['a'] stays (that is data access).
  if (node.field === 'key' || (parent.type === 'pair' && parent.children[0] === node)) return true;
  // JSX attribute values and import-like string arguments are names.
  if (parent.type === 'jsx_attribute') return true;
  // Messages of throw / raise, arguments of logging calls (the nearest call only).
  let nearestCall = true;
  for (let p: SyntaxNode | null = parent; p; p = p.parent) {
    if (p.type === 'throw_statement' || p.type === 'raise_statement') return true;
    if (nearestCall && (p.type === 'call_expression' || p.type === 'call')) {
      nearestCall = false;
      const callee = childByField(p, 'function');
      if (callee && LOGGING_CALLEE.test(textOf(source, callee))) return true;
    }
    if (/_statement$|_declaration$|_definition$/.test(p.type)) break;
  }
  // __all__ = ["name", ...] and __slots__ name attributes.
  const assign = parent.type === 'list' || parent.type === 'tuple' ? parent.parent : parent;
  if (assign?.type === 'assignment') {
    const left = childByField(assign, 'left');
    if (left && /^__(all|slots)__$/.test(textOf(source, left))) return true;
  }
  return ctx.skipped(node);
}

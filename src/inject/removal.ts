/**
 * Removal-oriented procedural injection (SSR-SPEC section 6): delete meaningful code so the
 * solver must re-implement behaviour from the tests. Signatures stay (callers and imports keep
 * working); what goes is behaviour:
 *
 * - remove-function-body: a function or method keeps its signature (and Python docstring);
 *   its statements become `{}` / `pass`, an arrow function's expression becomes `undefined`
 * - remove-if-statement: a whole `if` (with its else branches)
 * - remove-else-branch: an `else` (JS: with any `else if` chain after it) or one Python `elif`
 * - remove-statement: one expression statement that acts: a call (`arr.push(x)`,
 *   `self.items.append(x)`), an assignment or an update (`i++`, `n += 1`)
 * - remove-loop: a whole `for` / `while` / `do` loop
 * - remove-function: a whole small helper (at most MAX_REMOVED_FUNCTION_LINES lines) that the
 *   same file calls and does not export: the solver must write it again from its call sites
 *   and the tests. Exported functions, methods and decorated functions stay (removing them
 *   breaks imports and class interfaces rather than behaviour).
 */
import {
  childByField,
  descendants,
  type FunctionInfo,
  functionsOf,
  type LanguageId,
  namedChildren,
  type ParsedFile,
  parseFile,
  type SyntaxNode,
  textOf,
} from './ast.js';
import {
  finishCandidates,
  type GeneratorOptions,
  type RawCandidate,
  snippet,
  type TextEdit,
} from './select.js';
import type { BugCandidate } from './types.js';

/** Calls whose removal changes what is printed, not what is computed. */
export const LOGGING_CALLEE =
  /^(console|logger|logging|log|warnings|process\.stdout|process\.stderr|sys\.stdout|sys\.stderr)\b|^(print|debug|debuglog)$/;

const JS_STATEMENT_PARENTS = new Set([
  'program',
  'statement_block',
  'switch_case',
  'switch_default',
  'class_static_block',
]);
const PY_STATEMENT_PARENTS = new Set(['module', 'block']);

const JS_LOOPS = new Set(['for_statement', 'for_in_statement', 'while_statement', 'do_statement']);
const PY_LOOPS = new Set(['for_statement', 'while_statement']);

/** Start lines of the statements in `node` (itself included): executed iff one of them is. */
export function statementLines(node: SyntaxNode): number[] {
  const lines = new Set<number>();
  for (const n of descendants(node)) {
    if (!n.named) continue;
    if (/_(statement|declaration|definition)$/.test(n.type)) lines.add(n.startLine);
  }
  if (lines.size === 0) lines.add(node.startLine);
  return [...lines].sort((a, b) => a - b);
}

/** Deletes [start, end), taking the whole lines when nothing else is on them. */
export function deleteRange(source: string, start: number, end: number): TextEdit {
  const lineStart = start === 0 ? 0 : source.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = source.indexOf('\n', end);
  lineEnd = lineEnd < 0 ? source.length : lineEnd + 1;
  if (
    /^[ \t]*$/.test(source.slice(lineStart, start)) &&
    /^[ \t;]*\r?\n?$/.test(source.slice(end, lineEnd))
  ) {
    return { start: lineStart, end: lineEnd, text: '' };
  }
  return { start, end, text: '' };
}

/**
 * The edit that deletes statement `node`, or null where a statement cannot simply go (the
 * body of a brace-less `if`). A Python block that would become empty gets `pass`.
 */
function deleteStatement(parsed: ParsedFile, node: SyntaxNode): TextEdit | null {
  const parent = node.parent;
  if (!parent) return null;
  if (parsed.language === 'python') {
    if (!PY_STATEMENT_PARENTS.has(parent.type)) return null;
    if (parent.type === 'block' && namedChildren(parent).length === 1) {
      return { start: node.start, end: node.end, text: 'pass' };
    }
    return deleteRange(parsed.source, node.start, node.end);
  }
  if (!JS_STATEMENT_PARENTS.has(parent.type)) return null;
  return deleteRange(parsed.source, node.start, node.end);
}

function isDocstring(stmt: SyntaxNode | undefined): boolean {
  if (stmt?.type !== 'expression_statement') return false;
  const kids = namedChildren(stmt);
  return (
    kids.length === 1 && (kids[0]!.type === 'string' || kids[0]!.type === 'concatenated_string')
  );
}

/** A Python body that does nothing already: pass, `...`, or raise NotImplementedError. */
function isTrivialPythonStatement(source: string, stmt: SyntaxNode): boolean {
  if (stmt.type === 'pass_statement') return true;
  const text = textOf(source, stmt).trim();
  return text === '...' || /^raise\s+NotImplementedError\b/.test(text);
}

function functionBodyCandidate(parsed: ParsedFile, fn: FunctionInfo): RawCandidate | null {
  const { source, language } = parsed;
  const body = fn.body;
  if (!body) return null;
  const describe = (what: string) => `${what} of ${fn.name} (${parsed.file}:${fn.startLine})`;
  if (language === 'python') {
    if (body.type !== 'block') return null;
    const stmts = namedChildren(body);
    const doc = isDocstring(stmts[0]) ? stmts[0] : undefined;
    const rest = doc ? stmts.slice(1) : stmts;
    if (rest.length === 0 || rest.every((s) => isTrivialPythonStatement(source, s))) return null;
    let edit: TextEdit;
    if (doc && doc.startLine > fn.node.startLine && rest[0]!.startLine > doc.endLine) {
      const lineStart = source.lastIndexOf('\n', doc.start - 1) + 1;
      const indent = source.slice(lineStart, doc.start);
      if (!/^[ \t]*$/.test(indent)) return null;
      edit = { start: doc.end, end: body.end, text: `\n${indent}pass` };
    } else {
      edit = { start: body.start, end: body.end, text: 'pass' };
    }
    return {
      operator: 'remove-function-body',
      description: describe('remove the body'),
      edit,
      line: rest[0]!.startLine,
      probeLines: rest.flatMap(statementLines),
    } satisfies RawCandidate;
  }
  if (body.type === 'statement_block') {
    const stmts = namedChildren(body);
    if (stmts.length === 0) return null;
    // A derived class constructor must still call super(): keep that call.
    const first = stmts[0]!;
    const keepSuper =
      fn.node.type === 'method_definition' &&
      first.type === 'expression_statement' &&
      /^super\s*\(/.test(textOf(source, first));
    if (keepSuper && stmts.length === 1) return null;
    const text = keepSuper ? `{ ${textOf(source, first)} }` : '{}';
    return {
      operator: 'remove-function-body',
      description: describe('remove the body'),
      edit: { start: body.start, end: body.end, text },
      line: stmts[keepSuper ? 1 : 0]!.startLine,
      probeLines: stmts.flatMap(statementLines),
    } satisfies RawCandidate;
  }
  // Arrow function with an expression body.
  if (fn.node.type !== 'arrow_function') return null;
  const expr = textOf(source, body).trim();
  if (expr === 'undefined' || expr === 'void 0') return null;
  return {
    operator: 'remove-function-body',
    description: `make ${fn.name} return undefined instead of \`${snippet(expr, 40)}\` (${parsed.file}:${fn.startLine})`,
    edit: { start: body.start, end: body.end, text: 'undefined' },
    line: body.startLine,
    probeLines: [body.startLine],
  } satisfies RawCandidate;
}

/** An expression statement that does something: a call, an assignment, an update. */
function isActingStatement(lang: LanguageId, source: string, stmt: SyntaxNode): boolean {
  if (stmt.type !== 'expression_statement') return false;
  const kids = namedChildren(stmt);
  if (kids.length !== 1) return false;
  let expr = kids[0]!;
  if (expr.type === 'await_expression' || expr.type === 'await') {
    const inner = namedChildren(expr)[0];
    if (!inner) return false;
    expr = inner;
  }
  const callTypes = lang === 'python' ? ['call'] : ['call_expression'];
  if (callTypes.includes(expr.type)) {
    const callee = childByField(expr, 'function');
    if (!callee) return false;
    const name = textOf(source, callee);
    if (LOGGING_CALLEE.test(name)) return false;
    if (name === 'require' || name === 'import') return false;
    // A derived class constructor without super() throws: a crash, not a behaviour change.
    if (lang !== 'python' && name === 'super') return false;
    return true;
  }
  const updates =
    lang === 'python'
      ? ['assignment', 'augmented_assignment']
      : ['assignment_expression', 'augmented_assignment_expression', 'update_expression'];
  if (!updates.includes(expr.type)) return false;
  // Module-level assignments define the module's names: removing one only breaks the import.
  if (stmt.parent?.type === 'module' || stmt.parent?.type === 'program') return false;
  // Python: `x: int = 1` / `x: int` are declarations as much as statements; `__all__` is API.
  if (lang === 'python' && expr.type === 'assignment') {
    if (childByField(expr, 'type') || !childByField(expr, 'right')) return false;
    const left = childByField(expr, 'left');
    if (left && /^__\w+__$/.test(textOf(source, left))) return false;
  }
  if (lang !== 'python' && expr.type === 'assignment_expression') {
    // module.exports = ... / exports.x = ...: the module's interface, not behaviour.
    const left = childByField(expr, 'left');
    if (left && /^(module\.exports|exports)\b/.test(textOf(source, left))) return false;
  }
  return true;
}

function isMainGuard(source: string, node: SyntaxNode): boolean {
  const cond = childByField(node, 'condition');
  return !!cond && /^__name__\s*==\s*['"]__main__['"]$/.test(textOf(source, cond).trim());
}

/** Helpers longer than this are not removed whole (their body removal covers them). */
export const MAX_REMOVED_FUNCTION_LINES = 20;

const JS_FUNCTION_DECLARATIONS = new Set([
  'function_declaration',
  'generator_function_declaration',
]);

/** A whole-helper removal for a function declaration, or null where it does not qualify. */
function wholeFunctionCandidate(parsed: ParsedFile, node: SyntaxNode): RawCandidate | null {
  const { source, language, file } = parsed;
  const py = language === 'python';
  if (py ? node.type !== 'function_definition' : !JS_FUNCTION_DECLARATIONS.has(node.type)) {
    return null;
  }
  const parent = node.parent;
  // Top-level or nested in a function body; not a method, not exported, not decorated.
  if (!parent || !(py ? PY_STATEMENT_PARENTS : JS_STATEMENT_PARENTS).has(parent.type)) {
    return null;
  }
  if (py && parent.type === 'block' && parent.parent?.type === 'class_definition') return null;
  if (node.endLine - node.startLine + 1 > MAX_REMOVED_FUNCTION_LINES) return null;
  const nameNode = childByField(node, 'name');
  const body = childByField(node, 'body');
  if (!nameNode || !body) return null;
  const name = textOf(source, nameNode);
  if (py && /^__\w+__$/.test(name)) return null;
  // Used elsewhere in the file (a call site to rebuild it from), and not exported by name.
  const escaped = name.replace(/[$]/g, '\\$');
  const uses = source.match(new RegExp(`(?<![\\w$.])${escaped}(?![\\w$])`, 'g'))?.length ?? 0;
  if (uses < 2) return null;
  const exported = new RegExp(
    `exports\\.${escaped}\\b|exports\\s*=\\s*\\{[^}]*\\b${escaped}\\b|export\\s*\\{[^}]*\\b${escaped}\\b|export\\s+default\\s+${escaped}\\b`,
  );
  if (!py && exported.test(source)) return null;
  if (py && new RegExp(`__all__[^\\]]*['"]${escaped}['"]`).test(source)) return null;
  const edit = deleteStatement(parsed, node);
  if (!edit) return null;
  return {
    operator: 'remove-function',
    description: `remove the helper ${name} entirely (${file}:${node.startLine})`,
    edit,
    line: node.startLine,
    probeLines: namedChildren(body).flatMap(statementLines),
  };
}

/** Candidates that remove code from one source file. */
export async function removalCandidates(
  file: string,
  source: string,
  opts: GeneratorOptions = {},
): Promise<BugCandidate[]> {
  const parsed = await parseFile(file, source, { keepTree: true });
  if (!parsed || parsed.hasErrors) return [];
  try {
    return await finishCandidates('removal', parsed, rawRemovals(parsed), opts);
  } finally {
    parsed.tree?.delete(); // only if an error came before the checker took it
  }
}

/** Every removal in a parsed file, before coverage, sampling and the syntax check. */
export function rawRemovals(parsed: ParsedFile): RawCandidate[] {
  const { source, language, file } = parsed;
  const py = language === 'python';
  const out: RawCandidate[] = [];
  for (const fn of functionsOf(parsed)) {
    const c = functionBodyCandidate(parsed, fn);
    if (c) out.push(c);
  }
  const loops = py ? PY_LOOPS : JS_LOOPS;
  for (const node of descendants(parsed.root)) {
    if (!node.named) continue;
    const where = `${file}:${node.startLine}`;
    const whole = wholeFunctionCandidate(parsed, node);
    if (whole) out.push(whole);
    if (node.type === 'if_statement' && node.parent?.type !== 'else_clause') {
      if (py && isMainGuard(source, node)) continue;
      const edit = deleteStatement(parsed, node);
      if (edit) {
        const cond = childByField(node, 'condition');
        out.push({
          operator: 'remove-if-statement',
          description: `remove the if statement \`if ${snippet(cond ? textOf(source, cond) : '', 50)}\` (${where})`,
          edit,
          line: node.startLine,
          probeLines: [node.startLine],
        });
      }
    } else if (node.type === 'else_clause' && node.parent?.type === 'if_statement') {
      const body = py ? childByField(node, 'body') : namedChildren(node)[0];
      if (!body) continue;
      let edit: TextEdit;
      if (py) {
        edit = deleteRange(source, node.start, node.end);
      } else {
        const prev = node.parent.children[node.parent.children.indexOf(node) - 1];
        if (!prev) continue;
        edit = { start: prev.end, end: node.end, text: '' };
      }
      // An empty else (`else {}`, `else: pass`) removes nothing.
      const inside =
        body.type === 'statement_block' || body.type === 'block' ? namedChildren(body) : [body];
      if (inside.length === 0 || inside.every((s) => s.type === 'pass_statement')) continue;
      const probeLines = statementLines(body);
      out.push({
        operator: 'remove-else-branch',
        description: `remove the else branch (${where})`,
        edit,
        line: node.startLine,
        probeLines,
      });
    } else if (py && node.type === 'elif_clause') {
      const cond = childByField(node, 'condition');
      out.push({
        operator: 'remove-else-branch',
        description: `remove the branch \`elif ${snippet(cond ? textOf(source, cond) : '', 50)}\` (${where})`,
        edit: deleteRange(source, node.start, node.end),
        line: node.startLine,
        probeLines: [node.startLine],
      });
    } else if (loops.has(node.type)) {
      const edit = deleteStatement(parsed, node);
      if (edit) {
        out.push({
          operator: 'remove-loop',
          description: `remove the loop \`${snippet(textOf(source, node).split('\n')[0]!, 50)}\` (${where})`,
          edit,
          line: node.startLine,
          probeLines: [node.startLine],
        });
      }
    } else if (isActingStatement(language, source, node)) {
      const edit = deleteStatement(parsed, node);
      if (edit) {
        out.push({
          operator: 'remove-statement',
          description: `remove the statement \`${snippet(textOf(source, node))}\` (${where})`,
          edit,
          line: node.startLine,
          probeLines: [node.startLine],
        });
      }
    }
  }
  return out;
}

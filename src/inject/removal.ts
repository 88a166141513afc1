/**
 * Removal-oriented procedural injection (SSR-SPEC section 6): delete meaningful code so the
 * solver must re-implement behaviour from the tests. Signatures stay (callers and imports keep
 * working); what goes is behaviour:
 *
 * - remove-function-body: a function or method keeps its signature (and Python docstring);
 *   its statements become `{}` / `pass` / `nil`, an arrow function's expression becomes
 *   `undefined`. In the typed languages the body returns the zero value of the declared
 *   result instead (Go `return 0, nil`, Java `return null;`, C `return 0;`, Rust
 *   `Default::default()` / `None` / `Ok(())` where the type has one, else no candidate)
 * - remove-if-statement: a whole `if` (with its else branches)
 * - remove-else-branch: an `else` (with any `else if` chain after it) or one Python `elif` /
 *   Ruby `elsif`
 * - remove-statement: one expression statement that acts: a call (`arr.push(x)`,
 *   `self.items.append(x)`), an assignment or an update (`i++`, `n += 1`)
 * - remove-loop: a whole `for` / `while` / `do` loop
 * - remove-function: a whole small helper (at most MAX_REMOVED_FUNCTION_LINES lines) that the
 *   same file calls and does not export: the solver must write it again from its call sites
 *   and the tests. Exported functions, methods and decorated functions stay (removing them
 *   breaks imports and class interfaces rather than behaviour). JavaScript and Python only:
 *   in the compiled languages a missing function is a build error, not a bug.
 *
 * In the compiled languages (Go, Rust, Java, C, C++) a candidate that does not build is a
 * wasted validation run, so removals that would leave the program ill-typed are skipped (see
 * `CompileGuard`): a Go local or import whose only use goes (Go rejects unused ones), a
 * non-void function's final statement (the function would fall off its end), a Java
 * assignment that a later read needs (definite assignment) or a statement inside a `try` that
 * may be the only thrower of a checked exception, a Rust block's value. Rust unit tests
 * (`#[cfg(test)]`, `#[test]`) are test code and never touched.
 */
import {
  childByField,
  declaratorName,
  descendants,
  type FunctionInfo,
  functionsOf,
  hasAncestor,
  isFunctionNode,
  isJavaScriptLike,
  type LanguageId,
  namedChildren,
  type ParsedFile,
  parseFile,
  rustTestCode,
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

/** Calls whose removal changes what is printed, not what is computed (JavaScript, Python). */
export const LOGGING_CALLEE =
  /^(console|logger|logging|log|warnings|process\.stdout|process\.stderr|sys\.stdout|sys\.stderr)\b|^(print|debug|debuglog)$/;

/** Per language: logging and tracing callees (their removal changes output, not behaviour). */
export const LOGGING_CALLEES: Record<LanguageId, RegExp> = {
  javascript: LOGGING_CALLEE,
  typescript: LOGGING_CALLEE,
  tsx: LOGGING_CALLEE,
  python: LOGGING_CALLEE,
  go: /^(log|slog|klog|glog|logrus|zap|logger|log15)\.\w+$|^fmt\.Print\w*$|^(println|print)$|\.(Log|Logf|Debug|Debugf|Info|Infof|Warn|Warnf|Trace|Tracef|Print|Printf|Println)$/,
  rust: /^(println|print|eprintln|eprint|dbg|log|trace|debug|info|warn|error)$|^(log|tracing)::/,
  java: /^(System\.(out|err)|LOG|LOGGER|Log|log|logger|Logger)\b|\.printStackTrace$|^(Log|Timber)\.\w+$/,
  c: /^(printf|fprintf|puts|fputs|putc|putchar|perror|syslog|vprintf|vfprintf|LOG\w*|log_\w+|DEBUG\w*|TRACE\w*|DBG\w*|assert|static_assert|_Static_assert)$/,
  cpp: /^(printf|fprintf|puts|fputs|putc|putchar|perror|syslog|vprintf|vfprintf|LOG\w*|log_\w+|DEBUG\w*|TRACE\w*|DBG\w*|assert|static_assert|spdlog::\w+|qDebug|qWarning)$/,
  ruby: /^(puts|print|p|pp|warn|printf|logger|log|Rails\.logger|\$stderr|\$stdout|STDERR|STDOUT)\b/,
};

/** Calls whose removal only leaks a resource or changes nothing observable by tests. */
const CLEANUP_CALLEE =
  /^(free|fclose|close|cfree|g_free|delete|drop|std::mem::drop|mem::drop|runtime\.GC|defer)$|\.(Close|close|Unlock|unlock|RUnlock|Done|dispose|release)$/;

/** Calls that must stay: imports, super constructors, declarations of the class interface. */
const STRUCTURAL_CALLEE: Partial<Record<LanguageId, RegExp>> = {
  ruby: /^(require|require_relative|load|autoload|include|extend|prepend|attr_\w+|private|protected|public|module_function|private_constant|alias_method|define_method|raise|fail|super|gem)$/,
  rust: /^(drop|std::mem::forget|mem::forget|std::mem::drop|mem::drop)$/,
  go: /^(panic|runtime\.\w+)$/,
};

/** What removal needs to know of a grammar. */
interface RemovalSyntax {
  /** Nodes whose named children are statements that can simply be deleted. */
  statementParents: ReadonlySet<string>;
  loops: ReadonlySet<string>;
  /** Conditional statements removed whole. */
  ifs: ReadonlySet<string>;
  calls: ReadonlySet<string>;
  /** Assignments and updates. */
  updates: ReadonlySet<string>;
}

const JS_SYNTAX: RemovalSyntax = {
  statementParents: new Set([
    'program',
    'statement_block',
    'switch_case',
    'switch_default',
    'class_static_block',
  ]),
  loops: new Set(['for_statement', 'for_in_statement', 'while_statement', 'do_statement']),
  ifs: new Set(['if_statement']),
  calls: new Set(['call_expression']),
  updates: new Set([
    'assignment_expression',
    'augmented_assignment_expression',
    'update_expression',
  ]),
};
const C_SYNTAX: RemovalSyntax = {
  statementParents: new Set(['compound_statement', 'case_statement']),
  loops: new Set(['for_statement', 'while_statement', 'do_statement', 'for_range_loop']),
  ifs: new Set(['if_statement']),
  calls: new Set(['call_expression']),
  updates: new Set(['assignment_expression', 'update_expression']),
};
const SYNTAX: Record<LanguageId, RemovalSyntax> = {
  javascript: JS_SYNTAX,
  typescript: JS_SYNTAX,
  tsx: JS_SYNTAX,
  python: {
    statementParents: new Set(['module', 'block']),
    loops: new Set(['for_statement', 'while_statement']),
    ifs: new Set(['if_statement']),
    calls: new Set(['call']),
    updates: new Set(['assignment', 'augmented_assignment']),
  },
  go: {
    statementParents: new Set(['statement_list']),
    loops: new Set(['for_statement']),
    ifs: new Set(['if_statement']),
    calls: new Set(['call_expression']),
    updates: new Set(['assignment_statement', 'inc_statement', 'dec_statement']),
  },
  rust: {
    statementParents: new Set(['block']),
    loops: new Set(['for_expression', 'while_expression']),
    ifs: new Set(['if_expression']),
    calls: new Set(['call_expression']),
    updates: new Set(['assignment_expression', 'compound_assignment_expr']),
  },
  java: {
    statementParents: new Set(['block', 'constructor_body', 'switch_block_statement_group']),
    loops: new Set(['for_statement', 'enhanced_for_statement', 'while_statement', 'do_statement']),
    ifs: new Set(['if_statement']),
    calls: new Set(['method_invocation']),
    updates: new Set(['assignment_expression', 'update_expression']),
  },
  c: C_SYNTAX,
  cpp: C_SYNTAX,
  ruby: {
    statementParents: new Set([
      'body_statement',
      'then',
      'else',
      'do',
      'block_body',
      'begin',
      'ensure',
    ]),
    loops: new Set(['while', 'until', 'for', 'while_modifier', 'until_modifier']),
    ifs: new Set(['if', 'unless', 'if_modifier', 'unless_modifier']),
    calls: new Set(['call']),
    updates: new Set(['assignment', 'operator_assignment']),
  },
};

/** Languages whose candidates must still build (a type error is not a bug). */
export function isCompiled(lang: LanguageId): boolean {
  return lang === 'go' || lang === 'rust' || lang === 'java' || lang === 'c' || lang === 'cpp';
}

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
  if (!SYNTAX[parsed.language].statementParents.has(parent.type)) return null;
  if (
    parsed.language === 'python' &&
    parent.type === 'block' &&
    namedChildren(parent).length === 1
  ) {
    return { start: node.start, end: node.end, text: 'pass' };
  }
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

/** The indentation of the line `offset` is on. */
function indentAt(source: string, offset: number): string {
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart))![0];
}

// ---------------------------------------------------------------------------------------------
// Zero values by declared type (bodies that must still return something)

const GO_NUMBERS = /^(u?int(8|16|32|64)?|uintptr|byte|rune|float(32|64)|complex(64|128))$/;

/** Go: the zero value of a result type node; `*new(T)` when the type is not known here. */
export function goZeroValue(parsed: ParsedFile, type: SyntaxNode): string {
  const { source } = parsed;
  const text = textOf(source, type).trim();
  switch (type.type) {
    case 'pointer_type':
    case 'slice_type':
    case 'map_type':
    case 'channel_type':
    case 'function_type':
    case 'interface_type':
      return 'nil';
    case 'array_type':
    case 'struct_type':
      return `${text}{}`;
    case 'parenthesized_type': {
      const inner = namedChildren(type)[0];
      return inner ? goZeroValue(parsed, inner) : `*new(${text})`;
    }
    case 'qualified_type':
      if (text === 'time.Duration') return '0';
      return `*new(${text})`;
  }
  const base = text.replace(/\[.*$/s, '');
  if (GO_NUMBERS.test(base)) return '0';
  if (base === 'string') return '""';
  if (base === 'bool') return 'false';
  if (base === 'error' || base === 'any') return 'nil';
  // A type declared in this file: by what it is made of.
  const spec = goTypeSpecs(parsed).get(base);
  if (spec && !/^type_parameter/.test(spec.type)) {
    if (spec.type === 'struct_type' || spec.type === 'array_type') return `${text}{}`;
    if (/^(pointer|slice|map|channel|function|interface)_type$/.test(spec.type)) return 'nil';
    if (spec.type === 'type_identifier') {
      const underlying = textOf(source, spec);
      if (GO_NUMBERS.test(underlying)) return '0';
      if (underlying === 'string') return '""';
      if (underlying === 'bool') return 'false';
    }
  }
  return `*new(${text})`;
}

const goTypeSpecCache = new WeakMap<ParsedFile, Map<string, SyntaxNode>>();
/** Go: type name -> its definition (`type T struct {...}` gives T -> struct_type). */
function goTypeSpecs(parsed: ParsedFile): Map<string, SyntaxNode> {
  let m = goTypeSpecCache.get(parsed);
  if (!m) {
    m = new Map();
    for (const n of descendants(parsed.root)) {
      if (n.type !== 'type_spec' && n.type !== 'type_alias') continue;
      const name = childByField(n, 'name');
      const type = childByField(n, 'type');
      if (name && type && !childByField(n, 'type_parameters'))
        m.set(textOf(parsed.source, name), type);
    }
    goTypeSpecCache.set(parsed, m);
  }
  return m;
}

/** Go: the result types of a function, one per returned value (named results expanded). */
export function goResultTypes(fn: SyntaxNode): SyntaxNode[] {
  const result = childByField(fn, 'result');
  if (!result) return [];
  if (result.type !== 'parameter_list') return [result];
  const out: SyntaxNode[] = [];
  for (const p of namedChildren(result)) {
    const type = childByField(p, 'type');
    if (!type) continue;
    const names = p.children.filter((c) => c.field === 'name').length;
    for (let i = 0; i < Math.max(1, names); i++) out.push(type);
  }
  return out;
}

const JAVA_INTEGRAL = /^(int|long|short|byte|char|float|double)$/;

/** Java: the default value returned by a method of declared type `type` (null for void). */
function javaDefault(source: string, type: SyntaxNode): string | null {
  const text = textOf(source, type).trim();
  if (type.type === 'void_type') return null;
  if (type.type === 'boolean_type') return 'false';
  if (type.type === 'integral_type' || type.type === 'floating_point_type') return '0';
  if (JAVA_INTEGRAL.test(text)) return '0';
  const base = text.replace(/<.*$/s, '').trim();
  const last = base.split('.').pop()!;
  if (last === 'String' || last === 'CharSequence') return '""';
  if (last === 'Optional') return `${base}.empty()`;
  if (last === 'List' || last === 'Collection' || last === 'Iterable')
    return 'java.util.Collections.emptyList()';
  if (last === 'Set') return 'java.util.Collections.emptySet()';
  if (last === 'Map') return 'java.util.Collections.emptyMap()';
  if (/^(Integer|Long|Short|Byte|Double|Float)$/.test(last)) return '0';
  if (last === 'Boolean') return 'false';
  return 'null';
}

const C_SCALAR_TYPEDEFS =
  /^(size_t|ssize_t|u?int(8|16|32|64|ptr|max)_t|u?int_(least|fast)(8|16|32|64)_t|ptrdiff_t|off_t|off64_t|time_t|pid_t|uid_t|gid_t|mode_t|socklen_t|wchar_t|char(8|16|32)_t|BOOL|DWORD|WORD|BYTE|UINT|ULONG|LONG|HRESULT|gboolean|gint|guint|gsize|gssize|GLint|GLuint|GLenum|GLfloat|std::size_t|std::u?int(8|16|32|64)_t|std::ptrdiff_t)$/;

/**
 * C/C++: the statement that returns a zero value of the function's declared return type:
 * '' for void, null when it cannot be built (references, `auto`).
 */
function cReturnStatement(parsed: ParsedFile, fn: SyntaxNode): string | null {
  const { source, language } = parsed;
  const cpp = language === 'cpp' || looksLikeCpp(parsed);
  const type = childByField(fn, 'type');
  if (!type) return ''; // constructors, destructors
  let pointer = false;
  for (let d = childByField(fn, 'declarator'); d; d = childByField(d, 'declarator')) {
    if (d.type === 'function_declarator') break;
    if (d.type === 'pointer_declarator') pointer = true;
    else if (d.type === 'reference_declarator') return null;
    else if (d.type !== 'parenthesized_declarator' && d.type !== 'attributed_declarator')
      return null;
  }
  const text = textOf(source, type).trim();
  if (pointer) return cpp ? 'return nullptr;' : `return ${/\bNULL\b/.test(source) ? 'NULL' : '0'};`;
  if (type.type === 'placeholder_type_specifier' || text === 'auto' || text === 'decltype(auto)')
    return null;
  if (type.type === 'decltype') return null;
  if (text === 'void') return '';
  if (text === 'bool') return 'return false;';
  if (text === '_Bool') return 'return 0;';
  if (type.type === 'primitive_type' || type.type === 'sized_type_specifier') return 'return 0;';
  if (C_SCALAR_TYPEDEFS.test(text)) return 'return 0;';
  if (cpp) return 'return {};';
  if (type.type === 'struct_specifier' || type.type === 'union_specifier')
    return `return (${text}){0};`;
  if (type.type === 'enum_specifier') return 'return 0;';
  if (type.type === 'type_identifier') return `return (${text}){0};`;
  return null;
}

/** A `.h` file written in C++ (the C++ spellings of zero values then apply). */
function looksLikeCpp(parsed: ParsedFile): boolean {
  if (parsed.language !== 'c') return false;
  for (const n of descendants(parsed.root)) {
    if (
      n.type === 'class_specifier' ||
      n.type === 'namespace_definition' ||
      n.type === 'template_declaration' ||
      n.type === 'qualified_identifier'
    )
      return true;
  }
  return false;
}

const RUST_NUMBERS = /^(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize)$/;
const RUST_DEFAULT_TYPES =
  /^(HashMap|HashSet|BTreeMap|BTreeSet|VecDeque|BinaryHeap|Duration|PathBuf|OsString|Cow|Rc|Arc|Cell|RefCell|Mutex|RwLock|AtomicBool|AtomicUsize|AtomicU32|AtomicU64|AtomicI32|AtomicI64)$/;

/**
 * Rust: a value of declared type `type` that needs nothing but the type (the zero or
 * Default value: `0`, `false`, `None`, `String::new()`, `Ok(())`...), or null.
 */
export function rustZeroValue(
  parsed: ParsedFile,
  type: SyntaxNode,
  selfType: string | null,
): string | null {
  const { source } = parsed;
  const text = textOf(source, type).trim();
  switch (type.type) {
    case 'primitive_type':
      if (RUST_NUMBERS.test(text)) return '0';
      if (text === 'f32' || text === 'f64') return '0.0';
      if (text === 'bool') return 'false';
      if (text === 'char') return "'\\0'";
      return null;
    case 'unit_type':
      return '()';
    case 'reference_type': {
      if (type.children.some((c) => c.type === 'mutable_specifier')) return null;
      const inner = childByField(type, 'type');
      if (!inner) return null;
      if (inner.type === 'primitive_type' && textOf(source, inner) === 'str') return '""';
      if (inner.type === 'array_type' && !childByField(inner, 'length')) return '&[]';
      return null;
    }
    case 'tuple_type': {
      const parts = namedChildren(type).map((t) => rustZeroValue(parsed, t, selfType));
      return parts.every((p) => p !== null) ? `(${parts.join(', ')})` : null;
    }
    case 'type_identifier':
    case 'scoped_type_identifier':
    case 'generic_type': {
      const nameNode = type.type === 'generic_type' ? childByField(type, 'type') : type;
      const path = nameNode ? textOf(source, nameNode) : text;
      const name = path.split('::').pop()!;
      const args = childByField(type, 'type_arguments');
      const typeArgs = args ? namedChildren(args).filter((a) => !/lifetime/.test(a.type)) : [];
      if (name === 'Option') return 'None';
      if (name === 'String') return 'String::new()';
      if (name === 'Vec') return 'Vec::new()';
      if (name === 'Result') {
        if (typeArgs.length === 0)
          return path === 'fmt::Result' || path === 'std::fmt::Result' ? 'Ok(())' : null;
        const ok = rustZeroValue(parsed, typeArgs[0]!, selfType);
        return ok === null ? null : `Ok(${ok})`;
      }
      if (RUST_DEFAULT_TYPES.test(name)) return 'Default::default()';
      const own = name === 'Self' ? selfType : name;
      if (own && rustDefaultTypes(parsed).has(own)) return 'Default::default()';
      return null;
    }
  }
  return null;
}

const rustDefaultCache = new WeakMap<ParsedFile, Set<string>>();
/** Rust: the types of this file that derive (or implement) Default. */
function rustDefaultTypes(parsed: ParsedFile): Set<string> {
  let set = rustDefaultCache.get(parsed);
  if (!set) {
    set = new Set();
    const derive =
      /#\[derive\(([^)]*)\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum)\s+(\w+)/g;
    for (const m of parsed.source.matchAll(derive)) {
      if (/\bDefault\b/.test(m[1]!)) set.add(m[2]!);
    }
    for (const m of parsed.source.matchAll(
      /impl(?:<[^>]*>)?\s+(?:std::default::)?Default\s+for\s+(\w+)/g,
    ))
      set.add(m[1]!);
    rustDefaultCache.set(parsed, set);
  }
  return set;
}

/** Rust: the type an `impl` block is for (the `Self` of its functions). */
function rustSelfType(parsed: ParsedFile, fn: SyntaxNode): string | null {
  for (let p = fn.parent; p; p = p.parent) {
    if (p.type === 'impl_item') {
      const t = childByField(p, 'type');
      return t ? textOf(parsed.source, t).replace(/<.*$/s, '').trim() : null;
    }
  }
  return null;
}

/** True when a Rust function returns something (not `()` or nothing). */
function rustHasResult(fn: SyntaxNode): boolean {
  const t = childByField(fn, 'return_type');
  return !!t && t.type !== 'unit_type';
}

/** True when a function of a typed language must return a value on every path. */
function hasResult(parsed: ParsedFile, fn: SyntaxNode): boolean {
  const { source } = parsed;
  switch (parsed.language) {
    case 'go':
      return !!childByField(fn, 'result');
    case 'rust':
      return rustHasResult(fn);
    case 'java': {
      const t = childByField(fn, 'type');
      return !!t && t.type !== 'void_type';
    }
    case 'c':
    case 'cpp': {
      const t = childByField(fn, 'type');
      if (!t) return false;
      let pointer = false;
      for (
        let d = childByField(fn, 'declarator');
        d && d.type !== 'function_declarator';
        d = childByField(d, 'declarator')
      )
        if (d.type === 'pointer_declarator' || d.type === 'reference_declarator') pointer = true;
      return pointer || textOf(source, t).trim() !== 'void';
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Function bodies

/** Bodies that do nothing worth removing: a literal, a zero value, a panic / todo. */
const TRIVIAL_BODY =
  /^(return\s*)?(nil|null|None|NULL|nullptr|0|false|true|""|''|\{\}|\(\)|Ok\(\(\)\)|Default::default\(\)|\w+::new\(\)|-?\d[\w.]*|"[^"\n]*")?\s*;?$|^(panic|todo!|unimplemented!|unreachable!|panic!|raise|fail|throw)\b/;

function isTrivialBody(source: string, stmts: SyntaxNode[]): boolean {
  if (stmts.length === 0) return true;
  if (stmts.length > 1) return false;
  return TRIVIAL_BODY.test(textOf(source, stmts[0]!).trim());
}

/** The statements of a block (Go: inside its statement_list). */
function blockStatements(body: SyntaxNode): SyntaxNode[] {
  const kids = namedChildren(body);
  if (kids.length === 1 && kids[0]!.type === 'statement_list') return namedChildren(kids[0]!);
  return kids;
}

function bodyCandidate(
  fn: FunctionInfo,
  edit: TextEdit,
  stmts: SyntaxNode[],
  what: string,
  parsed: ParsedFile,
): RawCandidate {
  return {
    operator: 'remove-function-body',
    description: `${what} of ${fn.name} (${parsed.file}:${fn.startLine})`,
    edit,
    line: stmts[0]?.startLine ?? fn.startLine,
    probeLines: stmts.flatMap(statementLines),
  };
}

function functionBodyCandidate(
  parsed: ParsedFile,
  fn: FunctionInfo,
  guard: CompileGuard,
): RawCandidate | null {
  const { source, language } = parsed;
  const body = fn.body;
  if (!body) return null;
  const describe = (what: string) => `${what} of ${fn.name} (${parsed.file}:${fn.startLine})`;
  switch (language) {
    case 'python':
      return pythonBody(parsed, fn, body);
    case 'go':
      return goBody(parsed, fn, body, guard);
    case 'rust':
      return rustBody(parsed, fn, body, guard);
    case 'java':
      return javaBody(parsed, fn, body, guard);
    case 'c':
    case 'cpp':
      return cBody(parsed, fn, body, guard);
    case 'ruby':
      return rubyBody(parsed, fn, body);
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

function pythonBody(parsed: ParsedFile, fn: FunctionInfo, body: SyntaxNode): RawCandidate | null {
  const { source } = parsed;
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
  return bodyCandidate(fn, edit, rest, 'remove the body', parsed);
}

function goBody(
  parsed: ParsedFile,
  fn: FunctionInfo,
  body: SyntaxNode,
  guard: CompileGuard,
): RawCandidate | null {
  const { source } = parsed;
  if (body.type !== 'block') return null;
  const name = childByField(fn.node, 'name');
  if (fn.node.type === 'function_declaration' && name && textOf(source, name) === 'main')
    return null;
  const stmts = blockStatements(body);
  if (isTrivialBody(source, stmts)) return null;
  if (!guard.allows(fn.node, body.start + 1, body.end - 1)) return null;
  const results = goResultTypes(fn.node).map((t) => goZeroValue(parsed, t));
  const indent = indentAt(source, fn.node.start);
  const text = results.length ? `{\n${indent}\treturn ${results.join(', ')}\n${indent}}` : '{\n}';
  const what = results.length
    ? `replace the body with \`return ${results.join(', ')}\``
    : 'remove the body';
  return bodyCandidate(fn, { start: body.start, end: body.end, text }, stmts, what, parsed);
}

function rustBody(
  parsed: ParsedFile,
  fn: FunctionInfo,
  body: SyntaxNode,
  guard: CompileGuard,
): RawCandidate | null {
  const { source } = parsed;
  if (body.type !== 'block') return null;
  // unsafe and const fns: undefined behaviour and const-evaluation rules are not bugs to hunt.
  const modifiers = fn.node.children.find((c) => c.type === 'function_modifiers');
  if (modifiers && /\b(unsafe|const|extern)\b/.test(textOf(source, modifiers))) return null;
  if (guard.isTestCode(fn.node)) return null;
  const name = childByField(fn.node, 'name');
  if (name && textOf(source, name) === 'main' && fn.node.parent?.type === 'source_file')
    return null;
  const stmts = namedChildren(body);
  if (isTrivialBody(source, stmts)) return null;
  const returnType = childByField(fn.node, 'return_type');
  let value: string | null = '';
  if (returnType && returnType.type !== 'unit_type') {
    value = rustZeroValue(parsed, returnType, rustSelfType(parsed, fn.node));
    if (value === null) return null;
  }
  const text = value ? `{ ${value} }` : '{}';
  const what = value ? `replace the body with \`${value}\`` : 'remove the body';
  return bodyCandidate(fn, { start: body.start, end: body.end, text }, stmts, what, parsed);
}

function javaBody(
  parsed: ParsedFile,
  fn: FunctionInfo,
  body: SyntaxNode,
  guard: CompileGuard,
): RawCandidate | null {
  const { source } = parsed;
  const stmts = namedChildren(body);
  if (
    fn.node.type === 'constructor_declaration' ||
    fn.node.type === 'compact_constructor_declaration'
  ) {
    // Blank final fields must be assigned by every constructor.
    if (guard.javaBlankFinals(fn.node).size > 0) return null;
    const first = stmts[0];
    const keep = first?.type === 'explicit_constructor_invocation' ? first : undefined;
    const rest = keep ? stmts.slice(1) : stmts;
    if (rest.length === 0) return null;
    const text = keep ? `{ ${textOf(source, keep)} }` : '{}';
    return bodyCandidate(
      fn,
      { start: body.start, end: body.end, text },
      rest,
      'remove the body',
      parsed,
    );
  }
  if (isTrivialBody(source, stmts)) return null;
  const type = childByField(fn.node, 'type');
  if (!type) return null;
  const value = javaDefault(source, type);
  const text = value === null ? '{}' : `{ return ${value}; }`;
  const what = value === null ? 'remove the body' : `replace the body with \`return ${value};\``;
  return bodyCandidate(fn, { start: body.start, end: body.end, text }, stmts, what, parsed);
}

function cBody(
  parsed: ParsedFile,
  fn: FunctionInfo,
  body: SyntaxNode,
  guard: CompileGuard,
): RawCandidate | null {
  const { source } = parsed;
  if (body.type !== 'compound_statement') return null;
  const name = declaratorName(fn.node);
  if (name && textOf(source, name) === 'main') return null;
  if (guard.inMacro(fn.node)) return null;
  const stmts = namedChildren(body);
  if (isTrivialBody(source, stmts)) return null;
  const ret = cReturnStatement(parsed, fn.node);
  if (ret === null) return null;
  const text = ret ? `{ ${ret} }` : '{}';
  const what = ret ? `replace the body with \`${ret}\`` : 'remove the body';
  return bodyCandidate(fn, { start: body.start, end: body.end, text }, stmts, what, parsed);
}

function rubyBody(parsed: ParsedFile, fn: FunctionInfo, body: SyntaxNode): RawCandidate | null {
  const { source } = parsed;
  if (body.type !== 'body_statement') {
    // An endless method: `def ok? = expr`.
    if (fn.node.children.some((c) => c.type === '=')) {
      const expr = textOf(source, body).trim();
      if (expr === 'nil') return null;
      return bodyCandidate(
        fn,
        { start: body.start, end: body.end, text: 'nil' },
        [body],
        'make it return nil',
        parsed,
      );
    }
    return null;
  }
  const stmts = namedChildren(body);
  if (isTrivialBody(source, stmts)) return null;
  // `initialize` usually calls super first: keep that call.
  const first = stmts[0]!;
  const keepSuper = /^super\b/.test(textOf(source, first));
  const rest = keepSuper ? stmts.slice(1) : stmts;
  if (rest.length === 0) return null;
  const text = keepSuper ? `${textOf(source, first)}\n${indentAt(source, first.start)}nil` : 'nil';
  return bodyCandidate(
    fn,
    { start: body.start, end: body.end, text },
    rest,
    'replace the body with `nil`',
    parsed,
  );
}

// ---------------------------------------------------------------------------------------------
// Statements

/**
 * The expression a statement consists of when it is one that acts (a call, an assignment,
 * an update); null for anything else. Python, JavaScript, Rust, Java and C wrap it in an
 * expression_statement; Go assignments and Ruby statements stand alone.
 */
function actingExpression(lang: LanguageId, stmt: SyntaxNode): SyntaxNode | null {
  const syntax = SYNTAX[lang];
  if (lang === 'ruby' || lang === 'go') {
    if (syntax.updates.has(stmt.type) || stmt.type === 'call') return stmt;
    if (lang === 'ruby' && stmt.type === 'binary') return stmt; // items << x
    if (stmt.type !== 'expression_statement') return null;
  } else if (stmt.type !== 'expression_statement') return null;
  const kids = namedChildren(stmt);
  if (kids.length !== 1) return null;
  let expr = kids[0]!;
  // await f(), f()?, f().await
  while (
    expr.type === 'await_expression' ||
    expr.type === 'await' ||
    expr.type === 'try_expression'
  ) {
    const inner = namedChildren(expr)[0];
    if (!inner) return null;
    expr = inner;
  }
  return expr;
}

/** The callee text of a call node (Java: `object.name`; Ruby: `receiver.method`). */
function calleeText(lang: LanguageId, source: string, call: SyntaxNode): string | null {
  if (lang === 'java') {
    const name = childByField(call, 'name');
    const object = childByField(call, 'object');
    if (!name) return null;
    return object ? `${textOf(source, object)}.${textOf(source, name)}` : textOf(source, name);
  }
  if (lang === 'ruby') {
    const method = childByField(call, 'method');
    const receiver = childByField(call, 'receiver');
    if (!method) return null;
    return receiver
      ? `${textOf(source, receiver)}.${textOf(source, method)}`
      : textOf(source, method);
  }
  const callee = childByField(call, 'function');
  return callee ? textOf(source, callee) : null;
}

/** An expression statement that does something: a call, an assignment, an update. */
function isActingStatement(parsed: ParsedFile, stmt: SyntaxNode): boolean {
  const { language: lang, source } = parsed;
  const syntax = SYNTAX[lang];
  const expr = actingExpression(lang, stmt);
  if (!expr) return false;
  const stmtParent = stmt.parent;
  if (!stmtParent || !syntax.statementParents.has(stmtParent.type)) return false;
  if (syntax.calls.has(expr.type)) {
    const name = calleeText(lang, source, expr);
    if (!name) return false;
    if (LOGGING_CALLEES[lang].test(name)) return false;
    if (name === 'require' || name === 'import') return false;
    // A derived class constructor without super() throws: a crash, not a behaviour change.
    if (lang !== 'python' && name === 'super') return false;
    if (STRUCTURAL_CALLEE[lang]?.test(name)) return false;
    if (isCompiled(lang) && CLEANUP_CALLEE.test(name)) return false;
    if (lang === 'ruby') {
      // Only statements of methods; a bare identifier call (`save`) is left alone.
      if (!hasAncestor(stmt, (p) => p.type === 'method' || p.type === 'singleton_method'))
        return false;
    }
    return true;
  }
  if (lang === 'ruby' && expr.type === 'binary') {
    const op = childByField(expr, 'operator');
    return (
      !!op &&
      textOf(source, op) === '<<' &&
      hasAncestor(stmt, (p) => p.type === 'method' || p.type === 'singleton_method')
    );
  }
  if (!syntax.updates.has(expr.type)) return false;
  // Module-level assignments define the module's names: removing one only breaks the import.
  if (stmtParent.type === 'module' || stmtParent.type === 'program') return false;
  const left = childByField(expr, 'left');
  const leftText = left ? textOf(source, left) : '';
  // Python: `x: int = 1` / `x: int` are declarations as much as statements; `__all__` is API.
  if (lang === 'python' && expr.type === 'assignment') {
    if (childByField(expr, 'type') || !childByField(expr, 'right')) return false;
    if (/^__\w+__$/.test(leftText)) return false;
  }
  if (isJavaScriptLike(lang) && expr.type === 'assignment_expression') {
    // module.exports = ... / exports.x = ...: the module's interface, not behaviour.
    if (/^(module\.exports|exports)\b/.test(leftText)) return false;
  }
  if (lang === 'go') {
    // `_ = x` keeps a variable or import used; `x := ...` declares (not an update).
    if (/^(_\s*,\s*)*_$/.test(leftText.trim())) return false;
    const op = expr.children.find((c) => c.field === 'operator');
    if (op && textOf(source, op) === ':=') return false;
  }
  if (lang === 'ruby') {
    if (!hasAncestor(stmt, (p) => p.type === 'method' || p.type === 'singleton_method'))
      return false;
    if (left?.type === 'constant') return false;
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
  if (!py && !isJavaScriptLike(language)) return null;
  if (py ? node.type !== 'function_definition' : !JS_FUNCTION_DECLARATIONS.has(node.type)) {
    return null;
  }
  const parent = node.parent;
  // Top-level or nested in a function body; not a method, not exported, not decorated.
  if (!parent || !SYNTAX[language].statementParents.has(parent.type)) return null;
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

// ---------------------------------------------------------------------------------------------
// Compile guards: removals that would not build in a compiled language

/** One identifier occurrence in a Go file (for the unused-variable and -import rules). */
interface GoName {
  text: string;
  start: number;
  end: number;
  /** A declaration (`x :=`, `var x`, `for k, v := range`, a label) rather than a use. */
  decl: boolean;
  /** Written, not read (`x = 1`, `x++`): Go does not count that as a use. */
  write: boolean;
  inImport: boolean;
  /** A parameter or result name: Go allows those unused. */
  param: boolean;
  /** Used as `name.X`: maybe a package. */
  qualifier: boolean;
  /** For a declaration: where its scope ends (the enclosing block, if, for, case...). */
  scopeEnd: number;
}

const GO_SCOPES =
  /^(block|if_statement|for_statement|expression_switch_statement|type_switch_statement|select_statement|expression_case|default_case|type_case|communication_case|func_literal|function_declaration|method_declaration|source_file)$/;

const JAVA_UNCHECKED =
  /^(Exception|Throwable|RuntimeException|Error|IllegalArgumentException|IllegalStateException|NullPointerException|NumberFormatException|IndexOutOfBoundsException|ArrayIndexOutOfBoundsException|StringIndexOutOfBoundsException|ClassCastException|UnsupportedOperationException|ArithmeticException|ConcurrentModificationException|NoSuchElementException|AssertionError)$/;

/**
 * Static checks that keep removals buildable in Go, Rust, Java, C and C++ (and away from Rust
 * test code). Built once per file; `allows(fn, start, end)` says whether deleting or replacing
 * [start, end) inside function `fn` leaves code that still compiles, as far as a syntax tree
 * can tell (no types): conservative where unsure.
 */
export class CompileGuard {
  private goNames: GoName[] | undefined;
  private goImports: Array<{ name: string | null }> | undefined;
  private readonly testCode: (n: SyntaxNode) => boolean;

  constructor(private readonly parsed: ParsedFile) {
    this.testCode = rustTestCode(parsed);
  }

  /** Rust `#[cfg(test)]` / `#[test]` code. */
  isTestCode(node: SyntaxNode): boolean {
    return this.testCode(node);
  }

  /** Rust: inside an `unsafe` block. */
  inUnsafe(node: SyntaxNode): boolean {
    return node.type === 'unsafe_block' || hasAncestor(node, (p) => p.type === 'unsafe_block');
  }

  /** Inside a C/C++ macro definition or preprocessor condition. */
  inMacro(node: SyntaxNode): boolean {
    return hasAncestor(
      node,
      (p) =>
        p.type === 'preproc_def' ||
        p.type === 'preproc_function_def' ||
        p.type === 'preproc_call' ||
        (p.field === 'condition' && p.parent?.type.startsWith('preproc_') === true),
    );
  }

  /** Whether removing or replacing [start, end) (inside function `fn`, if any) still builds. */
  allows(fn: SyntaxNode | null, start: number, end: number): boolean {
    switch (this.parsed.language) {
      case 'go':
        return this.goAllows(fn, start, end);
      case 'java':
        return this.javaAllows(fn, start, end);
      case 'rust':
        return this.deferredInitAllows(fn, start, end) && this.rustInferenceAllows(fn, start, end);
      default:
        return true;
    }
  }

  /**
   * True when statement `stmt` ends its function on some path: it is the last statement of
   * its block, and that block ends the function (directly or through the if / switch / loop
   * it belongs to). Removing it from a function that returns a value leaves a path that falls
   * off the end (Go and Java: "missing return"; Rust: mismatched types; C: garbage).
   */
  endsValueFunction(stmt: SyntaxNode): boolean {
    const { language } = this.parsed;
    const containers = SYNTAX[language].statementParents;
    for (let s = stmt; ; ) {
      const parent = s.parent;
      if (!parent) return false;
      if (isFunctionNode(language, parent)) return hasResult(this.parsed, parent);
      if (parent.type === 'func_literal') return !!childByField(parent, 'result');
      if (parent.type === 'closure_expression' || parent.type === 'lambda_expression') return true; // the result type is not written: be safe
      if (containers.has(parent.type)) {
        const kids = namedChildren(parent);
        if (kids[kids.length - 1] !== s) return false;
      }
      s = parent;
    }
  }

  /**
   * Rust: a statement whose value is its block's value (the last one, without `;`, and not a
   * loop or an `if` without `else`, which are `()`).
   */
  rustValueStatement(stmt: SyntaxNode): boolean {
    if (this.parsed.language !== 'rust' || stmt.type !== 'expression_statement') return false;
    const parent = stmt.parent;
    if (!parent) return false;
    const kids = namedChildren(parent);
    if (kids[kids.length - 1] !== stmt) return false;
    if (textOf(this.parsed.source, stmt).trimEnd().endsWith(';')) return false;
    const inner = namedChildren(stmt)[0];
    if (!inner) return false;
    if (inner.type === 'for_expression' || inner.type === 'while_expression') return false;
    if (inner.type === 'if_expression' && !childByField(inner, 'alternative')) return false;
    return true;
  }

  /** Java blank final fields (`final int n;`) of the class of `fn`. */
  javaBlankFinals(fn: SyntaxNode): Set<string> {
    const out = new Set<string>();
    const body = fn.parent;
    if (!body || (body.type !== 'class_body' && body.type !== 'enum_body_declarations')) return out;
    for (const field of namedChildren(body)) {
      if (field.type !== 'field_declaration') continue;
      const mods = field.children.find((c) => c.type === 'modifiers');
      if (!mods || !/\bfinal\b/.test(textOf(this.parsed.source, mods))) continue;
      for (const d of field.children.filter((c) => c.field === 'declarator')) {
        const name = childByField(d, 'name');
        if (name && !childByField(d, 'value')) out.add(textOf(this.parsed.source, name));
      }
    }
    return out;
  }

  /** Java: definite assignment, checked exceptions, and breaks out of infinite loops. */
  private javaAllows(fn: SyntaxNode | null, start: number, end: number): boolean {
    if (!this.deferredInitAllows(fn, start, end)) return false;
    const { source, root } = this.parsed;
    const inside = (n: SyntaxNode) => n.start >= start && n.end <= end;
    // Blank finals: assigned in constructors and initializers, exactly once.
    if (
      fn &&
      (fn.type === 'constructor_declaration' || fn.type === 'compact_constructor_declaration')
    ) {
      const finals = this.javaBlankFinals(fn);
      if (finals.size) {
        for (const n of descendants(fn)) {
          if (!inside(n) || n.type !== 'assignment_expression') continue;
          const left = childByField(n, 'left');
          const name = left && textOf(source, left).replace(/^this\./, '');
          if (name && finals.has(name)) return false;
        }
      }
    }
    // The smallest node holding the range.
    let holder = root;
    for (let descended = true; descended; ) {
      descended = false;
      for (const c of holder.children) {
        if (c.start <= start && c.end >= end) {
          holder = c;
          descended = true;
          break;
        }
      }
    }
    // Inside a try with catches of checked exceptions: the removed code may be the only thrower.
    for (let p: SyntaxNode | null = holder; p && p !== fn; p = p.parent) {
      if ((p.type === 'try_statement' || p.type === 'try_with_resources_statement') && p.parent) {
        const body = childByField(p, 'body');
        if (!body || body.start > start || body.end < end) continue;
        const catches = p.children.filter((c) => c.type === 'catch_clause');
        for (const c of catches) {
          const types = descendants(c);
          for (const t of types) {
            if (t.type !== 'catch_type') continue;
            for (const ty of namedChildren(t)) {
              const name = textOf(source, ty).split('.').pop()!;
              if (!JAVA_UNCHECKED.test(name)) return false;
            }
          }
        }
      }
    }
    // A `break` out of a loop that encloses the range: `while (true)` would never end.
    if (fn) {
      for (const n of descendants(fn)) {
        if (n.type !== 'break_statement' || !inside(n) || namedChildren(n).length) continue;
        for (let p = n.parent; p && p !== fn; p = p.parent) {
          if (
            /^(for_statement|enhanced_for_statement|while_statement|do_statement|switch_block|switch_expression)$/.test(
              p.type,
            )
          ) {
            if (!inside(p)) return false;
            break;
          }
        }
      }
    }
    return true;
  }

  /**
   * Java and Rust: a local declared without a value (`int x;`, `let x;`) must be assigned
   * before use; removing an assignment to it does not compile.
   */
  /**
   * Rust: `let mut v = Vec::new();` gets its element type from later uses (`v.push(x)`);
   * removing those leaves "type annotations needed". Such locals may not be used in the range.
   */
  private rustInferenceAllows(fn: SyntaxNode | null, start: number, end: number): boolean {
    if (!fn) return true;
    const { source } = this.parsed;
    const untyped = new Set<string>();
    for (const n of descendants(fn)) {
      if (n.type !== 'let_declaration' || childByField(n, 'type')) continue;
      const pat = childByField(n, 'pattern');
      const value = childByField(n, 'value');
      if (!pat || !value) continue;
      const v = textOf(source, value);
      if (
        /^(\w+::)*(new|with_capacity|default)\(|^vec!\s*\[\s*\]$|^None$|^Default::default\(\)$|\.collect\(\)$|\.parse\(\)\??$|\.into\(\)$/.test(
          v,
        )
      ) {
        const name = pat.type === 'mut_pattern' ? namedChildren(pat).pop() : pat;
        if (name?.type === 'identifier') untyped.add(textOf(source, name));
      }
    }
    if (untyped.size === 0) return true;
    for (const n of descendants(fn)) {
      if (
        n.type === 'identifier' &&
        n.start >= start &&
        n.end <= end &&
        untyped.has(textOf(source, n))
      )
        return false;
    }
    return true;
  }

  private deferredInitAllows(fn: SyntaxNode | null, start: number, end: number): boolean {
    if (!fn) return true;
    const { source } = this.parsed;
    const deferred = new Set<string>();
    for (const n of descendants(fn)) {
      if (n.type === 'let_declaration' && !childByField(n, 'value')) {
        const pat = childByField(n, 'pattern');
        if (pat?.type === 'identifier') deferred.add(textOf(source, pat));
      } else if (n.type === 'local_variable_declaration') {
        for (const d of n.children.filter((c) => c.field === 'declarator')) {
          const name = childByField(d, 'name');
          if (name && !childByField(d, 'value')) deferred.add(textOf(source, name));
        }
      }
    }
    if (deferred.size === 0) return true;
    for (const n of descendants(fn)) {
      if (n.start < start || n.end > end) continue;
      if (n.type !== 'assignment_expression') continue;
      const left = childByField(n, 'left');
      if (left && deferred.has(textOf(source, left))) return false;
    }
    return true;
  }

  private goIndex(): { names: GoName[]; imports: Array<{ name: string | null }> } {
    if (this.goNames && this.goImports) return { names: this.goNames, imports: this.goImports };
    const { source, root } = this.parsed;
    const names: GoName[] = [];
    const imports: Array<{ name: string | null }> = [];
    const scopeOf = (n: SyntaxNode): SyntaxNode => {
      let p = n.parent;
      while (p?.parent && !GO_SCOPES.test(p.type)) p = p.parent;
      return p ?? root;
    };
    for (const n of descendants(root)) {
      if (n.type === 'import_spec') {
        const alias = childByField(n, 'name');
        const path = childByField(n, 'path');
        if (alias) {
          const a = textOf(source, alias);
          if (a !== '_' && a !== '.') imports.push({ name: a });
        } else if (path) {
          const p = textOf(source, path).replace(/^["`]|["`]$/g, '');
          const parts = p.split('/');
          let last = parts.pop() ?? '';
          if (/^v\d+$/.test(last) && parts.length) last = parts.pop()!;
          // gopkg.in/yaml.v3 -> yaml; anything else unusual: the name is a guess, say so.
          last = last.replace(/\.v\d+$/, '');
          imports.push({ name: /^[a-z_][a-z0-9_]*$/.test(last) ? last : null });
        }
        continue;
      }
      if (n.type !== 'identifier' && n.type !== 'package_identifier' && n.type !== 'label_name')
        continue;
      const p = n.parent;
      const inImport = hasAncestor(n, (a) => a.type === 'import_declaration');
      let decl = false;
      let write = false;
      let param = false;
      const qualifier =
        (p?.type === 'selector_expression' && n.field === 'operand') ||
        (p?.type === 'qualified_type' && n.field === 'package');
      if (p) {
        if (n.type === 'label_name' && p.type === 'labeled_statement') decl = true;
        // Unused local constants are allowed: a const name counts as a use of itself.
        if (p.type === 'var_spec' && n.field === 'name') decl = true;
        if (p.type === 'expression_list' && p.field === 'left') {
          const stmt = p.parent;
          if (stmt?.type === 'short_var_declaration' || stmt?.type === 'range_clause') decl = true;
          else if (stmt?.type === 'assignment_statement') write = true;
        }
        if (p.type === 'range_clause' && n.field === 'left') decl = true;
        if ((p.type === 'inc_statement' || p.type === 'dec_statement') && n === namedChildren(p)[0])
          write = true;
        if (p.type === 'type_switch_statement' && n.field === 'alias') decl = true;
        if (p.type === 'parameter_declaration' || p.type === 'variadic_parameter_declaration')
          decl = param = true;
      }
      names.push({
        text: textOf(source, n),
        start: n.start,
        end: n.end,
        decl,
        write,
        inImport,
        param,
        qualifier,
        scopeEnd: decl ? scopeOf(n).end : 0,
      });
    }
    this.goNames = names;
    this.goImports = imports;
    return { names, imports };
  }

  /**
   * Go: the range may hold the only use of a local variable, an import or a label declared
   * outside it ("declared and not used", "imported and not used", "label defined and not
   * used" are build errors in Go).
   */
  private goAllows(fn: SyntaxNode | null, start: number, end: number): boolean {
    const { names, imports } = this.goIndex();
    const inside = (x: GoName) => x.start >= start && x.end <= end;
    const removed = new Set(
      names.filter((x) => inside(x) && !x.decl && !x.write).map((x) => x.text),
    );
    if (removed.size === 0) return true;
    const importNames = new Set(imports.map((i) => i.name));
    const unknownImport = importNames.has(null);
    // The outermost function holds every local the range can see.
    let scope: SyntaxNode | null = fn;
    for (let p = fn?.parent ?? null; p; p = p.parent) {
      if (
        p.type === 'function_declaration' ||
        p.type === 'method_declaration' ||
        p.type === 'func_literal'
      )
        scope = p;
    }
    const inScope = (x: GoName) => !!scope && x.start >= scope.start && x.end <= scope.end;
    for (const name of removed) {
      if (name === '_') continue;
      const all = names.filter((x) => x.text === name);
      const use = (x: GoName) => !inside(x) && !x.decl && !x.write && !x.inImport;
      // A local (or label) declared in the function outside the range, and read nowhere else
      // in that function.
      // The innermost declaration whose scope holds the range (shadowing).
      let local: GoName | undefined;
      for (const x of all) {
        if (!x.decl || x.param || inside(x) || !inScope(x)) continue;
        if (x.start > start || x.scopeEnd < end) continue;
        if (!local || x.start > local.start) local = x;
      }
      if (local) {
        const { start: from, scopeEnd: to } = local;
        if (!all.some((x) => use(x) && x.start > from && x.end <= to)) return false;
        continue;
      }
      // An import (or maybe one, when an import's name is not known): nothing else uses it.
      if (all.some(use)) continue;
      if (importNames.has(name) || all.some((x) => x.inImport)) return false;
      if (unknownImport && all.some((x) => x.qualifier && inside(x)) && !all.some((x) => x.decl))
        return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// The generator

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

/** The innermost function (of the language's function types) holding `node`. */
function enclosingFunction(lang: LanguageId, node: SyntaxNode): SyntaxNode | null {
  for (let p = node.parent; p; p = p.parent) if (isFunctionNode(lang, p)) return p;
  return null;
}

/** The else edit: ` else {...}` from the end of the branch before it to the end. */
function elseEdit(
  parsed: ParsedFile,
  node: SyntaxNode,
): { edit: TextEdit; body: SyntaxNode; ifNode: SyntaxNode } | null {
  const { source, language } = parsed;
  const parent = node.parent;
  if (!parent) return null;
  if (language === 'python') {
    if (node.type !== 'else_clause' || parent.type !== 'if_statement') return null;
    const body = childByField(node, 'body');
    return body ? { edit: deleteRange(source, node.start, node.end), body, ifNode: parent } : null;
  }
  if (language === 'ruby') {
    if (node.type !== 'else' || !/^(if|unless|elsif)$/.test(parent.type)) return null;
    let ifNode = parent;
    while (ifNode.type === 'elsif' && ifNode.parent) ifNode = ifNode.parent;
    return { edit: deleteRange(source, node.start, node.end), body: node, ifNode };
  }
  if (language === 'go' || language === 'java') {
    // if_statement's `alternative` field, after an 'else' token.
    if (node.field !== 'alternative' || parent.type !== 'if_statement') return null;
    const consequence = childByField(parent, 'consequence');
    if (!consequence) return null;
    return {
      edit: { start: consequence.end, end: node.end, text: '' },
      body: node,
      ifNode: parent,
    };
  }
  if (node.type !== 'else_clause' || !SYNTAX[language].ifs.has(parent.type)) return null;
  const body = namedChildren(node)[0];
  const prev = parent.children[parent.children.indexOf(node) - 1];
  if (!body || !prev) return null;
  return { edit: { start: prev.end, end: node.end, text: '' }, body, ifNode: parent };
}

/** The statements an else body holds (empty: nothing to remove). */
function branchStatements(body: SyntaxNode): SyntaxNode[] {
  if (/^(statement_block|block|compound_statement|else|else_clause)$/.test(body.type)) {
    return blockStatements(body).filter((s) => s.type !== 'pass_statement');
  }
  return [body];
}

/** Every removal in a parsed file, before coverage, sampling and the syntax check. */
export function rawRemovals(parsed: ParsedFile): RawCandidate[] {
  const { source, language, file } = parsed;
  const py = language === 'python';
  const syntax = SYNTAX[language];
  const compiled = isCompiled(language);
  const guard = new CompileGuard(parsed);
  const out: RawCandidate[] = [];
  // Generated Go code is regenerated, not edited.
  if (language === 'go' && /^\/\/ Code generated .* DO NOT EDIT\.$/m.test(source)) return out;
  for (const fn of functionsOf(parsed)) {
    if (guard.isTestCode(fn.node)) continue;
    const c = functionBodyCandidate(parsed, fn, guard);
    if (c) out.push(c);
  }
  /**
   * A statement-level removal of `node` (the whole statement `stmt`) that still builds: the
   * edited range, the function's need for a final statement, a Rust block's value.
   */
  const buildable = (stmt: SyntaxNode, edit: TextEdit, checkEnd: boolean): boolean => {
    if (!compiled) return true;
    if (guard.inMacro(stmt)) return false;
    if (checkEnd && guard.endsValueFunction(stmt)) return false;
    if (guard.rustValueStatement(stmt)) return false;
    return guard.allows(enclosingFunction(language, stmt), edit.start, edit.end);
  };
  for (const node of descendants(parsed.root)) {
    if (!node.named) continue;
    if (language === 'rust' && (guard.isTestCode(node) || guard.inUnsafe(node))) continue;
    const where = `${file}:${node.startLine}`;
    const whole = wholeFunctionCandidate(parsed, node);
    if (whole) out.push(whole);
    const elseBranch = elseEdit(parsed, node);
    if (
      syntax.ifs.has(node.type) &&
      node.field !== 'alternative' &&
      node.parent?.type !== 'else_clause'
    ) {
      if (py && isMainGuard(source, node)) continue;
      // Rust: the statement is the expression_statement around the if.
      const stmt = language === 'rust' ? node.parent : node;
      if (!stmt || (language === 'rust' && stmt.type !== 'expression_statement')) continue;
      if (
        language === 'ruby' &&
        !hasAncestor(node, (p) => p.type === 'method' || p.type === 'singleton_method')
      )
        continue;
      const edit = deleteStatement(parsed, stmt);
      if (edit && buildable(stmt, edit, true)) {
        const cond = childByField(node, 'condition');
        const keyword = language === 'ruby' && /unless/.test(node.type) ? 'unless' : 'if';
        out.push({
          operator: 'remove-if-statement',
          description: `remove the if statement \`${keyword} ${snippet(cond ? textOf(source, cond) : '', 50)}\` (${where})`,
          edit,
          line: node.startLine,
          probeLines: [node.startLine],
        });
      }
    } else if (elseBranch) {
      const { edit, body, ifNode } = elseBranch;
      // An empty else (`else {}`, `else: pass`) removes nothing.
      const inside = branchStatements(body);
      if (inside.length === 0) continue;
      if (compiled) {
        let top = ifNode;
        while (top.parent && (top.parent.type === ifNode.type || top.parent.type === 'else_clause'))
          top = top.parent;
        const stmt = language === 'rust' ? top.parent : top;
        if (!stmt) continue;
        if (language === 'rust') {
          if (stmt.type !== 'expression_statement' || guard.rustValueStatement(stmt)) continue;
          // `if c { 1 } else { 2 };` without its else is ill-typed: the branch must be `()`.
          const consequence = childByField(ifNode, 'consequence');
          const last = consequence && namedChildren(consequence).pop();
          const unitTail =
            /^(expression_statement|let_declaration|assignment_expression|compound_assignment_expr|\w+_item)$/;
          if (last && !unitTail.test(last.type)) continue;
          if (
            last?.type === 'expression_statement' &&
            !textOf(source, last).trimEnd().endsWith(';')
          )
            continue;
        }
        if (!buildable(stmt, edit, true)) continue;
      }
      out.push({
        operator: 'remove-else-branch',
        description: `remove the else branch (${where})`,
        edit,
        line: node.startLine,
        probeLines: statementLines(body),
      });
    } else if (
      (py && node.type === 'elif_clause') ||
      (language === 'ruby' && node.type === 'elsif')
    ) {
      const cond = childByField(node, 'condition');
      // Ruby: the elsif holds the branches after it; keep those.
      const next = language === 'ruby' ? childByField(node, 'alternative') : undefined;
      const edit = next
        ? { start: node.start, end: next.start, text: '' }
        : deleteRange(source, node.start, node.end);
      out.push({
        operator: 'remove-else-branch',
        description: `remove the branch \`${py ? 'elif' : 'elsif'} ${snippet(cond ? textOf(source, cond) : '', 50)}\` (${where})`,
        edit,
        line: node.startLine,
        probeLines: [node.startLine],
      });
    } else if (syntax.loops.has(node.type)) {
      const stmt = language === 'rust' ? node.parent : node;
      if (!stmt || (language === 'rust' && stmt.type !== 'expression_statement')) continue;
      if (
        language === 'ruby' &&
        !hasAncestor(node, (p) => p.type === 'method' || p.type === 'singleton_method')
      )
        continue;
      const edit = deleteStatement(parsed, stmt);
      if (edit && buildable(stmt, edit, true)) {
        out.push({
          operator: 'remove-loop',
          description: `remove the loop \`${snippet(textOf(source, node).split('\n')[0]!, 50)}\` (${where})`,
          edit,
          line: node.startLine,
          probeLines: [node.startLine],
        });
      }
    } else if (isActingStatement(parsed, node)) {
      const edit = deleteStatement(parsed, node);
      if (edit && buildable(node, edit, language === 'rust')) {
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

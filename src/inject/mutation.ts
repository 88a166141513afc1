/**
 * Classic mutation operators (as in StrykerJS, mutmut, PIT and cargo-mutants), one small edit
 * per candidate, on JavaScript, TypeScript, Python, Go, Rust, Java, C, C++ and Ruby trees:
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
 * - return-value: `return x` -> `return null` / `None` / `nil` (`0` for arithmetic, `!(x)` /
 *   `not (x)` for logical combinations); in the typed languages the zero value of the declared
 *   result type instead (Go `return 0, err`, Java `return null;` / `0` / `""`, Rust `None`,
 *   C `0`), and no candidate where the type has none; returned literals are left to the
 *   literal operators
 * - literal-number: n -> n + 1 (decimal integers and plain decimals; in the compiled languages
 *   also hexadecimal, digit separators and type suffixes: `0x1f`, `1_000`, `1u32`, `10L`,
 *   `1.5f`; values at a type's boundary such as 255 or 0x7fffffff are left alone)
 * - literal-boolean: true <-> false, True <-> False
 * - literal-string: a non-empty string -> an empty one
 *
 * Removing a call statement is a removal operator ('remove-statement' in removal.ts), not here.
 *
 * Never mutated: comments and text inside strings (the tree only offers real tokens), type
 * annotations and declarations, import / export-from / require / dynamic import / use /
 * include, docstrings and directives ('use strict'), object and dict keys, messages of throw /
 * raise / panic, arguments of logging calls, format strings of the compiled languages, version
 * strings (`VERSION = "1.2.3"`), the `if __name__ == "__main__"` guard, Rust macros, patterns,
 * attributes and unit tests (`#[cfg(test)]`), Java annotations, C/C++ preprocessor lines, and
 * case labels (a changed label can duplicate another: a build error in Go, Java and C).
 */
import {
  childByField,
  descendants,
  isComment,
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
  CompileGuard,
  goResultTypes,
  goZeroValue,
  isCompiled,
  LOGGING_CALLEES,
  rustZeroValue,
} from './removal.js';
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
/** The C family, Go, Rust and Ruby (`===`, `=~` and `<=>` of Ruby are left alone). */
const RELATIONAL = new Set(['<', '<=', '>', '>=', '==', '!=']);
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

/** What mutation needs to know of a grammar: node types by role. */
interface MutationSyntax {
  /** Binary operations with `left`, `operator` and `right` fields. */
  binary: ReadonlySet<string>;
  /** Operators a binary node may have that relational-swap negates. */
  relational: ReadonlySet<string>;
  /** Compound assignments (`+=`...) with an `operator` field. */
  compound: ReadonlySet<string>;
  /** Nodes holding a `++` / `--` token. */
  updates: ReadonlySet<string>;
  /** Unary operations (`!x`, `not x`). */
  unary: ReadonlySet<string>;
  /** Statements and expressions whose condition negate-condition negates. */
  conditions: ReadonlySet<string>;
  returns: ReadonlySet<string>;
  numbers: ReadonlySet<string>;
  booleans: ReadonlySet<string>;
  strings: ReadonlySet<string>;
  calls: ReadonlySet<string>;
  /** Statements whose strings are messages (throw, raise). */
  throws: ReadonlySet<string>;
  /** Literal value types: a returned literal is left to the literal operators. */
  literals: ReadonlySet<string>;
  /** Ancestors under which nothing is mutated (besides `*_type` nodes in typed languages). */
  skip: ReadonlySet<string>;
}

const JS_MUTATION: MutationSyntax = {
  binary: new Set(['binary_expression']),
  relational: JS_RELATIONAL,
  compound: new Set(['augmented_assignment_expression']),
  updates: new Set(['update_expression']),
  unary: new Set(['unary_expression']),
  conditions: new Set(['if_statement', 'while_statement', 'do_statement', 'ternary_expression']),
  returns: new Set(['return_statement']),
  numbers: new Set(['number']),
  booleans: new Set(['true', 'false']),
  strings: new Set(['string', 'template_string']),
  calls: new Set(['call_expression']),
  throws: new Set(['throw_statement']),
  literals: new Set(['true', 'false', 'null', 'undefined', 'number', 'string', 'template_string']),
  skip: new Set([
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
  ]),
};
const C_MUTATION: MutationSyntax = {
  binary: new Set(['binary_expression']),
  relational: RELATIONAL,
  compound: new Set(['assignment_expression']),
  updates: new Set(['update_expression']),
  unary: new Set(['unary_expression']),
  conditions: new Set([
    'if_statement',
    'while_statement',
    'do_statement',
    'conditional_expression',
  ]),
  returns: new Set(['return_statement']),
  numbers: new Set(['number_literal']),
  booleans: new Set(['true', 'false']),
  strings: new Set(['string_literal']),
  calls: new Set(['call_expression']),
  throws: new Set(['throw_statement', 'throw_expression']),
  literals: new Set([
    'true',
    'false',
    'null',
    'nullptr',
    'number_literal',
    'string_literal',
    'char_literal',
    'concatenated_string',
  ]),
  skip: new Set([
    'preproc_include',
    'preproc_def',
    'preproc_function_def',
    'preproc_call',
    'template_argument_list',
    'template_parameter_list',
    'type_descriptor',
    'enumerator_list',
    'bitfield_clause',
    'static_assert_declaration',
    'attribute_specifier',
    'attribute_declaration',
    'gnu_asm_expression',
    'ms_declspec_modifier',
  ]),
};
const MUTATION: Record<LanguageId, MutationSyntax> = {
  javascript: JS_MUTATION,
  typescript: JS_MUTATION,
  tsx: JS_MUTATION,
  python: {
    binary: new Set(['binary_operator', 'boolean_operator']),
    relational: new Set(),
    compound: new Set(['augmented_assignment']),
    updates: new Set(),
    unary: new Set(['not_operator']),
    conditions: new Set([
      'if_statement',
      'elif_clause',
      'while_statement',
      'conditional_expression',
    ]),
    returns: new Set(['return_statement']),
    numbers: new Set(['integer', 'float']),
    booleans: new Set(['true', 'false']),
    strings: new Set(['string']),
    calls: new Set(['call']),
    throws: new Set(['raise_statement']),
    literals: new Set([
      'true',
      'false',
      'none',
      'integer',
      'float',
      'string',
      'concatenated_string',
    ]),
    skip: new Set([
      'import_statement',
      'import_from_statement',
      'future_import_statement',
      'type',
      'type_alias_statement',
      'decorator',
    ]),
  },
  go: {
    binary: new Set(['binary_expression']),
    relational: RELATIONAL,
    compound: new Set(['assignment_statement']),
    updates: new Set(['inc_statement', 'dec_statement']),
    unary: new Set(['unary_expression']),
    conditions: new Set(['if_statement']),
    returns: new Set(['return_statement']),
    numbers: new Set(['int_literal', 'float_literal']),
    booleans: new Set(['true', 'false']),
    strings: new Set(['interpreted_string_literal', 'raw_string_literal']),
    calls: new Set(['call_expression']),
    throws: new Set(),
    literals: new Set([
      'true',
      'false',
      'nil',
      'iota',
      'int_literal',
      'float_literal',
      'rune_literal',
      'imaginary_literal',
      'interpreted_string_literal',
      'raw_string_literal',
    ]),
    skip: new Set([
      'import_declaration',
      'package_clause',
      'type_declaration',
      'type_parameter_list',
      'type_arguments',
      'type_elem',
    ]),
  },
  rust: {
    binary: new Set(['binary_expression']),
    relational: RELATIONAL,
    compound: new Set(['compound_assignment_expr']),
    updates: new Set(),
    unary: new Set(['unary_expression']),
    conditions: new Set(['if_expression', 'while_expression']),
    returns: new Set(['return_expression']),
    numbers: new Set(['integer_literal', 'float_literal']),
    booleans: new Set(['boolean_literal']),
    strings: new Set(['string_literal', 'raw_string_literal']),
    calls: new Set(['call_expression']),
    throws: new Set(),
    literals: new Set([
      'boolean_literal',
      'integer_literal',
      'float_literal',
      'string_literal',
      'raw_string_literal',
      'char_literal',
      'unit_expression',
    ]),
    skip: new Set([
      'use_declaration',
      'extern_crate_declaration',
      'attribute_item',
      'inner_attribute_item',
      'macro_invocation',
      'macro_definition',
      'type_arguments',
      'type_parameters',
      'where_clause',
      'trait_bounds',
      'type_item',
      'match_pattern',
      'unsafe_block',
      'const_item',
      'static_item',
    ]),
  },
  java: {
    binary: new Set(['binary_expression']),
    relational: RELATIONAL,
    compound: new Set(['assignment_expression']),
    updates: new Set(['update_expression']),
    unary: new Set(['unary_expression']),
    conditions: new Set(['if_statement', 'while_statement', 'do_statement', 'ternary_expression']),
    returns: new Set(['return_statement']),
    numbers: new Set([
      'decimal_integer_literal',
      'hex_integer_literal',
      'decimal_floating_point_literal',
    ]),
    booleans: new Set(['true', 'false']),
    strings: new Set(['string_literal']),
    calls: new Set(['method_invocation', 'object_creation_expression']),
    throws: new Set(['throw_statement']),
    literals: new Set([
      'true',
      'false',
      'null_literal',
      'decimal_integer_literal',
      'hex_integer_literal',
      'octal_integer_literal',
      'binary_integer_literal',
      'decimal_floating_point_literal',
      'hex_floating_point_literal',
      'string_literal',
      'character_literal',
    ]),
    skip: new Set([
      'package_declaration',
      'import_declaration',
      'annotation',
      'marker_annotation',
      'type_arguments',
      'type_parameters',
      'type_list',
      'switch_label',
      'module_declaration',
      'annotation_type_declaration',
      'dimensions',
    ]),
  },
  c: C_MUTATION,
  cpp: C_MUTATION,
  ruby: {
    binary: new Set(['binary']),
    relational: RELATIONAL,
    compound: new Set(['operator_assignment']),
    updates: new Set(),
    unary: new Set(['unary']),
    conditions: new Set(['if', 'elsif', 'while', 'if_modifier', 'while_modifier', 'conditional']),
    returns: new Set(['return']),
    numbers: new Set(['integer', 'float']),
    booleans: new Set(['true', 'false']),
    strings: new Set(['string']),
    calls: new Set(['call']),
    throws: new Set(),
    literals: new Set(['true', 'false', 'nil', 'integer', 'float', 'string', 'simple_symbol']),
    skip: new Set(),
  },
};

/** Calls whose string arguments are messages (errors, panics, assertions), per language. */
const MESSAGE_CALLEE: Partial<Record<LanguageId, RegExp>> = {
  go: /^(errors\.New|fmt\.Errorf|panic|\w+\.(Errorf|Fatalf|Fatal|Error|Logf|Log|Skipf|Skip|Panicf|Panic|Wrapf?))$/,
  rust: /\.(expect|expect_err)$|^(panic|unreachable|todo|unimplemented)$/,
  java: /^(Objects\.requireNonNull|Preconditions\.\w+|Validate\.\w+|Assert\.\w+|\w*Exception|\w*Error)$|^new /,
  ruby: /^(raise|fail|warn|abort)$/,
};

/** Calls whose string arguments are module names (never data). */
const RUBY_STRUCTURAL_CALL =
  /^(require|require_relative|load|autoload|gem|include|extend|prepend|attr_\w+|private|protected|public|module_function|private_constant|alias_method|define_method|instance_variable_get|instance_variable_set|const_get|send|public_send|respond_to\?)$/;

/** printf-style verbs: a string holding one is a format, not data. */
const FORMAT_VERB = /%[-+ #0]*(\d+|\*)?(\.(\d+|\*))?[hlLqjzt]*[sdvfqxXeEgGtTcpbouiw%]/;
/** `1.2.3`, `v2.0.1-beta`: version numbers. */
const VERSION_STRING = /^v?\d+\.\d+(\.\d+)?([-+.][\w.-]*)?$/;

function isComparisonNode(lang: LanguageId, source: string, node: SyntaxNode): boolean {
  if (lang === 'python') return node.type === 'comparison_operator';
  if (!MUTATION[lang].binary.has(node.type)) return false;
  const op = childByField(node, 'operator');
  return !!op && MUTATION[lang].relational.has(textOf(source, op));
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

function isStringNode(lang: LanguageId, n: SyntaxNode | undefined): boolean {
  if (!n) return false;
  if (n.type === 'concatenated_string' || n.type === 'template_string') return true;
  return MUTATION[lang].strings.has(n.type) || n.type === 'string';
}

/** Declared types whose `+` is concatenation, per language. */
const STRING_TYPE: Partial<Record<LanguageId, RegExp>> = {
  go: /^(string|\[\]byte)$/,
  rust: /\b(str|String|Cow|OsString|PathBuf)\b/,
  java: /^(final\s+)?(String|CharSequence|StringBuilder|StringBuffer)$/,
  cpp: /\b(string|wstring|string_view|u8string|u16string|u32string|QString)\b/,
};
/** Calls that return strings, per language. */
const STRING_CALL: Partial<Record<LanguageId, RegExp>> = {
  go: /^(fmt\.Sprint\w*|strings\.\w+|strconv\.(Itoa|Format\w*|Quote\w*)|filepath\.\w+|path\.\w+|string|hex\.EncodeToString|base64\.\w+\.EncodeToString)$|\.(String|Error|Name|Type)$/,
  rust: /(\.to_string|\.to_owned|\.to_uppercase|\.to_lowercase|String::from|String::new|\.join|\.repeat|\.replace|\.concat|\.clone|\.to_string_lossy|\.into_owned|\.display)$/,
  java: /(\.toString|String\.valueOf|String\.format|String\.join|\.substring|\.trim|\.strip|\.toLowerCase|\.toUpperCase|\.replace\w*|\.getName|\.getSimpleName|\.getMessage|\.name|\.repeat|\.format|\.concat)$/,
  cpp: /(std::to_string|to_string|\.str|\.substr|std::string|string)$/,
  ruby: /\.(to_s|join|inspect|name|upcase|downcase|strip|capitalize|gsub|sub|format)$|^(format|sprintf)$/,
};

class Context {
  private readonly skipCache = new Map<SyntaxNode, boolean>();
  private readonly testCode: (n: SyntaxNode) => boolean;
  private declTypes: Map<string, string[]> | undefined;
  readonly guard: CompileGuard;
  constructor(private readonly parsed: ParsedFile) {
    this.testCode = rustTestCode(parsed);
    this.guard = new CompileGuard(parsed);
  }

  /** True when `node` lies where mutations make no sense (types, imports, ...). */
  skipped(node: SyntaxNode): boolean {
    const cached = this.skipCache.get(node);
    if (cached !== undefined) return cached;
    const result = node.parent
      ? this.skipsSubtree(node.parent) || this.skipped(node.parent)
      : this.testCode(node);
    this.skipCache.set(node, result);
    return result;
  }

  private skipsSubtree(n: SyntaxNode): boolean {
    const { source, language } = this.parsed;
    const syntax = MUTATION[language];
    if (syntax.skip.has(n.type)) return true;
    switch (language) {
      case 'python':
        if (n.type === 'if_statement') {
          const cond = childByField(n, 'condition');
          return !!cond && /^__name__\s*==\s*['"]__main__['"]$/.test(textOf(source, cond).trim());
        }
        if (n.type === 'call') {
          const callee = childByField(n, 'function');
          return !!callee && textOf(source, callee) === '__import__';
        }
        return false;
      case 'ruby':
        if (n.type === 'call') {
          const method = childByField(n, 'method');
          return (
            !childByField(n, 'receiver') &&
            !!method &&
            RUBY_STRUCTURAL_CALL.test(textOf(source, method))
          );
        }
        return false;
      case 'go':
        return /_type$/.test(n.type);
      case 'java':
        return /_type$/.test(n.type) && n.type !== 'void_type';
      case 'rust':
        if (/_type$|_pattern$/.test(n.type)) return true;
        if (n.type === 'function_item') {
          const mods = n.children.find((c) => c.type === 'function_modifiers');
          if (mods && /\b(const|unsafe)\b/.test(textOf(source, mods))) return true;
        }
        return this.testCode(n);
      case 'c':
      case 'cpp':
        if (/_type$/.test(n.type)) return true;
        if (n.field === 'condition' && n.parent?.type.startsWith('preproc_')) return true;
        if (n.type === 'linkage_specification') return false;
        return false;
    }
    // JavaScript-like
    if (/_type$/.test(n.type)) return true;
    if (n.type === 'export_statement') return !!childByField(n, 'source');
    if (n.type === 'call_expression') {
      const callee = childByField(n, 'function');
      if (!callee) return false;
      const name = textOf(source, callee);
      return name === 'require' || callee.type === 'import' || name === 'import';
    }
    return false;
  }

  /**
   * Literals whose change cannot build or means nothing: case labels and composite keys (a
   * changed one may duplicate another), constant indexes and array lengths (out of bounds at
   * compile time), Rust tuple fields (`t.0`), C enum values and array sizes.
   */
  literalPinned(node: SyntaxNode): boolean {
    const { language } = this.parsed;
    for (let n = node, p = node.parent; p; n = p, p = p.parent) {
      switch (p.type) {
        case 'expression_case':
        case 'case_statement':
        case 'type_case':
          if (n.field === 'value' || n.field === 'type') return true;
          return false;
        case 'keyed_element':
          return n === namedChildren(p)[0];
        case 'index_expression':
          return language === 'go' || language === 'rust'
            ? n.field !== 'operand' && n !== namedChildren(p)[0]
            : false;
        case 'field_expression':
          return language === 'rust' && n.field === 'field';
        case 'array_expression':
          return n.field === 'length';
        case 'array_declarator':
          return n.field === 'size';
        case 'initializer_list':
          // `{0}` zero-initializes any aggregate; `{1}` may not even convert.
          return namedChildren(p).length === 1 && textOf(this.parsed.source, node) === '0';
        case 'parenthesized_expression':
        case 'unary_expression':
        case 'literal_element':
        case 'expression_list':
          continue;
        default:
          return false;
      }
    }
    return false;
  }

  /** Name -> declared type texts (parameters, variables, fields) in this file. */
  private declarations(): Map<string, string[]> {
    if (this.declTypes) return this.declTypes;
    const { source, language, root } = this.parsed;
    const m = new Map<string, string[]>();
    const add = (name: SyntaxNode | undefined, type: string) => {
      if (!name) return;
      const key = textOf(source, name);
      const list = m.get(key);
      if (list) list.push(type);
      else m.set(key, [type]);
    };
    for (const n of descendants(root)) {
      const type = childByField(n, 'type');
      switch (n.type) {
        case 'parameter_declaration':
        case 'var_spec':
        case 'field_declaration':
        case 'const_spec': {
          if (language === 'go') {
            const value = childByField(n, 'value');
            const t = type
              ? textOf(source, type)
              : value && isStringNode(language, namedChildren(value)[0])
                ? 'string'
                : '';
            for (const name of n.children.filter((c) => c.field === 'name')) add(name, t);
          } else if (type) {
            // C/C++ parameters and fields: the name inside the declarator.
            for (const d of n.children.filter((c) => c.field === 'declarator')) {
              let inner: SyntaxNode | undefined = d;
              while (inner && childByField(inner, 'declarator'))
                inner = childByField(inner, 'declarator');
              add(inner ?? childByField(d, 'name'), textOf(source, type));
            }
            add(childByField(n, 'name'), textOf(source, type));
          }
          break;
        }
        case 'short_var_declaration': {
          const left = childByField(n, 'left');
          const right = childByField(n, 'right');
          if (!left || !right) break;
          const names = namedChildren(left);
          const values = namedChildren(right);
          names.forEach((name, i) => {
            add(name, values[i] && this.stringValue(values[i]!, 0, false) ? 'string' : '');
          });
          break;
        }
        case 'parameter':
        case 'let_declaration':
        case 'static_item': {
          const pat = childByField(n, 'pattern') ?? childByField(n, 'name');
          const value = childByField(n, 'value');
          add(
            pat,
            type
              ? textOf(source, type)
              : value && this.stringValue(value, 0, false)
                ? 'String'
                : '',
          );
          break;
        }
        case 'formal_parameter':
          add(childByField(n, 'name'), type ? textOf(source, type) : '');
          break;
        case 'local_variable_declaration':
        case 'declaration':
          if (!type) break;
          for (const d of n.children.filter((c) => c.field === 'declarator')) {
            let inner: SyntaxNode | undefined = d;
            while (inner && (childByField(inner, 'declarator') || childByField(inner, 'name')))
              inner = childByField(inner, 'declarator') ?? childByField(inner, 'name');
            add(inner, textOf(source, type));
          }
          break;
      }
    }
    this.declTypes = m;
    return m;
  }

  /** A value known to be a string: a literal, a string-returning call, a string variable. */
  stringValue(node: SyntaxNode, depth = 0, lookup = true): boolean {
    const { source, language } = this.parsed;
    const n = unparenthesized(node);
    if (isStringNode(language, n)) return true;
    if (depth > 4) return false;
    if (MUTATION[language].binary.has(n.type)) {
      const op = childByField(n, 'operator');
      if (!op || textOf(source, op) !== '+') return false;
      const left = childByField(n, 'left');
      const right = childByField(n, 'right');
      return (
        (!!left && this.stringValue(left, depth + 1, lookup)) ||
        (!!right && this.stringValue(right, depth + 1, lookup))
      );
    }
    if (language === 'rust' && n.type === 'macro_invocation') {
      const m = childByField(n, 'macro');
      return !!m && /^(format|concat|stringify|include_str)$/.test(textOf(source, m));
    }
    if (language === 'rust' && n.type === 'reference_expression') {
      const inner = childByField(n, 'value');
      return !!inner && this.stringValue(inner, depth + 1, lookup);
    }
    if (MUTATION[language].calls.has(n.type)) {
      const callee = calleeOf(language, source, n);
      return !!callee && !!STRING_CALL[language]?.test(callee);
    }
    const stringType = STRING_TYPE[language];
    if (!stringType || !lookup) return false;
    let name: SyntaxNode | undefined;
    if (n.type === 'identifier') name = n;
    else if (/^(selector_expression|field_expression|field_access)$/.test(n.type))
      name = childByField(n, 'field');
    if (!name) return false;
    const types = this.declarations().get(textOf(source, name));
    return !!types?.some((t) => stringType.test(t.trim()) || t === 'string' || t === 'String');
  }
}

/** The callee text of a call node (Java: `object.name`; Ruby: `receiver.method`). */
function calleeOf(lang: LanguageId, source: string, call: SyntaxNode): string | null {
  if (lang === 'java') {
    if (call.type === 'object_creation_expression') {
      const type = childByField(call, 'type');
      return type ? textOf(source, type) : null;
    }
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

/** Type suffixes of number literals, per language. */
const NUMBER_SUFFIX: Partial<Record<LanguageId, RegExp>> = {
  rust: /_?(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64)$/,
  java: /[lLfFdD]$/,
  c: /([uU](ll|LL|l|L|z|Z)?|(ll|LL|l|L|z|Z)[uU]?|[fFlL]|f16|f32|f64|bf16)$/,
  cpp: /([uU](ll|LL|l|L|z|Z)?|(ll|LL|l|L|z|Z)[uU]?|[fFlL]|f16|f32|f64|bf16)$/,
};

/**
 * n + 1 for a number literal of `lang`, keeping its base prefix (`0x`) and type suffix
 * (`u32`, `L`, `f`); digit separators (`1_000`, `1'000`) are dropped. Null for octal and
 * binary literals, exponents, and integers at a type boundary (127, 255, 0xffff,
 * 2147483647...: one more overflows the type, a build error in Rust, Go and Java).
 */
export function incrementLiteral(lang: LanguageId, text: string): string | null {
  if (isJavaScriptLike(lang) || lang === 'python') return incrementNumber(text);
  let body = text;
  let suffix = '';
  const hex = /^0[xX]/.test(body);
  const suffixRe = NUMBER_SUFFIX[lang];
  if (suffixRe && !(hex && (lang === 'c' || lang === 'cpp' || lang === 'java'))) {
    const m = suffixRe.exec(body);
    if (m && m.index > 0) {
      suffix = m[0];
      body = body.slice(0, m.index);
    }
  } else if (hex && suffixRe) {
    // C/Java hex: only integer suffixes (the letters a-f are digits).
    const m = /([uU]?[lL]{0,2}[uU]?)$/.exec(body);
    if (m?.[0] && m.index > 2) {
      suffix = m[0];
      body = body.slice(0, m.index);
    }
  }
  const digits = body.replace(/[_']/g, '');
  let next: bigint;
  if (hex) {
    if (!/^0[xX][0-9a-fA-F]+$/.test(digits)) return null;
    next = BigInt(digits) + 1n;
    let out = next.toString(16);
    if (/[A-F]/.test(digits)) out = out.toUpperCase();
    if (atBoundary(next)) return null;
    return `${digits.slice(0, 2)}${out}${suffix}`;
  }
  const float = /^(\d*)\.(\d+)$/.exec(digits);
  if (float) {
    if (/^[fFdD]$|^f(32|64)$/.test(suffix) === false && suffix && lang !== 'rust') return null;
    const int = float[1] ?? '';
    if (int.length > 15) return null;
    if (int.length > 1 && int.startsWith('0')) return null;
    return `${Number(int || '0') + 1}.${float[2]}${suffix}`;
  }
  if (!/^\d+$/.test(digits)) return null; // 0b, 0o, exponents, imaginary, rationals
  if (digits.length > 1 && digits.startsWith('0')) return null; // octal
  if (digits.length > 30) return null;
  next = BigInt(digits) + 1n;
  if (atBoundary(next)) return null;
  return `${next}${suffix}`;
}

/** One past a type's maximum (2^7, 2^8, 2^15, ... 2^64). */
function atBoundary(next: bigint): boolean {
  if (next < 128n) return false;
  return (next & (next - 1n)) === 0n;
}

/** Every mutation in a parsed file, before coverage, sampling and the syntax check. */
export function rawMutations(parsed: ParsedFile): RawCandidate[] {
  const { source, language, file } = parsed;
  const py = language === 'python';
  const syntax = MUTATION[language];
  const compiled = isCompiled(language);
  const ctx = new Context(parsed);
  const out: RawCandidate[] = [];
  if (language === 'go' && /^\/\/ Code generated .* DO NOT EDIT\.$/m.test(source)) return out;
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
  /** `+` (or `+=`) on strings is concatenation, not arithmetic. */
  const concatenation = (left: SyntaxNode | undefined, right: SyntaxNode | undefined) => {
    if (isStringNode(language, left) || isStringNode(language, right)) return true;
    if (py || isJavaScriptLike(language)) return false;
    return (!!left && ctx.stringValue(left)) || (!!right && ctx.stringValue(right));
  };

  /**
   * Go: `x == a || x == b` -> `&&` (and `x != a && x != b` -> `||`) is always false (true):
   * `go vet`, which `go test` runs, rejects it as a suspect and/or, so the tests never run.
   */
  const vetSuspect = (node: SyntaxNode, op: string): boolean => {
    if (language !== 'go') return false;
    const eq = op === '||' ? '==' : op === '&&' ? '!=' : null;
    if (!eq) return false;
    const sides = [childByField(node, 'left'), childByField(node, 'right')].map((x) =>
      x ? unparenthesized(x) : undefined,
    );
    const lefts = sides.map((x) => {
      const o = x && x.type === 'binary_expression' ? childByField(x, 'operator') : undefined;
      const l = x && childByField(x, 'left');
      return o && l && textOf(source, o) === eq ? textOf(source, l) : null;
    });
    return lefts[0] !== null && lefts[0] === lefts[1];
  };

  for (const node of descendants(parsed.root)) {
    if (!node.named || isComment(node) || ctx.skipped(node)) continue;
    const type = node.type;
    if (syntax.binary.has(type)) {
      const op = childByField(node, 'operator');
      if (!op) continue;
      const t = textOf(source, op);
      const left = childByField(node, 'left');
      const right = childByField(node, 'right');
      if (t in BOUNDARY) replaceToken('relational-boundary', op, BOUNDARY[t]!);
      if (!py && syntax.relational.has(t)) replaceToken('relational-swap', op, RELATIONAL_SWAP[t]!);
      if (t in LOGICAL && (t !== '??' || isJavaScriptLike(language)) && !vetSuspect(node, t))
        replaceToken('logical-swap', op, LOGICAL[t]!);
      if (t in ARITHMETIC) {
        // String concatenation, formatting and repetition are not arithmetic.
        const stringy =
          concatenation(left, right) ||
          (t === '*' && language === 'ruby' && isStringNode(language, left));
        const listy =
          (py || language === 'ruby') &&
          [left?.type, right?.type].some((x) => x === 'list' || x === 'tuple' || x === 'array');
        if (!stringy && !listy) replaceToken('arithmetic-swap', op, ARITHMETIC[t]!);
      }
      continue;
    }
    if (syntax.compound.has(type)) {
      const op = childByField(node, 'operator');
      const left = childByField(node, 'left');
      const right = childByField(node, 'right');
      if (!op || isStringNode(language, right)) continue;
      const t = textOf(source, op);
      if (!(t in COMPOUND)) continue;
      if (t === '+=' && !py && !isJavaScriptLike(language) && concatenation(left, right)) continue;
      replaceToken('arithmetic-swap', op, COMPOUND[t]!);
      continue;
    }
    if (syntax.updates.has(type)) {
      const op =
        childByField(node, 'operator') ??
        node.children.find((c) => c.type === '++' || c.type === '--');
      if (!op) continue;
      const t = textOf(source, op);
      if (t === '++' || t === '--') replaceToken('arithmetic-swap', op, t === '++' ? '--' : '++');
      continue;
    }
    if (syntax.unary.has(type)) {
      const op = childByField(node, 'operator') ?? node.children[0];
      const arg =
        childByField(node, 'argument') ?? childByField(node, 'operand') ?? namedChildren(node)[0];
      if (!op || !arg || op === arg) continue;
      const t = textOf(source, op);
      if (t !== '!' && t !== 'not') continue;
      out.push({
        operator: 'remove-negation',
        description: `\`${snippet(textOf(source, node), 40)}\` -> \`${snippet(textOf(source, arg), 40)}\` (${file}:${node.startLine})`,
        edit: { start: op.start, end: arg.start, text: '' },
        line: op.startLine,
        probeLines: [op.startLine],
      });
      continue;
    }
    if (type === 'comparison_operator' && py) {
      for (const op of node.children.filter((c) => c.field === 'operators')) {
        const t = textOf(source, op).replace(/\s+/g, ' ');
        if (t in BOUNDARY) replaceToken('relational-boundary', op, BOUNDARY[t]!);
        if (t in RELATIONAL_SWAP) replaceToken('relational-swap', op, RELATIONAL_SWAP[t]!);
      }
      continue;
    }
    if (syntax.conditions.has(type)) {
      negateCondition(parsed, ctx, node, add);
      // No continue: a Python conditional_expression is also an expression with children.
    }
    if (syntax.returns.has(type)) {
      const c = returnValue(parsed, ctx, node);
      if (c) add('return-value', c.target, c.to, c.what);
      continue;
    }
    if (syntax.numbers.has(type)) {
      if (node.field === 'key') continue; // { 1: x }
      if (compiled && ctx.literalPinned(node)) continue;
      if (isVersionLiteral(parsed, node)) continue;
      const to = incrementLiteral(language, textOf(source, node));
      if (to !== null) replaceToken('literal-number', node, to);
      continue;
    }
    if (syntax.booleans.has(type)) {
      if (compiled && ctx.literalPinned(node)) continue;
      const t = textOf(source, node);
      const to = { true: 'false', false: 'true', True: 'False', False: 'True' }[t];
      if (to) replaceToken('literal-boolean', node, to);
      continue;
    }
    if (syntax.strings.has(type) || (isJavaScriptLike(language) && type === 'template_string')) {
      if (stringIsExempt(parsed, ctx, node)) continue;
      const to = emptyString(language, source, node);
      if (to !== null)
        add('literal-string', node, to, `\`${snippet(textOf(source, node), 40)}\` -> \`${to}\``);
    }
  }
  return out;
}

function negateCondition(
  parsed: ParsedFile,
  ctx: Context,
  node: SyntaxNode,
  add: (operator: string, node: SyntaxNode, text: string, what: string) => void,
): void {
  const { source, language } = parsed;
  const py = language === 'python';
  let cond =
    node.type === 'conditional_expression' && py
      ? namedChildren(node)[1]
      : childByField(node, 'condition');
  if (!cond) return;
  if (cond.type === 'condition_clause') {
    // C++: `if (init; value)`; a declaration as condition has no value to negate.
    if (childByField(cond, 'initializer')) return;
    const value = childByField(cond, 'value');
    if (!value || value.type === 'declaration' || /declaration/.test(value.type)) return;
    cond = value;
  }
  if (language === 'rust' && /let_condition|let_chain/.test(cond.type)) return;
  const inner = unparenthesized(cond);
  if (isComparisonNode(language, source, inner)) return;
  if (inner.type === 'not_operator') return;
  if (MUTATION[language].unary.has(inner.type) && /^(!|not\b)/.test(textOf(source, inner))) return;
  if (ctx.skipped(cond)) return; // the __main__ guard
  const c = textOf(source, inner);
  let text: string;
  let target = cond;
  if (py) text = `not (${textOf(source, cond)})`;
  else if (
    cond.type === 'parenthesized_expression' &&
    node.type !== 'ternary_expression' &&
    node.type !== 'conditional_expression'
  ) {
    // if (c) -> if (!(c)): the parentheses belong to the statement.
    target = inner;
    text = `!(${c})`;
  } else text = `!(${textOf(source, cond)})`;
  add('negate-condition', target, text, `negate the condition \`${snippet(c, 50)}\``);
}

/** The function (not a closure or lambda) a return statement returns from, or null. */
function returningFunction(lang: LanguageId, node: SyntaxNode): SyntaxNode | null {
  for (let p = node.parent; p; p = p.parent) {
    if (isFunctionNode(lang, p) || p.type === 'func_literal') return p;
    if (
      /^(closure_expression|lambda_expression|arrow_function|lambda|block|do_block)$/.test(p.type)
    ) {
      // Rust/Java/C++ closures and Ruby blocks: their result type is not written down.
      if (lang === 'rust' || lang === 'java' || lang === 'cpp' || lang === 'c') {
        if (p.type !== 'block') return null;
      }
      if (lang === 'ruby' && (p.type === 'block' || p.type === 'do_block')) return null;
    }
  }
  return null;
}

/** The return-value mutation of a return statement: what to replace, and with what. */
function returnValue(
  parsed: ParsedFile,
  ctx: Context,
  node: SyntaxNode,
): { target: SyntaxNode; to: string; what: string } | null {
  const { source, language } = parsed;
  const py = language === 'python';
  const syntax = MUTATION[language];
  let arg = namedChildren(node)[0];
  if (!arg) return null;
  if (language === 'ruby' && arg.type === 'argument_list') {
    const args = namedChildren(arg);
    if (args.length !== 1) return null;
    arg = args[0]!;
  }
  if (language === 'go') return goReturnValue(parsed, ctx, node, arg);
  const value = unparenthesized(arg);
  const v = textOf(source, value);
  if (syntax.literals.has(value.type) || v === 'void 0' || v === 'nil') return null;
  if (isComparisonNode(language, source, value)) return null; // relational-swap negates it
  if (value.type === 'not_operator' || (syntax.unary.has(value.type) && /^(!|not\b)/.test(v)))
    return null; // remove-negation
  const op = childByField(value, 'operator');
  const opText = op ? textOf(source, op) : '';
  const logical =
    value.type === 'boolean_operator' ||
    (syntax.binary.has(value.type) && opText in LOGICAL && opText !== '??');
  const arithmetic =
    (syntax.binary.has(value.type) || value.type === 'binary_operator') &&
    ['-', '*', '/', '%', '**', '//'].includes(opText);
  let to: string | null;
  if (isCompiled(language)) {
    const fn = returningFunction(language, node);
    if (!fn) return null;
    to = typedReturn(parsed, fn, logical, textOf(source, arg));
  } else if (logical) {
    to = py ? `not (${textOf(source, arg)})` : `!(${textOf(source, arg)})`;
  } else if (arithmetic) {
    to = '0';
  } else {
    to = py ? 'None' : language === 'ruby' ? 'nil' : 'null';
  }
  if (to === null || to === v) return null;
  return {
    target: arg,
    to,
    what: `return \`${snippet(to, 50)}\` instead of \`${snippet(v, 40)}\``,
  };
}

/** Rust, Java, C, C++: a replacement of the declared result type (null when none fits). */
function typedReturn(
  parsed: ParsedFile,
  fn: SyntaxNode,
  logical: boolean,
  value: string,
): string | null {
  const { source, language } = parsed;
  if (language === 'rust') {
    const t = childByField(fn, 'return_type');
    if (!t) return null;
    if (t.type === 'primitive_type' && textOf(source, t) === 'bool') return `!(${value})`;
    let self: string | null = null;
    for (let p = fn.parent; p; p = p.parent)
      if (p.type === 'impl_item') {
        const it = childByField(p, 'type');
        self = it ? textOf(source, it).replace(/<.*$/s, '') : null;
        break;
      }
    return rustZeroValue(parsed, t, self);
  }
  if (language === 'java') {
    const t = childByField(fn, 'type');
    if (!t || t.type === 'void_type') return null;
    if (t.type === 'boolean_type') return `!(${value})`;
    if (t.type === 'integral_type' || t.type === 'floating_point_type') return '0';
    const base = textOf(source, t).replace(/<.*$/s, '').split('.').pop()!;
    if (base === 'Boolean') return logical ? `!(${value})` : 'null';
    if (base === 'String') return '""';
    if (base === 'Optional') return `${textOf(source, t).replace(/<.*$/s, '')}.empty()`;
    return 'null';
  }
  // C / C++
  const t = childByField(fn, 'type');
  if (!t) return null;
  let pointer = false;
  for (
    let d = childByField(fn, 'declarator');
    d && d.type !== 'function_declarator';
    d = childByField(d, 'declarator')
  ) {
    if (d.type === 'reference_declarator') return null;
    if (d.type === 'pointer_declarator') pointer = true;
  }
  const text = textOf(source, t).trim();
  if (pointer) return language === 'cpp' ? 'nullptr' : /\bNULL\b/.test(source) ? 'NULL' : '0';
  if (text === 'bool' || text === '_Bool') return `!(${value})`;
  if (t.type === 'primitive_type' || t.type === 'sized_type_specifier')
    return text === 'void' ? null : '0';
  return null;
}

/** Go: one returned value (the first that is not a literal or an error) -> its zero value. */
function goReturnValue(
  parsed: ParsedFile,
  ctx: Context,
  node: SyntaxNode,
  list: SyntaxNode,
): { target: SyntaxNode; to: string; what: string } | null {
  const { source } = parsed;
  const fn = returningFunction('go', node);
  if (!fn) return null;
  const types = goResultTypes(fn);
  const values = list.type === 'expression_list' ? namedChildren(list) : [list];
  if (values.length !== types.length) return null; // return f() with several results
  for (let i = 0; i < values.length; i++) {
    const value = unparenthesized(values[i]!);
    const type = types[i]!;
    const v = textOf(source, value);
    if (MUTATION.go.literals.has(value.type) || v === 'nil') continue;
    const typeText = textOf(source, type);
    if (typeText === 'error') continue;
    if (isComparisonNode('go', source, value)) continue;
    if (value.type === 'unary_expression' && v.startsWith('!')) continue;
    const op = childByField(value, 'operator');
    const logical = value.type === 'binary_expression' && !!op && textOf(source, op) in LOGICAL;
    const to = typeText === 'bool' ? `!(${textOf(source, values[i]!)})` : goZeroValue(parsed, type);
    if (
      typeText === 'bool' &&
      !logical &&
      value.type !== 'call_expression' &&
      value.type !== 'identifier'
    )
      continue;
    // The value may hold the only use of a local or an import.
    if (!to.startsWith('!') && !ctx.guard.allows(fn, values[i]!.start, values[i]!.end)) continue;
    return {
      target: values[i]!,
      to,
      what: `return \`${snippet(to, 50)}\` instead of \`${snippet(v, 40)}\``,
    };
  }
  return null;
}

/** A literal that is (part of) a version: `"1.2.3"`, or assigned to a name like VERSION. */
function isVersionLiteral(parsed: ParsedFile, node: SyntaxNode): boolean {
  const { source } = parsed;
  const text = textOf(source, node).replace(/^[a-zA-Z]*["'`]+|["'`]+$/g, '');
  if (VERSION_STRING.test(text) && /["'`]/.test(textOf(source, node))) return true;
  let p = node.parent;
  for (let depth = 0; p && depth < 4; depth++, p = p.parent) {
    const name =
      childByField(p, 'name') ??
      childByField(p, 'left') ??
      childByField(p, 'pattern') ??
      childByField(p, 'declarator');
    if (name && name !== node && !name.children.some((c) => c === node)) {
      if (/version/i.test(textOf(source, name))) return true;
      if (/_(declaration|statement|item|spec|declarator|assignment)$|^assignment$/.test(p.type))
        return false;
    }
  }
  return false;
}

/** The empty string in the same quoting as `node`; null when it is empty already. */
function emptyString(lang: LanguageId, source: string, node: SyntaxNode): string | null {
  if (node.type === 'template_string') {
    return node.children.some((c) => c.named) ? '``' : null;
  }
  const named = node.children.filter((c) => c.named);
  if (lang === 'python') {
    const startTok = node.children.find((c) => c.type === 'string_start');
    const endTok = node.children.find((c) => c.type === 'string_end');
    if (startTok && endTok) {
      // Python: string_start carries the prefix (f, r, b...) and the quotes.
      if (!named.some((c) => c.type === 'string_content' || c.type === 'interpolation'))
        return null;
      return textOf(source, startTok) + textOf(source, endTok);
    }
  }
  const text = textOf(source, node);
  if (isCompiled(lang) || lang === 'ruby') {
    if (text.startsWith('"""')) return null; // Java text blocks
    const content = named.some((c) => !isComment(c));
    if (!content) return null;
    if (lang === 'go') return '""';
    if (lang === 'rust') {
      const m = /^(b?)r?#*"/.exec(text);
      return m ? `${m[1]}""` : null;
    }
    if (lang === 'c' || lang === 'cpp') {
      const m = /^(L|u8|u|U)?"/.exec(text);
      return m ? `${m[1] ?? ''}""` : null;
    }
    if (lang === 'ruby') {
      const q = text[0];
      return q === '"' || q === "'" ? q + q : null;
    }
    return '""';
  }
  if (named.length === 0) return null;
  const q = source[node.start]!;
  return q === '"' || q === "'" ? q + q : null;
}

/** Strings that are names or messages rather than data. */
function stringIsExempt(parsed: ParsedFile, ctx: Context, node: SyntaxNode): boolean {
  const { source, language } = parsed;
  const syntax = MUTATION[language];
  const parent = node.parent;
  if (!parent) return true;
  const compiled = isCompiled(language) || language === 'ruby';
  // Docstrings, 'use strict' and other directives.
  if (parent.type === 'expression_statement') return true;
  if (parent.type === 'concatenated_string' && parent.parent?.type === 'expression_statement')
    return true;
  // Keys: { 'a': 1 }, {"a": 1}, obj['a'] stays (that is data access).
  if (node.field === 'key' || (parent.type === 'pair' && parent.children[0] === node)) return true;
  // JSX attribute values and import-like string arguments are names.
  if (parent.type === 'jsx_attribute') return true;
  // extern "C" { ... }
  if (parent.type === 'linkage_specification') return true;
  if (isVersionLiteral(parsed, node)) return true;
  if (compiled && ctx.literalPinned(node)) return true;
  const text = textOf(source, node);
  // Messages of throw / raise, arguments of logging calls (the nearest call only).
  let nearestCall = true;
  for (let p: SyntaxNode | null = parent; p; p = p.parent) {
    if (syntax.throws.has(p.type)) return true;
    if (nearestCall && syntax.calls.has(p.type)) {
      nearestCall = false;
      const callee = calleeOf(language, source, p);
      if (callee && LOGGING_CALLEES[language].test(callee)) return true;
      if (callee && MESSAGE_CALLEE[language]?.test(callee)) return true;
      if (compiled && FORMAT_VERB.test(text)) return true;
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

/**
 * Escape hatches for repositories discovery cannot read: a test command the user names
 * (`--test-command`, run with bash from the repo root inside the sandbox), the format its output
 * is in (`--test-format`, which picks one of discovery's parsers), and the oracle test files
 * (`--test-files`, globs relative to the repo). Every mistake is a one-line UsageError.
 */
import { INLINE_TESTS_SUFFIX } from '../artifact/oracle-regions.js';
import { UsageError } from '../util/errors.js';
import { EXIT_CODE_PARSER } from './fallback.js';
import { shq } from './npm-script.js';
import {
  CARGO_PARSER,
  GENERIC_TAP_PARSER,
  GO_PARSER,
  PYTEST_PARSER,
  SUREFIRE_PARSER,
} from './parsers.js';
import { globToRegExp, type RepoScan } from './scan.js';
import { type Candidate, header } from './script-pieces.js';

export const TEST_FORMATS = ['tap', 'junit', 'pytest', 'go-json', 'cargo', 'exit-code'] as const;
export type TestFormatName = (typeof TEST_FORMATS)[number];

/** Reports `junit` reads when no glob is given: JUnit XML files the command wrote anywhere. */
export const DEFAULT_JUNIT_REPORTS = '**/*.xml';

export interface TestFormat {
  name: TestFormatName;
  /** junit: glob (relative to the repo) of the XML reports the command writes. */
  reports?: string;
}

/** What each format expects, for messages and --help. */
export const FORMAT_HELP: Record<TestFormatName, string> = {
  tap: 'TAP on stdout (ok / not ok lines; "# Subtest:" nesting or "# name" groups)',
  junit:
    'JUnit XML report files the command writes, junit:<glob> (default: any *.xml it wrote); ids Class#method',
  pytest: 'pytest -v -rA output; ids are pytest node ids',
  'go-json': 'go test -json output; ids pkg/TestName',
  cargo: 'cargo test text output; ids target::path::test',
  'exit-code': 'one test named after the command: passed when it exits 0',
};

const FORMAT_LIST = 'tap, junit[:<report glob>], pytest, go-json, cargo, exit-code';

/** Parses `--test-format` ("tap", "junit:build/test-results/**\/*.xml", ...). */
export function parseTestFormat(spec: string): TestFormat {
  const s = spec.trim();
  const colon = s.indexOf(':');
  const name = (colon < 0 ? s : s.slice(0, colon)).toLowerCase();
  const arg = colon < 0 ? undefined : s.slice(colon + 1).trim();
  if (!(TEST_FORMATS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown --test-format "${spec}" (use ${FORMAT_LIST})`, 'test-format');
  }
  if (arg !== undefined && name !== 'junit') {
    throw new UsageError(
      `--test-format ${name} takes no ":<value>" (only junit:<report glob> does)`,
      'test-format',
    );
  }
  if (arg !== undefined && !arg) {
    throw new UsageError(
      '--test-format junit: names no report glob (e.g. junit:target/surefire-reports/*.xml)',
      'test-format',
    );
  }
  if (arg && (arg.startsWith('/') || arg.split('/').includes('..'))) {
    throw new UsageError(
      `--test-format junit:${arg}: the report glob must be relative to the repository`,
      'test-format',
    );
  }
  return name === 'junit'
    ? { name: 'junit', reports: arg ?? DEFAULT_JUNIT_REPORTS }
    : { name: name as TestFormatName };
}

/**
 * The parsed format when a test command is given (null without one): the command and the
 * format come together, and the format must be known.
 */
export function checkTestCommand(o: {
  testCommand?: string;
  testFormat?: string;
}): TestFormat | null {
  if (o.testCommand === undefined) {
    if (o.testFormat !== undefined)
      throw new UsageError(
        '--test-format needs --test-command (the command whose output it reads)',
      );
    return null;
  }
  if (!o.testCommand.trim()) throw new UsageError('--test-command is empty', 'test-command');
  if (o.testFormat === undefined) {
    throw new UsageError(`--test-command needs --test-format (${FORMAT_LIST})`, 'test-format');
  }
  return parseTestFormat(o.testFormat);
}

/** The files `--test-files` globs name, sorted; a glob that matches nothing is an error. */
export function resolveTestFiles(scan: RepoScan, globs: string[]): string[] {
  const out = new Set<string>();
  for (const entry of globs.flatMap((x) => x.split(',')).map((x) => x.trim())) {
    if (!entry) continue;
    // `<glob>#inline-tests`: the matched files' inline tests are oracle, the rest code.
    const inline = entry.endsWith(INLINE_TESTS_SUFFIX);
    const g = inline ? entry.slice(0, -INLINE_TESTS_SUFFIX.length) : entry;
    if (g.startsWith('/') || g.split('/').includes('..')) {
      throw new UsageError(`--test-files "${g}" must be relative to the repository`, 'test-files');
    }
    const plain = g.replace(/^\.\//, '').replace(/\/+$/, '');
    let hits = scan.has(plain) ? [plain] : scan.glob(g);
    if (!hits.length && scan.hasDir(plain))
      hits = scan.files.filter((f) => f.startsWith(`${plain}/`));
    if (!hits.length) {
      throw new UsageError(
        `--test-files "${g}" matches no file in ${scan.root} (globs are relative to the repository: ** spans directories, * stays in one)`,
        'test-files',
      );
    }
    for (const f of hits) out.add(inline ? `${f}${INLINE_TESTS_SUFFIX}` : f);
  }
  return [...out].sort();
}

/**
 * The generic TAP parser, its ids rewritten before they are printed: without the "npm test"
 * prefix of the npm fallback, and with absolute paths in names (node --test names a file's
 * tests by its path) made relative to the repository.
 */
const GUARD = 'if __name__ == "__main__":';
const TAP_REWRITE = `
_ssr_logs = []
_ssr_plain_lines = Log.plain_lines
_ssr_emit = Results.emit


def _ssr_remember(self):
    _ssr_logs.append(self)
    return _ssr_plain_lines(self)


def _ssr_emit_rewritten(self):
    tests = {}
    for test_id, status in self.tests.items():
        parts = test_id.split(" > ")
        if parts[0] == "npm test" and len(parts) > 1:
            parts = parts[1:]
        if _ssr_logs:
            parts = [_ssr_logs[0].relative(p) if p.startswith("/") else p for p in parts]
        key = " > ".join(parts)
        if key not in tests or RANK[status] > RANK[tests[key]]:
            tests[key] = status
    self.tests = tests
    _ssr_emit(self)


Log.plain_lines = _ssr_remember
Results.emit = _ssr_emit_rewritten


`;
const TAP_PARSER = `${GENERIC_TAP_PARSER.slice(0, GENERIC_TAP_PARSER.lastIndexOf(GUARD))}${TAP_REWRITE}${GENERIC_TAP_PARSER.slice(GENERIC_TAP_PARSER.lastIndexOf(GUARD))}`;

/** The command as the user named it, for messages: --test-command "...". */
export function commandLabel(command: string): string {
  const one = command.replace(/\s+/g, ' ').trim();
  return `--test-command ${JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one)}`;
}

/**
 * The candidate for `--test-command`: the command runs with bash from the repo root (its own
 * `exit` cannot skip the markers), then, for junit, the XML reports it wrote that match the
 * glob are printed between report markers (only files newer than the run's start: reports
 * left in the repository are not this run's results).
 */
export function customCandidate(scan: RepoScan, command: string, format: TestFormat): Candidate {
  if (!command.trim()) throw new UsageError('--test-command is empty', 'test-command');
  const id = command.replace(/\s+/g, ' ').trim();
  const lines = [
    header('custom', `runs the command given with --test-command, read as ${format.name}`),
    'export npm_config_update_notifier=false PYTHONDONTWRITEBYTECODE=1',
  ];
  if (format.name === 'junit') lines.push('touch "$tmp/start"', 'sleep 0.01');
  if (format.name === 'exit-code') lines.push(`printf '### ssr-file %s %s\\n' "$nonce" ${shq(id)}`);
  lines.push(`bash -c ${shq(command)} </dev/null 2>&1`, 'code=$?');
  let parser: string;
  switch (format.name) {
    case 'tap':
      parser = TAP_PARSER;
      break;
    case 'pytest':
      parser = PYTEST_PARSER;
      break;
    case 'go-json':
      parser = GO_PARSER;
      break;
    case 'cargo':
      parser = CARGO_PARSER;
      break;
    case 'exit-code':
      parser = EXIT_CODE_PARSER;
      break;
    case 'junit': {
      parser = SUREFIRE_PARSER;
      // A bash ERE of the glob: globToRegExp's (?: groups become plain groups.
      const re = globToRegExp(format.reports!).source.replace(/\(\?:/g, '(');
      lines.push(
        `re=${shq(re)}`,
        'found=0',
        'while IFS= read -r f; do',
        '  [[ $f =~ $re ]] || continue',
        '  found=1',
        '  echo "### ssr-report-begin $nonce $f"',
        '  cat "$f"',
        '  echo',
        '  echo "### ssr-report-end $nonce"',
        "done < <(find . \\( -name .git -o -name node_modules \\) -prune -o -type f -name '*.xml' -newer \"$tmp/start\" -printf '%P\\n' | LC_ALL=C sort)",
        `[ $found = 1 ] || echo ${shq(`ssr: no JUnit XML report matching ${format.reports} was written by the command`)}`,
      );
      break;
    }
  }
  lines.push('echo "### ssr-exit $nonce $code"', 'rm -rf "$tmp" 2>/dev/null', 'exit $code', '');
  const label = commandLabel(command);
  return {
    framework: 'custom',
    ecosystem: 'npm',
    reason: `--test-format ${format.name}${format.name === 'junit' ? `:${format.reports}` : ''}`,
    command: label,
    testScript: lines.join('\n'),
    testParser: parser,
    testFiles: [],
    filesFromIds: (ids) => {
      const out = new Set<string>();
      for (const i of ids) {
        const file = i.split(/ > |::|#/)[0]!.trim();
        if (scan.has(file)) out.add(file);
      }
      return [...out];
    },
    notes: [
      `the command given runs from the repository root; its output is read as ${format.name}: ${FORMAT_HELP[format.name]}`,
    ],
  };
}

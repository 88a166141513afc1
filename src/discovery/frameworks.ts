/**
 * Candidate test suites for a repository, from a static look at it: for each framework with
 * evidence (a runner in package.json's test script, a dependency, a config file, test files, a
 * build file), the test_script.sh that runs it with a machine-readable reporter, the matching
 * test_parser.py, and the test files the script runs. Nothing here runs repository code.
 */
import { existsSync } from 'node:fs';
import {
  dropFlags,
  expandedTestScript,
  findNodeTestCall,
  findRunnerCall,
  isPlaceholderTestScript,
  positionals,
  type RunnerCall,
  shellWord,
  shq,
  type Word,
} from './npm-script.js';
import {
  CARGO_PARSER,
  GENERIC_TAP_PARSER,
  GO_PARSER,
  JEST_JSON_PARSER,
  MOCHA_PARSER,
  NODE_TEST_PARSER,
  PYTEST_PARSER,
  SUREFIRE_PARSER,
  TAPE_PARSER,
  UNITTEST_PARSER,
} from './parsers.js';
import { MOCHA_REPORTER } from './reporters.js';
import { expandPathArg, type RepoScan } from './scan.js';

export type Ecosystem = 'npm' | 'python' | 'go' | 'rust' | 'java';

/** One way to run the repository's tests, before it is tried. */
export interface Candidate {
  framework: string;
  ecosystem: Ecosystem;
  /** Why it is a candidate (the evidence found). */
  reason: string;
  /** The command, for messages (e.g. "python3 -m pytest"). */
  command: string;
  testScript: string;
  testParser: string;
  /** Repo-relative test files the script runs, as far as a static look can tell. */
  testFiles: string[];
  /** Test files named by the parsed test ids (added after the run); absent: ids name none. */
  filesFromIds?: (ids: string[]) => string[];
  /** Things worth telling (reporter chosen, files left out). */
  notes: string[];
  /** Set when it cannot run here (runner not installed): why. */
  notApplicable?: string;
}

/** PATH inside the sandbox, plus the usual install places of toolchains discovery looks in. */
const SANDBOX_PATH = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];
const GO_DIRS = ['/usr/local/go/bin', '/usr/lib/go/bin'];
const CARGO_DIRS = ['/usr/local/cargo/bin'];

/** Whether `name` is on the sandbox's PATH (or in `extra` dirs, which scripts add to PATH). */
export function toolAvailable(name: string, extra: string[] = []): boolean {
  return [...SANDBOX_PATH, ...extra].some((d) => existsSync(`${d}/${name}`));
}

// ---------------------------------------------------------------------------------------------
// Script pieces

const MARKER_NOTE =
  '# Lines "### ssr-<kind> <nonce> ..." (random nonce per run) frame the output for test_parser.py.';

function header(framework: string, what: string): string {
  return [
    '#!/usr/bin/env bash',
    `# test_script.sh written by ssr test discovery (${framework}): ${what}`,
    MARKER_NOTE,
    'set -u',
    "nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')",
    'echo "### ssr-root $nonce $(pwd)"',
    '[ "$(pwd -P)" = "$(pwd)" ] || echo "### ssr-root $nonce $(pwd -P)"',
    'tmp=$(mktemp -d -t ssr-test.XXXXXX)',
  ].join('\n');
}

const JS_ENV =
  'export CI=true NO_COLOR=1 FORCE_COLOR=0 NODE_DISABLE_COLORS=1 npm_config_update_notifier=false';

/** `NAME=value` words of a command, for a bash script. */
function envWords(env: Word[]): string {
  return env
    .map((w) => {
      const at = w.value.indexOf('=');
      return `${w.value.slice(0, at)}=${shq(w.value.slice(at + 1))}`;
    })
    .map((s) => `${s} `)
    .join('');
}

function words(ws: Word[]): string {
  return ws.map((w) => ` ${shellWord(w)}`).join('');
}

/** Runs `command`, then prints the report file between markers and exits with its status. */
function withReport(command: string, report: string, name: string): string {
  return [
    command,
    'code=$?',
    `echo "### ssr-report-begin $nonce ${name}"`,
    `if [ -f "${report}" ]; then cat "${report}"; echo; else echo "(${name} wrote no report)"; fi`,
    'echo "### ssr-report-end $nonce"',
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

/** Runs `each` once per file with a marker before it; exits 1 if any file's run failed. */
function perFile(files: string[], each: string): string {
  return [
    'status=0',
    `for f in${files.map((f) => ` \\\n    ${shq(f)}`).join('')}; do`,
    '  echo "### ssr-file $nonce $f"',
    `  ${each}`,
    '  code=$?',
    '  echo "### ssr-exit $nonce $code"',
    '  [ $code -eq 0 ] || status=1',
    'done',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $status',
    '',
  ].join('\n');
}

/** Every file a glob over the repo matches, sorted and unique. */
function uniqueSorted(list: Iterable<string>): string[] {
  return [...new Set(list)].sort();
}

/** The file part of ids like "<file> > suite > case" or "<file>::Class::test". */
function idFiles(ids: string[], sep: RegExp, scan: RepoScan, keep?: (f: string) => boolean) {
  const out = new Set<string>();
  for (const id of ids) {
    const file = id.split(sep)[0]!.trim();
    if (scan.has(file) && (!keep || keep(file))) out.add(file);
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// npm projects

const JS_EXT = 'js|cjs|mjs|jsx|ts|cts|mts|tsx';
/** jest's default testMatch. */
const JEST_DEFAULT = [
  new RegExp(`(^|/)__tests__/.*\\.(${JS_EXT})$`),
  new RegExp(`(^|/)([^/]*\\.)?(test|spec)\\.(${JS_EXT})$`),
];
/** vitest's default include (and its default excludes). */
const VITEST_DEFAULT = [new RegExp(`(^|/)[^/]*\\.(test|spec)\\.(${JS_EXT})$`)];
const VITEST_EXCLUDED = /^(dist|cypress)\//;
/** node --test's default patterns (Node 20). */
const NODE_TEST_DEFAULT =
  /(^|\/)(test\/.*\.[cm]?js|[^/]*[.\-_]test\.[cm]?js|test-[^/]*\.[cm]?js|test\.[cm]?js)$/;
const NODE_TEST_DEFAULT_TS =
  /(^|\/)(test\/.*\.[cm]?[jt]s|[^/]*[.\-_]test\.[cm]?[jt]s|test-[^/]*\.[cm]?[jt]s|test\.[cm]?[jt]s)$/;

interface JsContext {
  scan: RepoScan;
  script: string;
  /** dependency name -> the package.json field that declares it */
  deps: Map<string, string>;
}

function dependencyIndex(scan: RepoScan): Map<string, string> {
  const pkg = scan.packageJson;
  const deps = new Map<string, string>();
  for (const field of [
    'devDependencies',
    'dependencies',
    'peerDependencies',
    'optionalDependencies',
  ] as const) {
    const d = pkg?.[field];
    if (d && typeof d === 'object') {
      for (const name of Object.keys(d)) if (!deps.has(name)) deps.set(name, field);
    }
  }
  return deps;
}

/** Evidence for a JS framework: script call, dependency, config files, package.json field. */
function jsEvidence(
  ctx: JsContext,
  fw: { runners: string[]; dep: string; configs: RegExp; field?: string },
): { reasons: string[]; call: RunnerCall | null } {
  const reasons: string[] = [];
  const call = ctx.script ? findRunnerCall(ctx.script, fw.runners) : null;
  if (call) reasons.push(`package.json scripts.test runs ${fw.runners[0]}`);
  const field = ctx.deps.get(fw.dep);
  if (field) reasons.push(`package.json ${field} has ${fw.dep}`);
  const configs = ctx.scan.files.filter((f) => !f.includes('/') && fw.configs.test(f));
  if (configs.length) reasons.push(`${configs.join(', ')} present`);
  if (fw.field && ctx.scan.packageJson?.[fw.field] !== undefined) {
    reasons.push(`package.json has a "${fw.field}" section`);
  }
  return { reasons, call };
}

function binMissing(scan: RepoScan, bin: string): string | undefined {
  if (scan.hasBin(bin)) return undefined;
  return `node_modules/.bin/${bin} not found (install the dependencies first: npm install)`;
}

function nodeMissing(): string | undefined {
  return toolAvailable('node')
    ? undefined
    : 'node is not installed where the sandbox can see it (/usr, /usr/local)';
}

function jestCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['jest'],
    dep: 'jest',
    configs: /^jest\.config\.(js|cjs|mjs|ts|cts|mts|json)$/,
    field: 'jest',
  });
  if (!reasons.length) return null;
  const valued = [
    '--outputFile',
    '--reporters',
    '--maxWorkers',
    '-w',
    '--changedSince',
    '--shard',
    '--testResultsProcessor',
  ];
  const args = dropFlags(
    call?.args ?? [],
    [
      '--watch',
      '--watchAll',
      '--coverage',
      '--collectCoverage',
      '--json',
      '--outputFile',
      '--reporters',
      '--ci',
      '--runInBand',
      '-i',
      '--maxWorkers',
      '-w',
      '--onlyChanged',
      '-o',
      '--changedSince',
      '--shard',
      '--testResultsProcessor',
      '--forceExit',
      '--watchman',
      '--no-watchman',
    ],
    valued,
  );
  const report = '$tmp/report.json';
  const command = `${envWords(call?.env ?? [])}node_modules/.bin/jest --ci --runInBand --no-watchman --forceExit${words(args)} --json --outputFile="${report}"`;
  const files = ctx.scan.match(...JEST_DEFAULT);
  return {
    framework: 'jest',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/jest --ci --runInBand --json',
    testScript: `${header('jest', 'runs jest in band and prints its JSON report')}\n${JS_ENV}\n${withReport(command, report, 'jest')}`,
    testParser: JEST_JSON_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: ['jest runs in band with --json; its report gives each test file and describe path'],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'jest'),
  };
}

function vitestCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['vitest'],
    dep: 'vitest',
    configs: /^vitest\.(config|workspace)\.(js|cjs|mjs|ts|cts|mts)$/,
  });
  if (!reasons.length) return null;
  const valued = ['--reporter', '--outputFile', '--shard', '--maxWorkers', '--minWorkers'];
  let args = dropFlags(
    call?.args ?? [],
    [
      '--watch',
      '-w',
      '--run',
      '--reporter',
      '--outputFile',
      '--coverage',
      '--ui',
      '--open',
      '--shard',
      '--changed',
    ],
    valued,
  );
  if (args[0] && ['run', 'watch', 'dev'].includes(args[0].value)) args = args.slice(1);
  const report = '$tmp/report.json';
  const command = `${envWords(call?.env ?? [])}node_modules/.bin/vitest run${words(args)} --reporter=json --outputFile="${report}"`;
  const files = ctx.scan.match(...VITEST_DEFAULT).filter((f) => !VITEST_EXCLUDED.test(f));
  return {
    framework: 'vitest',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/vitest run --reporter=json',
    testScript: `${header('vitest', 'runs vitest once and prints its JSON report')}\n${JS_ENV}\n${withReport(command, report, 'vitest')}`,
    testParser: JEST_JSON_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'vitest runs once with the json reporter; its report gives each file and describe path',
    ],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'vitest'),
  };
}

/** mocha flags that take a value (for telling flags from spec paths). */
const MOCHA_VALUED = [
  '--reporter',
  '-R',
  '--reporter-option',
  '--reporter-options',
  '-O',
  '--watch-files',
  '--watch-ignore',
  '--require',
  '-r',
  '--ui',
  '-u',
  '--timeout',
  '-t',
  '--slow',
  '-s',
  '--grep',
  '-g',
  '--fgrep',
  '-f',
  '--config',
  '--package',
  '--extension',
  '--file',
  '--ignore',
  '--exclude',
  '--spec',
  '--jobs',
  '-j',
  '--retries',
  '--node-option',
  '-n',
  '--opts',
];

/** `spec`, `recursive` and `extension` from .mocharc.{json,jsonc,yml,yaml} or package.json. */
function mochaConfig(scan: RepoScan): { spec: string[]; recursive: boolean; extension: string[] } {
  const out = { spec: [] as string[], recursive: false, extension: [] as string[] };
  const asList = (v: unknown) =>
    (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
      (x): x is string => typeof x === 'string',
    );
  const fromObject = (o: unknown) => {
    if (!o || typeof o !== 'object') return;
    const r = o as Record<string, unknown>;
    out.spec.push(...asList(r.spec));
    out.extension.push(...asList(r.extension));
    if (r.recursive === true) out.recursive = true;
  };
  for (const name of ['.mocharc.json', '.mocharc.jsonc']) {
    const text = scan.read(name);
    if (text === null) continue;
    try {
      fromObject(JSON.parse(text.replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '')));
    } catch {
      // an unreadable config: mocha will complain when it runs
    }
  }
  for (const name of ['.mocharc.yml', '.mocharc.yaml']) {
    const text = scan.read(name);
    if (text === null) continue;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^(spec|extension|recursive):\s*(.*)$/.exec(lines[i]!.trimEnd());
      if (!m) continue;
      const [, key, rest] = m;
      const values: string[] = [];
      if (rest!.startsWith('[')) {
        values.push(...rest!.replace(/[[\]]/g, '').split(','));
      } else if (rest) {
        values.push(rest);
      } else {
        while (i + 1 < lines.length && /^\s+-\s+/.test(lines[i + 1]!)) {
          values.push(lines[++i]!.replace(/^\s+-\s+/, ''));
        }
      }
      const clean = values.map((v) => v.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean);
      if (key === 'recursive') out.recursive = clean[0] === 'true';
      else if (key === 'spec') out.spec.push(...clean);
      else out.extension.push(...clean);
    }
  }
  fromObject(scan.packageJson?.mocha);
  return out;
}

function mochaCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['mocha', '_mocha'],
    dep: 'mocha',
    configs: /^\.mocharc\.(js|cjs|mjs|json|jsonc|yml|yaml)$/,
    field: 'mocha',
  });
  if (!reasons.length) return null;
  const rawArgs = call?.args ?? [];
  const args = dropFlags(
    rawArgs,
    [
      '--reporter',
      '-R',
      '--reporter-option',
      '--reporter-options',
      '-O',
      '--watch',
      '-w',
      '--watch-files',
      '--watch-ignore',
      '--exit',
    ],
    MOCHA_VALUED,
  );
  const config = mochaConfig(ctx.scan);
  const flagValues = (names: string[]) =>
    rawArgs.flatMap((w, i) => {
      const [name, value] = w.value.split(/=(.*)/s);
      if (!names.includes(name!)) return [];
      return value !== undefined ? [value] : rawArgs[i + 1] ? [rawArgs[i + 1]!.value] : [];
    });
  const recursive = config.recursive || rawArgs.some((w) => w.value === '--recursive');
  const exts = uniqueSorted([
    'js',
    'cjs',
    'mjs',
    ...config.extension,
    ...flagValues(['--extension']),
  ]).map((e) => e.replace(/^\./, ''));
  const extRe = new RegExp(
    `\\.(${exts.map((e) => e.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('|')})$`,
  );
  const specs = [...positionals(args, MOCHA_VALUED).map((w) => w.value), ...flagValues(['--spec'])];
  const spec = specs.length ? specs : config.spec.length ? config.spec : ['./test'];
  const files = new Set<string>();
  for (const s of spec) {
    const base = s.replace(/^\.\//, '').replace(/\/+$/, '');
    for (const f of expandPathArg(ctx.scan, s, (p) => {
      if (!extRe.test(p)) return false;
      return recursive || !p.slice(base.length + 1).includes('/');
    })) {
      files.add(f);
    }
  }
  for (const f of flagValues(['--file'])) if (ctx.scan.has(f.replace(/^\.\//, ''))) files.add(f);
  const out = '$tmp/results.jsonl';
  const command = `${envWords(call?.env ?? [])}SSR_MOCHA_OUT="${out}" node_modules/.bin/mocha${words(args)} --exit --reporter "$tmp/reporter.cjs"`;
  const script = [
    header('mocha', "runs mocha with a reporter that records each test's file and title path"),
    JS_ENV,
    'cat > "$tmp/reporter.cjs" <<\'SSR_REPORTER_EOF\'',
    MOCHA_REPORTER.trimEnd(),
    'SSR_REPORTER_EOF',
    `: > "${out}"`,
    withReport(command, out, 'mocha'),
  ].join('\n');
  return {
    framework: 'mocha',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/mocha',
    testScript: script,
    testParser: MOCHA_PARSER,
    testFiles: [...files],
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'mocha runs with a small reporter (written to the sandbox /tmp) that records each test with its file and title path',
    ],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'mocha'),
  };
}

const DEFAULT_JS_TEST_DIRS = ['test', 'tests'];

function tapeCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, { runners: ['tape'], dep: 'tape', configs: /^$/ });
  if (!reasons.length) return null;
  const valued = ['-r', '--require', '-i', '--ignore', '--ignore-pattern'];
  const paths = call ? positionals(call.args, valued) : [];
  const requires = (call?.args ?? []).flatMap((w, i, all) =>
    (w.value === '-r' || w.value === '--require') && all[i + 1] ? ['-r', all[i + 1]!.value] : [],
  );
  const isJs = (p: string) => /\.(js|cjs|mjs)$/.test(p);
  let files: string[];
  if (paths.length) {
    files = uniqueSorted(paths.flatMap((w) => expandPathArg(ctx.scan, w.value, isJs)));
  } else {
    const usesTape = (f: string) => /['"]tape['"]/.test(ctx.scan.read(f) ?? '');
    files = ctx.scan.files.filter(
      (f) =>
        isJs(f) &&
        (DEFAULT_JS_TEST_DIRS.some((d) => f.startsWith(`${d}/`)) || /^test\.[cm]?js$/.test(f)) &&
        usesTape(f),
    );
  }
  const each = `${envWords(call?.env ?? [])}node${requires.map((r) => ` ${shq(r)}`).join('')} "$f" 2>&1`;
  return {
    framework: 'tape',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node <file> (each tape test file on its own)',
    testScript: `${header('tape', 'runs each tape test file on its own; ids carry the file, test name and assertion number')}\n${JS_ENV}\n${perFile(files, each)}`,
    testParser: TAPE_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'tape test files run one at a time with node; an id is "<file> > <test name> > #<n>", the n-th assertion of that test',
    ],
    notApplicable:
      nodeMissing() ??
      (ctx.scan.hasModule('tape')
        ? files.length
          ? undefined
          : 'no tape test files found'
        : 'node_modules/tape not found (install the dependencies first: npm install)'),
  };
}

function nodeTestCandidate(ctx: JsContext): Candidate | null {
  const call = ctx.script ? findNodeTestCall(ctx.script) : null;
  const ts = call?.flags.some((w) => /tsx|ts-node|typescript/.test(w.value)) ?? false;
  const pattern = ts ? NODE_TEST_DEFAULT_TS : NODE_TEST_DEFAULT;
  const importsNodeTest = (f: string) => /['"]node:test['"]/.test(ctx.scan.read(f) ?? '');
  let files: string[];
  const reasons: string[] = [];
  if (call) {
    reasons.push('package.json scripts.test runs node --test');
    files = call.paths.length
      ? uniqueSorted(
          call.paths.flatMap((w) =>
            expandPathArg(ctx.scan, w.value, (p) => pattern.test(p) || importsNodeTest(p)),
          ),
        )
      : ctx.scan.match(pattern);
  } else {
    files = ctx.scan.match(pattern).filter(importsNodeTest);
    if (!files.length) return null;
    reasons.push(`${files.length} test file(s) import node:test`);
  }
  const each = `${envWords(call?.env ?? [])}node${words(call?.flags ?? [])} --test --test-reporter=tap "$f" 2>&1`;
  return {
    framework: 'node-test',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node --test --test-reporter=tap <file> (each file on its own)',
    testScript: `${header('node-test', 'runs node --test with the TAP reporter, one test file at a time')}\n${JS_ENV}\n${perFile(files, each)}`,
    testParser: NODE_TEST_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'node --test runs each file on its own with the TAP reporter; ids are "<file> > <suite> > <test>"',
    ],
    notApplicable: nodeMissing() ?? (files.length ? undefined : 'no node:test test files found'),
  };
}

function npmTestCandidate(ctx: JsContext): Candidate | null {
  const script = ctx.scan.packageJson?.scripts?.test;
  if (typeof script !== 'string' || isPlaceholderTestScript(script)) return null;
  const files = ctx.scan
    .match(NODE_TEST_DEFAULT, ...JEST_DEFAULT)
    .filter((f) => new RegExp(`\\.(${JS_EXT})$`).test(f));
  return {
    framework: 'npm-test',
    ecosystem: 'npm',
    reason: `package.json scripts.test is "${script.length > 80 ? `${script.slice(0, 77)}...` : script}"`,
    command: 'npm test',
    testScript: `${header('npm-test', 'runs npm test; the parser reads any TAP output')}\n${JS_ENV}\nrm -rf "$tmp" 2>/dev/null\nnpm test 2>&1\ncode=$?\necho "### ssr-exit $nonce $code"\nexit $code\n`,
    testParser: GENERIC_TAP_PARSER,
    testFiles: files,
    notes: [
      'fallback: npm test with TAP parsing (no specific runner was detected); ids are "npm test > <test> > <assertion>"',
    ],
    notApplicable: toolAvailable('npm') ? undefined : 'npm is not installed',
  };
}

function npmCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('package.json')) return [];
  if (!scan.packageJson) {
    return [
      {
        framework: 'npm-test',
        ecosystem: 'npm',
        reason: 'package.json present',
        command: 'npm test',
        testScript: '',
        testParser: '',
        testFiles: [],
        notes: [],
        notApplicable: scan.packageJsonError ?? 'package.json unreadable',
      },
    ];
  }
  const ctx: JsContext = {
    scan,
    script: expandedTestScript(scan.packageJson),
    deps: dependencyIndex(scan),
  };
  const specific = [
    vitestCandidate(ctx),
    jestCandidate(ctx),
    mochaCandidate(ctx),
    tapeCandidate(ctx),
    nodeTestCandidate(ctx),
  ].filter((c): c is Candidate => c !== null);
  // Runners the test script calls come first, in the order it calls them.
  const runnerWords: Record<string, RegExp> = {
    vitest: /\bvitest\b/,
    jest: /\bjest\b/,
    mocha: /\b_?mocha\b/,
    tape: /\btape\b/,
    'node-test': /\bnode\b[^;&|]*--test\b/,
  };
  const position = (c: Candidate) => {
    const at = ctx.script.search(runnerWords[c.framework] ?? /$^/);
    return at < 0 ? Number.POSITIVE_INFINITY : at;
  };
  const ordered = specific
    .map((c, i) => ({ c, i, p: position(c) }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((x) => x.c);
  const fallback = npmTestCandidate(ctx);
  return fallback ? [...ordered, fallback] : ordered;
}

// ---------------------------------------------------------------------------------------------
// Python

const PY_TEST_FILE = /(^|\/)(test_[^/]*|[^/]*_test)\.py$/;
const PY_EXCLUDED = /^(build|dist|site-packages|\.?env)\//;

interface PytestConfig {
  file: string;
  testpaths: string[];
}

/** The pytest configuration file in effect (pytest's order) and its testpaths. */
function pytestConfig(scan: RepoScan): PytestConfig | null {
  const sections: [string, RegExp][] = [
    ['pytest.ini', /^\[pytest\]\s*$/m],
    ['pyproject.toml', /^\[tool\.pytest\.ini_options\]\s*$/m],
    ['tox.ini', /^\[pytest\]\s*$/m],
    ['setup.cfg', /^\[tool:pytest\]\s*$/m],
  ];
  for (const [file, re] of sections) {
    const text = scan.read(file);
    if (text === null) continue;
    const m = re.exec(text);
    if (!m && file !== 'pytest.ini') continue;
    const body = m ? text.slice(m.index + m[0].length).split(/^\[/m)[0]! : '';
    const tp = /^testpaths\s*=\s*((?:.*)(?:\n[ \t]+.*)*)/m.exec(body);
    let testpaths: string[] = [];
    if (tp) {
      const value = tp[1]!;
      testpaths = value.includes('[')
        ? [...value.matchAll(/["']([^"']+)["']/g)].map((x) => x[1]!)
        : value.split(/\s+/).filter(Boolean);
    }
    return { file, testpaths: testpaths.map((p) => p.replace(/^\.\//, '').replace(/\/+$/, '')) };
  }
  return null;
}

const PY_ENV = 'export CI=true NO_COLOR=1 PY_COLORS=0 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1';

function pythonCandidates(scan: RepoScan): Candidate[] {
  const tests = scan.match(PY_TEST_FILE).filter((f) => !PY_EXCLUDED.test(f));
  const config = pytestConfig(scan);
  const conftests = scan.match(/(^|\/)conftest\.py$/).filter((f) => !PY_EXCLUDED.test(f));
  if (!tests.length && !config && !conftests.length) return [];
  const out: Candidate[] = [];
  const python = toolAvailable('python3')
    ? undefined
    : 'python3 is not installed where the sandbox can see it (/usr, /usr/local)';

  const reasons: string[] = [];
  if (config) reasons.push(`${config.file} configures pytest`);
  const usesPytest = tests.filter((f) => /\bpytest\b/.test(scan.read(f) ?? ''));
  if (usesPytest.length) reasons.push(`${usesPytest.length} test file(s) import pytest`);
  if (conftests.length) reasons.push('conftest.py present');
  const inTestsDir = tests.filter((f) => /^tests?\//.test(f));
  if (inTestsDir.length) {
    reasons.push(`${inTestsDir[0]!.split('/')[0]}/ has ${inTestsDir.length} test_*.py file(s)`);
  } else if (tests.length) {
    reasons.push(`${tests.length} test_*.py file(s)`);
  }
  const under = (f: string) =>
    !config?.testpaths.length ||
    config.testpaths.some((p) => f === p || f.startsWith(`${p}/`) || p === '.');
  const pyFiles = uniqueSorted([...tests, ...conftests].filter(under));
  const pytestCmd =
    'python3 -m pytest -p no:cacheprovider -v -rfEpsxX --color=no --continue-on-collection-errors';
  out.push({
    framework: 'pytest',
    ecosystem: 'python',
    reason: reasons.join('; '),
    command: 'python3 -m pytest',
    testScript: `${header('pytest', 'runs pytest verbosely with the short summary of every outcome')}\n${PY_ENV}\nrm -rf "$tmp" 2>/dev/null\n${pytestCmd}\ncode=$?\necho "### ssr-exit $nonce $code"\nexit $code\n`,
    testParser: PYTEST_PARSER,
    testFiles: pyFiles,
    filesFromIds: (ids) =>
      idFiles(ids, /::/, scan, (f) => PY_TEST_FILE.test(f) || /(^|\/)tests?\//.test(f)),
    notes: [
      'pytest runs with -v -rfEpsxX and --continue-on-collection-errors (a test file that fails to import does not stop the others); ids are pytest node ids',
    ],
    notApplicable: python,
  });

  const unittestFiles = scan
    .match(/(^|\/)test[^/]*\.py$/)
    .filter((f) => !PY_EXCLUDED.test(f) && /\bunittest\b/.test(scan.read(f) ?? ''));
  if (unittestFiles.length) {
    const dir = ['tests', 'test'].find((d) => unittestFiles.some((f) => f.startsWith(`${d}/`)));
    const args = dir ? ` -s ${dir}${scan.has(`${dir}/__init__.py`) ? ' -t .' : ''}` : '';
    const files = scan
      .match(/(^|\/)test[^/]*\.py$/)
      .filter((f) => !PY_EXCLUDED.test(f) && (!dir || f.startsWith(`${dir}/`)));
    out.push({
      framework: 'unittest',
      ecosystem: 'python',
      reason: `${unittestFiles.length} test file(s) import unittest`,
      command: `python3 -m unittest discover${args}`,
      testScript: `${header('unittest', 'runs unittest discovery verbosely, test output buffered')}\n${PY_ENV}\nrm -rf "$tmp" 2>/dev/null\npython3 -m unittest discover -v -b${args} 2>&1\ncode=$?\necho "### ssr-exit $nonce $code"\nexit $code\n`,
      testParser: UNITTEST_PARSER,
      testFiles: files,
      notes: ['unittest discover -v -b; ids are module.Class.test_method'],
      notApplicable: python,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Go, Rust, Java

function goCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('go.mod')) return [];
  const module = /^module\s+(\S+)/m.exec(scan.read('go.mod') ?? '')?.[1];
  const files = scan
    .match(/_test\.go$/)
    .filter((f) => !/(^|\/)testdata\//.test(f) && !/(^|\/)vendor\//.test(f));
  const script = [
    header('go', 'runs go test -json over every package of the module'),
    'export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"',
    'export CI=true GOCACHE="$tmp/go-cache" GOPATH="$tmp/go" GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOTELEMETRY=off',
    'go test -json ./... 2>&1',
    'code=$?',
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
  return [
    {
      framework: 'go',
      ecosystem: 'go',
      reason: `go.mod present${module ? ` (module ${module})` : ''}`,
      command: 'go test -json ./...',
      testScript: script,
      testParser: GO_PARSER,
      testFiles: files,
      notes: ['go test -json ./...; ids are "<import path>/<TestName>[/<subtest>]"'],
      notApplicable: toolAvailable('go', GO_DIRS)
        ? undefined
        : 'go is not installed (apt-get install golang-go)',
    },
  ];
}

function cargoCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('Cargo.toml')) return [];
  const manifest = scan.read('Cargo.toml') ?? '';
  const workspace = /^\[workspace\]/m.test(manifest) ? ' --workspace' : '';
  const files = scan.match(/(^|\/)tests\/.*\.rs$/, /(^|\/)src\/(.*\/)?tests\.rs$/);
  const inline = scan
    .match(/\.rs$/)
    .filter((f) => !files.includes(f) && /#\[(cfg\()?test\b/.test(scan.read(f) ?? ''));
  const script = [
    header('cargo', 'runs cargo test offline; the stable text output names every test'),
    'export PATH="$PATH:/usr/local/cargo/bin"',
    '# rustup installs (e.g. the rust Docker image) find their toolchains through RUSTUP_HOME.',
    '[ -d /usr/local/rustup ] && export RUSTUP_HOME=/usr/local/rustup',
    'export CI=true CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_INCREMENTAL=0 RUST_BACKTRACE=0',
    `cargo test --no-fail-fast --offline${workspace} 2>&1`,
    'code=$?',
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
  const notes = [
    'cargo test --no-fail-fast with the stable text output; ids are "<target>::<test path>", doc-tests "<crate> (doc)::<file> - <item>"',
  ];
  if (inline.length) {
    notes.push(
      `unit tests inside source files run but those files are not oracle files (they hold the code under test): ${inline.slice(0, 5).join(', ')}${inline.length > 5 ? ', ...' : ''}`,
    );
  }
  return [
    {
      framework: 'cargo',
      ecosystem: 'rust',
      reason: `Cargo.toml present${workspace ? ' (workspace)' : ''}`,
      command: `cargo test --no-fail-fast --offline${workspace}`,
      testScript: script,
      testParser: CARGO_PARSER,
      testFiles: files,
      notes,
      notApplicable: toolAvailable('cargo', CARGO_DIRS)
        ? undefined
        : 'cargo is not installed where the sandbox can see it (apt-get install cargo; ~/.cargo is not visible)',
    },
  ];
}

/**
 * The Maven test script around `build` (the lines that run the tests): afterwards it prints
 * every Surefire report (TEST-*.xml under a surefire-reports directory, sorted by path) between
 * report markers, and exits 1 when mvn succeeded although a report holds a failure. Exported so
 * the parser can be tested on recorded reports where Maven cannot run.
 */
export function surefireScript(build: string): string {
  return [
    header('maven', 'runs mvn test offline and prints the Surefire XML reports'),
    // Java takes user.home from the password database, not $HOME: point it (and ~/.m2) at $HOME.
    'export CI=true MAVEN_OPTS="-Djava.awt.headless=true -Duser.home=$HOME"',
    build,
    'code=$?',
    'while IFS= read -r f; do',
    '  echo "### ssr-report-begin $nonce $f"',
    '  cat "$f"',
    '  echo',
    '  echo "### ssr-report-end $nonce"',
    "done < <(find . -path ./node_modules -prune -o -type f -name 'TEST-*.xml' -path '*/surefire-reports/*' -printf '%P\\n' | LC_ALL=C sort)",
    "if [ $code -eq 0 ] && grep -rqsE '<(failure|error)[ >/]' --include='TEST-*.xml' .; then code=1; fi",
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

function mavenCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('pom.xml')) return [];
  const wrapper = scan.has('mvnw');
  const mvn = wrapper ? './mvnw' : 'mvn';
  const script = surefireScript(
    [
      "# Reports left in the repository would be read as this run's results.",
      "find . -path ./node_modules -prune -o -type d -name surefire-reports -path '*/target/*' -prune -exec rm -rf {} + 2>/dev/null",
      `${mvn} -B -q -o -Dmaven.test.failure.ignore=true -DtrimStackTrace=true test 2>&1`,
    ].join('\n'),
  );
  const files = scan.match(/(^|\/)src\/test\//);
  return [
    {
      framework: 'maven',
      ecosystem: 'java',
      reason: `pom.xml present${wrapper ? ' (with mvnw)' : ''}`,
      command: `${wrapper ? './mvnw' : 'mvn'} -o test`,
      testScript: script,
      testParser: SUREFIRE_PARSER,
      testFiles: files,
      notes: [
        'mvn -o test (offline: plugins and dependencies must already be in the local repository); ids are "<class>#<method>" from the Surefire XML reports',
      ],
      notApplicable:
        wrapper || toolAvailable('mvn')
          ? undefined
          : 'mvn is not installed (apt-get install maven)',
    },
  ];
}

// ---------------------------------------------------------------------------------------------

const ECOSYSTEM_ORDER: Ecosystem[] = ['npm', 'python', 'go', 'rust', 'java'];

/**
 * Every candidate for the repository, most likely first: ecosystems by how many test files
 * their candidates name (ties: npm, Python, Go, Rust, Java); within one, the runners the test
 * script calls, then the frameworks with other evidence, then fallbacks.
 */
export function proposeCandidates(scan: RepoScan): Candidate[] {
  const groups: Candidate[][] = [
    npmCandidates(scan),
    pythonCandidates(scan),
    goCandidates(scan),
    cargoCandidates(scan),
    mavenCandidates(scan),
  ];
  const weight = (g: Candidate[]) => new Set(g.flatMap((c) => c.testFiles)).size;
  return groups
    .filter((g) => g.length)
    .map((g) => ({ g, w: weight(g), o: ECOSYSTEM_ORDER.indexOf(g[0]!.ecosystem) }))
    .sort((a, b) => b.w - a.w || a.o - b.o)
    .flatMap((x) => x.g);
}

/**
 * Candidates for npm projects: jest, vitest, mocha, tape, node-tap, ava, uvu, jasmine, node:test,
 * and npm test as a fallback.
 */
import {
  dropFlags,
  expandedTestScript,
  findNodeTestCall,
  findRunnerCall,
  isPlaceholderTestScript,
  positionals,
  type RunnerCall,
  shq,
  type Word,
} from './npm-script.js';
import {
  AVA_PARSER,
  GENERIC_TAP_PARSER,
  JASMINE_PARSER,
  JEST_JSON_PARSER,
  MOCHA_PARSER,
  NODE_TAP_PARSER,
  NODE_TEST_PARSER,
  TAPE_PARSER,
  UVU_PARSER,
} from './parsers.js';
import { JASMINE_REPORTER, MOCHA_REPORTER, MOCHA_SCOPE_HOOK, UVU_HOOK } from './reporters.js';
import { expandPathArg, globToRegExp, type RepoScan } from './scan.js';
import {
  type Candidate,
  envWords,
  fileBefore,
  header,
  idFiles,
  JS_ENV,
  listedFiles,
  perFile,
  shellList,
  toolAvailable,
  uniqueSorted,
  withReport,
  words,
} from './script-pieces.js';

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
    // --runTestsByPath takes the positional words as files: path patterns of the project's own
    // command that are no test file (a folder, a regex) drop out, the files given run.
    scope: {
      script: (fs) =>
        `${header('jest', `runs ${fs.length} of jest's test files in band and prints its JSON report`)}\n${JS_ENV}\n${withReport(`${command} --runTestsByPath${shellList(fs)}`, report, 'jest')}`,
      fileOf: fileBefore(' > '),
    },
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
    // File paths as vitest filters (a filter matches a test file's path by substring; the
    // project's own filters still apply too, so at worst more files run, never fewer).
    scope: {
      script: (fs) =>
        `${header('vitest', `runs ${fs.length} of vitest's test files once and prints its JSON report`)}\n${JS_ENV}\n${withReport(`${command}${shellList(fs)}`, report, 'vitest')}`,
      fileOf: fileBefore(' > '),
    },
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

/** Test files by the usual names, wherever they are (`lib/x/__tests__/y.test.js`). */
const MOCHA_STYLE_FILE = /(^|\/)[^/]+[.-](test|spec)\.[cm]?js$/;

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
  // Nothing where mocha looks by default (./test), and no spec named anywhere: a project that
  // runs mocha from its own script (`node test.js` adding files to a Mocha) keeps its test
  // files elsewhere; those that call describe/it are given to mocha by name.
  const named = specs.length > 0 || config.spec.length > 0;
  const found =
    !named && files.size === 0
      ? ctx.scan
          .match(MOCHA_STYLE_FILE)
          .filter((f) => !f.split('/').includes('node_modules'))
          .filter((f) => /\b(describe|it)\s*\(/.test(ctx.scan.read(f) ?? ''))
      : [];
  for (const f of found) files.add(f);
  for (const f of flagValues(['--file'])) if (ctx.scan.has(f.replace(/^\.\//, ''))) files.add(f);
  const out = '$tmp/results.jsonl';
  const mochaScript = (only: readonly string[] | null, others: readonly string[] = []) => {
    // Focused: the suite's other test files are left out by a --require hook (--file setup
    // files stay), since mocha adds command-line files to a .mocharc spec instead of replacing it.
    const scope = only
      ? [
          'cat > "$tmp/scope.cjs" <<\'SSR_SCOPE_EOF\'',
          MOCHA_SCOPE_HOOK.replace('@@DROP@@', JSON.stringify(others)).trimEnd(),
          'SSR_SCOPE_EOF',
        ]
      : [];
    const command = `${envWords(call?.env ?? [])}SSR_MOCHA_OUT="${out}" node_modules/.bin/mocha${only ? ' --require "$tmp/scope.cjs"' : ''}${words(args)} --exit --reporter "$tmp/reporter.cjs"${shellList(found)}`;
    return [
      header(
        'mocha',
        only
          ? `runs ${only.length} of mocha's test files with a reporter that records each test's file and title path`
          : "runs mocha with a reporter that records each test's file and title path",
      ),
      JS_ENV,
      'cat > "$tmp/reporter.cjs" <<\'SSR_REPORTER_EOF\'',
      MOCHA_REPORTER.trimEnd(),
      'SSR_REPORTER_EOF',
      ...scope,
      `: > "${out}"`,
      withReport(command, out, 'mocha'),
    ].join('\n');
  };
  const script = mochaScript(null);
  return {
    framework: 'mocha',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/mocha',
    testScript: script,
    scope: {
      script: mochaScript,
      fileOf: fileBefore(' > '),
      warm: {
        runner: 'mocha',
        args: args.map((w) => w.value),
        env: Object.fromEntries(
          (call?.env ?? []).map((w) => [
            w.value.slice(0, w.value.indexOf('=')),
            w.value.slice(w.value.indexOf('=') + 1),
          ]),
        ),
      },
    },
    testParser: MOCHA_PARSER,
    testFiles: [...files],
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'mocha runs with a small reporter (written to the sandbox /tmp) that records each test with its file and title path',
      ...(found.length
        ? [
            `mocha's default ./test holds no test files and no spec is named: the ${found.length} *.test.js/*.spec.js file(s) that call describe/it are given to mocha`,
          ]
        : []),
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
  const tapeScript = (fs: readonly string[]) =>
    `${header('tape', 'runs each tape test file on its own; ids carry the file and test name')}\n${JS_ENV}\n${perFile(fs, each)}`;
  return {
    framework: 'tape',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node <file> (each tape test file on its own)',
    ...listedFiles(tapeScript, files),
    testParser: TAPE_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'tape test files run one at a time with node; an id is "<file> > <test name>" (a second test of the same name in a file gets " (2)"): it fails if any of its assertions fails, is skipped if all were skipped, and assertion numbers are not part of it',
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

// ---------------------------------------------------------------------------------------------
// node-tap, uvu, ava, jasmine

/** Major version of an installed package (node_modules/<name>/package.json), or null. */
function installedMajor(scan: RepoScan, name: string): number | null {
  const text = scan.read(`node_modules/${name}/package.json`);
  if (text === null) return null;
  try {
    const v = (JSON.parse(text) as { version?: unknown }).version;
    const m = typeof v === 'string' ? /^(\d+)\./.exec(v) : null;
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Top-level keys of a simple YAML file (.taprc): `key: value`, `key: [a, b]` or a list of
 * `- item` lines below the key. Values are strings with their quotes removed.
 */
function simpleYaml(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(lines[i]!.replace(/\s+#.*$/, '').trimEnd());
    if (!m) continue;
    const [, key, rest] = m;
    const values: string[] = [];
    if (rest!.startsWith('[')) values.push(...rest!.replace(/[[\]]/g, '').split(','));
    else if (rest) values.push(rest);
    else {
      while (i + 1 < lines.length && /^\s+-\s+/.test(lines[i + 1]!)) {
        values.push(lines[++i]!.replace(/^\s+-\s+/, ''));
      }
    }
    out.set(key!, values.map((v) => v.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean));
  }
  return out;
}

/** Strings of a config value that may be one string or a list of them. */
function stringList(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
    (x): x is string => typeof x === 'string',
  );
}

/**
 * Files matching globs, where globs starting with "!" exclude. Extglobs (`?(m)js`,
 * `@(a|b)`), which jasmine and tap use, are read as the brace alternatives they amount to.
 */
function globFiles(scan: RepoScan, globs: string[], base = ''): string[] {
  const prefix = base ? `${base.replace(/^\.\/|\/+$/g, '')}/` : '';
  const rx = (g: string) => {
    const plain = g
      .replace(/^\.\//, '')
      .replace(/\?\(([^()]*)\)/g, (_, alts: string) => `{,${alts.split('|').join(',')}}`)
      .replace(/@\(([^()]*)\)/g, (_, alts: string) => `{${alts.split('|').join(',')}}`)
      .replace(/[*+]\(([^()]*)\)/g, '*');
    return globToRegExp(`${prefix}${plain}`);
  };
  const include = globs.filter((g) => !g.startsWith('!')).map(rx);
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => rx(g.slice(1)));
  return scan.files.filter(
    (f) => include.some((r) => r.test(f)) && !exclude.some((r) => r.test(f)),
  );
}

/** A script that runs `command` once and ends with its exit status. */
function runOnce(command: string): string {
  return [
    command,
    'code=$?',
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

const TAP_VALUED = [
  '--reporter',
  '-R',
  '--coverage-report',
  '--nyc-arg',
  '--branches',
  '--functions',
  '--lines',
  '--statements',
  '--coverage-map',
  '-M',
  '--save',
  '-s',
  '--grep',
  '-g',
  '--jobs',
  '-j',
  '--timeout',
  '-t',
  '--node-arg',
  '--test-arg',
  '--test-regex',
  '--test-ignore',
  '--include',
  '--exclude',
  '--before',
  '--after',
  '--reporter-arg',
  '--output-file',
  '-o',
  '--output-dir',
  '-d',
  '--test-env',
  '--plugin',
];
/** tap flags discovery sets itself (reporter, coverage) or that do not belong in one clean run. */
const TAP_DROPPED = [
  '--reporter',
  '-R',
  '--reporter-arg',
  '--coverage',
  '--cov',
  '--no-coverage',
  '--no-cov',
  '--check-coverage',
  '--no-check-coverage',
  '--100',
  '--coverage-report',
  '--nyc-arg',
  '--branches',
  '--functions',
  '--lines',
  '--statements',
  '--show-full-coverage',
  '--allow-incomplete-coverage',
  '--allow-empty-coverage',
  '--disable-coverage',
  '--coverage-map',
  '-M',
  '--watch',
  '-w',
  '--changed',
  '-n',
  '--save',
  '-s',
  '--bail',
  '-b',
  '--output-file',
  '-o',
  '--output-dir',
  '-d',
];
const TAP_EXT = 'js|cjs|mjs|jsx|ts|cts|mts|tsx';
/** tap <= 17's default --test-regex. */
const TAP16_DEFAULT = new RegExp(
  `((\\/|^)(tests?|__tests?__)\\/.*|\\.(tests?|spec)|^\\/?tests?)\\.(${TAP_EXT})$`,
  'i',
);
/** tap >= 18's default include (less its default exclude, fixtures and dist). */
const TAP18_DEFAULT = [
  new RegExp(`(^|/)(tests?|__tests?__)/.*\\.(${TAP_EXT}|tap)$`),
  new RegExp(`(^|/)[^/]*\\.(tests?|spec)\\.(${TAP_EXT}|tap)$`),
  new RegExp(`(^|/)tests?\\.(${TAP_EXT}|tap)$`),
];
const TAP18_EXCLUDED = /(^|\/)(fixtures?|dist)\//;

/**
 * node-tap, run once with its own runner (which reads .taprc and package.json "tap" itself) and
 * the TAP reporter, coverage off (tap <= 17 `--no-coverage`, tap >= 18 `--disable-coverage`,
 * by the version installed): `npm test` in such projects adds coverage gates and linters.
 */
function tapCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['tap'],
    dep: 'tap',
    configs: /^\.taprc$/,
    field: 'tap',
  });
  if (!reasons.length) return null;
  const major = installedMajor(ctx.scan, 'tap');
  let args = (call?.args ?? []).filter((w) => !/^-R\S/.test(w.value));
  args = dropFlags(args, TAP_DROPPED, TAP_VALUED);
  if (args[0]?.value === 'run') args = args.slice(1);
  const paths = positionals(args, TAP_VALUED);
  const rc = simpleYaml(ctx.scan.read('.taprc') ?? '');
  const field = ctx.scan.packageJson?.tap;
  const fromField = (key: string) =>
    field && typeof field === 'object' ? stringList((field as Record<string, unknown>)[key]) : [];
  const configured = [
    ...(rc.get('files') ?? []),
    ...(rc.get('include') ?? []),
    ...fromField('files'),
    ...fromField('include'),
  ];
  const excluded = [...(rc.get('exclude') ?? []), ...fromField('exclude')].map((g) => `!${g}`);
  const isJs = (p: string) => new RegExp(`\\.(${TAP_EXT})$`).test(p);
  let files: string[];
  let source: string;
  if (paths.length) {
    files = uniqueSorted(paths.flatMap((w) => expandPathArg(ctx.scan, w.value, isJs)));
    source = 'the files the test script names';
  } else if (configured.length) {
    files = globFiles(ctx.scan, [...configured, ...excluded]);
    source = 'the files .taprc or package.json "tap" names';
  } else if (major !== null && major >= 18) {
    files = ctx.scan.match(...TAP18_DEFAULT).filter((f) => !TAP18_EXCLUDED.test(f));
    source = "tap 18's default test files";
  } else {
    files = ctx.scan.match(TAP16_DEFAULT);
    source = "tap's default test files";
  }
  const coverage = major !== null && major >= 18 ? '--disable-coverage' : '--no-coverage';
  const command = `${envWords(call?.env ?? [])}node_modules/.bin/tap${words(args)} --reporter=tap ${coverage} 2>&1`;
  return {
    framework: 'tap',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: `node_modules/.bin/tap --reporter=tap ${coverage}`,
    testScript: `${header('tap', `runs node-tap once with the TAP reporter and coverage off (${coverage})`)}\n${JS_ENV}\n${runOnce(command)}`,
    testParser: NODE_TAP_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      `tap runs once with --reporter=tap ${coverage}${major === null ? '' : ` (tap ${major} installed)`}, on ${source}; ids are "<file> > <subtest> > <nested subtest>": assertions (t.equal...) count toward their subtest, never as tests, and tap's "# time=" notes are not part of ids`,
    ],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'tap'),
  };
}

/** uvu's default test file pattern (no directory given), and the one for a directory. */
const UVU_DEFAULT =
  /((\/|^)(tests?|__tests?__)\/.*|\.(tests?|spec)|^\/?tests?)\.([mc]js|[jt]sx?)$/i;
const UVU_IN_DIR = /(((?:[^/]*(?:\/|$))*)[\\/])?\w+\.([mc]js|[jt]sx?)$/;

function uvuCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, { runners: ['uvu'], dep: 'uvu', configs: /^$/ });
  if (!reasons.length) return null;
  const valued = ['-r', '--require', '-i', '--ignore', '-C', '--cwd'];
  const args = call?.args ?? [];
  const values = (names: string[]) =>
    args.flatMap((w, i) => {
      const [name, value] = w.value.split(/=(.*)/s);
      if (!names.includes(name!)) return [];
      return value !== undefined ? [value] : args[i + 1] ? [args[i + 1]!.value] : [];
    });
  const [dirWord, patternWord] = positionals(args, valued);
  const dir = (dirWord?.value ?? '').replace(/^\.\/?/, '').replace(/\/+$/, '');
  const regex = (s: string, flags: string) => {
    try {
      return new RegExp(s, flags);
    } catch {
      return null;
    }
  };
  const pattern = patternWord ? regex(patternWord.value, 'i') : dirWord ? UVU_IN_DIR : UVU_DEFAULT;
  const ignores = ['^.git', 'node_modules', ...values(['-i', '--ignore'])]
    .map((s) => regex(s, 'i'))
    .filter((r): r is RegExp => r !== null);
  const mentionsUvu = (f: string) => /\buvu\b|\.run\(\)/.test(ctx.scan.read(f) ?? '');
  const files = ctx.scan.files.filter((f) => {
    if (dir && !f.startsWith(`${dir}/`)) return false;
    const rel = dir ? f.slice(dir.length + 1) : f;
    return pattern?.test(rel) && !ignores.some((r) => r.test(rel)) && mentionsUvu(f);
  });
  const requires = values(['-r', '--require'])
    .map((r) => ` -r ${shq(r)}`)
    .join('');
  const out = '"$tmp/uvu.jsonl"';
  const each = [
    `: > ${out}`,
    `${envWords(call?.env ?? [])}SSR_UVU_OUT=${out} node -r "$tmp/uvu-hook.cjs"${requires} "$f" 2>&1`,
    'code=$?',
    'echo "### ssr-report-begin $nonce uvu"',
    `cat ${out}`,
    'echo "### ssr-report-end $nonce"',
    '(exit $code)',
  ].join('; ');
  const uvuScript = (fs: readonly string[]) =>
    [
      header(
        'uvu',
        'runs each uvu test file on its own with node and a preload that records each test',
      ),
      JS_ENV,
      'cat > "$tmp/uvu-hook.cjs" <<\'SSR_HOOK_EOF\'',
      UVU_HOOK.trimEnd(),
      'SSR_HOOK_EOF',
      perFile(fs, each),
    ].join('\n');
  return {
    framework: 'uvu',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node -r <recorder> <file> (each uvu test file on its own)',
    ...listedFiles(uvuScript, files),
    testParser: UVU_PARSER,
    testFiles: files,
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      'uvu test files run one at a time with node; uvu prints names only for failures, so a preload (written to the sandbox /tmp) records the name uvu gives each test with its pass/fail mark: ids are "<file> > <test>" ("<file> > <suite> > <test>" for named suites), stable as long as the titles are; skipped tests have no name in uvu and are left out; a file the preload recorded nothing for counts by its exit status as "<file> > (whole file)"',
    ],
    notApplicable:
      nodeMissing() ??
      (ctx.scan.hasModule('uvu')
        ? files.length
          ? undefined
          : 'no uvu test files found'
        : 'node_modules/uvu not found (install the dependencies first: npm install)'),
  };
}

const AVA_VALUED = [
  '--match',
  '-m',
  '--timeout',
  '-T',
  '--concurrency',
  '-c',
  '--config',
  '--node-arguments',
];
const AVA_DROPPED = [
  '--watch',
  '-w',
  '--tap',
  '-t',
  '--verbose',
  '-v',
  '--update-snapshots',
  '-u',
  '--fail-fast',
  '-f',
  '--reset-cache',
];
const AVA_EXT = 'js|cjs|mjs';
/** ava's default test files (ava >= 3; older versions: the same less src/ and source/). */
const AVA_DEFAULT = [
  new RegExp(`^(src/|source/)?test\\.(${AVA_EXT})$`),
  new RegExp(`(^|/)test-[^/]*\\.(${AVA_EXT})$`),
  new RegExp(`(^|/)[^/]*\\.(spec|test)\\.(${AVA_EXT})$`),
  new RegExp(`(^|/)(tests?|__tests__)/.*\\.(${AVA_EXT})$`),
];
const AVA_IGNORED =
  /(^|\/)(__tests__\/(.*\/)?__(helpers?|fixtures?)__|tests?\/(.*\/)?(helpers?|fixtures?))\/|(^|\/)_[^/]*$/;

/** The file part of the titles ava prints ("dir › file › title"), for each test file. */
function avaPrefixes(files: string[]): Map<string, string> {
  const dirs = files.map((f) => f.split('/').slice(0, -1));
  let common = dirs[0] ?? [];
  for (const d of dirs) {
    let n = 0;
    while (n < common.length && n < d.length && common[n] === d[n]) n++;
    common = common.slice(0, n);
  }
  const out = new Map<string, string>();
  for (const f of files) {
    const parts = f
      .split('/')
      .slice(common.length)
      .filter((p) => p !== '__tests__');
    const last = parts.pop() ?? '';
    const stem = last.replace(new RegExp(`\\.(${AVA_EXT})$`), '');
    // ava >= 3 drops ".test"/".spec"/"test-"; ava 0.x kept a leading "test." in the name
    for (const name of [stem.replace(/\.(spec|test)\b/, '').replace(/test-/, ''), stem]) {
      out.set([...parts, name].join(' › '), f);
    }
  }
  return out;
}

function avaCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['ava'],
    dep: 'ava',
    configs: /^ava\.config\.(js|cjs|mjs)$/,
    field: 'ava',
  });
  if (!reasons.length) return null;
  const args = dropFlags(call?.args ?? [], AVA_DROPPED, AVA_VALUED);
  const paths = positionals(args, AVA_VALUED).map((w) => w.value);
  const field = ctx.scan.packageJson?.ava;
  const configured =
    field && typeof field === 'object' ? stringList((field as Record<string, unknown>).files) : [];
  let files: string[];
  if (paths.length) {
    const isJs = (p: string) => new RegExp(`\\.(${AVA_EXT})$`).test(p);
    files = uniqueSorted(
      paths.flatMap((p) =>
        p.startsWith('!') ? [] : expandPathArg(ctx.scan, p, (f) => isJs(f) && !AVA_IGNORED.test(f)),
      ),
    );
  } else if (configured.length) {
    files = globFiles(ctx.scan, configured).filter((f) => !AVA_IGNORED.test(f));
  } else {
    files = ctx.scan.match(...AVA_DEFAULT).filter((f) => !AVA_IGNORED.test(f));
  }
  const command = `${envWords(call?.env ?? [])}node_modules/.bin/ava${words(args)} --tap 2>&1`;
  const prefixes = avaPrefixes(files);
  return {
    framework: 'ava',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/ava --tap',
    testScript: `${header('ava', 'runs ava once with its TAP reporter')}\n${JS_ENV}\n${runOnce(command)}`,
    testParser: AVA_PARSER,
    testFiles: files,
    filesFromIds: (ids) => {
      const out = new Set<string>();
      for (const id of ids) {
        const parts = id.split(' › ');
        for (let n = parts.length - 1; n > 0; n--) {
          const f = prefixes.get(parts.slice(0, n).join(' › '));
          if (f) {
            out.add(f);
            break;
          }
        }
      }
      return [...out];
    },
    notes: [
      'ava runs once with --tap; ids are the titles ava prints, "<file part> › <title>" (the file\'s path from the test files\' common folder without "test"/"spec" and extension, as ava shows it), so they do not depend on the order ava runs files in; a failed run with no failing test is "(whole run)"',
    ],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'ava'),
  };
}

/** jasmine.json: spec_dir, spec_files and helpers (JSON configs only; .js ones are not read). */
function jasmineConfig(
  scan: RepoScan,
  path: string,
): { dir: string; specs: string[]; helpers: string[] } | null {
  const text = scan.read(path.replace(/^\.\//, ''));
  if (text === null) return null;
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    return {
      dir: typeof c.spec_dir === 'string' ? c.spec_dir : '',
      specs: stringList(c.spec_files),
      helpers: stringList(c.helpers),
    };
  } catch {
    return null;
  }
}

function jasmineCandidate(ctx: JsContext): Candidate | null {
  const { reasons, call } = jsEvidence(ctx, {
    runners: ['jasmine'],
    dep: 'jasmine',
    configs: /^$/,
  });
  const defaultConfig = 'spec/support/jasmine.json';
  if (ctx.scan.has(defaultConfig)) reasons.push(`${defaultConfig} present`);
  if (!reasons.length) return null;
  const flagName = (w: Word) => w.value.split('=')[0]!;
  const args = (call?.args ?? []).filter(
    (w) =>
      ![
        '--reporter',
        '--parallel',
        '--random',
        '--seed',
        '--fail-fast',
        '--stop-on-failure',
        '--color',
        '--no-color',
        '--verbose',
      ].includes(flagName(w)),
  );
  const configArg = args.find((w) => flagName(w) === '--config')?.value.split(/=(.*)/s)[1];
  const configEnv = (call?.env ?? [])
    .find((w) => w.value.startsWith('JASMINE_CONFIG_PATH='))
    ?.value.slice('JASMINE_CONFIG_PATH='.length);
  const configPath = configArg ?? configEnv ?? defaultConfig;
  const config = jasmineConfig(ctx.scan, configPath);
  const paths = args.filter((w) => !w.value.startsWith('-')).map((w) => w.value);
  const isJs = (p: string) => /\.(js|cjs|mjs)$/.test(p);
  let files: string[];
  if (paths.length) {
    files = uniqueSorted(paths.flatMap((p) => expandPathArg(ctx.scan, p, isJs)));
  } else {
    const c = config ?? { dir: 'spec', specs: ['**/*[sS]pec.?(m)js'], helpers: [] };
    files = globFiles(ctx.scan, c.specs, c.dir);
  }
  const helpers = config ? globFiles(ctx.scan, config.helpers, config.dir) : [];
  const out = '$tmp/results.jsonl';
  const command = `${envWords(call?.env ?? [])}SSR_JASMINE_OUT="${out}" node_modules/.bin/jasmine --random=false --helper="$tmp/ssr-jasmine.cjs"${words(args)}`;
  const script = [
    header('jasmine', 'runs jasmine in declared order with a helper that records each spec'),
    JS_ENV,
    'cat > "$tmp/ssr-jasmine.cjs" <<\'SSR_REPORTER_EOF\'',
    JASMINE_REPORTER.trimEnd(),
    'SSR_REPORTER_EOF',
    `: > "${out}"`,
    withReport(command, out, 'jasmine'),
  ].join('\n');
  return {
    framework: 'jasmine',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node_modules/.bin/jasmine --random=false',
    testScript: script,
    testParser: JASMINE_PARSER,
    testFiles: uniqueSorted([...files, ...helpers]),
    filesFromIds: (ids) => idFiles(ids, / > /, ctx.scan),
    notes: [
      `jasmine runs once in declared order (--random=false, so outcomes do not depend on a random seed) with a helper (written to the sandbox /tmp) that records each spec beside jasmine's own report; ids are "<file> > <suite> > <spec>"; ${config ? `spec files from ${configPath}` : paths.length ? 'spec files from the test script' : `no ${configPath}: spec files guessed as jasmine init's spec/**/*[sS]pec.?(m)js`}`,
    ],
    notApplicable: nodeMissing() ?? binMissing(ctx.scan, 'jasmine'),
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
  const nodeTestScript = (fs: readonly string[]) =>
    `${header('node-test', 'runs node --test with the TAP reporter, one test file at a time')}\n${JS_ENV}\n${perFile(fs, each)}`;
  return {
    framework: 'node-test',
    ecosystem: 'npm',
    reason: reasons.join('; '),
    command: 'node --test --test-reporter=tap <file> (each file on its own)',
    ...listedFiles(nodeTestScript, files),
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
      'fallback: npm test with TAP parsing (no specific runner was detected); ids are "npm test > <test>" (a subtest, or a tape-style "# name" group; assertions count toward their test)',
    ],
    notApplicable: toolAvailable('npm') ? undefined : 'npm is not installed',
  };
}

export function npmCandidates(scan: RepoScan): Candidate[] {
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
    tapCandidate(ctx),
    avaCandidate(ctx),
    uvuCandidate(ctx),
    jasmineCandidate(ctx),
    nodeTestCandidate(ctx),
  ].filter((c): c is Candidate => c !== null);
  // Runners the test script calls come first, in the order it calls them.
  const runnerWords: Record<string, RegExp> = {
    vitest: /\bvitest\b/,
    jest: /\bjest\b/,
    mocha: /\b_?mocha\b/,
    tape: /\btape\b/,
    tap: /(?<![\w=.-])tap(?![\w-])/,
    ava: /(?<![\w=.-])ava(?![\w-])/,
    uvu: /(?<![\w=.-])uvu(?![\w-])/,
    jasmine: /(?<![\w=.-])jasmine(?![\w-])/,
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
  // npm test in a project whose test script runs node-tap adds its coverage gates and linters
  // (four times as slow) and fails where tap itself would: no fallback then.
  const tapCalled = ctx.script !== '' && findRunnerCall(ctx.script, ['tap']) !== null;
  const fallback = tapCalled ? null : npmTestCandidate(ctx);
  return fallback ? [...ordered, fallback] : ordered;
}

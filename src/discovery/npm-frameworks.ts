/** Candidates for npm projects: jest, vitest, mocha, tape, node:test, and npm test as a fallback. */
import {
  dropFlags,
  expandedTestScript,
  findNodeTestCall,
  findRunnerCall,
  isPlaceholderTestScript,
  positionals,
  type RunnerCall,
  shq,
} from './npm-script.js';
import {
  GENERIC_TAP_PARSER,
  JEST_JSON_PARSER,
  MOCHA_PARSER,
  NODE_TEST_PARSER,
  TAPE_PARSER,
} from './parsers.js';
import { MOCHA_REPORTER } from './reporters.js';
import { expandPathArg, type RepoScan } from './scan.js';
import {
  type Candidate,
  envWords,
  header,
  idFiles,
  JS_ENV,
  perFile,
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

/**
 * Candidates for Python projects: pytest (with the project's configuration) and unittest.
 * The project's own configuration wins over guesses: pytest's config file in effect (pytest.ini,
 * pyproject.toml, tox.ini, setup.cfg) gives python_files, testpaths, pythonpath and addopts
 * (doctests); a src layout the project installs (tox, nox, pip install -e .) gets src/ on
 * PYTHONPATH when the package would not import otherwise.
 */
import { inlineTestsEntry } from '../artifact/oracle-regions.js';
import { PYTEST_PARSER } from './parsers.js';
import { runArgs, runCommand, UNITTEST_PARSER, unittestPlan } from './python-unittest.js';
import { globToRegExp, type RepoScan } from './scan.js';
import {
  type Candidate,
  fileBefore,
  header,
  idFiles,
  shellList,
  toolAvailable,
  uniqueSorted,
} from './script-pieces.js';

const PY_EXCLUDED = /^(build|dist|site-packages|\.?env)\//;
const DEFAULT_PYTHON_FILES = ['test_*.py', '*_test.py'];
/** A unittest.TestCase subclass (also `TestCase` imported from unittest, django.test, ...). */
const TESTCASE_CLASS = /^\s*class\s+\w+\s*\([^)]*\bTestCase\b[^)]*\)\s*:/m;
const IN_TEST_DIR = /(^|\/)tests?\//;

export interface PytestConfig {
  file: string;
  testpaths: string[];
  /** python_files: basename globs of test modules (null: pytest's default). */
  pythonFiles: string[] | null;
  /** pythonpath (pytest >= 7): directories pytest itself puts on sys.path. */
  pythonpath: string[];
  addopts: string[];
}

/**
 * The values of `key` in an ini/TOML section body: a TOML array (one or more lines), a quoted
 * TOML string, or an ini value with indented continuation lines, split at whitespace.
 */
export function configValues(body: string, key: string): string[] | null {
  const array = new RegExp(`^${key}\\s*=\\s*\\[([\\s\\S]*?)\\]\\s*(?:#.*)?$`, 'm').exec(body);
  if (array) return [...array[1]!.matchAll(/"([^"]*)"|'([^']*)'/g)].map((x) => x[1] ?? x[2]!);
  const m = new RegExp(`^${key}\\s*[=:]\\s*((?:.*)(?:\\n[ \\t]+.*)*)`, 'm').exec(body);
  if (!m) return null;
  let value = m[1]!
    .split('\n')
    .filter((l) => !/^\s*[#;]/.test(l))
    .join(' ')
    .trim();
  const quoted = /^(["'])(.*)\1\s*(?:#.*)?$/.exec(value);
  if (quoted) value = quoted[2]!;
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.replace(/^(["'])(.*)\1$/, '$2').replace(/=(["'])(.*)\1$/, '=$2'));
}

/** The pytest configuration file in effect (pytest's order) and the settings discovery uses. */
export function pytestConfig(scan: RepoScan): PytestConfig | null {
  const sections: [string, RegExp][] = [
    ['pytest.ini', /^\[pytest\]\s*$/m],
    ['.pytest.ini', /^\[pytest\]\s*$/m],
    ['pyproject.toml', /^\[tool\.pytest\.ini_options\]\s*$/m],
    ['pyproject.toml', /^\[tool\.pytest\]\s*$/m],
    ['tox.ini', /^\[pytest\]\s*$/m],
    ['setup.cfg', /^\[tool:pytest\]\s*$/m],
  ];
  for (const [file, re] of sections) {
    const text = scan.read(file);
    if (text === null) continue;
    const m = re.exec(text);
    if (!m && !file.endsWith('pytest.ini')) continue;
    const body = m ? text.slice(m.index + m[0].length).split(/^\[/m)[0]! : '';
    const dirs = (key: string) =>
      (configValues(body, key) ?? []).map((p) => p.replace(/^\.\//, '').replace(/\/+$/, '') || '.');
    return {
      file,
      testpaths: dirs('testpaths'),
      pythonFiles: configValues(body, 'python_files'),
      pythonpath: dirs('pythonpath'),
      addopts: configValues(body, 'addopts') ?? [],
    };
  }
  return null;
}

/** Whether a file's basename matches one of pytest's python_files globs. */
function testModuleMatcher(patterns: string[]): (f: string) => boolean {
  const res = patterns.map((p) => globToRegExp(p));
  return (f) => {
    const base = f.slice(f.lastIndexOf('/') + 1);
    return f.endsWith('.py') && res.some((re) => re.test(base) || re.test(f));
  };
}

/** What a src layout needs: the line for test_script.sh and the note saying why. */
export interface PythonPathSetup {
  script: string;
  note: string | null;
}

/**
 * A src layout (src/<pkg>/__init__.py, no <pkg>/ at the top) only imports once installed (the
 * project's tox/nox/pip install -e . does it) or when pytest's own `pythonpath` names src. Here
 * nothing is installed: unless pytest's config handles it, the script puts src/ on PYTHONPATH
 * when `import <pkg>` would fail (an installed package is left alone).
 */
export function pythonPathSetup(scan: RepoScan, config: PytestConfig | null): PythonPathSetup {
  const pkgs = uniqueSorted(
    scan
      .match(/^src\/[A-Za-z_]\w*\/__init__\.py$/, /^src\/[A-Za-z_]\w*\.py$/)
      .map((f) => f.split('/')[1]!.replace(/\.py$/, ''))
      .filter(
        (p) => p !== '__init__' && p !== 'conftest' && !scan.hasDir(p) && !scan.has(`${p}.py`),
      ),
  );
  if (!pkgs.length) return { script: '', note: null };
  if (config?.pythonpath.includes('src')) {
    return {
      script: '',
      note: `src layout (src/${pkgs[0]}): pytest's pythonpath setting in ${config.file} puts src/ on the path`,
    };
  }
  const evidence: string[] = [];
  const tox = scan.read('tox.ini');
  if (tox && /^\[testenv\]/m.test(tox) && !/^\s*skip_install\s*=\s*true/im.test(tox))
    evidence.push('tox.ini [testenv] installs it');
  if (scan.has('noxfile.py')) evidence.push('noxfile.py installs it');
  const installers = scan.files.filter(
    (f) =>
      /^(Makefile|README[^/]*|CONTRIBUTING[^/]*|requirements[^/]*\.txt|\.github\/workflows\/[^/]+\.ya?ml)$/.test(
        f,
      ) && /pip3? install [^\n]*-e\s*\.|^\s*-e\s*\.\s*$/m.test(scan.read(f) ?? ''),
  );
  if (installers.length) evidence.push(`${installers[0]} runs pip install -e .`);
  const pkg = pkgs[0]!;
  const probe = `python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)' ${pkg} 2>/dev/null`;
  return {
    script: [
      `# src layout: ${pkg} imports only once installed; without an install, src/ goes on PYTHONPATH.`,
      `if ! ${probe}; then export PYTHONPATH="$PWD/src\${PYTHONPATH:+:$PYTHONPATH}"; fi`,
    ].join('\n'),
    note: `src layout (src/${pkg})${evidence.length ? `: the project expects an install (${evidence.join('; ')})` : ''}; the script sets PYTHONPATH=src when \`import ${pkg}\` fails in the sandbox (nothing is installed there)`,
  };
}

/** "tests.test_x.TestK.test_y" (module.Class.method) to the files its module may live in. */
function unittestIdFiles(ids: string[], scan: RepoScan, dirs: string[]): string[] {
  const out = new Set<string>();
  for (const id of ids) {
    const parts = id.split('.');
    for (let k = parts.length - 1; k >= 1; k--) {
      const rel = `${parts.slice(0, k).join('/')}.py`;
      const hit = [rel, ...dirs.map((d) => `${d}/${rel}`)].find((p) => scan.has(p));
      if (hit) {
        out.add(hit);
        break;
      }
    }
  }
  return [...out];
}

const PY_ENV = 'export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1';

export function pythonCandidates(scan: RepoScan): Candidate[] {
  const config = pytestConfig(scan);
  const isTestModule = testModuleMatcher(config?.pythonFiles ?? DEFAULT_PYTHON_FILES);
  const pyFilesAll = scan.match(/\.py$/).filter((f) => !PY_EXCLUDED.test(f));
  const tests = pyFilesAll.filter(isTestModule);
  const conftests = pyFilesAll.filter((f) => /(^|\/)conftest\.py$/.test(f));
  // unittest suites may keep TestCase classes in modules with any name (tests/foo.py).
  const testCaseFiles = pyFilesAll.filter(
    (f) =>
      (IN_TEST_DIR.test(f) || /(^|\/)tests?[^/]*\.py$/.test(f)) &&
      TESTCASE_CLASS.test(scan.read(f) ?? ''),
  );
  if (!tests.length && !config && !conftests.length && !testCaseFiles.length) return [];
  const out: Candidate[] = [];
  const python = toolAvailable('python3')
    ? undefined
    : 'python3 is not installed where the sandbox can see it (/usr, /usr/local)';
  const path = pythonPathSetup(scan, config);
  const env = path.script ? `${PY_ENV}\n${path.script}` : PY_ENV;
  const pathNotes = path.note ? [path.note] : [];

  if (tests.length || config || conftests.length) {
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
      config.testpaths.some((p) => p === '.' || f === p || f.startsWith(`${p}/`));
    const pyFiles = uniqueSorted(
      [...tests, ...conftests, ...testCaseFiles.filter((f) => IN_TEST_DIR.test(f))].filter(under),
    );
    const notes = [
      'pytest runs with -v -rfEpsxX and --continue-on-collection-errors (a test file that fails to import does not stop the others); ids are pytest node ids',
      ...pathNotes,
    ];
    if (config?.pythonFiles) {
      notes.push(
        `test modules as ${config.file} names them (python_files = ${config.pythonFiles.join(' ')})`,
      );
    }
    const doctest = doctests(scan, config, pyFilesAll, under, isTestModule);
    if (doctest) notes.push(doctest.note);
    const pytestCmd =
      'python3 -m pytest -p no:cacheprovider -v -rfEpsxX --color=no --continue-on-collection-errors';
    const pytestScript = (files: readonly string[] | null) =>
      `${header('pytest', files ? `runs pytest verbosely on ${files.length} of the test files, with the short summary of every outcome` : 'runs pytest verbosely with the short summary of every outcome')}\n${env}\nrm -rf "$tmp" 2>/dev/null\n${pytestCmd}${files ? ` --${shellList(files)}` : ''}\ncode=$?\necho "### ssr-exit $nonce $code"\nexit $code\n`;
    out.push({
      framework: 'pytest',
      ecosystem: 'python',
      reason: reasons.join('; '),
      command: 'python3 -m pytest',
      testScript: pytestScript(null),
      // Explicit paths replace testpaths; the ids' file part is the path pytest was given.
      scope: { script: pytestScript, fileOf: fileBefore('::') },
      testParser: PYTEST_PARSER,
      // Modules whose docstring examples pytest runs: only those examples are oracle.
      testFiles: [...pyFiles, ...(doctest?.modules ?? []).map(inlineTestsEntry)],
      filesFromIds: (ids) =>
        idFiles(
          ids,
          /::/,
          scan,
          (f) => isTestModule(f) || IN_TEST_DIR.test(f) || /(^|\/)tests?\.py$/.test(f),
        ),
      notes,
      notApplicable: python,
    });
  }

  const unittestFiles = uniqueSorted([
    ...pyFilesAll.filter(
      (f) => /(^|\/)test[^/]*\.py$/.test(f) && /\bunittest\b/.test(scan.read(f) ?? ''),
    ),
    ...testCaseFiles,
  ]);
  if (unittestFiles.length) {
    const plan = unittestPlan(scan, unittestFiles, testCaseFiles, pyFilesAll);
    const allPy = plan.runs.some((r) => r.kind === 'discover' && r.pattern === '*.py');
    const notes = [
      'unittest -v -b; ids are module.Class.test_method (a name printed again, as by the classes a load_tests() makes, gets " (2)", " (3)" in run order)',
      ...plan.notes,
      ...pathNotes,
    ];
    if (allPy && !plan.source) {
      const others = unittestFiles.filter((f) => !/(^|\/)test[^/]*\.py$/.test(f));
      notes.push(
        `TestCase classes live in modules not named test*.py (${others.slice(0, 5).join(', ')}): discover imports every module of their test directory (-p '*.py')`,
      );
    }
    const single = plan.runs.length === 1;
    const lines = plan.runs.map(
      (r) => `python3 -m unittest ${runArgs(r)} 2>&1${single ? '' : ' || code=$?'}`,
    );
    const run = single ? [...lines, 'code=$?'] : ['code=0', ...lines];
    out.push({
      framework: 'unittest',
      ecosystem: 'python',
      reason: `${plan.source ? `unittest in the project's ${plan.source}; ` : ''}${unittestFiles.length} test file(s) ${allPy ? 'define unittest TestCase classes' : 'import unittest'}`,
      command: plan.runs.map(runCommand).join('; '),
      // A fixed hash seed: suites built from sets keep their order, so repeated names keep
      // their numbers from run to run.
      testScript: `${header('unittest', 'runs unittest verbosely, test output buffered')}\n${env}\nexport PYTHONHASHSEED=0\nrm -rf "$tmp" 2>/dev/null\n${run.join('\n')}\necho "### ssr-exit $nonce $code"\nexit $code\n`,
      testParser: UNITTEST_PARSER,
      testFiles: plan.files,
      filesFromIds: (ids) => unittestIdFiles(ids, scan, plan.idDirs),
      notes,
      notApplicable: python,
    });
    // Suites built by load_tests() or test_suite() functions (generated and parametrised
    // cases) are invisible to pytest, which collects a fraction of them: unittest goes first
    // when they are there or the project's own command runs unittest, unless the project says
    // pytest (a pytest config, or tests that import pytest).
    const builtSuites = unittestFiles.some((f) =>
      /^def (load_tests|test_suite|suite)\(/m.test(scan.read(f) ?? ''),
    );
    const saysPytest =
      !!config || pyFilesAll.some((f) => /^\s*(import|from) pytest\b/m.test(scan.read(f) ?? ''));
    if ((builtSuites || plan.source) && !saysPytest && out[0]?.framework === 'pytest') {
      out.reverse();
      out[0]!.notes.unshift(
        plan.source
          ? `unittest before pytest: the project runs its tests with unittest (${plan.source})`
          : 'unittest before pytest: test modules build their suites with load_tests()/test_suite(), which pytest does not run',
      );
    }
  }
  return out;
}

/**
 * With --doctest-modules (or --doctest-glob) in the config's addopts, pytest also runs the
 * examples in docstrings: ids like "src/pkg/mod.py::pkg.mod.func". Those modules hold the code
 * under test and the examples: `modules` lists them, for `<path>#inline-tests` entries (their
 * docstrings with `>>>` are oracle, the rest is code); the note names them and the text files.
 */
function doctests(
  scan: RepoScan,
  config: PytestConfig | null,
  pyFiles: string[],
  under: (f: string) => boolean,
  isTestModule: (f: string) => boolean,
): { note: string; modules: string[] } | null {
  if (!config) return null;
  const opts = config.addopts;
  const modules = opts.includes('--doctest-modules');
  const globs = opts.flatMap((o, i) =>
    o.startsWith('--doctest-glob=')
      ? [o.slice('--doctest-glob='.length)]
      : o === '--doctest-glob' && opts[i + 1]
        ? [opts[i + 1]!]
        : [],
  );
  if (!modules && !globs.length) return null;
  const withExamples = modules
    ? pyFiles.filter(
        (f) =>
          under(f) &&
          !isTestModule(f) &&
          !/(^|\/)(setup|conftest)\.py$/.test(f) &&
          /^\s*>>> /m.test(scan.read(f) ?? ''),
      )
    : [];
  const texts = globs.length
    ? scan.files.filter(
        (f) => under(f) && globs.some((g) => globToRegExp(g).test(f.slice(f.lastIndexOf('/') + 1))),
      )
    : [];
  const found = [...withExamples, ...texts];
  const list = found.length
    ? `${found.length} file(s) with examples: ${found.slice(0, 10).join(', ')}${found.length > 10 ? ', ...' : ''}`
    : 'no file with examples found';
  const oracle = withExamples.length
    ? `; the modules hold the code under test, so only their docstrings with examples are oracle (test_files.txt: <path>#inline-tests)`
    : '';
  return {
    note: `doctests on (${[modules ? '--doctest-modules' : '', ...globs.map((g) => `--doctest-glob=${g}`)].filter(Boolean).join(' ')} in ${config.file}): ${list}; their ids look like "src/pkg/mod.py::pkg.mod.func" and they count as tests${oracle}`,
    modules: withExamples,
  };
}

/** Candidates for Python projects: pytest (with the project's configuration) and unittest. */
import { PYTEST_PARSER, UNITTEST_PARSER } from './parsers.js';
import type { RepoScan } from './scan.js';
import { type Candidate, header, idFiles, toolAvailable, uniqueSorted } from './script-pieces.js';

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

const PY_ENV = 'export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1';

export function pythonCandidates(scan: RepoScan): Candidate[] {
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

/**
 * Fixture repositories and artifact builders for the validator tests.
 *
 * Fixtures are built on demand in `$TMPDIR/ssr-fixtures/<name>-v<N>` and reused by every test
 * file (and every later run) until the version is bumped. A fixture is built beside its final
 * place and renamed into it, so a reader sees a complete fixture or none, and two processes
 * building at once both succeed (the second rename loses and its copy is discarded).
 *
 * Third-party code (minimist, shell-quote, tape; gyp from node-gyp) is fetched from the npm
 * registry at test time; nothing of it is kept in this repository. The Python package mathkit
 * is original and written out from here.
 *
 * Tests must never write into a fixture: diffs are made in a throwaway clone (`makeDiff`).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type Artifact,
  ArtifactMetadataSchema,
  writeArtifact,
} from '../../src/artifact/artifact.js';

export const FIXTURE_ROOT = join(tmpdir(), 'ssr-fixtures');

/** Environment for every git command here: no user or system config, fixed identity and dates. */
function gitEnv(date = '2024-01-01T00:00:00Z'): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Fixture Author',
    GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
    GIT_COMMITTER_NAME: 'Fixture Author',
    GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    TZ: 'UTC',
  };
}

function git(cwd: string, args: string[], date?: string): string {
  return execFileSync(
    'git',
    ['-c', 'init.defaultBranch=main', '-c', 'core.autocrlf=false', ...args],
    { cwd, env: gitEnv(date), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

function commitAll(cwd: string, message: string, date: string): void {
  git(cwd, ['add', '-A']);
  git(cwd, ['commit', '-q', '--no-gpg-sign', '--no-verify', '-m', message], date);
}

/**
 * Returns `${FIXTURE_ROOT}/${name}`, building it with `build(dir)` first if it does not exist.
 * The build happens in a private sibling folder that is renamed into place when complete.
 */
function buildOnce(name: string, build: (dir: string) => void): string {
  const dest = join(FIXTURE_ROOT, name);
  if (existsSync(dest)) return dest;
  mkdirSync(FIXTURE_ROOT, { recursive: true });
  const staging = join(
    FIXTURE_ROOT,
    `.${name}.build-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  mkdirSync(staging);
  try {
    build(staging);
    try {
      renameSync(staging, dest);
    } catch (err) {
      // Another process finished first: its fixture is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(dest)) throw err;
      rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return dest;
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

// ---------------------------------------------------------------------------------------------
// minimist 1.2.8 (from npm) with tape 5 installed so its own test suite runs

export const MINIMIST_VERSION = '1.2.8';

const NPM_FLAGS = ['--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'];

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', [...args, ...NPM_FLAGS], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** `npm pack <spec>` into `scratch`, unpacked into `into`; returns its `package/` folder. */
function unpackFromNpm(spec: string, scratch: string, into: string): string {
  const tgz = npm(['pack', spec, '--pack-destination', scratch], scratch)
    .trim()
    .split('\n')
    .at(-1)!
    .trim();
  mkdirSync(into, { recursive: true });
  // stdio piped: GNU tar warns about npm's extended header keywords.
  execFileSync('tar', ['xzf', join(scratch, tgz), '--no-same-owner', '-C', into], {
    stdio: 'pipe',
  });
  return join(into, 'package');
}

function moveEntries(from: string, to: string): void {
  for (const name of readdirSync(from)) renameSync(join(from, name), join(to, name));
}

/** Empties `dir` but for the entries named in `keep`. */
function clearTree(dir: string, keep: string[]): void {
  for (const name of readdirSync(dir)) {
    if (!keep.includes(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Installs `runners` (npm specs) in a scratch project and moves its node_modules into `dir`:
 * installing them in the package itself would also install all its devDependencies (for
 * minimist: eslint, nyc...: 500+ packages).
 */
function installRunners(scratch: string, runners: string[], dir: string): void {
  if (runners.length === 0) return;
  const deps = join(scratch, 'deps');
  mkdirSync(deps);
  writeFileSync(join(deps, 'package.json'), '{"name":"deps","version":"0.0.0","private":true}\n');
  npm(['install', '--no-save', '--ignore-scripts', ...runners], deps);
  renameSync(join(deps, 'node_modules'), join(dir, 'node_modules'));
}

/**
 * `pkg`'s `versions` as git history: one commit per release (dated `dateOf(i)`), each the
 * package exactly as npm ships it, plus `runners` in node_modules, git-ignored through
 * .git/info/exclude so every commit is exactly the package.
 */
function npmReleaseHistoryRepo(
  name: string,
  pkg: string,
  versions: string[],
  dateOf: (i: number) => string,
  runners: string[],
): string {
  return buildOnce(name, (dir) => {
    const scratch = mkdtempSync(join(tmpdir(), 'ssr-fixture-npm-'));
    try {
      git(dir, ['init', '-q']);
      writeFileSync(join(dir, '.git', 'info', 'exclude'), 'node_modules/\n');
      versions.forEach((version, i) => {
        const unpacked = unpackFromNpm(`${pkg}@${version}`, scratch, join(scratch, version));
        clearTree(dir, ['.git', 'node_modules']);
        moveEntries(unpacked, dir);
        commitAll(dir, `${pkg} ${version}`, dateOf(i));
      });
      installRunners(scratch, runners, dir);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

/**
 * minimist@1.2.8 as published on npm, as a git repository with one commit, plus tape 5 in
 * node_modules (ignored by git through .git/info/exclude, so the commit is exactly the package).
 *
 * tape is installed in a scratch project and moved in: `npm install tape@5` inside minimist
 * itself would also install all of minimist's devDependencies (eslint, nyc...: 500+ packages).
 */
export function minimistRepo(): string {
  return npmPackageRepo(
    `minimist-${MINIMIST_VERSION}-v1`,
    `minimist@${MINIMIST_VERSION}`,
    ['tape@5'],
    '2023-02-16T00:00:00Z',
    `minimist ${MINIMIST_VERSION} as published on npm`,
  );
}

/** minimist releases whose source changes are real bug fixes (prototype pollution) with tests. */
export const MINIMIST_HISTORY = ['1.2.0', '1.2.1', '1.2.2', '1.2.3', '1.2.4', '1.2.5', '1.2.6'];

/**
 * minimist with a real git history: one commit per published release 1.2.0 ... 1.2.6, each
 * the package exactly as npm ships it, plus tape 5 in node_modules (git-ignored). The
 * history-aware strategy can revert these fixes; the 1.2.6 tests catch the reverts.
 */
export function minimistHistoryRepo(): string {
  return npmReleaseHistoryRepo(
    `minimist-history-${MINIMIST_HISTORY.at(-1)}-v1`,
    'minimist',
    MINIMIST_HISTORY,
    (i) => `2020-0${Math.min(9, i + 1)}-01T00:00:00Z`,
    ['tape@5'],
  );
}

/** node-gyp releases whose bundled gyp (Python, Google's build tool) changed between them. */
export const GYP_HISTORY = ['10.0.0', '10.1.0', '10.2.0'];

/**
 * gyp, the Python build-file generator bundled in node-gyp, as a third-party Python package
 * with a pytest-runnable suite (unittest-style *_test.py files) and a real history: one
 * commit per node-gyp release's gyp/ folder, exactly as npm ships it.
 */
export function gypRepo(): string {
  return buildOnce(`gyp-history-${GYP_HISTORY.at(-1)}-v1`, (dir) => {
    const scratch = mkdtempSync(join(tmpdir(), 'ssr-fixture-npm-'));
    try {
      git(dir, ['init', '-q']);
      GYP_HISTORY.forEach((version, i) => {
        const unpacked = unpackFromNpm(`node-gyp@${version}`, scratch, join(scratch, version));
        clearTree(dir, ['.git']);
        moveEntries(join(unpacked, 'gyp'), dir);
        commitAll(dir, `gyp from node-gyp ${version}`, `2024-0${i + 1}-01T00:00:00Z`);
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

/**
 * shell-quote releases whose source change (index.js only) is a bug fix with a test:
 * 1.7.1 (a "$" followed by no name parses as "$"), 1.7.2 (quote() no longer unescapes
 * backslashes), 1.7.3 (quote()'s drive-letter class [A-z] also matched "`", so "`:" stayed
 * unescaped: CVE-2021-42740). 1.7.4 rewrote every file, so 1.7.3 is the last.
 */
export const SHELL_QUOTE_HISTORY = ['1.6.1', '1.7.0', '1.7.1', '1.7.2', '1.7.3'];

/**
 * shell-quote (quote and parse shell command lines) with a real git history: one commit per
 * release in SHELL_QUOTE_HISTORY, each the package exactly as npm ships it (index.js and
 * seven tape files under test/), plus tape 5 in node_modules (git-ignored).
 */
export function shellQuoteRepo(): string {
  return npmReleaseHistoryRepo(
    `shell-quote-history-${SHELL_QUOTE_HISTORY.at(-1)}-v1`,
    'shell-quote',
    SHELL_QUOTE_HISTORY,
    (i) => `2021-0${i + 1}-01T00:00:00Z`,
    ['tape@5'],
  );
}

/** Runs each tape file on its own, with a marker line so the parser knows which file it reads. */
export const MINIMIST_TEST_SCRIPT = `#!/usr/bin/env bash
# Runs every tape test file of minimist separately; "### ssr-test-file <path>" precedes each
# file's TAP output so test ids can carry the file name.
set -u
status=0
for f in test/*.js; do
  echo "### ssr-test-file $f"
  node "$f" 2>&1 || status=1
done
exit $status
`;

/**
 * TAP (tape) -> {"<file> > <test name> > #<n>": status}. <n> counts assertions within one test,
 * so ids do not move when another test gains or loses an assertion; a test name used twice in
 * one file gets a " (2)" suffix. Assertions a crashed file never reached are simply absent.
 */
export const MINIMIST_TEST_PARSER = `"""Reads tape's TAP output (one marked chunk per test file) and prints a JSON test map."""
import json
import re
import sys

ASSERT = re.compile(r"^(not ok|ok)\\s+\\d+\\b(.*)$")
DIRECTIVE = re.compile(r"#\\s*(SKIP|TODO)\\b", re.I)


def parse_file(name, body, out):
    test = "(top level)"
    seen = {}
    count = 0
    in_yaml = False
    for line in body.splitlines():
        if in_yaml:
            if line.strip() == "...":
                in_yaml = False
            continue
        if line.strip() == "---" and line.startswith(" "):
            in_yaml = True
            continue
        if line.startswith("# "):
            title = line[2:].strip()
            seen[title] = seen.get(title, 0) + 1
            test = title if seen[title] == 1 else "%s (%d)" % (title, seen[title])
            count = 0
            continue
        m = ASSERT.match(line)
        if not m:
            continue
        count += 1
        test_id = "%s > %s > #%d" % (name, test, count)
        if DIRECTIVE.search(m.group(2)):
            out[test_id] = "skipped"
        else:
            out[test_id] = "passed" if m.group(1) == "ok" else "failed"


def main():
    chunks = re.split(r"^### ssr-test-file (.+)$", sys.stdin.read(), flags=re.M)
    results = {}
    for name, body in zip(chunks[1::2], chunks[2::2]):
        parse_file(name.strip(), body, results)
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
`;

// ---------------------------------------------------------------------------------------------
// mathkit: a small original Python package with a pytest suite and a three-commit history

const PY_PYPROJECT = `[project]
name = "mathkit"
version = "0.3.0"
description = "Small exact helpers: roman numerals, closed intervals, summary statistics"
requires-python = ">=3.9"

[tool.pytest.ini_options]
testpaths = ["tests"]
`;

const PY_README = `# mathkit

Small, dependency-free helpers: roman numerals, closed intervals, summary statistics.

Run the tests with \`python3 -m pytest\`.
`;

const PY_ROMAN_V1 = `"""Roman numerals in canonical subtractive form."""

_NUMERALS = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]


def to_roman(n):
    """The canonical numeral for n."""
    out = []
    for value, letters in _NUMERALS:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def from_roman(s):
    """The value of a canonical numeral (case-insensitive); ValueError for anything else."""
    if not isinstance(s, str) or not s:
        raise ValueError("not a roman numeral: %r" % (s,))
    s = s.upper()
    total = 0
    i = 0
    for value, letters in _NUMERALS:
        while s.startswith(letters, i):
            total += value
            i += len(letters)
    if i != len(s) or to_roman(total) != s:
        raise ValueError("not a canonical roman numeral: %r" % (s,))
    return total
`;

// Commit 2 fixes to_roman for numbers without a numeral (it returned "" for 0 and negatives).
const PY_ROMAN_V2 = PY_ROMAN_V1.replace(
  `    """The canonical numeral for n."""
    out = []`,
  `    """The canonical numeral for n, which must be an int from 1 to 3999."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("expected an int, got %s" % type(n).__name__)
    if not 1 <= n <= 3999:
        raise ValueError("%d has no roman numeral (1..3999 only)" % n)
    out = []`,
);

const PY_TEST_ROMAN_V1 = `import pytest

from mathkit.roman import from_roman, to_roman


@pytest.mark.parametrize(
    "n, numeral",
    [(1, "I"), (4, "IV"), (9, "IX"), (14, "XIV"), (40, "XL"), (1994, "MCMXCIV"), (3999, "MMMCMXCIX")],
)
def test_to_roman_known_values(n, numeral):
    assert to_roman(n) == numeral


def test_from_roman_known_values():
    assert from_roman("MCMXCIV") == 1994
    assert from_roman("xlii") == 42


def test_round_trip():
    for n in range(1, 400):
        assert from_roman(to_roman(n)) == n


def test_from_roman_rejects_non_canonical():
    for bad in ["IIII", "VV", "IC", "MMMM", "", "ABC"]:
        with pytest.raises(ValueError):
            from_roman(bad)
`;

const PY_TEST_ROMAN_V2 = `${PY_TEST_ROMAN_V1}

def test_to_roman_rejects_out_of_range():
    for bad in [0, -7, 4000]:
        with pytest.raises(ValueError):
            to_roman(bad)
    with pytest.raises(TypeError):
        to_roman(2.5)
`;

const PY_INTERVALS = `"""Closed intervals [lo, hi] with interval arithmetic."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    def __post_init__(self):
        if self.lo > self.hi:
            raise ValueError("empty interval [%r, %r]" % (self.lo, self.hi))

    @property
    def width(self):
        return self.hi - self.lo

    def __contains__(self, x):
        return self.lo <= x <= self.hi

    def overlaps(self, other):
        return self.lo <= other.hi and other.lo <= self.hi

    def intersection(self, other):
        if not self.overlaps(other):
            return None
        return Interval(max(self.lo, other.lo), min(self.hi, other.hi))

    def hull(self, other):
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def __add__(self, other):
        o = _coerce(other)
        return Interval(self.lo + o.lo, self.hi + o.hi)

    def __sub__(self, other):
        o = _coerce(other)
        return Interval(self.lo - o.hi, self.hi - o.lo)

    def __mul__(self, other):
        o = _coerce(other)
        products = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return Interval(min(products), max(products))


def _coerce(x):
    return x if isinstance(x, Interval) else Interval(x, x)
`;

const PY_TEST_INTERVALS = `import pytest

from mathkit.intervals import Interval


def test_rejects_empty():
    with pytest.raises(ValueError):
        Interval(2, 1)


def test_width_and_contains():
    iv = Interval(1, 4)
    assert iv.width == 3
    assert 1 in iv and 4 in iv and 2.5 in iv
    assert 0 not in iv and 5 not in iv


def test_overlaps_touching_endpoints():
    assert Interval(0, 1).overlaps(Interval(1, 2))
    assert not Interval(0, 1).overlaps(Interval(2, 3))


def test_intersection_and_hull():
    assert Interval(0, 5).intersection(Interval(3, 8)) == Interval(3, 5)
    assert Interval(0, 1).intersection(Interval(2, 3)) is None
    assert Interval(0, 1).hull(Interval(4, 5)) == Interval(0, 5)


def test_add_and_sub():
    assert Interval(1, 2) + Interval(10, 20) == Interval(11, 22)
    assert Interval(1, 2) - Interval(10, 20) == Interval(-19, -8)
    assert Interval(1, 2) + 3 == Interval(4, 5)


def test_mul_with_signs():
    assert Interval(-1, 2) * Interval(3, 4) == Interval(-4, 8)
    assert Interval(-2, -1) * Interval(-3, 5) == Interval(-10, 6)
`;

const PY_STATS = `"""Summary statistics of finite, non-empty sequences of numbers."""
from collections import Counter


def mean(xs):
    xs = list(xs)
    if not xs:
        raise ValueError("mean of an empty sequence")
    return sum(xs) / len(xs)


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("median of an empty sequence")
    mid = n // 2
    if n % 2 == 1:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2


def mode(xs):
    """The most common value; the smallest one when several are equally common."""
    counts = Counter(xs)
    if not counts:
        raise ValueError("mode of an empty sequence")
    best = max(counts.values())
    return min(x for x, c in counts.items() if c == best)


def variance(xs):
    """Population variance."""
    xs = list(xs)
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)
`;

const PY_TEST_STATS = `import pytest

from mathkit.stats import mean, median, mode, variance


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5
    assert mean(iter([5])) == 5


def test_median_odd():
    assert median([3, 1, 2]) == 2


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5


def test_mode_prefers_smallest():
    assert mode([3, 1, 3, 1, 2]) == 1
    assert mode([7]) == 7


def test_variance():
    assert variance([2, 4, 4, 4, 5, 5, 7, 9]) == 4


def test_empty_inputs_raise():
    for f in (mean, median, mode):
        with pytest.raises(ValueError):
            f([])
`;

const PY_INIT_V1 = `"""mathkit: small exact helpers."""
from .roman import from_roman, to_roman

__all__ = ["from_roman", "to_roman"]
`;

const PY_INIT_V3 = `"""mathkit: small exact helpers."""
from .intervals import Interval
from .roman import from_roman, to_roman
from .stats import mean, median, mode, variance

__all__ = ["Interval", "from_roman", "mean", "median", "mode", "to_roman", "variance"]
`;

/**
 * mathkit, an original pure-Python package with a pytest suite (18 tests in three files) and
 * a three-commit history: roman numerals; then intervals and a range fix for to_roman; then
 * statistics.
 */
export function pythonRepo(): string {
  return buildOnce('mathkit-v1', (dir) => {
    git(dir, ['init', '-q']);
    writeTree(dir, {
      'pyproject.toml': PY_PYPROJECT,
      'README.md': PY_README,
      '.gitignore': '__pycache__/\n.pytest_cache/\n',
      'mathkit/__init__.py': PY_INIT_V1,
      'mathkit/roman.py': PY_ROMAN_V1,
      'tests/test_roman.py': PY_TEST_ROMAN_V1,
    });
    commitAll(dir, 'Roman numerals', '2024-03-01T10:00:00Z');
    writeTree(dir, {
      'mathkit/intervals.py': PY_INTERVALS,
      'tests/test_intervals.py': PY_TEST_INTERVALS,
      'mathkit/roman.py': PY_ROMAN_V2,
      'tests/test_roman.py': PY_TEST_ROMAN_V2,
    });
    commitAll(
      dir,
      'Closed intervals; to_roman rejects numbers without a numeral',
      '2024-03-08T10:00:00Z',
    );
    writeTree(dir, {
      'mathkit/stats.py': PY_STATS,
      'tests/test_stats.py': PY_TEST_STATS,
      'mathkit/__init__.py': PY_INIT_V3,
    });
    commitAll(dir, 'Summary statistics', '2024-03-15T10:00:00Z');
  });
}

export const PYTHON_TEST_SCRIPT = `#!/usr/bin/env bash
# Debian's python3 with python3-pytest; -rA lists every test's outcome in the short summary.
set -u
python3 -m pytest -rA -p no:cacheprovider
`;

/**
 * pytest -rA short summary -> {"tests/test_x.py::test_name[param]": status}. A test reported
 * twice (PASSED, then ERROR in teardown) counts as failed; a file that fails to import shows
 * up as its path with status failed.
 */
export const PYTHON_TEST_PARSER = `"""Reads pytest -rA output on stdin and prints a JSON map of test id to status."""
import json
import re
import sys

LINE = re.compile(r"^(PASSED|FAILED|ERROR) (.+?)(?: - .*)?$")


def main():
    results = {}
    in_summary = False
    for line in sys.stdin.read().splitlines():
        if re.match(r"^=+ short test summary info =+$", line):
            in_summary = True
            continue
        if not in_summary:
            continue
        m = LINE.match(line)
        if not m:
            continue
        status = "passed" if m.group(1) == "PASSED" else "failed"
        test_id = m.group(2).strip()
        if results.get(test_id) != "failed":
            results[test_id] = status
    json.dump(results, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
`;

// ---------------------------------------------------------------------------------------------
// Artifacts

/** file -> ordered [old, new] replacements; each `old` must occur exactly once at its turn. */
export type Edits = Record<string, [string, string][]>;

/**
 * The `git diff` that makes `edits` to `repo`, computed in a throwaway clone so the fixture is
 * never written (not even its index).
 */
export function makeDiff(repo: string, edits: Edits): string {
  const work = mkdtempSync(join(tmpdir(), 'ssr-diff-'));
  try {
    const clone = join(work, 'repo');
    execFileSync('git', ['clone', '-q', '--no-hardlinks', repo, clone], {
      env: gitEnv(),
      stdio: 'pipe',
    });
    for (const [file, replacements] of Object.entries(edits)) {
      const p = join(clone, file);
      let text = existsSync(p) ? readFileSync(p, 'utf8') : '';
      for (const [from, to] of replacements) {
        const at = text.indexOf(from);
        if (at < 0) throw new Error(`makeDiff: ${file} does not contain ${JSON.stringify(from)}`);
        if (from !== '' && text.indexOf(from, at + 1) >= 0) {
          throw new Error(`makeDiff: ${file} contains ${JSON.stringify(from)} more than once`);
        }
        text = text.slice(0, at) + to + text.slice(at + from.length);
      }
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
    }
    git(clone, ['add', '-A']);
    const diff = git(clone, ['diff', '--cached', '--no-color', '--no-ext-diff']);
    if (!diff) throw new Error('makeDiff: the edits change nothing');
    return diff;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface ArtifactSpec {
  id: string;
  testScript: string;
  testParser: string;
  testFiles: string[];
  bugDiff: string;
  weakenDiff: string;
  notes?: string;
}

/** Writes the five files and metadata.json to `dir` (via the library's writeArtifact). */
export function writeTestArtifact(dir: string, spec: ArtifactSpec): string {
  const artifact: Artifact = {
    testScript: spec.testScript,
    testParser: spec.testParser,
    testFiles: spec.testFiles,
    bugDiff: spec.bugDiff,
    weakenDiff: spec.weakenDiff,
    metadata: ArtifactMetadataSchema.parse({
      id: spec.id,
      strategy: 'hand-written',
      createdBy: 'test/helpers/fixtures.ts',
      createdAt: '2026-01-01T00:00:00.000Z',
      notes: spec.notes,
    }),
  };
  writeArtifact(dir, artifact);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Fixture integrity

/**
 * One hash over every entry under `dir` (including .git and node_modules): path, type, mode,
 * mtime, and file content or link target. Any write to the tree changes it.
 */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const abs = rel ? join(dir, rel) : dir;
    const names = readdirSync(abs).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      h.update(`${r}\0${st.mode}\0${st.mtimeMs}\0`);
      if (st.isSymbolicLink()) h.update(`link:${readlinkSync(p)}\0`);
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) h.update(createHash('sha256').update(readFileSync(p)).digest('hex'));
      h.update('\n');
    }
  };
  walk('');
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// One published npm package as a one-commit repository, with its test runner installed

/**
 * `spec` (e.g. `entities@1.1.1`) exactly as npm ships it, as a git repository with one commit,
 * plus `runners` (npm specs) in node_modules, installed in a scratch project and moved in
 * (git-ignored through .git/info/exclude, so the commit is exactly the package).
 */
function npmPackageRepo(
  name: string,
  spec: string,
  runners: string[],
  date: string,
  message = `${spec} as published on npm`,
): string {
  return buildOnce(name, (dir) => {
    const scratch = mkdtempSync(join(tmpdir(), 'ssr-fixture-npm-'));
    try {
      moveEntries(unpackFromNpm(spec, scratch, join(scratch, 'unpacked')), dir);
      installRunners(scratch, runners, dir);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    git(dir, ['init', '-q']);
    writeFileSync(join(dir, '.git', 'info', 'exclude'), 'node_modules/\n');
    commitAll(dir, message, date);
  });
}

export const ENTITIES_VERSION = '1.1.1';

/**
 * entities (HTML/XML entity encoding) 1.1.1 from npm: index.js and lib/, one mocha file
 * (test/test.js, `describe`/`it` with node:assert), plus mocha 10 in node_modules. Its own
 * devDependency is mocha 1; mocha 10 ignores the old test/mocha.opts and runs ./test.
 */
export function entitiesRepo(): string {
  return npmPackageRepo(
    `entities-${ENTITIES_VERSION}-v1`,
    `entities@${ENTITIES_VERSION}`,
    ['mocha@10.8.2'],
    '2017-07-01T00:00:00Z',
  );
}

export const FASTIFY_ERROR_VERSION = '4.3.0';

/**
 * @fastify/error 4.3.0 from npm: index.js and three node:test files whose tests plan their
 * assertions (`t.plan(n)` with `t.assert.*`). Nothing to install: `node --test` runs them.
 */
export function fastifyErrorRepo(): string {
  return npmPackageRepo(
    `fastify-error-${FASTIFY_ERROR_VERSION}-v1`,
    `@fastify/error@${FASTIFY_ERROR_VERSION}`,
    [],
    '2025-01-01T00:00:00Z',
  );
}

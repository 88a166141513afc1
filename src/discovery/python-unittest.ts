/**
 * How unittest runs a Python repository's tests, and how its output is read.
 *
 * The project's own command wins over guesses: a `python -m unittest ...` line of tox.ini (or
 * setup.cfg's tox sections), a Makefile or a GitHub workflow, else setup.py's (or setup.cfg's)
 * `test_suite`. Without one, discovery starts where the test modules can be imported from:
 * `unittest discover` only walks into packages (directories with __init__.py), so each test
 * module belongs to the nearest directory above it that is not a package, and each such
 * directory gets its own run. No module is run twice: the runs' reaches do not overlap.
 *
 * Ids are module.Class.test_method as unittest prints them; classes made inside functions
 * (suites built by load_tests() or test_suite()) print `create.<locals>.Case`, and the same
 * name repeats once per generated case: repeats get " (2)", " (3)" in run order.
 */

import { shq } from './npm-script.js';
import { COMMON, MAIN, py } from './parsers.js';
import { globToRegExp, type RepoScan } from './scan.js';

/**
 * python -m unittest -v: "test_x (module.Class.test_x) ... ok" (Python >= 3.11) or
 * "test_x (module.Class) ... ok" (older); a docstring moves the result to the next line, a
 * subtest's result comes on an indented line of its own. The FAIL:/ERROR: headers of the report
 * mark failures the stream did not show (subtests before 3.11); a header repeated for a name
 * that ran more than once goes to a run of that name not yet counted as failed.
 */
export const UNITTEST_PARSER = `${COMMON}${py`
NAME = r"[\w.<>]+"
HEAD = re.compile(r"^(\w+) \((" + NAME + r")\)(?: \(.*\))?(?: \.\.\. (.*))?$")
RESULT = re.compile(r"^.*\.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$")
REPORT = re.compile(r"^(FAIL|ERROR): (\w+) \((" + NAME + r")\)")


def unit_id(method, where):
    if where == method or where.endswith("." + method):
        return where
    return where + "." + method


def status_of(word):
    if word == "ok" or word == "unexpected success":
        return "passed"
    if word.startswith("skipped") or word == "expected failure":
        return "skipped"
    return "failed"


def main():
    results = Results()
    runs = {}
    reported = {}
    pending = None

    def new_run(name):
        ids = runs.setdefault(name, [])
        ids.append(name if not ids else "%s (%d)" % (name, len(ids) + 1))
        return ids[-1]

    for line in Log().plain_lines():
        m = REPORT.match(line)
        if m:
            name = unit_id(m.group(2), m.group(3))
            header = line.strip()
            reported[header] = reported.get(header, 0) + 1
            ids = runs.get(name) or [name]
            failed = [i for i in ids if results.tests.get(i) == "failed"]
            if len(failed) < reported[header]:
                rest = [i for i in ids if i not in results.tests]
                rest += [i for i in ids if i in results.tests and i not in failed]
                results.merge(rest[0] if rest else ids[0], "failed")
            pending = None
            continue
        m = HEAD.match(line)
        if m:
            test_id = new_run(unit_id(m.group(1), m.group(2)))
            if m.group(3):
                word = m.group(3).strip()
                if RESULT.match("x ... " + word):
                    results.merge(test_id, status_of(word))
                    pending = None
                    continue
            pending = test_id
            continue
        if pending:
            r = RESULT.match(line)
            if r:
                results.merge(pending, status_of(r.group(1)))
                pending = None
    results.emit()
`}${MAIN}`;

/** `python3 -m unittest discover -s start [-t top] [-p pattern]`. */
export interface DiscoverRun {
  kind: 'discover';
  start: string;
  /** -t: the directory ids are relative to (null: the start directory). */
  top: string | null;
  /** -p (null: unittest's test*.py). */
  pattern: string | null;
  /** Other options kept from the project's command (-k). */
  extra: string[];
}

/** `python3 -m unittest name...`: modules, or suites a function returns. */
export interface NamesRun {
  kind: 'names';
  names: string[];
  extra: string[];
}

export type UnittestRun = DiscoverRun | NamesRun;

export interface UnittestPlan {
  runs: UnittestRun[];
  /** Where the runs come from ("tox.ini commands", "setup.py test_suite"), or null (a guess). */
  source: string | null;
  /** Test modules the runs import (oracle files, as far as a static look can tell). */
  files: string[];
  /** Directories ids are relative to, besides the repository root. */
  idDirs: string[];
  notes: string[];
}

const TEST_NAMED = /(^|\/)test[^/]*\.py$/;

function parentDir(dir: string): string {
  const at = dir.lastIndexOf('/');
  return at < 0 ? '.' : dir.slice(0, at);
}

const dirOf = (file: string) => parentDir(file);

/** The nearest directory at or above `dir` that is not a package: discovery from it reaches dir. */
function importRoot(scan: RepoScan, dir: string): string {
  let d = dir;
  while (d !== '.' && scan.has(`${d}/__init__.py`)) d = parentDir(d);
  return d;
}

/** Whether `unittest discover -s start` walks to `file` (through packages only). */
function reaches(scan: RepoScan, start: string, file: string): boolean {
  if (start !== '.' && !file.startsWith(`${start}/`)) return false;
  for (let d = dirOf(file); d !== start; d = parentDir(d)) {
    if (d === '.' || !scan.has(`${d}/__init__.py`)) return false;
  }
  return true;
}

/** The modules a run imports, of the .py files `pyFiles`. */
function runFiles(scan: RepoScan, run: UnittestRun, pyFiles: string[], testCase: Set<string>) {
  if (run.kind === 'names') {
    return run.names.flatMap((n) => {
      const file = moduleFile(scan, n);
      return file && (TEST_NAMED.test(file) || /(^|\/)tests?\//.test(file) || testCase.has(file))
        ? [file]
        : [];
    });
  }
  const pattern = globToRegExp(run.pattern ?? 'test*.py');
  return pyFiles.filter((f) => {
    if (!reaches(scan, run.start, f)) return false;
    // Discovery loads the packages it walks through (the start directory too, when it is
    // imported from a top-level directory above it): their TestCase classes run.
    if (f.endsWith('/__init__.py') || f === '__init__.py') {
      return testCase.has(f) && (dirOf(f) !== run.start || !!run.top);
    }
    return (
      pattern.test(f.slice(f.lastIndexOf('/') + 1)) &&
      (run.pattern !== '*.py' || TEST_NAMED.test(f) || testCase.has(f))
    );
  });
}

/** The file a dotted name (module, package, or something in one) or a .py path names. */
function moduleFile(scan: RepoScan, name: string): string | null {
  if (name.endsWith('.py'))
    return scan.has(name.replace(/^\.\//, '')) ? name.replace(/^\.\//, '') : null;
  const parts = name.split('.');
  for (let k = parts.length; k >= 1; k--) {
    const rel = parts.slice(0, k).join('/');
    if (scan.has(`${rel}.py`)) return `${rel}.py`;
    if (scan.has(`${rel}/__init__.py`)) return `${rel}/__init__.py`;
  }
  return null;
}

/** The command-line arguments of a run after `python3 -m unittest`, verbose and buffered. */
export function runArgs(run: UnittestRun): string {
  const extra = run.extra.map((w) => ` ${shq(w)}`).join('');
  if (run.kind === 'names') return `-v -b${extra} ${run.names.map(shq).join(' ')}`;
  const start = run.start === '.' && !run.top ? '' : ` -s ${shq(run.start)}`;
  const top = run.top ? ` -t ${shq(run.top)}` : '';
  const pattern = run.pattern ? ` -p ${shq(run.pattern)}` : '';
  return `discover -v -b${start}${top}${pattern}${extra}`;
}

/** The run as the project would type it (for messages). */
export function runCommand(run: UnittestRun): string {
  return `python3 -m unittest ${runArgs(run).replace(/-v -b ?/, '')}`.trimEnd();
}

// ---------------------------------------------------------------------------------------------
// The project's own command

/** Words of a shell command (quotes removed), up to the end of the command. */
function shellWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|'([^']*)'|(&&|\|\||[;|&>)]|\S+)/g)) {
    if (m[3] && /^(&&|\|\||[;|&>)]|#.*|\d?>.*)$/.test(m[3])) break;
    out.push(m[1] ?? m[2] ?? m[3]!);
  }
  return out;
}

const FLAGS = new Set(['-v', '--verbose', '-q', '--quiet', '-b', '--buffer', '-c', '--catch']);
const DROPPED = new Set(['-f', '--failfast', '--locals']);

/** A run from the words after `-m unittest`, or null when it cannot be read or does not fit. */
function parseUnittestWords(scan: RepoScan, words: string[]): UnittestRun | null {
  // {posargs}, $(VAR), ${VAR}: arguments supplied at run time (none here).
  const isVar = (w: string) => /[{}$`]/.test(w);
  const discover = words[0] === 'discover';
  const rest = discover ? words.slice(1) : words;
  const opts: Record<string, string> = {};
  const extra: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    const [flag, inline] = w.startsWith('--') && w.includes('=') ? w.split(/=(.*)/s) : [w, null];
    if (FLAGS.has(flag!) || DROPPED.has(flag!)) continue;
    const long = {
      '-s': 's',
      '--start-directory': 's',
      '-t': 't',
      '--top-level-directory': 't',
      '-p': 'p',
      '--pattern': 'p',
      '-k': 'k',
      '--durations': 'd',
    }[flag!];
    if (long) {
      const value = inline ?? rest[++i];
      if (value === undefined || isVar(value)) return null;
      if (long === 'k') extra.push('-k', value);
      else if (long !== 'd') opts[long] = value;
      continue;
    }
    if (w.startsWith('-')) return null;
    if (isVar(w)) continue;
    positional.push(w);
  }
  const clean = (d: string) => d.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
  if (discover || !positional.length) {
    if (!discover && Object.keys(opts).length) return null;
    const [s, p, t] = discover ? positional : [];
    const start = clean(opts.s ?? s ?? '.');
    const top = (opts.t ?? t) ? clean((opts.t ?? t)!) : null;
    const pattern = opts.p ?? p ?? null;
    if (start !== '.' && !scan.hasDir(start)) return null;
    if (top && top !== '.' && !scan.hasDir(top)) return null;
    return { kind: 'discover', start, top: top === start ? null : top, pattern, extra };
  }
  if (Object.keys(opts).length || positional.some((n) => !moduleFile(scan, n))) return null;
  return { kind: 'names', names: positional, extra };
}

/** `-m unittest` commands of a file's lines; `cd` before one makes its paths unknown. */
function unittestCommands(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.replace(/\\\r?\n/g, ' ').split('\n')) {
    const m = /(?:^|[\s"'])-m\s+unittest\b(?!\.)(.*)$/.exec(line);
    if (!m || /(^|[\s;&(])cd\s/.test(line.slice(0, m.index))) continue;
    out.push(shellWords(m[1]!));
  }
  return out;
}

/** [file, text to read commands from] in the order the project's files are trusted. */
function commandSources(scan: RepoScan): [string, string][] {
  const out: [string, string][] = [];
  for (const file of ['tox.ini', 'setup.cfg']) {
    const text = scan.read(file);
    if (!text) continue;
    // Commands of [testenv] and [testenv:name] sections, unless they run elsewhere (changedir).
    const sections = text.split(/^(?=\[)/m).filter((s) => /^\[testenv(:[^\]]*)?\]/.test(s));
    const usable = sections.filter((s) => !/^changedir\s*=\s*(?!\{toxinidir\}\s*$)\S/m.test(s));
    const commands = usable.flatMap((s) => {
      const m = /^commands\s*=((?:.*)(?:\n[ \t]+.*)*)/m.exec(s);
      return m ? [m[1]!] : [];
    });
    if (commands.length) out.push([`${file} commands`, commands.join('\n')]);
  }
  for (const file of ['Makefile', 'makefile', 'GNUmakefile']) {
    const text = scan.read(file);
    if (text) out.push([file, text]);
  }
  for (const file of scan.files.filter((f) => /^\.github\/workflows\/[^/]+\.ya?ml$/.test(f))) {
    const text = scan.read(file);
    if (text && !/working-directory:/.test(text)) out.push([file, text]);
  }
  return out;
}

/** setup.py's or setup.cfg's test_suite, as a run. */
function testSuiteRun(
  scan: RepoScan,
  pyFiles: string[],
  testCase: Set<string>,
): { run: UnittestRun; source: string } | null {
  const fromPy = /\btest_suite\s*=\s*(["'])([\w.]+)\1/.exec(scan.read('setup.py') ?? '');
  const cfg = /^\[options\][^[]*?^test_suite\s*=\s*([\w.]+)\s*$/m.exec(
    scan.read('setup.cfg') ?? '',
  );
  const name = fromPy?.[2] ?? cfg?.[1];
  if (!name) return null;
  const source = `${fromPy ? 'setup.py' : 'setup.cfg'} test_suite`;
  const dir = name.replace(/\./g, '/');
  if (scan.hasDir(dir) && !scan.has(`${dir}.py`)) {
    // A package: setuptools loaded every module of it, as discover does from there.
    const top = scan.has(`${dir}/__init__.py`) ? importRoot(scan, dir) : null;
    const run: DiscoverRun = { kind: 'discover', start: dir, top, pattern: null, extra: [] };
    const all: DiscoverRun = { ...run, pattern: '*.py' };
    const named = runFiles(scan, run, pyFiles, testCase);
    if (runFiles(scan, all, pyFiles, testCase).length > named.length) return { run: all, source };
    return { run, source };
  }
  const file = moduleFile(scan, name);
  if (!file) return null;
  if (`${dir}.py` !== file && `${dir}/__init__.py` !== file) {
    // Something in the module: a function that returns the suite.
    const attr = name.slice(name.lastIndexOf('.') + 1);
    if (!new RegExp(`^(def ${attr}\\s*\\(|${attr}\\s*=)`, 'm').test(scan.read(file) ?? ''))
      return null;
  }
  return { run: { kind: 'names', names: [name], extra: [] }, source };
}

/** The runs the project's own configuration gives, if any fits the repository. */
function projectRuns(
  scan: RepoScan,
  pyFiles: string[],
  testCase: Set<string>,
): { runs: UnittestRun[]; source: string } | null {
  for (const [source, text] of commandSources(scan)) {
    const runs: UnittestRun[] = [];
    const seen = new Set<string>();
    const reached = new Set<string>();
    for (const words of unittestCommands(text)) {
      const run = parseUnittestWords(scan, words);
      if (!run) continue;
      const key = runArgs(run);
      if (seen.has(key)) continue;
      seen.add(key);
      // Another target's command over the same modules (make test / make test-fast): once.
      const files = runFiles(scan, run, pyFiles, testCase);
      if (!files.length || files.some((f) => reached.has(f))) continue;
      for (const f of files) reached.add(f);
      runs.push(run);
    }
    if (runs.length) {
      return { runs, source };
    }
  }
  const suite = testSuiteRun(scan, pyFiles, testCase);
  if (suite && runFiles(scan, suite.run, pyFiles, testCase).length) {
    return { runs: [suite.run], source: suite.source };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The guess

/**
 * One run per directory the test modules import from (see the module comment). Test modules
 * importable from the repository root run with one `discover` from there, as before, unless a
 * top-level tests/ (or test/) holds some: then tests/ runs as before (`-s tests -t .`) and each
 * other top-level package gets `-s <pkg> -t .`. Elsewhere, `-s <dir>`. TestCase modules not
 * named test*.py run with -p '*.py' in a test directory (tests/, test/), else by module name when
 * they import from the root (a pattern for them would import every module of their package).
 */
function guessRuns(scan: RepoScan, unittestFiles: string[]): UnittestRun[] {
  // A package's __init__.py runs with the package; others need test*.py names.
  const named = (f: string) => TEST_NAMED.test(f) || /(^|\/)__init__\.py$/.test(f);
  const testDir = (d: string) => /(^|\/)tests?$/.test(d);
  const groups = new Map<string, string[]>();
  for (const f of unittestFiles) {
    const root = importRoot(scan, dirOf(f));
    groups.set(root, [...(groups.get(root) ?? []), f]);
  }
  const discover = (start: string, top: string | null, files: string[]): DiscoverRun => ({
    kind: 'discover',
    start,
    top,
    pattern: testDir(start) && files.some((f) => !named(f)) ? '*.py' : null,
    extra: [],
  });
  const legacyDir = ['tests', 'test'].find((d) => unittestFiles.some((f) => f.startsWith(`${d}/`)));
  const runs: UnittestRun[] = [];
  const byName: string[] = [];
  const rootFiles = groups.get('.') ?? [];
  if (rootFiles.length && !legacyDir) {
    runs.push({ kind: 'discover', start: '.', top: null, pattern: null, extra: [] });
    byName.push(...rootFiles.filter((f) => !named(f)));
  } else if (rootFiles.length) {
    const byPackage = new Map<string, string[]>();
    for (const f of rootFiles) {
      const at = f.indexOf('/');
      if (at < 0) byName.push(f);
      else byPackage.set(f.slice(0, at), [...(byPackage.get(f.slice(0, at)) ?? []), f]);
    }
    // The top-level tests/ first, as it always ran.
    const order = [...byPackage.keys()].sort((a, b) => +(b === legacyDir) - +(a === legacyDir));
    for (const pkg of order) {
      const run = discover(pkg, '.', byPackage.get(pkg)!);
      runs.push(run);
      if (!run.pattern) byName.push(...byPackage.get(pkg)!.filter((f) => !named(f)));
    }
  }
  const others = [...groups.keys()].filter((g) => g !== '.').sort();
  for (const start of [
    ...others.filter((g) => g === legacyDir),
    ...others.filter((g) => g !== legacyDir),
  ]) {
    runs.push(discover(start, null, groups.get(start)!));
  }
  if (byName.length) {
    const names = byName.map((f) => f.replace(/\.py$/, '').replace(/\//g, '.'));
    runs.push({ kind: 'names', names, extra: [] });
  }
  return runs;
}

/**
 * The runs for a repository whose `unittestFiles` (test*.py importing unittest, TestCase modules)
 * were found: the project's own command when it has one that fits, else the guess.
 */
export function unittestPlan(
  scan: RepoScan,
  unittestFiles: string[],
  testCaseFiles: string[],
  pyFiles: string[],
): UnittestPlan {
  const testCase = new Set(testCaseFiles);
  const own = projectRuns(scan, pyFiles, testCase);
  const runs = own?.runs ?? guessRuns(scan, unittestFiles);
  const files = [...new Set(runs.flatMap((r) => runFiles(scan, r, pyFiles, testCase)))].sort();
  const idDirs = [
    ...new Set(
      runs
        .flatMap((r) => (r.kind === 'discover' ? [r.top ?? r.start] : []))
        .filter((d) => d !== '.'),
    ),
  ];
  const notes: string[] = [];
  if (own) {
    notes.push(
      `unittest as the project runs it (${own.source}: ${runs.map(runCommand).join('; ')})`,
    );
  } else if (runs.length > 1) {
    notes.push(
      `test modules import from ${runs.length} places: unittest runs once for each (${runs.map(runCommand).join('; ')})`,
    );
  }
  const missed = unittestFiles.filter((f) => !files.includes(f));
  if (missed.length) {
    notes.push(
      `${missed.length} test module(s) ${own ? "the project's command does not run" : 'unittest does not reach'}: ${missed.slice(0, 5).join(', ')}${missed.length > 5 ? ', ...' : ''}`,
    );
  }
  return { runs, source: own?.source ?? null, files, idDirs, notes };
}

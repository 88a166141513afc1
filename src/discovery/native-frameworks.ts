/**
 * Candidates for compiled ecosystems: Go modules, Cargo crates, Maven and Gradle projects, and
 * C/C++ projects built with CMake (CTest) or make (make check / make test, automake).
 */
import { inlineTestsEntry, mayHaveInlineTests } from '../artifact/oracle-regions.js';
import { normalizeRelative } from '../util/relative-path.js';
import { shq } from './npm-script.js';
import { CARGO_PARSER, GO_PARSER, SUREFIRE_PARSER } from './parsers.js';
import { CTEST_PARSER, MAKE_PARSER } from './parsers-native.js';
import type { RepoScan } from './scan.js';
import {
  CARGO_DIRS,
  type Candidate,
  GO_DIRS,
  header,
  toolAvailable,
  uniqueSorted,
} from './script-pieces.js';

export function goCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('go.mod')) return [];
  const module = /^module\s+(\S+)/m.exec(scan.read('go.mod') ?? '')?.[1];
  const files = scan
    .match(/_test\.go$/)
    .filter((f) => !/(^|\/)testdata\//.test(f) && !/(^|\/)vendor\//.test(f));
  const script = [
    header('go', 'runs go test -json over every package of the module'),
    'export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"',
    'export GOCACHE="$tmp/go-cache" GOPATH="$tmp/go" GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOTELEMETRY=off',
    "# -vet=off: vet is a linter; a newer vet's complaint about an older module (go test runs a\n# subset of vet by default) would stop tests that compile and run.",
    'go test -vet=off -json ./... 2>&1',
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
      command: 'go test -vet=off -json ./...',
      testScript: script,
      testParser: GO_PARSER,
      testFiles: files,
      notes: [
        'go test -vet=off -json ./... (vet is a linter, not a test); ids are "<import path>/<TestName>[/<subtest>]"',
      ],
      notApplicable: toolAvailable('go', GO_DIRS)
        ? undefined
        : 'go is not installed (apt-get install golang-go)',
    },
  ];
}

export function cargoCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('Cargo.toml')) return [];
  const manifest = scan.read('Cargo.toml') ?? '';
  const workspace = /^\[workspace\]/m.test(manifest) ? ' --workspace' : '';
  const whole = scan.match(/(^|\/)tests\/.*\.rs$/, /(^|\/)src\/(.*\/)?tests\.rs$/);
  // Unit tests inside source files: only their inline-test regions are oracle.
  const inline = scan
    .match(/\.rs$/)
    .filter((f) => !whole.includes(f) && mayHaveInlineTests(f, scan.read(f) ?? ''));
  const files = [...whole, ...inline.map(inlineTestsEntry)];
  const script = [
    header('cargo', 'runs cargo test offline; the stable text output names every test'),
    'export PATH="$PATH:/usr/local/cargo/bin"',
    '# rustup installs (e.g. the rust Docker image) find their toolchains through RUSTUP_HOME.',
    '[ -d /usr/local/rustup ] && export RUSTUP_HOME=/usr/local/rustup',
    'export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_INCREMENTAL=0 RUST_BACKTRACE=0',
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
    'export MAVEN_OPTS="-Djava.awt.headless=true -Duser.home=$HOME"',
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

export function mavenCandidates(scan: RepoScan): Candidate[] {
  if (!scan.has('pom.xml')) return [];
  const wrapper = scan.has('mvnw');
  const mvn = wrapper ? './mvnw' : 'mvn';
  const script = surefireScript(
    [
      "# Reports left in the repository would be read as this run's results.",
      "find . -path ./node_modules -prune -o -type d -name surefire-reports -path '*/target/*' -prune -exec rm -rf {} + 2>/dev/null",
      "# The user's ~/.m2/repository, read-only in the sandbox: offline, Maven only reads it.",
      'repo=(); [ -d /ssr/cache/m2 ] && repo=(-Dmaven.repo.local=/ssr/cache/m2)',
      `${mvn} -B -q -o "\${repo[@]}" -Dmaven.test.failure.ignore=true -DtrimStackTrace=true test 2>&1`,
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
        'mvn -o test (offline: plugins and dependencies must already be in the user\'s ~/.m2/repository, which the sandbox reads); ids are "<class>#<method>" from the Surefire XML reports',
      ],
      notApplicable:
        wrapper || toolAvailable('mvn')
          ? undefined
          : 'mvn is not installed (apt-get install maven)',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// C and C++: CMake + CTest, make check / make test

const C_SOURCE = /\.(c|cc|cpp|cxx|c\+\+|h|hh|hpp|hxx|ipp|tpp|inl)$/i;
const CXX_SOURCE = /\.(cc|cpp|cxx|c\+\+|hh|hpp|hxx)$/i;
/** Directories of tests (and of the test frameworks projects keep beside them). */
const C_TEST_DIR = /(^|\/)(tests?|testing|unit[_-]?tests?|test[_-]?suite|check)\//i;
/** test_x.c, tests.c, x_test.cpp, x-tests.cc, check_x.c, x_unittest.cc */
const C_TEST_NAME =
  /(^|\/)((tests?|unit[_-]?tests?)([_-][^/]*)?|check_[^/]*|[^/]*[_-](tests?|unit[_-]?tests?|check))\.[^/.]+$/i;
/** Vendored code: not the project's tests, and not its code either. */
const C_THIRD_PARTY =
  /(^|\/)(third[_-]?party|3rd[_-]?party|external|extern|vendor|deps|subprojects|_deps)\//i;
/** The first line of a log that explains why a configure step or a build failed. */
const BUILD_ERROR = [
  '^[^ :]+:[0-9]+(:[0-9]+)?: (fatal )?error:',
  '^[^ ]*(collect2|ld|cc|gcc|g\\+\\+|c\\+\\+|clang|clang\\+\\+)(-[0-9.]+)?: (fatal )?error:',
  '^[^ ]*ld: cannot find',
  'undefined reference to',
  'multiple definition of',
  'No rule to make target',
  '^configure: error:',
  '^CMake Error',
].join('|');

/** Build directories in the repository: folders with a CMakeCache.txt (CMake's build trees). */
function cmakeBuildTrees(scan: RepoScan): string[] {
  return scan
    .match(/(^|\/)CMakeCache\.txt$/)
    .map((f) => f.slice(0, -'CMakeCache.txt'.length))
    .sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

/** Files of the project itself: not in a build tree, not vendored. */
function firstParty(scan: RepoScan): (f: string) => boolean {
  const trees = cmakeBuildTrees(scan);
  return (f) =>
    !C_THIRD_PARTY.test(f) &&
    !/(^|\/)CMakeFiles\//.test(f) &&
    !trees.some((t) => t !== '' && f.startsWith(t));
}

function cSources(scan: RepoScan): string[] {
  const mine = firstParty(scan);
  return scan.match(C_SOURCE).filter(mine);
}

/** Golden files: the expected output a test compares its program's output with. */
const C_GOLDEN = /\.(expected|golden|ref|out)$/i;

/**
 * C/C++ test sources by their folder or name, plus `extra` (named by the build files), plus
 * the golden files tests compare their output with (tests/x.expected): a failing comparison
 * names no line of a test, and the weakening makes the golden file equal to the output
 * (inject/golden-files.ts), which it may do to oracle files only. Narrowly: a file with a
 * golden extension (.expected, .golden, .ref, .out) in a test folder, or beside a test file
 * of the same name (x_test.c, x_test.expected).
 */
function cTestFiles(scan: RepoScan, extra: string[]): string[] {
  const mine = firstParty(scan);
  const byLayout = cSources(scan).filter((f) => C_TEST_DIR.test(f) || C_TEST_NAME.test(f));
  const tests = uniqueSorted([...byLayout, ...extra.filter((f) => scan.has(f) && mine(f))]);
  const stems = new Set(tests.map((f) => f.replace(/\.[^/.]+$/, '')));
  const golden = scan
    .match(C_GOLDEN)
    .filter((f) => mine(f) && (C_TEST_DIR.test(f) || stems.has(f.replace(/\.[^/.]+$/, ''))));
  return uniqueSorted([...tests, ...golden]);
}

function cEcosystem(scan: RepoScan): 'c' | 'cpp' {
  const sources = cSources(scan);
  const cxx = sources.filter((f) => CXX_SOURCE.test(f)).length;
  return cxx > sources.length - cxx ? 'cpp' : 'c';
}

function dirOf(f: string): string {
  const at = f.lastIndexOf('/');
  return at < 0 ? '' : f.slice(0, at);
}

/** Test files whose name is a test id's first part (a CTest name, an automake test path). */
function filesNamedByIds(scan: RepoScan): (ids: string[]) => string[] {
  return (ids) => {
    const heads = new Set(ids.map((id) => id.split(' > ')[0]!.trim()));
    const sources = cSources(scan).filter((f) => !/\.(h|hh|hpp|hxx|inl)$/i.test(f));
    const out = new Set<string>();
    for (const f of sources) {
      const stem = f.replace(/\.[^/.]+$/, '');
      const base = stem.slice(stem.lastIndexOf('/') + 1);
      // Only a test program (it has a main) is a test file: a CTest test named after the
      // library it checks ("strkit") must not make the library's source an oracle file.
      if ((heads.has(stem) || heads.has(base)) && /\bmain\s*\(/.test(scan.read(f) ?? '')) {
        out.add(f);
      }
    }
    for (const h of heads) if (scan.has(h)) out.add(h);
    return [...out];
  };
}

// --- CMake files

/** Arguments of every `name(...)` call in CMake code (comments removed, quotes dropped). */
function cmakeCalls(text: string, name: string): string[][] {
  const code = text.replace(/#\[(=*)\[[\s\S]*?\]\1\]/g, '').replace(/#[^\n]*/g, '');
  const out: string[][] = [];
  const re = new RegExp(`(^|[^\\w])${name}\\s*\\(`, 'gi');
  for (const m of code.matchAll(re)) {
    let depth = 1;
    let i = m.index! + m[0].length;
    const start = i;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === '(') depth++;
      else if (code[i] === ')') depth--;
    }
    const body = code.slice(start, i - 1);
    out.push([...body.matchAll(/"((?:[^"\\]|\\.)*)"|([^\s"]+)/g)].map((a) => a[1] ?? a[2]!));
  }
  return out;
}

const CMAKE_TESTING =
  /(^|[^\w])(enable_testing|add_test|gtest_discover_tests|gtest_add_tests|catch_discover_tests|doctest_discover_tests)\s*\(|(^|[^\w])include\s*\(\s*CTest\b/im;
const CMAKE_KEYWORDS = new Set([
  'WIN32',
  'MACOSX_BUNDLE',
  'EXCLUDE_FROM_ALL',
  'STATIC',
  'SHARED',
  'MODULE',
  'OBJECT',
  'INTERFACE',
  'PUBLIC',
  'PRIVATE',
]);

/** Sources of the executables that add_test() runs (and no library or other program uses). */
function cmakeTestSources(scan: RepoScan, lists: string[]): string[] {
  const testTargets = new Set<string>();
  const sources = new Map<string, string[]>();
  const resolve = (dir: string, src: string): string | null => {
    let s = src.replace(/^\$\{(CMAKE_CURRENT_SOURCE_DIR|CMAKE_CURRENT_LIST_DIR)\}\/?/, `${dir}/`);
    s = s.replace(/^\$\{(PROJECT_SOURCE_DIR|CMAKE_SOURCE_DIR|\w+_SOURCE_DIR)\}\/?/, '/');
    if (/[$<>]/.test(s)) return null;
    return normalizeRelative(s.startsWith('/') ? s : `${dir}/${s}`);
  };
  const addSources = (target: string, dir: string, args: string[]) => {
    const list = sources.get(target) ?? [];
    for (const a of args) {
      if (CMAKE_KEYWORDS.has(a)) continue;
      const p = resolve(dir, a);
      if (p && scan.has(p)) list.push(p);
    }
    sources.set(target, list);
  };
  const libraries = new Set<string>();
  for (const f of lists) {
    const text = scan.read(f) ?? '';
    const dir = dirOf(f);
    for (const args of cmakeCalls(text, 'add_test')) {
      const at = args.indexOf('COMMAND');
      const exe = args[0] === 'NAME' ? (at >= 0 ? args[at + 1] : undefined) : args[1];
      if (!exe) continue;
      const target = /^\$<TARGET_FILE:([^>]+)>$/.exec(exe)?.[1] ?? exe.split('/').pop()!;
      testTargets.add(target);
    }
    for (const args of cmakeCalls(text, 'add_executable')) {
      if (args.includes('IMPORTED') || args.includes('ALIAS')) continue;
      addSources(args[0] ?? '', dir, args.slice(1));
    }
    for (const args of cmakeCalls(text, 'add_library')) {
      if (args.includes('IMPORTED') || args.includes('ALIAS')) continue;
      libraries.add(args[0] ?? '');
      addSources(args[0] ?? '', dir, args.slice(1));
    }
    for (const args of cmakeCalls(text, 'target_sources')) {
      addSources(args[0] ?? '', dir, args.slice(1));
    }
  }
  const elsewhere = new Set(
    [...sources].filter(([t]) => !testTargets.has(t) || libraries.has(t)).flatMap(([, s]) => s),
  );
  return [...testTargets]
    .flatMap((t) => sources.get(t) ?? [])
    .filter((s) => !elsewhere.has(s) && definesMain(scan, s));
}

/**
 * Whether a source defines main(): a test program's own file. Other sources a test program
 * lists count only by their folder or name (a program may compile the code under test in).
 */
function definesMain(scan: RepoScan, f: string): boolean {
  return /(^|[\s*])main\s*\(\s*(void|int\b[^)]*)?\)\s*\{?/m.test(scan.read(f) ?? '');
}

/**
 * The test_script.sh pieces both C candidates use: CK_VERBOSITY (Check suites that honour it
 * list passing cases too), the build-error pattern, and `stop`, which reports a failed
 * configure or build: a summary line and the step's first error come first (they are what a
 * reader needs), then the step's whole log, then the build-failed marker.
 */
const C_SCRIPT_COMMON = [
  'export CK_VERBOSITY=verbose',
  `build_error='${BUILD_ERROR}'`,
  '# stop <what failed> <exit code> <first error line> <log file>',
  'stop() {',
  '  echo "ssr: $1; first error:"',
  '  if [ -n "$3" ]; then echo "$3"; else echo "(none recognised; the log follows)"; fi',
  '  cat "$4"',
  '  echo "### ssr-build-failed $nonce"',
  '  echo "### ssr-exit $nonce $2"',
  '  rm -rf "$tmp" 2>/dev/null',
  '  exit $2',
  '}',
].join('\n');

/** The script for a CMake project; `trees` are build directories the repository already has. */
export function cmakeScript(trees: string[]): string {
  return [
    header(
      'cmake',
      'configures and builds the CMake project out of tree, runs ctest -V (every test prints its output) and prints its JUnit report',
    ),
    C_SCRIPT_COMMON,
    'src=$(pwd)',
    'build=""',
    '# A build directory the repository already has is used when it was configured for this tree.',
    ...(trees.length
      ? [
          `for d in${trees.map((t) => ` ${shq(t.replace(/\/$/, '') || '.')}`).join('')}; do`,
          '  if [ -f "$d/CTestTestfile.cmake" ] && grep -qxF -e "CMAKE_HOME_DIRECTORY:INTERNAL=$src" -e "CMAKE_HOME_DIRECTORY:INTERNAL=$(pwd -P)" "$d/CMakeCache.txt" 2>/dev/null; then',
          '    build="$src/$d"',
          '    break',
          '  fi',
          'done',
        ]
      : []),
    'if [ -z "$build" ]; then',
    '  build="$tmp/build"',
    '  # Debug: assert() stays on (a Release default would define NDEBUG).',
    '  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON --no-warn-unused-cli >"$tmp/configure.log" 2>&1',
    '  code=$?',
    `  [ $code -eq 0 ] || stop "cmake could not configure the project (exit $code)" $code "$(grep -m1 -A2 '^CMake Error' "$tmp/configure.log" | tr -s ' \\t\\n' '   ')" "$tmp/configure.log"`,
    'else',
    '  echo "ssr: using the build directory $build (configured for this tree)" >"$tmp/configure.log"',
    'fi',
    'cmake --build "$build" -j2 >"$tmp/build.log" 2>&1',
    'code=$?',
    '[ $code -eq 0 ] || stop "the build failed (cmake --build exited $code)" $code "$(grep -m1 -E "$build_error" "$tmp/build.log")" "$tmp/build.log"',
    '# ctest >= 3.21 writes a JUnit report; older ones are read from their result lines only.',
    'junit=""',
    'ctest --help 2>/dev/null | grep -q -- --output-junit && junit="--output-junit $tmp/ctest.xml"',
    '# shellcheck disable=SC2086 # $junit is two words or none',
    '(cd "$build" && ctest -V $junit) >"$tmp/ctest.log" 2>&1',
    'code=$?',
    "grep -q '^No tests were found' \"$tmp/ctest.log\" && echo 'ssr: error: ctest found no tests (add_test() was never reached, or the option that adds the tests is off)'",
    'cat "$tmp/configure.log" "$tmp/build.log" "$tmp/ctest.log"',
    'if [ -f "$tmp/ctest.xml" ]; then',
    '  echo "### ssr-report-begin $nonce ctest.xml"',
    '  cat "$tmp/ctest.xml"',
    '  echo',
    '  echo "### ssr-report-end $nonce"',
    'fi',
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

function cmakeCandidate(scan: RepoScan): Candidate | null {
  if (!scan.has('CMakeLists.txt')) return null;
  const mine = firstParty(scan);
  const lists = scan.match(/(^|\/)(CMakeLists\.txt|[^/]+\.cmake)$/).filter(mine);
  const evidence = lists.find((f) => CMAKE_TESTING.test(scan.read(f) ?? ''));
  const trees = cmakeBuildTrees(scan).filter((t) => scan.has(`${t}CTestTestfile.cmake`));
  const reason = evidence
    ? `${evidence} ${/enable_testing/i.test(scan.read(evidence) ?? '') ? 'calls enable_testing()' : 'defines tests'}`
    : `CMakeLists.txt and a CTest build directory (${trees[0] || '.'})`;
  let notApplicable: string | undefined;
  if (!evidence && !trees.length) {
    notApplicable =
      'the CMake project defines no tests (no enable_testing(), include(CTest) or add_test() in its CMake files)';
  } else if (!toolAvailable('cmake') || !toolAvailable('ctest')) {
    notApplicable = 'cmake is not installed (apt-get install cmake)';
  }
  const extra = cmakeTestSources(
    scan,
    lists.filter((f) => f.endsWith('CMakeLists.txt')),
  );
  return {
    framework: 'cmake',
    ecosystem: cEcosystem(scan),
    reason,
    command: 'cmake -S . -B <tmp> && cmake --build <tmp> && ctest -V',
    testScript: cmakeScript(trees),
    testParser: CTEST_PARSER,
    testFiles: cTestFiles(scan, extra),
    filesFromIds: filesNamedByIds(scan),
    notes: [
      'CMake configured out of tree (Debug, BUILD_TESTING=ON; a build directory the repository has for this tree is reused), built with -j2, then ctest -V with a JUnit report; ids are the CTest test names, or "<test> > <case>" where a test prints Unity, cmocka/GoogleTest, Check or TAP lines',
    ],
    notApplicable,
  };
}

// --- make check / make test

/** Targets of the rules in a Makefile ("a b: deps" names a and b). */
function makeTargets(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^([^\s#=:][^#=:]*?)\s*::?(?!=)/gm)) {
    for (const t of m[1]!.split(/\s+/)) out.add(t);
  }
  return out;
}

/** Sources of automake's test programs (TESTS, check_PROGRAMS) and test scripts in TESTS. */
function automakeTestSources(scan: RepoScan): string[] {
  const out: string[] = [];
  for (const f of scan.match(/(^|\/)Makefile\.am$/).filter(firstParty(scan))) {
    const dir = dirOf(f);
    const text = (scan.read(f) ?? '').replace(/\\\n/g, ' ');
    const vars = new Map<string, string[]>();
    for (const m of text.matchAll(/^\s*([\w]+)\s*\+?=\s*(.*)$/gm)) {
      vars.set(m[1]!, [...(vars.get(m[1]!) ?? []), ...m[2]!.split(/\s+/).filter(Boolean)]);
    }
    const at = (p: string) => normalizeRelative(dir ? `${dir}/${p}` : p);
    const programs = new Set([...(vars.get('TESTS') ?? []), ...(vars.get('check_PROGRAMS') ?? [])]);
    for (const prog of programs) {
      if (prog.includes('$')) continue;
      const canon = prog.replace(/\$\(EXEEXT\)$/, '').replace(/[^\w@]/g, '_');
      const listed = vars.get(`${canon}_SOURCES`) ?? [`${prog.replace(/\$\(EXEEXT\)$/, '')}.c`];
      const script = at(prog);
      if (script && scan.has(script) && !C_SOURCE.test(script)) out.push(script);
      for (const s of listed) {
        const p = s.includes('$') ? null : at(s);
        if (p && scan.has(p) && definesMain(scan, p)) out.push(p);
      }
    }
  }
  return out;
}

export function makeScript(opts: {
  target: string;
  configure: 'none' | 'configure' | 'autoreconf';
  jobs: number;
}): string {
  const { target, configure, jobs } = opts;
  const make = `make -k${jobs > 1 ? ` -j${jobs}` : ''} ${target}`;
  const configureLines: string[] = [];
  if (configure === 'autoreconf') {
    configureLines.push(
      '# A checkout of an autotools project: generate ./configure first.',
      'autoreconf -fi >"$tmp/autoreconf.log" 2>&1 || stop "autoreconf could not generate ./configure (exit $?)" $? "$(grep -m1 -iE \'error|not found\' "$tmp/autoreconf.log")" "$tmp/autoreconf.log"',
    );
  }
  if (configure !== 'none') {
    configureLines.push(
      'sh ./configure >"$tmp/configure.log" 2>&1 || stop "./configure failed (exit $?)" $? "$(grep -m1 -E "$build_error" "$tmp/configure.log")" "$tmp/configure.log"',
      'cat "$tmp/configure.log"',
    );
  }
  return [
    header('make', `runs ${make} in the tree and prints automake's per-test .trs and .log files`),
    C_SCRIPT_COMMON,
    ...configureLines,
    'touch "$tmp/stamp"',
    `${make} >"$tmp/make.log" 2>&1`,
    'code=$?',
    "# automake's parallel harness: one .trs (results) and .log (output) per test, written now.",
    "reports=$(find . -name '*.trs' -type f -newer \"$tmp/stamp\" -printf '%P\\n' 2>/dev/null | LC_ALL=C sort)",
    'if [ $code -ne 0 ] && [ -z "$reports" ]; then',
    '  first=$(grep -m1 -E "$build_error" "$tmp/make.log")',
    '  if [ -n "$first" ]; then',
    `    echo "ssr: the build failed (${make} exited $code); first error:"`,
    '    echo "$first"',
    '    echo "### ssr-build-failed $nonce"',
    '  fi',
    'fi',
    `echo "### ssr-file $nonce make ${target}"`,
    'cat "$tmp/make.log"',
    'echo "### ssr-exit $nonce $code"',
    'while IFS= read -r f; do',
    '  [ -n "$f" ] || continue',
    '  for r in "$f" "$(printf %s "$f" | sed \'s/\\.trs$/.log/\')"; do',
    '    [ -f "$r" ] || continue',
    '    echo "### ssr-report-begin $nonce $r"',
    '    cat "$r"',
    '    echo',
    '    echo "### ssr-report-end $nonce"',
    '  done',
    'done <<<"$reports"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

function makeCandidate(scan: RepoScan): Candidate | null {
  const makefile = ['GNUmakefile', 'makefile', 'Makefile'].find((f) => scan.has(f));
  const text = makefile ? (scan.read(makefile) ?? '') : '';
  if (makefile && /^# CMAKE generated file/m.test(text)) return null;
  const automake = scan.has('Makefile.am');
  const configureScript = scan.has('configure');
  const configureAc = scan.has('configure.ac') || scan.has('configure.in');
  let target: string | undefined;
  let reason = '';
  let configure: 'none' | 'configure' | 'autoreconf' = 'none';
  if (makefile) {
    const targets = makeTargets(text);
    target = ['check', 'test'].find((t) => targets.has(t));
    if (!target && automake) target = 'check';
    reason = `${makefile} has a ${target} target`;
  } else if (automake && (configureScript || configureAc)) {
    target = 'check';
    configure = configureScript ? 'configure' : 'autoreconf';
    reason = `Makefile.am (automake) with ${configureScript ? './configure' : 'configure.ac'}`;
  } else if (scan.has('Makefile.in') && configureScript) {
    const targets = makeTargets(scan.read('Makefile.in') ?? '');
    target = ['check', 'test'].find((t) => targets.has(t));
    configure = 'configure';
    reason = `Makefile.in with ./configure has a ${target} target`;
  }
  if (!target) return null;
  // `make test` in a repository with no C or C++ code runs some other ecosystem's tests.
  const sources = cSources(scan);
  if (!sources.length) return null;
  let notApplicable: string | undefined;
  if (!toolAvailable('make')) notApplicable = 'make is not installed (apt-get install make)';
  else if (configure === 'autoreconf' && !toolAvailable('autoreconf')) {
    notApplicable =
      'configure.ac without a generated ./configure, and autoreconf is not installed (apt-get install autoconf automake libtool)';
  }
  const parallel = automake;
  return {
    framework: 'make',
    ecosystem: cEcosystem(scan),
    reason,
    command: `make -k${parallel ? ' -j2' : ''} ${target}`,
    testScript: makeScript({ target, configure, jobs: parallel ? 2 : 1 }),
    testParser: MAKE_PARSER,
    testFiles: cTestFiles(scan, automake ? automakeTestSources(scan) : []),
    filesFromIds: filesNamedByIds(scan),
    notes: [
      `make -k ${target} in the tree${configure === 'none' ? '' : ` after ${configure === 'autoreconf' ? 'autoreconf -fi and ' : ''}./configure`}; ids are automake's test names (from its .trs files), "PASS:/FAIL:" names, or "make ${target}" (its exit status), with "<test> > <case>" where a test prints Unity, cmocka/GoogleTest, Check or TAP lines`,
    ],
    notApplicable,
  };
}

/** CMake + CTest first, then make check / make test (one group: a project may have both). */
export function cCandidates(scan: RepoScan): Candidate[] {
  return [cmakeCandidate(scan), makeCandidate(scan)].filter((c): c is Candidate => c !== null);
}

// ---------------------------------------------------------------------------------------------
// Gradle

/**
 * The Gradle test script around `build` (the lines that run the tests): prints every JUnit XML
 * report Gradle wrote (build/test-results/<task>/TEST-*.xml, the format Surefire writes) between
 * report markers and exits 1 when gradle succeeded although a report holds a failure.
 */
export function gradleScript(build: string): string {
  return [
    header('gradle', 'runs gradle test offline and prints the JUnit XML reports'),
    // Java takes user.home from the password database, not $HOME.
    '[ -n "$(printenv GRADLE_USER_HOME)" ] || export GRADLE_USER_HOME="$HOME/.gradle"',
    'export GRADLE_OPTS="$(printenv GRADLE_OPTS) -Djava.awt.headless=true -Duser.home=$HOME"',
    "# Reports left in the repository would be read as this run's results.",
    "find . -path ./node_modules -prune -o -type d -path '*/build/test-results' -prune -exec rm -rf {} + 2>/dev/null",
    build,
    'code=$?',
    'while IFS= read -r f; do',
    '  echo "### ssr-report-begin $nonce $f"',
    '  cat "$f"',
    '  echo',
    '  echo "### ssr-report-end $nonce"',
    "done < <(find . -path ./node_modules -prune -o -type f -name 'TEST-*.xml' -path '*/build/test-results/*' -printf '%P\\n' | LC_ALL=C sort)",
    "if [ $code -eq 0 ] && grep -rqsE '<(failure|error)[ >/]' --include='TEST-*.xml' .; then code=1; fi",
    'echo "### ssr-exit $nonce $code"',
    'rm -rf "$tmp" 2>/dev/null',
    'exit $code',
    '',
  ].join('\n');
}

export function gradleCandidates(scan: RepoScan): Candidate[] {
  const build = ['build.gradle', 'build.gradle.kts', 'settings.gradle', 'settings.gradle.kts'].find(
    (f) => scan.has(f),
  );
  if (!build) return [];
  const installed = toolAvailable('gradle');
  const wrapper = scan.has('gradlew') && scan.has('gradle/wrapper/gradle-wrapper.jar');
  // The wrapper downloads its Gradle unless it is cached: the installed gradle runs offline.
  const gradle = installed ? 'gradle' : wrapper ? './gradlew' : null;
  const command = `${gradle ?? 'gradle'} --offline test`;
  return [
    {
      framework: 'gradle',
      ecosystem: 'java',
      reason: `${build} present${scan.has('gradlew') ? ' (with gradlew)' : ''}`,
      command,
      testScript: gradleScript(
        `${gradle === './gradlew' ? 'sh ./gradlew' : 'gradle'} --offline --no-daemon --continue --console=plain test 2>&1`,
      ),
      testParser: SUREFIRE_PARSER,
      testFiles: scan.match(/(^|\/)src\/test\//),
      notes: [
        `${command} (--continue: every module's tests; dependencies must already be in the Gradle cache); ids are "<class>#<method>" from the JUnit XML reports in build/test-results`,
      ],
      notApplicable: gradle
        ? undefined
        : 'gradle is not installed (apt-get install gradle) and the repository has no Gradle wrapper (gradlew with gradle/wrapper/gradle-wrapper.jar)',
    },
  ];
}

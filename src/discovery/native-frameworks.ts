/** Candidates for compiled ecosystems: Go modules, Cargo crates, Maven projects. */
import { CARGO_PARSER, GO_PARSER, SUREFIRE_PARSER } from './parsers.js';
import type { RepoScan } from './scan.js';
import { CARGO_DIRS, type Candidate, GO_DIRS, header, toolAvailable } from './script-pieces.js';

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

export function cargoCandidates(scan: RepoScan): Candidate[] {
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

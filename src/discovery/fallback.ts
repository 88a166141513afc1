/**
 * The universal fallback, tried last: when no structured way to read the tests works, every
 * test file runs on its own and its exit code is its outcome (id = the file). JavaScript test
 * files run with node, Python test files with pytest (or python3 when pytest is missing), Go
 * packages with `go test ./<dir>`, Rust integration tests with `cargo test --test <name>`; a
 * Makefile `test`/`check` target is the last resort. Coarse (a bug counts as caught only when
 * a whole file fails), but every repository with tests gets a suite.
 */

import { shq } from './npm-script.js';
import { pytestConfig, pythonPathSetup } from './python-frameworks.js';
import { globToRegExp, type RepoScan } from './scan.js';
import {
  CARGO_DIRS,
  type Candidate,
  type Ecosystem,
  GO_DIRS,
  header,
  toolAvailable,
  uniqueSorted,
} from './script-pieces.js';

/** Most files (or packages) one fallback run holds; the rest are left out, with a note. */
export const MAX_FALLBACK_ITEMS = 200;
/** Seconds one file may run before it is killed (and counts as failed). */
export const FALLBACK_ITEM_TIMEOUT_S = 60;

/**
 * Parser of the per-item log: "### ssr-file <nonce> <id>", the item's output, then
 * "### ssr-exit <nonce> <code>" (and "### ssr-skip <nonce>" for a file without tests).
 * Exit 0 is passed, anything else failed; an item without its exit line (the run was cut)
 * failed. Self-contained, so `--test-format exit-code` uses it too.
 */
export const EXIT_CODE_PARSER = String.raw`import json
import re
import sys

MARK = re.compile(r"^### ssr-(root|file|exit|skip) (\S+)(?: (.*))?$")


def main():
    text = sys.stdin.buffer.read().decode("utf-8", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    nonce = None
    tests = {}
    skipped = set()
    current = None
    for line in text.split("\n"):
        if not line.startswith("### ssr-"):
            continue
        m = MARK.match(line)
        if not m:
            continue
        kind, mark_nonce, value = m.group(1), m.group(2), (m.group(3) or "").strip()
        if kind == "root":
            if nonce is None:
                nonce = mark_nonce
            continue
        if mark_nonce != nonce:
            continue
        if kind == "file":
            current = value
            tests[current] = "failed"
        elif kind == "skip" and current is not None:
            skipped.add(current)
        elif kind == "exit" and current is not None:
            if current in skipped:
                tests[current] = "skipped"
            else:
                tests[current] = "passed" if value == "0" else "failed"
            current = None
    json.dump(tests, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
`;

interface Item {
  /** The test id: the file (a Go package's directory, "make test"). */
  id: string;
  /** Bash words after `item <id>`: the command that runs it. */
  run: string;
  /** Repo-relative test files it runs. */
  files: string[];
  kind: 'js' | 'py' | 'go' | 'rust' | 'make';
}

/** Directories under a test dir that hold support code, not tests. */
const SUPPORT_DIR =
  /(^|\/)(fixtures?|__fixtures__|helpers?|utils?|support|mocks?|__mocks__|data|snapshots|__snapshots__|testdata|node_modules|dist|build|coverage)\//;
const JS_TEST =
  /(^|\/)((test|tests|__tests__|spec|specs)\/.*|[^/]*[.-](test|spec)|test|tests|test-[^/]*|test_[^/]*)\.(c|m)?js$/;
const TS_TEST =
  /(^|\/)((test|tests|__tests__|spec|specs)\/.*|[^/]*[.-](test|spec)|test|tests|test-[^/]*|test_[^/]*)\.(c|m)?tsx?$/;

function jsItems(scan: RepoScan, notes: string[]): Item[] {
  if (!toolAvailable('node')) return [];
  const pick = (re: RegExp) =>
    scan
      .match(re)
      .filter(
        (f) => !SUPPORT_DIR.test(f) && !/\.d\.[cm]?ts$/.test(f) && !/(^|\/)\.[^/]+\//.test(f),
      );
  const js = pick(JS_TEST);
  const ts = pick(TS_TEST);
  const tsx = scan.hasBin('tsx');
  if (ts.length && !tsx) {
    notes.push(
      `${ts.length} TypeScript test file(s) left out: node_modules/.bin/tsx is not installed to run them`,
    );
  }
  return [
    ...js.map((f) => ({ id: f, run: `node ${shq(f)}`, files: [f], kind: 'js' as const })),
    ...(tsx ? ts : []).map((f) => ({
      id: f,
      run: `node_modules/.bin/tsx ${shq(f)}`,
      files: [f],
      kind: 'js' as const,
    })),
  ];
}

const PY_EXCLUDED = /^(build|dist|site-packages|\.?env)\//;

function pyItems(scan: RepoScan): Item[] {
  if (!toolAvailable('python3')) return [];
  const config = pytestConfig(scan);
  const patterns = (config?.pythonFiles ?? ['test_*.py', '*_test.py']).map((p) => globToRegExp(p));
  const files = scan.match(/\.py$/).filter((f) => {
    if (PY_EXCLUDED.test(f) || SUPPORT_DIR.test(f)) return false;
    const base = f.slice(f.lastIndexOf('/') + 1);
    if (base === 'conftest.py' || base === '__init__.py') return false;
    if (patterns.some((re) => re.test(base))) return true;
    // unittest modules with other names (tests/foo.py, app/tests.py)
    return (
      (/(^|\/)tests?\//.test(f) || /^tests?\.py$/.test(base)) &&
      /^\s*class\s+\w+\s*\([^)]*\bTestCase\b/m.test(scan.read(f) ?? '')
    );
  });
  return files.map((f) => ({
    id: f,
    run: `"\${pyrun[@]}" ${shq(f)}`,
    files: [f],
    kind: 'py' as const,
  }));
}

function goItems(scan: RepoScan): Item[] {
  if (!scan.has('go.mod') || !toolAvailable('go', GO_DIRS)) return [];
  const files = scan
    .match(/_test\.go$/)
    .filter((f) => !/(^|\/)(testdata|vendor)\//.test(f) && !/(^|\/)\.[^/]+\//.test(f));
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const dir = f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '.';
    byDir.set(dir, [...(byDir.get(dir) ?? []), f]);
  }
  return [...byDir].map(([dir, fs]) => ({
    id: dir === '.' ? './' : `${dir}/`,
    run: `go test ${shq(dir === '.' ? '.' : `./${dir}`)}`,
    files: fs,
    kind: 'go' as const,
  }));
}

function rustItems(scan: RepoScan): Item[] {
  if (!toolAvailable('cargo', CARGO_DIRS)) return [];
  const out: Item[] = [];
  for (const f of scan.match(/(^|\/)tests\/[^/]+\.rs$/, /(^|\/)tests\/[^/]+\/main\.rs$/)) {
    const m = /^(?:(.*)\/)?tests\/([^/]+?)(?:\.rs|\/main\.rs)$/.exec(f);
    if (!m) continue;
    const crate = m[1] ?? '';
    const manifest = crate ? `${crate}/Cargo.toml` : 'Cargo.toml';
    if (!scan.has(manifest)) continue;
    out.push({
      id: f,
      run: `cargo test --offline --manifest-path ${shq(manifest)} --test ${shq(m[2]!)}`,
      files: [f],
      kind: 'rust',
    });
  }
  return out;
}

function makeItems(scan: RepoScan): Item[] {
  const makefile = ['GNUmakefile', 'makefile', 'Makefile'].find((f) => scan.has(f));
  if (!makefile || !toolAvailable('make')) return [];
  const text = scan.read(makefile) ?? '';
  const target = ['test', 'check'].find((t) => new RegExp(`^${t}\\s*:(?!=)`, 'm').test(text));
  if (!target) return [];
  return [{ id: `make ${target}`, run: `make ${target}`, files: [], kind: 'make' }];
}

const KIND_ECOSYSTEM: Record<Item['kind'], Ecosystem> = {
  js: 'npm',
  py: 'python',
  go: 'go',
  rust: 'rust',
  make: 'npm',
};

const KIND_NAME: Record<Item['kind'], string> = {
  js: 'JavaScript test file',
  py: 'Python test file',
  go: 'Go package',
  rust: 'Rust integration test',
  make: 'make target',
};

/**
 * The fallback candidate: every test file (Go package, Rust integration test) on its own, or,
 * with none, the Makefile's test/check target. Null when the repository has none of them.
 */
export function fallbackCandidate(scan: RepoScan): Candidate | null {
  const notes: string[] = [];
  let items = [...jsItems(scan, notes), ...pyItems(scan), ...goItems(scan), ...rustItems(scan)];
  if (!items.length) items = makeItems(scan);
  if (!items.length) return null;
  const total = items.length;
  if (total > MAX_FALLBACK_ITEMS) {
    items = items.slice(0, MAX_FALLBACK_ITEMS);
    notes.push(
      `only the first ${MAX_FALLBACK_ITEMS} of ${total} test files run (one run would take too long)`,
    );
  }
  const counts = new Map<Item['kind'], number>();
  for (const it of items) counts.set(it.kind, (counts.get(it.kind) ?? 0) + 1);
  const kinds = [...counts].sort((a, b) => b[1] - a[1]);
  const summary = kinds.map(([k, n]) => `${n} ${KIND_NAME[k]}${n === 1 ? '' : 's'}`).join(', ');
  const python = counts.has('py') ? pythonPathSetup(scan, pytestConfig(scan)) : null;
  const lines = [
    header('fallback', 'runs each test file on its own; its exit code is its outcome'),
    'export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 npm_config_update_notifier=false',
  ];
  if (counts.has('go')) {
    lines.push(
      'export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"',
      'export GOCACHE="$tmp/go-cache" GOPATH="$tmp/go" GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOTELEMETRY=off',
    );
  }
  if (counts.has('rust')) {
    lines.push(
      'export PATH="$PATH:/usr/local/cargo/bin"',
      '[ -d /usr/local/rustup ] && export RUSTUP_HOME=/usr/local/rustup',
      'export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_INCREMENTAL=0 RUST_BACKTRACE=0',
    );
  }
  if (counts.has('py')) {
    if (python?.script) lines.push(python.script);
    lines.push(
      '# Python test files run with pytest when it is installed, else with python3 (root on the path).',
      "if python3 -c 'import pytest' 2>/dev/null; then",
      '  pyrun=(python3 -m pytest -p no:cacheprovider -q --color=no)',
      'else',
      `  pyrun=(env "PYTHONPATH=$PWD\${PYTHONPATH:+:$PYTHONPATH}" python3)`,
      'fi',
    );
  }
  lines.push(
    `# Each item is killed after ${FALLBACK_ITEM_TIMEOUT_S} s (and fails), so one hanging file does not hide the others.`,
    'limit() { if command -v timeout >/dev/null; then timeout -k 5 ' +
      `${FALLBACK_ITEM_TIMEOUT_S} "$@"; else "$@"; fi; }`,
    'status=0',
    'item() {',
    '  local id="$1"',
    '  shift',
    '  echo "### ssr-file $nonce $id"',
    '  limit "$@" </dev/null 2>&1',
    '  local code=$?',
    '  # pytest exits 5 when a file holds no test: skipped, not failed',
    '  if [ $code -eq 5 ] && [ "$1 $2 $3" = "python3 -m pytest" ]; then echo "### ssr-skip $nonce"; fi',
    '  echo "### ssr-exit $nonce $code"',
    '  [ $code -eq 0 ] || status=1',
    '}',
  );
  for (const it of items) lines.push(`item ${shq(it.id)} ${it.run}`);
  lines.push('rm -rf "$tmp" 2>/dev/null', 'exit $status', '');
  const script = lines.join('\n');
  const pyNote =
    counts.has('py') &&
    'Python test files run with python3 -m pytest <file> when pytest is installed in the sandbox, else python3 <file> (a file without a failing check then passes)';
  return {
    framework: 'fallback',
    ecosystem: KIND_ECOSYSTEM[kinds[0]![0]],
    reason: summary,
    command: 'each test file on its own (exit code = outcome)',
    testScript: script,
    testParser: EXIT_CODE_PARSER,
    testFiles: uniqueSorted(items.flatMap((i) => i.files)),
    notes: [
      `coarse fallback (nothing structured could be read): each test file runs on its own and its exit code is its outcome; a test id is the file (${summary}), so a bug counts as caught only when a whole file fails`,
      ...(pyNote ? [pyNote] : []),
      ...(python?.note ? [python.note] : []),
      ...notes,
    ],
  };
}

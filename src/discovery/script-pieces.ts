/**
 * Pieces every candidate's test_script.sh is built from (header, per-file loop, report
 * framing), the Candidate type, and helpers shared by the ecosystems' candidate modules.
 */
import { existsSync } from 'node:fs';
import { shellWord, shq, type Word } from './npm-script.js';
import type { RepoScan } from './scan.js';
import type { TestScope } from './types.js';

export type Ecosystem = 'npm' | 'python' | 'go' | 'rust' | 'java' | 'ruby' | 'c' | 'cpp';

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
  /** How to run a subset of its test files (types.ts, TestScope). */
  scope?: TestScope;
}

/** PATH inside the sandbox, plus the usual install places of toolchains discovery looks in. */
export const SANDBOX_PATH = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];
export const GO_DIRS = ['/usr/local/go/bin', '/usr/lib/go/bin'];
export const CARGO_DIRS = ['/usr/local/cargo/bin'];

/** Whether `name` is on the sandbox's PATH (or in `extra` dirs, which scripts add to PATH). */
export function toolAvailable(name: string, extra: string[] = []): boolean {
  return [...SANDBOX_PATH, ...extra].some((d) => existsSync(`${d}/${name}`));
}

// ---------------------------------------------------------------------------------------------
// Script pieces

const MARKER_NOTE =
  '# Lines "### ssr-<kind> <nonce> ..." (random nonce per run) frame the output for test_parser.py.';

export function header(framework: string, what: string): string {
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

export const JS_ENV = 'export npm_config_update_notifier=false';

/** `NAME=value` words of a command, for a bash script. */
export function envWords(env: Word[]): string {
  return env
    .map((w) => {
      const at = w.value.indexOf('=');
      return `${w.value.slice(0, at)}=${shq(w.value.slice(at + 1))}`;
    })
    .map((s) => `${s} `)
    .join('');
}

export function words(ws: Word[]): string {
  return ws.map((w) => ` ${shellWord(w)}`).join('');
}

/** Runs `command`, then prints the report file between markers and exits with its status. */
export function withReport(command: string, report: string, name: string): string {
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

/** Shell words, one per line: ` \\\n    'a' \\\n    'b'` (each quoted), to follow a command. */
export function shellList(items: readonly string[]): string {
  return items.map((f) => ` \\\n    ${shq(f)}`).join('');
}

/** Runs `each` once per file with a marker before it; exits 1 if any file's run failed. */
export function perFile(files: readonly string[], each: string): string {
  return [
    'status=0',
    `for f in${shellList(files)}; do`,
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

/**
 * `fileOf` for ids that start with their file: "<file> > suite > test", "<file>::Class::test";
 * an id without the separator is a file's own (a pytest collection error: "tests/test_x.py").
 */
export function fileBefore(sep: string): (id: string) => string | null {
  return (id) => {
    const at = id.indexOf(sep);
    return (at < 0 ? id : id.slice(0, at)).trim() || null;
  };
}

/**
 * A suite that runs a list of its test files, ids "<file> > ...": its test_script.sh for
 * `files`, and its scope (the same script for fewer files).
 */
export function listedFiles(
  script: (files: readonly string[]) => string,
  files: readonly string[],
): Pick<Candidate, 'testScript' | 'scope'> {
  return { testScript: script(files), scope: { script, fileOf: fileBefore(' > ') } };
}

/** Every file a glob over the repo matches, sorted and unique. */
export function uniqueSorted(list: Iterable<string>): string[] {
  return [...new Set(list)].sort();
}

/** The file part of ids like "<file> > suite > case" or "<file>::Class::test". */
export function idFiles(ids: string[], sep: RegExp, scan: RepoScan, keep?: (f: string) => boolean) {
  const out = new Set<string>();
  for (const id of ids) {
    const file = id.split(sep)[0]!.trim();
    if (scan.has(file) && (!keep || keep(file))) out.add(file);
  }
  return [...out];
}

/**
 * History-aware procedural injection (SSR-SPEC section 6): revert the source part of a past
 * commit, so that a real historical bug (or a missing feature) comes back.
 *
 * Every git command runs inside a sandbox, never on the host: a repository's own config can
 * name commands that git runs (core.fsmonitor, diff.external, textconv and filter drivers,
 * a pager...). Inside the sandbox they are also neutralised, so that a hostile config cannot
 * even change the sandbox's state:
 * - history is read with `git log` / `git diff` under `-c` overrides and with --no-ext-diff,
 *   --no-textconv, --no-pager, --no-color, no system or global config, no network protocols;
 * - patches are checked and applied with `git apply` *outside* any repository
 *   (GIT_DIR=/nonexistent), so no repository config (filter drivers!) is read at all. The
 *   sandbox's own `applyPatch` runs `git apply` inside the repo, which runs the repo's
 *   `filter.<driver>.clean` commands for paths with a `filter` attribute.
 */
import { posix } from 'node:path';
import { diffLines } from 'diff';
import pLimit from 'p-limit';
import {
  findInlineTestRegions,
  type InlineTestRegion,
  inlineScopeProblems,
  oracleEntries,
} from '../artifact/oracle-regions.js';
import { parsePatch } from '../artifact/patch.js';
import { shellQuote } from '../sandbox/local.js';
import { formatFileDiff } from '../sandbox/tree-diff.js';
import type { Sandbox } from '../sandbox/types.js';
import { sha256 } from '../util/hash.js';
import { isProductFile, isTestPath } from './product-code.js';
import type { BugCandidate } from './types.js';

export interface HistoryCandidateOptions {
  /**
   * The lines of test_files.txt: plain paths are never reverted; in a `<path>#inline-tests`
   * file, changes that touch its inline-test regions are left as they are (the rest of the
   * file is code and may be reverted).
   */
  testFiles: string[];
  /**
   * Further test (or test-support) files, never reverted (default: `isTestPath` of
   * product-code.ts, the rule every strategy uses).
   */
  isTestFile?: (path: string) => boolean;
  /** Non-merge commits read from `git log`, newest first (default 200). */
  maxCommits?: number;
  /** Return at most this many candidates: a seeded sample, still in newest-first order. */
  max?: number;
  /** Seed of that sample (default 0). */
  seed?: number;
  /** Skip commits whose source change exceeds this many added + deleted lines (default 200). */
  maxChangedLines?: number;
  /** Time limit of each git batch inside the sandbox (default 120 s). */
  timeoutMs?: number;
}

const DEFAULT_MAX_COMMITS = 200;
const DEFAULT_MAX_CHANGED_LINES = 200;
const CHECK_BATCH = 50;
const MAX_OUTPUT = 64 * 1024 * 1024;
const MATERIALIZE_CONCURRENCY = 4;

// --- git inside the sandbox ---------------------------------------------------------------------

const GIT_CONFIG_OVERRIDES = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'core.quotePath=true',
  'safe.directory=*',
  'log.showSignature=false',
  'color.ui=false',
  'diff.noprefix=false',
  'diff.mnemonicPrefix=false',
  'diff.relative=false',
  'diff.suppressBlankEmpty=false',
  'i18n.logOutputEncoding=UTF-8',
];

/** Defines `g` (git reading the repo) and `rdiff <commit> <file>...` (the revert diff). */
const PRELUDE = `set -u -o pipefail
g() { git ${GIT_CONFIG_OVERRIDES.map((c) => `-c ${shellQuote(c)}`).join(' ')} --no-pager "$@"; }
rdiff() {
  local c=$1; shift
  g diff --no-ext-diff --no-textconv --no-color --no-renames -U3 -O/dev/null \\
    --src-prefix=a/ --dst-prefix=b/ "$c" "$c^" -- "$@"
}
apply_outside() { GIT_DIR=/nonexistent git apply --whitespace=nowarn "$@"; }
`;

/**
 * Reads NUL-separated records `<sha> <n> <file>...` on stdin. For each commit prints
 * "\\x01C <sha>", then for each file i "\\x01P <i>" and its revert diff (or "\\x01E <i>" if
 * git could not make one), then "\\x01S <i> <1|0>" for whether each file's revert applies to
 * the current tree. Diff lines never start with \\x01, so the markers cannot be confused.
 */
const CHECK_SCRIPT = `${PRELUDE}
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
while IFS= read -r -d '' sha && IFS= read -r -d '' n; do
  files=()
  for ((i = 0; i < n; i++)); do IFS= read -r -d '' f; files+=("$f"); done
  printf '\\001C %s\\n' "$sha"
  : >"$t/all"
  for ((i = 0; i < n; i++)); do
    if rdiff "$sha" "\${files[i]}" >"$t/$i" 2>/dev/null && [ -s "$t/$i" ]; then
      printf '\\001P %d\\n' "$i"
      cat "$t/$i"
      cat "$t/$i" >>"$t/all"
    else
      printf '\\001E %d\\n' "$i"
      rm -f "$t/$i"
    fi
  done
  if [ -s "$t/all" ] && apply_outside --check - <"$t/all" >/dev/null 2>&1; then
    for ((i = 0; i < n; i++)); do [ -e "$t/$i" ] && printf '\\001S %d 1\\n' "$i"; done
  else
    for ((i = 0; i < n; i++)); do
      [ -e "$t/$i" ] || continue
      if apply_outside --check - <"$t/$i" >/dev/null 2>&1; then ok=1; else ok=0; fi
      printf '\\001S %d %d\\n' "$i" "$ok"
    done
  fi
  rm -f "$t"/*
done
exit 0
`;

function gitEnv(sb: Sandbox): Record<string, string> {
  return {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CEILING_DIRECTORIES: posix.dirname(sb.repoPath),
    GIT_OPTIONAL_LOCKS: '0',
    GIT_TERMINAL_PROMPT: '0',
    GIT_LITERAL_PATHSPECS: '1',
    GIT_NO_REPLACE_OBJECTS: '1',
    // Only protocols in this list may be used (e.g. lazy fetches of a partial clone): none.
    GIT_ALLOW_PROTOCOL: 'none',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
  };
}

// --- the commit log -----------------------------------------------------------------------------

interface LogCommit {
  sha: string;
  parents: string[];
  subject: string;
  /** numstat rows: null counts for binary files. */
  files: { path: string; added: number | null; deleted: number | null }[];
}

async function readLog(sb: Sandbox, maxCommits: number, timeoutMs: number): Promise<LogCommit[]> {
  const env = gitEnv(sb);
  for (let n = maxCommits; n >= 1; n = Math.floor(n / 2)) {
    const r = await sb.exec(
      `${PRELUDE}g log -z --no-merges --no-renames --numstat --no-ext-diff --no-textconv ` +
        `--no-color --format=%x01%H%x20%P%x02%s -n ${n} HEAD --`,
      { env, timeoutMs, maxOutputBytes: MAX_OUTPUT },
    );
    // Not a git repository, no commits yet, or an unreadable history: no history to use.
    if (r.exitCode !== 0) return [];
    if (!r.truncated) return parseLog(r.stdout);
  }
  return [];
}

function parseLog(out: string): LogCommit[] {
  const commits: LogCommit[] = [];
  // Each record starts with \x01 right after the NUL that ended the previous one.
  for (const rec of `\0${out}`.split('\0\x01').slice(1)) {
    const end = rec.indexOf('\0');
    const header = end < 0 ? rec : rec.slice(0, end);
    const sep = header.indexOf('\x02');
    if (sep < 0) continue;
    const [sha = '', ...parents] = header.slice(0, sep).trim().split(' ').filter(Boolean);
    if (!/^[0-9a-f]{40,64}$/.test(sha)) continue;
    const files: LogCommit['files'] = [];
    const rows = end < 0 ? [] : rec.slice(end + 1).split('\0');
    for (let row of rows) {
      if (row.startsWith('\n')) row = row.slice(1);
      const m = /^(\d+|-)\t(\d+|-)\t([\s\S]+)$/.exec(row);
      if (!m) continue;
      files.push({
        path: m[3]!,
        added: m[1] === '-' ? null : Number(m[1]),
        deleted: m[2] === '-' ? null : Number(m[2]),
      });
    }
    commits.push({ sha, parents, subject: header.slice(sep + 1), files });
  }
  return commits;
}

// --- revert diffs and their check ---------------------------------------------------------------

interface FileRevert {
  path: string;
  /** The reverse diff of this one file (commit -> parent). */
  diff: string;
  /** What the revert does to the file: 'delete' when the commit created it. */
  kind: 'modify' | 'create' | 'delete';
  lines: number;
  applies: boolean;
}

interface CheckedCommit {
  commit: LogCommit;
  /** The commit's eligible source files, in git's order, with their revert diffs. */
  files: FileRevert[];
}

interface Eligible {
  commit: LogCommit;
  files: { path: string; lines: number }[];
}

async function checkReverts(
  sb: Sandbox,
  batch: Eligible[],
  timeoutMs: number,
): Promise<CheckedCommit[]> {
  const input = batch
    .map((e) => [e.commit.sha, String(e.files.length), ...e.files.map((f) => f.path)].join('\0'))
    .join('\0');
  const r = await sb.exec(CHECK_SCRIPT, {
    env: gitEnv(sb),
    stdin: `${input}\0`,
    timeoutMs,
    maxOutputBytes: MAX_OUTPUT,
  });
  if (r.truncated || r.timedOut || r.exitCode !== 0) {
    // Too much output (or time) for one batch: one commit at a time, dropping any that fail.
    if (batch.length === 1) return [];
    const out: CheckedCommit[] = [];
    for (const e of batch) out.push(...(await checkReverts(sb, [e], timeoutMs)));
    return out;
  }
  return parseCheck(r.stdout, batch);
}

function parseCheck(out: string, batch: Eligible[]): CheckedCommit[] {
  const bySha = new Map(batch.map((e) => [e.commit.sha, e]));
  const result: CheckedCommit[] = [];
  let current: { e: Eligible; diffs: Map<number, string[]>; ok: Set<number> } | undefined;
  let lines: string[] | undefined;
  const finish = () => {
    if (!current) return;
    const { e, diffs, ok } = current;
    const files: FileRevert[] = [];
    e.files.forEach((f, i) => {
      const d = diffs.get(i);
      if (!d) return;
      const diff = d.join('\n');
      // Symlinks and submodules are not source code a candidate could carry.
      if (/^(?:new file mode|deleted file mode|old mode|new mode|index \S+) 1[26]0000$/m.test(diff))
        return;
      const kind = /^deleted file mode /m.test(diff)
        ? 'delete'
        : /^new file mode /m.test(diff)
          ? 'create'
          : 'modify';
      files.push({ path: f.path, diff, kind, lines: f.lines, applies: ok.has(i) });
    });
    result.push({ commit: e.commit, files });
    current = undefined;
  };
  const body = out.endsWith('\n') ? out.slice(0, -1) : out;
  for (const line of body.split('\n')) {
    if (!line.startsWith('\x01')) {
      lines?.push(line);
      continue;
    }
    lines = undefined;
    const [tag, a = '', b] = line.slice(1).split(' ');
    if (tag === 'C') {
      finish();
      const e = bySha.get(a);
      if (e) current = { e, diffs: new Map(), ok: new Set() };
    } else if (current && tag === 'P') {
      lines = [];
      current.diffs.set(Number(a), lines);
    } else if (current && tag === 'S' && b === '1') {
      current.ok.add(Number(a));
    }
  }
  finish();
  return result;
}

// --- candidates ---------------------------------------------------------------------------------

interface Plan {
  checked: CheckedCommit;
  files: FileRevert[];
  operator: string;
}

function planCandidates(c: CheckedCommit): Plan[] {
  const chosen = c.files.filter((f) => f.applies);
  if (chosen.length === 0) return [];
  const wholeFile = chosen.filter((f) => f.kind !== 'modify');
  const inPlace = chosen.filter((f) => f.kind === 'modify');
  const operator =
    wholeFile.length > 0
      ? 'revert-commit-files'
      : chosen.length === c.files.length
        ? 'revert-commit'
        : 'revert-commit-partial';
  const plans: Plan[] = [{ checked: c, files: chosen, operator }];
  // Deleting or re-creating whole files often breaks imports of everything else; the in-place
  // part of the same commit alone is usually the more interesting bug.
  if (wholeFile.length > 0 && inPlace.length > 0)
    plans.push({ checked: c, files: inPlace, operator: 'revert-commit-partial' });
  return plans;
}

/** 1-based line of the first change of the first hunk, on the reverted (new) side. */
function firstChangedLine(diff: string): number {
  const lines = diff.split('\n');
  const at = lines.findIndex((l) => l.startsWith('@@ '));
  if (at < 0) return 1;
  const m = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(lines[at]!);
  let line = m ? Number(m[1]) : 1;
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith(' ')) break;
    line++;
  }
  return Math.max(1, line);
}

/** The first changed line, within the reverted file (a deletion at its end: its last line). */
function locationLine(file: FileRevert, content: string | null | undefined): number {
  const line = firstChangedLine(file.diff);
  if (content == null) return 1;
  const count = content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
  return Math.max(1, Math.min(line, count));
}

function describe(plan: Plan): string {
  const { commit } = plan.checked;
  const names = plan.files.map((f) => f.path);
  const shown =
    names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names;
  return `revert ${commit.sha.slice(0, 7)} "${commit.subject}" in ${
    Array.isArray(shown) ? shown.join(', ') : shown
  }`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The content of every file of `files` after reverting them in a fork of `sb` (null for a
 * file the revert deletes), or null when the revert does not apply or a file is not UTF-8.
 * The contents come back base64-encoded from one command (exact bytes, and much cheaper than
 * one `readFile` per file).
 */
async function revertedContents(
  sb: Sandbox,
  commit: LogCommit,
  files: FileRevert[],
  timeoutMs: number,
): Promise<Map<string, string | null> | null> {
  const fork = await sb.fork();
  try {
    const r = await fork.exec(
      `${PRELUDE}set -- ${files.map((f) => shellQuote(f.path)).join(' ')}
rdiff ${shellQuote(commit.sha)} "$@" | apply_outside - >/dev/null 2>&1 || exit 3
for f in "$@"; do
  if [ -L "$f" ]; then echo L
  elif [ -f "$f" ]; then printf 'F '; base64 -w0 <"$f"; echo
  elif [ -e "$f" ]; then echo O
  else echo N; fi
done`,
      { env: gitEnv(fork), timeoutMs, maxOutputBytes: MAX_OUTPUT },
    );
    if (r.exitCode !== 0 || r.truncated) return null;
    const lines = r.stdout.split('\n');
    const out = new Map<string, string | null>();
    for (const [i, f] of files.entries()) {
      const line = lines[i] ?? '';
      if (f.kind === 'delete') {
        if (line !== 'N') return null;
        out.set(f.path, null);
      } else if (line.startsWith('F ')) {
        out.set(f.path, utf8.decode(Buffer.from(line.slice(2), 'base64')));
      } else {
        return null; // gone, a symlink or not a regular file
      }
    }
    return out;
  } catch {
    return null; // not UTF-8
  } finally {
    await fork.dispose();
  }
}

/** Lines with their endings ("a\n", "b"), so that joining them gives the text back. */
function linesOf(text: string): string[] {
  return text ? text.split(/(?<=\n)/) : [];
}

/** 1-based line of the first difference between two texts. */
function firstDifferentLine(before: string, after: string): number {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return Math.max(1, Math.min(i + 1, a.length));
}

/**
 * A revert of a file with inline oracle tests, less what it does to those tests: `after` with
 * every changed run of lines that touches a region of `before` (a replaced line inside a
 * region, an insertion strictly inside one: check 1's rule) put back as it was. Null when
 * nothing is left, or when the result's diff would still touch a region (diff alignment can
 * differ from this one's; such a file is not reverted).
 */
export function keepInlineTests(
  path: string,
  before: string,
  after: string,
  regions: readonly InlineTestRegion[],
): string | null {
  const parts = diffLines(before, after);
  let out = '';
  let old = 0; // lines of `before` consumed so far
  let removed: string[] = [];
  let added = '';
  const flush = () => {
    if (!removed.length && !added) return;
    const first = old - removed.length + 1;
    const touches = removed.length
      ? regions.some((r) => r.startLine <= old && first <= r.endLine)
      : regions.some((r) => r.startLine <= old && old + 1 <= r.endLine);
    out += touches ? removed.join('') : added;
    removed = [];
    added = '';
  };
  for (const part of parts) {
    const lines = linesOf(part.value);
    if (part.removed) {
      // A removal after an addition in the same run: keep them one run.
      removed.push(...lines);
      old += lines.length;
    } else if (part.added) {
      added += part.value;
    } else {
      flush();
      out += part.value;
      old += lines.length;
    }
  }
  flush();
  if (out === before) return null;
  const diff = formatFileDiff(
    path,
    { mode: '100644', data: Buffer.from(before) },
    { mode: '100644', data: Buffer.from(out) },
  );
  const still = inlineScopeProblems(
    'bug_inject.diff',
    parsePatch(diff, 'bug_inject.diff'),
    new Map([[path, [...regions]]]),
  );
  return still.length ? null : out;
}

/** Small seeded PRNG (mulberry32): the same seed gives the same sample on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Candidates that revert (part of) a past commit's change to source files, newest commit
 * first. Each commit's revert is checked against the current tree: files whose revert no
 * longer applies (later changes conflict) are left out, and the candidate is partial.
 *
 * Operators: 'revert-commit' (every source file of the commit), 'revert-commit-partial' (the
 * files that still revert cleanly, or only the in-place edits of a commit that also added or
 * removed files), 'revert-commit-files' (the revert deletes or re-creates whole files).
 * The sandbox itself is not modified: all work happens in forks of it.
 */
export async function historyCandidates(
  sandbox: Sandbox,
  opts: HistoryCandidateOptions,
): Promise<BugCandidate[]> {
  const maxCommits = opts.maxCommits ?? DEFAULT_MAX_COMMITS;
  const maxLines = opts.maxChangedLines ?? DEFAULT_MAX_CHANGED_LINES;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (opts.max !== undefined && opts.max <= 0) return [];
  if (maxCommits <= 0) return [];
  const norm = (p: string) => posix.normalize(p).replace(/^(\.\/)+/, '');
  const entries = oracleEntries(opts.testFiles.map(norm));
  const tests = new Set(entries.filter((e) => !e.inline).map((e) => e.path));
  const inline = new Set(entries.filter((e) => e.inline).map((e) => e.path));
  // The product-code rule (product-code.ts) by path: the pipeline adds coverage to it.
  const target = { testFiles: tests, isTestFile: opts.isTestFile ?? isTestPath };
  const isSource = (p: string) => isProductFile(p, target);

  const work = await sandbox.fork();
  try {
    const log = await readLog(work, maxCommits, timeoutMs);
    const eligible: Eligible[] = [];
    for (const commit of log) {
      if (commit.parents.length !== 1) continue; // a root (or shallow boundary) commit
      const files = commit.files
        .filter((f) => f.added !== null && f.deleted !== null && isSource(f.path))
        .map((f) => ({ path: f.path, lines: f.added! + f.deleted! }))
        .filter((f) => f.lines > 0);
      const total = files.reduce((s, f) => s + f.lines, 0);
      if (files.length > 0 && total <= maxLines) eligible.push({ commit, files });
    }

    const checked: CheckedCommit[] = [];
    for (let i = 0; i < eligible.length; i += CHECK_BATCH)
      checked.push(...(await checkReverts(work, eligible.slice(i, i + CHECK_BATCH), timeoutMs)));
    const plans = checked.flatMap(planCandidates);

    // Which plans to build, in the order to try them: all, or a seeded random order.
    const order = plans.map((_, i) => i);
    const want = opts.max ?? plans.length;
    if (want < plans.length) {
      const rand = mulberry32(opts.seed ?? 0);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }

    const limit = pLimit(MATERIALIZE_CONCURRENCY);
    const contents = new Map<string, Promise<Map<string, string | null> | null>>();
    const contentsOf = (c: CheckedCommit) => {
      let p = contents.get(c.commit.sha);
      if (!p) {
        // Every plan of a commit uses a subset of the files that apply: revert them all once.
        const applying = c.files.filter((f) => f.applies);
        p = limit(() => revertedContents(work, c.commit, applying, timeoutMs));
        contents.set(c.commit.sha, p);
      }
      return p;
    };
    // Files with inline tests: the original's regions, read once (null: none to protect found,
    // so the file is not reverted at all).
    const regionsOf = new Map<
      string,
      Promise<{ text: string; regions: InlineTestRegion[] } | null>
    >();
    const inlineRegions = (path: string) => {
      let p = regionsOf.get(path);
      if (!p) {
        p = (async () => {
          const text = (await work.readFile(path))?.toString('utf8');
          if (text === undefined) return null;
          try {
            const regions = await findInlineTestRegions(path, text);
            return regions.length ? { text, regions } : null;
          } catch {
            return null;
          }
        })();
        regionsOf.set(path, p);
      }
      return p;
    };
    const built = new Map<number, BugCandidate>();
    while (built.size < want && order.length > 0) {
      const wave = order.splice(0, want - built.size);
      await Promise.all(
        wave.map(async (i) => {
          const plan = plans[i]!;
          const all = await contentsOf(plan.checked);
          if (!all) return;
          const edits: Record<string, string | null> = {};
          const trimmedFiles: string[] = [];
          for (const f of plan.files) {
            let after = all.get(f.path) ?? null;
            if (inline.has(f.path)) {
              const o = await inlineRegions(f.path);
              if (!o || after === null) continue;
              after = keepInlineTests(f.path, o.text, after, o.regions);
              if (after === null) continue;
              if (after !== all.get(f.path)) trimmedFiles.push(f.path);
            }
            edits[f.path] = after;
          }
          const files = plan.files.filter((f) => f.path in edits);
          if (files.length === 0) return;
          const first = files[0]!;
          const sha = plan.checked.commit.sha;
          const trimmed = trimmedFiles.length
            ? `; inline tests of ${trimmedFiles.join(', ')} left as they are`
            : '';
          const changedFiles = files.length !== plan.files.length;
          built.set(i, {
            strategy: 'history',
            key: `history:${sha}:${sha256(...files.map((f) => f.path)).slice(0, 12)}`,
            operator:
              changedFiles && plan.operator === 'revert-commit'
                ? 'revert-commit-partial'
                : plan.operator,
            description: `${describe({ ...plan, files })}${trimmed}`,
            edits,
            location: {
              file: first.path,
              line: trimmedFiles.includes(first.path)
                ? firstDifferentLine(
                    (await inlineRegions(first.path))!.text,
                    edits[first.path] ?? '',
                  )
                : locationLine(first, all.get(first.path)),
            },
          });
        }),
      );
    }
    return [...built.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  } finally {
    await work.dispose();
  }
}

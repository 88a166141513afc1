/**
 * Golden-file weakening. A test that compares a program's output with a checked-in file
 * (tests/x.expected) fails on no assertion line: its log shows the comparison instead, as a
 * `set -x` trace (`+ diff /repo/tests/x.expected out/x.out`, `+ cmp ...`, `+ git diff
 * --no-index ...`) or a unified diff's `--- a/...` / `+++ b/...` headers, followed by the diff
 * of the two (normal format `3c3` / `< old` / `---` / `> new`, or unified `@@` hunks). Applying
 * that printed diff to the golden file makes it equal to the actual output: the weakening hides
 * the bug, and its reverse shows the solver the expected output, a good spec.
 *
 * Nothing is guessed: only an oracle file (one of `contents`) is edited, only when the printed
 * diff is complete (every hunk has the lines its header counts, and the log goes on after it: a
 * log cut at the end of a hunk may have lost the next one) and applies exactly, line for line,
 * to the file's current content. Two comparisons that would make one file different are both
 * dropped.
 */

import { normalizeRelative } from '../util/relative-path.js';

export interface GoldenEdit {
  /** The golden file (an oracle path). */
  file: string;
  /** Its content made equal to the actual output. */
  source: string;
  /** The first line of the file the diff changes (1-based, of the content it applied to). */
  line: number;
}

export interface GoldenEdits {
  edits: GoldenEdit[];
  /** Oracle files a comparison names, whose printed diff is missing, incomplete or does not apply. */
  unapplied: string[];
}

export interface GoldenOptions {
  /** The current content of each oracle file that may be edited. */
  contents: ReadonlyMap<string, string>;
  /** The repository root as the tests see it (absolute paths under it are repository files). */
  roots?: readonly string[];
}

/** One hunk: at `oldStart` (1-based), the lines `old` become `new`. */
interface Hunk {
  oldStart: number;
  newStart: number;
  old: string[];
  new: string[];
  /** "\ No newline at end of file" after the old or the new side. */
  oldNoEol: boolean;
  newNoEol: boolean;
}

/** A comparison the log shows: the paths of its two sides, and its diff if one was printed. */
interface Comparison {
  /** Candidate paths of the old (first) side, then of the new side, best first. */
  oldPaths: string[];
  newPaths: string[];
  /** Null: no complete diff followed. */
  hunks: Hunk[] | null;
}

/** A line of a log: its text after the prefix of the comparison's lines (e.g. ctest's `5: `). */
function unprefixed(line: string | undefined, prefix: string): string | null {
  if (line === undefined) return null;
  if (line.startsWith(prefix)) return line.slice(prefix.length);
  // A prefixed empty line may have lost the prefix's trailing space.
  if (prefix && line === prefix.trimEnd()) return '';
  return null;
}

/**
 * A command that compares two files, as a `set -x` trace (`+ diff -u a b`) or echoed (make):
 * the prefix before it (up to 16 characters ending in a space: ctest -V's `5: `), and its two
 * file operands.
 */
const COMPARE_COMMAND =
  /^(|.{0,15}?\s)(?:\++\s+)?(?:\S*\/)?(diff|cmp|git(?:\s+-\S+)*\s+diff)\s+(.*)$/;

/** Words of a shell command line, with '...' and "..." quoting and backslash escapes. */
export function shellWords(text: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
      continue;
    }
    word ??= '';
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        word += text[j];
      }
      if (j >= text.length) return null;
      i = j;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
    } else if (/[|;&<>`$()]/.test(c)) {
      // Redirections, pipes, substitutions: not a plain comparison of two files.
      return null;
    } else word += c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The two files a traced `diff`/`cmp` compares (its last two operands), or null. */
function comparedFiles(command: string, args: string): [string, string] | null {
  const words = shellWords(args);
  if (!words) return null;
  // `diff --git a/x b/x` heads a git diff: its ---/+++ headers name the files.
  if (words.includes('--git')) return null;
  let operands = words.filter((w) => !w.startsWith('-') || w === '-');
  if (/^git\b/.test(command)) operands = operands.filter((w) => w !== 'diff');
  if (operands.length < 2 || operands.includes('-')) return null;
  return [operands.at(-2)!, operands.at(-1)!];
}

const NORMAL_HEADER = /^(\d+)(?:,(\d+))?([acd])(\d+)(?:,(\d+))?$/;
const UNIFIED_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const NO_EOL = /^\\ /;

/** A diff header's path: up to a tab (a timestamp follows), unquoted. */
function headerPath(text: string): string {
  let p = text.split('\t')[0]!.trimEnd();
  if (p.length > 1 && p.startsWith('"') && p.endsWith('"')) {
    p = p.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return p;
}

/**
 * The normal-format diff starting at `lines[at]`: its hunks and the index after it, or null
 * when a hunk is incomplete.
 */
function parseNormal(
  lines: string[],
  at: number,
  prefix: string,
): { hunks: Hunk[]; end: number } | null {
  const hunks: Hunk[] = [];
  let i = at;
  for (;;) {
    const m = NORMAL_HEADER.exec(unprefixed(lines[i], prefix) ?? '');
    if (!m) break;
    i++;
    const l1 = Number(m[1]);
    const l2 = m[2] ? Number(m[2]) : l1;
    const r1 = Number(m[4]);
    const r2 = m[5] ? Number(m[5]) : r1;
    const op = m[3]!;
    const oldCount = op === 'a' ? 0 : l2 - l1 + 1;
    const newCount = op === 'd' ? 0 : r2 - r1 + 1;
    if (oldCount < 0 || newCount < 0) return null;
    const side = (mark: string, count: number) => {
      const out: string[] = [];
      for (let k = 0; k < count; k++, i++) {
        const t = unprefixed(lines[i], prefix);
        if (t === null || !t.startsWith(mark)) return null;
        // `< ` + the line; a log may have dropped the space of an empty line.
        if (t.length > 1 && t[1] !== ' ') return null;
        out.push(t.slice(2));
      }
      let noEol = false;
      if (count && NO_EOL.test(unprefixed(lines[i], prefix) ?? '')) {
        noEol = true;
        i++;
      }
      return { out, noEol };
    };
    const o = side('<', oldCount);
    if (!o) return null;
    if (op === 'c') {
      if (unprefixed(lines[i], prefix) !== '---') return null;
      i++;
    }
    const n = side('>', newCount);
    if (!n) return null;
    hunks.push({
      oldStart: op === 'a' ? l1 + 1 : l1,
      newStart: op === 'd' ? r1 + 1 : r1,
      old: o.out,
      new: n.out,
      oldNoEol: o.noEol,
      newNoEol: n.noEol,
    });
  }
  return hunks.length ? { hunks, end: i } : null;
}

/** The unified diff's hunks starting at `lines[at]` (the first `@@`), or null when incomplete. */
function parseUnified(
  lines: string[],
  at: number,
  prefix: string,
): { hunks: Hunk[]; end: number } | null {
  const hunks: Hunk[] = [];
  let i = at;
  for (;;) {
    const m = UNIFIED_HEADER.exec(unprefixed(lines[i], prefix) ?? '');
    if (!m) break;
    i++;
    const oldCount = m[2] === undefined ? 1 : Number(m[2]);
    const newCount = m[4] === undefined ? 1 : Number(m[4]);
    const hunk: Hunk = {
      oldStart: oldCount === 0 ? Number(m[1]) + 1 : Number(m[1]),
      newStart: newCount === 0 ? Number(m[3]) + 1 : Number(m[3]),
      old: [],
      new: [],
      oldNoEol: false,
      newNoEol: false,
    };
    let last = '';
    while (hunk.old.length < oldCount || hunk.new.length < newCount) {
      const t = unprefixed(lines[i], prefix);
      if (t === null) return null;
      i++;
      // A context line that lost its leading space (a log that trims lines).
      const mark = t === '' ? ' ' : t[0]!;
      const text = t.slice(1);
      if (mark === '\\') {
        if (last === '-' || last === ' ') hunk.oldNoEol = true;
        if (last === '+' || last === ' ') hunk.newNoEol = true;
        continue;
      }
      if (mark === ' ') {
        hunk.old.push(text);
        hunk.new.push(text);
      } else if (mark === '-') hunk.old.push(text);
      else if (mark === '+') hunk.new.push(text);
      else return null;
      last = mark;
      if (hunk.old.length > oldCount || hunk.new.length > newCount) return null;
    }
    if (NO_EOL.test(unprefixed(lines[i], prefix) ?? '')) {
      if (last === '-' || last === ' ') hunk.oldNoEol = true;
      if (last === '+' || last === ' ') hunk.newNoEol = true;
      i++;
    }
    hunks.push(hunk);
  }
  return hunks.length ? { hunks, end: i } : null;
}

/** The comparisons a log shows, in order. */
export function findComparisons(log: string): Comparison[] {
  const lines = log.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.at(-1) === '') lines.pop();
  const out: Comparison[] = [];
  /** The last traced comparison: it names the files of a diff that starts within 5 lines. */
  let pending: { files: [string, string]; prefix: string; line: number } | null = null;
  /** A parsed diff, complete only if the log goes on after it (else it may have been cut). */
  const complete = (parsed: { hunks: Hunk[]; end: number } | null) =>
    parsed && parsed.end < lines.length ? parsed : null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trace = COMPARE_COMMAND.exec(line);
    if (trace) {
      const files = comparedFiles(trace[2]!, trace[3]!);
      if (files) {
        if (pending)
          out.push({ oldPaths: [pending.files[0]], newPaths: [pending.files[1]], hunks: null });
        pending = { files, prefix: trace[1]!, line: i };
        continue;
      }
    }
    const near = pending && i - pending.line <= 5 ? pending : null;
    // A unified diff: --- old, +++ new, then @@ hunks (its prefix is the --- line's).
    const dashes = /^(|.{0,15}?\s)--- (.+)$/.exec(line);
    if (dashes) {
      const prefix = near?.prefix ?? dashes[1]!;
      const old = unprefixed(line, prefix);
      const plus = unprefixed(lines[i + 1], prefix);
      if (
        old?.startsWith('--- ') &&
        plus?.startsWith('+++ ') &&
        UNIFIED_HEADER.test(unprefixed(lines[i + 2], prefix) ?? '')
      ) {
        const parsed = complete(parseUnified(lines, i + 2, prefix));
        const strip = (p: string) => [p, p.replace(/^[ab]\//, '')];
        out.push({
          oldPaths: [...(near ? [near.files[0]] : []), ...strip(headerPath(old.slice(4)))],
          newPaths: [...(near ? [near.files[1]] : []), ...strip(headerPath(plus.slice(4)))],
          hunks: parsed?.hunks ?? null,
        });
        pending = null;
        if (parsed) i = parsed.end - 1;
        continue;
      }
    }
    if (near) {
      const t = unprefixed(line, near.prefix);
      if (t !== null && NORMAL_HEADER.test(t)) {
        const parsed = complete(parseNormal(lines, i, near.prefix));
        out.push({
          oldPaths: [near.files[0]],
          newPaths: [near.files[1]],
          hunks: parsed?.hunks ?? null,
        });
        pending = null;
        if (parsed) i = parsed.end - 1;
      }
    }
  }
  if (pending)
    out.push({ oldPaths: [pending.files[0]], newPaths: [pending.files[1]], hunks: null });
  return out;
}

/**
 * The oracle file a path printed by a test names: an absolute path under a root is
 * repository-relative; a relative one is relative to the repository root or to a test's source
 * folder (the one oracle file whose path ends with it; leading `../` are dropped, the test ran
 * in some build folder). Null for anything else (outside the repository, not oracle, several).
 */
function resolveOracle(path: string, oracle: string[], roots: readonly string[]): string | null {
  if (path.startsWith('/')) {
    for (const root of roots) {
      const r = root.replace(/\/+$/, '');
      if (!r || !path.startsWith(`${r}/`)) continue;
      const rel = normalizeRelative(path.slice(r.length + 1));
      if (rel && oracle.includes(rel)) return rel;
    }
    return null;
  }
  const rel = normalizeRelative(path.replace(/^(\.\.\/)+/, ''));
  if (!rel) return null;
  if (!path.startsWith('../') && oracle.includes(rel)) return rel;
  const hits = oracle.filter((f) => f.endsWith(`/${rel}`) || (path.startsWith('../') && f === rel));
  return hits.length === 1 ? hits[0]! : null;
}

/** `text` with `hunks` applied exactly (no offset, no fuzz), or null when they do not apply. */
export function applyHunks(text: string, hunks: readonly Hunk[]): string | null {
  const lines = text === '' ? [] : text.split('\n');
  let finalNewline = true;
  if (lines.length) {
    if (lines.at(-1) === '') lines.pop();
    else finalNewline = false;
  }
  const out: string[] = [];
  let next = 1; // the next original line to copy
  let delta = 0;
  let newFinalNewline = finalNewline;
  for (const h of hunks) {
    if (h.oldStart < next || h.newStart !== h.oldStart + delta) return null;
    const end = h.oldStart - 1 + h.old.length;
    if (end > lines.length) return null;
    for (let k = 0; k < h.old.length; k++) if (lines[h.oldStart - 1 + k] !== h.old[k]) return null;
    const atEnd = end === lines.length;
    if (h.oldNoEol && (!atEnd || finalNewline)) return null;
    if (atEnd && lines.length && !finalNewline && !h.oldNoEol) return null;
    if (h.newNoEol && !atEnd) return null;
    out.push(...lines.slice(next - 1, h.oldStart - 1), ...h.new);
    next = end + 1;
    delta += h.new.length - h.old.length;
    if (atEnd) newFinalNewline = h.new.length ? !h.newNoEol : true;
  }
  out.push(...lines.slice(next - 1));
  if (!out.length) return '';
  return out.join('\n') + (newFinalNewline ? '\n' : '');
}

/** Each hunk with its sides swapped (the diff printed the other way round). */
function reversed(hunks: readonly Hunk[]): Hunk[] {
  return hunks.map((h) => ({
    oldStart: h.newStart,
    newStart: h.oldStart,
    old: h.new,
    new: h.old,
    oldNoEol: h.newNoEol,
    newNoEol: h.oldNoEol,
  }));
}

/**
 * The golden files the log shows compared with a test's actual output, each with the printed
 * diff applied (the file made equal to the output). The golden file is the comparison's first
 * path; when only its second path is an oracle file (`diff actual expected`), the diff is
 * applied the other way round.
 */
export function goldenFileEdits(log: string, opts: GoldenOptions): GoldenEdits {
  const oracle = [...opts.contents.keys()];
  const roots = opts.roots ?? ['/repo'];
  const found = new Map<string, GoldenEdit | null>();
  const unapplied = new Set<string>();
  for (const c of findComparisons(log)) {
    const resolve = (paths: string[]) =>
      paths.map((p) => resolveOracle(p, oracle, roots)).find((f) => f !== null) ?? null;
    let file = resolve(c.oldPaths);
    let hunks = c.hunks;
    if (!file) {
      file = resolve(c.newPaths);
      if (file && hunks) hunks = reversed(hunks);
    }
    if (!file) continue;
    const source = hunks ? applyHunks(opts.contents.get(file)!, hunks) : null;
    if (source === null || source === opts.contents.get(file)) {
      unapplied.add(file);
      continue;
    }
    const edit = { file, source, line: hunks![0]!.oldStart };
    const before = found.get(file);
    // Two comparisons of one file that disagree: no guess which one to follow.
    if (before === undefined) found.set(file, edit);
    else if (before !== null && before.source !== source) found.set(file, null);
  }
  const edits = [...found.values()].filter((e): e is GoldenEdit => e !== null);
  for (const e of edits) unapplied.delete(e.file);
  return { edits, unapplied: [...unapplied].filter((f) => !found.get(f)) };
}

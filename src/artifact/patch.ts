/**
 * A strict reader of git-style unified diffs. It exists so every artifact diff is checked
 * before anything applies it: which paths it touches, whether it is binary, what modes it
 * sets, and whether its hunks are well formed. It never applies anything itself.
 */

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

export interface FilePatch {
  /** Repo-relative path before the change; null for a new file. */
  oldPath: string | null;
  /** Repo-relative path after the change; null for a deleted file. */
  newPath: string | null;
  oldMode?: string;
  newMode?: string;
  binary: boolean;
  rename: boolean;
  copy: boolean;
  hunks: Hunk[];
  added: number;
  removed: number;
  /** The exact text of this file's section, so a diff can be split by file and reassembled. */
  raw: string;
}

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

/** Undoes git's C-style quoting of a path ("a/caf\303\251" -> a/café). */
function unquote(s: string): string {
  if (!s.startsWith('"')) return s;
  if (!s.endsWith('"') || s.length < 2) throw new PatchError(`badly quoted path: ${s}`);
  const bytes: number[] = [];
  const body = s.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = body[++i];
    if (n === undefined) throw new PatchError(`badly quoted path: ${s}`);
    const simple: Record<string, number> = {
      n: 10,
      t: 9,
      '"': 34,
      '\\': 92,
      a: 7,
      b: 8,
      f: 12,
      r: 13,
      v: 11,
    };
    if (n in simple) bytes.push(simple[n]!);
    else if (/[0-7]/.test(n)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new PatchError(`badly quoted path: ${s}`);
      bytes.push(Number.parseInt(oct, 8));
      i += 2;
    } else throw new PatchError(`badly quoted path: ${s}`);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Path from a ---/+++ line: strips the a/ or b/ prefix; null for /dev/null. */
function headerPath(raw: string, prefix: 'a/' | 'b/', lineNo: number): string | null {
  // A tab separates an optional timestamp (diff -u style).
  let p = raw.startsWith('"') ? raw : raw.split('\t')[0]!.trimEnd();
  p = unquote(p);
  if (p === '/dev/null') return null;
  if (!p.startsWith(prefix)) {
    throw new PatchError(
      `line ${lineNo}: path "${p}" must start with ${prefix} (git diff format, applied with -p1)`,
    );
  }
  return p.slice(prefix.length);
}

function splitGitHeader(rest: string): [string, string] | null {
  if (rest.startsWith('"')) {
    const m = /^("(?:[^"\\]|\\.)*")\s+(.*)$/.exec(rest);
    if (!m) return null;
    return [unquote(m[1]!), unquote(m[2]!)];
  }
  // Unquoted: "a/x b/x"; with spaces in names the two halves are equal, which finds the split.
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest[half] === ' ') {
    const a = rest.slice(0, half);
    const b = rest.slice(half + 1);
    if (a.slice(2) === b.slice(2)) return [a, b];
  }
  // Only the new name needs quoting (e.g. a rename to a non-ASCII name): a/x "b/caf\303\251".
  const q = rest.lastIndexOf(' "b/');
  if (q >= 0 && rest.endsWith('"')) return [rest.slice(0, q), unquote(rest.slice(q + 1))];
  const idx = rest.indexOf(' b/');
  if (idx < 0) return null;
  return [rest.slice(0, idx), unquote(rest.slice(idx + 1))];
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

export function parsePatch(text: string, label = 'diff'): FilePatch[] {
  if (text.includes('\0')) throw new PatchError(`${label} contains NUL bytes (binary data)`);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const files: FilePatch[] = [];
  let cur: FilePatch | null = null;
  let startLine = 0;
  const close = (endIdx: number) => {
    if (!cur) return;
    cur.raw = `${lines.slice(startLine, endIdx).join('\n')}\n`;
    if (
      !cur.binary &&
      cur.hunks.length === 0 &&
      cur.oldPath === cur.newPath &&
      !cur.oldMode &&
      !cur.newMode
    ) {
      if (!cur.rename && !cur.copy) {
        throw new PatchError(
          `${label}: file section for ${cur.newPath ?? cur.oldPath} has no changes`,
        );
      }
    }
    files.push(cur);
    cur = null;
  };
  const fresh = (): FilePatch => ({
    oldPath: null,
    newPath: null,
    binary: false,
    rename: false,
    copy: false,
    hunks: [],
    added: 0,
    removed: 0,
    raw: '',
  });

  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    if (line.startsWith('diff --git ')) {
      close(i);
      cur = fresh();
      startLine = i;
      const pair = splitGitHeader(line.slice('diff --git '.length));
      if (!pair) throw new PatchError(`${label} line ${lineNo}: cannot read paths in "${line}"`);
      cur.oldPath = headerPath(pair[0], 'a/', lineNo);
      cur.newPath = headerPath(pair[1], 'b/', lineNo);
      i++;
      continue;
    }
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      if (!cur || cur.hunks.length > 0) {
        close(i);
        cur = fresh();
        startLine = i;
      }
      const oldP = headerPath(line.slice(4), 'a/', lineNo);
      const newP = headerPath(lines[i + 1]!.replace(/\r$/, '').slice(4), 'b/', lineNo + 1);
      cur.oldPath = oldP;
      cur.newPath = newP;
      i += 2;
      continue;
    }
    if (cur && cur.hunks.length === 0) {
      const ext = /^(old mode|new mode|deleted file mode|new file mode) (\d+)$/.exec(line);
      if (ext) {
        if (ext[1] === 'old mode' || ext[1] === 'deleted file mode') cur.oldMode = ext[2];
        else cur.newMode = ext[2];
        if (ext[1] === 'deleted file mode') cur.newPath = null;
        if (ext[1] === 'new file mode') cur.oldPath = null;
        i++;
        continue;
      }
      // These name both paths unambiguously (the diff --git line cannot when a name has " b/").
      const rc = /^(rename|copy) (from|to) (.+)$/.exec(line);
      if (rc) {
        if (rc[1] === 'rename') cur.rename = true;
        else cur.copy = true;
        if (rc[2] === 'from') cur.oldPath = unquote(rc[3]!);
        else cur.newPath = unquote(rc[3]!);
        i++;
        continue;
      }
      if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
        cur.binary = true;
        i++;
        continue;
      }
      if (/^(index |similarity index |dissimilarity index )/.test(line)) {
        i++;
        continue;
      }
    }
    const hm = HUNK_RE.exec(line);
    if (hm) {
      if (!cur) throw new PatchError(`${label} line ${lineNo}: hunk before any file header`);
      const hunk: Hunk = {
        oldStart: Number(hm[1]),
        oldLines: hm[2] === undefined ? 1 : Number(hm[2]),
        newStart: Number(hm[3]),
        newLines: hm[4] === undefined ? 1 : Number(hm[4]),
        lines: [],
      };
      let needOld = hunk.oldLines;
      let needNew = hunk.newLines;
      i++;
      while (needOld > 0 || needNew > 0 || lines[i]?.startsWith('\\')) {
        const l = lines[i];
        if (l === undefined) {
          throw new PatchError(
            `${label}: hunk at line ${lineNo} (${cur.newPath ?? cur.oldPath}) is truncated: ` +
              `${needOld} old and ${needNew} new lines missing`,
          );
        }
        const c = l[0];
        if (c === ' ' || l === '' || l === '\r') {
          needOld--;
          needNew--;
        } else if (c === '-') {
          needOld--;
          cur.removed++;
        } else if (c === '+') {
          needNew--;
          cur.added++;
        } else if (c !== '\\') {
          throw new PatchError(
            `${label} line ${i + 1}: hunk at line ${lineNo} (${cur.newPath ?? cur.oldPath}) ` +
              `does not match its header (${needOld} old / ${needNew} new lines still expected)`,
          );
        }
        if (needOld < 0 || needNew < 0) {
          throw new PatchError(
            `${label}: hunk at line ${lineNo} has more lines than its header says`,
          );
        }
        hunk.lines.push(l);
        i++;
      }
      cur.hunks.push(hunk);
      continue;
    }
    if (cur && cur.hunks.length > 0 && /^[ +-]/.test(line) && line !== '-- ') {
      // Change lines right after a complete hunk mean its header undercounts them.
      throw new PatchError(
        `${label} line ${lineNo}: change line outside any hunk (a hunk header counts too few lines?)`,
      );
    }
    i++;
  }
  close(lines.length);
  if (files.length === 0) throw new PatchError(`${label} contains no file changes`);
  return files;
}

/** Every repo-relative path a patch reads or writes. */
export function touchedPaths(files: FilePatch[]): string[] {
  const out = new Set<string>();
  for (const f of files) {
    if (f.oldPath) out.add(f.oldPath);
    if (f.newPath) out.add(f.newPath);
  }
  return [...out].sort();
}

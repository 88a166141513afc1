import { readFileSync, readlinkSync } from 'node:fs';
import { structuredPatch } from 'diff';
import type { Entry, LayerStack } from './layers.js';

interface Side {
  mode: '100644' | '100755' | '120000';
  data: Buffer;
}

/** Paths no diff should contain: VCS metadata and caches that running tests leaves behind. */
export function isNoisePath(rel: string): boolean {
  const parts = rel.split('/');
  if (parts[0] === '.git') return true;
  if (parts.includes('__pycache__') || parts.includes('.pytest_cache')) return true;
  if (rel.endsWith('.pyc')) return true;
  if (parts[0] === 'node_modules' && parts[1] === '.cache') return true;
  return false;
}

function side(e: Entry | null): Side | null {
  if (!e || e.kind === 'dir') return null;
  if (e.kind === 'symlink') return { mode: '120000', data: Buffer.from(readlinkSync(e.hostPath)) };
  return {
    mode: e.stat.mode & 0o111 ? '100755' : '100644',
    data: readFileSync(e.hostPath),
  };
}

function isBinary(b: Buffer): boolean {
  return b.subarray(0, 8000).includes(0);
}

/** Quotes a path the way git does when it holds characters a diff header cannot carry raw. */
export function quoteGitPath(p: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  if (!/["\\\x00-\x1f\x7f]|[^\x00-\x7f]/.test(p)) return p;
  let out = '"';
  for (const byte of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\t') out += '\\t';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

function prefixed(prefix: string, p: string): string {
  return quoteGitPath(`${prefix}${p}`);
}

/** One file's section of a git-style diff (`git apply` reads it back exactly). */
export function formatFileDiff(path: string, before: Side | null, after: Side | null): string {
  if (!before && !after) return '';
  if (
    before &&
    after &&
    before.mode !== after.mode &&
    (before.mode === '120000' || after.mode === '120000')
  ) {
    // A file became a symlink or back: git shows a deletion and an addition.
    return formatFileDiff(path, before, null) + formatFileDiff(path, null, after);
  }
  const a = prefixed('a/', path);
  const b = prefixed('b/', path);
  const head = [`diff --git ${a} ${b}`];
  if (!before) head.push(`new file mode ${after!.mode}`);
  else if (!after) head.push(`deleted file mode ${before.mode}`);
  else if (before.mode !== after.mode)
    head.push(`old mode ${before.mode}`, `new mode ${after.mode}`);

  const oldData = before?.data ?? Buffer.alloc(0);
  const newData = after?.data ?? Buffer.alloc(0);
  if (before && after && oldData.equals(newData)) return `${head.join('\n')}\n`;
  if (isBinary(oldData) || isBinary(newData)) {
    head.push(`Binary files ${before ? a : '/dev/null'} and ${after ? b : '/dev/null'} differ`);
    return `${head.join('\n')}\n`;
  }
  if (oldData.length === 0 && newData.length === 0) return `${head.join('\n')}\n`;
  head.push(`--- ${before ? a : '/dev/null'}`, `+++ ${after ? b : '/dev/null'}`);
  const patch = structuredPatch(
    path,
    path,
    oldData.toString('utf8'),
    newData.toString('utf8'),
    '',
    '',
    {
      context: 3,
    },
  );
  const body: string[] = [];
  for (const h of patch.hunks) {
    // git numbers an empty range by the line before it.
    const oldStart = h.oldLines === 0 ? h.oldStart - 1 : h.oldStart;
    const newStart = h.newLines === 0 ? h.newStart - 1 : h.newStart;
    body.push(`@@ -${oldStart},${h.oldLines} +${newStart},${h.newLines} @@`, ...h.lines);
  }
  return `${[...head, ...body].join('\n')}\n`;
}

/** Git-style diff from `base` to `current` over the candidate paths, sorted by path. */
export function diffStacks(
  base: LayerStack,
  current: LayerStack,
  candidates: Iterable<string>,
): string {
  const paths = [...new Set(candidates)].filter((p) => !isNoisePath(p)).sort();
  let out = '';
  for (const p of paths) {
    const before = side(base.resolve(p));
    const after = side(current.resolve(p));
    if (!before && !after) continue;
    if (before && after && before.mode === after.mode && before.data.equals(after.data)) continue;
    out += formatFileDiff(p, before, after);
  }
  return out;
}

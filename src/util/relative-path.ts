/** `a/./b/../c` -> `a/c` (a leading `/` is dropped); null when it leaves its root. */
export function normalizeRelative(p: string): string | null {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!out.length) return null;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

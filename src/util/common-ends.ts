/**
 * The lengths of the common prefix and suffix of two line lists (never overlapping): what a
 * single edit leaves unchanged, so only the middle needs looking at.
 */
export function commonEnds<T>(a: readonly T[], b: readonly T[]): { pre: number; suf: number } {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  )
    suf++;
  return { pre, suf };
}

/** Default budget of a tool's output, in characters. */
export const DEFAULT_OUTPUT_BUDGET = 16 * 1024;

export function omittedNote(n: number): string {
  return `[... ${n} characters omitted ...]`;
}

/**
 * `head` + `tail` (+ `dropped` characters known to be missing between them) cut to `budget`
 * characters: the beginning and the end are kept, and one note says how much is gone.
 */
export function headTail(head: string, tail: string, dropped: number, budget: number): string {
  const total = head.length + tail.length;
  if (dropped === 0 && total <= budget) return head + tail;
  const headBudget = Math.ceil(budget / 2);
  const tailBudget = budget - headBudget;
  // Whichever part is short leaves its room to the other.
  let keepHead = Math.min(head.length, headBudget + Math.max(0, tailBudget - tail.length));
  let keepTail = Math.min(tail.length, tailBudget + Math.max(0, headBudget - head.length));
  if (dropped === 0 && keepHead === head.length && keepTail === tail.length) return head + tail;
  keepHead = Math.max(0, keepHead);
  keepTail = Math.max(0, keepTail);
  const omitted = head.length - keepHead + dropped + (tail.length - keepTail);
  const h = head.slice(0, keepHead);
  const t = keepTail > 0 ? tail.slice(tail.length - keepTail) : '';
  const sepBefore = h === '' || h.endsWith('\n') ? '' : '\n';
  const sepAfter = t === '' || t.startsWith('\n') ? '' : '\n';
  return `${h}${sepBefore}${omittedNote(omitted)}${sepAfter}${t}`;
}

/** `text` cut to `budget` characters, keeping its head and tail. */
export function truncateMiddle(text: string, budget = DEFAULT_OUTPUT_BUDGET): string {
  if (text.length <= budget) return text;
  const headBudget = Math.ceil(budget / 2);
  return headTail(text.slice(0, headBudget), text.slice(headBudget), 0, budget);
}

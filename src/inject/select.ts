/**
 * What the AST generators share: options, one-edit candidates, stable keys, coverage
 * filtering, seeded sampling and the syntax check of every edited source.
 */
import { editChecker, type ParsedFile } from './ast.js';
import type { BugCandidate, Strategy } from './types.js';

export interface GeneratorOptions {
  /**
   * Whether the tests execute a line (repo-relative file, 1-based line). When given, only
   * candidates that edit covered code are produced: a bug no test executes cannot be found.
   */
  covered?: (file: string, line: number) => boolean;
  /** Seed for sampling (default 0). */
  seed?: number;
  /** At most this many candidates, sampled with `seed` across operators. */
  max?: number;
}

/** One replacement of [start, end) in the source. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** A candidate before keys, coverage and the syntax check. */
export interface RawCandidate {
  operator: string;
  description: string;
  edit: TextEdit;
  /** Line reported in location and key (1-based). */
  line: number;
  /** The edit matters only if the tests execute one of these lines. */
  probeLines: number[];
}

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * A seeded order that spreads over groups: each group is shuffled, the groups are visited in
 * a shuffled order, one item from each in turn. Sampling the first n then gives every
 * operator a fair share instead of the most frequent one (number literals) taking all.
 */
export function interleaveShuffled<T>(
  items: readonly T[],
  groupOf: (item: T) => string,
  seed: number,
): T[] {
  const random = mulberry32(seed);
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const g = groupOf(item);
    const list = groups.get(g);
    if (list) list.push(item);
    else groups.set(g, [item]);
  }
  const names = shuffled([...groups.keys()].sort(), random);
  const queues = names.map((n) => shuffled(groups.get(n)!, random));
  const out: T[] = [];
  for (let round = 0; out.length < items.length; round++) {
    for (const q of queues) if (round < q.length) out.push(q[round]!);
  }
  return out;
}

export function applyEdit(source: string, edit: TextEdit): string {
  return source.slice(0, edit.start) + edit.text + source.slice(edit.end);
}

function compareRaw(a: RawCandidate, b: RawCandidate): number {
  return (
    a.line - b.line ||
    (a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0) ||
    a.edit.start - b.edit.start ||
    a.edit.end - b.edit.end ||
    (a.edit.text < b.edit.text ? -1 : a.edit.text > b.edit.text ? 1 : 0)
  );
}

/**
 * Turns raw candidates of one file into BugCandidates: stable order and keys (computed over
 * all raw candidates, so they do not depend on coverage or sampling), the coverage filter,
 * seeded sampling, and a re-parse of each edited source, keeping only those without syntax
 * errors. With `max`, candidates are checked in sampled order until `max` are found.
 */
export async function finishCandidates(
  strategy: Strategy,
  parsed: ParsedFile,
  raw: RawCandidate[],
  opts: GeneratorOptions,
): Promise<BugCandidate[]> {
  const { file, source } = parsed;
  const sorted = [...raw].sort(compareRaw);
  // Drop exact duplicates (two rules producing the same edit).
  const seen = new Set<string>();
  const unique = sorted.filter((c) => {
    const id = `${c.edit.start}:${c.edit.end}:${c.edit.text}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const counters = new Map<string, number>();
  let keyed = unique.map((c) => {
    const base = `${strategy}:${file}:${c.line}:${c.operator}`;
    const index = counters.get(base) ?? 0;
    counters.set(base, index + 1);
    return { c, key: `${base}:${index}` };
  });
  const covered = opts.covered;
  if (covered) keyed = keyed.filter(({ c }) => c.probeLines.some((l) => covered(file, l)));
  const sampling = opts.max !== undefined || opts.seed !== undefined;
  if (sampling) keyed = interleaveShuffled(keyed, ({ c }) => c.operator, opts.seed ?? 0);
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  const checker = await editChecker(parsed);
  const out: BugCandidate[] = [];
  try {
    for (const { c, key } of keyed) {
      if (out.length >= max) break;
      const { start, end, text } = c.edit;
      if (source.slice(start, end) === text || !checker.check(start, end, text)) continue;
      out.push({
        strategy,
        key,
        operator: c.operator,
        description: c.description,
        edits: { [file]: applyEdit(source, c.edit) },
        location: { file, line: c.line },
      });
    }
  } finally {
    checker.dispose();
  }
  return out;
}

/** A short, one-line rendering of code for descriptions. */
export function snippet(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}

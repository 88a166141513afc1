/** Solver reward (SSR-SPEC 4): binary. */
export function solverReward(solved: boolean): 1 | -1 {
  return solved ? 1 : -1;
}

/**
 * Injector reward (SSR-SPEC 5): -1 for an artifact that fails validation; for a valid one with
 * solve rate s, -alpha when s is 0 (unsolvable) or 1 (too easy), else 1 - (1 + alpha) s, which
 * pays most for bugs that are hard but solvable.
 */
export function injectorReward(valid: boolean, solveRate: number | null, alpha: number): number {
  if (!valid) return -1;
  if (solveRate === null) throw new Error('a valid artifact is rewarded by its solve rate');
  if (solveRate <= 0 || solveRate >= 1) return -alpha;
  return 1 - (1 + alpha) * solveRate;
}

/** Ten bins [0,0.1), ..., [0.9,1.0]: the solve-rate histogram of a step. */
export function solveRateHistogram(rates: number[]): number[] {
  const bins = new Array<number>(10).fill(0);
  for (const s of rates) bins[Math.min(9, Math.floor(s * 10))]! += 1;
  return bins;
}

import {
  type EpisodeRecordV1,
  isErrorEpisode,
  type RunStore,
  type StepMetrics,
} from '../store/run-store.js';
import { solveRateHistogram } from './rewards.js';

const mean = (xs: number[]): number | null =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;

/** A step's figures, from its records alone (so a resumed step reports the same). */
export function stepMetrics(store: RunStore, step: number, timeMs: number): StepMetrics {
  const all = store.episodesWithRewards().filter((e) => e.step === step);
  // Model and infrastructure failures say nothing about the policy: left out of every figure.
  const episodes = all.filter((e) => !isErrorEpisode(e));
  const errors = all.length - episodes.length;
  const injections = episodes.filter((e) => e.role === 'injector');
  const solvers = episodes.filter((e) => e.role === 'solver');
  const artifacts = store.artifacts().filter((a) => a.step === step);
  const rates = store.solveRates().filter((r) => r.step === step);
  const valid = injections.filter((e) => e.outcome === 'valid').length;
  const failures: Record<string, number> = {};
  for (const e of injections) {
    if (e.outcome === 'valid') continue;
    const f = e.failedCheck;
    const k = f
      ? `${f.id} ${f.name}`
      : e.outcome === 'no-artifact'
        ? 'no artifact written'
        : e.outcome;
    failures[k] = (failures[k] ?? 0) + 1;
  }
  const ho = artifacts.filter((a) => a.source === 'higher-order');
  const hoIds = new Set(
    store
      .artifacts()
      .filter((a) => a.source === 'higher-order')
      .map((a) => a.id),
  );
  const rewards = (xs: EpisodeRecordV1[]) =>
    mean(xs.map((e) => e.reward).filter((r): r is number => r !== null));
  return {
    step,
    injections: injections.length,
    validArtifacts: valid,
    validRate: injections.length ? valid / injections.length : 0,
    artifactsSolved: rates.length,
    meanSolveRate: mean(rates.map((r) => r.solveRate)),
    solveRateHistogram: solveRateHistogram(rates.map((r) => r.solveRate)),
    meanReward: { injector: rewards(injections), solver: rewards(solvers) },
    higherOrder: {
      made: ho.filter((a) => !a.id.includes('-ho-none-')).length,
      valid: ho.filter((a) => a.valid).length,
      attempted: rates.filter((r) => hoIds.has(r.artifactId)).length,
    },
    failures,
    ...(errors ? { errors } : {}),
    tokens: {
      prompt: episodes.reduce((n, e) => n + e.usage.promptTokens, 0),
      completion: episodes.reduce((n, e) => n + e.usage.completionTokens, 0),
    },
    episodes: { injector: injections.length, solver: solvers.length },
    timeMs: Math.round(timeMs),
    finishedAt: new Date().toISOString(),
  };
}

import { basename } from 'node:path';
import type { Trajectory } from '../agent/loop.js';
import type { ToolSpec } from '../agent/types.js';
import {
  type EpisodeRecordV1,
  episodePolicy,
  isErrorEpisode,
  type RunStore,
} from '../store/run-store.js';
import {
  type OpenAIMessage,
  type OpenAITool,
  type TokenColumns,
  tokenColumns,
  toOpenAIMessage,
  toOpenAITool,
} from './openai.js';

/** One finished episode, flattened for trainers (snake_case: what Python readers expect). */
export interface ExportRow extends TokenColumns {
  episode_id: string;
  /** The run directory's name, so exports of several runs can be concatenated. */
  run: string;
  step: number;
  role: 'injector' | 'solver';
  repo: string;
  artifact_id: string | null;
  group_id: string;
  /** Episodes of the group with a final reward: the population the advantage is taken over. */
  group_size: number;
  attempt: number | null;
  strategy: string | null;
  outcome: string;
  /** Final reward; null only for a pending injection exported with `includePending`. */
  reward: number | null;
  /** A convenience, see {@link groupAdvantages}; null when the reward is. */
  advantage: number | null;
  end_reason: string;
  turns: number;
  prompt_tokens: number;
  completion_tokens: number;
  model: string;
  /**
   * The model the inference server reported for the episode (its last call), and the policy
   * version in force when it was sampled (`--policy-version`, or the trainer's policy file in a
   * `--sync file` run): null when unknown, e.g. runs written before they were recorded.
   */
  policy_model: string | null;
  policy_version: string | null;
  /** The whole conversation in chat-completions shape; null when no trajectory was kept. */
  messages: OpenAIMessage[] | null;
  tools: OpenAITool[] | null;
}

/**
 * What a trajectory file holds. Every field is optional here: files come from earlier
 * versions and from servers that leave things out, and a missing field becomes a null
 * column rather than a failed export.
 */
export interface TrajectoryFile {
  episodeId?: string;
  role?: string;
  trajectory?: Partial<Trajectory> & { tools?: (ToolSpec | OpenAITool)[] };
  tools?: (ToolSpec | OpenAITool)[];
}

export interface GroupStats {
  size: number;
  mean: number;
  /** Sample standard deviation (n - 1), as TRL's and verl's GRPO use; 0 for one episode. */
  std: number;
}

/**
 * GRPO-style statistics per group over the episodes that have a final reward (episodes that
 * failed on model or infrastructure errors have none, whatever older runs recorded). A
 * convenience: trainers usually recompute advantages their own way (other baselines,
 * no std scaling), which is why the raw reward and group id are exported beside it.
 */
export function groupAdvantages(episodes: readonly EpisodeRecordV1[]): Map<string, GroupStats> {
  const rewards = new Map<string, number[]>();
  for (const e of episodes) {
    if (e.reward === null || isErrorEpisode(e)) continue;
    const list = rewards.get(e.groupId) ?? [];
    list.push(e.reward);
    rewards.set(e.groupId, list);
  }
  const stats = new Map<string, GroupStats>();
  for (const [group, rs] of rewards) {
    const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
    const variance =
      rs.length > 1 ? rs.reduce((a, r) => a + (r - mean) ** 2, 0) / (rs.length - 1) : 0;
    stats.set(group, { size: rs.length, mean, std: Math.sqrt(variance) });
  }
  return stats;
}

export function advantage(reward: number | null, g: GroupStats | undefined): number | null {
  if (reward === null || !g) return null;
  // A tiny std is rounding noise between equal rewards, not a signal worth amplifying.
  return g.std > 1e-12 ? (reward - g.mean) / g.std : 0;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Stable order with each group's episodes together (`a10` after `a9`). */
function byGroup(a: EpisodeRecordV1, b: EpisodeRecordV1): number {
  return (
    a.step - b.step ||
    collator.compare(a.groupId, b.groupId) ||
    (a.attempt ?? -1) - (b.attempt ?? -1) ||
    collator.compare(a.id, b.id)
  );
}

export interface ExportRows extends Iterable<ExportRow> {
  /** Rows the iterator yields. */
  count: number;
  /**
   * Episodes whose reward is not final yet (a valid injection whose solvers have not all
   * finished): left out, or with `includePending` exported with a null reward.
   */
  pending: number;
  /** Grows while iterating: trajectory files named by the journal but absent or unreadable. */
  missingTrajectories: number;
  /**
   * Episodes that failed on model or infrastructure errors (see `isErrorEpisode`): never
   * exported, since they say nothing about the policy; a continued run redoes them.
   */
  errors: number;
}

/**
 * The rows of a run, one per finished episode (errors left out). The journal (small) is read up front to
 * know rewards and groups; trajectory files (large) are read one at a time as the iterator
 * advances, so a consumer that writes each row before pulling the next holds one in memory.
 */
export function exportRows(
  store: RunStore,
  opts: {
    includePending?: boolean;
    /** Only the episodes of this step (the per-step export of `ssr selfplay --sync file`). */
    step?: number;
  } = {},
): ExportRows {
  const all = store
    .episodesWithRewards()
    .filter((e) => opts.step === undefined || e.step === opts.step);
  const episodes = all.filter((e) => !isErrorEpisode(e));
  const groups = groupAdvantages(episodes);
  const kept = episodes.filter((e) => opts.includePending || e.reward !== null).sort(byGroup);
  const run = basename(store.dir);
  const result: ExportRows = {
    count: kept.length,
    pending: episodes.filter((e) => e.reward === null).length,
    missingTrajectories: 0,
    errors: all.length - episodes.length,
    *[Symbol.iterator]() {
      for (const e of kept) {
        const file = e.trajectory ? readTrajectory(store, e.trajectory) : null;
        if (e.trajectory && !file) result.missingTrajectories++;
        yield toRow(e, run, groups.get(e.groupId), file);
      }
    },
  };
  return result;
}

function readTrajectory(store: RunStore, relative: string): TrajectoryFile | null {
  try {
    return store.readJson<TrajectoryFile>(relative);
  } catch {
    // A file lost to a crash before its record was written is impossible (records come
    // after files), but a copied or pruned run can miss some; its row keeps the metadata.
    return null;
  }
}

function toRow(
  e: EpisodeRecordV1,
  run: string,
  group: GroupStats | undefined,
  file: TrajectoryFile | null,
): ExportRow {
  const t = file?.trajectory;
  const tools = file?.tools ?? t?.tools;
  return {
    episode_id: e.id,
    run,
    step: e.step,
    role: e.role,
    repo: e.repo,
    artifact_id: e.artifactId ?? null,
    group_id: e.groupId,
    group_size: group?.size ?? 0,
    attempt: e.role === 'solver' ? (e.attempt ?? null) : null,
    strategy: e.strategy ?? null,
    outcome: e.outcome,
    reward: e.reward,
    advantage: advantage(e.reward, group),
    end_reason: e.endReason,
    turns: e.turns,
    prompt_tokens: e.usage?.promptTokens ?? 0,
    completion_tokens: e.usage?.completionTokens ?? 0,
    model: e.model,
    ...policyColumns(e),
    messages: t?.messages ? t.messages.map(toOpenAIMessage) : null,
    tools: tools?.length ? tools.map(toOpenAITool) : null,
    ...tokenColumns(t?.turns),
  };
}

function policyColumns(e: EpisodeRecordV1): Pick<ExportRow, 'policy_model' | 'policy_version'> {
  const p = episodePolicy(e);
  return { policy_model: p.model, policy_version: p.version };
}

import type { Sandbox } from '../sandbox/types.js';
import { errorMessage } from '../util/errors.js';
import { EditorState, runTool, type Tool, toolSpecs } from './tools/index.js';
import {
  type ChatMessage,
  type ModelClient,
  ModelError,
  type ModelResponse,
  type ToolCall,
  type ToolSpec,
} from './types.js';

export interface EpisodeBudget {
  /** Model turns (SSR-SPEC: 128). */
  maxTurns: number;
  /**
   * Wall time of the whole episode. Each model call gets what is left as its timeout, and each
   * bash command is killed when it runs out; the episode then ends with 'wall-time'.
   */
  wallTimeMs: number;
  /** Completion tokens per model call. */
  maxTokensPerTurn?: number;
  /**
   * Tokens of the whole episode: prompt + completion, summed over its model calls as the server
   * reports them (the `usage` of the trajectory). Ends the episode with 'max-tokens'.
   */
  maxTokens?: number;
  /** Turns in a row without a tool call before the episode ends. */
  maxIdleTurns: number;
}

export const DEFAULT_BUDGET: EpisodeBudget = {
  maxTurns: 128,
  wallTimeMs: 60 * 60_000,
  maxIdleTurns: 3,
};

export type EndReason =
  | 'submitted'
  | 'max-turns'
  | 'max-tokens'
  | 'wall-time'
  | 'idle'
  | 'length'
  | 'context-length'
  | 'model-error'
  | 'aborted';

/**
 * Whether an episode ended because the model could not be used (server errors, unreachable,
 * a model the server does not serve, an unusable response) rather than through anything the
 * policy did. Such an episode says nothing about the policy: it gets no reward, takes no part
 * in solve rates or exports, and is redone when a run is continued. Budgets running out and
 * a model that talks nonsense (malformed calls, no calls, replies cut off) are the policy's
 * own outcomes and are graded as usual.
 */
export function endedOnModelError(t: Pick<Trajectory, 'endReason'>): boolean {
  return t.endReason === 'model-error';
}

/** The model the server reported on the episode's last answered call (null: none answered). */
export function reportedModel(t: Pick<Trajectory, 'turns'>): string | null {
  for (let i = t.turns.length - 1; i >= 0; i--) {
    const model = t.turns[i]!.response?.model;
    if (model) return model;
  }
  return null;
}

export interface ToolExchange {
  call: ToolCall;
  output: string;
  isError: boolean;
  durationMs: number;
}

/** One model call and what followed it: what RL trainers need, token ids and logprobs included. */
export interface TurnRecord {
  index: number;
  response: ModelResponse | null;
  tools: ToolExchange[];
  error?: string;
}

export interface Trajectory {
  messages: ChatMessage[];
  turns: TurnRecord[];
  endReason: EndReason;
  /** A human-readable note on how the episode ended (the model error, the budget hit). */
  endDetail: string;
  submitted: boolean;
  usage: { promptTokens: number; completionTokens: number };
  durationMs: number;
  budget: EpisodeBudget;
  /** The tools as the model saw them: trainers replay the prompt with them. */
  tools: ToolSpec[];
}

export interface EpisodeOptions {
  model: ModelClient;
  sandbox: Sandbox;
  system: string;
  user: string;
  tools: Tool[];
  budget?: Partial<EpisodeBudget>;
  temperature?: number;
  topP?: number;
  signal?: AbortSignal;
}

const NUDGE =
  'No tool was called. Continue by calling exactly one tool (bash, editor or submit); call submit when you are done.';

/** Tokens a response used: the server's usage, else what its token data shows. */
function responseTokens(r: ModelResponse): { prompt: number; completion: number } {
  if (r.usage) return { prompt: r.usage.promptTokens, completion: r.usage.completionTokens };
  return {
    prompt: r.promptTokenIds?.length ?? 0,
    completion: r.completionTokenIds?.length ?? r.logprobs?.length ?? 0,
  };
}

const WALL_TIME = Symbol('wall-time');

/**
 * The tool-calling loop: a linear history, one tool call executed per turn, a budget notice
 * after each observation, and every way an episode can end recorded rather than thrown.
 */
export async function runEpisode(opts: EpisodeOptions): Promise<Trajectory> {
  const started = performance.now();
  const budget: EpisodeBudget = { ...DEFAULT_BUDGET, ...opts.budget };
  const deadline = started + budget.wallTimeMs;
  const timeLeftMs = () => deadline - performance.now();
  const specs = toolSpecs(opts.tools);
  const editor = new EditorState();
  const messages: ChatMessage[] = [
    { role: 'system', content: opts.system },
    { role: 'user', content: opts.user },
  ];
  const turns: TurnRecord[] = [];
  const usage = { promptTokens: 0, completionTokens: 0 };
  const tokensUsed = () => usage.promptTokens + usage.completionTokens;
  const outOfTokens = () => budget.maxTokens !== undefined && tokensUsed() >= budget.maxTokens;
  const tokensEnd = () =>
    end('max-tokens', `token budget of ${budget.maxTokens} used up (${tokensUsed()} tokens)`);
  const wallTimeEnd = (what = '') =>
    end('wall-time', `wall time of ${budget.wallTimeMs} ms used up${what}`);
  let idle = 0;
  const end = (endReason: EndReason, endDetail: string, submitted = false): Trajectory => ({
    messages,
    turns,
    endReason,
    endDetail,
    submitted,
    usage,
    durationMs: Math.round(performance.now() - started),
    budget,
    tools: specs,
  });

  for (let index = 0; index < budget.maxTurns; index++) {
    if (opts.signal?.aborted) return end('aborted', 'stopped by the caller');
    if (timeLeftMs() <= 0) return wallTimeEnd();
    const turn: TurnRecord = { index, response: null, tools: [] };
    turns.push(turn);
    let response: ModelResponse;
    const tokensLeft =
      budget.maxTokens === undefined ? undefined : Math.max(1, budget.maxTokens - tokensUsed());
    const maxTokens =
      tokensLeft === undefined
        ? budget.maxTokensPerTurn
        : Math.min(budget.maxTokensPerTurn ?? tokensLeft, tokensLeft);
    // The call is abandoned (and its request cancelled) when the wall time runs out, even if
    // the client ignores its timeout.
    const pending = new AbortController();
    const stop = () => pending.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const left = Math.max(1, Math.ceil(timeLeftMs()));
      const answer = opts.model.complete({
        messages,
        tools: specs,
        maxTokens,
        temperature: opts.temperature,
        topP: opts.topP,
        signal: pending.signal,
        timeoutMs: left,
      });
      const timeUp = new Promise<typeof WALL_TIME>((resolve) => {
        // setTimeout takes at most 2^31 - 1 ms; a budget beyond that never fires here.
        if (left < 2 ** 31) timer = setTimeout(() => resolve(WALL_TIME), left);
      });
      const first = await Promise.race([answer, timeUp]);
      if (first === WALL_TIME) {
        answer.catch(() => {});
        pending.abort(new Error('wall time used up'));
        turn.error = `no answer before the wall time ran out (${left} ms left at the call)`;
        return wallTimeEnd(' waiting for the model');
      }
      response = first;
    } catch (err) {
      turn.error = errorMessage(err);
      if (opts.signal?.aborted) return end('aborted', 'stopped by the caller');
      // The client's own timeout (the time that was left) fired first.
      if (timeLeftMs() <= 0) return wallTimeEnd(' waiting for the model');
      if (err instanceof ModelError && err.kind === 'context-length') {
        return end('context-length', turn.error);
      }
      return end('model-error', turn.error);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', stop);
    }
    turn.response = response;
    const used = responseTokens(response);
    usage.promptTokens += used.prompt;
    usage.completionTokens += used.completion;
    const calls = response.message.toolCalls ?? [];
    messages.push(response.message);
    if (calls.length === 0) {
      if (outOfTokens()) return tokensEnd();
      if (response.finishReason === 'length') {
        return end('length', 'the model reply was cut off by the token limit without a tool call');
      }
      if (++idle >= budget.maxIdleTurns) {
        return end('idle', `${idle} turns in a row without a tool call`);
      }
      messages.push({ role: 'user', content: NUDGE });
      continue;
    }
    idle = 0;
    const left = budget.maxTurns - index - 1;
    let submitted = false;
    for (const [i, call] of calls.entries()) {
      const t0 = performance.now();
      const result =
        i === 0
          ? await runTool(
              call.name,
              call.arguments,
              { sandbox: opts.sandbox, editor, timeLeftMs },
              opts.tools,
            )
          : {
              output: 'Not run: one tool call per turn; call it again in a later turn.',
              isError: true,
            };
      submitted ||= !!('submitted' in result && result.submitted);
      turn.tools.push({
        call,
        output: result.output,
        isError: result.isError,
        durationMs: Math.round(performance.now() - t0),
      });
      const tokens =
        budget.maxTokens === undefined
          ? ''
          : `, ${Math.max(0, budget.maxTokens - tokensUsed())} token(s)`;
      const notice = `\n\n[${left} turn(s)${tokens} left]`;
      messages.push({ role: 'tool', toolCallId: call.id, content: result.output + notice });
    }
    if (submitted) return end('submitted', 'the agent called submit', true);
    if (outOfTokens()) return tokensEnd();
  }
  return end('max-turns', `all ${budget.maxTurns} turns used`);
}

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
  /** Wall time of the whole episode. */
  wallTimeMs: number;
  /** Completion tokens per model call. */
  maxTokensPerTurn?: number;
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
  | 'wall-time'
  | 'idle'
  | 'length'
  | 'context-length'
  | 'model-error'
  | 'aborted';

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

/**
 * The tool-calling loop: a linear history, one tool call executed per turn, a budget notice
 * after each observation, and every way an episode can end recorded rather than thrown.
 */
export async function runEpisode(opts: EpisodeOptions): Promise<Trajectory> {
  const started = performance.now();
  const budget: EpisodeBudget = { ...DEFAULT_BUDGET, ...opts.budget };
  const specs = toolSpecs(opts.tools);
  const editor = new EditorState();
  const messages: ChatMessage[] = [
    { role: 'system', content: opts.system },
    { role: 'user', content: opts.user },
  ];
  const turns: TurnRecord[] = [];
  const usage = { promptTokens: 0, completionTokens: 0 };
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
    const elapsed = performance.now() - started;
    if (elapsed > budget.wallTimeMs)
      return end('wall-time', `wall time of ${budget.wallTimeMs} ms used up`);
    const turn: TurnRecord = { index, response: null, tools: [] };
    turns.push(turn);
    let response: ModelResponse;
    try {
      response = await opts.model.complete({
        messages,
        tools: specs,
        maxTokens: budget.maxTokensPerTurn,
        temperature: opts.temperature,
        topP: opts.topP,
        signal: opts.signal,
      });
    } catch (err) {
      turn.error = errorMessage(err);
      if (err instanceof ModelError && err.kind === 'context-length') {
        return end('context-length', turn.error);
      }
      return end('model-error', turn.error);
    }
    turn.response = response;
    usage.promptTokens += response.usage?.promptTokens ?? 0;
    usage.completionTokens += response.usage?.completionTokens ?? 0;
    const calls = response.message.toolCalls ?? [];
    messages.push(response.message);
    if (calls.length === 0) {
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
          ? await runTool(call.name, call.arguments, { sandbox: opts.sandbox, editor }, opts.tools)
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
      const notice = `\n\n[${left} turn(s) left]`;
      messages.push({ role: 'tool', toolCallId: call.id, content: result.output + notice });
    }
    if (submitted) return end('submitted', 'the agent called submit', true);
  }
  return end('max-turns', `all ${budget.maxTurns} turns used`);
}

/**
 * An in-process ModelClient that replays a script, for fast unit tests of the agent loop.
 * Each entry is a reply (short form or full ModelResponse), a ModelError to throw, or a function
 * of the request returning either. Every request is recorded.
 */
import {
  type ModelClient,
  ModelError,
  type ModelRequest,
  type ModelResponse,
  type ToolCall,
} from '../types.js';

/** A reply in short form: ids and finish reason are filled in. */
export interface ScriptedReply {
  content?: string | null;
  /** `arguments` may be an object (stringified for you) or raw JSON text. */
  toolCalls?: { id?: string; name: string; arguments: string | Record<string, unknown> }[];
  finishReason?: string;
  usage?: ModelResponse['usage'];
  logprobs?: ModelResponse['logprobs'];
  promptTokenIds?: number[];
  completionTokenIds?: number[];
  /** The model the reply says answered (default 'scripted'). */
  model?: string;
}

export type ScriptedOutcome = ScriptedReply | ModelResponse | ModelError;
export type ScriptedEntry =
  | ScriptedOutcome
  | ((request: ModelRequest, index: number) => ScriptedOutcome | Promise<ScriptedOutcome>);

export class ScriptedClient implements ModelClient {
  readonly description = 'scripted';
  /** Every request received, in order (messages copied at call time). */
  readonly requests: ModelRequest[] = [];
  private readonly entries: ScriptedEntry[];
  private readonly fn: ((request: ModelRequest, index: number) => ScriptedEntry) | undefined;

  constructor(script: ScriptedEntry[] | ((request: ModelRequest, index: number) => ScriptedEntry)) {
    if (typeof script === 'function') {
      this.entries = [];
      this.fn = script;
    } else {
      this.entries = [...script];
      this.fn = undefined;
    }
  }

  /** Number of calls made so far. */
  get calls(): number {
    return this.requests.length;
  }

  /** Appends entries to the script. */
  push(...entries: ScriptedEntry[]): void {
    this.entries.push(...entries);
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const index = this.requests.length;
    this.requests.push({ ...request, messages: request.messages.map((m) => ({ ...m })) });
    if (request.signal?.aborted) throw request.signal.reason ?? new Error('aborted');
    let entry: ScriptedEntry | undefined = this.fn ? this.fn(request, index) : this.entries[index];
    if (entry === undefined) {
      throw new Error(`ScriptedClient: script exhausted after ${index} response(s)`);
    }
    if (typeof entry === 'function') entry = await entry(request, index);
    if (entry instanceof ModelError) throw entry;
    return toResponse(entry, index);
  }
}

function isFull(outcome: ScriptedReply | ModelResponse): outcome is ModelResponse {
  return 'message' in outcome && 'latencyMs' in outcome;
}

function toResponse(outcome: ScriptedReply | ModelResponse, index: number): ModelResponse {
  if (isFull(outcome)) return outcome;
  const toolCalls: ToolCall[] = (outcome.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `call_${index}_${i}`,
    name: c.name,
    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
  }));
  const response: ModelResponse = {
    message: {
      role: 'assistant',
      content: outcome.content ?? null,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    },
    finishReason: outcome.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    model: outcome.model ?? 'scripted',
    latencyMs: 0,
  };
  if (outcome.usage) response.usage = outcome.usage;
  if (outcome.logprobs) response.logprobs = outcome.logprobs;
  if (outcome.promptTokenIds) response.promptTokenIds = outcome.promptTokenIds;
  if (outcome.completionTokenIds) response.completionTokenIds = outcome.completionTokenIds;
  return response;
}

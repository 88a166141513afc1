import type {
  ChatMessage,
  ModelClient,
  ModelRequest,
  ModelResponse,
  TokenLogprob,
  ToolCall,
  ToolSpec,
} from '../agent/types.js';
import type { ChatMessageOut, StepBody, ToolOut } from './schemas.js';

interface Pending {
  request: ModelRequest;
  at: number;
  resolve: (r: ModelResponse) => void;
  reject: (e: unknown) => void;
}

/**
 * A ModelClient whose answers come from outside: `complete()` parks the agent loop until
 * `respond()` (a trainer's step, or the server's own call to the trainer's endpoint in managed
 * mode) supplies the reply. This is how stepwise episodes reuse `runEpisode` unchanged: the
 * loop does not know who is answering.
 */
export class ExternalModel implements ModelClient {
  readonly description = 'external (ssr serve)';
  private current: Pending | null = null;
  private wake = wakeUp();
  private closedWith: Error | null = null;
  /** Model calls so far. */
  calls = 0;
  /** The loop's history as of its last call (the loop's own array, so it stays current). */
  history: ChatMessage[] = [];
  /** The tools as the loop offered them. */
  tools: ToolSpec[] = [];

  complete(request: ModelRequest): Promise<ModelResponse> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.current = { request, at: performance.now(), resolve, reject };
      this.history = request.messages;
      this.tools = request.tools;
      this.calls++;
      this.wake.resolve();
    });
  }

  /** The request the loop waits on, if it waits. Its `messages` is the loop's live history. */
  get pending(): ModelRequest | null {
    return this.current?.request ?? null;
  }

  /** Resolves once the loop waits for a reply (at once if it already does). */
  requested(): Promise<void> {
    return this.current ? Promise.resolve() : this.wake.promise;
  }

  respond(response: Omit<ModelResponse, 'latencyMs'>): void {
    const p = this.take();
    p?.resolve({ ...response, latencyMs: Math.round(performance.now() - p.at) });
  }

  /** Fails the waiting call; the loop records it as a model error (context length included). */
  fail(error: unknown): void {
    this.take()?.reject(error);
  }

  /** No reply will ever come: the waiting call and every later one fail with `reason`. */
  close(reason: Error): void {
    this.closedWith = reason;
    this.fail(reason);
  }

  private take(): Pending | null {
    const p = this.current;
    if (p) {
      this.current = null;
      // Whoever waits from now on waits for the next call.
      this.wake = wakeUp();
    }
    return p;
  }
}

/** A one-shot wake-up (Promise.withResolvers needs Node 22). */
function wakeUp(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A step body as the loop's ModelResponse; tool calls without an id get a stable one. */
export function responseFromStep(body: StepBody, turn: number): Omit<ModelResponse, 'latencyMs'> {
  const toolCalls: ToolCall[] = (body.message.tool_calls ?? []).map((c, i) => ({
    id: c.id || `call_${turn}_${i}`,
    name: c.function.name,
    arguments:
      typeof c.function.arguments === 'string'
        ? c.function.arguments
        : JSON.stringify(c.function.arguments ?? {}),
  }));
  const response: Omit<ModelResponse, 'latencyMs'> = {
    message: {
      role: 'assistant',
      content: body.message.content ?? null,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    },
    finishReason: body.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
  };
  if (body.usage) {
    response.usage = {
      promptTokens: body.usage.prompt_tokens,
      completionTokens: body.usage.completion_tokens,
    };
  }
  const lp = Array.isArray(body.logprobs) ? body.logprobs : body.logprobs?.content;
  if (lp) response.logprobs = lp.map(tokenLogprob);
  if (body.prompt_token_ids) response.promptTokenIds = body.prompt_token_ids;
  if (body.token_ids) response.completionTokenIds = body.token_ids;
  return response;
}

function tokenLogprob(t: { token: string; logprob: number }): TokenLogprob {
  const m = /^token_id:(\d+)$/.exec(t.token);
  return m
    ? { token: t.token, tokenId: Number(m[1]), logprob: t.logprob }
    : { token: t.token, logprob: t.logprob };
}

export function toOpenAIMessage(m: ChatMessage): ChatMessageOut {
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'tool':
      return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
  }
}

export function toOpenAITools(specs: ToolSpec[]): ToolOut[] {
  return specs.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

/**
 * A ModelClient for any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp,
 * OpenAI itself), on the official `openai` SDK. The SDK does the retries with backoff on
 * 408/409/429/5xx and timeouts; this class maps messages and tools, asks vLLM for logprobs and
 * token ids, and turns failures into ModelError with a kind the agent loop can act on.
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import {
  type ChatMessage,
  type ModelClient,
  ModelError,
  type ModelRequest,
  type ModelResponse,
  type TokenLogprob,
  type ToolCall,
} from '../types.js';
import { describeToolsForText, formatTextToolCall, parseTextToolCalls } from './text-tool-calls.js';

export interface OpenAIChatClientOptions {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseURL: string;
  model: string;
  /** Default 'EMPTY' (what vLLM accepts when started without --api-key). Never printed. */
  apiKey?: string;
  /** Per attempt (default 600 000 ms, the SDK's). */
  timeoutMs?: number;
  /** Retries on 408/409/429/5xx, connection errors and timeouts, with backoff (default 3). */
  maxRetries?: number;
  /** Use SSE streaming (default false). */
  stream?: boolean;
  /**
   * Ask for logprobs plus vLLM's `return_tokens_as_token_ids` and `return_token_ids` (default
   * true). A server that rejects the unknown fields with a 400 naming them is asked again
   * without them, and this client remembers that.
   */
  requestLogprobs?: boolean;
  /** Describe the tools in the system prompt and parse calls from the text (no native tools). */
  textToolCalls?: boolean;
  /** Extra fields merged into every request body (e.g. `top_k`, `chat_template_kwargs`). */
  extraBody?: Record<string, unknown>;
}

const VLLM_EXTRAS = ['return_tokens_as_token_ids', 'return_token_ids'] as const;

/** How much of the logprob request the server accepts. */
type LogprobLevel = 'full' | 'logprobs-only' | 'none';

export class OpenAIChatClient implements ModelClient {
  private readonly sdk: OpenAI;
  private readonly options: OpenAIChatClientOptions;
  private logprobLevel: LogprobLevel;

  constructor(options: OpenAIChatClientOptions) {
    this.options = { ...options };
    this.logprobLevel = options.requestLogprobs === false ? 'none' : 'full';
    this.sdk = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey ?? 'EMPTY',
      maxRetries: options.maxRetries ?? 3,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
    });
  }

  get description(): string {
    return `openai:${this.options.baseURL} model=${this.options.model}`;
  }

  /** The model name requests ask for. */
  get model(): string {
    return this.options.model;
  }

  /**
   * Asks for `name` from the next request on (e.g. the trainer's new checkpoint, served under
   * its own name); what the client learned about the server (logprob support) is kept.
   */
  setModel(name: string): void {
    if (!name) throw new Error('a model name cannot be empty');
    this.options.model = name;
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const started = Date.now();
    for (;;) {
      try {
        const response = await this.attempt(request);
        return { ...response, latencyMs: Date.now() - started };
      } catch (error) {
        if (this.downgradeLogprobs(error)) continue;
        throw await this.toModelError(error, this.timeoutFor(request));
      }
    }
  }

  /** After a 400 that names the fields we added, drop them and say to try again. */
  private downgradeLogprobs(error: unknown): boolean {
    if (!(error instanceof APIError) || error.status !== 400) return false;
    const message = error.message;
    if (this.logprobLevel === 'full' && VLLM_EXTRAS.some((f) => message.includes(f))) {
      this.logprobLevel = 'logprobs-only';
      return true;
    }
    if (this.logprobLevel !== 'none' && /\blogprobs\b/.test(message)) {
      this.logprobLevel = 'none';
      return true;
    }
    return false;
  }

  private buildBody(request: ModelRequest): Record<string, unknown> {
    const text = this.options.textToolCalls === true;
    const messages = text
      ? toTextToolMessages(request.messages, request.tools)
      : request.messages.map(toSdkMessage);
    const body: Record<string, unknown> = {
      ...this.options.extraBody,
      model: this.options.model,
      messages,
    };
    if (!text && request.tools.length > 0) {
      body.tools = request.tools.map(
        (t): ChatCompletionTool => ({
          type: 'function',
          function: { name: t.name, description: t.description, parameters: t.parameters },
        }),
      );
    }
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
    if (this.logprobLevel !== 'none') body.logprobs = true;
    if (this.logprobLevel === 'full') {
      body.return_tokens_as_token_ids = true;
      body.return_token_ids = true;
    }
    if (this.options.stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    return body;
  }

  private async attempt(request: ModelRequest): Promise<Omit<ModelResponse, 'latencyMs'>> {
    const body = this.buildBody(request);
    const timeout = request.timeoutMs === undefined ? undefined : this.timeoutFor(request);
    const requestOptions = {
      ...(request.signal ? { signal: request.signal } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
    };
    let result: Omit<ModelResponse, 'latencyMs'>;
    if (this.options.stream) {
      const stream = await this.sdk.chat.completions.create(
        body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
        requestOptions,
      );
      result = await collectStream(stream);
    } else {
      const completion = await this.sdk.chat.completions.create(
        body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
        requestOptions,
      );
      result = fromCompletion(completion);
    }
    const content = result.message.content;
    if (content && !result.message.toolCalls?.length) {
      const parsed = parseTextToolCalls(content);
      // Natively, a server without a tool-call parser (vLLM without --tool-call-parser, say)
      // hands the model's tool calls back as text: taken when every call names a real tool.
      const known = new Set(request.tools?.map((t) => t.name) ?? []);
      const usable = this.options.textToolCalls
        ? parsed.calls.length > 0
        : parsed.calls.length > 0 && parsed.calls.every((c) => known.has(c.name));
      if (usable) {
        result.message = {
          role: 'assistant',
          content: parsed.prose === '' ? null : parsed.prose,
          toolCalls: parsed.calls,
        };
        if (result.finishReason === 'stop') result.finishReason = 'tool_calls';
      }
    }
    return result;
  }

  /** Per attempt: the client's timeout, or less when the call has less time (the episode's). */
  private timeoutFor(request: ModelRequest): number {
    const own = this.options.timeoutMs ?? 600_000;
    return request.timeoutMs === undefined ? own : Math.min(own, request.timeoutMs);
  }

  private async toModelError(error: unknown, timeoutMs: number): Promise<unknown> {
    if (error instanceof ModelError) return error;
    if (error instanceof APIUserAbortError) return error; // the caller aborted: not a model failure
    const where = `${this.options.baseURL} (model ${this.options.model})`;
    const attempts = (this.options.maxRetries ?? 3) + 1;
    if (error instanceof APIConnectionTimeoutError) {
      return new ModelError(
        `model server ${where} did not answer within ${timeoutMs} ms (${attempts} attempt(s))`,
        'server',
      );
    }
    if (error instanceof APIConnectionError) {
      const cause = describeCause(error);
      return new ModelError(
        `cannot reach the model server at ${this.options.baseURL}: ${cause} (${attempts} attempt(s))`,
        'unreachable',
      );
    }
    if (error instanceof APIError) {
      const status = error.status ?? 0;
      const detail = error.message;
      if (status === 404) {
        const available = await this.listModels();
        const list =
          available === undefined
            ? ''
            : available.length === 0
              ? '; the server lists no models'
              : `; available: ${available.join(', ')}`;
        return new ModelError(
          `model '${this.options.model}' not found at ${this.options.baseURL}${list} (${detail})`,
          'not-found',
        );
      }
      if (status === 400 && isContextLengthMessage(detail)) {
        return new ModelError(`context length exceeded at ${where}: ${detail}`, 'context-length');
      }
      if (status === 429) {
        return new ModelError(
          `rate limited by ${where} after ${attempts} attempt(s): ${detail}`,
          'rate-limit',
        );
      }
      if (status >= 500) {
        return new ModelError(
          `model server error from ${where} after ${attempts} attempt(s): ${detail}`,
          'server',
        );
      }
      return new ModelError(`model request to ${where} failed: ${detail}`, 'bad-response');
    }
    const message = error instanceof Error ? error.message : String(error);
    return new ModelError(`unusable response from ${where}: ${message}`, 'bad-response');
  }

  /** Model ids the server serves, or undefined when it cannot say. */
  private async listModels(): Promise<string[] | undefined> {
    try {
      const page = await this.sdk.models.list({ maxRetries: 0 });
      return page.data.map((m) => m.id);
    } catch {
      return undefined;
    }
  }
}

export function isContextLengthMessage(message: string): boolean {
  return /maximum context length|context length exceeded|context_length_exceeded|maximum model length|exceeds the context window/i.test(
    message,
  );
}

function describeCause(error: APIConnectionError): string {
  const parts: string[] = [];
  let cause: unknown = (error as { cause?: unknown }).cause;
  for (let depth = 0; cause && depth < 4; depth++) {
    const c = cause as { code?: unknown; message?: unknown; cause?: unknown };
    const text = [c.code, c.message].filter((x) => typeof x === 'string' && x).join(' ');
    if (text) parts.push(text);
    cause = c.cause;
  }
  return parts.length > 0 ? parts.join(': ') : error.message;
}

export function toSdkMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'user':
      return { role: 'user', content: m.content };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
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

/** The conversation for a server without native tools: tools in the system prompt, calls and results as text. */
function toTextToolMessages(
  messages: ChatMessage[],
  tools: ModelRequest['tools'],
): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  const toolText = tools.length > 0 ? describeToolsForText(tools) : '';
  let systemDone = toolText === '';
  for (const m of messages) {
    if (m.role === 'system' && !systemDone) {
      out.push({ role: 'system', content: `${m.content}\n\n${toolText}` });
      systemDone = true;
    } else if (m.role === 'assistant') {
      const parts = [m.content ?? '', ...(m.toolCalls ?? []).map(formatTextToolCall)];
      out.push({ role: 'assistant', content: parts.filter((p) => p !== '').join('\n') });
    } else if (m.role === 'tool') {
      out.push({ role: 'user', content: `<tool_response>\n${m.content}\n</tool_response>` });
    } else {
      out.push(toSdkMessage(m));
    }
  }
  if (!systemDone) out.unshift({ role: 'system', content: toolText });
  return out;
}

interface VllmExtras {
  prompt_token_ids?: unknown;
  token_ids?: unknown;
}

function numberArray(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

function toTokenLogprob(t: { token: string; logprob: number }): TokenLogprob {
  const m = /^token_id:(\d+)$/.exec(t.token);
  return m
    ? { token: t.token, tokenId: Number(m[1]), logprob: t.logprob }
    : { token: t.token, logprob: t.logprob };
}

function fromCompletion(completion: ChatCompletion): Omit<ModelResponse, 'latencyMs'> {
  if (!completion || typeof completion !== 'object' || !Array.isArray(completion.choices)) {
    throw new Error('the response is not a chat completion (no choices array)');
  }
  const choice = completion.choices[0];
  if (!choice?.message) throw new Error('the response has no choices');
  const toolCalls: ToolCall[] = [];
  for (const c of choice.message.tool_calls ?? []) {
    if (c.type === 'function') {
      toolCalls.push({ id: c.id, name: c.function.name, arguments: c.function.arguments ?? '' });
    }
  }
  const result: Omit<ModelResponse, 'latencyMs'> = {
    message: {
      role: 'assistant',
      content: choice.message.content ?? null,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    },
    finishReason: choice.finish_reason ?? 'stop',
  };
  if (typeof completion.model === 'string' && completion.model) result.model = completion.model;
  if (completion.usage) {
    result.usage = {
      promptTokens: completion.usage.prompt_tokens,
      completionTokens: completion.usage.completion_tokens,
    };
  }
  const content = choice.logprobs?.content;
  if (content) result.logprobs = content.map(toTokenLogprob);
  const promptIds = numberArray((completion as VllmExtras).prompt_token_ids);
  if (promptIds) result.promptTokenIds = promptIds;
  const ids = numberArray((choice as VllmExtras).token_ids);
  if (ids) result.completionTokenIds = ids;
  return result;
}

async function collectStream(
  stream: AsyncIterable<ChatCompletionChunk>,
): Promise<Omit<ModelResponse, 'latencyMs'>> {
  let content = '';
  let sawContent = false;
  let finishReason: string | undefined;
  let usage: ModelResponse['usage'];
  let logprobs: TokenLogprob[] | undefined;
  let promptTokenIds: number[] | undefined;
  let completionTokenIds: number[] | undefined;
  let model: string | undefined;
  let sawChoice = false;
  const calls = new Map<number, { id: string; name: string; arguments: string }>();

  for await (const chunk of stream) {
    if (typeof chunk.model === 'string' && chunk.model) model = chunk.model;
    if (chunk.usage) {
      usage = {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
      };
    }
    const promptIds = numberArray((chunk as VllmExtras).prompt_token_ids);
    if (promptIds) promptTokenIds = promptIds;
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      sawChoice = true;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') {
        content += delta.content;
        if (delta.content !== '') sawContent = true;
      }
      for (const tc of delta.tool_calls ?? []) {
        const entry = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
        if (tc.id) entry.id = tc.id;
        if (tc.function?.name) entry.name += tc.function.name;
        if (tc.function?.arguments) entry.arguments += tc.function.arguments;
        calls.set(tc.index, entry);
      }
      const lp = choice.logprobs?.content;
      if (lp) logprobs = [...(logprobs ?? []), ...lp.map(toTokenLogprob)];
      const ids = numberArray((choice as VllmExtras).token_ids);
      if (ids) completionTokenIds = [...(completionTokenIds ?? []), ...ids];
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  if (!sawChoice) throw new Error('the stream carried no choices');
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, c]) => ({ ...c, id: c.id || `call_${index}` }));
  const result: Omit<ModelResponse, 'latencyMs'> = {
    message: {
      role: 'assistant',
      content: sawContent ? content : null,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
    },
    finishReason: finishReason ?? 'stop',
  };
  if (model) result.model = model;
  if (usage) result.usage = usage;
  if (logprobs) result.logprobs = logprobs;
  if (promptTokenIds) result.promptTokenIds = promptTokenIds;
  if (completionTokenIds) result.completionTokenIds = completionTokenIds;
  return result;
}

/**
 * The agent's vocabulary, shared by model clients, tools and the loop. Messages follow the
 * OpenAI chat-completions shape because that is what every server our users run speaks.
 */
import { SsrError } from '../util/errors.js';

export interface ToolCall {
  id: string;
  name: string;
  /** Raw JSON text of the arguments, as the model wrote it (may be malformed). */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A tool as the model sees it (JSON Schema parameters). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Per-token data for RL trainers, when the server returns it. */
export interface TokenLogprob {
  token: string;
  /** Token id when the server reports it (vLLM `return_tokens_as_token_ids`: "token_id:N"). */
  tokenId?: number;
  logprob: number;
}

export interface ModelResponse {
  message: Extract<ChatMessage, { role: 'assistant' }>;
  /** 'stop' | 'tool_calls' | 'length' | 'content_filter' | ... as the server said. */
  finishReason: string;
  usage?: { promptTokens: number; completionTokens: number };
  logprobs?: TokenLogprob[];
  /** vLLM extensions, when returned: ids of the prompt and of the completion. */
  promptTokenIds?: number[];
  completionTokenIds?: number[];
  /**
   * The model that answered, as the server reported it (chat completions' `model`): the
   * policy a trainer's rollout was sampled from, which may differ from the name asked for.
   */
  model?: string;
  /** Wall time of the request, including retries. */
  latencyMs: number;
}

export interface ModelRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  signal?: AbortSignal;
  /**
   * The most this call may take, in ms (the episode's remaining wall time). Clients use it as
   * their request timeout; the agent loop also stops waiting when it passes.
   */
  timeoutMs?: number;
}

/** Why a model call ended an episode instead of answering. */
export class ModelError extends Error {
  constructor(
    message: string,
    /** 'unreachable' | 'not-found' | 'context-length' | 'rate-limit' | 'server' | 'bad-response' */
    readonly kind: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/**
 * A command gave up because the model failed (server errors, unreachable, a model it does not
 * serve), not because of anything the policy did. Exit status 4; finished work is kept.
 */
export class ModelFailure extends SsrError {
  constructor(message: string) {
    super(message, 'model-failure', 4);
    this.name = 'ModelFailure';
  }
}

export interface ModelClient {
  /** e.g. 'openai:http://127.0.0.1:8000/v1 model=qwen' or 'scripted'. */
  readonly description: string;
  complete(request: ModelRequest): Promise<ModelResponse>;
  /**
   * Asks for another model name from now on (a trainer that serves new weights under a new
   * name). Only clients that talk to a server by model name have it; calls in flight keep the
   * name they were sent with.
   */
  setModel?(name: string): void;
}

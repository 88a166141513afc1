import type { TurnRecord } from '../agent/loop.js';
import type { ChatMessage, ModelResponse, ToolSpec } from '../agent/types.js';

/**
 * Our internal chat shape (camelCase, flat tool calls) converted to the OpenAI
 * chat-completions wire shape, because that is what trainers' chat templates and inference
 * servers take back unchanged.
 */
export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAIMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
}

export interface OpenAITool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export function toOpenAIMessage(m: ChatMessage): OpenAIMessage {
  switch (m.role) {
    case 'assistant': {
      const out: OpenAIMessage = { role: 'assistant', content: m.content ?? null };
      if (m.toolCalls?.length) {
        out.tool_calls = m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: c.arguments },
        }));
      }
      return out;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

/** Accepts both our ToolSpec and an already OpenAI-shaped tool, whichever a writer recorded. */
export function toOpenAITool(t: ToolSpec | OpenAITool): OpenAITool {
  if ('type' in t && t.type === 'function' && 'function' in t) return t;
  const spec = t as ToolSpec;
  return {
    type: 'function',
    function: { name: spec.name, description: spec.description, parameters: spec.parameters },
  };
}

export interface TokenColumns {
  completion_token_ids: (number[] | null)[] | null;
  completion_logprobs: (number[] | null)[] | null;
  prompt_token_ids: number[] | null;
}

function completionIds(r: ModelResponse): number[] | null {
  if (r.completionTokenIds) return r.completionTokenIds;
  // vLLM's `return_tokens_as_token_ids` puts the ids in the logprobs instead; a partial list
  // would misalign tokens and logprobs, so it counts only when every entry has one.
  const lp = r.logprobs;
  if (lp?.length && lp.every((t) => typeof t.tokenId === 'number'))
    return lp.map((t) => t.tokenId!);
  return null;
}

/**
 * Per-turn token data, one entry per assistant message (turns without a response, i.e. a
 * model error, produced no message and are skipped so the lists line up with `messages`).
 * A column is null when no turn has the data; an entry is null for a turn the server did not
 * return it for. Only the first prompt's ids are kept: each later prompt is the previous one
 * plus a completion and a tool observation, and storing every prompt grows quadratically.
 */
export function tokenColumns(turns: readonly TurnRecord[] | undefined): TokenColumns {
  const responses = (turns ?? []).flatMap((t) => (t.response ? [t.response] : []));
  const ids = responses.map(completionIds);
  const logprobs = responses.map((r) => r.logprobs?.map((t) => t.logprob) ?? null);
  return {
    completion_token_ids: ids.some((x) => x !== null) ? ids : null,
    completion_logprobs: logprobs.some((x) => x !== null) ? logprobs : null,
    prompt_token_ids: turns?.[0]?.response?.promptTokenIds ?? null,
  };
}

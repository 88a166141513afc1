/**
 * Tool calls written in the message text, for models served without native tool calling.
 * Accepted forms (surrounding prose is fine):
 *
 *   <tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>   (Hermes / Qwen)
 *   ```json\n{"name": "bash", "arguments": {"command": "ls"}}\n```
 *   <function=bash>{"command": "ls"}</function>
 *   <function=bash><parameter=command>ls</parameter></function>                (Qwen3-Coder)
 *
 * Single trailing commas are tolerated; anything else that does not parse is ignored.
 */
import type { ToolCall, ToolSpec } from '../types.js';

export interface TextToolCallParse {
  calls: ToolCall[];
  /** The text with the recognised tool-call blocks removed, trimmed. */
  prose: string;
}

/** Parses JSON, retrying once with trailing commas (`,}` / `,]`) outside strings removed. */
export function parseLooseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const fixed = stripTrailingCommas(text);
    if (fixed === text) return undefined;
    try {
      return JSON.parse(fixed);
    } catch {
      return undefined;
    }
  }
}

function stripTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    if (ch === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === '}' || text[j] === ']') continue;
    }
    out += ch;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{"name", "arguments"|"parameters"}` -> name + argument JSON text, or undefined. */
function callFromObject(v: unknown): { name: string; arguments: string } | undefined {
  if (!isRecord(v)) return undefined;
  // {"function": {"name", "arguments"}} as some models copy the OpenAI shape.
  if (isRecord(v.function) && v.name === undefined) return callFromObject(v.function);
  const name = v.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return undefined;
  let args = v.arguments ?? v.parameters ?? {};
  if (typeof args === 'string') {
    const parsed = parseLooseJson(args);
    if (!isRecord(parsed)) return undefined;
    args = parsed;
  }
  if (!isRecord(args)) return undefined;
  return { name, arguments: JSON.stringify(args) };
}

function callsFromJsonText(text: string): { name: string; arguments: string }[] {
  const parsed = parseLooseJson(text.trim());
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const calls = items.map(callFromObject);
  if (calls.length === 0 || calls.some((c) => c === undefined)) return [];
  return calls as { name: string; arguments: string }[];
}

function callFromFunctionTag(
  name: string,
  body: string,
): { name: string; arguments: string } | undefined {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return undefined;
  const trimmed = body.trim();
  if (trimmed === '') return { name, arguments: '{}' };
  if (trimmed.startsWith('{')) {
    const parsed = parseLooseJson(trimmed);
    return isRecord(parsed) ? { name, arguments: JSON.stringify(parsed) } : undefined;
  }
  const params: Record<string, unknown> = {};
  const re = /<parameter=([A-Za-z0-9_.-]+)>([\s\S]*?)<\/parameter>/g;
  let found = false;
  for (const m of trimmed.matchAll(re)) {
    found = true;
    const value = m[2]!.replace(/^\n/, '').replace(/\n$/, '');
    const asJson = /^[[{]/.test(value.trim()) ? parseLooseJson(value.trim()) : undefined;
    params[m[1]!] = asJson !== undefined ? asJson : value;
  }
  return found ? { name, arguments: JSON.stringify(params) } : undefined;
}

/** Finds tool calls in `text`. Returns no calls (and the text unchanged) for anything else. */
export function parseTextToolCalls(text: string, idPrefix = 'call_text_'): TextToolCallParse {
  const found: { start: number; end: number; calls: { name: string; arguments: string }[] }[] = [];
  const taken = (s: number, e: number) => found.some((f) => s < f.end && e > f.start);
  const add = (s: number, e: number, calls: { name: string; arguments: string }[]) => {
    if (calls.length > 0 && !taken(s, e)) found.push({ start: s, end: e, calls });
  };

  // <tool_call>...</tool_call>; the closing tag may be missing at the very end (stop token).
  for (const m of text.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$(?![\s\S]))/g)) {
    const inner = m[1]!;
    const fn = /^\s*<function=([^>\s]+)>([\s\S]*?)<\/function>\s*$/.exec(inner);
    const calls = fn
      ? [callFromFunctionTag(fn[1]!, fn[2]!)].filter((c) => c !== undefined)
      : callsFromJsonText(inner);
    add(m.index!, m.index! + m[0].length, calls);
  }
  // <function=name>...</function>
  for (const m of text.matchAll(/<function=([^>\s]+)>([\s\S]*?)<\/function>/g)) {
    const call = callFromFunctionTag(m[1]!, m[2]!);
    add(m.index!, m.index! + m[0].length, call ? [call] : []);
  }
  // ```json ... ``` (or an unlabeled fence) holding {"name", "arguments"}
  for (const m of text.matchAll(/```(?:json|JSON|tool_call)?[ \t]*\n([\s\S]*?)```/g)) {
    add(m.index!, m.index! + m[0].length, callsFromJsonText(m[1]!));
  }

  if (found.length === 0) return { calls: [], prose: text };
  found.sort((a, b) => a.start - b.start);
  const calls: ToolCall[] = [];
  let prose = '';
  let at = 0;
  for (const f of found) {
    prose += text.slice(at, f.start);
    at = f.end;
    for (const c of f.calls) calls.push({ id: `${idPrefix}${calls.length}`, ...c });
  }
  prose += text.slice(at);
  return { calls, prose: prose.trim() };
}

/** Renders a tool call the way `parseTextToolCalls` reads it back (for conversation history). */
export function formatTextToolCall(call: { name: string; arguments: string }): string {
  const args = parseLooseJson(call.arguments);
  return `<tool_call>\n${JSON.stringify({ name: call.name, arguments: isRecord(args) ? args : call.arguments })}\n</tool_call>`;
}

/** System-prompt section describing the tools and the text format for calling them. */
export function describeToolsForText(tools: ToolSpec[]): string {
  const list = tools
    .map((t) =>
      JSON.stringify({
        type: 'function',
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }),
    )
    .join('\n');
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query.',
    '',
    'You are provided with function signatures within <tools></tools> XML tags:',
    '<tools>',
    list,
    '</tools>',
    '',
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
    '<tool_call>',
    '{"name": <function-name>, "arguments": <args-json-object>}',
    '</tool_call>',
  ].join('\n');
}

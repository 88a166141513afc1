/**
 * The OpenAI-compatible model client against a scripted vLLM-like server over real HTTP:
 * message/tool mapping, streaming, logprobs and token ids, retries and every error kind; the
 * text tool-call fallback; the in-process scripted client.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  OpenAIChatClient,
  type OpenAIChatClientOptions,
} from '../src/agent/model/openai-client.js';
import { ScriptedClient } from '../src/agent/model/scripted-client.js';
import { parseLooseJson, parseTextToolCalls } from '../src/agent/model/text-tool-calls.js';
import {
  type ChatMessage,
  ModelError,
  type ModelRequest,
  type ToolSpec,
} from '../src/agent/types.js';
import {
  type ScriptEntry,
  type ScriptedServer,
  startScriptedServer,
} from './helpers/scripted-openai-server.js';

const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(script: ScriptEntry[], models?: string[]): Promise<ScriptedServer> {
  const s = await startScriptedServer(script, models ? { models } : {});
  servers.push(s);
  return s;
}

function client(s: ScriptedServer, extra: Partial<OpenAIChatClientOptions> = {}) {
  return new OpenAIChatClient({
    baseURL: s.baseURL,
    model: 'scripted-model',
    timeoutMs: 2000,
    maxRetries: 2,
    ...extra,
  });
}

const bashTool: ToolSpec = {
  name: 'bash',
  description: 'Run a shell command',
  parameters: {
    type: 'object',
    properties: { command: { type: 'string' } },
    required: ['command'],
  },
};

const messages: ChatMessage[] = [
  { role: 'system', content: 'You fix bugs.' },
  { role: 'user', content: 'The tests fail.' },
  {
    role: 'assistant',
    content: null,
    toolCalls: [{ id: 'call_1', name: 'bash', arguments: '{"command":"npm test"}' }],
  },
  { role: 'tool', toolCallId: 'call_1', content: '1 failing' },
];

const request: ModelRequest = { messages, tools: [bashTool], maxTokens: 256, temperature: 0.5 };

async function rejectsWith(promise: Promise<unknown>, kind: string): Promise<ModelError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelError, `expected ModelError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a ModelError '${kind}', got a response`);
}

describe('OpenAIChatClient over HTTP', () => {
  test('plain reply: content, finish reason, usage; the request carries messages, tools and vLLM fields', async () => {
    const s = await serve([
      { content: 'Hello there.', usage: { promptTokens: 42, completionTokens: 3 } },
    ]);
    const r = await client(s).complete(request);
    assert.equal(r.message.role, 'assistant');
    assert.equal(r.message.content, 'Hello there.');
    assert.equal(r.message.toolCalls, undefined);
    assert.equal(r.finishReason, 'stop');
    assert.deepEqual(r.usage, { promptTokens: 42, completionTokens: 3 });
    assert.ok(r.latencyMs >= 0);

    assert.equal(s.chatBodies.length, 1);
    const body = s.chatBodies[0]!;
    assert.equal(body.model, 'scripted-model');
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You fix bugs.' },
      { role: 'user', content: 'The tests fail.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'bash', arguments: '{"command":"npm test"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '1 failing' },
    ]);
    assert.deepEqual(body.tools, [
      {
        type: 'function',
        function: {
          name: 'bash',
          description: 'Run a shell command',
          parameters: bashTool.parameters,
        },
      },
    ]);
    assert.equal(body.max_tokens, 256);
    assert.equal(body.temperature, 0.5);
    assert.equal(body.logprobs, true);
    assert.equal(body.return_tokens_as_token_ids, true);
    assert.equal(body.return_token_ids, true);
    assert.equal(body.stream, undefined);
    // The API key defaults to EMPTY (vLLM without --api-key).
    assert.equal(s.requests[0]!.headers.authorization, 'Bearer EMPTY');
  });

  test('requestLogprobs false sends none of the logprob fields; no tools -> no tools field', async () => {
    const s = await serve([{ content: 'ok' }]);
    await client(s, { requestLogprobs: false }).complete({
      messages: messages.slice(0, 2),
      tools: [],
    });
    const body = s.chatBodies[0]!;
    assert.equal(body.logprobs, undefined);
    assert.equal(body.return_tokens_as_token_ids, undefined);
    assert.equal(body.return_token_ids, undefined);
    assert.equal(body.tools, undefined);
  });

  test('tool calls (non-streaming) are mapped to ToolCall', async () => {
    const s = await serve([
      {
        content: 'Let me look.',
        toolCalls: [
          { id: 'chatcmpl-tool-a', name: 'bash', arguments: '{"command": "ls -la"}' },
          { id: 'chatcmpl-tool-b', name: 'read_file', arguments: '{"path": "src/x.js"}' },
        ],
      },
    ]);
    const r = await client(s).complete(request);
    assert.equal(r.finishReason, 'tool_calls');
    assert.equal(r.message.content, 'Let me look.');
    assert.deepEqual(r.message.toolCalls, [
      { id: 'chatcmpl-tool-a', name: 'bash', arguments: '{"command": "ls -la"}' },
      { id: 'chatcmpl-tool-b', name: 'read_file', arguments: '{"path": "src/x.js"}' },
    ]);
  });

  test('streaming: content, tool-call argument deltas split over chunks, usage, logprobs, token ids', async () => {
    const args = '{"command": "grep -rn \\"wrap\\" src/ | head -20"}';
    const s = await serve([
      {
        content: 'Searching the code base.',
        toolCalls: [
          { id: 'call_s1', name: 'bash', arguments: args },
          { id: 'call_s2', name: 'bash', arguments: '{"command": "ls"}' },
        ],
        chunkSize: 3,
        usage: { promptTokens: 100, completionTokens: 20 },
        logprobs: [
          { token: 'token_id:11', logprob: -0.5 },
          { token: 'token_id:12', logprob: -0.25 },
          { token: 'token_id:13', logprob: -1 },
        ],
        promptTokenIds: [1, 2, 3, 4],
        tokenIds: [11, 12, 13],
      },
    ]);
    const r = await client(s, { stream: true }).complete(request);
    const body = s.chatBodies[0]!;
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(r.message.content, 'Searching the code base.');
    assert.deepEqual(r.message.toolCalls, [
      { id: 'call_s1', name: 'bash', arguments: args },
      { id: 'call_s2', name: 'bash', arguments: '{"command": "ls"}' },
    ]);
    assert.equal(r.finishReason, 'tool_calls');
    assert.deepEqual(r.usage, { promptTokens: 100, completionTokens: 20 });
    assert.deepEqual(r.logprobs, [
      { token: 'token_id:11', tokenId: 11, logprob: -0.5 },
      { token: 'token_id:12', tokenId: 12, logprob: -0.25 },
      { token: 'token_id:13', tokenId: 13, logprob: -1 },
    ]);
    assert.deepEqual(r.promptTokenIds, [1, 2, 3, 4]);
    assert.deepEqual(r.completionTokenIds, [11, 12, 13]);
  });

  test('the model the server reports is kept (streaming and not); setModel asks for another from then on', async () => {
    const s = await serve(
      [
        { content: 'a' },
        { content: 'b', reportModel: 'ckpt-7' },
        { content: 'c' },
        { content: 'd' },
      ],
      ['scripted-model', 'policy-v2'],
    );
    const c = client(s);
    assert.equal((await c.complete(request)).model, 'scripted-model');
    assert.equal(
      (await c.complete(request)).model,
      'ckpt-7',
      'what the server said, not what was asked',
    );
    c.setModel('policy-v2');
    assert.equal(c.description, `openai:${s.baseURL} model=policy-v2`);
    assert.equal((await c.complete(request)).model, 'policy-v2');
    assert.deepEqual(
      s.chatBodies.map((b) => b.model),
      ['scripted-model', 'scripted-model', 'policy-v2'],
    );
    const streaming = client(s, { stream: true });
    streaming.setModel('policy-v2');
    assert.equal((await streaming.complete(request)).model, 'policy-v2');
    assert.equal(s.chatBodies.at(-1)!.model, 'policy-v2');
    assert.throws(() => c.setModel(''), /empty/);
  });

  test('non-streaming logprobs and token ids are recorded (plain tokens keep no id)', async () => {
    const s = await serve([
      {
        content: 'ab',
        logprobs: [
          { token: 'token_id:7', logprob: -0.1 },
          { token: 'b', logprob: -2.5 },
        ],
        promptTokenIds: [5, 6],
        tokenIds: [7, 8],
      },
    ]);
    const r = await client(s).complete(request);
    assert.deepEqual(r.logprobs, [
      { token: 'token_id:7', tokenId: 7, logprob: -0.1 },
      { token: 'b', logprob: -2.5 },
    ]);
    assert.deepEqual(r.promptTokenIds, [5, 6]);
    assert.deepEqual(r.completionTokenIds, [7, 8]);
  });

  test('a server rejecting the vLLM fields is asked again without them, and that is remembered', async () => {
    const s = await serve([
      {
        fault: 'bad-request',
        message:
          'Unrecognized request arguments supplied: return_token_ids, return_tokens_as_token_ids',
      },
      { content: 'first' },
      { content: 'second' },
    ]);
    const c = client(s);
    assert.equal((await c.complete(request)).message.content, 'first');
    assert.equal((await c.complete(request)).message.content, 'second');
    const bodies = s.chatBodies;
    assert.equal(bodies.length, 3);
    assert.equal(bodies[0]!.return_token_ids, true);
    for (const b of bodies.slice(1)) {
      assert.equal(b.return_token_ids, undefined);
      assert.equal(b.return_tokens_as_token_ids, undefined);
      assert.equal(b.logprobs, true);
    }
  });

  test('a reply depending on the conversation (function step)', async () => {
    const s = await serve([
      (body) => {
        const msgs = body.messages as { role: string; content: string }[];
        return { content: `you said: ${msgs.at(-1)!.content}` };
      },
    ]);
    const r = await client(s).complete({
      messages: [{ role: 'user', content: 'ping' }],
      tools: [],
    });
    assert.equal(r.message.content, 'you said: ping');
  });

  test('429 then success: retried, the server saw two requests', async () => {
    const s = await serve([{ fault: 'rate-limit', retryAfter: 0 }, { content: 'after the wait' }]);
    const r = await client(s).complete(request);
    assert.equal(r.message.content, 'after the wait');
    assert.equal(s.chatBodies.length, 2);
  });

  test('429 on every attempt -> rate-limit', async () => {
    const s = await serve([
      { fault: 'rate-limit' },
      { fault: 'rate-limit' },
      { fault: 'rate-limit' },
    ]);
    await rejectsWith(client(s, { maxRetries: 2 }).complete(request), 'rate-limit');
    assert.equal(s.chatBodies.length, 3);
  });

  test('500 on every attempt -> server, after maxRetries + 1 requests', async () => {
    const s = await serve([
      { fault: 'server-error' },
      { fault: 'server-error' },
      { fault: 'server-error', message: 'CUDA out of memory' },
    ]);
    const e = await rejectsWith(client(s, { maxRetries: 2 }).complete(request), 'server');
    assert.match(e.message, /CUDA out of memory/);
    assert.match(e.message, /3 attempt/);
    assert.equal(s.chatBodies.length, 3);
  });

  test('a hang times out, is retried, then fails as server; a later answer is used', async () => {
    const s = await serve([{ fault: 'hang' }, { fault: 'hang' }]);
    const started = Date.now();
    const e = await rejectsWith(
      client(s, { timeoutMs: 250, maxRetries: 1 }).complete(request),
      'server',
    );
    assert.match(e.message, /did not answer within 250 ms/);
    assert.equal(s.chatBodies.length, 2);
    assert.ok(Date.now() - started >= 500);

    const s2 = await serve([{ fault: 'hang' }, { content: 'finally' }]);
    const r = await client(s2, { timeoutMs: 250, maxRetries: 1 }).complete(request);
    assert.equal(r.message.content, 'finally');
    assert.equal(s2.chatBodies.length, 2);
  });

  test("a request's timeoutMs (the episode's time left) shortens the client's timeout", async () => {
    const s = await serve([{ fault: 'hang' }]);
    const started = Date.now();
    const e = await rejectsWith(
      client(s, { timeoutMs: 60_000, maxRetries: 0 }).complete({ ...request, timeoutMs: 300 }),
      'server',
    );
    assert.match(e.message, /did not answer within 300 ms/);
    assert.ok(Date.now() - started < 5000);
  });

  test('malformed bodies and empty choices -> bad-response', async () => {
    const s = await serve([
      { fault: 'malformed' },
      { fault: 'no-choices' },
      { fault: 'malformed' },
    ]);
    await rejectsWith(client(s).complete(request), 'bad-response');
    await rejectsWith(client(s).complete(request), 'bad-response');
    await rejectsWith(client(s, { stream: true }).complete(request), 'bad-response');
  });

  test('context length -> context-length with the server message', async () => {
    const s = await serve([{ fault: 'context-length' }]);
    const e = await rejectsWith(client(s).complete(request), 'context-length');
    assert.match(e.message, /maximum context length is 4096 tokens/);
    assert.equal(s.chatBodies.length, 1, 'a context-length error is not retried');
  });

  test('other 400s are not context-length', async () => {
    const s = await serve([{ fault: 'bad-request', message: 'temperature must be >= 0' }]);
    const e = await rejectsWith(client(s).complete(request), 'bad-response');
    assert.match(e.message, /temperature must be/);
  });

  test('wrong model -> not-found naming the model and the available ones', async () => {
    const s = await serve([{ content: 'unused' }], ['qwen3-8b', 'llama-3.1-8b']);
    const e = await rejectsWith(client(s, { model: 'gpt-nope' }).complete(request), 'not-found');
    assert.match(e.message, /'gpt-nope'/);
    assert.match(e.message, /available: qwen3-8b, llama-3\.1-8b/);
    assert.equal(s.stepsUsed, 0);
  });

  test('wrong model when GET /models fails -> not-found without a list', async () => {
    const s = await startScriptedServer([], { models: ['m'], modelsListBroken: true });
    servers.push(s);
    const e = await rejectsWith(client(s, { model: 'x' }).complete(request), 'not-found');
    assert.match(e.message, /'x' not found/);
    assert.doesNotMatch(e.message, /available/);
  });

  test('a closed port -> unreachable naming the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}/v1`;
    const c = new OpenAIChatClient({ baseURL: url, model: 'm', maxRetries: 1, timeoutMs: 1000 });
    const e = await rejectsWith(c.complete(request), 'unreachable');
    assert.ok(e.message.includes(url), e.message);
    assert.match(e.message, /ECONNREFUSED/);
  });

  test("finish_reason 'length' is returned as such (streaming and not)", async () => {
    const s = await serve([
      { content: 'I will now explain at great len', finishReason: 'length' },
      { content: 'cut', finishReason: 'length' },
    ]);
    const r = await client(s).complete(request);
    assert.equal(r.finishReason, 'length');
    assert.equal(r.message.content, 'I will now explain at great len');
    const r2 = await client(s, { stream: true }).complete(request);
    assert.equal(r2.finishReason, 'length');
    assert.equal(r2.message.content, 'cut');
  });

  test('the API key is sent from the option and never appears in description or errors', async () => {
    const s = await serve([{ fault: 'server-error' }]);
    const c = client(s, { apiKey: 'sk-secret-123', maxRetries: 0 });
    const e = await rejectsWith(c.complete(request), 'server');
    assert.equal(s.requests[0]!.headers.authorization, 'Bearer sk-secret-123');
    assert.ok(!c.description.includes('sk-secret'));
    assert.ok(!e.message.includes('sk-secret'));
    assert.equal(c.description, `openai:${s.baseURL} model=scripted-model`);
  });

  test('textToolCalls: tools described in the system prompt, calls parsed from the text', async () => {
    const s = await serve([
      {
        content:
          'I will list files.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>',
      },
    ]);
    const r = await client(s, { textToolCalls: true }).complete(request);
    assert.equal(r.message.content, 'I will list files.');
    assert.deepEqual(r.message.toolCalls, [
      { id: 'call_text_0', name: 'bash', arguments: '{"command":"ls"}' },
    ]);
    assert.equal(r.finishReason, 'tool_calls');
    const body = s.chatBodies[0]!;
    assert.equal(body.tools, undefined);
    const sent = body.messages as { role: string; content: string }[];
    assert.equal(sent[0]!.role, 'system');
    assert.match(sent[0]!.content, /^You fix bugs\./);
    assert.match(sent[0]!.content, /<tools>[\s\S]*"name":"bash"[\s\S]*<\/tools>/);
    // History: the assistant's call as text, the tool result as a user turn.
    assert.match(sent[2]!.content, /<tool_call>[\s\S]*"command":"npm test"/);
    assert.deepEqual(sent[3], {
      role: 'user',
      content: '<tool_response>\n1 failing\n</tool_response>',
    });
  });
});

test('native mode: tool calls the server returned as text are taken when they name real tools', async () => {
  const s = await serve([
    {
      content: 'Listing.\n<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>',
    },
    { content: 'Try <tool_call>{"name": "browser", "arguments": {"url": "x"}}</tool_call>' },
    { content: 'Plain prose with ```json\n{"a": 1}\n``` in it.' },
  ]);
  const c = client(s);
  const taken = await c.complete(request);
  assert.deepEqual(taken.message.toolCalls, [
    { id: 'call_text_0', name: 'bash', arguments: '{"command":"ls"}' },
  ]);
  assert.equal(taken.message.content, 'Listing.');
  assert.ok(s.chatBodies[0]!.tools, 'native mode still sends the tools');
  const unknown = await c.complete(request);
  assert.equal(unknown.message.toolCalls, undefined, 'a tool that does not exist is prose');
  const prose = await c.complete(request);
  assert.equal(prose.message.toolCalls, undefined);
});

describe('parseTextToolCalls', () => {
  test('Hermes/Qwen <tool_call> with prose around, several calls', () => {
    const r = parseTextToolCalls(
      'First.\n<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>\nThen\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.js"}}\n</tool_call>',
    );
    assert.deepEqual(
      r.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [
        ['bash', { command: 'ls' }],
        ['read_file', { path: 'a.js' }],
      ],
    );
    assert.equal(r.prose, 'First.\n\nThen');
    assert.deepEqual(
      r.calls.map((c) => c.id),
      ['call_text_0', 'call_text_1'],
    );
  });

  test('fenced json block', () => {
    const r = parseTextToolCalls(
      'Here is my call:\n```json\n{"name": "bash", "arguments": {"command": "npm test"}}\n```\nDone.',
    );
    assert.equal(r.calls.length, 1);
    assert.equal(r.calls[0]!.name, 'bash');
    assert.deepEqual(JSON.parse(r.calls[0]!.arguments), { command: 'npm test' });
  });

  test('<function=name>{json}</function> and Qwen3-Coder <parameter=...>', () => {
    const r = parseTextToolCalls('ok <function=bash>{"command": "pwd"}</function>');
    assert.deepEqual(
      r.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [['bash', { command: 'pwd' }]],
    );
    const q = parseTextToolCalls(
      '<tool_call>\n<function=bash>\n<parameter=command>\necho hi\n</parameter>\n</function>\n</tool_call>',
    );
    assert.deepEqual(
      q.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [['bash', { command: 'echo hi' }]],
    );
  });

  test('single trailing commas, string arguments and a missing closing tag are tolerated', () => {
    const r = parseTextToolCalls(
      '<tool_call>{"name": "bash", "arguments": {"command": "ls, -l",},}</tool_call>',
    );
    assert.deepEqual(JSON.parse(r.calls[0]!.arguments), { command: 'ls, -l' });
    const s = parseTextToolCalls(
      '<tool_call>{"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}',
    );
    assert.deepEqual(JSON.parse(s.calls[0]!.arguments), { command: 'ls' });
    assert.equal(parseLooseJson('[1, 2,]')?.toString(), '1,2');
  });

  test('garbage yields no calls', () => {
    for (const text of [
      'Just some prose, no calls at all.',
      '<tool_call>not json</tool_call>',
      '<tool_call>{"arguments": {"x": 1}}</tool_call>',
      '<tool_call>{"name": "bash", "arguments": [1, 2]}</tool_call>',
      '<tool_call>{"name": "has spaces!", "arguments": {}}</tool_call>',
      '```json\n{"a": 1}\n```',
      '```json\n{"name": "bash", "arguments": {"command": "ls"\n```',
      '<function=bash>{"command": </function>',
      '```js\nfoo({"name": "bash", "arguments": {}})\n```',
    ]) {
      const r = parseTextToolCalls(text);
      assert.deepEqual(r.calls, [], text);
      assert.equal(r.prose, text);
    }
  });
});

describe('ScriptedClient', () => {
  test('replays replies, errors and functions of the request; records requests', async () => {
    const c = new ScriptedClient([
      { content: 'hi' },
      { toolCalls: [{ name: 'bash', arguments: { command: 'ls' } }] },
      (req) => ({ content: `n=${req.messages.length}` }),
      new ModelError('too long', 'context-length'),
    ]);
    const r1 = await c.complete({ messages: [{ role: 'user', content: 'a' }], tools: [] });
    assert.equal(r1.message.content, 'hi');
    assert.equal(r1.finishReason, 'stop');
    assert.equal(r1.model, 'scripted');
    const r2 = await c.complete(request);
    assert.deepEqual(r2.message.toolCalls, [
      { id: 'call_1_0', name: 'bash', arguments: '{"command":"ls"}' },
    ]);
    assert.equal(r2.finishReason, 'tool_calls');
    assert.equal((await c.complete(request)).message.content, 'n=4');
    await assert.rejects(c.complete(request), (e: unknown) => {
      return e instanceof ModelError && e.kind === 'context-length';
    });
    await assert.rejects(c.complete(request), /script exhausted after 4/);
    assert.equal(c.calls, 5);
    assert.equal(c.requests[0]!.messages[0]!.content, 'a');
  });

  test('a function script answers every call', async () => {
    const c = new ScriptedClient((_req, i) => ({ content: `reply ${i}` }));
    assert.equal((await c.complete(request)).message.content, 'reply 0');
    assert.equal((await c.complete(request)).message.content, 'reply 1');
  });
});

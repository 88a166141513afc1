/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol the way
 * vLLM does, driven by a script of steps: replies (content, tool calls, logprobs with
 * "token_id:N" tokens, token ids) and faults (429, 5xx, hangs, malformed bodies, context
 * length errors). Every request body is recorded so tests can assert what the client sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptToolCall {
  id?: string;
  name: string;
  /** Raw JSON text of the arguments. */
  arguments: string;
}

export interface ScriptReply {
  content?: string | null;
  toolCalls?: ScriptToolCall[];
  /** Default: 'tool_calls' when there are tool calls, else 'stop'. */
  finishReason?: string;
  usage?: { promptTokens: number; completionTokens: number };
  /** Tokens as the server reports them, e.g. { token: 'token_id:42', logprob: -0.1 }. */
  logprobs?: { token: string; logprob: number }[];
  /** vLLM `return_token_ids`: top-level `prompt_token_ids`, per-choice `token_ids`. */
  promptTokenIds?: number[];
  tokenIds?: number[];
  /** Streaming: characters per content / argument delta (default 4). */
  chunkSize?: number;
  /** The `model` the response reports (default: the one the request asked for). */
  reportModel?: string;
}

export type ScriptFault =
  | { fault: 'rate-limit'; retryAfter?: number }
  | { fault: 'server-error'; status?: number; message?: string; retryAfter?: number }
  /** Never answers; the client has to time out. */
  | { fault: 'hang' }
  /** 200 with a body that is not JSON (or, when streaming, an SSE chunk that is not JSON). */
  | { fault: 'malformed' }
  /** 200 with a well-formed completion that has no choices. */
  | { fault: 'no-choices' }
  | { fault: 'context-length'; message?: string }
  /** Any other 400, e.g. an OpenAI-style "Unrecognized request argument". */
  | { fault: 'bad-request'; message: string };

export type ScriptStep = ScriptReply | ScriptFault;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (undefined for GET). */
  body: Record<string, unknown> | undefined;
}

export type ScriptEntry =
  | ScriptStep
  | ((body: Record<string, unknown>, index: number) => ScriptStep | Promise<ScriptStep>);

export interface ScriptedServerOptions {
  /** Models the server serves (default ['scripted-model']). */
  models?: string[];
  /** Answer `GET /v1/models` with 500 instead (to test the client without the listing). */
  modelsListBroken?: boolean;
}

export interface ScriptedServer {
  /** e.g. http://127.0.0.1:34567/v1 */
  baseURL: string;
  port: number;
  /** Every request received, in order (all paths). */
  requests: RecordedRequest[];
  /** Bodies of the `POST /v1/chat/completions` requests, in order. */
  readonly chatBodies: Record<string, unknown>[];
  /** Steps consumed so far. */
  readonly stepsUsed: number;
  /** Append steps to the script. */
  push(...steps: ScriptEntry[]): void;
  close(): Promise<void>;
}

const DEFAULT_MODEL = 'scripted-model';

export async function startScriptedServer(
  script: ScriptEntry[] = [],
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const models = options.models ?? [DEFAULT_MODEL];
  const steps = [...script];
  const requests: RecordedRequest[] = [];
  let used = 0;
  let counter = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let body: Record<string, unknown> | undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        sendJson(res, 400, errorBody('request body is not JSON', 'BadRequestError', 400));
        return;
      }
    }
    requests.push({ method: req.method ?? '', path, headers: req.headers, body });

    if (req.method === 'GET' && path === '/v1/models') {
      if (options.modelsListBroken) {
        sendJson(res, 500, errorBody('models listing broken', 'InternalServerError', 500), {
          'x-should-retry': 'false',
        });
        return;
      }
      sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'vllm' })),
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions' || !body) {
      sendJson(res, 404, errorBody(`no route ${req.method} ${path}`, 'NotFoundError', 404));
      return;
    }
    const model = String(body.model);
    if (!models.includes(model)) {
      sendJson(
        res,
        404,
        errorBody(`The model \`${model}\` does not exist.`, 'NotFoundError', 404, 'model'),
      );
      return;
    }
    const entry = steps[used];
    const index = used;
    if (entry === undefined) {
      sendJson(
        res,
        500,
        errorBody(`scripted server: script exhausted after ${used} step(s)`, 'Internal', 500),
        { 'x-should-retry': 'false' },
      );
      return;
    }
    used++;
    const step = typeof entry === 'function' ? await entry(body, index) : entry;
    const stream = body.stream === true;
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    counter++;
    const id = `chatcmpl-scripted-${counter}`;

    if ('fault' in step) {
      switch (step.fault) {
        case 'rate-limit':
          sendJson(res, 429, errorBody('Rate limit exceeded', 'RateLimitError', 429), {
            'retry-after': String(step.retryAfter ?? 0),
          });
          return;
        case 'server-error':
          sendJson(
            res,
            step.status ?? 500,
            errorBody(step.message ?? 'Internal server error', 'InternalServerError', 500),
            { 'retry-after': String(step.retryAfter ?? 0) },
          );
          return;
        case 'hang':
          // Never answer; close() destroys the socket.
          return;
        case 'context-length':
          sendJson(
            res,
            400,
            errorBody(
              step.message ??
                "This model's maximum context length is 4096 tokens. However, you requested 5120 tokens (4096 in the messages, 1024 in the completion). Please reduce the length of the messages or completion.",
              'BadRequestError',
              400,
            ),
          );
          return;
        case 'bad-request':
          sendJson(res, 400, errorBody(step.message, 'BadRequestError', 400));
          return;
        case 'no-choices':
          sendJson(res, 200, {
            id,
            object: 'chat.completion',
            created: 0,
            model,
            choices: [],
          });
          return;
        case 'malformed':
          if (stream) {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.end('data: {"id": "x", "choices": [{"delta": {"content": "he\n\ndata: [DONE]\n\n');
          } else {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('{"id": "chatcmpl-broken", "choices": [{"message": {"content": "hel');
          }
          return;
      }
    }
    const reported = step.reportModel ?? model;
    if (stream) sendStream(res, id, reported, step, includeUsage);
    else sendJson(res, 200, completionBody(id, reported, step));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(String(error), 'Internal', 500));
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get chatBodies() {
      return requests
        .filter((r) => r.method === 'POST' && r.path === '/v1/chat/completions' && r.body)
        .map((r) => r.body!);
    },
    get stepsUsed() {
      return used;
    },
    push(...more: ScriptEntry[]) {
      steps.push(...more);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorBody(message: string, type: string, code: number, param: string | null = null) {
  return { error: { message, type, param, code }, object: 'error' };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function finishReasonOf(step: ScriptReply): string {
  return step.finishReason ?? (step.toolCalls?.length ? 'tool_calls' : 'stop');
}

function usageOf(step: ScriptReply) {
  const u = step.usage ?? { promptTokens: 10, completionTokens: 5 };
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

function logprobEntries(list: { token: string; logprob: number }[]) {
  return list.map((t) => ({
    token: t.token,
    logprob: t.logprob,
    bytes: null,
    top_logprobs: [],
  }));
}

function toolCallsOf(step: ScriptReply) {
  return (step.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `chatcmpl-tool-${i}`,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
}

function completionBody(id: string, model: string, step: ScriptReply) {
  const toolCalls = toolCallsOf(step);
  const choice: Record<string, unknown> = {
    index: 0,
    message: {
      role: 'assistant',
      content: step.content ?? null,
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    },
    logprobs: step.logprobs ? { content: logprobEntries(step.logprobs) } : null,
    finish_reason: finishReasonOf(step),
  };
  if (step.tokenIds) choice.token_ids = step.tokenIds;
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [choice],
    usage: usageOf(step),
    ...(step.promptTokenIds ? { prompt_token_ids: step.promptTokenIds } : {}),
  };
}

function split(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Splits `items` into `n` consecutive groups (some possibly empty). */
function spread<T>(items: T[], n: number): T[][] {
  const groups: T[][] = [];
  const per = Math.ceil(items.length / n);
  for (let i = 0; i < n; i++) groups.push(items.slice(i * per, (i + 1) * per));
  return groups;
}

function sendStream(
  res: ServerResponse,
  id: string,
  model: string,
  step: ScriptReply,
  includeUsage: boolean,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  const size = step.chunkSize ?? 4;
  const out: string[] = [];

  out.push(
    chunk(
      [
        {
          index: 0,
          delta: { role: 'assistant', content: '' },
          logprobs: null,
          finish_reason: null,
        },
      ],
      step.promptTokenIds ? { prompt_token_ids: step.promptTokenIds } : {},
    ),
  );
  const pieces = step.content ? split(step.content, size) : [];
  const n = Math.max(pieces.length, 1);
  const lp = spread(step.logprobs ?? [], n);
  const ids = spread(step.tokenIds ?? [], n);
  for (let i = 0; i < n; i++) {
    const piece = pieces[i];
    const lps = lp[i] ?? [];
    const tids = ids[i] ?? [];
    if (piece === undefined && lps.length === 0 && tids.length === 0) continue;
    const choice: Record<string, unknown> = {
      index: 0,
      delta: { content: piece ?? '' },
      logprobs: step.logprobs ? { content: logprobEntries(lps) } : null,
      finish_reason: null,
    };
    if (step.tokenIds) choice.token_ids = tids;
    out.push(chunk([choice]));
  }
  toolCallsOf(step).forEach((call, index) => {
    out.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              { index, id: call.id, type: 'function', function: { name: call.function.name } },
            ],
          },
          finish_reason: null,
        },
      ]),
    );
    for (const piece of split(call.function.arguments, size)) {
      out.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ]),
      );
    }
  });
  out.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReasonOf(step) }]));
  if (includeUsage) out.push(chunk([], { usage: usageOf(step) }));
  out.push('data: [DONE]\n\n');
  // Write chunk by chunk so the client really receives a stream.
  let i = 0;
  const next = () => {
    if (i >= out.length) {
      res.end();
      return;
    }
    res.write(out[i++]);
    setImmediate(next);
  };
  next();
}

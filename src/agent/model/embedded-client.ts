/**
 * A ModelClient that runs a local .gguf file in-process with node-llama-cpp, for trying ssr
 * without a model server. node-llama-cpp is an optional dependency of several hundred MB, so it
 * is imported only here, only when a .gguf model is asked for, and described by the few local
 * types below instead of its own (ssr must still build when it is not installed).
 *
 * Tools go through the text fallback the OpenAI client uses with `textToolCalls`: described in
 * the system prompt, parsed back out of the reply. Each call renders the whole conversation with
 * the model's chat wrapper (node-llama-cpp picks one from the file's template, or a generic one
 * when there is none) and samples token by token, so token ids and logprobs come for free.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../../util/errors.js';
import {
  type ChatMessage,
  type ModelClient,
  ModelError,
  type ModelRequest,
  type ModelResponse,
  type TokenLogprob,
  type ToolSpec,
} from '../types.js';
import { describeToolsForText, formatTextToolCall, parseTextToolCalls } from './text-tool-calls.js';

export interface EmbeddedGgufOptions {
  /** false (default): CPU only. 'auto': CUDA, Vulkan or Metal when a prebuilt binary loads. */
  gpu?: false | 'auto';
  /** Context size in tokens (default: node-llama-cpp's choice from the file and free memory). */
  contextSize?: number;
  /** CPU threads. On a busy machine, fewer threads than cores avoids spin-wait contention. */
  threads?: number;
  /** Sampling seed, for reproducible runs (default: varies per call). */
  seed?: number;
}

// The parts of node-llama-cpp 3.x used here.
type Token = number;
interface LlamaTextLike {
  tokenize(tokenizer: unknown): Token[];
}
type HistoryItem =
  | { type: 'system' | 'user'; text: string }
  | { type: 'model'; response: string[] };
interface ChatWrapperLike {
  generateContextState(o: { chatHistory: HistoryItem[] }): {
    contextText: LlamaTextLike;
    stopGenerationTriggers: LlamaTextLike[];
  };
}
interface SequenceLike {
  readonly contextSize: number;
  readonly nextTokenIndex: number;
  adaptStateToTokens(tokens: Token[], allowShift: boolean): Promise<void>;
  evaluateWithMetadata(
    tokens: Token[],
    metadata: { confidence: true },
    options: { temperature: number; topP: number; seed?: number; yieldEogToken: boolean },
  ): AsyncGenerator<{ token: Token; confidence: number }>;
}
interface ContextLike {
  getSequence(): SequenceLike;
  dispose(): Promise<void>;
}
interface ModelLike {
  readonly tokenizer: unknown;
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token): boolean;
  createContext(o: { contextSize?: number; threads?: number }): Promise<ContextLike>;
  dispose(): Promise<void>;
}
interface LlamaLike {
  loadModel(o: { modelPath: string }): Promise<ModelLike>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(o: Record<string, unknown>): Promise<LlamaLike>;
  resolveChatWrapper(model: ModelLike): ChatWrapperLike;
}

/** The version this client was written and tested against. */
const PACKAGE = 'node-llama-cpp@3.22.1';

/** Imports node-llama-cpp, or says how to install it. `specifier` is for tests. */
export async function importNodeLlamaCpp(specifier = 'node-llama-cpp'): Promise<NodeLlamaCpp> {
  try {
    return (await import(specifier)) as NodeLlamaCpp;
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    throw new UsageError(
      missing
        ? `running a .gguf model needs the optional package node-llama-cpp, which is not installed; install it with: npm install ${PACKAGE}`
        : `node-llama-cpp is installed but failed to load (${errorText(err)}); reinstall it with: npm install ${PACKAGE}`,
      'model-runtime',
    );
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** A user mistake caught before node-llama-cpp sees the file, where its errors are less clear. */
function checkGgufFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`model file not found: ${path}`, 'model-file');
  }
  if (!isFile) throw new UsageError(`model path is not a file: ${path}`, 'model-file');
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1', 0, 4) !== 'GGUF') {
    throw new UsageError(`not a GGUF model file (no GGUF header): ${path}`, 'model-file');
  }
  const version = head.readUInt32LE(4);
  if (version !== 2 && version !== 3) {
    throw new UsageError(
      `unsupported GGUF version ${version} (expected 2 or 3): ${path}`,
      'model-file',
    );
  }
}

/** llama.cpp's log while a model loads: the only place it says why a file failed to load. */
let loadLog: string[] | undefined;

/**
 * One native backend per process and GPU setting, as node-llama-cpp intends: its log hook is
 * process-wide, and with a second backend created and disposed beside the first, load errors
 * alternately reached it and went straight to stderr.
 */
const backends = new Map<string, Promise<LlamaLike>>();

function backend(lib: NodeLlamaCpp, gpu: false | 'auto'): Promise<LlamaLike> {
  const key = String(gpu);
  let llama = backends.get(key);
  if (!llama) {
    llama = lib.getLlama({
      gpu,
      // No attempt to fetch and compile llama.cpp when no prebuilt binary fits.
      build: 'never',
      logLevel: 'error',
      logger: (_level: string, message: string) => {
        if (loadLog) loadLog.push(message.trim());
        else process.stderr.write(`[node-llama-cpp] ${message.trim()}\n`);
      },
      progressLogs: false,
    });
    llama.catch(() => backends.delete(key));
    backends.set(key, llama);
  }
  return llama;
}

export class EmbeddedGgufClient implements ModelClient {
  readonly description: string;
  /** What responses report as their model: the weights file's name. */
  private readonly modelName: string;
  /** Calls share one context sequence, so they run one at a time in arrival order. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    path: string,
    private readonly model: ModelLike,
    private readonly context: ContextLike,
    private readonly sequence: SequenceLike,
    private readonly wrapper: ChatWrapperLike,
    private readonly seed: number | undefined,
  ) {
    this.modelName = basename(path);
    this.description = `embedded:${this.modelName}`;
  }

  static async load(path: string, opts: EmbeddedGgufOptions = {}): Promise<EmbeddedGgufClient> {
    checkGgufFile(path);
    const lib = await importNodeLlamaCpp();
    let llama: LlamaLike;
    try {
      llama = await backend(lib, opts.gpu ?? false);
    } catch (err) {
      // Its prebuilt binaries are optional dependencies of its own: --omit=optional drops them.
      throw new UsageError(
        `node-llama-cpp found no working prebuilt binary for ${process.platform}-${process.arch} ` +
          `(${errorText(err)}); reinstall it with its optional dependencies: npm install ${PACKAGE}`,
        'model-runtime',
      );
    }
    const log: string[] = [];
    loadLog = log;
    let model: ModelLike | undefined;
    try {
      model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({
        ...(opts.contextSize !== undefined ? { contextSize: opts.contextSize } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      });
      const wrapper = lib.resolveChatWrapper(model);
      return new EmbeddedGgufClient(
        path,
        model,
        context,
        context.getSequence(),
        wrapper,
        opts.seed,
      );
    } catch (err) {
      // The log reaches JS through a native callback queue and can trail the rejection.
      const reason = () => log.find((l) => /error loading model/.test(l));
      for (let i = 0; i < 25 && !reason(); i++) await new Promise((r) => setTimeout(r, 10));
      await model?.dispose().catch(() => {});
      throw new UsageError(
        `cannot load model ${path}: ${reason() ?? errorText(err)}`,
        'model-file',
      );
    } finally {
      if (loadLog === log) loadLog = undefined;
    }
  }

  complete(request: ModelRequest): Promise<ModelResponse> {
    const run = this.queue.then(() => this.generate(request));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Frees the model and its context (the shared native backend stays for the next load). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
  }

  private async generate(request: ModelRequest): Promise<ModelResponse> {
    const started = Date.now();
    if (this.disposed) throw new ModelError(`${this.description} was disposed`, 'unreachable');
    request.signal?.throwIfAborted();
    const { model, sequence } = this;
    const history = toChatHistory(request.messages, request.tools);
    const state = this.wrapper.generateContextState({ chatHistory: history });
    const prompt = state.contextText.tokenize(model.tokenizer);
    const room = sequence.contextSize - prompt.length;
    if (room < 1) {
      throw new ModelError(
        `the prompt (${prompt.length} tokens) exceeds the context window of ${sequence.contextSize} tokens`,
        'context-length',
      );
    }
    const limit = Math.max(1, Math.min(request.maxTokens ?? room, room));
    const stops = state.stopGenerationTriggers
      .map((t) => model.detokenize(t.tokenize(model.tokenizer), true))
      .filter((s) => s !== '');
    const stopWindow = Math.max(0, ...stops.map((s) => s.length)) + 4;

    // Keep the evaluated prefix the previous call left (the history only grows), but always
    // evaluate at least the last prompt token: its logits are where sampling starts.
    await sequence.adaptStateToTokens(prompt.slice(0, -1), false);
    const ids: Token[] = [];
    const logprobs: TokenLogprob[] = [];
    let finishReason = 'length';
    let eog = false;
    const tokens = sequence.evaluateWithMetadata(
      prompt.slice(sequence.nextTokenIndex),
      { confidence: true },
      {
        // The OpenAI API's defaults, so a run means the same against a server or embedded.
        temperature: request.temperature ?? 1,
        topP: request.topP ?? 1,
        ...(this.seed !== undefined ? { seed: this.seed } : {}),
        yieldEogToken: true,
      },
    );
    for await (const { token, confidence } of tokens) {
      ids.push(token);
      // The probability under the sampling distribution (after temperature and top-p).
      logprobs.push({
        token: model.detokenize([token], true),
        tokenId: token,
        logprob: Math.log(confidence),
      });
      if (model.isEogToken(token)) {
        finishReason = 'stop';
        eog = true;
        break;
      }
      // A trigger that just appeared lies within its own length in tokens from the end.
      const tail = model.detokenize(ids.slice(-stopWindow), true);
      if (stops.some((s) => tail.includes(s))) {
        finishReason = 'stop';
        break;
      }
      if (ids.length >= limit || request.signal?.aborted) break;
    }
    request.signal?.throwIfAborted();

    let text = model.detokenize(eog ? ids.slice(0, -1) : ids, true);
    const cut = Math.min(...stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(cut)) text = text.slice(0, cut);
    const response: ModelResponse = {
      message: { role: 'assistant', content: text },
      finishReason,
      usage: { promptTokens: prompt.length, completionTokens: ids.length },
      logprobs,
      promptTokenIds: prompt,
      completionTokenIds: ids,
      model: this.modelName,
      latencyMs: 0,
    };
    const parsed = parseTextToolCalls(text);
    if (parsed.calls.length > 0) {
      response.message = {
        role: 'assistant',
        content: parsed.prose === '' ? null : parsed.prose,
        toolCalls: parsed.calls,
      };
      if (finishReason === 'stop') response.finishReason = 'tool_calls';
    }
    response.latencyMs = Date.now() - started;
    return response;
  }
}

/**
 * The conversation as node-llama-cpp chat history, tools as text (as the OpenAI client's text
 * mode sends it). Adjacent messages of one role are merged: tool results become user turns, and
 * not every chat template accepts two user turns in a row.
 */
function toChatHistory(messages: ChatMessage[], tools: ToolSpec[]): HistoryItem[] {
  const out: HistoryItem[] = [];
  const push = (type: 'system' | 'user' | 'model', text: string) => {
    const last = out.at(-1);
    if (last?.type === type) {
      if (last.type === 'model') last.response[0] += `\n${text}`;
      else last.text += `\n\n${text}`;
    } else if (type === 'model') out.push({ type, response: [text] });
    else out.push({ type, text });
  };
  const toolText = tools.length > 0 ? describeToolsForText(tools) : '';
  let toolsPlaced = toolText === '';
  for (const m of messages) {
    if (m.role === 'system') {
      push('system', toolsPlaced ? m.content : `${m.content}\n\n${toolText}`);
      toolsPlaced = true;
    } else if (m.role === 'user') {
      push('user', m.content);
    } else if (m.role === 'tool') {
      push('user', `<tool_response>\n${m.content}\n</tool_response>`);
    } else {
      const parts = [m.content ?? '', ...(m.toolCalls ?? []).map(formatTextToolCall)];
      push('model', parts.filter((p) => p !== '').join('\n'));
    }
  }
  if (!toolsPlaced) out.unshift({ type: 'system', text: toolText });
  // An empty model turn at the end asks the wrapper for the prompt of the next reply.
  out.push({ type: 'model', response: [] });
  return out;
}

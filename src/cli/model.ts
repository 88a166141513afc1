import { EmbeddedGgufClient } from '../agent/model/embedded-client.js';
import { OpenAIChatClient } from '../agent/model/openai-client.js';
import type { ModelClient } from '../agent/types.js';
import { UsageError } from '../util/errors.js';

/** The model a server serves, when the user did not name one: the first of GET /models. */
async function firstModel(baseURL: string, apiKey: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${baseURL.replace(/\/$/, '')}/models`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as Error).cause ?? (err as Error).message;
    throw new UsageError(`cannot reach the model server at ${baseURL}: ${cause}`);
  }
  if (!res.ok)
    throw new UsageError(`${baseURL}/models answered HTTP ${res.status}; pass --model-name`);
  const body = (await res.json().catch(() => null)) as { data?: { id?: string }[] } | null;
  const id = body?.data?.[0]?.id;
  if (!id) throw new UsageError(`${baseURL}/models lists no model; pass --model-name`);
  return id;
}

export interface ModelFlags {
  model: string;
  modelName?: string;
  apiKeyEnv?: string;
  stream?: boolean;
  textToolCalls?: boolean;
  /** Embedded models: CPU threads (default: all cores). */
  threads?: number;
}

/** A model the command must release when done (an embedded model holds its weights). */
export type CliModel = ModelClient & { dispose?(): Promise<void> };

const loaded: CliModel[] = [];

/** Frees every embedded model this process loaded (main calls it when a command ends). */
export async function disposeModels(): Promise<void> {
  for (const m of loaded.splice(0)) await m.dispose?.().catch(() => {});
}

/**
 * The client for `--model <url-or-gguf>` and friends, with clear errors for user mistakes: an
 * http(s) URL is an OpenAI-compatible server, a path ending in .gguf is run in-process.
 */
export async function modelFromFlags(o: ModelFlags): Promise<CliModel> {
  if (/\.gguf$/i.test(o.model) && !/^https?:\/\//.test(o.model)) {
    const model = await EmbeddedGgufClient.load(o.model, o.threads ? { threads: o.threads } : {});
    loaded.push(model);
    return model;
  }
  if (!/^https?:\/\//.test(o.model)) {
    throw new UsageError(
      `--model must be an http(s) URL of an OpenAI-compatible server or a .gguf file (got ${o.model})`,
    );
  }
  const apiKey = o.apiKeyEnv ? (process.env[o.apiKeyEnv] ?? '') : 'EMPTY';
  if (o.apiKeyEnv && !apiKey)
    throw new UsageError(`environment variable ${o.apiKeyEnv} is not set`);
  const name = o.modelName ?? (await firstModel(o.model, apiKey));
  return new OpenAIChatClient({
    baseURL: o.model,
    model: name,
    apiKey,
    stream: !!o.stream,
    textToolCalls: !!o.textToolCalls,
  });
}

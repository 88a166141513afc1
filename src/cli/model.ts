import { EmbeddedGgufClient } from '../agent/model/embedded-client.js';
import { OpenAIChatClient } from '../agent/model/openai-client.js';
import type { ModelClient } from '../agent/types.js';
import { UsageError } from '../util/errors.js';

type Listing = { ids: string[] } | { problem: string; unreachable?: boolean };

/** GET /models: the model ids the server serves, or why it could not say. */
async function listModels(baseURL: string, apiKey: string): Promise<Listing> {
  let res: Response;
  try {
    res = await fetch(`${baseURL.replace(/\/$/, '')}/models`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as Error).cause ?? (err as Error).message;
    return { problem: `cannot reach the model server at ${baseURL}: ${cause}`, unreachable: true };
  }
  if (!res.ok) return { problem: `${baseURL}/models answered HTTP ${res.status}` };
  const body = (await res.json().catch(() => null)) as { data?: { id?: unknown }[] } | null;
  if (!Array.isArray(body?.data)) return { problem: `${baseURL}/models lists no models` };
  return { ids: body.data.map((m) => m?.id).filter((id): id is string => typeof id === 'string') };
}

/**
 * The model to request: the one named, checked against what the server lists (a name it does
 * not serve would fail every episode); else the first the server lists.
 */
async function chooseModel(baseURL: string, apiKey: string, name?: string): Promise<string> {
  const listing = await listModels(baseURL, apiKey);
  if (name !== undefined) {
    // A server that cannot list its models is taken at its word; episodes report failures.
    if ('ids' in listing && listing.ids.length > 0 && !listing.ids.includes(name)) {
      throw new UsageError(
        `--model-name ${name} is not served by ${baseURL}; it serves: ${listing.ids.join(', ')}`,
      );
    }
    return name;
  }
  if (!('ids' in listing)) {
    throw new UsageError(
      listing.unreachable ? listing.problem : `${listing.problem}; pass --model-name`,
    );
  }
  const id = listing.ids[0];
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
  const name = await chooseModel(o.model, apiKey, o.modelName);
  return new OpenAIChatClient({
    baseURL: o.model,
    model: name,
    apiKey,
    stream: !!o.stream,
    textToolCalls: !!o.textToolCalls,
  });
}
